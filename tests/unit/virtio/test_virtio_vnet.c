/* virtio-net and virtio-vsock through the virtio-pci transport on a mock PCI
 * bus, with their real back ends (libslirp, the vsock host side) and the
 * event loop: the test is the guest's driver (BAR 0 registers, rings built
 * with virtio_mock.h) and, for vsock, the host program. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "virtio_mock.h"
#include "ringvm/device.h"
#include "ringvm/pci.h"
#include "ringvm/vsock.h"
#include "src/virtio/virtio_pci.h"

/* ---- mock PCI bus (as in test_virtio_pci.c) ------------------------------- */

struct pci_device {
	struct pci_device_desc desc;
	bool master;
};
static struct pci_device mock_dev[4];
static unsigned mock_nr;

int pci_device_register(struct vm *vm, const struct pci_device_desc *desc,
			struct pci_device **out)
{
	if (mock_nr == 4)
		return -ENOSPC;
	struct pci_device *d = &mock_dev[mock_nr++];
	memset(d, 0, sizeof(*d));
	d->desc = *desc;
	d->master = true;
	*out = d;
	return 0;
}
unsigned pci_device_slot(const struct pci_device *d) { return (unsigned)(d - mock_dev); }
void pci_intx_set(struct pci_device *d, bool level) {}
bool pci_msix_notify(struct pci_device *d, unsigned vector) { return false; }
bool pci_msix_enabled(const struct pci_device *d) { return false; }
bool pci_bus_master(const struct pci_device *d) { return d->master; }
bool pci_bar_base(struct pci_device *d, unsigned n, uint64_t *base) { (void)d; (void)n; *base = 0; return false; }

int vm_add_device(struct vm *vm, const char *name, const struct vm_device_ops *ops, void *opaque)
{
	vm->devices = realloc(vm->devices, (vm->nr_devices + 1) * sizeof(*vm->devices));
	vm->devices[vm->nr_devices++] = (struct vm_device){ name, ops, opaque };
	return 0;
}

extern const struct device_desc *const __start_ringvm_devices[];
extern const struct device_desc *const __stop_ringvm_devices[];

#define RAM (16ull << 20)
static struct vm vm;
static char dir[64], uds[96];

static void create(const char *name)
{
	for (const struct device_desc *const *p = __start_ringvm_devices; p < __stop_ringvm_devices; p++)
		if (!strcmp((*p)->name, name))
			assert_int_equal((*p)->create(&vm), 0);
}

static int setup(void **state)
{
	memset(&vm, 0, sizeof(vm));
	memset(mock_dev, 0, sizeof(mock_dev));
	mock_nr = 0;
	struct gmem_opts o = { .ram_size = RAM };
	assert_int_equal(gmem_init(&vm.mem, &o), 0);
	assert_int_equal(evloop_init(&vm.loop), 0);
	log_ratelimit_init(&vm.log_limits[VM_LOG_DEVICE], "device", 100, 1000);
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
	for (unsigned i = vm.nr_devices; i-- > 0;)
		vm.devices[i].ops->destroy(vm.devices[i].opaque);
	free(vm.devices);
	evloop_destroy(&vm.loop);
	gmem_destroy(&vm.mem);
	rmdir(dir);
	return 0;
}

static void *bar(struct pci_device *d) { return d->desc.bar[0].opaque; }
static uint64_t rd(struct pci_device *d, uint64_t off, unsigned size)
{
	return virtio_pci_bar_read(bar(d), off, size);
}
static void wr(struct pci_device *d, uint64_t off, unsigned size, uint64_t v)
{
	virtio_pci_bar_write(bar(d), off, size, v);
}

static void stop_loop(void *opaque, int fd, uint32_t events)
{
	evloop_stop(&vm.loop);
}

static void pump(int ms)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	struct itimerspec its = { .it_value = { .tv_nsec = (long)ms * 1000000L } };
	timerfd_settime(fd, 0, &its, NULL);
	evloop_add_fd(&vm.loop, fd, EPOLLIN, stop_loop, NULL);
	__atomic_store_n(&vm.loop.stop, false, __ATOMIC_RELEASE);
	evloop_run(&vm.loop, 50);
	evloop_del_fd(&vm.loop, fd);
	close(fd);
}

/* Negotiate VERSION_1 only, program nq queues of 8 at 64 KiB steps from
 * 1 MiB, DRIVER_OK.  Returns the device features' low word. */
static uint32_t driver_init(struct pci_device *d, struct mock_q *mq, unsigned nq)
{
	wr(d, 0x14, 1, 0);
	wr(d, 0x14, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(d, 0x00, 4, 0);
	uint32_t f = (uint32_t)rd(d, 0x04, 4);
	wr(d, 0x08, 4, 0);
	wr(d, 0x0c, 4, 0);
	wr(d, 0x08, 4, 1);
	wr(d, 0x0c, 4, 1);
	wr(d, 0x14, 1, 0x0b);
	assert_int_equal(rd(d, 0x14, 1), 0x0b);
	assert_int_equal(rd(d, 0x12, 2), nq);                  /* num_queues */
	for (unsigned q = 0; q < nq; q++) {
		mock_q_init(&mq[q], &vm.mem, 0x100000 + 0x10000ull * q, 8);
		wr(d, 0x16, 2, q);
		wr(d, 0x18, 2, 8);
		wr(d, 0x20, 4, mq[q].desc);
		wr(d, 0x28, 8, mq[q].avail);
		wr(d, 0x30, 4, mq[q].used);
		wr(d, 0x1c, 2, 1);
	}
	wr(d, 0x14, 1, 0x0f);
	assert_int_equal(rd(d, 0x14, 1), 0x0f);
	return f;
}

static void kick(struct pci_device *d, unsigned q)
{
	wr(d, 0x16, 2, q);
	wr(d, VIRTIO_PCI_NOTIFY_OFF + VIRTIO_PCI_NOTIFY_MULT * rd(d, 0x1e, 2), 2, q);
}

/* Wait (running the loop) until queue mq has used n entries. */
static void wait_used(struct mock_q *mq, uint16_t n)
{
	for (int i = 0; i < 60 && mock_used_idx(mq) < n; i++)
		pump(50);
	assert_int_equal(mock_used_idx(mq), n);
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
		assert_int_equal(rd(d, VIRTIO_PCI_DEVCFG_OFF + i, 1), mac[i]);
	assert_int_equal(rd(d, VIRTIO_PCI_DEVCFG_OFF + 6, 2), 1);   /* link up */

	/* A receive buffer, then an ARP request for 10.0.2.2 on the tx queue. */
	mock_desc(&mq[0], 0, 0x200000, 12 + 1514, VIRTQ_DESC_F_WRITE, 0);
	mock_avail(&mq[0], 0);
	kick(d, 0);
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
	kick(d, 1);
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
}

/* ---- virtio-vsock -------------------------------------------------------------- */

static void vsock_host_connect(void **state)
{
	create("virtio_vsock");
	struct pci_device *d = &mock_dev[0];
	assert_int_equal(d->desc.device_id, 0x1040 + 19);
	struct mock_q mq[3];
	driver_init(d, mq, 3);
	assert_int_equal(rd(d, VIRTIO_PCI_DEVCFG_OFF, 8), 7);  /* guest_cid */

	mock_desc(&mq[0], 0, 0x200000, 4096, VIRTQ_DESC_F_WRITE, 0);
	mock_avail(&mq[0], 0);
	kick(d, 0);
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
	kick(d, 1);
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
	kick(d, 1);
	assert_int_equal(mock_used_idx(&mq[1]), 2);
	close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(net_arp, setup, teardown),
		cmocka_unit_test_setup_teardown(vsock_host_connect, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
