/* SPDX-License-Identifier: MIT */
/*
 * The VT-d unit driven the way Linux's drivers/iommu/intel/ drives it (iommu_set_root_entry,
 * __dmar_enable_qi, qi_submit_sync, dmar_fault), against a fake guest RAM: table walks of
 * every page size, bad and reserved entries, the invalidation queue, fault recording and its
 * overflow; then the DMA path of a PCI function through it.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/iommu/vtd.h"
#include "devices/pcie-switch/pcie_port.h"
#include "tests/unit/test_pci_fake.h"

#define RAM	     MiB(64)
#define ROOT_TBL     0x10000ull
#define CTX_TBL	     0x20000ull /* + bus * 0x1000 */
#define PT_POOL	     0x200000ull
#define IQ_BASE	     0x40000ull
#define STATUS	     0x50000ull
#define FE_ADDR	     0xfee01000u
#define FE_DATA	     0x41
#define SID(b, d, f) ((uint16_t)((b) << 8 | (d) << 3 | (f)))

static uint8_t *ram;
static uint64_t pt_next;
static struct vtd v;
static uint64_t msi_addr[16];
static uint32_t msi_data[16];
static int nmsi;

static int h_read(void *o, uint64_t gpa, void *buf, uint64_t len)
{
	if (gpa >= RAM || len > RAM - gpa)
		return -14;
	memcpy(buf, ram + gpa, len);
	return 0;
}

static int h_write(void *o, uint64_t gpa, const void *buf, uint64_t len)
{
	if (gpa >= RAM || len > RAM - gpa)
		return -14;
	memcpy(ram + gpa, buf, len);
	return 0;
}

static void h_msi(void *o, uint64_t addr, uint32_t data)
{
	if (nmsi < 16) {
		msi_addr[nmsi] = addr;
		msi_data[nmsi] = data;
	}
	nmsi++;
}

static void put64(uint64_t gpa, uint64_t x)
{
	memcpy(ram + gpa, &x, 8);
}

static uint64_t get64(uint64_t gpa)
{
	uint64_t x;

	memcpy(&x, ram + gpa, 8);
	return x;
}

static uint32_t rd32(uint64_t off)
{
	return (uint32_t)vtd_mmio_read(&v, off, 4);
}

static void wr32(uint64_t off, uint32_t x)
{
	vtd_mmio_write(&v, off, x, 4);
}

static void wr64(uint64_t off, uint64_t x)
{
	vtd_mmio_write(&v, off, x, 8);
}

static void setup(void)
{
	ram = calloc(1, RAM);
	cr_assert(ram);
	pt_next = PT_POOL;
	nmsi = 0;
	vtd_init(&v, &(struct vtd_host){.read = h_read, .write = h_write, .msi = h_msi});
}

static void teardown(void)
{
	vtd_destroy(&v);
	free(ram);
}

/* iommu_set_root_entry() then iommu_enable_translation(), as Linux does them */
static void enable(void)
{
	wr64(DMAR_RTADDR_REG, ROOT_TBL);
	wr32(DMAR_GCMD_REG, DMA_GCMD_SRTP);
	cr_assert(rd32(DMAR_GSTS_REG) & DMA_GSTS_RTPS);
	wr32(DMAR_GCMD_REG, DMA_GCMD_TE);
	cr_assert(rd32(DMAR_GSTS_REG) & DMA_GSTS_TES);
}

/* A present context entry for sid: second-level tables at `slpt`, address width aw (1: 39
 * bit, 3 levels; 2: 48 bit, 4 levels), domain 1. */
static void set_context(uint16_t sid, uint64_t slpt, unsigned aw, unsigned tt)
{
	uint64_t ctp = CTX_TBL + (uint64_t)(sid >> 8) * 0x1000;

	put64(ROOT_TBL + (sid >> 8) * 16, ctp | 1);
	put64(ctp + (sid & 0xff) * 16, slpt | (uint64_t)tt << 2 | 1);
	put64(ctp + (sid & 0xff) * 16 + 8, aw | 1u << 8);
}

static uint64_t new_table(void)
{
	uint64_t t = pt_next;

	pt_next += 0x1000;
	return t;
}

/* Map iova -> gpa with a page of `page` bytes (4K, 2M, 1G) in a `levels`-level table. */
static void map(uint64_t top, int levels, uint64_t iova, uint64_t gpa, uint64_t page, unsigned perm)
{
	uint64_t table = top;

	for (int level = levels; level >= 1; level--) {
		unsigned shift = 12 + 9 * (unsigned)(level - 1);
		uint64_t slot = table + ((iova >> shift) & 511) * 8;

		if ((1ull << shift) == page) {
			put64(slot, gpa | perm | (level > 1 ? 1ull << 7 : 0));
			return;
		}
		if (!(get64(slot) & 3))
			put64(slot, new_table() | 3);
		table = get64(slot) & ~0xfffull;
	}
}

static int xlate(uint16_t sid, uint64_t iova, unsigned access, uint64_t *gpa)
{
	return vtd_translate(&v, NULL, sid, iova, access, gpa, NULL);
}

TestSuite(vtd, .init = setup, .fini = teardown);

Test(vtd, capabilities_are_what_linux_needs)
{
	uint64_t cap = vtd_mmio_read(&v, DMAR_CAP_REG, 8),
		 ecap = vtd_mmio_read(&v, DMAR_ECAP_REG, 8);

	cr_assert_eq(rd32(DMAR_VER_REG), 0x10);
	cr_assert_eq((cap >> 7) & 1, 1, "caching mode");
	cr_assert_eq((cap >> 8) & 0x1f, 0x6, "SAGAW: 3- and 4-level");
	cr_assert_eq(((cap >> 16) & 0x3f) + 1, 48, "MGAW");
	cr_assert_eq(((cap >> 40) & 0xff) + 1, VTD_NFR);
	cr_assert_eq(((cap >> 24) & 0x3ff) * 16, VTD_FRO);
	cr_assert_eq((cap >> 34) & 0xf, 0x3, "2 MiB and 1 GiB pages");
	cr_assert_eq((cap >> 4) & 1, 0, "no RWBF");
	cr_assert_eq(((ecap >> 8) & 0x3ff) * 16, VTD_IRO);
	cr_assert_eq(ecap & 2, 2, "queued invalidation");
	cr_assert_eq((ecap >> 3) & 1, 0, "no interrupt remapping");
	cr_assert_eq((ecap >> 43) & 1, 0, "no scalable mode");
	/* Linux's map_iommu(): every register inside the one page */
	cr_assert_leq(VTD_FRO + VTD_NFR * 16, VTD_REG_SIZE);
	cr_assert_eq(vtd_mmio_read(&v, DMAR_CAP_REG + 4, 4), cap >> 32, "dword halves");
}

Test(vtd, gcmd_sets_status_and_translation_off_is_identity)
{
	uint64_t gpa;

	cr_assert_eq(xlate(SID(0, 3, 0), 0x1234567, VTD_READ, &gpa), 0);
	cr_assert_eq(gpa, 0x1234567);
	enable();
	cr_assert_eq(rd32(DMAR_GCMD_REG), 0, "GCMD is write-only");
	cr_assert_eq(vtd_mmio_read(&v, DMAR_RTADDR_REG, 8), ROOT_TBL);
	cr_assert_neq(xlate(SID(0, 3, 0), 0x1234567, VTD_READ, &gpa), 0, "nothing mapped");
	wr32(DMAR_GCMD_REG, 0);
	cr_assert_eq(rd32(DMAR_GSTS_REG) & DMA_GSTS_TES, 0);
	cr_assert_eq(xlate(SID(0, 3, 0), 0x1234567, VTD_READ, &gpa), 0);
}

static void check_page(int levels, uint64_t page)
{
	uint16_t sid = SID(2, 0, 0);
	uint64_t top = new_table(), gpa, iova = 0x40000000ull * 3, phys = 0x80000000ull;

	set_context(sid, top, levels == 3 ? 1 : 2, 0);
	map(top, levels, iova, phys, page, 3);
	enable();
	cr_assert_eq(xlate(sid, iova + page - 8, VTD_WRITE, &gpa), 0);
	cr_assert_eq(gpa, phys + page - 8);
	cr_assert_eq(xlate(sid, iova + 5, VTD_READ, &gpa), 0);
	cr_assert_eq(gpa, phys + 5);
	cr_assert_eq(xlate(sid, iova + page, VTD_READ, &gpa), VTD_FR_NO_READ, "next page unmapped");
	cr_assert_eq(v.faults, 1);
}

Test(vtd, walk_4k_3_levels)
{
	check_page(3, KiB(4));
}
Test(vtd, walk_4k_4_levels)
{
	check_page(4, KiB(4));
}
Test(vtd, walk_2m_4_levels)
{
	check_page(4, MiB(2));
}
Test(vtd, walk_1g_4_levels)
{
	check_page(4, GiB(1));
}
Test(vtd, walk_1g_3_levels)
{
	check_page(3, GiB(1));
}

Test(vtd, permissions_read_only_page_faults_writes)
{
	uint16_t sid = SID(0, 4, 0);
	uint64_t top = new_table(), gpa;

	set_context(sid, top, 2, 0);
	map(top, 4, 0x100000, 0x300000, KiB(4), 1 /* R */);
	enable();
	cr_assert_eq(xlate(sid, 0x100010, VTD_READ, &gpa), 0);
	cr_assert_eq(xlate(sid, 0x100010, 0, &gpa), 0, "direction not known: present is enough");
	cr_assert_eq(xlate(sid, 0x100010, VTD_WRITE, &gpa), VTD_FR_NO_WRITE);
}

Test(vtd, bad_root_and_context_entries)
{
	uint16_t sid = SID(1, 2, 3);
	uint64_t top = new_table(), gpa, ctx = CTX_TBL + 0x1000 + (sid & 0xff) * 16;

	enable();
	cr_assert_eq(xlate(sid, 0x1000, VTD_READ, &gpa), VTD_FR_ROOT_NOT_PRESENT);
	set_context(sid, top, 2, 0);
	put64(ctx, 0);
	cr_assert_eq(xlate(sid, 0x1000, VTD_READ, &gpa), VTD_FR_CTX_NOT_PRESENT);
	set_context(sid, top, 3, 0); /* 57-bit: not in SAGAW */
	cr_assert_eq(xlate(sid, 0x1000, VTD_READ, &gpa), VTD_FR_CTX_INVALID);
	set_context(sid, top, 2, 3); /* TT 11b */
	cr_assert_eq(xlate(sid, 0x1000, VTD_READ, &gpa), VTD_FR_CTX_INVALID);
	set_context(sid, top, 2, 1); /* device TLB: no ECAP.DT */
	cr_assert_eq(xlate(sid, 0x1000, VTD_READ, &gpa), VTD_FR_CTX_INVALID);
	set_context(sid, top, 1, 0);
	cr_assert_eq(xlate(sid, 1ull << 39, VTD_READ, &gpa), VTD_FR_ADDR_BEYOND_AW);
	/* reserved bits */
	set_context(sid, top, 2, 0);
	put64(ROOT_TBL + 16 + 8, 1);
	cr_assert_eq(xlate(sid, 0x1000, VTD_READ, &gpa), VTD_FR_ROOT_RSVD, "root hi");
	put64(ROOT_TBL + 16 + 8, 0);
	put64(ROOT_TBL + 16, get64(ROOT_TBL + 16) | 1ull << 5);
	cr_assert_eq(xlate(sid, 0x1000, VTD_READ, &gpa), VTD_FR_ROOT_RSVD, "root lo 11:1");
	set_context(sid, top, 2, 0);
	put64(ctx + 8, get64(ctx + 8) | 1ull << 30);
	cr_assert_eq(xlate(sid, 0x1000, VTD_READ, &gpa), VTD_FR_CTX_RSVD, "context hi 63:24");
	set_context(sid, top, 2, 0);
	put64(ctx, get64(ctx) | 1ull << 50);
	cr_assert_eq(xlate(sid, 0x1000, VTD_READ, &gpa), VTD_FR_CTX_RSVD, "context above HAW");
	/* pointers outside memory */
	set_context(sid, RAM + 0x1000, 2, 0);
	cr_assert_eq(xlate(sid, 0x1000, VTD_READ, &gpa), VTD_FR_PT_INVALID);
	put64(ROOT_TBL + 16, (RAM + 0x2000) | 1);
	cr_assert_eq(xlate(sid, 0x1000, VTD_READ, &gpa), VTD_FR_CTP_INVALID);
	wr64(DMAR_RTADDR_REG, RAM + 0x10000);
	wr32(DMAR_GCMD_REG, DMA_GCMD_TE | DMA_GCMD_SRTP);
	cr_assert_eq(xlate(sid, 0x1000, VTD_READ, &gpa), VTD_FR_ROOT_INVALID);
}

Test(vtd, reserved_bits_in_page_entries)
{
	uint16_t sid = SID(0, 5, 0);
	uint64_t top = new_table(), gpa;

	set_context(sid, top, 2, 0);
	enable();
	map(top, 4, 0x200000, 0x600000, MiB(2), 3);
	cr_assert_eq(xlate(sid, 0x200000, VTD_READ, &gpa), 0);
	/* a 2 MiB page whose address is not 2 MiB aligned */
	map(top, 4, 0x200000, 0x601000, MiB(2), 3);
	cr_assert_eq(xlate(sid, 0x200000, VTD_READ, &gpa), VTD_FR_PTE_RSVD);
	/* an address bit above the host address width */
	map(top, 4, 0x200000, 0x600000 | 1ull << 50, MiB(2), 3);
	cr_assert_eq(xlate(sid, 0x200000, VTD_READ, &gpa), VTD_FR_PTE_RSVD);
	/* SNP without ECAP.SC */
	map(top, 4, 0x200000, 0x600000 | 1ull << 11, MiB(2), 3);
	cr_assert_eq(xlate(sid, 0x200000, VTD_READ, &gpa), VTD_FR_PTE_RSVD);
	/* PS in the PML4 entry */
	put64(top, get64(top) | 1ull << 7);
	cr_assert_eq(xlate(sid, 0x200000, VTD_READ, &gpa), VTD_FR_PTE_RSVD);
}

Test(vtd, pass_through_context_is_identity)
{
	uint16_t sid = SID(0, 6, 0);
	uint64_t gpa;

	set_context(sid, 0, 2, 2);
	enable();
	cr_assert_eq(xlate(sid, 0x7654321, VTD_WRITE, &gpa), 0);
	cr_assert_eq(gpa, 0x7654321);
}

/* dmar_set_interrupt(): FEDATA/FEADDR then unmask */
static void unmask_faults(void)
{
	wr32(DMAR_FEDATA_REG, FE_DATA);
	wr32(DMAR_FEADDR_REG, FE_ADDR);
	wr32(DMAR_FEUADDR_REG, 0);
	wr32(DMAR_FECTL_REG, 0);
}

Test(vtd, fault_record_holds_source_reason_type_and_address)
{
	uint16_t sid = SID(3, 1, 2);
	uint64_t gpa;

	unmask_faults();
	enable();
	cr_assert_eq(xlate(sid, 0xabcd123, VTD_WRITE, &gpa), VTD_FR_ROOT_NOT_PRESENT);
	uint32_t fsts = rd32(DMAR_FSTS_REG);
	cr_assert(fsts & DMA_FSTS_PPF);
	unsigned fri = DMA_FSTS_FRI(fsts);
	uint64_t rec = VTD_FRO + fri * 16;
	cr_assert_eq(vtd_mmio_read(&v, rec, 8), 0xabcd000);
	uint32_t hi = rd32(rec + 12);
	cr_assert(hi & DMA_FRCD_F);
	cr_assert_eq(hi & 0xff, VTD_FR_ROOT_NOT_PRESENT);
	cr_assert_eq(hi & DMA_FRCD_T, 0, "a write");
	cr_assert_eq(rd32(rec + 8) & 0xffff, sid);
	cr_assert_eq(nmsi, 1);
	cr_assert_eq(msi_addr[0], FE_ADDR);
	cr_assert_eq(msi_data[0], FE_DATA);
	/* a second fault while one is pending: recorded, no second event (PPF was set) */
	cr_assert_eq(xlate(sid, 0x5000, VTD_READ, &gpa), VTD_FR_ROOT_NOT_PRESENT);
	cr_assert(rd32(VTD_FRO + ((fri + 1) % VTD_NFR) * 16 + 12) & DMA_FRCD_T, "a read");
	cr_assert_eq(nmsi, 1);
	/* dmar_fault(): clear F of each record, then FSTS */
	wr32(rec + 12, DMA_FRCD_F);
	wr32(VTD_FRO + ((fri + 1) % VTD_NFR) * 16 + 12, DMA_FRCD_F);
	wr32(DMAR_FSTS_REG, DMA_FSTS_PFO | DMA_FSTS_PPF);
	cr_assert_eq(rd32(DMAR_FSTS_REG) & DMA_FSTS_PPF, 0);
	cr_assert_eq(xlate(sid, 0x6000, VTD_READ, &gpa), VTD_FR_ROOT_NOT_PRESENT);
	cr_assert_eq(nmsi, 2, "a new first pending fault: a new event");
	cr_assert_eq(DMA_FSTS_FRI(rd32(DMAR_FSTS_REG)), (fri + 2) % VTD_NFR);
}

Test(vtd, masked_fault_event_is_pending_until_unmasked)
{
	uint64_t gpa;

	wr32(DMAR_FEDATA_REG, FE_DATA);
	wr32(DMAR_FEADDR_REG, FE_ADDR);
	enable();
	cr_assert_eq(rd32(DMAR_FECTL_REG), DMA_FECTL_IM, "masked out of reset");
	xlate(SID(0, 1, 0), 0x1000, VTD_READ, &gpa);
	cr_assert_eq(nmsi, 0);
	cr_assert(rd32(DMAR_FECTL_REG) & DMA_FECTL_IP);
	wr32(DMAR_FECTL_REG, 0);
	cr_assert_eq(nmsi, 1);
	cr_assert_eq(rd32(DMAR_FECTL_REG) & DMA_FECTL_IP, 0);
}

Test(vtd, fault_overflow_sets_pfo_and_loses_faults)
{
	uint64_t gpa;

	unmask_faults();
	enable();
	for (unsigned i = 0; i < VTD_NFR; i++)
		xlate(SID(0, 1, 0), 0x1000 * (i + 1), VTD_READ, &gpa);
	cr_assert_eq(rd32(DMAR_FSTS_REG) & DMA_FSTS_PFO, 0);
	for (unsigned i = 0; i < VTD_NFR; i++)
		cr_assert(rd32(VTD_FRO + i * 16 + 12) & DMA_FRCD_F);
	xlate(SID(0, 1, 0), 0x99000, VTD_READ, &gpa);
	cr_assert(rd32(DMAR_FSTS_REG) & DMA_FSTS_PFO);
	cr_assert_eq(v.faults_lost, 1);
	cr_assert_eq(vtd_mmio_read(&v, VTD_FRO, 8), 0x1000, "record 0 kept");
	/* freeing a record does not record while PFO stays set */
	wr32(VTD_FRO + 12, DMA_FRCD_F);
	xlate(SID(0, 1, 0), 0x77000, VTD_READ, &gpa);
	cr_assert_eq(v.faults_lost, 2);
	cr_assert_eq(rd32(VTD_FRO + 12) & DMA_FRCD_F, 0);
	wr32(DMAR_FSTS_REG, DMA_FSTS_PFO);
	xlate(SID(0, 1, 0), 0x77000, VTD_READ, &gpa);
	cr_assert(rd32(VTD_FRO + 12) & DMA_FRCD_F);
	cr_assert_eq(vtd_mmio_read(&v, VTD_FRO, 8), 0x77000);
	/* the low half of a record is read-only */
	wr64(VTD_FRO, 0);
	cr_assert_eq(vtd_mmio_read(&v, VTD_FRO, 8), 0x77000);
}

Test(vtd, fpd_suppresses_recording)
{
	uint16_t sid = SID(0, 7, 0);
	uint64_t top = new_table(), gpa, ctp = CTX_TBL;

	set_context(sid, top, 2, 0);
	put64(ctp + (sid & 0xff) * 16, get64(ctp + (sid & 0xff) * 16) | 2);
	enable();
	cr_assert_eq(xlate(sid, 0x1000, VTD_READ, &gpa), VTD_FR_NO_READ);
	cr_assert_eq(rd32(DMAR_FSTS_REG) & DMA_FSTS_PPF, 0);
}

/* __dmar_enable_qi(): IQT = 0, IQA, GCMD.QIE */
static void enable_qi(void)
{
	wr64(DMAR_IQT_REG, 0);
	wr64(DMAR_IQA_REG, IQ_BASE);
	wr32(DMAR_GCMD_REG, DMA_GCMD_QIE | (rd32(DMAR_GSTS_REG) & DMA_GSTS_TES));
	cr_assert(rd32(DMAR_GSTS_REG) & DMA_GSTS_QIES);
	cr_assert_eq(vtd_mmio_read(&v, DMAR_IQH_REG, 8), 0);
}

static unsigned iq_tail;

static void submit(uint64_t qw0, uint64_t qw1)
{
	put64(IQ_BASE + iq_tail * 16, qw0);
	put64(IQ_BASE + iq_tail * 16 + 8, qw1);
	iq_tail = (iq_tail + 1) % 256;
}

static void ring(void)
{
	wr64(DMAR_IQT_REG, (uint64_t)iq_tail << 4);
}

Test(vtd, qi_wait_descriptor_writes_status)
{
	iq_tail = 0;
	enable_qi();
	submit(QI_IWD_TYPE | QI_IWD_SW | QI_IWD_FN | (uint64_t)0x1234 << 32, STATUS);
	ring();
	cr_assert_eq(get64(STATUS) & 0xffffffff, 0x1234);
	cr_assert_eq(vtd_mmio_read(&v, DMAR_IQH_REG, 8), 1 << 4);
	/* the queue wraps */
	iq_tail = 255;
	wr64(DMAR_IQT_REG, 0); /* not what Linux does; just to move IQH on */
}

Test(vtd, qi_wait_interrupt_sets_iwc)
{
	iq_tail = 0;
	wr32(DMAR_IEDATA_REG, 0x55);
	wr32(DMAR_IEADDR_REG, FE_ADDR);
	wr32(DMAR_IECTL_REG, 0);
	enable_qi();
	submit(QI_IWD_TYPE | QI_IWD_IF, 0);
	ring();
	cr_assert_eq(rd32(DMAR_ICS_REG) & DMA_ICS_IWC, DMA_ICS_IWC);
	cr_assert_eq(nmsi, 1);
	cr_assert_eq(msi_data[0], 0x55);
	wr32(DMAR_ICS_REG, DMA_ICS_IWC);
	cr_assert_eq(rd32(DMAR_ICS_REG), 0);
}

Test(vtd, cached_translation_lives_until_an_invalidation)
{
	uint16_t sid = SID(0, 8, 0);
	uint64_t top = new_table(), gpa;
	struct vtd_iotlb *c = calloc(1, sizeof(*c));

	iq_tail = 0;
	set_context(sid, top, 2, 0);
	map(top, 4, 0x10000, 0x300000, KiB(4), 3);
	enable();
	enable_qi();
	cr_assert_eq(vtd_translate(&v, c, sid, 0x10008, VTD_READ, &gpa, NULL), 0);
	cr_assert_eq(gpa, 0x300008);
	uint64_t walks = v.walks;
	/* the guest remaps without invalidating: caching mode lets the unit keep the old one */
	map(top, 4, 0x10000, 0x400000, KiB(4), 3);
	cr_assert_eq(vtd_translate(&v, c, sid, 0x10010, VTD_READ, &gpa, NULL), 0);
	cr_assert_eq(gpa, 0x300010);
	cr_assert_eq(v.walks, walks, "no walk on a hit");
	/* qi_flush_iotlb(): page-selective for domain 1 */
	submit(QI_IOTLB_TYPE | 3 << 4 | 1 << 16, 0x10000);
	submit(QI_IWD_TYPE | QI_IWD_SW | (uint64_t)1 << 32, STATUS);
	ring();
	cr_assert_eq(vtd_translate(&v, c, sid, 0x10010, VTD_READ, &gpa, NULL), 0);
	cr_assert_eq(gpa, 0x400010);
	/* an unmap, invalidated through the context cache: the page faults */
	put64(get64(get64(get64(top) & ~0xfffull) & ~0xfffull) & ~0xfffull, 0);
	uint64_t l1 = get64(get64(get64(top) & ~0xfffull) & ~0xfffull) & ~0xfffull;
	put64(l1 + 16 * 8, 0);
	submit(QI_CC_TYPE | 1 << 4, 0);
	ring();
	cr_assert_eq(vtd_translate(&v, c, sid, 0x10010, VTD_READ, &gpa, NULL), VTD_FR_NO_READ);
	/* an entry for another source-id does not answer */
	cr_assert_neq(vtd_translate(&v, c, SID(0, 9, 0), 0x10010, VTD_READ, &gpa, NULL), 0);
	free(c);
}

Test(vtd, register_based_invalidation_reports_granularity)
{
	uint16_t sid = SID(0, 8, 0);
	uint64_t top = new_table(), gpa;
	struct vtd_iotlb *c = calloc(1, sizeof(*c));

	set_context(sid, top, 2, 0);
	map(top, 4, 0x10000, 0x300000, KiB(4), 3);
	enable();
	cr_assert_eq(vtd_translate(&v, c, sid, 0x10000, VTD_READ, &gpa, NULL), 0);
	map(top, 4, 0x10000, 0x500000, KiB(4), 3);
	/* __iommu_flush_context(): global */
	wr64(DMAR_CCMD_REG, DMA_CCMD_ICC | 1ull << DMA_CCMD_CIRG_SHIFT);
	uint64_t ccmd = vtd_mmio_read(&v, DMAR_CCMD_REG, 8);
	cr_assert_eq(ccmd & DMA_CCMD_ICC, 0);
	cr_assert_eq((ccmd >> DMA_CCMD_CAIG_SHIFT) & 3, 1);
	cr_assert_eq(vtd_translate(&v, c, sid, 0x10000, VTD_READ, &gpa, NULL), 0);
	cr_assert_eq(gpa, 0x500000);
	/* __iommu_flush_iotlb(): domain-selective, written as two dwords */
	map(top, 4, 0x10000, 0x600000, KiB(4), 3);
	uint64_t cmd = DMA_TLB_IVT | 2ull << DMA_TLB_IIRG_SHIFT | 1ull << 32;
	wr32(DMAR_IOTLB_REG, (uint32_t)cmd);
	wr32(DMAR_IOTLB_REG + 4, (uint32_t)(cmd >> 32));
	uint64_t r = vtd_mmio_read(&v, DMAR_IOTLB_REG, 8);
	cr_assert_eq(r & DMA_TLB_IVT, 0);
	cr_assert_eq((r >> DMA_TLB_IAIG_SHIFT) & 3, 2);
	cr_assert_eq(vtd_translate(&v, c, sid, 0x10000, VTD_READ, &gpa, NULL), 0);
	cr_assert_eq(gpa, 0x600000);
	free(c);
}

Test(vtd, qi_bad_descriptor_stops_at_head_until_iqe_cleared)
{
	iq_tail = 0;
	unmask_faults();
	enable_qi();
	submit(QI_IWD_TYPE | QI_IWD_SW | (uint64_t)7 << 32, STATUS);
	submit(0x3 /* device-TLB: no ECAP.DT */, 0);
	submit(QI_IWD_TYPE | QI_IWD_SW | (uint64_t)9 << 32, STATUS + 8);
	ring();
	cr_assert_eq(get64(STATUS) & 0xffffffff, 7);
	cr_assert(rd32(DMAR_FSTS_REG) & DMA_FSTS_IQE);
	cr_assert_eq(vtd_mmio_read(&v, DMAR_IQH_REG, 8), 1 << 4, "IQH at the bad one");
	cr_assert_eq(get64(STATUS + 8), 0, "nothing after it ran");
	cr_assert_eq(nmsi, 1, "IQE is a fault event");
	/* qi_check_fault(): the wait descriptor copied over the bad one, then IQE cleared */
	put64(IQ_BASE + 16, QI_IWD_TYPE | QI_IWD_SW | (uint64_t)8 << 32);
	put64(IQ_BASE + 24, STATUS + 16);
	wr32(DMAR_FSTS_REG, DMA_FSTS_IQE);
	cr_assert_eq(get64(STATUS + 16) & 0xffffffff, 8);
	cr_assert_eq(get64(STATUS + 8) & 0xffffffff, 9);
	cr_assert_eq(vtd_mmio_read(&v, DMAR_IQH_REG, 8), 3 << 4);
	/* reserved bits are bad descriptors too */
	submit(QI_IOTLB_TYPE | 1 << 4 | 1ull << 40, 0);
	ring();
	cr_assert(rd32(DMAR_FSTS_REG) & DMA_FSTS_IQE);
}

Test(vtd, qi_tail_outside_queue_is_an_error)
{
	enable_qi();
	wr64(DMAR_IQT_REG, 300 << 4); /* QS 0: 256 entries */
	cr_assert(rd32(DMAR_FSTS_REG) & DMA_FSTS_IQE);
}

Test(vtd, odd_accesses_are_ignored)
{
	enable();
	vtd_mmio_write(&v, DMAR_GCMD_REG, 0, 2);
	vtd_mmio_write(&v, DMAR_GCMD_REG + 1, 0, 4);
	vtd_mmio_write(&v, VTD_REG_SIZE, 0, 4);
	cr_assert(rd32(DMAR_GSTS_REG) & DMA_GSTS_TES);
	cr_assert_eq(vtd_mmio_read(&v, DMAR_VER_REG, 1), 0);
	cr_assert_eq(vtd_mmio_read(&v, VTD_REG_SIZE + 4, 4), 0);
	wr64(DMAR_CAP_REG, 0);
	cr_assert_eq(vtd_mmio_read(&v, DMAR_CAP_REG, 8), vtd_cap());
}

/* ---- the DMA path: PCI functions behind a root port and an XIO3130 ---- */

#define RP_BUS	  1
#define INT_BUS	  2
#define DN_BUS(i) (3 + (i))

struct dtree {
	struct fake_host host;
	struct pci_root root;
	struct guest_mem mem;
	struct pcie_port *rp;
	struct xio3130 *sw;
	struct pci_dev ep[2];
	struct vtd_pci vp;
};

static void dwr(struct dtree *t, uint8_t bus, uint8_t devfn, unsigned off, uint32_t val,
		unsigned sz)
{
	pci_config_write(&t->root, bus, devfn, off, val, sz);
}

static void dtree_build(struct dtree *t, bool acs)
{
	char err[128];

	memset(t, 0, sizeof(*t));
	cr_assert_eq(mem_init(&t->mem, MiB(64), false, err, sizeof(err)), 0, "%s", err);
	pci_root_init(&t->root, &fake_host_ops, &t->host, &t->mem, MEM_ECAM_BASE);
	t->rp = pcie_root_port_create("rp0", 1, 1, acs);
	t->sw = xio3130_create("sw0", 2, 10, acs);
	cr_assert(t->rp && t->sw);
	for (int i = 0; i < 2; i++) {
		pci_dev_init(&t->ep[i], i ? "ep1" : "ep0", 0x1234, 0x11, 0x010802, 0, false);
		cr_assert_eq(pci_bus_add(&t->sw->down[i].bus, &t->ep[i], 0), 0);
	}
	cr_assert_eq(pci_bus_add(&t->rp->bus, &t->sw->up.dev, 0), 0);
	cr_assert_eq(pci_bus_add(&t->root.bus0, &t->rp->dev, PCI_DEVFN(1, 0)), 0);
	/* a device below each port: its link is up (as topology.c sets it) */
	pcie_port_set_link(&t->rp->dev, true);
	for (int i = 0; i < 2; i++)
		pcie_port_set_link(&t->sw->down[i].dev, true);
	dwr(t, 0, PCI_DEVFN(1, 0), PCI_PRIMARY_BUS, 0 | RP_BUS << 8 | DN_BUS(1) << 16, 4);
	dwr(t, RP_BUS, 0, PCI_PRIMARY_BUS, RP_BUS | INT_BUS << 8 | DN_BUS(1) << 16, 4);
	for (int i = 0; i < 2; i++)
		dwr(t, INT_BUS, PCI_DEVFN(i, 0), PCI_PRIMARY_BUS,
		    INT_BUS | DN_BUS(i) << 8 | DN_BUS(i) << 16, 4);
	for (int i = 0; i < 2; i++)
		t->ep[i].cfg[PCI_COMMAND] |= PCI_COMMAND_MASTER;
	pci_update_mappings(&t->root);
	vtd_pci_attach(&t->vp, &t->root, &t->mem);
	/* point the unit's tables at this RAM's copies */
	ram = t->mem.base;
}

static void dtree_destroy(struct dtree *t)
{
	vtd_pci_detach(&t->vp);
	pci_root_destroy(&t->root);
	xio3130_destroy(t->sw);
	pcie_root_port_destroy(t->rp);
	mem_free(&t->mem);
}

/* Tables for the DMA tests: written into the machine's RAM by the same helpers. */
static void dtree_enable(struct dtree *t)
{
	vtd_mmio_write(&t->vp.vtd, DMAR_RTADDR_REG, ROOT_TBL, 8);
	vtd_mmio_write(&t->vp.vtd, DMAR_GCMD_REG, DMA_GCMD_SRTP, 4);
	vtd_mmio_write(&t->vp.vtd, DMAR_GCMD_REG, DMA_GCMD_TE, 4);
}

TestSuite(vtd_dma);

Test(vtd_dma, requester_ids_through_pcie_ports_are_the_functions_own)
{
	struct dtree *t = calloc(1, sizeof(*t));

	dtree_build(t, false);
	cr_assert_eq(pci_requester_id(&t->ep[0]), SID(DN_BUS(0), 0, 0));
	cr_assert_eq(pci_requester_id(&t->ep[1]), SID(DN_BUS(1), 0, 0));
	cr_assert_eq(pci_requester_id(&t->sw->down[1].dev), SID(INT_BUS, 1, 0));
	/* the guest renumbers: the ID follows */
	dwr(t, INT_BUS, PCI_DEVFN(1, 0), PCI_SECONDARY_BUS, 9, 1);
	cr_assert_eq(pci_requester_id(&t->ep[1]), SID(9, 0, 0));
	dtree_destroy(t);
	free(t);
}

Test(vtd_dma, conventional_pci_bridge_takes_over_the_id)
{
	struct pci_root root;
	struct pci_dev br, ep;
	struct pci_bus sec;

	pci_root_init(&root, &fake_host_ops, &(struct fake_host){0}, NULL, 0);
	pci_dev_init(&br, "pcibr", 0x8086, 0x244e, 0x060400, 0, true); /* no PCIe capability */
	pci_dev_init(&ep, "old", 0x1234, 0x1, 0x020000, 0, false);
	pci_bus_init(&sec, "pcibr");
	pci_bridge_set_secondary(&br, &sec);
	cr_assert_eq(pci_bus_add(&sec, &ep, PCI_DEVFN(5, 1)), 0);
	cr_assert_eq(pci_bus_add(&root.bus0, &br, PCI_DEVFN(0x1e, 0)), 0);
	pci_config_write(&root, 0, PCI_DEVFN(0x1e, 0), PCI_PRIMARY_BUS, 0x050500, 4);
	cr_assert_eq(pci_requester_id(&ep), SID(0, 0x1e, 0));
	pci_root_destroy(&root);
}

Test(vtd_dma, device_dma_is_translated_and_faults_name_the_requester)
{
	struct dtree *t = calloc(1, sizeof(*t));
	uint16_t sid = SID(DN_BUS(0), 0, 0);
	uint64_t top;
	uint8_t buf[64], back[64];

	dtree_build(t, false);
	pt_next = PT_POOL;
	top = new_table();
	set_context(sid, top, 2, 0);
	/* IOVA 0x7000_0000 -> GPA 0x300000, next IOVA page -> 0x500000 (not contiguous) */
	map(top, 4, 0x70000000, 0x300000, KiB(4), 3);
	map(top, 4, 0x70001000, 0x500000, KiB(4), 3);
	dtree_enable(t);
	for (int i = 0; i < 64; i++)
		buf[i] = (uint8_t)(i * 7 + 1);
	/* a write across the two pages lands in both */
	cr_assert_eq(pci_dma_write(&t->ep[0], 0x70000fe0, buf, 64), 0);
	cr_assert_eq(memcmp(t->mem.base + 0x300fe0, buf, 32), 0);
	cr_assert_eq(memcmp(t->mem.base + 0x500000, buf + 32, 32), 0);
	cr_assert_eq(pci_dma_read(&t->ep[0], 0x70000fe0, back, 64), 0);
	cr_assert_eq(memcmp(back, buf, 64), 0);
	/* one host pointer: within a page yes, across the discontiguity no (and no fault) */
	cr_assert_eq(pci_dma_map(&t->ep[0], 0x70000010, 16), t->mem.base + 0x300010);
	cr_assert_null(pci_dma_map(&t->ep[0], 0x70000ff0, 32));
	cr_assert_eq(t->vp.vtd.faults, 0);
	/* ep1 (bus 4) has no root entry: its DMA faults and the record names 04:00.0 */
	vtd_mmio_write(&t->vp.vtd, DMAR_FEADDR_REG, FE_ADDR, 4);
	vtd_mmio_write(&t->vp.vtd, DMAR_FEDATA_REG, FE_DATA, 4);
	vtd_mmio_write(&t->vp.vtd, DMAR_FECTL_REG, 0, 4);
	cr_assert_eq(pci_dma_read(&t->ep[1], 0x70000000, back, 8), -EFAULT);
	cr_assert_null(pci_dma_map(&t->ep[1], 0x70000000, 8));
	cr_assert_eq(vtd_mmio_read(&t->vp.vtd, VTD_FRO + 8, 4) & 0xffff, SID(DN_BUS(1), 0, 0));
	cr_assert_eq(vtd_mmio_read(&t->vp.vtd, VTD_FRO + 12, 4) & 0xff, VTD_FR_ROOT_NOT_PRESENT);
	cr_assert_eq(t->host.nmsi, 1, "the fault MSI through the root's host");
	cr_assert_eq(t->host.msi_addr[0], FE_ADDR);
	/* an unmapped IOVA of ep0 */
	cr_assert_null(pci_dma_map(&t->ep[0], 0x70002000, 8));
	/* the translation cache: a second map of the same page does not walk */
	uint64_t walks = t->vp.vtd.walks;
	cr_assert_not_null(pci_dma_map(&t->ep[0], 0x70000100, 8));
	cr_assert_eq(t->vp.vtd.walks, walks);
	/* translation off: bus addresses again */
	vtd_mmio_write(&t->vp.vtd, DMAR_GCMD_REG, 0, 4);
	cr_assert_eq(pci_dma_map(&t->ep[1], 0x300000, 8), t->mem.base + 0x300000);
	dtree_destroy(t);
	free(t);
}

Test(vtd_dma, peer_to_peer_below_the_switch_is_not_translated_unless_acs_redirects)
{
	for (int acs = 0; acs < 2; acs++) {
		struct dtree *t = calloc(1, sizeof(*t));
		struct addr_space as;
		uint8_t *bar = calloc(1, 0x10000);
		struct as_region regs[2];
		int n;

		dtree_build(t, acs);
		/* ep1 owns a RAM-backed BAR at 0xe0000000 */
		as_init(&as);
		n = mem_as_regions(&t->mem, regs, 1);
		regs[n++] = (struct as_region){
			.base = 0xe0000000, .size = 0x10000, .hva = bar, .owner = &t->ep[1]};
		cr_assert_eq(as_rebuild(&as, regs, n), 0);
		dtree_enable(t); /* no context entries at all */
		cr_assert(pci_peer_direct(&t->ep[0], &t->ep[1]));
		struct as_target tg = as_map(&as, &t->ep[0].dma, 0xe0000010, 8);
		cr_assert_eq(tg.kind, AS_RAM, "ACS off: routed by the switch");
		cr_assert_eq(tg.hva, bar + 0x10);
		if (acs) {
			/* the guest sets P2P Request Redirect on ep0's downstream port */
			struct pci_dev *dn = &t->sw->down[0].dev;
			unsigned off = t->sw->down[0].acs;

			cr_assert(off);
			dwr(t, INT_BUS, PCI_DEVFN(0, 0), off + 6, 0x0004, 2);
			cr_assert(pci_get16(dn, off + 6) & 0x0004);
			cr_assert_not(pci_peer_direct(&t->ep[0], &t->ep[1]));
			tg = as_map(&as, &t->ep[0].dma, 0xe0000010, 8);
			cr_assert_eq(tg.kind, AS_NONE,
				     "redirected: translated, and nothing mapped");
			cr_assert_eq(t->vp.vtd.faults, 1);
		}
		/* above the peer's BAR (the bus's highest region) is not the peer's: the request
		 * goes up and is translated (no context entry here: a fault). VFIO's IOVA of
		 * 256 GiB was taken for the highest BAR's once and refused without a fault. */
		uint64_t f0 = t->vp.vtd.faults;
		cr_assert_eq(as_map(&as, &t->ep[0].dma, 0x4000000000ull, 8).kind, AS_NONE);
		cr_assert_eq(t->vp.vtd.faults, f0 + 1, "translated, not routed to the peer");
		/* guest RAM is never peer-to-peer */
		cr_assert_eq(as_map(&as, &t->ep[0].dma, 0x1000, 8).kind, AS_NONE);
		as_destroy(&as);
		free(bar);
		dtree_destroy(t);
		free(t);
	}
}
