/* SPDX-License-Identifier: MIT */
/*
 * Metadata and end-to-end protection (devices/nvme/pi.c; NVM Command Set 1.0 5.2, 5.3):
 * CRC16 T10-DIF, LBA formats in Identify, separate (MPTR, contiguous and SGL) and extended
 * metadata, PI types 1-3 with their checks and statuses, PRACT insert and strip, Write Zeroes,
 * Compare, Verify, Deallocate, Format NVM, hostile metadata pointers, the file layout.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/nvme/internal.h"
#include "tests/unit/test_nvme.h"

#define PRACT	  (1u << 29)
#define PRCHK_G	  (1u << 28)
#define PRCHK_A	  (1u << 27)
#define PRCHK_R	  (1u << 26)
#define PRCHK_ALL (PRCHK_G | PRCHK_A | PRCHK_R)
#define NS_BYTES  (1u << 20)

struct pins {
	unsigned lba, ms, pi;
	bool ext, first;
	const char *backend, *path;
};

static void start(struct tnvme *t, struct pins p)
{
	struct nvme_ctrl_config cfg;
	static struct nvme_ns_config ns[1];

	tn_config(&cfg, ns, 1);
	ns[0].lba_size = p.lba ? p.lba : 512;
	ns[0].metadata_size = p.ms;
	ns[0].extended_lba = p.ext;
	ns[0].pi_type = p.pi;
	ns[0].pi_first = p.first;
	if (p.backend) {
		ns[0].backend = p.backend;
		ns[0].path = p.path;
		ns[0].size = 0;
	}
	cfg.no_iothread = true;
	tn_start_cfg(t, &cfg);
}

/* Submit on queue 1 and wait for the CQE (it may come from the I/O thread). */
static uint16_t tn_cmd_wait(struct tnvme *t, struct nvme_sqe *cmd)
{
	struct nvme_cqe e;
	uint16_t cid = tn_put(t, 1, cmd);

	tn_ring_sq(t, 1);
	for (int i = 0; i < 5000000; i++) {
		if (tn_poll(t, 1, &e)) {
			cr_assert_eq(e.cid, cid);
			return tn_status(&e);
		}
		usleep(1);
	}
	cr_assert_fail("no completion for opcode 0x%x", cmd->opcode);
	return 0xffff;
}

/* PRP1/PRP2 (and a list) for len bytes at buf (PRP1 may start inside a page). */
static void set_prps(struct tnvme *t, struct nvme_sqe *cmd, uint64_t buf, uint64_t len)
{
	uint64_t first = 4096 - (buf & 4095), next = buf + first;
	uint64_t pages = len > first ? (len - first + 4095) / 4096 : 0;

	cmd->prp1 = buf;
	if (pages == 1) {
		cmd->prp2 = next;
	} else if (pages > 1) {
		uint64_t list = tn_alloc(t, pages * 8, 4096);
		uint64_t *e = tn_ptr(t, list);

		for (uint64_t i = 0; i < pages; i++)
			e[i] = next + i * 4096;
		cmd->prp2 = list;
	}
}

struct io {
	uint8_t opc;
	uint64_t slba;
	uint32_t nlb, flags; /* CDW12 bits beyond NLB */
	uint64_t buf, len, mptr;
	uint32_t ilbrt;
	uint16_t lbat, lbatm;
	uint8_t psdt;
};

static uint16_t io(struct tnvme *t, struct io o)
{
	struct nvme_sqe cmd = {.opcode = o.opc,
			       .nsid = 1,
			       .flags = (uint8_t)(o.psdt << 6),
			       .mptr = o.mptr,
			       .cdw10 = (uint32_t)o.slba,
			       .cdw11 = (uint32_t)(o.slba >> 32),
			       .cdw12 = (o.nlb - 1) | o.flags,
			       .cdw14 = o.ilbrt,
			       .cdw15 = o.lbat | (uint32_t)o.lbatm << 16};

	if (o.len)
		set_prps(t, &cmd, o.buf, o.len);
	return tn_cmd(t, 1, &cmd, NULL);
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed * 17 + i * 7 + (i >> 8));
}

/* A PI tuple (big-endian) at t for data of bs bytes; crc_md: metadata bytes before it. */
static void put_tuple(uint8_t *t, const uint8_t *data, unsigned bs, const uint8_t *md,
		      unsigned crc_md, uint16_t app, uint32_t ref)
{
	uint16_t g = nvme_crc16_t10dif(nvme_crc16_t10dif(0, data, bs), md, crc_md);

	t[0] = (uint8_t)(g >> 8);
	t[1] = (uint8_t)g;
	t[2] = (uint8_t)(app >> 8);
	t[3] = (uint8_t)app;
	t[4] = (uint8_t)(ref >> 24);
	t[5] = (uint8_t)(ref >> 16);
	t[6] = (uint8_t)(ref >> 8);
	t[7] = (uint8_t)ref;
}

static uint32_t tuple_ref(const uint8_t *t)
{
	return (uint32_t)t[4] << 24 | (uint32_t)t[5] << 16 | (uint32_t)t[6] << 8 | t[7];
}

static uint16_t tuple_app(const uint8_t *t)
{
	return (uint16_t)(t[2] << 8 | t[3]);
}

/* nlb blocks of 512-byte data at buf with 8-byte PI tuples at md (separate). */
struct sep {
	uint64_t buf, md;
	uint8_t *d, *m;
};

static struct sep sep_buffers(struct tnvme *t, uint32_t nlb, unsigned ms)
{
	struct sep s = {.buf = tn_alloc(t, nlb * 512ULL, 4096),
			.md = tn_alloc(t, (uint64_t)nlb * ms, 4096)};

	s.d = tn_ptr(t, s.buf);
	s.m = tn_ptr(t, s.md);
	return s;
}

static void sep_pi(struct sep *s, uint32_t nlb, uint16_t app, uint32_t ref0, bool incr)
{
	for (uint32_t i = 0; i < nlb; i++)
		put_tuple(s->m + 8 * i, s->d + 512 * i, 512, NULL, 0, app, incr ? ref0 + i : ref0);
}

/* ---- CRC16 T10-DIF ---- */

Test(nvme_pi, crc16_t10dif_check_value)
{
	/* The catalogued check value of CRC-16/T10-DIF over "123456789". */
	cr_assert_eq(nvme_crc16_t10dif(0, "123456789", 9), 0xd0db);
	/* Incremental: a split computation gives the same CRC. */
	cr_assert_eq(nvme_crc16_t10dif(nvme_crc16_t10dif(0, "12345", 5), "6789", 4), 0xd0db);
	uint8_t blk[512];

	memset(blk, 0, sizeof(blk));
	cr_assert_eq(nvme_crc16_t10dif(0, blk, sizeof(blk)), 0);
	/* Values from an independent bitwise implementation (MSB first, poly 8BB7h) */
	memset(blk, 0xff, sizeof(blk));
	cr_assert_eq(nvme_crc16_t10dif(0, blk, sizeof(blk)), 0xe6a1);
	for (int i = 0; i < 512; i++)
		blk[i] = (uint8_t)i;
	cr_assert_eq(nvme_crc16_t10dif(0, blk, sizeof(blk)), 0x4f10);
}

/* ---- Identify ---- */

Test(nvme_pi, identify_reports_formats_and_protection)
{
	struct tnvme t;
	uint64_t id;
	uint8_t *p;
	uint32_t lbaf;
	uint64_t nsze;

	start(&t, (struct pins){.ms = 16, .pi = 2, .first = true, .ext = true});
	cr_assert_eq(tn_identify(&t, NVME_ID_CNS_NS, 1, &id), 0);
	p = tn_ptr(&t, id);
	cr_assert_eq(p[25], 7, "NLBAF");
	cr_assert_eq(p[26], 3 | 1u << 4, "FLBAS: LBAF 3 (512 + 16), extended");
	memcpy(&lbaf, p + 128 + 4 * 3, 4);
	cr_assert_eq(lbaf & 0xffff, 16, "LBAF3 MS");
	cr_assert_eq((lbaf >> 16) & 0xff, 9, "LBAF3 LBADS");
	memcpy(&lbaf, p + 128 + 4 * 7, 4);
	cr_assert_eq(lbaf & 0xffff, 64);
	cr_assert_eq((lbaf >> 16) & 0xff, 12);
	cr_assert_eq(p[27], 3, "MC: extended and separate");
	cr_assert_eq(p[28], 0x1f, "DPC");
	cr_assert_eq(p[29], 2 | 1u << 3, "DPS: type 2, first");
	memcpy(&nsze, p, 8);
	/* 1 MiB holds the data and the metadata: fewer than 2048 blocks, all of them fit */
	cr_assert_lt(nsze, 2048);
	cr_assert_geq(((nsze * 512 + 4095) & ~4095ULL) + nsze * 16, NS_BYTES - 528 - 4096);
	cr_assert_leq(((nsze * 512 + 4095) & ~4095ULL) + nsze * 16, NS_BYTES);
	cr_assert_eq(tn_identify(&t, NVME_ID_CNS_CTRL, 0, &id), 0);
	memcpy(&lbaf, (uint8_t *)tn_ptr(&t, id) + 536, 4);
	cr_assert(lbaf & 1u << 19, "SGLS: MPTR to an SGL descriptor");
	tn_destroy(&t);
}

/* ---- Separate buffer, type 1 ---- */

Test(nvme_pi, type1_separate_round_trip_with_all_checks)
{
	struct tnvme t;
	struct sep w, r;

	start(&t, (struct pins){.ms = 8, .pi = 1});
	w = sep_buffers(&t, 8, 8);
	r = sep_buffers(&t, 8, 8);
	fill(w.d, 8 * 512, 1);
	sep_pi(&w, 8, 0x1234, 100, true);
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_WRITE,
					.slba = 100,
					.nlb = 8,
					.flags = PRCHK_ALL,
					.buf = w.buf,
					.len = 4096,
					.mptr = w.md,
					.ilbrt = 100,
					.lbat = 0x1234,
					.lbatm = 0xffff}),
		     0);
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_READ,
					.slba = 100,
					.nlb = 8,
					.flags = PRCHK_ALL,
					.buf = r.buf,
					.len = 4096,
					.mptr = r.md,
					.ilbrt = 100,
					.lbat = 0x1234,
					.lbatm = 0xffff}),
		     0);
	cr_assert_arr_eq(r.d, w.d, 4096);
	cr_assert_arr_eq(r.m, w.m, 64, "the tuples come back as written");
	tn_destroy(&t);
}

Test(nvme_pi, write_with_bad_guard_is_guard_error_and_stores_nothing)
{
	struct tnvme t;
	struct sep w, r;

	start(&t, (struct pins){.ms = 8, .pi = 1});
	w = sep_buffers(&t, 4, 8);
	r = sep_buffers(&t, 4, 8);
	fill(w.d, 4 * 512, 2);
	sep_pi(&w, 4, 0, 0, true);
	w.m[8 * 2] ^= 0x40; /* block 2's guard */
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_WRITE,
					.nlb = 4,
					.flags = PRCHK_G,
					.buf = w.buf,
					.len = 2048,
					.mptr = w.md}),
		     NVME_SC_GUARD_CHECK);
	/* Without the guard check the same write goes through (and is then caught on read). */
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_READ,
					.nlb = 4,
					.flags = PRCHK_ALL,
					.buf = r.buf,
					.len = 2048,
					.mptr = r.md}),
		     0, "nothing was stored: the blocks still read as deallocated");
	for (int i = 0; i < 2048; i++)
		cr_assert_eq(r.d[i], 0);
	for (int i = 0; i < 32; i++)
		cr_assert_eq(r.m[i], 0xff, "a deallocated block's tuple is all ones");
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_WRITE,
					.nlb = 4,
					.flags = PRCHK_A | PRCHK_R,
					.buf = w.buf,
					.len = 2048,
					.mptr = w.md}),
		     0);
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_READ,
					.nlb = 4,
					.flags = PRCHK_G,
					.buf = r.buf,
					.len = 2048,
					.mptr = r.md}),
		     NVME_SC_GUARD_CHECK, "the stored bad guard is caught on read");
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_READ,
					.nlb = 2,
					.flags = PRCHK_G,
					.buf = r.buf,
					.len = 1024,
					.mptr = r.md}),
		     0, "blocks 0-1 are fine");
	tn_destroy(&t);
}

Test(nvme_pi, application_tag_mismatch_under_mask)
{
	struct tnvme t;
	struct sep w;

	start(&t, (struct pins){.ms = 8, .pi = 1});
	w = sep_buffers(&t, 2, 8);
	fill(w.d, 1024, 3);
	sep_pi(&w, 2, 0xab12, 0, true);
	/* LBATM selects the bits compared: high byte equal, low byte differs */
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_WRITE,
					.nlb = 2,
					.flags = PRCHK_A,
					.buf = w.buf,
					.len = 1024,
					.mptr = w.md,
					.lbat = 0xab00,
					.lbatm = 0xff00}),
		     0);
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_WRITE,
					.nlb = 2,
					.flags = PRCHK_A,
					.buf = w.buf,
					.len = 1024,
					.mptr = w.md,
					.lbat = 0xab00,
					.lbatm = 0xffff}),
		     NVME_SC_APPTAG_CHECK);
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_READ,
					.nlb = 2,
					.flags = PRCHK_A,
					.buf = w.buf,
					.len = 1024,
					.mptr = w.md,
					.lbat = 0x1111,
					.lbatm = 0x00ff}),
		     NVME_SC_APPTAG_CHECK, "read: 12h vs 11h under mask 00FFh");
	tn_destroy(&t);
}

Test(nvme_pi, type1_reference_tag_rules)
{
	struct tnvme t;
	struct sep w;

	start(&t, (struct pins){.ms = 8, .pi = 1});
	w = sep_buffers(&t, 4, 8);
	fill(w.d, 2048, 4);
	sep_pi(&w, 4, 0, 7, true);
	/* Type 1: ILBRT must be the SLBA's low 32 bits when the Reference Tag is checked */
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_WRITE,
					.slba = 7,
					.nlb = 4,
					.flags = PRCHK_R,
					.buf = w.buf,
					.len = 2048,
					.mptr = w.md,
					.ilbrt = 8}),
		     NVME_SC_INVALID_PI);
	w.m[8 * 3 + 7] ^= 1; /* block 3: reference tag 11 becomes 10 */
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_WRITE,
					.slba = 7,
					.nlb = 4,
					.flags = PRCHK_R,
					.buf = w.buf,
					.len = 2048,
					.mptr = w.md,
					.ilbrt = 7}),
		     NVME_SC_REFTAG_CHECK);
	w.m[8 * 3 + 7] ^= 1;
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_WRITE,
					.slba = 7,
					.nlb = 4,
					.flags = PRCHK_ALL,
					.buf = w.buf,
					.len = 2048,
					.mptr = w.md,
					.ilbrt = 7}),
		     0);
	/* Read from SLBA 9: the tags count up from ILBRT 9 */
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_READ,
					.slba = 9,
					.nlb = 2,
					.flags = PRCHK_R,
					.buf = w.buf,
					.len = 1024,
					.mptr = w.md,
					.ilbrt = 9}),
		     0);
	cr_assert_eq(tuple_ref(w.m + 8), 10);
	tn_destroy(&t);
}

Test(nvme_pi, type2_reference_tags_count_from_any_ilbrt)
{
	struct tnvme t;
	struct sep w;

	start(&t, (struct pins){.ms = 8, .pi = 2});
	w = sep_buffers(&t, 3, 8);
	fill(w.d, 1536, 5);
	sep_pi(&w, 3, 0, 0xfffffffe, true); /* wraps modulo 2^32 */
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_WRITE,
					.slba = 5,
					.nlb = 3,
					.flags = PRCHK_ALL,
					.buf = w.buf,
					.len = 1536,
					.mptr = w.md,
					.ilbrt = 0xfffffffe}),
		     0);
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_READ,
					.slba = 5,
					.nlb = 3,
					.flags = PRCHK_R,
					.buf = w.buf,
					.len = 1536,
					.mptr = w.md,
					.ilbrt = 0xffffffff}),
		     NVME_SC_REFTAG_CHECK);
	tn_destroy(&t);
}

Test(nvme_pi, type3_reference_tag_constant_and_escape_needs_both_tags)
{
	struct tnvme t;
	struct sep w;

	start(&t, (struct pins){.ms = 8, .pi = 3});
	w = sep_buffers(&t, 2, 8);
	fill(w.d, 1024, 6);
	sep_pi(&w, 2, 0, 0x55, false); /* type 3: one reference tag for every block */
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_WRITE,
					.slba = 3,
					.nlb = 2,
					.flags = PRCHK_ALL,
					.buf = w.buf,
					.len = 1024,
					.mptr = w.md,
					.ilbrt = 0x55}),
		     0, "no SLBA rule for type 3, no increment");
	/* Application Tag FFFFh alone does not disable type 3 checking ... */
	put_tuple(w.m, w.d, 512, NULL, 0, 0xffff, 0x55);
	w.m[0] ^= 1;
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_WRITE,
					.nlb = 1,
					.flags = PRCHK_G,
					.buf = w.buf,
					.len = 512,
					.mptr = w.md}),
		     NVME_SC_GUARD_CHECK);
	/* ... with Reference Tag FFFFFFFFh it does */
	put_tuple(w.m, w.d, 512, NULL, 0, 0xffff, 0xffffffff);
	w.m[0] ^= 1;
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_WRITE,
					.nlb = 1,
					.flags = PRCHK_G,
					.buf = w.buf,
					.len = 512,
					.mptr = w.md}),
		     0);
	tn_destroy(&t);
}

Test(nvme_pi, type1_application_tag_ffff_disables_checking)
{
	struct tnvme t;
	struct sep w;

	start(&t, (struct pins){.ms = 8, .pi = 1});
	w = sep_buffers(&t, 1, 8);
	fill(w.d, 512, 7);
	put_tuple(w.m, w.d, 512, NULL, 0, 0xffff, 12345);
	w.m[1] ^= 0xff; /* bad guard, wrong reference tag: not checked */
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_WRITE,
					.nlb = 1,
					.flags = PRCHK_G | PRCHK_A,
					.buf = w.buf,
					.len = 512,
					.mptr = w.md,
					.lbat = 1,
					.lbatm = 0xffff}),
		     0);
	tn_destroy(&t);
}

/* ---- PRACT ---- */

Test(nvme_pi, pract_inserts_on_write_and_strips_on_read)
{
	struct tnvme t;
	struct sep w, r;

	start(&t, (struct pins){.ms = 8, .pi = 1});
	w = sep_buffers(&t, 4, 8);
	r = sep_buffers(&t, 4, 8);
	fill(w.d, 2048, 8);
	/* MS = 8 with PRACT: no metadata moves, so MPTR is not even looked at */
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_WRITE,
					.slba = 20,
					.nlb = 4,
					.flags = PRACT | PRCHK_ALL,
					.buf = w.buf,
					.len = 2048,
					.mptr = 0xdead0000000ULL,
					.ilbrt = 20,
					.lbat = 0x7788}),
		     0);
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_READ,
					.slba = 20,
					.nlb = 4,
					.flags = PRCHK_ALL,
					.buf = r.buf,
					.len = 2048,
					.mptr = r.md,
					.ilbrt = 20,
					.lbat = 0x7788,
					.lbatm = 0xffff}),
		     0, "the inserted tuples pass every check");
	for (uint32_t i = 0; i < 4; i++) {
		uint8_t want[8];

		put_tuple(want, w.d + 512 * i, 512, NULL, 0, 0x7788, 20 + i);
		cr_assert_arr_eq(r.m + 8 * i, want, 8, "block %u: generated tuple", i);
	}
	memset(r.d, 0, 2048);
	memset(r.m, 0x5a, 32);
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_READ,
					.slba = 20,
					.nlb = 4,
					.flags = PRACT | PRCHK_ALL,
					.buf = r.buf,
					.len = 2048,
					.mptr = 0xdead0000000ULL,
					.ilbrt = 20,
					.lbat = 0x7788,
					.lbatm = 0xffff}),
		     0);
	cr_assert_arr_eq(r.d, w.d, 2048);
	cr_assert_eq(r.m[0], 0x5a, "stripped: nothing written to a metadata buffer");
	/* Stripping still checks: a wrong expected application tag fails */
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_READ,
					.slba = 20,
					.nlb = 4,
					.flags = PRACT | PRCHK_A,
					.buf = r.buf,
					.len = 2048,
					.lbat = 0x7789,
					.lbatm = 0xffff}),
		     NVME_SC_APPTAG_CHECK);
	tn_destroy(&t);
}

Test(nvme_pi, pract_with_16_bytes_keeps_host_metadata_and_pi_last_guard_covers_it)
{
	struct tnvme t;
	struct sep w, r;

	start(&t, (struct pins){.ms = 16, .pi = 1}); /* tuple in the last 8 bytes */
	w = sep_buffers(&t, 2, 16);
	r = sep_buffers(&t, 2, 16);
	fill(w.d, 1024, 9);
	fill(w.m, 32, 10);
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_WRITE,
					.nlb = 2,
					.flags = PRACT,
					.buf = w.buf,
					.len = 1024,
					.mptr = w.md,
					.lbat = 3}),
		     0);
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_READ,
					.nlb = 2,
					.flags = PRCHK_ALL,
					.buf = r.buf,
					.len = 1024,
					.mptr = r.md,
					.lbat = 3,
					.lbatm = 0xffff}),
		     0);
	for (int i = 0; i < 2; i++) {
		uint8_t want[8];

		cr_assert_arr_eq(r.m + 16 * i, w.m + 16 * i, 8, "host bytes kept");
		put_tuple(want, w.d + 512 * i, 512, w.m + 16 * i, 8, 3, (uint32_t)i);
		cr_assert_arr_eq(r.m + 16 * i + 8, want, 8, "guard over data + 8 metadata bytes");
	}
	/* A guard over the data alone is wrong when the tuple is last */
	put_tuple(w.m + 8, w.d, 512, NULL, 0, 3, 0);
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_WRITE,
					.nlb = 1,
					.flags = PRCHK_G,
					.buf = w.buf,
					.len = 512,
					.mptr = w.md}),
		     NVME_SC_GUARD_CHECK);
	tn_destroy(&t);
}

Test(nvme_pi, pi_first_guard_covers_data_only)
{
	struct tnvme t;
	struct sep w;

	start(&t, (struct pins){.ms = 64, .pi = 1, .first = true, .lba = 4096});
	w.buf = tn_alloc(&t, 4096, 4096);
	w.md = tn_alloc(&t, 64, 64);
	w.d = tn_ptr(&t, w.buf);
	w.m = tn_ptr(&t, w.md);
	fill(w.d, 4096, 11);
	fill(w.m, 64, 12);
	put_tuple(w.m, w.d, 4096, NULL, 0, 0, 0);
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_WRITE,
					.nlb = 1,
					.flags = PRCHK_ALL,
					.buf = w.buf,
					.len = 4096,
					.mptr = w.md}),
		     0);
	tn_destroy(&t);
}

/* ---- Extended LBA ---- */

Test(nvme_pi, extended_lba_interleaves_metadata_and_pract_drops_it)
{
	struct tnvme t;
	uint64_t wb, rb;
	uint8_t *w, *r;

	start(&t, (struct pins){.ms = 8, .pi = 1, .ext = true});
	wb = tn_alloc(&t, 8192, 4096);
	rb = tn_alloc(&t, 8192, 4096);
	w = tn_ptr(&t, wb);
	r = tn_ptr(&t, rb);
	for (int i = 0; i < 4; i++) {
		fill(w + 520 * i, 512, 20 + (unsigned)i);
		put_tuple(w + 520 * i + 512, w + 520 * i, 512, NULL, 0, 0x10, 40 + (uint32_t)i);
	}
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_WRITE,
					.slba = 40,
					.nlb = 4,
					.flags = PRCHK_ALL,
					.buf = wb,
					.len = 2080,
					.ilbrt = 40,
					.lbat = 0x10,
					.lbatm = 0xffff}),
		     0);
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_READ,
					.slba = 40,
					.nlb = 4,
					.flags = PRCHK_ALL,
					.buf = rb,
					.len = 2080,
					.ilbrt = 40,
					.lbat = 0x10,
					.lbatm = 0xffff}),
		     0);
	cr_assert_arr_eq(r, w, 2080);
	/* PRACT, MS = 8: the data buffer holds the data alone */
	memset(r, 0, 8192);
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_READ,
					.slba = 40,
					.nlb = 4,
					.flags = PRACT | PRCHK_ALL,
					.buf = rb,
					.len = 2048,
					.ilbrt = 40}),
		     0);
	for (int i = 0; i < 4; i++)
		cr_assert_arr_eq(r + 512 * i, w + 520 * i, 512);
	cr_assert_eq(r[2048], 0, "nothing past the data");
	/* A corrupt interleaved tuple is caught */
	w[520 * 2 + 512 + 3] ^= 1; /* block 2 application tag */
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_WRITE,
					.slba = 40,
					.nlb = 4,
					.flags = PRCHK_A,
					.buf = wb,
					.len = 2080,
					.lbat = 0x10,
					.lbatm = 0xffff}),
		     NVME_SC_APPTAG_CHECK);
	tn_destroy(&t);
}

Test(nvme_pi, extended_lba_transfer_counts_against_mdts)
{
	struct tnvme t;
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[1];
	uint64_t buf;

	tn_config(&cfg, ns, 1);
	ns[0].metadata_size = 64;
	ns[0].extended_lba = true;
	cfg.mdts_kib = 16;
	tn_start_cfg(&t, &cfg);
	buf = tn_alloc(&t, 32768, 4096);
	/* 32 blocks: 16 KiB of data, 18 KiB with their metadata */
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_READ, .nlb = 32, .buf = buf, .len = 18432}),
		     NVME_SC_INVALID_FIELD);
	cr_assert_eq(
		io(&t, (struct io){.opc = NVME_CMD_READ, .nlb = 28, .buf = buf, .len = 28 * 576}),
		0);
	tn_destroy(&t);
}

Test(nvme_pi, metadata_without_pi_round_trips_and_ignores_prinfo)
{
	struct tnvme t;
	struct sep w, r;

	start(&t, (struct pins){.ms = 64});
	w = sep_buffers(&t, 2, 64);
	r = sep_buffers(&t, 2, 64);
	fill(w.d, 1024, 13);
	fill(w.m, 128, 14);
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_WRITE,
					.nlb = 2,
					.flags = PRACT | PRCHK_ALL,
					.buf = w.buf,
					.len = 1024,
					.mptr = w.md}),
		     0);
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_READ,
					.nlb = 2,
					.flags = PRACT | PRCHK_ALL,
					.buf = r.buf,
					.len = 1024,
					.mptr = r.md}),
		     0);
	cr_assert_arr_eq(r.m, w.m, 128);
	cr_assert_arr_eq(r.d, w.d, 1024);
	tn_destroy(&t);
}

/* ---- Metadata pointers ---- */

Test(nvme_pi, hostile_metadata_pointers)
{
	struct tnvme t;
	struct sep w;
	uint64_t sgl;
	struct nvme_sgl_desc *d;

	start(&t, (struct pins){.ms = 8, .pi = 1});
	w = sep_buffers(&t, 4, 8);
	fill(w.d, 2048, 15);
	sep_pi(&w, 4, 0, 0, true);
	struct io o = {
		.opc = NVME_CMD_WRITE, .nlb = 4, .flags = PRCHK_ALL, .buf = w.buf, .len = 2048};
	o.mptr = 0;
	cr_assert_eq(io(&t, o), NVME_SC_DATA_XFER_ERROR, "MPTR 0: below guest RAM");
	o.mptr = TN_BASE + TN_SIZE - 16; /* 32 bytes needed, 16 left */
	cr_assert_eq(io(&t, o), NVME_SC_DATA_XFER_ERROR, "runs past the end of RAM");
	o.mptr = ~0ULL - 7;
	cr_assert_eq(io(&t, o), NVME_SC_DATA_XFER_ERROR, "wraps around");
	o.mptr = w.md + 2;
	cr_assert_eq(io(&t, o), NVME_SC_INVALID_FIELD, "not dword aligned");
	o.opc = NVME_CMD_READ;
	o.mptr = TN_BASE + TN_SIZE;
	cr_assert_eq(io(&t, o), NVME_SC_DATA_XFER_ERROR, "read: just past RAM");

	/* PSDT 10b: MPTR points to an SGL descriptor. SGL1 describes the data. */
	sgl = tn_alloc(&t, 64, 16);
	d = tn_ptr(&t, sgl);
	struct nvme_sqe cmd = {.opcode = NVME_CMD_WRITE,
			       .nsid = 1,
			       .flags = NVME_PSDT_SGL_MPTR_SGL << 6,
			       .mptr = sgl,
			       .cdw12 = 3 | PRCHK_ALL};
	struct nvme_sgl_desc data = {.addr = w.buf, .len = 2048};

	memcpy(&cmd.prp1, &data, 16);
	d[0] = (struct nvme_sgl_desc){.addr = w.md, .len = 32};
	cr_assert_eq(tn_cmd(&t, 1, &cmd, NULL), 0, "metadata through an SGL data block");
	d[0] = (struct nvme_sgl_desc){.addr = w.md, .len = 16};
	d[1] = (struct nvme_sgl_desc){.addr = w.md + 16, .len = 16};
	d[2] = (struct nvme_sgl_desc){
		.addr = sgl, .len = 32, .type = NVME_SGL_TYPE_LAST_SEGMENT << 4};
	cmd.mptr = sgl + 32;
	cr_assert_eq(tn_cmd(&t, 1, &cmd, NULL), 0, "metadata through a Last Segment of two");
	d[0] = (struct nvme_sgl_desc){.addr = TN_BASE + TN_SIZE - 8, .len = 32};
	cmd.mptr = sgl;
	cr_assert_eq(tn_cmd(&t, 1, &cmd, NULL), NVME_SC_DATA_XFER_ERROR, "SGL block past RAM");
	cmd.mptr = TN_BASE + TN_SIZE - 8;
	cr_assert_eq(tn_cmd(&t, 1, &cmd, NULL), NVME_SC_DATA_XFER_ERROR, "descriptor past RAM");
	cmd.mptr = sgl + 4;
	cr_assert_eq(tn_cmd(&t, 1, &cmd, NULL), NVME_SC_INVALID_FIELD, "not qword aligned");
	d[0] = (struct nvme_sgl_desc){.addr = w.md, .len = 16};
	cmd.mptr = sgl;
	cr_assert_eq(tn_cmd(&t, 1, &cmd, NULL), NVME_SC_SGL_INVALID_DATA, "16 of 32 bytes");
	tn_destroy(&t);
}

/* ---- Write Zeroes, Deallocate, Compare, Verify, Copy ---- */

Test(nvme_pi, write_zeroes_with_pract_writes_tuples_and_without_reads_deallocated)
{
	struct tnvme t;
	struct sep w, r;
	struct nvme_sqe wz = {.opcode = NVME_CMD_WRITE_ZEROES,
			      .nsid = 1,
			      .cdw10 = 10,
			      .cdw12 = 3 | PRACT,
			      .cdw14 = 10,
			      .cdw15 = 0x4242};

	start(&t, (struct pins){.ms = 8, .pi = 1});
	w = sep_buffers(&t, 4, 8);
	r = sep_buffers(&t, 4, 8);
	fill(w.d, 2048, 16);
	sep_pi(&w, 4, 0, 10, true);
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_WRITE,
					.slba = 10,
					.nlb = 4,
					.buf = w.buf,
					.len = 2048,
					.mptr = w.md}),
		     0);
	cr_assert_eq(tn_cmd(&t, 1, &wz, NULL), 0);
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_READ,
					.slba = 10,
					.nlb = 4,
					.flags = PRCHK_ALL,
					.buf = r.buf,
					.len = 2048,
					.mptr = r.md,
					.ilbrt = 10,
					.lbat = 0x4242,
					.lbatm = 0xffff}),
		     0);
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(r.m[8 * i], 0, "guard of zeroes");
		cr_assert_eq(tuple_app(r.m + 8 * i), 0x4242);
		cr_assert_eq(tuple_ref(r.m + 8 * i), 10 + (uint32_t)i);
	}
	wz.cdw12 = 3;
	cr_assert_eq(tn_cmd(&t, 1, &wz, NULL), 0);
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_READ,
					.slba = 10,
					.nlb = 4,
					.buf = r.buf,
					.len = 2048,
					.mptr = r.md}),
		     0);
	for (int i = 0; i < 32; i++)
		cr_assert_eq(r.m[i], 0xff, "without PRACT: the tuples of deallocated blocks");
	tn_destroy(&t);
}

Test(nvme_pi, deallocate_clears_the_metadata)
{
	struct tnvme t;
	struct sep w, r;
	uint64_t rng;
	uint8_t *p;

	start(&t, (struct pins){.ms = 16, .pi = 1});
	w = sep_buffers(&t, 2, 16);
	r = sep_buffers(&t, 2, 16);
	fill(w.d, 1024, 17);
	fill(w.m, 32, 18);
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_WRITE,
					.slba = 64,
					.nlb = 2,
					.flags = PRACT,
					.buf = w.buf,
					.len = 1024,
					.mptr = w.md,
					.ilbrt = 64}),
		     0);
	rng = tn_alloc(&t, 4096, 4096);
	p = tn_ptr(&t, rng);
	memset(p, 0, 16);
	p[4] = 2;  /* NLB */
	p[8] = 64; /* SLBA */
	struct nvme_sqe dsm = {.opcode = NVME_CMD_DSM, .nsid = 1, .cdw11 = 1u << 2, .prp1 = rng};
	cr_assert_eq(tn_cmd(&t, 1, &dsm, NULL), 0);
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_READ,
					.slba = 64,
					.nlb = 2,
					.flags = PRCHK_ALL,
					.buf = r.buf,
					.len = 1024,
					.mptr = r.md,
					.ilbrt = 64}),
		     0);
	for (int i = 0; i < 32; i++)
		cr_assert_eq(r.m[i], (i % 16) < 8 ? 0 : 0xff, "byte %d", i);
	tn_destroy(&t);
}

Test(nvme_pi, compare_covers_metadata_and_checks_pi)
{
	struct tnvme t;
	struct sep w;

	start(&t, (struct pins){.ms = 8, .pi = 1});
	w = sep_buffers(&t, 2, 8);
	fill(w.d, 1024, 19);
	sep_pi(&w, 2, 0x99, 0, true);
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_WRITE,
					.nlb = 2,
					.buf = w.buf,
					.len = 1024,
					.mptr = w.md}),
		     0);
	struct io c = {.opc = NVME_CMD_COMPARE,
		       .nlb = 2,
		       .flags = PRCHK_ALL,
		       .buf = w.buf,
		       .len = 1024,
		       .mptr = w.md,
		       .lbat = 0x99,
		       .lbatm = 0xffff};
	cr_assert_eq(io(&t, c), 0);
	w.m[8 + 3] ^= 1;
	c.flags = 0;
	cr_assert_eq(io(&t, c), NVME_SC_COMPARE_FAILED, "metadata differs");
	c.flags = PRACT; /* stripped: the data alone is compared */
	cr_assert_eq(io(&t, c), 0);
	c.flags = PRCHK_A;
	c.lbat = 0x98;
	cr_assert_eq(io(&t, c), NVME_SC_APPTAG_CHECK, "the media's tuple is checked first");
	tn_destroy(&t);
}

Test(nvme_pi, verify_checks_stored_pi)
{
	struct tnvme t;
	struct sep w;
	struct nvme_sqe v = {.opcode = NVME_CMD_VERIFY, .nsid = 1, .cdw12 = 1 | PRCHK_G};

	start(&t, (struct pins){.ms = 8, .pi = 1});
	w = sep_buffers(&t, 2, 8);
	fill(w.d, 1024, 21);
	sep_pi(&w, 2, 0, 0, true);
	w.m[8] ^= 1; /* block 1 guard, stored unchecked */
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_WRITE,
					.nlb = 2,
					.buf = w.buf,
					.len = 1024,
					.mptr = w.md}),
		     0);
	cr_assert_eq(tn_cmd(&t, 1, &v, NULL), NVME_SC_GUARD_CHECK);
	v.cdw12 = 0 | PRCHK_G;
	cr_assert_eq(tn_cmd(&t, 1, &v, NULL), 0, "block 0 alone is fine");
	tn_destroy(&t);
}

Test(nvme_pi, verify_on_pi_is_limited_by_vsl_and_smart_counts_data_only)
{
	struct tnvme t;
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[1];
	uint64_t buf;
	struct nvme_sqe v = {.opcode = NVME_CMD_VERIFY, .nsid = 1, .cdw12 = 32 | PRCHK_G};
	struct nvme_sqe id = {.opcode = NVME_ADM_IDENTIFY,
			      .cdw10 = NVME_ID_CNS_CS_CTRL,
			      .cdw11 = (uint32_t)NVME_CSI_NVM << 24};
	struct sep w;

	tn_config(&cfg, ns, 1);
	ns[0].metadata_size = 64;
	ns[0].pi_type = 1;
	cfg.mdts_kib = 16;
	cfg.no_iothread = true;
	tn_start_cfg(&t, &cfg);
	buf = tn_alloc(&t, 4096, 4096);
	id.prp1 = buf;
	cr_assert_eq(tn_cmd(&t, 0, &id, NULL), 0);
	cr_assert_eq(((uint8_t *)tn_ptr(&t, buf))[0], 2, "VSL: 16 KiB in 4 KiB units (as MDTS)");
	cr_assert_eq(tn_cmd(&t, 1, &v, NULL), NVME_SC_INVALID_FIELD, "33 blocks > 16 KiB");
	v.cdw12 = 31 | PRCHK_G;
	cr_assert_eq(tn_cmd(&t, 1, &v, NULL), 0);
	/* SMART Data Units Read: 8 blocks of data read (512 bytes of metadata not counted) */
	w = sep_buffers(&t, 8, 64);
	uint64_t before = t.c->units_read;
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_READ,
					.nlb = 8,
					.buf = w.buf,
					.len = 4096,
					.mptr = w.md}),
		     0);
	cr_assert_eq(t.c->units_read - before, 8);
	tn_destroy(&t);
}

/* Copy of one range (format 0h) from slba, nlb blocks, to sdlba; PRINFOR/PRINFOW, tags. */
struct copy_args {
	uint64_t slba, sdlba;
	uint16_t nlb;
	uint32_t prinfor, prinfow, elbt, ilbrt;
	uint16_t elbat, elbatm, lbat, lbatm;
};

static uint16_t copy1(struct tnvme *t, struct copy_args a)
{
	uint64_t d = tn_alloc(t, 4096, 4096);
	uint8_t *p = tn_ptr(t, d);
	uint16_t nlb0 = (uint16_t)(a.nlb - 1);
	struct nvme_sqe cmd = {.opcode = NVME_CMD_COPY,
			       .nsid = 1,
			       .prp1 = d,
			       .cdw10 = (uint32_t)a.sdlba,
			       .cdw11 = (uint32_t)(a.sdlba >> 32),
			       .cdw12 = a.prinfor << 12 | a.prinfow << 26,
			       .cdw14 = a.ilbrt,
			       .cdw15 = a.lbat | (uint32_t)a.lbatm << 16};

	memset(p, 0, 32);
	memcpy(p + 8, &a.slba, 8);
	memcpy(p + 16, &nlb0, 2);
	memcpy(p + 24, &a.elbt, 4);
	memcpy(p + 28, &a.elbat, 2);
	memcpy(p + 30, &a.elbatm, 2);
	return tn_cmd(t, 1, &cmd, NULL);
}

Test(nvme_pi, copy_moves_metadata_verbatim_without_pi)
{
	struct tnvme t;
	struct sep w, r;

	start(&t, (struct pins){.ms = 16});
	w = sep_buffers(&t, 4, 16);
	r = sep_buffers(&t, 4, 16);
	fill(w.d, 2048, 30);
	fill(w.m, 64, 31);
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_WRITE,
					.slba = 10,
					.nlb = 4,
					.buf = w.buf,
					.len = 2048,
					.mptr = w.md}),
		     0);
	cr_assert_eq(copy1(&t, (struct copy_args){.slba = 10, .sdlba = 100, .nlb = 4}), 0);
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_READ,
					.slba = 100,
					.nlb = 4,
					.buf = r.buf,
					.len = 2048,
					.mptr = r.md}),
		     0);
	cr_assert_arr_eq(r.d, w.d, 2048);
	cr_assert_arr_eq(r.m, w.m, 64);
	tn_destroy(&t);
}

Test(nvme_pi, copy_checks_sources_and_regenerates_or_checks_the_destination)
{
	struct tnvme t;
	struct sep w, r;
	const uint32_t all = 7, pract = 8;

	start(&t, (struct pins){.ms = 8, .pi = 1});
	w = sep_buffers(&t, 4, 8);
	r = sep_buffers(&t, 4, 8);
	fill(w.d, 2048, 32);
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_WRITE,
					.slba = 10,
					.nlb = 4,
					.flags = PRACT,
					.buf = w.buf,
					.len = 2048,
					.ilbrt = 10,
					.lbat = 0x55}),
		     0);
	/* Source checks: a wrong ELBAT, an ELBT that is not the SLBA (Type 1) */
	cr_assert_eq(copy1(&t, (struct copy_args){.slba = 10,
						  .sdlba = 200,
						  .nlb = 4,
						  .prinfor = all,
						  .elbt = 10,
						  .elbat = 0x56,
						  .elbatm = 0xffff,
						  .prinfow = pract,
						  .ilbrt = 200}),
		     NVME_SC_APPTAG_CHECK);
	cr_assert_eq(copy1(&t, (struct copy_args){.slba = 10,
						  .sdlba = 200,
						  .nlb = 4,
						  .prinfor = all,
						  .elbt = 11,
						  .prinfow = pract,
						  .ilbrt = 200}),
		     NVME_SC_INVALID_PI);
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_READ,
					.slba = 200,
					.nlb = 4,
					.buf = r.buf,
					.len = 2048,
					.mptr = r.md}),
		     0);
	cr_assert_eq(r.m[0], 0xff, "a failed Copy wrote nothing");
	/* Without PRACT the source tuples (Reference Tags 10..13) fail the destination check */
	cr_assert_eq(copy1(&t, (struct copy_args){.slba = 10,
						  .sdlba = 200,
						  .nlb = 4,
						  .prinfor = all,
						  .elbt = 10,
						  .elbat = 0x55,
						  .elbatm = 0xffff,
						  .prinfow = 1,
						  .ilbrt = 200}),
		     NVME_SC_REFTAG_CHECK);
	/* PRINFOW.PRACT: new tuples for the destination (LBAT, ILBRT counting up) */
	cr_assert_eq(copy1(&t, (struct copy_args){.slba = 10,
						  .sdlba = 200,
						  .nlb = 4,
						  .prinfor = all,
						  .elbt = 10,
						  .elbat = 0x55,
						  .elbatm = 0xffff,
						  .prinfow = pract | all,
						  .ilbrt = 200,
						  .lbat = 0x66}),
		     0);
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_READ,
					.slba = 200,
					.nlb = 4,
					.flags = PRCHK_ALL,
					.buf = r.buf,
					.len = 2048,
					.mptr = r.md,
					.ilbrt = 200,
					.lbat = 0x66,
					.lbatm = 0xffff}),
		     0);
	cr_assert_arr_eq(r.d, w.d, 2048);
	cr_assert_eq(tuple_ref(r.m + 8 * 3), 203);
	cr_assert_eq(tuple_app(r.m), 0x66);
	tn_destroy(&t);
}

Test(nvme_pi, copy_with_pi_on_the_file_backend_through_the_iothread)
{
	char path[] = "/tmp/vmm-nvme-pi-copy-XXXXXX";
	int fd = mkstemp(path);
	struct nvme_ctrl_config cfg;
	static struct nvme_ns_config ns[1];
	struct tnvme t;
	struct sep w, r;
	const uint32_t nlb = 300; /* two chunks: 256 blocks (128 KiB), then 44 */

	cr_assert(fd >= 0);
	cr_assert_eq(ftruncate(fd, 4 << 20), 0);
	tn_config(&cfg, ns, 1);
	ns[0] = (struct nvme_ns_config){
		.lba_size = 512, .backend = "file", .path = path, .metadata_size = 8, .pi_type = 2};
	tn_start_cfg(&t, &cfg);
	w.buf = tn_alloc(&t, nlb * 512, 4096);
	w.md = tn_alloc(&t, nlb * 8, 4096);
	w.d = tn_ptr(&t, w.buf);
	fill(w.d, nlb * 512, 33);
	r = sep_buffers(&t, nlb, 8);
	/* 150 blocks at a time (MDTS 512 KiB is plenty): PRACT with ILBRT 7000 + offset */
	for (uint32_t half = 0; half < 2; half++) {
		struct nvme_sqe cmd = {.opcode = NVME_CMD_WRITE,
				       .nsid = 1,
				       .cdw10 = 1000 + 150 * half,
				       .cdw12 = 149 | PRACT,
				       .cdw14 = 7000 + 150 * half};

		set_prps(&t, &cmd, w.buf + 150 * 512 * half, 150 * 512);
		uint16_t wst = tn_cmd_wait(&t, &cmd);
		cr_assert_eq(wst, 0, "write status 0x%x", wst);
	}
	struct copy_args a = {.slba = 1000,
			      .sdlba = 3000,
			      .nlb = (uint16_t)nlb,
			      .prinfor = 7,
			      .elbt = 7000,
			      .prinfow = 8 | 7,
			      .ilbrt = 9000};
	uint64_t d = tn_alloc(&t, 4096, 4096);
	uint8_t *p = tn_ptr(&t, d);
	uint16_t nlb0 = (uint16_t)(a.nlb - 1);
	struct nvme_sqe cp = {.opcode = NVME_CMD_COPY,
			      .nsid = 1,
			      .prp1 = d,
			      .cdw10 = (uint32_t)a.sdlba,
			      .cdw12 = a.prinfor << 12 | a.prinfow << 26,
			      .cdw14 = a.ilbrt};

	memset(p, 0, 32);
	memcpy(p + 8, &a.slba, 8);
	memcpy(p + 16, &nlb0, 2);
	memcpy(p + 24, &a.elbt, 4);
	cr_assert_eq(tn_cmd_wait(&t, &cp), 0);
	struct nvme_sqe rd = {.opcode = NVME_CMD_READ,
			      .nsid = 1,
			      .mptr = r.md,
			      .cdw10 = 3000,
			      .cdw12 = (nlb - 1) | PRCHK_ALL,
			      .cdw14 = 9000};

	set_prps(&t, &rd, r.buf, nlb * 512);
	cr_assert_eq(tn_cmd_wait(&t, &rd), 0);
	cr_assert_arr_eq(r.d, w.d, nlb * 512);
	cr_assert_eq(tuple_ref(r.m + 8 * 299), 9299);
	tn_destroy(&t);
	close(fd);
	unlink(path);
}

/* ---- Format NVM ---- */

static uint16_t format(struct tnvme *t, uint32_t cdw10)
{
	struct nvme_sqe cmd = {.opcode = NVME_ADM_FORMAT_NVM, .nsid = 1, .cdw10 = cdw10};

	return tn_cmd(t, 0, &cmd, NULL);
}

Test(nvme_pi, format_nvm_selects_metadata_and_protection)
{
	struct tnvme t;
	uint64_t id;
	uint8_t *p;
	struct sep w;

	tn_start(&t);
	cr_assert_eq(format(&t, 8), NVME_SC_INVALID_FORMAT, "LBAF past NLBAF");
	cr_assert_eq(format(&t, 1 | 1u << 5), NVME_SC_INVALID_FORMAT, "PI without metadata");
	cr_assert_eq(format(&t, 2 | 4u << 5), NVME_SC_INVALID_FIELD, "PI type 4");
	/* LBAF 5 (4 KiB + 8), extended, type 3, PI first */
	cr_assert_eq(format(&t, 5 | 1u << 4 | 3u << 5 | 1u << 8), 0);
	cr_assert_eq(tn_identify(&t, NVME_ID_CNS_NS, 1, &id), 0);
	p = tn_ptr(&t, id);
	cr_assert_eq(p[26], 5 | 1u << 4);
	cr_assert_eq(p[29], 3 | 1u << 3);
	/* LBAF 2 (512 + 8), separate, type 1: the new format takes I/O with PI */
	cr_assert_eq(format(&t, 2 | 1u << 5), 0);
	cr_assert_eq(tn_identify(&t, NVME_ID_CNS_NS, 1, &id), 0);
	p = tn_ptr(&t, id);
	cr_assert_eq(p[26], 2);
	cr_assert_eq(p[29], 1);
	w = sep_buffers(&t, 1, 8);
	fill(w.d, 512, 22);
	sep_pi(&w, 1, 0, 0, true);
	w.m[0] ^= 1;
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_WRITE,
					.nlb = 1,
					.flags = PRCHK_G,
					.buf = w.buf,
					.len = 512,
					.mptr = w.md}),
		     NVME_SC_GUARD_CHECK);
	cr_assert_eq(format(&t, 0), 0);
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_WRITE,
					.nlb = 1,
					.flags = PRCHK_G,
					.buf = w.buf,
					.len = 512}),
		     0, "back to no metadata: PRINFO has no meaning");
	tn_destroy(&t);
}

Test(nvme_pi, bad_namespace_configs_are_refused)
{
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[1];
	struct nvme_host host = {0};
	char err[256] = "";

	tn_config(&cfg, ns, 1);
	cfg.no_iothread = true;
	ns[0].metadata_size = 32;
	cr_assert_null(nvme_ctrl_create(&cfg, &host, err, sizeof(err)));
	cr_assert(strstr(err, "metadata_size"), "%s", err);
	ns[0].metadata_size = 0;
	ns[0].pi_type = 1;
	cr_assert_null(nvme_ctrl_create(&cfg, &host, err, sizeof(err)));
	ns[0].metadata_size = 64;
	ns[0].lba_size = 4096;
	ns[0].size = 4096; /* not one 4 KiB block and its 64 bytes */
	cr_assert_null(nvme_ctrl_create(&cfg, &host, err, sizeof(err)));
	cr_assert(strstr(err, "too small"), "%s", err);
}

/* ---- The file backend ---- */

Test(nvme_pi, file_backend_keeps_metadata_after_the_data_with_tuples_inverted)
{
	char path[] = "/tmp/vmm-nvme-pi-XXXXXX";
	int fd = mkstemp(path);
	struct tnvme t;
	struct sep w;
	uint8_t back[16];
	uint64_t nsze, meta_off;

	cr_assert(fd >= 0);
	cr_assert_eq(ftruncate(fd, NS_BYTES), 0);
	start(&t, (struct pins){.ms = 16, .pi = 1, .first = true, .backend = "file", .path = path});
	nsze = t.c->ns[0].nsze;
	meta_off = t.c->ns[0].meta_off;
	cr_assert_eq(meta_off, (nsze * 512 + 4095) & ~4095ULL);
	w = sep_buffers(&t, 2, 16);
	fill(w.d, 1024, 23);
	fill(w.m, 32, 24);
	cr_assert_eq(io(&t, (struct io){.opc = NVME_CMD_WRITE,
					.slba = 5,
					.nlb = 2,
					.flags = PRACT,
					.buf = w.buf,
					.len = 1024,
					.mptr = w.md,
					.ilbrt = 5}),
		     0);
	cr_assert_eq(pread(fd, back, 16, (off_t)(meta_off + 6 * 16)), 16);
	put_tuple(w.m + 16, w.d + 512, 512, NULL, 0, 0, 6);
	for (int i = 0; i < 8; i++)
		cr_assert_eq(back[i], (uint8_t)~w.m[16 + i], "tuple byte %d stored inverted", i);
	cr_assert_arr_eq(back + 8, w.m + 24, 8, "the other metadata bytes as they are");
	cr_assert_eq(pread(fd, back, 16, 6 * 512), 16);
	cr_assert_arr_eq(back, w.d + 512, 16, "data of block 6 at 6 * 512");
	/* nothing past what the layout claims */
	cr_assert_leq(meta_off + nsze * 16, NS_BYTES);
	tn_destroy(&t);
	close(fd);
	unlink(path);
}

/* The eight-bytes-a-step loop against the definition, bit by bit, for every length up to 64
 * (the eight-byte steps and the tail), at every alignment, from a non-zero start. */
static uint16_t crc_bitwise(uint16_t crc, const uint8_t *p, size_t len)
{
	while (len--) {
		crc ^= (uint16_t)(*p++ << 8);
		for (int b = 0; b < 8; b++)
			crc = (uint16_t)(crc & 0x8000 ? (crc << 1) ^ 0x8bb7 : crc << 1);
	}
	return crc;
}

Test(nvme_pi, crc16_t10dif_matches_the_bitwise_definition)
{
	uint8_t buf[80];
	uint32_t x = 12345;

	for (size_t i = 0; i < sizeof(buf); i++) {
		x = x * 1103515245 + 12345;
		buf[i] = (uint8_t)(x >> 16);
	}
	for (size_t off = 0; off < 8; off++)
		for (size_t len = 0; len <= 64; len++)
			cr_assert_eq(nvme_crc16_t10dif(0x1d0f, buf + off, len),
				     crc_bitwise(0x1d0f, buf + off, len), "offset %zu length %zu",
				     off, len);
}
