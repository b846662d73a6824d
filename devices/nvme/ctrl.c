/* SPDX-License-Identifier: MIT */
/* NVMe controller object: creation, BAR0 registers (NVMe 1.4 3.1), enable, reset, shutdown. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/nvme/cmb.h"
#include "devices/nvme/internal.h"
#include "devices/nvme/iothread.h"
#include "devices/nvme/pmr.h"
#include "vmm/util.h"

#define CAP_TO_500MS 20 /* CAP.TO: 10 s until CSTS.RDY follows CC.EN */
#define MPSMAX	     4	/* 64 KiB pages */

static unsigned nvme_instances;

bool nvme_ctrl_ready(const struct nvme_ctrl *c)
{
	return (c->csts & (NVME_CSTS_RDY | NVME_CSTS_CFS)) == NVME_CSTS_RDY;
}

/* 3.1.6: CSTS.CFS reports an error the controller cannot put in a completion queue. */
void nvme_ctrl_fatal(struct nvme_ctrl *c, const char *why)
{
	pr_ratelimited("%s: controller fatal status: %s", c->name, why);
	c->csts |= NVME_CSTS_CFS;
}

static void copy_padded(char *dst, size_t n, const char *src)
{
	/* Identify strings are space padded, not NUL terminated (5.15.2.2). */
	memset(dst, ' ', n);
	dst[n] = 0;
	memcpy(dst, src, strnlen(src, n));
}

static int check_config(const struct nvme_ctrl_config *cfg, char *err, size_t errlen)
{
	if (cfg->mqes > 0xffff || cfg->max_queues > 0xffff) {
		snprintf(err, errlen, "nvme: mqes and max_queues must be at most 65535");
		return -EINVAL;
	}
	if (cfg->mdts_kib &&
	    (!IS_POW2(cfg->mdts_kib) || cfg->mdts_kib < 4 || cfg->mdts_kib > 2048)) {
		snprintf(err, errlen, "nvme: mdts_kib must be a power of two in 4..2048");
		return -EINVAL;
	}
	if (cfg->nr_ns > NVME_MAX_NAMESPACES || (cfg->nr_ns && !cfg->ns)) {
		snprintf(err, errlen, "nvme: at most %d namespaces", NVME_MAX_NAMESPACES);
		return -EINVAL;
	}
	if ((cfg->serial && strlen(cfg->serial) > 20) || (cfg->model && strlen(cfg->model) > 40) ||
	    (cfg->firmware && strlen(cfg->firmware) > 8)) {
		snprintf(err, errlen, "nvme: serial/model/firmware longer than 20/40/8 characters");
		return -EINVAL;
	}
	if (cfg->subsys && cfg->nsmgmt_capacity) {
		snprintf(err, errlen, "nvme: Namespace Management is not built for a subsystem");
		return -EINVAL;
	}
	return 0;
}

struct nvme_ctrl *nvme_ctrl_create(const struct nvme_ctrl_config *cfg, const struct nvme_host *host,
				   char *err, size_t errlen)
{
	struct nvme_ctrl *c;
	char serial[21];
	uint32_t mqes = cfg->mqes ? cfg->mqes : NVME_DEFAULT_MQES;
	pthread_mutexattr_t attr;

	if (check_config(cfg, err, errlen))
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "nvme: out of memory");
		return NULL;
	}
	/* Recursive: host->irq may come back for nvme_intx_level() while we hold it. */
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&c->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	nvme_inject_init(c);
	c->host = *host;
	snprintf(c->name, sizeof(c->name), "%s", cfg->name ? cfg->name : "nvme");
	snprintf(serial, sizeof(serial), "VMM%08u",
		 __atomic_fetch_add(&nvme_instances, 1, __ATOMIC_RELAXED));
	copy_padded(c->serial, 20, cfg->serial ? cfg->serial : serial);
	copy_padded(c->model, 40, cfg->model ? cfg->model : "vmm NVMe controller");
	copy_padded(c->firmware, 8, cfg->firmware ? cfg->firmware : "1.0");
	snprintf(c->subnqn, sizeof(c->subnqn), "nqn.2024-01.org.vmm:nvme:%s",
		 cfg->serial ? cfg->serial : serial);
	c->vid = cfg->vid;
	c->ssvid = cfg->ssvid;
	c->cntlid = cfg->cntlid;
	/* NVMe 2.0 5.17.2.1: SN and SUBNQN name the NVM subsystem, CNTLID the controller. */
	if (cfg->subsys) {
		c->subsys = cfg->subsys;
		copy_padded(c->serial, 20, nvme_subsys_serial(c->subsys));
		snprintf(c->subnqn, sizeof(c->subnqn), "%s", nvme_subsys_subnqn(c->subsys));
		if (nvme_subsys_add_ctrl(c->subsys, &c->cntlid)) {
			snprintf(err, errlen, "nvme: subsystem %s has %d controllers already",
				 nvme_subsys_name(c->subsys), NVME_SUBSYS_MAX_CTRL);
			c->subsys = NULL;
			nvme_ctrl_destroy(c);
			return NULL;
		}
	}
	nvme_ana_init(c);
	c->max_queues = cfg->max_queues ? cfg->max_queues : NVME_DEFAULT_MAX_QUEUES;
	c->nr_vectors = cfg->nr_vectors ? cfg->nr_vectors : c->max_queues + 1;
	c->mdts_bytes = (uint32_t)KiB(cfg->mdts_kib ? cfg->mdts_kib : NVME_DEFAULT_MDTS_KIB);
	c->mdts = (uint8_t)(__builtin_ctz(c->mdts_bytes) - 12);
	c->cap = NVME_CAP_MQES(mqes) | NVME_CAP_CQR | NVME_CAP_TO(CAP_TO_500MS) |
		 NVME_CAP_DSTRD(0) | NVME_CAP_CSS_NVM | NVME_CAP_CSS_CSI | NVME_CAP_MPSMIN(0) |
		 NVME_CAP_MPSMAX(MPSMAX);
	c->page_shift = 12;
	c->created_ns = time_ns();

	c->sq = calloc(c->max_queues + 1, sizeof(*c->sq));
	c->cq = calloc(c->max_queues + 1, sizeof(*c->cq));
	c->feat.irq_cd = calloc(c->nr_vectors, 1);
	c->bitbucket = malloc(c->mdts_bytes);
	c->ns = calloc(nvme_ns_slots(cfg), sizeof(*c->ns));
	if (!c->sq || !c->cq || !c->feat.irq_cd || !c->bitbucket || !c->ns) {
		snprintf(err, errlen, "nvme: out of memory");
		nvme_ctrl_destroy(c);
		return NULL;
	}
	for (int i = 0; i < NVME_NR_MEM_SPACES; i++)
		c->mem_space[i] = (struct as_region){.base = AS_OFF};
	if (nvme_cmb_init(c, cfg, err, errlen) || nvme_pmr_init(c, cfg, err, errlen)) {
		nvme_ctrl_destroy(c);
		return NULL;
	}
	/* Before the namespaces: asynchronous backends submit on the controller's ring. */
	c->pin_iothread = cfg->pin_iothread;
	c->iothread_cpu = cfg->iothread_cpu;
	if (nvme_ring_init(c, !cfg->no_iothread, cfg->poll_idle_us, cfg->poll_inflight_us, err,
			   errlen)) {
		nvme_ctrl_destroy(c);
		return NULL;
	}
	for (unsigned i = 0; i < cfg->nr_ns; i++) {
		if (nvme_ns_init(c, &c->ns[i], i + 1, &cfg->ns[i], 0, err, errlen)) {
			nvme_ctrl_destroy(c);
			return NULL;
		}
		c->nr_ns++;
	}
	if (nvme_nsmgmt_init(c, cfg, err, errlen)) {
		nvme_ctrl_destroy(c);
		return NULL;
	}
	nvme_features_reset(c);
	return c;
}

void nvme_ctrl_destroy(struct nvme_ctrl *c)
{
	if (!c)
		return;
	nvme_ring_stop(c); /* from here on only this thread touches the controller */
	c->csts &= ~NVME_CSTS_RDY;
	if (c->sq && c->cq) {
		nvme_dbbuf_reset(c);
		nvme_aer_reset(c);
		nvme_queues_reset(c);
	}
	for (unsigned i = 0; i < c->nr_ns; i++)
		nvme_ns_fini(&c->ns[i]);
	nvme_ring_fini(c);
	nvme_pmr_fini(c);
	nvme_cmb_fini(c);
	free(c->ns);
	free(c->sq);
	free(c->cq);
	free(c->feat.irq_cd);
	free(c->bitbucket);
	nvme_inject_fini(c);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

uint64_t nvme_bar0_regs_size(const struct nvme_ctrl *c)
{
	return NVME_REG_DBS + (uint64_t)(c->max_queues + 1) * 8;
}

uint64_t nvme_sq_doorbell_offset(const struct nvme_ctrl *c, uint16_t qid)
{
	return NVME_REG_DBS + (uint64_t)qid * 8; /* CAP.DSTRD = 0 */
}

/* 3.1.5 CC.EN 0 -> 1: latch the admin queue attributes and become ready. */
static void ctrl_enable(struct nvme_ctrl *c)
{
	uint32_t cc = c->cc, asqs = NVME_AQA_ASQS(c->aqa) + 1, acqs = NVME_AQA_ACQS(c->aqa) + 1;
	unsigned mps = NVME_CC_MPS(cc);
	uint64_t page = 1ULL << (12 + mps);
	const char *why = NULL;

	/* NVMe 2.0 3.1.3.5: NVM only, or every I/O command set CNS 1Ch reports (110b). */
	if (NVME_CC_CSS(cc) != NVME_CC_CSS_NVM && NVME_CC_CSS(cc) != NVME_CC_CSS_CSI)
		why = "CC.CSS selects an unsupported command set";
	else if (mps < NVME_CAP_MPSMIN_GET(c->cap) || mps > NVME_CAP_MPSMAX_GET(c->cap))
		why = "CC.MPS outside CAP.MPSMIN..MPSMAX";
	else if (NVME_CC_AMS(cc) != 0)
		why = "CC.AMS selects an unsupported arbitration";
	else if (asqs < 2 || acqs < 2)
		why = "AQA: admin queues need at least 2 entries";
	else if ((c->asq & (page - 1)) || (c->acq & (page - 1)))
		why = "ASQ/ACQ not aligned to the memory page size";
	else if (!nvme_dma_mapped(c, c->asq, (uint64_t)asqs * 64) ||
		 !nvme_dma_mapped(c, c->acq, (uint64_t)acqs * 16))
		why = "ASQ/ACQ outside memory";
	if (why) {
		nvme_ctrl_fatal(c, why);
		return;
	}
	c->page_shift = 12 + mps;
	if (!nvme_cq_create(c, 0, c->acq, acqs, true, 0) ||
	    !nvme_sq_create(c, 0, 0, c->asq, asqs)) {
		nvme_queues_reset(c);
		nvme_ctrl_fatal(c, "out of memory for the admin queues");
		return;
	}
	c->csts &= ~NVME_CSTS_SHST_MASK;
	c->csts |= NVME_CSTS_RDY;
}

/* 7.3.2 Controller Level Reset: I/O queues deleted, admin queues reset, features default. */
static void ctrl_reset(struct nvme_ctrl *c)
{
	/* Not ready first: completions of commands still in flight are dropped (aborted). */
	c->csts &= ~NVME_CSTS_RDY;
	nvme_dbbuf_reset(c);
	nvme_aer_reset(c);
	nvme_queues_reset(c);
	nvme_features_reset(c);
	nvme_pmr_persist(c); /* a persistence point; CMB and PMR registers survive (pmr.h) */
	c->intms = 0;
	c->page_shift = 12;
	c->csts &= ~(NVME_CSTS_RDY | NVME_CSTS_CFS);
}

/* 7.6.2: finish outstanding work and make written data durable, then report complete. */
static void ctrl_shutdown(struct nvme_ctrl *c)
{
	nvme_flush_all(c, NULL);
	nvme_pmr_persist(c);
	c->csts = (c->csts & ~NVME_CSTS_SHST_MASK) | NVME_CSTS_SHST_COMPLETE;
}

static void write_cc(struct nvme_ctrl *c, uint32_t val)
{
	uint32_t old = c->cc;

	val &= NVME_CC_RW_MASK;
	/* 3.1.5: CSS, MPS and AMS only change while the controller is disabled. */
	if (old & NVME_CC_EN)
		val = (val & ~NVME_CC_WHILE_DISABLED) | (old & NVME_CC_WHILE_DISABLED);
	c->cc = val;
	if (!(old & NVME_CC_EN) && (val & NVME_CC_EN))
		ctrl_enable(c);
	else if ((old & NVME_CC_EN) && !(val & NVME_CC_EN))
		ctrl_reset(c);
	if (NVME_CC_SHN(val) && !NVME_CC_SHN(old))
		ctrl_shutdown(c);
}

static uint64_t reg_read(struct nvme_ctrl *c, uint64_t off)
{
	switch (off) {
	case NVME_REG_CAP:
		return c->cap;
	case NVME_REG_VS:
		return NVME_VS_1_4;
	case NVME_REG_INTMS:
	case NVME_REG_INTMC:
		return c->intms;
	case NVME_REG_CC:
		return c->cc;
	case NVME_REG_CSTS:
		return c->csts;
	case NVME_REG_AQA:
		return c->aqa;
	case NVME_REG_ASQ:
		return c->asq;
	case NVME_REG_ACQ:
		return c->acq;
	case NVME_REG_CMBLOC:
	case NVME_REG_CMBSZ:
	case NVME_REG_CMBMSC:
	case NVME_REG_CMBSTS:
		return nvme_cmb_reg_read(c, off);
	case NVME_REG_PMRCAP:
	case NVME_REG_PMRCTL:
	case NVME_REG_PMRSTS:
	case NVME_REG_PMREBS:
	case NVME_REG_PMRSWTP:
	case NVME_REG_PMRMSCL:
	case NVME_REG_PMRMSCU:
		return nvme_pmr_reg_read(c, off);
	default:
		/* NSSR reads 0 (3.1.7); BP reads 0 (no boot partitions). */
		return 0;
	}
}

static void set64(uint64_t *reg, uint64_t off, uint64_t val, unsigned size)
{
	if (size == 8)
		*reg = val;
	else if (!(off & 4))
		*reg = (*reg & 0xffffffff00000000ULL) | (uint32_t)val;
	else
		*reg = (*reg & 0xffffffffULL) | val << 32;
}

static void reg_write(struct nvme_ctrl *c, uint64_t off, uint64_t val, unsigned size)
{
	switch (off & ~7ULL) {
	case NVME_REG_ASQ:
		set64(&c->asq, off, val, size);
		c->asq &= ~0xfffULL; /* 3.1.9: bits 11:0 reserved */
		return;
	case NVME_REG_ACQ:
		set64(&c->acq, off, val, size);
		c->acq &= ~0xfffULL;
		return;
	case NVME_REG_CMBMSC:
		nvme_cmb_reg_write(c, off, val, size);
		return;
	}
	switch (off) {
	case NVME_REG_INTMS:
		/* 3.1.3/3.1.4: masked vectors are held pending, delivered on INTMC. */
		c->intms |= (uint32_t)val;
		break;
	case NVME_REG_INTMC:
		c->intms &= ~(uint32_t)val;
		break;
	case NVME_REG_CC:
		write_cc(c, (uint32_t)val);
		break;
	case NVME_REG_AQA:
		c->aqa = (uint32_t)val & 0x0fff0fff;
		break;
	case NVME_REG_NSSR:
		/* CAP.NSSRS = 0: NVM Subsystem Reset is not supported; writes have no effect. */
		break;
	case NVME_REG_PMRCTL:
	case NVME_REG_PMRMSCL:
	case NVME_REG_PMRMSCU:
		nvme_pmr_reg_write(c, off, (uint32_t)val);
		break;
	default:
		pr_ratelimited("%s: write to read-only or reserved register 0x%llx", c->name,
			       (unsigned long long)off);
	}
}

static bool reg_is64(uint64_t off)
{
	return off == NVME_REG_CAP || off == NVME_REG_ASQ || off == NVME_REG_ACQ ||
	       off == NVME_REG_BPMBL || off == NVME_REG_CMBMSC;
}

/* 3.1: 32-bit registers take 4-byte accesses; 64-bit ones 8 bytes or two 4-byte halves. */
static bool access_ok(struct nvme_ctrl *c, uint64_t off, unsigned size)
{
	if (size == 4 && !(off & 3))
		return true;
	if (size == 8 && reg_is64(off))
		return true;
	pr_ratelimited("%s: BAR0 access of size %u at 0x%llx ignored", c->name, size,
		       (unsigned long long)off);
	return false;
}

uint64_t nvme_bar0_read(struct nvme_ctrl *c, uint64_t off, unsigned size)
{
	uint64_t v;

	if (off >= nvme_bar0_regs_size(c) || !access_ok(c, off, size))
		return 0;
	if (off >= NVME_REG_DBS)
		return 0; /* 3.1.24: doorbells are write-only */
	pthread_mutex_lock(&c->lock);
	if (reg_is64(off & ~7ULL)) {
		v = reg_read(c, off & ~7ULL);
		if (size == 4)
			v = (off & 4) ? v >> 32 : (uint32_t)v;
	} else {
		v = (uint32_t)reg_read(c, off);
	}
	pthread_mutex_unlock(&c->lock);
	return v;
}

void nvme_bar0_write(struct nvme_ctrl *c, uint64_t off, uint64_t val, unsigned size)
{
	if (off >= nvme_bar0_regs_size(c) || !access_ok(c, off, size))
		return;
	pthread_mutex_lock(&c->lock);
	if (off >= NVME_REG_DBS) {
		uint64_t db = (off - NVME_REG_DBS) / 4;
		uint16_t qid = (uint16_t)(db / 2);

		if (db & 1)
			nvme_cq_doorbell(c, qid, (uint32_t)val);
		else
			nvme_sq_doorbell(c, qid, (uint32_t)val);
	} else {
		reg_write(c, off, val, size);
	}
	nvme_ring_kick_io(c->ring);
	nvme_irq_flush(c);
	pthread_mutex_unlock(&c->lock);
}

static uint64_t bar0_read_op(void *opaque, uint64_t off, unsigned size)
{
	return nvme_bar0_read(opaque, off, size);
}

static void bar0_write_op(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	nvme_bar0_write(opaque, off, val, size);
}

const struct bus_ops nvme_bar0_ops = {.read = bar0_read_op, .write = bar0_write_op};

void nvme_process(struct nvme_ctrl *c)
{
	pthread_mutex_lock(&c->lock);
	nvme_run_all(c);
	nvme_ring_kick_io(c->ring);
	nvme_irq_flush(c);
	pthread_mutex_unlock(&c->lock);
}

void nvme_sq_process(struct nvme_ctrl *c, uint16_t sqid)
{
	pthread_mutex_lock(&c->lock);
	if (sqid <= c->max_queues && c->sq[sqid])
		nvme_sq_run(c, c->sq[sqid]);
	nvme_ring_kick_io(c->ring);
	nvme_irq_flush(c);
	pthread_mutex_unlock(&c->lock);
}

bool nvme_intx_level(struct nvme_ctrl *c)
{
	bool level = false;

	pthread_mutex_lock(&c->lock);
	for (unsigned q = 0; q <= c->max_queues && !level; q++) {
		struct nvme_cq *cq = c->cq[q];

		if (cq && cq->ien && cq->head != cq->tail &&
		    !(cq->vector < 32 && (c->intms & (1u << cq->vector))))
			level = true;
	}
	pthread_mutex_unlock(&c->lock);
	return level;
}
