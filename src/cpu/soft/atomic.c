/* Atomic read-modify-write instructions across vCPUs: see atomic.h. */
#include <sched.h>
#include <stddef.h>
#include <string.h>

#include "atomic.h"
#include "decode.h"

/* lock cmpxchg works at any alignment on x86 hosts (a split lock is slow
 * but atomic); cmpxchg16b needs 16-byte alignment, which the guest's own
 * CMPXCHG16B already requires. */
static bool cas(uint8_t *p, const uint8_t *oldv, const uint8_t *newv, unsigned len)
{
	bool ok;
	switch (len) {
	case 1: {
		uint8_t o = oldv[0], n = newv[0];
		__asm__ volatile("lock cmpxchgb %3, %1" : "=@ccz"(ok), "+m"(*p), "+a"(o) : "q"(n) : "memory");
		return ok;
	}
	case 2: {
		uint16_t o, n;
		memcpy(&o, oldv, 2);
		memcpy(&n, newv, 2);
		__asm__ volatile("lock cmpxchgw %3, %1" : "=@ccz"(ok), "+m"(*(uint16_t *)p), "+a"(o) : "r"(n) : "memory");
		return ok;
	}
	case 4: {
		uint32_t o, n;
		memcpy(&o, oldv, 4);
		memcpy(&n, newv, 4);
		__asm__ volatile("lock cmpxchgl %3, %1" : "=@ccz"(ok), "+m"(*(uint32_t *)p), "+a"(o) : "r"(n) : "memory");
		return ok;
	}
	case 8: {
		uint64_t o, n;
		memcpy(&o, oldv, 8);
		memcpy(&n, newv, 8);
		__asm__ volatile("lock cmpxchgq %3, %1" : "=@ccz"(ok), "+m"(*(uint64_t *)p), "+a"(o) : "r"(n) : "memory");
		return ok;
	}
	case 16: {
		struct pair { uint64_t lo, hi; } *q = (struct pair *)(void *)p;
		uint64_t olo, ohi, nlo, nhi;
		memcpy(&olo, oldv, 8);
		memcpy(&ohi, oldv + 8, 8);
		memcpy(&nlo, newv, 8);
		memcpy(&nhi, newv + 8, 8);
		__asm__ volatile("lock cmpxchg16b %1" : "=@ccz"(ok), "+m"(*q), "+a"(olo), "+d"(ohi)
				 : "b"(nlo), "c"(nhi) : "memory");
		return ok;
	}
	default:
		return false;
	}
}

bool soft_atomic_read(struct soft_cpu *cpu, uint64_t la, void *dst, unsigned len, int *status)
{
	struct soft_atomic_tx *tx = cpu->tx;
	struct soft_fault f;
	void *host = NULL;

	if (tx->read || len > sizeof(tx->old))
		return false;
	tx->read = true;
	if (cpu->ops->rmw_ptr(cpu->ops_opaque, la, len, &host, &tx->pa, &f) < 0) {
		*status = soft_raise(cpu, f.vector, f.has_error, f.error_code);
		if (f.vector == X86_EXC_PF)
			cpu->exc.cr2 = f.cr2;
		return true;
	}
	if (!host || (len == 16 && ((uintptr_t)host & 15)))
		return false; /* MMIO or page-crossing: a plain read and write */
	tx->la = la;
	tx->len = len;
	tx->host = host;
	memcpy(tx->old, host, len); /* may tear: the compare-and-swap checks it */
	memcpy(dst, tx->old, len);
	*status = SOFT_OK;
	return true;
}

bool soft_atomic_write(struct soft_cpu *cpu, uint64_t la, const void *src, unsigned len)
{
	struct soft_atomic_tx *tx = cpu->tx;
	if (!tx->host || la != tx->la || len != tx->len)
		return false;
	memcpy(tx->new, src, len);
	tx->wrote = true;
	return true;
}

int soft_exec_atomic(struct soft_cpu *cpu, const struct x86_insn *in)
{
	/* Everything a locked instruction can change besides memory lives in
	 * the hot state at the start of struct soft_cpu. */
	uint8_t saved[offsetof(struct soft_cpu, ops)];

	if (!cpu->ops->rmw_ptr)
		return in->exec(cpu, in);
	memcpy(saved, cpu, sizeof(saved));
	for (unsigned attempt = 0;; attempt++) {
		struct soft_atomic_tx tx;
		memset(&tx, 0, sizeof(tx));
		cpu->tx = &tx;
		int r = in->exec(cpu, in);
		cpu->tx = NULL;
		if (r != SOFT_OK || !tx.host || !tx.wrote)
			return r;
		if (cas(tx.host, tx.old, tx.new, tx.len)) {
			soft_cpu_invalidate_code(cpu, tx.pa, tx.len);
			return SOFT_OK;
		}
		memcpy(cpu, saved, sizeof(saved));
		if (attempt > 64)
			sched_yield(); /* heavy contention: let the other vCPU run */
	}
}
