/* SPDX-License-Identifier: MIT */
/*
 * Asymmetric Namespace Access (NVMe 2.0 8.1) for controllers in a subsystem (subsys.h):
 * the Identify fields, the ANA log page (5.16.1.12), the Path Related status of I/O to a
 * namespace that is not accessible through this controller, and state changes from the
 * control socket with the ANA Change notice (5.27.1.3). What Linux reads:
 * nvme_mpath_init_identify (ANACAP, ANATT, ANAGRPMAX, NANAGRPID, MNAN), nvme_parse_ana_log
 * and nvme_update_ana_state (descriptors, NSIDs ascending), nvme_handle_aen_notice.
 */
#include <errno.h>
#include <string.h>

#include "devices/nvme/internal.h"
#include "devices/nvme/iothread.h"
#include "devices/nvme/subsys.h"
#include "vmm/util.h"

#define ANA_ATT_S 10 /* ANATT: seconds a Change state may last (Linux's ANATT timer) */

static const struct {
	const char *name;
	uint8_t state;
} states[] = {
	{"optimized", NVME_ANA_OPTIMIZED},
	{"non-optimized", NVME_ANA_NONOPTIMIZED},
	{"inaccessible", NVME_ANA_INACCESSIBLE},
	{"persistent-loss", NVME_ANA_PERSISTENT_LOSS},
	{"change", NVME_ANA_CHANGE},
};

uint8_t nvme_ana_state_parse(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(states); i++)
		if (!strcmp(states[i].name, name))
			return states[i].state;
	return 0;
}

const char *nvme_ana_state_name(uint8_t state)
{
	for (size_t i = 0; i < ARRAY_SIZE(states); i++)
		if (states[i].state == state)
			return states[i].name;
	return "?";
}

void nvme_ana_init(struct nvme_ctrl *c)
{
	/* Every group starts optimized on every path. */
	for (unsigned g = 0; g <= NVME_ANA_MAX_GROUPS; g++)
		c->ana_state[g] = NVME_ANA_OPTIMIZED;
	c->ana_chgcnt = 0;
	memset(c->ana_grp_chgcnt, 0, sizeof(c->ana_grp_chgcnt));
}

/* Figure 275 (Identify Controller) CMIC, OAES, ANATT, ANACAP, ANAGRPMAX, NANAGRPID, MNAN */
void nvme_ana_identify_ctrl(struct nvme_ctrl *c, uint8_t *id)
{
	uint32_t oaes =
		id[92] | (uint32_t)id[93] << 8 | (uint32_t)id[94] << 16 | (uint32_t)id[95] << 24;

	if (!c->subsys)
		return;
	/* CMIC: bit 0 more than one port (each controller is its own PCIe function), bit 1
	 * more than one controller, bit 3 ANA reporting. Linux needs bit 1 for one
	 * nvme_ns_head per shared namespace (nvme_mpath_alloc_disk) and bit 3 for ANA. */
	id[76] = 1u << 0 | 1u << 1 | 1u << 3;
	nvme_put32(id + 92, oaes | 1u << 11); /* OAES: ANA Change Notices */
	id[342] = ANA_ATT_S;
	/* ANACAP: reports optimized, non-optimized, inaccessible, persistent loss and change
	 * (bits 0-4); ANAGRPID does not change while attached (bit 6). */
	id[343] = 0x1f | 1u << 6;
	nvme_put32(id + 344, NVME_ANA_MAX_GROUPS); /* ANAGRPMAX */
	nvme_put32(id + 348, NVME_ANA_MAX_GROUPS); /* NANAGRPID */
	/* MNAN: Linux sizes its ANA log buffer by it and wants 1..NN. */
	nvme_put32(id + 540, c->nr_ns);
	/* ONCS bit 5: Reservations (resv.c) */
	nvme_put16(id + 520, (uint16_t)(id[520] | id[521] << 8 | 1u << 5));
}

/* Figure 279 (Identify Namespace) NMIC, ANAGRPID */
void nvme_ana_identify_ns(const struct nvme_ns *ns, uint8_t *id)
{
	if (!ns->shared)
		return;
	id[30] = 1u << 0; /* NMIC: may be attached to two or more controllers */
	/* RESCAP: the six reservation types and Ignore Existing Key; no Persist Through
	 * Power Loss (bit 0) */
	id[31] = 0xfe;
	nvme_put32(id + 92, ns->anagrpid);
}

/* 8.1.1: commands to a namespace of an inaccessible group fail with Path Related status;
 * Linux nvme_is_ana_error then retries on another path (nvme_failover_req). */
uint16_t nvme_ana_io_status(struct nvme_ctrl *c, const struct nvme_ns *ns)
{
	if (!c->subsys || !ns->shared)
		return 0;
	switch (c->ana_state[ns->anagrpid]) {
	case NVME_ANA_INACCESSIBLE:
		return NVME_SC_ANA_INACCESSIBLE;
	case NVME_ANA_PERSISTENT_LOSS:
		return NVME_SC_ANA_PERSISTENT_LOSS;
	case NVME_ANA_CHANGE:
		return NVME_SC_ANA_TRANSITION;
	default:
		return 0;
	}
}

static bool group_present(struct nvme_ctrl *c, uint32_t grpid)
{
	for (unsigned i = 0; i < c->nr_ns; i++)
		if (c->ns[i].attached && c->ns[i].anagrpid == grpid)
			return true;
	return false;
}

/*
 * 5.16.1.12 ANA log page: header (change count 7:0, number of descriptors 9:8), then per
 * group with namespaces attached to this controller a descriptor: ANAGRPID 3:0, NNSID 7:4,
 * change count 15:8, state 16, NSIDs from 32 (none with LSP bit 0, Return Groups Only).
 * Needs 16 + 32 * NVME_ANA_MAX_GROUPS + 4 * NVME_MAX_NAMESPACES bytes at most.
 */
size_t nvme_ana_log(struct nvme_ctrl *c, uint8_t *b, size_t cap, bool rgo)
{
	size_t off = 16;
	uint16_t ngrps = 0;

	nvme_put64(b, c->ana_chgcnt);
	for (uint32_t g = 1; g <= NVME_ANA_MAX_GROUPS; g++) {
		uint8_t *d = b + off;
		uint32_t n = 0;

		if (!group_present(c, g) || off + 32 > cap)
			continue;
		nvme_put32(d, g);
		nvme_put64(d + 8, c->ana_grp_chgcnt[g]);
		d[16] = c->ana_state[g];
		off += 32;
		for (unsigned i = 0; !rgo && i < c->nr_ns; i++) {
			if (!c->ns[i].attached || c->ns[i].anagrpid != g || off + 4 > cap)
				continue;
			nvme_put32(b + off, c->ns[i].nsid);
			off += 4;
			n++;
		}
		nvme_put32(d + 4, n);
		ngrps++;
	}
	nvme_put16(b + 8, ngrps);
	return off;
}

uint8_t nvme_ana_get(struct nvme_ctrl *c, uint32_t grpid)
{
	uint8_t st = 0;

	pthread_mutex_lock(&c->lock);
	if (c->subsys && grpid >= 1 && grpid <= NVME_ANA_MAX_GROUPS)
		st = c->ana_state[grpid];
	pthread_mutex_unlock(&c->lock);
	return st;
}

int nvme_ana_info(struct nvme_ctrl *c, const char **subsys, uint16_t *cntlid,
		  uint8_t state[NVME_ANA_MAX_GROUPS + 1])
{
	int ret = -ENODEV;

	pthread_mutex_lock(&c->lock);
	if (c->subsys) {
		*subsys = nvme_subsys_name(c->subsys);
		*cntlid = c->cntlid;
		for (uint32_t g = 0; g <= NVME_ANA_MAX_GROUPS; g++)
			state[g] = g && group_present(c, g) ? c->ana_state[g] : 0;
		ret = 0;
	}
	pthread_mutex_unlock(&c->lock);
	return ret;
}

int nvme_ana_set(struct nvme_ctrl *c, uint32_t grpid, uint8_t state)
{
	int ret = 0;

	if (!strcmp(nvme_ana_state_name(state), "?"))
		return -EINVAL;
	pthread_mutex_lock(&c->lock);
	if (!c->subsys) {
		ret = -ENODEV;
	} else if (grpid < 1 || grpid > NVME_ANA_MAX_GROUPS || !group_present(c, grpid)) {
		ret = -EINVAL;
	} else if (c->ana_state[grpid] != state) {
		c->ana_state[grpid] = state;
		c->ana_chgcnt++;
		c->ana_grp_chgcnt[grpid]++;
		/* 5.27.1.3: Notice, ANA Change, log page 0Ch (if enabled by Set Features 0Bh
		 * bit 11; nvme_aen_post checks). */
		nvme_aen_post(c, NVME_AER_TYPE_NOTICE, NVME_AER_NOTICE_ANA, NVME_LOG_ANA);
		nvme_ring_kick_io(c->ring);
		nvme_irq_flush(c);
	}
	pthread_mutex_unlock(&c->lock);
	return ret;
}
