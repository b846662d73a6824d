// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * vmm_selftest: kernel-only checks of vmm's PCIe devices, for hosts where the guest cannot run
 * userspace (shared/HOST.md). Copied into drivers/misc/vmm_selftest/ by guests/linux/build.sh.
 * This file: the PCI tree, testdevs, P2PDMA and the initcall; nvme.c, ntb.c, ntb_net.c the rest.
 *
 * Runs once every built-in driver has probed, reports on the serial console and powers off.
 * Every line starts with "VMMTEST " so tests/linux/run.sh can parse the log:
 *   VMMTEST pci <bdf> <vendor>:<device> class=<cc> driver=<name|none>
 *   VMMTEST bar <bdf> <n> <start>-<end> <flags>
 *   VMMTEST port <bdf> <service device> driver=<name|none>      (PCIe port services)
 *   VMMTEST ok <check> <detail...>
 *   VMMTEST fail <check> <detail...>
 *   VMMTEST skip <check> <why...>
 *   VMMTEST done pass=<n> fail=<n> skip=<n>
 *
 * Kernel parameters (all optional):
 *   vmmtest.expect=BB:DD.F=VVVV:DDDD[/driver],...  the whole tree, nothing more or less
 *   vmmtest.p2p=BB:DD.F+BB:DD.F=ok|no,...          provider+client: may they use P2PDMA?
 *                                                  (ok pairs of testdevs also move data)
 *   vmmtest.ntb_wait=SECONDS                       for the NTB link and the peer (ntb.c)
 *   vmmtest.net=LOCAL,PEER                         IPv4 addresses on the ntb_netdev interface
 *                                                  and of the peer guest (ntb_net.c)
 *   vmmtest.ntb_dma=1                              ntb_transport must copy with the DMA
 *                                                  engine (set with ntb_transport.use_dma=1)
 *   vmmtest.poweroff=0                             stay up afterwards
 *
 * Test code may do what a driver would not: it enables and drives testdevs that have no
 * driver, and registers a testdev's RAM BAR (BAR2) as P2P memory. NVMe controllers register
 * their CMB themselves (drivers/nvme/host/pci.c, nvme_map_cmb).
 */
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/device.h>
#include <linux/dma-mapping.h>
#include <linux/init.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/moduleparam.h>
#include <linux/pci-p2pdma.h>
#include <linux/pci.h>
#include <linux/reboot.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "vmm_selftest.h"

#undef MODULE_PARAM_PREFIX
#define MODULE_PARAM_PREFIX "vmmtest."

static char *expect;
module_param(expect, charp, 0444);
static char *p2p;
module_param(p2p, charp, 0444);
static bool poweroff = true;
module_param(poweroff, bool, 0444);

/* devices/testdev/testdev.h: the register contract with guests */
#define TESTDEV_VENDOR	       0x1234
#define TESTDEV_DEVICE	       0x7120
#define TESTDEV_MAGIC	       0x544d4d56u
#define TESTDEV_REG_MAGIC      0x00
#define TESTDEV_REG_RAISE      0x08
#define TESTDEV_REG_DMA_SRC    0x10
#define TESTDEV_REG_DMA_DST    0x18
#define TESTDEV_REG_DMA_LEN    0x20
#define TESTDEV_REG_DMA_GO     0x24
#define TESTDEV_REG_DMA_STATUS 0x28
#define TESTDEV_RAM_BAR	       2

#define DMA_TEST_LEN 4096

static int npass, nfail, nskip;

void vmmtest_check(bool ok, const char *name, const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	pr_info("VMMTEST %s %s %pV\n", ok ? "ok" : "fail", name, &vaf);
	va_end(args);
	if (ok)
		npass++;
	else
		nfail++;
}

void vmmtest_skip(const char *name, const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	pr_info("VMMTEST skip %s %pV\n", name, &vaf);
	va_end(args);
	nskip++;
}

const char *vmmtest_drv_name(struct device *dev)
{
	return dev->driver ? dev->driver->name : "none";
}

static bool is_testdev(struct pci_dev *pdev)
{
	return pdev->vendor == TESTDEV_VENDOR && pdev->device == TESTDEV_DEVICE;
}

/* "BB:DD.F" on domain 0; NULL if malformed or absent. The caller puts the reference. */
static struct pci_dev *get_bdf(const char *s)
{
	unsigned int bus, dev, fn;

	if (sscanf(s, "%x:%x.%x", &bus, &dev, &fn) != 3 || bus > 255 || dev > 31 || fn > 7)
		return NULL;
	return pci_get_domain_bus_and_slot(0, bus, PCI_DEVFN(dev, fn));
}

static int report_port_service(struct device *dev, void *bdf)
{
	if (dev->bus && !strcmp(dev->bus->name, "pci_express"))
		pr_info("VMMTEST port %s %s driver=%s\n", (char *)bdf, dev_name(dev),
			vmmtest_drv_name(dev));
	return 0;
}

/*
 * PCIe link and slot as Linux reads them. A link that reports width 0 makes pciehp log
 * "Cannot train link" (REFERENCE.md section 3); every function below a port must see x1+.
 */
static void report_pcie(struct pci_dev *pdev)
{
	u16 lnksta = 0;
	u32 lnkcap = 0, sltcap = 0;
	int type = pci_pcie_type(pdev);

	pcie_capability_read_dword(pdev, PCI_EXP_LNKCAP, &lnkcap);
	pcie_capability_read_word(pdev, PCI_EXP_LNKSTA, &lnksta);
	if (type == PCI_EXP_TYPE_ROOT_PORT || type == PCI_EXP_TYPE_DOWNSTREAM)
		pcie_capability_read_dword(pdev, PCI_EXP_SLTCAP, &sltcap);
	pr_info("VMMTEST pcie %s type=%d lnkcap=x%u/gen%u lnksta=x%u/gen%u sltcap=%#x hotplug=%d\n",
		pci_name(pdev), type, (lnkcap & PCI_EXP_LNKCAP_MLW) >> 4,
		lnkcap & PCI_EXP_LNKCAP_SLS, (lnksta & PCI_EXP_LNKSTA_NLW) >> 4,
		lnksta & PCI_EXP_LNKSTA_CLS, sltcap, pdev->is_hotplug_bridge);
	/* a port's link is up when something is below it; endpoints and upstream ports: always */
	if (type == PCI_EXP_TYPE_RC_END)
		return;
	if (!pci_is_bridge(pdev) || type == PCI_EXP_TYPE_UPSTREAM ||
	    (pdev->subordinate && !list_empty(&pdev->subordinate->devices)))
		vmmtest_check(lnksta & PCI_EXP_LNKSTA_NLW, "link", "%s x%u", pci_name(pdev),
			      (lnksta & PCI_EXP_LNKSTA_NLW) >> 4);
}

/* What the kernel made of the tree: IDs, drivers, resources, port services. */
static void report_tree(void)
{
	struct pci_dev *pdev = NULL;
	int i;

	for_each_pci_dev(pdev) {
		pr_info("VMMTEST pci %s %04x:%04x class=%06x driver=%s\n", pci_name(pdev),
			pdev->vendor, pdev->device, pdev->class, vmmtest_drv_name(&pdev->dev));
		for (i = 0; i < PCI_NUM_RESOURCES; i++) {
			struct resource *r = &pdev->resource[i];

			if (!r->flags || !resource_size(r))
				continue;
			pr_info("VMMTEST bar %s %d %pa-%pa %s%s%s%s\n", pci_name(pdev), i,
				&r->start, &r->end, r->flags & IORESOURCE_IO ? "io" : "mem",
				r->flags & IORESOURCE_MEM_64 ? "64" : "",
				r->flags & IORESOURCE_PREFETCH ? " pref" : "",
				r->parent ? "" : " unassigned");
		}
		if (pci_is_pcie(pdev))
			report_pcie(pdev);
		device_for_each_child(&pdev->dev, (void *)pci_name(pdev), report_port_service);
	}
}

/* vmmtest.expect: every listed function present with its IDs (and driver), no others. */
static void check_tree(void)
{
	struct pci_dev *pdev = NULL;
	char *list, *cur, *item;
	int want = 0, have = 0;

	if (!expect || !*expect)
		return;
	list = kstrdup(expect, GFP_KERNEL);
	if (!list)
		return;
	cur = list;
	while ((item = strsep(&cur, ","))) {
		unsigned int vendor, device;
		char *ids = strchr(item, '='), *drv;
		struct pci_dev *dev;

		if (!*item)
			continue;
		want++;
		if (!ids || sscanf(ids + 1, "%x:%x", &vendor, &device) != 2) {
			vmmtest_check(false, "tree", "%s: malformed vmmtest.expect item", item);
			continue;
		}
		*ids = 0;
		drv = strchr(ids + 1, '/');
		dev = get_bdf(item);
		if (!dev) {
			vmmtest_check(false, "tree", "%s %04x:%04x: no such function", item, vendor,
				      device);
			continue;
		}
		if (dev->vendor != vendor || dev->device != device)
			vmmtest_check(false, "tree", "%s: found %04x:%04x, expected %04x:%04x",
				      item, dev->vendor, dev->device, vendor, device);
		else if (drv && strcmp(drv + 1, vmmtest_drv_name(&dev->dev)))
			vmmtest_check(false, "tree", "%s %04x:%04x: driver %s, expected %s", item,
				      vendor, device, vmmtest_drv_name(&dev->dev), drv + 1);
		else
			vmmtest_check(true, "tree", "%s %04x:%04x driver=%s", item, vendor, device,
				      vmmtest_drv_name(&dev->dev));
		pci_dev_put(dev);
	}
	kfree(list);

	for_each_pci_dev(pdev)
		have++;
	vmmtest_check(have == want, "tree-count", "%d functions, expected %d", have, want);
}

/* Every memory/io resource of every function got an address inside its bridge windows. */
static void check_resources(void)
{
	struct pci_dev *pdev = NULL;
	int i, bad;

	for_each_pci_dev(pdev) {
		bad = 0;
		for (i = 0; i < PCI_NUM_RESOURCES; i++) {
			struct resource *r = &pdev->resource[i];

			if (r->flags && resource_size(r) && !r->parent)
				bad++;
		}
		vmmtest_check(!bad, "resources", "%s: %d unassigned", pci_name(pdev), bad);
	}
}

struct irq_wait {
	struct completion done;
};

static irqreturn_t testdev_irq(int irq, void *data)
{
	complete(&((struct irq_wait *)data)->done);
	return IRQ_HANDLED;
}

/*
 * A testdev without a driver: enable it, check its registers, raise MSI-X vector 0 and
 * register BAR2 as P2P memory. Left enabled (bus master) for the DMA checks.
 */
static void setup_testdev(struct pci_dev *pdev)
{
	const char *bdf = pci_name(pdev);
	struct irq_wait wait;
	void __iomem *regs;
	u32 magic;
	int irq, err;

	err = pci_enable_device_mem(pdev);
	vmmtest_check(!err, "testdev-enable", "%s (%d)", bdf, err);
	if (err)
		return;
	pci_set_master(pdev);
	regs = pci_iomap(pdev, 0, 0);
	if (!regs) {
		vmmtest_check(false, "testdev-regs", "%s: cannot map BAR0", bdf);
		return;
	}
	magic = ioread32(regs + TESTDEV_REG_MAGIC);
	vmmtest_check(magic == TESTDEV_MAGIC, "testdev-regs", "%s magic %#x", bdf, magic);

	err = pci_alloc_irq_vectors(pdev, 1, 1, PCI_IRQ_MSIX);
	if (err < 0) {
		vmmtest_check(false, "testdev-msix", "%s: pci_alloc_irq_vectors %d", bdf, err);
	} else {
		irq = pci_irq_vector(pdev, 0);
		init_completion(&wait.done);
		err = request_irq(irq, testdev_irq, 0, "vmmtest", &wait);
		if (err) {
			vmmtest_check(false, "testdev-msix", "%s: request_irq %d", bdf, err);
		} else {
			iowrite32(0, regs + TESTDEV_REG_RAISE);
			vmmtest_check(wait_for_completion_timeout(&wait.done, 10 * HZ),
				      "testdev-msix", "%s irq %d", bdf, irq);
			free_irq(irq, &wait);
		}
		pci_free_irq_vectors(pdev);
	}
	pci_iounmap(pdev, regs);

	if (!(pci_resource_flags(pdev, TESTDEV_RAM_BAR) & IORESOURCE_MEM) ||
	    !pci_resource_len(pdev, TESTDEV_RAM_BAR))
		return;
	err = pci_p2pdma_add_resource(pdev, TESTDEV_RAM_BAR, 0, 0);
	vmmtest_check(!err, "p2pmem-add", "%s BAR2 %llu KiB (%d)", bdf,
		      (unsigned long long)pci_resource_len(pdev, TESTDEV_RAM_BAR) >> 10, err);
	if (!err)
		pci_p2pmem_publish(pdev, true);
}

/* A CPU store into p2pmem and back: the BAR is RAM-backed, so it must simply hold data. */
static void check_p2pmem_cpu(struct pci_dev *pdev)
{
	u32 *buf = pci_alloc_p2pmem(pdev, DMA_TEST_LEN);
	int i, bad = 0;

	if (!buf) {
		vmmtest_check(false, "p2pmem-cpu", "%s: pci_alloc_p2pmem failed", pci_name(pdev));
		return;
	}
	for (i = 0; i < DMA_TEST_LEN / 4; i++)
		buf[i] = 0x5a000000 | i;
	for (i = 0; i < DMA_TEST_LEN / 4; i++)
		bad += buf[i] != (0x5a000000 | i);
	vmmtest_check(!bad, "p2pmem-cpu", "%s bus %#llx: %d words differ", pci_name(pdev),
		      (unsigned long long)pci_p2pmem_virt_to_bus(pdev, buf), bad);
	pci_free_p2pmem(pdev, buf, DMA_TEST_LEN);
}

static int testdev_copy(struct pci_dev *pdev, void __iomem *regs, u64 src, u64 dst, u32 len)
{
	iowrite32(lower_32_bits(src), regs + TESTDEV_REG_DMA_SRC);
	iowrite32(upper_32_bits(src), regs + TESTDEV_REG_DMA_SRC + 4);
	iowrite32(lower_32_bits(dst), regs + TESTDEV_REG_DMA_DST);
	iowrite32(upper_32_bits(dst), regs + TESTDEV_REG_DMA_DST + 4);
	iowrite32(len, regs + TESTDEV_REG_DMA_LEN);
	iowrite32(1, regs + TESTDEV_REG_DMA_GO);
	return ioread32(regs + TESTDEV_REG_DMA_STATUS);
}

/*
 * The client's DMA engine writes RAM -> provider p2pmem, then reads it back p2pmem -> RAM,
 * using the bus addresses Linux's P2PDMA hands out (pci_p2pmem_virt_to_bus).
 */
static void check_p2p_dma(struct pci_dev *prov, struct pci_dev *client, const char *pair)
{
	void __iomem *regs = NULL;
	dma_addr_t ram_bus;
	u8 *p2pbuf, *ram;
	u64 p2p_bus;
	int st, i;

	p2pbuf = pci_alloc_p2pmem(prov, DMA_TEST_LEN);
	ram = dma_alloc_coherent(&client->dev, DMA_TEST_LEN, &ram_bus, GFP_KERNEL);
	if (pci_is_enabled(client))
		regs = pci_iomap(client, 0, 0);
	if (!p2pbuf || !ram || !regs) {
		vmmtest_check(false, "p2p-dma", "%s: setup failed (p2pmem %d ram %d regs %d)", pair,
			      !!p2pbuf, !!ram, !!regs);
		goto out;
	}
	p2p_bus = pci_p2pmem_virt_to_bus(prov, p2pbuf);

	for (i = 0; i < DMA_TEST_LEN; i++)
		ram[i] = (u8)(i * 7 + 1);
	memset(p2pbuf, 0, DMA_TEST_LEN);
	st = testdev_copy(client, regs, ram_bus, p2p_bus, DMA_TEST_LEN);
	vmmtest_check(!st && !memcmp(p2pbuf, ram, DMA_TEST_LEN), "p2p-dma-write",
		      "%s RAM %#llx -> p2pmem %#llx status %d", pair, (unsigned long long)ram_bus,
		      p2p_bus, st);

	for (i = 0; i < DMA_TEST_LEN; i++)
		p2pbuf[i] = (u8)(i * 13 + 5);
	memset(ram, 0, DMA_TEST_LEN);
	st = testdev_copy(client, regs, p2p_bus, ram_bus, DMA_TEST_LEN);
	vmmtest_check(!st && !memcmp(p2pbuf, ram, DMA_TEST_LEN), "p2p-dma-read",
		      "%s p2pmem %#llx -> RAM %#llx status %d", pair, p2p_bus,
		      (unsigned long long)ram_bus, st);
out:
	if (regs)
		pci_iounmap(client, regs);
	if (ram)
		dma_free_coherent(&client->dev, DMA_TEST_LEN, ram, ram_bus);
	if (p2pbuf)
		pci_free_p2pmem(prov, p2pbuf, DMA_TEST_LEN);
}

/* vmmtest.p2p: Linux's verdict on each provider+client pair, and data through the ok ones. */
static void check_p2p(void)
{
	char *list, *cur, *item;

	if (!p2p || !*p2p)
		return;
	list = kstrdup(p2p, GFP_KERNEL);
	if (!list)
		return;
	cur = list;
	while ((item = strsep(&cur, ","))) {
		char *plus = strchr(item, '+'), *eq = strchr(item, '=');
		struct pci_dev *prov, *client;
		bool want;
		int dist;

		if (!*item)
			continue;
		if (!plus || !eq || eq < plus || (strcmp(eq, "=ok") && strcmp(eq, "=no"))) {
			vmmtest_check(false, "p2p-distance", "%s: malformed vmmtest.p2p item",
				      item);
			continue;
		}
		want = !strcmp(eq, "=ok");
		*eq = 0;
		prov = get_bdf(item);
		client = get_bdf(plus + 1);
		if (!prov || !client) {
			vmmtest_check(false, "p2p-distance", "%s: no such function", item);
		} else if (!rcu_access_pointer(prov->p2pdma)) {
			vmmtest_check(false, "p2p-distance", "%s: provider has no p2pmem", item);
		} else {
			dist = pci_p2pdma_distance(prov, &client->dev, true);
			vmmtest_check((dist >= 0) == want, "p2p-distance",
				      "%s distance %d, expected %s", item, dist,
				      want ? "valid" : "invalid");
			if (want && dist >= 0 && is_testdev(client))
				check_p2p_dma(prov, client, item);
		}
		pci_dev_put(prov);
		pci_dev_put(client);
	}
	kfree(list);
}

static int __init vmm_selftest(void)
{
	struct pci_dev *pdev = NULL;

	/* async probes (nvme's reset work, the partition scan) must be finished */
	wait_for_device_probe();
	pr_info("VMMTEST begin\n");
	report_tree();
	check_tree();
	check_resources();
	for_each_pci_dev(pdev) if (is_testdev(pdev) && !pdev->dev.driver) setup_testdev(pdev);
	for_each_pci_dev(pdev) if (is_testdev(pdev) && rcu_access_pointer(pdev->p2pdma))
		check_p2pmem_cpu(pdev);
	check_p2p();
	vmmtest_nvme();
	vmmtest_ntb();
	vmmtest_ntb_net();
	pr_info("VMMTEST done pass=%d fail=%d skip=%d\n", npass, nfail, nskip);
	if (poweroff)
		kernel_power_off();
	return 0;
}
late_initcall_sync(vmm_selftest);
