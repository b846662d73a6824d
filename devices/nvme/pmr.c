/* SPDX-License-Identifier: MIT */
/* Persistent Memory Region: the BAR4 file mapping and the PMR registers (see pmr.h). */
#include "devices/nvme/pmr.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/nvme/internal.h"
#include "vmm/util.h"

#define PMR_OFF AS_OFF

/* The memory space DMA reaches: the latched base while the file is mapped, else nothing. */
static void pmr_publish(struct nvme_ctrl *c, struct nvme_pmr *pmr)
{
	uint64_t base = pmr->enabled ? pmr->base : AS_OFF;

	__atomic_store_n(&c->mem_space[NVME_MEM_PMR].base, base, __ATOMIC_RELEASE);
}

static int pmr_open(struct nvme_ctrl *c, const char *path, uint64_t *size, char *err, size_t errlen)
{
	struct stat st;
	int fd, e;

	/* Without a size there is nothing to create the file with. */
	fd = open(path, O_RDWR | O_CLOEXEC | (*size ? O_CREAT : 0), 0600);
	if (fd < 0) {
		e = errno;
		snprintf(err, errlen, "%s: pmr file %s: %s%s", c->name, path, strerror(e),
			 e == ENOENT && !*size ? " (set pmr_size to create it)" : "");
		return -e;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		e = errno;
		snprintf(err, errlen, "%s: pmr file %s: %s", c->name, path,
			 e == EWOULDBLOCK ? "in use by another process" : strerror(e));
		goto fail;
	}
	if (fstat(fd, &st)) {
		e = errno;
		snprintf(err, errlen, "%s: pmr file %s: %s", c->name, path, strerror(e));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		e = EINVAL;
		snprintf(err, errlen, "%s: pmr file %s is not a regular file", c->name, path);
		goto fail;
	}
	if (*size == 0)
		*size = (uint64_t)st.st_size;
	if (!IS_POW2(*size) || *size < NVME_PMR_MIN_SIZE || *size > NVME_PMR_MAX_SIZE) {
		e = EINVAL;
		snprintf(err, errlen,
			 "%s: pmr size %llu must be a power of two from 4 KiB to 64 GiB "
			 "(set pmr_size, or give an existing file of such a size)",
			 c->name, (unsigned long long)*size);
		goto fail;
	}
	if (st.st_size != 0 && (uint64_t)st.st_size != *size) {
		e = EINVAL;
		snprintf(err, errlen,
			 "%s: pmr file %s holds %llu bytes but pmr_size is %llu: refusing to "
			 "truncate or extend persistent data",
			 c->name, path, (unsigned long long)st.st_size, (unsigned long long)*size);
		goto fail;
	}
	if (st.st_size == 0 && ftruncate(fd, (off_t)*size)) {
		e = errno;
		snprintf(err, errlen, "%s: pmr file %s: %s", c->name, path, strerror(e));
		goto fail;
	}
	/* Allocate every block now: a full disk later would SIGBUS a guest store. */
	e = posix_fallocate(fd, 0, (off_t)*size);
	if (e && e != EOPNOTSUPP && e != EINVAL) {
		snprintf(err, errlen, "%s: pmr file %s: cannot allocate %llu bytes: %s", c->name,
			 path, (unsigned long long)*size, strerror(e));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -e;
}

static uint32_t pmr_timeout(uint64_t size)
{
	uint64_t to = 2 + size / (64ULL << 20); /* 500 ms units: flush at 128 MiB/s */

	return to > 255 ? 255 : (uint32_t)to;
}

int nvme_pmr_init(struct nvme_ctrl *c, const struct nvme_ctrl_config *cfg, char *err, size_t errlen)
{
	struct nvme_pmr *pmr;
	uint64_t size = cfg->pmr_size;
	int fd;

	if (!cfg->pmr_path) {
		if (size) {
			snprintf(err, errlen, "%s: pmr_size given without a pmr file", c->name);
			return -EINVAL;
		}
		return 0;
	}
	if (size && (!IS_POW2(size) || size < NVME_PMR_MIN_SIZE || size > NVME_PMR_MAX_SIZE)) {
		snprintf(err, errlen,
			 "%s: pmr size %llu must be a power of two from 4 KiB to 64 GiB", c->name,
			 (unsigned long long)size);
		return -EINVAL;
	}
	fd = pmr_open(c, cfg->pmr_path, &size, err, errlen);
	if (fd < 0)
		return fd;
	pmr = calloc(1, sizeof(*pmr));
	if (!pmr) {
		close(fd);
		snprintf(err, errlen, "%s: out of memory", c->name);
		return -ENOMEM;
	}
	pmr->ram = mmap(NULL, size, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (pmr->ram == MAP_FAILED) {
		int e = errno;

		close(fd);
		free(pmr);
		snprintf(err, errlen, "%s: cannot reserve %llu bytes for the PMR: %s", c->name,
			 (unsigned long long)size, strerror(e));
		return -e;
	}
	pmr->fd = fd;
	pmr->size = size;
	pmr->base = PMR_OFF;
	c->mem_space[NVME_MEM_PMR] =
		(struct as_region){.base = AS_OFF, .size = size, .hva = pmr->ram};
	pmr->pmrcap = NVME_PMRCAP_RDS | NVME_PMRCAP_WDS | NVME_PMRCAP_BIR(NVME_PMR_BIR) |
		      NVME_PMRCAP_PMRTU(0) | NVME_PMRCAP_PMRWBM(2) |
		      NVME_PMRCAP_PMRTO(pmr_timeout(size)) | NVME_PMRCAP_CMSS;
	pmr->pmrsts = NVME_PMRSTS_NRDY;
	if (size >= (1ULL << 20))
		pmr->pmrebs = NVME_PMREBS_PMRSZU(2) | NVME_PMREBS_PMRWBZ(size >> 20);
	else
		pmr->pmrebs = NVME_PMREBS_PMRSZU(1) | NVME_PMREBS_PMRWBZ(size >> 10);
	pmr->pmrebs |= NVME_PMREBS_RBB;
	pmr->pmrswtp = NVME_PMRSWTP_PMRSWTU(3) | NVME_PMRSWTP_PMRSWTV(1);
	c->pmr = pmr;
	c->cap |= NVME_CAP_PMRS;
	return 0;
}

static void pmr_error(struct nvme_ctrl *c, struct nvme_pmr *pmr, unsigned hsts, const char *what,
		      int e)
{
	pr_ratelimited("%s: PMR %s: %s", c->name, what, strerror(e));
	pmr->pmrsts = (pmr->pmrsts & ~(NVME_PMRSTS_ERR(0xff) | NVME_PMRSTS_HSTS_MASK)) |
		      NVME_PMRSTS_ERR(1) | NVME_PMRSTS_HSTS(hsts);
}

void nvme_pmr_persist(struct nvme_ctrl *c)
{
	struct nvme_pmr *pmr = c->pmr;

	if (!pmr || !pmr->enabled)
		return;
	pmr->persists++;
	if (msync(pmr->ram, pmr->size, MS_SYNC))
		pmr_error(c, pmr, NVME_PMR_HSTS_UNRELIABLE, "flush failed", errno);
}

/* 3.1.19: EN 0 -> 1. The host range switches from scratch to the file. */
static void pmr_enable(struct nvme_ctrl *c, struct nvme_pmr *pmr)
{
	struct stat st;
	void *p;

	if (fstat(pmr->fd, &st) || (uint64_t)st.st_size < pmr->size) {
		/* Shrunk behind our back: mapping it would SIGBUS on the first store. */
		pmr_error(c, pmr, NVME_PMR_HSTS_RESTORE_ERR, "file shorter than the region", EIO);
		return;
	}
	p = mmap(pmr->ram, pmr->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, pmr->fd, 0);
	if (p == MAP_FAILED) {
		pmr_error(c, pmr, NVME_PMR_HSTS_RESTORE_ERR, "cannot map the file", errno);
		return;
	}
	pmr->enabled = true;
	pmr_publish(c, pmr);
	pmr->pmrsts &= ~(NVME_PMRSTS_NRDY | NVME_PMRSTS_ERR(0xff) | NVME_PMRSTS_HSTS_MASK);
}

/* EN 1 -> 0: flush, then scratch pages (MAP_FIXED keeps the address the BAR maps). */
static void pmr_disable(struct nvme_ctrl *c, struct nvme_pmr *pmr)
{
	void *p;

	nvme_pmr_persist(c);
	/* DMA stops reaching the file before the scratch pages replace it */
	__atomic_store_n(&c->mem_space[NVME_MEM_PMR].base, AS_OFF, __ATOMIC_RELEASE);
	p = mmap(pmr->ram, pmr->size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		pmr_error(c, pmr, pmr->pmrsts & NVME_PMRSTS_HSTS_MASK, "cannot unmap the file",
			  errno);
	else
		pmr->enabled = false;
	pmr_publish(c, pmr);
	pmr->pmrsts |= NVME_PMRSTS_NRDY;
}

void nvme_pmr_fini(struct nvme_ctrl *c)
{
	struct nvme_pmr *pmr = c->pmr;

	if (!pmr)
		return;
	nvme_pmr_persist(c);
	c->mem_space[NVME_MEM_PMR] = (struct as_region){.base = AS_OFF};
	munmap(pmr->ram, pmr->size);
	close(pmr->fd);
	free(pmr);
	c->pmr = NULL;
}

uint32_t nvme_pmr_reg_read(struct nvme_ctrl *c, uint64_t off)
{
	struct nvme_pmr *pmr = c->pmr;

	if (!pmr)
		return 0; /* CAP.PMRS = 0: reserved */
	switch (off) {
	case NVME_REG_PMRCAP:
		return pmr->pmrcap;
	case NVME_REG_PMRCTL:
		return pmr->pmrctl;
	case NVME_REG_PMRSTS:
		/* PMRWBM bit 1: completing this read makes prior PMR writes persistent. */
		nvme_pmr_persist(c);
		return pmr->pmrsts;
	case NVME_REG_PMREBS:
		return pmr->pmrebs;
	case NVME_REG_PMRSWTP:
		return pmr->pmrswtp;
	case NVME_REG_PMRMSCL:
		return pmr->pmrmscl;
	case NVME_REG_PMRMSCU:
		return pmr->pmrmscu;
	}
	return 0;
}

/* 3.1.23: latch CBA while CMSE is set, or report it invalid. */
static void pmr_latch(struct nvme_ctrl *c, struct nvme_pmr *pmr)
{
	uint64_t cba = (uint64_t)pmr->pmrmscu << 32 | (pmr->pmrmscl & NVME_PMRMSCL_CBA_MASK), end;

	if (!(pmr->pmrmscl & NVME_PMRMSCL_CMSE)) {
		pmr->base = PMR_OFF;
		pmr_publish(c, pmr);
		return;
	}
	if (__builtin_add_overflow(cba, pmr->size - 1, &end) || (cba & (pmr->size - 1))) {
		pr_ratelimited("%s: PMRMSC.CBA 0x%llx invalid for a %llu-byte PMR", c->name,
			       (unsigned long long)cba, (unsigned long long)pmr->size);
		pmr->pmrsts |= NVME_PMRSTS_CBAI;
		pmr->base = PMR_OFF;
		pmr_publish(c, pmr);
		return;
	}
	pmr->pmrsts &= ~NVME_PMRSTS_CBAI;
	pmr->base = cba;
	pmr_publish(c, pmr);
}

void nvme_pmr_reg_write(struct nvme_ctrl *c, uint64_t off, uint32_t val)
{
	struct nvme_pmr *pmr = c->pmr;

	if (!pmr)
		return;
	switch (off) {
	case NVME_REG_PMRCTL:
		if ((val & NVME_PMRCTL_EN) && !pmr->enabled)
			pmr_enable(c, pmr);
		else if (!(val & NVME_PMRCTL_EN) && pmr->enabled)
			pmr_disable(c, pmr);
		pmr->pmrctl = val & NVME_PMRCTL_EN;
		return;
	case NVME_REG_PMRMSCL:
		pmr->pmrmscl = val & (NVME_PMRMSCL_CBA_MASK | NVME_PMRMSCL_CMSE);
		pmr_latch(c, pmr);
		return;
	case NVME_REG_PMRMSCU:
		pmr->pmrmscu = val;
		pmr_latch(c, pmr);
		return;
	default:
		pr_ratelimited("%s: write to read-only PMR register 0x%llx", c->name,
			       (unsigned long long)off);
	}
}

void *nvme_pmr_ram(struct nvme_ctrl *c, uint64_t *size)
{
	*size = c->pmr ? c->pmr->size : 0;
	return c->pmr ? c->pmr->ram : NULL;
}
