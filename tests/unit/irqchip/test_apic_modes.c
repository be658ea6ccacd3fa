/* The LAPIC's architectural corners: global disable and re-enable through
 * IA32_APIC_BASE (SDM vol. 3, 10.4.3, 10.4.7.1), the xAPIC/x2APIC state
 * transitions (10.12.5), the APIC ID formats, reserved-bit #GP on x2APIC
 * MSR writes (10.12.1.3) and relocation of the xAPIC page. */
#include <errno.h>

#include "irq_test.h"

#define APIC_ID 0x20
#define APIC_VER 0x30
#define APIC_TPR 0x80
#define APIC_LDR 0xd0
#define APIC_DFR 0xe0
#define APIC_SVR 0xf0
#define APIC_IRR 0x200
#define APIC_ICR 0x300
#define APIC_ICR2 0x310
#define APIC_LVTT 0x320
#define APIC_LINT0 0x350
#define APIC_LINT1 0x360
#define APIC_TMICT 0x380

static uint64_t base_of(struct fx *f, unsigned cpu)
{
	uint64_t v = 0;
	assert_int_equal(soft_irqchip_rdmsr(f->c, cpu, MSR_IA32_APICBASE, &v), 0);
	return v;
}

static int wrbase(struct fx *f, unsigned cpu, uint64_t v)
{
	return soft_irqchip_wrmsr(f->c, cpu, MSR_IA32_APICBASE, v);
}

static uint64_t x2r(struct fx *f, unsigned cpu, uint32_t msr)
{
	uint64_t v = 0;
	assert_int_equal(soft_irqchip_rdmsr(f->c, cpu, msr, &v), 0);
	return v;
}

/* Disable clears the APIC to its power-up state; re-enable is xAPIC mode. */
static void test_global_disable_resets(void **state)
{
	(void)state;
	struct fx *f = fx_new(2);
	outb(f, 0x21, 0xff);    /* PIC masked: nothing reaches the BSP's INTR pin */
	outb(f, 0xa1, 0xff);
	apic_w(f, 0, APIC_SVR, 0x1ff);
	apic_w(f, 0, APIC_TPR, 0x20);
	apic_w(f, 0, APIC_ID, 0x07000000);
	apic_w(f, 0, APIC_LDR, 0x01000000);
	apic_w(f, 0, APIC_DFR, 0x0fffffff);
	apic_w(f, 0, APIC_LVTT, 0x40);
	apic_w(f, 0, APIC_TMICT, 1000000);
	apic_w(f, 0, APIC_ICR, 0x40051);                 /* self IPI, vector 0x51 */
	assert_int_equal(soft_irqchip_pending(f->c, 0, true), 0x51);
	assert_int_equal(apic_r(f, 0, APIC_ID), 0x07000000);

	assert_int_equal(wrbase(f, 0, 0xfee00100), 0);   /* EN = 0, BSP kept */
	assert_int_equal(base_of(f, 0), 0xfee00100);
	assert_true(soft_irqchip_lapic_disabled(f->c, 0));
	assert_false(soft_irqchip_lapic_disabled(f->c, 1));
	assert_int_equal(soft_irqchip_lapic_mmio_base(f->c, 0), UINT64_MAX);
	assert_int_equal(soft_irqchip_pending(f->c, 0, true), -1);
	/* a disabled APIC accepts no IPI (here: fixed, to APIC ID 0) */
	apic_w(f, 1, APIC_SVR, 0x1ff);
	apic_w(f, 1, APIC_ICR2, 0);
	apic_w(f, 1, APIC_ICR, 0x52);
	assert_int_equal(soft_irqchip_pending(f->c, 0, true), -1);
	/* x2APIC MSRs #GP while disabled */
	uint64_t v;
	assert_int_equal(soft_irqchip_rdmsr(f->c, 0, 0x803, &v), -EINVAL);

	assert_int_equal(wrbase(f, 0, 0xfee00900), 0);   /* re-enabled: xAPIC */
	assert_int_equal(base_of(f, 0), 0xfee00900);
	assert_int_equal(soft_irqchip_lapic_mmio_base(f->c, 0), 0xfee00000);
	assert_int_equal(apic_r(f, 0, APIC_ID), 0);      /* the hardware-assigned ID */
	assert_int_equal(apic_r(f, 0, APIC_VER), SOFT_LAPIC_VERSION);
	assert_int_equal(apic_r(f, 0, APIC_SVR), 0xff);  /* software-disabled */
	assert_int_equal(apic_r(f, 0, APIC_TPR), 0);
	assert_int_equal(apic_r(f, 0, APIC_LDR), 0);
	assert_int_equal(apic_r(f, 0, APIC_DFR), 0xffffffff);
	assert_int_equal(apic_r(f, 0, APIC_LVTT), 0x10000);
	assert_int_equal(apic_r(f, 0, APIC_LINT0), 0x10000);
	assert_int_equal(apic_r(f, 0, APIC_LINT1), 0x10000);
	assert_int_equal(apic_r(f, 0, APIC_TMICT), 0);
	assert_int_equal(apic_r(f, 0, APIC_IRR + 0x20), 0); /* vectors 0x40-0x5f */
	assert_int_equal(soft_irqchip_pending(f->c, 0, true), -1);
	assert_int_equal(soft_irqchip_next_deadline_ns(f->c, 0), SOFT_NO_DEADLINE);
	fx_free(f);
}

/* 10.12.5: the transitions IA32_APIC_BASE allows, and the ID formats. */
static void test_mode_transitions(void **state)
{
	(void)state;
	struct fx *f = fx_new(2);
	const unsigned cpu = 1;
	assert_int_equal(base_of(f, cpu), 0xfee00800);
	assert_int_equal(apic_r(f, cpu, APIC_ID), 1u << 24);       /* xAPIC: ID in 31:24 */
	assert_int_equal(wrbase(f, cpu, 0xfee00400), -EINVAL);     /* EN=0 EXTD=1: invalid */
	assert_int_equal(wrbase(f, cpu, 0xfee00c00), 0);           /* xAPIC -> x2APIC */
	assert_int_equal(soft_irqchip_lapic_mmio_base(f->c, cpu), UINT64_MAX);
	assert_int_equal(x2r(f, cpu, 0x802), 1);                   /* x2APIC: 32-bit ID */
	assert_int_equal(x2r(f, cpu, 0x80d), 2);                   /* LDR: cluster 0, bit 1 */
	assert_int_equal(wrbase(f, cpu, 0xfee00800), -EINVAL);     /* x2APIC -> xAPIC */
	assert_int_equal(wrbase(f, cpu, 0xfee00400), -EINVAL);     /* x2APIC -> invalid */
	assert_int_equal(base_of(f, cpu), 0xfee00c00);             /* unchanged by the #GPs */
	assert_int_equal(wrbase(f, cpu, 0xfee00000), 0);           /* x2APIC -> disabled */
	assert_int_equal(wrbase(f, cpu, 0xfee00c00), -EINVAL);     /* disabled -> x2APIC */
	assert_int_equal(wrbase(f, cpu, 0xfee00000), 0);           /* disabled -> disabled */
	assert_int_equal(wrbase(f, cpu, 0xfee00800), 0);           /* disabled -> xAPIC */
	assert_int_equal(apic_r(f, cpu, APIC_ID), 1u << 24);       /* the ID survived */
	assert_int_equal(apic_r(f, cpu, APIC_LDR), 0);
	/* an ID written in xAPIC mode does not become the x2APIC ID */
	apic_w(f, cpu, APIC_ID, 0x09000000);
	assert_int_equal(wrbase(f, cpu, 0xfee00c00), 0);
	assert_int_equal(x2r(f, cpu, 0x802), 1);
	/* the BSP flag is the hardware's: a write does not change it */
	assert_int_equal(wrbase(f, cpu, 0xfee00d00), 0);
	assert_int_equal(base_of(f, cpu), 0xfee00c00);
	/* reserved bits: 0-7, 9, and 40-63 (MAXPHYADDR 40) */
	assert_int_equal(wrbase(f, 0, 0xfee00901), -EINVAL);
	assert_int_equal(wrbase(f, 0, 0xfee00b00), -EINVAL);
	assert_int_equal(wrbase(f, 0, (1ULL << 40) | 0xfee00900), -EINVAL);
	assert_int_equal(wrbase(f, 0, (1ULL << 63) | 0xfee00900), -EINVAL);
	/* relocation below MAXPHYADDR, RAM addresses included */
	assert_int_equal(wrbase(f, 0, 0xfffffff000ULL | 0x900), 0);
	assert_int_equal(soft_irqchip_lapic_mmio_base(f->c, 0), 0xfffffff000ULL);
	assert_int_equal(wrbase(f, 0, 0x200900), 0);
	assert_int_equal(soft_irqchip_lapic_mmio_base(f->c, 0), 0x200000);
	assert_int_equal(soft_irqchip_lapic_mmio_base(f->c, 1), UINT64_MAX); /* x2APIC */
	fx_free(f);
}

struct wr { uint32_t msr; uint64_t v; int want; };

/* 10.12.1.3: a WRMSR that sets a reserved bit of an x2APIC register #GPs
 * and changes nothing; read-only, write-only and reserved MSRs #GP. */
static void test_x2apic_reserved_bits(void **state)
{
	(void)state;
	struct fx *f = fx_new(1);
	assert_int_equal(wrbase(f, 0, 0xfee00d00), 0);
	static const struct wr cases[] = {
		{ 0x808, 0x100, -EINVAL }, { 0x808, 0xff, 0 },           /* TPR */
		{ 0x80b, 1, -EINVAL }, { 0x80b, 1ULL << 32, -EINVAL },     /* EOI: only 0 */
		{ 0x80f, 0x1000, -EINVAL }, { 0x80f, 0x400, -EINVAL },    /* SVR */
		{ 0x80f, 0x3ff, 0 },
		{ 0x828, 1, -EINVAL }, { 0x828, 0, 0 },                   /* ESR: only 0 */
		{ 0x830, 0x1000 | 0x40, -EINVAL },                        /* ICR bit 12 */
		{ 0x830, 0x2000 | 0x40, -EINVAL },                        /* bit 13 */
		{ 0x830, 0x10000 | 0x40, -EINVAL },                       /* bit 16 */
		{ 0x830, 0x100000 | 0x40, -EINVAL },                      /* bit 20 */
		{ 0x830, 0x80000000ULL | 0x40, -EINVAL },                 /* bit 31 */
		{ 0x832, 0x80000 | 0x40, -EINVAL },                       /* LVT timer bit 19 */
		{ 0x832, 0x700 | 0x40, -EINVAL },                         /* no delivery mode */
		{ 0x832, 0x11040, 0 },                                    /* status bit: RO */
		{ 0x835, 0x20000, -EINVAL }, { 0x835, 0x1a700, 0 },       /* LINT0 */
		{ 0x837, 0x100, -EINVAL }, { 0x837, 0x100fe, 0 },         /* LVT error */
		{ 0x838, 0xffffffff, 0 }, { 0x838, 1ULL << 32, -EINVAL }, /* initial count */
		{ 0x83e, 0x4, -EINVAL }, { 0x83e, 0xb, 0 },               /* divide config */
		{ 0x83f, 0x100, -EINVAL }, { 0x83f, 1ULL << 32, -EINVAL },/* SELF IPI */
		{ 0x802, 0, -EINVAL }, { 0x803, 0, -EINVAL },             /* ID, version: RO */
		{ 0x80a, 0, -EINVAL }, { 0x80d, 0, -EINVAL },             /* PPR, LDR: RO */
		{ 0x810, 0, -EINVAL }, { 0x818, 0, -EINVAL },             /* ISR, TMR */
		{ 0x820, 0, -EINVAL }, { 0x839, 0, -EINVAL },             /* IRR, current count */
		{ 0x800, 0, -EINVAL }, { 0x801, 0, -EINVAL },             /* reserved MSRs */
		{ 0x809, 0, -EINVAL }, { 0x80c, 0, -EINVAL },
		{ 0x80e, 0, -EINVAL }, { 0x82f, 0, -EINVAL },             /* no DFR, no CMCI */
		{ 0x831, 0, -EINVAL }, { 0x840, 0, -EINVAL }, { 0x8ff, 0, -EINVAL },
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = soft_irqchip_wrmsr(f->c, 0, cases[i].msr, cases[i].v);
		if (r != cases[i].want)
			fail_msg("wrmsr 0x%x <- 0x%llx: %d, want %d", cases[i].msr,
				 (unsigned long long)cases[i].v, r, cases[i].want);
	}
	/* what was refused left the registers as the accepted writes set them */
	assert_int_equal(x2r(f, 0, 0x808), 0xff);
	assert_int_equal(x2r(f, 0, 0x80f), 0x3ff);
	assert_int_equal(x2r(f, 0, 0x832), 0x10040);   /* the status bit reads 0 */
	assert_int_equal(x2r(f, 0, 0x83e), 0xb);
	assert_int_equal(soft_irqchip_pending(f->c, 0, true), -1); /* no IPI went out */
	/* a valid SELF IPI and ICR still work */
	assert_int_equal(soft_irqchip_wrmsr(f->c, 0, 0x808, 0), 0);
	assert_int_equal(soft_irqchip_wrmsr(f->c, 0, 0x83f, 0x44), 0);
	assert_int_equal(soft_irqchip_take(f->c, 0, true), 0x44);
	assert_int_equal(soft_irqchip_wrmsr(f->c, 0, 0x80b, 0), 0);  /* EOI */
	assert_int_equal(soft_irqchip_wrmsr(f->c, 0, 0x830, 0x40045), 0);
	assert_int_equal(soft_irqchip_take(f->c, 0, true), 0x45);
	/* reads: write-only and reserved registers #GP */
	uint64_t v;
	static const uint32_t bad_reads[] = { 0x800, 0x801, 0x809, 0x80b, 0x80c, 0x80e,
					      0x82f, 0x831, 0x83f, 0x840, 0x8ff };
	for (unsigned i = 0; i < sizeof(bad_reads) / sizeof(bad_reads[0]); i++)
		if (soft_irqchip_rdmsr(f->c, 0, bad_reads[i], &v) != -EINVAL)
			fail_msg("rdmsr 0x%x did not #GP", bad_reads[i]);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_global_disable_resets),
		cmocka_unit_test(test_mode_transitions),
		cmocka_unit_test(test_x2apic_reserved_bits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
