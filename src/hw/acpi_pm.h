/* ACPI fixed-hardware power management: PM1a event block, PM1a control, the
 * PM timer (one window at PORT_ACPI_PM_BASE) and the reset register
 * (PORT_ACPI_RESET).  See acpi_pm.c. */
#ifndef RINGVM_HW_ACPI_PM_H
#define RINGVM_HW_ACPI_PM_H

#include <stdbool.h>
#include <stdint.h>

#include "ringvm/irq.h"

struct vm;
struct acpi_pm;

#define ACPI_PM_WINDOW      12        /* EVT 0-3, CNT 4-5, gap 6-7, TMR 8-11 */
#define ACPI_PM_TMR_HZ      3579545ULL

#define ACPI_PM1_TMR_STS    0x0001
#define ACPI_PM1_BM_STS     0x0010
#define ACPI_PM1_GBL_STS    0x0020
#define ACPI_PM1_PWRBTN_STS 0x0100
#define ACPI_PM1_SLPBTN_STS 0x0200
#define ACPI_PM1_RTC_STS    0x0400
#define ACPI_PM1_WAK_STS    0x8000

#define ACPI_PM1_TMR_EN     0x0001
#define ACPI_PM1_GBL_EN     0x0020
#define ACPI_PM1_PWRBTN_EN  0x0100
#define ACPI_PM1_SLPBTN_EN  0x0200
#define ACPI_PM1_RTC_EN     0x0400

#define ACPI_PM1_SCI_EN     0x0001
#define ACPI_PM1_BM_RLD     0x0002
#define ACPI_PM1_GBL_RLS    0x0004
#define ACPI_PM1_SLP_TYP_SHIFT 10
#define ACPI_PM1_SLP_TYP    (7u << ACPI_PM1_SLP_TYP_SHIFT)
#define ACPI_PM1_SLP_EN     0x2000

#define ACPI_RESET_RST_CPU  0x04      /* reset control register bit 2 */

/* Monotonic nanoseconds for the PM timer. */
struct acpi_pm_clock {
	int64_t (*now_ns)(void *opaque);
	void *opaque;
};

/* vm may be NULL (requests are then only counted); clock NULL: the host's
 * CLOCK_MONOTONIC. */
struct acpi_pm *acpi_pm_new(struct vm *vm, const struct irq_router *router,
			    const struct acpi_pm_clock *clock);
void acpi_pm_free(struct acpi_pm *pm);
void acpi_pm_reset(struct acpi_pm *pm);
/* Accesses to the PM window (offset 0..11) and to the reset register. */
uint64_t acpi_pm_read(struct acpi_pm *pm, unsigned offset, unsigned size);
void acpi_pm_write(struct acpi_pm *pm, unsigned offset, unsigned size, uint64_t value);
uint8_t acpi_pm_reset_reg_read(struct acpi_pm *pm);
void acpi_pm_reset_reg_write(struct acpi_pm *pm, uint8_t value);
/* Press the power button (sets PWRBTN_STS; SCI if enabled): a guest with
 * ACPI support shuts down cleanly.  Thread safe. */
void acpi_pm_power_button(struct acpi_pm *pm);
/* The 32-bit timer value now. */
uint32_t acpi_pm_timer(struct acpi_pm *pm);
bool acpi_pm_sci_level(struct acpi_pm *pm);
/* Requests made so far (also passed to the vm when there is one). */
unsigned acpi_pm_poweroff_requests(struct acpi_pm *pm);
unsigned acpi_pm_reset_requests(struct acpi_pm *pm);

#endif
