/* SPDX-License-Identifier: MIT */
/*
 * Memory windows (BAR2, BAR4) with direct translation: BARSETUP.TPART names the target
 * partition, LTBASE/UTBASE the target address in its guest-physical space, BARLIMIT the
 * absolute end of the translated part of the BAR (BAR address + size; 0 disables), as
 * ntb_hw_idt's peer_mw_set_trans programs them. A translated window that is page aligned
 * becomes a memslot over the peer's RAM (no exits); one that is not is carried by the trap
 * handler; an untranslated one drops stores (counted) and reads all ones.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "devices/ntb/internal.h"
#include "vmm/util.h"

static uint64_t page_size(void)
{
	static uint64_t ps;

	if (!ps)
		ps = (uint64_t)sysconf(_SC_PAGESIZE);
	return ps;
}

int64_t ntb_ram_offset(const struct ntb_ram *layout, uint64_t gpa, uint64_t size)
{
	for (int r = 0; r < layout->nregions && r < NTB_MAX_RAM_REGIONS; r++) {
		const struct ntb_ram_region *reg = &layout->region[r];

		if (gpa < reg->gpa || gpa - reg->gpa > reg->size ||
		    size > reg->size - (gpa - reg->gpa))
			continue;
		return (int64_t)(reg->offset + (gpa - reg->gpa));
	}
	return -1;
}

/* Where the window should be now; mode NONE when it goes nowhere. */
static struct ntb_window want(struct ntb *ntb, int i)
{
	struct ntb_window w = {.ntb = ntb, .bar = 2 + 2 * i, .mode = NTB_WIN_NONE};
	const uint32_t(*bar)[4] = ntb->me->bar;
	uint32_t setup = bar[w.bar][IDT_BAR_SETUP / 4];
	uint64_t base = ntb->pci.bars[w.bar].mapped_addr, limit, target, size;
	int tpart = (int)((setup & IDT_BARSETUP_TPART_MASK) >> IDT_BARSETUP_TPART_SHIFT);
	int64_t off;

	if (ntb->personality == NTB_EPF)
		return ntb_epf_window_want(ntb, i);
	if (!ntb->mw_size[i] || !ntb->peer_ram || base == ~0ull || !(setup & IDT_BARSETUP_EN) ||
	    (setup & IDT_BARSETUP_ATRAN_MASK) != IDT_BARSETUP_ATRAN_DIR || tpart != ntb->peer_idx)
		return w;
	limit = bar[w.bar][IDT_BAR_LIMIT / 4] | (uint64_t)bar[w.bar + 1][IDT_BAR_LIMIT / 4] << 32;
	if (limit <= base)
		return w;
	size = limit - base < ntb->mw_size[i] ? limit - base : ntb->mw_size[i];
	target = bar[w.bar][IDT_BAR_LTBASE / 4] | (uint64_t)bar[w.bar][IDT_BAR_UTBASE / 4] << 32;
	off = ntb_ram_offset(&ntb->peer_layout, target, size);
	if (off < 0)
		return w;
	w.gpa = base;
	w.size = size;
	w.hva = ntb->peer_ram + off;
	w.mode = ((target | size | base) & (page_size() - 1)) ? NTB_WIN_COPY : NTB_WIN_MAPPED;
	return w;
}

static void unmap(struct ntb *ntb, struct ntb_window *w)
{
	if (w->mode == NTB_WIN_MAPPED && ntb->wops && ntb->wops->unmap)
		ntb->wops->unmap(ntb->wopaque, w->gpa, w->size);
	w->mode = NTB_WIN_NONE;
	w->hva = NULL;
	w->gpa = w->size = 0;
}

void ntb_windows_update(struct ntb *ntb)
{
	for (int i = 0; i < 2; i++) {
		struct ntb_window *w = &ntb->win[i], n = want(ntb, i);

		n.bar = w->bar;
		n.bar_off = w->bar_off;
		if (n.mode == w->mode && n.gpa == w->gpa && n.size == w->size && n.hva == w->hva)
			continue;
		unmap(ntb, w);
		if (n.mode == NTB_WIN_MAPPED &&
		    (!ntb->wops || !ntb->wops->map ||
		     ntb->wops->map(ntb->wopaque, n.gpa, n.size, n.hva) != 0))
			n.mode = NTB_WIN_COPY;
		*w = n;
	}
}

void ntb_windows_drop(struct ntb *ntb)
{
	for (int i = 0; i < 2; i++)
		unmap(ntb, &ntb->win[i]);
}

bool ntb_window_rw(struct ntb_window *w, uint64_t off, void *buf, uint64_t len, bool write)
{
	struct ntb *ntb = w->ntb;
	bool ok;

	pthread_mutex_lock(&ntb->lock);
	ok = w->mode != NTB_WIN_NONE && off < w->size && len <= w->size - off;
	if (ok && write)
		memcpy(w->hva + off, buf, len);
	else if (ok)
		memcpy(buf, w->hva + off, len);
	else if (!write)
		memset(buf, 0xff, len);
	if (ok)
		ntb->stats.trapped_copies++;
	else if (write)
		ntb->stats.dropped_stores++;
	else
		ntb->stats.dropped_loads++;
	pthread_mutex_unlock(&ntb->lock);
	return ok;
}

bool ntb_bar_rw(struct ntb *ntb, int bar, uint64_t off, void *buf, uint64_t len, bool write)
{
	if (ntb->personality == NTB_EPF && ntb_epf_doorbell_rw(ntb, bar, off, buf, len, write))
		return true;
	for (int i = 0; i < 2; i++) {
		struct ntb_window *w = &ntb->win[i];

		/* win[].bar and bar_off are fixed at creation: no lock needed to pick one */
		if (ntb->mw_size[i] && w->bar == bar && off >= w->bar_off)
			return ntb_window_rw(w, off - w->bar_off, buf, len, write);
	}
	return false;
}

/* The BAR's trapped range: everything the memslot (if any) does not cover. */
static uint64_t window_read(void *opaque, uint64_t off, unsigned size)
{
	uint64_t v = 0;

	ntb_window_rw(opaque, off, &v, size > 8 ? 8 : size, false);
	return v;
}

static void window_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	ntb_window_rw(opaque, off, &val, size > 8 ? 8 : size, true);
}

const struct bus_ops ntb_window_ops = {.read = window_read, .write = window_write};

/*
 * DMA by another function of this machine (a PLX DMA engine) into a window: the same
 * translation as CPU stores, copied under ntb->lock because the link thread may unmap the
 * peer's RAM at any moment (drop_peer, under the same lock). Refused where a CPU store would
 * be dropped.
 */
int ntb_window_dma(void *opaque, uint64_t off, void *buf, uint64_t len, bool write)
{
	struct ntb_window *w = opaque;
	struct ntb *ntb = w->ntb;
	int ret = -EFAULT;

	pthread_mutex_lock(&ntb->lock);
	if (w->mode != NTB_WIN_NONE && w->hva && off < w->size && len <= w->size - off) {
		if (write)
			memcpy(w->hva + off, buf, len);
		else
			memcpy(buf, w->hva + off, len);
		ntb->stats.dma_copies++;
		ret = 0;
	} else if (write) {
		ntb->stats.dropped_stores++;
	} else {
		ntb->stats.dropped_loads++;
	}
	pthread_mutex_unlock(&ntb->lock);
	return ret;
}
