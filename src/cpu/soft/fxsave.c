/* FXSAVE/FXRSTOR, LDMXCSR/STMXCSR, XSAVE family (x87, SSE, AVX and PKRU
 * components: the guest's XCR0 can enable no more, soft_xcr0_supported).
 *
 * Everything here is plain C on the guest's state and guest memory: the
 * image the guest sees is built from RFBM = XCR0 & EDX:EAX (SDM vol. 1,
 * 13.7-13.10) and nothing depends on the host's XCR0 or XSAVE layout (a
 * host with AVX-512 has a much larger area; the guest never sees it).
 * The only host buffers are FXIMG_SIZE (512-byte legacy area), a 64-byte
 * header, the 256-byte AVX component and the 8-byte PKRU component on the stack, filled and written by
 * offset and size constants.
 *
 * XINUSE (SDM vol. 1, 13.6) is modelled as always set for the components
 * XCR0 enables: the manual allows a processor to report a component as in
 * use while it is in its initial configuration, so XSAVEOPT, XSAVEC and
 * XSAVES never take the init optimisation and XGETBV(ECX=1) returns XCR0. */
#include <string.h>

#include "cpuid.h"
#include "sse_common.h"
#include "sys.h"
#include "x87_image.h"

#define CR4_OSXSAVE (1ULL << 18)
#define XFEATURE_X87 1u
#define XFEATURE_SSE 2u
#define XFEATURE_AVX SOFT_XCR0_AVX
#define XFEATURE_PKRU SOFT_XCR0_PKRU
#define XSAVE_HDR 512
#define XCOMP_BV_COMPACT (1ULL << 63)

/* FXSAVE/FXRSTOR: #NM if CR0.TS or CR0.EM (SDM: "#NM If CR0.TS[bit 3] = 1.
 * If CR0.EM[bit 2] = 1."); 16-byte alignment (#GP). */
static int fx_check(struct soft_cpu *cpu)
{
	if (cpu->cr0 & (X86_CR0_EM | X86_CR0_TS))
		return soft_raise(cpu, X86_EXC_NM, false, 0);
	return SOFT_OK;
}

/* Without REX.W (FXSAVE, not FXSAVE64) FIP/FDP are 32-bit offsets followed
 * by the FCS/FDS selectors. */
static void fx_pointer_format(const struct soft_cpu *cpu, const struct x86_insn *in, uint8_t *img)
{
	if (sse_rexw(in))
		return;
	uint32_t fip = (uint32_t)cpu->fpu.fip, fdp = (uint32_t)cpu->fpu.fdp;
	memcpy(img + FXIMG_FIP, &fip, 4);
	memcpy(img + FXIMG_FIP + 4, &cpu->fpu.fcs, 2);
	memset(img + FXIMG_FIP + 6, 0, 2);
	memcpy(img + FXIMG_FDP, &fdp, 4);
	memcpy(img + FXIMG_FDP + 4, &cpu->fpu.fds, 2);
	memset(img + FXIMG_FDP + 6, 0, 2);
}

int soft_exec_fxsave(struct soft_cpu *cpu, const struct x86_insn *in)
{
	uint8_t img[FXIMG_SIZE];
	int r = fx_check(cpu);
	if (r)
		return r;
	uint64_t la = soft_ea(cpu, in);
	if (la & 15)
		return soft_gp0(cpu);
	memset(img, 0, sizeof(img));
	x87_image_put_x87(cpu, img);
	fx_pointer_format(cpu, in, img);
	x87_image_put_sse(cpu, img);
	/* Bytes 416..511 are reserved / available to software: not written. */
	return soft_write(cpu, la, img, 416);
}

static void fx_load_pointers(struct soft_cpu *cpu, const struct x86_insn *in, const uint8_t *img)
{
	if (sse_rexw(in))
		return;
	uint32_t fip, fdp;
	memcpy(&fip, img + FXIMG_FIP, 4);
	memcpy(&fdp, img + FXIMG_FDP, 4);
	memcpy(&cpu->fpu.fcs, img + FXIMG_FIP + 4, 2);
	memcpy(&cpu->fpu.fds, img + FXIMG_FDP + 4, 2);
	cpu->fpu.fip = fip;
	cpu->fpu.fdp = fdp;
}

int soft_exec_fxrstor(struct soft_cpu *cpu, const struct x86_insn *in)
{
	uint8_t img[FXIMG_SIZE];
	int r = fx_check(cpu);
	if (r)
		return r;
	uint64_t la = soft_ea(cpu, in);
	if (la & 15)
		return soft_gp0(cpu);
	if ((r = soft_read(cpu, la, img, 416)))
		return r;
	uint32_t mxcsr;
	memcpy(&mxcsr, img + FXIMG_MXCSR, 4);
	if (mxcsr & ~X87_MXCSR_MASK)
		return soft_gp0(cpu);
	x87_image_get_x87(cpu, img);
	fx_load_pointers(cpu, in, img);
	cpu->mxcsr = mxcsr;
	x87_image_get_xmm(cpu, img);
	return SOFT_OK;
}

/* LDMXCSR/STMXCSR: the usual SSE #UD/#NM rules; reserved bits -> #GP(0). */
int soft_exec_ldmxcsr(struct soft_cpu *cpu, const struct x86_insn *in)
{
	uint32_t v;
	int r = sse_check(cpu);
	if (r || (r = soft_read(cpu, soft_ea(cpu, in), &v, 4)))
		return r;
	if (v & ~X87_MXCSR_MASK)
		return soft_gp0(cpu);
	cpu->mxcsr = v;
	return SOFT_OK;
}

int soft_exec_stmxcsr(struct soft_cpu *cpu, const struct x86_insn *in)
{
	int r = sse_check(cpu);
	if (r)
		return r;
	return soft_write(cpu, soft_ea(cpu, in), &cpu->mxcsr, 4);
}

/* ---- XSAVE family ---- */

static int xs_check(struct soft_cpu *cpu, const struct x86_insn *in, uint64_t *la)
{
	if (!(cpu->cr4 & CR4_OSXSAVE))
		return soft_raise(cpu, X86_EXC_UD, false, 0);
	if (cpu->cr0 & X86_CR0_TS)
		return soft_raise(cpu, X86_EXC_NM, false, 0);
	*la = soft_ea(cpu, in);
	if (*la & 63)
		return soft_gp0(cpu);
	return SOFT_OK;
}

/* RFBM: the requested-feature bitmap, XCR0 AND EDX:EAX (XCR0 holds only
 * SOFT_XCR0_SUPPORTED bits: XSETBV refuses others). */
static uint64_t xs_rfbm(const struct soft_cpu *cpu)
{
	uint64_t edx_eax = (cpu->gpr[GPR_RDX] << 32) | (cpu->gpr[GPR_RAX] & 0xffffffffu);
	return edx_eax & cpu->xcr0 & soft_xcr0_supported(cpu);
}

/* XINUSE: always set for the enabled components (see the top comment). */
static uint64_t xs_xinuse(const struct soft_cpu *cpu)
{
	return cpu->xcr0 & soft_xcr0_supported(cpu);
}

/* PKRU's offset in an image: 2688 in the standard format; in the compacted
 * format the offset of component 9 is 576 plus the sizes of the components
 * 2..8 present in XCOMP_BV (SDM vol. 1, 13.4.3), of which the model has
 * only AVX (2, 256 bytes).  AVX itself is at 576 in both formats. */
static uint64_t xs_pkru_offset(bool compacted, uint64_t xcomp_bv)
{
	if (!compacted)
		return SOFT_XSAVE_PKRU_OFFSET;
	return SOFT_XSAVE_LEGACY_HDR_SIZE + ((xcomp_bv & XFEATURE_AVX) ? SOFT_XSAVE_AVX_SIZE : 0);
}

/* compact: XSAVEC also writes XCOMP_BV (bit 63 | RFBM) and sets XSTATE_BV
 * to RFBM & XINUSE.  The x87 and SSE components live in the legacy area,
 * at the same place in both formats; PKRU (component 9, 8 bytes: PKRU and
 * 4 zero bytes) is at xs_pkru_offset().  The area is written piecewise in
 * component order, first access first, so a fault hits the same address
 * as on hardware; bytes not saved are left alone.  Only XSTATE_BV (and
 * XCOMP_BV for XSAVEC) of the header is written (SDM vol. 1, 13.7, 13.10). */
static int xs_save(struct soft_cpu *cpu, const struct x86_insn *in, bool compact)
{
	uint64_t la;
	int r = xs_check(cpu, in, &la);
	if (r)
		return r;
	uint64_t rfbm = xs_rfbm(cpu);
	uint8_t img[FXIMG_SIZE];
	memset(img, 0, sizeof(img));
	x87_image_put_x87(cpu, img);
	fx_pointer_format(cpu, in, img);
	x87_image_put_sse(cpu, img);
	if (rfbm & XFEATURE_X87) {
		if ((r = soft_write(cpu, la, img, 24)) ||
		    (r = soft_write(cpu, la + FXIMG_ST, img + FXIMG_ST, 128)))
			return r;
	}
	if (rfbm & XFEATURE_SSE) {
		if ((r = soft_write(cpu, la + FXIMG_MXCSR, img + FXIMG_MXCSR, 8)) ||
		    (r = soft_write(cpu, la + FXIMG_XMM, img + FXIMG_XMM, 256)))
			return r;
	}
	uint8_t hdr[16];
	if ((r = soft_read(cpu, la + XSAVE_HDR, hdr, 8)))
		return r;
	if (rfbm & XFEATURE_AVX) {
		if ((r = soft_write(cpu, la + SOFT_XSAVE_AVX_OFFSET, cpu->ymmh, SOFT_XSAVE_AVX_SIZE)))
			return r;
	}
	if (rfbm & XFEATURE_PKRU) {
		uint8_t pk[SOFT_XSAVE_PKRU_SIZE] = { 0 };
		memcpy(pk, &cpu->pkru, 4);
		if ((r = soft_write(cpu, la + xs_pkru_offset(compact, rfbm), pk, sizeof(pk))))
			return r;
	}
	uint64_t bv;
	memcpy(&bv, hdr, 8);
	uint64_t inuse = rfbm & xs_xinuse(cpu);
	bv = compact ? inuse : ((bv & ~rfbm) | inuse);
	memcpy(hdr, &bv, 8);
	if (compact) {
		uint64_t comp = rfbm | XCOMP_BV_COMPACT;
		memcpy(hdr + 8, &comp, 8);
	}
	return soft_write(cpu, la + XSAVE_HDR, hdr, compact ? 16 : 8);
}

static int xs_restore(struct soft_cpu *cpu, const struct x86_insn *in, bool supervisor)
{
	uint64_t la;
	int r = xs_check(cpu, in, &la);
	if (r)
		return r;
	uint8_t hdr[64];
	if ((r = soft_read(cpu, la + XSAVE_HDR, hdr, 64)))
		return r;
	uint64_t bv, comp;
	memcpy(&bv, hdr, 8);
	memcpy(&comp, hdr + 8, 8);
	bool compacted = comp >> 63;
	if (supervisor && !compacted)
		return soft_gp0(cpu);
	/* "#GP(0) If bit i of XSTATE_BV is 1 and bit i of XCR0 is 0" (standard
	 * form); compacted form: XCOMP_BV[62:0] must be a subset of XCR0 and
	 * XSTATE_BV a subset of XCOMP_BV.  XCR0 holds only supported bits
	 * (x87, SSE, AVX, PKRU), so these also refuse every other component. */
	if (bv & ~cpu->xcr0)
		return soft_gp0(cpu);
	if (compacted) {
		if ((comp & ~XCOMP_BV_COMPACT) & ~cpu->xcr0)
			return soft_gp0(cpu);
		if (bv & ~comp)
			return soft_gp0(cpu);
	} else if (comp) {
		return soft_gp0(cpu);
	}
	/* Header bytes that must be zero: 16..23 in the standard form, 16..63
	 * in the compacted form (measured on the host). */
	for (int i = 16; i < (compacted ? 64 : 24); i++)
		if (hdr[i])
			return soft_gp0(cpu);
	uint64_t rfbm = xs_rfbm(cpu);
	uint8_t img[FXIMG_SIZE];
	if ((r = soft_read(cpu, la, img, 416)))
		return r;
	/* AVX and PKRU are read before any state changes, so a fault on their
	 * bytes leaves the processor state as it was. */
	union soft_xmm ymmh[16];
	bool load_avx = (rfbm & XFEATURE_AVX) && (bv & XFEATURE_AVX);
	if (load_avx && (r = soft_read(cpu, la + SOFT_XSAVE_AVX_OFFSET, ymmh, SOFT_XSAVE_AVX_SIZE)))
		return r;
	bool load_pkru = (rfbm & XFEATURE_PKRU) && (bv & XFEATURE_PKRU);
	uint32_t pkru = 0;
	if (load_pkru && (r = soft_read(cpu, la + xs_pkru_offset(compacted, comp), &pkru, 4)))
		return r;
	uint32_t mxcsr;
	memcpy(&mxcsr, img + FXIMG_MXCSR, 4);
	/* MXCSR is loaded with the SSE component (standard form: whenever
	 * RFBM[1] is set; compacted form: when XSTATE_BV[1] is set too). */
	bool load_mxcsr = (rfbm & XFEATURE_SSE) && (!compacted || (bv & XFEATURE_SSE));
	if (load_mxcsr && (mxcsr & ~X87_MXCSR_MASK))
		return soft_gp0(cpu);
	if (rfbm & XFEATURE_X87) {
		if (bv & XFEATURE_X87) {
			x87_image_get_x87(cpu, img);
			fx_load_pointers(cpu, in, img);
		} else {
			x87_state_init(cpu);
		}
	}
	if (rfbm & XFEATURE_SSE) {
		if (bv & XFEATURE_SSE)
			x87_image_get_xmm(cpu, img);
		else
			memset(cpu->xmm, 0, sizeof(cpu->xmm));
	}
	/* AVX: YMM_Hi128 from the image if XSTATE_BV[2], else its initial
	 * value 0 (SDM vol. 1, 13.8.1) */
	if (rfbm & XFEATURE_AVX) {
		if (load_avx)
			memcpy(cpu->ymmh, ymmh, sizeof(cpu->ymmh));
		else
			memset(cpu->ymmh, 0, sizeof(cpu->ymmh));
	}
	if (load_mxcsr)
		cpu->mxcsr = mxcsr;
	else if (compacted && (rfbm & XFEATURE_SSE))
		cpu->mxcsr = 0x1f80;
	/* PKRU: from the image if XSTATE_BV[9], else its initial value 0
	 * (SDM vol. 1, 13.5.7); a change acts as WRPKRU's does on the TLB. */
	if (rfbm & XFEATURE_PKRU)
		sys_pkru_load(cpu, pkru);
	return SOFT_OK;
}

int soft_exec_xsave(struct soft_cpu *cpu, const struct x86_insn *in) { return xs_save(cpu, in, false); }
int soft_exec_xsaveopt(struct soft_cpu *cpu, const struct x86_insn *in) { return xs_save(cpu, in, false); }
int soft_exec_xsavec(struct soft_cpu *cpu, const struct x86_insn *in) { return xs_save(cpu, in, true); }
int soft_exec_xrstor(struct soft_cpu *cpu, const struct x86_insn *in) { return xs_restore(cpu, in, false); }

/* XSAVES/XRSTORS (SDM vol. 2): "#GP(0) If CPL > 0", "#UD If
 * CPUID.(EAX=0DH,ECX=1):EAX.XSS[bit 3] = 0. If CR4.OSXSAVE[bit 18] = 0";
 * compacted format only (XRSTORS of a standard-format image is #GP(0)).
 * RFBM is (XCR0 | IA32_XSS) & EDX:EAX; IA32_XSS has no bits the model
 * supports (SOFT_XSS_SUPPORTED = 0), so it is XCR0 & EDX:EAX as for XSAVEC,
 * and with XINUSE always set the init and modified optimisations never
 * apply: XSAVES writes what XSAVEC writes. */
static int xs_supervisor_check(struct soft_cpu *cpu)
{
	if (!SOFT_MODEL_XSAVES || !(cpu->cr4 & CR4_OSXSAVE))
		return soft_ud(cpu);
	if (cpu->cpl != 0)
		return soft_gp0(cpu);
	return SOFT_OK;
}

int soft_exec_xsaves(struct soft_cpu *cpu, const struct x86_insn *in)
{
	int r = xs_supervisor_check(cpu);
	if (r)
		return r;
	return xs_save(cpu, in, true);
}

int soft_exec_xrstors(struct soft_cpu *cpu, const struct x86_insn *in)
{
	int r = xs_supervisor_check(cpu);
	if (r)
		return r;
	return xs_restore(cpu, in, true);
}
