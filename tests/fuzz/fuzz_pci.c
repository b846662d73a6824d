/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: PCI configuration space, bridge windows and BAR sizing on a small tree
 * as the machine builds it, and DMA address lookups through the bus-address space:
 *
 *   00.0 host bridge   01.0 root port rp0 (devices/pcie-switch)   02.0 root port rp1
 *   rp0 -> XIO3130 upstream port -> downstream ports 0, 1 -> testdev ep0, ep1 (RAM BARs)
 *   rp1 -> a bare endpoint: I/O BAR, 32-bit prefetchable BAR, maskable MSI
 *
 * The input is a program: config reads/writes of any offset and width to any (bus, devfn),
 * through the core's API, the 0xCF8/0xCFC ports and ECAM; the BAR sizing dance; bridge bus
 * numbers and windows; re-enumeration (pci_assign); CPU accesses to wherever BARs ended up
 * (the MSI-X tables, the testdevs' DMA engine); link changes; interrupts; and DMA lookups by
 * every function (pci_dma_map and as_map) checked against a model of what they may reach:
 * guest RAM first, then a RAM BAR the host mapped, never the function's own, nothing without
 * Bus Master Enable.
 *   make fuzz-pci FUZZ_SECONDS=60      (tests/fuzz/README.md)
 */
#include "devices/pcie-switch/pcie_port.h"
#include "devices/testdev/testdev.h"
#include "tests/fuzz/fuzz_util.h"
#include "vmm/pci/pci_internal.h"

#define MAX_OPS 512
#define EP_RAM	KiB(64)
#define NDEV	8

struct rig {
	struct guest_mem mem;
	struct fz_host host;
	struct pci_root root;
	struct pci_dev hb, bare;
	uint8_t bare_regs[256];
	struct pcie_port *rp[2];
	struct xio3130 *sw;
	struct testdev *ep[2];
	struct pci_dev *dev[NDEV]; /* every function, for the operand decoder */
};

static uint64_t bare_read(void *opaque, uint64_t off, unsigned size)
{
	struct rig *r = opaque;

	return off + size <= sizeof(r->bare_regs) ? bus_load_le(r->bare_regs + off, size) : ~0ULL;
}

static void bare_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct rig *r = opaque;

	if (off + size <= sizeof(r->bare_regs))
		bus_store_le(r->bare_regs + off, val, size);
}

static const struct bus_ops bare_ops = {.read = bare_read, .write = bare_write};

static const struct pci_windows win = {
	.mmio32_base = 0xc0000000,
	.mmio32_size = 0x3ec00000,
	.mmio64_base = 0x800000000ULL,
	.mmio64_size = 64ULL << 30,
	.io_base = 0x1000,
	.io_size = 0xf000,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_quiet();
	return 0;
}

static void rig_init(struct rig *r, uint8_t how)
{
	char err[256];

	memset(r, 0, sizeof(*r));
	if (fz_mem_init(&r->mem))
		fz_fail("guest RAM: %s", strerror(errno));
	fz_host_init(&r->host, &r->mem);
	pci_root_init(&r->root, &fz_host_ops, &r->host, &r->mem, MEM_ECAM_BASE);
	if (bus_register(&r->host.mmio, MEM_ECAM_BASE, MEM_ECAM_SIZE, &pci_ecam_ops, &r->root,
			 "ecam") ||
	    bus_register(&r->host.pio, 0xcf8, 8, &pci_cf8_ops, &r->root, "cf8"))
		fz_fail("config mechanisms");
	pci_dev_init(&r->hb, "host", 0x8086, 0x29c0, 0x060000, 0, false);
	r->rp[0] = pcie_root_port_create("rp0", 1, 1, how & 1);
	r->rp[1] = pcie_root_port_create("rp1", 2, 2, false);
	r->sw = xio3130_create("sw0", 2, 3, how & 2);
	r->ep[0] = testdev_create("ep0", 4, EP_RAM);
	r->ep[1] = testdev_create("ep1", 2, EP_RAM);
	if (!r->rp[0] || !r->rp[1] || !r->sw || !r->ep[0] || !r->ep[1])
		fz_fail("creating the tree");
	pci_dev_init(&r->bare, "bare", 0x1234, 0x0003, 0x020000, 0, false);
	if (pci_dev_set_bar(&r->bare, 0, PCI_BAR_IO, false, 64, &bare_ops, r, NULL) ||
	    pci_dev_set_bar(&r->bare, 1, PCI_BAR_MEM32, true, 4096, &bare_ops, r, NULL) ||
	    pci_add_msi(&r->bare, true))
		fz_fail("bare endpoint");
	pci_set_intx_pin(&r->bare, 1 + (how >> 2) % 4);
	if (pci_bus_add(&r->sw->down[0].bus, &r->ep[0]->pci, 0) ||
	    pci_bus_add(&r->sw->down[1].bus, &r->ep[1]->pci, 0) ||
	    pci_bus_add(&r->rp[0]->bus, &r->sw->up.dev, 0) ||
	    pci_bus_add(&r->rp[1]->bus, &r->bare, 0) ||
	    pci_bus_add(&r->root.bus0, &r->hb, PCI_DEVFN(0, 0)) ||
	    pci_bus_add(&r->root.bus0, &r->rp[0]->dev, PCI_DEVFN(1, 0)) ||
	    pci_bus_add(&r->root.bus0, &r->rp[1]->dev, PCI_DEVFN(2, 0)))
		fz_fail("pci_bus_add");
	pcie_port_set_link(&r->rp[0]->dev, true);
	pcie_port_set_link(&r->rp[1]->dev, true);
	pcie_port_set_link(&r->sw->down[0].dev, true);
	pcie_port_set_link(&r->sw->down[1].dev, true);
	/* half the inputs start from an enumerated tree, half from reset state (firmware) */
	if (!(how & 0x80) && pci_assign(&r->root, &win, err, sizeof(err)))
		fz_fail("pci_assign: %s", err);
	r->dev[0] = &r->hb;
	r->dev[1] = &r->rp[0]->dev;
	r->dev[2] = &r->rp[1]->dev;
	r->dev[3] = &r->sw->up.dev;
	r->dev[4] = &r->sw->down[0].dev;
	r->dev[5] = &r->sw->down[1].dev;
	r->dev[6] = &r->ep[0]->pci;
	r->dev[7] = &r->bare; /* ep1: dev_of's ninth choice */
}

static void rig_fini(struct rig *r)
{
	pci_root_destroy(&r->root);
	pcie_root_port_destroy(r->rp[0]);
	pcie_root_port_destroy(r->rp[1]);
	xio3130_destroy(r->sw);
	testdev_destroy(r->ep[0]);
	testdev_destroy(r->ep[1]);
	fz_host_fini(&r->host);
	fz_mem_free(&r->mem);
}

/* ---- operands ---- */

static struct pci_dev *dev_of(struct rig *r, struct fz *in)
{
	uint8_t s = fz_u8(in);

	return s % 9 == 8 ? &r->ep[1]->pci : r->dev[s % 9];
}

/* Where a function answers config cycles now (its bridge's secondary bus number). */
static uint8_t busnr(const struct pci_dev *d)
{
	return d->bus && d->bus->self ? d->bus->self->cfg[PCI_SECONDARY_BUS] : 0;
}

static unsigned cfg_off(struct fz *in)
{
	uint16_t v = fz_u16(in);

	/* mostly the header and capabilities, sometimes extended space or past its end */
	return v & 0x8000 ? v & 0x1fff : v & 0xff;
}

/* A bus address near something: a BAR of any function, a window, RAM ends, or raw. */
static uint64_t addr_of(struct rig *r, struct fz *in)
{
	uint8_t sel = fz_u8(in);
	uint32_t off = fz_u32(in);
	struct pci_dev *d = r->dev[(sel >> 4) % NDEV];
	struct pci_window w;

	switch (sel & 0xf) {
	case 0:
	case 1:
	case 2: {
		const struct pci_bar *b = &d->bars[(off >> 24) % PCI_NUM_BARS];

		return (b->mapped_addr != ~0ULL ? b->mapped_addr : pci_bar_reg_addr(d, b->index)) +
		       (off & 0xffffff) % (b->size + 16);
	}
	case 3:
		if (!d->secondary)
			return off;
		w = pci_bridge_window(d, (enum pci_window_kind)(off % 3));
		return (off & 4 ? w.limit : w.base) + (off >> 8) % 64 - 32;
	case 4:
		return off % FZ_RAM_LOW;
	case 5:
		return FZ_RAM_LOW - 128 + off % 256;
	case 6:
		return MEM_HOLE_END + FZ_RAM_HIGH - 128 + off % 256;
	case 7:
		return ~0ULL - off % 4096;
	default:
		return (uint64_t)fz_u32(in) << 32 | off;
	}
}

/* ---- the DMA model ---- */

static bool dev_owns_ram(const struct pci_dev *d, const void *hva)
{
	for (int i = 0; i < PCI_NUM_BARS; i++)
		if (d->bars[i].ram && d->bars[i].ram == hva)
			return true;
	return false;
}

/* PCIe 5.0 2.9.1: nothing from below a root or downstream port whose Link Status has Data
 * Link Layer Link Active clear goes up (read from the ports' registers, not the core's flag) */
static bool links_up(const struct pci_dev *d)
{
	for (int depth = 0; d->bus && d->bus->self && depth < 16; depth++) {
		struct pci_dev *br = d->bus->self;
		if (pcie_port_has_link(br) && !pcie_port_link_active(br))
			return false;
		d = br;
	}
	return true;
}

/* What [a, a + len) should reach for requester d: guest RAM, else a RAM BAR mapped now
 * that is not d's own, else nothing; nothing at all without Bus Master Enable or with a
 * link above it down. */
static void *dma_expect(struct rig *r, const struct pci_dev *d, uint64_t a, uint64_t len)
{
	uint64_t off, end;

	if (add_overflows_u64(a, len ? len : 1, &end))
		return NULL;
	if (d && !(d->cfg[PCI_COMMAND] & PCI_COMMAND_MASTER))
		return NULL;
	if (d && !links_up(d))
		return NULL;
	for (int i = 0; i < r->mem.nregions; i++)
		if (as_range_offset(r->mem.regions[i].gpa, r->mem.regions[i].size, a, len, &off))
			return r->mem.regions[i].hva + off;
	for (int i = 0; i < FZ_MAX_MAPS; i++) {
		struct fz_map *m = &r->host.maps[i];

		/* a RAM BAR overlapping guest RAM loses to it, in KVM and in as_rebuild */
		if (!m->used || !m->ram || !as_range_offset(m->addr, m->size, a, len, &off))
			continue;
		return d && dev_owns_ram(d, m->hva) ? NULL : (uint8_t *)m->hva + off;
	}
	return NULL;
}

static void dma(struct rig *r, struct fz *in)
{
	uint8_t how = fz_u8(in);
	struct pci_dev *d = how & 1 ? NULL : dev_of(r, in);
	uint64_t a = addr_of(r, in), len = how & 2 ? fz_u32(in) : fz_u8(in);
	void *want = dma_expect(r, d, a, len), *got;
	uint8_t buf[256];

	if (d) {
		got = pci_dma_map(d, a, len);
	} else {
		struct as_target t = as_map(&r->root.as, NULL, a, len);

		got = t.kind == AS_RAM ? t.hva : NULL;
		if (t.kind == AS_HANDLER)
			fz_fail("CPU lookup of 0x%llx reached a DMA handler",
				(unsigned long long)a);
	}
	if (got != want)
		fz_fail("%s DMA 0x%llx+0x%llx: got %p, the model says %p", d ? d->name : "CPU",
			(unsigned long long)a, (unsigned long long)len, got, want);
	if (d && len <= sizeof(buf)) {
		int ret = how & 4 ? pci_dma_write(d, a, buf, len) : pci_dma_read(d, a, buf, len);

		if ((ret == 0) != (want != NULL || len == 0))
			fz_fail("%s pci_dma_%s 0x%llx+0x%llx: %d", d->name,
				how & 4 ? "write" : "read", (unsigned long long)a,
				(unsigned long long)len, ret);
	}
}

/* ---- config programs ---- */

/* PCI 3.0 6.2.5.1 as firmware sizes a BAR: all ones, read back, then an address. */
static void size_bar(struct rig *r, struct fz *in)
{
	struct pci_dev *d = dev_of(r, in);
	uint8_t how = fz_u8(in);
	unsigned off = PCI_BASE_ADDRESS_0 + 4 * (how % 7); /* 6: the ROM BAR / past the BARs */
	uint32_t lo = fz_u32(in), hi = fz_u32(in);
	uint8_t bn = busnr(d);

	if (how & 8) /* decoding off first, as Linux does around sizing */
		pci_config_write(&r->root, bn, d->devfn, PCI_COMMAND, 0, 2);
	pci_config_write(&r->root, bn, d->devfn, off, 0xffffffff, 4);
	pci_config_read(&r->root, bn, d->devfn, off, 4);
	if (how & 16) {
		pci_config_write(&r->root, bn, d->devfn, off + 4, 0xffffffff, 4);
		pci_config_read(&r->root, bn, d->devfn, off + 4, 4);
	}
	pci_config_write(&r->root, bn, d->devfn, off, lo, 4);
	if (how & 16)
		pci_config_write(&r->root, bn, d->devfn, off + 4, hi, 4);
	if (how & 8)
		pci_config_write(&r->root, bn, d->devfn, PCI_COMMAND, how & 0x20 ? 7 : 3, 2);
}

/* A bridge's bus numbers and windows: what firmware and Linux's pci_setup_bridge write. */
static void program_bridge(struct rig *r, struct fz *in)
{
	struct pci_dev *d = r->dev[1 + fz_u8(in) % 5];
	uint8_t how = fz_u8(in), bn = busnr(d);

	if (how & 1)
		pci_config_write(&r->root, bn, d->devfn, PCI_PRIMARY_BUS, fz_u32(in) & 0xffffff, 4);
	if (how & 2) {
		pci_config_write(&r->root, bn, d->devfn, PCI_MEMORY_BASE, fz_u16(in), 2);
		pci_config_write(&r->root, bn, d->devfn, PCI_MEMORY_LIMIT, fz_u16(in), 2);
	}
	if (how & 4) {
		pci_config_write(&r->root, bn, d->devfn, PCI_PREF_MEMORY_BASE, fz_u16(in), 2);
		pci_config_write(&r->root, bn, d->devfn, PCI_PREF_MEMORY_LIMIT, fz_u16(in), 2);
		pci_config_write(&r->root, bn, d->devfn, PCI_PREF_BASE_UPPER32, fz_u32(in), 4);
		pci_config_write(&r->root, bn, d->devfn, PCI_PREF_LIMIT_UPPER32, fz_u32(in), 4);
	}
	if (how & 8) {
		pci_config_write(&r->root, bn, d->devfn, PCI_IO_BASE, fz_u8(in), 1);
		pci_config_write(&r->root, bn, d->devfn, PCI_IO_LIMIT, fz_u8(in), 1);
	}
	if (how & 16)
		pci_config_write(&r->root, bn, d->devfn, PCI_COMMAND, fz_u16(in), 2);
	if (how & 32)
		pci_config_write(&r->root, bn, d->devfn, PCI_BRIDGE_CONTROL, fz_u16(in), 2);
}

static void op(struct rig *r, struct fz *in)
{
	uint8_t o = fz_u8(in);

	switch ((o & 0x3f) % 14) {
	case 0: { /* a config write to any (bus, devfn, offset, width) */
		uint8_t bus = fz_u8(in), devfn = fz_u8(in);
		unsigned off = cfg_off(in), size = fz_size(in);

		pci_config_write(&r->root, bus & 0x80 ? bus : bus % 8, devfn, off, fz_u32(in),
				 size);
		break;
	}
	case 1: {
		uint8_t bus = fz_u8(in), devfn = fz_u8(in);
		unsigned off = cfg_off(in);

		pci_config_read(&r->root, bus & 0x80 ? bus : bus % 8, devfn, off, fz_size(in));
		break;
	}
	case 2: { /* a config write to one of the functions, wherever it answers now */
		struct pci_dev *d = dev_of(r, in);
		unsigned off = cfg_off(in), size = fz_size(in);

		if (o & 0x80)
			pci_config_read(&r->root, busnr(d), d->devfn, off, size);
		else
			pci_config_write(&r->root, busnr(d), d->devfn, off, fz_u32(in), size);
		break;
	}
	case 3: { /* 0xCF8-0xCFF: the latch and the data window, any width */
		uint8_t port = fz_u8(in) % 10;
		unsigned size = fz_size(in);

		fz_cpu_rw(&r->host, BUS_PIO, 0xcf7 + port, fz_u32(in), size, !(o & 0x80));
		break;
	}
	case 4: { /* ECAM, any width */
		uint32_t off = fz_u32(in) % (MEM_ECAM_SIZE + 16);
		unsigned size = fz_size(in);

		fz_cpu_rw(&r->host, BUS_MMIO, MEM_ECAM_BASE + off, fz_u64(in), size, !(o & 0x80));
		break;
	}
	case 5:
		size_bar(r, in);
		break;
	case 6:
		program_bridge(r, in);
		break;
	case 7: { /* re-enumeration, as at boot (whatever the guest did so far) */
		char err[256];

		pci_assign(&r->root, &win, err, sizeof(err));
		break;
	}
	case 8: { /* a CPU access wherever: BARs, MSI-X tables, the testdevs' registers */
		uint64_t a = addr_of(r, in);
		unsigned size = fz_size(in);

		fz_cpu_rw(&r->host, o & 0x40 ? BUS_PIO : BUS_MMIO, a, fz_u64(in), size,
			  !(o & 0x80));
		break;
	}
	case 9:
	case 10:
		dma(r, in);
		break;
	case 11: { /* interrupts: a vector (MSI-X, MSI) or the INTx level */
		struct pci_dev *d = dev_of(r, in);
		uint16_t v = fz_u16(in);

		if (o & 0x80)
			pci_intx_set(d, v & 1);
		else
			pci_notify(d, (int)(int16_t)v);
		break;
	}
	case 12: { /* the device below a port comes and goes */
		struct pci_dev *d = dev_of(r, in);

		pcie_port_set_link(d, o & 0x80);
		break;
	}
	default: { /* the testdev DMA engine: source, destination, length, go */
		struct testdev *t = r->ep[o & 0x80 ? 1 : 0];
		uint64_t bar = t->pci.bars[0].mapped_addr, src = addr_of(r, in),
			 dst = addr_of(r, in);
		uint32_t len = fz_u32(in) % (2 * EP_RAM);

		if (bar == ~0ULL)
			break;
		fz_cpu_rw(&r->host, BUS_MMIO, bar + TESTDEV_REG_DMA_SRC, src, 8, true);
		fz_cpu_rw(&r->host, BUS_MMIO, bar + TESTDEV_REG_DMA_DST, dst, 8, true);
		fz_cpu_rw(&r->host, BUS_MMIO, bar + TESTDEV_REG_DMA_LEN, len, 4, true);
		fz_cpu_rw(&r->host, BUS_MMIO, bar + TESTDEV_REG_DMA_GO, 1, 4, true);
		break;
	}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = {data, size};
	static struct rig r;

	rig_init(&r, fz_u8(&in));
	for (int i = 0; i < MAX_OPS && fz_more(&in); i++)
		op(&r, &in);
	rig_fini(&r);
	return 0;
}
