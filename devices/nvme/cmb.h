/* SPDX-License-Identifier: MIT */
/*
 * Controller Memory Buffer (NVMe 1.4 3.1.11 CMBLOC, 3.1.12 CMBSZ, 3.1.16 CMBMSC, 3.1.17
 * CMBSTS). Internal to devices/nvme.
 *
 * The CMB is host memory (anonymous MAP_SHARED) that the PCI glue exposes as BAR2, a
 * RAM-backed BAR: guest loads and stores never exit and any width works (DESIGN.md rule 3).
 * The same memory is the controller's memory space: while CMBMSC.CMSE is set, bus addresses
 * in [CBA, CBA + size) in queue bases, PRPs and SGLs are served from it (nvme_ctrl_mem_map).
 *
 * Register values (CAP.CMBS = 1 when configured):
 *   CMBLOC  BIR = 2, OFST = 0, CQMMS = CQPDS = CDPMLS = CDPCILS = CDMMMS = 1, CQDA = 0:
 *           every address is resolved on its own, so queues, lists, data and metadata may mix
 *           the CMB and host memory freely; queues keep the host-memory alignment rules.
 *   CMBSZ   SQS, CQS, LISTS, RDS, WDS; SZU = the largest unit (4 KiB * 16^n) that divides
 *           the size, SZ = size / unit (2 MiB: 1 MiB x 2; 16 MiB: 16 MiB x 1; 1 GiB: 256 MiB
 *           x 4).
 *   Both read 0 until CMBMSC.CRE = 1 (Linux writes CRE first, then reads CMBSZ) and again
 *   after CRE is cleared.
 *   CMBMSC  CRE (0), CMSE (1), CBA (63:12) read back as written. A write that leaves CRE and
 *           CMSE set latches CBA as the memory-space base; CBA is invalid (CMBSTS.CBAI = 1,
 *           memory space stays off) when the range would wrap past 2^64 or CBA is not aligned
 *           to the CMB size (a BAR always is). Linux writes the high half first, so the
 *           latch on the low-half write sees the whole address.
 *   CMBSTS  CBAI (0).
 * Controller resets (CC.EN 1 -> 0, shutdown) keep these registers and the contents: the
 * host driver maps the CMB once per PCI probe, not per controller reset.
 */
#ifndef NVME_CMB_H
#define NVME_CMB_H

#include <stddef.h>
#include <stdint.h>

#include "devices/nvme/nvme.h"

#define NVME_CMB_MIN_SIZE (2ULL << 20) /* Linux ignores a CMB not 2 MiB aligned */
#define NVME_CMB_MAX_SIZE (64ULL << 30)
#define NVME_CMB_BIR	  2

/* CMBLOC (3.1.11) */
#define NVME_CMBLOC_BIR(x)  ((uint32_t)(x)&0x7)
#define NVME_CMBLOC_CQMMS   (1u << 3)
#define NVME_CMBLOC_CQPDS   (1u << 4)
#define NVME_CMBLOC_CDPMLS  (1u << 5)
#define NVME_CMBLOC_CDPCILS (1u << 6)
#define NVME_CMBLOC_CDMMMS  (1u << 7)
#define NVME_CMBLOC_CQDA    (1u << 8)
#define NVME_CMBLOC_OFST(x) ((uint32_t)(x) << 12)
/* CMBSZ (3.1.12) */
#define NVME_CMBSZ_SQS	  (1u << 0)
#define NVME_CMBSZ_CQS	  (1u << 1)
#define NVME_CMBSZ_LISTS  (1u << 2)
#define NVME_CMBSZ_RDS	  (1u << 3)
#define NVME_CMBSZ_WDS	  (1u << 4)
#define NVME_CMBSZ_SZU(x) ((uint32_t)(x) << 8)
#define NVME_CMBSZ_SZ(x)  ((uint32_t)(x) << 12)
/* CMBMSC (3.1.16), CMBSTS (3.1.17) */
#define NVME_CMBMSC_CRE	     (1ULL << 0)
#define NVME_CMBMSC_CMSE     (1ULL << 1)
#define NVME_CMBMSC_CBA_MASK (~0xfffULL)
#define NVME_CMBSTS_CBAI     (1u << 0)

struct nvme_ctrl;

struct nvme_cmb {
	uint8_t *ram;
	uint64_t size;
	uint32_t cmbloc, cmbsz; /* what the registers show while CMBMSC.CRE = 1 */
	uint64_t cmbmsc;
	uint32_t cmbsts;
	/* The memory-space base latched at CMSE = 1 is c->mem_space[NVME_MEM_CMB].base. */
};

/* CMBSZ for a CMB of `size` bytes (a power of two >= 4 KiB). */
uint32_t nvme_cmbsz_encode(uint64_t size);

/* 0, or -errno with a message. cfg->cmb_size == 0: no CMB. */
int nvme_cmb_init(struct nvme_ctrl *c, const struct nvme_ctrl_config *cfg, char *err,
		  size_t errlen);
void nvme_cmb_fini(struct nvme_ctrl *c);
/* CMBLOC, CMBSZ, CMBMSC (64-bit), CMBSTS; controller lock held. */
uint64_t nvme_cmb_reg_read(struct nvme_ctrl *c, uint64_t off);
void nvme_cmb_reg_write(struct nvme_ctrl *c, uint64_t off, uint64_t val, unsigned size);

#endif
