/* SPDX-License-Identifier: MIT */
/*
 * [[nvme_subsystem]]: an NVM subsystem shared by several [[nvme]] controllers
 * (devices/nvme/subsys.h; docs/config.md, "NVM subsystems and multipath"). Parsing collects
 * name, subnqn, serial and the namespaces; checking resolves each controller's 'subsystem'
 * and each namespace's 'controllers' and reports what does not exist, at its file:line:col.
 */
#include <stdlib.h>
#include <string.h>

#include "vmm/config/config_internal.h"

#define MAX_SUBSYSTEMS 32

static const char *const subsys_keys[] = {"name", "subnqn", "serial", "namespaces", NULL};

static void load_one(struct ctx *c, const struct toml_value *t, struct nvme_subsys_config *s)
{
	char shown[40];

	*s = (struct nvme_subsys_config){.line = t->pos.line, .col = t->pos.col};
	for (size_t i = 0; i < t->table.len; i++) {
		const struct toml_keyval *kv = &t->table.items[i];
		const char *v;

		if (!strcmp(kv->key, "name")) {
			v = cfg_get_string(c, kv);
			if (v && !cfg_valid_id(v))
				cfg_report(
					c, kv->value->pos,
					"'name' must be 1 to 32 letters, digits, '_' or '-', found "
					"\"%s\"",
					cfg_printable(v, shown, sizeof(shown)));
			else if (v)
				s->name = cfg_dup(c, v);
		} else if (!strcmp(kv->key, "subnqn")) {
			/* NVMe 2.0 4.5: an NQN of at most 223 bytes (Identify SUBNQN is 256) */
			s->subnqn = cfg_get_ascii(c, kv, 223);
		} else if (!strcmp(kv->key, "serial")) {
			s->serial = cfg_get_ascii(c, kv, 20);
		} else if (!strcmp(kv->key, "namespaces")) {
			cfg_load_namespaces(c, kv, &s->ns, &s->nns, true);
		} else {
			cfg_unknown_key(c, kv, "[nvme_subsystem]", subsys_keys);
		}
	}
	if (!toml_table_find(t, "name"))
		cfg_report(c, t->pos,
			   "missing key 'name' in [[nvme_subsystem]] (what [[nvme]] "
			   "'subsystem' names)");
	if (!toml_table_find(t, "namespaces"))
		cfg_report(c, t->pos, "missing key 'namespaces' in [[nvme_subsystem]]");
}

void cfg_load_subsystems(struct ctx *c, const struct toml_keyval *kv, struct machine_config *cfg)
{
	const struct toml_value *arr = kv->value;

	if (arr->type != TOML_ARRAY) {
		cfg_report(c, kv->pos,
			   "'nvme_subsystem' must be an array of tables: write "
			   "[[nvme_subsystem]]");
		return;
	}
	for (size_t i = 0; i < arr->array.len; i++) {
		const struct toml_value *t = arr->array.items[i];
		struct nvme_subsys_config *ns;

		if (t->type != TOML_TABLE) {
			cfg_report(c, t->pos, "entries of 'nvme_subsystem' must be tables");
			continue;
		}
		if (cfg->nsubsystems >= MAX_SUBSYSTEMS) {
			cfg_report(c, t->pos, "too many NVM subsystems (at most %d)",
				   MAX_SUBSYSTEMS);
			return;
		}
		ns = realloc(cfg->subsystems, (size_t)(cfg->nsubsystems + 1) * sizeof(*ns));
		if (!ns) {
			c->oom = true;
			return;
		}
		cfg->subsystems = ns;
		load_one(c, t, &cfg->subsystems[cfg->nsubsystems++]);
	}
}

static int find_subsys(const struct machine_config *cfg, const char *name, int upto)
{
	for (int i = 0; i < upto; i++)
		if (cfg->subsystems[i].name && !strcmp(cfg->subsystems[i].name, name))
			return i;
	return -1;
}

void cfg_check_subsystems(struct ctx *c, struct machine_config *cfg)
{
	char shown[48];

	for (int i = 0; i < cfg->nsubsystems; i++) {
		struct nvme_subsys_config *s = &cfg->subsystems[i];
		struct toml_pos at = {s->line, s->col};

		if (s->name && find_subsys(cfg, s->name, i) >= 0)
			cfg_report(c, at, "[[nvme_subsystem]] name \"%s\" is used twice", s->name);
		for (int n = 0; n < s->nns; n++) {
			const struct nvme_ns_spec *ns = &s->ns[n];

			/* not built for a shared namespace: zones, metadata (subsys.h) */
			if (ns->zoned || ns->metadata_size)
				cfg_report(
					c, at,
					"namespace %d of subsystem \"%s\": %s namespaces are not "
					"built for subsystems",
					n + 1, s->name ? s->name : "?",
					ns->zoned ? "zoned" : "metadata");
		}
	}
	for (int i = 0; i < cfg->ndevices; i++) {
		struct nvme_dev_config *n = &cfg->devices[i].nvme;
		struct toml_pos at = {n->subsys_line, n->subsys_col};

		if (cfg->devices[i].kind != DEV_NVME || !n->subsystem)
			continue;
		n->subsys = find_subsys(cfg, n->subsystem, cfg->nsubsystems);
		if (n->subsys < 0)
			cfg_report(c, at,
				   "'subsystem' names \"%s\", but there is no "
				   "[[nvme_subsystem]] with that name",
				   cfg_printable(n->subsystem, shown, sizeof(shown)));
	}
	/* Each namespace's controllers: [[nvme]] ids in this subsystem. */
	for (int i = 0; i < cfg->nsubsystems; i++) {
		struct nvme_subsys_config *s = &cfg->subsystems[i];

		for (int n = 0; n < s->nns; n++) {
			struct nvme_ns_spec *ns = &s->ns[n];
			struct toml_pos at = {ns->ctrls_line, ns->ctrls_col};

			for (int k = 0; k < ns->nctrls; k++) {
				int d;

				for (d = 0; d < cfg->ndevices; d++)
					if (cfg->devices[d].id &&
					    !strcmp(cfg->devices[d].id, ns->ctrls[k]))
						break;
				cfg_printable(ns->ctrls[k], shown, sizeof(shown));
				if (d == cfg->ndevices)
					cfg_report(c, at,
						   "'controllers' names \"%s\", but there is no "
						   "device with that id",
						   shown);
				else if (cfg->devices[d].kind != DEV_NVME ||
					 cfg->devices[d].nvme.subsys != i)
					cfg_report(
						c, at,
						"'controllers' names \"%s\", which is no [[nvme]] "
						"with subsystem = \"%s\"",
						shown, s->name ? s->name : "?");
			}
		}
	}
}
