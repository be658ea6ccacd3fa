/* 16550A UART register model.
 *
 * Transmission is instantaneous: a byte written to THR goes to the back end
 * (or, in loopback, to the receive FIFO) at once, so THRE and TEMT always read
 * 1 and the transmit FIFO never holds anything.  The receive FIFO holds 16
 * bytes (1 with FIFOs disabled, as on a 16450).  The character-timeout
 * interrupt has no timer behind it: data sitting below the trigger level is
 * reported as a timeout (IIR 0x0c) right away, which drivers treat exactly
 * like "data available".  Baud rate, parity and break are stored and
 * ignored.  The interrupt line follows the pending-interrupt state; MCR.OUT2
 * does not gate it (as in QEMU and Firecracker). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "uart8250.h"

#define UART_DEFAULT_DIVISOR 12 /* 9600 baud */
/* Modem lines with nothing attached: carrier, data set ready, clear to send. */
#define UART_MSR_IDLE (UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS)

struct uart8250 {
	pthread_mutex_t lock;      /* bus handlers vs. the back end's thread */
	struct irq_line irq;
	bool irq_level;
	struct chardev *chr;

	uint8_t ier, lcr, mcr, lsr, msr, scr, dll, dlm, fcr;
	bool thr_ipending;         /* THRE interrupt not yet acknowledged */
	bool rx_blocked;           /* refused input: wake the back end on room */
	bool input_held;           /* host input waits (a restore until the VM runs) */
	uint8_t rbr;               /* last byte read */
	uint8_t rx[UART_FIFO_SIZE];
	unsigned rx_head, rx_count;
	uint64_t overruns;
};

static const unsigned uart_rx_trigger[4] = { 1, 4, 8, 14 };

static bool uart_fifo_on(const struct uart8250 *u)
{
	return u->fcr & UART_FCR_ENABLE;
}

static unsigned uart_rx_capacity(const struct uart8250 *u)
{
	return uart_fifo_on(u) ? UART_FIFO_SIZE : 1;
}

static uint8_t uart_iir(const struct uart8250 *u)
{
	uint8_t fifo = uart_fifo_on(u) ? UART_IIR_FIFO : 0;
	if ((u->ier & UART_IER_RLSI) && (u->lsr & UART_LSR_ERRORS))
		return fifo | UART_IIR_RLSI;
	if ((u->ier & UART_IER_RDI) && u->rx_count) {
		if (uart_fifo_on(u) && u->rx_count < uart_rx_trigger[u->fcr >> 6])
			return fifo | UART_IIR_TIMEOUT;
		return fifo | UART_IIR_RDI;
	}
	if ((u->ier & UART_IER_THRI) && u->thr_ipending)
		return fifo | UART_IIR_THRI;
	if ((u->ier & UART_IER_MSI) && (u->msr & UART_MSR_DELTAS))
		return fifo | UART_IIR_MSI;
	return fifo | UART_IIR_NO_INT;
}

static void uart_update_irq(struct uart8250 *u)
{
	bool level = !(uart_iir(u) & UART_IIR_NO_INT);
	if (level != u->irq_level) {
		u->irq_level = level;
		irq_line_set(&u->irq, level);
	}
}

/* Snapshots (docs/snapshot.md): the registers and the receive FIFO. */
struct uart8250_snap {
	uint8_t ier, lcr, mcr, lsr, msr, scr, dll, dlm, fcr, thr_ipending, rbr;
	uint8_t rx_head, rx_count;
	uint8_t pad[3];
	uint8_t rx[UART_FIFO_SIZE];
};

long uart8250_save(struct uart8250 *u, void *buf, size_t cap)
{
	struct uart8250_snap s;
	if (cap < sizeof(s))
		return -ENOSPC;
	memset(&s, 0, sizeof(s));
	pthread_mutex_lock(&u->lock);
	s = (struct uart8250_snap){ .ier = u->ier, .lcr = u->lcr, .mcr = u->mcr, .lsr = u->lsr,
		.msr = u->msr, .scr = u->scr, .dll = u->dll, .dlm = u->dlm, .fcr = u->fcr,
		.thr_ipending = u->thr_ipending, .rbr = u->rbr, .rx_head = (uint8_t)u->rx_head,
		.rx_count = (uint8_t)u->rx_count };
	memcpy(s.rx, u->rx, sizeof(s.rx));
	pthread_mutex_unlock(&u->lock);
	memcpy(buf, &s, sizeof(s));
	return (long)sizeof(s);
}

int uart8250_load(struct uart8250 *u, const void *buf, size_t len)
{
	struct uart8250_snap s;
	if (len != sizeof(s))
		return -EINVAL;
	memcpy(&s, buf, sizeof(s));
	if (s.rx_head >= UART_FIFO_SIZE || s.rx_count > UART_FIFO_SIZE)
		return -EINVAL;
	pthread_mutex_lock(&u->lock);
	u->ier = s.ier & 0x0f;
	u->lcr = s.lcr;
	u->mcr = s.mcr & 0x1f;
	u->lsr = s.lsr;
	u->msr = s.msr;
	u->scr = s.scr;
	u->dll = s.dll;
	u->dlm = s.dlm;
	u->fcr = s.fcr;
	u->thr_ipending = s.thr_ipending != 0;
	u->rbr = s.rbr;
	memcpy(u->rx, s.rx, sizeof(u->rx));
	u->rx_head = s.rx_head;
	u->rx_count = s.rx_count;
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return 0;
}

/* The guest made room in the receive path: let a blocked back end resume. */
static void uart_rx_room(struct uart8250 *u)
{
	if (u->rx_blocked && !(u->mcr & UART_MCR_LOOP) && !u->input_held &&
	    u->rx_count < uart_rx_capacity(u)) {
		u->rx_blocked = false;
		chardev_wake_input(u->chr);
	}
}

static void uart_rx_clear(struct uart8250 *u)
{
	u->rx_head = u->rx_count = 0;
}

/* Queue one received byte; a full FIFO is an overrun (the byte is lost, the
 * FIFO contents are kept, as on the real part). */
static bool uart_rx_push(struct uart8250 *u, uint8_t b)
{
	if (u->rx_count >= uart_rx_capacity(u)) {
		u->lsr |= UART_LSR_OE;
		u->overruns++;
		return false;
	}
	u->rx[(u->rx_head + u->rx_count) % UART_FIFO_SIZE] = b;
	u->rx_count++;
	return true;
}

static uint8_t uart_rx_pop(struct uart8250 *u)
{
	if (!u->rx_count)
		return u->rbr;
	u->rbr = u->rx[u->rx_head];
	u->rx_head = (u->rx_head + 1) % UART_FIFO_SIZE;
	u->rx_count--;
	return u->rbr;
}

/* Modem status lines: in loopback they mirror MCR outputs. */
static void uart_update_msr(struct uart8250 *u)
{
	uint8_t lines = UART_MSR_IDLE;
	if (u->mcr & UART_MCR_LOOP) {
		lines = 0;
		if (u->mcr & UART_MCR_RTS)
			lines |= UART_MSR_CTS;
		if (u->mcr & UART_MCR_DTR)
			lines |= UART_MSR_DSR;
		if (u->mcr & UART_MCR_OUT1)
			lines |= UART_MSR_RI;
		if (u->mcr & UART_MCR_OUT2)
			lines |= UART_MSR_DCD;
	}
	uint8_t old = u->msr & ~UART_MSR_DELTAS, changed = old ^ lines;
	uint8_t delta = u->msr & UART_MSR_DELTAS;
	if (changed & UART_MSR_CTS)
		delta |= UART_MSR_DCTS;
	if (changed & UART_MSR_DSR)
		delta |= UART_MSR_DDSR;
	if ((old & UART_MSR_RI) && !(lines & UART_MSR_RI))
		delta |= UART_MSR_TERI; /* trailing edge of ring indicator */
	if (changed & UART_MSR_DCD)
		delta |= UART_MSR_DDCD;
	u->msr = lines | delta;
}

static void uart_transmit(struct uart8250 *u, uint8_t b)
{
	/* Drop the THRE interrupt while the byte "moves", then raise it again:
	 * the line makes a fresh edge per byte for edge-triggered PICs. */
	u->thr_ipending = false;
	uart_update_irq(u);
	if (u->mcr & UART_MCR_LOOP)
		uart_rx_push(u, b);
	else
		chardev_write(u->chr, &b, 1);
	u->thr_ipending = true;
}

static void uart_write_fcr(struct uart8250 *u, uint8_t v)
{
	if ((v ^ u->fcr) & UART_FCR_ENABLE)
		uart_rx_clear(u);  /* toggling FIFO mode resets both FIFOs */
	if (!(v & UART_FCR_ENABLE)) {
		u->fcr = 0;        /* other bits only latch with FIFOs enabled */
	} else {
		if (v & UART_FCR_CLEAR_RX)
			uart_rx_clear(u);
		u->fcr = v & (UART_FCR_ENABLE | UART_FCR_DMA | UART_FCR_TRIG_MASK);
	}
	uart_rx_room(u);
}

uint8_t uart8250_read(struct uart8250 *u, unsigned offset)
{
	uint8_t v = 0;
	pthread_mutex_lock(&u->lock);
	bool dlab = u->lcr & UART_LCR_DLAB;
	switch (offset) {
	case UART_RBR:
		if (dlab) {
			v = u->dll;
		} else {
			v = uart_rx_pop(u);
			uart_rx_room(u);
		}
		break;
	case UART_IER:
		v = dlab ? u->dlm : u->ier;
		break;
	case UART_IIR:
		v = uart_iir(u);
		if ((v & UART_IIR_ID_MASK) == UART_IIR_THRI)
			u->thr_ipending = false;  /* reading IIR acknowledges THRE */
		break;
	case UART_LCR:
		v = u->lcr;
		break;
	case UART_MCR:
		v = u->mcr;
		break;
	case UART_LSR:
		v = u->lsr | UART_LSR_THRE | UART_LSR_TEMT;
		if (u->rx_count)
			v |= UART_LSR_DR;
		u->lsr &= ~UART_LSR_ERRORS;  /* error bits clear on read */
		break;
	case UART_MSR:
		v = u->msr;
		u->msr &= ~UART_MSR_DELTAS;
		break;
	case UART_SCR:
		v = u->scr;
		break;
	default:
		v = 0xff;
		break;
	}
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return v;
}

void uart8250_write(struct uart8250 *u, unsigned offset, uint8_t v)
{
	pthread_mutex_lock(&u->lock);
	bool dlab = u->lcr & UART_LCR_DLAB;
	switch (offset) {
	case UART_THR:
		if (dlab)
			u->dll = v;
		else
			uart_transmit(u, v);
		break;
	case UART_IER:
		if (dlab) {
			u->dlm = v;
		} else {
			uint8_t changed = (u->ier ^ v) & 0x0f;
			u->ier = v & 0x0f;  /* bits 4-7 read as 0 on a 16550A */
			/* Enabling THRI while THR is empty interrupts at once
			 * (Linux's THRE-bug probe and Windows rely on it). */
			if (changed & UART_IER_THRI)
				u->thr_ipending = u->ier & UART_IER_THRI;
		}
		break;
	case UART_FCR:
		uart_write_fcr(u, v);
		break;
	case UART_LCR:
		u->lcr = v;
		break;
	case UART_MCR:
		u->mcr = v & UART_MCR_MASK;
		uart_update_msr(u);
		uart_rx_room(u);  /* leaving loopback reconnects input */
		break;
	case UART_SCR:
		u->scr = v;
		break;
	default:  /* LSR, MSR: factory test writes, ignored */
		break;
	}
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

size_t uart8250_enqueue(struct uart8250 *u, const uint8_t *buf, size_t len)
{
	size_t n = 0;
	pthread_mutex_lock(&u->lock);
	if (!(u->mcr & UART_MCR_LOOP) && !u->input_held) {  /* loopback disconnects the input pin */
		while (n < len && u->rx_count < uart_rx_capacity(u))
			uart_rx_push(u, buf[n++]);
	}
	if (n < len)
		u->rx_blocked = true;
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return n;
}

void uart8250_hold_input(struct uart8250 *u, bool hold)
{
	pthread_mutex_lock(&u->lock);
	u->input_held = hold;
	if (!hold)
		uart_rx_room(u);  /* the back end sends what it kept */
	pthread_mutex_unlock(&u->lock);
}

static size_t uart8250_receive(void *opaque, const uint8_t *buf, size_t len)
{
	return uart8250_enqueue(opaque, buf, len);
}

struct chardev_frontend uart8250_frontend(struct uart8250 *u)
{
	return (struct chardev_frontend){ .receive = uart8250_receive, .opaque = u };
}

void uart8250_reset(struct uart8250 *u)
{
	pthread_mutex_lock(&u->lock);
	u->ier = u->lcr = u->mcr = u->fcr = 0;
	u->lsr = 0;
	u->scr = 0;
	u->dll = UART_DEFAULT_DIVISOR;
	u->dlm = 0;
	u->thr_ipending = false;
	uart_rx_clear(u);
	u->msr = UART_MSR_IDLE;
	uart_rx_room(u);
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

struct uart8250 *uart8250_new(const struct irq_router *router, unsigned gsi)
{
	struct uart8250 *u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	if (pthread_mutex_init(&u->lock, NULL)) {
		free(u);
		return NULL;
	}
	irq_line_init(&u->irq, router, gsi);
	uart8250_reset(u);
	return u;
}

void uart8250_free(struct uart8250 *u)
{
	if (!u)
		return;
	pthread_mutex_destroy(&u->lock);
	free(u);
}

struct chardev *uart8250_chardev(struct uart8250 *u)
{
	pthread_mutex_lock(&u->lock);
	struct chardev *chr = u->chr;
	pthread_mutex_unlock(&u->lock);
	return chr;
}

void uart8250_set_chardev(struct uart8250 *u, struct chardev *chr)
{
	pthread_mutex_lock(&u->lock);
	u->chr = chr;
	pthread_mutex_unlock(&u->lock);
}

bool uart8250_irq_level(struct uart8250 *u)
{
	pthread_mutex_lock(&u->lock);
	bool l = u->irq_level;
	pthread_mutex_unlock(&u->lock);
	return l;
}

uint64_t uart8250_overruns(struct uart8250 *u)
{
	pthread_mutex_lock(&u->lock);
	uint64_t n = u->overruns;
	pthread_mutex_unlock(&u->lock);
	return n;
}
