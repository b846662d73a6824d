/* SPDX-License-Identifier: MIT */
/*
 * The driver: bring a controller up the way Linux's drivers/nvme/host/pci.c does
 * (nvme_pci_configure_admin_queue, nvme_enable_ctrl), run admin commands synchronously,
 * create I/O queue pairs, and publish queue indexes through doorbells, or through the
 * shadow doorbell buffer with EventIdx (NVMe 1.4 5.8; Linux nvme_dbbuf_update_and_check_event)
 * so that most updates never leave the guest.
 */
#include "nvme_smoke.h"

#define SHUTDOWN_MS 5000
#define COMMAND_MS  10000

uint64_t nvme_dma_offset;

void *nvme_alloc(size_t size)
{
	size_t len = (size + PAGE_SIZE - 1) & ~(size_t)(PAGE_SIZE - 1);
	void *p = rt_alloc(len, PAGE_SIZE);

	if (!p) {
		rt_printf("nvme-smoke: FAIL out of guest memory (%zu bytes)\n", size);
		rt_exit(1);
	}
	memset(p, 0, len);
	return p;
}

static uint32_t reg_read32(const struct nvme_ctrl *c, uint32_t off)
{
	return mmio_read32(c->bar0 + off);
}

static void reg_write32(const struct nvme_ctrl *c, uint32_t off, uint32_t v)
{
	mmio_write32(c->bar0 + off, v);
}

/* Linux lo_hi_writeq: two 32-bit writes, low half first (SeaBIOS-style halves work too). */
static void reg_write64(const struct nvme_ctrl *c, uint32_t off, uint64_t v)
{
	reg_write32(c, off, (uint32_t)v);
	reg_write32(c, off + 4, (uint32_t)(v >> 32));
}

static uint64_t doorbell(const struct nvme_ctrl *c, uint16_t qid, bool cq)
{
	return c->bar0 + NVME_REG_DBS + (uint64_t)(2 * qid + cq) * c->dstrd_bytes;
}

/*
 * Like Linux (pci_alloc_irq_vectors before the admin queue exists): MSI-X on, every entry
 * masked, so the admin CQ's vector 0 only sets its pending bit and INTx stays quiet.
 */
static void msix_enable(struct nvme_ctrl *c)
{
	const struct nvme_pci *p = &c->pci;
	uint8_t cap = pci_find_cap(p, PCI_CAP_ID_MSIX);
	uint32_t table;
	uint16_t ctrl;

	if (!cap)
		return;
	ctrl = pci_read16(p, cap + PCI_MSIX_FLAGS);
	table = pci_read32(p, cap + PCI_MSIX_TABLE);
	c->msix_cap = cap;
	c->msix_vectors = (uint16_t)((ctrl & PCI_MSIX_FLAGS_QSIZE) + 1);
	c->msix_table = pci_bar_addr(p, table & PCI_MSIX_BIR) + (table & ~7u);
	pci_write16(p, cap + PCI_MSIX_FLAGS,
		    (uint16_t)(ctrl | PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL));
	mmio_write32(c->msix_table + PCI_MSIX_ENTRY_VECTOR_CTRL, 1); /* entry 0 masked */
	pci_write16(p, cap + PCI_MSIX_FLAGS,
		    (uint16_t)((ctrl | PCI_MSIX_FLAGS_ENABLE) & ~PCI_MSIX_FLAGS_MASKALL));
}

int nvme_ctrl_init(struct nvme_ctrl *c, const struct nvme_pci *p)
{
	uint16_t cmd;

	memset(c, 0, sizeof(*c));
	c->pci = *p;
	c->bar0 = pci_bar_addr(p, 0);
	if (!c->bar0) {
		rt_printf("nvme-smoke: FAIL %s bar0 is not assigned\n", p->bdf);
		return -1;
	}
	cmd = pci_read16(p, PCI_COMMAND);
	pci_write16(p, PCI_COMMAND, cmd | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	if (!rt_cmdline_get("nvme-smoke.intx"))
		msix_enable(c);
	c->cap = mmio_read64(c->bar0 + NVME_REG_CAP);
	c->vs = reg_read32(c, NVME_REG_VS);
	c->dstrd_bytes = 4u << NVME_CAP_DSTRD(c->cap);
	/* CAP.TO is in 500 ms units; Linux waits (TO + 1) * 500 ms. */
	c->timeout_cycles = tsc_ms(500ULL * (NVME_CAP_TO(c->cap) + 1));
	if (c->cap == ~0ULL || !(c->cap & NVME_CAP_CSS_NVM)) {
		rt_printf("nvme-smoke: FAIL %s cap 0x%llx: no NVM command set\n", p->bdf,
			  (unsigned long long)c->cap);
		return -1;
	}
	if (NVME_CAP_MPSMIN(c->cap) > 0) {
		rt_printf("nvme-smoke: FAIL %s CAP.MPSMIN %u: 4 KiB pages not supported\n", p->bdf,
			  NVME_CAP_MPSMIN(c->cap));
		return -1;
	}
	return 0;
}

static int wait_csts(struct nvme_ctrl *c, uint32_t mask, uint32_t want, uint64_t cycles,
		     const char *what)
{
	uint64_t t0 = rt_rdtsc();
	uint32_t csts;

	for (;;) {
		csts = reg_read32(c, NVME_REG_CSTS);
		if (csts == 0xffffffffu)
			break;
		if ((csts & mask) == want)
			return 0;
		if (rt_rdtsc() - t0 > cycles)
			break;
	}
	rt_printf("nvme-smoke: FAIL %s %s: CSTS 0x%08x after %llu ms\n", c->pci.bdf, what, csts,
		  (unsigned long long)((rt_rdtsc() - t0) / tsc_khz()));
	return -1;
}

int nvme_ctrl_disable(struct nvme_ctrl *c)
{
	uint32_t cc = reg_read32(c, NVME_REG_CC);

	cc &= ~(NVME_CC_SHN_MASK | NVME_CC_EN);
	reg_write32(c, NVME_REG_CC, cc);
	return wait_csts(c, NVME_CSTS_RDY, 0, c->timeout_cycles, "disable (CC.EN=0)");
}

static void queue_init(struct nvme_ctrl *c, struct nvme_queue *q, uint16_t qid, uint16_t depth)
{
	q->ctrl = c;
	q->qid = qid;
	q->depth = depth;
	q->sq_tail = 0;
	q->cq_head = 0;
	q->phase = 1;
	q->sq_db = doorbell(c, qid, false);
	q->cq_db = doorbell(c, qid, true);
	q->shadow_sq = q->shadow_cq = q->ei_sq = q->ei_cq = NULL;
}

int nvme_ctrl_enable(struct nvme_ctrl *c)
{
	struct nvme_queue *aq = &c->admin;
	uint32_t cc;

	if ((reg_read32(c, NVME_REG_CC) & NVME_CC_EN) ||
	    (reg_read32(c, NVME_REG_CSTS) & NVME_CSTS_RDY))
		if (nvme_ctrl_disable(c))
			return -1;
	if (!aq->sq) {
		aq->sq = nvme_alloc(NVME_ADMIN_DEPTH * sizeof(struct nvme_sqe));
		aq->cq = nvme_alloc(NVME_ADMIN_DEPTH * sizeof(struct nvme_cqe));
		aq->sq_bus = nvme_bus(aq->sq);
	}
	memset((void *)aq->cq, 0, NVME_ADMIN_DEPTH * sizeof(struct nvme_cqe));
	queue_init(c, aq, 0, NVME_ADMIN_DEPTH);
	reg_write32(c, NVME_REG_AQA, (NVME_ADMIN_DEPTH - 1) << 16 | (NVME_ADMIN_DEPTH - 1));
	reg_write64(c, NVME_REG_ASQ, aq->sq_bus);
	reg_write64(c, NVME_REG_ACQ, nvme_bus(aq->cq));

	/* Linux 5.19+ nvme_enable_ctrl: the fields first, then EN in a second write. */
	cc = c->cc_css | NVME_CC_MPS(12) | NVME_CC_AMS_RR | NVME_CC_IOSQES | NVME_CC_IOCQES;
	reg_write32(c, NVME_REG_CC, cc);
	reg_write32(c, NVME_REG_CC, cc | NVME_CC_EN);
	if (wait_csts(c, NVME_CSTS_RDY | NVME_CSTS_CFS, NVME_CSTS_RDY, c->timeout_cycles,
		      "enable (CC.EN=1)"))
		return -1;
	c->shadow_db = c->shadow_ei = NULL;
	return 0;
}

int nvme_ctrl_shutdown(struct nvme_ctrl *c)
{
	uint32_t cc = reg_read32(c, NVME_REG_CC);

	reg_write32(c, NVME_REG_CC, (cc & ~NVME_CC_SHN_MASK) | NVME_CC_SHN_NORMAL);
	return wait_csts(c, NVME_CSTS_SHST_MASK, NVME_CSTS_SHST_CMPLT, tsc_ms(SHUTDOWN_MS),
			 "shutdown (CC.SHN=01b)");
}

/* NVMe 1.4 5.8: is the new index past the EventIdx the controller asked to hear about? */
static bool dbbuf_need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event_idx - 1) < (uint16_t)(new_idx - old);
}

static bool dbbuf_update(volatile uint32_t *db, volatile uint32_t *ei, uint16_t value)
{
	uint16_t old;

	nvme_mb(); /* the queue entries before the shadow doorbell */
	old = (uint16_t)*db;
	*db = value;
	nvme_mb(); /* the shadow doorbell before reading EventIdx (Linux: mb()) */
	return dbbuf_need_event((uint16_t)*ei, value, old);
}

void nvme_sq_push(struct nvme_queue *q, const struct nvme_sqe *cmd)
{
	volatile struct nvme_sqe *slot = &q->sq[q->sq_tail];
	const uint64_t *src = (const uint64_t *)cmd;
	volatile uint64_t *dst = (volatile uint64_t *)slot;

	/* 8-byte stores: an SQ in a CMB may be trapped MMIO that takes no wider access. */
	for (int i = 0; i < 8; i++)
		dst[i] = src[i];
	if (++q->sq_tail == q->depth)
		q->sq_tail = 0;
}

void nvme_sq_ring(struct nvme_queue *q)
{
	if (q->shadow_sq && !dbbuf_update(q->shadow_sq, q->ei_sq, q->sq_tail))
		return;
	rt_barrier();
	mmio_write32(q->sq_db, q->sq_tail);
	q->mmio_sq_writes++;
}

void nvme_cq_ring(struct nvme_queue *q)
{
	if (q->shadow_cq && !dbbuf_update(q->shadow_cq, q->ei_cq, q->cq_head))
		return;
	mmio_write32(q->cq_db, q->cq_head);
	q->mmio_cq_writes++;
}

uint16_t nvme_submit_wait(struct nvme_queue *q, struct nvme_sqe *cmd, uint32_t *dw0)
{
	volatile struct nvme_cqe *e;
	uint64_t t0;
	uint16_t status;

	cmd->cid = q->sq_tail;
	nvme_sq_push(q, cmd);
	nvme_sq_ring(q);
	t0 = rt_rdtsc();
	while (!(e = nvme_cq_peek(q))) {
		if (rt_rdtsc() - t0 > tsc_ms(COMMAND_MS)) {
			rt_printf("nvme-smoke: FAIL %s qid %u opcode 0x%02x: no completion in "
				  "%u ms (CSTS 0x%08x)\n",
				  q->ctrl->pci.bdf, q->qid, cmd->opcode, COMMAND_MS,
				  mmio_read32(q->ctrl->bar0 + NVME_REG_CSTS));
			return NVME_STATUS_TIMEOUT;
		}
	}
	status = e->status >> 1;
	if (e->cid != cmd->cid || e->sqid != q->qid) {
		rt_printf("nvme-smoke: FAIL %s qid %u opcode 0x%02x: completion for cid %u sqid "
			  "%u, expected cid %u\n",
			  q->ctrl->pci.bdf, q->qid, cmd->opcode, e->cid, e->sqid, cmd->cid);
		rt_failures++;
	}
	if (dw0)
		*dw0 = e->dw0;
	nvme_cq_pop(q);
	nvme_cq_ring(q);
	return status;
}

uint16_t nvme_identify(struct nvme_ctrl *c, uint8_t cns, uint32_t nsid, void *buf)
{
	struct nvme_sqe cmd = {.opcode = NVME_ADM_IDENTIFY, .nsid = nsid, .cdw10 = cns};

	cmd.prp1 = nvme_bus(buf);
	return nvme_admin(c, &cmd, NULL);
}

uint16_t nvme_set_num_queues(struct nvme_ctrl *c, uint16_t want, uint32_t *granted)
{
	uint32_t n = (uint32_t)(want - 1);
	struct nvme_sqe cmd = {
		.opcode = NVME_ADM_SET_FEATURES,
		.cdw10 = NVME_FEAT_NUM_QUEUES,
		.cdw11 = n << 16 | n, /* NCQR, NSQR: zero-based */
	};

	return nvme_admin(c, &cmd, granted);
}

uint16_t nvme_dbbuf_config(struct nvme_ctrl *c)
{
	struct nvme_sqe cmd = {.opcode = NVME_ADM_DBBUF};
	uint16_t status;

	if (!c->shadow_db) {
		c->shadow_db = nvme_alloc(PAGE_SIZE);
		c->shadow_ei = nvme_alloc(PAGE_SIZE);
	}
	memset(c->shadow_db, 0, PAGE_SIZE);
	memset(c->shadow_ei, 0, PAGE_SIZE);
	cmd.prp1 = nvme_bus(c->shadow_db);
	cmd.prp2 = nvme_bus(c->shadow_ei);
	status = nvme_admin(c, &cmd, NULL);
	if (status)
		c->shadow_db = c->shadow_ei = NULL;
	return status;
}

uint16_t nvme_create_io_pair(struct nvme_ctrl *c, struct nvme_queue *q, uint16_t qid,
			     uint16_t depth, int vector, void *sq_mem, uint64_t sq_bus)
{
	struct nvme_sqe cmd;
	uint16_t status;

	queue_init(c, q, qid, depth);
	q->cq = nvme_alloc(depth * sizeof(struct nvme_cqe));
	if (sq_mem) {
		q->sq = sq_mem;
		q->sq_bus = sq_bus;
	} else {
		q->sq = nvme_alloc(depth * sizeof(struct nvme_sqe));
		q->sq_bus = nvme_bus(q->sq);
	}
	memset(&cmd, 0, sizeof(cmd));
	cmd.opcode = NVME_ADM_CREATE_CQ;
	cmd.prp1 = nvme_bus(q->cq);
	cmd.cdw10 = (uint32_t)(depth - 1) << 16 | qid;
	cmd.cdw11 = NVME_QUEUE_PHYS_CONTIG;
	if (vector >= 0)
		cmd.cdw11 |= (uint32_t)vector << 16 | NVME_CQ_IRQ_ENABLED;
	status = nvme_admin(c, &cmd, NULL);
	if (status)
		return status;
	memset(&cmd, 0, sizeof(cmd));
	cmd.opcode = NVME_ADM_CREATE_SQ;
	cmd.prp1 = q->sq_bus;
	cmd.cdw10 = (uint32_t)(depth - 1) << 16 | qid;
	cmd.cdw11 = (uint32_t)qid << 16 | NVME_QUEUE_PHYS_CONTIG; /* CQID, priority urgent */
	status = nvme_admin(c, &cmd, NULL);
	if (status)
		return status;
	if (c->shadow_db) {
		/* Linux nvme_dbbuf_init: the same layout as the doorbell registers. */
		uint32_t stride = c->dstrd_bytes / 4;

		q->shadow_sq = &c->shadow_db[2 * qid * stride];
		q->shadow_cq = &c->shadow_db[(2 * qid + 1) * stride];
		q->ei_sq = &c->shadow_ei[2 * qid * stride];
		q->ei_cq = &c->shadow_ei[(2 * qid + 1) * stride];
	}
	return 0;
}

uint16_t nvme_delete_io_pair(struct nvme_ctrl *c, struct nvme_queue *q)
{
	struct nvme_sqe cmd = {.opcode = NVME_ADM_DELETE_SQ, .cdw10 = q->qid};
	uint16_t status = nvme_admin(c, &cmd, NULL);

	if (status)
		return status;
	memset(&cmd, 0, sizeof(cmd));
	cmd.opcode = NVME_ADM_DELETE_CQ;
	cmd.cdw10 = q->qid;
	return nvme_admin(c, &cmd, NULL);
}

void nvme_set_prps(struct nvme_sqe *cmd, const void *buf, uint32_t len, uint64_t *list)
{
	uint64_t addr = nvme_bus(buf);
	uint32_t first = PAGE_SIZE - (uint32_t)(addr & (PAGE_SIZE - 1));
	int n = 0;

	cmd->prp1 = addr;
	cmd->prp2 = 0;
	if (len <= first)
		return;
	len -= first;
	addr += first;
	if (len <= PAGE_SIZE) {
		cmd->prp2 = addr;
		return;
	}
	while (len) {
		uint32_t chunk = len < PAGE_SIZE ? len : PAGE_SIZE;

		list[n++] = addr;
		addr += PAGE_SIZE;
		len -= chunk;
	}
	cmd->prp2 = nvme_bus(list);
}
