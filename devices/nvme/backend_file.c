/* SPDX-License-Identifier: MIT */
/*
 * The `file` backend: a regular file or a block device, every request through the
 * controller's io_uring (iothread.h), completions on the I/O thread.
 *
 * O_DIRECT (cache = "none", the default) needs buffers and lengths aligned to the memory
 * alignment and offsets to the offset alignment the kernel reports (statx STATX_DIOALIGN).
 * Guest pages are page aligned, but a PRP1 offset or an SGL data block need not be: such a
 * request goes through an aligned bounce buffer; a request whose offset or length is not
 * aligned (512-byte blocks on a 4 KiB-sector disk) uses a second, buffered descriptor. Where
 * the filesystem refuses O_DIRECT the backend says so and uses the page cache.
 *
 * Durability: FUA writes carry RWF_DSYNC; Flush is fdatasync (IORING_OP_FSYNC with
 * IORING_FSYNC_DATASYNC), which covers every write completed before it, whichever descriptor
 * wrote it. Nothing is acknowledged before the kernel said it is stable.
 *
 * Deallocate: files punch a hole (reads return zeroes, DLFEAT says so); block devices discard
 * (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_NO_HIDE_STALE, BLKDISCARD's fallocate form), advisory.
 * Write Zeroes: FALLOC_FL_ZERO_RANGE, else a hole (files), else plain writes of zeroes.
 * Short transfers are continued where they stopped; one that makes no progress is -ENODATA.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "devices/nvme/backend.h"
#include "devices/nvme/iothread.h"
#include "vmm/util.h"

#define ZERO_CHUNK (1u << 20) /* write-zeroes fallback: bytes per write */

enum stage {
	ST_RW,	       /* readv / writev */
	ST_PUNCH,      /* fallocate PUNCH_HOLE | KEEP_SIZE */
	ST_DISCARD,    /* block device: discard */
	ST_ZERO_RANGE, /* fallocate ZERO_RANGE | KEEP_SIZE */
	ST_ZERO_WRITE, /* writes from the zero buffer */
	ST_SYNC,       /* fdatasync */
};

struct file_be;

struct file_req {
	struct nvme_ring_op op; /* first: the ring hands it back */
	struct file_be *f;
	struct nvme_be_req *r;
	struct file_req *next; /* free list */
	enum stage stage;
	int fd;
	const struct iovec *iov; /* what is left to transfer */
	int iovcnt;
	struct iovec *iov_own; /* a copy once a short transfer advanced it */
	struct iovec bounce_iov;
	void *bounce;
	uint64_t off, left;
	bool sync_after; /* FUA on an fallocate-based write: fdatasync before done */
};

struct file_be {
	int fd;	       /* O_DIRECT when direct, else buffered */
	int fd_cached; /* buffered: misaligned requests; == fd when not direct */
	bool direct, blockdev;
	bool no_zero_range, no_punch;
	unsigned mem_align, off_align;
	struct nvme_ring *ring;
	struct file_req *free;
	void *zeroes;
};

static struct file_req *req_get(struct file_be *f)
{
	struct file_req *q = f->free;

	if (q) {
		f->free = q->next;
		return q;
	}
	q = calloc(1, sizeof(*q));
	if (q)
		q->f = f;
	return q;
}

static void req_put(struct file_be *f, struct file_req *q)
{
	free(q->iov_own);
	free(q->bounce);
	q->iov_own = NULL;
	q->bounce = NULL;
	q->next = f->free;
	f->free = q;
}

static void finish(struct file_req *q, int err)
{
	struct nvme_be_req *r = q->r;

	/* A read through the bounce buffer lands in the guest's buffers now. */
	if (!err && q->bounce && r->op == NVME_BE_READ)
		nvme_be_copy_iov(r, q->bounce, true);
	req_put(q->f, q);
	r->done(r, err);
}

static void file_req_done(struct nvme_ring_op *op, int res);

static void queue_stage(struct file_req *q)
{
	struct file_be *f = q->f;
	struct io_uring_sqe *sqe = nvme_ring_sqe(f->ring, &q->op);
	struct nvme_be_req *r = q->r;
	uint32_t n;

	switch (q->stage) {
	case ST_RW:
		if (r->op == NVME_BE_READ)
			io_uring_prep_readv(sqe, q->fd, q->iov, (unsigned)q->iovcnt, q->off);
		else
			io_uring_prep_writev2(sqe, q->fd, q->iov, (unsigned)q->iovcnt, q->off,
					      r->fua ? RWF_DSYNC : 0);
		f->ring->dsync_writes += r->op == NVME_BE_WRITE && r->fua;
		break;
	case ST_PUNCH:
		io_uring_prep_fallocate(sqe, f->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					q->off, q->left);
		break;
	case ST_DISCARD:
		io_uring_prep_fallocate(sqe, f->fd,
					FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE |
						FALLOC_FL_NO_HIDE_STALE,
					q->off, q->left);
		break;
	case ST_ZERO_RANGE:
		io_uring_prep_fallocate(sqe, f->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
					q->off, q->left);
		break;
	case ST_ZERO_WRITE:
		n = q->left < ZERO_CHUNK ? (uint32_t)q->left : ZERO_CHUNK;
		/* The zero buffer is aligned; offsets and lengths of whole LBAs may still not be
		 * for O_DIRECT: the buffered descriptor then. */
		io_uring_prep_write(sqe, (q->off | n) & (f->off_align - 1) ? f->fd_cached : f->fd,
				    f->zeroes, n, q->off);
		break;
	case ST_SYNC:
		io_uring_prep_fsync(sqe, f->fd, IORING_FSYNC_DATASYNC);
		f->ring->fsyncs++;
		break;
	}
}

/* What comes after a successful data-less stage. */
static void stage_next(struct file_req *q)
{
	if (q->sync_after) {
		q->sync_after = false;
		q->stage = ST_SYNC;
		queue_stage(q);
		return;
	}
	finish(q, 0);
}

static bool unsupported(int res)
{
	return res == -EOPNOTSUPP || res == -EINVAL || res == -ENOTTY;
}

/* Drop `n` transferred bytes from the front of q's vector. */
static int advance(struct file_req *q, uint64_t n)
{
	int i = 0, cnt;

	if (!q->iov_own) {
		q->iov_own = malloc(sizeof(*q->iov_own) * (size_t)q->iovcnt);
		if (!q->iov_own)
			return -ENOMEM;
		memcpy(q->iov_own, q->iov, sizeof(*q->iov_own) * (size_t)q->iovcnt);
		q->iov = q->iov_own;
	}
	while (n && n >= q->iov_own[i].iov_len)
		n -= q->iov_own[i++].iov_len;
	cnt = q->iovcnt - i;
	memmove(q->iov_own, q->iov_own + i, sizeof(*q->iov_own) * (size_t)cnt);
	q->iov_own[0].iov_base = (uint8_t *)q->iov_own[0].iov_base + n;
	q->iov_own[0].iov_len -= n;
	q->iovcnt = cnt;
	return 0;
}

static void file_req_done(struct nvme_ring_op *op, int res)
{
	struct file_req *q = (struct file_req *)op;
	struct file_be *f = q->f;

	if (res == -EINTR || res == -EAGAIN) {
		queue_stage(q);
		return;
	}
	switch (q->stage) {
	case ST_RW:
		if (res < 0) {
			finish(q, res);
		} else if ((uint64_t)res < q->left) {
			/* Short: go on from there, buffered (the rest may be misaligned). */
			if (res == 0 || advance(q, (uint64_t)res)) {
				finish(q, res == 0 ? -ENODATA : -ENOMEM);
				return;
			}
			q->off += (uint64_t)res;
			q->left -= (uint64_t)res;
			q->fd = f->fd_cached;
			queue_stage(q);
		} else {
			finish(q, 0);
		}
		return;
	case ST_DISCARD:
		finish(q, 0); /* advisory: DLFEAT promises nothing for block devices */
		return;
	case ST_PUNCH:
		if (unsupported(res)) {
			f->no_punch = true;
			q->stage = f->no_zero_range ? ST_ZERO_WRITE : ST_ZERO_RANGE;
			queue_stage(q);
		} else if (res < 0) {
			finish(q, res);
		} else {
			stage_next(q);
		}
		return;
	case ST_ZERO_RANGE:
		if (unsupported(res)) {
			f->no_zero_range = true;
			q->stage = !f->blockdev && !f->no_punch ? ST_PUNCH : ST_ZERO_WRITE;
			queue_stage(q);
		} else if (res < 0) {
			finish(q, res);
		} else {
			stage_next(q);
		}
		return;
	case ST_ZERO_WRITE:
		if (res <= 0) {
			finish(q, res ? res : -ENODATA);
			return;
		}
		q->off += (uint64_t)res;
		q->left -= (uint64_t)res;
		if (q->left)
			queue_stage(q);
		else
			stage_next(q);
		return;
	case ST_SYNC:
		finish(q, res < 0 ? res : 0);
		return;
	}
}

static bool iov_aligned(const struct iovec *iov, int n, unsigned align)
{
	for (int i = 0; i < n; i++)
		if (((uintptr_t)iov[i].iov_base | iov[i].iov_len) & (align - 1))
			return false;
	return true;
}

static int setup_rw(struct file_be *f, struct file_req *q, struct nvme_be_req *r)
{
	q->iov = r->iov;
	q->iovcnt = r->iovcnt;
	q->fd = f->fd_cached;
	if (!f->direct || ((r->offset | r->len) & (f->off_align - 1)))
		return 0;
	q->fd = f->fd;
	if (iov_aligned(r->iov, r->iovcnt, f->mem_align))
		return 0;
	/* Misaligned guest memory (PRP1 offset, SGL data blocks): bounce. */
	f->ring->bounced++;
	if (posix_memalign(&q->bounce, f->mem_align > 4096 ? f->mem_align : 4096, r->len))
		return -ENOMEM;
	if (r->op == NVME_BE_WRITE)
		nvme_be_copy_iov(r, q->bounce, false);
	q->bounce_iov = (struct iovec){.iov_base = q->bounce, .iov_len = r->len};
	q->iov = &q->bounce_iov;
	q->iovcnt = 1;
	return 0;
}

static int file_submit(struct nvme_backend *be, struct nvme_be_req *r)
{
	struct file_be *f = be->priv;
	struct file_req *q;

	if (r->offset > be->size || r->len > be->size - r->offset)
		return -EINVAL;
	q = req_get(f);
	if (!q)
		return -ENOMEM;
	q->op = (struct nvme_ring_op){.done = file_req_done, .counted = true};
	q->r = r;
	q->off = r->offset;
	q->left = r->len;
	q->sync_after = r->fua;
	switch (r->op) {
	case NVME_BE_READ:
	case NVME_BE_WRITE:
		q->stage = ST_RW;
		if (setup_rw(f, q, r)) {
			req_put(f, q);
			return -ENOMEM;
		}
		break;
	case NVME_BE_FLUSH:
		q->stage = ST_SYNC;
		break;
	case NVME_BE_DISCARD:
		if (f->blockdev) {
			q->stage = ST_DISCARD;
			break;
		}
		/* Files promise zeroes after deallocation (discard_zeroes). */
		q->stage = !f->no_punch	       ? ST_PUNCH
			   : !f->no_zero_range ? ST_ZERO_RANGE
					       : ST_ZERO_WRITE;
		break;
	case NVME_BE_WRITE_ZEROES:
		q->stage = !f->no_zero_range		  ? ST_ZERO_RANGE
			   : !f->blockdev && !f->no_punch ? ST_PUNCH
							  : ST_ZERO_WRITE;
		break;
	}
	if (!q->left && q->stage != ST_SYNC) {
		finish(q, 0);
		return 0;
	}
	queue_stage(q);
	return 0;
}

static void file_drain(struct nvme_backend *be)
{
	struct file_be *f = be->priv;

	nvme_ring_drain(f->ring);
}

/* O_DIRECT limits from statx (Linux 6.1+); conservative page-size values otherwise. */
static void dio_limits(struct file_be *f, const char *path)
{
	struct statx sx;

	f->mem_align = 4096;
	f->off_align = 4096;
#ifdef STATX_DIOALIGN
	if (!statx(f->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) &&
	    (sx.stx_mask & STATX_DIOALIGN) && sx.stx_dio_mem_align && sx.stx_dio_offset_align) {
		f->mem_align = sx.stx_dio_mem_align;
		f->off_align = sx.stx_dio_offset_align;
		return;
	}
#endif
	if (f->blockdev) {
		int lbs = 0;

		if (!ioctl(f->fd, BLKSSZGET, &lbs) && lbs > 0)
			f->off_align = (unsigned)lbs;
	}
}

static int fail(struct file_be *f, int ret)
{
	if (f->fd_cached >= 0 && f->fd_cached != f->fd)
		close(f->fd_cached);
	if (f->fd >= 0)
		close(f->fd);
	free(f->zeroes);
	free(f);
	return ret;
}

static int file_open(struct nvme_backend *be, const char *path, char *err, size_t errlen)
{
	struct file_be *f;
	struct stat st;
	bool direct;
	int flags = O_RDWR | O_CLOEXEC | (be->size ? O_CREAT : 0);

	if (!path || !*path) {
		snprintf(err, errlen, "file backend: no path");
		return -EINVAL;
	}
	if (be->cache && strcmp(be->cache, "none") && strcmp(be->cache, "writeback")) {
		snprintf(err, errlen,
			 "file backend: cache must be \"none\" or \"writeback\", not \"%s\"",
			 be->cache);
		return -EINVAL;
	}
	if (!be->ring) {
		snprintf(err, errlen, "file backend: no io_uring");
		return -EINVAL;
	}
	direct = !be->cache || !strcmp(be->cache, "none");
	f = calloc(1, sizeof(*f));
	if (!f) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	f->ring = be->ring;
	f->fd = f->fd_cached = open(path, flags, 0600);
	if (f->fd < 0) {
		snprintf(err, errlen, "file backend: %s: %s", path, strerror(errno));
		return fail(f, -errno);
	}
	if (fstat(f->fd, &st) || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
		snprintf(err, errlen, "file backend: %s: not a regular file or block device", path);
		return fail(f, -EINVAL);
	}
	f->blockdev = S_ISBLK(st.st_mode);
	if (direct) {
		int dfd = open(path, O_RDWR | O_CLOEXEC | O_DIRECT);

		if (dfd < 0) {
			pr_warn("file backend: %s: O_DIRECT refused (%s); using the host page "
				"cache",
				path, strerror(errno));
		} else {
			f->fd = dfd;
			f->direct = true;
		}
	}
	dio_limits(f, path);
	if (f->blockdev) {
		uint64_t bytes = 0;

		if (ioctl(f->fd, BLKGETSIZE64, &bytes)) {
			snprintf(err, errlen, "file backend: %s: BLKGETSIZE64: %s", path,
				 strerror(errno));
			return fail(f, -errno);
		}
		if (be->size > bytes) {
			snprintf(err, errlen,
				 "file backend: %s: %llu bytes, the namespace wants %llu", path,
				 (unsigned long long)bytes, (unsigned long long)be->size);
			return fail(f, -EINVAL);
		}
		if (!be->size)
			be->size = bytes;
	} else if (!be->size) {
		be->size = (uint64_t)st.st_size;
	} else if ((uint64_t)st.st_size < be->size && ftruncate(f->fd_cached, (off_t)be->size)) {
		snprintf(err, errlen, "file backend: %s: cannot grow to %llu bytes: %s", path,
			 (unsigned long long)be->size, strerror(errno));
		return fail(f, -errno);
	}
	if (posix_memalign(&f->zeroes, 4096, ZERO_CHUNK)) {
		snprintf(err, errlen, "out of memory");
		return fail(f, -ENOMEM);
	}
	memset(f->zeroes, 0, ZERO_CHUNK);
	be->discard_zeroes = !f->blockdev;
	be->priv = f;
	return 0;
}

static void file_close(struct nvme_backend *be)
{
	struct file_be *f = be->priv;

	while (f->free) {
		struct file_req *q = f->free;

		f->free = q->next;
		free(q);
	}
	fail(f, 0);
}

const struct nvme_backend_ops nvme_backend_file_ops = {
	.name = "file",
	.open = file_open,
	.close = file_close,
	.submit = file_submit,
	.drain = file_drain,
};
