/* Atomic read-modify-write instructions across vCPUs (LOCK prefix, XCHG
 * with memory).  The instruction's handler runs against a snapshot of the
 * memory operand; its result is committed with the host's own compare-and-
 * swap, so it is atomic against other vCPUs' locked and plain accesses alike.
 * If another vCPU changed the operand in between, the registers are restored
 * and the instruction runs again. */
#ifndef RINGVM_SOFT_ATOMIC_H
#define RINGVM_SOFT_ATOMIC_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu.h"

struct x86_insn;

struct soft_atomic_tx {
	uint64_t la;
	uint64_t pa;
	unsigned len;
	uint8_t *host;     /* NULL: the operand is not plain RAM: no transaction */
	bool read, wrote;
	uint8_t old[16], new[16];
};

/* Execute an instruction flagged X86_PFX_ATOMIC. */
int soft_exec_atomic(struct soft_cpu *cpu, const struct x86_insn *in);

/* Called by soft_read_rmw / soft_write while cpu->tx is set: return true
 * when the transaction took the access (*status is then the result). */
bool soft_atomic_read(struct soft_cpu *cpu, uint64_t la, void *dst, unsigned len, int *status);
bool soft_atomic_write(struct soft_cpu *cpu, uint64_t la, const void *src, unsigned len);

#endif
