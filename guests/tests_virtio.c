/* Virtio over PCI from a minimal driver: config mechanism #1, the virtio
 * capabilities, one split virtqueue polled without interrupts.
 *   virtio-blk-dma-code  code in a page runs; virtio-blk reads new code into
 *                        that page (DMA); the page runs the new code (the soft
 *                        engine must drop what it decoded: issue 10 item 3)
 *   virtio-rng           a buffer comes back filled
 *   virtio-hostile       a queue enabled with a bad size and a looping chain
 *                        put the device into DEVICE_NEEDS_RESET; a reset
 *                        recovers it (more hostile rings: tests/unit/virtio)
 *   virtio-vsock-event   virtio-vsock with an event buffer posted, then
 *                        waiting for an event: none comes until the VM is
 *                        snapshotted and restored, then the transport reset
 *                        (run by tests/integration/snapshot_vsock_guest.py)
 * tests/guest/cases_virtio.py says what each must produce. */
#include "guest.h"

#define VIRTIO_VENDOR 0x1af4
#define VIRTIO_DEV_BLK 0x1042
#define VIRTIO_DEV_RNG 0x1044
#define VIRTIO_DEV_VSOCK 0x1053
#define QSZ 8

#define ST_ACK 1
#define ST_DRIVER 2
#define ST_DRIVER_OK 4
#define ST_FEATURES_OK 8
#define ST_NEEDS_RESET 0x40

static uint32_t cfg_read32(unsigned dev, unsigned off)
{
	outl(0xcf8, 0x80000000u | (dev << 11) | (off & 0xfc));
	return inl(0xcfc);
}

static void cfg_write16(unsigned dev, unsigned off, uint16_t v)
{
	outl(0xcf8, 0x80000000u | (dev << 11) | (off & 0xfc));
	outw((uint16_t)(0xcfc + (off & 2)), v);
}

struct vdev {
	uintptr_t common, notify, isr, device;
	uint32_t notify_mult;
	uint16_t notify_off;
};

struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

/* The rings and buffers live at 20 MiB (guest RAM is 32 MiB, identity
 * mapped), not in the image. */
#define VBASE 0x1400000u
struct used_ring {
	uint16_t flags, idx;
	struct { uint32_t id, len; } ring[QSZ];
	uint16_t avail_event;
};
struct blk_hdr { uint32_t type, reserved; uint64_t sector; };
#define desc ((struct vdesc *)(uintptr_t)VBASE)
#define avail ((volatile uint16_t *)(uintptr_t)(VBASE + 0x1000))
#define usedr (*(volatile struct used_ring *)(uintptr_t)(VBASE + 0x2000))
#define hdr (*(struct blk_hdr *)(uintptr_t)(VBASE + 0x3000))
#define status (*(volatile uint8_t *)(uintptr_t)(VBASE + 0x3100))
#define data ((uint8_t *)(uintptr_t)(VBASE + 0x3200))
#define DATA_LEN 512
#define code_page ((uint8_t *)(uintptr_t)(VBASE + 0x4000))
static uint16_t avail_idx, used_seen;

/* One out-of-line check: compact code. */
static __attribute__((noinline)) void check(uint32_t got, uint32_t want, unsigned what)
{
	if (got != want)
		testdev_assert(__FILE_NAME__, what, "virtio check (got, want)", got, want, 0, 0);
}
#define CHECK(got, want) check((uint32_t)(got), (uint32_t)(want), __LINE__)
#define CHECK_TRUE(c) check(!!(c), 1, __LINE__)

static __attribute__((noinline)) void find(uint16_t device, struct vdev *v)
{
	for (unsigned dev = 0; dev < 32; dev++) {
		if (cfg_read32(dev, 0) != (VIRTIO_VENDOR | ((uint32_t)device << 16)))
			continue;
		uintptr_t bar0 = cfg_read32(dev, 0x10) & ~0xfu;
		CHECK_TRUE(bar0 != 0);
		cfg_write16(dev, 4, 0x6);      /* memory decode, bus master */
		unsigned ptr = cfg_read32(dev, 0x34) & 0xfc;
		for (unsigned hops = 0; ptr && hops < 48; hops++) {
			uint32_t w0 = cfg_read32(dev, ptr);
			if ((w0 & 0xff) == 0x09) {
				uintptr_t a = bar0 + cfg_read32(dev, ptr + 8);
				switch (w0 >> 24) {
				case 1: v->common = a; break;
				case 2: v->notify = a; v->notify_mult = cfg_read32(dev, ptr + 16); break;
				case 3: v->isr = a; break;
				case 4: v->device = a; break;
				}
			}
			ptr = (w0 >> 8) & 0xfc;
		}
		CHECK_TRUE(v->common && v->notify && v->isr);
		return;
	}
	GUEST_FAIL("virtio device not found", device);
}

static uint8_t get_status(struct vdev *v) { return mmio_read8(v->common + 0x14); }
static void set_status(struct vdev *v, uint8_t s) { mmio_write8(v->common + 0x14, s); }

/* Reset, negotiate VERSION_1 only, program queue 0 with 'size' entries and
 * enable it.  Returns the status after enabling (before DRIVER_OK). */
static __attribute__((noinline)) uint8_t setup(struct vdev *v, uint16_t size)
{
	set_status(v, 0);
	CHECK(get_status(v), 0);
	set_status(v, ST_ACK | ST_DRIVER);
	mmio_write32(v->common + 0x08, 1);
	mmio_write32(v->common + 0x0c, 1);   /* bit 32: VIRTIO_F_VERSION_1 */
	mmio_write32(v->common + 0x08, 0);
	mmio_write32(v->common + 0x0c, 0);
	set_status(v, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
	CHECK_TRUE(get_status(v) & ST_FEATURES_OK);
	memset(desc, 0, QSZ * sizeof(struct vdesc));
	memset((void *)avail, 0, (2 + QSZ + 1) * 2);
	memset((void *)&usedr, 0, sizeof(struct used_ring));
	avail_idx = used_seen = 0;
	mmio_write16(v->common + 0x16, 0);
	CHECK_TRUE(mmio_read16(v->common + 0x18) >= QSZ);
	mmio_write16(v->common + 0x18, size);
	mmio_write32(v->common + 0x20, (uint32_t)(uintptr_t)desc);
	mmio_write32(v->common + 0x24, 0);
	mmio_write32(v->common + 0x28, (uint32_t)(uintptr_t)avail);
	mmio_write32(v->common + 0x2c, 0);
	mmio_write32(v->common + 0x30, (uint32_t)(uintptr_t)&usedr);
	mmio_write32(v->common + 0x34, 0);
	mmio_write16(v->common + 0x1c, 1);
	v->notify_off = mmio_read16(v->common + 0x1e);
	return get_status(v);
}

static void driver_ok(struct vdev *v)
{
	set_status(v, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
}

static __attribute__((noinline)) void kick(struct vdev *v, uint16_t head)
{
	avail[2 + avail_idx % QSZ] = head;
	__asm__ volatile("" ::: "memory");   /* x86: stores are not reordered */
	avail[1] = ++avail_idx;
	mmio_write16(v->notify + (uintptr_t)v->notify_off * v->notify_mult, 0);
}

/* Wait for the device to return a chain; returns its used length. */
static uint32_t wait_used(void)
{
	for (unsigned long i = 0; i < 200000000ul; i++) {
		if (usedr.idx != used_seen) {
			uint32_t len = usedr.ring[used_seen % QSZ].len;
			used_seen++;
			return len;
		}
		cpu_relax();
	}
	GUEST_FAIL("no used buffer from the device", used_seen);
}

static __attribute__((noinline)) uint8_t blk_rw(struct vdev *v, uint32_t type, uint64_t sector, void *buf, uint32_t len)
{
	hdr.type = type;
	hdr.reserved = 0;
	hdr.sector = sector;
	status = 0xff;
	desc[0] = (struct vdesc){ (uintptr_t)&hdr, 16, 1, 1 };
	desc[1] = (struct vdesc){ (uintptr_t)buf, len, (uint16_t)(1 | (type != 1 ? 2 : 0)), 2 };
	desc[2] = (struct vdesc){ (uintptr_t)&status, 1, 2, 0 };
	kick(v, 0);
	wait_used();
	return status;
}

typedef int (*code_fn)(void);

static const uint8_t code_one[] = { 0xb8, 0x01, 0x00, 0x00, 0x00, 0xc3 };  /* mov eax,1; ret */
static const uint8_t code_two[] = { 0xb8, 0x02, 0x00, 0x00, 0x00, 0xc3 };  /* mov eax,2; ret */

static void test_blk_dma_code(void)
{
	struct vdev v = { 0 };
	find(VIRTIO_DEV_BLK, &v);
	CHECK_TRUE(!(setup(&v, QSZ) & ST_NEEDS_RESET));
	driver_ok(&v);

	/* The disk gets the new code in sector 3. */
	memset(data, 0xcc, DATA_LEN);
	memcpy(data, code_two, sizeof(code_two));
	CHECK(blk_rw(&v, 1 /* OUT */, 3, data, 512), 0);
	CHECK(blk_rw(&v, 4 /* FLUSH */, 0, data, 0), 0);

	/* Old code in the page, run (and decoded) twice. */
	memset(code_page, 0xcc, 4096);
	memcpy(code_page, code_one, sizeof(code_one));
	code_fn f = (code_fn)(uintptr_t)code_page;
	CHECK(f(), 1);
	CHECK(f(), 1);
	/* The device writes the page (a disk read straight into it). */
	CHECK(blk_rw(&v, 0 /* IN */, 3, code_page, 512), 0);
	int r = f();
	GUEST_SYNC("code after dma", r);
	CHECK(r, 2);

	/* GET_ID: the drive's serial. */
	memset(data, 0, DATA_LEN);
	CHECK(blk_rw(&v, 8 /* GET_ID */, 0, data, 20), 0);
	CHECK(memcmp(data, "vtest-serial", 13), 0);
	/* Past the end of the 64 KiB disk: IOERR; an unknown type: UNSUPP; the
	 * device goes on. */
	CHECK(blk_rw(&v, 0, 128, data, 512), 1);
	CHECK(blk_rw(&v, 99, 0, data, 512), 2);
	CHECK(blk_rw(&v, 0, 3, data, 512), 0);
	CHECK(memcmp(data, code_two, sizeof(code_two)), 0);

	GUEST_DONE();
}
GUEST_TEST("virtio-blk-dma-code", test_blk_dma_code);

static void test_rng(void)
{
	struct vdev v = { 0 };
	find(VIRTIO_DEV_RNG, &v);
	CHECK_TRUE(!(setup(&v, QSZ) & ST_NEEDS_RESET));
	driver_ok(&v);
	unsigned nonzero = 0;
	memset(data, 0, 128);
	desc[0] = (struct vdesc){ (uintptr_t)data, 128, 2, 0 };
	kick(&v, 0);
	CHECK(wait_used(), 128);
	for (unsigned i = 0; i < 128; i++)
		nonzero += data[i] != 0;
	GUEST_SYNC("rng nonzero bytes", nonzero);
	CHECK_TRUE(nonzero > 100);
	GUEST_DONE();
}
GUEST_TEST("virtio-rng", test_rng);

/* virtio-vsock's event queue (queue 2) at VBASE + 0x8000. */
#define evdesc ((struct vdesc *)(uintptr_t)(VBASE + 0x8000))
#define evavail ((volatile uint16_t *)(uintptr_t)(VBASE + 0x9000))
#define evused (*(volatile struct used_ring *)(uintptr_t)(VBASE + 0xa000))
#define evbuf (*(volatile uint32_t *)(uintptr_t)(VBASE + 0xb000))

static void test_vsock_event(void)
{
	struct vdev v = { 0 };
	find(VIRTIO_DEV_VSOCK, &v);
	CHECK_TRUE(!(setup(&v, QSZ) & ST_NEEDS_RESET));   /* queue 0 (rx), left empty */
	memset((void *)evdesc, 0, QSZ * sizeof(struct vdesc));
	memset((void *)evavail, 0, (2 + QSZ + 1) * 2);
	memset((void *)&evused, 0, sizeof(struct used_ring));
	mmio_write16(v.common + 0x16, 2);
	mmio_write16(v.common + 0x18, QSZ);
	mmio_write32(v.common + 0x20, (uint32_t)(uintptr_t)evdesc);
	mmio_write32(v.common + 0x24, 0);
	mmio_write32(v.common + 0x28, (uint32_t)(uintptr_t)evavail);
	mmio_write32(v.common + 0x2c, 0);
	mmio_write32(v.common + 0x30, (uint32_t)(uintptr_t)&evused);
	mmio_write32(v.common + 0x34, 0);
	mmio_write16(v.common + 0x1c, 1);
	uint16_t ev_notify = mmio_read16(v.common + 0x1e);
	driver_ok(&v);
	CHECK(get_status(&v) & ST_NEEDS_RESET, 0);
	/* One 4-byte event buffer (struct virtio_vsock_event). */
	evbuf = 0xffffffffu;
	evdesc[0] = (struct vdesc){ (uintptr_t)&evbuf, 4, 2, 0 };
	evavail[2] = 0;
	__asm__ volatile("" ::: "memory");
	evavail[1] = 1;
	mmio_write16(v.notify + (uintptr_t)ev_notify * v.notify_mult, 2);
	GUEST_SYNC("vsock-ready", 0);
	/* The host snapshots and restores the VM meanwhile (minutes at most). */
	for (uint64_t i = 0; evused.idx == 0; i++) {
		if (i > (1ull << 32))
			GUEST_FAIL("no vsock event", 0);
		cpu_relax();
	}
	GUEST_SYNC("vsock-event", evbuf);
	CHECK(evused.idx, 1);
	CHECK(evused.ring[0].id, 0);
	CHECK(evused.ring[0].len, 4);
	CHECK(evbuf, 0);                 /* VIRTIO_VSOCK_EVENT_TRANSPORT_RESET */
	GUEST_DONE();
}
GUEST_TEST("virtio-vsock-event", test_vsock_event);

static void test_hostile(void)
{
	struct vdev v = { 0 };
	find(VIRTIO_DEV_RNG, &v);
	/* A queue size that is not a power of two. */
	uint8_t s = setup(&v, 3);
	GUEST_SYNC("status after size 3", s);
	CHECK_TRUE(s & ST_NEEDS_RESET);
	/* A reset clears it; a good setup works. */
	s = setup(&v, QSZ);
	CHECK_TRUE(!(s & ST_NEEDS_RESET));
	driver_ok(&v);
	/* A chain that loops: 0 -> 1 -> 0. */
	desc[0] = (struct vdesc){ (uintptr_t)data, 8, 1 | 2, 1 };
	desc[1] = (struct vdesc){ (uintptr_t)data, 8, 1 | 2, 0 };
	kick(&v, 0);
	for (unsigned long i = 0; i < 100000000ul && !(get_status(&v) & ST_NEEDS_RESET); i++)
		cpu_relax();
	s = get_status(&v);
	GUEST_SYNC("status after a looping chain", s);
	CHECK_TRUE(s & ST_NEEDS_RESET);
	CHECK(usedr.idx, 0);
	/* A buffer in the MMIO hole (the LAPIC page). */
	setup(&v, QSZ);
	driver_ok(&v);
	desc[0] = (struct vdesc){ 0xfee00000u, 64, 2, 0 };
	kick(&v, 0);
	for (unsigned long i = 0; i < 100000000ul && !(get_status(&v) & ST_NEEDS_RESET); i++)
		cpu_relax();
	s = get_status(&v);
	GUEST_SYNC("status after a buffer in the MMIO hole", s);
	CHECK_TRUE(s & ST_NEEDS_RESET);
	/* Recovered by a reset. */
	setup(&v, QSZ);
	driver_ok(&v);
	desc[0] = (struct vdesc){ (uintptr_t)data, 16, 2, 0 };
	kick(&v, 0);
	CHECK(wait_used(), 16);
	GUEST_DONE();
}
GUEST_TEST("virtio-hostile", test_hostile);

static void cfg_write32(unsigned dev, unsigned off, uint32_t v)
{
	outl(0xcf8, 0x80000000u | (dev << 11) | (off & 0xfc));
	outl(0xcfc, v);
}

/* virtio-pci-cfg: VIRTIO_PCI_CAP_PCI_CFG (Virtio 1.2 4.1.4.9), the window
 * into BAR 0 through configuration space, as a driver without MMIO access
 * would use it: num_queues and device_status read through it match BAR 0,
 * a status written through it shows in BAR 0; a misaligned window does
 * nothing. */
static void test_pci_cfg(void)
{
	struct vdev v = { 0 };
	find(VIRTIO_DEV_RNG, &v);
	unsigned dev = 0, cap = 0;
	while (dev < 32 && cfg_read32(dev, 0) != (VIRTIO_VENDOR | ((uint32_t)VIRTIO_DEV_RNG << 16)))
		dev++;
	unsigned ptr = cfg_read32(dev, 0x34) & 0xfc;
	for (unsigned hops = 0; ptr && hops < 48; hops++) {
		uint32_t w0 = cfg_read32(dev, ptr);
		if ((w0 & 0xff) == 0x09 && (w0 >> 24) == 5)
			cap = ptr;
		ptr = (w0 >> 8) & 0xfc;
	}
	CHECK_TRUE(cap != 0);
	CHECK((cfg_read32(dev, cap) >> 16) & 0xff, 20);        /* cap_len */
	cfg_write32(dev, cap + 4, 0);                            /* cap.bar = 0 */
	cfg_write32(dev, cap + 8, 0x12);                         /* num_queues */
	cfg_write32(dev, cap + 12, 2);
	CHECK(cfg_read32(dev, cap + 16) & 0xffff, mmio_read16(v.common + 0x12));
	CHECK(cfg_read32(dev, cap + 16) & 0xffff, 1);
	set_status(&v, 0);
	cfg_write32(dev, cap + 8, 0x14);                         /* device_status */
	cfg_write32(dev, cap + 12, 1);
	cfg_write32(dev, cap + 16, ST_ACK);
	CHECK(get_status(&v), ST_ACK);
	set_status(&v, ST_ACK | ST_DRIVER);
	CHECK(cfg_read32(dev, cap + 16) & 0xff, ST_ACK | ST_DRIVER);
	/* offset not aligned to the length: nothing is written */
	cfg_write32(dev, cap + 8, 0x13);
	cfg_write32(dev, cap + 12, 2);
	cfg_write32(dev, cap + 16, 0);
	CHECK(get_status(&v), ST_ACK | ST_DRIVER);
	set_status(&v, 0);
	GUEST_SYNC("pci cfg window ok", 1);
	GUEST_DONE();
}
GUEST_TEST("virtio-pci-cfg", test_pci_cfg);
