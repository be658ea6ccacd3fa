/* kvm probe: is KVM usable here, and does it run guest kernel mode (CPL0)
 * at hardware speed?  Nested "PVM" KVM runs guest user mode natively but
 * emulates every CPL0 instruction in the host kernel (~3 MIPS), so a guest
 * kernel crawls there.  The probe times a counted loop at CPL0 in a
 * throwaway VM (4 KiB of RAM, 32-bit flat protected mode set up through
 * sregs, no irqchip) and compares against KVM_PROBE_MIN_MIPS.
 *
 * Bounded: the first chunk is KVM_PROBE_CHUNK1 loop iterations (~16k
 * instructions, ~5 ms at 3 MIPS).  Only if that took under 5 ms is a second
 * chunk run, sized from the first to take ~10 ms; so the probe costs
 * ~15-30 ms anywhere plus VM creation. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "kvm_priv.h"

#define KVM_PROBE_MIN_MIPS   100.0   /* real VT-x/AMD-V does thousands */
#define KVM_PROBE_CHUNK1     8192U   /* loop iterations (2 instructions each) */
#define KVM_PROBE_CHUNK2_NS  10000000.0
#define KVM_PROBE_MAX_ITERS  100000000U
#define PROBE_PORT           0x80
#define PROBE_MEM            4096

/* mov ecx, N1; 1: dec ecx; jnz 1b; out 0x80, al;
 * mov ecx, N2; 2: dec ecx; jnz 2b; out 0x80, al; hlt   (32-bit code) */
static const uint8_t probe_code[] = {
	0xb9, 0, 0, 0, 0, 0x49, 0x75, 0xfd, 0xe6, PROBE_PORT,
	0xb9, 0, 0, 0, 0, 0x49, 0x75, 0xfd, 0xe6, PROBE_PORT,
	0xf4,
};
#define N1_OFFSET 1
#define N2_OFFSET 11

struct probe_vm {
	int sys_fd, vm_fd, vcpu_fd;
	uint8_t *mem;
	struct kvm_run *run;
	size_t run_size;
};

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int fail(char *why, size_t n, const char *what, int err)
{
	snprintf(why, n, "%s failed: %s", what, strerror(err));
	return -err;
}

static int flat_sregs(struct probe_vm *p, char *why, size_t n)
{
	struct kvm_sregs s;

	if (ioctl(p->vcpu_fd, KVM_GET_SREGS, &s) < 0)
		return fail(why, n, "KVM_GET_SREGS", errno);
	struct kvm_segment code = {
		.base = 0, .limit = 0xffffffff, .selector = 0x8, .type = 0xb,
		.present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
	};
	struct kvm_segment data = code;
	data.selector = 0x10;
	data.type = 0x3;
	s.cs = code;
	s.ds = s.es = s.fs = s.gs = s.ss = data;
	s.cr0 = 0x11; /* PE | ET */
	s.cr4 = 0;
	s.efer = 0;
	if (ioctl(p->vcpu_fd, KVM_SET_SREGS, &s) < 0)
		return fail(why, n, "KVM_SET_SREGS", errno);
	struct kvm_regs r = { .rip = 0, .rflags = 2 };
	if (ioctl(p->vcpu_fd, KVM_SET_REGS, &r) < 0)
		return fail(why, n, "KVM_SET_REGS", errno);
	return 0;
}

static int create(struct probe_vm *p, char *why, size_t n)
{
	p->vm_fd = ioctl(p->sys_fd, KVM_CREATE_VM, 0UL);
	if (p->vm_fd < 0)
		return fail(why, n, "KVM_CREATE_VM", errno);
	if (ioctl(p->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_TSS_ADDR) > 0 &&
	    ioctl(p->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0)
		return fail(why, n, "KVM_SET_TSS_ADDR", errno);
	p->mem = mmap(NULL, PROBE_MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p->mem == MAP_FAILED) {
		p->mem = NULL;
		return fail(why, n, "mmap of probe memory", errno);
	}
	memcpy(p->mem, probe_code, sizeof(probe_code));
	struct kvm_userspace_memory_region r = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = PROBE_MEM,
		.userspace_addr = (uintptr_t)p->mem,
	};
	if (ioctl(p->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return fail(why, n, "KVM_SET_USER_MEMORY_REGION", errno);
	p->vcpu_fd = ioctl(p->vm_fd, KVM_CREATE_VCPU, 0UL);
	if (p->vcpu_fd < 0)
		return fail(why, n, "KVM_CREATE_VCPU", errno);
	int sz = ioctl(p->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0UL);
	if (sz < (int)sizeof(struct kvm_run))
		return fail(why, n, "KVM_GET_VCPU_MMAP_SIZE", sz < 0 ? errno : EINVAL);
	p->run_size = (size_t)sz;
	void *run = mmap(NULL, p->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, p->vcpu_fd, 0);
	if (run == MAP_FAILED)
		return fail(why, n, "mmap of kvm_run", errno);
	p->run = run;
	return flat_sregs(p, why, n);
}

static void destroy(struct probe_vm *p)
{
	if (p->run)
		munmap(p->run, p->run_size);
	if (p->vcpu_fd >= 0)
		close(p->vcpu_fd);
	if (p->mem)
		munmap(p->mem, PROBE_MEM);
	if (p->vm_fd >= 0)
		close(p->vm_fd);
}

/* Run until the next OUT to the probe port; *ns gets the time in KVM_RUN. */
static int run_chunk(struct probe_vm *p, double *ns, char *why, size_t n)
{
	*ns = 0;
	for (int tries = 0; tries < 100; tries++) {
		double t0 = now_ns();
		int r = ioctl(p->vcpu_fd, KVM_RUN, 0UL);
		*ns += now_ns() - t0;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return fail(why, n, "KVM_RUN", errno);
		if (p->run->exit_reason == KVM_EXIT_IO && p->run->io.port == PROBE_PORT)
			return 0;
		snprintf(why, n, "CPL0 probe guest stopped with KVM exit %u (KVM_EXIT_%s)",
			 p->run->exit_reason, kvm_exit_name(p->run->exit_reason));
		return -EIO;
	}
	snprintf(why, n, "CPL0 probe: KVM_RUN interrupted 100 times");
	return -EINTR;
}

/* Measure CPL0 MIPS; 0 or -errno with why filled. */
static int measure(int sys_fd, double *mips, char *why, size_t n)
{
	struct probe_vm p = { .sys_fd = sys_fd, .vm_fd = -1, .vcpu_fd = -1 };
	double ns;
	int r = create(&p, why, n);

	if (r < 0)
		goto out;
	put32(p.mem + N1_OFFSET, KVM_PROBE_CHUNK1);
	r = run_chunk(&p, &ns, why, n);
	if (r < 0)
		goto out;
	double instrs = 2.0 * KVM_PROBE_CHUNK1 + 2;
	if (ns < 5e6) {
		/* Fast: a longer chunk for a steadier figure. */
		double per_iter = ns / KVM_PROBE_CHUNK1;
		double iters = KVM_PROBE_CHUNK2_NS / (per_iter > 0.01 ? per_iter : 0.01);
		uint32_t n2 = iters > KVM_PROBE_MAX_ITERS ? KVM_PROBE_MAX_ITERS :
			      iters < KVM_PROBE_CHUNK1 ? KVM_PROBE_CHUNK1 : (uint32_t)iters;
		put32(p.mem + N2_OFFSET, n2);
		r = run_chunk(&p, &ns, why, n);
		if (r < 0)
			goto out;
		instrs = 2.0 * n2 + 2;
	}
	*mips = ns > 0 ? instrs / (ns / 1e3) : 0;
out:
	destroy(&p);
	return r;
}

void kvm_probe(struct engine_probe *out)
{
	char why[200];
	int fd = -1;

	out->available = false;
	out->runs_kernels_well = false;
	out->cpl0_mips = 0;
	if (kvm_open_dev(&fd, why, sizeof(why)) < 0 || !kvm_check_caps(fd, why, sizeof(why)) ||
	    measure(fd, &out->cpl0_mips, why, sizeof(why)) < 0) {
		snprintf(out->reason, sizeof(out->reason), "%s", why);
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	out->available = true;
	out->runs_kernels_well = out->cpl0_mips >= KVM_PROBE_MIN_MIPS;
	bool pvm = kvm_host_is_pvm();
	if (out->runs_kernels_well)
		snprintf(out->reason, sizeof(out->reason),
			 "CPL0 probe ran at %.0f MIPS: hardware-assisted kernel mode%s",
			 out->cpl0_mips, pvm ? " (module kvm_pvm loaded)" : "");
	else
		snprintf(out->reason, sizeof(out->reason),
			 "CPL0 probe ran at %.1f MIPS (< %.0f): kernel mode is emulated (%s)",
			 out->cpl0_mips, KVM_PROBE_MIN_MIPS,
			 pvm ? "nested PVM KVM: module kvm_pvm loaded" : "nested or emulated KVM?");
}
