/* FXSAVE-image conversion of the soft CPU's x87/SSE state: see x87_image.h. */
#include "x87_image.h"

#include <string.h>

void x87_image_put_x87(const struct soft_cpu *cpu, uint8_t *img)
{
	const struct soft_fpu_state *f = &cpu->fpu;
	unsigned top = x87_top(cpu);

	memset(img, 0, 24);
	memcpy(img + FXIMG_FCW, &f->fcw, 2);
	memcpy(img + FXIMG_FSW, &f->fsw, 2);
	img[FXIMG_FTW] = f->ftw;
	uint16_t fop = f->fop & 0x7ff;
	memcpy(img + FXIMG_FOP, &fop, 2);
	memcpy(img + FXIMG_FIP, &f->fip, 8);
	memcpy(img + FXIMG_FDP, &f->fdp, 8);
	for (unsigned i = 0; i < 8; i++) {
		const struct soft_f80 *r = &f->st[(top + i) & 7];
		uint8_t *p = img + FXIMG_ST + 16 * i;
		memset(p, 0, 16);
		memcpy(p, &r->mant, 8);
		memcpy(p + 8, &r->sexp, 2);
	}
}

void x87_image_put_sse(const struct soft_cpu *cpu, uint8_t *img)
{
	uint32_t mask = X87_MXCSR_MASK;
	memcpy(img + FXIMG_MXCSR, &cpu->mxcsr, 4);
	memcpy(img + FXIMG_MXCSR_MASK, &mask, 4);
	memcpy(img + FXIMG_XMM, cpu->xmm, 16 * 16);
}

void x87_image_get_x87(struct soft_cpu *cpu, const uint8_t *img)
{
	struct soft_fpu_state *f = &cpu->fpu;

	memcpy(&f->fcw, img + FXIMG_FCW, 2);
	memcpy(&f->fsw, img + FXIMG_FSW, 2);
	f->ftw = img[FXIMG_FTW];
	memcpy(&f->fop, img + FXIMG_FOP, 2);
	f->fop &= 0x7ff;
	memcpy(&f->fip, img + FXIMG_FIP, 8);
	memcpy(&f->fdp, img + FXIMG_FDP, 8);
	unsigned top = (f->fsw >> 11) & 7;
	for (unsigned i = 0; i < 8; i++) {
		struct soft_f80 *r = &f->st[(top + i) & 7];
		const uint8_t *p = img + FXIMG_ST + 16 * i;
		memcpy(&r->mant, p, 8);
		memcpy(&r->sexp, p + 8, 2);
	}
}

void x87_image_get_xmm(struct soft_cpu *cpu, const uint8_t *img)
{
	memcpy(cpu->xmm, img + FXIMG_XMM, 16 * 16);
}

void x87_state_init(struct soft_cpu *cpu)
{
	struct soft_fpu_state *f = &cpu->fpu;
	f->fcw = 0x037f;
	f->fsw = 0;
	f->ftw = 0;
	f->fop = 0;
	f->fip = 0;
	f->fdp = 0;
	f->fcs = 0;
	f->fds = 0;
	memset(f->st, 0, sizeof(f->st));
}
