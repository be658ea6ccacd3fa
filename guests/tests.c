/* ringvm's test guests: one program, one test per run, chosen by the
 * "test=NAME" word of the kernel command line (multiboot or PVH).  Built as
 * a 32-bit program (multiboot ELF32, multiboot a.out kludge, PVH ELF32) and
 * as a 64-bit one (multiboot ELF64, PVH ELF64) entered after the long-mode
 * switch in head64.S.  tests/guest/run_guest_test.py knows what each test
 * must produce (exit status, messages, serial output). */
#include "guest.h"

#define TESTDEV_MMIO ((uintptr_t)TESTDEV_MMIO_BASE)
#define UNMAPPED_MMIO ((uintptr_t)0xFD000000u) /* in the hole, claimed by no one */
#define UNHANDLED_PORT 0x2a0                    /* claimed by no device */
#define DEBUG_EXIT_PORT 0xf4
#define CMOS_INDEX 0x70
#define CMOS_DATA 0x71

#ifdef __x86_64__
#define MODE "64-bit"
#else
#define MODE "32-bit"
#endif

/* uart: a known line on COM1 (the runner looks for it). */
static void test_uart(void)
{
	serial_puts("uart: The quick brown fox jumps over the lazy dog 0123456789\n");
	GUEST_SYNC("uart", 0x55aa);
	GUEST_DONE();
}

static uint8_t cmos_read(uint8_t reg)
{
	outb(CMOS_INDEX, reg); /* bit 7 clear: NMI stays enabled */
	return inb(CMOS_DATA);
}

static bool bcd_ok(uint8_t v, uint8_t max)
{
	return (v & 0xf) <= 9 && (v >> 4) <= 9 && (v >> 4) * 10 + (v & 0xf) <= max;
}

/* pio: CMOS RTC, the testdev reset count, an unhandled port. */
static void test_pio(void)
{
	/* Wait (boundedly) until no update is in progress. */
	for (unsigned i = 0; i < 10000 && (cmos_read(0x0a) & 0x80); i++)
		cpu_relax();
	uint8_t regb = cmos_read(0x0b);
	uint8_t sec = cmos_read(0x00), min = cmos_read(0x02), mday = cmos_read(0x07),
		mon = cmos_read(0x08);
	GUEST_SYNC("rtc status B", regb);
	GUEST_SYNC("rtc seconds", sec);
	if (regb & 0x04) { /* binary */
		GUEST_ASSERT(sec < 60);
		GUEST_ASSERT(min < 60);
		GUEST_ASSERT(mday >= 1 && mday <= 31);
		GUEST_ASSERT(mon >= 1 && mon <= 12);
	} else {          /* BCD */
		GUEST_ASSERT(bcd_ok(sec, 59));
		GUEST_ASSERT(bcd_ok(min, 59));
		GUEST_ASSERT(bcd_ok(mday, 31) && mday != 0);
		GUEST_ASSERT(bcd_ok(mon, 12) && mon != 0);
	}

	GUEST_ASSERT_EQ(testdev_reset_count(), 0);
	/* Only 4-byte accesses reach the call port. */
	GUEST_ASSERT_EQ(inb(TESTDEV_PORT), 0xff);

	GUEST_ASSERT_EQ(inb(UNHANDLED_PORT), 0xff);
	GUEST_ASSERT_EQ(inw(UNHANDLED_PORT), 0xffff);
	GUEST_ASSERT_EQ(inl(UNHANDLED_PORT), 0xffffffffu);
	outb(UNHANDLED_PORT, 0x12); /* ignored */
	GUEST_ASSERT_EQ(inb(UNHANDLED_PORT), 0xff);
	GUEST_DONE();
}

/* mmio: the testdev window at every access size. */
static void test_mmio(void)
{
	const uintptr_t b = TESTDEV_MMIO, r0 = b + TESTDEV_SCRATCH, r1 = r0 + 8;

	GUEST_ASSERT_EQ(mmio_read32(b), TESTDEV_MAGIC);
	GUEST_ASSERT_EQ(mmio_read8(b), 'R');
	GUEST_ASSERT_EQ(mmio_read8(b + 3), 'G');
	GUEST_ASSERT_EQ(mmio_read16(b + 2), 0x474e);
	GUEST_ASSERT_EQ(mmio_read64(b), TESTDEV_MAGIC);
	mmio_write32(b, 0x12345678); /* read-only */
	GUEST_ASSERT_EQ(mmio_read32(b), TESTDEV_MAGIC);

	mmio_write64(r0, 0x0123456789abcdefull);
	GUEST_ASSERT_EQ(mmio_read64(r0), 0x0123456789abcdefull);
	GUEST_ASSERT_EQ(mmio_read32(r0), 0x89abcdefu);
	GUEST_ASSERT_EQ(mmio_read32(r0 + 4), 0x01234567u);
	GUEST_ASSERT_EQ(mmio_read16(r0 + 2), 0x89ab);
	GUEST_ASSERT_EQ(mmio_read8(r0 + 7), 0x01);
	mmio_write8(r0 + 1, 0x5a);
	GUEST_ASSERT_EQ(mmio_read64(r0), 0x0123456789ab5aefull);
	mmio_write16(r0 + 4, 0xbeef);
	GUEST_ASSERT_EQ(mmio_read64(r0), 0x0123beef89ab5aefull);
	mmio_write32(r1, 0xdeadbeef);
	GUEST_ASSERT_EQ(mmio_read64(r1), 0xdeadbeefull);
	GUEST_ASSERT_EQ(mmio_read64(r0), 0x0123beef89ab5aefull);

	/* Eight independent registers. */
	for (unsigned i = 0; i < TESTDEV_NR_SCRATCH; i++)
		mmio_write64(r0 + 8 * i, 0x1111111111111111ull * (i + 1));
	for (unsigned i = 0; i < TESTDEV_NR_SCRATCH; i++)
		GUEST_ASSERT_EQ(mmio_read64(r0 + 8 * i), 0x1111111111111111ull * (i + 1));

	/* Unaligned, straddling r0/r1: byte-addressable storage. */
	mmio_write32(r0 + 6, 0xcafef00d);
	GUEST_ASSERT_EQ(mmio_read32(r0 + 6), 0xcafef00du);
	GUEST_ASSERT_EQ(mmio_read16(r0 + 6), 0xf00d);
	GUEST_ASSERT_EQ(mmio_read16(r1), 0xcafe);

	/* Past the registers: reads zero, writes ignored. */
	mmio_write32(b + 0x100, 0xffffffff);
	GUEST_ASSERT_EQ(mmio_read32(b + 0x100), 0);
	GUEST_ASSERT_EQ(mmio_read8(b + TESTDEV_MMIO_SIZE - 1), 0);
	GUEST_DONE();
}

/* mmio-unmapped: with --strict-mmio must kill the VM (status 4, the
 * address named); without it the read returns all-ones (mmio-unclaimed). */
static void test_mmio_unmapped(void)
{
	GUEST_SYNC("reading unmapped MMIO", UNMAPPED_MMIO);
	uint32_t v = mmio_read32(UNMAPPED_MMIO);
	GUEST_FAIL("unmapped MMIO read returned (value)", v);
}

/* hlt-irq: PIT channel 0 at 100 Hz through the 8259 to vector 0x20. */
#define TICK_HZ 100u
#define TICKS 10u
static volatile uint32_t ticks;

static void pit_tick(unsigned irq)
{
	ticks++;
	pic_eoi(irq);
}

static void test_hlt_irq(void)
{
	uint32_t wakeups = 0;
	irq_set_handler(0, pit_tick);
	pic_init(0xfe, 0xff);                 /* only IRQ0 */
	pit_periodic(TICK_HZ);
	for (;;) {
		cli();
		if (ticks >= TICKS)
			break;
		sti_hlt();
		wakeups++;
	}
	outb(0x21, 0xff);                     /* mask everything again */
	GUEST_SYNC("ticks", ticks);
	GUEST_SYNC("hlt wakeups", wakeups);
	GUEST_ASSERT(wakeups >= TICKS);
	GUEST_DONE();
}

/* hlt-noirq: halt with interrupts off; the VM must end (status 4). */
static void test_hlt_noirq(void)
{
	GUEST_SYNC("cli; hlt", 0);
	__asm__ volatile("cli; hlt" : : : "memory");
	GUEST_FAIL("woke up from cli; hlt");
}

/* debug-exit: 0x21 -> status (0x21 << 1) | 1 = 0x43. */
static void test_debug_exit(void)
{
	outl(DEBUG_EXIT_PORT, 0x21);
	GUEST_FAIL("debug-exit write returned");
}

/* reset: first boot resets through the i8042, the second checks the count. */
static void test_reset(void)
{
	uint32_t n = testdev_reset_count();
	GUEST_SYNC("reset count", n);
	if (n == 0) {
		outb(0x64, 0xfe);
		for (;;) /* wait for the reset; do not halt (IF=0 would end the VM) */
			cpu_relax();
	}
	GUEST_ASSERT_EQ(n, 1);
	GUEST_DONE();
}

/* triple-fault: with an empty IDT, ud2's #UD cannot be delivered, nor the
 * #DF that follows: the CPU shuts down.  With --on-triple-fault reset the
 * machine comes back and the second boot passes. */
static void test_triple_fault(void)
{
	uint32_t n = testdev_reset_count();
	GUEST_SYNC("reset count", n);
	if (n == 0) {
		static const struct { uint16_t limit; uintptr_t base; } __attribute__((packed))
			empty = { 0, 0 };
		__asm__ volatile("lidt %0; ud2" : : "m"(empty));
		GUEST_FAIL("survived a triple fault");
	}
	GUEST_ASSERT_EQ(n, 1);
	GUEST_DONE();
}

/* assert-fail: proves a failing guest fails the run (status 8). */
static void test_assert_fail(void)
{
	volatile int two = 2;
	GUEST_ASSERT_EQ(two + two, 5);
	GUEST_DONE();
}

/* exception: #UD reaches the IDT, whose handler reports it (status 8). */
static void test_exception(void)
{
	GUEST_SYNC("ud2", 0);
	__asm__ volatile("ud2");
	GUEST_FAIL("ud2 did not fault");
}

/* longmode: checks that need, and prove, 64-bit mode. */
static void test_longmode(void)
{
#ifdef __x86_64__
	uint64_t efer = rdmsr(0xc0000080);
	GUEST_ASSERT(efer & (1 << 8));             /* LME */
	GUEST_ASSERT(efer & (1 << 10));            /* LMA */
	GUEST_ASSERT(read_cr0() & (1ull << 31));   /* PG */
	GUEST_ASSERT(read_cr4() & (1 << 5));       /* PAE */
	GUEST_ASSERT_EQ(read_cs(), GDT_CODE64);
	GUEST_ASSERT_EQ(sizeof(void *), 8);

	volatile uint64_t a = 0x123456789abcdef0ull, b = 0xfedcba9876543210ull;
	GUEST_ASSERT_EQ(a + b, 0x1111111111111100ull);
	GUEST_ASSERT_EQ(a * 3, 0x369d0369d0369cd0ull);
	unsigned __int128 p = (unsigned __int128)a * b;
	GUEST_ASSERT_EQ((uint64_t)(p >> 64), 0x121fa00ad77d7422ull);
	GUEST_ASSERT_EQ((uint64_t)p, 0x236d88fe5618cf00ull);
	GUEST_ASSERT_EQ(a / 0x12345, 0x100005b00205ull);
	GUEST_ASSERT_EQ(a % 0x12345, 0xa497);
	GUEST_ASSERT_EQ(a >> 36, 0x1234567);
	GUEST_ASSERT_EQ(a << 12, 0x456789abcdef0000ull);
	GUEST_ASSERT_EQ((a << 8) | (a >> 56), 0x3456789abcdef012ull);
	GUEST_ASSERT_EQ((uint64_t)(-(int64_t)a >> 4), 0xfedcba9876543211ull);
	uint64_t r8v;
	__asm__ volatile("movabs $0x8000000000000001, %%r8\n\t"
			 "bsr %%r8, %%r8\n\t"
			 "mov %%r8, %0" : "=r"(r8v) : : "r8");
	GUEST_ASSERT_EQ(r8v, 63);
	GUEST_SYNC("long mode arithmetic ok", a * b);
	GUEST_DONE();
#else
	GUEST_FAIL("longmode needs the 64-bit image (this is the 32-bit one)");
#endif
}

GUEST_TEST("uart", test_uart);
GUEST_TEST("pio", test_pio);
GUEST_TEST("mmio", test_mmio);
GUEST_TEST("mmio-unmapped", test_mmio_unmapped);
GUEST_TEST("hlt-irq", test_hlt_irq);
GUEST_TEST("hlt-noirq", test_hlt_noirq);
GUEST_TEST("debug-exit", test_debug_exit);
GUEST_TEST("reset", test_reset);
GUEST_TEST("assert-fail", test_assert_fail);
GUEST_TEST("triple-fault", test_triple_fault);
GUEST_TEST("exception", test_exception);
GUEST_TEST("longmode", test_longmode);

extern const struct guest_test __guest_tests_start[], __guest_tests_end[];

void guest_run(const struct boot_info *bi)
{
	char name[32];
	serial_puts("ringvm test guest (" MODE ", ");
	serial_puts(bi->protocol);
	serial_puts(") cmdline: ");
	serial_puts(bi->cmdline);
	serial_putc('\n');
	if (!cmdline_get(bi->cmdline, "test", name, sizeof(name)))
		GUEST_FAIL("no test=NAME on the command line");
	for (const struct guest_test *t = __guest_tests_start; t < __guest_tests_end; t++) {
		if (!strcmp(name, t->name)) {
			serial_puts("test: ");
			serial_puts(name);
			serial_putc('\n');
			t->fn();
			GUEST_FAIL("test returned");
		}
	}
	char msg[64] = "unknown test (see GUEST_TEST in guests/): ";
	size_t n = strlen(msg);
	for (size_t i = 0; name[i] && n + 1 < sizeof(msg); i++)
		msg[n++] = name[i];
	msg[n] = 0;
	GUEST_FAIL(msg);
}
