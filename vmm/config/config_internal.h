/* SPDX-License-Identifier: MIT */
/* Shared by the config loader's files (config.c, config_devices.c); not a public interface. */
#ifndef VMM_CONFIG_INTERNAL_H
#define VMM_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "vmm/config/config.h"
#include "vmm/config/toml.h"
#include "vmm/util.h"

struct problem {
	struct toml_pos pos;
	size_t seq;
	char *msg;
};

/* Positions of the device keys that later checks point at, kept beside devices[]. */
struct dev_pos {
	struct toml_pos table, id, bus;
};

struct ctx {
	struct dev_pos *dev_pos;
	int ndev_pos;
	const char *name;
	const char *base_dir;
	struct problem *problems;
	size_t n, cap;
	bool oom;
};

/* A problem at pos; line 0: not in the file (printed as "vmm: message"). */
void cfg_report(struct ctx *c, struct toml_pos pos, const char *fmt, ...) PRINTF(3, 4);
/* All problems in source order as one malloc'd text (NULL if none or out of memory), and
 * the problems freed. */
char *cfg_report_take(struct ctx *c);
const char *cfg_suggest(const char *key, const char *const *known);
const char *cfg_printable(const char *s, char *buf, size_t size);
void cfg_unknown_key(struct ctx *c, const struct toml_keyval *kv, const char *table,
		     const char *const *known);
bool cfg_want_type(struct ctx *c, const struct toml_keyval *kv, enum toml_type type);
bool cfg_get_bool(struct ctx *c, const struct toml_keyval *kv, bool *out);
const char *cfg_get_string(struct ctx *c, const struct toml_keyval *kv);
char *cfg_dup(struct ctx *c, const char *s);
bool cfg_get_size(struct ctx *c, const struct toml_keyval *kv, uint64_t *out);
/* A path as written, made relative to the config file's directory. */
char *cfg_resolve(struct ctx *c, const char *p);

/* config_devices.c */
bool cfg_is_device_table(const char *name);
void cfg_load_devices(struct ctx *c, const struct toml_keyval *kv, struct machine_config *cfg);
void cfg_check_devices(struct ctx *c, struct machine_config *cfg);
bool cfg_valid_id(const char *s);
char *cfg_get_ascii(struct ctx *c, const struct toml_keyval *kv, size_t max);
/* 'namespaces' = [ {...}, ... ]; subsys: the keys of [[nvme_subsystem]] namespaces too. */
void cfg_load_namespaces(struct ctx *c, const struct toml_keyval *kv, struct nvme_ns_spec **ns,
			 int *nns, bool subsys);
void cfg_free_namespaces(struct nvme_ns_spec *ns, int nns);

/* config_subsys.c: [[nvme_subsystem]] */
void cfg_load_subsystems(struct ctx *c, const struct toml_keyval *kv, struct machine_config *cfg);
/* After the devices: resolve [[nvme]] 'subsystem' and namespace 'controllers'. */
void cfg_check_subsystems(struct ctx *c, struct machine_config *cfg);

#endif
