/* SPDX-License-Identifier: MIT */
/*
 * A tiny NVMe host driver for the controller-model tests: fake guest memory (16 MiB at bus
 * address 0x100000, bounds-checked and overflow-safe dma_map), a recording irq, and helpers
 * that enable the controller through registers, write SQ entries, ring doorbells and read
 * CQ entries by phase tag.
 */
#ifndef TEST_NVME_H
#define TEST_NVME_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/nvme/nvme.h"
#include "devices/nvme/spec.h"

#define TN_BASE 0x100000ULL
#define TN_SIZE (16ULL << 20)
#define TN_MAXQ 8

struct tn_queue {
	uint64_t sq, cq;
	uint32_t size, sq_size; /* CQ and SQ entries */
	uint16_t sq_tail, cq_head;
	bool phase;
};

struct tnvme {
	uint8_t *mem;
	struct nvme_ctrl *c;
	unsigned irqs[128];
	unsigned nirq;
	uint64_t next; /* bump allocator for guest memory */
	uint16_t cid;
	struct tn_queue q[TN_MAXQ + 1];
};

/* Default config: one 1 MiB ram namespace with 512-byte blocks, max_queues 8. */
void tn_config(struct nvme_ctrl_config *cfg, struct nvme_ns_config *ns, unsigned nr_ns);
void tn_create(struct tnvme *t, const struct nvme_ctrl_config *cfg);
/* Create with defaults, enable Linux style, create I/O queue pair 1 (64 entries, vector 1). */
void tn_start(struct tnvme *t);
void tn_start_cfg(struct tnvme *t, const struct nvme_ctrl_config *cfg);
void tn_destroy(struct tnvme *t);

void *tn_ptr(struct tnvme *t, uint64_t addr);
uint64_t tn_alloc(struct tnvme *t, uint64_t size, uint64_t align);

uint32_t tn_rd32(struct tnvme *t, uint64_t off);
void tn_wr32(struct tnvme *t, uint64_t off, uint32_t v);
void tn_wr64_halves(struct tnvme *t, uint64_t off, uint64_t v);

/* Admin queues of `entries` entries each; CC written then EN separately (Linux). */
void tn_enable_linux(struct tnvme *t, uint32_t entries);
/* CC written at once with EN (SeaBIOS). */
void tn_enable_seabios(struct tnvme *t, uint32_t entries);

/* Write the SQE at the tail of queue qid (cid assigned) without ringing the doorbell. */
uint16_t tn_put(struct tnvme *t, uint16_t qid, struct nvme_sqe *cmd);
void tn_ring_sq(struct tnvme *t, uint16_t qid);
/* Next CQE of queue qid if its phase tag says it is new; advances head and rings. */
bool tn_poll(struct tnvme *t, uint16_t qid, struct nvme_cqe *out);
/* Submit, ring and wait; returns the status field without P and DNR (SCT << 8 | SC). */
uint16_t tn_cmd(struct tnvme *t, uint16_t qid, struct nvme_sqe *cmd, struct nvme_cqe *out);
uint16_t tn_create_cq(struct tnvme *t, uint16_t qid, uint32_t size, bool ien, uint16_t iv);
uint16_t tn_create_sq(struct tnvme *t, uint16_t qid, uint16_t cqid, uint32_t size);
/* Read/write nlb blocks at slba of nsid through PRPs from/to guest buffer buf. */
uint16_t tn_rw(struct tnvme *t, uint8_t opc, uint32_t nsid, uint64_t slba, uint32_t nlb,
	       uint64_t buf, uint32_t cdw12_flags);
/* Identify into a fresh 4 KiB guest buffer; returns its address. */
uint16_t tn_identify(struct tnvme *t, uint8_t cns, uint32_t nsid, uint64_t *buf);
uint16_t tn_get_log(struct tnvme *t, uint8_t lid, uint32_t nsid, uint32_t len, uint64_t *buf);

static inline uint16_t tn_status(const struct nvme_cqe *e)
{
	return (e->status >> 1) & 0x7ff;
}

#endif
