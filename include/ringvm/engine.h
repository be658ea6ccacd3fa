/* The CPU-engine interface.  Two engines implement it: "kvm" (hardware
 * assisted, src/cpu/kvm/) and "soft" (ringvm's own x86 CPU, src/cpu/soft/).
 * Nothing outside src/cpu/<engine>/ knows which one runs: the machine talks
 * to the engine only through this ops table, and the engine talks back only
 * through struct vcpu_exit (handled by the shared loop in vcpu_loop.c) and the
 * irq_router it installs in the vm. */
#ifndef RINGVM_ENGINE_H
#define RINGVM_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ringvm/irqchip_state.h"
#include "ringvm/x86_state.h"

struct vm;
struct vm_metrics;
struct vcpu;

enum vcpu_exit_reason {
	VCPU_EXIT_NONE,
	VCPU_EXIT_PIO,          /* port I/O the engine could not complete itself */
	VCPU_EXIT_MMIO,         /* access to a guest-physical address that is not RAM */
	VCPU_EXIT_HLT,          /* stuck: only another vCPU could wake it; see .hlt */
	VCPU_EXIT_SHUTDOWN,     /* triple fault */
	VCPU_EXIT_INTERRUPTED,  /* engine_ops.kick() was called, or a signal */
	VCPU_EXIT_INTERNAL,     /* engine failure: emulation error, bad state; see .error */
	VCPU_EXIT_COUNT
};

struct vcpu_exit {
	enum vcpu_exit_reason reason;
	union {
		struct {
			uint16_t port;
			uint8_t size;   /* 1, 2, 4 */
			bool write;
			uint32_t count; /* >1 for string I/O: data holds count items */
			uint8_t *data;  /* engine-owned buffer of size*count bytes */
		} pio;
		struct {
			uint64_t gpa;
			uint8_t size;   /* 1, 2, 4, 8 */
			bool write;
			uint8_t data[8];
		} mmio;
		struct {
			/* HLT with IF=0 and nothing that can deliver an NMI or
			 * INIT to it, or (wait_sipi) waiting for a startup IPI */
			bool wait_sipi;
			/* vcpu_wake_gen() sampled before the engine found nothing
			 * pending: the loop ignores the report once it is stale */
			uint64_t wake_gen;
		} hlt;
	};
	char error[256];            /* human-readable cause for INTERNAL/SHUTDOWN */
};

/* What a probe learnt about an engine on this host. */
struct engine_probe {
	bool available;            /* the engine can run guests at all */
	bool runs_kernels_well;    /* fast enough for a guest kernel (CPL0) */
	double cpl0_mips;          /* measured CPL0 speed, 0 if not measured */
	char reason[256];          /* why (for --verbose and errors) */
};

struct engine_ops {
	const char *name;

	/* The engine brings its own PIC, PIT and IOAPIC (kvm: in the kernel)
	 * and installs vm->irq itself.  False: the machine creates the board's
	 * chips (src/hw/board_irqchip.h) before vm_init, installs their router
	 * as vm->irq, and the engine connects its local APICs to them. */
	bool in_kernel_irqchip;

	/* Check whether this engine can run here.  May take up to ~100 ms. */
	void (*probe)(struct engine_probe *out);

	/* VM-wide state: called after guest memory exists, before any device.
	 * With in_kernel_irqchip it must install vm->irq (the router devices
	 * raise lines through); without, vm->irqchip exists already. */
	int (*vm_init)(struct vm *vm);
	void (*vm_destroy)(struct vm *vm);

	/* Per vCPU; vcpu_init runs on the vCPU's own thread. */
	int (*vcpu_init)(struct vcpu *v);
	void (*vcpu_destroy)(struct vcpu *v);

	/* Run until an exit the shared loop must handle.  Before calling again
	 * after PIO/MMIO reads the loop has filled exit->pio.data/mmio.data. */
	int (*vcpu_run)(struct vcpu *v, struct vcpu_exit *exit);

	/* Make vcpu_run return VCPU_EXIT_INTERRUPTED soon; callable from any thread. */
	void (*vcpu_kick)(struct vcpu *v);

	int (*get_regs)(struct vcpu *v, struct x86_regs *r);
	int (*set_regs)(struct vcpu *v, const struct x86_regs *r);
	int (*get_sregs)(struct vcpu *v, struct x86_sregs *s);
	int (*set_sregs)(struct vcpu *v, const struct x86_sregs *s);
	int (*get_fpu)(struct vcpu *v, struct x86_fpu *f);
	int (*set_fpu)(struct vcpu *v, const struct x86_fpu *f);
	/* Read/write n MSRs; returns how many succeeded, or -errno. */
	int (*get_msrs)(struct vcpu *v, struct x86_msr *msrs, unsigned n);
	int (*set_msrs)(struct vcpu *v, const struct x86_msr *msrs, unsigned n);

	/* Optional (NULL: not offered, the write exits to the bus as usual):
	 * make a guest write of exactly len bytes to MMIO address gpa signal
	 * eventfd fd instead of exiting to the VMM (assign), or stop that
	 * (!assign).  0 or -errno.  Callable from any thread. */
	int (*ioeventfd)(struct vm *vm, uint64_t gpa, unsigned len, int fd, bool assign);

	/* Optional (NULL: not offered; devices then send every MSI through
	 * vm->irq.send_msi): bind eventfd fd to the MSI (addr, data), so that
	 * a device's write to fd injects the message inside the engine,
	 * without a VMM ioctl or the irq router (KVM irqfd on an MSI route of
	 * the GSI table: KVM API 4.75 KVM_IRQFD, 4.52 KVM_SET_GSI_ROUTING).
	 * Called again for a bound fd it changes the message; !assign removes
	 * the binding.  0 or -errno (-ENOSYS: the host cannot, -ENOSPC: no
	 * route left; the caller keeps the plain path).  Callable from any
	 * thread. */
	int (*irqfd_msi)(struct vm *vm, int fd, uint64_t addr, uint32_t data, bool assign);

	/* Snapshots (docs/snapshot.md), optional (NULL: the engine cannot be
	 * snapshotted or restored; the snapshot is refused with a message).
	 * The interrupt controllers and each vCPU's extra state in the neutral
	 * form of irqchip_state.h (without in_kernel_irqchip, the engine's
	 * part only: vm_irqchip_get/set add the board's chips).  Called with every vCPU parked (vm_pause) or
	 * not yet running; set_irqchip after vm_init, before the vCPUs run;
	 * set_vcpu_extra after set_sregs/set_regs/set_fpu/set_msrs, on the
	 * vCPU's own thread.  0 or -errno. */
	int (*get_irqchip)(struct vm *vm, struct irqchip_state *s);
	int (*set_irqchip)(struct vm *vm, const struct irqchip_state *s);
	int (*get_vcpu_extra)(struct vcpu *v, struct vcpu_extra_state *e);
	int (*set_vcpu_extra)(struct vcpu *v, const struct vcpu_extra_state *e);

	/* Dirty-page tracking for diff snapshots (docs/snapshot.md), optional
	 * (NULL: the engine cannot; track_dirty_pages is refused).  Pages the
	 * vCPUs write, one bit per 4 KiB page indexed by its offset in RAM
	 * (as gmem's dirty bitmap, which holds the VMM's and devices' writes
	 * and may be where an engine puts its marks too).  dirty_log_start
	 * after vm_init (and again after a machine reset's vm_init);
	 * dirty_log_fetch ORs into bitmap (gmem_dirty_words words) the pages
	 * written since the start or the last fetch and re-arms the tracking,
	 * called with every vCPU parked; dirty_log_stop may be NULL (nothing
	 * calls it yet: tracking lasts the VM's life, as in Firecracker).  0
	 * or -errno (-ENOTSUP: the host cannot). */
	int (*dirty_log_start)(struct vm *vm);
	int (*dirty_log_fetch)(struct vm *vm, uint64_t *bitmap);
	void (*dirty_log_stop)(struct vm *vm);

	/* Engine-specific counters for --stats (beyond the shared exit counters). */
	void (*print_stats)(struct vm *vm, FILE *out);
	/* The same as a metrics group (may be NULL; vm.h, struct vm_metrics). */
	void (*metrics)(struct vm *vm, struct vm_metrics *m);
};

/* Short name of an exit reason, for stats and traces. */
const char *vcpu_exit_name(enum vcpu_exit_reason r);

/* Registered engines, in src/cpu/engine.c. */
const struct engine_ops *engine_find(const char *name);
extern const struct engine_ops engine_kvm_ops;
extern const struct engine_ops engine_soft_ops;

/* Resolve "auto" | "kvm" | "soft" to an engine, probing as needed.
 * On failure returns NULL and writes a one-line reason into why. */
const struct engine_ops *engine_select(const char *name, bool verbose,
				       char *why, size_t why_len);

#endif
