/* SPDX-License-Identifier: MIT */
/* The Copy command (NVM Command Set 1.0 3.2.2) on ram, null and file namespaces. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/test_nvme_async.h"

struct range {
	uint64_t slba;
	uint32_t nlb; /* 1-based; the descriptor carries nlb - 1 (only its low 16 bits) */
};

/* Byte i of logical block lba as written by fill_ns. */
static uint8_t pat(uint64_t lba, size_t i)
{
	return (uint8_t)(lba * 31 + i * 7 + (lba >> 8) + 1);
}

/* Write the pattern to blocks [0, nblocks) in 64 KiB commands. */
static void fill_ns(struct tnvme *t, unsigned lba_size, uint64_t nblocks)
{
	uint64_t buf = tn_alloc(t, 65536, 4096);
	uint32_t per = 65536 / lba_size;
	uint8_t *p = tn_ptr(t, buf);

	for (uint64_t lba = 0; lba < nblocks; lba += per) {
		for (uint32_t b = 0; b < per; b++)
			for (size_t i = 0; i < lba_size; i++)
				p[(size_t)b * lba_size + i] = pat(lba + b, i);
		cr_assert_eq(tn_rw(t, NVME_CMD_WRITE, 1, lba, per, buf, 0), 0);
	}
}

/* Block lba holds the pattern of block src (or zeroes for src == ~0). */
static void expect_block(struct tnvme *t, unsigned lba_size, uint64_t lba, uint64_t src)
{
	static struct tnvme *owner; /* one read buffer per controller (one per test) */
	static uint64_t buf;
	uint8_t *p;

	if (owner != t) {
		owner = t;
		buf = tn_alloc(t, 4096, 4096);
	}
	cr_assert_eq(tn_rw(t, NVME_CMD_READ, 1, lba, 1, buf, 0), 0);
	p = tn_ptr(t, buf);
	for (size_t i = 0; i < lba_size; i++) {
		uint8_t want = src == ~0ULL ? 0 : pat(src, i);

		cr_assert_eq(p[i], want, "block %llu byte %zu: 0x%02x, want 0x%02x (of block %llu)",
			     (unsigned long long)lba, i, p[i], want, (unsigned long long)src);
	}
}

/* NR + 1 descriptors (format 0h, Figure 35) in a fresh 8 KiB page-aligned buffer. */
static uint64_t put_descs(struct tnvme *t, const struct range *r, unsigned n)
{
	uint64_t addr = tn_alloc(t, 8192, 4096);
	uint8_t *d = tn_ptr(t, addr);

	memset(d, 0, 8192);
	for (unsigned i = 0; i < n; i++) {
		uint16_t nlb = (uint16_t)(r[i].nlb - 1);

		memcpy(d + 32 * i + 8, &r[i].slba, 8);
		memcpy(d + 32 * i + 16, &nlb, 2);
	}
	return addr;
}

/* Copy with an explicit NR field (0-based) and extra CDW12 bits; PRP1/PRP2 cover 8 KiB. */
static uint16_t copy_raw(struct tnvme *t, uint64_t sdlba, uint64_t descs, uint32_t nr,
			 uint32_t cdw12_flags)
{
	struct nvme_sqe cmd = {.opcode = NVME_CMD_COPY,
			       .nsid = 1,
			       .prp1 = descs,
			       .prp2 = descs + 4096,
			       .cdw10 = (uint32_t)sdlba,
			       .cdw11 = (uint32_t)(sdlba >> 32),
			       .cdw12 = nr | cdw12_flags};

	return tn_cmd(t, 1, &cmd, NULL);
}

static uint16_t copy(struct tnvme *t, uint64_t sdlba, const struct range *r, unsigned n)
{
	return copy_raw(t, sdlba, put_descs(t, r, n), n - 1, 0);
}

/* Default namespace: 1 MiB, 2048 blocks of 512 B; size overrides it. */
static void start(struct tnvme *t, unsigned lba_size, uint64_t size)
{
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[1];

	tn_config(&cfg, ns, 1);
	ns[0].lba_size = lba_size;
	if (size)
		ns[0].size = size;
	tn_start_cfg(t, &cfg);
}

static void copy_one_range(unsigned lba_size)
{
	struct tnvme t;
	uint64_t nsze = (1ULL << 20) / lba_size;
	struct range r = {.slba = 10, .nlb = 20};

	start(&t, lba_size, 0);
	fill_ns(&t, lba_size, nsze / 2);
	cr_assert_eq(copy(&t, nsze / 2 + 5, &r, 1), 0);
	expect_block(&t, lba_size, nsze / 2 + 4, ~0ULL);
	for (uint64_t i = 0; i < r.nlb; i++)
		expect_block(&t, lba_size, nsze / 2 + 5 + i, r.slba + i);
	expect_block(&t, lba_size, nsze / 2 + 5 + r.nlb, ~0ULL);
	/* the source is untouched */
	for (uint64_t i = 0; i < r.nlb; i++)
		expect_block(&t, lba_size, r.slba + i, r.slba + i);
	tn_destroy(&t);
}

Test(nvme_copy, one_range_512)
{
	copy_one_range(512);
}

Test(nvme_copy, one_range_4096)
{
	copy_one_range(4096);
}

/* Ranges land back to back; the 300-block one spans three 128 KiB chunks. */
Test(nvme_copy, several_ranges_land_back_to_back)
{
	struct tnvme t;
	const struct range r[] = {{700, 3}, {0, 1}, {100, 300}, {5, 2}};
	uint64_t dst = 1200, d = dst;

	start(&t, 512, 0);
	fill_ns(&t, 512, 1024);
	cr_assert_eq(copy(&t, dst, r, 4), 0);
	expect_block(&t, 512, dst - 1, ~0ULL);
	for (unsigned k = 0; k < 4; k++)
		for (uint64_t i = 0; i < r[k].nlb; i++)
			expect_block(&t, 512, d++, r[k].slba + i);
	expect_block(&t, 512, d, ~0ULL);
	tn_destroy(&t);
}

/* MSRC + 1 = 128 ranges (a descriptor list longer than a page: PRP2) work; 129 do not. */
Test(nvme_copy, msrc_plus_one_ranges_and_no_more)
{
	struct tnvme t;
	struct range r[129];
	uint64_t descs;

	start(&t, 512, 0);
	fill_ns(&t, 512, 256);
	for (unsigned i = 0; i < 129; i++)
		r[i] = (struct range){.slba = 255 - i, .nlb = 1};
	descs = put_descs(&t, r, 129);
	cr_assert_eq(copy_raw(&t, 1000, descs, 128, 0), NVME_SC_CMD_SIZE_LIMIT);
	expect_block(&t, 512, 1000, ~0ULL);
	cr_assert_eq(copy_raw(&t, 1000, descs, 127, 0), 0);
	for (unsigned i = 0; i < 128; i++)
		expect_block(&t, 512, 1000 + i, 255 - i);
	expect_block(&t, 512, 1128, ~0ULL);
	tn_destroy(&t);
}

Test(nvme_copy, identify_reports_copy_and_its_limits)
{
	struct tnvme t;
	uint64_t buf;
	uint8_t *id;
	uint32_t v32;
	uint16_t v16;

	tn_start(&t);
	cr_assert_eq(tn_identify(&t, NVME_ID_CNS_CTRL, 0, &buf), 0);
	id = tn_ptr(&t, buf);
	memcpy(&v16, id + 520, 2);
	cr_assert(v16 & 1u << 8, "ONCS 0x%x: no Copy", v16);
	memcpy(&v16, id + 534, 2);
	cr_assert_eq(v16, 0, "OCFS: format 0h has no bit");
	cr_assert_eq(tn_identify(&t, NVME_ID_CNS_NS, 1, &buf), 0);
	id = tn_ptr(&t, buf);
	memcpy(&v16, id + 74, 2);
	cr_assert_eq(v16, NVME_COPY_MSSRL);
	memcpy(&v32, id + 76, 4);
	cr_assert_eq(v32, NVME_COPY_MCL);
	cr_assert_eq(id[80], NVME_COPY_MSRC);
	cr_assert_geq(v32, v16, "MCL below MSSRL");
	cr_assert_eq(tn_get_log(&t, NVME_LOG_CMD_EFFECTS, 0, 4096, &buf), 0);
	memcpy(&v32, (uint8_t *)tn_ptr(&t, buf) + 1024 + 4 * NVME_CMD_COPY, 4);
	cr_assert_eq(v32 & 3, 3, "Copy: CSUPP and LBCC in the effects log");
	tn_destroy(&t);
}

Test(nvme_copy, descriptor_format_other_than_0_is_invalid_field)
{
	struct tnvme t;
	struct range r = {.slba = 0, .nlb = 4};
	uint64_t descs;

	start(&t, 512, 0);
	fill_ns(&t, 512, 128);
	descs = put_descs(&t, &r, 1);
	for (uint32_t fmt = 1; fmt < 16; fmt++)
		cr_assert_eq(copy_raw(&t, 500, descs, 0, fmt << 8), NVME_SC_INVALID_FIELD,
			     "format %u", fmt);
	expect_block(&t, 512, 500, ~0ULL);
	cr_assert_eq(copy_raw(&t, 500, descs, 0, 0), 0);
	expect_block(&t, 512, 500, 0);
	tn_destroy(&t);
}

Test(nvme_copy, range_above_mssrl_is_size_limit)
{
	struct tnvme t;
	struct range r[2] = {{.slba = 0, .nlb = 1}, {.slba = 0, .nlb = NVME_COPY_MSSRL + 1}};

	start(&t, 512, 8 << 20);
	fill_ns(&t, 512, 2048);
	cr_assert_eq(copy(&t, 4096, r, 2), NVME_SC_CMD_SIZE_LIMIT);
	expect_block(&t, 512, 4096, ~0ULL);
	/* NLB FFFFh: 65536 blocks, the largest a descriptor can say */
	r[1].nlb = 65536;
	cr_assert_eq(copy(&t, 4096, r, 2), NVME_SC_CMD_SIZE_LIMIT);
	r[1].nlb = NVME_COPY_MSSRL;
	cr_assert_eq(copy(&t, 4096, r, 2), 0);
	expect_block(&t, 512, 4096, 0);
	expect_block(&t, 512, 4097 + NVME_COPY_MSSRL - 1, NVME_COPY_MSSRL - 1);
	tn_destroy(&t);
}

Test(nvme_copy, total_above_mcl_is_size_limit)
{
	struct tnvme t;
	struct range r[5];

	start(&t, 512, 8 << 20); /* 16384 blocks: room for MCL at the destination */
	fill_ns(&t, 512, 2048);
	for (unsigned i = 0; i < 4; i++)
		r[i] = (struct range){.slba = 1000, .nlb = NVME_COPY_MCL / 4};
	r[4] = (struct range){.slba = 7, .nlb = 1};
	cr_assert_eq(copy(&t, 8192, r, 5), NVME_SC_CMD_SIZE_LIMIT);
	expect_block(&t, 512, 8192, ~0ULL);
	cr_assert_eq(copy(&t, 8192, r, 4), 0);
	expect_block(&t, 512, 8192, 1000);
	expect_block(&t, 512, 8192 + NVME_COPY_MCL - 1, 1000 + NVME_COPY_MCL / 4 - 1);
	expect_block(&t, 512, 8192 + NVME_COPY_MCL, ~0ULL);
	tn_destroy(&t);
}

Test(nvme_copy, source_past_the_end_is_lba_range)
{
	struct tnvme t;
	struct range r[2] = {{.slba = 0, .nlb = 1}, {.slba = 2047, .nlb = 2}};

	start(&t, 512, 0);
	fill_ns(&t, 512, 2048);
	cr_assert_eq(copy(&t, 0, r, 2), NVME_SC_LBA_RANGE);
	r[1] = (struct range){.slba = 2048, .nlb = 1};
	cr_assert_eq(copy(&t, 0, r, 2), NVME_SC_LBA_RANGE);
	/* the last block itself is a valid source */
	r[1] = (struct range){.slba = 2047, .nlb = 1};
	cr_assert_eq(copy(&t, 10, r, 2), 0);
	expect_block(&t, 512, 10, 0);
	expect_block(&t, 512, 11, 2047);
	tn_destroy(&t);
}

Test(nvme_copy, destination_past_the_end_is_lba_range)
{
	struct tnvme t;
	struct range r[2] = {{.slba = 0, .nlb = 4}, {.slba = 100, .nlb = 5}};

	start(&t, 512, 0);
	fill_ns(&t, 512, 1024);
	cr_assert_eq(copy(&t, 2040, r, 2), NVME_SC_LBA_RANGE);
	expect_block(&t, 512, 2040, ~0ULL);
	cr_assert_eq(copy(&t, 2048, r, 2), NVME_SC_LBA_RANGE);
	cr_assert_eq(copy(&t, 2039, r, 2), 0);
	expect_block(&t, 512, 2039, 0);
	expect_block(&t, 512, 2047, 104);
	tn_destroy(&t);
}

Test(nvme_copy, lba_plus_nlb_overflowing_64_bits_is_lba_range)
{
	struct tnvme t;
	struct range r = {.slba = ~0ULL - 3, .nlb = 8};
	struct range ok = {.slba = 0, .nlb = 8};

	start(&t, 512, 0);
	cr_assert_eq(copy(&t, 0, &r, 1), NVME_SC_LBA_RANGE);
	r.slba = ~0ULL;
	cr_assert_eq(copy(&t, 0, &r, 1), NVME_SC_LBA_RANGE);
	cr_assert_eq(copy(&t, ~0ULL - 3, &ok, 1), NVME_SC_LBA_RANGE);
	cr_assert_eq(copy(&t, ~0ULL, &ok, 1), NVME_SC_LBA_RANGE);
	cr_assert_eq(copy(&t, 1ULL << 63, &ok, 1), NVME_SC_LBA_RANGE);
	tn_destroy(&t);
}

Test(nvme_copy, descriptors_outside_guest_memory_are_data_transfer_error)
{
	struct tnvme t;
	struct nvme_sqe cmd = {.opcode = NVME_CMD_COPY, .nsid = 1, .cdw10 = 100, .cdw12 = 3};

	start(&t, 512, 0);
	cr_assert_eq(copy_raw(&t, 0, TN_BASE + TN_SIZE, 0, 0), NVME_SC_DATA_XFER_ERROR);
	cr_assert_eq(copy_raw(&t, 0, 0xfffffffffffff000ULL, 3, 0), NVME_SC_DATA_XFER_ERROR);
	/* the list starts in the last 64 bytes of memory and goes on at PRP2, outside */
	cmd.prp1 = TN_BASE + TN_SIZE - 64;
	cmd.prp2 = TN_BASE + TN_SIZE;
	cr_assert_eq(tn_cmd(&t, 1, &cmd, NULL), NVME_SC_DATA_XFER_ERROR);
	/* the same 4 descriptors wholly inside memory are fine */
	cmd.prp1 = TN_BASE + TN_SIZE - 128;
	cr_assert_eq(tn_cmd(&t, 1, &cmd, NULL), 0);
	tn_destroy(&t);
}

/* The descriptor list through an SGL Data Block descriptor in SGL1 (4.4). */
Test(nvme_copy, descriptors_through_an_sgl)
{
	struct tnvme t;
	struct range r[2] = {{.slba = 3, .nlb = 2}, {.slba = 40, .nlb = 1}};
	uint64_t descs;
	struct nvme_sqe cmd = {.opcode = NVME_CMD_COPY,
			       .nsid = 1,
			       .flags = NVME_PSDT_SGL_MPTR_CONTIG << 6,
			       .cdw10 = 300,
			       .cdw12 = 1};

	start(&t, 512, 0);
	fill_ns(&t, 512, 128);
	descs = put_descs(&t, r, 2);
	cmd.prp1 = descs;
	cmd.prp2 = 64; /* length 64, type Data Block (0h) in byte 15 */
	cr_assert_eq(tn_cmd(&t, 1, &cmd, NULL), 0);
	expect_block(&t, 512, 300, 3);
	expect_block(&t, 512, 301, 4);
	expect_block(&t, 512, 302, 40);
	cmd.prp2 = 32; /* shorter than the two descriptors */
	cr_assert_eq(tn_cmd(&t, 1, &cmd, NULL), NVME_SC_SGL_INVALID_DATA);
	tn_destroy(&t);
}

Test(nvme_copy, null_backend_checks_and_completes)
{
	struct tnvme t;
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[1];
	struct range r = {.slba = 1000000, .nlb = 8};

	tn_config(&cfg, ns, 1);
	ns[0].backend = "null";
	ns[0].size = 1ULL << 40;
	tn_start_cfg(&t, &cfg);
	cr_assert_eq(copy(&t, 5, &r, 1), 0);
	r.slba = (1ULL << 31) - 4;
	cr_assert_eq(copy(&t, 5, &r, 1), NVME_SC_LBA_RANGE);
	r.slba = 0;
	r.nlb = NVME_COPY_MSSRL + 1;
	cr_assert_eq(copy(&t, 5, &r, 1), NVME_SC_CMD_SIZE_LIMIT);
	tn_destroy(&t);
}

/* A ram backend that records write FUA and can fail reads. */
static struct {
	unsigned reads, writes, fua_writes;
	bool fail_reads;
} rec;
static struct nvme_backend_ops rec_ops;

static int rec_submit(struct nvme_backend *be, struct nvme_be_req *r)
{
	if (r->op == NVME_BE_READ) {
		rec.reads++;
		if (rec.fail_reads) {
			r->done(r, -EIO);
			return 0;
		}
	}
	if (r->op == NVME_BE_WRITE) {
		rec.writes++;
		rec.fua_writes += r->fua;
	}
	return nvme_backend_ram_ops.submit(be, r);
}

static void install_recorder(struct tnvme *t)
{
	rec_ops = nvme_backend_ram_ops;
	rec_ops.submit = rec_submit;
	t->c->ns[0].be.ops = &rec_ops;
	memset(&rec, 0, sizeof(rec));
}

Test(nvme_copy, chunks_and_fua_reach_the_backend)
{
	struct tnvme t;
	struct range r = {.slba = 0, .nlb = 600}; /* 300 KiB: three chunks */
	uint64_t descs;

	start(&t, 512, 0);
	install_recorder(&t);
	descs = put_descs(&t, &r, 1);
	cr_assert_eq(copy_raw(&t, 1000, descs, 0, 0), 0);
	cr_assert_eq(rec.reads, 3);
	cr_assert_eq(rec.writes, 3);
	cr_assert_eq(rec.fua_writes, 0);
	cr_assert_eq(copy_raw(&t, 1000, descs, 0, 1u << 30), 0);
	cr_assert_eq(rec.writes, 6);
	cr_assert_eq(rec.fua_writes, 3);
	tn_destroy(&t);
}

Test(nvme_copy, read_error_stops_the_copy)
{
	struct tnvme t;
	struct range r = {.slba = 0, .nlb = 4};

	start(&t, 512, 0);
	fill_ns(&t, 512, 128);
	install_recorder(&t);
	rec.fail_reads = true;
	cr_assert_eq(copy(&t, 500, &r, 1), NVME_SC_READ_ERROR);
	cr_assert_eq(rec.reads, 1);
	cr_assert_eq(rec.writes, 0);
	rec.fail_reads = false;
	expect_block(&t, 512, 500, ~0ULL);
	tn_destroy(&t);
}

/* ---- the file backend: chunks complete on io_uring, later ---- */

#define FILE_NS_SIZE (4u << 20)

static char path[64];

static void tmp_file(void)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/vmm-nvme-copy-XXXXXX");
	fd = mkstemp(path);
	cr_assert(fd >= 0);
	cr_assert_eq(ftruncate(fd, FILE_NS_SIZE), 0);
	close(fd);
}

static void rm_file(void)
{
	unlink(path);
}

static void file_copy(bool thread, const char *cache)
{
	struct tnvme t;
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[1];
	const struct range r[2] = {{.slba = 8, .nlb = 600}, {.slba = 2, .nlb = 3}};
	uint8_t *back = malloc(603 * 512);
	uint64_t descs;
	struct nvme_sqe cmd;
	int fd;

	cr_assert(back);
	fd = open(path, O_WRONLY);
	cr_assert(fd >= 0);
	for (unsigned b = 0; b < 1024; b++) {
		uint8_t blk[512];

		for (size_t i = 0; i < 512; i++)
			blk[i] = pat(b, i);
		cr_assert_eq(pwrite(fd, blk, 512, (off_t)b * 512), 512);
	}
	close(fd);
	tn_config(&cfg, ns, 1);
	ns[0] = (struct nvme_ns_config){
		.size = 0, .lba_size = 512, .backend = "file", .path = path, .cache = cache};
	cfg.no_iothread = !thread;
	tn_start_cfg(&t, &cfg);
	descs = put_descs(&t, r, 2);
	cmd = (struct nvme_sqe){.opcode = NVME_CMD_COPY,
				.nsid = 1,
				.prp1 = descs,
				.prp2 = descs + 4096,
				.cdw10 = 5000,
				.cdw12 = 1 | 1u << 30};
	cr_assert_eq(ta_cmd(&t, 1, &cmd), 0);
	tn_destroy(&t);
	fd = open(path, O_RDONLY);
	cr_assert(fd >= 0);
	cr_assert_eq(pread(fd, back, 603 * 512, 5000 * 512), 603 * 512);
	close(fd);
	for (unsigned b = 0; b < 603; b++) {
		uint64_t src = b < 600 ? 8 + b : 2 + (b - 600);

		for (size_t i = 0; i < 512; i++)
			cr_assert_eq(back[b * 512 + i], pat(src, i), "block %u byte %zu", 5000 + b,
				     i);
	}
	free(back);
}

Test(nvme_copy, file_backend_with_iothread, .init = tmp_file, .fini = rm_file)
{
	file_copy(true, NULL);
}

Test(nvme_copy, file_backend_inline_writeback, .init = tmp_file, .fini = rm_file)
{
	file_copy(false, "writeback");
}
