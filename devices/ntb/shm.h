/* SPDX-License-Identifier: MIT */
/*
 * The switch both vmm processes share: one MAP_SHARED region (a memfd passed over the
 * rendezvous socket) holding the IDT switch's global state. Layout in README.md. Every
 * field is guarded by `lock`, a process-shared robust mutex: a process killed while holding
 * it leaves the mutex EOWNERDEAD and the next locker takes it over (ntb_shm_lock).
 */
#ifndef DEVICES_NTB_SHM_H
#define DEVICES_NTB_SHM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define NTB_SHM_MAGIC	0x4552414853425e4eull /* "N^BSHARE" */
#define NTB_SHM_VERSION 2 /* 2: mw_lut, the epf section in every port, personality */
#define NTB_NR_PORTS	6 /* 89HPES24NT6AG2: ports 0, 2, 4, 6, 8, 12 */
#define NTB_NR_PARTS	8
#define NTB_NR_BARS	6
#define NTB_EPF_SPADS	64 /* pci-epf-ntb's SPAD_COUNT */
#define NTB_EPF_MWS	2

/* One switch port and its NT function as the other partitions see it. */
struct ntb_shm_port {
	/* Liveness: a vmm process serves the port (its SWPORTxSTS.LINKUP). */
	uint32_t attached;
	int32_t pid;
	uint64_t generation; /* bumped on every attach and detach */
	uint64_t heartbeat;  /* bumped by the owner; informational */
	/* NT function registers (the GASA per-port mirror reads these) */
	uint32_t pcicmdsts, pcielctlsts, ntctl;
	uint32_t bar[NTB_NR_BARS][4]; /* SETUP, LIMIT, LTBASE, UTBASE */
	/* inbound side: written by other partitions, cleared by the owner */
	uint32_t indbellsts, indbellmsk;
	uint32_t outmsg[4], inmsg[4], inmsgsrc[4];
	uint32_t msgsts, msgstsmsk;
	uint32_t ntintmsk;
	uint32_t sevent; /* NTINTSTS.SEVENT, latched until the owner's driver clears it */
	/* The epf personality's state of this port (unused by idt). */
	struct ntb_shm_epf {
		uint32_t link_req;   /* LINK_UP given and no LINK_DOWN since */
		uint32_t db_count;   /* MSI-X vectors CONFIGURE_DOORBELL set up; 0: none */
		uint32_t db_pending; /* vectors the peer rang, not yet signalled by the owner */
		uint32_t mw_valid;   /* bit i: mw_addr/mw_size[i] hold an inbound translation */
		/* CONFIGURE_MW: the owner's guest-physical memory the PEER's MWi reaches */
		uint64_t mw_addr[NTB_EPF_MWS], mw_size[NTB_EPF_MWS];
		uint32_t spad[NTB_EPF_SPADS]; /* the owner's own scratchpads */
	} epf;
};

struct ntb_shm {
	uint64_t magic;
	uint32_t version;
	uint32_t size; /* sizeof(struct ntb_shm): catches a layout change without a bump */
	pthread_mutex_t lock;
	uint32_t lock_recoveries; /* times a dead owner's lock was taken over */
	uint32_t personality;	  /* enum ntb_personality, set by the creator */
	/* Static switch configuration, set by the creator */
	uint32_t nt_ports;   /* bit i: port index i is an NT port */
	uint64_t mw_size[2]; /* BAR2, BAR4 apertures of every NT port (0: disabled) */
	uint32_t mw_lut[2];  /* BAR2, BAR4: 0 = DIR, 12 = LUT12, 24 = LUT24 */
	struct ntb_shm_port port[NTB_NR_PORTS];
	uint32_t mtbl[64];		  /* NT mapping table, switch-global */
	uint32_t msgctl[NTB_NR_PARTS][4]; /* SWP<part>MSGCTL<m> */
	uint32_t semsk, sepmsk;
	uint32_t selinkupsts, selinkupmsk, selinkdnsts, selinkdnmsk;
	uint32_t segsigsts, segsigmsk;
	uint32_t tmpctl, tmpalarm, tmpadj, tsslope;
};

/* Port number <-> index into port[] (and partition: port index i is in partition i). */
extern const uint8_t ntb_ports[NTB_NR_PORTS];
int ntb_port_index(unsigned port); /* -1 when not a port of this switch */

/*
 * A new region in a memfd with the static configuration: NT ports `nt_ports` (a mask of
 * port indexes), window apertures mw_size[0..1] and their translation mw_lut[0..1] (NULL: DIR).
 * Returns the fd (>= 0) or -errno.
 */
int ntb_shm_create(uint32_t nt_ports, const uint64_t mw_size[2], const uint8_t mw_lut[2]);
/* Map and check a region: -EPROTO when magic, version or size differ. */
int ntb_shm_map(int fd, struct ntb_shm **out);
void ntb_shm_unmap(struct ntb_shm *shm);

/* Take/release the region lock; recovers a lock whose owner died. A lock the peer broke is
 * not fatal: the region is marked broken in this process (ntb_shm_broken) and the caller
 * goes on without the lock. */
void ntb_shm_lock(struct ntb_shm *shm);
void ntb_shm_unlock(struct ntb_shm *shm);
bool ntb_shm_broken(const struct ntb_shm *shm);
/* With no peer attached any more: give a broken region a fresh lock. 0 or -errno. */
int ntb_shm_repair(struct ntb_shm *shm);

/* Power-on state of port index `i` (static setup kept, dynamic state cleared). Locked. */
void ntb_shm_port_reset(struct ntb_shm *shm, int i);
/* Latch a switch event for every attached NT port whose partition, event type and source
 * are unmasked. `type` is IDT_SE_*; `bit` the port (link events) or partition (signal).
 * Returns the mask of port indexes that got a new SEVENT (to be kicked). Locked. */
uint32_t ntb_shm_switch_event(struct ntb_shm *shm, uint32_t type, unsigned bit);

#endif
