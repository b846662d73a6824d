/* SPDX-License-Identifier: MIT */
/* The `file` backend (backend_file.c) against temporary files, with and without the I/O
 * thread, O_DIRECT and the page cache. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/test_nvme_async.h"

#define NS_SIZE (4u << 20)

static char path[64];

static void tmp_file(void)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/vmm-nvme-file-XXXXXX");
	fd = mkstemp(path);
	cr_assert(fd >= 0);
	cr_assert_eq(ftruncate(fd, NS_SIZE), 0);
	close(fd);
}

static void rm_file(void)
{
	unlink(path);
}

static void file_config(struct nvme_ctrl_config *cfg, struct nvme_ns_config *ns, unsigned lba,
			const char *cache, bool thread)
{
	tn_config(cfg, ns, 1);
	ns[0] = (struct nvme_ns_config){
		.size = 0, .lba_size = lba, .backend = "file", .path = path, .cache = cache};
	cfg->no_iothread = !thread;
}

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 13 + (i >> 9));
}

static void file_read(uint64_t off, void *buf, size_t n)
{
	int fd = open(path, O_RDONLY);

	cr_assert(fd >= 0);
	cr_assert_eq(pread(fd, buf, n, (off_t)off), (ssize_t)n);
	close(fd);
}

static void write_read_back(unsigned lba, const char *cache)
{
	struct tnvme t;
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[1];
	uint64_t wb, rb;
	uint8_t back[65536];
	uint32_t nlb = 65536 / lba;

	file_config(&cfg, ns, lba, cache, false);
	tn_start_cfg(&t, &cfg);
	wb = tn_alloc(&t, 65536, 4096);
	rb = tn_alloc(&t, 65536, 4096);
	fill(tn_ptr(&t, wb), 65536, (uint8_t)lba);
	cr_assert_eq(tn_rw(&t, NVME_CMD_WRITE, 1, 3, nlb, wb, 0), 0);
	cr_assert_eq(tn_rw(&t, NVME_CMD_READ, 1, 3, nlb, rb, 0), 0);
	cr_assert_eq(memcmp(tn_ptr(&t, wb), tn_ptr(&t, rb), 65536), 0);
	cr_assert_eq(tn_rw(&t, NVME_CMD_COMPARE, 1, 3, nlb, wb, 0), 0);
	file_read(3ULL * lba, back, sizeof(back));
	cr_assert_eq(memcmp(back, tn_ptr(&t, wb), sizeof(back)), 0,
		     "data not at LBA 3 of the file");
	tn_destroy(&t);
}

Test(nvme_file, direct_write_read_512, .init = tmp_file, .fini = rm_file)
{
	write_read_back(512, NULL);
}

Test(nvme_file, direct_write_read_4096, .init = tmp_file, .fini = rm_file)
{
	write_read_back(4096, "none");
}

Test(nvme_file, writeback_cache_write_read, .init = tmp_file, .fini = rm_file)
{
	write_read_back(512, "writeback");
}

Test(nvme_file, size_comes_from_the_file, .init = tmp_file, .fini = rm_file)
{
	struct tnvme t;
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[1];
	uint64_t id;

	file_config(&cfg, ns, 512, NULL, false);
	tn_start_cfg(&t, &cfg);
	cr_assert_eq(tn_identify(&t, NVME_ID_CNS_NS, 1, &id), 0);
	cr_assert_eq(*(uint64_t *)tn_ptr(&t, id), NS_SIZE / 512); /* NSZE */
	tn_destroy(&t);
}

Test(nvme_file, bad_configs_are_reported, .init = tmp_file, .fini = rm_file)
{
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[1];
	struct nvme_host host = {0};
	char err[256] = "";

	file_config(&cfg, ns, 512, "sometimes", false);
	cr_assert_null(nvme_ctrl_create(&cfg, &host, err, sizeof(err)));
	cr_assert(strstr(err, "cache"), "%s", err);
	file_config(&cfg, ns, 512, NULL, false);
	ns[0].path = "/nonexistent/dir/disk.img";
	cr_assert_null(nvme_ctrl_create(&cfg, &host, err, sizeof(err)));
	cr_assert(strstr(err, "/nonexistent/dir/disk.img"), "%s", err);
	file_config(&cfg, ns, 512, NULL, false);
	ns[0].path = "/dev/null";
	cr_assert_null(nvme_ctrl_create(&cfg, &host, err, sizeof(err)));
	cr_assert(strstr(err, "not a regular file"), "%s", err);
}

Test(nvme_file, configured_size_grows_a_new_file, .init = tmp_file, .fini = rm_file)
{
	struct tnvme t;
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[1];
	struct stat st;

	unlink(path);
	file_config(&cfg, ns, 512, NULL, false);
	ns[0].size = 8u << 20;
	tn_start_cfg(&t, &cfg);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_size, 8 << 20);
	tn_destroy(&t);
}

Test(nvme_file, misaligned_prp_goes_through_a_bounce_buffer, .init = tmp_file, .fini = rm_file)
{
	struct tnvme t;
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[1];
	struct nvme_sqe cmd;
	uint64_t page = 0, buf;
	uint8_t back[4096];

	file_config(&cfg, ns, 512, NULL, false);
	tn_start_cfg(&t, &cfg);
	page = tn_alloc(&t, 3 * 4096, 4096);
	buf = page + 4; /* PRP1 with a dword offset: O_DIRECT cannot take it */
	fill(tn_ptr(&t, buf), 4096, 7);
	cmd = (struct nvme_sqe){.opcode = NVME_CMD_WRITE,
				.nsid = 1,
				.prp1 = buf,
				.prp2 = page + 4096,
				.cdw10 = 16,
				.cdw12 = 8 - 1};
	cr_assert_eq(tn_cmd(&t, 1, &cmd, NULL), 0);
	cr_assert_geq(t.c->ring->bounced, 1);
	file_read(16 * 512, back, sizeof(back));
	cr_assert_eq(memcmp(back, tn_ptr(&t, buf), 4096), 0);
	memset(tn_ptr(&t, buf), 0, 4096);
	cmd.opcode = NVME_CMD_READ;
	cr_assert_eq(tn_cmd(&t, 1, &cmd, NULL), 0);
	cr_assert_eq(memcmp(back, tn_ptr(&t, buf), 4096), 0);
	tn_destroy(&t);
}

Test(nvme_file, flush_and_fua_reach_the_disk, .init = tmp_file, .fini = rm_file)
{
	struct tnvme t;
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[1];
	struct nvme_sqe flush = {.opcode = NVME_CMD_FLUSH, .nsid = 1};
	uint64_t buf, fsyncs;

	file_config(&cfg, ns, 512, NULL, false);
	tn_start_cfg(&t, &cfg);
	buf = tn_alloc(&t, 4096, 4096);
	fsyncs = t.c->ring->fsyncs;
	cr_assert_eq(tn_cmd(&t, 1, &flush, NULL), 0);
	cr_assert_eq(t.c->ring->fsyncs, fsyncs + 1);
	flush.nsid = NVME_NSID_ALL;
	cr_assert_eq(tn_cmd(&t, 1, &flush, NULL), 0);
	cr_assert_eq(t.c->ring->fsyncs, fsyncs + 2);
	cr_assert_eq(tn_rw(&t, NVME_CMD_WRITE, 1, 0, 8, buf, 1u << 30 /* FUA */), 0);
	cr_assert_eq(t.c->ring->dsync_writes, 1);
	cr_assert_eq(tn_rw(&t, NVME_CMD_WRITE, 1, 0, 8, buf, 0), 0);
	cr_assert_eq(t.c->ring->dsync_writes, 1);
	tn_destroy(&t);
}

Test(nvme_file, shutdown_flushes, .init = tmp_file, .fini = rm_file)
{
	struct tnvme t;
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[1];
	uint64_t fsyncs;

	file_config(&cfg, ns, 512, NULL, true);
	tn_start_cfg(&t, &cfg);
	fsyncs = t.c->ring->fsyncs;
	tn_wr32(&t, NVME_REG_CC, tn_rd32(&t, NVME_REG_CC) | 1u << 14); /* SHN normal */
	cr_assert_eq(tn_rd32(&t, NVME_REG_CSTS) & NVME_CSTS_SHST_MASK, NVME_CSTS_SHST_COMPLETE);
	cr_assert_eq(t.c->ring->fsyncs, fsyncs + 1, "shutdown did not fdatasync");
	tn_destroy(&t);
}

static void deallocate_reads_zeroes(bool write_zeroes)
{
	struct tnvme t;
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[1];
	uint64_t buf, rb, ranges;
	uint8_t zero[8192] = {0}, back[8192];

	file_config(&cfg, ns, 512, NULL, false);
	tn_start_cfg(&t, &cfg);
	buf = tn_alloc(&t, 65536, 4096);
	rb = tn_alloc(&t, 65536, 4096);
	fill(tn_ptr(&t, buf), 65536, 3);
	cr_assert_eq(tn_rw(&t, NVME_CMD_WRITE, 1, 0, 128, buf, 0), 0);
	if (write_zeroes) {
		cr_assert_eq(tn_rw(&t, NVME_CMD_WRITE_ZEROES, 1, 16, 16, 0, 0), 0);
	} else {
		struct nvme_sqe cmd = {.opcode = NVME_CMD_DSM, .nsid = 1, .cdw11 = 1u << 2};

		ranges = tn_alloc(&t, 4096, 4096);
		((uint32_t *)tn_ptr(&t, ranges))[1] = 16; /* NLB */
		((uint64_t *)tn_ptr(&t, ranges))[1] = 16; /* SLBA */
		cmd.prp1 = ranges;
		cr_assert_eq(tn_cmd(&t, 1, &cmd, NULL), 0);
	}
	file_read(16 * 512, back, sizeof(back));
	cr_assert_eq(memcmp(back, zero, sizeof(back)), 0);
	file_read(0, back, 8192);
	cr_assert_eq(memcmp(back, tn_ptr(&t, buf), 8192), 0, "data before the range changed");
	file_read(32 * 512, back, 8192);
	cr_assert_eq(memcmp(back, (uint8_t *)tn_ptr(&t, buf) + 32 * 512, 8192), 0);
	cr_assert_eq(tn_rw(&t, NVME_CMD_READ, 1, 16, 16, rb, 0), 0);
	cr_assert_eq(memcmp(tn_ptr(&t, rb), zero, 8192), 0);
	tn_destroy(&t);
}

Test(nvme_file, deallocate_punches_a_hole, .init = tmp_file, .fini = rm_file)
{
	deallocate_reads_zeroes(false);
}

Test(nvme_file, write_zeroes_zeroes_the_range, .init = tmp_file, .fini = rm_file)
{
	deallocate_reads_zeroes(true);
}

Test(nvme_file, read_past_a_truncated_file_is_a_data_transfer_error, .init = tmp_file,
     .fini = rm_file)
{
	struct tnvme t;
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[1];
	uint64_t buf;

	file_config(&cfg, ns, 512, NULL, false);
	tn_start_cfg(&t, &cfg);
	buf = tn_alloc(&t, 4096, 4096);
	cr_assert_eq(truncate(path, 0), 0); /* someone shrinks the image under us */
	cr_assert_eq(tn_rw(&t, NVME_CMD_READ, 1, 0, 8, buf, 0), NVME_SC_DATA_XFER_ERROR);
	tn_destroy(&t);
}

/* The I/O thread reaps: 32 commands in flight, completions arrive asynchronously. */
Test(nvme_file, qd32_on_the_io_thread, .init = tmp_file, .fini = rm_file)
{
	struct tnvme t;
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[1];
	uint64_t buf;
	unsigned done = 0;

	file_config(&cfg, ns, 4096, NULL, true);
	tn_start_cfg(&t, &cfg);
	buf = tn_alloc(&t, 32 * 4096, 4096);
	for (int pass = 0; pass < 2; pass++) {
		for (unsigned i = 0; i < 32; i++) {
			struct nvme_sqe cmd;

			if (!pass)
				fill(tn_ptr(&t, buf + i * 4096), 4096, (uint8_t)i);
			else
				memset(tn_ptr(&t, buf + i * 4096), 0, 4096);
			ta_rw_cmd(&cmd, pass ? NVME_CMD_READ : NVME_CMD_WRITE, i * 5, 1,
				  buf + i * 4096, 4096);
			tn_put(&t, 1, &cmd);
		}
		tn_ring_sq(&t, 1);
		for (unsigned i = 0; i < 32; i++) {
			struct nvme_cqe e;

			cr_assert(ta_wait(&t, 1, &e));
			cr_assert_eq(tn_status(&e), 0);
			done++;
		}
	}
	for (unsigned i = 0; i < 32; i++) {
		uint8_t want[4096];

		fill(want, 4096, (uint8_t)i);
		cr_assert_eq(memcmp(tn_ptr(&t, buf + i * 4096), want, 4096), 0, "block %u", i);
	}
	cr_assert_eq(done, 64);
	tn_destroy(&t);
}

/* Data on the disk, not holes: O_DIRECT reads of a sparse file never reach the device. */
static void tmp_file_filled(void)
{
	static uint8_t chunk[1 << 16];
	int fd;

	tmp_file();
	fd = open(path, O_WRONLY);
	cr_assert(fd >= 0);
	fill(chunk, sizeof(chunk), 7);
	for (off_t off = 0; off < NS_SIZE; off += (off_t)sizeof(chunk))
		cr_assert_eq(pwrite(fd, chunk, sizeof(chunk), off), (ssize_t)sizeof(chunk));
	cr_assert_eq(fsync(fd), 0);
	close(fd);
}

/*
 * QD1 reads through shadow doorbells, the host spinning on the CQ like a polled guest driver.
 * With poll_inflight_us (and an idle window longer than the host's think time) the I/O
 * thread never sleeps with a read in flight, and the host rings once: the first submission,
 * which finds the thread asleep. Every later EventIdx says "polling", including the one the
 * host reads right after a completion (set before the completion is posted).
 */
Test(nvme_file, qd1_reads_with_poll_inflight_need_no_doorbell, .init = tmp_file_filled,
     .fini = rm_file, .timeout = 60)
{
	struct ta_host h;
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[1];
	uint64_t buf, rng = 0x9e3779b97f4a7c15ULL;
	unsigned n = 50;

	file_config(&cfg, ns, 4096, NULL, true);
	cfg.poll_idle_us = 2000000;
	cfg.poll_inflight_us = 2000000;
	ta_start(&h, &cfg, 64);
	cr_assert_eq(ta_dbbuf_config(&h), 0);
	buf = tn_alloc(&h.t, 4096, 4096);
	for (unsigned i = 0; i < n; i++) {
		struct nvme_sqe cmd;
		struct nvme_cqe e;

		rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
		ta_rw_cmd(&cmd, NVME_CMD_READ, (rng >> 33) % (NS_SIZE / 4096), 1, buf, 4096);
		ta_db_submit(&h, 1, &cmd);
		cr_assert(ta_db_reap(&h, 1, &e));
		cr_assert_eq(tn_status(&e), 0);
	}
	cr_assert_leq(h.rings_sq, 1, "doorbells: %u", h.rings_sq);
	cr_assert_eq(h.t.c->ring->inflight_sleeps, 0);
	ta_destroy(&h);
}
