/* SPDX-License-Identifier: MIT */
/* NVM subsystems with shared namespaces and ANA (devices/nvme/subsys.h), as two hosts' paths
 * (two controllers) see them. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "devices/nvme/subsys.h"
#include "tests/unit/test_nvme.h"
#include "vmm/ctl.h"

#define NNS 3

/* Two controllers A and B of one subsystem: ns 1 (group 1), ns 2 (group 2), ns 3 (group 1,
 * not attached to B). */
struct pair {
	struct nvme_subsys *s;
	struct tnvme a, b;
};

static void pair_start(struct pair *p)
{
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[NNS];
	char err[256] = "";

	p->s = nvme_subsys_create("s0", "nqn.2026-01.test:s0", "SUBSER1", err, sizeof(err));
	cr_assert(p->s, "%s", err);
	tn_config(&cfg, ns, NNS);
	cfg.subsys = p->s;
	ns[0].ana_group = 1;
	ns[1].ana_group = 2;
	ns[2].ana_group = 1;
	/* different names and serials: what the subsystem shares must not come from them */
	cfg.name = "nvme0";
	cfg.serial = "CTRLA";
	tn_start_cfg(&p->a, &cfg);
	ns[2].detached = true;
	cfg.name = "nvme1";
	cfg.serial = "CTRLB";
	tn_start_cfg(&p->b, &cfg);
}

static void pair_destroy(struct pair *p)
{
	tn_destroy(&p->a);
	tn_destroy(&p->b);
	nvme_subsys_destroy(p->s);
}

static uint8_t *identify(struct tnvme *t, uint8_t cns, uint32_t nsid)
{
	uint64_t buf;

	cr_assert_eq(tn_identify(t, cns, nsid, &buf), 0);
	return tn_ptr(t, buf);
}

static uint32_t get32(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

static uint16_t admin(struct tnvme *t, struct nvme_sqe cmd, struct nvme_cqe *e)
{
	return tn_cmd(t, 0, &cmd, e);
}

static void enable_ana_notices(struct tnvme *t)
{
	cr_assert_eq(admin(t,
			   (struct nvme_sqe){.opcode = NVME_ADM_SET_FEATURES,
					     .cdw10 = NVME_FEAT_ASYNC_EVENT,
					     .cdw11 = 1u << 11},
			   NULL),
		     0);
}

static uint8_t *ana_log(struct tnvme *t, bool rgo)
{
	uint64_t buf = tn_alloc(t, 4096, 4096);
	struct nvme_sqe cmd = {.opcode = NVME_ADM_GET_LOG_PAGE,
			       .prp1 = buf,
			       .cdw10 = NVME_LOG_ANA | (rgo ? 1u << 8 : 0) | 1023u << 16};

	cr_assert_eq(tn_cmd(t, 0, &cmd, NULL), 0);
	return tn_ptr(t, buf);
}

Test(nvme_subsys, identify_controller_names_one_subsystem_with_distinct_cntlids)
{
	struct pair p;
	uint8_t *ia, *ib;

	pair_start(&p);
	ia = identify(&p.a, NVME_ID_CNS_CTRL, 0);
	ib = identify(&p.b, NVME_ID_CNS_CTRL, 0);
	/* CMIC: multi-port, multi-controller, ANA (Linux nvme_mpath_alloc_disk) */
	cr_assert_eq(ia[76], 0x0b);
	cr_assert_eq(ib[76], 0x0b);
	cr_assert_neq(ia[78] | ia[79] << 8, ib[78] | ib[79] << 8, "CNTLID must differ");
	cr_assert_str_eq((char *)ia + 768, "nqn.2026-01.test:s0");
	cr_assert_str_eq((char *)ib + 768, "nqn.2026-01.test:s0");
	cr_assert_eq(memcmp(ia + 4, "SUBSER1             ", 20), 0, "SN is the subsystem's");
	cr_assert_eq(memcmp(ib + 4, ia + 4, 20), 0);
	cr_assert(get32(ia + 92) & (1u << 11), "OAES: ANA Change Notices");
	cr_assert_eq(ia[343] & 0x1f, 0x1f, "ANACAP: every state reported");
	cr_assert_eq(get32(ia + 344), NVME_ANA_MAX_GROUPS); /* ANAGRPMAX */
	cr_assert_eq(get32(ia + 348), NVME_ANA_MAX_GROUPS); /* NANAGRPID */
	cr_assert_neq(ia[342], 0, "ANATT");
	/* MNAN: Linux nvme_mpath_init_identify refuses 0 or more than NN */
	cr_assert_eq(get32(ia + 540), NNS);
	cr_assert_eq(get32(ia + 516), NNS);
	pair_destroy(&p);
}

Test(nvme_subsys, shared_namespace_has_nmic_anagrpid_and_the_same_ids_on_both_paths)
{
	struct pair p;
	uint8_t na[4096], nb[4096], *d;

	pair_start(&p);
	for (uint32_t nsid = 1; nsid <= 2; nsid++) {
		memcpy(na, identify(&p.a, NVME_ID_CNS_NS, nsid), 4096);
		memcpy(nb, identify(&p.b, NVME_ID_CNS_NS, nsid), 4096);
		cr_assert_eq(na[30], 1, "NMIC shared");
		cr_assert_eq(get32(na + 92), nsid, "ANAGRPID");
		cr_assert_eq(get32(nb + 92), nsid);
		cr_assert_eq(memcmp(na + 104, nb + 104, 24), 0, "NGUID and EUI64 differ by path");
		memcpy(na, identify(&p.a, NVME_ID_CNS_NS_DESC_LIST, nsid), 4096);
		d = identify(&p.b, NVME_ID_CNS_NS_DESC_LIST, nsid);
		cr_assert_eq(memcmp(na, d, 4 + 8 + 4 + 16 + 4 + 16), 0, "descriptors differ");
	}
	/* NSIDs 1 and 2 are different namespaces */
	memcpy(na, identify(&p.a, NVME_ID_CNS_NS, 1), 4096);
	cr_assert_neq(memcmp(na + 104, identify(&p.a, NVME_ID_CNS_NS, 2) + 104, 16), 0);
	/* ns 3 is not attached to B: not active there, active on A */
	cr_assert_eq(get64(identify(&p.b, NVME_ID_CNS_NS, 3)), 0, "inactive NSZE is 0");
	cr_assert_neq(get64(identify(&p.a, NVME_ID_CNS_NS, 3)), 0);
	pair_destroy(&p);
}

Test(nvme_subsys, data_written_through_one_path_reads_back_through_the_other)
{
	struct pair p;
	uint64_t wa, rb;

	pair_start(&p);
	wa = tn_alloc(&p.a, 4096, 4096);
	rb = tn_alloc(&p.b, 4096, 4096);
	memset(tn_ptr(&p.a, wa), 0x5c, 4096);
	cr_assert_eq(tn_rw(&p.a, NVME_CMD_WRITE, 1, 16, 8, wa, 0), 0);
	cr_assert_eq(tn_rw(&p.b, NVME_CMD_READ, 1, 16, 8, rb, 0), 0);
	cr_assert_eq(memcmp(tn_ptr(&p.a, wa), tn_ptr(&p.b, rb), 4096), 0);
	/* Write Zeroes through B is seen by A */
	cr_assert_eq(tn_rw(&p.b, NVME_CMD_WRITE_ZEROES, 1, 16, 1, 0, 0), 0);
	cr_assert_eq(tn_rw(&p.a, NVME_CMD_READ, 1, 16, 8, wa, 0), 0);
	cr_assert_eq(((uint8_t *)tn_ptr(&p.a, wa))[0], 0);
	cr_assert_eq(((uint8_t *)tn_ptr(&p.a, wa))[511], 0);
	cr_assert_eq(((uint8_t *)tn_ptr(&p.a, wa))[512], 0x5c);
	/* a namespace not attached to B takes no I/O there */
	cr_assert_eq(tn_rw(&p.b, NVME_CMD_READ, 3, 0, 1, rb, 0), NVME_SC_INVALID_NS);
	pair_destroy(&p);
}

Test(nvme_subsys, ana_log_lists_each_group_with_its_attached_nsids)
{
	struct pair p;
	uint8_t *l;

	pair_start(&p);
	l = ana_log(&p.a, false);
	cr_assert_eq(get64(l), 0, "change count");
	cr_assert_eq(l[8] | l[9] << 8, 2, "two groups");
	/* group 1: nsids 1 and 3, optimized */
	cr_assert_eq(get32(l + 16), 1);
	cr_assert_eq(get32(l + 20), 2);
	cr_assert_eq(l[32], NVME_ANA_OPTIMIZED);
	cr_assert_eq(get32(l + 48), 1);
	cr_assert_eq(get32(l + 52), 3);
	/* group 2: nsid 2 */
	cr_assert_eq(get32(l + 56), 2);
	cr_assert_eq(get32(l + 60), 1);
	cr_assert_eq(get32(l + 88), 2);
	/* B has no ns 3 */
	l = ana_log(&p.b, false);
	cr_assert_eq(get32(l + 20), 1);
	cr_assert_eq(get32(l + 48), 1);
	cr_assert_eq(get32(l + 52), 2, "next descriptor follows one NSID");
	/* Return Groups Only: no NSIDs */
	l = ana_log(&p.a, true);
	cr_assert_eq(l[8], 2);
	cr_assert_eq(get32(l + 20), 0);
	cr_assert_eq(get32(l + 48), 2, "second descriptor right after the first");
	pair_destroy(&p);
}

Test(nvme_subsys, ana_change_posts_the_notice_and_counts_on_that_path_only)
{
	struct pair p;
	struct nvme_cqe e;
	uint8_t *l;

	pair_start(&p);
	enable_ana_notices(&p.a);
	tn_put(&p.a, 0, &(struct nvme_sqe){.opcode = NVME_ADM_ASYNC_EVENT});
	tn_ring_sq(&p.a, 0);
	cr_assert_not(tn_poll(&p.a, 0, NULL));
	cr_assert_eq(nvme_ana_set(p.a.c, 2, NVME_ANA_INACCESSIBLE), 0);
	cr_assert(tn_poll(&p.a, 0, &e), "no AEN");
	cr_assert_eq(tn_status(&e), 0);
	cr_assert_eq(e.dw0 & 7, NVME_AER_TYPE_NOTICE);
	cr_assert_eq((e.dw0 >> 8) & 0xff, NVME_AER_NOTICE_ANA);
	cr_assert_eq((e.dw0 >> 16) & 0xff, NVME_LOG_ANA);
	l = ana_log(&p.a, false);
	cr_assert_eq(get64(l), 1);
	cr_assert_eq(get64(l + 24), 0, "group 1 did not change");
	cr_assert_eq(l[32], NVME_ANA_OPTIMIZED);
	cr_assert_eq(get64(l + 64), 1, "group 2 change count");
	cr_assert_eq(l[72], NVME_ANA_INACCESSIBLE);
	/* the same state again is no change */
	cr_assert_eq(nvme_ana_set(p.a.c, 2, NVME_ANA_INACCESSIBLE), 0);
	cr_assert_eq(get64(ana_log(&p.a, false)), 1);
	/* B's view is its own */
	l = ana_log(&p.b, false);
	cr_assert_eq(get64(l), 0);
	cr_assert_eq(l[72 - 4], NVME_ANA_OPTIMIZED, "B group 2 (after one NSID less)");
	cr_assert_eq(nvme_ana_get(p.b.c, 2), NVME_ANA_OPTIMIZED);
	cr_assert_eq(nvme_ana_get(p.a.c, 2), NVME_ANA_INACCESSIBLE);
	pair_destroy(&p);
}

Test(nvme_subsys, no_ana_notice_unless_enabled)
{
	struct pair p;

	pair_start(&p);
	tn_put(&p.a, 0, &(struct nvme_sqe){.opcode = NVME_ADM_ASYNC_EVENT});
	tn_ring_sq(&p.a, 0);
	cr_assert_eq(nvme_ana_set(p.a.c, 1, NVME_ANA_NONOPTIMIZED), 0);
	cr_assert_not(tn_poll(&p.a, 0, NULL), "AEC bit 11 is clear");
	cr_assert_eq(ana_log(&p.a, false)[32], NVME_ANA_NONOPTIMIZED);
	pair_destroy(&p);
}

Test(nvme_subsys, io_through_an_inaccessible_path_fails_with_path_status)
{
	struct pair p;
	uint64_t ba, bb;
	struct nvme_cqe e;
	struct nvme_sqe rd = {.opcode = NVME_CMD_READ, .nsid = 1};

	pair_start(&p);
	ba = tn_alloc(&p.a, 4096, 4096);
	bb = tn_alloc(&p.b, 4096, 4096);
	cr_assert_eq(nvme_ana_set(p.a.c, 1, NVME_ANA_INACCESSIBLE), 0);
	cr_assert_eq(tn_rw(&p.a, NVME_CMD_WRITE, 1, 0, 8, ba, 0), NVME_SC_ANA_INACCESSIBLE);
	cr_assert_eq(tn_rw(&p.a, NVME_CMD_READ, 3, 0, 8, ba, 0), NVME_SC_ANA_INACCESSIBLE,
		     "ns 3 is in group 1 too");
	rd.prp1 = ba;
	cr_assert_eq(tn_cmd(&p.a, 1, &rd, &e), NVME_SC_ANA_INACCESSIBLE);
	cr_assert_not(e.status & (1u << 15), "DNR set: Linux would not fail over");
	/* group 2 and the other path are fine */
	cr_assert_eq(tn_rw(&p.a, NVME_CMD_READ, 2, 0, 8, ba, 0), 0);
	cr_assert_eq(tn_rw(&p.b, NVME_CMD_WRITE, 1, 0, 8, bb, 0), 0);
	cr_assert_eq(nvme_ana_set(p.a.c, 1, NVME_ANA_PERSISTENT_LOSS), 0);
	cr_assert_eq(tn_rw(&p.a, NVME_CMD_READ, 1, 0, 8, ba, 0), NVME_SC_ANA_PERSISTENT_LOSS);
	cr_assert_eq(nvme_ana_set(p.a.c, 1, NVME_ANA_CHANGE), 0);
	cr_assert_eq(tn_rw(&p.a, NVME_CMD_READ, 1, 0, 8, ba, 0), NVME_SC_ANA_TRANSITION);
	cr_assert_eq(nvme_ana_set(p.a.c, 1, NVME_ANA_NONOPTIMIZED), 0);
	cr_assert_eq(tn_rw(&p.a, NVME_CMD_READ, 1, 0, 8, ba, 0), 0);
	/* admin commands to the namespace still work while inaccessible (8.1.1.4) */
	cr_assert_eq(nvme_ana_set(p.a.c, 1, NVME_ANA_INACCESSIBLE), 0);
	cr_assert_eq(identify(&p.a, NVME_ID_CNS_NS, 1)[30], 1);
	pair_destroy(&p);
}

Test(nvme_subsys, ana_set_refuses_bad_groups_states_and_lone_controllers)
{
	struct pair p;
	struct tnvme t;
	uint64_t buf;

	pair_start(&p);
	cr_assert_eq(nvme_ana_set(p.a.c, 0, NVME_ANA_INACCESSIBLE), -EINVAL);
	cr_assert_eq(nvme_ana_set(p.a.c, 3, NVME_ANA_INACCESSIBLE), -EINVAL, "no ns in group 3");
	cr_assert_eq(nvme_ana_set(p.a.c, NVME_ANA_MAX_GROUPS + 1, NVME_ANA_OPTIMIZED), -EINVAL);
	cr_assert_eq(nvme_ana_set(p.a.c, 0xffffffffu, NVME_ANA_OPTIMIZED), -EINVAL);
	cr_assert_eq(nvme_ana_set(p.a.c, 1, 0), -EINVAL);
	cr_assert_eq(nvme_ana_set(p.a.c, 1, 5), -EINVAL);
	cr_assert_eq(get64(ana_log(&p.a, false)), 0, "nothing changed");
	pair_destroy(&p);
	tn_start(&t);
	cr_assert_eq(nvme_ana_set(t.c, 1, NVME_ANA_INACCESSIBLE), -ENODEV);
	cr_assert_eq(identify(&t, NVME_ID_CNS_CTRL, 0)[76], 0, "CMIC of a lone controller");
	cr_assert_eq(identify(&t, NVME_ID_CNS_NS, 1)[30], 0, "NMIC private");
	cr_assert_eq(tn_get_log(&t, NVME_LOG_ANA, 0, 4096, &buf), NVME_SC_INVALID_LOG_PAGE);
	tn_destroy(&t);
}

Test(nvme_subsys, state_names_round_trip)
{
	cr_assert_eq(nvme_ana_state_parse("inaccessible"), NVME_ANA_INACCESSIBLE);
	cr_assert_eq(nvme_ana_state_parse("non-optimized"), NVME_ANA_NONOPTIMIZED);
	cr_assert_eq(nvme_ana_state_parse("bogus"), 0);
	cr_assert_str_eq(nvme_ana_state_name(NVME_ANA_CHANGE), "change");
}

Test(nvme_subsys, format_of_a_shared_namespace_is_refused)
{
	struct pair p;

	pair_start(&p);
	cr_assert_eq(admin(&p.a,
			   (struct nvme_sqe){.opcode = NVME_ADM_FORMAT_NVM, .nsid = 1, .cdw10 = 1},
			   NULL),
		     NVME_SC_INVALID_FORMAT);
	pair_destroy(&p);
}

Test(nvme_subsys, shared_ram_namespace_sizes_must_agree)
{
	struct nvme_subsys *s;
	struct nvme_ctrl_config cfg;
	struct nvme_ns_config ns[1];
	struct nvme_host host = {0};
	struct nvme_ctrl *a, *b;
	char err[256] = "";

	s = nvme_subsys_create("s1", NULL, NULL, err, sizeof(err));
	cr_assert(s);
	tn_config(&cfg, ns, 1);
	cfg.subsys = s;
	cfg.no_iothread = true;
	a = nvme_ctrl_create(&cfg, &host, err, sizeof(err));
	cr_assert(a, "%s", err);
	ns[0].size = 2 << 20;
	b = nvme_ctrl_create(&cfg, &host, err, sizeof(err));
	cr_assert_null(b);
	cr_assert(strstr(err, "size differs"), "%s", err);
	nvme_ctrl_destroy(a);
	nvme_subsys_destroy(s);
	cr_assert_null(nvme_subsys_create("", NULL, NULL, err, sizeof(err)));
	cr_assert_null(nvme_subsys_create("x", NULL, "123456789012345678901", err, sizeof(err)));
}

/* Both paths' threads at once: every 512-byte block read back is one writer's pattern,
 * never a torn mix (the shared namespace's lock). */
struct writer {
	struct tnvme *t;
	uint64_t buf;
	volatile bool stop;
	unsigned n;
};

/* 8 blocks of 512 bytes: one page, PRP1 alone (tn_rw would allocate a PRP list each time). */
static uint16_t rw_page(struct tnvme *t, uint8_t opc, uint64_t buf)
{
	struct nvme_sqe cmd = {.opcode = opc, .nsid = 1, .cdw10 = 64, .cdw12 = 7, .prp1 = buf};

	return tn_cmd(t, 1, &cmd, NULL);
}

static void *write_loop(void *arg)
{
	struct writer *w = arg;

	while (!w->stop) {
		memset(tn_ptr(w->t, w->buf), 0x11 + (w->n & 0x3f), 8 * 512);
		if (rw_page(w->t, NVME_CMD_WRITE, w->buf))
			break;
		w->n++;
	}
	return NULL;
}

Test(nvme_subsys, concurrent_paths_never_tear_a_block)
{
	struct pair p;
	struct writer w;
	pthread_t th;
	uint64_t rb;

	pair_start(&p);
	w = (struct writer){.t = &p.a, .buf = tn_alloc(&p.a, 4096, 4096)};
	rb = tn_alloc(&p.b, 4096, 4096);
	cr_assert_eq(pthread_create(&th, NULL, write_loop, &w), 0);
	for (int i = 0; i < 2000; i++) {
		const uint8_t *d = tn_ptr(&p.b, rb);

		cr_assert_eq(rw_page(&p.b, NVME_CMD_READ, rb), 0);
		for (int blk = 0; blk < 8; blk++)
			for (int k = 1; k < 512; k++)
				cr_assert_eq(d[blk * 512 + k], d[blk * 512], "torn block %d", blk);
	}
	w.stop = true;
	pthread_join(th, NULL);
	cr_assert_gt(w.n, 0);
	pair_destroy(&p);
}

/* ---- the control socket's nvme_ana (vmm/ctl.c, docs/control.md) ---- */

static bool ctl(struct pair *p, const char *req, char *reply, size_t cap)
{
	struct ctl_dev devs[2] = {{"nvme0", "nvme", NULL, p->a.c}, {"nvme1", "nvme", NULL, p->b.c}};
	struct ctl_target tg = {devs, 2};

	return ctl_handle(&tg, req, strlen(req), reply, cap);
}

Test(ctl_nvme_ana, request_changes_one_controllers_group_and_raises_the_aen)
{
	struct pair p;
	struct nvme_cqe e;
	char reply[512];
	uint64_t buf;

	pair_start(&p);
	enable_ana_notices(&p.b);
	tn_put(&p.b, 0, &(struct nvme_sqe){.opcode = NVME_ADM_ASYNC_EVENT});
	tn_ring_sq(&p.b, 0);
	cr_assert(ctl(&p, "{\"cmd\":\"nvme_ana\",\"ctrl\":\"nvme1\",\"state\":\"inaccessible\"}",
		      reply, sizeof(reply)),
		  "%s", reply);
	cr_assert_str_eq(reply, "{\"ok\":true}");
	cr_assert(tn_poll(&p.b, 0, &e), "no AEN on nvme1");
	cr_assert_eq((e.dw0 >> 8) & 0xff, NVME_AER_NOTICE_ANA);
	buf = tn_alloc(&p.b, 4096, 4096);
	cr_assert_eq(tn_rw(&p.b, NVME_CMD_READ, 1, 0, 8, buf, 0), NVME_SC_ANA_INACCESSIBLE);
	cr_assert_eq(tn_rw(&p.b, NVME_CMD_READ, 2, 0, 8, buf, 0), 0, "group 2 untouched");
	buf = tn_alloc(&p.a, 4096, 4096);
	cr_assert_eq(tn_rw(&p.a, NVME_CMD_READ, 1, 0, 8, buf, 0), 0, "nvme0 untouched");
	cr_assert(
		ctl(&p,
		    "{\"cmd\":\"nvme_ana\",\"ctrl\":\"nvme1\",\"group\":1,\"state\":\"optimized\"}",
		    reply, sizeof(reply)),
		"%s", reply);
	buf = tn_alloc(&p.b, 4096, 4096);
	cr_assert_eq(tn_rw(&p.b, NVME_CMD_READ, 1, 0, 8, buf, 0), 0, "optimized again");
	pair_destroy(&p);
}

Test(ctl_nvme_ana, bad_requests_change_nothing)
{
	static const char *const bad[] = {
		"{\"cmd\":\"nvme_ana\",\"ctrl\":\"nvme0\",\"state\":\"inaccessible\",\"group\":3}",
		"{\"cmd\":\"nvme_ana\",\"ctrl\":\"nvme0\",\"state\":\"sideways\"}",
		"{\"cmd\":\"nvme_ana\",\"ctrl\":\"nvme7\",\"state\":\"inaccessible\"}",
		"{\"cmd\":\"nvme_ana\",\"ctrl\":\"nvme0\",\"state\":\"inaccessible\",\"x\":1}",
		"{\"cmd\":\"nvme_ana\",\"ctrl\":\"nvme0\",\"state\":\"inaccessible\",\"group\":-1}",
	};
	struct pair p;
	char reply[512];

	pair_start(&p);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_not(ctl(&p, bad[i], reply, sizeof(reply)), "accepted %s", bad[i]);
		cr_assert(!strncmp(reply, "{\"ok\":false,\"error\":\"", 21), "%s", reply);
	}
	for (uint32_t g = 1; g <= 2; g++) {
		cr_assert_eq(nvme_ana_get(p.a.c, g), NVME_ANA_OPTIMIZED);
		cr_assert_eq(nvme_ana_get(p.b.c, g), NVME_ANA_OPTIMIZED);
	}
	cr_assert_eq(get64(ana_log(&p.a, false)), 0);
	ctl(&p, bad[0], reply, sizeof(reply));
	cr_assert(strstr(reply, "ANA group 3"), "%s", reply);
	pair_destroy(&p);
}

/* ---- reservations (devices/nvme/resv.c) ---- */

#define RESV_CONFLICT 0x83

/* A reservation command on nsid 1 with CRKEY k1 and NRKEY/PRKEY k2 in its data. */
static uint16_t resv(struct tnvme *t, uint8_t opc, uint32_t cdw10, uint64_t k1, uint64_t k2)
{
	uint64_t buf = tn_alloc(t, 4096, 4096);
	struct nvme_sqe cmd = {.opcode = opc, .nsid = 1, .cdw10 = cdw10, .prp1 = buf};

	memcpy(tn_ptr(t, buf), &k1, 8);
	memcpy((uint8_t *)tn_ptr(t, buf) + 8, &k2, 8);
	return tn_cmd(t, 1, &cmd, NULL);
}

#define REGISTER(t, rrega, crkey, nrkey)       resv(t, 0x0d, (rrega) | 3u << 30, crkey, nrkey)
#define ACQUIRE(t, racqa, rtype, crkey, prkey) resv(t, 0x11, (racqa) | (rtype) << 8, crkey, prkey)
#define RELEASE(t, rrela, rtype, crkey)	       resv(t, 0x15, (rrela) | (rtype) << 8, crkey, 0)

static uint8_t *report(struct tnvme *t, bool eds)
{
	uint64_t buf = tn_alloc(t, 4096, 4096);
	struct nvme_sqe cmd = {
		.opcode = 0x0e, .nsid = 1, .cdw10 = 4096 / 4 - 1, .cdw11 = eds, .prp1 = buf};

	cr_assert_eq(tn_cmd(t, 1, &cmd, NULL), 0);
	return tn_ptr(t, buf);
}

static uint16_t rw1(struct tnvme *t, uint8_t opc)
{
	return tn_rw(t, opc, 1, 0, 1, tn_alloc(t, 4096, 4096), 0);
}

Test(nvme_resv, identify_reports_reservations)
{
	struct pair p;

	pair_start(&p);
	cr_assert(identify(&p.a, NVME_ID_CNS_CTRL, 0)[520] & (1u << 5), "ONCS reservations");
	cr_assert_eq(identify(&p.a, NVME_ID_CNS_NS, 1)[31], 0xfe, "RESCAP");
	pair_destroy(&p);
}

Test(nvme_resv, write_exclusive_holder_writes_others_only_read)
{
	struct pair p;
	uint8_t *rep;

	pair_start(&p);
	cr_assert_eq(REGISTER(&p.a, 0, 0, 0xaaaa), 0);
	cr_assert_eq(REGISTER(&p.a, 0, 0, 0xaaaa), 0, "the same key again is no change");
	cr_assert_eq(REGISTER(&p.a, 0, 0, 0xbbbb), RESV_CONFLICT, "another key while registered");
	cr_assert_eq(ACQUIRE(&p.a, 0, 1, 0x1234, 0), RESV_CONFLICT, "wrong CRKEY");
	cr_assert_eq(ACQUIRE(&p.b, 0, 1, 0, 0), RESV_CONFLICT, "B is no registrant");
	cr_assert_eq(ACQUIRE(&p.a, 0, 1, 0xaaaa, 0), 0);
	cr_assert_eq(rw1(&p.a, NVME_CMD_WRITE), 0, "the holder writes");
	cr_assert_eq(rw1(&p.b, NVME_CMD_WRITE), RESV_CONFLICT, "B may not write");
	cr_assert_eq(rw1(&p.b, NVME_CMD_WRITE_ZEROES), RESV_CONFLICT);
	cr_assert_eq(rw1(&p.b, NVME_CMD_READ), 0, "B may read");
	cr_assert_eq(rw1(&p.b, NVME_CMD_FLUSH), RESV_CONFLICT, "Flush is in the write group");
	rep = report(&p.b, false);
	cr_assert_eq(get32(rep), 1, "GEN: one registration");
	cr_assert_eq(rep[4], 1, "RTYPE");
	cr_assert_eq(rep[5] | rep[6] << 8, 1, "REGCTL");
	cr_assert_eq(rep[24] | rep[25] << 8, identify(&p.a, NVME_ID_CNS_CTRL, 0)[78], "CNTLID");
	cr_assert_eq(rep[26], 1, "RCSTS: holds");
	cr_assert_eq(get64(rep + 40), 0xaaaa, "RKEY");
	rep = report(&p.b, true);
	cr_assert_eq(get64(rep + 64 + 8), 0xaaaa, "RKEY of the extended structure");
	/* release with the wrong type: Invalid Field; with the right one: B writes again */
	cr_assert_eq(RELEASE(&p.a, 0, 2, 0xaaaa), NVME_SC_INVALID_FIELD);
	cr_assert_eq(RELEASE(&p.a, 0, 1, 0xaaaa), 0);
	cr_assert_eq(rw1(&p.b, NVME_CMD_WRITE), 0);
	pair_destroy(&p);
}

Test(nvme_resv, exclusive_access_registrants_only_admits_registrants)
{
	struct pair p;

	pair_start(&p);
	cr_assert_eq(REGISTER(&p.a, 0, 0, 1), 0);
	cr_assert_eq(ACQUIRE(&p.a, 0, 4, 1, 0), 0);
	cr_assert_eq(rw1(&p.b, NVME_CMD_READ), RESV_CONFLICT, "B is no registrant");
	cr_assert_eq(REGISTER(&p.b, 0, 0, 2), 0);
	cr_assert_eq(rw1(&p.b, NVME_CMD_READ), 0);
	cr_assert_eq(rw1(&p.b, NVME_CMD_WRITE), 0);
	cr_assert_eq(ACQUIRE(&p.b, 0, 4, 2, 0), RESV_CONFLICT, "A holds it");
	/* the holder unregisters: the reservation goes with it */
	cr_assert_eq(REGISTER(&p.a, 1, 1, 0), 0);
	cr_assert_eq(report(&p.a, false)[4], 0, "no reservation");
	cr_assert_eq(ACQUIRE(&p.b, 0, 2, 2, 0), 0);
	cr_assert_eq(rw1(&p.a, NVME_CMD_READ), RESV_CONFLICT, "Exclusive Access");
	pair_destroy(&p);
}

Test(nvme_resv, preempt_takes_the_reservation_and_removes_the_holder)
{
	struct pair p;
	uint8_t *rep;

	pair_start(&p);
	cr_assert_eq(REGISTER(&p.a, 0, 0, 0xa), 0);
	cr_assert_eq(REGISTER(&p.b, 0, 0, 0xb), 0);
	cr_assert_eq(ACQUIRE(&p.a, 0, 1, 0xa, 0), 0);
	cr_assert_eq(ACQUIRE(&p.b, 1, 1, 0xb, 0x99), RESV_CONFLICT, "no registrant has key 99");
	cr_assert_eq(ACQUIRE(&p.b, 1, 2, 0xb, 0xa), 0);
	rep = report(&p.a, false);
	cr_assert_eq(rep[4], 2, "B's type");
	cr_assert_eq(rep[5], 1, "A was unregistered");
	cr_assert_eq(get64(rep + 40), 0xb);
	cr_assert_eq(rw1(&p.a, NVME_CMD_READ), RESV_CONFLICT);
	cr_assert_eq(REGISTER(&p.a, 2, 0xa, 0xc), RESV_CONFLICT, "A is no registrant any more");
	/* Clear: no reservation, no registrants */
	cr_assert_eq(RELEASE(&p.b, 1, 0, 0xb), 0);
	rep = report(&p.a, false);
	cr_assert_eq(rep[4], 0);
	cr_assert_eq(rep[5], 0);
	cr_assert_eq(rw1(&p.a, NVME_CMD_WRITE), 0);
	pair_destroy(&p);
}

Test(nvme_resv, all_registrants_types_make_every_registrant_a_holder)
{
	struct pair p;
	uint8_t *rep;

	pair_start(&p);
	cr_assert_eq(REGISTER(&p.a, 0, 0, 5), 0);
	cr_assert_eq(REGISTER(&p.b, 0, 0, 6), 0);
	cr_assert_eq(ACQUIRE(&p.a, 0, 6, 5, 0), 0);
	cr_assert_eq(ACQUIRE(&p.b, 0, 6, 6, 0), 0, "B holds it too");
	rep = report(&p.a, false);
	cr_assert_eq(rep[26] & rep[50] & 1, 1, "both RCSTS hold");
	cr_assert_eq(rw1(&p.b, NVME_CMD_WRITE), 0);
	/* A unregisters: B still holds it; B unregisters: it is gone */
	cr_assert_eq(REGISTER(&p.a, 1, 5, 0), 0);
	cr_assert_eq(report(&p.b, false)[4], 6);
	cr_assert_eq(REGISTER(&p.b, 1, 0, 0) /* IEKEY below */, RESV_CONFLICT, "wrong key");
	cr_assert_eq(resv(&p.b, 0x0d, 1 | 1u << 3, 0, 0), 0, "IEKEY ignores the key");
	cr_assert_eq(report(&p.a, false)[4], 0);
	pair_destroy(&p);
}

Test(nvme_resv, bad_fields_and_lone_controllers)
{
	struct pair p;
	struct tnvme t;

	pair_start(&p);
	cr_assert_eq(resv(&p.a, 0x0d, 3, 0, 1), NVME_SC_INVALID_FIELD, "RREGA 3");
	cr_assert_eq(resv(&p.a, 0x0d, 1u << 30, 0, 1), NVME_SC_INVALID_FIELD, "CPTPL 01b");
	cr_assert_eq(REGISTER(&p.a, 0, 0, 1), 0);
	cr_assert_eq(ACQUIRE(&p.a, 0, 0, 1, 0), NVME_SC_INVALID_FIELD, "RTYPE 0");
	cr_assert_eq(ACQUIRE(&p.a, 0, 7, 1, 0), NVME_SC_INVALID_FIELD, "RTYPE 7");
	cr_assert_eq(ACQUIRE(&p.a, 3, 1, 1, 0), NVME_SC_INVALID_FIELD, "RACQA 3");
	cr_assert_eq(RELEASE(&p.a, 2, 1, 1), NVME_SC_INVALID_FIELD, "RRELA 2");
	/* a data pointer outside guest memory */
	cr_assert_eq(tn_cmd(&p.a, 1,
			    &(struct nvme_sqe){.opcode = 0x0d, .nsid = 1, .prp1 = 0xfff00000},
			    NULL) != 0,
		     1);
	/* Report longer than MDTS */
	cr_assert_eq(tn_cmd(&p.a, 1,
			    &(struct nvme_sqe){.opcode = 0x0e,
					       .nsid = 1,
					       .cdw10 = 0xffffffffu,
					       .prp1 = tn_alloc(&p.a, 4096, 4096)},
			    NULL),
		     NVME_SC_INVALID_FIELD);
	pair_destroy(&p);
	tn_start(&t);
	cr_assert_eq(resv(&t, 0x0d, 0, 0, 1), NVME_SC_INVALID_OPCODE, "no reservations alone");
	cr_assert_eq(identify(&t, NVME_ID_CNS_CTRL, 0)[520] & (1u << 5), 0);
	tn_destroy(&t);
}

Test(nvme_resv, write_exclusive_registrants_only_lets_registrants_write)
{
	struct pair p;

	pair_start(&p);
	cr_assert_eq(REGISTER(&p.a, 0, 0, 1), 0);
	cr_assert_eq(ACQUIRE(&p.a, 0, 3, 1, 0), 0);
	cr_assert_eq(rw1(&p.b, NVME_CMD_WRITE), RESV_CONFLICT, "B is no registrant");
	cr_assert_eq(rw1(&p.b, NVME_CMD_READ), 0, "anyone reads");
	cr_assert_eq(REGISTER(&p.b, 0, 0, 2), 0);
	cr_assert_eq(rw1(&p.b, NVME_CMD_WRITE), 0, "a registrant writes");
	cr_assert_eq(report(&p.a, false)[50], 0, "B registered, not holding");
	pair_destroy(&p);
}

Test(ctl_nvme_ana, info_shows_subsystem_cntlid_and_ana_states)
{
	struct pair p;
	static char reply[65536];

	pair_start(&p);
	cr_assert(ctl(&p,
		      "{\"cmd\":\"nvme_ana\",\"ctrl\":\"nvme1\",\"group\":2,\"state\":\"change\"}",
		      reply, sizeof(reply)),
		  "%s", reply);
	cr_assert(ctl(&p, "{\"cmd\":\"info\"}", reply, sizeof(reply)), "%s", reply);
	cr_assert(strstr(reply, "\"subsystem\":\"s0\",\"cntlid\":1,\"ana\":{\"1\":\"optimized\","
				"\"2\":\"optimized\"}"),
		  "%s", reply);
	cr_assert(strstr(reply, "\"subsystem\":\"s0\",\"cntlid\":2,\"ana\":{\"1\":\"optimized\","
				"\"2\":\"change\"}"),
		  "%s", reply);
	pair_destroy(&p);
}
