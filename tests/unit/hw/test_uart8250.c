/* 16550A UART: register model, interrupts, loopback, Linux's probe, and the
 * chardev path over pipes (back pressure, no lost input, bounded output). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "hw_test_vm.h"
#include "src/backend/chardev_fd.h"
#include "src/hw/uart8250.h"

struct uart_fixture {
	struct hw_test_irq irq;
	struct irq_router router;
	struct uart8250 *u;
};

static int setup(void **state)
{
	struct uart_fixture *f = calloc(1, sizeof(*f));
	hw_test_irq_router(&f->router, &f->irq);
	f->u = uart8250_new(&f->router, IRQ_COM1);
	assert_non_null(f->u);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct uart_fixture *f = *state;
	uart8250_free(f->u);
	free(f);
	return 0;
}

#define RD(off) uart8250_read(f->u, (off))
#define WR(off, v) uart8250_write(f->u, (off), (v))

static void test_reset_values(void **state)
{
	struct uart_fixture *f = *state;
	assert_int_equal(RD(UART_IER), 0);
	assert_int_equal(RD(UART_IIR), UART_IIR_NO_INT);
	assert_int_equal(RD(UART_LCR), 0);
	assert_int_equal(RD(UART_MCR), 0);
	assert_int_equal(RD(UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	assert_int_equal(RD(UART_MSR) & 0xf0, UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS);
	assert_false(f->irq.level[IRQ_COM1]);
}

static void test_dlab_divisor(void **state)
{
	struct uart_fixture *f = *state;
	WR(UART_IER, 0x05);
	WR(UART_LCR, UART_LCR_DLAB | 0x03);
	assert_int_equal(RD(UART_DLL), 12);  /* 9600 baud default */
	WR(UART_DLL, 0x01);
	WR(UART_DLM, 0x02);
	assert_int_equal(RD(UART_DLL), 0x01);
	assert_int_equal(RD(UART_DLM), 0x02);
	WR(UART_LCR, 0x03);
	assert_int_equal(RD(UART_LCR), 0x03);
	assert_int_equal(RD(UART_IER), 0x05);   /* IER untouched by DLM writes */
	WR(UART_LCR, UART_LCR_DLAB);
	assert_int_equal(RD(UART_DLM), 0x02);
	/* With DLAB set, offset 0 writes do not transmit. */
	assert_int_equal(uart8250_overruns(f->u), 0);
}

static void test_ier_scr_masks(void **state)
{
	struct uart_fixture *f = *state;
	WR(UART_IER, 0xff);
	assert_int_equal(RD(UART_IER), 0x0f);
	WR(UART_MCR, 0xff);
	assert_int_equal(RD(UART_MCR), 0x1f);
	WR(UART_SCR, 0xa5);
	assert_int_equal(RD(UART_SCR), 0xa5);
}

static void test_rx_fifo(void **state)
{
	struct uart_fixture *f = *state;
	uint8_t in[20];
	for (unsigned i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)('a' + i);
	/* FIFOs off: one byte of holding register. */
	assert_int_equal(uart8250_enqueue(f->u, in, sizeof(in)), 1);
	WR(UART_FCR, UART_FCR_ENABLE);   /* toggling FIFO mode clears it */
	assert_int_equal(RD(UART_LSR) & UART_LSR_DR, 0);
	assert_int_equal(RD(UART_IIR), UART_IIR_FIFO | UART_IIR_NO_INT);
	assert_int_equal(uart8250_enqueue(f->u, in, sizeof(in)), UART_FIFO_SIZE);
	assert_int_equal(RD(UART_LSR) & UART_LSR_DR, UART_LSR_DR);
	for (unsigned i = 0; i < UART_FIFO_SIZE; i++)
		assert_int_equal(RD(UART_RBR), in[i]);
	assert_int_equal(RD(UART_LSR) & UART_LSR_DR, 0);
	assert_int_equal(uart8250_overruns(f->u), 0);  /* back pressure, not overrun */
	/* FCR clear-RX empties it. */
	assert_int_equal(uart8250_enqueue(f->u, in, 3), 3);
	WR(UART_FCR, UART_FCR_ENABLE | UART_FCR_CLEAR_RX);
	assert_int_equal(RD(UART_LSR) & UART_LSR_DR, 0);
}

static void test_trigger_levels(void **state)
{
	struct uart_fixture *f = *state;
	static const unsigned trig[4] = { 1, 4, 8, 14 };
	uint8_t in[16] = { 0 };
	WR(UART_IER, UART_IER_RDI);
	for (unsigned t = 0; t < 4; t++) {
		WR(UART_FCR, (uint8_t)(UART_FCR_ENABLE | UART_FCR_CLEAR_RX | (t << 6)));
		assert_false(f->irq.level[IRQ_COM1]);
		if (trig[t] > 1) {
			uart8250_enqueue(f->u, in, trig[t] - 1);
			/* Below the trigger: character timeout. */
			assert_int_equal(RD(UART_IIR), UART_IIR_FIFO | UART_IIR_TIMEOUT);
			assert_true(f->irq.level[IRQ_COM1]);
			uart8250_enqueue(f->u, in, 1);
		} else {
			uart8250_enqueue(f->u, in, 1);
		}
		assert_int_equal(RD(UART_IIR), UART_IIR_FIFO | UART_IIR_RDI);
		assert_true(f->irq.level[IRQ_COM1]);
		while (RD(UART_LSR) & UART_LSR_DR)
			RD(UART_RBR);
		assert_int_equal(RD(UART_IIR), UART_IIR_FIFO | UART_IIR_NO_INT);
		assert_false(f->irq.level[IRQ_COM1]);
	}
}

static void test_iir_priorities(void **state)
{
	struct uart_fixture *f = *state;
	WR(UART_FCR, UART_FCR_ENABLE);
	WR(UART_MCR, UART_MCR_LOOP);       /* MSR deltas appear (lines drop) */
	for (unsigned i = 0; i < UART_FIFO_SIZE + 1; i++)
		WR(UART_THR, (uint8_t)i);      /* the 17th overruns */
	assert_int_equal(uart8250_overruns(f->u), 1);
	WR(UART_IER, UART_IER_RDI | UART_IER_THRI | UART_IER_RLSI | UART_IER_MSI);
	assert_true(f->irq.level[IRQ_COM1]);
	/* 1: line status (overrun). */
	assert_int_equal(RD(UART_IIR) & 0x0f, UART_IIR_RLSI);
	uint8_t lsr = RD(UART_LSR);
	assert_true(lsr & UART_LSR_OE);
	assert_false(RD(UART_LSR) & UART_LSR_OE);  /* cleared by the read */
	/* 2: received data (FIFO at 16 >= trigger 1). */
	assert_int_equal(RD(UART_IIR) & 0x0f, UART_IIR_RDI);
	for (unsigned i = 0; i < UART_FIFO_SIZE; i++)
		assert_int_equal(RD(UART_RBR), i);
	/* 3: THR empty; reading IIR acknowledges it. */
	assert_int_equal(RD(UART_IIR) & 0x0f, UART_IIR_THRI);
	/* 4: modem status, cleared by reading MSR. */
	assert_int_equal(RD(UART_IIR) & 0x0f, UART_IIR_MSI);
	assert_true(f->irq.level[IRQ_COM1]);
	assert_int_not_equal(RD(UART_MSR) & UART_MSR_DELTAS, 0);
	assert_int_equal(RD(UART_IIR), UART_IIR_FIFO | UART_IIR_NO_INT);
	assert_false(f->irq.level[IRQ_COM1]);
}

static void test_thre_interrupt(void **state)
{
	struct uart_fixture *f = *state;
	/* Enabling THRI with an empty THR interrupts at once. */
	WR(UART_IER, UART_IER_THRI);
	assert_true(f->irq.level[IRQ_COM1]);
	assert_int_equal(RD(UART_IIR), UART_IIR_THRI);
	assert_false(f->irq.level[IRQ_COM1]);         /* acknowledged */
	assert_int_equal(RD(UART_IIR), UART_IIR_NO_INT);
	/* Linux's THRE test: toggling IER.THRI re-asserts it. */
	WR(UART_IER, 0);
	WR(UART_IER, UART_IER_THRI);
	assert_int_equal(RD(UART_IIR), UART_IIR_THRI);
	/* Each transmitted byte makes a fresh edge. */
	unsigned raises = f->irq.raises[IRQ_COM1];
	WR(UART_THR, 'x');
	WR(UART_THR, 'y');
	assert_int_equal(f->irq.raises[IRQ_COM1], raises + 2);
	assert_true(f->irq.level[IRQ_COM1]);
	WR(UART_IER, 0);
	assert_false(f->irq.level[IRQ_COM1]);
}

static void test_loopback(void **state)
{
	struct uart_fixture *f = *state;
	/* The loopback check in Linux's autoconfig(). */
	WR(UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2 | UART_MCR_RTS);
	assert_int_equal(RD(UART_MSR) & 0xf0, UART_MSR_DCD | UART_MSR_CTS);
	WR(UART_MCR, UART_MCR_LOOP | UART_MCR_DTR | UART_MCR_OUT1);
	uint8_t msr = RD(UART_MSR);
	assert_int_equal(msr & 0xf0, UART_MSR_DSR | UART_MSR_RI);
	assert_true(msr & (UART_MSR_DCTS | UART_MSR_DDCD));
	/* Bytes go around: transmit comes back as receive. */
	WR(UART_FCR, UART_FCR_ENABLE);
	WR(UART_THR, 0x5a);
	WR(UART_THR, 0xa5);
	assert_true(RD(UART_LSR) & UART_LSR_DR);
	assert_int_equal(RD(UART_RBR), 0x5a);
	assert_int_equal(RD(UART_RBR), 0xa5);
	/* Input from the back end is disconnected during loopback. */
	uint8_t b = 'q';
	assert_int_equal(uart8250_enqueue(f->u, &b, 1), 0);
	WR(UART_MCR, 0);
	assert_int_equal(uart8250_enqueue(f->u, &b, 1), 1);
	assert_int_equal(RD(UART_MSR) & 0xf0, UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS);
}

/* The register sequence of Linux's 8250 autoconfig()/autoconfig_16550a():
 * the answers must make it say "16550A". */
static void test_linux_autoconfig(void **state)
{
	struct uart_fixture *f = *state;
	/* IER test. */
	WR(UART_IER, 0);
	assert_int_equal(RD(UART_IER) & 0x0f, 0);
	WR(UART_IER, 0x0f);
	assert_int_equal(RD(UART_IER) & 0x0f, 0x0f);
	WR(UART_IER, 0);
	/* Loopback test. */
	WR(UART_MCR, UART_MCR_LOOP | 0x0a);
	assert_int_equal(RD(UART_MSR) & 0xf0, 0x90);
	WR(UART_MCR, 0);
	/* EFR probe: LCR 0xbf, offset 2 must not read 0 (no EFR). */
	WR(UART_LCR, 0xbf);
	WR(UART_FCR, UART_FCR_ENABLE);
	WR(UART_LCR, 0);
	assert_int_equal(RD(UART_IIR) >> 6, 3);        /* FIFO present: 16550A */
	WR(UART_LCR, 0x80);
	assert_int_not_equal(RD(UART_IIR), 0);          /* not ST16C650V1 */
	WR(UART_LCR, 0xbf);
	assert_int_not_equal(RD(UART_IIR), 0);          /* no EFR: not 16650 */
	/* NS SuperIO probe: EXCR1 (offset 2 with LCR 0xe0) must not follow
	 * MCR.LOOP. */
	WR(UART_LCR, 0);
	uint8_t s1 = RD(UART_MCR);
	WR(UART_LCR, 0xe0);
	uint8_t s2 = RD(2);
	if (!((s1 ^ s2) & UART_MCR_LOOP)) {
		WR(UART_LCR, 0);
		WR(UART_MCR, s1 ^ UART_MCR_LOOP);
		WR(UART_LCR, 0xe0);
		s2 = RD(2);
		WR(UART_LCR, 0);
		WR(UART_MCR, s1);
		assert_false((s2 ^ s1) & UART_MCR_LOOP);
	}
	/* TI16750 probe: 64-byte FIFO bit must not stick. */
	WR(UART_LCR, 0);
	WR(UART_FCR, UART_FCR_ENABLE | 0x20);
	assert_int_equal(RD(UART_IIR) & 0xe0, 0xc0);
	WR(UART_LCR, 0x80);
	WR(UART_FCR, UART_FCR_ENABLE | 0x20);
	WR(UART_LCR, 0);
	assert_int_equal(RD(UART_IIR) & 0xe0, 0xc0);
	/* XScale probe: IER bit 6 must not stick. */
	WR(UART_IER, 0x40);
	assert_int_equal(RD(UART_IER) & 0x40, 0);
	/* LSR safety check in serial8250_startup(). */
	assert_int_not_equal(RD(UART_LSR), 0xff);
}

static void test_reset_clears(void **state)
{
	struct uart_fixture *f = *state;
	uint8_t b[4] = { 1, 2, 3, 4 };
	WR(UART_FCR, UART_FCR_ENABLE);
	WR(UART_IER, UART_IER_RDI);
	uart8250_enqueue(f->u, b, 4);
	assert_true(f->irq.level[IRQ_COM1]);
	uart8250_reset(f->u);
	assert_false(f->irq.level[IRQ_COM1]);
	assert_int_equal(RD(UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	assert_int_equal(RD(UART_IIR), UART_IIR_NO_INT);
}

/* ---- through the bus, with a pipe back end ------------------------------ */

struct pipe_fixture {
	struct hw_test_vm t;
	int in[2], out[2];     /* in: test -> guest; out: guest -> test */
	struct uart8250 *u;
	struct chardev *chr;
};

static int pipe_setup(void **state)
{
	struct pipe_fixture *p = calloc(1, sizeof(*p));
	hw_test_vm_init(&p->t, 256 * MiB);
	assert_int_equal(pipe2(p->in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(p->out, O_CLOEXEC | O_NONBLOCK), 0);
	p->chr = chardev_fd_open(&p->t.vm.loop, p->in[0], p->out[1], true, NULL);
	assert_non_null(p->chr);
	assert_int_equal(uart8250_add(&p->t.vm, PORT_COM1, IRQ_COM1, p->chr, &p->u), 0);
	*state = p;
	return 0;
}

static int pipe_teardown(void **state)
{
	struct pipe_fixture *p = *state;
	hw_test_vm_fini(&p->t);  /* destroys the uart and its chardev */
	if (p->in[1] >= 0)
		close(p->in[1]);
	close(p->out[0]);
	free(p);
	return 0;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Read exactly n bytes from a non-blocking fd, waiting up to 2 s. */
static size_t read_all(int fd, char *buf, size_t n)
{
	size_t got = 0;
	int64_t t0 = mono_ms();
	while (got < n && mono_ms() - t0 < 2000) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		if (poll(&pf, 1, 100) <= 0)
			continue;
		ssize_t r = read(fd, buf + got, n - got);
		if (r > 0)
			got += (size_t)r;
	}
	return got;
}

/* The writer thread counts a byte just after the reader may have seen it. */
static uint64_t wait_tx_bytes(struct chardev *c, uint64_t want)
{
	for (int i = 0; i < 200 && atomic_load(&c->tx_bytes) != want; i++)
		usleep(5000);
	return atomic_load(&c->tx_bytes);
}

static void test_bus_output(void **state)
{
	struct pipe_fixture *p = *state;
	const char *msg = "hello, ringvm\n";
	for (const char *c = msg; *c; c++) {
		while (!(hw_in(&p->t, PORT_COM1 + UART_LSR, 1) & UART_LSR_THRE))
			;
		hw_out(&p->t, PORT_COM1 + UART_THR, 1, (uint8_t)*c);
	}
	char buf[64] = { 0 };
	size_t n = read_all(p->out[0], buf, strlen(msg));
	assert_int_equal(n, strlen(msg));
	assert_string_equal(buf, msg);
	assert_int_equal(wait_tx_bytes(p->chr, strlen(msg)), strlen(msg));
	/* A 16-bit OUT is two byte writes: THR then IER. */
	hw_out(&p->t, PORT_COM1, 2, 0x0200 | 'Z');
	assert_int_equal(read_all(p->out[0], buf, 1), 1);
	assert_int_equal(buf[0], 'Z');
	assert_int_equal(hw_in(&p->t, PORT_COM1 + UART_IER, 1), UART_IER_THRI);
}

static void test_bus_input_backpressure(void **state)
{
	struct pipe_fixture *p = *state;
	uint8_t in[100], got[100];
	for (unsigned i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 7 + 1);
	hw_out(&p->t, PORT_COM1 + UART_FCR, 1, UART_FCR_ENABLE);
	hw_out(&p->t, PORT_COM1 + UART_IER, 1, UART_IER_RDI);
	assert_int_equal(write(p->in[1], in, sizeof(in)), (ssize_t)sizeof(in));
	unsigned n = 0;
	for (unsigned round = 0; round < 50 && n < sizeof(in); round++) {
		hw_test_run_loop(&p->t, 20);
		if (round == 0) {
			/* The FIFO is full and the rest waits in the back end. */
			assert_true(p->t.irq.level[IRQ_COM1]);
			assert_int_equal(atomic_load(&p->chr->rx_bytes), UART_FIFO_SIZE);
		}
		while (hw_in(&p->t, PORT_COM1 + UART_LSR, 1) & UART_LSR_DR) {
			assert_true(n < sizeof(in));
			got[n++] = (uint8_t)hw_in(&p->t, PORT_COM1 + UART_RBR, 1);
		}
	}
	assert_int_equal(n, sizeof(in));
	assert_memory_equal(got, in, sizeof(in));
	assert_int_equal(uart8250_overruns(p->u), 0);
	assert_int_equal(atomic_load(&p->chr->rx_bytes), sizeof(in));
	assert_false(p->t.irq.level[IRQ_COM1]);
	/* EOF on input is not an error: output still works. */
	close(p->in[1]);
	p->in[1] = -1;
	hw_test_run_loop(&p->t, 20);
	hw_out(&p->t, PORT_COM1, 1, '!');
	char c = 0;
	assert_int_equal(read_all(p->out[0], &c, 1), 1);
	assert_int_equal(c, '!');
}

/* Input held (a restored VM before its vCPUs run: uart8250_dev.c): the
 * back end keeps the bytes, no interrupt is raised; released, they all
 * arrive, in order. */
static void test_bus_input_held(void **state)
{
	struct pipe_fixture *p = *state;
	uint8_t in[40], got[40];
	for (unsigned i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 3 + 5);
	hw_out(&p->t, PORT_COM1 + UART_FCR, 1, UART_FCR_ENABLE);
	hw_out(&p->t, PORT_COM1 + UART_IER, 1, UART_IER_RDI);
	uart8250_hold_input(p->u, true);
	assert_int_equal(write(p->in[1], in, sizeof(in)), (ssize_t)sizeof(in));
	hw_test_run_loop(&p->t, 50);
	assert_false(p->t.irq.level[IRQ_COM1]);
	assert_int_equal(hw_in(&p->t, PORT_COM1 + UART_LSR, 1) & UART_LSR_DR, 0);
	assert_int_equal(atomic_load(&p->chr->rx_bytes), 0);
	uart8250_hold_input(p->u, false);
	unsigned n = 0;
	for (unsigned round = 0; round < 50 && n < sizeof(in); round++) {
		hw_test_run_loop(&p->t, 20);
		if (round == 0)
			assert_true(p->t.irq.level[IRQ_COM1]);
		while (hw_in(&p->t, PORT_COM1 + UART_LSR, 1) & UART_LSR_DR)
			got[n++] = (uint8_t)hw_in(&p->t, PORT_COM1 + UART_RBR, 1);
	}
	assert_int_equal(n, sizeof(in));
	assert_memory_equal(got, in, sizeof(in));
}

static void test_bus_output_stuck_reader(void **state)
{
	struct pipe_fixture *p = *state;
	/* Fill the pipe: nobody reads it. */
	char junk[4096];
	memset(junk, 'j', sizeof(junk));
	size_t filled = 0;
	ssize_t w;
	while ((w = write(p->out[1], junk, sizeof(junk))) > 0)
		filled += (size_t)w;
	assert_int_equal(errno, EAGAIN);
	/* The guest writes on: the vCPU never waits; the back end buffers
	 * CHARDEV_OUT_BUF bytes and drops (and counts) the rest. */
	const size_t ring = CHARDEV_OUT_BUF, extra = 1000;
	int64_t t0 = mono_ms();
	for (size_t i = 0; i < ring + extra; i++)
		hw_out(&p->t, PORT_COM1, 1, 'x');
	int64_t dt = mono_ms() - t0;
	assert_true(dt < 1000);
	assert_int_equal(atomic_load(&p->chr->tx_dropped), extra);
	/* The reader catches up: the buffered bytes come out, in order, then
	 * new output flows again. */
	char *got = malloc(filled + ring + 1);
	assert_non_null(got);
	assert_int_equal(read_all(p->out[0], got, filled), filled);
	assert_int_equal(read_all(p->out[0], got, ring), ring);
	for (size_t i = 0; i < ring; i++)
		assert_int_equal(got[i], 'x');
	hw_out(&p->t, PORT_COM1, 1, 'k');
	assert_int_equal(read_all(p->out[0], got, 1), 1);
	assert_int_equal(got[0], 'k');
	assert_int_equal(atomic_load(&p->chr->tx_dropped), extra);
	assert_int_equal(wait_tx_bytes(p->chr, ring + 1), ring + 1);
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reset_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dlab_divisor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ier_scr_masks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_fifo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trigger_levels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iir_priorities, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thre_interrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loopback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linux_autoconfig, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_clears, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bus_output, pipe_setup, pipe_teardown),
		cmocka_unit_test_setup_teardown(test_bus_input_backpressure, pipe_setup,
						pipe_teardown),
		cmocka_unit_test_setup_teardown(test_bus_input_held, pipe_setup, pipe_teardown),
		cmocka_unit_test_setup_teardown(test_bus_output_stuck_reader, pipe_setup,
						pipe_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
