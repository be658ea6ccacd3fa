/* 8254 programmable interval timer (three channels, ports 0x40-0x43) and the
 * channel 2 gate/output bits of port 0x61: a board device.  A pure state
 * machine with no clock and no lock of its own: every time-dependent call
 * takes the current time in nanoseconds, and the owner serializes the calls.
 * Channel 0's output edges are reported by i8254_poll(); the owner raises
 * ISA IRQ 0.  See docs/soft-irqchip.md. */
#ifndef RINGVM_HW_I8254_H
#define RINGVM_HW_I8254_H

#include <stdbool.h>
#include <stdint.h>

#define I8254_HZ           1193182ULL  /* input clock, 8254 datasheet */
#define I8254_NO_DEADLINE  UINT64_MAX

struct i8254_channel {
	uint8_t mode;           /* 0-5 */
	uint8_t rw_mode;        /* 1 LSB, 2 MSB, 3 LSB then MSB */
	bool bcd;
	uint32_t count;         /* reload value in ticks, 1..65536 (10000 in BCD) */
	uint16_t count_reg;     /* raw value written (for BCD decoding) */
	bool loaded;            /* a count was written since the control word */
	bool counting;          /* counting started (count loaded, triggered) */
	bool paused;            /* gate low in a mode that suspends counting */
	bool gate;
	uint64_t start_ns;      /* clock time at which elapsed == elapsed_base */
	uint64_t elapsed_base;  /* ticks already counted at start_ns */
	uint64_t edges_seen;    /* channel 0: output rising edges already signalled */
	/* read/write flip-flops and latches */
	bool write_msb_next, read_msb_next;
	uint8_t write_lsb;
	uint16_t latch;
	uint8_t latch_state;    /* 0 none, 1 LSB, 2 MSB, 3 word LSB next, 4 word MSB next */
	bool status_latched;
	uint8_t status;
	bool null_count;
};

struct i8254 {
	struct i8254_channel ch[3];
	uint8_t port61;         /* bits 0-3 as written */
};

void i8254_reset(struct i8254 *p);
/* port: 0-3 relative to 0x40. */
void i8254_write(struct i8254 *p, unsigned port, uint8_t v, uint64_t now);
uint8_t i8254_read(struct i8254 *p, unsigned port, uint64_t now);
uint8_t i8254_port61_read(struct i8254 *p, uint64_t now);
void i8254_port61_write(struct i8254 *p, uint8_t v, uint64_t now);
/* True when channel 0's output rose since the last call (one pulse however
 * many periods passed): the owner pulses ISA IRQ 0. */
bool i8254_poll(struct i8254 *p, uint64_t now);
/* Clock time of channel 0's next rising edge, or I8254_NO_DEADLINE. */
uint64_t i8254_next_deadline(struct i8254 *p);
bool i8254_output(struct i8254_channel *ch, uint64_t now);

#endif
