/* Checked fixtures of the virtio unit tests (cmocka: include after
 * <cmocka.h>): one ready queue for the walker and parser tests, and the
 * guest driver's side of a virtio-pci device on the mock bus
 * (virtio_pci_mock.h) for the transport and device tests. */
#ifndef RINGVM_TESTS_VIRTIO_FIXTURE_H
#define RINGVM_TESTS_VIRTIO_FIXTURE_H

#include "virtio_mock.h"
#include "virtio_pci_mock.h"
#include "src/virtio/virtio_pci.h"

/* Fresh guest RAM of 'ram' bytes with a queue of 'qsz' entries at 'rings'
 * programmed into q (device maximum 'max'), checked and ready. */
static inline void mock_queue_init(struct gmem *m, struct mock_q *mq, struct virtq *q,
				   uint64_t ram, gpa_t rings, uint16_t qsz, uint16_t max)
{
	struct gmem_opts o = { .ram_size = ram };
	assert_int_equal(gmem_init(m, &o), 0);
	mock_q_init(mq, m, rings, qsz);
	mock_q_program(mq, q, max);
	assert_int_equal(virtq_check(q), VIRTQ_OK);
	q->ready = true;
}

/* cmocka setup() and teardown() for a test's struct 'env' holding at least
 * struct gmem m, struct mock_q mq and struct virtq q (mock_queue_init). */
#define MOCK_QUEUE_FIXTURE(env, ram, rings, qsz, max)                          \
	static int setup(void **state)                                         \
	{                                                                      \
		env *e_ = calloc(1, sizeof(*e_));                              \
		assert_non_null(e_);                                           \
		mock_queue_init(&e_->m, &e_->mq, &e_->q, (ram), (rings), (qsz), (max)); \
		*state = e_;                                                   \
		return 0;                                                      \
	}                                                                      \
	static int teardown(void **state)                                      \
	{                                                                      \
		env *e_ = *state;                                              \
		gmem_destroy(&e_->m);                                          \
		free(e_);                                                      \
		return 0;                                                      \
	}

/* A VM for devices on the mock bus: guest RAM, the event loop, the device
 * message budget; vmock_vm_fini destroys its devices (newest first). */
static inline void vmock_vm_init(struct vm *vm, uint64_t ram)
{
	memset(vm, 0, sizeof(*vm));
	vmock_pci_reset();
	struct gmem_opts o = { .ram_size = ram };
	assert_int_equal(gmem_init(&vm->mem, &o), 0);
	assert_int_equal(evloop_init(&vm->loop), 0);
	log_ratelimit_init(&vm->log_limits[VM_LOG_DEVICE], "device", 100, 1000);
}

static inline void vmock_vm_fini(struct vm *vm)
{
	for (unsigned i = vm->nr_devices; i-- > 0;)
		vm->devices[i].ops->destroy(vm->devices[i].opaque);
	free(vm->devices);
	evloop_destroy(&vm->loop);
	gmem_destroy(&vm->mem);
}

/* The Linux driver's order (3.1.1): reset, ACKNOWLEDGE|DRIVER, the device
 * features (VERSION_1, INDIRECT_DESC and EVENT_IDX offered), accept
 * VERSION_1 (and EVENT_IDX if asked), FEATURES_OK, nq queues of 'size'
 * entries at 'base' in 64 KiB steps (queue q -> MSI-X vector q + 1, config
 * -> vector 0; 32-bit halves and a 64-bit write), DRIVER_OK.  Returns the
 * device features' low word. */
static inline uint32_t vmock_driver_init(struct pci_device *d, struct gmem *m, struct mock_q *mq,
					 unsigned nq, gpa_t base, uint16_t size, bool event_idx)
{
	vmock_wr(d, 0x14, 1, 0);
	assert_int_equal(vmock_rd(d, 0x14, 1), 0);
	vmock_wr(d, 0x14, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	vmock_wr(d, 0x00, 4, 1);
	assert_true(vmock_rd(d, 0x04, 4) & 1);                   /* VERSION_1 */
	vmock_wr(d, 0x00, 4, 0);
	uint32_t f = (uint32_t)vmock_rd(d, 0x04, 4);
	assert_true(f & (1u << VIRTIO_F_EVENT_IDX));
	assert_true(f & (1u << VIRTIO_F_INDIRECT_DESC));
	vmock_wr(d, 0x08, 4, 0);
	vmock_wr(d, 0x0c, 4, event_idx ? 1u << VIRTIO_F_EVENT_IDX : 0);
	vmock_wr(d, 0x08, 4, 1);
	vmock_wr(d, 0x0c, 4, 1);
	vmock_wr(d, 0x14, 1, 0x0b);
	assert_int_equal(vmock_rd(d, 0x14, 1), 0x0b);
	assert_int_equal(vmock_rd(d, 0x12, 2), nq);              /* num_queues */
	for (unsigned q = 0; q < nq; q++) {
		mock_q_init(&mq[q], m, base + 0x10000ull * q, size);
		vmock_wr(d, 0x16, 2, q);
		vmock_wr(d, 0x18, 2, size);
		vmock_wr(d, 0x1a, 2, q + 1);
		if (q == 0)
			vmock_wr(d, 0x10, 2, 0);
		vmock_wr(d, 0x20, 4, mq[q].desc);
		vmock_wr(d, 0x24, 4, mq[q].desc >> 32);
		vmock_wr(d, 0x28, 8, mq[q].avail);
		vmock_wr(d, 0x30, 4, mq[q].used);
		vmock_wr(d, 0x34, 4, mq[q].used >> 32);
		vmock_wr(d, 0x1c, 2, 1);
	}
	vmock_wr(d, 0x14, 1, 0x0f);
	assert_int_equal(vmock_rd(d, 0x14, 1), 0x0f);
	return f;
}

/* Notify queue q (select it, write its index at its notify address). */
static inline void vmock_kick(struct pci_device *d, unsigned q)
{
	vmock_wr(d, 0x16, 2, q);
	vmock_wr(d, VIRTIO_PCI_NOTIFY_OFF + VIRTIO_PCI_NOTIFY_MULT * vmock_rd(d, 0x1e, 2), 2, q);
}

/* Run the event loop (tries turns of ms) until queue mq has used n entries. */
static inline void vmock_wait_used(struct evloop *loop, struct mock_q *mq, uint16_t n,
				   int tries, int ms)
{
	for (int i = 0; i < tries && mock_used_idx(mq) != n; i++)
		vmock_pump(loop, ms);
	assert_int_equal(mock_used_idx(mq), n);
}

#endif
