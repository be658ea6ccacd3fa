/* One 64-bit vCPU on the real shadow TLB over 16 MiB of guest RAM
 * (identity-mapped in 1 GiB pages), and pairs of them running the same
 * code interpreted and translated: the set-up shared by the translator's
 * unit tests on the MMU (test_jit_tlb.c, test_jit_vex.c).  Each test file
 * defines vm_up (vm_up_env with its own environment, then what its cases
 * need); pair_run calls it.  Include after <cmocka.h>. */
#ifndef RINGVM_TESTS_SOFT_MMU_JIT_PAIR_H
#define RINGVM_TESTS_SOFT_MMU_JIT_PAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu/soft/jit/jit.h"
#include "cpu/soft/mmu/soft_mmu.h"

#define CODE 0x100000  /* where the code goes; RIP starts there */
#define DATA 0x200000
#define PML4 0x10000
#define PDPT 0x11000
#define JIT_PAIR_DEV 0xd0000000 /* the counting device's page (vm1_env.dev) */

#define CODE_OF(name) name, (size_t)(name##_end - name)

struct vm1 {
	struct gmem mem;
	struct bus mmio;
	struct soft_cpu cpu;
	struct soft_mmu mmu;
	struct soft_code_tracker code;
	uint64_t mmio_reads; /* reads of the device at JIT_PAIR_DEV */
};

/* What differs between the test files' VMs. */
struct vm1_env {
	uint64_t cr4;     /* besides CR4.PAE */
	uint64_t fs_base;
	uint64_t xcr0;    /* 0: left as soft_cpu_init sets it */
	bool dev;         /* a device at JIT_PAIR_DEV (reads count, writes vanish) */
};

/* v zeroed and made: 64-bit mode at CPL 0 with paging (CR0.WP), flat
 * segments, RIP = CODE holding code, RFLAGS = 2, RSP = 0x80000, the code
 * tracker (without it no slot grants inline stores), and with jit a 1 MiB
 * translation cache on the MMU's TLB. */
void vm_up_env(struct vm1 *v, bool jit, const uint8_t *code, size_t len, const struct vm1_env *env);

/* The test file's own: vm_up_env and what its cases need. */
void vm_up(struct vm1 *v, bool jit, const uint8_t *code, size_t len);

void vm_down(struct vm1 *v);

/* a (interpreted) and b (translated) alike: general registers, RIP,
 * icount, RFLAGS, all 256 bits of every YMM register. */
void same_state(struct vm1 *a, struct vm1 *b);

/* Two VMs running the same code from CODE: v[0] interpreted, v[1]
 * translated; st[k] how each run stopped. */
struct pair {
	struct vm1 *v[2];
	int st[2];
};

/* Prepares one VM of a pair before it runs (both get the same). */
typedef void pair_setup_fn(struct vm1 *v, const void *arg);

/* Run code in a pair, each VM prepared by setup(v, arg) (NULL: nothing
 * more than vm_up) and run for at most budget instructions: both must stop
 * with want_status and in the same state.  The caller checks what its
 * case is about, then frees the pair with pair_free. */
void pair_run(struct pair *p, const uint8_t *code, size_t len, pair_setup_fn *setup, const void *arg,
	      uint64_t budget, int want_status);

void pair_free(struct pair *p);

/* The pair's guest memory at [gpa, gpa + len) is the same in both. */
void pair_same_memory(struct pair *p, uint64_t gpa, size_t len);

#endif
