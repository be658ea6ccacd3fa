/* Decoded-instruction cache (see icache.h).  Two hash tables: blocks by
 * (pa, mode) for lookup, pages by physical page number listing their blocks
 * for invalidation, plus a 64 Ki-bit filter of page numbers so that ordinary
 * data writes cost one bit test. */
#include <stdlib.h>
#include <string.h>

#include "icache.h"

static unsigned blk_hash(uint64_t pa, unsigned mode)
{
	uint64_t h = (pa ^ ((uint64_t)mode << 61)) * 0x9e3779b97f4a7c15ULL;
	return (unsigned)(h >> (64 - BLK_HASH_BITS));
}

static unsigned page_hash(uint64_t ppn)
{
	return (unsigned)((ppn * 0x9e3779b97f4a7c15ULL) >> 54) & (PAGE_HASH - 1);
}

static unsigned filter_bit(uint64_t ppn)
{
	return (unsigned)(ppn ^ (ppn >> 16)) & (FILTER_BITS - 1);
}

struct soft_icache *soft_icache_new(void)
{
	struct soft_icache *ic = calloc(1, sizeof(*ic));
	if (ic) {
		ic->gen = ic->lgen = 1;
		ic->epoch = 1ULL << 3;
		ic->epoch_g = (1ULL << 3) | 4;
		ic->budget = SOFT_ICACHE_BUDGET;
		for (unsigned i = 0; i < SOFT_ICACHE_JUMP; i++)
			ic->jump[i].tag = ~0ULL; /* never a current tag */
	}
	return ic;
}

static void free_chain(struct soft_block *b)
{
	while (b) {
		struct soft_block *n = b->hnext;
		free(b);
		b = n;
	}
}

void soft_icache_free(struct soft_icache *ic)
{
	if (!ic)
		return;
	for (unsigned i = 0; i < BLK_HASH; i++)
		free_chain(ic->blk[i]);
	for (unsigned i = 0; i < PAGE_HASH; i++) {
		struct soft_code_page *p = ic->pages[i];
		while (p) {
			struct soft_code_page *n = p->next;
			free(p);
			p = n;
		}
	}
	free_chain(ic->dead);
	free(ic);
}

struct soft_block *soft_icache_lookup(struct soft_icache *ic, uint64_t pa, unsigned mode)
{
	for (struct soft_block *b = ic->blk[blk_hash(pa, mode)]; b; b = b->hnext)
		if (b->pa == pa && b->mode == mode)
			return b;
	return NULL;
}

static struct soft_code_page *page_find(struct soft_icache *ic, uint64_t ppn, bool create)
{
	unsigned h = page_hash(ppn);
	for (struct soft_code_page *p = ic->pages[h]; p; p = p->next)
		if (p->ppn == ppn)
			return p;
	if (!create)
		return NULL;
	struct soft_code_page *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	ic->bytes += sizeof(*p);
	p->ppn = ppn;
	p->next = ic->pages[h];
	ic->pages[h] = p;
	ic->filter[filter_bit(ppn) / 64] |= 1ULL << (filter_bit(ppn) % 64);
	return p;
}

struct soft_block *soft_icache_insert(struct soft_icache *ic, uint64_t pa, uint64_t rip,
				      unsigned mode, const struct x86_insn *insns, unsigned n)
{
	if (n == 0 || n > SOFT_BLOCK_MAX)
		return NULL;
	uint64_t cost = soft_icache_block_cost(n) + sizeof(struct soft_code_page);
	if (ic->bytes + cost > ic->budget)
		soft_icache_flush(ic);
	struct soft_code_page *pg = page_find(ic, pa >> 12, true);
	if (!pg)
		return NULL;
	struct soft_block *b = malloc(soft_icache_block_cost(n));
	if (!b)
		return NULL;
	ic->bytes += soft_icache_block_cost(n);
	memset(b, 0, sizeof(*b));
	b->pa = pa;
	b->rip = rip;
	b->mode = (uint8_t)mode;
	b->n = (uint16_t)n;
	for (unsigned i = 0; i < n; i++)
		b->bytes = (uint16_t)(b->bytes + insns[i].len);
	memcpy(b->insn, insns, n * sizeof(struct x86_insn));
	unsigned h = blk_hash(pa, mode);
	b->hnext = ic->blk[h];
	ic->blk[h] = b;
	b->pnext = pg->blocks;
	pg->blocks = b;
	ic->nblocks++;
	return b;
}

bool soft_icache_maybe_code(const struct soft_icache *ic, uint64_t pa)
{
	unsigned bit = filter_bit(pa >> 12);
	return ic->filter[bit / 64] & (1ULL << (bit % 64));
}

static void drop_page(struct soft_icache *ic, uint64_t ppn)
{
	unsigned h = page_hash(ppn);
	struct soft_code_page **pp = &ic->pages[h];
	while (*pp && (*pp)->ppn != ppn)
		pp = &(*pp)->next;
	struct soft_code_page *pg = *pp;
	if (!pg)
		return;
	*pp = pg->next;
	for (struct soft_block *b = pg->blocks, *nb; b; b = nb) {
		nb = b->pnext;
		struct soft_block **hp = &ic->blk[blk_hash(b->pa, b->mode)];
		while (*hp != b)
			hp = &(*hp)->hnext;
		*hp = b->hnext;
		b->hnext = ic->dead;
		ic->dead = b;
		ic->nblocks--;
		ic->bytes -= soft_icache_block_cost(b->n);
	}
	free(pg);
	ic->bytes -= sizeof(*pg);
	/* the filter bit stays set (it may be shared); harmless */
	soft_icache_bump_epoch(ic);
	ic->ninval++;
}

bool soft_icache_invalidate(struct soft_icache *ic, uint64_t pa, uint64_t len)
{
	bool any = false;
	if (!len)
		return false;
	uint64_t first = pa >> 12, last = (pa + len - 1) >> 12;
	for (uint64_t ppn = first; ppn <= last; ppn++) {
		unsigned bit = filter_bit(ppn);
		if (!(ic->filter[bit / 64] & (1ULL << (bit % 64))))
			continue;
		if (page_find(ic, ppn, false)) {
			drop_page(ic, ppn);
			any = true;
		}
		if (last - first > 1u << 20)
			break; /* absurd ranges: callers flush instead */
	}
	return any;
}

void soft_icache_reap(struct soft_icache *ic)
{
	free_chain(ic->dead);
	ic->dead = NULL;
}

/* Both tags from the generations, the space and the CPL (icache.h).  lgen
 * has 51 bits below the space's 10: it does not wrap in practice, and if it
 * did a tag could only match one 2^51 bumps old. */
static void retag(struct soft_icache *ic)
{
	const uint64_t space_mask = ~0ULL << 54; /* SOFT_TLB_SPACE_SHIFT (mmu/soft_mmu.h) */
	ic->epoch = (ic->space & space_mask) | ((ic->lgen << 3) & ~space_mask) | ic->cpl;
	ic->epoch_g = (ic->gen << 3) | 4 | ic->cpl;
}

void soft_icache_bump_epoch(struct soft_icache *ic)
{
	ic->gregions = 0; /* no global link is valid any more */
	ic->gen++;
	ic->lgen++;
	retag(ic);
}

void soft_icache_flush_page(struct soft_icache *ic, uint64_t la)
{
	if (ic->gregions & (1ULL << ((la >> 30) & 63)))
		soft_icache_bump_epoch(ic);
	else
		soft_icache_bump_nonglobal(ic);
}

void soft_icache_bump_nonglobal(struct soft_icache *ic)
{
	ic->lgen++;
	retag(ic);
}

void soft_icache_flush_spaces(struct soft_icache *ic)
{
	if (!ic->spaces)
		soft_icache_bump_nonglobal(ic);
}

void soft_icache_set_space(struct soft_icache *ic, uint64_t salt)
{
	ic->spaces = true;
	ic->space = salt;
	retag(ic);
}

void soft_icache_set_context(struct soft_icache *ic, unsigned cpl, uint64_t cs_base)
{
	ic->cpl = (uint8_t)(cpl & 3);
	if (cs_base != ic->cs_base) {
		ic->cs_base = cs_base;
		ic->gregions = 0;
		ic->gen++;
		ic->lgen++;
	}
	retag(ic);
}

void soft_icache_stats(const struct soft_icache *ic, uint64_t *blocks, uint64_t *invalidations)
{
	*blocks = ic->nblocks;
	*invalidations = ic->ninval;
}

void soft_icache_flush(struct soft_icache *ic)
{
	for (unsigned i = 0; i < BLK_HASH; i++) {
		struct soft_block *b = ic->blk[i];
		if (!b)
			continue;
		struct soft_block *tail = b;
		while (tail->hnext)
			tail = tail->hnext;
		tail->hnext = ic->dead;
		ic->dead = b;
		ic->blk[i] = NULL;
	}
	for (unsigned i = 0; i < PAGE_HASH; i++) {
		struct soft_code_page *p = ic->pages[i];
		while (p) {
			struct soft_code_page *n = p->next;
			free(p);
			p = n;
		}
		ic->pages[i] = NULL;
	}
	memset(ic->filter, 0, sizeof(ic->filter));
	ic->nblocks = 0;
	ic->bytes = 0;
	soft_icache_bump_epoch(ic);
	ic->nflush++;
}

void soft_icache_set_budget(struct soft_icache *ic, uint64_t budget)
{
	uint64_t min = soft_icache_block_cost(SOFT_BLOCK_MAX) + sizeof(struct soft_code_page);
	ic->budget = budget < min ? min : budget;
	if (ic->bytes > ic->budget)
		soft_icache_flush(ic);
}
