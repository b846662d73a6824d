/* SPDX-License-Identifier: MIT */
/* Doorbell Buffer Config (NVMe 1.4 5.8): shadow doorbells and EventIdx, with the in-test
 * driver ringing only when nvme_dbbuf_need_event says so. */
#include <criterion/criterion.h>
#include <string.h>

#include "tests/unit/test_nvme_async.h"

static void null_cfg(struct nvme_ctrl_config *cfg, struct nvme_ns_config *ns, bool thread,
		     uint32_t poll_us)
{
	tn_config(cfg, ns, 1);
	ns[0].backend = "null";
	cfg->no_iothread = !thread;
	cfg->poll_idle_us = poll_us;
}

static struct nvme_sqe read_cmd(uint64_t buf)
{
	struct nvme_sqe cmd;

	ta_rw_cmd(&cmd, NVME_CMD_READ, 0, 8, buf, 4096);
	return cmd;
}

Test(nvme_dbbuf, identify_advertises_oacs_dbbuf)
{
	struct tnvme t;
	uint64_t id;

	tn_start(&t);
	cr_assert_eq(tn_identify(&t, NVME_ID_CNS_CTRL, 0, &id), 0);
	cr_assert(*(uint16_t *)tn_ptr(&t, id + 256) & (1u << 8));
	tn_destroy(&t);
}

Test(nvme_dbbuf, bad_buffer_addresses_are_invalid_field)
{
	struct tnvme t;
	struct nvme_sqe cmd = {.opcode = NVME_ADM_DBBUF_CONFIG};
	uint64_t a, b;

	tn_start(&t);
	a = tn_alloc(&t, 4096, 4096);
	b = tn_alloc(&t, 4096, 4096);
	cmd.prp1 = a + 8;
	cmd.prp2 = b;
	cr_assert_eq(tn_cmd(&t, 0, &cmd, NULL), NVME_SC_INVALID_FIELD);
	cmd.prp1 = a;
	cmd.prp2 = TN_BASE + TN_SIZE; /* outside memory */
	cr_assert_eq(tn_cmd(&t, 0, &cmd, NULL), NVME_SC_INVALID_FIELD);
	cmd.prp2 = 0;
	cr_assert_eq(tn_cmd(&t, 0, &cmd, NULL), NVME_SC_INVALID_FIELD);
	cmd.prp2 = b;
	cr_assert_eq(tn_cmd(&t, 0, &cmd, NULL), 0);
	tn_destroy(&t);
}

/* Without the I/O thread every doorbell is trapped; the controller reads the shadow and
 * moves EventIdx so that the next submission rings again. A batch rings once. */
Test(nvme_dbbuf, trapped_doorbells_read_the_shadow_tail)
{
	struct ta_host h;
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[1];
	uint64_t buf;

	null_cfg(&cfg, ns, false, 0);
	ta_start(&h, &cfg, 64);
	cr_assert_eq(ta_dbbuf_config(&h), 0);
	buf = tn_alloc(&h.t, 4096, 4096);
	for (int i = 0; i < 10; i++) {
		struct nvme_sqe cmd = read_cmd(buf);
		struct nvme_cqe e;

		ta_db_submit(&h, 1, &cmd);
		cr_assert(ta_db_reap(&h, 1, &e));
		cr_assert_eq(tn_status(&e), 0);
	}
	cr_assert_eq(h.rings_sq, 10);
	/* A batch of 20: one doorbell. */
	for (int i = 0; i < 20; i++) {
		struct nvme_sqe cmd = read_cmd(buf);
		uint16_t old = h.t.q[1].sq_tail;

		tn_put(&h.t, 1, &cmd);
		(void)old;
	}
	ta_db_update(&h, 2, 10, h.t.q[1].sq_tail, &h.rings_sq);
	for (int i = 0; i < 20; i++)
		cr_assert(ta_db_reap(&h, 1, NULL));
	cr_assert_eq(h.rings_sq, 11);
	/* CQ head doorbells are not needed while no completion waits for room. */
	cr_assert_eq(h.rings_cq, 0);
	ta_destroy(&h);
}

/* The register value is only a notification once the shadow buffer is on. */
Test(nvme_dbbuf, register_value_is_ignored_for_io_queues)
{
	struct ta_host h;
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[1];
	struct nvme_sqe cmd;
	uint64_t buf;

	null_cfg(&cfg, ns, false, 0);
	ta_start(&h, &cfg, 64);
	cr_assert_eq(ta_dbbuf_config(&h), 0);
	buf = tn_alloc(&h.t, 4096, 4096);
	cmd = read_cmd(buf);
	tn_put(&h.t, 1, &cmd);
	*ta_shadow(&h, 2) = 1;
	tn_wr32(&h.t, NVME_REG_DBS + 8, 5); /* a lying register value */
	cr_assert(ta_db_reap(&h, 1, NULL));
	cr_assert_eq(h.t.c->sq[1]->tail, 1);
	ta_destroy(&h);
}

Test(nvme_dbbuf, invalid_shadow_tail_is_ignored_and_reported)
{
	struct ta_host h;
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[1];
	uint64_t log;

	null_cfg(&cfg, ns, false, 0);
	ta_start(&h, &cfg, 64);
	cr_assert_eq(ta_dbbuf_config(&h), 0);
	*ta_shadow(&h, 2) = 64; /* == size: out of range */
	tn_wr32(&h.t, NVME_REG_DBS + 8, 0);
	tn_wr32(&h.t, NVME_REG_DBS + 8, 0);
	cr_assert_eq(h.t.c->sq[1]->tail, 0);
	cr_assert_eq(tn_get_log(&h.t, NVME_LOG_ERROR, 0, 64, &log), 0);
	cr_assert_eq(*(uint64_t *)tn_ptr(&h.t, log), 1, "reported once");
	ta_destroy(&h);
}

/* With a polling I/O thread, a busy host hardly rings at all: EventIdx stays behind. */
Test(nvme_dbbuf, polling_thread_suppresses_doorbells, .timeout = 30)
{
	struct ta_host h;
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[1];
	uint64_t buf;
	const int n = 2000;

	null_cfg(&cfg, ns, true, 5000000); /* 5 s window: the whole loop is one busy period */
	ta_start(&h, &cfg, 64);
	cr_assert_eq(ta_dbbuf_config(&h), 0);
	cr_assert_geq(ta_efd_at(&h, NVME_REG_DBS + 8), 0, "SQ 1 tail doorbell is an ioeventfd");
	cr_assert_geq(ta_efd_at(&h, NVME_REG_DBS + 12), 0, "CQ 1 head doorbell is an ioeventfd");
	buf = tn_alloc(&h.t, 4096, 4096);
	for (int i = 0; i < n; i++) {
		struct nvme_sqe cmd = read_cmd(buf);
		struct nvme_cqe e;

		ta_db_submit(&h, 1, &cmd);
		cr_assert(ta_db_reap(&h, 1, &e), "command %d stranded", i);
		cr_assert_eq(tn_status(&e), 0);
	}
	cr_assert_eq(h.rings_trapped, 0);
	cr_assert_leq(h.rings_sq + h.rings_cq, 20, "%u SQ + %u CQ doorbells for %d commands",
		      h.rings_sq, h.rings_cq, n);
	ta_destroy(&h);
}

/* Never polling: the thread arms EventIdx and sleeps after each command; the host's next
 * submission rings the ioeventfd and nothing is ever stranded. */
Test(nvme_dbbuf, sleeping_thread_is_woken_by_the_ioeventfd, .timeout = 30)
{
	struct ta_host h;
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[1];
	uint64_t buf;
	const int n = 500;

	null_cfg(&cfg, ns, true, NVME_POLL_OFF);
	ta_start(&h, &cfg, 16);
	cr_assert_eq(ta_dbbuf_config(&h), 0);
	buf = tn_alloc(&h.t, 4096, 4096);
	for (int i = 0; i < n; i++) {
		struct nvme_sqe cmd = read_cmd(buf);
		int k = i % 7 == 0 ? 2 : 1; /* sometimes two in flight */

		for (int j = 0; j < k; j++)
			ta_db_submit(&h, 1, &cmd);
		for (int j = 0; j < k; j++)
			cr_assert(ta_db_reap(&h, 1, NULL), "command %d stranded", i);
	}
	cr_assert_eq(h.rings_trapped, 0);
	cr_assert_geq(h.rings_sq, 1);
	cr_assert_geq(h.t.c->ring->doorbell_events, 1);
	ta_destroy(&h);
}

/* A full CQ: completions wait; the host's head update must reach the controller. */
Test(nvme_dbbuf, full_cq_asks_for_the_head_doorbell, .timeout = 30)
{
	struct ta_host h;
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[1];
	uint64_t buf;

	null_cfg(&cfg, ns, true, NVME_POLL_OFF);
	ta_create(&h, &cfg);
	tn_enable_linux(&h.t, 32);
	cr_assert_eq(tn_create_cq(&h.t, 1, 4, true, 1), 0); /* room for 3 */
	cr_assert_eq(tn_create_sq(&h.t, 1, 1, 16), 0);
	cr_assert_eq(ta_dbbuf_config(&h), 0);
	buf = tn_alloc(&h.t, 4096, 4096);
	for (int i = 0; i < 8; i++) {
		struct nvme_sqe cmd = read_cmd(buf);

		ta_db_submit(&h, 1, &cmd);
	}
	for (int i = 0; i < 8; i++)
		cr_assert(ta_db_reap(&h, 1, NULL), "completion %d never came", i);
	cr_assert_geq(h.rings_cq, 1);
	ta_destroy(&h);
}

Test(nvme_dbbuf, reset_turns_shadow_doorbells_and_ioeventfds_off)
{
	struct ta_host h;
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[1];
	uint64_t buf;

	null_cfg(&cfg, ns, true, 0);
	ta_start(&h, &cfg, 64);
	cr_assert_eq(ta_dbbuf_config(&h), 0);
	cr_assert_eq(h.nefd, 2);
	tn_wr32(&h.t, NVME_REG_CC, tn_rd32(&h.t, NVME_REG_CC) & ~NVME_CC_EN);
	cr_assert_eq(h.nefd, 0);
	cr_assert_not(h.t.c->dbbuf.enabled);
	/* Afterwards the register value counts again. */
	tn_enable_linux(&h.t, 32);
	cr_assert_eq(tn_create_cq(&h.t, 1, 64, true, 1), 0);
	cr_assert_eq(tn_create_sq(&h.t, 1, 1, 64), 0);
	cr_assert_eq(h.nefd, 0);
	buf = tn_alloc(&h.t, 4096, 4096);
	cr_assert_eq(tn_rw(&h.t, NVME_CMD_READ, 1, 0, 8, buf, 0), 0);
	ta_destroy(&h);
}

Test(nvme_dbbuf, queues_created_later_get_ioeventfds_and_lose_them_on_delete)
{
	struct ta_host h;
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[1];
	struct nvme_sqe del = {.opcode = NVME_ADM_DELETE_SQ, .cdw10 = 2};

	null_cfg(&cfg, ns, true, 0);
	ta_start(&h, &cfg, 64);
	cr_assert_eq(ta_dbbuf_config(&h), 0);
	cr_assert_eq(tn_create_cq(&h.t, 2, 16, true, 2), 0);
	cr_assert_eq(tn_create_sq(&h.t, 2, 2, 16), 0);
	cr_assert_geq(ta_efd_at(&h, NVME_REG_DBS + 16), 0);
	cr_assert_geq(ta_efd_at(&h, NVME_REG_DBS + 20), 0);
	cr_assert_eq(tn_cmd(&h.t, 0, &del, NULL), 0);
	cr_assert_lt(ta_efd_at(&h, NVME_REG_DBS + 16), 0);
	del.opcode = NVME_ADM_DELETE_CQ;
	cr_assert_eq(tn_cmd(&h.t, 0, &del, NULL), 0);
	cr_assert_lt(ta_efd_at(&h, NVME_REG_DBS + 20), 0);
	cr_assert_eq(h.nefd, 2);
	ta_destroy(&h);
	cr_assert_eq(h.assigned, h.deassigned);
}
