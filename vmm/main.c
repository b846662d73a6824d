/* SPDX-License-Identifier: MIT */
/*
 * vmm command line.
 *   vmm run [--config FILE] [options]   boot a machine (the built-in one without --config)
 *   vmm check --config FILE             validate a configuration only
 * Exit status (README.md, vmm/util.h): the guest's debug-exit status (odd); 0 on poweroff;
 * 2 for bad usage or configuration; 4 for a VMM failure or a guest triple fault; 6 when the
 * user stopped the machine.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "firmware/fdt.h"
#include "vmm/config/config.h"
#include "vmm/ctl.h"
#include "vmm/machine.h"
#include "vmm/mem.h"
#include "vmm/pair.h"
#include "vmm/topology.h"
#include "vmm/util.h"

static const char usage_main[] =
	"usage: vmm <command> [options]\n"
	"\n"
	"A virtual machine monitor on Linux KVM for PCIe, NVMe and NTB topologies.\n"
	"\n"
	"commands:\n"
	"  run      boot a machine (the built-in default machine without --config)\n"
	"  check    validate a configuration file without running it\n"
	"  inspect  print a machine's PCIe tree (like lspci -tv); --dtb FILE writes its DTB\n"
	"  pair     run the two machines of an NTB pair (--config pair.toml), consoles prefixed\n"
	"  ctl      send a request to a running vmm's control socket (`vmm ctl --help`)\n"
	"  help     show this text, or `vmm help run`\n"
	"\n"
	"options:\n"
	"  -h, --help     show help\n"
	"  -V, --version  show the version\n"
	"\n"
	"Exit status: the guest's debug-exit status ((value << 1) | 1, always odd), 0 when the\n"
	"guest powers off, resets or halts, 2 for bad usage or configuration, 4 for a VMM\n"
	"failure or a guest triple fault, 6 when stopped by the user (Ctrl-A x, a signal).\n"
	"Configuration reference: docs/config.md.\n";

static const char usage_run[] =
	"usage: vmm run [--config FILE] [options]\n"
	"\n"
	"Boot the machine described by FILE (TOML), or the built-in default machine: 2 vCPUs,\n"
	"256 MiB, the bundled `hello` test guest. Its serial console is this terminal; when\n"
	"stdin is a terminal, Ctrl-A x quits.\n"
	"\n"
	"options:\n"
	"  -c, --config FILE    machine description (see docs/config.md)\n"
	"  -k, --kernel FILE    override [machine] kernel\n"
	"      --initrd FILE    override [machine] initrd\n"
	"  -a, --cmdline TEXT   override [machine] cmdline\n"
	"      --control PATH   serve the control socket at PATH (docs/control.md)\n"
	"  -q, --quiet          print only errors (and the guest's console)\n"
	"  -v, --verbose        print debug messages\n"
	"  -h, --help           show this text\n";

static const char usage_check[] =
	"usage: vmm check --config FILE\n"
	"\n"
	"Parse and validate FILE; print every problem as file:line:col. Once the file is\n"
	"valid, the kernel's headers are checked as the loader reads them (a bzImage or a PVH\n"
	"ELF, fitting in memory with the initrd and command line).\n"
	"Exit status 0 when valid, 2 otherwise.\n";

/* Directory holding the running executable: the built-in config's paths are relative to it. */
static char *exe_dir(void)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);

	if (n <= 0)
		return strdup(".");
	buf[n] = 0;
	return strdup(dirname(buf));
}

static int load_config(const char *path, struct machine_config *cfg)
{
	char *errors = NULL;
	int ret;

	if (path) {
		ret = config_load_file(path, cfg, &errors);
	} else {
		char *dir = exe_dir();

		ret = config_load_string(config_default_toml, "<built-in>", dir, cfg, &errors);
		free(dir);
	}
	if (ret) {
		fputs(errors ? errors : "vmm: invalid configuration\n", stderr);
		free(errors);
		return VMM_EXIT_USAGE;
	}
	free(errors);
	return 0;
}

/* The kernel, initrd and command line as the loaders will see them (config_check_boot). */
static int check_boot(const struct machine_config *cfg)
{
	char *errors = NULL;

	if (!config_check_boot(cfg, &errors))
		return 0;
	fputs(errors ? errors : "vmm: invalid configuration\n", stderr);
	free(errors);
	return VMM_EXIT_USAGE;
}

static int replace_path(char **field, const char *value, const char *what)
{
	char *abs = realpath(value, NULL);

	if (!abs) {
		fprintf(stderr, "vmm: --%s %s: %s\n", what, value, strerror(errno));
		return VMM_EXIT_USAGE;
	}
	free(*field);
	*field = abs;
	return 0;
}

static int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"kernel", required_argument, NULL, 'k'},
		{"initrd", required_argument, NULL, 'i'},
		{"cmdline", required_argument, NULL, 'a'},
		{"quiet", no_argument, NULL, 'q'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"control", required_argument, NULL, 'C'},
		{NULL, 0, NULL, 0},
	};
	const char *config = NULL, *kernel = NULL, *initrd = NULL, *cmdline = NULL;
	const char *control = NULL;
	struct ctl_server *ctl = NULL;
	struct machine_config cfg;
	int c, ret;

	while ((c = getopt_long(argc, argv, "c:k:a:qvh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'k':
			kernel = optarg;
			break;
		case 'i':
			initrd = optarg;
			break;
		case 'a':
			cmdline = optarg;
			break;
		case 'C':
			control = optarg;
			break;
		case 'q':
			log_threshold = LOG_ERROR;
			break;
		case 'v':
			log_threshold = LOG_DEBUG;
			break;
		case 'h':
			fputs(usage_run, stdout);
			return 0;
		default:
			fputs(usage_run, stderr);
			return VMM_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vmm run: unexpected argument '%s'\n%s", argv[optind], usage_run);
		return VMM_EXIT_USAGE;
	}
	memset(&cfg, 0, sizeof(cfg));
	ret = load_config(config, &cfg);
	if (ret)
		return ret;
	if ((kernel && (ret = replace_path(&cfg.kernel, kernel, "kernel"))) ||
	    (initrd && (ret = replace_path(&cfg.initrd, initrd, "initrd")))) {
		config_free(&cfg);
		return ret;
	}
	if (cmdline) {
		free(cfg.cmdline);
		cfg.cmdline = strdup(cmdline);
	}
	/* What the command line gave is not at a place in the file. */
	if (kernel)
		cfg.kernel_at = (struct config_at){0, 0};
	if (initrd)
		cfg.initrd_at = (struct config_at){0, 0};
	if (cmdline)
		cfg.cmdline_at = (struct config_at){0, 0};
	ret = check_boot(&cfg);
	if (!ret && control) {
		char err[256];

		/* Before anything starts: a path we cannot serve is a usage error. */
		if (ctl_server_open(control, &ctl, err, sizeof(err))) {
			fprintf(stderr, "vmm run: %s\n", err);
			ret = VMM_EXIT_USAGE;
		}
	}
	if (!ret)
		ret = machine_run_ctl(&cfg, ctl);
	config_free(&cfg);
	return ret;
}

static const char usage_inspect[] =
	"usage: vmm inspect [--config FILE] [--dtb FILE]\n"
	"\n"
	"Build the machine's PCIe tree without running it, enumerate it as vmm does at boot,\n"
	"and print it like `lspci -tv` with BARs and bridge windows. --dtb writes the flattened\n"
	"device tree that PVH guests receive.\n";

/* inspect runs no VM: mapping requests from the PCI core go nowhere. */
static int nop_map_trap(void *o, enum bus_space s, uint64_t a, uint64_t n,
			const struct bus_ops *ops, void *d, const char *name)
{
	return 0;
}
static void nop_unmap_trap(void *o, enum bus_space s, uint64_t a)
{
}
static int nop_map_ram(void *o, uint64_t a, uint64_t n, void *hva)
{
	return 0;
}
static void nop_unmap_ram(void *o, uint64_t a)
{
}
static void nop_msi(void *o, uint64_t a, uint32_t d)
{
}
static void nop_intx(void *o, uint32_t gsi, int level)
{
}
static int nop_ioeventfd(void *o, uint64_t addr, unsigned len, int efd, bool assign)
{
	return 0;
}
static const struct pci_host_ops inspect_host = {
	.map_trap = nop_map_trap,
	.unmap_trap = nop_unmap_trap,
	.map_ram = nop_map_ram,
	.unmap_ram = nop_unmap_ram,
	.msi = nop_msi,
	.intx = nop_intx,
	.ioeventfd = nop_ioeventfd,
};

static int write_dtb(const struct machine_config *cfg, struct topology *t,
		     const struct guest_mem *mem, const char *path)
{
	struct e820_entry e820[MEM_MAX_E820];
	struct fw_platform fw;
	size_t cap = 64 << 10;
	void *buf = calloc(1, cap);
	FILE *f;
	int n, ne820;

	if (!buf)
		return VMM_EXIT_FAILURE;
	ne820 = mem_e820(mem, e820, MEM_MAX_E820);
	topology_fw_platform(t, cfg->cpus, e820, ne820, &fw);
	n = fdt_build(&fw, buf, cap);
	if (n < 0) {
		fprintf(stderr, "vmm: building the device tree: %s\n", strerror(-n));
		free(buf);
		return VMM_EXIT_FAILURE;
	}
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, (size_t)n, f) != (size_t)n || fclose(f)) {
		fprintf(stderr, "vmm: cannot write %s: %s\n", path, strerror(errno));
		free(buf);
		return VMM_EXIT_FAILURE;
	}
	free(buf);
	return 0;
}

static int cmd_inspect(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"dtb", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *config = NULL, *dtb = NULL;
	struct machine_config cfg;
	struct guest_mem mem;
	struct topology topo;
	char err[512] = "";
	int c, ret;

	while ((c = getopt_long(argc, argv, "c:d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'd':
			dtb = optarg;
			break;
		case 'h':
			fputs(usage_inspect, stdout);
			return 0;
		default:
			fputs(usage_inspect, stderr);
			return VMM_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fputs(usage_inspect, stderr);
		return VMM_EXIT_USAGE;
	}
	memset(&cfg, 0, sizeof(cfg));
	ret = load_config(config, &cfg);
	if (ret)
		return ret;
	/* MAP_NORESERVE memfd: costs nothing, gives the same layout as `run`. */
	if (mem_init(&mem, cfg.memory, false, err, sizeof(err))) {
		fprintf(stderr, "vmm: %s\n", err);
		config_free(&cfg);
		return VMM_EXIT_FAILURE;
	}
	ret = topology_build(&topo, &cfg, &mem, &inspect_host, NULL, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "vmm: %s: %s\n", cfg.source, err);
		ret = ret == -ENOSPC ? VMM_EXIT_USAGE : VMM_EXIT_FAILURE;
	} else {
		pci_print_tree(&topo.root, stdout);
		if (dtb)
			ret = write_dtb(&cfg, &topo, &mem, dtb);
	}
	topology_destroy(&topo);
	mem_free(&mem);
	config_free(&cfg);
	return ret;
}

static const char usage_pair[] =
	"usage: vmm pair --config pair.toml\n"
	"\n"
	"Run the two machines of an NTB pair, each a `vmm run` of its own, with both consoles\n"
	"here, every line prefixed with the machine's name. pair.toml:\n"
	"  [pair]\n"
	"  machines = [\"ntb-a.toml\", \"ntb-b.toml\"]   # relative to pair.toml\n"
	"  names = [\"a\", \"b\"]                        # optional\n"
	"Console input is not forwarded. Ctrl-C stops both. Exit status: 0 when both exit 0,\n"
	"else the first non-zero one; 2 for a bad pair or machine file; 4 for a machine that\n"
	"could not start or was killed by a signal.\n";

/*
 * Options of the commands that take only --config (and --help): returns -1 to go on with
 * *config set (NULL when not given), else the exit status. A lone positional argument is
 * taken as the file when `positional` allows it.
 */
static int config_only_options(int argc, char **argv, const char *usage, bool positional,
			       const char **config)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	*config = NULL;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			*config = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return VMM_EXIT_USAGE;
		}
	}
	if (positional && optind < argc && !*config)
		*config = argv[optind++];
	if (!*config || optind < argc) {
		fputs(usage, stderr);
		return VMM_EXIT_USAGE;
	}
	return -1;
}

static int cmd_pair(int argc, char **argv)
{
	const char *config;
	int ret = config_only_options(argc, argv, usage_pair, false, &config);

	return ret >= 0 ? ret : pair_run(config);
}

static int cmd_check(int argc, char **argv)
{
	const char *config;
	struct machine_config cfg;
	int ret = config_only_options(argc, argv, usage_check, true, &config);

	if (ret >= 0)
		return ret;
	memset(&cfg, 0, sizeof(cfg));
	ret = load_config(config, &cfg);
	if (ret)
		return ret;
	ret = check_boot(&cfg);
	if (ret) {
		config_free(&cfg);
		return ret;
	}
	printf("%s: ok (%d vCPU%s, %llu MiB, %s %s, %d PCIe device%s)\n", config, cfg.cpus,
	       cfg.cpus == 1 ? "" : "s", (unsigned long long)(cfg.memory >> 20),
	       cfg.firmware ? "firmware" : "kernel", cfg.firmware ? cfg.firmware : cfg.kernel,
	       cfg.ndevices, cfg.ndevices == 1 ? "" : "s");
	config_free(&cfg);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd;

	if (std_fds_ensure_open() < 0)
		return VMM_EXIT_FAILURE; /* with no stderr to say so */
	if (argc < 2) {
		fputs(usage_main, stderr);
		return VMM_EXIT_USAGE;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
		fputs(usage_main, stdout);
		return 0;
	}
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
		puts("vmm " VMM_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "help")) {
		if (argc > 2 && !strcmp(argv[2], "run"))
			fputs(usage_run, stdout);
		else if (argc > 2 && !strcmp(argv[2], "check"))
			fputs(usage_check, stdout);
		else if (argc > 2 && !strcmp(argv[2], "inspect"))
			fputs(usage_inspect, stdout);
		else if (argc > 2 && !strcmp(argv[2], "pair"))
			fputs(usage_pair, stdout);
		else
			fputs(usage_main, stdout);
		return 0;
	}
	/* Sub-command options start after the command name. */
	argv[1] = argv[0];
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "ctl"))
		return ctl_client_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "check"))
		return cmd_check(argc - 1, argv + 1);
	if (!strcmp(cmd, "inspect"))
		return cmd_inspect(argc - 1, argv + 1);
	if (!strcmp(cmd, "pair"))
		return cmd_pair(argc - 1, argv + 1);
	fprintf(stderr, "vmm: unknown command '%s'\n\n%s", cmd, usage_main);
	return VMM_EXIT_USAGE;
}
