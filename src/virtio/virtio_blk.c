/* virtio-blk (Virtio 1.2 section 5.2) on a raw image file.
 *
 * The vCPU that kicks the queue only parses requests and hands them to the
 * back end; it never waits for the disk:
 *   - io_uring (liburing): reads, writes, fdatasync and fallocate are
 *     submitted to a ring whose completions wake the VM's event loop
 *     through an eventfd; the loop's thread returns them to the guest.
 *   - worker threads, where io_uring_queue_init fails (an old kernel, a
 *     seccomp profile) or RINGVM_AIO=threads asks for them: the threads run
 *     the same operations with preadv/pwritev/fdatasync/fallocate and
 *     return each request themselves.
 * FLUSH is fdatasync (a write the guest saw completed before a FLUSH it saw
 * completed is on the disk: the kill -9 test), DISCARD punches a hole and
 * WRITE_ZEROES zeroes a range (fallocate), GET_ID answers the serial.
 * Data moves straight between the image and guest RAM (iovecs from
 * gmem_ptr over the checked chain); pages a read fills are reported with
 * gmem_note_write so the soft engine drops code it decoded from them. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>
#ifdef RINGVM_HAVE_LIBURING
#include <liburing.h>
#include <sys/eventfd.h>
#endif

#include "blk_req.h"
#include "virtio_pci.h"
#include "ringvm/clock.h"
#include "ringvm/device.h"
#include "ringvm/sandbox.h"
#include "ringvm/vm.h"

#define BLK_QUEUE_SIZE   256
#define BLK_SEG_MAX      (BLK_QUEUE_SIZE - 2)   /* data segments per request */
#define BLK_WORKERS      2
#define BLK_CONFIG_SIZE  60                     /* through write_zeroes_may_unmap */

struct virtio_blk;

struct blk_req {
	struct virtio_blk *blk;
	uint16_t head;
	struct blk_req_info info;
	int res;                     /* bytes done or -errno (first error) */
	unsigned pending;            /* io_uring operations outstanding */
	struct blk_req *next;        /* worker queue */
	int niov;
	struct iovec iov[VIRTQ_MAX_SEGS];
	struct virtq_chain chain;
};

struct virtio_blk {
	struct virtio_dev *dev;
	struct vm *vm;
	const char *path, *id, *serial;
	bool read_only;
	int fd;
	uint64_t sectors;
	unsigned inflight;           /* under dev->lock */
	unsigned uring_inflight;     /* of those, on the io_uring (dev->lock) */
	pthread_cond_t drained;      /* inflight reached 0 */
	_Atomic uint64_t reads, writes, flushes, discards, zeroes;
	_Atomic uint64_t invalid;    /* malformed or refused requests (also in errors) */
	_Atomic uint64_t read_bytes; /* data of successful reads (bytes_in also has GET_ID's) */
	/* Worker threads. */
	bool use_uring;
	pthread_mutex_t wlock;
	pthread_cond_t wcond;
	struct blk_req *whead, **wtail;
	bool wstop;
	unsigned nr_workers;
	pthread_t workers[BLK_WORKERS];
#ifdef RINGVM_HAVE_LIBURING
	struct io_uring ring;
	int efd;
#endif
};

/* ---- synchronous operations (worker threads; io_uring's short I/O) ---- */

/* preadv/pwritev until done (the kernel may transfer less than asked),
 * starting 'skip' bytes into the data.  Returns the bytes done or -errno. */
static int rw_full(int fd, bool write, const struct iovec *iov, int niov, uint64_t off,
		   uint64_t skip)
{
	uint64_t total = skip;
	int i = 0;
	while (i < niov) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			i++;
			continue;
		}
		struct iovec v[64];
		int cnt = 1;
		v[0].iov_base = (uint8_t *)iov[i].iov_base + skip;
		v[0].iov_len = iov[i].iov_len - skip;
		for (int j = i + 1; j < niov && cnt < 64; j++)
			v[cnt++] = iov[j];
		ssize_t n = write ? pwritev(fd, v, cnt, (off_t)(off + total))
				  : preadv(fd, v, cnt, (off_t)(off + total));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;         /* end of file inside the disk: the image shrank */
		total += (uint64_t)n;
		skip += (uint64_t)n;
	}
	return (int)total;               /* <= BLK_MAX_DATA */
}

static int fallocate_mode(const struct blk_req_info *r, const struct blk_range *g)
{
	if (r->type == VIRTIO_BLK_T_DISCARD || (g->flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP))
		return FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
	return FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
}

static int run_sync(struct blk_req *q)
{
	struct virtio_blk *b = q->blk;
	struct blk_req_info *r = &q->info;
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		return rw_full(b->fd, r->type == VIRTIO_BLK_T_OUT, q->iov, q->niov,
			       r->sector * VIRTIO_BLK_SECTOR, 0);
	case VIRTIO_BLK_T_FLUSH:
		return fdatasync(b->fd) < 0 ? -errno : 0;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		for (unsigned i = 0; i < r->nr_ranges; i++) {
			const struct blk_range *g = &r->range[i];
			int mode = fallocate_mode(r, g);
			off_t off = (off_t)(g->sector * VIRTIO_BLK_SECTOR);
			off_t len = (off_t)((uint64_t)g->nr_sectors * VIRTIO_BLK_SECTOR);
			if (len == 0)
				continue;
			if (fallocate(b->fd, mode, off, len) < 0) {
				/* ZERO_RANGE is missing on some file systems: a
				 * punched hole reads as zeroes too. */
				if ((errno == EOPNOTSUPP) && (mode & FALLOC_FL_ZERO_RANGE) &&
				    fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					      off, len) == 0)
					continue;
				return -errno;
			}
		}
		return 0;
	default:
		return -EINVAL;
	}
}

/* ---- completion (dev->lock held) ------------------------------------- */

static void blk_finish(struct blk_req *q)
{
	struct virtio_blk *b = q->blk;
	struct virtio_dev *d = b->dev;
	struct blk_req_info *r = &q->info;
	uint8_t status = r->status;
	uint32_t written = 1;
	if (status == VIRTIO_BLK_S_OK && q->res < 0) {
		status = VIRTIO_BLK_S_IOERR;
		vm_log(b->vm, VM_LOG_DEVICE, LOG_WARN, "virtio-blk %s: %s", b->id, strerror(-q->res));
	}
	if (status == VIRTIO_BLK_S_OK && r->data_in) {
		/* The back end wrote guest RAM through host pointers (DMA). */
		for (int i = 0; i < q->niov; i++) {
			uint8_t *p = q->iov[i].iov_base;
			const struct gmem_region *g = NULL;
			for (unsigned k = 0; k < d->mem->nr_regions; k++)
				if (p >= d->mem->regions[k].host &&
				    p < d->mem->regions[k].host + d->mem->regions[k].size)
					g = &d->mem->regions[k];
			if (g)
				gmem_note_write(d->mem, g->gpa + (uint64_t)(p - g->host),
						q->iov[i].iov_len);
		}
		written += (uint32_t)r->data_len;
		atomic_fetch_add(&d->stats.bytes_in, r->data_len);
		if (r->type == VIRTIO_BLK_T_IN)
			atomic_fetch_add(&b->read_bytes, r->data_len);
	} else if (status == VIRTIO_BLK_S_OK && r->type == VIRTIO_BLK_T_OUT) {
		atomic_fetch_add(&d->stats.bytes_out, r->data_len);
	}
	if (status != VIRTIO_BLK_S_OK)
		atomic_fetch_add(&d->stats.errors, 1);
	gmem_write_u8(d->mem, r->status_gpa, status);
	virtio_dev_push(d, 0, q->head, written);
	free(q);
	if (--b->inflight == 0)
		pthread_cond_broadcast(&b->drained);
}

/* ---- worker threads --------------------------------------------------- */

static void *blk_worker(void *arg)
{
	struct virtio_blk *b = arg;
	if (sandbox_enter(&b->vm->sandbox, SANDBOX_IO) < 0)
		vm_request_exit(b->vm, RINGVM_EXIT_HOST_ERROR,
				"virtio-blk %s: seccomp: cannot filter a worker", b->id);
	for (;;) {
		pthread_mutex_lock(&b->wlock);
		while (!b->whead && !b->wstop)
			pthread_cond_wait(&b->wcond, &b->wlock);
		if (!b->whead) {
			pthread_mutex_unlock(&b->wlock);
			return NULL;
		}
		struct blk_req *q = b->whead;
		b->whead = q->next;
		if (!b->whead)
			b->wtail = &b->whead;
		pthread_mutex_unlock(&b->wlock);
		q->res = run_sync(q);
		pthread_mutex_lock(&b->dev->lock);
		blk_finish(q);
		pthread_mutex_unlock(&b->dev->lock);
	}
}

static void worker_submit(struct virtio_blk *b, struct blk_req *q)
{
	pthread_mutex_lock(&b->wlock);
	q->next = NULL;
	*b->wtail = q;
	b->wtail = &q->next;
	pthread_cond_signal(&b->wcond);
	pthread_mutex_unlock(&b->wlock);
}

/* ---- io_uring ---------------------------------------------------------- */

#ifdef RINGVM_HAVE_LIBURING
static bool uring_prep(struct virtio_blk *b, struct blk_req *q)
{
	struct blk_req_info *r = &q->info;
	unsigned n = (r->type == VIRTIO_BLK_T_DISCARD || r->type == VIRTIO_BLK_T_WRITE_ZEROES)
		     ? r->nr_ranges : 1;
	if (io_uring_sq_space_left(&b->ring) < n)
		io_uring_submit(&b->ring);
	if (io_uring_sq_space_left(&b->ring) < n)
		return false;
	q->pending = n;
	for (unsigned i = 0; i < n; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring);
		uint64_t off = r->sector * VIRTIO_BLK_SECTOR;
		switch (r->type) {
		case VIRTIO_BLK_T_IN:
			io_uring_prep_readv(sqe, b->fd, q->iov, (unsigned)q->niov, off);
			break;
		case VIRTIO_BLK_T_OUT:
			io_uring_prep_writev(sqe, b->fd, q->iov, (unsigned)q->niov, off);
			break;
		case VIRTIO_BLK_T_FLUSH:
			io_uring_prep_fsync(sqe, b->fd, IORING_FSYNC_DATASYNC);
			break;
		default:
			io_uring_prep_fallocate(sqe, b->fd, fallocate_mode(r, &r->range[i]),
				(off_t)(r->range[i].sector * VIRTIO_BLK_SECTOR),
				(off_t)((uint64_t)r->range[i].nr_sectors * VIRTIO_BLK_SECTOR));
			break;
		}
		io_uring_sqe_set_data(sqe, q);
	}
	b->uring_inflight++;
	return true;
}

/* One completion (dev->lock held). */
static void uring_complete(struct virtio_blk *b, struct io_uring_cqe *cqe)
{
	struct blk_req *q = io_uring_cqe_get_data(cqe);
	int res = cqe->res;
	io_uring_cqe_seen(&b->ring, cqe);
	if (!q)
		return;
	struct blk_req_info *r = &q->info;
	if (res < 0 && q->res >= 0)
		q->res = res;
	if (--q->pending)
		return;
	b->uring_inflight--;
	if (q->res < 0) {
		/* fallocate modes io_uring (or the file system) lacks: retry in
		 * the synchronous path, which knows the fallbacks. */
		if (q->res == -EOPNOTSUPP && r->type == VIRTIO_BLK_T_WRITE_ZEROES)
			q->res = run_sync(q);
	} else if ((r->type == VIRTIO_BLK_T_IN || r->type == VIRTIO_BLK_T_OUT) &&
		   (uint64_t)res < r->data_len) {
		/* A short transfer: finish the rest here (rare: regular files
		 * transfer in full below end of file). */
		int more = rw_full(b->fd, r->type == VIRTIO_BLK_T_OUT, q->iov, q->niov,
				   r->sector * VIRTIO_BLK_SECTOR, (uint64_t)res);
		q->res = more < 0 ? more : res + more;
	}
	blk_finish(q);
}

static void uring_reap(struct virtio_blk *b)
{
	struct io_uring_cqe *cqe;
	while (io_uring_peek_cqe(&b->ring, &cqe) == 0)
		uring_complete(b, cqe);
}

static void uring_event(void *opaque, int fd, uint32_t events)
{
	struct virtio_blk *b = opaque;
	uint64_t v;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&b->dev->lock);
	uring_reap(b);
	pthread_mutex_unlock(&b->dev->lock);
}
#endif

/* ---- requests ------------------------------------------------------------ */

/* iovecs over [off, off+len) of the chain's readable or writable part. */
static int build_iov(struct gmem *m, struct blk_req *q, bool in, uint64_t off, uint64_t len)
{
	const struct virtq_chain *c = &q->chain;
	unsigned first = in ? c->nr_out : 0, end = in ? (unsigned)c->nr_out + c->nr_in : c->nr_out;
	q->niov = 0;
	for (unsigned i = first; i < end && len; i++) {
		uint64_t sl = c->seg[i].len;
		if (off >= sl) {
			off -= sl;
			continue;
		}
		uint64_t n = sl - off < len ? sl - off : len;
		void *p = gmem_ptr(m, c->seg[i].addr + off, n);
		if (!p)
			return -EFAULT;
		q->iov[q->niov].iov_base = p;
		q->iov[q->niov].iov_len = n;
		q->niov++;
		len -= n;
		off = 0;
	}
	return len ? -EFAULT : 0;
}

static void blk_submit(struct virtio_blk *b, struct blk_req *q)
{
	struct blk_req_info *r = &q->info;
	struct virtio_dev *d = b->dev;
	b->inflight++;
	atomic_fetch_add(&d->stats.requests, 1);
	q->res = 0;
	if (r->status != VIRTIO_BLK_S_OK) {
		atomic_fetch_add(&b->invalid, 1);
		blk_finish(q);
		return;
	}
	switch (r->type) {
	case VIRTIO_BLK_T_IN: atomic_fetch_add(&b->reads, 1); break;
	case VIRTIO_BLK_T_OUT: atomic_fetch_add(&b->writes, 1); break;
	case VIRTIO_BLK_T_FLUSH: atomic_fetch_add(&b->flushes, 1); break;
	case VIRTIO_BLK_T_DISCARD: atomic_fetch_add(&b->discards, 1); break;
	case VIRTIO_BLK_T_WRITE_ZEROES: atomic_fetch_add(&b->zeroes, 1); break;
	default: break;
	}
	if (r->type == VIRTIO_BLK_T_GET_ID) {
		char id[VIRTIO_BLK_ID_BYTES] = { 0 };
		/* 5.2.6: up to 20 bytes, NUL-terminated only if shorter. */
		size_t n = strlen(b->serial);
		memcpy(id, b->serial, n < sizeof(id) ? n : sizeof(id));
		if (virtq_chain_write(d->mem, &q->chain, 0, id, r->data_len) != (int64_t)r->data_len)
			q->res = -EFAULT;
		/* Written through gmem_write (niov is 0: nothing to note). */
		blk_finish(q);
		return;
	}
	if ((r->type == VIRTIO_BLK_T_IN || r->type == VIRTIO_BLK_T_OUT) &&
	    build_iov(d->mem, q, r->data_in, r->data_off, r->data_len) < 0) {
		q->res = -EFAULT;
		blk_finish(q);
		return;
	}
	if ((r->type == VIRTIO_BLK_T_IN || r->type == VIRTIO_BLK_T_OUT) && r->data_len == 0) {
		blk_finish(q);
		return;
	}
#ifdef RINGVM_HAVE_LIBURING
	if (b->use_uring) {
		if (uring_prep(b, q))
			return;
		/* The ring is full of this device's own requests: run this
		 * one on a worker instead of waiting. */
	}
#endif
	worker_submit(b, q);
}

static void blk_notify(struct virtio_dev *d, unsigned qi)
{
	struct virtio_blk *b = d->priv;
	for (unsigned n = 0; n < BLK_QUEUE_SIZE; n++) {
		struct blk_req *q = malloc(sizeof(*q));
		if (!q)
			break;
		q->blk = b;
		int r = virtio_dev_pop(d, qi, &q->chain);
		if (r <= 0) {
			free(q);
			break;
		}
		q->head = q->chain.head;
		q->niov = 0;
		if (blk_req_parse(d->mem, &q->chain, b->sectors, b->read_only, &q->info) < 0) {
			/* No status byte to answer in: give the chain back empty. */
			atomic_fetch_add(&d->stats.errors, 1);
			atomic_fetch_add(&b->invalid, 1);
			virtio_dev_push(d, qi, q->head, 0);
			free(q);
			continue;
		}
		blk_submit(b, q);
	}
#ifdef RINGVM_HAVE_LIBURING
	if (b->use_uring)
		io_uring_submit(&b->ring);
#endif
}

/* Wait for every request in flight (dev->lock held): a reset returns the
 * device to its initial state only when no back-end operation can still
 * write guest memory or push to the old ring. */
static void blk_drain(struct virtio_blk *b)
{
	while (b->inflight) {
#ifdef RINGVM_HAVE_LIBURING
		/* Requests on the ring complete only if reaped here; those on
		 * the workers signal 'drained' (waiting releases dev->lock). */
		if (b->use_uring && b->uring_inflight) {
			struct io_uring_cqe *cqe;
			io_uring_submit(&b->ring);
			if (io_uring_peek_cqe(&b->ring, &cqe) == 0 ||
			    io_uring_wait_cqe(&b->ring, &cqe) == 0) {
				uring_complete(b, cqe);
				continue;
			}
		}
#endif
		pthread_cond_wait(&b->drained, &b->dev->lock);
	}
}

static void blk_reset(struct virtio_dev *d)
{
	blk_drain(d->priv);
}

/* Before a snapshot (docs/snapshot.md): as blk_drain, but bounded, so a
 * stuck image (a hung NFS mount) fails the snapshot instead of the VMM. */
static int blk_quiesce(struct virtio_dev *d, uint64_t deadline_ns)
{
	struct virtio_blk *b = d->priv;
	while (b->inflight) {
		if (clock_monotonic_ns() >= deadline_ns)
			return -ETIMEDOUT;
#ifdef RINGVM_HAVE_LIBURING
		if (b->use_uring && b->uring_inflight) {
			struct io_uring_cqe *cqe;
			struct __kernel_timespec ts = { .tv_sec = 0, .tv_nsec = 10000000 };
			io_uring_submit(&b->ring);
			if (io_uring_wait_cqe_timeout(&b->ring, &cqe, &ts) == 0)
				uring_complete(b, cqe);
			continue;
		}
#endif
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 10000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&b->drained, &d->lock, &ts);
	}
	return 0;
}

/* ---- configuration space (5.2.4) ------------------------------------- */

static void blk_config_read(struct virtio_dev *d, uint32_t off, void *buf, uint32_t len)
{
	struct virtio_blk *b = d->priv;
	uint8_t c[BLK_CONFIG_SIZE] = { 0 };
	uint32_t v32;
	memcpy(c + 0, &b->sectors, 8);                 /* capacity */
	v32 = BLK_SEG_MAX;
	memcpy(c + 12, &v32, 4);                       /* seg_max */
	v32 = 512;
	memcpy(c + 20, &v32, 4);                       /* blk_size */
	v32 = BLK_MAX_DISCARD_SECTORS;
	memcpy(c + 36, &v32, 4);                       /* max_discard_sectors */
	v32 = BLK_MAX_DISCARD_SEG;
	memcpy(c + 40, &v32, 4);                       /* max_discard_seg */
	v32 = 1;
	memcpy(c + 44, &v32, 4);                       /* discard_sector_alignment */
	v32 = BLK_MAX_DISCARD_SECTORS;
	memcpy(c + 48, &v32, 4);                       /* max_write_zeroes_sectors */
	v32 = BLK_MAX_DISCARD_SEG;
	memcpy(c + 52, &v32, 4);                       /* max_write_zeroes_seg */
	c[56] = 1;                                     /* write_zeroes_may_unmap */
	memcpy(buf, c + off, len);
}

/* Firecracker's PATCH /drives/{id} with a new path_on_host: the drive
 * takes the image at path (opened as the old one was, read-only or not)
 * once the requests in flight on the old one are done, and the driver is
 * told that the configuration (the capacity) changed (Virtio 1.2 4.1.4.3:
 * config_generation and the configuration change interrupt). */
static int blk_change_media(struct virtio_dev *d, const char *id, const char *path, char *err,
			    size_t errlen)
{
	struct virtio_blk *b = d->priv;
	if (strcmp(id, b->id))
		return 0;
	int fd = open(path, (b->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	off_t size = lseek(fd, 0, SEEK_END);
	if (size < 0) {
		snprintf(err, errlen, "%s: cannot size the image: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	pthread_mutex_lock(&d->lock);
	blk_drain(b);
	int old = b->fd;
	b->fd = fd;
	b->sectors = (uint64_t)size / VIRTIO_BLK_SECTOR;
	virtio_dev_config_changed(d);
	pthread_mutex_unlock(&d->lock);
	close(old);
	pr_info("virtio-blk %s: now %s (%llu sectors)", b->id, path, (unsigned long long)b->sectors);
	return 1;
}

static void blk_print_stats(struct virtio_dev *d, FILE *out)
{
	struct virtio_blk *b = d->priv;
	fprintf(out, "    %s (%s%s, %s): reads %" PRIu64 ", writes %" PRIu64 ", flushes %" PRIu64
		", discards %" PRIu64 ", write-zeroes %" PRIu64 "\n",
		b->id, b->path, b->read_only ? ", read-only" : "",
		b->use_uring ? "io_uring" : "worker threads",
		atomic_load(&b->reads), atomic_load(&b->writes), atomic_load(&b->flushes),
		atomic_load(&b->discards), atomic_load(&b->zeroes));
}

/* Firecracker's "block_<drive id>" group (its block/virtio/metrics.rs):
 * bytes and counts of reads and writes done, flushes, queue notifications,
 * requests refused as invalid and requests that failed on the host. */
static void blk_metrics(struct virtio_dev *d, struct vm_metrics *m)
{
	struct virtio_blk *b = d->priv;
	uint64_t errors = atomic_load(&d->stats.errors), invalid = atomic_load(&b->invalid);
	snprintf(m->group, sizeof(m->group), "block_%s", b->id);
	m->aggregate = "block";
	vm_metric(m, "read_bytes", atomic_load(&b->read_bytes));
	vm_metric(m, "write_bytes", atomic_load(&d->stats.bytes_out));
	vm_metric(m, "read_count", atomic_load(&b->reads));
	vm_metric(m, "write_count", atomic_load(&b->writes));
	vm_metric(m, "flush_count", atomic_load(&b->flushes));
	vm_metric(m, "queue_event_count", atomic_load(&d->stats.notifies));
	vm_metric(m, "invalid_reqs_count", invalid);
	vm_metric(m, "execute_fails", errors > invalid ? errors - invalid : 0);
}

static void blk_free(struct virtio_blk *b)
{
	if (b->nr_workers) {
		pthread_mutex_lock(&b->wlock);
		b->wstop = true;
		pthread_cond_broadcast(&b->wcond);
		pthread_mutex_unlock(&b->wlock);
		for (unsigned i = 0; i < b->nr_workers; i++)
			pthread_join(b->workers[i], NULL);
	}
#ifdef RINGVM_HAVE_LIBURING
	if (b->use_uring) {
		evloop_del_fd(&b->vm->loop, b->efd);
		io_uring_queue_exit(&b->ring);
		close(b->efd);
	}
#endif
	if (b->fd >= 0)
		close(b->fd);
	pthread_cond_destroy(&b->drained);
	pthread_cond_destroy(&b->wcond);
	pthread_mutex_destroy(&b->wlock);
	free(b);
}

static void blk_destroy(struct virtio_dev *d)
{
	blk_free(d->priv);
}

static const struct virtio_dev_ops virtio_blk_ops_rw = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.pci_class = 0x010000,          /* mass storage, SCSI: what QEMU uses */
	.features = (1ull << VIRTIO_BLK_F_SEG_MAX) | (1ull << VIRTIO_BLK_F_BLK_SIZE) |
		    (1ull << VIRTIO_BLK_F_FLUSH) | (1ull << VIRTIO_BLK_F_DISCARD) |
		    (1ull << VIRTIO_BLK_F_WRITE_ZEROES),
	.nr_queues = 1,
	.queue_max = BLK_QUEUE_SIZE,
	.config_size = BLK_CONFIG_SIZE,
	.config_read = blk_config_read,
	.queue_notify = blk_notify,
	.reset = blk_reset,
	.print_stats = blk_print_stats,
	.change_media = blk_change_media,
	.metrics = blk_metrics,
	.destroy = blk_destroy,
	.snapshot = true,
	.quiesce = blk_quiesce,
};

static const struct virtio_dev_ops virtio_blk_ops_ro = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.pci_class = 0x010000,
	.features = (1ull << VIRTIO_BLK_F_SEG_MAX) | (1ull << VIRTIO_BLK_F_BLK_SIZE) |
		    (1ull << VIRTIO_BLK_F_FLUSH) | (1ull << VIRTIO_BLK_F_RO),
	.nr_queues = 1,
	.queue_max = BLK_QUEUE_SIZE,
	.config_size = BLK_CONFIG_SIZE,
	.config_read = blk_config_read,
	.queue_notify = blk_notify,
	.reset = blk_reset,
	.print_stats = blk_print_stats,
	.change_media = blk_change_media,
	.metrics = blk_metrics,
	.destroy = blk_destroy,
	.snapshot = true,
	.quiesce = blk_quiesce,
};

static bool force_threads(void)
{
	const char *e = getenv("RINGVM_AIO");
	return e && !strcmp(e, "threads");
}

static int blk_backend_start(struct virtio_blk *b)
{
#ifdef RINGVM_HAVE_LIBURING
	if (!force_threads()) {
		int r = io_uring_queue_init(BLK_QUEUE_SIZE, &b->ring, 0);
		if (r == 0) {
			b->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
			if (b->efd >= 0 && io_uring_register_eventfd(&b->ring, b->efd) == 0 &&
			    evloop_add_fd(&b->vm->loop, b->efd, EPOLLIN, uring_event, b) == 0) {
				b->use_uring = true;
			} else {
				if (b->efd >= 0)
					close(b->efd);
				io_uring_queue_exit(&b->ring);
			}
		}
		if (!b->use_uring && b->vm->cfg.verbose)
			pr_info("virtio-blk %s: io_uring unavailable (%s), using worker threads",
				b->id, strerror(r < 0 ? -r : EINVAL));
	}
#endif
	/* Workers always exist: the fallback, and the overflow of a full ring.
	 * They block every signal: SIGINT/SIGTERM reach the event loop's
	 * signalfd (vm_run), never a worker's default action. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (unsigned i = 0; i < BLK_WORKERS; i++) {
		if (pthread_create(&b->workers[i], NULL, blk_worker, b) != 0)
			break;
		b->nr_workers++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return b->nr_workers ? 0 : -EAGAIN;
}

static int virtio_blk_add(struct vm *vm, const struct vm_drive *drv, unsigned index)
{
	struct virtio_blk *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	static const char *const names[VM_MAX_DRIVES] = {
		"drive0", "drive1", "drive2", "drive3", "drive4", "drive5", "drive6", "drive7" };
	b->vm = vm;
	b->path = drv->path;
	b->id = drv->id ? drv->id : names[index % VM_MAX_DRIVES];
	b->serial = drv->serial ? drv->serial : b->id;
	b->read_only = drv->read_only;
	b->fd = -1;
	pthread_mutex_init(&b->wlock, NULL);
	pthread_cond_init(&b->wcond, NULL);
	pthread_cond_init(&b->drained, NULL);
	b->wtail = &b->whead;
	b->fd = open(drv->path, (drv->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (b->fd < 0) {
		int e = errno;
		pr_err("--drive path=%s: %s", drv->path, strerror(e));
		blk_free(b);
		return -e;
	}
	off_t size = lseek(b->fd, 0, SEEK_END);
	if (size < 0) {
		int e = errno;
		pr_err("--drive path=%s: cannot size the image: %s", drv->path, strerror(e));
		blk_free(b);
		return -e;
	}
	b->sectors = (uint64_t)size / VIRTIO_BLK_SECTOR;
	if ((uint64_t)size % VIRTIO_BLK_SECTOR)
		pr_warn("--drive path=%s: size is not a multiple of 512; the last %u bytes are not used",
			drv->path, (unsigned)((uint64_t)size % VIRTIO_BLK_SECTOR));
	int r = blk_backend_start(b);
	if (r < 0) {
		pr_err("virtio-blk %s: cannot start its I/O threads", b->id);
		blk_free(b);
		return r;
	}
	r = virtio_pci_add(vm, drv->read_only ? &virtio_blk_ops_ro : &virtio_blk_ops_rw, b, &b->dev);
	if (r < 0) {
		blk_free(b);
		return r;
	}
	return 0;
}

static int virtio_blk_create(struct vm *vm)
{
	for (unsigned i = 0; i < vm->cfg.nr_drives && i < VM_MAX_DRIVES; i++) {
		int r = virtio_blk_add(vm, &vm->cfg.drives[i], i);
		if (r < 0)
			return r;
	}
	return 0;
}

VM_DEVICE_ORDERED(virtio_blk, virtio_blk_create, 40);
