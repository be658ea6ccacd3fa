/* MC146818 CMOS real-time clock and its 128 bytes of CMOS RAM (ports 0x70
 * index, 0x71 data).  Time comes from an injectable per-instance clock (host
 * UTC by default).  IRQ 8 carries periodic, alarm and update-ended
 * interrupts.  See rtc.c for what is modelled. */
#ifndef RINGVM_HW_RTC_H
#define RINGVM_HW_RTC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ringvm/irq.h"

struct vm;
struct rtc;

/* Register indexes. */
#define RTC_SECONDS       0x00
#define RTC_SECONDS_ALARM 0x01
#define RTC_MINUTES       0x02
#define RTC_MINUTES_ALARM 0x03
#define RTC_HOURS         0x04
#define RTC_HOURS_ALARM   0x05
#define RTC_DAY_OF_WEEK   0x06
#define RTC_DAY_OF_MONTH  0x07
#define RTC_MONTH         0x08
#define RTC_YEAR          0x09
#define RTC_REG_A         0x0a
#define RTC_REG_B         0x0b
#define RTC_REG_C         0x0c
#define RTC_REG_D         0x0d
#define RTC_CENTURY       0x32 /* what the FADT's CENTURY field must name */

#define RTC_A_UIP   0x80
#define RTC_B_SET   0x80
#define RTC_B_PIE   0x40
#define RTC_B_AIE   0x20
#define RTC_B_UIE   0x10
#define RTC_B_DM    0x04 /* 1 = binary, 0 = BCD */
#define RTC_B_24H   0x02
#define RTC_C_IRQF  0x80
#define RTC_C_PF    0x40
#define RTC_C_AF    0x20
#define RTC_C_UF    0x10
#define RTC_D_VRT   0x80
#define RTC_HOUR_PM 0x80 /* in 12-hour mode */

#define RTC_CMOS_SIZE 128

/* Nanoseconds since the Unix epoch, UTC. */
struct rtc_clock {
	int64_t (*now_ns)(void *opaque);
	void *opaque;
};

/* clock NULL: the host's CLOCK_REALTIME.  router may be NULL (no IRQ 8). */
struct rtc *rtc_new(const struct rtc_clock *clock, const struct irq_router *router);
/* Snapshots: the guest-visible state (vm_device_ops.save/load). */
long rtc_save(struct rtc *r, void *buf, size_t cap);
int rtc_load(struct rtc *r, const void *buf, size_t len);
void rtc_free(struct rtc *r);
void rtc_reset(struct rtc *r);     /* a machine reset: CMOS and time survive */
/* port 0 = index (0x70), 1 = data (0x71). */
uint8_t rtc_read(struct rtc *r, unsigned port);
void rtc_write(struct rtc *r, unsigned port, uint8_t value);
/* Accesses with no effect (metrics): reads of the write-only index port,
 * writes to the read-only registers C and D. */
void rtc_missed(struct rtc *r, uint64_t *reads, uint64_t *writes);
/* Interrupt timing.  The state machine has no timer of its own: it tells a
 * back end (arm) the clock time in ns of its next periodic/alarm/update event
 * (-1: none needed), and the back end calls rtc_poll() at that time.  arm is
 * called with the device lock held; it must not call back into the rtc. */
void rtc_set_timer(struct rtc *r, void (*arm)(void *opaque, int64_t when_ns), void *opaque);
void rtc_poll(struct rtc *r);
int64_t rtc_next_event_ns(struct rtc *r);
bool rtc_irq_level(struct rtc *r);

/* Direct CMOS access for the machine (memory size, CPU count). */
void rtc_cmos_set(struct rtc *r, uint8_t index, uint8_t value);
uint8_t rtc_cmos_get(struct rtc *r, uint8_t index);
/* Fill the memory-size and CPU-count bytes the way QEMU/SeaBIOS do. */
void rtc_cmos_set_machine(struct rtc *r, uint64_t ram_size, unsigned cpus);

#endif
