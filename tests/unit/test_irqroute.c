/* SPDX-License-Identifier: MIT */
/* MSI routes through irqfds, with the kernel calls faked (no /dev/kvm needed). */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmm/irqroute.h"
#include "vmm/pci/pci.h"
#include "vmm/pci/pci_internal.h"
#include "vmm/util.h"

static struct irqroute r;
static int irqfds, signals, fail_routing;

static int fake_ioctl(int fd, unsigned long req, void *arg)
{
	if (req == KVM_SET_GSI_ROUTING && fail_routing) {
		errno = EINVAL;
		return -1;
	}
	if (req == KVM_IRQFD && !(((struct kvm_irqfd *)arg)->flags & KVM_IRQFD_FLAG_DEASSIGN))
		irqfds++;
	if (req == KVM_SIGNAL_MSI)
		signals++;
	return 0;
}

static void setup(void)
{
	irqroute_init(&r, -1);
	r.ioctl = fake_ioctl;
	irqfds = signals = fail_routing = 0;
}

static void teardown(void)
{
	irqroute_destroy(&r);
}

TestSuite(irqroute, .init = setup, .fini = teardown);

static uint64_t drain(int route)
{
	eventfd_t v = 0;

	eventfd_read(r.e[route].efd, &v);
	return v;
}

Test(irqroute, bind_makes_a_route_and_fire_signals_its_eventfd)
{
	int route = -1;

	cr_assert_eq(irqroute_bind(&r, &route, 0xfee00000, 0x40), 0);
	cr_assert_eq(route, 0);
	cr_assert_eq(r.e[0].gsi, IRQROUTE_FIRST_GSI);
	cr_assert_eq(irqfds, 1);
	cr_assert_eq(r.rewrites, 1);
	cr_assert(irqroute_fire(&r, route));
	cr_assert(irqroute_fire(&r, route));
	cr_assert_eq(drain(route), 2);
	cr_assert_eq(r.rewrites, 1, "delivery rewrites nothing");
	cr_assert_not(irqroute_fire(&r, 1), "no such route");
	cr_assert_not(irqroute_fire(&r, -1));
}

Test(irqroute, rebinding_reuses_the_route_and_only_a_change_rewrites)
{
	int route = -1;

	irqroute_bind(&r, &route, 0xfee00000, 0x40);
	cr_assert_eq(irqroute_bind(&r, &route, 0xfee00000, 0x40), 0);
	cr_assert_eq(r.rewrites, 1, "same message: nothing to do");
	cr_assert_eq(irqroute_bind(&r, &route, 0xfee01000, 0x41), 0);
	cr_assert_eq(route, 0);
	cr_assert_eq(r.n, 1);
	cr_assert_eq(r.rewrites, 2);
	cr_assert_eq(r.e[0].addr, 0xfee01000);
}

Test(irqroute, a_failed_rewrite_keeps_the_route_number_for_the_retry)
{
	int route = -1;

	fail_routing = 1;
	cr_assert_lt(irqroute_bind(&r, &route, 0xfee00000, 0x40), 0);
	cr_assert_eq(route, 0);
	fail_routing = 0;
	cr_assert_eq(irqroute_bind(&r, &route, 0xfee00000, 0x40), 0);
	cr_assert_eq(r.n, 1, "no second GSI for the same vector");
}

Test(irqroute, full_table_refuses_and_messages_fall_back_to_signal_msi)
{
	int route;

	for (int v = 0; v < IRQROUTE_MAX; v++) {
		route = -1;
		cr_assert_eq(irqroute_bind(&r, &route, 0xfee00000, 0x100 + (uint32_t)v), 0);
	}
	route = -1;
	cr_assert_eq(irqroute_bind(&r, &route, 0xfee00000, 0x20), -ENOSPC);
	cr_assert_eq(route, -1);
	irqroute_msi(&r, 0xfee00000, 0x20);
	cr_assert_eq(signals, 1);
	cr_assert_eq(r.fallbacks, 1);
}

/* ---- through the PCI core: routes bound when the guest programs a vector ---- */

static uint64_t host_msis;

static void host_msi(void *opaque, uint64_t addr, uint32_t data)
{
	host_msis++;
}

static int host_route(void *opaque, int *route, uint64_t addr, uint32_t data)
{
	return irqroute_bind(opaque, route, addr, data);
}

static bool host_fire(void *opaque, int route)
{
	return irqroute_fire(opaque, route);
}

static const struct pci_host_ops host = {
	.msi = host_msi, .msi_route = host_route, .msi_fire = host_fire};

static uint64_t bar_read(void *o, uint64_t off, unsigned size)
{
	return 0;
}

static void bar_write(void *o, uint64_t off, uint64_t v, unsigned size)
{
}

static const struct bus_ops bar_ops = {.read = bar_read, .write = bar_write};

/*
 * Four NVMe controllers at 65 vectors each (the admin queue and 64 I/O queues): 260 distinct
 * messages. The old irqroute kept 256 routes, looked messages up on every interrupt and,
 * on a miss, recycled the least recently used route with a whole-table rewrite: interrupts
 * in turn on all 260 vectors rewrote the table on nearly every one. Now each vector is bound
 * once, when programmed, and no delivery rewrites anything.
 */
Test(irqroute, four_controllers_at_65_vectors_do_not_thrash_the_routing_table)
{
	enum { NDEV = 4, NVEC = 65, ROUNDS = 20 };
	static struct pci_dev dev[NDEV];
	struct pci_root root;
	uint64_t after_programming, fired = 0;

	pci_root_init(&root, &host, &r, NULL, 0);
	for (int d = 0; d < NDEV; d++) {
		pci_dev_init(&dev[d], "nvme", 0x1234, 0x7110, 0x010802, 0, false);
		cr_assert_eq(pci_dev_set_bar(&dev[d], 0, PCI_BAR_MEM64, false, 0x4000, &bar_ops,
					     NULL, NULL),
			     0);
		cr_assert_eq(pci_add_msix(&dev[d], NVEC, 0, 0x2000, 0x3000), 0);
		cr_assert_eq(pci_bus_add(&root.bus0, &dev[d], PCI_DEVFN(d + 1, 0)), 0);
		pci_config_write(&root, 0, PCI_DEVFN(d + 1, 0), PCI_COMMAND, PCI_COMMAND_MASTER, 2);
		pci_config_write(&root, 0, PCI_DEVFN(d + 1, 0), dev[d].msix.cap + PCI_MSIX_FLAGS,
				 PCI_MSIX_FLAGS_ENABLE, 2);
		/* as Linux programs each entry: message while masked, then unmask */
		for (int v = 0; v < NVEC; v++) {
			uint64_t e = 0x2000 + (uint64_t)v * PCI_MSIX_ENTRY_SIZE, a = 0xfee00000;
			uint64_t data = 0x4000u | (uint32_t)(d * NVEC + v);

			pci_msix_mmio(&dev[d], 0, e, &a, 8, true);
			pci_msix_mmio(&dev[d], 0, e + 8, &data, 4, true);
			data = 0;
			pci_msix_mmio(&dev[d], 0, e + 12, &data, 4, true);
		}
	}
	cr_assert_eq(r.n, NDEV * NVEC, "one route per programmed vector");
	after_programming = r.rewrites;
	cr_assert_leq(after_programming, NDEV * NVEC);
	for (int round = 0; round < ROUNDS; round++)
		for (int v = 0; v < NVEC; v++)
			for (int d = 0; d < NDEV; d++)
				cr_assert(pci_notify(&dev[d], v));
	for (int i = 0; i < r.n; i++)
		fired += drain(i);
	cr_assert_eq(r.rewrites, after_programming, "%llu rewrites during delivery",
		     (unsigned long long)(r.rewrites - after_programming));
	cr_assert_eq(fired, (uint64_t)ROUNDS * NDEV * NVEC, "every interrupt through its irqfd");
	cr_assert_eq(host_msis, 0, "none fell back");
	/* reprogramming one vector rebinds its own route, once */
	{
		uint64_t data = 0x4999;

		pci_msix_mmio(&dev[2], 0, 0x2000 + 7 * PCI_MSIX_ENTRY_SIZE + 8, &data, 4, true);
	}
	cr_assert_eq(r.rewrites, after_programming + 1);
	cr_assert_eq(r.n, NDEV * NVEC);
	pci_root_destroy(&root);
}
