/* SPDX-License-Identifier: MIT */
/* NVMe admin commands (1.4 5): queue management errors, Identify, features, logs, AER. */
#include <criterion/criterion.h>
#include <string.h>

#include "tests/unit/test_nvme.h"

static uint16_t admin(struct tnvme *t, struct nvme_sqe cmd, uint32_t *dw0)
{
	struct nvme_cqe e;
	uint16_t st = tn_cmd(t, 0, &cmd, &e);

	if (dw0)
		*dw0 = e.dw0;
	return st;
}

static uint16_t create_cq_raw(struct tnvme *t, uint32_t cdw10, uint32_t cdw11, uint64_t base)
{
	return admin(
		t,
		(struct nvme_sqe){
			.opcode = NVME_ADM_CREATE_CQ, .prp1 = base, .cdw10 = cdw10, .cdw11 = cdw11},
		NULL);
}

static uint16_t create_sq_raw(struct tnvme *t, uint32_t cdw10, uint32_t cdw11, uint64_t base)
{
	return admin(
		t,
		(struct nvme_sqe){
			.opcode = NVME_ADM_CREATE_SQ, .prp1 = base, .cdw10 = cdw10, .cdw11 = cdw11},
		NULL);
}

Test(nvme_admin, create_cq_rejects_qid_zero)
{
	struct tnvme t;

	tn_start(&t);
	cr_assert_eq(create_cq_raw(&t, 0 | 15 << 16, 1, tn_alloc(&t, 4096, 4096)),
		     NVME_SC_QID_INVALID);
	tn_destroy(&t);
}

Test(nvme_admin, create_cq_rejects_qid_above_max_and_in_use)
{
	struct tnvme t;

	tn_start(&t);
	cr_assert_eq(create_cq_raw(&t, 9 | 15 << 16, 1, tn_alloc(&t, 4096, 4096)),
		     NVME_SC_QID_INVALID);
	cr_assert_eq(create_cq_raw(&t, 1 | 15 << 16, 1, tn_alloc(&t, 4096, 4096)),
		     NVME_SC_QID_INVALID);
	tn_destroy(&t);
}

Test(nvme_admin, create_sq_rejects_qid_zero)
{
	struct tnvme t;

	tn_start(&t);
	cr_assert_eq(create_sq_raw(&t, 0 | 15 << 16, 1 | 1 << 16, tn_alloc(&t, 4096, 4096)),
		     NVME_SC_QID_INVALID);
	tn_destroy(&t);
}

Test(nvme_admin, create_queues_reject_size_one_and_above_mqes)
{
	struct tnvme t;

	tn_start(&t);
	cr_assert_eq(create_cq_raw(&t, 2 | 0 << 16, 1, tn_alloc(&t, 4096, 4096)),
		     NVME_SC_QUEUE_SIZE);
	cr_assert_eq(create_cq_raw(&t, 2 | 1024u << 16, 1, tn_alloc(&t, 32768, 4096)),
		     NVME_SC_QUEUE_SIZE);
	cr_assert_eq(create_sq_raw(&t, 2 | 0 << 16, 1 | 1 << 16, tn_alloc(&t, 4096, 4096)),
		     NVME_SC_QUEUE_SIZE);
	/* MQES + 1 = 1024 entries is fine */
	cr_assert_eq(create_cq_raw(&t, 2 | 1023u << 16, 1, tn_alloc(&t, 16384, 4096)), 0);
	tn_destroy(&t);
}

Test(nvme_admin, create_cq_rejects_invalid_interrupt_vector)
{
	struct tnvme t;

	tn_start(&t);
	cr_assert_eq(create_cq_raw(&t, 2 | 15 << 16, 3 | 9u << 16, tn_alloc(&t, 4096, 4096)),
		     NVME_SC_INVALID_VECTOR);
	tn_destroy(&t);
}

Test(nvme_admin, create_queues_reject_non_contiguous)
{
	struct tnvme t;

	tn_start(&t);
	cr_assert_eq(create_cq_raw(&t, 2 | 15 << 16, 0, tn_alloc(&t, 4096, 4096)),
		     NVME_SC_INVALID_FIELD);
	cr_assert_eq(create_sq_raw(&t, 2 | 15 << 16, 0 | 1 << 16, tn_alloc(&t, 4096, 4096)),
		     NVME_SC_INVALID_FIELD);
	tn_destroy(&t);
}

Test(nvme_admin, create_queues_reject_memory_outside_guest_or_unaligned)
{
	struct tnvme t;

	tn_start(&t);
	cr_assert_eq(create_cq_raw(&t, 2 | 15 << 16, 1, 0x80000000), NVME_SC_INVALID_FIELD);
	cr_assert_eq(create_cq_raw(&t, 2 | 15 << 16, 1, TN_BASE + 0x10), NVME_SC_INVALID_FIELD);
	cr_assert_eq(create_cq_raw(&t, 2 | 15 << 16, 1, TN_BASE + TN_SIZE - 128),
		     NVME_SC_INVALID_FIELD);
	tn_destroy(&t);
}

Test(nvme_admin, create_sq_on_missing_cq_is_completion_queue_invalid)
{
	struct tnvme t;

	tn_start(&t);
	cr_assert_eq(create_sq_raw(&t, 2 | 15 << 16, 1 | 5u << 16, tn_alloc(&t, 4096, 4096)),
		     NVME_SC_CQ_INVALID);
	cr_assert_eq(create_sq_raw(&t, 2 | 15 << 16, 1 | 0u << 16, tn_alloc(&t, 4096, 4096)),
		     NVME_SC_CQ_INVALID);
	tn_destroy(&t);
}

Test(nvme_admin, create_sq_rejects_qid_in_use)
{
	struct tnvme t;

	tn_start(&t);
	cr_assert_eq(create_sq_raw(&t, 1 | 15 << 16, 1 | 1u << 16, tn_alloc(&t, 4096, 4096)),
		     NVME_SC_QID_INVALID);
	tn_destroy(&t);
}

Test(nvme_admin, create_io_queues_need_iosqes_iocqes)
{
	struct tnvme t;
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[1];

	tn_config(&cfg, ns, 1);
	tn_create(&t, &cfg);
	/* enable with IOSQES/IOCQES left 0 */
	t.q[0].size = t.q[0].sq_size = 8;
	t.q[0].sq = tn_alloc(&t, 4096, 4096);
	t.q[0].cq = tn_alloc(&t, 4096, 4096);
	t.q[0].phase = true;
	tn_wr32(&t, NVME_REG_AQA, 7 | 7 << 16);
	tn_wr64_halves(&t, NVME_REG_ASQ, t.q[0].sq);
	tn_wr64_halves(&t, NVME_REG_ACQ, t.q[0].cq);
	tn_wr32(&t, NVME_REG_CC, NVME_CC_EN);
	cr_assert_eq(tn_create_cq(&t, 1, 16, false, 0), NVME_SC_INVALID_FIELD);
	tn_destroy(&t);
}

Test(nvme_admin, delete_cq_with_sqs_is_invalid_queue_deletion)
{
	struct tnvme t;

	tn_start(&t);
	cr_assert_eq(admin(&t, (struct nvme_sqe){.opcode = NVME_ADM_DELETE_CQ, .cdw10 = 1}, NULL),
		     NVME_SC_INVALID_QUEUE_DELETE);
	cr_assert_eq(admin(&t, (struct nvme_sqe){.opcode = NVME_ADM_DELETE_SQ, .cdw10 = 1}, NULL),
		     0);
	cr_assert_eq(admin(&t, (struct nvme_sqe){.opcode = NVME_ADM_DELETE_CQ, .cdw10 = 1}, NULL),
		     0);
	tn_destroy(&t);
}

Test(nvme_admin, delete_rejects_qid_zero_and_missing_queues)
{
	struct tnvme t;

	tn_start(&t);
	cr_assert_eq(admin(&t, (struct nvme_sqe){.opcode = NVME_ADM_DELETE_SQ, .cdw10 = 0}, NULL),
		     NVME_SC_QID_INVALID);
	cr_assert_eq(admin(&t, (struct nvme_sqe){.opcode = NVME_ADM_DELETE_CQ, .cdw10 = 0}, NULL),
		     NVME_SC_QID_INVALID);
	cr_assert_eq(admin(&t, (struct nvme_sqe){.opcode = NVME_ADM_DELETE_SQ, .cdw10 = 3}, NULL),
		     NVME_SC_QID_INVALID);
	cr_assert_eq(
		admin(&t, (struct nvme_sqe){.opcode = NVME_ADM_DELETE_CQ, .cdw10 = 60000}, NULL),
		NVME_SC_QID_INVALID);
	tn_destroy(&t);
}

Test(nvme_admin, unknown_opcode_is_invalid_opcode)
{
	struct tnvme t;

	tn_start(&t);
	cr_assert_eq(admin(&t, (struct nvme_sqe){.opcode = 0x7f}, NULL), NVME_SC_INVALID_OPCODE);
	cr_assert_eq(admin(&t, (struct nvme_sqe){.opcode = 0x0d}, NULL), NVME_SC_INVALID_OPCODE);
	tn_destroy(&t);
}

Test(nvme_admin, identify_controller_fields_linux_checks)
{
	struct tnvme t;
	uint64_t buf;
	uint8_t *id;
	uint32_t nn, ver;

	tn_start(&t);
	cr_assert_eq(tn_identify(&t, NVME_ID_CNS_CTRL, 0, &buf), 0);
	id = tn_ptr(&t, buf);
	cr_assert_eq(id[0] | id[1] << 8, 0x1af4);
	cr_assert_eq(id[512], 0x66);
	cr_assert_eq(id[513], 0x44);
	cr_assert_eq(id[77], 7, "MDTS 512 KiB = 2^7 * 4 KiB");
	memcpy(&nn, id + 516, 4);
	memcpy(&ver, id + 80, 4);
	cr_assert_eq(nn, 1);
	cr_assert_eq(ver, 0x00010400);
	cr_assert_eq(id[259], 3, "AERL");
	cr_assert(id[536] & 1, "SGLS");
	cr_assert(id[525] & 1, "VWC");
	cr_assert(id[4] != ' ' && id[4] != 0, "serial");
	cr_assert_eq(id[24 + 39], ' ', "model space padded");
	cr_assert(strncmp((char *)id + 768, "nqn.", 4) == 0);
	tn_destroy(&t);
}

/* docs/config.md, [[nvme]]: the serial and model a controller gets without `serial`/`model` */
Test(nvme_admin, identify_strings_default_to_the_documented_ones)
{
	struct tnvme t;
	uint64_t buf;
	const char *id;

	tn_start(&t); /* the first controller of this process (a test runs in its own) */
	cr_assert_eq(tn_identify(&t, NVME_ID_CNS_CTRL, 0, &buf), 0);
	id = tn_ptr(&t, buf);
	cr_assert_arr_eq(id + 4, "VMM00000000         ", 20, "SN: %.20s", id + 4);
	cr_assert_arr_eq(id + 24, "vmm NVMe controller                     ", 40, "MN: %.40s",
			 id + 24);
	cr_assert_arr_eq(id + 64, "1.0     ", 8, "FR: %.8s", id + 64);
	tn_destroy(&t);
}

Test(nvme_admin, serial_and_nguid_are_unique)
{
	struct tnvme a, b;
	uint64_t ba, bb, na, nb;
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[2];

	tn_config(&cfg, ns, 2);
	tn_start_cfg(&a, &cfg);
	tn_start_cfg(&b, &cfg);
	tn_identify(&a, NVME_ID_CNS_CTRL, 0, &ba);
	tn_identify(&b, NVME_ID_CNS_CTRL, 0, &bb);
	cr_assert_neq(memcmp((uint8_t *)tn_ptr(&a, ba) + 4, (uint8_t *)tn_ptr(&b, bb) + 4, 20), 0);
	cr_assert_neq(strcmp((char *)tn_ptr(&a, ba) + 768, (char *)tn_ptr(&b, bb) + 768), 0);
	tn_identify(&a, NVME_ID_CNS_NS, 1, &na);
	tn_identify(&a, NVME_ID_CNS_NS, 2, &nb);
	cr_assert_neq(memcmp((uint8_t *)tn_ptr(&a, na) + 104, (uint8_t *)tn_ptr(&a, nb) + 104, 24),
		      0);
	tn_identify(&b, NVME_ID_CNS_NS, 1, &nb);
	cr_assert_neq(memcmp((uint8_t *)tn_ptr(&a, na) + 104, (uint8_t *)tn_ptr(&b, nb) + 104, 16),
		      0);
	tn_destroy(&a);
	tn_destroy(&b);
}

Test(nvme_admin, identify_namespace_sizes_and_formats)
{
	struct tnvme t;
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[2];
	uint64_t buf, nsze;
	uint8_t *id;
	uint32_t lbaf1;

	tn_config(&cfg, ns, 2);
	ns[1].lba_size = 4096;
	ns[1].size = 8 << 20;
	tn_start_cfg(&t, &cfg);
	cr_assert_eq(tn_identify(&t, NVME_ID_CNS_NS, 2, &buf), 0);
	id = tn_ptr(&t, buf);
	memcpy(&nsze, id, 8);
	memcpy(&lbaf1, id + 132, 4);
	cr_assert_eq(nsze, 2048);
	cr_assert_eq(id[26] & 0xf, 1, "FLBAS");
	cr_assert_eq(id[25], 7, "NLBAF: 2 plain formats, 6 with metadata (pi.c)");
	cr_assert_eq((lbaf1 >> 16) & 0xff, 12);
	cr_assert_eq(id[33] & 7, 1, "DLFEAT: deallocated reads zeroes");
	tn_destroy(&t);
}

Test(nvme_admin, identify_rejects_bad_nsid_and_unknown_cns)
{
	struct tnvme t;
	uint64_t buf;

	tn_start(&t);
	cr_assert_eq(tn_identify(&t, NVME_ID_CNS_NS, 0, &buf), NVME_SC_INVALID_NS);
	cr_assert_eq(tn_identify(&t, NVME_ID_CNS_NS, 2, &buf), NVME_SC_INVALID_NS);
	cr_assert_eq(tn_identify(&t, NVME_ID_CNS_NS, NVME_NSID_ALL, &buf), NVME_SC_INVALID_NS);
	cr_assert_eq(tn_identify(&t, NVME_ID_CNS_NS_ACTIVE_LIST, 0xfffffffe, &buf),
		     NVME_SC_INVALID_NS);
	/* CNS 05h/06h are answered since ZNS (test_nvme_zns.c); 08h and 1Fh are not. */
	cr_assert_eq(tn_identify(&t, 0x08, 1, &buf), NVME_SC_INVALID_FIELD);
	cr_assert_eq(tn_identify(&t, 0x1f, 0, &buf), NVME_SC_INVALID_FIELD);
	tn_destroy(&t);
}

Test(nvme_admin, active_namespace_list_and_descriptors)
{
	struct tnvme t;
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[3];
	uint64_t buf;
	uint32_t *list;
	uint8_t *d;

	tn_config(&cfg, ns, 3);
	tn_start_cfg(&t, &cfg);
	cr_assert_eq(tn_identify(&t, NVME_ID_CNS_NS_ACTIVE_LIST, 1, &buf), 0);
	list = tn_ptr(&t, buf);
	cr_assert_eq(list[0], 2);
	cr_assert_eq(list[1], 3);
	cr_assert_eq(list[2], 0);
	cr_assert_eq(tn_identify(&t, NVME_ID_CNS_NS_DESC_LIST, 2, &buf), 0);
	d = tn_ptr(&t, buf);
	cr_assert_eq(d[0], NVME_NIDT_EUI64);
	cr_assert_eq(d[1], 8);
	cr_assert_eq(d[12], NVME_NIDT_NGUID);
	cr_assert_eq(d[13], 16);
	cr_assert_eq(d[32], NVME_NIDT_UUID);
	cr_assert_eq(d[33], 16);
	tn_destroy(&t);
}

Test(nvme_admin, number_of_queues_reports_allocated)
{
	struct tnvme t;
	uint32_t dw0;

	tn_start(&t);
	cr_assert_eq(admin(&t,
			   (struct nvme_sqe){.opcode = NVME_ADM_SET_FEATURES,
					     .cdw10 = NVME_FEAT_NUM_QUEUES,
					     .cdw11 = 63 | 63 << 16},
			   &dw0),
		     0);
	cr_assert_eq(dw0, 7 | 7 << 16);
	cr_assert_eq(admin(&t,
			   (struct nvme_sqe){.opcode = NVME_ADM_SET_FEATURES,
					     .cdw10 = NVME_FEAT_NUM_QUEUES,
					     .cdw11 = 0xffff},
			   &dw0),
		     NVME_SC_INVALID_FIELD);
	tn_destroy(&t);
}

Test(nvme_admin, features_round_trip_and_reject_unknown)
{
	static const struct {
		uint8_t fid;
		uint32_t val;
	} f[] = {{NVME_FEAT_ARBITRATION, 0x01020303},
		 {NVME_FEAT_VOLATILE_WC, 0},
		 {NVME_FEAT_IRQ_COALESCE, 0x0a05},
		 {NVME_FEAT_WRITE_ATOMIC, 1},
		 {NVME_FEAT_ASYNC_EVENT, 0x100},
		 {NVME_FEAT_ERR_RECOVERY, 0x20},
		 {NVME_FEAT_POWER_MGMT, 0}};
	struct tnvme t;
	uint32_t dw0;

	tn_start(&t);
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		cr_assert_eq(admin(&t,
				   (struct nvme_sqe){.opcode = NVME_ADM_SET_FEATURES,
						     .cdw10 = f[i].fid,
						     .cdw11 = f[i].val},
				   NULL),
			     0);
		cr_assert_eq(
			admin(&t,
			      (struct nvme_sqe){.opcode = NVME_ADM_GET_FEATURES, .cdw10 = f[i].fid},
			      &dw0),
			0);
		cr_assert_eq(dw0, f[i].val, "fid %u", f[i].fid);
	}
	cr_assert_eq(
		admin(&t, (struct nvme_sqe){.opcode = NVME_ADM_GET_FEATURES, .cdw10 = 0x7e}, NULL),
		NVME_SC_INVALID_FIELD);
	cr_assert_eq(admin(&t,
			   (struct nvme_sqe){.opcode = NVME_ADM_SET_FEATURES,
					     .cdw10 = NVME_FEAT_VOLATILE_WC | 1u << 31,
					     .cdw11 = 1},
			   NULL),
		     NVME_SC_FEATURE_NOT_SAVEABLE);
	cr_assert_eq(admin(&t,
			   (struct nvme_sqe){.opcode = NVME_ADM_SET_FEATURES,
					     .cdw10 = NVME_FEAT_POWER_MGMT,
					     .cdw11 = 1},
			   NULL),
		     NVME_SC_INVALID_FIELD);
	cr_assert_eq(admin(&t,
			   (struct nvme_sqe){.opcode = NVME_ADM_GET_FEATURES,
					     .cdw10 = NVME_FEAT_IRQ_CONFIG,
					     .cdw11 = 200},
			   NULL),
		     NVME_SC_INVALID_FIELD);
	tn_destroy(&t);
}

Test(nvme_admin, timestamp_set_then_get)
{
	struct tnvme t;
	uint64_t buf;
	uint8_t *p;
	uint64_t ts = 0;

	tn_start(&t);
	buf = tn_alloc(&t, 4096, 4096);
	p = tn_ptr(&t, buf);
	memcpy(p, &(uint64_t){1000000}, 8);
	cr_assert_eq(admin(&t,
			   (struct nvme_sqe){.opcode = NVME_ADM_SET_FEATURES,
					     .cdw10 = NVME_FEAT_TIMESTAMP,
					     .prp1 = buf},
			   NULL),
		     0);
	memset(p, 0, 8);
	cr_assert_eq(admin(&t,
			   (struct nvme_sqe){.opcode = NVME_ADM_GET_FEATURES,
					     .cdw10 = NVME_FEAT_TIMESTAMP,
					     .prp1 = buf},
			   NULL),
		     0);
	memcpy(&ts, p, 6);
	cr_assert(ts >= 1000000 && ts < 1000000 + 5000, "ts %lu", (unsigned long)ts);
	cr_assert_eq((p[6] >> 1) & 7, 1, "origin: set by host");
	tn_destroy(&t);
}

Test(nvme_admin, log_pages_and_invalid_log_page)
{
	struct tnvme t;
	uint64_t buf;
	uint8_t *p;

	tn_start(&t);
	cr_assert_eq(tn_get_log(&t, NVME_LOG_SMART, NVME_NSID_ALL, 512, &buf), 0);
	p = tn_ptr(&t, buf);
	cr_assert((p[1] | p[2] << 8) > 273, "temperature in kelvin");
	cr_assert_eq(p[3], 100);
	cr_assert_eq(tn_get_log(&t, NVME_LOG_ERROR, 0, 64, &buf), 0);
	cr_assert_eq(tn_get_log(&t, NVME_LOG_FW_SLOT, 0, 512, &buf), 0);
	cr_assert_eq(((uint8_t *)tn_ptr(&t, buf))[0], 1);
	cr_assert_eq(tn_get_log(&t, NVME_LOG_CHANGED_NS, 0, 4096, &buf), 0);
	cr_assert_eq(tn_get_log(&t, NVME_LOG_CMD_EFFECTS, 0, 4096, &buf), 0);
	p = tn_ptr(&t, buf);
	cr_assert_eq(p[4 * NVME_ADM_IDENTIFY] & 1, 1);
	cr_assert_eq(p[1024 + 4 * NVME_CMD_WRITE] & 3, 3);
	cr_assert_eq(p[4 * 0x0d], 0, "namespace management not supported");
	cr_assert_eq(tn_get_log(&t, 0x70, 0, 512, &buf), NVME_SC_INVALID_LOG_PAGE);
	cr_assert_eq(tn_get_log(&t, NVME_LOG_SMART, 1, 512, &buf), NVME_SC_INVALID_FIELD);
	tn_destroy(&t);
}

Test(nvme_admin, abort_reports_not_aborted)
{
	struct tnvme t;
	uint32_t dw0;

	tn_start(&t);
	cr_assert_eq(
		admin(&t, (struct nvme_sqe){.opcode = NVME_ADM_ABORT, .cdw10 = 1 | 5 << 16}, &dw0),
		0);
	cr_assert_eq(dw0 & 1, 1);
	tn_destroy(&t);
}

Test(nvme_admin, aer_limit_exceeded_after_aerl_plus_one)
{
	struct tnvme t;
	struct nvme_cqe e;
	struct nvme_sqe cmd;

	tn_start(&t);
	for (int i = 0; i < 4; i++) {
		cmd = (struct nvme_sqe){.opcode = NVME_ADM_ASYNC_EVENT};
		tn_put(&t, 0, &cmd);
	}
	tn_ring_sq(&t, 0);
	cr_assert_not(tn_poll(&t, 0, NULL), "AERs stay outstanding");
	cr_assert_eq(tn_cmd(&t, 0, &(struct nvme_sqe){.opcode = NVME_ADM_ASYNC_EVENT}, &e),
		     NVME_SC_AER_LIMIT);
	cr_assert(e.status & (NVME_SC_DNR << 1));
	tn_destroy(&t);
}

Test(nvme_admin, invalid_doorbell_posts_error_event_to_outstanding_aer)
{
	struct tnvme t;
	struct nvme_cqe e;
	struct nvme_sqe cmd = {.opcode = NVME_ADM_ASYNC_EVENT};
	uint16_t cid;
	uint64_t buf;

	tn_start(&t);
	cid = tn_put(&t, 0, &cmd);
	tn_ring_sq(&t, 0);
	tn_wr32(&t, nvme_sq_doorbell_offset(t.c, 5), 1); /* no SQ 5 */
	cr_assert(tn_poll(&t, 0, &e));
	cr_assert_eq(e.cid, cid);
	cr_assert_eq(tn_status(&e), 0);
	cr_assert_eq(e.dw0 & 7, NVME_AER_TYPE_ERROR);
	cr_assert_eq((e.dw0 >> 8) & 0xff, NVME_AER_ERR_INVALID_DB_REG);
	cr_assert_eq((e.dw0 >> 16) & 0xff, NVME_LOG_ERROR);
	/* Masked until the error log is read: the next one waits. */
	cid = tn_put(&t, 0, &cmd);
	tn_ring_sq(&t, 0);
	tn_wr32(&t, nvme_sq_doorbell_offset(t.c, 1), 1000); /* value past the size */
	cr_assert_not(tn_poll(&t, 0, NULL));
	/* Reading the error log unmasks it: the AER completes ahead of Get Log Page. */
	buf = tn_alloc(&t, 4096, 4096);
	tn_put(&t, 0,
	       &(struct nvme_sqe){.opcode = NVME_ADM_GET_LOG_PAGE,
				  .prp1 = buf,
				  .cdw10 = NVME_LOG_ERROR | 15u << 16});
	tn_ring_sq(&t, 0);
	cr_assert(tn_poll(&t, 0, &e));
	cr_assert_eq(e.cid, cid);
	cr_assert_eq((e.dw0 >> 8) & 0xff, NVME_AER_ERR_INVALID_DB_VALUE);
	cr_assert(tn_poll(&t, 0, &e));
	cr_assert_eq(tn_status(&e), 0);
	cr_assert_eq(((uint8_t *)tn_ptr(&t, buf))[0], 2, "two error entries");
	tn_destroy(&t);
}

Test(nvme_admin, temperature_threshold_below_current_raises_smart_event)
{
	struct tnvme t;
	struct nvme_cqe e;
	struct nvme_sqe aer = {.opcode = NVME_ADM_ASYNC_EVENT};
	uint64_t buf;

	tn_start(&t);
	cr_assert_eq(admin(&t,
			   (struct nvme_sqe){.opcode = NVME_ADM_SET_FEATURES,
					     .cdw10 = NVME_FEAT_ASYNC_EVENT,
					     .cdw11 = 0x2},
			   NULL),
		     0);
	tn_put(&t, 0, &aer);
	tn_ring_sq(&t, 0);
	tn_put(&t, 0,
	       &(struct nvme_sqe){.opcode = NVME_ADM_SET_FEATURES,
				  .cdw10 = NVME_FEAT_TEMP_THRESH,
				  .cdw11 = 300});
	tn_ring_sq(&t, 0);
	cr_assert(tn_poll(&t, 0, &e));
	cr_assert_eq(e.dw0 & 7, NVME_AER_TYPE_SMART);
	cr_assert_eq((e.dw0 >> 16) & 0xff, NVME_LOG_SMART);
	cr_assert(tn_poll(&t, 0, &e));
	cr_assert_eq(tn_status(&e), 0);
	cr_assert_eq(tn_get_log(&t, NVME_LOG_SMART, NVME_NSID_ALL, 512, &buf), 0);
	cr_assert_eq(((uint8_t *)tn_ptr(&t, buf))[0] & 2, 2, "critical warning: temperature");
	tn_destroy(&t);
}

Test(nvme_admin, admin_sgl_is_invalid_field)
{
	struct tnvme t;
	struct nvme_sqe cmd = {.opcode = NVME_ADM_IDENTIFY, .flags = 1 << 6, .cdw10 = 1};

	tn_start(&t);
	cmd.prp1 = tn_alloc(&t, 4096, 4096);
	cr_assert_eq(tn_cmd(&t, 0, &cmd, NULL), NVME_SC_INVALID_FIELD);
	tn_destroy(&t);
}

Test(nvme_admin, format_zeroes_namespace_and_switches_lba_size)
{
	struct tnvme t;
	uint64_t buf = 0, id;
	uint8_t *p;

	tn_start(&t);
	buf = tn_alloc(&t, 8192, 4096);
	p = tn_ptr(&t, buf);
	memset(p, 0xab, 4096);
	cr_assert_eq(tn_rw(&t, NVME_CMD_WRITE, 1, 0, 8, buf, 0), 0);
	cr_assert_eq(admin(&t,
			   (struct nvme_sqe){.opcode = NVME_ADM_FORMAT_NVM, .nsid = 1, .cdw10 = 1},
			   NULL),
		     0);
	cr_assert_eq(tn_identify(&t, NVME_ID_CNS_NS, 1, &id), 0);
	cr_assert_eq(((uint8_t *)tn_ptr(&t, id))[26], 1);
	cr_assert_eq(tn_rw(&t, NVME_CMD_READ, 1, 0, 1, buf, 0), 0);
	for (int i = 0; i < 4096; i++)
		cr_assert_eq(p[i], 0);
	cr_assert_eq(admin(&t,
			   (struct nvme_sqe){.opcode = NVME_ADM_FORMAT_NVM, .nsid = 1, .cdw10 = 8},
			   NULL),
		     NVME_SC_INVALID_FORMAT); /* past NLBAF (7) */
	cr_assert_eq(
		admin(&t,
		      (struct nvme_sqe){.opcode = NVME_ADM_FORMAT_NVM, .nsid = 1, .cdw10 = 1u << 5},
		      NULL),
		NVME_SC_INVALID_FORMAT);
	cr_assert_eq(admin(&t, (struct nvme_sqe){.opcode = NVME_ADM_FORMAT_NVM, .nsid = 9}, NULL),
		     NVME_SC_INVALID_NS);
	tn_destroy(&t);
}
