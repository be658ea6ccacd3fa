/* The soft engine's interrupt chip: owns the PIC pair, PIT, IOAPIC and the
 * local APICs, registers their bus windows, implements the irq_router and
 * the per-vCPU queries the engine makes.  See irqchip.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "irqchip_priv.h"
#include "ringvm/clock.h"
#include "ringvm/log.h"
#include "ringvm/vm.h"

static uint64_t default_clock(void *opaque)
{
	(void)opaque;
	return clock_monotonic_ns();
}

uint64_t chip_now(struct soft_irqchip *c)
{
	return c->clock(c->clock_opaque);
}

uint64_t soft_irqchip_now(struct soft_irqchip *c)
{
	return chip_now(c);
}

void chip_lock(struct soft_irqchip *c)
{
	pthread_mutex_lock(&c->lock);
}

void chip_recompute_deadline(struct soft_irqchip *c)
{
	uint64_t next = i8254_next_deadline(&c->pit);
	for (unsigned i = 0; i < c->nr_vcpus; i++)
		if (c->lapic[i].timer_deadline_ns < next)
			next = c->lapic[i].timer_deadline_ns;
	atomic_store_explicit(&c->next_poll_ns, next, memory_order_relaxed);
	c->timers_dirty = false;
}

void chip_unlock(struct soft_irqchip *c)
{
	if (c->timers_dirty)
		chip_recompute_deadline(c);
	uint64_t wake = c->wake_mask;
	soft_wake_fn fn = c->wake;
	void *opaque = c->wake_opaque;
	c->wake_mask = 0;
	pthread_mutex_unlock(&c->lock);
	if (!fn)
		return;
	while (wake) {
		unsigned cpu = (unsigned)__builtin_ctzll(wake);
		wake &= wake - 1;
		fn(opaque, cpu);
	}
}

void chip_update_attention(struct soft_irqchip *c, unsigned cpu)
{
	struct soft_lapic *l = &c->lapic[cpu];
	unsigned a = 0;
	if (!l->wait_sipi && (lapic_highest_deliverable(l) >= 0 ||
			      (c->pic.output && lapic_accepts_pic(c, cpu))))
		a |= SOFT_ATTN_INTR;
	if (l->nmi_pending)
		a |= SOFT_ATTN_NMI;
	if (l->init_pending)
		a |= SOFT_ATTN_INIT;
	if (l->sipi_pending)
		a |= SOFT_ATTN_SIPI;
	unsigned old = atomic_load_explicit(&l->attention, memory_order_relaxed);
	if (a & ~old)
		c->wake_mask |= 1ULL << cpu;
	if (a != old)
		atomic_store_explicit(&l->attention, a, memory_order_release);
}

void chip_update_all_attention(struct soft_irqchip *c)
{
	for (unsigned i = 0; i < c->nr_vcpus; i++)
		chip_update_attention(c, i);
}

/* ---- Board device wiring ---------------------------------------------- */

/* The 8259 master's INT: IOAPIC pin 0 and (LINT0/ExtINT) every vCPU. */
void chip_pic_output(void *opaque, bool level)
{
	struct soft_irqchip *c = opaque;
	ioapic_set_irq(&c->ioapic, 0, level);
	chip_update_all_attention(c);
}

void chip_ioapic_deliver(void *opaque, const struct ioapic_msg *im)
{
	struct soft_irqchip *c = opaque;
	struct apic_msg m = apic_msg_from_ioapic(im);
	c->stats_irqs++;
	lapic_deliver(c, &m);
}

void chip_ioapic_extint(void *opaque)
{
	chip_update_all_attention(opaque);
}

/* ---- Interrupt lines --------------------------------------------------- */

void chip_set_irq_locked(struct soft_irqchip *c, unsigned gsi, bool level)
{
	if (gsi < LAYOUT_ISA_IRQS) {
		i8259_set_irq(&c->pic, gsi, level);
		/* The board's interrupt map (layout.h): ISA IRQ 0 is IOAPIC
		 * pin 2 (the interrupt source override); IOAPIC pin 0 is the
		 * PIC's INT output, IRQ 2 the cascade. */
		if (gsi != 2)
			ioapic_set_irq(&c->ioapic, board_isa_irq_gsi(gsi), level);
	} else {
		ioapic_set_irq(&c->ioapic, gsi, level);
	}
}

int soft_irqchip_set_irq(struct soft_irqchip *c, unsigned gsi, bool level)
{
	if (gsi >= SOFT_IOAPIC_PINS || gsi == 2)
		return -EINVAL;
	chip_lock(c);
	chip_set_irq_locked(c, gsi, level);
	chip_unlock(c);
	return 0;
}

static int router_set_level(void *opaque, unsigned gsi, bool level)
{
	return soft_irqchip_set_irq(opaque, gsi, level);
}

/* A message-signalled interrupt (Intel SDM vol. 3, 11.11): address
 * 0xFEEx_xxxx with destination ID in bits 19:12, redirection hint bit 3,
 * destination mode bit 2 (1 = logical); data with the vector in bits 7:0,
 * delivery mode 10:8, level 14 and trigger mode 15.  Delivered by the same
 * lapic_deliver() the IOAPIC uses, so there is one message path. */
int soft_irqchip_send_msi(struct soft_irqchip *c, uint64_t addr, uint32_t data)
{
	if ((addr & ~(LAYOUT_MSI_ADDR_SIZE - 1)) != LAYOUT_MSI_ADDR)
		return -EINVAL;
	uint8_t mode = (uint8_t)((data >> 8) & 7);
	bool level = data & (1u << 15);
	if (mode == DM_SIPI || mode == 3 || (level && !(data & (1u << 14))))
		return 0;  /* reserved modes, a level de-assert: nothing to deliver */
	struct apic_msg m = {
		.dest = (uint32_t)(addr >> 12) & 0xff,
		.logical = addr & (1u << 2),
		.mode = mode,
		.vector = (uint8_t)data,
		.level = level,
		.assert = true,
		.src = -1,
	};
	chip_lock(c);
	c->stats_msis++;
	lapic_deliver(c, &m);
	chip_unlock(c);
	return 0;
}

static int router_send_msi(void *opaque, uint64_t addr, uint32_t data)
{
	return soft_irqchip_send_msi(opaque, addr, data);
}

const struct irq_router *soft_irqchip_router(struct soft_irqchip *c)
{
	return &c->router;
}

void soft_irqchip_set_wake(struct soft_irqchip *c, soft_wake_fn fn, void *opaque)
{
	chip_lock(c);
	c->wake = fn;
	c->wake_opaque = opaque;
	chip_unlock(c);
}

/* ---- Bus windows ------------------------------------------------------- */

static uint64_t pic_io_read(void *opaque, uint64_t off, unsigned size)
{
	struct soft_irqchip *c = opaque;
	(void)size;
	chip_lock(c);
	uint8_t v = i8259_read(&c->pic, 0, (unsigned)off);
	chip_unlock(c);
	return v;
}

static void pic_io_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct soft_irqchip *c = opaque;
	(void)size;
	chip_lock(c);
	i8259_write(&c->pic, 0, (unsigned)off, (uint8_t)v);
	chip_unlock(c);
}

static uint64_t pic2_io_read(void *opaque, uint64_t off, unsigned size)
{
	struct soft_irqchip *c = opaque;
	(void)size;
	chip_lock(c);
	uint8_t v = i8259_read(&c->pic, 1, (unsigned)off);
	chip_unlock(c);
	return v;
}

static void pic2_io_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct soft_irqchip *c = opaque;
	(void)size;
	chip_lock(c);
	i8259_write(&c->pic, 1, (unsigned)off, (uint8_t)v);
	chip_unlock(c);
}

static uint64_t elcr_read(void *opaque, uint64_t off, unsigned size)
{
	struct soft_irqchip *c = opaque;
	uint64_t v = 0;
	chip_lock(c);
	for (unsigned i = 0; i < size && off + i < 2; i++)
		v |= (uint64_t)c->pic.chip[off + i].elcr << (8 * i);
	chip_unlock(c);
	return v;
}

static void elcr_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct soft_irqchip *c = opaque;
	chip_lock(c);
	for (unsigned i = 0; i < size && off + i < 2; i++) {
		struct i8259 *p = &c->pic.chip[off + i];
		p->elcr = (uint8_t)(v >> (8 * i)) & p->elcr_mask;
		/* Re-evaluate requests under the new trigger modes. */
		for (unsigned irq = 0; irq < 8; irq++)
			if (p->elcr & (1u << irq)) {
				if (p->lines & (1u << irq))
					p->irr |= (uint8_t)(1u << irq);
				else
					p->irr &= (uint8_t)~(1u << irq);
			}
	}
	i8259_update(&c->pic);
	chip_unlock(c);
}

static uint64_t pit_io_read(void *opaque, uint64_t off, unsigned size)
{
	struct soft_irqchip *c = opaque;
	(void)size;
	chip_lock(c);
	uint8_t v = i8254_read(&c->pit, (unsigned)off, chip_now(c));
	chip_unlock(c);
	return v;
}

static void pit_io_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct soft_irqchip *c = opaque;
	(void)size;
	chip_lock(c);
	i8254_write(&c->pit, (unsigned)off, (uint8_t)v, chip_now(c));
	c->timers_dirty = true;
	chip_unlock(c);
}

static uint64_t port61_read(void *opaque, uint64_t off, unsigned size)
{
	struct soft_irqchip *c = opaque;
	(void)off;
	(void)size;
	chip_lock(c);
	uint8_t v = i8254_port61_read(&c->pit, chip_now(c));
	chip_unlock(c);
	return v;
}

static void port61_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct soft_irqchip *c = opaque;
	(void)off;
	(void)size;
	chip_lock(c);
	i8254_port61_write(&c->pit, (uint8_t)v, chip_now(c));
	chip_unlock(c);
}

static uint64_t ioapic_io_read(void *opaque, uint64_t off, unsigned size)
{
	struct soft_irqchip *c = opaque;
	chip_lock(c);
	uint32_t v = ioapic_mmio_read(&c->ioapic, off & ~3ULL);
	chip_unlock(c);
	v >>= 8 * (off & 3);
	return size >= 4 ? v : v & ((1u << (8 * size)) - 1);
}

static void ioapic_io_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct soft_irqchip *c = opaque;
	/* IOREGSEL may be written with a byte access; IOWIN/EOI need dwords. */
	if ((off & 3) || (size < 4 && off != 0))
		return;
	chip_lock(c);
	ioapic_mmio_write(&c->ioapic, off, (uint32_t)v);
	chip_unlock(c);
}

static const struct bus_ops pic_ops = { pic_io_read, pic_io_write };
static const struct bus_ops pic2_ops = { pic2_io_read, pic2_io_write };
static const struct bus_ops elcr_ops = { elcr_read, elcr_write };
static const struct bus_ops pit_ops = { pit_io_read, pit_io_write };
static const struct bus_ops port61_ops = { port61_read, port61_write };
static const struct bus_ops ioapic_ops = { ioapic_io_read, ioapic_io_write };

struct window {
	bool mmio;
	uint64_t base, len;
	const struct bus_ops *ops;
	const char *name;
};

static const struct window windows[] = {
	{ false, PORT_PIC_MASTER, 2, &pic_ops, "pic-master" },
	{ false, PORT_PIC_SLAVE, 2, &pic2_ops, "pic-slave" },
	{ false, 0x4d0, 2, &elcr_ops, "elcr" },
	{ false, PORT_PIT, 4, &pit_ops, "pit" },
	{ false, 0x61, 1, &port61_ops, "port61" },
	{ true, LAYOUT_IOAPIC, LAYOUT_IOAPIC_SIZE, &ioapic_ops, "ioapic" },
};

static void unregister_windows(struct soft_irqchip *c, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		bus_unregister(windows[i].mmio ? &c->vm->mmio : &c->vm->pio, windows[i].base);
}

/* ---- Lifecycle --------------------------------------------------------- */

static void reset_locked(struct soft_irqchip *c)
{
	/* Input line levels survive: devices still drive them. */
	uint8_t lines0 = c->pic.chip[0].lines, lines1 = c->pic.chip[1].lines;
	c->pic.chip[0].elcr = c->pic.chip[1].elcr = 0;
	i8259_reset(&c->pic.chip[0], true);
	i8259_reset(&c->pic.chip[1], false);
	c->pic.chip[0].lines = lines0;
	c->pic.chip[1].lines = lines1;
	i8254_reset(&c->pit);
	ioapic_reset(&c->ioapic);
	for (unsigned i = 0; i < c->nr_vcpus; i++)
		lapic_reset(c, &c->lapic[i], true);
	c->pic.output = false;
	i8259_update(&c->pic);
	chip_update_all_attention(c);
	c->timers_dirty = true;
}

struct soft_irqchip *soft_irqchip_create_cfg(struct vm *vm,
					     const struct soft_irqchip_config *cfg)
{
	if (!cfg || cfg->nr_vcpus == 0 || cfg->nr_vcpus > MAX_VCPUS) {
		pr_err("soft irqchip: bad vCPU count %u", cfg ? cfg->nr_vcpus : 0);
		return NULL;
	}
	struct soft_irqchip *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->lapic = calloc(cfg->nr_vcpus, sizeof(*c->lapic));
	if (!c->lapic) {
		free(c);
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	c->vm = vm;
	c->nr_vcpus = cfg->nr_vcpus;
	c->clock = cfg->clock ? cfg->clock : default_clock;
	c->clock_opaque = cfg->clock_opaque;
	c->tsc_hz = cfg->tsc_hz ? cfg->tsc_hz : SOFT_TSC_HZ_DEFAULT;
	c->tsc_epoch_ns = chip_now(c);
	c->router.set_level = router_set_level;
	c->router.opaque = c;
	c->router.send_msi = router_send_msi;
	c->pic.output_changed = chip_pic_output;
	c->pic.opaque = c;
	c->ioapic.deliver = chip_ioapic_deliver;
	c->ioapic.extint_changed = chip_ioapic_extint;
	c->ioapic.opaque = c;
	for (unsigned i = 0; i < c->nr_vcpus; i++) {
		c->lapic[i].idx = i;
		atomic_init(&c->lapic[i].attention, 0);
	}
	atomic_init(&c->next_poll_ns, SOFT_NO_DEADLINE);
	chip_lock(c);
	reset_locked(c);
	chip_unlock(c);

	if (vm && !cfg->no_bus) {
		for (unsigned i = 0; i < ARRAY_SIZE(windows); i++) {
			const struct window *w = &windows[i];
			int r = bus_register(w->mmio ? &vm->mmio : &vm->pio, w->base, w->len,
					     w->ops, c, w->name);
			if (r < 0) {
				pr_err("soft irqchip: cannot register %s: %d", w->name, r);
				unregister_windows(c, i);
				pthread_mutex_destroy(&c->lock);
				free(c->lapic);
				free(c);
				return NULL;
			}
		}
		c->registered = true;
	}
	return c;
}

struct soft_irqchip *soft_irqchip_create(struct vm *vm, unsigned nr_vcpus,
					 soft_clock_fn clock, void *clock_opaque)
{
	struct soft_irqchip_config cfg = {
		.nr_vcpus = nr_vcpus, .clock = clock, .clock_opaque = clock_opaque,
	};
	return soft_irqchip_create_cfg(vm, &cfg);
}

void soft_irqchip_destroy(struct soft_irqchip *c)
{
	if (!c)
		return;
	if (c->registered)
		unregister_windows(c, ARRAY_SIZE(windows));
	pthread_mutex_destroy(&c->lock);
	free(c->lapic);
	free(c);
}

void soft_irqchip_reset(struct soft_irqchip *c)
{
	chip_lock(c);
	reset_locked(c);
	chip_unlock(c);
}

/* ---- Per-vCPU interrupt queries --------------------------------------- */

static int pending_locked(struct soft_irqchip *c, unsigned cpu, bool *from_pic)
{
	struct soft_lapic *l = &c->lapic[cpu];
	*from_pic = false;
	if (l->wait_sipi)
		return -1;
	int v = lapic_highest_deliverable(l);
	if (v >= 0)
		return v;
	if (c->pic.output && lapic_accepts_pic(c, cpu)) {
		*from_pic = true;
		return i8259_peek_vector(&c->pic);
	}
	return -1;
}

int soft_irqchip_pending(struct soft_irqchip *c, unsigned cpu, bool rflags_if)
{
	if (cpu >= c->nr_vcpus || !rflags_if)
		return -1;
	bool from_pic;
	chip_lock(c);
	int v = pending_locked(c, cpu, &from_pic);
	chip_unlock(c);
	return v;
}

static int ack_locked(struct soft_irqchip *c, unsigned cpu, bool expected)
{
	struct soft_lapic *l = &c->lapic[cpu];
	bool from_pic;
	int v = pending_locked(c, cpu, &from_pic);
	if (v < 0) {
		/* The request went away between pending() and the INTA: the
		 * PIC answers IRQ7 if it is the CPU's interrupt source, else the
		 * LAPIC gives its spurious vector. */
		if (expected && !l->wait_sipi) {
			if (lapic_accepts_pic(c, cpu))
				v = i8259_intack(&c->pic);
			else
				v = (int)(l->svr & 0xff);
		}
		return v;
	}
	if (from_pic)
		v = i8259_intack(&c->pic);
	else
		lapic_ack_vector(l, v);
	chip_update_attention(c, cpu);
	return v;
}

int soft_irqchip_ack(struct soft_irqchip *c, unsigned cpu, int vector)
{
	if (cpu >= c->nr_vcpus)
		return -1;
	chip_lock(c);
	int v = ack_locked(c, cpu, vector >= 0);
	chip_unlock(c);
	return v;
}

int soft_irqchip_take(struct soft_irqchip *c, unsigned cpu, bool rflags_if)
{
	if (cpu >= c->nr_vcpus || !rflags_if)
		return -1;
	chip_lock(c);
	int v = ack_locked(c, cpu, false);
	chip_unlock(c);
	return v;
}

void soft_irqchip_lint1(struct soft_irqchip *c, unsigned cpu)
{
	if (cpu >= c->nr_vcpus)
		return;
	chip_lock(c);
	lapic_lint1(c, &c->lapic[cpu]);
	chip_unlock(c);
}

bool soft_irqchip_take_nmi(struct soft_irqchip *c, unsigned cpu)
{
	if (cpu >= c->nr_vcpus)
		return false;
	chip_lock(c);
	bool r = c->lapic[cpu].nmi_pending;
	c->lapic[cpu].nmi_pending = false;
	chip_update_attention(c, cpu);
	chip_unlock(c);
	return r;
}

bool soft_irqchip_take_init(struct soft_irqchip *c, unsigned cpu)
{
	if (cpu >= c->nr_vcpus)
		return false;
	chip_lock(c);
	bool r = c->lapic[cpu].init_pending;
	c->lapic[cpu].init_pending = false;
	chip_update_attention(c, cpu);
	chip_unlock(c);
	return r;
}

int soft_irqchip_take_sipi(struct soft_irqchip *c, unsigned cpu)
{
	if (cpu >= c->nr_vcpus)
		return -1;
	int v = -1;
	chip_lock(c);
	struct soft_lapic *l = &c->lapic[cpu];
	if (l->sipi_pending && !l->init_pending) {
		v = l->sipi_vector;
		l->sipi_pending = false;
		l->wait_sipi = false;
		chip_update_attention(c, cpu);
	}
	chip_unlock(c);
	return v;
}

bool soft_irqchip_waiting_for_sipi(struct soft_irqchip *c, unsigned cpu)
{
	if (cpu >= c->nr_vcpus)
		return false;
	chip_lock(c);
	bool r = c->lapic[cpu].wait_sipi;
	chip_unlock(c);
	return r;
}

bool soft_irqchip_nmi_source_armed(struct soft_irqchip *c, unsigned cpu)
{
	bool armed = false;
	(void)cpu;
	chip_lock(c);
	for (unsigned pin = 0; pin < SOFT_IOAPIC_PINS && !armed; pin++) {
		uint64_t e = c->ioapic.redir[pin];
		unsigned dm = (unsigned)(e >> 8) & 7;
		armed = !(e & (1ULL << 16)) && (dm == DM_NMI || dm == DM_INIT);
	}
	chip_unlock(c);
	return armed;
}

/* ---- Timers ------------------------------------------------------------ */

void soft_irqchip_poll(struct soft_irqchip *c, uint64_t now_ns)
{
	chip_lock(c);
	if (i8254_poll(&c->pit, now_ns)) {
		chip_set_irq_locked(c, IRQ_PIT, true);
		chip_set_irq_locked(c, IRQ_PIT, false);
	}
	for (unsigned i = 0; i < c->nr_vcpus; i++) {
		struct soft_lapic *l = &c->lapic[i];
		if (l->timer_deadline_ns <= now_ns)
			lapic_timer_fire(c, l, now_ns);
	}
	c->timers_dirty = true;
	chip_unlock(c);
}

uint64_t soft_irqchip_next_deadline_ns(struct soft_irqchip *c, unsigned cpu)
{
	if (cpu >= c->nr_vcpus)
		return SOFT_NO_DEADLINE;
	chip_lock(c);
	uint64_t d = i8254_next_deadline(&c->pit);
	if (c->lapic[cpu].timer_deadline_ns < d)
		d = c->lapic[cpu].timer_deadline_ns;
	chip_unlock(c);
	return d;
}

uint64_t soft_irqchip_guest_tsc(struct soft_irqchip *c, uint64_t now_ns)
{
	if (now_ns <= c->tsc_epoch_ns)
		return 0;
	return muldiv64(now_ns - c->tsc_epoch_ns, c->tsc_hz, NSEC_PER_SEC);
}

uint64_t soft_irqchip_tsc_to_ns(struct soft_irqchip *c, uint64_t tsc)
{
	return sat_add(c->tsc_epoch_ns, muldiv64_up(tsc, NSEC_PER_SEC, c->tsc_hz));
}

/* ---- LAPIC access ------------------------------------------------------ */

uint64_t soft_irqchip_lapic_mmio_base(struct soft_irqchip *c, unsigned cpu)
{
	if (cpu >= c->nr_vcpus)
		return UINT64_MAX;
	chip_lock(c);
	uint64_t b = c->lapic[cpu].apic_base;
	chip_unlock(c);
	if (!(b & APICBASE_ENABLE) || (b & APICBASE_X2APIC))
		return UINT64_MAX;
	return b & 0x000ffffffffff000ULL;
}

bool soft_irqchip_lapic_disabled(struct soft_irqchip *c, unsigned cpu)
{
	if (cpu >= c->nr_vcpus)
		return true;
	chip_lock(c);
	bool off = !(c->lapic[cpu].apic_base & APICBASE_ENABLE);
	chip_unlock(c);
	return off;
}

uint64_t soft_lapic_mmio_read(struct soft_irqchip *c, unsigned cpu, uint64_t offset,
			      unsigned size)
{
	if (cpu >= c->nr_vcpus || size == 0 || size > 8)
		return 0;
	offset &= 0xfff;
	if ((offset & 0xf) + (size > 4 ? 4 : size) > 4)
		return 0;   /* not inside the 32-bit register of this 16-byte slot */
	uint64_t v = 0;
	chip_lock(c);
	lapic_reg_read(c, &c->lapic[cpu], (unsigned)(offset >> 4), false, &v);
	chip_unlock(c);
	v = (uint32_t)v >> (8 * (offset & 3));
	return size >= 4 ? v : v & ((1ULL << (8 * size)) - 1);
}

void soft_lapic_mmio_write(struct soft_irqchip *c, unsigned cpu, uint64_t offset,
			   unsigned size, uint64_t value)
{
	if (cpu >= c->nr_vcpus || size < 4 || size > 8)
		return;
	offset &= 0xfff;
	if (offset & 0xf)
		return;     /* registers are dword-aligned on 16-byte slots */
	chip_lock(c);
	lapic_reg_write(c, &c->lapic[cpu], (unsigned)(offset >> 4), (uint32_t)value, false);
	chip_unlock(c);
}

int soft_irqchip_rdmsr(struct soft_irqchip *c, unsigned cpu, uint32_t msr,
		       uint64_t *value)
{
	if (cpu >= c->nr_vcpus)
		return -EINVAL;
	struct soft_lapic *l = &c->lapic[cpu];
	int r = 0;
	if (msr == MSR_IA32_APICBASE) {
		chip_lock(c);
		*value = l->apic_base;
		chip_unlock(c);
	} else if (msr == MSR_IA32_TSC_DEADLINE) {
		chip_lock(c);
		*value = lapic_tsc_deadline_read(l);
		chip_unlock(c);
	} else if (msr >= MSR_X2APIC_FIRST && msr <= MSR_X2APIC_LAST) {
		chip_lock(c);
		if (!(l->apic_base & APICBASE_X2APIC))
			r = -EINVAL;
		else
			r = lapic_reg_read(c, l, msr - MSR_X2APIC_FIRST, true, value);
		chip_unlock(c);
	} else {
		r = -ENOENT;
	}
	return r;
}

int soft_irqchip_wrmsr(struct soft_irqchip *c, unsigned cpu, uint32_t msr,
		       uint64_t value)
{
	if (cpu >= c->nr_vcpus)
		return -EINVAL;
	struct soft_lapic *l = &c->lapic[cpu];
	int r;
	if (msr == MSR_IA32_APICBASE) {
		chip_lock(c);
		r = lapic_apicbase_write(c, l, value);
		chip_unlock(c);
	} else if (msr == MSR_IA32_TSC_DEADLINE) {
		chip_lock(c);
		r = lapic_tsc_deadline_write(c, l, value);
		chip_unlock(c);
	} else if (msr >= MSR_X2APIC_FIRST && msr <= MSR_X2APIC_LAST) {
		unsigned reg = msr - MSR_X2APIC_FIRST;
		chip_lock(c);
		if (!(l->apic_base & APICBASE_X2APIC))
			r = -EINVAL;
		else if (reg != 0x30 && (value >> 32))
			r = -EINVAL;    /* only the ICR is 64 bits wide */
		else if (lapic_x2_reserved_bits(reg, value))
			r = -EINVAL;    /* reserved bits set: #GP (10.12.1.3) */
		else
			r = lapic_reg_write(c, l, reg, value, true);
		chip_unlock(c);
	} else {
		r = -ENOENT;
	}
	return r;
}
