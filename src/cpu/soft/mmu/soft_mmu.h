/* The soft engine's memory management unit: guest paging and the shadow TLB.
 *
 * Guest virtual (linear) -> guest physical by walking the guest's own page
 * tables (no paging, 32-bit, PAE and 4-level), with the architectural checks
 * (present, U/S, R/W with CR0.WP, NX with EFER.NXE, reserved bits), accessed
 * and dirty bits written back into the guest's tables, and precise #PF error
 * codes and CR2.  Guest physical -> host through the checked guest-memory
 * API, or to the MMIO bus.
 *
 * The TLB caches the whole chain (linear page -> host pointer or MMIO) per
 * access kind, like a shadow page table: a hit costs one compare and an add.
 * It is flushed exactly when the architecture says a TLB may hold stale
 * entries: CR3 writes (non-global entries), INVLPG (one page), and changes to
 * CR0.PG/WP, CR4.PAE/PSE/PGE/SMEP, EFER.NXE/LMA (everything).
 *
 * One struct soft_mmu per vCPU; it implements struct soft_mem_ops. */
#ifndef RINGVM_SOFT_MMU_H
#define RINGVM_SOFT_MMU_H

#include <stdbool.h>
#include <stdint.h>

#include "../cpu.h"
#include "ringvm/bus.h"
#include "ringvm/gmem.h"
#include "code_tracker.h"

#define SOFT_TLB_BITS 10
#define SOFT_TLB_SIZE (1u << SOFT_TLB_BITS)

/* One TLB slot.  A tag is the linear page number shifted left by one, with
 * bit 0 set for an entry usable by user-mode (CPL 3) accesses, or ~0 when
 * the slot grants nothing for that access kind. */
struct soft_tlb_entry {
	uint64_t tag_read, tag_write, tag_fetch;
	uint8_t *host;     /* host address of the page, NULL for MMIO */
	uint64_t gpa;      /* guest-physical page address */
	bool global;
};

struct soft_mmu_stats {
	uint64_t hits, misses, walks, flushes, page_flushes, mmio_reads, mmio_writes;
};

/* What the MMU needs from the vCPU besides its registers. */
struct soft_mmu_hooks {
	/* Access to a physical address that is neither RAM nor a bus window
	 * (the engine decides: VM error).  Reads then see all-ones. */
	void (*unmapped)(void *opaque, uint64_t gpa, unsigned size, bool write);
	/* Port I/O. Return 0 or -1 (no #GP is raised for unclaimed ports). */
	int (*pio)(void *opaque, uint16_t port, unsigned size, bool write, uint32_t *val);
	uint64_t (*rdtsc)(void *opaque);
	/* Device memory, through the machine's one MMIO policy (vcpu_mmio):
	 * return 0, or -1 when nothing claimed the access (reads then see
	 * all-ones; the policy decides whether the VM goes on).  NULL: the bus
	 * directly, with 'unmapped' for unclaimed accesses (unit tests). */
	int (*mmio)(void *opaque, uint64_t gpa, unsigned size, bool write, uint64_t *val);
	/* CPU-local MMIO (the LAPIC page): return 0 if handled, -1 if gpa is not
	 * a local window.  May be NULL. */
	int (*local_mmio)(void *opaque, uint64_t gpa, unsigned size, bool write, uint64_t *val);
	void *opaque;
};

struct soft_mmu {
	struct soft_cpu *cpu;   /* paging registers and CPL come from here */
	struct gmem *mem;
	struct bus *mmio;
	struct soft_mmu_hooks hooks;
	struct soft_mmu_stats stats;
	bool large_pages_cached; /* some slot was filled from a 2M/4M/1G page */
	/* Guest-physical page of this vCPU's local window (its LAPIC), which
	 * wins over RAM for this vCPU only (SDM vol. 3, 10.4.5: a relocated
	 * APIC page is device memory for its processor); UINT64_MAX: none. */
	uint64_t local_page;
	struct soft_code_tracker *code; /* VM-wide, NULL without SMP coherence */
	uint64_t code_seen;      /* this vCPU's epoch in code */
	struct soft_tlb_entry tlb[SOFT_TLB_SIZE];
};

/* The soft_mem_ops the core uses, with a struct soft_mmu as opaque. */
extern const struct soft_mem_ops soft_mmu_ops;

void soft_mmu_init(struct soft_mmu *m, struct soft_cpu *cpu, struct gmem *mem,
		   struct bus *mmio, const struct soft_mmu_hooks *hooks);

/* Flushes, as the architecture requires them.  They drop data translations
 * only: the engine also tells the core's decoded-instruction cache
 * (soft_cpu_flush_code_tlb) at the same points. */
void soft_mmu_flush_all(struct soft_mmu *m);          /* CR0/CR4/EFER paging bits */
void soft_mmu_flush_nonglobal(struct soft_mmu *m);    /* MOV to CR3 */
void soft_mmu_flush_page(struct soft_mmu *m, uint64_t la); /* INVLPG */
/* Set the local window's page (4 KiB aligned, UINT64_MAX: none); flushes the
 * TLB when it changes, since slots may map that page to RAM. */
void soft_mmu_set_local_page(struct soft_mmu *m, uint64_t gpa);

/* Page walk result. */
struct soft_walk {
	uint64_t gpa;      /* translated address */
	bool user, write, nx, global; /* effective permissions of the leaf */
	bool dirty;        /* the leaf's D bit is set (or paging is off) */
	unsigned page_shift; /* 12, 21, 22 or 30 */
};

/* Translate la for an access of kind acc (enum soft_access) at the current
 * CPL, setting A/D bits.  Returns 0, or -1 with *f = #PF (error code, cr2)
 * or #GP (non-canonical address in 64-bit mode). */
int soft_mmu_translate(struct soft_mmu *m, uint64_t la, unsigned acc,
		       struct soft_walk *w, struct soft_fault *f);

#endif
