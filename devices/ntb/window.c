/* SPDX-License-Identifier: MIT */
/*
 * Memory windows, as the drivers program them.
 * IDT (BAR2, BAR4), ntb_hw_idt's peer_mw_set_trans:
 * - direct translation (BARSETUP.ATRAN = DIR): BARSETUP.TPART names the target partition,
 *   LTBASE/UTBASE the target address in its guest-physical space, BARLIMIT the absolute end
 *   of the translated part of the BAR (BAR address + size; 0 disables);
 * - lookup table (ATRAN = LUT12 or LUT24): the BAR is cut in 16 or 32 equal slices (the
 *   driver's idt_scan_mws: size_max = aperture / 16 or / 32), of which the first 12 or 24
 *   are windows; entry i (LUTOFFSET.INDEX = i, .BAR = the BAR) translates slice i to
 *   LUTMDATA:LUTLDATA in partition LUTUDATA.PART when LUTUDATA.VALID is set. The slice size
 *   is fixed: no limit register.
 * epf (MW1 in BAR2 after the doorbells, MW2 = BAR3): the peer's CONFIGURE_MW (epf.c).
 * A translated range that is page aligned becomes a memslot over the peer's RAM (no exits);
 * one that is not is carried by the trap handler; an untranslated one drops stores
 * (counted) and reads all ones.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "devices/ntb/internal.h"
#include "vmm/addr_space.h"
#include "vmm/util.h"

static uint64_t page_size(void)
{
	static uint64_t ps;

	if (!ps)
		ps = (uint64_t)sysconf(_SC_PAGESIZE);
	return ps;
}

/*
 * The containment check is the address space's (as_range_offset): this used to be written
 * here with `gpa - reg->gpa > reg->size`, which let a zero-length range at the first byte
 * past a region through, with an offset one past its end in the memfd.
 */
int64_t ntb_ram_offset(const struct ntb_ram *layout, uint64_t gpa, uint64_t size)
{
	uint64_t off;

	for (int r = 0; r < layout->nregions && r < NTB_MAX_RAM_REGIONS; r++) {
		const struct ntb_ram_region *reg = &layout->region[r];

		if (as_range_offset(reg->gpa, reg->size, gpa, size, &off))
			return (int64_t)(reg->offset + off);
	}
	return -1;
}

/* [target, target + size) of the peer's RAM at guest-physical gpa of ours, if it is RAM. */
static struct ntb_window resolve(struct ntb *ntb, uint64_t gpa, uint64_t target, uint64_t size)
{
	struct ntb_window w = {.mode = NTB_WIN_NONE};
	int64_t off = ntb_ram_offset(&ntb->peer_layout, target, size);

	if (off < 0)
		return w;
	w.gpa = gpa;
	w.size = size;
	w.hva = ntb->peer_ram + off;
	w.mode = ((target | size | gpa) & (page_size() - 1)) ? NTB_WIN_COPY : NTB_WIN_MAPPED;
	return w;
}

/* Where window `i` (IDT: BAR 2 + 2i) entry `e` should be now; mode NONE: nowhere. */
static struct ntb_window want(struct ntb *ntb, int i, unsigned e)
{
	struct ntb_window w = {.mode = NTB_WIN_NONE};
	const struct ntb_bar_win *bw = &ntb->win[i];
	const uint32_t(*bar)[4] = ntb->me->bar;
	uint32_t setup;
	uint64_t base = ntb->pci.bars[bw->bar].mapped_addr, limit, target, size;
	int tpart;

	if (ntb->personality == NTB_EPF) /* one window per BAR, no IDT BARSETUP */
		return e == 0 ? ntb_epf_window_want(ntb, i) : w;
	setup = bar[bw->bar][IDT_BAR_SETUP / 4];
	tpart = (int)((setup & IDT_BARSETUP_TPART_MASK) >> IDT_BARSETUP_TPART_SHIFT);
	if (!ntb->mw_size[i] || !ntb->peer_ram || base == ~0ull || !(setup & IDT_BARSETUP_EN) ||
	    e >= bw->nent)
		return w;
	if (ntb->mw_lut[i]) {
		const uint32_t *lut = ntb->lut[i][e];

		if (!(lut[2] & IDT_LUTUDATA_VALID) ||
		    (int)(lut[2] & IDT_LUTUDATA_PART_MASK) != ntb->peer_idx)
			return w;
		target = lut[0] | (uint64_t)lut[1] << 32;
		return resolve(ntb, base + e * bw->ent_size, target, bw->ent_size);
	}
	if ((setup & IDT_BARSETUP_ATRAN_MASK) != IDT_BARSETUP_ATRAN_DIR || tpart != ntb->peer_idx)
		return w;
	limit = bar[bw->bar][IDT_BAR_LIMIT / 4] | (uint64_t)bar[bw->bar + 1][IDT_BAR_LIMIT / 4]
							  << 32;
	if (limit <= base)
		return w;
	size = limit - base < ntb->mw_size[i] ? limit - base : ntb->mw_size[i];
	target = bar[bw->bar][IDT_BAR_LTBASE / 4] | (uint64_t)bar[bw->bar][IDT_BAR_UTBASE / 4]
							    << 32;
	return resolve(ntb, base, target, size);
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
		/* Unmap every stale entry before mapping new ones: memslots must not overlap. */
		struct ntb_window next[NTB_LUT_SLOTS];
		struct ntb_bar_win *bw = &ntb->win[i];

		for (unsigned e = 0; e < bw->nent; e++) {
			struct ntb_window *w = &bw->ent[e];

			next[e] = want(ntb, i, e);
			if (next[e].mode != w->mode || next[e].gpa != w->gpa ||
			    next[e].size != w->size || next[e].hva != w->hva)
				unmap(ntb, w);
		}
		for (unsigned e = 0; e < bw->nent; e++) {
			struct ntb_window *w = &bw->ent[e], n = next[e];

			if (w->mode != NTB_WIN_NONE || n.mode == NTB_WIN_NONE)
				continue;
			if (n.mode == NTB_WIN_MAPPED && (!ntb->wops || !ntb->wops->map))
				n.mode = NTB_WIN_COPY;
			if (n.mode == NTB_WIN_MAPPED) {
				int ret = ntb->wops->map(ntb->wopaque, n.gpa, n.size, n.hva);

				/* Still correct, only slow; but a memslot that cannot be added
				 * is most likely one left behind (-EEXIST: it overlaps; -ENOSPC:
				 * all taken), invisible otherwise. Said, so that the peer-kill
				 * soak test (tests/integration/t_ntb.sh) can fail on it. */
				if (ret) {
					pr_ratelimited(
						"%s: window %d at 0x%llx is no memslot (%s); "
						"its accesses are trapped",
						ntb->name, i, (unsigned long long)n.gpa,
						strerror(-ret));
					n.mode = NTB_WIN_COPY;
				}
			}
			*w = n;
		}
	}
}

void ntb_windows_drop(struct ntb *ntb)
{
	for (int i = 0; i < 2; i++)
		for (unsigned e = 0; e < ntb->win[i].nent; e++)
			unmap(ntb, &ntb->win[i].ent[e]);
}

/* The translated range an access at window offset `off` falls in, with `off` made relative
 * to it; NULL when the access is not wholly inside one. */
static struct ntb_window *lookup(struct ntb_bar_win *bw, uint64_t *off, uint64_t len)
{
	struct ntb_window *w;
	uint64_t e, rel;

	if (!bw->ent_size)
		return NULL;
	e = *off / bw->ent_size;
	rel = *off % bw->ent_size;
	if (e >= bw->nent)
		return NULL;
	w = &bw->ent[e];
	if (w->mode == NTB_WIN_NONE || rel >= w->size || len > w->size - rel)
		return NULL;
	*off = rel;
	return w;
}

static bool window_copy(struct ntb_bar_win *bw, uint64_t off, void *buf, uint64_t len, bool write,
			bool dma)
{
	struct ntb *ntb = bw->ntb;
	struct ntb_window *w;

	pthread_mutex_lock(&ntb->lock);
	w = lookup(bw, &off, len);
	if (w && write)
		memcpy(w->hva + off, buf, len);
	else if (w)
		memcpy(buf, w->hva + off, len);
	else if (!write)
		memset(buf, 0xff, len);
	if (w && dma)
		ntb->stats.dma_copies++;
	else if (w)
		ntb->stats.trapped_copies++;
	else if (write)
		ntb->stats.dropped_stores++;
	else
		ntb->stats.dropped_loads++;
	pthread_mutex_unlock(&ntb->lock);
	return w != NULL;
}

bool ntb_window_rw(struct ntb_bar_win *bw, uint64_t off, void *buf, uint64_t len, bool write)
{
	return window_copy(bw, off, buf, len, write, false);
}

bool ntb_bar_rw(struct ntb *ntb, int bar, uint64_t off, void *buf, uint64_t len, bool write)
{
	if (ntb->personality == NTB_EPF && ntb_epf_doorbell_rw(ntb, bar, off, buf, len, write))
		return true;
	for (int i = 0; i < 2; i++) {
		struct ntb_bar_win *bw = &ntb->win[i];

		/* win[].bar and bar_off are fixed at creation: no lock needed to pick one */
		if (ntb->mw_size[i] && bw->bar == bar && off >= bw->bar_off)
			return ntb_window_rw(bw, off - bw->bar_off, buf, len, write);
	}
	return false;
}

/* The BAR's trapped range: everything the memslots (if any) do not cover. */
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
 * be dropped. opaque: the BAR's window (IDT BAR2/BAR4, epf BAR3).
 */
int ntb_window_dma(void *opaque, uint64_t off, void *buf, uint64_t len, bool write)
{
	return window_copy(opaque, off, buf, len, write, true) ? 0 : -EFAULT;
}
