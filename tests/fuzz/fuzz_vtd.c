/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: the VT-d unit (devices/iommu) as a guest drives it: register loads and
 * stores of any offset and width (GCMD, RTADDR, CCMD, IOTLB, FSTS, FECTL, FRCD, the
 * invalidation queue), guest-RAM contents anywhere (root, context and page tables,
 * descriptors), and translations for any source-id, IOVA and access, with and without a
 * requester cache. Guest RAM is fz_mem's (guard pages around it); the unit reaches it only
 * through mem_read/mem_write, so a walk or a status write outside RAM must fail cleanly.
 * Oracles: FSTS.FRI and IQH stay inside their ranges, a translation with TE on never
 * answers an address beyond the host address width, and the fault counters add up.
 *   make fuzz-vtd FUZZ_SECONDS=60      (tests/fuzz/README.md)
 */
#include "devices/iommu/vtd.h"
#include "tests/fuzz/fuzz_util.h"

#define MAX_OPS 512
#define TABLES	0x10000ull /* where op 4 writes: tables are easy to hit */
#define IQ	0x80000ull

struct rig {
	struct guest_mem mem;
	struct vtd v;
	struct vtd_iotlb cache;
	unsigned msis;
};

static struct rig rig;

static int h_read(void *o, uint64_t gpa, void *buf, uint64_t len)
{
	struct rig *r = o;

	return mem_read(&r->mem, gpa, buf, len) ? -EFAULT : 0;
}

static int h_write(void *o, uint64_t gpa, const void *buf, uint64_t len)
{
	struct rig *r = o;

	return mem_write(&r->mem, gpa, buf, len) ? -EFAULT : 0;
}

static void h_msi(void *o, uint64_t addr, uint32_t data)
{
	struct rig *r = o;

	r->msis++;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

static uint64_t fz_iova(struct fz *f)
{
	uint8_t sel = fz_u8(f);
	uint64_t x = fz_u64(f);

	switch (sel & 3) {
	case 0:
		return x & 0xffffffull; /* low, where tests map */
	case 1:
		return x & ((1ull << 48) - 1);
	case 2:
		return (1ull << 39) - 4096 + (x & 0x1fff); /* the 3-level edge */
	default:
		return x;
	}
}

static void check(struct rig *r)
{
	uint32_t fsts = (uint32_t)vtd_mmio_read(&r->v, DMAR_FSTS_REG, 4);
	uint64_t iqa = vtd_mmio_read(&r->v, DMAR_IQA_REG, 8);
	uint64_t iqh = vtd_mmio_read(&r->v, DMAR_IQH_REG, 8);

	if (DMA_FSTS_FRI(fsts) >= VTD_NFR)
		fz_fail("FSTS.FRI %u outside %u records", DMA_FSTS_FRI(fsts), VTD_NFR);
	if ((iqh >> 4) >= (256ull << (iqa & 7)) || (iqh & 0xf))
		fz_fail("IQH 0x%llx outside the queue (IQA 0x%llx)", (unsigned long long)iqh,
			(unsigned long long)iqa);
	if (r->v.faults_lost > r->v.faults)
		fz_fail("more faults lost than seen");
}

static void op(struct rig *r, struct fz *f)
{
	uint8_t code = fz_u8(f);

	switch (code & 7) { /* 6, 7: nothing */
	case 0: {	    /* register store */
		uint16_t off = fz_u16(f) & 0xfff;
		unsigned size = fz_size(f);
		uint64_t val = fz_u64(f);

		if (code & 0x80)
			off &= (uint16_t) ~(size ? size - 1 : 0);
		vtd_mmio_write(&r->v, off, val, size);
		break;
	}
	case 1: { /* register load */
		uint16_t off = fz_u16(f) & 0xfff;

		(void)vtd_mmio_read(&r->v, off, fz_size(f));
		break;
	}
	case 2: { /* RAM store anywhere, also across the end */
		uint64_t addr = fz_u32(f) % (FZ_RAM_LOW + 64);
		uint64_t val = fz_u64(f);

		mem_write(&r->mem, addr, &val, 8);
		break;
	}
	case 3: { /* translate */
		uint16_t sid = fz_u16(f);
		uint64_t iova = fz_iova(f), gpa = 0, span = 0;
		unsigned access = fz_u8(f);
		int res = vtd_translate(&r->v, (access & 4) ? &r->cache : NULL, sid, iova,
					access & 3, &gpa, &span);

		if (!res && vtd_enabled(&r->v) && gpa != iova && gpa >> VTD_HAW)
			fz_fail("translation to 0x%llx beyond HAW", (unsigned long long)gpa);
		if (!res && !span)
			fz_fail("a translation covering nothing");
		break;
	}
	case 4: { /* a table slot: 512 KiB of 8-byte entries from TABLES */
		uint64_t slot = TABLES + (uint64_t)(fz_u16(f) & 0xffff) * 8;
		uint64_t val = fz_u64(f);

		if (code & 0x40) /* an address into the table area, with R/W or P */
			val = TABLES + (val & 0x7f000) + (val & 3);
		mem_write(&r->mem, slot, &val, 8);
		break;
	}
	case 5: /* what a driver does: root table, queue, TE */
		vtd_mmio_write(&r->v, DMAR_RTADDR_REG, TABLES, 8);
		vtd_mmio_write(&r->v, DMAR_GCMD_REG, DMA_GCMD_SRTP, 4);
		vtd_mmio_write(&r->v, DMAR_IQT_REG, 0, 8);
		vtd_mmio_write(&r->v, DMAR_IQA_REG, IQ | (code >> 3 & 7), 8);
		vtd_mmio_write(&r->v, DMAR_GCMD_REG, DMA_GCMD_QIE | DMA_GCMD_TE, 4);
		vtd_mmio_write(&r->v, DMAR_FECTL_REG, 0, 4);
		break;
	}
	check(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = {data, size};

	memset(&rig.cache, 0, sizeof(rig.cache));
	rig.msis = 0;
	if (fz_mem_init(&rig.mem))
		fz_fail("guest RAM");
	vtd_init(&rig.v, &(struct vtd_host){
				 .read = h_read, .write = h_write, .msi = h_msi, .opaque = &rig});
	for (int i = 0; i < MAX_OPS && fz_more(&in); i++)
		op(&rig, &in);
	vtd_destroy(&rig.v);
	fz_mem_free(&rig.mem);
	return 0;
}
