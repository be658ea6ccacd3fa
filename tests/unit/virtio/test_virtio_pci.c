/* The virtio-pci transport with virtio-rng and virtio-blk behind it, driven
 * like a guest driver through BAR 0 (virtio_pci_bar_read/write) on a mock
 * PCI bus (virtio_pci_mock.c records what the transport asks for).
 * Built from the virtio sources alone (meson.build), so the mock does not
 * meet the real bus.  Checked: feature negotiation, the status machine,
 * bus mastering gating DMA, MSI-X vectors and INTx with the ISR byte,
 * NEEDS_RESET for a bad queue, read/write/flush/GET_ID on a real image file
 * with both back ends, a reset that waits for requests in flight, and queue
 * kicks through an engine's ioeventfd (a fake engine records what it is
 * asked to assign) or, without one, through the BAR write. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>
#include <fcntl.h>
#include <unistd.h>

#include "virtio_fixture.h"
#include "ringvm/device.h"
#include "ringvm/pci.h"
#include "src/virtio/blk_req.h"
#include "src/virtio/virtio_pci.h"

/* ---- fake engine with ioeventfd ----------------------------------------------- */

static struct {
	int fail;                  /* <0: refuse assignments with this */
	unsigned assigned, removed;
	uint64_t gpa;              /* the last one assigned */
	unsigned len;
	int fd;
} fake;

static int fake_ioeventfd(struct vm *v, uint64_t gpa, unsigned len, int fd, bool assign)
{
	(void)v;
	if (assign && fake.fail)
		return fake.fail;
	if (assign) {
		fake.assigned++;
		fake.gpa = gpa;
		fake.len = len;
		fake.fd = fd;
	} else {
		fake.removed++;
		assert_int_equal(fd, fake.fd);
	}
	return 0;
}
static const struct engine_ops fake_engine = { .name = "fake", .ioeventfd = fake_ioeventfd };
static const struct engine_ops plain_engine = { .name = "plain" };  /* soft: no ioeventfd */

/* The block workers install the I/O thread's filter (off here: the test's
 * VM has a zeroed struct sandbox) and stop the VM if they cannot. */
int sandbox_enter(const struct sandbox *sb, enum sandbox_kind kind)
{
	(void)kind;
	assert_false(sb->enabled);
	return 0;
}
void vm_request_exit(struct vm *vm, int status, const char *fmt, ...)
{
	(void)vm; (void)status; (void)fmt;
	fail_msg("vm_request_exit from a block worker");
}

/* ---- the VM and the driver ------------------------------------------------ */

#define RAM (16ull << 20)
static struct vm vm;
static char img[64];

static void create(const char *name)
{
	assert_int_equal(vmock_create(&vm, name), 0);
}

static int setup(void **state)
{
	vmock_vm_init(&vm, RAM);
	snprintf(img, sizeof(img), "/tmp/ringvm-vp-XXXXXX");
	int fd = mkstemp(img);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	assert_int_equal(pwrite(fd, "HOSTDATA", 8, 4096), 8);
	close(fd);
	vm.cfg.rng = true;
	vm.cfg.nr_drives = 1;
	vm.cfg.drives[0] = (struct vm_drive){ .path = img, .serial = "SER-42" };
	return 0;
}

static int teardown(void **state)
{
	vmock_vm_fini(&vm);
	unlink(img);
	unsetenv("RINGVM_AIO");
	return 0;
}

static uint64_t rd(struct pci_device *d, uint64_t off, unsigned size)
{
	return vmock_rd(d, off, size);
}

static void wr(struct pci_device *d, uint64_t off, unsigned size, uint64_t v)
{
	vmock_wr(d, off, size, v);
}

static void kick(struct pci_device *d)
{
	vmock_kick(d, 0);
}

/* ---- tests ------------------------------------------------------------------ */

static void rng_transport(void **state)
{
	create("virtio_rng");
	struct pci_device *d = &mock_dev[0];
	assert_int_equal(d->desc.device_id, 0x1044);
	assert_int_equal(d->desc.vendor_id, 0x1af4);
	assert_int_equal(d->desc.msix_vectors, 2);
	struct mock_q mq;
	vmock_driver_init(d, &vm.mem, &mq, 1, 0x10000, 8, false);
	assert_int_equal(rd(d, 0x12, 2), 1);                  /* num_queues */
	assert_int_equal(rd(d, 0x1a, 2), 1);

	mock_desc(&mq, 0, 0x100000, 64, VIRTQ_DESC_F_WRITE, 0);
	mock_avail(&mq, 0);
	kick(d);
	assert_int_equal(mock_used_idx(&mq), 0);             /* no bus mastering: no DMA */
	d->master = true;
	kick(d);
	assert_int_equal(mock_used_idx(&mq), 1);
	uint32_t id, len;
	mock_used_elem(&mq, 0, &id, &len);
	assert_int_equal(len, 64);
	/* INTx: the ISR byte says "queue", reading it clears it and the line. */
	assert_true(d->intx);
	assert_int_equal(rd(d, VIRTIO_PCI_ISR_OFF, 1), 1);
	assert_false(d->intx);
	assert_int_equal(rd(d, VIRTIO_PCI_ISR_OFF, 1), 0);
	/* MSI-X: the queue's vector. */
	d->msix = true;
	mock_avail(&mq, 0);
	kick(d);
	assert_int_equal(mock_used_idx(&mq), 2);
	assert_int_equal(d->msix_sent[1], 1);
	assert_false(d->intx);
	/* A vector beyond the table reads back as NO_VECTOR. */
	wr(d, 0x10, 2, 7);
	assert_int_equal(rd(d, 0x10, 2), VIRTIO_MSI_NO_VECTOR);
	/* A queue index past num_queues reads as size 0. */
	wr(d, 0x16, 2, 5);
	assert_int_equal(rd(d, 0x18, 2), 0);
}

/* VIRTIO_PCI_CAP_PCI_CFG (4.1.4.9): the window into BAR 0 through
 * configuration space; accesses it cannot make do nothing. */
static void pci_cfg_window(void **state)
{
	create("virtio_rng");
	struct pci_device *d = &mock_dev[0];
	const struct pci_cap_desc *c = NULL;
	for (unsigned i = 0; i < d->desc.nr_caps; i++)
		if (d->desc.caps[i].data[3] == 5)
			c = &d->desc.caps[i];
	assert_non_null(c);
	assert_int_equal(c->len, 20);
	assert_non_null(c->cap_read);
	assert_non_null(c->cap_write);
	/* cap.bar, cap.offset and cap.length start at 0 and are writable;
	 * cap_len, cfg_type and id are not */
	assert_int_equal(c->cap_read(c->opaque, 2, 2), 20 | 5 << 8);
	c->cap_write(c->opaque, 2, 2, 0);
	assert_int_equal(c->cap_read(c->opaque, 2, 2), 20 | 5 << 8);
	assert_int_equal(c->cap_read(c->opaque, 8, 4), 0);
	/* read num_queues (common cfg 0x12, 2 bytes) through the window */
	c->cap_write(c->opaque, 8, 4, 0x12);
	c->cap_write(c->opaque, 12, 4, 2);
	assert_int_equal(c->cap_read(c->opaque, 16, 2), 1);
	/* write device_feature_select (0x00, 4 bytes) through it */
	c->cap_write(c->opaque, 8, 4, 0x00);
	c->cap_write(c->opaque, 12, 4, 4);
	c->cap_write(c->opaque, 16, 4, 1);
	assert_int_equal(rd(d, 0x00, 4), 1);
	assert_int_equal(c->cap_read(c->opaque, 16, 4), 1);
	/* bad length, misaligned, past the BAR, BAR 1: nothing happens and
	 * pci_cfg_data keeps what it had */
	c->cap_write(c->opaque, 12, 4, 3);
	c->cap_write(c->opaque, 16, 4, 0);
	assert_int_equal(rd(d, 0x00, 4), 1);
	c->cap_write(c->opaque, 12, 4, 4);
	c->cap_write(c->opaque, 8, 4, 0x2);
	c->cap_write(c->opaque, 16, 4, 0);
	assert_int_equal(rd(d, 0x00, 4), 1);
	c->cap_write(c->opaque, 8, 4, VIRTIO_PCI_BAR_SIZE);
	c->cap_write(c->opaque, 16, 4, 0x55);
	assert_int_equal(c->cap_read(c->opaque, 16, 4), 0x55);
	c->cap_write(c->opaque, 8, 4, 0xfffffffcu);
	assert_int_equal(c->cap_read(c->opaque, 16, 4), 0x55);
	c->cap_write(c->opaque, 8, 4, 0);
	c->cap_write(c->opaque, 4, 1, 1);
	c->cap_write(c->opaque, 16, 4, 0);
	assert_int_equal(rd(d, 0x00, 4), 1);
	assert_int_equal(c->cap_read(c->opaque, 16, 4), 0);
	c->cap_write(c->opaque, 4, 1, 0);
	assert_int_equal(c->cap_read(c->opaque, 16, 4), 1);
}

static void negotiation_and_needs_reset(void **state)
{
	create("virtio_rng");
	struct pci_device *d = &mock_dev[0];
	d->master = d->msix = true;
	/* Without VERSION_1, or with a bit not offered: no FEATURES_OK. */
	wr(d, 0x14, 1, 3);
	wr(d, 0x08, 4, 1);
	wr(d, 0x0c, 4, 0);
	wr(d, 0x14, 1, 0x0b);
	assert_int_equal(rd(d, 0x14, 1), 3);
	wr(d, 0x0c, 4, 1 | 4);                                 /* bit 34: not offered */
	wr(d, 0x14, 1, 0x0b);
	assert_int_equal(rd(d, 0x14, 1), 3);
	/* DRIVER_OK without FEATURES_OK: the device needs a reset. */
	wr(d, 0x14, 1, 0x07);
	assert_true(rd(d, 0x14, 1) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	/* A reset clears it; a queue enabled with a bad size sets it again, with
	 * a configuration interrupt once the driver is running. */
	struct mock_q mq;
	vmock_driver_init(d, &vm.mem, &mq, 1, 0x10000, 8, true);
	assert_false(rd(d, 0x14, 1) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	mock_desc(&mq, 0, 0x100000, 8, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 0); /* self loop */
	mock_avail(&mq, 0);
	kick(d);
	assert_int_equal(rd(d, 0x14, 1), 0x4f);
	assert_int_equal(d->msix_sent[0], 1);                  /* config vector */
	assert_int_equal(mock_used_idx(&mq), 0);
	/* A broken device ignores further kicks. */
	mock_desc(&mq, 0, 0x100000, 8, VIRTQ_DESC_F_WRITE, 0);
	kick(d);
	assert_int_equal(mock_used_idx(&mq), 0);
	/* Bad sizes and rings at enable time. */
	wr(d, 0x14, 1, 0);
	wr(d, 0x14, 1, 3);
	wr(d, 0x08, 4, 1);
	wr(d, 0x0c, 4, 1);
	wr(d, 0x14, 1, 0x0b);
	wr(d, 0x16, 2, 0);
	wr(d, 0x18, 2, 6);
	wr(d, 0x1c, 2, 1);
	assert_true(rd(d, 0x14, 1) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	wr(d, 0x14, 1, 0);
	wr(d, 0x14, 1, 3);
	wr(d, 0x08, 4, 1);
	wr(d, 0x0c, 4, 1);
	wr(d, 0x14, 1, 0x0b);
	wr(d, 0x18, 2, 8);
	wr(d, 0x20, 8, 0xfec00000ull);                         /* the IOAPIC */
	wr(d, 0x1c, 2, 1);
	assert_true(rd(d, 0x14, 1) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	assert_int_equal(rd(d, 0x1c, 2), 1);
}

/* A device reset clears the ISR byte and lowers INTx with it (found by
 * fuzz_virtio_rng: the line stayed up after status 0 or a machine reset). */
static void intx_reset(void **state)
{
	create("virtio_rng");
	struct pci_device *d = &mock_dev[0];
	d->master = true;
	struct mock_q mq;
	for (int machine = 0; machine < 2; machine++) {
		vmock_driver_init(d, &vm.mem, &mq, 1, 0x10000, 8, false);
		mock_desc(&mq, 0, 0x100000, 16, VIRTQ_DESC_F_WRITE, 0);
		mock_avail(&mq, 0);
		kick(d);
		assert_int_equal(mock_used_idx(&mq), 1);
		assert_true(d->intx);
		if (machine)
			vm.devices[0].ops->reset(vm.devices[0].opaque);
		else
			wr(d, 0x14, 1, 0);
		assert_false(d->intx);
		assert_int_equal(rd(d, VIRTIO_PCI_ISR_OFF, 1), 0);
	}
	/* A status write that is no reset leaves a raised line alone. */
	vmock_driver_init(d, &vm.mem, &mq, 1, 0x10000, 8, false);
	mock_desc(&mq, 0, 0x100000, 16, VIRTQ_DESC_F_WRITE, 0);
	mock_avail(&mq, 0);
	kick(d);
	assert_true(d->intx);
	wr(d, 0x14, 1, 0x0f);
	assert_true(d->intx);
	assert_int_equal(rd(d, VIRTIO_PCI_ISR_OFF, 1), 1);
	assert_false(d->intx);
}

/* header at 0x200000, data at 0x201000, status at 0x203000 */
static void blk_req(struct mock_q *mq, uint16_t head, uint32_t type, uint64_t sector,
		    uint32_t len)
{
	uint8_t h[16] = { 0 };
	memcpy(h, &type, 4);
	memcpy(h + 8, &sector, 8);
	gpa_t base = 0x200000 + 0x10000ull * head;
	gmem_write(&vm.mem, base, h, 16);
	gmem_write_u8(&vm.mem, base + 0x3000, 0xff);
	uint16_t d0 = (uint16_t)(head * 3);
	mock_desc(mq, d0, base, 16, VIRTQ_DESC_F_NEXT, (uint16_t)(d0 + (len ? 1 : 2)));
	if (len)
		mock_desc(mq, (uint16_t)(d0 + 1), base + 0x1000, len,
			  (uint16_t)(VIRTQ_DESC_F_NEXT | (type == VIRTIO_BLK_T_OUT ? 0 : VIRTQ_DESC_F_WRITE)),
			  (uint16_t)(d0 + 2));
	mock_desc(mq, (uint16_t)(d0 + 2), base + 0x3000, 1, VIRTQ_DESC_F_WRITE, 0);
	mock_avail(mq, d0);
}

static uint8_t blk_status(uint16_t head)
{
	uint8_t s = 0xee;
	gmem_read_u8(&vm.mem, 0x200000 + 0x10000ull * head + 0x3000, &s);
	return s;
}

static void wait_used(struct mock_q *mq, uint16_t n)
{
	vmock_wait_used(&vm.loop, mq, n, 200, 5);
}

static void blk_backend(bool threads)
{
	if (threads)
		setenv("RINGVM_AIO", "threads", 1);
	create("virtio_blk");
	struct pci_device *d = &mock_dev[0];
	assert_int_equal(d->desc.device_id, 0x1042);
	d->master = d->msix = true;
	uint64_t cap = 0;
	struct mock_q mq;
	vmock_driver_init(d, &vm.mem, &mq, 1, 0x10000, 64, true);
	cap = rd(d, VIRTIO_PCI_DEVCFG_OFF, 8);
	assert_int_equal(cap, 2048);
	wr(d, 0x00, 4, 0);
	assert_true(rd(d, 0x04, 4) & (1u << VIRTIO_BLK_F_FLUSH));
	assert_false(rd(d, 0x04, 4) & (1u << VIRTIO_BLK_F_RO));

	/* Read sector 8 (the host's bytes), write sector 16, flush, GET_ID. */
	blk_req(&mq, 0, VIRTIO_BLK_T_IN, 8, 512);
	blk_req(&mq, 1, VIRTIO_BLK_T_OUT, 16, 512);
	gmem_write(&vm.mem, 0x211000, "GUESTDATA", 9);
	kick(d);
	wait_used(&mq, 2);
	blk_req(&mq, 2, VIRTIO_BLK_T_FLUSH, 0, 0);
	blk_req(&mq, 3, VIRTIO_BLK_T_GET_ID, 0, 20);
	blk_req(&mq, 4, VIRTIO_BLK_T_IN, 2048, 512);           /* past the end */
	kick(d);
	wait_used(&mq, 5);
	char buf[16] = { 0 };
	gmem_read(&vm.mem, 0x201000, buf, 8);
	assert_memory_equal(buf, "HOSTDATA", 8);
	for (uint16_t h = 0; h < 4; h++)
		assert_int_equal(blk_status(h), VIRTIO_BLK_S_OK);
	assert_int_equal(blk_status(4), VIRTIO_BLK_S_IOERR);
	gmem_read(&vm.mem, 0x231000, buf, 7);
	assert_memory_equal(buf, "SER-42", 7);
	int fd = open(img, O_RDONLY);
	assert_int_equal(pread(fd, buf, 9, 16 * 512), 9);
	close(fd);
	assert_memory_equal(buf, "GUESTDATA", 9);
	assert_true(d->msix_sent[1] >= 1);

	/* Requests in flight when the driver resets: the reset returns only
	 * once they are all done (their used entries are in the old ring). */
	for (uint16_t h = 0; h < 16; h++)
		blk_req(&mq, (uint16_t)(5 + h), h & 1 ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN,
			(uint64_t)h * 64, 4096);
	kick(d);
	wr(d, 0x14, 1, 0);
	assert_int_equal(mock_used_idx(&mq), 21);
	assert_int_equal(rd(d, 0x14, 1), 0);
}

static void blk_uring(void **state) { blk_backend(false); }
static void blk_threads(void **state) { blk_backend(true); }

static void blk_read_only(void **state)
{
	vm.cfg.drives[0].read_only = true;
	create("virtio_blk");
	struct pci_device *d = &mock_dev[0];
	d->master = true;
	wr(d, 0x00, 4, 0);
	assert_true(rd(d, 0x04, 4) & (1u << VIRTIO_BLK_F_RO));
	assert_false(rd(d, 0x04, 4) & (1u << VIRTIO_BLK_F_DISCARD));
	struct mock_q mq;
	vmock_driver_init(d, &vm.mem, &mq, 1, 0x10000, 16, false);
	blk_req(&mq, 0, VIRTIO_BLK_T_OUT, 0, 512);
	blk_req(&mq, 1, VIRTIO_BLK_T_IN, 8, 512);
	kick(d);
	wait_used(&mq, 2);
	assert_int_equal(blk_status(0), VIRTIO_BLK_S_IOERR);
	assert_int_equal(blk_status(1), VIRTIO_BLK_S_OK);
}

/* An engine without ioeventfd: no eventfd on the event loop, kicks are the
 * BAR write on the vCPU thread (the fallback). */
static void ioeventfd_fallback(void **state)
{
	vm.engine = &plain_engine;
	unsigned before = vm.loop.nr;
	create("virtio_rng");
	struct pci_device *d = &mock_dev[0];
	d->bar0_mapped = true;
	d->bar0 = 0xfe000000;
	assert_int_equal(vm.loop.nr, before);
	struct mock_q mq;
	vmock_driver_init(d, &vm.mem, &mq, 1, 0x10000, 8, false);
	d->master = true;
	mock_desc(&mq, 0, 0x100000, 64, VIRTQ_DESC_F_WRITE, 0);
	mock_avail(&mq, 0);
	kick(d);
	assert_int_equal(mock_used_idx(&mq), 1);
}

/* An engine with ioeventfd: assigned at DRIVER_OK at the notify address in
 * BAR 0, the eventfd runs the queue on the event loop, moved with the BAR,
 * removed when the BAR stops decoding and on reset; refused: BAR kicks. */
static void ioeventfd_kicks(void **state)
{
	memset(&fake, 0, sizeof(fake));
	vm.engine = &fake_engine;
	unsigned before = vm.loop.nr;
	create("virtio_rng");
	struct pci_device *d = &mock_dev[0];
	d->bar0_mapped = true;
	d->bar0 = 0xfe000000;
	assert_int_equal(vm.loop.nr, before + 1);            /* one queue, one eventfd */
	struct mock_q mq;
	vmock_driver_init(d, &vm.mem, &mq, 1, 0x10000, 8, false);
	assert_int_equal(fake.assigned, 1);
	assert_int_equal(fake.gpa, 0xfe000000 + VIRTIO_PCI_NOTIFY_OFF);
	assert_int_equal(fake.len, 2);
	d->master = true;
	mock_desc(&mq, 0, 0x100000, 64, VIRTQ_DESC_F_WRITE, 0);
	mock_avail(&mq, 0);
	uint64_t one = 1;
	assert_int_equal(write(fake.fd, &one, 8), 8);        /* what KVM does */
	assert_int_equal(mock_used_idx(&mq), 0);             /* not on this thread */
	vmock_pump(&vm.loop, 50);
	assert_int_equal(mock_used_idx(&mq), 1);
	/* The BAR moves: off at the old address, on at the new one. */
	d->bar0 = 0xfd000000;
	d->desc.bars_changed(d->desc.opaque);
	assert_int_equal(fake.removed, 1);
	assert_int_equal(fake.assigned, 2);
	assert_int_equal(fake.gpa, 0xfd000000 + VIRTIO_PCI_NOTIFY_OFF);
	/* Decode off: removed, nothing assigned. */
	d->bar0_mapped = false;
	d->desc.bars_changed(d->desc.opaque);
	assert_int_equal(fake.removed, 2);
	assert_int_equal(fake.assigned, 2);
	d->bar0_mapped = true;
	d->desc.bars_changed(d->desc.opaque);
	assert_int_equal(fake.assigned, 3);
	/* Status 0: removed. */
	wr(d, 0x14, 1, 0);
	assert_int_equal(fake.removed, 3);
	/* The engine refuses: the device still works through the BAR write. */
	fake.fail = -ENOSYS;
	vmock_driver_init(d, &vm.mem, &mq, 1, 0x10000, 8, false);
	assert_int_equal(fake.assigned, 3);
	mock_desc(&mq, 0, 0x100000, 64, VIRTQ_DESC_F_WRITE, 0);
	mock_avail(&mq, 0);
	kick(d);
	assert_int_equal(mock_used_idx(&mq), 1);
	/* Machine reset with nothing assigned removes nothing. */
	vm.devices[0].ops->reset(vm.devices[0].opaque);
	assert_int_equal(fake.removed, 3);
}

/* ---- snapshots -------------------------------------------------------------- */

/* Load st (len bytes) into device 0; the refusal's message, or NULL. */
static const char *snap_load(const void *st, long len)
{
	static char why[256];
	why[0] = 0;
	const struct vm_device *vd = &vm.devices[0];
	assert_non_null(vd->ops->load_checked);
	return vd->ops->load_checked(vd->opaque, st, (size_t)len, why, sizeof(why)) < 0 ? why
										     : NULL;
}

/* The transport's state round-trips and a corrupt one (rings outside RAM,
 * a size that is not a power of two, a last_avail the avail index is not
 * within a ring of, a vector beyond the table) is refused naming the queue. */
static void snapshot_state(void **state)
{
	create("virtio_rng");
	struct pci_device *d = &mock_dev[0];
	const struct vm_device *vd = &vm.devices[0];
	struct mock_q mq;
	vmock_driver_init(d, &vm.mem, &mq, 1, 0x10000, 8, true);
	d->master = true;
	mock_desc(&mq, 0, 0x100000, 64, VIRTQ_DESC_F_WRITE, 0);
	mock_avail(&mq, 0);
	kick(d);
	assert_int_equal(mock_used_idx(&mq), 1);

	char err[256] = "";
	assert_int_equal(vd->ops->quiesce(vd->opaque, err, sizeof(err)), 0);
	static uint8_t buf[4096], bad[4096];
	long len = vd->ops->save(vd->opaque, buf, sizeof(buf));
	assert_true(len >= (long)sizeof(struct virtio_snap));
	struct virtio_snap s;
	memcpy(&s, buf, sizeof(s));
	assert_int_equal(s.status, 0x0f);
	assert_int_equal(s.q[0].size, 8);
	assert_int_equal(s.q[0].last_avail, 1);
	assert_int_equal(s.q[0].used_idx, 1);
	assert_int_equal(s.q[0].msix_vector, 1);
	assert_true(s.q[0].ready && s.q[0].event_idx);
	assert_int_equal(vd->ops->save(vd->opaque, buf, 16), -ENOSPC);

	/* A reset device takes the state back and serves the next request
	 * where the old one stopped. */
	wr(d, 0x14, 1, 0);
	assert_int_equal(rd(d, 0x14, 1), 0);
	assert_null(snap_load(buf, len));
	assert_int_equal(rd(d, 0x14, 1), 0x0f);
	mock_avail(&mq, 0);
	kick(d);
	assert_int_equal(mock_used_idx(&mq), 2);
	len = vd->ops->save(vd->opaque, buf, sizeof(buf));
	assert_true(len > 0);
	memcpy(&s, buf, sizeof(s));

	struct virtio_snap c;
#define CORRUPT(stmt, msg)                                                       \
	do {                                                                     \
		c = s;                                                           \
		stmt;                                                            \
		memcpy(bad, buf, (size_t)len);                                   \
		memcpy(bad, &c, sizeof(c));                                      \
		const char *w = snap_load(bad, len);                             \
		assert_non_null(w);                                              \
		assert_non_null(strstr(w, msg));                                 \
	} while (0)
	CORRUPT(c.q[0].desc = RAM - 16, "queue 0: ring outside guest RAM");
	CORRUPT(c.q[0].used = RAM + 0x100000, "queue 0: ring outside guest RAM");
	CORRUPT(c.q[0].avail = 0xfffffffffffff000ull, "queue 0: ring outside guest RAM");
	CORRUPT(c.q[0].size = 3, "queue 0: queue size not a power of two");
	CORRUPT(c.q[0].size = 2048, "queue 0: queue size not a power of two"); /* above the maximum */
	CORRUPT((c.q[0].last_avail = 100, c.q[0].used_idx = 100), "queue 0: avail index");
	CORRUPT(c.q[0].used_idx = 5, "queue 0: used id");
	CORRUPT(c.q[0].msix_vector = 7, "queue 0: register values out of range");
	CORRUPT(c.driver_features |= 1ull << 40, "features");
	CORRUPT(c.device_id = 2, "another device");
#undef CORRUPT
	assert_non_null(snap_load(buf, len - 1));            /* wrong length */
	/* Nothing of a refused state was taken: the device still serves. */
	assert_null(snap_load(buf, len));
	mock_avail(&mq, 0);
	kick(d);
	assert_int_equal(mock_used_idx(&mq), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(rng_transport, setup, teardown),
		cmocka_unit_test_setup_teardown(negotiation_and_needs_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(intx_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(blk_uring, setup, teardown),
		cmocka_unit_test_setup_teardown(blk_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(blk_read_only, setup, teardown),
		cmocka_unit_test_setup_teardown(ioeventfd_fallback, setup, teardown),
		cmocka_unit_test_setup_teardown(ioeventfd_kicks, setup, teardown),
		cmocka_unit_test_setup_teardown(pci_cfg_window, setup, teardown),
		cmocka_unit_test_setup_teardown(snapshot_state, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
