/* LOCK-prefixed instructions are atomic across vCPUs: two soft CPUs on two
 * host threads hammer one word; no update may be lost. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <string.h>

#include "cpu/soft/mmu/soft_mmu.h"
#include "ringvm/compiler.h"

#define ITER 1000000u

struct worker {
	struct soft_cpu cpu;
	struct soft_mmu mmu;
	int status;
};

static void flat32(struct x86_sregs *s)
{
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < SEG_COUNT; i++) {
		struct x86_segment *g = &s->seg[i];
		g->limit = 0xffffffff;
		g->type = i == SEG_CS ? 0xb : 0x3;
		g->s = g->present = g->db = g->g = 1;
		g->selector = i == SEG_CS ? 0x10 : 0x18;
	}
	s->tr.type = 0xb;
	s->tr.present = 1;
	s->tr.limit = 0x67;
	s->cr0 = X86_CR0_PE | X86_CR0_ET;
}

static void *run_worker(void *arg)
{
	struct worker *w = arg;
	uint64_t done;
	int r;
	do
		r = soft_cpu_run(&w->cpu, 1u << 30, &done);
	while (r == SOFT_STOP || r == SOFT_OK);
	w->status = r;
	return NULL;
}

static void start(struct worker *w, struct gmem *mem, struct bus *mmio, uint64_t code)
{
	struct x86_sregs s;
	struct x86_regs r;
	memset(w, 0, sizeof(*w));
	assert_int_equal(soft_cpu_init(&w->cpu, &soft_mmu_ops, &w->mmu, true), 0);
	soft_mmu_init(&w->mmu, &w->cpu, mem, mmio, NULL);
	flat32(&s);
	soft_cpu_set_sregs(&w->cpu, &s);
	memset(&r, 0, sizeof(r));
	r.rip = code;
	r.rflags = 2;
	r.gpr[GPR_RCX] = ITER;
	r.gpr[GPR_RSP] = 0x8000;
	soft_cpu_set_regs(&w->cpu, &r);
	soft_cpu_update_mode(&w->cpu);
}

static void hammer(const uint8_t *body, size_t body_len, uint32_t want)
{
	struct gmem mem;
	struct bus mmio;
	struct gmem_opts o = { .ram_size = 16 * MiB };
	struct worker a, b;
	pthread_t ta, tb;
	uint8_t code[64];
	size_t n = 0;

	assert_int_equal(gmem_init(&mem, &o), 0);
	assert_int_equal(bus_init(&mmio, BUS_MMIO), 0);
	/* loop: BODY; dec ecx; jnz loop; hlt */
	memcpy(code, body, body_len);
	n = body_len;
	code[n++] = 0x49;
	code[n++] = 0x75;
	code[n] = (uint8_t)(-(int)(n + 1));
	n++;
	code[n++] = 0xf4;
	assert_int_equal(gmem_write(&mem, 0x1000, code, n), 0);
	assert_int_equal(gmem_write_u32(&mem, 0x2000, 0), 0);
	start(&a, &mem, &mmio, 0x1000);
	start(&b, &mem, &mmio, 0x1000);
	pthread_create(&ta, NULL, run_worker, &a);
	pthread_create(&tb, NULL, run_worker, &b);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	assert_int_equal(a.status, SOFT_HLT);
	assert_int_equal(b.status, SOFT_HLT);
	uint32_t v = 0;
	gmem_read_u32(&mem, 0x2000, &v);
	assert_int_equal(v, want);
	soft_cpu_destroy(&a.cpu);
	soft_cpu_destroy(&b.cpu);
	bus_destroy(&mmio);
	gmem_destroy(&mem);
}

static void test_lock_add(void **state)
{
	(void)state;
	/* lock add dword [0x2000], 1 */
	static const uint8_t body[] = { 0xf0, 0x83, 0x05, 0x00, 0x20, 0x00, 0x00, 0x01 };
	hammer(body, sizeof(body), 2 * ITER);
}

static void test_lock_xadd_and_cmpxchg_loop(void **state)
{
	(void)state;
	/* mov eax, 1; lock xadd [0x2000], eax */
	static const uint8_t xadd[] = { 0xb8, 0x01, 0, 0, 0, 0xf0, 0x0f, 0xc1, 0x05, 0x00, 0x20, 0x00, 0x00 };
	hammer(xadd, sizeof(xadd), 2 * ITER);
	/* retry: mov eax,[0x2000]; lea edx,[eax+1]; lock cmpxchg [0x2000],edx; jnz retry */
	static const uint8_t cas[] = { 0xa1, 0x00, 0x20, 0x00, 0x00, 0x8d, 0x50, 0x01,
				       0xf0, 0x0f, 0xb1, 0x15, 0x00, 0x20, 0x00, 0x00, 0x75, 0xee };
	hammer(cas, sizeof(cas), 2 * ITER);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lock_add),
		cmocka_unit_test(test_lock_xadd_and_cmpxchg_loop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
