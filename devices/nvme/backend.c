/* SPDX-License-Identifier: MIT */
/* Backend registry and the two in-memory backends: ram and null (see backend.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "devices/nvme/backend.h"

static const struct nvme_backend_ops *const backends[] = {
	&nvme_backend_ram_ops,
	&nvme_backend_null_ops,
	&nvme_backend_file_ops,
};

const struct nvme_backend_ops *nvme_backend_find(const char *name)
{
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (!strcmp(backends[i]->name, name))
			return backends[i];
	return NULL;
}

int nvme_backend_open(struct nvme_backend *be, const struct nvme_backend_args *a, char *err,
		      size_t errlen)
{
	const struct nvme_backend_ops *ops = nvme_backend_find(a->name);
	int ret;

	memset(be, 0, sizeof(*be));
	if (!ops) {
		snprintf(err, errlen, "unknown nvme backend '%s'", a->name);
		return -EINVAL;
	}
	be->size = a->size;
	be->ring = a->ring;
	be->cache = a->cache;
	ret = ops->open(be, a->path, err, errlen);
	if (!ret)
		be->ops = ops; /* closed (and drained) only once open */
	return ret;
}

void nvme_backend_close(struct nvme_backend *be)
{
	if (be->ops) {
		if (be->ops->drain)
			be->ops->drain(be);
		be->ops->close(be);
	}
	be->ops = NULL;
}

/* ---- ram ---- */

static int ram_open(struct nvme_backend *be, const char *path, char *err, size_t errlen)
{
	void *p;

	if (!be->size) {
		snprintf(err, errlen, "ram backend: the namespace needs a size");
		return -EINVAL;
	}
	/* Anonymous mapping: untouched pages cost nothing and read as zeroes. */
	p = mmap(NULL, be->size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED) {
		snprintf(err, errlen, "ram backend: cannot map %llu bytes: %s",
			 (unsigned long long)be->size, strerror(errno));
		return -ENOMEM;
	}
	be->priv = p;
	be->discard_zeroes = true;
	return 0;
}

static void ram_close(struct nvme_backend *be)
{
	munmap(be->priv, be->size);
}

static void ram_zero(struct nvme_backend *be, uint64_t off, uint64_t len)
{
	uint8_t *base = be->priv;
	uint64_t page = 4096;
	uint64_t start = (off + page - 1) & ~(page - 1), end = (off + len) & ~(page - 1);

	/* Give whole pages back to the kernel; they read as zeroes afterwards. */
	if (start < end && !madvise(base + start, end - start, MADV_DONTNEED)) {
		memset(base + off, 0, start - off);
		memset(base + end, 0, off + len - end);
		return;
	}
	memset(base + off, 0, len);
}

void nvme_be_copy_iov(const struct nvme_be_req *r, uint8_t *p, bool to_iov)
{
	for (int i = 0; i < r->iovcnt; i++) {
		if (to_iov)
			memcpy(r->iov[i].iov_base, p, r->iov[i].iov_len);
		else
			memcpy(p, r->iov[i].iov_base, r->iov[i].iov_len);
		p += r->iov[i].iov_len;
	}
}

static int ram_submit(struct nvme_backend *be, struct nvme_be_req *r)
{
	uint8_t *p = (uint8_t *)be->priv + r->offset;

	if (r->offset > be->size || r->len > be->size - r->offset)
		return -EINVAL;
	switch (r->op) {
	case NVME_BE_READ:
	case NVME_BE_WRITE:
		nvme_be_copy_iov(r, p, r->op == NVME_BE_READ);
		break;
	case NVME_BE_DISCARD:
	case NVME_BE_WRITE_ZEROES:
		ram_zero(be, r->offset, r->len);
		break;
	case NVME_BE_FLUSH:
		break;
	}
	r->done(r, 0);
	return 0;
}

const struct nvme_backend_ops nvme_backend_ram_ops = {
	.name = "ram",
	.open = ram_open,
	.close = ram_close,
	.submit = ram_submit,
};

/* ---- null ---- */

static int null_open(struct nvme_backend *be, const char *path, char *err, size_t errlen)
{
	if (!be->size) {
		snprintf(err, errlen, "null backend: the namespace needs a size");
		return -EINVAL;
	}
	return 0;
}

static void null_close(struct nvme_backend *be)
{
}

static int null_submit(struct nvme_backend *be, struct nvme_be_req *r)
{
	r->done(r, 0);
	return 0;
}

const struct nvme_backend_ops nvme_backend_null_ops = {
	.name = "null",
	.open = null_open,
	.close = null_close,
	.submit = null_submit,
};
