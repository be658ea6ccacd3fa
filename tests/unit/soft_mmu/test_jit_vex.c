/* VEX (AVX/AVX2) instructions and TZCNT/LZCNT/POPCNT emitted natively by
 * the translator (src/cpu/soft/jit/vex.c), on the real shadow TLB: a loop
 * of the forms glibc's AVX2 string functions use, translated against
 * interpreted (general registers, flags, icount, all 256 bits of every
 * YMM register, memory), with 32-byte loads crossing a page (the slow
 * path); and faults inside a translated block precise: #UD without
 * CR4.OSXSAVE, #NM with CR0.TS, #PF on a 32-byte load, #GP on a
 * misaligned VMOVDQA; the BMI memory forms (their loads through the
 * probe, a #PF precise); the floating-point forms under four MXCSR
 * settings (rounding, FZ/DAZ, sticky flags) and #XM/#UD from an unmasked
 * exception.  Skipped on a host without AVX2, BMI1, BMI2, LZCNT and
 * POPCNT (the translator emits none of it there). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/soft/host_isa.h"
#include "jit_pair.h"
#include "ringvm/compiler.h"

extern const uint8_t j_vex[], j_vex_end[], j_vex_fault[], j_vex_fault_end[];
extern const uint8_t j_bmi_fault[], j_bmi_fault_end[];
extern const uint8_t j_vex_fp[], j_vex_fp_end[], j_vex_xm[], j_vex_xm_end[];

#define CR4_OSXSAVE (1ULL << 18)

static bool host_ok(void)
{
	uint32_t need = SOFT_HOST_AVX | SOFT_HOST_AVX2 | SOFT_HOST_BMI1 | SOFT_HOST_BMI2 |
			SOFT_HOST_LZCNT | SOFT_HOST_POPCNT;
	if ((soft_host_isa_probe() & need) == need)
		return true;
	print_message("host lacks AVX2, BMI1, BMI2, LZCNT or POPCNT: the translator emits none of these\n");
	return false;
}

/* CR4.OSFXSR and OSXSAVE, XCR0 = x87 | SSE | AVX (XSETBV), and every YMM
 * register different, upper halves included */
void vm_up(struct vm1 *v, bool jit, const uint8_t *code, size_t len)
{
	static const struct vm1_env env = { .cr4 = X86_CR4_OSFXSR | CR4_OSXSAVE, .xcr0 = 7 };
	vm_up_env(v, jit, code, len, &env);
	for (unsigned i = 0; i < 16; i++)
		for (unsigned b = 0; b < 16; b++) {
			((uint8_t *)&v->cpu.xmm[i])[b] = (uint8_t)(i * 17 + b * 5 + 1);
			((uint8_t *)&v->cpu.ymmh[i])[b] = (uint8_t)(i * 13 + b * 3 + 2);
		}
}

static void test_vex_vs_interp(void **state)
{
	(void)state;
	if (!host_ok())
		skip();
	struct vm1 *v[2];
	for (int k = 0; k < 2; k++) {
		v[k] = calloc(1, sizeof(*v[k]));
		vm_up(v[k], k == 1, j_vex, (size_t)(j_vex_end - j_vex));
		uint8_t data[0x400];
		for (unsigned i = 0; i < sizeof(data); i++) /* zeros and repeats for the compares */
			data[i] = (uint8_t)(i % 11 == 0 ? 0 : (i * 7) % 23);
		assert_int_equal(gmem_write(&v[k]->mem, DATA + 0xe00, data, sizeof(data)), 0);
		v[k]->cpu.gpr[GPR_RSI] = DATA + 0xf00; /* 40 rounds of 7: past DATA + 0x1000 */
		v[k]->cpu.gpr[GPR_RDI] = DATA + 0x4000;
		uint64_t done;
		assert_int_equal(soft_cpu_run(&v[k]->cpu, 1u << 30, &done), SOFT_HLT);
	}
	same_state(v[0], v[1]);
	uint8_t m0[48 * 40], m1[48 * 40];
	assert_int_equal(gmem_read(&v[0]->mem, DATA + 0x4000, m0, sizeof(m0)), 0);
	assert_int_equal(gmem_read(&v[1]->mem, DATA + 0x4000, m1, sizeof(m1)), 0);
	assert_memory_equal(m0, m1, sizeof(m0));
	const struct soft_jit_stats *js = &v[1]->cpu.jit->stats;
	/* the loop's 22 VEX forms (VPTEST, VTESTPS/PD too: their flags read
	 * by ADC, CMOVZ, SBB, SETA, CMOVB) and the bit counts as host
	 * instructions, at least once translated */
	assert_true(js->vex >= 22);
	assert_true(js->vex_mem >= 9);
	/* TZCNT r64, m64 and the five BMI memory forms (ANDN BZHI SHLX PEXT
	 * BLSI) through the probe */
	assert_true(js->fast_loads >= 6);
	for (int k = 0; k < 2; k++) {
		vm_down(v[k]);
		free(v[k]);
	}
}

/* j_vex_fault with cr0/cr4 changed and RSI: both tiers fault alike, at
 * the instruction, with the instructions before it retired. */
static void run_fault(uint64_t cr0_or, uint64_t cr4_clear, uint64_t rsi, unsigned want_vector,
		      uint64_t want_rip)
{
	struct vm1 *v[2];
	for (int k = 0; k < 2; k++) {
		v[k] = calloc(1, sizeof(*v[k]));
		vm_up(v[k], k == 1, j_vex_fault, (size_t)(j_vex_fault_end - j_vex_fault));
		v[k]->cpu.cr0 |= cr0_or;
		v[k]->cpu.cr4 &= ~cr4_clear;
		v[k]->cpu.gpr[GPR_RSI] = rsi;
		uint64_t done;
		assert_int_equal(soft_cpu_run(&v[k]->cpu, 1000, &done), SOFT_EXC);
		assert_int_equal(v[k]->cpu.exc.vector, want_vector);
		assert_int_equal(v[k]->cpu.rip, want_rip);
	}
	same_state(v[0], v[1]);
	assert_int_equal(v[1]->cpu.gpr[GPR_RAX], 2); /* the ADD before it retired */
	assert_int_equal(v[1]->cpu.exc.cr2, v[0]->cpu.exc.cr2);
	assert_int_equal(v[1]->cpu.exc.error_code, v[0]->cpu.exc.error_code);
	assert_true(v[1]->cpu.jit->stats.vex >= 2);
	for (int k = 0; k < 2; k++) {
		vm_down(v[k]);
		free(v[k]);
	}
}

static void test_vex_faults(void **state)
{
	(void)state;
	if (!host_ok())
		skip();
	uint64_t vpxor = CODE + 4, vmovdqa = CODE + 8; /* add $2,%rax: 4 bytes; vpxor: 4 */
	run_fault(0, CR4_OSXSAVE, DATA, X86_EXC_UD, vpxor);
	run_fault(X86_CR0_TS, 0, DATA, X86_EXC_NM, vpxor);
	run_fault(0, 0, 0x8000000000ULL, X86_EXC_PF, vmovdqa);     /* not present */
	run_fault(0, 0, DATA + 16, X86_EXC_GP, vmovdqa);           /* misaligned */
}

/* j_vex_fp under one MXCSR, translated against interpreted: registers,
 * all 256 bits of every YMM register, the stored results, and the
 * guest MXCSR's sticky flags. */
static void run_fp(uint32_t mxcsr)
{
	struct vm1 *v[2];
	for (int k = 0; k < 2; k++) {
		v[k] = calloc(1, sizeof(*v[k]));
		vm_up(v[k], k == 1, j_vex_fp, (size_t)(j_vex_fp_end - j_vex_fp));
		uint8_t data[0x400];
		for (unsigned i = 0; i < sizeof(data); i++) /* zeros, denormals, NaNs, inexact values */
			data[i] = (uint8_t)(i % 13 == 0 ? 0 : i % 7 == 0 ? 0x80 : (i * 37) % 251);
		assert_int_equal(gmem_write(&v[k]->mem, DATA + 0xe00, data, sizeof(data)), 0);
		v[k]->cpu.gpr[GPR_RSI] = DATA + 0xe80; /* 30 rounds of 13: past DATA + 0x1000 */
		v[k]->cpu.gpr[GPR_RDI] = DATA + 0x4000;
		v[k]->cpu.mxcsr = mxcsr;
		uint64_t done;
		assert_int_equal(soft_cpu_run(&v[k]->cpu, 1u << 30, &done), SOFT_HLT);
	}
	same_state(v[0], v[1]);
	assert_int_equal(v[0]->cpu.mxcsr, v[1]->cpu.mxcsr);
	uint8_t m0[32 * 30], m1[32 * 30];
	assert_int_equal(gmem_read(&v[0]->mem, DATA + 0x4000, m0, sizeof(m0)), 0);
	assert_int_equal(gmem_read(&v[1]->mem, DATA + 0x4000, m1, sizeof(m1)), 0);
	assert_memory_equal(m0, m1, sizeof(m0));
	/* the 20 forms natively, translated at least once */
	assert_true(v[1]->cpu.jit->stats.vex >= 20);
	for (int k = 0; k < 2; k++) {
		vm_down(v[k]);
		free(v[k]);
	}
}

static void test_vex_fp(void **state)
{
	(void)state;
	if (!host_ok())
		skip();
	run_fp(0x1f80);                 /* the default: nearest, flags clear */
	run_fp(0x1f80 | 0x6000 | 0x3f); /* toward zero, every flag already set */
	run_fp(0x1f80 | 0x2000 | 0x8040); /* down, FZ and DAZ */
	run_fp(0x1f80 | 0x4000);        /* up */
}

/* VDIVPS 0/0 with IM unmasked: #XM at the VDIVPS (CR4.OSXMMEXCPT clear:
 * #UD), in both tiers, the instructions before it retired, its
 * destination unwritten. */
static void run_xm(bool osxmmexcpt)
{
	struct vm1 *v[2];
	for (int k = 0; k < 2; k++) {
		v[k] = calloc(1, sizeof(*v[k]));
		vm_up(v[k], k == 1, j_vex_xm, (size_t)(j_vex_xm_end - j_vex_xm));
		if (osxmmexcpt)
			v[k]->cpu.cr4 |= X86_CR4_OSXMMEXCPT;
		v[k]->cpu.mxcsr = 0x1f80 & ~0x80u;
		uint64_t done;
		assert_int_equal(soft_cpu_run(&v[k]->cpu, 1000, &done), SOFT_EXC);
		assert_int_equal(v[k]->cpu.exc.vector, osxmmexcpt ? X86_EXC_XM : X86_EXC_UD);
		assert_int_equal(v[k]->cpu.rip, CODE + 8); /* add: 4 bytes, vxorps: 4 */
	}
	same_state(v[0], v[1]);
	assert_int_equal(v[0]->cpu.mxcsr, v[1]->cpu.mxcsr);
	assert_int_equal(v[1]->cpu.gpr[GPR_RAX], 2);
	for (int k = 0; k < 2; k++) {
		vm_down(v[k]);
		free(v[k]);
	}
}

static void test_vex_xm(void **state)
{
	(void)state;
	if (!host_ok())
		skip();
	run_xm(true);
	run_xm(false);
}

/* ANDN r64, m64 with RSI not present: #PF at the ANDN in both tiers,
 * the ADD before it retired, RCX and the flags as before it. */
static void test_bmi_fault(void **state)
{
	(void)state;
	if (!host_ok())
		skip();
	struct vm1 *v[2];
	for (int k = 0; k < 2; k++) {
		v[k] = calloc(1, sizeof(*v[k]));
		vm_up(v[k], k == 1, j_bmi_fault, (size_t)(j_bmi_fault_end - j_bmi_fault));
		v[k]->cpu.gpr[GPR_RSI] = 0x8000000000ULL + 0x123;
		v[k]->cpu.gpr[GPR_RCX] = 0x5555;
		uint64_t done;
		assert_int_equal(soft_cpu_run(&v[k]->cpu, 1000, &done), SOFT_EXC);
		assert_int_equal(v[k]->cpu.exc.vector, X86_EXC_PF);
		assert_int_equal(v[k]->cpu.rip, CODE + 4);
	}
	same_state(v[0], v[1]);
	assert_int_equal(v[1]->cpu.gpr[GPR_RAX], 2);
	assert_int_equal(v[1]->cpu.gpr[GPR_RCX], 0x5555);
	assert_int_equal(v[1]->cpu.exc.cr2, 0x8000000123ULL);
	assert_int_equal(v[1]->cpu.exc.cr2, v[0]->cpu.exc.cr2);
	assert_true(v[1]->cpu.jit->stats.translated >= 1);
	for (int k = 0; k < 2; k++) {
		vm_down(v[k]);
		free(v[k]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vex_vs_interp),
		cmocka_unit_test(test_vex_faults),
		cmocka_unit_test(test_bmi_fault),
		cmocka_unit_test(test_vex_fp),
		cmocka_unit_test(test_vex_xm),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
