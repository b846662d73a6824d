/* SPDX-License-Identifier: MIT */
/*
 * [[root_port]], [[switch]] and the endpoints ([[testdev]], [[nvme]], [[ntb]], [[plx_dma]]):
 * the PCIe tree, each device naming the port it
 * hangs under by id (docs/config.md, "Devices"). Parsing collects the entries; checking
 * resolves every `bus` to its parent and reports dangling references, clashes, full ports,
 * cycles and trees that do not fit in 256 buses, each at its file:line:col.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/config/config_internal.h"

#define MAX_DEVICES    256
#define MAX_ROOT_PORTS 31 /* device 0 on bus 0 is the host bridge */
#define MAX_BUSES      256
#define MIN_RAM_BAR    KiB(4)
#define MAX_RAM_BAR    GiB(64)
#define MAX_MSIX       2048 /* PCIe 5.0 7.7.2.2: Table Size is 11 bits */
/* sun_path holds 108 bytes with the terminating NUL */
#define MAX_SOCKET_PATH (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

static const struct {
	const char *name;
	enum dev_kind kind;
	const char *const *keys;
} kinds[] = {
	{"root_port", DEV_ROOT_PORT, (const char *const[]){"id", "bus", "slot", "acs", NULL}},
	{"switch", DEV_SWITCH, (const char *const[]){"id", "bus", "downstream", "acs", NULL}},
	{"testdev", DEV_TESTDEV, (const char *const[]){"id", "bus", "ram_bar", "msix", NULL}},
	{"plx_dma", DEV_PLX_DMA, (const char *const[]){"id", "bus", NULL}},
	{"ntb", DEV_NTB,
	 (const char *const[]){"id", "bus", "port", "rendezvous", "mw_size", "mw_type",
			       "personality", NULL}},
	{"nvme", DEV_NVME,
	 (const char *const[]){"id", "bus", "serial", "model", "queues", "queue_size", "mdts",
			       "namespaces", "cmb", "pmr", "pmr_size", "iothread", "poll_idle_us",
			       "poll_inflight_us", "nsmgmt_capacity", "nsmgmt_backend",
			       "iothread_cpu", "subsystem", NULL}},
};

const char *dev_kind_name(enum dev_kind kind)
{
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (kinds[i].kind == kind)
			return kinds[i].name;
	return "?";
}

static const char *const ns_keys[] = {
	"backend",	 "size",      "path",	       "lba_size",    "cache",
	"zoned",	 "zone_size", "zone_capacity", "max_open",    "max_active",
	"metadata_size", "metadata",  "pi_type",       "pi_location", NULL};

#define positions  (c->dev_pos)
#define npositions (c->ndev_pos)

bool cfg_is_device_table(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (!strcmp(name, kinds[i].name))
			return true;
	return false;
}

static bool valid_id(const char *s)
{
	if (!s[0] || strlen(s) > 32)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
			return false;
	return true;
}

static bool get_int(struct ctx *c, const struct toml_keyval *kv, long lo, long hi, int *out)
{
	if (!cfg_want_type(c, kv, TOML_INTEGER))
		return false;
	if (kv->value->integer < lo || kv->value->integer > hi) {
		cfg_report(c, kv->value->pos, "'%s' must be between %ld and %ld, found %lld",
			   kv->key, lo, hi, (long long)kv->value->integer);
		return false;
	}
	*out = (int)kv->value->integer;
	return true;
}

#define NVME_MAX_QUEUES	     64
#define NVME_DEFAULT_NS_SIZE MiB(64)
#define ZONE_SIZE_DEFAULT    MiB(64) /* NVME_ZNS_DEFAULT_ZONE_SIZE in devices/nvme/nvme.h */

/* Identify strings are ASCII, space padded (NVMe 1.4 5.15.2.2): no room for anything else. */
static char *get_ascii(struct ctx *c, const struct toml_keyval *kv, size_t max)
{
	const char *s = cfg_get_string(c, kv);

	if (!s)
		return NULL;
	for (const char *p = s; *p; p++) {
		if (*p < 0x20 || *p > 0x7e) {
			cfg_report(c, kv->value->pos, "'%s' must be printable ASCII", kv->key);
			return NULL;
		}
	}
	if (!s[0] || strlen(s) > max) {
		cfg_report(c, kv->value->pos, "'%s' must be 1 to %zu characters", kv->key, max);
		return NULL;
	}
	return cfg_dup(c, s);
}

static const char *const subsys_ns_keys[] = {"backend", "size",	       "path",	    "lba_size",
					     "cache",	"controllers", "ana_group", NULL};

/* [[nvme_subsystem]] namespaces: 'controllers' = ["nvme0", ...] and 'ana_group'. */
static bool load_subsys_ns_key(struct ctx *c, const struct toml_keyval *kv, struct nvme_ns_spec *ns)
{
	const struct toml_value *a = kv->value;

	if (!strcmp(kv->key, "ana_group"))
		return get_int(c, kv, 1, 16, &ns->ana_group), true;
	if (strcmp(kv->key, "controllers"))
		return false;
	ns->ctrls_line = a->pos.line;
	ns->ctrls_col = a->pos.col;
	if (!cfg_want_type(c, kv, TOML_ARRAY))
		return true;
	if (a->array.len == 0 || a->array.len > 64) {
		cfg_report(c, a->pos, "'controllers' must list 1 to 64 [[nvme]] ids");
		return true;
	}
	ns->ctrls = calloc(a->array.len, sizeof(*ns->ctrls));
	if (!ns->ctrls) {
		c->oom = true;
		return true;
	}
	for (size_t i = 0; i < a->array.len; i++) {
		const struct toml_value *v = a->array.items[i];

		if (v->type != TOML_STRING || strlen(v->string.ptr) != v->string.len) {
			cfg_report(c, a->array.items[i]->pos,
				   "'controllers' lists [[nvme]] ids "
				   "(strings)");
			continue;
		}
		ns->ctrls[ns->nctrls++] = cfg_dup(c, v->string.ptr);
	}
	return true;
}

static void load_namespace(struct ctx *c, const struct toml_value *t, struct nvme_ns_spec *ns,
			   bool subsys)
{
	struct toml_pos path_pos = t->pos, size_pos = t->pos, zcap_pos = t->pos;
	struct toml_pos open_pos = t->pos, md_pos = t->pos;
	bool have_size = false, have_zone_key = false, have_md_key = false;

	*ns = (struct nvme_ns_spec){.lba_size = 512, .ana_group = 1};
	for (size_t i = 0; i < t->table.len; i++) {
		const struct toml_keyval *kv = &t->table.items[i];
		const char *s;
		int v = 0;

		if (!strcmp(kv->key, "backend")) {
			s = cfg_get_string(c, kv);
			if (s && strcmp(s, "ram") && strcmp(s, "null") && strcmp(s, "file"))
				cfg_report(c, kv->value->pos,
					   "'backend' must be \"ram\", \"null\" or \"file\"");
			else if (s)
				ns->backend = cfg_dup(c, s);
		} else if (!strcmp(kv->key, "size")) {
			size_pos = kv->value->pos;
			have_size = cfg_get_size(c, kv, &ns->size);
		} else if (!strcmp(kv->key, "path")) {
			path_pos = kv->value->pos;
			s = cfg_get_string(c, kv);
			if (s && s[0])
				ns->path = cfg_resolve(c, s);
			else if (s)
				cfg_report(c, kv->value->pos, "'path' must not be empty");
		} else if (!strcmp(kv->key, "cache")) {
			s = cfg_get_string(c, kv);
			if (s && strcmp(s, "none") && strcmp(s, "writeback"))
				cfg_report(c, kv->value->pos,
					   "'cache' must be \"none\" (O_DIRECT) or \"writeback\"");
			else if (s)
				ns->cache = cfg_dup(c, s);
		} else if (!strcmp(kv->key, "lba_size")) {
			if (get_int(c, kv, 512, 4096, &v) && v != 512 && v != 4096)
				cfg_report(c, kv->value->pos, "'lba_size' must be 512 or 4096");
			else if (v == 512 || v == 4096)
				ns->lba_size = (unsigned)v;
		} else if (!strcmp(kv->key, "zoned")) {
			cfg_get_bool(c, kv, &ns->zoned);
		} else if (!strcmp(kv->key, "zone_size")) {
			have_zone_key = true;
			if (cfg_get_size(c, kv, &ns->zone_size) &&
			    (ns->zone_size < 4096 || (ns->zone_size & (ns->zone_size - 1))))
				cfg_report(c, kv->value->pos,
					   "'zone_size' must be a power of two of at least 4 KiB");
		} else if (!strcmp(kv->key, "zone_capacity")) {
			zcap_pos = kv->value->pos;
			have_zone_key = true;
			if (cfg_get_size(c, kv, &ns->zone_capacity) &&
			    (ns->zone_capacity == 0 || ns->zone_capacity % 4096))
				cfg_report(c, kv->value->pos,
					   "'zone_capacity' must be a non-zero multiple of 4 KiB");
		} else if (!strcmp(kv->key, "max_open")) {
			open_pos = kv->value->pos;
			have_zone_key = true;
			get_int(c, kv, 0, 1 << 20, &ns->max_open);
		} else if (!strcmp(kv->key, "max_active")) {
			have_zone_key = true;
			get_int(c, kv, 0, 1 << 20, &ns->max_active);
		} else if (!strcmp(kv->key, "metadata_size")) {
			md_pos = kv->value->pos;
			if (get_int(c, kv, 0, 64, &v) && v != 0 && v != 8 && v != 16 && v != 64)
				cfg_report(c, kv->value->pos,
					   "'metadata_size' must be 0, 8, 16 or 64");
			else
				ns->metadata_size = v;
		} else if (!strcmp(kv->key, "metadata")) {
			have_md_key = true;
			s = cfg_get_string(c, kv);
			if (s && strcmp(s, "separate") && strcmp(s, "extended"))
				cfg_report(
					c, kv->value->pos,
					"'metadata' must be \"separate\" (MPTR) or \"extended\"");
			else if (s)
				ns->extended_lba = !strcmp(s, "extended");
		} else if (!strcmp(kv->key, "pi_type")) {
			have_md_key = true;
			get_int(c, kv, 0, 3, &ns->pi_type);
		} else if (!strcmp(kv->key, "pi_location")) {
			have_md_key = true;
			s = cfg_get_string(c, kv);
			if (s && strcmp(s, "first") && strcmp(s, "last"))
				cfg_report(c, kv->value->pos,
					   "'pi_location' must be \"first\" or \"last\" (8 bytes)");
			else if (s)
				ns->pi_first = !strcmp(s, "first");
		} else if (!subsys || !load_subsys_ns_key(c, kv, ns)) {
			cfg_unknown_key(c, kv, "namespace", subsys ? subsys_ns_keys : ns_keys);
		}
	}
	if (!ns->backend)
		ns->backend = cfg_dup(c, "ram");
	if (!ns->backend)
		return;
	if (have_zone_key && !ns->zoned)
		cfg_report(c, t->pos, "zone keys need 'zoned = true'");
	if (have_md_key && !ns->metadata_size)
		cfg_report(c, t->pos,
			   "'metadata', 'pi_type' and 'pi_location' need 'metadata_size'");
	if (ns->zoned && ns->metadata_size)
		cfg_report(c, md_pos, "a zoned namespace cannot have metadata");
	if (ns->zoned) {
		uint64_t zsz = ns->zone_size ? ns->zone_size : ZONE_SIZE_DEFAULT;

		if (!strcmp(ns->backend, "null"))
			cfg_report(c, t->pos,
				   "'zoned' needs a \"ram\" or \"file\" backend, "
				   "not \"null\"");
		if (ns->zone_capacity > zsz)
			cfg_report(c, zcap_pos, "'zone_capacity' must not exceed the zone size");
		if (ns->max_active && ns->max_open > ns->max_active)
			cfg_report(c, open_pos, "'max_open' must not exceed 'max_active'");
		/* "file" without 'size' takes the file's size: the device checks that one. */
		if ((have_size || strcmp(ns->backend, "file")) &&
		    (have_size ? ns->size : NVME_DEFAULT_NS_SIZE) < zsz)
			cfg_report(c, size_pos, "a zoned namespace must hold at least one zone");
	}
	if (!strcmp(ns->backend, "file")) {
		struct stat st;

		if (!ns->path) {
			cfg_report(c, t->pos, "a \"file\" namespace needs 'path'");
			return;
		}
		if (stat(ns->path, &st) < 0 || (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))) {
			cfg_report(c, path_pos,
				   "'%s' is not a regular file or block device (create one with "
				   "`truncate -s 1G FILE`)",
				   ns->path);
			return;
		}
		if (access(ns->path, R_OK | W_OK) < 0)
			cfg_report(c, path_pos, "'%s' is not readable and writable", ns->path);
		if (S_ISREG(st.st_mode) && have_size && ns->size > (uint64_t)st.st_size)
			cfg_report(c, size_pos, "'size' is larger than '%s' (%lld bytes)", ns->path,
				   (long long)st.st_size);
	} else {
		if (ns->path)
			cfg_report(c, path_pos, "'path' only applies to the \"file\" backend");
		if (ns->cache)
			cfg_report(c, t->pos, "'cache' only applies to the \"file\" backend");
		if (!have_size)
			ns->size = NVME_DEFAULT_NS_SIZE;
	}
	if (have_size && (ns->size == 0 || ns->size % 4096))
		cfg_report(c, size_pos, "namespace 'size' must be a non-zero multiple of 4 KiB");
}

void cfg_load_namespaces(struct ctx *c, const struct toml_keyval *kv, struct nvme_ns_spec **nsp,
			 int *nns, bool subsys)
{
	const struct toml_value *a = kv->value;
	struct nvme_ns_spec *ns;

	if (!cfg_want_type(c, kv, TOML_ARRAY))
		return;
	if (a->array.len == 0 || a->array.len > 256) {
		cfg_report(c, a->pos, "'namespaces' must list 1 to 256 namespaces");
		return;
	}
	ns = *nsp = calloc(a->array.len, sizeof(*ns));
	if (!ns) {
		c->oom = true;
		return;
	}
	for (size_t i = 0; i < a->array.len; i++) {
		const struct toml_value *t = a->array.items[i];

		if (t->type != TOML_TABLE) {
			cfg_report(c, t->pos,
				   "each namespace is a table, e.g. { backend = \"ram\", size = "
				   "\"1G\" }");
			continue;
		}
		load_namespace(c, t, &ns[(*nns)++], subsys);
	}
}

void cfg_free_namespaces(struct nvme_ns_spec *ns, int nns)
{
	for (int j = 0; j < nns; j++) {
		free(ns[j].backend);
		free(ns[j].path);
		free(ns[j].cache);
		for (int k = 0; k < ns[j].nctrls; k++)
			free(ns[j].ctrls[k]);
		free(ns[j].ctrls);
	}
	free(ns);
}

bool cfg_valid_id(const char *s)
{
	return valid_id(s);
}

char *cfg_get_ascii(struct ctx *c, const struct toml_keyval *kv, size_t max)
{
	return get_ascii(c, kv, max);
}

static void load_nvme_key(struct ctx *c, const struct toml_keyval *kv, struct dev_config *d,
			  bool *handled)
{
	struct nvme_dev_config *n = &d->nvme;
	uint64_t v;

	*handled = true;
	if (!strcmp(kv->key, "serial")) {
		n->serial = get_ascii(c, kv, 20);
	} else if (!strcmp(kv->key, "model")) {
		n->model = get_ascii(c, kv, 40);
	} else if (!strcmp(kv->key, "queues")) {
		get_int(c, kv, 1, NVME_MAX_QUEUES, &n->queues);
	} else if (!strcmp(kv->key, "queue_size")) {
		get_int(c, kv, 2, 65536, &n->queue_size);
	} else if (!strcmp(kv->key, "mdts")) {
		if (!cfg_get_size(c, kv, &v))
			return;
		/* NVMe 1.4 5.15.2.2: MDTS is a power of two in units of the 4 KiB minimum page;
		 * Linux's nvmet allows up to 2 MiB. */
		if (!IS_POW2(v) || v < KiB(4) || v > MiB(2))
			cfg_report(c, kv->value->pos,
				   "'mdts' must be a power of two from 4K to 2M");
		else
			n->mdts = v;
	} else if (!strcmp(kv->key, "namespaces")) {
		cfg_load_namespaces(c, kv, &n->ns, &n->nns, false);
	} else if (!strcmp(kv->key, "subsystem")) {
		const char *sn = cfg_get_string(c, kv);

		n->subsys_line = kv->value->pos.line;
		n->subsys_col = kv->value->pos.col;
		if (sn)
			n->subsystem = cfg_dup(c, sn);
	} else if (!strcmp(kv->key, "cmb")) {
		if (!cfg_get_size(c, kv, &v))
			return;
		/* Linux uses a CMB only when it is 2 MiB aligned (nvme_map_cmb) */
		if (v && (!IS_POW2(v) || v < MiB(2) || v > GiB(64)))
			cfg_report(c, kv->value->pos,
				   "'cmb' must be 0 or a power of two from 2M to 64G");
		else
			n->cmb = v;
	} else if (!strcmp(kv->key, "pmr")) {
		const char *s = cfg_get_string(c, kv);

		if (s && !s[0])
			cfg_report(c, kv->value->pos, "'pmr' must not be empty");
		else if (s)
			n->pmr = cfg_resolve(c, s);
	} else if (!strcmp(kv->key, "pmr_size")) {
		if (!cfg_get_size(c, kv, &v))
			return;
		if (!IS_POW2(v) || v < KiB(4) || v > GiB(64))
			cfg_report(c, kv->value->pos,
				   "'pmr_size' must be a power of two from 4K to 64G");
		else
			n->pmr_size = v;
	} else if (!strcmp(kv->key, "iothread")) {
		cfg_get_bool(c, kv, &n->iothread);
	} else if (!strcmp(kv->key, "poll_idle_us")) {
		int us;

		/* 0 polls for no time: never, as -1. (The device takes 0 for its default.) */
		if (get_int(c, kv, -1, 10000000, &us))
			n->poll_idle_us = us <= 0 ? UINT32_MAX : (uint32_t)us;
	} else if (!strcmp(kv->key, "poll_inflight_us")) {
		int us;

		if (get_int(c, kv, -1, 10000000, &us))
			n->poll_inflight_us = us < 0 ? UINT32_MAX : (uint32_t)us;
	} else if (!strcmp(kv->key, "iothread_cpu")) {
		int cpu;

		if (get_int(c, kv, 0, (long)sysconf(_SC_NPROCESSORS_CONF) - 1, &cpu))
			n->iothread_cpu = cpu;
	} else if (!strcmp(kv->key, "nsmgmt_capacity")) {
		if (!cfg_get_size(c, kv, &v))
			return;
		if (v % KiB(4))
			cfg_report(c, kv->value->pos,
				   "'nsmgmt_capacity' must be a multiple of 4 KiB (0: off)");
		else
			n->nsmgmt_capacity = v;
	} else if (!strcmp(kv->key, "nsmgmt_backend")) {
		const char *s = cfg_get_string(c, kv);

		if (s && strcmp(s, "ram") && strcmp(s, "null"))
			cfg_report(c, kv->value->pos,
				   "'nsmgmt_backend' must be \"ram\" or \"null\"");
		else if (s)
			n->nsmgmt_backend = cfg_dup(c, s);
	} else {
		*handled = false;
	}
}

/* The IDT switch's NT-capable ports (ntb_hw_idt.c, idt_ntb_portnums). */
static const unsigned ntb_ports[] = {0, 2, 4, 6, 8, 12};

/* "dir", "lut12" or "lut24": 0, 12, 24 in *n; false (reported) otherwise. */
static bool mw_type_of(struct ctx *c, const struct toml_value *v, uint8_t *n)
{
	if (v->type == TOML_STRING) {
		if (!strcmp(v->string.ptr, "dir"))
			*n = 0;
		else if (!strcmp(v->string.ptr, "lut12"))
			*n = 12;
		else if (!strcmp(v->string.ptr, "lut24"))
			*n = 24;
		else
			goto bad;
		return true;
	}
bad:
	cfg_report(c, v->pos, "'mw_type' entries must be \"dir\", \"lut12\" or \"lut24\"");
	return false;
}

/* mw_type = "lut12" (both windows) or [ "dir", "lut24" ] (BAR2, BAR4). */
static void load_mw_type(struct ctx *c, const struct toml_keyval *kv, struct dev_config *d)
{
	const struct toml_value *v = kv->value;
	uint8_t n[2];

	if (v->type == TOML_ARRAY) {
		if (v->array.len != 2) {
			cfg_report(c, v->pos,
				   "'mw_type' must be one type or an array of two (BAR2, "
				   "BAR4)");
			return;
		}
		if (!mw_type_of(c, v->array.items[0], &n[0]) ||
		    !mw_type_of(c, v->array.items[1], &n[1]))
			return;
	} else {
		if (!mw_type_of(c, v, &n[0]))
			return;
		n[1] = n[0];
	}
	/* ntb_hw_idt.c, "Memory Window operations": BAR2 and BAR4 can't both be LUT24. */
	if (n[0] == 24 && n[1] == 24) {
		cfg_report(c, v->pos, "'mw_type': BAR2 and BAR4 cannot both be \"lut24\"");
		return;
	}
	/* idt_scan_mws fails a probe that finds more than IDT_MAX_NR_MWS (29) windows. */
	if (n[0] + n[1] == 36) {
		cfg_report(c, v->pos,
			   "'mw_type': \"lut12\" with \"lut24\" is 36 windows; Linux's ntb_hw_idt "
			   "takes at most 29");
		return;
	}
	d->ntb.mw_lut[0] = n[0];
	d->ntb.mw_lut[1] = n[1];
}

static void load_ntb_key(struct ctx *c, const struct toml_keyval *kv, struct dev_config *d,
			 bool *handled)
{
	uint64_t v;
	int port;

	*handled = true;
	if (!strcmp(kv->key, "port")) {
		if (!get_int(c, kv, 0, 12, &port))
			return;
		for (size_t i = 0; i < ARRAY_SIZE(ntb_ports); i++)
			if ((unsigned)port == ntb_ports[i]) {
				d->ntb.port = (unsigned)port;
				return;
			}
		cfg_report(c, kv->value->pos, "'port' must be one of 0, 2, 4, 6, 8, 12");
	} else if (!strcmp(kv->key, "rendezvous")) {
		const char *s = cfg_get_string(c, kv);
		char *path;

		if (s && !s[0])
			cfg_report(c, kv->value->pos, "'rendezvous' must not be empty");
		if (!s || !s[0] || !(path = cfg_resolve(c, s)))
			return;
		/* The link binds and connects to it as is: no truncation (devices/ntb/link.c). */
		if (strlen(path) > MAX_SOCKET_PATH) {
			cfg_report(
				c, kv->value->pos,
				"'rendezvous' resolves to a path of %zu bytes; a Unix socket path "
				"(sun_path) holds at most %zu",
				strlen(path), MAX_SOCKET_PATH);
			free(path);
			return;
		}
		d->ntb.rendezvous = path;
	} else if (!strcmp(kv->key, "mw_size")) {
		if (!cfg_get_size(c, kv, &v))
			return;
		if (v && (!IS_POW2(v) || v < KiB(4) || v > GiB(512)))
			cfg_report(c, kv->value->pos,
				   "'mw_size' must be 0 or a power of two from 4K to 512G");
		else
			d->ntb.mw_size = v;
	} else if (!strcmp(kv->key, "mw_type")) {
		load_mw_type(c, kv, d);
	} else if (!strcmp(kv->key, "personality")) {
		const char *s = cfg_get_string(c, kv);

		if (s && strcmp(s, "idt") && strcmp(s, "epf"))
			cfg_report(c, kv->value->pos, "'personality' must be \"idt\" or \"epf\"");
		else if (s)
			d->ntb.epf = !strcmp(s, "epf");
	} else {
		*handled = false;
	}
}

/*
 * epf: 32-bit BARs, BAR2 = doorbells + MW1 (NTB_EPF_MAX_MW_SIZE in devices/ntb/ntb.h). The
 * default window is 4 MiB: ntb_transport backs each window with one physically contiguous
 * buffer (ntb_alloc_mw_buffer), and without CMA Linux allocates at most 4 MiB in one piece.
 */
static void check_ntb(struct ctx *c, const struct toml_value *t, struct dev_config *d)
{
	const struct toml_keyval *mw = NULL;

	if (!d->ntb.epf)
		return;
	for (size_t i = 0; i < t->table.len; i++)
		if (!strcmp(t->table.items[i].key, "mw_size"))
			mw = &t->table.items[i];
	if (!mw)
		d->ntb.mw_size = MiB(4);
	else if (!d->ntb.mw_size || d->ntb.mw_size > MiB(256))
		cfg_report(c, mw->value->pos,
			   "'mw_size' must be a power of two from 4K to 256M with "
			   "personality = \"epf\" (32-bit BARs)");
}

/*
 * The PMR's backing file as the device will open it (devices/nvme/pmr.c, pmr_open): created
 * at pmr_size when missing or empty, else exactly pmr_size bytes, or without pmr_size a size
 * the PMR can have. Persistent data is never truncated or extended.
 */
static void check_pmr(struct ctx *c, const struct toml_value *t, struct nvme_dev_config *n)
{
	const struct toml_keyval *pmr = toml_table_find(t, "pmr");
	const struct toml_keyval *size = toml_table_find(t, "pmr_size");
	struct stat st;

	if (!pmr)
		return;
	if (stat(n->pmr, &st) < 0) {
		if (errno != ENOENT)
			cfg_report(c, pmr->value->pos, "'pmr' %s: %s", n->pmr, strerror(errno));
		else if (!n->pmr_size)
			cfg_report(c, pmr->value->pos,
				   "'pmr' %s does not exist: set 'pmr_size' to create it", n->pmr);
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		cfg_report(c, pmr->value->pos, "'pmr' %s is not a regular file", n->pmr);
	} else if (st.st_size == 0) {
		if (!n->pmr_size)
			cfg_report(c, pmr->value->pos,
				   "'pmr' %s is empty: set 'pmr_size' to give it a size", n->pmr);
	} else if (n->pmr_size && (uint64_t)st.st_size != n->pmr_size) {
		cfg_report(c, size ? size->value->pos : pmr->value->pos,
			   "'pmr' %s holds %lld bytes but 'pmr_size' is %llu: persistent data is "
			   "never truncated or extended",
			   n->pmr, (long long)st.st_size, (unsigned long long)n->pmr_size);
	} else if (!n->pmr_size && (!IS_POW2((uint64_t)st.st_size) || st.st_size < (off_t)KiB(4) ||
				    (uint64_t)st.st_size > GiB(64))) {
		cfg_report(c, pmr->value->pos,
			   "'pmr' %s holds %lld bytes: a PMR is a power of two from 4K to 64G",
			   n->pmr, (long long)st.st_size);
	}
}

static void load_one(struct ctx *c, enum dev_kind kind, const char *kname, const char *const *keys,
		     const struct toml_value *t, struct dev_config *d, struct dev_pos *pos)
{
	bool have_id = false;

	*d = (struct dev_config){.kind = kind, .parent = -1, .parent_port = -1};
	*pos = (struct dev_pos){.table = t->pos, .id = t->pos, .bus = t->pos};
	d->line = t->pos.line;
	d->col = t->pos.col;
	if (kind == DEV_SWITCH)
		d->downstream = 2;
	if (kind == DEV_TESTDEV) {
		d->msix_vectors = 4;
		d->ram_bar = MiB(2);
	}
	if (kind == DEV_NTB)
		d->ntb.mw_size = MiB(16);
	if (kind == DEV_NVME) {
		d->nvme.iothread = true;
		d->nvme.iothread_cpu = -1;
		d->nvme.queues = NVME_MAX_QUEUES;
		d->nvme.queue_size = 1024;
		d->nvme.mdts = KiB(512);
		d->nvme.subsys = -1;
	}
	for (size_t i = 0; i < t->table.len; i++) {
		const struct toml_keyval *kv = &t->table.items[i];
		const char *k = kv->key, *s;
		char shown[40];

		if (!strcmp(k, "id")) {
			have_id = true;
			pos->id = kv->value->pos;
			s = cfg_get_string(c, kv);
			if (s && !valid_id(s))
				cfg_report(
					c, kv->value->pos,
					"'id' must be 1 to 32 letters, digits, '_' or '-', found "
					"\"%s\"",
					cfg_printable(s, shown, sizeof(shown)));
			else if (s)
				d->id = cfg_dup(c, s);
		} else if (!strcmp(k, "bus")) {
			pos->bus = kv->value->pos;
			s = cfg_get_string(c, kv);
			if (s)
				d->bus = cfg_dup(c, s);
		} else if (!strcmp(k, "acs") && kind != DEV_TESTDEV && kind != DEV_PLX_DMA) {
			cfg_get_bool(c, kv, &d->acs);
		} else if (!strcmp(k, "slot") && kind == DEV_ROOT_PORT) {
			get_int(c, kv, 1, MAX_ROOT_PORTS, &d->slot);
		} else if (!strcmp(k, "downstream") && kind == DEV_SWITCH) {
			get_int(c, kv, 1, CONFIG_MAX_DOWNSTREAM, &d->downstream);
		} else if (!strcmp(k, "msix") && kind == DEV_TESTDEV) {
			get_int(c, kv, 1, MAX_MSIX, &d->msix_vectors);
		} else if (!strcmp(k, "ram_bar") && kind == DEV_TESTDEV) {
			uint64_t v;

			if (!cfg_get_size(c, kv, &v))
				continue;
			/* PCI 3.0 6.2.5.1: a BAR decodes a naturally aligned power of two */
			if (v && (!IS_POW2(v) || v < MIN_RAM_BAR || v > MAX_RAM_BAR))
				cfg_report(c, kv->value->pos,
					   "'ram_bar' must be 0 or a power of two from 4K to 64G");
			else
				d->ram_bar = v;
		} else {
			bool handled = false;
			char table[40];

			if (kind == DEV_NVME)
				load_nvme_key(c, kv, d, &handled);
			else if (kind == DEV_NTB)
				load_ntb_key(c, kv, d, &handled);
			if (handled)
				continue;
			snprintf(table, sizeof(table), "[%s]", kname);
			cfg_unknown_key(c, kv, table, keys);
		}
	}
	if (kind == DEV_NVME && d->nvme.subsystem && (d->nvme.ns || d->nvme.nsmgmt_capacity))
		cfg_report(c, (struct toml_pos){d->nvme.subsys_line, d->nvme.subsys_col},
			   "a controller in a subsystem has its namespaces from the "
			   "[[nvme_subsystem]]: no 'namespaces' or 'nsmgmt_capacity' here");
	if (kind == DEV_NVME && !d->nvme.ns && !d->nvme.subsystem && !c->oom) {
		/* default: one 64 MiB RAM namespace */
		d->nvme.ns = calloc(1, sizeof(*d->nvme.ns));
		if (d->nvme.ns) {
			d->nvme.ns[0] = (struct nvme_ns_spec){.backend = cfg_dup(c, "ram"),
							      .size = NVME_DEFAULT_NS_SIZE,
							      .lba_size = 512};
			d->nvme.nns = 1;
		} else {
			c->oom = true;
		}
	}
	if (kind == DEV_NVME && d->nvme.pmr_size && !d->nvme.pmr)
		cfg_report(c, t->pos, "'pmr_size' needs 'pmr' (the file backing the PMR)");
	if (kind == DEV_NVME && d->nvme.pmr)
		check_pmr(c, t, &d->nvme);
	if (kind == DEV_NTB)
		check_ntb(c, t, d);
	/* A rendezvous that is there but wrong has had its own message. */
	if (kind == DEV_NTB && !toml_table_find(t, "rendezvous"))
		cfg_report(c, t->pos,
			   "missing key 'rendezvous' in [[ntb]] (the socket path both vmm "
			   "processes of the pair name)");
	if (kind == DEV_NTB && d->ntb.epf && (d->ntb.mw_lut[0] || d->ntb.mw_lut[1]))
		cfg_report(c, t->pos,
			   "'mw_type' lookup tables are an IDT feature: not with personality = "
			   "\"epf\" in [[ntb]]");
	for (int i = 0; kind == DEV_NTB && i < 2; i++) {
		uint64_t min = d->ntb.mw_lut[i] == 24 ? KiB(128) : KiB(64);

		/* A LUT entry is mw_size / 16 or / 32 (idt_scan_mws): keep it a 4 KiB page. */
		if (d->ntb.mw_lut[i] && d->ntb.mw_size < min) {
			cfg_report(c, t->pos,
				   "'mw_type' \"lut%u\" needs 'mw_size' of at least %s in [[ntb]] "
				   "(entries of 4 KiB)",
				   d->ntb.mw_lut[i], d->ntb.mw_lut[i] == 24 ? "128K" : "64K");
			break;
		}
	}
	if (!have_id)
		cfg_report(c, t->pos, "missing key 'id' in [[%s]]", kname);
	if (!d->bus && kind == DEV_ROOT_PORT)
		d->bus = cfg_dup(c, CONFIG_ROOT_BUS);
	else if (!d->bus)
		cfg_report(c, t->pos, "missing key 'bus' in [[%s]] (the id of the port above it)",
			   kname);
}

void cfg_load_devices(struct ctx *c, const struct toml_keyval *kv, struct machine_config *cfg)
{
	const struct toml_value *arr = kv->value;
	size_t k;

	for (k = 0; k < ARRAY_SIZE(kinds); k++)
		if (!strcmp(kv->key, kinds[k].name))
			break;
	if (arr->type != TOML_ARRAY) {
		cfg_report(c, kv->pos, "'%s' must be an array of tables: write [[%s]]", kv->key,
			   kv->key);
		return;
	}
	for (size_t i = 0; i < arr->array.len; i++) {
		const struct toml_value *t = arr->array.items[i];
		struct dev_config *nd;
		struct dev_pos *np;

		if (t->type != TOML_TABLE) {
			cfg_report(c, t->pos, "entries of '%s' must be tables: write [[%s]]",
				   kv->key, kv->key);
			continue;
		}
		if (cfg->ndevices >= MAX_DEVICES) {
			cfg_report(c, t->pos, "too many devices (at most %d)", MAX_DEVICES);
			return;
		}
		nd = realloc(cfg->devices, (size_t)(cfg->ndevices + 1) * sizeof(*nd));
		if (nd)
			cfg->devices = nd;
		np = realloc(positions, (size_t)(npositions + 1) * sizeof(*np));
		if (np)
			positions = np;
		if (!nd || !np) {
			c->oom = true;
			return;
		}
		load_one(c, kinds[k].kind, kinds[k].name, kinds[k].keys, t,
			 &cfg->devices[cfg->ndevices], &positions[npositions]);
		cfg->ndevices++;
		npositions++;
	}
}

static int find_id(const struct machine_config *cfg, const char *id, int upto)
{
	for (int i = 0; i < upto; i++)
		if (cfg->devices[i].id && !strcmp(cfg->devices[i].id, id))
			return i;
	return -1;
}

/* Resolve d->bus to (parent, port); report what is wrong with it. */
static void resolve_bus(struct ctx *c, struct machine_config *cfg, int i)
{
	struct dev_config *d = &cfg->devices[i];
	const struct toml_pos at = positions[i].bus;
	char shown[48], *dot, *end, name[40];
	long port;
	int p;

	if (!d->bus)
		return;
	cfg_printable(d->bus, shown, sizeof(shown));
	if (!strcmp(d->bus, CONFIG_ROOT_BUS)) {
		if (d->kind != DEV_ROOT_PORT)
			cfg_report(c, at,
				   "only root ports sit on the root bus \"%s\"; put this device "
				   "under a [[root_port]] or a switch port",
				   CONFIG_ROOT_BUS);
		return;
	}
	if (d->kind == DEV_ROOT_PORT) {
		cfg_report(c, at, "a root port's 'bus' must be \"%s\", found \"%s\"",
			   CONFIG_ROOT_BUS, shown);
		return;
	}
	dot = strchr(d->bus, '.');
	if (!dot) {
		p = find_id(cfg, d->bus, cfg->ndevices);
		if (p < 0) {
			cfg_report(c, at, "'bus' names \"%s\", which is no port of this machine",
				   shown);
		} else if (cfg->devices[p].kind == DEV_SWITCH) {
			cfg_report(c, at,
				   "\"%s\" is a switch; name one of its downstream ports, e.g. "
				   "\"%s.0\"",
				   shown, shown);
		} else if (cfg->devices[p].kind != DEV_ROOT_PORT) {
			cfg_report(c, at, "\"%s\" is an endpoint, not a port", shown);
		} else {
			d->parent = p;
		}
		return;
	}
	snprintf(name, sizeof(name), "%.*s", (int)(dot - d->bus), d->bus);
	p = find_id(cfg, name, cfg->ndevices);
	errno = 0;
	port = strtol(dot + 1, &end, 10);
	if (p < 0 || cfg->devices[p].kind != DEV_SWITCH) {
		cfg_report(c, at, "'bus' names \"%s\", but there is no switch \"%s\"", shown,
			   cfg_printable(name, name, sizeof(name)));
	} else if (!dot[1] || *end || errno || port < 0 || port >= cfg->devices[p].downstream) {
		cfg_report(c, at, "switch \"%s\" has downstream ports %s.0 to %s.%d; no \"%s\"",
			   cfg->devices[p].id, cfg->devices[p].id, cfg->devices[p].id,
			   cfg->devices[p].downstream - 1, shown);
	} else {
		d->parent = p;
		d->parent_port = (int)port;
	}
}

void cfg_check_devices(struct ctx *c, struct machine_config *cfg)
{
	int nroot = 0, buses = 1;
	bool slots[MAX_ROOT_PORTS + 1] = {false};

	for (int i = 0; i < cfg->ndevices; i++) {
		struct dev_config *d = &cfg->devices[i];
		int prev;

		if (!d->id)
			continue;
		if (!strcmp(d->id, CONFIG_ROOT_BUS))
			cfg_report(c, positions[i].id, "'id' \"%s\" is the root bus's name",
				   CONFIG_ROOT_BUS);
		prev = find_id(cfg, d->id, i);
		if (prev >= 0)
			cfg_report(c, positions[i].id,
				   "'id' \"%s\" is already used by the device at line %d", d->id,
				   cfg->devices[prev].line);
	}
	for (int i = 0; i < cfg->ndevices; i++)
		resolve_bus(c, cfg, i);

	for (int i = 0; i < cfg->ndevices; i++) {
		struct dev_config *d = &cfg->devices[i];
		int hops = 0;

		/* One device per port (a PCIe link has one end on each side). */
		for (int j = 0; j < i && d->parent >= 0; j++) {
			if (cfg->devices[j].parent == d->parent &&
			    cfg->devices[j].parent_port == d->parent_port) {
				cfg_report(c, positions[i].bus,
					   "port \"%s\" already has a device (\"%s\", line %d)",
					   d->bus, cfg->devices[j].id ? cfg->devices[j].id : "?",
					   cfg->devices[j].line);
				break;
			}
		}
		for (int p = d->parent; p >= 0; p = cfg->devices[p].parent) {
			if (++hops > cfg->ndevices || p == i) {
				cfg_report(c, positions[i].bus,
					   "device \"%s\" is (indirectly) below itself", d->id);
				d->parent = -1;
				break;
			}
		}
		if (d->kind == DEV_ROOT_PORT) {
			nroot++;
			buses++;
			if (d->slot && slots[d->slot])
				cfg_report(c, positions[i].table,
					   "slot %d on the root bus is taken twice", d->slot);
			if (d->slot)
				slots[d->slot] = true;
		} else if (d->kind == DEV_SWITCH) {
			buses += 1 + d->downstream; /* internal bus + one per downstream port */
		}
	}
	if (nroot > MAX_ROOT_PORTS)
		cfg_report(c, positions[cfg->ndevices - 1].table,
			   "%d root ports; the root bus has room for %d", nroot, MAX_ROOT_PORTS);
	if (buses > MAX_BUSES)
		cfg_report(c, positions[cfg->ndevices - 1].table,
			   "the PCIe tree needs %d bus numbers; there are %d", buses, MAX_BUSES);
}
