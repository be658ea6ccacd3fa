/* struct soft_mem_ops over the shadow TLB: RAM through host pointers, MMIO
 * through the bus, faults as the architecture reports them. */
#include <string.h>

#include "soft_mmu.h"

static inline uint64_t make_tag(const struct soft_mmu *m, uint64_t la, unsigned cls)
{
	return ((la >> 12) << 2) | cls | m->salt;
}

/* A global entry of another address space whose tag matches but for the
 * salt: move it into the current one (global translations belong to every
 * PCID, SDM vol. 3A 4.10.2.4), unless a flush of everything came after it
 * was filled (its space is below the global floor: tlb.c). */
static bool retag_global(struct soft_mmu *m, struct soft_tlb_entry *e, uint64_t have, uint64_t tag)
{
	if (!e->global || have == ~0ULL || ((have ^ tag) & ~SOFT_TLB_SALT_MASK) ||
	    (have >> SOFT_TLB_SPACE_SHIFT) < m->global_floor)
		return false;
	uint64_t *t[5] = { &e->tag_read, &e->tag_write, &e->tag_fetch, &e->tag_fastw, &e->tag_jread };
	for (unsigned i = 0; i < 5; i++)
		if (*t[i] != ~0ULL)
			*t[i] = (*t[i] & ~SOFT_TLB_SALT_MASK) | m->salt;
	m->stats.global_retags++;
	return true;
}

static inline struct soft_tlb_entry *slot(struct soft_mmu *m, uint64_t la)
{
	return &m->tlb[((la >> 12) + m->slot_off) & (SOFT_TLB_SIZE - 1)];
}

/* Walk and fill the slot for la's page.  The access that missed decides
 * nothing about the rights recorded: they come from the walk. */
static int fill(struct soft_mmu *m, uint64_t la, unsigned acc, struct soft_fault *f,
		struct soft_tlb_entry **out)
{
	struct soft_walk w;
	m->stats.misses++;
	m->stats.walks++;
	if (soft_mmu_translate(m, la, acc, &w, f) < 0)
		return -1;
	const struct soft_cpu *cpu = m->cpu;
	unsigned cls = soft_mmu_class(cpu), pk;
	bool paging = cpu->cr0 & X86_CR0_PG;
	unsigned rights = soft_mmu_rights(cpu, &w, cls, &pk);
	bool read_ok = rights & SOFT_MMU_R;
	/* A write through the slot must not skip setting D: only grant write
	 * when D is already set (the walk just set it for a write access). */
	bool write_ok = (rights & SOFT_MMU_W) && w.dirty;
	bool fetch_ok = rights & SOFT_MMU_X;
	uint64_t gpa_page = w.gpa & ~0xfffULL;
	uint64_t tag = make_tag(m, la, cls);

	struct soft_tlb_entry *e = slot(m, la);
	soft_mmu_fastw_drop(m, e); /* the page it held may be code by now */
	/* The vCPU's own LAPIC page is device memory even over RAM. */
	e->host = gpa_page == m->local_page ? NULL : gmem_ptr(m->mem, gpa_page, 4096);
	e->gpa = gpa_page;
	e->global = paging && w.global;
	e->tag_read = read_ok ? tag : ~0ULL;
	e->tag_write = write_ok ? tag : ~0ULL;
	e->tag_fetch = fetch_ok ? tag : ~0ULL;
	e->tag_fastw = write_ok ? soft_mmu_fastw_grant(m, e, tag) : ~0ULL;
	soft_tlb_entry_jit(e, la);
	/* Diff snapshots: a page is dirty once a slot may write it; the dirty
	 * log's fetch drops every slot (soft_engine_dirty_log_fetch), so the
	 * next store comes back here and marks it again. */
	if (write_ok && e->host)
		gmem_dirty_mark_host(m->mem, e->host);
	if (w.page_shift > 12)
		soft_mmu_note_large(m, la, w.page_shift);
	m->fill_shift = w.page_shift;
	*out = e;
	return 0;
}

/* Find the slot for an access of kind acc to la's page, walking on a miss.
 * A hit whose rights do not cover acc walks again (the walk then faults or
 * upgrades the slot, e.g. to set the dirty bit). */
static int lookup(struct soft_mmu *m, uint64_t la, unsigned acc, struct soft_fault *f,
		  struct soft_tlb_entry **out)
{
	struct soft_tlb_entry *e = slot(m, la);
	uint64_t tag = make_tag(m, la, soft_mmu_class(m->cpu));
	uint64_t have = acc == SOFT_ACC_FETCH ? e->tag_fetch :
			(acc == SOFT_ACC_WRITE || acc == SOFT_ACC_RMW) ? e->tag_write : e->tag_read;
	if (likely(have == tag) || retag_global(m, e, have, tag)) {
		m->stats.hits++;
		*out = e;
		return 0;
	}
	if (fill(m, la, acc, f, out) < 0)
		return -1;
	return 0;
}

/* Physical access that is not RAM: the CPU's own windows (LAPIC), then the
 * machine's MMIO policy (or the bus and the unmapped hook). */
static void phys_mmio(struct soft_mmu *m, uint64_t gpa, void *buf, unsigned len, bool write)
{
	uint64_t v = 0;
	if (write)
		memcpy(&v, buf, len);
	if (m->hooks.local_mmio && m->hooks.local_mmio(m->hooks.opaque, gpa, len, write, &v) == 0) {
		if (!write)
			memcpy(buf, &v, len);
		return;
	}
	int r;
	if (write)
		m->stats.mmio_writes++;
	else
		m->stats.mmio_reads++;
	if (m->hooks.mmio) {
		/* the machine's policy: counts, logs, all-ones or a stop */
		r = m->hooks.mmio(m->hooks.opaque, gpa, len, write, &v);
		if (r < 0 && !write)
			v = ~0ULL;
	} else {
		r = write ? bus_write(m->mmio, gpa, len, v) : bus_read(m->mmio, gpa, len, &v);
		if (r < 0) {
			if (m->hooks.unmapped)
				m->hooks.unmapped(m->hooks.opaque, gpa, len, write);
			v = ~0ULL;
		}
	}
	if (!write)
		memcpy(buf, &v, len);
}

/* MMIO accesses of odd sizes (3, 5-7, >8 bytes: e.g. an SSE load from a
 * device window) are split into naturally sized pieces. */
static void mmio_access(struct soft_mmu *m, uint64_t gpa, uint8_t *buf, unsigned len, bool write)
{
	while (len) {
		unsigned n = len >= 8 && !(gpa & 7) ? 8 : len >= 4 && !(gpa & 3) ? 4 :
			     len >= 2 && !(gpa & 1) ? 2 : 1;
		phys_mmio(m, gpa, buf, n, write);
		gpa += n;
		buf += n;
		len -= n;
	}
}

/* Guest RAM is shared by every vCPU thread.  A naturally aligned access of
 * 1, 2, 4 or 8 bytes is a single access for the guest (Intel SDM Vol. 3A
 * 8.1.1, "Guaranteed Atomic Operations"), so it is one relaxed atomic load
 * or store here: never torn by a byte-wise copy, and not a data race in
 * the C memory model when another vCPU writes the same word (which guests
 * do: locks, flags, mailboxes).  On x86-64 these are plain MOVs.  Other
 * sizes and misaligned accesses have no such guarantee and are copied. */
static inline void ram_load(void *dst, const uint8_t *src, unsigned n)
{
	if (((uintptr_t)src & (n - 1)) == 0) {
		switch (n) {
		case 1: *(uint8_t *)dst = __atomic_load_n(src, __ATOMIC_RELAXED); return;
		case 2: { uint16_t v = __atomic_load_n((const uint16_t *)(const void *)src,
						       __ATOMIC_RELAXED);
			memcpy(dst, &v, 2); return; }
		case 4: { uint32_t v = __atomic_load_n((const uint32_t *)(const void *)src,
						       __ATOMIC_RELAXED);
			memcpy(dst, &v, 4); return; }
		case 8: { uint64_t v = __atomic_load_n((const uint64_t *)(const void *)src,
						       __ATOMIC_RELAXED);
			memcpy(dst, &v, 8); return; }
		default: break;
		}
	}
	memcpy(dst, src, n);
}

static inline void ram_store(uint8_t *dst, const void *src, unsigned n)
{
	if (((uintptr_t)dst & (n - 1)) == 0) {
		switch (n) {
		case 1: __atomic_store_n(dst, *(const uint8_t *)src, __ATOMIC_RELAXED); return;
		case 2: { uint16_t v; memcpy(&v, src, 2);
			__atomic_store_n((uint16_t *)(void *)dst, v, __ATOMIC_RELAXED); return; }
		case 4: { uint32_t v; memcpy(&v, src, 4);
			__atomic_store_n((uint32_t *)(void *)dst, v, __ATOMIC_RELAXED); return; }
		case 8: { uint64_t v; memcpy(&v, src, 8);
			__atomic_store_n((uint64_t *)(void *)dst, v, __ATOMIC_RELAXED); return; }
		default: break;
		}
	}
	memcpy(dst, src, n);
}

/* Split an access at page boundaries: at most two pieces, since len <= 4096. */
static unsigned first_piece(uint64_t la, unsigned len)
{
	unsigned room = 4096 - (unsigned)(la & 0xfff);
	return len < room ? len : room;
}

static int mmu_read(void *opaque, uint64_t la, void *dst, unsigned len, unsigned acc,
		    struct soft_fault *f)
{
	struct soft_mmu *m = opaque;
	struct soft_tlb_entry *e[2];
	unsigned n0 = first_piece(la, len);
	uint64_t la1 = la + n0;

	if (lookup(m, la, acc, f, &e[0]) < 0)
		return -1;
	if (n0 < len && lookup(m, la1, acc, f, &e[1]) < 0)
		return -1;
	uint8_t *d = dst;
	for (int i = 0; i < (n0 < len ? 2 : 1); i++) {
		uint64_t a = i ? la1 : la;
		unsigned n = i ? len - n0 : n0;
		unsigned off = (unsigned)(a & 0xfff);
		if (likely(e[i]->host))
			ram_load(d, e[i]->host + off, n);
		else
			mmio_access(m, e[i]->gpa + off, d, n, false);
		d += n;
	}
	return 0;
}

static int mmu_write(void *opaque, uint64_t la, const void *src, unsigned len, uint64_t pa[2],
		     struct soft_fault *f)
{
	struct soft_mmu *m = opaque;
	struct soft_tlb_entry *e[2];
	unsigned n0 = first_piece(la, len);
	uint64_t la1 = la + n0;

	/* Both pages are checked before any byte is written. */
	if (lookup(m, la, SOFT_ACC_WRITE, f, &e[0]) < 0)
		return -1;
	if (n0 < len && lookup(m, la1, SOFT_ACC_WRITE, f, &e[1]) < 0)
		return -1;
	const uint8_t *s = src;
	pa[0] = e[0]->host ? e[0]->gpa + (la & 0xfff) : ~0ULL;
	pa[1] = pa[0];
	for (int i = 0; i < (n0 < len ? 2 : 1); i++) {
		uint64_t a = i ? la1 : la;
		unsigned n = i ? len - n0 : n0;
		unsigned off = (unsigned)(a & 0xfff);
		if (likely(e[i]->host)) {
			ram_store(e[i]->host + off, s, n);
			pa[1] = e[i]->gpa + off + n - 1;
			if (m->code && soft_code_is_marked(m->code, (uint64_t)(e[i]->host - m->mem->base))) {
				soft_code_unmark(m->code, (uint64_t)(e[i]->host - m->mem->base));
				soft_code_publish(m->code, e[i]->gpa, &m->code_seen);
			}
			if (unlikely(e[i]->tag_fastw == ~0ULL))
				soft_mmu_fastw_regrant(m, e[i]);
		} else {
			mmio_access(m, e[i]->gpa + off, (uint8_t *)s, n, true);
			pa[1] = ~0ULL;
		}
		s += n;
	}
	return 0;
}

static int mmu_fetch(void *opaque, uint64_t la, void *dst, unsigned len, uint64_t *pa,
		     struct soft_fault *f)
{
	struct soft_mmu *m = opaque;
	struct soft_tlb_entry *e;
	if (lookup(m, la, SOFT_ACC_FETCH, f, &e) < 0)
		return -1;
	m->cpu->fetch_global = e->global; /* chain tags (icache.h) */
	unsigned off = (unsigned)(la & 0xfff);
	if (len > 4096 - off)
		len = 4096 - off; /* the core never asks across a page */
	if (likely(e->host)) {
		memcpy(dst, e->host + off, len);
		*pa = e->gpa + off;
		soft_code_mark(m->code, (uint64_t)(e->host - m->mem->base));
		soft_mmu_code_marks_sync(m); /* before this code can run */
	} else {
		/* Executing from a device window: fetch through the bus. */
		mmio_access(m, e->gpa + off, dst, len, false);
		*pa = ~0ULL;
	}
	return 0;
}

static int mmu_pio_in(void *opaque, uint16_t port, unsigned size, uint32_t *val,
		      struct soft_fault *f)
{
	struct soft_mmu *m = opaque;
	(void)f;
	*val = 0xffffffffu;
	if (m->hooks.pio)
		m->hooks.pio(m->hooks.opaque, port, size, false, val);
	return 0;
}

static int mmu_pio_out(void *opaque, uint16_t port, unsigned size, uint32_t val,
		       struct soft_fault *f)
{
	struct soft_mmu *m = opaque;
	(void)f;
	if (m->hooks.pio)
		m->hooks.pio(m->hooks.opaque, port, size, true, &val);
	return 0;
}

/* A checked host pointer for an atomic RMW inside one RAM page. */
static int mmu_rmw_ptr(void *opaque, uint64_t la, unsigned len, void **host, uint64_t *pa,
		       struct soft_fault *f)
{
	struct soft_mmu *m = opaque;
	struct soft_tlb_entry *e;
	*host = NULL;
	if ((la & 0xfff) + len > 4096)
		return 0; /* split across pages: the core falls back */
	if (lookup(m, la, SOFT_ACC_RMW, f, &e) < 0)
		return -1;
	if (!e->host)
		return 0;
	unsigned off = (unsigned)(la & 0xfff);
	*host = e->host + off;
	*pa = e->gpa + off;
	if (m->code && soft_code_is_marked(m->code, (uint64_t)(e->host - m->mem->base))) {
		soft_code_unmark(m->code, (uint64_t)(e->host - m->mem->base));
		soft_code_publish(m->code, e->gpa, &m->code_seen);
	}
	if (unlikely(e->tag_fastw == ~0ULL))
		soft_mmu_fastw_regrant(m, e);
	return 0;
}

/* Publish the marked code pages among [gpa, gpa + len) as written. */
static void publish_code_writes(struct soft_mmu *m, const uint8_t *host, uint64_t gpa, uint64_t len)
{
	uint64_t off = (uint64_t)(host - m->mem->base) & ~0xfffULL;
	uint64_t end = (uint64_t)(host - m->mem->base) + len;
	for (uint64_t page = gpa & ~0xfffULL; off < end; off += 4096, page += 4096)
		if (soft_code_is_marked(m->code, off)) {
			soft_code_unmark(m->code, off);
			soft_code_publish(m->code, page, &m->code_seen);
		}
}

/* The host memory behind la for the page-wise REP MOVS/STOS path: a read
 * or write lookup (the walk sets A, and D for a write, as the first
 * element's access would), RAM only.  Past la's 4 KiB page only when the
 * lookup walked and found a large page (2 MiB, 4 MiB or 1 GiB: one leaf,
 * so one set of rights and A/D bits for all of it), contiguous RAM without
 * this vCPU's LAPIC page: a copy through THP-backed buffers then walks once
 * per run instead of twice per 4 KiB.  A write grant on pages holding code
 * publishes them first, as mmu_write does for each store. */
static int mmu_page_ptr(void *opaque, uint64_t la, bool write, uint64_t want, uint8_t **host,
			uint64_t *pa, uint64_t *avail, struct soft_fault *f)
{
	struct soft_mmu *m = opaque;
	struct soft_tlb_entry *e;
	*host = NULL;
	m->fill_shift = 0;
	if (lookup(m, la, write ? SOFT_ACC_WRITE : SOFT_ACC_READ, f, &e) < 0)
		return -1;
	if (!e->host)
		return 0;
	unsigned off = (unsigned)(la & 0xfff);
	uint64_t len = 4096 - off, gpa = e->gpa + off;
	if (want > len && m->fill_shift > 12) {
		uint64_t size = 1ULL << m->fill_shift;
		uint64_t ext = size - (la & (size - 1));
		if (ext > want)
			ext = want;
		const uint8_t *h = gmem_ptr(m->mem, gpa, ext);
		if (h == e->host + off &&
		    !(m->local_page > e->gpa && m->local_page < gpa + ext))
			len = ext;
	}
	*host = e->host + off;
	*pa = gpa;
	*avail = len;
	if (write && m->code)
		publish_code_writes(m, e->host + off, gpa, want < len ? want : len);
	return 0;
}

/* Translate la as a read would (a #PF, the A bit) but touch no data. */
static int mmu_probe(void *opaque, uint64_t la, unsigned acc, struct soft_fault *f)
{
	struct soft_mmu *m = opaque;
	struct soft_tlb_entry *e;
	return lookup(m, la, acc, f, &e);
}

static uint64_t mmu_rdtsc(void *opaque)
{
	struct soft_mmu *m = opaque;
	return m->hooks.rdtsc ? m->hooks.rdtsc(m->hooks.opaque) : 0;
}

const struct soft_mem_ops soft_mmu_ops = {
	.read = mmu_read,
	.write = mmu_write,
	.fetch = mmu_fetch,
	.pio_in = mmu_pio_in,
	.pio_out = mmu_pio_out,
	.rdtsc = mmu_rdtsc,
	.rmw_ptr = mmu_rmw_ptr,
	.probe = mmu_probe,
	.page_ptr = mmu_page_ptr,
};
