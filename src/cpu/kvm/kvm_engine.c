/* The kvm engine's entry in the engine table: hardware-assisted x86 through
 * Linux KVM.  See docs/engine-kvm.md.  One concept per file:
 *   kvm_probe.c  availability and the CPL0 speed probe
 *   kvm_vm.c     VM, memory slots, in-kernel irqchip and PIT, irq router
 *   kvm_vcpu.c   vCPU creation, kick signal, halt-detection tick
 *   kvm_cpuid.c  CPUID (topology, hypervisor leaves)
 *   kvm_run.c    KVM_RUN and exit translation
 *   kvm_halt.c   "cli; hlt" detection
 *   kvm_regs.c   register state conversion
 *   kvm_stats.c  --stats counters
 *   kvm_ioeventfd.c  doorbell writes signalling an eventfd
 *   kvm_irqfd.c  device interrupts (MSI routes) signalled through an eventfd
 *   kvm_snapshot.c   snapshot state to and from the neutral form
 *   kvm_dirty.c      dirty-page logging for diff snapshots */
#include "kvm_priv.h"

const struct engine_ops engine_kvm_ops = {
	.name = "kvm",
	.in_kernel_irqchip = true,  /* KVM_CREATE_IRQCHIP + KVM_CREATE_PIT2 */
	.probe = kvm_probe,
	.vm_init = kvm_vm_init,
	.vm_destroy = kvm_vm_destroy,
	.vcpu_init = kvm_vcpu_init,
	.vcpu_destroy = kvm_vcpu_destroy,
	.vcpu_run = kvm_vcpu_run,
	.vcpu_kick = kvm_vcpu_kick,
	.get_regs = kvm_get_regs,
	.set_regs = kvm_set_regs,
	.get_sregs = kvm_get_sregs,
	.set_sregs = kvm_set_sregs,
	.get_fpu = kvm_get_fpu,
	.set_fpu = kvm_set_fpu,
	.get_msrs = kvm_get_msrs,
	.set_msrs = kvm_set_msrs,
	.ioeventfd = kvm_ioeventfd,
	.irqfd_msi = kvm_irqfd_msi,
	.get_irqchip = kvm_get_irqchip,
	.set_irqchip = kvm_set_irqchip,
	.get_vcpu_extra = kvm_get_vcpu_extra,
	.set_vcpu_extra = kvm_set_vcpu_extra,
	.dirty_log_start = kvm_dirty_log_start,
	.dirty_log_fetch = kvm_dirty_log_fetch,
	.dirty_log_stop = kvm_dirty_log_stop,
	.print_stats = kvm_print_stats,
};
