/* SPDX-License-Identifier: MIT */
/*
 * Zoned Namespaces (NVMe Zoned Namespace Command Set Specification 1.1, "ZNS" below): the
 * zone state machine (ZNS 2.1.1), write pointer checks of Write, Write Zeroes and Zone Append
 * (ZNS 2.1.2, 3.4.1), Zone Management Send / Receive (ZNS 3.4.2, 3.4.3) and the command set
 * specific Identify structures (ZNS 4.1). Sequential Write Required zones only; no zone
 * descriptor extensions, no ZRWA, no zone events.
 *
 * Zone state lives in memory and is rebuilt as all Empty when the namespace opens. Reads see
 * zeroes at and past a zone's write pointer whatever the media holds (nvme_zns_read_mask),
 * so a Reset needs no data movement and a restarted file namespace reads as zeroes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/nvme/internal.h"

#define DNR NVME_SC_DNR

static bool is_active(uint8_t zs)
{
	return zs == NVME_ZS_IMP_OPEN || zs == NVME_ZS_EXP_OPEN || zs == NVME_ZS_CLOSED;
}

static bool is_open(uint8_t zs)
{
	return zs == NVME_ZS_IMP_OPEN || zs == NVME_ZS_EXP_OPEN;
}

/* Change a zone's state, keeping the open and active counts (ZNS 2.1.1.1) in step. */
static void set_state(struct nvme_zns *z, struct nvme_zone *zn, uint8_t zs)
{
	z->nr_open += (unsigned)is_open(zs) - (unsigned)is_open(zn->zs);
	z->nr_active += (unsigned)is_active(zs) - (unsigned)is_active(zn->zs);
	zn->zs = zs;
}

/* Zone geometry in blocks of the current LBA format; every zone Empty. */
static void zns_layout(struct nvme_ns *ns)
{
	struct nvme_zns *z = ns->zns;

	z->zsze = z->zone_bytes >> ns->lba_shift;
	z->zcap = z->cap_bytes >> ns->lba_shift;
	z->nr_open = z->nr_active = 0;
	for (uint64_t i = 0; i < z->nr_zones; i++)
		z->zone[i] = (struct nvme_zone){.zs = NVME_ZS_EMPTY, .wp = i * z->zsze};
}

int nvme_zns_init(struct nvme_ns *ns, const struct nvme_ns_config *cfg, char *err, size_t errlen)
{
	uint64_t zsz = cfg->zone_size ? cfg->zone_size : NVME_ZNS_DEFAULT_ZONE_SIZE;
	uint64_t zcap = cfg->zone_capacity ? cfg->zone_capacity : zsz;
	struct nvme_zns *z;

	if (!cfg->zoned)
		return 0;
	if (ns->be.ops == &nvme_backend_null_ops) {
		snprintf(err, errlen,
			 "zoned needs storage: the \"null\" backend cannot hold zones");
		return -EINVAL;
	}
	/* Linux nvme_update_zone_info: the zone size must be a power of two. */
	if (zsz < 4096 || (zsz & (zsz - 1))) {
		snprintf(err, errlen, "zone_size must be a power of two of at least 4 KiB");
		return -EINVAL;
	}
	if (zcap > zsz || zcap % 4096) {
		snprintf(err, errlen, "zone_capacity must be a multiple of 4 KiB up to zone_size");
		return -EINVAL;
	}
	if (ns->size < zsz) {
		snprintf(err, errlen, "the namespace is smaller than one zone");
		return -EINVAL;
	}
	if (cfg->max_active && cfg->max_open > cfg->max_active) {
		snprintf(err, errlen, "max_open must not exceed max_active");
		return -EINVAL;
	}
	z = calloc(1, sizeof(*z));
	if (!z || !(z->zone = calloc(ns->size / zsz, sizeof(*z->zone)))) {
		free(z);
		snprintf(err, errlen, "out of memory for the zone table");
		return -ENOMEM;
	}
	z->zone_bytes = zsz;
	z->cap_bytes = zcap;
	z->nr_zones = ns->size / zsz;
	z->max_open = cfg->max_open;
	z->max_active = cfg->max_active;
	/* A partial zone at the end is not part of the namespace (NSZE = zones * ZSZE). */
	ns->size = z->nr_zones * zsz;
	ns->zns = z;
	return 0;
}

void nvme_zns_fini(struct nvme_ns *ns)
{
	if (ns->zns)
		free(ns->zns->zone);
	free(ns->zns);
	ns->zns = NULL;
}

void nvme_zns_format(struct nvme_ns *ns)
{
	if (ns->zns)
		zns_layout(ns);
}

void nvme_zns_set_zone_state(struct nvme_ns *ns, uint64_t zidx, uint8_t zs)
{
	if (ns->zns && zidx < ns->zns->nr_zones)
		set_state(ns->zns, &ns->zns->zone[zidx], zs);
}

/*
 * ZNS 2.1.1.4: a zone about to become open needs an open resource and, from Empty, an active
 * one. For an implicit open at the limit the controller may first close an implicitly
 * opened zone (ZNS 2.1.1.4.1); an explicit open may not take that liberty.
 */
static uint16_t take_resources(struct nvme_zns *z, const struct nvme_zone *zn, bool implicit)
{
	if (zn->zs == NVME_ZS_EMPTY && z->max_active && z->nr_active >= z->max_active)
		return NVME_SC_ZONE_TOO_MANY_ACTIVE | DNR;
	if (z->max_open && z->nr_open >= z->max_open) {
		if (implicit)
			for (uint64_t i = 0; i < z->nr_zones; i++)
				if (z->zone[i].zs == NVME_ZS_IMP_OPEN) {
					set_state(z, &z->zone[i], NVME_ZS_CLOSED);
					return NVME_SC_SUCCESS;
				}
		return NVME_SC_ZONE_TOO_MANY_OPEN | DNR;
	}
	return NVME_SC_SUCCESS;
}

/*
 * Write, Write Zeroes (slba as given) and Zone Append (slba the zone start; *lba gets the
 * block written) against the zone they fall in: ZNS 3.4.1 (statuses), 2.1.1 (Empty/Closed
 * to Implicitly Opened, to Full at the zone capacity). The write pointer moves on
 * submission: a backend error afterwards leaves it advanced (the data there reads zero
 * only if the media holds zeroes).
 */
uint16_t nvme_zns_write(struct nvme_ns *ns, uint64_t slba, uint64_t nlb, bool append, uint64_t *lba)
{
	struct nvme_zns *z = ns->zns;
	uint64_t zidx = slba / z->zsze, zslba = zidx * z->zsze;
	struct nvme_zone *zn = &z->zone[zidx];
	uint16_t st;

	/* ZNS 3.4.1.1 Zone Append: ZSLBA must be the lowest LBA of a zone. */
	if (append && slba != zslba)
		return NVME_SC_INVALID_FIELD | DNR;
	switch (zn->zs) {
	case NVME_ZS_FULL:
		return NVME_SC_ZONE_FULL | DNR;
	case NVME_ZS_READ_ONLY:
		return NVME_SC_ZONE_READ_ONLY | DNR;
	case NVME_ZS_OFFLINE:
		return NVME_SC_ZONE_OFFLINE | DNR;
	}
	if (append)
		slba = zn->wp;
	else if (slba != zn->wp)
		return NVME_SC_ZONE_INVALID_WRITE | DNR; /* ZNS 2.1.2 */
	/* ZNS 3.4.1: writing past the zone capacity (or across the zone) */
	if (nlb > zslba + z->zcap - slba)
		return NVME_SC_ZONE_BOUNDARY_ERROR | DNR;
	if (!is_open(zn->zs)) {
		st = take_resources(z, zn, true);
		if (st)
			return st;
		set_state(z, zn, NVME_ZS_IMP_OPEN);
	}
	zn->wp = slba + nlb;
	if (zn->wp == zslba + z->zcap)
		set_state(z, zn, NVME_ZS_FULL);
	*lba = slba;
	return NVME_SC_SUCCESS;
}

/* Zero bytes [from, to) of the transfer described by iov. */
static void iov_zero(const struct iovec *iov, int n, uint64_t from, uint64_t to)
{
	uint64_t pos = 0;

	for (int i = 0; i < n && pos < to; i++) {
		uint64_t a = from > pos ? from - pos : 0, end = pos + iov[i].iov_len;
		uint64_t b = (to < end ? to : end) - pos;

		if (a < b)
			memset((uint8_t *)iov[i].iov_base + a, 0, b - a);
		pos = end;
	}
}

/*
 * Reads (ZNS 2.1.3, OZCS.RAZB = 1: across zone boundaries allowed) return zeroes for blocks at
 * or past the last block written in a zone (its write pointer; a Finish does not move it);
 * an Offline zone's blocks read as zeroes too. Applied to the data read, at completion.
 */
void nvme_zns_read_mask(struct nvme_ns *ns, uint64_t slba, uint64_t nlb, const struct iovec *iov,
			int n)
{
	struct nvme_zns *z = ns->zns;
	uint64_t lba = slba, end = slba + nlb;

	while (lba < end) {
		uint64_t zidx = lba / z->zsze, zend = (zidx + 1) * z->zsze;
		const struct nvme_zone *zn = &z->zone[zidx];
		uint64_t valid = zn->wp, stop = zend < end ? zend : end;

		if (zn->zs == NVME_ZS_OFFLINE)
			valid = zidx * z->zsze;
		if (valid < stop) {
			uint64_t from = valid > lba ? valid : lba;

			iov_zero(iov, n, (from - slba) << ns->lba_shift,
				 (stop - slba) << ns->lba_shift);
		}
		lba = stop;
	}
}

/* One zone's Zone Send Action (ZNS 3.4.2.1, Figure 40 transitions); Select All applies it
 * only to zones in the states the action names for it (sel_all). */
static uint16_t zone_action(struct nvme_zns *z, uint64_t zidx, uint8_t zsa, bool sel_all)
{
	struct nvme_zone *zn = &z->zone[zidx];
	uint8_t zs = zn->zs;
	uint16_t st;

	if (zs == NVME_ZS_OFFLINE && zsa != NVME_ZSA_OFFLINE && !sel_all)
		return NVME_SC_ZONE_INVALID_TRANSITION | DNR;
	switch (zsa) {
	case NVME_ZSA_CLOSE:
		if (sel_all ? !is_open(zs) : zs == NVME_ZS_CLOSED)
			return NVME_SC_SUCCESS;
		if (!is_open(zs))
			return NVME_SC_ZONE_INVALID_TRANSITION | DNR;
		set_state(z, zn, NVME_ZS_CLOSED);
		return NVME_SC_SUCCESS;
	case NVME_ZSA_FINISH:
		if (sel_all ? !is_active(zs) : zs == NVME_ZS_FULL)
			return NVME_SC_SUCCESS;
		if (!is_active(zs) && zs != NVME_ZS_EMPTY)
			return NVME_SC_ZONE_INVALID_TRANSITION | DNR;
		/* wp stays where the data ends: the rest of the zone reads as zeroes */
		set_state(z, zn, NVME_ZS_FULL);
		return NVME_SC_SUCCESS;
	case NVME_ZSA_OPEN:
		if (sel_all ? zs != NVME_ZS_CLOSED : zs == NVME_ZS_EXP_OPEN)
			return NVME_SC_SUCCESS;
		if (zs != NVME_ZS_EMPTY && zs != NVME_ZS_CLOSED && zs != NVME_ZS_IMP_OPEN)
			return NVME_SC_ZONE_INVALID_TRANSITION | DNR;
		if (zs != NVME_ZS_IMP_OPEN) {
			st = take_resources(z, zn, false);
			if (st)
				return st;
		}
		set_state(z, zn, NVME_ZS_EXP_OPEN);
		return NVME_SC_SUCCESS;
	case NVME_ZSA_RESET:
		if (sel_all && !is_active(zs) && zs != NVME_ZS_FULL)
			return NVME_SC_SUCCESS;
		if (zs == NVME_ZS_READ_ONLY)
			return NVME_SC_ZONE_INVALID_TRANSITION | DNR;
		set_state(z, zn, NVME_ZS_EMPTY);
		zn->wp = zidx * z->zsze;
		return NVME_SC_SUCCESS;
	case NVME_ZSA_OFFLINE:
		if (sel_all ? zs != NVME_ZS_READ_ONLY : zs == NVME_ZS_OFFLINE)
			return NVME_SC_SUCCESS;
		if (zs != NVME_ZS_READ_ONLY)
			return NVME_SC_ZONE_INVALID_TRANSITION | DNR;
		set_state(z, zn, NVME_ZS_OFFLINE);
		return NVME_SC_SUCCESS;
	}
	return NVME_SC_INVALID_FIELD | DNR;
}

/* ZNS 3.4.2 Zone Management Send: CDW10-11 SLBA, CDW13 7:0 ZSA, bit 8 Select All. */
static uint16_t zone_mgmt_send(struct nvme_ns *ns, const struct nvme_sqe *cmd)
{
	struct nvme_zns *z = ns->zns;
	uint64_t slba = cmd->cdw10 | (uint64_t)cmd->cdw11 << 32;
	uint8_t zsa = cmd->cdw13 & 0xff;
	bool all = cmd->cdw13 & (1u << 8);
	unsigned need = 0;

	if (zsa < NVME_ZSA_CLOSE || zsa > NVME_ZSA_OFFLINE)
		return NVME_SC_INVALID_FIELD | DNR; /* incl. 10h: no zone descriptor extensions */
	if (!all) {
		if (slba >= ns->nsze)
			return NVME_SC_LBA_RANGE | DNR;
		if (slba % z->zsze)
			return NVME_SC_INVALID_FIELD | DNR; /* ZNS 3.4.2: SLBA is a zone start */
		return zone_action(z, slba / z->zsze, zsa, false);
	}
	/* ZNS 3.4.2.1.3: Open with Select All opens every Closed zone, or none when the open
	 * resources do not cover them all. */
	if (zsa == NVME_ZSA_OPEN) {
		for (uint64_t i = 0; i < z->nr_zones; i++)
			need += z->zone[i].zs == NVME_ZS_CLOSED;
		if (z->max_open && z->nr_open + need > z->max_open)
			return NVME_SC_ZONE_TOO_MANY_OPEN | DNR;
	}
	for (uint64_t i = 0; i < z->nr_zones; i++)
		zone_action(z, i, zsa, true);
	return NVME_SC_SUCCESS;
}

static bool report_match(uint8_t zrasf, uint8_t zs)
{
	static const uint8_t want[] = {
		[NVME_ZRASF_EMPTY] = NVME_ZS_EMPTY,
		[NVME_ZRASF_IMP_OPEN] = NVME_ZS_IMP_OPEN,
		[NVME_ZRASF_EXP_OPEN] = NVME_ZS_EXP_OPEN,
		[NVME_ZRASF_CLOSED] = NVME_ZS_CLOSED,
		[NVME_ZRASF_FULL] = NVME_ZS_FULL,
		[NVME_ZRASF_READ_ONLY] = NVME_ZS_READ_ONLY,
		[NVME_ZRASF_OFFLINE] = NVME_ZS_OFFLINE,
	};

	return zrasf == NVME_ZRASF_ALL || want[zrasf] == zs;
}

/*
 * ZNS 3.4.3 Zone Management Receive, Report Zones only (ZRA 00h; Extended Report Zones needs
 * descriptor extensions: Invalid Field). CDW12 NUMD is 0-based dwords; the buffer may hold
 * less than the header (only that much is returned) and is subject to MDTS. Number of Zones:
 * every matching zone from SLBA's zone on, or with Partial Report (CDW13 bit 16) only those
 * whose descriptors fit (ZNS Figure 44).
 */
static uint16_t zone_mgmt_recv(struct nvme_ctrl *c, struct nvme_req *r, struct nvme_ns *ns)
{
	const struct nvme_sqe *cmd = &r->cmd;
	struct nvme_zns *z = ns->zns;
	uint64_t slba = cmd->cdw10 | (uint64_t)cmd->cdw11 << 32;
	uint64_t len = ((uint64_t)cmd->cdw12 + 1) * 4, fit, nr = 0;
	uint8_t zra = cmd->cdw13 & 0xff, zrasf = (cmd->cdw13 >> 8) & 0xff;
	bool partial = cmd->cdw13 & (1u << 16);
	uint8_t *buf;
	uint16_t st;

	if (zra != NVME_ZRA_REPORT || zrasf > NVME_ZRASF_OFFLINE)
		return NVME_SC_INVALID_FIELD | DNR;
	if (len > c->mdts_bytes)
		return NVME_SC_INVALID_FIELD | DNR; /* Identify MDTS */
	if (slba >= ns->nsze)
		return NVME_SC_LBA_RANGE | DNR;
	fit = len < 64 ? 0 : (len - 64) / 64;
	buf = calloc(1, len);
	if (!buf)
		return NVME_SC_INTERNAL;
	for (uint64_t i = slba / z->zsze; i < z->nr_zones; i++) {
		const struct nvme_zone *zn = &z->zone[i];
		uint8_t *d = buf + 64 + 64 * nr;

		if (!report_match(zrasf, zn->zs))
			continue;
		if (nr < fit) {
			d[0] = NVME_ZONE_TYPE_SWR;
			d[1] = (uint8_t)(zn->zs << 4);
			nvme_put64(d + 8, z->zcap);
			nvme_put64(d + 16, i * z->zsze);
			/* ZNS Figure 46: WP undefined for Full, Read Only, Offline: all-ones */
			nvme_put64(d + 24, zn->zs >= NVME_ZS_READ_ONLY ? ~0ULL : zn->wp);
		} else if (partial) {
			break;
		}
		nr++;
	}
	if (len >= 8)
		nvme_put64(buf, nr);
	else
		memcpy(buf, &nr, len); /* little-endian host (spec.h) */
	st = nvme_dptr_read_to_host(c, r, buf, len);
	free(buf);
	return st;
}

uint16_t nvme_zns_exec(struct nvme_ctrl *c, struct nvme_req *r, struct nvme_ns *ns)
{
	if (!ns->zns)
		return NVME_SC_INVALID_OPCODE | DNR; /* ZNS commands need a zoned namespace */
	if (r->cmd.opcode == NVME_CMD_ZONE_MGMT_SEND)
		return zone_mgmt_send(ns, &r->cmd);
	return zone_mgmt_recv(c, r, ns);
}

/* ZNS 4.1.5.1 Figure 50 I/O Command Set specific Identify Namespace data structure. */
void nvme_zns_identify_ns(const struct nvme_ns *ns, uint8_t *id)
{
	const struct nvme_zns *z = ns->zns;

	nvme_put16(id + 0, 0); /* ZOC: no variable capacity, no zone active excursions */
	nvme_put16(id + 2, 1); /* OZCS: RAZB, reads across zone boundaries */
	/* MAR, MOR: 0-based; FFFFFFFFh means no limit (Linux adds one: 0 = unlimited) */
	nvme_put32(id + 4, z->max_active ? z->max_active - 1 : 0xffffffffu);
	nvme_put32(id + 8, z->max_open ? z->max_open - 1 : 0xffffffffu);
	/* LBAFE per LBA format: ZSZE in that format's blocks, ZDES 0 */
	nvme_put64(id + 2816, z->zone_bytes >> 9);
	nvme_put64(id + 2816 + 16, z->zone_bytes >> 12);
}
