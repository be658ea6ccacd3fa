/* Soft CPU ISA extensions: the decoder's VEX general-register rows (BMI1/
 * BMI2: VEX.L, VEX.vvvv, VEX.W by mode, prefixes before VEX), their
 * execution in real/protected/long mode, the CPUID model (leaf 0xD, the
 * feature bits, OSXSAVE following CR4), XSAVE honouring XCR0, XSETBV's
 * rules, XSAVES/XRSTORS and IA32_XSS, PKRU as XSAVE component 9 in both
 * formats, RDRAND's flags and RDPID.  Differential coverage against the host
 * is in tests/diff; these pin down what the host cannot show. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "src/cpu/soft/cpu.h"
#include "src/cpu/soft/cpuid.h"
#include "src/cpu/soft/decode.h"
#include "src/cpu/soft/flatmem.h"
#include "src/cpu/soft/host_isa.h"
#include "flat_env.h"

#define CODE 0x1000
#define DATA 0x20000
#define MEM (1u << 20)
#define CR4_OSXSAVE (1ULL << 18)

/* Run one instruction at CODE; returns the soft_cpu_step status. */
static int step1(struct env *e, const char *bytes, size_t n)
{
	memcpy(e->m.ram + CODE, bytes, n);
	e->c.rip = CODE;
	memset(&e->c.exc, 0, sizeof(e->c.exc));
	return soft_cpu_step(&e->c);
}

static void expect_vec(struct env *e, const char *bytes, size_t n, int vec)
{
	assert_int_equal(step1(e, bytes, n), SOFT_EXC);
	assert_int_equal(e->c.exc.vector, vec);
	assert_int_equal(e->c.rip, CODE); /* a fault: RIP on the instruction */
}

static int dec(const char *bytes, size_t n, enum soft_mode mode, struct x86_insn *in)
{
	return x86_decode((const uint8_t *)bytes, n, mode, in);
}

static void test_vex_decode(void **state)
{
	struct x86_insn in;
	(void)state;
	/* andn eax, ebx, ecx: c4 e2 60 f2 c1 */
	assert_int_equal(dec("\xc4\xe2\x60\xf2\xc1", 5, SOFT_MODE_64, &in), X86_DEC_OK);
	assert_ptr_equal(in.exec, soft_exec_andn);
	assert_int_equal(in.len, 5);
	assert_int_equal(in.opsize, 4);
	assert_int_equal(in.vex_vvvv, GPR_RBX);
	assert_int_equal(in.reg, GPR_RAX);
	assert_int_equal(in.rm, GPR_RCX);
	/* W1: andn rax, rbx, rcx; and with R/B inverted bits clear: r8/r9 */
	assert_int_equal(dec("\xc4\xe2\xe0\xf2\xc1", 5, SOFT_MODE_64, &in), X86_DEC_OK);
	assert_int_equal(in.opsize, 8);
	assert_int_equal(dec("\xc4\x42\x60\xf2\xc1", 5, SOFT_MODE_64, &in), X86_DEC_OK);
	assert_int_equal(in.reg, 8);
	assert_int_equal(in.rm, 9);
	/* 32-bit mode: W1 is ignored (32-bit operands), vvvv[3] is ignored */
	assert_int_equal(dec("\xc4\xe2\xa0\xf2\xc1", 5, SOFT_MODE_32, &in), X86_DEC_OK);
	assert_int_equal(in.opsize, 4);
	assert_int_equal(in.vex_vvvv, GPR_RBX); /* ~0100b = 1011b -> 011b */
	/* VEX.L = 1: #UD */
	assert_int_equal(dec("\xc4\xe2\x64\xf2\xc1", 5, SOFT_MODE_64, &in), X86_DEC_UD);
	/* 66 / F3 / REX / LOCK before VEX: #UD */
	assert_int_equal(dec("\x66\xc4\xe2\x60\xf2\xc1", 6, SOFT_MODE_64, &in), X86_DEC_UD);
	assert_int_equal(dec("\xf3\xc4\xe2\x60\xf2\xc1", 6, SOFT_MODE_64, &in), X86_DEC_UD);
	assert_int_equal(dec("\x41\xc4\xe2\x60\xf2\xc1", 6, SOFT_MODE_64, &in), X86_DEC_UD);
	assert_int_equal(dec("\xf0\xc4\xe2\x60\xf2\xc1", 6, SOFT_MODE_64, &in), X86_DEC_UD);
	/* rorx eax, ecx, 1 (c4 e3 7b f0 c1 01): vvvv unused, 1111b */
	assert_int_equal(dec("\xc4\xe3\x7b\xf0\xc1\x01", 6, SOFT_MODE_64, &in), X86_DEC_OK);
	assert_ptr_equal(in.exec, soft_exec_rorx);
	assert_int_equal(in.imm, 1);
	assert_int_equal(in.len, 6);
	/* ... and with vvvv = 1110b: #UD */
	assert_int_equal(dec("\xc4\xe3\x73\xf0\xc1\x01", 6, SOFT_MODE_64, &in), X86_DEC_UD);
	/* blsr/blsmsk/blsi by ModRM.reg (F3 /1 /2 /3); /0 has no row */
	assert_int_equal(dec("\xc4\xe2\x60\xf3\xc9", 5, SOFT_MODE_64, &in), X86_DEC_OK);
	assert_ptr_equal(in.exec, soft_exec_blsr);
	assert_int_equal(dec("\xc4\xe2\x60\xf3\xd1", 5, SOFT_MODE_64, &in), X86_DEC_OK);
	assert_ptr_equal(in.exec, soft_exec_blsmsk);
	assert_int_equal(dec("\xc4\xe2\x60\xf3\xd9", 5, SOFT_MODE_64, &in), X86_DEC_OK);
	assert_ptr_equal(in.exec, soft_exec_blsi);
	assert_int_equal(dec("\xc4\xe2\x60\xf3\xc1", 5, SOFT_MODE_64, &in), X86_DEC_OK);
	assert_ptr_equal(in.exec, soft_exec_vex); /* executes as #UD */
	/* pp selects: F5 np bzhi, F3 pext, F2 pdep; F7 np bextr, 66 shlx, F3 sarx, F2 shrx */
	assert_int_equal(dec("\xc4\xe2\x60\xf5\xc1", 5, SOFT_MODE_64, &in), X86_DEC_OK);
	assert_ptr_equal(in.exec, soft_exec_bzhi);
	assert_int_equal(dec("\xc4\xe2\x62\xf5\xc1", 5, SOFT_MODE_64, &in), X86_DEC_OK);
	assert_ptr_equal(in.exec, soft_exec_pext);
	assert_int_equal(dec("\xc4\xe2\x63\xf5\xc1", 5, SOFT_MODE_64, &in), X86_DEC_OK);
	assert_ptr_equal(in.exec, soft_exec_pdep);
	assert_int_equal(dec("\xc4\xe2\x63\xf6\xc1", 5, SOFT_MODE_64, &in), X86_DEC_OK);
	assert_ptr_equal(in.exec, soft_exec_mulx);
	assert_int_equal(dec("\xc4\xe2\x61\xf7\xc1", 5, SOFT_MODE_64, &in), X86_DEC_OK);
	assert_ptr_equal(in.exec, soft_exec_shlx);
	assert_int_equal(dec("\xc4\xe2\x62\xf7\xc1", 5, SOFT_MODE_64, &in), X86_DEC_OK);
	assert_ptr_equal(in.exec, soft_exec_sarx);
	/* a memory operand with an SS-relative base: andn eax, ebx, [rbp+8] */
	assert_int_equal(dec("\xc4\xe2\x60\xf2\x45\x08", 6, SOFT_MODE_64, &in), X86_DEC_OK);
	assert_true(in.has_mem);
	assert_int_equal(in.base, GPR_RBP);
	assert_int_equal(in.seg, SEG_SS);
	/* SIMD VEX rows (decode_table_avx.c): vaddps xmm0, xmm0, xmm1 */
	assert_int_equal(dec("\xc5\xf8\x58\xc1", 4, SOFT_MODE_64, &in), X86_DEC_OK);
	assert_ptr_equal(in.exec, soft_exec_vaddps);
	assert_int_equal(in.vex_l, 0);
	/* VEX.W selects: vfmadd231ps / vfmadd231pd ymm0, ymm1, ymm2 */
	assert_int_equal(dec("\xc4\xe2\x75\xb8\xc2", 5, SOFT_MODE_64, &in), X86_DEC_OK);
	assert_ptr_equal(in.exec, soft_exec_vfmadd231ps);
	assert_int_equal(in.vex_l, 1);
	assert_int_equal(dec("\xc4\xe2\xf5\xb8\xc2", 5, SOFT_MODE_64, &in), X86_DEC_OK);
	assert_ptr_equal(in.exec, soft_exec_vfmadd231pd);
	/* W0-only rows: vpermilps with W1 is #UD; vvvv unused but != 1111b too */
	assert_int_equal(dec("\xc4\xe2\xf1\x0c\xc2", 5, SOFT_MODE_64, &in), X86_DEC_UD);
	assert_int_equal(dec("\xc5\xf0\x51\xc1", 4, SOFT_MODE_64, &in), X86_DEC_UD);
	/* gathers want VSIB: vpgatherdd with ModRM.rm != 100b is #UD */
	assert_int_equal(dec("\xc4\xe2\x69\x90\x04\x88", 6, SOFT_MODE_64, &in), X86_DEC_OK);
	assert_ptr_equal(in.exec, soft_exec_vpgatherdd);
	assert_int_equal(dec("\xc4\xe2\x69\x90\x00", 5, SOFT_MODE_64, &in), X86_DEC_UD);
	/* EVEX (AVX-512) keeps the length-only decode */
	assert_int_equal(dec("\x62\xf1\x7c\x48\x58\xc1", 6, SOFT_MODE_64, &in), X86_DEC_OK);
	assert_ptr_equal(in.exec, soft_exec_vex);
}

static void test_vex_exec_modes(void **state)
{
	(void)state;
	/* andn eax, ebx, ecx in 64-bit mode (W0: upper half of RAX cleared) */
	struct env *e = env_new(SOFT_MODE_64, false);
	e->c.gpr[GPR_RAX] = ~0ULL;
	e->c.gpr[GPR_RBX] = 0xffff0000ffff00ffULL;
	e->c.gpr[GPR_RCX] = 0x123456789abcdef0ULL;
	assert_int_equal(step1(e, "\xc4\xe2\x60\xf2\xc1", 5), SOFT_OK);
	assert_int_equal(e->c.gpr[GPR_RAX], 0x9abcde00ULL & ~0xffff00ffULL);
	/* W1: 64-bit */
	assert_int_equal(step1(e, "\xc4\xe2\xe0\xf2\xc1", 5), SOFT_OK);
	assert_int_equal(e->c.gpr[GPR_RAX], ~0xffff0000ffff00ffULL & 0x123456789abcdef0ULL);
	/* mulx with the same destination twice: the high half wins */
	e->c.gpr[GPR_RDX] = 1ULL << 63;
	e->c.gpr[GPR_RCX] = 4;
	/* mulx rax, rax, rcx: c4 e2 fb f6 c1 (vvvv = rax) */
	assert_int_equal(step1(e, "\xc4\xe2\xfb\xf6\xc1", 5), SOFT_OK);
	assert_int_equal(e->c.gpr[GPR_RAX], 2);
	env_free(e);

	/* 32-bit protected mode: runs */
	e = env_new(SOFT_MODE_32, false);
	e->c.gpr[GPR_RBX] = 0xf0;
	e->c.gpr[GPR_RCX] = 0xff;
	assert_int_equal(step1(e, "\xc4\xe2\x60\xf2\xc1", 5), SOFT_OK);
	assert_int_equal(e->c.gpr[GPR_RAX], 0x0f);
	env_free(e);

	/* real mode: "VEX-encoded GPR instructions are not supported in real
	 * and virtual 8086 modes" -> #UD */
	e = env_new(SOFT_MODE_16, false);
	expect_vec(e, "\xc4\xe2\x60\xf2\xc1", 5, X86_EXC_UD);
	env_free(e);
}

static void test_cpuid_model(void **state)
{
	(void)state;
	struct env *e = env_new(SOFT_MODE_64, false);
	struct soft_cpuid_regs r;
	soft_cpuid(&e->c, 0, 0, &r);
	assert_true(r.eax >= 0xd);
	soft_cpuid(&e->c, 1, 0, &r);
	assert_true(r.ecx & (1u << 26));  /* XSAVE */
	assert_false(r.ecx & (1u << 27)); /* OSXSAVE: CR4.OSXSAVE is clear */
	assert_true(r.ecx & (1u << 30));  /* RDRAND */
	e->c.cr4 |= CR4_OSXSAVE;
	soft_cpuid(&e->c, 1, 0, &r);
	assert_true(r.ecx & (1u << 27));
	soft_cpuid(&e->c, 7, 0, &r);
	assert_int_equal(r.ebx & 0xc0108, 0xc0108); /* BMI1 BMI2 RDSEED ADX */
	assert_true(r.ecx & (1u << 22));          /* RDPID */
	assert_true(r.ecx & (1u << 3));           /* PKU, with XSAVE */
	assert_false(r.ecx & (1u << 4));          /* OSPKE: CR4.PKE is clear */
	/* leaf 0xD with XCR0 = 1 (reset): x87|SSE|(AVX)|PKRU supported; EBX =
	 * the standard size for XCR0 (576), ECX = the maximum (2688 + 8) */
	bool avx = (e->c.host_isa & SOFT_HOST_AVX) != 0;
	soft_cpuid(&e->c, 0xd, 0, &r);
	assert_int_equal(r.eax, avx ? 0x207 : 0x203);
	assert_int_equal(r.ebx, 576);
	assert_int_equal(r.ecx, 2696);
	assert_int_equal(r.edx, 0);
	soft_cpuid(&e->c, 0xd, 1, &r);
	assert_int_equal(r.eax, 0xf); /* XSAVEOPT XSAVEC XGETBV1 XSAVES */
	assert_int_equal(r.ebx, 576);
	assert_int_equal(r.ecx | r.edx, 0); /* no IA32_XSS bits */
	/* XCR0 = x87|SSE|PKRU: standard 2696, compacted 576 + 8 */
	e->c.xcr0 = 0x203;
	soft_cpuid(&e->c, 0xd, 0, &r);
	assert_int_equal(r.ebx, 2696);
	assert_int_equal(r.ecx, 2696);
	soft_cpuid(&e->c, 0xd, 1, &r);
	assert_int_equal(r.ebx, 584);
	/* sub-leaf 9 (PKRU): size 8, offset 2688, user, not 64-byte aligned */
	soft_cpuid(&e->c, 0xd, 9, &r);
	assert_int_equal(r.eax, 8);
	assert_int_equal(r.ebx, 2688);
	assert_int_equal(r.ecx, 0);
	assert_int_equal(r.edx, 0);
	/* AVX (component 2): 256 bytes at 576, where the host has AVX */
	soft_cpuid(&e->c, 0xd, 2, &r);
	assert_int_equal(r.eax, avx ? 256 : 0);
	assert_int_equal(r.ebx, avx ? 576 : 0);
	assert_int_equal(r.ecx | r.edx, 0);
	if (avx) {
		e->c.xcr0 = 0x7;
		soft_cpuid(&e->c, 0xd, 0, &r);
		assert_int_equal(r.ebx, 832);
		soft_cpuid(&e->c, 0xd, 1, &r);
		assert_int_equal(r.ebx, 832);
		e->c.xcr0 = 0x207;
		soft_cpuid(&e->c, 0xd, 1, &r);
		assert_int_equal(r.ebx, 840);
		soft_cpuid(&e->c, 1, 0, &r);
		assert_true(r.ecx & (1u << 28)); /* AVX */
	}
	/* a host without AVX: no AVX, AVX2, FMA or F16C bits, no component 2 */
	uint32_t isa = e->c.host_isa;
	e->c.host_isa &= ~(uint32_t)SOFT_HOST_AVX;
	soft_cpuid(&e->c, 1, 0, &r);
	assert_int_equal(r.ecx & ((1u << 28) | (1u << 12) | (1u << 29)), 0);
	soft_cpuid(&e->c, 7, 0, &r);
	assert_false(r.ebx & (1u << 5));
	soft_cpuid(&e->c, 0xd, 0, &r);
	assert_int_equal(r.eax, 0x203);
	soft_cpuid(&e->c, 0xd, 2, &r);
	assert_int_equal(r.eax | r.ebx | r.ecx | r.edx, 0);
	e->c.host_isa = isa;
	e->c.xcr0 = 0x203;
	/* components the model lacks: all zero */
	for (uint32_t sub = 3; sub < 64; sub++) {
		if (sub == 9)
			continue;
		soft_cpuid(&e->c, 0xd, sub, &r);
		assert_int_equal(r.eax | r.ebx | r.ecx | r.edx, 0);
	}
	e->c.cr4 |= 1ULL << 22; /* CR4.PKE */
	soft_cpuid(&e->c, 7, 0, &r);
	assert_true(r.ecx & (1u << 4)); /* OSPKE */
	soft_cpuid(&e->c, 0x80000001u, 0, &r);
	assert_true(r.ecx & (1u << 5));  /* ABM */
	assert_true(r.edx & (1u << 27)); /* RDTSCP */
	env_free(e);
}

static void test_xsave_xcr0(void **state)
{
	(void)state;
	struct env *e = env_new(SOFT_MODE_32, false);
	e->c.cr4 |= CR4_OSXSAVE | X86_CR4_OSFXSR;
	assert_int_equal(e->c.xcr0, 1); /* reset value */
	/* xsetbv: ECX=0, EDX:EAX=3 */
	e->c.gpr[GPR_RCX] = 0;
	e->c.gpr[GPR_RAX] = 3;
	e->c.gpr[GPR_RDX] = 0;
	assert_int_equal(step1(e, "\x0f\x01\xd1", 3), SOFT_OK);
	assert_int_equal(e->c.xcr0, 3);
	/* AVX (bit 2) without SSE: #GP(0) (SDM: XCR0[2:1] = 10b) */
	e->c.gpr[GPR_RAX] = 5;
	expect_vec(e, "\x0f\x01\xd1", 3, X86_EXC_GP);
	assert_int_equal(e->c.xcr0, 3);
	/* AVX where the host has it; on a host without AVX, #GP(0) */
	uint32_t isa = e->c.host_isa;
	e->c.gpr[GPR_RAX] = 7;
	if (isa & SOFT_HOST_AVX) {
		assert_int_equal(step1(e, "\x0f\x01\xd1", 3), SOFT_OK);
		assert_int_equal(e->c.xcr0, 7);
		e->c.xcr0 = 3;
	}
	e->c.host_isa &= ~(uint32_t)SOFT_HOST_AVX;
	expect_vec(e, "\x0f\x01\xd1", 3, X86_EXC_GP);
	assert_int_equal(e->c.xcr0, 3);
	e->c.host_isa = isa;
	/* XCR0 = x87 only; xsave [ebx] with EDX:EAX = 3 saves x87 only */
	e->c.xcr0 = 1;
	memset(e->m.ram + DATA, 0xaa, 1024);
	memset(e->m.ram + DATA + 512, 0, 64);
	e->c.gpr[GPR_RBX] = DATA;
	e->c.gpr[GPR_RAX] = 3;
	e->c.mxcsr = 0x1f80;
	assert_int_equal(step1(e, "\x0f\xae\x23", 3), SOFT_OK);
	uint64_t bv;
	uint32_t mx;
	memcpy(&bv, e->m.ram + DATA + 512, 8);
	memcpy(&mx, e->m.ram + DATA + 24, 4);
	assert_int_equal(bv, 1);
	assert_int_equal(mx, 0xaaaaaaaa); /* MXCSR not saved: RFBM[1] = 0 */
	assert_int_equal(e->m.ram[DATA] | e->m.ram[DATA + 1] << 8, 0x37f);
	/* xsavec [ebx] with XCR0 = 3: XCOMP_BV = bit 63 | RFBM, XSTATE_BV = RFBM */
	e->c.xcr0 = 3;
	memset(e->m.ram + DATA, 0xaa, 1024);
	assert_int_equal(step1(e, "\x0f\xc7\x23", 3), SOFT_OK);
	uint64_t comp;
	memcpy(&bv, e->m.ram + DATA + 512, 8);
	memcpy(&comp, e->m.ram + DATA + 520, 8);
	assert_int_equal(bv, 3);
	assert_int_equal(comp, 0x8000000000000003ULL);
	/* xrstor of that image with XCR0 = 1: XSTATE_BV[1] not in XCR0 -> #GP */
	e->c.xcr0 = 1;
	expect_vec(e, "\x0f\xae\x2b", 3, X86_EXC_GP);
	/* XGETBV(1) = XCR0 & XINUSE = XCR0 */
	e->c.gpr[GPR_RCX] = 1;
	assert_int_equal(step1(e, "\x0f\x01\xd0", 3), SOFT_OK);
	assert_int_equal(e->c.gpr[GPR_RAX], 1);
	/* XSAVES at CPL 0: compacted, RFBM = (XCR0 | IA32_XSS) & EDX:EAX = 1;
	 * like XSAVEC it writes XSTATE_BV and XCOMP_BV only, so the header's
	 * other bytes, which XRSTORS wants zero, are cleared first */
	memset(e->m.ram + DATA, 0xaa, 1024);
	memset(e->m.ram + DATA + 512, 0, 64);
	e->c.gpr[GPR_RAX] = 3;
	assert_int_equal(step1(e, "\x0f\xc7\x2b", 3), SOFT_OK);
	memcpy(&bv, e->m.ram + DATA + 512, 8);
	memcpy(&comp, e->m.ram + DATA + 520, 8);
	assert_int_equal(bv, 1);
	assert_int_equal(comp, 0x8000000000000001ULL);
	assert_int_equal(e->m.ram[DATA + 160], 0xaa); /* XMM area not written */
	/* XRSTORS of that image: fine; of a standard-format image: #GP */
	assert_int_equal(step1(e, "\x0f\xc7\x1b", 3), SOFT_OK);
	memset(e->m.ram + DATA + 512, 0, 64);
	expect_vec(e, "\x0f\xc7\x1b", 3, X86_EXC_GP);
	/* IA32_XSS: no supervisor components, only 0 is accepted */
	uint64_t xss = 1;
	assert_int_equal(soft_cpu_rdmsr(&e->c, 0xda0, &xss), 0);
	assert_int_equal(xss, 0);
	assert_int_equal(soft_cpu_wrmsr(&e->c, 0xda0, 0), 0);
	assert_int_equal(soft_cpu_wrmsr(&e->c, 0xda0, 1ULL << 8), -1);
	/* XSAVES at CPL 3: #GP(0); without CR4.OSXSAVE: #UD */
	e->c.cpl = 3;
	expect_vec(e, "\x0f\xc7\x2b", 3, X86_EXC_GP);
	e->c.cpl = 0;
	e->c.cr4 &= ~CR4_OSXSAVE;
	expect_vec(e, "\x0f\xc7\x2b", 3, X86_EXC_UD);
	e->c.cr4 |= CR4_OSXSAVE;
	/* INIT (soft_cpu_reset) leaves XCR0 alone; a new vCPU starts with 1 */
	e->c.xcr0 = 3;
	soft_cpu_reset(&e->c);
	assert_int_equal(e->c.xcr0, 3);
	env_free(e);
}

static uint64_t ram64(const struct env *e, uint64_t a)
{
	uint64_t v;
	memcpy(&v, e->m.ram + a, 8);
	return v;
}

/* PKRU, XSAVE state component 9 (SDM vol. 1, 13.5.7): XSETBV accepts XCR0
 * bit 9; XSAVE/XSAVEOPT store it at 2688, XSAVEC/XSAVES at 576 (no
 * components 2..8); XRSTOR/XRSTORS load it when XSTATE_BV[9], else PKRU =
 * 0; RFBM[9] = 0 leaves both the image and PKRU alone. */
/* AVX state (component 2, where the host has AVX): XSAVE writes the upper
 * halves of YMM0-15 at 576; XSAVEC puts PKRU after them (832); XRSTOR with
 * XSTATE_BV[2] = 0 zeroes them; a VEX.128 write zeroes its register's upper
 * half, a legacy SSE one does not. */
static void test_xsave_avx(void **state)
{
	(void)state;
	struct env *e = env_new(SOFT_MODE_64, false);
	if (!(e->c.host_isa & SOFT_HOST_AVX)) {
		env_free(e);
		skip();
	}
	e->c.cr4 |= CR4_OSXSAVE | X86_CR4_OSFXSR;
	e->c.xcr0 = 0x207;
	e->c.pkru = 0x55;
	for (unsigned i = 0; i < 16; i++)
		memset(&e->c.ymmh[i], 0x10 + (int)i, 16);
	memset(e->m.ram + DATA, 0xaa, 2048);
	memset(e->m.ram + DATA + 512, 0, 64);
	e->c.gpr[GPR_RBX] = DATA;
	e->c.gpr[GPR_RAX] = 0x207;
	e->c.gpr[GPR_RDX] = 0;
	assert_int_equal(step1(e, "\x0f\xae\x23", 3), SOFT_OK); /* xsave [rbx] */
	uint64_t bv;
	memcpy(&bv, e->m.ram + DATA + 512, 8);
	assert_int_equal(bv, 0x207);
	for (unsigned i = 0; i < 16; i++)
		assert_int_equal(e->m.ram[DATA + 576 + 16 * i + 15], 0x10 + i);
	assert_int_equal(e->m.ram[DATA + 832], 0xaa); /* standard format: PKRU at 2688 */
	/* xsavec [rbx]: AVX at 576, PKRU right after it at 832 */
	memset(e->m.ram + DATA, 0xaa, 2048);
	assert_int_equal(step1(e, "\x0f\xc7\x23", 3), SOFT_OK);
	assert_int_equal(e->m.ram[DATA + 576], 0x10);
	assert_int_equal(e->m.ram[DATA + 832], 0x55);
	/* xrstor [rbx] of a standard image whose XSTATE_BV[2] = 0: upper halves 0 */
	memset(e->m.ram + DATA, 0, 1024);
	memcpy(e->m.ram + DATA + 24, "\x80\x1f\x00\x00", 4);
	bv = 3;
	memcpy(e->m.ram + DATA + 512, &bv, 8);
	assert_int_equal(step1(e, "\x0f\xae\x2b", 3), SOFT_OK);
	for (unsigned i = 0; i < 16; i++)
		assert_int_equal(e->c.ymmh[i].q[0] | e->c.ymmh[i].q[1], 0);
	/* legacy ADDPS xmm1, xmm2 keeps YMM1[255:128]; VADDPS xmm1, xmm1, xmm2 zeroes it */
	e->c.xcr0 = 7;
	memset(&e->c.ymmh[1], 0x77, 16);
	assert_int_equal(step1(e, "\x0f\x58\xca", 3), SOFT_OK);
	assert_int_equal(e->c.ymmh[1].q[0], 0x7777777777777777ULL);
	assert_int_equal(step1(e, "\xc5\xf0\x58\xca", 4), SOFT_OK);
	assert_int_equal(e->c.ymmh[1].q[0] | e->c.ymmh[1].q[1], 0);
	/* VADDPS ymm1, ymm1, ymm2 computes the upper half: 1.0 + 2.0 = 3.0 */
	for (unsigned i = 0; i < 4; i++) {
		e->c.ymmh[1].d[i] = 0x3f800000u;
		e->c.ymmh[2].d[i] = 0x40000000u;
	}
	assert_int_equal(step1(e, "\xc5\xf4\x58\xca", 4), SOFT_OK);
	assert_int_equal(e->c.ymmh[1].d[3], 0x40400000u);
	/* XCR0 without AVX: #UD */
	e->c.xcr0 = 3;
	expect_vec(e, "\xc5\xf4\x58\xca", 4, X86_EXC_UD);
	env_free(e);
}

static void test_xsave_pkru(void **state)
{
	(void)state;
	struct env *e = env_new(SOFT_MODE_64, false);
	e->c.cr4 |= CR4_OSXSAVE | X86_CR4_OSFXSR;
	/* xsetbv: bit 9 accepted with x87 (and SSE); never without bit 0, and
	 * bit 10 is reserved */
	e->c.gpr[GPR_RCX] = 0;
	e->c.gpr[GPR_RDX] = 0;
	e->c.gpr[GPR_RAX] = 0x201;
	assert_int_equal(step1(e, "\x0f\x01\xd1", 3), SOFT_OK);
	assert_int_equal(e->c.xcr0, 0x201);
	e->c.gpr[GPR_RAX] = 0x200;
	expect_vec(e, "\x0f\x01\xd1", 3, X86_EXC_GP);
	e->c.gpr[GPR_RAX] = 0x603;
	expect_vec(e, "\x0f\x01\xd1", 3, X86_EXC_GP);
	assert_int_equal(e->c.xcr0, 0x201);
	e->c.gpr[GPR_RAX] = 0x203;
	assert_int_equal(step1(e, "\x0f\x01\xd1", 3), SOFT_OK);
	assert_int_equal(e->c.xcr0, 0x203);
	/* XGETBV(1) = XCR0 & XINUSE = 0x203 */
	e->c.gpr[GPR_RCX] = 1;
	assert_int_equal(step1(e, "\x0f\x01\xd0", 3), SOFT_OK);
	assert_int_equal(e->c.gpr[GPR_RAX], 0x203);

	/* xsave [rbx], RFBM = 0x203: PKRU and 4 zero bytes at 2688 */
	e->c.pkru = 0x12345678;
	memset(e->m.ram + DATA, 0xaa, 4096);
	memset(e->m.ram + DATA + 512, 0, 64);
	e->c.gpr[GPR_RBX] = DATA;
	e->c.gpr[GPR_RAX] = 0x203;
	assert_int_equal(step1(e, "\x0f\xae\x23", 3), SOFT_OK);
	assert_int_equal(ram64(e, DATA + 512), 0x203);
	assert_int_equal(ram64(e, DATA + 2688), 0x12345678);
	assert_int_equal(e->m.ram[DATA + 2696], 0xaa);
	assert_int_equal(e->m.ram[DATA + 2687], 0xaa);
	/* xrstor of it restores PKRU */
	e->c.pkru = 0;
	assert_int_equal(step1(e, "\x0f\xae\x2b", 3), SOFT_OK);
	assert_int_equal(e->c.pkru, 0x12345678);
	/* RFBM[9] = 0 (EAX = 3): xsave leaves the PKRU bytes, xrstor PKRU */
	e->m.ram[DATA + 2688] = 0x55;
	e->c.gpr[GPR_RAX] = 3;
	assert_int_equal(step1(e, "\x0f\xae\x23", 3), SOFT_OK);
	assert_int_equal(e->m.ram[DATA + 2688], 0x55);
	assert_int_equal(ram64(e, DATA + 512), 0x203); /* XSTATE_BV[9] kept */
	e->c.pkru = 7;
	assert_int_equal(step1(e, "\x0f\xae\x2b", 3), SOFT_OK);
	assert_int_equal(e->c.pkru, 7);
	/* XSTATE_BV[9] = 0 with RFBM[9] = 1: PKRU takes its initial value 0 */
	e->c.gpr[GPR_RAX] = 0x203;
	e->m.ram[DATA + 513] = 0;
	assert_int_equal(step1(e, "\x0f\xae\x2b", 3), SOFT_OK);
	assert_int_equal(e->c.pkru, 0);
	/* xsaveopt: the same image as xsave */
	e->c.pkru = 0xcafe0001;
	assert_int_equal(step1(e, "\x0f\xae\x33", 3), SOFT_OK);
	assert_int_equal(ram64(e, DATA + 2688), 0xcafe0001);
	assert_int_equal(ram64(e, DATA + 512), 0x203);

	/* xsavec [rbx]: compacted, PKRU right after the header at 576 */
	memset(e->m.ram + DATA, 0xaa, 4096);
	e->c.pkru = 0x87654321;
	assert_int_equal(step1(e, "\x0f\xc7\x23", 3), SOFT_OK);
	assert_int_equal(ram64(e, DATA + 512), 0x203);
	assert_int_equal(ram64(e, DATA + 520), 0x8000000000000203ULL);
	assert_int_equal(ram64(e, DATA + 576), 0x87654321);
	assert_int_equal(e->m.ram[DATA + 584], 0xaa);
	assert_int_equal(e->m.ram[DATA + 2688], 0xaa);
	/* xrstor of the compacted image (header bytes 16..63 must be zero) */
	memset(e->m.ram + DATA + 528, 0, 48);
	e->c.pkru = 0;
	assert_int_equal(step1(e, "\x0f\xae\x2b", 3), SOFT_OK);
	assert_int_equal(e->c.pkru, 0x87654321);
	/* xrstors too; XSTATE_BV[9] = 0 there: init */
	e->c.pkru = 0;
	assert_int_equal(step1(e, "\x0f\xc7\x1b", 3), SOFT_OK);
	assert_int_equal(e->c.pkru, 0x87654321);
	e->m.ram[DATA + 513] = 0;
	assert_int_equal(step1(e, "\x0f\xc7\x1b", 3), SOFT_OK);
	assert_int_equal(e->c.pkru, 0);
	/* XSTATE_BV[9] without XCOMP_BV[9]: #GP(0) */
	e->m.ram[DATA + 513] = 2;
	e->m.ram[DATA + 521] = 0;
	expect_vec(e, "\x0f\xae\x2b", 3, X86_EXC_GP);
	/* xsaves: the XSAVEC image (IA32_XSS = 0) */
	memset(e->m.ram + DATA, 0xaa, 4096);
	e->c.pkru = 0x0c;
	assert_int_equal(step1(e, "\x0f\xc7\x2b", 3), SOFT_OK);
	assert_int_equal(ram64(e, DATA + 576), 0x0c);
	assert_int_equal(ram64(e, DATA + 520), 0x8000000000000203ULL);

	/* XSTATE_BV[9] with XCR0[9] = 0: #GP(0) */
	memset(e->m.ram + DATA + 512, 0, 64);
	e->m.ram[DATA + 513] = 2;
	e->c.xcr0 = 3;
	expect_vec(e, "\x0f\xae\x2b", 3, X86_EXC_GP);
	e->c.xcr0 = 0x203;

	/* The whole area is checked: an area whose PKRU bytes lie past the end
	 * of memory faults, and XRSTOR then changes no state */
	uint64_t top = MEM - 1024;
	memset(e->m.ram + top, 0, 1024);
	e->m.ram[top + 512] = 3;
	e->m.ram[top + 513] = 2;
	e->m.ram[top + 24] = 0x80; /* MXCSR 0x1f80 */
	e->m.ram[top + 25] = 0x1f;
	e->c.gpr[GPR_RBX] = top;
	e->c.xmm[0].b[0] = 0x5a;
	e->c.pkru = 0x44;
	expect_vec(e, "\x0f\xae\x2b", 3, X86_EXC_PF);
	assert_int_equal(e->c.exc.cr2, top + 2688);
	assert_int_equal(e->c.pkru, 0x44);
	assert_int_equal(e->c.xmm[0].b[0], 0x5a);
	/* without RFBM[9] it fits */
	e->c.gpr[GPR_RAX] = 3;
	assert_int_equal(step1(e, "\x0f\xae\x2b", 3), SOFT_OK);
	assert_int_equal(e->c.xmm[0].b[0], 0);
	assert_int_equal(e->c.pkru, 0x44);
	/* xsave there with RFBM[9]: #PF on the PKRU bytes */
	e->c.gpr[GPR_RAX] = 0x203;
	expect_vec(e, "\x0f\xae\x23", 3, X86_EXC_PF);
	assert_int_equal(e->c.exc.cr2, top + 2688);
	env_free(e);
}

static void test_rand_rdpid(void **state)
{
	(void)state;
	struct env *e = env_new(SOFT_MODE_64, false);
	e->c.rflags |= X86_RFLAGS_OF | X86_RFLAGS_SF | X86_RFLAGS_ZF | X86_RFLAGS_AF | X86_RFLAGS_PF;
	e->c.gpr[GPR_RAX] = ~0ULL;
	/* rdrand eax (0f c7 f0): a 32-bit write clears the upper half; OF SF ZF
	 * AF PF = 0, CF = success (the host's entropy is there in a test) */
	unsigned ok = 0;
	for (int i = 0; i < 10 && !ok; i++) {
		assert_int_equal(step1(e, "\x0f\xc7\xf0", 3), SOFT_OK);
		uint64_t f = soft_get_rflags(&e->c);
		assert_int_equal(f & (X86_RFLAGS_OF | X86_RFLAGS_SF | X86_RFLAGS_ZF | X86_RFLAGS_AF |
				      X86_RFLAGS_PF), 0);
		ok = f & X86_RFLAGS_CF;
		assert_int_equal(e->c.gpr[GPR_RAX] >> 32, 0);
	}
	assert_true(ok);
	/* rdseed ax (66 0f c7 f8): the upper 48 bits stay */
	e->c.gpr[GPR_RAX] = 0x1122334455660000ULL;
	assert_int_equal(step1(e, "\x66\x0f\xc7\xf8", 4), SOFT_OK);
	assert_int_equal(e->c.gpr[GPR_RAX] >> 16, 0x112233445566ULL);
	/* rdpid rax (f3 0f c7 f8): IA32_TSC_AUX, 64-bit destination */
	e->c.tsc_aux = 0xdeadbeef;
	e->c.gpr[GPR_RAX] = ~0ULL;
	assert_int_equal(step1(e, "\xf3\x0f\xc7\xf8", 4), SOFT_OK);
	assert_int_equal(e->c.gpr[GPR_RAX], 0xdeadbeefULL);
	env_free(e);
}

/* ADCX in 16-bit code: 66 is the mandatory prefix, the operands are 32-bit
 * (there is no 16-bit form) */
static void test_adx_16bit(void **state)
{
	(void)state;
	struct env *e = env_new(SOFT_MODE_16, false);
	e->c.gpr[GPR_RAX] = 0xffffffffu;
	e->c.gpr[GPR_RCX] = 1;
	e->c.rflags &= ~X86_RFLAGS_CF;
	e->c.rflags |= X86_RFLAGS_ZF; /* "all other flags are unchanged" */
	assert_int_equal(step1(e, "\x66\x0f\x38\xf6\xc1", 5), SOFT_OK);
	assert_int_equal(e->c.gpr[GPR_RAX] & 0xffffffffu, 0);
	uint64_t f = soft_get_rflags(&e->c);
	assert_true(f & X86_RFLAGS_CF);
	assert_true(f & X86_RFLAGS_ZF);
	env_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vex_decode),
		cmocka_unit_test(test_vex_exec_modes),
		cmocka_unit_test(test_cpuid_model),
		cmocka_unit_test(test_xsave_xcr0),
		cmocka_unit_test(test_xsave_pkru),
		cmocka_unit_test(test_xsave_avx),
		cmocka_unit_test(test_rand_rdpid),
		cmocka_unit_test(test_adx_16bit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
