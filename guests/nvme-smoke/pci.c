/* SPDX-License-Identifier: MIT */
/*
 * Find NVMe functions the way an OS does after firmware enumerated the tree: walk ECAM from
 * bus 0, follow every bridge to the secondary bus firmware programmed. Nothing is assigned
 * here; BAR sizing (for the CMB) turns decoding off meanwhile and restores the BAR.
 */
#include "nvme_smoke.h"

#define MAX_DEPTH 16

static bool present(uint8_t bus, uint8_t devfn)
{
	uint16_t vendor = mmio_read16(ecam_addr(bus, devfn, 0));

	return vendor != 0xffff && vendor != 0;
}

static void scan_bus(uint8_t bus, int depth, struct nvme_pci *out, int max, int *n)
{
	for (uint8_t dev = 0; dev < 32; dev++) {
		uint8_t nfn = 1;

		for (uint8_t fn = 0; fn < nfn; fn++) {
			uint8_t devfn = (uint8_t)(dev << 3 | fn);
			uint32_t hdr, class_code;

			if (!present(bus, devfn))
				continue;
			hdr = mmio_read8(ecam_addr(bus, devfn, PCI_HEADER_TYPE));
			if (fn == 0 && (hdr & 0x80))
				nfn = 8;
			class_code = mmio_read32(ecam_addr(bus, devfn, PCI_CLASS_REVISION)) >> 8;
			if ((hdr & 0x7f) == 1) {
				uint32_t b = mmio_read32(ecam_addr(bus, devfn, PCI_PRIMARY_BUS));
				uint8_t sec = (uint8_t)(b >> 8);

				if (sec > bus && depth < MAX_DEPTH)
					scan_bus(sec, depth + 1, out, max, n);
			} else if (class_code == PCI_CLASS_NVME && *n < max) {
				struct nvme_pci *p = &out[(*n)++];
				uint32_t id = mmio_read32(ecam_addr(bus, devfn, 0));

				p->bus = bus;
				p->devfn = devfn;
				p->vendor = (uint16_t)id;
				p->device = (uint16_t)(id >> 16);
				rt_snprintf(p->bdf, sizeof(p->bdf), "%02x:%02x.%x", bus, dev, fn);
			}
		}
	}
}

int pci_find_nvme(struct nvme_pci *out, int max)
{
	int n = 0;

	scan_bus(0, 0, out, max, &n);
	return n;
}

uint64_t pci_bar_addr(const struct nvme_pci *p, int bir)
{
	uint16_t reg = (uint16_t)(PCI_BASE_ADDRESS_0 + 4 * bir);
	uint32_t lo = pci_read32(p, reg);
	uint64_t addr = lo & ~0xfULL;

	if ((lo & 7) == PCI_BASE_ADDRESS_MEM_TYPE_64 && bir < 5)
		addr |= (uint64_t)pci_read32(p, (uint16_t)(reg + 4)) << 32;
	return addr;
}

/* PCI Local Bus 3.0 6.2.5.1: write all ones, read back, restore (decoding off meanwhile). */
uint64_t pci_bar_size(const struct nvme_pci *p, int bir)
{
	uint16_t reg = (uint16_t)(PCI_BASE_ADDRESS_0 + 4 * bir), cmd = pci_read16(p, PCI_COMMAND);
	uint32_t lo = pci_read32(p, reg), hi = 0, szlo, szhi = 0xffffffffu;
	bool is64 = (lo & 7) == PCI_BASE_ADDRESS_MEM_TYPE_64 && bir < 5;
	uint64_t mask;

	pci_write16(p, PCI_COMMAND, (uint16_t)(cmd & ~PCI_COMMAND_MEMORY));
	pci_write32(p, reg, 0xffffffffu);
	szlo = pci_read32(p, reg);
	pci_write32(p, reg, lo);
	if (is64) {
		hi = pci_read32(p, (uint16_t)(reg + 4));
		pci_write32(p, (uint16_t)(reg + 4), 0xffffffffu);
		szhi = pci_read32(p, (uint16_t)(reg + 4));
		pci_write32(p, (uint16_t)(reg + 4), hi);
	}
	pci_write16(p, PCI_COMMAND, cmd);
	if (szlo == 0 || (szlo & 1))
		return 0;
	mask = (uint64_t)szhi << 32 | (szlo & ~0xfu);
	return mask & (~mask + 1);
}

uint8_t pci_find_cap(const struct nvme_pci *p, uint8_t id)
{
	uint8_t ptr;
	int guard = 48;

	if (!(pci_read16(p, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return 0;
	ptr = (uint8_t)(pci_read32(p, PCI_CAPABILITY_LIST) & 0xfc);
	while (ptr >= 0x40 && guard--) {
		uint32_t v = pci_read32(p, ptr);

		if ((v & 0xff) == id)
			return ptr;
		ptr = (uint8_t)(v >> 8 & 0xfc);
	}
	return 0;
}

/*
 * Identity-map every memory BAR above 4 GiB (the runtime maps only the first 4 GiB). Ring 0
 * only: rt_map writes the page tables and flushes the TLB, which #GPs at CPL 3.
 */
void pci_map_high_bars(const struct nvme_pci *p)
{
	for (int bir = 0; bir < 6; bir++) {
		uint32_t lo = pci_read32(p, (uint16_t)(PCI_BASE_ADDRESS_0 + 4 * bir));
		bool is64 = (lo & 7) == PCI_BASE_ADDRESS_MEM_TYPE_64;
		uint64_t addr, size;

		if (lo & 1)
			continue; /* I/O BAR */
		addr = pci_bar_addr(p, bir);
		if (addr >= 0x100000000ULL && (size = pci_bar_size(p, bir)) != 0 &&
		    rt_map(addr, size, RT_MAP_UC) != 0)
			rt_printf("nvme-smoke: FAIL %s cannot map bar%d 0x%llx\n", p->bdf, bir,
				  (unsigned long long)addr);
		if (is64)
			bir++;
	}
}
