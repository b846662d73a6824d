/* SPDX-License-Identifier: MIT */
/* Error injection into the NVMe model (devices/nvme/inject.h), as the guest sees it. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "devices/nvme/inject.h"
#include "tests/unit/test_nvme.h"
#include "vmm/ctl.h"
#include "vmm/util.h"

static void arm(struct tnvme *t, enum nvme_inject_kind kind, int opcode, int64_t nsid, int qid,
		uint32_t count, uint16_t status, uint32_t ms)
{
	struct nvme_inject_rule r = {kind, opcode, nsid, qid, count, status, ms};

	cr_assert_eq(nvme_inject_add(t->c, &r), 0);
}

static void stats(struct tnvme *t, struct nvme_inject_stats *st)
{
	struct nvme_inject_queue q[4];

	nvme_inject_stats(t->c, st, q, 4);
}

Test(ctl_nvme, failed_write_completes_with_the_status_and_is_not_executed)
{
	struct tnvme t;
	uint64_t buf, rb;
	struct nvme_inject_stats st;

	tn_start(&t);
	buf = tn_alloc(&t, 4096, 4096);
	rb = tn_alloc(&t, 4096, 4096);
	memset(tn_ptr(&t, buf), 0xaa, 4096);
	cr_assert_eq(tn_rw(&t, NVME_CMD_WRITE, 1, 0, 8, buf, 0), 0);
	memset(tn_ptr(&t, buf), 0x55, 4096);
	/* Media Errors (SCT 2) Write Fault (SC 80h), DNR */
	arm(&t, NVME_INJECT_FAIL, NVME_CMD_WRITE, NVME_INJECT_ANY, NVME_INJECT_ANY, 1,
	    1u << 14 | 2u << 8 | 0x80, 0);
	cr_assert_eq(tn_rw(&t, NVME_CMD_WRITE, 1, 0, 8, buf, 0), 0x280);
	cr_assert_eq(tn_rw(&t, NVME_CMD_READ, 1, 0, 8, rb, 0), 0);
	cr_assert_eq(((uint8_t *)tn_ptr(&t, rb))[0], 0xaa, "the failed write reached the media");
	cr_assert_eq(((uint8_t *)tn_ptr(&t, rb))[4095], 0xaa);
	/* count 1: the next write runs */
	cr_assert_eq(tn_rw(&t, NVME_CMD_WRITE, 1, 0, 8, buf, 0), 0);
	cr_assert_eq(tn_rw(&t, NVME_CMD_READ, 1, 0, 8, rb, 0), 0);
	cr_assert_eq(((uint8_t *)tn_ptr(&t, rb))[0], 0x55);
	stats(&t, &st);
	cr_assert_eq(st.fired, 1);
	cr_assert_eq(st.armed, 0);
	tn_destroy(&t);
}

Test(ctl_nvme, the_dnr_bit_reaches_the_cqe)
{
	struct tnvme t;
	struct nvme_sqe cmd = {.opcode = NVME_CMD_FLUSH, .nsid = 1};
	struct nvme_cqe e;

	tn_start(&t);
	arm(&t, NVME_INJECT_FAIL, NVME_INJECT_ANY, NVME_INJECT_ANY, 1, 1, 1u << 14 | 0x06, 0);
	cr_assert_eq(tn_cmd(&t, 1, &cmd, &e), 0x06);
	cr_assert(e.status & (1u << 15), "DNR (status bit 14, CQE DW3 bit 31) not set");
	tn_destroy(&t);
}

Test(ctl_nvme, count_runs_down_exactly)
{
	struct tnvme t;
	struct nvme_sqe cmd = {.opcode = NVME_CMD_FLUSH, .nsid = 1};

	tn_start(&t);
	arm(&t, NVME_INJECT_FAIL, NVME_CMD_FLUSH, NVME_INJECT_ANY, NVME_INJECT_ANY, 3, 0x06, 0);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(tn_cmd(&t, 1, &cmd, NULL), 0x06, "flush %d", i);
	cr_assert_eq(tn_cmd(&t, 1, &cmd, NULL), 0);
	cr_assert_eq(tn_cmd(&t, 1, &cmd, NULL), 0);
	tn_destroy(&t);
}

Test(ctl_nvme, match_filters_opcode_nsid_and_queue)
{
	struct tnvme t;
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[2];
	struct nvme_sqe flush1 = {.opcode = NVME_CMD_FLUSH, .nsid = 1};
	struct nvme_sqe flush2 = {.opcode = NVME_CMD_FLUSH, .nsid = 2};
	struct nvme_sqe getf = {.opcode = NVME_ADM_GET_FEATURES, .cdw10 = NVME_FEAT_ARBITRATION};
	uint64_t buf;

	tn_config(&cfg, ns, 2);
	tn_start_cfg(&t, &cfg);
	buf = tn_alloc(&t, 4096, 4096);
	/* nsid 2 flushes only */
	arm(&t, NVME_INJECT_FAIL, NVME_CMD_FLUSH, 2, NVME_INJECT_ANY, 1, 0x06, 0);
	cr_assert_eq(tn_rw(&t, NVME_CMD_READ, 2, 0, 1, buf, 0), 0); /* other opcode */
	cr_assert_eq(tn_cmd(&t, 1, &flush1, NULL), 0);		    /* other nsid */
	cr_assert_eq(tn_cmd(&t, 1, &flush2, NULL), 0x06);
	/* the admin queue (qid 0) only: an I/O flush passes, Get Features fails */
	arm(&t, NVME_INJECT_FAIL, NVME_INJECT_ANY, NVME_INJECT_ANY, 0, 1, 0x02, 0);
	cr_assert_eq(tn_cmd(&t, 1, &flush1, NULL), 0);
	cr_assert_eq(tn_cmd(&t, 0, &getf, NULL), 0x02);
	cr_assert_eq(tn_cmd(&t, 0, &getf, NULL), 0);
	tn_destroy(&t);
}

Test(ctl_nvme, clear_disarms_everything)
{
	struct tnvme t;
	struct nvme_sqe cmd = {.opcode = NVME_CMD_FLUSH, .nsid = 1};

	tn_start(&t);
	arm(&t, NVME_INJECT_FAIL, NVME_INJECT_ANY, NVME_INJECT_ANY, NVME_INJECT_ANY, 100, 6, 0);
	arm(&t, NVME_INJECT_DROP, NVME_INJECT_ANY, NVME_INJECT_ANY, NVME_INJECT_ANY, 100, 0, 0);
	nvme_inject_clear(t.c);
	cr_assert_eq(tn_cmd(&t, 1, &cmd, NULL), 0);
	tn_destroy(&t);
}

Test(ctl_nvme, dropped_command_runs_but_posts_no_cqe)
{
	struct tnvme t;
	uint64_t buf, rb;
	struct nvme_cqe e;
	struct nvme_sqe flush = {.opcode = NVME_CMD_FLUSH, .nsid = 1};
	struct nvme_sqe abort_cmd = {.opcode = NVME_ADM_ABORT};
	uint16_t cid;

	tn_start(&t);
	buf = tn_alloc(&t, 4096, 4096);
	rb = tn_alloc(&t, 4096, 4096);
	memset(tn_ptr(&t, buf), 0x77, 4096);
	arm(&t, NVME_INJECT_DROP, NVME_CMD_WRITE, NVME_INJECT_ANY, 1, 1, 0, 0);
	{
		struct nvme_sqe w = {.opcode = NVME_CMD_WRITE, .nsid = 1, .prp1 = buf, .cdw12 = 7};

		cid = tn_put(&t, 1, &w);
		tn_ring_sq(&t, 1);
	}
	nvme_process(t.c);
	cr_assert(!tn_poll(&t, 1, &e), "a dropped command posted a CQE");
	/* Executed: the data is on the media. */
	cr_assert_eq(tn_rw(&t, NVME_CMD_READ, 1, 0, 8, rb, 0), 0);
	cr_assert_eq(((uint8_t *)tn_ptr(&t, rb))[100], 0x77);
	/* The queue goes on; the next CQE is the flush's. */
	cr_assert_eq(tn_cmd(&t, 1, &flush, NULL), 0);
	/* Abort of the dropped command (NVMe 1.4 5.1): DW0 bit 0 = 0, aborted; the command
	 * completes with Command Abort Requested. */
	abort_cmd.cdw10 = 1u | (uint32_t)cid << 16;
	cr_assert_eq(tn_cmd(&t, 0, &abort_cmd, &e), 0);
	cr_assert_eq(e.dw0 & 1, 0, "not aborted");
	cr_assert(tn_poll(&t, 1, &e), "the aborted command did not complete");
	cr_assert_eq(e.cid, cid);
	cr_assert_eq(tn_status(&e), NVME_SC_ABORT_REQ);
	/* Again: nothing left to abort. */
	cr_assert_eq(tn_cmd(&t, 0, &abort_cmd, &e), 0);
	cr_assert_eq(e.dw0 & 1, 1);
	tn_destroy(&t);
}

Test(ctl_nvme, abort_of_an_unknown_command_is_not_aborted)
{
	struct tnvme t;
	struct nvme_sqe abort_cmd = {.opcode = NVME_ADM_ABORT, .cdw10 = 1u | 77u << 16};
	struct nvme_cqe e;

	tn_start(&t);
	cr_assert_eq(tn_cmd(&t, 0, &abort_cmd, &e), 0);
	cr_assert_eq(e.dw0 & 1, 1);
	tn_destroy(&t);
}

Test(ctl_nvme, cfs_shows_in_csts_and_a_reset_clears_it)
{
	struct tnvme t;

	tn_start(&t);
	cr_assert_eq(tn_rd32(&t, NVME_REG_CSTS) & NVME_CSTS_CFS, 0);
	nvme_inject_cfs(t.c);
	cr_assert(tn_rd32(&t, NVME_REG_CSTS) & NVME_CSTS_CFS);
	tn_wr32(&t, NVME_REG_CC, tn_rd32(&t, NVME_REG_CC) & ~NVME_CC_EN);
	cr_assert_eq(tn_rd32(&t, NVME_REG_CSTS) & (NVME_CSTS_CFS | NVME_CSTS_RDY), 0);
	tn_enable_linux(&t, 32);
	cr_assert_eq(tn_rd32(&t, NVME_REG_CSTS) & (NVME_CSTS_CFS | NVME_CSTS_RDY), NVME_CSTS_RDY);
	tn_destroy(&t);
}

/* Submit a flush with a delay of `ms`; returns how long until its CQE showed (ms). */
static uint64_t delayed_flush(struct tnvme *t, unsigned ms, bool process)
{
	struct nvme_sqe flush = {.opcode = NVME_CMD_FLUSH, .nsid = 1};
	struct nvme_sqe other = {.opcode = NVME_CMD_FLUSH, .nsid = 1};
	struct nvme_cqe e;
	uint64_t t0 = time_ns();
	uint16_t cid;

	arm(t, NVME_INJECT_DELAY, NVME_CMD_FLUSH, NVME_INJECT_ANY, 1, 1, 0, ms);
	cid = tn_put(t, 1, &flush);
	tn_ring_sq(t, 1);
	cr_assert(!tn_poll(t, 1, &e), "posted at once");
	/* The admin queue is not held up meanwhile. */
	cr_assert_eq(tn_cmd(t, 0,
			    &(struct nvme_sqe){.opcode = NVME_ADM_GET_FEATURES,
					       .cdw10 = NVME_FEAT_ARBITRATION},
			    NULL),
		     0);
	for (int i = 0; i < 4000; i++) {
		if (process)
			nvme_process(t->c);
		if (tn_poll(t, 1, &e))
			break;
		usleep(1000);
	}
	cr_assert_eq(e.cid, cid, "no CQE after 4 s");
	cr_assert_eq(tn_status(&e), 0);
	(void)other;
	return (time_ns() - t0) / 1000000;
}

Test(ctl_nvme, delay_posts_later_on_the_io_thread)
{
	struct tnvme t;
	uint64_t ms;

	tn_start(&t);
	ms = delayed_flush(&t, 50, false);
	cr_assert_geq(ms, 50);
	tn_destroy(&t);
}

Test(ctl_nvme, delay_posts_later_without_an_io_thread)
{
	struct tnvme t;
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[1];
	struct nvme_inject_stats st;
	uint64_t ms;

	tn_config(&cfg, ns, 1);
	cfg.no_iothread = true;
	tn_start_cfg(&t, &cfg);
	ms = delayed_flush(&t, 30, true);
	cr_assert_geq(ms, 30);
	stats(&t, &st);
	cr_assert_eq(st.delayed, 0);
	cr_assert_eq(st.fired, 1);
	tn_destroy(&t);
}

Test(ctl_nvme, a_reset_forgets_delayed_and_dropped_commands)
{
	struct tnvme t;
	struct nvme_sqe flush = {.opcode = NVME_CMD_FLUSH, .nsid = 1};
	struct nvme_inject_stats st;

	tn_start(&t);
	arm(&t, NVME_INJECT_DELAY, NVME_INJECT_ANY, NVME_INJECT_ANY, 1, 4, 0, 10000);
	arm(&t, NVME_INJECT_DROP, NVME_INJECT_ANY, NVME_INJECT_ANY, 1, 3, 0, 0);
	for (int i = 0; i < 7; i++)
		tn_put(&t, 1, &flush);
	tn_ring_sq(&t, 1);
	stats(&t, &st);
	cr_assert_eq(st.delayed, 4);
	cr_assert_eq(st.dropped, 3);
	cr_assert_eq(st.fired, 7);
	tn_wr32(&t, NVME_REG_CC, tn_rd32(&t, NVME_REG_CC) & ~NVME_CC_EN);
	stats(&t, &st);
	cr_assert_eq(st.delayed, 0);
	cr_assert_eq(st.dropped, 0);
	tn_destroy(&t); /* ASan: nothing dangles */
}

Test(ctl_nvme, destroy_with_commands_held_back_frees_everything)
{
	struct tnvme t;
	struct nvme_sqe flush = {.opcode = NVME_CMD_FLUSH, .nsid = 1};

	tn_start(&t);
	arm(&t, NVME_INJECT_DELAY, NVME_INJECT_ANY, NVME_INJECT_ANY, 1, 1, 0, 10000);
	arm(&t, NVME_INJECT_DROP, NVME_INJECT_ANY, NVME_INJECT_ANY, 1, 1, 0, 0);
	tn_put(&t, 1, &flush);
	tn_put(&t, 1, &flush);
	tn_ring_sq(&t, 1);
	tn_destroy(&t);
}

Test(ctl_nvme, through_the_control_request)
{
	struct tnvme t;
	struct ctl_dev dev;
	struct ctl_target tg = {&dev, 1};
	struct nvme_sqe flush = {.opcode = NVME_CMD_FLUSH, .nsid = 1};
	char reply[4096];
	const char *req = "{\"cmd\":\"nvme_fail\",\"ctrl\":\"nvme0\",\"opcode\":0,\"qid\":1,"
			  "\"count\":2}";
	const char *cfs = "{\"cmd\":\"nvme_cfs\",\"ctrl\":\"nvme0\"}";

	tn_start(&t);
	dev = (struct ctl_dev){"nvme0", "nvme", NULL, t.c};
	cr_assert(ctl_handle(&tg, req, strlen(req), reply, sizeof(reply)), "%s", reply);
	cr_assert_eq(tn_cmd(&t, 1, &flush, NULL), NVME_SC_INTERNAL); /* the default status */
	cr_assert_eq(tn_cmd(&t, 1, &flush, NULL), NVME_SC_INTERNAL);
	cr_assert_eq(tn_cmd(&t, 1, &flush, NULL), 0);
	cr_assert(ctl_handle(&tg, "{\"cmd\":\"info\"}", 14, reply, sizeof(reply)));
	cr_assert(strstr(reply, "\"faults\":2"), "%s", reply);
	cr_assert(ctl_handle(&tg, cfs, strlen(cfs), reply, sizeof(reply)));
	cr_assert(tn_rd32(&t, NVME_REG_CSTS) & NVME_CSTS_CFS);
	tn_destroy(&t);
}
