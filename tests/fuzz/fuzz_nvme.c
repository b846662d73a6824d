/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: the NVMe controller as the guest drives it, through the PCI glue
 * (nvme_pci.c) and the PCI core, over guest RAM with holes (fuzz_util.h). The input's first
 * byte picks the controller (CMB, PMR, Namespace Management, 4 KiB blocks, 2 vectors); the
 * rest is a program of operations: BAR0 register accesses of any offset and width, doorbell
 * writes for any queue id, stores of SQEs / PRP lists / SGL descriptors to addresses
 * anywhere (RAM, the RAM holes, BAR0, the CMB, the PMR, a peer's RAM BAR, wrapping ones),
 * config cycles, and the controller's command processing (run synchronously: no I/O thread;
 * what its loop does, EventIdx and shadow doorbell polling, is an operation; namespaces on
 * the ram and null backends). A small driver keeps track of the queues it
 * created so that commands reach the controller without the fuzzer learning the protocol.
 *   make fuzz-nvme FUZZ_SECONDS=60      (tests/fuzz/README.md)
 */
#include "devices/nvme/internal.h" /* the I/O thread's entry points, run synchronously */
#include "devices/nvme/nvme_pci.h"
#include "devices/nvme/spec.h"
#include "devices/testdev/testdev.h"
#include "tests/fuzz/fuzz_util.h"

#define MAXQ	 4  /* I/O queue pairs */
#define MQES	 63 /* queues of up to 64 entries */
#define MAX_OPS	 512
#define ASQ_ADDR 0x100000ULL /* the driver's admin queues and I/O queues, in low RAM */
#define ACQ_ADDR 0x140000ULL
#define IOSQ(q)	 (0x200000ULL + (uint64_t)(q)*0x1000)
#define IOCQ(q)	 (0x280000ULL + (uint64_t)(q)*0x1000)
#define PEER_RAM KiB(64)

enum {
	CFG_CMB = 1 << 0,
	CFG_PMR = 1 << 1,
	CFG_NSMGMT = 1 << 2,
	CFG_LBA4K = 1 << 3,
	CFG_FEWVEC = 1 << 4,
	CFG_ZONED = 1 << 5,  /* namespace 2 is zoned (ZNS, zns.c) instead of null */
	CFG_PI = 1 << 6,     /* namespace 1 has metadata (8 or, with 4 KiB blocks, 64 bytes) and
			      * Type 1 PI, separate (pi.c) */
	CFG_PI_EXT = 1 << 7, /* with CFG_PI: extended LBA, Type 3, PI first */
};

struct drv_queue {
	uint64_t sq, cq;
	uint32_t sq_size, cq_size, sq_tail, cq_head;
	bool phase;
};

struct rig {
	struct guest_mem mem;
	struct fz_host host;
	struct pci_root root;
	struct pci_dev hb, rp[2];
	struct pci_bus bus[2];
	struct nvme_pci *n;
	struct testdev *peer;
	uint64_t bar[6], bar_size[6], peer_bar;
	uint16_t cid;
	struct drv_queue q[MAXQ + 2];
};

static char pmr_path[64];
static bool trace; /* FUZZ_TRACE=1: print every completion the driver reaps */

static void remove_pmr(void)
{
	unlink(pmr_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_quiet();
	trace = getenv("FUZZ_TRACE") != NULL;
	snprintf(pmr_path, sizeof(pmr_path), "/tmp/vmm-fuzz-nvme-pmr.%d", (int)getpid());
	atexit(remove_pmr);
	return 0;
}

static void rig_init(struct rig *r, uint8_t bits)
{
	static const struct pci_windows win = {
		.mmio32_base = 0xc0000000,
		.mmio32_size = 0x3ec00000,
		.mmio64_base = 0x800000000ULL,
		.mmio64_size = 64ULL << 30,
		.io_base = 0x1000,
		.io_size = 0xf000,
	};
	struct nvme_ns_config ns[2] = {
		{.size = KiB(64), .lba_size = bits & CFG_LBA4K ? 4096 : 512, .backend = "ram"},
		{.size = MiB(1), .lba_size = 4096, .backend = "null"},
	};
	/* eight 16 KiB zones of 12 KiB capacity, at most 2 open and 3 active: every limit is
	 * a few commands away */
	if (bits & CFG_PI) {
		ns[0].metadata_size = bits & CFG_LBA4K ? 64 : 8;
		ns[0].pi_type = bits & CFG_PI_EXT ? 3 : 1;
		ns[0].extended_lba = bits & CFG_PI_EXT;
		ns[0].pi_first = bits & CFG_PI_EXT;
	}
	if (bits & CFG_ZONED)
		ns[1] = (struct nvme_ns_config){.size = KiB(128),
						.lba_size = bits & CFG_LBA4K ? 512 : 4096,
						.backend = "ram",
						.zoned = true,
						.zone_size = KiB(16),
						.zone_capacity = KiB(12),
						.max_open = 2,
						.max_active = 3};
	struct nvme_ctrl_config cfg = {
		.name = "nvme0",
		.serial = "FUZZ0001", /* not the per-process counter: Identify stays the same */
		.max_queues = MAXQ,
		.mqes = MQES,
		.nr_vectors = bits & CFG_FEWVEC ? 2 : 0,
		.mdts_kib = 64,
		.ns = ns,
		.nr_ns = 2,
		.cmb_size = bits & CFG_CMB ? MiB(2) : 0,
		.pmr_path = bits & CFG_PMR ? pmr_path : NULL,
		.pmr_size = bits & CFG_PMR ? KiB(4) : 0,
		.nsmgmt_capacity = bits & CFG_NSMGMT ? KiB(256) : 0,
		.no_iothread = true,
	};
	char err[256];

	memset(r, 0, sizeof(*r));
	if (fz_mem_init(&r->mem))
		fz_fail("guest RAM: %s", strerror(errno));
	fz_host_init(&r->host, &r->mem);
	pci_root_init(&r->root, &fz_host_ops, &r->host, &r->mem, MEM_ECAM_BASE);
	if (bus_register(&r->host.mmio, MEM_ECAM_BASE, MEM_ECAM_SIZE, &pci_ecam_ops, &r->root,
			 "ecam"))
		fz_fail("ecam");
	unlink(pmr_path); /* a fresh, zeroed PMR every run */
	r->n = nvme_pci_create(&cfg, err, sizeof(err));
	if (!r->n)
		fz_fail("nvme_pci_create: %s", err);
	r->peer = testdev_create("peer", 4, PEER_RAM);
	if (!r->peer)
		fz_fail("testdev_create");
	pci_dev_init(&r->hb, "host", 0x8086, 0x29c0, 0x060000, 0, false);
	for (int i = 0; i < 2; i++) {
		pci_dev_init(&r->rp[i], i ? "rp1" : "rp0", 0x1b36, 0x000c, 0x060400, 0, true);
		pci_bus_init(&r->bus[i], i ? "rp1" : "rp0");
		pci_bridge_set_secondary(&r->rp[i], &r->bus[i]);
	}
	if (pci_bus_add(&r->bus[0], &r->n->pci, 0) || pci_bus_add(&r->bus[1], &r->peer->pci, 0) ||
	    pci_bus_add(&r->root.bus0, &r->hb, PCI_DEVFN(0, 0)) ||
	    pci_bus_add(&r->root.bus0, &r->rp[0], PCI_DEVFN(1, 0)) ||
	    pci_bus_add(&r->root.bus0, &r->rp[1], PCI_DEVFN(2, 0)))
		fz_fail("pci_bus_add");
	if (pci_assign(&r->root, &win, err, sizeof(err)))
		fz_fail("pci_assign: %s", err);
	for (int i = 0; i < 6; i++) {
		r->bar[i] = r->n->pci.bars[i].mapped_addr;
		r->bar_size[i] = r->n->pci.bars[i].size;
	}
	r->peer_bar = r->peer->pci.bars[2].mapped_addr;
	if (trace)
		fprintf(stderr, "bar0 0x%llx bar2 0x%llx bar4 0x%llx peer 0x%llx\n",
			(unsigned long long)r->bar[0], (unsigned long long)r->bar[2],
			(unsigned long long)r->bar[4], (unsigned long long)r->peer_bar);
}

static void rig_fini(struct rig *r)
{
	pci_root_destroy(&r->root);
	nvme_pci_destroy(r->n);
	testdev_destroy(r->peer);
	fz_host_fini(&r->host);
	fz_mem_free(&r->mem);
}

/* ---- operands ---- */

/*
 * A bus address: one byte picks the neighbourhood, four bytes the offset in it. Bit 7 of
 * the selector aligns it to 4 KiB (PRP entries, queue bases). The neighbourhoods are where
 * bugs live: region ends, the controller's own BARs (CVE-2021-3929 was DMA into QEMU's
 * NVMe BAR0), the CMB and PMR, a peer's BAR, the holes, the top of the address space.
 */
static uint64_t addr_of(struct rig *r, struct fz *in)
{
	uint8_t sel = fz_u8(in);
	uint32_t off = fz_u32(in);
	uint64_t a;

	switch ((sel & 0x7f) % 12) {
	case 0:
		a = off % FZ_RAM_LOW;
		break;
	case 1:
		a = FZ_RAM_LOW - 256 + off % 512;
		break;
	case 2:
		a = MEM_HOLE_END + off % FZ_RAM_HIGH;
		break;
	case 3:
		a = MEM_HOLE_END + FZ_RAM_HIGH - 256 + off % 512;
		break;
	case 4:
		a = r->bar[0] + off % (r->bar_size[0] + 64);
		break;
	case 5:
		a = r->bar[2] + off % (r->bar_size[2] + 64);
		break;
	case 6:
		a = r->bar[4] + off % (r->bar_size[4] + 64);
		break;
	case 7:
		a = r->peer_bar + off % (PEER_RAM + 64);
		break;
	case 8:
		a = FZ_RAM_LOW + off; /* the hole below 4 GiB, ECAM, 32-bit BARs */
		break;
	case 9:
		a = ~0ULL - off % 8192;
		break;
	case 10:
		a = 0x10000 + (uint64_t)(off % 256) * 4096; /* data pages */
		break;
	default:
		a = (uint64_t)fz_u32(in) << 32 | off;
		break;
	}
	return sel & 0x80 ? a & ~0xfffULL : a;
}

static uint32_t nsid_of(struct fz *in)
{
	uint8_t s = fz_u8(in);

	switch (s % 6) {
	case 0:
	case 1:
		return 1;
	case 2:
		return 2;
	case 3:
		return NVME_NSID_ALL;
	case 4:
		return s >> 3; /* small ones: 0, 3.. (Namespace Management creates them) */
	default:
		return fz_u32(in);
	}
}

/* ---- the driver ---- */

static void reg_write(struct rig *r, uint64_t off, uint64_t val, unsigned size)
{
	fz_cpu_rw(&r->host, BUS_MMIO, r->bar[0] + off, val, size, true);
}

static void ring(struct rig *r, uint16_t qid, bool cq, uint32_t val)
{
	reg_write(r, NVME_REG_DBS + (uint64_t)qid * 8 + (cq ? 4 : 0), val, 4);
}

/* The SQE at the tail of queue q, through whatever the queue's base reaches. */
static void submit(struct rig *r, unsigned q, struct nvme_sqe *cmd, bool doorbell)
{
	struct drv_queue *dq = &r->q[q];

	if (!dq->sq_size)
		return;
	cmd->cid = r->cid++;
	fz_cpu_copy(&r->host, dq->sq + (uint64_t)dq->sq_tail * 64, cmd, sizeof(*cmd), true);
	dq->sq_tail = (dq->sq_tail + 1) % dq->sq_size;
	if (doorbell)
		ring(r, (uint16_t)q, false, dq->sq_tail);
}

/* Consume the CQEs whose phase says they are new, then ring the head doorbell. */
static void reap(struct rig *r, unsigned q)
{
	struct drv_queue *dq = &r->q[q];
	unsigned n = 0;

	if (!dq->cq_size)
		return;
	for (; n < dq->cq_size; n++) {
		uint16_t st = 0;

		fz_cpu_copy(&r->host, dq->cq + (uint64_t)dq->cq_head * 16 + 14, &st, 2, false);
		if ((st & 1) != dq->phase)
			break;
		if (trace) {
			struct nvme_cqe e;

			fz_cpu_copy(&r->host, dq->cq + (uint64_t)dq->cq_head * 16, &e, 16, false);
			fprintf(stderr, "q%u cid %u status 0x%x dw0 0x%x\n", q, e.cid,
				(st >> 1) & 0x7ff, e.dw0);
		}
		if (++dq->cq_head == dq->cq_size) {
			dq->cq_head = 0;
			dq->phase = !dq->phase;
		}
	}
	if (n)
		ring(r, (uint16_t)q, true, dq->cq_head);
}

/* Linux's order: AQA, ASQ, ACQ, then CC with EN. */
static void enable(struct rig *r, struct fz *in)
{
	uint8_t a = fz_u8(in), b = fz_u8(in);
	uint32_t sqs = a % 32 + 1, cqs = b % 32 + 1, mps = (b >> 5) % 5;
	uint64_t asq = ASQ_ADDR, acq = ACQ_ADDR;

	if (a & 0x80) { /* queues where the fuzzer likes, e.g. in the CMB */
		asq = addr_of(r, in);
		acq = addr_of(r, in);
	}
	reg_write(r, NVME_REG_CC, 0, 4);
	reg_write(r, NVME_REG_AQA, cqs << 16 | sqs, 4);
	reg_write(r, NVME_REG_ASQ, asq, 8);
	reg_write(r, NVME_REG_ACQ, acq, 8);
	/* CC.CSS 110b (all I/O command sets, ZNS's) or 000b (NVM only) */
	reg_write(r, NVME_REG_CC,
		  6u << 16 | 4u << 20 | mps << 7 | (a & 0x40 ? 6u << 4 : 0) | NVME_CC_EN, 4);
	memset(r->q, 0, sizeof(r->q));
	r->q[0] = (struct drv_queue){.sq = asq & ~0xfffULL,
				     .cq = acq & ~0xfffULL,
				     .sq_size = sqs + 1,
				     .cq_size = cqs + 1,
				     .phase = true};
}

/* Create I/O CQ then SQ qid on the admin queue (qid may be out of range on purpose). */
static void create_pair(struct rig *r, struct fz *in)
{
	uint8_t qid = fz_u8(in) % (MAXQ + 2), size = fz_u8(in), iv = fz_u8(in), flags = fz_u8(in);
	uint32_t entries = size % (MQES + 2) + 1;
	uint64_t sq = IOSQ(qid), cq = IOCQ(qid);
	struct nvme_sqe c = {.opcode = NVME_ADM_CREATE_CQ};

	if (flags & 1) {
		sq = addr_of(r, in);
		cq = addr_of(r, in);
	}
	c.prp1 = cq;
	c.cdw10 = (entries - 1) << 16 | qid;
	c.cdw11 = (uint32_t)(iv % 8) << 16 | (flags & 2 ? 0 : 2) | 1;
	submit(r, 0, &c, true);
	reap(r, 0);
	c = (struct nvme_sqe){.opcode = NVME_ADM_CREATE_SQ, .prp1 = sq};
	c.cdw10 = (entries - 1) << 16 | qid;
	c.cdw11 = (uint32_t)(flags & 4 ? (qid + 1) % (MAXQ + 1) : qid) << 16 | 1;
	submit(r, 0, &c, true);
	reap(r, 0);
	if (qid) {
		r->q[qid] = (struct drv_queue){
			.sq = sq, .cq = cq, .sq_size = entries, .cq_size = entries, .phase = true};
	}
}

static void command(struct rig *r, struct fz *in)
{
	uint8_t q = fz_u8(in), how = fz_u8(in);
	struct nvme_sqe c = {.opcode = fz_u8(in), .flags = fz_u8(in)};

	c.nsid = nsid_of(in);
	c.prp1 = addr_of(r, in);
	c.prp2 = addr_of(r, in);
	if (how & 1) /* SGL1 in DPTR: type byte at 15, length at 8 */
		c.prp2 = (uint64_t)fz_u8(in) << 56 | fz_u32(in);
	c.cdw10 = fz_u32(in);
	c.cdw11 = fz_u32(in);
	c.cdw12 = fz_u32(in);
	if (how & 2) {
		c.cdw13 = fz_u32(in);
		c.cdw14 = fz_u32(in);
		c.cdw15 = fz_u32(in);
		c.mptr = addr_of(r, in);
	}
	submit(r, q % (MAXQ + 1), &c, !(how & 4));
	if (how & 8)
		reap(r, q % (MAXQ + 1));
}

/* MSI-X on, vector v programmed and unmasked (table right after the registers in BAR0). */
static void msix(struct rig *r, struct fz *in)
{
	struct pci_dev *d = &r->n->pci;
	uint8_t v = fz_u8(in);
	uint64_t e = r->bar[0] + d->msix.table_off + (uint64_t)(v % 8) * PCI_MSIX_ENTRY_SIZE;

	pci_config_write(&r->root, r->rp[0].cfg[PCI_SECONDARY_BUS], 0, d->msix.cap + PCI_MSIX_FLAGS,
			 v & 0x80 ? 0 : PCI_MSIX_FLAGS_ENABLE, 2);
	fz_cpu_rw(&r->host, BUS_MMIO, e, 0xfee00000 | (uint64_t)v << 12, 8, true);
	fz_cpu_rw(&r->host, BUS_MMIO, e + 8, 0x40 + v, 4, true);
	fz_cpu_rw(&r->host, BUS_MMIO, e + 12, v & 0x40 ? 1 : 0, 4, true);
}

/* Check that the controller's DMA view only ever yields memory that is there. */
static void dma_probe(struct rig *r, struct fz *in)
{
	uint64_t a = addr_of(r, in), len = fz_u16(in) + 1, sz;
	void *p = pci_dma_map(&r->n->pci, a, len);
	struct fz_buf bufs[6] = {
		{r->mem.regions[0].hva, r->mem.regions[0].size},
		{r->mem.regions[1].hva, r->mem.regions[1].size},
		{r->peer->ram, PEER_RAM},
	};

	bufs[3].p = nvme_cmb_ram(r->n->ctrl, &sz);
	bufs[3].len = sz;
	bufs[4].p = nvme_pmr_ram(r->n->ctrl, &sz);
	bufs[4].len = sz;
	if (p)
		fz_check_hva(bufs, 5, p, len, "nvme DMA", a);
}

/* One round of iothread.c's loop, without the thread: EventIdx for polling or for sleep,
 * the shadow doorbells, interrupts (the ring itself has nothing in flight here). */
static void iothread_round(struct nvme_ctrl *c, bool sleep)
{
	pthread_mutex_lock(&c->lock);
	if (c->dbbuf.enabled && nvme_ctrl_ready(c)) {
		nvme_dbbuf_eventidx(c, !sleep);
		nvme_dbbuf_poll(c);
	}
	nvme_irq_flush(c);
	pthread_mutex_unlock(&c->lock);
}

/* The controller memory space as Linux sets it up: CBA = the BAR's address (3.1.16, 3.1.23). */
static void ctrl_mem(struct rig *r, uint8_t how)
{
	if (how & 1)
		reg_write(r, NVME_REG_CMBMSC, r->bar[2] | (how & 2 ? 0 : 3), 8);
	if (how & 4) {
		reg_write(r, NVME_REG_PMRCTL, how & 8 ? 0 : 1, 4);
		reg_write(r, NVME_REG_PMRMSCU, (uint32_t)(r->bar[4] >> 32), 4);
		reg_write(r, NVME_REG_PMRMSCL, (uint32_t)r->bar[4] | (how & 16 ? 0 : 2), 4);
	}
}

static void op(struct rig *r, struct fz *in)
{
	uint8_t o = fz_u8(in);
	uint8_t busnr = r->rp[0].cfg[PCI_SECONDARY_BUS];

	switch ((o & 0x7f) % 16) {
	case 0: { /* a BAR0 register store of any offset and width */
		uint64_t off = fz_u16(in) % (r->bar_size[0] + 8);
		unsigned size = fz_size(in);

		reg_write(r, off, fz_u64(in), size);
		break;
	}
	case 1: { /* a BAR0 load */
		uint64_t off = fz_u16(in) % (r->bar_size[0] + 8);

		fz_cpu_rw(&r->host, BUS_MMIO, r->bar[0] + off, 0, fz_size(in), false);
		break;
	}
	case 2: { /* a doorbell of any queue id, also past the ones that exist */
		uint8_t qid = fz_u8(in);

		ring(r, qid, qid & 0x80, fz_u32(in) % 128);
		break;
	}
	case 3: { /* guest memory contents anywhere */
		uint64_t a = addr_of(r, in);
		uint8_t buf[256];
		size_t n = fz_u8(in);

		fz_bytes(in, buf, n);
		fz_cpu_copy(&r->host, a, buf, n, true);
		break;
	}
	case 4: { /* a PRP entry / pointer: an address stored at an address */
		uint64_t where = addr_of(r, in), what = addr_of(r, in);

		fz_cpu_copy(&r->host, where, &what, 8, true);
		break;
	}
	case 5: { /* an SGL descriptor: address, length, type in the top byte */
		uint64_t where = addr_of(r, in);
		uint64_t d[2] = {addr_of(r, in), fz_u32(in) % 0x20000};

		d[1] |= (uint64_t)fz_u8(in) << 56;
		fz_cpu_copy(&r->host, where, d, sizeof(d), true);
		break;
	}
	case 6:
		enable(r, in);
		break;
	case 7:
		create_pair(r, in);
		break;
	case 8:
	case 9:
		command(r, in);
		break;
	case 10:
		reap(r, fz_u8(in) % (MAXQ + 1));
		break;
	case 11: { /* what the I/O thread does */
		uint8_t how = fz_u8(in);

		if (how & 2)
			iothread_round(r->n->ctrl, how & 4);
		else if (how & 1)
			nvme_process(r->n->ctrl);
		else
			nvme_sq_process(r->n->ctrl, fz_u16(in));
		nvme_intx_level(r->n->ctrl);
		break;
	}
	case 12: { /* config cycles to the function: BARs move, bus mastering goes off */
		unsigned off = fz_u16(in) % PCI_CFG_SIZE, size = fz_size(in);
		uint32_t v = fz_u32(in);

		if (o & 0x80)
			pci_config_read(&r->root, busnr, 0, off, size);
		else
			pci_config_write(&r->root, busnr, 0, off, v, size);
		break;
	}
	case 13:
		msix(r, in);
		break;
	case 14:
		if (o & 0x80) {
			ctrl_mem(r, fz_u8(in));
		} else { /* CC: disable (reset) or shut down */
			uint32_t cc = fz_u32(in);

			reg_write(r, NVME_REG_CC, cc, 4);
			if (!(cc & NVME_CC_EN))
				memset(r->q, 0, sizeof(r->q));
		}
		break;
	default:
		dma_probe(r, in);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = {data, size};
	static struct rig r;

	rig_init(&r, fz_u8(&in));
	for (int i = 0; i < MAX_OPS && fz_more(&in); i++)
		op(&r, &in);
	rig_fini(&r);
	return 0;
}
