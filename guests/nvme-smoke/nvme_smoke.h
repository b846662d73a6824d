/* SPDX-License-Identifier: MIT */
/*
 * nvme-smoke: a small NVMe host driver for test guests. One file per idea: pci.c finds
 * NVMe functions by ECAM scan, ctrl.c is the driver (enable, admin commands, I/O queue
 * pairs, doorbells with or without a shadow doorbell buffer), smoke.c checks a controller
 * end to end, bench.c is the polled ring-3 benchmark, tsc.c calibrates the TSC.
 *
 * Every data structure the controller reads (queues, PRP lists, buffers) comes from
 * rt_alloc(), which is identity-mapped RAM below 4 GiB: virtual address = physical address,
 * and bus address = physical address + nvme_dma_offset (0 unless the benchmark turned VT-d
 * translation on with IOVAs at that offset: vtd.c).
 * Names of registers and fields follow the NVMe 1.4 base specification.
 */
#ifndef NVME_SMOKE_H
#define NVME_SMOKE_H

#include "rt.h"

#define ECAM_BASE 0xB0000000ULL /* vmm/mem.h MEM_ECAM_BASE; QEMU q35 after SeaBIOS too */
#define PAGE_SIZE 4096u

/* ---- PCI (PCI Local Bus 3.0, PCIe 5.0 chapter 7) ---- */

#define PCI_COMMAND		     0x04
#define PCI_COMMAND_MEMORY	     0x2
#define PCI_COMMAND_MASTER	     0x4
#define PCI_COMMAND_INTX_DISABLE     0x400
#define PCI_STATUS		     0x06
#define PCI_STATUS_CAP_LIST	     0x10
#define PCI_CLASS_REVISION	     0x08
#define PCI_HEADER_TYPE		     0x0e
#define PCI_BASE_ADDRESS_0	     0x10
#define PCI_BASE_ADDRESS_MEM_TYPE_64 0x4
#define PCI_PRIMARY_BUS		     0x18
#define PCI_CAPABILITY_LIST	     0x34
#define PCI_CAP_ID_MSIX		     0x11
#define PCI_MSIX_FLAGS		     2
#define PCI_MSIX_FLAGS_QSIZE	     0x7ff
#define PCI_MSIX_FLAGS_MASKALL	     0x4000
#define PCI_MSIX_FLAGS_ENABLE	     0x8000
#define PCI_MSIX_TABLE		     4
#define PCI_MSIX_BIR		     0x7
#define PCI_MSIX_ENTRY_SIZE	     16
#define PCI_MSIX_ENTRY_VECTOR_CTRL   12

#define PCI_CLASS_NVME 0x010802 /* mass storage, NVM, NVMe I/O controller */
#define MAX_NVME       16

struct nvme_pci {
	uint8_t bus, devfn;
	uint16_t vendor, device;
	char bdf[12]; /* "BB:DD.F" */
};

static inline uint64_t ecam_addr(uint8_t bus, uint8_t devfn, uint16_t off)
{
	return ECAM_BASE + ((uint64_t)bus << 20) + ((uint64_t)devfn << 12) + off;
}
static inline uint32_t pci_read32(const struct nvme_pci *p, uint16_t off)
{
	return mmio_read32(ecam_addr(p->bus, p->devfn, off));
}
static inline uint16_t pci_read16(const struct nvme_pci *p, uint16_t off)
{
	return mmio_read16(ecam_addr(p->bus, p->devfn, off));
}
static inline void pci_write32(const struct nvme_pci *p, uint16_t off, uint32_t v)
{
	mmio_write32(ecam_addr(p->bus, p->devfn, off), v);
}
static inline void pci_write16(const struct nvme_pci *p, uint16_t off, uint16_t v)
{
	mmio_write16(ecam_addr(p->bus, p->devfn, off), v);
}

/* pci.c: every function of class 010802 below bus 0, in scan order; returns the count. */
int pci_find_nvme(struct nvme_pci *out, int max);
/* The address firmware assigned to BAR `bir` (64-bit BARs read whole), and its size. */
uint64_t pci_bar_addr(const struct nvme_pci *p, int bir);
uint64_t pci_bar_size(const struct nvme_pci *p, int bir);
/* Map the BARs firmware put above 4 GiB (ring 0 only: call before rt_run_user). */
void pci_map_high_bars(const struct nvme_pci *p);
/* The first standard capability with `id`, 0 if none. */
uint8_t pci_find_cap(const struct nvme_pci *p, uint8_t id);

/* ---- NVMe controller registers (NVMe 1.4 3.1) ---- */

#define NVME_REG_CAP	 0x00
#define NVME_REG_VS	 0x08
#define NVME_REG_INTMS	 0x0c
#define NVME_REG_INTMC	 0x10
#define NVME_REG_CC	 0x14
#define NVME_REG_CSTS	 0x1c
#define NVME_REG_AQA	 0x24
#define NVME_REG_ASQ	 0x28
#define NVME_REG_ACQ	 0x30
#define NVME_REG_CMBLOC	 0x38
#define NVME_REG_CMBSZ	 0x3c
#define NVME_REG_CMBMSC	 0x50
#define NVME_REG_CMBSTS	 0x58
#define NVME_REG_PMRCAP	 0xe00
#define NVME_REG_PMRCTL	 0xe04
#define NVME_REG_PMRSTS	 0xe08
#define NVME_REG_PMREBS	 0xe0c
#define NVME_REG_PMRMSCL 0xe14
#define NVME_REG_PMRMSCU 0xe18
#define NVME_REG_DBS	 0x1000

#define NVME_CAP_MQES(cap)   ((uint32_t)((cap)&0xffff))
#define NVME_CAP_TO(cap)     ((uint32_t)(((cap) >> 24) & 0xff))
#define NVME_CAP_DSTRD(cap)  ((uint32_t)(((cap) >> 32) & 0xf))
#define NVME_CAP_CSS_NVM     (1ULL << 37)
#define NVME_CAP_MPSMIN(cap) ((uint32_t)(((cap) >> 48) & 0xf))
#define NVME_CAP_PMRS	     (1ULL << 56)
#define NVME_CAP_CMBS	     (1ULL << 57)

#define NVME_CC_EN	     (1u << 0)
#define NVME_CC_CSS_NVM	     (0u << 4)
#define NVME_CC_CSS_CSI	     (6u << 4) /* all supported I/O command sets (NVMe 2.0 3.1.3.5) */
#define NVME_CAP_CSS_CSI     (1ULL << 43)
#define NVME_CC_MPS(shift)   ((uint32_t)((shift)-12) << 7)
#define NVME_CC_AMS_RR	     (0u << 11)
#define NVME_CC_SHN_NORMAL   (1u << 14)
#define NVME_CC_SHN_MASK     (3u << 14)
#define NVME_CC_IOSQES	     (6u << 16) /* 64-byte SQ entries */
#define NVME_CC_IOCQES	     (4u << 20) /* 16-byte CQ entries */
#define NVME_CSTS_RDY	     (1u << 0)
#define NVME_CSTS_CFS	     (1u << 1)
#define NVME_CSTS_SHST_MASK  (3u << 2)
#define NVME_CSTS_SHST_CMPLT (2u << 2)

/* CMBLOC / CMBSZ / CMBMSC (3.1.11, 3.1.12, 3.1.15) */
#define NVME_CMBLOC_BIR(v)  ((v)&0x7)
#define NVME_CMBLOC_OFST(v) ((v) >> 12)
#define NVME_CMBSZ_SQS	    (1u << 0)
#define NVME_CMBSZ_CQS	    (1u << 1)
#define NVME_CMBSZ_LISTS    (1u << 2)
#define NVME_CMBSZ_RDS	    (1u << 3)
#define NVME_CMBSZ_WDS	    (1u << 4)
#define NVME_CMBSZ_SZU(v)   (((v) >> 8) & 0xf)
#define NVME_CMBSZ_SZ(v)    ((v) >> 12)
#define NVME_CMBMSC_CRE	    (1ULL << 0)
#define NVME_CMBMSC_CMSE    (1ULL << 1)

/* PMRCAP, PMRCTL, PMRSTS, PMRMSCL (NVMe 1.4 3.1.18-3.1.20, 3.1.23) */
#define NVME_PMRCAP_BIR(v)   (((v) >> 5) & 0x7)
#define NVME_PMRCAP_PMRTU(v) (((v) >> 8) & 0x3)
#define NVME_PMRCAP_PMRTO(v) (((v) >> 16) & 0xff)
#define NVME_PMRCTL_EN	     (1u << 0)
#define NVME_PMRSTS_ERR(v)   ((v)&0xff)
#define NVME_PMRSTS_NRDY     (1u << 8)
#define NVME_PMRSTS_HSTS(v)  (((v) >> 9) & 0x7)
#define NVME_PMRSTS_CBAI     (1u << 12)
#define NVME_PMRMSCL_CMSE    (1u << 1)

/* ---- commands (4.2, 4.6) ---- */

struct nvme_sqe {
	uint8_t opcode;
	uint8_t flags;
	uint16_t cid;
	uint32_t nsid;
	uint32_t cdw2, cdw3;
	uint64_t mptr;
	uint64_t prp1, prp2;
	uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
};
_Static_assert(sizeof(struct nvme_sqe) == 64, "SQE is 64 bytes");

struct nvme_cqe {
	uint32_t dw0, dw1;
	uint16_t sqhd, sqid;
	uint16_t cid;
	uint16_t status; /* P bit 0, status field 15:1 */
};
_Static_assert(sizeof(struct nvme_cqe) == 16, "CQE is 16 bytes");

/* Status field (4.6.1) as status >> 1: SC 7:0, SCT 10:8, DNR 14. SCT|SC below. */
#define NVME_STATUS_CODE(s) ((s)&0x7ff)
#define NVME_SC_SUCCESS	    0x000
#define NVME_SC_INVALID_OP  0x001
#define NVME_SC_INVALID_FLD 0x002
#define NVME_SC_INVALID_NS  0x00b
#define NVME_SC_LBA_RANGE   0x080
#define NVME_SC_CQ_INVALID  0x100
#define NVME_SC_QID_INVALID 0x101
#define NVME_SC_QDEL_INVAL  0x10c
#define NVME_STATUS_TIMEOUT 0xffff /* ours: no completion arrived in time */

enum {
	NVME_ADM_DELETE_SQ = 0x00,
	NVME_ADM_CREATE_SQ = 0x01,
	NVME_ADM_DELETE_CQ = 0x04,
	NVME_ADM_CREATE_CQ = 0x05,
	NVME_ADM_IDENTIFY = 0x06,
	NVME_ADM_SET_FEATURES = 0x09,
	NVME_ADM_GET_FEATURES = 0x0a,
	NVME_ADM_DBBUF = 0x7c,
};
enum {
	NVME_CMD_FLUSH = 0x00,
	NVME_CMD_WRITE = 0x01,
	NVME_CMD_READ = 0x02,
};
#define NVME_ID_CNS_NS		   0x00
#define NVME_ID_CNS_CTRL	   0x01
#define NVME_ID_CNS_NS_ACTIVE_LIST 0x02
#define NVME_FEAT_NUM_QUEUES	   0x07
#define NVME_OACS_DBBUF		   (1u << 8)
#define NVME_QUEUE_PHYS_CONTIG	   (1u << 0)
#define NVME_CQ_IRQ_ENABLED	   (1u << 1)

/* ---- the driver (ctrl.c) ---- */

#define NVME_MAX_IO_QUEUES 64
#define NVME_ADMIN_DEPTH   32

struct nvme_queue {
	struct nvme_ctrl *ctrl;
	volatile struct nvme_sqe *sq;
	volatile struct nvme_cqe *cq;
	uint64_t sq_bus; /* what Create I/O SQ is given (the CMB bus address for a CMB SQ) */
	uint16_t qid, depth;
	uint16_t sq_tail, cq_head;
	uint16_t phase;
	uint64_t sq_db, cq_db; /* MMIO doorbell addresses */
	/* Shadow doorbells (5.8 Doorbell Buffer Config): NULL unless the buffer is on. */
	volatile uint32_t *shadow_sq, *shadow_cq, *ei_sq, *ei_cq;
	uint64_t mmio_sq_writes, mmio_cq_writes; /* doorbell writes that left the guest */
};

struct nvme_ctrl {
	struct nvme_pci pci;
	uint64_t bar0;
	uint64_t cap;
	uint32_t vs, dstrd_bytes;
	uint64_t timeout_cycles; /* CAP.TO */
	struct nvme_queue admin;
	uint8_t *id_ctrl; /* 4 KiB Identify Controller data */
	uint32_t nn, mdts_bytes;
	uint16_t oacs;
	uint16_t nr_io_queues;		 /* granted by Set Features Number of Queues */
	uint32_t *shadow_db, *shadow_ei; /* Doorbell Buffer Config pages, NULL when off */
	uint16_t msix_cap, msix_vectors;
	uint64_t msix_table;
	uint32_t cc_css; /* CC.CSS nvme_ctrl_enable writes: NVME_CC_CSS_NVM unless set before */
};

/* What the controller must be given for memory at p (vtd.c sets the offset). */
extern uint64_t nvme_dma_offset;
static inline uint64_t nvme_bus(const volatile void *p)
{
	return (uint64_t)(uintptr_t)p + nvme_dma_offset;
}

/* Allocate zeroed, page-aligned memory the controller can DMA to; dies when exhausted. */
void *nvme_alloc(size_t size);

/* Map BAR0, read CAP/VS. 0 or a negative errno-style code (then the message is printed). */
int nvme_ctrl_init(struct nvme_ctrl *c, const struct nvme_pci *p);
/* CC.EN=0 and wait for CSTS.RDY=0 (bounded by CAP.TO). */
int nvme_ctrl_disable(struct nvme_ctrl *c);
/* Admin queues, then CC fields and CC.EN in separate writes (as Linux), wait CSTS.RDY=1. */
int nvme_ctrl_enable(struct nvme_ctrl *c);
/* Normal shutdown (CC.SHN=01b), wait CSTS.SHST=10b. */
int nvme_ctrl_shutdown(struct nvme_ctrl *c);

/* Submit on `q` and poll its CQ for the completion; returns the status (status >> 1). */
uint16_t nvme_submit_wait(struct nvme_queue *q, struct nvme_sqe *cmd, uint32_t *dw0);
static inline uint16_t nvme_admin(struct nvme_ctrl *c, struct nvme_sqe *cmd, uint32_t *dw0)
{
	return nvme_submit_wait(&c->admin, cmd, dw0);
}

uint16_t nvme_identify(struct nvme_ctrl *c, uint8_t cns, uint32_t nsid, void *buf);
uint16_t nvme_set_num_queues(struct nvme_ctrl *c, uint16_t want, uint32_t *granted);
/* Doorbell Buffer Config (OACS bit 8): I/O queues created afterwards use shadow doorbells. */
uint16_t nvme_dbbuf_config(struct nvme_ctrl *c);

/*
 * Create I/O CQ qid then SQ qid, `depth` entries each. vector < 0: CQ without interrupts.
 * sq_mem/sq_bus: where the SQ lives (NULL: allocate in RAM). Returns a status.
 */
uint16_t nvme_create_io_pair(struct nvme_ctrl *c, struct nvme_queue *q, uint16_t qid,
			     uint16_t depth, int vector, void *sq_mem, uint64_t sq_bus);
uint16_t nvme_delete_io_pair(struct nvme_ctrl *c, struct nvme_queue *q);

/* Copy cmd into the next SQ slot (does not ring the doorbell). */
void nvme_sq_push(struct nvme_queue *q, const struct nvme_sqe *cmd);
/* Publish sq_tail: shadow doorbell with EventIdx when on, else an MMIO write. */
void nvme_sq_ring(struct nvme_queue *q);
/* The next CQE if its phase tag says it is new, else NULL. nvme_cq_pop consumes it. */
static inline volatile struct nvme_cqe *nvme_cq_peek(struct nvme_queue *q)
{
	volatile struct nvme_cqe *e = &q->cq[q->cq_head];

	if ((e->status & 1) != q->phase)
		return NULL;
	rt_barrier();
	return e;
}
static inline void nvme_cq_pop(struct nvme_queue *q)
{
	if (++q->cq_head == q->depth) {
		q->cq_head = 0;
		q->phase ^= 1;
	}
}
/* Publish cq_head (shadow doorbell with EventIdx when on, else MMIO). */
void nvme_cq_ring(struct nvme_queue *q);

/*
 * Fill prp1/prp2 for a transfer of len bytes at buffer `buf` (any offset in a page);
 * `list` is a page the PRP list goes into when more than two pages are touched.
 */
void nvme_set_prps(struct nvme_sqe *cmd, const void *buf, uint32_t len, uint64_t *list);

/* Full memory barrier usable at any CPL (no SSE2 mfence needed). */
static inline void nvme_mb(void)
{
	__asm__ volatile("lock addl $0, (%%rsp)" ::: "memory", "cc");
}

/* ---- TSC (tsc.c) ---- */

/* TSC frequency in kHz: nvmebench.tsc_khz= if given, else measured against the PIT. */
uint64_t tsc_khz(void);
static inline uint64_t tsc_ms(uint64_t ms)
{
	return tsc_khz() * ms;
}

/* ---- VT-d (vtd.c) ---- */

/*
 * The VT-d unit's register base: nvmebench.vtd_base= if given, else the first DRHD of the
 * ACPI DMAR table, else 0 (none found).
 */
uint64_t vtd_find_base(void);
/*
 * Map all RAM below 4 GiB at IOVA = physical + iova_offset (4 KiB second-level pages, one
 * domain) for requester bus:devfn, turn translation on, set nvme_dma_offset. False (and a
 * message) when the unit does not do what is needed.
 */
bool vtd_enable(uint64_t base, uint8_t bus, uint8_t devfn, uint64_t iova_offset);
/* After vtd_enable: translation on (IOVAs again) or off (bus address = physical). */
bool vtd_translate(bool on);

/* ---- checks and benchmark ---- */

/* smoke.c: every check on one controller (prints its report). */
void smoke_ctrl(const struct nvme_pci *p);
/* bench.c: the polled benchmark on one controller; parameters from the command line. */
void bench_ctrl(const struct nvme_pci *all, int n);

#endif
