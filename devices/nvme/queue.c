/* SPDX-License-Identifier: MIT */
/*
 * Submission and completion queues (NVMe 1.4 4.1): fetching SQ entries, posting CQ entries
 * with the phase tag, holding completions while a CQ is full, doorbells, interrupts.
 */
#include <stdlib.h>
#include <string.h>

#include "devices/nvme/internal.h"
#include "devices/nvme/iothread.h"
#include "vmm/util.h"

struct nvme_sq *nvme_sq_create(struct nvme_ctrl *c, uint16_t qid, uint16_t cqid, uint64_t base,
			       uint32_t size)
{
	struct nvme_sq *sq = calloc(1, sizeof(*sq));

	if (!sq)
		return NULL;
	/* One request per slot: at most size - 1 commands can be fetched before a completion. */
	sq->reqs = calloc(size, sizeof(*sq->reqs));
	if (!sq->reqs) {
		free(sq);
		return NULL;
	}
	sq->qid = qid;
	sq->cqid = cqid;
	sq->base = base;
	sq->size = size;
	for (uint32_t i = 0; i < size; i++) {
		sq->reqs[i].c = c;
		sq->reqs[i].sq = sq;
		sq->reqs[i].next = sq->free;
		sq->free = &sq->reqs[i];
	}
	c->sq[qid] = sq;
	c->cq[cqid]->nsq++;
	return sq;
}

static void drain_backends(struct nvme_ctrl *c)
{
	for (unsigned i = 0; i < c->nr_ns; i++)
		if (c->ns[i].allocated && c->ns[i].be.ops->drain)
			c->ns[i].be.ops->drain(&c->ns[i].be);
}

void nvme_sq_delete(struct nvme_ctrl *c, uint16_t qid)
{
	struct nvme_sq *sq = c->sq[qid];
	struct nvme_cq *cq;
	struct nvme_req **pp;

	if (!sq)
		return;
	nvme_dbbuf_queue_deleted(c, qid, false);
	/* 5.7: commands still in flight complete first (posted while the CQ has room, dropped
	 * below otherwise); the Delete command completes after them. */
	drain_backends(c);
	nvme_inject_sq_deleted(c, sq);
	cq = c->cq[sq->cqid];
	for (pp = &cq->held; *pp;) {
		if ((*pp)->sq == sq)
			*pp = (*pp)->next;
		else
			pp = &(*pp)->next;
	}
	cq->held_tail = &cq->held;
	while (*cq->held_tail)
		cq->held_tail = &(*cq->held_tail)->next;
	cq->nsq--;
	for (uint32_t i = 0; i < sq->size; i++) {
		nvme_sg_free(&sq->reqs[i].sg);
		free(sq->reqs[i].bes);
		free(sq->reqs[i].bounce);
		nvme_req_free_copy(&sq->reqs[i]);
		nvme_meta_free(&sq->reqs[i]);
	}
	free(sq->reqs);
	free(sq);
	c->sq[qid] = NULL;
}

struct nvme_cq *nvme_cq_create(struct nvme_ctrl *c, uint16_t qid, uint64_t base, uint32_t size,
			       bool ien, uint16_t vector)
{
	struct nvme_cq *cq = calloc(1, sizeof(*cq));

	if (!cq)
		return NULL;
	cq->qid = qid;
	cq->base = base;
	cq->size = size;
	cq->phase = true; /* 4.6: the first pass posts entries with P = 1 */
	cq->ien = ien;
	cq->vector = vector;
	cq->held_tail = &cq->held;
	c->cq[qid] = cq;
	return cq;
}

void nvme_cq_delete(struct nvme_ctrl *c, uint16_t qid)
{
	if (c->cq[qid])
		nvme_dbbuf_queue_deleted(c, qid, true);
	free(c->cq[qid]);
	c->cq[qid] = NULL;
}

void nvme_queues_reset(struct nvme_ctrl *c)
{
	for (unsigned q = c->max_queues + 1; q-- > 0;)
		nvme_sq_delete(c, (uint16_t)q);
	for (unsigned q = 0; q <= c->max_queues; q++)
		nvme_cq_delete(c, (uint16_t)q);
}

static bool cq_full(struct nvme_ctrl *c, struct nvme_cq *cq)
{
	if ((cq->tail + 1) % cq->size != cq->head)
		return false;
	/* With shadow doorbells the host may have consumed entries without ringing. */
	return !nvme_dbbuf_cq_head(c, cq) || (cq->tail + 1) % cq->size == cq->head;
}

/* Feature 08h (5.21.1.8): aggregation threshold (THR + 1 entries) and time (TIME * 100 us),
 * for I/O CQs whose vector has not opted out (Feature 09h CD). Both zero: off. */
static bool coalescing(const struct nvme_ctrl *c, const struct nvme_cq *cq)
{
	uint32_t v = c->feat.irq_coalesce;

	return cq->qid && (v & 0xff) && (v & 0xff00) && !c->feat.irq_cd[cq->vector];
}

void nvme_req_release(struct nvme_req *r)
{
	struct nvme_sq *sq = r->sq;

	free(r->bounce);
	r->bounce = NULL;
	nvme_req_free_copy(r);
	nvme_meta_free(r);
	r->next = sq->free;
	sq->free = r;
}

/* 4.6: write DW0-2 first, then DW3 carrying the phase tag, so the host never sees a new
 * phase with stale contents. */
static bool cq_post(struct nvme_ctrl *c, struct nvme_cq *cq, struct nvme_req *r)
{
	uint8_t *p = c->host.dma_map(c->host.opaque, cq->base + (uint64_t)cq->tail * 16, 16);
	uint32_t dw[3] = {r->result, r->result1, r->sq->head | (uint32_t)r->sq->qid << 16};
	uint32_t dw3 = r->cmd.cid | (uint32_t)((r->status << 1) | cq->phase) << 16;

	if (!p) {
		nvme_ctrl_fatal(c, "completion queue outside memory");
		return false;
	}
	memcpy(p, dw, sizeof(dw));
	__atomic_store_n((uint32_t *)(p + 12), dw3, __ATOMIC_RELEASE);
	if (++cq->tail == cq->size) {
		cq->tail = 0;
		cq->phase = !cq->phase;
	}
	if (cq->ien) {
		cq->irq_pending = true;
		if (!cq->coalesced++ && coalescing(c, cq))
			cq->first_ns = time_ns();
	}
	return true;
}

void nvme_req_complete(struct nvme_req *r)
{
	struct nvme_ctrl *c = r->c;
	struct nvme_cq *cq = c->cq[r->sq->cqid];

	/* 7.3.2: outstanding commands are aborted by a reset; nothing is posted any more. */
	if (!(c->csts & NVME_CSTS_RDY)) {
		nvme_req_release(r);
		return;
	}
	if (r->inject && nvme_inject_complete(c, r))
		return;
	if (r->status != NVME_SC_SUCCESS && r->sq->qid == 0)
		pr_debug("%s: admin opcode 0x%02x failed: status 0x%x", c->name, r->cmd.opcode,
			 r->status);
	/* 4.1: a full CQ takes no entry; hold it, in order, until the host frees a slot. */
	if (cq->held || cq_full(c, cq)) {
		r->next = NULL;
		*cq->held_tail = r;
		cq->held_tail = &r->next;
		return;
	}
	if (cq_post(c, cq, r))
		nvme_req_release(r);
}

void nvme_cq_post_held(struct nvme_ctrl *c, struct nvme_cq *cq)
{
	while (cq->held && !cq_full(c, cq)) {
		struct nvme_req *r = cq->held;

		if (!cq_post(c, cq, r))
			return;
		cq->held = r->next;
		if (!cq->held)
			cq->held_tail = &cq->held;
		nvme_req_release(r);
	}
}

/*
 * Interrupts for CQs with new entries. Coalesced vectors wait until THR + 1 entries or until
 * TIME has passed since the first, on the I/O thread's timer (without a thread: no delay).
 * Counted per CQ: a vector shared by several CQs aggregates each of them separately.
 */
void nvme_irq_flush(struct nvme_ctrl *c)
{
	uint64_t now = 0;

	if (c->inj.delayed)
		nvme_inject_post_due(c);
	for (unsigned q = 0; q <= c->max_queues; q++) {
		struct nvme_cq *cq = c->cq[q];

		if (!cq || !cq->irq_pending)
			continue;
		/* 3.1.3: a vector masked by INTMS stays pending until INTMC unmasks it. */
		if (cq->vector < 32 && (c->intms & (1u << cq->vector)))
			continue;
		if (coalescing(c, cq) && cq->coalesced < (c->feat.irq_coalesce & 0xff) + 1u) {
			uint64_t deadline =
				cq->first_ns + ((c->feat.irq_coalesce >> 8) & 0xff) * 100000ULL;

			if (!now)
				now = time_ns();
			if (now < deadline && nvme_ring_timer(c->ring, deadline))
				continue;
		}
		cq->irq_pending = false;
		cq->coalesced = 0;
		c->host.irq(c->host.opaque, cq->vector);
	}
}

static void req_init(struct nvme_req *r)
{
	r->ns = NULL;
	r->result = 0;
	r->result1 = 0;
	r->status = NVME_SC_SUCCESS;
	r->pending = 0;
	r->sg.niov = 0;
	r->sg.len = 0;
	r->inject = 0;
}

void nvme_sq_run(struct nvme_ctrl *c, struct nvme_sq *sq)
{
	while (nvme_ctrl_ready(c) && sq->head != sq->tail) {
		struct nvme_req *r = sq->free;
		const void *p;
		uint16_t status;

		if (!r) {
			sq->stalled = true; /* resumes when a completion frees a request */
			return;
		}
		p = c->host.dma_map(c->host.opaque, sq->base + (uint64_t)sq->head * 64, 64);
		if (!p) {
			nvme_ctrl_fatal(c, "submission queue outside memory");
			return;
		}
		sq->free = r->next;
		req_init(r);
		memcpy(&r->cmd, p, sizeof(r->cmd));
		sq->head = (sq->head + 1) % sq->size;
		c->inj.commands++;
		if (__atomic_load_n(&c->inj.armed, __ATOMIC_RELAXED) &&
		    nvme_inject_fetch(c, r) == NVME_INJECT_FAIL) {
			nvme_req_complete(r);
			continue;
		}
		status = sq->qid ? nvme_io_exec(c, r) : nvme_admin_exec(c, r);
		if (status != NVME_STATUS_PENDING) {
			r->status = status;
			nvme_req_complete(r);
		}
	}
	sq->stalled = false;
}

void nvme_run_all(struct nvme_ctrl *c)
{
	for (unsigned q = 0; q <= c->max_queues; q++)
		if (c->sq[q])
			nvme_sq_run(c, c->sq[q]);
}

/* 4.1 / 5.2.1: bad doorbell writes are ignored and reported as an error event. */
static void bad_doorbell(struct nvme_ctrl *c, uint8_t info, uint16_t qid, uint32_t val)
{
	pr_ratelimited("%s: invalid doorbell write: queue %u value %u (%s)", c->name, qid, val,
		       info == NVME_AER_ERR_INVALID_DB_REG ? "no such queue" : "bad value");
	nvme_error_log(c, 0xffff, 0xffff, 0);
	nvme_aen_post(c, NVME_AER_TYPE_ERROR, info, NVME_LOG_ERROR);
}

void nvme_sq_doorbell(struct nvme_ctrl *c, uint16_t qid, uint32_t val)
{
	struct nvme_sq *sq;

	if (!nvme_ctrl_ready(c)) {
		pr_ratelimited("%s: doorbell write while not ready ignored", c->name);
		return;
	}
	sq = qid <= c->max_queues ? c->sq[qid] : NULL;
	if (!sq) {
		bad_doorbell(c, NVME_AER_ERR_INVALID_DB_REG, qid, val);
		return;
	}
	if (val >= sq->size) {
		bad_doorbell(c, NVME_AER_ERR_INVALID_DB_VALUE, qid, val);
		return;
	}
	if (c->dbbuf.enabled && qid) {
		nvme_dbbuf_sq_rung(c, sq);
		return;
	}
	sq->tail = val;
	nvme_sq_run(c, sq);
}

void nvme_cq_doorbell(struct nvme_ctrl *c, uint16_t qid, uint32_t val)
{
	struct nvme_cq *cq;
	uint32_t posted;

	if (!nvme_ctrl_ready(c)) {
		pr_ratelimited("%s: doorbell write while not ready ignored", c->name);
		return;
	}
	cq = qid <= c->max_queues ? c->cq[qid] : NULL;
	if (!cq) {
		bad_doorbell(c, NVME_AER_ERR_INVALID_DB_REG, qid, val);
		return;
	}
	if (c->dbbuf.enabled && qid) {
		nvme_dbbuf_cq_rung(c, cq);
		return;
	}
	/* The new head may not pass entries the controller has not posted. */
	posted = (cq->tail + cq->size - cq->head) % cq->size;
	if (val >= cq->size || (val + cq->size - cq->head) % cq->size > posted) {
		bad_doorbell(c, NVME_AER_ERR_INVALID_DB_VALUE, qid, val);
		return;
	}
	cq->head = val;
	if (cq->held) {
		nvme_cq_post_held(c, cq);
		nvme_run_all(c); /* SQs that ran out of requests go on */
	}
}
