/* The soft engine's local APICs (one per vCPU, with the guest TSC and the
 * timers' poll model).  The board's 8259 pair, 8254 and IOAPIC are not
 * here: they are board devices (src/hw/board_irqchip.h) that the machine
 * creates for an engine without an in-kernel irqchip; this chip connects to
 * them as their struct lapic_sink, takes the PIC's INTA and EOI broadcasts
 * to them, and polls their timer from its one poll entry.  Pure state
 * machines: no threads of their own.  The soft engine calls in from its
 * vCPU threads; devices raise lines through the board's irq_router from any
 * thread.  See docs/soft-irqchip.md.
 *
 * Locking: one mutex for the LAPICs; the board's lock is taken before it,
 * never after (the chip calls the board only with its own lock released).
 * The per-vCPU 'attention' word is kept exact under that mutex and may be
 * read without it, so the engine's per-block check costs one atomic load.
 *
 * Time: every time-dependent value is derived from an injectable clock
 * (nanoseconds; CLOCK_MONOTONIC by default; the machine's clock in the
 * engine, the same the board's PIT reads).  Timers fire only from
 * soft_irqchip_poll(); register reads (the LAPIC current count) read the
 * clock directly. */
#ifndef RINGVM_SOFT_IRQCHIP_H
#define RINGVM_SOFT_IRQCHIP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "ringvm/irq.h"
#include "ringvm/irqchip_state.h"
#include "ringvm/layout.h"
#include "src/hw/board_irqchip.h"

struct vm;

#define SOFT_TSC_HZ_DEFAULT    1000000000ULL /* guest TSC rate if none given */
#define SOFT_APIC_BUS_HZ       1000000000ULL /* LAPIC timer input clock */
#define SOFT_LAPIC_VERSION     0x00050014u   /* version 0x14, max LVT 5 */
#define SOFT_NO_DEADLINE       UINT64_MAX
#define SOFT_LAPIC_MAXPHYADDR  40            /* as CPUID 0x80000008 says */

/* MSRs the chip implements (soft_irqchip_rdmsr/wrmsr). */
#define MSR_IA32_APICBASE      0x1b
#define MSR_IA32_TSC_DEADLINE  0x6e0
#define MSR_X2APIC_FIRST       0x800
#define MSR_X2APIC_LAST        0x8ff

#define APICBASE_BSP           (1ULL << 8)
#define APICBASE_X2APIC        (1ULL << 10)
#define APICBASE_ENABLE        (1ULL << 11)

/* Bits of a vCPU's attention word. */
#define SOFT_ATTN_INTR  0x1u /* a maskable interrupt is deliverable once IF=1 */
#define SOFT_ATTN_NMI   0x2u /* NMI pending */
#define SOFT_ATTN_INIT  0x4u /* INIT received: reset the vCPU, wait for SIPI */
#define SOFT_ATTN_SIPI  0x8u /* startup IPI received while waiting for SIPI */

typedef uint64_t (*soft_clock_fn)(void *opaque);
/* Called (without the chip lock held) when a vCPU gets new attention bits
 * because of something another party did (device IRQ, IPI, timer). */
typedef void (*soft_wake_fn)(void *opaque, unsigned cpu);

/* ---- Local APIC ------------------------------------------------------- */
enum { LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR, LVT_NR };

struct soft_lapic {
	unsigned idx;           /* vCPU index */
	uint32_t id;            /* APIC ID (== idx at reset) */
	uint64_t apic_base;     /* IA32_APIC_BASE */
	uint32_t tpr, ldr, dfr, svr, esr, esr_pending, icr_lo, icr_hi;
	uint32_t lvt[LVT_NR];
	uint32_t irr[8], isr[8], tmr[8];
	/* timer */
	uint32_t timer_initial, timer_dcr;
	unsigned timer_div;         /* 1..128 */
	uint64_t timer_start_ns;    /* current period started here */
	uint64_t timer_deadline_ns; /* next expiry, SOFT_NO_DEADLINE if disarmed */
	uint64_t tsc_deadline;      /* IA32_TSC_DEADLINE value (0: disarmed) */
	/* INIT/SIPI/NMI */
	/* NMIs waiting for the vCPU: 0..2.  Like KVM's process_nmi(), two
	 * may wait while the vCPU does not block NMIs (one it is about to
	 * take, one latched behind it, SDM vol. 3, 6.7.1); the engine cuts
	 * them to one while it blocks NMIs (soft_irqchip_nmi_blocked). */
	uint8_t nmi_pending;
	bool init_pending, sipi_pending, wait_sipi;
	uint8_t sipi_vector;
	_Atomic unsigned attention; /* SOFT_ATTN_*, exact under the chip lock */
};

struct soft_irqchip_config {
	unsigned nr_vcpus;          /* 1..MAX_VCPUS */
	soft_clock_fn clock;        /* NULL: CLOCK_MONOTONIC */
	void *clock_opaque;
	uint64_t tsc_hz;            /* guest TSC rate; 0: SOFT_TSC_HZ_DEFAULT */
	struct board_irqchip *board; /* the board's PIC/PIT/IOAPIC (NULL: none) */
};

struct soft_irqchip {
	pthread_mutex_t lock;
	struct vm *vm;
	unsigned nr_vcpus;
	soft_clock_fn clock;
	void *clock_opaque;
	soft_wake_fn wake;
	void *wake_opaque;
	uint64_t tsc_hz, tsc_epoch_ns;  /* guest TSC = (now - epoch) * hz / 1e9 */

	struct board_irqchip *board;    /* may be NULL (LAPIC-only tests) */
	struct lapic_sink sink;         /* what the board calls */
	bool pic_intr;                  /* the board's 8259 INT output */
	bool pin0_extint;               /* IOAPIC pin 0 routes it as ExtINT ... */
	struct ioapic_msg pin0_route;   /* ... to this destination */
	uint32_t eoi_pending[8];        /* level vectors EOIed: broadcast at unlock */
	struct soft_lapic *lapic;       /* nr_vcpus of them */

	uint64_t wake_mask;             /* collected under lock, called after */
	bool timers_dirty;              /* recompute next_poll_ns at unlock */
	_Atomic uint64_t next_poll_ns;  /* earliest timer of all (fast check) */
	uint64_t stats_irqs, stats_ipis, stats_timer_fires;
};

/* ---- Creation --------------------------------------------------------- */
/* Creates the LAPICs and connects them to cfg->board (as its lapic_sink).
 * Returns NULL on failure (message logged). */
struct soft_irqchip *soft_irqchip_create_cfg(struct vm *vm,
					     const struct soft_irqchip_config *cfg);
void soft_irqchip_destroy(struct soft_irqchip *c);
/* Machine reset: the LAPICs back to power-on state (vCPU 0 runnable, the
 * others waiting for SIPI); the board resets its own chips. */
void soft_irqchip_reset(struct soft_irqchip *c);

void soft_irqchip_set_wake(struct soft_irqchip *c, soft_wake_fn fn, void *opaque);
uint64_t soft_irqchip_now(struct soft_irqchip *c);

/* ---- Per-vCPU queries (engine) ---------------------------------------- */
static inline unsigned soft_irqchip_attention(struct soft_irqchip *c, unsigned cpu)
{
	return atomic_load_explicit(&c->lapic[cpu].attention, memory_order_acquire);
}

/* Cheap check between instruction blocks: does the engine need to act? */
static inline bool soft_irqchip_need_check(struct soft_irqchip *c, unsigned cpu,
					   bool rflags_if)
{
	unsigned a = soft_irqchip_attention(c, cpu);
	return (a & ~SOFT_ATTN_INTR) || (rflags_if && (a & SOFT_ATTN_INTR));
}

/* Vector of the maskable interrupt to deliver now, or -1.  Respects IF,
 * TPR/PPR and ISR priority; includes ExtINT (PIC through LINT0 in virtual
 * wire mode, or through an IOAPIC pin in ExtINT mode).  Does not change state. */
int soft_irqchip_pending(struct soft_irqchip *c, unsigned cpu, bool rflags_if);
/* The INTA cycle: acknowledges the highest deliverable interrupt and returns
 * the vector to inject (normally the one pending() returned; the LAPIC's
 * spurious vector or the PIC's IRQ7/15 if it vanished in between).
 * Returns -1 only if nothing at all is pending through the LAPIC or PIC. */
int soft_irqchip_ack(struct soft_irqchip *c, unsigned cpu, int vector);
/* pending() + ack() in one lock hold: the vector to inject now, or -1. */
int soft_irqchip_take(struct soft_irqchip *c, unsigned cpu, bool rflags_if);

/* An edge on vCPU cpu's LINT1 pin (the NMI line): handled as its LVT says
 * (NMI, fixed vector, or nothing when masked). */
void soft_irqchip_lint1(struct soft_irqchip *c, unsigned cpu);
/* Take one pending NMI (up to two wait, see nmi_pending; the engine takes
 * one only while the vCPU does not block NMIs). */
bool soft_irqchip_take_nmi(struct soft_irqchip *c, unsigned cpu);
/* The vCPU blocks NMIs (an NMI handler runs, until its IRET): of the NMIs
 * waiting, one stays latched (6.7.1). */
void soft_irqchip_nmi_blocked(struct soft_irqchip *c, unsigned cpu);
/* INIT received: the engine puts the vCPU in the INIT state (real mode,
 * CS:IP f000:fff0 ...), the LAPIC was already reset, and the vCPU now waits
 * for SIPI. */
bool soft_irqchip_take_init(struct soft_irqchip *c, unsigned cpu);
/* SIPI received while waiting: returns the startup vector (start at
 * CS = vector << 8, IP = 0), else -1. */
int soft_irqchip_take_sipi(struct soft_irqchip *c, unsigned cpu);
bool soft_irqchip_waiting_for_sipi(struct soft_irqchip *c, unsigned cpu);
/* Could a device still deliver an NMI or INIT to a halted vCPU with IF=0?
 * True while any IOAPIC pin is unmasked with delivery mode NMI or INIT
 * (destination not considered: conservative).  LINT1 has no source here and
 * LINT0 passes the PIC only as ExtINT, which IF blocks. */
bool soft_irqchip_nmi_source_armed(struct soft_irqchip *c, unsigned cpu);

/* ---- Timers ----------------------------------------------------------- */
/* Fire every timer due at now_ns: the LAPIC timers, and the board's PIT
 * (channel 0 edges) through board_irqchip_poll.  The engine's one poll entry. */
void soft_irqchip_poll(struct soft_irqchip *c, uint64_t now_ns);
static inline bool soft_irqchip_poll_due(struct soft_irqchip *c, uint64_t now_ns)
{
	return now_ns >= atomic_load_explicit(&c->next_poll_ns, memory_order_relaxed) ||
	       (c->board && now_ns >= board_irqchip_next_poll(c->board));
}
/* Next time anything could interrupt this vCPU (its LAPIC timer, the PIT);
 * SOFT_NO_DEADLINE if none.  For a halted vCPU's timed sleep. */
uint64_t soft_irqchip_next_deadline_ns(struct soft_irqchip *c, unsigned cpu);

/* Guest TSC, derived from the chip clock at cfg->tsc_hz (use it for RDTSC so
 * that TSC-deadline and kvmclock agree with it). */
uint64_t soft_irqchip_guest_tsc(struct soft_irqchip *c, uint64_t now_ns);
uint64_t soft_irqchip_tsc_to_ns(struct soft_irqchip *c, uint64_t tsc);

/* ---- LAPIC access (the bus never sees the LAPIC) ----------------------- */
/* Base of this vCPU's xAPIC MMIO page, or UINT64_MAX if the APIC is disabled
 * or in x2APIC mode (then the page is ordinary memory/MMIO). */
uint64_t soft_irqchip_lapic_mmio_base(struct soft_irqchip *c, unsigned cpu);
/* IA32_APIC_BASE[11] (global enable) is clear for this vCPU. */
bool soft_irqchip_lapic_disabled(struct soft_irqchip *c, unsigned cpu);
uint64_t soft_lapic_mmio_read(struct soft_irqchip *c, unsigned cpu,
			      uint64_t offset, unsigned size);
void soft_lapic_mmio_write(struct soft_irqchip *c, unsigned cpu, uint64_t offset,
			   unsigned size, uint64_t value);
/* CR8, the alias of TPR[7:4] (MOV to/from CR8). */
uint64_t soft_irqchip_get_cr8(struct soft_irqchip *c, unsigned cpu);
void soft_irqchip_set_cr8(struct soft_irqchip *c, unsigned cpu, uint64_t cr8);
/* MSRs: IA32_APIC_BASE, IA32_TSC_DEADLINE and x2APIC 0x800-0x8ff.
 * 0 done, -ENOENT not an MSR of the chip, -EINVAL the guest gets #GP. */
int soft_irqchip_rdmsr(struct soft_irqchip *c, unsigned cpu, uint32_t msr,
		       uint64_t *value);
int soft_irqchip_wrmsr(struct soft_irqchip *c, unsigned cpu, uint32_t msr,
		       uint64_t value);

/* ---- Snapshots (state.c) --------------------------------------------- */
/* The LAPICs and the guest TSC in the neutral form of irqchip_state.h (the
 * board converts its own chips); set_* check what they load (a snapshot
 * file is user input): 0 or -EINVAL. */
int soft_irqchip_get_state(struct soft_irqchip *c, struct irqchip_state *s);
int soft_irqchip_set_state(struct soft_irqchip *c, const struct irqchip_state *s);
int soft_irqchip_get_lapic(struct soft_irqchip *c, unsigned cpu, struct lapic_state *s);
int soft_irqchip_set_lapic(struct soft_irqchip *c, unsigned cpu, const struct lapic_state *s);

#endif
