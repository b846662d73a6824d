/* SPDX-License-Identifier: MIT */
/* Namespaces and the Identify data structures (NVMe 1.4 5.15.2). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "devices/nvme/internal.h"
#include "vmm/util.h"

/* Identify Controller IEEE OUI: a locally administered value (bit 1 of the first octet). */
static const uint8_t nvme_oui[3] = {0x02, 0x56, 0x4d};

/* 64-bit FNV-1a, then a splitmix finaliser: stable, well spread identifiers. */
static uint64_t id_hash(const char *s, uint32_t nsid, uint64_t salt)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ salt;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
	h = (h ^ nsid) * 0x100000001b3ULL;
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	return h ^ (h >> 31);
}

void nvme_ns_set_format(struct nvme_ns *ns, unsigned lbaf)
{
	ns->lbaf = lbaf;
	ns->lba_shift = nvme_lbaf_shift(lbaf);
	ns->ms = nvme_lbaf_ms(lbaf);
	nvme_meta_layout(ns); /* nsze: what data and metadata leave room for (pi.c) */
}

unsigned nvme_ns_slots(const struct nvme_ctrl_config *cfg)
{
	if (cfg->nsmgmt_capacity)
		return NVME_MAX_NAMESPACES;
	return cfg->nr_ns ? cfg->nr_ns : 1;
}

int nvme_ns_init(struct nvme_ctrl *c, struct nvme_ns *ns, uint32_t nsid,
		 const struct nvme_ns_config *cfg, uint64_t gen, char *err, size_t errlen)
{
	unsigned lba = cfg->lba_size ? cfg->lba_size : 512;
	struct nvme_backend_args args = {.name = cfg->backend ? cfg->backend : "ram",
					 .path = cfg->path,
					 .cache = cfg->cache,
					 .size = cfg->size,
					 .ring = c->ring};
	char why[200] = "";
	uint64_t h1, h2, h3;
	const char *seed;
	int ret, lbaf = nvme_lbaf_find(lba, cfg->metadata_size);

	if (c->subsys && (cfg->zoned || cfg->ana_group > NVME_ANA_MAX_GROUPS)) {
		snprintf(err, errlen,
			 "%s: namespace %u: in a subsystem: not zoned, ANA group 1..%d", c->name,
			 nsid, NVME_ANA_MAX_GROUPS);
		return -EINVAL;
	}
	if (lba != 512 && lba != 4096) {
		snprintf(err, errlen, "%s: namespace %u: lba_size must be 512 or 4096", c->name,
			 nsid);
		return -EINVAL;
	}
	if (lbaf < 0 || cfg->pi_type > 3 || (cfg->pi_type && !cfg->metadata_size) ||
	    (cfg->zoned && cfg->metadata_size)) {
		snprintf(err, errlen,
			 "%s: namespace %u: metadata_size must be 0, 8, 16 or 64, pi_type 0-3 "
			 "(PI needs metadata), and a zoned namespace has no metadata",
			 c->name, nsid);
		return -EINVAL;
	}
	/* 0: the size of the file or device (backends that have storage) */
	if (cfg->size % 4096) {
		snprintf(err, errlen, "%s: namespace %u: size must be a multiple of 4096", c->name,
			 nsid);
		return -EINVAL;
	}
	if (c->subsys && !strcmp(args.name, "ram"))
		ret = nvme_subsys_open_ram(c->subsys, nsid, cfg->size, &ns->be, why, sizeof(why));
	else
		ret = nvme_backend_open(&ns->be, &args, why, sizeof(why));
	if (ret) {
		snprintf(err, errlen, "%s: namespace %u: %s", c->name, nsid, why);
		return ret;
	}
	/* Both LBA formats must fit whole blocks: whole 4 KiB of the storage only. */
	ns->size = ns->be.size & ~4095ULL;
	if (!ns->size) {
		snprintf(err, errlen, "%s: namespace %u: smaller than 4096 bytes", c->name, nsid);
		nvme_backend_close(&ns->be);
		return -EINVAL;
	}
	ret = nvme_zns_init(ns, cfg, why, sizeof(why));
	if (ret) {
		snprintf(err, errlen, "%s: namespace %u: %s", c->name, nsid, why);
		nvme_backend_close(&ns->be);
		return ret;
	}
	ns->nsid = nsid;
	nvme_ns_set_format(ns, (unsigned)lbaf);
	nvme_meta_set_format(ns, cfg->extended_lba, cfg->pi_type, cfg->pi_first);
	if (!ns->nsze) {
		snprintf(err, errlen, "%s: namespace %u: too small for one block and its metadata",
			 c->name, nsid);
		nvme_ns_fini(ns);
		return -EINVAL;
	}
	nvme_zns_format(ns);
	/* 5.15.2.4: NGUID, EUI64 and UUID unique per namespace, stable for a serial. */
	/* A namespace created later under a reused NSID is a new one: gen tells them apart. */
	/* In a subsystem the same on every controller (Linux nvme_ns_ids_equal). */
	seed = c->subsys ? nvme_subsys_subnqn(c->subsys) : c->serial;
	h1 = id_hash(seed, nsid, 1 + (gen << 2));
	h2 = id_hash(seed, nsid, 2 + (gen << 2));
	h3 = id_hash(seed, nsid, 3 + (gen << 2));
	memcpy(ns->nguid, nvme_oui, 3);
	memcpy(ns->nguid + 3, &h1, 8);
	memcpy(ns->nguid + 11, &h2, 5);
	memcpy(ns->eui64, nvme_oui, 3);
	memcpy(ns->eui64 + 3, &h3, 5);
	memcpy(ns->uuid, &h2, 8);
	memcpy(ns->uuid + 8, &h3, 8);
	ns->uuid[6] = (ns->uuid[6] & 0x0f) | 0x80; /* RFC 9562 version 8 (custom) */
	ns->uuid[8] = (ns->uuid[8] & 0x3f) | 0x80; /* variant 10b */
	ns->allocated = true;
	ns->attached = !(c->subsys && cfg->detached);
	ns->shared = c->subsys != NULL;
	ns->anagrpid = c->subsys ? (cfg->ana_group ? cfg->ana_group : 1) : 0;
	return 0;
}

void nvme_ns_fini(struct nvme_ns *ns)
{
	nvme_zns_fini(ns);
	nvme_backend_close(&ns->be);
}

struct nvme_ns *nvme_ns_allocated(struct nvme_ctrl *c, uint32_t nsid)
{
	if (nsid == 0 || nsid > c->nr_ns || !c->ns[nsid - 1].allocated)
		return NULL;
	return &c->ns[nsid - 1];
}

struct nvme_ns *nvme_ns_get(struct nvme_ctrl *c, uint32_t nsid)
{
	struct nvme_ns *ns = nvme_ns_allocated(c, nsid);

	return ns && ns->attached ? ns : NULL;
}

/* 5.15.2.1: with Namespace Management, NSID FFFFFFFFh reports what all namespaces share;
 * nvme-cli reads the LBA formats here before Namespace Management create. */
void nvme_identify_ns_common(uint8_t *id)
{
	nvme_meta_identify_ns(NULL, id, NVME_NR_LBAF);
}

/* Figure 245 Identify Namespace data structure */
void nvme_identify_ns(struct nvme_ctrl *c, const struct nvme_ns *ns, uint8_t *id)
{
	nvme_put64(id + 0, ns->nsze);  /* NSZE */
	nvme_put64(id + 8, ns->nsze);  /* NCAP */
	nvme_put64(id + 16, ns->nsze); /* NUSE */
	id[24] = 0;		       /* NSFEAT: no thin provisioning */
	/* NLBAF, LBAF, FLBAS, MC, DPC, DPS (pi.c); a zoned namespace: the two plain formats
	 * its LBAFE entries describe */
	nvme_meta_identify_ns(ns, id, ns->zns ? 2 : NVME_NR_LBAF);
	id[30] = 0; /* NMIC: private to this controller */
	/* DLFEAT: deallocated blocks read as zeroes (001b) when the backend says so. */
	id[33] = ns->be.discard_zeroes ? 0x01 : 0x00;
	nvme_put64(id + 48, ns->size); /* NVMCAP (low 64 bits of 128) */
	/* Copy limits (NVM Command Set 1.0): MSSRL, MCL in blocks, MSRC 0-based */
	nvme_put16(id + 74, NVME_COPY_MSSRL);
	nvme_put32(id + 76, NVME_COPY_MCL);
	id[80] = NVME_COPY_MSRC;
	memcpy(id + 104, ns->nguid, 16);
	memcpy(id + 120, ns->eui64, 8);
	nvme_ana_identify_ns(ns, id);
}

static uint8_t *put_desc(uint8_t *p, uint8_t type, const void *id, uint8_t len)
{
	p[0] = type;
	p[1] = len;
	memcpy(p + 4, id, len);
	return p + 4 + len;
}

/* Figure 249 Namespace Identification Descriptor list */
void nvme_identify_ns_descs(const struct nvme_ns *ns, uint8_t *buf)
{
	uint8_t csi = ns->zns ? NVME_CSI_ZNS : NVME_CSI_NVM;
	uint8_t *p = buf;

	p = put_desc(p, NVME_NIDT_EUI64, ns->eui64, 8);
	p = put_desc(p, NVME_NIDT_NGUID, ns->nguid, 16);
	p = put_desc(p, NVME_NIDT_UUID, ns->uuid, 16);
	/* Linux nvme_identify_ns_descs: with CAP.CSS bit 6 every namespace must report its CSI */
	put_desc(p, NVME_NIDT_CSI, &csi, 1);
}

/* Figure 247 Identify Controller data structure */
void nvme_identify_ctrl(struct nvme_ctrl *c, uint8_t *id)
{
	uint8_t *ps0 = id + 2048;

	nvme_put16(id + 0, c->vid);
	nvme_put16(id + 2, c->ssvid);
	memcpy(id + 4, c->serial, 20);
	memcpy(id + 24, c->model, 40);
	memcpy(id + 64, c->firmware, 8);
	id[72] = 6; /* RAB: 64 commands */
	memcpy(id + 73, nvme_oui, 3);
	id[77] = c->mdts;
	nvme_put16(id + 78, c->cntlid);
	nvme_put32(id + 80, NVME_VS_1_4);
	nvme_put32(id + 92, 1u << 8); /* OAES: Namespace Attribute Notices */
	id[111] = 1;		      /* CNTRLTYPE: I/O controller */
	/* OACS: Format NVM, Namespace Management (when a pool is configured), DBBUF Config */
	nvme_put16(id + 256, 1u << 1 | (nvme_nsmgmt_enabled(c) ? 1u << 3 : 0) | 1u << 8);
	id[258] = 3; /* ACL: 4 concurrent Aborts */
	id[259] = NVME_AERL;
	id[260] = 1 << 1 | 1 << 0; /* FRMW: one slot, read-only */
	id[261] = 1 << 1 | 1 << 2; /* LPA: Commands Supported and Effects, extended data */
	id[262] = NVME_ELPE;
	id[263] = 0;		     /* NPSS: one power state */
	nvme_put16(id + 266, 0x157); /* WCTEMP: 343 K */
	nvme_put16(id + 268, 0x175); /* CCTEMP: 373 K */
	if (nvme_nsmgmt_enabled(c)) {
		uint64_t total, unalloc;

		nvme_nsmgmt_capacity(c, &total, &unalloc);
		nvme_put64(id + 280, total);	/* TNVMCAP (low 64 of 128 bits) */
		nvme_put64(id + 296, unalloc);	/* UNVMCAP */
		nvme_put32(id + 540, c->nr_ns); /* MNAN: as many as NN */
	}
	id[512] = 0x66;			/* SQES: 64 bytes */
	id[513] = 0x44;			/* CQES: 16 bytes */
	nvme_put16(id + 514, 0);	/* MAXCMD (fabrics only) */
	nvme_put32(id + 516, c->nr_ns); /* NN */
	/* ONCS: Compare, DSM, Write Zeroes, Timestamp, Verify, Copy (NVMe 2.0 bit 8) */
	nvme_put16(id + 520, 1u << 0 | 1u << 2 | 1u << 3 | 1u << 6 | 1u << 7 | 1u << 8);
	id[524] = 0;	     /* FNA: Format applies per namespace, no crypto erase */
	id[525] = 0x1 | 0x6; /* VWC present; Flush with NSID FFFFFFFFh supported */
	/* OCFS (bytes 535:534, NVMe 2.0): 0, Copy Descriptor Format 0h only, which has no bit */
	nvme_put16(id + 534, 0);
	/* SGLS: supported (no alignment), Bit Bucket, MPTR to one SGL descriptor (bit 19) */
	nvme_put32(id + 536, 1u << 0 | 1u << 16 | 1u << 19);
	snprintf((char *)id + 768, 256, "%s", c->subnqn);
	/* Power state 0: MP 25.00 W, operational */
	nvme_put16(ps0 + 0, 2500);
	nvme_ana_identify_ctrl(c, id);
}
