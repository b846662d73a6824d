/* SPDX-License-Identifier: MIT */
/* NVMe Controller Memory Buffer: registers (1.4 3.1.11/12/16/17), BAR2, DMA served from it, P2P. */
#include <criterion/criterion.h>
#include <string.h>

#include "devices/nvme/cmb.h"
#include "tests/unit/test_nvme_rig.h"

static void cmb_config(struct nvme_ctrl_config *cfg, struct nvme_ns_config *ns, uint64_t cmb)
{
	tn_config(cfg, ns, 1);
	cfg->cmb_size = cmb;
}

static uint64_t cmbmsc(struct tnvme *t)
{
	return tn_rd32(t, NVME_REG_CMBMSC) | (uint64_t)tn_rd32(t, NVME_REG_CMBMSC + 4) << 32;
}

/* How Linux's nvme_map_cmb enables it: CRE first, then CRE|CMSE|address, high half first. */
static void cmb_enable_linux(struct tnvme *t, uint64_t cba)
{
	tn_wr32(t, NVME_REG_CMBMSC, (uint32_t)NVME_CMBMSC_CRE);
	tn_wr32(t, NVME_REG_CMBMSC + 4, (uint32_t)(cba >> 32));
	tn_wr32(t, NVME_REG_CMBMSC, (uint32_t)(cba | NVME_CMBMSC_CRE | NVME_CMBMSC_CMSE));
}

static uint64_t cmb_size_of(uint32_t sz)
{
	return (uint64_t)(sz >> 12) << (12 + 4 * ((sz >> 8) & 0xf));
}

Test(nvme_cmb, no_cmb_by_default)
{
	struct tnvme t;
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[1];
	uint64_t size;

	tn_config(&cfg, ns, 1);
	tn_create(&t, &cfg);
	cr_assert_eq(nvme_bar0_read(t.c, NVME_REG_CAP, 8) & NVME_CAP_CMBS, 0);
	tn_wr32(&t, NVME_REG_CMBMSC, 1);
	cr_assert_eq(tn_rd32(&t, NVME_REG_CMBSZ), 0);
	cr_assert_eq(tn_rd32(&t, NVME_REG_CMBLOC), 0);
	cr_assert_eq(cmbmsc(&t), 0);
	cr_assert_null(nvme_cmb_ram(t.c, &size));
	cr_assert_eq(size, 0);
	tn_destroy(&t);
}

Test(nvme_cmb, cmbloc_and_cmbsz_read_zero_until_cre)
{
	struct tnvme t;
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[1];
	uint32_t loc, sz;

	cmb_config(&cfg, ns, MiB(64));
	tn_create(&t, &cfg);
	cr_assert(nvme_bar0_read(t.c, NVME_REG_CAP, 8) & NVME_CAP_CMBS);
	cr_assert_eq(tn_rd32(&t, NVME_REG_CMBLOC), 0);
	cr_assert_eq(tn_rd32(&t, NVME_REG_CMBSZ), 0);
	tn_wr32(&t, NVME_REG_CMBMSC, (uint32_t)NVME_CMBMSC_CRE);
	loc = tn_rd32(&t, NVME_REG_CMBLOC);
	sz = tn_rd32(&t, NVME_REG_CMBSZ);
	cr_assert_eq(loc & 7, 2, "BIR");
	cr_assert_eq(loc >> 12, 0, "OFST");
	cr_assert_eq(loc & 0x1f8, 0xf8, "CQMMS CQPDS CDPMLS CDPCILS CDMMMS set, CQDA clear");
	cr_assert_eq(sz & 0x1f, 0x1f, "SQS CQS LISTS RDS WDS");
	cr_assert_eq(cmb_size_of(sz), MiB(64));
	cr_assert_eq(cmbmsc(&t), NVME_CMBMSC_CRE);
	/* Clearing CRE hides them again; the registers are read-only. */
	tn_wr32(&t, NVME_REG_CMBSZ, 0);
	tn_wr32(&t, NVME_REG_CMBLOC, 0);
	cr_assert_eq(tn_rd32(&t, NVME_REG_CMBSZ), sz);
	tn_wr32(&t, NVME_REG_CMBMSC, 0);
	cr_assert_eq(tn_rd32(&t, NVME_REG_CMBSZ), 0);
	cr_assert_eq(tn_rd32(&t, NVME_REG_CMBLOC), 0);
	tn_destroy(&t);
}

Test(nvme_cmb, cmbsz_encodes_every_size_from_2m_to_1g)
{
	for (uint64_t size = MiB(2); size <= GiB(1); size <<= 1) {
		struct tnvme t;
		struct nvme_ctrl_config cfg;
		struct nvme_ns_config ns[1];
		uint32_t sz;

		cmb_config(&cfg, ns, size);
		tn_create(&t, &cfg);
		tn_wr32(&t, NVME_REG_CMBMSC, (uint32_t)NVME_CMBMSC_CRE);
		sz = tn_rd32(&t, NVME_REG_CMBSZ);
		cr_assert_eq(cmb_size_of(sz), size, "size %llu: CMBSZ 0x%x",
			     (unsigned long long)size, sz);
		cr_assert_eq(sz, nvme_cmbsz_encode(size));
		tn_destroy(&t);
	}
	/* The largest unit that divides the size exactly. */
	cr_assert_eq(nvme_cmbsz_encode(MiB(2)) & ~0x1fu, 2u << 8 | 2u << 12);
	cr_assert_eq(nvme_cmbsz_encode(MiB(16)) & ~0x1fu, 3u << 8 | 1u << 12);
	cr_assert_eq(nvme_cmbsz_encode(GiB(1)) & ~0x1fu, 4u << 8 | 4u << 12);
	cr_assert_eq(nvme_cmbsz_encode(GiB(32)) & ~0x1fu, 5u << 8 | 8u << 12);
	cr_assert_eq(nvme_cmbsz_encode(GiB(64)) & ~0x1fu, 6u << 8 | 1u << 12);
	cr_assert_eq(nvme_cmbsz_encode(KiB(4)) & ~0x1fu, 0u << 8 | 1u << 12);
}

Test(nvme_cmb, config_rejects_bad_sizes)
{
	static const uint64_t bad[] = {MiB(1), MiB(3), KiB(4), MiB(2) + 4096, GiB(128)};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct nvme_ctrl_config cfg;
		struct nvme_ns_config ns[1];
		struct nvme_host host = {0};
		char err[256] = "";

		cmb_config(&cfg, ns, bad[i]);
		cr_assert_null(nvme_ctrl_create(&cfg, &host, err, sizeof(err)));
		cr_assert(strstr(err, "cmb size"), "%s", err);
		cr_assert(strstr(err, "power of two"), "%s", err);
	}
}

Test(nvme_cmb, cmse_latches_cba_and_cbai_flags_an_invalid_one)
{
	struct tnvme t;
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[1];
	uint64_t cba = 0x800000000ULL;
	uint8_t *ram;
	uint64_t size;

	cmb_config(&cfg, ns, MiB(2));
	tn_create(&t, &cfg);
	ram = nvme_cmb_ram(t.c, &size);
	cr_assert_eq(size, MiB(2));

	/* CMSE without CRE enables nothing. */
	nvme_bar0_write(t.c, NVME_REG_CMBMSC, cba | NVME_CMBMSC_CMSE, 8);
	cr_assert_null(nvme_ctrl_mem_map(t.c, cba, 64));
	cr_assert_eq(tn_rd32(&t, NVME_REG_CMBSTS), 0);

	/* Linux: high half first, then the low half with CRE|CMSE. */
	cmb_enable_linux(&t, cba);
	cr_assert_eq(cmbmsc(&t), cba | NVME_CMBMSC_CRE | NVME_CMBMSC_CMSE);
	cr_assert_eq(tn_rd32(&t, NVME_REG_CMBSTS), 0);
	cr_assert_eq(nvme_ctrl_mem_map(t.c, cba, 64), ram);
	cr_assert_eq(nvme_ctrl_mem_map(t.c, cba + MiB(2) - 64, 64), ram + MiB(2) - 64);
	cr_assert_null(nvme_ctrl_mem_map(t.c, cba + MiB(2) - 64, 65), "crosses the end");
	cr_assert_null(nvme_ctrl_mem_map(t.c, cba - 64, 128), "starts before");

	/* Not aligned to the CMB size: CBAI, memory space off. */
	nvme_bar0_write(t.c, NVME_REG_CMBMSC, (cba + MiB(1)) | NVME_CMBMSC_CRE | NVME_CMBMSC_CMSE,
			8);
	cr_assert_eq(tn_rd32(&t, NVME_REG_CMBSTS), NVME_CMBSTS_CBAI);
	cr_assert_null(nvme_ctrl_mem_map(t.c, cba + MiB(1), 64));
	cr_assert_null(nvme_ctrl_mem_map(t.c, cba, 64));

	/* Wrapping past 2^64: CBAI. */
	nvme_bar0_write(t.c, NVME_REG_CMBMSC,
			(0xffffffffffe00000ULL + MiB(1)) | NVME_CMBMSC_CRE | NVME_CMBMSC_CMSE, 8);
	cr_assert_eq(tn_rd32(&t, NVME_REG_CMBSTS), NVME_CMBSTS_CBAI);

	/* A valid CBA clears CBAI. */
	nvme_bar0_write(t.c, NVME_REG_CMBMSC, cba | NVME_CMBMSC_CRE | NVME_CMBMSC_CMSE, 8);
	cr_assert_eq(tn_rd32(&t, NVME_REG_CMBSTS), 0);
	cr_assert_eq(nvme_ctrl_mem_map(t.c, cba + 4096, 8), ram + 4096);

	/* Clearing CMSE turns the memory space off, CBA reads back. */
	tn_wr32(&t, NVME_REG_CMBMSC, (uint32_t)(cba | NVME_CMBMSC_CRE));
	cr_assert_null(nvme_ctrl_mem_map(t.c, cba, 64));
	cr_assert_eq(cmbmsc(&t), cba | NVME_CMBMSC_CRE);
	tn_destroy(&t);
}

Test(nvme_cmb, registers_and_contents_survive_controller_reset)
{
	struct tnvme t;
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[1];
	uint64_t cba = 0x800000000ULL, size;
	uint8_t *ram;

	cmb_config(&cfg, ns, MiB(2));
	tn_create(&t, &cfg);
	ram = nvme_cmb_ram(t.c, &size);
	cmb_enable_linux(&t, cba);
	tn_enable_linux(&t, 32);
	memset(ram, 0x5a, 4096);
	tn_wr32(&t, NVME_REG_CC, 0); /* controller reset */
	cr_assert_eq(tn_rd32(&t, NVME_REG_CSTS) & NVME_CSTS_RDY, 0);
	cr_assert_eq(cmbmsc(&t), cba | NVME_CMBMSC_CRE | NVME_CMBMSC_CMSE);
	cr_assert_neq(tn_rd32(&t, NVME_REG_CMBSZ), 0);
	cr_assert_eq(nvme_ctrl_mem_map(t.c, cba, 4096), ram);
	cr_assert_eq(ram[4095], 0x5a);
	tn_destroy(&t);
}

/* ---- through the PCI glue: BAR2 as RAM, DMA served from it, P2P ---- */

static struct rig r;
static struct nvme_ctrl_config rcfg[2];
static struct nvme_ns_config rns[2][1];

static void rig_setup(void)
{
	for (int i = 0; i < 2; i++) {
		cmb_config(&rcfg[i], rns[i], MiB(4));
		rcfg[i].name = i ? "nvme1" : "nvme0";
	}
	rig_init(&r, &rcfg[0], &rcfg[1]);
}

static void rig_teardown(void)
{
	rig_fini(&r);
}

TestSuite(nvme_cmb_pci, .init = rig_setup, .fini = rig_teardown);

Test(nvme_cmb_pci, bar2_is_a_prefetchable_ram_bar_over_the_cmb)
{
	uint64_t size, addr = rig_bar(&r, 0, 2);
	uint8_t *ram = nvme_cmb_ram(r.n[0]->ctrl, &size);
	struct fake_map *m;
	uint32_t lo = pci_get32(&r.n[0]->pci, PCI_BASE_ADDRESS_0 + 8);

	cr_assert_neq(addr, ~0ULL);
	cr_assert_eq(addr % size, 0, "2 MiB aligned at least");
	cr_assert_eq(lo & 0xf, PCI_BASE_ADDRESS_MEM_TYPE_64 | PCI_BASE_ADDRESS_MEM_PREFETCH);
	m = fake_find(&r.host, BUS_MMIO, addr);
	cr_assert(m && m->ram && m->addr == addr && m->size == MiB(4) && m->hva == ram);
	/* Any width: a CPU store of 8 bytes and a load of 2 see the same memory. */
	fake_write(&r.host, BUS_MMIO, addr + 0x100, 0x1122334455667788ULL, 8);
	cr_assert_eq(fake_read(&r.host, BUS_MMIO, addr + 0x102, 2), 0x5566);
	cr_assert_eq(ram[0x100], 0x88);
	/* No BAR4 without a PMR. */
	cr_assert_eq(r.n[0]->pci.bars[4].size, 0);
}

/* Put SQEs straight into the CMB with CPU stores (no helper: tn_put writes host memory). */
static void cmb_put(uint64_t sq_bus, uint16_t slot, struct nvme_sqe *cmd, uint16_t cid)
{
	const uint64_t *q;

	cmd->cid = cid;
	q = (const uint64_t *)cmd;
	for (int i = 0; i < 8; i++)
		fake_write(&r.host, BUS_MMIO, sq_bus + (uint64_t)slot * 64 + 8 * i, q[i], 8);
}

Test(nvme_cmb_pci, io_sq_in_the_cmb_is_fetched_from_it)
{
	struct tnvme *t = &r.t[0];
	uint64_t cmb = rig_bar(&r, 0, 2), buf = tn_alloc(t, 4096, 4096), out;
	struct nvme_sqe cmd;
	struct nvme_cqe e;

	cmb_enable_linux(t, cmb);
	tn_enable_linux(t, 32);
	cr_assert_eq(tn_create_cq(t, 1, 16, true, 1), 0);
	/* Create I/O SQ 1 (16 entries) at the start of the CMB, as Linux does with use_cmb_sqes */
	cmd = (struct nvme_sqe){.opcode = NVME_ADM_CREATE_SQ,
				.prp1 = cmb,
				.cdw10 = 1 | 15u << 16,
				.cdw11 = 1u | 1u << 16};
	cr_assert_eq(tn_cmd(t, 0, &cmd, NULL), 0);

	/* Write 8 blocks from host memory, then read them back, 20 times around the ring. */
	memset(tn_ptr(t, buf), 0xc3, 4096);
	out = tn_alloc(t, 4096, 4096);
	for (uint16_t i = 0; i < 20; i++) {
		uint16_t slot = i % 16;

		cmd = (struct nvme_sqe){.opcode = (i & 1) ? NVME_CMD_READ : NVME_CMD_WRITE,
					.nsid = 1,
					.prp1 = (i & 1) ? out : buf,
					.cdw10 = 8u * (i / 2),
					.cdw12 = 7};
		cmb_put(cmb, slot, &cmd, (uint16_t)(100 + i));
		tn_wr32(t, nvme_sq_doorbell_offset(t->c, 1), (slot + 1u) % 16);
		cr_assert(tn_poll(t, 1, &e), "no completion for SQE %u in the CMB", i);
		cr_assert_eq(e.cid, 100 + i);
		cr_assert_eq(tn_status(&e), 0);
		cr_assert_eq(e.sqhd, (slot + 1u) % 16);
		if (i & 1) {
			cr_assert_eq(memcmp(tn_ptr(t, out), tn_ptr(t, buf), 4096), 0);
			memset(tn_ptr(t, out), 0, 4096);
		}
	}
}

Test(nvme_cmb_pci, prp_list_and_data_in_the_cmb)
{
	struct tnvme *t = &r.t[0];
	uint64_t cmb = rig_bar(&r, 0, 2), size, list = cmb + MiB(2), data = cmb + 4096;
	uint8_t *ram = nvme_cmb_ram(t->c, &size);
	uint64_t host = tn_alloc(t, 4 * 4096, 4096);
	struct nvme_sqe cmd;

	cmb_enable_linux(t, cmb);
	rig_start(&r, 0);
	/* 16 KiB in the CMB at a 512-byte offset: PRP1 + a PRP list (in the CMB) of 4 entries */
	for (int i = 0; i < 4 * 4096; i++)
		ram[4096 + 512 + i] = (uint8_t)(i * 7 + 1);
	for (uint64_t i = 0; i < 4; i++)
		fake_write(&r.host, BUS_MMIO, list + 8 * i, data + 4096 * (i + 1), 8);
	cmd = (struct nvme_sqe){
		.opcode = NVME_CMD_WRITE, .nsid = 1, .prp1 = data + 512, .prp2 = list, .cdw12 = 31};
	cr_assert_eq(tn_cmd(t, 1, &cmd, NULL), 0);
	/* Read it back into host memory (plain PRPs) and compare. */
	cr_assert_eq(rig_rw(t, NVME_CMD_READ, 0, 32, host), 0);
	cr_assert_eq(memcmp(tn_ptr(t, host), ram + 4096 + 512, 4 * 4096), 0);
	/* And read it again into the CMB with an SGL data block there. */
	memset(ram + MiB(3), 0, 4 * 4096);
	cmd = (struct nvme_sqe){.opcode = NVME_CMD_READ,
				.flags = NVME_PSDT_SGL_MPTR_CONTIG << 6,
				.nsid = 1,
				.prp1 = cmb + MiB(3),
				.prp2 = (uint64_t)(4 * 4096) | (uint64_t)NVME_SGL_TYPE_DATA_BLOCK
								       << 60,
				.cdw12 = 31};
	cr_assert_eq(tn_cmd(t, 1, &cmd, NULL), 0);
	cr_assert_eq(memcmp(ram + MiB(3), ram + 4096 + 512, 4 * 4096), 0);
}

Test(nvme_cmb_pci, own_cmb_is_not_dma_target_while_cmse_is_off)
{
	struct tnvme *t = &r.t[0];
	uint64_t cmb = rig_bar(&r, 0, 2), size;
	uint8_t *ram = nvme_cmb_ram(t->c, &size);
	struct nvme_sqe cmd;

	tn_wr32(t, NVME_REG_CMBMSC, (uint32_t)NVME_CMBMSC_CRE); /* capabilities only */
	rig_start(&r, 0);
	memset(ram, 0xee, 4096);
	cr_assert_neq(rig_rw(t, NVME_CMD_WRITE, 0, 8, cmb), 0);
	cmd = (struct nvme_sqe){.opcode = NVME_ADM_CREATE_SQ,
				.prp1 = cmb,
				.cdw10 = 2 | 15u << 16,
				.cdw11 = 1u | 1u << 16};
	cr_assert_neq(tn_cmd(t, 0, &cmd, NULL), 0);
	/* Once enabled the same command works. */
	cmb_enable_linux(t, cmb);
	cr_assert_eq(rig_rw(t, NVME_CMD_WRITE, 0, 8, cmb), 0);
}

Test(nvme_cmb_pci, peer_reads_its_namespace_into_the_other_controllers_cmb)
{
	struct tnvme *a = &r.t[0], *b = &r.t[1];
	uint64_t size, bcmb = rig_bar(&r, 1, 2), src = tn_alloc(a, 8 * 4096, 4096);
	uint8_t *bram = nvme_cmb_ram(b->c, &size);

	/* B publishes its CMB as p2pmem (Linux sets CMSE too); A never touches B's registers. */
	cmb_enable_linux(b, bcmb);
	rig_start(&r, 0);
	for (int i = 0; i < 8 * 4096; i++)
		((uint8_t *)tn_ptr(a, src))[i] = (uint8_t)(i ^ 0xa5);
	cr_assert_eq(rig_rw(a, NVME_CMD_WRITE, 0, 64, src), 0);
	/* A reads 32 KiB of its namespace straight into B's CMB: a PRP list in host memory
	 * pointing at peer bus addresses through the switch. */
	cr_assert_eq(rig_rw(a, NVME_CMD_READ, 0, 64, bcmb + MiB(1)), 0);
	cr_assert_eq(memcmp(bram + MiB(1), tn_ptr(a, src), 8 * 4096), 0);
	/* And back: A writes LBA 64.. from B's CMB. */
	cr_assert_eq(rig_rw(a, NVME_CMD_WRITE, 64, 64, bcmb + MiB(1)), 0);
	memset(tn_ptr(a, src), 0, 8 * 4096);
	cr_assert_eq(rig_rw(a, NVME_CMD_READ, 64, 64, src), 0);
	cr_assert_eq(memcmp(bram + MiB(1), tn_ptr(a, src), 8 * 4096), 0);
	/* A transfer that runs past the end of B's BAR is refused. */
	cr_assert_neq(rig_rw(a, NVME_CMD_READ, 0, 16, bcmb + MiB(4) - 4096), 0);
}
