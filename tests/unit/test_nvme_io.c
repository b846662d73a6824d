/* SPDX-License-Identifier: MIT */
/* NVM command set I/O (1.4 6) on ram and null namespaces. */
#include <criterion/criterion.h>
#include <string.h>

#include "devices/nvme/internal.h"
#include "tests/unit/test_nvme.h"

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7 + (i >> 9));
}

static void write_read_back(unsigned lba_size)
{
	struct tnvme t;
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[1];
	uint64_t wb, rb;
	uint32_t nlb = 65536 / lba_size;

	tn_config(&cfg, ns, 1);
	ns[0].lba_size = lba_size;
	tn_start_cfg(&t, &cfg);
	wb = tn_alloc(&t, 65536, 4096);
	rb = tn_alloc(&t, 65536, 4096);
	fill(tn_ptr(&t, wb), 65536, (uint8_t)lba_size);
	cr_assert_eq(tn_rw(&t, NVME_CMD_WRITE, 1, 3, nlb, wb, 0), 0);
	cr_assert_eq(tn_rw(&t, NVME_CMD_READ, 1, 3, nlb, rb, 0), 0);
	cr_assert_eq(memcmp(tn_ptr(&t, wb), tn_ptr(&t, rb), 65536), 0);
	cr_assert_eq(tn_rw(&t, NVME_CMD_COMPARE, 1, 3, nlb, wb, 0), 0);
	cr_assert_eq(tn_rw(&t, NVME_CMD_VERIFY, 1, 3, nlb, 0, 0), 0);
	tn_destroy(&t);
}

Test(nvme_io, write_read_compare_512)
{
	write_read_back(512);
}

Test(nvme_io, write_read_compare_4096)
{
	write_read_back(4096);
}

Test(nvme_io, compare_mismatch_is_compare_failure)
{
	struct tnvme t;
	uint64_t buf;

	tn_start(&t);
	buf = tn_alloc(&t, 4096, 4096);
	fill(tn_ptr(&t, buf), 4096, 1);
	cr_assert_eq(tn_rw(&t, NVME_CMD_WRITE, 1, 0, 8, buf, 0), 0);
	((uint8_t *)tn_ptr(&t, buf))[4000] ^= 1;
	cr_assert_eq(tn_rw(&t, NVME_CMD_COMPARE, 1, 0, 8, buf, 0), NVME_SC_COMPARE_FAILED);
	tn_destroy(&t);
}

Test(nvme_io, lba_out_of_range)
{
	struct tnvme t;
	uint64_t buf;

	tn_start(&t);
	buf = tn_alloc(&t, 4096, 4096);
	cr_assert_eq(tn_rw(&t, NVME_CMD_READ, 1, 2047, 2, buf, 0), NVME_SC_LBA_RANGE);
	cr_assert_eq(tn_rw(&t, NVME_CMD_WRITE, 1, 2048, 1, buf, 0), NVME_SC_LBA_RANGE);
	cr_assert_eq(tn_rw(&t, NVME_CMD_READ, 1, ~0ULL, 2, buf, 0), NVME_SC_LBA_RANGE);
	cr_assert_eq(tn_rw(&t, NVME_CMD_WRITE_ZEROES, 1, 2040, 9, 0, 0), NVME_SC_LBA_RANGE);
	cr_assert_eq(tn_rw(&t, NVME_CMD_VERIFY, 1, 2048, 1, 0, 0), NVME_SC_LBA_RANGE);
	cr_assert_eq(tn_rw(&t, NVME_CMD_READ, 1, 2047, 1, buf, 0), 0);
	tn_destroy(&t);
}

Test(nvme_io, transfer_above_mdts_is_invalid_field)
{
	struct tnvme t;
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[1];
	uint64_t buf;

	tn_config(&cfg, ns, 1);
	cfg.mdts_kib = 16;
	tn_start_cfg(&t, &cfg);
	buf = tn_alloc(&t, 65536, 4096);
	cr_assert_eq(tn_rw(&t, NVME_CMD_READ, 1, 0, 33, buf, 0), NVME_SC_INVALID_FIELD);
	cr_assert_eq(tn_rw(&t, NVME_CMD_READ, 1, 0, 32, buf, 0), 0);
	tn_destroy(&t);
}

Test(nvme_io, invalid_namespace_and_opcode)
{
	struct tnvme t;
	uint64_t buf;

	tn_start(&t);
	buf = tn_alloc(&t, 4096, 4096);
	cr_assert_eq(tn_rw(&t, NVME_CMD_READ, 0, 0, 1, buf, 0), NVME_SC_INVALID_NS);
	cr_assert_eq(tn_rw(&t, NVME_CMD_READ, 2, 0, 1, buf, 0), NVME_SC_INVALID_NS);
	cr_assert_eq(tn_rw(&t, NVME_CMD_WRITE, NVME_NSID_ALL, 0, 1, buf, 0), NVME_SC_INVALID_NS);
	cr_assert_eq(tn_rw(&t, 0x04, 1, 0, 1, buf, 0), NVME_SC_INVALID_OPCODE);
	cr_assert_eq(tn_rw(&t, 0x81, 1, 0, 1, buf, 0), NVME_SC_INVALID_OPCODE);
	tn_destroy(&t);
}

Test(nvme_io, write_zeroes_clears_blocks)
{
	struct tnvme t;
	uint64_t buf;
	uint8_t *p;

	tn_start(&t);
	buf = tn_alloc(&t, 8192, 4096);
	p = tn_ptr(&t, buf);
	memset(p, 0x5a, 8192);
	cr_assert_eq(tn_rw(&t, NVME_CMD_WRITE, 1, 0, 16, buf, 0), 0);
	cr_assert_eq(tn_rw(&t, NVME_CMD_WRITE_ZEROES, 1, 1, 2, 0, 0), 0);
	cr_assert_eq(tn_rw(&t, NVME_CMD_READ, 1, 0, 16, buf, 0), 0);
	cr_assert_eq(p[511], 0x5a);
	for (int i = 512; i < 1536; i++)
		cr_assert_eq(p[i], 0);
	cr_assert_eq(p[1536], 0x5a);
	tn_destroy(&t);
}

Test(nvme_io, dsm_deallocate_zeroes_ranges_and_checks_bounds)
{
	struct tnvme t;
	uint64_t buf, ranges;
	uint8_t *p, *r;
	struct nvme_sqe cmd = {.opcode = NVME_CMD_DSM, .nsid = 1, .cdw10 = 1, .cdw11 = 1u << 2};

	tn_start(&t);
	buf = tn_alloc(&t, 65536, 4096);
	p = tn_ptr(&t, buf);
	memset(p, 0x77, 65536);
	cr_assert_eq(tn_rw(&t, NVME_CMD_WRITE, 1, 0, 128, buf, 0), 0);
	ranges = tn_alloc(&t, 4096, 4096);
	r = tn_ptr(&t, ranges);
	memcpy(r + 4, &(uint32_t){8}, 4);
	memcpy(r + 8, &(uint64_t){0}, 8); /* 4 KiB at 0: whole page */
	memcpy(r + 16 + 4, &(uint32_t){3}, 4);
	memcpy(r + 16 + 8, &(uint64_t){20}, 8);
	cmd.prp1 = ranges;
	cr_assert_eq(tn_cmd(&t, 1, &cmd, NULL), 0);
	cr_assert_eq(tn_rw(&t, NVME_CMD_READ, 1, 0, 128, buf, 0), 0);
	for (int i = 0; i < 4096; i++)
		cr_assert_eq(p[i], 0);
	cr_assert_eq(p[4096], 0x77);
	cr_assert_eq(p[20 * 512 - 1], 0x77);
	for (int i = 20 * 512; i < 23 * 512; i++)
		cr_assert_eq(p[i], 0);
	cr_assert_eq(p[23 * 512], 0x77);
	memcpy(r + 16 + 8, &(uint64_t){2047}, 8);
	cr_assert_eq(tn_cmd(&t, 1, &cmd, NULL), NVME_SC_LBA_RANGE);
	tn_destroy(&t);
}

/* A ram backend that records what the controller asked of it. */
static struct {
	enum nvme_be_op op;
	bool fua;
	unsigned flushes, submits;
} rec;

static int rec_submit(struct nvme_backend *be, struct nvme_be_req *r)
{
	rec.op = r->op;
	rec.fua = r->fua;
	rec.submits++;
	if (r->op == NVME_BE_FLUSH)
		rec.flushes++;
	return nvme_backend_ram_ops.submit(be, r);
}

static struct nvme_backend_ops rec_ops;

static void install_recorder(struct tnvme *t)
{
	struct nvme_ctrl *c = t->c;

	rec_ops = nvme_backend_ram_ops;
	rec_ops.submit = rec_submit;
	for (unsigned i = 0; i < c->nr_ns; i++)
		c->ns[i].be.ops = &rec_ops;
	memset(&rec, 0, sizeof(rec));
}

Test(nvme_io, fua_reaches_the_backend)
{
	struct tnvme t;
	uint64_t buf;

	tn_start(&t);
	install_recorder(&t);
	buf = tn_alloc(&t, 4096, 4096);
	cr_assert_eq(tn_rw(&t, NVME_CMD_WRITE, 1, 0, 1, buf, 0), 0);
	cr_assert_eq(rec.op, NVME_BE_WRITE);
	cr_assert_not(rec.fua);
	cr_assert_eq(tn_rw(&t, NVME_CMD_WRITE, 1, 0, 1, buf, 1u << 30), 0);
	cr_assert(rec.fua);
	/* Volatile write cache off: every write is durable */
	cr_assert_eq(tn_cmd(&t, 0,
			    &(struct nvme_sqe){.opcode = NVME_ADM_SET_FEATURES,
					       .cdw10 = NVME_FEAT_VOLATILE_WC},
			    NULL),
		     0);
	cr_assert_eq(tn_rw(&t, NVME_CMD_WRITE, 1, 0, 1, buf, 0), 0);
	cr_assert(rec.fua);
	tn_destroy(&t);
}

Test(nvme_io, flush_one_and_all_namespaces)
{
	struct tnvme t;
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[3];

	tn_config(&cfg, ns, 3);
	tn_start_cfg(&t, &cfg);
	install_recorder(&t);
	cr_assert_eq(tn_rw(&t, NVME_CMD_FLUSH, 2, 0, 1, 0, 0), 0);
	cr_assert_eq(rec.flushes, 1);
	cr_assert_eq(tn_rw(&t, NVME_CMD_FLUSH, NVME_NSID_ALL, 0, 1, 0, 0), 0);
	cr_assert_eq(rec.flushes, 4);
	/* Shutdown flushes too */
	tn_wr32(&t, NVME_REG_CC, tn_rd32(&t, NVME_REG_CC) | 1u << 14);
	cr_assert_eq(rec.flushes, 7);
	tn_destroy(&t);
}

Test(nvme_io, smart_counters_move_after_io)
{
	struct tnvme t;
	uint64_t buf, log, v;
	uint8_t *p;

	tn_start(&t);
	buf = tn_alloc(&t, 65536, 4096);
	for (int i = 0; i < 10; i++)
		cr_assert_eq(tn_rw(&t, NVME_CMD_WRITE, 1, 0, 128, buf, 0), 0);
	cr_assert_eq(tn_rw(&t, NVME_CMD_READ, 1, 0, 1, buf, 0), 0);
	cr_assert_eq(tn_rw(&t, NVME_CMD_READ, 1, 4000, 1, buf, 0), NVME_SC_LBA_RANGE);
	cr_assert_eq(tn_get_log(&t, NVME_LOG_SMART, NVME_NSID_ALL, 512, &log), 0);
	p = tn_ptr(&t, log);
	memcpy(&v, p + 32, 8);
	cr_assert_eq(v, 1, "data units read: 1 x 512 B rounds up to 1");
	memcpy(&v, p + 48, 8);
	cr_assert_eq(v, 2, "data units written: 1280 x 512 B = 2 thousands rounded up");
	memcpy(&v, p + 64, 8);
	cr_assert_eq(v, 1, "host reads");
	memcpy(&v, p + 80, 8);
	cr_assert_eq(v, 10, "host writes");
	tn_destroy(&t);
}

Test(nvme_io, null_backend_moves_no_data)
{
	struct tnvme t;
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[1];
	uint64_t buf;

	tn_config(&cfg, ns, 1);
	ns[0].backend = "null";
	ns[0].size = 1ULL << 40; /* no memory behind it */
	tn_start_cfg(&t, &cfg);
	buf = tn_alloc(&t, 4096, 4096);
	memset(tn_ptr(&t, buf), 0x3c, 4096);
	cr_assert_eq(tn_rw(&t, NVME_CMD_WRITE, 1, 1000000, 8, buf, 0), 0);
	cr_assert_eq(tn_rw(&t, NVME_CMD_READ, 1, 1000000, 8, buf, 0), 0);
	cr_assert_eq(((uint8_t *)tn_ptr(&t, buf))[100], 0x3c);
	tn_destroy(&t);
}

Test(nvme_io, fused_operations_are_invalid_field)
{
	struct tnvme t;
	struct nvme_sqe cmd = {.opcode = NVME_CMD_READ, .nsid = 1, .flags = 1};

	tn_start(&t);
	cmd.prp1 = tn_alloc(&t, 4096, 4096);
	cr_assert_eq(tn_cmd(&t, 1, &cmd, NULL), NVME_SC_INVALID_FIELD);
	tn_destroy(&t);
}
