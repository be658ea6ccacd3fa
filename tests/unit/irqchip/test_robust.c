/* Hostile guests: random register writes everywhere (fixed seed), then the
 * chip must still answer sanely; and a multi-threaded smoke test. */
#include <pthread.h>

#include "irq_test.h"

static uint64_t rng(uint64_t *s)
{
	/* xorshift64* */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static const uint16_t ports[] = { 0x20, 0x21, 0xa0, 0xa1, 0x40, 0x41, 0x42, 0x43,
				  0x61, 0x4d0, 0x4d1 };

static void check_sane(struct fx *f, unsigned ncpu)
{
	for (unsigned c = 0; c < ncpu; c++) {
		int v = soft_irqchip_pending(f->c, c, true);
		assert_true(v >= -1 && v <= 255);
		v = soft_irqchip_ack(f->c, c, v);
		assert_true(v >= -1 && v <= 255);
		uint64_t d = soft_irqchip_next_deadline_ns(f->c, c);
		assert_true(d == SOFT_NO_DEADLINE || d >= 1000000000ULL);
		unsigned a = soft_irqchip_attention(f->c, c);
		assert_int_equal(a & ~0xfu, 0);
	}
}

static void test_random_writes(void **state)
{
	(void)state;
	const unsigned ncpu = 4;
	struct fx *f = fx_new(ncpu);
	uint64_t s = 0x1234567887654321ULL;
	for (int i = 0; i < 400000; i++) {
		uint64_t r = rng(&s), v = rng(&s);
		unsigned cpu = (unsigned)(r >> 40) % ncpu;
		switch (r % 12) {
		case 0: case 1: case 2:
			outb(f, ports[(r >> 8) % ARRAY_SIZE(ports)], (uint8_t)v);
			break;
		case 3:
			(void)inb(f, ports[(r >> 8) % ARRAY_SIZE(ports)]);
			break;
		case 4: {
			uint64_t off = (r >> 8) & 0x4c;
			unsigned size = 1u << ((r >> 16) % 3);
			if (off % size)
				off &= ~(uint64_t)(size - 1);
			assert_int_equal(bus_write(&f->vm.mmio, LAYOUT_IOAPIC + off, size, v), 0);
			uint64_t x;
			assert_int_equal(bus_read(&f->vm.mmio, LAYOUT_IOAPIC + (v & 0xfff & ~3ULL), 4, &x), 0);
			break;
		}
		case 5: case 6:
			soft_lapic_mmio_write(f->c, cpu, (r >> 8) & 0xfff, 1u << ((r >> 20) % 4), v);
			(void)soft_lapic_mmio_read(f->c, cpu, v & 0xfff, 1u << ((r >> 24) % 4));
			break;
		case 7: {
			uint32_t msr = (r >> 8) & 1 ? 0x800 + ((r >> 9) & 0xff)
						   : ((r >> 9) & 1 ? MSR_IA32_TSC_DEADLINE : MSR_IA32_APICBASE);
			uint64_t x;
			int rc = soft_irqchip_wrmsr(f->c, cpu, msr, (r >> 12) & 1 ? v : (v & 0xfff0000ff));
			assert_true(rc == 0 || rc == -22);
			rc = soft_irqchip_rdmsr(f->c, cpu, msr, &x);
			assert_true(rc == 0 || rc == -22);
			break;
		}
		case 8:
			board_irqchip_set_irq(f->b, (unsigned)(v % 24), r & 0x100);
			break;
		case 9:
			f->now += v % 200000;
			if (soft_irqchip_poll_due(f->c, f->now))
				soft_irqchip_poll(f->c, f->now);
			break;
		case 10:
			(void)soft_irqchip_take(f->c, cpu, true);
			(void)soft_irqchip_take_nmi(f->c, cpu);
			(void)soft_irqchip_take_init(f->c, cpu);
			(void)soft_irqchip_take_sipi(f->c, cpu);
			break;
		default:
			if ((v & 0xffff) == 0)
				soft_irqchip_reset(f->c);
			else
				check_sane(f, ncpu);
			break;
		}
	}
	check_sane(f, ncpu);
	/* after all that, a clean reset gives a working machine */
	soft_irqchip_reset(f->c);
	for (unsigned g = 0; g < 24; g++)
		board_irqchip_set_irq(f->b, g, false);
	pic_init_linux(f, 0x01);
	board_irqchip_set_irq(f->b, 1, true);
	assert_int_equal(soft_irqchip_take(f->c, 0, true), 0x21);
	fx_free(f);
}

struct thr {
	struct fx *f;
	int id;
	_Atomic int *done;
};

static void *irq_thread(void *arg)
{
	struct thr *t = arg;
	for (int i = 0; i < 20000; i++) {
		board_irqchip_set_irq(t->f->b, 3 + (unsigned)t->id, true);
		board_irqchip_set_irq(t->f->b, 3 + (unsigned)t->id, false);
	}
	atomic_fetch_add(t->done, 1);
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	struct fx *f = fx_new(2);
	pic_init_linux(f, 0x03);                        /* auto-EOI */
	pthread_t th[2];
	_Atomic int done = 0;
	struct thr args[2] = { { f, 0, &done }, { f, 1, &done } };
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, irq_thread, &args[i]), 0);
	unsigned got = 0;
	while (atomic_load(&done) < 2) {
		if (soft_irqchip_need_check(f->c, 0, true)) {
			int v = soft_irqchip_take(f->c, 0, true);
			if (v == 0x23 || v == 0x24)
				got++;
			else
				assert_true(v == -1 || v == 0x27);
		}
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	/* edges latched after the last check are still there */
	for (int i = 0; i < 4; i++) {
		int v = soft_irqchip_take(f->c, 0, true);
		if (v == 0x23 || v == 0x24)
			got++;
	}
	assert_true(got > 0);
	assert_int_equal(soft_irqchip_take(f->c, 0, true), -1);
	fx_free(f);
}

/* Level-triggered IOAPIC pins toggled by device threads while two vCPU
 * threads take their vectors and EOI them: the board's lock is taken before
 * the LAPICs' on delivery and the EOI broadcast runs after the LAPICs'
 * unlock, so this neither deadlocks nor races (run under TSan too), and
 * every remote IRR is clear once the lines are low and all is EOIed. */
struct lvl {
	struct fx *f;
	unsigned id;
	_Atomic int *done;
	unsigned got;
};

static void *level_dev_thread(void *arg)
{
	struct lvl *t = arg;
	for (int i = 0; i < 20000; i++) {
		board_irqchip_set_irq(t->f->b, 16 + t->id, true);
		board_irqchip_set_irq(t->f->b, 16 + t->id, false);
	}
	atomic_fetch_add(t->done, 1);
	return NULL;
}

static void *level_cpu_thread(void *arg)
{
	struct lvl *t = arg;
	while (atomic_load(t->done) < 2) {
		if (soft_irqchip_need_check(t->f->c, t->id, true)) {
			int v = soft_irqchip_take(t->f->c, t->id, true);
			if (v >= 0) {
				t->got += v == 0x50 + (int)t->id;
				soft_lapic_mmio_write(t->f->c, t->id, 0xb0, 4, 0);  /* EOI */
			}
		}
	}
	return NULL;
}

static void test_threads_level(void **state)
{
	(void)state;
	struct fx *f = fx_new(2);
	/* start the AP: INIT, SIPI (it waits for SIPI from power-on) */
	apic_w(f, 0, 0x310, 1u << 24);
	apic_w(f, 0, 0x300, 0xc500);
	assert_true(soft_irqchip_take_init(f->c, 1));
	apic_w(f, 0, 0x300, 0x0609);
	assert_int_equal(soft_irqchip_take_sipi(f->c, 1), 9);
	for (unsigned cpu = 0; cpu < 2; cpu++) {
		apic_w(f, cpu, 0xf0, 0x1ff);                /* software enable */
		ioapic_w(f, 0x11 + 2 * (16 + cpu), cpu << 24);
		ioapic_w(f, 0x10 + 2 * (16 + cpu), (1u << 15) | (0x50 + cpu));
	}
	_Atomic int done = 0;
	struct lvl dev[2] = { { f, 0, &done, 0 }, { f, 1, &done, 0 } };
	struct lvl cpu[2] = { { f, 0, &done, 0 }, { f, 1, &done, 0 } };
	pthread_t th[4];
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pthread_create(&th[i], NULL, level_cpu_thread, &cpu[i]), 0);
		assert_int_equal(pthread_create(&th[2 + i], NULL, level_dev_thread, &dev[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	for (unsigned c = 0; c < 2; c++) {
		int v;
		while ((v = soft_irqchip_take(f->c, c, true)) >= 0) {
			cpu[c].got += v == 0x50 + (int)c;
			apic_w(f, c, 0xb0, 0);
		}
		assert_true(cpu[c].got > 0);
		assert_false(ioapic_r(f, 0x10 + 2 * (16 + c)) & (1u << 14));  /* remote IRR */
		assert_int_equal(soft_irqchip_attention(f->c, c), 0);
	}
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_writes),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_threads_level),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
