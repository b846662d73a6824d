/* SPDX-License-Identifier: MIT */
/*
 * The NVMe model behind an IOMMU (docs/iommu.md): bus addresses in a window are IOVAs whose
 * 4 KiB pages lie scattered in memory, as Linux's iommu_dma_alloc_remap() hands them out.
 * Queues and data buffers that are contiguous in IOVA space must work although no single
 * host pointer covers them.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "devices/nvme/internal.h"
#include "tests/unit/test_nvme.h"

#define PG     4096u
#define WIN    0x40000000ull /* IOVA window */
#define NPAGES 8u

struct scatter {
	struct tnvme *t;
	void *(*inner)(void *opaque, uint64_t addr, uint64_t len);
	uint64_t page[NPAGES]; /* bus address behind IOVA page i: never adjacent */
};

static struct scatter sc;

/* One IOVA page at a time, like the VT-d path: a range across two pages has no pointer. */
static void *scatter_map(void *opaque, uint64_t addr, uint64_t len)
{
	if (addr >= WIN && addr - WIN < NPAGES * PG) {
		uint64_t i = (addr - WIN) / PG, off = (addr - WIN) % PG;

		if (len > PG - off)
			return NULL;
		return sc.inner(opaque, sc.page[i] + off, len);
	}
	return sc.inner(opaque, addr, len);
}

static void *iova_ptr(uint64_t iova)
{
	return tn_ptr(sc.t, sc.page[(iova - WIN) / PG] + (iova - WIN) % PG);
}

static void scatter_start(struct tnvme *t)
{
	uint64_t pool;

	tn_start(t);
	sc.t = t;
	pool = tn_alloc(t, 2 * NPAGES * PG, PG);
	for (unsigned i = 0; i < NPAGES; i++) /* reversed, with a page hole between */
		sc.page[i] = pool + (uint64_t)(NPAGES - 1 - i) * 2 * PG;
	sc.inner = t->c->host.dma_map;
	t->c->host.dma_map = scatter_map;
}

Test(nvme_iommu, io_cq_on_scattered_pages)
{
	struct tnvme t;
	struct nvme_sqe cmd;
	uint16_t head = 0, st;
	bool phase = true;

	scatter_start(&t);
	/* 512 entries: two IOVA pages, not adjacent behind */
	cmd = (struct nvme_sqe){
		.opcode = NVME_ADM_CREATE_CQ, .prp1 = WIN, .cdw10 = 2 | 511u << 16, .cdw11 = 1};
	st = tn_cmd(&t, 0, &cmd, NULL);
	cr_assert_eq(st, 0, "Create I/O CQ on IOVA-contiguous pages: 0x%x", st);
	cr_assert_eq(tn_create_sq(&t, 2, 2, 64), 0);
	/* 300 completions: the second page of the CQ is used too */
	for (int i = 0; i < 300; i++) {
		struct nvme_cqe e;

		cmd = (struct nvme_sqe){.opcode = NVME_CMD_FLUSH, .nsid = 1};
		uint16_t cid = tn_put(&t, 2, &cmd);
		tn_ring_sq(&t, 2);
		memcpy(&e, iova_ptr(WIN + (uint64_t)head * 16), 16);
		cr_assert_eq(e.status & 1, phase, "no completion %d", i);
		cr_assert_eq(e.cid, cid);
		cr_assert_eq(tn_status(&e), 0);
		if (++head == 512) {
			head = 0;
			phase = !phase;
		}
		tn_wr32(&t, nvme_sq_doorbell_offset(t.c, 2) + 4, head);
	}
	tn_destroy(&t);
}

Test(nvme_iommu, sgl_data_block_across_scattered_pages)
{
	struct tnvme t;
	uint64_t buf;
	uint8_t *p, d[16] = {0};
	uint64_t iova = WIN + PG / 2, p1, p2;
	uint32_t len = 4096;

	scatter_start(&t);
	buf = tn_alloc(&t, PG, PG);
	p = tn_ptr(&t, buf);
	for (unsigned i = 0; i < PG; i++)
		p[i] = (uint8_t)(i * 7 + 3);
	cr_assert_eq(tn_rw(&t, NVME_CMD_WRITE, 1, 0, 8, buf, 0), 0);
	/* one SGL Data Block descriptor (NVMe 1.4 4.4) of 4 KiB from the middle of IOVA page 0 */
	memcpy(d, &iova, 8);
	memcpy(d + 8, &len, 4);
	d[15] = NVME_SGL_TYPE_DATA_BLOCK << 4;
	memcpy(&p1, d, 8);
	memcpy(&p2, d + 8, 8);
	struct nvme_sqe cmd = {.opcode = NVME_CMD_READ,
			       .flags = 1 << 6,
			       .nsid = 1,
			       .prp1 = p1,
			       .prp2 = p2,
			       .cdw12 = 7};
	cr_assert_eq(tn_cmd(&t, 1, &cmd, NULL), 0);
	cr_assert_eq(memcmp(iova_ptr(iova), p, PG / 2), 0, "first half, IOVA page 0");
	cr_assert_eq(memcmp(iova_ptr(WIN + PG), p + PG / 2, PG / 2), 0, "second half, page 1");
	/* an IOVA page the window does not map: Data Transfer Error */
	iova = WIN + NPAGES * PG - 512;
	memcpy(d, &iova, 8);
	memcpy(&cmd.prp1, d, 8);
	cr_assert_eq(tn_cmd(&t, 1, &cmd, NULL), NVME_SC_DATA_XFER_ERROR);
	tn_destroy(&t);
}
