/* SPDX-License-Identifier: MIT */
/* Controller Memory Buffer: BAR2 memory and the CMBLOC/CMBSZ/CMBMSC/CMBSTS registers. */
#include "devices/nvme/cmb.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "devices/nvme/internal.h"
#include "devices/nvme/pmr.h"
#include "vmm/util.h"

uint32_t nvme_cmbsz_encode(uint64_t size)
{
	unsigned szu = 0;

	/* 3.1.12: SZ (20 bits) in units of 4 KiB * 16^SZU; the largest unit dividing size. */
	while (szu < 6 && !(size & ((1ULL << (12 + 4 * (szu + 1))) - 1)))
		szu++;
	return NVME_CMBSZ_SQS | NVME_CMBSZ_CQS | NVME_CMBSZ_LISTS | NVME_CMBSZ_RDS |
	       NVME_CMBSZ_WDS | NVME_CMBSZ_SZU(szu) |
	       NVME_CMBSZ_SZ((uint32_t)(size >> (12 + 4 * szu)));
}

int nvme_cmb_init(struct nvme_ctrl *c, const struct nvme_ctrl_config *cfg, char *err, size_t errlen)
{
	struct nvme_cmb *cmb;
	uint64_t size = cfg->cmb_size;

	if (!size)
		return 0;
	if (!IS_POW2(size) || size < NVME_CMB_MIN_SIZE || size > NVME_CMB_MAX_SIZE) {
		snprintf(err, errlen,
			 "%s: cmb size %llu must be a power of two from 2 MiB to 64 GiB (Linux "
			 "ignores a smaller or unaligned CMB)",
			 c->name, (unsigned long long)size);
		return -EINVAL;
	}
	cmb = calloc(1, sizeof(*cmb));
	if (!cmb) {
		snprintf(err, errlen, "%s: out of memory", c->name);
		return -ENOMEM;
	}
	/* Shared so a KVM memslot and the controller see the same pages; NORESERVE because a
	 * guest rarely touches all of it. */
	cmb->ram = mmap(NULL, size, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (cmb->ram == MAP_FAILED) {
		int e = errno;

		free(cmb);
		snprintf(err, errlen, "%s: cannot allocate a %llu-byte CMB: %s", c->name,
			 (unsigned long long)size, strerror(e));
		return -e;
	}
	cmb->size = size;
	cmb->cmbloc = NVME_CMBLOC_BIR(NVME_CMB_BIR) | NVME_CMBLOC_CQMMS | NVME_CMBLOC_CQPDS |
		      NVME_CMBLOC_CDPMLS | NVME_CMBLOC_CDPCILS | NVME_CMBLOC_CDMMMS |
		      NVME_CMBLOC_OFST(0);
	cmb->cmbsz = nvme_cmbsz_encode(size);
	c->mem_space[NVME_MEM_CMB] =
		(struct as_region){.base = AS_OFF, .size = size, .hva = cmb->ram};
	c->cmb = cmb;
	c->cap |= NVME_CAP_CMBS;
	return 0;
}

void nvme_cmb_fini(struct nvme_ctrl *c)
{
	if (!c->cmb)
		return;
	c->mem_space[NVME_MEM_CMB] = (struct as_region){.base = AS_OFF};
	munmap(c->cmb->ram, c->cmb->size);
	free(c->cmb);
	c->cmb = NULL;
}

uint64_t nvme_cmb_reg_read(struct nvme_ctrl *c, uint64_t off)
{
	struct nvme_cmb *cmb = c->cmb;
	bool cre;

	if (!cmb)
		return 0; /* CAP.CMBS = 0: the registers are reserved */
	cre = cmb->cmbmsc & NVME_CMBMSC_CRE;
	switch (off) {
	case NVME_REG_CMBLOC:
		return cre ? cmb->cmbloc : 0;
	case NVME_REG_CMBSZ:
		return cre ? cmb->cmbsz : 0;
	case NVME_REG_CMBMSC:
		return cmb->cmbmsc;
	case NVME_REG_CMBSTS:
		return cmb->cmbsts;
	}
	return 0;
}

/* 3.1.16: CBA is meaningful only with CRE and CMSE set; latch it, or report it invalid. */
static void cmb_latch(struct nvme_ctrl *c, struct nvme_cmb *cmb)
{
	uint64_t cba = cmb->cmbmsc & NVME_CMBMSC_CBA_MASK, end;
	uint64_t want = NVME_CMBMSC_CRE | NVME_CMBMSC_CMSE;

	if ((cmb->cmbmsc & want) != want) {
		__atomic_store_n(&c->mem_space[NVME_MEM_CMB].base, AS_OFF, __ATOMIC_RELEASE);
		return;
	}
	if (__builtin_add_overflow(cba, cmb->size - 1, &end) || (cba & (cmb->size - 1))) {
		pr_ratelimited("%s: CMBMSC.CBA 0x%llx invalid for a %llu-byte CMB", c->name,
			       (unsigned long long)cba, (unsigned long long)cmb->size);
		cmb->cmbsts |= NVME_CMBSTS_CBAI;
		__atomic_store_n(&c->mem_space[NVME_MEM_CMB].base, AS_OFF, __ATOMIC_RELEASE);
		return;
	}
	cmb->cmbsts &= ~NVME_CMBSTS_CBAI;
	__atomic_store_n(&c->mem_space[NVME_MEM_CMB].base, cba, __ATOMIC_RELEASE);
}

void nvme_cmb_reg_write(struct nvme_ctrl *c, uint64_t off, uint64_t val, unsigned size)
{
	struct nvme_cmb *cmb = c->cmb;
	uint64_t v;

	if (!cmb || (off & ~7ULL) != NVME_REG_CMBMSC) {
		pr_ratelimited("%s: write to read-only CMB register 0x%llx", c->name,
			       (unsigned long long)off);
		return;
	}
	v = cmb->cmbmsc;
	if (size == 8)
		v = val;
	else if (off & 4)
		v = (v & 0xffffffffULL) | val << 32;
	else
		v = (v & ~0xffffffffULL) | (uint32_t)val;
	cmb->cmbmsc = v & (NVME_CMBMSC_CBA_MASK | NVME_CMBMSC_CRE | NVME_CMBMSC_CMSE);
	cmb_latch(c, cmb);
}

void *nvme_cmb_ram(struct nvme_ctrl *c, uint64_t *size)
{
	*size = c->cmb ? c->cmb->size : 0;
	return c->cmb ? c->cmb->ram : NULL;
}

void *nvme_ctrl_mem_map(struct nvme_ctrl *c, uint64_t addr, uint64_t len)
{
	return as_map_regions(c->mem_space, NVME_NR_MEM_SPACES, addr, len);
}

const struct as_region *nvme_ctrl_mem_space(struct nvme_ctrl *c, int *n)
{
	*n = NVME_NR_MEM_SPACES;
	return c->mem_space;
}
