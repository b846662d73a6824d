/* SPDX-License-Identifier: MIT */
/* NVMe Persistent Memory Region: registers (1.4 3.1.18-3.1.23), the file, persistence, BAR4. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "devices/nvme/internal.h"
#include "devices/nvme/pmr.h"
#include "tests/unit/test_nvme_rig.h"

#define TMPFS_MAGIC 0x01021994

static char dir[4096], path[4200];

static void mkpath(void)
{
	const char *build = getenv("VMM_BUILD");

	/* Beside the build, not /tmp: /tmp may be tmpfs, where msync writes nothing back. */
	snprintf(dir, sizeof(dir), "%s/test-pmr.XXXXXX", build ? build : "build");
	if (!mkdtemp(dir)) {
		snprintf(dir, sizeof(dir), "/tmp/test-pmr.XXXXXX");
		cr_assert(mkdtemp(dir));
	}
	snprintf(path, sizeof(path), "%s/pmr", dir);
}

static void rmpath(void)
{
	unlink(path);
	rmdir(dir);
}

TestSuite(nvme_pmr, .init = mkpath, .fini = rmpath);

static void pmr_config(struct nvme_ctrl_config *cfg, struct nvme_ns_config *ns, uint64_t size)
{
	tn_config(cfg, ns, 1);
	cfg->pmr_path = path;
	cfg->pmr_size = size;
}

static void pmr_create(struct tnvme *t, uint64_t size)
{
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[1];

	pmr_config(&cfg, ns, size);
	tn_create(t, &cfg);
}

static void file_read(uint64_t off, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY);

	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static uint8_t file_byte(uint64_t off)
{
	uint8_t b;

	file_read(off, &b, 1);
	return b;
}

static uint8_t *pmr_ram(struct tnvme *t)
{
	uint64_t size;

	return nvme_pmr_ram(t->c, &size);
}

static void pmr_enable(struct tnvme *t)
{
	tn_wr32(t, NVME_REG_PMRCTL, NVME_PMRCTL_EN);
	cr_assert_eq(tn_rd32(t, NVME_REG_PMRSTS) & NVME_PMRSTS_NRDY, 0);
}

Test(nvme_pmr, capabilities_and_initial_status)
{
	struct tnvme t;
	uint32_t cap;
	struct stat st;

	pmr_create(&t, MiB(16));
	cr_assert(nvme_bar0_read(t.c, NVME_REG_CAP, 8) & NVME_CAP_PMRS);
	cap = tn_rd32(&t, NVME_REG_PMRCAP);
	cr_assert(cap & NVME_PMRCAP_RDS);
	cr_assert(cap & NVME_PMRCAP_WDS);
	cr_assert_eq((cap >> 5) & 7, 4, "BIR");
	cr_assert_eq((cap >> 8) & 3, 0, "PMRTU: 500 ms");
	cr_assert_eq((cap >> 10) & 0xf, 2, "PMRWBM: PMRSTS read");
	cr_assert_eq((cap >> 16) & 0xff, 2, "PMRTO");
	cr_assert(cap & NVME_PMRCAP_CMSS);
	cr_assert_eq(tn_rd32(&t, NVME_REG_PMRCTL), 0);
	cr_assert_eq(tn_rd32(&t, NVME_REG_PMRSTS), NVME_PMRSTS_NRDY, "disabled: not ready");
	cr_assert_eq(tn_rd32(&t, NVME_REG_PMREBS), 2u | NVME_PMREBS_RBB | 16u << 8, "16 MiB");
	cr_assert_eq(tn_rd32(&t, NVME_REG_PMRSWTP), 3u | 1u << 8, "1 GiB/s");
	cr_assert_eq(tn_rd32(&t, NVME_REG_PMRMSCL), 0);
	cr_assert_eq(tn_rd32(&t, NVME_REG_PMRMSCU), 0);
	/* Read-only registers ignore writes. */
	tn_wr32(&t, NVME_REG_PMRCAP, 0);
	tn_wr32(&t, NVME_REG_PMRSTS, 0);
	cr_assert_eq(tn_rd32(&t, NVME_REG_PMRCAP), cap);
	cr_assert_eq(tn_rd32(&t, NVME_REG_PMRSTS), NVME_PMRSTS_NRDY);
	/* The file was created with the size. */
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_size, MiB(16));
	tn_destroy(&t);
}

Test(nvme_pmr, no_pmr_by_default)
{
	struct tnvme t;
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[1];
	uint64_t size;

	tn_config(&cfg, ns, 1);
	tn_create(&t, &cfg);
	cr_assert_eq(nvme_bar0_read(t.c, NVME_REG_CAP, 8) & NVME_CAP_PMRS, 0);
	tn_wr32(&t, NVME_REG_PMRCTL, 1);
	cr_assert_eq(tn_rd32(&t, NVME_REG_PMRCAP), 0);
	cr_assert_eq(tn_rd32(&t, NVME_REG_PMRSTS), 0);
	cr_assert_eq(tn_rd32(&t, NVME_REG_PMRCTL), 0);
	cr_assert_null(nvme_pmr_ram(t.c, &size));
	tn_destroy(&t);
}

Test(nvme_pmr, writes_reach_the_file_only_while_enabled)
{
	struct tnvme t;
	uint8_t *ram;

	pmr_create(&t, KiB(64));
	ram = pmr_ram(&t);
	ram[100] = 0x11; /* disabled: scratch */
	cr_assert_eq(file_byte(100), 0);
	pmr_enable(&t);
	cr_assert_eq(pmr_ram(&t), ram, "the BAR's host address does not move");
	cr_assert_eq(ram[100], 0, "the file's contents, not the scratch store");
	ram[100] = 0x22;
	memset(ram + KiB(60), 0x33, KiB(4));
	cr_assert_eq(file_byte(100), 0x22);
	cr_assert_eq(file_byte(KiB(64) - 1), 0x33);
	/* Disable: flushed, then scratch again; a store now is lost, the file keeps 0x22. */
	tn_wr32(&t, NVME_REG_PMRCTL, 0);
	cr_assert_eq(tn_rd32(&t, NVME_REG_PMRSTS) & NVME_PMRSTS_NRDY, NVME_PMRSTS_NRDY);
	cr_assert_eq(tn_rd32(&t, NVME_REG_PMRCTL), 0);
	ram[100] = 0x44;
	cr_assert_eq(file_byte(100), 0x22);
	pmr_enable(&t);
	cr_assert_eq(ram[100], 0x22);
	tn_destroy(&t);
}

/* Dirty pages of the mapping at `p`, from /proc/self/smaps (kB). */
static long dirty_kb(const void *p)
{
	char line[256];
	FILE *f = fopen("/proc/self/smaps", "r");
	bool in = false;
	long kb = 0, v;

	cr_assert(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 &&
		    strchr(line, '-') < strchr(line, ' '))
			in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
		else if (in && (sscanf(line, "Shared_Dirty: %ld", &v) == 1 ||
				sscanf(line, "Private_Dirty: %ld", &v) == 1))
			kb += v;
	}
	fclose(f);
	return kb;
}

Test(nvme_pmr, pmrsts_read_is_a_persistence_point)
{
	struct tnvme t;
	struct statfs fs;
	uint8_t *ram;
	uint64_t before;

	pmr_create(&t, MiB(4));
	ram = pmr_ram(&t);
	pmr_enable(&t);
	before = t.c->pmr->persists;
	memset(ram + MiB(1), 0x77, 2 * 4096);
	cr_assert_eq(statfs(dir, &fs), 0);
	if (fs.f_type != TMPFS_MAGIC)
		cr_assert_geq(dirty_kb(ram), 8, "two pages dirty in the page cache");
	(void)tn_rd32(&t, NVME_REG_PMRSTS);
	cr_assert_eq(t.c->pmr->persists, before + 1);
	if (fs.f_type != TMPFS_MAGIC)
		cr_assert_eq(dirty_kb(ram), 0, "written back by the PMRSTS read");
	/* Other registers are not persistence points. */
	(void)tn_rd32(&t, NVME_REG_PMRCAP);
	(void)tn_rd32(&t, NVME_REG_PMRCTL);
	cr_assert_eq(t.c->pmr->persists, before + 1);
	tn_destroy(&t);
}

Test(nvme_pmr, reset_and_shutdown_persist_and_keep_the_pmr_enabled)
{
	struct tnvme t;
	uint8_t *ram;
	uint64_t n;

	pmr_create(&t, KiB(16));
	ram = pmr_ram(&t);
	tn_enable_linux(&t, 32);
	pmr_enable(&t);
	ram[5] = 0xab;
	n = t.c->pmr->persists;
	tn_wr32(&t, NVME_REG_CC, tn_rd32(&t, NVME_REG_CC) | 1u << 14); /* CC.SHN normal */
	cr_assert_eq(t.c->pmr->persists, n + 1);
	tn_wr32(&t, NVME_REG_CC, 0); /* controller reset */
	cr_assert_eq(t.c->pmr->persists, n + 2);
	cr_assert_eq(tn_rd32(&t, NVME_REG_PMRCTL), NVME_PMRCTL_EN);
	cr_assert_eq(tn_rd32(&t, NVME_REG_PMRSTS), 0);
	cr_assert_eq(ram[5], 0xab);
	cr_assert_eq(file_byte(5), 0xab);
	tn_destroy(&t);
}

Test(nvme_pmr, data_survives_destroy_and_recreate)
{
	struct tnvme t;
	uint8_t *ram;

	pmr_create(&t, MiB(1));
	pmr_enable(&t);
	ram = pmr_ram(&t);
	for (int i = 0; i < 4096; i++)
		ram[MiB(1) - 4096 + i] = (uint8_t)(i * 13);
	tn_destroy(&t); /* vmm exit: a persistence point */

	/* A restart with pmr_size 0 takes the file's size. */
	pmr_create(&t, 0);
	cr_assert_eq(tn_rd32(&t, NVME_REG_PMREBS), 2u | NVME_PMREBS_RBB | 1u << 8);
	pmr_enable(&t);
	ram = pmr_ram(&t);
	for (int i = 0; i < 4096; i++)
		cr_assert_eq(ram[MiB(1) - 4096 + i], (uint8_t)(i * 13));
	tn_destroy(&t);
}

static void expect_create_error(const struct nvme_ctrl_config *cfg, const char *what)
{
	struct nvme_host host = {0};
	char err[256] = "";

	cr_assert_null(nvme_ctrl_create(cfg, &host, err, sizeof(err)), "expected: %s", what);
	cr_assert(strstr(err, what), "'%s' not in: %s", what, err);
}

Test(nvme_pmr, config_errors)
{
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[1];
	struct tnvme t;
	int fd;

	pmr_config(&cfg, ns, KiB(12));
	expect_create_error(&cfg, "power of two");
	pmr_config(&cfg, ns, 2048);
	expect_create_error(&cfg, "power of two");
	pmr_config(&cfg, ns, GiB(128));
	expect_create_error(&cfg, "power of two");
	pmr_config(&cfg, ns, 0); /* no size and no file to take it from */
	expect_create_error(&cfg, "set pmr_size");
	cr_assert_neq(access(path, F_OK), 0, "nothing created");
	cfg.pmr_path = NULL;
	cfg.pmr_size = MiB(1);
	expect_create_error(&cfg, "without a pmr file");
	pmr_config(&cfg, ns, MiB(1));
	cfg.pmr_path = "/nonexistent-dir/pmr";
	expect_create_error(&cfg, "/nonexistent-dir/pmr");

	/* An existing file of another size is neither truncated nor extended. */
	fd = open(path, O_RDWR | O_CREAT, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, 12345), 0);
	close(fd);
	pmr_config(&cfg, ns, MiB(1));
	expect_create_error(&cfg, "refusing to truncate");
	pmr_config(&cfg, ns, 0);
	expect_create_error(&cfg, "power of two");
	cr_assert_eq(unlink(path), 0);

	/* A second controller (another vmm) cannot take a PMR file in use. */
	pmr_create(&t, MiB(1));
	pmr_config(&cfg, ns, MiB(1));
	expect_create_error(&cfg, "in use");
	tn_destroy(&t);
}

Test(nvme_pmr, enable_fails_cleanly_when_the_file_shrank)
{
	struct tnvme t;
	uint32_t sts;

	pmr_create(&t, MiB(1));
	cr_assert_eq(truncate(path, 4096), 0);
	tn_wr32(&t, NVME_REG_PMRCTL, NVME_PMRCTL_EN);
	sts = tn_rd32(&t, NVME_REG_PMRSTS);
	cr_assert(sts & NVME_PMRSTS_NRDY);
	cr_assert_eq(sts & 0xff, 1, "ERR");
	cr_assert_eq((sts >> 9) & 7, NVME_PMR_HSTS_RESTORE_ERR);
	cr_assert_null(nvme_ctrl_mem_map(t.c, 0, 1));
	tn_destroy(&t);
}

/* ---- through the PCI glue: BAR4, the PMR as controller memory space ---- */

Test(nvme_pmr, bar4_maps_the_pmr_and_reads_land_in_the_file)
{
	static struct rig r;
	struct nvme_ctrl_config cfg[2];
	struct nvme_ns_config ns[2][1];
	uint64_t bar, size, src;
	uint8_t *ram;
	struct tnvme *t;
	struct fake_map *m;

	pmr_config(&cfg[0], ns[0], MiB(2));
	tn_config(&cfg[1], ns[1], 1);
	rig_init(&r, &cfg[0], &cfg[1]);
	t = &r.t[0];
	bar = rig_bar(&r, 0, 4);
	ram = nvme_pmr_ram(t->c, &size);
	cr_assert_neq(bar, ~0ULL);
	cr_assert_eq(bar % MiB(2), 0);
	m = fake_find(&r.host, BUS_MMIO, bar);
	cr_assert(m && m->ram && m->hva == ram && m->size == MiB(2));
	cr_assert_eq(pci_get32(&r.n[0]->pci, PCI_BASE_ADDRESS_0 + 16) & 0xf,
		     PCI_BASE_ADDRESS_MEM_TYPE_64 | PCI_BASE_ADDRESS_MEM_PREFETCH);

	/* SPDK: PMRMSCU, then PMRMSCL with CMSE; then enable. */
	tn_wr32(t, NVME_REG_PMRMSCU, (uint32_t)(bar >> 32));
	tn_wr32(t, NVME_REG_PMRMSCL, (uint32_t)bar | NVME_PMRMSCL_CMSE);
	cr_assert_eq(tn_rd32(t, NVME_REG_PMRSTS) & NVME_PMRSTS_CBAI, 0);
	pmr_enable(t);
	/* A CPU store through BAR4 reaches the file. */
	fake_write(&r.host, BUS_MMIO, bar + 8, 0x0123456789abcdefULL, 8);
	cr_assert_eq(file_byte(8), 0xef);

	/* Read command data into the PMR (RDS): it lands in the file. */
	rig_start(&r, 0);
	src = tn_alloc(t, 8192, 4096);
	memset(tn_ptr(t, src), 0x6d, 8192);
	cr_assert_eq(rig_rw(t, NVME_CMD_WRITE, 0, 16, src), 0);
	cr_assert_eq(rig_rw(t, NVME_CMD_READ, 0, 16, bar + MiB(1)), 0);
	(void)tn_rd32(t, NVME_REG_PMRSTS);
	cr_assert_eq(file_byte(MiB(1)), 0x6d);
	cr_assert_eq(file_byte(MiB(1) + 8191), 0x6d);

	/* An invalid CBA (not aligned to the PMR size) sets CBAI and turns the space off. */
	tn_wr32(t, NVME_REG_PMRMSCL, (uint32_t)(bar + MiB(1)) | NVME_PMRMSCL_CMSE);
	cr_assert(tn_rd32(t, NVME_REG_PMRSTS) & NVME_PMRSTS_CBAI);
	cr_assert_neq(rig_rw(t, NVME_CMD_READ, 0, 16, bar + MiB(1)), 0);
	tn_wr32(t, NVME_REG_PMRMSCL, (uint32_t)bar | NVME_PMRMSCL_CMSE);
	cr_assert_eq(tn_rd32(t, NVME_REG_PMRSTS) & NVME_PMRSTS_CBAI, 0);
	cr_assert_eq(rig_rw(t, NVME_CMD_READ, 0, 16, bar + MiB(1)), 0);
	/* Disabled PMR: not a DMA target. */
	tn_wr32(t, NVME_REG_PMRCTL, 0);
	cr_assert_neq(rig_rw(t, NVME_CMD_READ, 0, 16, bar + MiB(1)), 0);
	rig_fini(&r);
}
