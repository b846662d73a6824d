/* SPDX-License-Identifier: MIT */
/* [[nvme_subsystem]] and the [[nvme]] 'subsystem' key: parsing and every error at its key. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/config/config.h"

#define HEAD                                                                                       \
	"[machine]\nkernel = \"/proc/self/exe\"\n"                                                 \
	"[[root_port]]\nid = \"rp0\"\n"                                                            \
	"[[switch]]\nid = \"sw0\"\nbus = \"rp0\"\n"
#define CTRLS                                                                                      \
	"[[nvme]]\nid = \"nvme0\"\nbus = \"sw0.0\"\nsubsystem = \"mp\"\n"                          \
	"[[nvme]]\nid = \"nvme1\"\nbus = \"sw0.1\"\nsubsystem = \"mp\"\n"

static char *load(const char *text, struct machine_config *cfg, int *ret)
{
	char *errors = NULL;

	*ret = config_load_string(text, "t.toml", "/", cfg, &errors);
	return errors;
}

Test(config_subsys, two_controllers_share_the_subsystems_namespaces)
{
	struct machine_config cfg;
	int ret;
	char *e = load(HEAD "[[nvme_subsystem]]\nname = \"mp\"\nsubnqn = \"nqn.2026-01.t:mp\"\n"
			    "serial = \"MP0\"\nnamespaces = [ { size = \"16M\" }, { size = \"8M\", "
			    "ana_group = 2, controllers = [\"nvme1\"] } ]\n" CTRLS,
		       &cfg, &ret);

	cr_assert_eq(ret, 0, "%s", e ? e : "");
	cr_assert_eq(cfg.nsubsystems, 1);
	cr_assert_str_eq(cfg.subsystems[0].name, "mp");
	cr_assert_str_eq(cfg.subsystems[0].subnqn, "nqn.2026-01.t:mp");
	cr_assert_str_eq(cfg.subsystems[0].serial, "MP0");
	cr_assert_eq(cfg.subsystems[0].nns, 2);
	cr_assert_eq(cfg.subsystems[0].ns[0].size, 16 << 20);
	cr_assert_eq(cfg.subsystems[0].ns[0].ana_group, 1, "default ANA group");
	cr_assert_eq(cfg.subsystems[0].ns[0].nctrls, 0, "attached to every controller");
	cr_assert_eq(cfg.subsystems[0].ns[1].ana_group, 2);
	cr_assert_eq(cfg.subsystems[0].ns[1].nctrls, 1);
	cr_assert_str_eq(cfg.subsystems[0].ns[1].ctrls[0], "nvme1");
	cr_assert_eq(cfg.devices[2].nvme.subsys, 0);
	cr_assert_eq(cfg.devices[3].nvme.subsys, 0);
	cr_assert_eq(cfg.devices[2].nvme.nns, 0, "no namespaces of its own");
	config_free(&cfg);
	free(e);
}

Test(config_subsys, a_lone_nvme_keeps_its_default_namespace)
{
	struct machine_config cfg;
	int ret;
	char *e = load(HEAD "[[nvme]]\nid = \"n\"\nbus = \"sw0.0\"\n", &cfg, &ret);

	cr_assert_eq(ret, 0, "%s", e ? e : "");
	cr_assert_eq(cfg.devices[2].nvme.subsys, -1);
	cr_assert_eq(cfg.devices[2].nvme.nns, 1);
	config_free(&cfg);
}

static const struct {
	const char *text, *msg;
} bad[] = {
	{"[[nvme]]\nid = \"n\"\nbus = \"sw0.0\"\nsubsystem = \"nope\"\n",
	 "t.toml:11:13: 'subsystem' names \"nope\", but there is no [[nvme_subsystem]]"},
	{"[[nvme_subsystem]]\nname = \"mp\"\nnamespaces = [ { controllers = [\"nvme9\"] } "
	 "]\n" CTRLS,
	 "t.toml:10:32: 'controllers' names \"nvme9\", but there is no device with that id"},
	{"[[nvme_subsystem]]\nname = \"mp\"\nnamespaces = [ { controllers = [\"rp0\"] } ]\n" CTRLS,
	 "t.toml:10:32: 'controllers' names \"rp0\", which is no [[nvme]] with subsystem = \"mp\""},
	{"[[nvme_subsystem]]\nname = \"mp\"\nnamespaces = [ { controllers = [\"n2\"] } ]\n" CTRLS
	 "[[nvme]]\nid = \"n2\"\nbus = \"rp0\"\n",
	 "'controllers' names \"n2\", which is no [[nvme]] with subsystem = \"mp\""},
	{"[[nvme_subsystem]]\nname = \"mp\"\nnamespaces = [ { ana_group = 17 } ]\n" CTRLS,
	 "t.toml:10:30: 'ana_group' must be between 1 and 16"},
	{"[[nvme_subsystem]]\nname = \"mp\"\nnamespaces = [ { zoned = true } ]\n" CTRLS,
	 "zoned namespaces are not built for subsystems"},
	{"[[nvme_subsystem]]\nname = \"mp\"\nnamespaces = [ { metadata_size = 8 } ]\n" CTRLS,
	 "metadata namespaces are not built for subsystems"},
	{"[[nvme_subsystem]]\nname = \"mp\"\nnamespaces = [ { size = \"1M\" } ]\n"
	 "[[nvme]]\nid = \"n\"\nbus = \"sw0.0\"\nsubsystem = \"mp\"\nnamespaces = [ {} ]\n",
	 "no 'namespaces' or 'nsmgmt_capacity' here"},
	{"[[nvme_subsystem]]\nname = \"mp\"\nnamespaces = [ {} ]\n"
	 "[[nvme_subsystem]]\nname = \"mp\"\nnamespaces = [ {} ]\n",
	 "t.toml:11:1: [[nvme_subsystem]] name \"mp\" is used twice"},
	{"[[nvme_subsystem]]\nnamespaces = [ {} ]\n", "missing key 'name' in [[nvme_subsystem]]"},
	{"[[nvme_subsystem]]\nname = \"mp\"\n", "missing key 'namespaces' in [[nvme_subsystem]]"},
	{"[[nvme_subsystem]]\nname = \"mp\"\nserial = \"123456789012345678901\"\nnamespaces = [ {} "
	 "]\n",
	 "'serial' must be 1 to 20 characters"},
	{"[[nvme_subsystem]]\nname = \"m p\"\nnamespaces = [ {} ]\n", "'name' must be 1 to 32"},
	{"[[nvme_subsystem]]\nname = \"mp\"\nnqn = \"x\"\nnamespaces = [ {} ]\n",
	 "t.toml:10:1: unknown key 'nqn' in [[nvme_subsystem]]"},
	{"[[nvme_subsystem]]\nname = \"mp\"\nnamespaces = [ { controllers = \"nvme0\" } ]\n" CTRLS,
	 "'controllers' must be an array"},
	{"[[nvme]]\nid = \"n\"\nbus = \"sw0.0\"\nnamespaces = [ { ana_group = 1 } ]\n",
	 "unknown key 'ana_group' in [namespace]"},
};

Test(config_subsys, every_error_names_file_line_and_key)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct machine_config cfg;
		char text[2048];
		int ret;
		char *e;

		snprintf(text, sizeof(text), "%s%s", HEAD, bad[i].text);
		e = load(text, &cfg, &ret);
		cr_assert_neq(ret, 0, "accepted case %zu", i);
		cr_assert(e && strstr(e, bad[i].msg), "case %zu: want \"%s\", got:\n%s", i,
			  bad[i].msg, e ? e : "(none)");
		free(e);
	}
}
