/* kvm engine: register state round-trips through KVM (regs, sregs, FPU,
 * MSRs), and a state set by hand is what the guest really runs with. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "kvm_harness.h"

static void test_regs_roundtrip(void **state)
{
	struct kh *h = *state;
	struct x86_regs in, out;

	for (int i = 0; i < GPR_COUNT; i++)
		in.gpr[i] = 0x0101010101010101ULL * (uint64_t)(i + 1) + (uint64_t)i;
	in.rip = 0x1234;
	in.rflags = X86_RFLAGS_FIXED | X86_RFLAGS_CF | X86_RFLAGS_ZF | X86_RFLAGS_DF;
	assert_int_equal(engine_kvm_ops.set_regs(&h->vcpu, &in), 0);
	memset(&out, 0, sizeof(out));
	assert_int_equal(engine_kvm_ops.get_regs(&h->vcpu, &out), 0);
	assert_memory_equal(in.gpr, out.gpr, sizeof(in.gpr));
	assert_int_equal(out.rip, in.rip);
	assert_int_equal(out.rflags, in.rflags);
}

/* The GPR order must be the architectural one: the guest sees what we set. */
static void test_regs_reach_guest(void **state)
{
	struct kh *h = *state;
	static const uint8_t code[] = {
		0x89, 0xd8,     /* mov ax, bx */
		0xe7, 0x80,     /* out 0x80, ax */
		0x89, 0xe8,     /* mov ax, bp */
		0xe7, 0x80,
		0x89, 0xf8,     /* mov ax, di */
		0xe7, 0x80,
		0xfa, 0xf4,
	};
	struct x86_regs r;

	kh_load_real(h, code, sizeof(code));
	assert_int_equal(engine_kvm_ops.get_regs(&h->vcpu, &r), 0);
	r.gpr[GPR_RBX] = 0xb0b0;
	r.gpr[GPR_RBP] = 0xbeef;
	r.gpr[GPR_RDI] = 0xd1d1;
	assert_int_equal(engine_kvm_ops.set_regs(&h->vcpu, &r), 0);
	kh_expect_pio(h, 0x80, 2, true);
	assert_int_equal(kh_pio_value(h), 0xb0b0);
	kh_expect_pio(h, 0x80, 2, true);
	assert_int_equal(kh_pio_value(h), 0xbeef);
	kh_expect_pio(h, 0x80, 2, true);
	assert_int_equal(kh_pio_value(h), 0xd1d1);
}

static void assert_seg_equal(const struct x86_segment *a, const struct x86_segment *b)
{
	assert_int_equal(a->base, b->base);
	assert_int_equal(a->limit, b->limit);
	assert_int_equal(a->selector, b->selector);
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->s, b->s);
	assert_int_equal(a->dpl, b->dpl);
	assert_int_equal(a->present, b->present);
	assert_int_equal(a->db, b->db);
	assert_int_equal(a->g, b->g);
	assert_int_equal(a->l, b->l);
}

static void test_sregs_roundtrip(void **state)
{
	struct kh *h = *state;
	struct x86_sregs in, out;

	assert_int_equal(engine_kvm_ops.get_sregs(&h->vcpu, &in), 0);
	/* KVM's reset state: real mode at f000:fff0, APIC enabled at 0xfee00000. */
	assert_int_equal(in.seg[SEG_CS].selector, 0xf000);
	assert_int_equal(in.seg[SEG_CS].base, 0xffff0000);
	assert_int_equal(in.cr0 & X86_CR0_PE, 0);
	assert_int_equal(in.apic_base & ~0xfffULL, LAYOUT_LAPIC);

	/* A 32-bit flat protected-mode state with distinctive tables. */
	for (int i = 0; i < SEG_COUNT; i++)
		in.seg[i] = (struct x86_segment){ .base = 0, .limit = 0xffffffff,
			.selector = 0x18, .type = 3, .s = 1, .present = 1, .db = 1, .g = 1 };
	in.seg[SEG_CS].selector = 0x10;
	in.seg[SEG_CS].type = 0xb;
	in.seg[SEG_FS].base = 0x12340000;
	in.seg[SEG_GS].base = 0x56780000;
	in.gdt = (struct x86_dtable){ .base = LAYOUT_BOOT_GDT, .limit = 0x1f };
	in.idt = (struct x86_dtable){ .base = LAYOUT_BOOT_IDT, .limit = 0x7ff };
	in.tr = (struct x86_segment){ .base = 0x3000, .limit = 0x67, .selector = 0x20,
				      .type = 0xb, .present = 1 };
	in.cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE;
	in.cr3 = 0x9000;
	in.cr4 = X86_CR4_PAE;
	in.efer = 0;
	assert_int_equal(engine_kvm_ops.set_sregs(&h->vcpu, &in), 0);
	memset(&out, 0, sizeof(out));
	assert_int_equal(engine_kvm_ops.get_sregs(&h->vcpu, &out), 0);
	for (int i = 0; i < SEG_COUNT; i++)
		assert_seg_equal(&in.seg[i], &out.seg[i]);
	assert_seg_equal(&in.tr, &out.tr);
	assert_int_equal(out.gdt.base, in.gdt.base);
	assert_int_equal(out.gdt.limit, in.gdt.limit);
	assert_int_equal(out.idt.base, in.idt.base);
	assert_int_equal(out.idt.limit, in.idt.limit);
	assert_int_equal(out.cr0, in.cr0);
	assert_int_equal(out.cr3, in.cr3);
	assert_int_equal(out.cr4, in.cr4);
	assert_int_equal(out.efer, 0);
	/* apic_base 0 in the input means "keep KVM's". */
	assert_int_equal(out.apic_base, in.apic_base);
}

/* Long mode as the 64-bit boot protocol sets it; EFER.LMA is derived. */
static void test_sregs_long_mode(void **state)
{
	struct kh *h = *state;
	struct x86_sregs in, out;

	assert_int_equal(engine_kvm_ops.get_sregs(&h->vcpu, &in), 0);
	for (int i = 0; i < SEG_COUNT; i++)
		in.seg[i] = (struct x86_segment){ .limit = 0xffffffff, .selector = 0x18,
			.type = 3, .s = 1, .present = 1, .db = 1, .g = 1 };
	in.seg[SEG_CS] = (struct x86_segment){ .limit = 0xffffffff, .selector = 0x10,
		.type = 0xb, .s = 1, .present = 1, .l = 1, .g = 1 };
	in.cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE | X86_CR0_PG;
	in.cr3 = LAYOUT_PML4;
	in.cr4 = X86_CR4_PAE;
	in.efer = X86_EFER_LME;
	in.apic_base = 0;
	assert_int_equal(engine_kvm_ops.set_sregs(&h->vcpu, &in), 0);
	assert_int_equal(engine_kvm_ops.get_sregs(&h->vcpu, &out), 0);
	assert_int_equal(out.efer & (X86_EFER_LME | X86_EFER_LMA), X86_EFER_LME | X86_EFER_LMA);
	assert_int_equal(out.seg[SEG_CS].l, 1);
	assert_int_equal(out.cr0, in.cr0);
}

static void test_fpu_roundtrip(void **state)
{
	struct kh *h = *state;
	struct x86_fpu in, out;

	assert_int_equal(engine_kvm_ops.get_fpu(&h->vcpu, &in), 0);
	in.fcw = 0x27f;
	in.mxcsr = 0x1f80 | 0x6000; /* round toward zero */
	for (int i = 0; i < 16; i++)
		memset(in.xmm[i], 0x10 + i, 16);
	memset(in.st[0], 0, 16);
	memcpy(in.st[0], "\x00\x00\x00\x00\x00\x00\x00\x80\xff\x3f", 10); /* 1.0 */
	assert_int_equal(engine_kvm_ops.set_fpu(&h->vcpu, &in), 0);
	memset(&out, 0, sizeof(out));
	assert_int_equal(engine_kvm_ops.get_fpu(&h->vcpu, &out), 0);
	assert_int_equal(out.fcw, in.fcw);
	assert_int_equal(out.mxcsr, in.mxcsr);
	assert_memory_equal(out.xmm, in.xmm, sizeof(in.xmm));
	assert_memory_equal(out.st[0], in.st[0], 10);
}

static void test_msrs_roundtrip(void **state)
{
	struct kh *h = *state;
	struct x86_msr in[] = {
		{ MSR_STAR, 0x0023001000000000ULL },
		{ MSR_LSTAR, 0xffffffff81000000ULL },
		{ MSR_KERNEL_GS_BASE, 0xffff888000001000ULL },
		{ MSR_IA32_CR_PAT, 0x0007040600070406ULL },
	};
	struct x86_msr out[4];

	assert_int_equal(engine_kvm_ops.set_msrs(&h->vcpu, in, 4), 4);
	for (int i = 0; i < 4; i++)
		out[i] = (struct x86_msr){ .index = in[i].index };
	assert_int_equal(engine_kvm_ops.get_msrs(&h->vcpu, out, 4), 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(out[i].value, in[i].value);

	/* vcpu_init's clean start: fast strings on. */
	struct x86_msr misc = { .index = MSR_IA32_MISC_ENABLE };
	assert_int_equal(engine_kvm_ops.get_msrs(&h->vcpu, &misc, 1), 1);
	assert_true(misc.value & 1);
	/* An MSR KVM does not know stops the batch there. */
	struct x86_msr bad[2] = { { MSR_STAR, 0 }, { 0xdeadbeef, 0 } };
	assert_int_equal(engine_kvm_ops.get_msrs(&h->vcpu, bad, 2), 1);
}

/* What the guest's CPUID says, for a 2-vCPU machine, on vCPU 0. */
static void test_cpuid_seen_by_guest(void **state)
{
	struct kh *h = *state;
	static const uint8_t code[] = {
		0x66, 0xb8, 0x01, 0x00, 0x00, 0x00,     /* mov eax, 1 */
		0x0f, 0xa2,                             /* cpuid */
		0x66, 0x89, 0xd8, 0x66, 0xe7, 0x80,     /* out ebx */
		0x66, 0x89, 0xc8, 0x66, 0xe7, 0x80,     /* out ecx */
		0x66, 0xb8, 0x00, 0x00, 0x00, 0x40,     /* mov eax, 0x40000000 */
		0x0f, 0xa2,
		0x66, 0xe7, 0x80,                       /* out eax */
		0x66, 0x89, 0xd8, 0x66, 0xe7, 0x80,     /* out ebx */
		0x66, 0x89, 0xc8, 0x66, 0xe7, 0x80,     /* out ecx */
		0x66, 0x89, 0xd0, 0x66, 0xe7, 0x80,     /* out edx */
		0x66, 0xb8, 0x00, 0x00, 0x00, 0x00,     /* mov eax, 0 */
		0x0f, 0xa2,
		0x66, 0xe7, 0x80,                       /* out eax: max basic leaf */
		0x66, 0xb8, 0x0b, 0x00, 0x00, 0x00,     /* mov eax, 0xb */
		0x66, 0xb9, 0x01, 0x00, 0x00, 0x00,     /* mov ecx, 1 */
		0x0f, 0xa2,
		0x66, 0x89, 0xd8, 0x66, 0xe7, 0x80,     /* out ebx */
		0xfa, 0xf4,
	};
	uint32_t v[8];

	kh_load_real(h, code, sizeof(code));
	for (int i = 0; i < 8; i++) {
		kh_expect_pio(h, 0x80, 4, true);
		v[i] = kh_pio_value(h);
	}
	assert_int_equal(v[0] >> 24, 0);                /* APIC ID of vCPU 0 */
	assert_int_equal((v[0] >> 16) & 0xff, 2);       /* logical processors */
	assert_true(v[1] & (1U << 31));                 /* hypervisor bit */
	assert_int_equal(v[2], 0x40000001);
	assert_memory_equal(&v[3], "KVMKVMKVM\0\0\0", 12);
	if (v[6] >= 0xb)
		assert_int_equal(v[7] & 0xffff, 2);     /* cores at the core level */
}

static int setup2(void **state)
{
	return kh_setup_cpus(state, 2);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test_setup_teardown(test_cpuid_seen_by_guest, setup2, kh_teardown),
	cmocka_unit_test_setup_teardown(test_regs_roundtrip, kh_setup, kh_teardown),
	cmocka_unit_test_setup_teardown(test_regs_reach_guest, kh_setup, kh_teardown),
	cmocka_unit_test_setup_teardown(test_sregs_roundtrip, kh_setup, kh_teardown),
	cmocka_unit_test_setup_teardown(test_sregs_long_mode, kh_setup, kh_teardown),
	cmocka_unit_test_setup_teardown(test_fpu_roundtrip, kh_setup, kh_teardown),
	cmocka_unit_test_setup_teardown(test_msrs_roundtrip, kh_setup, kh_teardown),
};

KH_MAIN(tests)
