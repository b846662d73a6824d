/* SPDX-License-Identifier: MIT */
/*
 * vtd-nvme: an NVMe controller behind vmm's VT-d unit ([iommu] model = "intel", registers at
 * 0xFED90000, docs/iommu.md), driven the way Linux's intel-iommu and nvme drivers do it:
 * root and context tables and a 4-level second-level table map every queue and buffer at
 * an IOVA unlike its physical address, queued invalidation is enabled, translation turned
 * on; then the controller is enabled, identified, given an I/O queue pair, and a block is
 * written and read back through IOVAs. Then the read buffer's page is unmapped (PTE
 * cleared, IOTLB invalidated through the queue with a wait descriptor), a read into it must
 * fail with Data Transfer Error, and the unit must hold a fault record naming the
 * controller and the IOVA.
 *
 * Output: "vtd-nvme: ..." lines, "vtd-nvme: FAIL ..." for failed checks, then
 * "vtd-nvme: done errors=N". Power-off (status 0) when nothing failed, else status 3.
 * Everything runs at CPL 0: a few hundred register accesses and short polls.
 */
#include "rt.h"

const char *rt_prog = "vtd-nvme";

#define ECAM	   0xB0000000ULL
#define VTD	   0xFED90000ULL
#define PAGE	   4096u
#define IOVA_BASE  0x40000000ull /* where the controller sees everything */
#define POLL_LIMIT 2000000

/* VT-d registers and bits (VT-d spec 11.4, Linux intel/iommu.h names) */
#define DMAR_VER    0x00
#define DMAR_CAP    0x08
#define DMAR_GCMD   0x18
#define DMAR_GSTS   0x1c
#define DMAR_RTADDR 0x20
#define DMAR_FSTS   0x34
#define DMAR_IQH    0x80
#define DMAR_IQT    0x88
#define DMAR_IQA    0x90
#define GCMD_TE	    (1u << 31)
#define GCMD_SRTP   (1u << 30)
#define GCMD_QIE    (1u << 26)
#define FSTS_PPF    (1u << 1)

/* NVMe (NVMe 1.4 3.1, 4.2, 4.6) */
#define CAP  0x00
#define CC   0x14
#define CSTS 0x1c
#define AQA  0x24
#define ASQ  0x28
#define ACQ  0x30
#define DBS  0x1000

struct sqe {
	uint8_t opc, flags;
	uint16_t cid;
	uint32_t nsid, rsvd[2];
	uint64_t mptr, prp1, prp2;
	uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
};
struct cqe {
	uint32_t dw0, dw1;
	uint16_t sqhd, sqid, cid, status;
};

struct q {
	volatile struct sqe *sq;
	volatile struct cqe *cq;
	uint16_t tail, head, phase, depth, qid;
};

static uint64_t bar0, dstrd;
static uint64_t *pml4;
static uint64_t iova_next = IOVA_BASE;
static uint8_t *iq;
static unsigned iq_tail;
static volatile uint32_t *iq_status;

static uint32_t cfg32(uint8_t bus, uint8_t devfn, unsigned off)
{
	return mmio_read32(ECAM + ((uint64_t)bus << 20) + ((uint64_t)devfn << 12) + off);
}

static void *page(void)
{
	void *p = rt_alloc(PAGE, PAGE);

	if (p)
		memset(p, 0, PAGE);
	return p;
}

static bool is_nvme(uint8_t bus, uint8_t devfn)
{
	return (cfg32(bus, devfn, 0) & 0xffff) != 0xffff && cfg32(bus, devfn, 8) >> 8 == 0x010802;
}

/* The first NVMe function on bus 0 or behind a bridge on bus 0 (vmm numbered the tree). */
static bool find_nvme(uint8_t *bus, uint8_t *devfn)
{
	for (unsigned d = 0; d < 256; d++) {
		uint8_t sec;

		if ((cfg32(0, (uint8_t)d, 0) & 0xffff) == 0xffff)
			continue;
		if (is_nvme(0, (uint8_t)d)) {
			*bus = 0;
			*devfn = (uint8_t)d;
			return true;
		}
		if (((cfg32(0, (uint8_t)d, 0xc) >> 16) & 0x7f) != 1)
			continue;
		sec = (uint8_t)(cfg32(0, (uint8_t)d, 0x18) >> 8);
		for (unsigned f = 0; sec && f < 256; f++)
			if (is_nvme(sec, (uint8_t)f)) {
				*bus = sec;
				*devfn = (uint8_t)f;
				return true;
			}
	}
	return false;
}

/* Second-level table (VT-d 9.8): map one 4 KiB page, R+W at every level. */
static uint64_t *pte_of(uint64_t iova)
{
	uint64_t *t = pml4;

	for (int level = 4; level > 1; level--) {
		uint64_t *e = &t[(iova >> (12 + 9 * (level - 1))) & 511];

		if (!(*e & 3))
			*e = (uint64_t)(uintptr_t)page() | 3;
		t = (uint64_t *)(uintptr_t)(*e & ~0xfffull);
	}
	return &t[(iova >> 12) & 511];
}

/* A fresh page for the controller: its IOVA (never its physical address). */
static uint64_t dma_page(void **va)
{
	uint64_t iova = iova_next;

	*va = page();
	iova_next += 2 * PAGE; /* holes between: a stray access faults */
	*pte_of(iova) = (uint64_t)(uintptr_t)*va | 3;
	return iova;
}

/* qi_submit_sync(): descriptors, then a wait descriptor with a status write; poll it. */
static bool qi_submit(uint64_t qw0, uint64_t qw1)
{
	uint64_t *d = (uint64_t *)(iq + iq_tail * 16);

	d[0] = qw0;
	d[1] = qw1;
	iq_tail = (iq_tail + 1) % 256;
	d = (uint64_t *)(iq + iq_tail * 16);
	*iq_status = 0;
	d[0] = 0x5 | 1u << 5 | (uint64_t)1 << 32; /* wait, SW, status data 1 */
	d[1] = (uint64_t)(uintptr_t)iq_status;
	iq_tail = (iq_tail + 1) % 256;
	rt_barrier();
	mmio_write64(VTD + DMAR_IQT, (uint64_t)iq_tail << 4);
	for (int i = 0; i < POLL_LIMIT; i++)
		if (*iq_status == 1)
			return true;
	return false;
}

static void submit(struct q *q, struct sqe *cmd)
{
	static uint16_t cid;

	cmd->cid = ++cid;
	memcpy((void *)&q->sq[q->tail], cmd, sizeof(*cmd));
	q->tail = (uint16_t)((q->tail + 1) % q->depth);
	rt_barrier();
	mmio_write32(bar0 + DBS + (2u * q->qid) * (4u << dstrd), q->tail);
}

/* The status field (SCT|SC) of the next completion, 0xffff on timeout. */
static uint16_t complete(struct q *q)
{
	for (int i = 0; i < POLL_LIMIT; i++) {
		volatile struct cqe *e = &q->cq[q->head];

		if ((e->status & 1) != q->phase)
			continue;
		uint16_t st = (uint16_t)((e->status >> 1) & 0x7ff);

		if (++q->head == q->depth) {
			q->head = 0;
			q->phase ^= 1;
		}
		mmio_write32(bar0 + DBS + (2u * q->qid + 1) * (4u << dstrd), q->head);
		return st;
	}
	return 0xffff;
}

static uint16_t run(struct q *q, struct sqe *cmd)
{
	submit(q, cmd);
	return complete(q);
}

static bool wait_rdy(uint32_t want)
{
	for (int i = 0; i < POLL_LIMIT; i++)
		if ((mmio_read32(bar0 + CSTS) & 1) == want)
			return true;
	return false;
}

int main(void)
{
	uint8_t bus, devfn;
	struct q aq = {.depth = 32, .phase = 1}, ioq = {.depth = 16, .phase = 1, .qid = 1};
	void *asq_va, *acq_va, *id_va, *iosq_va, *iocq_va, *wbuf, *rbuf, *ctx;
	uint64_t asq, acq, id, iosq, iocq, wiova, riova;
	uint16_t st;
	uint8_t *root;

	if (!find_nvme(&bus, &devfn)) {
		rt_fail("no NVMe controller");
		goto out;
	}
	uint16_t sid = (uint16_t)(bus << 8 | devfn);
	uint32_t b0 = cfg32(bus, devfn, 0x10);
	bar0 = (b0 & ~0xfull) | (uint64_t)cfg32(bus, devfn, 0x14) << 32;
	mmio_write32(ECAM + ((uint64_t)bus << 20) + ((uint64_t)devfn << 12) + 4, 0x6); /* MEM|BM */
	rt_printf("vtd-nvme: nvme at %02x:%02x.%x bar0 0x%llx\n", bus, devfn >> 3, devfn & 7,
		  (unsigned long long)bar0);

	uint64_t cap = mmio_read64(VTD + DMAR_CAP);
	unsigned fro = (unsigned)((cap >> 24) & 0x3ff) * 16;
	rt_printf("vtd-nvme: vtd ver 0x%x cap 0x%llx\n", mmio_read32(VTD + DMAR_VER),
		  (unsigned long long)cap);
	if (!((cap >> 7) & 1) || !((cap >> 10) & 1))
		rt_fail("CAP: want caching mode and 4-level tables");

	/* tables (VT-d 9.1, 9.3): root[bus] -> context[devfn] (AW 2 = 48 bit, domain 1) */
	root = page();
	ctx = page();
	pml4 = page();
	((uint64_t *)root)[bus * 2] = (uint64_t)(uintptr_t)ctx | 1;
	((uint64_t *)ctx)[(devfn)*2] = (uint64_t)(uintptr_t)pml4 | 1;
	((uint64_t *)ctx)[(devfn)*2 + 1] = 2 | 1u << 8;
	asq = dma_page(&asq_va);
	acq = dma_page(&acq_va);
	id = dma_page(&id_va);
	iosq = dma_page(&iosq_va);
	iocq = dma_page(&iocq_va);
	wiova = dma_page(&wbuf);
	riova = dma_page(&rbuf);

	/* iommu_set_root_entry(), __dmar_enable_qi(), iommu_enable_translation() */
	mmio_write64(VTD + DMAR_RTADDR, (uint64_t)(uintptr_t)root);
	mmio_write32(VTD + DMAR_GCMD, GCMD_SRTP);
	if (!(mmio_read32(VTD + DMAR_GSTS) & GCMD_SRTP))
		rt_fail("GSTS.RTPS not set after SRTP");
	iq = page();
	iq_status = rt_alloc(4, 4);
	mmio_write64(VTD + DMAR_IQT, 0);
	mmio_write64(VTD + DMAR_IQA, (uint64_t)(uintptr_t)iq);
	mmio_write32(VTD + DMAR_GCMD, GCMD_QIE);
	if (!qi_submit(0x1 | 1u << 4, 0) || !qi_submit(0x2 | 1u << 4, 0)) /* global cc, iotlb */
		rt_fail("invalidation queue: wait descriptor status not written");
	mmio_write32(VTD + DMAR_GCMD, GCMD_QIE | GCMD_TE);
	if ((mmio_read32(VTD + DMAR_GSTS) & (GCMD_TE | GCMD_QIE)) != (GCMD_TE | GCMD_QIE))
		rt_fail("GSTS: translation or queue not enabled");
	rt_printf("vtd-nvme: translation on, queues at iova 0x%llx (ram 0x%llx)\n",
		  (unsigned long long)asq, (unsigned long long)(uintptr_t)asq_va);

	/* NVMe: enable with the admin queues at their IOVAs */
	uint64_t ncap = mmio_read64(bar0 + CAP);
	dstrd = (ncap >> 32) & 0xf;
	mmio_write32(bar0 + CC, 0);
	wait_rdy(0);
	aq.sq = asq_va;
	aq.cq = acq_va;
	mmio_write32(bar0 + AQA, (31u << 16) | 31u);
	mmio_write64(bar0 + ASQ, asq);
	mmio_write64(bar0 + ACQ, acq);
	mmio_write32(bar0 + CC, 1u | 6u << 16 | 4u << 20);
	if (!wait_rdy(1)) {
		rt_fail("controller not ready (CSTS 0x%x)", mmio_read32(bar0 + CSTS));
		goto out;
	}
	struct sqe c = {.opc = 0x06, .prp1 = id, .cdw10 = 1}; /* Identify Controller */
	st = run(&aq, &c);
	uint16_t vid = *(volatile uint16_t *)id_va;
	if (st || vid != (cfg32(bus, devfn, 0) & 0xffff))
		rt_fail("identify through the IOMMU: status 0x%x vid 0x%x", st, vid);
	else
		rt_printf("vtd-nvme: identify ok (vid 0x%04x)\n", vid);
	c = (struct sqe){.opc = 0x06, .nsid = 1, .prp1 = id, .cdw10 = 0}; /* Identify NS 1 */
	st = run(&aq, &c);
	uint8_t flbas = ((volatile uint8_t *)id_va)[26] & 0xf;
	unsigned lbads = ((volatile uint8_t *)id_va)[128 + flbas * 4 + 2];
	if (st || lbads < 9 || lbads > 12) {
		rt_fail("identify namespace: status 0x%x lbads %u", st, lbads);
		goto out;
	}
	ioq.sq = iosq_va;
	ioq.cq = iocq_va;
	c = (struct sqe){.opc = 0x05, .prp1 = iocq, .cdw10 = 15u << 16 | 1, .cdw11 = 1};
	st = run(&aq, &c);
	c = (struct sqe){.opc = 0x01, .prp1 = iosq, .cdw10 = 15u << 16 | 1, .cdw11 = 1u << 16 | 1};
	st |= run(&aq, &c);
	if (st) {
		rt_fail("create I/O queues at IOVAs: status 0x%x", st);
		goto out;
	}

	/* write LBA 0 from one IOVA, read it back into another */
	unsigned len = 1u << lbads;
	for (unsigned i = 0; i < len; i++)
		((uint8_t *)wbuf)[i] = (uint8_t)(i * 13 + 7);
	c = (struct sqe){.opc = 0x01, .nsid = 1, .prp1 = wiova};
	st = run(&ioq, &c);
	c = (struct sqe){.opc = 0x02, .nsid = 1, .prp1 = riova};
	st |= run(&ioq, &c);
	if (st || memcmp(wbuf, rbuf, len))
		rt_fail("write/read through IOVAs: status 0x%x", st);
	else
		rt_printf("vtd-nvme: write/read ok (%u bytes at iova 0x%llx/0x%llx)\n", len,
			  (unsigned long long)wiova, (unsigned long long)riova);

	/* unmap the read buffer (qi_flush_iotlb(), page-selective, domain 1), read again */
	*pte_of(riova) = 0;
	if (!qi_submit(0x2 | 3u << 4 | 1u << 16, riova))
		rt_fail("IOTLB invalidation: no wait status");
	memset(rbuf, 0, len);
	c = (struct sqe){.opc = 0x02, .nsid = 1, .prp1 = riova};
	st = run(&ioq, &c);
	if ((st & 0xff) != 0x04)
		rt_fail("read into an unmapped IOVA: status 0x%x, want Data Transfer Error", st);
	else
		rt_printf("vtd-nvme: unmapped read: status 0x%x (Data Transfer Error)\n", st);
	if (((uint8_t *)rbuf)[0] || ((uint8_t *)rbuf)[len - 1])
		rt_fail("the unmapped buffer was written");

	/* dmar_fault(): FSTS.PPF, FRCD at FSTS.FRI */
	uint32_t fsts = mmio_read32(VTD + DMAR_FSTS);
	unsigned fri = (fsts >> 8) & 0xff;
	uint64_t fi = mmio_read64(VTD + fro + fri * 16);
	uint32_t src = mmio_read32(VTD + fro + fri * 16 + 8) & 0xffff;
	uint32_t top = mmio_read32(VTD + fro + fri * 16 + 12);
	if (!(fsts & FSTS_PPF) || !(top >> 31) || src != sid || fi != riova ||
	    ((top & 0xff) != 5 && (top & 0xff) != 6))
		rt_fail("fault record: fsts 0x%x frcd 0x%llx sid 0x%x top 0x%x", fsts,
			(unsigned long long)fi, src, top);
	else
		rt_printf("vtd-nvme: fault recorded: source %02x:%02x.%x addr 0x%llx reason 0x%x\n",
			  src >> 8, (src >> 3) & 31, src & 7, (unsigned long long)fi, top & 0xff);
out:
	rt_printf("vtd-nvme: done errors=%d\n", rt_failures);
	if (rt_failures == 0)
		rt_poweroff();
	return 1;
}
