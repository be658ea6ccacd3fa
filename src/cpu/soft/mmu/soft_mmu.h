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
 * entries: CR3 writes (non-global entries of the new PCID, none with the
 * no-flush bit), INVLPG (one page), INVPCID, and changes to CR0.PG/WP,
 * CR4.PAE/PSE/PGE/SMEP/SMAP/PKE, CR4.PCIDE 1->0, EFER.NXE/LMA (everything);
 * and on WRPKRU (everything), because the rights cached include the
 * protection-key check.
 *
 * Address spaces (SDM vol. 3A 4.10.1, "Process-Context Identifiers"): every
 * tag carries in bits 63:54 the number of the address space it was filled
 * in (the "salt", SOFT_TLB_SPACE_SHIFT).  Each PCID in use has a space (with
 * CR4.PCIDE=0 everything is PCID 0); a lookup matches only entries of the
 * current space, so switching PCID (MOV CR3 with bit 63) keeps the other
 * PCIDs' entries for later, and flushing a PCID's non-global entries (MOV
 * CR3 without bit 63, INVPCID type 1 or 3) is giving it a fresh space: O(1),
 * a generation counter, instead of a pass over the table.  Global entries
 * belong to every space: a lookup that misses only on the salt of a global
 * entry moves it into the current space (no walk).  Numbers are handed out
 * in increasing order, so a flush of everything (CR4 and CR0 paging bits,
 * INVPCID type 2) is O(1) too: two floors, the first number handed out
 * after the last such flush, make every PCID's space below space_floor
 * stale (INVPCID type 3 raises only this one) and every global entry below
 * global_floor dead.  When the 1024 numbers run out the table is cleared
 * once (the only pass over it) and numbering starts again.
 *
 * Slot windows: the slot of a page depends on the PCID too: slot = (linear
 * page number + soft_mmu_slot_off(window)) mod SOFT_TLB_SIZE, where each
 * PCID in use holds one of SOFT_MMU_WINDOWS windows (window 0, offset 0,
 * for the first PCID, PCID 0 after reset), so that two processes using the
 * same addresses under different PCIDs do not evict each other's entries.
 * A ninth PCID takes the least recently used window over: O(1), the old
 * owner's entries stay (under its space number, unreachable from the new
 * owner's slots; usable again if it gets that window back, since every
 * invalidation reaches every window).  INVLPG drops the page's slot in
 * every window: O(windows).
 *
 * Large pages: entries are 4 KiB even when filled from a 2 MiB, 4 MiB or
 * 1 GiB page, and INVLPG of one address must drop the whole large page.
 * A filter (a bitmap hashed by large-page number and size, reset with the
 * full flushes) records the large pages that filled slots; an INVLPG whose
 * large pages are not in it costs nothing more, one that is passes over
 * the table (kernels rarely invalidate inside their large mappings).
 *
 * Inline-store rights (tag_fastw, code_write.c) are withdrawn from the
 * slots of a page that becomes code: a reverse index by physical page
 * (SOFT_MMU_FASTW_WAYS slots per bucket) finds them, fed by the code
 * tracker's ring of newly marked pages.
 *
 * Access rights (SDM vol. 3, 4.6) depend on the page's U/S, R/W and XD bits,
 * CR0.WP, CR4.SMEP, CR4.SMAP, EFER.NXE, the protection key (CR4.PKE, PKRU)
 * and on who accesses: the rights class (soft_mmu_class) is part of every
 * TLB tag, so CPL and EFLAGS.AC changes need no flush.
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

/* 8192 slots: the memory kernels' arrays (2 and 8 MiB apart) no longer
 * share slots, as they did with 1024, and memcpy's two 8 MiB buffers fit
 * together (docs/PERFORMANCE.md, 2026-12-05: 1024, 4096 and 8192 measured). */
#define SOFT_TLB_BITS 13
#define SOFT_TLB_SIZE (1u << SOFT_TLB_BITS)
/* Address-space number in tag bits 63:54 (a tag's page number and class use
 * at most bits 53:0: linear addresses have 64 bits, pages 52). */
#define SOFT_TLB_SPACE_SHIFT 54
#define SOFT_TLB_SPACES (1u << (64 - SOFT_TLB_SPACE_SHIFT))
#define SOFT_TLB_SALT_MASK (~0ULL << SOFT_TLB_SPACE_SHIFT)
#define SOFT_MMU_PCIDS 4096
/* Slot windows (Linux uses PCIDs 0-6) and their offsets: window 0 at 0,
 * the others spread evenly over the table (plus one, so that runs of pages
 * of different windows do not line up on power-of-two strides). */
#define SOFT_MMU_WINDOWS 8
static inline unsigned soft_mmu_slot_off(unsigned window)
{
	return (window * (SOFT_TLB_SIZE / SOFT_MMU_WINDOWS + 1)) & (SOFT_TLB_SIZE - 1);
}
/* Bits of the large-page filter (a kernel's direct map in 2 MiB pages sets
 * a few hundred: few false hits). */
#define SOFT_MMU_LARGE_BITS 16384
/* Ways of a bucket of the inline-store reverse index (one bucket per slot). */
#define SOFT_MMU_FASTW_WAYS 2
#define SOFT_MMU_CR4_PCIDE (1ULL << 17)

/* Control-register and flag bits the rights depend on. */
#define SOFT_MMU_CR4_SMEP (1ULL << 20)
#define SOFT_MMU_CR4_SMAP (1ULL << 21)
#define SOFT_MMU_CR4_PKE  (1ULL << 22)
#define SOFT_MMU_RFLAGS_AC (1ULL << 18)

/* Rights classes (low two bits of a TLB tag):
 *   SV    supervisor-mode access (CPL < 3) with SMAP in force: EFLAGS.AC=0,
 *         CR4.SMAP=0, or an implicit supervisor access (descriptor tables,
 *         IDT, TSS) at any CPL, which SMAP checks whatever AC says
 *   USER  user-mode access (CPL 3)
 *   SVAC  explicit supervisor-mode access with CR4.SMAP=1 and EFLAGS.AC=1:
 *         SMAP does not block it */
enum { SOFT_MMU_CLS_SV = 0, SOFT_MMU_CLS_USER = 1, SOFT_MMU_CLS_SVAC = 2 };

static inline unsigned soft_mmu_class(const struct soft_cpu *cpu)
{
	if (cpu->cpl == 3)
		return SOFT_MMU_CLS_USER;
	if (unlikely(cpu->rflags & SOFT_MMU_RFLAGS_AC) && (cpu->cr4 & SOFT_MMU_CR4_SMAP) &&
	    !cpu->implicit_sv)
		return SOFT_MMU_CLS_SVAC;
	return SOFT_MMU_CLS_SV;
}

/* Access kinds as rights bits. */
#define SOFT_MMU_R 1u
#define SOFT_MMU_W 2u
#define SOFT_MMU_X 4u

/* One TLB slot.  A tag is the linear page number shifted left by two, with
 * the rights class (SOFT_MMU_CLS_*) in bits 1:0 and the address space in
 * bits 63:54, or ~0 when the slot grants nothing for that access kind (no
 * computed tag is ~0: class 3 does not exist).  The fields the translator's
 * inline probe reads (tag_jread or tag_fastw, then addend) come first, in
 * 24 bytes; soft_tlb_entry_jit sets them from the others. */
struct soft_tlb_entry {
	/* Read right for translated code's inline loads: tag_read when the
	 * page is RAM, else ~0, so an MMIO page (or the vCPU's LAPIC page)
	 * never hits the inline fast path and needs no test of its own. */
	uint64_t tag_jread;
	/* Write right for translated code's inline stores (jit/): tag_write
	 * when the page is RAM that holds no decoded code (code_tracker.h),
	 * else ~0, so a store to a code page leaves for the slow path, which
	 * invalidates the translations it touches (mmu/code_write.c). */
	uint64_t tag_fastw;
	/* host - the page's linear address (mod 2^64): an inline access to
	 * linear address la on a hit is at host address la + addend.  Only
	 * meaningful while tag_jread or tag_fastw is not ~0 (RAM). */
	uint64_t addend;
	uint64_t tag_read;
	uint8_t *host;     /* host address of the page, NULL for MMIO */
	uint64_t tag_write, tag_fetch;
	uint64_t gpa;      /* guest-physical page address */
	bool global;
};

/* Slot e was filled (tag_read and host set) for the page holding linear
 * address la: the translator's load tag and addend follow.  Every place
 * that sets tag_read or host calls this (or clears tag_jread). */
static inline void soft_tlb_entry_jit(struct soft_tlb_entry *e, uint64_t la)
{
	e->tag_jread = e->host ? e->tag_read : ~0ULL;
	e->addend = (uint64_t)(uintptr_t)e->host - (la & ~0xfffULL);
}

struct soft_mmu_stats {
	uint64_t hits, misses, walks, flushes, page_flushes, mmio_reads, mmio_writes;
	uint64_t pcid_flushes;  /* one PCID's (or every PCID's) non-global entries */
	uint64_t pcid_switches; /* MOV CR3 with the no-flush bit */
	uint64_t global_retags; /* global entries moved into the current space */
	uint64_t space_wraps;   /* address-space numbers ran out: table cleared */
	uint64_t window_recycles; /* a PCID took another PCID's slot window */
	uint64_t large_passes;  /* INVLPGs inside a cached large page: table passes */
	uint64_t fastw_revokes; /* inline-store rights withdrawn (page became code) */
	uint64_t mark_passes;   /* fell a marks ring behind: passes over the table */
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
	/* Guest-physical page of this vCPU's local window (its LAPIC), which
	 * wins over RAM for this vCPU only (SDM vol. 3, 10.4.5: a relocated
	 * APIC page is device memory for its processor); UINT64_MAX: none. */
	uint64_t local_page;
	struct soft_code_tracker *code; /* VM-wide, NULL without SMP coherence */
	uint64_t code_seen;      /* this vCPU's epoch in code */
	/* Address spaces: the current one's salt (mirrored in cpu->tlb_salt
	 * for translated code), the next number to hand out, the floors of
	 * the last full flushes, and each PCID's space (stale below
	 * space_floor, 0 included: a PCID gets a fresh one when next used). */
	uint64_t salt;
	unsigned next_space;
	unsigned space_floor;    /* PCID spaces below: flushed (INVPCID 2, 3, CR4...) */
	unsigned global_floor;   /* global entries of spaces below: flushed (INVPCID 2, CR4...) */
	uint16_t pcid_space[SOFT_MMU_PCIDS];
	/* Slot windows: each PCID's window + 1 (0: none), each window's
	 * PCID, when it was last selected (LRU), how many were handed out. */
	unsigned slot_off;       /* soft_mmu_slot_off(current window), mirrored in cpu */
	uint8_t pcid_win[SOFT_MMU_PCIDS];
	uint16_t win_pcid[SOFT_MMU_WINDOWS];
	uint64_t win_used[SOFT_MMU_WINDOWS];
	uint64_t win_clock;
	unsigned nwin;
	/* Large pages that filled slots since the last full flush. */
	unsigned nlarge;
	uint64_t large_filter[SOFT_MMU_LARGE_BITS / 64];
	uint64_t marks_seen;     /* code->marks up to which tag_fastw was revoked */
	/* Reverse index of inline-store rights: bucket by memfd page (the
	 * page's number hashed), slot + 1 per way (0: empty).  Every slot with
	 * tag_fastw set is in the bucket of its page (code_write.c). */
	uint16_t fastw_rev[SOFT_TLB_SIZE][SOFT_MMU_FASTW_WAYS];
	unsigned fill_shift;     /* page size (log2) of the last walk that filled a slot */
	struct soft_tlb_entry tlb[SOFT_TLB_SIZE];
};

/* The soft_mem_ops the core uses, with a struct soft_mmu as opaque. */
extern const struct soft_mem_ops soft_mmu_ops;

void soft_mmu_init(struct soft_mmu *m, struct soft_cpu *cpu, struct gmem *mem,
		   struct bus *mmio, const struct soft_mmu_hooks *hooks);

/* Flushes, as the architecture requires them.  They drop data translations
 * only: the engine also tells the core's decoded-instruction cache
 * (soft_cpu_flush_code_tlb) at the same points. */
void soft_mmu_flush_all(struct soft_mmu *m);          /* CR0/CR4/EFER paging bits, INVPCID 2 */
void soft_mmu_flush_nonglobal(struct soft_mmu *m);    /* MOV to CR3: the new current PCID */
void soft_mmu_flush_page(struct soft_mmu *m, uint64_t la); /* INVLPG */
void soft_mmu_switch_pcid(struct soft_mmu *m);        /* MOV to CR3 with bit 63 (no flush) */
void soft_mmu_flush_pcid(struct soft_mmu *m, unsigned pcid); /* INVPCID type 1 */
void soft_mmu_flush_all_nonglobal(struct soft_mmu *m); /* INVPCID type 3 */
/* The current PCID: CR3[11:0] with CR4.PCIDE=1, else 0. */
static inline unsigned soft_mmu_pcid(const struct soft_cpu *cpu)
{
	return (cpu->cr4 & SOFT_MMU_CR4_PCIDE) ? (unsigned)(cpu->cr3 & 0xfff) : 0;
}
/* Set the local window's page (4 KiB aligned, UINT64_MAX: none); flushes the
 * TLB when it changes, since slots may map that page to RAM. */
void soft_mmu_set_local_page(struct soft_mmu *m, uint64_t gpa);

/* Inline-store rights on code pages (code_write.c).  A page that became
 * code since this vCPU last looked (the code tracker's marks ring moved)
 * loses its tag_fastw in the slots the reverse index lists for it (every
 * slot, if this vCPU fell a ring behind); a slot that had it on a
 * now-marked page is published as written, since a store through it may
 * have skipped the tracker.  Called after every fetch (this vCPU's own new
 * code) and between slices (other vCPUs'). */
void soft_mmu_code_marks_sync(struct soft_mmu *m);
/* tag_fastw for slot e being filled (e->host set): tag if it may write the
 * RAM page at e->host, which holds no code, else ~0; a granted right is
 * entered in the reverse index.  The one place inline-store rights are
 * granted. */
uint64_t soft_mmu_fastw_grant(struct soft_mmu *m, struct soft_tlb_entry *e, uint64_t tag);
/* Withdraw e's inline-store right (before the slot is cleared or refilled):
 * published as written if its page is code now. */
void soft_mmu_fastw_drop(struct soft_mmu *m, struct soft_tlb_entry *e);
/* A slot was filled for la from a page of 2^shift bytes (shift > 12). */
void soft_mmu_note_large(struct soft_mmu *m, uint64_t la, unsigned shift);
/* A store through the memory ops hit slot e, which may write but has no
 * inline-store right (withdrawn when its page became code, or evicted from
 * the reverse index, or its page was code until this store unmarked it):
 * grant it again through soft_mmu_fastw_grant if the page holds no code
 * now, as a fill would, so translated stores to the page stop taking the
 * slow path. */
void soft_mmu_fastw_regrant(struct soft_mmu *m, struct soft_tlb_entry *e);

/* Page walk result. */
struct soft_walk {
	uint64_t gpa;      /* translated address */
	bool user, write, nx, global; /* effective permissions of the leaf */
	bool dirty;        /* the leaf's D bit is set (or paging is off) */
	bool paging;       /* CR0.PG was set: the rights above apply */
	bool pk;           /* protection keys apply (4-level paging, CR4.PKE) */
	uint8_t pkey;      /* the leaf's protection key (bits 62:59) */
	unsigned page_shift; /* 12, 21, 22 or 30 */
};

/* The access kinds (SOFT_MMU_R/W/X) a translation grants to rights class cls
 * (SDM vol. 3, 4.6: U/S, R/W with CR0.WP, XD, SMEP, SMAP, protection keys).
 * *pk: the kinds denied by the protection key alone (for the #PF PK bit).
 * W is granted only with R: a write is never allowed where a read is not. */
unsigned soft_mmu_rights(const struct soft_cpu *cpu, const struct soft_walk *w, unsigned cls,
			 unsigned *pk);

/* Translate la for an access of kind acc (enum soft_access) in the current
 * rights class (soft_mmu_class), setting A/D bits.  Returns 0, or -1 with *f = #PF (error code, cr2)
 * or #GP (non-canonical address in 64-bit mode). */
int soft_mmu_translate(struct soft_mmu *m, uint64_t la, unsigned acc,
		       struct soft_walk *w, struct soft_fault *f);

#endif
