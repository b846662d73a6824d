/* SPDX-License-Identifier: MIT */
/* Admin command set (NVMe 1.4 5): queues, Identify, Abort, Format NVM, dispatch. */
#include <stdlib.h>
#include <string.h>

#include "devices/nvme/internal.h"
#include "vmm/util.h"

#define DNR NVME_SC_DNR

static uint32_t cap_mqes(const struct nvme_ctrl *c)
{
	return (uint32_t)(c->cap & 0xffff);
}

/* Common checks of Create I/O CQ/SQ (5.3, 5.4) on QSIZE, PC and the queue memory. */
static uint16_t check_queue(struct nvme_ctrl *c, const struct nvme_sqe *cmd, unsigned entry_size)
{
	uint32_t qsize = (cmd->cdw10 >> 16) + 1;
	uint64_t page_mask = (1ULL << c->page_shift) - 1;

	/* 4.1.3: at least 2 entries, at most CAP.MQES + 1 */
	if (qsize < 2 || qsize > cap_mqes(c) + 1)
		return NVME_SC_QUEUE_SIZE | DNR;
	/* CAP.CQR = 1: queues must be physically contiguous */
	if (!(cmd->cdw11 & 1))
		return NVME_SC_INVALID_FIELD | DNR;
	if ((cmd->prp1 & page_mask) || !nvme_dma_mapped(c, cmd->prp1, (uint64_t)qsize * entry_size))
		return NVME_SC_INVALID_FIELD | DNR;
	return NVME_SC_SUCCESS;
}

/* 5.3 Create I/O Completion Queue */
static uint16_t create_cq(struct nvme_ctrl *c, const struct nvme_sqe *cmd)
{
	uint16_t qid = (uint16_t)cmd->cdw10, iv = (uint16_t)(cmd->cdw11 >> 16);
	bool ien = cmd->cdw11 & 2;
	uint16_t st;

	if (qid == 0 || qid > c->max_queues || c->cq[qid])
		return NVME_SC_QID_INVALID | DNR;
	st = check_queue(c, cmd, 16);
	if (st)
		return st;
	if (iv >= c->nr_vectors)
		return NVME_SC_INVALID_VECTOR | DNR;
	if (NVME_CC_IOCQES(c->cc) != 4)
		return NVME_SC_INVALID_FIELD | DNR;
	if (!nvme_cq_create(c, qid, cmd->prp1, (cmd->cdw10 >> 16) + 1, ien, iv))
		return NVME_SC_INTERNAL;
	nvme_dbbuf_queue_created(c, qid, true);
	return NVME_SC_SUCCESS;
}

/* 5.4 Create I/O Submission Queue */
static uint16_t create_sq(struct nvme_ctrl *c, const struct nvme_sqe *cmd)
{
	uint16_t qid = (uint16_t)cmd->cdw10, cqid = (uint16_t)(cmd->cdw11 >> 16);
	uint16_t st;

	if (qid == 0 || qid > c->max_queues || c->sq[qid])
		return NVME_SC_QID_INVALID | DNR;
	if (cqid == 0 || cqid > c->max_queues || !c->cq[cqid])
		return NVME_SC_CQ_INVALID | DNR;
	st = check_queue(c, cmd, 64);
	if (st)
		return st;
	if (NVME_CC_IOSQES(c->cc) != 6)
		return NVME_SC_INVALID_FIELD | DNR;
	if (!nvme_sq_create(c, qid, cqid, cmd->prp1, (cmd->cdw10 >> 16) + 1))
		return NVME_SC_INTERNAL;
	nvme_dbbuf_queue_created(c, qid, false);
	return NVME_SC_SUCCESS;
}

/* 5.7 Delete I/O Submission Queue */
static uint16_t delete_sq(struct nvme_ctrl *c, const struct nvme_sqe *cmd)
{
	uint16_t qid = (uint16_t)cmd->cdw10;

	if (qid == 0 || qid > c->max_queues || !c->sq[qid])
		return NVME_SC_QID_INVALID | DNR;
	nvme_sq_delete(c, qid);
	return NVME_SC_SUCCESS;
}

/* 5.6 Delete I/O Completion Queue */
static uint16_t delete_cq(struct nvme_ctrl *c, const struct nvme_sqe *cmd)
{
	uint16_t qid = (uint16_t)cmd->cdw10;

	if (qid == 0 || qid > c->max_queues || !c->cq[qid])
		return NVME_SC_QID_INVALID | DNR;
	if (c->cq[qid]->nsq)
		return NVME_SC_INVALID_QUEUE_DELETE | DNR;
	nvme_cq_delete(c, qid);
	return NVME_SC_SUCCESS;
}

/* 5.15 Identify */
static uint16_t identify(struct nvme_ctrl *c, struct nvme_req *r)
{
	uint8_t buf[4096] = {0};
	uint32_t nsid = r->cmd.nsid;
	struct nvme_ns *ns = nvme_ns_get(c, nsid);

	uint8_t cns = r->cmd.cdw10 & 0xff, csi = (uint8_t)(r->cmd.cdw11 >> 24);
	uint16_t st;

	switch (cns) {
	case NVME_ID_CNS_NS:
		/* 5.15.2.1: FFFFFFFFh reports the common capabilities with Namespace Management,
		 * an inactive NSID in 1..NN a zero filled structure (Linux: NCAP 0 = absent). */
		if (nsid == NVME_NSID_ALL && nvme_nsmgmt_enabled(c))
			nvme_identify_ns_common(buf);
		else if (nsid == 0 || nsid > c->nr_ns)
			return NVME_SC_INVALID_NS | DNR;
		else if (ns)
			nvme_identify_ns(c, ns, buf);
		break;
	case NVME_ID_CNS_CTRL:
		nvme_identify_ctrl(c, buf);
		break;
	case NVME_ID_CNS_NS_ACTIVE_LIST: {
		unsigned n = 0;

		if (nsid >= 0xfffffffe)
			return NVME_SC_INVALID_NS | DNR;
		for (uint32_t id = nsid + 1; id <= c->nr_ns && n < 1024; id++)
			if (nvme_ns_get(c, id))
				nvme_put32(buf + 4 * n++, id);
		break;
	}
	case NVME_ID_CNS_NS_DESC_LIST:
		if (!ns)
			return NVME_SC_INVALID_NS | DNR;
		nvme_identify_ns_descs(ns, buf);
		break;
	case NVME_ID_CNS_NS_ALLOC_LIST:
	case NVME_ID_CNS_NS_ALLOC:
	case NVME_ID_CNS_NS_CTRL_LIST:
	case NVME_ID_CNS_CTRL_LIST:
		st = nvme_identify_nsmgmt(c, r, cns, buf);
		if (st)
			return st;
		break;
	case NVME_ID_CNS_CS_NS:
		/* NVMe 2.0 5.17.2.6: NVM (all zero: no PI, no extended formats) or, for a zoned
		 * namespace, ZNS 4.1.5.1 (Linux nvme_update_zone_info). */
		if (!ns)
			return NVME_SC_INVALID_NS | DNR;
		if (csi == NVME_CSI_ZNS && ns->zns)
			nvme_zns_identify_ns(ns, buf);
		else if (csi != NVME_CSI_NVM)
			return NVME_SC_INVALID_FIELD | DNR;
		break;
	case NVME_ID_CNS_CS_CTRL:
		/* NVMe 2.0 5.17.2.7: NVM limits 0 (none) but VSL; ZNS 4.1.5.2: ZASL 0, Zone Append
		 * limited by MDTS alone (Linux nvme_set_max_append). */
		if (csi != NVME_CSI_NVM && csi != NVME_CSI_ZNS)
			return NVME_SC_INVALID_FIELD | DNR;
		/* NVM Command Set 1.0 Figure 98 VSL: Verify reads through a bounce buffer on
		 * namespaces with PI (pi.c), so MDTS limits it */
		if (csi == NVME_CSI_NVM)
			buf[0] = c->mdts;
		break;
	case NVME_ID_CNS_CS_LIST:
		/* NVMe 2.0 Figure 290: one combination, NVM and Zoned Namespace */
		nvme_put64(buf, 1u << NVME_CSI_NVM | 1u << NVME_CSI_ZNS);
		break;
	default:
		/* CNS 08h (command set independent namespace), NVM sets, ... */
		return NVME_SC_INVALID_FIELD | DNR;
	}
	return nvme_dptr_read_to_host(c, r, buf, sizeof(buf));
}

static void format_done(struct nvme_be_req *b, int err)
{
	struct nvme_req *r = b->opaque;

	if (err && !r->status)
		r->status = NVME_SC_INTERNAL;
	if (--r->pending == 0)
		nvme_req_complete(r);
}

/* 5.23 Format NVM: a new LBA format; user data erased (zeroes) in any case. */
static uint16_t format_nvm(struct nvme_ctrl *c, struct nvme_req *r)
{
	uint32_t cdw10 = r->cmd.cdw10, nsid = r->cmd.nsid;
	unsigned lbaf = cdw10 & 0xf, pi = (cdw10 >> 5) & 7, ses = (cdw10 >> 9) & 7;
	bool mset = cdw10 & (1u << 4), pil = cdw10 & (1u << 8); /* MSET, PIL (pi.c) */
	unsigned first = nsid - 1, n = 1;

	if (nsid == NVME_NSID_ALL) {
		first = 0;
		n = c->nr_ns; /* the active ones among them (below) */
	} else if (!nvme_ns_get(c, nsid)) {
		return NVME_SC_INVALID_NS | DNR;
	}
	/* Not built: a shared namespace would change format on one path only (subsys.h). */
	if (c->subsys)
		return NVME_SC_INVALID_FORMAT | DNR;
	for (unsigned i = 0; i < n; i++) {
		uint16_t st;

		if (!c->ns[first + i].attached)
			continue;
		st = nvme_meta_format_check(&c->ns[first + i], lbaf, pi);
		if (st)
			return st;
	}
	if (ses > 1)
		return NVME_SC_INVALID_FIELD | DNR; /* FNA: no cryptographic erase */
	if (!nvme_req_bes(r, n))
		return NVME_SC_INTERNAL;
	r->pending = 1; /* held while submitting: inline completions must not finish early */
	for (unsigned i = 0; i < n; i++) {
		struct nvme_ns *ns = &c->ns[first + i];
		struct nvme_be_req *b = &r->bes[i];

		if (!ns->attached)
			continue;
		nvme_ns_set_format(ns, lbaf);
		nvme_meta_set_format(ns, mset, pi, pil);
		nvme_zns_format(ns);
		*b = (struct nvme_be_req){.op = NVME_BE_WRITE_ZEROES,
					  .len = ns->size,
					  .done = format_done,
					  .opaque = r};
		r->pending++;
		if (ns->be.ops->submit(&ns->be, b) < 0) {
			r->pending--;
			r->status = NVME_SC_INTERNAL;
		}
	}
	if (--r->pending == 0)
		return r->status;
	return NVME_STATUS_PENDING;
}

uint16_t nvme_admin_exec(struct nvme_ctrl *c, struct nvme_req *r)
{
	const struct nvme_sqe *cmd = &r->cmd;

	if (cmd->flags & 3)
		return NVME_SC_INVALID_FIELD | DNR; /* FUSES = 0: no fused operations */
	switch (cmd->opcode) {
	case NVME_ADM_DELETE_SQ:
		return delete_sq(c, cmd);
	case NVME_ADM_CREATE_SQ:
		return create_sq(c, cmd);
	case NVME_ADM_GET_LOG_PAGE:
		return nvme_get_log_page(c, r);
	case NVME_ADM_DELETE_CQ:
		return delete_cq(c, cmd);
	case NVME_ADM_CREATE_CQ:
		return create_cq(c, cmd);
	case NVME_ADM_IDENTIFY:
		return identify(c, r);
	case NVME_ADM_ABORT:
		/* 5.1: best effort. Commands run to completion at once here, except those an
		 * injection holds back (inject.c): DW0 bit 0 = 0 aborted, 1 not aborted. SQID is
		 * CDW10 15:0, CID 31:16. */
		r->result = nvme_inject_abort(c, (uint16_t)cmd->cdw10, (uint16_t)(cmd->cdw10 >> 16))
				    ? 0
				    : 1;
		return NVME_SC_SUCCESS;
	case NVME_ADM_SET_FEATURES:
		return nvme_set_features(c, r);
	case NVME_ADM_GET_FEATURES:
		return nvme_get_features(c, r);
	case NVME_ADM_ASYNC_EVENT:
		return nvme_aer(c, r);
	case NVME_ADM_NS_MGMT:
		return nvme_ns_mgmt(c, r);
	case NVME_ADM_NS_ATTACH:
		return nvme_ns_attach(c, r);
	case NVME_ADM_FORMAT_NVM:
		return format_nvm(c, r);
	case NVME_ADM_DBBUF_CONFIG:
		return nvme_dbbuf_config(c, r);
	default:
		pr_ratelimited("%s: unsupported admin opcode 0x%02x", c->name, cmd->opcode);
		return NVME_SC_INVALID_OPCODE | DNR;
	}
}
