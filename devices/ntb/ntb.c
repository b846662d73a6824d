/* SPDX-License-Identifier: MIT */
/*
 * The IDT NT function as a PCI device: configuration space, BAR0, the interrupt, and the
 * function's life on a switch state (create, join the peer's, lose the peer, leave).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/ntb/internal.h"
#include "vmm/pci/pcie_cap.h"
#include "vmm/util.h"

/* IDT 89HPES24NT6AG2: PCIe 2.0 x4 ports. */
#define NTB_LINK_SPEED PCIE_SPEED_5GT
#define NTB_LINK_WIDTH 4

/* ---- locking ---- */

static void root_lock(struct ntb *ntb)
{
	if (ntb->pci.root)
		pthread_mutex_lock(&ntb->pci.root->lock);
	pthread_mutex_lock(&ntb->lock);
}

static void root_unlock(struct ntb *ntb)
{
	pthread_mutex_unlock(&ntb->lock);
	if (ntb->pci.root)
		pthread_mutex_unlock(&ntb->pci.root->lock);
}

void ntb_lock_all(struct ntb *ntb)
{
	root_lock(ntb);
}

void ntb_unlock_all(struct ntb *ntb)
{
	root_unlock(ntb);
}

void ntb_kick(struct ntb *ntb, uint32_t ports)
{
	uint64_t one = 1;

	for (int i = 0; i < NTB_NR_PORTS; i++)
		if ((ports & (1u << i)) && i != ntb->idx && ntb->peer_kick[i] >= 0 &&
		    write(ntb->peer_kick[i], &one, sizeof(one)) < 0 && errno != EAGAIN)
			pr_ratelimited("%s: kicking port %u: %s", ntb->name, ntb_ports[i],
				       strerror(errno));
}

/* ---- interrupt ---- */

static bool msi_enabled(const struct pci_dev *d)
{
	return d->msi.cap && (d->cfg[d->msi.cap + PCI_MSI_FLAGS] & PCI_MSI_FLAGS_ENABLE);
}

/*
 * One vector for everything. It fires on a rising edge of any bit of NTINTSTS & ~NTINTMSK:
 * that covers "0 to non-zero" and "unmasking a pending bit", and also a new cause while an
 * older one is still pending, which ntb_hw_idt expects ("if client driver left any of
 * Doorbell bits set and some other event occurred, the driver will be notified of Doorbell
 * event again"). With MSI off, INTx A is held while anything unmasked is pending.
 */
void ntb_irq_update(struct ntb *ntb)
{
	uint32_t f, rising;

	if (ntb->personality == NTB_EPF) {
		ntb_epf_irq_update(ntb);
		return;
	}
	ntb_shm_lock(ntb->shm);
	f = ntb_ntintsts(ntb) & ~ntb->me->ntintmsk;
	ntb_shm_unlock(ntb->shm);
	rising = f & ~ntb->irq_pending;
	ntb->irq_pending = f;
	if (!ntb->pci.root)
		return;
	if (msi_enabled(&ntb->pci)) {
		if (ntb->intx) {
			ntb->intx = false;
			pci_intx_set(&ntb->pci, false);
		}
		if (rising)
			pci_notify(&ntb->pci, 0);
	} else if ((f != 0) != ntb->intx) {
		ntb->intx = f != 0;
		pci_intx_set(&ntb->pci, ntb->intx);
	}
}

/* ---- registers: BAR0 and configuration space from 0x400 ---- */

static void reg_write(struct ntb *ntb, unsigned off, uint32_t val, uint32_t bytemask)
{
	uint32_t kick;

	ntb_shm_lock(ntb->shm);
	kick = ntb_nt_write(ntb, off, val, bytemask);
	ntb_shm_unlock(ntb->shm);
	if ((off >= IDT_NT_BARSETUP0 && off < IDT_NT_BAREND) || off == IDT_NT_GASADATA ||
	    (off >= IDT_NT_LUTLDATA && off <= IDT_NT_LUTUDATA))
		ntb_windows_update(ntb);
	ntb_irq_update(ntb);
	ntb_kick(ntb, kick);
}

static uint32_t reg_read(struct ntb *ntb, unsigned off)
{
	uint32_t v;

	ntb_shm_lock(ntb->shm);
	v = ntb_nt_read(ntb, off);
	ntb_shm_unlock(ntb->shm);
	return v;
}

static uint8_t bus_number(const struct pci_dev *d)
{
	return d->bus && d->bus->self ? d->bus->self->cfg[PCI_SECONDARY_BUS] : 0;
}

static uint64_t bar0_read(void *opaque, uint64_t off, unsigned size)
{
	struct ntb *ntb = opaque;
	uint64_t v;

	if (off >= IDT_NT_REGS_SIZE || size > IDT_NT_REGS_SIZE - off)
		return ~0ull;
	root_lock(ntb);
	if (size == 8) {
		v = reg_read(ntb, (unsigned)off & ~3u) |
		    (uint64_t)reg_read(ntb, ((unsigned)off & ~3u) + 4) << 32;
	} else if ((off & 3) + size > 4) {
		v = ~0ull; /* registers are dword-sized: a straddling access is not claimed */
	} else {
		v = reg_read(ntb, (unsigned)off & ~3u) >> (8 * (off & 3));
	}
	root_unlock(ntb);
	return v;
}

static void bar0_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct ntb *ntb = opaque;
	unsigned o = (unsigned)off;

	if (off >= IDT_NT_REGS_SIZE || size > IDT_NT_REGS_SIZE - off ||
	    (size < 8 && (o & 3) + size > 4) || (size == 8 && (o & 7))) {
		pr_ratelimited("%s: %u-byte BAR0 write at 0x%x ignored", ntb->name, size, o);
		return;
	}
	if (o < IDT_NT_PROPRIETARY) {
		/* The header and capabilities: a config write, through the core's masks (and
		 * our config_write hook, so no lock of ours may be held here). */
		if (ntb->pci.root && ntb->pci.bus)
			for (unsigned done = 0; done < size; done += 4)
				pci_config_write(ntb->pci.root, bus_number(&ntb->pci),
						 ntb->pci.devfn, o + done,
						 (uint32_t)(val >> (8 * done)),
						 size < 4 ? size : 4);
		return;
	}
	root_lock(ntb);
	if (size == 8) {
		reg_write(ntb, o, (uint32_t)val, 0xffffffffu);
		reg_write(ntb, o + 4, (uint32_t)(val >> 32), 0xffffffffu);
	} else {
		uint32_t mask = (size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1) << (8 * (o & 3));

		reg_write(ntb, o & ~3u, (uint32_t)val << (8 * (o & 3)), mask);
	}
	root_unlock(ntb);
}

static const struct bus_ops ntb_bar0_ops = {.read = bar0_read, .write = bar0_write};

/* Config reads of the IDT registers (Linux reads BARSETUP0 at 0x470 before touching BAR0). */
static void ntb_config_read(struct pci_dev *d, unsigned off, unsigned size)
{
	struct ntb *ntb = d->opaque;

	if (off < IDT_NT_PROPRIETARY || off == IDT_NT_GASADATA)
		return;
	pthread_mutex_lock(&ntb->lock);
	pci_set32(d, off & ~3u, reg_read(ntb, off & ~3u));
	pthread_mutex_unlock(&ntb->lock);
}

static void ntb_config_write(struct pci_dev *d, unsigned off, uint32_t val, unsigned size)
{
	struct ntb *ntb = d->opaque;

	pthread_mutex_lock(&ntb->lock);
	if (off >= IDT_NT_PROPRIETARY) {
		uint32_t mask = (size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1)
				<< (8 * (off & 3));

		reg_write(ntb, off & ~3u, val << (8 * (off & 3)), mask);
	} else {
		ntb_shm_lock(ntb->shm);
		ntb->me->pcicmdsts = pci_get32(d, PCI_COMMAND);
		ntb_shm_unlock(ntb->shm);
		/* MSI enable may have changed how the interrupt goes out. */
		ntb_irq_update(ntb);
	}
	pthread_mutex_unlock(&ntb->lock);
}

static void ntb_bar_mapped(struct pci_dev *d, int bar, uint64_t addr)
{
	struct ntb *ntb = d->opaque;

	if (bar != 2 && bar != 4)
		return;
	pthread_mutex_lock(&ntb->lock);
	ntb_windows_update(ntb);
	pthread_mutex_unlock(&ntb->lock);
}

static const struct pci_dev_ops ntb_pci_ops = {
	.config_read = ntb_config_read,
	.config_write = ntb_config_write,
	.bar_mapped = ntb_bar_mapped,
};

/* ---- configuration space ---- */

static int build_config(struct ntb *ntb)
{
	struct pci_dev *d = &ntb->pci;
	struct pcie_cap_desc exp = {
		.type = PCIE_TYPE_ENDPOINT,
		.width = NTB_LINK_WIDTH,
		.speed = NTB_LINK_SPEED,
	};
	uint8_t cap;

	pci_dev_init(d, ntb->name, IDT_VENDOR, IDT_DEVICE_NT6AG2, IDT_CLASS_NT, 0, false);
	d->ops = &ntb_pci_ops;
	d->opaque = ntb;
	if (pci_dev_set_bar(d, 0, PCI_BAR_MEM32, false, IDT_NT_REGS_SIZE, &ntb_bar0_ops, ntb, NULL))
		return -EINVAL;
	for (int i = 0; i < 2; i++) {
		ntb->win[i] = (struct ntb_bar_win){
			.ntb = ntb,
			.bar = 2 + 2 * i,
			.nent = ntb->mw_lut[i] ? ntb->mw_lut[i] : 1,
			.ent_size = ntb->mw_lut[i] == 24   ? ntb->mw_size[i] / 32
				    : ntb->mw_lut[i] == 12 ? ntb->mw_size[i] / 16
							   : ntb->mw_size[i]};
		if (ntb->mw_size[i] &&
		    pci_dev_set_bar(d, 2 + 2 * i, PCI_BAR_MEM64, true, ntb->mw_size[i],
				    &ntb_window_ops, &ntb->win[i], NULL))
			return -EINVAL;
		if (ntb->mw_size[i] && pci_dev_set_bar_dma(d, 2 + 2 * i, ntb_window_dma))
			return -EINVAL;
	}

	/* PCI Express endpoint at 0x40: PCIELCAP 0x4C carries the port number (31:24). */
	exp.port_number = ntb->port;
	if (pci_add_pcie_cap(d, IDT_NT_PCIECAP, &exp) != IDT_NT_PCIECAP)
		return -ENOSPC;

	d->cap_next = IDT_NT_PMCAP;
	cap = pci_add_cap(d, PCI_CAP_ID_PM, PCIE_PM_SIZE);
	if (!cap)
		return -ENOSPC;
	pci_set16(d, cap + PCIE_PM_PMC, 3);
	pci_set16(d, cap + PCIE_PM_CSR, PCIE_PM_CSR_NSR);
	d->wmask[cap + PCIE_PM_CSR] = PCIE_PM_CSR_STATE;

	d->cap_next = IDT_NT_MSICAP;
	if (pci_add_msi(d, false))
		return -ENOSPC;
	pci_set_intx_pin(d, 1);
	return 0;
}

/* ---- life on a switch ---- */

static void attach_port(struct ntb *ntb)
{
	struct ntb_shm_port *me = ntb->me;

	me->attached = 1;
	me->pid = (int32_t)getpid();
	me->generation++;
	me->pcicmdsts = pci_get32(&ntb->pci, PCI_COMMAND);
	me->pcielctlsts = pci_get32(&ntb->pci, IDT_NT_PCIELCTLSTS);
}

static void detach_port(struct ntb_shm *shm, int idx)
{
	shm->port[idx].attached = 0;
	shm->port[idx].pid = 0;
	shm->port[idx].generation++;
	ntb_shm_port_reset(shm, idx);
}

static bool valid_mw_size(uint64_t s)
{
	return s == 0 || (IS_POW2(s) && s >= NTB_MIN_MW_SIZE && s <= NTB_MAX_MW_SIZE);
}

struct ntb *ntb_create(const struct ntb_config *cfg, const struct ntb_window_ops *wops,
		       void *wopaque, char *err, size_t errlen)
{
	struct ntb *ntb;
	int idx = ntb_port_index(cfg->port), fd, ret;
	uint32_t nt_ports;

	if (idx < 0) {
		snprintf(err, errlen,
			 "ntb: port %u is not a port of the IDT 89HPES24NT6AG2 "
			 "(0, 2, 4, 6, 8, 12)",
			 cfg->port);
		return NULL;
	}
	if (cfg->personality == NTB_EPF &&
	    (!cfg->mw_size[0] || cfg->mw_size[0] > NTB_EPF_MAX_MW_SIZE ||
	     cfg->mw_size[1] > NTB_EPF_MAX_MW_SIZE)) {
		snprintf(err, errlen,
			 "ntb: epf window sizes 0x%llx, 0x%llx: MW1 must exist and both fit "
			 "32-bit BARs (at most 256 MiB)",
			 (unsigned long long)cfg->mw_size[0], (unsigned long long)cfg->mw_size[1]);
		return NULL;
	}
	if (cfg->personality != NTB_IDT && cfg->personality != NTB_EPF) {
		snprintf(err, errlen, "ntb: unknown personality %d", (int)cfg->personality);
		return NULL;
	}
	for (int i = 0; i < 2; i++)
		if (!valid_mw_size(cfg->mw_size[i])) {
			snprintf(err, errlen,
				 "ntb: BAR%d window size 0x%llx: want 0 or a power of "
				 "two from 4 KiB to 512 GiB",
				 2 + 2 * i, (unsigned long long)cfg->mw_size[i]);
			return NULL;
		}
	for (int i = 0; i < 2; i++) {
		unsigned n = cfg->mw_lut[i];

		if (n != 0 && n != 12 && n != 24) {
			snprintf(err, errlen,
				 "ntb: BAR%d lookup table of %u entries: want 12 or 24", 2 + 2 * i,
				 n);
			return NULL;
		}
		/* An entry is 1/16 (LUT12) or 1/32 (LUT24) of the aperture: keep it a page. */
		if (n && cfg->mw_size[i] < (n == 12 ? KiB(64) : KiB(128))) {
			snprintf(
				err, errlen,
				"ntb: BAR%d LUT%u needs a window of at least %s (entries of 4 KiB)",
				2 + 2 * i, n, n == 12 ? "64 KiB" : "128 KiB");
			return NULL;
		}
	}
	if (cfg->personality == NTB_EPF && (cfg->mw_lut[0] || cfg->mw_lut[1])) {
		snprintf(err, errlen, "ntb: lookup-table windows are an IDT feature, not epf's");
		return NULL;
	}
	if (cfg->mw_lut[0] == 24 && cfg->mw_lut[1] == 24) {
		/* ntb_hw_idt.c section 4: BAR2 and BAR4 can't have 24-entry LUTs at once. */
		snprintf(err, errlen, "ntb: BAR2 and BAR4 cannot both be LUT24");
		return NULL;
	}
	if (cfg->mw_lut[0] + cfg->mw_lut[1] == 36) {
		/* idt_scan_mws: more than IDT_MAX_NR_MWS (29) windows fail the probe. */
		snprintf(err, errlen, "ntb: LUT12 with LUT24 is 36 windows, ntb_hw_idt takes 29");
		return NULL;
	}
	ntb = calloc(1, sizeof(*ntb));
	if (!ntb) {
		snprintf(err, errlen, "ntb: out of memory");
		return NULL;
	}
	snprintf(ntb->name, sizeof(ntb->name), "%s", cfg->name ? cfg->name : "ntb");
	ntb->port = cfg->port;
	ntb->idx = idx;
	ntb->mw_size[0] = cfg->mw_size[0];
	ntb->mw_size[1] = cfg->mw_size[1];
	ntb->mw_lut[0] = cfg->mw_lut[0];
	ntb->mw_lut[1] = cfg->mw_lut[1];
	ntb->personality = cfg->personality;
	ntb->wops = wops;
	ntb->wopaque = wopaque;
	ntb->peer_idx = -1;
	ntb->peer_memfd = -1;
	ntb->shm_fd = -1;
	for (int i = 0; i < NTB_NR_PORTS; i++)
		ntb->peer_kick[i] = -1;
	pthread_mutex_init(&ntb->lock, NULL);
	ntb->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ntb->kick_fd < 0) {
		ret = -errno;
		goto fail;
	}
	ret = ntb->personality == NTB_EPF ? ntb_epf_build_config(ntb) : build_config(ntb);
	if (ret)
		goto fail;

	/* Ports 0 and 2 are NT ports of the switch whichever side comes up first. */
	nt_ports = 1u << ntb_port_index(0) | 1u << ntb_port_index(2) | 1u << idx;
	fd = ntb_shm_create(nt_ports, ntb->mw_size, ntb->mw_lut);
	if (fd < 0) {
		ret = fd;
		goto fail;
	}
	ntb->shm_fd = fd;
	ret = ntb_shm_map(fd, &ntb->shm);
	if (ret)
		goto fail;
	ntb->me = &ntb->shm->port[idx];
	ntb_shm_lock(ntb->shm);
	ntb->shm->personality = (uint32_t)ntb->personality; /* before anyone else maps it */
	attach_port(ntb);
	ntb_shm_unlock(ntb->shm);
	return ntb;
fail:
	snprintf(err, errlen, "ntb: %s: %s", ntb->name, strerror(-ret));
	ntb_destroy(ntb);
	return NULL;
}

static void drop_peer(struct ntb *ntb)
{
	ntb_windows_drop(ntb);
	if (ntb->peer_ram)
		munmap(ntb->peer_ram, ntb->peer_ram_size);
	ntb->peer_ram = NULL;
	ntb->peer_ram_size = 0;
	if (ntb->peer_memfd >= 0)
		close(ntb->peer_memfd);
	ntb->peer_memfd = -1;
	if (ntb->peer_idx >= 0 && ntb->peer_kick[ntb->peer_idx] >= 0) {
		close(ntb->peer_kick[ntb->peer_idx]);
		ntb->peer_kick[ntb->peer_idx] = -1;
	}
	ntb->peer_idx = -1;
}

void ntb_destroy(struct ntb *ntb)
{
	uint32_t kick = 0;

	if (!ntb)
		return;
	pthread_mutex_lock(&ntb->lock);
	if (ntb->shm) {
		ntb_shm_lock(ntb->shm);
		detach_port(ntb->shm, ntb->idx);
		kick = ntb_shm_switch_event(ntb->shm, IDT_SE_LINKDN, ntb->port);
		ntb_shm_unlock(ntb->shm);
		ntb_kick(ntb, kick | (ntb->peer_idx >= 0 ? 1u << ntb->peer_idx : 0));
	}
	drop_peer(ntb);
	for (int i = 0; i < NTB_NR_PORTS; i++)
		if (ntb->peer_kick[i] >= 0)
			close(ntb->peer_kick[i]);
	ntb_shm_unmap(ntb->shm);
	if (ntb->shm_fd >= 0)
		close(ntb->shm_fd);
	if (ntb->kick_fd >= 0)
		close(ntb->kick_fd);
	pthread_mutex_unlock(&ntb->lock);
	pci_dev_destroy(&ntb->pci);
	pthread_mutex_destroy(&ntb->lock);
	free(ntb);
}

struct pci_dev *ntb_pci(struct ntb *ntb)
{
	return &ntb->pci;
}

int ntb_kick_fd(const struct ntb *ntb)
{
	return ntb->kick_fd;
}

int ntb_shm_fd(const struct ntb *ntb)
{
	return ntb->shm_fd;
}

void ntb_get_stats(struct ntb *ntb, struct ntb_stats *st)
{
	pthread_mutex_lock(&ntb->lock);
	*st = ntb->stats;
	pthread_mutex_unlock(&ntb->lock);
}

void ntb_ram_from_guest_mem(struct ntb_ram *ram, const struct guest_mem *mem)
{
	memset(ram, 0, sizeof(*ram));
	ram->memfd = mem->memfd;
	ram->size = mem->size;
	for (int i = 0; i < mem->nregions && i < NTB_MAX_RAM_REGIONS; i++) {
		ram->region[i].gpa = mem->regions[i].gpa;
		ram->region[i].size = mem->regions[i].size;
		ram->region[i].offset = mem->regions[i].offset;
		ram->nregions++;
	}
}

static bool pid_alive(int32_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

/* Carry what this partition owns from `old` into `shm` (both locked). */
static void carry_state(struct ntb *ntb, struct ntb_shm *shm, struct ntb_shm *old)
{
	struct ntb_shm_port *to = &shm->port[ntb->idx], *from = &old->port[ntb->idx];
	uint64_t gen = to->generation > from->generation ? to->generation : from->generation;

	memcpy(&to->pcicmdsts, &from->pcicmdsts,
	       sizeof(*to) - offsetof(struct ntb_shm_port, pcicmdsts));
	to->generation = gen;
	for (int e = 0; e < IDT_MTBL_ENTRY_CNT; e++)
		if ((old->mtbl[e] & IDT_NTMTBLDATA_VALID) &&
		    ((old->mtbl[e] & IDT_NTMTBLDATA_PART_MASK) >> IDT_NTMTBLDATA_PART_SHIFT) ==
			    (unsigned)ntb->idx)
			shm->mtbl[e] = old->mtbl[e];
	memcpy(shm->msgctl[ntb->idx], old->msgctl[ntb->idx], sizeof(shm->msgctl[0]));
	/* Both drivers program the same event masks (idt_init_link); keep what either
	 * unmasked, and every event either side has not acknowledged yet. */
	shm->semsk &= old->semsk;
	shm->sepmsk &= old->sepmsk;
	shm->selinkupmsk &= old->selinkupmsk;
	shm->selinkdnmsk &= old->selinkdnmsk;
	shm->segsigmsk &= old->segsigmsk;
	shm->selinkupsts |= old->selinkupsts;
	shm->selinkdnsts |= old->selinkdnsts;
	shm->segsigsts |= old->segsigsts;
}

int ntb_join(struct ntb *ntb, int shm_fd)
{
	struct ntb_shm *shm, *old;
	struct ntb_shm_port *p;
	uint32_t kick;
	int fd, ret;

	ret = ntb_shm_map(shm_fd, &shm);
	if (ret)
		return ret;
	fd = fcntl(shm_fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		ntb_shm_unmap(shm);
		return ret;
	}
	root_lock(ntb);
	old = ntb->shm;
	ntb_shm_lock(shm);
	p = &shm->port[ntb->idx];
	if (shm->mw_size[0] != ntb->mw_size[0] || shm->mw_size[1] != ntb->mw_size[1] ||
	    shm->mw_lut[0] != ntb->mw_lut[0] || shm->mw_lut[1] != ntb->mw_lut[1] ||
	    shm->personality != (uint32_t)ntb->personality || !(shm->nt_ports & (1u << ntb->idx))) {
		ret = -EINVAL;
	} else if (p->attached && (p->pid == (int32_t)getpid() || pid_alive(p->pid))) {
		ret = -EBUSY;
	}
	if (ret) {
		ntb_shm_unlock(shm);
		root_unlock(ntb);
		ntb_shm_unmap(shm);
		close(fd);
		return ret;
	}
	ntb_shm_lock(old);
	carry_state(ntb, shm, old);
	detach_port(old, ntb->idx);
	ntb_shm_unlock(old);
	ntb->shm = shm;
	ntb->me = p;
	attach_port(ntb);
	kick = ntb_shm_switch_event(shm, IDT_SE_LINKUP, ntb->port);
	/* ...and for this guest, the ports that were up already came up. */
	for (int i = 0; i < NTB_NR_PORTS; i++)
		if (i != ntb->idx && shm->port[i].attached) {
			kick |= ntb_shm_switch_event(shm, IDT_SE_LINKUP, ntb_ports[i]);
			/* epf: the others look at their link now that this side is attached */
			if (ntb->personality == NTB_EPF)
				kick |= 1u << i;
		}
	ntb_shm_unlock(shm);
	ntb_shm_unmap(old);
	close(ntb->shm_fd);
	ntb->shm_fd = fd;
	ntb_irq_update(ntb);
	ntb_kick(ntb, kick);
	root_unlock(ntb);
	return 0;
}

int ntb_set_peer(struct ntb *ntb, unsigned peer_port, const struct ntb_ram *ram, int kick_fd)
{
	int idx = ntb_port_index(peer_port), memfd = -1, kfd = -1;
	void *base = NULL;
	struct stat st;

	if (idx < 0 || idx == ntb->idx || ram->nregions < 0 || ram->nregions > NTB_MAX_RAM_REGIONS)
		return -EINVAL;
	/* The size is the peer's claim: a MAP_SHARED mapping past the end of the memfd maps,
	 * but touching it raises SIGBUS (mmap(2)), through a window in COPY mode or a memslot
	 * (found by fuzz_ntb). Only what the file holds now may be offered. */
	if (ram->size && (fstat(ram->memfd, &st) || (uint64_t)st.st_size < ram->size))
		return -EINVAL;
	/* ... and only if it stays that large: a peer that could truncate its memfd later
	 * would turn our next access into SIGBUS (vmm/mem.c seals guest RAM against it). */
	if (ram->size && !memfd_shrink_sealed(ram->memfd))
		return -EPERM;
	for (int i = 0; i < ram->nregions; i++) {
		const struct ntb_ram_region *r = &ram->region[i];

		if (r->offset > ram->size || r->size > ram->size - r->offset ||
		    r->gpa + r->size < r->gpa)
			return -EINVAL;
	}
	if (ram->size) {
		base = mmap(NULL, ram->size, PROT_READ | PROT_WRITE, MAP_SHARED, ram->memfd, 0);
		if (base == MAP_FAILED)
			return -errno;
	}
	memfd = fcntl(ram->memfd, F_DUPFD_CLOEXEC, 0);
	if (kick_fd >= 0)
		kfd = fcntl(kick_fd, F_DUPFD_CLOEXEC, 0);
	root_lock(ntb);
	drop_peer(ntb);
	ntb->peer_idx = idx;
	ntb->peer_memfd = memfd;
	ntb->peer_ram = base;
	ntb->peer_ram_size = ram->size;
	ntb->peer_layout = *ram;
	ntb->peer_layout.memfd = -1;
	ntb->peer_kick[idx] = kfd;
	ntb_windows_update(ntb);
	ntb_irq_update(ntb);
	root_unlock(ntb);
	return 0;
}

void ntb_peer_lost(struct ntb *ntb)
{
	uint32_t kick = 0;
	int idx;

	root_lock(ntb);
	idx = ntb->peer_idx;
	if (idx >= 0) {
		ntb_shm_lock(ntb->shm);
		if (ntb->shm->port[idx].attached) {
			detach_port(ntb->shm, idx);
			kick = ntb_shm_switch_event(ntb->shm, IDT_SE_LINKDN, ntb_ports[idx]);
		}
		ntb_shm_unlock(ntb->shm);
		drop_peer(ntb);
	}
	ntb_shm_repair(ntb->shm); /* the peer that broke the lock is gone */
	ntb_irq_update(ntb);
	ntb_kick(ntb, kick);
	root_unlock(ntb);
}

void ntb_service(struct ntb *ntb)
{
	uint64_t n;

	while (read(ntb->kick_fd, &n, sizeof(n)) == sizeof(n))
		;
	root_lock(ntb);
	ntb_shm_lock(ntb->shm);
	ntb->me->heartbeat++;
	ntb_shm_unlock(ntb->shm);
	/* epf: the peer's CONFIGURE_MW / TEARDOWN_MW move this side's windows */
	if (ntb->personality == NTB_EPF)
		ntb_windows_update(ntb);
	ntb_irq_update(ntb);
	root_unlock(ntb);
}

void ntb_set_own_ram(struct ntb *ntb, const struct ntb_ram *ram)
{
	pthread_mutex_lock(&ntb->lock);
	ntb->own_layout = *ram;
	ntb->own_layout.memfd = -1;
	if (ntb->own_layout.nregions < 0 || ntb->own_layout.nregions > NTB_MAX_RAM_REGIONS)
		ntb->own_layout.nregions = 0;
	pthread_mutex_unlock(&ntb->lock);
}
