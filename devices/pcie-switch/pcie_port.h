/* SPDX-License-Identifier: MIT */
/*
 * PCI Express ports: the root port and the TI XIO3130 switch (upstream port + downstream
 * ports). Each port is a type-1 `struct pci_dev`; the PCI core does the generic bridge work
 * (bus numbers, windows, forwarding). This part gives each port its identity and its
 * capabilities: PCI Express (PCIe 5.0 7.5.3), MSI, power management, AER (7.8.4) and, only
 * when asked, ACS (7.7.8).
 *
 * Root port 1234:7101 rev 0 (vmm's own vendor ID, see root_port.c for why not 1b36:000c):
 *   0x40 PCIe v2 Root Port (4), slot implemented     ext 0x100 AER (0x48 bytes)
 *   0x80 MSI, 1 vector, 64-bit                        ext 0x148 ACS (acs only)
 *   0x90 Power Management
 *   Link x16 at 5.0 GT/s.
 * XIO3130 upstream port 104c:8232 rev 2, downstream ports 104c:8233 rev 1 (as QEMU):
 *   0x70 MSI, 1 vector, 64-bit                        ext 0x100 AER (0x48 bytes)
 *   0x80 SSVID (0000:0000)                            ext 0x148 ACS (downstream, acs only)
 *   0x90 PCIe v2 Upstream (5) / Downstream (6) with a slot
 *   Link x1 at 2.5 GT/s.
 * All: class 0x060400, 64-bit prefetchable window, 16-bit I/O window.
 *
 * P2PDMA: Linux's pci_p2pdma_distance() walks from each device up through these ports to
 * their closest common upstream bridge; two endpoints under downstream ports of one switch
 * share the XIO3130 upstream port and may DMA to each other by bus address, unless a port on
 * the path has ACS P2P Request/Completion Redirect or Egress Control enabled. No port has an
 * ACS capability unless created with `acs = true`, and even then redirect stays off until the
 * guest (Linux: only when an IOMMU asks) turns it on. Two root ports never share an upstream
 * bridge (the root bus has none).
 *
 * Hot-plug is not modelled: Slot Capabilities has Hot-Plug Capable clear, so pciehp does not
 * bind; presence is set once by the machine through pcie_port_set_link(). The link can still
 * go down at run time (Link Disable, slot power off, pcie_port_force_link()): then the port
 * forwards nothing (PCIe 5.0 2.9.1) and a driver below sees all ones, as on a real link loss.
 */
#ifndef DEVICES_PCIE_PORT_H
#define DEVICES_PCIE_PORT_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/pci/pci.h"
#include "vmm/pci/pcie_cap.h"

#define PCIE_VENDOR_VMM		 0x1234
#define PCIE_DEVICE_ROOT_PORT	 0x7101
#define PCIE_VENDOR_TI		 0x104c
#define PCIE_DEVICE_XIO3130_UP	 0x8232
#define PCIE_DEVICE_XIO3130_DOWN 0x8233
#define PCIE_CLASS_BRIDGE_PCI	 0x060400
#define XIO3130_MAX_DOWN	 32

/* SSVID capability (PCI-to-PCI Bridge 1.2) */
#define PCIE_SSVID_VENDOR 0x04
#define PCIE_SSVID_ID	  0x06
#define PCIE_SSVID_SIZE	  8

/* AER extended capability (PCIe 5.0 7.8.4) */
#define PCIE_AER_UNCOR_STATUS 0x04
#define PCIE_AER_UNCOR_MASK   0x08
#define PCIE_AER_UNCOR_SEVER  0x0c
#define PCIE_AER_COR_STATUS   0x10
#define PCIE_AER_COR_MASK     0x14
#define PCIE_AER_CAP	      0x18
#define PCIE_AER_HEADER_LOG   0x1c
#define PCIE_AER_ROOT_COMMAND 0x2c
#define PCIE_AER_ROOT_STATUS  0x30
#define PCIE_AER_ERR_SRC      0x34
/* DLP, SDES, Poisoned TLP, FCP, Completion Timeout, CA, UC, RO, MTLP, ECRC, UR */
#define PCIE_AER_UNCOR_SUPPORTED     0x001ff030
#define PCIE_AER_UNCOR_SEVER_DEFAULT 0x00062030 /* DLP, SDES, FCP, RO, MTLP */
/* RE, Bad TLP, Bad DLLP, REPLAY_NUM Rollover, Replay Timer Timeout, Advisory Non-Fatal */
#define PCIE_AER_COR_SUPPORTED	  0x000031c1
#define PCIE_AER_COR_MASK_DEFAULT 0x00002000 /* Advisory Non-Fatal */
#define PCIE_AER_ROOT_COMMAND_EN  0x00000007
#define PCIE_AER_ROOT_STATUS_W1C  0x0000007f
#define PCIE_AER_SIZE		  0x48 /* room for the root port registers, as QEMU */

/* ACS extended capability (PCIe 5.0 7.7.8) */
#define PCIE_ACS_CAP  0x04
#define PCIE_ACS_CTRL 0x06
#define PCIE_ACS_SV   0x0001
#define PCIE_ACS_TB   0x0002
#define PCIE_ACS_RR   0x0004
#define PCIE_ACS_CR   0x0008
#define PCIE_ACS_UF   0x0010
#define PCIE_ACS_EC   0x0020
#define PCIE_ACS_SIZE 8

/* One PCI Express port: a type-1 function and the bus behind it. */
struct pcie_port {
	struct pci_dev dev;
	struct pci_bus bus;   /* secondary bus; dev.secondary == &bus, bus.id == dev.name */
	uint8_t type;	      /* PCIE_TYPE_* */
	uint8_t exp, msi, pm; /* capability offsets, 0 when absent */
	uint16_t aer, acs;    /* extended capability offsets, 0 when absent */
	uint8_t width, speed; /* what Link Capabilities advertises */
	bool present;	      /* a device is attached below (downstream/root port) */
	bool forced_down;     /* pcie_port_force_link(false): the link is down anyway */
	uint8_t power_state;  /* D0 or D3hot, from PMCSR */
	char name[40];
};

/* A TI XIO3130 switch: upstream port, internal bus, ndown downstream ports. */
struct xio3130 {
	struct pcie_port up;	  /* up.bus is the internal bus, id "<id>" */
	struct pci_bus *internal; /* == &up.bus */
	int ndown;
	struct pcie_port down[]; /* down[i].dev at devfn PCI_DEVFN(i, 0) on the internal bus,
				  * named "<id>.<i>"; down[i].bus is its secondary bus */
};

/*
 * A root port named `id` (also the id of the bus behind it). `port_number` goes into Link
 * Capabilities, `slot` (0..8191) is the Physical Slot Number: the machine gives every root
 * port and downstream port a distinct one. The caller puts rp->dev on bus 0 with
 * pci_bus_add(). NULL on a bad argument (errno EINVAL) or no memory.
 */
struct pcie_port *pcie_root_port_create(const char *id, uint8_t port_number, uint16_t slot,
					bool acs);
/* After pci_root_destroy() (the core cannot take a device off its bus). NULL is ignored. */
void pcie_root_port_destroy(struct pcie_port *rp);

/*
 * A switch named `id` with `ndown` (1..32) downstream ports already placed on its internal
 * bus. Downstream port i has port number i + 1 and Physical Slot Number first_slot + i. The
 * caller puts sw->up.dev below a root port or downstream port with pci_bus_add(). `acs` adds
 * the ACS capability to the downstream ports. NULL on a bad argument (errno EINVAL) or no
 * memory.
 */
struct xio3130 *xio3130_create(const char *id, int ndown, uint16_t first_slot, bool acs);
/* After pci_root_destroy(), like pcie_root_port_destroy(). */
void xio3130_destroy(struct xio3130 *sw);

/*
 * After attaching (or removing) the device below a root port or downstream port: Slot
 * Status Presence Detect State and Link Status (Data Link Layer Link Active, negotiated
 * width and speed: the smaller of the port's and the child's Link Capabilities) follow
 * `device_present`. Takes the root's (recursive) lock once the port is in a tree.
 * -EINVAL when `port` is not a root port or downstream port made here.
 */
int pcie_port_set_link(struct pci_dev *port, bool device_present);

/*
 * Take the link below a root port or downstream port down (up = false) or let it come back,
 * as a cable pull or a failing link would (the control socket's link_down / link_up).
 * Data Link Layer Link Active clears, Slot Status Data Link Layer State Changed is set, and
 * the PCI core stops forwarding through the port (pci_bridge_set_link: the functions below
 * read all ones, their BARs are unmapped, their DMA and MSIs stop). The link comes back
 * only when nothing else holds it down (Link Disable, slot power, no device). Takes the
 * root's lock. -EINVAL when `port` is not a root port or downstream port made here.
 */
int pcie_port_force_link(struct pci_dev *port, bool up);
/* A root port or downstream port made here (a port with a link below it). */
bool pcie_port_has_link(struct pci_dev *port);
/* Data Link Layer Link Active of a root or downstream port now (false for anything else). */
bool pcie_port_link_active(struct pci_dev *port);

/* The port a pci_dev belongs to, or NULL when it is not one of ours. */
struct pcie_port *pcie_port_of(struct pci_dev *dev);

/* ---- shared by root_port.c and xio3130.c (pcie_cap.c) ---- */
void pcie_port_init(struct pcie_port *p, const char *name, uint16_t vendor, uint16_t device,
		    uint8_t revision, uint8_t type, uint8_t width, uint8_t speed);
/* Each adds its capability at `off` (the layouts are fixed) and returns 0 or -ENOSPC. */
int pcie_port_add_exp(struct pcie_port *p, uint8_t off, uint8_t port_number, bool slot,
		      uint16_t slot_number);
int pcie_port_add_msi(struct pcie_port *p, uint8_t off);
int pcie_port_add_pm(struct pcie_port *p, uint8_t off);
int pcie_port_add_ssvid(struct pcie_port *p, uint8_t off, uint16_t svid, uint16_t ssid);
int pcie_port_add_aer(struct pcie_port *p, uint16_t off);
int pcie_port_add_acs(struct pcie_port *p, uint16_t off);

#endif
