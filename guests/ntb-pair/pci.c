/* SPDX-License-Identifier: MIT */
/*
 * Finding the NT function: an ECAM walk from bus 0 through every bridge (bus numbers as
 * firmware, here vmm's pci_assign, programmed them), then its BARs as assigned. BAR sizes
 * come from BARSETUP (SIZE is log2 of the aperture), as ntb_hw_idt reads them.
 */
#include "ntb_pair.h"

#define MAX_DEPTH 16

static uint64_t ecam(uint8_t bus, uint8_t devfn, unsigned off)
{
	return ECAM_BASE + ((uint64_t)bus << 20) + ((uint64_t)devfn << 12) + off;
}

static bool scan_bus(struct ntb_dev *d, uint8_t bus, int depth)
{
	for (unsigned dev = 0; dev < 32; dev++) {
		unsigned nfn = 1;

		for (unsigned fn = 0; fn < nfn; fn++) {
			uint8_t devfn = (uint8_t)(dev << 3 | fn);
			uint32_t id = mmio_read32(ecam(bus, devfn, 0));
			uint8_t hdr, sec;

			if ((id & 0xffff) == 0xffff || (id & 0xffff) == 0)
				continue;
			hdr = (uint8_t)(mmio_read32(ecam(bus, devfn, PCI_HEADER_TYPE & ~3u)) >> 16);
			if (fn == 0 && (hdr & 0x80))
				nfn = 8;
			if (id == ((uint32_t)IDT_DEVICE << 16 | IDT_VENDOR)) {
				d->bus = bus;
				d->devfn = devfn;
				return true;
			}
			if ((hdr & 0x7f) != 1 || depth >= MAX_DEPTH)
				continue;
			sec = (uint8_t)(mmio_read32(ecam(bus, devfn, PCI_SECONDARY_BUS & ~3u)) >>
					8);
			if (sec > bus && scan_bus(d, sec, depth + 1))
				return true;
		}
	}
	return false;
}

uint32_t cfg_read32(const struct ntb_dev *d, unsigned off)
{
	return mmio_read32(ecam(d->bus, d->devfn, off));
}

void cfg_write32(const struct ntb_dev *d, unsigned off, uint32_t v)
{
	mmio_write32(ecam(d->bus, d->devfn, off), v);
}

static uint64_t bar_addr(const struct ntb_dev *d, int i)
{
	uint32_t lo = mmio_read32(ecam(d->bus, d->devfn, PCI_BAR0 + 4 * i));
	uint64_t hi = 0;

	if ((lo & 6) == 4)
		hi = mmio_read32(ecam(d->bus, d->devfn, PCI_BAR0 + 4 * i + 4));
	return hi << 32 | (lo & ~0xfu);
}

int pci_find_ntb(struct ntb_dev *d)
{
	uint16_t cmd;
	uint32_t setup;

	if (!scan_bus(d, 0, 0)) {
		rt_fail("no %04x:%04x function on the ECAM walk", IDT_VENDOR, IDT_DEVICE);
		return -1;
	}
	cmd = mmio_read16(ecam(d->bus, d->devfn, PCI_COMMAND));
	mmio_write16(ecam(d->bus, d->devfn, PCI_COMMAND),
		     cmd | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	d->regs = bar_addr(d, 0);
	d->mw_addr = bar_addr(d, 2);
	if (!d->regs || d->regs >= 0x100000000ULL) {
		rt_fail("BAR0 0x%llx is not a 32-bit address", (unsigned long long)d->regs);
		return -1;
	}
	setup = nt_read(d, IDT_NT_BARSETUP(2));
	if (!(setup & IDT_BARSETUP_EN) || !(setup & IDT_BARSETUP_TYPE_64) || !d->mw_addr) {
		rt_fail("BAR2 is not a 64-bit window (BARSETUP2 0x%08x, address 0x%llx)", setup,
			(unsigned long long)d->mw_addr);
		return -1;
	}
	d->mw_size = 1ULL << IDT_BARSETUP_SIZE(setup);
	rt_printf("ntb-pair: %s function %02x:%02x.%x bar0 0x%llx bar2 0x%llx size 0x%llx\n",
		  d->role, d->bus, d->devfn >> 3, d->devfn & 7, (unsigned long long)d->regs,
		  (unsigned long long)d->mw_addr, (unsigned long long)d->mw_size);
	return 0;
}
