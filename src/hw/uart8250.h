/* 16550A UART: a pure register state machine (in the style of rust-vmm
 * vm-superio's Serial) plus the glue that puts it on the PIO bus.
 *
 * The state machine knows no fds and no vm: it raises its interrupt line
 * through an irq_line, sends output to a struct chardev, and takes input from
 * the back end through uart8250_enqueue() (thread safe, returns how many bytes
 * fitted; when it refused some it calls chardev_wake_input() once the guest
 * has made room, so the back end never has to drop input). */
#ifndef RINGVM_HW_UART8250_H
#define RINGVM_HW_UART8250_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "src/backend/chardev.h"
#include "ringvm/irq.h"

struct vm;

/* Register offsets. */
#define UART_RBR 0 /* read, DLAB=0 */
#define UART_THR 0 /* write, DLAB=0 */
#define UART_DLL 0 /* DLAB=1 */
#define UART_IER 1 /* DLAB=0 */
#define UART_DLM 1 /* DLAB=1 */
#define UART_IIR 2 /* read */
#define UART_FCR 2 /* write */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7
#define UART_NR_REGS 8

#define UART_IER_RDI  0x01 /* received data available */
#define UART_IER_THRI 0x02 /* transmitter holding register empty */
#define UART_IER_RLSI 0x04 /* receiver line status */
#define UART_IER_MSI  0x08 /* modem status */

#define UART_IIR_NO_INT   0x01
#define UART_IIR_MSI      0x00
#define UART_IIR_THRI     0x02
#define UART_IIR_RDI      0x04
#define UART_IIR_RLSI     0x06
#define UART_IIR_TIMEOUT  0x0c
#define UART_IIR_FIFO     0xc0 /* both bits set: FIFOs enabled (16550A) */
#define UART_IIR_ID_MASK  0x0f

#define UART_FCR_ENABLE   0x01
#define UART_FCR_CLEAR_RX 0x02
#define UART_FCR_CLEAR_TX 0x04
#define UART_FCR_DMA      0x08
#define UART_FCR_TRIG_MASK 0xc0

#define UART_LCR_DLAB 0x80

#define UART_MCR_DTR  0x01
#define UART_MCR_RTS  0x02
#define UART_MCR_OUT1 0x04
#define UART_MCR_OUT2 0x08
#define UART_MCR_LOOP 0x10
#define UART_MCR_MASK 0x1f

#define UART_LSR_DR   0x01
#define UART_LSR_OE   0x02
#define UART_LSR_PE   0x04
#define UART_LSR_FE   0x08
#define UART_LSR_BI   0x10
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40
#define UART_LSR_FIFOE 0x80
#define UART_LSR_ERRORS (UART_LSR_OE | UART_LSR_PE | UART_LSR_FE | UART_LSR_BI)

#define UART_MSR_DCTS 0x01
#define UART_MSR_DDSR 0x02
#define UART_MSR_TERI 0x04
#define UART_MSR_DDCD 0x08
#define UART_MSR_CTS  0x10
#define UART_MSR_DSR  0x20
#define UART_MSR_RI   0x40
#define UART_MSR_DCD  0x80
#define UART_MSR_DELTAS 0x0f

#define UART_FIFO_SIZE 16

struct uart8250;

/* The state machine. */
struct uart8250 *uart8250_new(const struct irq_router *router, unsigned gsi);
void uart8250_free(struct uart8250 *u);           /* does not destroy the chardev */
void uart8250_set_chardev(struct uart8250 *u, struct chardev *chr);
struct chardev *uart8250_chardev(struct uart8250 *u);
struct chardev_frontend uart8250_frontend(struct uart8250 *u);
uint8_t uart8250_read(struct uart8250 *u, unsigned offset);
void uart8250_write(struct uart8250 *u, unsigned offset, uint8_t value);
/* Input from the back end: returns how many bytes were queued. */
size_t uart8250_enqueue(struct uart8250 *u, const uint8_t *buf, size_t len);
void uart8250_reset(struct uart8250 *u);
/* Hold host input back (hold: enqueue takes nothing, the back end keeps
 * it) or let it in again (the back end is woken to send what it kept). */
void uart8250_hold_input(struct uart8250 *u, bool hold);
/* Snapshots: the guest-visible state (vm_device_ops.save/load). */
long uart8250_save(struct uart8250 *u, void *buf, size_t cap);
int uart8250_load(struct uart8250 *u, const void *buf, size_t len);
bool uart8250_irq_level(struct uart8250 *u);
uint64_t uart8250_overruns(struct uart8250 *u);

/* Put a UART on vm->pio (uart8250_dev.c) at port with interrupt gsi, talking to chr (NULL:
 * the back end vm->cfg.serial asks for).  The vm owns both afterwards
 * (vm_add_device); *out, if given, receives the UART. */
int uart8250_add(struct vm *vm, uint16_t port, unsigned gsi, struct chardev *chr,
		 struct uart8250 **out);

#endif
