/* The inline TLB probe of translated memory accesses (probe.h).
 *
 * The slot is chosen by the page of the access's first byte and its tag
 * compared with the tag of the last byte's page (as QEMU's softmmu does):
 * an access that crosses into the next page finds a slot whose page is
 * congruent to the first page modulo SOFT_TLB_SIZE, never the next one, so
 * it misses without a check of its own.  Nor is a canonical check needed:
 * a tag holds linear address bits 63:12 (page << 2 in bits 53:2), every
 * filled tag comes from a canonical address (the MMU is only asked for
 * those: cpu.c raises #GP first) and so has bits 53:37 all equal, which a
 * non-canonical address's never has; an empty tag is ~0, which no computed
 * tag is (class 3 does not exist).  Nor an MMIO test: the tags compared
 * (tag_jread, tag_fastw) are ~0 unless the page is RAM (soft_mmu.h), and
 * the slot's addend turns the linear address into the host one at once.
 *
 * The addend memo.  On a hit the access's host address is the slot's
 * addend plus the linear address; loaded from the slot, the addend waits
 * for the slot index, which waits for the address: in a loop whose next
 * address depends on what the last access read (crc32's table lookup:
 * `xor (%rbp,%rdx,4),%r14d` with RDX from the previous round's CRC) the
 * whole index computation and the slot load sit on the loop-carried chain
 * (about 10 host cycles a round, more than the rest of the round).  So
 * each probe site has a memo, a word in struct soft_cpu (jit_memo[],
 * chosen by the block's RIP and the probe's number; sites may share one)
 * holding the addend it used last.  The access runs on the memo's value,
 * loaded at the probe's start with no dependency on the address, and the
 * probe compares it with the hit slot's addend: equal, the access is what
 * it would have been with the slot's own addend (the same value); not
 * equal, the slot's addend goes into RDI and into the memo.  The memo is
 * only ever a prediction checked against the slot the probe hit, so it
 * needs no invalidation, and every other rule (which tag is compared, a
 * miss, a fault) is the probe's as before.  The compares and branches are
 * predicted, off the data's chain.  Pure stores (translate.c decides:
 * MOV and SETcc to memory, PUSH, CALL) go without: no data waits on a
 * store's address.
 *
 * Hit path: 12 instructions (14 when msize > 1; one less when split),
 * 2 more than without the memo. */
#include "probe.h"

#include "../cpu.h"
#include "../mmu/soft_mmu.h"

#define CPU JR_R15
#define OFF(field) ((int32_t)offsetof(struct soft_cpu, field))

_Static_assert(sizeof(struct soft_tlb_entry) == 72, "jit_probe_emit: slot = index * 9 * 8");
_Static_assert((SOFT_JIT_MEMO & (SOFT_JIT_MEMO - 1)) == 0, "jit_memo: a power of two");

unsigned jit_probe_memo_index(uint64_t rip, unsigned k)
{
	uint64_t h = (rip ^ (rip >> 13)) * 0x9e3779b97f4a7c15ull;
	return (unsigned)((h >> 40) + k) & (SOFT_JIT_MEMO - 1);
}

size_t jit_probe_emit(struct jit_emit *e, const struct jit_probe *p)
{
	/* RDI = the memo's addend (no dependency on the address) */
	if (p->memo)
		jit_emit_mov_r64_m64(e, JR_RDI, CPU, p->memo);
	/* R8 = the first byte's page; R9 = the tag of the last byte's page:
	 * page << 2 | class, plus the space's salt (R14; the bits do not
	 * overlap, so the LEA's sum is the OR) */
	jit_emit_mov_r64_r64(e, JR_R8, JR_RSI);
	jit_emit_shift_r64_imm(e, 5, JR_R8, 12);
	if (p->msize > 1) {
		jit_emit_lea(e, JR_R9, JR_RSI, -1, 1, (int32_t)p->msize - 1);
		jit_emit_shift_r64_imm(e, 5, JR_R9, 12);
		jit_emit_lea(e, JR_R9, JR_R14, JR_R9, 4, 0);
	} else {
		jit_emit_lea(e, JR_R9, JR_R14, JR_R8, 4, 0);
	}
	/* R8 * 8 = the offset of tlb[(first page + slot_off) % SOFT_TLB_SIZE]
	 * (72-byte slots: a LEA, not an IMUL, on the way to the compare) */
	jit_emit_add_r64_m64(e, JR_R8, CPU, OFF(tlb_slot_off)); /* the PCID's slots */
	jit_emit_alu_r_imm(e, 4, false, JR_R8, SOFT_TLB_SIZE - 1);
	jit_emit_lea(e, JR_R8, JR_R8, JR_R8, 8, 0);
	/* RBP = cpu->jit_tlb (the prologue's) */
	jit_emit_cmp_r64_mbi8(e, JR_R9, JR_RBP, JR_R8,
			      p->store ? (int32_t)offsetof(struct soft_tlb_entry, tag_fastw)
				       : (int32_t)offsetof(struct soft_tlb_entry, tag_jread));
	size_t miss = jit_emit_jcc_rel32(e, JCC_NE);
	/* RAM: the memo right, or RDI (and the memo) = the slot's addend */
	size_t same = SIZE_MAX;
	if (p->memo) {
		jit_emit_cmp_r64_mbi8(e, JR_RDI, JR_RBP, JR_R8, (int32_t)offsetof(struct soft_tlb_entry, addend));
		same = jit_emit_jcc_rel32(e, JCC_E);
	}
	jit_emit_mov_r64_mbi8(e, JR_RDI, JR_RBP, JR_R8, (int32_t)offsetof(struct soft_tlb_entry, addend));
	if (p->memo) {
		jit_emit_mov_m64_r64(e, CPU, p->memo, JR_RDI);
		jit_emit_patch_rel32(e, same, e->pos);
	}
	if (!p->split) /* else the access is [RDI+RSI] */
		jit_emit_add_r64_r64(e, JR_RDI, JR_RSI);
	return miss;
}
