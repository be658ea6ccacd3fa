/* Segment limit and type checks on data accesses (SDM vol. 3, 5.3 "Limit
 * checking" and 5.4 "Type checking") in real, protected and compatibility
 * modes.  64-bit mode checks only canonical addresses (cpu.c).
 *
 * The rights of each segment register are precomputed (cpu->segchk) when a
 * segment register, CR0.PE or the mode changes, so the access path tests one
 * byte: SOFT_SEG_FLAT with the access's R/W bit means any offset is fine
 * (a 4 GiB expand-up segment, or any segment in 64-bit mode).  For a flat
 * 32-bit segment an access that wraps past offset FFFFFFFFH wraps the
 * linear address at 4 GiB: the SDM (5.3) leaves the exception to the
 * implementation when the effective limit is FFFFFFFFH. */
#include "exec.h"
#include "align_check.h"

static void seg_rights(const struct soft_cpu *cpu, const struct x86_segment *s,
		       struct soft_seg_rights *c)
{
	bool prot = cpu->cr0 & X86_CR0_PE;
	uint8_t r;
	if (cpu->mode == SOFT_MODE_64) {
		c->lo = 0;
		c->hi = ~0ULL;
		c->rights = SOFT_SEG_R | SOFT_SEG_W | SOFT_SEG_FLAT;
		return;
	}
	if (!prot) {
		/* real mode: no type checks; the cached limit (possibly from
		 * protected mode, "unreal" mode) still applies */
		r = SOFT_SEG_R | SOFT_SEG_W;
	} else if (s->unusable || !s->present || !s->s) {
		r = 0; /* null selector (#GP(0) on use) */
	} else if (s->type & 8) {
		r = (s->type & 2) ? SOFT_SEG_R : 0; /* code: readable or execute-only */
	} else {
		r = SOFT_SEG_R | ((s->type & 2) ? SOFT_SEG_W : 0);
	}
	if (s->s && !(s->type & 8) && (s->type & 4)) {
		/* expand-down data: offsets above the limit, up to FFFFH or
		 * FFFFFFFFH by the B flag */
		c->lo = (uint64_t)s->limit + 1;
		c->hi = s->db ? 0xffffffffULL : 0xffffULL;
	} else {
		c->lo = 0;
		c->hi = s->limit;
	}
	if (r && c->lo == 0 && c->hi == 0xffffffffULL)
		r |= SOFT_SEG_FLAT;
	c->rights = r;
}

void soft_seg_refresh(struct soft_cpu *cpu)
{
	for (unsigned i = 0; i < SEG_COUNT; i++) {
		struct soft_seg_rights *c = &cpu->segchk[i];
		seg_rights(cpu, &cpu->seg[i], c);
		/* the kinds of access that cannot take the one-test path */
		cpu->seg_slow[i] = (c->rights & SOFT_SEG_FLAT)
					   ? (uint8_t)(~c->rights & (SOFT_SEG_R | SOFT_SEG_W))
					   : (SOFT_SEG_R | SOFT_SEG_W);
	}
	soft_ac_refresh(cpu); /* SOFT_SEG_AC follows CR0.AM and EFLAGS.AC */
	/* the operand of the instruction in progress sees the new rights */
	cpu->ea_slow = cpu->seg_slow[cpu->ea_seg % SEG_COUNT];
}

int soft_seg_check_slow(struct soft_cpu *cpu, unsigned seg, uint64_t off, unsigned len,
			unsigned need)
{
	const struct soft_seg_rights *c = &cpu->segchk[seg];
	need &= SOFT_SEG_R | SOFT_SEG_W;
	/* type: a write to a read-only data or to a code segment, a read of an
	 * execute-only code segment, any use of a null selector: #GP(0) */
	bool ok = (c->rights & need) == need;
	/* limit: every byte of the access must lie inside the segment */
	if (ok && !(c->rights & SOFT_SEG_FLAT))
		ok = len && off >= c->lo && off + len - 1 <= c->hi;
	/* the limit and type come first, then alignment (#AC) */
	if (ok)
		return (cpu->seg_slow[seg] & SOFT_SEG_AC) ? soft_ac_check(cpu, soft_linear(cpu, seg, off), len)
							  : SOFT_OK;
	/* SS-relative accesses raise #SS(0) (5.3, and the stack faults of each
	 * instruction in vol. 2) */
	return soft_raise(cpu, seg == SEG_SS ? X86_EXC_SS : X86_EXC_GP, true, 0);
}
