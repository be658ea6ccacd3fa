/* A soft CPU on a flat 1 MiB memory (flatmem.c) with flat segments in the
 * chosen mode, for the soft CPU's unit tests.  Code goes at FLAT_ENV_CODE;
 * RSP starts at FLAT_ENV_RSP.  Include after <cmocka.h>. */
#ifndef RINGVM_TEST_FLAT_ENV_H
#define RINGVM_TEST_FLAT_ENV_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "src/cpu/soft/cpu.h"
#include "src/cpu/soft/flatmem.h"

#define FLAT_ENV_CODE 0x1000
#define FLAT_ENV_MEM (1u << 20)
#define FLAT_ENV_RSP 0x80000

struct env {
	struct soft_flatmem m;
	struct soft_cpu c;
};

/* Flat 64 KiB (16-bit) or 4 GiB segments; CR0/EFER for the mode (paging
 * on in 64-bit mode only, which flatmem maps 1:1). */
static inline void set_mode(struct soft_cpu *c, enum soft_mode mode)
{
	for (int i = 0; i < SEG_COUNT; i++) {
		struct x86_segment *s = &c->seg[i];
		memset(s, 0, sizeof(*s));
		s->limit = mode == SOFT_MODE_16 ? 0xffff : 0xffffffff;
		s->type = i == SEG_CS ? 0xb : 0x3;
		s->s = 1;
		s->present = 1;
		s->db = mode == SOFT_MODE_32;
		s->l = i == SEG_CS && mode == SOFT_MODE_64;
		s->g = mode != SOFT_MODE_16;
	}
	if (mode == SOFT_MODE_16) {
		c->cr0 = 0;
		c->efer = 0;
	} else {
		c->cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE;
		c->efer = mode == SOFT_MODE_64 ? (X86_EFER_LME | X86_EFER_LMA) : 0;
		if (mode == SOFT_MODE_64)
			c->cr0 |= X86_CR0_PG;
	}
	soft_cpu_update_mode(c);
	assert_int_equal(c->mode, mode);
}

static inline struct env *env_new(enum soft_mode mode, bool icache)
{
	struct env *e = calloc(1, sizeof(*e));
	assert_non_null(e);
	assert_int_equal(soft_flatmem_init(&e->m, FLAT_ENV_MEM), 0);
	assert_int_equal(soft_cpu_init(&e->c, &soft_flatmem_ops, &e->m, icache), 0);
	set_mode(&e->c, mode);
	e->c.rip = FLAT_ENV_CODE;
	e->c.gpr[GPR_RSP] = FLAT_ENV_RSP;
	return e;
}

static inline void env_free(struct env *e)
{
	soft_cpu_destroy(&e->c);
	soft_flatmem_destroy(&e->m);
	free(e);
}

#endif
