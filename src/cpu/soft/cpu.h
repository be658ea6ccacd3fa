/* The soft engine's CPU core: state, memory interface and public API.
 *
 * Layout of src/cpu/soft/ (one concept per file):
 *   cpu.h            this file: struct soft_cpu, memory ops, API, handler helpers
 *   decode.h         struct x86_insn (a decoded instruction), operand kinds,
 *                    table row struct, x86_decode()
 *   decode.c         the one x86 decoder (prefixes, REX/VEX/EVEX, ModRM/SIB...)
 *   decode_table.c   opcode tables in Intel-manual notation
 *   handlers.def     X-macro list of integer handlers (owned by the core)
 *   sse_handlers.def, mmx_handlers.def, x87_handlers.def
 *                    X-macro lists of SSE/MMX/x87 handler names used by the tables
 *                    (prototypes only: a row naming an undefined handler does
 *                    not link)
 *   gen_insn_ids.py  generates enum x86_insn_id (X86_I_ADD ...), the name
 *                    table and each row's identity from decode_table.c
 *   flags.c          lazy flags;   exec_*.c  instruction families
 *   exec_fast.c      specialised hot handlers swapped in by the icache
 *   exec_sys.c       MOV CR/DR, CLTS LMSW SMSW, XGETBV/XSETBV, INVLPG, VMCALL,
 *                    the TSS I/O bitmap;   seg.c  MOV/POP/PUSH Sreg, LxS
 *   sys.h            system-architecture internals shared by sys_*.c
 *   sys_desc.c       descriptors, segment loads with all checks, LGDT..LTR,
 *                    LAR LSL VERR VERW ARPL, TSS stacks
 *   sys_event.c      soft_cpu_deliver (IDT in real/protected/long mode, #DF,
 *                    triple fault), IRET, interrupt shadow
 *   sys_far.c        far JMP/CALL/RET, call gates, SYSCALL/SYSRET,
 *                    SYSENTER/SYSEXIT, SWAPGS
 *   sys_task.c       hardware task switches (TSS, task gates, IRET with NT)
 *   sys_v86.c        virtual-8086 mode (IRET to/in it, events from it)
 *   sys_msr.c        RDMSR/WRMSR (core MSRs, then cpu->sys hooks)
 *   sys_prot.c       STAC/CLAC, RDPKRU/WRPKRU (SMAP and protection keys; the
 *                    checks are in mmu/page_walk.c)
 *   seg_check.c      segment limit/type checks of data accesses
 *   cpuid.c          the CPUID model (then cpu->sys->cpuid)
 *   icache.c         decoded-instruction cache keyed by guest-physical page
 *   jit/             the translation tier (jit/jit.h): hot blocks as host code
 *   disasm.c         x86_insn_format() for traces
 *   flatmem.c        flat bounds-checked memory ops for tests/benchmarks
 *   cpu.c            init, step, run, state conversion
 * More: docs/soft-cpu.md
 *
 * Adding an instruction (table row, handler, identity, tests; SSE/MMX/x87
 * specifics): docs/soft-cpu.md, "Adding an instruction".  That is the one
 * place that describes it.
 *
 * Errors: every function that can fault returns an int status (enum
 * soft_status).  SOFT_OK is 0; anything else stops the instruction and is
 * passed straight back up, so the usual pattern is
 *      int r = soft_read(cpu, la, &v, 4); if (r) return r;
 */
#ifndef RINGVM_SOFT_CPU_H
#define RINGVM_SOFT_CPU_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ringvm/compiler.h"
#include "ringvm/x86_state.h"

struct soft_cpu;
struct x86_insn;
struct soft_icache;
struct soft_jit;

/* Every instruction handler has this one signature. */
typedef int (*soft_exec_fn)(struct soft_cpu *cpu, const struct x86_insn *in);

enum soft_status {
	SOFT_OK = 0,
	SOFT_EXC = 1,     /* exception or software interrupt: see cpu->exc */
	SOFT_HLT = 2,     /* HLT executed (rip is after the HLT) */
	SOFT_STOP = 3,    /* budget exhausted or soft_cpu_kick() */
	SOFT_INTERNAL = 4, /* emulation bug / unsupported state: see cpu->error */
	SOFT_SHUTDOWN = 5  /* triple fault (shutdown): see cpu->error */
};

/* Exception vectors. */
enum {
	X86_EXC_DE = 0, X86_EXC_DB = 1, X86_EXC_NMI = 2, X86_EXC_BP = 3,
	X86_EXC_OF = 4, X86_EXC_BR = 5, X86_EXC_UD = 6, X86_EXC_NM = 7,
	X86_EXC_DF = 8, X86_EXC_TS = 10, X86_EXC_NP = 11, X86_EXC_SS = 12,
	X86_EXC_GP = 13, X86_EXC_PF = 14, X86_EXC_MF = 16, X86_EXC_AC = 17,
	X86_EXC_MC = 18, X86_EXC_XM = 19
};

/* How an event was raised (delivery, part 2, needs to know). */
enum soft_event_kind {
	SOFT_EV_FAULT,   /* fault: rip = the faulting instruction */
	SOFT_EV_TRAP,    /* trap-like exception: rip = next instruction */
	SOFT_EV_SOFTINT, /* INT n: rip = next instruction, vector = n */
	SOFT_EV_INT3,    /* INT3 (CC): rip = next instruction, vector 3 */
	SOFT_EV_INTO,    /* INTO with OF=1: rip = next instruction, vector 4 */
	SOFT_EV_INT1,    /* INT1/ICEBP (F1): rip = next instruction, vector 1 */
	SOFT_EV_EXTINT,  /* external interrupt (soft_cpu_deliver) */
	SOFT_EV_NMI      /* NMI (soft_cpu_deliver; vector 2; sets cpu->nmi_blocked) */
};

/* A pending exception / event reported to the caller. */
struct soft_exception {
	uint8_t vector;
	uint8_t kind;        /* enum soft_event_kind */
	bool has_error;
	uint32_t error_code;
	uint64_t cr2;        /* faulting linear address for #PF */
	uint64_t insn_rip;   /* software interrupts: the INT instruction (rip is past it);
			      * a fault while delivering it points here */
};

/* A fault produced by a memory op (filled in by the ops implementation). */
struct soft_fault {
	uint8_t vector;      /* X86_EXC_PF, X86_EXC_GP ... */
	bool has_error;
	uint32_t error_code;
	uint64_t cr2;
};

/* Access kinds passed to the memory ops (for #PF error codes / MMIO). */
enum soft_access {
	SOFT_ACC_READ = 0,
	SOFT_ACC_WRITE = 1,
	SOFT_ACC_FETCH = 2,
	SOFT_ACC_RMW = 3     /* read half of a read-modify-write: check writable */
};

/* The only way the core reaches memory, I/O ports and time.  Linear
 * addresses (segmentation already applied by the core); the ops do paging,
 * the TLB, RAM/MMIO routing.  Every function returns 0 on success or -1 with
 * *f filled in (the core turns it into an exception).  Accesses may cross a
 * page boundary; the ops must then check both pages before writing any byte
 * (the core relies on this for restartable instructions).
 *
 * pa (write/fetch): the guest-physical address of the first byte and of the
 * last byte accessed, or ~0 for non-RAM (MMIO).  The core uses them to keep
 * the decoded-instruction cache coherent: a write to a page holding decoded
 * code invalidates it. */
struct soft_mem_ops {
	int (*read)(void *opaque, uint64_t la, void *dst, unsigned len,
		    unsigned acc, struct soft_fault *f);
	int (*write)(void *opaque, uint64_t la, const void *src, unsigned len,
		     uint64_t pa[2], struct soft_fault *f);
	/* Instruction fetch of len bytes (never crosses a page: the core splits). */
	int (*fetch)(void *opaque, uint64_t la, void *dst, unsigned len,
		     uint64_t *pa, struct soft_fault *f);
	/* Port I/O (size 1, 2, 4).  Return 0, or -1 with *f filled (#GP). */
	int (*pio_in)(void *opaque, uint16_t port, unsigned size, uint32_t *val,
		      struct soft_fault *f);
	int (*pio_out)(void *opaque, uint16_t port, unsigned size, uint32_t val,
		       struct soft_fault *f);
	/* Time source for RDTSC/RDTSCP (guest TSC value now).  May be NULL: 0. */
	uint64_t (*rdtsc)(void *opaque);
	/* For atomic read-modify-writes (LOCK, XCHG): translate la for an RMW
	 * access of len bytes and return 0 with *host = the host address and
	 * *pa = its guest-physical address when the bytes are RAM inside one
	 * page, or 0 with *host = NULL when they are not (MMIO, page-crossing:
	 * the core falls back to a plain read and write); -1 with *f on a fault.
	 * May be NULL (no cross-vCPU atomicity needed, e.g. one vCPU). */
	int (*rmw_ptr)(void *opaque, uint64_t la, unsigned len, void **host,
		       uint64_t *pa, struct soft_fault *f);
	/* Check la as an access of kind acc (translation, rights, A bit; a
	 * #PF if it faults) without touching the data: CLFLUSH must not read
	 * device memory.  May be NULL: the core then reads one byte. */
	int (*probe)(void *opaque, uint64_t la, unsigned acc, struct soft_fault *f);
	/* For the page-wise REP MOVS/STOS path (exec_string.c): translate
	 * la's page for a read (write = false) or a write and return 0 with
	 * *host = the host address of la, *pa its guest-physical address and
	 * *avail the bytes from la up that the same translation covers with
	 * the same rights, contiguous in host memory: at least the rest of
	 * la's 4 KiB page, more (up to want) inside a large page; or 0 with
	 * *host = NULL when la is not RAM (device memory: the core goes
	 * element by element), or -1 when the access would fault (the core
	 * then takes the element path, which raises the fault; *f is not
	 * delivered).  A write grant publishes the pages holding decoded code
	 * among the first min(want, *avail) bytes to the other vCPUs
	 * (mmu/code_write.c) as writes would.  May be NULL: no page-wise
	 * path. */
	int (*page_ptr)(void *opaque, uint64_t la, bool write, uint64_t want, uint8_t **host,
			uint64_t *pa, uint64_t *avail, struct soft_fault *f);
};

/* Lazy flags: the last flag-setting operation is remembered and the six
 * arithmetic flags (CF PF AF ZF SF OF) are materialised only when read.
 * lf.op == LF_NONE means rflags holds them. */
enum soft_lazy_op {
	LF_NONE = 0,
	LF_ADD,   /* res = src1 + src2 */
	LF_ADC,   /* res = src1 + src2 + cf_in (cf_in in lf.aux) */
	LF_SUB,   /* res = src1 - src2 (also CMP) */
	LF_SBB,   /* res = src1 - src2 - cf_in (cf_in in lf.aux) */
	LF_LOGIC, /* AND OR XOR TEST: CF=OF=0, AF=0 */
	LF_INC,   /* res = src1 + 1, CF preserved (old CF in lf.aux) */
	LF_DEC,   /* res = src1 - 1, CF preserved (old CF in lf.aux) */
	LF_NEG,   /* res = -src2 (src1 = 0) */
	LF_COUNT
};

struct soft_lazy_flags {
	uint64_t res, src1, src2;
	uint32_t op;    /* enum soft_lazy_op */
	uint32_t size;  /* operand size in bytes: 1 2 4 8 */
	uint64_t aux;   /* carry-in (ADC/SBB) or preserved CF (INC/DEC) */
};

/* An 80-bit x87 register value: 64-bit significand, sign+15-bit exponent. */
struct soft_f80 {
	uint64_t mant;
	uint16_t sexp;
	uint16_t pad[3];
};

union soft_xmm {
	uint8_t b[16];
	uint16_t w[8];
	uint32_t d[4];
	uint64_t q[2];
	float f[4];
	double fd[2];
};

struct soft_fpu_state {
	struct soft_f80 st[8]; /* PHYSICAL registers R0..R7; ST(i) = st[(TOP+i)&7] */
	uint16_t fcw, fsw;     /* TOP lives in fsw bits 11..13 */
	uint8_t ftw;           /* abridged tag (FXSAVE form): bit i = R_i non-empty */
	uint16_t fop;
	uint64_t fip, fdp;
	uint16_t fcs, fds;
};

/* ---- system hooks: what the core needs from the engine (engine_soft.c) ---- */

/* TLB maintenance (SDM vol. 3A 4.10.4).  With CR4.PCIDE=1 "current PCID"
 * is CR3[11:0], else 0; the engine's TLB reads it from the CPU's registers,
 * so the core updates CR3/CR4 before it asks for the flush.
 *   ALL            every entry, every PCID, global ones too
 *   NONGLOBAL      the current PCID's non-global entries (MOV CR3 without
 *                  the no-flush bit)
 *   PAGE           la's entries of the current PCID and global ones (INVLPG,
 *                  INVPCID type 0 for the current PCID)
 *   SWITCH         none: the current PCID changed with the no-flush bit,
 *                  its entries become the ones used (MOV CR3, bit 63 set)
 *   PCID           PCID la's non-global entries (INVPCID type 1; type 0
 *                  for another PCID, a permitted over-invalidation)
 *   ALL_NONGLOBAL  every PCID's non-global entries (INVPCID type 3) */
enum soft_flush {
	SOFT_FLUSH_ALL, SOFT_FLUSH_NONGLOBAL, SOFT_FLUSH_PAGE, SOFT_FLUSH_SWITCH, SOFT_FLUSH_PCID,
	SOFT_FLUSH_ALL_NONGLOBAL
};

struct soft_sys_ops {
	/* TLB maintenance the architecture requires (enum soft_flush): MOV CR3
	 * (NONGLOBAL, or SWITCH with the no-flush bit), INVLPG (PAGE, la),
	 * INVPCID, changes of CR0.PG/WP/PE, CR4.PAE/PSE/PGE/SMEP/SMAP/PKE,
	 * CR4.PCIDE 1->0, EFER.NXE/LMA (ALL).  The core also drops its own
	 * linear assumptions (soft_cpu_flush_code_tlb, those about non-global
	 * pages only for NONGLOBAL, PCID, ALL_NONGLOBAL, none for SWITCH:
	 * the MMU's new space is in the tags) and ends the block. */
	void (*tlb_flush)(void *opaque, enum soft_flush kind, uint64_t la);
	/* MSRs the core does not implement itself (APIC 0x1b/0x800-0x8ff/0x6e0,
	 * kvmclock 0x4b564d00.., anything platform): return 0 and *val, or -1
	 * for #GP. */
	int (*rdmsr)(void *opaque, uint32_t msr, uint64_t *val);
	int (*wrmsr)(void *opaque, uint32_t msr, uint64_t val);
	/* The guest wrote IA32_TSC: tsc_offset changed from old (the platform
	 * moves what it keeps on the vCPU's TSC: a TSC deadline, kvmclock). */
	void (*tsc_written)(void *opaque, uint64_t old);
	/* Adjust the core's CPUID answer (APIC IDs, hypervisor leaves
	 * 0x40000000+, topology): regs[4] = eax, ebx, ecx, edx in/out. */
	void (*cpuid)(void *opaque, uint32_t leaf, uint32_t subleaf, uint32_t regs[4]);
	/* CR8 is the local APIC's TPR[7:4] (SDM vol. 3, 10.8.6.1): MOV
	 * to/from CR8 go here (value 0-15).  NULL: the core's cpu->cr8 alone. */
	uint64_t (*cr8_read)(void *opaque);
	void (*cr8_write)(void *opaque, uint64_t cr8);
	void *opaque;
};

enum soft_mode { SOFT_MODE_16 = 0, SOFT_MODE_32 = 1, SOFT_MODE_64 = 2 };

/* cpu->shadow: what blocks events on the next instruction boundary (SDM
 * vol. 3, 6.8.3).  STI blocks maskable interrupts; MOV SS / POP SS also
 * holds back debug exceptions (debug.c). */
enum { SOFT_SHADOW_STI = 1, SOFT_SHADOW_SS = 2 };

/* cpu->dbg_armed: kinds of DR7-enabled breakpoints (recomputed on every
 * DR7 write by soft_dbg_update()); any bit set sends execution through the
 * checking path (debug.c). */
enum { SOFT_DBG_INSN = 1, SOFT_DBG_DATA = 2, SOFT_DBG_IO = 4 };

struct soft_cpu {
	/* hot state first */
	uint64_t gpr[GPR_COUNT];
	uint64_t rip;        /* start of the current instruction */
	uint64_t next_rip;   /* set before each handler: rip + length; branches write it */
	uint64_t rflags;     /* all bits; CF PF AF ZF SF OF stale unless lf.op == LF_NONE */
	struct soft_lazy_flags lf;
	uint8_t mode;        /* enum soft_mode: decode/execution mode from CS, CR0, EFER */
	uint8_t cpl;
	uint8_t block_stop;  /* set when the current decoded block must end */
	uint8_t pad0;

	const struct soft_mem_ops *ops;
	void *ops_opaque;

	/* segments and system registers */
	struct x86_segment seg[SEG_COUNT];
	struct x86_segment tr, ldt;
	struct x86_dtable gdt, idt;
	uint64_t cr0, cr2, cr3, cr4, cr8, efer, apic_base;
	uint64_t tsc_aux, star, lstar, cstar, sfmask, kernel_gs_base;
	uint64_t pat, misc_enable, sysenter_cs, sysenter_esp, sysenter_eip;
	uint64_t spec_ctrl;  /* IA32_SPEC_CTRL: held, no effect (cpuid.h) */

	/* system layer (sys_*.c) */
	const struct soft_sys_ops *sys;   /* may be NULL (tests): no hooks */
	uint64_t xcr0;                    /* XCR0 (XSETBV): x87, SSE, AVX, PKRU bits only; reset value 1 */
	uint64_t tsc_offset;              /* guest TSC = ops->rdtsc() + tsc_offset */
	uint64_t dr[8];                   /* DR0-3, DR6, DR7 (4/5 alias 6/7); debug.c */
	uint64_t mtrr_def_type, mtrr_fixed[11], mtrr_var[16]; /* var: base0 mask0 base1 ... */
	uint8_t shadow;                   /* SOFT_SHADOW_*: interrupt shadow on the next insn */
	uint8_t nmi_blocked;              /* set by NMI delivery, cleared by IRET */
	uint8_t dbg_armed;                /* SOFT_DBG_*: enabled DR7 breakpoint kinds (debug.c) */
	uint8_t dbg_hits;                 /* B0-B3 of data/I/O breakpoints hit by this insn */
	uint16_t dbg_pending;             /* DR6 bits of a #DB held back by MOV SS / POP SS */
	uint8_t task_switched;            /* a task switch failed after its commit point:
					   * the fault belongs to the new task (sys_task.c) */
	uint8_t dbg_now;                  /* deliver dbg_pending before the next insn:
					   * it was held across an INT n / INT3 / INTO (debug.c) */
	const struct soft_mem_ops *dbg_ops; /* the real ops while debug.c wraps them */
	void *dbg_opaque;

	/* memory protection (mmu/, seg_check.c) */
	uint32_t pkru;                    /* protection-key rights (RDPKRU/WRPKRU) */
	uint8_t implicit_sv;              /* an implicit supervisor access is in progress
					   * (sys_read_sv): SMAP ignores EFLAGS.AC */
	uint8_t pad2[3];

	/* x87 / MMX / SSE */
	struct soft_fpu_state fpu;
	uint32_t mxcsr;
	union soft_xmm xmm[16];
	union soft_xmm ymmh[16];          /* YMM bits 255:128 (AVX, XSAVE component 2) */

	/* event reporting */
	struct soft_exception exc;
	char error[128];     /* SOFT_INTERNAL reason */

	/* execution control */
	volatile int kick;   /* set from any thread by soft_cpu_kick(); __atomic only */
	uint64_t icount;     /* instructions retired */
	struct soft_icache *icache; /* decoded-instruction cache, NULL = none */
	struct soft_atomic_tx *tx;  /* set while an atomic RMW runs (atomic.c) */
	uint64_t icache_hits, icache_misses, uncached_insns;
	uint64_t shadow_runs;       /* STI / MOV SS shadows run into the next block (soft_cpu_run) */
	uint8_t deliver_exc;        /* soft_cpu_run delivers exceptions itself (the engine sets it) */
	const _Atomic unsigned *irq_attn; /* the engine's "interrupt pending" word, or NULL */
	unsigned irq_attn_bits;     /* its bits that mean "deliverable once IF=1" */
	uint64_t exc_delivered;     /* exceptions soft_cpu_run delivered */
	uint8_t shadow_held;        /* a shadow taken off cpu->shadow while its instruction runs */
	uint64_t shadow_held_at, shadow_held_rip; /* icount and RIP it was taken at (cpu.c) */
	uint64_t rep_fast_bytes, rep_fast_runs; /* page-wise REP MOVS/STOS: bytes, runs */
	struct soft_jit *jit;       /* translation tier (jit/jit.h), NULL = interpreter only */
	int64_t jit_budget;         /* instructions translated code may still chain through, less SOFT_BLOCK_MAX */
	uint64_t jit_icount_base;   /* while translated code runs, cpu->icount is this less
				     * jit_budget: exits count the budget alone (jit/jit.c) */
	void *jit_link;             /* chain slot of the last translated exit, or NULL */
	const void *jit_tlb;        /* the shadow TLB's entries (mmu/soft_mmu.h) when cpu->ops
				     * is soft_mmu_ops: translated loads probe it inline */
	uint64_t tlb_salt;          /* the shadow TLB's current address-space tag: bits 63:54
				     * of every tag it matches (mmu/soft_mmu.h); kept by the
				     * MMU, added to the rights class by translated probes */
	uint64_t tlb_slot_off;      /* the TLB's slot offset for the current PCID (same) */
	/* translated probes' addend memos: the slot addend each probe site used
	 * last, a prediction every probe checks against its slot (jit/probe.c) */
#define SOFT_JIT_MEMO 256
	uint64_t jit_memo[SOFT_JIT_MEMO];
	uint8_t fetch_global;       /* the MMU's last fetch went through a global translation */
	/* #UD raised by instructions the model does not execute, per instruction
	 * identity (enum x86_insn_id, X86_I_COUNT entries): explicit #UD rows and
	 * VEX encodings by their row's identity, undefined encodings at
	 * X86_I_INVALID.  For --stats; NULL if the allocation failed. */
	uint64_t *ud_by_insn;

	/* last soft_ea() result: lets a non-canonical access through an
	 * SS-based operand fault with #SS instead of #GP, and is the operand
	 * soft_read/soft_write check against its segment (legacy modes) */
	uint64_t ea_la;
	uint8_t ea_seg;
	uint8_t ea_slow;     /* seg_slow[ea_seg], copied by soft_ea */
	/* SOFT_SEG_R / SOFT_SEG_W: the access kinds that need
	 * soft_seg_check_slow (segment not flat, or the access not allowed) */
	uint8_t seg_slow[SEG_COUNT];

	/* per-segment access rights for data accesses, recomputed by
	 * soft_seg_refresh() whenever a segment register, CR0.PE or the mode
	 * changes (seg_check.c) */
	struct soft_seg_rights {
		uint64_t lo, hi;  /* valid offsets [lo, hi] */
		uint8_t rights;   /* SOFT_SEG_R | SOFT_SEG_W | SOFT_SEG_FLAT */
	} segchk[SEG_COUNT];

	/* host-executed extensions offered to this vCPU (host_isa.h) */
	uint32_t host_isa;
};

/* ---- public API ---- */

/* Reset state to the power-on values (real mode, CS:IP = F000:FFF0), attach
 * the memory ops.  Allocates the decoded-instruction cache when icache is
 * true.  Returns 0 or -ENOMEM. */
int soft_cpu_init(struct soft_cpu *cpu, const struct soft_mem_ops *ops,
		  void *opaque, bool icache);
void soft_cpu_destroy(struct soft_cpu *cpu);

/* Execute exactly one instruction (no cache).  Returns enum soft_status:
 * SOFT_OK, SOFT_EXC (cpu->exc: for faults rip is the faulting instruction,
 * for INT n / INT3 / INTO rip is the next one), SOFT_HLT, SOFT_INTERNAL. */
int soft_cpu_step(struct soft_cpu *cpu);

/* Execute up to max instructions (through the icache when present) or until
 * an exception / HLT / kick.  Returns SOFT_STOP when the budget ran out or
 * after a kick, otherwise as soft_cpu_step (with cpu->deliver_exc set,
 * exceptions are delivered inside and do not end the run: SOFT_EXC only
 * when the budget ran out with one pending).  *done (optional) = number of
 * instructions retired. */
int soft_cpu_run(struct soft_cpu *cpu, uint64_t max, uint64_t *done);

/* soft_cpu_run for the engine's slices, where max is a time slice, not a
 * count anyone checks: a decoded or translated block (and translated
 * blocks chained after it) starts whenever fewer than max instructions
 * retired, so the run may end up to SOFT_BLOCK_MAX - 1 (63) instructions
 * past max.  The slice's tail then runs like the rest of it, translated
 * and chained, instead of block by block from the run loop and stepped one
 * instruction at a time.  Kicks, exceptions, HLT and *done as
 * soft_cpu_run.  Single-stepping, the differential harness and tests that
 * count instructions keep soft_cpu_run's exact max. */
int soft_cpu_run_slice(struct soft_cpu *cpu, uint64_t max, uint64_t *done);

/* Make soft_cpu_run return SOFT_STOP soon; callable from any thread. */
void soft_cpu_kick(struct soft_cpu *cpu);

/* Recompute cpu->mode and cpl after CS / CR0 / EFER changed. */
void soft_cpu_update_mode(struct soft_cpu *cpu);

/* Invalidate decoded code for guest-physical [pa, pa+len) (DMA, VMM writes). */
void soft_cpu_invalidate_code(struct soft_cpu *cpu, uint64_t pa, uint64_t len);
/* Forget all linear->physical assumptions of the icache (INVLPG, paging
 * bits, state loads): every chain and IBTC link dies. */
void soft_cpu_flush_code_tlb(struct soft_cpu *cpu);
/* INVLPG / INVPCID type 0 of la: the assumptions about non-global
 * mappings, and about global ones in la's 1 GiB region. */
void soft_cpu_flush_code_page(struct soft_cpu *cpu, uint64_t la);
/* Forget the assumptions about non-global mappings (MOV CR3 without the
 * no-flush bit, INVPCID 1 and 3): links into global pages stay. */
void soft_cpu_flush_code_tlb_nonglobal(struct soft_cpu *cpu);

/* State conversion. */
void soft_cpu_get_regs(struct soft_cpu *cpu, struct x86_regs *r);
void soft_cpu_set_regs(struct soft_cpu *cpu, const struct x86_regs *r);
void soft_cpu_get_sregs(const struct soft_cpu *cpu, struct x86_sregs *s);
void soft_cpu_set_sregs(struct soft_cpu *cpu, const struct x86_sregs *s);
void soft_cpu_get_fpu(const struct soft_cpu *cpu, struct x86_fpu *f);
void soft_cpu_set_fpu(struct soft_cpu *cpu, const struct x86_fpu *f);

/* ---- system architecture (sys_*.c) ----
 *
 * Events: soft_cpu_run/step return SOFT_EXC with cpu->exc filled for faults,
 * traps and software interrupts (INT n, INT3, INTO, INT1: rip already past
 * the instruction).  The engine then calls soft_cpu_deliver_exception(),
 * which delivers it through the IDT (the DPL check of INT n happens there).
 * External interrupts and NMIs: soft_cpu_deliver(cpu, vector,
 * SOFT_EV_EXTINT / SOFT_EV_NMI, false, 0) when soft_cpu_interruptible()
 * (NMIs: when !cpu->nmi_blocked).  Interrupt shadow: after STI (IF 0->1),
 * MOV SS or POP SS, soft_cpu_interruptible() is false until one more
 * instruction retired; soft_cpu_run always executes that instruction first
 * (soft_cpu_run(cpu, 1, NULL) executes just it). */

/* Deliver an event now through the IDT in the current mode (real, protected,
 * long; gates, privilege change with TSS stack switch, IST, error codes,
 * nested faults -> #DF -> triple fault).  kind: enum soft_event_kind, or
 * SOFT_EV_EXTINT for an external interrupt / SOFT_EV_NMI.  Task gates switch
 * tasks (sys_task.c); events from virtual-8086 mode push its segments
 * (sys_v86.c).  Returns SOFT_OK, or SOFT_SHUTDOWN (new status value) on
 * triple fault with cpu->error set. */
int soft_cpu_deliver(struct soft_cpu *cpu, unsigned vector, unsigned kind, bool has_error,
		     uint32_t error_code);
/* After soft_cpu_run returned SOFT_EXC: deliver cpu->exc (sets CR2 for #PF). */
int soft_cpu_deliver_exception(struct soft_cpu *cpu);
/* Can an external interrupt be taken now (IF=1 and no STI/MOV SS shadow)? */
bool soft_cpu_interruptible(const struct soft_cpu *cpu);
/* IF just went from 0 to 1 (STI, IRET, POPF, SYSRET): with an interrupt
 * already pending (cpu->irq_attn), end the run at the next check of the
 * kick, so that it is taken right after the instruction (after the STI's
 * shadowed instruction: run_blocks steps that one alone) instead of at the
 * end of the engine's slice: the kick that announced it was spent while IF
 * was 0.  Issue 9 item 2, docs/soft-cpu.md "Interrupts". */
static inline void soft_cpu_if_set(struct soft_cpu *cpu)
{
	if (cpu->irq_attn && (atomic_load_explicit(cpu->irq_attn, memory_order_acquire) & cpu->irq_attn_bits))
		__atomic_store_n(&cpu->kick, 1, __ATOMIC_RELEASE);
}
/* MSRs outside instruction execution (state save/restore, the engine): the
 * semantics of RDMSR/WRMSR at CPL 0 (core MSRs, then cpu->sys).  0, or -1
 * where the instruction would #GP. */
int soft_cpu_rdmsr(struct soft_cpu *cpu, uint32_t msr, uint64_t *val);
int soft_cpu_wrmsr(struct soft_cpu *cpu, uint32_t msr, uint64_t val);
/* INIT (to wait-for-SIPI state: the engine tracks that) and SIPI start: real
 * mode CS = vector << 8, IP 0. */
void soft_cpu_reset(struct soft_cpu *cpu);   /* power-on/INIT state, keeps ops/sys */
void soft_cpu_sipi(struct soft_cpu *cpu, uint8_t vector);

/* ---- helpers for handlers (implemented in cpu.c / flags.c / mem.c) ---- */

/* Raise an exception (fault semantics); returns SOFT_EXC. */
int soft_raise(struct soft_cpu *cpu, unsigned vector, bool has_error,
	       uint32_t error_code);
int soft_ud(struct soft_cpu *cpu);
int soft_gp0(struct soft_cpu *cpu);

/* Materialise and return the full RFLAGS / set it (resets lazy state). */
uint64_t soft_get_rflags(struct soft_cpu *cpu);
void soft_set_rflags(struct soft_cpu *cpu, uint64_t v);
/* RFLAGS loaded by an instruction (POPF, IRET, SYSRET): soft_set_rflags,
 * then soft_cpu_if_set when the load turned IF on. */
static inline void soft_load_rflags(struct soft_cpu *cpu, uint64_t v)
{
	bool if_was = cpu->rflags & X86_RFLAGS_IF;
	soft_set_rflags(cpu, v);
	if (!if_was && (cpu->rflags & X86_RFLAGS_IF))
		soft_cpu_if_set(cpu);
}
/* Individual flags (cheap paths where the lazy op allows). */
bool soft_cf(struct soft_cpu *cpu);
bool soft_zf(struct soft_cpu *cpu);
/* Evaluate condition code cc (0..15, as in Jcc/SETcc/CMOVcc). */
bool soft_cond(struct soft_cpu *cpu, unsigned cc);

/* Linear address of the instruction's memory operand (segment applied,
 * truncated to the address size / mode). */
uint64_t soft_ea(struct soft_cpu *cpu, const struct x86_insn *in);
/* Linear address of seg:off in the current mode. */
uint64_t soft_linear(const struct soft_cpu *cpu, unsigned seg, uint64_t off);

/* Linear address of seg:off for an explicit data operand that does not come
 * from a ModRM operand (XLAT, BT's bit offset, MASKMOVQ): like soft_ea, it
 * becomes the operand that soft_read/soft_write check against seg. */
uint64_t soft_ea_seg(struct soft_cpu *cpu, unsigned seg, uint64_t off);

/* Memory at a linear address, through cpu->ops only.  Outside 64-bit mode,
 * soft_read/soft_read_rmw/soft_write check the access against the segment
 * of the last soft_ea()/soft_ea_seg() operand (la must lie in that operand:
 * la = its address plus a small offset); the _lin forms do no segment check
 * (stack and string helpers that check explicitly, implicit system
 * accesses). */
int soft_read(struct soft_cpu *cpu, uint64_t la, void *dst, unsigned len);
int soft_read_rmw(struct soft_cpu *cpu, uint64_t la, void *dst, unsigned len);
int soft_write(struct soft_cpu *cpu, uint64_t la, const void *src, unsigned len);
/* Fault like a one-byte access of kind acc at la, without accessing it. */
int soft_check_access(struct soft_cpu *cpu, uint64_t la, unsigned acc);
int soft_read_lin(struct soft_cpu *cpu, uint64_t la, void *dst, unsigned len);
int soft_read_rmw_lin(struct soft_cpu *cpu, uint64_t la, void *dst, unsigned len);
int soft_write_lin(struct soft_cpu *cpu, uint64_t la, const void *src, unsigned len);
/* A write that bypassed soft_write (the page-wise REP MOVS/STOS path) hit
 * the guest-physical page of pa: drop this vCPU's decoded blocks there. */
void soft_note_code_write(struct soft_cpu *cpu, uint64_t pa);

/* Segment checks of data accesses (seg_check.c, SDM vol. 3, 5.3 and 5.4):
 * what an access needs, and the precomputed "any offset is fine" bit. */
enum { SOFT_SEG_R = 1, SOFT_SEG_W = 2, SOFT_SEG_FLAT = 4,
       SOFT_SEG_AC = 8 /* in seg_slow: alignment checking may apply (align_check.h) */ };
/* Recompute cpu->segchk from the segment caches, CR0.PE and the mode. */
void soft_seg_refresh(struct soft_cpu *cpu);
/* The slow path: check [off, off+len) of seg for need (SOFT_SEG_R/W);
 * SOFT_OK or #GP(0) / #SS(0) raised. */
int soft_seg_check_slow(struct soft_cpu *cpu, unsigned seg, uint64_t off, unsigned len,
			unsigned need);
/* Check a data access to seg:off: one test for a flat segment (and in
 * 64-bit mode, where every segment is flat for this purpose). */
static inline int soft_seg_check(struct soft_cpu *cpu, unsigned seg, uint64_t off,
				 unsigned len, unsigned need)
{
	if (likely(!(cpu->seg_slow[seg] & (need | SOFT_SEG_AC))))
		return SOFT_OK;
	return soft_seg_check_slow(cpu, seg, off, len, need);
}

/* MMX: mark the x87 stack as MMX (TOP = 0, all tags valid). */
static inline void soft_mmx_enter(struct soft_cpu *cpu)
{
	cpu->fpu.fsw &= (uint16_t)~(7u << 11);
	cpu->fpu.ftw = 0xff;
}

#endif
