/* SPDX-License-Identifier: MIT */
/* Data pointers: PRP (NVMe 1.4 4.3) and SGL (4.4) edge cases through Read and Write. */
#include <criterion/criterion.h>
#include <string.h>

#include "tests/unit/test_nvme.h"

#define PG 4096ULL

/* The namespace holds byte (lba * 3 + i) at LBA `lba` offset i for the first 64 KiB. */
static void seed(struct tnvme *t)
{
	uint64_t buf = tn_alloc(t, 65536, PG);
	uint8_t *p = tn_ptr(t, buf);

	for (int i = 0; i < 65536; i++)
		p[i] = (uint8_t)((i / 512) * 3 + i % 512);
	cr_assert_eq(tn_rw(t, NVME_CMD_WRITE, 1, 0, 128, buf, 0), 0);
}

static uint8_t expect(uint64_t off)
{
	return (uint8_t)((off / 512) * 3 + off % 512);
}

static uint16_t raw(struct tnvme *t, uint8_t opc, uint32_t nlb, uint64_t prp1, uint64_t prp2,
		    uint8_t flags)
{
	struct nvme_sqe cmd = {.opcode = opc,
			       .flags = flags,
			       .nsid = 1,
			       .prp1 = prp1,
			       .prp2 = prp2,
			       .cdw12 = nlb - 1};

	return tn_cmd(t, 1, &cmd, NULL);
}

static void check(struct tnvme *t, uint64_t addr, uint64_t ns_off, uint64_t len)
{
	const uint8_t *p = tn_ptr(t, addr);

	for (uint64_t i = 0; i < len; i++)
		cr_assert_eq(p[i], expect(ns_off + i), "byte %lu", (unsigned long)i);
}

Test(nvme_prp, first_page_offset_then_second_page)
{
	struct tnvme t;
	uint64_t b;

	tn_start(&t);
	seed(&t);
	b = tn_alloc(&t, 2 * PG, PG);
	cr_assert_eq(raw(&t, NVME_CMD_READ, 8, b + 0x200, b + PG, 0), 0);
	check(&t, b + 0x200, 0, 4096);
	tn_destroy(&t);
}

Test(nvme_prp, exactly_one_page_ignores_prp2)
{
	struct tnvme t;
	uint64_t b;

	tn_start(&t);
	seed(&t);
	b = tn_alloc(&t, PG, PG);
	cr_assert_eq(raw(&t, NVME_CMD_READ, 8, b, 0xdeadbeef123ULL, 0), 0);
	check(&t, b, 0, 4096);
	tn_destroy(&t);
}

Test(nvme_prp, two_separate_pages)
{
	struct tnvme t;
	uint64_t a, b;

	tn_start(&t);
	seed(&t);
	a = tn_alloc(&t, PG, PG);
	tn_alloc(&t, PG, PG);
	b = tn_alloc(&t, PG, PG);
	cr_assert_eq(raw(&t, NVME_CMD_READ, 16, a, b, 0), 0);
	check(&t, a, 0, 4096);
	check(&t, b, 4096, 4096);
	tn_destroy(&t);
}

Test(nvme_prp, list_of_scattered_pages)
{
	struct tnvme t;
	uint64_t pages[4], list;
	uint64_t *e;

	tn_start(&t);
	seed(&t);
	for (int i = 0; i < 4; i++) {
		pages[i] = tn_alloc(&t, PG, PG);
		tn_alloc(&t, PG, PG); /* gap */
	}
	list = tn_alloc(&t, PG, PG);
	e = tn_ptr(&t, list);
	for (int i = 0; i < 3; i++)
		e[i] = pages[3 - i]; /* reverse order */
	cr_assert_eq(raw(&t, NVME_CMD_READ, 32, pages[0], list, 0), 0);
	check(&t, pages[0], 0, 4096);
	check(&t, pages[3], 4096, 4096);
	check(&t, pages[1], 3 * 4096, 4096);
	tn_destroy(&t);
}

Test(nvme_prp, list_chains_across_list_pages)
{
	struct tnvme t;
	uint64_t data, list1, list2;
	uint64_t *e1, *e2;

	tn_start(&t);
	seed(&t);
	data = tn_alloc(&t, 6 * PG, PG);
	list1 = tn_alloc(&t, PG, PG);
	list2 = tn_alloc(&t, PG, PG);
	/* First list starts 16 bytes before its page end: one data entry, then the chain. */
	e1 = tn_ptr(&t, list1 + PG - 16);
	e1[0] = data + PG;
	e1[1] = list2;
	e2 = tn_ptr(&t, list2);
	for (int i = 0; i < 4; i++)
		e2[i] = data + (2 + i) * PG;
	cr_assert_eq(raw(&t, NVME_CMD_READ, 48, data, list1 + PG - 16, 0), 0);
	check(&t, data, 0, 6 * 4096);
	tn_destroy(&t);
}

Test(nvme_prp, list_entry_with_offset_is_prp_offset_invalid)
{
	struct tnvme t;
	uint64_t data, list;
	uint64_t *e;

	tn_start(&t);
	data = tn_alloc(&t, 3 * PG, PG);
	list = tn_alloc(&t, PG, PG);
	e = tn_ptr(&t, list);
	e[0] = data + PG;
	e[1] = data + 2 * PG + 8;
	cr_assert_eq(raw(&t, NVME_CMD_READ, 24, data, list, 0), NVME_SC_PRP_INVALID_OFFSET);
	/* PRP2 as second page with an offset */
	cr_assert_eq(raw(&t, NVME_CMD_READ, 16, data, data + PG + 4, 0),
		     NVME_SC_PRP_INVALID_OFFSET);
	tn_destroy(&t);
}

Test(nvme_prp, entries_outside_memory_are_data_transfer_errors)
{
	struct tnvme t;
	uint64_t data, list;
	uint64_t *e;

	tn_start(&t);
	data = tn_alloc(&t, 2 * PG, PG);
	list = tn_alloc(&t, PG, PG);
	e = tn_ptr(&t, list);
	e[0] = data + PG;
	e[1] = 0x7ffffffff000ULL;
	cr_assert_eq(raw(&t, NVME_CMD_READ, 24, data, list, 0), NVME_SC_DATA_XFER_ERROR);
	cr_assert_eq(raw(&t, NVME_CMD_READ, 8, 0, 0, 0), NVME_SC_DATA_XFER_ERROR);
	cr_assert_eq(raw(&t, NVME_CMD_WRITE, 16, data, TN_BASE + TN_SIZE, 0),
		     NVME_SC_DATA_XFER_ERROR);
	cr_assert_eq(raw(&t, NVME_CMD_READ, 24, data, 0xfffffffffffff000ULL, 0),
		     NVME_SC_DATA_XFER_ERROR);
	cr_assert_eq(raw(&t, NVME_CMD_READ, 8, TN_BASE + TN_SIZE - 8, 0, 0),
		     NVME_SC_DATA_XFER_ERROR);
	tn_destroy(&t);
}

/* ---- SGL ---- */

static void desc(uint8_t *p, uint64_t addr, uint32_t len, uint8_t type)
{
	memset(p, 0, 16);
	memcpy(p, &addr, 8);
	memcpy(p + 8, &len, 4);
	p[15] = (uint8_t)(type << 4);
}

static uint16_t sgl_cmd(struct tnvme *t, uint8_t opc, uint32_t nlb, uint64_t addr, uint32_t len,
			uint8_t type)
{
	uint8_t d[16];
	uint64_t p1, p2;

	desc(d, addr, len, type);
	memcpy(&p1, d, 8);
	memcpy(&p2, d + 8, 8);
	return raw(t, opc, nlb, p1, p2, 1 << 6);
}

Test(nvme_sgl, single_data_block)
{
	struct tnvme t;
	uint64_t b;

	tn_start(&t);
	seed(&t);
	b = tn_alloc(&t, 8192, PG);
	cr_assert_eq(sgl_cmd(&t, NVME_CMD_READ, 4, b + 100, 2048, NVME_SGL_TYPE_DATA_BLOCK), 0);
	check(&t, b + 100, 0, 2048);
	tn_destroy(&t);
}

Test(nvme_sgl, segment_chain_with_bit_bucket)
{
	struct tnvme t;
	uint64_t b, seg1, seg2;
	uint8_t *s1, *s2;

	tn_start(&t);
	seed(&t);
	b = tn_alloc(&t, 8192, PG);
	seg1 = tn_alloc(&t, 64, 16);
	seg2 = tn_alloc(&t, 64, 16);
	s1 = tn_ptr(&t, seg1);
	s2 = tn_ptr(&t, seg2);
	desc(s1, b + 1000, 512, NVME_SGL_TYPE_DATA_BLOCK);
	desc(s1 + 16, b, 512, NVME_SGL_TYPE_DATA_BLOCK);
	desc(s1 + 32, seg2, 32, NVME_SGL_TYPE_LAST_SEGMENT);
	desc(s2, 0, 512, NVME_SGL_TYPE_BIT_BUCKET);
	desc(s2 + 16, b + 4096, 512, NVME_SGL_TYPE_DATA_BLOCK);
	cr_assert_eq(sgl_cmd(&t, NVME_CMD_READ, 4, seg1, 48, NVME_SGL_TYPE_SEGMENT), 0);
	check(&t, b + 1000, 0, 512);
	check(&t, b, 512, 512);
	check(&t, b + 4096, 1536, 512);
	tn_destroy(&t);
}

Test(nvme_sgl, write_through_last_segment_round_trips)
{
	struct tnvme t;
	uint64_t b, r, seg;
	uint8_t *s;

	tn_start(&t);
	b = tn_alloc(&t, 8192, PG);
	r = tn_alloc(&t, 8192, PG);
	memset(tn_ptr(&t, b), 0x42, 1024);
	seg = tn_alloc(&t, 32, 16);
	s = tn_ptr(&t, seg);
	desc(s, b, 700, NVME_SGL_TYPE_DATA_BLOCK);
	desc(s + 16, b + 700, 324, NVME_SGL_TYPE_DATA_BLOCK);
	cr_assert_eq(sgl_cmd(&t, NVME_CMD_WRITE, 2, seg, 32, NVME_SGL_TYPE_LAST_SEGMENT), 0);
	cr_assert_eq(tn_rw(&t, NVME_CMD_READ, 1, 0, 2, r, 0), 0);
	cr_assert_eq(memcmp(tn_ptr(&t, b), tn_ptr(&t, r), 1024), 0);
	tn_destroy(&t);
}

Test(nvme_sgl, bit_bucket_on_write_is_descriptor_type_invalid)
{
	struct tnvme t;

	tn_start(&t);
	cr_assert_eq(sgl_cmd(&t, NVME_CMD_WRITE, 1, 0, 512, NVME_SGL_TYPE_BIT_BUCKET),
		     NVME_SC_SGL_INVALID_TYPE);
	tn_destroy(&t);
}

Test(nvme_sgl, unknown_descriptor_type_is_invalid)
{
	struct tnvme t;
	uint64_t b;

	tn_start(&t);
	b = tn_alloc(&t, 4096, PG);
	cr_assert_eq(sgl_cmd(&t, NVME_CMD_READ, 1, b, 512, 0x4), NVME_SC_SGL_INVALID_TYPE);
	cr_assert_eq(sgl_cmd(&t, NVME_CMD_READ, 1, b, 512, 0xf), NVME_SC_SGL_INVALID_TYPE);
	tn_destroy(&t);
}

Test(nvme_sgl, length_mismatch_is_data_sgl_length_invalid)
{
	struct tnvme t;
	uint64_t b;

	tn_start(&t);
	b = tn_alloc(&t, 8192, PG);
	cr_assert_eq(sgl_cmd(&t, NVME_CMD_READ, 2, b, 512, NVME_SGL_TYPE_DATA_BLOCK),
		     NVME_SC_SGL_INVALID_DATA);
	cr_assert_eq(sgl_cmd(&t, NVME_CMD_READ, 1, b, 1024, NVME_SGL_TYPE_DATA_BLOCK),
		     NVME_SC_SGL_INVALID_DATA);
	tn_destroy(&t);
}

Test(nvme_sgl, too_many_descriptors_is_number_invalid)
{
	struct tnvme t;
	uint64_t seg;

	tn_start(&t);
	seg = tn_alloc(&t, 2048 * 16, PG);
	cr_assert_eq(sgl_cmd(&t, NVME_CMD_READ, 1, seg, 2048 * 16, NVME_SGL_TYPE_LAST_SEGMENT),
		     NVME_SC_SGL_INVALID_COUNT);
	tn_destroy(&t);
}

Test(nvme_sgl, malformed_segments_are_rejected)
{
	struct tnvme t;
	uint64_t b, seg;
	uint8_t *s;

	tn_start(&t);
	b = tn_alloc(&t, 4096, PG);
	seg = tn_alloc(&t, 64, 16);
	s = tn_ptr(&t, seg);
	cr_assert_eq(sgl_cmd(&t, NVME_CMD_READ, 1, seg, 24, NVME_SGL_TYPE_LAST_SEGMENT),
		     NVME_SC_SGL_INVALID_SEG);
	/* a segment pointer inside a Last Segment */
	desc(s, seg, 16, NVME_SGL_TYPE_SEGMENT);
	cr_assert_eq(sgl_cmd(&t, NVME_CMD_READ, 1, seg, 16, NVME_SGL_TYPE_LAST_SEGMENT),
		     NVME_SC_SGL_INVALID_SEG);
	/* a segment pointing to itself forever stops at the descriptor limit */
	desc(s, b, 0, NVME_SGL_TYPE_DATA_BLOCK);
	desc(s + 16, seg, 32, NVME_SGL_TYPE_SEGMENT);
	cr_assert_eq(sgl_cmd(&t, NVME_CMD_READ, 1, seg, 32, NVME_SGL_TYPE_SEGMENT),
		     NVME_SC_SGL_INVALID_COUNT);
	/* list outside memory */
	cr_assert_eq(sgl_cmd(&t, NVME_CMD_READ, 1, 0x10, 32, NVME_SGL_TYPE_SEGMENT),
		     NVME_SC_DATA_XFER_ERROR);
	tn_destroy(&t);
}

Test(nvme_sgl, psdt_reserved_value_is_invalid_field)
{
	struct tnvme t;
	uint64_t b;

	tn_start(&t);
	b = tn_alloc(&t, 4096, PG);
	cr_assert_eq(raw(&t, NVME_CMD_READ, 1, b, 0, 3 << 6), NVME_SC_INVALID_FIELD);
	tn_destroy(&t);
}
