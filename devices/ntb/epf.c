/* SPDX-License-Identifier: MIT */
/*
 * The epf personality: what Linux's pci-epf-ntb endpoint function on a TI J721E shows each of
 * the two hosts, for the host driver ntb_hw_epf. The endpoint SoC is not modelled as a third
 * party: each vmm process plays its own side of it, and what the SoC shares between the two
 * sides (scratchpads, link requests, doorbell and window setup) lives in this port's epf
 * section of the shared switch state. Commands run synchronously when COMMAND is written, so
 * CMD_STATUS is final when the driver first polls it (ntb_epf_send_command).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "devices/ntb/epf.h"
#include "devices/ntb/internal.h"
#include "vmm/pci/pcie_cap.h"
#include "vmm/util.h"

#define EPF_PCIECAP 0x40
#define EPF_MSIXCAP 0x80

static const struct pcie_cap_desc epf_pcie_cap = {
	.type = PCIE_TYPE_ENDPOINT,
	.width = 1,
	.speed = PCIE_SPEED_5GT,
};

static uint64_t page_size(void)
{
	static uint64_t ps;

	if (!ps)
		ps = (uint64_t)sysconf(_SC_PAGESIZE);
	return ps;
}

static unsigned mw_count(const struct ntb *ntb)
{
	return ntb->mw_size[1] ? 2 : 1;
}

/* pci-epf-ntb epf_ntb_db_mw_bar_init: MW1 starts at ALIGN(doorbells, MW1 size). */
static uint64_t mw1_offset(const struct ntb *ntb)
{
	return ntb->mw_size[0];
}

static uint32_t merge(uint32_t old, uint32_t val, uint32_t bytemask)
{
	return (old & ~bytemask) | (val & bytemask);
}

/* The peer's port when its vmm is there (shm lock held). */
static struct ntb_shm_port *peer_slot(struct ntb *ntb)
{
	if (ntb->peer_idx < 0 || !ntb->shm->port[ntb->peer_idx].attached)
		return NULL;
	return &ntb->shm->port[ntb->peer_idx];
}

/* pci-epf-ntb COMMAND_LINK_UP: the link comes up once both hosts asked for it; here the
 * peer's vmm must also be attached (a dead peer takes its request with it). Shm locked. */
static bool link_up(struct ntb *ntb)
{
	struct ntb_shm_port *p = peer_slot(ntb);

	return p && ntb->me->epf.link_req && p->epf.link_req;
}

/* ---- the ctrl region and scratchpads (BAR0) ---- */

static uint32_t ctrl_read(struct ntb *ntb, unsigned off)
{
	if (off >= EPF_SPAD_OFFSET && off < EPF_SPAD_OFFSET + 4 * NTB_EPF_SPADS)
		return ntb->me->epf.spad[(off - EPF_SPAD_OFFSET) / 4];
	/* ntb_epf_peer_db_set writes DB_DATA(n) at n * DB_ENTRY_SIZE + DB_OFFSET(n); the
	 * doorbell is decoded by its entry, so the data is only a token. */
	if (off >= NTB_EPF_DB_DATA(0) && off < NTB_EPF_DB_OFFSET(0))
		return (off - NTB_EPF_DB_DATA(0)) / 4;
	switch (off) {
	case NTB_EPF_ARGUMENT:
		return ntb->epf.argument;
	case NTB_EPF_CMD_STATUS: /* and LINK_STATUS above it (ntb_epf_link_is_up) */
		return ntb->epf.status | (link_up(ntb) ? (uint32_t)LINK_STATUS_UP << 16 : 0);
	case NTB_EPF_TOPOLOGY:
		return ntb->epf.topology;
	case NTB_EPF_LOWER_ADDR:
		return (uint32_t)ntb->epf.addr;
	case NTB_EPF_UPPER_ADDR:
		return (uint32_t)(ntb->epf.addr >> 32);
	case NTB_EPF_LOWER_SIZE:
		return (uint32_t)ntb->epf.size;
	case NTB_EPF_UPPER_SIZE:
		return (uint32_t)(ntb->epf.size >> 32);
	case NTB_EPF_MW_COUNT:
		return mw_count(ntb);
	case NTB_EPF_MW1_OFFSET:
		return (uint32_t)mw1_offset(ntb);
	case NTB_EPF_SPAD_OFFSET:
		return EPF_SPAD_OFFSET;
	case NTB_EPF_SPAD_COUNT:
		return NTB_EPF_SPADS;
	case NTB_EPF_DB_ENTRY_SIZE:
		return EPF_DB_ENTRY_SIZE;
	default:
		return 0; /* COMMAND (taken at once), DB_OFFSET(n), reserved */
	}
}

/* epf_ntb_configure_mw: the peer's MW<idx> is to reach [addr, addr + size) of this guest. */
static bool configure_mw(struct ntb *ntb, uint32_t idx)
{
	struct ntb_shm_epf *me = &ntb->me->epf;
	uint64_t addr = ntb->epf.addr, size = ntb->epf.size;

	if (idx >= mw_count(ntb) || !size || size > ntb->mw_size[idx])
		return false;
	/* ntb_epf_mw_get_align promises 4 KiB address alignment; the end must not wrap */
	if ((addr & (EPF_MW_ALIGN - 1)) || addr + size < addr)
		return false;
	if (ntb->own_layout.nregions && ntb_ram_offset(&ntb->own_layout, addr, size) < 0)
		return false;
	me->mw_addr[idx] = addr;
	me->mw_size[idx] = size;
	me->mw_valid |= 1u << idx;
	return true;
}

/* epf_ntb_cmd_handler. Shm locked; returns the ports to kick. */
static uint32_t run_command(struct ntb *ntb, uint32_t cmd)
{
	struct ntb_shm_epf *me = &ntb->me->epf;
	uint32_t arg = ntb->epf.argument, peer = ntb->peer_idx >= 0 ? 1u << ntb->peer_idx : 0;
	uint32_t kick = 0;
	bool ok = true;

	if (!cmd)
		return 0;
	ntb->epf.argument = 0; /* pci-epf-ntb clears command and argument when it takes them */
	switch (cmd) {
	case CMD_CONFIGURE_DOORBELL:
		/* epf_ntb_configure_db: 1..MAX_DB_COUNT vectors; this function has MSI-X only */
		ok = (arg & MSIX_ENABLE) && (arg & DB_COUNT_MASK) >= 1 &&
		     (arg & DB_COUNT_MASK) <= EPF_NR_VECTORS;
		if (ok)
			me->db_count = arg & DB_COUNT_MASK;
		break;
	case CMD_TEARDOWN_DOORBELL:
		me->db_count = 0;
		me->db_pending = 0;
		break;
	case CMD_CONFIGURE_MW:
		ok = configure_mw(ntb, arg);
		kick = peer;
		break;
	case CMD_TEARDOWN_MW:
		ok = arg < mw_count(ntb);
		if (ok)
			me->mw_valid &= ~(1u << arg);
		kick = peer;
		break;
	case CMD_LINK_UP:
		me->link_req = 1;
		kick = peer;
		break;
	case CMD_LINK_DOWN:
		me->link_req = 0;
		kick = peer;
		break;
	default:
		pr_ratelimited("%s: unknown ntb_epf command %u", ntb->name, cmd);
		ok = false;
		break;
	}
	ntb->epf.status = ok ? COMMAND_STATUS_OK : COMMAND_STATUS_ERROR;
	return ok ? kick : 0;
}

static uint64_t set_half(uint64_t v, bool upper, uint32_t half, uint32_t bytemask)
{
	uint32_t old = (uint32_t)(upper ? v >> 32 : v), n = merge(old, half, bytemask);

	return upper ? (v & 0xffffffffull) | (uint64_t)n << 32 : (v & ~0xffffffffull) | n;
}

/* Shm locked; returns the ports to kick. */
static uint32_t ctrl_write(struct ntb *ntb, unsigned off, uint32_t val, uint32_t bytemask)
{
	uint32_t *r;

	if (off >= EPF_SPAD_OFFSET && off < EPF_SPAD_OFFSET + 4 * NTB_EPF_SPADS) {
		r = &ntb->me->epf.spad[(off - EPF_SPAD_OFFSET) / 4];
		*r = merge(*r, val, bytemask);
		return 0;
	}
	switch (off) {
	case NTB_EPF_COMMAND:
		return run_command(ntb, val & bytemask);
	case NTB_EPF_ARGUMENT:
		ntb->epf.argument = merge(ntb->epf.argument, val, bytemask);
		break;
	case NTB_EPF_CMD_STATUS: /* the driver clears it with writew(0); LINK_STATUS is RO */
		ntb->epf.status = (uint16_t)merge(ntb->epf.status, val, bytemask & 0xffff);
		break;
	case NTB_EPF_TOPOLOGY:
		ntb->epf.topology = merge(ntb->epf.topology, val, bytemask);
		break;
	case NTB_EPF_LOWER_ADDR:
	case NTB_EPF_UPPER_ADDR:
		ntb->epf.addr = set_half(ntb->epf.addr, off == NTB_EPF_UPPER_ADDR, val, bytemask);
		break;
	case NTB_EPF_LOWER_SIZE:
	case NTB_EPF_UPPER_SIZE:
		ntb->epf.size = set_half(ntb->epf.size, off == NTB_EPF_UPPER_SIZE, val, bytemask);
		break;
	default:
		break; /* the layout fields and doorbell data are read-only */
	}
	return 0;
}

/* A dword-contained access of 1, 2 or 4 bytes, or an aligned qword, inside `limit`. */
static bool access_ok(uint64_t off, unsigned size, uint64_t limit)
{
	if (off >= limit || size > limit - off)
		return false;
	return size == 8 ? !(off & 7)
			 : (size == 1 || size == 2 || size == 4) && (off & 3) + size <= 4;
}

static uint64_t size_mask(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

static uint32_t lane_mask(uint64_t off, unsigned size)
{
	return (uint32_t)(size_mask(size < 4 ? size : 4) << (8 * (off & 3)));
}

static uint64_t bar0_read(void *opaque, uint64_t off, unsigned size)
{
	struct ntb *ntb = opaque;
	unsigned o = (unsigned)off & ~3u;
	uint64_t v;

	if (!access_ok(off, size, EPF_BAR0_SIZE))
		return size_mask(size);
	ntb_lock_all(ntb);
	ntb_shm_lock(ntb->shm);
	if (size == 8)
		v = ctrl_read(ntb, o) | (uint64_t)ctrl_read(ntb, o + 4) << 32;
	else
		v = (ctrl_read(ntb, o) >> (8 * (off & 3))) & size_mask(size);
	ntb_shm_unlock(ntb->shm);
	ntb_unlock_all(ntb);
	return v;
}

static void bar0_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct ntb *ntb = opaque;
	unsigned o = (unsigned)off & ~3u;
	uint32_t kick;

	if (!access_ok(off, size, EPF_BAR0_SIZE)) {
		pr_ratelimited("%s: %u-byte BAR0 write at 0x%x ignored", ntb->name, size,
			       (unsigned)off);
		return;
	}
	ntb_lock_all(ntb);
	ntb_shm_lock(ntb->shm);
	if (size == 8) {
		kick = ctrl_write(ntb, o, (uint32_t)val, ~0u);
		kick |= ctrl_write(ntb, o + 4, (uint32_t)(val >> 32), ~0u);
	} else {
		kick = ctrl_write(ntb, o, (uint32_t)val << (8 * (off & 3)), lane_mask(off, size));
	}
	ntb_shm_unlock(ntb->shm);
	ntb_epf_irq_update(ntb);
	ntb_kick(ntb, kick);
	ntb_unlock_all(ntb);
}

static const struct bus_ops epf_bar0_ops = {.read = bar0_read, .write = bar0_write};

/* ---- the peer's scratchpads (BAR1): ntb_epf_peer_spad_read/_write ---- */

static uint64_t bar1_read(void *opaque, uint64_t off, unsigned size)
{
	struct ntb *ntb = opaque;
	struct ntb_shm_port *p;
	uint64_t v = 0;

	if (!access_ok(off, size, EPF_BAR1_SIZE) || size == 8)
		return size_mask(size);
	if (off >= 4 * NTB_EPF_SPADS)
		return 0;
	pthread_mutex_lock(&ntb->lock);
	ntb_shm_lock(ntb->shm);
	p = peer_slot(ntb);
	if (p)
		v = (p->epf.spad[off / 4] >> (8 * (off & 3))) & size_mask(size);
	ntb_shm_unlock(ntb->shm);
	pthread_mutex_unlock(&ntb->lock);
	return v;
}

static void bar1_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct ntb *ntb = opaque;
	struct ntb_shm_port *p;
	uint32_t *r;

	if (!access_ok(off, size, EPF_BAR1_SIZE) || size == 8 || off >= 4 * NTB_EPF_SPADS)
		return;
	pthread_mutex_lock(&ntb->lock);
	ntb_shm_lock(ntb->shm);
	p = peer_slot(ntb);
	if (p) {
		r = &p->epf.spad[off / 4];
		*r = merge(*r, (uint32_t)val << (8 * (off & 3)), lane_mask(off, size));
	} else {
		ntb->stats.dropped_spads++;
	}
	ntb_shm_unlock(ntb->shm);
	pthread_mutex_unlock(&ntb->lock);
}

static const struct bus_ops epf_bar1_ops = {.read = bar1_read, .write = bar1_write};

/* ---- doorbells and MW1 (BAR2) ---- */

/* pci-epf-ntb epf_ntb_configure_msix: doorbell entry n is mapped onto the peer's MSI-X
 * vector n, for the n vectors the peer configured. */
static void ring(struct ntb *ntb, uint64_t n)
{
	struct ntb_shm_port *p;
	bool rang = false;

	pthread_mutex_lock(&ntb->lock);
	ntb_shm_lock(ntb->shm);
	p = peer_slot(ntb);
	if (p && n < p->epf.db_count && n < EPF_NR_VECTORS) {
		p->epf.db_pending |= 1u << n;
		rang = true;
	} else {
		ntb->stats.dropped_doorbells++;
	}
	ntb_shm_unlock(ntb->shm);
	if (rang)
		ntb_kick(ntb, 1u << ntb->peer_idx);
	pthread_mutex_unlock(&ntb->lock);
}

bool ntb_epf_doorbell_rw(struct ntb *ntb, int bar, uint64_t off, void *buf, uint64_t len,
			 bool write)
{
	if (bar != 2 || off >= mw1_offset(ntb))
		return false;
	if (write)
		ring(ntb, off / EPF_DB_ENTRY_SIZE);
	else
		memset(buf, 0, len);
	return true;
}

static uint64_t bar2_read(void *opaque, uint64_t off, unsigned size)
{
	struct ntb *ntb = opaque;
	uint64_t v = 0;

	if (off < mw1_offset(ntb))
		return 0;
	ntb_window_rw(&ntb->win[0], off - mw1_offset(ntb), &v, size > 8 ? 8 : size, false);
	return v;
}

static void bar2_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct ntb *ntb = opaque;

	if (off < mw1_offset(ntb))
		ring(ntb, off / EPF_DB_ENTRY_SIZE);
	else
		ntb_window_rw(&ntb->win[0], off - mw1_offset(ntb), &val, size > 8 ? 8 : size, true);
}

/* BAR2 as a bus master sees it: doorbell entries ring, MW1 copies under the lock. */
static int epf_bar2_dma(void *opaque, uint64_t off, void *buf, uint64_t len, bool write)
{
	return ntb_bar_rw(opaque, 2, off, buf, len, write) ? 0 : -EFAULT;
}

static const struct bus_ops epf_bar2_ops = {.read = bar2_read, .write = bar2_write};

struct ntb_window ntb_epf_window_want(struct ntb *ntb, int i)
{
	struct ntb_window w = {.mode = NTB_WIN_NONE};
	uint64_t base = ntb->pci.bars[ntb->win[i].bar].mapped_addr, addr = 0, size = 0;
	struct ntb_shm_port *p;
	int64_t off;

	if (!ntb->mw_size[i] || !ntb->peer_ram || base == ~0ull)
		return w;
	ntb_shm_lock(ntb->shm);
	p = peer_slot(ntb);
	if (p && (p->epf.mw_valid & (1u << i))) {
		addr = p->epf.mw_addr[i];
		size = p->epf.mw_size[i];
	}
	ntb_shm_unlock(ntb->shm);
	/* The peer's process checked these when its guest gave them; this side checks again
	 * because this is where a host pointer is made from them. */
	if (!size || size > ntb->mw_size[i])
		return w;
	off = ntb_ram_offset(&ntb->peer_layout, addr, size);
	if (off < 0)
		return w;
	w.gpa = base + ntb->win[i].bar_off;
	w.size = size;
	w.hva = ntb->peer_ram + off;
	w.mode = ((addr | size | w.gpa) & (page_size() - 1)) ? NTB_WIN_COPY : NTB_WIN_MAPPED;
	return w;
}

/* ---- interrupts ---- */

void ntb_epf_irq_update(struct ntb *ntb)
{
	uint32_t pending, count;
	bool up;

	ntb_shm_lock(ntb->shm);
	up = link_up(ntb);
	pending = ntb->me->epf.db_pending;
	count = ntb->me->epf.db_count;
	ntb->me->epf.db_pending = 0;
	ntb_shm_unlock(ntb->shm);
	if (!ntb->pci.root)
		return;
	/* epf_ntb_link_up raises interrupt 1 (vector 0) on both hosts; ntb_epf_vec_isr turns
	 * EPF_IRQ_LINK into ntb_link_event, which reads LINK_STATUS. */
	if (up != ntb->epf.link) {
		ntb->epf.link = up;
		pci_notify(&ntb->pci, 0);
	}
	for (uint32_t v = 0; v < count && v < EPF_NR_VECTORS; v++)
		if (pending & (1u << v))
			pci_notify(&ntb->pci, (int)v);
}

/* ---- configuration space ---- */

static void epf_bar_mapped(struct pci_dev *d, int bar, uint64_t addr)
{
	struct ntb *ntb = d->opaque;

	if (bar != ntb->win[0].bar && bar != ntb->win[1].bar)
		return;
	pthread_mutex_lock(&ntb->lock);
	ntb_windows_update(ntb);
	pthread_mutex_unlock(&ntb->lock);
}

static const struct pci_dev_ops epf_pci_ops = {.bar_mapped = epf_bar_mapped};

int ntb_epf_build_config(struct ntb *ntb)
{
	struct pci_dev *d = &ntb->pci;

	pci_dev_init(d, ntb->name, EPF_VENDOR_TI, EPF_DEVICE_J721E, EPF_CLASS, 0, false);
	d->ops = &epf_pci_ops;
	d->opaque = ntb;
	ntb->win[0] = (struct ntb_bar_win){.ntb = ntb,
					   .bar = 2,
					   .bar_off = mw1_offset(ntb),
					   .nent = 1,
					   .ent_size = ntb->mw_size[0]};
	ntb->win[1] =
		(struct ntb_bar_win){.ntb = ntb, .bar = 3, .nent = 1, .ent_size = ntb->mw_size[1]};
	if (pci_dev_set_bar(d, 0, PCI_BAR_MEM32, false, EPF_BAR0_SIZE, &epf_bar0_ops, ntb, NULL) ||
	    pci_dev_set_bar(d, 1, PCI_BAR_MEM32, false, EPF_BAR1_SIZE, &epf_bar1_ops, ntb, NULL) ||
	    pci_dev_set_bar(d, 2, PCI_BAR_MEM32, false, 2 * ntb->mw_size[0], &epf_bar2_ops, ntb,
			    NULL))
		return -EINVAL;
	if (ntb->mw_size[1] && pci_dev_set_bar(d, 3, PCI_BAR_MEM32, false, ntb->mw_size[1],
					       &ntb_window_ops, &ntb->win[1], NULL))
		return -EINVAL;
	/* A DMA engine of this machine (PLX) reaches doorbells and windows as stores would. */
	if (pci_dev_set_bar_dma(d, 2, epf_bar2_dma) ||
	    (ntb->mw_size[1] && pci_dev_set_bar_dma(d, 3, ntb_window_dma)))
		return -EINVAL;

	/* PCI Express endpoint, link x1 at 5 GT/s */
	if (pci_add_pcie_cap(d, EPF_PCIECAP, &epf_pcie_cap) != EPF_PCIECAP)
		return -ENOSPC;

	/* ntb_epf_init_isr asks for 4..32 MSI-X vectors: vector 0 link, 1 unused, 2.. doorbells */
	d->cap_next = EPF_MSIXCAP;
	if (pci_add_msix(d, EPF_NR_VECTORS, 0, EPF_MSIX_TABLE, EPF_MSIX_PBA))
		return -ENOSPC;
	return 0;
}
