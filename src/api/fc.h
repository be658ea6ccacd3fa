/* Firecracker compatibility: the machine as Firecracker's config file and
 * REST API describe it (src/firecracker/swagger/firecracker.yaml in the
 * Firecracker repository), and the one parser both use.
 *
 * struct fc_vmm holds the Firecracker-shaped description (what GET
 * /vm/config returns) with every string it owns; fc_vmm_build() turns it
 * into a struct vm_config when the VM starts.  One file per resource
 * (res_*.c, Firecracker's own habit) parses a JSON object into it; the
 * config file (fc_config.c) and the API (api_handler.c) call the same
 * functions.  Errors name the field as a JSON pointer:
 *     /machine-config/vcpu_count: expected an integer from 1 to 64
 * Nothing here touches a running VM: the API handler asks the VM's thread
 * through struct fc_vmm_ops. */
#ifndef RINGVM_API_FC_H
#define RINGVM_API_FC_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ringvm/vm.h"

#define FC_ERR_LEN        512
#define FC_ID_LEN         65      /* ids: 1..64 of [A-Za-z0-9_-] */
#define FC_PATH_LEN       4096
#define FC_CMDLINE_LEN    4096
#define FC_MAX_BODY       51200   /* Firecracker's default http_api_max_payload_size */
#define FC_DEFAULT_MEM_MIB 128    /* Firecracker's defaults: 1 vCPU, 128 MiB */
#define FC_MAX_MEM_MIB    (1024 * 1024)

enum fc_state { FC_NOT_STARTED, FC_RUNNING, FC_PAUSED };

struct fc_drive {
	char id[FC_ID_LEN];
	char path[FC_PATH_LEN];
	char partuuid[FC_ID_LEN];
	bool is_root_device, is_read_only;
	bool cache_writeback;           /* cache_type "Writeback" (default "Unsafe") */
	bool io_async;                  /* io_engine "Async" (default "Sync") */
};

struct fc_net {
	char id[FC_ID_LEN];
	char host_dev_name[16];         /* IFNAMSIZ */
	bool has_mac;
	uint8_t mac[6];
};

struct fc_vmm;

/* Firecracker's API request counters (fc_metrics.c). */
struct fc_req_metrics {
	uint64_t actions_count, actions_fails, boot_source_count, boot_source_fails;
	uint64_t drive_count, drive_fails, logger_count, logger_fails;
	uint64_t machine_cfg_count, machine_cfg_fails, metrics_count, metrics_fails;
	uint64_t network_count, network_fails, vsock_count, vsock_fails;
};

struct fc_metrics {
	uint64_t get_instance_info, get_machine_cfg, get_vmm_version;
	struct fc_req_metrics put, patch;
	uint64_t missed_metrics_count, metrics_fails;   /* "logger" */
	uint64_t startup_us;                            /* api_server.process_startup_time_us */
	uint64_t pause_vm_us, resume_vm_us;             /* latencies_us: the last ones */
	uint64_t full_create_snapshot_us, diff_create_snapshot_us, load_snapshot_us;
	json_t *prev;                                   /* the counters at the last flush */
};

/* What the API asks of the VM; each runs on the VM's thread (never the HTTP
 * thread).  Return 0, or -1 with a one-line reason in err. */
struct fc_vmm_ops {
	int (*start)(struct fc_vmm *fc, char *err, size_t errlen);
	int (*pause)(struct fc_vmm *fc, char *err, size_t errlen);
	int (*resume)(struct fc_vmm *fc, char *err, size_t errlen);
	int (*ctrl_alt_del)(struct fc_vmm *fc, char *err, size_t errlen);
	int (*flush_metrics)(struct fc_vmm *fc, char *err, size_t errlen);
	/* Side effects of PUT /logger and PUT /metrics (or the config file's
	 * members), after fc holds the new settings: open the files. */
	int (*logger)(struct fc_vmm *fc, char *err, size_t errlen);
	int (*metrics)(struct fc_vmm *fc, char *err, size_t errlen);
	/* PUT /snapshot/create on a paused VM; PUT /snapshot/load before boot
	 * (builds and starts the VM, paused unless resume). */
	int (*snapshot_create)(struct fc_vmm *fc, const char *snap, const char *mem, bool diff,
			       char *err, size_t errlen);
	int (*snapshot_load)(struct fc_vmm *fc, const char *snap, const char *mem, bool resume,
			     char *err, size_t errlen);
	/* PATCH /drives/{id} with path_on_host after boot: the running drive
	 * takes the image at path. */
	int (*drive_update)(struct fc_vmm *fc, const char *id, const char *path, char *err,
			    size_t errlen);
};

struct fc_vmm {
	char id[FC_ID_LEN];             /* --id (default "anonymous-instance") */
	enum fc_state state;

	/* boot-source */
	bool boot_source_set;
	char kernel[FC_PATH_LEN];
	char initrd[FC_PATH_LEN];       /* "" if none */
	char boot_args[FC_CMDLINE_LEN];
	bool boot_args_set;

	/* machine-config */
	unsigned vcpu_count;
	unsigned mem_size_mib;
	bool smt, track_dirty_pages, huge_pages_2m;

	unsigned nr_drives;
	struct fc_drive drives[VM_MAX_DRIVES];
	unsigned nr_nets;
	struct fc_net nets[VM_MAX_NETS];

	bool vsock_set;
	uint32_t vsock_cid;
	char vsock_uds[108];            /* sun_path */
	bool entropy;

	/* logger, metrics */
	bool logger_set;
	char log_path[FC_PATH_LEN];
	char log_level[16];
	bool show_level, show_log_origin;
	char metrics_path[FC_PATH_LEN];

	/* ringvm's own extensions ("ringvm": {...}) */
	char engine[8];                 /* "auto", "kvm", "soft" */
	bool soft_jit;                  /* "soft_tier": "jit" (default) or "interp" */
	bool testdev;                   /* the test-guest device (--testdev) */
	unsigned cpu_weight;            /* cgroup cpu.weight, 1..10000 (0: not set) */
	bool cpu_weight_strict;         /* refuse to start where it cannot be set */
	bool console_virtio;            /* "console": "virtio" (--console virtio) */
	bool user_net;                  /* "user_net": one libslirp interface (--net user) */
	unsigned nr_user_hostfwd;
	char user_hostfwd[VM_MAX_HOSTFWD][128];
	char engine_running[8];         /* the engine chosen at InstanceStart (GET /ringvm) */

	struct fc_metrics metrics;

	/* Strings vm_config points into after fc_vmm_build(). */
	char cmdline[FC_CMDLINE_LEN + 128];

	const struct fc_vmm_ops *ops;
	void *opaque;                   /* for ops: the program's context */
};

void fc_vmm_init(struct fc_vmm *fc);

/* The vm_config Firecracker's description means, on top of base (the
 * command line's settings).  -1 with a message if it cannot start (no
 * boot source). */
int fc_vmm_build(struct fc_vmm *fc, const struct vm_config *base, struct vm_config *out,
		 char *err, size_t errlen);

/* Resources: parse obj (the request body or the config file's member) at
 * JSON pointer ptr into fc.  put: a full replacement (absent optional
 * fields take their defaults); !put: PATCH (only the fields given).  Return
 * 0, or -1 with "ptr/field: problem" in err; fc is unchanged on error. */
int fc_res_boot_source(struct fc_vmm *fc, json_t *obj, const char *ptr, char *err, size_t n);
int fc_res_machine_config(struct fc_vmm *fc, json_t *obj, bool put, const char *ptr, char *err,
			  size_t n);
/* path_id: the {drive_id} of the URL (NULL in the config file). */
/* PATCH /drives/{id} of a running VM: checked as fc_res_drive, then a new
 * path_on_host reaches the drive (ops->drive_update); on failure the
 * drive's record is left as it was. */
int fc_res_drive_running(struct fc_vmm *fc, json_t *obj, const char *path_id, const char *ptr,
			 char *err, size_t n);
int fc_res_drive(struct fc_vmm *fc, json_t *obj, bool put, const char *path_id, const char *ptr,
		 char *err, size_t n);
int fc_res_net(struct fc_vmm *fc, json_t *obj, bool put, const char *path_id, const char *ptr,
	       char *err, size_t n);
int fc_res_vsock(struct fc_vmm *fc, json_t *obj, const char *ptr, char *err, size_t n);
int fc_res_entropy(struct fc_vmm *fc, json_t *obj, const char *ptr, char *err, size_t n);
int fc_res_logger(struct fc_vmm *fc, json_t *obj, const char *ptr, char *err, size_t n);
int fc_res_metrics(struct fc_vmm *fc, json_t *obj, const char *ptr, char *err, size_t n);
int fc_res_ringvm(struct fc_vmm *fc, json_t *obj, const char *ptr, char *err, size_t n);
/* The "ringvm" member (GET /vm/config); with runtime: plus what GET /ringvm
 * adds (engine_running). */
json_t *fc_ringvm_dump(const struct fc_vmm *fc, bool runtime);
/* res_snapshot.c: the bodies of PUT /snapshot/create and /snapshot/load;
 * snap and mem have FC_PATH_LEN bytes. */
int fc_res_snapshot_create(struct fc_vmm *fc, json_t *obj, const char *ptr, char *snap,
			   char *mem, bool *diff, char *err, size_t n);
int fc_res_snapshot_load(struct fc_vmm *fc, json_t *obj, const char *ptr, char *snap, char *mem,
			 bool *resume, bool *track, char *err, size_t n);

/* The whole config file (--config-file): a JSON object with the resources
 * above as members.  text need not be NUL-terminated. */
int fc_config_parse(struct fc_vmm *fc, const char *text, size_t len, char *err, size_t n);
int fc_config_load(struct fc_vmm *fc, const char *path, char *err, size_t n);
/* GET /vm/config and GET /machine-config bodies (new references). */
json_t *fc_config_dump(const struct fc_vmm *fc);
json_t *fc_machine_config_dump(const struct fc_vmm *fc);

/* Metrics (fc_metrics.c, docs/api.md "Metrics"): count one answered API
 * request; build one flush's line (vm may be NULL before InstanceStart);
 * write it to fd as one non-blocking write.  fc_metrics_free drops the
 * previous flush's counters. */
void fc_metrics_note(struct fc_vmm *fc, const char *method, const char *path, int status);
json_t *fc_metrics_line(struct fc_vmm *fc, struct vm *vm);
int fc_metrics_write(struct fc_vmm *fc, int fd, struct vm *vm, char *err, size_t n);
void fc_metrics_free(struct fc_vmm *fc);

/* JSON field helpers (fc_json.c), each naming ptr/key in its error. */
/* The message, with control characters replaced: always one line. */
int fc_json_fail(char *err, size_t n, const char *fmt, ...) PRINTF_FMT(3, 4);
/* jansson's parse error as one line: "invalid JSON at line L, column C:
 * TEXT", TEXT (which quotes the input near the error) with anything
 * unprintable replaced. */
int fc_json_parse_fail(char *err, size_t n, const json_error_t *je);
/* "/a/b" + "/" + key, with key escaped per RFC 6901 (~0, ~1) and anything
 * unprintable replaced, truncated to fit. */
void fc_json_ptr(char *dst, size_t n, const char *ptr, const char *key);
int fc_json_object(json_t *obj, const char *ptr, char *err, size_t n);
/* Every member of obj must be in allowed (NULL-terminated). */
int fc_json_known(json_t *obj, const char *ptr, const char *const *allowed, char *err, size_t n);
/* Absent (or null, when optional): return 0 and leave *out alone, *present
 * false.  required and absent: error. */
int fc_json_str(json_t *obj, const char *ptr, const char *key, bool required, char *dst,
		size_t dstlen, bool *present, char *err, size_t n);
int fc_json_bool(json_t *obj, const char *ptr, const char *key, bool required, bool *out,
		 bool *present, char *err, size_t n);
int fc_json_uint(json_t *obj, const char *ptr, const char *key, bool required, uint64_t min,
		 uint64_t max, uint64_t *out, bool *present, char *err, size_t n);
/* Firecracker's rate limiters: absent, null or {} (nothing limited) are
 * accepted; a limit is not supported. */
int fc_json_no_rate_limiter(json_t *obj, const char *ptr, const char *key, char *err, size_t n);
/* A readable regular file (kernels, initrds, drive images). */
int fc_json_file(const char *path, const char *ptr, const char *key, char *err, size_t n);
/* Ids: 1..64 characters of [A-Za-z0-9_-]. */
int fc_json_id(const char *id, const char *ptr, const char *key, char *err, size_t n);

#endif
