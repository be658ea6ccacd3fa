/* CPU core: init, the fetch-decode-execute loop, memory helpers, exceptions
 * and state conversion. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic.h"
#include "debug.h"
#include "exec.h"
#include "host_isa.h"
#include "icache.h"
#include "jit/jit.h"
#include "align_check.h"

/* ---- exceptions ---- */

int soft_raise(struct soft_cpu *cpu, unsigned vector, bool has_error, uint32_t error_code)
{
	cpu->exc.vector = (uint8_t)vector;
	cpu->exc.kind = SOFT_EV_FAULT;
	cpu->exc.has_error = has_error;
	cpu->exc.error_code = error_code;
	cpu->exc.cr2 = 0;
	return SOFT_EXC;
}

int soft_ud(struct soft_cpu *cpu)
{
	return soft_raise(cpu, X86_EXC_UD, false, 0);
}

int soft_gp0(struct soft_cpu *cpu)
{
	return soft_raise(cpu, X86_EXC_GP, true, 0);
}

static int from_fault(struct soft_cpu *cpu, const struct soft_fault *f)
{
	cpu->exc.vector = f->vector;
	cpu->exc.kind = SOFT_EV_FAULT;
	cpu->exc.has_error = f->has_error;
	cpu->exc.error_code = f->error_code;
	cpu->exc.cr2 = f->cr2;
	return SOFT_EXC;
}

/* ---- addresses and memory ---- */

uint64_t soft_linear(const struct soft_cpu *cpu, unsigned seg, uint64_t off)
{
	return lin(cpu, seg, off);
}

static inline __attribute__((always_inline)) uint64_t ea_set(struct soft_cpu *cpu, unsigned seg,
							       uint64_t off)
{
	uint64_t la = lin(cpu, seg, off);
	cpu->ea_la = la;
	cpu->ea_seg = (uint8_t)seg;
	cpu->ea_slow = cpu->seg_slow[seg];
	return la;
}

uint64_t soft_ea_seg(struct soft_cpu *cpu, unsigned seg, uint64_t off)
{
	return ea_set(cpu, seg, off);
}

uint64_t soft_ea(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return ea_set(cpu, in->seg, ea_off(cpu, in));
}

/* Segment check of an access to la inside the last operand (legacy modes;
 * in 64-bit mode every segment is flat here).  A multi-part operand (LxS,
 * FXSAVE, far pointers) is accessed at its address plus an offset below
 * 4 KiB; an address further away is not this operand's and is left alone. */
static int ea_check_slow(struct soft_cpu *cpu, uint64_t la, unsigned len, unsigned need)
{
	uint64_t delta = (uint32_t)(la - cpu->ea_la);
	if (delta >= 4096)
		return SOFT_OK;
	/* outside 64-bit mode the operand's offset (at most 32 bits) is its
	 * linear address minus the segment base, modulo 4 GiB */
	uint64_t off = (uint32_t)(cpu->ea_la - cpu->seg[cpu->ea_seg].base);
	return soft_seg_check_slow(cpu, cpu->ea_seg, off + delta, len, need);
}

/* 64-bit mode: both ends of an access must be canonical, else #GP(0). */
static inline bool bad_la(const struct soft_cpu *cpu, uint64_t la, unsigned len)
{
	return cpu->mode == SOFT_MODE_64 && (!canonical(la) || !canonical(la + len - 1));
}

/* #GP(0), or #SS(0) when the address came from an SS-based operand */
static int noncanonical(struct soft_cpu *cpu, uint64_t la)
{
	if (la == cpu->ea_la && cpu->ea_seg == SEG_SS)
		return soft_raise(cpu, X86_EXC_SS, true, 0);
	return soft_gp0(cpu);
}

/* The accesses proper (no segment check), inlined into both the checked
 * and the _lin entry points: the checked ones are the interpreter's hot
 * path. */
static inline __attribute__((always_inline)) int read_lin(struct soft_cpu *cpu, uint64_t la,
							   void *dst, unsigned len)
{
	struct soft_fault f;
	if (unlikely(bad_la(cpu, la, len)))
		return noncanonical(cpu, la);
	if (unlikely(cpu->ops->read(cpu->ops_opaque, la, dst, len, SOFT_ACC_READ, &f)))
		return from_fault(cpu, &f);
	return SOFT_OK;
}

/* The checked accesses: one test of the operand's precomputed rights; a
 * non-flat segment goes through an out-of-line path, which keeps the
 * common one free of register saves. */
static __attribute__((noinline)) int read_seg_slow(struct soft_cpu *cpu, uint64_t la, void *dst,
						     unsigned len)
{
	int e = cpu->ea_slow & SOFT_SEG_R ? ea_check_slow(cpu, la, len, SOFT_SEG_R) : SOFT_OK;
	if (!e && (cpu->ea_slow & SOFT_SEG_AC))
		e = soft_ac_check(cpu, la, len);
	return e ? e : read_lin(cpu, la, dst, len);
}

int soft_read(struct soft_cpu *cpu, uint64_t la, void *dst, unsigned len)
{
	if (unlikely(cpu->ea_slow & (SOFT_SEG_R | SOFT_SEG_AC)))
		return read_seg_slow(cpu, la, dst, len);
	return read_lin(cpu, la, dst, len);
}

int soft_read_lin(struct soft_cpu *cpu, uint64_t la, void *dst, unsigned len)
{
	return read_lin(cpu, la, dst, len);
}

static inline __attribute__((always_inline)) int read_rmw_lin(struct soft_cpu *cpu, uint64_t la,
							       void *dst, unsigned len)
{
	struct soft_fault f;
	int status;
	if (unlikely(bad_la(cpu, la, len)))
		return noncanonical(cpu, la);
	if (unlikely(cpu->tx) && soft_atomic_read(cpu, la, dst, len, &status))
		return status;
	if (unlikely(cpu->ops->read(cpu->ops_opaque, la, dst, len, SOFT_ACC_RMW, &f)))
		return from_fault(cpu, &f);
	return SOFT_OK;
}

static __attribute__((noinline)) int read_rmw_seg_slow(struct soft_cpu *cpu, uint64_t la,
							 void *dst, unsigned len)
{
	int e = cpu->ea_slow & (SOFT_SEG_R | SOFT_SEG_W)
			? ea_check_slow(cpu, la, len, SOFT_SEG_R | SOFT_SEG_W) : SOFT_OK;
	if (!e && (cpu->ea_slow & SOFT_SEG_AC))
		e = soft_ac_check(cpu, la, len);
	return e ? e : read_rmw_lin(cpu, la, dst, len);
}

int soft_read_rmw(struct soft_cpu *cpu, uint64_t la, void *dst, unsigned len)
{
	if (unlikely(cpu->ea_slow & (SOFT_SEG_R | SOFT_SEG_W | SOFT_SEG_AC)))
		return read_rmw_seg_slow(cpu, la, dst, len);
	return read_rmw_lin(cpu, la, dst, len);
}

int soft_read_rmw_lin(struct soft_cpu *cpu, uint64_t la, void *dst, unsigned len)
{
	return read_rmw_lin(cpu, la, dst, len);
}

static inline __attribute__((always_inline)) void code_written(struct soft_cpu *cpu,
								 const uint64_t pa[2], unsigned len)
{
	struct soft_icache *ic = cpu->icache;
	bool hit = false;
	if (pa[0] != ~0ULL && soft_icache_maybe_code(ic, pa[0]))
		hit |= soft_icache_invalidate(ic, pa[0], 1);
	if (pa[1] != ~0ULL && (pa[1] >> 12) != (pa[0] >> 12) && soft_icache_maybe_code(ic, pa[1]))
		hit |= soft_icache_invalidate(ic, pa[1], 1);
	(void)len;
	if (hit)
		cpu->block_stop = 1;
}

static inline __attribute__((always_inline)) int write_lin(struct soft_cpu *cpu, uint64_t la,
							    const void *src, unsigned len)
{
	struct soft_fault f;
	uint64_t pa[2] = { ~0ULL, ~0ULL };
	if (unlikely(bad_la(cpu, la, len)))
		return noncanonical(cpu, la);
	if (unlikely(cpu->tx) && soft_atomic_write(cpu, la, src, len))
		return SOFT_OK;
	if (unlikely(cpu->ops->write(cpu->ops_opaque, la, src, len, pa, &f)))
		return from_fault(cpu, &f);
	if (cpu->icache)
		code_written(cpu, pa, len);
	return SOFT_OK;
}

void soft_note_code_write(struct soft_cpu *cpu, uint64_t pa)
{
	const uint64_t pas[2] = { pa, pa };
	if (cpu->icache)
		code_written(cpu, pas, 1);
}

int soft_check_access(struct soft_cpu *cpu, uint64_t la, unsigned acc)
{
	struct soft_fault f;
	/* segment limit and type: checked like a one-byte read (CLFLUSH:
	 * "treated as a byte load" for the checks, SDM vol. 2) */
	if (unlikely(cpu->ea_slow & SOFT_SEG_R)) {
		int e = ea_check_slow(cpu, la, 1, SOFT_SEG_R);
		if (e)
			return e;
	}
	if (unlikely(bad_la(cpu, la, 1)))
		return noncanonical(cpu, la);
	if (!cpu->ops->probe) {
		uint8_t b;
		if (cpu->ops->read(cpu->ops_opaque, la, &b, 1, acc, &f))
			return from_fault(cpu, &f);
		return SOFT_OK;
	}
	if (cpu->ops->probe(cpu->ops_opaque, la, acc, &f))
		return from_fault(cpu, &f);
	return SOFT_OK;
}

static __attribute__((noinline)) int write_seg_slow(struct soft_cpu *cpu, uint64_t la,
						      const void *src, unsigned len)
{
	int e = cpu->ea_slow & SOFT_SEG_W ? ea_check_slow(cpu, la, len, SOFT_SEG_W) : SOFT_OK;
	if (!e && (cpu->ea_slow & SOFT_SEG_AC))
		e = soft_ac_check(cpu, la, len);
	return e ? e : write_lin(cpu, la, src, len);
}

int soft_write(struct soft_cpu *cpu, uint64_t la, const void *src, unsigned len)
{
	if (unlikely(cpu->ea_slow & (SOFT_SEG_W | SOFT_SEG_AC)))
		return write_seg_slow(cpu, la, src, len);
	return write_lin(cpu, la, src, len);
}

int soft_write_lin(struct soft_cpu *cpu, uint64_t la, const void *src, unsigned len)
{
	return write_lin(cpu, la, src, len);
}

/* ---- mode ---- */

void soft_cpu_update_mode(struct soft_cpu *cpu)
{
	const struct x86_segment *cs = &cpu->seg[SEG_CS];
	uint8_t old_mode = cpu->mode;
	if ((cpu->efer & X86_EFER_LMA) && cs->l)
		cpu->mode = SOFT_MODE_64;
	else if ((cpu->cr0 & X86_CR0_PE) && cs->db)
		cpu->mode = SOFT_MODE_32;
	else
		cpu->mode = SOFT_MODE_16;
	cpu->cpl = (cpu->cr0 & X86_CR0_PE) ? (cs->selector & 3) : 0;
	if ((cpu->cr0 & X86_CR0_PE) && !(cpu->efer & X86_EFER_LMA) && (cpu->rflags & (1ULL << 17))) {
		/* virtual-8086 mode (EFLAGS.VM): 16-bit code at CPL 3 (SDM 20.1) */
		cpu->mode = SOFT_MODE_16;
		cpu->cpl = 3;
	}
	/* in 64-bit mode every segment's rights are the same flat ones
	 * (seg_check.c), so a CS load that stays in it (SYSCALL, SYSRET,
	 * IRETQ, an event delivery) has nothing to recompute */
	if (cpu->mode != SOFT_MODE_64 || old_mode != SOFT_MODE_64)
		soft_seg_refresh(cpu);
	else
		soft_ac_refresh(cpu); /* CR0.AM may have changed (set_sregs) */
	/* Chains survive CPL changes (the epoch carries the CPL) and CS loads
	 * that keep the base; a block that changes the decode mode ends, so no
	 * translated chain slot is filled across it (icache.h). */
	if (cpu->icache)
		soft_icache_set_context(cpu->icache, cpu->cpl, cs->base);
	if (cpu->mode != old_mode)
		cpu->block_stop = 1;
}

/* ---- init ---- */

static void seg_real(struct x86_segment *s, uint16_t sel, uint8_t type)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->base = (uint64_t)sel << 4;
	s->limit = 0xffff;
	s->type = type;
	s->s = 1;
	s->present = 1;
}

/* Power-on / INIT state (SDM vol. 3, 10.1.1).  Keeps the attachments
 * (memory ops, system hooks, icache) and the counters. */
void soft_cpu_reset(struct soft_cpu *cpu)
{
	const struct soft_mem_ops *ops = cpu->ops;
	void *opaque = cpu->ops_opaque;
	const struct soft_sys_ops *sys = cpu->sys;
	struct soft_icache *ic = cpu->icache;
	struct soft_jit *jit = cpu->jit;
	const void *jit_tlb = cpu->jit_tlb;
	uint64_t tlb_salt = cpu->tlb_salt, tlb_slot_off = cpu->tlb_slot_off;
	uint64_t *ud_by_insn = cpu->ud_by_insn;
	uint64_t icount = cpu->icount, hits = cpu->icache_hits, misses = cpu->icache_misses,
		 unc = cpu->uncached_insns, shr = cpu->shadow_runs, exd = cpu->exc_delivered,
		 tsc_offset = cpu->tsc_offset;
	uint8_t deliver_exc = cpu->deliver_exc;
	const _Atomic unsigned *irq_attn = cpu->irq_attn;
	unsigned irq_attn_bits = cpu->irq_attn_bits;
	uint32_t host_isa = cpu->host_isa;
	uint64_t xcr0 = cpu->xcr0;
	memset(cpu, 0, sizeof(*cpu));
	cpu->host_isa = host_isa;
	cpu->ops = ops;
	cpu->ops_opaque = opaque;
	cpu->sys = sys;
	cpu->icache = ic;
	cpu->jit = jit;
	cpu->jit_tlb = jit_tlb;
	cpu->tlb_salt = tlb_salt;
	cpu->tlb_slot_off = tlb_slot_off;
	cpu->ud_by_insn = ud_by_insn;
	cpu->icount = icount;
	cpu->icache_hits = hits;
	cpu->icache_misses = misses;
	cpu->uncached_insns = unc;
	cpu->shadow_runs = shr;
	cpu->exc_delivered = exd;
	cpu->deliver_exc = deliver_exc;
	cpu->irq_attn = irq_attn;
	cpu->irq_attn_bits = irq_attn_bits;
	cpu->tsc_offset = tsc_offset;
	for (int i = 0; i < SEG_COUNT; i++)
		seg_real(&cpu->seg[i], 0, 3);
	seg_real(&cpu->seg[SEG_CS], 0xf000, 0xb);
	cpu->seg[SEG_CS].base = 0xffff0000;
	cpu->rip = 0xfff0;
	cpu->rflags = X86_RFLAGS_FIXED;
	cpu->gpr[GPR_RDX] = 0x600;
	cpu->cr0 = X86_CR0_ET | X86_CR0_CD | X86_CR0_NW;
	cpu->gdt.limit = cpu->idt.limit = 0xffff;
	cpu->tr.limit = cpu->ldt.limit = 0xffff;
	cpu->tr.type = 0xb;
	cpu->tr.present = cpu->ldt.present = 1;
	cpu->ldt.type = 2;
	cpu->apic_base = 0xfee00000 | (1u << 11) | (1u << 8);
	cpu->pat = 0x0007040600070406ULL;
	cpu->misc_enable = 1; /* fast strings */
	/* XCR0: 1 at power-up and RESET, unchanged by INIT (SDM vol. 3, Table
	 * 10-1).  soft_cpu_init() comes here with 0, a machine reset recreates
	 * the vCPU; a later call is an INIT. */
	cpu->xcr0 = xcr0 ? xcr0 : 1;
	cpu->dr[6] = SOFT_DR6_FIXED;
	cpu->dr[7] = SOFT_DR7_FIXED;
	cpu->fpu.fcw = 0x37f;
	cpu->mxcsr = 0x1f80;
	soft_cpu_update_mode(cpu);
	soft_cpu_flush_code_tlb(cpu);
	if (sys && sys->tlb_flush)
		sys->tlb_flush(sys->opaque, SOFT_FLUSH_ALL, 0);
}

void soft_cpu_sipi(struct soft_cpu *cpu, uint8_t vector)
{
	seg_real(&cpu->seg[SEG_CS], (uint16_t)(vector << 8), 0xb);
	cpu->rip = 0;
	soft_cpu_update_mode(cpu);
}

int soft_cpu_init(struct soft_cpu *cpu, const struct soft_mem_ops *ops, void *opaque, bool icache)
{
	memset(cpu, 0, sizeof(*cpu));
	cpu->ops = ops;
	cpu->ops_opaque = opaque;
	cpu->host_isa = soft_host_isa_probe();
	soft_cpu_reset(cpu);
	cpu->ud_by_insn = calloc(X86_I_COUNT, sizeof(*cpu->ud_by_insn));
	if (!cpu->ud_by_insn)
		return -ENOMEM;
	if (icache) {
		cpu->icache = soft_icache_new();
		if (!cpu->icache)
			return -ENOMEM;
	}
	return 0;
}

void soft_cpu_destroy(struct soft_cpu *cpu)
{
	soft_icache_free(cpu->icache);
	cpu->icache = NULL;
	soft_jit_free(cpu->jit);
	cpu->jit = NULL;
	free(cpu->ud_by_insn);
	cpu->ud_by_insn = NULL;
}

void soft_cpu_kick(struct soft_cpu *cpu)
{
	__atomic_store_n(&cpu->kick, 1, __ATOMIC_RELEASE);
}

void soft_cpu_invalidate_code(struct soft_cpu *cpu, uint64_t pa, uint64_t len)
{
	if (cpu->icache && soft_icache_invalidate(cpu->icache, pa, len))
		cpu->block_stop = 1;
}

void soft_cpu_flush_code_tlb(struct soft_cpu *cpu)
{
	if (cpu->icache)
		soft_icache_bump_epoch(cpu->icache);
}

void soft_cpu_flush_code_page(struct soft_cpu *cpu, uint64_t la)
{
	if (!cpu->icache)
		return;
	/* 64-bit mode only: the regions are noted from lin(), which wraps
	 * at 4 GiB elsewhere; a legacy-mode INVLPG kills every link */
	if (cpu->mode == SOFT_MODE_64)
		soft_icache_flush_page(cpu->icache, la);
	else
		soft_icache_bump_epoch(cpu->icache);
}

void soft_cpu_flush_code_tlb_nonglobal(struct soft_cpu *cpu)
{
	if (cpu->icache)
		soft_icache_flush_spaces(cpu->icache); /* icache.h: free with the MMU's spaces */
}

/* ---- fetch and decode ---- */

/* Fetch and decode the instruction at cpu->rip.  *pa = physical address of
 * its first byte; *crosses = it spans two pages. */
static int fetch_decode(struct soft_cpu *cpu, struct x86_insn *in, uint64_t *pa, bool *crosses)
{
	uint8_t buf[X86_MAX_INSN_LEN];
	struct soft_fault f;
	uint64_t la = lin(cpu, SEG_CS, cpu->rip);
	unsigned n = 4096 - (unsigned)(la & 4095);
	if (n > X86_MAX_INSN_LEN)
		n = X86_MAX_INSN_LEN;
	if (cpu->ops->fetch(cpu->ops_opaque, la, buf, n, pa, &f))
		return from_fault(cpu, &f);
	int r = x86_decode(buf, n, (enum soft_mode)cpu->mode, in);
	*crosses = false;
	if (r == X86_DEC_MORE) {
		uint64_t pa2;
		if (cpu->ops->fetch(cpu->ops_opaque, la + n, buf + n, X86_MAX_INSN_LEN - n, &pa2, &f))
			return from_fault(cpu, &f);
		*crosses = true;
		r = x86_decode(buf, X86_MAX_INSN_LEN, (enum soft_mode)cpu->mode, in);
	}
	if (r == X86_DEC_GP)
		return soft_gp0(cpu);
	if (r != X86_DEC_OK) {
		soft_count_ud(cpu, X86_I_INVALID);
		return soft_ud(cpu);
	}
	return SOFT_OK;
}

static inline int exec_insn(struct soft_cpu *cpu, const struct x86_insn *in)
{
	cpu->next_rip = cpu->rip + in->len;
	int r = unlikely(in->prefixes & X86_PFX_ATOMIC) ? soft_exec_atomic(cpu, in) : in->exec(cpu, in);
	if (likely(r == SOFT_OK)) {
		cpu->rip = cpu->next_rip;
		cpu->icount++;
	}
	return r;
}

int soft_cpu_step(struct soft_cpu *cpu)
{
	if (unlikely(soft_dbg_active(cpu)))
		return soft_dbg_step(cpu);
	return soft_cpu_step_plain(cpu);
}

int soft_cpu_step_plain(struct soft_cpu *cpu)
{
	struct x86_insn in;
	uint64_t pa;
	bool crosses;
	cpu->shadow = 0; /* an interrupt shadow covers this one instruction */
	int r = fetch_decode(cpu, &in, &pa, &crosses);
	if (r)
		return r;
	cpu->uncached_insns++;
	return exec_insn(cpu, &in);
}

void soft_specialize(struct x86_insn *in); /* exec_fast.c */

/* Decode a block starting at cpu->rip (physical pa) without executing it. */
static struct soft_block *build_block(struct soft_cpu *cpu, uint64_t pa)
{
	uint8_t page[4096];
	struct x86_insn insns[SOFT_BLOCK_MAX];
	struct soft_fault f;
	uint64_t la = lin(cpu, SEG_CS, cpu->rip);
	unsigned off = (unsigned)(la & 4095), avail = 4096 - off, pos = 0, n = 0;
	uint64_t pa0;
	if (cpu->ops->fetch(cpu->ops_opaque, la, page, avail, &pa0, &f))
		return NULL;
	while (n < SOFT_BLOCK_MAX && pos < avail) {
		struct x86_insn *in = &insns[n];
		if (x86_decode(page + pos, avail - pos, (enum soft_mode)cpu->mode, in) != X86_DEC_OK)
			break;
		soft_specialize(in);
		n++;
		pos += in->len;
		if (!in->op || (in->op->flags & (F_BRANCH | F_STOP | F_REP)))
			break;
	}
	if (!n)
		return NULL;
	return soft_icache_insert(cpu->icache, pa, cpu->rip, cpu->mode, insns, n);
}

static struct soft_block *find_block(struct soft_cpu *cpu)
{
	struct soft_fault f;
	uint8_t dummy;
	uint64_t pa;
	uint64_t la = lin(cpu, SEG_CS, cpu->rip);
	if (cpu->ops->fetch(cpu->ops_opaque, la, &dummy, 1, &pa, &f))
		return NULL; /* the uncached step reports the fault */
	if (pa == ~0ULL)
		return NULL;
	struct soft_block *b = soft_icache_lookup(cpu->icache, pa, cpu->mode);
	if (b) {
		cpu->icache_hits++;
		return b;
	}
	cpu->icache_misses++;
	return build_block(cpu, pa);
}

/* overrun (the engine's slices, soft_cpu_run_slice): max is where the run
 * stops starting blocks, not an exact count.  A block (decoded or
 * translated, and a chain of translated ones) starts whenever fewer than
 * max instructions retired, so the run ends less than one block
 * (SOFT_BLOCK_MAX) past max; without it a block runs only when it fits in
 * what is left, and the tail of the run is stepped one instruction at a
 * time, so that max is exact. */
static int run_blocks(struct soft_cpu *cpu, uint64_t max, bool overrun)
{
	uint64_t start = cpu->icount;
	int r = SOFT_STOP;
	struct soft_icache *ic = cpu->icache;
	struct soft_block *prev = NULL;
	unsigned prev_slot = 0;

	/* An STI / MOV SS interrupt shadow (SDM vol. 3, 6.8.3) covers the next
	 * instruction: that instruction runs as the first one of whatever block
	 * comes next (translated or not), and the kick (the only way an event
	 * gets in between two instructions here) is not looked at before it has
	 * run.  cpu->shadow_held: the shadow taken off cpu->shadow for it (here,
	 * or by translated code going on into the next block after an STI:
	 * translate.c, chain_checks); shadow_held_at / _rip: the instruction
	 * count and RIP it was taken at, to give it back if the loop stops
	 * before that instruction ran (the budget, a block that left at its
	 * first instruction): then the engine still sees the shadow and
	 * delivers nothing before it.  With the kick set at the shadow (an
	 * interrupt pending when STI set IF) the shadowed instruction runs
	 * alone, so the interrupt comes exactly one instruction later. */
	cpu->jit_link = NULL; /* chain slots are filled only between blocks of one run */
	for (;;) {
		uint64_t total = cpu->icount - start;
		if (total >= max)
			break;
		if (unlikely(cpu->shadow_held) &&
		    (cpu->icount != cpu->shadow_held_at || cpu->rip != cpu->shadow_held_rip))
			cpu->shadow_held = 0; /* the shadowed instruction ran (or an event was delivered) */
		/* TF, RF or a breakpoint: one checked instruction at a time
		 * (debug.c, which also knows the MOV SS #DB shadow, so a shadow is
		 * left to it); POPF, IRET, MOV DR end their block.  Under a shadow
		 * the kick is not looked at (above). */
		bool dbg = unlikely(soft_dbg_active(cpu));
		if (unlikely(cpu->shadow) && !dbg) {
			cpu->shadow_held = cpu->shadow;
			cpu->shadow_held_at = cpu->icount;
			cpu->shadow_held_rip = cpu->rip;
			cpu->shadow = 0;
			prev = NULL;
			cpu->shadow_runs++;
			if (__atomic_load_n(&cpu->kick, __ATOMIC_ACQUIRE)) {
				/* an event waits (an STI with an interrupt
				 * pending: soft_cpu_if_set): the shadowed
				 * instruction alone, then the kick ends the run,
				 * so the interrupt is taken right after it */
				cpu->jit_link = NULL;
				r = soft_cpu_step_plain(cpu);
				if (r)
					break;
				continue;
			}
		} else if (unlikely(!cpu->shadow && !cpu->shadow_held &&
				    __atomic_load_n(&cpu->kick, __ATOMIC_ACQUIRE))) {
			__atomic_store_n(&cpu->kick, 0, __ATOMIC_RELAXED);
			r = SOFT_STOP;
			break;
		}
		if (dbg) {
			prev = NULL;
			cpu->jit_link = NULL;
			r = soft_cpu_step(cpu);
			if (r)
				break;
			continue;
		}
		struct soft_block *b = NULL;
		bool global = false; /* b's linear page is mapped global (icache.h, tags) */
		if (likely(ic)) {
			if (unlikely(soft_icache_has_dead(ic))) {
				soft_icache_reap(ic);
				cpu->jit_link = NULL;
			}
			if (prev && soft_icache_tag_valid(ic, prev->succ_epoch[prev_slot]) &&
			    prev->succ[prev_slot]->rip == cpu->rip && prev->succ[prev_slot]->mode == cpu->mode) {
				b = prev->succ[prev_slot];
				global = soft_icache_tag_global(prev->succ_epoch[prev_slot]);
				cpu->icache_hits++;
			} else if (cpu->mode == SOFT_MODE_64 &&
				   (b = soft_icache_jump_find(ic, cpu->rip, cpu->mode, &global))) {
				cpu->icache_hits++;
				if (prev) {
					prev->succ[prev_slot] = b;
					prev->succ_epoch[prev_slot] = soft_icache_tag(ic, global);
				}
			} else {
				cpu->fetch_global = 0;
				b = find_block(cpu);
				global = cpu->fetch_global;
				if (global)
					soft_icache_note_global(ic, lin(cpu, SEG_CS, cpu->rip));
				/* 64-bit mode only: there RIP is the linear address
				 * (CS base 0) and there is no CS limit the fetch
				 * would check */
				if (b && cpu->mode == SOFT_MODE_64)
					soft_icache_jump_note(ic, cpu->rip, b, soft_icache_tag(ic, global));
				if (b && prev) {
					prev->succ[prev_slot] = b;
					prev->succ_epoch[prev_slot] = soft_icache_tag(ic, global);
				}
			}
		}
		bool fits = b && (overrun || b->n <= max - total);
		/* alignment checking (align_check.h): translated code does
		 * not check, so user code with AC set is interpreted */
		if (fits && cpu->jit && !soft_ac_active(cpu)) {
			/* the translation tier (jit/jit.h): runs b, and blocks
			 * chained after it, when b is translated (at its RIP: a
			 * translation has its block's RIPs built in) */
			int jr;
			if (soft_jit_run(cpu, b, global, max - total, overrun, &jr)) {
				prev = NULL;
				if (jr) {
					r = jr;
					break;
				}
				continue;
			}
		}
		cpu->jit_link = NULL;
		if (!fits) {
			prev = NULL;
			r = soft_cpu_step(cpu);
			if (r)
				break;
			continue;
		}
		/* execute the block */
		const struct x86_insn *in = b->insn;
		unsigned i = 0, n = b->n;
		uint64_t rip = cpu->rip, block_rip = rip;
		cpu->block_stop = 0;
		r = SOFT_OK;
		do {
			cpu->next_rip = rip + in->len;
			r = unlikely(in->prefixes & X86_PFX_ATOMIC) ? soft_exec_atomic(cpu, in)
								  : in->exec(cpu, in);
			if (unlikely(r))
				break;
			rip = cpu->next_rip;
			cpu->rip = rip;
			i++;
			in++;
			if (unlikely(cpu->block_stop))
				break;
		} while (i < n);
		cpu->icount += i;
		if (r)
			break;
		if (cpu->block_stop) {
			prev = NULL; /* b may have been dropped */
			continue;
		}
		prev = b;
		/* slot 0: fell through past the block's end; slot 1: anything else */
		prev_slot = rip != block_rip + b->bytes;
	}
	if (unlikely(cpu->shadow_held)) {
		if (cpu->icount == cpu->shadow_held_at && cpu->rip == cpu->shadow_held_rip && !cpu->shadow)
			cpu->shadow = cpu->shadow_held; /* the shadowed instruction has not run yet */
		cpu->shadow_held = 0;
	}
	return r == SOFT_OK ? SOFT_STOP : r;
}

static int run(struct soft_cpu *cpu, uint64_t max, uint64_t *done, bool overrun)
{
	uint64_t start = cpu->icount;
	int r;
	for (;;) {
		r = run_blocks(cpu, max - (cpu->icount - start), overrun);
		/* cpu->deliver_exc: exceptions go through the IDT here and the
		 * run goes on at the handler (through the icache and the IBTC
		 * like any block), not through the caller's loop; the
		 * #PF of a copy-on-write store costs one delivery, no slice */
		if (r != SOFT_EXC || !cpu->deliver_exc || cpu->icount - start >= max)
			break;
		cpu->exc_delivered++;
		r = soft_cpu_deliver_exception(cpu);
		if (r != SOFT_OK)
			break;
	}
	if (done)
		*done = cpu->icount - start;
	return r;
}

int soft_cpu_run(struct soft_cpu *cpu, uint64_t max, uint64_t *done)
{
	return run(cpu, max, done, false);
}

int soft_cpu_run_slice(struct soft_cpu *cpu, uint64_t max, uint64_t *done)
{
	return run(cpu, max, done, true);
}

/* ---- state conversion ---- */

void soft_cpu_get_regs(struct soft_cpu *cpu, struct x86_regs *r)
{
	memcpy(r->gpr, cpu->gpr, sizeof(r->gpr));
	r->rip = cpu->rip;
	r->rflags = soft_get_rflags(cpu);
}

void soft_cpu_set_regs(struct soft_cpu *cpu, const struct x86_regs *r)
{
	memcpy(cpu->gpr, r->gpr, sizeof(cpu->gpr));
	cpu->rip = r->rip;
	soft_set_rflags(cpu, r->rflags);
}

void soft_cpu_get_sregs(const struct soft_cpu *cpu, struct x86_sregs *s)
{
	memcpy(s->seg, cpu->seg, sizeof(s->seg));
	s->tr = cpu->tr;
	s->ldt = cpu->ldt;
	s->gdt = cpu->gdt;
	s->idt = cpu->idt;
	s->cr0 = cpu->cr0;
	s->cr2 = cpu->cr2;
	s->cr3 = cpu->cr3;
	s->cr4 = cpu->cr4;
	s->cr8 = cpu->cr8;
	s->efer = cpu->efer;
	s->apic_base = cpu->apic_base;
}

void soft_cpu_set_sregs(struct soft_cpu *cpu, const struct x86_sregs *s)
{
	memcpy(cpu->seg, s->seg, sizeof(cpu->seg));
	cpu->tr = s->tr;
	cpu->ldt = s->ldt;
	cpu->gdt = s->gdt;
	cpu->idt = s->idt;
	cpu->cr0 = s->cr0;
	cpu->cr2 = s->cr2;
	cpu->cr3 = s->cr3;
	cpu->cr4 = s->cr4;
	cpu->cr8 = s->cr8;
	cpu->efer = s->efer;
	cpu->apic_base = s->apic_base;
	soft_cpu_update_mode(cpu);
	soft_cpu_flush_code_tlb(cpu);
}

void soft_cpu_get_fpu(const struct soft_cpu *cpu, struct x86_fpu *f)
{
	memset(f, 0, sizeof(*f));
	f->fcw = cpu->fpu.fcw;
	f->fsw = cpu->fpu.fsw;
	f->ftw = cpu->fpu.ftw;
	f->fop = cpu->fpu.fop;
	f->fip = cpu->fpu.fip;
	f->fdp = cpu->fpu.fdp;
	f->mxcsr = cpu->mxcsr;
	/* FXSAVE order: st[i] = ST(i) = physical register (TOP + i) & 7 */
	unsigned top = (cpu->fpu.fsw >> 11) & 7;
	for (unsigned i = 0; i < 8; i++) {
		const struct soft_f80 *v = &cpu->fpu.st[(top + i) & 7];
		memcpy(f->st[i], &v->mant, 8);
		memcpy(f->st[i] + 8, &v->sexp, 2);
	}
	memcpy(f->xmm, cpu->xmm, sizeof(f->xmm));
}

void soft_cpu_set_fpu(struct soft_cpu *cpu, const struct x86_fpu *f)
{
	cpu->fpu.fcw = f->fcw;
	cpu->fpu.fsw = f->fsw;
	cpu->fpu.ftw = f->ftw;
	cpu->fpu.fop = f->fop;
	cpu->fpu.fip = f->fip;
	cpu->fpu.fdp = f->fdp;
	cpu->mxcsr = f->mxcsr;
	unsigned top = (f->fsw >> 11) & 7;
	for (unsigned i = 0; i < 8; i++) {
		struct soft_f80 *v = &cpu->fpu.st[(top + i) & 7];
		memcpy(&v->mant, f->st[i], 8);
		memcpy(&v->sexp, f->st[i] + 8, 2);
	}
	memcpy(cpu->xmm, f->xmm, sizeof(cpu->xmm));
}
