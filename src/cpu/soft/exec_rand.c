/* RDRAND and RDSEED (SDM vol. 2): a random value of the operand size in the
 * destination register and CF=1, or 0 and CF=0 when no entropy is
 * available; "The OF, SF, ZF, AF, and PF flags are set to 0."
 *
 * The entropy is the host's: the host CPU's own RDRAND/RDSEED when it has
 * them (host_isa.h), else getrandom(GRND_NONBLOCK), which never blocks the
 * vCPU thread (it fails before the host's pool is initialised, and the
 * guest then sees CF=0, the architectural "try again" answer).  One attempt
 * per instruction: retrying is the guest's business, as on hardware. */
#include <sys/random.h>

#include "cpuid.h"
#include "exec.h"
#include "host_isa.h"

static bool host_rdrand(uint64_t *v)
{
	unsigned char ok;
	__asm__ volatile("rdrand %0\n\tsetc %1" : "=r"(*v), "=qm"(ok) : : "cc");
	return ok;
}

static bool host_rdseed(uint64_t *v)
{
	unsigned char ok;
	__asm__ volatile("rdseed %0\n\tsetc %1" : "=r"(*v), "=qm"(ok) : : "cc");
	return ok;
}

static bool host_getrandom(uint64_t *v)
{
	return getrandom(v, sizeof(*v), GRND_NONBLOCK) == (ssize_t)sizeof(*v);
}

static int rand_common(struct soft_cpu *cpu, const struct x86_insn *in, bool seed)
{
	uint64_t v = 0;
	bool ok;
	if (!SOFT_MODEL_RDRAND)
		return soft_ud(cpu); /* not offered: #UD, as without CPUID.RDRAND/RDSEED */
	if (seed && (cpu->host_isa & SOFT_HOST_RDSEED))
		ok = host_rdseed(&v);
	else if (!seed && (cpu->host_isa & SOFT_HOST_RDRAND))
		ok = host_rdrand(&v);
	else
		ok = host_getrandom(&v);
	if (!ok)
		v = 0; /* "DEST := 0; CF := 0" */
	reg_set(cpu, in->rm, in->opsize, true, v);
	flags_put(cpu, ARITH_FLAGS, ok ? X86_RFLAGS_CF : 0);
	return SOFT_OK;
}

int soft_exec_rdrand(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return rand_common(cpu, in, false);
}

int soft_exec_rdseed(struct soft_cpu *cpu, const struct x86_insn *in)
{
	return rand_common(cpu, in, true);
}
