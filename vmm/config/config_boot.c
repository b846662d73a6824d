/* SPDX-License-Identifier: MIT */
/*
 * The part of a machine's check that reads the kernel: its headers, with the initrd's size
 * and the command line's length, through boot_check (vmm/boot/boot.h), the loaders' own plan. It
 * is a step of its own after config_load_*: the config model (and its fuzz harness) never
 * opens a kernel, and `vmm run --kernel FILE` has its kernel checked here too.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/boot/boot.h"
#include "vmm/config/config.h"
#include "vmm/config/config_internal.h"

/* Where a problem with the value at `at` is reported: the file, or "vmm: --option". */
static struct toml_pos pos_of(struct config_at at)
{
	return (struct toml_pos){at.line, at.col};
}

static const char *name_of(struct config_at at, const char *key, const char *option)
{
	return at.line ? key : option;
}

/* Opens a kernel or initrd the config named: a regular file, its size in *size. */
static int open_input(struct ctx *c, const char *path, struct config_at at, const char *name,
		      uint64_t *size)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0) {
		cfg_report(c, pos_of(at), "%s %s: %s", name, path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		cfg_report(c, pos_of(at), "%s %s is not a regular file", name, path);
		close(fd);
		return -1;
	}
	*size = (uint64_t)st.st_size;
	return fd;
}

static void check_boot(struct ctx *c, const struct machine_config *cfg)
{
	const char *kname = name_of(cfg->kernel_at, "'kernel'", "--kernel");
	const char *iname = name_of(cfg->initrd_at, "'initrd'", "--initrd");
	struct boot_check_in in = {.ram = cfg->memory};
	uint64_t ksize = 0;
	void *map = NULL;
	char err[256];
	int fd, r;

	if (cfg->initrd) {
		fd = open_input(c, cfg->initrd, cfg->initrd_at, iname, &in.initrd_size);
		if (fd < 0)
			return;
		close(fd);
		if (!in.initrd_size) {
			cfg_report(c, pos_of(cfg->initrd_at), "%s %s is empty", iname, cfg->initrd);
			return;
		}
	}
	fd = open_input(c, cfg->kernel, cfg->kernel_at, kname, &ksize);
	if (fd < 0)
		return;
	/* Mapped, not read: only the headers are looked at, and nothing is copied, however
	 * large the file (a vmlinux with debug info may be larger than guest RAM). */
	if (ksize) {
		map = mmap(NULL, ksize, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED) {
			cfg_report(c, pos_of(cfg->kernel_at), "%s %s: %s", kname, cfg->kernel,
				   strerror(errno));
			close(fd);
			return;
		}
	}
	close(fd);
	in.kernel = map;
	in.kernel_size = ksize;
	in.cmdline_len = cfg->cmdline ? strlen(cfg->cmdline) : 0;
	r = boot_check(&in, err, sizeof(err));
	if (map)
		munmap(map, ksize);
	if (r == -ENOEXEC)
		cfg_report(c, pos_of(cfg->kernel_at), "%s %s is not a kernel vmm can boot: %s",
			   kname, cfg->kernel, err);
	else if (r == -EFBIG)
		cfg_report(c, pos_of(cfg->initrd_at), "%s %s: %s", iname, cfg->initrd, err);
	else if (r == -E2BIG)
		cfg_report(c, pos_of(cfg->cmdline_at), "%s is %zu bytes: %s",
			   name_of(cfg->cmdline_at, "'cmdline'", "--cmdline"), in.cmdline_len, err);
	else if (r)
		cfg_report(c, pos_of(cfg->kernel_at), "%s %s: %s", kname, cfg->kernel, err);
}

int config_check_boot(const struct machine_config *cfg, char **errors)
{
	struct ctx c = {.name = cfg->source ? cfg->source : "<config>"};

	*errors = NULL;
	if (!cfg->kernel) /* a firmware boot: the firmware finds its own */
		return 0;
	check_boot(&c, cfg);
	if (!c.n && !c.oom)
		return 0;
	*errors = cfg_report_take(&c);
	return -EINVAL;
}
