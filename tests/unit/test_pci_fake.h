/* SPDX-License-Identifier: MIT */
/* A recording pci_host_ops and small topologies shared by the PCI core's tests. */
#ifndef TEST_PCI_FAKE_H
#define TEST_PCI_FAKE_H

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/pci/pci.h"
#include "vmm/util.h"

#define FAKE_MAX 64

struct fake_map {
	bool used, ram;
	enum bus_space space;
	uint64_t addr, size;
	const struct bus_ops *ops;
	void *opaque;
	void *hva;
};

struct fake_host {
	struct fake_map maps[FAKE_MAX];
	int map_calls, unmap_calls;
	uint64_t msi_addr[FAKE_MAX];
	uint32_t msi_data[FAKE_MAX];
	int nmsi;
	int gsi_level[32];
	int intx_calls;
};

static inline struct fake_map *fake_find(struct fake_host *h, enum bus_space space, uint64_t addr)
{
	for (int i = 0; i < FAKE_MAX; i++) {
		struct fake_map *m = &h->maps[i];

		if (m->used && m->space == space && addr >= m->addr && addr - m->addr < m->size)
			return m;
	}
	return NULL;
}

static inline struct fake_map *fake_add(struct fake_host *h)
{
	for (int i = 0; i < FAKE_MAX; i++)
		if (!h->maps[i].used) {
			h->maps[i].used = true;
			return &h->maps[i];
		}
	cr_assert_fail("fake host: too many mappings");
	return NULL;
}

static inline int fake_map_trap(void *o, enum bus_space space, uint64_t addr, uint64_t size,
				const struct bus_ops *ops, void *dev_opaque, const char *name)
{
	struct fake_host *h = o;
	struct fake_map *m = fake_add(h);

	*m = (struct fake_map){true, false, space, addr, size, ops, dev_opaque, NULL};
	h->map_calls++;
	return 0;
}

static inline void fake_unmap_trap(void *o, enum bus_space space, uint64_t addr)
{
	struct fake_host *h = o;
	struct fake_map *m = fake_find(h, space, addr);

	cr_assert(m && m->addr == addr && !m->ram, "unmap_trap of something not mapped");
	m->used = false;
	h->unmap_calls++;
}

static inline int fake_map_ram(void *o, uint64_t addr, uint64_t size, void *hva)
{
	struct fake_host *h = o;
	struct fake_map *m = fake_add(h);

	*m = (struct fake_map){true, true, BUS_MMIO, addr, size, NULL, NULL, hva};
	h->map_calls++;
	return 0;
}

static inline void fake_unmap_ram(void *o, uint64_t addr)
{
	struct fake_host *h = o;
	struct fake_map *m = fake_find(h, BUS_MMIO, addr);

	cr_assert(m && m->addr == addr && m->ram, "unmap_ram of something not mapped");
	m->used = false;
	h->unmap_calls++;
}

static inline void fake_msi(void *o, uint64_t addr, uint32_t data)
{
	struct fake_host *h = o;
	int i = __atomic_fetch_add(&h->nmsi, 1, __ATOMIC_RELAXED); /* from several threads */

	if (i < FAKE_MAX) {
		h->msi_addr[i] = addr;
		h->msi_data[i] = data;
	}
}

static inline void fake_intx(void *o, uint32_t gsi, int level)
{
	struct fake_host *h = o;

	cr_assert_lt(gsi, 32);
	h->gsi_level[gsi] = level;
	h->intx_calls++;
}

static const struct pci_host_ops fake_host_ops UNUSED = {
	.map_trap = fake_map_trap,
	.unmap_trap = fake_unmap_trap,
	.map_ram = fake_map_ram,
	.unmap_ram = fake_unmap_ram,
	.msi = fake_msi,
	.intx = fake_intx,
};

/* A guest access through whatever the host has mapped (all ones when nothing is). */
static inline uint64_t fake_read(struct fake_host *h, enum bus_space space, uint64_t addr,
				 unsigned size)
{
	struct fake_map *m = fake_find(h, space, addr);
	uint64_t v = 0;

	if (!m)
		return ~0ULL;
	if (m->ram) {
		memcpy(&v, (uint8_t *)m->hva + (addr - m->addr), size);
		return v;
	}
	return m->ops->read(m->opaque, addr - m->addr, size);
}

static inline void fake_write(struct fake_host *h, enum bus_space space, uint64_t addr,
			      uint64_t val, unsigned size)
{
	struct fake_map *m = fake_find(h, space, addr);

	if (!m)
		return;
	if (m->ram)
		memcpy((uint8_t *)m->hva + (addr - m->addr), &val, size);
	else
		m->ops->write(m->opaque, addr - m->addr, val, size);
}

static inline int fake_nmaps(struct fake_host *h)
{
	int n = 0;

	for (int i = 0; i < FAKE_MAX; i++)
		n += h->maps[i].used;
	return n;
}

/* A register file for trapped BARs: records the last access. */
struct regs {
	uint8_t mem[0x4000];
	uint64_t last_off;
	unsigned last_size;
	int reads, writes;
};

static inline uint64_t regs_read(void *o, uint64_t off, unsigned size)
{
	struct regs *r = o;

	r->reads++;
	r->last_off = off;
	r->last_size = size;
	return off + size <= sizeof(r->mem) ? bus_load_le(r->mem + off, size) : ~0ULL;
}

static inline void regs_write(void *o, uint64_t off, uint64_t val, unsigned size)
{
	struct regs *r = o;

	r->writes++;
	r->last_off = off;
	r->last_size = size;
	if (off + size <= sizeof(r->mem))
		bus_store_le(r->mem + off, val, size);
}

static const struct bus_ops regs_ops UNUSED = {.read = regs_read, .write = regs_write};

/*
 * The tree most tests use:
 *   bus 0: 00.0 host bridge, 01.0 root port rp
 *   rp -> bus A: 00.0 switch upstream up
 *   up -> bus B: 00.0 downstream dn0, 01.0 downstream dn1
 *   dn0 -> ep0 at 00.0, dn1 -> ep1 at 00.0
 * Bus numbers are not programmed (all 0) until a test does it or pci_assign runs.
 */
struct topo {
	struct fake_host host;
	struct pci_root root;
	struct pci_dev hb, rp, up, dn[2], ep[2];
	struct pci_bus rp_bus, up_bus, dn_bus[2];
	struct regs regs[2];
	uint8_t *ram[2];
};

static inline void topo_init(struct topo *t, const struct guest_mem *mem)
{
	memset(t, 0, sizeof(*t));
	pci_root_init(&t->root, &fake_host_ops, &t->host, mem, MEM_ECAM_BASE);
	pci_dev_init(&t->hb, "host", 0x8086, 0x29c0, 0x060000, 0, false);
	pci_dev_init(&t->rp, "rp0", 0x1b36, 0x000c, 0x060400, 0, true);
	pci_dev_init(&t->up, "sw0.up", 0x104c, 0x8232, 0x060400, 2, true);
	pci_dev_init(&t->dn[0], "sw0.0", 0x104c, 0x8233, 0x060400, 1, true);
	pci_dev_init(&t->dn[1], "sw0.1", 0x104c, 0x8233, 0x060400, 1, true);
	pci_dev_init(&t->ep[0], "ep0", 0x1234, 0x0001, 0x010802, 0, false);
	pci_dev_init(&t->ep[1], "ep1", 0x1234, 0x0002, 0x010802, 0, false);
	pci_bus_init(&t->rp_bus, "rp0");
	pci_bus_init(&t->up_bus, "sw0");
	pci_bus_init(&t->dn_bus[0], "sw0.0");
	pci_bus_init(&t->dn_bus[1], "sw0.1");
	pci_bridge_set_secondary(&t->rp, &t->rp_bus);
	pci_bridge_set_secondary(&t->up, &t->up_bus);
	pci_bridge_set_secondary(&t->dn[0], &t->dn_bus[0]);
	pci_bridge_set_secondary(&t->dn[1], &t->dn_bus[1]);
	/* built bottom-up, as a switch model would, then attached */
	cr_assert_eq(pci_bus_add(&t->dn_bus[0], &t->ep[0], 0), 0);
	cr_assert_eq(pci_bus_add(&t->dn_bus[1], &t->ep[1], 0), 0);
	cr_assert_eq(pci_bus_add(&t->up_bus, &t->dn[0], PCI_DEVFN(0, 0)), 0);
	cr_assert_eq(pci_bus_add(&t->up_bus, &t->dn[1], PCI_DEVFN(1, 0)), 0);
	cr_assert_eq(pci_bus_add(&t->rp_bus, &t->up, 0), 0);
	cr_assert_eq(pci_bus_add(&t->root.bus0, &t->hb, PCI_DEVFN(0, 0)), 0);
	cr_assert_eq(pci_bus_add(&t->root.bus0, &t->rp, PCI_DEVFN(1, 0)), 0);
}

/* Each endpoint: BAR0 16 KiB 32-bit registers, BAR2 64 MiB 64-bit prefetchable RAM. */
static inline void topo_add_bars(struct topo *t)
{
	for (int i = 0; i < 2; i++) {
		t->ram[i] = calloc(1, MiB(64));
		cr_assert(t->ram[i]);
		cr_assert_eq(pci_dev_set_bar(&t->ep[i], 0, PCI_BAR_MEM32, false, KiB(16), &regs_ops,
					     &t->regs[i], NULL),
			     0);
		cr_assert_eq(pci_dev_set_bar(&t->ep[i], 2, PCI_BAR_MEM64, true, MiB(64), NULL, NULL,
					     t->ram[i]),
			     0);
	}
}

static inline void topo_fini(struct topo *t)
{
	pci_root_destroy(&t->root);
	free(t->ram[0]);
	free(t->ram[1]);
}

/* Config accessors by (bus, devfn) through the routing. */
static inline uint32_t cfg_rd(struct topo *t, int bus, int slot, int fn, unsigned off,
			      unsigned size)
{
	return pci_config_read(&t->root, (uint8_t)bus, PCI_DEVFN(slot, fn), off, size);
}

static inline void cfg_wr(struct topo *t, int bus, int slot, int fn, unsigned off, uint32_t v,
			  unsigned size)
{
	pci_config_write(&t->root, (uint8_t)bus, PCI_DEVFN(slot, fn), off, v, size);
}

/* Program bus numbers as firmware would: rp 0->1..4, up 1->2..4, dn0 2->3, dn1 2->4. */
static inline void topo_number_buses(struct topo *t)
{
	cfg_wr(t, 0, 1, 0, PCI_PRIMARY_BUS, 0x040100, 4);
	cfg_wr(t, 1, 0, 0, PCI_PRIMARY_BUS, 0x040201, 4);
	cfg_wr(t, 2, 0, 0, PCI_PRIMARY_BUS, 0x030302, 4);
	cfg_wr(t, 2, 1, 0, PCI_PRIMARY_BUS, 0x040402, 4);
}

#endif
