/* SPDX-License-Identifier: MIT */
/*
 * Metadata and end-to-end data protection (NVM Command Set Specification 1.0, 5.2 and 5.3;
 * NVMe Base 2.0 for the Identify fields and Format NVM).
 *
 * LBA formats: the two plain ones keep indexes 0 (512 B) and 1 (4 KiB); 2-7 carry 8, 16 or
 * 64 bytes of metadata per block. The metadata moves with the data (extended LBA, FLBAS bit 4)
 * or through MPTR: a contiguous buffer (PSDT 00b/01b) or one SGL descriptor (PSDT 10b).
 *
 * Protection information (PI) is the 16-bit guard format: an 8-byte tuple, big-endian,
 * Guard (CRC16 T10-DIF over the block's data and the metadata bytes before the tuple) 15:0 of
 * bytes 0-1, Application Tag bytes 2-3, Reference Tag bytes 4-7, in the first or the last 8
 * bytes of the metadata (DPS bit 3).
 *
 * Storage: the backend holds the data of block n at n * block size from 0, and its metadata
 * at meta_off + n * MS, meta_off being the end of the data rounded up to 4 KiB (so both
 * regions live in the one ram mapping or file; docs/config.md, "Metadata and protection
 * information"). With PI enabled the 8 tuple bytes are stored bitwise inverted: zeroed
 * storage (a new namespace, a hole, Deallocate, Write Zeroes without PRACT, Format NVM) then
 * reads back as the all-ones tuple of a deallocated block (NVM Command Set 1.0 3.2.3.2.1),
 * whose Application Tag FFFFh disables checking, and the other metadata bytes read back as
 * zeroes (DLFEAT 001b).
 *
 * Every I/O on a namespace with metadata goes through one bounce allocation (data and
 * metadata), so checks run on a stable copy the guest cannot change under us.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "devices/nvme/internal.h"

#define DNR NVME_SC_DNR

/* PRINFO (CDW12 29:26, NVM Command Set 1.0 Figure 16) */
#define PRINFO_PRACT	   (1u << 29)
#define PRINFO_PRCHK_GUARD (1u << 28)
#define PRINFO_PRCHK_APP   (1u << 27)
#define PRINFO_PRCHK_REF   (1u << 26)
#define PRINFO_PRCHK_ALL   (PRINFO_PRCHK_GUARD | PRINFO_PRCHK_APP | PRINFO_PRCHK_REF)
#define PI_TUPLE	   8
#define DPS_PI_TYPE(dps)   ((dps)&7)
#define DPS_PI_FIRST	   (1u << 3)

static const struct {
	uint8_t shift, ms;
} lbafs[NVME_NR_LBAF] = {
	{9, 0}, {12, 0}, {9, 8}, {9, 16}, {9, 64}, {12, 8}, {12, 16}, {12, 64},
};

unsigned nvme_lbaf_shift(unsigned lbaf)
{
	return lbafs[lbaf < NVME_NR_LBAF ? lbaf : 0].shift;
}

unsigned nvme_lbaf_ms(unsigned lbaf)
{
	return lbafs[lbaf < NVME_NR_LBAF ? lbaf : 0].ms;
}

int nvme_lbaf_find(unsigned lba_size, unsigned ms)
{
	for (unsigned i = 0; i < NVME_NR_LBAF; i++)
		if ((1u << lbafs[i].shift) == lba_size && lbafs[i].ms == ms)
			return (int)i;
	return -1;
}

/* ---- CRC16 T10-DIF: polynomial 8BB7h, initial value 0, no reflection, no final XOR ---- */

/* crc_table[k][b]: what byte b contributes when k bytes follow it ("slice-by-8": eight
 * bytes per step, where one byte per step spent most of a PI write's time). */
static uint16_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	for (unsigned i = 0; i < 256; i++) {
		uint16_t crc = (uint16_t)(i << 8);

		for (int b = 0; b < 8; b++)
			crc = (uint16_t)(crc & 0x8000 ? (crc << 1) ^ 0x8bb7 : crc << 1);
		crc_table[0][i] = crc;
	}
	for (int k = 1; k < 8; k++)
		for (unsigned i = 0; i < 256; i++) {
			uint16_t prev = crc_table[k - 1][i];

			crc_table[k][i] = (uint16_t)(prev << 8) ^ crc_table[0][prev >> 8];
		}
}

uint16_t nvme_crc16_t10dif(uint16_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	pthread_once(&crc_once, crc_init);
	/* Not reflected: the CRC's high byte meets the first byte, its low byte the second. */
	for (; len >= 8; len -= 8, p += 8)
		crc = crc_table[7][p[0] ^ (crc >> 8)] ^ crc_table[6][p[1] ^ (crc & 0xff)] ^
		      crc_table[5][p[2]] ^ crc_table[4][p[3]] ^ crc_table[3][p[4]] ^
		      crc_table[2][p[5]] ^ crc_table[1][p[6]] ^ crc_table[0][p[7]];
	while (len--)
		crc = (uint16_t)(crc << 8) ^ crc_table[0][((crc >> 8) ^ *p++) & 0xff];
	return crc;
}

/* ---- Layout and format ---- */

void nvme_meta_layout(struct nvme_ns *ns)
{
	uint64_t bs = 1ULL << ns->lba_shift, n;

	if (!ns->ms) {
		ns->nsze = ns->size >> ns->lba_shift;
		ns->meta_off = ns->size;
		return;
	}
	n = ns->size / (bs + ns->ms);
	while (n && ((n * bs + 4095) & ~4095ULL) + n * ns->ms > ns->size)
		n--;
	ns->nsze = n;
	ns->meta_off = (n * bs + 4095) & ~4095ULL;
}

/* NVMe 2.0 5.23 Format NVM: an LBAF past NLBAF, PI on a format without metadata, metadata on
 * a zoned namespace (not built) or a format that leaves no block: Invalid Format. */
uint16_t nvme_meta_format_check(const struct nvme_ns *ns, unsigned lbaf, unsigned pi)
{
	struct nvme_ns tmp = {.size = ns->size};

	if (lbaf >= NVME_NR_LBAF)
		return NVME_SC_INVALID_FORMAT | DNR;
	if (pi > 3)
		return NVME_SC_INVALID_FIELD | DNR;
	if ((pi && !nvme_lbaf_ms(lbaf)) || (ns->zns && (nvme_lbaf_ms(lbaf) || lbaf > 1)))
		return NVME_SC_INVALID_FORMAT | DNR;
	tmp.lba_shift = nvme_lbaf_shift(lbaf);
	tmp.ms = nvme_lbaf_ms(lbaf);
	nvme_meta_layout(&tmp);
	if (!tmp.nsze)
		return NVME_SC_INVALID_FORMAT | DNR;
	return NVME_SC_SUCCESS;
}

void nvme_meta_set_format(struct nvme_ns *ns, bool extended, unsigned pi, bool pi_first)
{
	ns->ext = ns->ms && extended;
	ns->dps = ns->ms ? (uint8_t)(pi | (pi_first ? DPS_PI_FIRST : 0)) : 0;
}

/* Figure 245 (NVMe 2.0 Identify Namespace): FLBAS, MC, DPC, DPS and the LBAF entries. */
void nvme_meta_identify_ns(const struct nvme_ns *ns, uint8_t *id, unsigned nlbaf)
{
	id[25] = (uint8_t)(nlbaf - 1); /* NLBAF, 0-based */
	for (unsigned i = 0; i < nlbaf; i++) {
		/* LBAF: MS 15:0, LBADS 23:16, RP 25:24: 4 KiB is the better (00b), 512 B good */
		uint32_t rp = lbafs[i].shift == 12 ? 0 : 1;

		nvme_put32(id + 128 + 4 * i,
			   lbafs[i].ms | (uint32_t)lbafs[i].shift << 16 | rp << 24);
	}
	if (!ns)
		return;
	id[26] = (uint8_t)(ns->lbaf | (ns->ext ? 1u << 4 : 0)); /* FLBAS: bit 4 extended */
	if (ns->zns)
		return;
	id[27] = 0x3;  /* MC: extended LBA and separate buffer both supported */
	id[28] = 0x1f; /* DPC: types 1, 2, 3; PI in the first or the last 8 bytes */
	id[29] = ns->dps;
}

/* ---- Protection information ---- */

struct pi_ctx {
	unsigned type, bs, ms, off; /* off: the tuple inside the metadata */
	uint32_t prchk;
	uint16_t lbat, lbatm;
	uint32_t ilbrt;
};

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, (uint16_t)(v >> 16));
	put_be16(p + 2, (uint16_t)v);
}

static void pi_ctx_init(struct pi_ctx *p, const struct nvme_ns *ns, const struct nvme_sqe *cmd)
{
	*p = (struct pi_ctx){
		.type = DPS_PI_TYPE(ns->dps),
		.bs = 1u << ns->lba_shift,
		.ms = ns->ms,
		.off = ns->dps & DPS_PI_FIRST ? 0 : ns->ms - PI_TUPLE,
		.prchk = cmd->cdw12 & PRINFO_PRCHK_ALL,
		/* CDW15: LBAT 15:0, LBATM 31:16; CDW14: ILBRT (16-bit guard: EILBRT is 32 bits,
		 * CDW3 is not used) */
		.lbat = (uint16_t)cmd->cdw15,
		.lbatm = (uint16_t)(cmd->cdw15 >> 16),
		.ilbrt = cmd->cdw14,
	};
}

/* The Reference Tag of block i of the command: Types 1 and 2 count up from ILBRT (modulo
 * 2^32), Type 3 uses ILBRT for every block (5.3.2.2). */
static uint32_t pi_ref(const struct pi_ctx *p, uint32_t i)
{
	return p->type == 3 ? p->ilbrt : p->ilbrt + i;
}

static uint16_t pi_guard(const struct pi_ctx *p, const uint8_t *data, const uint8_t *md)
{
	/* 5.3.1: with the tuple last, the CRC also covers the metadata bytes before it. */
	return nvme_crc16_t10dif(nvme_crc16_t10dif(0, data, p->bs), md, p->off);
}

static void pi_generate(const struct pi_ctx *p, const uint8_t *data, uint8_t *md, uint32_t i)
{
	uint8_t *t = md + p->off;

	put_be16(t, pi_guard(p, data, md));
	put_be16(t + 2, p->lbat);
	put_be32(t + 4, pi_ref(p, i));
}

/*
 * 5.3.2: the checks PRCHK asks for, Guard first, then Application Tag, then Reference Tag.
 * Application Tag FFFFh (Types 1, 2), or with Reference Tag FFFFFFFFh as well (Type 3),
 * disables checking of that block.
 */
static uint16_t pi_check(const struct pi_ctx *p, const uint8_t *data, const uint8_t *md, uint32_t i)
{
	const uint8_t *t = md + p->off;
	uint16_t app = get_be16(t + 2);
	uint32_t ref = get_be32(t + 4);

	if (app == 0xffff && (p->type != 3 || ref == 0xffffffff))
		return NVME_SC_SUCCESS;
	if ((p->prchk & PRINFO_PRCHK_GUARD) && get_be16(t) != pi_guard(p, data, md))
		return NVME_SC_GUARD_CHECK | DNR;
	if ((p->prchk & PRINFO_PRCHK_APP) && (app & p->lbatm) != (p->lbat & p->lbatm))
		return NVME_SC_APPTAG_CHECK | DNR;
	if ((p->prchk & PRINFO_PRCHK_REF) && ref != pi_ref(p, i))
		return NVME_SC_REFTAG_CHECK | DNR;
	return NVME_SC_SUCCESS;
}

/* The tuples as stored: inverted, so zeroed storage is the all-ones tuple (see the top). */
static void pi_flip(const struct nvme_ns *ns, uint8_t *md, uint32_t nlb)
{
	unsigned off = ns->dps & DPS_PI_FIRST ? 0 : ns->ms - PI_TUPLE;

	if (!DPS_PI_TYPE(ns->dps))
		return;
	for (uint32_t i = 0; i < nlb; i++)
		for (unsigned b = 0; b < PI_TUPLE; b++)
			md[(uint64_t)i * ns->ms + off + b] ^= 0xff;
}

/* ---- Moving data between the guest's scatter list and the bounce buffers ---- */

struct sg_cursor {
	const struct nvme_sg *sg;
	int i;
	size_t off;
};

enum xfer_dir { TO_BOUNCE, TO_GUEST, COMPARE };

/* len bytes between the list at the cursor and buf: into buf (TO_BOUNCE), into the list
 * (TO_GUEST), or compared. Moves the cursor; false: the list is too short, or differs. */
static bool cursor_xfer(struct sg_cursor *cur, uint8_t *buf, size_t len, enum xfer_dir dir)
{
	while (len) {
		const struct iovec *v;
		uint8_t *g;
		size_t n;

		if (cur->i >= cur->sg->niov)
			return false;
		v = &cur->sg->iov[cur->i];
		g = (uint8_t *)v->iov_base + cur->off;
		n = v->iov_len - cur->off;
		if (n > len)
			n = len;
		if (dir == TO_GUEST)
			memcpy(g, buf, n);
		else if (dir == TO_BOUNCE)
			memcpy(buf, g, n);
		else if (memcmp(g, buf, n))
			return false;
		buf += n;
		len -= n;
		cur->off += n;
		if (cur->off == v->iov_len) {
			cur->i++;
			cur->off = 0;
		}
	}
	return true;
}

/*
 * The host's view of the blocks: r->sg holds the data pointer's bytes and then, for a
 * separate buffer, MPTR's. Extended LBA: each block's data followed by its metadata (when
 * it is transferred at all).
 */
static bool host_xfer(struct nvme_req *r, enum xfer_dir dir)
{
	struct nvme_meta_io *m = r->meta;
	const struct nvme_ns *ns = r->ns;
	struct sg_cursor cur = {.sg = &r->sg};
	uint64_t bs = 1ULL << ns->lba_shift;

	for (uint32_t i = 0; i < m->nlb; i++) {
		uint8_t *d = m->data + i * bs, *md = m->md + (uint64_t)i * ns->ms;
		bool with_md = m->md_xfer && ns->ext;

		if (!cursor_xfer(&cur, d, bs, dir) ||
		    (with_md && !cursor_xfer(&cur, md, ns->ms, dir)))
			return false;
	}
	if (!m->md_xfer || ns->ext)
		return true;
	return cursor_xfer(&cur, m->md, (size_t)m->nlb * ns->ms, dir);
}

void nvme_meta_free(struct nvme_req *r)
{
	free(r->meta);
	r->meta = NULL;
}

static struct nvme_meta_io *meta_alloc(struct nvme_req *r, uint64_t data, uint64_t md)
{
	struct nvme_meta_io *m = calloc(1, sizeof(*m) + data + md);

	if (!m)
		return NULL;
	m->data = (uint8_t *)(m + 1);
	m->md = m->data + data;
	r->meta = m; /* freed when the request is released */
	return m;
}

/* Submit the data half (r->be) and the metadata half (m->mbe) of a command. */
static uint16_t submit_both(struct nvme_req *r, struct nvme_ns *ns, struct nvme_meta_io *m)
{
	r->pending = 1;
	nvme_io_submit(r, ns, &r->be);
	nvme_io_submit(r, ns, &m->mbe);
	return nvme_io_submit_end(r);
}

/*
 * Read, Write, Compare and Verify on a namespace with metadata (range checked by the
 * caller). 5.2.1 PRACT: with PI enabled and MS equal to the tuple, no metadata moves: the
 * controller inserts the tuple on a write and strips it (after the checks) on a read; with
 * a larger MS the metadata moves and PRACT makes a write's tuple the controller's own. A
 * write without PRACT is checked (PRCHK) before anything is stored; a read after the media
 * read. On a namespace without PI, PRINFO is ignored.
 */
uint16_t nvme_meta_rw(struct nvme_ctrl *c, struct nvme_req *r, struct nvme_ns *ns)
{
	const struct nvme_sqe *cmd = &r->cmd;
	uint64_t slba = cmd->cdw10 | (uint64_t)cmd->cdw11 << 32;
	uint32_t nlb = (cmd->cdw12 & 0xffff) + 1;
	uint64_t bs = 1ULL << ns->lba_shift, data = nlb * bs, md = (uint64_t)nlb * ns->ms, xfer;
	bool write = cmd->opcode == NVME_CMD_WRITE, verify = cmd->opcode == NVME_CMD_VERIFY;
	bool pi = DPS_PI_TYPE(ns->dps) != 0, pract = pi && (cmd->cdw12 & PRINFO_PRACT);
	bool md_xfer = !verify && !(pract && ns->ms == PI_TUPLE);
	struct nvme_meta_io *m;
	struct pi_ctx p;
	uint16_t st;

	pi_ctx_init(&p, ns, cmd);
	if (!pi)
		p.prchk = 0;
	/* 5.3.2.2: Type 1 checks the Reference Tag against the SLBA's low 32 bits. */
	if (p.type == 1 && (p.prchk & PRINFO_PRCHK_REF) && p.ilbrt != (uint32_t)slba)
		return NVME_SC_INVALID_PI | DNR;
	/* MDTS counts the metadata when it is interleaved with the data (Base 2.0 5.17.2.1). */
	xfer = verify ? 0 : data + (ns->ext && md_xfer ? md : 0);
	/* Verify reads the blocks to check them: Identify VSL (admin.c) is MDTS. */
	if (xfer > c->mdts_bytes || (verify && data > c->mdts_bytes))
		return NVME_SC_INVALID_FIELD | DNR;
	r->sg.niov = 0;
	r->sg.len = 0;
	if (xfer) {
		st = nvme_map_dptr(c, r, xfer, cmd->opcode != NVME_CMD_READ, true);
		if (st)
			return st;
	}
	if (md_xfer && !ns->ext) {
		st = nvme_map_mptr(c, r, md, cmd->opcode != NVME_CMD_READ);
		if (st)
			return st;
	}
	m = meta_alloc(r, data, md);
	if (!m)
		return NVME_SC_INTERNAL;
	m->nlb = nlb;
	m->md_xfer = md_xfer;
	if (write) {
		if (!host_xfer(r, TO_BOUNCE))
			return NVME_SC_DATA_XFER_ERROR | DNR;
		for (uint32_t i = 0; pi && i < nlb; i++) {
			uint8_t *d = m->data + i * bs, *mdp = m->md + (uint64_t)i * ns->ms;

			if (pract) {
				pi_generate(&p, d, mdp, i);
			} else {
				st = pi_check(&p, d, mdp, i);
				if (st)
					return st; /* nothing written */
			}
		}
		pi_flip(ns, m->md, nlb);
	}
	m->iov[0] = (struct iovec){.iov_base = m->data, .iov_len = data};
	m->iov[1] = (struct iovec){.iov_base = m->md, .iov_len = md};
	r->be = (struct nvme_be_req){
		.op = write ? NVME_BE_WRITE : NVME_BE_READ,
		.iov = &m->iov[0],
		.iovcnt = 1,
		.offset = slba << ns->lba_shift,
		.len = data,
		/* A disabled volatile write cache makes every write durable (5.21.1.6). */
		.fua = write && ((cmd->cdw12 & (1u << 30)) || !(c->feat.vwc & 1)),
	};
	m->mbe = r->be;
	m->mbe.iov = &m->iov[1];
	m->mbe.offset = ns->meta_off + slba * ns->ms;
	m->mbe.len = md;
	return submit_both(r, ns, m);
}

/* From io.c's completion of a command with r->meta: the read side's checks and copy out. */
void nvme_meta_finish(struct nvme_req *r)
{
	struct nvme_meta_io *m = r->meta;
	const struct nvme_ns *ns = r->ns;
	uint64_t bs = 1ULL << ns->lba_shift;
	uint8_t opc = r->cmd.opcode;
	struct pi_ctx p;

	if (r->status ||
	    (opc != NVME_CMD_READ && opc != NVME_CMD_COMPARE && opc != NVME_CMD_VERIFY))
		return;
	pi_flip(ns, m->md, m->nlb);
	pi_ctx_init(&p, ns, &r->cmd);
	for (uint32_t i = 0; p.type && i < m->nlb; i++) {
		uint16_t st = pi_check(&p, m->data + i * bs, m->md + (uint64_t)i * ns->ms, i);

		if (st) {
			r->status = st;
			return;
		}
	}
	/* Compare: what a Read with the same PRINFO would return, against the host's buffer. */
	if (opc == NVME_CMD_COMPARE && !host_xfer(r, COMPARE))
		r->status = NVME_SC_COMPARE_FAILED | DNR;
	else if (opc == NVME_CMD_READ && !host_xfer(r, TO_GUEST))
		r->status = NVME_SC_DATA_XFER_ERROR | DNR;
}

/*
 * Write Zeroes (NVM Command Set 1.0 3.2.8) on a namespace with metadata: r->be (built by the
 * caller) zeroes the data; the metadata is zeroed too (the tuples then read as those of a
 * deallocated block), or with PRACT on a PI namespace written with generated tuples (Guard
 * of zeroes, LBAT, Reference Tags from ILBRT), as Linux nvme_setup_write_zeroes expects.
 */
uint16_t nvme_meta_write_zeroes(struct nvme_ctrl *c, struct nvme_req *r, struct nvme_ns *ns,
				uint64_t slba, uint64_t nlb)
{
	bool gen = DPS_PI_TYPE(ns->dps) && (r->cmd.cdw12 & PRINFO_PRACT);
	uint64_t bs = 1ULL << ns->lba_shift, md = nlb * ns->ms;
	struct nvme_meta_io *m = meta_alloc(r, gen ? bs : 0, gen ? md : 0);
	struct pi_ctx p;

	if (!m)
		return NVME_SC_INTERNAL;
	m->nlb = (uint32_t)nlb;
	m->mbe = (struct nvme_be_req){.op = NVME_BE_WRITE_ZEROES,
				      .offset = ns->meta_off + slba * ns->ms,
				      .len = md,
				      .fua = r->be.fua};
	if (gen) {
		pi_ctx_init(&p, ns, &r->cmd);
		for (uint32_t i = 0; i < nlb; i++)
			pi_generate(&p, m->data, m->md + (uint64_t)i * ns->ms, i);
		pi_flip(ns, m->md, (uint32_t)nlb);
		m->iov[1] = (struct iovec){.iov_base = m->md, .iov_len = md};
		m->mbe.op = NVME_BE_WRITE;
		m->mbe.iov = &m->iov[1];
		m->mbe.iovcnt = 1;
	}
	return submit_both(r, ns, m);
}

/* ---- Copy (NVM Command Set 1.0 3.2.2) ---- */

/* Figure 33 CDW12: Descriptor Format 11:8, PRINFOR 15:12 (the sources), PRINFOW 29:26 (the
 * destination). */
#define COPY_PRINFOR(cdw12) (((cdw12) >> 12) & 0xf)
#define COPY_PRINFOW(cdw12) (((cdw12) >> 26) & 0xf)

/* 5.3.2.2, as for Read and Write: Type 1 checks Reference Tags against the LBAs. */
uint16_t nvme_meta_copy_check(const struct nvme_ns *ns, const struct nvme_sqe *cmd,
			      const struct nvme_copy *cp)
{
	uint64_t sdlba = cmd->cdw10 | (uint64_t)cmd->cdw11 << 32;

	if (DPS_PI_TYPE(ns->dps) != 1)
		return NVME_SC_SUCCESS;
	if ((COPY_PRINFOW(cmd->cdw12) & 1) && cmd->cdw14 != (uint32_t)sdlba)
		return NVME_SC_INVALID_PI | DNR;
	for (unsigned i = 0; (COPY_PRINFOR(cmd->cdw12) & 1) && i < cp->nr; i++)
		if (cp->range[i].elbt != (uint32_t)cp->range[i].slba)
			return NVME_SC_INVALID_PI | DNR;
	return NVME_SC_SUCCESS;
}

/*
 * A chunk read for Copy: the sources' tuples checked as PRINFOR asks against the range's
 * ELBT/ELBAT/ELBATM, then the destination's: with PRINFOW.PRACT made anew (LBAT, ILBRT
 * counting on across ranges), else checked as PRINFOW asks against ILBRT/LBAT/LBATM. Without
 * PI the metadata is copied as it is. PRINFOR.PRACT means nothing here: no metadata moves to
 * or from the host.
 */
uint16_t nvme_meta_copy_chunk(const struct nvme_ns *ns, const struct nvme_sqe *cmd,
			      const struct nvme_copy *cp, uint8_t *data, uint8_t *md, uint32_t n)
{
	uint64_t sdlba = cmd->cdw10 | (uint64_t)cmd->cdw11 << 32, bs = 1ULL << ns->lba_shift;
	uint32_t prinfow = COPY_PRINFOW(cmd->cdw12);
	struct pi_ctx src, dst;

	if (!DPS_PI_TYPE(ns->dps))
		return NVME_SC_SUCCESS;
	pi_ctx_init(&src, ns, cmd);
	pi_ctx_init(&dst, ns, cmd);
	src.prchk = (COPY_PRINFOR(cmd->cdw12) & 7) << 26;
	src.ilbrt = cp->range[cp->idx].elbt + (src.type == 3 ? 0 : (uint32_t)cp->off);
	src.lbat = cp->range[cp->idx].elbat;
	src.lbatm = cp->range[cp->idx].elbatm;
	dst.prchk = (prinfow & 7) << 26;
	dst.ilbrt += dst.type == 3 ? 0 : (uint32_t)(cp->dlba - sdlba);
	pi_flip(ns, md, n);
	for (uint32_t i = 0; i < n; i++) {
		uint16_t st = pi_check(&src, data + i * bs, md + (uint64_t)i * ns->ms, i);

		if (st)
			return st;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint8_t *d = data + i * bs, *m = md + (uint64_t)i * ns->ms;
		uint16_t st;

		if (prinfow & 8) {
			pi_generate(&dst, d, m, i);
			continue;
		}
		st = pi_check(&dst, d, m, i);
		if (st)
			return st;
	}
	pi_flip(ns, md, n);
	return NVME_SC_SUCCESS;
}
