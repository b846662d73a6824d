/* SPDX-License-Identifier: MIT */
/*
 * Two NVMe PCI functions (nvme_pci.c) on the downstream ports of one switch, over real guest
 * memory (64 MiB at 0) and the recording PCI host of test_pci_fake.h, enumerated by
 * pci_assign. Each controller gets a tnvme view (test_nvme.h) whose fake memory is guest RAM
 * from TN_BASE, so the in-test driver runs unchanged while the controller's DMA goes through
 * the PCI glue and the PCI core (CMB, PMR, peer BARs).
 */
#ifndef TEST_NVME_RIG_H
#define TEST_NVME_RIG_H

#include "devices/nvme/nvme_pci.h"
#include "tests/unit/test_nvme.h"
#include "tests/unit/test_pci_fake.h"
#include "vmm/mem.h"

struct rig {
	struct guest_mem mem;
	struct fake_host host;
	struct pci_root root;
	struct pci_dev hb, rp, up, dn[2];
	struct pci_bus rp_bus, up_bus, dn_bus[2];
	struct nvme_pci *n[2];
	struct tnvme t[2];
};

static inline void rig_init(struct rig *r, const struct nvme_ctrl_config *cfg0,
			    const struct nvme_ctrl_config *cfg1)
{
	static const struct pci_windows win = {
		.mmio32_base = 0xc0000000,
		.mmio32_size = 0x3ec00000,
		.mmio64_base = 0x800000000ULL,
		.mmio64_size = 64ULL << 30,
		.io_base = 0x1000,
		.io_size = 0xf000,
	};
	const struct nvme_ctrl_config *cfg[2] = {cfg0, cfg1};
	char err[256] = "";
	uint8_t *ram;

	memset(r, 0, sizeof(*r));
	cr_assert_eq(mem_init(&r->mem, MiB(64), false, err, sizeof(err)), 0, "%s", err);
	pci_root_init(&r->root, &fake_host_ops, &r->host, &r->mem, MEM_ECAM_BASE);
	pci_dev_init(&r->hb, "host", 0x8086, 0x29c0, 0x060000, 0, false);
	pci_dev_init(&r->rp, "rp0", 0x1b36, 0x000c, 0x060400, 0, true);
	pci_dev_init(&r->up, "sw0.up", 0x104c, 0x8232, 0x060400, 2, true);
	pci_bus_init(&r->rp_bus, "rp0");
	pci_bus_init(&r->up_bus, "sw0");
	pci_bridge_set_secondary(&r->rp, &r->rp_bus);
	pci_bridge_set_secondary(&r->up, &r->up_bus);
	ram = mem_gpa_to_hva(&r->mem, TN_BASE, TN_SIZE);
	cr_assert(ram);
	for (int i = 0; i < 2; i++) {
		pci_dev_init(&r->dn[i], i ? "sw0.1" : "sw0.0", 0x104c, 0x8233, 0x060400, 1, true);
		pci_bus_init(&r->dn_bus[i], i ? "sw0.1" : "sw0.0");
		pci_bridge_set_secondary(&r->dn[i], &r->dn_bus[i]);
		r->n[i] = nvme_pci_create(cfg[i], err, sizeof(err));
		cr_assert(r->n[i], "nvme_pci_create: %s", err);
		cr_assert_eq(pci_bus_add(&r->dn_bus[i], &r->n[i]->pci, 0), 0);
		cr_assert_eq(pci_bus_add(&r->up_bus, &r->dn[i], PCI_DEVFN(i, 0)), 0);
		/* The two drivers share guest RAM: controller 1 allocates from the upper half. */
		r->t[i].mem = ram;
		r->t[i].c = r->n[i]->ctrl;
		r->t[i].next = TN_BASE + (uint64_t)i * (TN_SIZE / 2);
	}
	cr_assert_eq(pci_bus_add(&r->rp_bus, &r->up, 0), 0);
	cr_assert_eq(pci_bus_add(&r->root.bus0, &r->hb, PCI_DEVFN(0, 0)), 0);
	cr_assert_eq(pci_bus_add(&r->root.bus0, &r->rp, PCI_DEVFN(1, 0)), 0);
	cr_assert_eq(pci_assign(&r->root, &win, err, sizeof(err)), 0, "%s", err);
}

static inline void rig_fini(struct rig *r)
{
	pci_root_destroy(&r->root);
	for (int i = 0; i < 2; i++)
		nvme_pci_destroy(r->n[i]);
	mem_free(&r->mem);
}

/* Where BAR `bar` of controller i decodes now (~0: not mapped). */
static inline uint64_t rig_bar(struct rig *r, int i, int bar)
{
	return r->n[i]->pci.bars[bar].mapped_addr;
}

/* Enable controller i Linux style and create I/O queue pair 1 in host memory. */
static inline void rig_start(struct rig *r, int i)
{
	tn_enable_linux(&r->t[i], 32);
	cr_assert_eq(tn_create_cq(&r->t[i], 1, 64, true, 1), 0);
	cr_assert_eq(tn_create_sq(&r->t[i], 1, 1, 64), 0);
}

/* Read/write nlb 512-byte blocks at slba from/to bus address buf (page aligned) through PRPs
 * sized for exactly that transfer (tn_rw sizes them for 4 KiB blocks). */
static inline uint16_t rig_rw(struct tnvme *t, uint8_t opc, uint64_t slba, uint32_t nlb,
			      uint64_t buf)
{
	uint64_t len = (uint64_t)nlb * 512, pages = (len + 4095) / 4096;
	struct nvme_sqe cmd = {.opcode = opc,
			       .nsid = 1,
			       .prp1 = buf,
			       .cdw10 = (uint32_t)slba,
			       .cdw11 = (uint32_t)(slba >> 32),
			       .cdw12 = nlb - 1};

	if (pages == 2) {
		cmd.prp2 = buf + 4096;
	} else if (pages > 2) {
		uint64_t list = tn_alloc(t, (pages - 1) * 8, 4096);
		uint64_t *e = tn_ptr(t, list);

		cr_assert(pages <= 513);
		for (uint64_t i = 1; i < pages; i++)
			e[i - 1] = buf + i * 4096;
		cmd.prp2 = list;
	}
	return tn_cmd(t, 1, &cmd, NULL);
}

#endif
