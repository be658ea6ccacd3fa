/* Debug exceptions of the soft CPU (debug.c): what the run loop, the
 * memory helpers, MOV DR and IN/OUT need.  SDM vol. 3, ch. 18. */
#ifndef RINGVM_SOFT_DEBUG_H
#define RINGVM_SOFT_DEBUG_H

#include "exec.h"

#define SOFT_RFLAGS_RF (1ULL << 16)   /* resume flag */

/* DR6 (SDM vol. 3, 18.2.3).  Bits 4-11 and 16-31 read as 1 (bit 16, RTM,
 * is active-low and RTM is not offered), bit 12 as 0. */
#define SOFT_DR6_BS       (1u << 14)  /* single-step */
#define SOFT_DR6_BD       (1u << 13)  /* general detect */
#define SOFT_DR6_BT       (1u << 15)  /* task switch */
#define SOFT_DR6_FIXED    0xffff0ff0ULL
#define SOFT_DR6_VOLATILE 0xe00fu      /* B0-B3 BD BS BT */
/* DR7 (18.2.4): bit 10 reads as 1; bits 11 (RTM), 12, 14, 15 as 0. */
#define SOFT_DR7_GD       (1u << 13)
#define SOFT_DR7_FIXED    0x400ULL
#define SOFT_DR7_VOLATILE 0xffff23ffULL
#define SOFT_CR4_DE       (1ULL << 3)

/* Is the checking path needed for the next instruction? */
static inline bool soft_dbg_active(const struct soft_cpu *cpu)
{
	return (cpu->rflags & (X86_RFLAGS_TF | SOFT_RFLAGS_RF)) | cpu->dbg_armed | cpu->dbg_pending;
}

/* Recompute cpu->dbg_armed after DR7 changed. */
void soft_dbg_update(struct soft_cpu *cpu);
/* One instruction with the #DB checks (called by soft_cpu_step when
 * soft_dbg_active()). */
int soft_dbg_step(struct soft_cpu *cpu);
/* One instruction without them (cpu.c). */
int soft_cpu_step_plain(struct soft_cpu *cpu);
/* Record data breakpoints hit by an access (the wrapped memory ops while
 * SOFT_DBG_DATA is armed) and I/O breakpoints hit by IN/OUT/INS/OUTS. */
void soft_dbg_data(struct soft_cpu *cpu, uint64_t la, unsigned len, bool write);
void soft_dbg_io(struct soft_cpu *cpu, uint16_t port, unsigned size);
/* An event was delivered (sys_event.c): a #DB held back by MOV SS / POP
 * SS is dropped, except across INT n, INT3 and INTO, where it is taken
 * before the handler's first instruction. */
void soft_dbg_after_event(struct soft_cpu *cpu, unsigned kind);
/* Set DR6 bits and raise #DB: a fault (instruction breakpoint, general
 * detect: rip at the instruction) or a trap (rip after it). */
int soft_dbg_raise(struct soft_cpu *cpu, uint32_t dr6_bits, bool fault);

#endif
