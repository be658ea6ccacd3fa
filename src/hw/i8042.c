/* i8042 PS/2 controller with a minimal keyboard and no mouse.
 *
 * Enough for Linux's i8042 driver to probe the controller: self-test,
 * interface tests, command byte, port enable/disable, AUX loopback (0xd3,
 * used by Linux to test the AUX IRQ), the output port and the CPU reset line
 * (0xfe, or 0xd1 with bit 0 clear).  Bytes for the mouse (0xd4) are answered
 * with 0xfe (resend), so psmouse fails fast.
 *
 * The keyboard exists for one purpose, as in Firecracker: the host's
 * Ctrl+Alt+Del (SendCtrlAltDel).  It answers what Linux's atkbd asks when it
 * probes (IBM PS/2 keyboard command set: 0xff reset -> ack + 0xaa BAT
 * passed, 0xf2 identify -> ack + 0xab 0x83, 0xee echo, commands with a
 * parameter byte, the rest acknowledged with 0xfa) and sends no keys of its
 * own but Ctrl+Alt+Del's, in scan code set 1 when the command byte asks the
 * controller to translate (XLATE, the default) and set 2 otherwise.
 * Not modelled: typing, LEDs, A20 gating (A20 is always on). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "i8042.h"
#include "ringvm/bus.h"
#include "ringvm/device.h"
#include "ringvm/log.h"
#include "ringvm/vm.h"

/* Status register. */
#define I8042_STR_OBF     0x01 /* output buffer full: data for the host */
#define I8042_STR_IBF     0x02 /* input buffer full (never: we are instant) */
#define I8042_STR_SYS     0x04 /* system flag (self-test passed) */
#define I8042_STR_CMD     0x08 /* last write was to the command port */
#define I8042_STR_UNLOCK  0x10 /* keyboard not inhibited */
#define I8042_STR_AUXDATA 0x20 /* output buffer holds AUX data */

/* Command byte (controller RAM 0). */
#define I8042_CTR_KBDINT  0x01
#define I8042_CTR_AUXINT  0x02
#define I8042_CTR_SYS     0x04
#define I8042_CTR_KBDDIS  0x10
#define I8042_CTR_AUXDIS  0x20
#define I8042_CTR_XLATE   0x40
#define I8042_CTR_DEFAULT (I8042_CTR_KBDINT | I8042_CTR_SYS | I8042_CTR_XLATE)

/* Output port bits. */
#define I8042_OUT_RESET   0x01 /* 0 = hold the CPU in reset */
#define I8042_OUT_A20     0x02
#define I8042_OUT_DEFAULT (I8042_OUT_RESET | I8042_OUT_A20)

#define I8042_PS2_RESEND  0xfe
#define I8042_PS2_ACK     0xfa
#define I8042_QUEUE       16

struct i8042_byte {
	uint8_t data;
	bool aux;
};

struct i8042 {
	pthread_mutex_t lock;   /* two bus windows share this state */
	struct vm *vm;
	struct irq_line kbd_irq, aux_irq;
	bool kbd_level, aux_level;
	uint8_t status;
	uint8_t ram[32];        /* ram[0] is the command byte */
	uint8_t outport;
	uint8_t pending_cmd;    /* command waiting for its data byte, or 0 */
	uint8_t kbd_pending;    /* keyboard command waiting for its parameter, or 0 */
	struct i8042_byte q[I8042_QUEUE];
	unsigned q_head, q_count;
	uint64_t resets;        /* reset requests made */
	bool reset_now;         /* request a reset once the lock is dropped */
	/* Firecracker's "i8042" metrics (running totals, kept across resets):
	 * bytes the guest read and wrote at either port, data reads with the
	 * output buffer empty, controller commands it does not model, bytes
	 * lost to a full output buffer. */
	uint64_t reads, writes, missed_reads, missed_writes, errors;
};

static void i8042_update_irq(struct i8042 *k)
{
	bool kbd = false, aux = false;
	if (k->q_count) {
		const struct i8042_byte *b = &k->q[k->q_head];
		aux = b->aux && (k->ram[0] & I8042_CTR_AUXINT);
		kbd = !b->aux && (k->ram[0] & I8042_CTR_KBDINT);
	}
	if (kbd != k->kbd_level) {
		k->kbd_level = kbd;
		irq_line_set(&k->kbd_irq, kbd);
	}
	if (aux != k->aux_level) {
		k->aux_level = aux;
		irq_line_set(&k->aux_irq, aux);
	}
}

static void i8042_queue(struct i8042 *k, uint8_t data, bool aux)
{
	if (k->q_count == I8042_QUEUE) {
		k->errors++;
		return;  /* the guest is not reading: newest byte lost */
	}
	k->q[(k->q_head + k->q_count) % I8042_QUEUE] = (struct i8042_byte){ data, aux };
	k->q_count++;
	i8042_update_irq(k);
}

static void i8042_reset_cpu(struct i8042 *k)
{
	k->resets++;
	k->reset_now = true;
}

static void i8042_write_outport(struct i8042 *k, uint8_t v)
{
	k->outport = v | I8042_OUT_A20;  /* A20 cannot be disabled */
	if (!(v & I8042_OUT_RESET))
		i8042_reset_cpu(k);
}

static void i8042_command(struct i8042 *k, uint8_t cmd)
{
	if (cmd >= 0x20 && cmd <= 0x3f) {        /* read controller RAM */
		i8042_queue(k, k->ram[cmd & 0x1f], false);
		return;
	}
	if ((cmd >= 0x60 && cmd <= 0x7f) ||      /* write controller RAM */
	    cmd == 0xd1 || cmd == 0xd2 || cmd == 0xd3 || cmd == 0xd4) {
		k->pending_cmd = cmd;
		return;
	}
	if (cmd >= 0xf0) {                       /* pulse output port bits low */
		if (!(cmd & I8042_OUT_RESET))
			i8042_reset_cpu(k);
		return;
	}
	switch (cmd) {
	case 0xa7: k->ram[0] |= I8042_CTR_AUXDIS; break;
	case 0xa8: k->ram[0] &= ~I8042_CTR_AUXDIS; break;
	case 0xa9: i8042_queue(k, 0x00, false); break;   /* AUX interface OK */
	case 0xaa:                                        /* controller self-test */
		k->status |= I8042_STR_SYS;
		i8042_queue(k, 0x55, false);
		break;
	case 0xab: i8042_queue(k, 0x00, false); break;   /* KBD interface OK */
	case 0xad: k->ram[0] |= I8042_CTR_KBDDIS; break;
	case 0xae: k->ram[0] &= ~I8042_CTR_KBDDIS; break;
	case 0xc0: i8042_queue(k, 0x00, false); break;   /* input port */
	case 0xd0: i8042_queue(k, k->outport, false); break;
	case 0xe0: i8042_queue(k, 0x00, false); break;   /* test inputs */
	default:                                          /* not modelled: ignored */
		k->missed_writes++;
		pr_debug("i8042: ignored command 0x%02x", cmd);
		break;
	}
	i8042_update_irq(k);
}

/* A byte the guest sends to the keyboard (the data port outside a
 * controller command): the keyboard's answers go to the output queue. */
static void i8042_kbd_byte(struct i8042 *k, uint8_t v)
{
	bool xlate = k->ram[0] & I8042_CTR_XLATE;
	if (k->kbd_pending) {
		uint8_t cmd = k->kbd_pending;
		k->kbd_pending = 0;
		i8042_queue(k, I8042_PS2_ACK, false);
		if (cmd == 0xf0 && v == 0)                 /* which scan code set? */
			i8042_queue(k, xlate ? 0x41 : 0x02, false);  /* set 2 (translated) */
		return;
	}
	switch (v) {
	case 0xff:                                         /* reset: self-test passed */
		i8042_queue(k, I8042_PS2_ACK, false);
		i8042_queue(k, 0xaa, false);
		break;
	case 0xf2:                                         /* identify: MF2 keyboard */
		i8042_queue(k, I8042_PS2_ACK, false);
		i8042_queue(k, 0xab, false);
		i8042_queue(k, xlate ? 0x41 : 0x83, false);
		break;
	case 0xee:                                         /* echo */
		i8042_queue(k, 0xee, false);
		break;
	case 0xed: case 0xf0: case 0xf3:                   /* LEDs, scan code set, typematic */
		k->kbd_pending = v;
		i8042_queue(k, I8042_PS2_ACK, false);
		break;
	default:                                           /* enable, disable, defaults, ... */
		i8042_queue(k, I8042_PS2_ACK, false);
		break;
	}
}

static void i8042_data(struct i8042 *k, uint8_t v)
{
	uint8_t cmd = k->pending_cmd;
	k->pending_cmd = 0;
	if (cmd >= 0x60 && cmd <= 0x7f) {
		k->ram[cmd & 0x1f] = v;
		if (cmd == 0x60) {
			/* The system flag in the command byte mirrors into status. */
			k->status = (uint8_t)((k->status & ~I8042_STR_SYS) |
					      (v & I8042_CTR_SYS));
			i8042_update_irq(k);
		}
		return;
	}
	switch (cmd) {
	case 0xd1: i8042_write_outport(k, v); break;
	case 0xd2: i8042_queue(k, v, false); break;      /* as if from the keyboard */
	case 0xd3: i8042_queue(k, v, true); break;       /* AUX loopback */
	case 0xd4: i8042_queue(k, I8042_PS2_RESEND, true); break; /* no mouse */
	default:   i8042_kbd_byte(k, v); break;
	}
}

int i8042_ctrl_alt_del(struct i8042 *k)
{
	/* Make codes then break codes, so no key stays down if the guest
	 * treats the combination as nothing special. */
	static const uint8_t set1[] = { 0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d };
	static const uint8_t set2[] = { 0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0, 0x71, 0xf0, 0x11,
					0xf0, 0x14 };
	int r = 0;
	pthread_mutex_lock(&k->lock);
	bool xlate = k->ram[0] & I8042_CTR_XLATE;
	const uint8_t *codes = xlate ? set1 : set2;
	unsigned n = xlate ? sizeof(set1) : sizeof(set2);
	if (k->ram[0] & I8042_CTR_KBDDIS)
		r = -EAGAIN;                               /* the guest disabled the keyboard */
	else if (I8042_QUEUE - k->q_count < n)
		r = -ENOSPC;                               /* the guest is not reading */
	else
		for (unsigned i = 0; i < n; i++)
			i8042_queue(k, codes[i], false);
	pthread_mutex_unlock(&k->lock);
	return r;
}

static uint8_t i8042_status(const struct i8042 *k)
{
	uint8_t s = k->status & ~(I8042_STR_OBF | I8042_STR_AUXDATA);
	if (k->q_count) {
		s |= I8042_STR_OBF;
		if (k->q[k->q_head].aux)
			s |= I8042_STR_AUXDATA;
	}
	return s;
}

static uint8_t i8042_read_data(struct i8042 *k)
{
	if (!k->q_count) {
		k->missed_reads++;
		return 0;
	}
	uint8_t v = k->q[k->q_head].data;
	k->q_head = (k->q_head + 1) % I8042_QUEUE;
	k->q_count--;
	/* Drop the lines so a following byte makes a new edge. */
	if (k->kbd_level || k->aux_level) {
		k->kbd_level = k->aux_level = false;
		irq_line_lower(&k->kbd_irq);
		irq_line_lower(&k->aux_irq);
	}
	i8042_update_irq(k);
	return v;
}

uint8_t i8042_read(struct i8042 *k, unsigned port)
{
	pthread_mutex_lock(&k->lock);
	k->reads++;
	uint8_t v = port == PORT_I8042_DATA ? i8042_read_data(k) : i8042_status(k);
	pthread_mutex_unlock(&k->lock);
	return v;
}

void i8042_write(struct i8042 *k, unsigned port, uint8_t v)
{
	pthread_mutex_lock(&k->lock);
	k->writes++;
	if (port == PORT_I8042_DATA) {
		k->status &= ~I8042_STR_CMD;
		i8042_data(k, v);
	} else {
		k->status |= I8042_STR_CMD;
		k->pending_cmd = 0;
		i8042_command(k, v);
	}
	bool reset = k->reset_now;
	k->reset_now = false;
	pthread_mutex_unlock(&k->lock);
	/* Outside the lock: the VM may reset devices, this one included. */
	if (reset && k->vm)
		vm_request_reset(k->vm, "i8042 reset line");
}

uint64_t i8042_reset_requests(struct i8042 *k)
{
	pthread_mutex_lock(&k->lock);
	uint64_t n = k->resets;
	pthread_mutex_unlock(&k->lock);
	return n;
}

static void i8042_reset_locked(struct i8042 *k)
{
	k->q_head = k->q_count = 0;
	k->pending_cmd = 0;
	k->kbd_pending = 0;
	memset(k->ram, 0, sizeof(k->ram));
	k->ram[0] = I8042_CTR_DEFAULT;
	k->status = I8042_STR_UNLOCK | I8042_STR_SYS;
	k->outport = I8042_OUT_DEFAULT;
	k->reset_now = false;
	i8042_update_irq(k);
}

void i8042_reset(struct i8042 *k)
{
	pthread_mutex_lock(&k->lock);
	i8042_reset_locked(k);
	pthread_mutex_unlock(&k->lock);
}

struct i8042 *i8042_new(struct vm *vm, const struct irq_router *router)
{
	struct i8042 *k = calloc(1, sizeof(*k));
	if (!k)
		return NULL;
	if (pthread_mutex_init(&k->lock, NULL)) {
		free(k);
		return NULL;
	}
	k->vm = vm;
	irq_line_init(&k->kbd_irq, router, IRQ_I8042_KBD);
	irq_line_init(&k->aux_irq, router, IRQ_I8042_AUX);
	i8042_reset(k);
	return k;
}

void i8042_free(struct i8042 *k)
{
	if (!k)
		return;
	pthread_mutex_destroy(&k->lock);
	free(k);
}

/* ---- bus glue: two one-byte windows, 0x60 and 0x64 ---------------------- */

static uint64_t i8042_bus_read_data(void *opaque, uint64_t offset, unsigned size)
{
	(void)offset;
	(void)size;
	return i8042_read(opaque, PORT_I8042_DATA);
}

static uint64_t i8042_bus_read_cmd(void *opaque, uint64_t offset, unsigned size)
{
	(void)offset;
	(void)size;
	return i8042_read(opaque, PORT_I8042_CMD);
}

static void i8042_bus_write_data(void *opaque, uint64_t offset, unsigned size, uint64_t v)
{
	(void)offset;
	(void)size;
	i8042_write(opaque, PORT_I8042_DATA, (uint8_t)v);
}

static void i8042_bus_write_cmd(void *opaque, uint64_t offset, unsigned size, uint64_t v)
{
	(void)offset;
	(void)size;
	i8042_write(opaque, PORT_I8042_CMD, (uint8_t)v);
}

static const struct bus_ops i8042_data_ops = {
	.read = i8042_bus_read_data, .write = i8042_bus_write_data };
static const struct bus_ops i8042_cmd_ops = {
	.read = i8042_bus_read_cmd, .write = i8042_bus_write_cmd };

static void i8042_dev_reset(void *opaque)
{
	i8042_reset(opaque);
}

static void i8042_dev_destroy(void *opaque)
{
	i8042_free(opaque);
}

static int i8042_dev_ctrl_alt_del(void *opaque, char *err, size_t errlen)
{
	int r = i8042_ctrl_alt_del(opaque);
	if (r == -EAGAIN)
		snprintf(err, errlen, "the guest has disabled its keyboard (i8042 command byte)");
	else if (r < 0)
		snprintf(err, errlen, "the guest is not reading its keyboard (i8042 buffer full)");
	return r < 0 ? -1 : 0;
}

/* Snapshots: the controller's registers, RAM and output queue. */
struct i8042_snap {
	uint8_t status, outport, pending_cmd, q_head, q_count;
	uint8_t kbd_pending;    /* the keyboard's command waiting for a parameter */
	uint8_t pad[2];
	uint8_t ram[32];
	uint8_t q_data[I8042_QUEUE], q_aux[I8042_QUEUE];
};

static long i8042_dev_save(void *opaque, void *buf, size_t cap)
{
	struct i8042 *k = opaque;
	struct i8042_snap s;
	if (cap < sizeof(s))
		return -ENOSPC;
	memset(&s, 0, sizeof(s));
	pthread_mutex_lock(&k->lock);
	s.status = k->status;
	s.outport = k->outport;
	s.pending_cmd = k->pending_cmd;
	s.kbd_pending = k->kbd_pending;
	s.q_head = (uint8_t)k->q_head;
	s.q_count = (uint8_t)k->q_count;
	memcpy(s.ram, k->ram, sizeof(s.ram));
	for (unsigned i = 0; i < I8042_QUEUE; i++) {
		s.q_data[i] = k->q[i].data;
		s.q_aux[i] = k->q[i].aux;
	}
	pthread_mutex_unlock(&k->lock);
	memcpy(buf, &s, sizeof(s));
	return (long)sizeof(s);
}

static int i8042_dev_load(void *opaque, const void *buf, size_t len)
{
	struct i8042 *k = opaque;
	struct i8042_snap s;
	if (len != sizeof(s))
		return -EINVAL;
	memcpy(&s, buf, sizeof(s));
	if (s.q_head >= I8042_QUEUE || s.q_count > I8042_QUEUE)
		return -EINVAL;
	pthread_mutex_lock(&k->lock);
	k->status = s.status;
	k->outport = s.outport;
	k->pending_cmd = s.pending_cmd;
	k->kbd_pending = s.kbd_pending;
	k->q_head = s.q_head;
	k->q_count = s.q_count;
	memcpy(k->ram, s.ram, sizeof(k->ram));
	for (unsigned i = 0; i < I8042_QUEUE; i++)
		k->q[i] = (struct i8042_byte){ s.q_data[i], s.q_aux[i] != 0 };
	i8042_update_irq(k);
	pthread_mutex_unlock(&k->lock);
	return 0;
}

/* Firecracker's "i8042" group (its legacy/i8042.rs metrics), the same
 * fields: reset_count is the guest's CPU reset requests (command 0xfe, the
 * output port's reset bit), error_count the bytes lost to a full buffer. */
static void i8042_dev_metrics(void *opaque, struct vm_metrics *m)
{
	struct i8042 *k = opaque;
	pthread_mutex_lock(&k->lock);
	snprintf(m->group, sizeof(m->group), "i8042");
	vm_metric(m, "error_count", k->errors);
	vm_metric(m, "missed_read_count", k->missed_reads);
	vm_metric(m, "missed_write_count", k->missed_writes);
	vm_metric(m, "read_count", k->reads);
	vm_metric(m, "reset_count", k->resets);
	vm_metric(m, "write_count", k->writes);
	pthread_mutex_unlock(&k->lock);
}

static const struct vm_device_ops i8042_dev_ops = {
	.metrics = i8042_dev_metrics,
	.save = i8042_dev_save,
	.load = i8042_dev_load,
	.reset = i8042_dev_reset,
	.destroy = i8042_dev_destroy,
	.ctrl_alt_del = i8042_dev_ctrl_alt_del,
};

static int i8042_create(struct vm *vm)
{
	struct i8042 *k = i8042_new(vm, &vm->irq);
	if (!k)
		return -ENOMEM;
	int r = bus_register(&vm->pio, PORT_I8042_DATA, 1, &i8042_data_ops, k, "i8042-data");
	if (r < 0)
		goto fail;
	r = bus_register(&vm->pio, PORT_I8042_CMD, 1, &i8042_cmd_ops, k, "i8042-cmd");
	if (r < 0) {
		bus_unregister(&vm->pio, PORT_I8042_DATA);
		goto fail;
	}
	r = vm_add_device(vm, "i8042", &i8042_dev_ops, k);
	if (r < 0) {
		bus_unregister(&vm->pio, PORT_I8042_CMD);
		bus_unregister(&vm->pio, PORT_I8042_DATA);
		goto fail;
	}
	return 0;
fail:
	i8042_free(k);
	return r;
}

VM_DEVICE(i8042, i8042_create);
