/* SPDX-License-Identifier: MIT */
/*
 * The PCI core: configuration space, BARs, capabilities, MSI/MSI-X, INTx, bridges, and the
 * bus-address view that both CPU accesses and device DMA go through.
 *
 * A device model fills in a `struct pci_dev` (IDs, BARs, capabilities) and registers it on a
 * `struct pci_bus`. Config space is a byte array with a write mask and a write-1-to-clear
 * mask (PCI Local Bus 3.0 6.1, PCIe 5.0 7.5); the core applies guest writes through the
 * masks, then tells the device (config_write hook) and, when a BAR, the command register
 * or a bridge window changed, recomputes which BARs are reachable through the bridge windows
 * above them (pci_update_mappings) and maps/unmaps them through the host hooks. The core
 * never touches KVM (DESIGN.md rule 1): the machine provides `struct pci_host_ops`.
 */
#ifndef VMM_PCI_H
#define VMM_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vmm/addr_space.h"
#include "vmm/bus.h"
#include "vmm/mem.h"

#define PCI_CFG_SIZE	    4096 /* PCIe extended configuration space */
#define PCI_LEGACY_CFG_SIZE 256
#define PCI_NUM_BARS	    6
#define PCI_BRIDGE_NUM_BARS 2
#define PCI_MAX_DEVFN	    256

/* Standard header offsets (PCI 3.0 6.2) */
#define PCI_VENDOR_ID		 0x00
#define PCI_DEVICE_ID		 0x02
#define PCI_COMMAND		 0x04
#define PCI_COMMAND_IO		 0x1
#define PCI_COMMAND_MEMORY	 0x2
#define PCI_COMMAND_MASTER	 0x4
#define PCI_COMMAND_PARITY	 0x40
#define PCI_COMMAND_SERR	 0x100
#define PCI_COMMAND_INTX_DISABLE 0x400
#define PCI_STATUS		 0x06
#define PCI_STATUS_INTERRUPT	 0x08
#define PCI_STATUS_CAP_LIST	 0x10
/* Error bits, write-1-to-clear (PCI 3.0 6.2.3); the same bits in the secondary status. */
#define PCI_STATUS_ERRORS	      0xf900
#define PCI_REVISION_ID		      0x08
#define PCI_CLASS_PROG		      0x09
#define PCI_CLASS_DEVICE	      0x0a
#define PCI_CACHE_LINE_SIZE	      0x0c
#define PCI_LATENCY_TIMER	      0x0d
#define PCI_HEADER_TYPE		      0x0e
#define PCI_HEADER_TYPE_NORMAL	      0
#define PCI_HEADER_TYPE_BRIDGE	      1
#define PCI_HEADER_TYPE_MULTI	      0x80
#define PCI_BASE_ADDRESS_0	      0x10
#define PCI_BASE_ADDRESS_SPACE_IO     0x1
#define PCI_BASE_ADDRESS_MEM_TYPE_64  0x4
#define PCI_BASE_ADDRESS_MEM_PREFETCH 0x8
#define PCI_SUBSYSTEM_VENDOR_ID	      0x2c
#define PCI_SUBSYSTEM_ID	      0x2e
#define PCI_ROM_ADDRESS		      0x30
#define PCI_CAPABILITY_LIST	      0x34
#define PCI_INTERRUPT_LINE	      0x3c
#define PCI_INTERRUPT_PIN	      0x3d
/* Type 1 header (PCI-to-PCI Bridge 1.2 3.2) */
#define PCI_PRIMARY_BUS		 0x18
#define PCI_SECONDARY_BUS	 0x19
#define PCI_SUBORDINATE_BUS	 0x1a
#define PCI_IO_BASE		 0x1c
#define PCI_IO_LIMIT		 0x1d
#define PCI_SEC_STATUS		 0x1e
#define PCI_MEMORY_BASE		 0x20
#define PCI_MEMORY_LIMIT	 0x22
#define PCI_PREF_MEMORY_BASE	 0x24
#define PCI_PREF_MEMORY_LIMIT	 0x26
#define PCI_PREF_BASE_UPPER32	 0x28
#define PCI_PREF_LIMIT_UPPER32	 0x2c
#define PCI_IO_BASE_UPPER16	 0x30
#define PCI_IO_LIMIT_UPPER16	 0x32
#define PCI_BRIDGE_ROM_ADDRESS	 0x38
#define PCI_BRIDGE_CONTROL	 0x3e
#define PCI_BRIDGE_CTL_BUS_RESET 0x40
#define PCI_IO_RANGE_TYPE_16	 0x0
#define PCI_PREF_RANGE_TYPE_64	 0x1

/* MSI capability, 64-bit layout (PCI 3.0 6.8.1) */
#define PCI_MSI_FLAGS	      2
#define PCI_MSI_FLAGS_ENABLE  0x1
#define PCI_MSI_FLAGS_64BIT   0x80
#define PCI_MSI_FLAGS_MASKBIT 0x100
#define PCI_MSI_ADDRESS_LO    4
#define PCI_MSI_ADDRESS_HI    8
#define PCI_MSI_DATA_64	      12
#define PCI_MSI_MASK_64	      16
#define PCI_MSI_PENDING_64    20
/* MSI-X capability (PCIe 5.0 7.7.2) */
#define PCI_MSIX_FLAGS		    2
#define PCI_MSIX_FLAGS_QSIZE	    0x7ff
#define PCI_MSIX_FLAGS_MASKALL	    0x4000
#define PCI_MSIX_FLAGS_ENABLE	    0x8000
#define PCI_MSIX_TABLE		    4
#define PCI_MSIX_PBA		    8
#define PCI_MSIX_ENTRY_SIZE	    16
#define PCI_MSIX_ENTRY_VECTOR_CTRL  12
#define PCI_MSIX_ENTRY_CTRL_MASKBIT 0x1
#define PCI_MSIX_MAX_VECTORS	    2048

/* Capability IDs */
#define PCI_CAP_ID_PM	   0x01
#define PCI_CAP_ID_MSI	   0x05
#define PCI_CAP_ID_SSVID   0x0d
#define PCI_CAP_ID_EXP	   0x10
#define PCI_CAP_ID_MSIX	   0x11
#define PCI_EXT_CAP_ID_ERR 0x0001
#define PCI_EXT_CAP_ID_ACS 0x000d

#define PCI_DEVFN(slot, fn) ((uint8_t)(((slot) << 3) | ((fn)&7)))
#define PCI_SLOT(devfn)	    (((devfn) >> 3) & 0x1f)
#define PCI_FUNC(devfn)	    ((devfn)&7)

struct pci_dev;
struct pci_bus;
struct pci_root;

enum pci_bar_type {
	PCI_BAR_NONE = 0,
	PCI_BAR_IO,
	PCI_BAR_MEM32,
	PCI_BAR_MEM64,
};

struct pci_bar {
	enum pci_bar_type type;
	bool prefetch;
	uint64_t size; /* power of two; 0: unused */
	/* Trapped registers: ops->read/write get the offset inside the BAR. */
	const struct bus_ops *ops;
	void *opaque;
	/* RAM-backed BAR (CMB, PMR, NTB window): guest accesses cause no exits. NULL: trapped. */
	void *ram;
	/* Optional, trapped BARs only: DMA by another function into [off, off+len) of this BAR
	 * (pci_dma_read/pci_dma_write), e.g. an NTB window whose translated part is peer memory
	 * that may be unmapped at any moment. Called with `opaque` and no PCI core lock held:
	 * the owner checks `off` against its current state and copies under its own lock.
	 * 0, or -EFAULT when nothing backs the range now. Set with pci_dev_set_bar_dma. */
	as_rw_fn dma_rw;
	/* Current effective mapping, maintained by the core (~0ULL when not mapped). */
	uint64_t mapped_addr;
	bool mapped_ram; /* how it is mapped now */
	/* Set by pci_dev_set_bar: the trap handler's way back to the device. */
	struct pci_dev *dev;
	int index;
};

/* What a device model may implement; every hook is optional. */
struct pci_dev_ops {
	/* After a guest config write was applied through the masks (offset, size as written). */
	void (*config_write)(struct pci_dev *dev, unsigned offset, uint32_t value, unsigned size);
	/* Before a guest config read: a device may refresh dynamic registers in dev->cfg. */
	void (*config_read)(struct pci_dev *dev, unsigned offset, unsigned size);
	/* A BAR got mapped at `addr` or unmapped (addr == ~0ULL). */
	void (*bar_mapped)(struct pci_dev *dev, int bar, uint64_t addr);
};

/* The host route a vector's message is bound to (pci_host_ops.msi_route). */
struct pci_msi_route {
	int route;     /* -1: none yet */
	bool bound;    /* the last binding of (addr, data) succeeded */
	uint64_t addr; /* the message it carries */
	uint32_t data;
};

/* MSI-X state kept by the core (PCIe 5.0 7.7.2). */
struct pci_msix {
	int nvec;    /* 0: no MSI-X */
	uint8_t cap; /* capability offset */
	int bar;     /* table and PBA live in this BAR */
	uint32_t table_off, pba_off;
	uint8_t *table;		      /* nvec * 16 bytes */
	uint64_t *pba;		      /* pending bits */
	struct pci_msi_route *routes; /* nvec */
};

struct pci_msi {
	uint8_t cap; /* 0: no MSI */
	struct pci_msi_route route;
	bool is64, maskable;
};

struct pci_dev {
	const char *name; /* instance name for messages, e.g. "nvme0" */
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE];   /* bits the guest may write */
	uint8_t w1cmask[PCI_CFG_SIZE]; /* write-1-to-clear bits */
	uint8_t cap_next;	       /* where the next capability goes (builder) */
	uint16_t ecap_next;	       /* next extended capability (builder); 0x100 first */
	uint16_t ecap_last;	       /* last extended capability written, to chain */
	uint8_t cap_last;
	struct pci_bar bars[PCI_NUM_BARS];
	struct pci_msi msi;
	struct pci_msix msix;
	bool intx_level;
	bool intx_asserted; /* what this device contributes to its GSI now (core) */
	/* Serialises the MSI/MSI-X state (table, PBA, capability registers) between vCPU
	 * threads and the device's own threads calling pci_notify. Taken after root->lock. */
	pthread_mutex_t irq_lock;
	bool live; /* between pci_dev_init and pci_dev_destroy */
	/* This function as a DMA requester (pci_dev_init: itself, bus mastering in COMMAND);
	 * a device with memory of its own that it reaches without the bus points dma.own at
	 * it (the NVMe controller memory space). */
	struct as_requester dma;
	const struct pci_dev_ops *ops;
	void *opaque; /* the device model's own state */

	/* Set by pci_bus_add */
	struct pci_bus *bus;
	uint8_t devfn;
	struct pci_root *root;

	/* For bridges: the bus behind it (NULL for endpoints); set with pci_bridge_set_secondary.
	 */
	struct pci_bus *secondary;
	/* A downstream-facing port whose link is down (pci_bridge_set_link): it forwards
	 * nothing below and nothing from below. Read without locks (atomic). */
	bool link_down;
};

struct pci_bus {
	struct pci_dev *devs[PCI_MAX_DEVFN];
	uint16_t devfn_end;   /* one past the highest devfn in devs[] (pci_bus_add): loops stop */
	struct pci_dev *self; /* bridge above this bus; NULL for the root bus */
	struct pci_root *root;
	uint8_t assigned_number; /* what vmm's own enumeration gave it */
	const char *id;		 /* config id naming this bus, e.g. "pcie0", "rp0", "sw0.1" */
};

/* How the PCI core reaches the machine. Tests provide fakes. */
struct pci_host_ops {
	/* Map/unmap a trapped MMIO or PIO range. */
	int (*map_trap)(void *opaque, enum bus_space space, uint64_t addr, uint64_t size,
			const struct bus_ops *ops, void *dev_opaque, const char *name);
	void (*unmap_trap)(void *opaque, enum bus_space space, uint64_t addr);
	/* Map/unmap host memory as guest-physical RAM (a KVM memslot). */
	int (*map_ram)(void *opaque, uint64_t addr, uint64_t size, void *hva);
	void (*unmap_ram)(void *opaque, uint64_t addr);
	/* Deliver one MSI message. */
	void (*msi)(void *opaque, uint64_t addr, uint32_t data);
	/* Optional, both or neither: bind the message a vector is programmed with to a route
	 * when the guest programs it (*route < 0: a new one; the host stores its number there;
	 * 0 or -errno), and deliver through that route (false: it could not, and the core
	 * uses msi). Delivery then needs no lookup and never changes the host's routing
	 * table, as in kvmtool (irq__add_msix_route on table writes). */
	int (*msi_route)(void *opaque, int *route, uint64_t addr, uint32_t data);
	bool (*msi_fire)(void *opaque, int route);
	/* Set a legacy interrupt line (GSI). */
	void (*intx)(void *opaque, uint32_t gsi, int level);
	/* Optional: a `len`-byte guest write to MMIO `addr` signals eventfd `efd` instead of
	 * exiting (KVM ioeventfd, any value), or stops doing so (assign = false). 0 or -errno. */
	int (*ioeventfd)(void *opaque, uint64_t addr, unsigned len, int efd, bool assign);
};

struct pci_root {
	struct pci_bus bus0;
	const struct pci_host_ops *host;
	void *host_opaque;
	const struct guest_mem *mem; /* RAM, for DMA */
	pthread_mutex_t lock;	     /* config space and mappings */
	/* The bus-address space DMA goes through: guest RAM and the mapped RAM BARs and
	 * DMA-taking BARs, rebuilt by pci_update_mappings under `lock`; lookups take no lock,
	 * so they never wait for config cycles or device hooks. */
	struct addr_space as;
	/* The IOMMU all requesters go through (pci_root_set_iommu); NULL: none. */
	const struct as_iommu *iommu;
	uint32_t cf8; /* config mechanism #1 address latch */
	uint64_t ecam_base;
	int intx_count[4]; /* devices asserting GSI 16..19 (lines are shared, wired-OR) */
};

/* ---- root complex ---- */
/*
 * root->lock is recursive: device hooks (config_write, bar_mapped) run with it held and may
 * call pci_intx_set or pci_update_mappings. Host hooks are called with it held too (they must
 * not call back into the PCI core, except host->msi, which needs no lock at all).
 */
void pci_root_init(struct pci_root *root, const struct pci_host_ops *host, void *opaque,
		   const struct guest_mem *mem, uint64_t ecam_base);
/* Also destroys (pci_dev_destroy) every device still in the tree. */
void pci_root_destroy(struct pci_root *root);
/* Config access by (bus number, devfn, offset) as routed by the bridges' bus numbers.
 * Reads of absent functions return all ones. */
uint32_t pci_config_read(struct pci_root *root, uint8_t bus, uint8_t devfn, unsigned off,
			 unsigned size);
void pci_config_write(struct pci_root *root, uint8_t bus, uint8_t devfn, unsigned off, uint32_t val,
		      unsigned size);
/*
 * Handlers for the machine to register, opaque = the struct pci_root: ECAM (MMIO, size
 * 256 MiB, offset = bus << 20 | devfn << 12 | register) and 0xCF8-0xCFF (PIO, registered at
 * 0xCF8 with size 8). Only dword accesses reach the 0xCF8 latch; 0xCFC-0xCFF take 1, 2 and 4
 * bytes inside the dword. Accesses that cross a dword read all ones and are dropped on write.
 */
extern const struct bus_ops pci_ecam_ops, pci_cf8_ops;

/* ---- devices ---- */
/*
 * Initialise the type-0 (or type-1 when `bridge`) header with IDs and class. Call first: it
 * clears the whole struct (set ops/opaque afterwards). Bridges get a 16-bit I/O window and a
 * 64-bit prefetchable window.
 */
void pci_dev_init(struct pci_dev *dev, const char *name, uint16_t vendor, uint16_t device,
		  uint32_t class_code, uint8_t revision, bool bridge);
/* Free what the core allocated for the device (MSI-X table). Idempotent. */
void pci_dev_destroy(struct pci_dev *dev);
/* An empty bus (for the secondary side of a bridge). */
void pci_bus_init(struct pci_bus *bus, const char *id);
/* Hang `bus` behind `bridge` (before or after the bridge itself is added to a bus). */
void pci_bridge_set_secondary(struct pci_dev *bridge, struct pci_bus *bus);
/* Declare a BAR (size a power of two >= 16 for memory, >= 4 for I/O; 64-bit BARs use two
 * slots). `ram` makes it RAM-backed. Returns 0 or -EINVAL. */
int pci_dev_set_bar(struct pci_dev *dev, int bar, enum pci_bar_type type, bool prefetch,
		    uint64_t size, const struct bus_ops *ops, void *opaque, void *ram);
/* Give trapped BAR `bar` a DMA handler (struct pci_bar.dma_rw). 0 or -EINVAL. */
int pci_dev_set_bar_dma(struct pci_dev *dev, int bar, as_rw_fn dma_rw);
/* Put a device at devfn on a bus. -EEXIST when taken. Adding a function other than 0 sets
 * the multi-function bit in function 0's header type (either order). */
int pci_bus_add(struct pci_bus *bus, struct pci_dev *dev, uint8_t devfn);

/*
 * Capability builder: returns the capability's offset (0 when config space is full). The
 * capability goes at dev->cap_next (dword aligned, 0x40 first) / dev->ecap_next (0x100
 * first): set those before the call to place a capability at a fixed offset (above the
 * previous one). The caller fills the body and its wmask/w1cmask.
 */
uint8_t pci_add_cap(struct pci_dev *dev, uint8_t id, uint8_t len);
uint16_t pci_add_ecap(struct pci_dev *dev, uint16_t id, uint8_t version, uint16_t len);
/* MSI with one vector (PCI 3.0 6.8.1), 64-bit address, optional per-vector masking.
 * 0 or -ENOSPC. The offset is in dev->msi.cap. */
int pci_add_msi(struct pci_dev *dev, bool maskable);
/* MSI-X with the table and PBA in `bar` at the given offsets (PCIe 5.0 7.7.2). The BAR must
 * be declared first, trapped (not RAM), and hold both; offsets 8-byte aligned; 1..2048
 * vectors. 0, -EINVAL, -ENOSPC or -ENOMEM. The offset is in dev->msix.cap. */
int pci_add_msix(struct pci_dev *dev, int nvec, int bar, uint32_t table_off, uint32_t pba_off);
void pci_set_intx_pin(struct pci_dev *dev, uint8_t pin /* 1 = INTA */);

/* ---- interrupts, from the device model ---- */
/*
 * Signal vector `vec` by MSI-X if enabled (masked: the PBA bit is set and the message is
 * sent when unmasked), else by MSI (one message: every vector is signalled as message 0,
 * PCI 3.0 6.8.3.4). Returns false when neither is enabled, or vec is out of range for
 * MSI-X: the device then uses INTx (pci_intx_set). With COMMAND.MASTER clear the function
 * cannot send the message (PCIe 5.0 7.5.1.1.3): it is dropped and true returned.
 */
bool pci_notify(struct pci_dev *dev, int vec);
/* Level of the device's INTx pin; honours COMMAND.INTX_DISABLE and sets STATUS.INTERRUPT. */
void pci_intx_set(struct pci_dev *dev, bool level);
/* The IOAPIC input the device's INTx pin reaches: swizzled through every bridge up to bus 0
 * (PCI-to-PCI Bridge 1.2 9.1), then GSI 16 + ((slot + pin - 1) % 4) on bus 0. The ACPI _PRT
 * is generated from the same rule. */
#define PCI_NO_GSI 0xffffffffu /* INTERRUPT_PIN 0: no INTx */
uint32_t pci_intx_gsi(const struct pci_dev *dev);

/* ---- DMA ---- */
/*
 * Host pointer for [addr, addr+len) in the bus-address space as a device sees it (as_map
 * with dev->dma): its own memory (dev->dma.own), then, with bus mastering, guest RAM or a
 * RAM-backed BAR of another function that is mapped now (peer-to-peer DMA into an NVMe
 * CMB). NULL for anything else: registers, holes, partial overlaps, its own BARs.
 */
void *pci_dma_map(struct pci_dev *dev, uint64_t addr, uint64_t len);
/*
 * Copy from/to bus addresses: what pci_dma_map reaches, and also a trapped BAR of another
 * function that has a dma_rw handler (NTB windows), when [addr, addr+len) lies inside it.
 * A function never reaches its own BARs this way. 0 or -EFAULT (also without bus mastering).
 */
int pci_dma_read(struct pci_dev *dev, uint64_t addr, void *buf, uint64_t len);

/* ---- the function as a requester (pci_rid.c) ---- */
/* Its requester ID as the root complex sees it: bus << 8 | devfn after bridge aliasing (a
 * conventional PCI bridge's own ID, a PCIe-to-PCI bridge's (secondary bus, 0)). */
uint16_t pci_requester_id(const struct pci_dev *dev);
/* true: a request from `req` to a BAR of `target` turns at a switch below the root
 * complex (ACS P2P Request Redirect off at the ingress port), so no IOMMU sees it. */
bool pci_peer_direct(const struct pci_dev *req, const struct pci_dev *target);
/* Put `iommu` (NULL: none) between every function of the root, now and added later, and
 * the bus. */
void pci_root_set_iommu(struct pci_root *root, const struct as_iommu *iommu);
int pci_dma_write(struct pci_dev *dev, uint64_t addr, const void *buf, uint64_t len);

/* Recompute which BARs and windows are reachable, (un)map them through the host and rebuild
 * the address space. */
void pci_update_mappings(struct pci_root *root);

/*
 * The link below a root port or downstream port goes down or comes back (the port model
 * calls it when Data Link Layer Link Active changes). PCIe 5.0 2.9.1, DL_Down: the port
 * forwards nothing onto the link, so configuration requests below it end as Unsupported
 * Request (reads all ones, writes dropped) and its memory and I/O windows decode nothing
 * (the BARs below are unmapped); and nothing comes up from below: no DMA beyond a
 * device's own memory, no MSI/MSI-X. Call with root->lock held once `br` is in a tree.
 */
void pci_bridge_set_link(struct pci_dev *br, bool up);
/* Every link between `dev` and the root complex is up (lock-free: any thread). */
bool pci_dev_link_up(const struct pci_dev *dev);

/*
 * Enumerate like firmware so a directly booted kernel finds a configured tree: assign bus
 * numbers depth first (secondary/subordinate), size and place every BAR in the windows
 * (prefetchable 64-bit BARs in mmio64 when it is non-empty, others in mmio32; I/O BARs in
 * io), program bridge windows to cover what is behind them (1 MiB memory / 4 KiB I/O
 * granularity, PCI-to-PCI Bridge 1.2 3.2.5), set COMMAND memory/io/master. -ENOSPC with a
 * message naming the device whose BAR did not fit.
 */
struct pci_windows {
	uint64_t mmio32_base, mmio32_size;
	uint64_t mmio64_base, mmio64_size;
	uint32_t io_base, io_size;
};
int pci_assign(struct pci_root *root, const struct pci_windows *w, char *err, size_t errlen);

/* Print the tree like `lspci -tv` plus BARs and windows (for `vmm inspect`). */
void pci_print_tree(struct pci_root *root, FILE *out);

/* Config-space helpers for device models (little-endian) */
static inline uint16_t pci_get16(const struct pci_dev *d, unsigned off)
{
	return (uint16_t)(d->cfg[off] | d->cfg[off + 1] << 8);
}
static inline uint32_t pci_get32(const struct pci_dev *d, unsigned off)
{
	return (uint32_t)d->cfg[off] | (uint32_t)d->cfg[off + 1] << 8 |
	       (uint32_t)d->cfg[off + 2] << 16 | (uint32_t)d->cfg[off + 3] << 24;
}
static inline void pci_set16(struct pci_dev *d, unsigned off, uint16_t v)
{
	d->cfg[off] = (uint8_t)v;
	d->cfg[off + 1] = (uint8_t)(v >> 8);
}
static inline void pci_set32(struct pci_dev *d, unsigned off, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		d->cfg[off + i] = (uint8_t)(v >> (8 * i));
}

#endif
