/* Loop regions: finding a cycle of decoded blocks through a head (see
 * region.h and docs/soft-cpu.md, "Loop regions"). */
#include "region.h"

#include "branch.h"


#define PAGE_MASK (~(uint64_t)0xfff)

/* Block look-ups one search may make (every translation searches: most
 * blocks are no loop's head, and the search should cost them little) */
#define REGION_VISITS 64

bool jit_region_branch(const struct x86_insn *in, uint64_t rip, uint64_t *target, uint64_t *next)
{
	uint64_t nx = rip + in->len;
	if (!jit_is_direct_branch(in) || !jit_branch_target(in, nx, target))
		return false;
	*next = jit_is_jcc(in) ? nx : 0;
	return true;
}

struct search {
	struct soft_icache *ic;
	const struct soft_block *head;
	struct jit_region *r;
	unsigned depth; /* blocks in the cycle looked for */
	unsigned visits; /* look-ups left (REGION_VISITS) */
};

/* The decoded block at rip, when it can join the region: in the head's
 * physical page (all of it; rip and the head's RIP are offsets from the
 * same CS base, so the distance between them is the same in physical
 * addresses within a page), in the head's mode, decoded at rip, not
 * already in the path, ending in a direct branch. */
static const struct soft_block *member(struct search *s, uint64_t rip, unsigned k)
{
	const struct soft_block *h = s->head;
	uint64_t pa = h->pa + (rip - h->rip);
	if ((pa & PAGE_MASK) != (h->pa & PAGE_MASK) || !s->visits)
		return NULL;
	s->visits--;
	const struct soft_block *b = soft_icache_lookup(s->ic, pa, h->mode);
	if (!b || b->rip != rip || !b->n || ((pa + b->bytes - 1) & PAGE_MASK) != (pa & PAGE_MASK))
		return NULL;
	for (unsigned i = 0; i < k; i++)
		if (s->r->blk[i] == b)
			return NULL;
	uint64_t tg, nx;
	if (!jit_region_branch(&b->insn[b->n - 1], rip + b->bytes - b->insn[b->n - 1].len, &tg, &nx))
		return NULL;
	return b;
}

/* Depth-first: blk[0..k-1] placed, ninsn instructions; place blk[k]'s
 * successor or close the cycle. */
static bool extend(struct search *s, unsigned k, unsigned ninsn)
{
	struct jit_region *r = s->r;
	const struct soft_block *b = r->blk[k - 1];
	uint64_t tg, nx;
	const struct x86_insn *last = &b->insn[b->n - 1];
	if (!jit_region_branch(last, b->rip + b->bytes - last->len, &tg, &nx))
		return false;
	if (k == s->depth) { /* the last block: a way back to the head */
		r->seg[k - 1].taken = tg == s->head->rip;
		return tg == s->head->rip || nx == s->head->rip;
	}
	for (unsigned way = 0; way < 2; way++) { /* the branch target first */
		uint64_t to = way ? nx : tg;
		if (!to || to == s->head->rip)
			continue;
		const struct soft_block *c = member(s, to, k);
		if (!c || ninsn + c->n > SOFT_BLOCK_MAX)
			continue;
		r->blk[k] = c;
		r->seg[k - 1].taken = !way;
		r->seg[k].first = (uint16_t)ninsn;
		r->seg[k].count = c->n;
		if (extend(s, k + 1, ninsn + c->n))
			return true;
	}
	return false;
}

bool jit_region_find(struct soft_icache *ic, const struct soft_block *head, struct jit_region *r)
{
	uint64_t tg, nx;
	if (!ic || !head->n || head->n > SOFT_BLOCK_MAX)
		return false;
	const struct x86_insn *last = &head->insn[head->n - 1];
	if (!jit_region_branch(last, head->rip + head->bytes - last->len, &tg, &nx) || tg == head->rip)
		return false;
	struct search s = { .ic = ic, .head = head, .r = r, .visits = REGION_VISITS };
	r->blk[0] = head;
	r->seg[0].first = 0;
	r->seg[0].count = head->n;
	for (s.depth = 2; s.depth <= JIT_REGION_BLOCKS; s.depth++) {
		if (extend(&s, 1, head->n)) {
			r->nseg = s.depth;
			r->n = r->seg[s.depth - 1].first + r->seg[s.depth - 1].count;
			return true;
		}
	}
	return false;
}
