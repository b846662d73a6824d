/* SPDX-License-Identifier: MIT */
/*
 * Helpers for tests where completions arrive from the controller's I/O thread: waiting for
 * CQEs, a host whose ioeventfd hook records the eventfds (so a test can "ring" one the way
 * KVM would), and a shadow-doorbell driver that rings only when nvme_dbbuf_need_event says
 * so (Linux drivers/nvme/host/pci.c semantics).
 */
#ifndef TEST_NVME_ASYNC_H
#define TEST_NVME_ASYNC_H

#include <criterion/criterion.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>

#include "devices/nvme/internal.h"
#include "devices/nvme/iothread.h"
#include "tests/unit/test_nvme.h"

static inline uint64_t ta_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Next CQE of qid within 5 s. */
static inline bool ta_wait(struct tnvme *t, uint16_t qid, struct nvme_cqe *e)
{
	uint64_t start = ta_now();

	while (ta_now() - start < 5000000000ULL) {
		if (tn_poll(t, qid, e))
			return true;
		sched_yield();
	}
	return false;
}

static inline uint16_t ta_cmd(struct tnvme *t, uint16_t qid, struct nvme_sqe *cmd)
{
	struct nvme_cqe e;
	uint16_t cid = tn_put(t, qid, cmd);

	tn_ring_sq(t, qid);
	cr_assert(ta_wait(t, qid, &e), "no completion for opcode 0x%x", cmd->opcode);
	cr_assert_eq(e.cid, cid);
	return tn_status(&e);
}

/* One or two pages at page-aligned buf (PRP1/PRP2 only). */
static inline void ta_rw_cmd(struct nvme_sqe *cmd, uint8_t opc, uint64_t slba, uint32_t nlb,
			     uint64_t buf, uint32_t bytes)
{
	*cmd = (struct nvme_sqe){.opcode = opc,
				 .nsid = 1,
				 .prp1 = buf,
				 .prp2 = bytes > 4096 ? buf + 4096 : 0,
				 .cdw10 = (uint32_t)slba,
				 .cdw11 = (uint32_t)(slba >> 32),
				 .cdw12 = nlb - 1};
}

/* ---- a host with an ioeventfd hook ---- */

#define TA_MAX_EFD 64

struct ta_host {
	struct tnvme t;
	pthread_mutex_t lock;
	struct {
		uint64_t off;
		int efd;
	} efd[TA_MAX_EFD];
	unsigned nefd;
	unsigned assigned, deassigned;
	/* shadow doorbell driver state */
	uint64_t dbs, eis;
	unsigned rings_sq, rings_cq, rings_trapped;
};

static inline void *ta_dma_map(void *opaque, uint64_t addr, uint64_t len)
{
	struct tnvme *t = opaque;
	uint64_t end;

	if (addr < TN_BASE || __builtin_add_overflow(addr, len, &end) || end > TN_BASE + TN_SIZE)
		return NULL;
	return t->mem + (addr - TN_BASE);
}

static inline void ta_irq(void *opaque, unsigned vector)
{
	struct tnvme *t = opaque;

	if (vector < 128)
		__atomic_fetch_add(&t->irqs[vector], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&t->nirq, 1, __ATOMIC_RELAXED);
}

static inline int ta_ioeventfd(void *opaque, uint64_t off, int efd, bool assign)
{
	struct ta_host *h = opaque; /* t is the first member */

	pthread_mutex_lock(&h->lock);
	if (assign) {
		cr_assert(h->nefd < TA_MAX_EFD);
		h->efd[h->nefd].off = off;
		h->efd[h->nefd].efd = efd;
		h->nefd++;
		h->assigned++;
	} else {
		for (unsigned i = 0; i < h->nefd; i++)
			if (h->efd[i].off == off && h->efd[i].efd == efd) {
				h->efd[i] = h->efd[--h->nefd];
				break;
			}
		h->deassigned++;
	}
	pthread_mutex_unlock(&h->lock);
	return 0;
}

static inline int ta_efd_at(struct ta_host *h, uint64_t off)
{
	int fd = -1;

	pthread_mutex_lock(&h->lock);
	for (unsigned i = 0; i < h->nefd; i++)
		if (h->efd[i].off == off)
			fd = h->efd[i].efd;
	pthread_mutex_unlock(&h->lock);
	return fd;
}

static inline void ta_create(struct ta_host *h, const struct nvme_ctrl_config *cfg)
{
	struct nvme_host host = {
		.dma_map = ta_dma_map, .irq = ta_irq, .ioeventfd = ta_ioeventfd, .opaque = h};
	char err[256] = "";

	memset(h, 0, sizeof(*h));
	pthread_mutex_init(&h->lock, NULL);
	h->t.mem = calloc(1, TN_SIZE);
	cr_assert(h->t.mem);
	h->t.next = TN_BASE;
	h->t.c = nvme_ctrl_create(cfg, &host, err, sizeof(err));
	cr_assert(h->t.c, "create failed: %s", err);
}

static inline void ta_destroy(struct ta_host *h)
{
	nvme_ctrl_destroy(h->t.c);
	free(h->t.mem);
}

/* Create, enable, queue pair 1 (qsize entries, vector 1). */
static inline void ta_start(struct ta_host *h, const struct nvme_ctrl_config *cfg, uint32_t qsize)
{
	ta_create(h, cfg);
	tn_enable_linux(&h->t, 32);
	cr_assert_eq(tn_create_cq(&h->t, 1, qsize, true, 1), 0);
	cr_assert_eq(tn_create_sq(&h->t, 1, 1, qsize), 0);
}

/* ---- the shadow doorbell driver (Linux nvme_dbbuf_update_and_check_event) ---- */

static inline bool ta_need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event_idx - 1) < (uint16_t)(new_idx - old);
}

static inline uint16_t ta_dbbuf_config(struct ta_host *h)
{
	struct nvme_sqe cmd = {.opcode = NVME_ADM_DBBUF_CONFIG};

	h->dbs = tn_alloc(&h->t, 4096, 4096);
	h->eis = tn_alloc(&h->t, 4096, 4096);
	cmd.prp1 = h->dbs;
	cmd.prp2 = h->eis;
	return tn_cmd(&h->t, 0, &cmd, NULL);
}

static inline volatile uint32_t *ta_shadow(struct ta_host *h, unsigned idx)
{
	return (volatile uint32_t *)tn_ptr(&h->t, h->dbs + 4 * idx);
}

static inline volatile uint32_t *ta_ei(struct ta_host *h, unsigned idx)
{
	return (volatile uint32_t *)tn_ptr(&h->t, h->eis + 4 * idx);
}

/* The doorbell write itself: through the ioeventfd when one is registered, else trapped. */
static inline void ta_ring(struct ta_host *h, uint64_t off, uint32_t val)
{
	int fd = ta_efd_at(h, off);

	if (fd >= 0) {
		eventfd_write(fd, 1);
	} else {
		h->rings_trapped++;
		tn_wr32(&h->t, off, val);
	}
}

static inline void ta_db_update(struct ta_host *h, unsigned idx, uint16_t old, uint16_t new_idx,
				unsigned *count)
{
	__atomic_thread_fence(__ATOMIC_RELEASE); /* entries before the shadow value */
	*ta_shadow(h, idx) = new_idx;
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* shadow before reading EventIdx */
	if (ta_need_event((uint16_t)*ta_ei(h, idx), new_idx, old)) {
		(*count)++;
		ta_ring(h, NVME_REG_DBS + 4ULL * idx, new_idx);
	}
}

/* Submit on qid through the shadow buffer. */
static inline uint16_t ta_db_submit(struct ta_host *h, uint16_t qid, struct nvme_sqe *cmd)
{
	uint16_t old = h->t.q[qid].sq_tail, cid;

	cid = tn_put(&h->t, qid, cmd);
	ta_db_update(h, 2u * qid, old, h->t.q[qid].sq_tail, &h->rings_sq);
	return cid;
}

/* Reap one CQE of qid through the shadow buffer within 5 s. */
static inline bool ta_db_reap(struct ta_host *h, uint16_t qid, struct nvme_cqe *out)
{
	struct tn_queue *q = &h->t.q[qid];
	uint64_t start = ta_now();

	for (;;) {
		struct nvme_cqe e;

		memcpy(&e, tn_ptr(&h->t, q->cq + (uint64_t)q->cq_head * 16), 16);
		if ((e.status & 1) == q->phase) {
			uint16_t old = q->cq_head;

			if (++q->cq_head == q->size) {
				q->cq_head = 0;
				q->phase = !q->phase;
			}
			ta_db_update(h, 2u * qid + 1, old, q->cq_head, &h->rings_cq);
			if (out)
				*out = e;
			return true;
		}
		if (ta_now() - start > 5000000000ULL)
			return false;
		sched_yield();
	}
}

#endif
