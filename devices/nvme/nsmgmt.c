/* SPDX-License-Identifier: MIT */
/*
 * Namespace Management (NVMe 1.4 5.20, admin 0Dh) and Namespace Attachment (5.21, 15h), the
 * Identify lists that go with them (CNS 10h-13h) and the Changed Namespace List (5.14.1.4).
 *
 * Capacity model: the controller is its own NVM subsystem with one controller. A pool of
 * nsmgmt_capacity bytes backs the namespaces the host creates (ram or null backend), in
 * 4 KiB allocation units. The configured namespaces sit outside the pool: TNVMCAP is the pool
 * plus their sizes, UNVMCAP what the pool has left. NN = MNAN = NVME_MAX_NAMESPACES.
 *
 * A created namespace is allocated but attached to no controller (5.20): it becomes active,
 * visible to I/O and to the active list, only through an attach. Every attach, detach, and
 * deletion of an attached namespace enters its NSID in the Changed Namespace List and raises
 * a Namespace Attribute Changed notice (Linux then rescans; it also rescans after the command
 * itself, because the Commands Supported and Effects log sets NIC for both opcodes).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "devices/nvme/internal.h"
#include "vmm/util.h"

#define DNR		  NVME_SC_DNR
#define NSMGMT_SEL_CREATE 0
#define NSMGMT_SEL_DELETE 1
#define ATTACH_SEL_ATTACH 0
#define ATTACH_SEL_DETACH 1

bool nvme_nsmgmt_enabled(const struct nvme_ctrl *c)
{
	return c->nsmgmt_capacity != 0;
}

int nvme_nsmgmt_init(struct nvme_ctrl *c, const struct nvme_ctrl_config *cfg, char *err,
		     size_t errlen)
{
	const char *be = cfg->nsmgmt_backend ? cfg->nsmgmt_backend : "ram";

	if (!cfg->nsmgmt_capacity)
		return 0;
	if (cfg->nsmgmt_capacity % 4096) {
		snprintf(err, errlen, "%s: nsmgmt_capacity must be a multiple of 4096", c->name);
		return -EINVAL;
	}
	if (strcmp(be, "ram") && strcmp(be, "null")) {
		snprintf(err, errlen, "%s: nsmgmt_backend must be \"ram\" or \"null\"", c->name);
		return -EINVAL;
	}
	snprintf(c->nsmgmt_backend, sizeof(c->nsmgmt_backend), "%s", be);
	c->nsmgmt_capacity = cfg->nsmgmt_capacity;
	c->nr_ns = nvme_ns_slots(cfg);
	return 0;
}

void nvme_nsmgmt_capacity(struct nvme_ctrl *c, uint64_t *total, uint64_t *unalloc)
{
	uint64_t t = c->nsmgmt_capacity;

	for (unsigned i = 0; i < c->nr_ns; i++)
		if (c->ns[i].allocated && !c->ns[i].pool)
			t += c->ns[i].size;
	*total = t;
	*unalloc = c->nsmgmt_capacity - c->nsmgmt_used;
}

void nvme_ns_changed(struct nvme_ctrl *c, uint32_t nsid)
{
	/* 5.14.1.4: more than 1024 changes collapse into one entry of FFFFFFFFh. */
	if (!c->changed_ns_overflow) {
		unsigned i;

		for (i = 0; i < c->nchanged && c->changed_ns[i] != nsid; i++)
			;
		if (i == c->nchanged) {
			if (c->nchanged < ARRAY_SIZE(c->changed_ns))
				c->changed_ns[c->nchanged++] = nsid;
			else
				c->changed_ns_overflow = true;
		}
	}
	nvme_aen_post(c, NVME_AER_TYPE_NOTICE, NVME_AER_NOTICE_NS_CHANGED, NVME_LOG_CHANGED_NS);
}

/* ---- Namespace Management ---- */

static uint16_t ns_create(struct nvme_ctrl *c, struct nvme_req *r)
{
	uint8_t id[4096];
	uint64_t nsze, ncap, bytes, alloc;
	unsigned flbas, lbaf, shift;
	struct nvme_ns_config nc;
	struct nvme_ns *ns = NULL;
	char err[160];
	uint16_t st = nvme_dptr_from_host(c, r, id, sizeof(id));

	if (st)
		return st;
	/* Host Software Specified Fields: NSZE, NCAP, FLBAS, DPS, NMIC (Figure 279) */
	memcpy(&nsze, id + 0, 8);
	memcpy(&ncap, id + 8, 8);
	flbas = id[26];
	/* FLBAS 3:0, and 6:5 as the upper bits of the format index (NVMe 2.0) */
	lbaf = (flbas & 0xf) | ((flbas >> 5) & 3) << 4;
	if (lbaf > 1)
		return NVME_SC_INVALID_FORMAT | DNR;
	if (id[29] || (id[30] & 1))
		return NVME_SC_INVALID_FIELD | DNR; /* DPS: no PI; NMIC: CMIC says no sharing */
	if (!nsze || ncap > nsze)
		return NVME_SC_INVALID_FIELD | DNR;
	if (ncap < nsze)
		return NVME_SC_THIN_PROV_NOT_SUPP | DNR; /* NSFEAT bit 0 = 0 */
	shift = lbaf ? 12 : 9;
	if (nsze > (UINT64_MAX >> shift) - 4096)
		return NVME_SC_NS_INSUFFICIENT_CAP | DNR;
	bytes = nsze << shift;
	alloc = (bytes + 4095) & ~4095ULL;
	if (alloc > c->nsmgmt_capacity - c->nsmgmt_used)
		return NVME_SC_NS_INSUFFICIENT_CAP | DNR;
	for (unsigned i = 0; i < c->nr_ns && !ns; i++)
		if (!c->ns[i].allocated)
			ns = &c->ns[i];
	if (!ns)
		return NVME_SC_NS_ID_UNAVAILABLE | DNR;
	nc = (struct nvme_ns_config){
		.size = alloc, .lba_size = 1u << shift, .backend = c->nsmgmt_backend};
	if (nvme_ns_init(c, ns, (uint32_t)(ns - c->ns) + 1, &nc, ++c->ns_generation, err,
			 sizeof(err))) {
		pr_ratelimited("%s", err);
		memset(ns, 0, sizeof(*ns));
		return NVME_SC_INTERNAL;
	}
	ns->nsze = nsze; /* the allocation may round up; the namespace is what was asked */
	ns->pool = true;
	ns->attached = false; /* 5.20: not attached to any controller yet */
	c->nsmgmt_used += alloc;
	r->result = ns->nsid; /* CQE DW0: the NSID created */
	return NVME_SC_SUCCESS;
}

static void ns_delete_one(struct nvme_ctrl *c, struct nvme_ns *ns)
{
	uint32_t nsid = ns->nsid;

	if (ns->pool)
		c->nsmgmt_used -= ns->size;
	ns->attached = false; /* no new I/O; what is in flight drains in nvme_ns_fini */
	nvme_ns_fini(ns);
	memset(ns, 0, sizeof(*ns));
	ns->nsid = nsid;
}

static uint16_t ns_delete(struct nvme_ctrl *c, uint32_t nsid)
{
	struct nvme_ns *ns;

	if (nsid == NVME_NSID_ALL) {
		for (unsigned i = 0; i < c->nr_ns; i++) {
			ns = &c->ns[i];
			if (!ns->allocated)
				continue;
			if (ns->attached)
				nvme_ns_changed(c, ns->nsid);
			ns_delete_one(c, ns);
		}
		return NVME_SC_SUCCESS;
	}
	if (nsid == 0 || nsid > c->nr_ns)
		return NVME_SC_INVALID_NS | DNR;
	ns = nvme_ns_allocated(c, nsid);
	if (!ns)
		return NVME_SC_INVALID_FIELD | DNR;
	/* 5.20: a deleted namespace is detached from every controller first. */
	if (ns->attached)
		nvme_ns_changed(c, nsid);
	ns_delete_one(c, ns);
	return NVME_SC_SUCCESS;
}

uint16_t nvme_ns_mgmt(struct nvme_ctrl *c, struct nvme_req *r)
{
	unsigned sel = r->cmd.cdw10 & 0xf;

	if (!nvme_nsmgmt_enabled(c))
		return NVME_SC_INVALID_OPCODE | DNR;
	switch (sel) {
	case NSMGMT_SEL_CREATE:
		/* CDW11 CSI (2.0): the NVM command set only */
		if ((r->cmd.cdw11 >> 24) != 0)
			return NVME_SC_INVALID_FIELD | DNR;
		return ns_create(c, r);
	case NSMGMT_SEL_DELETE:
		return ns_delete(c, r->cmd.nsid);
	default:
		return NVME_SC_INVALID_FIELD | DNR;
	}
}

/* ---- Namespace Attachment ---- */

uint16_t nvme_ns_attach(struct nvme_ctrl *c, struct nvme_req *r)
{
	unsigned sel = r->cmd.cdw10 & 0xf;
	uint32_t nsid = r->cmd.nsid;
	uint8_t list[4096];
	struct nvme_ns *ns;
	unsigned n;
	uint16_t st;

	if (!nvme_nsmgmt_enabled(c))
		return NVME_SC_INVALID_OPCODE | DNR;
	if (sel != ATTACH_SEL_ATTACH && sel != ATTACH_SEL_DETACH)
		return NVME_SC_INVALID_FIELD | DNR;
	if (nsid == 0 || nsid > c->nr_ns)
		return NVME_SC_INVALID_NS | DNR; /* FFFFFFFFh included: one namespace at a time */
	ns = nvme_ns_allocated(c, nsid);
	if (!ns)
		return NVME_SC_INVALID_FIELD | DNR;
	st = nvme_dptr_from_host(c, r, list, sizeof(list));
	if (st)
		return st;
	/* Controller List (Figure 251): NUMID, then NUMID controller identifiers. This
	 * subsystem has one controller: the list must name it, and nothing else. */
	n = list[0] | (unsigned)list[1] << 8;
	if (n != 1 || (list[2] | list[3] << 8) != c->cntlid)
		return NVME_SC_CTRL_LIST_INVALID | DNR; /* empty, unknown or repeated */
	if (sel == ATTACH_SEL_ATTACH) {
		if (ns->attached)
			return NVME_SC_NS_ALREADY_ATTACHED | DNR;
		ns->attached = true;
	} else {
		if (!ns->attached)
			return NVME_SC_NS_NOT_ATTACHED | DNR;
		ns->attached = false;
		/* Commands already fetched for it finish; new ones see Invalid Namespace. */
		if (ns->be.ops->drain)
			ns->be.ops->drain(&ns->be);
	}
	nvme_ns_changed(c, nsid);
	return NVME_SC_SUCCESS;
}

/* ---- Identify CNS 10h-13h ---- */

static void put_ctrl_list(struct nvme_ctrl *c, uint8_t *buf, bool include)
{
	nvme_put16(buf, include ? 1 : 0);
	if (include)
		nvme_put16(buf + 2, c->cntlid);
}

uint16_t nvme_identify_nsmgmt(struct nvme_ctrl *c, struct nvme_req *r, uint8_t cns, uint8_t *buf)
{
	uint32_t nsid = r->cmd.nsid;
	uint16_t cntid = (uint16_t)(r->cmd.cdw10 >> 16);
	struct nvme_ns *ns;
	unsigned n = 0;

	if (!nvme_nsmgmt_enabled(c))
		return NVME_SC_INVALID_FIELD | DNR;
	switch (cns) {
	case NVME_ID_CNS_NS_ALLOC_LIST:
		if (nsid >= 0xfffffffe)
			return NVME_SC_INVALID_NS | DNR;
		for (uint32_t id = nsid + 1; id <= c->nr_ns && n < 1024; id++)
			if (nvme_ns_allocated(c, id))
				nvme_put32(buf + 4 * n++, id);
		return NVME_SC_SUCCESS;
	case NVME_ID_CNS_NS_ALLOC:
		if (nsid == 0 || nsid > c->nr_ns)
			return NVME_SC_INVALID_NS | DNR;
		ns = nvme_ns_allocated(c, nsid);
		if (ns)
			nvme_identify_ns(c, ns, buf);
		return NVME_SC_SUCCESS; /* unallocated: zero filled */
	case NVME_ID_CNS_NS_CTRL_LIST:
		if (nsid == 0 || nsid > c->nr_ns)
			return NVME_SC_INVALID_NS | DNR;
		ns = nvme_ns_allocated(c, nsid);
		put_ctrl_list(c, buf, ns && ns->attached && c->cntlid >= cntid);
		return NVME_SC_SUCCESS;
	case NVME_ID_CNS_CTRL_LIST:
		put_ctrl_list(c, buf, c->cntlid >= cntid);
		return NVME_SC_SUCCESS;
	default:
		return NVME_SC_INVALID_FIELD | DNR;
	}
}
