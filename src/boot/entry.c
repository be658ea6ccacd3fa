/* Boot-vCPU register state for the entry modes the protocols ask for:
 * 32-bit protected mode with paging off (PVH, multiboot, Linux 32-bit
 * entry) and 64-bit long mode with identity-mapped page tables (Linux
 * 64-bit entry).  The boot GDT lives at LAYOUT_BOOT_GDT:
 *   0x00 null, 0x08 unused, 0x10 flat code (32- or 64-bit), 0x18 flat data. */
#include <errno.h>
#include <string.h>

#include "ringvm/boot.h"
#include "ringvm/layout.h"
#include "ringvm/log.h"

#define BOOT_CS 0x10
#define BOOT_DS 0x18
#define GDT_ENTRIES 4

#define GDT_CODE32 0x00cf9b000000ffffULL /* G, D, P, DPL0, exec/read, accessed */
#define GDT_CODE64 0x00af9b000000ffffULL /* G, L, P, DPL0, exec/read, accessed */
#define GDT_DATA   0x00cf93000000ffffULL /* G, B, P, DPL0, read/write, accessed */

#define PTE_P  0x1ULL
#define PTE_RW 0x2ULL
#define PTE_PS 0x80ULL

/* Expand a GDT descriptor into a segment cache, as the CPU would on load. */
static struct x86_segment seg_from_desc(uint16_t sel, uint64_t d)
{
	struct x86_segment s = {
		.selector = sel,
		.base = ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24),
		.limit = (uint32_t)((d & 0xffff) | (((d >> 48) & 0xf) << 16)),
		.type = (uint8_t)((d >> 40) & 0xf),
		.s = (uint8_t)((d >> 44) & 1),
		.dpl = (uint8_t)((d >> 45) & 3),
		.present = (uint8_t)((d >> 47) & 1),
		.avl = (uint8_t)((d >> 52) & 1),
		.l = (uint8_t)((d >> 53) & 1),
		.db = (uint8_t)((d >> 54) & 1),
		.g = (uint8_t)((d >> 55) & 1),
	};
	if (s.g)
		s.limit = (s.limit << 12) | 0xfff;
	return s;
}

static void entry_common(struct vm *vm, struct boot_entry *e, uint64_t code_desc)
{
	uint64_t gdt[GDT_ENTRIES] = { 0, 0, code_desc, GDT_DATA };

	/* Low memory always exists (boot_load checks RAM >= 1 MiB + kernel). */
	if (gmem_write(&vm->mem, LAYOUT_BOOT_GDT, gdt, sizeof(gdt)) < 0 ||
	    gmem_fill(&vm->mem, LAYOUT_BOOT_IDT, 0, 8) < 0)
		pr_warn("boot: cannot write the boot GDT at 0x%llx",
			(unsigned long long)LAYOUT_BOOT_GDT);

	struct x86_sregs *s = &e->sregs;
	memset(s, 0, sizeof(*s));
	struct x86_segment data = seg_from_desc(BOOT_DS, GDT_DATA);
	for (int i = 0; i < SEG_COUNT; i++)
		s->seg[i] = data;
	s->seg[SEG_CS] = seg_from_desc(BOOT_CS, code_desc);

	/* No TSS is ever loaded; KVM/VMX only needs a usable busy-TSS cache. */
	s->tr = (struct x86_segment){ .selector = 0, .base = 0, .limit = 0xffff,
				      .type = 11, .s = 0, .present = 1 };
	s->ldt = (struct x86_segment){ .selector = 0, .base = 0, .limit = 0xffff,
				       .type = 2, .s = 0, .present = 1 };
	s->gdt = (struct x86_dtable){ .base = LAYOUT_BOOT_GDT,
				      .limit = sizeof(gdt) - 1 };
	s->idt = (struct x86_dtable){ .base = LAYOUT_BOOT_IDT, .limit = 0 };
	s->apic_base = LAYOUT_LAPIC | 0x900; /* xAPIC enabled, BSP */

	memset(&e->regs, 0, sizeof(e->regs));
	e->regs.rflags = X86_RFLAGS_FIXED;   /* interrupts off */
	e->regs.gpr[GPR_RSP] = LAYOUT_BOOT_STACK;
}

void boot_setup_flat32(struct vm *vm, struct boot_entry *e)
{
	entry_common(vm, e, GDT_CODE32);
	e->sregs.cr0 = X86_CR0_PE | X86_CR0_ET;
}

int boot_setup_long64(struct vm *vm, struct boot_entry *e)
{
	/* PML4[0] -> PDPT; PDPT[0..3] -> 4 PDs; PD entries: 2 MiB pages. */
	uint64_t pml4[512] = { LAYOUT_PDPT | PTE_P | PTE_RW };
	uint64_t pdpt[512] = { 0 };
	uint64_t pd[512];
	unsigned npd = (unsigned)((LAYOUT_PD_END - LAYOUT_PD) / 4096);

	for (unsigned i = 0; i < npd; i++)
		pdpt[i] = (LAYOUT_PD + i * 4096ULL) | PTE_P | PTE_RW;
	if (gmem_write(&vm->mem, LAYOUT_PML4, pml4, sizeof(pml4)) < 0 ||
	    gmem_write(&vm->mem, LAYOUT_PDPT, pdpt, sizeof(pdpt)) < 0)
		goto fail;
	for (unsigned i = 0; i < npd; i++) {
		for (unsigned j = 0; j < 512; j++)
			pd[j] = ((uint64_t)(i * 512 + j) << 21) | PTE_P | PTE_RW | PTE_PS;
		if (gmem_write(&vm->mem, LAYOUT_PD + i * 4096ULL, pd, sizeof(pd)) < 0)
			goto fail;
	}

	entry_common(vm, e, GDT_CODE64);
	e->sregs.cr0 = X86_CR0_PE | X86_CR0_PG | X86_CR0_ET;
	e->sregs.cr3 = LAYOUT_PML4;
	e->sregs.cr4 = X86_CR4_PAE;
	e->sregs.efer = X86_EFER_LME | X86_EFER_LMA;
	return 0;
fail:
	pr_err("boot: cannot write the identity page tables at 0x%llx",
	       (unsigned long long)LAYOUT_PML4);
	return -EFAULT;
}
