/* SPDX-License-Identifier: MIT */
/*
 * Ports, partitions and the link, by ntb_hw_idt's rules (idt_ntb_local_link_enable,
 * idt_ntb_local_link_is_up, idt_ntb_peer_link_is_up):
 *   local up: PCICMDSTS.BME, NTCTL.CPEN and the mapping-table entry of our partition VALID;
 *   peer up:  SWPORTxSTS[peer].LINKUP, the peer's BME and CPEN (its NT registers mirrored in
 *             the global space at 0x1000 + 0x2000 * port), its partition's entry VALID.
 * Our port is PCIELCAP[31:24]; partitions come from SWPORTxSTS.SWPART of NT-mode ports.
 */
#include "ntb_pair.h"

#define POLL_MS 2

static const unsigned nt_ports[NTB_NR_PORTS] = {0, 2, 4, 6, 8, 12};

uint32_t sw_read(const struct ntb_dev *d, uint32_t addr)
{
	nt_write(d, IDT_NT_GASAADDR, addr);
	return nt_read(d, IDT_NT_GASADATA);
}

void sw_write(const struct ntb_dev *d, uint32_t addr, uint32_t v)
{
	nt_write(d, IDT_NT_GASAADDR, addr);
	nt_write(d, IDT_NT_GASADATA, v);
}

static uint32_t mtbl_read(const struct ntb_dev *d, unsigned part)
{
	nt_write(d, IDT_NT_NTMTBLADDR, part);
	return nt_read(d, IDT_NT_NTMTBLDATA);
}

/* NT-mode ports other than ours, with an active partition: the first one is the peer. */
static int find_peer(struct ntb_dev *d)
{
	uint32_t sts = sw_read(d, IDT_SW_SWPORTSTS(d->port));

	if (IDT_SWPORTSTS_MODE(sts) != IDT_SWPORTSTS_MODE_NT) {
		rt_fail("own port %u is not in NT mode (SWPORTSTS 0x%08x)", d->port, sts);
		return -1;
	}
	d->part = IDT_SWPORTSTS_SWPART(sts);
	for (int i = 0; i < NTB_NR_PORTS; i++) {
		unsigned p = nt_ports[i];
		uint32_t part;

		if (p == d->port)
			continue;
		sts = sw_read(d, IDT_SW_SWPORTSTS(p));
		if (IDT_SWPORTSTS_MODE(sts) != IDT_SWPORTSTS_MODE_NT)
			continue;
		part = IDT_SWPORTSTS_SWPART(sts);
		if (IDT_SWPARTSTS_STATE(sw_read(d, IDT_SW_SWPARTSTS(part))) != IDT_SWPARTSTS_ACT)
			continue;
		d->peer_port = p;
		d->peer_part = part;
		return 0;
	}
	rt_fail("no other NT port with an active partition");
	return -1;
}

int link_setup(struct ntb_dev *d)
{
	uint32_t reqid, data;

	d->port = nt_read(d, IDT_NT_PCIELCAP) >> 24;
	if (find_peer(d))
		return -1;
	rt_printf("ntb-pair: %s port %u part %u peer port %u part %u\n", d->role, d->port, d->part,
		  d->peer_port, d->peer_part);

	/* Polled: no interrupt causes. Nothing stale may be mistaken for the peer's work, and
	 * the peer cannot send before it sees our link up, which comes after this. */
	nt_write(d, IDT_NT_NTINTMSK, 0x8b);
	nt_write(d, IDT_NT_INDBELLSTS, ~0u);
	nt_write(d, IDT_NT_MSGSTS, ~0u);

	reqid = nt_read(d, IDT_NT_REQIDCAP);
	data = (reqid << IDT_NTMTBLDATA_REQID_SHIFT & IDT_NTMTBLDATA_REQID_MASK) |
	       d->part << IDT_NTMTBLDATA_PART_SHIFT | IDT_NTMTBLDATA_VALID;
	nt_write(d, IDT_NT_NTMTBLADDR, d->part);
	nt_write(d, IDT_NT_NTMTBLDATA, data);
	nt_write(d, IDT_NT_NTCTL, nt_read(d, IDT_NT_NTCTL) | IDT_NTCTL_CPEN);
	if (!(mtbl_read(d, d->part) & IDT_NTMTBLDATA_VALID))
		rt_fail("mapping table entry %u did not keep VALID", d->part);
	return 0;
}

static bool local_up(const struct ntb_dev *d)
{
	return (nt_read(d, IDT_NT_PCICMDSTS) & IDT_PCICMDSTS_BME) &&
	       (nt_read(d, IDT_NT_NTCTL) & IDT_NTCTL_CPEN) &&
	       (mtbl_read(d, d->part) & IDT_NTMTBLDATA_VALID);
}

static bool peer_up(const struct ntb_dev *d)
{
	return (sw_read(d, IDT_SW_SWPORTSTS(d->peer_port)) & IDT_SWPORTSTS_LINKUP) &&
	       (sw_read(d, IDT_SW_NTP(d->peer_port, IDT_NT_PCICMDSTS)) & IDT_PCICMDSTS_BME) &&
	       (sw_read(d, IDT_SW_NTP(d->peer_port, IDT_NT_NTCTL)) & IDT_NTCTL_CPEN) &&
	       (mtbl_read(d, d->peer_part) & IDT_NTMTBLDATA_VALID);
}

bool link_is_up(const struct ntb_dev *d)
{
	return local_up(d) && peer_up(d);
}

bool link_wait(struct ntb_dev *d, bool up, uint64_t timeout_ms)
{
	const char *what = up ? "up" : "down";
	uint64_t t0 = rt_rdtsc(), limit = ms_to_tsc(timeout_ms), ms;

	while (link_is_up(d) != up) {
		if (rt_rdtsc() - t0 > limit) {
			rt_fail("%s: link not %s after %llu ms (peer SWPORTSTS 0x%08x NTCTL 0x%x "
				"mtbl 0x%x)",
				d->role, what, (unsigned long long)timeout_ms,
				sw_read(d, IDT_SW_SWPORTSTS(d->peer_port)),
				sw_read(d, IDT_SW_NTP(d->peer_port, IDT_NT_NTCTL)),
				mtbl_read(d, d->peer_part));
			return false;
		}
		delay_ms(POLL_MS);
	}
	ms = (rt_rdtsc() - t0) / tsc_khz();
	rt_printf("ntb-pair: %s link %s after %llu ms\n", d->role, what, (unsigned long long)ms);
	return true;
}
