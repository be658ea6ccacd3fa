/* The interrupt controllers' and the per-vCPU event state in ONE neutral
 * form, shared by both engines and the snapshot format (docs/snapshot.md).
 * Engines convert to and from it (engine_ops.get/set_irqchip,
 * get/set_vcpu_extra); nothing outside src/cpu/<engine>/ knows how an engine
 * keeps this state.
 *
 * Field meanings follow the hardware (Intel 8259A, 8254 and 82093AA data
 * sheets; SDM Vol. 3A chapter 11 for the local APIC), not an engine's
 * structs.  Times are in nanoseconds of the machine's clock (vm_clock_ns),
 * which a restore continues from the snapshot's value (clock section), so an
 * absolute time here stays meaningful on the restoring side.
 *
 * Every struct has fixed-width fields only and is written to snapshot files
 * as is (x86-64, little endian); a change of layout bumps SNAP_VERSION.
 * Padding is explicit so that no byte is left uninitialised. */
#ifndef RINGVM_IRQCHIP_STATE_H
#define RINGVM_IRQCHIP_STATE_H

#include <stdint.h>

#include "ringvm/layout.h"

/* ---- 8259A, one chip ------------------------------------------------- */
struct pic_state {
	uint8_t irr, imr, isr;
	uint8_t lines;          /* input line levels (for edge detection) */
	uint8_t elcr, elcr_mask;
	uint8_t priority_add;   /* IRQ with the highest priority (rotation) */
	uint8_t irq_base;       /* ICW2 & 0xf8 */
	uint8_t init_state;     /* 0 ready, 1 wants ICW2, 2 wants ICW3, 3 wants ICW4 */
	uint8_t icw3;
	/* ICW/OCW flags, one byte each */
	uint8_t init4, single, read_isr, poll, special_mask, auto_eoi;
	uint8_t rotate_auto_eoi, sfnm, ltim;
	uint8_t pad[5];
};

/* ---- 8254, one channel ------------------------------------------------ */
struct pit_channel_state {
	uint8_t mode;           /* 0-5 */
	uint8_t rw_mode;        /* 1 LSB, 2 MSB, 3 LSB then MSB */
	uint8_t bcd, loaded, counting, paused, gate, null_count;
	uint32_t count;         /* reload value in ticks, 1..65536 */
	uint16_t count_reg;     /* raw value written */
	uint16_t latch;         /* latched count */
	/* counting: ticks_at_start ticks had elapsed at start_ns (machine clock) */
	uint64_t start_ns;
	uint64_t ticks_at_start;
	uint64_t edges_seen;    /* channel 0: output rising edges already raised */
	uint8_t write_msb_next, read_msb_next, write_lsb;
	uint8_t latch_state;    /* 0 none, 1 LSB, 2 MSB, 3 word LSB next, 4 word MSB next */
	uint8_t status_latched, status;
	uint8_t pad[2];
};

struct pit_state {
	struct pit_channel_state ch[3];
	uint8_t port61;         /* bits 0-3 as written (speaker gate, data) */
	uint8_t pad[7];
};

/* ---- IOAPIC ----------------------------------------------------------- */
#define IRQCHIP_IOAPIC_PINS 24
struct ioapic_state {
	uint32_t id;            /* ID register (bits 27:24) */
	uint32_t regsel;
	uint64_t redir[IRQCHIP_IOAPIC_PINS];
	uint32_t lines;         /* asserted input lines, a bit per pin */
	uint32_t pad;
};

/* The VM-wide chips, plus the guest TSC's origin: guest TSC =
 * (clock - tsc_epoch_ns) * tsc_hz / 1e9 for an engine that derives its TSC
 * from the machine clock (soft); an engine with a hardware TSC sets the
 * vCPUs' IA32_TSC from their MSR lists instead. */
struct irqchip_state {
	struct pic_state pic[2];  /* [0] master (0x20), [1] slave (0xa0) */
	struct pit_state pit;
	struct ioapic_state ioapic;
	uint64_t tsc_hz, tsc_epoch_ns;
	uint8_t pic_output;       /* master INT pin level */
	uint8_t pad[7];
};

/* ---- Local APIC, one per vCPU ----------------------------------------- */
#define IRQCHIP_LAPIC_LVT 6     /* timer, thermal, perf, LINT0, LINT1, error */
struct lapic_state {
	uint32_t id;            /* APIC ID */
	uint32_t tpr, ldr, dfr, svr, esr, esr_pending, icr_lo, icr_hi;
	uint32_t lvt[IRQCHIP_LAPIC_LVT];
	uint32_t irr[8], isr[8], tmr[8];
	uint32_t timer_initial, timer_dcr;
	uint64_t apic_base;     /* IA32_APIC_BASE */
	/* the timer's current period started at timer_start_ns and expires at
	 * timer_deadline_ns (UINT64_MAX: disarmed), machine clock */
	uint64_t timer_start_ns, timer_deadline_ns;
	uint64_t tsc_deadline;  /* IA32_TSC_DEADLINE (0: disarmed) */
	uint8_t nmi_pending;    /* NMIs waiting: 0..2 (soft engine; kvm: 0/1) */
	uint8_t init_pending, sipi_pending, wait_sipi;
	uint8_t sipi_vector;
	uint8_t pad[3];
};

/* What a vCPU holds beyond its registers and MSRs: its local APIC, the
 * events between two instructions, its run state, and the extended
 * (XSAVE) state x86_fpu does not carry. */
struct vcpu_extra_state {
	struct lapic_state lapic;
	/* events (KVM_GET_VCPU_EVENTS' terms): the next instruction runs in an
	 * STI / MOV SS interrupt shadow; NMIs are blocked until an IRET */
	uint8_t shadow;         /* 0, or 1 STI and 2 MOV SS (bits) */
	uint8_t nmi_blocked;
	/* run state (KVM_GET_MP_STATE): halted by HLT; waiting for SIPI is the
	 * LAPIC's wait_sipi */
	uint8_t halted;
	uint8_t pad0[5];
	/* extended state (XSAVE components beyond x87/SSE) */
	uint64_t xcr0;
	uint64_t xss;
	uint32_t pkru;
	uint32_t pad1;
	uint8_t ymmh[16][16];   /* YMM0-15 bits 255:128 */
	uint64_t dr[8];         /* DR0-3, (4, 5 unused), DR6, DR7 */
};

#endif
