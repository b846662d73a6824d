/* SPDX-License-Identifier: MIT */
/*
 * The PCIe tree of a machine, built from its validated config: host bridge at 00.0, root
 * ports on bus 0, XIO3130 switches and endpoints below them, then enumerated like firmware
 * (bus numbers, BARs, windows: pci_assign) so a directly booted kernel finds it configured.
 * KVM-free: `vmm run` passes host hooks that map into KVM, `vmm inspect` passes none.
 */
#ifndef VMM_TOPOLOGY_H
#define VMM_TOPOLOGY_H

#include "firmware/platform.h"
#include "vmm/config/config.h"
#include "vmm/pci/pci.h"

#define TOPO_HOST_BRIDGE_VENDOR 0x1234
#define TOPO_HOST_BRIDGE_DEVICE 0x7100
#define TOPO_IO_BASE		0x1000 /* below: legacy ISA ports */
#define TOPO_IO_SIZE		0xf000
#define TOPO_MMIO64_SIZE	(32ULL << 30)

struct ntb_link;
struct nvme_subsys;

struct topology {
	struct pci_root root;
	struct pci_dev host_bridge;
	struct pci_windows windows;
	int ndev;
	struct topo_node {
		enum dev_kind kind;
		void *obj;	       /* struct pcie_port / xio3130 / testdev */
		struct pci_dev *dev;   /* the function attached to its parent's bus */
		struct ntb_link *link; /* NTB: the rendezvous thread (vmm run only) */
	} * nodes;		       /* parallel to cfg->devices */
	struct nvme_subsys **subsys;   /* parallel to cfg->subsystems */
	int nsubsys;
};

/* The 64-bit MMIO window for a guest with `mem` RAM: above RAM, 4 GiB aligned. */
void topology_windows(const struct guest_mem *mem, struct pci_windows *w);

int topology_build(struct topology *t, const struct machine_config *cfg,
		   const struct guest_mem *mem, const struct pci_host_ops *host, void *opaque,
		   char *err, size_t errlen);
/* Start what talks to the world outside this process: the NTB links (not for inspect). */
int topology_start_links(struct topology *t, const struct machine_config *cfg,
			 const struct guest_mem *mem, char *err, size_t errlen);
void topology_destroy(struct topology *t);

/* The platform description ACPI and the device tree are built from: vmm's fixed layout,
 * this tree's windows and `e820` (which must outlive the use of *fw). */
void topology_fw_platform(struct topology *t, int ncpus, const struct e820_entry *e820, int ne820,
			  struct fw_platform *fw);

/* The PCI function of the config device `id` (NULL if none). */
struct pci_dev *topology_find(struct topology *t, const struct machine_config *cfg, const char *id);

#endif
