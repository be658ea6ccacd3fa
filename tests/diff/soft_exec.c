/* The soft CPU side of the differential harness: see soft_exec.h.
 *
 * Guest linear addresses equal the native child's: the code page at
 * DIFF_CODE_ADDR (read + execute), the data pages at DIFF_DATA_ADDR (read +
 * write, no execute); everything else is not present, so the #PF error
 * codes match what the host kernel reports for a user-mode access. */
#include "soft_exec.h"

#include "src/cpu/soft/cpuid.h"
#include "src/cpu/soft/host_isa.h"

#include <stdlib.h>
#include <string.h>

#include "src/cpu/soft/cpu.h"
#include "src/cpu/soft/jit/jit.h"
#include "src/cpu/soft/mmu/soft_mmu.h"

#define PF_W 0x2u
#define PF_U 0x4u
#define PF_I 0x10u

struct soft_exec {
	struct soft_cpu cpu;
	enum diff_tier tier;
	uint8_t code[4096];
	/* 16-byte aligned like the guest pages (malloc aligns the struct to
	 * 16): translated SSE accesses the host copy with the guest's
	 * alignment */
	_Alignas(16) uint8_t data[DIFF_MEM_SIZE];
	/* translated tier: a shadow TLB for the translator's inline fast path
	 * (jit/translate.c, emit_mem), mapping the data pages for reading and
	 * inline stores and the code page for reading only, as the MMU maps a
	 * page holding code; every other access takes the slow path through
	 * the ops above */
	struct soft_tlb_entry tlb[SOFT_TLB_SIZE];
};

/* (Re)fill the fake TLB for the current rights class. */
static void soft_exec_fill_tlb(struct soft_exec *se)
{
	uint64_t cls = soft_mmu_class(&se->cpu);
	for (unsigned i = 0; i < SOFT_TLB_SIZE; i++) {
		struct soft_tlb_entry *e = &se->tlb[i];
		e->tag_read = e->tag_write = e->tag_fetch = e->tag_fastw = e->tag_jread = ~0ULL;
		e->host = NULL;
	}
	for (unsigned p = 0; p < DIFF_MEM_SIZE / 4096; p++) {
		uint64_t la = DIFF_DATA_ADDR + 4096ULL * p;
		struct soft_tlb_entry *e = &se->tlb[(la >> 12) & (SOFT_TLB_SIZE - 1)];
		e->tag_read = e->tag_write = e->tag_fastw = ((la >> 12) << 2) | cls;
		e->host = se->data + 4096 * p;
		soft_tlb_entry_jit(e, la);
	}
	struct soft_tlb_entry *e = &se->tlb[(DIFF_CODE_ADDR >> 12) & (SOFT_TLB_SIZE - 1)];
	e->tag_read = ((DIFF_CODE_ADDR >> 12) << 2) | cls;
	e->host = se->code;
	soft_tlb_entry_jit(e, DIFF_CODE_ADDR);
}

static void soft_exec_pf(struct soft_fault *f, uint64_t la, uint32_t err)
{
	f->vector = 14;
	f->has_error = true;
	f->error_code = err | PF_U;
	f->cr2 = la;
}

/* Is [la, la+len) inside [base, base+size)?  If not, *bad = the first
 * byte outside (the start of the next page for a split access). */
static bool soft_exec_inside(uint64_t la, unsigned len, uint64_t base,
			     uint64_t size, uint64_t *bad)
{
	if (la >= base && la - base < size) {
		if (la - base + len <= size)
			return true;
		*bad = base + size;
		return false;
	}
	*bad = la;
	return false;
}

static int soft_exec_read(void *opaque, uint64_t la, void *dst, unsigned len,
			  unsigned acc, struct soft_fault *f)
{
	struct soft_exec *se = opaque;
	uint64_t bad, bad2;

	if (soft_exec_inside(la, len, DIFF_DATA_ADDR, DIFF_MEM_SIZE, &bad)) {
		memcpy(dst, se->data + (la - DIFF_DATA_ADDR), len);
		return 0;
	}
	if (soft_exec_inside(la, len, DIFF_CODE_ADDR, 4096, &bad2)) {
		if (acc == SOFT_ACC_READ) {
			memcpy(dst, se->code + (la - DIFF_CODE_ADDR), len);
			return 0;
		}
		/* natively writable, but no form writes to its own code */
		soft_exec_pf(f, la, PF_W | 1u);
		return -1;
	}
	soft_exec_pf(f, bad, acc == SOFT_ACC_RMW ? PF_W : 0);
	return -1;
}

static int soft_exec_write(void *opaque, uint64_t la, const void *src, unsigned len,
			   uint64_t pa[2], struct soft_fault *f)
{
	struct soft_exec *se = opaque;
	uint64_t bad;

	if (!soft_exec_inside(la, len, DIFF_DATA_ADDR, DIFF_MEM_SIZE, &bad)) {
		soft_exec_pf(f, bad, PF_W);
		return -1;
	}
	memcpy(se->data + (la - DIFF_DATA_ADDR), src, len);
	pa[0] = la;
	pa[1] = la + len - 1;
	return 0;
}

static int soft_exec_fetch(void *opaque, uint64_t la, void *dst, unsigned len,
			   uint64_t *pa, struct soft_fault *f)
{
	struct soft_exec *se = opaque;
	uint64_t bad;

	if (!soft_exec_inside(la, len, DIFF_CODE_ADDR, 4096, &bad)) {
		soft_exec_pf(f, bad, PF_I);
		return -1;
	}
	memcpy(dst, se->code + (la - DIFF_CODE_ADDR), len);
	*pa = la;
	return 0;
}

static int soft_exec_pio_in(void *opaque, uint16_t port, unsigned size,
			    uint32_t *val, struct soft_fault *f)
{
	f->vector = 13;
	f->has_error = true;
	f->error_code = 0;
	return -1;
}

static int soft_exec_pio_out(void *opaque, uint16_t port, unsigned size,
			     uint32_t val, struct soft_fault *f)
{
	f->vector = 13;
	f->has_error = true;
	f->error_code = 0;
	return -1;
}

/* The page-wise REP MOVS/STOS path (exec_string.c): the data pages for
 * reading and writing, the code page for reading; anything else faults,
 * which sends the core to its element loop and the fault above. */
static int soft_exec_page_ptr(void *opaque, uint64_t la, bool write, uint64_t want,
			      uint8_t **host, uint64_t *pa, uint64_t *avail, struct soft_fault *f)
{
	struct soft_exec *se = opaque;
	(void)want;
	*host = NULL;
	if (la - DIFF_DATA_ADDR < DIFF_MEM_SIZE) {
		/* both data pages at once, as one large page would be */
		*host = se->data + (la - DIFF_DATA_ADDR);
		*avail = DIFF_MEM_SIZE - (la - DIFF_DATA_ADDR);
	} else if (!write && la - DIFF_CODE_ADDR < 4096) {
		*host = se->code + (la - DIFF_CODE_ADDR);
		*avail = 4096 - (la - DIFF_CODE_ADDR);
	} else {
		soft_exec_pf(f, la, write ? PF_W : 0);
		return -1;
	}
	*pa = la;
	return 0;
}

static const struct soft_mem_ops soft_exec_ops = {
	.page_ptr = soft_exec_page_ptr,
	.read = soft_exec_read,
	.write = soft_exec_write,
	.fetch = soft_exec_fetch,
	.pio_in = soft_exec_pio_in,
	.pio_out = soft_exec_pio_out,
};

static void soft_exec_seg(struct x86_segment *s, uint16_t sel, uint8_t type, bool code)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->limit = 0xffffffff;
	s->type = type;
	s->s = 1;
	s->dpl = 3;
	s->present = 1;
	s->g = 1;
	s->l = code;
	s->db = !code;
}

static void soft_exec_sregs(struct x86_sregs *s)
{
	memset(s, 0, sizeof(*s));
	/* Linux user mode: __USER_CS 0x33, __USER_DS 0x2b */
	soft_exec_seg(&s->seg[SEG_CS], 0x33, 0xb, true);
	soft_exec_seg(&s->seg[SEG_SS], 0x2b, 0x3, false);
	for (int i = 0; i < SEG_COUNT; i++) {
		if (i == SEG_CS || i == SEG_SS)
			continue;
		soft_exec_seg(&s->seg[i], 0, 0x3, false);
	}
	s->tr.type = 0xb;
	s->tr.present = 1;
	s->tr.limit = 0x67;
	s->ldt.unusable = 1;
	s->cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_WP |
		 X86_CR0_AM | X86_CR0_PG;
	s->cr4 = X86_CR4_PAE | X86_CR4_PGE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT |
		 (1ULL << 18) /* OSXSAVE, as Linux sets it on this host */;
	s->efer = X86_EFER_SCE | X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE;
}

void soft_exec_default_control(uint64_t *cr0, uint64_t *cr4)
{
	struct x86_sregs s;
	soft_exec_sregs(&s);
	*cr0 = s.cr0;
	*cr4 = s.cr4;
}

void soft_exec_set_control(struct soft_exec *se, uint64_t cr0, uint64_t cr4)
{
	struct x86_sregs s;
	soft_cpu_get_sregs(&se->cpu, &s);
	s.cr0 = cr0;
	s.cr4 = cr4;
	soft_cpu_set_sregs(&se->cpu, &s);
	soft_cpu_update_mode(&se->cpu);
}

void soft_exec_set_cpl(struct soft_exec *se, unsigned cpl)
{
	struct x86_sregs s;
	soft_cpu_get_sregs(&se->cpu, &s);
	if (cpl == 0) {
		soft_exec_seg(&s.seg[SEG_CS], 0x10, 0xb, true);
		soft_exec_seg(&s.seg[SEG_SS], 0x18, 0x3, false);
		s.seg[SEG_CS].dpl = 0;
		s.seg[SEG_SS].dpl = 0;
	} else {
		soft_exec_seg(&s.seg[SEG_CS], 0x33, 0xb, true);
		soft_exec_seg(&s.seg[SEG_SS], 0x2b, 0x3, false);
	}
	soft_cpu_set_sregs(&se->cpu, &s);
	soft_cpu_update_mode(&se->cpu);
}

struct soft_exec *soft_exec_create(void)
{
	struct soft_exec *se = calloc(1, sizeof(*se));
	if (!se)
		return NULL;
	if (soft_cpu_init(&se->cpu, &soft_exec_ops, se, true) != 0) {
		free(se);
		return NULL;
	}
	struct x86_sregs s;
	soft_exec_sregs(&s);
	soft_cpu_set_sregs(&se->cpu, &s);
	soft_cpu_update_mode(&se->cpu);
	return se;
}

bool soft_exec_set_tier(struct soft_exec *se, enum diff_tier t)
{
	se->tier = t;
	if (t == DIFF_TIER_JIT && !se->cpu.jit) {
		/* a small cache, so that the runs also go through its flushes;
		 * hot threshold 0: every block is translated the first time */
		se->cpu.jit = soft_jit_new(256u << 10, 0);
		if (!se->cpu.jit)
			return false;
		/* DIFF_JIT_PUSHFQ=1: the translator's path for hosts without
		 * LAHF/SAHF in 64-bit mode (guest flags saved with PUSHFQ) */
		const char *pf = getenv("DIFF_JIT_PUSHFQ");
		if (pf && *pf == '1')
			se->cpu.jit->lahf = false;
		se->cpu.jit_tlb = se->tlb;
	}
	return true;
}

void soft_exec_jit_stats(const struct soft_exec *se, uint64_t out[11])
{
	const struct soft_jit *j = se->cpu.jit;
	out[0] = j ? j->stats.translated : 0;
	out[1] = j ? j->stats.native_insns : 0;
	out[2] = j ? j->stats.helper_insns : 0;
	out[3] = j ? j->cache.nflush : 0;
	out[4] = j ? j->stats.fast_loads : 0;
	out[5] = j ? j->stats.fast_stores : 0;
	out[6] = j ? j->stats.sse : 0;
	out[7] = j ? j->stats.sse_mem : 0;
	out[8] = j ? j->stats.fast_stack : 0;
	out[9] = j ? j->stats.vex : 0;
	out[10] = j ? j->stats.vex_mem : 0;
}

/* Blocks and translated blocks: run until the form's end.  The rest of the
 * code page is int3, as natively: reaching one outside the form ends the
 * run where the native side stops (at that int3).  A fetch fault outside
 * the code page after a branch means the branch completed, as natively. */
static int soft_exec_run_blocks(struct soft_exec *se, const struct diff_case *c)
{
	struct soft_cpu *cpu = &se->cpu;
	uint64_t end = DIFF_CODE_ADDR + c->len;
	soft_cpu_invalidate_code(cpu, DIFF_CODE_ADDR, 4096);
	int st = soft_cpu_run(cpu, 64, NULL);
	/* A long REP MOVS/STOS charges the run one instruction per 64 bytes
	 * (exec_string.c) and may end it on the instruction, rCX partly
	 * counted, or just after it: run on to the int3 that ends the form,
	 * as the engine's next slice would (bounded). */
	for (int n = 0; n < 256 && st == SOFT_STOP && cpu->rip >= DIFF_CODE_ADDR &&
			cpu->rip < DIFF_CODE_ADDR + 4096; n++)
		st = soft_cpu_run(cpu, 64, NULL);
	if (st == SOFT_EXC && cpu->exc.vector == X86_EXC_BP && cpu->exc.kind == SOFT_EV_INT3 &&
	    (cpu->exc.insn_rip < DIFF_CODE_ADDR || cpu->exc.insn_rip >= end)) {
		cpu->rip = cpu->exc.insn_rip;
		return SOFT_OK;
	}
	if (st == SOFT_EXC && cpu->exc.vector == X86_EXC_PF && (cpu->exc.error_code & 0x10) &&
	    cpu->exc.cr2 == cpu->rip &&
	    (cpu->rip < DIFF_CODE_ADDR || cpu->rip >= DIFF_CODE_ADDR + 4096))
		return SOFT_OK;
	return st;
}

void soft_exec_destroy(struct soft_exec *se)
{
	if (!se)
		return;
	soft_cpu_destroy(&se->cpu);
	free(se);
}

void soft_exec_run(struct soft_exec *se, const struct diff_case *c,
		   struct diff_result *r)
{
	struct soft_cpu *cpu = &se->cpu;
	struct x86_regs regs = c->in.regs;

	memset(se->code, 0xcc, se->tier == DIFF_TIER_STEP ? 32 : sizeof(se->code));
	memcpy(se->code, c->code, c->len);
	memcpy(se->data, c->in.mem, DIFF_MEM_SIZE);
	regs.rip = DIFF_CODE_ADDR;
	regs.rflags = 0x202 | (regs.rflags & 0xcd5);
	soft_cpu_set_regs(cpu, &regs);
	soft_cpu_set_fpu(cpu, &c->in.fpu);
	/* not part of struct x86_fpu: reset like the native side (XRSTOR of
	 * a 64-bit image leaves the x87 CS/DS selectors 0) */
	cpu->fpu.fcs = 0;
	cpu->fpu.fds = 0;
	/* XCR0 = x87|SSE, the components every host's Linux enables and the
	 * XSAVE forms' RFBM and headers hold (a mode check may have changed it
	 * with XSETBV); PKRU, which the model also supports, is covered by the
	 * unit and guest tests (the host's XCR0 may lack it) */
	cpu->xcr0 = 0x3;
	/* generated cases: AVX too when the host has it (the native side runs
	 * with the host's XCR0, which then has it) */
	if (c->in.avx && (cpu->host_isa & SOFT_HOST_AVX))
		cpu->xcr0 |= 0x4;
	memcpy(cpu->ymmh, c->in.ymmh, sizeof(cpu->ymmh));
	memset(&cpu->exc, 0, sizeof(cpu->exc));
	cpu->error[0] = 0;

	/* Step until the whole byte string ran (forms may hold a short
	 * sequence; natively it runs up to the int3 after it). */
	int st = SOFT_OK;
	for (int n = 0; n < 16 && se->tier == DIFF_TIER_STEP; n++) {
		st = soft_cpu_step(cpu);
		if (st != SOFT_OK || cpu->rip < DIFF_CODE_ADDR ||
		    cpu->rip >= DIFF_CODE_ADDR + c->len)
			break;
	}

	if (se->tier == DIFF_TIER_JIT)
		soft_exec_fill_tlb(se);
	if (se->tier != DIFF_TIER_STEP)
		st = soft_exec_run_blocks(se, c);

	memset(r, 0, sizeof(*r));
	soft_cpu_get_regs(cpu, &r->out.regs);
	soft_cpu_get_fpu(cpu, &r->out.fpu);
	r->out.fpu.fop = 0;
	r->out.fpu.fip = 0;
	r->out.fpu.fdp = 0;
	for (int i = 0; i < 8; i++)
		memset(&r->out.fpu.st[i][10], 0, 6);
	memcpy(r->out.mem, se->data, DIFF_MEM_SIZE);
	memcpy(r->out.ymmh, cpu->ymmh, sizeof(r->out.ymmh));
	switch (st) {
	case SOFT_OK:
		r->vector = DIFF_VEC_NONE;
		break;
	case SOFT_EXC:
		r->vector = cpu->exc.vector;
		r->error_code = cpu->exc.has_error ? cpu->exc.error_code : 0;
		r->fault_addr = cpu->exc.cr2;
		break;
	default:
		r->vector = DIFF_VEC_UNSUPP;
		break;
	}
}
