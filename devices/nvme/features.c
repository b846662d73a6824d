/* SPDX-License-Identifier: MIT */
/* Features (NVMe 1.4 5.21, 5.9), log pages (5.14), asynchronous events (5.2), error log. */
#include <stdlib.h>
#include <string.h>

#include "devices/nvme/internal.h"
#include "vmm/util.h"

#define DNR		  NVME_SC_DNR
#define TEMP_OVER_DEFAULT 0x157 /* 343 K, = WCTEMP */
#define AEC_SUPPORTED	  0x1ff /* SMART critical warnings 7:0, Namespace Attribute Notices */

void nvme_features_reset(struct nvme_ctrl *c)
{
	struct nvme_features *f = &c->feat;
	uint8_t *cd = f->irq_cd;

	memset(f, 0, sizeof(*f));
	f->irq_cd = cd;
	memset(cd, 0, c->nr_vectors);
	f->temp_over = TEMP_OVER_DEFAULT;
	f->vwc = 1; /* volatile write cache enabled */
}

/* ---- asynchronous events (5.2) ---- */

static void aen_deliver(struct nvme_ctrl *c)
{
	for (unsigned i = 0; i < c->naen && c->naer;) {
		struct nvme_aen e = c->aen[i];
		struct nvme_req *r;

		/* 5.2: one event of a type is reported until the host reads its log page. */
		if (c->aen_masked & (1u << e.type)) {
			i++;
			continue;
		}
		memmove(&c->aen[i], &c->aen[i + 1], (c->naen - i - 1) * sizeof(c->aen[0]));
		c->naen--;
		r = c->aer[0];
		memmove(&c->aer[0], &c->aer[1], (c->naer - 1) * sizeof(c->aer[0]));
		c->naer--;
		c->aen_masked |= (uint8_t)(1u << e.type);
		r->result = e.type | (uint32_t)e.info << 8 | (uint32_t)e.lid << 16;
		r->status = NVME_SC_SUCCESS;
		nvme_req_complete(r);
	}
}

void nvme_aen_post(struct nvme_ctrl *c, uint8_t type, uint8_t info, uint8_t lid)
{
	if (type == NVME_AER_TYPE_NOTICE && !(c->feat.async_event & (1u << (8 + info))))
		return; /* 5.21.1.11: notices only when enabled */
	if (type == NVME_AER_TYPE_SMART && !(c->feat.async_event & (1u << info)))
		return;
	for (unsigned i = 0; i < c->naen; i++)
		if (c->aen[i].type == type && c->aen[i].info == info)
			return;
	if (c->naen < NVME_MAX_AEN)
		c->aen[c->naen++] = (struct nvme_aen){.type = type, .info = info, .lid = lid};
	aen_deliver(c);
}

static void aen_drop(struct nvme_ctrl *c, uint8_t type, uint8_t info)
{
	for (unsigned i = 0; i < c->naen; i++)
		if (c->aen[i].type == type && c->aen[i].info == info) {
			memmove(&c->aen[i], &c->aen[i + 1], (c->naen - i - 1) * sizeof(c->aen[0]));
			c->naen--;
			return; /* nvme_aen_post keeps one per type and info */
		}
}

uint16_t nvme_aer(struct nvme_ctrl *c, struct nvme_req *r)
{
	if (c->naer > NVME_AERL)
		return NVME_SC_AER_LIMIT | DNR;
	c->aer[c->naer++] = r;
	aen_deliver(c);
	return NVME_STATUS_PENDING;
}

/* Outstanding AERs vanish with the admin queue at reset (7.3.2); events are cleared. */
void nvme_aer_reset(struct nvme_ctrl *c)
{
	c->naer = 0;
	c->naen = 0;
	c->aen_masked = 0;
}

void nvme_error_log(struct nvme_ctrl *c, uint16_t sqid, uint16_t cid, uint16_t status)
{
	memmove(&c->errlog[1], &c->errlog[0], NVME_ELPE * sizeof(c->errlog[0]));
	c->errlog[0] = (struct nvme_error_entry){.count = ++c->err_count,
						 .sqid = sqid,
						 .cid = cid,
						 .status = status,
						 .param = 0xffff};
}

/* ---- features ---- */

static bool temp_alarm(const struct nvme_ctrl *c)
{
	return NVME_TEMP_KELVIN >= c->feat.temp_over ||
	       (c->feat.temp_under && NVME_TEMP_KELVIN <= c->feat.temp_under);
}

/* 5.21.1.4: sensor 0 (composite) only; THSEL 0 over, 1 under. */
static uint16_t temp_thresh_field(uint32_t cdw11, uint32_t **slot, struct nvme_ctrl *c)
{
	unsigned tmpsel = (cdw11 >> 16) & 0xf, thsel = (cdw11 >> 20) & 3;

	if (tmpsel != 0 || thsel > 1)
		return NVME_SC_INVALID_FIELD | DNR;
	*slot = thsel ? &c->feat.temp_under : &c->feat.temp_over;
	return NVME_SC_SUCCESS;
}

static uint64_t now_ms(void)
{
	return time_ns() / 1000000;
}

static uint16_t timestamp_get(struct nvme_ctrl *c, struct nvme_req *r)
{
	uint8_t buf[8] = {0};
	uint64_t ts = (uint64_t)((int64_t)now_ms() + c->feat.timestamp_offset_ms);

	nvme_put64(buf, ts & 0xffffffffffffULL);
	/* Byte 6: Synch 0, Timestamp Origin 001b once the host set it (5.21.1.14). */
	buf[6] = c->feat.timestamp_set ? 1 << 1 : 0;
	return nvme_dptr_read_to_host(c, r, buf, sizeof(buf));
}

uint16_t nvme_get_features(struct nvme_ctrl *c, struct nvme_req *r)
{
	struct nvme_features *f = &c->feat, def = {.temp_over = TEMP_OVER_DEFAULT, .vwc = 1};
	unsigned fid = r->cmd.cdw10 & 0xff, sel = (r->cmd.cdw10 >> 8) & 7;
	uint32_t *slot;
	uint16_t st;

	if (sel > 3)
		return NVME_SC_INVALID_FIELD | DNR;
	/* No saved values (ONCS bit 4 = 0): Saved reports the default. */
	if (sel == 1 || sel == 2)
		f = &def;
	if (sel == 3) {
		/* Supported capabilities: changeable, namespace specific for Error Recovery. */
		switch (fid) {
		case NVME_FEAT_ARBITRATION ... NVME_FEAT_ASYNC_EVENT:
		case NVME_FEAT_TIMESTAMP:
			if (fid == 3)
				break;
			r->result = 1u << 2 | (fid == NVME_FEAT_ERR_RECOVERY ? 1u << 1 : 0);
			return NVME_SC_SUCCESS;
		}
		return NVME_SC_INVALID_FIELD | DNR;
	}
	switch (fid) {
	case NVME_FEAT_ARBITRATION:
		r->result = f->arbitration;
		break;
	case NVME_FEAT_POWER_MGMT:
		r->result = f->power_mgmt;
		break;
	case NVME_FEAT_TEMP_THRESH:
		st = temp_thresh_field(r->cmd.cdw11, &slot, c);
		if (st)
			return st;
		if (f == &def)
			r->result = slot == &c->feat.temp_over ? TEMP_OVER_DEFAULT : 0;
		else
			r->result = *slot;
		break;
	case NVME_FEAT_ERR_RECOVERY:
		r->result = f->err_recovery;
		break;
	case NVME_FEAT_VOLATILE_WC:
		r->result = f->vwc;
		break;
	case NVME_FEAT_NUM_QUEUES:
		/* 5.21.1.7: allocated, 0-based, the same across resets. */
		r->result = (c->max_queues - 1) | (c->max_queues - 1) << 16;
		break;
	case NVME_FEAT_IRQ_COALESCE:
		r->result = f->irq_coalesce;
		break;
	case NVME_FEAT_IRQ_CONFIG: {
		uint16_t iv = (uint16_t)r->cmd.cdw11;

		if (iv >= c->nr_vectors)
			return NVME_SC_INVALID_FIELD | DNR;
		r->result = iv | (f == &def ? 0 : (uint32_t)c->feat.irq_cd[iv] << 16);
		break;
	}
	case NVME_FEAT_WRITE_ATOMIC:
		r->result = f->write_atomic;
		break;
	case NVME_FEAT_ASYNC_EVENT:
		r->result = f->async_event;
		break;
	case NVME_FEAT_TIMESTAMP:
		return timestamp_get(c, r);
	default:
		return NVME_SC_INVALID_FIELD | DNR;
	}
	return NVME_SC_SUCCESS;
}

uint16_t nvme_set_features(struct nvme_ctrl *c, struct nvme_req *r)
{
	struct nvme_features *f = &c->feat;
	uint32_t v = r->cmd.cdw11, *slot;
	unsigned fid = r->cmd.cdw10 & 0xff;
	uint16_t st;

	if (r->cmd.cdw10 & (1u << 31))
		return NVME_SC_FEATURE_NOT_SAVEABLE | DNR; /* SV: nothing is saveable */
	switch (fid) {
	case NVME_FEAT_ARBITRATION:
		f->arbitration = v & 0xffffff07;
		break;
	case NVME_FEAT_POWER_MGMT:
		if ((v & 0x1f) != 0)
			return NVME_SC_INVALID_FIELD | DNR; /* NPSS = 0: only state 0 */
		f->power_mgmt = v & 0xff;
		break;
	case NVME_FEAT_TEMP_THRESH: {
		bool was = temp_alarm(c);

		st = temp_thresh_field(v, &slot, c);
		if (st)
			return st;
		*slot = v & 0xffff;
		/* 5.14.1.2: crossing a threshold is a SMART critical warning (bit 1). */
		if (!was && temp_alarm(c))
			nvme_aen_post(c, NVME_AER_TYPE_SMART, NVME_AER_SMART_TEMP_THRESH,
				      NVME_LOG_SMART);
		break;
	}
	case NVME_FEAT_ERR_RECOVERY:
		if (v & (1u << 16))
			return NVME_SC_INVALID_FIELD | DNR; /* DULBE: NSFEAT bit 2 = 0 */
		f->err_recovery = v & 0xffff;
		break;
	case NVME_FEAT_VOLATILE_WC:
		f->vwc = v & 1;
		break;
	case NVME_FEAT_NUM_QUEUES:
		if ((v & 0xffff) == 0xffff || (v >> 16) == 0xffff)
			return NVME_SC_INVALID_FIELD | DNR;
		r->result = (c->max_queues - 1) | (c->max_queues - 1) << 16;
		break;
	case NVME_FEAT_IRQ_COALESCE:
		f->irq_coalesce = v & 0xffff;
		break;
	case NVME_FEAT_IRQ_CONFIG: {
		uint16_t iv = (uint16_t)v;

		if (iv >= c->nr_vectors)
			return NVME_SC_INVALID_FIELD | DNR;
		f->irq_cd[iv] = (v >> 16) & 1;
		break;
	}
	case NVME_FEAT_WRITE_ATOMIC:
		f->write_atomic = v & 1;
		break;
	case NVME_FEAT_ASYNC_EVENT:
		/* bit 11 ANA Change Notices with ANA (OAES bit 11) */
		f->async_event = v & (AEC_SUPPORTED | (c->subsys ? 1u << 11 : 0));
		break;
	case NVME_FEAT_TIMESTAMP: {
		uint8_t buf[8];
		uint64_t ts = 0;

		st = nvme_dptr_from_host(c, r, buf, sizeof(buf));
		if (st)
			return st;
		memcpy(&ts, buf, 6);
		f->timestamp_offset_ms = (int64_t)ts - (int64_t)now_ms();
		f->timestamp_set = true;
		break;
	}
	default:
		return NVME_SC_INVALID_FIELD | DNR;
	}
	return NVME_SC_SUCCESS;
}

/* ---- log pages (5.14.1) ---- */

static void put128(uint8_t *p, uint64_t v)
{
	nvme_put64(p, v);
}

static size_t log_smart(struct nvme_ctrl *c, uint8_t *b)
{
	uint64_t hours = (time_ns() - c->created_ns) / 3600000000000ULL;

	b[0] = temp_alarm(c) ? 1 << 1 : 0;   /* Critical Warning */
	nvme_put16(b + 1, NVME_TEMP_KELVIN); /* Composite Temperature */
	b[3] = 100;			     /* Available Spare */
	b[4] = 10;			     /* Available Spare Threshold */
	b[5] = 0;			     /* Percentage Used */
	/* Data Units: thousands of 512-byte units, rounded up */
	put128(b + 32, (c->units_read + 999) / 1000);
	put128(b + 48, (c->units_written + 999) / 1000);
	put128(b + 64, c->host_reads);
	put128(b + 80, c->host_writes);
	put128(b + 112, 1); /* Power Cycles */
	put128(b + 128, hours);
	put128(b + 176, c->err_count);
	nvme_put16(b + 200, NVME_TEMP_KELVIN); /* Temperature Sensor 1 */
	return 512;
}

static size_t log_error(struct nvme_ctrl *c, uint8_t *b)
{
	for (unsigned i = 0; i <= NVME_ELPE; i++) {
		const struct nvme_error_entry *e = &c->errlog[i];
		uint8_t *p = b + 64 * i;

		if (!e->count)
			break;
		nvme_put64(p, e->count);
		nvme_put16(p + 8, e->sqid);
		nvme_put16(p + 10, e->cid);
		nvme_put16(p + 12, e->status);
		nvme_put16(p + 14, e->param);
		nvme_put64(p + 16, e->lba);
		nvme_put32(p + 24, e->nsid);
	}
	return 64 * (NVME_ELPE + 1);
}

static size_t log_effects(struct nvme_ctrl *c, uint8_t *b, uint8_t csi)
{
	static const uint8_t admin[] = {
		NVME_ADM_DELETE_SQ,   NVME_ADM_CREATE_SQ,    NVME_ADM_GET_LOG_PAGE,
		NVME_ADM_DELETE_CQ,   NVME_ADM_CREATE_CQ,    NVME_ADM_IDENTIFY,
		NVME_ADM_ABORT,	      NVME_ADM_SET_FEATURES, NVME_ADM_GET_FEATURES,
		NVME_ADM_ASYNC_EVENT, NVME_ADM_DBBUF_CONFIG};
	static const uint8_t io_ro[] = {NVME_CMD_FLUSH, NVME_CMD_READ, NVME_CMD_COMPARE,
					NVME_CMD_VERIFY};
	static const uint8_t io_rw[] = {NVME_CMD_WRITE, NVME_CMD_WRITE_ZEROES, NVME_CMD_DSM,
					NVME_CMD_COPY};

	for (size_t i = 0; i < ARRAY_SIZE(admin); i++)
		nvme_put32(b + 4 * admin[i], 1); /* CSUPP */
	/* Format: LBCC, NCC, NIC; CSE 001b (no other command to the namespace meanwhile) */
	nvme_put32(b + 4 * NVME_ADM_FORMAT_NVM, 1 | 1 << 1 | 1 << 2 | 1 << 3 | 1 << 16);
	/* Namespace Management / Attachment: CSUPP, NCC, NIC (Linux rescans after them) */
	if (nvme_nsmgmt_enabled(c)) {
		nvme_put32(b + 4 * NVME_ADM_NS_MGMT, 1 | 1 << 2 | 1 << 3);
		nvme_put32(b + 4 * NVME_ADM_NS_ATTACH, 1 | 1 << 2 | 1 << 3);
	}
	for (size_t i = 0; i < ARRAY_SIZE(io_ro); i++)
		nvme_put32(b + 1024 + 4 * io_ro[i], 1);
	for (size_t i = 0; i < ARRAY_SIZE(io_rw); i++)
		nvme_put32(b + 1024 + 4 * io_rw[i], 1 | 1 << 1); /* CSUPP, LBCC */
	/* NVMe 2.0 5.16.1.6: per CSI (CDW14 31:24). The zoned set adds its commands when
	 * CC.CSS enabled it (io.c); Linux nvme_update_zone_info makes a namespace read-only
	 * without Zone Append's CSUPP. */
	if (csi == NVME_CSI_ZNS && NVME_CC_CSS(c->cc) == NVME_CC_CSS_CSI) {
		nvme_put32(b + 1024 + 4 * NVME_CMD_COPY, 0);
		nvme_put32(b + 1024 + 4 * NVME_CMD_ZONE_MGMT_SEND, 1 | 1 << 1);
		nvme_put32(b + 1024 + 4 * NVME_CMD_ZONE_MGMT_RECV, 1);
		nvme_put32(b + 1024 + 4 * NVME_CMD_ZONE_APPEND, 1 | 1 << 1);
	}
	return 4096;
}

static void aen_unmask(struct nvme_ctrl *c, unsigned lid)
{
	static const uint8_t type_of[] = {[NVME_LOG_ERROR] = NVME_AER_TYPE_ERROR,
					  [NVME_LOG_SMART] = NVME_AER_TYPE_SMART,
					  [NVME_LOG_CHANGED_NS] = NVME_AER_TYPE_NOTICE};

	if (lid == NVME_LOG_ANA) {
		c->aen_masked &= (uint8_t) ~(1u << NVME_AER_TYPE_NOTICE); /* 5.27.1.3 */
		aen_deliver(c);
	} else if (lid == NVME_LOG_ERROR || lid == NVME_LOG_SMART || lid == NVME_LOG_CHANGED_NS) {
		c->aen_masked &= (uint8_t) ~(1u << type_of[lid]);
		aen_deliver(c);
	}
}

uint16_t nvme_get_log_page(struct nvme_ctrl *c, struct nvme_req *r)
{
	const struct nvme_sqe *cmd = &r->cmd;
	unsigned lid = cmd->cdw10 & 0xff;
	bool rae = cmd->cdw10 & (1u << 15);
	uint64_t numd = ((uint64_t)(cmd->cdw11 & 0xffff) << 16 | cmd->cdw10 >> 16) + 1;
	uint64_t len = numd * 4, off = cmd->cdw12 | (uint64_t)cmd->cdw13 << 32;
	uint8_t log[4096] = {0}, *out;
	size_t size;
	uint16_t st;

	switch (lid) {
	case NVME_LOG_ERROR:
		size = log_error(c, log);
		break;
	case NVME_LOG_SMART:
		/* LPA bit 0 = 0: controller-wide only */
		if (cmd->nsid != 0 && cmd->nsid != NVME_NSID_ALL)
			return NVME_SC_INVALID_FIELD | DNR;
		size = log_smart(c, log);
		break;
	case NVME_LOG_FW_SLOT:
		log[0] = 1; /* AFI: slot 1 active */
		memcpy(log + 8, c->firmware, 8);
		size = 512;
		break;
	case NVME_LOG_CHANGED_NS:
		if (c->changed_ns_overflow)
			nvme_put32(log, NVME_NSID_ALL);
		else
			for (unsigned i = 0; i < c->nchanged; i++)
				nvme_put32(log + 4 * i, c->changed_ns[i]);
		size = 4096;
		if (!rae) {
			c->nchanged = 0;
			c->changed_ns_overflow = false;
			/* A notice still queued would point at the entries just read. */
			aen_drop(c, NVME_AER_TYPE_NOTICE, NVME_AER_NOTICE_NS_CHANGED);
		}
		break;
	case NVME_LOG_CMD_EFFECTS:
		if (cmd->cdw14 >> 24 != NVME_CSI_NVM && cmd->cdw14 >> 24 != NVME_CSI_ZNS)
			return NVME_SC_INVALID_FIELD | DNR;
		size = log_effects(c, log, (uint8_t)(cmd->cdw14 >> 24));
		break;
	case NVME_LOG_ANA:
		if (!c->subsys)
			return NVME_SC_INVALID_LOG_PAGE | DNR;
		size = nvme_ana_log(c, log, sizeof(log), cmd->cdw10 & (1u << 8));
		if (!rae) /* the notice still queued would point at what was just read */
			aen_drop(c, NVME_AER_TYPE_NOTICE, NVME_AER_NOTICE_ANA);
		break;
	default:
		return NVME_SC_INVALID_LOG_PAGE | DNR;
	}
	/* 5.14: LPO is dword aligned and inside the page (LPA bit 2: extended data). */
	if ((off & 3) || off >= size || len > c->mdts_bytes)
		return NVME_SC_INVALID_FIELD | DNR;
	out = calloc(1, len);
	if (!out)
		return NVME_SC_INTERNAL;
	memcpy(out, log + off, len < size - off ? len : size - off);
	st = nvme_dptr_read_to_host(c, r, out, len);
	free(out);
	if (!st && !rae)
		aen_unmask(c, lid);
	return st;
}
