/* 8254 programmable interval timer (ports 0x40-0x43) and the channel 2
 * gate/output bits of port 0x61.  Counting is derived from the chip clock at
 * 1.193182 MHz: a channel stores the clock time its counting (re)started and
 * computes counter and output from the elapsed ticks, so reads are exact at
 * any instant and nothing needs to tick.  Channel 0's output rising edges are
 * reported by i8254_poll() for the board to raise on ISA IRQ 0.  Modelled
 * from the 8254 datasheet.  A pure state machine: the caller passes the time
 * and serializes the calls. */
#include "i8254.h"

#define I8254_NSEC_PER_SEC 1000000000ULL

static uint64_t i8254_muldiv(uint64_t a, uint64_t b, uint64_t c)
{
	unsigned __int128 r = (unsigned __int128)a * b / c;
	return r > UINT64_MAX ? UINT64_MAX : (uint64_t)r;
}

static uint64_t i8254_muldiv_up(uint64_t a, uint64_t b, uint64_t c)
{
	unsigned __int128 r = ((unsigned __int128)a * b + c - 1) / c;
	return r > UINT64_MAX ? UINT64_MAX : (uint64_t)r;
}

static uint64_t i8254_sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

static uint64_t ch_ticks(const struct i8254_channel *ch, uint64_t now)
{
	if (!ch->counting)
		return 0;
	if (ch->paused || now <= ch->start_ns)
		return ch->elapsed_base;
	return ch->elapsed_base + i8254_muldiv(now - ch->start_ns, I8254_HZ, I8254_NSEC_PER_SEC);
}

static void ch_start(struct i8254_channel *ch, uint64_t now)
{
	ch->counting = true;
	ch->paused = false;
	ch->start_ns = now;
	ch->elapsed_base = 0;
	ch->edges_seen = 0;
	ch->null_count = false;
}

/* Counter value (binary, 0..65535) after d ticks. */
static uint32_t ch_value(const struct i8254_channel *ch, uint64_t d)
{
	uint32_t n = ch->count;
	if (!ch->counting)
		return ch->count_reg;
	switch (ch->mode) {
	case 2:
		return (uint32_t)(n - d % n) & 0xffff;
	case 3:
		return (uint32_t)(n - (2 * d) % n) & 0xfffe;
	default: /* 0, 1, 4, 5: count down and wrap */
		return (uint32_t)(n - d % 65536) & 0xffff;
	}
}

static uint16_t to_bcd(uint32_t v)
{
	v %= 10000;
	return (uint16_t)((v / 1000) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | v % 10);
}

static uint32_t from_bcd(uint16_t v)
{
	unsigned d[4] = { v & 15, (v >> 4) & 15, (v >> 8) & 15, (v >> 12) & 15 };
	for (int i = 0; i < 4; i++)
		if (d[i] > 9)
			d[i] = 9;  /* invalid BCD digit: clamp */
	return d[3] * 1000 + d[2] * 100 + d[1] * 10 + d[0];
}

static uint16_t ch_read_value(const struct i8254_channel *ch, uint64_t now)
{
	uint32_t v = ch_value(ch, ch_ticks(ch, now));
	if (ch->bcd) {
		/* In BCD the counter runs modulo 10000. */
		if (ch->counting && ch->mode != 2 && ch->mode != 3)
			v = (uint32_t)((ch->count + 10000 - ch_ticks(ch, now) % 10000) % 10000);
		else if (!ch->counting)
			return ch->count_reg;
		return to_bcd(v);
	}
	return (uint16_t)v;
}

bool i8254_output(struct i8254_channel *ch, uint64_t now)
{
	uint64_t n = ch->count, d;
	switch (ch->mode) {
	case 0:
		if (!ch->counting)
			return false;   /* low from control word until terminal count */
		return ch_ticks(ch, now) >= n;
	case 1:
		if (!ch->counting)
			return true;
		return ch_ticks(ch, now) >= n;
	case 2:
		if (!ch->counting || ch->paused)
			return true;
		return ch_ticks(ch, now) % n != n - 1;
	case 3:
		if (!ch->counting || ch->paused)
			return true;
		return ch_ticks(ch, now) % n < (n + 1) / 2;
	default: /* 4, 5: one-tick low strobe at terminal count */
		if (!ch->counting)
			return true;
		d = ch_ticks(ch, now);
		return d != n;
	}
}

static void ch_set_gate(struct i8254_channel *ch, bool gate, uint64_t now)
{
	if (gate == ch->gate)
		return;
	switch (ch->mode) {
	case 0:
	case 4:
		if (ch->counting) {
			if (!gate) {
				ch->elapsed_base = ch_ticks(ch, now);
				ch->paused = true;
			} else {
				ch->start_ns = now;
				ch->paused = false;
			}
		}
		break;
	case 1:
	case 5:
		if (gate && ch->loaded)
			ch_start(ch, now);  /* trigger (retrigger) */
		break;
	default: /* 2, 3: low stops and forces OUT high; rising reloads */
		if (!gate) {
			if (ch->counting) {
				ch->elapsed_base = ch_ticks(ch, now);
				ch->paused = true;
			}
		} else if (ch->loaded) {
			ch_start(ch, now);
		}
		break;
	}
	ch->gate = gate;
}

static void ch_load(struct i8254_channel *ch, uint16_t raw, uint64_t now)
{
	ch->count_reg = raw;
	if (ch->bcd)
		ch->count = raw ? from_bcd(raw) : 10000;
	else
		ch->count = raw ? raw : 65536;
	if (ch->count == 0)
		ch->count = 10000;     /* BCD value that decoded to zero */
	ch->loaded = true;
	ch->null_count = true;
	switch (ch->mode) {
	case 1:
	case 5:
		break;                 /* takes effect on the next gate trigger */
	case 2:
	case 3:
		if (ch->gate)
			ch_start(ch, now);
		break;
	default: /* 0, 4: start now; a low gate suspends counting */
		ch_start(ch, now);
		if (!ch->gate) {
			ch->paused = true;
			ch->elapsed_base = 0;
		}
		break;
	}
}

void i8254_reset(struct i8254 *p)
{
	*p = (struct i8254){ 0 };
	for (int i = 0; i < 3; i++) {
		p->ch[i].mode = 3;
		p->ch[i].rw_mode = 3;
		p->ch[i].count = 65536;
		p->ch[i].gate = (i != 2);
	}
}

static void ch_latch(struct i8254_channel *ch, uint64_t now)
{
	if (ch->latch_state)
		return;             /* already latched: further latches ignored */
	ch->latch = ch_read_value(ch, now);
	ch->latch_state = ch->rw_mode == 3 ? 3 : ch->rw_mode;
}

static void ch_latch_status(struct i8254_channel *ch, uint64_t now)
{
	if (ch->status_latched)
		return;
	ch->status = (uint8_t)((i8254_output(ch, now) ? 0x80 : 0) | (ch->null_count ? 0x40 : 0) |
			       ch->rw_mode << 4 | ch->mode << 1 | (ch->bcd ? 1 : 0));
	ch->status_latched = true;
}

void i8254_write(struct i8254 *p, unsigned port, uint8_t v, uint64_t now)
{
	port &= 3;
	if (port == 3) {
		unsigned sel = v >> 6;
		if (sel == 3) {             /* read-back command */
			for (unsigned i = 0; i < 3; i++) {
				if (!(v & (2u << i)))
					continue;
				if (!(v & 0x20))
					ch_latch(&p->ch[i], now);
				if (!(v & 0x10))
					ch_latch_status(&p->ch[i], now);
			}
			return;
		}
		struct i8254_channel *ch = &p->ch[sel];
		unsigned access = (v >> 4) & 3;
		if (access == 0) {          /* counter latch command */
			ch_latch(ch, now);
			return;
		}
		ch->rw_mode = (uint8_t)access;
		ch->mode = (v >> 1) & 7;
		if (ch->mode > 5)
			ch->mode -= 4;      /* 6, 7 are 2, 3 */
		ch->bcd = v & 1;
		ch->counting = false;
		ch->paused = false;
		ch->loaded = false;
		ch->null_count = true;
		ch->write_msb_next = ch->read_msb_next = false;
		ch->latch_state = 0;
		ch->status_latched = false;
		ch->edges_seen = 0;
		return;
	}
	struct i8254_channel *ch = &p->ch[port];
	switch (ch->rw_mode) {
	case 1:
		ch_load(ch, v, now);
		break;
	case 2:
		ch_load(ch, (uint16_t)(v << 8), now);
		break;
	default:
		if (!ch->write_msb_next) {
			ch->write_lsb = v;
			ch->write_msb_next = true;
			if (ch->mode == 0)  /* first byte stops a mode 0 count */
				ch->counting = false;
		} else {
			ch->write_msb_next = false;
			ch_load(ch, (uint16_t)(ch->write_lsb | v << 8), now);
		}
		break;
	}
}

uint8_t i8254_read(struct i8254 *p, unsigned port, uint64_t now)
{
	port &= 3;
	if (port == 3)
		return 0xff;                /* control word register is write-only */
	struct i8254_channel *ch = &p->ch[port];
	if (ch->status_latched) {
		ch->status_latched = false;
		return ch->status;
	}
	switch (ch->latch_state) {
	case 1:
		ch->latch_state = 0;
		return (uint8_t)ch->latch;
	case 2:
		ch->latch_state = 0;
		return (uint8_t)(ch->latch >> 8);
	case 3:
		ch->latch_state = 4;
		return (uint8_t)ch->latch;
	case 4:
		ch->latch_state = 0;
		return (uint8_t)(ch->latch >> 8);
	default:
		break;
	}
	uint16_t val = ch_read_value(ch, now);
	switch (ch->rw_mode) {
	case 1:
		return (uint8_t)val;
	case 2:
		return (uint8_t)(val >> 8);
	default:
		ch->read_msb_next = !ch->read_msb_next;
		return ch->read_msb_next ? (uint8_t)val : (uint8_t)(val >> 8);
	}
}

#define REFRESH_PERIOD_NS 15085ULL  /* port 0x61 bit 4 toggles at ~66 kHz */

uint8_t i8254_port61_read(struct i8254 *p, uint64_t now)
{
	uint8_t v = p->port61 & 0x0f;
	if ((now / REFRESH_PERIOD_NS) & 1)
		v |= 0x10;
	if (i8254_output(&p->ch[2], now))
		v |= 0x20;
	return v;
}

void i8254_port61_write(struct i8254 *p, uint8_t v, uint64_t now)
{
	p->port61 = v & 0x0f;
	ch_set_gate(&p->ch[2], v & 1, now);
}

/* Rising edges of channel 0's output after d ticks since counting began. */
static uint64_t ch0_edges(const struct i8254_channel *ch, uint64_t d)
{
	uint64_t n = ch->count;
	switch (ch->mode) {
	case 2:
	case 3:
		return d / n;
	case 0:
	case 1:
		return d >= n;
	default:
		return d >= n + 1;
	}
}

/* Tick index of the next rising edge after 'seen' edges, or UINT64_MAX. */
static uint64_t ch0_next_edge(const struct i8254_channel *ch)
{
	uint64_t n = ch->count;
	switch (ch->mode) {
	case 2:
	case 3:
		return (ch->edges_seen + 1) * n;
	case 0:
	case 1:
		return ch->edges_seen ? UINT64_MAX : n;
	default:
		return ch->edges_seen ? UINT64_MAX : n + 1;
	}
}

bool i8254_poll(struct i8254 *p, uint64_t now)
{
	struct i8254_channel *ch = &p->ch[0];
	if (!ch->counting || ch->paused)
		return false;
	uint64_t e = ch0_edges(ch, ch_ticks(ch, now));
	if (e <= ch->edges_seen)
		return false;
	/* Several periods may have passed; the PIC latches one edge. */
	ch->edges_seen = e;
	return true;
}

uint64_t i8254_next_deadline(struct i8254 *p)
{
	struct i8254_channel *ch = &p->ch[0];
	if (!ch->counting || ch->paused)
		return I8254_NO_DEADLINE;
	uint64_t t = ch0_next_edge(ch);
	if (t == UINT64_MAX)
		return I8254_NO_DEADLINE;
	if (t <= ch->elapsed_base)
		return ch->start_ns;
	return i8254_sat_add(ch->start_ns, i8254_muldiv_up(t - ch->elapsed_base, I8254_NSEC_PER_SEC, I8254_HZ));
}
