/* libFuzzer target: a few instructions on the soft CPU in a sandbox.
 *
 * A fresh CPU and a bounded flat memory (flatmem.c: linear == physical, any
 * access outside it is a #PF) per input.  The input is
 *   header (FUZZ_STEP_HDR bytes)  code...
 * header[0]: mode (real, 16/32-bit protected, long) and CPL 0/3, the icache
 *            on or off, and whether the rest of the GDT is the input's own
 *            (hostile descriptors for far transfers and segment loads);
 * header[1..7]: the free bits of CR0, CR4, EFER, RFLAGS (consistent with the
 *            mode: the engine never produces e.g. LMA without PG);
 * header[8..71]: the 16 GPRs (32 bits each; header[1] bit 7 spreads them to
 *            64 bits).
 * The code goes to CODE (and again to DATA, as data).  A valid GDT, TSS and
 * IDT (every vector -> CODE, DPL 3) let exceptions and INT n be delivered, so
 * event delivery runs too.  soft_cpu_run() gets a small budget; each SOFT_EXC
 * is delivered, at most FUZZ_STEP_EVENTS times.  Any status is fine
 * (SOFT_INTERNAL is a clean stop: it is counted, and printed with
 * FUZZ_SOFT_STEP_VERBOSE=1 in the environment); only crashes, sanitizer
 * reports, leaks and hangs are findings. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/cpu/soft/cpu.h"
#include "src/cpu/soft/flatmem.h"
#include "src/cpu/soft/sys.h"

#define FUZZ_STEP_MEM    0x80000u
#define FUZZ_STEP_IVT    0x0u
#define FUZZ_STEP_GDT    0x1000u
#define FUZZ_STEP_IDT    0x2000u
#define FUZZ_STEP_TSS    0x3000u
#define FUZZ_STEP_CODE   0x10000u
#define FUZZ_STEP_DATA   0x20000u
#define FUZZ_STEP_KSTACK 0x40000u
#define FUZZ_STEP_HDR    72u
#define FUZZ_STEP_GDT_ENTRIES 32u
#define FUZZ_STEP_BUDGET 64u
#define FUZZ_STEP_EVENTS 8u

/* GDT selectors (index << 3 | RPL). */
enum {
	SEL_CODE64 = 0x08, SEL_DATA = 0x10, SEL_CODE32 = 0x18, SEL_CODE16 = 0x20,
	SEL_DATA16 = 0x28, SEL_UCODE64 = 0x33, SEL_UDATA = 0x3b, SEL_UCODE32 = 0x43,
	SEL_UCODE16 = 0x4b, SEL_UDATA16 = 0x53, SEL_TSS = 0x58,
};

enum { FUZZ_MODE_REAL, FUZZ_MODE_PM16, FUZZ_MODE_PM32, FUZZ_MODE_LONG };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t fuzz_step_internal, fuzz_step_runs;

static void fuzz_step_report(void)
{
	fprintf(stderr, "fuzz_soft_step: SOFT_INTERNAL in %llu of %llu inputs\n",
		(unsigned long long)fuzz_step_internal, (unsigned long long)fuzz_step_runs);
}

/* A code/data descriptor (Intel SDM Vol. 3 3.4.5). */
static uint64_t fuzz_step_desc(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
	return (uint64_t)(limit & 0xffff) | (uint64_t)(base & 0xffffff) << 16 |
	       (uint64_t)access << 40 | (uint64_t)((limit >> 16) & 0xf) << 48 |
	       (uint64_t)(flags & 0xf) << 52 | (uint64_t)(base >> 24) << 56;
}

static uint64_t fuzz_step_gdt_get(const struct soft_flatmem *m, uint16_t sel)
{
	uint64_t d;
	memcpy(&d, m->ram + FUZZ_STEP_GDT + (sel & ~7u), 8);
	return d;
}

static void fuzz_step_load(struct soft_cpu *c, const struct soft_flatmem *m, unsigned seg,
			   uint16_t sel)
{
	sys_seg_from_desc(&c->seg[seg], sel, fuzz_step_gdt_get(m, sel), 0);
}

static void fuzz_step_tables(struct soft_flatmem *m, unsigned mode, const uint8_t *data,
			     size_t size, bool hostile)
{
	uint64_t gdt[FUZZ_STEP_GDT_ENTRIES];
	memset(gdt, 0, sizeof(gdt));
	gdt[1] = fuzz_step_desc(0, 0xfffff, 0x9b, 0xa);
	gdt[2] = fuzz_step_desc(0, 0xfffff, 0x93, 0xc);
	gdt[3] = fuzz_step_desc(0, 0xfffff, 0x9b, 0xc);
	gdt[4] = fuzz_step_desc(FUZZ_STEP_CODE, 0xffff, 0x9b, 0x0);
	gdt[5] = fuzz_step_desc(FUZZ_STEP_DATA, 0xffff, 0x93, 0x0);
	gdt[6] = fuzz_step_desc(0, 0xfffff, 0xfb, 0xa);
	gdt[7] = fuzz_step_desc(0, 0xfffff, 0xf3, 0xc);
	gdt[8] = fuzz_step_desc(0, 0xfffff, 0xfb, 0xc);
	gdt[9] = fuzz_step_desc(FUZZ_STEP_CODE, 0xffff, 0xfb, 0x0);
	gdt[10] = fuzz_step_desc(FUZZ_STEP_DATA, 0xffff, 0xf3, 0x0);
	/* available 32/64-bit TSS (type 9); the upper half is base 63:32 = 0 */
	gdt[11] = fuzz_step_desc(FUZZ_STEP_TSS, 0x67, 0x89, 0x0);
	if (hostile) {
		/* entries 13..31 from the input: whatever it says */
		size_t n = size < 19 * 8 ? size : 19 * 8;
		memcpy(&gdt[13], data, n);
	}
	memcpy(m->ram + FUZZ_STEP_GDT, gdt, sizeof(gdt));

	/* TSS: ring-0 stack for privilege changes (SDM Vol. 3 8.7 / 7.2.1) */
	uint8_t *tss = m->ram + FUZZ_STEP_TSS;
	if (mode == FUZZ_MODE_LONG) {
		uint64_t rsp0 = FUZZ_STEP_KSTACK;
		memcpy(tss + 4, &rsp0, 8);
	} else {
		uint32_t esp0 = mode == FUZZ_MODE_PM16 ? 0xfff0 : FUZZ_STEP_KSTACK;
		uint32_t ss0 = mode == FUZZ_MODE_PM16 ? SEL_DATA16 : SEL_DATA;
		memcpy(tss + 4, &esp0, 4);
		memcpy(tss + 8, &ss0, 4);
	}
	uint16_t iomap = 0x68;     /* no I/O permission bitmap */
	memcpy(tss + 0x66, &iomap, 2);

	/* Interrupt gates for every vector, DPL 3 so INT n works from ring 3 */
	for (unsigned v = 0; v < 256; v++) {
		uint8_t *g;
		switch (mode) {
		case FUZZ_MODE_REAL: {
			uint16_t ivt[2] = { 0, FUZZ_STEP_CODE >> 4 };
			memcpy(m->ram + FUZZ_STEP_IVT + v * 4, ivt, 4);
			break;
		}
		case FUZZ_MODE_LONG: {
			uint64_t lo = (FUZZ_STEP_CODE & 0xffff) | (uint64_t)SEL_CODE64 << 16 |
				      (uint64_t)0xee << 40 | (uint64_t)(FUZZ_STEP_CODE >> 16) << 48;
			uint64_t hi = 0;
			g = m->ram + FUZZ_STEP_IDT + v * 16;
			memcpy(g, &lo, 8);
			memcpy(g + 8, &hi, 8);
			break;
		}
		default: {
			bool is16 = mode == FUZZ_MODE_PM16;
			uint32_t off = is16 ? 0 : FUZZ_STEP_CODE;
			uint64_t lo = (off & 0xffff) | (uint64_t)(is16 ? SEL_CODE16 : SEL_CODE32) << 16 |
				      (uint64_t)(is16 ? 0xe6 : 0xee) << 40 | (uint64_t)(off >> 16) << 48;
			g = m->ram + FUZZ_STEP_IDT + v * 8;
			memcpy(g, &lo, 8);
			break;
		}
		}
	}
}

static void fuzz_step_setup(struct soft_cpu *c, struct soft_flatmem *m, const uint8_t *h,
			    const uint8_t *code, size_t codelen)
{
	unsigned mode = h[0] & 3;
	bool user = (h[0] & 4) && mode != FUZZ_MODE_REAL;

	fuzz_step_tables(m, mode, code, codelen, h[0] & 0x10);
	c->gdt.base = FUZZ_STEP_GDT;
	c->gdt.limit = FUZZ_STEP_GDT_ENTRIES * 8 - 1;
	c->idt.base = mode == FUZZ_MODE_REAL ? FUZZ_STEP_IVT : FUZZ_STEP_IDT;
	c->idt.limit = mode == FUZZ_MODE_REAL ? 0x3ff : (mode == FUZZ_MODE_LONG ? 256 * 16 - 1
									     : 256 * 8 - 1);

	/* CR0: MP EM TS NE WP AM CD from the input, ET always (SDM Vol. 3 2.5) */
	uint64_t cr0 = X86_CR0_ET;
	cr0 |= h[1] & (X86_CR0_MP | X86_CR0_EM | X86_CR0_TS | X86_CR0_NE);
	if (h[1] & 0x10) cr0 |= X86_CR0_WP;
	if (h[1] & 0x40) cr0 |= X86_CR0_AM;
	/* CR4: VME PVI TSD DE PSE PAE PGE OSFXSR OSXMMEXCPT UMIP FSGSBASE
	 * OSXSAVE SMEP SMAP PKE */
	uint32_t cr4 = ((uint32_t)h[2] | (uint32_t)h[3] << 8 | (uint32_t)h[4] << 16) & 0x750ebfu;
	uint64_t efer = (h[5] & 1 ? X86_EFER_SCE : 0) | (h[5] & 2 ? X86_EFER_NXE : 0);
	uint64_t rflags = ((uint32_t)h[6] | (uint32_t)h[7] << 8 | (uint32_t)(h[5] & 0xf0) << 12) &
			  0x3d7fd5u;  /* no VM: v8086 needs its own segment setup */
	rflags |= X86_RFLAGS_FIXED;
	if (mode != FUZZ_MODE_REAL)
		cr0 |= X86_CR0_PE;
	if (mode == FUZZ_MODE_LONG) {
		cr0 |= X86_CR0_PG;
		cr4 |= X86_CR4_PAE;
		efer |= X86_EFER_LME | X86_EFER_LMA;
	}
	c->cr0 = cr0;
	c->cr4 = cr4;
	c->efer = efer;
	c->rflags = rflags;

	uint16_t cs, ds;
	switch (mode) {
	case FUZZ_MODE_REAL:
		for (unsigned s = 0; s < SEG_COUNT; s++) {
			struct x86_segment *g = &c->seg[s];
			memset(g, 0, sizeof(*g));
			g->selector = s == SEG_CS ? FUZZ_STEP_CODE >> 4 : FUZZ_STEP_DATA >> 4;
			g->base = (uint64_t)g->selector << 4;
			g->limit = 0xffff;
			g->type = s == SEG_CS ? 0xb : 0x3;
			g->s = 1;
			g->present = 1;
		}
		c->rip = 0;
		break;
	case FUZZ_MODE_PM16:
		cs = user ? SEL_UCODE16 : SEL_CODE16;
		ds = user ? SEL_UDATA16 : SEL_DATA16;
		goto load;
	case FUZZ_MODE_PM32:
		cs = user ? SEL_UCODE32 : SEL_CODE32;
		ds = user ? SEL_UDATA : SEL_DATA;
		goto load;
	default:
		cs = user ? SEL_UCODE64 : SEL_CODE64;
		ds = user ? SEL_UDATA : SEL_DATA;
	load:
		fuzz_step_load(c, m, SEG_CS, cs);
		for (unsigned s = 0; s < SEG_COUNT; s++)
			if (s != SEG_CS)
				fuzz_step_load(c, m, s, ds);
		c->rip = mode == FUZZ_MODE_PM16 ? 0 : FUZZ_STEP_CODE;
		break;
	}
	uint64_t d[2];
	memcpy(d, m->ram + FUZZ_STEP_GDT + SEL_TSS, 16);
	if (mode != FUZZ_MODE_LONG)
		d[1] = 0;
	sys_seg_from_desc(&c->tr, SEL_TSS, d[0], d[1]);
	c->tr.type = 0xb;   /* busy */

	for (unsigned r = 0; r < 16; r++) {
		uint32_t v;
		memcpy(&v, h + 8 + 4 * r, 4);
		c->gpr[r] = (h[1] & 0x80) ? (uint64_t)v * 0x100000001ULL : v;
	}
	/* a usable stack unless the input's registers say otherwise */
	if (!c->gpr[GPR_RSP])
		c->gpr[GPR_RSP] = (mode == FUZZ_MODE_REAL || mode == FUZZ_MODE_PM16) ? 0xfff0
			: FUZZ_STEP_DATA + 0xfff0;
	soft_cpu_update_mode(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool verbose, init;
	if (!init) {
		const char *e = getenv("FUZZ_SOFT_STEP_VERBOSE");
		verbose = e && *e == '1';
		if (verbose)
			atexit(fuzz_step_report);
		init = true;
	}
	if (size < FUZZ_STEP_HDR)
		return 0;
	const uint8_t *code = data + FUZZ_STEP_HDR;
	size_t codelen = size - FUZZ_STEP_HDR;
	if (codelen > 0x10000)
		codelen = 0x10000;

	struct soft_flatmem m;
	if (soft_flatmem_init(&m, FUZZ_STEP_MEM))
		return 0;
	struct soft_cpu *c = calloc(1, sizeof(*c));
	if (!c || soft_cpu_init(c, &soft_flatmem_ops, &m, data[0] & 8)) {
		free(c);
		soft_flatmem_destroy(&m);
		return 0;
	}
	memcpy(m.ram + FUZZ_STEP_CODE, code, codelen);
	memcpy(m.ram + FUZZ_STEP_DATA, code, codelen);
	m.in_value = 0xffffffffu;
	fuzz_step_setup(c, &m, data, code, codelen);

	fuzz_step_runs++;
	for (unsigned ev = 0; ev <= FUZZ_STEP_EVENTS; ev++) {
		int r = soft_cpu_run(c, FUZZ_STEP_BUDGET, NULL);
		if (r == SOFT_INTERNAL) {
			fuzz_step_internal++;
			if (verbose)
				fprintf(stderr, "fuzz_soft_step: SOFT_INTERNAL: %s\n", c->error);
			break;
		}
		if (r != SOFT_EXC || ev == FUZZ_STEP_EVENTS)
			break;
		if (soft_cpu_deliver_exception(c) != SOFT_OK)
			break;
	}
	soft_cpu_destroy(c);
	free(c);
	soft_flatmem_destroy(&m);
	return 0;
}
