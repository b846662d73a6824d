/* SPDX-License-Identifier: MIT */
/*
 * Persistent Memory Region (NVMe 1.4 3.1.18 PMRCAP, 3.1.19 PMRCTL, 3.1.20 PMRSTS, 3.1.21
 * PMREBS, 3.1.22 PMRSWTP, 3.1.23 PMRMSC as PMRMSCL/PMRMSCU). Internal to devices/nvme.
 *
 * The PMR is a regular file mapped MAP_SHARED at a fixed host address that the PCI glue
 * exposes as BAR4, a RAM-backed BAR (DESIGN.md rule 3). While PMRCTL.EN = 0 the same host
 * range holds private anonymous scratch pages instead (mmap MAP_FIXED swaps them; a KVM
 * memslot over the range follows through the kernel's MMU notifiers), so nothing the guest
 * writes while the PMR is disabled reaches the file.
 *
 * The file: created (and sized) when missing or empty; an existing file must have exactly
 * pmr_size bytes (pmr_size 0: take the file's size), so persistent data is never truncated
 * or silently extended. Blocks are allocated up front (fallocate) so a full disk is a
 * config-time error, not a SIGBUS on a guest store. The file is locked (flock) against a
 * second vmm.
 *
 * Persistence: guest stores land in the page cache (they are the file's pages); a
 * persistence point is msync(MS_SYNC) of the range, which writes back only the pages the
 * kernel knows are dirty. KVM writes through the host page tables, so the kernel's dirty
 * tracking sees guest stores (and a device's DMA memcpy, which KVM dirty logging would not).
 * Persistence points: a PMRSTS read (PMRCAP.PMRWBM bit 1), PMRCTL.EN 1 -> 0, controller
 * reset and shutdown (CC.EN 1 -> 0, CC.SHN), and controller destruction (vmm exit).
 *
 * Why not KVM dirty logging: measured on this host (ext4 on virtio-blk, 64 MiB file, 300
 * rounds), msync(MS_SYNC) of the whole 64 MiB with one dirty page takes p10 119 us / median
 * 418 us, msync of just that page p10 105 / median 341 us, with nothing dirty p10 48 / median
 * 57 us; with all 16384 pages dirty 240 ms. The page-cache walk is O(dirty pages): the
 * whole-range call costs ~15 us more than a perfect dirty list would, and the disk flush
 * dominates either way. KVM_GET_DIRTY_LOG (0.5 us on an idle 64 MiB slot) would add a
 * memslot flag, a pci_host_ops hook and write-protection faults, and would still miss writes
 * that are not guest stores (a peer's P2P DMA into the PMR).
 *
 * Register values (CAP.PMRS = 1 when configured):
 *   PMRCAP  RDS = WDS = 1, BIR = 4, PMRTU = 0 (500 ms), PMRWBM = 0010b (a PMRSTS read makes
 *           prior writes persistent; reads of the PMR itself do not exit, so bit 0 is 0),
 *           PMRTO = 2 + size / 64 MiB (capped at 255): the disable flush at a pessimistic
 *           128 MiB/s, CMSS = 1.
 *   PMRCTL  EN. 0 -> 1 maps the file (NRDY clears before the write returns); 1 -> 0 flushes,
 *           then swaps in scratch (NRDY is set before the write returns). Both transitions
 *           complete inside the register write, so NRDY never needs polling.
 *   PMRSTS  ERR = 0 / 1 (the file cannot be mapped, is shorter than the PMR, or a flush
 *           failed), NRDY = !enabled, HSTS = 000b normal / 001b restore error (enable
 *           failed) / 011b unreliable (a flush failed), CBAI.
 *   PMREBS  PMRSZU = MiB (KiB below 1 MiB), RBB = 1, PMRWBZ = the PMR size: the page cache
 *           buffers every write until the next persistence point.
 *   PMRSWTP PMRSWTU = GiB/s, PMRSWTV = 1 (stores into the page cache; a flush runs at disk
 *           speed).
 *   PMRMSCL/PMRMSCU: CMSE (L bit 1), CBA (63:12). A write that leaves CMSE set latches CBA
 *           (SPDK writes U, then L); invalid when the range wraps or CBA is not aligned to the
 *           PMR size: PMRSTS.CBAI = 1. While the PMR is enabled and CMSE latched, commands'
 *           addresses in [CBA, CBA + size) are served from the PMR (RDS/WDS).
 * Controller resets keep the registers and the PMR's enable state.
 */
#ifndef NVME_PMR_H
#define NVME_PMR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/nvme/nvme.h"

#define NVME_PMR_MIN_SIZE 4096ULL
#define NVME_PMR_MAX_SIZE (64ULL << 30)
#define NVME_PMR_BIR	  4

/* PMRCAP (3.1.18) */
#define NVME_PMRCAP_RDS	      (1u << 3)
#define NVME_PMRCAP_WDS	      (1u << 4)
#define NVME_PMRCAP_BIR(x)    ((uint32_t)(x) << 5)
#define NVME_PMRCAP_PMRTU(x)  ((uint32_t)(x) << 8)
#define NVME_PMRCAP_PMRWBM(x) ((uint32_t)(x) << 10)
#define NVME_PMRCAP_PMRTO(x)  ((uint32_t)(x) << 16)
#define NVME_PMRCAP_CMSS      (1u << 24)
/* PMRCTL (3.1.19), PMRSTS (3.1.20) */
#define NVME_PMRCTL_EN		  (1u << 0)
#define NVME_PMRSTS_ERR(x)	  ((uint32_t)(x)&0xff)
#define NVME_PMRSTS_NRDY	  (1u << 8)
#define NVME_PMRSTS_HSTS(x)	  ((uint32_t)(x) << 9)
#define NVME_PMRSTS_HSTS_MASK	  (7u << 9)
#define NVME_PMRSTS_CBAI	  (1u << 12)
#define NVME_PMR_HSTS_NORMAL	  0
#define NVME_PMR_HSTS_RESTORE_ERR 1
#define NVME_PMR_HSTS_UNRELIABLE  3
/* PMREBS (3.1.21), PMRSWTP (3.1.22), PMRMSC (3.1.23) */
#define NVME_PMREBS_PMRSZU(x)	((uint32_t)(x)&0xf)
#define NVME_PMREBS_RBB		(1u << 4)
#define NVME_PMREBS_PMRWBZ(x)	((uint32_t)(x) << 8)
#define NVME_PMRSWTP_PMRSWTU(x) ((uint32_t)(x)&0xf)
#define NVME_PMRSWTP_PMRSWTV(x) ((uint32_t)(x) << 8)
#define NVME_PMRMSCL_CMSE	(1u << 1)
#define NVME_PMRMSCL_CBA_MASK	0xfffff000u

struct nvme_ctrl;

struct nvme_pmr {
	int fd;
	uint8_t *ram; /* fixed host address of the BAR: the file or scratch */
	uint64_t size;
	uint32_t pmrcap, pmrctl, pmrsts, pmrebs, pmrswtp, pmrmscl, pmrmscu;
	bool enabled;	   /* the file is mapped */
	uint64_t base;	   /* memory-space base latched at CMSE = 1, ~0 when off; DMA sees it
			    * (while enabled) in c->mem_space[NVME_MEM_PMR] */
	uint64_t persists; /* persistence points taken (msync calls), for tests */
};

/* 0, or -errno with a message. cfg->pmr_path == NULL: no PMR. */
int nvme_pmr_init(struct nvme_ctrl *c, const struct nvme_ctrl_config *cfg, char *err,
		  size_t errlen);
/* Persist, unmap, close. */
void nvme_pmr_fini(struct nvme_ctrl *c);
/* Make every store so far durable in the file (no-op while disabled or absent). */
void nvme_pmr_persist(struct nvme_ctrl *c);
/* PMRCAP..PMRMSCU, 32-bit; controller lock held. A PMRSTS read is a persistence point. */
uint32_t nvme_pmr_reg_read(struct nvme_ctrl *c, uint64_t off);
void nvme_pmr_reg_write(struct nvme_ctrl *c, uint64_t off, uint32_t val);

#endif
