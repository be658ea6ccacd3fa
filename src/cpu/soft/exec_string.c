/* MOVS CMPS SCAS LODS STOS INS OUTS with REP/REPE/REPNE in 16/32/64-bit
 * address sizes.  A REP instruction runs at most REP_CHUNK iterations per
 * execution and then restarts itself (RIP unchanged), so interrupts/kicks
 * are seen and every iteration is restartable after a fault (registers are
 * updated per element, as on hardware).  Decoded blocks end after a string
 * instruction (F_REP rows) for this reason.  While single-stepping or with
 * data/I/O breakpoints armed, one iteration per execution: the #DB trap
 * comes after each iteration (SDM vol. 3, 18.3.1.4).
 *
 * REP MOVS and REP STOS also have a page-wise path (rep_run): the elements
 * that lie inside the current source page and destination page (and the
 * segments, without wrapping the address size) are done as one block copy
 * or fill on host memory (rep_fast.c) after one TLB translation of each
 * page, and rSI/rDI/rCX move by the whole run.  Where its conditions do
 * not hold (an element straddling a page, device memory, a page that would
 * fault, a segment limit, elements overlapping each other) one element goes
 * through the element loop, which raises the fault with the registers of
 * the elements before it, as on hardware; then the page-wise path is tried
 * again.  It copies at most REP_FAST_BYTES per execution before restarting
 * the instruction, so an interrupt waits for at most that much copying (an
 * interrupted REP string instruction resumes from its registers, SDM vol. 2
 * "REP/REPE/REPZ/REPNE/REPNZ"). */
#include "align_check.h"
#include "debug.h"
#include "rep_fast.h"

#define REP_CHUNK 16384
#define REP_FAST_BYTES (16u * 4096u)
#define REP_BYTES_PER_INSN 64u

struct sctx {
	unsigned sz, as;
	int64_t step;
	unsigned src_seg;
	unsigned chunk;   /* iterations per execution */
};

static inline void sctx_init(const struct soft_cpu *cpu, const struct x86_insn *in, struct sctx *c)
{
	c->sz = X86_OPND_SIZE(in->op->opnd[0]) == OS_b || X86_OPND_SIZE(in->op->opnd[1]) == OS_b ? 1 :
		(X86_OPND_SIZE(in->op->opnd[0]) == OS_z || X86_OPND_SIZE(in->op->opnd[1]) == OS_z) &&
		in->opsize == 8 ? 4 : in->opsize;
	c->as = in->addrsize;
	c->step = (cpu->rflags & X86_RFLAGS_DF) ? -(int64_t)c->sz : (int64_t)c->sz;
	c->src_seg = SEG_DS;
	c->chunk = unlikely((cpu->rflags & X86_RFLAGS_TF) ||
			    (cpu->dbg_armed & (SOFT_DBG_DATA | SOFT_DBG_IO))) ? 1 : REP_CHUNK;
	if ((in->prefixes & X86_PFX_SEG) && (cpu->mode != SOFT_MODE_64 || in->seg_override >= SEG_FS))
		c->src_seg = in->seg_override;
}

static inline uint64_t areg(const struct soft_cpu *cpu, unsigned r, unsigned as)
{
	return cpu->gpr[r] & sz_mask(as);
}

static inline void aadv(struct soft_cpu *cpu, unsigned r, const struct sctx *c)
{
	reg_set(cpu, r, c->as, true, cpu->gpr[r] + (uint64_t)c->step);
}

/* Returns true when a REP loop should stop before the next iteration
 * (count exhausted), decrementing rCX otherwise. */
static inline bool rep_done(struct soft_cpu *cpu, const struct sctx *c)
{
	return areg(cpu, GPR_RCX, c->as) == 0;
}

static inline void rep_dec(struct soft_cpu *cpu, const struct sctx *c)
{
	reg_set(cpu, GPR_RCX, c->as, true, cpu->gpr[GPR_RCX] - 1);
}

static inline int rep_restart(struct soft_cpu *cpu)
{
	cpu->next_rip = cpu->rip; /* re-execute: more iterations to go */
	/* an instruction breakpoint on it must not fire again for the next
	 * iterations: RF, as when hardware interrupts a repeated string
	 * instruction (SDM vol. 3, 18.3.1.1) */
	if (unlikely(soft_dbg_active(cpu)))
		cpu->rflags |= SOFT_RFLAGS_RF;
	return SOFT_OK;
}

/* Is [lo, hi] (offsets, hi the last byte) inside seg for need?  The
 * non-raising form of soft_seg_check_slow, for a whole run. */
static inline bool seg_range_ok(const struct soft_cpu *cpu, unsigned seg, uint64_t lo,
				uint64_t hi, unsigned need)
{
	if (likely(!(cpu->seg_slow[seg] & need)))
		return true;
	const struct soft_seg_rights *r = &cpu->segchk[seg];
	return (r->rights & need) == need && lo >= r->lo && hi <= r->hi;
}

/* Elements of a run starting at offset off of seg that stay inside its
 * linear 4 KiB page (up with DF=0, down with DF=1); 0: the element at off
 * straddles two pages (the element loop does it). */
static uint64_t run_room(const struct soft_cpu *cpu, const struct sctx *c, unsigned seg,
			 uint64_t off)
{
	uint64_t la = lin(cpu, seg, off);
	unsigned po = (unsigned)(la & 0xfff);
	if (po + c->sz > 4096)
		return 0;
	return c->step > 0 ? (4096 - po) / c->sz : po / c->sz + 1;
}

/* The run of n elements from off: the linear address of its lowest byte,
 * or false when it wraps the address size, leaves the segment, is not
 * contiguous in linear addresses (4 GiB wrap outside 64-bit mode) or not
 * canonical (the element loop then reports what the architecture says). */
static bool run_span(const struct soft_cpu *cpu, const struct sctx *c, unsigned seg,
		     uint64_t off, uint64_t n, unsigned need, uint64_t *la_lo)
{
	uint64_t mask = sz_mask(c->as), span = n * c->sz;
	uint64_t lo = c->step > 0 ? off : (off - (n - 1) * c->sz) & mask;
	uint64_t hi = (lo + span - 1) & mask;
	if (c->as < 8 && hi < lo)
		return false; /* wraps at 64 KiB / 4 GiB */
	if (!seg_range_ok(cpu, seg, lo, hi, need))
		return false;
	uint64_t a = lin(cpu, seg, lo), b = lin(cpu, seg, hi);
	if (b - a != span - 1)
		return false;
	if (cpu->mode == SOFT_MODE_64 && (!canonical(a) || !canonical(b)))
		return false;
	*la_lo = a;
	return true;
}

static inline uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* One page-wise run of REP MOVS (movs) or REP STOS: returns the elements
 * done (rSI, rDI and rCX updated), 0 when the next element must take the
 * element loop.  At most budget bytes.  The run is what lies inside the
 * current source and destination pages; going up (DF=0) it extends
 * through a large page when the translation says the memory continues
 * (page_ptr's *avail). */
static uint64_t rep_run(struct soft_cpu *cpu, const struct sctx *c, bool movs, uint64_t budget)
{
	uint64_t rsi = areg(cpu, GPR_RSI, c->as), rdi = areg(cpu, GPR_RDI, c->as);
	uint64_t n = min_u64(areg(cpu, GPR_RCX, c->as), budget / c->sz);
	uint64_t n4k = min_u64(n, run_room(cpu, c, SEG_ES, rdi));
	if (movs)
		n4k = min_u64(n4k, run_room(cpu, c, c->src_seg, rsi));
	if (!n4k)
		return 0;
	uint64_t src_la = 0, dst_la, pa, src_pa, avail = 0;
	uint8_t *src = NULL, *dst;
	struct soft_fault f;
	if (movs && !run_span(cpu, c, c->src_seg, rsi, n4k, SOFT_SEG_R, &src_la))
		return 0;
	if (!run_span(cpu, c, SEG_ES, rdi, n4k, SOFT_SEG_W, &dst_la))
		return 0;
	bool up = c->step > 0;
	uint64_t want = (up ? n : n4k) * c->sz;
	/* source first, as each element reads before it writes */
	if (movs) {
		if (cpu->ops->page_ptr(cpu->ops_opaque, src_la, false, want, &src, &src_pa, &avail, &f) ||
		    !src)
			return 0;
		n = min_u64(n, avail / c->sz);
	}
	if (cpu->ops->page_ptr(cpu->ops_opaque, dst_la, true, want, &dst, &pa, &avail, &f) || !dst)
		return 0;
	n = min_u64(n, avail / c->sz);
	/* beyond the 4 KiB pages (up only): the whole run's segment, address
	 * size and linear checks, else the 4 KiB run */
	if (!up || n <= n4k ||
	    (movs && !run_span(cpu, c, c->src_seg, rsi, n, SOFT_SEG_R, &src_la)) ||
	    !run_span(cpu, c, SEG_ES, rdi, n, SOFT_SEG_W, &dst_la))
		n = n4k;
	uint64_t span = n * c->sz;
	if (movs)
		soft_rep_copy(dst, src, span, c->sz, !up);
	else
		soft_rep_fill(dst, span, c->sz, cpu->gpr[GPR_RAX]);
	for (uint64_t p = pa & ~0xfffULL; p < pa + span; p += 4096)
		soft_note_code_write(cpu, p);
	/* Charge the slice one instruction per REP_BYTES_PER_INSN bytes: a
	 * long string ends the engine's slice (timers, interrupts) as soon as
	 * that much ordinary code would, not after 20000 whole executions. */
	uint64_t units = span / REP_BYTES_PER_INSN;
	cpu->rep_fast_bytes += span;
	cpu->rep_fast_runs++;
	cpu->icount += units;
	cpu->jit_budget -= (int64_t)units;
	uint64_t delta = (uint64_t)c->step * n;
	if (movs)
		reg_set(cpu, GPR_RSI, c->as, true, cpu->gpr[GPR_RSI] + delta);
	reg_set(cpu, GPR_RDI, c->as, true, cpu->gpr[GPR_RDI] + delta);
	reg_set(cpu, GPR_RCX, c->as, true, cpu->gpr[GPR_RCX] - n);
	return n;
}

/* The page-wise path applies: REP, not one iteration at a time (TF, data
 * breakpoints), not inside a LOCK transaction, not while alignment checks
 * may apply (align_check.h), and the memory ops have it. */
static inline bool rep_fast_ok(const struct soft_cpu *cpu, const struct x86_insn *in,
			       const struct sctx *c)
{
	return in->rep && c->chunk > 1 && cpu->ops->page_ptr && !cpu->tx &&
	       !soft_ac_active(cpu); /* #AC at CPL 3: the element loop checks (a
					* kernel's STAC'd copy at CPL 0 keeps the fast path) */
}

int soft_exec_movs(struct soft_cpu *cpu, const struct x86_insn *in)
{
	struct sctx c;
	sctx_init(cpu, in, &c);
	bool rep = in->rep, fast = rep_fast_ok(cpu, in, &c);
	uint64_t bytes = 0;
	for (unsigned n = 0;;) {
		if (rep && rep_done(cpu, &c))
			return SOFT_OK;
		if (n == c.chunk || bytes >= REP_FAST_BYTES)
			return rep_restart(cpu);
		if (fast) {
			uint64_t k = rep_run(cpu, &c, true, REP_FAST_BYTES - bytes);
			if (k) {
				bytes += k * c.sz;
				continue;
			}
		}
		n++;
		uint64_t v;
		int e = seg_read(cpu, c.src_seg, areg(cpu, GPR_RSI, c.as), c.sz, &v);
		if (e)
			return e;
		e = seg_write(cpu, SEG_ES, areg(cpu, GPR_RDI, c.as), c.sz, v);
		if (e)
			return e;
		aadv(cpu, GPR_RSI, &c);
		aadv(cpu, GPR_RDI, &c);
		if (!rep)
			return SOFT_OK;
		rep_dec(cpu, &c);
	}
}

int soft_exec_stos(struct soft_cpu *cpu, const struct x86_insn *in)
{
	struct sctx c;
	sctx_init(cpu, in, &c);
	bool rep = in->rep, fast = rep_fast_ok(cpu, in, &c);
	uint64_t v = cpu->gpr[GPR_RAX];
	uint64_t bytes = 0;
	for (unsigned n = 0;;) {
		if (rep && rep_done(cpu, &c))
			return SOFT_OK;
		if (n == c.chunk || bytes >= REP_FAST_BYTES)
			return rep_restart(cpu);
		if (fast) {
			uint64_t k = rep_run(cpu, &c, false, REP_FAST_BYTES - bytes);
			if (k) {
				bytes += k * c.sz;
				continue;
			}
		}
		n++;
		int e = seg_write(cpu, SEG_ES, areg(cpu, GPR_RDI, c.as), c.sz, v);
		if (e)
			return e;
		aadv(cpu, GPR_RDI, &c);
		if (!rep)
			return SOFT_OK;
		rep_dec(cpu, &c);
	}
}

int soft_exec_lods(struct soft_cpu *cpu, const struct x86_insn *in)
{
	struct sctx c;
	sctx_init(cpu, in, &c);
	bool rep = in->rep;
	for (unsigned n = 0;; n++) {
		if (rep && rep_done(cpu, &c))
			return SOFT_OK;
		if (n == c.chunk)
			return rep_restart(cpu);
		uint64_t v;
		int e = seg_read(cpu, c.src_seg, areg(cpu, GPR_RSI, c.as), c.sz, &v);
		if (e)
			return e;
		reg_set(cpu, GPR_RAX, c.sz, true, v);
		aadv(cpu, GPR_RSI, &c);
		if (!rep)
			return SOFT_OK;
		rep_dec(cpu, &c);
	}
}

/* CMPS: compares [rSI] - [rDI]; SCAS: rAX - [rDI].  REPE (F3) continues while
 * equal, REPNE (F2) while not equal. */
int soft_exec_cmps(struct soft_cpu *cpu, const struct x86_insn *in)
{
	struct sctx c;
	sctx_init(cpu, in, &c);
	uint8_t rep = in->rep;
	for (unsigned n = 0;; n++) {
		if (rep && rep_done(cpu, &c))
			return SOFT_OK;
		if (n == c.chunk)
			return rep_restart(cpu);
		uint64_t a, b;
		int e = seg_read(cpu, c.src_seg, areg(cpu, GPR_RSI, c.as), c.sz, &a);
		if (e)
			return e;
		e = seg_read(cpu, SEG_ES, areg(cpu, GPR_RDI, c.as), c.sz, &b);
		if (e)
			return e;
		lf_set(cpu, LF_SUB, c.sz, a - b, a, b);
		aadv(cpu, GPR_RSI, &c);
		aadv(cpu, GPR_RDI, &c);
		if (!rep)
			return SOFT_OK;
		rep_dec(cpu, &c);
		bool eq = a == b;
		if ((rep == 0xf3 && !eq) || (rep == 0xf2 && eq))
			return SOFT_OK;
	}
}

int soft_exec_scas(struct soft_cpu *cpu, const struct x86_insn *in)
{
	struct sctx c;
	sctx_init(cpu, in, &c);
	uint8_t rep = in->rep;
	uint64_t a = cpu->gpr[GPR_RAX] & sz_mask(c.sz);
	for (unsigned n = 0;; n++) {
		if (rep && rep_done(cpu, &c))
			return SOFT_OK;
		if (n == c.chunk)
			return rep_restart(cpu);
		uint64_t b;
		int e = seg_read(cpu, SEG_ES, areg(cpu, GPR_RDI, c.as), c.sz, &b);
		if (e)
			return e;
		lf_set(cpu, LF_SUB, c.sz, a - b, a, b);
		aadv(cpu, GPR_RDI, &c);
		if (!rep)
			return SOFT_OK;
		rep_dec(cpu, &c);
		bool eq = a == b;
		if ((rep == 0xf3 && !eq) || (rep == 0xf2 && eq))
			return SOFT_OK;
	}
}

/* I/O privilege: CPL <= IOPL or the TSS I/O bitmap (exec_sys.c). */
int soft_io_allowed(struct soft_cpu *cpu, uint16_t port, unsigned size);

static int pio_fault(struct soft_cpu *cpu, const struct soft_fault *f)
{
	return soft_raise(cpu, f->vector, f->has_error, f->error_code);
}

int soft_exec_ins(struct soft_cpu *cpu, const struct x86_insn *in)
{
	struct sctx c;
	sctx_init(cpu, in, &c);
	int e = soft_io_allowed(cpu, (uint16_t)cpu->gpr[GPR_RDX], c.sz);
	if (e)
		return e;
	bool rep = in->rep;
	uint16_t port = (uint16_t)cpu->gpr[GPR_RDX];
	for (unsigned n = 0;; n++) {
		if (rep && rep_done(cpu, &c))
			return SOFT_OK;
		if (n == c.chunk)
			return rep_restart(cpu);
		uint32_t v = 0;
		struct soft_fault f;
		uint64_t off = areg(cpu, GPR_RDI, c.as);
		/* the destination's segment is checked before the port is read */
		e = soft_seg_check(cpu, SEG_ES, off, c.sz, SOFT_SEG_W);
		if (e)
			return e;
		if (cpu->ops->pio_in(cpu->ops_opaque, port, c.sz, &v, &f))
			return pio_fault(cpu, &f);
		e = seg_write(cpu, SEG_ES, off, c.sz, v);
		if (e)
			return e;
		aadv(cpu, GPR_RDI, &c);
		if (!rep)
			return SOFT_OK;
		rep_dec(cpu, &c);
	}
}

int soft_exec_outs(struct soft_cpu *cpu, const struct x86_insn *in)
{
	struct sctx c;
	sctx_init(cpu, in, &c);
	int e = soft_io_allowed(cpu, (uint16_t)cpu->gpr[GPR_RDX], c.sz);
	if (e)
		return e;
	bool rep = in->rep;
	uint16_t port = (uint16_t)cpu->gpr[GPR_RDX];
	for (unsigned n = 0;; n++) {
		if (rep && rep_done(cpu, &c))
			return SOFT_OK;
		if (n == c.chunk)
			return rep_restart(cpu);
		uint64_t v;
		struct soft_fault f;
		e = seg_read(cpu, c.src_seg, areg(cpu, GPR_RSI, c.as), c.sz, &v);
		if (e)
			return e;
		if (cpu->ops->pio_out(cpu->ops_opaque, port, c.sz, (uint32_t)v, &f))
			return pio_fault(cpu, &f);
		aadv(cpu, GPR_RSI, &c);
		if (!rep)
			return SOFT_OK;
		rep_dec(cpu, &c);
	}
}
