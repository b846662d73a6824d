/* SPDX-License-Identifier: MIT */
/*
 * Peer-to-peer DMA: testdev A copies guest RAM into testdev B's RAM BAR by bus address (the
 * windows pass addresses through unchanged, so bus address = CPU physical address), then
 * copies it back out into RAM, then is pointed at a hole and must report "destination
 * unreachable" instead of writing anywhere.
 */
#include "pcie_enum.h"

#define P2P_LEN	       4096
#define HOLE_CANDIDATE 0xFD000000ULL /* high in the 32-bit MMIO range: BARs start low */

static void dma(const struct pci_func *a, uint64_t src, uint64_t dst, uint32_t len)
{
	uint64_t regs = a->bar[0].addr;

	mmio_write32(regs + TESTDEV_REG_DMA_SRC, (uint32_t)src);
	mmio_write32(regs + TESTDEV_REG_DMA_SRC + 4, (uint32_t)(src >> 32));
	mmio_write32(regs + TESTDEV_REG_DMA_DST, (uint32_t)dst);
	mmio_write32(regs + TESTDEV_REG_DMA_DST + 4, (uint32_t)(dst >> 32));
	mmio_write32(regs + TESTDEV_REG_DMA_LEN, len);
	mmio_write32(regs + TESTDEV_REG_DMA_GO, 1);
}

static uint32_t dma_status(const struct pci_func *a)
{
	return mmio_read32(a->bar[0].addr + TESTDEV_REG_DMA_STATUS);
}

/* Index of the first differing 64-bit word, or -1. */
static long first_diff(const uint64_t *x, const volatile uint64_t *y, size_t words)
{
	for (size_t i = 0; i < words; i++)
		if (x[i] != y[i])
			return (long)i;
	return -1;
}

void p2p_check(const struct pci_scan *s, const struct pci_func *a, const struct pci_func *b)
{
	const struct bar *b2 = &b->bar[2];
	uint64_t *src = rt_alloc(P2P_LEN, 4096), *back = rt_alloc(P2P_LEN, 4096);
	volatile uint64_t *peer = (volatile uint64_t *)(uintptr_t)b2->addr;
	size_t words = P2P_LEN / 8;
	int errors = rt_failures;
	uint32_t st;
	long d;
	char an[16], bn[16];

	rt_snprintf(an, sizeof(an), "%02x:%02x.%x", a->bus, PCI_SLOT(a->devfn), PCI_FUNC(a->devfn));
	rt_snprintf(bn, sizeof(bn), "%02x:%02x.%x", b->bus, PCI_SLOT(b->devfn), PCI_FUNC(b->devfn));
	if (!src || !back || b2->size < P2P_LEN) {
		rt_fail("p2p: no buffer, or %s's RAM BAR is under %d bytes", bn, P2P_LEN);
		return;
	}
	if (b2->addr + b2->size > 0x100000000ULL && rt_map(b2->addr, b2->size, 0) != 0) {
		rt_fail("p2p: cannot map %s bar2 at 0x%llx", bn, (unsigned long long)b2->addr);
		return;
	}
	for (size_t i = 0; i < words; i++) {
		src[i] = 0x5050325000000000ULL ^ (i * 0x9e3779b97f4a7c15ULL);
		back[i] = 0;
		peer[i] = 0;
	}

	dma(a, (uint64_t)(uintptr_t)src, b2->addr, P2P_LEN);
	st = dma_status(a);
	if (st != TESTDEV_DMA_OK)
		rt_fail("p2p: %s -> %s bar2 0x%llx status %u", an, bn, (unsigned long long)b2->addr,
			st);
	else if ((d = first_diff(src, peer, words)) >= 0)
		rt_fail("p2p: %s bar2 word %ld is 0x%llx, wrote 0x%llx", bn, d,
			(unsigned long long)peer[d], (unsigned long long)src[d]);

	/* And back: the peer BAR as the DMA source, RAM as destination. */
	dma(a, b2->addr, (uint64_t)(uintptr_t)back, P2P_LEN);
	st = dma_status(a);
	if (st != TESTDEV_DMA_OK)
		rt_fail("p2p: %s bar2 -> RAM by %s status %u", bn, an, st);
	else if ((d = first_diff(src, back, words)) >= 0)
		rt_fail("p2p: read back from %s bar2 differs at word %ld", bn, d);
	if (rt_failures == errors)
		rt_printf("pcie-enum: p2p dma ok %s -> %s bar2 0x%llx %d bytes, and back\n", an, bn,
			  (unsigned long long)b2->addr, P2P_LEN);

	if (scan_range_used(s, HOLE_CANDIDATE, P2P_LEN)) {
		rt_printf("pcie-enum: p2p hole check skipped: 0x%llx is in use\n",
			  (unsigned long long)HOLE_CANDIDATE);
		return;
	}
	dma(a, (uint64_t)(uintptr_t)src, HOLE_CANDIDATE, P2P_LEN);
	st = dma_status(a);
	if (st != TESTDEV_DMA_BAD_DST)
		rt_fail("p2p: dma to hole 0x%llx status %u, expected %u",
			(unsigned long long)HOLE_CANDIDATE, st, TESTDEV_DMA_BAD_DST);
	else
		rt_printf("pcie-enum: p2p dma to hole 0x%llx status %u ok\n",
			  (unsigned long long)HOLE_CANDIDATE, st);
}
