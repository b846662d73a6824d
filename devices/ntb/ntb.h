/* SPDX-License-Identifier: MIT */
/*
 * NTB: an IDT 89HPES24NT6AG2 NT function (PCI 111d:8091) and the link that makes two vmm
 * processes the two hosts of one switch (DESIGN.md "NTB pair"). The unmodified Linux
 * ntb_hw_idt driver binds to it. Layout of the shared state and lifecycle: README.md.
 *
 * The function:
 *   class 0x068000, one MSI vector (INTx A fallback), PCI Express endpoint capability at
 *   0x40 (Link Capabilities carries the switch port number), PM at 0xC0, MSI at 0xD0.
 *   BAR0  4 KiB, 32-bit: the whole configuration space, IDT registers from 0x400
 *         (BARSETUP0 also readable through config space at 0x470).
 *   BAR2, BAR4  64-bit prefetchable memory windows of mw_size[0], mw_size[1] bytes, direct
 *         (DIR) translation into the peer's guest-physical memory, or a 12- or 24-entry
 *         lookup table (LUT12, LUT24) of equal slices, each translated on its own.
 *
 * How the machine uses it:
 *   1. ntb_create(&cfg, &window_ops, opaque): the function is alone on its own private
 *      switch state, so the guest can probe it with no peer (both NT ports' static state
 *      reads correctly). Put ntb_pci(ntb) on a bus with pci_bus_add().
 *   2. ntb_link_start(ntb, rendezvous_path, &ram): a thread meets the peer vmm over the Unix
 *      socket (whoever comes first listens), exchanges switch state, guest RAM memfds and
 *      interrupt eventfds, notices the peer leaving (socket closed, kill -9 included) and
 *      waits for it to come back. ntb_link_stop() before ntb_destroy().
 *   3. window_ops.map/unmap: when the guest translates a window onto the peer's RAM, vmm
 *      asks the machine to put `size` bytes of host memory at `hva` at guest-physical `gpa`
 *      (a KVM memslot over the part of the BAR that is translated; the BAR's trapped range
 *      stays registered below it and catches the rest). unmap is called before the peer
 *      memory goes away, when the BAR moves, and on ntb_destroy. Both are called with the
 *      PCI root lock held (like pci_host_ops.map_ram) and must not call into the PCI core.
 *
 * Config keys the machine will need ([[ntb]] in the TOML): `id`, `bus` (where the function
 * sits), `port` (0 or 2; 4, 6, 8, 12 are accepted too), `rendezvous` (Unix socket path, the
 * same in both configs), `mw_sizes` (BAR2 and BAR4 apertures: powers of two from 4 KiB, or 0
 * for none; both configs must agree, default 16 MiB each).
 */
#ifndef DEVICES_NTB_H
#define DEVICES_NTB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/mem.h"
#include "vmm/pci/pci.h"

#define NTB_DEFAULT_MW_SIZE MiB(16)
#define NTB_MIN_MW_SIZE	    0x1000ull
#define NTB_MAX_MW_SIZE	    (1ull << 39) /* SIZE is 6 bits; stay well inside 64-bit BARs */
#define NTB_LUT_SLOTS	    32		 /* LUTOFFSET.INDEX is 5 bits */
/* epf: 32-bit BARs, and BAR2 holds the doorbells and MW1 (2 * mw_size[0]). */
#define NTB_EPF_MAX_MW_SIZE MiB(256)

/*
 * Which register interface the function shows the guest. Both sides of a pair must agree
 * (checked in the hello and at join).
 *   NTB_IDT: IDT 89HPES24NT6AG2 NT function, 111d:8091, for ntb_hw_idt (this file's header).
 *   NTB_EPF: the Linux PCI endpoint NTB function (pci-epf-ntb) as a TI J721E shows it,
 *            104c:b00d, for ntb_hw_epf: scratchpads and inbound translation (mw_set_trans),
 *            which ntb_transport and ntb_netdev need. Layout: devices/ntb/epf.h, README.md.
 */
enum ntb_personality {
	NTB_IDT = 0,
	NTB_EPF = 1,
};

struct ntb;

struct ntb_window_ops {
	/* 0 or -errno; on failure the window keeps working through traps (slowly). */
	int (*map)(void *opaque, uint64_t gpa, uint64_t size, void *hva);
	void (*unmap)(void *opaque, uint64_t gpa, uint64_t size);
};

struct ntb_config {
	const char *name;    /* instance name, e.g. "ntb0" */
	unsigned port;	     /* switch port: 0, 2, 4, 6, 8 or 12 */
	uint64_t mw_size[2]; /* BAR2, BAR4 apertures; 0 = window absent */
	/* BAR2, BAR4 translation: 0 = direct (DIR), 12 or 24 = a lookup table of that many
	 * entries, each mw_size/16 (LUT12) or mw_size/32 (LUT24) bytes (idt_scan_mws). At
	 * most one LUT24; an entry must be at least 4 KiB. */
	uint8_t mw_lut[2];
	enum ntb_personality personality;
};

/* Guest RAM one side offers its peer: the memfd and where its pieces sit guest-physically. */
#define NTB_MAX_RAM_REGIONS 4
struct ntb_ram {
	int memfd;
	uint64_t size; /* bytes of the memfd to map */
	int nregions;
	struct ntb_ram_region {
		uint64_t gpa, size, offset; /* offset: in the memfd */
	} region[NTB_MAX_RAM_REGIONS];
};
void ntb_ram_from_guest_mem(struct ntb_ram *ram, const struct guest_mem *mem);

/* NULL with a message in err on a bad config (port, sizes) or a host failure. */
struct ntb *ntb_create(const struct ntb_config *cfg, const struct ntb_window_ops *wops,
		       void *wopaque, char *err, size_t errlen);
/* Leaves the switch (the peer sees link down), unmaps windows, frees. After the device is
 * out of the PCI tree (pci_root_destroy) or never added. NULL is ignored. */
void ntb_destroy(struct ntb *ntb);
struct pci_dev *ntb_pci(struct ntb *ntb);

/* What the guest did through windows that go nowhere (for `vmm inspect` and tests). */
struct ntb_stats {
	uint64_t dropped_stores;    /* stores to an untranslated window or beyond its limit */
	uint64_t dropped_loads;	    /* loads from there (they read all ones) */
	uint64_t trapped_copies;    /* accesses a translated but unmappable window carried */
	uint64_t dropped_doorbells; /* epf: doorbells the peer had not configured a vector for */
	uint64_t dropped_spads;	    /* epf: peer scratchpad stores with no peer there */
	uint64_t dma_copies;	    /* DMA by another function through a window (pci_dma_*) */
};
void ntb_get_stats(struct ntb *ntb, struct ntb_stats *st);

/* This side's own guest RAM layout (the memfd is not used): lets the epf personality refuse
 * a CONFIGURE_MW outside this guest's RAM at once. The peer checks again before it maps. */
void ntb_set_own_ram(struct ntb *ntb, const struct ntb_ram *ram);

/* ---- the link, step by step (ntb_link_* below does all of this for the machine) ---- */
/* An eventfd the peer writes when it changed state this side must look at. */
int ntb_kick_fd(const struct ntb *ntb);
/* The switch-state memfd this function is on now (owned by the function). */
int ntb_shm_fd(const struct ntb *ntb);
/* Move onto another switch state (the listener's), carrying this port's registers, its
 * partition's mapping-table entry and message routing along. -EPROTO on a layout/version
 * mismatch, -EINVAL when the static setup differs (window sizes), -EBUSY when a live
 * process already serves this port there. Dups shm_fd. */
int ntb_join(struct ntb *ntb, int shm_fd);
/* The peer on `peer_port` offers `ram`; `kick_fd` is its eventfd, written when we change
 * state it must look at (doorbells, messages, switch events). Maps the
 * peer RAM (MAP_SHARED) for the windows. Dups the fds. */
int ntb_set_peer(struct ntb *ntb, unsigned peer_port, const struct ntb_ram *ram, int kick_fd);
/* The peer process is gone: its port goes link down (SELINKDNSTS, SEVENT to this guest),
 * windows onto it are unmapped and its RAM unmapped. Idempotent. */
void ntb_peer_lost(struct ntb *ntb);
/* Drain the kick eventfd and act on what the peer changed (raise the interrupt). */
void ntb_service(struct ntb *ntb);

/* ---- the rendezvous (Unix socket, SCM_RIGHTS) ---- */
struct ntb_link;
/*
 * Start the link thread for `ntb` at `path`. `ram` describes this side's guest RAM (the
 * memfd is dup'ed). Returns NULL with a message on a host failure. The thread: connect to
 * `path`; if nobody listens, listen there (a lock file path.lock serialises the two sides'
 * choice); after each peer leaves, go back to that.
 */
struct ntb_link *ntb_link_start(struct ntb *ntb, const char *path, const struct ntb_ram *ram,
				char *err, size_t errlen);
/* Stop the thread, leave the peer (closing the socket tells it). NULL is ignored. */
void ntb_link_stop(struct ntb_link *link);
/* Has a peer now (for tests and `vmm inspect`). */
bool ntb_link_connected(struct ntb_link *link);

/* The pieces, for tests and for a machine with its own event loop: */
int ntb_link_listen(const char *path);	/* listening socket fd or -errno */
int ntb_link_connect(const char *path); /* connected fd or -errno */
/* Exchange hellos on a connected socket and set the function up: the listener (`listener`
 * true) sends its switch state, the connector joins it. 0 or -errno. */
int ntb_link_handshake(struct ntb *ntb, int sock, bool listener, const struct ntb_ram *ram);

#endif
