/* SPDX-License-Identifier: MIT */
/*
 * Reservations (NVMe 2.0 8.19; NVM Command Set 1.0 3.2.4-3.2.7: Reservation Register 0Dh,
 * Report 0Eh, Acquire 11h, Release 15h) on the shared namespaces of a subsystem (subsys.h).
 * The state lives with the namespace in the subsystem, under the subsystem lock (taken with
 * the controller's lock held), so every controller sees one registrant list and one holder.
 *
 * A registrant is a controller (each controller is its own host here: the Host Identifier
 * reported is 0, Set Features 81h is not built). What Linux's pr_ops send (nvme_pr_command):
 * 16 bytes CRKEY, NRKEY/PRKEY; Register with CPTPL 11b, which is accepted and ignored
 * (RESCAP bit 0, Persist Through Power Loss, is 0: reservations live as long as vmm).
 * Not built: the Reservation Notification log page (80h) and its events, the reservation
 * features (82h, 83h), and aborting commands on Preempt and Abort (it acts as Preempt).
 */
#include <stdlib.h>
#include <string.h>

#include "devices/nvme/internal.h"
#include "devices/nvme/subsys.h"

#define DNR NVME_SC_DNR

enum {
	RTYPE_WE = 1,	/* Write Exclusive */
	RTYPE_EA = 2,	/* Exclusive Access */
	RTYPE_WERO = 3, /* Write Exclusive - Registrants Only */
	RTYPE_EARO = 4, /* Exclusive Access - Registrants Only */
	RTYPE_WEAR = 5, /* Write Exclusive - All Registrants */
	RTYPE_EAAR = 6, /* Exclusive Access - All Registrants */
};

/* rtype is written under the subsystem lock and read without it on the I/O path: nothing
 * reserved (the common case) costs one load, no lock shared by the controllers' threads. */
static void set_rtype(struct nvme_resv *rv, unsigned rtype)
{
	__atomic_store_n(&rv->rtype, (uint8_t)rtype, __ATOMIC_RELEASE);
}

static bool all_registrants(uint8_t rtype)
{
	return rtype == RTYPE_WEAR || rtype == RTYPE_EAAR;
}

static int find_reg(const struct nvme_resv *rv, uint16_t cntlid)
{
	for (unsigned i = 0; i < rv->nreg; i++)
		if (rv->reg[i].cntlid == cntlid)
			return (int)i;
	return -1;
}

static void drop_reg(struct nvme_resv *rv, unsigned i)
{
	rv->reg[i] = rv->reg[--rv->nreg];
}

/* Does cntlid hold the reservation (all registrants do for types 5 and 6)? */
static bool holds(const struct nvme_resv *rv, uint16_t cntlid)
{
	if (!rv->rtype)
		return false;
	if (all_registrants(rv->rtype))
		return find_reg(rv, cntlid) >= 0;
	return rv->holder == cntlid;
}

/* A holder that unregisters gives up the reservation (8.19.6); with the all-registrants
 * types the reservation goes with the last registrant. */
static void after_unregister(struct nvme_resv *rv, uint16_t cntlid)
{
	if (!rv->rtype)
		return;
	if (all_registrants(rv->rtype) ? rv->nreg == 0 : rv->holder == cntlid) {
		set_rtype(rv, 0);
		rv->holder = 0;
	}
}

/* NVM Command Set 1.0 Figure 6 (Command Behavior in the Presence of a Reservation): the
 * write group (Flush, Write, Write Zeroes, DSM, Copy, zone sends, Zone Append) and the read
 * group (Read, Compare, Verify, Zone Management Receive). */
uint16_t nvme_resv_check(struct nvme_ctrl *c, const struct nvme_ns *ns, uint8_t opcode)
{
	bool write = opcode != NVME_CMD_READ && opcode != NVME_CMD_COMPARE &&
		     opcode != NVME_CMD_VERIFY && opcode != NVME_CMD_ZONE_MGMT_RECV;
	struct nvme_resv *rv;
	bool conflict = false, reg;

	if (!c->subsys || !ns->shared)
		return 0;
	rv = nvme_subsys_resv(c->subsys, ns->nsid);
	if (!__atomic_load_n(&rv->rtype, __ATOMIC_ACQUIRE))
		return 0;
	nvme_subsys_lock(c->subsys);
	if (rv->rtype && !holds(rv, c->cntlid)) {
		reg = find_reg(rv, c->cntlid) >= 0;
		switch (rv->rtype) {
		case RTYPE_WE:
			conflict = write;
			break;
		case RTYPE_EA:
			conflict = true;
			break;
		case RTYPE_WERO:
		case RTYPE_WEAR:
			conflict = write && !reg;
			break;
		default: /* EARO, EAAR */
			conflict = !reg;
			break;
		}
	}
	nvme_subsys_unlock(c->subsys);
	return conflict ? NVME_SC_RESERVATION_CONFLICT | DNR : 0;
}

static uint64_t get64le(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* 3.2.6 Reservation Register: RREGA 2:0, IEKEY 3, CPTPL 31:30; data CRKEY, NRKEY. */
static uint16_t do_register(struct nvme_ctrl *c, struct nvme_resv *rv, uint32_t cdw10,
			    const uint8_t *data)
{
	unsigned rrega = cdw10 & 7, cptpl = cdw10 >> 30;
	bool iekey = cdw10 & (1u << 3);
	uint64_t crkey = get64le(data), nrkey = get64le(data + 8);
	int i = find_reg(rv, c->cntlid);

	if (cptpl == 1 || rrega > 2)
		return NVME_SC_INVALID_FIELD | DNR;
	switch (rrega) {
	case 0: /* Register: registering again with the same key is no change */
		if (i >= 0)
			return rv->reg[i].key == nrkey ? 0 : NVME_SC_RESERVATION_CONFLICT | DNR;
		if (rv->nreg == NVME_SUBSYS_MAX_CTRL)
			return NVME_SC_INTERNAL;
		rv->reg[rv->nreg++] = (struct nvme_resv_reg){.cntlid = c->cntlid, .key = nrkey};
		break;
	case 1: /* Unregister */
		if (i < 0 || (!iekey && rv->reg[i].key != crkey))
			return NVME_SC_RESERVATION_CONFLICT | DNR;
		drop_reg(rv, (unsigned)i);
		after_unregister(rv, c->cntlid);
		break;
	default: /* Replace */
		if (i < 0 || (!iekey && rv->reg[i].key != crkey))
			return NVME_SC_RESERVATION_CONFLICT | DNR;
		rv->reg[i].key = nrkey;
		break;
	}
	rv->gen++;
	return 0;
}

/* Unregister every other registrant whose key is prkey; how many went. */
static unsigned drop_key(struct nvme_resv *rv, uint64_t prkey, uint16_t keep)
{
	unsigned n = 0;

	for (unsigned i = 0; i < rv->nreg;) {
		if (rv->reg[i].key == prkey && rv->reg[i].cntlid != keep) {
			drop_reg(rv, i);
			n++;
		} else {
			i++;
		}
	}
	return n;
}

/* 3.2.4 Reservation Acquire: RACQA 2:0, IEKEY 3, RTYPE 15:8; data CRKEY, PRKEY. */
static uint16_t do_acquire(struct nvme_ctrl *c, struct nvme_resv *rv, uint32_t cdw10,
			   const uint8_t *data)
{
	unsigned racqa = cdw10 & 7, rtype = (cdw10 >> 8) & 0xff;
	bool iekey = cdw10 & (1u << 3);
	uint64_t crkey = get64le(data), prkey = get64le(data + 8);
	int i = find_reg(rv, c->cntlid);
	uint16_t holder_key_owner = 0;

	if (racqa > 2 || rtype < RTYPE_WE || rtype > RTYPE_EAAR)
		return NVME_SC_INVALID_FIELD | DNR;
	if (i < 0 || (!iekey && rv->reg[i].key != crkey))
		return NVME_SC_RESERVATION_CONFLICT | DNR;
	if (racqa == 0) {
		if (!rv->rtype) {
			set_rtype(rv, rtype);
			rv->holder = c->cntlid;
			return 0;
		}
		return holds(rv, c->cntlid) && rv->rtype == rtype
			       ? 0
			       : NVME_SC_RESERVATION_CONFLICT | DNR;
	}
	/* Preempt (and Abort, acting as Preempt): 8.19.8 */
	if (rv->rtype && !all_registrants(rv->rtype)) {
		int h = find_reg(rv, rv->holder);

		if (h >= 0 && rv->reg[h].key == prkey)
			holder_key_owner = rv->holder;
	}
	if (rv->rtype && all_registrants(rv->rtype) && prkey == 0) {
		/* every other registrant goes; the reservation is the preempter's */
		for (unsigned k = 0; k < rv->nreg;)
			if (rv->reg[k].cntlid != c->cntlid)
				drop_reg(rv, k);
			else
				k++;
		set_rtype(rv, rtype);
		rv->holder = c->cntlid;
	} else if (holder_key_owner) {
		/* the holder is preempted: its registration goes (unless it is ours), the
		 * reservation is ours with the new type */
		drop_key(rv, prkey, c->cntlid);
		set_rtype(rv, rtype);
		rv->holder = c->cntlid;
	} else if (!drop_key(rv, prkey, c->cntlid)) {
		return NVME_SC_RESERVATION_CONFLICT | DNR;
	}
	rv->gen++;
	return 0;
}

/* 3.2.7 Reservation Release: RRELA 2:0, IEKEY 3, RTYPE 15:8; data CRKEY. */
static uint16_t do_release(struct nvme_ctrl *c, struct nvme_resv *rv, uint32_t cdw10,
			   const uint8_t *data)
{
	unsigned rrela = cdw10 & 7, rtype = (cdw10 >> 8) & 0xff;
	bool iekey = cdw10 & (1u << 3);
	int i = find_reg(rv, c->cntlid);

	if (rrela > 1)
		return NVME_SC_INVALID_FIELD | DNR;
	if (i < 0 || (!iekey && rv->reg[i].key != get64le(data)))
		return NVME_SC_RESERVATION_CONFLICT | DNR;
	if (rrela == 1) { /* Clear: no reservation, no registrants */
		set_rtype(rv, 0);
		rv->holder = 0;
		rv->nreg = 0;
		rv->gen++;
		return 0;
	}
	if (!holds(rv, c->cntlid))
		return 0; /* nothing to release: success, no effect */
	if (rv->rtype != rtype)
		return NVME_SC_INVALID_FIELD | DNR;
	set_rtype(rv, 0);
	rv->holder = 0;
	return 0;
}

/* 3.2.5 Reservation Report: NUMD (0-based dwords), CDW11 bit 0 EDS (64-byte entries with a
 * 128-bit Host Identifier). Figure 22/23: GEN 3:0, RTYPE 4, REGCTL 6:5, PTPLS 9, entries
 * from byte 24 (EDS: 64): CNTLID 1:0, RCSTS 2 (bit 0: holds the reservation), then HOSTID
 * 15:8 and RKEY 23:16 (EDS: RKEY 15:8, HOSTID 31:16). */
static uint16_t do_report(struct nvme_ctrl *c, struct nvme_req *r, struct nvme_resv *rv)
{
	uint64_t len = ((uint64_t)r->cmd.cdw10 + 1) * 4;
	bool eds = r->cmd.cdw11 & 1;
	size_t hdr = eds ? 64 : 24, ent = eds ? 64 : 24;
	uint8_t buf[64 + 64 * NVME_SUBSYS_MAX_CTRL];
	size_t size = hdr + ent * rv->nreg;
	uint16_t st;

	if (len > c->mdts_bytes)
		return NVME_SC_INVALID_FIELD | DNR;
	memset(buf, 0, sizeof(buf));
	nvme_put32(buf, rv->gen);
	buf[4] = rv->rtype;
	nvme_put16(buf + 5, (uint16_t)rv->nreg);
	for (unsigned i = 0; i < rv->nreg; i++) {
		uint8_t *e = buf + hdr + ent * i;

		nvme_put16(e, rv->reg[i].cntlid);
		e[2] = holds(rv, rv->reg[i].cntlid) ? 1 : 0;
		nvme_put64(e + (eds ? 8 : 16), rv->reg[i].key);
	}
	st = nvme_map_dptr(c, r, len, false, true);
	if (st)
		return st;
	/* a short buffer gets the start; a long one zeroes after the structure */
	if (len <= size)
		return nvme_sg_copy_to_host(&r->sg, buf, len);
	{
		uint8_t *out = calloc(1, len);

		if (!out)
			return NVME_SC_INTERNAL;
		memcpy(out, buf, size);
		st = nvme_sg_copy_to_host(&r->sg, out, len);
		free(out);
	}
	return st;
}

uint16_t nvme_resv_exec(struct nvme_ctrl *c, struct nvme_req *r, struct nvme_ns *ns)
{
	uint8_t data[16] = {0};
	struct nvme_resv *rv;
	uint16_t st;

	if (!c->subsys || !ns->shared)
		return NVME_SC_INVALID_OPCODE | DNR;
	rv = nvme_subsys_resv(c->subsys, ns->nsid);
	if (r->cmd.opcode != NVME_CMD_RESV_REPORT) {
		uint64_t len = r->cmd.opcode == NVME_CMD_RESV_RELEASE ? 8 : 16;

		st = nvme_map_dptr(c, r, len, true, true);
		if (!st)
			st = nvme_sg_copy_from_host(&r->sg, data, len);
		if (st)
			return st;
	}
	nvme_subsys_lock(c->subsys);
	switch (r->cmd.opcode) {
	case NVME_CMD_RESV_REGISTER:
		st = do_register(c, rv, r->cmd.cdw10, data);
		break;
	case NVME_CMD_RESV_ACQUIRE:
		st = do_acquire(c, rv, r->cmd.cdw10, data);
		break;
	case NVME_CMD_RESV_RELEASE:
		st = do_release(c, rv, r->cmd.cdw10, data);
		break;
	default:
		st = do_report(c, r, rv);
		break;
	}
	nvme_subsys_unlock(c->subsys);
	return st;
}
