/* Block translation (see jit.h and docs/soft-cpu.md, "Translator").
 *
 * Host register conventions inside a translation:
 *   R15   the struct soft_cpu (callee-saved, pinned for the whole chain)
 *   RAX RCX RDX RBX  guest registers of native instructions, cached
 *         across consecutive native instructions: guest RAX..RBX always
 *         in their own host register, others in a free one; a register is
 *         loaded from cpu->gpr on first use and stored back (if written)
 *         before a handler call, a call to soft_flags_flush, an eviction
 *         or a block exit
 *   RSP   16-byte aligned after the prologue (push RBX, R14, R15), so
 *         handler calls need no adjustment
 * Flags: the guest's six arithmetic flags are in one of three places
 * (struct tr.fl):
 *   FL_CPU   cpu->rflags / cpu->lf (the interpreter's lazy flags)
 *   FL_HOST  the host's RFLAGS (cpu->lf stale): after a flag-writing
 *            native instruction
 *   FL_R10   R10 (host RFLAGS garbage or partly valid): a TLB probe's
 *            compares clobber RFLAGS, so a probe with the flags in the
 *            host first saves them there (LAHF; SETO: R10 bits 15:8 =
 *            SF ZF AF PF CF, bit 0 = OF; without LAHF a PUSHFQ image), and
 *            they stay there until an instruction needs them in RFLAGS
 *            (restored with SAHF / ADD AL,7F / BT, only the flags it reads
 *            or passes through that are live: liveness.h) or a flag-writing
 *            instruction makes RFLAGS current again.
 * A handler call or block exit writes them back into cpu->rflags
 * (cpu->lf.op = LF_NONE), except a chained or indirect exit of a block
 * without handler calls, which leaves them in R10 for the next block's R10
 * entry (exits.h); a slow path merges R10 into cpu->rflags before
 * its handler, so at a fault the guest sees exactly its flags.  Moves,
 * LEA and the probe's own address arithmetic between them are MOVs/LEAs,
 * which leave RFLAGS alone.  An instruction that reads flags or keeps some
 * (ADC, INC, Jcc, CMOVcc, rotates ...) with the flags in cpu loads them
 * inline (SAHF from cpu->rflags, soft_flags_flush first only while
 * cpu->lf holds a lazy operation), so DF, TF and AC stay clear on the
 * host. */
#include <stddef.h>
#include <string.h>

#include "branch.h"
#include "exits.h"
#include "jit.h"
#include "liveness.h"
#include "native.h"
#include "probe.h"
#include "region.h"
#include "sse.h"
#include "sysinline.h"
#include "tscinline.h"
#include "vex.h"

#include "../atomic.h"
#include "../debug.h"
#include "../exec.h"
#include "../icache.h"
#include "../mmu/soft_mmu.h"

#define CPU JR_R15
#define OFF(field) ((int32_t)offsetof(struct soft_cpu, field))
#define GPR(g) ((int32_t)(offsetof(struct soft_cpu, gpr) + 8 * (unsigned)(g)))
#define ARITH 0x8d5 /* CF PF AF ZF SF OF */

/* one 32-bit compare covers dbg_armed, dbg_hits and dbg_pending */
_Static_assert(offsetof(struct soft_cpu, dbg_pending) == offsetof(struct soft_cpu, dbg_armed) + 2 &&
	       offsetof(struct soft_cpu, dbg_hits) == offsetof(struct soft_cpu, dbg_armed) + 1,
	       "debug state layout");

enum { FL_CPU, FL_HOST, FL_R10 }; /* where the guest flags are (above) */

struct tr {
	struct jit_emit e;
	struct soft_block *b;
	/* what is translated: b's instructions, or a loop region's trace
	 * (region.h: rg, its side exits' chain slots side; its instructions
	 * in their decoded blocks, all in b's page, so they die with b) */
	const struct x86_insn *const *insn;
	unsigned n;
	const struct jit_region *rg;
	struct soft_jit_link *side;
	uint8_t fl;           /* FL_*: where the guest flags are */
	bool lahf;            /* the host has LAHF/SAHF (else PUSHFQ/POPFQ) */
	bool no_memo;         /* probes without the addend memo (probe.c) */
	unsigned nprobe;      /* probes emitted so far (their memo slots) */
	bool probe_reads;     /* emit_mem's access with a store right also reads */
	/* guest registers that may hold a value loaded from memory in this
	 * block (or derived from one): an access whose address uses one sits
	 * on a chain through memory, where the probe's addend memo pays
	 * (probe.c); a heuristic only, the memo being exact either way */
	uint16_t loaded;
	int8_t probe_memo;    /* emit_mem/emit_sse's choice for their probe:
			       * 1 memo, 0 none, -1 unset (memo for reads) */
	uint16_t live[SOFT_BLOCK_MAX]; /* flags live after each instruction */
	uint16_t live_in;     /* flags live at the block's start */
	size_t loop;          /* where a loop onto itself jumps back to (after
			       * the entry's block_stop clear and rights class) */
	uint8_t loop_fl;      /* where the flags are there (FL_CPU or FL_R10) */
	/* a loop onto itself keeps guest registers in host registers across
	 * its back edge (loop_regs): loop_hold is the register cache at t->loop
	 * (loaded on entry from outside, all taken as written), found by a
	 * first pass (dry) that records the cache at the back edge (end_hold) */
	bool dry;
	bool loop_regs;
	int8_t loop_hold[16];
	bool end_known;
	int8_t end_hold[16];
	size_t body;          /* buffer position of the body (after the prologue) */
	bool r10_start;       /* the body starts with the flags in R10 (exits.h):
			       * its cpu entry loads them there first */
	bool fast_mem;        /* loads go through the inline TLB fast path (R14 = class) */
	bool sse_checked;     /* a run of SSE instructions checked CR0.EM/TS and
			       * CR4.OSFXSR (emit_sse) */
	bool mxcsr_live;      /* ... and loaded the guest MXCSR, every exception
			       * masked, into the host's */
	size_t loop_sse;      /* a block starting with an SSE instruction: after
			       * its checks (and LDMXCSR), where a loop onto
			       * itself that kept them jumps back to; or 0 */
	bool loop_sse_fp;     /* ... the MXCSR loaded there */
	const struct soft_cpu *vex_cpu; /* VEX forms emitted natively for this
					 * vCPU (vex.h); NULL: RINGVM_JIT_NO_VEX */
	uint32_t bmi_isa;     /* host_isa for jit_bmi_plan (0: RINGVM_JIT_NO_VEX) */
	bool vex_checked;     /* a run of VEX instructions checked CR4.OSXSAVE,
			       * XCR0 and CR0.TS (emit_vex) */
	/* the fast path's out-of-line slow paths: the handler, then back */
	struct slow {
		size_t fix[12];    /* jumps here: two probes and a canonical check */
		unsigned nfix;
		size_t back;
		const struct x86_insn *in;
		uint64_t rip;
		unsigned index;
		int8_t hold[16];
		bool dirty[16];
		bool saved_flags;  /* the guest flags are in R10 (FL_R10) */
		bool terminal;     /* the block's last instruction: after the
				    * handler, exit at its next_rip */
		uint8_t fl_after;  /* where the fast path leaves the flags */
		bool mxcsr_reload; /* the fast path leaves the guest MXCSR in
				    * the host's (emit_sse): reload it after
				    * the handler, or stop if it unmasked */
	} slow[SOFT_BLOCK_MAX];
	unsigned nslow;
	/* the instruction just emitted probed for the next one's access too
	 * (emit_mem): its slow path, which comes back to the next one's own
	 * probe; the translation loop hands it to the next emit_mem only */
	struct slow *reuse;
	/* the register cache's choice of a host register to evict: the
	 * guest registers each instruction of the trace names (reg_uses,
	 * a heuristic: a wrong guess costs a reload, never exactness), the
	 * instruction being emitted, and whether the trace goes round (a loop
	 * onto itself, a loop region: after its end comes its start) */
	uint16_t uses[SOFT_BLOCK_MAX];
	unsigned cur;
	bool wrap;
	int8_t hold[16];      /* guest register cached in host register h (one
			       * of cache_regs), or -1 */
	bool dirty[16];       /* ... and written since it was loaded */
	bool pure;            /* no handler call so far (chains need fewer checks) */
	struct soft_jit_ibtc *ibtc; /* this vCPU's indirect branch table */
	int64_t stub[SOFT_JIT_STUB_N]; /* the shared stubs (stubs.c), as
					* positions relative to this buffer */
	uint8_t out_stub;     /* where out_jump leaves: SOFT_JIT_STUB_OK, or
			       * OK_LINK in a chained exit that left its slot
			       * in RAX without storing it */
	size_t fault_fix[SOFT_BLOCK_MAX];
	unsigned fault_count[SOFT_BLOCK_MAX];
	unsigned nfault;
	size_t stop_fix[SOFT_BLOCK_MAX];
	unsigned stop_count[SOFT_BLOCK_MAX];
	unsigned nstop;
	size_t bytes[SOFT_JIT_BYTES_N]; /* host bytes by kind (--stats) */
};

/* The host registers of the register cache: RAX..RBX (guest RAX..RBX
 * always in their own, so implicit operands, CL counts and AH..BH work
 * unchanged) and the callee-saved R12 and R13 (pushed by the prologue).
 * Handlers and soft_flags_flush preserve R12 and R13, but the cache is
 * written back and emptied before a handler call all the same. */
#define NCACHE 6
static const uint8_t cache_regs[NCACHE] = { JR_RAX, JR_RCX, JR_RDX, JR_RBX, JR_R12, JR_R13 };

/* Store host register h's guest register if written; forget it. */
static void evict(struct tr *t, unsigned h)
{
	if (t->hold[h] >= 0 && t->dirty[h])
		jit_emit_mov_m64_r64(&t->e, CPU, GPR(t->hold[h]), h);
	t->hold[h] = -1;
	t->dirty[h] = false;
}

/* Store every written cached register (MOVs: RFLAGS untouched). */
static void writeback_all(struct tr *t)
{
	for (unsigned k = 0; k < NCACHE; k++) {
		unsigned h = cache_regs[k];
		if (t->hold[h] >= 0 && t->dirty[h]) {
			jit_emit_mov_m64_r64(&t->e, CPU, GPR(t->hold[h]), h);
			t->dirty[h] = false;
		}
	}
}

static void evict_all(struct tr *t)
{
	for (unsigned k = 0; k < NCACHE; k++)
		evict(t, cache_regs[k]);
}

/* At a loop's back edge (loop_regs): the register cache as loop_hold has
 * it at t->loop.  A host register holding another guest register than
 * there is written back (if written) and forgotten first, all of them,
 * then loop_hold's missing ones are loaded from cpu (which is current for
 * them now); the others stay, written or not (t->loop takes all of
 * loop_hold as written).  MOVs only: RFLAGS untouched. */
static void loop_fixup(struct tr *t)
{
	for (unsigned k = 0; k < NCACHE; k++) {
		unsigned h = cache_regs[k];
		if (t->hold[h] != t->loop_hold[h])
			evict(t, h);
	}
	for (unsigned k = 0; k < NCACHE; k++) {
		unsigned h = cache_regs[k];
		if (t->loop_hold[h] >= 0 && t->hold[h] != t->loop_hold[h]) {
			jit_emit_mov_r64_m64(&t->e, h, CPU, GPR(t->loop_hold[h]));
			t->hold[h] = t->loop_hold[h];
			t->dirty[h] = false;
		}
	}
}

/* R10 = the guest flags in the host RFLAGS (which stay as they are):
 * LAHF/SETO format, or a PUSHFQ image without LAHF.  keep_rax: RAX holds
 * a value to keep (LAHF writes AH): it waits in R10 meanwhile (XCHG). */
static void emit_save_r10(struct jit_emit *e, bool lahf, bool keep_rax)
{
	if (!lahf) {
		jit_emit_pushfq(e);
		jit_emit_pop_r64(e, JR_R10);
		return;
	}
	if (keep_rax)
		jit_emit_xchg_r64_rax(e, JR_R10);
	jit_emit_setcc_r8(e, JCC_O, JR_RAX);
	jit_emit_lahf(e);
	if (keep_rax)
		jit_emit_xchg_r64_rax(e, JR_R10);
	else
		jit_emit_mov_r64_r64(e, JR_R10, JR_RAX);
}

/* The flags in mask exact in the host RFLAGS, from R10 (the others
 * undefined); R10 unchanged. */
static void emit_restore_r10(struct jit_emit *e, bool lahf, bool keep_rax, uint16_t mask)
{
	if (!mask)
		return;
	if (!lahf) {
		jit_emit_push_r64(e, JR_R10);
		jit_emit_popfq(e);
		return;
	}
	if (!(mask & ~JIT_FL_CF)) {
		jit_emit_bt_r32_imm8(e, JR_R10, 8);      /* CF = AH bit 0 */
		return;
	}
	if (!(mask & ~JIT_FL_OF)) {
		jit_emit_mov_r64_r64(e, JR_R11, JR_R10);
		jit_emit_add_r8_imm8(e, JR_R11, 0x7f);   /* OF = (bit 0 set) */
		return;
	}
	if (keep_rax) {
		/* R10 must come back unchanged: OF from a copy, then AH
		 * through RAX while RAX waits in R10 */
		if (mask & JIT_FL_OF) {
			jit_emit_mov_r64_r64(e, JR_R11, JR_R10);
			jit_emit_add_r8_imm8(e, JR_R11, 0x7f); /* OF first: SAHF keeps it */
		}
		jit_emit_xchg_r64_rax(e, JR_R10);
		jit_emit_sahf(e);
		jit_emit_xchg_r64_rax(e, JR_R10);
		return;
	}
	jit_emit_mov_r64_r64(e, JR_RAX, JR_R10);
	if (mask & JIT_FL_OF)
		jit_emit_add_r8_imm8(e, JR_RAX, 0x7f);   /* OF first: SAHF keeps it */
	jit_emit_sahf(e);
}

/* cpu->rflags arithmetic bits = R10's; lf.op = LF_NONE.  Clobbers R9, R10
 * and RFLAGS (exits.c: the stubs use it too). */
static void emit_merge_r10(struct jit_emit *e, bool lahf)
{
	jit_exit_merge_r10(e, lahf);
}

/* The host RFLAGS = cpu's six flags, materialised first (a call to
 * soft_flags_flush, with RAX RCX RDX RDI kept) only while cpu->lf holds a
 * lazy operation.  Clobbers RSI, R8-R11. */
static void emit_host_from_cpu(struct jit_emit *e, bool lahf, bool keep_rax)
{
	jit_emit_cmp_m32_simm32(e, CPU, OFF(lf.op), LF_NONE);
	size_t done = jit_emit_jcc_rel32(e, JCC_E);
	jit_emit_push_r64(e, JR_RAX); /* four pushes: RSP stays 16-byte aligned */
	jit_emit_push_r64(e, JR_RCX);
	jit_emit_push_r64(e, JR_RDX);
	jit_emit_push_r64(e, JR_RDI);
	jit_emit_mov_r64_r64(e, JR_RDI, CPU);
	jit_emit_mov_r64_imm(e, JR_RAX, (uint64_t)(uintptr_t)soft_flags_flush);
	jit_emit_call_r64(e, JR_RAX);
	jit_emit_pop_r64(e, JR_RDI);
	jit_emit_pop_r64(e, JR_RDX);
	jit_emit_pop_r64(e, JR_RCX);
	jit_emit_pop_r64(e, JR_RAX);
	jit_emit_patch_rel32(e, done, e->pos);
	if (keep_rax)
		jit_emit_mov_r64_r64(e, JR_R11, JR_RAX);
	if (lahf) {
		/* AH = SF ZF AF PF CF, AL = OF; ADD AL,7F sets OF; SAHF the rest */
		jit_emit_movzx_r32_m8(e, JR_RAX, CPU, OFF(rflags));
		jit_emit_mov_ah_al(e);
		jit_emit_test_m8_imm8(e, CPU, OFF(rflags) + 1, (uint8_t)(X86_RFLAGS_OF >> 8));
		jit_emit_setcc_r8(e, JCC_NE, JR_RAX);
		jit_emit_add_r8_imm8(e, JR_RAX, 0x7f);
		jit_emit_sahf(e);
	} else {
		jit_emit_mov_r64_m64(e, JR_RAX, CPU, OFF(rflags));
		jit_emit_and_r64_simm32(e, JR_RAX, ARITH);
		jit_emit_push_r64(e, JR_RAX);
		jit_emit_popfq(e);
	}
	if (keep_rax)
		jit_emit_mov_r64_r64(e, JR_RAX, JR_R11);
}

static bool rax_held(const struct tr *t)
{
	return t->hold[JR_RAX] >= 0;
}

/* cpu->rflags arithmetic bits = the guest flags; lf.op = LF_NONE. */
static void spill_flags(struct tr *t)
{
	struct jit_emit *e = &t->e;
	if (t->fl == FL_R10) {
		emit_merge_r10(e, t->lahf);
	} else if (t->fl == FL_HOST) {
		evict(t, JR_RAX);
		evict(t, JR_RCX);
		jit_emit_pushfq(e);
		jit_emit_pop_r64(e, JR_RAX);
		jit_emit_and_r64_simm32(e, JR_RAX, ARITH);
		jit_exit_merge_arith(e, JR_RAX, JR_RCX);
	}
	t->fl = FL_CPU;
}

/* Before a probe: guest flags in the host move to R10 (FL_R10). */
static void save_flags(struct tr *t)
{
	if (t->fl != FL_HOST)
		return;
	emit_save_r10(&t->e, t->lahf, rax_held(t));
	t->fl = FL_R10;
}

/* Before instruction index (in), which reads flags or keeps some: what it
 * needs in the host RFLAGS.  From cpu: all six (FL_HOST).  From R10: the
 * flags it reads, and those it may leave unchanged that are live after
 * it; an instruction that writes none (Jcc SETcc CMOVcc) leaves them in
 * R10, which stays exact. */
static void flags_for(struct tr *t, const struct x86_insn *in, unsigned index)
{
	if (t->fl == FL_HOST)
		return;
	if (t->fl == FL_CPU) {
		emit_host_from_cpu(&t->e, t->lahf, rax_held(t));
		t->fl = FL_HOST;
		return;
	}
	struct jit_flag_use u;
	jit_flags_use(in, &u);
	if (!u.writes) {
		emit_restore_r10(&t->e, t->lahf, rax_held(t), u.reads);
		return;
	}
	emit_restore_r10(&t->e, t->lahf, rax_held(t),
			 (uint16_t)(u.reads | (JIT_FL_ALL & ~u.kills & t->live[index])));
	t->fl = FL_HOST;
}

static void store_imm64(struct tr *t, int32_t off, uint64_t v)
{
	if ((int64_t)v == (int32_t)v) {
		jit_emit_mov_m64_simm32(&t->e, CPU, off, (int32_t)v);
	} else {
		jit_emit_mov_r64_imm(&t->e, JR_RAX, v);
		jit_emit_mov_m64_r64(&t->e, CPU, off, JR_RAX);
	}
}

/* Jump, conditional jump or call to a shared stub (stubs.c). */
static void call_stub(struct tr *t, enum soft_jit_stub k);
static void jmp_stub(struct tr *t, enum soft_jit_stub k)
{
	jit_emit_patch_rel32_at(&t->e, jit_emit_jmp_rel32(&t->e), t->stub[k]);
}

static void jcc_stub(struct tr *t, unsigned cc, enum soft_jit_stub k)
{
	jit_emit_patch_rel32_at(&t->e, jit_emit_jcc_rel32(&t->e, cc), t->stub[k]);
}

static void call_stub(struct tr *t, enum soft_jit_stub k)
{
	jit_emit_patch_rel32_at(&t->e, jit_emit_call_rel32(&t->e), t->stub[k]);
}

/* Call instruction in's handler (at rip; through soft_exec_atomic with
 * LOCK): RDX = RIP, RSI = in, and the shared stub stores cpu->rip and
 * next_rip and jumps to the handler, which returns here with its status
 * in EAX (stubs.c).  22-27 bytes instead of 47. */
static void emit_handler_call(struct tr *t, const struct x86_insn *in, uint64_t rip)
{
	jit_emit_mov_r64_imm(&t->e, JR_RDX, rip);
	jit_emit_mov_r64_imm(&t->e, JR_RSI, (uint64_t)(uintptr_t)in);
	call_stub(t, (in->prefixes & X86_PFX_ATOMIC) ? SOFT_JIT_STUB_ATOMIC : SOFT_JIT_STUB_HELPER);
}

/* The same, and the stub also leaves translated code itself when the
 * handler failed (the instructions before index retired) or set
 * block_stop (index + 1 retired): EBX = index, free here (the register
 * cache is written back; the slow path reloads it after) and kept by the
 * handler (callee-saved).  Saves the caller's two tests and its fault and
 * stop exits (stubs.c, SOFT_JIT_STUB_HELPER_CHK). */
static void emit_handler_call_chk(struct tr *t, const struct x86_insn *in, uint64_t rip,
				  unsigned index)
{
	jit_emit_mov_r64_imm(&t->e, JR_RBX, index);
	jit_emit_mov_r64_imm(&t->e, JR_RDX, rip);
	jit_emit_mov_r64_imm(&t->e, JR_RSI, (uint64_t)(uintptr_t)in);
	call_stub(t, (in->prefixes & X86_PFX_ATOMIC) ? SOFT_JIT_STUB_ATOMIC_CHK : SOFT_JIT_STUB_HELPER_CHK);
}

/* Retire count instructions of this block: the chain budget, which
 * counts cpu->icount too (jit.c, soft_jit_run: icount is
 * jit_icount_base - jit_budget until the epilogue stores it).
 * The budget is kept less what the next block needs to start (jit.c,
 * soft_jit_run), so the SUB's own flags say whether it may: JL leaves.
 * Nothing after it may touch the host flags until that JL. */
static void retire(struct tr *t, unsigned count)
{
	if (!count)
		return;
	jit_emit_sub_m64_simm32(&t->e, CPU, OFF(jit_budget), (int32_t)count);
}

/* Leave to the run loop with SOFT_OK (the chain slot or cpu->jit_link as
 * the exit set it) when condition cc holds: the shared stub. */
static void out_jump(struct tr *t, unsigned cc)
{
	jcc_stub(t, cc, (enum soft_jit_stub)t->out_stub);
}

/* What must hold to go on into another translated block without the run
 * loop: budget left for a whole block, no kick pending and, if a handler
 * ran in this block, what the run loop checks between blocks (an
 * interrupt shadow, the debug path: TF, RF, armed or pending breakpoints,
 * dropped blocks to free).  retired: retire() was the last thing to touch
 * the host flags (a count > 0).  Leaves RCX = cpu->icache. */
static void chain_checks(struct tr *t, bool retired)
{
	struct jit_emit *e = &t->e;
	if (!retired) /* else the flags of retire's SUB are still there */
		jit_emit_cmp_m64_simm32(e, CPU, OFF(jit_budget), 0);
	out_jump(t, JCC_L);
	if (!t->pure) {
		/* the interrupt shadow, the kick, dropped blocks and the debug
		 * state: one shared stub (stubs.c), which leaves itself */
		call_stub(t, SOFT_JIT_STUB_CHECKS);
		return;
	}
	jit_emit_cmp_m32_simm32(e, CPU, OFF(kick), 0);
	out_jump(t, JCC_NE);
	jit_emit_mov_r64_m64(e, JR_RCX, CPU, OFF(icache));
}

/* Leave unless the link tag in register tag is one of the
 * icache's two current ones (RCX = cpu->icache, from chain_checks):
 * soft_icache_tag_valid, the non-global tag first (a link made since the
 * last flush of non-global translations), then the global one (kernel
 * code after a context switch). */
static void emit_tag_check(struct tr *t, unsigned tag)
{
	struct jit_emit *e = &t->e;
	jit_emit_cmp_r64_m64(e, tag, JR_RCX, (int32_t)offsetof(struct soft_icache, epoch));
	size_t ok = jit_emit_jcc_rel32(e, JCC_E);
	jit_emit_cmp_r64_m64(e, tag, JR_RCX, (int32_t)offsetof(struct soft_icache, epoch_g));
	out_jump(t, JCC_NE);
	jit_emit_patch_rel32(e, ok, e->pos);
}

/* Chain slot k of the translation: the block's two (0: fall-through, 1:
 * taken), then a region's side exits (2 + the inner block's index). */
static struct soft_jit_link *link_slot(struct tr *t, int slot)
{
	return slot < 2 ? &t->b->jit_link[slot] : &t->side[slot - 2];
}

/* Exit to a statically known guest RIP after count instructions.  slot:
 * the chain slot for it (link_slot), or -1 for none. */
static void exit_direct_code(struct tr *t, uint64_t rip, unsigned count, int slot)
{
	struct jit_emit *e = &t->e;
	/* (a region's side exit to its head is an ordinary chained exit) */
	bool self = slot >= 0 && slot < 2 && t->pure && rip == t->b->rip;
	/* a loop onto itself keeps the guest flags in R10 across its back edge
	 * when its body starts from there (loop_fl) or overwrites all six
	 * before anything can see them (live_in 0) */
	bool keep = self && t->fl != FL_CPU && (t->loop_fl == FL_R10 || !t->live_in);
	/* ... and its registers where loop_hold has them when it jumps back
	 * to t->loop (not to the body: that path loads them itself) */
	bool regs = self && t->loop_regs && (keep || t->loop_fl == FL_CPU);
	if (self && !t->loop_regs) {
		memcpy(t->end_hold, t->hold, sizeof(t->end_hold));
		t->end_known = true;
	}
	/* a chained exit of a block without handler calls leaves the flags
	 * in R10 for the next block's R10 entry (exits.h): SETO/LAHF, or
	 * nothing when they are there already, instead of a merge into
	 * cpu->rflags; its ways out to the run loop merge them (OK_LINK_R10) */
	bool r10 = !self && slot >= 0 && t->pure && t->fl != FL_CPU;
	if (!regs)
		writeback_all(t);
	if (keep || r10) {
		if (t->fl == FL_HOST) /* RAX: written back above, forgotten below */
			emit_save_r10(e, t->lahf, !r10 && rax_held(t));
		t->fl = FL_R10;
	} else {
		spill_flags(t);
	}
	if (regs)
		loop_fixup(t);
	else
		evict_all(t); /* the exit's code uses RAX RCX RDX */
	if (self) {
		/* a loop onto itself in a block without handler calls: nothing
		 * in it can change the mode, the mapping, the rights class or
		 * the icache epoch, so the block is still the one at rip; jump
		 * straight back into the body while the budget holds and no
		 * kick is pending */
		retire(t, count); /* count > 0: the block holds the Jcc */
		size_t no1 = jit_emit_jcc_rel32(e, JCC_L);
		jit_emit_cmp_m32_simm32(e, CPU, OFF(kick), 0);
		size_t back = jit_emit_jcc_rel32(e, JCC_E);
		size_t to = keep || t->loop_fl == FL_CPU ? t->loop : t->body;
		/* past the first SSE instruction's checks and LDMXCSR when
		 * the body kept them (emit_sse): nothing in a block without
		 * handler calls changes CR0, CR4 or the guest MXCSR's masks */
		if (to == t->loop && t->loop_sse && t->sse_checked && (t->mxcsr_live || !t->loop_sse_fp))
			to = t->loop_sse;
		jit_emit_patch_rel32(e, back, to);
		jit_emit_patch_rel32(e, no1, e->pos);
		if (regs) { /* leaving: what the loop kept goes to cpu */
			writeback_all(t);
			evict_all(t);
		}
		if (keep)
			emit_merge_r10(e, t->lahf);
		t->fl = FL_CPU;
		store_imm64(t, OFF(rip), rip);
		jmp_stub(t, SOFT_JIT_STUB_OK_NOLINK);
		return;
	}
	/* a chained exit of a block without handler calls leaves cpu->rip
	 * alone: the slot holds its target, which every way out to the run
	 * loop stores (OK_LINK*, stubs.c); the next block's handler calls
	 * and faults set cpu->rip themselves (the HELPER stubs) */
	bool rip_in_slot = slot >= 0 && t->pure;
	if (rip_in_slot)
		link_slot(t, slot)->rip = rip;
	else
		store_imm64(t, OFF(rip), rip);
	retire(t, count);
	if (slot < 0) {
		jmp_stub(t, SOFT_JIT_STUB_OK_NOLINK);
		return;
	}
	/* rax = &slot; cpu->jit_link = rax when leaving (the run loop fills
	 * the slot): without handler calls every way out keeps RAX and
	 * leaves through OK_LINK, which stores it, so a chain step stores
	 * nothing; after a handler the shared checks leave through OK, so
	 * the store comes first */
	jit_emit_mov_r64_imm(e, JR_RAX, (uint64_t)(uintptr_t)link_slot(t, slot));
	if (t->pure)
		t->out_stub = !r10 ? SOFT_JIT_STUB_OK_LINK
			  : t->lahf ? SOFT_JIT_STUB_OK_LINK_R10 : SOFT_JIT_STUB_OK_LINK_R10_PF;
	else
		jit_emit_mov_m64_r64(e, CPU, OFF(jit_link), JR_RAX);
	chain_checks(t, count != 0);
	/* the slot is valid while its tag is a current one (icache.h) */
	jit_emit_mov_r64_m64(e, JR_RDX, JR_RAX, (int32_t)offsetof(struct soft_jit_link, epoch));
	emit_tag_check(t, JR_RDX);
	jit_emit_jmp_m64(e, JR_RAX, r10 ? (int32_t)offsetof(struct soft_jit_link, code_r10)
				       : (int32_t)offsetof(struct soft_jit_link, code));
	t->out_stub = SOFT_JIT_STUB_OK;
}

/* Exit to the guest RIP in host register r after count instructions:
 * into the translation entered there before (the IBTC, jit.h) when the
 * same checks as a chain pass, else to the run loop.  r is R11 for an
 * indirect branch (emit_branch_stack), R10 after SYSCALL/SYSRETQ inline
 * or a handler (the flags in cpu then).  A block without handler calls
 * with the guest flags in the host or R10 leaves them in R10 and enters
 * the target's R10 entry (exits.h), as a chained exit does; with R11 it
 * leaves cpu->rip alone too: every way out to the run loop stores R11
 * (and merges R10: SOFT_JIT_STUB_OK_IND*, stubs.c), and the next
 * block's handler calls and faults set cpu->rip themselves.
 * after_helper: the block's last instruction ran through its handler
 * (SYSCALL, SYSRET, IRET, a REP string instruction ...), which may have
 * changed the mode: the CPU's mode must still be the block's (a handler
 * that changes it sets block_stop, which the caller checked; this is the
 * belt to it). */
static void exit_indirect_code(struct tr *t, unsigned r, unsigned count, bool after_helper)
{
	struct jit_emit *e = &t->e;
	bool r10 = t->pure && t->fl != FL_CPU && r == JR_R11;
	bool rip_later = t->pure && r == JR_R11;
	writeback_all(t);
	if (r10) {
		if (t->fl == FL_HOST) /* RAX: written back above, forgotten below */
			emit_save_r10(e, t->lahf, false);
		t->fl = FL_R10;
	} else {
		spill_flags(t);
	}
	evict_all(t); /* the exit's code uses RAX RCX RDX */
	if (!rip_later)
		jit_emit_mov_m64_r64(e, CPU, OFF(rip), r);
	retire(t, count);
	if (t->pure)
		t->out_stub = !rip_later ? SOFT_JIT_STUB_OK_NOLINK
			  : !r10 ? SOFT_JIT_STUB_OK_IND
			  : t->lahf ? SOFT_JIT_STUB_OK_IND_R10 : SOFT_JIT_STUB_OK_IND_R10_PF;
	else /* the shared checks leave through OK */
		jit_emit_mov_m64_simm32(e, CPU, OFF(jit_link), 0);
	chain_checks(t, count != 0);
	if (after_helper) {
		jit_emit_cmp_m8_imm8(e, CPU, OFF(mode), t->b->mode);
		out_jump(t, JCC_NE);
	}
	/* RDX = &ibtc[(rip ^ rip >> 12) % SOFT_JIT_IBTC] (soft_jit_ibtc_index) */
	jit_emit_mov_r64_r64(e, JR_RDX, r);
	jit_emit_shift_r64_imm(e, 5, JR_RDX, 12);
	jit_emit_xor_r64_r64(e, JR_RDX, r);
	jit_emit_alu_r_imm(e, 4, false, JR_RDX, SOFT_JIT_IBTC - 1);
	jit_emit_shift_r64_imm(e, 4, JR_RDX, 5);
	_Static_assert(sizeof(struct soft_jit_ibtc) == 32, "IBTC entry size");
	jit_emit_mov_r64_imm(e, JR_RAX, (uint64_t)(uintptr_t)t->ibtc);
	jit_emit_add_r64_r64(e, JR_RDX, JR_RAX);
	jit_emit_cmp_r64_m64(e, r, JR_RDX, (int32_t)offsetof(struct soft_jit_ibtc, rip));
	out_jump(t, JCC_NE);
	jit_emit_mov_r64_m64(e, JR_RAX, JR_RDX, (int32_t)offsetof(struct soft_jit_ibtc, epoch));
	emit_tag_check(t, JR_RAX);
	jit_emit_cmp_m32_simm32(e, JR_RDX, (int32_t)offsetof(struct soft_jit_ibtc, mode),
				(int32_t)t->b->mode);
	out_jump(t, JCC_NE);
	t->out_stub = SOFT_JIT_STUB_OK;
	if (r10) {
		jit_emit_jmp_m64(e, JR_RDX, (int32_t)offsetof(struct soft_jit_ibtc, code_r10));
		return;
	}
	/* the body: code_r10 + code_off (movsxd rax, [rdx + code_off]) */
	_Static_assert(offsetof(struct soft_jit_ibtc, code_off) < 128, "disp8");
	jit_emit_u8(e, 0x48);
	jit_emit_u8(e, 0x63);
	jit_emit_u8(e, 0x42);
	jit_emit_u8(e, (uint8_t)offsetof(struct soft_jit_ibtc, code_off));
	jit_emit_add_r64_m64(e, JR_RAX, JR_RDX, (int32_t)offsetof(struct soft_jit_ibtc, code_r10));
	jit_emit_u8(e, 0xff); /* jmp rax */
	jit_emit_u8(e, 0xe0);
}

static void exit_direct(struct tr *t, uint64_t rip, unsigned count, int slot)
{
	size_t p0 = t->e.pos;
	exit_direct_code(t, rip, count, slot);
	t->bytes[SOFT_JIT_BYTES_EXIT] += t->e.pos - p0;
}

static void exit_indirect_ex(struct tr *t, unsigned r, unsigned count, bool after_helper)
{
	size_t p0 = t->e.pos;
	exit_indirect_code(t, r, count, after_helper);
	t->bytes[SOFT_JIT_BYTES_EXIT] += t->e.pos - p0;
}

static void exit_indirect(struct tr *t, unsigned r, unsigned count)
{
	exit_indirect_ex(t, r, count, false);
}

/* Jcc / JMP rel: the block's last instruction. */
static void emit_branch(struct tr *t, const struct x86_insn *in, uint64_t rip, unsigned index)
{
	uint64_t next = rip + in->len, target = 0;
	jit_branch_target(in, next, &target);
	bool uncond = in->map == X86_MAP_1BYTE && (in->opcode == 0xe9 || in->opcode == 0xeb);
	if (uncond) {
		exit_direct(t, target, index + 1, 1);
		return;
	}
	flags_for(t, in, index);
	/* once for both paths (MOVs keep the flags), unless the taken path
	 * loops back keeping the registers (exit_direct writes back itself) */
	if (!t->loop_regs || (target != t->b->rip && next != t->b->rip))
		writeback_all(t);
	int8_t hold[16];
	bool dirty[16];
	memcpy(hold, t->hold, sizeof(hold));
	memcpy(dirty, t->dirty, sizeof(dirty));
	uint8_t fl = t->fl;
	size_t taken = jit_emit_jcc_rel32(&t->e, in->opcode & 15);
	exit_direct(t, next, index + 1, 0);
	memcpy(t->hold, hold, sizeof(hold));
	memcpy(t->dirty, dirty, sizeof(dirty));
	jit_emit_patch_rel32(&t->e, taken, t->e.pos);
	t->fl = fl; /* both paths start with the flags where the Jcc found them */
	exit_direct(t, target, index + 1, 1);
}

/* A loop region's inner branch (region.h) at index, the end of inner
 * block seg: the trace goes on at its target (taken) or its
 * fall-through; the other way leaves at off through the side slot 2 +
 * seg, a chained exit retiring index + 1 (the trace is straight).  The
 * way along the trace keeps the register cache and the flags as the
 * branch found them (the exit's write-backs are on its own path). */
static void emit_side_branch(struct tr *t, const struct x86_insn *in, unsigned index, unsigned seg,
			     bool taken, uint64_t off)
{
	if (!off) /* JMP rel: along the trace, nothing to do */
		return;
	flags_for(t, in, index);
	int8_t hold[16];
	bool dirty[16];
	memcpy(hold, t->hold, sizeof(hold));
	memcpy(dirty, t->dirty, sizeof(dirty));
	uint8_t fl = t->fl;
	unsigned cc = in->opcode & 15;
	size_t on = jit_emit_jcc_rel32(&t->e, taken ? cc : cc ^ 1);
	exit_direct(t, off, index + 1, 2 + (int)seg);
	memcpy(t->hold, hold, sizeof(hold));
	memcpy(t->dirty, dirty, sizeof(dirty));
	t->fl = fl;
	jit_emit_patch_rel32(&t->e, on, t->e.pos);
}

/* R14 = soft_mmu_class(cpu) plus the address space's salt: the shared
 * stub (stubs.c, SOFT_JIT_STUB_CLASS; it clobbers the host flags). */
static void emit_class(struct tr *t)
{
	call_stub(t, SOFT_JIT_STUB_CLASS);
}

/* The guest registers in names (a heuristic for the register cache's
 * choices: ModRM.reg and r/m, the address registers, the implicit ones of
 * what runs natively; an XMM register number or an opcode digit in
 * ModRM.reg may be counted too). */
static uint16_t reg_uses(const struct x86_insn *in)
{
	struct jit_native n;
	unsigned u = 0;
	if (jit_native_plan(in, &n) || jit_native_plan_mem(in, &n))
		u = n.implicit;
	if (in->has_modrm) {
		u |= 1u << in->reg;
		if (in->mod == 3)
			u |= 1u << in->rm;
	}
	if (in->has_mem) {
		if (in->base >= 0)
			u |= 1u << in->base;
		if (in->index >= 0)
			u |= 1u << in->index;
	}
	return (uint16_t)u;
}

/* How many instructions after the current one guest register g is next
 * named (t->uses), round the loop if the trace is one; 1000: never. */
static unsigned next_use(const struct tr *t, unsigned g)
{
	for (unsigned i = t->cur + 1; i < t->n; i++)
		if (t->uses[i] & (1u << g))
			return i - t->cur;
	for (unsigned i = 0; t->wrap && i <= t->cur && i < t->n; i++)
		if (t->uses[i] & (1u << g))
			return t->n - t->cur + i;
	return 1000;
}

/* The host register among the first ncache of cache_regs, not in taken,
 * to give a guest register that is not cached: the one whose content is
 * needed again last (Belady's choice over the trace: t->uses), an empty
 * R12/R13 first, an empty RAX..RBX as holding its own guest register
 * (which takes it back when next named), a clean one before a written
 * one (no store); -1 if none. */
static int pick_victim(const struct tr *t, uint32_t taken, unsigned ncache)
{
	int best = -1;
	unsigned best_score = 0;
	for (unsigned k = 0; k < ncache; k++) {
		unsigned h = cache_regs[k];
		if (taken & (1u << h))
			continue;
		int g = t->hold[h];
		unsigned dist = g >= 0 ? next_use(t, (unsigned)g) : h < 4 ? next_use(t, h) : 1001;
		unsigned score = dist * 4 + (g < 0 ? 2u : 0u) + (g < 0 || !t->dirty[h] ? 1u : 0u);
		if (best < 0 || score > best_score) {
			best = (int)h;
			best_score = score;
		}
	}
	return best;
}

/* Put the guest registers in used into host registers (host[g]), from the
 * register cache or cpu->gpr.  legacy: only RAX..RBX (an instruction with
 * an AH..BH operand is encoded without REX, which R12/R13 need). */
static bool assign_regs_ex(struct tr *t, unsigned used, int8_t host[16], bool legacy)
{
	struct jit_emit *e = &t->e;
	memset(host, -1, 16);
	unsigned ncache = legacy ? 4 : NCACHE;
	uint32_t taken = used & 15;
	/* guest RAX..RBX in their own host register */
	for (unsigned g = 0; g < 4; g++) {
		if (!(used & (1u << g)))
			continue;
		host[g] = (int8_t)g;
		if (t->hold[g] != (int8_t)g) {
			evict(t, g);
			jit_emit_mov_r64_m64(e, g, CPU, GPR(g));
			t->hold[g] = (int8_t)g;
		}
	}
	/* the others: where cached (if that host register is free here), or a
	 * free host register, preferring an empty one */
	for (unsigned g = 4; g < 16; g++) {
		if (!(used & (1u << g)))
			continue;
		int h = -1;
		for (unsigned k = 0; k < ncache; k++)
			if (t->hold[cache_regs[k]] == (int8_t)g && !(taken & (1u << cache_regs[k])))
				h = cache_regs[k];
		if (h < 0) {
			h = pick_victim(t, taken, ncache);
			if (h < 0) /* cannot happen: at most four registers per instruction */
				return false;
			for (unsigned k = 0; k < NCACHE; k++)
				if (t->hold[cache_regs[k]] == (int8_t)g)
					evict(t, cache_regs[k]);
			evict(t, (unsigned)h);
			jit_emit_mov_r64_m64(e, (unsigned)h, CPU, GPR(g));
			t->hold[h] = (int8_t)g;
		}
		taken |= 1u << h;
		host[g] = (int8_t)h;
	}
	return true;
}

static bool assign_regs(struct tr *t, unsigned used, int8_t host[16])
{
	return assign_regs_ex(t, used, host, false);
}

static void slow_jump(struct tr *t, struct slow *sl, unsigned cc)
{
	size_t f = cc == 16 ? jit_emit_jmp_rel32(&t->e) : jit_emit_jcc_rel32(&t->e, cc);
	if (sl->nfix < sizeof(sl->fix) / sizeof(sl->fix[0]))
		sl->fix[sl->nfix++] = f;
	else
		t->e.overflow = true;
}

/* A slow path for the access of instruction index (at rip), with the
 * register cache as it is now. */
static struct slow *new_slow(struct tr *t, const struct x86_insn *in, uint64_t rip, unsigned index,
			     bool saved)
{
	struct slow *sl = &t->slow[t->nslow++];
	memset(sl, 0, sizeof(*sl));
	sl->in = in;
	sl->rip = rip;
	sl->index = index;
	sl->saved_flags = saved;
	memcpy(sl->hold, t->hold, sizeof(sl->hold));
	memcpy(sl->dirty, t->dirty, sizeof(sl->dirty));
	return sl;
}

/* RSI = the linear address of in's memory operand: RIP-relative or
 * absolute as a constant, else an LEA over the host registers holding the
 * guest's base and index (host[]), plus the FS/GS base when overridden (the
 * other segments' bases are 0 in 64-bit mode). */
static void emit_linear(struct tr *t, const struct x86_insn *in, uint64_t rip, const int8_t *host)
{
	struct jit_emit *e = &t->e;
	if (in->rip_rel)
		jit_emit_mov_r64_imm(e, JR_RSI, rip + in->len + (uint64_t)in->disp);
	else if (in->base < 0 && in->index < 0)
		jit_emit_mov_r64_imm(e, JR_RSI, (uint64_t)in->disp);
	else
		jit_emit_lea(e, JR_RSI, in->base >= 0 ? host[in->base] : -1,
			     in->index >= 0 ? host[in->index] : -1, in->scale, (int32_t)in->disp);
	if (in->seg >= SEG_FS)
		jit_emit_add_r64_m64(e, JR_RSI, CPU, OFF(seg[in->seg].base));
}

/* Does in's memory operand's address use a register that may hold a
 * loaded value (t->loaded)? */
static bool addr_loaded(const struct tr *t, const struct x86_insn *in)
{
	if (in->rip_rel)
		return false;
	return (in->base >= 0 && (t->loaded & (1u << in->base))) ||
	       (in->index >= 0 && (t->loaded & (1u << in->index)));
}

/* The inline TLB probe for msize bytes at the linear address in RSI
 * (probe.c): RDI = its host address (split: RDI + RSI is), or a jump to
 * sl; RSI stays the linear address.  Clobbers RFLAGS, R8 and R9. */
static void emit_probe_ex(struct tr *t, struct slow *sl, unsigned msize, bool store, bool split)
{
	struct jit_probe p = { .msize = msize, .store = store, .split = split };
	/* a store's address is on no data chain: the memo only for accesses
	 * that read (probe.c) */
	if (!t->no_memo && (!store || t->probe_reads) && t->probe_memo != 0)
		p.memo = OFF(jit_memo) + 8 * (int32_t)jit_probe_memo_index(t->b->rip, t->nprobe++);
	size_t f = jit_probe_emit(&t->e, &p);
	if (sl->nfix < sizeof(sl->fix) / sizeof(sl->fix[0]))
		sl->fix[sl->nfix++] = f;
	else
		t->e.overflow = true;
}

static void emit_probe(struct tr *t, struct slow *sl, unsigned msize, bool store)
{
	emit_probe_ex(t, sl, msize, store, false);
}

/* Jump to sl unless register r holds a canonical address. */
static void emit_canonical_check(struct tr *t, struct slow *sl, unsigned r)
{
	struct jit_emit *e = &t->e;
	jit_emit_mov_r64_r64(e, JR_R9, r);
	jit_emit_shift_r64_imm(e, 7, JR_R9, 47);
	jit_emit_alu_r_imm(e, 0, true, JR_R9, 1);
	jit_emit_alu_r_imm(e, 7, true, JR_R9, 1);
	slow_jump(t, sl, JCC_A);
}

/* ---- the stack and indirect branches (64-bit mode) ---- */

#define RSP_G 4 /* guest RSP */

/* PUSH r64 / POP r64 (50+r, 58+r) through the fast path: SS's base is 0
 * in 64-bit mode, the access is 8 bytes at RSP - 8 / RSP.  Guest flags in
 * the host move to R10 as in emit_mem. */
static void emit_push_pop(struct tr *t, const struct x86_insn *in, uint64_t rip, unsigned index)
{
	struct jit_emit *e = &t->e;
	bool push = in->opcode < 0x58;
	unsigned g = (in->opcode & 7u) | ((in->rex & 1u) << 3);
	int8_t host[16];
	if (!assign_regs(t, (1u << RSP_G) | (1u << g), host) || t->nslow >= SOFT_BLOCK_MAX) {
		e->overflow = true;
		return;
	}
	unsigned hs = (unsigned)host[RSP_G], hg = (unsigned)host[g];
	save_flags(t);
	jit_emit_lea(e, JR_RSI, (int)hs, -1, 1, push ? -8 : 0);
	struct slow *sl = new_slow(t, in, rip, index, t->fl == FL_R10);
	emit_probe(t, sl, 8, push);
	if (push) {
		jit_emit_mov_m64_r64(e, JR_RDI, 0, hg); /* PUSH RSP pushes the old value */
		jit_emit_lea(e, hs, (int)hs, -1, 1, -8);
	} else {
		jit_emit_lea(e, hs, (int)hs, -1, 1, 8);  /* POP RSP: the loaded value wins */
		jit_emit_mov_r64_m64(e, hg, JR_RDI, 0);
		t->dirty[hg] = true;
	}
	t->dirty[hs] = true;
	sl->fl_after = t->fl;
	sl->back = e->pos;
}

/* PUSH imm8/imm32 (6A, 68), PUSH m64 (FF /6) and LEAVE (C9) in 64-bit
 * mode at 64-bit operand size, through the fast path like PUSH r64 (SDM
 * Vol. 2B, PUSH and LEAVE).  Nothing is committed until every probe
 * passed: a miss or fault on the source or the stack runs the handler
 * from the instruction's start (the source is read before the stack is
 * written, as the handler does), so RSP and RBP stay unchanged and the
 * fault, its CR2 and RIP are the handler's.  PUSH m64's address is
 * computed from the old RSP (PUSH [RSP+8] reads above the old top).  The
 * loaded value waits in R11, which the probe leaves alone (it clobbers
 * RFLAGS, RSI, RDI, R8 and R9). */
static void emit_push_leave(struct tr *t, const struct x86_insn *in, uint64_t rip, unsigned index)
{
	struct jit_emit *e = &t->e;
	bool leave = in->opcode == 0xc9, push_m = in->opcode == 0xff;
	unsigned used = 1u << RSP_G;
	if (leave)
		used |= 1u << GPR_RBP;
	if (push_m) {
		if (in->base >= 0)
			used |= 1u << in->base;
		if (in->index >= 0)
			used |= 1u << in->index;
	}
	int8_t host[16];
	if (!assign_regs(t, used, host) || t->nslow >= SOFT_BLOCK_MAX) {
		e->overflow = true;
		return;
	}
	unsigned hs = (unsigned)host[RSP_G];
	save_flags(t);
	struct slow *sl = new_slow(t, in, rip, index, t->fl == FL_R10);
	if (leave) {
		/* RSP = RBP; RBP = the 8 bytes at [RBP]; RSP = RBP + 8 */
		unsigned hb = (unsigned)host[GPR_RBP];
		jit_emit_mov_r64_r64(e, JR_RSI, hb);
		emit_probe(t, sl, 8, false);
		jit_emit_lea(e, hs, (int)hb, -1, 1, 8);
		jit_emit_mov_r64_m64(e, hb, JR_RDI, 0);
		t->dirty[hb] = true;
	} else {
		if (push_m) {
			emit_linear(t, in, rip, host);
			emit_probe(t, sl, 8, false);
			jit_emit_mov_r64_m64(e, JR_R11, JR_RDI, 0);
		}
		jit_emit_lea(e, JR_RSI, (int)hs, -1, 1, -8);
		emit_probe(t, sl, 8, true);
		if (push_m)
			jit_emit_mov_m64_r64(e, JR_RDI, 0, JR_R11);
		else /* the decoded immediate, sign-extended to 64 bits */
			jit_emit_mov_m64_simm32(e, JR_RDI, 0, (int32_t)in->imm);
		jit_emit_lea(e, hs, (int)hs, -1, 1, -8);
	}
	t->dirty[hs] = true;
	sl->fl_after = t->fl;
	sl->back = e->pos;
}

/* The opening of an inline form that runs at CPL 0 only (SWAPGS, CLI,
 * STI: their other CPLs need the handler's checks): the guest flags out
 * of the host (the CPL compare writes the host flags), the slow path,
 * and the jump to it when cpu->cpl is not 0.  NULL (the block too long,
 * e->overflow) when no slow path is left.  The caller emits the CPL 0
 * form, then sets sl->fl_after and sl->back. */
static struct slow *begin_cpl0(struct tr *t, const struct x86_insn *in, uint64_t rip, unsigned index)
{
	if (t->nslow >= SOFT_BLOCK_MAX) {
		t->e.overflow = true;
		return NULL;
	}
	save_flags(t);
	struct slow *sl = new_slow(t, in, rip, index, t->fl == FL_R10);
	jit_emit_cmp_m8_imm8(&t->e, CPU, OFF(cpl), 0);
	slow_jump(t, sl, JCC_NE);
	return sl;
}

/* SWAPGS in a 64-bit block (SDM Vol. 2B, SWAPGS): exchange the GS base
 * and IA32_KERNEL_GS_BASE, inline at CPL 0; at any other CPL the slow
 * path runs the handler, which raises #GP(0) (64-bit mode is the block's,
 * so its #UD outside 64-bit mode cannot happen here).  Nothing else in
 * translated code keeps the GS base: every GS-relative access adds
 * cpu->seg[SEG_GS].base from memory (emit_linear). */
static void emit_swapgs(struct tr *t, const struct x86_insn *in, uint64_t rip, unsigned index)
{
	struct jit_emit *e = &t->e;
	struct slow *sl = begin_cpl0(t, in, rip, index);
	if (!sl)
		return;
	jit_emit_mov_r64_m64(e, JR_R8, CPU, OFF(seg[SEG_GS].base));
	jit_emit_mov_r64_m64(e, JR_R9, CPU, OFF(kernel_gs_base));
	jit_emit_mov_m64_r64(e, CPU, OFF(seg[SEG_GS].base), JR_R9);
	jit_emit_mov_m64_r64(e, CPU, OFF(kernel_gs_base), JR_R8);
	sl->fl_after = t->fl;
	sl->back = e->pos;
}

static bool swapgs_form(const struct tr *t, const struct x86_insn *in)
{
	return in->id == X86_I_SWAPGS && t->b->mode == SOFT_MODE_64 &&
	       !(in->prefixes & X86_PFX_ATOMIC);
}

/* RDTSC and RDTSCP in a 64-bit block (jit/tscinline.c): a call of
 * soft_tsc_now, the handlers' rule, with the register cache kept; CR4.TSD at CPL > 0 takes the
 * slow path (the handler: #GP(0)).  The outputs (EDX:EAX, RDTSCP's ECX)
 * are written, not read: a host register holding another guest register
 * gives it up, the guest's own is taken without a load.  The guest flags
 * stay where they are (in the host RFLAGS they move to R10 first). */
static void emit_rdtsc(struct tr *t, const struct x86_insn *in, uint64_t rip, unsigned index)
{
	if (t->nslow >= SOFT_BLOCK_MAX) {
		t->e.overflow = true;
		return;
	}
	bool p = in->id == X86_I_RDTSCP;
	save_flags(t);
	static const uint8_t out[3] = { GPR_RAX, GPR_RDX, GPR_RCX };
	for (unsigned k = 0; k < (p ? 3u : 2u); k++) {
		unsigned g = out[k]; /* guest RAX..RBX live in their own host register */
		if (t->hold[g] != (int8_t)g) {
			evict(t, g);
			t->hold[g] = (int8_t)g;
			t->dirty[g] = false;
		}
	}
	struct slow *sl = new_slow(t, in, rip, index, t->fl == FL_R10);
	size_t f;
	jit_tsc_emit(&t->e, p, &f);
	sl->fix[sl->nfix++] = f;
	for (unsigned k = 0; k < (p ? 3u : 2u); k++)
		t->dirty[out[k]] = true;
	sl->fl_after = t->fl;
	sl->back = t->e.pos;
}

/* DIV r/m32, r/m64 (F7 /6) in 64-bit mode (SDM Vol. 2A, DIV) on the host's
 * DIV: the divisor (through the probe for a memory operand) into R11; a
 * zero divisor or a quotient that does not fit (RDX >= divisor, EDX >=
 * divisor at 32 bits) goes to the slow path, whose handler raises the #DE,
 * so the host never faults.  The guest's flags are kept where they are
 * (the handler leaves them unchanged; the host's are undefined after DIV):
 * in cpu or in R10, never taken from the host after it. */
static void emit_div(struct tr *t, const struct x86_insn *in, uint64_t rip, unsigned index)
{
	struct jit_emit *e = &t->e;
	bool w = in->opsize == 8;
	unsigned used = 1u << GPR_RAX | 1u << GPR_RDX;
	if (in->mod == 3) {
		used |= 1u << in->rm;
	} else {
		if (in->base >= 0)
			used |= 1u << in->base;
		if (in->index >= 0)
			used |= 1u << in->index;
	}
	int8_t host[16];
	if (__builtin_popcount(used) > 4 || !assign_regs(t, used, host) || t->nslow >= SOFT_BLOCK_MAX) {
		e->overflow = true;
		return;
	}
	save_flags(t);
	struct slow *sl = new_slow(t, in, rip, index, t->fl == FL_R10);
	if (in->mod == 3) {
		if (w)
			jit_emit_mov_r64_r64(e, JR_R11, (unsigned)host[in->rm]);
		else
			jit_emit_mov_r32_r32(e, JR_R11, (unsigned)host[in->rm]);
	} else {
		emit_linear(t, in, rip, host);
		emit_probe(t, sl, in->opsize, false);
		if (w)
			jit_emit_mov_r64_m64(e, JR_R11, JR_RDI, 0);
		else
			jit_emit_mov_r32_m32(e, JR_R11, JR_RDI, 0);
	}
	jit_emit_test_r64_r64(e, JR_R11, JR_R11);
	slow_jump(t, sl, JCC_E); /* #DE: divide by zero */
	if (w) {
		jit_emit_cmp_r64_r64(e, JR_RDX, JR_R11);
	} else {
		jit_emit_mov_r32_r32(e, JR_R9, JR_RDX); /* EDX zero-extended */
		jit_emit_cmp_r64_r64(e, JR_R9, JR_R11);
	}
	slow_jump(t, sl, JCC_AE); /* #DE: the quotient does not fit */
	jit_emit_div_r(e, w, JR_R11);
	t->dirty[JR_RAX] = t->dirty[JR_RDX] = true;
	sl->fl_after = t->fl;
	sl->back = e->pos;
}

/* DIV r/m32 or r/m64 without prefixes that change it, memory operands
 * with 64-bit addressing. */
static bool div_insn(const struct x86_insn *in)
{
	return in->op && in->mode == SOFT_MODE_64 && in->map == X86_MAP_1BYTE &&
	       in->opcode == 0xf7 && in->has_modrm && ((in->modrm >> 3) & 7) == 6 &&
	       (in->opsize == 4 || in->opsize == 8) && (in->mod == 3 || in->addrsize == 8) &&
	       !(in->prefixes & (X86_PFX_LOCK | X86_PFX_ATOMIC | X86_PFX_VEX | X86_PFX_EVEX | X86_PFX_XOP |
				 X86_PFX_F2 | X86_PFX_F3));
}

static bool div_form(const struct tr *t, const struct x86_insn *in)
{
	return div_insn(in) && (in->mod == 3 || t->fast_mem);
}

/* CLI in a 64-bit block (SDM Vol. 2B, CLI): at CPL 0 (never above IOPL)
 * it only clears RFLAGS.IF, inline; at any other CPL the slow path runs
 * the handler (IOPL, the VIF of CR4.PVI, or #GP(0)).  Only IF changes:
 * the arithmetic flags stay where they are (cpu->lf, R10), and interrupts
 * are checked at block boundaries from cpu->rflags, which now blocks
 * them. */
static void emit_cli(struct tr *t, const struct x86_insn *in, uint64_t rip, unsigned index)
{
	struct jit_emit *e = &t->e;
	struct slow *sl = begin_cpl0(t, in, rip, index); /* the AND writes the host flags too */
	if (!sl)
		return;
	jit_emit_mov_r64_m64(e, JR_R8, CPU, OFF(rflags));
	jit_emit_and_r64_simm32(e, JR_R8, ~(int32_t)X86_RFLAGS_IF);
	jit_emit_mov_m64_r64(e, CPU, OFF(rflags), JR_R8);
	sl->fl_after = t->fl;
	sl->back = e->pos;
}

static bool cli_form(const struct tr *t, const struct x86_insn *in)
{
	return in->id == X86_I_CLI && t->b->mode == SOFT_MODE_64 &&
	       !(in->prefixes & (X86_PFX_LOCK | X86_PFX_ATOMIC));
}

/* STI in a 64-bit block (SDM Vol. 2B, STI; vol. 3, 6.8.3), always the
 * block's last instruction (F_STOP): at CPL 0 (never above IOPL) inline,
 * as soft_exec_sti does it there: when IF was 0, set it, start the STI
 * interrupt shadow and, with an interrupt already pending, set the kick
 * (soft_cpu_if_set: *irq_attn & irq_attn_bits; plain loads and stores are
 * acquire and release on x86-64); when IF was 1, nothing.  Any other CPL
 * takes the slow path (the handler: IOPL, VIF, #GP(0)).  The caller marks
 * the block impure, so its exit runs the shared checks (stubs.c), which
 * carry the shadow into the next block exactly as after the handler. */
static void emit_sti(struct tr *t, const struct x86_insn *in, uint64_t rip, unsigned index)
{
	struct jit_emit *e = &t->e;
	struct slow *sl = begin_cpl0(t, in, rip, index); /* the tests write the host flags too */
	if (!sl)
		return;
	jit_emit_mov_r64_m64(e, JR_R8, CPU, OFF(rflags));
	jit_emit_bt_r32_imm8(e, JR_R8, 9); /* IF */
	size_t set = jit_emit_jcc_rel32(e, JCC_B);
	jit_emit_alu_r_imm(e, 1, true, JR_R8, (int32_t)X86_RFLAGS_IF); /* or */
	jit_emit_mov_m64_r64(e, CPU, OFF(rflags), JR_R8);
	jit_emit_mov_m8_imm8(e, CPU, OFF(shadow), SOFT_SHADOW_STI);
	jit_exit_kick_if_pending(e, JR_R8, JR_R9);
	jit_emit_patch_rel32(e, set, e->pos);
	sl->fl_after = t->fl;
	sl->back = e->pos;
}

static bool sti_form(const struct tr *t, const struct x86_insn *in)
{
	return in->id == X86_I_STI && t->b->mode == SOFT_MODE_64 &&
	       !(in->prefixes & (X86_PFX_LOCK | X86_PFX_ATOMIC));
}

/* SYSCALL and SYSRETQ (the block's last instruction) inline
 * (jit/sysinline.c): the registers and flags go to cpu, anything unusual
 * takes the slow path (the handler, then the run loop at its next_rip),
 * the common case goes on at R10 like an indirect branch.  The mode stays
 * 64-bit; the new CPL is in the icache's tags, which the exit checks. */
static void emit_sys(struct tr *t, const struct x86_insn *in, uint64_t rip, unsigned index,
		     uint64_t star)
{
	writeback_all(t);
	spill_flags(t);
	evict_all(t);
	if (t->nslow >= SOFT_BLOCK_MAX) {
		t->e.overflow = true;
		return;
	}
	struct slow *sl = new_slow(t, in, rip, index, false);
	sl->terminal = true;
	struct jit_sys_fix fx = { .n = 0 };
	jit_sys_emit(&t->e, in, star, rip + in->len, &fx);
	for (unsigned k = 0; k < fx.n; k++) {
		if (sl->nfix >= sizeof(sl->fix) / sizeof(sl->fix[0])) {
			t->e.overflow = true;
			return;
		}
		sl->fix[sl->nfix++] = fx.at[k];
	}
	/* the CPL changed (and SYSCALL's FMASK may clear AC): R14, the rights
	 * class the next translations' accesses use, must follow before
	 * the exit chains on without a handler (exits.h) */
	jit_exit_class(&t->e);
	exit_indirect(t, JR_R10, index + 1);
}

/* Push the return address of a CALL (the block's last instruction) through
 * the fast path; the flags are not in the host (save_flags). */
static void push_return(struct tr *t, struct slow *sl, uint64_t next)
{
	struct jit_emit *e = &t->e;
	int8_t host[16];
	if (!assign_regs(t, 1u << RSP_G, host)) {
		e->overflow = true;
		return;
	}
	unsigned hs = (unsigned)host[RSP_G];
	jit_emit_lea(e, JR_RSI, (int)hs, -1, 1, -8);
	emit_probe(t, sl, 8, true);
	jit_emit_mov_r64_imm(e, JR_R8, next);
	jit_emit_mov_m64_r64(e, JR_RDI, 0, JR_R8);
	jit_emit_lea(e, hs, (int)hs, -1, 1, -8);
	t->dirty[hs] = true;
}

/* CALL rel32, RET, JMP/CALL r/m64 (FF /4, FF /2): the block's last
 * instruction.  Nothing is committed until every access and the target's
 * canonical check passed; otherwise the slow path runs the handler (which
 * faults as the interpreter does) and exits at its next_rip. */
static void emit_branch_stack(struct tr *t, const struct x86_insn *in, uint64_t rip, unsigned index)
{
	struct jit_emit *e = &t->e;
	uint64_t next = rip + in->len;
	/* the registers stay cached (the slow path writes back the written
	 * ones before its handler), the flags in the host move to R10
	 * (save_flags; the slow path merges them): the exit takes them on in
	 * R10 in a block without handler calls (exit_direct,
	 * exit_indirect_code) */
	save_flags(t);
	if (t->nslow + 2 > SOFT_BLOCK_MAX) {
		e->overflow = true;
		return;
	}
	if (in->map == X86_MAP_1BYTE && in->opcode == 0xe8) { /* CALL rel32 */
		uint64_t target = 0;
		jit_branch_target(in, next, &target);
		/* RSP cached before the slow path records the cache */
		int8_t host[16];
		if (!assign_regs(t, 1u << RSP_G, host)) {
			e->overflow = true;
			return;
		}
		struct slow *sl = new_slow(t, in, rip, index, t->fl == FL_R10);
		sl->terminal = true;
		push_return(t, sl, next);
		exit_direct(t, target, index + 1, 1);
		return;
	}
	if (in->opcode == 0xc3) { /* RET */
		int8_t host[16];
		if (!assign_regs(t, 1u << RSP_G, host)) {
			e->overflow = true;
			return;
		}
		struct slow *sl = new_slow(t, in, rip, index, t->fl == FL_R10);
		sl->terminal = true;
		unsigned hs = (unsigned)host[RSP_G];
		jit_emit_mov_r64_r64(e, JR_RSI, hs);
		emit_probe(t, sl, 8, false);
		jit_emit_mov_r64_m64(e, JR_R11, JR_RDI, 0);
		emit_canonical_check(t, sl, JR_R11); /* #GP at the RET */
		jit_emit_lea(e, hs, (int)hs, -1, 1, 8);
		t->dirty[hs] = true;
		exit_indirect(t, JR_R11, index + 1);
		return;
	}
	/* FF /2 CALL, FF /4 JMP: the target into R11 */
	bool call = ((in->modrm >> 3) & 7) == 2;
	unsigned used = in->mod == 3 ? 1u << in->rm : 0;
	if (in->mod != 3) {
		if (in->base >= 0)
			used |= 1u << in->base;
		if (in->index >= 0)
			used |= 1u << in->index;
	}
	if (call)
		used |= 1u << RSP_G;
	int8_t host[16];
	if (__builtin_popcount(used) > 4 || !assign_regs(t, used, host)) {
		e->overflow = true;
		return;
	}
	struct slow *sl = new_slow(t, in, rip, index, t->fl == FL_R10);
	sl->terminal = true;
	if (in->mod == 3) {
		jit_emit_mov_r64_r64(e, JR_R11, (unsigned)host[in->rm]);
	} else {
		emit_linear(t, in, rip, host);
		emit_probe(t, sl, 8, false);
		jit_emit_mov_r64_m64(e, JR_R11, JR_RDI, 0);
	}
	emit_canonical_check(t, sl, JR_R11);
	if (call)
		push_return(t, sl, next);
	exit_indirect(t, JR_R11, index + 1);
}

/* Which of the above an instruction is (64-bit mode, 64-bit operands, no
 * prefixes that change them): 1 PUSH/POP r64, 2 a stack or indirect
 * branch, 3 PUSH imm, PUSH m64 or LEAVE (emit_push_leave). */
static int stack_form(const struct x86_insn *in)
{
	if (!in->op || in->mode != SOFT_MODE_64 || in->map != X86_MAP_1BYTE ||
	    (in->prefixes & (X86_PFX_LOCK | X86_PFX_ATOMIC | X86_PFX_VEX | X86_PFX_EVEX | X86_PFX_XOP |
			     X86_PFX_F2 | X86_PFX_F3)) ||
	    in->opsize != 8)
		return 0;
	unsigned op = in->opcode;
	if (op >= 0x50 && op <= 0x5f)
		return 1;
	if (op == 0xe8 || op == 0xc3)
		return 2;
	if (op == 0xc9 || ((op == 0x6a || op == 0x68) && (int64_t)in->imm == (int32_t)in->imm))
		return 3;
	if (op == 0xff && in->has_modrm) {
		unsigned digit = (in->modrm >> 3) & 7;
		if ((digit == 2 || digit == 4) && (in->mod == 3 || in->addrsize == 8))
			return 2;
		if (digit == 6 && in->mod != 3 && in->addrsize == 8)
			return 3;
	}
	return 0;
}

/* LEA Gv,M at 64 or 32-bit operand size with 64-bit addressing: the
 * address computed on host registers (segments do not apply). */
static bool lea_form(const struct x86_insn *in)
{
	return in->op && in->map == X86_MAP_1BYTE && in->opcode == 0x8d && in->mode == SOFT_MODE_64 &&
	       in->addrsize == 8 && (in->opsize == 8 || in->opsize == 4) && in->has_modrm &&
	       in->mod != 3 &&
	       !(in->prefixes & (X86_PFX_LOCK | X86_PFX_ATOMIC | X86_PFX_VEX | X86_PFX_EVEX | X86_PFX_XOP));
}

static void emit_lea_insn(struct tr *t, const struct x86_insn *in, uint64_t rip)
{
	struct jit_emit *e = &t->e;
	unsigned used = 1u << in->reg;
	if (in->base >= 0)
		used |= 1u << in->base;
	if (in->index >= 0)
		used |= 1u << in->index;
	int8_t host[16];
	if (!assign_regs(t, used, host)) {
		e->overflow = true;
		return;
	}
	unsigned h = (unsigned)host[in->reg];
	if (in->rip_rel || (in->base < 0 && in->index < 0)) {
		uint64_t v = in->rip_rel ? rip + in->len + (uint64_t)in->disp : (uint64_t)in->disp;
		jit_emit_mov_r64_imm(e, h, in->opsize == 4 ? (uint32_t)v : v);
	} else {
		jit_emit_lea(e, h, in->base >= 0 ? host[in->base] : -1,
			     in->index >= 0 ? host[in->index] : -1, in->scale, (int32_t)in->disp);
		if (in->opsize == 4)
			jit_emit_mov_r32_r32(e, h, h); /* the 32-bit result, zero-extended */
	}
	t->dirty[h] = true;
}

/* An SSE/SSE2 instruction as itself (sse.h): guest XMM reg in host XMM0,
 * r/m in XMM1 (loaded from cpu->xmm) or [RDI] (memory through the fast
 * path, alignment checked for the aligned forms), the result stored back.
 * Before it, what the handler would check: CR0.EM and CR0.TS clear (#UD,
 * #NM), CR4.OSFXSR set (#UD), and for floating point a guest MXCSR with
 * every exception masked (no SIMD exception can be raised); the guest's
 * MXCSR is then loaded into the host's for the instruction (LDMXCSR:
 * rounding, DAZ, FTZ) and stored back after it (STMXCSR: the sticky
 * flags); otherwise the slow path runs the handler.  Guest flags in the
 * host move to R10 as in emit_mem. */
static void emit_sse(struct tr *t, const struct x86_insn *in, const struct jit_sse *sp,
		     uint64_t rip, unsigned index)
{
	struct jit_emit *e = &t->e;
	bool mem = in->mod != 3;
	int8_t host[16];
	unsigned used = 0;
	if (mem && !in->rip_rel) {
		if (in->base >= 0)
			used |= 1u << in->base;
		if (in->index >= 0)
			used |= 1u << in->index;
	}
	if (sp->gpr) /* the general register operand (a register form) */
		used |= 1u << (sp->gpr == JIT_SSE_GPR_DST_REG ? in->reg : in->rm);
	if (!assign_regs(t, used, host) || t->nslow >= SOFT_BLOCK_MAX) {
		e->overflow = true;
		return;
	}
	save_flags(t);
	/* the block's first instruction with nothing emitted before its
	 * checks (no register loaded, the flags not moved): a loop onto
	 * itself can come back after them */
	bool at_loop = index == 0 && e->pos == t->loop;
	for (unsigned k = 0; k < NCACHE; k++)
		at_loop &= t->hold[cache_regs[k]] < 0;
	struct slow *sl = new_slow(t, in, rip, index, t->fl == FL_R10);
	bool load_mxcsr = sp->fp && !t->mxcsr_live;
	if (!t->sse_checked) {
		jit_emit_test_m8_imm8(e, CPU, OFF(cr0), (uint8_t)(X86_CR0_EM | X86_CR0_TS));
		slow_jump(t, sl, JCC_NE);
		jit_emit_test_m8_imm8(e, CPU, OFF(cr4) + 1, (uint8_t)(X86_CR4_OSFXSR >> 8));
		slow_jump(t, sl, JCC_E);
	}
	if (load_mxcsr) {
		/* every exception masked (a 32-bit load: the STMXCSR of the
		 * last one forwards to it) */
		jit_emit_mov_r32_m32(e, JR_R9, CPU, OFF(mxcsr));
		jit_emit_alu_r_imm(e, 4, false, JR_R9, 0x1f80);
		jit_emit_alu_r_imm(e, 7, false, JR_R9, 0x1f80);
		slow_jump(t, sl, JCC_NE);
		jit_emit_0f_m(e, 0xae, 2, CPU, OFF(mxcsr)); /* ldmxcsr */
	}
	if (at_loop) {
		t->loop_sse = e->pos;
		t->loop_sse_fp = sp->fp;
	}
	/* a floating-point slow path runs the handler, which saves and
	 * restores the host MXCSR around its operation and merges its flags
	 * into cpu->mxcsr: reload from there (a move or integer handler
	 * leaves the host MXCSR alone) */
	sl->mxcsr_reload = sp->fp;
	if (mem) {
		emit_linear(t, in, rip, host);
		if (sp->aligned) { /* #GP(0) in the handler */
			jit_emit_mov_r32_r32(e, JR_R8, JR_RSI);
			jit_emit_alu_r_imm(e, 4, false, JR_R8, 15);
			slow_jump(t, sl, JCC_NE);
		}
		t->probe_memo = addr_loaded(t, in);
		emit_probe(t, sl, sp->msize, sp->store);
		t->probe_memo = -1;
	}
	if (sp->gpr) {
		/* PMOVMSKB h32, xmm0 / MOVD-MOVQ xmm0, h / MOVD-MOVQ h, xmm0:
		 * h the host register caching the guest's (any of cache_regs:
		 * R12/R13 take REX.R or REX.B); a 32-bit result zero-extends
		 * as in the guest */
		bool to_gpr = sp->gpr != JIT_SSE_GPR_SRC_RM;
		bool h_in_reg = sp->gpr == JIT_SSE_GPR_DST_REG;
		unsigned h = (unsigned)host[h_in_reg ? in->reg : in->rm];
		int32_t x = OFF(xmm) + 16 * (int32_t)(h_in_reg ? in->rm : in->reg);
		if (to_gpr || sp->fp) /* the source; CVTSI2SS/SD merge */
			jit_emit_0f_m(e, 0x10, 0, CPU, x);   /* movups xmm0, guest xmm */
		jit_emit_u8(e, sp->pfx);
		jit_emit_rex(e, sp->w, h_in_reg ? h : 0, 0, h_in_reg ? 0 : h, false);
		jit_emit_u8(e, 0x0f);
		jit_emit_u8(e, sp->op);
		jit_emit_u8(e, (uint8_t)(0xc0 | (h_in_reg ? (h & 7) << 3 : (h & 7))));
		if (sp->fp)
			jit_emit_0f_m(e, 0xae, 3, CPU, OFF(mxcsr)); /* stmxcsr */
		if (to_gpr)
			t->dirty[h] = true;
		else
			jit_emit_0f_m(e, 0x11, 0, CPU, x);   /* movups guest xmm, xmm0 */
		sl->fl_after = t->fl;
		sl->back = e->pos;
		t->sse_checked = true;
		t->mxcsr_live |= sp->fp;
		return;
	}
	int32_t xreg = OFF(xmm) + 16 * (int32_t)in->reg, xrm = OFF(xmm) + 16 * (int32_t)in->rm;
	jit_emit_0f_m(e, 0x10, 0, CPU, xreg);            /* movups xmm0, guest reg */
	if (!mem)
		jit_emit_0f_m(e, 0x10, 1, CPU, xrm);     /* movups xmm1, guest r/m */
	if (sp->pfx)
		jit_emit_u8(e, sp->pfx);
	if (sp->w)
		jit_emit_u8(e, 0x48);                    /* MOVQ xmm, m64 / m64, xmm */
	jit_emit_u8(e, 0x0f);
	jit_emit_u8(e, sp->op);
	jit_emit_u8(e, mem ? (uint8_t)JR_RDI : 0xc1);   /* xmm0, [rdi] / xmm0, xmm1 */
	if (sp->imm)
		jit_emit_u8(e, (uint8_t)in->imm);
	if (sp->fp)
		jit_emit_0f_m(e, 0xae, 3, CPU, OFF(mxcsr)); /* stmxcsr */
	if (!sp->store)
		jit_emit_0f_m(e, 0x11, 0, CPU, xreg);    /* movups guest reg, xmm0 */
	else if (!mem)
		jit_emit_0f_m(e, 0x11, 1, CPU, xrm);     /* movups guest r/m, xmm1 */
	sl->fl_after = t->fl;
	sl->back = e->pos;
	t->sse_checked = true;
	t->mxcsr_live |= sp->fp;
}

/* Before the first floating-point instruction of a run (SSE or VEX: the
 * same convention, docs/soft-cpu.md "MXCSR convention"): the guest MXCSR
 * must mask every exception (else sl: the handler), and is loaded into
 * the host's. */
static void emit_vex_mxcsr_load(struct tr *t, struct slow *sl)
{
	struct jit_emit *e = &t->e;
	jit_emit_mov_r32_m32(e, JR_R9, CPU, OFF(mxcsr));
	jit_emit_alu_r_imm(e, 4, false, JR_R9, 0x1f80);
	jit_emit_alu_r_imm(e, 7, false, JR_R9, 0x1f80);
	slow_jump(t, sl, JCC_NE);
	jit_emit_0f_m(e, 0xae, 2, CPU, OFF(mxcsr)); /* ldmxcsr */
}

/* A VEX instruction as itself (vex.h, vex.c): the guest's vector
 * registers loaded from cpu into host YMM0-YMM2, the instruction, the
 * destination stored back whole; a memory operand through the fast path
 * (the probe covers all msize bytes: a 32-byte access crossing a page
 * misses and takes the handler).  Before the first of a run, avx_check's
 * conditions for 64-bit mode (avx_common.h): CR4.OSXSAVE, XCR0[2:1] =
 * 11b, CR0.TS clear; a failed check runs the handler, which raises the
 * #UD or #NM. */
static void emit_vex(struct tr *t, const struct x86_insn *in, const struct jit_vex *v,
		     uint64_t rip, unsigned index)
{
	struct jit_emit *e = &t->e;
	bool mem = in->has_modrm && in->mod != 3;
	bool gpr = v->kind == JIT_VEX_GPR_DST ||
		   (!mem && (v->kind == JIT_VEX_GPR_RM_SRC || v->kind == JIT_VEX_GPR_RM_DST));
	unsigned g = v->kind == JIT_VEX_GPR_DST ? in->reg : in->rm;
	int8_t host[16];
	unsigned used = gpr ? 1u << g : 0;
	if (mem && !in->rip_rel) {
		if (in->base >= 0)
			used |= 1u << in->base;
		if (in->index >= 0)
			used |= 1u << in->index;
	}
	if (!assign_regs(t, used, host) || t->nslow >= SOFT_BLOCK_MAX) {
		e->overflow = true;
		return;
	}
	struct slow *sl = NULL;
	bool load_mxcsr = v->fp && !t->mxcsr_live;
	if (!t->vex_checked || mem || load_mxcsr) {
		save_flags(t);
		sl = new_slow(t, in, rip, index, t->fl == FL_R10);
		/* floating point: the handler merges its MXCSR flags into
		 * cpu->mxcsr; reload the host's from there (emit_sse) */
		sl->mxcsr_reload = v->fp;
	}
	if (!t->vex_checked) {
		jit_emit_test_m8_imm8(e, CPU, OFF(cr4) + 2, (uint8_t)(1u << (18 - 16)) /* CR4.OSXSAVE */);
		slow_jump(t, sl, JCC_E);
		jit_emit_test_m8_imm8(e, CPU, OFF(cr0), (uint8_t)X86_CR0_TS);
		slow_jump(t, sl, JCC_NE);
		jit_emit_mov_r32_m32(e, JR_R9, CPU, OFF(xcr0));
		jit_emit_alu_r_imm(e, 4, false, JR_R9, 6);
		jit_emit_alu_r_imm(e, 7, false, JR_R9, 6);
		slow_jump(t, sl, JCC_NE);
	}
	if (load_mxcsr) /* the SSE run's convention: masks checked, LDMXCSR */
		emit_vex_mxcsr_load(t, sl);
	if (mem) {
		emit_linear(t, in, rip, host);
		if (v->aligned) { /* #GP(0) in the handler */
			jit_emit_mov_r32_r32(e, JR_R8, JR_RSI);
			jit_emit_alu_r_imm(e, 4, false, JR_R8, v->msize - 1);
			slow_jump(t, sl, JCC_NE);
		}
		emit_probe(t, sl, v->msize, v->store);
	}
	unsigned hg = gpr ? (unsigned)host[g] : 0;
	jit_vex_emit_body(e, in, v, mem, hg, CPU, OFF(xmm), OFF(ymmh));
	if (v->fp)
		jit_emit_0f_m(e, 0xae, 3, CPU, OFF(mxcsr)); /* stmxcsr: the sticky flags */
	if (v->kind == JIT_VEX_FLAGS)
		t->fl = FL_HOST; /* VPTEST: all six written */
	if (gpr && v->kind != JIT_VEX_GPR_RM_SRC)
		t->dirty[hg] = true;
	if (sl) {
		sl->fl_after = t->fl;
		sl->back = e->pos;
	}
	t->vex_checked = true;
	t->mxcsr_live |= v->fp;
}

/* A VEX general-register BMI instruction as itself (vex.h): its registers
 * through the register cache, the destination written; the flags in the
 * host after one that writes them, untouched otherwise.  A memory r/m is
 * a load through the fast path (as emit_vex's: the flags saved first, a
 * miss or fault runs the handler, which reads the operand itself). */
static void emit_bmiv(struct tr *t, const struct x86_insn *in, const struct jit_bmiv *p,
		      uint64_t rip, unsigned index)
{
	unsigned used = p->dst_vvvv ? 0 : 1u << in->reg;
	if (p->dst_vvvv || p->src_vvvv)
		used |= 1u << in->vex_vvvv;
	if (!p->mem)
		used |= 1u << in->rm;
	else if (!in->rip_rel)
		used |= (in->base >= 0 ? 1u << in->base : 0) | (in->index >= 0 ? 1u << in->index : 0);
	int8_t host[16];
	if (!assign_regs(t, used, host) || (p->mem && t->nslow >= SOFT_BLOCK_MAX)) {
		t->e.overflow = true;
		return;
	}
	struct slow *sl = NULL;
	if (p->mem) {
		save_flags(t);
		sl = new_slow(t, in, rip, index, t->fl == FL_R10);
		emit_linear(t, in, rip, host);
		emit_probe(t, sl, in->opsize, false);
	}
	jit_bmiv_emit(&t->e, in, p, host);
	t->dirty[host[p->dst_vvvv ? in->vex_vvvv : in->reg]] = true;
	if (p->writes_flags)
		t->fl = FL_HOST;
	if (sl) {
		sl->fl_after = t->fl;
		sl->back = t->e.pos;
	}
}

/* Instructions that do nothing the guest can observe: the multi-byte NOP
 * (0F 1F /0, compilers' padding) and the prefetch hints (0F 18 /0-3, 0F 0D
 * /0-1 with a memory operand: never a fault, SDM vol. 2 PREFETCHh).  They
 * emit no code. */
static bool nop_form(const struct x86_insn *in)
{
	if (!in->op || in->map != X86_MAP_0F || !in->has_modrm ||
	    (in->prefixes & (X86_PFX_LOCK | X86_PFX_ATOMIC | X86_PFX_VEX | X86_PFX_EVEX | X86_PFX_XOP |
			     X86_PFX_F2 | X86_PFX_F3)))
		return false;
	unsigned digit = (in->modrm >> 3) & 7;
	if (in->opcode == 0x1f)
		return digit == 0;
	if (in->opcode == 0x18)
		return in->mod != 3 && digit <= 3;
	if (in->opcode == 0x0d)
		return in->mod != 3 && digit <= 1;
	return false;
}

/* Guest registers an instruction with a memory operand uses (operands,
 * implicit ones, base and index). */
static unsigned mem_regs(const struct x86_insn *in, const struct jit_native *n)
{
	unsigned used = n->implicit;
	if (n->reg.g >= 0)
		used |= 1u << n->reg.g;
	if (in->base >= 0)
		used |= 1u << in->base;
	if (in->index >= 0)
		used |= 1u << in->index;
	return used;
}

/* A memory access through the inline TLB fast path (64-bit mode): the
 * linear address in RSI (base + index * scale + disp, RIP-relative or
 * absolute, plus the FS/GS base), canonical, inside one page, a TLB hit in
 * the current rights class for reading (tag_jread: on RAM) or, for a store or a
 * read-modify-write, for inline stores (tag_fastw: never on a page holding
 * decoded code, mmu/code_write.c), on RAM: the host address in RDI and
 * the guest instruction runs on [RDI].  Anything else takes the slow path:
 * the handler, out of line, which faults, splits a page-crossing access,
 * reaches MMIO or writes code (dropping the touched translations) as the
 * interpreter does.
 *
 * The probe's compares clobber the host RFLAGS: guest flags living there
 * move to R10 first (save_flags: LAHF/SETO, or PUSHFQ) and come back only
 * when an instruction needs them (flags_for: for a read-modify-write
 * instruction right after the probe, only the flags it reads or keeps that
 * are live); the slow path merges R10 into cpu->rflags, so a fault sees
 * them precisely. */
/* The guest registers a native instruction (n, through emit_native or
 * emit_mem) may write: all it uses, less its one register operand that
 * is only read where the opcode says so (the ALU E,G forms, MOV E,G,
 * SHLD/SHRD and BTS/BTR/BTC E,G read ModRM.reg and write r/m; the ALU G,E
 * forms, MOV G,E, MOVZX/MOVSX/MOVSXD, CMOVcc, IMUL G,E(,imm), TZCNT/LZCNT/
 * POPCNT write ModRM.reg and read r/m) and, for a memory form, the address
 * registers (no whitelisted instruction writes them).  So a register
 * cached but only read stays clean: evicting it costs no store.  Without
 * writeback nothing is written. */
static unsigned native_written(const struct x86_insn *in, const struct jit_native *n, unsigned used)
{
	if (!n->writeback)
		return 0;
	bool legacy_map = !in->vex_mmmmm;
	uint8_t op = in->opcode;
	bool reg_src = false, rm_src = false;
	if (legacy_map && in->map == X86_MAP_1BYTE) {
		reg_src = (op < 0x40 && (op & 7) <= 1) || op == 0x88 || op == 0x89;
		rm_src = (op < 0x40 && ((op & 7) == 2 || (op & 7) == 3)) || op == 0x8a || op == 0x8b ||
			 op == 0x63 || op == 0x69 || op == 0x6b;
	} else if (legacy_map && in->map == X86_MAP_0F) {
		reg_src = op == 0xa4 || op == 0xa5 || op == 0xac || op == 0xad || op == 0xab ||
			  op == 0xb3 || op == 0xbb;
		rm_src = (op >= 0x40 && op <= 0x4f) || op == 0xaf || op == 0xb6 || op == 0xb7 ||
			 op == 0xbe || op == 0xbf || op == 0xb8 || op == 0xbc || op == 0xbd;
	}
	unsigned w = n->implicit;
	if (n->z.g >= 0)
		w |= 1u << n->z.g;
	if (n->reg.g >= 0 && !reg_src)
		w |= 1u << n->reg.g;
	if (n->mem)
		return w & used;
	if (n->rm.g >= 0 && !rm_src)
		w |= 1u << n->rm.g;
	if (!reg_src && !rm_src && n->reg.g < 0 && n->rm.g < 0)
		w = used; /* nothing known: all of them */
	return w & used;
}

/* Does b (the instruction after a, both through emit_mem) access the
 * same bytes as a: the same address expression (base, index, scale,
 * displacement, segment; not RIP-relative), registers a does not write,
 * the same size? */
static bool same_access(const struct x86_insn *a, const struct jit_native *na,
			const struct x86_insn *b, const struct jit_native *nb)
{
	if (a->rip_rel || b->rip_rel || a->base != b->base || a->index != b->index ||
	    a->disp != b->disp || a->seg != b->seg || na->msize != nb->msize ||
	    (a->index >= 0 && a->scale != b->scale))
		return false;
	if (!na->writeback)
		return true;
	unsigned written = na->implicit | (na->reg.g >= 0 ? 1u << na->reg.g : 0);
	return !((a->base >= 0 && (written & (1u << a->base))) ||
		 (a->index >= 0 && (written & (1u << a->index))));
}

/* Does in (through emit_mem) write its memory operand without reading it:
 * MOV r/m, r and MOV r/m, imm (88 89 C6 C7), SETcc m (0F 90-9F)? */
static bool pure_store(const struct x86_insn *in)
{
	if (in->map == X86_MAP_1BYTE)
		return in->opcode == 0x88 || in->opcode == 0x89 || in->opcode == 0xc6 || in->opcode == 0xc7;
	return in->map == X86_MAP_0F && in->opcode >= 0x90 && in->opcode <= 0x9f;
}

/* Are the guest registers in used all in the register cache where
 * assign_regs would take them (so it emits nothing)? */
static bool regs_cached(const struct tr *t, unsigned used, bool legacy)
{
	for (unsigned g = 0; g < 16; g++) {
		if (!(used & (1u << g)))
			continue;
		bool found = false;
		for (unsigned k = 0; k < (legacy ? 4u : NCACHE); k++)
			if (t->hold[cache_regs[k]] == (int8_t)g && (g >= 4 || cache_regs[k] == g))
				found = true;
		if (!found)
			return false;
	}
	return true;
}

/* A memory access through the inline TLB fast path (64-bit mode): the
 * linear address in RSI (base + index * scale + disp, RIP-relative or
 * absolute, plus the FS/GS base), canonical, inside one page, a TLB hit in
 * the current rights class for reading (tag_jread: on RAM) or, for a store or a
 * read-modify-write, for inline stores (tag_fastw: never on a page holding
 * decoded code, mmu/code_write.c), on RAM: the host address in RDI and
 * the guest instruction runs on [RDI].  Anything else takes the slow path:
 * the handler, out of line, which faults, splits a page-crossing access,
 * reaches MMIO or writes code (dropping the touched translations) as the
 * interpreter does.
 *
 * The probe's compares clobber the host RFLAGS: guest flags living there
 * move to R10 first (save_flags: LAHF/SETO, or PUSHFQ) and come back only
 * when an instruction needs them (flags_for: for a read-modify-write
 * instruction right after the probe, only the flags it reads or keeps that
 * are live); the slow path merges R10 into cpu->rflags, so a fault sees
 * them precisely.
 *
 * One probe for two accesses: when the next instruction (next, nn: also
 * through here) accesses the same bytes (same_access: "add (%rsi,%rax,8),
 * %rdx; mov %rdx,(%rsi,%rax,8)"), this probe asks for the right both need
 * (tag_fastw if either stores) and the next one runs on the same RDI
 * without a probe of its own, provided its registers are cached already.
 * Nothing runs in between but this instruction, natively: no handler, no
 * TLB fill or flush, no INVLPG or CR3 write (those end blocks), so the
 * slot's translation and right hold as they would for its own probe (a
 * store to a page table changes no translation until the TLB is flushed:
 * SDM vol. 3, 4.10.4).  When this access takes its slow path, RDI is not
 * set: the handler's way back leads to the next instruction's own probe,
 * which the fast path jumps over. */
static void emit_mem(struct tr *t, const struct x86_insn *in, const struct jit_native *n,
		     uint64_t rip, unsigned index, struct slow *prev, const struct x86_insn *next,
		     const struct jit_native *nn)
{
	struct jit_emit *e = &t->e;
	unsigned used = mem_regs(in, n);
	bool legacy = jit_native_legacy(n);
	int8_t host[16];
	if (prev && !regs_cached(t, used, legacy))
		prev = NULL; /* assign_regs below would load: a probe of its own */
	if (!assign_regs_ex(t, used, host, legacy) || t->nslow >= SOFT_BLOCK_MAX) {
		e->overflow = true;
		return;
	}
	struct slow *sl;
	t->probe_reads = !pure_store(in) || (next && same_access(in, n, next, nn) && !pure_store(next));
	t->probe_memo = addr_loaded(t, in);
	if (prev) {
		/* the fast path of the previous access goes past this probe;
		 * its slow path comes back to it (state as after it: the
		 * registers cached, the flags where it left them) */
		size_t skip = jit_emit_jmp_rel32(e);
		prev->back = e->pos;
		uint8_t fl = t->fl;
		save_flags(t);
		emit_linear(t, in, rip, host);
		sl = new_slow(t, in, rip, index, t->fl == FL_R10);
		emit_probe_ex(t, sl, n->msize, n->store, true);
		if (fl == FL_HOST) { /* as on the fast path */
			emit_restore_r10(e, t->lahf, rax_held(t), JIT_FL_ALL);
			t->fl = FL_HOST;
		}
		jit_emit_patch_rel32(e, skip, e->pos);
	} else {
		save_flags(t);
		emit_linear(t, in, rip, host);
		sl = new_slow(t, in, rip, index, t->fl == FL_R10);
		bool share = next && same_access(in, n, next, nn);
		emit_probe_ex(t, sl, n->msize, n->store || (share && nn->store), true);
		if (share)
			t->reuse = sl;
	}
	t->probe_reads = false;
	t->probe_memo = -1;
	if (n->writeback && !pure_store(in)) /* a load into the register operand */
		t->loaded |= (uint16_t)((n->reg.g >= 0 ? 1u << n->reg.g : 0) | n->implicit);
	if (n->flags == JF_RMW) {
		if (t->fl == FL_CPU) {
			/* flags_for's soft_flags_flush call keeps RDI, not
			 * RSI: the whole address in RDI (MOVs and LEA only:
			 * the flags stay where they are) */
			jit_emit_lea(e, JR_RDI, JR_RDI, JR_RSI, 1, 0);
			flags_for(t, in, index);
			jit_emit_mov_r64_imm(e, JR_RSI, 0);
		} else {
			flags_for(t, in, index); /* keeps RDI and RSI */
		}
	}
	jit_native_emit(e, in, n, host); /* on [RDI+RSI] */
	unsigned written = native_written(in, n, used);
	for (unsigned g = 0; g < 16; g++)
		if (host[g] >= 0 && (written & (1u << g)))
			t->dirty[host[g]] = true;
	if (n->flags == JF_WRITE)
		t->fl = FL_HOST;
	sl->fl_after = t->fl;
	sl->back = e->pos;
}

/* The slow path of a memory access: the guest flags (if saved in R10) and
 * the registers written back, the handler, then the state the fast path
 * leaves (flags in the host if it does, the cached registers reloaded),
 * and back. */
static void emit_slow(struct tr *t, struct slow *sl)
{
	struct jit_emit *e = &t->e;
	for (unsigned k = 0; k < sl->nfix; k++)
		jit_emit_patch_rel32(e, sl->fix[k], e->pos);
	for (unsigned k = 0; k < NCACHE; k++) {
		unsigned h = cache_regs[k];
		if (sl->hold[h] >= 0 && sl->dirty[h])
			jit_emit_mov_m64_r64(e, CPU, GPR(sl->hold[h]), h);
	}
	if (sl->saved_flags)
		emit_merge_r10(e, t->lahf); /* cpu->rflags = R10's; lf.op = LF_NONE */
	if (!sl->terminal && !sl->mxcsr_reload) {
		/* the stub leaves on a fault or block_stop itself */
		emit_handler_call_chk(t, sl->in, sl->rip, sl->index);
		goto rebuild;
	}
	emit_handler_call(t, sl->in, sl->rip);
	jit_emit_test_r32_r32(e, JR_RAX, JR_RAX);
	size_t f = jit_emit_jcc_rel32(e, JCC_NE);
	t->fault_fix[t->nfault] = f;
	t->fault_count[t->nfault++] = sl->index;
	if (sl->terminal) {
		/* the handler branched: exit at its next_rip */
		t->stop_fix[t->nstop] = jit_emit_jmp_rel32(e);
		t->stop_count[t->nstop++] = sl->index + 1;
		return;
	}
	if (sl->mxcsr_reload) {
		/* the handler ran with the host MXCSR saved and restored
		 * (sse_common.h) and merged its flags into cpu->mxcsr: load
		 * them for the rest of the run; if the guest's MXCSR has an
		 * exception unmasked (the masks were checked in the slow
		 * path's place), leave after the instruction instead */
		jit_emit_mov_r32_m32(e, JR_R9, CPU, OFF(mxcsr));
		jit_emit_alu_r_imm(e, 4, false, JR_R9, 0x1f80);
		jit_emit_alu_r_imm(e, 7, false, JR_R9, 0x1f80);
		size_t unmasked = jit_emit_jcc_rel32(e, JCC_NE);
		jit_emit_0f_m(e, 0xae, 2, CPU, OFF(mxcsr)); /* ldmxcsr */
		size_t done = jit_emit_jmp_rel32(e);
		jit_emit_patch_rel32(e, unmasked, e->pos);
		jit_emit_mov_m8_imm8(e, CPU, OFF(block_stop), 1);
		jit_emit_patch_rel32(e, done, e->pos);
	}
	jit_emit_cmp_m8_imm8(e, CPU, OFF(block_stop), 0);
	f = jit_emit_jcc_rel32(e, JCC_NE);
	t->stop_fix[t->nstop] = f;
	t->stop_count[t->nstop++] = sl->index + 1;
rebuild:
	/* the flags where the fast path leaves them (RAX is reloaded below) */
	if (sl->fl_after != FL_CPU)
		emit_host_from_cpu(e, t->lahf, false);
	if (sl->fl_after == FL_R10)
		emit_save_r10(e, t->lahf, false);
	for (unsigned k = 0; k < NCACHE; k++) {
		unsigned h = cache_regs[k];
		if (sl->hold[h] >= 0)
			jit_emit_mov_r64_m64(e, h, CPU, GPR(sl->hold[h]));
	}
	size_t back = jit_emit_jmp_rel32(e);
	jit_emit_patch_rel32(e, back, sl->back);
}

/* Is in emitted by emit_mem (the translation loop's choice, in its order)? */
static bool mem_form(const struct tr *t, const struct x86_insn *in, struct jit_native *n)
{
	struct jit_native r;
	struct jit_sse sp;
	if (jit_is_direct_branch(in) || jit_native_plan(in, &r) ||
	    (jit_sse_plan(in, &sp) && (in->mod == 3 || t->fast_mem)) || nop_form(in) || lea_form(in) ||
	    stack_form(in))
		return false;
	return t->fast_mem && (jit_native_plan_mem(in, n) || jit_bmi_plan(t->bmi_isa, in, n, true)) &&
	       __builtin_popcount(mem_regs(in, n)) <= 4;
}

/* The guest registers in may write, whichever way it is emitted (its
 * semantics: native_written for the natively emitted forms, register and
 * memory; LEA its destination; NOP and a direct branch none; anything
 * else all sixteen). */
static uint16_t insn_writes(const struct x86_insn *in)
{
	struct jit_native n;
	if (jit_is_direct_branch(in) || nop_form(in))
		return 0;
	if (lea_form(in))
		return (uint16_t)(1u << in->reg);
	if (jit_native_plan(in, &n)) {
		unsigned used = n.implicit;
		if (n.reg.g >= 0)
			used |= 1u << n.reg.g;
		if (n.rm.g >= 0)
			used |= 1u << n.rm.g;
		if (n.z.g >= 0)
			used |= 1u << n.z.g;
		return (uint16_t)native_written(in, &n, used);
	}
	if (jit_native_plan_mem(in, &n))
		return (uint16_t)native_written(in, &n, mem_regs(in, &n));
	return 0xffff;
}

static void emit_native(struct tr *t, const struct x86_insn *in, const struct jit_native *n,
			unsigned index)
{
	struct jit_emit *e = &t->e;
	if (n->flags == JF_RMW)
		flags_for(t, in, index);
	/* guest registers used: identity for RAX..RBX, the others take a
	 * host register among RAX..RBX that no guest RAX..RBX uses here */
	uint16_t used = n->implicit;
	if (n->reg.g >= 0)
		used |= (uint16_t)(1u << n->reg.g);
	if (n->rm.g >= 0)
		used |= (uint16_t)(1u << n->rm.g);
	if (n->z.g >= 0)
		used |= (uint16_t)(1u << n->z.g);
	int8_t host[16];
	if (!assign_regs_ex(t, used, host, jit_native_legacy(n))) {
		e->overflow = true;
		return;
	}
	jit_native_emit(e, in, n, host);
	unsigned written = native_written(in, n, used);
	for (unsigned g = 0; g < 16; g++)
		if (host[g] >= 0 && (written & (1u << g)))
			t->dirty[host[g]] = true;
	if (n->writeback && (t->loaded & used))
		t->loaded |= used;
	if (n->flags == JF_WRITE)
		t->fl = FL_HOST;
}

/* Call the interpreter's handler for instruction index (at rip). */
static void emit_helper_code(struct tr *t, const struct x86_insn *in, uint64_t rip, unsigned index,
			     bool last)
{
	struct jit_emit *e = &t->e;
	writeback_all(t);
	spill_flags(t);
	evict_all(t); /* the handler may read and write any guest register */
	t->pure = false;
	if (last) {
		emit_handler_call(t, in, rip);
		jit_emit_test_r32_r32(e, JR_RAX, JR_RAX);
		size_t f = jit_emit_jcc_rel32(e, JCC_NE);
		t->fault_fix[t->nfault] = f;
		t->fault_count[t->nfault++] = index;
		return;
	}
	/* a failed handler leaves; so does one that wrote code of this page
	 * (or changed the mode): cpu->block_stop (the stub tests both) */
	emit_handler_call_chk(t, in, rip, index);
	if (t->fast_mem)
		emit_class(t); /* STAC/CLAC do not end a block */
}

static void emit_helper(struct tr *t, const struct x86_insn *in, uint64_t rip, unsigned index,
			bool last)
{
	size_t p0 = t->e.pos;
	emit_helper_code(t, in, rip, index, last);
	t->bytes[SOFT_JIT_BYTES_HELPER] += t->e.pos - p0;
}

/* After the last instruction ran through a handler: RIP is next_rip.
 * Go on through the indirect-branch table like an indirect branch, so
 * SYSCALL, SYSRET, IRET and string instructions do not leave translated
 * code when their target is translated.  block_stop is not a reason to
 * leave here (every CS load sets it): what it stands for is checked
 * itself, a mode change by the mode compare, dropped blocks by the chain
 * checks, a new CPL, CS base or mapping by the epoch. */
static void exit_after_helper(struct tr *t, unsigned count)
{
	struct jit_emit *e = &t->e;
	jit_emit_mov_r64_m64(e, JR_R10, CPU, OFF(next_rip));
	exit_indirect_ex(t, JR_R10, count, true);
}

/* Will the translation loop below emit every instruction of b inline,
 * without a handler call (t->pure at its end)?  Its choices in its order;
 * a wrong guess costs speed only (exits.h's entries are exact either way). */
static bool jit_block_pure(const struct tr *t, const struct soft_block *b, const int8_t *seg_end)
{
	uint64_t rip = b->rip, tg;
	for (unsigned i = 0; i < t->n; i++) {
		const struct x86_insn *in = t->insn[i];
		bool last = i + 1 == t->n;
		if (seg_end[i] >= 0) { /* a region's inner branch: inline */
			rip = t->rg->blk[seg_end[i] + 1]->rip;
			continue;
		}
		struct jit_native n;
		struct jit_sse sp;
		int st = t->fast_mem ? stack_form(in) : 0;
		bool inline_ = (last && jit_is_direct_branch(in) && jit_branch_target(in, rip + in->len, &tg)) ||
			       jit_native_plan(in, &n) ||
			       (jit_sse_plan(in, &sp) && (in->mod == 3 || t->fast_mem)) || nop_form(in) ||
			       lea_form(in) || st == 1 || st == 3 ||
			       (last && st == 2 && (in->opcode != 0xe8 || jit_branch_target(in, rip + in->len, &tg))) ||
			       div_form(t, in) || cli_form(t, in) || swapgs_form(t, in) || mem_form(t, in, &n) ||
			       jit_tsc_form(in, t->b->mode);
		if (!inline_)
			return false;
		rip += in->len;
	}
	return true;
}

/* What translate_pass translates: b's own instructions (rg NULL), or a
 * loop region's trace (region.h) with its side slots: insn[i] the trace's
 * instruction i, in its decoded block. */
struct tr_src {
	const struct x86_insn *insn[SOFT_BLOCK_MAX];
	unsigned n;
	const struct jit_region *rg;
	struct soft_jit_link *side;
};

static const void *translate_pass(struct soft_cpu *cpu, struct soft_jit *j, struct soft_block *b,
				  struct tr *t, bool dry, const int8_t *loop_hold,
				  const struct tr_src *src)
{
	memset(t, 0, sizeof(*t));
	t->insn = src->insn;
	t->n = src->n;
	t->rg = src->rg;
	t->side = src->side;
	const struct x86_insn *const *const insn = t->insn;
	const unsigned n_insn = t->n;
	uint64_t end_rip = b->rip, back_to = 0; /* a block's: after its last instruction */
	uint16_t writes = 0; /* the guest registers the trace may write */
	for (unsigned i = 0; i < n_insn; i++) {
		t->uses[i] = reg_uses(insn[i]);
		writes |= insn_writes(insn[i]);
		end_rip += insn[i]->len;
	}
	t->wrap = t->rg || (n_insn && jit_is_direct_branch(insn[n_insn - 1]) &&
			    jit_branch_target(insn[n_insn - 1], end_rip, &back_to) && back_to == b->rip);
	/* seg_end[i]: i ends inner block k of a region (its branch a side
	 * exit), or -1 */
	int8_t seg_end[SOFT_BLOCK_MAX];
	memset(seg_end, -1, sizeof(seg_end));
	for (unsigned k = 0; t->rg && k + 1 < t->rg->nseg; k++)
		seg_end[t->rg->seg[k].first + t->rg->seg[k].count - 1] = (int8_t)k;
	memset(t->hold, -1, sizeof(t->hold));
	t->dry = dry;
	if (loop_hold) {
		t->loop_regs = true;
		memcpy(t->loop_hold, loop_hold, sizeof(t->loop_hold));
	}
	t->b = b;
	t->pure = true;
	t->fl = FL_CPU;
	t->lahf = j->lahf;
	t->no_memo = j->no_memo;
	t->ibtc = j->ibtc;
	t->vex_cpu = j->no_vex ? NULL : cpu;
	t->bmi_isa = j->no_vex ? 0 : cpu->host_isa;
	const struct jit_flag_isa fisa = { t->vex_cpu, t->bmi_isa };
	t->live_in = jit_flags_liveness_isa(&fisa, insn[0], t->rg ? t->rg->seg[0].count : n_insn,
					    t->live);
	/* each block of a region: all six flags live at its end (its branch
	 * leaves the trace one way) */
	for (unsigned k = 1; t->rg && k < t->rg->nseg; k++)
		jit_flags_liveness_isa(&fisa, insn[t->rg->seg[k].first], t->rg->seg[k].count,
				       &t->live[t->rg->seg[k].first]);
	size_t start = j->cache.used;
	jit_emit_init(&t->e, j->cache.rw + start, soft_jit_cache_room(&j->cache));
	struct jit_emit *e = &t->e;
	for (unsigned k = 0; k < SOFT_JIT_STUB_N; k++)
		t->stub[k] = (int64_t)j->stub[k] - (int64_t)start;
	t->out_stub = SOFT_JIT_STUB_OK;

	/* no prologue: the run loop enters through the shared entry stub
	 * (stubs.c), chained blocks jump here (the chain slot's code) */
	size_t body = e->pos;
	t->body = body;
	bool any_helper = false;
	t->fast_mem = false;
	for (unsigned i = 0; i < n_insn && cpu->jit_tlb; i++) {
		struct jit_native n;
		struct jit_sse sp;
		struct jit_vex vp;
		struct jit_bmiv bv;
		if (jit_native_plan_mem(insn[i], &n) || stack_form(insn[i]) ||
		    (jit_bmiv_plan(t->bmi_isa, insn[i], &bv) && bv.mem) ||
		    (div_insn(insn[i]) && insn[i]->mod != 3) ||
		    (jit_sse_plan(insn[i], &sp) && insn[i]->mod != 3) ||
		    jit_bmi_plan(t->bmi_isa, insn[i], &n, true) ||
		    (t->vex_cpu && jit_vex_plan(cpu, insn[i], &vp) && insn[i]->has_modrm &&
		     insn[i]->mod != 3))
			t->fast_mem = true;
	}
	/* a block without handler calls that needs the flags at its start
	 * runs from R10: chains from blocks like it pass them there
	 * (exits.h), its cpu entry (the run loop, the table of indirect
	 * branches, exits after a handler) loads them into R10 first; a
	 * loop onto itself then keeps them in R10 across its back edge */
	t->loop_fl = FL_CPU;
	t->r10_start = n_insn && t->live_in && jit_block_pure(t, b, seg_end);
	if (t->r10_start) {
		emit_host_from_cpu(e, t->lahf, false);
		emit_save_r10(e, t->lahf, false);
		t->fl = t->loop_fl = FL_R10;
	}
	size_t body_r10 = e->pos;
	for (unsigned i = 0; i < n_insn; i++)
		if (!jit_is_direct_branch(insn[i])) {
			struct jit_native n;
			if (!jit_native_plan(insn[i], &n) && !lea_form(insn[i]) &&
			    !nop_form(insn[i]))
				any_helper = true;
		}
	if (any_helper) /* the run loop clears block_stop before a block; a
			 * chained entry must too */
		jit_emit_mov_m8_imm8(e, CPU, OFF(block_stop), 0);
	/* R14, the rights class, is current at every entry into a body: the
	 * entry stub and the exits after handlers compute it (stubs.c), and
	 * a block without handler calls cannot change it */
	if (t->loop_regs) {
		for (unsigned k = 0; k < NCACHE; k++) {
			unsigned h = cache_regs[k];
			if (t->loop_hold[h] < 0)
				continue;
			jit_emit_mov_r64_m64(e, h, CPU, GPR(t->loop_hold[h]));
			t->hold[h] = t->loop_hold[h];
			/* as it may be when jumped back to, unless nothing in
			 * the loop writes it (then cpu->gpr is its value) */
			t->dirty[h] = (writes >> t->loop_hold[h]) & 1;
		}
	}
	t->loop = e->pos;
	t->sse_checked = t->mxcsr_live = false;
	t->vex_checked = false;

	uint64_t rip = b->rip;
	bool ended = false;
	for (unsigned i = 0; i < n_insn; i++) {
		const struct x86_insn *in = insn[i];
		bool last = i + 1 == n_insn;
		struct jit_native n;
		struct jit_sse sp;
		struct jit_vex vp;
		struct jit_bmiv bv;
		uint64_t tg;
		t->cur = i;
		struct slow *reuse = t->reuse; /* for emit_mem only */
		t->reuse = NULL;
		bool known = false; /* t->loaded kept up to date (else all taken as loaded) */
		if (seg_end[i] >= 0) {
			/* a region's inner branch: the trace goes on at the
			 * next block (region.h) */
			const struct jit_region_seg *sg = &t->rg->seg[seg_end[i]];
			uint64_t next = 0;
			jit_region_branch(in, rip, &tg, &next);
			emit_side_branch(t, in, i, (unsigned)seg_end[i], sg->taken, sg->taken ? next : tg);
			j->stats.native_insns++;
			rip = t->rg->blk[seg_end[i] + 1]->rip;
			continue;
		}
		if (last && jit_is_direct_branch(in) && jit_branch_target(in, rip + in->len, &tg)) {
			emit_branch(t, in, rip, i);
			j->stats.native_insns++;
			ended = true;
		} else if (jit_native_plan(in, &n) || jit_bmi_plan(t->bmi_isa, in, &n, false)) {
			emit_native(t, in, &n, i);
			j->stats.native_insns++;
			known = true;
		} else if (jit_bmiv_plan(t->bmi_isa, in, &bv) && (!bv.mem || t->fast_mem)) {
			emit_bmiv(t, in, &bv, rip, i);
			j->stats.native_insns++;
			j->stats.fast_loads += bv.mem;
			if (last)
				exit_direct(t, rip + in->len, n_insn, 0);
			ended = last;
		} else if (t->vex_cpu && jit_vex_plan(cpu, in, &vp) &&
			   (!in->has_modrm || in->mod == 3 || t->fast_mem)) {
			emit_vex(t, in, &vp, rip, i);
			j->stats.native_insns++;
			j->stats.vex++;
			j->stats.vex_mem += in->has_modrm && in->mod != 3;
			if (last)
				exit_direct(t, rip + in->len, n_insn, 0);
			ended = last;
		} else if (jit_sse_plan(in, &sp) && (in->mod == 3 || t->fast_mem)) {
			emit_sse(t, in, &sp, rip, i);
			j->stats.native_insns++;
			j->stats.sse++;
			j->stats.sse_mem += in->mod != 3;
			if (last)
				exit_direct(t, rip + in->len, n_insn, 0);
			ended = last;
		} else if (nop_form(in)) {
			j->stats.native_insns++;
			if (last)
				exit_direct(t, rip + in->len, n_insn, 0);
			ended = last;
		} else if (lea_form(in)) {
			emit_lea_insn(t, in, rip);
			j->stats.native_insns++;
			if (last)
				exit_direct(t, rip + in->len, n_insn, 0);
			ended = last;
		} else if (t->fast_mem && stack_form(in) == 1) {
			emit_push_pop(t, in, rip, i);
			j->stats.native_insns++;
			j->stats.fast_stack++;
			if (last)
				exit_direct(t, rip + in->len, n_insn, 0);
			ended = last;
		} else if (t->fast_mem && stack_form(in) == 3) {
			emit_push_leave(t, in, rip, i);
			j->stats.native_insns++;
			j->stats.fast_stack++;
			if (last)
				exit_direct(t, rip + in->len, n_insn, 0);
			ended = last;
		} else if (last && t->fast_mem && stack_form(in) == 2 &&
			   (in->opcode != 0xe8 || jit_branch_target(in, rip + in->len, &tg))) {
			emit_branch_stack(t, in, rip, i);
			j->stats.native_insns++;
			if (in->opcode == 0xe8 || in->opcode == 0xc3)
				j->stats.fast_stack++;
			if (in->opcode != 0xe8)
				j->stats.indirect++;
			ended = true;
		} else if (div_form(t, in)) {
			emit_div(t, in, rip, i);
			j->stats.native_insns++;
			if (last)
				exit_direct(t, rip + in->len, n_insn, 0);
			ended = last;
		} else if (cli_form(t, in)) {
			emit_cli(t, in, rip, i);
			j->stats.native_insns++;
			if (last)
				exit_direct(t, rip + in->len, n_insn, 0);
			ended = last;
		} else if (sti_form(t, in)) {
			emit_sti(t, in, rip, i);
			j->stats.native_insns++;
			/* an interrupt shadow may follow: the exit runs the
			 * shared checks (chain_checks), as after a handler */
			t->pure = false;
			if (last)
				exit_direct(t, rip + in->len, n_insn, 0);
			ended = last;
		} else if (last && !j->no_sysinline && jit_sys_form(cpu, in, t->b->mode)) {
			emit_sys(t, in, rip, i, cpu->star);
			j->stats.native_insns++;
			ended = true;
		} else if (jit_tsc_form(in, t->b->mode)) {
			emit_rdtsc(t, in, rip, i);
			j->stats.native_insns++;
			if (last)
				exit_direct(t, rip + in->len, n_insn, 0);
			ended = last;
		} else if (swapgs_form(t, in)) {
			emit_swapgs(t, in, rip, i);
			j->stats.native_insns++;
			if (last)
				exit_direct(t, rip + in->len, n_insn, 0);
			ended = last;
		} else if (mem_form(t, in, &n)) {
			struct jit_native nn;
			bool pair = !last && mem_form(t, insn[i + 1], &nn);
			emit_mem(t, in, &n, rip, i, reuse, pair ? insn[i + 1] : NULL, pair ? &nn : NULL);
			known = true;
			j->stats.native_insns++;
			if (n.store)
				j->stats.fast_stores++;
			else
				j->stats.fast_loads++;
			if (last)
				exit_direct(t, rip + in->len, n_insn, 0);
			ended = last;
		} else {
			/* a handler may write CR0, CR4 or MXCSR (LDMXCSR,
			 * FXRSTOR, XRSTOR) or run host SIMD with the host's
			 * MXCSR saved and restored around it: the next SSE
			 * instruction checks and loads again */
			t->sse_checked = t->mxcsr_live = false;
			t->vex_checked = false;
			emit_helper(t, in, rip, i, last);
			j->stats.helper_insns++;
			if (last) {
				exit_after_helper(t, n_insn);
				ended = true;
			}
		}
		if (!known)
			t->loaded = 0xffff;
		rip += in->len;
	}
	if (!ended)
		exit_direct(t, rip, n_insn, 0); /* fell off the block's end */
	if (dry)
		return NULL;

	size_t p0 = e->pos;
	for (unsigned k = 0; k < t->nslow; k++)
		emit_slow(t, &t->slow[k]);
	t->bytes[SOFT_JIT_BYTES_SLOW] += e->pos - p0;
	p0 = e->pos;
	/* fault exits: cpu->rip is the faulting instruction (set before the
	 * call), eax the status; the instructions before it retired */
	/* (EDX = the count, then the shared stub: one per count and kind) */
	size_t at[2][SOFT_BLOCK_MAX + 1];
	memset(at, 0xff, sizeof(at));
	for (unsigned k = 0; k < t->nfault; k++) {
		size_t *p = &at[0][t->fault_count[k]];
		if (*p == SIZE_MAX) {
			*p = e->pos;
			jit_emit_mov_r64_imm(e, JR_RDX, t->fault_count[k]);
			jmp_stub(t, SOFT_JIT_STUB_FAULT);
		}
		jit_emit_patch_rel32(e, t->fault_fix[k], *p);
	}
	/* block_stop exits: the handler's instruction retired */
	for (unsigned k = 0; k < t->nstop; k++) {
		size_t *p = &at[1][t->stop_count[k]];
		if (*p == SIZE_MAX) {
			*p = e->pos;
			jit_emit_mov_r64_imm(e, JR_RDX, t->stop_count[k]);
			jmp_stub(t, SOFT_JIT_STUB_STOP);
		}
		jit_emit_patch_rel32(e, t->stop_fix[k], *p);
	}
	t->bytes[SOFT_JIT_BYTES_STUB] += e->pos - p0;
	if (t->live_in && !t->r10_start) {
		/* the R10 entry of a body that starts from cpu: merge, go in */
		p0 = e->pos;
		body_r10 = e->pos;
		emit_merge_r10(e, t->lahf);
		jit_emit_patch_rel32(e, jit_emit_jmp_rel32(e), body);
		t->bytes[SOFT_JIT_BYTES_EXIT] += e->pos - p0;
	}
	if (e->overflow)
		return NULL;
	j->cache.used = (start + e->pos + 15) & ~(size_t)15;
	if (j->cache.used > j->cache.size)
		j->cache.used = j->cache.size;
	size_t accounted = 0;
	for (unsigned k = 0; k < SOFT_JIT_BYTES_N; k++)
		accounted += t->bytes[k];
	/* the frame: the padding to 16 (the prologue and epilogue are shared) */
	t->bytes[SOFT_JIT_BYTES_FRAME] = body + (j->cache.used - start - e->pos);
	t->bytes[SOFT_JIT_BYTES_BODY] = j->cache.used - start - accounted - t->bytes[SOFT_JIT_BYTES_FRAME];
	for (unsigned k = 0; k < SOFT_JIT_BYTES_N; k++)
		j->stats.bytes[k] += t->bytes[k];
	b->jit_entry = soft_jit_cache_exec_addr(&j->cache, start); /* = jit_body */
	b->jit_body = soft_jit_cache_exec_addr(&j->cache, start + body);
	b->jit_body_r10 = soft_jit_cache_exec_addr(&j->cache, start + body_r10);
	b->jit_gen = j->cache.gen;
	b->jit_n = (uint16_t)n_insn;
	j->stats.translated++;
	j->stats.regions += t->rg != NULL;
	soft_jit_dump(j, b, j->cache.rw + start, e->pos);
	return b->jit_entry;
}

/* b's translation from src: for a loop back to b's start, a first pass,
 * not kept, finds the register cache at its back edge, which the second
 * keeps across it. */
static const void *translate_src(struct soft_cpu *cpu, struct soft_jit *j, struct soft_block *b,
				 const struct tr_src *src)
{
	struct tr tr;
	uint64_t tg, nx;
	const struct x86_insn *last = src->n ? src->insn[src->n - 1] : NULL;
	uint64_t last_rip = src->rg ? src->rg->blk[src->rg->nseg - 1]->rip +
					      src->rg->blk[src->rg->nseg - 1]->bytes
				    : b->rip + b->bytes;
	if (last && !j->no_loop_regs && jit_is_direct_branch(last) &&
	    jit_region_branch(last, last_rip - last->len, &tg, &nx) && (tg == b->rip || nx == b->rip)) {
		struct soft_jit_stats stats = j->stats;
		translate_pass(cpu, j, b, &tr, true, NULL, src);
		j->stats = stats;
		if (tr.end_known && !tr.e.overflow) {
			int8_t hold[16];
			memcpy(hold, tr.end_hold, sizeof(hold));
			return translate_pass(cpu, j, b, &tr, false, hold, src);
		}
	}
	return translate_pass(cpu, j, b, &tr, false, NULL, src);
}

/* A loop region through b (region.h): its side exits' chain slots go into
 * the cache first (struct jit_region_data), the code after them; NULL
 * (nothing kept) if it does not fit. */
static const void *translate_region(struct soft_cpu *cpu, struct soft_jit *j, struct soft_block *b,
				    const struct jit_region *rg)
{
	size_t need = ((rg->nseg - 1) * sizeof(struct soft_jit_link) + 15) & ~(size_t)15;
	size_t start = j->cache.used;
	if (soft_jit_cache_room(&j->cache) <= need)
		return NULL;
	struct jit_region_data *d = (struct jit_region_data *)(void *)(j->cache.rw + start);
	for (unsigned k = 0; k + 1 < rg->nseg; k++)
		d->side[k] = (struct soft_jit_link){ .epoch = ~0ULL }; /* never a current tag */
	j->cache.used = start + need;
	struct tr_src src = { .n = rg->n, .rg = rg, .side = d->side };
	for (unsigned k = 0; k < rg->nseg; k++)
		for (unsigned i = 0; i < rg->seg[k].count; i++)
			src.insn[rg->seg[k].first + i] = &rg->blk[k]->insn[i];
	const void *p = translate_src(cpu, j, b, &src);
	if (!p)
		j->cache.used = start;
	return p;
}

const void *soft_jit_translate(struct soft_cpu *cpu, struct soft_jit *j, struct soft_block *b)
{
	struct jit_region rg;
	if (!j->no_region && jit_region_find(cpu->icache, b, &rg)) {
		const void *p = translate_region(cpu, j, b, &rg);
		if (p)
			return p;
	}
	struct tr_src src = { .n = b->n };
	for (unsigned i = 0; i < b->n; i++)
		src.insn[i] = &b->insn[i];
	return translate_src(cpu, j, b, &src);
}
