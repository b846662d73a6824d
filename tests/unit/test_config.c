/* SPDX-License-Identifier: MIT */
/* The machine config: schema, defaults, paths, and how every problem is reported. */
#include <criterion/criterion.h>

#include "vmm/config/config.h"
#include "vmm/util.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[64];

static void write_text(const char *name, const char *text)
{
	char path[PATH_MAX + 64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	cr_assert_not_null(f, "cannot create %s", path);
	fputs(text, f);
	fclose(f);
}

static void make_tmpdir(void)
{
	strcpy(tmpdir, "/tmp/vmm-config-test-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
	write_text("vmlinux", "kernel");
	write_text("initrd.img", "initrd");
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void remove_tmpdir(void)
{
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(config, .init = make_tmpdir, .fini = remove_tmpdir);

/* Loads `text` as "x.toml" in tmpdir; returns the error text (or NULL on success). */
static char *load(const char *text, struct machine_config *cfg, int *ret)
{
	char *errors = NULL;

	*ret = config_load_string(text, "x.toml", tmpdir, cfg, &errors);
	if (*ret == 0)
		cr_assert_null(errors);
	else
		cr_assert_not_null(errors);
	return errors;
}

static void load_ok(const char *text, struct machine_config *cfg)
{
	int ret;
	char *errors = load(text, cfg, &ret);

	cr_assert_eq(ret, 0, "unexpected errors:\n%s", errors);
}

/* Loads text that must fail, and checks the whole error text. */
static void load_fails_with(const char *text, const char *want)
{
	struct machine_config cfg;
	int ret;
	char *errors = load(text, &cfg, &ret);

	cr_assert_eq(ret, -EINVAL);
	cr_assert_str_eq(errors, want);
	cr_assert_null(cfg.kernel, "a failed load leaves nothing to free");
	free(errors);
}

/* Loads text that must fail with one problem containing `needle` at line:col. */
static void load_fails_at(const char *text, int line, int col, const char *needle)
{
	struct machine_config cfg;
	char prefix[64];
	int ret;
	char *errors = load(text, &cfg, &ret);

	snprintf(prefix, sizeof(prefix), "x.toml:%d:%d: ", line, col);
	cr_assert_eq(ret, -EINVAL);
	cr_assert_eq(strncmp(errors, prefix, strlen(prefix)), 0, "want %s..., got %s", prefix,
		     errors);
	cr_assert_not_null(strstr(errors, needle), "want '%s' in %s", needle, errors);
	cr_assert_eq(strchr(errors, '\n'), errors + strlen(errors) - 1, "one line: %s", errors);
	free(errors);
}

Test(config, defaults_apply_when_keys_are_absent)
{
	struct machine_config cfg;

	load_ok("[machine]\nkernel = \"vmlinux\"\n", &cfg);
	cr_assert_eq(cfg.memory, MiB(256));
	cr_assert_eq(cfg.cpus, 1);
	cr_assert_eq(cfg.cpu_model, CPU_MODEL_HOST);
	cr_assert_eq(cfg.hugepages, false);
	cr_assert_null(cfg.initrd);
	cr_assert_null(cfg.cmdline);
	cr_assert_null(cfg.console.log);
	cr_assert_eq(cfg.console.input, true);
	cr_assert_str_eq(cfg.source, "x.toml");
	config_free(&cfg);
}

Test(config, full_schema_is_loaded)
{
	struct machine_config cfg;

	load_ok("[machine]\nmemory = \"2G\"\ncpus = 4\nkernel = \"vmlinux\"\n"
		"initrd = \"initrd.img\"\ncmdline = \"console=ttyS0 quiet\"\nhugepages = true\n"
		"[cpu]\nmodel = \"compat\"\n"
		"[console]\nlog = \"serial.log\"\ninput = false\n",
		&cfg);
	cr_assert_eq(cfg.memory, GiB(2));
	cr_assert_eq(cfg.cpus, 4);
	cr_assert_eq(cfg.cpu_model, CPU_MODEL_COMPAT);
	cr_assert_eq(cfg.hugepages, true);
	cr_assert_str_eq(cfg.cmdline, "console=ttyS0 quiet");
	cr_assert_eq(cfg.console.input, false);
	cr_assert_not_null(strstr(cfg.initrd, "/initrd.img"));
	config_free(&cfg);
}

Test(config, relative_paths_resolve_against_config_directory)
{
	struct machine_config cfg;
	char path[PATH_MAX + 64], want[PATH_MAX], *errors = NULL;

	cr_assert_eq(mkdir(strcat(strcpy(path, tmpdir), "/sub"), 0755), 0);
	write_text("sub/m.toml", "[machine]\nkernel = \"../vmlinux\"\n"
				 "[console]\nlog = \"out/serial.log\"\n");
	strcat(path, "/m.toml");
	cr_assert_eq(config_load_file(path, &cfg, &errors), 0, "%s", errors);
	cr_assert_not_null(realpath(strcat(strcpy(path, tmpdir), "/vmlinux"), want));
	cr_assert_str_eq(cfg.kernel, want);
	snprintf(want, sizeof(want), "%s/sub/out/serial.log", tmpdir);
	cr_assert_str_eq(cfg.console.log, want);
	cr_assert_str_eq(cfg.source, strcat(strcpy(path, tmpdir), "/sub/m.toml"));
	config_free(&cfg);
}

Test(config, absolute_kernel_path_is_kept)
{
	struct machine_config cfg;
	char text[PATH_MAX + 64], want[PATH_MAX];

	snprintf(text, sizeof(text), "[machine]\nkernel = \"%s/vmlinux\"\n", tmpdir);
	load_ok(text, &cfg);
	snprintf(text, sizeof(text), "%s/vmlinux", tmpdir);
	cr_assert_not_null(realpath(text, want));
	cr_assert_str_eq(cfg.kernel, want);
	config_free(&cfg);
}

Test(config, builtin_default_describes_the_hello_guest)
{
	struct machine_config cfg;
	char *errors = NULL;

	cr_assert_eq(mkdir(strcat(strcpy((char[PATH_MAX + 16]){0}, tmpdir), "/guests"), 0755), 0);
	write_text("guests/hello.elf", "ELF");
	cr_assert_eq(config_load_string(config_default_toml, "<built-in>", tmpdir, &cfg, &errors),
		     0, "%s", errors);
	cr_assert_eq(cfg.memory, MiB(256));
	cr_assert_eq(cfg.cpus, 2);
	cr_assert_eq(cfg.cpu_model, CPU_MODEL_HOST);
	cr_assert_str_eq(cfg.cmdline, "console=ttyS0");
	cr_assert_not_null(strstr(cfg.kernel, "/guests/hello.elf"));
	cr_assert_str_eq(cfg.source, "<built-in>");
	config_free(&cfg);
}

Test(config, size_strings_accept_short_and_iec_suffixes)
{
	uint64_t v;

	cr_assert_eq(config_parse_size("2G", &v), 0);
	cr_assert_eq(v, GiB(2));
	cr_assert_eq(config_parse_size("512MiB", &v), 0);
	cr_assert_eq(v, MiB(512));
	cr_assert_eq(config_parse_size("64K", &v), 0);
	cr_assert_eq(v, KiB(64));
	cr_assert_eq(config_parse_size("1TiB", &v), 0);
	cr_assert_eq(v, GiB(1024));
	cr_assert_eq(config_parse_size("4096", &v), 0);
	cr_assert_eq(v, 4096);
	cr_assert_eq(config_parse_size("2P", &v), 0);
	cr_assert_eq(v, GiB(1024) << 11);
	cr_assert_eq(config_parse_size("15EiB", &v), 0);
	cr_assert_eq(v, 15ULL << 60);
}

Test(config, size_strings_reject_bad_suffixes_and_overflow)
{
	uint64_t v;

	cr_assert_eq(config_parse_size("512MB", &v), -EINVAL);
	cr_assert_eq(config_parse_size("2X", &v), -EINVAL);
	cr_assert_eq(config_parse_size("M", &v), -EINVAL);
	cr_assert_eq(config_parse_size("", &v), -EINVAL);
	cr_assert_eq(config_parse_size(" 2G", &v), -EINVAL);
	cr_assert_eq(config_parse_size("-2G", &v), -EINVAL);
	cr_assert_eq(config_parse_size("2 G", &v), -EINVAL);
	cr_assert_eq(config_parse_size("99999999999999999999", &v), -ERANGE);
	cr_assert_eq(config_parse_size("17179869184G", &v), -ERANGE);
	cr_assert_eq(config_parse_size("16E", &v), -ERANGE);
}

Test(config, memory_accepts_size_string_or_bytes)
{
	struct machine_config cfg;

	load_ok("[machine]\nkernel = \"vmlinux\"\nmemory = \"512MiB\"\n", &cfg);
	cr_assert_eq(cfg.memory, MiB(512));
	config_free(&cfg);
	load_ok("[machine]\nkernel = \"vmlinux\"\nmemory = 33_554_432\n", &cfg);
	cr_assert_eq(cfg.memory, MiB(32));
	config_free(&cfg);
}

Test(config, memory_bad_suffix_is_reported_at_value)
{
	load_fails_at("[machine]\nkernel = \"vmlinux\"\nmemory = \"512MB\"\n", 3, 10,
		      "'memory' must be a size like \"512M\" or \"2GiB\"");
}

Test(config, memory_limits_are_checked)
{
	load_fails_at("[machine]\nkernel = \"vmlinux\"\nmemory = \"8M\"\n", 3, 10,
		      "at least 16 MiB");
	load_fails_at("[machine]\nkernel = \"vmlinux\"\nmemory = \"17M\"\n", 3, 10,
		      "multiple of 2 MiB");
	load_fails_at("[machine]\nkernel = \"vmlinux\"\nmemory = \"2T\"\n", 3, 10, "at most 1 TiB");
	load_fails_at("[machine]\nkernel = \"vmlinux\"\nmemory = -1\n", 3, 10, "negative");
	load_fails_at("[machine]\nkernel = \"vmlinux\"\nmemory = true\n", 3, 10, "found a boolean");
}

Test(config, wrong_type_names_key_and_both_types)
{
	load_fails_with("[machine]\ncpus = \"two\"\nkernel = \"vmlinux\"\n",
			"x.toml:2:8: 'cpus' must be an integer, found a string\n");
	load_fails_at("[machine]\nkernel = 5\n", 2, 10,
		      "'kernel' must be a string, found an "
		      "integer");
	load_fails_at("[machine]\nkernel = \"vmlinux\"\nhugepages = \"yes\"\n", 3, 13,
		      "'hugepages' must be a boolean, found a string");
	load_fails_at("machine = 1\n", 1, 11, "'machine' must be a table, found an integer");
}

Test(config, cpus_range_is_checked)
{
	load_fails_at("[machine]\nkernel = \"vmlinux\"\ncpus = 0\n", 3, 8, "between 1 and 255");
	load_fails_at("[machine]\nkernel = \"vmlinux\"\ncpus = 256\n", 3, 8, "between 1 and 255");
}

Test(config, unknown_key_suggests_close_known_key)
{
	load_fails_with("[machine]\nkernel = \"vmlinux\"\ncpus = 2\nmemroy = \"1G\"\n",
			"x.toml:4:1: unknown key 'memroy' in [machine]; did you mean 'memory'?\n");
	load_fails_with("[machine]\nkernel = \"vmlinux\"\nfrobnicate = 1\n",
			"x.toml:3:1: unknown key 'frobnicate' in [machine]\n");
	load_fails_with("[machine]\nkernel = \"vmlinux\"\n[console]\ninptu = false\n",
			"x.toml:4:1: unknown key 'inptu' in [console]; did you mean 'input'?\n");
}

Test(config, unknown_table_suggests_close_known_table)
{
	load_fails_with("[machine]\nkernel = \"vmlinux\"\n[consle]\n",
			"x.toml:3:2: unknown table [consle]; did you mean [console]?\n");
	load_fails_with("[machine]\nkernel = \"vmlinux\"\n[gpu]\n",
			"x.toml:3:2: unknown table [gpu]; did you mean [cpu]?\n");
}

Test(config, ntb_needs_a_rendezvous_and_a_port_below_the_root_bus)
{
	load_fails_with(
		"[machine]\nkernel = \"vmlinux\"\n[[ntb]]\nid = \"ntb0\"\n"
		"bus = \"pcie0\"\n",
		"x.toml:3:1: missing key 'rendezvous' in [[ntb]] (the socket path both vmm "
		"processes of the pair name)\n"
		"x.toml:5:7: only root ports sit on the root bus \"pcie0\"; put this device "
		"under a [[root_port]] or a switch port\n");
}

/* One error for a rendezvous too long for sun_path, not a second "missing key" one. */
Test(config, rendezvous_longer_than_sun_path_is_one_error_with_the_limit)
{
	char text[512], path[200];
	struct machine_config cfg;

	path[0] = '/';
	memset(path + 1, 'r', 107);
	path[108] = '\0';
	snprintf(text, sizeof(text),
		 "[machine]\nkernel = \"vmlinux\"\n[[root_port]]\nid = \"rp0\"\n[[ntb]]\n"
		 "id = \"ntb0\"\nbus = \"rp0\"\nrendezvous = \"%s\"\n",
		 path);
	load_fails_with(text, "x.toml:8:14: 'rendezvous' resolves to a path of 108 bytes; a Unix "
			      "socket path (sun_path) holds at most 107\n");

	path[107] = '\0'; /* 107 bytes: the longest that fits */
	snprintf(text, sizeof(text),
		 "[machine]\nkernel = \"vmlinux\"\n[[root_port]]\nid = \"rp0\"\n[[ntb]]\n"
		 "id = \"ntb0\"\nbus = \"rp0\"\nrendezvous = \"%s\"\n",
		 path);
	load_ok(text, &cfg);
	cr_assert_str_eq(cfg.devices[1].ntb.rendezvous, path);
	config_free(&cfg);

	/* wrong, not missing: one message each */
	load_fails_with("[machine]\nkernel = \"vmlinux\"\n[[root_port]]\nid = \"rp0\"\n[[ntb]]\n"
			"id = \"ntb0\"\nbus = \"rp0\"\nrendezvous = \"\"\n",
			"x.toml:8:14: 'rendezvous' must not be empty\n");
	load_fails_with("[machine]\nkernel = \"vmlinux\"\n[[root_port]]\nid = \"rp0\"\n[[ntb]]\n"
			"id = \"ntb0\"\nbus = \"rp0\"\nrendezvous = 7\n",
			"x.toml:8:14: 'rendezvous' must be a string, found an integer\n");
}

Test(config, cpu_model_must_be_known)
{
	load_fails_at("[machine]\nkernel = \"vmlinux\"\n[cpu]\nmodel = \"pentium\"\n", 4, 9,
		      "'model' must be \"host\" or \"compat\", found \"pentium\"");
}

Test(config, iommu_model_is_off_by_default_and_intel_when_asked)
{
	struct machine_config cfg;

	load_ok("[machine]\nkernel = \"vmlinux\"\n", &cfg);
	cr_assert_eq(cfg.iommu, IOMMU_NONE);
	config_free(&cfg);
	load_ok("[machine]\nkernel = \"vmlinux\"\n[iommu]\nmodel = \"intel\"\n", &cfg);
	cr_assert_eq(cfg.iommu, IOMMU_INTEL);
	config_free(&cfg);
	load_fails_at("[machine]\nkernel = \"vmlinux\"\n[iommu]\nmodel = \"amd\"\n", 4, 9,
		      "'model' must be \"intel\" or \"none\", found \"amd\"");
	load_fails_at("[machine]\nkernel = \"vmlinux\"\n[iommu]\nmodle = \"intel\"\n", 4, 1,
		      "modle");
}

Test(config, missing_kernel_file_is_reported_at_the_key)
{
	load_fails_at("[machine]\nkernel = \"nope.elf\"\n", 2, 10, "No such file or directory");
	load_fails_at("[machine]\nkernel = \"vmlinux\"\ninitrd = \"nope.img\"\n", 3, 10,
		      "initrd '");
	load_fails_at("[machine]\nkernel = \".\"\n", 2, 10, "is not a regular file");
	load_fails_at("[machine]\nkernel = \"\"\n", 2, 10, "must not be empty");
}

Test(config, missing_kernel_key_and_missing_machine_table)
{
	load_fails_at("[machine]\ncpus = 2\n", 1, 1, "missing key 'kernel' in [machine]");
	load_fails_at("[cpu]\nmodel = \"host\"\n", 1, 1, "missing table [machine]");
}

Test(config, every_problem_is_reported_in_source_order)
{
	static const char *const want[] = {
		"x.toml:2:10: 'memory' must be a size like \"512M\" or \"2GiB\" (suffix K, M, G, "
		"T, P, E, KiB, MiB, GiB, TiB, PiB or EiB; none means bytes), found \"1X\"",
		"x.toml:3:8: 'cpus' must be an integer, found a string",
		"x.toml:4:10: kernel '",
		"x.toml:6:1: unknown key 'modle' in [cpu]; did you mean 'model'?",
		"x.toml:7:1: missing key 'rendezvous' in [[ntb]]",
		"x.toml:7:1: missing key 'id' in [[ntb]]",
		"x.toml:7:1: missing key 'bus' in [[ntb]]",
	};
	struct machine_config cfg;
	int ret;
	char *errors = load("[machine]\n"
			    "memory = \"1X\"\n"
			    "cpus = \"many\"\n"
			    "kernel = \"missing.elf\"\n"
			    "[cpu]\n"
			    "modle = \"host\"\n"
			    "[[ntb]]\n",
			    &cfg, &ret);
	char *line = errors;

	cr_assert_eq(ret, -EINVAL);
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		char *nl = strchr(line, '\n');
		cr_assert_not_null(nl, "only %zu lines in:\n%s", i, errors);
		cr_assert_eq(strncmp(line, want[i], strlen(want[i])), 0, "line %zu: %.*s", i,
			     (int)(nl - line), line);
		line = nl + 1;
	}
	cr_assert_str_eq(line, "");
	free(errors);
}

Test(config, cmdline_length_is_limited)
{
	static char text[8192];
	int n = snprintf(text, sizeof(text), "[machine]\nkernel = \"vmlinux\"\ncmdline = \"");

	memset(text + n, 'a', 4096);
	strcpy(text + n + 4096, "\"\n");
	load_fails_at(text, 3, 11, "at most 4095");
	text[n + 4095] = '"';
	text[n + 4096] = '\0';
	{
		struct machine_config cfg;
		load_ok(text, &cfg);
		cr_assert_eq(strlen(cfg.cmdline), 4095);
		config_free(&cfg);
	}
}

Test(config, toml_syntax_error_carries_file_line_col)
{
	load_fails_with("[machine]\nkernel = \"vmlinux\"\nmemory = }\n",
			"x.toml:3:10: expected a value (string, integer, boolean, array or inline "
			"table), found '}'\n");
}

Test(config, unreadable_file_is_an_error_with_message)
{
	struct machine_config cfg;
	char *errors = NULL;
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/absent.toml", tmpdir);
	cr_assert_eq(config_load_file(path, &cfg, &errors), -ENOENT);
	cr_assert_not_null(errors);
	cr_assert_not_null(strstr(errors, "absent.toml: cannot read configuration"));
	free(errors);
}

/* ---- absurd sizes: each a clear error at once, with nothing of that size allocated ---- */

/*
 * Caps this process's address space (a Criterion test runs in a process of its own) at what
 * it maps now plus `headroom`: an allocation of the absurd size then fails, so a test that
 * the code refuses before allocating fails if it allocates. Not under AddressSanitizer,
 * whose shadow mappings make such a cap fail everything.
 */
static bool cap_address_space(uint64_t headroom, struct rlimit *old)
{
#ifdef __SANITIZE_ADDRESS__
	(void)headroom;
	(void)old;
	return false;
#else
	unsigned long pages = 0;
	struct rlimit r;
	FILE *f = fopen("/proc/self/statm", "r");

	cr_assert_not_null(f);
	cr_assert_eq(fscanf(f, "%lu", &pages), 1);
	fclose(f);
	cr_assert_eq(getrlimit(RLIMIT_AS, old), 0);
	r = (struct rlimit){.rlim_cur = pages * (unsigned long)sysconf(_SC_PAGESIZE) + headroom,
			    .rlim_max = old->rlim_max};
	cr_assert_eq(setrlimit(RLIMIT_AS, &r), 0);
	return true;
#endif
}

static void uncap_address_space(bool capped, const struct rlimit *old)
{
	if (capped)
		cr_assert_eq(setrlimit(RLIMIT_AS, old), 0);
}

Test(config, a_100_mib_string_value_in_a_file_is_refused_before_the_file_is_read)
{
	static char chunk[MiB(1)];
	char path[PATH_MAX + 32], *errors = NULL;
	struct machine_config cfg;
	struct rlimit old;
	bool capped;
	FILE *f;
	int ret;

	snprintf(path, sizeof(path), "%s/huge.toml", tmpdir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("[machine]\nkernel = \"vmlinux\"\ncmdline = \"", f);
	memset(chunk, 'a', sizeof(chunk));
	for (int i = 0; i < 100; i++)
		cr_assert_eq(fwrite(chunk, 1, sizeof(chunk), f), sizeof(chunk));
	fputs("\"\n", f);
	cr_assert_eq(fclose(f), 0);

	capped = cap_address_space(MiB(32), &old);
	ret = config_load_file(path, &cfg, &errors);
	uncap_address_space(capped, &old);
	cr_assert_eq(ret, -EFBIG, "%d: %s", ret, errors ? errors : "");
	cr_assert_not_null(strstr(errors, "huge.toml: cannot read configuration: it is 104857642 "
					  "bytes; a configuration file is at most 1 MiB\n"),
			   "%s", errors);
	free(errors);
}

Test(config, a_100_mib_string_value_in_memory_is_refused_before_it_is_parsed)
{
	static const char head[] = "[machine]\nkernel = \"vmlinux\"\ncmdline = \"";
	size_t n = MiB(100);
	char *text = malloc(n + 3), *errors = NULL;
	struct machine_config cfg;
	struct rlimit old;
	bool capped;
	int ret;

	cr_assert_not_null(text);
	memset(text, 'a', n);
	memcpy(text, head, strlen(head));
	memcpy(text + n, "\"\n", 3);
	capped = cap_address_space(MiB(32), &old);
	ret = config_load_string(text, "x.toml", tmpdir, &cfg, &errors);
	uncap_address_space(capped, &old);
	free(text);
	cr_assert_eq(ret, -EINVAL);
	cr_assert_str_eq(errors, "x.toml:1:1: the configuration is larger than 1 MiB; a "
				 "configuration file is at most 1 MiB\n");
	free(errors);
}

Test(config, memory_of_16_exbibytes_is_refused_with_the_limit)
{
	/* 16 EiB does not fit in 64 bits; 8 EiB does: both are over the limit, nothing is mapped */
	load_fails_with("[machine]\nkernel = \"vmlinux\"\nmemory = \"16E\"\n",
			"x.toml:3:10: 'memory' must be at most 1 TiB\n");
	load_fails_with("[machine]\nkernel = \"vmlinux\"\nmemory = \"8EiB\"\n",
			"x.toml:3:10: 'memory' must be at most 1 TiB\n");
	load_fails_with("[machine]\nkernel = \"vmlinux\"\nmemory = 0x7fffffffffffffff\n",
			"x.toml:3:10: 'memory' must be at most 1 TiB\n");
}

Test(config, other_sizes_beyond_64_bits_say_so)
{
	load_fails_with("[machine]\nkernel = \"vmlinux\"\n[[root_port]]\nid = \"r\"\n[[testdev]]\n"
			"id = \"t\"\nbus = \"r\"\nram_bar = \"99999E\"\n",
			"x.toml:8:11: 'ram_bar' is too large: \"99999E\" is 16 EiB or more\n");
}

Test(config, cpus_100000_is_refused_with_the_range)
{
	/* refused while reading the file: no vCPU, no affinity table is ever made */
	load_fails_with("[machine]\nkernel = \"vmlinux\"\ncpus = 100000\n",
			"x.toml:3:8: 'cpus' must be between 1 and 255, found 100000\n");
}

Test(config, arrays_nested_10000_deep_are_refused_at_the_limit)
{
	size_t depth = 10000, n = 0;
	char *text = malloc(64 + 2 * depth), *errors = NULL;
	struct machine_config cfg;
	int ret;

	cr_assert_not_null(text);
	n += (size_t)sprintf(text, "[machine]\nkernel = \"vmlinux\"\nboot = ");
	for (size_t i = 0; i < depth; i++)
		text[n++] = '[';
	for (size_t i = 0; i < depth; i++)
		text[n++] = ']';
	text[n] = '\0';
	ret = config_load_string(text, "x.toml", tmpdir, &cfg, &errors);
	free(text);
	/* the 33rd '[' is where it stops: column 8 + 32 */
	cr_assert_eq(ret, -EINVAL);
	cr_assert_str_eq(errors,
			 "x.toml:3:40: arrays and inline tables nested more than 32 deep\n");
	free(errors);
}
