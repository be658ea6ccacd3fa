/* PUT /snapshot/create: a full or diff snapshot of a paused VM
 * (docs/snapshot.md).
 * Everything is read through the engine's ops in ringvm's own structs, so
 * the files say nothing about the engine that wrote them: the config that
 * rebuilds the board, the machine clock, each vCPU (registers, FPU, MSRs,
 * LAPIC, events), the interrupt controllers in their neutral form, each
 * device's state, and RAM in its own sparse file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "ringvm/clock.h"
#include "ringvm/log.h"
#include "ringvm/vm.h"
#include "snapshot_mem.h"
#include "snapshot_sections.h"

#define MSR_IA32_SPEC_CTRL 0x48
#define MSR_SYSENTER_CS 0x174
#define MSR_SYSENTER_ESP 0x175
#define MSR_SYSENTER_EIP 0x176
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MSR_KVM_WALL_CLOCK_NEW 0x4b564d00
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01

const uint32_t snap_msr_list[] = {
	MSR_IA32_TSC, MSR_SYSENTER_CS, MSR_SYSENTER_ESP, MSR_SYSENTER_EIP,
	MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SFMASK, MSR_KERNEL_GS_BASE, MSR_TSC_AUX,
	MSR_IA32_CR_PAT, MSR_IA32_MISC_ENABLE, MSR_MTRR_DEF_TYPE,
	/* MTRRs: fixed ranges, then the variable base/mask pairs */
	0x250, 0x258, 0x259, 0x268, 0x269, 0x26a, 0x26b, 0x26c, 0x26d, 0x26e, 0x26f,
	0x200, 0x201, 0x202, 0x203, 0x204, 0x205, 0x206, 0x207,
	0x208, 0x209, 0x20a, 0x20b, 0x20c, 0x20d, 0x20e, 0x20f,
	MSR_KVM_WALL_CLOCK_NEW, MSR_KVM_SYSTEM_TIME_NEW,
	/* IBRS as the guest left it (Linux sets it once at boot on an eIBRS
	 * CPU); added after the first format: older files lack it and their
	 * vCPUs keep the reset value, 0 */
	MSR_IA32_SPEC_CTRL,
};
const unsigned snap_msr_count = sizeof(snap_msr_list) / sizeof(snap_msr_list[0]);
_Static_assert(sizeof(snap_msr_list) / sizeof(snap_msr_list[0]) <= SNAP_MAX_MSRS, "MSR list");

static int copy_str(char *dst, size_t cap, const char *src, const char *what, char *err,
		    size_t n)
{
	if (!src)
		src = "";
	if (strlen(src) >= cap) {
		snprintf(err, n, "the %s is longer than a snapshot keeps (%zu bytes)", what, cap - 1);
		return -1;
	}
	strcpy(dst, src);
	return 0;
}

/* What ringvm cannot snapshot yet is refused up front, so no broken file
 * is ever written. */
static int check_supported(struct vm *vm, char *err, size_t n)
{
	const struct engine_ops *e = vm->engine;
	if (!e->get_irqchip || !e->get_vcpu_extra) {
		snprintf(err, n, "the %s engine cannot take snapshots yet (docs/snapshot.md)", e->name);
		return -1;
	}
	for (unsigned i = 0; i < vm->nr_devices; i++)
		if (!vm->devices[i].ops || !vm->devices[i].ops->save) {
			snprintf(err, n, "device %s cannot be snapshotted yet (docs/snapshot.md)",
				 vm->devices[i].name);
			return -1;
		}
	return 0;
}

/* vm_pause returned with every vCPU parked; a VM restored paused may still
 * have vCPU threads on their way to the park. */
static int wait_parked(struct vm *vm, char *err, size_t n)
{
	uint64_t until = clock_monotonic_ns() + 5000000000ULL;
	pthread_mutex_lock(&vm->pause_lock);
	while (vm->nr_parked < vm->nr_vcpus && !vm_should_stop(vm) &&
	       clock_monotonic_ns() < until) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 10000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&vm->pause_cond, &vm->pause_lock, &ts);
	}
	bool ok = vm->nr_parked == vm->nr_vcpus && !vm_should_stop(vm);
	pthread_mutex_unlock(&vm->pause_lock);
	if (!ok)
		snprintf(err, n, "the vCPUs did not stop for the snapshot");
	return ok ? 0 : -1;
}

static int save_vcpu(struct vm *vm, struct vcpu *v, struct snap_vcpu *s, char *err, size_t n)
{
	const struct engine_ops *e = vm->engine;
	memset(s, 0, sizeof(*s));
	int r = e->get_regs(v, &s->regs);
	if (!r)
		r = e->get_sregs(v, &s->sregs);
	if (!r)
		r = e->get_fpu(v, &s->fpu);
	if (!r)
		r = e->get_vcpu_extra(v, &s->extra);
	if (r < 0) {
		snprintf(err, n, "vCPU %u: cannot read its state: %s", v->id, strerror(-r));
		return -1;
	}
	/* One at a time: an MSR one engine lacks is left out, not fatal. */
	for (unsigned i = 0; i < snap_msr_count; i++) {
		struct x86_msr m = { .index = snap_msr_list[i] };
		if (e->get_msrs(v, &m, 1) == 1)
			s->msrs[s->nr_msrs++] = m;
	}
	return 0;
}

static int build(struct vm *vm, struct snap_writer *w, uint64_t pages,
		 const struct snap_lineage *lin, char *err, size_t n)
{
	struct snap_config c;
	memset(&c, 0, sizeof(c));
	c.memory = vm->cfg.memory;
	c.cpus = vm->nr_vcpus;
	c.flags = (vm->cfg.testdev ? SNAP_CFG_TESTDEV : 0) |
		  (vm->cfg.debug_exit ? SNAP_CFG_DEBUG_EXIT : 0) |
		  (vm->cfg.hugepages ? SNAP_CFG_HUGEPAGES : 0) |
		  (vm->cfg.strict_mmio ? SNAP_CFG_STRICT_MMIO : 0);
	c.debug_exit_port = vm->cfg.debug_exit_port;
	c.debug_exit_size = vm->cfg.debug_exit_size;
	c.nr_devices = vm->nr_devices;
	snprintf(c.engine, sizeof(c.engine), "%s", vm->engine->name);
	if (copy_str(c.kernel, sizeof(c.kernel), vm->cfg.kernel, "kernel path", err, n) < 0 ||
	    copy_str(c.initrd, sizeof(c.initrd), vm->cfg.initrd, "initrd path", err, n) < 0 ||
	    copy_str(c.cmdline, sizeof(c.cmdline), vm->cfg.cmdline, "kernel command line", err, n) < 0)
		return -1;
	snap_writer_add(w, SNAP_SEC_CONFIG, 0, &c, sizeof(c));

	/* Devices other than these and the stream devices below are refused
	 * by their quiesce op. */
	if (vm->cfg.nr_drives || vm->cfg.rng || vm->cfg.nr_nets) {
		_Static_assert(VM_MAX_DRIVES == 8 && VM_MAX_NETS == 4 && VM_MAX_HOSTFWD == 8,
			       "snap_board's arrays");
		struct snap_board *b = calloc(1, sizeof(*b));
		if (!b) {
			snprintf(err, n, "out of memory");
			return -1;
		}
		b->flags = vm->cfg.rng ? SNAP_BOARD_RNG : 0;
		b->nr_drives = vm->cfg.nr_drives;
		for (unsigned i = 0; i < vm->cfg.nr_drives; i++) {
			const struct vm_drive *d = &vm->cfg.drives[i];
			struct snap_drive *s = &b->drives[i];
			if (copy_str(s->path, sizeof(s->path), d->path, "drive path", err, n) < 0 ||
			    copy_str(s->id, sizeof(s->id), d->id, "drive id", err, n) < 0 ||
			    copy_str(s->serial, sizeof(s->serial), d->serial, "drive serial", err,
				     n) < 0) {
				free(b);
				return -1;
			}
			s->read_only = d->read_only;
			s->is_root_device = d->is_root_device;
		}
		b->nr_nets = vm->cfg.nr_nets;
		for (unsigned i = 0; i < vm->cfg.nr_nets; i++) {
			const struct vm_net *d = &vm->cfg.nets[i];
			struct snap_net *s = &b->nets[i];
			s->kind = d->kind;
			s->has_mac = d->has_mac;
			memcpy(s->mac, d->mac, 6);
			s->nr_hostfwd = d->nr_hostfwd;
			int e = copy_str(s->id, sizeof(s->id), d->id, "interface id", err, n);
			if (!e)
				e = copy_str(s->ifname, sizeof(s->ifname), d->ifname, "TAP name", err, n);
			for (unsigned k = 0; !e && k < d->nr_hostfwd && k < VM_MAX_HOSTFWD; k++)
				e = copy_str(s->hostfwd[k], sizeof(s->hostfwd[k]), d->hostfwd[k],
					     "hostfwd rule", err, n);
			if (e) {
				free(b);
				return -1;
			}
		}
		snap_writer_add(w, SNAP_SEC_BOARD, 0, b, sizeof(*b));
		free(b);
	}

	if (vm->cfg.vsock.enabled || vm->cfg.console == VM_CONSOLE_VIRTIO) {
		struct snap_streams st;
		memset(&st, 0, sizeof(st));
		st.flags = (vm->cfg.vsock.enabled ? SNAP_STREAMS_VSOCK : 0) |
			   (vm->cfg.console == VM_CONSOLE_VIRTIO ? SNAP_STREAMS_CONSOLE_VIRTIO : 0);
		if (vm->cfg.vsock.enabled) {
			st.guest_cid = vm->cfg.vsock.guest_cid;
			if (copy_str(st.uds_path, sizeof(st.uds_path), vm->cfg.vsock.uds_path,
				     "vsock socket path", err, n) < 0)
				return -1;
		}
		snap_writer_add(w, SNAP_SEC_STREAMS, 0, &st, sizeof(st));
	}

	struct timespec wall;
	clock_gettime(CLOCK_REALTIME, &wall);
	struct snap_clock ck = { vm_clock_ns(vm),
				 (uint64_t)wall.tv_sec * 1000000000ULL + (uint64_t)wall.tv_nsec };
	snap_writer_add(w, SNAP_SEC_CLOCK, 0, &ck, sizeof(ck));

	struct snap_memory mem = { vm->mem.ram_size, pages };
	snap_writer_add(w, SNAP_SEC_MEMORY, 0, &mem, sizeof(mem));
	snap_writer_add(w, SNAP_SEC_LINEAGE, 0, lin, sizeof(*lin));

	struct irqchip_state chip;
	memset(&chip, 0, sizeof(chip));
	int r = vm_irqchip_get(vm, &chip);
	if (r < 0) {
		snprintf(err, n, "cannot read the interrupt controllers: %s", strerror(-r));
		return -1;
	}
	snap_writer_add(w, SNAP_SEC_IRQCHIP, 0, &chip, sizeof(chip));

	struct snap_vcpu *sv = malloc(sizeof(*sv));
	if (!sv) {
		snprintf(err, n, "out of memory");
		return -1;
	}
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		if (save_vcpu(vm, &vm->vcpus[i], sv, err, n) < 0) {
			free(sv);
			return -1;
		}
		snap_writer_add(w, SNAP_SEC_VCPU, i, sv, sizeof(*sv));
	}
	free(sv);

	enum { DEV_MAX = 64 * 1024 };
	uint8_t *buf = malloc(sizeof(struct snap_device_hdr) + DEV_MAX);
	if (!buf) {
		snprintf(err, n, "out of memory");
		return -1;
	}
	for (unsigned i = 0; i < vm->nr_devices; i++) {
		const struct vm_device *d = &vm->devices[i];
		struct snap_device_hdr h;
		memset(&h, 0, sizeof(h));
		snprintf(h.name, sizeof(h.name), "%s", d->name);
		long len = d->ops->save(d->opaque, buf + sizeof(h), DEV_MAX);
		if (len < 0) {
			snprintf(err, n, "device %s: cannot save its state: %s", d->name,
				 strerror((int)-len));
			free(buf);
			return -1;
		}
		h.length = (uint32_t)len;
		memcpy(buf, &h, sizeof(h));
		snap_writer_add(w, SNAP_SEC_DEVICE, i, buf, sizeof(h) + (size_t)len);
	}
	free(buf);
	return 0;
}

/* A fresh snapshot id: random, never all zero (zero is "no parent"). */
static void new_id(uint8_t id[16])
{
	if (getrandom(id, 16, 0) != 16) {
		/* no entropy call: time and address, unique enough per host */
		uint64_t t = clock_monotonic_ns(), a = (uint64_t)(uintptr_t)id ^ (uint64_t)time(NULL);
		memcpy(id, &t, 8);
		memcpy(id + 8, &a, 8);
	}
	id[0] |= 1;
}

int snapshot_create(struct vm *vm, const char *snap_path, const char *mem_path, bool diff,
		    char *err, size_t n)
{
	if (atomic_load(&vm->state) != VM_PAUSED) {
		snprintf(err, n, "the microVM must be paused to take a snapshot (PATCH /vm "
			 "{\"state\": \"Paused\"})");
		return -1;
	}
	/* Firecracker's wording (CreateSnapshotError) */
	if (diff && !vm->mem.dirty_bits) {
		snprintf(err, n, "Diff snapshots are not allowed on uVMs with dirty page tracking "
			 "disabled (machine-config track_dirty_pages, or track_dirty_pages when "
			 "loading the snapshot)");
		return -1;
	}
	if (check_supported(vm, err, n) < 0 || wait_parked(vm, err, n) < 0)
		return -1;
	/* Back ends finish what is in flight before RAM and state are read. */
	for (unsigned i = 0; i < vm->nr_devices; i++)
		if (vm->devices[i].ops->quiesce &&
		    vm->devices[i].ops->quiesce(vm->devices[i].opaque, err, n) < 0)
			return -1;
	uint64_t t0 = clock_monotonic_ns(), pages = 0;
	/* The pages written since the last snapshot; taken (and cleared) by a
	 * full snapshot too, so the next diff starts from this one.  Given
	 * back if the snapshot fails. */
	uint64_t *bits = NULL;
	if (vm->mem.dirty_bits) {
		bits = calloc(gmem_dirty_words(&vm->mem), sizeof(uint64_t));
		int e = bits ? vm_dirty_fetch(vm, bits) : -ENOMEM;
		if (e < 0) {
			snprintf(err, n, "cannot read the dirty-page log: %s", strerror(-e));
			free(bits);
			return -1;
		}
	}
	struct snap_lineage *lin = calloc(1, sizeof(*lin));
	int r = lin ? 0 : -1;
	if (!lin)
		snprintf(err, n, "out of memory");
	if (r == 0) {
		new_id(lin->id);
		lin->kind = diff ? SNAP_KIND_DIFF : SNAP_KIND_FULL;
		if (diff)
			memcpy(lin->parent, vm->snap_last_id, 16);
		int pm = vm->pagemap_fd;
		if (diff) {
			/* half from the base, half from the diff */
			unsigned half = SNAP_LINEAGE_CHECKS / 2;
			lin->nr_checks = snapshot_mem_checks(&vm->mem, pm, bits, false, lin->checks, half);
			lin->nr_checks += snapshot_mem_checks(&vm->mem, pm, bits, true,
							      lin->checks + lin->nr_checks, half);
		} else {
			lin->nr_checks = snapshot_mem_checks(&vm->mem, pm, NULL, false, lin->checks,
							     SNAP_LINEAGE_CHECKS);
		}
		/* Memory first: the state file appears only once both are complete. */
		r = snapshot_mem_write(&vm->mem, pm, mem_path, diff ? bits : NULL, &pages, err, n);
	}
	struct snap_writer w;
	snap_writer_init(&w);
	if (r == 0)
		r = build(vm, &w, pages, lin, err, n);
	if (r == 0)
		r = snap_writer_finish(&w, snap_path, err, n);
	snap_writer_free(&w);
	if (r == 0) {
		memcpy(vm->snap_last_id, lin->id, 16);
		pr_info("snapshot: %s (state) and %s (%llu MiB RAM, %llu %s pages) written in "
			"%.1f ms", snap_path, mem_path,
			(unsigned long long)(vm->mem.ram_size >> 20), (unsigned long long)pages,
			diff ? "dirty" : "non-zero", (double)(clock_monotonic_ns() - t0) / 1e6);
	} else if (bits) {
		gmem_dirty_merge(&vm->mem, bits); /* the next snapshot takes them */
	}
	free(lin);
	free(bits);
	return r;
}
