/* SPDX-License-Identifier: MIT */
/*
 * fw_cfg (vmm/dev/fw_cfg.c) against a fake guest memory, and what SeaBIOS is served
 * (firmware/seabios.c): the file directory, etc/e820, and the ACPI tables through
 * etc/table-loader, executed here the way SeaBIOS's romfile_loader.c does it.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "firmware/acpi.h"
#include "firmware/seabios.h"
#include "vmm/config/config.h"
#include "vmm/dev/fw_cfg.h"

#define RAM_SIZE 0x100000u
#define DESC_GPA 0x1000u
#define BUF_GPA	 0x2000u
#define BUF_SIZE 0x1000u

static uint8_t *ram;
static struct guest_mem mem;
static struct fw_cfg *f;

static void setup(void)
{
	ram = calloc(1, RAM_SIZE);
	cr_assert_not_null(ram);
	mem = (struct guest_mem){.memfd = -1, .base = ram, .size = RAM_SIZE, .nregions = 1};
	mem.regions[0] = (struct mem_region){.gpa = 0, .size = RAM_SIZE, .hva = ram};
	f = fw_cfg_create(&mem);
	cr_assert_not_null(f);
	cr_assert_eq(fw_cfg_add_item(f, FW_CFG_SIGNATURE, "QEMU", 4), 0);
}

static void teardown(void)
{
	fw_cfg_destroy(f);
	free(ram);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static void sel(uint16_t key)
{
	fw_cfg_bus_ops.write(f, 0, key, 2);
}

static uint8_t data(void)
{
	return (uint8_t)fw_cfg_bus_ops.read(f, 1, 1);
}

/* Write a descriptor at `desc` and start it the way SeaBIOS does: outl(be32(desc), 0x518). */
static uint32_t dma_at(uint64_t desc, uint32_t control, uint32_t len, uint64_t addr)
{
	uint8_t *d = ram + desc;

	put_be32(d, control);
	put_be32(d + 4, len);
	put_be32(d + 8, (uint32_t)(addr >> 32));
	put_be32(d + 12, (uint32_t)addr);
	fw_cfg_bus_ops.write(f, 4, __builtin_bswap32((uint32_t)(desc >> 32)), 4);
	fw_cfg_bus_ops.write(f, 8, __builtin_bswap32((uint32_t)desc), 4);
	return be32(d);
}

static uint32_t dma(uint32_t control, uint32_t len, uint64_t addr)
{
	return dma_at(DESC_GPA, control, len, addr);
}

TestSuite(fw_cfg, .init = setup, .fini = teardown);

Test(fw_cfg, signature_reads_qemu_through_the_data_port)
{
	char sig[5] = {0};

	sel(FW_CFG_SIGNATURE);
	for (int i = 0; i < 4; i++)
		sig[i] = (char)data();
	cr_assert_str_eq(sig, "QEMU");
}

Test(fw_cfg, reads_past_the_end_and_of_unknown_keys_return_zero)
{
	sel(FW_CFG_SIGNATURE);
	for (int i = 0; i < 4; i++)
		data();
	cr_assert_eq(data(), 0);
	cr_assert_eq(data(), 0);
	sel(0x1234);
	cr_assert_eq(data(), 0);
}

Test(fw_cfg, selecting_again_restarts_at_offset_zero)
{
	sel(FW_CFG_SIGNATURE);
	data();
	data();
	sel(FW_CFG_SIGNATURE);
	cr_assert_eq(data(), 'Q');
	/* Bit 14 (the old write channel) is ignored, as in QEMU. */
	sel(0x4000 | FW_CFG_SIGNATURE);
	cr_assert_eq(data(), 'Q');
}

Test(fw_cfg, dma_address_register_reads_qemu_cfg_big_endian)
{
	char s[9] = {0};

	for (int i = 0; i < 8; i++)
		s[i] = (char)fw_cfg_bus_ops.read(f, 4 + (uint64_t)i, 1);
	cr_assert_str_eq(s, "QEMU CFG");
	cr_assert_eq(fw_cfg_bus_ops.read(f, 4, 4), 0x554d4551); /* "QEMU" as inl sees it */
}

Test(fw_cfg, dma_select_and_read_zero_fills_past_the_end)
{
	memset(ram + BUF_GPA, 0xaa, 8);
	cr_assert_eq(dma(FW_CFG_SIGNATURE << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ, 6,
			 BUF_GPA),
		     0);
	cr_assert_arr_eq(ram + BUF_GPA, "QEMU\0\0", 6);
	cr_assert_eq(ram[BUF_GPA + 6], 0xaa, "wrote beyond the requested length");
}

Test(fw_cfg, dma_read_continues_from_the_data_port_offset)
{
	sel(FW_CFG_SIGNATURE);
	data();
	cr_assert_eq(dma(FW_CFG_DMA_CTL_READ, 3, BUF_GPA), 0);
	cr_assert_arr_eq(ram + BUF_GPA, "EMU", 3);
	cr_assert_eq(data(), 0, "the DMA read moved the offset to the end");
}

Test(fw_cfg, dma_skip_then_read)
{
	cr_assert_eq(
		dma(FW_CFG_SIGNATURE << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_SKIP, 2, 0), 0);
	cr_assert_eq(dma(FW_CFG_DMA_CTL_READ, 2, BUF_GPA), 0);
	cr_assert_arr_eq(ram + BUF_GPA, "MU", 2);
	/* Skipping past the end is not an error; reads there are zeros. */
	cr_assert_eq(dma(FW_CFG_DMA_CTL_SKIP, 100, 0), 0);
	cr_assert_eq(data(), 0);
}

Test(fw_cfg, dma_read_to_a_bad_address_sets_error)
{
	uint32_t rd = FW_CFG_SIGNATURE << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ;

	cr_assert_eq(dma(rd, 4, RAM_SIZE), FW_CFG_DMA_CTL_ERROR, "outside RAM");
	cr_assert_eq(dma(rd, 4, RAM_SIZE - 2), FW_CFG_DMA_CTL_ERROR, "crosses the end of RAM");
	cr_assert_eq(dma(rd, 4, UINT64_MAX - 1), FW_CFG_DMA_CTL_ERROR, "wraps");
	cr_assert_eq(dma(rd, 0xffffffffu, BUF_GPA), FW_CFG_DMA_CTL_ERROR, "too long");
	cr_assert_eq(dma(rd, 0, RAM_SIZE * 2), 0, "a zero-length transfer touches nothing");
}

Test(fw_cfg, dma_descriptor_outside_ram_is_ignored)
{
	fw_cfg_bus_ops.write(f, 4, 0, 4);
	fw_cfg_bus_ops.write(f, 8, __builtin_bswap32(RAM_SIZE - 8), 4); /* crosses the end */
	fw_cfg_bus_ops.write(f, 4, __builtin_bswap32(1), 4);		/* above 4 GiB */
	fw_cfg_bus_ops.write(f, 8, 0, 4);
	sel(FW_CFG_SIGNATURE);
	cr_assert_eq(data(), 'Q', "device state must be untouched");
}

Test(fw_cfg, dma_descriptor_above_4g_uses_both_halves)
{
	/* The high half alone does not start anything; a 64-bit address outside RAM fails. */
	fw_cfg_bus_ops.write(f, 4, __builtin_bswap32(0), 4);
	cr_assert_eq(dma_at(0x3000,
			    FW_CFG_SIGNATURE << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ, 4,
			    BUF_GPA),
		     0);
	cr_assert_arr_eq(ram + BUF_GPA, "QEMU", 4);
}

Test(fw_cfg, dma_write_to_a_read_only_item_sets_error_and_changes_nothing)
{
	uint32_t len;

	cr_assert_eq(fw_cfg_add_file(f, "etc/ro", "abcd", 4, false), 0);
	memcpy(ram + BUF_GPA, "WXYZ", 4);
	cr_assert_eq(dma((uint32_t)fw_cfg_file_key(f, "etc/ro") << 16 | FW_CFG_DMA_CTL_SELECT |
				 FW_CFG_DMA_CTL_WRITE,
			 4, BUF_GPA),
		     FW_CFG_DMA_CTL_ERROR);
	cr_assert_arr_eq(fw_cfg_file_data(f, "etc/ro", &len), "abcd", 4);
	cr_assert_eq(dma(FW_CFG_SIGNATURE << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_WRITE, 1,
			 BUF_GPA),
		     FW_CFG_DMA_CTL_ERROR, "numbered items are read-only");
	cr_assert_eq(dma(0x1234 << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_WRITE, 1, BUF_GPA),
		     FW_CFG_DMA_CTL_ERROR, "unknown item");
}

Test(fw_cfg, dma_write_to_a_writable_file_within_bounds_only)
{
	uint32_t key, len;

	cr_assert_eq(fw_cfg_add_file(f, "etc/rw", "abcdef", 6, true), 0);
	key = (uint32_t)fw_cfg_file_key(f, "etc/rw");
	memcpy(ram + BUF_GPA, "XYZW", 4);
	cr_assert_eq(dma(key << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_SKIP, 2, 0), 0);
	cr_assert_eq(dma(FW_CFG_DMA_CTL_WRITE, 2, BUF_GPA), 0);
	cr_assert_arr_eq(fw_cfg_file_data(f, "etc/rw", &len), "abXYef", 6);
	/* Offset is 4 now: 4 more bytes would grow the file, so nothing is written. */
	cr_assert_eq(dma(FW_CFG_DMA_CTL_WRITE, 4, BUF_GPA), FW_CFG_DMA_CTL_ERROR);
	cr_assert_arr_eq(fw_cfg_file_data(f, "etc/rw", &len), "abXYef", 6);
	cr_assert_eq(len, 6);
	/* The source buffer must be guest RAM as well. */
	cr_assert_eq(dma(key << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_WRITE, 2, RAM_SIZE),
		     FW_CFG_DMA_CTL_ERROR);
}

Test(fw_cfg, directory_is_sorted_by_name_with_big_endian_fields)
{
	static const char *names[] = {"etc/e820", "bootorder", "opt/x", "etc/acpi/rsdp"};
	static const char *sorted[] = {"bootorder", "etc/acpi/rsdp", "etc/e820", "opt/x"};
	uint8_t dir[4 + 4 * FW_CFG_DIR_ENTRY_SIZE + 8];

	for (int i = 0; i < 4; i++)
		cr_assert_eq(fw_cfg_add_file(f, names[i], names[i], (uint32_t)strlen(names[i]) + 1,
					     false),
			     0);
	cr_assert_eq(dma(FW_CFG_FILE_DIR << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ,
			 sizeof(dir), BUF_GPA),
		     0);
	memcpy(dir, ram + BUF_GPA, sizeof(dir));
	cr_assert_eq(be32(dir), 4);
	for (int i = 0; i < 4; i++) {
		const uint8_t *e = dir + 4 + i * FW_CFG_DIR_ENTRY_SIZE;
		uint16_t key = (uint16_t)(e[4] << 8 | e[5]);
		char name[FW_CFG_FILE_NAME_MAX + 1] = {0};

		memcpy(name, e + 8, FW_CFG_FILE_NAME_MAX);
		cr_assert_str_eq(name, sorted[i]);
		cr_assert_eq(be32(e), strlen(sorted[i]) + 1);
		cr_assert_eq(key, FW_CFG_FILE_FIRST + i);
		cr_assert_eq(key, fw_cfg_file_key(f, sorted[i]));
		cr_assert_eq(e[6] | e[7], 0, "reserved");
		/* The key reads the file. */
		sel(key);
		cr_assert_eq(data(), (uint8_t)sorted[i][0]);
	}
	cr_assert_eq(dir[4 + 4 * FW_CFG_DIR_ENTRY_SIZE], 0, "zeros after the directory");
}

Test(fw_cfg, bad_names_keys_and_duplicates_are_refused)
{
	char longname[FW_CFG_FILE_NAME_MAX + 1];

	memset(longname, 'a', FW_CFG_FILE_NAME_MAX);
	longname[FW_CFG_FILE_NAME_MAX] = 0;
	cr_assert_eq(fw_cfg_add_file(f, longname, "x", 1, false), -EINVAL);
	longname[FW_CFG_FILE_NAME_MAX - 1] = 0; /* 55 characters + NUL fits */
	cr_assert_eq(fw_cfg_add_file(f, longname, "x", 1, false), 0);
	cr_assert_eq(fw_cfg_add_file(f, "", "x", 1, false), -EINVAL);
	cr_assert_eq(fw_cfg_add_file(f, "a", "x", 1, false), 0);
	cr_assert_eq(fw_cfg_add_file(f, "a", "y", 1, false), -EEXIST);
	cr_assert_eq(fw_cfg_add_item(f, FW_CFG_SIGNATURE, "XXXX", 4), -EEXIST);
	cr_assert_eq(fw_cfg_add_item(f, FW_CFG_FILE_DIR, "x", 1), -EINVAL);
	cr_assert_eq(fw_cfg_add_item(f, FW_CFG_FILE_FIRST, "x", 1), -EINVAL);
	cr_assert_eq(fw_cfg_file_key(f, "missing"), -ENOENT);
}

Test(fw_cfg, no_memory_means_every_dma_fails_quietly)
{
	struct fw_cfg *g = fw_cfg_create(NULL);

	cr_assert_not_null(g);
	fw_cfg_bus_ops.write(g, 8, __builtin_bswap32(DESC_GPA), 4);
	fw_cfg_destroy(g);
}

/* ---- what SeaBIOS is served ---- */

static struct fw_platform plat;
static struct acpi_tables tables;
static const struct e820_entry e820[] = {
	{0, 0x9fc00, E820_RAM},
	{0x9fc00, 0x60400, E820_RESERVED},
	{0x100000, 0x3ff00000, E820_RAM},
	{0xb0000000, 0x10000000, E820_RESERVED},
};

static void seabios_setup(void)
{
	setup();
	fw_platform_defaults(&plat);
	plat.ncpus = 2;
	plat.e820 = e820;
	plat.ne820 = 4;
	cr_assert_eq(acpi_tables_build(&plat, &tables), 0);
}

static void seabios_teardown(void)
{
	acpi_tables_free(&tables);
	teardown();
}

static const uint8_t *file(const char *name, uint32_t *len)
{
	const uint8_t *p = fw_cfg_file_data(f, name, len);

	cr_assert_not_null(p, "no file %s", name);
	return p;
}

Test(seabios, items_and_files_for_seabios, .init = seabios_setup, .fini = seabios_teardown)
{
	struct fw_cfg *g = fw_cfg_create(&mem);
	struct seabios_config c = {
		.ncpus = 3,
		.e820 = e820,
		.ne820 = 4,
		.acpi = &tables,
		.sercon_port = 0x3f8,
		.have_reboot_timeout = true,
		.reboot_timeout_ms = 0,
	};
	const uint8_t *p;
	uint32_t len;

	fw_cfg_destroy(f);
	f = g;
	cr_assert_eq(seabios_fw_cfg_setup(f, &c), 0);
	sel(FW_CFG_ID);
	cr_assert_eq(data(), FW_CFG_VERSION | FW_CFG_VERSION_DMA);
	sel(FW_CFG_NB_CPUS);
	cr_assert_eq(data(), 3);
	sel(FW_CFG_MAX_CPUS);
	cr_assert_eq(data(), 3);
	sel(FW_CFG_BOOT_MENU); /* SeaBIOS's etc/show-boot-menu: 0 = no menu */
	cr_assert_eq(data() | data(), 0);
	p = file("etc/e820", &len);
	cr_assert_eq(len, 4 * 20);
	cr_assert_eq(le(p + 2 * 20, 8), 0x100000);
	cr_assert_eq(le(p + 2 * 20 + 8, 8), 0x3ff00000);
	cr_assert_eq(le(p + 2 * 20 + 16, 4), E820_RAM);
	cr_assert_eq(le(p + 3 * 20 + 16, 4), E820_RESERVED);
	p = file("etc/sercon-port", &len);
	cr_assert_eq(len, 2);
	cr_assert_eq(le(p, 2), 0x3f8);
	p = file("etc/boot-fail-wait", &len);
	cr_assert_eq(len, 4);
	cr_assert_eq(le(p, 4), 0);
	p = file("opt/org.seabios/pci64", &len);
	cr_assert_eq(len, 1);
	cr_assert_eq(p[0], '0');
	file(SEABIOS_FILE_RSDP, &len);
	file(SEABIOS_FILE_TABLES, &len);
	p = file(SEABIOS_FILE_LOADER, &len);
	cr_assert_eq(len % LOADER_ENTRY_SIZE, 0);
}

/* ---- bootorder ---- */

/* A function at `devfn` on `bus`, with its vendor and device ID. */
static void fake_fn(struct pci_dev *d, struct pci_bus *bus, uint8_t devfn, uint16_t vendor,
		    uint16_t device)
{
	d->bus = bus;
	d->devfn = devfn;
	d->cfg[PCI_VENDOR_ID] = (uint8_t)vendor;
	d->cfg[PCI_VENDOR_ID + 1] = (uint8_t)(vendor >> 8);
	d->cfg[PCI_DEVICE_ID] = (uint8_t)device;
	d->cfg[PCI_DEVICE_ID + 1] = (uint8_t)(device >> 8);
}

/* Root port 00:03.0 -> switch upstream port -> downstream port 2 -> device at slot 0 fn 1,
 * and a second endpoint at 00:1f.2 on the root bus. */
static struct pci_bus root_bus, rp_bus, up_bus, dp_bus;
static struct pci_dev rp, up, dp, ep, ep_root;

static void tree_setup(void)
{
	seabios_setup();
	memset(&rp, 0, sizeof(rp));
	memset(&up, 0, sizeof(up));
	memset(&dp, 0, sizeof(dp));
	memset(&ep, 0, sizeof(ep));
	memset(&ep_root, 0, sizeof(ep_root));
	root_bus = (struct pci_bus){.self = NULL};
	rp_bus = (struct pci_bus){.self = &rp};
	up_bus = (struct pci_bus){.self = &up};
	dp_bus = (struct pci_bus){.self = &dp};
	fake_fn(&rp, &root_bus, PCI_DEVFN(3, 0), 0x1234, 0x7101);
	fake_fn(&up, &rp_bus, PCI_DEVFN(0, 0), 0x104c, 0x8232);
	fake_fn(&dp, &up_bus, PCI_DEVFN(2, 0), 0x104c, 0x8233);
	fake_fn(&ep, &dp_bus, PCI_DEVFN(0, 1), 0x1234, 0x7110);
	fake_fn(&ep_root, &root_bus, PCI_DEVFN(0x1f, 2), 0x8086, 0xabcd);
}

Test(seabios, boot_path_names_every_bridge_by_slot_and_the_device_by_its_ids, .init = tree_setup,
     .fini = seabios_teardown)
{
	char buf[SEABIOS_BOOT_PATH_MAX];
	const char *want = "/pci@i0cf8/pci-bridge@3/pci-bridge@0/pci-bridge@2/pci1234,7110@0,1";

	cr_assert_eq(seabios_pci_boot_path(&ep, buf, sizeof(buf)), (int)strlen(want));
	cr_assert_str_eq(buf, want);
	/* Slot and function in hex, the function only when not 0 (SeaBIOS build_pci_path). */
	cr_assert_eq(seabios_pci_boot_path(&ep_root, buf, sizeof(buf)), 28);
	cr_assert_str_eq(buf, "/pci@i0cf8/pci8086,abcd@1f,2");
	cr_assert_eq(seabios_pci_boot_path(&ep, buf, strlen(want)), -ENAMETOOLONG);
	cr_assert_eq(seabios_pci_boot_path(&ep, buf, 8), -ENAMETOOLONG);
}

Test(seabios, bootorder_lists_the_devices_in_order_and_ends_with_halt, .init = tree_setup,
     .fini = seabios_teardown)
{
	const struct pci_dev *boot[] = {&ep_root, &ep};
	struct seabios_config c = {.ncpus = 1, .e820 = e820, .ne820 = 4, .boot = boot, .nboot = 2};
	const char *want = "/pci@i0cf8/pci8086,abcd@1f,2\n"
			   "/pci@i0cf8/pci-bridge@3/pci-bridge@0/pci-bridge@2/pci1234,7110@0,1\n"
			   "HALT";
	struct fw_cfg *g = fw_cfg_create(&mem);
	const uint8_t *p;
	uint32_t len;

	fw_cfg_destroy(f);
	f = g;
	cr_assert_eq(seabios_fw_cfg_setup(f, &c), 0);
	p = file(SEABIOS_FILE_BOOTORDER, &len);
	cr_assert_eq(len, strlen(want) + 1, "NUL-terminated, as QEMU serves it");
	cr_assert_str_eq((const char *)p, want);
}

Test(seabios, no_boot_list_means_no_bootorder_file, .init = tree_setup, .fini = seabios_teardown)
{
	struct seabios_config c = {.ncpus = 1, .e820 = e820, .ne820 = 4};
	struct fw_cfg *g = fw_cfg_create(&mem);

	fw_cfg_destroy(f);
	f = g;
	cr_assert_eq(seabios_fw_cfg_setup(f, &c), 0);
	cr_assert_eq(fw_cfg_file_key(f, SEABIOS_FILE_BOOTORDER), -ENOENT);
}

Test(seabios, bootorder_too_deep_for_seabios_is_refused, .init = tree_setup,
     .fini = seabios_teardown)
{
	/* 40 bridges in a chain: SeaBIOS's 256-byte buffer could not hold the path. */
	struct pci_dev *chain = calloc(40, sizeof(*chain));
	struct pci_bus *buses = calloc(40, sizeof(*buses));
	const struct pci_dev *boot[1];
	struct seabios_config c = {.ncpus = 1, .e820 = e820, .ne820 = 4, .boot = boot, .nboot = 1};
	struct fw_cfg *g = fw_cfg_create(&mem);

	cr_assert(chain && buses);
	for (int i = 0; i < 40; i++) {
		buses[i].self = i ? &chain[i - 1] : NULL;
		fake_fn(&chain[i], &buses[i], PCI_DEVFN(1, 0), 0x1234, 0x7101);
	}
	boot[0] = &chain[39];
	fw_cfg_destroy(f);
	f = g;
	cr_assert_eq(seabios_fw_cfg_setup(f, &c), -ENAMETOOLONG);
	free(chain);
	free(buses);
}

/* ---- etc/table-loader, executed like SeaBIOS's romfile_loader_execute() ---- */

#define FSEG_GPA 0xf5000u
#define HIGH_GPA 0x3ff00000u

struct loaded {
	const char *name;
	uint8_t *data;
	uint32_t len;
	uint32_t gpa;
};

static struct loaded *find(struct loaded *l, const uint8_t *name)
{
	for (int i = 0; i < 2; i++)
		if (l[i].data && !strncmp(l[i].name, (const char *)name, LOADER_FILESZ))
			return &l[i];
	cr_assert_fail("loader names an unallocated file %.56s", (const char *)name);
	return NULL;
}

static uint8_t *gpa_to(struct loaded *l, uint64_t gpa, uint32_t need)
{
	for (int i = 0; i < 2; i++)
		if (gpa >= l[i].gpa && gpa + need <= (uint64_t)l[i].gpa + l[i].len)
			return l[i].data + (gpa - l[i].gpa);
	cr_assert_fail("pointer 0x%llx leads nowhere", (unsigned long long)gpa);
	return NULL;
}

static uint8_t sum(const uint8_t *p, uint32_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

Test(seabios, table_loader_commands_rebuild_valid_linked_tables, .init = seabios_setup,
     .fini = seabios_teardown)
{
	struct seabios_acpi a;
	struct loaded l[2] = {{.name = SEABIOS_FILE_RSDP}, {.name = SEABIOS_FILE_TABLES}};
	int allocs = 0, pointers = 0, checksums = 0;
	uint8_t *rsdp, *xsdt, *fadt;

	cr_assert_eq(seabios_acpi_build(&tables, &a), 0);
	cr_assert_eq(a.loader_len % LOADER_ENTRY_SIZE, 0);
	/* The first two commands allocate the RSDP in the F segment and the rest high. */
	cr_assert_eq(le(a.loader, 4), LOADER_CMD_ALLOCATE);
	cr_assert_str_eq((const char *)a.loader + LOADER_ALLOC_FILE, SEABIOS_FILE_RSDP);
	cr_assert_eq(le(a.loader + LOADER_ALLOC_ALIGN, 4), 16);
	cr_assert_eq(a.loader[LOADER_ALLOC_ZONE], LOADER_ZONE_FSEG);
	cr_assert_eq(le(a.loader + 128, 4), LOADER_CMD_ALLOCATE);
	cr_assert_str_eq((const char *)a.loader + 128 + LOADER_ALLOC_FILE, SEABIOS_FILE_TABLES);
	cr_assert_eq(le(a.loader + 128 + LOADER_ALLOC_ALIGN, 4), 64, "the FACS needs 64");
	cr_assert_eq(a.loader[128 + LOADER_ALLOC_ZONE], LOADER_ZONE_HIGH);

	for (uint32_t off = 0; off < a.loader_len; off += LOADER_ENTRY_SIZE) {
		uint8_t *e = a.loader + off;
		struct loaded *d, *s;
		uint32_t o, start, n;
		uint8_t size;

		switch (le(e, 4)) {
		case LOADER_CMD_ALLOCATE:
			d = &l[allocs++];
			cr_assert_str_eq((const char *)e + LOADER_ALLOC_FILE, d->name);
			d->len = allocs == 1 ? a.rsdp_len : a.tables_len;
			d->data = malloc(d->len);
			memcpy(d->data, allocs == 1 ? a.rsdp : a.tables, d->len);
			d->gpa = allocs == 1 ? FSEG_GPA : HIGH_GPA;
			break;
		case LOADER_CMD_ADD_POINTER:
			cr_assert_eq(checksums, 0, "every pointer before any checksum");
			d = find(l, e + LOADER_PTR_DEST);
			s = find(l, e + LOADER_PTR_SRC);
			o = (uint32_t)le(e + LOADER_PTR_OFFSET, 4);
			size = e[LOADER_PTR_SIZE];
			cr_assert(size == 4 || size == 8);
			cr_assert_leq(o + size, d->len);
			for (int i = 0, c = 0; i < size; i++) {
				int v = d->data[o + i] +
					(int)(((uint64_t)s->gpa >> (8 * i)) & 0xff) + c;

				d->data[o + i] = (uint8_t)v;
				c = v >> 8;
			}
			pointers++;
			break;
		case LOADER_CMD_ADD_CHECKSUM:
			d = find(l, e + LOADER_CKSUM_FILE);
			o = (uint32_t)le(e + LOADER_CKSUM_OFFSET, 4);
			start = (uint32_t)le(e + LOADER_CKSUM_START, 4);
			n = (uint32_t)le(e + LOADER_CKSUM_LENGTH, 4);
			cr_assert_lt(o, d->len);
			cr_assert_leq(start + n, d->len);
			d->data[o] = (uint8_t)(d->data[o] - sum(d->data + start, n));
			checksums++;
			break;
		default:
			cr_assert_fail("unknown command %llu", (unsigned long long)le(e, 4));
		}
	}
	cr_assert_eq(allocs, 2);
	cr_assert_gt(pointers, 3);
	cr_assert_gt(checksums, 5);

	rsdp = l[0].data;
	cr_assert_arr_eq(rsdp, "RSD PTR ", 8);
	cr_assert_eq(sum(rsdp, 20), 0);
	cr_assert_eq(sum(rsdp, (uint32_t)le(rsdp + 20, 4)), 0);
	xsdt = gpa_to(l, le(rsdp + 24, 8), 36);
	cr_assert_arr_eq(xsdt, "XSDT", 4);
	for (uint32_t off = 36; off < le(xsdt + 4, 4); off += 8) {
		uint8_t *t = gpa_to(l, le(xsdt + off, 8), 36);

		cr_assert_eq(le(xsdt + off, 8) % 8, 0, "table alignment");

		cr_assert_eq(sum(t, (uint32_t)le(t + 4, 4)), 0, "checksum of %.4s", t);
	}
	fadt = gpa_to(l, le(xsdt + 36, 8), 36);
	cr_assert_arr_eq(fadt, "FACP", 4);
	cr_assert_arr_eq(gpa_to(l, le(fadt + 40, 4), 36), "DSDT", 4);
	cr_assert_arr_eq(gpa_to(l, le(fadt + 140, 8), 36), "DSDT", 4);
	cr_assert_arr_eq(gpa_to(l, le(fadt + 36, 4), 64), "FACS", 4);
	cr_assert_eq(le(fadt + 36, 4) % 64, 0, "FACS alignment");
	cr_assert_eq(sum(gpa_to(l, le(fadt + 40, 4), 36),
			 (uint32_t)le(gpa_to(l, le(fadt + 40, 4), 36) + 4, 4)),
		     0);
	free(l[0].data);
	free(l[1].data);
	seabios_acpi_free(&a);
}

Test(seabios, debugcon_reads_back_0xe9)
{
	struct seabios_debugcon d = {0};

	cr_assert_eq(seabios_debugcon_ops.read(&d, 0, 1), 0xe9);
	seabios_debugcon_ops.write(&d, 0, 'x', 1); /* no log: dropped */
}

/* ---- configuration ---- */

static int load(const char *text, struct machine_config *cfg, char **errors)
{
	return config_load_string(text, "t.toml", "/tmp", cfg, errors);
}

Test(seabios, config_firmware_makes_kernel_optional_and_reads_firmware_table)
{
	struct machine_config cfg;
	char *errors;

	cr_assert_eq(load("[machine]\nfirmware = \"/dev/null\"\n", &cfg, &errors), -EINVAL,
		     "not a regular file");
	free(errors);
	if (access(SEABIOS_DEFAULT_IMAGE, R_OK))
		cr_skip_test("%s is not installed", SEABIOS_DEFAULT_IMAGE);
	cr_assert_eq(load("[machine]\nfirmware = \"seabios\"\n[firmware]\ndebugcon = \"d.log\"\n"
			  "reboot_timeout = 0\n",
			  &cfg, &errors),
		     0, "%s", errors);
	cr_assert_str_eq(cfg.firmware, SEABIOS_DEFAULT_IMAGE);
	cr_assert_null(cfg.kernel);
	cr_assert_str_eq(cfg.firmware_opts.debugcon, "/tmp/d.log");
	cr_assert(cfg.firmware_opts.have_reboot_timeout);
	cr_assert_eq(cfg.firmware_opts.reboot_timeout, 0);
	config_free(&cfg);
}

Test(seabios, config_rejects_kernel_with_firmware_and_orphan_firmware_table)
{
	struct machine_config cfg;
	char *errors;

	if (access(SEABIOS_DEFAULT_IMAGE, R_OK))
		cr_skip_test("%s is not installed", SEABIOS_DEFAULT_IMAGE);
	cr_assert_eq(load("[machine]\nfirmware = \"seabios\"\ncmdline = \"x\"\n", &cfg, &errors),
		     -EINVAL);
	cr_assert_not_null(strstr(errors, "t.toml:3:1: 'cmdline' cannot be used with 'firmware'"),
			   "%s", errors);
	free(errors);
	cr_assert_eq(load("[machine]\nkernel = \"/bin/sh\"\n[firmware]\nreboot_timeout = -2\n",
			  &cfg, &errors),
		     -EINVAL);
	cr_assert_not_null(strstr(errors, "t.toml:3:2: [firmware] needs 'firmware' in [machine]"),
			   "%s", errors);
	cr_assert_not_null(strstr(errors, "t.toml:4:18: 'reboot_timeout' must be -1"), "%s",
			   errors);
	free(errors);
}

/* Two NVMe controllers below two root ports; `boot` is inserted into [machine] (line 4). */
static int load_boot_config(const char *boot, struct machine_config *cfg, char **errors)
{
	char text[1024];

	snprintf(text, sizeof(text),
		 "[machine]\nmemory = \"256M\"\nfirmware = \"seabios\"\n%s\n"
		 "[[root_port]]\nid = \"rp0\"\n[[root_port]]\nid = \"rp1\"\n"
		 "[[nvme]]\nid = \"nvme0\"\nbus = \"rp0\"\n"
		 "namespaces = [{ backend = \"ram\", size = \"1M\" }]\n"
		 "[[nvme]]\nid = \"nvme1\"\nbus = \"rp1\"\n"
		 "namespaces = [{ backend = \"ram\", size = \"1M\" }]\n",
		 boot);
	return load(text, cfg, errors);
}

Test(seabios, config_boot_lists_nvme_ids_in_order)
{
	struct machine_config cfg;
	char *errors;

	if (access(SEABIOS_DEFAULT_IMAGE, R_OK))
		cr_skip_test("%s is not installed", SEABIOS_DEFAULT_IMAGE);
	cr_assert_eq(load_boot_config("boot = [\"nvme1\", \"nvme0\"]", &cfg, &errors), 0, "%s",
		     errors);
	cr_assert_eq(cfg.nboot, 2);
	cr_assert_str_eq(cfg.boot[0], "nvme1");
	cr_assert_str_eq(cfg.boot[1], "nvme0");
	config_free(&cfg);
	cr_assert_eq(load_boot_config("boot = []", &cfg, &errors), 0, "%s", errors);
	cr_assert_eq(cfg.nboot, 0);
	config_free(&cfg);
}

Test(seabios, config_boot_entries_must_name_nvme_devices_once)
{
	struct machine_config cfg;
	char *errors;

	if (access(SEABIOS_DEFAULT_IMAGE, R_OK))
		cr_skip_test("%s is not installed", SEABIOS_DEFAULT_IMAGE);
	cr_assert_eq(load_boot_config("boot = [\"nvme0\", \"disk9\", \"rp0\", 7, \"nvme0\"]", &cfg,
				      &errors),
		     -EINVAL);
	cr_assert_not_null(strstr(errors, "t.toml:4:18: 'boot' names \"disk9\", but no device"),
			   "%s", errors);
	cr_assert_not_null(
		strstr(errors, "t.toml:4:27: \"rp0\" (line 5) cannot boot: only [[nvme]]"), "%s",
		errors);
	cr_assert_not_null(strstr(errors,
				  "t.toml:4:34: 'boot' lists device ids (strings), found an "
				  "integer"),
			   "%s", errors);
	cr_assert_not_null(strstr(errors, "t.toml:4:37: \"nvme0\" is listed twice in 'boot'"), "%s",
			   errors);
	free(errors);
	cr_assert_eq(load_boot_config("boot = \"nvme0\"", &cfg, &errors), -EINVAL);
	cr_assert_not_null(strstr(errors, "t.toml:4:8: 'boot' must be an array"), "%s", errors);
	free(errors);
}

Test(seabios, config_boot_needs_firmware)
{
	struct machine_config cfg;
	char *errors;

	cr_assert_eq(load("[machine]\nkernel = \"/bin/sh\"\nboot = [\"nvme0\"]\n[[root_port]]\n"
			  "id = \"rp0\"\n[[nvme]]\nid = \"nvme0\"\nbus = \"rp0\"\n"
			  "namespaces = [{ backend = \"ram\", size = \"1M\" }]\n",
			  &cfg, &errors),
		     -EINVAL);
	cr_assert_not_null(strstr(errors, "t.toml:3:1: 'boot' needs 'firmware' in [machine]"), "%s",
			   errors);
	free(errors);
}
