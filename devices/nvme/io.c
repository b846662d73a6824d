/* SPDX-License-Identifier: MIT */
/* NVM command set I/O commands (NVMe 1.4 6): Read, Write, Compare, Flush, Write Zeroes,
 * Dataset Management, Verify; and Copy (NVM Command Set Specification 1.0 3.2.2). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/nvme/internal.h"
#include "vmm/bus.h"
#include "vmm/util.h"

#define DNR NVME_SC_DNR

struct nvme_be_req *nvme_req_bes(struct nvme_req *r, unsigned n)
{
	if (n > r->bes_cap) {
		struct nvme_be_req *bes = realloc(r->bes, sizeof(*bes) * n);

		if (!bes)
			return NULL;
		r->bes = bes;
		r->bes_cap = n;
	}
	return r->bes ? r->bes : &r->be;
}

/* SMART counters (5.14.1.2) move only for commands that succeed. */
static void account(struct nvme_ctrl *c, struct nvme_req *r)
{
	/* r->sg holds the metadata too on a namespace with metadata: count the data alone */
	uint64_t units =
		r->meta ? ((uint64_t)((r->cmd.cdw12 & 0xffff) + 1) << r->ns->lba_shift) >> 9
			: r->sg.len >> 9;

	switch (r->cmd.opcode) {
	case NVME_CMD_READ:
	case NVME_CMD_COMPARE:
		c->host_reads++;
		c->units_read += units;
		break;
	case NVME_CMD_VERIFY:
		c->host_reads++;
		c->units_read += (uint64_t)((r->cmd.cdw12 & 0xffff) + 1) << r->ns->lba_shift >> 9;
		break;
	case NVME_CMD_WRITE:
	case NVME_CMD_ZONE_APPEND:
		c->host_writes++;
		c->units_written += units;
		break;
	}
}

static void io_finish(struct nvme_req *r)
{
	struct nvme_ctrl *c = r->c;

	/* ZNS 2.1.3: blocks past the write pointer read as zeroes (Read, and Compare's media). */
	if (!r->status && r->ns && r->ns->zns &&
	    (r->cmd.opcode == NVME_CMD_READ || r->cmd.opcode == NVME_CMD_COMPARE))
		nvme_zns_read_mask(r->ns, r->cmd.cdw10 | (uint64_t)r->cmd.cdw11 << 32,
				   (r->cmd.cdw12 & 0xffff) + 1, r->be.iov, r->be.iovcnt);
	/* pi.c: metadata, protection checks and the copy out on a namespace with metadata */
	if (r->meta)
		nvme_meta_finish(r);
	/* 6.6 Compare: the data read (bounce) against the host's buffer. */
	else if (!r->status && r->cmd.opcode == NVME_CMD_COMPARE) {
		const uint8_t *p = r->bounce;

		for (int i = 0; i < r->sg.niov; i++) {
			if (memcmp(p, r->sg.iov[i].iov_base, r->sg.iov[i].iov_len)) {
				r->status = NVME_SC_COMPARE_FAILED | DNR;
				break;
			}
			p += r->sg.iov[i].iov_len;
		}
	}
	if (!r->status)
		account(c, r);
	nvme_req_complete(r);
}

/* Backend errors as status codes (4.6.1.2.1 generic, 4.6.1.2.4 media errors). */
static uint16_t be_status(const struct nvme_be_req *b, int err)
{
	switch (err) {
	case -EIO:
	case -ENOSPC:
	case -EDQUOT:
		return b->op == NVME_BE_READ ? NVME_SC_READ_ERROR : NVME_SC_WRITE_FAULT;
	case -ENODATA:
		return NVME_SC_DATA_XFER_ERROR;
	default:
		return NVME_SC_INTERNAL;
	}
}

static void be_done(struct nvme_be_req *b, int err)
{
	struct nvme_req *r = b->opaque;

	if (err && !r->status)
		r->status = be_status(b, err);
	if (--r->pending == 0)
		io_finish(r);
}

/* Submit b for r. The caller holds one extra reference (r->pending) while submitting. */
static void submit(struct nvme_req *r, struct nvme_ns *ns, struct nvme_be_req *b)
{
	b->done = be_done;
	b->opaque = r;
	r->pending++;
	if (ns->be.ops->submit(&ns->be, b) < 0) {
		r->pending--;
		if (!r->status)
			r->status = NVME_SC_INTERNAL;
	}
}

void nvme_io_submit(struct nvme_req *r, struct nvme_ns *ns, struct nvme_be_req *b)
{
	submit(r, ns, b);
}

uint16_t nvme_io_submit_end(struct nvme_req *r)
{
	if (--r->pending == 0)
		io_finish(r);
	return NVME_STATUS_PENDING;
}

static uint16_t submit_one(struct nvme_req *r, struct nvme_ns *ns)
{
	r->pending = 1;
	submit(r, ns, &r->be);
	if (--r->pending == 0) {
		io_finish(r);
		return NVME_STATUS_PENDING; /* already completed */
	}
	return NVME_STATUS_PENDING;
}

static uint16_t check_range(const struct nvme_ns *ns, uint64_t slba, uint64_t nlb)
{
	if (slba >= ns->nsze || nlb > ns->nsze - slba)
		return NVME_SC_LBA_RANGE | DNR;
	return NVME_SC_SUCCESS;
}

/* 6.9 Read, 6.15 Write, 6.6 Compare; ZNS 3.3.1 Zone Append (the LBA written in DW0-1) */
static uint16_t rw(struct nvme_ctrl *c, struct nvme_req *r, struct nvme_ns *ns)
{
	const struct nvme_sqe *cmd = &r->cmd;
	uint64_t slba = cmd->cdw10 | (uint64_t)cmd->cdw11 << 32;
	uint64_t nlb = (cmd->cdw12 & 0xffff) + 1, len = nlb << ns->lba_shift;
	bool append = cmd->opcode == NVME_CMD_ZONE_APPEND;
	bool fua = cmd->cdw12 & (1u << 30), write = cmd->opcode == NVME_CMD_WRITE || append;
	uint16_t st;

	/* ZNS 3.3.1: Zone Append needs a zoned namespace. ZASL is 0: MDTS is its limit. */
	if (append && !ns->zns)
		return NVME_SC_INVALID_OPCODE | DNR;
	if (ns->ms) {
		st = check_range(ns, slba, nlb);
		return st ? st : nvme_meta_rw(c, r, ns); /* pi.c */
	}
	if (len > c->mdts_bytes)
		return NVME_SC_INVALID_FIELD | DNR; /* Identify MDTS */
	st = check_range(ns, slba, nlb);
	if (st)
		return st;
	st = nvme_map_dptr(c, r, len, cmd->opcode != NVME_CMD_READ, true);
	if (st)
		return st;
	if (write && ns->zns) {
		st = nvme_zns_write(ns, slba, nlb, append, &slba);
		if (st)
			return st;
		/* ZNS 1.1, Zone Append: the LBA it wrote goes in DW0/DW1; a Write leaves DW0
		 * reserved (NVM Command Set, Write command) */
		if (append) {
			r->result = (uint32_t)slba;
			r->result1 = (uint32_t)(slba >> 32);
		}
	}
	r->be = (struct nvme_be_req){
		.op = write ? NVME_BE_WRITE : NVME_BE_READ,
		.iov = r->sg.iov,
		.iovcnt = r->sg.niov,
		.offset = slba << ns->lba_shift,
		.len = len,
		/* A disabled volatile write cache makes every write durable (5.21.1.6). */
		.fua = write && (fua || !(c->feat.vwc & 1)),
	};
	if (cmd->opcode == NVME_CMD_COMPARE) {
		r->bounce = malloc(len);
		if (!r->bounce)
			return NVME_SC_INTERNAL;
		r->bounce_iov = (struct iovec){.iov_base = r->bounce, .iov_len = len};
		r->be.iov = &r->bounce_iov;
		r->be.iovcnt = 1;
	}
	return submit_one(r, ns);
}

/* 6.16 Write Zeroes: no data transfer; MDTS does not apply. */
static uint16_t write_zeroes(struct nvme_ctrl *c, struct nvme_req *r, struct nvme_ns *ns)
{
	const struct nvme_sqe *cmd = &r->cmd;
	uint64_t slba = cmd->cdw10 | (uint64_t)cmd->cdw11 << 32;
	uint64_t nlb = (cmd->cdw12 & 0xffff) + 1;
	bool deac = cmd->cdw12 & (1u << 25), fua = cmd->cdw12 & (1u << 30);
	uint16_t st = check_range(ns, slba, nlb);

	if (st)
		return st;
	/* ZNS 3.4.1: Write Zeroes obeys the write pointer like a Write. */
	if (ns->zns) {
		st = nvme_zns_write(ns, slba, nlb, false, &slba);
		if (st)
			return st;
	}
	r->be = (struct nvme_be_req){
		.op = deac && ns->be.discard_zeroes ? NVME_BE_DISCARD : NVME_BE_WRITE_ZEROES,
		.offset = slba << ns->lba_shift,
		.len = nlb << ns->lba_shift,
		.fua = fua || !(c->feat.vwc & 1),
	};
	if (ns->ms)
		return nvme_meta_write_zeroes(c, r, ns, slba, nlb); /* pi.c */
	return submit_one(r, ns);
}

/* 6.7 Dataset Management: ranges are hints, except Attribute Deallocate (AD). */
static uint16_t dsm(struct nvme_ctrl *c, struct nvme_req *r, struct nvme_ns *ns)
{
	uint8_t ranges[256 * 16];
	unsigned nr = (r->cmd.cdw10 & 0xff) + 1;
	bool ad = r->cmd.cdw11 & (1u << 2);
	struct nvme_be_req *bes;
	uint16_t st = nvme_dptr_from_host(c, r, ranges, (uint64_t)nr * 16);

	if (st)
		return st;
	for (unsigned i = 0; i < nr; i++) {
		uint32_t nlb;
		uint64_t slba;

		memcpy(&nlb, ranges + i * 16 + 4, 4);
		memcpy(&slba, ranges + i * 16 + 8, 8);
		if (nlb && check_range(ns, slba, nlb))
			return NVME_SC_LBA_RANGE | DNR;
	}
	if (!ad)
		return NVME_SC_SUCCESS;
	bes = nvme_req_bes(r, ns->ms ? 2 * nr : nr);
	if (!bes)
		return NVME_SC_INTERNAL;
	r->pending = 1;
	for (unsigned i = 0; i < nr; i++) {
		uint32_t nlb;
		uint64_t slba;

		memcpy(&nlb, ranges + i * 16 + 4, 4);
		memcpy(&slba, ranges + i * 16 + 8, 8);
		if (!nlb)
			continue;
		bes[i] = (struct nvme_be_req){.op = NVME_BE_DISCARD,
					      .offset = slba << ns->lba_shift,
					      .len = (uint64_t)nlb << ns->lba_shift};
		submit(r, ns, &bes[i]);
		/* pi.c: the metadata of a deallocated block reads as zeroes, its PI as all
		 * ones (NVM Command Set 1.0 3.2.3.2.1) */
		if (ns->ms) {
			bes[nr + i] = (struct nvme_be_req){.op = NVME_BE_WRITE_ZEROES,
							   .offset = ns->meta_off + slba * ns->ms,
							   .len = (uint64_t)nlb * ns->ms};
			submit(r, ns, &bes[nr + i]);
		}
	}
	if (--r->pending == 0)
		io_finish(r);
	return NVME_STATUS_PENDING;
}

void nvme_req_free_copy(struct nvme_req *r)
{
	if (r->copy) {
		free(r->copy->buf);
		free(r->copy->mbuf);
	}
	free(r->copy);
	r->copy = NULL;
}

static void copy_run(struct nvme_req *r);

/* One half of a chunk finished: the read fills the bounce buffer, the write empties it. */
static void copy_be_done(struct nvme_be_req *b, int err)
{
	struct nvme_req *r = b->opaque;
	struct nvme_copy *cp = r->copy;

	if (err && !r->status)
		r->status = be_status(b, err);
	/* pi.c: a half is a data and a metadata request on a namespace with metadata; after the
	 * read half, the chunk's protection information */
	if (cp->half_pending && --cp->half_pending)
		return;
	if (!cp->writing && !r->status && r->ns->ms) {
		uint16_t st = nvme_meta_copy_chunk(r->ns, &r->cmd, cp, cp->buf, cp->mbuf,
						   (uint32_t)cp->chunk);

		if (st)
			r->status = st;
	}
	if (cp->writing) {
		cp->off += cp->chunk;
		cp->dlba += cp->chunk;
		if (cp->off == cp->range[cp->idx].nlb) {
			cp->idx++;
			cp->off = 0;
		}
	}
	cp->writing = !cp->writing;
	if (cp->submitting) {
		cp->done_inline = true; /* copy_run's loop goes on: no recursion per chunk */
		return;
	}
	copy_run(r);
}

/*
 * Move the ranges one chunk at a time: read at most NVME_COPY_CHUNK bytes of the source into
 * the bounce buffer, write them at the destination, next chunk. Synchronous backends (ram)
 * complete inside submit() and the loop continues; asynchronous ones (file, io_uring) call
 * copy_be_done later, which resumes here. The first error ends the command with that
 * error's status; blocks already written stay written.
 */
static void copy_run(struct nvme_req *r)
{
	struct nvme_copy *cp = r->copy;
	struct nvme_ns *ns = r->ns;

	for (;;) {
		uint64_t lba, left, max = NVME_COPY_CHUNK >> ns->lba_shift;

		if (r->status || cp->idx == cp->nr) {
			nvme_req_complete(r);
			return;
		}
		left = cp->range[cp->idx].nlb - cp->off;
		if (!cp->writing)
			cp->chunk = left < max ? left : max;
		lba = cp->writing ? cp->dlba : cp->range[cp->idx].slba + cp->off;
		cp->iov =
			(struct iovec){.iov_base = cp->buf, .iov_len = cp->chunk << ns->lba_shift};
		r->be = (struct nvme_be_req){
			.op = cp->writing ? NVME_BE_WRITE : NVME_BE_READ,
			.iov = &cp->iov,
			.iovcnt = 1,
			.offset = lba << ns->lba_shift,
			.len = cp->chunk << ns->lba_shift,
			.fua = cp->writing && cp->fua,
			.done = copy_be_done,
			.opaque = r,
		};
		cp->submitting = true;
		cp->done_inline = false;
		if (ns->ms) {
			cp->miov =
				(struct iovec){.iov_base = cp->mbuf, .iov_len = cp->chunk * ns->ms};
			cp->mbe = r->be;
			cp->mbe.iov = &cp->miov;
			cp->mbe.offset = ns->meta_off + lba * ns->ms;
			cp->mbe.len = cp->chunk * ns->ms;
			cp->half_pending = 2;
		}
		if (ns->be.ops->submit(&ns->be, &r->be) < 0) {
			cp->submitting = false;
			r->status = NVME_SC_INTERNAL;
			continue;
		}
		if (ns->ms && ns->be.ops->submit(&ns->be, &cp->mbe) < 0) {
			if (!r->status)
				r->status = NVME_SC_INTERNAL;
			copy_be_done(&cp->mbe, 0); /* the half ends with the data request */
		}
		cp->submitting = false;
		if (!cp->done_inline)
			return; /* copy_be_done resumes */
	}
}

/*
 * NVM Command Set 1.0 3.2.2 Copy, Source Range Entries Copy Descriptor Format 0h only (OCFS
 * 0: format 0h needs no bit). The data pointer holds NR + 1 32-byte descriptors (Source Range
 * Entries format 0h: SLBA at bytes 15:8, NLB 0-based at 17:16); the ranges land back to back from
 * SDLBA on. Every check runs before any data moves, so a failing command writes nothing.
 * Overlapping source and destination: ranges are copied in order, each in ascending chunks
 * through a bounce buffer, so a chunk is always read whole before it is written; a range
 * whose destination overlaps its own later chunks (or a later range) reads what this command
 * already wrote there. The host must not rely on that ordering.
 */
static uint16_t copy_cmd(struct nvme_ctrl *c, struct nvme_req *r, struct nvme_ns *ns)
{
	const struct nvme_sqe *cmd = &r->cmd;
	uint8_t descs[(NVME_COPY_MSRC + 1) * 32];
	uint64_t sdlba = cmd->cdw10 | (uint64_t)cmd->cdw11 << 32, total = 0;
	unsigned nr = (cmd->cdw12 & 0xff) + 1, fmt = (cmd->cdw12 >> 8) & 0xf;
	struct nvme_copy *cp;
	uint16_t st;

	/* 3.2.2: a Descriptor Format the controller does not support (OCFS) is Invalid Field. */
	if (fmt != 0)
		return NVME_SC_INVALID_FIELD | DNR;
	/* 3.2.2: more ranges than MSRC + 1 is Command Size Limit Exceeded. */
	if (nr > NVME_COPY_MSRC + 1)
		return NVME_SC_CMD_SIZE_LIMIT | DNR;
	st = nvme_map_dptr(c, r, (uint64_t)nr * 32, true, true);
	if (st)
		return st;
	nvme_sg_copy_from_host(&r->sg, descs, (uint64_t)nr * 32);
	cp = calloc(1, sizeof(*cp));
	if (!cp)
		return NVME_SC_INTERNAL;
	r->copy = cp; /* freed when the request is released */
	cp->nr = nr;
	for (unsigned i = 0; i < nr; i++) {
		const uint8_t *d = descs + 32 * i;

		cp->range[i].slba = bus_load_le(d + 8, 8);
		cp->range[i].nlb = (uint32_t)bus_load_le(d + 16, 2) + 1;
		cp->range[i].elbt = (uint32_t)bus_load_le(d + 24, 4);
		cp->range[i].elbat = (uint16_t)bus_load_le(d + 28, 2);
		cp->range[i].elbatm = (uint16_t)bus_load_le(d + 30, 2);
		/* 3.2.2: a range above MSSRL, or all of them above MCL: Command Size Limit
		 * Exceeded. total stays below 2^24: no overflow. */
		total += cp->range[i].nlb;
		if (cp->range[i].nlb > NVME_COPY_MSSRL || total > NVME_COPY_MCL)
			return NVME_SC_CMD_SIZE_LIMIT | DNR;
		/* 3.2.2: a source range past the namespace is LBA Out of Range. */
		st = check_range(ns, cp->range[i].slba, cp->range[i].nlb);
		if (st)
			return st;
	}
	/* ... and so is a destination range past it. */
	st = check_range(ns, sdlba, total);
	if (st)
		return st;
	if (ns->ms) {
		st = nvme_meta_copy_check(ns, cmd, cp); /* pi.c */
		if (st)
			return st;
	}
	/* The null backend has nothing to copy: the checks are the whole command. */
	if (ns->be.ops == &nvme_backend_null_ops)
		return NVME_SC_SUCCESS;
	/* 3.2.2 FUA, as for Write; a disabled volatile write cache makes every write durable. */
	cp->fua = (cmd->cdw12 & (1u << 30)) || !(c->feat.vwc & 1);
	cp->dlba = sdlba;
	if (posix_memalign(&cp->buf, 4096, NVME_COPY_CHUNK)) {
		cp->buf = NULL;
		return NVME_SC_INTERNAL;
	}
	if (ns->ms) {
		cp->mbuf = malloc((NVME_COPY_CHUNK >> ns->lba_shift) * ns->ms);
		if (!cp->mbuf)
			return NVME_SC_INTERNAL;
	}
	copy_run(r);
	return NVME_STATUS_PENDING;
}

static void flush_noop(struct nvme_be_req *b, int err)
{
}

/* 6.8 Flush with NSID FFFFFFFFh (Identify VWC bits 2:1 = 11b): every namespace. Without a
 * request (shutdown), wait for the backends instead. */
uint16_t nvme_flush_all(struct nvme_ctrl *c, struct nvme_req *r)
{
	struct nvme_be_req local[NVME_MAX_NAMESPACES], *bes = local;

	if (r) {
		bes = nvme_req_bes(r, c->nr_ns ? c->nr_ns : 1);
		if (!bes)
			return NVME_SC_INTERNAL;
		r->pending = 1;
	}
	for (unsigned i = 0; i < c->nr_ns; i++) {
		struct nvme_backend *be = &c->ns[i].be;

		if (!c->ns[i].attached)
			continue;
		bes[i] = (struct nvme_be_req){.op = NVME_BE_FLUSH};
		if (r) {
			submit(r, &c->ns[i], &bes[i]);
		} else {
			bes[i].done = flush_noop;
			be->ops->submit(be, &bes[i]);
			if (be->ops->drain)
				be->ops->drain(be);
		}
	}
	if (r && --r->pending == 0)
		io_finish(r);
	return NVME_STATUS_PENDING;
}

uint16_t nvme_io_exec(struct nvme_ctrl *c, struct nvme_req *r)
{
	const struct nvme_sqe *cmd = &r->cmd;
	struct nvme_ns *ns;

	switch (cmd->opcode) {
	case NVME_CMD_FLUSH:
	case NVME_CMD_WRITE:
	case NVME_CMD_READ:
	case NVME_CMD_COMPARE:
	case NVME_CMD_WRITE_ZEROES:
	case NVME_CMD_DSM:
	case NVME_CMD_VERIFY:
	case NVME_CMD_COPY:
	case NVME_CMD_ZONE_MGMT_SEND:
	case NVME_CMD_ZONE_MGMT_RECV:
	case NVME_CMD_ZONE_APPEND:
	case NVME_CMD_RESV_REGISTER:
	case NVME_CMD_RESV_REPORT:
	case NVME_CMD_RESV_ACQUIRE:
	case NVME_CMD_RESV_RELEASE:
		break;
	default:
		pr_ratelimited("%s: unsupported I/O opcode 0x%02x", c->name, cmd->opcode);
		return NVME_SC_INVALID_OPCODE | DNR;
	}
	if (cmd->flags & 3)
		return NVME_SC_INVALID_FIELD | DNR; /* FUSES = 0 */
	if (cmd->opcode == NVME_CMD_FLUSH && cmd->nsid == NVME_NSID_ALL)
		return nvme_flush_all(c, r);
	ns = nvme_ns_get(c, cmd->nsid);
	if (!ns)
		return NVME_SC_INVALID_NS | DNR;
	/*
	 * NVMe 2.0 3.1.3.5 CC.CSS: 000b enables the NVM Command Set alone, so a zoned
	 * namespace takes only NVM commands; the zoned set's own opcodes need 110b (QEMU's
	 * nvme_select_iocs_ns gives such a namespace the NVM command table, too).
	 */
	if (nvme_zone_opcode(cmd->opcode) && NVME_CC_CSS(c->cc) != NVME_CC_CSS_CSI)
		return NVME_SC_INVALID_OPCODE | DNR;
	if (nvme_ana_io_status(c, ns))
		return nvme_ana_io_status(c, ns); /* no DNR: another path may take it */
	r->ns = ns;
	switch (cmd->opcode) {
	case NVME_CMD_RESV_REGISTER:
	case NVME_CMD_RESV_REPORT:
	case NVME_CMD_RESV_ACQUIRE:
	case NVME_CMD_RESV_RELEASE:
		return nvme_resv_exec(c, r, ns);
	}
	if (nvme_resv_check(c, ns, cmd->opcode))
		return nvme_resv_check(c, ns, cmd->opcode);
	switch (cmd->opcode) {
	case NVME_CMD_FLUSH:
		r->be = (struct nvme_be_req){.op = NVME_BE_FLUSH};
		return submit_one(r, ns);
	case NVME_CMD_WRITE_ZEROES:
		return write_zeroes(c, r, ns);
	case NVME_CMD_DSM:
		return dsm(c, r, ns);
	case NVME_CMD_COPY:
		/* Not built for zoned namespaces (the destination would need zone checks). */
		if (ns->zns)
			return NVME_SC_INVALID_OPCODE | DNR;
		return copy_cmd(c, r, ns);
	case NVME_CMD_ZONE_MGMT_SEND:
	case NVME_CMD_ZONE_MGMT_RECV:
		return nvme_zns_exec(c, r, ns);
	case NVME_CMD_VERIFY: {
		/* 6.13: nothing can fail to read in memory backends; range checked only. */
		uint64_t slba = cmd->cdw10 | (uint64_t)cmd->cdw11 << 32;
		uint16_t st = check_range(ns, slba, (cmd->cdw12 & 0xffff) + 1);

		if (!st && (ns->dps & 7))
			return nvme_meta_rw(c, r, ns); /* pi.c: reads and checks the PI */
		if (!st)
			account(c, r);
		return st;
	}
	default:
		return rw(c, r, ns);
	}
}
