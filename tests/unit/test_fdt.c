/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <libfdt.h>

#include "firmware/fdt.h"
#include "vmm/pci/pci.h"

static uint8_t dtb[64 * 1024];
static struct fw_platform plat;
static const struct e820_entry e820[] = {
	{0, 0x9fc00, E820_RAM},
	{0x9fc00, 0x400, E820_RESERVED},
	{0xf0000, 0x10000, E820_RESERVED},
	{0x100000, 0x7ff00000, E820_RAM},
	{0x100000000ULL, 0x40000000, E820_RAM},
};

/*
 * A hand-built tree (no PCI core needed): bus 0 holds an endpoint at 00:02.0, a two-function
 * device at 00:03.0/00:03.1 and a root port at 00:1c.0 whose bus 1 holds a switch upstream
 * port; its bus 2 holds a downstream port at 02:00.0 with an endpoint on bus 3.
 */
static struct pci_root root;
static struct pci_bus bus1, bus2, bus3;
static struct pci_dev ep, fn0, fn1, rp, usp, dsp, ep3;

static void mkdev(struct pci_dev *d, uint16_t vendor, uint16_t device, uint32_t class_code,
		  int bridge, struct pci_bus *on, uint8_t devfn)
{
	memset(d, 0, sizeof(*d));
	pci_set16(d, PCI_VENDOR_ID, vendor);
	pci_set16(d, PCI_DEVICE_ID, device);
	pci_set32(d, PCI_REVISION_ID, class_code << 8 | 1);
	d->cfg[PCI_HEADER_TYPE] = bridge ? PCI_HEADER_TYPE_BRIDGE : PCI_HEADER_TYPE_NORMAL;
	d->bus = on;
	d->devfn = devfn;
	on->devs[devfn] = d;
	if (devfn >= on->devfn_end)
		on->devfn_end = (uint16_t)(devfn + 1);
}

static void bridge(struct pci_dev *d, struct pci_bus *sec, uint8_t secnr, uint8_t subnr)
{
	d->secondary = sec;
	sec->self = d;
	sec->assigned_number = secnr;
	d->cfg[PCI_SECONDARY_BUS] = secnr;
	d->cfg[PCI_SUBORDINATE_BUS] = subnr;
}

static void setup(void)
{
	fw_platform_defaults(&plat);
	plat.ncpus = 3;
	plat.e820 = e820;
	plat.ne820 = 5;
	plat.mmio64_base = 0x8000000000ULL;
	plat.mmio64_size = 0x4000000000ULL;
	memset(&root, 0, sizeof(root));
	memset(&bus1, 0, sizeof(bus1));
	memset(&bus2, 0, sizeof(bus2));
	memset(&bus3, 0, sizeof(bus3));
	mkdev(&ep, 0x1b36, 0x0010, 0x010802, 0, &root.bus0, PCI_DEVFN(2, 0));
	mkdev(&fn0, 0x8086, 0x1234, 0x020000, 0, &root.bus0, PCI_DEVFN(3, 0));
	fn0.cfg[PCI_HEADER_TYPE] |= PCI_HEADER_TYPE_MULTI;
	mkdev(&fn1, 0x8086, 0x1235, 0x020000, 0, &root.bus0, PCI_DEVFN(3, 1));
	mkdev(&rp, 0x1b36, 0x000c, 0x060400, 1, &root.bus0, PCI_DEVFN(0x1c, 0));
	bridge(&rp, &bus1, 1, 3);
	mkdev(&usp, 0x104c, 0x8232, 0x060400, 1, &bus1, PCI_DEVFN(0, 0));
	bridge(&usp, &bus2, 2, 3);
	mkdev(&dsp, 0x104c, 0x8233, 0x060400, 1, &bus2, PCI_DEVFN(0, 0));
	bridge(&dsp, &bus3, 3, 3);
	mkdev(&ep3, 0x111d, 0x8091, 0x068000, 0, &bus3, PCI_DEVFN(0, 0));
	plat.pci = &root;
	memset(dtb, 0, sizeof(dtb));
	int n = fdt_build(&plat, dtb, sizeof(dtb));
	cr_assert_gt(n, 0, "fdt_build: %d", n);
	cr_assert_eq((uint32_t)n, fdt_totalsize(dtb));
}

static uint32_t cell(const fdt32_t *p, int i)
{
	return fdt32_to_cpu(p[i]);
}

static const fdt32_t *prop(int node, const char *name, int *len)
{
	const fdt32_t *p = fdt_getprop(dtb, node, name, len);
	cr_assert_not_null(p, "no property %s", name);
	return p;
}

static uint32_t prop_u32(int node, const char *name)
{
	int len;
	const fdt32_t *p = prop(node, name, &len);
	cr_assert_eq(len, 4, "%s", name);
	return cell(p, 0);
}

static int node(const char *path)
{
	int off = fdt_path_offset(dtb, path);
	cr_assert_geq(off, 0, "no node %s (%s)", path, fdt_strerror(off));
	return off;
}

Test(fdt, header_is_valid, .init = setup)
{
	cr_assert_eq(fdt_check_header(dtb), 0);
	cr_assert_eq(fdt_magic(dtb), FDT_MAGIC);
	cr_assert_eq(prop_u32(0, "#address-cells"), 2);
	cr_assert_eq(prop_u32(0, "#size-cells"), 2);
	node("/chosen");
}

Test(fdt, memory_nodes_match_the_e820_ram, .init = setup)
{
	int count = 0;

	for (size_t i = 0; i < sizeof(e820) / sizeof(e820[0]); i++) {
		char path[64];
		int len;
		if (e820[i].type != E820_RAM)
			continue;
		snprintf(path, sizeof(path), "/memory@%llx", (unsigned long long)e820[i].addr);
		int n = node(path);
		cr_assert_str_eq(fdt_getprop(dtb, n, "device_type", NULL), "memory");
		const fdt32_t *reg = prop(n, "reg", &len);
		cr_assert_eq(len, 16);
		cr_assert_eq(((uint64_t)cell(reg, 0) << 32 | cell(reg, 1)), e820[i].addr);
		cr_assert_eq(((uint64_t)cell(reg, 2) << 32 | cell(reg, 3)), e820[i].size);
		count++;
	}
	int total = 0, n;
	fdt_for_each_subnode(n, dtb, 0)
	{
		const char *p = fdt_getprop(dtb, n, "device_type", NULL);
		if (p && strcmp(p, "memory") == 0)
			total++;
	}
	cr_assert_eq(total, count);
	cr_assert_eq(count, 3);
}

Test(fdt, one_cpu_node_per_vcpu, .init = setup)
{
	int cpus = node("/cpus"), count = 0, n;

	cr_assert_eq(prop_u32(cpus, "#address-cells"), 1);
	cr_assert_eq(prop_u32(cpus, "#size-cells"), 0);
	fdt_for_each_subnode(n, dtb, cpus)
	{
		cr_assert_str_eq(fdt_getprop(dtb, n, "device_type", NULL), "cpu");
		cr_assert_eq(prop_u32(n, "reg"), (uint32_t)count);
		count++;
	}
	cr_assert_eq(count, 3);
}

Test(fdt, pcie_node_reg_bus_range_and_ranges, .init = setup)
{
	int n = node("/pcie@b0000000"), len;

	cr_assert_eq(fdt_node_check_compatible(dtb, n, "pci-host-ecam-generic"), 0);
	cr_assert_str_eq(fdt_getprop(dtb, n, "device_type", NULL), "pci");
	cr_assert_eq(prop_u32(n, "#address-cells"), 3);
	cr_assert_eq(prop_u32(n, "#size-cells"), 2);
	const fdt32_t *reg = prop(n, "reg", &len);
	cr_assert_eq(len, 16);
	cr_assert_eq(cell(reg, 0), 0);
	cr_assert_eq(cell(reg, 1), 0xb0000000);
	cr_assert_eq(cell(reg, 2), 0);
	cr_assert_eq(cell(reg, 3), 0x10000000);
	const fdt32_t *br = prop(n, "bus-range", &len);
	cr_assert_eq(len, 8);
	cr_assert_eq(cell(br, 0), 0);
	cr_assert_eq(cell(br, 1), 255);

	static const uint32_t want[] = {
		0x01000000, 0,	  0xc000,     0,    0xc000,	0,    0x4000,	  /* io */
		0x02000000, 0,	  0xc0000000, 0,    0xc0000000, 0,    0x3ec00000, /* mmio32 */
		0x43000000, 0x80, 0,	      0x80, 0,		0x40, 0,	  /* mmio64 */
	};
	const fdt32_t *r = prop(n, "ranges", &len);
	cr_assert_eq(len, (int)sizeof(want));
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_assert_eq(cell(r, (int)i), want[i], "ranges cell %zu", i);
}

static void check_func(const char *path, uint8_t bus, uint8_t devfn, uint16_t vendor,
		       uint16_t device, uint32_t class_code)
{
	int n = node(path), len;
	const fdt32_t *reg = prop(n, "reg", &len);

	cr_assert_eq(len, 20, "%s reg", path);
	cr_assert_eq(cell(reg, 0), (uint32_t)bus << 16 | (uint32_t)devfn << 8, "%s", path);
	for (int i = 1; i < 5; i++)
		cr_assert_eq(cell(reg, i), 0);
	cr_assert_eq(prop_u32(n, "vendor-id"), vendor);
	cr_assert_eq(prop_u32(n, "device-id"), device);
	cr_assert_eq(prop_u32(n, "class-code"), class_code);
}

Test(fdt, pci_functions_are_children_of_their_bus, .init = setup)
{
	check_func("/pcie@b0000000/pci1b36,10@2", 0, PCI_DEVFN(2, 0), 0x1b36, 0x0010, 0x010802);
	check_func("/pcie@b0000000/pci8086,1234@3", 0, PCI_DEVFN(3, 0), 0x8086, 0x1234, 0x020000);
	check_func("/pcie@b0000000/pci8086,1235@3,1", 0, PCI_DEVFN(3, 1), 0x8086, 0x1235, 0x020000);
	check_func("/pcie@b0000000/pci@1c", 0, PCI_DEVFN(0x1c, 0), 0x1b36, 0x000c, 0x060400);
	check_func("/pcie@b0000000/pci@1c/pci@0", 1, 0, 0x104c, 0x8232, 0x060400);
	check_func("/pcie@b0000000/pci@1c/pci@0/pci@0", 2, 0, 0x104c, 0x8233, 0x060400);
	check_func("/pcie@b0000000/pci@1c/pci@0/pci@0/pci111d,8091@0", 3, 0, 0x111d, 0x8091,
		   0x068000);
	int n = node("/pcie@b0000000/pci1b36,10@2");
	cr_assert_eq(fdt_node_check_compatible(dtb, n, "pci1b36,10"), 0);
	cr_assert_eq(fdt_node_check_compatible(dtb, n, "pciclass,010802"), 0);
}

Test(fdt, bridges_carry_their_bus_numbers, .init = setup)
{
	int n = node("/pcie@b0000000/pci@1c"), len;
	const fdt32_t *br = prop(n, "bus-range", &len);

	cr_assert_eq(len, 8);
	cr_assert_eq(cell(br, 0), 1);
	cr_assert_eq(cell(br, 1), 3);
	cr_assert_str_eq(fdt_getprop(dtb, n, "device_type", NULL), "pci");
	cr_assert_eq(prop_u32(n, "#address-cells"), 3);
	cr_assert_eq(prop_u32(n, "#size-cells"), 2);
	br = prop(node("/pcie@b0000000/pci@1c/pci@0/pci@0"), "bus-range", &len);
	cr_assert_eq(cell(br, 0), 3);
	cr_assert_eq(cell(br, 1), 3);
	/* endpoints are not buses */
	cr_assert_null(fdt_getprop(dtb, node("/pcie@b0000000/pci1b36,10@2"), "bus-range", NULL));
}

Test(fdt, pcie_node_has_only_the_bus0_functions_as_children, .init = setup)
{
	int count = 0, n, pcie = node("/pcie@b0000000");

	fdt_for_each_subnode(n, dtb, pcie)
	{
		count++;
	}
	cr_assert_eq(count, 4);
}

Test(fdt, no_pci_root_means_no_function_nodes)
{
	static uint8_t b[8192];

	fw_platform_defaults(&plat);
	cr_assert_gt(fdt_build(&plat, b, sizeof(b)), 0);
	int n = fdt_path_offset(b, "/pcie@b0000000");
	cr_assert_geq(n, 0);
	cr_assert_lt(fdt_first_subnode(b, n), 0);
	/* no mmio64: two ranges entries of 7 cells */
	int len;
	cr_assert_not_null(fdt_getprop(b, n, "ranges", &len));
	cr_assert_eq(len, 2 * 7 * 4);
}

Test(fdt, small_buffer_is_enospc, .init = setup)
{
	static uint8_t b[64 * 1024];
	int size = fdt_build(&plat, b, sizeof(b));

	cr_assert_gt(size, 0);
	for (int s = 0; s < size; s += 61)
		cr_assert_eq(fdt_build(&plat, b, (size_t)s), -ENOSPC, "size %d", s);
	cr_assert_eq(fdt_build(&plat, b, (size_t)size - 1), -ENOSPC);
	cr_assert_eq(fdt_build(&plat, b, (size_t)size), size);
	cr_assert_eq(fdt_check_header(b), 0);
}

Test(fdt, bad_platform_is_einval)
{
	static uint8_t b[4096];

	fw_platform_defaults(&plat);
	plat.ncpus = 0;
	cr_assert_eq(fdt_build(&plat, b, sizeof(b)), -EINVAL);
}

/* The same shape through the real PCI core: bus numbers come from pci_assign(). */
Test(fdt, tree_enumerated_by_the_pci_core)
{
	static struct pci_root r;
	static struct pci_bus b1, b2, b3;
	static struct pci_dev port, up, down, nvme;
	static uint8_t b[16384];
	char err[128];
	int len;

	fw_platform_defaults(&plat);
	pci_root_init(&r, NULL, NULL, NULL, plat.ecam_base);
	pci_dev_init(&port, "rp0", 0x1b36, 0x000c, 0x060400, 0, true);
	pci_bus_init(&b1, "rp0");
	pci_bridge_set_secondary(&port, &b1);
	cr_assert_eq(pci_bus_add(&r.bus0, &port, PCI_DEVFN(1, 0)), 0);
	pci_dev_init(&up, "sw0", 0x104c, 0x8232, 0x060400, 2, true);
	pci_bus_init(&b2, "sw0");
	pci_bridge_set_secondary(&up, &b2);
	cr_assert_eq(pci_bus_add(&b1, &up, 0), 0);
	pci_dev_init(&down, "sw0.1", 0x104c, 0x8233, 0x060400, 1, true);
	pci_bus_init(&b3, "sw0.1");
	pci_bridge_set_secondary(&down, &b3);
	cr_assert_eq(pci_bus_add(&b2, &down, PCI_DEVFN(1, 0)), 0);
	pci_dev_init(&nvme, "nvme0", 0x1b36, 0x0010, 0x010802, 2, false);
	cr_assert_eq(pci_bus_add(&r.bus0, &nvme, PCI_DEVFN(4, 0)), 0);
	struct pci_windows w = {plat.mmio32_base, plat.mmio32_size, 0, 0,
				plat.io_base,	  plat.io_size};
	cr_assert_eq(pci_assign(&r, &w, err, sizeof(err)), 0, "%s", err);
	plat.pci = &r;

	cr_assert_gt(fdt_build(&plat, b, sizeof(b)), 0);
	int n = fdt_path_offset(b, "/pcie@b0000000/pci@1/pci@0/pci@1");
	cr_assert_geq(n, 0);
	const fdt32_t *reg = fdt_getprop(b, n, "reg", &len);
	cr_assert_not_null(reg);
	cr_assert_eq(fdt32_to_cpu(reg[0]), (uint32_t)down.bus->assigned_number << 16 | 1 << 11);
	cr_assert_eq(down.bus->assigned_number, up.cfg[PCI_SECONDARY_BUS]);
	const fdt32_t *br =
		fdt_getprop(b, fdt_path_offset(b, "/pcie@b0000000/pci@1"), "bus-range", &len);
	cr_assert_not_null(br);
	cr_assert_eq(fdt32_to_cpu(br[0]), port.cfg[PCI_SECONDARY_BUS]);
	cr_assert_eq(fdt32_to_cpu(br[1]), port.cfg[PCI_SUBORDINATE_BUS]);
	cr_assert_eq(fdt32_to_cpu(br[0]), 1);
	cr_assert_eq(fdt32_to_cpu(br[1]), 3);
	cr_assert_geq(fdt_path_offset(b, "/pcie@b0000000/pci1b36,10@4"), 0);
	pci_root_destroy(&r);
}
