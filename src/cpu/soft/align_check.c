/* Alignment checking (#AC): see align_check.h. */
#include "align_check.h"
#include "exec.h"

int soft_ac_check(struct soft_cpu *cpu, uint64_t la, unsigned len)
{
	unsigned a = soft_ac_align(len);
	if (a == 1 || !(la & (a - 1)) || !soft_ac_active(cpu))
		return SOFT_OK;
	/* non-canonical: the #GP(0) / #SS(0) of the access wins (checked on
	 * an AMD Zen 3 host: a misaligned load from a non-canonical address
	 * with AC set is #GP, from an unmapped page #AC, so #AC comes before
	 * the page walk) */
	if (cpu->mode == SOFT_MODE_64 && (!canonical(la) || !canonical(la + len - 1)))
		return SOFT_OK;
	return soft_raise(cpu, X86_EXC_AC, true, 0);
}
