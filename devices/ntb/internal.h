/* SPDX-License-Identifier: MIT */
/* What the NTB part's files share; not for other parts (use devices/ntb/ntb.h). */
#ifndef DEVICES_NTB_INTERNAL_H
#define DEVICES_NTB_INTERNAL_H

#include <pthread.h>

#include "devices/ntb/idt.h"
#include "devices/ntb/ntb.h"
#include "devices/ntb/shm.h"

enum ntb_win_mode {
	NTB_WIN_NONE,	/* untranslated: stores dropped and counted, loads all ones */
	NTB_WIN_COPY,	/* translated, carried by the trap handler (unaligned or map failed) */
	NTB_WIN_MAPPED, /* translated and mapped as a memslot */
};

struct ntb_window {
	struct ntb *ntb;
	int bar;
	uint64_t bar_off; /* where the window starts in its BAR (epf MW1: after the doorbells) */
	enum ntb_win_mode mode;
	uint64_t gpa, size; /* translated part of the window, from its start */
	uint8_t *hva;
};

struct ntb {
	struct pci_dev pci;
	char name[32];
	unsigned port;
	int idx; /* port index = partition */
	uint64_t mw_size[2];
	enum ntb_personality personality;
	const struct ntb_window_ops *wops;
	void *wopaque;

	/*
	 * Lock order: the PCI root lock (recursive; config hooks already hold it), then `lock`,
	 * then the switch-state lock. Register accesses take all three.
	 */
	pthread_mutex_t lock;
	int shm_fd;
	struct ntb_shm *shm;
	struct ntb_shm_port *me;

	int kick_fd;		     /* ours: the peer writes it */
	int peer_kick[NTB_NR_PORTS]; /* theirs, -1 when unknown */
	int peer_idx;		     /* -1: no peer */
	int peer_memfd;
	uint8_t *peer_ram;
	uint64_t peer_ram_size;
	struct ntb_ram peer_layout;
	struct ntb_ram own_layout; /* nregions 0: unknown */

	/* local NT registers (not visible to other partitions) */
	uint32_t mtbladdr, gasaaddr, ntsdata;
	uint32_t lut[4];

	uint32_t irq_pending; /* NTINTSTS & ~NTINTMSK as last evaluated */
	bool intx;

	/* epf: the registers only this side sees (ntb_hw_epf's ctrl region) */
	struct {
		uint32_t argument, topology;
		uint16_t status;     /* NTB_EPF_CMD_STATUS */
		uint64_t addr, size; /* NTB_EPF_LOWER/UPPER_ADDR, _SIZE for CONFIGURE_MW */
		bool link;	     /* LINK_STATUS as last signalled (vector 0 on a change) */
	} epf;

	struct ntb_window win[2];
	struct ntb_stats stats;
};

/* regs.c: NT registers (offset < 0x1000, dword aligned) and the global space. Callers hold
 * ntb->lock and the switch-state lock; the returned mask names ports to kick. */
uint32_t ntb_nt_read(struct ntb *ntb, unsigned off);
uint32_t ntb_nt_write(struct ntb *ntb, unsigned off, uint32_t val, uint32_t bytemask);
uint32_t ntb_sw_read(struct ntb *ntb, uint32_t addr);
uint32_t ntb_sw_write(struct ntb *ntb, uint32_t addr, uint32_t val);
uint32_t ntb_ntintsts(const struct ntb *ntb);

/* ntb.c */
void ntb_kick(struct ntb *ntb, uint32_t ports);
void ntb_lock_all(struct ntb *ntb);
void ntb_unlock_all(struct ntb *ntb);
/* Re-evaluate the interrupt line (ntb->lock and the root lock held, not the shm lock). */
void ntb_irq_update(struct ntb *ntb);

/* window.c (ntb->lock held; may take and drop the shm lock) */
extern const struct bus_ops ntb_window_ops;
/* The windows' pci_bar.dma_rw: takes ntb->lock, so call it with no NTB lock held. */
int ntb_window_dma(void *opaque, uint64_t off, void *buf, uint64_t len, bool write);
void ntb_windows_update(struct ntb *ntb);
void ntb_windows_drop(struct ntb *ntb);
/*
 * Copy `len` bytes into (write) or out of window `w` at `off` from the window's start, as a
 * guest access or a DMA engine's would: through the translation when [off, off+len) is inside
 * its translated part, else stores are dropped and loads read all ones (both counted). Takes
 * ntb->lock (the PCI core's per-BAR DMA hook can call it). Returns true when translated.
 */
bool ntb_window_rw(struct ntb_window *w, uint64_t off, void *buf, uint64_t len, bool write);
/*
 * A bus-master access (a DMA engine of this machine) at `off` in BAR `bar` of the function:
 * memory windows through ntb_window_rw, epf doorbell entries ring as a store there would.
 * False when nothing there takes it (registers, other BARs, untranslated). For the PCI core's
 * per-BAR DMA hook; takes ntb->lock (and the shm lock for doorbells), never the root lock.
 */
bool ntb_bar_rw(struct ntb *ntb, int bar, uint64_t off, void *buf, uint64_t len, bool write);

/* epf.c: the epf personality (ntb_hw_epf's register interface) */
int ntb_epf_build_config(struct ntb *ntb);
/* Signal what changed: link (vector 0), doorbells the peer rang. Locks as ntb_irq_update. */
void ntb_epf_irq_update(struct ntb *ntb);
/* BAR2 below MW1: doorbell entries. True when `off` is there (a store rang it). */
bool ntb_epf_doorbell_rw(struct ntb *ntb, int bar, uint64_t off, void *buf, uint64_t len,
			 bool write);
/* Where window i should be now (want() of window.c). ntb->lock held, not the shm lock. */
struct ntb_window ntb_epf_window_want(struct ntb *ntb, int i);
/* Inside one region of `layout`: the offset into its memfd, else -1 (overflow-safe). */
int64_t ntb_ram_offset(const struct ntb_ram *layout, uint64_t gpa, uint64_t size);

#endif
