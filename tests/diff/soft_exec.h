/* Run one diff case on the soft CPU (64-bit mode, CPL3, flat segments)
 * with memory ops over buffers mirroring the native child's pages. */
#ifndef RINGVM_DIFF_SOFT_EXEC_H
#define RINGVM_DIFF_SOFT_EXEC_H

#include "diff_state.h"

struct soft_exec;

/* How the soft CPU runs a case (the execution-tier axis): one instruction
 * at a time (soft_cpu_step), as interpreted decoded blocks (soft_cpu_run
 * through the icache), or as translated blocks (soft_cpu_run with the
 * translation tier, every block translated on its first execution). */
enum diff_tier { DIFF_TIER_STEP, DIFF_TIER_BLOCK, DIFF_TIER_JIT };

struct soft_exec *soft_exec_create(void);
void soft_exec_destroy(struct soft_exec *se);
void soft_exec_run(struct soft_exec *se, const struct diff_case *c,
		   struct diff_result *r);
/* Change CR0/CR4 for the following runs (mode checks the host cannot do
 * natively); soft_exec_default_control() gives the Linux-like defaults. */
void soft_exec_set_control(struct soft_exec *se, uint64_t cr0, uint64_t cr4);
void soft_exec_default_control(uint64_t *cr0, uint64_t *cr4);
/* Run the following cases at CPL 0 (flat 64-bit kernel CS/SS) or back at
 * CPL 3 (the default), for privileged-instruction mode checks. */
void soft_exec_set_cpl(struct soft_exec *se, unsigned cpl);
/* Run the following cases at tier t; false if it cannot be set up (the
 * translation cache could not be mapped). */
bool soft_exec_set_tier(struct soft_exec *se, enum diff_tier t);
/* Translation-tier counters (all 0 below DIFF_TIER_JIT): blocks translated,
 * instructions emitted as host instructions and as handler calls, cache
 * flushes, loads and stores through the inline TLB fast path, SSE
 * instructions (and those with a memory operand), stack instructions
 * (PUSH POP CALL RET PUSH imm/m64 LEAVE) through the fast path. */
void soft_exec_jit_stats(const struct soft_exec *se, uint64_t out[11]);

#endif
