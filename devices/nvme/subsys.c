/* SPDX-License-Identifier: MIT */
/*
 * NVM subsystems shared by several controllers (subsys.h): the subsystem's identity, CNTLID
 * allocation, and the "ram" storage of shared namespaces. One mapping per namespace NSID,
 * created by the first controller that opens it and unmapped with the subsystem. Requests
 * of every controller's thread run against it under the namespace's rwlock, so a write is
 * atomic against reads and writes through other paths (NVMe 2.0 3.4.3 AWUN: Linux assumes
 * at least one logical block), never a torn mix.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "devices/nvme/internal.h"
#include "devices/nvme/subsys.h"
#include "vmm/util.h"

struct nvme_subsys_ns {
	void *mem; /* NULL until the first controller opens it */
	uint64_t size;
	pthread_rwlock_t rw;
	struct nvme_resv resv; /* resv.c, under the subsystem lock */
};

struct nvme_subsys {
	pthread_mutex_t lock;
	char name[33], subnqn[224], serial[21];
	uint16_t next_cntlid;
	unsigned nctrl;
	struct nvme_subsys_ns ns[NVME_MAX_NAMESPACES];
};

static unsigned subsys_instances;

struct nvme_subsys *nvme_subsys_create(const char *name, const char *subnqn, const char *serial,
				       char *err, size_t errlen)
{
	struct nvme_subsys *s;

	/* 5.27.1 (Identify SUBNQN): a UTF-8 NQN of at most 223 bytes, NUL terminated. */
	if (!name || !name[0] || strlen(name) > 32 ||
	    (subnqn && (!subnqn[0] || strlen(subnqn) > 223)) ||
	    (serial && (!serial[0] || strlen(serial) > 20))) {
		snprintf(err, errlen,
			 "nvme subsystem: name 1..32, subnqn 1..223, serial 1..20 "
			 "characters");
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "nvme subsystem: out of memory");
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	for (unsigned i = 0; i < NVME_MAX_NAMESPACES; i++)
		pthread_rwlock_init(&s->ns[i].rw, NULL);
	snprintf(s->name, sizeof(s->name), "%s", name);
	if (subnqn)
		snprintf(s->subnqn, sizeof(s->subnqn), "%s", subnqn);
	else
		snprintf(s->subnqn, sizeof(s->subnqn), "nqn.2024-01.org.vmm:subsys:%s", name);
	if (serial)
		snprintf(s->serial, sizeof(s->serial), "%s", serial);
	else
		snprintf(s->serial, sizeof(s->serial), "VMMS%07u",
			 __atomic_fetch_add(&subsys_instances, 1, __ATOMIC_RELAXED));
	s->next_cntlid = 1;
	return s;
}

void nvme_subsys_destroy(struct nvme_subsys *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < NVME_MAX_NAMESPACES; i++) {
		if (s->ns[i].mem)
			munmap(s->ns[i].mem, s->ns[i].size);
		pthread_rwlock_destroy(&s->ns[i].rw);
	}
	pthread_mutex_destroy(&s->lock);
	free(s);
}

const char *nvme_subsys_name(const struct nvme_subsys *s)
{
	return s->name;
}

const char *nvme_subsys_subnqn(const struct nvme_subsys *s)
{
	return s->subnqn;
}

const char *nvme_subsys_serial(const struct nvme_subsys *s)
{
	return s->serial;
}

struct nvme_resv *nvme_subsys_resv(struct nvme_subsys *s, uint32_t nsid)
{
	return &s->ns[nsid - 1].resv; /* nsid: an allocated namespace, 1..NVME_MAX_NAMESPACES */
}

void nvme_subsys_lock(struct nvme_subsys *s)
{
	pthread_mutex_lock(&s->lock);
}

void nvme_subsys_unlock(struct nvme_subsys *s)
{
	pthread_mutex_unlock(&s->lock);
}

/* Linux nvme_validate_cntlid refuses a second controller with the same CNTLID. */
int nvme_subsys_add_ctrl(struct nvme_subsys *s, uint16_t *cntlid)
{
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	if (s->nctrl == NVME_SUBSYS_MAX_CTRL) {
		ret = -ENOSPC;
	} else {
		s->nctrl++;
		*cntlid = s->next_cntlid++;
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* ---- the shared "ram" backend ---- */

static int sram_submit(struct nvme_backend *be, struct nvme_be_req *r)
{
	struct nvme_subsys_ns *sn = be->priv;
	uint8_t *p = (uint8_t *)sn->mem + r->offset;

	if (r->offset > be->size || r->len > be->size - r->offset)
		return -EINVAL;
	if (r->op == NVME_BE_READ)
		pthread_rwlock_rdlock(&sn->rw);
	else
		pthread_rwlock_wrlock(&sn->rw);
	switch (r->op) {
	case NVME_BE_READ:
	case NVME_BE_WRITE:
		nvme_be_copy_iov(r, p, r->op == NVME_BE_READ);
		break;
	case NVME_BE_DISCARD:
	case NVME_BE_WRITE_ZEROES:
		/* Not MADV_DONTNEED: the mapping is shared by the paths, zero it in place. */
		memset(p, 0, r->len);
		break;
	case NVME_BE_FLUSH:
		break;
	}
	pthread_rwlock_unlock(&sn->rw);
	r->done(r, 0);
	return 0;
}

static void sram_close(struct nvme_backend *be)
{
	/* The subsystem owns the mapping (nvme_subsys_destroy). */
}

static const struct nvme_backend_ops sram_ops = {
	.name = "ram",
	.close = sram_close,
	.submit = sram_submit,
};

int nvme_subsys_open_ram(struct nvme_subsys *s, uint32_t nsid, uint64_t size,
			 struct nvme_backend *be, char *err, size_t errlen)
{
	struct nvme_subsys_ns *sn;
	int ret = 0;

	if (nsid == 0 || nsid > NVME_MAX_NAMESPACES || !size) {
		snprintf(err, errlen, "ram backend: the namespace needs a size");
		return -EINVAL;
	}
	sn = &s->ns[nsid - 1];
	pthread_mutex_lock(&s->lock);
	if (!sn->mem) {
		void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

		if (p == MAP_FAILED) {
			snprintf(err, errlen, "ram backend: cannot map %llu bytes: %s",
				 (unsigned long long)size, strerror(errno));
			ret = -ENOMEM;
		} else {
			sn->mem = p;
			sn->size = size;
		}
	} else if (sn->size != size) {
		snprintf(err, errlen, "shared namespace %u: size differs between controllers",
			 nsid);
		ret = -EINVAL;
	}
	pthread_mutex_unlock(&s->lock);
	if (ret)
		return ret;
	memset(be, 0, sizeof(*be));
	be->ops = &sram_ops;
	be->priv = sn;
	be->size = size;
	be->discard_zeroes = true;
	return 0;
}
