/* libFuzzer target: the device register interfaces as state machines.
 *
 * A fresh machine per input: the legacy devices (UART 8250, i8042, RTC,
 * ACPI PM, through the functions their bus handlers call) wired to the
 * board irqchip (PIC, PIT, IOAPIC) and the soft engine's two LAPICs (through
 * the PIO/MMIO buses and the LAPIC/MSR entry points the vCPU uses) and the kvmclock
 * MSRs (which write guest memory at a guest-chosen address: 1 MiB of RAM
 * here), all on one fake clock.  No vCPU runs.  The input is a sequence of 7-byte records:
 *   op  off_lo  off_hi|size|write  value[4]
 * op selects the device (or a clock advance / interrupt acknowledge / reset);
 * the rest is an access any guest could make.  Checked (abort() = a
 * finding): a pending or taken vector is -1 or 0..255.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ringvm/compiler.h"
#include "ringvm/layout.h"
#include "ringvm/vm.h"
#include "src/cpu/soft/irqchip/irqchip.h"
#include "src/cpu/soft/irqchip/kvmclock.h"
#include "src/hw/acpi_pm.h"
#include "src/hw/i8042.h"
#include "src/hw/rtc.h"
#include "src/hw/uart8250.h"

#define FUZZ_DEV_CPUS 2
#define FUZZ_DEV_REC 7
#define FUZZ_DEV_MAX_RECS 2048
#define FUZZ_DEV_RAM (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_dev {
	struct vm vm;
	struct board_irqchip *board;
	struct soft_irqchip *chip;
	struct uart8250 *uart;
	struct i8042 *kbd;
	struct rtc *rtc;
	struct acpi_pm *pm;
	struct gmem mem;       /* guest RAM for the kvmclock structures */
	struct kvmclock_vcpu kc[FUZZ_DEV_CPUS];
	uint64_t now;          /* the fake clock, ns */
	int64_t rtc_armed;     /* what the RTC last asked its back end for */
};

static void fuzz_dev_rtc_arm(void *opaque, int64_t when_ns)
{
	((struct fuzz_dev *)opaque)->rtc_armed = when_ns;
}

static struct kvmclock_now fuzz_dev_kvmclock_now(const struct fuzz_dev *d)
{
	return (struct kvmclock_now){ .tsc_hz = 1000000000ULL, .guest_tsc = d->now,
				      .system_ns = d->now, .wall_ns = 1700000000ULL * 1000000000ULL };
}

/* kvmclock MSRs (Linux's pvclock ABI): a write with the enable bit and an
 * address in RAM leaves an even version there; any other address is
 * ignored (-EFAULT), never a host access. */
static void fuzz_dev_kvmclock(struct fuzz_dev *d, unsigned cpu, unsigned off, bool write,
			      uint64_t v64)
{
	static const uint32_t msrs[] = { MSR_KVM_WALL_CLOCK, MSR_KVM_SYSTEM_TIME,
					 MSR_KVM_WALL_CLOCK_NEW, MSR_KVM_SYSTEM_TIME_NEW };
	uint32_t msr = msrs[off & 3];
	uint64_t x;
	if (!write) {
		if (kvmclock_rdmsr(&d->kc[cpu], msr, &x) != 0)
			abort();
		return;
	}
	struct kvmclock_now now = fuzz_dev_kvmclock_now(d);
	int r = kvmclock_wrmsr(&d->kc[cpu], &d->mem, msr, v64, &now);
	if (r != 0 && r != -EFAULT)
		abort();
	uint64_t gpa = (msr == MSR_KVM_SYSTEM_TIME || msr == MSR_KVM_SYSTEM_TIME_NEW) ?
		       v64 & ~1ULL : v64;
	uint32_t version;
	if (r == 0 && (msr == MSR_KVM_WALL_CLOCK || msr == MSR_KVM_WALL_CLOCK_NEW || (v64 & 1)) &&
	    (gmem_read(&d->mem, gpa, &version, 4) != 0 || (version & 1)))
		abort();
}

static uint64_t fuzz_dev_clock(void *opaque)
{
	return ((struct fuzz_dev *)opaque)->now;
}

static int64_t fuzz_dev_clock_s(void *opaque)
{
	return (int64_t)((struct fuzz_dev *)opaque)->now;
}

static void fuzz_dev_wake(void *opaque, unsigned cpu)
{
	(void)opaque;
	(void)cpu;
}

/* The PIC, PIT and port 0x61/ELCR ports the board irqchip registers. */
static const uint16_t fuzz_dev_ports[] = { 0x20, 0x21, 0xa0, 0xa1, 0x40, 0x41, 0x42, 0x43,
					   0x61, 0x4d0, 0x4d1 };

/* What the engine and the no-progress detection ask between slices, and
 * the device lines the back ends read. */
static void fuzz_dev_check(struct fuzz_dev *d)
{
	for (unsigned c = 0; c < FUZZ_DEV_CPUS; c++) {
		int v = soft_irqchip_pending(d->chip, c, true);
		if (v < -1 || v > 255)
			abort();
		(void)soft_irqchip_next_deadline_ns(d->chip, c);
		(void)soft_irqchip_attention(d->chip, c);
		(void)soft_irqchip_waiting_for_sipi(d->chip, c);
		(void)soft_irqchip_nmi_source_armed(d->chip, c);
		(void)soft_irqchip_lapic_mmio_base(d->chip, c);
	}
	(void)soft_irqchip_tsc_to_ns(d->chip, soft_irqchip_guest_tsc(d->chip, d->now));
	if (rtc_next_event_ns(d->rtc) < -1 || d->rtc_armed < -1)
		abort();
	(void)rtc_irq_level(d->rtc);
	(void)uart8250_irq_level(d->uart);
	(void)acpi_pm_sci_level(d->pm);
}

static void fuzz_dev_one(struct fuzz_dev *d, const uint8_t *r)
{
	unsigned op = r[0];
	unsigned off = r[1] | (unsigned)(r[2] & 0x0f) << 8;
	unsigned size = 1u << ((r[2] >> 4) & 3);          /* 1, 2, 4, 8 */
	bool write = r[2] & 0x80;
	uint32_t val = (uint32_t)r[3] | (uint32_t)r[4] << 8 | (uint32_t)r[5] << 16 |
		       (uint32_t)r[6] << 24;
	unsigned cpu = (op >> 4) % FUZZ_DEV_CPUS;
	uint64_t x = 0;

	switch (op % 12) {
	case 0:
		if (write)
			uart8250_write(d->uart, off & 7, (uint8_t)val);
		else
			(void)uart8250_read(d->uart, off & 7);
		break;
	case 1: /* host-side input: the guest's peer can send any bytes */
		(void)uart8250_enqueue(d->uart, r + 3, val % 5);
		break;
	case 2: {
		unsigned port = (off & 1) ? PORT_I8042_CMD : PORT_I8042_DATA;
		if (write)
			i8042_write(d->kbd, port, (uint8_t)val);
		else
			(void)i8042_read(d->kbd, port);
		break;
	}
	case 3:
		if (write)
			rtc_write(d->rtc, off & 1, (uint8_t)val);
		else
			(void)rtc_read(d->rtc, off & 1);
		break;
	case 4:
		/* the PM window is 12 bytes (bus handlers pass 0..11), size 1/2/4 */
		if (size > 4)
			size = 4;
		if (off & 0x100) {
			if (write)
				acpi_pm_reset_reg_write(d->pm, (uint8_t)val);
			else
				(void)acpi_pm_reset_reg_read(d->pm);
		} else if (write) {
			acpi_pm_write(d->pm, off % ACPI_PM_WINDOW, size, val);
		} else {
			(void)acpi_pm_read(d->pm, off % ACPI_PM_WINDOW, size);
		}
		break;
	case 5: {
		uint16_t port = fuzz_dev_ports[off % ARRAY_SIZE(fuzz_dev_ports)];
		if (size > 4)
			size = 4;
		if (write)
			(void)bus_write(&d->vm.pio, port, size, val);
		else
			(void)bus_read(&d->vm.pio, port, size, &x);
		break;
	}
	case 6: {
		uint64_t a = LAYOUT_IOAPIC + (off & 0xff);
		if (write)
			(void)bus_write(&d->vm.mmio, a, size, val);
		else
			(void)bus_read(&d->vm.mmio, a, size, &x);
		break;
	}
	case 7:
		if (write)
			soft_lapic_mmio_write(d->chip, cpu, off, size, val);
		else
			(void)soft_lapic_mmio_read(d->chip, cpu, off, size);
		break;
	case 8: {
		/* x2APIC MSRs, the APIC base, TSC deadline; kvmclock with off
		 * bit 11 */
		if (off & 0x800) {
			uint64_t v = (uint64_t)val << ((off & 0x200) ? 32 : 0) |
				     (off & 0x400 ? val : 0);
			fuzz_dev_kvmclock(d, cpu, off, write, (off & 0x100) ? v & 0xfffff : v);
			break;
		}
		uint32_t msr = (off & 0x100) ? 0x800 + (off & 0xff) : ((off & 1) ? 0x6e0 : 0x1b);
		uint64_t v64 = (uint64_t)val << ((off & 0x200) ? 32 : 0) | (off & 0x400 ? val : 0);
		if (write)
			(void)soft_irqchip_wrmsr(d->chip, cpu, msr, v64);
		else
			(void)soft_irqchip_rdmsr(d->chip, cpu, msr, &x);
		break;
	}
	case 9:
		(void)board_irqchip_set_irq(d->board, off % 24, write);
		break;
	case 10: {
		/* time passes: up to ~4.3 s per record, the devices catch up */
		d->now += val;
		if (soft_irqchip_poll_due(d->chip, d->now))
			soft_irqchip_poll(d->chip, d->now);
		rtc_poll(d->rtc);
		(void)acpi_pm_timer(d->pm);
		struct kvmclock_now kn = fuzz_dev_kvmclock_now(d);
		for (unsigned c = 0; c < FUZZ_DEV_CPUS; c++) {
			int rr = kvmclock_refresh(&d->kc[c], &d->mem, &kn);
			if (rr != 0 && rr != -EFAULT)
				abort();
		}
		break;
	}
	default:
		switch (off & 7) {
		case 0: {
			/* take, or (off bit 3) pending then the INTA cycle */
			int v = (off & 8) ? soft_irqchip_ack(d->chip, cpu,
							     soft_irqchip_pending(d->chip, cpu, write))
					  : soft_irqchip_take(d->chip, cpu, write);
			if (v < -1 || v > 255)
				abort();
			break;
		}
		case 1: (void)soft_irqchip_take_nmi(d->chip, cpu); break;
		case 2: (void)soft_irqchip_take_init(d->chip, cpu); break;
		case 3: (void)soft_irqchip_take_sipi(d->chip, cpu); break;
		case 4: soft_irqchip_lint1(d->chip, cpu); break;
		case 5:
			board_irqchip_reset(d->board);
			soft_irqchip_reset(d->chip);
			break;
		case 6:
			uart8250_reset(d->uart);
			i8042_reset(d->kbd);
			rtc_reset(d->rtc);
			acpi_pm_reset(d->pm);
			break;
		default:
			acpi_pm_power_button(d->pm);
			break;
		}
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_dev *d = calloc(1, sizeof(*d));
	if (!d)
		return 0;
	d->now = 1000000000ULL;
	if (bus_init(&d->vm.pio, BUS_PIO) || bus_init(&d->vm.mmio, BUS_MMIO))
		abort();
	struct gmem_opts mo = { .ram_size = FUZZ_DEV_RAM };
	if (gmem_init(&d->mem, &mo) != 0)
		abort();
	struct board_irqchip_config bcfg = { .clock = fuzz_dev_clock, .clock_opaque = d };
	d->board = board_irqchip_create(&d->vm, &bcfg);
	if (!d->board)
		abort();
	struct soft_irqchip_config cfg = {
		.nr_vcpus = FUZZ_DEV_CPUS, .clock = fuzz_dev_clock, .clock_opaque = d,
		.board = d->board,
	};
	d->chip = soft_irqchip_create_cfg(&d->vm, &cfg);
	if (!d->chip)
		abort();
	soft_irqchip_set_wake(d->chip, fuzz_dev_wake, d);
	const struct irq_router *router = board_irqchip_router(d->board);
	struct rtc_clock rc = { fuzz_dev_clock_s, d };
	struct acpi_pm_clock pc = { fuzz_dev_clock_s, d };
	d->uart = uart8250_new(router, 4);
	d->kbd = i8042_new(NULL, router);
	d->rtc = rtc_new(&rc, router);
	d->pm = acpi_pm_new(NULL, router, &pc);
	if (!d->uart || !d->kbd || !d->rtc || !d->pm)
		abort();
	d->rtc_armed = -1;
	rtc_set_timer(d->rtc, fuzz_dev_rtc_arm, d);

	size_t n = size / FUZZ_DEV_REC;
	if (n > FUZZ_DEV_MAX_RECS)
		n = FUZZ_DEV_MAX_RECS;
	for (size_t i = 0; i < n; i++) {
		fuzz_dev_one(d, data + i * FUZZ_DEV_REC);
		if ((i & 15) == 15)
			fuzz_dev_check(d);
	}
	fuzz_dev_check(d);

	uart8250_free(d->uart);
	i8042_free(d->kbd);
	rtc_free(d->rtc);
	acpi_pm_free(d->pm);
	soft_irqchip_destroy(d->chip);
	board_irqchip_destroy(d->board);
	bus_destroy(&d->vm.pio);
	bus_destroy(&d->vm.mmio);
	gmem_destroy(&d->mem);
	free(d);
	return 0;
}
