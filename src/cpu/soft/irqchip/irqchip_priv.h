/* Internals shared by the soft irqchip's files.  Every function here expects
 * the chip lock to be held. */
#ifndef RINGVM_SOFT_IRQCHIP_PRIV_H
#define RINGVM_SOFT_IRQCHIP_PRIV_H

#include "irqchip.h"

#define NSEC_PER_SEC 1000000000ULL

static inline uint64_t muldiv64(uint64_t a, uint64_t b, uint64_t c)
{
	unsigned __int128 r = (unsigned __int128)a * b / c;
	return r > UINT64_MAX ? UINT64_MAX : (uint64_t)r;
}

static inline uint64_t muldiv64_up(uint64_t a, uint64_t b, uint64_t c)
{
	unsigned __int128 r = ((unsigned __int128)a * b + c - 1) / c;
	return r > UINT64_MAX ? UINT64_MAX : (uint64_t)r;
}

static inline uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

/* Message delivered to local APICs (from the IOAPIC, an ICR write, LVT). */
enum apic_dm { DM_FIXED = 0, DM_LOWEST = 1, DM_SMI = 2, DM_NMI = 4,
	       DM_INIT = 5, DM_SIPI = 6, DM_EXTINT = 7 };

struct apic_msg {
	uint32_t dest;
	bool logical;
	bool wide;        /* 32-bit destination (x2APIC ICR) */
	uint8_t mode;     /* enum apic_dm */
	uint8_t vector;
	bool level;       /* level-triggered (sets TMR) */
	bool assert;      /* ICR level bit (INIT de-assert has it clear) */
	unsigned shorthand; /* 0 none, 1 self, 2 all, 3 all but self */
	int src;          /* sending vCPU or -1 */
};

/* The IOAPIC's message as the LAPICs take it (its delivery modes are the
 * APIC ones). */
static inline struct apic_msg apic_msg_from_ioapic(const struct ioapic_msg *im)
{
	return (struct apic_msg){
		.dest = im->dest, .logical = im->logical, .mode = im->mode,
		.vector = im->vector, .level = im->level, .assert = true, .src = -1,
	};
}

/* irqchip.c */
void chip_update_attention(struct soft_irqchip *c, unsigned cpu);
void chip_update_all_attention(struct soft_irqchip *c);
void chip_recompute_deadline(struct soft_irqchip *c);
uint64_t chip_now(struct soft_irqchip *c);
void chip_lock(struct soft_irqchip *c);
void chip_unlock(struct soft_irqchip *c);

/* lapic.c */
void lapic_reset(struct soft_irqchip *c, struct soft_lapic *l, bool power_on);
void lapic_deliver(struct soft_irqchip *c, const struct apic_msg *m);
void lapic_lint1(struct soft_irqchip *c, struct soft_lapic *l);
bool lapic_match_dest(struct soft_lapic *l, const struct apic_msg *m);
int lapic_highest_deliverable(struct soft_lapic *l);
bool lapic_accepts_pic(struct soft_irqchip *c, unsigned cpu);
void lapic_ack_vector(struct soft_lapic *l, int vector);
bool lapic_sw_enabled(const struct soft_lapic *l);
void lapic_timer_fire(struct soft_irqchip *c, struct soft_lapic *l, uint64_t now);
int lapic_reg_read(struct soft_irqchip *c, struct soft_lapic *l,
		   unsigned reg, bool x2, uint64_t *val);
int lapic_apicbase_write(struct soft_irqchip *c, struct soft_lapic *l, uint64_t v);
bool lapic_x2_reserved_bits(unsigned reg, uint64_t v);
int lapic_tsc_deadline_write(struct soft_irqchip *c, struct soft_lapic *l, uint64_t v);
uint64_t lapic_tsc_deadline_read(struct soft_lapic *l);
int lapic_reg_write(struct soft_irqchip *c, struct soft_lapic *l,
		    unsigned reg, uint64_t v, bool x2);

#endif
