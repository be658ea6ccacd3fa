/* PUT /snapshot/load: rebuild a VM from a snapshot (docs/snapshot.md), on
 * whichever engine was asked for.  The state file is checked whole
 * (snapshot_format.c) and every section's size and contents before the
 * board is built; RAM is the memory file mapped MAP_PRIVATE (gmem), so the
 * restore reads nothing of it: pages come from the file when first touched.
 * The machine clock continues from the snapshot's value, so every time in
 * the neutral irqchip state means what it meant. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ringvm/clock.h"
#include "ringvm/log.h"
#include "ringvm/vm.h"
#include "snapshot_sections.h"

struct snapshot_restore {
	struct snap_image img;
	bool active;               /* vCPU threads load their state from img */
	char *kernel, *initrd, *cmdline;   /* cfg's strings point here */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned loaded;           /* vCPUs that loaded their state */
	struct snap_config config; /* the config section, copied out aligned */
	struct snap_board board;   /* the board section (zero if absent); cfg.drives point here */
	struct snap_streams streams; /* the streams section (zero if absent); cfg.vsock points here */
};

bool snapshot_restoring(const struct vm *vm)
{
	return vm->restore && vm->restore->active;
}

static const void *section(const struct snap_image *img, uint32_t type, uint32_t inst,
			   size_t size, const char *path, char *err, size_t n)
{
	const struct snap_section *s = snap_find(img, type, inst);
	if (!s) {
		snprintf(err, n, "%s: the %s section %u is missing", path, snap_section_name(type),
			 inst);
		return NULL;
	}
	if (size != SIZE_MAX && s->length != size) {
		snprintf(err, n, "%s: section %s %u: %u bytes, expected %zu", path,
			 snap_section_name(type), inst, s->length, size);
		return NULL;
	}
	return s->data;
}

static bool terminated(const char *s, size_t cap)
{
	return memchr(s, 0, cap) != NULL;
}

static int check_config(const struct snap_config *c, const char *path, char *err, size_t n)
{
	const char *why = NULL;
	if (c->cpus < 1 || c->cpus > MAX_VCPUS)
		why = "vCPU count out of range";
	else if (!c->memory || c->memory % 4096)
		why = "memory size is not a non-zero multiple of 4 KiB";
	else if (c->nr_devices > 256)
		why = "too many devices";
	else if (!terminated(c->engine, sizeof(c->engine)) ||
		 !terminated(c->kernel, sizeof(c->kernel)) ||
		 !terminated(c->initrd, sizeof(c->initrd)) ||
		 !terminated(c->cmdline, sizeof(c->cmdline)))
		why = "a string is not terminated";
	else if ((c->flags & SNAP_CFG_DEBUG_EXIT) &&
		 c->debug_exit_size != 1 && c->debug_exit_size != 2 && c->debug_exit_size != 4)
		why = "bad debug-exit port size";
	if (why)
		snprintf(err, n, "%s: section config: %s", path, why);
	return why ? -1 : 0;
}

/* The architectural consistency a vCPU state must have before any engine
 * sees it (SDM Vol. 3A 2.5, 9.8.5: paging needs protection, IA-32e mode is
 * LME with paging and PAE); the engines check the rest as they load it. */
static const char *check_vcpu(const struct snap_vcpu *v)
{
	const struct x86_sregs *s = &v->sregs;
	bool lma = s->efer & X86_EFER_LMA;
	if ((s->cr0 & X86_CR0_PG) && !(s->cr0 & X86_CR0_PE))
		return "CR0.PG without CR0.PE";
	if (lma != ((s->efer & X86_EFER_LME) && (s->cr0 & X86_CR0_PG)))
		return "EFER.LMA does not match EFER.LME and CR0.PG";
	if (lma && !(s->cr4 & X86_CR4_PAE))
		return "IA-32e mode without CR4.PAE";
	if (s->seg[SEG_CS].l && s->seg[SEG_CS].db)
		return "a code segment with both L and D set";
	if (v->nr_msrs > SNAP_MAX_MSRS)
		return "too many MSRs";
	return NULL;
}

/* The board section: terminated strings, counts in range, and each image
 * still there (the drive is reopened at its path). */
static int check_board(const struct snap_board *b, const char *path, char *err, size_t n)
{
	if (b->flags & ~SNAP_BOARD_RNG || b->nr_drives > VM_MAX_DRIVES) {
		snprintf(err, n, "%s: section board: flags or drive count out of range", path);
		return -1;
	}
	if (b->nr_nets > VM_MAX_NETS) {
		snprintf(err, n, "%s: section board: interface count out of range", path);
		return -1;
	}
	for (unsigned i = 0; i < b->nr_nets; i++) {
		const struct snap_net *d = &b->nets[i];
		bool ok = (d->kind == VM_NET_USER || d->kind == VM_NET_TAP) && d->has_mac <= 1 &&
			  d->nr_hostfwd <= VM_MAX_HOSTFWD && terminated(d->id, sizeof(d->id)) &&
			  terminated(d->ifname, sizeof(d->ifname)) &&
			  (d->kind != VM_NET_TAP || d->ifname[0]);
		for (unsigned k = 0; ok && k < d->nr_hostfwd; k++)
			ok = terminated(d->hostfwd[k], sizeof(d->hostfwd[k]));
		if (!ok) {
			snprintf(err, n, "%s: section board: interface %u is malformed", path, i);
			return -1;
		}
	}
	for (unsigned i = 0; i < b->nr_drives; i++) {
		const struct snap_drive *d = &b->drives[i];
		if (!terminated(d->path, sizeof(d->path)) || !terminated(d->id, sizeof(d->id)) ||
		    !terminated(d->serial, sizeof(d->serial)) || !d->path[0] ||
		    d->read_only > 1 || d->is_root_device > 1) {
			snprintf(err, n, "%s: section board: drive %u is malformed", path, i);
			return -1;
		}
		if (access(d->path, d->read_only ? R_OK : R_OK | W_OK) < 0) {
			snprintf(err, n, "%s: drive %u's image %s: %s", path, i, d->path,
				 strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* The streams section: known flags, a guest CID a driver may have
 * (5.10.4: 0-2 are reserved, as is the all-ones CID), a socket path. */
static int check_streams(const struct snap_streams *st, const char *path, char *err, size_t n)
{
	const char *why = NULL;
	if (st->flags & ~(SNAP_STREAMS_VSOCK | SNAP_STREAMS_CONSOLE_VIRTIO))
		why = "flags out of range";
	else if ((st->flags & SNAP_STREAMS_VSOCK) &&
		 (st->guest_cid < 3 || st->guest_cid == UINT32_MAX ||
		  !terminated(st->uds_path, sizeof(st->uds_path)) || !st->uds_path[0]))
		why = "the vsock device is malformed";
	if (why)
		snprintf(err, n, "%s: section streams: %s", path, why);
	return why ? -1 : 0;
}

static void free_restore(struct snapshot_restore *r)
{
	if (!r)
		return;
	snap_image_free(&r->img);
	free(r->kernel);
	free(r->initrd);
	free(r->cmdline);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->cond);
	free(r);
}

static int load_devices(struct vm *vm, const struct snap_image *img, const char *path, char *err,
			size_t n)
{
	for (unsigned i = 0; i < vm->nr_devices; i++) {
		const struct vm_device *d = &vm->devices[i];
		const struct snap_section *s = snap_find(img, SNAP_SEC_DEVICE, i);
		struct snap_device_hdr h;
		if (!s || s->length < sizeof(h)) {
			snprintf(err, n, "%s: section device %u (%s) is missing or short", path, i,
				 d->name);
			return -1;
		}
		memcpy(&h, s->data, sizeof(h));
		if (!terminated(h.name, sizeof(h.name)) || strcmp(h.name, d->name) ||
		    h.length != s->length - sizeof(h)) {
			snprintf(err, n, "%s: section device %u: holds \"%.31s\" (%u bytes), the board "
				 "has %s here", path, i, terminated(h.name, sizeof(h.name)) ? h.name : "?",
				 h.length, d->name);
			return -1;
		}
		if (d->ops && d->ops->load_checked) {
			char why[256] = "";
			if (d->ops->load_checked(d->opaque, s->data + sizeof(h), h.length, why,
						 sizeof(why)) < 0) {
				snprintf(err, n, "%s: section device %u: %s", path, i, why);
				return -1;
			}
			continue;
		}
		if (!d->ops || !d->ops->load ||
		    d->ops->load(d->opaque, s->data + sizeof(h), h.length) < 0) {
			snprintf(err, n, "%s: section device %u: not a valid state of device %s", path,
				 i, d->name);
			return -1;
		}
	}
	return 0;
}

/* The lineage section (format version 2; absent: a full snapshot of
 * version 1, no id and nothing to check). */
static int read_lineage(const struct snap_image *img, struct snap_lineage *lin,
			const char *path, char *err, size_t n)
{
	memset(lin, 0, sizeof(*lin));
	const struct snap_section *s = snap_find(img, SNAP_SEC_LINEAGE, 0);
	if (!s)
		return 0;
	if (s->length != sizeof(*lin)) {
		snprintf(err, n, "%s: section lineage 0: %u bytes, expected %zu", path, s->length,
			 sizeof(*lin));
		return -1;
	}
	memcpy(lin, s->data, sizeof(*lin));
	const char *why = NULL;
	if (lin->kind != SNAP_KIND_FULL && lin->kind != SNAP_KIND_DIFF)
		why = "unknown snapshot kind";
	else if (lin->nr_checks > SNAP_LINEAGE_CHECKS)
		why = "too many page checks";
	for (unsigned i = 0; !why && i < lin->nr_checks; i++)
		if (lin->checks[i].offset % 4096 || lin->checks[i].flags & ~SNAP_CHECK_IN_DIFF)
			why = "a bad page check";
	if (why)
		snprintf(err, n, "%s: section lineage: %s", path, why);
	return why ? -1 : 0;
}

static void hex_id(char out[33], const uint8_t id[16])
{
	for (unsigned i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", id[i]);
}

/* The memory file must hold the pages the snapshot recorded: a diff's
 * file alone lacks its base's pages (holes, read as zero), a file merged
 * onto another base holds other bytes.  RAM is the file mapped privately:
 * these reads bring in only the pages checked. */
static int check_memory_file(struct vm *vm, const struct snap_lineage *lin, const char *path,
			     const char *mem_path, char *err, size_t n)
{
	static const uint8_t zero[4096];
	for (unsigned i = 0; i < lin->nr_checks; i++) {
		const struct snap_page_check *c = &lin->checks[i];
		if (c->offset >= vm->mem.ram_size || vm->mem.ram_size - c->offset < 4096) {
			snprintf(err, n, "%s: section lineage: page check %u outside RAM", path, i);
			return -1;
		}
		const uint8_t *p = vm->mem.base + c->offset;
		if (snap_crc32(0, p, 4096) == c->crc32)
			continue;
		char parent[33];
		hex_id(parent, lin->parent);
		bool in_diff = c->flags & SNAP_CHECK_IN_DIFF;
		if (lin->kind == SNAP_KIND_DIFF && !in_diff && !memcmp(p, zero, sizeof(zero)))
			snprintf(err, n, "%s is a diff snapshot (of snapshot %s) and %s lacks its base's "
				 "pages (none at offset 0x%llx): merge the diff onto its base's memory "
				 "file first (ringvm snapshot-rebase --base-file BASE --diff-file %s, or "
				 "Firecracker's rebase-snap) and load the merged file", path, parent,
				 mem_path, (unsigned long long)c->offset, mem_path);
		else if (lin->kind == SNAP_KIND_DIFF && in_diff)
			snprintf(err, n, "%s is a diff snapshot (of snapshot %s) and %s does not hold the "
				 "diff's pages (the page at offset 0x%llx differs): load the base's memory "
				 "file merged with the diff's (ringvm snapshot-rebase)", path, parent,
				 mem_path, (unsigned long long)c->offset);
		else
			snprintf(err, n, "%s: %s is not this snapshot's memory%s (the page at offset "
				 "0x%llx differs)", path, mem_path,
				 lin->kind == SNAP_KIND_DIFF ? " (a diff merged onto another base?)" : "",
				 (unsigned long long)c->offset);
		return -1;
	}
	return 0;
}

int snapshot_restore(struct vm *vm, const struct vm_config *base, const char *snap_path,
		     const char *mem_path, bool resume, char *err, size_t n)
{
	uint64_t t0 = clock_monotonic_ns();
	struct snapshot_restore *r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, n, "out of memory");
		return RINGVM_EXIT_HOST_ERROR;
	}
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	memset(vm, 0, sizeof(*vm));
	vm->mem.fd = -1;
	if (snap_read_file(snap_path, &r->img, err, n) < 0) {
		free_restore(r);
		return RINGVM_EXIT_USAGE;
	}
	/* Payloads are copied out: a file can put them at any alignment. */
	const struct snap_image *img = &r->img;
	struct snap_config *c = &r->config;
	struct snap_clock ck0, *ck = &ck0;
	struct snap_memory mem0, *mem = &mem0;
	struct irqchip_state chip0, *chip = &chip0;
	const void *pc = section(img, SNAP_SEC_CONFIG, 0, sizeof(*c), snap_path, err, n);
	const void *pk = pc ? section(img, SNAP_SEC_CLOCK, 0, sizeof(*ck), snap_path, err, n) : NULL;
	const void *pm = pk ? section(img, SNAP_SEC_MEMORY, 0, sizeof(*mem), snap_path, err, n) : NULL;
	const void *pi = pm ? section(img, SNAP_SEC_IRQCHIP, 0, sizeof(*chip), snap_path, err, n) : NULL;
	if (pi) {
		memcpy(c, pc, sizeof(*c));
		memcpy(ck, pk, sizeof(*ck));
		memcpy(mem, pm, sizeof(*mem));
		memcpy(chip, pi, sizeof(*chip));
	}
	if (!pi || check_config(c, snap_path, err, n) < 0) {
		free_restore(r);
		return RINGVM_EXIT_USAGE;
	}
	if (mem->ram_size != c->memory) {
		snprintf(err, n, "%s: section memory: %llu bytes of RAM, the config says %llu",
			 snap_path, (unsigned long long)mem->ram_size, (unsigned long long)c->memory);
		free_restore(r);
		return RINGVM_EXIT_USAGE;
	}
	for (unsigned i = 0; i < c->cpus; i++) {
		struct snap_vcpu sv;
		const void *v = section(img, SNAP_SEC_VCPU, i, sizeof(sv), snap_path, err, n);
		const char *why = NULL;
		if (v) {
			memcpy(&sv, v, sizeof(sv));
			why = check_vcpu(&sv);
		}
		if (why)
			snprintf(err, n, "%s: section vcpu %u: %s", snap_path, i, why);
		if (!v || why) {
				free_restore(r);
			return RINGVM_EXIT_USAGE;
		}
	}

	const struct snap_section *sb = snap_find(img, SNAP_SEC_BOARD, 0);
	if (sb && sb->length != sizeof(r->board)) {
		snprintf(err, n, "%s: section board 0: %u bytes, expected %zu", snap_path, sb->length,
			 sizeof(r->board));
		free_restore(r);
		return RINGVM_EXIT_USAGE;
	}
	if (sb)
		memcpy(&r->board, sb->data, sizeof(r->board));
	if (check_board(&r->board, snap_path, err, n) < 0) {
		free_restore(r);
		return RINGVM_EXIT_USAGE;
	}
	struct snap_lineage lin;
	if (read_lineage(img, &lin, snap_path, err, n) < 0) {
		free_restore(r);
		return RINGVM_EXIT_USAGE;
	}

	const struct snap_section *ss = snap_find(img, SNAP_SEC_STREAMS, 0);
	if (ss && ss->length != sizeof(r->streams)) {
		snprintf(err, n, "%s: section streams 0: %u bytes, expected %zu", snap_path,
			 ss->length, sizeof(r->streams));
		free_restore(r);
		return RINGVM_EXIT_USAGE;
	}
	if (ss)
		memcpy(&r->streams, ss->data, sizeof(r->streams));
	if (check_streams(&r->streams, snap_path, err, n) < 0) {
		free_restore(r);
		return RINGVM_EXIT_USAGE;
	}

	struct vm_config cfg = *base;
	r->kernel = strdup(c->kernel);
	r->initrd = c->initrd[0] ? strdup(c->initrd) : NULL;
	r->cmdline = strdup(c->cmdline);
	if (!r->kernel || !r->cmdline || (c->initrd[0] && !r->initrd)) {
		snprintf(err, n, "out of memory");
		free_restore(r);
		return RINGVM_EXIT_HOST_ERROR;
	}
	cfg.kernel = r->kernel;
	cfg.initrd = r->initrd;
	cfg.cmdline = r->cmdline;
	cfg.memory = c->memory;
	cfg.cpus = c->cpus;
	cfg.testdev = c->flags & SNAP_CFG_TESTDEV;
	cfg.debug_exit = c->flags & SNAP_CFG_DEBUG_EXIT;
	cfg.debug_exit_port = c->debug_exit_port;
	cfg.debug_exit_size = c->debug_exit_size;
	cfg.strict_mmio = cfg.strict_mmio || (c->flags & SNAP_CFG_STRICT_MMIO);
	cfg.hugepages = false;  /* RAM is the memory file */
	/* The virtio devices from the board section (snapshot_create refuses
	 * the others): each drive reopened at its path. */
	cfg.nr_drives = r->board.nr_drives;
	for (unsigned i = 0; i < cfg.nr_drives; i++) {
		const struct snap_drive *d = &r->board.drives[i];
		cfg.drives[i] = (struct vm_drive){ .path = d->path,
			.id = d->id[0] ? d->id : NULL, .serial = d->serial[0] ? d->serial : NULL,
			.read_only = d->read_only, .is_root_device = d->is_root_device };
	}
	cfg.rng = r->board.flags & SNAP_BOARD_RNG;
	/* Each interface gets a fresh back end (a new slirp, or its TAP
	 * reopened): the guest keeps its address, connections are lost. */
	cfg.nr_nets = r->board.nr_nets;
	for (unsigned i = 0; i < cfg.nr_nets; i++) {
		const struct snap_net *d = &r->board.nets[i];
		struct vm_net *v = &cfg.nets[i];
		memset(v, 0, sizeof(*v));
		v->kind = (enum vm_net_kind)d->kind;
		v->id = d->id[0] ? d->id : NULL;
		v->ifname = d->ifname[0] ? d->ifname : NULL;
		v->has_mac = d->has_mac;
		memcpy(v->mac, d->mac, 6);
		v->nr_hostfwd = d->nr_hostfwd;
		for (unsigned k = 0; k < d->nr_hostfwd; k++)
			v->hostfwd[k] = d->hostfwd[k];
	}
	/* virtio-vsock listens at its socket path again (its connections are
	 * reset: virtio_vsock.c); the console gets this process's back end. */
	cfg.vsock.enabled = r->streams.flags & SNAP_STREAMS_VSOCK;
	cfg.vsock.guest_cid = r->streams.guest_cid;
	cfg.vsock.uds_path = cfg.vsock.enabled ? r->streams.uds_path : NULL;
	cfg.console = r->streams.flags & SNAP_STREAMS_CONSOLE_VIRTIO ? VM_CONSOLE_VIRTIO :
								       VM_CONSOLE_SERIAL;
	cfg.restore_mem_file = mem_path;

	int st = vm_create(vm, &cfg);
	if (st) {
		snprintf(err, n, "cannot rebuild the VM from %s (status %d): the reason is in "
			 "ringvm's log", snap_path, st);
		vm_destroy(vm);
		free_restore(r);
		return st;
	}
	vm->restore = r;
	if (check_memory_file(vm, &lin, snap_path, mem_path, err, n) < 0) {
		vm_destroy(vm);
		return RINGVM_EXIT_USAGE;
	}
	memcpy(vm->snap_last_id, lin.id, 16);  /* a diff taken now applies onto it */
	if (vm->nr_devices != c->nr_devices) {
		snprintf(err, n, "%s: the snapshot has %u devices, the rebuilt board %u", snap_path,
			 c->nr_devices, vm->nr_devices);
		vm_destroy(vm);
		return RINGVM_EXIT_USAGE;
	}
	if (!vm->engine->set_irqchip || !vm->engine->set_vcpu_extra) {
		snprintf(err, n, "the %s engine cannot restore snapshots yet", vm->engine->name);
		vm_destroy(vm);
		return RINGVM_EXIT_USAGE;
	}
	/* The machine clock continues from the snapshot (unsigned arithmetic:
	 * the offset may wrap, vm_clock_ns's subtraction wraps it back).  It
	 * stays stopped at the snapshot's instant until every vCPU has loaded
	 * its state (snapshot_restore_vcpu) or, restored paused, until
	 * vm_resume: a vCPU's IA32_TSC from the snapshot is then loaded
	 * against the guest TSC of that same instant.  With the clock running,
	 * each vCPU's TSC came back behind the clock by the time its thread
	 * took to load (milliseconds, more under load, different per vCPU),
	 * while the LAPIC's TSC deadline and kvmclock kept the clock's TSC:
	 * every timer Linux armed fired that much early and was re-armed at
	 * once, an interrupt storm on the later vCPUs (soft lockups in
	 * linux-snapshot-soft once interrupts were taken promptly after
	 * IRET / STI). */
	uint64_t now = clock_monotonic_ns();
	atomic_store(&vm->clock_offset_ns, now - ck->vm_clock_ns);
	atomic_store(&vm->clock_frozen_at, now);
	if (!resume)
		atomic_store(&vm->pause_req, true);
	int e = vm_irqchip_set(vm, chip);
	if (e < 0) {
		snprintf(err, n, "%s: section irqchip: the %s engine refuses it: %s", snap_path,
			 vm->engine->name, strerror(-e));
		vm_destroy(vm);
		return RINGVM_EXIT_USAGE;
	}
	if (load_devices(vm, img, snap_path, err, n) < 0) {
		vm_destroy(vm);
		return RINGVM_EXIT_USAGE;
	}
	r->active = true;
	pr_info("restored %s (taken on the %s engine; %llu MiB RAM mapped from %s, %u vCPU%s) on "
		"the %s engine in %.2f ms%s", snap_path, c->engine,
		(unsigned long long)(c->memory >> 20), mem_path, c->cpus, c->cpus > 1 ? "s" : "",
		vm->engine->name, (double)(clock_monotonic_ns() - t0) / 1e6,
		resume ? "" : "; paused");
	return 0;
}

int snapshot_restore_vcpu(struct vm *vm, struct vcpu *v)
{
	struct snapshot_restore *r = vm->restore;
	const struct engine_ops *e = vm->engine;
	const struct snap_section *s = snap_find(&r->img, SNAP_SEC_VCPU, v->id);
	struct snap_vcpu sv;
	if (!s || s->length != sizeof(sv))
		return -EINVAL;  /* checked by snapshot_restore */
	memcpy(&sv, s->data, sizeof(sv));
	int err = e->set_sregs(v, &sv.sregs);
	if (!err)
		err = e->set_regs(v, &sv.regs);
	if (!err)
		err = e->set_fpu(v, &sv.fpu);
	unsigned nm = sv.nr_msrs < SNAP_MAX_MSRS ? sv.nr_msrs : SNAP_MAX_MSRS;
	for (unsigned i = 0; !err && i < nm; i++)
		if (e->set_msrs(v, &sv.msrs[i], 1) != 1)
			pr_debug("vCPU %u: the %s engine refused MSR 0x%x from the snapshot", v->id,
				 e->name, sv.msrs[i].index);
	if (!err)
		err = e->set_vcpu_extra(v, &sv.extra);
	/* Nobody runs until everyone is loaded: an IPI from a vCPU that runs
	 * must not be overwritten by a LAPIC state loaded after it. */
	pthread_mutex_lock(&r->lock);
	bool last = ++r->loaded == vm->nr_vcpus;
	/* The last vCPU to load tells the devices the VM runs (every LAPIC is
	 * loaded, so an interrupt now is not lost): what waited for the guest
	 * (host input, virtio-vsock's transport reset) is delivered.  A VM
	 * restored paused is told by vm_resume instead. */
	if (!err && last && !atomic_load(&vm->pause_req)) {
		/* every vCPU is loaded and none runs yet: the clock starts
		 * (snapshot_restore), as at vm_resume */
		vm_clock_thaw(vm);
		vm_devices_resumed(vm);
	}
	pthread_cond_broadcast(&r->cond);
	while (!err && r->loaded < vm->nr_vcpus && !vm_should_stop(vm)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 10000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&r->cond, &r->lock, &ts);
	}
	pthread_mutex_unlock(&r->lock);
	return err;
}

void snapshot_restore_done(struct vm *vm)
{
	if (vm->restore)
		vm->restore->active = false;
}

void snapshot_restore_free(struct vm *vm)
{
	free_restore(vm->restore);
	vm->restore = NULL;
}
