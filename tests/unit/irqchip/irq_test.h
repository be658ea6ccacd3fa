/* Shared fixture for the soft irqchip tests: a VM with just the two buses,
 * the board's PIC/PIT/IOAPIC on them and the soft LAPICs connected to it,
 * both on a fake clock, and port/MMIO helpers. */
#ifndef IRQ_TEST_H
#define IRQ_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "irqchip.h"
#include "ringvm/vm.h"

struct fx {
	struct vm vm;
	struct board_irqchip *b;
	struct soft_irqchip *c;
	uint64_t now;          /* the fake clock, ns */
	unsigned wakes[MAX_VCPUS];
};

static inline uint64_t fx_clock(void *opaque)
{
	return ((struct fx *)opaque)->now;
}

static inline void fx_wake(void *opaque, unsigned cpu)
{
	((struct fx *)opaque)->wakes[cpu]++;
}

static inline struct fx *fx_new_hz(unsigned ncpus, uint64_t tsc_hz)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->now = 1000000000ULL;  /* start at 1 s */
	assert_int_equal(bus_init(&f->vm.pio, BUS_PIO), 0);
	assert_int_equal(bus_init(&f->vm.mmio, BUS_MMIO), 0);
	struct board_irqchip_config bcfg = { .clock = fx_clock, .clock_opaque = f };
	f->b = board_irqchip_create(&f->vm, &bcfg);
	assert_non_null(f->b);
	f->vm.irqchip = f->b;
	f->vm.irq = *board_irqchip_router(f->b);
	struct soft_irqchip_config cfg = {
		.nr_vcpus = ncpus, .clock = fx_clock, .clock_opaque = f, .tsc_hz = tsc_hz,
		.board = f->b,
	};
	f->c = soft_irqchip_create_cfg(&f->vm, &cfg);
	assert_non_null(f->c);
	soft_irqchip_set_wake(f->c, fx_wake, f);
	return f;
}

static inline struct fx *fx_new(unsigned ncpus)
{
	return fx_new_hz(ncpus, 0);
}

static inline void fx_free(struct fx *f)
{
	soft_irqchip_destroy(f->c);
	board_irqchip_destroy(f->b);
	bus_destroy(&f->vm.pio);
	bus_destroy(&f->vm.mmio);
	free(f);
}

static inline void outb(struct fx *f, uint16_t port, uint8_t v)
{
	assert_int_equal(bus_write(&f->vm.pio, port, 1, v), 0);
}

static inline uint8_t inb(struct fx *f, uint16_t port)
{
	uint64_t v = 0;
	assert_int_equal(bus_read(&f->vm.pio, port, 1, &v), 0);
	return (uint8_t)v;
}

static inline void ioapic_w(struct fx *f, uint32_t reg, uint32_t v)
{
	assert_int_equal(bus_write(&f->vm.mmio, LAYOUT_IOAPIC, 4, reg), 0);
	assert_int_equal(bus_write(&f->vm.mmio, LAYOUT_IOAPIC + 0x10, 4, v), 0);
}

static inline uint32_t ioapic_r(struct fx *f, uint32_t reg)
{
	uint64_t v = 0;
	assert_int_equal(bus_write(&f->vm.mmio, LAYOUT_IOAPIC, 4, reg), 0);
	assert_int_equal(bus_read(&f->vm.mmio, LAYOUT_IOAPIC + 0x10, 4, &v), 0);
	return (uint32_t)v;
}

static inline void apic_w(struct fx *f, unsigned cpu, unsigned off, uint32_t v)
{
	soft_lapic_mmio_write(f->c, cpu, off, 4, v);
}

static inline uint32_t apic_r(struct fx *f, unsigned cpu, unsigned off)
{
	return (uint32_t)soft_lapic_mmio_read(f->c, cpu, off, 4);
}

/* Linux's 8259 setup: master at 0x20, slave at 0x28, cascade on IRQ2. */
static inline void pic_init_linux(struct fx *f, uint8_t icw4)
{
	outb(f, 0x20, 0x11); outb(f, 0x21, 0x20); outb(f, 0x21, 0x04); outb(f, 0x21, icw4);
	outb(f, 0xa0, 0x11); outb(f, 0xa1, 0x28); outb(f, 0xa1, 0x02); outb(f, 0xa1, icw4);
	outb(f, 0x21, 0x00);
	outb(f, 0xa1, 0x00);
}

#endif
