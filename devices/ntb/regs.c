/* SPDX-License-Identifier: MIT */
/*
 * The IDT NT function's registers (configuration space from 0x400, aliased by BAR0) and the
 * switch-global registers behind GASAADDR/GASADATA. Semantics as ntb_hw_idt relies on them
 * (drivers/ntb/hw/idt/ntb_hw_idt.c): doorbells go to every other NT partition, messages go
 * where SWP<src>MSGCTL<m> routes them and bounce off a full inbox, NTGSIGNAL and link changes
 * become switch events (SEVENT) for the partitions that unmasked them.
 */
#include <string.h>

#include "devices/ntb/internal.h"

static struct ntb_shm_port *slot(struct ntb *ntb, int idx)
{
	return &ntb->shm->port[idx];
}

static bool is_nt(const struct ntb *ntb, int idx)
{
	return idx >= 0 && idx < NTB_NR_PORTS && (ntb->shm->nt_ports & (1u << idx));
}

uint32_t ntb_ntintsts(const struct ntb *ntb)
{
	const struct ntb_shm_port *me = ntb->me;
	uint32_t v = 0;

	/* MSG and DBELL follow their status registers: set while any unmasked bit is. */
	if (me->msgsts & ~me->msgstsmsk & IDT_MSG_MASK)
		v |= IDT_NTINTSTS_MSG;
	if (me->indbellsts & ~me->indbellmsk)
		v |= IDT_NTINTSTS_DBELL;
	if (me->sevent)
		v |= IDT_NTINTSTS_SEVENT;
	return v;
}

static uint32_t reqid(const struct ntb *ntb)
{
	const struct pci_dev *d = &ntb->pci;
	uint32_t bus = 0;

	if (d->bus && d->bus->self)
		bus = d->bus->self->cfg[PCI_SECONDARY_BUS];
	return bus << 8 | d->devfn;
}

/* The LUT entry LUTOFFSET selects: BAR2 or BAR4 in LUT mode and an index below its entry
 * count; NULL for anything else (reads 0, writes ignored). */
static uint32_t *lut_entry(struct ntb *ntb)
{
	unsigned bar = (ntb->lutoffset & IDT_LUTOFFSET_BAR_MASK) >> IDT_LUTOFFSET_BAR_SHIFT;
	unsigned idx = ntb->lutoffset & IDT_LUTOFFSET_INDEX_MASK;
	int i = bar == 2 ? 0 : bar == 4 ? 1 : -1;

	if (i < 0 || !ntb->mw_lut[i] || idx >= ntb->mw_lut[i])
		return NULL;
	return ntb->lut[i][idx];
}

uint32_t ntb_nt_read(struct ntb *ntb, unsigned off)
{
	struct ntb_shm_port *me = ntb->me;

	if (off < IDT_NT_PROPRIETARY)
		return pci_get32(&ntb->pci, off);
	if (off >= IDT_NT_BARSETUP0 && off < IDT_NT_BAREND)
		return me->bar[(off - IDT_NT_BARSETUP0) / 16][(off & 0xf) / 4];
	if (off >= IDT_NT_OUTMSG0 && off < IDT_NT_OUTMSG0 + 16)
		return me->outmsg[(off - IDT_NT_OUTMSG0) / 4];
	if (off >= IDT_NT_INMSG0 && off < IDT_NT_INMSG0 + 16)
		return me->inmsg[(off - IDT_NT_INMSG0) / 4];
	if (off >= IDT_NT_INMSGSRC0 && off < IDT_NT_INMSGSRC0 + 16)
		return me->inmsgsrc[(off - IDT_NT_INMSGSRC0) / 4];
	switch (off) {
	case IDT_NT_NTCTL:
		return me->ntctl;
	case IDT_NT_NTINTSTS:
		return ntb_ntintsts(ntb);
	case IDT_NT_NTINTMSK:
		return me->ntintmsk;
	case IDT_NT_NTSDATA:
		return ntb->ntsdata;
	case IDT_NT_INDBELLSTS:
		return me->indbellsts;
	case IDT_NT_INDBELLMSK:
		return me->indbellmsk;
	case IDT_NT_MSGSTS:
		return me->msgsts;
	case IDT_NT_MSGSTSMSK:
		return me->msgstsmsk;
	case IDT_NT_NTMTBLADDR:
		return ntb->mtbladdr;
	case IDT_NT_NTMTBLDATA:
		return ntb->shm->mtbl[ntb->mtbladdr];
	case IDT_NT_REQIDCAP:
		return reqid(ntb);
	case IDT_NT_LUTOFFSET:
		return ntb->lutoffset;
	case IDT_NT_LUTLDATA:
	case IDT_NT_LUTMDATA:
	case IDT_NT_LUTUDATA: {
		uint32_t *e = lut_entry(ntb);

		return e ? e[(off - IDT_NT_LUTLDATA) / 4] : 0;
	}
	case IDT_NT_GASAADDR:
		return ntb->gasaaddr;
	case IDT_NT_GASADATA:
		return ntb_sw_read(ntb, ntb->gasaaddr);
	default:
		return 0; /* OUTDBELLSET, NTGSIGNAL, NTMTBLSTS, reserved */
	}
}

/* OUTMSGm: route by SWP<own>MSGCTL<m>; a full inbox refuses and flags MSGSTS.OUT[m]. */
static uint32_t send_message(struct ntb *ntb, unsigned m, uint32_t val)
{
	struct ntb_shm *shm = ntb->shm;
	uint32_t ctl = shm->msgctl[ntb->idx][m];
	unsigned reg = ctl & IDT_SWPxMSGCTL_REG_MASK;
	int dst = (int)((ctl & IDT_SWPxMSGCTL_PART_MASK) >> IDT_SWPxMSGCTL_PART_SHIFT);
	struct ntb_shm_port *to;

	ntb->me->outmsg[m] = val;
	if (!is_nt(ntb, dst)) {
		ntb->me->msgsts |= 1u << m;
		return 0;
	}
	to = slot(ntb, dst);
	if (to->msgsts & (1u << (IDT_INMSG_SHIFT + reg))) {
		ntb->me->msgsts |= 1u << m;
		return 0;
	}
	to->inmsg[reg] = val;
	to->inmsgsrc[reg] = (uint32_t)ntb->idx;
	to->msgsts |= 1u << (IDT_INMSG_SHIFT + reg);
	return 1u << dst;
}

static uint32_t ring_doorbells(struct ntb *ntb, uint32_t bits)
{
	uint32_t kick = 0;

	for (int i = 0; i < NTB_NR_PORTS; i++) {
		if (i == ntb->idx || !is_nt(ntb, i) || !bits)
			continue;
		slot(ntb, i)->indbellsts |= bits;
		kick |= 1u << i;
	}
	return kick;
}

static uint32_t merge(uint32_t old, uint32_t val, uint32_t bytemask)
{
	return (old & ~bytemask) | (val & bytemask);
}

uint32_t ntb_nt_write(struct ntb *ntb, unsigned off, uint32_t val, uint32_t bytemask)
{
	struct ntb_shm_port *me = ntb->me;
	uint32_t *r;

	if (off >= IDT_NT_BARSETUP0 && off < IDT_NT_BAREND) {
		int bar = (int)(off - IDT_NT_BARSETUP0) / 16;

		r = &me->bar[bar][(off & 0xf) / 4];
		if ((off & 0xf) == IDT_BAR_SETUP) {
			/* Only the target partition is guest-programmable: size, type and mode
			 * come from the switch configuration (EEPROM on real hardware). */
			if (*r & IDT_BARSETUP_EN && !(*r & IDT_BARSETUP_MODE_CFG))
				*r = merge(*r, val, bytemask & IDT_BARSETUP_TPART_MASK);
		} else if (bar != 0) {
			*r = merge(*r, val, bytemask);
		}
		return 0;
	}
	if (off >= IDT_NT_OUTMSG0 && off < IDT_NT_OUTMSG0 + 16)
		return send_message(ntb, (off - IDT_NT_OUTMSG0) / 4,
				    merge(me->outmsg[(off - IDT_NT_OUTMSG0) / 4], val, bytemask));
	switch (off) {
	case IDT_NT_NTCTL:
		me->ntctl = merge(me->ntctl, val, bytemask & IDT_NTCTL_MASK);
		break;
	case IDT_NT_NTINTSTS:
		if (val & bytemask & IDT_NTINTSTS_SEVENT)
			me->sevent = 0;
		break;
	case IDT_NT_NTINTMSK:
		me->ntintmsk = merge(me->ntintmsk, val, bytemask & IDT_NTINTMSK_VALID);
		break;
	case IDT_NT_NTSDATA:
		ntb->ntsdata = merge(ntb->ntsdata, val, bytemask);
		break;
	case IDT_NT_NTGSIGNAL:
		if (val & bytemask & IDT_NTGSIGNAL_SET)
			return ntb_shm_switch_event(ntb->shm, IDT_SE_GSIGNAL, (unsigned)ntb->idx);
		break;
	case IDT_NT_OUTDBELLSET:
		return ring_doorbells(ntb, val & bytemask);
	case IDT_NT_INDBELLSTS:
		me->indbellsts &= ~(val & bytemask);
		break;
	case IDT_NT_INDBELLMSK:
		me->indbellmsk = merge(me->indbellmsk, val, bytemask);
		break;
	case IDT_NT_MSGSTS:
		me->msgsts &= ~(val & bytemask & IDT_MSG_MASK);
		break;
	case IDT_NT_MSGSTSMSK:
		me->msgstsmsk = merge(me->msgstsmsk, val, bytemask);
		break;
	case IDT_NT_NTMTBLADDR:
		ntb->mtbladdr = merge(ntb->mtbladdr, val, bytemask) & (IDT_MTBL_ENTRY_CNT - 1);
		break;
	case IDT_NT_NTMTBLDATA:
		r = &ntb->shm->mtbl[ntb->mtbladdr];
		*r = merge(*r, val, bytemask & IDT_NTMTBLDATA_WMASK);
		break;
	case IDT_NT_LUTOFFSET:
		ntb->lutoffset = merge(ntb->lutoffset, val, bytemask) &
				 (IDT_LUTOFFSET_INDEX_MASK | IDT_LUTOFFSET_BAR_MASK);
		break;
	case IDT_NT_LUTLDATA:
	case IDT_NT_LUTMDATA:
	case IDT_NT_LUTUDATA:
		/* idt_ntb_peer_mw_set_trans/clear_trans: LUTOFFSET, then the three data
		 * registers of that entry; each write takes effect (the caller re-evaluates the
		 * windows). The translation address is dword aligned (IDT_TRANS_ALIGN). */
		r = lut_entry(ntb);
		if (r) {
			r += (off - IDT_NT_LUTLDATA) / 4;
			*r = merge(*r, val, bytemask);
			if (off == IDT_NT_LUTLDATA)
				*r &= ~3u;
			else if (off == IDT_NT_LUTUDATA)
				*r &= IDT_LUTUDATA_VALID | IDT_LUTUDATA_PART_MASK;
		}
		break;
	case IDT_NT_GASAADDR:
		ntb->gasaaddr = merge(ntb->gasaaddr, val, bytemask) & IDT_SW_REG_MAX & ~3u;
		break;
	case IDT_NT_GASADATA:
		if (bytemask == 0xffffffffu)
			return ntb_sw_write(ntb, ntb->gasaaddr, val);
		return ntb_sw_write(ntb, ntb->gasaaddr,
				    merge(ntb_sw_read(ntb, ntb->gasaaddr), val, bytemask));
	default:
		break;
	}
	return 0;
}

/* ---- global address space ---- */

static uint32_t swportsts(struct ntb *ntb, unsigned port)
{
	int idx = ntb_port_index(port);

	if (!is_nt(ntb, idx))
		return IDT_SWPORTxSTS_MODE_DIS | (uint32_t)(idx < 0 ? 0 : idx)
							 << IDT_SWPORTxSTS_SWPART_SHIFT;
	return IDT_SWPORTxSTS_MODE_NT | (uint32_t)idx << IDT_SWPORTxSTS_SWPART_SHIFT |
	       (idx == ntb->idx || slot(ntb, idx)->attached ? IDT_SWPORTxSTS_LINKUP : 0);
}

/* Port `idx`'s NT function seen from another partition (GASA 0x1000 + 0x2000 * port). */
static uint32_t port_mirror_read(struct ntb *ntb, int idx, unsigned reg)
{
	struct ntb_shm_port *p = slot(ntb, idx);

	if (idx == ntb->idx)
		return reg == IDT_NT_GASADATA ? 0 : ntb_nt_read(ntb, reg);
	if (!is_nt(ntb, idx))
		return 0;
	if (reg >= IDT_NT_BARSETUP0 && reg < IDT_NT_BAREND)
		return p->bar[(reg - IDT_NT_BARSETUP0) / 16][(reg & 0xf) / 4];
	switch (reg) {
	case 0x000:
		return (uint32_t)IDT_DEVICE_NT6AG2 << 16 | IDT_VENDOR;
	case IDT_NT_PCICMDSTS:
		return p->pcicmdsts;
	case IDT_NT_PCIELCAP:
		return (uint32_t)ntb_ports[idx] << IDT_PCIELCAP_PORTNUM_SHIFT | 0x42;
	case IDT_NT_PCIELCTLSTS:
		return p->pcielctlsts;
	case IDT_NT_NTCTL:
		return p->ntctl;
	case IDT_NT_INDBELLSTS:
		return p->indbellsts;
	case IDT_NT_MSGSTS:
		return p->msgsts;
	default:
		return 0;
	}
}

uint32_t ntb_sw_read(struct ntb *ntb, uint32_t addr)
{
	struct ntb_shm *shm = ntb->shm;

	if (addr >= IDT_SW_NTP_BASE && addr < IDT_SW_NTP_BASE + 24 * IDT_SW_NTP_STRIDE) {
		unsigned port = (addr - IDT_SW_NTP_BASE) / IDT_SW_NTP_STRIDE;
		unsigned reg = (addr - IDT_SW_NTP_BASE) % IDT_SW_NTP_STRIDE;
		int idx = ntb_port_index(port);

		return idx < 0 || reg >= IDT_NT_REGS_SIZE ? 0 : port_mirror_read(ntb, idx, reg);
	}
	if (addr >= IDT_SW_SWPART0STS && addr < IDT_SW_SWPART0STS + NTB_NR_PARTS * 0x20 &&
	    (addr - IDT_SW_SWPART0STS) % IDT_SW_SWPART_STRIDE == 0) {
		int part = (int)(addr - IDT_SW_SWPART0STS) / IDT_SW_SWPART_STRIDE;

		return is_nt(ntb, part) ? IDT_SWPARTxSTS_STATE_ACT : 0;
	}
	if (addr >= IDT_SW_SWPORT0STS && addr < IDT_SW_SWPORT0STS + 24 * IDT_SW_SWPORT_STRIDE &&
	    (addr - IDT_SW_SWPORT0STS) % IDT_SW_SWPORT_STRIDE == 0)
		return swportsts(ntb, (addr - IDT_SW_SWPORT0STS) / IDT_SW_SWPORT_STRIDE);
	if (addr >= IDT_SW_SWP0MSGCTL0 && addr < IDT_SW_MSGCTL_END) {
		unsigned o = addr - IDT_SW_SWP0MSGCTL0;

		return shm->msgctl[(o % 0x20) / 4][o / 0x20];
	}
	switch (addr) {
	case IDT_SW_SESTS:
		return (shm->selinkupsts ? IDT_SE_LINKUP : 0) |
		       (shm->selinkdnsts ? IDT_SE_LINKDN : 0) |
		       (shm->segsigsts ? IDT_SE_GSIGNAL : 0);
	case IDT_SW_SEMSK:
		return shm->semsk;
	case IDT_SW_SEPMSK:
		return shm->sepmsk;
	case IDT_SW_SELINKUPSTS:
		return shm->selinkupsts;
	case IDT_SW_SELINKUPMSK:
		return shm->selinkupmsk;
	case IDT_SW_SELINKDNSTS:
		return shm->selinkdnsts;
	case IDT_SW_SELINKDNMSK:
		return shm->selinkdnmsk;
	case IDT_SW_SEGSIGSTS:
		return shm->segsigsts;
	case IDT_SW_SEGSIGMSK:
		return shm->segsigmsk;
	case IDT_SW_GDBELLSTS: {
		uint32_t v = 0;

		for (int i = 0; i < NTB_NR_PORTS; i++)
			if (is_nt(ntb, i))
				v |= slot(ntb, i)->indbellsts;
		return v;
	}
	case IDT_SW_TMPCTL:
		return shm->tmpctl;
	case IDT_SW_TMPSTS:
		/* 45.5 C now, 38 C lowest, 52 C highest seen (unsigned 0:7:1 fields). */
		return (IDT_TMP_DEG(45) + 1) | IDT_TMP_DEG(38) << 8 | IDT_TMP_DEG(52) << 16;
	case IDT_SW_TMPALARM:
		return shm->tmpalarm;
	case IDT_SW_TMPADJ:
		return shm->tmpadj;
	case IDT_SW_TSSLOPE:
		return shm->tsslope;
	default:
		return 0;
	}
}

uint32_t ntb_sw_write(struct ntb *ntb, uint32_t addr, uint32_t val)
{
	struct ntb_shm *shm = ntb->shm;

	if (addr >= IDT_SW_NTP_BASE && addr < IDT_SW_NTP_BASE + 24 * IDT_SW_NTP_STRIDE) {
		unsigned port = (addr - IDT_SW_NTP_BASE) / IDT_SW_NTP_STRIDE;
		unsigned reg = (addr - IDT_SW_NTP_BASE) % IDT_SW_NTP_STRIDE;

		/* Only our own function is writable through the global space here; its
		 * header (below 0x400) goes through config cycles. */
		if (ntb_port_index(port) == ntb->idx && reg >= IDT_NT_PROPRIETARY &&
		    reg < IDT_NT_REGS_SIZE && reg != IDT_NT_GASADATA)
			return ntb_nt_write(ntb, reg, val, 0xffffffffu);
		return 0;
	}
	if (addr >= IDT_SW_SWP0MSGCTL0 && addr < IDT_SW_MSGCTL_END) {
		unsigned o = addr - IDT_SW_SWP0MSGCTL0;

		shm->msgctl[(o % 0x20) / 4][o / 0x20] =
			val & (IDT_SWPxMSGCTL_REG_MASK | IDT_SWPxMSGCTL_PART_MASK);
		return 0;
	}
	switch (addr) {
	case IDT_SW_SEMSK:
		shm->semsk = val;
		break;
	case IDT_SW_SEPMSK:
		shm->sepmsk = val;
		break;
	case IDT_SW_SELINKUPSTS:
		shm->selinkupsts &= ~val;
		break;
	case IDT_SW_SELINKUPMSK:
		shm->selinkupmsk = val;
		break;
	case IDT_SW_SELINKDNSTS:
		shm->selinkdnsts &= ~val;
		break;
	case IDT_SW_SELINKDNMSK:
		shm->selinkdnmsk = val;
		break;
	case IDT_SW_SEGSIGSTS:
		shm->segsigsts &= ~val;
		break;
	case IDT_SW_SEGSIGMSK:
		shm->segsigmsk = val;
		break;
	case IDT_SW_TMPCTL:
		shm->tmpctl = val;
		break;
	case IDT_SW_TMPALARM:
		shm->tmpalarm = val;
		break;
	case IDT_SW_TMPADJ:
		shm->tmpadj = val;
		break;
	case IDT_SW_TSSLOPE:
		shm->tsslope = val;
		break;
	default:
		break; /* read-only or not modelled */
	}
	return 0;
}
