/* SPDX-License-Identifier: MIT */
/*
 * A PLX ExpressLane PEX DMA function (PCI 10b5:87d0), as Linux's drivers/dma/plx_dma.c drives
 * it: one channel, a ring of 16-byte descriptors in host memory ("off-chip" descriptor mode),
 * completion written back into each descriptor, one interrupt (MSI, else INTx A).
 * Register names follow the driver's PLX_REG_*; what is modelled: devices/plx-dma/README.md.
 *
 * BAR0 (4 KiB, 32-bit, non-prefetchable), channel 0 registers:
 *   0x214 DESC_RING_ADDR     ring base, low 32 bits
 *   0x218 DESC_RING_ADDR_HI  ring base, high 32 bits (also the high half of NEXT_ADDR)
 *   0x21C DESC_RING_NEXT_ADDR  low 32 bits of the descriptor the engine fetches next
 *   0x220 DESC_RING_COUNT    descriptors in the ring (1..PLX_DMA_MAX_RING)
 *   0x224 DESC_RING_LAST_ADDR  (RO) low 32 bits of the last descriptor completed
 *   0x228 DESC_RING_LAST_SIZE  (RO) bytes it moved
 *   0x234 PREF_LIMIT         descriptor prefetch limit (stored only)
 *   0x238 CTRL (16 bits) | CTRL2 (bits 18:16 max transfer size, stored) | IN_PROGRESS (bit 30)
 *   0x23C INTR_CTRL (16 bits) | INTR_STATUS (bits 31:16, write 1 to clear)
 */
#ifndef DEVICES_PLX_DMA_H
#define DEVICES_PLX_DMA_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/pci/pci.h"

#define PLX_DMA_VENDOR	  0x10b5
#define PLX_DMA_DEVICE	  0x87d0
#define PLX_DMA_CLASS	  0x088000 /* PCI_CLASS_SYSTEM_OTHER << 8: the driver's exact match */
#define PLX_DMA_BAR0_SIZE 0x1000
#define PLX_DMA_MAX_RING  65536 /* our limit on DESC_RING_COUNT (the driver uses 2048) */

#define PLX_REG_DESC_RING_ADDR	    0x214
#define PLX_REG_DESC_RING_ADDR_HI   0x218
#define PLX_REG_DESC_RING_NEXT_ADDR 0x21c
#define PLX_REG_DESC_RING_COUNT	    0x220
#define PLX_REG_DESC_RING_LAST_ADDR 0x224
#define PLX_REG_DESC_RING_LAST_SIZE 0x228
#define PLX_REG_PREF_LIMIT	    0x234
#define PLX_REG_CTRL		    0x238
#define PLX_REG_CTRL2		    0x23a
#define PLX_REG_INTR_CTRL	    0x23c
#define PLX_REG_INTR_STATUS	    0x23e

#define PLX_CTRL_GRACEFUL_PAUSE	     (1u << 0)
#define PLX_CTRL_ABORT		     (1u << 1)
#define PLX_CTRL_WRITE_BACK_EN	     (1u << 2)
#define PLX_CTRL_START		     (1u << 3)
#define PLX_CTRL_RING_STOP_MODE	     (1u << 4)
#define PLX_CTRL_DESC_MODE_MASK	     (3u << 5)
#define PLX_CTRL_DESC_MODE_OFF_CHIP  (2u << 5)
#define PLX_CTRL_DESC_INVALID	     (1u << 8)
#define PLX_CTRL_GRACEFUL_PAUSE_DONE (1u << 9)
#define PLX_CTRL_ABORT_DONE	     (1u << 10)
#define PLX_CTRL_IMM_PAUSE_DONE	     (1u << 12)
#define PLX_CTRL_IN_PROGRESS	     (1u << 30) /* of the 32-bit read at CTRL */
#define PLX_CTRL_STATUS_W1C                                                                        \
	(PLX_CTRL_DESC_INVALID | PLX_CTRL_GRACEFUL_PAUSE_DONE | PLX_CTRL_ABORT_DONE |              \
	 PLX_CTRL_IMM_PAUSE_DONE)
#define PLX_CTRL_STORED                                                                            \
	(PLX_CTRL_GRACEFUL_PAUSE | PLX_CTRL_WRITE_BACK_EN | PLX_CTRL_RING_STOP_MODE |              \
	 PLX_CTRL_DESC_MODE_MASK)

/* INTR_CTRL enables and INTR_STATUS causes share bit positions; DESC_DONE is enabled per
 * descriptor (PLX_DESC_FLAG_INT_WHEN_DONE). */
#define PLX_INTR_ERROR	    (1u << 0)
#define PLX_INTR_INV_DESC   (1u << 1)
#define PLX_INTR_DESC_DONE  (1u << 2)
#define PLX_INTR_ABORT_DONE (1u << 3)
#define PLX_INTR_PAUSE_DONE (1u << 4)

/* struct plx_dma_hw_std_desc: le32 flags_and_size, le16 dst_hi, le16 src_hi, le32 dst_lo,
 * le32 src_lo. Addresses are 48 bits. */
#define PLX_DESC_SIZE		    16
#define PLX_DESC_SIZE_MASK	    0x7ffffffu
#define PLX_DESC_FLAG_VALID	    (1u << 31)
#define PLX_DESC_FLAG_INT_WHEN_DONE (1u << 30)
#define PLX_DESC_WB_SUCCESS	    (1u << 30)
#define PLX_DESC_WB_RD_FAIL	    (1u << 29)
#define PLX_DESC_WB_WR_FAIL	    (1u << 28)

struct plx_dma_stats {
	uint64_t descriptors; /* completed (written back), good or failed */
	uint64_t bytes;	      /* moved */
	uint64_t failed;      /* descriptors completed with RD_FAIL or WR_FAIL */
	uint64_t ring_errors; /* STARTs refused or stops on an unreadable ring */
};

struct plx_dma {
	struct pci_dev pci;
	pthread_mutex_t lock;	  /* the registers and the engine state below */
	pthread_cond_t cond;	  /* worker: engine started or device going away */
	pthread_mutex_t irq_lock; /* orders interrupt delivery; taken before `lock` */
	pthread_t thread;
	bool threaded, quit;

	/* registers */
	uint64_t ring_addr;
	uint32_t next_addr, ring_count, last_addr, last_size, pref_limit;
	uint16_t ctrl, ctrl2, intr_ctrl, intr_status;

	/* engine */
	bool running;	    /* IN_PROGRESS */
	bool start_pending; /* START written since the engine last fetched a descriptor */
	bool abort;	    /* ABORT written; the engine stops at the next chunk */
	bool busy;	    /* a thread is executing descriptors now */
	bool irq_level;	    /* enabled causes pending, as last delivered */
	uint8_t *bounce;    /* copies that pci_dma_map cannot reach directly */
	struct plx_dma_stats stats;
};

/* threaded: descriptors run on the device's own thread (what the machine uses); otherwise
 * inline in the register write that starts the engine (deterministic unit tests).
 * NULL with errno set on failure. */
struct plx_dma *plx_dma_create(const char *name, bool threaded);
/* Stop the engine and its thread for good: before pci_root_destroy, which tears down what
 * the engine's DMA goes through. */
void plx_dma_quiesce(struct plx_dma *p);
/* Quiesces, then frees (after pci_root_destroy when the device was on a bus). */
void plx_dma_destroy(struct plx_dma *p);
/* Wait until the engine is stopped and no descriptor is in flight; false on timeout. */
bool plx_dma_wait_idle(struct plx_dma *p, unsigned timeout_ms);
void plx_dma_get_stats(struct plx_dma *p, struct plx_dma_stats *st);

#endif
