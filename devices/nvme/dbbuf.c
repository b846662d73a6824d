/* SPDX-License-Identifier: MIT */
/*
 * Doorbell Buffer Config (NVMe 1.4 5.8, Identify OACS bit 8): shadow doorbells and EventIdx.
 *
 * The host keeps each I/O queue's SQ tail / CQ head in the shadow doorbell buffer and writes
 * the real doorbell only when it crosses the controller's EventIdx (Linux:
 * nvme_dbbuf_need_event(ei, new, old) is true iff ei lies in [old, new) modulo 2^16, after
 * a full barrier between its shadow store and its EventIdx load). So the controller reads
 * tails and heads from the shadow buffer, and a doorbell write is only a notification: that
 * is what makes ioeventfd doorbells exact (KVM does not deliver the value written).
 *
 * EventIdx policy, per queue (DSTRD = 0: index 2y for SQ y, 2y + 1 for CQ y):
 *   SQ, polling:   head - 1, with the head as it was BEFORE this round read the shadow: the
 *                  host cannot cross it (that would overfill the queue), not even with
 *                  the update it is making right now (an EventIdx derived from the value
 *                  just read would equal that update's old tail: a spurious ring)
 *   SQ, otherwise: tail      (the host's next submission rings)
 *   CQ:            head when completions are held for a full CQ (we need to hear about the
 *                  host consuming), else head - 1, the head as last read from the shadow
 *                  (we read it when we need it; the poller follows it every round).
 * Arming for sleep is store EventIdx; full barrier; re-read the shadow (the mirror image of
 * the host's side), so no submission is ever stranded.
 *
 * The admin queue keeps register doorbells (Linux's nvme_dbbuf_init skips qid 0).
 */
#include <string.h>

#include "devices/nvme/iothread.h"
#include "devices/nvme/internal.h"
#include "vmm/util.h"

#define DNR NVME_SC_DNR

static bool shadow_on(const struct nvme_ctrl *c, uint16_t qid)
{
	return c->dbbuf.enabled && qid != 0;
}

static uint32_t shadow_load(const struct nvme_ctrl *c, unsigned idx)
{
	return __atomic_load_n(&c->dbbuf.dbs[idx], __ATOMIC_ACQUIRE);
}

static void ei_store(struct nvme_ctrl *c, unsigned idx, uint32_t v)
{
	__atomic_store_n(&c->dbbuf.eis[idx], v, __ATOMIC_RELAXED);
}

static uint32_t before(uint32_t v, uint32_t size)
{
	return (v + size - 1) % size;
}

/* A shadow value we cannot use: report it once per distinct value (4.1, 5.2.1). */
static void shadow_bad(struct nvme_ctrl *c, uint32_t *last, uint16_t qid, uint32_t v)
{
	if (*last == v + 1)
		return;
	*last = v + 1;
	pr_ratelimited("%s: invalid shadow doorbell: queue %u value %u", c->name, qid, v);
	nvme_error_log(c, 0xffff, 0xffff, 0);
	nvme_aen_post(c, NVME_AER_TYPE_ERROR, NVME_AER_ERR_INVALID_DB_VALUE, NVME_LOG_ERROR);
}

bool nvme_dbbuf_sq_tail(struct nvme_ctrl *c, struct nvme_sq *sq)
{
	uint32_t v;

	if (!shadow_on(c, sq->qid))
		return false;
	v = shadow_load(c, 2u * sq->qid);
	if (v == sq->tail)
		return false;
	if (v >= sq->size) {
		shadow_bad(c, &sq->bad_shadow, sq->qid, v);
		return false;
	}
	sq->tail = v;
	return true;
}

bool nvme_dbbuf_cq_head(struct nvme_ctrl *c, struct nvme_cq *cq)
{
	uint32_t v, posted;

	if (!shadow_on(c, cq->qid))
		return false;
	v = shadow_load(c, 2u * cq->qid + 1);
	if (v == cq->head)
		return false;
	posted = (cq->tail + cq->size - cq->head) % cq->size;
	if (v >= cq->size || (v + cq->size - cq->head) % cq->size > posted) {
		shadow_bad(c, &cq->bad_shadow, cq->qid, v);
		return false;
	}
	cq->head = v;
	return true;
}

static void ei_update(struct nvme_ctrl *c, unsigned idx, uint32_t v)
{
	if (__atomic_load_n(&c->dbbuf.eis[idx], __ATOMIC_RELAXED) != v)
		ei_store(c, idx, v);
}

static void cq_eventidx(struct nvme_ctrl *c, struct nvme_cq *cq, bool polling)
{
	ei_store(c, 2u * cq->qid + 1, cq->held && !polling ? cq->head : before(cq->head, cq->size));
}

/* 5.8: PRP1 = shadow doorbell buffer, PRP2 = EventIdx buffer, both memory page aligned. */
uint16_t nvme_dbbuf_config(struct nvme_ctrl *c, struct nvme_req *r)
{
	uint64_t dbs = r->cmd.prp1, eis = r->cmd.prp2, mask = (1ULL << c->page_shift) - 1;
	uint64_t len = ((uint64_t)c->max_queues + 1) * 8;
	uint32_t *pd, *pe;

	if (NVME_SQE_PSDT(r->cmd.flags) != NVME_PSDT_PRP || !dbs || !eis || (dbs & mask) ||
	    (eis & mask))
		return NVME_SC_INVALID_FIELD | DNR;
	pd = c->host.dma_map(c->host.opaque, dbs, len);
	pe = c->host.dma_map(c->host.opaque, eis, len);
	if (!pd || !pe)
		return NVME_SC_INVALID_FIELD | DNR;
	nvme_dbbuf_reset(c);
	c->dbbuf = (struct nvme_dbbuf){
		.enabled = true, .dbs = pd, .eis = pe, .dbs_addr = dbs, .eis_addr = eis};
	/* Queues created before the command: publish where they stand. */
	for (unsigned q = 1; q <= c->max_queues; q++) {
		if (c->cq[q]) {
			__atomic_store_n(&pd[2 * q + 1], c->cq[q]->head, __ATOMIC_RELAXED);
			cq_eventidx(c, c->cq[q], false);
			nvme_ring_doorbell_add(c->ring, 2 * q + 1,
					       nvme_sq_doorbell_offset(c, q) + 4);
		}
		if (c->sq[q]) {
			__atomic_store_n(&pd[2 * q], c->sq[q]->tail, __ATOMIC_RELAXED);
			ei_store(c, 2 * q, c->sq[q]->tail);
			nvme_ring_doorbell_add(c->ring, 2 * q, nvme_sq_doorbell_offset(c, q));
		}
	}
	nvme_ring_wake(c->ring);
	return NVME_SC_SUCCESS;
}

void nvme_dbbuf_reset(struct nvme_ctrl *c)
{
	if (c->ring)
		for (unsigned s = 0; s < 2 * (c->max_queues + 1); s++)
			nvme_ring_doorbell_del(c->ring, s);
	memset(&c->dbbuf, 0, sizeof(c->dbbuf));
}

void nvme_dbbuf_queue_created(struct nvme_ctrl *c, uint16_t qid, bool cq)
{
	unsigned idx = 2u * qid + cq;

	if (!shadow_on(c, qid))
		return;
	/* The host cannot have used a queue that did not exist: start from 0. */
	__atomic_store_n(&c->dbbuf.dbs[idx], 0, __ATOMIC_RELAXED);
	if (cq)
		cq_eventidx(c, c->cq[qid], false);
	else
		ei_store(c, idx, 0);
	nvme_ring_doorbell_add(c->ring, idx, nvme_sq_doorbell_offset(c, qid) + (cq ? 4 : 0));
}

void nvme_dbbuf_queue_deleted(struct nvme_ctrl *c, uint16_t qid, bool cq)
{
	if (c->ring)
		nvme_ring_doorbell_del(c->ring, 2u * qid + cq);
}

bool nvme_dbbuf_poll(struct nvme_ctrl *c)
{
	bool work = false, polling = c->dbbuf.polling;

	for (unsigned q = 1; q <= c->max_queues; q++) {
		struct nvme_cq *cq = c->cq[q];
		struct nvme_sq *sq = c->sq[q];

		if (cq) {
			/* EventIdx from what we knew before this read (see the top). */
			if (polling)
				ei_update(c, 2 * q + 1, before(cq->head, cq->size));
			if (nvme_dbbuf_cq_head(c, cq) && cq->held) {
				nvme_cq_post_held(c, cq);
				work = true;
			}
		}
		if (!sq)
			continue;
		if (polling)
			ei_update(c, 2 * q, before(sq->head, sq->size));
		if (nvme_dbbuf_sq_tail(c, sq))
			work = true;
		if (sq->head != sq->tail)
			nvme_sq_run(c, sq);
	}
	return work;
}

bool nvme_dbbuf_eventidx(struct nvme_ctrl *c, bool polling)
{
	c->dbbuf.polling = polling;
	for (unsigned q = 1; q <= c->max_queues; q++) {
		if (c->sq[q])
			ei_store(c, 2 * q,
				 polling ? before(c->sq[q]->head, c->sq[q]->size) : c->sq[q]->tail);
		if (c->cq[q])
			cq_eventidx(c, c->cq[q], polling);
	}
	if (polling)
		return false;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (unsigned q = 1; q <= c->max_queues; q++) {
		struct nvme_sq *sq = c->sq[q];
		struct nvme_cq *cq = c->cq[q];

		if (sq && shadow_load(c, 2 * q) != sq->tail)
			return true;
		if (cq && cq->held && shadow_load(c, 2 * q + 1) != cq->head)
			return true;
	}
	return false;
}

/* After a register doorbell for an I/O queue: the shadow holds the value (the written one
 * is only a notification); without a polling thread, EventIdx follows so the host's next
 * update rings again. */
void nvme_dbbuf_sq_rung(struct nvme_ctrl *c, struct nvme_sq *sq)
{
	nvme_dbbuf_sq_tail(c, sq);
	for (;;) {
		nvme_sq_run(c, sq);
		if (c->dbbuf.polling)
			return;
		ei_store(c, 2u * sq->qid, sq->tail);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (!nvme_dbbuf_sq_tail(c, sq))
			return;
	}
}

void nvme_dbbuf_cq_rung(struct nvme_ctrl *c, struct nvme_cq *cq)
{
	for (;;) {
		if (nvme_dbbuf_cq_head(c, cq) && cq->held) {
			nvme_cq_post_held(c, cq);
			nvme_run_all(c);
		}
		if (c->dbbuf.polling || !cq->held)
			break;
		cq_eventidx(c, cq, false);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (shadow_load(c, 2u * cq->qid + 1) == cq->head)
			break;
	}
	cq_eventidx(c, cq, c->dbbuf.polling);
}
