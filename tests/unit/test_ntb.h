/* SPDX-License-Identifier: MIT */
/*
 * Two NT functions, each in its own "machine" (a PCI root with a recording host: MSI and
 * INTx are recorded, BARs reachable through fake_read/fake_write), each with a fake guest
 * RAM in a memfd: 1 MiB at guest-physical 0 and 1 MiB at 4 GiB.
 */
#ifndef TEST_NTB_H
#define TEST_NTB_H

#include <errno.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "devices/ntb/idt.h"
#include "devices/ntb/ntb.h"
#include "tests/unit/test_pci_fake.h"

#define T_RAM_SIZE MiB(2)
#define T_HIGH_GPA GiB(4)
#define T_BAR0	   0xc0000000ull
#define T_BAR2	   0x800000000ull
#define T_BAR4	   0x800100000ull
#define T_MW2	   MiB(1)
#define T_MW4	   KiB(64)
#define T_DEVFN	   PCI_DEVFN(3, 0)
#define T_MSI_DATA 0x41

struct t_map {
	bool used;
	uint64_t gpa, size;
	uint8_t *hva;
};

struct side {
	struct fake_host host;
	struct pci_root root;
	struct ntb *ntb;
	unsigned port;
	int memfd;
	uint8_t *ram;
	struct ntb_ram nram;
	struct t_map maps[8];
	int map_calls, unmap_calls;
};

static inline int t_map(void *o, uint64_t gpa, uint64_t size, void *hva)
{
	struct side *s = o;

	for (int i = 0; i < 8; i++)
		if (!s->maps[i].used) {
			s->maps[i] = (struct t_map){true, gpa, size, hva};
			s->map_calls++;
			return 0;
		}
	return -ENOSPC;
}

static inline void t_unmap(void *o, uint64_t gpa, uint64_t size)
{
	struct side *s = o;

	for (int i = 0; i < 8; i++)
		if (s->maps[i].used && s->maps[i].gpa == gpa && s->maps[i].size == size) {
			s->maps[i].used = false;
			s->unmap_calls++;
			return;
		}
	cr_assert_fail("unmap of a window that is not mapped");
}

static const struct ntb_window_ops t_wops UNUSED = {.map = t_map, .unmap = t_unmap};

static inline struct t_map *t_find_map(struct side *s, uint64_t gpa)
{
	for (int i = 0; i < 8; i++)
		if (s->maps[i].used && s->maps[i].gpa == gpa)
			return &s->maps[i];
	return NULL;
}

static inline void cfg_write(struct side *s, unsigned off, uint32_t v, unsigned size)
{
	pci_config_write(&s->root, 0, T_DEVFN, off, v, size);
}

static inline uint32_t cfg_read(struct side *s, unsigned off, unsigned size)
{
	return pci_config_read(&s->root, 0, T_DEVFN, off, size);
}

static inline uint32_t nt_rd(struct side *s, unsigned off)
{
	return (uint32_t)fake_read(&s->host, BUS_MMIO, T_BAR0 + off, 4);
}

static inline void nt_wr(struct side *s, unsigned off, uint32_t v)
{
	fake_write(&s->host, BUS_MMIO, T_BAR0 + off, v, 4);
}

static inline uint32_t sw_rd(struct side *s, uint32_t addr)
{
	nt_wr(s, IDT_NT_GASAADDR, addr);
	return nt_rd(s, IDT_NT_GASADATA);
}

static inline void sw_wr(struct side *s, uint32_t addr, uint32_t v)
{
	nt_wr(s, IDT_NT_GASAADDR, addr);
	nt_wr(s, IDT_NT_GASADATA, v);
}

static inline void set_bme(struct side *s, bool on)
{
	cfg_write(s, PCI_COMMAND, PCI_COMMAND_MEMORY | (on ? PCI_COMMAND_MASTER : 0), 2);
}

/* A side with its fake RAM (1 MiB at 0, 1 MiB at 4 GiB), its root and the function of `cfg`,
 * not yet on the bus. */
static inline void side_create(struct side *s, const struct ntb_config *cfg)
{
	char err[200];

	memset(s, 0, sizeof(*s));
	s->port = cfg->port;
	s->memfd = memfd_create("t-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	cr_assert_geq(s->memfd, 0);
	cr_assert_eq(ftruncate(s->memfd, T_RAM_SIZE), 0);
	cr_assert_eq(memfd_seal_shrink(s->memfd), 0); /* as vmm/mem.c does */
	s->ram = mmap(NULL, T_RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, s->memfd, 0);
	cr_assert(s->ram != MAP_FAILED);
	s->nram = (struct ntb_ram){.memfd = s->memfd,
				   .size = T_RAM_SIZE,
				   .nregions = 2,
				   .region = {{0, MiB(1), 0}, {T_HIGH_GPA, MiB(1), MiB(1)}}};
	pci_root_init(&s->root, &fake_host_ops, &s->host, NULL, MEM_ECAM_BASE);
	s->ntb = ntb_create(cfg, &t_wops, s, err, sizeof(err));
	cr_assert(s->ntb, "%s", err);
}

/* mw_lut: BAR2, BAR4 translation (0 = DIR, 12, 24), NULL for DIR windows. */
static inline void side_init_lut(struct side *s, unsigned port, const uint8_t *mw_lut)
{
	struct ntb_config cfg = {
		.name = port ? "ntb-b" : "ntb-a", .port = port, .mw_size = {T_MW2, T_MW4}};

	if (mw_lut) {
		cfg.mw_lut[0] = mw_lut[0];
		cfg.mw_lut[1] = mw_lut[1];
	}
	side_create(s, &cfg);
	cr_assert_eq(pci_bus_add(&s->root.bus0, ntb_pci(s->ntb), T_DEVFN), 0);
	cfg_write(s, PCI_BASE_ADDRESS_0, (uint32_t)T_BAR0, 4);
	cfg_write(s, PCI_BASE_ADDRESS_0 + 8, (uint32_t)T_BAR2, 4);
	cfg_write(s, PCI_BASE_ADDRESS_0 + 12, (uint32_t)(T_BAR2 >> 32), 4);
	cfg_write(s, PCI_BASE_ADDRESS_0 + 16, (uint32_t)T_BAR4, 4);
	cfg_write(s, PCI_BASE_ADDRESS_0 + 20, (uint32_t)(T_BAR4 >> 32), 4);
	set_bme(s, true);
}

static inline void side_init(struct side *s, unsigned port)
{
	side_init_lut(s, port, NULL);
}

/* Poll cond(arg) every 10 ms for up to `ms` (tests with a real link thread or a peer). */
static inline bool wait_for(bool (*cond)(void *), void *arg, int ms)
{
	struct timespec ts = {0, 10 * 1000 * 1000};

	for (int i = 0; i < ms / 10; i++) {
		if (cond(arg))
			return true;
		nanosleep(&ts, NULL);
	}
	return cond(arg);
}

/* wait_for conditions on a link thread (struct ntb_link *): connected to a peer, or not. */
static inline bool link_connected_cond(void *l)
{
	return ntb_link_connected(l);
}

static inline bool link_lost_cond(void *l)
{
	return !ntb_link_connected(l);
}

static inline void side_enable_msi(struct side *s)
{
	cfg_write(s, IDT_NT_MSICAP + PCI_MSI_ADDRESS_LO, 0xfee00000u, 4);
	cfg_write(s, IDT_NT_MSICAP + PCI_MSI_ADDRESS_HI, 0, 4);
	cfg_write(s, IDT_NT_MSICAP + PCI_MSI_DATA_64, T_MSI_DATA, 2);
	cfg_write(s, IDT_NT_MSICAP + PCI_MSI_FLAGS, PCI_MSI_FLAGS_ENABLE, 2);
}

static inline void side_fini(struct side *s)
{
	pci_root_destroy(&s->root);
	ntb_destroy(s->ntb);
	s->ntb = NULL;
	munmap(s->ram, T_RAM_SIZE);
	close(s->memfd);
}

/* b joins a's switch state, and each learns the other's RAM and kick eventfd. */
static inline void pair_up(struct side *a, struct side *b)
{
	cr_assert_eq(ntb_set_peer(a->ntb, b->port, &b->nram, ntb_kick_fd(b->ntb)), 0);
	cr_assert_eq(ntb_set_peer(b->ntb, a->port, &a->nram, ntb_kick_fd(a->ntb)), 0);
	cr_assert_eq(ntb_join(b->ntb, ntb_shm_fd(a->ntb)), 0);
	ntb_service(a->ntb);
	ntb_service(b->ntb);
}

/* What ntb_hw_idt does in idt_init_link and idt_init_isr: unmask link/signal events of the
 * two NT partitions and the NT interrupts. */
static inline void driver_init(struct side *s)
{
	uint32_t parts = ~0x3u, ports = ~0x5u;

	sw_wr(s, IDT_SW_SELINKUPSTS, ~0u);
	sw_wr(s, IDT_SW_SELINKDNSTS, ~0u);
	sw_wr(s, IDT_SW_SEGSIGSTS, ~0u);
	sw_wr(s, IDT_SW_SEPMSK, parts);
	sw_wr(s, IDT_SW_SELINKUPMSK, ports);
	sw_wr(s, IDT_SW_SELINKDNMSK, ports);
	sw_wr(s, IDT_SW_SEGSIGMSK, parts);
	sw_wr(s, IDT_SW_SEMSK, ~(IDT_SE_LINKUP | IDT_SE_LINKDN | IDT_SE_GSIGNAL));
	nt_wr(s, IDT_NT_NTINTMSK, nt_rd(s, IDT_NT_NTINTMSK) & ~0xbu);
}

/* idt_scan_ports: the partition of a port, from SWPORTxSTS. */
static inline unsigned part_of(struct side *s, unsigned port)
{
	return (sw_rd(s, IDT_SW_SWPORT0STS + 0x20 * port) >> IDT_SWPORTxSTS_SWPART_SHIFT) & 7;
}

/* idt_ntb_local_link_enable / _disable */
static inline void link_enable(struct side *s, bool cpen, bool valid)
{
	unsigned part = part_of(s, s->port);

	nt_wr(s, IDT_NT_NTCTL, cpen ? IDT_NTCTL_CPEN : 0);
	nt_wr(s, IDT_NT_NTMTBLADDR, part);
	nt_wr(s, IDT_NT_NTMTBLDATA,
	      valid ? (nt_rd(s, IDT_NT_REQIDCAP) << 1 | part << 17 | IDT_NTMTBLDATA_VALID) : 0);
	nt_wr(s, IDT_NT_NTGSIGNAL, IDT_NTGSIGNAL_SET);
	sw_wr(s, IDT_SW_SEGSIGSTS, 1u << part);
}

/* idt_ntb_local_link_is_up */
static inline bool local_link_up(struct side *s)
{
	if (!(nt_rd(s, IDT_NT_PCICMDSTS) & IDT_PCICMDSTS_BME) ||
	    !(nt_rd(s, IDT_NT_NTCTL) & IDT_NTCTL_CPEN))
		return false;
	nt_wr(s, IDT_NT_NTMTBLADDR, part_of(s, s->port));
	return nt_rd(s, IDT_NT_NTMTBLDATA) & IDT_NTMTBLDATA_VALID;
}

/* idt_ntb_peer_link_is_up */
static inline bool peer_link_up(struct side *s, unsigned port)
{
	uint32_t mirror = IDT_SW_NTP_BASE + IDT_SW_NTP_STRIDE * port;

	if (!(sw_rd(s, IDT_SW_SWPORT0STS + 0x20 * port) & IDT_SWPORTxSTS_LINKUP) ||
	    !(sw_rd(s, mirror + IDT_NT_PCICMDSTS) & IDT_PCICMDSTS_BME) ||
	    !(sw_rd(s, mirror + IDT_NT_NTCTL) & IDT_NTCTL_CPEN))
		return false;
	nt_wr(s, IDT_NT_NTMTBLADDR, part_of(s, port));
	return nt_rd(s, IDT_NT_NTMTBLDATA) & IDT_NTMTBLDATA_VALID;
}

/* idt_ntb_link_is_up for the one peer */
static inline bool link_is_up(struct side *s, unsigned peer)
{
	return local_link_up(s) && peer_link_up(s, peer);
}

#endif
