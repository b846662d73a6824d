/* SPDX-License-Identifier: MIT */
/*
 * vfio-nvme: a small userspace NVMe driver over VFIO (the SPDK path of issue 12), run by the
 * full-mode /init on a controller it has bound to vfio-pci.
 *
 *   vfio-nvme BDF [VID [PMR_TAG]]
 *
 * Through the VFIO type1 API (Documentation/driver-api/vfio.rst): the container, the
 * device's IOMMU group, VFIO_TYPE1v2_IOMMU, one 2 MiB hugepage mapped with
 * VFIO_IOMMU_MAP_DMA at an IOVA far from any guest-physical address, and the device's
 * config, BAR0 (registers), BAR2 (the CMB) and BAR4 (the PMR) regions. The controller is
 * driven by polling (no interrupts): disable, admin queues in the hugepage, enable,
 * Identify Controller (VID, serial) and Namespace, an I/O CQ in the hugepage and an I/O SQ
 * in the CMB, one block written with a pattern and read back into another buffer; then the
 * PMR: PMRCTL.EN, PMRSTS.NRDY, a pattern through the BAR4 region, and PMR_TAG (which /init
 * stored through the nvme driver's BAR before) still at offset 0.
 *
 * Every result is one line, which /init turns into a check:
 *   VFIO ok|fail <name> <detail>
 * The exit status is 0 when everything passed, 1 at the first failure (later steps need
 * the earlier ones), 2 for bad arguments. Register offsets and fields: NVMe base
 * specification 1.4 (section numbers in the comments).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* 3.1: controller registers (BAR0) */
#define REG_CAP	   0x00
#define REG_VS	   0x08
#define REG_CC	   0x14
#define REG_CSTS   0x1c
#define REG_AQA	   0x24
#define REG_ASQ	   0x28
#define REG_ACQ	   0x30
#define REG_CMBLOC 0x38
#define REG_CMBSZ  0x3c
#define REG_CMBMSC 0x50
#define REG_CMBSTS 0x58
#define REG_PMRCAP 0xe00
#define REG_PMRCTL 0xe04
#define REG_PMRSTS 0xe08
#define REG_DBS	   0x1000

/* Where the hugepage sits in the device's IOVA space (default): 1 GiB, between the end of
 * the full-mode machine's 512 MiB of RAM and the 32-bit MMIO window, so a device access that
 * skipped translation would land nowhere; the Identify data arriving in the hugepage proves
 * the translation. */
#define IOVA_DEFAULT 0x40000000ULL
static uint64_t IOVA_BASE = IOVA_DEFAULT;
#define HUGE (2u << 20)
/* The hugepage's layout (4 KiB pages, CC.MPS = 0) */
#define OFF_ASQ	 0x0000
#define OFF_ACQ	 0x1000
#define OFF_ID	 0x2000
#define OFF_IOCQ 0x3000
#define OFF_WBUF 0x4000
#define OFF_RBUF 0x5000
#define QDEPTH	 16 /* entries in every queue */
/* The I/O SQ: 1 MiB into the CMB */
#define CMB_SQ_OFF 0x100000ULL
/* Where the PMR pattern goes: past /init's tag at offset 0 */
#define PMR_PAT_OFF 0x1000ULL
#define PMR_PAT_LEN 4096u

struct region {
	uint64_t off, size;
	uint32_t flags;
};

static int dev_fd = -1;
static struct region cfg, bar0, bar2, bar4;
static uint8_t *mem;	      /* the hugepage */
static volatile uint8_t *cmb; /* BAR2, mmapped */
static uint32_t dstrd;	      /* CAP.DSTRD */
static uint16_t cid;
static unsigned asq_tail, acq_head, acq_phase = 1;
static unsigned iosq_tail, iocq_head, iocq_phase = 1;
static const char *bdf;
static int failed;

static void result(int ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("VFIO %s %s ", ok ? "ok" : "fail", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (!ok)
		failed = 1;
}

#define FAIL(name, ...)                                                                            \
	do {                                                                                       \
		result(0, name, __VA_ARGS__);                                                      \
		exit(1);                                                                           \
	} while (0)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Region accesses through the device fd: vfio-pci does at most 4 bytes per access
 * (vfio_pci_core_do_io_rw), so 64-bit registers are two dwords, low first. */
static uint32_t rd32(const struct region *r, uint64_t off)
{
	uint32_t v = 0xffffffff;

	if (pread(dev_fd, &v, 4, (off_t)(r->off + off)) != 4)
		FAIL("vfio-io", "%s: pread of offset 0x%llx: %s", bdf, (unsigned long long)off,
		     strerror(errno));
	return v;
}

static void wr32(const struct region *r, uint64_t off, uint32_t v)
{
	if (pwrite(dev_fd, &v, 4, (off_t)(r->off + off)) != 4)
		FAIL("vfio-io", "%s: pwrite of offset 0x%llx: %s", bdf, (unsigned long long)off,
		     strerror(errno));
}

static uint64_t rd64(const struct region *r, uint64_t off)
{
	uint64_t lo = rd32(r, off);

	return lo | (uint64_t)rd32(r, off + 4) << 32;
}

static void wr64(const struct region *r, uint64_t off, uint64_t v)
{
	wr32(r, off, (uint32_t)v);
	wr32(r, off + 4, (uint32_t)(v >> 32));
}

static uint16_t cfg_rd16(uint64_t off)
{
	uint16_t v = 0xffff;

	if (pread(dev_fd, &v, 2, (off_t)(cfg.off + off)) != 2)
		FAIL("vfio-io", "%s: config read 0x%llx: %s", bdf, (unsigned long long)off,
		     strerror(errno));
	return v;
}

static void cfg_wr16(uint64_t off, uint16_t v)
{
	if (pwrite(dev_fd, &v, 2, (off_t)(cfg.off + off)) != 2)
		FAIL("vfio-io", "%s: config write 0x%llx: %s", bdf, (unsigned long long)off,
		     strerror(errno));
}

static struct region region_info(unsigned index, const char *what)
{
	struct vfio_region_info ri = {.argsz = sizeof(ri), .index = index};

	if (ioctl(dev_fd, VFIO_DEVICE_GET_REGION_INFO, &ri))
		FAIL("vfio-open", "%s: VFIO_DEVICE_GET_REGION_INFO %s: %s", bdf, what,
		     strerror(errno));
	return (struct region){.off = ri.offset, .size = ri.size, .flags = ri.flags};
}

/* wait_csts MASK VALUE SECONDS: poll CSTS until (CSTS & MASK) == VALUE */
static int wait_csts(uint32_t mask, uint32_t val, double secs, uint32_t *csts)
{
	double end = now() + secs;

	do {
		*csts = rd32(&bar0, REG_CSTS);
		if ((*csts & mask) == val)
			return 0;
		usleep(1000);
	} while (now() < end);
	return -1;
}

/* 4.2: a 64-byte submission queue entry */
struct sqe {
	uint8_t opc, flags;
	uint16_t cid;
	uint32_t nsid, cdw2, cdw3;
	uint64_t mptr, prp1, prp2;
	uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
};

/* 4.6: a 16-byte completion queue entry; bit 0 of the status word is the Phase Tag */
struct cqe {
	uint32_t dw0, dw1;
	uint16_t sqhd, sqid, cid, status;
};

/* Waits for the entry at *head of a CQ whose Phase Tag is *phase (4.6.1: the controller
 * inverts the tag on every pass through the queue), then advances the head and rings the
 * CQ head doorbell (3.1.25: offset 1000h + (2y + 1) * (4 << CAP.DSTRD)). */
static int reap(volatile struct cqe *cq, unsigned qid, unsigned *head, unsigned *phase,
		uint16_t want_cid, struct cqe *out, double secs)
{
	double end = now() + secs;

	for (;;) {
		volatile struct cqe *e = &cq[*head];

		if ((e->status & 1) == *phase) {
			__sync_synchronize();
			out->dw0 = e->dw0;
			out->sqhd = e->sqhd;
			out->sqid = e->sqid;
			out->cid = e->cid;
			out->status = e->status;
			if (++*head == QDEPTH) {
				*head = 0;
				*phase ^= 1;
			}
			wr32(&bar0, REG_DBS + (2 * qid + 1) * (4u << dstrd), *head);
			if (out->cid != want_cid)
				FAIL("vfio-io", "%s: QID %u completion for CID %u, expected %u",
				     bdf, qid, out->cid, want_cid);
			return 0;
		}
		if (now() > end)
			return -1;
		usleep(100);
	}
}

/* 4.6: Status Field = bits 15:1 (SCT 11:9, SC 8:1 of the field) */
static unsigned status_of(const struct cqe *e)
{
	return e->status >> 1;
}

/* An admin command: the SQE into the ASQ (hugepage), SQ tail doorbell 0 (3.1.24), poll. */
static unsigned admin(struct sqe *cmd, uint32_t *dw0, const char *what)
{
	struct sqe *sq = (struct sqe *)(mem + OFF_ASQ);
	struct cqe e;

	cmd->cid = ++cid;
	sq[asq_tail] = *cmd;
	asq_tail = (asq_tail + 1) % QDEPTH;
	__sync_synchronize();
	wr32(&bar0, REG_DBS, asq_tail);
	if (reap((volatile struct cqe *)(mem + OFF_ACQ), 0, &acq_head, &acq_phase, cmd->cid, &e,
		 30))
		FAIL("vfio-admin", "%s: %s (CID %u): no completion in 30 s (CSTS 0x%x)", bdf, what,
		     cmd->cid, rd32(&bar0, REG_CSTS));
	if (dw0)
		*dw0 = e.dw0;
	return status_of(&e);
}

/* An I/O command through the SQ in the CMB: the SQE is stored through the BAR2 mapping a
 * dword at a time (uncached MMIO as far as the guest knows), then SQ tail doorbell 1. */
static unsigned io(struct sqe *cmd, const char *what)
{
	volatile uint32_t *slot = (volatile uint32_t *)(cmb + CMB_SQ_OFF + iosq_tail * 64u);
	const uint32_t *src = (const uint32_t *)cmd;
	struct cqe e;

	cmd->cid = ++cid;
	for (unsigned i = 0; i < 16; i++)
		slot[i] = src[i];
	iosq_tail = (iosq_tail + 1) % QDEPTH;
	__sync_synchronize();
	wr32(&bar0, REG_DBS + 2 * 1 * (4u << dstrd), iosq_tail);
	if (reap((volatile struct cqe *)(mem + OFF_IOCQ), 1, &iocq_head, &iocq_phase, cmd->cid, &e,
		 30))
		FAIL("vfio-cmb-io", "%s: %s (CID %u): no completion in 30 s (CSTS 0x%x)", bdf, what,
		     cmd->cid, rd32(&bar0, REG_CSTS));
	return status_of(&e);
}

/* "  AB  " -> "AB": Identify's ASCII fields are space-padded (5.15.2.1) */
static void ascii(char *dst, const uint8_t *src, size_t n)
{
	memcpy(dst, src, n);
	dst[n] = 0;
	while (n && (dst[n - 1] == ' ' || dst[n - 1] == 0))
		dst[--n] = 0;
}

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i += 4) {
		uint32_t v = seed ^ (uint32_t)(i * 2654435761u);

		memcpy(p + i, &v, 4);
	}
}

/* What the controller and the kernel see, for a failure's message: the physical command
 * register (sysfs config goes to the device, vfio-pci's region to its virtual copy), the
 * guest-physical address of the hugepage (/proc/self/pagemap: PFN in bits 54:0) */
static void diag(void)
{
	char path[128];
	uint16_t phys = 0;
	uint64_t ent = 0;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", bdf);
	fd = open(path, O_RDONLY);
	if (fd >= 0) {
		if (pread(fd, &phys, 2, 4) != 2)
			phys = 0xffff;
		close(fd);
	}
	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd >= 0) {
		if (pread(fd, &ent, 8, (off_t)((uintptr_t)mem / 4096 * 8)) != 8)
			ent = 0;
		close(fd);
	}
	printf("vfio-nvme: diag: command (vfio) 0x%x (device) 0x%x; hugepage at IOVA 0x%llx is GPA "
	       "0x%llx; CC 0x%x AQA 0x%x ASQ 0x%llx ACQ 0x%llx\n",
	       cfg_rd16(0x04), phys, (unsigned long long)IOVA_BASE,
	       (unsigned long long)((ent & ((1ULL << 55) - 1)) << 12), rd32(&bar0, REG_CC),
	       rd32(&bar0, REG_AQA), (unsigned long long)rd64(&bar0, REG_ASQ),
	       (unsigned long long)rd64(&bar0, REG_ACQ));
}

int main(int argc, char **argv)
{
	char path[256], link[256], sn[21], mn[41];
	unsigned long want_vid = 0;
	const char *tag = NULL;
	int container, group, gid;
	ssize_t n;
	uint64_t cap, cmbsz_bytes, bar2_addr, pmr_size;
	uint32_t csts, cmbloc, cmbsz, szu, to_ms, v, lbads;
	uint16_t cmd16, vid;
	unsigned st;
	struct sqe c;

	if (argc < 2 || argc > 5) {
		fprintf(stderr, "usage: vfio-nvme BDF [VID [PMR_TAG [IOVA]]]\n");
		return 2;
	}
	bdf = argv[1];
	if (argc > 2)
		want_vid = strtoul(argv[2], NULL, 0);
	if (argc > 3 && argv[3][0])
		tag = argv[3];
	if (argc > 4)
		IOVA_BASE = strtoull(argv[4], NULL, 0);

	/* --- the container, the group, the device -------------------------------------- */
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		FAIL("vfio-open", "%s has no iommu_group link (is the IOMMU on?)", bdf);
	link[n] = 0;
	gid = atoi(strrchr(link, '/') ? strrchr(link, '/') + 1 : link);
	container = open("/dev/vfio/vfio", O_RDWR);
	if (container < 0)
		FAIL("vfio-open", "/dev/vfio/vfio: %s", strerror(errno));
	if (ioctl(container, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
		FAIL("vfio-open", "VFIO_GET_API_VERSION is not %d", VFIO_API_VERSION);
	if (!ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU))
		FAIL("vfio-open", "the container has no VFIO_TYPE1v2_IOMMU");
	snprintf(path, sizeof(path), "/dev/vfio/%d", gid);
	group = open(path, O_RDWR);
	if (group < 0)
		FAIL("vfio-open", "%s: %s", path, strerror(errno));
	{
		struct vfio_group_status gs = {.argsz = sizeof(gs)};

		if (ioctl(group, VFIO_GROUP_GET_STATUS, &gs) ||
		    !(gs.flags & VFIO_GROUP_FLAGS_VIABLE))
			FAIL("vfio-open",
			     "group %d is not viable (every device in it must be bound to vfio-pci "
			     "or to no driver)",
			     gid);
	}
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container))
		FAIL("vfio-open", "VFIO_GROUP_SET_CONTAINER (group %d): %s", gid, strerror(errno));
	/* vfio_iommu_type1_attach_group refuses with EPERM when the IOMMU cannot remap
	 * interrupts and allow_unsafe_interrupts is off (docs/iommu.md: no IR here) */
	if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		FAIL("vfio-open", "VFIO_SET_IOMMU TYPE1v2: %s%s", strerror(errno),
		     errno == EPERM ? " (no interrupt remapping: "
				      "vfio_iommu_type1.allow_unsafe_interrupts=1?)"
				    : "");
	dev_fd = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (dev_fd < 0)
		FAIL("vfio-open", "VFIO_GROUP_GET_DEVICE_FD %s: %s", bdf, strerror(errno));
	{
		struct vfio_device_info di = {.argsz = sizeof(di)};

		if (ioctl(dev_fd, VFIO_DEVICE_GET_INFO, &di) || !(di.flags & VFIO_DEVICE_FLAGS_PCI))
			FAIL("vfio-open", "%s: VFIO_DEVICE_GET_INFO: not a PCI device", bdf);
		cfg = region_info(VFIO_PCI_CONFIG_REGION_INDEX, "config");
		bar0 = region_info(VFIO_PCI_BAR0_REGION_INDEX, "BAR0");
		bar2 = region_info(VFIO_PCI_BAR2_REGION_INDEX, "BAR2");
		bar4 = region_info(VFIO_PCI_BAR4_REGION_INDEX, "BAR4");
		result(1, "vfio-open",
		       "%s: group %d, TYPE1v2, %u regions: BAR0 %llu KiB, BAR2 %llu MiB%s, BAR4 "
		       "%llu KiB",
		       bdf, gid, di.num_regions, (unsigned long long)bar0.size >> 10,
		       (unsigned long long)bar2.size >> 20,
		       bar2.flags & VFIO_REGION_INFO_FLAG_MMAP ? " (mmap)" : "",
		       (unsigned long long)bar4.size >> 10);
	}

	/* --- DMA memory: one hugepage at IOVA_BASE --------------------------------------- */
	mem = mmap(NULL, HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB,
		   -1, 0);
	if (mem == MAP_FAILED)
		FAIL("vfio-map", "mmap of a 2 MiB MAP_HUGETLB page: %s (nr_hugepages?)",
		     strerror(errno));
	memset(mem, 0, HUGE);
	{
		struct vfio_iommu_type1_dma_map dm = {
			.argsz = sizeof(dm),
			.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
			.vaddr = (uintptr_t)mem,
			.iova = IOVA_BASE,
			.size = HUGE,
		};

		if (ioctl(container, VFIO_IOMMU_MAP_DMA, &dm))
			FAIL("vfio-map", "VFIO_IOMMU_MAP_DMA of 2 MiB at IOVA 0x%llx: %s",
			     (unsigned long long)IOVA_BASE, strerror(errno));
		result(1, "vfio-map", "a 2 MiB hugepage mapped at IOVA 0x%llx",
		       (unsigned long long)IOVA_BASE);
	}

	/* PCI 3.0 6.2.2 Command register: Memory Space (bit 1), Bus Master (bit 2), Interrupt
	 * Disable (bit 10): we poll, and no INTx should be raised with no handler for it */
	cmd16 = cfg_rd16(0x04);
	cfg_wr16(0x04, cmd16 | (1u << 1) | (1u << 2) | (1u << 10));
	if (!(cfg_rd16(0x04) & (1u << 2)))
		FAIL("vfio-enable", "%s: Bus Master Enable does not stick (command 0x%x)", bdf,
		     cfg_rd16(0x04));

	/* --- 7.6.1 controller initialisation -------------------------------------------- */
	cap = rd64(&bar0, REG_CAP);
	/* 3.1.1 CAP: TO bits 31:24 (500 ms units), DSTRD 35:32, CSS 44:37 (bit 37 NVM),
	 * MPSMIN 51:48, CMBS bit 57, PMRS bit 56 */
	to_ms = (uint32_t)((cap >> 24) & 0xff) * 500 + 1000;
	dstrd = (uint32_t)(cap >> 32) & 0xf;
	if (!((cap >> 37) & 1) || ((cap >> 48) & 0xf) != 0)
		FAIL("vfio-enable", "%s: CAP 0x%llx: no NVM command set or MPSMIN > 4 KiB", bdf,
		     (unsigned long long)cap);
	/* 3.1.5: CC.EN 1 -> 0 resets the controller; wait for CSTS.RDY = 0 (3.1.6) */
	wr32(&bar0, REG_CC, rd32(&bar0, REG_CC) & ~1u);
	if (wait_csts(1, 0, to_ms / 1000.0, &csts))
		FAIL("vfio-enable", "%s: CSTS.RDY still 1 %u ms after CC.EN = 0 (CSTS 0x%x)", bdf,
		     to_ms, csts);
	/* 3.1.8 AQA: ACQS 27:16, ASQS 11:0, both 0-based; 3.1.9/3.1.10 ASQ/ACQ: page-aligned
	 * IOVAs */
	wr32(&bar0, REG_AQA, (QDEPTH - 1) << 16 | (QDEPTH - 1));
	wr64(&bar0, REG_ASQ, IOVA_BASE + OFF_ASQ);
	wr64(&bar0, REG_ACQ, IOVA_BASE + OFF_ACQ);
	/* 3.1.5 CC: IOCQES 23:20 = 4 (16 bytes), IOSQES 19:16 = 6 (64 bytes), AMS 13:11 = 0,
	 * MPS 10:7 = 0 (4 KiB), CSS 6:4 = 0 (NVM), EN bit 0 */
	wr32(&bar0, REG_CC, 4u << 20 | 6u << 16 | 1);
	if (wait_csts(3, 1, to_ms / 1000.0, &csts)) {
		diag();
		FAIL("vfio-enable", "%s: CSTS 0x%x %u ms after CC.EN = 1 (RDY bit 0, CFS bit 1)",
		     bdf, csts, to_ms);
	}
	result(1, "vfio-enable", "%s: CAP 0x%llx VS 0x%x, admin queues at IOVA 0x%llx, CSTS 0x%x",
	       bdf, (unsigned long long)cap, rd32(&bar0, REG_VS), (unsigned long long)IOVA_BASE,
	       csts);

	/* --- 5.15 Identify: CNS 01h (controller), then CNS 00h namespace 1 ------------------ */
	memset(&c, 0, sizeof(c));
	c.opc = 0x06;
	c.prp1 = IOVA_BASE + OFF_ID;
	c.cdw10 = 1;
	st = admin(&c, NULL, "Identify Controller");
	if (st)
		FAIL("vfio-identify", "%s: Identify Controller status 0x%x", bdf, st);
	/* Figure 247: VID bytes 1:0, SN 23:4, MN 63:24 */
	memcpy(&vid, mem + OFF_ID, 2);
	ascii(sn, mem + OFF_ID + 4, 20);
	ascii(mn, mem + OFF_ID + 24, 40);
	if ((want_vid && vid != want_vid) || !sn[0])
		FAIL("vfio-identify", "%s: VID 0x%04x (expected 0x%04lx), serial '%s'", bdf, vid,
		     want_vid, sn);
	result(1, "vfio-identify", "%s: VID 0x%04x SN '%s' MN '%s', DMA'd to IOVA 0x%llx", bdf, vid,
	       sn, mn, (unsigned long long)(IOVA_BASE + OFF_ID));
	memset(mem + OFF_ID, 0, 4096);
	c = (struct sqe){.opc = 0x06, .nsid = 1, .prp1 = IOVA_BASE + OFF_ID, .cdw10 = 0};
	st = admin(&c, NULL, "Identify Namespace");
	if (st)
		FAIL("vfio-identify", "%s: Identify Namespace 1 status 0x%x", bdf, st);
	/* Figure 245: FLBAS byte 26 bits 3:0 select the LBA Format at 128 + 4n, whose LBADS is
	 * bits 23:16 (a power of two) */
	{
		uint8_t flbas = mem[OFF_ID + 26];
		uint32_t lbaf;

		memcpy(&lbaf, mem + OFF_ID + 128 + 4 * (flbas & 0xf), 4);
		lbads = (lbaf >> 16) & 0xff;
		if (lbads < 9 || lbads > 12 || (lbaf & 0xffff))
			FAIL("vfio-identify",
			     "%s: namespace 1 LBA format 0x%x: want 512..4096-byte blocks without "
			     "metadata",
			     bdf, lbaf);
	}

	/* --- 5.21.1.7 Set Features Number of Queues: one SQ, one CQ (0-based) ------------- */
	c = (struct sqe){.opc = 0x09, .cdw10 = 0x07, .cdw11 = 0};
	st = admin(&c, &v, "Set Features (Number of Queues)");
	if (st)
		FAIL("vfio-cmb-io", "%s: Set Features Number of Queues status 0x%x", bdf, st);

	/* --- the CMB (3.1.12, 3.1.13, 3.1.16, 3.1.17) ------------------------------------- */
	/* 3.1.1: CAP.CMBS (bit 57) says CMBMSC exists; CMBLOC and CMBSZ read 0 until
	 * CMBMSC.CRE (bit 0) is set (3.1.16) */
	if (!((cap >> 57) & 1))
		FAIL("vfio-cmb", "%s: CAP.CMBS is 0: no CMB", bdf);
	wr32(&bar0, REG_CMBMSC, 1);
	cmbloc = rd32(&bar0, REG_CMBLOC);
	cmbsz = rd32(&bar0, REG_CMBSZ);
	/* 3.1.13 CMBSZ: SZ 31:12 in units of 4 KiB << (4 * SZU) (SZU 11:8); SQS bit 0.
	 * 3.1.12 CMBLOC: OFST 31:12 (in SZU units), BIR 2:0 */
	szu = (cmbsz >> 8) & 0xf;
	cmbsz_bytes = (uint64_t)(cmbsz >> 12) << (12 + 4 * szu);
	if (!(cmbsz & 1) || (cmbloc & 7) != 2 || (cmbloc >> 12) != 0 || szu > 6 ||
	    cmbsz_bytes < CMB_SQ_OFF + QDEPTH * 64 || cmbsz_bytes > bar2.size)
		FAIL("vfio-cmb",
		     "%s: CMBLOC 0x%x CMBSZ 0x%x: want SQS, BIR 2, offset 0, at least 1 MiB within "
		     "BAR2 (%llu bytes)",
		     bdf, cmbloc, cmbsz, (unsigned long long)bar2.size);
	/* The controller's own address of the CMB is the BAR's bus address (PCI 3.0 6.2.5.1:
	 * BAR2 at config 18h, 64-bit memory BAR, upper half at 1Ch); vfio-pci shows the real
	 * one in its virtual config space */
	{
		uint32_t lo, hi;

		if (pread(dev_fd, &lo, 4, (off_t)(cfg.off + 0x18)) != 4 ||
		    pread(dev_fd, &hi, 4, (off_t)(cfg.off + 0x1c)) != 4)
			FAIL("vfio-cmb", "%s: config read of BAR2: %s", bdf, strerror(errno));
		bar2_addr = ((uint64_t)hi << 32 | lo) & ~0xfULL;
		if ((lo & 6) != 4)
			bar2_addr = lo & ~0xfULL; /* 32-bit BAR */
	}
	/* 3.1.16 (NVMe 1.4): CMBMSC.CBA bits 63:12 = the address the host uses for the CMB in
	 * queue and data pointers; CMSE (bit 1) enables those references. CMBSTS.CBAI (bit 0,
	 * 3.1.17) reports an invalid CBA. */
	wr32(&bar0, REG_CMBMSC + 4, (uint32_t)(bar2_addr >> 32));
	wr32(&bar0, REG_CMBMSC, (uint32_t)bar2_addr | 3);
	if (rd32(&bar0, REG_CMBSTS) & 1)
		FAIL("vfio-cmb", "%s: CMBSTS.CBAI after CBA 0x%llx", bdf,
		     (unsigned long long)bar2_addr);
	if (!(bar2.flags & VFIO_REGION_INFO_FLAG_MMAP))
		FAIL("vfio-cmb", "%s: vfio-pci does not offer BAR2 for mmap", bdf);
	cmb = mmap(NULL, (size_t)cmbsz_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, dev_fd,
		   (off_t)bar2.off);
	if (cmb == MAP_FAILED)
		FAIL("vfio-cmb", "%s: mmap of the BAR2 region: %s", bdf, strerror(errno));

	/* 5.3 Create I/O Completion Queue 1 in the hugepage: CDW10 QSIZE 31:16 (0-based) |
	 * QID; CDW11 IV 31:16, IEN bit 1 = 0 (polled), PC bit 0 */
	c = (struct sqe){.opc = 0x05,
			 .prp1 = IOVA_BASE + OFF_IOCQ,
			 .cdw10 = (QDEPTH - 1) << 16 | 1,
			 .cdw11 = 1};
	st = admin(&c, NULL, "Create I/O CQ");
	if (st)
		FAIL("vfio-cmb-io", "%s: Create I/O CQ 1 at IOVA 0x%llx: status 0x%x", bdf,
		     (unsigned long long)(IOVA_BASE + OFF_IOCQ), st);
	/* 5.4 Create I/O Submission Queue 1 in the CMB: PRP1 = CBA + offset (4.7: a queue in
	 * the CMB is addressed inside CBA's range); CDW11 CQID 31:16, QPRIO 2:1, PC bit 0 */
	c = (struct sqe){.opc = 0x01,
			 .prp1 = bar2_addr + CMB_SQ_OFF,
			 .cdw10 = (QDEPTH - 1) << 16 | 1,
			 .cdw11 = 1u << 16 | 1};
	st = admin(&c, NULL, "Create I/O SQ");
	if (st)
		FAIL("vfio-cmb-io", "%s: Create I/O SQ 1 in the CMB at 0x%llx: status 0x%x", bdf,
		     (unsigned long long)(bar2_addr + CMB_SQ_OFF), st);

	/* --- 6.15 Write and 6.9 Read (NVM command set): 4 KiB, 1 MiB in ------------ */
	{
		uint32_t bs = 1u << lbads, nlb = 4096 / bs;
		uint64_t slba = (1ULL << 20) / bs; /* 1 MiB into the namespace */
		uint32_t seed = (uint32_t)time(NULL) ^ (uint32_t)getpid();

		fill(mem + OFF_WBUF, 4096, seed);
		memset(mem + OFF_RBUF, 0xa5, 4096);
		/* CDW10/11 SLBA, CDW12 NLB 15:0 (0-based); PRP1 alone covers one aligned page */
		c = (struct sqe){.opc = 0x01,
				 .nsid = 1,
				 .prp1 = IOVA_BASE + OFF_WBUF,
				 .cdw10 = (uint32_t)slba,
				 .cdw11 = (uint32_t)(slba >> 32),
				 .cdw12 = nlb - 1};
		st = io(&c, "Write");
		if (st)
			FAIL("vfio-cmb-io", "%s: Write of LBA %llu: status 0x%x", bdf,
			     (unsigned long long)slba, st);
		c = (struct sqe){.opc = 0x02,
				 .nsid = 1,
				 .prp1 = IOVA_BASE + OFF_RBUF,
				 .cdw10 = (uint32_t)slba,
				 .cdw11 = (uint32_t)(slba >> 32),
				 .cdw12 = nlb - 1};
		st = io(&c, "Read");
		if (st)
			FAIL("vfio-cmb-io", "%s: Read of LBA %llu: status 0x%x", bdf,
			     (unsigned long long)slba, st);
		if (memcmp(mem + OFF_WBUF, mem + OFF_RBUF, 4096)) {
			unsigned i = 0;

			while (mem[OFF_WBUF + i] == mem[OFF_RBUF + i])
				i++;
			FAIL("vfio-cmb-io",
			     "%s: LBA %llu read back differs at byte %u (0x%02x, wrote 0x%02x)",
			     bdf, (unsigned long long)slba, i, mem[OFF_RBUF + i],
			     mem[OFF_WBUF + i]);
		}
		result(1, "vfio-cmb-io",
		       "%s: SQ 1 in the CMB at 0x%llx (CBA 0x%llx, CMBSZ 0x%x), CQ 1 at IOVA "
		       "0x%llx: 4 KiB (%u x %u bytes) written at LBA %llu and read back equal",
		       bdf, (unsigned long long)(bar2_addr + CMB_SQ_OFF),
		       (unsigned long long)bar2_addr, cmbsz,
		       (unsigned long long)(IOVA_BASE + OFF_IOCQ), nlb, bs,
		       (unsigned long long)slba);
	}

	/* --- the PMR (3.1.18 .. 3.1.24 of NVMe 1.4) -------------------------------------- */
	/* CAP.PMRS bit 56; PMRCAP BIR 7:5 (3.1.18); PMRCTL.EN bit 0 (3.1.19); PMRSTS.NRDY
	 * bit 8, HSTS 11:9, ERR 7:0 (3.1.20); PMRCAP.PMRTO 23:16 in PMRTU units (PMRTU 9:8:
	 * 0 = 500 ms, 1 = minutes) is how long NRDY may take to clear */
	if (!((cap >> 56) & 1)) {
		result(1, "vfio-pmr", "%s: CAP.PMRS is 0: no PMR, nothing to check", bdf);
	} else {
		uint32_t pmrcap = rd32(&bar0, REG_PMRCAP), pmrctl, pmrsts = 0;
		unsigned bir = (pmrcap >> 5) & 7;
		double to = ((pmrcap >> 8) & 3) ? 60.0 * ((pmrcap >> 16) & 0xff)
						: 0.5 * ((pmrcap >> 16) & 0xff);
		double end;
		uint8_t *pat, *back;

		if (bir != 4)
			FAIL("vfio-pmr", "%s: PMRCAP 0x%x names BAR%u, this test reads BAR4", bdf,
			     pmrcap, bir);
		pmr_size = bar4.size;
		wr32(&bar0, REG_PMRCTL, 1);
		end = now() + to + 1;
		while (((pmrsts = rd32(&bar0, REG_PMRSTS)) & 0x100) && now() < end)
			usleep(1000);
		pmrctl = rd32(&bar0, REG_PMRCTL);
		if ((pmrsts & 0x100) || (pmrsts & 0xeff) || !(pmrctl & 1))
			FAIL("vfio-pmr",
			     "%s: PMRCTL 0x%x PMRSTS 0x%x after EN = 1 (NRDY bit 8, HSTS 11:9, ERR "
			     "7:0)",
			     bdf, pmrctl, pmrsts);
		if (pmr_size < PMR_PAT_OFF + PMR_PAT_LEN)
			FAIL("vfio-pmr", "%s: BAR4 is only %llu bytes", bdf,
			     (unsigned long long)pmr_size);
		pat = malloc(PMR_PAT_LEN);
		back = malloc(PMR_PAT_LEN);
		if (!pat || !back)
			FAIL("vfio-pmr", "out of memory");
		fill(pat, PMR_PAT_LEN, (uint32_t)time(NULL) * 31u);
		if (pwrite(dev_fd, pat, PMR_PAT_LEN, (off_t)(bar4.off + PMR_PAT_OFF)) !=
			    PMR_PAT_LEN ||
		    pread(dev_fd, back, PMR_PAT_LEN, (off_t)(bar4.off + PMR_PAT_OFF)) !=
			    PMR_PAT_LEN)
			FAIL("vfio-pmr", "%s: pwrite/pread of the BAR4 region: %s", bdf,
			     strerror(errno));
		if (memcmp(pat, back, PMR_PAT_LEN))
			FAIL("vfio-pmr",
			     "%s: 4 KiB written at PMR offset 0x%llx read back different", bdf,
			     (unsigned long long)PMR_PAT_OFF);
		if (tag) {
			size_t len = strlen(tag);
			char *got = calloc(1, len + 1);

			if (!got || pread(dev_fd, got, len, (off_t)bar4.off) != (ssize_t)len ||
			    memcmp(got, tag, len))
				FAIL("vfio-pmr",
				     "%s: PMR offset 0 holds '%.*s', not the tag '%s' stored "
				     "through the nvme driver's BAR",
				     bdf, (int)len, got ? got : "", tag);
			free(got);
		}
		result(1, "vfio-pmr",
		       "%s: PMRCAP 0x%x PMRCTL 0x%x PMRSTS 0x%x: 4 KiB at offset 0x%llx of the "
		       "BAR4 region (%llu KiB) read back equal%s%s",
		       bdf, pmrcap, pmrctl, pmrsts, (unsigned long long)PMR_PAT_OFF,
		       (unsigned long long)pmr_size >> 10, tag ? ", offset 0 still holds " : "",
		       tag ? tag : "");
		free(pat);
		free(back);
	}

	/* 7.6.2: a normal shutdown (CC.SHN 15:14 = 01b, CSTS.SHST 3:2 = 10b when done), so
	 * the controller is quiet before vfio-pci is released */
	wr32(&bar0, REG_CC, rd32(&bar0, REG_CC) | 1u << 14);
	if (wait_csts(0xc, 0x8, 10, &csts))
		result(0, "vfio-shutdown", "%s: CSTS 0x%x 10 s after CC.SHN = 1", bdf, csts);
	cfg_wr16(0x04, cmd16 & ~(1u << 2));
	return failed;
}
