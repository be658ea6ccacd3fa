/* The translator's inline TLB fast path (src/cpu/soft/jit/translate.c,
 * emit_load) on the real shadow TLB: 64-bit paging over guest RAM, loads
 * translated against interpreted (same registers, flags, icount), the fast
 * path really bypassing the memory ops (fewer TLB lookups through them),
 * and the slow path's cases: a #PF (precise RIP, CR2, retired count), a
 * non-canonical address, a page-crossing load, MMIO.  Stores and
 * read-modify-writes the same way, and the inline-store right withheld on
 * pages holding code (mmu/code_write.c): code written by stores and run,
 * rewritten and run again; a loop patching itself.  PUSH imm, PUSH m64
 * and LEAVE inline, and their faults (source or stack) precise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "jit_pair.h"

#include "ringvm/compiler.h"

extern const uint8_t j_loads[], j_loads_end[], j_fault[], j_fault_end[];
extern const uint8_t j_stores[], j_stores_end[], j_gen[], j_gen_end[], j_smc[], j_smc_end[];
extern const uint8_t j_calls[], j_calls_end[], j_sse[], j_sse_end[], j_flags[], j_flags_end[];
extern const uint8_t j_push[], j_push_end[], j_pushm_fault[], j_pushm_fault_end[];
extern const uint8_t j_pushi_fault[], j_pushi_fault_end[], j_leave_fault[], j_leave_fault_end[];
extern const uint8_t j_sti[], j_sti_end[], j_sti_at[];
extern const uint8_t j_cli[], j_cli_end[], j_div[], j_div_end[], j_div_fault[], j_div_fault_end[];

/* the loads' device at JIT_PAIR_DEV, FS based at DATA */
void vm_up(struct vm1 *v, bool jit, const uint8_t *code, size_t len)
{
	static const struct vm1_env env = { .fs_base = DATA, .dev = true };
	vm_up_env(v, jit, code, len, &env);
}

#define RUN_LONG (1u << 30)   /* budget of the loops that end in HLT */

/* The operands the load, store and stack loops read at DATA. */
static void put_data8(struct vm1 *v)
{
	static const uint64_t data[8] = { 5, 0x8000000000000001ULL, 0xfffffffffffffff0ULL, 7, 3,
					  0x1234567812345678ULL, 0, 0xffff };
	assert_int_equal(gmem_write(&v->mem, DATA, data, sizeof(data)), 0);
}

static void setup_loads(struct vm1 *v, const void *arg)
{
	(void)arg;
	put_data8(v);
	v->cpu.gpr[GPR_RSI] = DATA;
	v->cpu.gpr[GPR_R13] = 5000;
	v->cpu.gpr[GPR_R10] = 3;
}

static void test_loads_vs_interp(void **state)
{
	(void)state;
	struct pair p;
	pair_run(&p, CODE_OF(j_loads), setup_loads, NULL, RUN_LONG, SOFT_HLT);
	assert_true(p.v[1]->cpu.jit->stats.fast_loads >= 9);
	/* the loads did not go through the memory ops: far fewer TLB lookups */
	assert_true(p.v[1]->mmu.stats.hits * 4 < p.v[0]->mmu.stats.hits);
	pair_free(&p);
}

static void setup_mmio_loop(struct vm1 *v, const void *arg)
{
	(void)arg;
	v->cpu.gpr[GPR_RSI] = 0xd0000000;
	v->cpu.gpr[GPR_R13] = 50;
	v->cpu.gpr[GPR_R10] = 3;
}

/* The loads' loop over device memory: the slot the first slow path fills
 * for the MMIO page must never let later rounds' probes hit inline (its
 * tag_jread is ~0: the probe has no MMIO test of its own); every load goes
 * to the device, as interpreted. */
static void test_mmio_loop(void **state)
{
	(void)state;
	struct pair p;
	pair_run(&p, CODE_OF(j_loads), setup_mmio_loop, NULL, RUN_LONG, SOFT_HLT);
	assert_true(p.v[0]->mmio_reads >= 50 * 9);
	assert_int_equal(p.v[1]->mmio_reads, p.v[0]->mmio_reads);
	pair_free(&p);
}

/* The fault cases' start: 16 bytes across the page at DATA + 0x1000, the
 * ADD before the access (40 + 2) and its address in RDI. */
static void setup_fault_regs(struct vm1 *v, uint64_t rdi)
{
	uint8_t bytes[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	assert_int_equal(gmem_write(&v->mem, DATA + 0xff8, bytes, sizeof(bytes)), 0);
	v->cpu.gpr[GPR_RAX] = 40;
	v->cpu.gpr[GPR_RBX] = 2;
	v->cpu.gpr[GPR_RDI] = rdi;
}

static void setup_fault(struct vm1 *v, const void *arg)
{
	setup_fault_regs(v, *(const uint64_t *)arg);
}

/* The load at j_fault+6 (after two native instructions) from RDI. */
static void run_fault_case(uint64_t rdi, int want_status, unsigned want_vector, bool mmio)
{
	struct pair p;
	pair_run(&p, CODE_OF(j_fault), setup_fault, &rdi, 1000, want_status);
	struct vm1 *const *v = p.v;
	if (want_status == SOFT_EXC) {
		assert_int_equal(v[1]->cpu.exc.vector, want_vector);
		assert_int_equal(v[0]->cpu.exc.vector, want_vector);
		assert_int_equal(v[1]->cpu.exc.cr2, v[0]->cpu.exc.cr2);
		assert_int_equal(v[1]->cpu.exc.error_code, v[0]->cpu.exc.error_code);
		assert_int_equal(v[1]->cpu.rip, CODE + 6); /* the load itself */
		assert_int_equal(v[1]->cpu.gpr[GPR_RAX], 42); /* the add before it retired */
	}
	if (mmio)
		assert_int_equal(v[1]->mmio_reads, 1);
	assert_true(v[1]->cpu.jit->stats.fast_loads >= 1);
	pair_free(&p);
}

static void test_slow_paths(void **state)
{
	(void)state;
	run_fault_case(DATA + 8, SOFT_HLT, 0, false);                  /* fast path */
	run_fault_case(DATA + 0xffc, SOFT_HLT, 0, false);              /* crosses a page */
	run_fault_case(0xd0000010, SOFT_HLT, 0, true);                 /* MMIO */
	run_fault_case(0x8000000000ULL, SOFT_EXC, X86_EXC_PF, false);  /* not present */
	run_fault_case(0x0000800000000000ULL, SOFT_EXC, X86_EXC_GP, false); /* non-canonical */
	run_fault_case(0xffff800000000000ULL, SOFT_EXC, X86_EXC_PF, false); /* canonical, unmapped */
}

static void setup_stores(struct vm1 *v, const void *arg)
{
	(void)arg;
	put_data8(v);
	v->cpu.gpr[GPR_RSI] = DATA;
	v->cpu.gpr[GPR_RAX] = 0x0123456789abcdefULL;
	v->cpu.gpr[GPR_RDX] = 0x1111;
	v->cpu.gpr[GPR_R13] = 3000;
}

static void test_stores_vs_interp(void **state)
{
	(void)state;
	struct pair p;
	pair_run(&p, CODE_OF(j_stores), setup_stores, NULL, RUN_LONG, SOFT_HLT);
	pair_same_memory(&p, DATA, 64 << 10);
	assert_true(p.v[1]->cpu.jit->stats.fast_stores >= 19);
	/* the stores did not go through the memory ops */
	assert_true(p.v[1]->mmu.stats.hits * 4 < p.v[0]->mmu.stats.hits);
	pair_free(&p);
}

static void setup_rdi(struct vm1 *v, const void *arg)
{
	v->cpu.gpr[GPR_RDI] = *(const uint64_t *)arg;
}

/* Run code at CODE to HLT, interpreted and translated; same state.
 * Returns the translator's statistics. */
static struct soft_jit_stats run_both_code(const uint8_t *code, size_t len, uint64_t rdi,
					   uint64_t want_rdx)
{
	struct pair p;
	pair_run(&p, code, len, setup_rdi, &rdi, RUN_LONG, SOFT_HLT);
	assert_int_equal(p.v[0]->cpu.gpr[GPR_RDX], want_rdx);
	struct soft_jit_stats js = p.v[1]->cpu.jit->stats;
	pair_free(&p);
	return js;
}

static void test_code_pages(void **state)
{
	(void)state;
	/* 0 + 1 + ... + 9: each call runs the code just written, although
	 * the first stores to the page went inline (before it held code) */
	run_both_code(CODE_OF(j_gen), DATA + 0x3000, 45);
	/* 0 + 1 + ... + 19 */
	run_both_code(CODE_OF(j_smc), 0, 190);
}

/* The stack through the fast path; indirect branches and returns find
 * their translated target (IBTC) without the run loop. */
static void test_calls(void **state)
{
	(void)state;
	struct soft_jit_stats js = run_both_code(CODE_OF(j_calls), 0, 1275 + 50 * 8);
	assert_true(js.fast_stack >= 5);
	assert_true(js.indirect >= 3);
	/* 50 iterations of 8 blocks: nearly all entered by chains and the
	 * IBTC, not from the run loop */
	assert_true(js.entries < 40);
}

static void setup_push_leave(struct vm1 *v, const void *arg)
{
	(void)arg;
	put_data8(v);
	v->cpu.gpr[GPR_RSI] = DATA;
	v->cpu.gpr[GPR_RBP] = 0x5555;
	v->cpu.gpr[GPR_R13] = 300;
}

/* PUSH imm8/imm32, PUSH m64 and LEAVE through the fast path (translate.c,
 * emit_push_leave): the same registers, flags and memory as interpreted,
 * no handler call for them. */
static void test_push_leave(void **state)
{
	(void)state;
	struct pair p;
	pair_run(&p, CODE_OF(j_push), setup_push_leave, NULL, RUN_LONG, SOFT_HLT);
	assert_int_equal(p.v[1]->cpu.gpr[GPR_RSP], 0x80000);
	assert_int_equal(p.v[1]->cpu.gpr[GPR_RBP], 0x5555);
	pair_same_memory(&p, 0x80000 - 128, 256);
	pair_same_memory(&p, DATA, 64);
	/* the loop's translation: PUSH RBP, three PUSH imm, three PUSH m64,
	 * five POP r64 and LEAVE, all through the fast path; a handler call
	 * for none of them (HLT is the only one) */
	assert_true(p.v[1]->cpu.jit->stats.fast_stack >= 13);
	assert_true(p.v[1]->cpu.jit->stats.helper_insns <= 1);
	pair_free(&p);
}

struct push_regs {
	uint64_t rdi, rsp, rbp;
};

static void setup_push_fault(struct vm1 *v, const void *arg)
{
	const struct push_regs *r = arg;
	setup_fault_regs(v, r->rdi);
	v->cpu.gpr[GPR_RSP] = r->rsp;
	v->cpu.gpr[GPR_RBP] = r->rbp;
}

/* One of j_*_fault with RDI (PUSH m64's source), RSP and RBP: the same
 * outcome interpreted and translated; at a fault RIP is the instruction
 * (+3, the ADD before it retired) and RSP, RBP unchanged. */
static void run_push_fault(const uint8_t *code, size_t len, uint64_t rdi, uint64_t rsp,
			   uint64_t rbp, int want_status, unsigned want_vector, uint64_t want_cr2,
			   uint32_t want_err, bool mmio)
{
	struct pair p;
	const struct push_regs regs = { rdi, rsp, rbp };
	pair_run(&p, code, len, setup_push_fault, &regs, 1000, want_status);
	struct vm1 *const *v = p.v;
	if (want_status == SOFT_EXC) {
		for (int k = 0; k < 2; k++) {
			assert_int_equal(v[k]->cpu.exc.vector, want_vector);
			assert_int_equal(v[k]->cpu.exc.error_code, want_err);
			if (want_vector == X86_EXC_PF)
				assert_int_equal(v[k]->cpu.exc.cr2, want_cr2);
		}
		assert_int_equal(v[1]->cpu.rip, CODE + 3);
		assert_int_equal(v[1]->cpu.gpr[GPR_RAX], 42);
		assert_int_equal(v[1]->cpu.gpr[GPR_RSP], rsp);
		assert_int_equal(v[1]->cpu.gpr[GPR_RBP], rbp);
	} else {
		pair_same_memory(&p, (v[1]->cpu.gpr[GPR_RSP] - 16) & ~15ULL, 32);
	}
	if (mmio)
		assert_int_equal(v[1]->mmio_reads, 1);
	assert_true(v[1]->cpu.jit->stats.fast_stack >= 1);
	pair_free(&p);
}

static void test_push_faults(void **state)
{
	(void)state;
	const uint8_t *pm = j_pushm_fault, *pi = j_pushi_fault, *lv = j_leave_fault;
	size_t npm = (size_t)(j_pushm_fault_end - pm), npi = (size_t)(j_pushi_fault_end - pi);
	size_t nlv = (size_t)(j_leave_fault_end - lv);
	const uint64_t sp = 0x80000, bp = 0x5555, unmapped = 0x8000000000ULL;
	const uint64_t noncanon = 0x0000800000000000ULL;
	/* PUSH m64: the fast path, a source crossing a page, MMIO, a stack
	 * slot crossing a page */
	run_push_fault(pm, npm, DATA + 8, sp, bp, SOFT_HLT, 0, 0, 0, false);
	run_push_fault(pm, npm, DATA + 0xffc, sp, bp, SOFT_HLT, 0, 0, 0, false);
	run_push_fault(pm, npm, 0xd0000010, sp, bp, SOFT_HLT, 0, 0, 0, true);
	run_push_fault(pm, npm, DATA + 8, DATA + 0x1004, bp, SOFT_HLT, 0, 0, 0, false);
	/* the source faults (read, not present; non-canonical: #GP(0)) */
	run_push_fault(pm, npm, unmapped + 16, sp, bp, SOFT_EXC, X86_EXC_PF, unmapped + 16, 0, false);
	run_push_fault(pm, npm, noncanon, sp, bp, SOFT_EXC, X86_EXC_GP, 0, 0, false);
	/* the stack faults after the source was read (write, not present;
	 * non-canonical: #SS(0)) */
	run_push_fault(pm, npm, DATA + 8, unmapped + 8, bp, SOFT_EXC, X86_EXC_PF, unmapped, 2, false);
	run_push_fault(pm, npm, DATA + 8, noncanon + 8, bp, SOFT_EXC, X86_EXC_SS, 0, 0, false);
	/* both fault: the source's comes first */
	run_push_fault(pm, npm, unmapped + 16, unmapped + 8, bp, SOFT_EXC, X86_EXC_PF, unmapped + 16,
		       0, false);
	/* PUSH imm8 */
	run_push_fault(pi, npi, 0, sp, bp, SOFT_HLT, 0, 0, 0, false);
	run_push_fault(pi, npi, 0, unmapped + 8, bp, SOFT_EXC, X86_EXC_PF, unmapped, 2, false);
	/* LEAVE: RBP in RAM, crossing a page, unmapped, non-canonical */
	run_push_fault(lv, nlv, 0, sp, DATA + 8, SOFT_HLT, 0, 0, 0, false);
	run_push_fault(lv, nlv, 0, sp, DATA + 0xffc, SOFT_HLT, 0, 0, 0, false);
	run_push_fault(lv, nlv, 0, sp, unmapped + 24, SOFT_EXC, X86_EXC_PF, unmapped + 24, 0, false);
	run_push_fault(lv, nlv, 0, sp, noncanon, SOFT_EXC, X86_EXC_SS, 0, 0, false);
}

static void setup_cli(struct vm1 *v, const void *arg)
{
	(void)arg;
	v->cpu.gpr[GPR_R13] = 100;
	v->cpu.gpr[GPR_RDX] = 0x8000000000000000ULL;
}

/* CLI at CPL 0 inline (translate.c, emit_cli): IF cleared, the ADD's
 * flags kept across it for the ADC, the same state as interpreted, and
 * no handler call for it. */
static void test_cli(void **state)
{
	(void)state;
	struct pair p;
	pair_run(&p, CODE_OF(j_cli), setup_cli, NULL, RUN_LONG, SOFT_HLT);
	assert_int_equal(p.v[1]->cpu.gpr[GPR_R8], 0);
	assert_false(soft_get_rflags(&p.v[1]->cpu) & X86_RFLAGS_IF);
	/* the loop's handler calls: STI and PUSHFQ (and HLT's block) */
	assert_true(p.v[1]->cpu.jit->stats.helper_insns <= 3);
	pair_free(&p);
}

static void setup_sti(struct vm1 *v, const void *arg)
{
	if (*(const bool *)arg) { /* CPL 3 with IOPL 3: STI through its handler */
		struct x86_sregs sr;
		soft_cpu_get_sregs(&v->cpu, &sr);
		sr.seg[SEG_CS].selector |= 3;
		sr.seg[SEG_CS].dpl = 3;
		sr.seg[SEG_SS].selector |= 3;
		sr.seg[SEG_SS].dpl = 3;
		soft_cpu_set_sregs(&v->cpu, &sr);
		assert_int_equal(v->cpu.cpl, 3);
		soft_set_rflags(&v->cpu, 0x3002);
	}
	v->cpu.gpr[GPR_R13] = 100;
	v->cpu.gpr[GPR_RDX] = 0x8000000000000000ULL;
	v->cpu.gpr[GPR_RSI] = DATA;
	v->cpu.irq_attn = gmem_ptr(&v->mem, DATA, 4);
	assert_non_null(v->cpu.irq_attn);
	v->cpu.irq_attn_bits = 1;
}

/* STI at CPL 0 inline (translate.c, emit_sti): IF set, the STI shadow
 * over the next instruction (carried into the next block by the shared
 * checks), nothing when IF was already 1, the ADD's flags kept for the
 * ADC; with an interrupt pending (cpu->irq_attn) the kick set as
 * soft_cpu_if_set does, so the run stops right after the shadowed
 * instruction; the same state as interpreted and no handler call for
 * STI. */
static void run_sti(bool cpl3)
{
	struct pair p;
	pair_run(&p, CODE_OF(j_sti), setup_sti, &cpl3, RUN_LONG, SOFT_STOP);
	for (int k = 0; k < 2; k++) {
		assert_int_equal(p.v[k]->cpu.rip, CODE + (uint64_t)(j_sti_at - j_sti));
		assert_int_equal(p.v[k]->cpu.gpr[GPR_R8], 100 * 0x200);
		assert_true(soft_get_rflags(&p.v[k]->cpu) & X86_RFLAGS_IF);
	}
	/* the loop's handler calls at CPL 0: PUSHFQ (and HLT's block, not
	 * reached); at CPL 3 the STIs' slow paths are no translated handler
	 * calls either */
	assert_true(p.v[1]->cpu.jit->stats.helper_insns <= 2);
	pair_free(&p);
}

static void test_sti(void **state)
{
	(void)state;
	run_sti(false);
	run_sti(true);
}

static void setup_div(struct vm1 *v, const void *arg)
{
	(void)arg;
	static const uint64_t data[8] = { 0xfffffffffffffff1ULL, 7, 0xfffffffffffffff3ULL,
					  0x123456789ULL, 0xfffffffffffffff5ULL,
					  0xfffffffffffffff6ULL, 0xffffffff00000001ULL,
					  0xfffffffffffffff8ULL };
	assert_int_equal(gmem_write(&v->mem, DATA, data, sizeof(data)), 0);
	v->cpu.gpr[GPR_RSI] = DATA;
	v->cpu.gpr[GPR_R13] = 300;
}

/* DIV r/m32 and r/m64 on the host's DIV (translate.c, emit_div): the same
 * registers and flags as interpreted (the host's undefined flags never
 * reach the guest), no handler call; and its #DE (zero divisor, quotient
 * too large) and a #PF of its operand at its RIP, nothing changed. */
static void test_div(void **state)
{
	(void)state;
	struct pair p;
	pair_run(&p, CODE_OF(j_div), setup_div, NULL, RUN_LONG, SOFT_HLT);
	assert_true(p.v[1]->cpu.jit->stats.helper_insns <= 1); /* HLT's */
	pair_free(&p);
}

struct div_regs {
	uint64_t rdi, rdx;
};

static void setup_div_fault(struct vm1 *v, const void *arg)
{
	const struct div_regs *r = arg;
	static const uint64_t data[2] = { 0, 5 };
	assert_int_equal(gmem_write(&v->mem, DATA, data, sizeof(data)), 0);
	v->cpu.gpr[GPR_RAX] = 40;
	v->cpu.gpr[GPR_RBX] = 2;
	v->cpu.gpr[GPR_RDX] = r->rdx;
	v->cpu.gpr[GPR_RDI] = r->rdi;
}

static void run_div_fault(uint64_t rdi, uint64_t rdx, int want_status, unsigned want_vector)
{
	struct pair p;
	const struct div_regs regs = { rdi, rdx };
	pair_run(&p, CODE_OF(j_div_fault), setup_div_fault, &regs, 1000, want_status);
	struct vm1 *const *v = p.v;
	if (want_status == SOFT_EXC) {
		assert_int_equal(v[1]->cpu.exc.vector, want_vector);
		assert_int_equal(v[0]->cpu.exc.vector, want_vector);
		assert_int_equal(v[1]->cpu.rip, CODE + 3);
		assert_int_equal(v[1]->cpu.gpr[GPR_RAX], 42); /* the ADD retired, the DIV did not */
		assert_int_equal(v[1]->cpu.gpr[GPR_RDX], rdx);
	} else {
		assert_int_equal(v[1]->cpu.gpr[GPR_RAX], ((unsigned __int128)rdx << 64 | 42) / 5);
	}
	pair_free(&p);
}

static void test_div_faults(void **state)
{
	(void)state;
	run_div_fault(DATA + 8, 0, SOFT_HLT, 0);                      /* 42 / 5 */
	run_div_fault(DATA + 8, 4, SOFT_HLT, 0);                      /* fits: RDX < 5 */
	run_div_fault(DATA, 0, SOFT_EXC, X86_EXC_DE);                 /* by zero */
	run_div_fault(DATA + 8, 5, SOFT_EXC, X86_EXC_DE);             /* quotient >= 2^64 */
	run_div_fault(0x8000000000ULL, 0, SOFT_EXC, X86_EXC_PF);      /* not present */
	run_div_fault(0x0000800000000000ULL, 0, SOFT_EXC, X86_EXC_GP); /* non-canonical */
}

static void setup_sse(struct vm1 *v, const void *arg)
{
	double data[16];
	for (int i = 0; i < 16; i++)
		data[i] = 1.0 / (i + 3);
	assert_int_equal(gmem_write(&v->mem, DATA, data, sizeof(data)), 0);
	v->cpu.gpr[GPR_RSI] = DATA;
	v->cpu.cr4 |= X86_CR4_OSFXSR;
	v->cpu.mxcsr = *(const uint32_t *)arg;
}

/* SSE/SSE2 as host instructions: the same XMM registers, MXCSR and memory
 * as interpreted, with the default MXCSR and with rounding towards zero
 * (both native), with an exception unmasked (floating point through the
 * handler, which raises it), and the #GP of a misaligned aligned move
 * taken precisely. */
static void run_sse(uint32_t mxcsr, unsigned want_vector)
{
	struct pair p;
	pair_run(&p, CODE_OF(j_sse), setup_sse, &mxcsr, RUN_LONG, SOFT_EXC);
	struct vm1 *const *v = p.v;
	for (int k = 0; k < 2; k++)
		assert_int_equal(v[k]->cpu.exc.vector, want_vector);
	assert_memory_equal(v[0]->cpu.xmm, v[1]->cpu.xmm, sizeof(v[0]->cpu.xmm));
	assert_int_equal(v[0]->cpu.mxcsr, v[1]->cpu.mxcsr);
	pair_same_memory(&p, DATA, 128);
	assert_true(v[1]->cpu.jit->stats.sse >= 11);
	if (want_vector == X86_EXC_UD) /* the unmasked exception, at the first DIVSD */
		assert_int_equal(v[1]->cpu.rip, v[0]->cpu.rip);
	pair_free(&p);
}

static void test_sse(void **state)
{
	(void)state;
	run_sse(0x1f80, X86_EXC_GP);
	run_sse(0x7f80, X86_EXC_GP); /* round towards zero: host MXCSR = guest's */
	/* precision exceptions unmasked (CR4.OSXMMEXCPT clear: #UD): floating
	 * point through the handler; natively the host would take SIGFPE */
	run_sse(0x0f80, X86_EXC_UD);
}

static void setup_flags(struct vm1 *v, const void *arg)
{
	(void)arg;
	static const uint64_t data[8] = { 0x7000000000000000ULL, 0x8000000000000001ULL };
	assert_int_equal(gmem_write(&v->mem, DATA, data, sizeof(data)), 0);
	v->cpu.gpr[GPR_RSI] = DATA;
	v->cpu.gpr[GPR_RDX] = 0x5555;
	v->cpu.gpr[GPR_R13] = 2000;
}

/* Guest flags kept across inline accesses (in R10, restored when read):
 * translated against interpreted, registers, flags and memory. */
static void test_flags_across_probes(void **state)
{
	(void)state;
	struct pair p;
	pair_run(&p, CODE_OF(j_flags), setup_flags, NULL, RUN_LONG, SOFT_HLT);
	pair_same_memory(&p, DATA, 64);
	assert_true(p.v[1]->cpu.jit->stats.fast_loads + p.v[1]->cpu.jit->stats.fast_stores >= 8);
	assert_true(p.v[1]->mmu.stats.hits * 4 < p.v[0]->mmu.stats.hits);
	pair_free(&p);
}

static struct soft_tlb_entry *slot_of(struct vm1 *v, uint64_t la)
{
	return &v->mmu.tlb[((la >> 12) + v->mmu.slot_off) & (SOFT_TLB_SIZE - 1)];
}

/* A slot whose inline-store right was withdrawn (a page became code) gets
 * it back with the next store through the memory ops once its page holds
 * no code: without that, every translated store to it took the slow path
 * until the slot happened to be refilled (a user stack after a page of
 * the machine became code: every CALL left translated code). */
static void test_fastw_regrant(void **state)
{
	(void)state;
	static const uint8_t hlt[] = { 0xf4 };
	struct vm1 *v = calloc(1, sizeof(*v));
	vm_up(v, true, hlt, sizeof(hlt));
	uint64_t x = 1;
	assert_int_equal(soft_write_lin(&v->cpu, DATA, &x, 8), SOFT_OK);
	struct soft_tlb_entry *e = slot_of(v, DATA);
	assert_int_not_equal(e->tag_fastw, ~0ULL);
	assert_int_equal(e->tag_fastw, e->tag_write);
	/* another page becoming code leaves this slot's right alone (the
	 * reverse index withdraws only the slots of the marked page) */
	soft_code_mark(&v->code, DATA + 0x5000);
	soft_mmu_code_marks_sync(&v->mmu);
	assert_int_equal(e->tag_fastw, e->tag_write);
	/* this page itself becomes code: the store unmarks it (its decoded
	 * code is dropped) and then it may take inline stores again */
	soft_code_mark(&v->code, DATA);
	soft_mmu_code_marks_sync(&v->mmu);
	assert_int_equal(e->tag_fastw, ~0ULL);
	assert_int_equal(soft_write_lin(&v->cpu, DATA + 16, &x, 8), SOFT_OK);
	assert_false(soft_code_is_marked(&v->code, DATA));
	assert_int_equal(e->tag_fastw, e->tag_write);
	/* a page that stays code never gets it: an RMW pointer to a still
	 * marked page unmarks it too, so check a slot that only reads */
	uint64_t y;
	soft_code_mark(&v->code, DATA + 0x1000);
	soft_mmu_code_marks_sync(&v->mmu);
	assert_int_equal(soft_read_lin(&v->cpu, DATA + 0x1000, &y, 8), SOFT_OK);
	assert_int_equal(slot_of(v, DATA + 0x1000)->tag_fastw, ~0ULL);
	vm_down(v);
	free(v);
}

/* Run the RIP-reading loop at linear address base (code at CODE) to HLT:
 * RDX = 20 times the address after its LEA. */
static void run_at(struct vm1 *v, uint64_t base)
{
	v->cpu.rip = base;
	v->cpu.gpr[GPR_RDX] = 0;
	uint64_t done;
	assert_int_equal(soft_cpu_run(&v->cpu, 1u << 20, &done), SOFT_HLT);
	assert_int_equal(v->cpu.gpr[GPR_RDX], 20 * (base + 12));
	assert_int_equal(v->cpu.rip, base + 20); /* after the HLT */
}

/* A block decoded at one linear address and reached at another (the same
 * physical page mapped twice; Linux runs its text at the physical address
 * early in boot, then at its virtual address): it runs interpreted there
 * while its translation holds the other RIPs, then moves to the new RIP
 * and is translated for it (jit.c, rebind).  A translation run at the
 * wrong RIP would compute wrong LEA results. */
static void test_rebind(void **state)
{
	(void)state;
	static const uint8_t code[] = {
		0xb9, 0x14, 0x00, 0x00, 0x00,             /* mov ecx, 20 */
		0x48, 0x8d, 0x05, 0x00, 0x00, 0x00, 0x00, /* 1: lea rax, [rip] */
		0x48, 0x01, 0xc2,                         /* add rdx, rax */
		0xff, 0xc9,                               /* dec ecx */
		0x75, 0xf2,                               /* jnz 1b */
		0xf4,                                     /* hlt */
	};
	const uint64_t alias = 0x8000000000ULL; /* PML4[1]: the same 512 GiB again */
	struct vm1 *v = calloc(1, sizeof(*v));
	vm_up(v, false, code, sizeof(code));
	v->cpu.jit = soft_jit_new(1u << 20, 2);
	assert_non_null(v->cpu.jit);
	v->cpu.jit_tlb = v->mmu.tlb;
	assert_int_equal(gmem_write_u64(&v->mem, PML4 + 8, PDPT | 0x7), 0);
	run_at(v, CODE);
	uint64_t translated = v->cpu.jit->stats.translated;
	assert_true(translated >= 1);
	assert_int_equal(v->cpu.jit->stats.rebinds, 0);
	for (int i = 0; i < 3; i++)
		run_at(v, alias + CODE);
	assert_true(v->cpu.jit->stats.rebinds >= 1);
	assert_true(v->cpu.jit->stats.translated > translated);
	translated = v->cpu.jit->stats.translated;
	uint64_t rebinds = v->cpu.jit->stats.rebinds;
	for (int i = 0; i < 3; i++)
		run_at(v, CODE);
	assert_true(v->cpu.jit->stats.rebinds > rebinds);
	assert_true(v->cpu.jit->stats.translated > translated);
	vm_down(v);
	free(v);
}

/* The probes' addend memo (jit/probe.c): a translated loop reads through a
 * pointer it loads (so the probe uses its memo) into a 2 MiB page at an
 * alias address, leaving the page's addend in the memo; the guest remaps
 * that linear page to other RAM and invalidates it (as INVLPG does); the
 * same translation, run again, must read the new page: the memo's stale
 * addend is only a prediction that the probe checks against the refilled
 * slot.  Then the same loop over two pages at once (the pointer XORed with
 * RSI every round), so the one memo mispredicts every round. */
static void run_sum(struct vm1 *v, uint64_t ptr, uint64_t want)
{
	v->cpu.rip = CODE;
	v->cpu.gpr[GPR_RDX] = 0;
	v->cpu.gpr[GPR_RBX] = DATA + 0x800;
	assert_int_equal(gmem_write_u64(&v->mem, DATA + 0x800, ptr), 0);
	uint64_t done;
	assert_int_equal(soft_cpu_run(&v->cpu, 1u << 20, &done), SOFT_HLT);
	assert_int_equal(v->cpu.gpr[GPR_RDX], want);
}

static void test_memo_remap(void **state)
{
	(void)state;
	static const uint8_t code[] = {
		0xb9, 0x14, 0x00, 0x00, 0x00, /* mov ecx, 20 */
		0x48, 0x8b, 0x3b,             /* 1: mov rdi, [rbx] */
		0x48, 0x03, 0x17,             /* add rdx, [rdi] */
		0x48, 0x31, 0x33,             /* xor [rbx], rsi */
		0xff, 0xc9,                   /* dec ecx */
		0x75, 0xf3,                   /* jnz 1b */
		0xf4,                         /* hlt */
	};
	const uint64_t alias = 0x8000000000ULL, pdpt2 = 0x12000, pd = 0x13000;
	struct vm1 *v = calloc(1, sizeof(*v));
	vm_up(v, true, code, sizeof(code));
	/* PML4[1] -> PDPT2[0] -> PD[0]: a 2 MiB page at DATA */
	assert_int_equal(gmem_write_u64(&v->mem, PML4 + 8, pdpt2 | 0x7), 0);
	assert_int_equal(gmem_write_u64(&v->mem, pdpt2, pd | 0x7), 0);
	assert_int_equal(gmem_write_u64(&v->mem, pd, DATA | 0x87), 0);
	assert_int_equal(gmem_write_u64(&v->mem, DATA + 0x100, 3), 0);
	assert_int_equal(gmem_write_u64(&v->mem, 0x400100, 5), 0);
	v->cpu.gpr[GPR_RSI] = 0;
	run_sum(v, alias + 0x100, 20 * 3);
	assert_true(v->cpu.jit->stats.fast_loads >= 1);
	/* the probe's memo holds the page's addend */
	uint64_t addend = (uint64_t)(uintptr_t)gmem_ptr(&v->mem, DATA, 4096) - alias;
	bool found = false;
	for (unsigned k = 0; k < SOFT_JIT_MEMO; k++)
		found |= v->cpu.jit_memo[k] == addend;
	assert_true(found);
	/* the guest remaps the page and invalidates it */
	assert_int_equal(gmem_write_u64(&v->mem, pd, 0x400000 | 0x87), 0);
	soft_mmu_flush_page(&v->mmu, alias + 0x100);
	uint64_t translated = v->cpu.jit->stats.translated;
	run_sum(v, alias + 0x100, 20 * 5);
	assert_int_equal(v->cpu.jit->stats.translated, translated); /* the same translation */
	/* two pages, alternating: 10 rounds at each */
	assert_int_equal(gmem_write_u64(&v->mem, 0x401100, 7), 0);
	v->cpu.gpr[GPR_RSI] = 0x1000;
	run_sum(v, alias + 0x100, 10 * 5 + 10 * 7);
	vm_down(v);
	free(v);
}

/* A block ending in an instruction run through its handler (here REP
 * STOSB) goes on through the indirect-branch table to its successor's
 * translation instead of returning to the run loop. */
static void test_after_helper(void **state)
{
	(void)state;
	static const uint8_t code[] = {
		0xbb, 0x32, 0x00, 0x00, 0x00, /* mov ebx, 50 */
		0xb9, 0x04, 0x00, 0x00, 0x00, /* 1: mov ecx, 4 */
		0xf3, 0xaa,                   /* rep stosb */
		0xff, 0xcb,                   /* dec ebx */
		0x75, 0xf5,                   /* jnz 1b */
		0xf4,                         /* hlt */
	};
	struct soft_jit_stats js = run_both_code(code, sizeof(code), DATA, 0);
	/* 50 iterations of 2 blocks: nearly all entered by chains and the
	 * indirect-branch table (each iteration used to come back to the run
	 * loop after the REP STOSB) */
	assert_true(js.entries < 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loads_vs_interp),
		cmocka_unit_test(test_slow_paths),
		cmocka_unit_test(test_mmio_loop),
		cmocka_unit_test(test_stores_vs_interp),
		cmocka_unit_test(test_code_pages),
		cmocka_unit_test(test_calls),
		cmocka_unit_test(test_push_leave),
		cmocka_unit_test(test_push_faults),
		cmocka_unit_test(test_cli),
		cmocka_unit_test(test_sti),
		cmocka_unit_test(test_div),
		cmocka_unit_test(test_div_faults),
		cmocka_unit_test(test_sse),
		cmocka_unit_test(test_flags_across_probes),
		cmocka_unit_test(test_memo_remap),
		cmocka_unit_test(test_fastw_regrant),
		cmocka_unit_test(test_rebind),
		cmocka_unit_test(test_after_helper),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
