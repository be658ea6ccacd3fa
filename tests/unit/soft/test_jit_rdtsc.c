/* RDTSC and RDTSCP in translated code (src/cpu/soft/jit/tscinline.c)
 * against the interpreter: a loop of both, with the flags of a CMP live
 * across them (ADC after), guest registers cached across the call, an
 * IA32_TSC offset with bits above 31 and garbage in the outputs' upper
 * halves (zero-extended), runs natively (no handler calls) and leaves
 * exactly the interpreter's state; CR4.TSD at CPL 3 faults (#GP(0) at the
 * RDTSC) from translated code, at CPL 0 it does not.  The flat memory's
 * TSC counts reads (flatmem.c), so both sides read the same values. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "flat_env.h"
#include "src/cpu/soft/jit/jit.h"

/*   top:
 *     cmp r9, 3        49 83 f9 03     (CF: r9 < 3)
 *     rdtsc            0f 31
 *     adc r10, rax     49 11 c2        (the CMP's CF)
 *     add r11, rdx     49 01 d3
 *     mov rbx, rcx     48 89 cb        (guest RCX cached in the host's)
 *     rdtscp           0f 01 f9
 *     add r12, rcx     49 01 cc
 *     add r13, rax     49 01 c5
 *     xor r14, rdx     49 31 d6
 *     dec r9           49 ff c9
 *     jnz top          75 e0
 *     hlt              f4              (#GP(0) at CPL 3) */
static const uint8_t loop_code[] = {
	0x49, 0x83, 0xf9, 0x03, 0x0f, 0x31, 0x49, 0x11, 0xc2, 0x49, 0x01, 0xd3,
	0x48, 0x89, 0xcb, 0x0f, 0x01, 0xf9, 0x49, 0x01, 0xcc, 0x49, 0x01, 0xc5,
	0x49, 0x31, 0xd6, 0x49, 0xff, 0xc9, 0x75, 0xe0, 0xf4,
};

#define CR4_TSD (1u << 2)

static struct env *start(bool jit, unsigned cpl, bool tsd)
{
	struct env *e = env_new(SOFT_MODE_64, true);
	if (jit) {
		e->c.jit = soft_jit_new(1u << 20, 0);
		assert_non_null(e->c.jit);
	}
	memcpy(e->m.ram + FLAT_ENV_CODE, loop_code, sizeof(loop_code));
	e->m.tsc = 0xfffffff0; /* EDX changes within the loop */
	assert_int_equal(soft_cpu_wrmsr(&e->c, 0x10 /* IA32_TSC */, 0x123456789ab00000ULL), 0);
	e->c.tsc_aux = 0x89abcdefULL;
	e->c.gpr[GPR_RAX] = e->c.gpr[GPR_RDX] = e->c.gpr[GPR_RCX] = ~0ULL;
	e->c.gpr[GPR_R9] = 50;
	if (tsd)
		e->c.cr4 |= CR4_TSD;
	if (cpl) {
		e->c.seg[SEG_CS].dpl = e->c.seg[SEG_SS].dpl = (uint8_t)cpl;
		e->c.cpl = (uint8_t)cpl;
	}
	return e;
}

static void compare(struct env *a, struct env *b, const char *what)
{
	for (unsigned r = 0; r < GPR_COUNT; r++)
		if (a->c.gpr[r] != b->c.gpr[r])
			fail_msg("%s: gpr %u interp %#llx jit %#llx", what, r,
				 (unsigned long long)a->c.gpr[r], (unsigned long long)b->c.gpr[r]);
	assert_int_equal(a->c.rip, b->c.rip);
	assert_int_equal(a->c.icount, b->c.icount);
	assert_int_equal(soft_get_rflags(&a->c), soft_get_rflags(&b->c));
	assert_int_equal(a->m.tsc, b->m.tsc);
}

static void test_rdtsc_loop(void **state)
{
	(void)state;
	static const struct {
		unsigned cpl;
		bool tsd;
	} cases[] = { { 0, false }, { 0, true }, { 3, false } };
	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct env *a = start(false, cases[k].cpl, cases[k].tsd);
		struct env *b = start(true, cases[k].cpl, cases[k].tsd);
		uint64_t da = 0, db = 0;
		/* the HLT ends it: at CPL 3 with its #GP(0) */
		int want = cases[k].cpl ? SOFT_EXC : SOFT_HLT;
		assert_int_equal(soft_cpu_run(&a->c, 100000, &da), want);
		assert_int_equal(soft_cpu_run(&b->c, 100000, &db), want);
		assert_int_equal(da, db);
		compare(a, b, "rdtsc loop");
		assert_int_equal(a->c.gpr[GPR_R9], 0);
		assert_int_equal(a->c.gpr[GPR_RCX], 0x89abcdefULL);
		assert_true(b->c.jit->stats.translated >= 1);
		/* RDTSC and RDTSCP ran in translated code, not as handlers:
		 * the HLT is the only handler call emitted */
		assert_int_equal(b->c.jit->stats.helper_insns, 1);
		env_free(a);
		env_free(b);
	}
}

/* CR4.TSD at CPL 3: #GP(0) at the RDTSC, nothing of it done, after the
 * CMP before it retired (the slow path's handler), in translated code. */
static void test_rdtsc_tsd_fault(void **state)
{
	(void)state;
	struct env *a = start(false, 3, true), *b = start(true, 3, true);
	uint64_t da = 0, db = 0;
	assert_int_equal(soft_cpu_run(&a->c, 100000, &da), SOFT_EXC);
	assert_int_equal(soft_cpu_run(&b->c, 100000, &db), SOFT_EXC);
	assert_int_equal(a->c.exc.vector, X86_EXC_GP);
	assert_int_equal(b->c.exc.vector, X86_EXC_GP);
	assert_int_equal(b->c.exc.error_code, 0);
	assert_int_equal(a->c.rip, FLAT_ENV_CODE + 4);
	assert_int_equal(da, db);
	compare(a, b, "rdtsc #GP");
	assert_int_equal(b->c.gpr[GPR_RAX], ~0ULL);
	assert_true(b->c.jit->stats.translated >= 1);
	env_free(a);
	env_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rdtsc_loop),
		cmocka_unit_test(test_rdtsc_tsd_fault),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
