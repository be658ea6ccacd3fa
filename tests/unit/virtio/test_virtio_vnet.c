/* virtio-net and virtio-vsock through the virtio-pci transport on a mock PCI
 * bus, with their real back ends (libslirp, the vsock host side) and the
 * event loop: the test is the guest's driver (BAR 0 registers, rings built
 * with virtio_mock.h; the bus is virtio_pci_mock.c) and, for vsock, the host
 * program. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "virtio_fixture.h"
#include "ringvm/device.h"
#include "ringvm/pci.h"
#include "ringvm/vsock.h"
#include "src/virtio/virtio_pci.h"

#define RAM (16ull << 20)
static struct vm vm;
static char dir[64], uds[96];

/* Created with bus mastering on, as the guest's PCI driver would set it. */
static void create(const char *name)
{
	assert_int_equal(vmock_create(&vm, name), 0);
	mock_dev[mock_nr - 1].master = true;
}

static int setup(void **state)
{
	vmock_vm_init(&vm, RAM);
	snprintf(dir, sizeof(dir), "/tmp/ringvm-vnet-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(uds, sizeof(uds), "%s/v.sock", dir);
	vm.cfg.nr_nets = 1;
	vm.cfg.nets[0] = (struct vm_net){ .kind = VM_NET_USER, .has_mac = true,
					  .mac = { 0x52, 0x54, 0, 0xaa, 0xbb, 0xcc } };
	vm.cfg.vsock = (struct vm_vsock){ .enabled = true, .guest_cid = 7, .uds_path = uds };
	return 0;
}

static int teardown(void **state)
{
	vmock_vm_fini(&vm);
	rmdir(dir);
	return 0;
}

/* VERSION_1 only, nq queues of 8 at 64 KiB steps from 1 MiB, DRIVER_OK. */
static uint32_t driver_init(struct pci_device *d, struct mock_q *mq, unsigned nq)
{
	return vmock_driver_init(d, &vm.mem, mq, nq, 0x100000, 8, false);
}

static void wait_used(struct mock_q *mq, uint16_t n)
{
	vmock_wait_used(&vm.loop, mq, n, 60, 50);
}

/* ---- virtio-net --------------------------------------------------------------- */

static void net_arp(void **state)
{
	create("virtio_net");
	struct pci_device *d = &mock_dev[0];
	assert_int_equal(d->desc.device_id, 0x1041);
	assert_int_equal(d->desc.class_code, 0x020000);
	struct mock_q mq[2];
	uint32_t f = driver_init(d, mq, 2);
	assert_true(f & (1u << 5));                            /* VIRTIO_NET_F_MAC */
	assert_true(f & (1u << 16));                           /* VIRTIO_NET_F_STATUS */
	const uint8_t mac[6] = { 0x52, 0x54, 0, 0xaa, 0xbb, 0xcc };
	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(vmock_rd(d, VIRTIO_PCI_DEVCFG_OFF + i, 1), mac[i]);
	assert_int_equal(vmock_rd(d, VIRTIO_PCI_DEVCFG_OFF + 6, 2), 1);   /* link up */

	/* A receive buffer, then an ARP request for 10.0.2.2 on the tx queue. */
	mock_desc(&mq[0], 0, 0x200000, 12 + 1514, VIRTQ_DESC_F_WRITE, 0);
	mock_avail(&mq[0], 0);
	vmock_kick(d, 0);
	uint8_t pkt[12 + 42] = { 0 };
	uint8_t *e = pkt + 12;
	memset(e, 0xff, 6);
	memcpy(e + 6, mac, 6);
	e[12] = 0x08, e[13] = 0x06;
	const uint8_t arp[] = { 0, 1, 8, 0, 6, 4, 0, 1 };
	memcpy(e + 14, arp, 8);
	memcpy(e + 22, mac, 6);
	const uint8_t me[4] = { 10, 0, 2, 15 }, host[4] = { 10, 0, 2, 2 };
	memcpy(e + 28, me, 4);
	memcpy(e + 38, host, 4);
	gmem_write(&vm.mem, 0x300000, pkt, sizeof(pkt));
	mock_desc(&mq[1], 0, 0x300000, 12, 0, 0);              /* header alone: refused */
	mock_avail(&mq[1], 0);
	mock_desc(&mq[1], 1, 0x300000, sizeof(pkt), 0, 0);
	mock_avail(&mq[1], 1);
	vmock_kick(d, 1);
	assert_int_equal(mock_used_idx(&mq[1]), 2);            /* both returned at once */

	/* slirp's answer lands in the receive buffer: header, then the reply. */
	wait_used(&mq[0], 1);
	uint32_t id, len;
	mock_used_elem(&mq[0], 0, &id, &len);
	assert_true(len >= 12 + 42);
	uint8_t got[12 + 42];
	gmem_read(&vm.mem, 0x200000, got, sizeof(got));
	assert_int_equal(got[10], 1);                          /* num_buffers */
	assert_memory_equal(got + 12, mac, 6);                 /* to the guest */
	assert_int_equal(got[12 + 12], 0x08);
	assert_int_equal(got[12 + 13], 0x06);
	assert_int_equal(got[12 + 21], 2);                     /* ARP reply */
	assert_memory_equal(got + 12 + 28, host, 4);           /* 10.0.2.2 is at ... */

	/* While the VM is paused no frame reaches the guest (a snapshot reads
	 * RAM then); the reply waits in the back end until it resumes. */
	mock_desc(&mq[0], 1, 0x210000, 12 + 1514, VIRTQ_DESC_F_WRITE, 0);
	mock_avail(&mq[0], 1);
	vmock_kick(d, 0);
	atomic_store(&vm.state, VM_PAUSED);
	mock_desc(&mq[1], 2, 0x300000, sizeof(pkt), 0, 0);
	mock_avail(&mq[1], 2);
	vmock_kick(d, 1);
	assert_int_equal(mock_used_idx(&mq[1]), 3);
	vmock_pump(&vm.loop, 300);
	assert_int_equal(mock_used_idx(&mq[0]), 1);
	atomic_store(&vm.state, VM_RUNNING);
	vm.devices[0].ops->resumed(vm.devices[0].opaque);
	wait_used(&mq[0], 2);
	gmem_read(&vm.mem, 0x210000, got, sizeof(got));
	assert_int_equal(got[12 + 21], 2);                     /* the held ARP reply */

	/* Nor while a restore's vCPUs load their state (running, the clock
	 * still frozen): the interrupt would be lost under the LAPIC state
	 * loaded after it.  The frame waits for the resumed op. */
	mock_desc(&mq[0], 2, 0x220000, 12 + 1514, VIRTQ_DESC_F_WRITE, 0);
	mock_avail(&mq[0], 2);
	vmock_kick(d, 0);
	atomic_store(&vm.clock_frozen_at, 1);
	mock_desc(&mq[1], 3, 0x300000, sizeof(pkt), 0, 0);
	mock_avail(&mq[1], 3);
	vmock_kick(d, 1);
	assert_int_equal(mock_used_idx(&mq[1]), 4);
	vmock_pump(&vm.loop, 300);
	assert_int_equal(mock_used_idx(&mq[0]), 2);
	atomic_store(&vm.clock_frozen_at, 0);
	vm.devices[0].ops->resumed(vm.devices[0].opaque);
	wait_used(&mq[0], 3);
	gmem_read(&vm.mem, 0x220000, got, sizeof(got));
	assert_int_equal(got[12 + 21], 2);
}

/* ---- virtio-vsock -------------------------------------------------------------- */

static void vsock_host_connect(void **state)
{
	create("virtio_vsock");
	struct pci_device *d = &mock_dev[0];
	assert_int_equal(d->desc.device_id, 0x1040 + 19);
	struct mock_q mq[3];
	driver_init(d, mq, 3);
	assert_int_equal(vmock_rd(d, VIRTIO_PCI_DEVCFG_OFF, 8), 7);  /* guest_cid */

	mock_desc(&mq[0], 0, 0x200000, 4096, VIRTQ_DESC_F_WRITE, 0);
	mock_avail(&mq[0], 0);
	vmock_kick(d, 0);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", uds);
	assert_int_equal(connect(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(s, "CONNECT 99\n", 11), 11);
	wait_used(&mq[0], 1);
	uint8_t raw[VSOCK_HDR_SIZE];
	struct vsock_hdr h;
	gmem_read(&vm.mem, 0x200000, raw, sizeof(raw));
	assert_int_equal(vsock_hdr_parse(raw, sizeof(raw), &h), 0);
	assert_int_equal(h.op, VSOCK_OP_REQUEST);
	assert_int_equal(h.dst_cid, 7);
	assert_int_equal(h.dst_port, 99);

	/* The guest accepts: the host reads OK <port>. */
	struct vsock_hdr r = { .src_cid = 7, .dst_cid = 2, .src_port = 99, .dst_port = h.src_port,
			       .type = VSOCK_TYPE_STREAM, .op = VSOCK_OP_RESPONSE,
			       .buf_alloc = 65536 };
	vsock_hdr_write(raw, &r);
	gmem_write(&vm.mem, 0x300000, raw, sizeof(raw));
	mock_desc(&mq[1], 0, 0x300000, sizeof(raw), 0, 0);
	mock_avail(&mq[1], 0);
	vmock_kick(d, 1);
	assert_int_equal(mock_used_idx(&mq[1]), 1);
	char buf[32] = { 0 }, want[32];
	snprintf(want, sizeof(want), "OK %u\n", h.src_port);
	struct timeval tv = { .tv_sec = 2 };
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(read(s, buf, strlen(want)), (ssize_t)strlen(want));
	assert_string_equal(buf, want);

	/* A chain shorter than a header is refused and counted, not parsed. */
	mock_desc(&mq[1], 1, 0x300000, 10, 0, 0);
	mock_avail(&mq[1], 1);
	vmock_kick(d, 1);
	assert_int_equal(mock_used_idx(&mq[1]), 2);
	close(s);
}

/* ---- snapshots ------------------------------------------------------------------ */

/* virtio-vsock is snapshotted like any virtio device, its connections are
 * not (docs/snapshot.md): its state loads back into a device (as a restore
 * does), which then puts VIRTIO_VSOCK_EVENT_TRANSPORT_RESET in the event
 * queue once the VM runs (Virtio 1.2 5.10.6.6) and holds the host's packets
 * back until it has; while paused nothing reaches the guest. */
static void vsock_snapshot_reset(void **state)
{
	create("virtio_vsock");
	struct pci_device *d = &mock_dev[0];
	const struct vm_device *vs = &vm.devices[0];
	struct mock_q mq[3];
	driver_init(d, mq, 3);
	char err[256] = "";
	assert_int_equal(vs->ops->quiesce(vs->opaque, err, sizeof(err)), 0);

	/* A receive buffer; the driver's event buffer comes only after the
	 * restore, so the reset waits for its kick. */
	mock_desc(&mq[0], 0, 0x200000, 4096, VIRTQ_DESC_F_WRITE, 0);
	mock_avail(&mq[0], 0);
	vmock_kick(d, 0);
	static uint8_t buf[64 * 1024];
	long len = vs->ops->save(vs->opaque, buf, sizeof(buf));
	assert_true(len > 0);
	assert_int_equal(vs->ops->load_checked(vs->opaque, buf, (size_t)len, err, sizeof(err)), 0);
	vs->ops->resumed(vs->opaque);
	assert_int_equal(mock_used_idx(&mq[2]), 0);            /* no event buffer yet */

	/* A host connection now is held back until the reset is sent. */
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", uds);
	assert_int_equal(connect(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(s, "CONNECT 99\n", 11), 11);
	vmock_pump(&vm.loop, 300);
	assert_int_equal(mock_used_idx(&mq[0]), 0);

	/* The event buffer: the reset (id 0, 4 bytes), then the request. */
	gmem_write(&vm.mem, 0x400000, "\xff\xff\xff\xff", 4);
	mock_desc(&mq[2], 0, 0x400000, 8, VIRTQ_DESC_F_WRITE, 0);
	mock_avail(&mq[2], 0);
	vmock_kick(d, 2);
	assert_int_equal(mock_used_idx(&mq[2]), 1);
	uint32_t id, elen;
	mock_used_elem(&mq[2], 0, &id, &elen);
	assert_int_equal(elen, 4);
	uint8_t ev[4];
	gmem_read(&vm.mem, 0x400000, ev, 4);
	assert_int_equal(ev[0] | ev[1] << 8 | ev[2] << 16 | (uint32_t)ev[3] << 24, 0);
	wait_used(&mq[0], 1);
	uint8_t raw[VSOCK_HDR_SIZE];
	struct vsock_hdr h;
	gmem_read(&vm.mem, 0x200000, raw, sizeof(raw));
	assert_int_equal(vsock_hdr_parse(raw, sizeof(raw), &h), 0);
	assert_int_equal(h.op, VSOCK_OP_REQUEST);
	assert_int_equal(h.dst_port, 99);

	/* Sent once: a second event buffer stays unused. */
	mock_desc(&mq[2], 1, 0x410000, 8, VIRTQ_DESC_F_WRITE, 0);
	mock_avail(&mq[2], 1);
	vmock_kick(d, 2);
	assert_int_equal(mock_used_idx(&mq[2]), 1);

	/* Paused: a host connection does not reach the guest until resumed. */
	mock_desc(&mq[0], 1, 0x210000, 4096, VIRTQ_DESC_F_WRITE, 0);
	mock_avail(&mq[0], 1);
	vmock_kick(d, 0);
	atomic_store(&vm.state, VM_PAUSED);
	int s2 = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(s2, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(s2, "CONNECT 98\n", 11), 11);
	vmock_pump(&vm.loop, 300);
	assert_int_equal(mock_used_idx(&mq[0]), 1);
	atomic_store(&vm.state, VM_RUNNING);
	vs->ops->resumed(vs->opaque);
	assert_int_equal(mock_used_idx(&mq[0]), 2);

	/* Nor while a restore's vCPUs load their state (running, the clock
	 * still frozen). */
	mock_desc(&mq[0], 2, 0x220000, 4096, VIRTQ_DESC_F_WRITE, 0);
	mock_avail(&mq[0], 2);
	vmock_kick(d, 0);
	atomic_store(&vm.clock_frozen_at, 1);
	int s3 = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(s3, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(s3, "CONNECT 97\n", 11), 11);
	vmock_pump(&vm.loop, 300);
	assert_int_equal(mock_used_idx(&mq[0]), 2);
	atomic_store(&vm.clock_frozen_at, 0);
	vs->ops->resumed(vs->opaque);
	assert_int_equal(mock_used_idx(&mq[0]), 3);
	close(s);
	close(s2);
	close(s3);
}

/* A state of another size is refused naming the device. */
static void vsock_snapshot_bad_state(void **state)
{
	create("virtio_vsock");
	struct mock_q mq[3];
	driver_init(&mock_dev[0], mq, 3);
	const struct vm_device *vs = &vm.devices[0];
	static uint8_t buf[64 * 1024];
	char err[256] = "";
	long len = vs->ops->save(vs->opaque, buf, sizeof(buf));
	assert_true(len > 0);
	assert_int_equal(vs->ops->load_checked(vs->opaque, buf, (size_t)len - 1, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "virtio-vsock: the state is"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(net_arp, setup, teardown),
		cmocka_unit_test_setup_teardown(vsock_host_connect, setup, teardown),
		cmocka_unit_test_setup_teardown(vsock_snapshot_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(vsock_snapshot_bad_state, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
