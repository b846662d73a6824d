/* SPDX-License-Identifier: MIT */
/*
 * pcie-enum: checks a VMM's PCIe tree from the inside, as an OS would meet it after
 * firmware enumerated it (vmm's pci_assign, or SeaBIOS under QEMU q35).
 *
 *   1. ECAM scan from bus 0 through every bridge: IDs, class, BARs (sized), windows,
 *      bus numbers, capability lists; BARs and windows must lie in their bridge's windows.
 *   2. The device tree vmm passes as the last PVH module ("vmm-dtb") lists exactly the
 *      functions the scan found, with the same IDs, nested under their bridges.
 *   3. Every testdev (1234:7120): magic, and MSI-X into the local APIC (deliver, mask ->
 *      pending bit, unmask -> delivered and pending cleared).
 *   4. Two testdevs with RAM BARs: peer-to-peer DMA from one into the other, and a DMA
 *      into a hole that must fail.
 *   5. Every PLX DMA engine (10b5:87d0): a descriptor ring as Linux's plx_dma builds it, a
 *      copy RAM -> RAM and one into the first testdev RAM BAR (plx.c).
 *
 * Output (every line starts with "pcie-enum: "; BB:DD.F and IDs in lower-case hex):
 *   pcie-enum: BB:DD.F VVVV:DDDD class CCCCCC hdr H cmd 0xCCCC [bus SS-UU]
 *   pcie-enum:   barN 0xADDR(16 digits) size 0xS io|mem32|mem64[ pref]
 *   pcie-enum:   window io 0xB-0xL mem 0xB-0xL pref 0xB-0xL           (bridges)
 *   pcie-enum:   caps OFF:ID ...|none[ ext OFF:ID ...]
 *   pcie-enum: scan found N functions
 *   pcie-enum: dtb matches N functions   | pcie-enum: no dtb module | pcie-enum: FAIL ...
 *   pcie-enum: testdev BB:DD.F magic ok vectors N
 *   pcie-enum: msix BB:DD.F ok
 *   pcie-enum: p2p dma ok BB:DD.F -> BB:DD.F N bytes
 *   pcie-enum: p2p dma to hole 0xADDR status 2 ok
 *   pcie-enum: plx dma ok BB:DD.F ram -> ram N bytes | ram -> bar2 0xADDR N bytes
 *   pcie-enum: tsc main->done C
 *   pcie-enum: done errors=N
 * Every failed check prints "pcie-enum: FAIL <what>". Exit: power off (status 0) when no
 * check failed, else rt_exit(1) (status 3).
 */
#include "pcie_enum.h"

#define MILESTONE_SCAN_DONE 0x10
#define MILESTONE_DONE	    0x11

const char *rt_prog = "pcie-enum";

static struct pci_scan scan;

static bool is_testdev(const struct pci_func *f)
{
	return f->vendor == TESTDEV_VENDOR && f->device == TESTDEV_DEVICE && f->hdr == 0;
}

static void check_testdevs(void)
{
	const struct pci_func *ram[2] = {NULL, NULL};
	int nram = 0;

	for (int i = 0; i < scan.n; i++) {
		const struct pci_func *f = &scan.f[i];
		char name[16];

		if (!is_testdev(f))
			continue;
		rt_snprintf(name, sizeof(name), "%02x:%02x.%x", f->bus, PCI_SLOT(f->devfn),
			    PCI_FUNC(f->devfn));
		if (f->bar[0].kind != BAR_MEM32 || f->bar[0].size < 0x10000 || !f->bar[0].addr) {
			rt_fail("testdev %s bar0 is not a 64 KiB mem32 BAR", name);
			continue;
		}
		if ((f->command & (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER)) !=
		    (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER))
			rt_fail("testdev %s command 0x%04x lacks memory or master", name,
				f->command);
		uint32_t magic = mmio_read32(f->bar[0].addr + TESTDEV_REG_MAGIC);
		if (magic != TESTDEV_MAGIC) {
			rt_fail("testdev %s magic 0x%08x", name, magic);
			continue;
		}
		rt_printf("pcie-enum: testdev %s magic ok vectors %u\n", name,
			  mmio_read32(f->bar[0].addr + TESTDEV_REG_NVEC));
		msix_check(f, name);
		if (f->bar[2].kind == BAR_MEM64 && f->bar[2].size && nram < 2)
			ram[nram++] = f;
	}
	plx_check(&scan, ram[0]);
	if (nram == 2)
		p2p_check(&scan, ram[0], ram[1]);
	else
		rt_printf("pcie-enum: p2p skipped: %d testdevs with a RAM BAR\n", nram);
}

int main(void)
{
	uint64_t t0 = rt_rdtsc();

	rt_printf("pcie-enum: ecam 0x%llx\n", (unsigned long long)ECAM_BASE);
	scan_tree(&scan);
	rt_milestone(MILESTONE_SCAN_DONE);
	rt_printf("pcie-enum: tsc main->scan %llu\n", (unsigned long long)(rt_rdtsc() - t0));
	dtb_check(&scan);
	check_testdevs();
	rt_milestone(MILESTONE_DONE);
	rt_printf("pcie-enum: tsc main->done %llu\n", (unsigned long long)(rt_rdtsc() - t0));
	rt_printf("pcie-enum: done errors=%d\n", rt_failures);
	if (rt_failures == 0)
		rt_poweroff();
	return 1;
}
