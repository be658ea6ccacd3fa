/* --stats: what the VMM did for the guest, per exit reason and per device. */
#include <inttypes.h>
#include <stdio.h>

#include "ringvm/clock.h"
#include "ringvm/vm.h"

static void print_bus(FILE *out, struct bus *b, const char *label)
{
	pthread_rwlock_rdlock(&b->lock);
	for (unsigned i = 0; i < b->nr; i++) {
		struct bus_range *r = b->ranges[i];
		if (r->accesses)
			fprintf(out, "  %-5s %-22s 0x%08" PRIx64 "+0x%-6" PRIx64 " %12" PRIu64 " accesses\n",
				label, r->name, r->base, r->len, r->accesses);
	}
	pthread_rwlock_unlock(&b->lock);
	uint64_t un = atomic_load(&b->unhandled);
	if (un)
		fprintf(out, "  %-5s %-22s %19s %12" PRIu64 " accesses\n", label, "(unclaimed)", "", un);
}

void vm_print_stats(struct vm *vm, FILE *out)
{
	struct vcpu_stats sum = { 0 };
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		for (unsigned r = 0; r < VCPU_EXIT_COUNT; r++) {
			sum.count[r] += vm->vcpus[i].stats.count[r];
			sum.ns[r] += vm->vcpus[i].stats.ns[r];
		}
		sum.pio_unhandled += vm->vcpus[i].stats.pio_unhandled;
		sum.mmio_unclaimed_reads += vm->vcpus[i].stats.mmio_unclaimed_reads;
		sum.mmio_unclaimed_writes += vm->vcpus[i].stats.mmio_unclaimed_writes;
	}
	double secs = (double)(clock_monotonic_ns() - vm->start_ns) / 1e9;
	fprintf(out, "ringvm stats: engine %s, %u vCPU%s, %.3f s, %u reset%s\n",
		vm->engine ? vm->engine->name : "-", vm->nr_vcpus, vm->nr_vcpus == 1 ? "" : "s",
		secs, vm->reset_count, vm->reset_count == 1 ? "" : "s");
	fprintf(out, "  %-12s %12s %12s %10s\n", "exit", "count", "handling ms", "avg us");
	for (unsigned r = 1; r < VCPU_EXIT_COUNT; r++) {
		if (!sum.count[r])
			continue;
		fprintf(out, "  %-12s %12" PRIu64 " %12.3f %10.3f\n", vcpu_exit_name(r), sum.count[r],
			(double)sum.ns[r] / 1e6, (double)sum.ns[r] / 1e3 / (double)sum.count[r]);
	}
	if (sum.pio_unhandled || sum.mmio_unclaimed_reads || sum.mmio_unclaimed_writes)
		fprintf(out, "  unclaimed: %" PRIu64 " port accesses, %" PRIu64 " MMIO reads (all-ones), %"
			PRIu64 " MMIO writes (dropped)\n", sum.pio_unhandled,
			sum.mmio_unclaimed_reads, sum.mmio_unclaimed_writes);
	fprintf(out, "  device windows:\n");
	print_bus(out, &vm->pio, "pio");
	print_bus(out, &vm->mmio, "mmio");
	for (unsigned k = 0; k < VM_LOG_KINDS; k++) {
		struct log_ratelimit *rl = &vm->log_limits[k];
		if (rl->suppressed_total)
			fprintf(out, "  log    %-14s %12" PRIu64 " messages suppressed (rate limit)\n",
				rl->what, rl->suppressed_total);
	}
	vm_irqchip_print_stats(vm, out);
	for (unsigned i = 0; i < vm->nr_devices; i++)
		if (vm->devices[i].ops && vm->devices[i].ops->print_stats)
			vm->devices[i].ops->print_stats(vm->devices[i].opaque, out);
	if (vm->engine && vm->engine->print_stats)
		vm->engine->print_stats(vm, out);
}
