/* SPDX-License-Identifier: MIT */
#include "vmm/addr_space.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/util.h"

/*
 * Every field of a published entry is read and written with relaxed atomics: a reader may
 * run into a rewrite, and then throws away what it read (the sequence count changed), but
 * it never reads a torn pointer.
 */
#define LOAD(x)	    __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

void as_init(struct addr_space *as)
{
	memset(as, 0, sizeof(*as));
}

void as_destroy(struct addr_space *as)
{
	for (int i = 0; i < as->nretired; i++)
		free(as->retired[i]);
	free(as->retired);
	free(as->v);
	memset(as, 0, sizeof(*as));
}

static int by_base(const void *a, const void *b)
{
	const struct as_region *x = a, *y = b;

	return x->base < y->base ? -1 : x->base > y->base;
}

static bool overlap(const struct as_region *a, const struct as_region *b)
{
	/* both non-empty and inside the 64-bit space (checked by the caller) */
	return a->base <= b->base + (b->size - 1) && b->base <= a->base + (a->size - 1);
}

int as_rebuild(struct addr_space *as, const struct as_region *v, int n)
{
	struct as_region *keep, *dst = as->v;
	int nkeep = 0, dropped = 0;
	uint64_t end;

	keep = calloc((size_t)(n ? n : 1), sizeof(*keep));
	if (!keep)
		return -ENOMEM;
	/* Precedence is list order: a region is kept unless one kept before it overlaps. */
	for (int i = 0; i < n; i++) {
		bool clash = false;

		if (v[i].size == 0 || v[i].base == AS_OFF ||
		    add_overflows_u64(v[i].base, v[i].size - 1, &end)) {
			continue;
		}
		for (int j = 0; j < nkeep && !clash; j++)
			clash = overlap(&keep[j], &v[i]);
		if (clash)
			dropped++;
		else
			keep[nkeep++] = v[i];
	}
	qsort(keep, (size_t)nkeep, sizeof(*keep), by_base);

	if (nkeep > as->cap) {
		struct as_region **r =
			realloc(as->retired, (size_t)(as->nretired + 1) * sizeof(*r));

		dst = calloc((size_t)nkeep, sizeof(*dst));
		if (!r || !dst) {
			if (r)
				as->retired = r;
			free(dst);
			free(keep);
			return -ENOMEM;
		}
		as->retired = r;
		if (as->v)
			as->retired[as->nretired++] = as->v;
	}

	/* Writer side of the sequence count: odd, entries, even (release after the entries). */
	STORE(as->seq, as->seq + 1);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	if (dst != as->v) {
		STORE(as->v, dst);
		as->cap = nkeep;
	}
	for (int i = 0; i < nkeep; i++) {
		STORE(dst[i].base, keep[i].base);
		STORE(dst[i].size, keep[i].size);
		STORE(dst[i].hva, keep[i].hva);
		STORE(dst[i].rw, keep[i].rw);
		STORE(dst[i].opaque, keep[i].opaque);
		STORE(dst[i].owner, keep[i].owner);
	}
	STORE(as->n, nkeep);
	__atomic_store_n(&as->seq, as->seq + 1, __ATOMIC_RELEASE);
	as->rebuilds++;
	free(keep);
	return dropped;
}

/* The last region whose base <= addr, copied out; false when there is none. */
static bool search(const struct addr_space *as, uint64_t addr, struct as_region *out)
{
	const struct as_region *v = LOAD(as->v);
	int lo = 0, hi = LOAD(as->n) - 1, found = -1;

	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2;

		if (LOAD(v[mid].base) <= addr) {
			found = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	if (found < 0)
		return false;
	out->base = LOAD(v[found].base);
	out->size = LOAD(v[found].size);
	out->hva = LOAD(v[found].hva);
	out->rw = LOAD(v[found].rw);
	out->opaque = LOAD(v[found].opaque);
	out->owner = LOAD(v[found].owner);
	return true;
}

/* A consistent copy of the region that may hold addr (reader side of the sequence count). */
static bool lookup(const struct addr_space *as, uint64_t addr, struct as_region *out)
{
	for (unsigned spins = 0;; spins++) {
		unsigned s = __atomic_load_n(&as->seq, __ATOMIC_ACQUIRE);
		bool hit;

		if (s & 1) {
			if (spins > 64)
				sched_yield();
			continue;
		}
		hit = search(as, addr, out);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (LOAD(as->seq) == s)
			return hit;
	}
}

static struct as_target target_of(const struct as_region *r, uint64_t off)
{
	if (r->hva)
		return (struct as_target){.kind = AS_RAM, .hva = r->hva + off};
	if (r->rw)
		return (struct as_target){
			.kind = AS_HANDLER, .rw = r->rw, .opaque = r->opaque, .off = off};
	return (struct as_target){.kind = AS_NONE};
}

void *as_map_regions(const struct as_region *v, int n, uint64_t addr, uint64_t len)
{
	uint64_t off;

	for (int i = 0; i < n; i++) {
		uint64_t base = __atomic_load_n(&v[i].base, __ATOMIC_ACQUIRE);

		if (base != AS_OFF && v[i].hva && as_range_offset(base, v[i].size, addr, len, &off))
			return v[i].hva + off;
	}
	return NULL;
}

struct as_target as_map(const struct addr_space *as, const struct as_requester *req, uint64_t addr,
			uint64_t len)
{
	return as_map_access(as, req, addr, len, 0);
}

struct as_target as_map_access(const struct addr_space *as, const struct as_requester *req,
			       uint64_t addr, uint64_t len, unsigned access)
{
	struct as_target none = {.kind = AS_NONE};
	struct as_region r = {0};
	uint64_t off, end;

	if (add_overflows_u64(addr, len ? len : 1, &end))
		return none;
	if (req && req->nown) {
		void *p = as_map_regions(req->own, req->nown, addr, len);

		if (p)
			return (struct as_target){.kind = AS_RAM, .hva = p};
	}
	if (!as || (req && req->enable &&
		    !(__atomic_load_n(req->enable, __ATOMIC_RELAXED) & req->enable_mask)))
		return none;
	/* Through an IOMMU: translated, unless a switch below it routes the request to a peer
	 * directly (that lookup is by the untranslated address, as the switch decodes it).
	 * lookup() gives the region with the highest base at or below addr, which need not
	 * contain it: only an address inside the peer's range is the peer's (an IOVA above
	 * the bus's highest BAR was once taken for that BAR's and never translated). */
	if (req && req->iommu) {
		bool direct = lookup(as, addr, &r) && r.owner && r.owner != req->id &&
			      addr - r.base < r.size &&
			      req->iommu->peer_direct(req->iommu, req, r.owner);

		if (!direct && !req->iommu->translate(req->iommu, req, addr, len, access, &addr))
			return none;
	}
	if (!lookup(as, addr, &r) || (req && r.owner && r.owner == req->id))
		return none;
	if (!as_range_offset(r.base, r.size, addr, len, &off))
		return none;
	return target_of(&r, off);
}
