/* SPDX-License-Identifier: MIT */
/*
 * The bus-address space: what a bus address reaches, for device DMA and for the CPU side
 * (DESIGN.md rule 2). One sorted set of regions that do not overlap (guest RAM, RAM-backed
 * BARs such as the NVMe CMB and PMR, trapped BARs that take DMA through a handler such as
 * NTB windows), rebuilt by its owner whenever mappings change, and ONE overflow-checked
 * lookup, as_map(), that turns (requester, addr, len) into a host pointer, a handler, or
 * "no". A requester's own memory (the NVMe controller memory space at CBA) is looked up
 * first; its own BARs are never reached through the bus (PCIe 5.0 6.12.1.2: a switch does
 * not send a request back out of its ingress port).
 *
 * Lookups take no lock: the table is published under a sequence count (readers retry while
 * a rebuild is in progress), so the DMA path of every device thread stays a binary search
 * with two loads of one shared word, never a walk over devices x BARs. Rebuilds are
 * serialised by the caller (the PCI core holds root->lock and map_lock).
 */
#ifndef VMM_ADDR_SPACE_H
#define VMM_ADDR_SPACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* DMA into a handler-backed region at offset `off`: 0, or -EFAULT when nothing backs it. */
typedef int (*as_rw_fn)(void *opaque, uint64_t off, void *buf, uint64_t len, bool write);

#define AS_OFF ~0ULL /* the base of a region that decodes nothing now */

struct as_region {
	uint64_t base, size; /* [base, base + size); size 0 or base AS_OFF: nothing */
	uint8_t *hva;	     /* RAM-backed: the host address of `base`; NULL: handler */
	as_rw_fn rw;
	void *opaque;
	const void *owner; /* the function whose BAR it is; NULL: guest RAM */
};

/*
 * The one containment check on bus addresses: true when [addr, addr + len) lies wholly
 * inside [base, base + size), with the offset of addr in *off. len 0 counts as 1 byte (a
 * zero-length access still names an address). Written so that nothing can wrap.
 */
static inline bool as_range_offset(uint64_t base, uint64_t size, uint64_t addr, uint64_t len,
				   uint64_t *off)
{
	if (len == 0)
		len = 1;
	if (addr < base || addr - base >= size || len > size - (addr - base))
		return false;
	*off = addr - base;
	return true;
}

struct as_requester;

/* What an access does: AS_READ / AS_WRITE; 0 when not known (a device mapping memory it
 * will read or write), which an IOMMU checks for presence only. */
#define AS_READ	 1u
#define AS_WRITE 2u

/*
 * An IOMMU between requesters and the bus (devices/iommu): it turns a requester's address
 * (IOVA) into a bus address before the bus lookup.
 */
struct as_iommu {
	/* [iova, iova + len) as one bus-address range: true with its start in *addr; false
	 * when any part faults (the IOMMU records it) or the range is not contiguous behind. */
	bool (*translate)(const struct as_iommu *iommu, const struct as_requester *req,
			  uint64_t iova, uint64_t len, unsigned access, uint64_t *addr);
	/* true: a request to a BAR of `owner` is routed peer to peer below the IOMMU (a
	 * switch with ACS redirect off), so it is not translated (PCIe 5.0 6.12.1.1) */
	bool (*peer_direct)(const struct as_iommu *iommu, const struct as_requester *req,
			    const void *owner);
};

/* Who issues an access. */
struct as_requester {
	const void *id; /* never reaches regions whose owner is id */
	/* Its own memory, looked up first and without the bus; base read atomically (the
	 * owner moves or disables it with __atomic_store_n, AS_OFF when off). */
	const struct as_region *own;
	int nown;
	/* The bus is reached only while (*enable & enable_mask) (COMMAND.MASTER); NULL: always. */
	const uint8_t *enable;
	uint8_t enable_mask;
	/* The IOMMU its bus requests go through (NULL: none), and this requester's
	 * translation cache there (allocated by the IOMMU on first use, freed by the owner of
	 * the requester with free()). */
	const struct as_iommu *iommu;
	void *iotlb;
};

enum as_kind { AS_NONE, AS_RAM, AS_HANDLER };

struct as_target {
	enum as_kind kind;
	void *hva;   /* AS_RAM */
	as_rw_fn rw; /* AS_HANDLER: call rw(opaque, off, ...) */
	void *opaque;
	uint64_t off;
};

struct addr_space {
	unsigned seq; /* odd while the table is being rewritten */
	int n, cap;
	struct as_region *v; /* sorted by base */
	/* tables replaced by a bigger one: a reader may still be looking at one; freed with
	 * the address space */
	struct as_region **retired;
	int nretired;
	uint64_t rebuilds; /* tables published: what a test can count */
};

void as_init(struct addr_space *as);
void as_destroy(struct addr_space *as);

/*
 * Replace the whole set with v[0..n) (any order; regions of size 0 or at AS_OFF are
 * skipped). Where two regions overlap, the one earlier in v wins and the other is left out
 * (counted in the return value): callers list guest RAM first, as KVM gives RAM memslots
 * precedence over MMIO. Returns the number left out, or -ENOMEM (the old set stays).
 * Callers serialise rebuilds.
 */
int as_rebuild(struct addr_space *as, const struct as_region *v, int n);

/*
 * What [addr, addr + len) reaches for `req` (NULL: the CPU, which has no own memory and
 * always reaches the bus): the requester's own memory first, then the bus (`as`; NULL: no
 * bus, e.g. a function not attached yet). AS_NONE for
 * anything not wholly inside one region, for len that wraps, and for the requester's own
 * BARs.
 */
struct as_target as_map(const struct addr_space *as, const struct as_requester *req, uint64_t addr,
			uint64_t len);
/* as_map for an access known to read (AS_READ) or write (AS_WRITE): an IOMMU checks that
 * permission. A request through an IOMMU that faults is AS_NONE. */
struct as_target as_map_access(const struct addr_space *as, const struct as_requester *req,
			       uint64_t addr, uint64_t len, unsigned access);

/* Host pointer for [addr, addr + len) inside one of v[0..n) (base read atomically), else
 * NULL: a device's view of its own memory. */
void *as_map_regions(const struct as_region *v, int n, uint64_t addr, uint64_t len);

#endif
