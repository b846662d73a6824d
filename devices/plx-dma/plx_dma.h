/* SPDX-License-Identifier: MIT */
/*
 * plx-dma: the DMA engine function of a PLX (Broadcom) ExpressLane PEX switch, PCI 10b5:87d0,
 * class 0x088000, as Linux's drivers/dma/plx_dma.c drives it: one DMA_MEMCPY channel with a
 * ring of 16-byte descriptors in host memory ("off-chip" descriptor mode). Register facts are
 * the driver's (PLX_REG_*); the switch's other functions are not modelled.
 *
 * BAR0 4 KiB, 32-bit, the channel registers:
 *   0x214 RING_ADDR, 0x218 RING_ADDR_HI   ring base (16-byte aligned)
 *   0x21C RING_NEXT_ADDR                  low 32 bits of the next descriptor to fetch
 *   0x220 RING_COUNT                      descriptors in the ring (1..PLX_DMA_MAX_RING)
 *   0x224 RING_LAST_ADDR, 0x228 LAST_SIZE the last descriptor completed (read only)
 *   0x234 PREF_LIMIT                      stored
 *   0x238 CTRL (16 bits) + 0x23A CTRL2    GRACEFUL_PAUSE, ABORT, WRITE_BACK_EN, START, modes;
 *                                         status DESC_INVALID, *_DONE (write 1 to clear),
 *                                         IN_PROGRESS (bit 30 of the dword: never seen, the
 *                                         engine runs to completion inside the START write)
 *   0x23C INTR_CTRL, 0x23E INTR_STATUS    enables; ERROR, INV_DESC, DESC_DONE, ABORT_DONE (W1C)
 * Descriptor: flags_and_size (31 VALID, 30 INT_WHEN_DONE, 26:0 size), dst_hi:16, src_hi:16,
 * dst_lo, src_lo. On completion the engine writes flags_and_size back: VALID clear, bit 30
 * WB_SUCCESS (or 29 RD_FAIL / 28 WR_FAIL) and the bytes moved in 26:0.
 * Interrupt: MSI (one vector) or INTx A, on DESC_DONE of a descriptor that asked for it, and on
 * ERROR / INV_DESC / ABORT_DONE when enabled in INTR_CTRL.
 *
 * Copies go through pci_dma_read/pci_dma_write: guest RAM, RAM BARs of other devices (NVMe
 * CMB) and NTB memory windows (their per-BAR DMA hook); anything else fails the descriptor.
 */
#ifndef DEVICES_PLX_DMA_H
#define DEVICES_PLX_DMA_H

#include <pthread.h>
#include <stdint.h>

#include "vmm/pci.h"

#define PLX_DMA_VENDOR	 0x10b5
#define PLX_DMA_DEVICE	 0x87d0
#define PLX_DMA_CLASS	 0x088000 /* PCI_CLASS_SYSTEM_OTHER << 8, exact (plx_dma_pci_tbl) */
#define PLX_DMA_BAR0	 0x1000
#define PLX_DMA_MAX_RING 65536 /* descriptors; the driver uses 2048 */

#define PLX_REG_DESC_RING_ADDR	    0x214
#define PLX_REG_DESC_RING_ADDR_HI   0x218
#define PLX_REG_DESC_RING_NEXT_ADDR 0x21c
#define PLX_REG_DESC_RING_COUNT	    0x220
#define PLX_REG_DESC_RING_LAST_ADDR 0x224
#define PLX_REG_DESC_RING_LAST_SIZE 0x228
#define PLX_REG_PREF_LIMIT	    0x234
#define PLX_REG_CTRL		    0x238
#define PLX_REG_INTR_CTRL	    0x23c

#define PLX_CTRL_GRACEFUL_PAUSE	     (1u << 0)
#define PLX_CTRL_ABORT		     (1u << 1)
#define PLX_CTRL_WRITE_BACK_EN	     (1u << 2)
#define PLX_CTRL_START		     (1u << 3)
#define PLX_CTRL_RING_STOP_MODE	     (1u << 4)
#define PLX_CTRL_DESC_MODE_MASK	     (3u << 5)
#define PLX_CTRL_DESC_INVALID	     (1u << 8)
#define PLX_CTRL_GRACEFUL_PAUSE_DONE (1u << 9)
#define PLX_CTRL_ABORT_DONE	     (1u << 10)
#define PLX_CTRL_IMM_PAUSE_DONE	     (1u << 12)
#define PLX_CTRL_IN_PROGRESS	     (1u << 30)
#define PLX_CTRL_STATUS                                                                            \
	(PLX_CTRL_DESC_INVALID | PLX_CTRL_GRACEFUL_PAUSE_DONE | PLX_CTRL_ABORT_DONE |              \
	 PLX_CTRL_IMM_PAUSE_DONE)

/* INTR_CTRL (low 16 bits of the dword at 0x23C) and INTR_STATUS (high 16 bits) */
#define PLX_INTR_ERROR	    (1u << 0)
#define PLX_INTR_INV_DESC   (1u << 1)
#define PLX_INTR_DESC_DONE  (1u << 2) /* status only: the descriptor's INT_WHEN_DONE enables it */
#define PLX_INTR_ABORT_DONE (1u << 3)

#define PLX_DESC_SIZE_MASK	    0x7ffffffu
#define PLX_DESC_FLAG_VALID	    (1u << 31)
#define PLX_DESC_FLAG_INT_WHEN_DONE (1u << 30)
#define PLX_DESC_WB_SUCCESS	    (1u << 30)
#define PLX_DESC_WB_RD_FAIL	    (1u << 29)
#define PLX_DESC_WB_WR_FAIL	    (1u << 28)
#define PLX_DESC_SIZE		    16

struct plx_dma_stats {
	uint64_t descriptors, bytes, failed;
};

struct plx_dma {
	struct pci_dev pci;
	pthread_mutex_t lock;
	uint32_t ring_lo, ring_hi, next_lo, count, last_addr, last_size, pref_limit;
	uint32_t ctrl; /* CTRL | CTRL2 << 16 */
	uint16_t intr_ctrl, intr_status;
	bool intx;
	struct plx_dma_stats stats;
	uint8_t bounce[64 * 1024];
};

/* NULL with errno set on failure. */
struct plx_dma *plx_dma_create(const char *name);
void plx_dma_destroy(struct plx_dma *p);
void plx_dma_get_stats(struct plx_dma *p, struct plx_dma_stats *st);

#endif
