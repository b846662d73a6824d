/* SPDX-License-Identifier: MIT */
/* Queues: phase tags, SQHD, CQ full, interrupts, hostile doorbells, and a fuzz loop. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/test_nvme.h"

static struct nvme_sqe flush_cmd(void)
{
	return (struct nvme_sqe){.opcode = NVME_CMD_FLUSH, .nsid = 1};
}

Test(nvme_queue, phase_flips_after_wrap_and_sqhd_follows)
{
	struct tnvme t;
	struct nvme_sqe cmd;

	tn_start(&t);
	/* 64-entry queues: 200 commands wrap both several times; tn_cmd checks SQHD/CID. */
	for (int i = 0; i < 200; i++) {
		cmd = flush_cmd();
		cr_assert_eq(tn_cmd(&t, 1, &cmd, NULL), 0);
	}
	tn_destroy(&t);
}

Test(nvme_queue, interrupt_raised_on_the_cq_vector_only_when_enabled)
{
	struct tnvme t;
	struct nvme_sqe cmd = flush_cmd();

	tn_start(&t);
	memset(t.irqs, 0, sizeof(t.irqs));
	cr_assert_eq(tn_cmd(&t, 1, &cmd, NULL), 0);
	cr_assert_eq(t.irqs[1], 1);
	cr_assert_eq(t.irqs[0], 0);
	/* Queue pair 2 with interrupts off (SeaBIOS style) */
	cr_assert_eq(tn_create_cq(&t, 2, 8, false, 2), 0);
	cr_assert_eq(tn_create_sq(&t, 2, 2, 8), 0);
	memset(t.irqs, 0, sizeof(t.irqs));
	cmd = flush_cmd();
	cr_assert_eq(tn_cmd(&t, 2, &cmd, NULL), 0);
	cr_assert_eq(t.irqs[2], 0);
	tn_destroy(&t);
}

Test(nvme_queue, full_cq_holds_completions_until_head_moves)
{
	struct tnvme t;
	struct nvme_cqe e;
	struct nvme_sqe cmd;
	uint16_t cids[10];

	tn_start(&t);
	/* 4-entry CQ (3 usable), 16-entry SQ feeding it */
	cr_assert_eq(tn_create_cq(&t, 2, 4, true, 2), 0);
	cr_assert_eq(tn_create_sq(&t, 2, 2, 16), 0);
	for (int i = 0; i < 10; i++) {
		cmd = flush_cmd();
		cids[i] = tn_put(&t, 2, &cmd);
	}
	tn_ring_sq(&t, 2);
	/* Read three without ringing the head doorbell: the fourth must not appear. */
	for (int i = 0; i < 3; i++) {
		const struct nvme_cqe *p = tn_ptr(&t, t.q[2].cq + i * 16);

		cr_assert_eq(p->status & 1, 1);
		cr_assert_eq(p->cid, cids[i], "entry %d: cid %u, expected %u", i, p->cid, cids[i]);
	}
	cr_assert_eq(((const struct nvme_cqe *)tn_ptr(&t, t.q[2].cq + 48))->status & 1, 0);
	/* Now consume with doorbells: all ten arrive in order. */
	for (int i = 0; i < 10; i++) {
		cr_assert(tn_poll(&t, 2, &e), "completion %d", i);
		cr_assert_eq(e.cid, cids[i]);
		cr_assert_eq(tn_status(&e), 0);
	}
	cr_assert_not(tn_poll(&t, 2, &e));
	tn_destroy(&t);
}

Test(nvme_queue, doorbells_before_ready_do_nothing)
{
	struct tnvme t;
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[1];

	tn_config(&cfg, ns, 1);
	tn_create(&t, &cfg);
	for (uint16_t q = 0; q < 12; q++) {
		tn_wr32(&t, nvme_sq_doorbell_offset(t.c, q), 5);
		tn_wr32(&t, nvme_sq_doorbell_offset(t.c, q) + 4, 5);
	}
	cr_assert_eq(t.nirq, 0);
	tn_enable_linux(&t, 8);
	cr_assert_eq(tn_rd32(&t, NVME_REG_CSTS), NVME_CSTS_RDY);
	tn_destroy(&t);
}

Test(nvme_queue, hostile_doorbell_values_are_ignored)
{
	struct tnvme t;
	struct nvme_sqe cmd = flush_cmd();

	tn_start(&t);
	tn_wr32(&t, nvme_sq_doorbell_offset(t.c, 1), 64);	     /* tail == size */
	tn_wr32(&t, nvme_sq_doorbell_offset(t.c, 1), 0xffffffff);    /* way past */
	tn_wr32(&t, nvme_sq_doorbell_offset(t.c, 1) + 4, 30);	     /* head past tail */
	tn_wr32(&t, nvme_sq_doorbell_offset(t.c, 7), 1);	     /* no such SQ */
	tn_wr32(&t, nvme_sq_doorbell_offset(t.c, 7) + 4, 1);	     /* no such CQ */
	nvme_bar0_write(t.c, nvme_sq_doorbell_offset(t.c, 1), 1, 2); /* wrong size */
	nvme_bar0_write(t.c, nvme_sq_doorbell_offset(t.c, 1) + 2, 1, 4);
	cr_assert_eq(tn_rd32(&t, NVME_REG_CSTS), NVME_CSTS_RDY);
	/* The queue still works */
	cr_assert_eq(tn_cmd(&t, 1, &cmd, NULL), 0);
	tn_destroy(&t);
}

Test(nvme_queue, doorbell_to_a_deleted_sq_is_ignored)
{
	struct tnvme t;

	tn_start(&t);
	cr_assert_eq(
		tn_cmd(&t, 0, &(struct nvme_sqe){.opcode = NVME_ADM_DELETE_SQ, .cdw10 = 1}, NULL),
		0);
	tn_wr32(&t, nvme_sq_doorbell_offset(t.c, 1), 3);
	cr_assert_eq(tn_rd32(&t, NVME_REG_CSTS), NVME_CSTS_RDY);
	tn_destroy(&t);
}

Test(nvme_queue, delete_sq_drops_held_completions)
{
	struct tnvme t;
	struct nvme_sqe cmd;

	tn_start(&t);
	cr_assert_eq(tn_create_cq(&t, 2, 2, false, 0), 0);
	cr_assert_eq(tn_create_sq(&t, 2, 2, 8), 0);
	for (int i = 0; i < 5; i++) {
		cmd = flush_cmd();
		tn_put(&t, 2, &cmd);
	}
	tn_ring_sq(&t, 2); /* 1 posted, 4 held */
	cr_assert_eq(
		tn_cmd(&t, 0, &(struct nvme_sqe){.opcode = NVME_ADM_DELETE_SQ, .cdw10 = 2}, NULL),
		0);
	cr_assert_eq(
		tn_cmd(&t, 0, &(struct nvme_sqe){.opcode = NVME_ADM_DELETE_CQ, .cdw10 = 2}, NULL),
		0);
	tn_destroy(&t);
}

Test(nvme_queue, reset_with_held_completions_and_pending_aers)
{
	struct tnvme t;
	struct nvme_sqe cmd;

	tn_start(&t);
	cr_assert_eq(tn_create_cq(&t, 2, 2, false, 0), 0);
	cr_assert_eq(tn_create_sq(&t, 2, 2, 8), 0);
	for (int i = 0; i < 5; i++) {
		cmd = flush_cmd();
		tn_put(&t, 2, &cmd);
	}
	tn_ring_sq(&t, 2);
	cmd = (struct nvme_sqe){.opcode = NVME_ADM_ASYNC_EVENT};
	tn_put(&t, 0, &cmd);
	tn_ring_sq(&t, 0);
	tn_wr32(&t, NVME_REG_CC, 0);
	cr_assert_eq(tn_rd32(&t, NVME_REG_CSTS), 0);
	tn_enable_seabios(&t, 4);
	cr_assert_eq(tn_create_cq(&t, 2, 2, false, 0), 0);
	tn_destroy(&t);
}

/* xorshift64*: a fixed seed keeps the fuzz loop reproducible. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

static uint64_t fuzz_addr(struct tnvme *t, uint64_t *s)
{
	switch (rnd(s) % 6) {
	case 0:
		return rnd(s);
	case 1:
		return TN_BASE + TN_SIZE - (rnd(s) % 8192);
	case 2:
		return 0;
	default:
		return TN_BASE + (rnd(s) % TN_SIZE);
	}
}

static void fuzz_queue(uint16_t qid, unsigned iterations, uint64_t seed)
{
	struct tnvme t;
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[2];
	uint64_t s = seed;
	static const uint8_t admin_ops[] = {0x00, 0x01, 0x02, 0x04, 0x05, 0x06, 0x08,
					    0x09, 0x0a, 0x0c, 0x80, 0x7c, 0x11};
	static const uint8_t io_ops[] = {0x00, 0x01, 0x02, 0x05, 0x08, 0x09, 0x0c, 0x04, 0x99};

	tn_config(&cfg, ns, 2);
	ns[1].lba_size = 4096;
	cfg.mdts_kib = 64;
	tn_start_cfg(&t, &cfg);
	for (unsigned i = 0; i < iterations; i++) {
		struct nvme_sqe cmd;
		uint32_t *w = (uint32_t *)&cmd;

		for (int k = 0; k < 16; k++)
			w[k] = (uint32_t)rnd(&s);
		cmd.opcode = qid ? io_ops[rnd(&s) % sizeof(io_ops)]
				 : admin_ops[rnd(&s) % sizeof(admin_ops)];
		if (rnd(&s) % 4)
			cmd.flags &= 0xc0;
		if (rnd(&s) % 2)
			cmd.flags &= 0x3f;
		cmd.nsid = (uint32_t)(rnd(&s) % 4);
		cmd.prp1 = fuzz_addr(&t, &s);
		cmd.prp2 = fuzz_addr(&t, &s);
		if (qid) {
			cmd.cdw12 &= 0xffff00ffu | (rnd(&s) % 2 ? 0 : 0xff00); /* mostly small */
			cmd.cdw11 = rnd(&s) % 8 ? 0 : cmd.cdw11;
			cmd.cdw10 %= 4096;
		} else if (cmd.opcode == NVME_ADM_CREATE_SQ || cmd.opcode == NVME_ADM_CREATE_CQ ||
			   cmd.opcode == NVME_ADM_DELETE_SQ || cmd.opcode == NVME_ADM_DELETE_CQ) {
			/* Never touch the queue pair the loop itself uses. */
			if ((cmd.cdw10 & 0xffff) == 1)
				cmd.cdw10 += 1;
			if (rnd(&s) % 2)
				cmd.cdw10 = (cmd.cdw10 & 0xffff0000u) | (uint32_t)(rnd(&s) % 10);
		}
		if (cmd.opcode == NVME_ADM_ASYNC_EVENT && !qid)
			cmd.opcode = NVME_ADM_IDENTIFY; /* an AER would never complete */
		if (cmd.opcode == NVME_ADM_SET_FEATURES && (cmd.cdw10 & 0xff) == 0x09)
			cmd.cdw11 &= ~(1u << 16);
		tn_cmd(&t, qid, &cmd, NULL);
		cr_assert_eq(tn_rd32(&t, NVME_REG_CSTS) & NVME_CSTS_CFS, 0);
	}
	tn_destroy(&t);
}

Test(nvme_fuzz, random_admin_commands_never_crash, .timeout = 60)
{
	fuzz_queue(0, 3000, 0x1234567887654321ULL);
}

Test(nvme_fuzz, random_io_commands_never_crash, .timeout = 60)
{
	fuzz_queue(1, 5000, 0xfeedfacecafebeefULL);
}

Test(nvme_fuzz, random_register_and_doorbell_writes_never_crash, .timeout = 60)
{
	struct tnvme t;
	uint64_t s = 42;

	tn_start(&t);
	for (int i = 0; i < 20000; i++) {
		uint64_t off = rnd(&s) % 0x1100;
		unsigned size = 1u << (rnd(&s) % 4);
		uint64_t v = rnd(&s);

		if (off == NVME_REG_CC && (v & 1) && rnd(&s) % 4)
			continue; /* keep enable attempts rare */
		if (rnd(&s) % 2)
			nvme_bar0_write(t.c, off, v, size);
		else
			nvme_bar0_read(t.c, off, size);
	}
	nvme_process(t.c);
	tn_destroy(&t);
}
