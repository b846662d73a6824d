/* SPDX-License-Identifier: MIT */
/* Namespace Management (NVMe 1.4 5.20), Namespace Attachment (5.21), Identify CNS 10h-13h,
 * the Changed Namespace List and the Namespace Attribute Changed notice (nsmgmt.c). */
#include <criterion/criterion.h>
#include <string.h>

#include "tests/unit/test_nvme.h"

#define POOL  (1u << 20) /* bytes */
#define CNTID 7

static void start(struct tnvme *t, uint64_t pool)
{
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[1];

	tn_config(&cfg, ns, 1); /* NSID 1: 1 MiB configured ram namespace, outside the pool */
	cfg.nsmgmt_capacity = pool;
	cfg.cntlid = CNTID;
	tn_start_cfg(t, &cfg);
}

static uint16_t admin(struct tnvme *t, struct nvme_sqe cmd, uint32_t *dw0)
{
	struct nvme_cqe e;
	uint16_t st = tn_cmd(t, 0, &cmd, &e);

	if (dw0)
		*dw0 = e.dw0;
	return st;
}

static struct nvme_sqe create_cmd(struct tnvme *t, uint64_t nsze, uint64_t ncap, uint8_t flbas)
{
	uint64_t buf = tn_alloc(t, 4096, 4096);
	uint8_t *id = tn_ptr(t, buf);

	memcpy(id, &nsze, 8);
	memcpy(id + 8, &ncap, 8);
	id[26] = flbas;
	return (struct nvme_sqe){.opcode = NVME_ADM_NS_MGMT, .prp1 = buf, .cdw10 = 0};
}

static uint16_t create(struct tnvme *t, uint64_t nsze, uint8_t flbas, uint32_t *nsid)
{
	return admin(t, create_cmd(t, nsze, nsze, flbas), nsid);
}

static uint16_t delete_ns(struct tnvme *t, uint32_t nsid)
{
	return admin(t, (struct nvme_sqe){.opcode = NVME_ADM_NS_MGMT, .nsid = nsid, .cdw10 = 1},
		     NULL);
}

static struct nvme_sqe attach_cmd(struct tnvme *t, unsigned sel, uint32_t nsid, unsigned n,
				  const uint16_t *ids)
{
	uint64_t buf = tn_alloc(t, 4096, 4096);
	uint8_t *p = tn_ptr(t, buf);

	p[0] = (uint8_t)n;
	p[1] = (uint8_t)(n >> 8);
	memcpy(p + 2, ids, 2 * (size_t)n);
	return (struct nvme_sqe){
		.opcode = NVME_ADM_NS_ATTACH, .nsid = nsid, .prp1 = buf, .cdw10 = sel};
}

static uint16_t attach(struct tnvme *t, unsigned sel, uint32_t nsid)
{
	uint16_t id = CNTID;

	return admin(t, attach_cmd(t, sel, nsid, 1, &id), NULL);
}

static uint8_t *identify(struct tnvme *t, uint8_t cns, uint32_t nsid, uint16_t cntid)
{
	uint64_t buf = tn_alloc(t, 4096, 4096);
	struct nvme_sqe cmd = {.opcode = NVME_ADM_IDENTIFY,
			       .nsid = nsid,
			       .prp1 = buf,
			       .cdw10 = cns | (uint32_t)cntid << 16};

	cr_assert_eq(tn_cmd(t, 0, &cmd, NULL), 0, "identify cns 0x%x nsid %u", cns, nsid);
	return tn_ptr(t, buf);
}

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

static uint64_t unvmcap(struct tnvme *t)
{
	return le64(identify(t, NVME_ID_CNS_CTRL, 0, 0) + 296);
}

Test(nvme_nsmgmt, identify_controller_advertises_management_and_capacity)
{
	struct tnvme t;
	uint8_t *id;

	start(&t, POOL);
	id = identify(&t, NVME_ID_CNS_CTRL, 0, 0);
	cr_assert(id[256] & (1 << 3), "OACS bit 3");
	cr_assert_eq(le32(id + 516), 256, "NN");
	cr_assert_eq(le32(id + 540), 256, "MNAN");
	cr_assert_eq(le64(id + 280), POOL + (1u << 20), "TNVMCAP: pool + configured namespace");
	cr_assert_eq(le64(id + 296), POOL, "UNVMCAP");
	/* Only the configured namespace is active; every other NSID up to NN is inactive. */
	id = identify(&t, NVME_ID_CNS_NS_ACTIVE_LIST, 0, 0);
	cr_assert_eq(le32(id), 1);
	cr_assert_eq(le32(id + 4), 0);
	id = identify(&t, NVME_ID_CNS_NS, 200, 0);
	cr_assert_eq(le64(id + 8), 0, "inactive NSID: zero filled (NCAP 0)");
	/* NSID FFFFFFFFh: the common part, with both LBA formats (nvme-cli create-ns reads it) */
	id = identify(&t, NVME_ID_CNS_NS, NVME_NSID_ALL, 0);
	cr_assert_eq(id[25], 7, "NLBAF");
	cr_assert_eq((le32(id + 132) >> 16) & 0xff, 12, "LBAF1 4096");
	tn_destroy(&t);
}

Test(nvme_nsmgmt, without_a_pool_commands_and_cns_values_are_refused)
{
	struct tnvme t;
	uint64_t buf;
	uint8_t *id;

	start(&t, 0);
	id = identify(&t, NVME_ID_CNS_CTRL, 0, 0);
	cr_assert_eq(id[256] & (1 << 3), 0, "no OACS bit 3");
	cr_assert_eq(le32(id + 516), 1, "NN = configured namespaces");
	cr_assert_eq(create(&t, 8, 0, NULL), NVME_SC_INVALID_OPCODE);
	cr_assert_eq(attach(&t, 1, 1), NVME_SC_INVALID_OPCODE);
	cr_assert_eq(tn_identify(&t, NVME_ID_CNS_NS_ALLOC_LIST, 0, &buf), NVME_SC_INVALID_FIELD);
	cr_assert_eq(tn_identify(&t, NVME_ID_CNS_CTRL_LIST, 0, &buf), NVME_SC_INVALID_FIELD);
	cr_assert_eq(tn_identify(&t, NVME_ID_CNS_NS, NVME_NSID_ALL, &buf), NVME_SC_INVALID_NS);
	tn_destroy(&t);
}

Test(nvme_nsmgmt, created_namespace_is_allocated_but_inactive_until_attached)
{
	struct tnvme t;
	uint32_t nsid = 0;
	uint64_t wb, rb;
	uint8_t *id;

	start(&t, POOL);
	cr_assert_eq(create(&t, 1001, 0, &nsid), 0);
	cr_assert_eq(nsid, 2, "first free NSID in DW0");
	cr_assert_eq(unvmcap(&t), POOL - 516096, "512512 bytes in 4 KiB units");
	/* allocated: CNS 10h lists it, 11h describes it; inactive: 02h and 00h do not */
	id = identify(&t, NVME_ID_CNS_NS_ALLOC_LIST, 0, 0);
	cr_assert_eq(le32(id), 1);
	cr_assert_eq(le32(id + 4), 2);
	id = identify(&t, NVME_ID_CNS_NS_ALLOC_LIST, 1, 0);
	cr_assert_eq(le32(id), 2, "list starts above CDW1.NSID");
	id = identify(&t, NVME_ID_CNS_NS_ALLOC, 2, 0);
	cr_assert_eq(le64(id), 1001, "NSZE as asked");
	cr_assert_eq(le64(id + 8), 1001, "NCAP");
	id = identify(&t, NVME_ID_CNS_NS_ALLOC, 3, 0);
	cr_assert_eq(le64(id), 0, "unallocated: zero filled");
	id = identify(&t, NVME_ID_CNS_NS, 2, 0);
	cr_assert_eq(le64(id), 0, "not attached: inactive");
	id = identify(&t, NVME_ID_CNS_NS_ACTIVE_LIST, 0, 0);
	cr_assert_eq(le32(id + 4), 0);
	id = identify(&t, NVME_ID_CNS_NS_CTRL_LIST, 2, 0);
	cr_assert_eq(id[0] | id[1] << 8, 0, "attached to no controller");
	wb = tn_alloc(&t, 4096, 4096);
	rb = tn_alloc(&t, 4096, 4096);
	cr_assert_eq(tn_rw(&t, NVME_CMD_READ, 2, 0, 1, rb, 0), NVME_SC_INVALID_NS);

	cr_assert_eq(attach(&t, 0, 2), 0);
	id = identify(&t, NVME_ID_CNS_NS_ACTIVE_LIST, 0, 0);
	cr_assert_eq(le32(id + 4), 2);
	id = identify(&t, NVME_ID_CNS_NS, 2, 0);
	cr_assert_eq(le64(id), 1001);
	cr_assert_eq(id[26], 0, "FLBAS");
	id = identify(&t, NVME_ID_CNS_NS_CTRL_LIST, 2, 0);
	cr_assert_eq(id[0] | id[1] << 8, 1);
	cr_assert_eq(id[2] | id[3] << 8, CNTID);
	id = identify(&t, NVME_ID_CNS_NS_CTRL_LIST, 2, CNTID + 1);
	cr_assert_eq(id[0] | id[1] << 8, 0, "CNTID above ours: empty");
	memset(tn_ptr(&t, wb), 0x5a, 4096);
	cr_assert_eq(tn_rw(&t, NVME_CMD_WRITE, 2, 992, 8, wb, 0), 0);
	cr_assert_eq(tn_rw(&t, NVME_CMD_READ, 2, 992, 8, rb, 0), 0);
	cr_assert_eq(memcmp(tn_ptr(&t, wb), tn_ptr(&t, rb), 4096), 0);
	cr_assert_eq(tn_rw(&t, NVME_CMD_READ, 2, 1000, 2, rb, 0), NVME_SC_LBA_RANGE, "NSZE bound");
	tn_destroy(&t);
}

Test(nvme_nsmgmt, create_with_4k_format)
{
	struct tnvme t;
	uint32_t nsid = 0;
	uint8_t *id;

	start(&t, POOL);
	cr_assert_eq(create(&t, 16, 1, &nsid), 0);
	cr_assert_eq(unvmcap(&t), POOL - 16 * 4096);
	id = identify(&t, NVME_ID_CNS_NS_ALLOC, nsid, 0);
	cr_assert_eq(id[26], 1);
	cr_assert_eq(le64(id), 16);
	tn_destroy(&t);
}

Test(nvme_nsmgmt, create_errors)
{
	struct tnvme t;
	struct nvme_sqe cmd;

	start(&t, POOL);
	cr_assert_eq(create(&t, POOL / 512 + 1, 0, NULL), NVME_SC_NS_INSUFFICIENT_CAP);
	cr_assert_eq(create(&t, UINT64_MAX, 1, NULL), NVME_SC_NS_INSUFFICIENT_CAP, "overflow");
	cr_assert_eq(create(&t, 8, 2, NULL), NVME_SC_INVALID_FORMAT, "no LBA format 2");
	cr_assert_eq(create(&t, 8, 0x20, NULL), NVME_SC_INVALID_FORMAT, "FLBAS 6:5 (2.0)");
	cr_assert_eq(create(&t, 0, 0, NULL), NVME_SC_INVALID_FIELD, "NSZE 0");
	cr_assert_eq(admin(&t, create_cmd(&t, 8, 16, 0), NULL), NVME_SC_INVALID_FIELD,
		     "NCAP > NSZE");
	cr_assert_eq(admin(&t, create_cmd(&t, 16, 8, 0), NULL), NVME_SC_THIN_PROV_NOT_SUPP);
	cmd = create_cmd(&t, 8, 8, 0);
	((uint8_t *)tn_ptr(&t, cmd.prp1))[29] = 1; /* DPS: Type 1 protection */
	cr_assert_eq(admin(&t, cmd, NULL), NVME_SC_INVALID_FIELD);
	cmd = create_cmd(&t, 8, 8, 0);
	((uint8_t *)tn_ptr(&t, cmd.prp1))[30] = 1; /* NMIC: shared */
	cr_assert_eq(admin(&t, cmd, NULL), NVME_SC_INVALID_FIELD);
	cmd = create_cmd(&t, 8, 8, 0);
	cmd.cdw10 = 2; /* SEL reserved */
	cr_assert_eq(admin(&t, cmd, NULL), NVME_SC_INVALID_FIELD);
	cr_assert_eq(unvmcap(&t), POOL, "nothing allocated by the failures");
	/* the whole pool in one namespace, then nothing left */
	cr_assert_eq(create(&t, POOL / 4096, 1, NULL), 0);
	cr_assert_eq(create(&t, 1, 0, NULL), NVME_SC_NS_INSUFFICIENT_CAP);
	tn_destroy(&t);
}

Test(nvme_nsmgmt, create_runs_out_of_nsids_at_nn)
{
	struct tnvme t;
	struct nvme_sqe cmd;
	uint32_t nsid = 0;

	start(&t, POOL);
	cmd = create_cmd(&t, 8, 8, 0); /* 4 KiB each: 255 fit in the pool, NSIDs 2..256 */
	for (unsigned i = 2; i <= 256; i++) {
		cr_assert_eq(admin(&t, cmd, &nsid), 0);
		cr_assert_eq(nsid, i);
	}
	cr_assert_eq(admin(&t, cmd, NULL), NVME_SC_NS_ID_UNAVAILABLE);
	cr_assert_eq(delete_ns(&t, 77), 0);
	cr_assert_eq(admin(&t, cmd, &nsid), 0);
	cr_assert_eq(nsid, 77, "a freed NSID is reused");
	tn_destroy(&t);
}

Test(nvme_nsmgmt, attachment_errors)
{
	struct tnvme t;
	uint16_t ids[2] = {CNTID, CNTID}, other = CNTID + 1;
	uint32_t nsid;

	start(&t, POOL);
	cr_assert_eq(create(&t, 8, 0, &nsid), 0);
	cr_assert_eq(attach(&t, 0, 1), NVME_SC_NS_ALREADY_ATTACHED, "configured: attached");
	cr_assert_eq(attach(&t, 1, nsid), NVME_SC_NS_NOT_ATTACHED);
	cr_assert_eq(admin(&t, attach_cmd(&t, 0, nsid, 0, ids), NULL), NVME_SC_CTRL_LIST_INVALID,
		     "empty list");
	cr_assert_eq(admin(&t, attach_cmd(&t, 0, nsid, 1, &other), NULL), NVME_SC_CTRL_LIST_INVALID,
		     "unknown controller");
	cr_assert_eq(admin(&t, attach_cmd(&t, 0, nsid, 2, ids), NULL), NVME_SC_CTRL_LIST_INVALID,
		     "listed twice");
	cr_assert_eq(admin(&t, attach_cmd(&t, 2, nsid, 1, ids), NULL), NVME_SC_INVALID_FIELD,
		     "SEL reserved");
	cr_assert_eq(attach(&t, 0, 3), NVME_SC_INVALID_FIELD, "unallocated NSID");
	cr_assert_eq(attach(&t, 0, 0), NVME_SC_INVALID_NS);
	cr_assert_eq(attach(&t, 0, NVME_NSID_ALL), NVME_SC_INVALID_NS);
	cr_assert_eq(attach(&t, 0, 257), NVME_SC_INVALID_NS);
	cr_assert_eq(attach(&t, 0, nsid), 0);
	cr_assert_eq(attach(&t, 0, nsid), NVME_SC_NS_ALREADY_ATTACHED);
	tn_destroy(&t);
}

Test(nvme_nsmgmt, detached_namespace_refuses_io_and_reattaches_with_its_data)
{
	struct tnvme t;
	uint64_t wb, rb, buf;

	start(&t, POOL);
	wb = tn_alloc(&t, 4096, 4096);
	rb = tn_alloc(&t, 4096, 4096);
	memset(tn_ptr(&t, wb), 0xa5, 4096);
	cr_assert_eq(tn_rw(&t, NVME_CMD_WRITE, 1, 0, 8, wb, 0), 0);
	cr_assert_eq(attach(&t, 1, 1), 0, "configured namespaces detach too");
	cr_assert_eq(tn_rw(&t, NVME_CMD_READ, 1, 0, 8, rb, 0), NVME_SC_INVALID_NS);
	cr_assert_eq(tn_rw(&t, NVME_CMD_WRITE, 1, 0, 8, wb, 0), NVME_SC_INVALID_NS);
	cr_assert_eq(tn_rw(&t, NVME_CMD_FLUSH, 1, 0, 1, 0, 0), NVME_SC_INVALID_NS);
	cr_assert_eq(tn_rw(&t, NVME_CMD_FLUSH, NVME_NSID_ALL, 0, 1, 0, 0), 0);
	cr_assert_eq(admin(&t,
			   (struct nvme_sqe){.opcode = NVME_ADM_FORMAT_NVM, .nsid = 1, .cdw10 = 0},
			   NULL),
		     NVME_SC_INVALID_NS);
	cr_assert_eq(tn_identify(&t, NVME_ID_CNS_NS_DESC_LIST, 1, &buf), NVME_SC_INVALID_NS);
	cr_assert_eq(attach(&t, 0, 1), 0);
	cr_assert_eq(tn_rw(&t, NVME_CMD_READ, 1, 0, 8, rb, 0), 0);
	cr_assert_eq(memcmp(tn_ptr(&t, wb), tn_ptr(&t, rb), 4096), 0);
	tn_destroy(&t);
}

Test(nvme_nsmgmt, delete_frees_capacity_and_a_new_namespace_gets_new_identifiers)
{
	struct tnvme t;
	uint32_t nsid, again;
	uint8_t nguid[16];

	start(&t, POOL);
	cr_assert_eq(create(&t, 64, 0, &nsid), 0);
	memcpy(nguid, identify(&t, NVME_ID_CNS_NS_ALLOC, nsid, 0) + 104, 16);
	cr_assert_eq(attach(&t, 0, nsid), 0);
	cr_assert_eq(delete_ns(&t, nsid), 0, "an attached namespace is detached, then deleted");
	cr_assert_eq(unvmcap(&t), POOL);
	cr_assert_eq(le32(identify(&t, NVME_ID_CNS_NS_ACTIVE_LIST, 0, 0) + 4), 0);
	cr_assert_eq(delete_ns(&t, nsid), NVME_SC_INVALID_FIELD, "no longer allocated");
	cr_assert_eq(delete_ns(&t, 0), NVME_SC_INVALID_NS);
	cr_assert_eq(delete_ns(&t, 300), NVME_SC_INVALID_NS);
	cr_assert_eq(create(&t, 64, 0, &again), 0);
	cr_assert_eq(again, nsid);
	cr_assert_neq(memcmp(nguid, identify(&t, NVME_ID_CNS_NS_ALLOC, nsid, 0) + 104, 16), 0,
		      "NGUID not reused");
	/* FFFFFFFFh deletes every namespace, the configured one included */
	cr_assert_eq(delete_ns(&t, NVME_NSID_ALL), 0);
	cr_assert_eq(le32(identify(&t, NVME_ID_CNS_NS_ALLOC_LIST, 0, 0)), 0);
	cr_assert_eq(le64(identify(&t, NVME_ID_CNS_CTRL, 0, 0) + 280), POOL, "TNVMCAP");
	cr_assert_eq(unvmcap(&t), POOL);
	tn_destroy(&t);
}

Test(nvme_nsmgmt, controller_list_cns_13h)
{
	struct tnvme t;
	uint8_t *id;

	start(&t, POOL);
	id = identify(&t, NVME_ID_CNS_CTRL_LIST, 0, 0);
	cr_assert_eq(id[0] | id[1] << 8, 1);
	cr_assert_eq(id[2] | id[3] << 8, CNTID);
	id = identify(&t, NVME_ID_CNS_CTRL_LIST, 0, CNTID);
	cr_assert_eq(id[0] | id[1] << 8, 1, "CNTID is inclusive");
	id = identify(&t, NVME_ID_CNS_CTRL_LIST, 0, CNTID + 1);
	cr_assert_eq(id[0] | id[1] << 8, 0);
	tn_destroy(&t);
}

static void enable_ns_notices(struct tnvme *t)
{
	cr_assert_eq(admin(t,
			   (struct nvme_sqe){.opcode = NVME_ADM_SET_FEATURES,
					     .cdw10 = NVME_FEAT_ASYNC_EVENT,
					     .cdw11 = 1u << 8},
			   NULL),
		     0);
}

/* Submit cmd with an AER outstanding: the notice completes first, then cmd. */
static void expect_notice_then(struct tnvme *t, struct nvme_sqe cmd)
{
	struct nvme_cqe e;
	uint16_t aer = tn_put(t, 0, &(struct nvme_sqe){.opcode = NVME_ADM_ASYNC_EVENT});
	uint16_t cid;

	tn_ring_sq(t, 0);
	cr_assert_not(tn_poll(t, 0, NULL), "no event yet");
	cid = tn_put(t, 0, &cmd);
	tn_ring_sq(t, 0);
	cr_assert(tn_poll(t, 0, &e));
	cr_assert_eq(e.cid, aer);
	cr_assert_eq(tn_status(&e), 0);
	cr_assert_eq(e.dw0 & 7, NVME_AER_TYPE_NOTICE);
	cr_assert_eq((e.dw0 >> 8) & 0xff, NVME_AER_NOTICE_NS_CHANGED);
	cr_assert_eq((e.dw0 >> 16) & 0xff, NVME_LOG_CHANGED_NS);
	cr_assert(tn_poll(t, 0, &e));
	cr_assert_eq(e.cid, cid);
	cr_assert_eq(tn_status(&e), 0);
}

static const uint8_t *changed_log(struct tnvme *t)
{
	uint64_t buf;

	cr_assert_eq(tn_get_log(t, NVME_LOG_CHANGED_NS, 0, 4096, &buf), 0);
	return tn_ptr(t, buf);
}

Test(nvme_nsmgmt, attach_detach_delete_raise_namespace_attribute_notices)
{
	struct tnvme t;
	uint16_t id = CNTID;
	uint32_t nsid;
	const uint8_t *log;

	start(&t, POOL);
	enable_ns_notices(&t);
	cr_assert_eq(create(&t, 8, 0, &nsid), 0);
	/* creating alone changes nothing this controller can see: no event, empty log */
	log = changed_log(&t);
	cr_assert_eq(le32(log), 0);

	expect_notice_then(&t, attach_cmd(&t, 0, nsid, 1, &id));
	log = changed_log(&t);
	cr_assert_eq(le32(log), nsid);
	cr_assert_eq(le32(log + 4), 0);
	cr_assert_eq(le32(changed_log(&t)), 0, "reading the log cleared it");

	expect_notice_then(&t, attach_cmd(&t, 1, 1, 1, &id));
	cr_assert_eq(le32(changed_log(&t)), 1);

	expect_notice_then(&t,
			   (struct nvme_sqe){.opcode = NVME_ADM_NS_MGMT, .nsid = nsid, .cdw10 = 1});
	log = changed_log(&t);
	cr_assert_eq(le32(log), nsid);
	/* deleting a detached namespace: no event */
	cr_assert_eq(delete_ns(&t, 1), 0);
	cr_assert_eq(le32(changed_log(&t)), 0);
	tn_destroy(&t);
}

Test(nvme_nsmgmt, notices_are_one_event_until_the_log_is_read)
{
	struct tnvme t;
	uint16_t id = CNTID;
	uint32_t a, b;
	const uint8_t *log;

	start(&t, POOL);
	enable_ns_notices(&t);
	cr_assert_eq(create(&t, 8, 0, &a), 0);
	cr_assert_eq(create(&t, 8, 0, &b), 0);
	expect_notice_then(&t, attach_cmd(&t, 0, a, 1, &id));
	/* masked until the log is read: the second attach is logged without another event */
	tn_put(&t, 0, &(struct nvme_sqe){.opcode = NVME_ADM_ASYNC_EVENT});
	tn_ring_sq(&t, 0);
	cr_assert_eq(attach(&t, 0, b), 0);
	/* The log holds both; the queued second notice goes with it (no AER completes). */
	log = changed_log(&t);
	cr_assert_eq(le32(log), a);
	cr_assert_eq(le32(log + 4), b);
	tn_destroy(&t);
}

Test(nvme_nsmgmt, effects_log_marks_namespace_inventory_changes)
{
	struct tnvme t;
	uint64_t buf;
	const uint8_t *log;

	start(&t, POOL);
	cr_assert_eq(tn_get_log(&t, NVME_LOG_CMD_EFFECTS, 0, 4096, &buf), 0);
	log = tn_ptr(&t, buf);
	cr_assert_eq(le32(log + 4 * NVME_ADM_NS_MGMT) & 0xd, 0xd, "CSUPP, NCC, NIC");
	cr_assert_eq(le32(log + 4 * NVME_ADM_NS_ATTACH) & 0xd, 0xd);
	tn_destroy(&t);
}
