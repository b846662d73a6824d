/* SPDX-License-Identifier: MIT */
/* The test-side NVMe host driver (see test_nvme.h). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/test_nvme.h"

static void *fake_dma_map(void *opaque, uint64_t addr, uint64_t len)
{
	struct tnvme *t = opaque;
	uint64_t end;

	if (addr < TN_BASE || __builtin_add_overflow(addr, len, &end) || end > TN_BASE + TN_SIZE)
		return NULL;
	return t->mem + (addr - TN_BASE);
}

static void fake_irq(void *opaque, unsigned vector)
{
	struct tnvme *t = opaque;

	if (vector < 128)
		t->irqs[vector]++;
	t->nirq++;
}

void tn_config(struct nvme_ctrl_config *cfg, struct nvme_ns_config *ns, unsigned nr_ns)
{
	memset(cfg, 0, sizeof(*cfg));
	for (unsigned i = 0; i < nr_ns; i++)
		ns[i] = (struct nvme_ns_config){.size = 1 << 20, .lba_size = 512, .backend = "ram"};
	cfg->ns = ns;
	cfg->nr_ns = nr_ns;
	cfg->max_queues = TN_MAXQ;
	cfg->vid = 0x1af4;
}

void tn_create(struct tnvme *t, const struct nvme_ctrl_config *cfg)
{
	struct nvme_host host = {.dma_map = fake_dma_map, .irq = fake_irq, .opaque = t};
	char err[256] = "";

	memset(t, 0, sizeof(*t));
	t->mem = calloc(1, TN_SIZE);
	cr_assert(t->mem);
	t->next = TN_BASE;
	t->c = nvme_ctrl_create(cfg, &host, err, sizeof(err));
	cr_assert(t->c, "create failed: %s", err);
}

void tn_destroy(struct tnvme *t)
{
	nvme_ctrl_destroy(t->c);
	free(t->mem);
}

void *tn_ptr(struct tnvme *t, uint64_t addr)
{
	cr_assert(addr >= TN_BASE && addr < TN_BASE + TN_SIZE);
	return t->mem + (addr - TN_BASE);
}

uint64_t tn_alloc(struct tnvme *t, uint64_t size, uint64_t align)
{
	uint64_t a = (t->next + align - 1) & ~(align - 1);

	cr_assert(a + size <= TN_BASE + TN_SIZE, "fake guest memory exhausted");
	t->next = a + size;
	memset(tn_ptr(t, a), 0, size);
	return a;
}

uint32_t tn_rd32(struct tnvme *t, uint64_t off)
{
	return (uint32_t)nvme_bar0_read(t->c, off, 4);
}

void tn_wr32(struct tnvme *t, uint64_t off, uint32_t v)
{
	nvme_bar0_write(t->c, off, v, 4);
}

void tn_wr64_halves(struct tnvme *t, uint64_t off, uint64_t v)
{
	tn_wr32(t, off, (uint32_t)v);
	tn_wr32(t, off + 4, (uint32_t)(v >> 32));
}

static void setup_admin(struct tnvme *t, uint32_t entries)
{
	struct tn_queue *q = &t->q[0];

	q->size = q->sq_size = entries;
	q->sq_tail = 0;
	q->cq_head = 0;
	q->sq = tn_alloc(t, entries * 64, 4096);
	q->cq = tn_alloc(t, entries * 16, 4096);
	q->phase = true;
	tn_wr32(t, NVME_REG_AQA, (entries - 1) | (entries - 1) << 16);
	tn_wr64_halves(t, NVME_REG_ASQ, q->sq);
	tn_wr64_halves(t, NVME_REG_ACQ, q->cq);
}

#define CC_IO_ES (6u << 16 | 4u << 20)

void tn_enable_linux(struct tnvme *t, uint32_t entries)
{
	/* Linux nvme_enable_ctrl: CC.CSS 110b (all I/O command sets) when CAP.CSS has bit 6 */
	uint32_t css = nvme_bar0_read(t->c, NVME_REG_CAP, 8) & NVME_CAP_CSS_CSI
			       ? NVME_CC_CSS_CSI << 4
			       : NVME_CC_CSS_NVM << 4;

	setup_admin(t, entries);
	tn_wr32(t, NVME_REG_CC, CC_IO_ES | css);
	tn_wr32(t, NVME_REG_CC, CC_IO_ES | css | NVME_CC_EN);
	cr_assert_eq(tn_rd32(t, NVME_REG_CSTS) & 3, NVME_CSTS_RDY);
}

void tn_enable_seabios(struct tnvme *t, uint32_t entries)
{
	setup_admin(t, entries);
	tn_wr32(t, NVME_REG_CC, CC_IO_ES | NVME_CC_EN);
	cr_assert_eq(tn_rd32(t, NVME_REG_CSTS) & 3, NVME_CSTS_RDY);
}

uint16_t tn_put(struct tnvme *t, uint16_t qid, struct nvme_sqe *cmd)
{
	struct tn_queue *q = &t->q[qid];

	cmd->cid = ++t->cid;
	memcpy(tn_ptr(t, q->sq + (uint64_t)q->sq_tail * 64), cmd, 64);
	q->sq_tail = (uint16_t)((q->sq_tail + 1) % q->sq_size);
	return cmd->cid;
}

void tn_ring_sq(struct tnvme *t, uint16_t qid)
{
	tn_wr32(t, nvme_sq_doorbell_offset(t->c, qid), t->q[qid].sq_tail);
}

bool tn_poll(struct tnvme *t, uint16_t qid, struct nvme_cqe *out)
{
	struct tn_queue *q = &t->q[qid];
	struct nvme_cqe e;

	memcpy(&e, tn_ptr(t, q->cq + (uint64_t)q->cq_head * 16), 16);
	if ((e.status & 1) != q->phase)
		return false;
	if (++q->cq_head == q->size) {
		q->cq_head = 0;
		q->phase = !q->phase;
	}
	tn_wr32(t, nvme_sq_doorbell_offset(t->c, qid) + 4, q->cq_head);
	if (out)
		*out = e;
	return true;
}

uint16_t tn_cmd(struct tnvme *t, uint16_t qid, struct nvme_sqe *cmd, struct nvme_cqe *out)
{
	struct nvme_cqe e;
	uint16_t cid = tn_put(t, qid, cmd);

	tn_ring_sq(t, qid);
	cr_assert(tn_poll(t, qid, &e), "no completion for opcode 0x%x on queue %u", cmd->opcode,
		  qid);
	cr_assert_eq(e.cid, cid);
	cr_assert_eq(e.sqid, qid);
	cr_assert_eq(e.sqhd, t->q[qid].sq_tail);
	if (out)
		*out = e;
	return tn_status(&e);
}

uint16_t tn_create_cq(struct tnvme *t, uint16_t qid, uint32_t size, bool ien, uint16_t iv)
{
	uint64_t base = tn_alloc(t, size * 16, 4096);
	struct nvme_sqe cmd = {.opcode = NVME_ADM_CREATE_CQ,
			       .prp1 = base,
			       .cdw10 = qid | (size - 1) << 16,
			       .cdw11 = 1u | (ien ? 2u : 0) | (uint32_t)iv << 16};
	uint16_t st = tn_cmd(t, 0, &cmd, NULL);

	if (!st && qid <= TN_MAXQ) {
		t->q[qid].cq = base;
		t->q[qid].size = size;
		t->q[qid].cq_head = 0;
		t->q[qid].phase = true;
	}
	return st;
}

uint16_t tn_create_sq(struct tnvme *t, uint16_t qid, uint16_t cqid, uint32_t size)
{
	uint64_t base = tn_alloc(t, size * 64, 4096);
	struct nvme_sqe cmd = {.opcode = NVME_ADM_CREATE_SQ,
			       .prp1 = base,
			       .cdw10 = qid | (size - 1) << 16,
			       .cdw11 = 1u | (uint32_t)cqid << 16};
	uint16_t st = tn_cmd(t, 0, &cmd, NULL);

	if (!st && qid <= TN_MAXQ) {
		t->q[qid].sq = base;
		t->q[qid].sq_size = size;
		t->q[qid].sq_tail = 0;
	}
	return st;
}

void tn_start_cfg(struct tnvme *t, const struct nvme_ctrl_config *cfg)
{
	tn_create(t, cfg);
	tn_enable_linux(t, 32);
	cr_assert_eq(tn_create_cq(t, 1, 64, true, 1), 0);
	cr_assert_eq(tn_create_sq(t, 1, 1, 64), 0);
}

void tn_start(struct tnvme *t)
{
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[1];

	tn_config(&cfg, ns, 1);
	tn_start_cfg(t, &cfg);
}

uint16_t tn_rw(struct tnvme *t, uint8_t opc, uint32_t nsid, uint64_t slba, uint32_t nlb,
	       uint64_t buf, uint32_t cdw12_flags)
{
	struct nvme_sqe cmd = {.opcode = opc,
			       .nsid = nsid,
			       .cdw10 = (uint32_t)slba,
			       .cdw11 = (uint32_t)(slba >> 32),
			       .cdw12 = (nlb - 1) | cdw12_flags};
	uint64_t len = 0;

	/* Build PRPs for a page-aligned buffer of up to the nlb * 4096 bytes it could need. */
	cmd.prp1 = buf;
	if (buf) {
		len = (uint64_t)nlb * 4096;
		if (len > 4096 - (buf & 4095)) {
			uint64_t first = 4096 - (buf & 4095), rest = len - first;
			uint64_t pages = (rest + 4095) / 4096;

			if (pages == 1) {
				cmd.prp2 = buf + first;
			} else {
				uint64_t list = tn_alloc(t, pages * 8, 4096);
				uint64_t *e = tn_ptr(t, list);

				cr_assert(pages <= 512);
				for (uint64_t i = 0; i < pages; i++)
					e[i] = buf + first + i * 4096;
				cmd.prp2 = list;
			}
		}
	}
	return tn_cmd(t, 1, &cmd, NULL);
}

uint16_t tn_identify(struct tnvme *t, uint8_t cns, uint32_t nsid, uint64_t *buf)
{
	struct nvme_sqe cmd = {.opcode = NVME_ADM_IDENTIFY, .nsid = nsid, .cdw10 = cns};

	*buf = tn_alloc(t, 4096, 4096);
	cmd.prp1 = *buf;
	return tn_cmd(t, 0, &cmd, NULL);
}

uint16_t tn_get_log(struct tnvme *t, uint8_t lid, uint32_t nsid, uint32_t len, uint64_t *buf)
{
	uint32_t numd = len / 4 - 1;
	struct nvme_sqe cmd = {.opcode = NVME_ADM_GET_LOG_PAGE,
			       .nsid = nsid,
			       .cdw10 = lid | (numd & 0xffff) << 16,
			       .cdw11 = numd >> 16};

	*buf = tn_alloc(t, len, 4096);
	cmd.prp1 = *buf;
	if (len > 4096)
		cmd.prp2 = *buf + 4096; /* callers keep len <= 8 KiB */
	return tn_cmd(t, 0, &cmd, NULL);
}
