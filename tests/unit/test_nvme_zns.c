/* SPDX-License-Identifier: MIT */
/* Zoned namespaces (ZNS 1.1): Identify as Linux reads it, the zone state machine, the write
 * pointer, Zone Append, Zone Management Send / Receive, hostile values, and the config keys. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/nvme/internal.h"
#include "tests/unit/test_nvme.h"
#include "vmm/config/config.h"

/* 1 MiB, 512-byte blocks: 16 zones of 128 blocks (64 KiB), capacity 96 blocks (48 KiB). */
#define ZSZE  128u
#define ZCAP  96u
#define NZONE 16u

static void zstart(struct tnvme *t, unsigned max_open, unsigned max_active)
{
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[2];

	tn_config(&cfg, ns, 2); /* namespace 2 stays a plain NVM one */
	ns[0].zoned = true;
	ns[0].zone_size = 64 << 10;
	ns[0].zone_capacity = 48 << 10;
	ns[0].max_open = max_open;
	ns[0].max_active = max_active;
	tn_start_cfg(t, &cfg);
}

static uint16_t zwrite(struct tnvme *t, uint8_t opc, uint64_t slba, uint32_t nlb,
		       struct nvme_cqe *e)
{
	static struct tnvme *owner;
	static uint64_t buf;
	struct nvme_sqe cmd = {.opcode = opc,
			       .nsid = 1,
			       .cdw10 = (uint32_t)slba,
			       .cdw11 = (uint32_t)(slba >> 32),
			       .cdw12 = nlb - 1};
	uint64_t len = (uint64_t)nlb * 512, *list;

	if (owner != t) {
		owner = t;
		buf = tn_alloc(t, 256 << 10, 4096);
	}
	memset(tn_ptr(t, buf), 0xa5, len);
	cmd.prp1 = buf;
	if (len > 8192) {
		cmd.prp2 = tn_alloc(t, 4096, 4096);
		list = tn_ptr(t, cmd.prp2);
		for (uint64_t i = 1; i * 4096 < len; i++)
			list[i - 1] = buf + i * 4096;
	} else if (len > 4096) {
		cmd.prp2 = buf + 4096;
	}
	if (opc == NVME_CMD_WRITE_ZEROES)
		cmd.prp1 = cmd.prp2 = 0;
	return tn_cmd(t, 1, &cmd, e);
}

static uint16_t zms(struct tnvme *t, uint32_t nsid, uint64_t slba, uint8_t zsa, bool all)
{
	struct nvme_sqe cmd = {.opcode = NVME_CMD_ZONE_MGMT_SEND,
			       .nsid = nsid,
			       .cdw10 = (uint32_t)slba,
			       .cdw11 = (uint32_t)(slba >> 32),
			       .cdw13 = zsa | (all ? 1u << 8 : 0)};

	return tn_cmd(t, 1, &cmd, NULL);
}

/* Report Zones into a fresh buffer of len bytes (a multiple of 4) at *buf. */
static uint16_t zmr(struct tnvme *t, uint64_t slba, uint32_t len, uint8_t zrasf, bool partial,
		    uint64_t *buf)
{
	struct nvme_sqe cmd = {.opcode = NVME_CMD_ZONE_MGMT_RECV,
			       .nsid = 1,
			       .cdw10 = (uint32_t)slba,
			       .cdw11 = (uint32_t)(slba >> 32),
			       .cdw12 = len / 4 - 1,
			       .cdw13 = (uint32_t)zrasf << 8 | (partial ? 1u << 16 : 0)};
	uint64_t *list;

	*buf = tn_alloc(t, len < 4096 ? 4096 : len, 4096);
	memset(tn_ptr(t, *buf), 0xee, len < 4096 ? 4096 : len);
	cmd.prp1 = *buf;
	if (len > 8192) {
		cmd.prp2 = tn_alloc(t, 4096, 4096);
		list = tn_ptr(t, cmd.prp2);
		for (uint64_t i = 1; i * 4096 < len; i++)
			list[i - 1] = *buf + i * 4096;
	} else if (len > 4096) {
		cmd.prp2 = *buf + 4096;
	}
	return tn_cmd(t, 1, &cmd, NULL);
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static uint32_t le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* State and write pointer of zone z from a one-zone report. */
static uint8_t zstate(struct tnvme *t, unsigned z, uint64_t *wp)
{
	uint64_t buf;
	uint8_t *p;

	cr_assert_eq(zmr(t, (uint64_t)z * ZSZE, 128, NVME_ZRASF_ALL, true, &buf), 0);
	p = tn_ptr(t, buf);
	cr_assert_eq(le64(p), 1);
	cr_assert_eq(le64(p + 64 + 16), (uint64_t)z * ZSZE, "ZSLBA");
	if (wp)
		*wp = le64(p + 64 + 24);
	return p[64 + 1] >> 4;
}

static uint16_t identify_csi(struct tnvme *t, uint8_t cns, uint8_t csi, uint32_t nsid,
			     uint8_t **out)
{
	uint64_t buf = tn_alloc(t, 4096, 4096);
	struct nvme_sqe cmd = {.opcode = NVME_ADM_IDENTIFY,
			       .nsid = nsid,
			       .prp1 = buf,
			       .cdw10 = cns,
			       .cdw11 = (uint32_t)csi << 24};
	uint16_t st = tn_cmd(t, 0, &cmd, NULL);

	*out = tn_ptr(t, buf);
	return st;
}

Test(nvme_zns, cap_css_reports_io_command_sets_and_cc_css_110b_enables)
{
	struct tnvme t;
	uint64_t cap;

	zstart(&t, 0, 0);
	cap = nvme_bar0_read(t.c, NVME_REG_CAP, 8);
	cr_assert(cap & NVME_CAP_CSS_NVM);
	cr_assert(cap & NVME_CAP_CSS_CSI, "CAP.CSS bit 6");
	/* tn_enable_linux wrote CC.CSS as Linux would; the controller is ready either way. */
	cr_assert(tn_rd32(&t, NVME_REG_CSTS) & NVME_CSTS_RDY);
	tn_destroy(&t);

	tn_create(&t, &(struct nvme_ctrl_config){.max_queues = 2});
	tn_wr32(&t, NVME_REG_AQA, 0x001f001f);
	tn_wr64_halves(&t, NVME_REG_ASQ, tn_alloc(&t, 4096, 4096));
	tn_wr64_halves(&t, NVME_REG_ACQ, tn_alloc(&t, 4096, 4096));
	tn_wr32(&t, NVME_REG_CC, 0x00460000 | NVME_CC_CSS_CSI << 4);
	tn_wr32(&t, NVME_REG_CC, 0x00460001 | NVME_CC_CSS_CSI << 4);
	cr_assert_eq(tn_rd32(&t, NVME_REG_CSTS) & (NVME_CSTS_RDY | NVME_CSTS_CFS), NVME_CSTS_RDY);
	tn_destroy(&t);
}

Test(nvme_zns, identify_structures_linux_reads)
{
	struct tnvme t;
	uint8_t *id;
	uint64_t buf;

	zstart(&t, 4, 6);
	/* ZNS 4.1.5.1: ZOC 0, OZCS RAZB, MAR/MOR 0-based, LBAFE ZSZE per format, ZDES 0 */
	cr_assert_eq(identify_csi(&t, NVME_ID_CNS_CS_NS, NVME_CSI_ZNS, 1, &id), 0);
	cr_assert_eq(id[0] | id[1] << 8, 0, "ZOC");
	cr_assert_eq(id[2] & 1, 1, "OZCS.RAZB");
	cr_assert_eq(le32(id + 4), 5, "MAR");
	cr_assert_eq(le32(id + 8), 3, "MOR");
	cr_assert_eq(le64(id + 2816), ZSZE, "ZSZE for 512-byte blocks");
	cr_assert_eq(id[2816 + 8], 0, "ZDES");
	cr_assert_eq(le64(id + 2832), 16, "ZSZE for 4 KiB blocks");
	/* a plain namespace has no ZNS structure, but has the (empty) NVM one */
	cr_assert_eq(identify_csi(&t, NVME_ID_CNS_CS_NS, NVME_CSI_ZNS, 2, &id),
		     NVME_SC_INVALID_FIELD);
	cr_assert_eq(identify_csi(&t, NVME_ID_CNS_CS_NS, NVME_CSI_NVM, 2, &id), 0);
	cr_assert_eq(identify_csi(&t, NVME_ID_CNS_CS_NS, 1, 1, &id), NVME_SC_INVALID_FIELD);
	cr_assert_eq(identify_csi(&t, NVME_ID_CNS_CS_NS, NVME_CSI_ZNS, 9, &id), NVME_SC_INVALID_NS);
	/* ZNS 4.1.5.2: ZASL 0 (MDTS); the NVM controller structure: VSL = MDTS (pi.c), the rest 0
	 */
	cr_assert_eq(identify_csi(&t, NVME_ID_CNS_CS_CTRL, NVME_CSI_ZNS, 0, &id), 0);
	cr_assert_eq(id[0], 0, "ZASL");
	cr_assert_eq(identify_csi(&t, NVME_ID_CNS_CS_CTRL, NVME_CSI_NVM, 0, &id), 0);
	cr_assert_eq(identify_csi(&t, NVME_ID_CNS_CS_CTRL, 3, 0, &id), NVME_SC_INVALID_FIELD);
	/* CNS 1Ch: NVM and ZNS in combination 0 */
	cr_assert_eq(identify_csi(&t, NVME_ID_CNS_CS_LIST, 0, 0, &id), 0);
	cr_assert_eq(le64(id), 1u << 0 | 1u << 2);
	/* CNS 03h: the CSI descriptor after EUI64, NGUID, UUID (Linux nvme_identify_ns_descs) */
	cr_assert_eq(tn_identify(&t, NVME_ID_CNS_NS_DESC_LIST, 1, &buf), 0);
	id = tn_ptr(&t, buf);
	cr_assert_eq(id[12 + 20 + 20], NVME_NIDT_CSI);
	cr_assert_eq(id[12 + 20 + 20 + 1], 1);
	cr_assert_eq(id[12 + 20 + 20 + 4], NVME_CSI_ZNS);
	cr_assert_eq(tn_identify(&t, NVME_ID_CNS_NS_DESC_LIST, 2, &buf), 0);
	id = tn_ptr(&t, buf);
	cr_assert_eq(id[52], NVME_NIDT_CSI);
	cr_assert_eq(id[56], NVME_CSI_NVM);
	/* NSZE: whole zones */
	cr_assert_eq(tn_identify(&t, NVME_ID_CNS_NS, 1, &buf), 0);
	cr_assert_eq(le64(tn_ptr(&t, buf)), NZONE * ZSZE);
	tn_destroy(&t);
}

Test(nvme_zns, effects_log_per_csi_lists_zone_append)
{
	struct tnvme t;
	uint64_t buf = 0;
	uint8_t *p;
	struct nvme_sqe cmd = {.opcode = NVME_ADM_GET_LOG_PAGE,
			       .cdw10 = NVME_LOG_CMD_EFFECTS | 1023u << 16,
			       .cdw14 = (uint32_t)NVME_CSI_ZNS << 24};

	zstart(&t, 0, 0);
	buf = tn_alloc(&t, 4096, 4096);
	cmd.prp1 = buf;
	cr_assert_eq(tn_cmd(&t, 0, &cmd, NULL), 0);
	p = tn_ptr(&t, buf);
	/* Linux nvme_update_zone_info: without CSUPP for 7Dh the namespace goes read-only */
	cr_assert_eq(le32(p + 1024 + 4 * NVME_CMD_ZONE_APPEND) & 1, 1);
	cr_assert_eq(le32(p + 1024 + 4 * NVME_CMD_ZONE_MGMT_SEND) & 1, 1);
	cr_assert_eq(le32(p + 1024 + 4 * NVME_CMD_ZONE_MGMT_RECV) & 1, 1);
	cr_assert_eq(le32(p + 1024 + 4 * NVME_CMD_WRITE) & 1, 1);
	cmd.cdw14 = 0;
	cr_assert_eq(tn_cmd(&t, 0, &cmd, NULL), 0);
	cr_assert_eq(le32(p + 1024 + 4 * NVME_CMD_ZONE_APPEND), 0, "not in the NVM set");
	cmd.cdw14 = 1u << 24;
	cr_assert_eq(tn_cmd(&t, 0, &cmd, NULL), NVME_SC_INVALID_FIELD);
	tn_destroy(&t);
}

/* CC.CSS = 000b (what SeaBIOS writes): the NVM set alone, so the zoned namespace takes reads
 * and writes (zone rules still hold) but not the zoned set's own commands; 110b adds them. */
Test(nvme_zns, cc_css_000b_refuses_the_zone_commands_and_keeps_nvm_ones)
{
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[2];
	struct nvme_sqe log = {.opcode = NVME_ADM_GET_LOG_PAGE,
			       .cdw10 = NVME_LOG_CMD_EFFECTS | 1023u << 16,
			       .cdw14 = (uint32_t)NVME_CSI_ZNS << 24};
	struct tnvme t;
	struct nvme_cqe e;
	uint64_t buf;

	tn_config(&cfg, ns, 2);
	ns[0].zoned = true;
	ns[0].zone_size = 64 << 10;
	ns[0].zone_capacity = 48 << 10;
	tn_create(&t, &cfg);
	tn_enable_seabios(&t, 32);
	cr_assert_eq(NVME_CC_CSS(tn_rd32(&t, NVME_REG_CC)), NVME_CC_CSS_NVM);
	cr_assert_eq(tn_create_cq(&t, 1, 64, true, 1), 0);
	cr_assert_eq(tn_create_sq(&t, 1, 1, 64), 0);

	cr_assert_eq(zwrite(&t, NVME_CMD_ZONE_APPEND, 0, 1, NULL), NVME_SC_INVALID_OPCODE);
	cr_assert_eq(zms(&t, 1, 0, NVME_ZSA_OPEN, false), NVME_SC_INVALID_OPCODE);
	cr_assert_eq(zmr(&t, 0, 128, NVME_ZRASF_ALL, false, &buf), NVME_SC_INVALID_OPCODE);
	cr_assert_eq(zwrite(&t, NVME_CMD_WRITE, 0, 4, NULL), 0, "an NVM write at the wp");
	cr_assert_eq(zwrite(&t, NVME_CMD_WRITE, 8, 1, NULL), NVME_SC_ZONE_INVALID_WRITE);
	buf = tn_alloc(&t, 4096, 4096);
	log.prp1 = buf;
	cr_assert_eq(tn_cmd(&t, 0, &log, NULL), 0);
	cr_assert_eq(le32(tn_ptr(&t, buf) + 1024 + 4 * NVME_CMD_ZONE_APPEND), 0);
	cr_assert_eq(le32(tn_ptr(&t, buf) + 1024 + 4 * NVME_CMD_WRITE) & 1, 1);

	/* reset, then enable as Linux does (110b): the zone commands are there */
	tn_wr32(&t, NVME_REG_CC, 0);
	cr_assert_eq(tn_rd32(&t, NVME_REG_CSTS) & NVME_CSTS_RDY, 0);
	tn_enable_linux(&t, 32);
	cr_assert_eq(NVME_CC_CSS(tn_rd32(&t, NVME_REG_CC)), NVME_CC_CSS_CSI);
	cr_assert_eq(tn_create_cq(&t, 1, 64, true, 1), 0);
	cr_assert_eq(tn_create_sq(&t, 1, 1, 64), 0);
	cr_assert_eq(zwrite(&t, NVME_CMD_ZONE_APPEND, 0, 1, &e), 0);
	cr_assert_eq(e.dw0, 4, "the write of the first enable moved the pointer");
	cr_assert_eq(zms(&t, 1, 0, NVME_ZSA_FINISH, false), 0);
	tn_destroy(&t);
}

Test(nvme_zns, zones_start_empty_and_report_all)
{
	struct tnvme t;
	uint64_t buf;
	uint8_t *p;

	zstart(&t, 0, 0);
	cr_assert_eq(zmr(&t, 0, 64 + 64 * NZONE, NVME_ZRASF_ALL, false, &buf), 0);
	p = tn_ptr(&t, buf);
	cr_assert_eq(le64(p), NZONE);
	for (unsigned z = 0; z < NZONE; z++) {
		const uint8_t *d = p + 64 + 64 * z;

		cr_assert_eq(d[0], NVME_ZONE_TYPE_SWR);
		cr_assert_eq(d[1] >> 4, NVME_ZS_EMPTY);
		cr_assert_eq(le64(d + 8), ZCAP, "ZCAP");
		cr_assert_eq(le64(d + 16), (uint64_t)z * ZSZE, "ZSLBA");
		cr_assert_eq(le64(d + 24), (uint64_t)z * ZSZE, "WP");
	}
	tn_destroy(&t);
}

Test(nvme_zns, write_advances_wp_to_full_at_capacity)
{
	struct tnvme t;
	uint64_t wp;

	zstart(&t, 0, 0);
	cr_assert_eq(zwrite(&t, NVME_CMD_WRITE, ZSZE, 8, NULL), 0);
	cr_assert_eq(zstate(&t, 1, &wp), NVME_ZS_IMP_OPEN);
	cr_assert_eq(wp, ZSZE + 8);
	cr_assert_eq(zwrite(&t, NVME_CMD_WRITE, ZSZE + 8, ZCAP - 8, NULL), 0);
	cr_assert_eq(zstate(&t, 1, NULL), NVME_ZS_FULL);
	cr_assert_eq(zwrite(&t, NVME_CMD_WRITE, ZSZE + ZCAP, 1, NULL), NVME_SC_ZONE_FULL);
	tn_destroy(&t);
}

Test(nvme_zns, write_not_at_wp_is_zone_invalid_write)
{
	struct tnvme t;

	zstart(&t, 0, 0);
	cr_assert_eq(zwrite(&t, NVME_CMD_WRITE, 1, 1, NULL), NVME_SC_ZONE_INVALID_WRITE);
	cr_assert_eq(zwrite(&t, NVME_CMD_WRITE, 0, 4, NULL), 0);
	cr_assert_eq(zwrite(&t, NVME_CMD_WRITE, 0, 4, NULL), NVME_SC_ZONE_INVALID_WRITE);
	cr_assert_eq(zwrite(&t, NVME_CMD_WRITE, 5, 4, NULL), NVME_SC_ZONE_INVALID_WRITE);
	tn_destroy(&t);
}

Test(nvme_zns, write_across_capacity_is_zone_boundary_error)
{
	struct tnvme t;

	zstart(&t, 0, 0);
	cr_assert_eq(zwrite(&t, NVME_CMD_WRITE, 0, ZCAP + 1, NULL), NVME_SC_ZONE_BOUNDARY_ERROR);
	cr_assert_eq(zwrite(&t, NVME_CMD_WRITE, 0, ZCAP - 1, NULL), 0);
	cr_assert_eq(zwrite(&t, NVME_CMD_WRITE, ZCAP - 1, 2, NULL), NVME_SC_ZONE_BOUNDARY_ERROR);
	cr_assert_eq(zstate(&t, 0, NULL), NVME_ZS_IMP_OPEN, "a failed write changes nothing");
	tn_destroy(&t);
}

Test(nvme_zns, write_zeroes_obeys_the_write_pointer)
{
	struct tnvme t;
	uint64_t wp;

	zstart(&t, 0, 0);
	cr_assert_eq(zwrite(&t, NVME_CMD_WRITE_ZEROES, 3, 2, NULL), NVME_SC_ZONE_INVALID_WRITE);
	cr_assert_eq(zwrite(&t, NVME_CMD_WRITE_ZEROES, 0, 16, NULL), 0);
	cr_assert_eq(zstate(&t, 0, &wp), NVME_ZS_IMP_OPEN);
	cr_assert_eq(wp, 16);
	tn_destroy(&t);
}

Test(nvme_zns, zone_append_returns_the_lba_written)
{
	struct tnvme t;
	struct nvme_cqe e;
	uint64_t wp;

	zstart(&t, 0, 0);
	cr_assert_eq(zwrite(&t, NVME_CMD_ZONE_APPEND, 2 * ZSZE, 5, &e), 0);
	cr_assert_eq(e.dw0 | (uint64_t)e.dw1 << 32, 2 * ZSZE);
	cr_assert_eq(zwrite(&t, NVME_CMD_ZONE_APPEND, 2 * ZSZE, 3, &e), 0);
	cr_assert_eq(e.dw0 | (uint64_t)e.dw1 << 32, 2 * ZSZE + 5);
	cr_assert_eq(zstate(&t, 2, &wp), NVME_ZS_IMP_OPEN);
	cr_assert_eq(wp, 2 * ZSZE + 8);
	/* a plain Write at the write pointer: DW0/DW1 stay reserved (zero) */
	cr_assert_eq(zwrite(&t, NVME_CMD_WRITE, 2 * ZSZE + 8, 1, &e), 0);
	cr_assert_eq(e.dw0 | (uint64_t)e.dw1 << 32, 0);
	/* ZNS 3.3.1: ZSLBA not a zone start; past the capacity; to a full zone */
	cr_assert_eq(zwrite(&t, NVME_CMD_ZONE_APPEND, 2 * ZSZE + 8, 1, NULL),
		     NVME_SC_INVALID_FIELD);
	cr_assert_eq(zwrite(&t, NVME_CMD_ZONE_APPEND, 2 * ZSZE, ZCAP - 8, NULL),
		     NVME_SC_ZONE_BOUNDARY_ERROR);
	cr_assert_eq(zwrite(&t, NVME_CMD_ZONE_APPEND, 2 * ZSZE, ZCAP - 9, &e), 0);
	cr_assert_eq(zstate(&t, 2, NULL), NVME_ZS_FULL);
	cr_assert_eq(zwrite(&t, NVME_CMD_ZONE_APPEND, 2 * ZSZE, 1, NULL), NVME_SC_ZONE_FULL);
	tn_destroy(&t);
}

Test(nvme_zns, reads_past_wp_return_zeroes_and_cross_zones)
{
	struct tnvme t;
	uint64_t buf;
	uint8_t *p;

	zstart(&t, 0, 0);
	cr_assert_eq(zwrite(&t, NVME_CMD_WRITE, 0, 4, NULL), 0);
	buf = tn_alloc(&t, 256 << 10, 4096);
	p = tn_ptr(&t, buf);
	memset(p, 0x11, 256 << 10);
	/* 0..3 written (0xa5), 4..ZSZE-1 unwritten, then into zone 1 (RAZB) */
	cr_assert_eq(tn_rw(&t, NVME_CMD_READ, 1, 0, ZSZE + 8, buf, 0), 0);
	for (unsigned i = 0; i < (ZSZE + 8) * 512; i++)
		cr_assert_eq(p[i], i < 4 * 512 ? 0xa5 : 0, "byte %u", i);
	/* a finished zone: still zeroes past the blocks written */
	cr_assert_eq(zms(&t, 1, 0, NVME_ZSA_FINISH, false), 0);
	memset(p, 0x11, 256 << 10);
	cr_assert_eq(tn_rw(&t, NVME_CMD_READ, 1, 0, 8, buf, 0), 0);
	for (unsigned i = 0; i < 8 * 512; i++)
		cr_assert_eq(p[i], i < 4 * 512 ? 0xa5 : 0, "byte %u after Finish", i);
	/* past the end of the namespace */
	cr_assert_eq(tn_rw(&t, NVME_CMD_READ, 1, NZONE * ZSZE - 1, 2, buf, 0), NVME_SC_LBA_RANGE);
	tn_destroy(&t);
}

Test(nvme_zns, reset_makes_data_read_as_zeroes_and_zone_empty)
{
	struct tnvme t;
	uint64_t buf, wp;
	uint8_t *p;

	zstart(&t, 0, 0);
	cr_assert_eq(zwrite(&t, NVME_CMD_WRITE, 0, 8, NULL), 0);
	cr_assert_eq(zms(&t, 1, 0, NVME_ZSA_RESET, false), 0);
	cr_assert_eq(zstate(&t, 0, &wp), NVME_ZS_EMPTY);
	cr_assert_eq(wp, 0);
	buf = tn_alloc(&t, 8 * 4096, 4096);
	p = tn_ptr(&t, buf);
	memset(p, 0x11, 8 * 512);
	cr_assert_eq(tn_rw(&t, NVME_CMD_READ, 1, 0, 8, buf, 0), 0);
	for (unsigned i = 0; i < 8 * 512; i++)
		cr_assert_eq(p[i], 0);
	cr_assert_eq(zwrite(&t, NVME_CMD_WRITE, 0, 8, NULL), 0, "writable again from the start");
	tn_destroy(&t);
}

Test(nvme_zns, open_close_finish_transitions)
{
	struct tnvme t;
	uint64_t wp;

	zstart(&t, 0, 0);
	cr_assert_eq(zms(&t, 1, 0, NVME_ZSA_CLOSE, false), NVME_SC_ZONE_INVALID_TRANSITION,
		     "Empty cannot close");
	cr_assert_eq(zms(&t, 1, 0, NVME_ZSA_OPEN, false), 0);
	cr_assert_eq(zstate(&t, 0, NULL), NVME_ZS_EXP_OPEN);
	cr_assert_eq(zms(&t, 1, 0, NVME_ZSA_OPEN, false), 0, "open again: no change");
	cr_assert_eq(zwrite(&t, NVME_CMD_WRITE, 0, 2, NULL), 0);
	cr_assert_eq(zstate(&t, 0, NULL), NVME_ZS_EXP_OPEN, "a write keeps it explicitly open");
	cr_assert_eq(zms(&t, 1, 0, NVME_ZSA_CLOSE, false), 0);
	cr_assert_eq(zstate(&t, 0, &wp), NVME_ZS_CLOSED);
	cr_assert_eq(wp, 2);
	cr_assert_eq(zwrite(&t, NVME_CMD_WRITE, 2, 2, NULL), 0);
	cr_assert_eq(zstate(&t, 0, NULL), NVME_ZS_IMP_OPEN, "Closed to implicitly opened");
	cr_assert_eq(zms(&t, 1, 0, NVME_ZSA_FINISH, false), 0);
	cr_assert_eq(zstate(&t, 0, NULL), NVME_ZS_FULL);
	cr_assert_eq(zms(&t, 1, 0, NVME_ZSA_FINISH, false), 0, "finish a Full zone: no change");
	cr_assert_eq(zms(&t, 1, 0, NVME_ZSA_OPEN, false), NVME_SC_ZONE_INVALID_TRANSITION);
	cr_assert_eq(zms(&t, 1, 0, NVME_ZSA_CLOSE, false), NVME_SC_ZONE_INVALID_TRANSITION);
	cr_assert_eq(zms(&t, 1, ZSZE, NVME_ZSA_FINISH, false), 0, "Empty to Full");
	cr_assert_eq(zstate(&t, 1, NULL), NVME_ZS_FULL);
	tn_destroy(&t);
}

Test(nvme_zns, read_only_and_offline_zones)
{
	struct tnvme t;
	struct nvme_ns *ns;

	zstart(&t, 0, 0);
	ns = &t.c->ns[0];
	nvme_zns_set_zone_state(ns, 3, NVME_ZS_READ_ONLY);
	cr_assert_eq(zwrite(&t, NVME_CMD_WRITE, 3 * ZSZE, 1, NULL), NVME_SC_ZONE_READ_ONLY);
	cr_assert_eq(zms(&t, 1, 3 * ZSZE, NVME_ZSA_RESET, false), NVME_SC_ZONE_INVALID_TRANSITION);
	cr_assert_eq(zms(&t, 1, 3 * ZSZE, NVME_ZSA_OPEN, false), NVME_SC_ZONE_INVALID_TRANSITION);
	cr_assert_eq(zms(&t, 1, 0, NVME_ZSA_OFFLINE, false), NVME_SC_ZONE_INVALID_TRANSITION,
		     "only a Read Only zone goes offline");
	cr_assert_eq(zms(&t, 1, 3 * ZSZE, NVME_ZSA_OFFLINE, false), 0);
	cr_assert_eq(zstate(&t, 3, NULL), NVME_ZS_OFFLINE);
	cr_assert_eq(zwrite(&t, NVME_CMD_WRITE, 3 * ZSZE, 1, NULL), NVME_SC_ZONE_OFFLINE);
	cr_assert_eq(zwrite(&t, NVME_CMD_ZONE_APPEND, 3 * ZSZE, 1, NULL), NVME_SC_ZONE_OFFLINE);
	cr_assert_eq(zms(&t, 1, 3 * ZSZE, NVME_ZSA_RESET, false), NVME_SC_ZONE_INVALID_TRANSITION);
	/* Select All offline: every Read Only zone */
	nvme_zns_set_zone_state(ns, 5, NVME_ZS_READ_ONLY);
	nvme_zns_set_zone_state(ns, 6, NVME_ZS_READ_ONLY);
	cr_assert_eq(zms(&t, 1, 0, NVME_ZSA_OFFLINE, true), 0);
	cr_assert_eq(zstate(&t, 5, NULL), NVME_ZS_OFFLINE);
	cr_assert_eq(zstate(&t, 6, NULL), NVME_ZS_OFFLINE);
	cr_assert_eq(zstate(&t, 4, NULL), NVME_ZS_EMPTY);
	/* Select All reset leaves Offline zones alone */
	cr_assert_eq(zms(&t, 1, 0, NVME_ZSA_RESET, true), 0);
	cr_assert_eq(zstate(&t, 5, NULL), NVME_ZS_OFFLINE);
	tn_destroy(&t);
}

Test(nvme_zns, max_open_limits_explicit_open_and_implicit_open_closes_one)
{
	struct tnvme t;

	zstart(&t, 2, 0);
	cr_assert_eq(zms(&t, 1, 0, NVME_ZSA_OPEN, false), 0);
	cr_assert_eq(zms(&t, 1, ZSZE, NVME_ZSA_OPEN, false), 0);
	cr_assert_eq(zms(&t, 1, 2 * ZSZE, NVME_ZSA_OPEN, false), NVME_SC_ZONE_TOO_MANY_OPEN);
	cr_assert_eq(zwrite(&t, NVME_CMD_WRITE, 2 * ZSZE, 1, NULL), NVME_SC_ZONE_TOO_MANY_OPEN,
		     "both open zones are explicit: none may be closed for it");
	cr_assert_eq(zms(&t, 1, ZSZE, NVME_ZSA_CLOSE, false), 0);
	cr_assert_eq(zwrite(&t, NVME_CMD_WRITE, 2 * ZSZE, 1, NULL), 0);
	cr_assert_eq(zstate(&t, 2, NULL), NVME_ZS_IMP_OPEN);
	/* at the limit with an implicitly opened zone: it is closed for the new one */
	cr_assert_eq(zwrite(&t, NVME_CMD_WRITE, 3 * ZSZE, 1, NULL), 0);
	cr_assert_eq(zstate(&t, 2, NULL), NVME_ZS_CLOSED);
	cr_assert_eq(zstate(&t, 3, NULL), NVME_ZS_IMP_OPEN);
	/* Select All open of the Closed zones (1 and 2) needs two more open resources */
	cr_assert_eq(zms(&t, 1, 0, NVME_ZSA_OPEN, true), NVME_SC_ZONE_TOO_MANY_OPEN);
	cr_assert_eq(zms(&t, 1, 0, NVME_ZSA_CLOSE, true), 0);
	cr_assert_eq(zstate(&t, 0, NULL), NVME_ZS_CLOSED);
	cr_assert_eq(zstate(&t, 3, NULL), NVME_ZS_CLOSED);
	tn_destroy(&t);
}

Test(nvme_zns, max_active_limits_new_zones_and_finish_frees_one)
{
	struct tnvme t;

	zstart(&t, 0, 2);
	cr_assert_eq(zwrite(&t, NVME_CMD_WRITE, 0, 1, NULL), 0);
	cr_assert_eq(zms(&t, 1, ZSZE, NVME_ZSA_OPEN, false), 0);
	cr_assert_eq(zwrite(&t, NVME_CMD_WRITE, 2 * ZSZE, 1, NULL), NVME_SC_ZONE_TOO_MANY_ACTIVE);
	cr_assert_eq(zms(&t, 1, 2 * ZSZE, NVME_ZSA_OPEN, false), NVME_SC_ZONE_TOO_MANY_ACTIVE);
	cr_assert_eq(zms(&t, 1, 0, NVME_ZSA_CLOSE, false), 0);
	cr_assert_eq(zwrite(&t, NVME_CMD_ZONE_APPEND, 2 * ZSZE, 1, NULL),
		     NVME_SC_ZONE_TOO_MANY_ACTIVE, "Closed still counts as active");
	cr_assert_eq(zms(&t, 1, 0, NVME_ZSA_FINISH, false), 0);
	cr_assert_eq(zwrite(&t, NVME_CMD_WRITE, 2 * ZSZE, 1, NULL), 0);
	tn_destroy(&t);
}

Test(nvme_zns, select_all_finish_and_reset)
{
	struct tnvme t;
	uint64_t buf;

	zstart(&t, 0, 0);
	cr_assert_eq(zwrite(&t, NVME_CMD_WRITE, 0, 1, NULL), 0);
	cr_assert_eq(zms(&t, 1, ZSZE, NVME_ZSA_OPEN, false), 0);
	cr_assert_eq(zms(&t, 1, 0, NVME_ZSA_FINISH, true), 0);
	cr_assert_eq(zstate(&t, 0, NULL), NVME_ZS_FULL);
	cr_assert_eq(zstate(&t, 1, NULL), NVME_ZS_FULL);
	cr_assert_eq(zstate(&t, 2, NULL), NVME_ZS_EMPTY, "Select All Finish skips Empty zones");
	cr_assert_eq(zms(&t, 1, 0, NVME_ZSA_RESET, true), 0);
	cr_assert_eq(zmr(&t, 0, 64 + 64 * NZONE, NVME_ZRASF_EMPTY, false, &buf), 0);
	cr_assert_eq(le64(tn_ptr(&t, buf)), NZONE);
	tn_destroy(&t);
}

Test(nvme_zns, report_filters_partial_and_small_buffers)
{
	struct tnvme t;
	uint64_t buf;
	uint8_t *p;

	zstart(&t, 0, 0);
	cr_assert_eq(zwrite(&t, NVME_CMD_WRITE, 2 * ZSZE, 1, NULL), 0);
	cr_assert_eq(zwrite(&t, NVME_CMD_WRITE, 9 * ZSZE, 1, NULL), 0);
	cr_assert_eq(zms(&t, 1, 5 * ZSZE, NVME_ZSA_FINISH, false), 0);
	/* filter Implicitly Opened: zones 2 and 9 */
	cr_assert_eq(zmr(&t, 0, 4096, NVME_ZRASF_IMP_OPEN, false, &buf), 0);
	p = tn_ptr(&t, buf);
	cr_assert_eq(le64(p), 2);
	cr_assert_eq(le64(p + 64 + 16), 2 * ZSZE);
	cr_assert_eq(le64(p + 128 + 16), 9 * ZSZE);
	cr_assert_eq(p[192], 0, "nothing past the matching descriptors");
	/* from zone 3 on: only zone 9; Full filter: zone 5, WP not reported */
	cr_assert_eq(zmr(&t, 3 * ZSZE + 7, 4096, NVME_ZRASF_IMP_OPEN, false, &buf), 0);
	cr_assert_eq(le64(tn_ptr(&t, buf)), 1);
	cr_assert_eq(zmr(&t, 0, 4096, NVME_ZRASF_FULL, false, &buf), 0);
	p = tn_ptr(&t, buf);
	cr_assert_eq(le64(p), 1);
	cr_assert_eq(le64(p + 64 + 16), 5 * ZSZE);
	cr_assert_eq(p[65] >> 4, NVME_ZS_FULL);
	/* room for 3 descriptors: without Partial Report, all that match; with it, those sent */
	cr_assert_eq(zmr(&t, 0, 64 + 3 * 64, NVME_ZRASF_ALL, false, &buf), 0);
	cr_assert_eq(le64(tn_ptr(&t, buf)), NZONE);
	cr_assert_eq(zmr(&t, 0, 64 + 3 * 64, NVME_ZRASF_ALL, true, &buf), 0);
	cr_assert_eq(le64(tn_ptr(&t, buf)), 3);
	/* smaller than one descriptor: the header only; smaller than the header: part of it */
	cr_assert_eq(zmr(&t, 0, 100, NVME_ZRASF_ALL, true, &buf), 0);
	p = tn_ptr(&t, buf);
	cr_assert_eq(le64(p), 0);
	cr_assert_eq(p[100], 0xee, "nothing written past the buffer");
	cr_assert_eq(zmr(&t, 0, 4, NVME_ZRASF_ALL, false, &buf), 0);
	p = tn_ptr(&t, buf);
	cr_assert_eq(le32(p), NZONE);
	cr_assert_eq(p[4], 0xee);
	tn_destroy(&t);
}

Test(nvme_zns, report_bad_fields_and_hostile_buffers)
{
	struct tnvme t;
	uint64_t buf;
	struct nvme_sqe cmd = {.opcode = NVME_CMD_ZONE_MGMT_RECV, .nsid = 1, .cdw12 = 1023};

	zstart(&t, 0, 0);
	cr_assert_eq(zmr(&t, NZONE * ZSZE, 4096, NVME_ZRASF_ALL, false, &buf), NVME_SC_LBA_RANGE);
	cr_assert_eq(zmr(&t, ~0ULL, 4096, NVME_ZRASF_ALL, false, &buf), NVME_SC_LBA_RANGE);
	cr_assert_eq(zmr(&t, 0, 4096, 8, false, &buf), NVME_SC_INVALID_FIELD, "ZRASF 08h");
	cmd.prp1 = tn_alloc(&t, 4096, 4096);
	cmd.cdw13 = 1; /* Extended Report Zones: no descriptor extensions */
	cr_assert_eq(tn_cmd(&t, 1, &cmd, NULL), NVME_SC_INVALID_FIELD);
	/* NUMD of 16 GiB: above MDTS */
	cmd.cdw13 = 0;
	cmd.cdw12 = 0xffffffff;
	cr_assert_eq(tn_cmd(&t, 1, &cmd, NULL), NVME_SC_INVALID_FIELD);
	/* a buffer outside guest memory */
	cmd.cdw12 = 1023;
	cmd.prp1 = 0xfff00000000ULL;
	cr_assert_neq(tn_cmd(&t, 1, &cmd, NULL), 0);
	cmd.prp1 = TN_BASE + TN_SIZE - 2048; /* runs off the end */
	cr_assert_neq(tn_cmd(&t, 1, &cmd, NULL), 0);
	tn_destroy(&t);
}

Test(nvme_zns, send_hostile_values)
{
	struct tnvme t;

	zstart(&t, 0, 0);
	cr_assert_eq(zms(&t, 1, NZONE * ZSZE, NVME_ZSA_RESET, false), NVME_SC_LBA_RANGE);
	cr_assert_eq(zms(&t, 1, ~0ULL, NVME_ZSA_OPEN, false), NVME_SC_LBA_RANGE);
	cr_assert_eq(zms(&t, 1, 1, NVME_ZSA_OPEN, false), NVME_SC_INVALID_FIELD,
		     "not a zone start");
	cr_assert_eq(zms(&t, 1, 0, 0, false), NVME_SC_INVALID_FIELD);
	cr_assert_eq(zms(&t, 1, 0, 0x10, false), NVME_SC_INVALID_FIELD, "no descriptor extensions");
	cr_assert_eq(zms(&t, 1, 0, 0xff, true), NVME_SC_INVALID_FIELD);
	cr_assert_eq(zms(&t, 7, 0, NVME_ZSA_OPEN, false), NVME_SC_INVALID_NS);
	/* writes and appends at hostile SLBAs */
	cr_assert_eq(zwrite(&t, NVME_CMD_ZONE_APPEND, ~0ULL - 3, 4, NULL), NVME_SC_LBA_RANGE);
	cr_assert_eq(zwrite(&t, NVME_CMD_WRITE, NZONE * ZSZE - 2, 4, NULL), NVME_SC_LBA_RANGE);
	cr_assert_eq(zwrite(&t, NVME_CMD_WRITE_ZEROES, ~0ULL, 1, NULL), NVME_SC_LBA_RANGE);
	tn_destroy(&t);
}

Test(nvme_zns, zone_commands_on_a_plain_namespace_are_invalid_opcode)
{
	struct tnvme t;
	struct nvme_sqe cmd = {.opcode = NVME_CMD_ZONE_APPEND, .nsid = 2};

	zstart(&t, 0, 0);
	cmd.prp1 = tn_alloc(&t, 4096, 4096);
	cr_assert_eq(tn_cmd(&t, 1, &cmd, NULL), NVME_SC_INVALID_OPCODE);
	cr_assert_eq(zms(&t, 2, 0, NVME_ZSA_OPEN, false), NVME_SC_INVALID_OPCODE);
	/* and Copy is not built for zoned namespaces */
	cmd = (struct nvme_sqe){.opcode = NVME_CMD_COPY, .nsid = 1, .prp1 = cmd.prp1};
	cr_assert_eq(tn_cmd(&t, 1, &cmd, NULL), NVME_SC_INVALID_OPCODE);
	tn_destroy(&t);
}

Test(nvme_zns, format_keeps_zone_bytes_and_resets_zones)
{
	struct tnvme t;
	struct nvme_sqe cmd = {.opcode = NVME_ADM_FORMAT_NVM, .nsid = 1, .cdw10 = 1};
	uint8_t *id;

	zstart(&t, 0, 0);
	cr_assert_eq(zwrite(&t, NVME_CMD_WRITE, 0, 8, NULL), 0);
	cr_assert_eq(tn_cmd(&t, 0, &cmd, NULL), 0);
	cr_assert_eq(identify_csi(&t, NVME_ID_CNS_CS_NS, NVME_CSI_ZNS, 1, &id), 0);
	cr_assert_eq(le64(id + 2832), 16);
	cr_assert_eq(t.c->ns[0].zns->zsze, 16);
	cr_assert_eq(t.c->ns[0].zns->zone[0].zs, NVME_ZS_EMPTY);
	tn_destroy(&t);
}

Test(nvme_zns, create_rejects_bad_zone_geometry_and_null_backend)
{
	static const struct {
		struct nvme_ns_config ns;
		const char *msg;
	} bad[] = {
		{{.size = 1 << 20, .backend = "null", .zoned = true}, "\"null\" backend"},
		{{.size = 1 << 20, .zoned = true, .zone_size = 96 << 10}, "power of two"},
		{{.size = 1 << 20,
		  .zoned = true,
		  .zone_size = 64 << 10,
		  .zone_capacity = 128 << 10},
		 "zone_capacity"},
		{{.size = 1 << 20, .zoned = true, .zone_size = 64 << 10, .zone_capacity = 1000},
		 "zone_capacity"},
		{{.size = 1 << 20, .zoned = true, .zone_size = 2 << 20}, "smaller than one zone"},
		{{.size = 1 << 20,
		  .zoned = true,
		  .zone_size = 64 << 10,
		  .max_open = 3,
		  .max_active = 2},
		 "max_open"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct nvme_host host = {0};
		struct nvme_ctrl_config cfg = {.ns = &bad[i].ns, .nr_ns = 1};
		char err[256] = "";
		struct nvme_ctrl *c = nvme_ctrl_create(&cfg, &host, err, sizeof(err));

		cr_assert_null(c, "case %zu accepted", i);
		cr_assert_not_null(strstr(err, bad[i].msg), "case %zu: %s", i, err);
	}
}

/* The file backend (inline, no I/O thread): zone state is rebuilt as all Empty at start and
 * the file's old contents read as zeroes until written again. */
Test(nvme_zns, file_namespace_starts_empty_and_reads_zeroes)
{
	char path[] = "/tmp/vmm-nvme-zns-XXXXXX";
	uint8_t old[4096], *p;
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[2];
	struct tnvme t;
	uint64_t buf, wp;
	int fd = mkstemp(path);

	cr_assert(fd >= 0);
	memset(old, 0x5a, sizeof(old));
	for (unsigned off = 0; off < (1u << 20); off += sizeof(old))
		cr_assert_eq(pwrite(fd, old, sizeof(old), off), (ssize_t)sizeof(old));
	for (int run = 0; run < 2; run++) {
		tn_config(&cfg, ns, 1);
		ns[0] = (struct nvme_ns_config){.lba_size = 512,
						.backend = "file",
						.path = path,
						.zoned = true,
						.zone_size = 64 << 10,
						.zone_capacity = 48 << 10};
		cfg.no_iothread = true;
		tn_start_cfg(&t, &cfg);
		cr_assert_eq(zstate(&t, 0, &wp), NVME_ZS_EMPTY, "run %d", run);
		cr_assert_eq(wp, 0);
		buf = tn_alloc(&t, 8 * 4096, 4096);
		p = tn_ptr(&t, buf);
		memset(p, 0x11, 8 * 512);
		cr_assert_eq(tn_rw(&t, NVME_CMD_READ, 1, 0, 8, buf, 0), 0);
		for (unsigned i = 0; i < 8 * 512; i++)
			cr_assert_eq(p[i], 0, "run %d byte %u", run, i);
		/* Compare sees the zeroes a Read sees */
		memset(p, 0, 8 * 512);
		cr_assert_eq(tn_rw(&t, NVME_CMD_COMPARE, 1, 4, 4, buf, 0), 0);
		cr_assert_eq(zwrite(&t, NVME_CMD_WRITE, 0, 4, NULL), 0);
		cr_assert_eq(tn_rw(&t, NVME_CMD_READ, 1, 0, 8, buf, 0), 0);
		for (unsigned i = 0; i < 8 * 512; i++)
			cr_assert_eq(p[i], i < 4 * 512 ? 0xa5 : 0, "run %d byte %u", run, i);
		tn_destroy(&t);
		cr_assert_eq(pread(fd, old, 512, 0), 512);
		cr_assert_eq(old[0], 0xa5, "the data reached the file");
		cr_assert_eq(pread(fd, old, 512, 8 * 512), 512);
		cr_assert_eq(old[0], 0x5a, "unwritten blocks keep the old contents, unseen");
	}
	close(fd);
	unlink(path);
}

/* config: the namespace keys */
#define NVME_HEAD                                                                                  \
	"[machine]\nkernel = \"/proc/self/exe\"\n[[root_port]]\nid = \"r\"\n[[nvme]]\nid = "       \
	"\"n\"\nbus = \"r\"\n"

static int load(const char *ns, struct machine_config *cfg, char **errors)
{
	char text[1024];

	snprintf(text, sizeof(text), NVME_HEAD "namespaces = [ %s ]\n", ns);
	*errors = NULL;
	return config_load_string(text, "t.toml", "/", cfg, errors);
}

Test(nvme_zns, config_parses_zoned_namespace_keys)
{
	struct machine_config cfg;
	char *e;
	int ret = load("{ size = \"64M\", zoned = true, zone_size = \"8M\", zone_capacity = "
		       "\"6M\", max_open = 3, max_active = 5 }, { size = \"1M\" }",
		       &cfg, &e);
	const struct nvme_ns_spec *ns;

	cr_assert_eq(ret, 0, "%s", e ? e : "");
	ns = cfg.devices[1].nvme.ns;
	cr_assert(ns[0].zoned);
	cr_assert_eq(ns[0].zone_size, 8 << 20);
	cr_assert_eq(ns[0].zone_capacity, 6 << 20);
	cr_assert_eq(ns[0].max_open, 3);
	cr_assert_eq(ns[0].max_active, 5);
	cr_assert(!ns[1].zoned);
	cr_assert_eq(ns[1].zone_size, 0, "defaults are left to the device");
	config_free(&cfg);
	free(e);
}

Test(nvme_zns, config_rejects_bad_zone_keys_at_their_line)
{
	static const struct {
		const char *ns, *expect;
	} bad[] = {
		{"{ backend = \"null\", zoned = true }", "t.toml:8:16: 'zoned' needs a \"ram\" or"},
		{"{ zoned = true, zone_size = \"3M\" }",
		 "t.toml:8:44: 'zone_size' must be a power"},
		{"{ zoned = true, zone_size = \"1K\" }", "'zone_size' must be a power of two"},
		{"{ zoned = true, zone_capacity = \"1000\" }",
		 "'zone_capacity' must be a non-zero"},
		{"{ zoned = true, zone_size = \"8M\", zone_capacity = \"16M\" }",
		 "'zone_capacity' must not exceed the zone size"},
		{"{ zoned = true, max_open = 4, max_active = 2 }", "'max_open' must not exceed"},
		{"{ zoned = true, max_open = -1 }", "'max_open' must be between 0 and"},
		{"{ zone_size = \"8M\" }", "zone keys need 'zoned = true'"},
		{"{ zoned = \"yes\" }", "t.toml:8:26:"},
		{"{ size = \"4M\", zoned = true }", "t.toml:8:25: a zoned namespace must hold"},
		{"{ zoned = true, zone_size = \"128M\" }", "must hold at least one zone"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct machine_config cfg;
		char *e;
		int ret = load(bad[i].ns, &cfg, &e);

		cr_assert_eq(ret, -EINVAL, "case %zu accepted: %s", i, bad[i].ns);
		cr_assert_not_null(strstr(e, bad[i].expect), "case %zu: expected \"%s\" in:\n%s", i,
				   bad[i].expect, e);
		free(e);
	}
}
