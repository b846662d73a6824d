/* SPDX-License-Identifier: MIT */
/*
 * TOML tree -> struct machine_config. Every problem becomes one "file:line:col: message"
 * line; checking goes on after a problem so the user sees all of them at once (DESIGN.md
 * rule 7). The schema is documented in docs/config.md.
 */
#include "vmm/config/config.h"

#include "firmware/seabios.h"
#include "vmm/config/config_internal.h"
#include "vmm/config/toml.h"
#include "vmm/util.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONFIG_MAX_FILE		  MiB(1)
#define CONFIG_MIN_MEMORY	  MiB(16)
#define CONFIG_MAX_MEMORY	  GiB(1024)
#define CONFIG_MEMORY_ALIGN	  MiB(2)
#define CONFIG_MAX_CPUS		  255
#define CONFIG_MAX_CMDLINE	  4095
#define CONFIG_MAX_REBOOT_TIMEOUT 3600000 /* ms */

const char config_default_toml[] = "# The built-in machine of `vmm run` without --config.\n"
				   "[machine]\n"
				   "memory = \"256M\"\n"
				   "cpus = 2\n"
				   "kernel = \"guests/hello.elf\"\n"
				   "cmdline = \"console=ttyS0\"\n"
				   "\n"
				   "[cpu]\n"
				   "model = \"host\"\n";

PRINTF(3, 4) void cfg_report(struct ctx *c, struct toml_pos pos, const char *fmt, ...)
{
	struct problem *p;
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (!msg) {
		c->oom = true;
		return;
	}
	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 8;
		p = realloc(c->problems, ncap * sizeof(*p));
		if (!p) {
			free(msg);
			c->oom = true;
			return;
		}
		c->problems = p;
		c->cap = ncap;
	}
	c->problems[c->n++] = (struct problem){pos, c->n, msg};
}

static int problem_cmp(const void *a, const void *b)
{
	const struct problem *x = a, *y = b;

	if (x->pos.line != y->pos.line)
		return x->pos.line < y->pos.line ? -1 : 1;
	if (x->pos.col != y->pos.col)
		return x->pos.col < y->pos.col ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

char *cfg_report_take(struct ctx *c)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (c->n)
		qsort(c->problems, c->n, sizeof(*c->problems), problem_cmp);
	f = c->n || c->oom ? open_memstream(&text, &len) : NULL;
	for (size_t i = 0; f && i < c->n; i++) {
		if (c->problems[i].pos.line)
			fprintf(f, "%s:%d:%d: %s\n", c->name, c->problems[i].pos.line,
				c->problems[i].pos.col, c->problems[i].msg);
		else
			fprintf(f, "vmm: %s\n", c->problems[i].msg);
	}
	if (f && c->oom)
		fprintf(f, "%s: out of memory while checking the configuration\n", c->name);
	if (f && fclose(f) != 0) {
		free(text);
		text = NULL;
	}
	for (size_t i = 0; i < c->n; i++)
		free(c->problems[i].msg);
	free(c->problems);
	c->problems = NULL;
	c->n = c->cap = 0;
	return text;
}

/* Optimal string alignment distance (Levenshtein plus adjacent swaps), for suggestions. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t d[33][33];

	if (la > 32 || lb > 32)
		return SIZE_MAX;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1];
			size_t best = d[i - 1][j - 1] + cost;

			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return d[la][lb];
}

/* The known name closest to `key` within distance 2, or NULL. */
const char *cfg_suggest(const char *key, const char *const *known)
{
	const char *best = NULL;
	size_t best_d = 3;

	for (; *known; known++) {
		size_t d = edit_distance(key, *known);
		if (d < best_d) {
			best_d = d;
			best = *known;
		}
	}
	return best;
}

/* A key or name made safe for a one-line message. */
const char *cfg_printable(const char *s, char *buf, size_t size)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < size; i++)
		buf[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7F) ? '?' : s[i];
	buf[i] = '\0';
	return buf;
}

void cfg_unknown_key(struct ctx *c, const struct toml_keyval *kv, const char *table,
		     const char *const *known)
{
	const char *hint = cfg_suggest(kv->key, known);
	char k[80];

	cfg_printable(kv->key, k, sizeof(k));
	if (hint)
		cfg_report(c, kv->pos, "unknown key '%s' in [%s]; did you mean '%s'?", k, table,
			   hint);
	else
		cfg_report(c, kv->pos, "unknown key '%s' in [%s]", k, table);
}

bool cfg_want_type(struct ctx *c, const struct toml_keyval *kv, enum toml_type type)
{
	char k[80];

	if (kv->value->type == type)
		return true;
	cfg_report(c, kv->value->pos, "'%s' must be %s, found %s",
		   cfg_printable(kv->key, k, sizeof(k)), toml_type_name(type),
		   toml_type_name(kv->value->type));
	return false;
}

bool cfg_get_bool(struct ctx *c, const struct toml_keyval *kv, bool *out)
{
	if (!cfg_want_type(c, kv, TOML_BOOLEAN))
		return false;
	*out = kv->value->boolean;
	return true;
}

/* A string without embedded NULs (they would silently cut a path short). */
const char *cfg_get_string(struct ctx *c, const struct toml_keyval *kv)
{
	const struct toml_value *v = kv->value;

	if (!cfg_want_type(c, kv, TOML_STRING))
		return NULL;
	if (strlen(v->string.ptr) != v->string.len) {
		cfg_report(c, v->pos, "'%s' must not contain NUL characters", kv->key);
		return NULL;
	}
	return v->string.ptr;
}

char *cfg_dup(struct ctx *c, const char *s)
{
	char *d = strdup(s);

	if (!d)
		c->oom = true;
	return d;
}

int config_parse_size(const char *s, uint64_t *out)
{
	static const struct {
		const char *suffix;
		unsigned shift;
	} units[] = {
		{"", 0},     {"K", 10},	  {"M", 20},   {"G", 30},   {"T", 40},
		{"P", 50},   {"E", 60},	  {"KiB", 10}, {"MiB", 20}, {"GiB", 30},
		{"TiB", 40}, {"PiB", 50}, {"EiB", 60},
	};
	uint64_t v = 0;
	size_t i = 0;

	if (!s || s[0] < '0' || s[0] > '9')
		return -EINVAL;
	for (; s[i] >= '0' && s[i] <= '9'; i++) {
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	for (size_t u = 0; u < ARRAY_SIZE(units); u++) {
		if (strcmp(s + i, units[u].suffix) != 0)
			continue;
		if (v > (UINT64_MAX >> units[u].shift))
			return -ERANGE;
		*out = v << units[u].shift;
		return 0;
	}
	return -EINVAL;
}

bool cfg_get_size(struct ctx *c, const struct toml_keyval *kv, uint64_t *out)
{
	const struct toml_value *v = kv->value;
	char k[40], shown[40];

	cfg_printable(kv->key, k, sizeof(k));
	if (v->type == TOML_INTEGER) {
		if (v->integer < 0) {
			cfg_report(c, v->pos, "'%s' must not be negative", k);
			return false;
		}
		*out = (uint64_t)v->integer;
		return true;
	}
	if (v->type == TOML_STRING) {
		int r = config_parse_size(v->string.ptr, out);

		if (r == 0 && strlen(v->string.ptr) != v->string.len)
			r = -EINVAL;
		if (r == -ERANGE) {
			cfg_report(c, v->pos, "'%s' is too large: \"%s\" is 16 EiB or more", k,
				   cfg_printable(v->string.ptr, shown, sizeof(shown)));
			return false;
		}
		if (r < 0) {
			cfg_report(
				c, v->pos,
				"'%s' must be a size like \"512M\" or \"2GiB\" (suffix K, M, G, "
				"T, P, E, KiB, MiB, GiB, TiB, PiB or EiB; none means bytes), found "
				"\"%s\"",
				k, cfg_printable(v->string.ptr, shown, sizeof(shown)));
			return false;
		}
		return true;
	}
	cfg_report(c, v->pos, "'%s' must be a size string like \"512M\" or an integer, found %s", k,
		   toml_type_name(v->type));
	return false;
}

static void get_memory(struct ctx *c, const struct toml_keyval *kv, uint64_t *out)
{
	const struct toml_value *v = kv->value;
	uint64_t bytes;

	/* "16E" does not fit in 64 bits: say what the limit is rather than just "too large". */
	if (v->type == TOML_STRING && config_parse_size(v->string.ptr, &bytes) == -ERANGE)
		bytes = UINT64_MAX;
	else if (!cfg_get_size(c, kv, &bytes))
		return;
	if (bytes < CONFIG_MIN_MEMORY)
		cfg_report(c, v->pos, "'memory' must be at least 16 MiB");
	else if (bytes > CONFIG_MAX_MEMORY)
		cfg_report(c, v->pos, "'memory' must be at most 1 TiB");
	else if (bytes % CONFIG_MEMORY_ALIGN)
		cfg_report(c, v->pos, "'memory' must be a multiple of 2 MiB");
	else
		*out = bytes;
}

/* `p` as given if absolute, else below base_dir. */
char *cfg_resolve(struct ctx *c, const char *p)
{
	char *r;

	if (p[0] == '/' || !c->base_dir || !c->base_dir[0])
		return cfg_dup(c, p);
	if (asprintf(&r, "%s/%s", c->base_dir, p) < 0) {
		c->oom = true;
		return NULL;
	}
	return r;
}

/* A file the VMM will read (kernel, initrd): it must exist, be regular and readable. */
static char *get_input_file(struct ctx *c, const struct toml_keyval *kv)
{
	const char *p = cfg_get_string(c, kv);
	struct stat st;
	char *path, *real;

	if (!p)
		return NULL;
	if (!p[0]) {
		cfg_report(c, kv->value->pos, "'%s' must not be empty", kv->key);
		return NULL;
	}
	path = cfg_resolve(c, p);
	if (!path)
		return NULL;
	if (stat(path, &st) < 0) {
		cfg_report(c, kv->value->pos, "%s '%s': %s", kv->key, path, strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		cfg_report(c, kv->value->pos, "%s '%s' is not a regular file", kv->key, path);
	} else if (access(path, R_OK) < 0) {
		cfg_report(c, kv->value->pos, "%s '%s' is not readable: %s", kv->key, path,
			   strerror(errno));
	} else {
		/* Canonical and absolute, so later messages and chdir() cannot confuse it. */
		real = realpath(path, NULL);
		if (real) {
			free(path);
			return real;
		}
		return path;
	}
	free(path);
	return NULL;
}

static const char *const machine_keys[] = {"memory",	"cpus",	    "kernel", "initrd", "cmdline",
					   "hugepages", "firmware", "boot",   NULL};

/* [machine] firmware: "seabios" (Debian's image) or a path to a BIOS image. */
static char *get_firmware(struct ctx *c, const struct toml_keyval *kv)
{
	const char *s = cfg_get_string(c, kv);

	if (!s || strcmp(s, "seabios"))
		return s ? get_input_file(c, kv) : NULL;
	if (access(SEABIOS_DEFAULT_IMAGE, R_OK) < 0) {
		cfg_report(c, kv->value->pos,
			   "firmware \"seabios\" needs %s (Debian package seabios): %s",
			   SEABIOS_DEFAULT_IMAGE, strerror(errno));
		return NULL;
	}
	return cfg_dup(c, SEABIOS_DEFAULT_IMAGE);
}

static void load_machine(struct ctx *c, const struct toml_keyval *tkv, struct machine_config *cfg)
{
	const struct toml_value *t = tkv->value;
	const struct toml_keyval *kernel = NULL, *initrd = NULL, *cmdline = NULL;
	bool have_firmware = false;

	for (size_t i = 0; i < t->table.len; i++) {
		const struct toml_keyval *kv = &t->table.items[i];
		const char *k = kv->key;

		if (!strcmp(k, "memory")) {
			get_memory(c, kv, &cfg->memory);
		} else if (!strcmp(k, "cpus")) {
			if (!cfg_want_type(c, kv, TOML_INTEGER))
				continue;
			if (kv->value->integer < 1 || kv->value->integer > CONFIG_MAX_CPUS)
				cfg_report(c, kv->value->pos,
					   "'cpus' must be between 1 and %d, found %lld",
					   CONFIG_MAX_CPUS, (long long)kv->value->integer);
			else
				cfg->cpus = (int)kv->value->integer;
		} else if (!strcmp(k, "kernel")) {
			kernel = kv;
			cfg->kernel = get_input_file(c, kv);
			cfg->kernel_at =
				(struct config_at){kv->value->pos.line, kv->value->pos.col};
		} else if (!strcmp(k, "initrd")) {
			initrd = kv;
			cfg->initrd = get_input_file(c, kv);
			cfg->initrd_at =
				(struct config_at){kv->value->pos.line, kv->value->pos.col};
		} else if (!strcmp(k, "firmware")) {
			have_firmware = true;
			cfg->firmware = get_firmware(c, kv);
		} else if (!strcmp(k, "cmdline")) {
			const char *s = cfg_get_string(c, kv);

			cmdline = kv;
			cfg->cmdline_at =
				(struct config_at){kv->value->pos.line, kv->value->pos.col};
			if (s && strlen(s) > CONFIG_MAX_CMDLINE)
				cfg_report(c, kv->value->pos,
					   "'cmdline' is %zu bytes long; at most %d are allowed",
					   strlen(s), CONFIG_MAX_CMDLINE);
			else if (s)
				cfg->cmdline = cfg_dup(c, s);
		} else if (!strcmp(k, "hugepages")) {
			cfg_get_bool(c, kv, &cfg->hugepages);
		} else if (strcmp(k, "boot")) {
			cfg_unknown_key(c, kv, "machine", machine_keys);
		}
	}
	if (!kernel && !have_firmware)
		cfg_report(c, t->pos,
			   "missing key 'kernel' in [machine] (the guest kernel to boot, or set "
			   "'firmware')");
	/* Booting a kernel through SeaBIOS needs a linuxboot option ROM we do not have yet. */
	for (int i = 0; have_firmware && i < 3; i++) {
		const struct toml_keyval *kv = i == 0 ? kernel : i == 1 ? initrd : cmdline;

		if (kv)
			cfg_report(
				c, kv->pos,
				"'%s' cannot be used with 'firmware' (direct kernel boot through "
				"the firmware is not supported yet)",
				kv->key);
	}
}

/*
 * [machine] boot: the devices the firmware tries, in order. It names devices, so it is
 * checked once they are all loaded. Only NVMe controllers boot: they are the disks
 * SeaBIOS has a driver for.
 */
static void load_boot(struct ctx *c, const struct toml_keyval *kv, bool firmware,
		      struct machine_config *cfg)
{
	const struct toml_value *a;
	char shown[40];

	if (!kv || !cfg_want_type(c, kv, TOML_ARRAY))
		return;
	if (!firmware) {
		cfg_report(c, kv->pos, "'boot' needs 'firmware' in [machine] (a boot order)");
		return;
	}
	a = kv->value;
	cfg->boot = calloc(a->array.len + 1, sizeof(*cfg->boot));
	if (!cfg->boot) {
		c->oom = true;
		return;
	}
	for (size_t i = 0; i < a->array.len; i++) {
		const struct toml_value *v = a->array.items[i];
		const struct dev_config *d = NULL;
		bool twice = false;

		if (v->type != TOML_STRING) {
			cfg_report(c, v->pos, "'boot' lists device ids (strings), found %s",
				   toml_type_name(v->type));
			continue;
		}
		for (int j = 0; j < cfg->ndevices && !d; j++)
			if (cfg->devices[j].id && !strcmp(cfg->devices[j].id, v->string.ptr))
				d = &cfg->devices[j];
		for (int j = 0; j < cfg->nboot; j++)
			twice |= !strcmp(cfg->boot[j], v->string.ptr);
		cfg_printable(v->string.ptr, shown, sizeof(shown));
		if (!d)
			cfg_report(c, v->pos, "'boot' names \"%s\", but no device has that id",
				   shown);
		else if (d->kind != DEV_NVME)
			cfg_report(c, v->pos,
				   "\"%s\" (line %d) cannot boot: only [[nvme]] devices can", shown,
				   d->line);
		else if (twice)
			cfg_report(c, v->pos, "\"%s\" is listed twice in 'boot'", shown);
		else if ((cfg->boot[cfg->nboot] = cfg_dup(c, d->id)))
			cfg->nboot++;
	}
}

static const char *const firmware_keys[] = {"debugcon", "reboot_timeout", NULL};

static void load_firmware(struct ctx *c, const struct toml_keyval *tkv, struct machine_config *cfg)
{
	const struct toml_value *t = tkv->value;

	for (size_t i = 0; i < t->table.len; i++) {
		const struct toml_keyval *kv = &t->table.items[i];

		if (!strcmp(kv->key, "debugcon")) {
			const char *s = cfg_get_string(c, kv);

			if (s && !s[0])
				cfg_report(c, kv->value->pos, "'debugcon' must not be empty");
			else if (s)
				cfg->firmware_opts.debugcon = cfg_resolve(c, s);
		} else if (!strcmp(kv->key, "reboot_timeout")) {
			if (!cfg_want_type(c, kv, TOML_INTEGER))
				continue;
			if (kv->value->integer < -1 ||
			    kv->value->integer > CONFIG_MAX_REBOOT_TIMEOUT) {
				cfg_report(c, kv->value->pos,
					   "'reboot_timeout' must be -1 (never) or 0 to %d ms, "
					   "found %lld",
					   CONFIG_MAX_REBOOT_TIMEOUT,
					   (long long)kv->value->integer);
				continue;
			}
			cfg->firmware_opts.have_reboot_timeout = true;
			cfg->firmware_opts.reboot_timeout = (int32_t)kv->value->integer;
		} else {
			cfg_unknown_key(c, kv, "firmware", firmware_keys);
		}
	}
}

static const char *const cpu_keys[] = {"model", "affinity", NULL};

/*
 * [cpu] affinity = [0, 1]: one host CPU per vCPU. Pinning keeps a vCPU and the device
 * threads that serve it on different cores (bench/RESULTS.md: NVMe QD1 latency on a 2-core
 * host halves when vCPU 0 and the controller's I/O thread do not share a core).
 */
static void load_affinity(struct ctx *c, const struct toml_keyval *kv, struct machine_config *cfg)
{
	const struct toml_value *a = kv->value;
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);

	if (!cfg_want_type(c, kv, TOML_ARRAY))
		return;
	if (a->array.len == 0 || a->array.len > CONFIG_MAX_CPUS) {
		cfg_report(c, a->pos, "'affinity' must list one host CPU per vCPU");
		return;
	}
	free(cfg->vcpu_affinity);
	cfg->vcpu_affinity = calloc(a->array.len, sizeof(int));
	if (!cfg->vcpu_affinity) {
		c->oom = true;
		return;
	}
	cfg->nvcpu_affinity = (int)a->array.len;
	for (size_t i = 0; i < a->array.len; i++) {
		const struct toml_value *v = a->array.items[i];

		if (v->type != TOML_INTEGER || v->integer < 0 || v->integer >= ncpu) {
			cfg_report(c, v->pos, "host CPU numbers in 'affinity' must be 0 to %ld",
				   ncpu - 1);
			continue;
		}
		cfg->vcpu_affinity[i] = (int)v->integer;
	}
}

static void load_cpu(struct ctx *c, const struct toml_keyval *tkv, struct machine_config *cfg)
{
	const struct toml_value *t = tkv->value;

	for (size_t i = 0; i < t->table.len; i++) {
		const struct toml_keyval *kv = &t->table.items[i];
		const char *s;
		char shown[40];

		if (!strcmp(kv->key, "affinity")) {
			load_affinity(c, kv, cfg);
			continue;
		}
		if (strcmp(kv->key, "model")) {
			cfg_unknown_key(c, kv, "cpu", cpu_keys);
			continue;
		}
		s = cfg_get_string(c, kv);
		if (!s)
			continue;
		if (!strcmp(s, "host"))
			cfg->cpu_model = CPU_MODEL_HOST;
		else if (!strcmp(s, "compat"))
			cfg->cpu_model = CPU_MODEL_COMPAT;
		else
			cfg_report(c, kv->value->pos,
				   "'model' must be \"host\" or \"compat\", found \"%s\"",
				   cfg_printable(s, shown, sizeof(shown)));
	}
}

static const char *const console_keys[] = {"log", "input", NULL};

static void load_console(struct ctx *c, const struct toml_keyval *tkv, struct machine_config *cfg)
{
	const struct toml_value *t = tkv->value;

	for (size_t i = 0; i < t->table.len; i++) {
		const struct toml_keyval *kv = &t->table.items[i];

		if (!strcmp(kv->key, "log")) {
			const char *s = cfg_get_string(c, kv);
			if (s && !s[0])
				cfg_report(c, kv->value->pos, "'log' must not be empty");
			else if (s)
				cfg->console.log = cfg_resolve(c, s);
		} else if (!strcmp(kv->key, "input")) {
			cfg_get_bool(c, kv, &cfg->console.input);
		} else {
			cfg_unknown_key(c, kv, "console", console_keys);
		}
	}
}

static const char *const iommu_keys[] = {"model", NULL};

/* [iommu] model: "intel" (VT-d) or "none" (the default). */
static void load_iommu(struct ctx *c, const struct toml_keyval *tkv, struct machine_config *cfg)
{
	const struct toml_value *t = tkv->value;

	for (size_t i = 0; i < t->table.len; i++) {
		const struct toml_keyval *kv = &t->table.items[i];
		const char *s;
		char shown[40];

		if (strcmp(kv->key, "model")) {
			cfg_unknown_key(c, kv, "iommu", iommu_keys);
			continue;
		}
		s = cfg_get_string(c, kv);
		if (!s)
			continue;
		if (!strcmp(s, "intel"))
			cfg->iommu = IOMMU_INTEL;
		else if (!strcmp(s, "none"))
			cfg->iommu = IOMMU_NONE;
		else
			cfg_report(c, kv->value->pos,
				   "'model' must be \"intel\" or \"none\", found \"%s\"",
				   cfg_printable(s, shown, sizeof(shown)));
	}
}

static const char *const table_names[] = {"machine", "cpu", "console", "firmware", "iommu", NULL};
/* Device kinds still to come (docs/config.md, "Devices"). */
static const char *const device_kinds[] = {NULL};

static void load_root(struct ctx *c, const struct toml_value *root, struct machine_config *cfg)
{
	const struct toml_keyval *firmware = NULL, *boot = NULL;
	bool have_machine = false, machine_firmware = false;
	char k[80];

	for (size_t i = 0; i < root->table.len; i++) {
		const struct toml_keyval *kv = &root->table.items[i];
		const char *hint;
		bool device = false;

		for (size_t d = 0; device_kinds[d]; d++)
			device |= !strcmp(kv->key, device_kinds[d]);
		if (device) {
			cfg_report(c, kv->value->pos, "device kind [[%s]] is not supported yet",
				   kv->key);
			continue;
		}
		if (cfg_is_device_table(kv->key)) {
			cfg_load_devices(c, kv, cfg);
			continue;
		}
		if (!strcmp(kv->key, "nvme_subsystem")) {
			cfg_load_subsystems(c, kv, cfg);
			continue;
		}
		if (!strcmp(kv->key, "iommu")) {
			if (cfg_want_type(c, kv, TOML_TABLE))
				load_iommu(c, kv, cfg);
			continue;
		}
		if (!strcmp(kv->key, "firmware")) {
			firmware = kv;
			if (cfg_want_type(c, kv, TOML_TABLE))
				load_firmware(c, kv, cfg);
			continue;
		}
		if (!strcmp(kv->key, "machine") || !strcmp(kv->key, "cpu") ||
		    !strcmp(kv->key, "console")) {
			have_machine |= kv->key[1] == 'a';
			if (!cfg_want_type(c, kv, TOML_TABLE))
				continue;
			if (kv->key[1] == 'a') {
				load_machine(c, kv, cfg);
				boot = toml_table_find(kv->value, "boot");
				for (size_t j = 0; j < kv->value->table.len; j++)
					machine_firmware |=
						!strcmp(kv->value->table.items[j].key, "firmware");
			} else if (kv->key[1] == 'p') {
				load_cpu(c, kv, cfg);
			} else {
				load_console(c, kv, cfg);
			}
			continue;
		}
		cfg_printable(kv->key, k, sizeof(k));
		hint = cfg_suggest(kv->key, table_names);
		if (kv->value->type != TOML_TABLE)
			cfg_report(c, kv->pos, "unknown top-level key '%s'%s%s%s", k,
				   hint ? "; did you mean [" : "", hint ? hint : "",
				   hint ? "]?" : "");
		else
			cfg_report(c, kv->pos, "unknown table [%s]%s%s%s", k,
				   hint ? "; did you mean [" : "", hint ? hint : "",
				   hint ? "]?" : "");
	}
	cfg_check_devices(c, cfg);
	cfg_check_subsystems(c, cfg);
	if (cfg->vcpu_affinity && cfg->nvcpu_affinity != cfg->cpus)
		cfg_report(c, (struct toml_pos){1, 1},
			   "[cpu] affinity lists %d host CPUs for %d vCPUs: give one per vCPU",
			   cfg->nvcpu_affinity, cfg->cpus);
	load_boot(c, boot, machine_firmware, cfg);
	if (firmware && have_machine && !machine_firmware)
		cfg_report(c, firmware->pos, "[firmware] needs 'firmware' in [machine]");
	if (!have_machine)
		cfg_report(c, (struct toml_pos){1, 1},
			   "missing table [machine] (it needs at least "
			   "'kernel')");
}

void config_free(struct machine_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->source);
	free(cfg->firmware);
	free(cfg->firmware_opts.debugcon);
	free(cfg->kernel);
	free(cfg->initrd);
	free(cfg->cmdline);
	for (int i = 0; i < cfg->nboot; i++)
		free(cfg->boot[i]);
	free(cfg->boot);
	free(cfg->console.log);
	free(cfg->vcpu_affinity);
	for (int i = 0; i < cfg->ndevices; i++) {
		struct nvme_dev_config *n = &cfg->devices[i].nvme;

		free(cfg->devices[i].id);
		free(cfg->devices[i].bus);
		free(cfg->devices[i].ntb.rendezvous);
		free(n->serial);
		free(n->model);
		free(n->pmr);
		free(n->nsmgmt_backend);
		free(n->subsystem);
		cfg_free_namespaces(n->ns, n->nns);
	}
	free(cfg->devices);
	for (int i = 0; i < cfg->nsubsystems; i++) {
		free(cfg->subsystems[i].name);
		free(cfg->subsystems[i].subnqn);
		free(cfg->subsystems[i].serial);
		cfg_free_namespaces(cfg->subsystems[i].ns, cfg->subsystems[i].nns);
	}
	free(cfg->subsystems);
	memset(cfg, 0, sizeof(*cfg));
}

int config_load_string(const char *text, const char *name, const char *base_dir,
		       struct machine_config *out, char **errors)
{
	struct ctx c = {.name = name ? name : "<config>", .base_dir = base_dir};
	struct toml_error terr;
	struct toml_value *root = NULL;
	size_t len;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	*errors = NULL;
	out->memory = MiB(256);
	out->cpus = 1;
	out->cpu_model = CPU_MODEL_HOST;
	out->console.input = true;
	out->source = cfg_dup(&c, c.name);

	/* As in config_load_file: a text too large to be a configuration is not parsed at all. */
	len = text ? strnlen(text, CONFIG_MAX_FILE + 1) : 0;
	if (len > CONFIG_MAX_FILE)
		cfg_report(&c, (struct toml_pos){1, 1},
			   "the configuration is larger than 1 MiB; a configuration file is at "
			   "most 1 MiB");
	else if (!(root = toml_parse(text, len, &terr)))
		cfg_report(&c, terr.pos, "%s", terr.msg);
	else
		load_root(&c, root, out);
	toml_free(root);

	if (c.n || c.oom) {
		ret = c.oom && !c.n ? -ENOMEM : -EINVAL;
		config_free(out);
	}
	*errors = cfg_report_take(&c);
	free(c.dev_pos);
	return ret;
}

int config_load_file(const char *path, struct machine_config *out, char **errors)
{
	char *text = NULL, *dir, *slash;
	uint8_t *buf;
	size_t len;
	int ret;

	memset(out, 0, sizeof(*out));
	*errors = NULL;
	/* The limit is checked before reading: a huge file is refused without a huge buffer. */
	ret = read_file(path, CONFIG_MAX_FILE, &buf, &len);
	if (ret == -EFBIG) {
		if (asprintf(errors,
			     "%s: cannot read configuration: it is %zu bytes; a configuration file "
			     "is at most 1 MiB\n",
			     path, len) < 0)
			*errors = NULL;
		return ret;
	}
	if (ret < 0) {
		if (asprintf(errors, "%s: cannot read configuration: %s\n", path, strerror(-ret)) <
		    0)
			*errors = NULL;
		return ret;
	}
	/* A NUL inside the file would hide the rest of it from the parser. */
	if (memchr(buf, '\0', len)) {
		free(buf);
		if (asprintf(errors, "%s: not a text file (contains NUL bytes)\n", path) < 0)
			*errors = NULL;
		return -EINVAL;
	}
	text = malloc(len + 1);
	dir = strdup(path);
	if (!text || !dir) {
		free(buf);
		free(text);
		free(dir);
		return -ENOMEM;
	}
	memcpy(text, buf, len);
	text[len] = '\0';
	free(buf);
	slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	ret = config_load_string(text, path, dir, out, errors);
	free(text);
	free(dir);
	return ret;
}
