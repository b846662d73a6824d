/* SPDX-License-Identifier: MIT */
/* The PLX DMA engine function (plx_dma.h): registers, the descriptor ring, the copies. */
#include "devices/plx-dma/plx_dma.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/util.h"

#define PAGE 4096u

static uint32_t dword(struct plx_dma *p, uint64_t off)
{
	switch (off) {
	case PLX_REG_DESC_RING_ADDR:
		return p->ring_lo;
	case PLX_REG_DESC_RING_ADDR_HI:
		return p->ring_hi;
	case PLX_REG_DESC_RING_NEXT_ADDR:
		return p->next_lo;
	case PLX_REG_DESC_RING_COUNT:
		return p->count;
	case PLX_REG_DESC_RING_LAST_ADDR:
		return p->last_addr;
	case PLX_REG_DESC_RING_LAST_SIZE:
		return p->last_size;
	case PLX_REG_PREF_LIMIT:
		return p->pref_limit;
	case PLX_REG_CTRL:
		return p->ctrl;
	case PLX_REG_INTR_CTRL:
		return p->intr_ctrl | (uint32_t)p->intr_status << 16;
	default:
		return 0;
	}
}

static uint64_t plx_read(void *opaque, uint64_t off, unsigned size)
{
	struct plx_dma *p = opaque;
	uint64_t v;

	if (size > 4 || (off & 3) + size > 4)
		return ~0ull >>
		       (64 - 8 * (size > 8 ? 8 : size)); /* no access spans two registers */
	pthread_mutex_lock(&p->lock);
	v = dword(p, off & ~3ull) >> (8 * (off & 3));
	pthread_mutex_unlock(&p->lock);
	return size == 4 ? (uint32_t)v : v & ((1ull << (8 * size)) - 1);
}

/* ---- the engine ---- */

/* Move one piece of a descriptor: direct when both ends are plain memory, else through the
 * bounce buffer and the BARs' DMA hooks (NTB windows). 0, or PLX_DESC_WB_RD_FAIL / _WR_FAIL. */
static uint32_t copy_piece(struct plx_dma *p, uint64_t dst, uint64_t src, uint64_t len)
{
	void *d = pci_dma_map(&p->pci, dst, len), *s = pci_dma_map(&p->pci, src, len);

	if (d && s) {
		memmove(d, s, len);
		return 0;
	}
	if (pci_dma_read(&p->pci, src, p->bounce, len))
		return PLX_DESC_WB_RD_FAIL;
	if (pci_dma_write(&p->pci, dst, p->bounce, len))
		return PLX_DESC_WB_WR_FAIL;
	return 0;
}

static uint64_t min3(uint64_t a, uint64_t b, uint64_t c)
{
	return a < b ? (a < c ? a : c) : (b < c ? b : c);
}

/* Copy a descriptor's bytes in pieces of up to the bounce buffer, retried page by page when a
 * piece straddles two regions. Returns the write-back status bits; *done = bytes moved. */
static uint32_t copy(struct plx_dma *p, uint64_t dst, uint64_t src, uint64_t len, uint64_t *done)
{
	*done = 0;
	while (*done < len) {
		uint64_t n = min3(len - *done, sizeof(p->bounce), ~0ull), s = src + *done,
			 d = dst + *done;
		uint32_t err = copy_piece(p, d, s, n);

		if (err) {
			n = min3(n, PAGE - (s & (PAGE - 1)), PAGE - (d & (PAGE - 1)));
			err = copy_piece(p, d, s, n);
			if (err)
				return err;
		}
		*done += n;
	}
	return 0;
}

/*
 * Run the ring from NEXT_ADDR until a descriptor without VALID (plx_dma_issue_pending writes
 * START after making descriptors valid; plx_dma_process_desc reaps those whose VALID the
 * engine cleared). At most one lap per START, so a guest that keeps re-validating cannot hold
 * the vCPU here. Returns the INTR_STATUS bits raised. Called with p->lock held.
 */
static uint16_t run(struct plx_dma *p)
{
	uint64_t base = p->ring_lo | (uint64_t)p->ring_hi << 32, next, idx;
	uint16_t raised = 0;

	if (!p->count || p->count > PLX_DMA_MAX_RING || (base & (PLX_DESC_SIZE - 1)))
		goto invalid;
	next = p->next_lo | (uint64_t)p->ring_hi << 32;
	if (next < base || (next - base) % PLX_DESC_SIZE ||
	    (next - base) / PLX_DESC_SIZE >= p->count)
		goto invalid;
	idx = (next - base) / PLX_DESC_SIZE;
	for (uint32_t n = 0; n < p->count; n++) {
		uint64_t at = base + idx * PLX_DESC_SIZE, src, dst, done = 0;
		uint8_t desc[PLX_DESC_SIZE];
		uint32_t flags, size, wb, status;

		if (pci_dma_read(&p->pci, at, desc, sizeof(desc)))
			goto invalid; /* the ring itself is unreachable */
		flags = (uint32_t)bus_load_le(desc, 4);
		if (!(flags & PLX_DESC_FLAG_VALID)) {
			p->ctrl |= PLX_CTRL_DESC_INVALID; /* caught up with the driver */
			break;
		}
		size = flags & PLX_DESC_SIZE_MASK;
		dst = bus_load_le(desc + 8, 4) | bus_load_le(desc + 4, 2) << 32;
		src = bus_load_le(desc + 12, 4) | bus_load_le(desc + 6, 2) << 32;
		status = copy(p, dst, src, size, &done);
		wb = (status ? status : PLX_DESC_WB_SUCCESS) | (uint32_t)done;
		p->stats.descriptors++;
		p->stats.bytes += done;
		if (status) {
			p->stats.failed++;
			raised |= PLX_INTR_ERROR;
			pr_ratelimited(
				"%s: descriptor %llu: %s failed (src 0x%llx dst 0x%llx size %u)",
				p->pci.name, (unsigned long long)idx,
				status == PLX_DESC_WB_RD_FAIL ? "read" : "write",
				(unsigned long long)src, (unsigned long long)dst, size);
		}
		/* WRITE_BACK_EN: the driver always sets it and reaps by the cleared VALID bit. */
		if (p->ctrl & PLX_CTRL_WRITE_BACK_EN) {
			uint8_t w[4];

			bus_store_le(w, wb, 4);
			if (pci_dma_write(&p->pci, at, w, 4))
				goto invalid;
		}
		p->last_addr = (uint32_t)at;
		p->last_size = (uint32_t)done;
		if (flags & PLX_DESC_FLAG_INT_WHEN_DONE)
			raised |= PLX_INTR_DESC_DONE;
		idx = (idx + 1) % p->count;
		p->next_lo = (uint32_t)(base + idx * PLX_DESC_SIZE);
	}
	return raised;
invalid:
	p->ctrl |= PLX_CTRL_DESC_INVALID;
	pr_ratelimited("%s: descriptor ring at 0x%llx (%u entries, next 0x%x) is not usable",
		       p->pci.name, (unsigned long long)base, p->count, p->next_lo);
	return raised | PLX_INTR_INV_DESC | PLX_INTR_ERROR;
}

/* ---- registers ---- */

/* Whether the function wants an interrupt now (ISR: plx_dma_isr reads INTR_STATUS). */
static bool pending(const struct plx_dma *p)
{
	return (p->intr_status & PLX_INTR_DESC_DONE) ||
	       (p->intr_status & p->intr_ctrl &
		(PLX_INTR_ERROR | PLX_INTR_INV_DESC | PLX_INTR_ABORT_DONE));
}

static uint16_t write_ctrl(struct plx_dma *p, uint32_t v, uint32_t mask)
{
	uint32_t keep = PLX_CTRL_GRACEFUL_PAUSE | PLX_CTRL_ABORT | PLX_CTRL_WRITE_BACK_EN |
			PLX_CTRL_RING_STOP_MODE | PLX_CTRL_DESC_MODE_MASK | 0xbfff0000u;
	uint16_t raised = 0;

	/* Status bits are write-1-to-clear (plx_dma writes PLX_REG_CTRL_RESET_VAL to clear). */
	p->ctrl &= ~(v & mask & PLX_CTRL_STATUS);
	p->ctrl = (p->ctrl & ~(keep & mask)) | (v & keep & mask);
	if (p->ctrl & PLX_CTRL_ABORT) {
		/* Nothing runs in the background: an abort is done at once. */
		p->ctrl = (p->ctrl & ~PLX_CTRL_ABORT) | PLX_CTRL_ABORT_DONE;
		raised |= PLX_INTR_ABORT_DONE;
	}
	if (p->ctrl & PLX_CTRL_GRACEFUL_PAUSE) {
		/* __plx_dma_stop polls for GRACEFUL_PAUSE_DONE; the engine is idle between
		 * register writes. A paused engine ignores START. */
		p->ctrl |= PLX_CTRL_GRACEFUL_PAUSE_DONE;
	} else if (v & mask & PLX_CTRL_START) {
		raised |= run(p);
	}
	return raised;
}

static void plx_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct plx_dma *p = opaque;
	uint64_t aligned = off & ~3ull;
	unsigned shift = 8 * (unsigned)(off & 3);
	uint32_t mask, v = (uint32_t)(val << shift);
	uint16_t raised = 0;
	bool was, now;

	if (size > 4 || (off & 3) + size > 4) {
		pr_ratelimited("%s: %u-byte write at 0x%llx ignored", p->pci.name, size,
			       (unsigned long long)off);
		return;
	}
	mask = (uint32_t)(((1ull << (8 * size)) - 1) << shift);
	pthread_mutex_lock(&p->lock);
	was = pending(p);
	switch (aligned) {
	case PLX_REG_DESC_RING_ADDR:
		p->ring_lo = (p->ring_lo & ~mask) | (v & mask);
		break;
	case PLX_REG_DESC_RING_ADDR_HI:
		p->ring_hi = (p->ring_hi & ~mask) | (v & mask & 0xffff); /* 48-bit addresses */
		break;
	case PLX_REG_DESC_RING_NEXT_ADDR:
		p->next_lo = (p->next_lo & ~mask) | (v & mask);
		break;
	case PLX_REG_DESC_RING_COUNT:
		p->count = (p->count & ~mask) | (v & mask);
		break;
	case PLX_REG_PREF_LIMIT:
		p->pref_limit = (p->pref_limit & ~mask) | (v & mask);
		break;
	case PLX_REG_CTRL:
		raised = write_ctrl(p, v, mask);
		break;
	case PLX_REG_INTR_CTRL:
		p->intr_ctrl = (uint16_t)((p->intr_ctrl & ~mask) | (v & mask));
		p->intr_status &= (uint16_t) ~((v & mask) >> 16); /* plx_dma_isr: W1C */
		break;
	default:
		break;
	}
	p->intr_status |= raised;
	now = pending(p);
	pthread_mutex_unlock(&p->lock);

	/* MSI on a new cause; INTx follows the level. Outside the lock: delivery calls the host. */
	if (now && (raised || !was) && pci_notify(&p->pci, 0))
		return;
	if (now != p->intx) {
		p->intx = now;
		pci_intx_set(&p->pci, now);
	}
}

static const struct bus_ops plx_bar0_ops = {.read = plx_read, .write = plx_write};

struct plx_dma *plx_dma_create(const char *name)
{
	struct plx_dma *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	pci_dev_init(&p->pci, name, PLX_DMA_VENDOR, PLX_DMA_DEVICE, PLX_DMA_CLASS, 0, false);
	p->pci.opaque = p;
	if (pci_dev_set_bar(&p->pci, 0, PCI_BAR_MEM32, false, PLX_DMA_BAR0, &plx_bar0_ops, p,
			    NULL) ||
	    pci_add_msi(&p->pci, false) < 0) {
		plx_dma_destroy(p);
		errno = EINVAL;
		return NULL;
	}
	pci_set_intx_pin(&p->pci, 1);
	return p;
}

void plx_dma_destroy(struct plx_dma *p)
{
	if (!p)
		return;
	pthread_mutex_destroy(&p->lock);
	free(p);
}

void plx_dma_get_stats(struct plx_dma *p, struct plx_dma_stats *st)
{
	pthread_mutex_lock(&p->lock);
	*st = p->stats;
	pthread_mutex_unlock(&p->lock);
}
