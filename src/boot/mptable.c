/* Intel MP table (MP spec 1.4), Firecracker style: floating pointer at
 * LAYOUT_MPTABLE, then the configuration table with one processor entry per
 * vCPU, an ISA bus, the I/O APIC, ISA interrupt assignments consistent with
 * the MADT (IRQ0 -> INTIN2, SCI level/high) and LINT0 ExtINT / LINT1 NMI. */
#include <errno.h>

#include "boot_internal.h"
#include "ringvm/layout.h"
#include "ringvm/log.h"

#define MP_PROCESSOR 0
#define MP_BUS       1
#define MP_IOAPIC    2
#define MP_INTSRC    3
#define MP_LINTSRC   4

#define MP_INT    0
#define MP_NMI    1
#define MP_EXTINT 3

#define MP_APIC_VERSION   0x14
#define MP_IOAPIC_VERSION 0x11
#define MP_CPU_EN 1
#define MP_CPU_BP 2
#define MP_ISA_BUS 0
#define MP_IRQ_LEVEL_HIGH 0x0d /* trigger level (3<<2), polarity high (1) */

static uint8_t *mp_io_int(uint8_t *p, uint8_t type, uint16_t flags, uint8_t irq,
			  uint8_t ioapic, uint8_t pin)
{
	p[0] = MP_INTSRC;
	p[1] = type;
	put16(p + 2, flags);
	p[4] = MP_ISA_BUS;
	p[5] = irq;
	p[6] = ioapic;
	p[7] = pin;
	return p + 8;
}

static uint8_t *mp_local_int(uint8_t *p, uint8_t type, uint8_t lint)
{
	p[0] = MP_LINTSRC;
	p[1] = type;
	put16(p + 2, 0);
	p[4] = MP_ISA_BUS;
	p[5] = 0;
	p[6] = 0xff;   /* all local APICs */
	p[7] = lint;
	return p + 8;
}

int mptable_build(struct vm *vm)
{
	uint8_t buf[16 + 44 + MAX_VCPUS * 20 + 8 + 8 + 16 * 8 + 2 * 8] = { 0 };
	unsigned cpus = vm->cfg.cpus;
	uint8_t ioapic = boot_ioapic_id(vm);
	uint16_t count = 0;

	if (cpus == 0 || cpus > MAX_VCPUS) {
		pr_err("MP table: cannot describe %u CPUs (1..%d supported)", cpus, MAX_VCPUS);
		return -EINVAL;
	}
	uint8_t *fp = buf, *cfg = buf + 16, *p = cfg + 44;
	for (unsigned i = 0; i < cpus; i++, count++) {
		p[0] = MP_PROCESSOR;
		p[1] = (uint8_t)i;
		p[2] = MP_APIC_VERSION;
		p[3] = MP_CPU_EN | (i == 0 ? MP_CPU_BP : 0);
		put32(p + 4, 0x600);       /* family 6 */
		put32(p + 8, 0x201);       /* FPU, APIC */
		p += 20;
	}
	p[0] = MP_BUS;
	p[1] = MP_ISA_BUS;
	memcpy(p + 2, "ISA   ", 6);
	p += 8;
	count++;
	p[0] = MP_IOAPIC;
	p[1] = ioapic;
	p[2] = MP_IOAPIC_VERSION;
	p[3] = 1;                         /* enabled */
	put32(p + 4, (uint32_t)LAYOUT_IOAPIC);
	p += 8;
	count++;
	for (uint8_t irq = 0; irq < LAYOUT_ISA_IRQS; irq++) {
		if (irq == 2)
			continue;         /* cascade; IRQ0 uses INTIN2 */
		uint16_t flags = irq == ACPI_SCI_IRQ ? MP_IRQ_LEVEL_HIGH : 0;
		p = mp_io_int(p, MP_INT, flags, irq, ioapic, (uint8_t)board_isa_irq_gsi(irq));
		count++;
	}
	p = mp_local_int(p, MP_EXTINT, 0);
	p = mp_local_int(p, MP_NMI, 1);
	count += 2;

	uint16_t cfg_len = (uint16_t)(p - cfg);
	memcpy(cfg, "PCMP", 4);
	put16(cfg + 4, cfg_len);
	cfg[6] = 4;                       /* spec 1.4 */
	memcpy(cfg + 8, "RINGVM  ", 8);
	memcpy(cfg + 16, "RINGVM-MP   ", 12);
	put16(cfg + 34, count);
	put32(cfg + 36, (uint32_t)LAYOUT_LAPIC);
	cfg[7] = (uint8_t)(0 - acpi_sum(cfg, cfg_len));

	memcpy(fp, "_MP_", 4);
	put32(fp + 4, (uint32_t)(LAYOUT_MPTABLE + 16));
	fp[8] = 1;                        /* length in 16-byte units */
	fp[9] = 4;
	fp[10] = (uint8_t)(0 - acpi_sum(fp, 16));

	size_t len = (size_t)(p - buf);
	if (LAYOUT_MPTABLE + len > LAYOUT_ACPI_START ||
	    gmem_write(&vm->mem, LAYOUT_MPTABLE, buf, len) < 0) {
		pr_err("MP table: cannot write %zu bytes at 0x%llx", len,
		       (unsigned long long)LAYOUT_MPTABLE);
		return -EFAULT;
	}
	return 0;
}
