/* Alignment checking: #AC(0) (SDM vol. 3, 6.15 "Interrupt 17 - Alignment
 * Check Exception"; vol. 1, 4.1.1 "Alignment of Words, Doublewords,
 * Quadwords, and Double Quadwords"; AMD APM vol. 2, 8.2.18).
 *
 * With CR0.AM=1, EFLAGS.AC=1 and CPL 3, an explicit data access (or a
 * CPL-3 stack access: PUSH, POP, CALL, RET, a string element) of a word,
 * doubleword or quadword that is not aligned to its size faults with
 * #AC(0) before it touches memory.  Instruction fetches, system accesses
 * (descriptor tables, IDT, TSS, the frame of an event delivered to CPL 0)
 * and CPL 0-2 are never checked.
 *
 * Cost: nothing on the common path.  SOFT_SEG_AC is set in every
 * cpu->seg_slow[] entry while CR0.AM and EFLAGS.AC are both set (at any
 * CPL: a stale bit at CPL 0-2 only sends accesses through the slow path,
 * which tests the exact condition), so the interpreter's one-test access
 * paths (soft_read/soft_write, soft_seg_check) take their out-of-line
 * path only then.  soft_ac_refresh recomputes it wherever CR0, EFLAGS.AC
 * or the segment rights change.  Translated code never runs while the
 * check is active (cpu.c's run loop; jit/stubs.c and jit/sysinline.c
 * leave when an instruction activates it), so the translator's inline
 * accesses need no check. */
#ifndef RINGVM_SOFT_ALIGN_CHECK_H
#define RINGVM_SOFT_ALIGN_CHECK_H

#include "cpu.h"

#define SOFT_AC_RFLAGS (1ULL << 18) /* EFLAGS.AC */

/* Alignment checking applies to CPL-3 data accesses now. */
static inline bool soft_ac_active(const struct soft_cpu *cpu)
{
	return unlikely(cpu->rflags & SOFT_AC_RFLAGS) && cpu->cpl == 3 &&
	       (cpu->cr0 & X86_CR0_AM);
}

/* Recompute SOFT_SEG_AC in cpu->seg_slow[] (and the current operand's
 * ea_slow) from CR0.AM and EFLAGS.AC. */
static inline void soft_ac_refresh(struct soft_cpu *cpu)
{
	uint8_t on = (cpu->rflags & SOFT_AC_RFLAGS) && (cpu->cr0 & X86_CR0_AM) ? SOFT_SEG_AC : 0;
	if ((cpu->seg_slow[0] & SOFT_SEG_AC) == on)
		return; /* every entry has the same bit, ea_slow copies one */
	for (unsigned i = 0; i < SEG_COUNT; i++)
		cpu->seg_slow[i] = (uint8_t)((cpu->seg_slow[i] & ~SOFT_SEG_AC) | on);
	cpu->ea_slow = (uint8_t)((cpu->ea_slow & ~SOFT_SEG_AC) | on);
}

/* The alignment an access of len bytes needs (SDM vol. 1, table 4-2 and
 * 6.15): 2, 4 and 8 bytes their size, a 10-byte x87 extended real 8;
 * anything else 1 (bytes; 16- and 32-byte SSE/AVX operands, which #GP
 * where they must be aligned and are not alignment-checked where they
 * need not be: the SDM's rule, "#AC only for data types that must be
 * aligned on word, doubleword and quadword boundaries"). */
static inline unsigned soft_ac_align(unsigned len)
{
	return len == 2 || len == 4 || len == 8 ? len : len == 10 ? 8 : 1;
}

/* The check of an access of len bytes at linear address la, called only
 * on the slow paths where SOFT_SEG_AC is set: SOFT_OK, or #AC(0) raised
 * when checking is active and la is misaligned.  A non-canonical address
 * is left to the caller's #GP/#SS, which comes first (as on hardware). */
int soft_ac_check(struct soft_cpu *cpu, uint64_t la, unsigned len);

#endif
