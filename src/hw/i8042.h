/* i8042 PS/2 controller state machine (ports 0x60 data, 0x64 status/command;
 * IRQ 1 keyboard, IRQ 12 AUX).  See i8042.c for what is modelled. */
#ifndef RINGVM_HW_I8042_H
#define RINGVM_HW_I8042_H

#include <stdint.h>

#include "ringvm/irq.h"

struct vm;
struct i8042;

/* vm may be NULL (no reset requests are sent then, only counted). */
struct i8042 *i8042_new(struct vm *vm, const struct irq_router *router);
void i8042_free(struct i8042 *k);
void i8042_reset(struct i8042 *k);
/* port is PORT_I8042_DATA or PORT_I8042_CMD. */
uint8_t i8042_read(struct i8042 *k, unsigned port);
void i8042_write(struct i8042 *k, unsigned port, uint8_t value);
/* How many times the guest pulled the reset line. */
uint64_t i8042_reset_requests(struct i8042 *k);
/* Queue Ctrl+Alt+Del's make and break codes for the guest (any thread):
 * 0, -EAGAIN if the guest disabled the keyboard, -ENOSPC if the output
 * buffer has no room. */
int i8042_ctrl_alt_del(struct i8042 *k);

#endif
