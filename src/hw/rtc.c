/* MC146818 RTC + CMOS RAM.
 *
 * Modelled: time and calendar registers computed from the clock on every read
 * (guest time = host UTC + an offset the guest sets by writing the time), BCD
 * or binary (register B DM), 12 or 24 hours (register B 24/12, PM in bit 7 of
 * the hour), the century at 0x32, register A with UIP high during the last
 * 244 us of each second (the window before an update) and the periodic rate
 * select, register B SET freezing the registers while the guest writes a new
 * time, register C flags (PF periodic, AF alarm with "don't care" values
 * >= 0xc0, UF update ended; IRQF; cleared by reading C) and register D with
 * VRT.  IRQ 8 is high while IRQF is set.  Flags are computed lazily from the
 * clock; a host timer (a timerfd on the event loop) is armed only while an
 * enabled interrupt can fire and IRQF is clear (rtc_dev.c).  CMOS bytes
 * 0x0e-0x7f are plain RAM (their layout: rtc_cmos.c).
 * Not modelled: daylight saving, the divider-chain reset modes other than
 * "stopped", square-wave output. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rtc.h"
#include "ringvm/layout.h"

#define NSEC_PER_SEC 1000000000LL
#define RTC_UIP_NS   244000LL   /* UIP rises this long before the update */
#define RTC_A_DV_MASK 0x70
#define RTC_A_DV_NORMAL 0x20    /* 32.768 kHz time base, running */
#define RTC_A_DEFAULT 0x26      /* 32.768 kHz, 1024 Hz periodic rate */
#define RTC_B_DEFAULT RTC_B_24H /* BCD, 24 hours */
#define RTC_ALARM_DONT_CARE 0xc0
#define RTC_ALARM_SCAN (24 * 3600) /* seconds checked for an alarm after a gap */

struct rtc {
	pthread_mutex_t lock;         /* vCPU accesses vs. the timer callback */
	struct rtc_clock clock;
	struct irq_line irq;
	bool irq_level;
	uint8_t index;
	uint8_t cmos[RTC_CMOS_SIZE];  /* time registers hold the frozen copy under SET */
	int64_t offset_s;             /* guest time minus host time, seconds */
	int64_t last_ns;              /* clock time events are processed up to */
	uint8_t flags;                /* pending PF | AF | UF */
	void (*arm)(void *opaque, int64_t when_ns);
	void *arm_opaque;
	/* metrics (not guest state): reads of the write-only index port,
	 * writes to the read-only registers C and D */
	uint64_t missed_reads, missed_writes;
};

static int64_t rtc_floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b < 0);
}

static int64_t rtc_host_clock(void *opaque)
{
	struct timespec ts;
	(void)opaque;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

static void rtc_now(const struct rtc *r, int64_t *sec, int64_t *sub_ns)
{
	int64_t ns = r->clock.now_ns(r->clock.opaque);
	int64_t s = rtc_floor_div(ns, NSEC_PER_SEC);
	*sec = s + r->offset_s;
	*sub_ns = ns - s * NSEC_PER_SEC;
}

static bool rtc_binary(const struct rtc *r)
{
	return r->cmos[RTC_REG_B] & RTC_B_DM;
}

static uint8_t rtc_to_reg(const struct rtc *r, unsigned v)
{
	v %= 100;
	return rtc_binary(r) ? (uint8_t)v : (uint8_t)(((v / 10) << 4) | (v % 10));
}

static unsigned rtc_from_reg(const struct rtc *r, uint8_t v)
{
	return rtc_binary(r) ? v : (unsigned)(v >> 4) * 10 + (v & 0x0f);
}

static uint8_t rtc_hour_to_reg(const struct rtc *r, unsigned h)
{
	if (r->cmos[RTC_REG_B] & RTC_B_24H)
		return rtc_to_reg(r, h);
	unsigned h12 = h % 12 ? h % 12 : 12;
	return (uint8_t)(rtc_to_reg(r, h12) | (h >= 12 ? RTC_HOUR_PM : 0));
}

static unsigned rtc_hour_from_reg(const struct rtc *r, uint8_t v)
{
	if (r->cmos[RTC_REG_B] & RTC_B_24H)
		return rtc_from_reg(r, v);
	unsigned h = rtc_from_reg(r, v & ~RTC_HOUR_PM) % 12;
	return (v & RTC_HOUR_PM) ? h + 12 : h;
}

/* Value of a time register (0x00-0x09 even ones, 0x06-0x09, century) at
 * guest time t. */
static bool rtc_time_reg(const struct rtc *r, uint8_t idx, int64_t t, uint8_t *out)
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (!gmtime_r(&tt, &tm))
		return false;
	switch (idx) {
	case RTC_SECONDS: *out = rtc_to_reg(r, (unsigned)tm.tm_sec); break;
	case RTC_MINUTES: *out = rtc_to_reg(r, (unsigned)tm.tm_min); break;
	case RTC_HOURS: *out = rtc_hour_to_reg(r, (unsigned)tm.tm_hour); break;
	case RTC_DAY_OF_WEEK: *out = rtc_to_reg(r, (unsigned)tm.tm_wday + 1); break;
	case RTC_DAY_OF_MONTH: *out = rtc_to_reg(r, (unsigned)tm.tm_mday); break;
	case RTC_MONTH: *out = rtc_to_reg(r, (unsigned)tm.tm_mon + 1); break;
	case RTC_YEAR: *out = rtc_to_reg(r, (unsigned)(tm.tm_year + 1900) % 100); break;
	case RTC_CENTURY: *out = rtc_to_reg(r, (unsigned)(tm.tm_year + 1900) / 100); break;
	default: return false;
	}
	return true;
}

static bool rtc_is_time_reg(uint8_t idx)
{
	return idx == RTC_SECONDS || idx == RTC_MINUTES || idx == RTC_HOURS ||
	       (idx >= RTC_DAY_OF_WEEK && idx <= RTC_YEAR) || idx == RTC_CENTURY;
}

static const uint8_t rtc_time_regs[] = { RTC_SECONDS, RTC_MINUTES, RTC_HOURS,
	RTC_DAY_OF_WEEK, RTC_DAY_OF_MONTH, RTC_MONTH, RTC_YEAR, RTC_CENTURY };

/* Copy the running time into the registers (they then stop). */
static void rtc_snapshot(struct rtc *r)
{
	int64_t t, sub;
	rtc_now(r, &t, &sub);
	for (unsigned i = 0; i < sizeof(rtc_time_regs); i++)
		rtc_time_reg(r, rtc_time_regs[i], t, &r->cmos[rtc_time_regs[i]]);
}

/* Let the registers run again from the time they hold.  Guest values are
 * not trusted: timegm() normalises anything out of range. */
static void rtc_commit(struct rtc *r)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	tm.tm_sec = (int)rtc_from_reg(r, r->cmos[RTC_SECONDS]);
	tm.tm_min = (int)rtc_from_reg(r, r->cmos[RTC_MINUTES]);
	tm.tm_hour = (int)rtc_hour_from_reg(r, r->cmos[RTC_HOURS]);
	tm.tm_mday = (int)rtc_from_reg(r, r->cmos[RTC_DAY_OF_MONTH]);
	tm.tm_mon = (int)rtc_from_reg(r, r->cmos[RTC_MONTH]) - 1;
	tm.tm_year = (int)(rtc_from_reg(r, r->cmos[RTC_CENTURY]) * 100 +
			   rtc_from_reg(r, r->cmos[RTC_YEAR])) - 1900;
	time_t guest = timegm(&tm);
	if (guest == (time_t)-1 && tm.tm_year != 69)
		return;  /* unrepresentable: keep the old offset */
	int64_t host_s = rtc_floor_div(r->clock.now_ns(r->clock.opaque), NSEC_PER_SEC);
	r->offset_s = (int64_t)guest - host_s;
}

static bool rtc_frozen(const struct rtc *r)
{
	return r->cmos[RTC_REG_B] & RTC_B_SET;
}

/* The divider chain runs (register A DV = 010) and updates are not held. */
static bool rtc_running(const struct rtc *r)
{
	return (r->cmos[RTC_REG_A] & RTC_A_DV_MASK) == RTC_A_DV_NORMAL && !rtc_frozen(r);
}

/* Periodic interrupt period for register A's rate select, 0 if off. */
static int64_t rtc_period_ns(const struct rtc *r)
{
	unsigned rs = r->cmos[RTC_REG_A] & 0x0f;
	if (!rs || (r->cmos[RTC_REG_A] & RTC_A_DV_MASK) != RTC_A_DV_NORMAL)
		return 0;
	if (rs < 3)
		rs += 7;  /* 256 and 128 Hz, as with a 32.768 kHz time base */
	return (int64_t)(1u << (rs - 1)) * NSEC_PER_SEC / 32768;
}

static bool rtc_alarm_field(uint8_t want, uint8_t now)
{
	return (want & RTC_ALARM_DONT_CARE) == RTC_ALARM_DONT_CARE || want == now;
}

/* UTC has no leap seconds or DST in POSIX time, so the time of day is plain
 * arithmetic: cheap enough to test every second of a long gap. */
static bool rtc_alarm_match(const struct rtc *r, int64_t t)
{
	int64_t day_s = t - rtc_floor_div(t, 86400) * 86400;
	return rtc_alarm_field(r->cmos[RTC_SECONDS_ALARM], rtc_to_reg(r, (unsigned)(day_s % 60))) &&
	       rtc_alarm_field(r->cmos[RTC_MINUTES_ALARM],
			       rtc_to_reg(r, (unsigned)(day_s / 60 % 60))) &&
	       rtc_alarm_field(r->cmos[RTC_HOURS_ALARM],
			       rtc_hour_to_reg(r, (unsigned)(day_s / 3600)));
}

/* Set the flags for every event in (last_ns, now]. */
static void rtc_advance(struct rtc *r, int64_t now)
{
	int64_t last = r->last_ns;
	r->last_ns = now;
	if (now <= last)
		return;  /* the host clock stepped back: just follow it */
	if (rtc_running(r)) {
		int64_t s0 = rtc_floor_div(last, NSEC_PER_SEC);
		int64_t s1 = rtc_floor_div(now, NSEC_PER_SEC);
		if (s1 > s0) {
			r->flags |= RTC_C_UF;
			int64_t from = s1 - s0 > RTC_ALARM_SCAN ? s1 - RTC_ALARM_SCAN + 1 : s0 + 1;
			for (int64_t s = from; s <= s1 && !(r->flags & RTC_C_AF); s++)
				if (rtc_alarm_match(r, s + r->offset_s))
					r->flags |= RTC_C_AF;
		}
	}
	int64_t period = rtc_period_ns(r);
	if (period && rtc_floor_div(now, period) > rtc_floor_div(last, period))
		r->flags |= RTC_C_PF;
}

static bool rtc_irqf(const struct rtc *r)
{
	uint8_t b = r->cmos[RTC_REG_B];
	return ((r->flags & RTC_C_PF) && (b & RTC_B_PIE)) ||
	       ((r->flags & RTC_C_AF) && (b & RTC_B_AIE)) ||
	       ((r->flags & RTC_C_UF) && (b & RTC_B_UIE));
}

static int64_t rtc_next_event_locked(const struct rtc *r)
{
	if (rtc_irqf(r))
		return -1;  /* IRQ 8 is up until the guest reads C */
	uint8_t b = r->cmos[RTC_REG_B];
	int64_t now = r->last_ns, next = -1;
	if ((b & (RTC_B_UIE | RTC_B_AIE)) && rtc_running(r))
		next = (rtc_floor_div(now, NSEC_PER_SEC) + 1) * NSEC_PER_SEC;
	int64_t period = rtc_period_ns(r);
	if ((b & RTC_B_PIE) && period) {
		int64_t p = (rtc_floor_div(now, period) + 1) * period;
		if (next < 0 || p < next)
			next = p;
	}
	return next;
}

/* After any change: drive IRQ 8 and tell the timer back end. */
static void rtc_sync(struct rtc *r)
{
	bool level = rtc_irqf(r);
	if (level != r->irq_level) {
		r->irq_level = level;
		irq_line_set(&r->irq, level);
	}
	if (r->arm)
		r->arm(r->arm_opaque, rtc_next_event_locked(r));
}

static uint8_t rtc_read_reg(struct rtc *r, uint8_t idx)
{
	int64_t t, sub;
	uint8_t v = r->cmos[idx];

	if (rtc_is_time_reg(idx)) {
		if (!rtc_frozen(r)) {
			rtc_now(r, &t, &sub);
			rtc_time_reg(r, idx, t, &v);
		}
		return v;
	}
	switch (idx) {
	case RTC_REG_A:
		v &= ~RTC_A_UIP;
		rtc_now(r, &t, &sub);
		if (!rtc_frozen(r) && (v & RTC_A_DV_MASK) == RTC_A_DV_NORMAL &&
		    sub >= NSEC_PER_SEC - RTC_UIP_NS)
			v |= RTC_A_UIP;
		return v;
	case RTC_REG_C:
		v = r->flags | (rtc_irqf(r) ? RTC_C_IRQF : 0);
		r->flags = 0;
		return v;
	case RTC_REG_D:
		return RTC_D_VRT;
	default:
		return v;
	}
}

static void rtc_write_reg(struct rtc *r, uint8_t idx, uint8_t v)
{
	if (rtc_is_time_reg(idx)) {
		bool frozen = rtc_frozen(r);
		if (!frozen)
			rtc_snapshot(r);
		r->cmos[idx] = v;
		if (!frozen)
			rtc_commit(r);  /* a running clock takes the new field at once */
		return;
	}
	switch (idx) {
	case RTC_REG_A:
		r->cmos[idx] = v & ~RTC_A_UIP;
		return;
	case RTC_REG_B: {
		uint8_t old = r->cmos[RTC_REG_B];
		if (!(old & RTC_B_SET) && (v & RTC_B_SET))
			rtc_snapshot(r);         /* freeze in the old format */
		if (v & RTC_B_SET)
			v &= ~RTC_B_UIE;         /* SET clears UIE (datasheet) */
		r->cmos[RTC_REG_B] = v;
		if ((old & RTC_B_SET) && !(v & RTC_B_SET))
			rtc_commit(r);           /* run from what the guest wrote */
		return;
	}
	case RTC_REG_C:
	case RTC_REG_D:
		r->missed_writes++;
		return;                          /* read-only */
	default:
		r->cmos[idx] = v;
		return;
	}
}

uint8_t rtc_read(struct rtc *r, unsigned port)
{
	pthread_mutex_lock(&r->lock);
	if (port == 0) {
		r->missed_reads++;
		pthread_mutex_unlock(&r->lock);
		return 0xff;  /* the index register is write-only */
	}
	rtc_advance(r, r->clock.now_ns(r->clock.opaque));
	uint8_t v = rtc_read_reg(r, r->index);
	rtc_sync(r);
	pthread_mutex_unlock(&r->lock);
	return v;
}

void rtc_write(struct rtc *r, unsigned port, uint8_t v)
{
	pthread_mutex_lock(&r->lock);
	if (port == 0) {
		r->index = v & 0x7f;  /* bit 7 is the NMI mask, not ours */
	} else {
		rtc_advance(r, r->clock.now_ns(r->clock.opaque));
		rtc_write_reg(r, r->index, v);
		rtc_sync(r);
	}
	pthread_mutex_unlock(&r->lock);
}

void rtc_missed(struct rtc *r, uint64_t *reads, uint64_t *writes)
{
	pthread_mutex_lock(&r->lock);
	*reads = r->missed_reads;
	*writes = r->missed_writes;
	pthread_mutex_unlock(&r->lock);
}

void rtc_poll(struct rtc *r)
{
	pthread_mutex_lock(&r->lock);
	rtc_advance(r, r->clock.now_ns(r->clock.opaque));
	rtc_sync(r);
	pthread_mutex_unlock(&r->lock);
}

int64_t rtc_next_event_ns(struct rtc *r)
{
	pthread_mutex_lock(&r->lock);
	int64_t t = rtc_next_event_locked(r);
	pthread_mutex_unlock(&r->lock);
	return t;
}

bool rtc_irq_level(struct rtc *r)
{
	pthread_mutex_lock(&r->lock);
	bool l = r->irq_level;
	pthread_mutex_unlock(&r->lock);
	return l;
}

void rtc_set_timer(struct rtc *r, void (*arm)(void *opaque, int64_t when_ns), void *opaque)
{
	pthread_mutex_lock(&r->lock);
	r->arm = arm;
	r->arm_opaque = opaque;
	rtc_sync(r);
	pthread_mutex_unlock(&r->lock);
}

void rtc_cmos_set(struct rtc *r, uint8_t index, uint8_t value)
{
	pthread_mutex_lock(&r->lock);
	r->cmos[index & 0x7f] = value;
	pthread_mutex_unlock(&r->lock);
}

uint8_t rtc_cmos_get(struct rtc *r, uint8_t index)
{
	pthread_mutex_lock(&r->lock);
	uint8_t v = r->cmos[index & 0x7f];
	pthread_mutex_unlock(&r->lock);
	return v;
}

/* Snapshots (docs/snapshot.md): the CMOS (time registers included), the
 * guest's offset from host time, pending flags.  The RTC keeps host wall
 * time, as across a pause: events between the snapshot and the restore
 * are not replayed (last_ns restarts at now). */
struct rtc_snap {
	int64_t offset_s;
	uint8_t index, flags;
	uint8_t pad[6];
	uint8_t cmos[RTC_CMOS_SIZE];
};

long rtc_save(struct rtc *r, void *buf, size_t cap)
{
	struct rtc_snap s;
	if (cap < sizeof(s))
		return -ENOSPC;
	memset(&s, 0, sizeof(s));
	pthread_mutex_lock(&r->lock);
	s.offset_s = r->offset_s;
	s.index = r->index;
	s.flags = r->flags;
	memcpy(s.cmos, r->cmos, sizeof(s.cmos));
	pthread_mutex_unlock(&r->lock);
	memcpy(buf, &s, sizeof(s));
	return (long)sizeof(s);
}

int rtc_load(struct rtc *r, const void *buf, size_t len)
{
	struct rtc_snap s;
	if (len != sizeof(s))
		return -EINVAL;
	memcpy(&s, buf, sizeof(s));
	pthread_mutex_lock(&r->lock);
	r->offset_s = s.offset_s;
	r->index = s.index;
	r->flags = s.flags & (RTC_C_PF | RTC_C_AF | RTC_C_UF);
	memcpy(r->cmos, s.cmos, sizeof(r->cmos));
	r->last_ns = r->clock.now_ns(r->clock.opaque);
	rtc_sync(r);
	pthread_mutex_unlock(&r->lock);
	return 0;
}

void rtc_reset(struct rtc *r)
{
	/* The RESET pin clears interrupt enables and flags; the clock and
	 * the RAM are battery backed. */
	pthread_mutex_lock(&r->lock);
	r->cmos[RTC_REG_B] &= ~(RTC_B_PIE | RTC_B_AIE | RTC_B_UIE);
	r->flags = 0;
	r->index = 0;
	rtc_advance(r, r->clock.now_ns(r->clock.opaque));
	r->flags = 0;
	rtc_sync(r);
	pthread_mutex_unlock(&r->lock);
}

struct rtc *rtc_new(const struct rtc_clock *clock, const struct irq_router *router)
{
	struct rtc *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	if (pthread_mutex_init(&r->lock, NULL)) {
		free(r);
		return NULL;
	}
	irq_line_init(&r->irq, router, IRQ_RTC);
	if (clock && clock->now_ns)
		r->clock = *clock;
	else
		r->clock.now_ns = rtc_host_clock;
	r->cmos[RTC_REG_A] = RTC_A_DEFAULT;
	r->cmos[RTC_REG_B] = RTC_B_DEFAULT;
	r->cmos[RTC_REG_D] = RTC_D_VRT;
	r->last_ns = r->clock.now_ns(r->clock.opaque);
	return r;
}

void rtc_free(struct rtc *r)
{
	if (!r)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r);
}
