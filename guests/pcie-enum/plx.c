/* SPDX-License-Identifier: MIT */
/*
 * The PLX DMA engine (10b5:87d0, devices/plx-dma) driven as Linux's plx_dma.c drives it: a
 * ring in RAM, RESET_VAL then the ring registers (plx_dma_alloc_chan_resources), descriptors
 * made VALID last (plx_dma_tx_submit), START (plx_dma_issue_pending), then polling each
 * descriptor until the engine clears VALID (plx_dma_process_desc). One copy RAM -> RAM and,
 * when a testdev has a RAM BAR, one into it by bus address.
 */
#include "pcie_enum.h"

#define PLX_LEN		     4096
#define PLX_REG_RING_ADDR    0x214
#define PLX_REG_RING_ADDR_HI 0x218
#define PLX_REG_RING_NEXT    0x21c
#define PLX_REG_RING_COUNT   0x220
#define PLX_REG_CTRL	     0x238
#define PLX_CTRL_RESET_VAL   0x1700 /* DESC_INVALID | the three *_DONE bits (write 1 to clear) */
#define PLX_CTRL_START_VAL   (PLX_CTRL_RESET_VAL | 0x4 | 0x8 | 0x40) /* WB_EN START OFF_CHIP */
#define PLX_DESC_VALID	     0x80000000u
#define PLX_DESC_SUCCESS     0x40000000u
#define PLX_RING_COUNT	     4

struct plx_desc {
	uint32_t flags_and_size;
	uint16_t dst_hi, src_hi;
	uint32_t dst_lo, src_lo;
};

static void put(volatile struct plx_desc *d, uint64_t dst, uint64_t src, uint32_t len)
{
	d->dst_lo = (uint32_t)dst;
	d->dst_hi = (uint16_t)(dst >> 32);
	d->src_lo = (uint32_t)src;
	d->src_hi = (uint16_t)(src >> 32);
	__atomic_store_n(&d->flags_and_size, len | PLX_DESC_VALID, __ATOMIC_RELEASE);
}

/* The engine runs on vmm's own thread: poll, bounded. */
static uint32_t wait_done(volatile struct plx_desc *d)
{
	uint32_t f = PLX_DESC_VALID;

	for (long i = 0; i < 2000000 && (f & PLX_DESC_VALID); i++)
		f = __atomic_load_n(&d->flags_and_size, __ATOMIC_ACQUIRE);
	return f;
}

static void one(const struct pci_func *f, const char *name, const struct pci_func *ram_bar)
{
	uint64_t regs = f->bar[0].addr;
	volatile struct plx_desc *ring = rt_alloc(PLX_RING_COUNT * sizeof(*ring), 4096);
	uint8_t *src = rt_alloc(PLX_LEN, 4096), *dst = rt_alloc(PLX_LEN, 4096);
	uint32_t fl;

	if (!ring || !src || !dst) {
		rt_fail("plx %s: no buffers", name);
		return;
	}
	for (int i = 0; i < PLX_LEN; i++) {
		src[i] = (uint8_t)(i * 13 + 7);
		dst[i] = 0;
	}
	for (int i = 0; i < PLX_RING_COUNT; i++)
		ring[i].flags_and_size = 0;
	mmio_write32(regs + PLX_REG_CTRL, PLX_CTRL_RESET_VAL);
	mmio_write32(regs + PLX_REG_RING_ADDR, (uint32_t)(uintptr_t)ring);
	mmio_write32(regs + PLX_REG_RING_ADDR_HI, (uint32_t)((uint64_t)(uintptr_t)ring >> 32));
	mmio_write32(regs + PLX_REG_RING_NEXT, (uint32_t)(uintptr_t)ring);
	mmio_write32(regs + PLX_REG_RING_COUNT, PLX_RING_COUNT);

	put(&ring[0], (uintptr_t)dst, (uintptr_t)src, PLX_LEN);
	mmio_write16(regs + PLX_REG_CTRL, PLX_CTRL_START_VAL);
	fl = wait_done(&ring[0]);
	if (fl != (PLX_DESC_SUCCESS | PLX_LEN))
		rt_fail("plx %s: descriptor 0 flags 0x%08x", name, fl);
	else if (memcmp(src, dst, PLX_LEN))
		rt_fail("plx %s: RAM copy differs", name);
	else
		rt_printf("pcie-enum: plx dma ok %s ram -> ram %d bytes\n", name, PLX_LEN);

	if (!ram_bar)
		return;
	const struct bar *b2 = &ram_bar->bar[2];
	if (b2->addr + b2->size > 0x100000000ULL && rt_map(b2->addr, b2->size, 0) != 0) {
		rt_fail("plx %s: cannot map the testdev RAM BAR", name);
		return;
	}
	put(&ring[1], b2->addr + 0x1000, (uintptr_t)src, PLX_LEN);
	mmio_write16(regs + PLX_REG_CTRL, PLX_CTRL_START_VAL);
	fl = wait_done(&ring[1]);
	if (fl != (PLX_DESC_SUCCESS | PLX_LEN))
		rt_fail("plx %s: descriptor 1 flags 0x%08x", name, fl);
	else if (memcmp(src, (const void *)(uintptr_t)(b2->addr + 0x1000), PLX_LEN))
		rt_fail("plx %s: P2P copy differs", name);
	else
		rt_printf("pcie-enum: plx dma ok %s ram -> bar2 0x%llx %d bytes\n", name,
			  (unsigned long long)b2->addr, PLX_LEN);
}

void plx_check(const struct pci_scan *s, const struct pci_func *ram_bar)
{
	for (int i = 0; i < s->n; i++) {
		const struct pci_func *f = &s->f[i];
		char name[16];

		if (f->vendor != 0x10b5 || f->device != 0x87d0 || f->hdr != 0)
			continue;
		rt_snprintf(name, sizeof(name), "%02x:%02x.%x", f->bus, PCI_SLOT(f->devfn),
			    PCI_FUNC(f->devfn));
		if (f->bar[0].kind != BAR_MEM32 || f->bar[0].size != 0x1000 || !f->bar[0].addr ||
		    (f->class_code != 0x088000)) {
			rt_fail("plx %s: bar0/class not as plx_dma expects", name);
			continue;
		}
		one(f, name, ram_bar);
	}
}
