/* The translation cache's shared stubs (jit.h, enum soft_jit_stub; see
 * docs/soft-cpu.md, "Translator", "The cache").
 *
 * A translation used to carry its own prologue and epilogue, and every
 * exit its own cold tail (retire the instructions, clear the link, set the
 * status, jump to the epilogue); the run-loop checks after a handler ran
 * (an interrupt shadow, dropped blocks, the debug state) were inline in
 * every chained exit, and every handler call stored RIP and next_rip and
 * loaded the handler's address itself.  That code is the same in every
 * translation: it lives here once, at the start of the cache, written when
 * the cache is made and kept across flushes (cache.base), and translations
 * jump or call to it (rel32: the cache is at most 1 GiB).  The hot paths
 * stay inline: a chain's checks and its indirect jump through the slot
 * (one jump site per exit, for the branch predictor), a loop's back edge.
 *
 * Register conventions as in translate.c: R15 = cpu, RBP = the TLB, R14
 * the rights class; the entry pushes RBX RBP R12-R15 and leaves RSP
 * 16-byte aligned, so a translation CALLs handlers directly and a stub it
 * CALLs tail-jumps to one with RSP as at a call. */
#include <stddef.h>

#include "emit.h"
#include "exits.h"
#include "jit.h"

#include "../align_check.h"
#include "../atomic.h"
#include "../debug.h"
#include "../exec.h"
#include "../icache.h"
#include "../mmu/soft_mmu.h"

#define CPU JR_R15
#define OFF(field) ((int32_t)offsetof(struct soft_cpu, field))

/* one 32-bit compare covers dbg_armed, dbg_hits and dbg_pending */
_Static_assert(offsetof(struct soft_cpu, dbg_pending) == offsetof(struct soft_cpu, dbg_armed) + 2 &&
	       offsetof(struct soft_cpu, dbg_hits) == offsetof(struct soft_cpu, dbg_armed) + 1,
	       "debug state layout");

static void jmp_to(struct jit_emit *e, size_t target)
{
	size_t f = jit_emit_jmp_rel32(e);
	jit_emit_patch_rel32(e, f, target);
}

/* The run loop's checks between blocks, for an exit after a handler ran
 * (translate.c, chain_checks; the budget was checked inline): an STI's
 * interrupt shadow goes on into the next block without looking at the
 * kick (SDM vol. 3, 6.8.3; unless the kick is already set: then it
 * leaves; the shadow moves to cpu->shadow_held with the
 * icount and RIP it covers, which the run loop gives back if it stops
 * before that instruction ran: cpu.c), a MOV SS shadow leaves; then the
 * kick, dropped blocks to free, the debug path (TF, RF, armed or pending
 * breakpoints), alignment checking (AC at CPL 3).  RCX = cpu->icache on return. */
static void emit_checks(struct jit_emit *e, size_t ok)
{
	size_t out[8];
	unsigned n = 0;
	jit_emit_cmp_m8_imm8(e, CPU, OFF(shadow), 0);
	size_t none = jit_emit_jcc_rel32(e, JCC_E);
	jit_emit_cmp_m8_imm8(e, CPU, OFF(shadow), SOFT_SHADOW_STI);
	out[n++] = jit_emit_jcc_rel32(e, JCC_NE);
	/* ... unless an event waits (soft_cpu_if_set): the run loop then
	 * steps the shadowed instruction alone, and the kick stops it */
	jit_emit_cmp_m32_simm32(e, CPU, OFF(kick), 0);
	out[n++] = jit_emit_jcc_rel32(e, JCC_NE);
	jit_emit_mov_m8_imm8(e, CPU, OFF(shadow), 0);
	jit_emit_mov_m8_imm8(e, CPU, OFF(shadow_held), SOFT_SHADOW_STI);
	/* the icount: jit_icount_base - jit_budget (jit.c) */
	jit_emit_mov_r64_m64(e, JR_RDX, CPU, OFF(jit_icount_base));
	jit_emit_mov_m64_r64(e, CPU, OFF(shadow_held_at), JR_RDX);
	jit_emit_mov_r64_m64(e, JR_RDX, CPU, OFF(jit_budget));
	jit_emit_sub_m64_r64(e, CPU, OFF(shadow_held_at), JR_RDX);
	jit_emit_mov_r64_m64(e, JR_RDX, CPU, OFF(rip));
	jit_emit_mov_m64_r64(e, CPU, OFF(shadow_held_rip), JR_RDX);
	size_t resume = jit_emit_jmp_rel32(e);
	jit_emit_patch_rel32(e, none, e->pos);
	jit_emit_cmp_m32_simm32(e, CPU, OFF(kick), 0);
	out[n++] = jit_emit_jcc_rel32(e, JCC_NE);
	jit_emit_patch_rel32(e, resume, e->pos);
	jit_emit_mov_r64_m64(e, JR_RCX, CPU, OFF(icache));
	jit_emit_cmp_m64_simm32(e, JR_RCX, (int32_t)offsetof(struct soft_icache, dead), 0);
	out[n++] = jit_emit_jcc_rel32(e, JCC_NE);
	jit_emit_cmp_m32_simm32(e, CPU, OFF(dbg_armed), 0); /* dbg_armed, dbg_hits, dbg_pending */
	out[n++] = jit_emit_jcc_rel32(e, JCC_NE);
	jit_emit_mov_r64_m64(e, JR_RDX, CPU, OFF(rflags));
	jit_emit_and_r64_simm32(e, JR_RDX, (int32_t)(X86_RFLAGS_TF | SOFT_RFLAGS_RF));
	out[n++] = jit_emit_jcc_rel32(e, JCC_NE);
	/* AC at CPL 3 (POPF, IRET, a far return ...): alignment checks, which
	 * translated code does not make; the run loop interprets while they
	 * apply (align_check.h) */
	jit_emit_test_m8_imm8(e, CPU, OFF(rflags) + 2, (uint8_t)(SOFT_AC_RFLAGS >> 16));
	size_t no_ac = jit_emit_jcc_rel32(e, JCC_E);
	jit_emit_cmp_m8_imm8(e, CPU, OFF(cpl), 3);
	out[n++] = jit_emit_jcc_rel32(e, JCC_E);
	jit_emit_patch_rel32(e, no_ac, e->pos);
	/* a handler may have changed the rights class (CPL, AC, the address
	 * space): R14 is current at every entry into a body (jit.h) */
	jit_exit_class(e);
	jit_emit_ret(e);
	for (unsigned k = 0; k < n; k++)
		jit_emit_patch_rel32(e, out[k], e->pos);
	jit_emit_alu_r_imm(e, 0, true, JR_RSP, 8); /* drop the return address */
	jmp_to(e, ok);
}

/* What a handler call sets up: cpu->rip = RDX (the instruction's RIP),
 * cpu->next_rip = RDX + the length of the instruction at RSI, RDI = cpu. */
static void emit_helper_args(struct jit_emit *e)
{
	jit_emit_mov_m64_r64(e, CPU, OFF(rip), JR_RDX);
	jit_emit_movzx_r32_m8(e, JR_RAX, JR_RSI, (int32_t)offsetof(struct x86_insn, len));
	jit_emit_add_r64_r64(e, JR_RDX, JR_RAX);
	jit_emit_mov_m64_r64(e, CPU, OFF(next_rip), JR_RDX);
	jit_emit_mov_r64_r64(e, JR_RDI, CPU);
}

bool soft_jit_stubs_emit(struct soft_jit *j)
{
	struct jit_emit em, *e = &em;
	jit_emit_init(e, j->cache.rw, j->cache.size);

	/* entry: int fn(struct soft_cpu *cpu, const void *body) */
	j->stub[SOFT_JIT_STUB_ENTRY] = e->pos;
	jit_emit_push_r64(e, JR_RBX);
	jit_emit_push_r64(e, JR_RBP);
	jit_emit_push_r64(e, JR_R12);
	jit_emit_push_r64(e, JR_R13);
	jit_emit_push_r64(e, JR_R14);
	jit_emit_push_r64(e, JR_R15);
	jit_emit_alu_r_imm(e, 5, true, JR_RSP, 8); /* RSP 16-byte aligned for calls */
	jit_emit_mov_r64_r64(e, CPU, JR_RDI);
	jit_emit_mov_r64_m64(e, JR_RBP, CPU, OFF(jit_tlb)); /* the TLB probes' base */
	jit_exit_class(e); /* R14: current at every entry into a body (jit.h) */
	jit_emit_u8(e, 0xff); /* jmp rsi */
	jit_emit_u8(e, 0xe6);

	/* block_stop: the handler's instruction retired, RIP = next_rip,
	 * then as a fault with status SOFT_OK */
	_Static_assert(SOFT_OK == 0, "SOFT_OK is 0");
	j->stub[SOFT_JIT_STUB_STOP] = e->pos;
	jit_emit_mov_r64_m64(e, JR_RAX, CPU, OFF(next_rip));
	jit_emit_mov_m64_r64(e, CPU, OFF(rip), JR_RAX);
	jit_emit_xor_r64_r64(e, JR_RAX, JR_RAX);
	/* a failed handler: cpu->rip is its instruction, EAX the status; the
	 * EDX instructions before it retired */
	j->stub[SOFT_JIT_STUB_FAULT] = e->pos;
	jit_emit_sub_m64_r64(e, CPU, OFF(jit_budget), JR_RDX);
	jit_emit_mov_m64_simm32(e, CPU, OFF(jit_link), 0);
	size_t to_epi = jit_emit_jmp_rel32(e);

	/* an indirect exit of a block without handler calls leaves with its
	 * target in R11, not stored in cpu->rip (translate.c,
	 * exit_indirect_code), and the guest flags in R10 when it took them
	 * there: merged first as below */
	j->stub[SOFT_JIT_STUB_OK_IND_R10_PF] = e->pos;
	jit_exit_merge_r10(e, false);
	size_t to_ind = jit_emit_jmp_rel32(e);
	j->stub[SOFT_JIT_STUB_OK_IND_R10] = e->pos;
	jit_exit_merge_r10(e, true);
	j->stub[SOFT_JIT_STUB_OK_IND] = e->pos;
	jit_emit_patch_rel32(e, to_ind, e->pos);
	jit_emit_mov_m64_r64(e, CPU, OFF(rip), JR_R11);
	size_t to_nolink = jit_emit_jmp_rel32(e);

	/* ... and one that left the guest flags in R10 (exits.h) merges
	 * them into cpu->rflags first: a LAHF/SETO image, or a PUSHFQ one
	 * (a host without LAHF; DIFF_JIT_PUSHFQ) */
	j->stub[SOFT_JIT_STUB_OK_LINK_R10_PF] = e->pos;
	jit_exit_merge_r10(e, false);
	size_t to_link = jit_emit_jmp_rel32(e);
	j->stub[SOFT_JIT_STUB_OK_LINK_R10] = e->pos;
	jit_exit_merge_r10(e, true);
	/* a chained exit of a block without handler calls leaves with its
	 * slot in RAX: the run loop fills it (translate.c, exit_direct); the
	 * exit did not store cpu->rip, the slot's target (icache.h) */
	j->stub[SOFT_JIT_STUB_OK_LINK] = e->pos;
	jit_emit_patch_rel32(e, to_link, e->pos);
	jit_emit_mov_r64_m64(e, JR_RDX, JR_RAX, (int32_t)offsetof(struct soft_jit_link, rip));
	jit_emit_mov_m64_r64(e, CPU, OFF(rip), JR_RDX);
	jit_emit_mov_m64_r64(e, CPU, OFF(jit_link), JR_RAX);
	size_t to_ok = jit_emit_jmp_rel32(e);
	j->stub[SOFT_JIT_STUB_OK_NOLINK] = e->pos;
	jit_emit_patch_rel32(e, to_nolink, e->pos);
	jit_emit_mov_m64_simm32(e, CPU, OFF(jit_link), 0);
	j->stub[SOFT_JIT_STUB_OK] = e->pos;
	jit_emit_patch_rel32(e, to_ok, e->pos);
	jit_emit_xor_r64_r64(e, JR_RAX, JR_RAX);
	j->stub[SOFT_JIT_STUB_EPI] = e->pos;
	jit_emit_patch_rel32(e, to_epi, e->pos);
	/* cpu->icount = jit_icount_base - jit_budget: exits retire from the
	 * budget alone (jit.c, soft_jit_run); EAX = the status */
	jit_emit_mov_r64_m64(e, JR_RCX, CPU, OFF(jit_icount_base));
	jit_emit_mov_m64_r64(e, CPU, OFF(icount), JR_RCX);
	jit_emit_mov_r64_m64(e, JR_RCX, CPU, OFF(jit_budget));
	jit_emit_sub_m64_r64(e, CPU, OFF(icount), JR_RCX);
	jit_emit_alu_r_imm(e, 0, true, JR_RSP, 8);
	jit_emit_pop_r64(e, JR_R15);
	jit_emit_pop_r64(e, JR_R14);
	jit_emit_pop_r64(e, JR_R13);
	jit_emit_pop_r64(e, JR_R12);
	jit_emit_pop_r64(e, JR_RBP);
	jit_emit_pop_r64(e, JR_RBX);
	jit_emit_ret(e);

	j->stub[SOFT_JIT_STUB_CHECKS] = e->pos;
	emit_checks(e, j->stub[SOFT_JIT_STUB_OK]);

	/* handler calls: RSI = the instruction, RDX = its RIP; the handler
	 * returns straight to the translation (a tail jump: RSP as at the
	 * translation's CALL) */
	for (unsigned atomic = 0; atomic < 2; atomic++) {
		j->stub[atomic ? SOFT_JIT_STUB_ATOMIC : SOFT_JIT_STUB_HELPER] = e->pos;
		emit_helper_args(e);
		if (atomic) {
			jit_emit_mov_r64_imm(e, JR_RAX, (uint64_t)(uintptr_t)soft_exec_atomic);
			jit_emit_u8(e, 0xff); /* jmp rax */
			jit_emit_u8(e, 0xe0);
		} else {
			jit_emit_jmp_m64(e, JR_RSI, (int32_t)offsetof(struct x86_insn, exec));
		}
	}
	/* ... checked: EBX = the instruction's index in its block (RBX is
	 * callee-saved, so the handler keeps it); a failure leaves through
	 * FAULT with EBX instructions retired, block_stop through STOP with
	 * EBX + 1, else back to the translation */
	for (unsigned atomic = 0; atomic < 2; atomic++) {
		j->stub[atomic ? SOFT_JIT_STUB_ATOMIC_CHK : SOFT_JIT_STUB_HELPER_CHK] = e->pos;
		jit_emit_alu_r_imm(e, 5, true, JR_RSP, 8); /* RSP 16-byte aligned for the call */
		emit_helper_args(e);
		if (atomic) {
			jit_emit_mov_r64_imm(e, JR_RAX, (uint64_t)(uintptr_t)soft_exec_atomic);
			jit_emit_call_r64(e, JR_RAX);
		} else {
			jit_emit_call_m64(e, JR_RSI, (int32_t)offsetof(struct x86_insn, exec));
		}
		jit_emit_alu_r_imm(e, 0, true, JR_RSP, 8);
		jit_emit_test_r32_r32(e, JR_RAX, JR_RAX);
		size_t fault = jit_emit_jcc_rel32(e, JCC_NE);
		jit_emit_cmp_m8_imm8(e, CPU, OFF(block_stop), 0);
		size_t stop = jit_emit_jcc_rel32(e, JCC_NE);
		jit_emit_ret(e);
		jit_emit_patch_rel32(e, fault, e->pos);
		jit_emit_alu_r_imm(e, 0, true, JR_RSP, 8); /* drop the return address */
		jit_emit_mov_r32_r32(e, JR_RDX, JR_RBX);
		jmp_to(e, j->stub[SOFT_JIT_STUB_FAULT]);
		jit_emit_patch_rel32(e, stop, e->pos);
		jit_emit_alu_r_imm(e, 0, true, JR_RSP, 8);
		jit_emit_lea(e, JR_RDX, JR_RBX, -1, 1, 1);
		jmp_to(e, j->stub[SOFT_JIT_STUB_STOP]);
	}

	/* R14 = soft_mmu_class(cpu) plus the address space's salt (exits.c;
	 * an instruction that changes the salt, MOV CR3, INVPCID, INVLPG,
	 * ends its block).  Called after each handler in a block with
	 * memory accesses (translate.c, emit_class). */
	j->stub[SOFT_JIT_STUB_CLASS] = e->pos;
	jit_exit_class(e);
	jit_emit_ret(e);

	if (e->overflow)
		return false;
	j->cache.base = j->cache.used = (e->pos + 63) & ~(size_t)63;
	return j->cache.base < j->cache.size;
}
