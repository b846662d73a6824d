/* SPDX-License-Identifier: MIT */
/*
 * Error injection (inject.h). Two hooks in queue.c, nothing else on the command path:
 *   - nvme_sq_run, after an SQ entry is fetched: while some rule is armed (one relaxed atomic
 *     load otherwise), the first armed rule matching the command's opcode, NSID and SQ ID
 *     counts down; fail completes the command at once with its status, unexecuted;
 *   - nvme_req_complete, for a command marked at fetch: drop parks the request on
 *     c->inj.dropped without posting (the host's timeout handling takes over: an Abort of
 *     it completes it with Command Abort Requested, a reset forgets it), delay parks it on
 *     c->inj.delayed.
 * Delayed completions are posted by nvme_irq_flush once due. With an I/O thread the
 * controller's timer (nvme_ring_timer, the one interrupt coalescing uses) wakes it for the
 * earliest; it never blocks: other queues go on meanwhile. Without an I/O thread they are
 * posted by the next doorbell or nvme_process after they are due.
 */
#include <errno.h>
#include <string.h>

#include "devices/nvme/internal.h"
#include "devices/nvme/iothread.h"
#include "vmm/util.h"

void nvme_inject_init(struct nvme_ctrl *c)
{
	memset(&c->inj, 0, sizeof(c->inj));
	pthread_mutex_init(&c->inj.lock, NULL);
}

void nvme_inject_fini(struct nvme_ctrl *c)
{
	pthread_mutex_destroy(&c->inj.lock);
}

static bool rule_valid(const struct nvme_inject_rule *r)
{
	if (r->opcode != NVME_INJECT_ANY && (r->opcode < 0 || r->opcode > 0xff))
		return false;
	if (r->nsid != NVME_INJECT_ANY && (r->nsid < 0 || r->nsid > 0xffffffffLL))
		return false;
	if (r->qid != NVME_INJECT_ANY && (r->qid < 0 || r->qid > 0xffff))
		return false;
	if (!r->count)
		return false;
	switch (r->kind) {
	case NVME_INJECT_FAIL:
		/* NVMe 1.4 4.6.1 Status Field: SC 7:0, SCT 10:8, DNR 14. 0 would be a success;
		 * CRD and M (11-13) stay 0. */
		return r->status && !(r->status & ~0x47ffu);
	case NVME_INJECT_DELAY:
		return r->delay_ms >= 1 && r->delay_ms <= NVME_INJECT_MAX_DELAY;
	case NVME_INJECT_DROP:
		return true;
	}
	return false;
}

int nvme_inject_add(struct nvme_ctrl *c, const struct nvme_inject_rule *rule)
{
	int ret = 0;

	if (!rule_valid(rule))
		return -EINVAL;
	pthread_mutex_lock(&c->inj.lock);
	if (c->inj.nrules == NVME_INJECT_MAX_RULES) {
		ret = -ENOSPC;
	} else {
		c->inj.rule[c->inj.nrules++] = *rule;
		__atomic_store_n(&c->inj.armed, c->inj.nrules, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&c->inj.lock);
	return ret;
}

void nvme_inject_clear(struct nvme_ctrl *c)
{
	pthread_mutex_lock(&c->inj.lock);
	c->inj.nrules = 0;
	__atomic_store_n(&c->inj.armed, 0, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&c->inj.lock);
}

void nvme_inject_cfs(struct nvme_ctrl *c)
{
	pthread_mutex_lock(&c->lock);
	/* NVMe 1.4 3.1.6 (CSTS.CFS): set on a fatal error; it stays set until a Controller
	 * Level Reset (7.3.2, CC.EN 1 -> 0 in ctrl.c). No command is processed meanwhile. */
	nvme_ctrl_fatal(c, "injected from the control socket");
	pthread_mutex_unlock(&c->lock);
}

static bool rule_matches(const struct nvme_inject_rule *rule, const struct nvme_req *r)
{
	return (rule->opcode == NVME_INJECT_ANY || rule->opcode == r->cmd.opcode) &&
	       (rule->nsid == NVME_INJECT_ANY || rule->nsid == (int64_t)r->cmd.nsid) &&
	       (rule->qid == NVME_INJECT_ANY || rule->qid == r->sq->qid);
}

int nvme_inject_fetch(struct nvme_ctrl *c, struct nvme_req *r)
{
	struct nvme_inject_state *s = &c->inj;
	int kind = 0;

	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < s->nrules; i++) {
		struct nvme_inject_rule *rule = &s->rule[i];

		if (!rule_matches(rule, r))
			continue;
		kind = rule->kind;
		if (kind == NVME_INJECT_FAIL)
			r->status = rule->status;
		else if (kind == NVME_INJECT_DELAY)
			r->inject_due = time_ns() + rule->delay_ms * 1000000ULL;
		r->inject = (uint8_t)kind;
		s->fired++;
		if (!--rule->count) {
			memmove(rule, rule + 1, (s->nrules - i - 1) * sizeof(*rule));
			s->nrules--;
			__atomic_store_n(&s->armed, s->nrules, __ATOMIC_RELEASE);
		}
		break;
	}
	pthread_mutex_unlock(&s->lock);
	if (kind)
		pr_debug("%s: injected %s on sq %u cid %u opcode 0x%02x", c->name,
			 kind == NVME_INJECT_FAIL    ? "failure"
			 : kind == NVME_INJECT_DELAY ? "delay"
						     : "drop",
			 r->sq->qid, r->cmd.cid, r->cmd.opcode);
	return kind;
}

bool nvme_inject_complete(struct nvme_ctrl *c, struct nvme_req *r)
{
	switch (r->inject) {
	case NVME_INJECT_DROP:
		/* The command ran; its CQE is not posted (NVMe 1.4 4.6: the host learns of a
		 * completion only from the CQ), so the host times out and Aborts it (5.1,
		 * nvme_inject_abort) or resets the controller. It keeps its SQ slot meanwhile,
		 * as a command stuck in a real controller does. */
		r->next = c->inj.dropped;
		c->inj.dropped = r;
		c->inj.ndropped++;
		return true;
	case NVME_INJECT_DELAY:
		r->next = c->inj.delayed;
		c->inj.delayed = r;
		c->inj.ndelayed++;
		nvme_ring_timer(c->ring, r->inject_due);
		return true;
	default:
		r->inject = 0;
		return false;
	}
}

void nvme_inject_post_due(struct nvme_ctrl *c)
{
	uint64_t now = time_ns(), next = 0;
	struct nvme_req **pp = &c->inj.delayed;

	while (*pp) {
		struct nvme_req *r = *pp;

		if (r->inject_due > now) {
			if (!next || r->inject_due < next)
				next = r->inject_due;
			pp = &r->next;
			continue;
		}
		*pp = r->next;
		c->inj.ndelayed--;
		r->inject = 0;
		nvme_req_complete(r);
	}
	if (next)
		nvme_ring_timer(c->ring, next);
}

static void forget(struct nvme_req **list, unsigned *n, struct nvme_sq *sq)
{
	for (struct nvme_req **pp = list; *pp;) {
		if ((*pp)->sq == sq) {
			*pp = (*pp)->next;
			(*n)--;
		} else {
			pp = &(*pp)->next;
		}
	}
}

void nvme_inject_sq_deleted(struct nvme_ctrl *c, struct nvme_sq *sq)
{
	forget(&c->inj.delayed, &c->inj.ndelayed, sq);
	forget(&c->inj.dropped, &c->inj.ndropped, sq);
}

static struct nvme_req *take(struct nvme_req **list, unsigned *n, uint16_t sqid, uint16_t cid)
{
	for (struct nvme_req **pp = list; *pp; pp = &(*pp)->next) {
		struct nvme_req *r = *pp;

		if (r->sq->qid == sqid && r->cmd.cid == cid) {
			*pp = r->next;
			(*n)--;
			return r;
		}
	}
	return NULL;
}

bool nvme_inject_abort(struct nvme_ctrl *c, uint16_t sqid, uint16_t cid)
{
	struct nvme_req *r = take(&c->inj.dropped, &c->inj.ndropped, sqid, cid);

	if (!r)
		r = take(&c->inj.delayed, &c->inj.ndelayed, sqid, cid);
	if (!r)
		return false;
	/* NVMe 1.4 5.1: the aborted command completes with Command Abort Requested. */
	r->inject = 0;
	r->status = NVME_SC_ABORT_REQ;
	nvme_req_complete(r);
	return true;
}

void nvme_inject_stats(struct nvme_ctrl *c, struct nvme_inject_stats *st,
		       struct nvme_inject_queue *q, unsigned max)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&c->lock);
	st->commands = c->inj.commands;
	st->delayed = c->inj.ndelayed;
	st->dropped = c->inj.ndropped;
	st->csts = c->csts;
	for (unsigned i = 0; i <= c->max_queues; i++) {
		struct nvme_sq *sq = c->sq[i];

		if (!sq || st->nsq >= max)
			continue;
		q[st->nsq++] = (struct nvme_inject_queue){sq->qid, sq->cqid, sq->size};
	}
	pthread_mutex_lock(&c->inj.lock);
	st->fired = c->inj.fired;
	st->armed = c->inj.nrules;
	pthread_mutex_unlock(&c->inj.lock);
	pthread_mutex_unlock(&c->lock);
}
