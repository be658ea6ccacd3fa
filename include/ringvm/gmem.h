/* Guest physical memory: the one API through which ringvm touches guest RAM.
 *
 * RAM is one mapping in the VMM: anonymous private memory with transparent
 * huge pages by default, a memfd on request (--memory-backend memfd) or with
 * --hugepages (hugetlbfs), or a snapshot's memory file mapped copy-on-write;
 * it is exposed to the guest as up to two regions: below the 32-bit
 * MMIO hole and above 4 GiB (see layout.h).  Every access is range- and
 * overflow-checked; a host pointer is only ever handed out together with the
 * length that was checked for it.  Guest addresses are hostile input. */
#ifndef RINGVM_GMEM_H
#define RINGVM_GMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t gpa_t; /* guest physical address */

#define GMEM_MAX_REGIONS 2

struct gmem_region {
	gpa_t gpa;       /* first guest-physical address */
	uint64_t size;   /* bytes */
	uint8_t *host;   /* host mapping of the first byte */
	uint64_t offset; /* offset of the region in RAM's mapping (and memfd) */
};

/* Called after the VMM writes guest memory through this API (not for writes a
 * vCPU makes directly; engines track those themselves). */
typedef void (*gmem_dirty_fn)(void *opaque, gpa_t gpa, uint64_t len);

struct gmem {
	int fd;              /* memfd or memory file backing RAM; -1 when anonymous */
	uint8_t *base;       /* host mapping of all of RAM */
	uint64_t ram_size;   /* total RAM bytes */
	bool hugepages;      /* backed by 2 MiB huge pages */
	bool private_file;   /* a snapshot's memory file mapped MAP_PRIVATE (fd is it) */
	bool anon;           /* anonymous private memory (fd -1): a page never
				touched is neither present nor swapped in
				/proc/self/pagemap, and is zero */
	unsigned nr_regions;
	struct gmem_region regions[GMEM_MAX_REGIONS];
	gmem_dirty_fn dirty_fn;
	void *dirty_opaque;
	/* Dirty-page tracking for diff snapshots (docs/snapshot.md): one bit
	 * per 4 KiB page, indexed by the page's offset in RAM (the memfd's and
	 * the memory file's offset), set atomically from any thread.  NULL
	 * while not tracking (gmem_dirty_start). */
	uint64_t *dirty_bits;
};

struct gmem_opts {
	uint64_t ram_size;  /* bytes, multiple of 4 KiB (2 MiB with hugepages) */
	bool hugepages;     /* MFD_HUGETLB; fails clearly if none are free */
	/* RAM as a memfd mapped MAP_SHARED (--memory-backend memfd) rather
	 * than anonymous memory with MADV_HUGEPAGE (the default). */
	bool memfd;
	/* A snapshot's memory file (docs/snapshot.md): RAM is this file mapped
	 * MAP_PRIVATE, read lazily on first touch, never written back; its
	 * size must be ram_size.  NULL: fresh RAM (anonymous or memfd). */
	const char *private_file;
};

/* Create RAM and the memory map.  Returns 0 or -errno (with a message). */
int gmem_init(struct gmem *m, const struct gmem_opts *opts);
void gmem_destroy(struct gmem *m);

/* True when [gpa, gpa+len) is entirely guest RAM (may span regions only if
 * they are contiguous, which they never are across the hole). len 0 is valid
 * for any gpa inside RAM or at its end. */
bool gmem_is_ram(const struct gmem *m, gpa_t gpa, uint64_t len);

/* Host pointer for [gpa, gpa+len) if it lies within one RAM region, else NULL.
 * The pointer is valid for exactly len bytes. */
void *gmem_ptr(const struct gmem *m, gpa_t gpa, uint64_t len);

/* The region containing gpa, or NULL. */
const struct gmem_region *gmem_region_of(const struct gmem *m, gpa_t gpa);

/* Copy to/from guest RAM.  Fail with -EFAULT (nothing copied) unless the whole
 * range is RAM.  Writes call the dirty hook. */
int gmem_read(const struct gmem *m, gpa_t gpa, void *dst, uint64_t len);
int gmem_write(struct gmem *m, gpa_t gpa, const void *src, uint64_t len);
int gmem_fill(struct gmem *m, gpa_t gpa, int byte, uint64_t len);

/* Fixed-width little-endian accessors; return -EFAULT on a bad address. */
int gmem_read_u8(const struct gmem *m, gpa_t gpa, uint8_t *v);
int gmem_read_u16(const struct gmem *m, gpa_t gpa, uint16_t *v);
int gmem_read_u32(const struct gmem *m, gpa_t gpa, uint32_t *v);
int gmem_read_u64(const struct gmem *m, gpa_t gpa, uint64_t *v);
int gmem_write_u8(struct gmem *m, gpa_t gpa, uint8_t v);
int gmem_write_u16(struct gmem *m, gpa_t gpa, uint16_t v);
int gmem_write_u32(struct gmem *m, gpa_t gpa, uint32_t v);
int gmem_write_u64(struct gmem *m, gpa_t gpa, uint64_t v);

/* Copy a NUL-terminated string of at most max bytes (including the NUL) out
 * of the guest.  -EFAULT on a bad address, -ENAMETOOLONG if no NUL. */
int gmem_read_str(const struct gmem *m, gpa_t gpa, char *dst, size_t max);

void gmem_set_dirty_hook(struct gmem *m, gmem_dirty_fn fn, void *opaque);

/* A device wrote [gpa, gpa+len) through a host pointer from gmem_ptr() (DMA
 * by a back-end thread, a readv into guest buffers): call the dirty hook as
 * gmem_write() would.  The soft engine's hook drops decoded code of the
 * pages written (issue 10 item 3); writes through gmem_write() need no
 * call. */
void gmem_note_write(struct gmem *m, gpa_t gpa, uint64_t len);

/* Dirty-page tracking (docs/snapshot.md, "Diff snapshots").  Every write
 * through this API (gmem_write, gmem_fill, gmem_note_write: the VMM's and
 * the devices' DMA) marks its pages; the engines add the vCPUs' own writes
 * (engine_ops.dirty_log_*).  start: allocate a clear bitmap (0 or -ENOMEM;
 * again while tracking: nothing); stop: free it. */
int gmem_dirty_start(struct gmem *m);
void gmem_dirty_stop(struct gmem *m);
/* 64-bit words in a bitmap of RAM's pages. */
static inline uint64_t gmem_dirty_words(const struct gmem *m)
{
	return (m->ram_size / 4096 + 63) / 64;
}
/* Mark the pages of [gpa, gpa+len) that are RAM (nothing while not
 * tracking). */
void gmem_dirty_mark(struct gmem *m, gpa_t gpa, uint64_t len);
/* Mark the page holding host, a pointer into RAM's mapping (the soft
 * engine's TLB and page walker hold such pointers). */
static inline void gmem_dirty_mark_host(const struct gmem *m, const void *host)
{
	uint64_t off = (uint64_t)((const uint8_t *)host - m->base);
	if (m->dirty_bits && off < m->ram_size)
		__atomic_fetch_or(&m->dirty_bits[off >> 18], 1ULL << ((off >> 12) & 63),
				  __ATOMIC_RELAXED);
}
/* OR the marks into out (gmem_dirty_words words) and clear them, word by
 * word atomically: a mark made meanwhile is either taken or kept. */
void gmem_dirty_fetch_and_clear(struct gmem *m, uint64_t *out);
/* OR bits (gmem_dirty_words words) back into the marks: a snapshot that
 * failed after fetching them must not lose them. */
void gmem_dirty_merge(struct gmem *m, const uint64_t *bits);

#endif
