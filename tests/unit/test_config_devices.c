/* SPDX-License-Identifier: MIT */
/* [[root_port]], [[switch]], [[testdev]], [[nvme]], [[ntb]], [[plx_dma]]: parsing, parent
 * resolution, every topology error. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/config/config.h"

#define HEAD "[machine]\nkernel = \"/proc/self/exe\"\n"

static char *load(const char *text, struct machine_config *cfg, int *ret)
{
	char *errors = NULL;

	*ret = config_load_string(text, "t.toml", "/", cfg, &errors);
	return errors;
}

Test(config_devices, p2p_topology_resolves_parents_and_ports)
{
	struct machine_config cfg;
	int ret;
	char *e =
		load(HEAD "[[root_port]]\nid = \"rp0\"\n"
			  "[[switch]]\nid = \"sw0\"\nbus = \"rp0\"\ndownstream = 3\nacs = true\n"
			  "[[testdev]]\nid = \"a\"\nbus = \"sw0.0\"\n"
			  "[[testdev]]\nid = \"b\"\nbus = \"sw0.2\"\nram_bar = \"64M\"\nmsix = 8\n",
		     &cfg, &ret);

	cr_assert_eq(ret, 0, "%s", e ? e : "");
	cr_assert_eq(cfg.ndevices, 4);
	cr_assert_eq(cfg.devices[0].kind, DEV_ROOT_PORT);
	cr_assert_str_eq(cfg.devices[0].bus, "pcie0", "root ports default to the root bus");
	cr_assert_eq(cfg.devices[0].parent, -1);
	cr_assert_eq(cfg.devices[1].kind, DEV_SWITCH);
	cr_assert_eq(cfg.devices[1].parent, 0);
	cr_assert_eq(cfg.devices[1].downstream, 3);
	cr_assert(cfg.devices[1].acs);
	cr_assert_eq(cfg.devices[2].parent, 1);
	cr_assert_eq(cfg.devices[2].parent_port, 0);
	cr_assert_eq(cfg.devices[2].ram_bar, 2 << 20, "testdev default RAM BAR is 2 MiB");
	cr_assert_eq(cfg.devices[2].msix_vectors, 4);
	cr_assert_eq(cfg.devices[3].parent_port, 2);
	cr_assert_eq(cfg.devices[3].ram_bar, 64 << 20);
	cr_assert_eq(cfg.devices[3].msix_vectors, 8);
	cr_assert_eq(cfg.devices[3].line, 13);
	config_free(&cfg);
}

Test(config_devices, parent_may_be_declared_after_child)
{
	struct machine_config cfg;
	int ret;
	char *e = load(HEAD "[[testdev]]\nid = \"a\"\nbus = \"rp0\"\n"
			    "[[root_port]]\nid = \"rp0\"\n",
		       &cfg, &ret);

	cr_assert_eq(ret, 0, "%s", e ? e : "");
	cr_assert_eq(cfg.devices[0].parent, 1);
	config_free(&cfg);
}

struct bad_case {
	const char *text;
	const char *expect;
};

static const struct bad_case bad[] = {
	{"[[testdev]]\nid = \"a\"\nbus = \"nowhere\"\n",
	 "t.toml:5:7: 'bus' names \"nowhere\", which is no port of this machine"},
	{"[[testdev]]\nid = \"a\"\nbus = \"pcie0\"\n",
	 "t.toml:5:7: only root ports sit on the root bus"},
	{"[[root_port]]\nid = \"r\"\nbus = \"r2\"\n",
	 "t.toml:5:7: a root port's 'bus' must be \"pcie0\""},
	{"[[root_port]]\nid = \"r\"\n[[switch]]\nid = \"s\"\nbus = \"r\"\n[[testdev]]\nid = "
	 "\"a\"\nbus = \"s\"\n",
	 "t.toml:10:7: \"s\" is a switch; name one of its downstream ports, e.g. \"s.0\""},
	{"[[root_port]]\nid = \"r\"\n[[switch]]\nid = \"s\"\nbus = \"r\"\n[[testdev]]\nid = "
	 "\"a\"\nbus = \"s.2\"\n",
	 "t.toml:10:7: switch \"s\" has downstream ports s.0 to s.1; no \"s.2\""},
	{"[[testdev]]\nid = \"a\"\nbus = \"q.0\"\n",
	 "t.toml:5:7: 'bus' names \"q.0\", but there is no switch \"q\""},
	{"[[root_port]]\nid = \"r\"\n[[testdev]]\nid = \"a\"\nbus = \"r\"\n[[testdev]]\nid = "
	 "\"b\"\nbus = \"r\"\n",
	 "t.toml:10:7: port \"r\" already has a device (\"a\", line 5)"},
	{"[[root_port]]\nid = \"r\"\n[[root_port]]\nid = \"r\"\n",
	 "t.toml:6:6: 'id' \"r\" is already used by the device at line 3"},
	{"[[root_port]]\nid = \"a.b\"\n", "t.toml:4:6: 'id' must be 1 to 32 letters, digits"},
	{"[[root_port]]\nid = \"pcie0\"\n", "t.toml:4:6: 'id' \"pcie0\" is the root bus's name"},
	{"[[switch]]\nid = \"s\"\n", "t.toml:3:1: missing key 'bus' in [[switch]]"},
	{"[[root_port]]\nbus = \"pcie0\"\n", "t.toml:3:1: missing key 'id' in [[root_port]]"},
	{"[[switch]]\nid = \"s\"\nbus = \"t.0\"\n[[switch]]\nid = \"t\"\nbus = \"s.0\"\n",
	 "is (indirectly) below itself"},
	{"[[root_port]]\nid = \"r\"\n[[switch]]\nid = \"s\"\nbus = \"r\"\ndownstream = 33\n",
	 "t.toml:8:14: 'downstream' must be between 1 and 32, found 33"},
	{"[[testdev]]\nid = \"a\"\nbus = \"r\"\nram_bar = \"3M\"\n[[root_port]]\nid = \"r\"\n",
	 "t.toml:6:11: 'ram_bar' must be 0 or a power of two from 4K to 64G"},
	{"[[testdev]]\nid = \"a\"\nbus = \"r\"\nacs = true\n[[root_port]]\nid = \"r\"\n",
	 "t.toml:6:1: unknown key 'acs' in [[testdev]]"},
	{"[[plx_dma]]\nid = \"d\"\nbus = \"r\"\nacs = true\n[[root_port]]\nid = \"r\"\n",
	 "t.toml:6:1: unknown key 'acs' in [[plx_dma]]"},
	{"[[plx_dma]]\nid = \"d\"\n", "t.toml:3:1: missing key 'bus' in [[plx_dma]]"},
	{"[[plx_dma]]\nbus = \"r\"\n[[root_port]]\nid = \"r\"\n",
	 "t.toml:3:1: missing key 'id' in [[plx_dma]]"},
	{"[[plx_dma]]\nid = \"d\"\nbus = \"pcie0\"\n",
	 "t.toml:5:7: only root ports sit on the root bus"},
	{"[[root_port]]\nid = \"r\"\n[[plx_dma]]\nid = \"d\"\nbus = \"r\"\nchannels = 2\n",
	 "t.toml:8:1: unknown key 'channels' in [[plx_dma]]"},
	{"[[root_port]]\nid = \"a\"\nslot = 4\n[[root_port]]\nid = \"b\"\nslot = 4\n",
	 "t.toml:6:1: slot 4 on the root bus is taken twice"},
	{"[root_port]\nid = \"a\"\n",
	 "t.toml:3:2: 'root_port' must be an array of tables: write [[root_port]]"},
	{"[[ntb]]\nid = \"a\"\n", "t.toml:3:1: missing key 'rendezvous' in [[ntb]]"},
	{"[[root_port]]\nid = \"r\"\n[[ntb]]\nid = \"a\"\nbus = \"r\"\nrendezvous = \"s\"\nport = "
	 "3\n",
	 "t.toml:9:8: 'port' must be one of 0, 2, 4, 6, 8, 12"},
	{"[[root_port]]\nid = \"r\"\n[[ntb]]\nid = \"a\"\nbus = \"r\"\nrendezvous = \"s\"\nmw_size "
	 "= \"3M\"\n",
	 "t.toml:9:11: 'mw_size' must be 0 or a power of two from 4K to 512G"},
	{"[[root_port]]\nid = \"r\"\n[[ntb]]\nid = \"a\"\nbus = \"r\"\nrendezvous = \"s\"\nmw_type "
	 "= \"lut16\"\n",
	 "t.toml:9:11: 'mw_type' entries must be \"dir\", \"lut12\" or \"lut24\""},
	{"[[root_port]]\nid = \"r\"\n[[ntb]]\nid = \"a\"\nbus = \"r\"\nrendezvous = \"s\"\nmw_type "
	 "= \"lut24\"\n",
	 "t.toml:9:11: 'mw_type': BAR2 and BAR4 cannot both be \"lut24\""},
	{"[[root_port]]\nid = \"r\"\n[[ntb]]\nid = \"a\"\nbus = \"r\"\nrendezvous = \"s\"\nmw_type "
	 "= [\"dir\"]\n",
	 "t.toml:9:11: 'mw_type' must be one type or an array of two (BAR2, BAR4)"},
	{"[[root_port]]\nid = \"r\"\n[[ntb]]\nid = \"a\"\nbus = \"r\"\nrendezvous = \"s\"\nmw_type "
	 "= [\"dir\", \"lut24\"]\nmw_size = \"64K\"\n",
	 "t.toml:5:1: 'mw_type' \"lut24\" needs 'mw_size' of at least 128K in [[ntb]] (entries of "
	 "4 KiB)"},
	{"[[root_port]]\nid = \"r\"\n[[ntb]]\nid = \"a\"\nbus = \"r\"\nrendezvous = \"s\"\n"
	 "personality = \"plx\"\n",
	 "t.toml:9:15: 'personality' must be \"idt\" or \"epf\""},
	{"[[root_port]]\nid = \"r\"\n[[ntb]]\nid = \"a\"\nbus = \"r\"\nrendezvous = \"s\"\n"
	 "mw_size = \"512M\"\npersonality = \"epf\"\n",
	 "t.toml:9:11: 'mw_size' must be a power of two from 4K to 256M with personality = "
	 "\"epf\""},
	{"[[root_port]]\nid = \"r\"\n[[ntb]]\nid = \"a\"\nbus = \"r\"\nrendezvous = \"s\"\n"
	 "personality = \"epf\"\nmw_size = 0\n",
	 "t.toml:10:11: 'mw_size' must be a power of two from 4K to 256M"},
	{"[[root_port]]\nid = \"r\"\n[[ntb]]\nid = \"a\"\nbus = \"r\"\nrendezvous = \"s\"\n"
	 "personality = 1\n",
	 "t.toml:9:15:"},
	{"[[root_port]]\nid = \"r\"\n[[ntb]]\nid = \"a\"\nbus = \"r\"\nrendezvous = \"s\"\n"
	 "personality = \"epf\"\nmw_type = \"lut12\"\n",
	 "t.toml:5:1: 'mw_type' lookup tables are an IDT feature: not with personality = \"epf\""},
	{"[[root_port]]\nid = \"r\"\n[[nvme]]\nid = \"n\"\nbus = \"r\"\nnamespaces = [ { backend = "
	 "\"disk\" } ]\n",
	 "t.toml:8:28: 'backend' must be \"ram\", \"null\" or \"file\""},
	{"[[root_port]]\nid = \"r\"\n[[nvme]]\nid = \"n\"\nbus = \"r\"\nnamespaces = [ { backend = "
	 "\"file\" } ]\n",
	 "t.toml:8:16: a \"file\" namespace needs 'path'"},
	{"[[root_port]]\nid = \"r\"\n[[nvme]]\nid = \"n\"\nbus = \"r\"\nnamespaces = [ { backend = "
	 "\"file\", path = \"/nonexistent/disk.img\" } ]\n",
	 "'/nonexistent/disk.img' is not a regular file or block device"},
	{"[[root_port]]\nid = \"r\"\n[[nvme]]\nid = \"n\"\nbus = \"r\"\nnamespaces = [ { lba_size "
	 "= 1024 } ]\n",
	 "t.toml:8:29: 'lba_size' must be 512 or 4096"},
	{"[[root_port]]\nid = \"r\"\n[[nvme]]\nid = \"n\"\nbus = \"r\"\nnamespaces = [ { size = "
	 "\"1000\" } ]\n",
	 "t.toml:8:25: namespace 'size' must be a non-zero multiple of 4 KiB"},
	{"[[root_port]]\nid = \"r\"\n[[nvme]]\nid = \"n\"\nbus = \"r\"\nmdts = \"3M\"\n",
	 "t.toml:8:8: 'mdts' must be a power of two from 4K to 2M"},
	{"[[root_port]]\nid = \"r\"\n[[nvme]]\nid = \"n\"\nbus = \"r\"\npmr_size = \"4M\"\n",
	 "t.toml:5:1: 'pmr_size' needs 'pmr'"},
	{"[[root_port]]\nid = \"r\"\n[[nvme]]\nid = \"n\"\nbus = \"r\"\nqueues = 65\n",
	 "t.toml:8:10: 'queues' must be between 1 and 64, found 65"},
	{"[[root_port]]\nid = \"r\"\n[[nvme]]\nid = \"n\"\nbus = \"r\"\nserial = \"\u00e9\"\n",
	 "t.toml:8:10: 'serial' must be printable ASCII"},
	{"[[root_port]]\nid = \"r\"\n[[nvme]]\nid = \"n\"\nbus = \"r\"\nnamespaces = [ { colour = "
	 "1 } ]\n",
	 "t.toml:8:18: unknown key 'colour' in [namespace]"},
	{"[[root_port]]\nid = \"r\"\n[[nvme]]\nid = \"n\"\nbus = \"r\"\nnamespaces = [ { "
	 "metadata_size = 32 } ]\n",
	 "t.toml:8:34: 'metadata_size' must be 0, 8, 16 or 64"},
	{"[[root_port]]\nid = \"r\"\n[[nvme]]\nid = \"n\"\nbus = \"r\"\nnamespaces = [ { "
	 "pi_type = 1 } ]\n",
	 "'metadata', 'pi_type' and 'pi_location' need 'metadata_size'"},
	{"[[root_port]]\nid = \"r\"\n[[nvme]]\nid = \"n\"\nbus = \"r\"\nnamespaces = [ { "
	 "metadata_size = 8, pi_type = 4 } ]\n",
	 "t.toml:8:47: 'pi_type' must be between 0 and 3, found 4"},
	{"[[root_port]]\nid = \"r\"\n[[nvme]]\nid = \"n\"\nbus = \"r\"\nnamespaces = [ { "
	 "metadata_size = 8, metadata = \"inline\" } ]\n",
	 "t.toml:8:48: 'metadata' must be \"separate\" (MPTR) or \"extended\""},
	{"[[root_port]]\nid = \"r\"\n[[nvme]]\nid = \"n\"\nbus = \"r\"\nnamespaces = [ { "
	 "metadata_size = 8, pi_location = \"middle\" } ]\n",
	 "'pi_location' must be \"first\" or \"last\""},
	{"[[root_port]]\nid = \"r\"\n[[nvme]]\nid = \"n\"\nbus = \"r\"\nnamespaces = [ { "
	 "zoned = true, metadata_size = 8 } ]\n",
	 "t.toml:8:48: a zoned namespace cannot have metadata"},
};

Test(config_devices, every_topology_error_is_reported_at_its_key)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct machine_config cfg;
		char text[1024];
		int ret;
		char *e;

		snprintf(text, sizeof(text), HEAD "%s", bad[i].text);
		e = load(text, &cfg, &ret);
		cr_assert_eq(ret, -EINVAL, "case %zu accepted:\n%s", i, text);
		cr_assert_not_null(strstr(e, bad[i].expect), "case %zu: expected \"%s\" in:\n%s", i,
				   bad[i].expect, e);
		free(e);
	}
}

Test(config_devices, every_problem_is_reported_not_only_the_first)
{
	struct machine_config cfg;
	int ret;
	char *e = load(HEAD "[[testdev]]\nid = \"a\"\nbus = \"x\"\n"
			    "[[testdev]]\nid = \"b\"\nbus = \"y\"\n",
		       &cfg, &ret);

	cr_assert_eq(ret, -EINVAL);
	cr_assert_not_null(strstr(e, "t.toml:5:7:"));
	cr_assert_not_null(strstr(e, "t.toml:8:7:"));
	free(e);
}

Test(config_devices, the_tree_must_fit_in_256_buses)
{
	struct machine_config cfg;
	static char text[16384];
	int ret, n;
	char *e;

	/* 31 root ports, 8 switches of 32 downstream ports: 1 + 31 + 8 * 33 = 296 buses */
	n = snprintf(text, sizeof(text), HEAD);
	for (int i = 0; i < 31; i++)
		n += snprintf(text + n, sizeof(text) - (size_t)n, "[[root_port]]\nid = \"r%d\"\n",
			      i);
	for (int i = 0; i < 8; i++)
		n += snprintf(text + n, sizeof(text) - (size_t)n,
			      "[[switch]]\nid = \"s%d\"\nbus = \"r%d\"\ndownstream = 32\n", i, i);
	e = load(text, &cfg, &ret);
	cr_assert_eq(ret, -EINVAL);
	cr_assert_not_null(strstr(e, "the PCIe tree needs 296 bus numbers; there are 256"), "%s",
			   e);
	free(e);
}

Test(config_devices, nvme_namespaces_and_defaults)
{
	struct machine_config cfg;
	int ret;
	char *e = load(HEAD "[[root_port]]\nid = \"rp0\"\n[[root_port]]\nid = \"rp1\"\n"
			    "[[nvme]]\nid = \"n0\"\nbus = \"rp0\"\nserial = \"SN1\"\nqueues = 4\n"
			    "mdts = \"2M\"\nnamespaces = [ { backend = \"null\", size = \"1G\", "
			    "lba_size = 4096 }, { size = \"8M\" } ]\n"
			    "[[nvme]]\nid = \"n1\"\nbus = \"rp1\"\n",
		       &cfg, &ret);

	cr_assert_eq(ret, 0, "%s", e ? e : "");
	cr_assert_eq(cfg.devices[2].kind, DEV_NVME);
	cr_assert_str_eq(cfg.devices[2].nvme.serial, "SN1");
	cr_assert_eq(cfg.devices[2].nvme.queues, 4);
	cr_assert_eq(cfg.devices[2].nvme.mdts, 2 << 20);
	cr_assert_eq(cfg.devices[2].nvme.nns, 2);
	cr_assert_str_eq(cfg.devices[2].nvme.ns[0].backend, "null");
	cr_assert_eq(cfg.devices[2].nvme.ns[0].size, 1ULL << 30);
	cr_assert_eq(cfg.devices[2].nvme.ns[0].lba_size, 4096);
	cr_assert_str_eq(cfg.devices[2].nvme.ns[1].backend, "ram", "backend defaults to ram");
	cr_assert_eq(cfg.devices[2].nvme.ns[1].lba_size, 512);
	/* defaults: 64 queue pairs, 1024 entries, 512 KiB MDTS, one 64 MiB RAM namespace */
	cr_assert_eq(cfg.devices[3].nvme.queues, 64);
	cr_assert_eq(cfg.devices[3].nvme.queue_size, 1024);
	cr_assert_eq(cfg.devices[3].nvme.mdts, 512 << 10);
	cr_assert_eq(cfg.devices[3].nvme.nns, 1);
	cr_assert_eq(cfg.devices[3].nvme.ns[0].size, 64 << 20);
	config_free(&cfg);
}

Test(config_devices, nvme_metadata_and_pi_keys)
{
	struct machine_config cfg;
	int ret;
	char *e = load(HEAD
		       "[[root_port]]\nid = \"rp0\"\n[[nvme]]\nid = \"n0\"\nbus = \"rp0\"\n"
		       "namespaces = [ { metadata_size = 16, metadata = \"extended\", pi_type = 3, "
		       "pi_location = \"first\" }, { metadata_size = 8, pi_type = 1 }, {} ]\n",
		       &cfg, &ret);
	const struct nvme_ns_spec *ns = cfg.devices[1].nvme.ns;

	cr_assert_eq(ret, 0, "%s", e ? e : "");
	cr_assert_eq(ns[0].metadata_size, 16);
	cr_assert(ns[0].extended_lba);
	cr_assert_eq(ns[0].pi_type, 3);
	cr_assert(ns[0].pi_first);
	cr_assert_eq(ns[1].metadata_size, 8);
	cr_assert_not(ns[1].extended_lba, "metadata defaults to \"separate\"");
	cr_assert_eq(ns[1].pi_type, 1);
	cr_assert_not(ns[1].pi_first, "pi_location defaults to \"last\"");
	cr_assert_eq(ns[2].metadata_size, 0);
	cr_assert_eq(ns[2].pi_type, 0);
	config_free(&cfg);
}

Test(config_devices, nvme_cmb_pmr_and_thread_keys)
{
	struct machine_config cfg;
	int ret;
	char *e = load(
		HEAD
		"[[root_port]]\nid = \"rp0\"\n"
		"[[nvme]]\nid = \"n0\"\nbus = \"rp0\"\ncmb = \"64M\"\npmr = "
		"\"/tmp/vmm-test-no-such-dir/pmr.img\"\n"
		"pmr_size = \"16M\"\niothread = false\npoll_idle_us = -1\n"
		"poll_inflight_us = 1000\nnsmgmt_capacity = \"1G\"\nnsmgmt_backend = \"null\"\n",
		&cfg, &ret);

	cr_assert_eq(ret, 0, "%s", e ? e : "");
	cr_assert_eq(cfg.devices[1].nvme.cmb, 64 << 20);
	cr_assert_str_eq(cfg.devices[1].nvme.pmr, "/tmp/vmm-test-no-such-dir/pmr.img");
	cr_assert_eq(cfg.devices[1].nvme.pmr_size, 16 << 20);
	cr_assert_not(cfg.devices[1].nvme.iothread);
	cr_assert_eq(cfg.devices[1].nvme.poll_idle_us, UINT32_MAX, "-1: never poll");
	cr_assert_eq(cfg.devices[1].nvme.poll_inflight_us, 1000);
	cr_assert_eq(cfg.devices[1].nvme.nsmgmt_capacity, 1ULL << 30);
	cr_assert_str_eq(cfg.devices[1].nvme.nsmgmt_backend, "null");
	config_free(&cfg);

	e = load(HEAD
		 "[[root_port]]\nid = \"rp0\"\n[[nvme]]\nid = \"n0\"\nbus = \"rp0\"\n"
		 "cmb = \"1M\"\npmr_size = \"3K\"\nnamespaces = [ { cache = \"writeback\" } ]\n",
		 &cfg, &ret);
	cr_assert_eq(ret, -EINVAL);
	cr_assert_not_null(
		strstr(e, "t.toml:8:7: 'cmb' must be 0 or a power of two from 2M to 64G"), "%s", e);
	cr_assert_not_null(
		strstr(e, "t.toml:9:12: 'pmr_size' must be a power of two from 4K to 64G"), "%s",
		e);
	cr_assert_not_null(strstr(e, "'cache' only applies to the \"file\" backend"), "%s", e);
	free(e);
}

Test(config_devices, cpu_affinity_and_iothread_cpu)
{
	struct machine_config cfg;
	int ret;
	char *e = load("[machine]\nkernel = \"/proc/self/exe\"\ncpus = 1\n[cpu]\naffinity = [0]\n"
		       "[[root_port]]\nid = \"rp0\"\n[[nvme]]\nid = \"n0\"\nbus = \"rp0\"\n"
		       "iothread_cpu = 0\n[[nvme]]\nid = \"n1\"\nbus = \"rp1\"\n[[root_port]]\n"
		       "id = \"rp1\"\n",
		       &cfg, &ret);

	cr_assert_eq(ret, 0, "%s", e ? e : "");
	cr_assert_eq(cfg.nvcpu_affinity, 1);
	cr_assert_eq(cfg.vcpu_affinity[0], 0);
	cr_assert_eq(cfg.devices[2].nvme.iothread_cpu, 0); /* root ports come first */
	cr_assert_eq(cfg.devices[3].nvme.iothread_cpu, -1, "not pinned unless asked");
	config_free(&cfg);

	e = load(
		"[machine]\nkernel = \"/proc/self/exe\"\ncpus = 2\n[cpu]\naffinity = [0, 100000]\n",
		&cfg, &ret);
	cr_assert_eq(ret, -EINVAL);
	cr_assert_not_null(strstr(e, "t.toml:5:16: host CPU numbers in 'affinity' must be 0 to"),
			   "%s", e);
	free(e);
	e = load("[machine]\nkernel = \"/proc/self/exe\"\ncpus = 2\n[cpu]\naffinity = [0]\n", &cfg,
		 &ret);
	cr_assert_eq(ret, -EINVAL);
	cr_assert_not_null(strstr(e, "affinity lists 1 host CPUs for 2 vCPUs"), "%s", e);
	free(e);
}

Test(config_devices, ntb_personality_defaults_to_idt_and_takes_epf)
{
	struct machine_config cfg;
	int ret;
	char *e = load(HEAD "[[root_port]]\nid = \"r\"\n"
			    "[[root_port]]\nid = \"q\"\n[[root_port]]\nid = \"p\"\n"
			    "[[ntb]]\nid = \"a\"\nbus = \"r\"\nrendezvous = \"s\"\n"
			    "[[ntb]]\nid = \"b\"\nbus = \"q\"\nrendezvous = \"t\"\n"
			    "personality = \"epf\"\nmw_size = \"256M\"\n"
			    "[[ntb]]\nid = \"c\"\nbus = \"p\"\nrendezvous = \"u\"\n"
			    "personality = \"idt\"\n",
		       &cfg, &ret);

	cr_assert_eq(ret, 0, "%s", e ? e : "");
	cr_assert_eq(cfg.ndevices, 6);
	cr_assert_not(cfg.devices[3].ntb.epf);
	cr_assert_eq(cfg.devices[3].ntb.mw_size, 16ull << 20);
	cr_assert(cfg.devices[4].ntb.epf);
	cr_assert_eq(cfg.devices[4].ntb.mw_size, 256ull << 20);
	cr_assert_not(cfg.devices[5].ntb.epf);
	config_free(&cfg);
}

/* ntb_transport's window buffer is one contiguous allocation: 4 MiB without CMA */
Test(config_devices, epf_windows_default_to_4m)
{
	struct machine_config cfg;
	int ret;
	char *e = load(HEAD "[[root_port]]\nid = \"r\"\n"
			    "[[ntb]]\nid = \"a\"\nbus = \"r\"\nrendezvous = \"s\"\n"
			    "personality = \"epf\"\n",
		       &cfg, &ret);

	cr_assert_eq(ret, 0, "%s", e ? e : "");
	cr_assert_eq(cfg.devices[1].ntb.mw_size, 4ull << 20);
	config_free(&cfg);
}

Test(config_devices, plx_dma_takes_id_and_bus)
{
	struct machine_config cfg;
	int ret;
	char *e = load(HEAD "[[root_port]]\nid = \"rp0\"\n[[switch]]\nid = \"sw0\"\nbus = \"rp0\"\n"
			    "[[plx_dma]]\nid = \"dma0\"\nbus = \"sw0.1\"\n",
		       &cfg, &ret);

	cr_assert_eq(ret, 0, "%s", e ? e : "");
	cr_assert_eq(cfg.devices[2].kind, DEV_PLX_DMA);
	cr_assert_str_eq(cfg.devices[2].id, "dma0");
	cr_assert_eq(cfg.devices[2].parent, 1);
	cr_assert_eq(cfg.devices[2].parent_port, 1);
	config_free(&cfg);
}

Test(config_devices, a_1_tib_cmb_is_refused_while_reading_the_file)
{
	struct machine_config cfg;
	int ret;
	char *e = load(HEAD "[[root_port]]\nid = \"rp0\"\n[[nvme]]\nid = \"n0\"\nbus = \"rp0\"\n"
			    "cmb = \"1T\"\n",
		       &cfg, &ret);

	/* A refused config builds no device: the CMB is mapped only by nvme_cmb_create. */
	cr_assert_eq(ret, -EINVAL);
	cr_assert_str_eq(e, "t.toml:8:7: 'cmb' must be 0 or a power of two from 2M to 64G\n");
	cr_assert_null(cfg.devices);
	free(e);
}

/* Every default docs/config.md gives for [[nvme]] and its namespaces, as the config has it
 * (the device's own serial and model: test_nvme_admin.c; poll_idle_us 0 here is the device's
 * NVME_DEFAULT_POLL_IDLE_US, 50). */
Test(config_devices, nvme_defaults_are_the_documented_ones)
{
	struct machine_config cfg;
	const struct nvme_dev_config *n;
	int ret;
	char *e = load(HEAD "[[root_port]]\nid = \"rp0\"\n[[root_port]]\nid = \"rp1\"\n"
			    "[[nvme]]\nid = \"n0\"\nbus = \"rp0\"\n"
			    "[[nvme]]\nid = \"n1\"\nbus = \"rp1\"\nnamespaces = [ {} ]\n"
			    "poll_idle_us = 0\n",
		       &cfg, &ret);

	cr_assert_eq(ret, 0, "%s", e ? e : "");
	n = &cfg.devices[2].nvme;
	cr_assert_null(n->serial, "generated by the device");
	cr_assert_null(n->model, "the device's");
	cr_assert_eq(n->queues, 64);
	cr_assert_eq(n->queue_size, 1024);
	cr_assert_eq(n->mdts, 512 << 10);
	cr_assert_eq(n->cmb, 0);
	cr_assert_null(n->pmr);
	cr_assert_eq(n->pmr_size, 0);
	cr_assert(n->iothread);
	cr_assert_eq(n->poll_idle_us, 0, "the device's default window");
	cr_assert_eq(n->poll_inflight_us, 0);
	cr_assert_eq(n->iothread_cpu, -1);
	cr_assert_eq(n->nsmgmt_capacity, 0);
	cr_assert_null(n->nsmgmt_backend, "\"ram\"");
	/* no namespaces: one { backend = "ram", size = "64M", lba_size = 512 } */
	cr_assert_eq(n->nns, 1);
	cr_assert_str_eq(n->ns[0].backend, "ram");
	cr_assert_eq(n->ns[0].size, 64 << 20);
	cr_assert_eq(n->ns[0].lba_size, 512);
	cr_assert_null(n->ns[0].cache, "\"none\"");
	/* an empty namespace table: the same defaults */
	n = &cfg.devices[3].nvme;
	cr_assert_eq(n->nns, 1);
	cr_assert_str_eq(n->ns[0].backend, "ram");
	cr_assert_eq(n->ns[0].size, 64 << 20);
	cr_assert_eq(n->ns[0].lba_size, 512);
	/* poll_idle_us = 0 polls for no time: never, like -1 (not the device's 50 us default) */
	cr_assert_eq(n->poll_idle_us, UINT32_MAX);
	config_free(&cfg);
}

/* The PMR file as the device will open it: each problem at its key, before anything runs. */
Test(config_devices, pmr_files_the_device_would_refuse_are_config_errors)
{
	char dir[] = "/tmp/vmm-pmr-cfg-XXXXXX", text[1024], path[64], want[256];
	static const struct {
		const char *file; /* created at `bytes`; NULL: absent */
		long bytes;
		const char *size; /* pmr_size, or NULL */
		const char *want; /* %s: the file's path; NULL: accepted */
	} cases[] = {
		{NULL, 0, NULL, "t.toml:8:7: 'pmr' %s does not exist: set 'pmr_size' to create it"},
		{NULL, 0, "\"4M\"", NULL},
		{"f", 0, NULL, "t.toml:8:7: 'pmr' %s is empty: set 'pmr_size' to give it a size"},
		{"f", 0, "\"4M\"", NULL},
		{"f", 4 << 20, NULL, NULL},
		{"f", 4 << 20, "\"8M\"",
		 "t.toml:9:12: 'pmr' %s holds 4194304 bytes but 'pmr_size' is 8388608: persistent "
		 "data is never truncated or extended"},
		{"f", 3 << 20, NULL,
		 "t.toml:8:7: 'pmr' %s holds 3145728 bytes: a PMR is a power of two from 4K to "
		 "64G"},
	};

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/pmr.img", dir);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct machine_config cfg;
		int ret;
		char *e;

		unlink(path);
		if (cases[i].file) {
			FILE *f = fopen(path, "w");

			cr_assert_not_null(f);
			fclose(f);
			cr_assert_eq(truncate(path, cases[i].bytes), 0);
		}
		snprintf(text, sizeof(text),
			 HEAD "[[root_port]]\nid = \"rp0\"\n[[nvme]]\nid = \"n0\"\nbus = \"rp0\"\n"
			      "pmr = \"%s\"\n%s%s%s",
			 path, cases[i].size ? "pmr_size = " : "",
			 cases[i].size ? cases[i].size : "", cases[i].size ? "\n" : "");
		e = load(text, &cfg, &ret);
		if (!cases[i].want) {
			cr_assert_eq(ret, 0, "case %zu: %s", i, e ? e : "");
			config_free(&cfg);
			continue;
		}
		snprintf(want, sizeof(want), cases[i].want, path);
		cr_assert_eq(ret, -EINVAL, "case %zu accepted", i);
		cr_assert_not_null(strstr(e, want), "case %zu: want %s in %s", i, want, e);
		free(e);
	}
	unlink(path);
	rmdir(dir);
}
