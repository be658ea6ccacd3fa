/* Snapshots: an engine-neutral, versioned image of a paused VM
 * (docs/snapshot.md).  Two files: the state file (this container) and the
 * guest memory file (RAM as is, written sparsely).
 *
 * The container: a header (magic "RINGVMSN", format version, section
 * count), then typed sections, each with a header (type, instance, length,
 * CRC-32 of the payload) and its payload, then an END section.  Payloads
 * are fixed-width structs (snapshot_sections.h).  The reader checks all of
 * it before anything is used: a wrong magic or version, a truncated file, a
 * bad length or CRC is refused with one line naming the file and the
 * section.  A snapshot file is user input: never trusted. */
#ifndef RINGVM_SNAPSHOT_H
#define RINGVM_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SNAP_MAGIC "RINGVMSN"
#define SNAP_VERSION 2u      /* written; 2 added the lineage section */
#define SNAP_VERSION_MIN 1u  /* the oldest read: a version-1 file is a full snapshot */
#define SNAP_MAX_SECTIONS 1024u
#define SNAP_MAX_SECTION_LEN (16u << 20)  /* no section is near this */
#define SNAP_MAX_FILE_LEN (64u << 20)

enum snap_section_type {
	SNAP_SEC_END = 0,
	SNAP_SEC_CONFIG = 1,    /* struct snap_config: what rebuilds the board */
	SNAP_SEC_CLOCK = 2,     /* struct snap_clock */
	SNAP_SEC_MEMORY = 3,    /* struct snap_memory: the memory file's shape */
	SNAP_SEC_VCPU = 4,      /* struct snap_vcpu, instance = vCPU index */
	SNAP_SEC_IRQCHIP = 5,   /* struct irqchip_state */
	SNAP_SEC_DEVICE = 6,    /* struct snap_device_hdr + the device's bytes, instance = index */
	SNAP_SEC_BOARD = 7,     /* struct snap_board: the virtio devices (optional) */
	SNAP_SEC_LINEAGE = 8,   /* struct snap_lineage: full or diff, ids (version 2) */
	SNAP_SEC_STREAMS = 9,   /* struct snap_streams: virtio-vsock, the virtio console (optional) */
	SNAP_SEC_TYPES
};

struct snap_file_header {
	char magic[8];          /* SNAP_MAGIC, no NUL */
	uint32_t version;       /* SNAP_VERSION */
	uint32_t nr_sections;   /* including END */
};

struct snap_section_header {
	uint32_t type;          /* enum snap_section_type */
	uint32_t instance;
	uint32_t length;        /* payload bytes that follow */
	uint32_t crc32;         /* CRC-32 (IEEE 802.3) of the payload */
};

/* CRC-32 as zlib's crc32(): reflected, polynomial 0xedb88320, inverted. */
uint32_t snap_crc32(uint32_t crc, const void *buf, size_t len);

/* Building a state file in memory. */
struct snap_writer {
	uint8_t *buf;
	size_t len, cap;
	uint32_t nr_sections;
	int error;              /* first -errno, sticky */
};
void snap_writer_init(struct snap_writer *w);
void snap_writer_add(struct snap_writer *w, uint32_t type, uint32_t instance,
		     const void *payload, size_t len);
/* Append END, then write to path atomically (a temporary file renamed over
 * it).  0, or -1 with one line in err. */
int snap_writer_finish(struct snap_writer *w, const char *path, char *err, size_t n);
void snap_writer_free(struct snap_writer *w);

/* A checked state file. */
struct snap_section {
	uint32_t type, instance, length;
	const uint8_t *data;
};
struct snap_image {
	uint8_t *buf;           /* owned: the whole file */
	size_t len;
	uint32_t version;
	unsigned nr_sections;   /* without END */
	struct snap_section *sections;
};
/* Check buf (len bytes, named name in messages) and index its sections; the
 * image keeps pointers into buf, which the caller keeps alive (and frees:
 * img->buf is left NULL).  0, or -1 with one line in err. */
int snap_parse(const uint8_t *buf, size_t len, const char *name, struct snap_image *img,
	       char *err, size_t n);
/* Read and check the file at path; 0 or -1 with one line in err. */
int snap_read_file(const char *path, struct snap_image *img, char *err, size_t n);
void snap_image_free(struct snap_image *img);
/* The section of that type and instance, or NULL. */
const struct snap_section *snap_find(const struct snap_image *img, uint32_t type,
				     uint32_t instance);
const char *snap_section_name(uint32_t type);

struct vm;
struct vm_config;
struct vcpu;

/* Create a snapshot of a paused VM: the state file at snap_path and the
 * guest memory at mem_path; diff: only the pages written since the last
 * snapshot (or since the VM started), which needs track_dirty_pages.  0,
 * or -1 with one line in err (the VM is left as it was: paused, its dirty
 * pages still to be taken). */
int snapshot_create(struct vm *vm, const char *snap_path, const char *mem_path, bool diff,
		    char *err, size_t n);
/* ringvm snapshot-rebase: copy the data extents of the diff memory file
 * onto the base memory file (Firecracker's rebase-snap).  0, or -1 with
 * one line in err. */
int snapshot_rebase(const char *base_path, const char *diff_path, uint64_t *bytes, char *err,
		    size_t n);
/* Build vm from the snapshot (the state file at snap_path, guest RAM mapped
 * privately from mem_path) on the engine base->engine names ("auto", "kvm",
 * "soft": restoring on another engine than the snapshot's is allowed).
 * The VM is ready for vm_run; it starts paused unless resume.  0, or the
 * exit status (2 bad file, 6 host failure) with one line in err and vm
 * already destroyed. */
int snapshot_restore(struct vm *vm, const struct vm_config *base, const char *snap_path,
		     const char *mem_path, bool resume, char *err, size_t n);
/* True while the vCPU threads must load their state from a snapshot
 * rather than the boot registers. */
bool snapshot_restoring(const struct vm *vm);
/* On the vCPU's own thread, after vcpu_init: load its saved state, then
 * wait until every vCPU has loaded its own (or the VM stops).  0 or -errno
 * (the caller stops the VM). */
int snapshot_restore_vcpu(struct vm *vm, struct vcpu *v);
/* A machine reset: from now on the vCPUs boot the kernel again. */
void snapshot_restore_done(struct vm *vm);
/* vm_destroy: release what the restore kept. */
void snapshot_restore_free(struct vm *vm);

#endif
