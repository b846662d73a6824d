/* SPDX-License-Identifier: MIT */
/*
 * VT-d legacy-mode translation (spec 3.4, 3.6, 9.1, 9.3, 9.8): root table -> context table ->
 * second-level page tables, every entry read from guest memory through host->read and checked
 * for the reserved bits the spec names, then the per-requester translation cache.
 */
#include <errno.h>
#include <string.h>

#include "devices/iommu/vtd.h"

#define PAGE_SHIFT 12
#define PAGE_MASK  (~0xfffull)
/* bits (HAW-1):12 of a table or page address; 63:HAW above it are reserved (9.1, 9.3, 9.8) */
#define HAW_ADDR_MASK (((1ull << VTD_HAW) - 1) & PAGE_MASK)

/* Root entry (9.1): lo P bit 0, CTP bits (HAW-1):12; lo 11:1 and the whole hi are reserved. */
#define ROOT_P	     1ull
#define ROOT_LO_RSVD (~(HAW_ADDR_MASK | ROOT_P))
/* Context entry (9.3): lo P 0, FPD 1, TT 3:2, SLPTPTR (HAW-1):12; hi AW 2:0, IGN 6:3,
 * DID 23:8; reserved: lo 11:4 and 63:HAW, hi 7 and 63:24. */
#define CTX_P	       1ull
#define CTX_FPD	       2ull
#define CTX_TT(lo)     (((lo) >> 2) & 3)
#define CTX_LO_RSVD    (~(HAW_ADDR_MASK | 0xfull))
#define CTX_HI_RSVD    (~0xffffffull | (1ull << 7))
#define CTX_AW(hi)     ((hi)&7)
#define TT_SL	       0 /* untranslated requests through second-level tables */
#define TT_PASSTHROUGH 2 /* ECAP.PT: the address is its own */
/* Second-level entry (9.8): R 0, W 1, PS 7 (in PDPE and PDE), SNP 11 (reserved: ECAP.SC=0),
 * TM 62 (reserved: ECAP.DT=0), address (HAW-1):12 (reserved above). */
#define SL_R	     1ull
#define SL_W	     2ull
#define SL_PS	     (1ull << 7)
#define SL_RSVD	     (~((1ull << VTD_HAW) - 1) & ((1ull << 52) - 1))
#define SL_LEAF_RSVD ((1ull << 11) | (1ull << 62))

static int read_entry(struct vtd *v, uint64_t gpa, void *buf, unsigned len)
{
	return v->host.read(v->host.opaque, gpa, buf, len);
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t x = 0;

	for (int i = 7; i >= 0; i--)
		x = x << 8 | p[i];
	return x;
}

bool vtd_enabled(const struct vtd *v)
{
	return __atomic_load_n(&v->te, __ATOMIC_ACQUIRE) != 0;
}

/* 9.8: one level's entry maps 2^(12 + 9 * (level - 1)) bytes. */
static int sl_walk(struct vtd *v, uint64_t table, int levels, uint64_t iova, unsigned access,
		   uint64_t *gpa, unsigned *perm_out, uint64_t *page)
{
	unsigned perm = VTD_READ | VTD_WRITE;

	for (int level = levels; level >= 1; level--) {
		unsigned shift = PAGE_SHIFT + 9u * (unsigned)(level - 1);
		uint64_t idx = (iova >> shift) & 511, pte;
		uint8_t raw[8];

		if (read_entry(v, table + idx * 8, raw, 8))
			return VTD_FR_PT_INVALID;
		pte = le64(raw);
		/* 3.6.1: a request needs the permission in every level's entry */
		perm &= (unsigned)(pte & (SL_R | SL_W));
		if (!(pte & (SL_R | SL_W)))
			return access & VTD_WRITE ? VTD_FR_NO_WRITE : VTD_FR_NO_READ;
		if (pte & SL_RSVD)
			return VTD_FR_PTE_RSVD;
		bool leaf = level == 1;
		if (pte & SL_PS) {
			/* PS is reserved in the PML4E; 2 MiB and 1 GiB pages (CAP.SLLPS = 11b) */
			if (level > 3)
				return VTD_FR_PTE_RSVD;
			if (level > 1) {
				uint64_t align = (1ull << shift) - 1;

				if (pte & HAW_ADDR_MASK & align)
					return VTD_FR_PTE_RSVD;
				leaf = true;
			}
		}
		if (leaf) {
			uint64_t size = 1ull << shift;

			if (pte & SL_LEAF_RSVD)
				return VTD_FR_PTE_RSVD;
			if (((access & VTD_WRITE) && !(perm & VTD_WRITE)))
				return VTD_FR_NO_WRITE;
			if (((access & VTD_READ) && !(perm & VTD_READ)))
				return VTD_FR_NO_READ;
			if (!perm) /* a permissionless path cannot be used for anything */
				return access & VTD_WRITE ? VTD_FR_NO_WRITE : VTD_FR_NO_READ;
			*gpa = (pte & HAW_ADDR_MASK & ~(size - 1)) | (iova & (size - 1));
			*perm_out = perm;
			*page = size;
			return 0;
		}
		table = pte & HAW_ADDR_MASK;
	}
	return VTD_FR_PT_INVALID; /* not reached */
}

int vtd_walk(struct vtd *v, uint16_t sid, uint64_t iova, unsigned access, uint64_t *gpa,
	     unsigned *perm, bool *fpd, uint64_t *page)
{
	uint64_t root = __atomic_load_n(&v->root, __ATOMIC_ACQUIRE);
	uint8_t raw[16];
	uint64_t lo, hi;
	unsigned aw;

	*fpd = false;
	*page = 0;
	__atomic_fetch_add(&v->walks, 1, __ATOMIC_RELAXED);
	/* 3.4.2: the root table is indexed by bus, each context table by devfn */
	if (read_entry(v, (root & HAW_ADDR_MASK) + (uint64_t)(sid >> 8) * 16, raw, 16))
		return VTD_FR_ROOT_INVALID;
	lo = le64(raw);
	hi = le64(raw + 8);
	if (!(lo & ROOT_P))
		return VTD_FR_ROOT_NOT_PRESENT;
	if ((lo & ROOT_LO_RSVD) || hi)
		return VTD_FR_ROOT_RSVD;
	if (read_entry(v, (lo & HAW_ADDR_MASK) + (uint64_t)(sid & 0xff) * 16, raw, 16))
		return VTD_FR_CTP_INVALID;
	lo = le64(raw);
	hi = le64(raw + 8);
	if (!(lo & CTX_P))
		return VTD_FR_CTX_NOT_PRESENT;
	/* 7.2.1: FPD in a present context entry suppresses recording of what follows */
	*fpd = (lo & CTX_FPD) != 0;
	if ((lo & CTX_LO_RSVD) || (hi & CTX_HI_RSVD))
		return VTD_FR_CTX_RSVD;
	if (CTX_TT(lo) == TT_PASSTHROUGH) {
		*gpa = iova;
		*perm = VTD_READ | VTD_WRITE;
		return 0;
	}
	/* TT 01b needs ECAP.DT, 11b is reserved; AW must be one CAP.SAGAW lists (39/48 bit) */
	aw = (unsigned)CTX_AW(hi);
	if (CTX_TT(lo) != TT_SL || (aw != 1 && aw != 2))
		return VTD_FR_CTX_INVALID;
	if (iova >> (30 + 9 * aw))
		return VTD_FR_ADDR_BEYOND_AW;
	return sl_walk(v, lo & HAW_ADDR_MASK, (int)aw + 2, iova, access, gpa, perm, page);
}

/* ---- the per-requester cache: a seqcount per entry, so readers never block ---- */

static bool cache_get(struct vtd_iotlb *c, uint32_t gen, uint16_t sid, uint64_t frame,
		      unsigned access, uint64_t *gpa_frame)
{
	struct vtd_iotlb_entry *e = &c->e[frame % VTD_IOTLB_N];
	unsigned s1 = __atomic_load_n(&e->seq, __ATOMIC_ACQUIRE), s2;
	uint64_t iova = __atomic_load_n(&e->iova, __ATOMIC_RELAXED);
	uint64_t gpa = __atomic_load_n(&e->gpa, __ATOMIC_RELAXED);
	uint32_t egen = __atomic_load_n(&e->gen, __ATOMIC_RELAXED);
	uint16_t esid = __atomic_load_n(&e->sid, __ATOMIC_RELAXED);
	uint8_t perm = __atomic_load_n(&e->perm, __ATOMIC_RELAXED);

	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	s2 = __atomic_load_n(&e->seq, __ATOMIC_RELAXED);
	if ((s1 & 1) || s1 != s2 || !perm || egen != gen || esid != sid || iova != frame)
		return false;
	if ((access & perm) != access)
		return false;
	*gpa_frame = gpa;
	return true;
}

static void cache_put(struct vtd_iotlb *c, uint32_t gen, uint16_t sid, uint64_t frame,
		      uint64_t gpa_frame, unsigned perm)
{
	struct vtd_iotlb_entry *e = &c->e[frame % VTD_IOTLB_N];
	unsigned s = __atomic_load_n(&e->seq, __ATOMIC_RELAXED);

	/* another writer has it: leave it to that one */
	if ((s & 1) || !__atomic_compare_exchange_n(&e->seq, &s, s + 1, false, __ATOMIC_ACQUIRE,
						    __ATOMIC_RELAXED))
		return;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&e->iova, frame, __ATOMIC_RELAXED);
	__atomic_store_n(&e->gpa, gpa_frame, __ATOMIC_RELAXED);
	__atomic_store_n(&e->gen, gen, __ATOMIC_RELAXED);
	__atomic_store_n(&e->sid, sid, __ATOMIC_RELAXED);
	__atomic_store_n(&e->perm, (uint8_t)perm, __ATOMIC_RELAXED);
	__atomic_store_n(&e->seq, s + 2, __ATOMIC_RELEASE);
}

/* bytes from `addr` to the end of its `page` (0: no end) */
static uint64_t span_of(uint64_t addr, uint64_t page)
{
	if (!page)
		return addr == UINT64_MAX ? 1 : UINT64_MAX - addr;
	return page - (addr & (page - 1));
}

int vtd_translate(struct vtd *v, struct vtd_iotlb *cache, uint16_t sid, uint64_t iova,
		  unsigned access, uint64_t *gpa, uint64_t *span)
{
	uint64_t frame = iova >> PAGE_SHIFT, gframe, page = 0, dummy;
	unsigned perm = 0;
	bool fpd;
	int r;

	if (!span)
		span = &dummy;
	if (!vtd_enabled(v)) {
		*gpa = iova;
		*span = span_of(iova, 0);
		return 0;
	}
	/* the generation is read before the walk: an invalidation during it makes the entry
	 * stale at once */
	uint32_t gen = __atomic_load_n(&v->gen, __ATOMIC_ACQUIRE);
	if (cache && cache_get(cache, gen, sid, frame, access, &gframe)) {
		__atomic_fetch_add(&cache->hits, 1, __ATOMIC_RELAXED);
		*gpa = gframe << PAGE_SHIFT | (iova & ~PAGE_MASK);
		*span = span_of(iova, 4096);
		return 0;
	}
	r = vtd_walk(v, sid, iova, access, gpa, &perm, &fpd, &page);
	if (r) {
		if (!fpd)
			vtd_record_fault(v, sid, iova, r, access);
		return r;
	}
	if (cache) {
		__atomic_fetch_add(&cache->misses, 1, __ATOMIC_RELAXED);
		cache_put(cache, gen, sid, frame, *gpa >> PAGE_SHIFT, perm);
	}
	*span = span_of(iova, page);
	return 0;
}
