/* SPDX-License-Identifier: MIT */
/* The I/O thread: interrupt coalescing on its timer, resets and queue deletion with I/O in
 * flight on its ring. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/test_nvme_async.h"

static unsigned irqs(struct tnvme *t, unsigned v)
{
	return __atomic_load_n(&t->irqs[v], __ATOMIC_RELAXED);
}

static uint16_t set_feature(struct tnvme *t, uint8_t fid, uint32_t v)
{
	struct nvme_sqe cmd = {.opcode = NVME_ADM_SET_FEATURES, .cdw10 = fid, .cdw11 = v};

	return tn_cmd(t, 0, &cmd, NULL);
}

static void null_start(struct tnvme *t)
{
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[1];

	tn_config(&cfg, ns, 1);
	ns[0].backend = "null";
	tn_start_cfg(t, &cfg);
}

static void submit_read(struct tnvme *t, uint64_t buf)
{
	struct nvme_sqe cmd;

	ta_rw_cmd(&cmd, NVME_CMD_READ, 0, 8, buf, 4096);
	tn_put(t, 1, &cmd);
	tn_ring_sq(t, 1);
}

Test(nvme_coalesce, threshold_reached_raises_one_interrupt)
{
	struct tnvme t;
	uint64_t buf;

	null_start(&t);
	buf = tn_alloc(&t, 4096, 4096);
	cr_assert_eq(set_feature(&t, NVME_FEAT_IRQ_COALESCE, 3 | 255u << 8), 0); /* 4, 25.5 ms */
	for (int i = 0; i < 3; i++)
		submit_read(&t, buf);
	cr_assert_eq(irqs(&t, 1), 0, "interrupt before the threshold");
	submit_read(&t, buf);
	cr_assert_eq(irqs(&t, 1), 1);
	for (int i = 0; i < 4; i++)
		cr_assert(tn_poll(&t, 1, NULL));
	tn_destroy(&t);
}

Test(nvme_coalesce, aggregation_time_fires_on_the_timer, .timeout = 10)
{
	struct tnvme t;
	uint64_t buf, start;

	null_start(&t);
	buf = tn_alloc(&t, 4096, 4096);
	cr_assert_eq(set_feature(&t, NVME_FEAT_IRQ_COALESCE, 100 | 20u << 8), 0); /* 2 ms */
	start = ta_now();
	submit_read(&t, buf);
	cr_assert_eq(irqs(&t, 1), 0);
	while (!irqs(&t, 1) && ta_now() - start < 2000000000ULL)
		usleep(100);
	cr_assert_eq(irqs(&t, 1), 1, "the timer never fired");
	cr_assert_geq(ta_now() - start, 2000000ULL, "fired before the aggregation time");
	tn_destroy(&t);
}

Test(nvme_coalesce, coalescing_disable_and_admin_queue_are_immediate)
{
	struct tnvme t;
	uint64_t buf;
	unsigned admin;

	null_start(&t);
	buf = tn_alloc(&t, 4096, 4096);
	cr_assert_eq(set_feature(&t, NVME_FEAT_IRQ_COALESCE, 100 | 255u << 8), 0);
	admin = irqs(&t, 0);
	cr_assert_eq(set_feature(&t, NVME_FEAT_IRQ_CONFIG, 1 | 1u << 16), 0); /* vector 1: CD */
	cr_assert_eq(irqs(&t, 0), admin + 1, "admin completions are never coalesced");
	submit_read(&t, buf);
	cr_assert_eq(irqs(&t, 1), 1);
	tn_destroy(&t);
}

static char path[64];

static void tmp_file(void)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/vmm-nvme-ioth-XXXXXX");
	fd = mkstemp(path);
	cr_assert(fd >= 0);
	cr_assert_eq(ftruncate(fd, 16 << 20), 0);
	close(fd);
}

static void rm_file(void)
{
	unlink(path);
}

static void file_start(struct tnvme *t, uint32_t qsize)
{
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[1];

	tn_config(&cfg, ns, 1);
	ns[0] = (struct nvme_ns_config){.lba_size = 4096, .backend = "file", .path = path};
	tn_create(t, &cfg);
	tn_enable_linux(t, 32);
	cr_assert_eq(tn_create_cq(t, 1, qsize, true, 1), 0);
	cr_assert_eq(tn_create_sq(t, 1, 1, qsize), 0);
}

static void queue_writes(struct tnvme *t, unsigned n, uint64_t buf)
{
	for (unsigned i = 0; i < n; i++) {
		struct nvme_sqe cmd;

		ta_rw_cmd(&cmd, i & 1 ? NVME_CMD_READ : NVME_CMD_WRITE, i * 16, 16,
			  buf + (uint64_t)i * 65536, 4096);
		/* 64 KiB each: a PRP list would be needed; use 8 KiB (2 pages) instead. */
		cmd.cdw12 = 2 - 1;
		cmd.prp2 = cmd.prp1 + 4096;
		tn_put(t, 1, &cmd);
	}
	tn_ring_sq(t, 1);
}

/* CC.EN = 0 while the file backend has I/O in flight: the reset waits for it and posts
 * nothing afterwards (ASan checks the rest). */
Test(nvme_iothread, reset_with_io_in_flight, .init = tmp_file, .fini = rm_file, .timeout = 30)
{
	struct tnvme t;
	uint64_t buf, cq;

	file_start(&t, 128);
	buf = tn_alloc(&t, 100 * 65536, 4096);
	cq = t.q[1].cq;
	for (int round = 0; round < 5; round++) {
		queue_writes(&t, 100, buf);
		tn_wr32(&t, NVME_REG_CC, tn_rd32(&t, NVME_REG_CC) & ~NVME_CC_EN);
		cr_assert_eq(tn_rd32(&t, NVME_REG_CSTS) & NVME_CSTS_RDY, 0);
		memset(tn_ptr(&t, cq), 0, 128 * 16);
		usleep(2000); /* completions that raced the reset are not posted any more */
		for (int i = 0; i < 128 * 16; i++)
			cr_assert_eq(((uint8_t *)tn_ptr(&t, cq))[i], 0, "posted after reset");
		tn_enable_linux(&t, 32);
		cr_assert_eq(tn_create_cq(&t, 1, 128, true, 1), 0);
		cr_assert_eq(tn_create_sq(&t, 1, 1, 128), 0);
		cq = t.q[1].cq;
	}
	tn_destroy(&t);
}

/* Delete I/O SQ while its commands are in flight: they complete first (5.7), the delete
 * completes after them, nothing is lost. */
Test(nvme_iothread, delete_sq_with_io_in_flight, .init = tmp_file, .fini = rm_file, .timeout = 30)
{
	struct tnvme t;
	struct nvme_sqe del = {.opcode = NVME_ADM_DELETE_SQ, .cdw10 = 1};
	uint64_t buf;
	unsigned got = 0;
	struct nvme_cqe e;

	file_start(&t, 128);
	buf = tn_alloc(&t, 100 * 65536, 4096);
	queue_writes(&t, 100, buf);
	cr_assert_eq(tn_cmd(&t, 0, &del, NULL), 0);
	while (tn_poll(&t, 1, &e)) {
		cr_assert_eq(tn_status(&e), 0);
		got++;
	}
	cr_assert_eq(got, 100, "%u of 100 completions before the delete finished", got);
	tn_destroy(&t);
}

static unsigned open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	cr_assert(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* Destroying the controller with 100 writes in flight and the I/O thread running: it returns
 * in bounded time, closes every fd it opened (backend file, eventfds, io_uring), and every
 * write whose completion was posted (NVMe 2.0 Base 4.6: a posted CQE means the command is
 * done) has its data on the file. Writes not yet completed may or may not have landed. */
Test(nvme_iothread, destroy_with_io_in_flight, .init = tmp_file, .fini = rm_file, .timeout = 30)
{
	enum { N = 100, BYTES = 8192 };
	struct tnvme t;
	struct nvme_cqe e;
	uint64_t buf, start;
	bool done[N + 1] = {false};
	uint16_t first_cid = 0;
	unsigned before = open_fds(), posted = 0;
	static uint8_t got[BYTES];
	int fd;

	file_start(&t, 128);
	buf = tn_alloc(&t, (uint64_t)N * BYTES, 4096);
	for (unsigned i = 0; i < N; i++) {
		struct nvme_sqe cmd;
		uint16_t cid;

		memset(tn_ptr(&t, buf + (uint64_t)i * BYTES), 0x40 + (int)i, BYTES);
		ta_rw_cmd(&cmd, NVME_CMD_WRITE, i * 2, 2, buf + (uint64_t)i * BYTES, BYTES);
		cid = tn_put(&t, 1, &cmd);
		if (i == 0)
			first_cid = cid;
	}
	tn_ring_sq(&t, 1);
	/* Reap a few completions so some writes are known done, then destroy with the rest
	 * still in flight. */
	while (posted < 4 && ta_wait(&t, 1, &e)) {
		cr_assert_eq(tn_status(&e), 0);
		done[e.cid - first_cid] = true;
		posted++;
	}
	while (tn_poll(&t, 1, &e)) {
		done[e.cid - first_cid] = true;
		posted++;
	}
	cr_assert_geq(posted, 4, "no write completed within 5 s");
	start = ta_now();
	tn_destroy(&t);
	cr_assert_lt(ta_now() - start, 5000000000ULL, "destroy took over 5 s");
	cr_assert_eq(open_fds(), before, "fds before %u, after destroy %u", before, open_fds());

	fd = open(path, O_RDONLY);
	cr_assert(fd >= 0);
	for (unsigned i = 0; i < N; i++) {
		if (!done[i])
			continue;
		cr_assert_eq(pread(fd, got, BYTES, (off_t)i * BYTES), BYTES);
		for (unsigned b = 0; b < BYTES; b++)
			cr_assert_eq(got[b], 0x40 + i, "write %u completed but byte %u not on file",
				     i, b);
	}
	close(fd);
}
