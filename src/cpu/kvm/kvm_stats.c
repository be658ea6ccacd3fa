/* --stats for the kvm engine: KVM exits by KVM exit reason, kicks and
 * halt-detection ticks, summed over vCPUs (the shared loop prints its own
 * per-category counts and handling times). */
#include <stdio.h>

#include "kvm_priv.h"
#include "ringvm/vm.h"

static uint64_t ld(_Atomic uint64_t *p)
{
	return atomic_load_explicit(p, memory_order_relaxed);
}

void kvm_print_stats(struct vm *vm, FILE *out)
{
	struct kvm_vm *kvm = vm->engine_state;

	if (!kvm)
		return;
	uint64_t exits[KVM_NR_EXIT_REASONS] = { 0 };
	uint64_t runs = 0, kicks = 0, ticks = 0, total = 0;

	for (unsigned c = 0; c < MAX_VCPUS; c++) {
		struct kvm_vcpu_counters *k = &kvm->counters[c];
		runs += ld(&k->runs);
		kicks += ld(&k->kicks);
		ticks += ld(&k->ticks);
		for (unsigned i = 0; i < KVM_NR_EXIT_REASONS; i++)
			exits[i] += ld(&k->exits[i]);
	}
	for (unsigned i = 0; i < KVM_NR_EXIT_REASONS; i++)
		total += exits[i];
	fprintf(out, "kvm engine: %llu KVM_RUN calls, %llu exits%s\n",
		(unsigned long long)runs, (unsigned long long)total,
		kvm->pvm ? " (host KVM is kvm_pvm: guest kernel mode is emulated)" : "");
	for (unsigned i = 0; i < KVM_NR_EXIT_REASONS; i++) {
		if (!exits[i])
			continue;
		if (i == KVM_NR_EXIT_REASONS - 1)
			fprintf(out, "  KVM_EXIT_(>=%u)%*s %12llu\n", i, 6, "",
				(unsigned long long)exits[i]);
		else
			fprintf(out, "  KVM_EXIT_%-18s %12llu\n", kvm_exit_name(i),
				(unsigned long long)exits[i]);
	}
	fprintf(out, "  of the INTR exits: %llu kicks, %llu halt-detection ticks\n",
		(unsigned long long)kicks, (unsigned long long)ticks);
	fprintf(out, "  ioeventfds: %s, %llu assigned, %llu removed\n",
		kvm->has_ioeventfd ? "offered" : "not offered (plain MMIO exits)",
		(unsigned long long)atomic_load(&kvm->ioeventfds_assigned),
		(unsigned long long)atomic_load(&kvm->ioeventfds_removed));
	fprintf(out, "  irqfds: %s, %llu assigned, %llu removed, %llu route updates\n",
		kvm->has_irqfd ? "offered" : "not offered (MSIs through KVM_SIGNAL_MSI)",
		(unsigned long long)atomic_load(&kvm->irqfds_assigned),
		(unsigned long long)atomic_load(&kvm->irqfds_removed),
		(unsigned long long)atomic_load(&kvm->irqfd_route_updates));
	if (atomic_load(&kvm->irq_errors))
		fprintf(out, "  KVM_IRQ_LINE failures: %llu\n",
			(unsigned long long)atomic_load(&kvm->irq_errors));
}
