/* SPDX-License-Identifier: MIT */
/*
 * Namespace storage backends. The interface is asynchronous so an io_uring backend fits:
 * submit() queues a request and its done() callback runs later (on the controller's I/O
 * thread, with the controller lock held) or inline before submit() returns (ram, null).
 *
 *   ram:  the namespace lives in anonymous memory of the namespace size; reads of never
 *         written or deallocated blocks return zeroes.
 *   null: no storage and no data movement: writes are dropped and reads leave the guest
 *         buffer untouched, so it measures the cost of the emulation alone.
 *   file: a regular file or block device through the controller's io_uring
 *         (backend_file.c); O_DIRECT unless cache = "writeback".
 *
 * done(err): 0, or a negative errno the controller turns into a status (io.c):
 * -EIO, -ENOSPC, -EDQUOT: media (Unrecovered Read Error / Write Fault); -ENODATA: a transfer
 * that stopped short without an error (Data Transfer Error); anything else: Internal Error.
 */
#ifndef NVME_BACKEND_H
#define NVME_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

enum nvme_be_op {
	NVME_BE_READ,
	NVME_BE_WRITE,
	NVME_BE_FLUSH,	      /* make completed writes durable (fsync) */
	NVME_BE_DISCARD,      /* deallocate [offset, offset+len) */
	NVME_BE_WRITE_ZEROES, /* [offset, offset+len) reads back as zeroes */
};

struct nvme_be_req {
	enum nvme_be_op op;
	const struct iovec *iov; /* READ/WRITE only */
	int iovcnt;
	uint64_t offset, len; /* bytes */
	bool fua;	      /* WRITE: durable before done() (NVMe 1.4 6.15 FUA) */
	/* err: 0 or a negative errno. */
	void (*done)(struct nvme_be_req *r, int err);
	void *opaque;
};

struct nvme_backend;
struct nvme_ring;

struct nvme_backend_ops {
	const char *name;
	/* Set be->priv; be->size is the namespace size in bytes (0: the backend sets it from its
	 * storage, or fails). 0 or -errno with a message. */
	int (*open)(struct nvme_backend *be, const char *path, char *err, size_t errlen);
	void (*close)(struct nvme_backend *be);
	/* 0: done() will run (maybe already ran); <0: not queued, done() never runs. */
	int (*submit)(struct nvme_backend *be, struct nvme_be_req *r);
	/* Wait until every submitted request's done() ran. Optional (NULL: nothing in flight). */
	void (*drain)(struct nvme_backend *be);
};

struct nvme_backend {
	const struct nvme_backend_ops *ops;
	void *priv;
	uint64_t size;
	bool discard_zeroes;	/* deallocated blocks read as zeroes (Identify NS DLFEAT) */
	struct nvme_ring *ring; /* the controller's io_uring (iothread.h), lock held to use */
	const char *cache;	/* file: "none" / "writeback"; NULL: "none" */
};

struct nvme_backend_args {
	const char *name; /* registry name */
	const char *path;
	const char *cache;
	uint64_t size; /* bytes; 0: from the storage (file) */
	struct nvme_ring *ring;
};

/* A READ/WRITE request's bytes between its iov and one contiguous buffer p (to_iov: p into
 * the iov, a read; else the iov into p, a write). For backends that hold the data in
 * memory or bounce it. */
void nvme_be_copy_iov(const struct nvme_be_req *r, uint8_t *p, bool to_iov);

/* The registry: NULL for an unknown name. */
const struct nvme_backend_ops *nvme_backend_find(const char *name);
int nvme_backend_open(struct nvme_backend *be, const struct nvme_backend_args *a, char *err,
		      size_t errlen);
void nvme_backend_close(struct nvme_backend *be);

extern const struct nvme_backend_ops nvme_backend_ram_ops, nvme_backend_null_ops,
	nvme_backend_file_ops;

#endif
