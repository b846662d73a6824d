/* SPDX-License-Identifier: MIT */
/*
 * VT-d for the benchmark (nvmebench.iommu=1): the same programming sequence as Linux's
 * intel-iommu driver in legacy mode (and as guests/vtd-nvme), for one requester:
 * a root table entry for its bus, a context entry for its devfn (one domain, 3-level
 * second-level table, 39-bit AGAW, which both vmm's unit and QEMU's intel-iommu with its
 * default aw-bits=39 support), every RAM page below 4 GiB mapped R/W with 4 KiB pages at
 * IOVA = physical + offset, queued invalidation, then TE. The unit is found from the ACPI
 * DMAR table's DRHD (VT-d spec 8.3), as Linux's dmar_table_init() does.
 *
 * Runs at CPL 3 like the rest of the benchmark (every page is user-accessible): filling
 * ~131072 page-table entries at emulated ring 0 would take minutes on HOST.md's host.
 */
#include "nvme_smoke.h"

/* VT-d spec rev 3, 11.4; names as in Linux include/linux/intel-iommu.h */
#define DMAR_CAP     0x08
#define DMAR_GCMD    0x18
#define DMAR_GSTS    0x1c
#define DMAR_RTADDR  0x20
#define DMAR_IQT     0x88
#define DMAR_IQA     0x90
#define GCMD_TE	     (1u << 31)
#define GCMD_SRTP    (1u << 30)
#define GCMD_QIE     (1u << 26)
#define CAP_SAGAW_39 (1ull << 9) /* CAP bits 12:8, bit 1: 3-level tables */
#define QI_DEPTH     256
#define POLL_LIMIT   20000000
#define IOVA_LEVELS  3
#define IOVA_AW_39   1 /* context entry AW field: 39-bit, 3 levels (9.4) */
#define SL_RW	     3 /* second-level entry: Read, Write (9.8) */
#define VTD_DOMAIN   1

static uint64_t vtd, offset;
static uint64_t *sl_root;
static uint8_t *iq;
static unsigned iq_tail;
static volatile uint32_t *iq_status;

static uint64_t *zpage(void)
{
	uint64_t *p = nvme_alloc(PAGE_SIZE);

	memset(p, 0, PAGE_SIZE);
	return p;
}

/* ---- ACPI: RSDP -> XSDT/RSDT -> DMAR -> the first DRHD (ACPI 6.4 5.2.5-5.2.8) ---- */

static bool sum_ok(const uint8_t *p, uint32_t len)
{
	uint8_t s = 0;

	for (uint32_t i = 0; i < len; i++)
		s = (uint8_t)(s + p[i]);
	return s == 0;
}

static const uint8_t *find_rsdp(void)
{
	const struct hvm_start_info *si = rt_start_info();

	if (si && si->rsdp_paddr && si->rsdp_paddr < 0x100000000ull)
		return (const uint8_t *)(uintptr_t)si->rsdp_paddr;
	/* No pointer from the loader: the BIOS read-only area, 16-byte aligned (5.2.5.1). */
	for (uint64_t a = 0xe0000; a < 0x100000; a += 16) {
		const uint8_t *p = (const uint8_t *)(uintptr_t)a;

		if (!memcmp(p, "RSD PTR ", 8) && sum_ok(p, 20))
			return p;
	}
	return NULL;
}

static uint64_t dmar_drhd_base(const uint8_t *dmar)
{
	uint32_t len, off = 48; /* header (36), HAW, flags, 10 reserved */

	memcpy(&len, dmar + 4, 4);
	while (off + 16 <= len) {
		uint16_t type, slen;
		uint64_t base;

		memcpy(&type, dmar + off, 2);
		memcpy(&slen, dmar + off + 2, 2);
		if (slen < 4)
			break;
		if (type == 0) { /* DRHD: register base address at offset 8 (8.3) */
			memcpy(&base, dmar + off + 8, 8);
			return base;
		}
		off += slen;
	}
	return 0;
}

uint64_t vtd_find_base(void)
{
	const uint8_t *rsdp = find_rsdp(), *sdt;
	uint32_t len, n, esz;
	uint64_t addr = 0;

	if (rt_cmdline_get("nvmebench.vtd_base"))
		return rt_cmdline_u64("nvmebench.vtd_base", 0);
	if (!rsdp)
		return 0;
	if (rsdp[15] >= 2) { /* revision 2+: the XSDT, 64-bit entries */
		memcpy(&addr, rsdp + 24, 8);
		esz = 8;
	}
	if (!addr) {
		uint32_t r;

		memcpy(&r, rsdp + 16, 4);
		addr = r;
		esz = 4;
	}
	if (!addr || addr >= 0x100000000ull)
		return 0;
	sdt = (const uint8_t *)(uintptr_t)addr;
	memcpy(&len, sdt + 4, 4);
	if (len < 36 || len > 65536)
		return 0;
	n = (len - 36) / esz;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t t = 0;

		memcpy(&t, sdt + 36 + i * esz, esz);
		if (t && t < 0x100000000ull && !memcmp((const void *)(uintptr_t)t, "DMAR", 4))
			return dmar_drhd_base((const uint8_t *)(uintptr_t)t);
	}
	return 0;
}

/* ---- tables and the unit ---- */

/* The leaf entry for iova, allocating table pages on the way (9.8). */
static uint64_t *pte_of(uint64_t iova)
{
	uint64_t *t = sl_root;

	for (int level = IOVA_LEVELS; level > 1; level--) {
		uint64_t *e = &t[(iova >> (12 + 9 * (level - 1))) & 511];

		if (!(*e & SL_RW))
			*e = (uint64_t)(uintptr_t)zpage() | SL_RW;
		t = (uint64_t *)(uintptr_t)(*e & ~0xfffull);
	}
	return &t[(iova >> 12) & 511];
}

/* qi_submit_sync(): one descriptor, then a wait descriptor with a status write (6.5.2.8). */
static bool qi_submit(uint64_t qw0, uint64_t qw1)
{
	uint64_t *d = (uint64_t *)(iq + iq_tail * 16);

	d[0] = qw0;
	d[1] = qw1;
	iq_tail = (iq_tail + 1) % QI_DEPTH;
	d = (uint64_t *)(iq + iq_tail * 16);
	*iq_status = 0;
	d[0] = 0x5 | 1u << 5 | (uint64_t)1 << 32; /* wait, SW, status data 1 */
	d[1] = (uint64_t)(uintptr_t)iq_status;
	iq_tail = (iq_tail + 1) % QI_DEPTH;
	nvme_mb();
	mmio_write64(vtd + DMAR_IQT, (uint64_t)iq_tail << 4);
	for (int i = 0; i < POLL_LIMIT; i++)
		if (*iq_status == 1)
			return true;
	return false;
}

static bool gsts_wait(uint32_t bits)
{
	for (int i = 0; i < POLL_LIMIT; i++)
		if ((mmio_read32(vtd + DMAR_GSTS) & bits) == bits)
			return true;
	return false;
}

/* GCMD.TE on or off with the tables kept (10.4.4: TE written with QIE kept set). */
bool vtd_translate(bool on)
{
	mmio_write32(vtd + DMAR_GCMD, GCMD_QIE | (on ? GCMD_TE : 0));
	for (int i = 0; i < POLL_LIMIT; i++)
		if (!(mmio_read32(vtd + DMAR_GSTS) & GCMD_TE) == !on) {
			nvme_dma_offset = on ? offset : 0;
			return true;
		}
	rt_fail("bench: VT-d GSTS.TES did not follow TE=%d", on);
	return false;
}

bool vtd_enable(uint64_t base, uint8_t bus, uint8_t devfn, uint64_t iova_offset)
{
	const struct hvm_memmap_table_entry *mm;
	int nmm = rt_memmap(&mm);
	uint64_t cap, pages = 0, *root, *ctx;

	vtd = base;
	cap = mmio_read64(vtd + DMAR_CAP);
	if (cap == 0 || cap == ~0ull || !(cap & CAP_SAGAW_39)) {
		rt_fail("bench: VT-d at 0x%llx: CAP 0x%llx has no 3-level tables",
			(unsigned long long)base, (unsigned long long)cap);
		return false;
	}
	if (iova_offset & (PAGE_SIZE - 1) || iova_offset + 0x100000000ull > (1ull << 39)) {
		rt_fail("bench: iova offset 0x%llx not page-aligned or past 39 bits",
			(unsigned long long)iova_offset);
		return false;
	}
	/* Root entry for the bus -> context entry for devfn (9.1, 9.3). */
	root = zpage();
	ctx = zpage();
	sl_root = zpage();
	root[bus * 2] = (uint64_t)(uintptr_t)ctx | 1;
	ctx[devfn * 2] = (uint64_t)(uintptr_t)sl_root | 1; /* TT 00b: untranslated requests */
	ctx[devfn * 2 + 1] = IOVA_AW_39 | (uint64_t)VTD_DOMAIN << 8;
	/* Every RAM page below 4 GiB, including what nvme_alloc hands out later. */
	for (int i = 0; i < nmm; i++) {
		uint64_t a = (mm[i].addr + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
		uint64_t end = mm[i].addr + mm[i].size;

		if (mm[i].type != RT_MEM_RAM)
			continue;
		if (end > 0x100000000ull)
			end = 0x100000000ull;
		for (; a + PAGE_SIZE <= end; a += PAGE_SIZE, pages++)
			*pte_of(a + iova_offset) = a | SL_RW;
	}
	/* iommu_set_root_entry(), __dmar_enable_qi(), iommu_enable_translation() */
	nvme_mb();
	mmio_write64(vtd + DMAR_RTADDR, (uint64_t)(uintptr_t)root);
	mmio_write32(vtd + DMAR_GCMD, GCMD_SRTP);
	if (!gsts_wait(GCMD_SRTP)) {
		rt_fail("bench: VT-d GSTS.RTPS not set after SRTP");
		return false;
	}
	iq = (uint8_t *)zpage();
	iq_status = nvme_alloc(PAGE_SIZE);
	mmio_write64(vtd + DMAR_IQT, 0);
	mmio_write64(vtd + DMAR_IQA, (uint64_t)(uintptr_t)iq); /* QS 0: 256 descriptors */
	mmio_write32(vtd + DMAR_GCMD, GCMD_QIE);
	if (!gsts_wait(GCMD_QIE) || !qi_submit(0x1 | 1u << 4, 0) || /* global context cache */
	    !qi_submit(0x2 | 1u << 4, 0)) {			    /* global IOTLB */
		rt_fail("bench: VT-d invalidation queue did not complete");
		return false;
	}
	mmio_write32(vtd + DMAR_GCMD, GCMD_QIE | GCMD_TE);
	if (!gsts_wait(GCMD_TE | GCMD_QIE)) {
		rt_fail("bench: VT-d GSTS.TES not set");
		return false;
	}
	offset = iova_offset;
	nvme_dma_offset = iova_offset;
	rt_printf("nvme-bench: vtd 0x%llx cap 0x%llx translation on for %02x:%02x.%x, %llu pages "
		  "at iova = pa + 0x%llx\n",
		  (unsigned long long)base, (unsigned long long)cap, bus, devfn >> 3, devfn & 7,
		  (unsigned long long)pages, (unsigned long long)iova_offset);
	return true;
}
