/* ringvm's own x86 architectural register state, shared by both engines,
 * the boot loaders and diagnostics.  Not kvm_regs: the kvm engine converts. */
#ifndef RINGVM_X86_STATE_H
#define RINGVM_X86_STATE_H

#include <stdbool.h>
#include <stdint.h>

enum x86_gpr {
	GPR_RAX, GPR_RCX, GPR_RDX, GPR_RBX, GPR_RSP, GPR_RBP, GPR_RSI, GPR_RDI,
	GPR_R8, GPR_R9, GPR_R10, GPR_R11, GPR_R12, GPR_R13, GPR_R14, GPR_R15,
	GPR_COUNT
};

struct x86_regs {
	uint64_t gpr[GPR_COUNT]; /* indexed by enum x86_gpr (encoding order) */
	uint64_t rip;
	uint64_t rflags;
};

/* A segment register with its hidden descriptor cache. */
struct x86_segment {
	uint64_t base;
	uint32_t limit;    /* byte granular, already expanded by G */
	uint16_t selector;
	uint8_t type;      /* descriptor type field (4 bits) */
	uint8_t s;         /* 1 = code/data, 0 = system */
	uint8_t dpl;
	uint8_t present;
	uint8_t avl;
	uint8_t l;         /* 64-bit code segment */
	uint8_t db;        /* default operation size / big */
	uint8_t g;
	uint8_t unusable;  /* null selector loaded (VMX "unusable") */
};

struct x86_dtable {
	uint64_t base;
	uint16_t limit;
};

enum x86_seg { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_COUNT };

struct x86_sregs {
	struct x86_segment seg[SEG_COUNT]; /* indexed by enum x86_seg */
	struct x86_segment tr, ldt;
	struct x86_dtable gdt, idt;
	uint64_t cr0, cr2, cr3, cr4, cr8;
	uint64_t efer;
	uint64_t apic_base;
};

/* x87/SSE state in FXSAVE layout order. */
struct x86_fpu {
	uint16_t fcw, fsw;
	uint8_t ftw;       /* abridged tag word as in FXSAVE */
	uint16_t fop;
	uint64_t fip, fdp;
	uint32_t mxcsr;
	uint8_t st[8][16]; /* 80-bit registers, 16-byte slots */
	uint8_t xmm[16][16];
};

struct x86_msr {
	uint32_t index;
	uint64_t value;
};

/* Architectural constants used across ringvm. */
#define X86_CR0_PE (1ULL << 0)
#define X86_CR0_MP (1ULL << 1)
#define X86_CR0_EM (1ULL << 2)
#define X86_CR0_TS (1ULL << 3)
#define X86_CR0_ET (1ULL << 4)
#define X86_CR0_NE (1ULL << 5)
#define X86_CR0_WP (1ULL << 16)
#define X86_CR0_AM (1ULL << 18)
#define X86_CR0_NW (1ULL << 29)
#define X86_CR0_CD (1ULL << 30)
#define X86_CR0_PG (1ULL << 31)

#define X86_CR4_PSE (1ULL << 4)
#define X86_CR4_PAE (1ULL << 5)
#define X86_CR4_PGE (1ULL << 7)
#define X86_CR4_OSFXSR (1ULL << 9)
#define X86_CR4_OSXMMEXCPT (1ULL << 10)

#define X86_EFER_SCE (1ULL << 0)
#define X86_EFER_LME (1ULL << 8)
#define X86_EFER_LMA (1ULL << 10)
#define X86_EFER_NXE (1ULL << 11)

#define X86_RFLAGS_CF (1ULL << 0)
#define X86_RFLAGS_FIXED (1ULL << 1)
#define X86_RFLAGS_PF (1ULL << 2)
#define X86_RFLAGS_AF (1ULL << 4)
#define X86_RFLAGS_ZF (1ULL << 6)
#define X86_RFLAGS_SF (1ULL << 7)
#define X86_RFLAGS_TF (1ULL << 8)
#define X86_RFLAGS_IF (1ULL << 9)
#define X86_RFLAGS_DF (1ULL << 10)
#define X86_RFLAGS_OF (1ULL << 11)

#define MSR_IA32_TSC 0x10
#define MSR_IA32_APIC_BASE 0x1b
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_IA32_CR_PAT 0x277
#define MSR_EFER 0xc0000080
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SFMASK 0xc0000084
#define MSR_FS_BASE 0xc0000100
#define MSR_GS_BASE 0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_TSC_AUX 0xc0000103

/* Print registers in one readable block (used for fatal-error reports). */
#include <stdio.h>
void x86_state_dump(FILE *out, const struct x86_regs *r, const struct x86_sregs *s);

#endif
