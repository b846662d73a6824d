/* SPDX-License-Identifier: MIT */
/*
 * Data pointers: PRP lists (NVMe 1.4 4.3) and SGLs (4.4) resolved into a scatter list of host
 * pointers. Every segment goes through host->dma_map, so nothing outside guest memory is
 * ever touched; the backend then does vectored I/O on the list.
 */
#include <stdlib.h>
#include <string.h>

#include "devices/nvme/internal.h"

#define DNR NVME_SC_DNR

void nvme_sg_free(struct nvme_sg *sg)
{
	free(sg->iov);
	sg->iov = NULL;
	sg->niov = sg->cap = 0;
	sg->len = 0;
}

static uint16_t sg_add_host(struct nvme_sg *sg, void *p, uint64_t len)
{
	struct iovec *last = sg->niov ? &sg->iov[sg->niov - 1] : NULL;

	if (last && (uint8_t *)last->iov_base + last->iov_len == p) {
		last->iov_len += len;
	} else {
		if (sg->niov == sg->cap) {
			int cap = sg->cap ? sg->cap * 2 : 8;
			struct iovec *iov = realloc(sg->iov, sizeof(*iov) * (size_t)cap);

			if (!iov)
				return NVME_SC_INTERNAL;
			sg->iov = iov;
			sg->cap = cap;
		}
		sg->iov[sg->niov++] = (struct iovec){.iov_base = p, .iov_len = len};
	}
	sg->len += len;
	return NVME_SC_SUCCESS;
}

/* Page by page: behind an IOMMU (docs/iommu.md) bus-contiguous pages need not be contiguous
 * in memory; sg_add_host merges the ones that are. */
static uint16_t sg_add(struct nvme_ctrl *c, struct nvme_sg *sg, uint64_t addr, uint64_t len)
{
	while (len) {
		uint64_t n = 4096 - (addr & 4095);
		void *p;
		uint16_t st;

		n = n < len ? n : len;
		p = c->host.dma_map(c->host.opaque, addr, n);
		if (!p)
			return NVME_SC_DATA_XFER_ERROR | DNR;
		st = sg_add_host(sg, p, n);
		if (st)
			return st;
		addr += n;
		len -= n;
	}
	return NVME_SC_SUCCESS;
}

bool nvme_dma_mapped(struct nvme_ctrl *c, uint64_t addr, uint64_t len)
{
	while (len) {
		uint64_t n = 4096 - (addr & 4095);

		n = n < len ? n : len;
		if (!c->host.dma_map(c->host.opaque, addr, n))
			return false;
		addr += n;
		len -= n;
	}
	return true;
}

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* 4.3: PRP1 may start inside a page; PRP2 is the second page or points to a PRP list whose
 * last entry chains to the next list page while more entries are needed. */
static uint16_t map_prp(struct nvme_ctrl *c, struct nvme_sg *sg, const struct nvme_sqe *cmd,
			uint64_t len)
{
	uint64_t page = 1ULL << c->page_shift, mask = page - 1;
	uint64_t n = min64(len, page - (cmd->prp1 & mask)), list;
	uint16_t st = sg_add(c, sg, cmd->prp1, n);

	if (st)
		return st;
	len -= n;
	if (!len)
		return NVME_SC_SUCCESS;
	if (len <= page) {
		if (cmd->prp2 & mask)
			return NVME_SC_PRP_INVALID_OFFSET | DNR;
		return sg_add(c, sg, cmd->prp2, len);
	}
	list = cmd->prp2;
	if (list & 7)
		return NVME_SC_PRP_INVALID_OFFSET | DNR;
	while (len) {
		uint64_t slots = (page - (list & mask)) / 8, need = (len + mask) / page;
		bool chain = need > slots;
		uint64_t use = chain ? slots : need;
		const uint8_t *ents = c->host.dma_map(c->host.opaque, list, use * 8);

		if (!ents)
			return NVME_SC_DATA_XFER_ERROR | DNR;
		for (uint64_t i = 0; i < use; i++) {
			uint64_t e;

			memcpy(&e, ents + i * 8, 8); /* read once: the guest may change it */
			if (e & mask)
				return NVME_SC_PRP_INVALID_OFFSET | DNR;
			if (chain && i == use - 1) {
				list = e;
				break;
			}
			n = min64(len, page);
			st = sg_add(c, sg, e, n);
			if (st)
				return st;
			len -= n;
		}
	}
	return NVME_SC_SUCCESS;
}

struct sgl_walk {
	struct nvme_ctrl *c;
	struct nvme_sg *sg;
	uint64_t remaining;
	unsigned ndesc;
	bool to_device;
};

static uint16_t sgl_data(struct sgl_walk *w, const struct nvme_sgl_desc *d)
{
	unsigned type = d->type >> 4;

	if ((d->type & 0xf) != 0)
		return NVME_SC_SGL_INVALID_TYPE | DNR; /* only the Address subtype over PCIe */
	if (type != NVME_SGL_TYPE_DATA_BLOCK && type != NVME_SGL_TYPE_BIT_BUCKET)
		return NVME_SC_SGL_INVALID_TYPE | DNR;
	/* 4.4: Bit Bucket descriptors discard read data; they have no meaning for writes. */
	if (type == NVME_SGL_TYPE_BIT_BUCKET && w->to_device)
		return NVME_SC_SGL_INVALID_TYPE | DNR;
	/* SGLS bit 18 = 0: the SGL may not describe more data than the command transfers. */
	if (d->len > w->remaining)
		return NVME_SC_SGL_INVALID_DATA | DNR;
	w->remaining -= d->len;
	if (!d->len)
		return NVME_SC_SUCCESS;
	if (type == NVME_SGL_TYPE_BIT_BUCKET)
		return sg_add_host(w->sg, w->c->bitbucket, d->len);
	return sg_add(w->c, w->sg, d->addr, d->len);
}

static bool is_segment(const struct nvme_sgl_desc *d)
{
	unsigned type = d->type >> 4;

	return type == NVME_SGL_TYPE_SEGMENT || type == NVME_SGL_TYPE_LAST_SEGMENT;
}

/* Walk the SGL whose first descriptor is *first (SGL1, or the one MPTR points to). */
static uint16_t walk_sgl(struct nvme_ctrl *c, struct nvme_sg *sg, const struct nvme_sgl_desc *first,
			 uint64_t len, bool to_device)
{
	struct sgl_walk w = {.c = c, .sg = sg, .remaining = len, .to_device = to_device};
	struct nvme_sgl_desc d = *first;
	uint16_t st;

	while (is_segment(&d)) {
		bool last = (d.type >> 4) == NVME_SGL_TYPE_LAST_SEGMENT;
		uint32_t count = d.len / 16;
		const uint8_t *list;

		if ((d.type & 0xf) != 0)
			return NVME_SC_SGL_INVALID_TYPE | DNR;
		if (!d.len || d.len % 16)
			return NVME_SC_SGL_INVALID_SEG | DNR;
		w.ndesc += count;
		if (w.ndesc > NVME_SGL_MAX_DESC)
			return NVME_SC_SGL_INVALID_COUNT | DNR;
		list = c->host.dma_map(c->host.opaque, d.addr, d.len);
		if (!list)
			return NVME_SC_DATA_XFER_ERROR | DNR;
		for (uint32_t i = 0; i < count; i++) {
			memcpy(&d, list + (uint64_t)i * 16, sizeof(d));
			if (is_segment(&d)) {
				/* Only the last descriptor of a Segment may point further. */
				if (last || i != count - 1)
					return NVME_SC_SGL_INVALID_SEG | DNR;
				break;
			}
			if (!last && i == count - 1)
				return NVME_SC_SGL_INVALID_SEG | DNR;
			st = sgl_data(&w, &d);
			if (st)
				return st;
		}
		if (last)
			break;
	}
	if (!is_segment(&d) && w.ndesc == 0) {
		st = sgl_data(&w, &d);
		if (st)
			return st;
	}
	if (w.remaining)
		return NVME_SC_SGL_INVALID_DATA | DNR;
	return NVME_SC_SUCCESS;
}

static uint16_t map_sgl(struct nvme_ctrl *c, struct nvme_sg *sg, const struct nvme_sqe *cmd,
			uint64_t len, bool to_device)
{
	struct nvme_sgl_desc d;

	memcpy(&d, &cmd->prp1, sizeof(d)); /* SGL1 occupies DPTR */
	return walk_sgl(c, sg, &d, len, to_device);
}

/*
 * NVMe 2.0 4.1.1 MPTR. PSDT 00b/01b: the address of a contiguous metadata buffer, dword
 * aligned (Identify SGLS bit 17 = 0: no byte-aligned buffers). PSDT 10b: the address of one
 * SGL descriptor, qword aligned (SGLS bit 19), walked like SGL1. Outside memory the device
 * may reach: Data Transfer Error.
 */
uint16_t nvme_map_mptr(struct nvme_ctrl *c, struct nvme_req *r, uint64_t len, bool to_device)
{
	const uint8_t *p;
	struct nvme_sgl_desc d;

	if (!len)
		return NVME_SC_SUCCESS;
	if (NVME_SQE_PSDT(r->cmd.flags) != NVME_PSDT_SGL_MPTR_SGL) {
		if (r->cmd.mptr & 3)
			return NVME_SC_INVALID_FIELD | DNR;
		return sg_add(c, &r->sg, r->cmd.mptr, len);
	}
	if (r->cmd.mptr & 7)
		return NVME_SC_INVALID_FIELD | DNR;
	p = c->host.dma_map(c->host.opaque, r->cmd.mptr, sizeof(d));
	if (!p)
		return NVME_SC_DATA_XFER_ERROR | DNR;
	memcpy(&d, p, sizeof(d)); /* read once: the guest may change it */
	return walk_sgl(c, &r->sg, &d, len, to_device);
}

uint16_t nvme_map_dptr(struct nvme_ctrl *c, struct nvme_req *r, uint64_t len, bool to_device,
		       bool allow_sgl)
{
	unsigned psdt = NVME_SQE_PSDT(r->cmd.flags);

	r->sg.niov = 0;
	r->sg.len = 0;
	/* 4.2: PSDT 11b is reserved; admin commands over PCIe use PRPs only. */
	if (psdt == 3 || (psdt != NVME_PSDT_PRP && !allow_sgl))
		return NVME_SC_INVALID_FIELD | DNR;
	if (!len)
		return NVME_SC_SUCCESS;
	if (psdt == NVME_PSDT_PRP)
		return map_prp(c, &r->sg, &r->cmd, len);
	return map_sgl(c, &r->sg, &r->cmd, len, to_device);
}

uint16_t nvme_sg_copy_to_host(struct nvme_sg *sg, const void *buf, uint64_t len)
{
	const uint8_t *p = buf;

	for (int i = 0; i < sg->niov && len; i++) {
		uint64_t n = min64(len, sg->iov[i].iov_len);

		memcpy(sg->iov[i].iov_base, p, n);
		p += n;
		len -= n;
	}
	return NVME_SC_SUCCESS;
}

uint16_t nvme_sg_copy_from_host(struct nvme_sg *sg, void *buf, uint64_t len)
{
	uint8_t *p = buf;

	for (int i = 0; i < sg->niov && len; i++) {
		uint64_t n = min64(len, sg->iov[i].iov_len);

		memcpy(p, sg->iov[i].iov_base, n);
		p += n;
		len -= n;
	}
	return NVME_SC_SUCCESS;
}

uint16_t nvme_dptr_read_to_host(struct nvme_ctrl *c, struct nvme_req *r, const void *buf,
				uint64_t len)
{
	uint16_t st = nvme_map_dptr(c, r, len, false, false);

	return st ? st : nvme_sg_copy_to_host(&r->sg, buf, len);
}

uint16_t nvme_dptr_from_host(struct nvme_ctrl *c, struct nvme_req *r, void *buf, uint64_t len)
{
	uint16_t st = nvme_map_dptr(c, r, len, true, false);

	return st ? st : nvme_sg_copy_from_host(&r->sg, buf, len);
}
