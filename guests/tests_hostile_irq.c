/* Hostile-guest tests: interrupt storms, register storms on every device
 * window, and reset loops.  Each storm must leave the guest making progress
 * (its main loop completes) and the VMM within its time and memory bounds
 * (the runner's timeout and max_rss_mb); cases in
 * tests/guest/cases_hostile.py. */
#include "guest.h"

#define LAPIC ((uintptr_t)0xFEE00000u)
#define L_EOI 0xb0
#define L_SVR 0xf0
#define L_ICR_LO 0x300
#define L_ICR_HI 0x310
#define L_LVT_TIMER 0x320
#define L_TMICT 0x380
#define L_TDCR 0x3e0
#define IOAPIC ((uintptr_t)0xFEC00000u)
#define TESTDEV_MEM ((uintptr_t)0xFE000000u)

static volatile uint32_t hirq_ticks;
static volatile uint32_t hirq_limit;

static void lapic_wr(unsigned reg, uint32_t v) { mmio_write32(LAPIC + reg, v); }
static uint32_t lapic_rd(unsigned reg) { return mmio_read32(LAPIC + reg); }

static void ioapic_wr(unsigned idx, uint32_t v)
{
	mmio_write32(IOAPIC, idx);
	mmio_write32(IOAPIC + 0x10, v);
}

static void lapic_enable(void)
{
	lapic_wr(L_SVR, 0x1ff);         /* software enable, spurious vector 0xff */
}

/* The guest's main loop: a fixed amount of work while interrupts storm.
 * It must finish: interrupts may slow it, never starve it (the soft engine
 * takes external interrupts between slices of instructions). */
static uint32_t hirq_work(uint32_t iters)
{
	volatile uint32_t x = 0;
	for (uint32_t i = 0; i < iters; i++)
		x += i;
	return x;
}

/* The storm's run: work in chunks, each checked, until STORM_TICKS
 * interrupts were taken.  Bounded (a storm that stops arriving ends it,
 * and the caller's check fails), and independent of how fast the engine
 * runs the work: a fixed amount of work saw fewer ticks as the engine got
 * faster, which made a tick threshold a speed test. */
#define STORM_TICKS 1000u
static void hirq_storm_work(void)
{
	for (uint32_t r = 0; r < 50000 && hirq_ticks < STORM_TICKS; r++)
		GUEST_ASSERT_EQ(hirq_work(1000), 499500);
}

/* ---- PIT count 1 ------------------------------------------------------- */
static void hirq_pit_tick(unsigned irq)
{
	hirq_ticks++;
	pic_eoi(irq);
}

/* storm-pit: PIT channel 0 in mode 2 with count 1 (1.19 MHz, the fastest
 * it can be told to run), IRQ0 through the 8259. */
static void test_storm_pit(void)
{
	hirq_ticks = 0;
	pic_init(0xfe, 0xff);
	irq_set_handler(0, hirq_pit_tick);
	pit_periodic_count(1);
	sti();
	hirq_storm_work();
	cli();
	pit_stop();
	pic_init(0xff, 0xff);
	GUEST_SYNC("pit count 1 ticks", hirq_ticks);
	GUEST_SYNC("pit storm ticks taken", hirq_ticks >= STORM_TICKS ? STORM_TICKS : 0);
	GUEST_ASSERT(hirq_ticks >= STORM_TICKS);
	GUEST_DONE();
}
GUEST_TEST("storm-pit", test_storm_pit);

/* ---- LAPIC timer, periodic, count 1 ------------------------------------ */
#define V_LAPIC_TIMER 0x2e      /* IDT slot of PIC IRQ 14; the PICs are masked */
static void hirq_lapic_tick(unsigned irq)
{
	(void)irq;
	hirq_ticks++;
	lapic_wr(L_EOI, 0);
}

/* storm-lapic-timer: the LAPIC timer periodic with initial count 1 and
 * divide-by-1 (SDM Vol. 3A 10.5.4): an interrupt every bus clock. */
static void test_storm_lapic_timer(void)
{
	hirq_ticks = 0;
	pic_init(0xff, 0xff);
	lapic_enable();
	irq_set_handler(V_LAPIC_TIMER - IRQ_BASE, hirq_lapic_tick);
	lapic_wr(L_TDCR, 0xb);                          /* divide by 1 */
	lapic_wr(L_LVT_TIMER, (1u << 17) | V_LAPIC_TIMER); /* periodic */
	lapic_wr(L_TMICT, 1);
	sti();
	hirq_storm_work();
	cli();
	lapic_wr(L_TMICT, 0);
	lapic_wr(L_LVT_TIMER, 1u << 16);
	GUEST_SYNC("lapic timer count 1 ticks", hirq_ticks);
	GUEST_SYNC("lapic timer storm ticks taken", hirq_ticks >= STORM_TICKS ? STORM_TICKS : 0);
	GUEST_ASSERT(hirq_ticks >= STORM_TICKS);
	GUEST_DONE();
}
GUEST_TEST("storm-lapic-timer", test_storm_lapic_timer);

/* ---- Self-IPI loop ----------------------------------------------------- */
#define V_SELF_IPI 0x2d
#define SELF_IPIS 1000u
static void hirq_self_ipi(unsigned irq)
{
	(void)irq;
	/* Send the next one before the EOI: it stays pending in the IRR while
	 * this one is in service, then arrives after the IRET. */
	if (++hirq_ticks < hirq_limit)
		lapic_wr(L_ICR_LO, (1u << 18) | V_SELF_IPI);   /* shorthand: self */
	lapic_wr(L_EOI, 0);
}

/* storm-self-ipi: every handler sends the next self-IPI, SELF_IPIS times. */
static void test_storm_self_ipi(void)
{
	hirq_ticks = 0;
	hirq_limit = SELF_IPIS;
	pic_init(0xff, 0xff);
	lapic_enable();
	irq_set_handler(V_SELF_IPI - IRQ_BASE, hirq_self_ipi);
	lapic_wr(L_ICR_HI, 0);
	lapic_wr(L_ICR_LO, (1u << 18) | V_SELF_IPI);
	sti();
	for (uint32_t i = 0; i < 100000000u && hirq_ticks < SELF_IPIS; i++)
		cpu_relax();
	cli();
	GUEST_SYNC("self-IPIs taken", hirq_ticks);
	GUEST_ASSERT_EQ(hirq_ticks, SELF_IPIS);
	GUEST_ASSERT_EQ(hirq_work(1000), 499500);
	GUEST_DONE();
}
GUEST_TEST("storm-self-ipi", test_storm_self_ipi);

/* ---- IOAPIC redirection storm ------------------------------------------ */
#define V_IOAPIC_A 0x2b
#define V_IOAPIC_B 0x2c
#define IOAPIC_STORM 1000u
static void hirq_ioapic(unsigned irq)
{
	uint32_t n = ++hirq_ticks;
	/* The EOI first, while the entry still has the vector in service (a
	 * level-triggered entry's remote IRR is cleared by an EOI of its own
	 * vector only: 82093AA datasheet, "I/O Redirection Table Registers").
	 * Then reprogram pin 2 (the PIT): the other vector, edge and level in
	 * turn, masked and unmasked again. */
	lapic_wr(L_EOI, 0);
	uint32_t vec = (n & 1) ? V_IOAPIC_A : V_IOAPIC_B;
	uint32_t level = (n & 2) ? (1u << 15) : 0;
	ioapic_wr(0x10 + 2 * 2, (1u << 16) | vec | level);
	if (n < hirq_limit)
		ioapic_wr(0x10 + 2 * 2, vec | level);
	(void)irq;
}

/* storm-ioapic: PIT count 2 into IOAPIC pin 2, whose redirection entry
 * the handler rewrites on every interrupt, IOAPIC_STORM times. */
static void test_storm_ioapic(void)
{
	hirq_ticks = 0;
	hirq_limit = IOAPIC_STORM;
	pic_init(0xff, 0xff);
	lapic_enable();
	irq_set_handler(V_IOAPIC_A - IRQ_BASE, hirq_ioapic);
	irq_set_handler(V_IOAPIC_B - IRQ_BASE, hirq_ioapic);
	ioapic_wr(0x11 + 2 * 2, 0);                     /* destination APIC 0 */
	ioapic_wr(0x10 + 2 * 2, V_IOAPIC_A);
	pit_periodic_count(2);
	sti();
	uint32_t work = 0;
	for (uint32_t i = 0; i < 200000000u && hirq_ticks < IOAPIC_STORM; i++)
		work += hirq_work(10) != 0;
	cli();
	ioapic_wr(0x10 + 2 * 2, 1u << 16);
	pit_stop();
	GUEST_SYNC("ioapic storm interrupts", hirq_ticks);
	GUEST_ASSERT_EQ(hirq_ticks, IOAPIC_STORM);
	GUEST_ASSERT(work > 0);
	GUEST_DONE();
}
GUEST_TEST("storm-ioapic", test_storm_ioapic);

/* ---- Register storms ----------------------------------------------------- */
static uint32_t hirq_rng = 0x2545f491u;
static uint32_t hirq_rand(void)
{
	/* xorshift32 (Marsaglia 2003): reproducible from the seed above */
	hirq_rng ^= hirq_rng << 13;
	hirq_rng ^= hirq_rng >> 17;
	hirq_rng ^= hirq_rng << 5;
	return hirq_rng;
}

/* The accesses a storm leaves out, because they end the machine (which
 * other cases test) instead of exercising a device: the test device's
 * call port, the isa-debug-exit port (0xf4, on by default), the i8042's
 * reset and output-port commands, the ACPI reset register, PM1a control
 * (SLP_EN). */
static bool hirq_port_denied(uint32_t port, unsigned size, bool write, uint32_t v)
{
	uint32_t end = port + size;
	if (port < 0xe4 && end > 0xe0)
		return true;
	if (port < 0xf8 && end > 0xf4)
		return true;
	if (port < 0xcfa && end > 0xcf9)
		return true;
	if (write && port < 0x606 && end > 0x604)
		return true;
	if (write && port <= 0x64 && end > 0x64) {
		uint8_t cmd = (uint8_t)(v >> (8 * (0x64 - port)));
		if (cmd == 0xd1 || cmd >= 0xf0)
			return true;
	}
	return false;
}

static void hirq_pio(uint32_t port, unsigned size, bool write, uint32_t v)
{
	if (hirq_port_denied(port, size, write, v))
		return;
	uint16_t p = (uint16_t)port;
	if (write) {
		if (size == 1) outb(p, (uint8_t)v);
		else if (size == 2) outw(p, (uint16_t)v);
		else outl(p, v);
	} else {
		if (size == 1) (void)inb(p);
		else if (size == 2) (void)inw(p);
		else (void)inl(p);
	}
}

/* storm-pio: every port once with a random size, direction and value,
 * then 32768 more random accesses on the ports that have devices. */
static void test_storm_pio(void)
{
	static const uint16_t dev_ports[] = {
		0x20, 0x21, 0xa0, 0xa1, 0x40, 0x41, 0x42, 0x43, 0x61, 0x4d0, 0x4d1,
		0x60, 0x64, 0x70, 0x71, 0x3f8, 0x3f9, 0x3fa, 0x3fb, 0x3fc, 0x3fd, 0x3fe, 0x3ff,
		0x600, 0x601, 0x602, 0x603, 0x604, 0x606, 0x608, 0x609, 0x60a, 0x60b,
	};
	cli();
	uint32_t n = 0;
	for (uint32_t port = 0; port < 0x10000; port++) {
		uint32_t r = hirq_rand();
		hirq_pio(port, 1u << (r % 3), r & 8, hirq_rand());
		n++;
	}
	for (uint32_t i = 0; i < 32768; i++) {
		uint32_t r = hirq_rand();
		hirq_pio(dev_ports[(r >> 8) % (sizeof(dev_ports) / sizeof(dev_ports[0]))],
			 1u << (r % 3), r & 8, hirq_rand());
		n++;
	}
	/* The machine still works: the PICs, the UART and the RTC answer. */
	pic_init(0xff, 0xff);
	GUEST_ASSERT_EQ(inb(0x21), 0xff);
	serial_init();
	outb(0x3ff, 0x5a);                  /* UART scratch register */
	GUEST_ASSERT_EQ(inb(0x3ff), 0x5a);
	outb(0x70, 0x40);                   /* a CMOS RAM byte */
	outb(0x71, 0xc3);
	outb(0x70, 0x40);
	GUEST_ASSERT_EQ(inb(0x71), 0xc3);
	GUEST_SYNC("port accesses", n);
	GUEST_DONE();
}
GUEST_TEST("storm-pio", test_storm_pio);

static void hirq_mmio(uintptr_t a, unsigned size, bool write, uint64_t v)
{
	if (write) {
		switch (size) {
		case 1: mmio_write8(a, (uint8_t)v); break;
		case 2: mmio_write16(a, (uint16_t)v); break;
		case 4: mmio_write32(a, (uint32_t)v); break;
		default: mmio_write64(a, v); break;
		}
	} else {
		switch (size) {
		case 1: (void)mmio_read8(a); break;
		case 2: (void)mmio_read16(a); break;
		case 4: (void)mmio_read32(a); break;
		default: (void)mmio_read64(a); break;
		}
	}
}

/* storm-mmio: random accesses of random sizes on the LAPIC, the IOAPIC,
 * the test device's window and unclaimed addresses of the hole (ECAM
 * included: reads only, its devices are other topics').  Left out: the
 * ICR (INIT/SIPI/NMI to self would end or restart the machine: the
 * INIT/SIPI cases test that) and delivery modes other than fixed in LVT
 * and redirection entries (an NMI, SMI or INIT is not a register storm). */
static void test_storm_mmio(void)
{
	cli();
	lapic_enable();
	uint32_t n = 0;
	for (uint32_t i = 0; i < 16384; i++) {
		uint32_t r = hirq_rand();
		unsigned size = 1u << (r & 3);
		bool write = r & 4;
		uint32_t v = hirq_rand();
		uint32_t off = (hirq_rand() & 0xfff) & ~(size - 1);
		switch ((r >> 4) % 5) {
		case 0: /* LAPIC */
			if (write && (off & 0xff0) >= 0x300 && (off & 0xff0) <= 0x310)
				break;
			if (write && (off & 0xff0) >= 0x320 && (off & 0xff0) <= 0x370)
				v &= ~0x700u;
			hirq_mmio(LAPIC + off, size, write, v);
			break;
		case 1: { /* IOAPIC: select, then a whole-register access */
			uint32_t idx = v & 0x3f;
			mmio_write32(IOAPIC, idx);
			if (write) {
				uint32_t w = hirq_rand();
				if (idx >= 0x10 && !(idx & 1))
					w &= ~0x700u;
				mmio_write32(IOAPIC + 0x10, w);
			} else {
				(void)mmio_read32(IOAPIC + 0x10);
			}
			hirq_mmio(IOAPIC + (off & 0x3f & ~(size - 1)), size, false, 0);
			break;
		}
		case 2:
			hirq_mmio(TESTDEV_MEM + off, size, write, (uint64_t)v << 32 | hirq_rand());
			break;
		case 3:
			hirq_mmio(0xE0000000u + (hirq_rand() & 0x0ffffff8u), size, false, 0);
			break;
		default:
			hirq_mmio(0xFD000000u + off, size, write, v);
			break;
		}
		n++;
	}
	/* The machine still works: the LAPIC and the test device answer. */
	lapic_enable();
	GUEST_ASSERT_EQ(lapic_rd(0x30) & 0xff, 0x14);      /* version */
	mmio_write64(TESTDEV_MEM + 8, 0x0123456789abcdefull);
	GUEST_ASSERT_EQ(mmio_read64(TESTDEV_MEM + 8), 0x0123456789abcdefull);
	GUEST_SYNC("mmio accesses", n);
	GUEST_DONE();
}
GUEST_TEST("storm-mmio", test_storm_mmio);

/* ---- Reset loops --------------------------------------------------------- */
#define RESET_LOOPS 30u

/* reset-loop (--on-reset restart --on-triple-fault reset): the machine is
 * reset RESET_LOOPS times, in turn through the i8042 (0xfe to port 0x64),
 * the ACPI reset register (0x06 to port 0xcf9) and a triple fault; then
 * the guest passes.  The runner checks the rate-limited messages and the
 * VMM's memory after all the resets. */
static void test_reset_loop(void)
{
	uint32_t n = testdev_reset_count();
	GUEST_SYNC("reset count", n);
	if (n >= RESET_LOOPS)
		GUEST_DONE();
	guest_reset(n % 3);
}
GUEST_TEST("reset-loop", test_reset_loop);
