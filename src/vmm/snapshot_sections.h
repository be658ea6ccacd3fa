/* Payloads of the snapshot sections (docs/snapshot.md).  Fixed-width
 * fields, written as is (x86-64, little endian); any change of layout bumps
 * SNAP_VERSION.  Private to src/vmm/snapshot_*.c (and the unit tests). */
#ifndef RINGVM_SNAPSHOT_SECTIONS_H
#define RINGVM_SNAPSHOT_SECTIONS_H

#include <stdint.h>

#include "ringvm/irqchip_state.h"
#include "ringvm/snapshot.h"
#include "ringvm/x86_state.h"

/* SNAP_SEC_CONFIG: what a restore needs to rebuild the same board. */
#define SNAP_CFG_TESTDEV     (1u << 0)
#define SNAP_CFG_DEBUG_EXIT  (1u << 1)
#define SNAP_CFG_HUGEPAGES   (1u << 2)
#define SNAP_CFG_STRICT_MMIO (1u << 3)
struct snap_config {
	uint64_t memory;             /* guest RAM bytes */
	uint32_t cpus;
	uint32_t flags;              /* SNAP_CFG_* */
	uint16_t debug_exit_port;
	uint8_t debug_exit_size;
	uint8_t pad0[1];
	uint32_t nr_devices;         /* device sections that follow */
	char engine[16];             /* the engine the snapshot was taken on */
	/* kept so that a machine reset after the restore boots the kernel again */
	char kernel[1024];
	char initrd[1024];
	char cmdline[4096];
};

/* SNAP_SEC_CLOCK */
struct snap_clock {
	uint64_t vm_clock_ns;        /* the machine's clock at the snapshot */
	uint64_t host_realtime_ns;   /* the host's wall clock then (information) */
};

/* SNAP_SEC_MEMORY: the memory file holds RAM as one image, regions at
 * their offsets (layout.h's map). */
struct snap_memory {
	uint64_t ram_size;
	uint64_t pages_written;      /* non-zero 4 KiB pages in the file */
};

/* SNAP_SEC_LINEAGE (format version 2; absent in version 1: a full
 * snapshot without an id).  Each snapshot has a random id; a diff names
 * the snapshot its memory file applies onto (parent all zero: RAM as it
 * was before the VM booted, all zero).  checks: pages the memory file to
 * load must hold, with their CRC-32: for a diff, non-zero pages that it
 * does not carry (they come from the base) and non-zero pages it carries
 * (SNAP_CHECK_IN_DIFF), so that a diff's memory file loaded without being
 * merged onto its base, its base's without the diff, or a merge onto the
 * wrong base, are refused; for a full snapshot, pages it carries. */
#define SNAP_KIND_FULL 0u
#define SNAP_KIND_DIFF 1u
#define SNAP_LINEAGE_CHECKS 16
#define SNAP_CHECK_IN_DIFF 1u        /* a page the diff's memory file carries */
struct snap_page_check {
	uint64_t offset;             /* in RAM (and the memory file), 4 KiB aligned */
	uint32_t crc32;              /* of the page's 4096 bytes */
	uint32_t flags;              /* SNAP_CHECK_* */
};
struct snap_lineage {
	uint8_t id[16];
	uint8_t parent[16];          /* SNAP_KIND_DIFF */
	uint32_t kind;               /* SNAP_KIND_* */
	uint32_t nr_checks;          /* <= SNAP_LINEAGE_CHECKS */
	struct snap_page_check checks[SNAP_LINEAGE_CHECKS];
};

/* SNAP_SEC_VCPU */
#define SNAP_MAX_MSRS 64
struct snap_vcpu {
	struct x86_regs regs;
	struct x86_sregs sregs;
	struct x86_fpu fpu;
	struct vcpu_extra_state extra;
	uint32_t nr_msrs;
	uint32_t pad;
	struct x86_msr msrs[SNAP_MAX_MSRS];
};

/* SNAP_SEC_DEVICE: this header, then the device's own bytes. */
struct snap_device_hdr {
	char name[32];               /* vm_device.name, NUL-terminated */
	uint32_t length;             /* bytes that follow */
	uint32_t pad;
};

/* SNAP_SEC_BOARD: the virtio devices the board is rebuilt with (absent in
 * a snapshot of a VM without them).  A restore reopens each drive's image
 * at the same path. */
#define SNAP_BOARD_RNG (1u << 0)
struct snap_drive {
	char path[1024];
	char id[64];
	char serial[64];
	uint8_t read_only, is_root_device;
	uint8_t pad[6];
};
struct snap_net {
	uint32_t kind;               /* enum vm_net_kind */
	uint8_t has_mac;
	uint8_t mac[6];
	uint8_t pad;
	char id[64];
	char ifname[64];             /* VM_NET_TAP */
	uint32_t nr_hostfwd;
	uint32_t pad2;
	char hostfwd[8][128];        /* VM_MAX_HOSTFWD */
};
struct snap_board {
	uint32_t flags;              /* SNAP_BOARD_* */
	uint32_t nr_drives;
	struct snap_drive drives[8]; /* VM_MAX_DRIVES */
	uint32_t nr_nets;
	uint32_t pad;
	struct snap_net nets[4];     /* VM_MAX_NETS */
};

/* SNAP_SEC_STREAMS: the stream devices the board is rebuilt with (absent
 * in a snapshot of a VM with neither, and in files of older ringvms).
 * virtio-vsock listens at uds_path again and its connections are not
 * carried over (the guest is sent a transport reset); the console's back
 * end is the restoring process's serial back end. */
#define SNAP_STREAMS_VSOCK          (1u << 0)
#define SNAP_STREAMS_CONSOLE_VIRTIO (1u << 1)
struct snap_streams {
	uint32_t flags;              /* SNAP_STREAMS_* */
	uint32_t guest_cid;          /* virtio-vsock */
	char uds_path[108];          /* virtio-vsock's Unix socket (sun_path) */
	uint8_t pad[4];
};
_Static_assert(sizeof(struct snap_streams) == 120, "snap_streams is part of the file format");

/* The MSRs every vCPU saves: those both engines implement and that are not
 * already in x86_sregs (EFER, FS/GS base, APIC base) or the LAPIC state
 * (TSC deadline).  IA32_TSC first, so a kvmclock MSR restored after it is
 * published against the right TSC. */
extern const uint32_t snap_msr_list[];
extern const unsigned snap_msr_count;

#endif
