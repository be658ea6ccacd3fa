/* A hand-built struct vm for device unit tests: buses, event loop, default
 * config with serial "none", and an irq router that records line levels. */
#ifndef RINGVM_TESTS_HW_TEST_VM_H
#define RINGVM_TESTS_HW_TEST_VM_H

#include <stdbool.h>
#include <stdint.h>

#include "ringvm/vm.h"

#define HW_TEST_NR_GSI 24

struct hw_test_irq {
	bool level[HW_TEST_NR_GSI];
	unsigned raises[HW_TEST_NR_GSI];   /* low -> high transitions */
	unsigned lowers[HW_TEST_NR_GSI];   /* high -> low transitions */
	unsigned nr_msi;                   /* MSIs sent (send_msi) */
	uint64_t msi_addr;                 /* the last one */
	uint32_t msi_data;
};

struct hw_test_vm {
	struct vm vm;
	struct hw_test_irq irq;
};

/* Make r an irq router that records into irq (line levels and their
 * transitions, MSIs), as the hand-built vm's own. */
void hw_test_irq_router(struct irq_router *r, struct hw_test_irq *irq);

/* ram_size only sets vm.mem.ram_size (no guest memory is mapped). */
void hw_test_vm_init(struct hw_test_vm *t, uint64_t ram_size);
void hw_test_vm_fini(struct hw_test_vm *t);
/* A cmocka fixture: a calloc'ed, initialised hw_test_vm, and its teardown
 * (hw_test_vm_fini, then free) for *state. */
struct hw_test_vm *hw_test_vm_new(uint64_t ram_size);
int hw_test_vm_teardown(void **state);
/* Forget a requested exit/reset so the next request can be observed. */
void hw_test_vm_rearm(struct hw_test_vm *t);
/* Run the event loop for about ms milliseconds. */
void hw_test_run_loop(struct hw_test_vm *t, int ms);

/* Field name of the Firecracker metrics group (vm_device_ops.metrics) of
 * the device created as dev, which must be named group; fails the test if
 * there is no such device, group or field. */
uint64_t hw_test_metric(struct hw_test_vm *t, const char *dev, const char *group,
			const char *name);

uint64_t hw_in(struct hw_test_vm *t, uint16_t port, unsigned size);
void hw_out(struct hw_test_vm *t, uint16_t port, unsigned size, uint64_t value);

#endif
