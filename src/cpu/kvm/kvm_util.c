/* Small helpers of the kvm engine: ioctl wrapper, /dev/kvm, exit names. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvm_priv.h"
#include "ringvm/compiler.h"

/* ioctl returning its result or -errno; retried on EINTR (never use for
 * KVM_RUN, where EINTR is the kick). */
int kvm_ioctl(int fd, unsigned long req, void *arg)
{
	int r;

	do
		r = ioctl(fd, req, arg);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

/* Open /dev/kvm and check the API version.  0, or -errno with why filled. */
int kvm_open_dev(int *fd_out, char *why, size_t why_len)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		int e = errno;
		snprintf(why, why_len, "cannot open /dev/kvm: %s%s", strerror(e),
			 e == EACCES ? " (add yourself to the kvm group)" :
			 e == ENOENT ? " (no KVM module loaded, or no hardware virtualisation)" : "");
		return -e;
	}
	int v = kvm_ioctl(fd, KVM_GET_API_VERSION, NULL);
	if (v != KVM_API_VERSION) {
		if (v < 0)
			snprintf(why, why_len, "KVM_GET_API_VERSION failed: %s", strerror(-v));
		else
			snprintf(why, why_len, "KVM API version %d, need %d", v, KVM_API_VERSION);
		close(fd);
		return v < 0 ? v : -ENOTSUP;
	}
	*fd_out = fd;
	return 0;
}

/* Capabilities the engine relies on.  True, or false with why filled. */
bool kvm_check_caps(int sys_fd, char *why, size_t why_len)
{
	static const struct { long cap; const char *name; } need[] = {
		{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
		{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
		{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
		{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
		{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
		{ KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE" },
		{ KVM_CAP_VCPU_EVENTS, "KVM_CAP_VCPU_EVENTS" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(need); i++) {
		if (ioctl(sys_fd, KVM_CHECK_EXTENSION, need[i].cap) <= 0) {
			snprintf(why, why_len, "KVM lacks %s", need[i].name);
			return false;
		}
	}
	return true;
}

/* The host's KVM is the PVM flavour (kernel mode emulated by the host). */
bool kvm_host_is_pvm(void)
{
	return access("/sys/module/kvm_pvm", F_OK) == 0;
}

const char *kvm_exit_name(uint32_t reason)
{
	static const char *const names[] = {
		[KVM_EXIT_UNKNOWN] = "UNKNOWN",
		[KVM_EXIT_EXCEPTION] = "EXCEPTION",
		[KVM_EXIT_IO] = "IO",
		[KVM_EXIT_HYPERCALL] = "HYPERCALL",
		[KVM_EXIT_DEBUG] = "DEBUG",
		[KVM_EXIT_HLT] = "HLT",
		[KVM_EXIT_MMIO] = "MMIO",
		[KVM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN",
		[KVM_EXIT_SHUTDOWN] = "SHUTDOWN",
		[KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
		[KVM_EXIT_INTR] = "INTR",
		[KVM_EXIT_SET_TPR] = "SET_TPR",
		[KVM_EXIT_TPR_ACCESS] = "TPR_ACCESS",
		[KVM_EXIT_NMI] = "NMI",
		[KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
		[KVM_EXIT_WATCHDOG] = "WATCHDOG",
		[KVM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT",
		[KVM_EXIT_IOAPIC_EOI] = "IOAPIC_EOI",
		[KVM_EXIT_HYPERV] = "HYPERV",
		[KVM_EXIT_X86_RDMSR] = "X86_RDMSR",
		[KVM_EXIT_X86_WRMSR] = "X86_WRMSR",
		[KVM_EXIT_DIRTY_RING_FULL] = "DIRTY_RING_FULL",
		[KVM_EXIT_AP_RESET_HOLD] = "AP_RESET_HOLD",
		[KVM_EXIT_X86_BUS_LOCK] = "X86_BUS_LOCK",
		[KVM_EXIT_XEN] = "XEN",
		[KVM_EXIT_NOTIFY] = "NOTIFY",
	};

	if (reason < ARRAY_SIZE(names) && names[reason])
		return names[reason];
	return "unknown";
}
