/* SPDX-License-Identifier: MIT */
/*
 * The end-to-end check of one controller, in the order a host driver meets it:
 *   enable -> Identify Controller / active namespaces -> Set Features Number of Queues ->
 *   Doorbell Buffer Config (when OACS says so) -> MSI-X -> CMB (SQ placed there when
 *   CMBSZ.SQS) -> PMR (enabled, a pattern written) -> I/O queue pair -> per namespace:
 *   Identify Namespace, writes of a pattern (one block, one page, two pages, PRP lists,
 *   first-page offsets, the last blocks), read back and compare, Flush, reads past the end
 *   -> error paths -> controller reset (namespace data and PMR still there) -> shutdown.
 * A check that fails prints "nvme-smoke: FAIL ..." and counts in rt_failures.
 */
#include "nvme_smoke.h"

#define IO_QID	     1
#define IO_DEPTH     64
#define MSIX_VECTOR  1	  /* the I/O CQ's interrupt vector (0 is the admin queue's) */
#define APIC_VECTOR  0x41 /* what that MSI-X entry delivers */
#define LAPIC_BASE   0xFEE00000ULL
#define LAPIC_ID     0x20
#define LAPIC_TPR    0x80
#define LAPIC_EOI    0xb0
#define LAPIC_SVR    0xf0
#define LAPIC_IRR    0x200
#define MAX_XFER     (256u * 1024)
#define BUF_SIZE     (MAX_XFER + PAGE_SIZE)
#define MAX_NS	     32
#define OPCODE_RESVD 0x7e /* reserved in the NVM and admin command sets */

struct smoke {
	struct nvme_ctrl c;
	struct nvme_queue io;
	uint8_t *wbuf, *rbuf, *id;
	uint64_t *prp_list;
	bool verify, cmb_sq, irq;
	uint32_t nsids[MAX_NS];
	int nr_ns;
	uint64_t first_lba_size; /* ns 1's LBA size, for the check after a reset */
};

struct region {
	uint64_t lba;
	uint32_t bytes, buf_off;
};

static struct smoke sm;
static volatile uint32_t msix_count;

static bool msix_hook(struct rt_frame *frame)
{
	if (frame->vector != APIC_VECTOR)
		return false;
	msix_count++;
	mmio_write32(LAPIC_BASE + LAPIC_EOI, 0);
	return true;
}

static void copy_trimmed(char *dst, const uint8_t *src, size_t len)
{
	size_t n = len;

	memcpy(dst, src, len);
	while (n && (dst[n - 1] == ' ' || dst[n - 1] == 0))
		n--;
	dst[n] = 0;
}

static bool check_status(const char *what, uint16_t got, uint16_t want)
{
	if (NVME_STATUS_CODE(got) == want)
		return true;
	rt_fail("%s %s: status 0x%03x, expected 0x%03x", sm.c.pci.bdf, what, got, want);
	return false;
}

/* ---- MSI-X (PCIe 5.0 7.7.2): one entry, to this CPU's local APIC ---- */

static void msix_setup(void)
{
	struct nvme_ctrl *c = &sm.c;
	uint32_t svr;
	uint64_t entry;

	if (!c->msix_cap || rt_cmdline_get("nvme-smoke.irq")) {
		rt_printf("nvme-smoke: %s msix %s: I/O CQ polled without interrupts\n", c->pci.bdf,
			  c->msix_cap ? "not used (nvme-smoke.irq)" : "off");
		sm.irq = false;
		return;
	}
	if (c->msix_vectors <= MSIX_VECTOR) {
		rt_fail("%s msix has %u vectors", c->pci.bdf, c->msix_vectors);
		sm.irq = false;
		return;
	}
	svr = mmio_read32(LAPIC_BASE + LAPIC_SVR);
	mmio_write32(LAPIC_BASE + LAPIC_SVR, (svr & ~0xffu) | 0x100 | 0xff);
	mmio_write32(LAPIC_BASE + LAPIC_TPR, 0);
	msix_count = 0;
	rt_set_trap_hook(msix_hook);
	/* MSI-X is on since nvme_ctrl_init (every entry masked): program entry 1, unmask it. */
	entry = c->msix_table + MSIX_VECTOR * PCI_MSIX_ENTRY_SIZE;
	mmio_write32(entry + 0, 0xFEE00000u | (mmio_read32(LAPIC_BASE + LAPIC_ID) >> 24) << 12);
	mmio_write32(entry + 4, 0);
	mmio_write32(entry + 8, APIC_VECTOR);
	mmio_write32(entry + PCI_MSIX_ENTRY_VECTOR_CTRL, 0);
	sm.irq = true;
	rt_printf("nvme-smoke: %s msix vectors %u table 0x%llx: I/O CQ on vector %u\n", c->pci.bdf,
		  c->msix_vectors, (unsigned long long)c->msix_table, MSIX_VECTOR);
}

/* Delivered to the hook (IF=1 in ring 3 on some hosts) or left pending in the APIC IRR. */
static void msix_check(void)
{
	uint32_t irr = mmio_read32(LAPIC_BASE + LAPIC_IRR + 0x10 * (APIC_VECTOR / 32));
	bool pending = irr >> (APIC_VECTOR % 32) & 1;

	if (!sm.irq)
		return;
	if (msix_count || pending)
		rt_printf("nvme-smoke: %s msix ok (%s)\n", sm.c.pci.bdf,
			  msix_count ? "delivered" : "pending in the APIC IRR");
	else
		rt_fail("%s msix: no interrupt on vector %u after I/O completions", sm.c.pci.bdf,
			MSIX_VECTOR);
}

/* ---- CMB (NVMe 1.4 3.1.11-3.1.15; Linux nvme_map_cmb) ---- */

/* Map the CMB if there is one; returns where an I/O SQ may go, or NULL. */
static void *cmb_setup(uint64_t *bus)
{
	struct nvme_ctrl *c = &sm.c;
	uint32_t cmbsz, cmbloc, bir;
	uint64_t unit, size, offset, bar, bar_size;

	if (!(c->cap & NVME_CAP_CMBS)) {
		rt_printf("nvme-smoke: %s cmb absent (CAP.CMBS 0): SQ in RAM\n", c->pci.bdf);
		return NULL;
	}
	if (rt_cmdline_get("nvme-smoke.nocmb")) {
		rt_printf("nvme-smoke: %s cmb not used (nvme-smoke.nocmb)\n", c->pci.bdf);
		return NULL;
	}
	mmio_write32(c->bar0 + NVME_REG_CMBMSC, (uint32_t)NVME_CMBMSC_CRE);
	cmbsz = mmio_read32(c->bar0 + NVME_REG_CMBSZ);
	cmbloc = mmio_read32(c->bar0 + NVME_REG_CMBLOC);
	if (!cmbsz) {
		rt_printf("nvme-smoke: %s cmb CMBSZ 0 after CMBMSC.CRE: no CMB\n", c->pci.bdf);
		return NULL;
	}
	unit = 1ULL << (12 + 4 * NVME_CMBSZ_SZU(cmbsz));
	size = unit * NVME_CMBSZ_SZ(cmbsz);
	offset = unit * NVME_CMBLOC_OFST(cmbloc);
	bir = NVME_CMBLOC_BIR(cmbloc);
	bar = pci_bar_addr(&c->pci, (int)bir);
	bar_size = pci_bar_size(&c->pci, (int)bir);
	rt_printf("nvme-smoke: %s cmb bar%u 0x%llx offset 0x%llx size 0x%llx cmbsz 0x%08x "
		  "cmbloc 0x%08x%s%s%s%s%s\n",
		  c->pci.bdf, bir, (unsigned long long)bar, (unsigned long long)offset,
		  (unsigned long long)size, cmbsz, cmbloc, cmbsz & NVME_CMBSZ_SQS ? " sqs" : "",
		  cmbsz & NVME_CMBSZ_CQS ? " cqs" : "", cmbsz & NVME_CMBSZ_LISTS ? " lists" : "",
		  cmbsz & NVME_CMBSZ_RDS ? " rds" : "", cmbsz & NVME_CMBSZ_WDS ? " wds" : "");
	if (!bar || offset >= bar_size) {
		rt_fail("%s cmb offset 0x%llx outside bar%u (size 0x%llx)", c->pci.bdf,
			(unsigned long long)offset, bir, (unsigned long long)bar_size);
		return NULL;
	}
	if (size > bar_size - offset)
		size = bar_size - offset; /* Linux clamps to the BAR as well */
	/* NVMe 1.4 3.1.15: CBA is the controller's address of the CMB; high half first. */
	mmio_write32(c->bar0 + NVME_REG_CMBMSC + 4, (uint32_t)(bar >> 32));
	mmio_write32(c->bar0 + NVME_REG_CMBMSC,
		     (uint32_t)(bar | NVME_CMBMSC_CRE | NVME_CMBMSC_CMSE));
	if (!(cmbsz & NVME_CMBSZ_SQS)) {
		rt_printf("nvme-smoke: %s cmb has no SQS: SQ in RAM\n", c->pci.bdf);
		return NULL;
	}
	if (size < IO_DEPTH * sizeof(struct nvme_sqe)) {
		rt_fail("%s cmb too small for a %u-entry SQ", c->pci.bdf, IO_DEPTH);
		return NULL;
	}
	*bus = bar + offset;
	return (void *)(uintptr_t)(bar + offset);
}

/* ---- PMR (NVMe 1.4 3.1.18-3.1.23; SPDK nvme_ctrlr_enable_pmr) ---- */

/*
 * The PMR is filled with 32-byte text records "PMR seed=SSSSSSSS off=OOOOOOOO.\n" (hex), so
 * a test on the host can rebuild the expected file with printf and cmp it, and a record at
 * the wrong offset or from another run shows up. The seed is nvme-smoke.pmr_seed= in the
 * restart modes, else the TSC (a stale file from an earlier run cannot pass for this one).
 */
#define PMR_RECORD    32
#define PMR_MAX_CHECK (16u << 20) /* bytes filled and compared: the whole PMR up to this */

static struct {
	uint64_t addr, bytes; /* where BAR4 decodes; bytes filled (0: PMR not in use) */
	uint32_t seed;
} pmr;

static void pmr_record(char *rec, uint32_t seed, uint32_t off)
{
	static const char hex[] = "0123456789abcdef";

	memcpy(rec, "PMR seed=........ off=.........\n", PMR_RECORD);
	for (int i = 0; i < 8; i++) {
		rec[9 + i] = hex[seed >> (28 - 4 * i) & 0xf];
		rec[22 + i] = hex[off >> (28 - 4 * i) & 0xf];
	}
}

static void pmr_fill(void)
{
	uint64_t rec[PMR_RECORD / 8];

	for (uint64_t off = 0; off < pmr.bytes; off += PMR_RECORD) {
		pmr_record((char *)rec, pmr.seed, (uint32_t)off);
		for (int i = 0; i < PMR_RECORD / 8; i++)
			mmio_write64(pmr.addr + off + 8 * i, rec[i]);
	}
}

/* Number of bytes from offset 0 that hold the pattern (pmr.bytes when all of them do). */
static uint64_t pmr_compare(const char *what)
{
	uint64_t rec[PMR_RECORD / 8];

	for (uint64_t off = 0; off < pmr.bytes; off += PMR_RECORD) {
		pmr_record((char *)rec, pmr.seed, (uint32_t)off);
		for (int i = 0; i < PMR_RECORD / 8; i++) {
			uint64_t got = mmio_read64(pmr.addr + off + 8 * i);

			if (got != rec[i]) {
				rt_fail("%s pmr %s: byte 0x%llx reads 0x%016llx, wrote 0x%016llx",
					sm.c.pci.bdf, what, (unsigned long long)(off + 8 * i),
					(unsigned long long)got, (unsigned long long)rec[i]);
				return off;
			}
		}
	}
	return pmr.bytes;
}

/* PMRSTS with no error and the health normal; reading it is a persistence point (PMRWBM). */
static bool pmr_status_ok(const char *what)
{
	uint32_t sts = mmio_read32(sm.c.bar0 + NVME_REG_PMRSTS);

	if (!(sts & NVME_PMRSTS_NRDY) && !NVME_PMRSTS_ERR(sts) && !NVME_PMRSTS_HSTS(sts) &&
	    !(sts & NVME_PMRSTS_CBAI))
		return true;
	rt_fail("%s pmr %s: PMRSTS 0x%08x (nrdy %u err %u hsts %u cbai %u)", sm.c.pci.bdf, what,
		sts, !!(sts & NVME_PMRSTS_NRDY), NVME_PMRSTS_ERR(sts), NVME_PMRSTS_HSTS(sts),
		!!(sts & NVME_PMRSTS_CBAI));
	return false;
}

/*
 * Enable the PMR and its memory space, then, by nvme-smoke.pmr=: (absent) write a pattern
 * that reset_check reads back after a controller reset; "write" the same with the seed of
 * the command line; "verify" read back what an earlier vmm process wrote, then keep checking
 * it across the reset.
 */
static void pmr_check(void)
{
	struct nvme_ctrl *c = &sm.c;
	const char *mode = rt_cmdline_get("nvme-smoke.pmr");
	uint32_t pmrcap, pmrebs, sts;
	uint64_t size, timeout, t0;

	pmr.bytes = 0;
	if (!(c->cap & NVME_CAP_PMRS)) {
		rt_printf("nvme-smoke: %s pmr absent (CAP.PMRS 0)\n", c->pci.bdf);
		return;
	}
	pmrcap = mmio_read32(c->bar0 + NVME_REG_PMRCAP);
	pmrebs = mmio_read32(c->bar0 + NVME_REG_PMREBS);
	pmr.addr = pci_bar_addr(&c->pci, 4);
	size = pci_bar_size(&c->pci, 4);
	rt_printf("nvme-smoke: %s pmr bar4 0x%llx size 0x%llx pmrcap 0x%08x pmrebs 0x%08x\n",
		  c->pci.bdf, (unsigned long long)pmr.addr, (unsigned long long)size, pmrcap,
		  pmrebs);
	if (NVME_PMRCAP_BIR(pmrcap) != 4) {
		rt_fail("%s pmr PMRCAP.BIR %u, expected 4", c->pci.bdf, NVME_PMRCAP_BIR(pmrcap));
		return;
	}
	if (!pmr.addr || size < PMR_RECORD) {
		rt_fail("%s pmr bar4 is not assigned (0x%llx, size 0x%llx)", c->pci.bdf,
			(unsigned long long)pmr.addr, (unsigned long long)size);
		return;
	}
	/* 3.1.23: CBA = the BAR's bus address; SPDK writes the high half, then the low with CMSE.
	 */
	mmio_write32(c->bar0 + NVME_REG_PMRMSCU, (uint32_t)(pmr.addr >> 32));
	mmio_write32(c->bar0 + NVME_REG_PMRMSCL, (uint32_t)pmr.addr | NVME_PMRMSCL_CMSE);
	mmio_write32(c->bar0 + NVME_REG_PMRCTL, NVME_PMRCTL_EN);
	/* 3.1.18: PMRTO in units of PMRTU (0: 500 ms, 1: minutes); wait at least one unit. */
	timeout = (NVME_PMRCAP_PMRTU(pmrcap) ? 60000ULL : 500ULL) *
		  (NVME_PMRCAP_PMRTO(pmrcap) ? NVME_PMRCAP_PMRTO(pmrcap) : 1);
	t0 = rt_rdtsc();
	while ((sts = mmio_read32(c->bar0 + NVME_REG_PMRSTS)) & NVME_PMRSTS_NRDY)
		if (rt_rdtsc() - t0 > tsc_ms(timeout))
			break;
	if (!pmr_status_ok("enable (PMRCTL.EN=1)"))
		return;
	if (!(mmio_read32(c->bar0 + NVME_REG_PMRCTL) & NVME_PMRCTL_EN)) {
		rt_fail("%s pmr PMRCTL.EN reads 0 after writing 1", c->pci.bdf);
		return;
	}
	pmr.bytes = (size < PMR_MAX_CHECK ? size : PMR_MAX_CHECK) & ~(uint64_t)(PMR_RECORD - 1);
	pmr.seed = mode ? (uint32_t)rt_cmdline_u64("nvme-smoke.pmr_seed", 0x5eed)
			: (uint32_t)rt_rdtsc();
	if (mode && !strcmp(mode, "verify")) {
		if (pmr_compare("after a vmm restart") != pmr.bytes) {
			pmr.bytes = 0;
			return;
		}
		rt_printf("nvme-smoke: %s pmr verified (%llu bytes, seed 0x%08x)\n", c->pci.bdf,
			  (unsigned long long)pmr.bytes, pmr.seed);
		return;
	}
	if (mode && strcmp(mode, "write")) {
		rt_fail("%s pmr: unknown mode nvme-smoke.pmr=%s (write, verify)", c->pci.bdf, mode);
		pmr.bytes = 0;
		return;
	}
	pmr_fill();
	if (!pmr_status_ok("persist (PMRSTS read)")) {
		pmr.bytes = 0;
		return;
	}
	rt_printf("nvme-smoke: %s pmr written (%llu bytes, seed 0x%08x)\n", c->pci.bdf,
		  (unsigned long long)pmr.bytes, pmr.seed);
}

/* After a controller reset (CC.EN 1 -> 0 -> 1): still enabled, memory space on, data kept. */
static void pmr_reset_check(void)
{
	struct nvme_ctrl *c = &sm.c;
	uint64_t kept;

	if (!pmr.bytes)
		return;
	if (!(mmio_read32(c->bar0 + NVME_REG_PMRCTL) & NVME_PMRCTL_EN)) {
		rt_fail("%s pmr PMRCTL.EN is 0 after a controller reset", c->pci.bdf);
		return;
	}
	if (!(mmio_read32(c->bar0 + NVME_REG_PMRMSCL) & NVME_PMRMSCL_CMSE))
		rt_fail("%s pmr PMRMSCL.CMSE is 0 after a controller reset", c->pci.bdf);
	if (!pmr_status_ok("after a controller reset"))
		return;
	kept = pmr_compare("after a controller reset");
	if (kept == pmr.bytes)
		rt_printf("nvme-smoke: %s pmr ok (reset kept %llu bytes)\n", c->pci.bdf,
			  (unsigned long long)kept);
}

/* ---- I/O ---- */

static uint16_t rw(uint8_t opcode, uint32_t nsid, uint64_t lba, uint32_t nblocks, void *buf,
		   uint32_t bytes)
{
	struct nvme_sqe cmd = {.opcode = opcode, .nsid = nsid};

	nvme_set_prps(&cmd, buf, bytes, sm.prp_list);
	cmd.cdw10 = (uint32_t)lba;
	cmd.cdw11 = (uint32_t)(lba >> 32);
	cmd.cdw12 = (nblocks - 1) & 0xffff;
	return nvme_submit_wait(&sm.io, &cmd, NULL);
}

/* A pattern no two (controller, namespace, byte offset) share. */
static uint32_t pattern(uint32_t nsid, uint64_t byte)
{
	uint64_t x = (byte / 4) * 0x9E3779B97F4A7C15ULL ^ (uint64_t)nsid << 56 ^
		     (uint64_t)sm.c.pci.bus << 48 ^ (uint64_t)sm.c.pci.devfn << 40;

	x ^= x >> 29;
	return (uint32_t)(x ^ x >> 32);
}

static void fill(uint32_t nsid, uint64_t byte0, uint32_t *buf, uint32_t bytes)
{
	for (uint32_t i = 0; i < bytes / 4; i++)
		buf[i] = pattern(nsid, byte0 + 4ULL * i);
}

static bool compare(uint32_t nsid, uint64_t byte0, const uint32_t *buf, uint32_t bytes,
		    const char *what)
{
	for (uint32_t i = 0; i < bytes / 4; i++) {
		uint32_t want = pattern(nsid, byte0 + 4ULL * i);

		if (buf[i] != want) {
			rt_fail("%s ns %u %s: byte 0x%llx reads 0x%08x, wrote 0x%08x", sm.c.pci.bdf,
				nsid, what, (unsigned long long)(byte0 + 4ULL * i), buf[i], want);
			return false;
		}
	}
	return true;
}

/*
 * Regions one after the other from LBA 0 (a one-block gap between them, so a misplaced
 * write shows up), and the last one at the very end of the namespace.
 */
static int plan_regions(struct region *r, uint64_t nsze, uint32_t lbasz, uint32_t max_bytes)
{
	static const struct region want[] = {
		{0, 0, 0},		  /* one block */
		{0, 4096, 0},		  /* one page: PRP1 only */
		{0, 8192, 0},		  /* two pages: PRP2 is a page */
		{0, 8192, 512},		  /* first page at an offset: three pages, PRP list */
		{0, 65536, 0},		  /* PRP list of 15 entries */
		{0, 131072 + 4096, 1024}, /* offset + list */
		{0, MAX_XFER, 0},	  /* the largest transfer (MDTS permitting) */
		{0, 8192, 0},		  /* the last blocks of the namespace */
	};
	const int nwant = (int)(sizeof(want) / sizeof(want[0]));
	uint64_t next = 0;
	int n = 0;

	for (int i = 0; i < nwant; i++) {
		uint32_t bytes = want[i].bytes ? want[i].bytes : lbasz;
		uint64_t blocks;

		if (bytes % lbasz || bytes > max_bytes)
			continue;
		blocks = bytes / lbasz;
		r[n] = want[i];
		r[n].bytes = bytes;
		if (i == nwant - 1) {
			if (blocks > nsze || nsze - blocks < next)
				continue;
			r[n].lba = nsze - blocks;
		} else {
			if (next + blocks + 1 + 16 > nsze)
				continue;
			r[n].lba = next;
			next += blocks + 1;
		}
		n++;
	}
	return n;
}

static bool rw_regions(uint32_t nsid, const struct region *r, int n, uint32_t lbasz)
{
	bool ok = true;

	for (int i = 0; i < n; i++) {
		uint8_t *buf = sm.wbuf + r[i].buf_off;
		uint16_t st;

		fill(nsid, r[i].lba * lbasz, (uint32_t *)buf, r[i].bytes);
		st = rw(NVME_CMD_WRITE, nsid, r[i].lba, r[i].bytes / lbasz, buf, r[i].bytes);
		ok &= check_status("write", st, NVME_SC_SUCCESS);
	}
	for (int i = 0; i < n; i++) {
		uint8_t *buf = sm.rbuf + r[i].buf_off;
		char what[64];
		uint16_t st;

		memset(buf, 0xa5, r[i].bytes);
		st = rw(NVME_CMD_READ, nsid, r[i].lba, r[i].bytes / lbasz, buf, r[i].bytes);
		rt_snprintf(what, sizeof(what), "read lba %llu bytes %u buf+%u",
			    (unsigned long long)r[i].lba, r[i].bytes, r[i].buf_off);
		if (!check_status(what, st, NVME_SC_SUCCESS))
			ok = false;
		else if (sm.verify &&
			 !compare(nsid, r[i].lba * lbasz, (uint32_t *)buf, r[i].bytes, what))
			ok = false;
	}
	return ok;
}

static void ns_check(uint32_t nsid)
{
	const uint8_t *id = sm.id;
	struct region r[8];
	uint64_t nsze, ncap;
	uint32_t lbasz, max_bytes = sm.c.mdts_bytes < MAX_XFER ? sm.c.mdts_bytes : MAX_XFER;
	uint16_t st;
	int n;
	bool ok;

	st = nvme_identify(&sm.c, NVME_ID_CNS_NS, nsid, sm.id);
	if (!check_status("identify namespace", st, NVME_SC_SUCCESS))
		return;
	memcpy(&nsze, id + 0, 8);
	memcpy(&ncap, id + 8, 8);
	lbasz = 1u << ((id[128 + 4 * (id[26] & 0xf) + 2]) & 0xff);
	rt_printf("nvme-smoke: %s ns %u lbas %llu lba_size %u ncap %llu eui64 "
		  "%02x%02x%02x%02x%02x%02x%02x%02x\n",
		  sm.c.pci.bdf, nsid, (unsigned long long)nsze, lbasz, (unsigned long long)ncap,
		  id[120], id[121], id[122], id[123], id[124], id[125], id[126], id[127]);
	if (lbasz < 512 || lbasz > PAGE_SIZE || nsze == 0) {
		rt_fail("%s ns %u: lba size %u, %llu lbas: not testable", sm.c.pci.bdf, nsid, lbasz,
			(unsigned long long)nsze);
		return;
	}
	if (nsid == sm.nsids[0])
		sm.first_lba_size = lbasz;

	n = plan_regions(r, nsze, lbasz, max_bytes);
	ok = rw_regions(nsid, r, n, lbasz);
	if (ok) {
		uint32_t largest = 0;

		for (int i = 0; i < n; i++)
			largest = r[i].bytes > largest ? r[i].bytes : largest;
		rt_printf("nvme-smoke: %s ns %u write/read%s ok (%d transfers, up to %u bytes)\n",
			  sm.c.pci.bdf, nsid, sm.verify ? "/verify" : " (not verified)", n,
			  largest);
	}

	struct nvme_sqe flush = {.opcode = NVME_CMD_FLUSH, .nsid = nsid};
	if (check_status("flush", nvme_submit_wait(&sm.io, &flush, NULL), NVME_SC_SUCCESS))
		rt_printf("nvme-smoke: %s ns %u flush ok\n", sm.c.pci.bdf, nsid);

	/* NVMe 1.4 6.9 / 6.15: an LBA range past NSZE -> LBA Out of Range (80h). */
	st = rw(NVME_CMD_READ, nsid, nsze, 1, sm.rbuf, lbasz);
	ok = check_status("read at lba NSZE", st, NVME_SC_LBA_RANGE);
	st = rw(NVME_CMD_READ, nsid, nsze - 1, 2, sm.rbuf, 2 * lbasz);
	ok &= check_status("read across the last lba", st, NVME_SC_LBA_RANGE);
	st = rw(NVME_CMD_WRITE, nsid, nsze, 1, sm.wbuf, lbasz);
	ok &= check_status("write at lba NSZE", st, NVME_SC_LBA_RANGE);
	if (ok)
		rt_printf("nvme-smoke: %s ns %u lba out of range ok (status 0x080)\n", sm.c.pci.bdf,
			  nsid);
}

/* ---- error paths a guest can see ---- */

static void error_checks(void)
{
	struct nvme_ctrl *c = &sm.c;
	struct nvme_sqe cmd;
	bool ok = true;

	if (c->nn < 0xfffffffeu) {
		ok &= check_status("read nsid NN+1",
				   rw(NVME_CMD_READ, c->nn + 1, 0, 1, sm.rbuf, 512),
				   NVME_SC_INVALID_NS);
	}
	memset(&cmd, 0, sizeof(cmd));
	cmd.opcode = OPCODE_RESVD;
	cmd.nsid = sm.nsids[0];
	ok &= check_status("reserved I/O opcode", nvme_submit_wait(&sm.io, &cmd, NULL),
			   NVME_SC_INVALID_OP);
	memset(&cmd, 0, sizeof(cmd));
	cmd.opcode = OPCODE_RESVD;
	ok &= check_status("reserved admin opcode", nvme_admin(c, &cmd, NULL), NVME_SC_INVALID_OP);
	memset(&cmd, 0, sizeof(cmd));
	cmd.opcode = NVME_ADM_CREATE_CQ;
	cmd.prp1 = (uintptr_t)sm.rbuf;
	cmd.cdw10 = 15u << 16 | 0; /* QID 0 is the admin queue */
	cmd.cdw11 = NVME_QUEUE_PHYS_CONTIG;
	ok &= check_status("create I/O CQ 0", nvme_admin(c, &cmd, NULL), NVME_SC_QID_INVALID);
	memset(&cmd, 0, sizeof(cmd));
	cmd.opcode = NVME_ADM_CREATE_SQ;
	cmd.prp1 = (uintptr_t)sm.rbuf;
	cmd.cdw10 = 15u << 16 | (IO_QID + 1);
	cmd.cdw11 = (uint32_t)(IO_QID + 1) << 16 | NVME_QUEUE_PHYS_CONTIG; /* no such CQ */
	ok &= check_status("create I/O SQ on a missing CQ", nvme_admin(c, &cmd, NULL),
			   NVME_SC_CQ_INVALID);
	memset(&cmd, 0, sizeof(cmd));
	cmd.opcode = NVME_ADM_DELETE_CQ;
	cmd.cdw10 = IO_QID;
	ok &= check_status("delete a CQ that has an SQ", nvme_admin(c, &cmd, NULL),
			   NVME_SC_QDEL_INVAL);
	ok &= check_status("identify CNS 0xff", nvme_identify(c, 0xff, 0, sm.id),
			   NVME_SC_INVALID_FLD);
	if (ok)
		rt_printf("nvme-smoke: %s error paths ok\n", c->pci.bdf);
}

/* ---- bring-up ---- */

static bool identify_ctrl(void)
{
	struct nvme_ctrl *c = &sm.c;
	const uint8_t *id = sm.id;
	char sn[21], mn[41], fr[9];
	uint16_t st = nvme_identify(c, NVME_ID_CNS_CTRL, 0, sm.id);

	if (!check_status("identify controller", st, NVME_SC_SUCCESS))
		return false;
	copy_trimmed(sn, id + 4, 20);
	copy_trimmed(mn, id + 24, 40);
	copy_trimmed(fr, id + 64, 8);
	memcpy(&c->nn, id + 516, 4);
	memcpy(&c->oacs, id + 256, 2);
	c->mdts_bytes = id[77] ? PAGE_SIZE << id[77] : 0xffffffffu;
	rt_printf("nvme-smoke: %s sn %s mn %s fr %s\n", c->pci.bdf, sn, mn, fr);
	rt_printf("nvme-smoke: %s vid 0x%04x nn %u mdts %u oacs 0x%04x sqes 0x%02x cqes 0x%02x "
		  "vwc %u\n",
		  c->pci.bdf, id[0] | id[1] << 8, c->nn, id[77], c->oacs, id[512], id[513],
		  id[525] & 1);
	if ((id[512] & 0xf) > 6 || (id[512] >> 4) < 6 || (id[513] & 0xf) > 4 || (id[513] >> 4) < 4)
		rt_fail("%s SQES/CQES do not allow 64/16-byte entries", c->pci.bdf);
	return true;
}

static void list_namespaces(void)
{
	uint32_t *list = (uint32_t *)sm.id;
	char line[160];
	size_t n = 0;

	sm.nr_ns = 0;
	if (!check_status("identify active ns list",
			  nvme_identify(&sm.c, NVME_ID_CNS_NS_ACTIVE_LIST, 0, sm.id),
			  NVME_SC_SUCCESS))
		return;
	for (int i = 0; i < 1024 && list[i] && sm.nr_ns < MAX_NS; i++) {
		sm.nsids[sm.nr_ns++] = list[i];
		if (n < sizeof(line) - 16)
			n += (size_t)rt_snprintf(line + n, sizeof(line) - n, " %u", list[i]);
	}
	if (!sm.nr_ns)
		rt_snprintf(line, sizeof(line), " none");
	rt_printf("nvme-smoke: %s active namespaces%s\n", sm.c.pci.bdf, line);
}

static bool setup_queues(void)
{
	struct nvme_ctrl *c = &sm.c;
	uint32_t granted = 0;
	uint64_t sq_bus = 0;
	void *sq_mem;
	uint16_t st, depth = IO_DEPTH;

	st = nvme_set_num_queues(c, 4, &granted);
	if (!check_status("set features number of queues", st, NVME_SC_SUCCESS))
		return false;
	c->nr_io_queues = (uint16_t)((granted & 0xffff) + 1);
	rt_printf("nvme-smoke: %s queues granted sq %u cq %u\n", c->pci.bdf, (granted & 0xffff) + 1,
		  (granted >> 16) + 1);

	if (!(c->oacs & NVME_OACS_DBBUF))
		rt_printf("nvme-smoke: %s dbbuf not supported (OACS bit 8 clear)\n", c->pci.bdf);
	else if (rt_cmdline_get("nvme-smoke.nodbbuf"))
		rt_printf("nvme-smoke: %s dbbuf not used (nvme-smoke.nodbbuf)\n", c->pci.bdf);
	else if (check_status("doorbell buffer config", nvme_dbbuf_config(c), NVME_SC_SUCCESS))
		rt_printf("nvme-smoke: %s dbbuf on\n", c->pci.bdf);

	msix_setup();
	sq_mem = cmb_setup(&sq_bus);
	pmr_check();
	if (depth > NVME_CAP_MQES(c->cap) + 1)
		depth = (uint16_t)(NVME_CAP_MQES(c->cap) + 1);
	st = nvme_create_io_pair(c, &sm.io, IO_QID, depth, sm.irq ? MSIX_VECTOR : -1, sq_mem,
				 sq_bus);
	if (!check_status("create I/O queue pair", st, NVME_SC_SUCCESS))
		return false;
	sm.cmb_sq = sq_mem != NULL;
	rt_printf("nvme-smoke: %s io queue %u depth %u sq in %s cq %s\n", c->pci.bdf, IO_QID, depth,
		  sm.cmb_sq ? "cmb" : "ram", sm.irq ? "msix" : "polled");
	return true;
}

/* Disable and enable again: the namespaces keep their data (NVMe 1.4 7.3.2). */
static void reset_check(void)
{
	struct nvme_ctrl *c = &sm.c;
	uint32_t nsid = sm.nsids[0], lbasz = (uint32_t)sm.first_lba_size;
	uint16_t st;

	if (nvme_ctrl_disable(c) || nvme_ctrl_enable(c)) {
		rt_failures++;
		return;
	}
	pmr_reset_check();
	c->shadow_db = NULL; /* a reset forgets the doorbell buffer */
	if (!identify_ctrl())
		return;
	st = nvme_create_io_pair(c, &sm.io, IO_QID, 16, -1, NULL, 0);
	if (!check_status("create I/O queue pair after reset", st, NVME_SC_SUCCESS))
		return;
	if (!lbasz)
		return;
	memset(sm.rbuf, 0, lbasz);
	st = rw(NVME_CMD_READ, nsid, 0, 1, sm.rbuf, lbasz);
	if (!check_status("read after reset", st, NVME_SC_SUCCESS))
		return;
	if (sm.verify && !compare(nsid, 0, (uint32_t *)sm.rbuf, lbasz, "read after reset"))
		return;
	rt_printf("nvme-smoke: %s reset ok%s\n", c->pci.bdf, sm.verify ? " (ns data kept)" : "");
}

/*
 * nvme-smoke.crash=1: the crash-consistency writer (tests/integration/t_crash.sh). Writes
 * LBA n with sequence number n (n = 0, 1, ...; 512-byte LBAs assumed, NSID 1), each block 16
 * records "CRASH seq=SSSSSSSS lba=LLLLLLLL\n" (hex). Every third write has FUA (NVM Command
 * Set 3.2.6, CDW12 bit 30); after every fourth write a Flush (opcode 0x00) is sent. A line
 * is printed only for writes the spec says are durable, once their completion was seen:
 *   nvme-crash: fua S            (FUA write S completed: S is on non-volatile media)
 *   nvme-crash: flush A B        (Flush completed: every write A..B completed before it is)
 * The loop never ends; the test SIGKILLs vmm somewhere in it.
 */
#define CRASH_LBA_SIZE 512u
#define CRASH_FUA      (1u << 30)

static void crash_block(uint32_t *buf, uint32_t seq)
{
	char *p = (char *)buf;

	for (uint32_t off = 0; off < CRASH_LBA_SIZE; off += 32) {
		char rec[40];

		rt_snprintf(rec, sizeof(rec), "CRASH seq=%08x lba=%08x\n", seq, seq);
		memcpy(p + off, rec, 32);
	}
}

static void crash_loop(void)
{
	uint64_t nsze;
	uint32_t first = 0;

	if (!check_status("identify namespace 1", nvme_identify(&sm.c, NVME_ID_CNS_NS, 1, sm.id),
			  NVME_SC_SUCCESS))
		return;
	memcpy(&nsze, sm.id, 8);
	rt_printf("nvme-crash: start lbas %llu\n", (unsigned long long)nsze);
	for (uint32_t seq = 0; seq < nsze; seq++) {
		struct nvme_sqe cmd = {.opcode = NVME_CMD_WRITE, .nsid = 1};
		bool fua = seq % 3 == 0;
		uint16_t st;

		crash_block((uint32_t *)sm.wbuf, seq);
		nvme_set_prps(&cmd, sm.wbuf, CRASH_LBA_SIZE, sm.prp_list);
		cmd.cdw10 = seq;
		cmd.cdw12 = fua ? CRASH_FUA : 0;
		st = nvme_submit_wait(&sm.io, &cmd, NULL);
		if (!check_status("crash write", st, NVME_SC_SUCCESS))
			return;
		if (fua)
			rt_printf("nvme-crash: fua %x\n", seq);
		if (seq % 4 == 3) {
			struct nvme_sqe flush = {.opcode = NVME_CMD_FLUSH, .nsid = 1};

			st = nvme_submit_wait(&sm.io, &flush, NULL);
			if (!check_status("crash flush", st, NVME_SC_SUCCESS))
				return;
			rt_printf("nvme-crash: flush %x %x\n", first, seq);
			first = seq + 1;
		}
	}
	rt_printf("nvme-crash: namespace full\n");
	for (;;)
		;
}

void smoke_ctrl(const struct nvme_pci *p)
{
	struct nvme_ctrl *c = &sm.c;
	int errors = rt_failures;

	if (!sm.wbuf) {
		sm.wbuf = nvme_alloc(BUF_SIZE);
		sm.rbuf = nvme_alloc(BUF_SIZE);
		sm.id = nvme_alloc(PAGE_SIZE);
		sm.prp_list = nvme_alloc(PAGE_SIZE);
	}
	sm.verify = !rt_cmdline_get("nvme-smoke.noverify");
	sm.first_lba_size = 0;
	if (nvme_ctrl_init(c, p)) {
		rt_failures++;
		return;
	}
	rt_printf("nvme-smoke: %s %04x:%04x cap 0x%016llx vs 0x%08x mqes %u dstrd %u to %u%s%s\n",
		  p->bdf, p->vendor, p->device, (unsigned long long)c->cap, c->vs,
		  NVME_CAP_MQES(c->cap), NVME_CAP_DSTRD(c->cap), NVME_CAP_TO(c->cap),
		  c->cap & NVME_CAP_CMBS ? " cmbs" : "", c->cap & NVME_CAP_PMRS ? " pmrs" : "");
	if (nvme_ctrl_enable(c)) {
		rt_failures++;
		return;
	}
	rt_printf("nvme-smoke: %s enabled cc 0x%08x csts 0x%08x\n", p->bdf,
		  mmio_read32(c->bar0 + NVME_REG_CC), mmio_read32(c->bar0 + NVME_REG_CSTS));
	if (!identify_ctrl())
		return;
	list_namespaces();
	if (!setup_queues())
		return;
	if (rt_cmdline_get("nvme-smoke.crash")) {
		crash_loop();
		return;
	}
	for (int i = 0; i < sm.nr_ns; i++)
		ns_check(sm.nsids[i]);
	if (sm.cmb_sq && rt_failures == errors)
		rt_printf("nvme-smoke: %s cmb sq ok\n", p->bdf);
	msix_check();
	error_checks();
	if (check_status("delete I/O queue pair", nvme_delete_io_pair(c, &sm.io), NVME_SC_SUCCESS))
		rt_printf("nvme-smoke: %s io queue deleted\n", p->bdf);
	if (sm.irq) {
		mmio_write32(c->msix_table + MSIX_VECTOR * PCI_MSIX_ENTRY_SIZE +
				     PCI_MSIX_ENTRY_VECTOR_CTRL,
			     1);
		rt_set_trap_hook(NULL);
	}
	reset_check();
	if (nvme_ctrl_shutdown(c) == 0)
		rt_printf("nvme-smoke: %s shutdown ok\n", p->bdf);
	else
		rt_failures++;
	rt_printf("nvme-smoke: %s errors %d\n", p->bdf, rt_failures - errors);
}
