/* SPDX-License-Identifier: MIT */
/*
 * An Intel VT-d DMA remapping unit (Intel VT-d spec rev 3.x, "the spec" below), legacy
 * translation mode only, as Linux's drivers/iommu/intel/ drives it:
 *   - the register file of chapter 11 in one 4 KiB page: VER, CAP (CM=1 caching mode), ECAP
 *     (QI, PT, C), GCMD/GSTS (TE, SRTP, QIE), RTADDR, CCMD, the IOTLB registers at ECAP.IRO,
 *     FSTS/FECTL/FEDATA/FEADDR/FEUADDR and VTD_NFR fault recording registers at CAP.FRO,
 *     the invalidation queue IQA/IQH/IQT/ICS with IECTL/IEDATA/IEADDR;
 *   - root and context tables (9.1, 9.3), second-level paging with 3 or 4 levels and 4 KiB,
 *     2 MiB and 1 GiB pages (9.8), with the reserved-bit checks that give fault reasons
 *     Ah/Bh/Ch;
 *   - primary fault logging (7.2.1) with the fault event MSI (7.3.1).
 * No interrupt remapping (ECAP.IR=0), no scalable mode, no device TLB: docs/iommu.md says why.
 *
 * Caching mode (CAP.CM=1, 6.1): software must invalidate after every change to the tables,
 * also non-present to present, so the guest's invalidations are the only moments a
 * translation may change. The unit counts them in `gen`; a requester's translation cache
 * (struct vtd_iotlb) tags every entry with the generation it was walked under and ignores
 * entries of an older one, so the hot path of a device does one lookup per page, no walk.
 *
 * Threads: register accesses come from vCPU threads, translations from device threads. The
 * register file and fault recording are under `lock`; a walk takes no lock (it reads the
 * latched root pointer and TE atomically and guest memory through the host hooks).
 */
#ifndef DEVICES_VTD_H
#define DEVICES_VTD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/addr_space.h"
#include "vmm/bus.h"

#define VTD_REG_SIZE 0x1000u
#define VTD_NFR	     8u	    /* fault recording registers */
#define VTD_FRO	     0x220u /* their offset (CAP.FRO * 16) */
#define VTD_IRO	     0x200u /* IVA and IOTLB registers (ECAP.IRO * 16) */
#define VTD_HAW	     46u    /* host address width: what a table pointer may address */
#define VTD_MGAW     48u    /* 4-level second-level tables */

/* Register offsets (spec 11.4; names as Linux's intel/iommu.h spells them). */
#define DMAR_VER_REG	 0x00
#define DMAR_CAP_REG	 0x08
#define DMAR_ECAP_REG	 0x10
#define DMAR_GCMD_REG	 0x18
#define DMAR_GSTS_REG	 0x1c
#define DMAR_RTADDR_REG	 0x20
#define DMAR_CCMD_REG	 0x28
#define DMAR_FSTS_REG	 0x34
#define DMAR_FECTL_REG	 0x38
#define DMAR_FEDATA_REG	 0x3c
#define DMAR_FEADDR_REG	 0x40
#define DMAR_FEUADDR_REG 0x44
#define DMAR_IQH_REG	 0x80
#define DMAR_IQT_REG	 0x88
#define DMAR_IQA_REG	 0x90
#define DMAR_ICS_REG	 0x9c
#define DMAR_IECTL_REG	 0xa0
#define DMAR_IEDATA_REG	 0xa4
#define DMAR_IEADDR_REG	 0xa8
#define DMAR_IEUADDR_REG 0xac
#define DMAR_IQER_REG	 0xb0
#define DMAR_IVA_REG	 VTD_IRO
#define DMAR_IOTLB_REG	 (VTD_IRO + 8)

/* GCMD / GSTS (11.4.4, 11.4.5) */
#define DMA_GCMD_TE   (1u << 31)
#define DMA_GCMD_SRTP (1u << 30)
#define DMA_GCMD_QIE  (1u << 26)
#define DMA_GSTS_TES  (1u << 31)
#define DMA_GSTS_RTPS (1u << 30)
#define DMA_GSTS_QIES (1u << 26)

/* CCMD (11.4.7) and IOTLB (11.4.8.1) */
#define DMA_CCMD_ICC	    (1ull << 63)
#define DMA_CCMD_CIRG_SHIFT 61
#define DMA_CCMD_CAIG_SHIFT 59
#define DMA_TLB_IVT	    (1ull << 63)
#define DMA_TLB_IIRG_SHIFT  60
#define DMA_TLB_IAIG_SHIFT  57

/* FSTS (11.4.9.1), FECTL (11.4.9.2), FRCD (11.4.14) */
#define DMA_FSTS_PFO	(1u << 0)
#define DMA_FSTS_PPF	(1u << 1)
#define DMA_FSTS_IQE	(1u << 4)
#define DMA_FSTS_ICE	(1u << 5)
#define DMA_FSTS_ITE	(1u << 6)
#define DMA_FSTS_FRI(x) (((x) >> 8) & 0xff)
#define DMA_FECTL_IM	(1u << 31)
#define DMA_FECTL_IP	(1u << 30)
#define DMA_FRCD_F	(1u << 31) /* in the record's top dword */
#define DMA_FRCD_T	(1u << 30) /* 1: read request */
#define DMA_ICS_IWC	(1u << 0)

/* Invalidation descriptors, 128-bit (6.5.2) */
#define QI_CC_TYPE    0x1
#define QI_IOTLB_TYPE 0x2
#define QI_IWD_TYPE   0x5
#define QI_IWD_IF     (1ull << 4)
#define QI_IWD_SW     (1ull << 5)
#define QI_IWD_FN     (1ull << 6)

/* Fault reasons (appendix A), as Linux's dma_remap_fault_reasons[] lists them. */
enum vtd_fault_reason {
	VTD_FR_ROOT_NOT_PRESENT = 0x1,
	VTD_FR_CTX_NOT_PRESENT = 0x2,
	VTD_FR_CTX_INVALID = 0x3,
	VTD_FR_ADDR_BEYOND_AW = 0x4,
	VTD_FR_NO_WRITE = 0x5,
	VTD_FR_NO_READ = 0x6,
	VTD_FR_PT_INVALID = 0x7,
	VTD_FR_ROOT_INVALID = 0x8,
	VTD_FR_CTP_INVALID = 0x9,
	VTD_FR_ROOT_RSVD = 0xa,
	VTD_FR_CTX_RSVD = 0xb,
	VTD_FR_PTE_RSVD = 0xc,
};

/* What a request does to memory. 0: not known (a device mapping memory it will read or
 * write): any permission is enough, only not-present faults. */
#define VTD_READ  1u
#define VTD_WRITE 2u

/* How the unit reaches the machine: guest-physical memory (the tables, status writes; the
 * unit's own requests are not translated, 3.6) and one MSI. */
struct vtd_host {
	int (*read)(void *opaque, uint64_t gpa, void *buf, uint64_t len); /* 0 or -EFAULT */
	int (*write)(void *opaque, uint64_t gpa, const void *buf, uint64_t len);
	void (*msi)(void *opaque, uint64_t addr, uint32_t data);
	void *opaque;
};

/* A requester's translation cache: direct-mapped by IOVA page; see vtd_translate(). */
#define VTD_IOTLB_N 256u
struct vtd_iotlb_entry {
	unsigned seq; /* odd while written */
	uint32_t gen;
	uint16_t sid;
	uint8_t perm;	    /* VTD_READ | VTD_WRITE */
	uint64_t iova, gpa; /* 4 KiB frames */
};
struct vtd_iotlb {
	struct vtd_iotlb_entry e[VTD_IOTLB_N];
	uint64_t hits, misses;
};

struct vtd {
	struct vtd_host host;
	pthread_mutex_t lock;
	uint32_t gsts;
	uint64_t rtaddr; /* as written */
	uint64_t root;	 /* latched by SRTP: what walks use (atomic) */
	uint32_t te;	 /* GSTS.TES, read atomically by walks */
	uint32_t gen;	 /* invalidations seen (atomic) */
	uint64_t ccmd, iva, iotlb;
	uint32_t fsts, fectl, fedata, feaddr, feuaddr;
	uint64_t frcd[VTD_NFR][2];
	unsigned fri; /* next record to write */
	uint64_t iqa, iqh, iqt;
	uint32_t ics, iectl, iedata, ieaddr, ieuaddr;
	/* counters a test or the control socket can read */
	uint64_t faults, faults_lost, invalidations, walks, msis;
};

void vtd_init(struct vtd *v, const struct vtd_host *host);
void vtd_destroy(struct vtd *v);

/* Register access (4 or 8 bytes, naturally aligned; other accesses read 0 and are dropped,
 * as the spec leaves them undefined). */
uint64_t vtd_mmio_read(struct vtd *v, uint64_t off, unsigned size);
void vtd_mmio_write(struct vtd *v, uint64_t off, uint64_t val, unsigned size);
extern const struct bus_ops vtd_bus_ops; /* opaque: struct vtd */

/* The capability registers as built. */
uint64_t vtd_cap(void);
uint64_t vtd_ecap(void);

/*
 * Translate the 4 KiB page holding `iova` for source-id `sid` (bus << 8 | devfn) and
 * `access`: 0 with the guest-physical address of `iova` in *gpa, or the fault reason (the
 * fault is recorded, 7.2.1, unless the context entry has FPD set). With translation off
 * (GSTS.TES=0) every address is its own. `cache` (may be NULL) is the requester's: an entry
 * walked under the current invalidation generation answers without a walk. *span (may be
 * NULL) gets the bytes from iova on that this answer covers contiguously (>= 1).
 */
int vtd_translate(struct vtd *v, struct vtd_iotlb *cache, uint16_t sid, uint64_t iova,
		  unsigned access, uint64_t *gpa, uint64_t *span);
bool vtd_enabled(const struct vtd *v);

/* Record a fault (7.2.1) and raise the fault event when it is the first pending one. */
void vtd_record_fault(struct vtd *v, uint16_t sid, uint64_t addr, int reason, unsigned access);

/* The same walk without the cache and without recording a fault (tests, debugging). */
int vtd_walk(struct vtd *v, uint16_t sid, uint64_t iova, unsigned access, uint64_t *gpa,
	     unsigned *perm, bool *fpd, uint64_t *page);

/* ---- on a PCI root (vtd_pci.c) ---- */
struct pci_root;
struct guest_mem;
struct vtd_pci {
	struct as_iommu iommu; /* first: the ops every requester points at */
	struct vtd vtd;
	struct pci_root *root;
	const struct guest_mem *mem;
};
/* Put the unit in front of every function of `root`; its tables live in `mem`, its fault
 * event goes out as the root's MSIs do. */
void vtd_pci_attach(struct vtd_pci *vp, struct pci_root *root, const struct guest_mem *mem);
void vtd_pci_detach(struct vtd_pci *vp);

#endif
