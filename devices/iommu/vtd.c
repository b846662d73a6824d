/* SPDX-License-Identifier: MIT */
/*
 * VT-d register file, invalidation (register-based and queued) and fault recording. The
 * register values Linux depends on are named with the Linux function that reads them.
 */
#include "devices/iommu/vtd.h"

#include <string.h>

#include "vmm/util.h"

#define HAW_ADDR_MASK (((1ull << VTD_HAW) - 1) & ~0xfffull)

/*
 * CAP (11.4.2): ND=2 (256 domains), CM=1, SAGAW=0110b (39-bit 3-level and 48-bit 4-level),
 * MGAW=47 (48 bits), FRO, SLLPS=0011b (2 MiB, 1 GiB), PSI with MAMV=18, NFR-1. RWBF=0 (no
 * write buffer flushing needed), no protected memory regions (PLMR/PHMR=0: Linux's
 * iommu_disable_protect_mem_regions() then leaves PMEN alone), ESRTPS=0 (Linux's
 * iommu_set_root_entry() invalidates globally after SRTP).
 */
uint64_t vtd_cap(void)
{
	return 2ull | 1ull << 7 | 0x6ull << 8 | (uint64_t)(VTD_MGAW - 1) << 16 |
	       (uint64_t)(VTD_FRO / 16) << 24 | 0x3ull << 34 | 1ull << 39 |
	       (uint64_t)(VTD_NFR - 1) << 40 | 18ull << 48;
}

/* ECAP (11.4.3): C=1 (table walks snoop: Linux skips clflush), QI=1, PT=1, IRO. No IR, no
 * device TLB, no snoop control, no scalable mode. */
uint64_t vtd_ecap(void)
{
	return 1ull | 1ull << 1 | 1ull << 6 | (uint64_t)(VTD_IRO / 16) << 8;
}

void vtd_init(struct vtd *v, const struct vtd_host *host)
{
	memset(v, 0, sizeof(*v));
	v->host = *host;
	pthread_mutex_init(&v->lock, NULL);
	/* 11.4.9.2: the fault event is masked out of reset */
	v->fectl = DMA_FECTL_IM;
	v->iectl = DMA_FECTL_IM;
}

void vtd_destroy(struct vtd *v)
{
	pthread_mutex_destroy(&v->lock);
}

/* Every invalidation, root pointer change and TE change: cached translations go stale. */
static void invalidate_all(struct vtd *v)
{
	__atomic_fetch_add(&v->gen, 1, __ATOMIC_RELEASE);
	v->invalidations++;
}

/* ---- events (7.3): IP is set on a condition; with IM clear the message goes and IP clears */

static void fault_event(struct vtd *v)
{
	if (v->fectl & DMA_FECTL_IP)
		return;
	v->fectl |= DMA_FECTL_IP;
	if (!(v->fectl & DMA_FECTL_IM)) {
		v->fectl &= ~DMA_FECTL_IP;
		v->msis++;
		v->host.msi(v->host.opaque, (uint64_t)v->feuaddr << 32 | v->feaddr, v->fedata);
	}
}

static void inv_event(struct vtd *v)
{
	if (v->iectl & DMA_FECTL_IP)
		return;
	v->iectl |= DMA_FECTL_IP;
	if (!(v->iectl & DMA_FECTL_IM)) {
		v->iectl &= ~DMA_FECTL_IP;
		v->msis++;
		v->host.msi(v->host.opaque, (uint64_t)v->ieuaddr << 32 | v->ieaddr, v->iedata);
	}
}

/* ---- primary fault logging (7.2.1) ---- */

static bool any_pending_record(const struct vtd *v)
{
	for (unsigned i = 0; i < VTD_NFR; i++)
		if (v->frcd[i][1] >> 32 & DMA_FRCD_F)
			return true;
	return false;
}

void vtd_record_fault(struct vtd *v, uint16_t sid, uint64_t addr, int reason, unsigned access)
{
	uint64_t *r;

	pthread_mutex_lock(&v->lock);
	v->faults++;
	/* PFO set, or the next record still pending: the fault is lost (and PFO says so) */
	if (v->fsts & DMA_FSTS_PFO) {
		v->faults_lost++;
		goto out;
	}
	r = v->frcd[v->fri];
	if (r[1] >> 32 & DMA_FRCD_F) {
		v->faults_lost++;
		v->fsts |= DMA_FSTS_PFO;
		fault_event(v);
		goto out;
	}
	/* FRCD: FI 63:12; SID 79:64, FR 103:96, T 126 (1 = read), F 127 */
	r[0] = addr & ~0xfffull;
	r[1] = sid | (uint64_t)(reason & 0xff) << 32 |
	       (uint64_t)((access & VTD_WRITE) ? 0 : DMA_FRCD_T) << 32 | (uint64_t)DMA_FRCD_F << 32;
	if (!(v->fsts & DMA_FSTS_PPF)) {
		/* FSTS.FRI: the first pending record, where Linux's dmar_fault() starts */
		v->fsts = (v->fsts & ~0xff00u) | v->fri << 8 | DMA_FSTS_PPF;
		fault_event(v);
	}
	v->fri = (v->fri + 1) % VTD_NFR;
out:
	pthread_mutex_unlock(&v->lock);
}

/* FSTS write-1-to-clear bits, FECTL IP: cleared once software has serviced everything. */
static void fsts_update(struct vtd *v)
{
	if (!any_pending_record(v))
		v->fsts &= ~DMA_FSTS_PPF;
	if (!(v->fsts & (DMA_FSTS_PFO | DMA_FSTS_PPF | DMA_FSTS_IQE | DMA_FSTS_ICE | DMA_FSTS_ITE)))
		v->fectl &= ~DMA_FECTL_IP;
}

/* ---- invalidation queue (6.5.2) ---- */

static uint64_t iq_entries(const struct vtd *v)
{
	return 256ull << (v->iqa & 7); /* 2^QS 4 KiB pages of 128-bit descriptors */
}

static void iq_error(struct vtd *v)
{
	v->fsts |= DMA_FSTS_IQE;
	fault_event(v);
}

/* One descriptor: 0 done, -1 invalid (IQE, 6.5.2.10). */
static int iq_run(struct vtd *v, uint64_t qw0, uint64_t qw1)
{
	unsigned type = qw0 & 0xf;

	/* bits 11:9 extend the type field (scalable-mode types): reserved here */
	if (qw0 & 0xe00)
		return -1;
	switch (type) {
	case QI_CC_TYPE:
		/* 6.5.2.1: G 5:4, DID 31:16, SID 47:32, FM 49:48; reserved 15:6, 63:50, qw1 */
		if ((qw0 & 0x1c0) || (qw0 >> 50) || qw1 || !((qw0 >> 4) & 3))
			return -1;
		invalidate_all(v);
		return 0;
	case QI_IOTLB_TYPE:
		/* 6.5.2.3: G 5:4, DW 6, DR 7, DID 31:16; reserved 15:8, 63:32; qw1 AM 5:0,
		 * IH 6, ADDR 63:12, reserved 11:7 */
		if ((qw0 & 0xff00) || (qw0 >> 32) || (qw1 & 0xf80) || !((qw0 >> 4) & 3))
			return -1;
		if (((qw0 >> 4) & 3) == 3 && (qw1 & 0x3f) > 18) /* AM beyond CAP.MAMV */
			return -1;
		invalidate_all(v);
		return 0;
	case QI_IWD_TYPE: {
		/* 6.5.2.8: IF 4, SW 5, FN 6 (PD 7 needs ECAP.PDS); status data 63:32; status
		 * address 127:66 (dword aligned). Linux's qi_submit_sync() polls that dword. */
		uint32_t data = (uint32_t)(qw0 >> 32);

		if ((qw0 & 0xffffff80u & 0xffffffffu) || (qw1 & 3))
			return -1;
		if ((qw0 & QI_IWD_SW) && v->host.write(v->host.opaque, qw1, &data, 4))
			pr_ratelimited("vtd: wait descriptor status address 0x%llx is not memory",
				       (unsigned long long)qw1);
		if ((qw0 & QI_IWD_IF) && !(v->ics & DMA_ICS_IWC)) {
			v->ics |= DMA_ICS_IWC;
			inv_event(v);
		}
		return 0;
	}
	default: /* device-TLB (no ECAP.DT), IEC (no ECAP.IR), scalable-mode types */
		return -1;
	}
}

/* Fetch from IQH up to IQT, synchronously (the queue is drained before the IQT write that
 * rang it returns, so a wait descriptor's status is written before the guest can poll). */
static void iq_process(struct vtd *v)
{
	uint64_t n = iq_entries(v);

	if (!(v->gsts & DMA_GSTS_QIES) || (v->fsts & DMA_FSTS_IQE))
		return;
	if ((v->iqt >> 4) >= n) { /* a tail outside the queue */
		iq_error(v);
		return;
	}
	while (v->iqh != v->iqt) {
		uint64_t idx = v->iqh >> 4;
		uint8_t d[16];
		uint64_t qw0 = 0, qw1 = 0;

		if (v->host.read(v->host.opaque, (v->iqa & HAW_ADDR_MASK) + idx * 16, d, 16)) {
			iq_error(v);
			return;
		}
		for (int i = 7; i >= 0; i--) {
			qw0 = qw0 << 8 | d[i];
			qw1 = qw1 << 8 | d[8 + i];
		}
		/* IQH stays at a bad descriptor (Linux's qi_check_fault() reads it there) */
		if (iq_run(v, qw0, qw1)) {
			iq_error(v);
			return;
		}
		v->iqh = ((idx + 1) % n) << 4;
	}
}

/* ---- registers ---- */

static void gcmd_write(struct vtd *v, uint32_t val)
{
	/* 11.4.4: one command per write; TE and QIE are states, SRTP a one-shot */
	if (val & DMA_GCMD_SRTP) {
		__atomic_store_n(&v->root, v->rtaddr, __ATOMIC_RELEASE);
		v->gsts |= DMA_GSTS_RTPS;
		invalidate_all(v);
	}
	if (!!(val & DMA_GCMD_TE) != !!(v->gsts & DMA_GSTS_TES)) {
		v->gsts ^= DMA_GSTS_TES;
		__atomic_store_n(&v->te, v->gsts & DMA_GSTS_TES ? 1u : 0u, __ATOMIC_RELEASE);
		invalidate_all(v);
	}
	if ((val & DMA_GCMD_QIE) && !(v->gsts & DMA_GSTS_QIES)) {
		/* 6.5.2: enabling the queue resets IQH (Linux's __dmar_enable_qi() set IQT=0) */
		v->iqh = 0;
		v->gsts |= DMA_GSTS_QIES;
		iq_process(v);
	} else if (!(val & DMA_GCMD_QIE) && (v->gsts & DMA_GSTS_QIES)) {
		v->gsts &= ~DMA_GSTS_QIES;
		v->iqh = 0;
	}
}

static bool is_reg64(uint64_t off)
{
	switch (off) {
	case DMAR_CAP_REG:
	case DMAR_ECAP_REG:
	case DMAR_RTADDR_REG:
	case DMAR_CCMD_REG:
	case DMAR_IQH_REG:
	case DMAR_IQT_REG:
	case DMAR_IQA_REG:
	case DMAR_IQER_REG:
	case DMAR_IVA_REG:
	case DMAR_IOTLB_REG:
		return true;
	}
	return off >= VTD_FRO && off < VTD_FRO + VTD_NFR * 16;
}

static uint64_t read64(struct vtd *v, uint64_t off)
{
	switch (off) {
	case DMAR_CAP_REG:
		return vtd_cap();
	case DMAR_ECAP_REG:
		return vtd_ecap();
	case DMAR_RTADDR_REG:
		return v->rtaddr;
	case DMAR_CCMD_REG:
		return v->ccmd;
	case DMAR_IQH_REG:
		return v->iqh;
	case DMAR_IQT_REG:
		return v->iqt;
	case DMAR_IQA_REG:
		return v->iqa;
	case DMAR_IVA_REG:
		return v->iva;
	case DMAR_IOTLB_REG:
		return v->iotlb;
	}
	if (off >= VTD_FRO && off < VTD_FRO + VTD_NFR * 16)
		return v->frcd[(off - VTD_FRO) / 16][(off / 8) & 1];
	return 0; /* IQER: no error information kept; reserved space reads 0 */
}

static uint32_t read32(struct vtd *v, uint64_t off)
{
	if (is_reg64(off & ~7ull))
		return (uint32_t)(read64(v, off & ~7ull) >> (off & 4 ? 32 : 0));
	switch (off) {
	case DMAR_VER_REG:
		return 0x10; /* 1.0, as QEMU's legacy-mode intel-iommu */
	case DMAR_GSTS_REG:
		return v->gsts;
	case DMAR_FSTS_REG:
		return v->fsts;
	case DMAR_FECTL_REG:
		return v->fectl;
	case DMAR_FEDATA_REG:
		return v->fedata;
	case DMAR_FEADDR_REG:
		return v->feaddr;
	case DMAR_FEUADDR_REG:
		return v->feuaddr;
	case DMAR_ICS_REG:
		return v->ics;
	case DMAR_IECTL_REG:
		return v->iectl;
	case DMAR_IEDATA_REG:
		return v->iedata;
	case DMAR_IEADDR_REG:
		return v->ieaddr;
	case DMAR_IEUADDR_REG:
		return v->ieuaddr;
	}
	return 0; /* GCMD is write-only; reserved space */
}

static void write64(struct vtd *v, uint64_t off, uint64_t val)
{
	switch (off) {
	case DMAR_RTADDR_REG:
		/* RTA 63:12; TTM 11:10 is reserved without ECAP.SMTS: legacy mode only */
		v->rtaddr = val & HAW_ADDR_MASK;
		return;
	case DMAR_CCMD_REG:
		/* 11.4.7: ICC=1 runs it; CAIG reports the granularity done (= CIRG) */
		v->ccmd = val & ~(3ull << DMA_CCMD_CAIG_SHIFT);
		if (val & DMA_CCMD_ICC) {
			uint64_t g = (val >> DMA_CCMD_CIRG_SHIFT) & 3;

			if (g)
				invalidate_all(v);
			v->ccmd = (v->ccmd & ~DMA_CCMD_ICC) | g << DMA_CCMD_CAIG_SHIFT;
		}
		return;
	case DMAR_IVA_REG:
		v->iva = val & ~0xf80ull; /* ADDR 63:12, IH 6, AM 5:0 */
		return;
	case DMAR_IOTLB_REG:
		/* 11.4.8.1: IVT=1 runs it; IAIG reports the granularity (Linux's
		 * __iommu_flush_iotlb() complains when it reads 0) */
		v->iotlb = val & ~(3ull << DMA_TLB_IAIG_SHIFT);
		if (val & DMA_TLB_IVT) {
			uint64_t g = (val >> DMA_TLB_IIRG_SHIFT) & 3;

			if (g)
				invalidate_all(v);
			v->iotlb = (v->iotlb & ~DMA_TLB_IVT) | g << DMA_TLB_IAIG_SHIFT;
		}
		return;
	case DMAR_IQT_REG:
		v->iqt = val & 0x7fff0ull; /* QT 18:4 */
		iq_process(v);
		return;
	case DMAR_IQA_REG:
		v->iqa = val & (HAW_ADDR_MASK | 7); /* IQA 63:12, QS 2:0; DW needs ECAP.SMTS */
		return;
	}
	if (off >= VTD_FRO && off < VTD_FRO + VTD_NFR * 16 && (off & 8)) {
		uint64_t *r = v->frcd[(off - VTD_FRO) / 16];

		/* F is RW1C; the rest of a record is read-only */
		if (val >> 32 & DMA_FRCD_F)
			r[1] &= ~((uint64_t)DMA_FRCD_F << 32);
		fsts_update(v);
	}
	/* CAP, ECAP, IQH, IQER, FRCD low halves: read-only */
}

static void write32(struct vtd *v, uint64_t off, uint32_t val)
{
	if (is_reg64(off & ~7ull)) {
		uint64_t base = off & ~7ull, cur = read64(v, base);

		/* a half written on its own: the other half keeps its value (trigger bits ICC
		 * and IVT read back 0 once done, so a merged write does not repeat a command) */
		if (off & 4)
			cur = (cur & 0xffffffffull) | (uint64_t)val << 32;
		else
			cur = (cur & ~0xffffffffull) | val;
		if (base >= VTD_FRO && base < VTD_FRO + VTD_NFR * 16 && !(off & 4))
			return; /* the fault info half is read-only */
		if (base >= VTD_FRO && base < VTD_FRO + VTD_NFR * 16)
			cur &= (uint64_t)DMA_FRCD_F << 32 & ((uint64_t)val << 32);
		write64(v, base, cur);
		return;
	}
	switch (off) {
	case DMAR_GCMD_REG:
		gcmd_write(v, val);
		return;
	case DMAR_FSTS_REG: {
		uint32_t w1c = val & (DMA_FSTS_PFO | DMA_FSTS_IQE | DMA_FSTS_ICE | DMA_FSTS_ITE);
		bool iqe = v->fsts & w1c & DMA_FSTS_IQE;

		v->fsts &= ~w1c;
		fsts_update(v);
		/* Linux's qi_check_fault() rewrites the bad descriptor, then clears IQE:
		 * fetching resumes at IQH */
		if (iqe)
			iq_process(v);
		return;
	}
	case DMAR_FECTL_REG:
		v->fectl = (v->fectl & DMA_FECTL_IP) | (val & DMA_FECTL_IM);
		if (!(v->fectl & DMA_FECTL_IM) && (v->fectl & DMA_FECTL_IP)) {
			v->fectl &= ~DMA_FECTL_IP;
			fault_event(v);
		}
		return;
	case DMAR_FEDATA_REG:
		v->fedata = val & 0xffff; /* EIMD 31:16 needs ECAP.EIM */
		return;
	case DMAR_FEADDR_REG:
		v->feaddr = val & ~3u;
		return;
	case DMAR_FEUADDR_REG:
		v->feuaddr = val;
		return;
	case DMAR_ICS_REG:
		if (val & DMA_ICS_IWC) {
			v->ics &= ~DMA_ICS_IWC;
			v->iectl &= ~DMA_FECTL_IP;
		}
		return;
	case DMAR_IECTL_REG:
		v->iectl = (v->iectl & DMA_FECTL_IP) | (val & DMA_FECTL_IM);
		if (!(v->iectl & DMA_FECTL_IM) && (v->iectl & DMA_FECTL_IP)) {
			v->iectl &= ~DMA_FECTL_IP;
			inv_event(v);
		}
		return;
	case DMAR_IEDATA_REG:
		v->iedata = val & 0xffff;
		return;
	case DMAR_IEADDR_REG:
		v->ieaddr = val & ~3u;
		return;
	case DMAR_IEUADDR_REG:
		v->ieuaddr = val;
		return;
	}
}

uint64_t vtd_mmio_read(struct vtd *v, uint64_t off, unsigned size)
{
	uint64_t r = 0;

	if (off >= VTD_REG_SIZE || (size != 4 && size != 8) || off % size)
		return 0;
	pthread_mutex_lock(&v->lock);
	if (size == 8)
		r = is_reg64(off) ? read64(v, off)
				  : read32(v, off) | (uint64_t)read32(v, off + 4) << 32;
	else
		r = read32(v, off);
	pthread_mutex_unlock(&v->lock);
	return r;
}

void vtd_mmio_write(struct vtd *v, uint64_t off, uint64_t val, unsigned size)
{
	if (off >= VTD_REG_SIZE || (size != 4 && size != 8) || off % size)
		return;
	pthread_mutex_lock(&v->lock);
	if (size == 8 && is_reg64(off)) {
		write64(v, off, val);
	} else if (size == 8) {
		write32(v, off, (uint32_t)val);
		write32(v, off + 4, (uint32_t)(val >> 32));
	} else {
		write32(v, off, (uint32_t)val);
	}
	pthread_mutex_unlock(&v->lock);
}

static uint64_t bus_read(void *opaque, uint64_t off, unsigned size)
{
	return vtd_mmio_read(opaque, off, size);
}

static void bus_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	vtd_mmio_write(opaque, off, val, size);
}

const struct bus_ops vtd_bus_ops = {.read = bus_read, .write = bus_write};
