/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: the PLX DMA engine (devices/plx-dma) in its inline mode (descriptors
 * run in the register write that starts the engine: deterministic, no thread). The guest
 * programs the ring registers, CTRL and the interrupt registers with any offset and width,
 * writes descriptors (any flags, sizes up to 128 MiB, 48-bit addresses anywhere) and data,
 * and toggles MSI and bus mastering through config cycles.
 *
 * The memory the engine reaches is a 1 MiB BAR of another function that takes DMA through
 * a handler (the way NTB windows do): a ring whose descriptors stay valid runs forever by
 * design (the guest stops it with ABORT, from another vCPU), so the handler answers only so
 * many accesses per input and then fails them, which stops the engine with a ring error.
 * Guest RAM is left out of the address space for the same reason (RAM is reached without
 * the handler). What the engine's DMA reaches and how is fuzz_pci's business.
 *   make fuzz-plx_dma FUZZ_SECONDS=60      (tests/fuzz/README.md)
 */
#include "devices/plx-dma/plx_dma.h"
#include "tests/fuzz/fuzz_util.h"

#define MAX_OPS	     256
#define MEM_SIZE     MiB(1)
#define DMA_BUDGET   2048 /* handler calls per input */
#define PLX_DEVFN    PCI_DEVFN(3, 0)
#define MEMDEV_DEVFN PCI_DEVFN(4, 0)

struct rig {
	struct fz_host host;
	struct pci_root root;
	struct plx_dma *p;
	struct pci_dev memdev;
	uint8_t *mem;
	unsigned budget;
	uint64_t bar, mem_bar, ring;
};

static struct rig rig;
static bool trace; /* FUZZ_TRACE=1: the engine's statistics after each input */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_quiet();
	trace = getenv("FUZZ_TRACE") != NULL;
	rig.mem = malloc(MEM_SIZE);
	return rig.mem ? 0 : 1;
}

/* The memory BAR: CPU accesses (trapped) and DMA by the engine (the handler). */
static uint64_t memdev_read(void *opaque, uint64_t off, unsigned size)
{
	struct rig *r = opaque;

	return off < MEM_SIZE && size <= MEM_SIZE - off ? bus_load_le(r->mem + off, size) : ~0ULL;
}

static void memdev_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct rig *r = opaque;

	if (off < MEM_SIZE && size <= MEM_SIZE - off)
		bus_store_le(r->mem + off, val, size);
}

static const struct bus_ops memdev_ops = {.read = memdev_read, .write = memdev_write};

static int memdev_dma(void *opaque, uint64_t off, void *buf, uint64_t len, bool write)
{
	struct rig *r = opaque;

	if (!r->budget)
		return -EFAULT;
	r->budget--;
	/* the core hands the handler only ranges inside the BAR */
	if (off >= MEM_SIZE || len > MEM_SIZE - off)
		fz_fail("DMA handler called for 0x%llx+0x%llx, outside its %llu-byte BAR",
			(unsigned long long)off, (unsigned long long)len,
			(unsigned long long)MEM_SIZE);
	if (write)
		memcpy(r->mem + off, buf, len);
	else
		memcpy(buf, r->mem + off, len);
	return 0;
}

static void rig_init(struct rig *r)
{
	static const struct pci_windows win = {
		.mmio32_base = 0xc0000000,
		.mmio32_size = 0x3ec00000,
		.mmio64_base = 0x800000000ULL,
		.mmio64_size = 64ULL << 30,
		.io_base = 0x1000,
		.io_size = 0xf000,
	};
	char err[256];

	memset(r->mem, 0, MEM_SIZE);
	r->budget = DMA_BUDGET;
	fz_host_init(&r->host, NULL);
	pci_root_init(&r->root, &fz_host_ops, &r->host, NULL, MEM_ECAM_BASE);
	r->p = plx_dma_create("dma0", false);
	if (!r->p)
		fz_fail("plx_dma_create: %s", strerror(errno));
	pci_dev_init(&r->memdev, "mem", 0x1234, 0x0005, 0x058000, 0, false);
	if (pci_dev_set_bar(&r->memdev, 0, PCI_BAR_MEM64, true, MEM_SIZE, &memdev_ops, r, NULL) ||
	    pci_dev_set_bar_dma(&r->memdev, 0, memdev_dma) ||
	    pci_bus_add(&r->root.bus0, &r->p->pci, PLX_DEVFN) ||
	    pci_bus_add(&r->root.bus0, &r->memdev, MEMDEV_DEVFN))
		fz_fail("tree");
	if (pci_assign(&r->root, &win, err, sizeof(err)))
		fz_fail("pci_assign: %s", err);
	r->bar = r->p->pci.bars[0].mapped_addr;
	r->mem_bar = r->memdev.bars[0].mapped_addr;
	r->ring = r->mem_bar;
}

static void rig_fini(struct rig *r)
{
	if (trace) {
		struct plx_dma_stats st;

		plx_dma_get_stats(r->p, &st);
		fprintf(stderr,
			"descriptors %llu bytes %llu failed %llu ring errors %llu, %u DMA\n",
			(unsigned long long)st.descriptors, (unsigned long long)st.bytes,
			(unsigned long long)st.failed, (unsigned long long)st.ring_errors,
			DMA_BUDGET - r->budget);
	}
	plx_dma_quiesce(r->p);
	pci_root_destroy(&r->root);
	plx_dma_destroy(r->p);
	fz_host_fini(&r->host);
}

/* A bus address: in the memory BAR (most), its end, the engine's own BAR0, or 48 bits. */
static uint64_t addr_of(struct rig *r, struct fz *in)
{
	uint8_t sel = fz_u8(in);
	uint32_t off = fz_u32(in);

	switch (sel % 6) {
	case 0:
	case 1:
	case 2:
		return r->mem_bar + off % MEM_SIZE;
	case 3:
		return r->mem_bar + MEM_SIZE - 128 + off % 256;
	case 4:
		return r->bar + off % 0x1000;
	default:
		return ((uint64_t)fz_u16(in) << 32 | off);
	}
}

static void reg(struct rig *r, unsigned off, uint64_t v, unsigned size)
{
	fz_cpu_rw(&r->host, BUS_MMIO, r->bar + off, v, size, true);
}

/* plx_dma_alloc_chan_resources + the first issue_pending: ring, count, next, then CTRL. */
static void ring_setup(struct rig *r, struct fz *in)
{
	uint8_t how = fz_u8(in);
	uint64_t ring = how & 1 ? addr_of(r, in) : r->mem_bar + (uint64_t)fz_u8(in) * 0x1000;
	uint32_t count = how & 2 ? fz_u32(in) : fz_u8(in) % 64 + 1;
	uint32_t next = how & 4 ? fz_u32(in) : (uint32_t)ring;

	r->ring = ring;
	reg(r, PLX_REG_DESC_RING_ADDR, (uint32_t)ring, 4);
	reg(r, PLX_REG_DESC_RING_ADDR_HI, (uint32_t)(ring >> 32), 4);
	reg(r, PLX_REG_DESC_RING_NEXT_ADDR, next, 4);
	reg(r, PLX_REG_DESC_RING_COUNT, count, 4);
	reg(r, PLX_REG_INTR_CTRL, how & 8 ? 0 : 0x1f, 2);
}

/* plx_dma_prep_memcpy: one descriptor in the ring, VALID written last. */
static void descriptor(struct rig *r, struct fz *in)
{
	uint8_t how = fz_u8(in);
	uint16_t idx = fz_u16(in);
	uint64_t src = addr_of(r, in), dst = addr_of(r, in), at = r->ring + (uint64_t)idx * 16;
	uint32_t len = how & 1 ? fz_u32(in) : fz_u16(in);
	uint32_t flags = (len & PLX_DESC_SIZE_MASK) | (how & 2 ? PLX_DESC_FLAG_INT_WHEN_DONE : 0);
	uint8_t d[16];

	bus_store_le(d, flags, 4);
	bus_store_le(d + 4, (uint16_t)(dst >> 32), 2);
	bus_store_le(d + 6, (uint16_t)(src >> 32), 2);
	bus_store_le(d + 8, (uint32_t)dst, 4);
	bus_store_le(d + 12, (uint32_t)src, 4);
	fz_cpu_copy(&r->host, at, d, sizeof(d), true);
	if (!(how & 4))
		fz_cpu_rw(&r->host, BUS_MMIO, at, flags | PLX_DESC_FLAG_VALID, 4, true);
}

static void op(struct rig *r, struct fz *in)
{
	uint8_t o = fz_u8(in);

	switch ((o & 0x7f) % 9) {
	case 0: { /* any register, any width */
		unsigned off = fz_u16(in) % 0x1010, size = fz_size(in);

		reg(r, off, fz_u64(in), size);
		break;
	}
	case 1: {
		unsigned off = fz_u16(in) % 0x1010;

		fz_cpu_rw(&r->host, BUS_MMIO, r->bar + off, 0, fz_size(in), false);
		break;
	}
	case 2: /* CTRL: START, ABORT, GRACEFUL_PAUSE, write-back, descriptor mode, W1C bits */
		reg(r, PLX_REG_CTRL, fz_u16(in), 2);
		break;
	case 3: /* issue_pending as Linux does it */
		reg(r, PLX_REG_CTRL,
		    PLX_CTRL_DESC_MODE_OFF_CHIP | PLX_CTRL_START |
			    (o & 0x80 ? 0 : PLX_CTRL_WRITE_BACK_EN),
		    2);
		break;
	case 4:
		ring_setup(r, in);
		break;
	case 5:
	case 6:
		descriptor(r, in);
		break;
	case 7: { /* data and descriptors by hand */
		uint64_t a = addr_of(r, in);
		uint8_t b[64];
		size_t n = fz_u8(in) % sizeof(b);

		fz_bytes(in, b, n);
		fz_cpu_copy(&r->host, a, b, n, true);
		break;
	}
	default: { /* config: MSI on/off, bus mastering, anything */
		unsigned off = fz_u16(in) % PCI_CFG_SIZE, size = fz_size(in);

		if (o & 0x80)
			pci_config_read(&r->root, 0, PLX_DEVFN, off, size);
		else
			pci_config_write(&r->root, 0, PLX_DEVFN, off, fz_u32(in), size);
		break;
	}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = {data, size};

	rig_init(&rig);
	for (int i = 0; i < MAX_OPS && fz_more(&in); i++)
		op(&rig, &in);
	rig_fini(&rig);
	return 0;
}
