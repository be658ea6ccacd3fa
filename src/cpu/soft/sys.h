/* System architecture internals shared by sys_*.c: descriptors, implicit
 * supervisor accesses, stack frames for privilege changes.  Not part of the
 * public API (cpu.h is). */
#ifndef RINGVM_SOFT_SYS_H
#define RINGVM_SOFT_SYS_H

#include "exec.h"

/* RFLAGS bits beyond the arithmetic ones. */
#define RF_TF X86_RFLAGS_TF
#define RF_IF X86_RFLAGS_IF
#define RF_IOPL (3ULL << 12)
#define RF_NT (1ULL << 14)
#define RF_RF (1ULL << 16)
#define RF_VM (1ULL << 17)
#define RF_AC (1ULL << 18)
#define RF_VIF (1ULL << 19)
#define RF_VIP (1ULL << 20)
#define RF_ID (1ULL << 21)

/* Descriptor fields (the low quadword of a descriptor). */
static inline unsigned d_type(uint64_t d) { return (d >> 40) & 0xf; }
static inline bool d_s(uint64_t d) { return (d >> 44) & 1; }
static inline unsigned d_dpl(uint64_t d) { return (d >> 45) & 3; }
static inline bool d_p(uint64_t d) { return (d >> 47) & 1; }
static inline bool d_l(uint64_t d) { return (d >> 53) & 1; }
static inline bool d_db(uint64_t d) { return (d >> 54) & 1; }
static inline bool d_code(uint64_t d) { return d_s(d) && (d_type(d) & 8); }
static inline bool d_conforming(uint64_t d) { return d_code(d) && (d_type(d) & 4); }
/* writable data segment */
static inline bool d_wdata(uint64_t d) { return d_s(d) && !(d_type(d) & 8) && (d_type(d) & 2); }
static inline uint32_t d_limit(uint64_t d)
{
	uint32_t l = (uint32_t)((d & 0xffff) | (((d >> 48) & 0xf) << 16));
	return ((d >> 55) & 1) ? (l << 12) | 0xfff : l;
}
static inline uint64_t d_base(uint64_t d)
{
	return ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24);
}

static inline bool long_mode(const struct soft_cpu *cpu)
{
	return cpu->efer & X86_EFER_LMA;
}

static inline bool prot_mode(const struct soft_cpu *cpu)
{
	return cpu->cr0 & X86_CR0_PE;
}

static inline bool vm86(const struct soft_cpu *cpu)
{
	return prot_mode(cpu) && (cpu->rflags & RF_VM);
}

/* Implicit supervisor accesses (GDT/LDT/IDT/TSS): made at CPL 0 whatever
 * the current CPL, as the SDM requires (the MMU reads cpu->cpl). */
int sys_read_sv(struct soft_cpu *cpu, uint64_t la, void *dst, unsigned len);
int sys_write_sv(struct soft_cpu *cpu, uint64_t la, const void *src, unsigned len);

/* Read the descriptor for sel (not null) from the GDT or LDT.  wide: a
 * 16-byte system descriptor (long mode).  A selector beyond the table limit
 * raises vec with error code (sel & ~3) | ext.  *addr = its linear address. */
int sys_fetch_desc(struct soft_cpu *cpu, uint16_t sel, bool wide, unsigned vec,
		   unsigned ext, uint64_t d[2], uint64_t *addr);
/* Set the accessed bit of a code/data descriptor in memory (and in d). */
int sys_set_accessed(struct soft_cpu *cpu, uint64_t addr, uint64_t *d);
/* Fill a segment register cache from a descriptor (hi: the upper quadword
 * of a 16-byte system descriptor, else 0). */
void sys_seg_from_desc(struct x86_segment *s, uint16_t sel, uint64_t lo, uint64_t hi);
/* A null selector loaded into s (unusable; rpl kept). */
void sys_seg_null(struct x86_segment *s, uint16_t sel);
/* Flat 4 GiB segments used by SYSCALL/SYSENTER and friends. */
void sys_seg_flat(struct x86_segment *s, uint16_t sel, bool code, bool l, unsigned dpl);

static inline int sys_exc(struct soft_cpu *cpu, unsigned vec, uint32_t err)
{
	return soft_raise(cpu, vec, true, err);
}

/* Stack used for a privilege-changing frame (interrupts, call gates, far
 * returns): explicit SS cache and pointer, since SS is not loaded yet. */
struct sys_stack {
	struct x86_segment ss;
	uint64_t sp;
	bool lm;          /* 64-bit stack: 8-byte pointer, no limit checks */
	uint32_t err;     /* #SS error code on a limit violation */
};

void sys_stack_current(const struct soft_cpu *cpu, struct sys_stack *s);
int sys_stack_push(struct soft_cpu *cpu, struct sys_stack *s, unsigned size, uint64_t v);
int sys_stack_pop(struct soft_cpu *cpu, struct sys_stack *s, unsigned size, uint64_t *v);
/* Store the stack pointer of s into RSP with its width. */
void sys_stack_commit(struct soft_cpu *cpu, const struct sys_stack *s);

/* The stack for CPL n from the TSS (legacy 16/32-bit TSS or the 64-bit
 * one); *sel = new SS selector (legacy only).  Faults: #TS(tr | ext). */
int sys_tss_stack(struct soft_cpu *cpu, unsigned n, unsigned ext, uint16_t *sel, uint64_t *sp);
/* Check and build the SS for a legacy inner-privilege stack switch. */
int sys_load_inner_ss(struct soft_cpu *cpu, uint16_t sel, unsigned cpl, unsigned ext,
		      struct x86_segment *ss);

/* Check a code-segment target offset against CS's limit (legacy modes). */
static inline bool sys_off_ok(const struct x86_segment *cs, uint64_t off)
{
	return off <= cs->limit;
}

/* After a return to an outer privilege level: null ES DS FS GS whose
 * descriptor the new CPL may not use. */
void sys_null_outer_segs(struct soft_cpu *cpu);

/* Load a code segment after a far transfer: set CS, CPL and mode. */
void sys_set_cs(struct soft_cpu *cpu, const struct x86_segment *cs);
/* The flat CS and SS that SYSCALL and SYSRET load (SDM vol. 2, SYSCALL,
 * SYSRET: "fixed values", the GDT is not read): 64-bit code or writable
 * data, base 0, limit 4 GiB, G, DPL dpl. */
static inline void sys_seg_flat64(struct x86_segment *cs, struct x86_segment *ss,
				  uint16_t cs_sel, uint16_t ss_sel, uint8_t dpl)
{
	*cs = (struct x86_segment){ .selector = cs_sel, .limit = 0xffffffff, .type = 0xb,
				    .s = 1, .dpl = dpl, .present = 1, .l = 1, .g = 1 };
	*ss = (struct x86_segment){ .selector = ss_sel, .limit = 0xffffffff, .type = 0x3,
				    .s = 1, .dpl = dpl, .present = 1, .db = 1, .g = 1 };
}
/* sys_set_cs for a 64-bit CS (L set) loaded in 64-bit mode, CS already in
 * cpu->seg: what soft_cpu_update_mode does then, without its general
 * cases (the mode stays 64-bit, so no segment refresh: cpu.c). */
void sys_set_cs64(struct soft_cpu *cpu);

/* Checks of a return CS (IRET, far RET; lm: IA-32e mode) and of the SS
 * popped by a return to an outer level or by IRET in 64-bit mode (to64:
 * the return goes to 64-bit code, where a null SS is allowed at CPL < 3).
 * *addr = the descriptor's address (~0 for a null SS). */
int sys_check_return_cs(struct soft_cpu *cpu, uint16_t sel, bool lm, uint64_t *d, uint64_t *addr);
int sys_check_return_ss(struct soft_cpu *cpu, uint16_t sel, unsigned rpl, bool to64,
			struct x86_segment *ss, uint64_t *addr);

/* TLB maintenance through cpu->sys (and the core's own code cache). */
void sys_tlb_flush(struct soft_cpu *cpu, enum soft_flush kind, uint64_t la);

/* PKRU = v, as WRPKRU and XRSTOR/XRSTORS (component 9) load it: a change
 * flushes the TLB, whose cached rights include the key check (sys_prot.c). */
void sys_pkru_load(struct soft_cpu *cpu, uint32_t v);

/* ---- task switching (sys_task.c), legacy protected mode only ---- */
enum sys_task_src { SYS_TASK_JMP, SYS_TASK_CALL, SYS_TASK_IRET, SYS_TASK_INT };
/* Far JMP/CALL whose selector names an available TSS or a task gate (d: its
 * descriptor; busy TSSs are #GP at the caller). */
int sys_task_far(struct soft_cpu *cpu, uint16_t sel, uint64_t d, bool call);
/* IRET with NT=1: back to the task in the current TSS's link field. */
int sys_task_iret(struct soft_cpu *cpu);
/* An event through an IDT task gate (gate DPL and present checked by the
 * caller): flags = the EFLAGS image the old task saves. */
int sys_task_event(struct soft_cpu *cpu, uint16_t tss_sel, unsigned ext, bool has_error,
		   uint32_t error_code, uint64_t flags);

/* ---- virtual-8086 mode (sys_v86.c) ---- */
/* A virtual-8086 segment: base sel << 4, limit 0xffff, DPL 3. */
void sys_seg_v86(struct x86_segment *s, uint16_t sel, bool code);
/* IRET at CPL 0 (32-bit operand) whose EFLAGS image has VM=1: st has
 * already popped EIP, CS and EFLAGS. */
int sys_v86_iret_to(struct soft_cpu *cpu, struct sys_stack *st, uint64_t ip, uint16_t cs, uint64_t fl);
/* IRET executed in virtual-8086 mode. */
int sys_v86_iret(struct soft_cpu *cpu, const struct x86_insn *in);
/* An interrupt or exception from virtual-8086 mode through an interrupt or
 * trap gate: the target must be a nonconforming DPL-0 code segment
 * (#GP(sel | ext) otherwise). */
int sys_v86_check_target(struct soft_cpu *cpu, const struct x86_segment *cs, unsigned ext);
/* Push GS FS DS ES on the ring-0 stack (before SS:ESP) and, after the
 * frame is complete, null them. */
int sys_v86_push_segs(struct soft_cpu *cpu, struct sys_stack *st, unsigned size);
void sys_v86_null_segs(struct soft_cpu *cpu);
/* Instructions that are IOPL-sensitive in virtual-8086 mode (CLI STI PUSHF
 * POPF INT n IRET): #GP(0) when IOPL < 3, unless VME gives them a virtual
 * meaning (below). */
static inline bool sys_v86_iopl_trap(const struct soft_cpu *cpu)
{
	return vm86(cpu) && ((cpu->rflags >> 12) & 3) < 3;
}

#define SYS_CR4_VME (1ULL << 0)
#define SYS_CR4_PVI (1ULL << 1)

/* Virtual-8086 mode extensions in effect (SDM 20.3): VM=1, IOPL < 3 and
 * CR4.VME.  CLI/STI then clear/set VIF, and the 16-bit PUSHF, POPF and IRET
 * see VIF in place of IF. */
static inline bool sys_v86_vme(const struct soft_cpu *cpu)
{
	return sys_v86_iopl_trap(cpu) && (cpu->cr4 & SYS_CR4_VME);
}

/* CLI/STI when CPL > IOPL: VIF instead of #GP(0) with VME in virtual-8086
 * mode, or with CR4.PVI at CPL 3 outside it (SDM 20.4, CLI/STI). */
static inline bool sys_vif_for_if(const struct soft_cpu *cpu)
{
	if (vm86(cpu))
		return sys_v86_vme(cpu);
	return cpu->cpl == 3 && (cpu->cr4 & SYS_CR4_PVI);
}

/* INT n in virtual-8086 mode (SDM INT n, table 20-2): SOFT_OK when it was
 * redirected to the 8086 program's IVT (method 5/6: next_rip set),
 * SOFT_EXC for #GP(0), or SYS_V86_TO_IDT when the protected-mode IDT
 * handles it (methods 1 and 4). */
#define SYS_V86_TO_IDT (-1)
int sys_v86_int(struct soft_cpu *cpu, unsigned vector);
/* PUSHF / POPF in virtual-8086 mode with IOPL < 3 (#GP(0) without VME or
 * with a 32-bit operand). */
int sys_v86_pushf(struct soft_cpu *cpu, unsigned opsize);
int sys_v86_popf(struct soft_cpu *cpu, unsigned opsize);

#endif
