/* NMIs in the soft irqchip: the LINT1 pin as its LVT says (NMI, fixed,
 * masked), ICR NMI IPIs (physical destination, the shorthands: "self" is
 * invalid for NMI, SDM vol. 3, 10.6.1 table 10-3), and one NMI latched per
 * vCPU while it blocks NMIs, two while it does not (6.7.1; KVM). */
#include "irq_test.h"

#define APIC_SVR 0xf0
#define APIC_IRR 0x200
#define APIC_ICR 0x300
#define APIC_ICR2 0x310
#define APIC_LINT1 0x360

static void test_lint1(void **state)
{
	struct fx *f = fx_new(2);
	/* power-on BSP: virtual wire, LINT1 = NMI, not masked */
	assert_int_equal(apic_r(f, 0, APIC_LINT1), 0x400);
	soft_irqchip_lint1(f->c, 0);
	assert_true(soft_irqchip_attention(f->c, 0) & SOFT_ATTN_NMI);
	assert_true(soft_irqchip_take_nmi(f->c, 0));
	assert_false(soft_irqchip_take_nmi(f->c, 0));
	/* an AP's LVTs are masked at power-on */
	soft_irqchip_lint1(f->c, 1);
	assert_false(soft_irqchip_take_nmi(f->c, 1));
	/* masked */
	apic_w(f, 0, APIC_SVR, 0x1ff);
	apic_w(f, 0, APIC_LINT1, 0x10400);
	soft_irqchip_lint1(f->c, 0);
	assert_false(soft_irqchip_attention(f->c, 0) & SOFT_ATTN_NMI);
	assert_false(soft_irqchip_take_nmi(f->c, 0));
	/* fixed delivery: the vector goes to the IRR */
	apic_w(f, 0, APIC_LINT1, 0x0041);
	soft_irqchip_lint1(f->c, 0);
	assert_false(soft_irqchip_take_nmi(f->c, 0));
	assert_int_equal(apic_r(f, 0, APIC_IRR + 0x20), 1u << 1);
	/* software disable masks it */
	apic_w(f, 0, APIC_LINT1, 0x0400);
	apic_w(f, 0, APIC_SVR, 0x0ff);
	assert_true(apic_r(f, 0, APIC_LINT1) & 0x10000);
	soft_irqchip_lint1(f->c, 0);
	assert_false(soft_irqchip_take_nmi(f->c, 0));
	/* out-of-range vCPU: ignored */
	soft_irqchip_lint1(f->c, 7);
	fx_free(f);
}

static void test_nmi_ipi(void **state)
{
	struct fx *f = fx_new(3);
	for (unsigned i = 0; i < 3; i++)
		apic_w(f, i, APIC_SVR, 0x1ff);
	/* physical destination, including the sender itself */
	apic_w(f, 0, APIC_ICR2, 0u << 24);
	apic_w(f, 0, APIC_ICR, 0x0400);
	assert_true(soft_irqchip_take_nmi(f->c, 0));
	assert_false(soft_irqchip_take_nmi(f->c, 1));
	/* shorthand self (01): invalid with NMI, nothing delivered */
	apic_w(f, 1, APIC_ICR, 0x40400);
	for (unsigned i = 0; i < 3; i++)
		assert_false(soft_irqchip_take_nmi(f->c, i));
	/* all including self (10) */
	apic_w(f, 1, APIC_ICR, 0x80400);
	for (unsigned i = 0; i < 3; i++)
		assert_true(soft_irqchip_take_nmi(f->c, i));
	/* all excluding self (11) */
	apic_w(f, 1, APIC_ICR, 0xc0400);
	assert_true(soft_irqchip_take_nmi(f->c, 0));
	assert_false(soft_irqchip_take_nmi(f->c, 1));
	assert_true(soft_irqchip_take_nmi(f->c, 2));
	/* several before the engine takes one: two wait (KVM's
	 * process_nmi(); kvm-unit-tests apic.flat "multiple nmi") */
	apic_w(f, 0, APIC_ICR2, 2u << 24);
	apic_w(f, 0, APIC_ICR, 0x0400);
	apic_w(f, 0, APIC_ICR, 0x0400);
	apic_w(f, 0, APIC_ICR, 0x0400);
	soft_irqchip_lint1(f->c, 2);  /* masked on an AP: no effect */
	assert_true(soft_irqchip_take_nmi(f->c, 2));
	assert_true(soft_irqchip_take_nmi(f->c, 2));
	assert_false(soft_irqchip_take_nmi(f->c, 2));
	/* while the vCPU blocks NMIs, one stays latched (6.7.1) */
	apic_w(f, 0, APIC_ICR, 0x0400);
	apic_w(f, 0, APIC_ICR, 0x0400);
	soft_irqchip_nmi_blocked(f->c, 2);
	assert_true(soft_irqchip_attention(f->c, 2) & SOFT_ATTN_NMI);
	assert_true(soft_irqchip_take_nmi(f->c, 2));
	assert_false(soft_irqchip_take_nmi(f->c, 2));
	/* NMI is accepted by a software-disabled APIC (10.4.7.2) */
	apic_w(f, 2, APIC_SVR, 0x0ff);
	apic_w(f, 0, APIC_ICR, 0x0400);
	assert_true(soft_irqchip_take_nmi(f->c, 2));
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lint1),
		cmocka_unit_test(test_nmi_ipi),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
