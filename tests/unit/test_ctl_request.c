/* SPDX-License-Identifier: MIT */
/* Control socket requests (vmm/ctl.h): validation refuses and changes nothing; vmm ctl's
 * key=value form. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "devices/nvme/inject.h"
#include "devices/pcie-switch/pcie_port.h"
#include "tests/unit/test_nvme.h"
#include "vmm/ctl.h"
#include "vmm/ctl_json.h"

static char reply[CTL_REPLY_MAX];

static bool req(const struct ctl_target *t, const char *line)
{
	return ctl_handle(t, line, strlen(line), reply, sizeof(reply));
}

static unsigned armed(struct nvme_ctrl *c)
{
	struct nvme_inject_stats st;
	struct nvme_inject_queue q[4];

	nvme_inject_stats(c, &st, q, 4);
	return st.armed;
}

Test(ctl_request, bad_requests_get_an_error_and_change_nothing)
{
	static const char *bad[] = {
		"",
		"not json",
		"[1]",
		"\"info\"",
		"{}",
		"{\"cmd\":1}",
		"{\"cmd\":\"reboot\"}",
		"{\"cmd\":\"info\",\"extra\":1}",
		"{\"cmd\":\"nvme_fail\"}",
		"{\"cmd\":\"nvme_fail\",\"ctrl\":\"nvme9\"}",
		"{\"cmd\":\"nvme_fail\",\"ctrl\":\"rp0\"}",
		"{\"cmd\":\"nvme_fail\",\"ctrl\":5}",
		"{\"cmd\":\"nvme_fail\",\"ctrl\":\"nvme0\",\"opcode\":256}",
		"{\"cmd\":\"nvme_fail\",\"ctrl\":\"nvme0\",\"opcode\":-1}",
		"{\"cmd\":\"nvme_fail\",\"ctrl\":\"nvme0\",\"opcode\":\"2\"}",
		"{\"cmd\":\"nvme_fail\",\"ctrl\":\"nvme0\",\"nsid\":4294967296}",
		"{\"cmd\":\"nvme_fail\",\"ctrl\":\"nvme0\",\"qid\":65536}",
		"{\"cmd\":\"nvme_fail\",\"ctrl\":\"nvme0\",\"count\":0}",
		"{\"cmd\":\"nvme_fail\",\"ctrl\":\"nvme0\",\"count\":1000001}",
		"{\"cmd\":\"nvme_fail\",\"ctrl\":\"nvme0\",\"sct\":8}",
		"{\"cmd\":\"nvme_fail\",\"ctrl\":\"nvme0\",\"sc\":0}",
		"{\"cmd\":\"nvme_fail\",\"ctrl\":\"nvme0\",\"dnr\":1}",
		"{\"cmd\":\"nvme_fail\",\"ctrl\":\"nvme0\",\"ms\":5}",
		"{\"cmd\":\"nvme_fail\",\"ctrl\":\"nvme0\",\"count\":9223372036854775807}",
		"{\"cmd\":\"nvme_delay\",\"ctrl\":\"nvme0\"}",
		"{\"cmd\":\"nvme_delay\",\"ctrl\":\"nvme0\",\"ms\":0}",
		"{\"cmd\":\"nvme_delay\",\"ctrl\":\"nvme0\",\"ms\":60001}",
		"{\"cmd\":\"nvme_delay\",\"ctrl\":\"nvme0\",\"ms\":null}",
		"{\"cmd\":\"nvme_drop\",\"ctrl\":\"nvme0\",\"sc\":1}",
		"{\"cmd\":\"nvme_drop\",\"ctrl\":\"nvme0\",\"opcode\":{}}",
		"{\"cmd\":\"nvme_cfs\"}",
		"{\"cmd\":\"nvme_cfs\",\"ctrl\":\"nvme0\",\"count\":1}",
		"{\"cmd\":\"clear\",\"ctrl\":\"rp0\"}",
		"{\"cmd\":\"nvme_fail\",\"ctrl\":\"nvme0\",\"ctrl\":\"nvme0\"}",
		"{\"cmd\":\"nvme_ana\",\"ctrl\":\"nvme0\"}",
		"{\"cmd\":\"nvme_ana\",\"ctrl\":\"nvme0\",\"state\":\"inaccessible\"}",
		"{\"cmd\":\"nvme_ana\",\"ctrl\":\"nvme0\",\"state\":\"gone\"}",
		"{\"cmd\":\"nvme_ana\",\"ctrl\":\"nvme0\",\"state\":3}",
		"{\"cmd\":\"nvme_ana\",\"ctrl\":\"nvme0\",\"state\":\"change\",\"group\":0}",
		"{\"cmd\":\"nvme_ana\",\"ctrl\":\"nvme0\",\"state\":\"change\",\"group\":17}",
		"{\"cmd\":\"nvme_ana\",\"ctrl\":\"rp0\",\"state\":\"change\"}",
		"{\"cmd\":\"link_down\",\"port\":\"rp0\"}",
	};
	struct tnvme t;
	struct ctl_dev devs[2];
	struct ctl_target tg = {devs, 2};
	uint32_t csts;

	tn_start(&t);
	devs[0] = (struct ctl_dev){"rp0", "root_port", NULL, NULL};
	devs[1] = (struct ctl_dev){"nvme0", "nvme", NULL, t.c};
	csts = tn_rd32(&t, NVME_REG_CSTS);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert(!req(&tg, bad[i]), "accepted %s", bad[i]);
		cr_assert(!strncmp(reply, "{\"ok\":false,\"error\":\"", 21), "reply %s", reply);
		cr_assert_eq(reply[strlen(reply) - 1], '}');
		cr_assert_eq(armed(t.c), 0, "%s armed something", bad[i]);
		cr_assert_eq(tn_rd32(&t, NVME_REG_CSTS), csts, "%s changed CSTS", bad[i]);
	}
	tn_destroy(&t);
}

Test(ctl_request, error_messages_name_the_problem)
{
	struct ctl_target tg = {NULL, 0};

	req(&tg, "{\"cmd\":\"info\",\"x\":1}");
	cr_assert_str_eq(reply, "{\"ok\":false,\"error\":\"unknown key \\\"x\\\"\"}");
	req(&tg, "{\"cmd\":\"nvme_drop\",\"ctrl\":\"a\",\"qid\":true}");
	cr_assert(strstr(reply, "\\\"qid\\\" must be an integer, not a boolean"), "%s", reply);
	req(&tg, "{\"cmd\":\"nvme_drop\",\"ctrl\":\"a\"}");
	cr_assert(strstr(reply, "no device \\\"a\\\""), "%s", reply);
	req(&tg, "{\"cmd\":\"x\\u0001\"}");
	cr_assert(strstr(reply, "unknown cmd \\\"x\\u0001\\\""), "%s", reply);
}

Test(ctl_request, info_lists_devices_queues_and_counters)
{
	struct tnvme t;
	struct ctl_dev devs[2];
	struct ctl_target tg = {devs, 2};

	tn_start(&t);
	devs[0] = (struct ctl_dev){"rp0", "root_port", NULL, NULL};
	devs[1] = (struct ctl_dev){"nvme0", "nvme", NULL, t.c};
	cr_assert(req(&tg, "{\"cmd\":\"info\"}"), "%s", reply);
	cr_assert(strstr(reply, "{\"id\":\"rp0\",\"kind\":\"root_port\",\"bdf\":\"none\"}"), "%s",
		  reply);
	cr_assert(strstr(reply, "{\"id\":\"nvme0\",\"kind\":\"nvme\""), "%s", reply);
	/* tn_start: admin queues of 32 entries (Linux style), I/O pair 1 of 64 */
	cr_assert(strstr(reply, "\"queues\":[{\"qid\":0,\"cqid\":0,\"depth\":"), "%s", reply);
	cr_assert(strstr(reply, "{\"qid\":1,\"cqid\":1,\"depth\":64}"), "%s", reply);
	cr_assert(strstr(reply, "\"faults\":0"), "%s", reply);
	cr_assert(strstr(reply, "\"commands\":"), "%s", reply);
	cr_assert(req(&tg, "{\"cmd\":\"nvme_drop\",\"ctrl\":\"nvme0\",\"qid\":1,\"count\":2}"));
	cr_assert_str_eq(reply, "{\"ok\":true}");
	cr_assert(req(&tg, "{\"cmd\":\"info\"}"));
	cr_assert(strstr(reply, "\"armed\":1"), "%s", reply);
	cr_assert(req(&tg, "{\"cmd\":\"clear\",\"ctrl\":\"nvme0\"}"));
	cr_assert_eq(armed(t.c), 0);
	tn_destroy(&t);
}

Test(ctl_request, the_rule_table_is_bounded)
{
	struct tnvme t;
	struct ctl_dev dev;
	struct ctl_target tg = {&dev, 1};

	tn_start(&t);
	dev = (struct ctl_dev){"n", "nvme", NULL, t.c};
	for (int i = 0; i < NVME_INJECT_MAX_RULES; i++)
		cr_assert(req(&tg, "{\"cmd\":\"nvme_fail\",\"ctrl\":\"n\",\"opcode\":255}"));
	cr_assert(!req(&tg, "{\"cmd\":\"nvme_fail\",\"ctrl\":\"n\"}"));
	cr_assert(strstr(reply, "clear first"), "%s", reply);
	cr_assert_eq(armed(t.c), NVME_INJECT_MAX_RULES);
	tn_destroy(&t);
}

static int args(char *out, size_t cap, int argc, ...)
{
	char *argv[16], err[128];
	va_list ap;

	va_start(ap, argc);
	for (int i = 0; i < argc; i++)
		argv[i] = va_arg(ap, char *);
	va_end(ap);
	return ctl_request_from_args(argc, argv, out, cap, err, sizeof(err));
}

Test(ctl_request, key_value_words_become_json)
{
	char out[512];

	cr_assert_eq(args(out, sizeof(out), 1, "info"), 0);
	cr_assert_str_eq(out, "{\"cmd\":\"info\"}");
	cr_assert_eq(args(out, sizeof(out), 6, "nvme_fail", "ctrl=nvme0", "opcode=0x02", "sc=6",
			  "dnr=true", "name=a\"b"),
		     0);
	cr_assert_str_eq(out, "{\"cmd\":\"nvme_fail\",\"ctrl\":\"nvme0\",\"opcode\":2,\"sc\":6,"
			      "\"dnr\":true,\"name\":\"a\\\"b\"}");
	cr_assert_eq(args(out, sizeof(out), 1, "{\"cmd\":\"info\"}"), 0);
	cr_assert_str_eq(out, "{\"cmd\":\"info\"}");
	cr_assert_eq(args(out, sizeof(out), 2, "nvme_fail", "noequals"), -EINVAL);
	cr_assert_eq(args(out, sizeof(out), 2, "nvme_fail", "=1"), -EINVAL);
	cr_assert_eq(args(out, sizeof(out), 2, "{\"cmd\":\"info\"}", "x=1"), -EINVAL);
	cr_assert_eq(args(out, 16, 2, "nvme_fail", "ctrl=nvme0"), -EINVAL);
	cr_assert_eq(args(out, sizeof(out), 0), -EINVAL);
	/* Out of long long range: sent as a string, refused by the server's type check. */
	cr_assert_eq(args(out, sizeof(out), 2, "x", "n=99999999999999999999"), 0);
	cr_assert_str_eq(out, "{\"cmd\":\"x\",\"n\":\"99999999999999999999\"}");
}

Test(ctl_request, link_down_and_link_up_move_a_ports_data_link_layer_state)
{
	struct tnvme t;
	struct pcie_port *rp = pcie_root_port_create("rp0", 1, 1, false);
	struct ctl_dev devs[2];
	struct ctl_target tg = {devs, 2};

	cr_assert(rp);
	tn_start(&t);
	cr_assert_eq(pcie_port_set_link(&rp->dev, true), 0);
	devs[0] = (struct ctl_dev){"rp0", "root_port", &rp->dev, NULL};
	devs[1] = (struct ctl_dev){"nvme0", "nvme", NULL, t.c};
	cr_assert(req(&tg, "{\"cmd\":\"info\"}"), "%s", reply);
	cr_assert(strstr(reply,
			 "\"id\":\"rp0\",\"kind\":\"root_port\",\"bdf\":\"none\",\"link\":\"up\""),
		  "%s", reply);

	cr_assert(req(&tg, "{\"cmd\":\"link_down\",\"port\":\"rp0\"}"), "%s", reply);
	cr_assert_str_eq(reply, "{\"ok\":true,\"link\":\"down\"}");
	cr_assert_not(pcie_port_link_active(&rp->dev));
	cr_assert(rp->dev.link_down);
	cr_assert(req(&tg, "{\"cmd\":\"info\"}"), "%s", reply);
	cr_assert(strstr(reply, "\"link\":\"down\""), "%s", reply);

	/* bad requests change nothing */
	cr_assert_not(req(&tg, "{\"cmd\":\"link_up\",\"port\":\"nvme0\"}"));
	cr_assert(strstr(reply, "\\\"nvme0\\\" is not a root port or downstream port"), "%s",
		  reply);
	cr_assert_not(req(&tg, "{\"cmd\":\"link_up\",\"port\":\"rp9\"}"));
	cr_assert(strstr(reply, "no port \\\"rp9\\\""), "%s", reply);
	cr_assert_not(req(&tg, "{\"cmd\":\"link_up\"}"));
	cr_assert(strstr(reply, "missing \\\"port\\\""), "%s", reply);
	cr_assert_not(req(&tg, "{\"cmd\":\"link_up\",\"port\":\"rp0\",\"ctrl\":\"nvme0\"}"));
	cr_assert_not(req(&tg, "{\"cmd\":\"link_up\",\"port\":1}"));
	cr_assert_not(pcie_port_link_active(&rp->dev));

	cr_assert(req(&tg, "{\"cmd\":\"link_up\",\"port\":\"rp0\"}"), "%s", reply);
	cr_assert_str_eq(reply, "{\"ok\":true,\"link\":\"up\"}");
	cr_assert(pcie_port_link_active(&rp->dev));
	cr_assert_not(rp->dev.link_down);
	tn_destroy(&t);
	pcie_root_port_destroy(rp);
}
