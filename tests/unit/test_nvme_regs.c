/* SPDX-License-Identifier: MIT */
/* NVMe controller registers: CAP/VS/CC/CSTS/AQA/ASQ/ACQ, enable, reset, shutdown (1.4 3.1). */
#include <criterion/criterion.h>
#include <string.h>

#include "tests/unit/test_nvme.h"

static void create_default(struct tnvme *t)
{
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[1];

	tn_config(&cfg, ns, 1);
	tn_create(t, &cfg);
}

Test(nvme_regs, cap_reports_mqes_cqr_timeout_css_and_page_sizes)
{
	struct tnvme t;
	uint64_t cap;

	create_default(&t);
	cap = nvme_bar0_read(t.c, NVME_REG_CAP, 8);
	cr_assert_eq(cap & 0xffff, 1023);
	cr_assert(cap & NVME_CAP_CQR);
	cr_assert_eq((cap >> 24) & 0xff, 20);
	cr_assert_eq((cap >> 32) & 0xf, 0, "DSTRD");
	cr_assert(cap & NVME_CAP_CSS_NVM);
	cr_assert_eq((cap >> 48) & 0xf, 0, "MPSMIN");
	cr_assert_eq((cap >> 52) & 0xf, 4, "MPSMAX");
	cr_assert_eq(cap & (NVME_CAP_CMBS | NVME_CAP_PMRS | NVME_CAP_NSSRS), 0);
	/* The same value through two 32-bit halves (SeaBIOS). */
	cr_assert_eq(tn_rd32(&t, 0) | (uint64_t)tn_rd32(&t, 4) << 32, cap);
	cr_assert_eq(tn_rd32(&t, NVME_REG_VS), 0x00010400);
	tn_destroy(&t);
}

Test(nvme_regs, mqes_comes_from_config)
{
	struct tnvme t;
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[1];

	tn_config(&cfg, ns, 1);
	cfg.mqes = 255;
	tn_create(&t, &cfg);
	cr_assert_eq(tn_rd32(&t, NVME_REG_CAP) & 0xffff, 255);
	tn_destroy(&t);
}

Test(nvme_regs, admin_queue_registers_read_back_as_halves_and_whole)
{
	struct tnvme t;

	create_default(&t);
	tn_wr64_halves(&t, NVME_REG_ASQ, 0x123456789000ULL);
	nvme_bar0_write(t.c, NVME_REG_ACQ, 0xabcdef000ULL, 8);
	tn_wr32(&t, NVME_REG_AQA, 0x001f003f);
	cr_assert_eq(nvme_bar0_read(t.c, NVME_REG_ASQ, 8), 0x123456789000ULL);
	cr_assert_eq(tn_rd32(&t, NVME_REG_ACQ), 0xbcdef000);
	cr_assert_eq(tn_rd32(&t, NVME_REG_ACQ + 4), 0xa);
	cr_assert_eq(tn_rd32(&t, NVME_REG_AQA), 0x001f003f);
	tn_destroy(&t);
}

Test(nvme_regs, enable_linux_style_cc_then_en)
{
	struct tnvme t;

	create_default(&t);
	tn_enable_linux(&t, 32);
	cr_assert_eq(tn_rd32(&t, NVME_REG_CSTS), NVME_CSTS_RDY);
	cr_assert_eq(tn_rd32(&t, NVME_REG_CC) & 1, 1);
	tn_destroy(&t);
}

Test(nvme_regs, enable_seabios_style_one_write)
{
	struct tnvme t;
	uint64_t buf;

	create_default(&t);
	tn_enable_seabios(&t, 2);
	cr_assert_eq(tn_identify(&t, NVME_ID_CNS_CTRL, 0, &buf), 0);
	tn_destroy(&t);
}

static void bad_enable(struct tnvme *t, uint32_t aqa, uint64_t asq, uint32_t cc)
{
	create_default(t);
	tn_wr32(t, NVME_REG_AQA, aqa);
	tn_wr64_halves(t, NVME_REG_ASQ, asq);
	tn_wr64_halves(t, NVME_REG_ACQ, TN_BASE + 0x10000);
	tn_wr32(t, NVME_REG_CC, cc | NVME_CC_EN);
	cr_assert_eq(tn_rd32(t, NVME_REG_CSTS) & 3, NVME_CSTS_CFS, "CSTS 0x%x",
		     tn_rd32(t, NVME_REG_CSTS));
	/* Reset clears CFS (3.1.6). */
	tn_wr32(t, NVME_REG_CC, 0);
	cr_assert_eq(tn_rd32(t, NVME_REG_CSTS) & 3, 0);
	tn_destroy(t);
}

Test(nvme_regs, enable_with_one_entry_admin_queue_sets_cfs)
{
	struct tnvme t;

	bad_enable(&t, 0x00000000, TN_BASE, 0);
}

Test(nvme_regs, enable_with_unsupported_css_sets_cfs)
{
	struct tnvme t;

	bad_enable(&t, 0x001f001f, TN_BASE, 1u << 4);
}

Test(nvme_regs, enable_with_mps_above_mpsmax_sets_cfs)
{
	struct tnvme t;

	bad_enable(&t, 0x001f001f, TN_BASE, 5u << 7);
}

Test(nvme_regs, enable_with_asq_outside_memory_sets_cfs)
{
	struct tnvme t;

	bad_enable(&t, 0x001f001f, 0x40000000, 0);
}

Test(nvme_regs, enable_with_asq_not_page_aligned_sets_cfs)
{
	struct tnvme t;

	/* 8 KiB pages (MPS 1) with ASQ only 4 KiB aligned */
	bad_enable(&t, 0x001f001f, TN_BASE + 0x1000, 1u << 7);
}

Test(nvme_regs, reset_deletes_io_queues_and_clears_ready)
{
	struct tnvme t;

	tn_start(&t);
	tn_wr32(&t, NVME_REG_CC, tn_rd32(&t, NVME_REG_CC) & ~NVME_CC_EN);
	cr_assert_eq(tn_rd32(&t, NVME_REG_CSTS) & NVME_CSTS_RDY, 0);
	/* Re-enable: I/O queue 1 is gone, so it can be created again. */
	tn_enable_linux(&t, 32);
	cr_assert_eq(tn_create_cq(&t, 1, 16, false, 0), 0);
	cr_assert_eq(tn_create_sq(&t, 1, 1, 16), 0);
	tn_destroy(&t);
}

Test(nvme_regs, shutdown_reports_complete_and_enable_clears_it)
{
	struct tnvme t;
	uint32_t cc;

	tn_start(&t);
	cc = tn_rd32(&t, NVME_REG_CC);
	tn_wr32(&t, NVME_REG_CC, cc | 1u << 14); /* SHN normal */
	cr_assert_eq(tn_rd32(&t, NVME_REG_CSTS) & NVME_CSTS_SHST_MASK, NVME_CSTS_SHST_COMPLETE);
	tn_wr32(&t, NVME_REG_CC, 0);
	tn_enable_linux(&t, 32);
	cr_assert_eq(tn_rd32(&t, NVME_REG_CSTS) & NVME_CSTS_SHST_MASK, 0);
	tn_destroy(&t);
}

Test(nvme_regs, abrupt_shutdown_reports_complete)
{
	struct tnvme t;

	tn_start(&t);
	tn_wr32(&t, NVME_REG_CC, tn_rd32(&t, NVME_REG_CC) | 2u << 14);
	cr_assert_eq(tn_rd32(&t, NVME_REG_CSTS) & NVME_CSTS_SHST_MASK, NVME_CSTS_SHST_COMPLETE);
	tn_destroy(&t);
}

Test(nvme_regs, cc_mps_is_frozen_while_enabled)
{
	struct tnvme t;

	tn_start(&t);
	tn_wr32(&t, NVME_REG_CC, tn_rd32(&t, NVME_REG_CC) | 3u << 7);
	cr_assert_eq((tn_rd32(&t, NVME_REG_CC) >> 7) & 0xf, 0);
	tn_destroy(&t);
}

Test(nvme_regs, wrong_sizes_and_reserved_offsets_read_zero_and_ignore_writes)
{
	struct tnvme t;

	create_default(&t);
	cr_assert_eq(nvme_bar0_read(t.c, NVME_REG_VS, 2), 0);
	cr_assert_eq(nvme_bar0_read(t.c, NVME_REG_VS, 1), 0);
	cr_assert_eq(nvme_bar0_read(t.c, NVME_REG_CC, 8), 0);
	cr_assert_eq(nvme_bar0_read(t.c, 0x801, 4), 0);
	cr_assert_eq(nvme_bar0_read(t.c, 0xf00, 4), 0);
	cr_assert_eq(nvme_bar0_read(t.c, NVME_REG_CMBSZ, 4), 0);
	cr_assert_eq(nvme_bar0_read(t.c, NVME_REG_PMRCAP, 4), 0);
	cr_assert_eq(nvme_bar0_read(t.c, 1ULL << 40, 4), 0);
	nvme_bar0_write(t.c, NVME_REG_AQA, 0x00ff00ff, 2);
	cr_assert_eq(tn_rd32(&t, NVME_REG_AQA), 0);
	tn_wr32(&t, NVME_REG_CAP, 0);
	tn_wr32(&t, NVME_REG_VS, 0);
	tn_wr32(&t, NVME_REG_CSTS, 0xffffffff);
	cr_assert_eq(tn_rd32(&t, NVME_REG_VS), 0x00010400);
	cr_assert_eq(tn_rd32(&t, NVME_REG_CSTS), 0);
	cr_assert_eq(nvme_bar0_read(t.c, nvme_sq_doorbell_offset(t.c, 0), 4), 0);
	tn_destroy(&t);
}

Test(nvme_regs, intms_intmc_set_and_clear_the_mask)
{
	struct tnvme t;

	create_default(&t);
	tn_wr32(&t, NVME_REG_INTMS, 0x5);
	tn_wr32(&t, NVME_REG_INTMS, 0x2);
	cr_assert_eq(tn_rd32(&t, NVME_REG_INTMS), 0x7);
	tn_wr32(&t, NVME_REG_INTMC, 0x1);
	cr_assert_eq(tn_rd32(&t, NVME_REG_INTMC), 0x6);
	tn_destroy(&t);
}

Test(nvme_regs, masked_vector_is_delivered_on_unmask)
{
	struct tnvme t;
	uint64_t buf = 0;

	tn_start(&t);
	tn_wr32(&t, NVME_REG_INTMS, 1u << 0);
	t.irqs[0] = 0;
	cr_assert_eq(tn_identify(&t, NVME_ID_CNS_CTRL, 0, &buf), 0);
	cr_assert_eq(t.irqs[0], 0);
	cr_assert(nvme_intx_level(t.c) == false);
	tn_wr32(&t, NVME_REG_INTMC, 1u << 0);
	cr_assert_eq(t.irqs[0], 1);
	tn_destroy(&t);
}

Test(nvme_regs, bar0_ops_dispatch_to_the_controller)
{
	struct tnvme t;

	create_default(&t);
	cr_assert_eq(nvme_bar0_ops.read(t.c, NVME_REG_VS, 4), 0x00010400);
	nvme_bar0_ops.write(t.c, NVME_REG_AQA, 0x10001, 4);
	cr_assert_eq(tn_rd32(&t, NVME_REG_AQA), 0x10001);
	cr_assert_eq(nvme_bar0_regs_size(t.c), 0x1000 + 9 * 8);
	tn_destroy(&t);
}

Test(nvme_regs, create_rejects_bad_config)
{
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[1];
	struct nvme_host host = {0};
	char err[128];

	tn_config(&cfg, ns, 1);
	ns[0].lba_size = 1024;
	cr_assert_null(nvme_ctrl_create(&cfg, &host, err, sizeof(err)));
	ns[0].lba_size = 512;
	ns[0].backend = "nope";
	cr_assert_null(nvme_ctrl_create(&cfg, &host, err, sizeof(err)));
	cr_assert(strstr(err, "nope"));
	ns[0].backend = "ram";
	cfg.mdts_kib = 3;
	cr_assert_null(nvme_ctrl_create(&cfg, &host, err, sizeof(err)));
}
