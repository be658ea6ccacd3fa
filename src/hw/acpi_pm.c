/* ACPI PM1a event/control blocks, PM timer and reset register.
 *
 * PM timer: 32 bits wide, 3.579545 MHz, derived from CLOCK_MONOTONIC since
 * the device was created; the FADT must advertise TMR_VAL_EXT (flags bit 8)
 * so the guest expects 32 bits.  SCI_EN reads as 1: the machine is in ACPI
 * mode from boot (the FADT's SMI_CMD is 0).  SLP_EN with SLP_TYP 5 (S5, the
 * DSDT's _S5 value ACPI_SLP_TYP_S5) powers the machine off; other sleep types
 * wake up at once (WAK_STS set), sleeping is not modelled.  The reset register
 * resets the machine when the RST_CPU bit (2) is written, which covers the
 * FADT value ACPI_RESET_VALUE (0x06).  The SCI (IRQ 9, level) is high while
 * any enabled status bit is set; only the power button sets one (timer
 * overflow, global lock and RTC events are not modelled). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acpi_pm.h"
#include "ringvm/bus.h"
#include "ringvm/device.h"
#include "ringvm/log.h"
#include "ringvm/vm.h"

#define ACPI_PM1_STS_MASK (ACPI_PM1_TMR_STS | ACPI_PM1_BM_STS | ACPI_PM1_GBL_STS | \
			   ACPI_PM1_PWRBTN_STS | ACPI_PM1_SLPBTN_STS | ACPI_PM1_RTC_STS | \
			   ACPI_PM1_WAK_STS)
#define ACPI_PM1_EN_MASK (ACPI_PM1_TMR_EN | ACPI_PM1_GBL_EN | ACPI_PM1_PWRBTN_EN | \
			  ACPI_PM1_SLPBTN_EN | ACPI_PM1_RTC_EN)
#define ACPI_PM1_CNT_MASK (ACPI_PM1_BM_RLD | ACPI_PM1_SLP_TYP) /* stored bits */

struct acpi_pm {
	pthread_mutex_t lock;      /* two windows plus the power button */
	struct vm *vm;
	struct irq_line sci;
	bool sci_level;
	struct acpi_pm_clock clock;
	int64_t start_ns;
	uint16_t sts, en, cnt;
	uint8_t rcr;               /* reset control register, sticky bits */
	unsigned poweroffs, resets;
};

static int64_t acpi_pm_host_clock(void *opaque)
{
	struct timespec ts;
	(void)opaque;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t acpi_pm_vm_clock(void *opaque)
{
	return (int64_t)vm_clock_ns(opaque);
}

static uint32_t acpi_pm_timer_locked(struct acpi_pm *pm)
{
	int64_t ns = pm->clock.now_ns(pm->clock.opaque) - pm->start_ns;
	if (ns < 0)
		ns = 0;
	unsigned __int128 ticks = (unsigned __int128)(uint64_t)ns * ACPI_PM_TMR_HZ / 1000000000u;
	return (uint32_t)ticks;
}

static void acpi_pm_update_sci(struct acpi_pm *pm)
{
	bool level = (pm->sts & pm->en) != 0;
	if (level != pm->sci_level) {
		pm->sci_level = level;
		irq_line_set(&pm->sci, level);
	}
}

uint64_t acpi_pm_read(struct acpi_pm *pm, unsigned offset, unsigned size)
{
	uint8_t img[ACPI_PM_WINDOW] = { 0 };
	uint64_t v = 0;

	pthread_mutex_lock(&pm->lock);
	uint16_t cnt = (pm->cnt & ACPI_PM1_CNT_MASK) | ACPI_PM1_SCI_EN;
	uint32_t tmr = acpi_pm_timer_locked(pm);  /* one sample per access */
	img[0] = (uint8_t)pm->sts;
	img[1] = (uint8_t)(pm->sts >> 8);
	img[2] = (uint8_t)pm->en;
	img[3] = (uint8_t)(pm->en >> 8);
	img[4] = (uint8_t)cnt;
	img[5] = (uint8_t)(cnt >> 8);
	for (unsigned i = 0; i < 4; i++)
		img[8 + i] = (uint8_t)(tmr >> (8 * i));
	pthread_mutex_unlock(&pm->lock);

	for (unsigned i = 0; i < size && i < 8; i++)
		if (offset + i < ACPI_PM_WINDOW)
			v |= (uint64_t)img[offset + i] << (8 * i);
	return v;
}

void acpi_pm_write(struct acpi_pm *pm, unsigned offset, unsigned size, uint64_t value)
{
	bool poweroff = false;

	pthread_mutex_lock(&pm->lock);
	for (unsigned i = 0; i < size && i < 8; i++) {
		unsigned off = offset + i;
		uint16_t b = (uint8_t)(value >> (8 * i));
		unsigned shift = (off & 1) * 8;
		switch (off) {
		case 0:
		case 1:  /* status: write 1 to clear */
			pm->sts &= (uint16_t)~(b << shift);
			break;
		case 2:
		case 3:
			pm->en = (uint16_t)((pm->en & ~(0xff << shift)) | (b << shift));
			pm->en &= ACPI_PM1_EN_MASK;
			break;
		case 4:
		case 5:
			pm->cnt = (uint16_t)((pm->cnt & ~(0xff << shift)) | (b << shift));
			break;
		default: /* gap and the read-only timer */
			break;
		}
	}
	if (pm->cnt & ACPI_PM1_SLP_EN) {
		unsigned typ = (pm->cnt & ACPI_PM1_SLP_TYP) >> ACPI_PM1_SLP_TYP_SHIFT;
		if (typ == ACPI_SLP_TYP_S5) {
			poweroff = true;
			pm->poweroffs++;
		} else {
			if (pm->vm)  /* a guest can do this in a loop */
				vm_log(pm->vm, VM_LOG_DEVICE, LOG_INFO,
				       "acpi: sleep type %u not supported, waking at once", typ);
			else
				pr_info("acpi: sleep type %u not supported, waking at once", typ);
			pm->sts |= ACPI_PM1_WAK_STS;
		}
	}
	pm->cnt &= ACPI_PM1_CNT_MASK;  /* SLP_EN, GBL_RLS are write-only */
	acpi_pm_update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
	if (poweroff && pm->vm)
		vm_request_poweroff(pm->vm);
}

uint8_t acpi_pm_reset_reg_read(struct acpi_pm *pm)
{
	pthread_mutex_lock(&pm->lock);
	uint8_t v = pm->rcr;
	pthread_mutex_unlock(&pm->lock);
	return v;
}

void acpi_pm_reset_reg_write(struct acpi_pm *pm, uint8_t v)
{
	pthread_mutex_lock(&pm->lock);
	pm->rcr = v & (uint8_t)~ACPI_RESET_RST_CPU;  /* RST_CPU self-clears */
	bool reset = v & ACPI_RESET_RST_CPU;
	if (reset)
		pm->resets++;
	pthread_mutex_unlock(&pm->lock);
	if (reset && pm->vm)
		vm_request_reset(pm->vm, "ACPI reset register");
}

void acpi_pm_power_button(struct acpi_pm *pm)
{
	pthread_mutex_lock(&pm->lock);
	pm->sts |= ACPI_PM1_PWRBTN_STS;
	acpi_pm_update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

uint32_t acpi_pm_timer(struct acpi_pm *pm)
{
	pthread_mutex_lock(&pm->lock);
	uint32_t t = acpi_pm_timer_locked(pm);
	pthread_mutex_unlock(&pm->lock);
	return t;
}

bool acpi_pm_sci_level(struct acpi_pm *pm)
{
	pthread_mutex_lock(&pm->lock);
	bool l = pm->sci_level;
	pthread_mutex_unlock(&pm->lock);
	return l;
}

unsigned acpi_pm_poweroff_requests(struct acpi_pm *pm)
{
	pthread_mutex_lock(&pm->lock);
	unsigned n = pm->poweroffs;
	pthread_mutex_unlock(&pm->lock);
	return n;
}

unsigned acpi_pm_reset_requests(struct acpi_pm *pm)
{
	pthread_mutex_lock(&pm->lock);
	unsigned n = pm->resets;
	pthread_mutex_unlock(&pm->lock);
	return n;
}

void acpi_pm_reset(struct acpi_pm *pm)
{
	pthread_mutex_lock(&pm->lock);
	pm->sts = pm->en = pm->cnt = 0;
	pm->rcr = 0;
	acpi_pm_update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

struct acpi_pm *acpi_pm_new(struct vm *vm, const struct irq_router *router,
			    const struct acpi_pm_clock *clock)
{
	struct acpi_pm *pm = calloc(1, sizeof(*pm));
	if (!pm)
		return NULL;
	if (pthread_mutex_init(&pm->lock, NULL)) {
		free(pm);
		return NULL;
	}
	pm->vm = vm;
	irq_line_init(&pm->sci, router, ACPI_SCI_IRQ);
	if (clock && clock->now_ns)
		pm->clock = *clock;
	else
		pm->clock.now_ns = acpi_pm_host_clock;
	pm->start_ns = pm->clock.now_ns(pm->clock.opaque);
	return pm;
}

void acpi_pm_free(struct acpi_pm *pm)
{
	if (!pm)
		return;
	pthread_mutex_destroy(&pm->lock);
	free(pm);
}

/* ---- bus glue ----------------------------------------------------------- */

static uint64_t acpi_pm_bus_read(void *opaque, uint64_t offset, unsigned size)
{
	return acpi_pm_read(opaque, (unsigned)offset, size);
}

static void acpi_pm_bus_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	acpi_pm_write(opaque, (unsigned)offset, size, value);
}

static uint64_t acpi_reset_bus_read(void *opaque, uint64_t offset, unsigned size)
{
	(void)offset;
	(void)size;
	return acpi_pm_reset_reg_read(opaque);
}

static void acpi_reset_bus_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	(void)offset;
	(void)size;
	acpi_pm_reset_reg_write(opaque, (uint8_t)value);
}

static const struct bus_ops acpi_pm_bus_ops = {
	.read = acpi_pm_bus_read, .write = acpi_pm_bus_write };
static const struct bus_ops acpi_reset_bus_ops = {
	.read = acpi_reset_bus_read, .write = acpi_reset_bus_write };

static void acpi_pm_dev_reset(void *opaque)
{
	acpi_pm_reset(opaque);
}

static void acpi_pm_dev_destroy(void *opaque)
{
	acpi_pm_free(opaque);
}

/* Snapshots: the PM1 registers and the timer's origin (machine clock,
 * which a restore continues). */
struct acpi_pm_snap {
	int64_t start_ns;
	uint16_t sts, en, cnt;
	uint8_t rcr;
	uint8_t pad;
};

static long acpi_pm_dev_save(void *opaque, void *buf, size_t cap)
{
	struct acpi_pm *pm = opaque;
	struct acpi_pm_snap s;
	if (cap < sizeof(s))
		return -ENOSPC;
	memset(&s, 0, sizeof(s));
	pthread_mutex_lock(&pm->lock);
	s.start_ns = pm->start_ns;
	s.sts = pm->sts;
	s.en = pm->en;
	s.cnt = pm->cnt;
	s.rcr = pm->rcr;
	pthread_mutex_unlock(&pm->lock);
	memcpy(buf, &s, sizeof(s));
	return (long)sizeof(s);
}

static int acpi_pm_dev_load(void *opaque, const void *buf, size_t len)
{
	struct acpi_pm *pm = opaque;
	struct acpi_pm_snap s;
	if (len != sizeof(s))
		return -EINVAL;
	memcpy(&s, buf, sizeof(s));
	pthread_mutex_lock(&pm->lock);
	pm->start_ns = s.start_ns;
	pm->sts = s.sts;
	pm->en = s.en;
	pm->cnt = s.cnt & ACPI_PM1_CNT_MASK;
	pm->rcr = s.rcr;
	acpi_pm_update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
	return 0;
}

static const struct vm_device_ops acpi_pm_dev_ops = {
	.save = acpi_pm_dev_save,
	.load = acpi_pm_dev_load,
	.reset = acpi_pm_dev_reset,
	.destroy = acpi_pm_dev_destroy,
};

static int acpi_pm_create(struct vm *vm)
{
	/* The machine's clock: it stops while the VM is paused. */
	struct acpi_pm_clock clock = { .now_ns = acpi_pm_vm_clock, .opaque = vm };
	struct acpi_pm *pm = acpi_pm_new(vm, &vm->irq, &clock);
	if (!pm)
		return -ENOMEM;
	int r = bus_register(&vm->pio, PORT_ACPI_PM_BASE, ACPI_PM_WINDOW, &acpi_pm_bus_ops,
			     pm, "acpi-pm");
	if (r < 0)
		goto fail;
	r = bus_register(&vm->pio, PORT_ACPI_RESET, 1, &acpi_reset_bus_ops, pm, "acpi-reset");
	if (r < 0) {
		bus_unregister(&vm->pio, PORT_ACPI_PM_BASE);
		goto fail;
	}
	r = vm_add_device(vm, "acpi-pm", &acpi_pm_dev_ops, pm);
	if (r < 0) {
		bus_unregister(&vm->pio, PORT_ACPI_RESET);
		bus_unregister(&vm->pio, PORT_ACPI_PM_BASE);
		goto fail;
	}
	return 0;
fail:
	acpi_pm_free(pm);
	return r;
}

VM_DEVICE(acpi_pm, acpi_pm_create);
