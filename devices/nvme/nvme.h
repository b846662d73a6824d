/* SPDX-License-Identifier: MIT */
/*
 * The NVMe controller model (NVMe 1.4 base specification, NVM command set).
 *
 * The model sees three narrow interfaces (DESIGN.md rule 1):
 *   - BAR0 register accesses: nvme_bar0_read/nvme_bar0_write (or nvme_bar0_ops with
 *     opaque = the controller), offset inside BAR0 and size 1/2/4/8;
 *   - a DMA handle: host->dma_map(addr, len) gives a host pointer for a bus-address range
 *     or NULL when any byte of it is not memory the device may reach;
 *   - an interrupt handle: host->irq(vector) raises MSI/MSI-X vector `vector`.
 * No KVM, no PCI: the PCI glue (a later part) owns config space, MSI-X (its table may sit in
 * BAR0 from nvme_bar0_regs_size() on) and forwards BAR0 accesses below that offset here.
 *
 * Threading (DESIGN.md rule 5): every entry point takes the controller's lock. A trapped
 * doorbell write (an MMIO exit: the value is known) is processed inline on the writing vCPU
 * thread. Each controller has one I/O thread around its own io_uring (iothread.c): it reaps
 * backend completions, the ioeventfd doorbells of Doorbell Buffer Config (shadow doorbells),
 * and the interrupt-coalescing timer, and polls the shadow doorbells adaptively.
 * Backend completion callbacks run with the lock held.
 */
#ifndef DEVICES_NVME_H
#define DEVICES_NVME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/bus.h"

struct nvme_ctrl;

struct nvme_host {
	/* Host pointer for [addr, addr + len) in bus-address space, or NULL. Never partial. */
	void *(*dma_map)(void *opaque, uint64_t addr, uint64_t len);
	/* Raise interrupt vector `vector` (edge: MSI/MSI-X message). */
	void (*irq)(void *opaque, unsigned vector);
	/*
	 * Optional: make a 4-byte guest write at BAR0 offset `off` signal eventfd `efd` instead
	 * of exiting (KVM ioeventfd), or undo it (assign = false). 0 or -errno. Called with the
	 * controller lock held; must not call back into the controller.
	 */
	int (*ioeventfd)(void *opaque, uint64_t off, int efd, bool assign);
	void *opaque;
};

/* One namespace; nsid = index in nvme_ctrl_config.ns + 1. */
struct nvme_ns_config {
	uint64_t size;	     /* bytes; a multiple of 4096 */
	unsigned lba_size;   /* 512 or 4096 (selects LBA format 0 or 1); 0: 512 */
	const char *backend; /* "ram", "null" or "file"; NULL: "ram" */
	const char *path;    /* backend-specific (file: regular file or block device) */
	/* file: "none" (O_DIRECT, the default; NULL means it) or "writeback" (host page cache).
	 * Either way Flush and FUA reach stable storage before they complete. */
	const char *cache;
	/* Zoned namespace (ZNS 1.1, zns.c; "ram" and "file" only): zone_size a power of two
	 * (0: NVME_ZNS_DEFAULT_ZONE_SIZE), zone_capacity <= zone_size (0: zone_size), both
	 * multiples of 4096; max_open <= max_active, 0: no limit. */
	bool zoned;
	uint64_t zone_size, zone_capacity;
	unsigned max_open, max_active;
	/* With nvme_ctrl_config.subsys: the namespace's ANA group (1..NVME_ANA_MAX_GROUPS in
	 * subsys.h; 0: 1), and detached: allocated in the subsystem, not attached here. */
	uint32_t ana_group;
	bool detached;
	/* Metadata (pi.c): metadata_size bytes per block, 0, 8, 16 or 64 (not with zoned);
	 * extended_lba: interleaved with the data (FLBAS bit 4), else a separate buffer (MPTR);
	 * pi_type 0-3 (DPS; needs metadata); pi_first: the tuple is the first 8 bytes of the
	 * metadata (DPS bit 3), else the last. */
	unsigned metadata_size;
	bool extended_lba;
	unsigned pi_type;
	bool pi_first;
};
#define NVME_ZNS_DEFAULT_ZONE_SIZE (64ULL << 20)

#define NVME_DEFAULT_MQES	1023
#define NVME_DEFAULT_MAX_QUEUES 64
#define NVME_DEFAULT_MDTS_KIB	512
#define NVME_MAX_NAMESPACES	256
/* Adaptive polling window of the I/O thread (see iothread.c for the measurements). */
#define NVME_DEFAULT_POLL_IDLE_US 50

struct nvme_ctrl_config {
	const char *name;     /* for log messages, e.g. "nvme0"; NULL: "nvme" */
	const char *serial;   /* <= 20 chars; NULL: unique per process ("VMM" + counter) */
	const char *model;    /* <= 40 chars; NULL: "vmm NVMe controller" */
	const char *firmware; /* <= 8 chars; NULL: "1.0" */
	uint16_t vid, ssvid;  /* PCI vendor IDs reported in Identify */
	uint16_t cntlid;
	uint32_t mqes;	     /* CAP.MQES (0-based, 1..65535); 0: 1023 */
	uint32_t max_queues; /* I/O SQ/CQ pairs (1..65535); 0: 64 */
	uint32_t nr_vectors; /* interrupt vectors; 0: max_queues + 1 */
	uint32_t mdts_kib;   /* max data transfer (power of two, 4..2048 KiB); 0: 512 */
	const struct nvme_ns_config *ns;
	unsigned nr_ns; /* 0..NVME_MAX_NAMESPACES */
	/* CMB in BAR2 (cmb.h): bytes, a power of two from 2 MiB to 64 GiB; 0: none. */
	uint64_t cmb_size;
	/* PMR in BAR4 (pmr.h): a file (NULL: none) and its size, a power of two from 4 KiB to
	 * 64 GiB; 0: the existing file's size. */
	const char *pmr_path;
	uint64_t pmr_size;
	/* No I/O thread: everything runs on the vCPU thread that rings, file I/O is waited for
	 * inline, no ioeventfd doorbells, no coalescing delay. For debugging and tests. */
	bool no_iothread;
	/* I/O thread: keep polling this long after the last work before sleeping. 0: default
	 * (NVME_DEFAULT_POLL_IDLE_US); NVME_POLL_OFF: never poll (sleep at once). */
	uint32_t poll_idle_us;
	/* I/O thread: while backend I/O is in flight, keep polling up to this long after the
	 * last work instead of sleeping until its completion arrives (iothread.c). 0: off, the
	 * default (on a shared 2-core host the spinning costs the vCPU more than the wake-up it
	 * saves); for hosts with a core to spare per I/O thread. No effect when poll_idle_us is
	 * NVME_POLL_OFF or when it is not longer than poll_idle_us. */
	uint32_t poll_inflight_us;
	/* Pin the I/O thread to host CPU iothread_cpu (else it runs anywhere). */
	bool pin_iothread;
	int iothread_cpu;
	/*
	 * Namespace Management and Attachment (OACS bit 3; nsmgmt.c): a pool of this many bytes
	 * (a multiple of 4096) from which the host creates namespaces; 0: the feature is off and
	 * the configured namespaces are all there is. With it on, NN = NVME_MAX_NAMESPACES.
	 * Created namespaces live on `nsmgmt_backend`: "ram" (NULL means it) or "null".
	 * Configured namespaces are outside the pool; the host may detach and delete them too
	 * (deleting one closes its backend and leaves the file alone).
	 */
	uint64_t nsmgmt_capacity;
	const char *nsmgmt_backend;
	/* The NVM subsystem (subsys.h) this controller is one of: its SUBNQN and serial, a
	 * CNTLID from it, namespace n is the subsystem's namespace n (shared storage and
	 * identifiers), ANA reporting. NULL: a subsystem of its own. Not with nsmgmt_capacity
	 * or zoned namespaces. */
	struct nvme_subsys *subsys;
};
#define NVME_POLL_OFF 0xffffffffu

/* Returns NULL and a message in err on a bad config or a backend that fails to open. */
struct nvme_ctrl *nvme_ctrl_create(const struct nvme_ctrl_config *cfg, const struct nvme_host *host,
				   char *err, size_t errlen);
void nvme_ctrl_destroy(struct nvme_ctrl *c);

/* BAR0 registers and doorbells (NVMe 1.4 3.1). Wrong sizes/reserved offsets: read 0. */
uint64_t nvme_bar0_read(struct nvme_ctrl *c, uint64_t off, unsigned size);
void nvme_bar0_write(struct nvme_ctrl *c, uint64_t off, uint64_t val, unsigned size);
extern const struct bus_ops nvme_bar0_ops; /* opaque = struct nvme_ctrl * */

/* Bytes of BAR0 the controller decodes: registers + doorbells for every queue pair. */
uint64_t nvme_bar0_regs_size(const struct nvme_ctrl *c);
/* Offset of queue `qid`'s SQ tail doorbell (CQ head doorbell: + 4); for ioeventfd. */
uint64_t nvme_sq_doorbell_offset(const struct nvme_ctrl *c, uint16_t qid);

/* Fetch and execute everything the doorbells allow, on every SQ (I/O thread entry). */
void nvme_process(struct nvme_ctrl *c);
/* The same for one SQ. No-op for a queue that does not exist. */
void nvme_sq_process(struct nvme_ctrl *c, uint16_t sqid);

/*
 * INTx level for pin-based interrupts (NVMe 1.4 7.5.1): true while some CQ with interrupts
 * enabled holds entries the host has not consumed and its vector is not masked by INTMS.
 * The PCI glue re-evaluates it after each BAR0 write and nvme_process().
 */
bool nvme_intx_level(struct nvme_ctrl *c);

/*
 * Controller memory: the host memory behind the CMB (BAR2) and the PMR (BAR4), NULL when not
 * configured; the address is fixed for the controller's life, so it can back a RAM BAR.
 * nvme_ctrl_mem_space gives the controller memory space (CMBMSC/PMRMSC CMSE with a valid
 * CBA; an entry's base is AS_OFF while off) as the requester's own regions of an address
 * space lookup (vmm/addr_space.h): the bus interface resolves the controller's DMA there
 * first, and only the rest goes out on the bus. nvme_ctrl_mem_map is that first step alone.
 */
struct as_region;
void *nvme_cmb_ram(struct nvme_ctrl *c, uint64_t *size);
void *nvme_pmr_ram(struct nvme_ctrl *c, uint64_t *size);
void *nvme_ctrl_mem_map(struct nvme_ctrl *c, uint64_t addr, uint64_t len);
const struct as_region *nvme_ctrl_mem_space(struct nvme_ctrl *c, int *n);

#endif
