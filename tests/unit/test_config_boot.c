/* SPDX-License-Identifier: MIT */
/*
 * config_check_boot: the kernel, initrd and command line a configuration names, judged by
 * the loaders' own plan before any VM exists, each problem at its key.
 */
#include <criterion/criterion.h>

#include "vmm/config/config.h"
#include "vmm/util.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[64];

static void write_file(const char *name, const void *data, size_t len, off_t size)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	cr_assert_not_null(f, "cannot create %s", path);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
	if (size)
		cr_assert_eq(truncate(path, size), 0);
}

static void put16(uint8_t *b, size_t off, uint16_t v)
{
	memcpy(b + off, &v, 2);
}

static void put32(uint8_t *b, size_t off, uint32_t v)
{
	memcpy(b + off, &v, 4);
}

/* A protocol 2.15 relocatable 64-bit bzImage header (as tests/unit/test_boot.c builds). */
static void write_bzimage(const char *name)
{
	static uint8_t b[1024 + 4096];

	b[0x1f1] = 1; /* setup_sects */
	put16(b, 0x1fe, 0xaa55);
	b[0x200] = 0xeb;
	b[0x201] = 0x6a;
	memcpy(b + 0x202, "HdrS", 4);
	put16(b, 0x206, 0x020f);
	b[0x211] = 0x01;	     /* LOADED_HIGH */
	put32(b, 0x22c, 0x7fffffff); /* initrd_addr_max */
	put32(b, 0x230, 0x200000);   /* kernel_alignment */
	b[0x234] = 1;		     /* relocatable */
	put16(b, 0x236, 0x0003);     /* XLF_KERNEL_64 */
	put32(b, 0x238, 2047);	     /* cmdline_size */
	put32(b, 0x258, 0x1000000);  /* pref_address: 16 MiB */
	put32(b, 0x260, 0x800000);   /* init_size: up to 24 MiB */
	write_file(name, b, sizeof(b), 0);
}

static void setup(void)
{
	static uint8_t mbr[512];

	strcpy(tmpdir, "/tmp/vmm-config-boot-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
	mbr[510] = 0x55;
	mbr[511] = 0xaa;
	write_file("disk.img", mbr, sizeof(mbr), MiB(16));
	write_bzimage("bzImage");
	write_file("initrd.img", "initrd", 6, 0);
	write_file("empty.img", "", 0, 0);
	write_file("huge-initrd.img", "", 0, MiB(240)); /* sparse: nothing is read */
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void teardown(void)
{
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(config_boot, .init = setup, .fini = teardown);

/* Loads `text` (which must be a valid model) and returns config_check_boot's errors. */
static char *check_boot(const char *text, struct machine_config *cfg, int *ret)
{
	char *errors = NULL;

	cr_assert_eq(config_load_string(text, "x.toml", tmpdir, cfg, &errors), 0, "%s", errors);
	*ret = config_check_boot(cfg, &errors);
	if (*ret == 0)
		cr_assert_null(errors);
	return errors;
}

/* The whole error text, with "%s" standing for the canonical path of tmpdir. */
static void check_boot_fails_with(const char *text, const char *want_fmt)
{
	struct machine_config cfg;
	char want[1024], *real = realpath(tmpdir, NULL);
	int ret;
	char *errors = check_boot(text, &cfg, &ret);

	cr_assert_not_null(real);
	snprintf(want, sizeof(want), want_fmt, real);
	cr_assert_eq(ret, -EINVAL);
	cr_assert_str_eq(errors, want);
	free(errors);
	free(real);
	config_free(&cfg);
}

Test(config_boot, a_disk_image_as_kernel_is_refused_at_its_key)
{
	check_boot_fails_with("[machine]\nkernel = \"disk.img\"\n",
			      "x.toml:2:10: 'kernel' %s/disk.img is not a kernel vmm can boot: "
			      "neither a bzImage (no \"HdrS\" boot header at 0x202) nor a PVH ELF "
			      "(no ELF magic)\n");
}

Test(config_boot, a_bzimage_with_an_initrd_that_fits_is_accepted)
{
	struct machine_config cfg;
	int ret;
	char *errors = check_boot("[machine]\nkernel = \"bzImage\"\ninitrd = \"initrd.img\"\n"
				  "cmdline = \"console=ttyS0\"\n",
				  &cfg, &ret);

	cr_assert_eq(ret, 0, "%s", errors);
	config_free(&cfg);
}

Test(config_boot, an_empty_initrd_is_refused_at_its_key)
{
	check_boot_fails_with("[machine]\nkernel = \"bzImage\"\ninitrd = \"empty.img\"\n",
			      "x.toml:3:10: 'initrd' %s/empty.img is empty\n");
}

Test(config_boot, an_initrd_larger_than_the_room_above_the_kernel_is_refused_at_its_key)
{
	/* 256 MiB of RAM, the kernel up to 24 MiB: 232 MiB of room, 240 MiB of initrd */
	check_boot_fails_with("[machine]\nmemory = \"256M\"\nkernel = \"bzImage\"\n"
			      "initrd = \"huge-initrd.img\"\n",
			      "x.toml:4:10: 'initrd' %s/huge-initrd.img: initrd (251658240 bytes) "
			      "does not fit in guest RAM between the kernel end 0x1800000 and "
			      "0x10000000\n");
}

Test(config_boot, a_kernel_larger_than_memory_is_refused_at_the_kernel)
{
	check_boot_fails_with("[machine]\nmemory = \"16M\"\nkernel = \"bzImage\"\n",
			      "x.toml:3:10: 'kernel' %s/bzImage: kernel does not fit in guest RAM: "
			      "needs 0x100000..0x1800000 (init_size 8388608), guest RAM is "
			      "16777216 bytes\n");
}

Test(config_boot, a_cmdline_longer_than_the_kernel_takes_is_refused_at_its_key)
{
	char text[4096];
	int n = snprintf(text, sizeof(text), "[machine]\nkernel = \"bzImage\"\ncmdline = \"");

	memset(text + n, 'a', 2048); /* cmdline_size is 2047 */
	strcpy(text + n + 2048, "\"\n");
	check_boot_fails_with(text, "x.toml:3:11: 'cmdline' is 2048 bytes: kernel command line "
				    "is longer than 2047 bytes\n");
}

Test(config_boot, command_line_overrides_are_named_as_options)
{
	struct machine_config cfg;
	char *errors = NULL, *real = realpath(tmpdir, NULL), want[512];

	cr_assert_not_null(real);
	cr_assert_eq(config_load_string("[machine]\nkernel = \"bzImage\"\n", "x.toml", tmpdir, &cfg,
					&errors),
		     0);
	free(cfg.kernel);
	cr_assert_eq(asprintf(&cfg.kernel, "%s/disk.img", real) > 0, true);
	cfg.kernel_at = (struct config_at){0, 0}; /* what vmm run --kernel does */
	cr_assert_eq(config_check_boot(&cfg, &errors), -EINVAL);
	snprintf(want, sizeof(want),
		 "vmm: --kernel %s/disk.img is not a kernel vmm can boot: neither a bzImage (no "
		 "\"HdrS\" boot header at 0x202) nor a PVH ELF (no ELF magic)\n",
		 real);
	cr_assert_str_eq(errors, want);
	free(errors);
	free(real);
	config_free(&cfg);
}

Test(config_boot, a_firmware_boot_has_no_kernel_to_check)
{
	struct machine_config cfg = {.source = "x.toml", .memory = MiB(256)};
	char *errors = (char *)"untouched";

	cr_assert_eq(config_check_boot(&cfg, &errors), 0);
	cr_assert_null(errors);
}
