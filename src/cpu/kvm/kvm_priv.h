/* Private state and helpers of the kvm engine (src/cpu/kvm/).  Nothing
 * outside this folder includes this header: the machine sees the engine only
 * through engine_kvm_ops. */
#ifndef RINGVM_KVM_PRIV_H
#define RINGVM_KVM_PRIV_H

#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "ringvm/engine.h"
#include "ringvm/layout.h"

struct vm;
struct vcpu;

/* Fixed guest-physical pages KVM needs on Intel hosts without unrestricted
 * guest (real-mode TSS: 3 pages, identity-map page table: 1 page), just below
 * the BIOS area at the top of the 32-bit space, as QEMU and kvmtool do. */
#define KVM_TSS_ADDR         0xfffbd000ULL
#define KVM_IDENTITY_MAP     0xfffbc000ULL

/* Counted KVM exit reasons (KVM_EXIT_* are small integers); larger ones
 * fall into the last bucket. */
#define KVM_NR_EXIT_REASONS  48

/* The signal that kicks a vCPU thread out of KVM_RUN (vcpu_kick and the
 * halt-detection tick).  Blocked on the vCPU thread except inside KVM_RUN. */
#define KVM_KICK_SIGNAL      (SIGRTMIN + 4)

/* MSI routes for irqfds (kvm_irqfd.c): GSIs KVM_IRQFD_GSI_BASE + i. */
#define KVM_MAX_IRQFDS       256
#define KVM_MSI_ROUTE_GSI    LAYOUT_IOAPIC_PINS  /* the no-SIGNAL_MSI fallback's route */
#define KVM_IRQFD_GSI_BASE   (KVM_MSI_ROUTE_GSI + 1)

/* Halt detection: a tick every this many ms checks for "cli; hlt". */
#define KVM_HALT_TICK_MS     200

/* What the halt-detection tick last saw on a vCPU (struct kvm_vm.halt). */
enum kvm_halt_state {
	KVM_HALT_RUNNING = 0,   /* running, or not looked at yet */
	KVM_HALT_PARKED,        /* AP waiting for INIT/SIPI (wakes only by another
				   vCPU), or vCPU destroyed */
	KVM_HALT_DEAD,          /* halted, IF=0, nothing pending */
};

struct kvm_vcpu_counters {
	_Atomic uint64_t exits[KVM_NR_EXIT_REASONS]; /* by KVM exit reason */
	_Atomic uint64_t kicks;       /* KVM_RUN interrupted by vcpu_kick */
	_Atomic uint64_t ticks;       /* KVM_RUN interrupted by the halt tick */
	_Atomic uint64_t runs;        /* KVM_RUN calls */
};

/* VM-wide engine state (vm->engine_state). */
struct kvm_vm {
	int sys_fd;                 /* /dev/kvm */
	int vm_fd;
	int run_size;               /* KVM_GET_VCPU_MMAP_SIZE */
	bool pvm;                   /* host module kvm_pvm: kernel mode emulated */
	bool has_identity_map;
	bool dirty_manual;          /* KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 on (kvm_dirty.c) */
	bool has_xsave;             /* KVM_CAP_XSAVE: FPU state incl. MXCSR */
	struct kvm_cpuid2 *cpuid;   /* KVM_GET_SUPPORTED_CPUID, read at vm_init */
	_Atomic int halt[MAX_VCPUS];                 /* enum kvm_halt_state */
	_Atomic uint64_t halt_since[MAX_VCPUS];      /* ns: state last changed */
	_Atomic uint64_t halt_seen[MAX_VCPUS];       /* ns: state last sampled */
	struct kvm_vcpu_counters counters[MAX_VCPUS]; /* by vCPU id */
	_Atomic uint64_t irq_errors;
	_Atomic uint64_t msis;      /* MSIs sent (KVM_SIGNAL_MSI or the route) */
	bool signal_msi;            /* KVM_CAP_SIGNAL_MSI; else a GSI route */
	bool has_ioeventfd;         /* KVM_CAP_IOEVENTFD (kvm_ioeventfd.c) */
	_Atomic uint64_t ioeventfds_assigned, ioeventfds_removed;
	pthread_mutex_t msi_lock;   /* the GSI routing table: the fallback's route, irqfds */
	/* irqfd (kvm_irqfd.c): eventfds bound to MSI routes at GSIs above
	 * KVM_MSI_ROUTE_GSI, under msi_lock. */
	bool has_irqfd;             /* KVM_CAP_IRQFD and KVM_CAP_IRQ_ROUTING */
	struct kvm_irqfd_route {
		int fd;                 /* -1: free */
		struct kvm_irq_routing_msi msi;
	} irqfds[KVM_MAX_IRQFDS];
	_Atomic uint64_t irqfds_assigned, irqfds_removed, irqfd_route_updates;
	struct kvm_vcpu *vcpus[MAX_VCPUS]; /* by id; freed by vm_destroy */
};

/* Per-vCPU engine state (vcpu->engine_state). */
struct kvm_vcpu {
	struct kvm_vm *kvm;
	int fd;
	struct kvm_run *run;
	pthread_t thread;           /* the vCPU thread (vcpu_init's caller) */
	pthread_mutex_t lock;       /* orders vcpu_kick against vcpu_destroy */
	bool alive;                 /* between vcpu_init and vcpu_destroy */
	timer_t tick;               /* halt-detection tick, signals the thread */
	bool tick_armed;
	atomic_bool kick_requested; /* set by vcpu_kick */
	bool mmio_read_pending;     /* last exit was an MMIO read */
	bool reported_halt;         /* last tick returned VCPU_EXIT_HLT */
	struct kvm_vcpu_counters *ctr;
};

/* kvm_util.c */
int kvm_ioctl(int fd, unsigned long req, void *arg);
int kvm_open_dev(int *fd_out, char *why, size_t why_len);
bool kvm_check_caps(int sys_fd, char *why, size_t why_len);
bool kvm_host_is_pvm(void);
const char *kvm_exit_name(uint32_t reason);

/* kvm_cpuid.c */
struct kvm_cpuid2 *kvm_cpuid_supported(int sys_fd);
int kvm_cpuid_setup(struct kvm_vcpu *kv, unsigned id, unsigned nr_cpus);

/* kvm_vm.c */
int kvm_vm_init(struct vm *vm);
void kvm_vm_destroy(struct vm *vm);
/* The whole GSI table: the board's pins, the fallback's MSI route (msi, or
 * NULL) and the irqfd routes.  msi_lock held (or before any vCPU runs). */
int kvm_set_irq_routing(struct kvm_vm *kvm, const struct kvm_irq_routing_msi *msi);

/* kvm_vcpu.c */
int kvm_vcpu_init(struct vcpu *v);
void kvm_vcpu_destroy(struct vcpu *v);
void kvm_vcpu_free(struct kvm_vcpu *kv);
void kvm_vcpu_kick(struct vcpu *v);
void kvm_vcpu_eat_kicks(void);

/* kvm_run.c */
int kvm_vcpu_run(struct vcpu *v, struct vcpu_exit *exit);

/* kvm_halt.c: what a halt-detection tick concluded for this vCPU. */
enum kvm_halt_verdict {
	KVM_HALT_CONTINUE,      /* re-enter KVM_RUN */
	KVM_HALT_REPORT,        /* the machine cannot continue: VCPU_EXIT_HLT */
	KVM_HALT_WOKE,          /* reported HLT before, runs again: VCPU_EXIT_INTERRUPTED */
};
enum kvm_halt_verdict kvm_halt_check(struct vcpu *v);
/* A destroyed vCPU can wake nobody: it counts as PARKED. */
void kvm_halt_gone(struct kvm_vm *kvm, unsigned id);

/* kvm_regs.c */
int kvm_get_regs(struct vcpu *v, struct x86_regs *r);
int kvm_set_regs(struct vcpu *v, const struct x86_regs *r);
int kvm_get_sregs(struct vcpu *v, struct x86_sregs *s);
int kvm_set_sregs(struct vcpu *v, const struct x86_sregs *s);
int kvm_get_fpu(struct vcpu *v, struct x86_fpu *f);
int kvm_set_fpu(struct vcpu *v, const struct x86_fpu *f);
int kvm_get_msrs(struct vcpu *v, struct x86_msr *msrs, unsigned n);
int kvm_set_msrs(struct vcpu *v, const struct x86_msr *msrs, unsigned n);

/* kvm_snapshot.c: engine_ops' snapshot state in the neutral form */
int kvm_get_irqchip(struct vm *vm, struct irqchip_state *s);
/* kvm_dirty.c: dirty-page tracking (diff snapshots) */
int kvm_dirty_log_start(struct vm *vm);
int kvm_dirty_log_fetch(struct vm *vm, uint64_t *bitmap);
void kvm_dirty_log_stop(struct vm *vm);
int kvm_set_irqchip(struct vm *vm, const struct irqchip_state *s);
int kvm_get_vcpu_extra(struct vcpu *v, struct vcpu_extra_state *e);
int kvm_set_vcpu_extra(struct vcpu *v, const struct vcpu_extra_state *e);
/* After a host-side IA32_TSC write: make sure the guest TSC is want. */
void kvm_fix_guest_tsc(struct vcpu *v, uint64_t want);

/* kvm_probe.c */
void kvm_probe(struct engine_probe *out);

/* kvm_stats.c */
void kvm_print_stats(struct vm *vm, FILE *out);

/* kvm_ioeventfd.c: engine_ops.ioeventfd */
int kvm_ioeventfd(struct vm *vm, uint64_t gpa, unsigned len, int fd, bool assign);

/* kvm_irqfd.c: engine_ops.irqfd_msi */
int kvm_irqfd_msi(struct vm *vm, int fd, uint64_t addr, uint32_t data, bool assign);

#endif
