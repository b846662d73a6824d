/* SPDX-License-Identifier: MIT */
/*
 * Error injection into the NVMe controller model at run time (the control socket, vmm/ctl.h,
 * is the user). Rules are armed from any thread; the command path checks one relaxed atomic
 * load while nothing is armed (devices/nvme/inject.c says where it hooks in and why).
 *
 *   fail:  the next `count` matching commands are not executed; they complete with `status`.
 *   delay: the next `count` matching commands execute; their CQE is posted `delay_ms` later.
 *   drop:  the next `count` matching commands execute; their CQE is not posted. An Abort
 *          (admin 08h) naming one completes it with Command Abort Requested; a reset
 *          forgets it.
 * Plus CSTS.CFS on demand (cleared by a controller reset, CC.EN 1 -> 0).
 */
#ifndef DEVICES_NVME_INJECT_H
#define DEVICES_NVME_INJECT_H

#include <stdbool.h>
#include <stdint.h>

struct nvme_ctrl;

#define NVME_INJECT_MAX_RULES 16
#define NVME_INJECT_ANY	      (-1)  /* match field: any value */
#define NVME_INJECT_MAX_DELAY 60000 /* ms */

enum nvme_inject_kind { NVME_INJECT_FAIL = 1, NVME_INJECT_DELAY, NVME_INJECT_DROP };

struct nvme_inject_rule {
	enum nvme_inject_kind kind;
	int opcode;	   /* 0..255 or NVME_INJECT_ANY */
	int64_t nsid;	   /* 0..0xffffffff or NVME_INJECT_ANY */
	int qid;	   /* 0 (admin)..65535 or NVME_INJECT_ANY */
	uint32_t count;	   /* >= 1 */
	uint16_t status;   /* fail: the Status Field without P: DNR << 14 | SCT << 8 | SC */
	uint32_t delay_ms; /* delay: 1..NVME_INJECT_MAX_DELAY */
};

/* Arm a rule (checked first-armed first). 0, -EINVAL for a bad rule, -ENOSPC when full. */
int nvme_inject_add(struct nvme_ctrl *c, const struct nvme_inject_rule *rule);
/* Drop every armed rule (completions already delayed still post on time). */
void nvme_inject_clear(struct nvme_ctrl *c);
/* Set CSTS.CFS as an internal fatal error would. */
void nvme_inject_cfs(struct nvme_ctrl *c);

struct nvme_inject_queue {
	uint16_t qid, cqid;
	uint32_t depth; /* entries */
};

struct nvme_inject_stats {
	uint64_t commands; /* fetched from any SQ since creation */
	uint64_t fired;	   /* injections that took effect */
	unsigned armed;	   /* rules armed now */
	unsigned delayed;  /* completions waiting to be posted */
	unsigned dropped;  /* commands whose completion is held back (until Abort or reset) */
	uint32_t csts;
	unsigned nsq; /* SQs in q[] (at most max) */
};

/* A snapshot of the counters and the SQs that exist now (up to max of them in q). */
void nvme_inject_stats(struct nvme_ctrl *c, struct nvme_inject_stats *st,
		       struct nvme_inject_queue *q, unsigned max);

#endif
