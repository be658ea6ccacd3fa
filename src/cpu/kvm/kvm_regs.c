/* Register state: ringvm's x86_state.h structures <-> KVM's. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kvm_priv.h"
#include "ringvm/log.h"
#include "ringvm/vm.h"

static int vcpu_ioctl(struct vcpu *v, unsigned long req, void *arg, const char *name)
{
	struct kvm_vcpu *kv = v->engine_state;
	int r = kvm_ioctl(kv->fd, req, arg);

	if (r < 0)
		pr_err("kvm: %s on vCPU %u failed: %s", name, v->id, strerror(-r));
	return r;
}

int kvm_get_regs(struct vcpu *v, struct x86_regs *r)
{
	struct kvm_regs k;
	int e = vcpu_ioctl(v, KVM_GET_REGS, &k, "KVM_GET_REGS");

	if (e < 0)
		return e;
	r->gpr[GPR_RAX] = k.rax; r->gpr[GPR_RCX] = k.rcx;
	r->gpr[GPR_RDX] = k.rdx; r->gpr[GPR_RBX] = k.rbx;
	r->gpr[GPR_RSP] = k.rsp; r->gpr[GPR_RBP] = k.rbp;
	r->gpr[GPR_RSI] = k.rsi; r->gpr[GPR_RDI] = k.rdi;
	r->gpr[GPR_R8] = k.r8;   r->gpr[GPR_R9] = k.r9;
	r->gpr[GPR_R10] = k.r10; r->gpr[GPR_R11] = k.r11;
	r->gpr[GPR_R12] = k.r12; r->gpr[GPR_R13] = k.r13;
	r->gpr[GPR_R14] = k.r14; r->gpr[GPR_R15] = k.r15;
	r->rip = k.rip;
	r->rflags = k.rflags;
	return 0;
}

int kvm_set_regs(struct vcpu *v, const struct x86_regs *r)
{
	struct kvm_regs k = {
		.rax = r->gpr[GPR_RAX], .rcx = r->gpr[GPR_RCX],
		.rdx = r->gpr[GPR_RDX], .rbx = r->gpr[GPR_RBX],
		.rsp = r->gpr[GPR_RSP], .rbp = r->gpr[GPR_RBP],
		.rsi = r->gpr[GPR_RSI], .rdi = r->gpr[GPR_RDI],
		.r8 = r->gpr[GPR_R8],   .r9 = r->gpr[GPR_R9],
		.r10 = r->gpr[GPR_R10], .r11 = r->gpr[GPR_R11],
		.r12 = r->gpr[GPR_R12], .r13 = r->gpr[GPR_R13],
		.r14 = r->gpr[GPR_R14], .r15 = r->gpr[GPR_R15],
		.rip = r->rip,
		.rflags = r->rflags | X86_RFLAGS_FIXED,
	};
	int e = vcpu_ioctl(v, KVM_SET_REGS, &k, "KVM_SET_REGS");
	return e < 0 ? e : 0;
}

static void seg_from_kvm(struct x86_segment *s, const struct kvm_segment *k)
{
	*s = (struct x86_segment){
		.base = k->base, .limit = k->limit, .selector = k->selector,
		.type = k->type, .s = k->s, .dpl = k->dpl, .present = k->present,
		.avl = k->avl, .l = k->l, .db = k->db, .g = k->g, .unusable = k->unusable,
	};
}

static void seg_to_kvm(struct kvm_segment *k, const struct x86_segment *s)
{
	*k = (struct kvm_segment){
		.base = s->base, .limit = s->limit, .selector = s->selector,
		.type = s->type & 0xf, .s = s->s, .dpl = s->dpl & 3, .present = s->present,
		.avl = s->avl, .l = s->l, .db = s->db, .g = s->g, .unusable = s->unusable,
	};
}

/* enum x86_seg order -> struct kvm_sregs members. */
static struct kvm_segment *kseg(struct kvm_sregs *k, enum x86_seg i)
{
	switch (i) {
	case SEG_ES: return &k->es;
	case SEG_CS: return &k->cs;
	case SEG_SS: return &k->ss;
	case SEG_DS: return &k->ds;
	case SEG_FS: return &k->fs;
	default: return &k->gs;
	}
}

int kvm_get_sregs(struct vcpu *v, struct x86_sregs *s)
{
	struct kvm_sregs k;
	int e = vcpu_ioctl(v, KVM_GET_SREGS, &k, "KVM_GET_SREGS");

	if (e < 0)
		return e;
	for (int i = 0; i < SEG_COUNT; i++)
		seg_from_kvm(&s->seg[i], kseg(&k, (enum x86_seg)i));
	seg_from_kvm(&s->tr, &k.tr);
	seg_from_kvm(&s->ldt, &k.ldt);
	s->gdt = (struct x86_dtable){ .base = k.gdt.base, .limit = k.gdt.limit };
	s->idt = (struct x86_dtable){ .base = k.idt.base, .limit = k.idt.limit };
	s->cr0 = k.cr0; s->cr2 = k.cr2; s->cr3 = k.cr3; s->cr4 = k.cr4; s->cr8 = k.cr8;
	s->efer = k.efer;
	s->apic_base = k.apic_base;
	return 0;
}

/* Read-modify-write so KVM's pending-interrupt bitmap survives; apic_base 0
 * means "leave the APIC as it is"; EFER.LMA is derived (LME && PG), as the
 * hardware does, since KVM rejects inconsistent combinations. */
int kvm_set_sregs(struct vcpu *v, const struct x86_sregs *s)
{
	struct kvm_sregs k;
	int e = vcpu_ioctl(v, KVM_GET_SREGS, &k, "KVM_GET_SREGS");

	if (e < 0)
		return e;
	for (int i = 0; i < SEG_COUNT; i++)
		seg_to_kvm(kseg(&k, (enum x86_seg)i), &s->seg[i]);
	seg_to_kvm(&k.tr, &s->tr);
	seg_to_kvm(&k.ldt, &s->ldt);
	k.gdt.base = s->gdt.base; k.gdt.limit = s->gdt.limit;
	k.idt.base = s->idt.base; k.idt.limit = s->idt.limit;
	k.cr0 = s->cr0; k.cr2 = s->cr2; k.cr3 = s->cr3; k.cr4 = s->cr4; k.cr8 = s->cr8;
	k.efer = s->efer & ~X86_EFER_LMA;
	if ((s->efer & X86_EFER_LME) && (s->cr0 & X86_CR0_PG))
		k.efer |= X86_EFER_LMA;
	if (s->apic_base)
		k.apic_base = s->apic_base;
	e = vcpu_ioctl(v, KVM_SET_SREGS, &k, "KVM_SET_SREGS");
	return e < 0 ? e : 0;
}

/* x87/SSE state.  KVM_GET_FPU/KVM_SET_FPU do not carry MXCSR, so where KVM
 * has XSAVE support the legacy (FXSAVE-layout) area of KVM_GET_XSAVE is used
 * instead; KVM_SET_XSAVE is a read-modify-write that keeps the AVX state. */
#define FX_FCW    0
#define FX_FSW    2
#define FX_FTW    4
#define FX_FOP    6
#define FX_FIP    8
#define FX_FDP    16
#define FX_MXCSR  24
#define FX_ST     32
#define FX_XMM    160
#define XSTATE_BV 512
#define XSTATE_X87_SSE 3ULL

static void fx_get(const uint8_t *fx, struct x86_fpu *f)
{
	memcpy(&f->fcw, fx + FX_FCW, 2);
	memcpy(&f->fsw, fx + FX_FSW, 2);
	f->ftw = fx[FX_FTW];
	memcpy(&f->fop, fx + FX_FOP, 2);
	memcpy(&f->fip, fx + FX_FIP, 8);
	memcpy(&f->fdp, fx + FX_FDP, 8);
	memcpy(&f->mxcsr, fx + FX_MXCSR, 4);
	memcpy(f->st, fx + FX_ST, sizeof(f->st));
	memcpy(f->xmm, fx + FX_XMM, sizeof(f->xmm));
}

static void fx_put(uint8_t *fx, const struct x86_fpu *f)
{
	memcpy(fx + FX_FCW, &f->fcw, 2);
	memcpy(fx + FX_FSW, &f->fsw, 2);
	fx[FX_FTW] = f->ftw;
	memcpy(fx + FX_FOP, &f->fop, 2);
	memcpy(fx + FX_FIP, &f->fip, 8);
	memcpy(fx + FX_FDP, &f->fdp, 8);
	memcpy(fx + FX_MXCSR, &f->mxcsr, 4);
	memcpy(fx + FX_ST, f->st, sizeof(f->st));
	memcpy(fx + FX_XMM, f->xmm, sizeof(f->xmm));
}

int kvm_get_fpu(struct vcpu *v, struct x86_fpu *f)
{
	struct kvm_vcpu *kv = v->engine_state;

	if (kv->kvm->has_xsave) {
		struct kvm_xsave *x = malloc(sizeof(*x));
		if (!x)
			return -ENOMEM;
		int e = vcpu_ioctl(v, KVM_GET_XSAVE, x, "KVM_GET_XSAVE");
		if (e >= 0)
			fx_get((const uint8_t *)x->region, f);
		free(x);
		return e < 0 ? e : 0;
	}
	struct kvm_fpu k;
	int e = vcpu_ioctl(v, KVM_GET_FPU, &k, "KVM_GET_FPU");

	if (e < 0)
		return e;
	f->fcw = k.fcw;
	f->fsw = k.fsw;
	f->ftw = k.ftwx;
	f->fop = k.last_opcode;
	f->fip = k.last_ip;
	f->fdp = k.last_dp;
	f->mxcsr = k.mxcsr;
	memcpy(f->st, k.fpr, sizeof(f->st));
	memcpy(f->xmm, k.xmm, sizeof(f->xmm));
	return 0;
}

int kvm_set_fpu(struct vcpu *v, const struct x86_fpu *f)
{
	struct kvm_vcpu *kv = v->engine_state;

	if (kv->kvm->has_xsave) {
		struct kvm_xsave *x = malloc(sizeof(*x));
		if (!x)
			return -ENOMEM;
		int e = vcpu_ioctl(v, KVM_GET_XSAVE, x, "KVM_GET_XSAVE");
		if (e >= 0) {
			uint8_t *region = (uint8_t *)x->region;
			uint64_t bv;
			fx_put(region, f);
			memcpy(&bv, region + XSTATE_BV, 8);
			bv |= XSTATE_X87_SSE; /* else XRSTOR would load the init state */
			memcpy(region + XSTATE_BV, &bv, 8);
			e = vcpu_ioctl(v, KVM_SET_XSAVE, x, "KVM_SET_XSAVE");
		}
		free(x);
		return e < 0 ? e : 0;
	}
	struct kvm_fpu k;

	memset(&k, 0, sizeof(k));
	k.fcw = f->fcw;
	k.fsw = f->fsw;
	k.ftwx = f->ftw;
	k.last_opcode = f->fop;
	k.last_ip = f->fip;
	k.last_dp = f->fdp;
	k.mxcsr = f->mxcsr;
	memcpy(k.fpr, f->st, sizeof(k.fpr));
	memcpy(k.xmm, f->xmm, sizeof(k.xmm));
	int e = vcpu_ioctl(v, KVM_SET_FPU, &k, "KVM_SET_FPU");
	return e < 0 ? e : 0;
}

static struct kvm_msrs *alloc_msrs(unsigned n)
{
	struct kvm_msrs *m = calloc(1, sizeof(*m) + n * sizeof(m->entries[0]));

	if (m)
		m->nmsrs = n;
	return m;
}

/* KVM_GET_MSRS stops at the first MSR it cannot read; the return value is
 * how many leading entries were processed. */
int kvm_get_msrs(struct vcpu *v, struct x86_msr *msrs, unsigned n)
{
	struct kvm_vcpu *kv = v->engine_state;
	struct kvm_msrs *m = alloc_msrs(n);

	if (!m)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++)
		m->entries[i].index = msrs[i].index;
	int r = kvm_ioctl(kv->fd, KVM_GET_MSRS, m);
	if (r < 0)
		pr_err("kvm: KVM_GET_MSRS (%u MSRs) on vCPU %u failed: %s", n, v->id, strerror(-r));
	for (int i = 0; i < r; i++)
		msrs[i].value = m->entries[i].data;
	free(m);
	return r;
}

int kvm_set_msrs(struct vcpu *v, const struct x86_msr *msrs, unsigned n)
{
	struct kvm_vcpu *kv = v->engine_state;
	struct kvm_msrs *m = alloc_msrs(n);

	if (!m)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		m->entries[i].index = msrs[i].index;
		m->entries[i].data = msrs[i].value;
	}
	int r = kvm_ioctl(kv->fd, KVM_SET_MSRS, m);
	if (r < 0)
		pr_err("kvm: KVM_SET_MSRS (%u MSRs) on vCPU %u failed: %s", n, v->id, strerror(-r));
	for (int i = 0; i < r && i < (int)n; i++)
		if (msrs[i].index == MSR_IA32_TSC)
			kvm_fix_guest_tsc(v, msrs[i].value);
	free(m);
	return r;
}
