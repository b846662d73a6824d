/* SPDX-License-Identifier: MIT */
/*
 * [[root_port]], [[switch]] and [[testdev]]: the PCIe tree, each device naming the port it
 * hangs under by id (docs/config.md, "Devices"). Parsing collects the entries; checking
 * resolves every `bus` to its parent and reports dangling references, clashes, full ports,
 * cycles and trees that do not fit in 256 buses, each at its file:line:col.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/config_internal.h"

#define MAX_DEVICES    256
#define MAX_ROOT_PORTS 31 /* device 0 on bus 0 is the host bridge */
#define MAX_BUSES      256
#define MIN_RAM_BAR    KiB(4)
#define MAX_RAM_BAR    GiB(64)
#define MAX_MSIX       2048 /* PCIe 5.0 7.7.2.2: Table Size is 11 bits */

static const struct {
	const char *name;
	enum dev_kind kind;
	const char *const *keys;
} kinds[] = {
	{"root_port", DEV_ROOT_PORT, (const char *const[]){"id", "bus", "slot", "acs", NULL}},
	{"switch", DEV_SWITCH, (const char *const[]){"id", "bus", "downstream", "acs", NULL}},
	{"testdev", DEV_TESTDEV, (const char *const[]){"id", "bus", "ram_bar", "msix", NULL}},
};

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
		} else if (!strcmp(k, "acs") && kind != DEV_TESTDEV) {
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
			char table[40];

			snprintf(table, sizeof(table), "[%s]", kname);
			cfg_unknown_key(c, kv, table, keys);
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
