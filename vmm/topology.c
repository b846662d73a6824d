/* SPDX-License-Identifier: MIT */
#include "vmm/topology.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/ntb/ntb.h"
#include "devices/nvme/nvme_pci.h"
#include "devices/nvme/subsys.h"
#include "devices/pcie-switch/pcie_port.h"
#include "devices/plx-dma/plx_dma.h"
#include "devices/testdev/testdev.h"
#include "vmm/util.h"

void topology_windows(const struct guest_mem *mem, struct pci_windows *w)
{
	uint64_t ram_end = MEM_HOLE_END;

	if (mem->nregions > 1)
		ram_end = mem->regions[1].gpa + mem->regions[1].size;
	*w = (struct pci_windows){
		.mmio32_base = MEM_MMIO32_BASE,
		.mmio32_size = MEM_MMIO32_END - MEM_MMIO32_BASE,
		.mmio64_base = ALIGN_UP(ram_end, GiB(4)),
		.mmio64_size = TOPO_MMIO64_SIZE,
		.io_base = TOPO_IO_BASE,
		.io_size = TOPO_IO_SIZE,
	};
}

/* NTB memory windows translated onto the peer's RAM become RAM mappings (KVM memslots). */
static int topo_ntb_map(void *opaque, uint64_t gpa, uint64_t size, void *hva)
{
	struct topology *t = opaque;

	return t->root.host->map_ram(t->root.host_opaque, gpa, size, hva);
}

static void topo_ntb_unmap(void *opaque, uint64_t gpa, uint64_t size)
{
	struct topology *t = opaque;

	t->root.host->unmap_ram(t->root.host_opaque, gpa);
}

static const struct ntb_window_ops topo_ntb_window_ops = {.map = topo_ntb_map,
							  .unmap = topo_ntb_unmap};

/* The bus a device's `bus` key names: bus 0, a root port's, or a downstream port's. */
static struct pci_bus *parent_bus(struct topology *t, const struct machine_config *cfg,
				  const struct dev_config *d, struct pci_dev **port)
{
	const struct topo_node *p;

	*port = NULL;
	if (d->parent < 0)
		return &t->root.bus0;
	p = &t->nodes[d->parent];
	if (!p->obj)
		return NULL;
	if (p->kind == DEV_ROOT_PORT) {
		struct pcie_port *rp = p->obj;

		*port = &rp->dev;
		return &rp->bus;
	}
	if (p->kind == DEV_SWITCH) {
		struct xio3130 *sw = p->obj;

		*port = &sw->down[d->parent_port].dev;
		return &sw->down[d->parent_port].bus;
	}
	return NULL;
}

static int next_root_slot(struct topology *t)
{
	for (int s = 1; s < 32; s++)
		if (!t->root.bus0.devs[PCI_DEVFN(s, 0)])
			return s;
	return -1;
}

/* A controller of [[nvme_subsystem]] d->nvme.subsys: its namespaces are the subsystem's,
 * attached where 'controllers' lists it (or everywhere). */
static void topo_subsys_ns(struct topology *t, const struct machine_config *cfg,
			   const struct dev_config *d, struct nvme_ctrl_config *nc,
			   struct nvme_ns_config *ns)
{
	const struct nvme_subsys_config *s = &cfg->subsystems[d->nvme.subsys];

	nc->subsys = t->subsys[d->nvme.subsys];
	nc->nr_ns = (unsigned)s->nns;
	for (int k = 0; k < s->nns && k < NVME_MAX_NAMESPACES; k++) {
		const struct nvme_ns_spec *sp = &s->ns[k];
		bool attached = sp->nctrls == 0;

		for (int j = 0; j < sp->nctrls; j++)
			attached |= !strcmp(sp->ctrls[j], d->id);
		ns[k] = (struct nvme_ns_config){.size = sp->size,
						.lba_size = sp->lba_size,
						.backend = sp->backend,
						.path = sp->path,
						.cache = sp->cache,
						.ana_group = (uint32_t)sp->ana_group,
						.detached = !attached};
	}
}

static int build_one(struct topology *t, const struct machine_config *cfg, int i,
		     uint16_t *phys_slot, char *err, size_t errlen)
{
	const struct dev_config *d = &cfg->devices[i];
	struct topo_node *n = &t->nodes[i];
	struct pci_dev *port;
	struct pci_bus *bus = parent_bus(t, cfg, d, &port);
	int devfn = 0, ret;

	if (!bus)
		return -EAGAIN; /* parent not built yet */
	switch (d->kind) {
	case DEV_ROOT_PORT: {
		int slot = d->slot ? d->slot : next_root_slot(t);
		struct pcie_port *rp;

		if (slot < 0) {
			snprintf(err, errlen, "%s: no free slot on the root bus", d->id);
			return -ENOSPC;
		}
		rp = pcie_root_port_create(d->id, (uint8_t)slot, (*phys_slot)++, d->acs);
		if (!rp)
			goto nomem;
		n->obj = rp;
		n->dev = &rp->dev;
		devfn = PCI_DEVFN(slot, 0);
		break;
	}
	case DEV_SWITCH: {
		struct xio3130 *sw = xio3130_create(d->id, d->downstream, *phys_slot, d->acs);

		if (!sw)
			goto nomem;
		*phys_slot = (uint16_t)(*phys_slot + d->downstream);
		n->obj = sw;
		n->dev = &sw->up.dev;
		break;
	}
	case DEV_TESTDEV: {
		struct testdev *td = testdev_create(d->id, d->msix_vectors, d->ram_bar);

		if (!td)
			goto nomem;
		n->obj = td;
		n->dev = &td->pci;
		break;
	}
	case DEV_PLX_DMA: {
		struct plx_dma *pd = plx_dma_create(d->id, true);

		if (!pd)
			goto nomem;
		n->obj = pd;
		n->dev = &pd->pci;
		break;
	}
	case DEV_NTB: {
		struct ntb_config tc = {.name = d->id,
					.port = d->ntb.port,
					.mw_size = {d->ntb.mw_size, d->ntb.mw_size},
					.mw_lut = {d->ntb.mw_lut[0], d->ntb.mw_lut[1]},
					.personality = d->ntb.epf ? NTB_EPF : NTB_IDT};
		struct ntb *ntb;
		char nerr[256];

		ntb = ntb_create(&tc, &topo_ntb_window_ops, t, nerr, sizeof(nerr));
		if (!ntb) {
			snprintf(err, errlen, "%s: %s", d->id, nerr);
			return -EINVAL;
		}
		n->obj = ntb;
		n->dev = ntb_pci(ntb);
		break;
	}
	case DEV_NVME: {
		struct nvme_ns_config ns[NVME_MAX_NAMESPACES];
		struct nvme_ctrl_config nc = {
			.name = d->id,
			.serial = d->nvme.serial,
			.model = d->nvme.model,
			.mqes = (uint32_t)d->nvme.queue_size - 1,
			.max_queues = (uint32_t)d->nvme.queues,
			.mdts_kib = (uint32_t)(d->nvme.mdts >> 10),
			.ns = ns,
			.nr_ns = (unsigned)d->nvme.nns,
			.cmb_size = d->nvme.cmb,
			.pmr_path = d->nvme.pmr,
			.pmr_size = d->nvme.pmr_size,
			.no_iothread = !d->nvme.iothread,
			/* config: -1 never polls (UINT32_MAX), like NVME_POLL_OFF */
			.poll_idle_us = d->nvme.poll_idle_us,
			.poll_inflight_us = d->nvme.poll_inflight_us,
			.pin_iothread = d->nvme.iothread_cpu >= 0,
			.iothread_cpu = d->nvme.iothread_cpu,
			.nsmgmt_capacity = d->nvme.nsmgmt_capacity,
			.nsmgmt_backend = d->nvme.nsmgmt_backend,
		};
		struct nvme_pci *np;
		char nerr[256];

		if (d->nvme.subsys >= 0)
			topo_subsys_ns(t, cfg, d, &nc, ns);
		for (int k = 0; d->nvme.subsys < 0 && k < d->nvme.nns && k < NVME_MAX_NAMESPACES;
		     k++)
			ns[k] = (struct nvme_ns_config){
				.size = d->nvme.ns[k].size,
				.lba_size = d->nvme.ns[k].lba_size,
				.backend = d->nvme.ns[k].backend,
				.path = d->nvme.ns[k].path,
				.cache = d->nvme.ns[k].cache,
				.zoned = d->nvme.ns[k].zoned,
				.zone_size = d->nvme.ns[k].zone_size,
				.zone_capacity = d->nvme.ns[k].zone_capacity,
				.max_open = (unsigned)d->nvme.ns[k].max_open,
				.max_active = (unsigned)d->nvme.ns[k].max_active,
				.metadata_size = (unsigned)d->nvme.ns[k].metadata_size,
				.extended_lba = d->nvme.ns[k].extended_lba,
				.pi_type = (unsigned)d->nvme.ns[k].pi_type,
				.pi_first = d->nvme.ns[k].pi_first};
		np = nvme_pci_create(&nc, nerr, sizeof(nerr));
		if (!np) {
			snprintf(err, errlen, "%s: %s", d->id, nerr);
			return -EINVAL;
		}
		n->obj = np;
		n->dev = &np->pci;
		break;
	}
	}
	n->kind = d->kind;
	ret = pci_bus_add(bus, n->dev, (uint8_t)devfn);
	if (ret) {
		snprintf(err, errlen, "%s: cannot attach at %02x.%x: %s", d->id, PCI_SLOT(devfn),
			 PCI_FUNC(devfn), strerror(-ret));
		return ret;
	}
	if (port)
		pcie_port_set_link(port, true);
	return 0;
nomem:
	snprintf(err, errlen, "%s: cannot create device: %s", d->id, strerror(errno));
	return -ENOMEM;
}

int topology_build(struct topology *t, const struct machine_config *cfg,
		   const struct guest_mem *mem, const struct pci_host_ops *host, void *opaque,
		   char *err, size_t errlen)
{
	uint16_t phys_slot = 1;
	int built = 0, ret;

	memset(t, 0, sizeof(*t));
	t->ndev = cfg->ndevices;
	t->nodes = calloc((size_t)(cfg->ndevices ? cfg->ndevices : 1), sizeof(*t->nodes));
	if (!t->nodes) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	/* NVM subsystems before the controllers that join them (devices/nvme/subsys.h) */
	t->subsys = calloc((size_t)(cfg->nsubsystems ? cfg->nsubsystems : 1), sizeof(*t->subsys));
	if (!t->subsys) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (int i = 0; i < cfg->nsubsystems; i++) {
		const struct nvme_subsys_config *s = &cfg->subsystems[i];
		char serr[256];

		t->subsys[i] =
			nvme_subsys_create(s->name, s->subnqn, s->serial, serr, sizeof(serr));
		if (!t->subsys[i]) {
			snprintf(err, errlen, "%s: %s", s->name, serr);
			return -EINVAL;
		}
		t->nsubsys++;
	}
	pci_root_init(&t->root, host, opaque, mem, MEM_ECAM_BASE);
	/* PCI 3.0 6.1: a host bridge function at 00.0, class 06 00 00 */
	pci_dev_init(&t->host_bridge, "host-bridge", TOPO_HOST_BRIDGE_VENDOR,
		     TOPO_HOST_BRIDGE_DEVICE, 0x060000, 0, false);
	ret = pci_bus_add(&t->root.bus0, &t->host_bridge, PCI_DEVFN(0, 0));
	if (ret) {
		snprintf(err, errlen, "cannot add the host bridge: %s", strerror(-ret));
		return ret;
	}
	/* Parents first: the config may name a parent after its child. Validation ruled out
	 * cycles, so every pass builds at least one device. */
	while (built < cfg->ndevices) {
		int progress = 0;

		for (int i = 0; i < cfg->ndevices; i++) {
			if (t->nodes[i].obj)
				continue;
			ret = build_one(t, cfg, i, &phys_slot, err, errlen);
			if (ret == -EAGAIN)
				continue;
			if (ret)
				return ret;
			built++;
			progress++;
		}
		if (!progress) {
			snprintf(err, errlen, "internal error: device tree has a cycle");
			return -EINVAL;
		}
	}
	topology_windows(mem, &t->windows);
	return pci_assign(&t->root, &t->windows, err, errlen);
}

int topology_start_links(struct topology *t, const struct machine_config *cfg,
			 const struct guest_mem *mem, char *err, size_t errlen)
{
	for (int i = 0; i < cfg->ndevices && i < t->ndev; i++) {
		struct topo_node *n = &t->nodes[i];
		struct ntb_ram ram;

		if (n->kind != DEV_NTB || !n->obj)
			continue;
		ntb_ram_from_guest_mem(&ram, mem);
		n->link = ntb_link_start(n->obj, cfg->devices[i].ntb.rendezvous, &ram, err, errlen);
		if (!n->link)
			return -EIO;
	}
	return 0;
}

/*
 * No default case: -Wswitch (in -Wall, an error here) names a kind added to enum dev_kind
 * without a destructor. A value outside the enum is a bug elsewhere; it is reported and the
 * object leaked, never handed to another kind's destructor.
 */
static void destroy_node(struct topo_node *n)
{
	switch (n->kind) {
	case DEV_ROOT_PORT:
		pcie_root_port_destroy(n->obj);
		return;
	case DEV_SWITCH:
		xio3130_destroy(n->obj);
		return;
	case DEV_TESTDEV:
		testdev_destroy(n->obj);
		return;
	case DEV_NVME:
		nvme_pci_destroy(n->obj);
		return;
	case DEV_NTB: {
		struct ntb_stats st;

		/* What the windows carried and dropped: a trapped window is ~1000x slower than
		 * a mapped one (a page-unaligned translation), and a dropped store is lost. */
		ntb_get_stats(n->obj, &st);
		if (st.trapped_copies || st.dropped_stores || st.dropped_loads || st.dma_copies)
			pr_info("%s: window accesses: %llu trapped, %llu by DMA; dropped: %llu "
				"stores, %llu loads",
				n->dev->name, (unsigned long long)st.trapped_copies,
				(unsigned long long)st.dma_copies,
				(unsigned long long)st.dropped_stores,
				(unsigned long long)st.dropped_loads);
		ntb_destroy(n->obj);
		return;
	}
	case DEV_PLX_DMA:
		plx_dma_destroy(n->obj);
		return;
	}
	pr_err("topology: no destructor for device kind %d; leaked", (int)n->kind);
}

void topology_destroy(struct topology *t)
{
	if (!t->nodes)
		return;
	/* the peer sees link down before this side's windows and RAM go away */
	for (int i = 0; i < t->ndev; i++)
		if (t->nodes[i].link) {
			ntb_link_stop(t->nodes[i].link);
			t->nodes[i].link = NULL;
		}
	/* DMA engines stop before the PCI core their copies go through is torn down */
	for (int i = 0; i < t->ndev; i++)
		if (t->nodes[i].kind == DEV_PLX_DMA && t->nodes[i].obj)
			plx_dma_quiesce(t->nodes[i].obj);
	pci_root_destroy(&t->root);
	for (int i = 0; i < t->ndev; i++) {
		struct topo_node *n = &t->nodes[i];

		if (n->obj)
			destroy_node(n);
	}
	free(t->nodes);
	t->nodes = NULL;
	/* after every controller in them */
	for (int i = 0; i < t->nsubsys; i++)
		nvme_subsys_destroy(t->subsys[i]);
	free(t->subsys);
	t->subsys = NULL;
	t->nsubsys = 0;
}

void topology_fw_platform(struct topology *t, int ncpus, const struct e820_entry *e820, int ne820,
			  struct fw_platform *fw)
{
	fw_platform_defaults(fw);
	fw->ncpus = ncpus;
	fw->e820 = e820;
	fw->ne820 = ne820;
	fw->mmio32_base = t->windows.mmio32_base;
	fw->mmio32_size = t->windows.mmio32_size;
	fw->mmio64_base = t->windows.mmio64_base;
	fw->mmio64_size = t->windows.mmio64_size;
	fw->io_base = t->windows.io_base;
	fw->io_size = t->windows.io_size;
	fw->pci = &t->root;
}

struct pci_dev *topology_find(struct topology *t, const struct machine_config *cfg, const char *id)
{
	for (int i = 0; i < cfg->ndevices && i < t->ndev; i++)
		if (cfg->devices[i].id && !strcmp(cfg->devices[i].id, id))
			return t->nodes[i].dev;
	return NULL;
}
