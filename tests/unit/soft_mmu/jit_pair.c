/* The translator's MMU unit tests' shared set-up (jit_pair.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "jit_pair.h"

#include "ringvm/compiler.h"

static uint64_t dev_read(void *opaque, uint64_t off, unsigned size)
{
	struct vm1 *v = opaque;
	v->mmio_reads++;
	return 0x1122334455667788ULL + off;
}

static void dev_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
}

void vm_up_env(struct vm1 *v, bool jit, const uint8_t *code, size_t len, const struct vm1_env *env)
{
	struct gmem_opts o = { .ram_size = 16 * MiB };
	memset(v, 0, sizeof(*v));
	assert_int_equal(gmem_init(&v->mem, &o), 0);
	assert_int_equal(bus_init(&v->mmio, BUS_MMIO), 0);
	if (env->dev) {
		static const struct bus_ops ops = { .read = dev_read, .write = dev_write };
		assert_int_equal(bus_register(&v->mmio, JIT_PAIR_DEV, 0x1000, &ops, v, "dev"), 0);
	}
	/* identity map of the first 512 GiB in 1 GiB pages (P RW US PS) */
	for (uint64_t i = 0; i < 512; i++)
		assert_int_equal(gmem_write_u64(&v->mem, PDPT + 8 * i, (i << 30) | 0x87), 0);
	assert_int_equal(gmem_write_u64(&v->mem, PML4, PDPT | 0x7), 0);
	assert_int_equal(gmem_write(&v->mem, CODE, code, len), 0);
	assert_int_equal(soft_cpu_init(&v->cpu, &soft_mmu_ops, &v->mmu, true), 0);
	soft_mmu_init(&v->mmu, &v->cpu, &v->mem, &v->mmio, NULL);
	/* the code tracker tells which pages hold code: without it no slot
	 * grants inline stores */
	assert_int_equal(soft_code_tracker_init(&v->code, o.ram_size), 0);
	v->mmu.code = &v->code;
	if (jit) {
		v->cpu.jit = soft_jit_new(1u << 20, 0);
		assert_non_null(v->cpu.jit);
		v->cpu.jit_tlb = v->mmu.tlb;
	}
	struct x86_sregs s;
	memset(&s, 0, sizeof(s));
	for (int i = 0; i < SEG_COUNT; i++) {
		struct x86_segment *g = &s.seg[i];
		g->limit = 0xffffffff;
		g->type = i == SEG_CS ? 0xb : 0x3;
		g->s = g->present = g->g = 1;
		g->l = i == SEG_CS;
		g->db = i != SEG_CS;
		g->selector = i == SEG_CS ? 0x10 : 0x18;
	}
	s.seg[SEG_FS].base = env->fs_base;
	s.tr.type = 0xb;
	s.tr.present = 1;
	s.tr.limit = 0x67;
	s.cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_PG | X86_CR0_WP;
	s.cr3 = PML4;
	s.cr4 = X86_CR4_PAE | env->cr4;
	s.efer = X86_EFER_LME | X86_EFER_LMA;
	soft_cpu_set_sregs(&v->cpu, &s);
	soft_cpu_update_mode(&v->cpu);
	assert_int_equal(v->cpu.mode, SOFT_MODE_64);
	if (env->xcr0)
		v->cpu.xcr0 = env->xcr0;
	struct x86_regs r;
	memset(&r, 0, sizeof(r));
	r.rip = CODE;
	r.rflags = 2;
	r.gpr[GPR_RSP] = 0x80000;
	soft_cpu_set_regs(&v->cpu, &r);
}

void vm_down(struct vm1 *v)
{
	soft_cpu_destroy(&v->cpu);
	soft_code_tracker_destroy(&v->code);
	bus_destroy(&v->mmio);
	gmem_destroy(&v->mem);
}

void same_state(struct vm1 *a, struct vm1 *b)
{
	for (unsigned r = 0; r < GPR_COUNT; r++)
		if (a->cpu.gpr[r] != b->cpu.gpr[r])
			fail_msg("gpr %u: interpreted %#llx, translated %#llx", r,
				 (unsigned long long)a->cpu.gpr[r], (unsigned long long)b->cpu.gpr[r]);
	assert_int_equal(a->cpu.rip, b->cpu.rip);
	assert_int_equal(a->cpu.icount, b->cpu.icount);
	assert_int_equal(soft_get_rflags(&a->cpu), soft_get_rflags(&b->cpu));
	for (unsigned i = 0; i < 16; i++) {
		if (memcmp(&a->cpu.xmm[i], &b->cpu.xmm[i], 16))
			fail_msg("xmm%u (bits 127:0) differs", i);
		if (memcmp(&a->cpu.ymmh[i], &b->cpu.ymmh[i], 16))
			fail_msg("ymm%u bits 255:128 differ", i);
	}
}

void pair_run(struct pair *p, const uint8_t *code, size_t len, pair_setup_fn *setup, const void *arg,
	      uint64_t budget, int want_status)
{
	for (int k = 0; k < 2; k++) {
		p->v[k] = calloc(1, sizeof(*p->v[k]));
		assert_non_null(p->v[k]);
		vm_up(p->v[k], k == 1, code, len);
		if (setup)
			setup(p->v[k], arg);
		uint64_t done;
		p->st[k] = soft_cpu_run(&p->v[k]->cpu, budget, &done);
	}
	assert_int_equal(p->st[0], want_status);
	assert_int_equal(p->st[1], want_status);
	same_state(p->v[0], p->v[1]);
}

void pair_free(struct pair *p)
{
	for (int k = 0; k < 2; k++) {
		vm_down(p->v[k]);
		free(p->v[k]);
		p->v[k] = NULL;
	}
}

void pair_same_memory(struct pair *p, uint64_t gpa, size_t len)
{
	uint8_t *m0 = malloc(len), *m1 = malloc(len);
	assert_non_null(m0);
	assert_non_null(m1);
	assert_int_equal(gmem_read(&p->v[0]->mem, gpa, m0, len), 0);
	assert_int_equal(gmem_read(&p->v[1]->mem, gpa, m1, len), 0);
	assert_memory_equal(m0, m1, len);
	free(m0);
	free(m1);
}
