/* SPDX-License-Identifier: MIT */
/* The control socket's requests (ctl.h, docs/control.md). */
#include "vmm/ctl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "devices/nvme/inject.h"
#include "devices/pcie-switch/pcie_port.h"
#include "devices/nvme/subsys.h"
#include "vmm/ctl_json.h"
#include "vmm/pci/pci.h"

struct out {
	char *buf;
	size_t cap, pos;
	bool full;
};

static void __attribute__((format(printf, 2, 3))) out_printf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->pos, o->cap - o->pos, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->pos) {
		o->full = true;
		o->buf[o->pos] = 0;
		return;
	}
	o->pos += (size_t)n;
}

static void out_string(struct out *o, const char *s)
{
	if (!o->full && !json_put_string(o->buf, o->cap, &o->pos, s))
		o->full = true;
}

static bool reply_error(char *reply, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static bool reply_error(char *reply, size_t cap, const char *fmt, ...)
{
	char msg[512];
	struct out o = {reply, cap, 0, false};
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	out_printf(&o, "{\"ok\":false,\"error\":");
	out_string(&o, msg);
	out_printf(&o, "}");
	return false;
}

/* The members a request may have: type and range; anything else is refused. */
struct field {
	const char *key;
	enum json_type type;
	int64_t min, max;
	bool required;
};

#define F_CMD                                                                                      \
	{                                                                                          \
		"cmd", JSON_STRING, 0, 0, true                                                     \
	}
#define F_CTRL                                                                                     \
	{                                                                                          \
		"ctrl", JSON_STRING, 0, 0, true                                                    \
	}
#define F_MATCH                                                                                    \
	{"opcode", JSON_INT, 0, 0xff, false}, {"nsid", JSON_INT, 0, 0xffffffffLL, false},          \
		{"qid", JSON_INT, 0, 0xffff, false},                                               \
	{                                                                                          \
		"count", JSON_INT, 1, 1000000, false                                               \
	}

static const struct field f_info[] = {F_CMD, {.key = NULL}};
static const struct field f_ctrl[] = {F_CMD, F_CTRL, {.key = NULL}};
static const struct field f_fail[] = {F_CMD,
				      F_CTRL,
				      F_MATCH,
				      {"sct", JSON_INT, 0, 7, false},
				      {"sc", JSON_INT, 0, 0xff, false},
				      {"dnr", JSON_BOOL, 0, 0, false},
				      {.key = NULL}};
static const struct field f_delay[] = {
	F_CMD, F_CTRL, F_MATCH, {"ms", JSON_INT, 1, NVME_INJECT_MAX_DELAY, true}, {.key = NULL}};
static const struct field f_drop[] = {F_CMD, F_CTRL, F_MATCH, {.key = NULL}};
static const struct field f_port[] = {F_CMD, {"port", JSON_STRING, 0, 0, true}, {.key = NULL}};
static const struct field f_ana[] = {F_CMD,
				     F_CTRL,
				     {"group", JSON_INT, 1, NVME_ANA_MAX_GROUPS, false},
				     {"state", JSON_STRING, 0, 0, true},
				     {.key = NULL}};

static bool check_fields(const struct json_doc *d, const struct field *f, char *reply, size_t cap)
{
	for (int i = d->node[0].first; i >= 0; i = d->node[i].next) {
		const struct json_node *n = &d->node[i];
		const struct field *k = f;

		while (k->key && strcmp(k->key, n->key))
			k++;
		if (!k->key)
			return reply_error(reply, cap, "unknown key \"%s\"", n->key);
		if (n->type != k->type)
			return reply_error(reply, cap, "\"%s\" must be %s, not %s", k->key,
					   json_type_name(k->type), json_type_name(n->type));
		if (k->type == JSON_INT && (n->i < k->min || n->i > k->max))
			return reply_error(reply, cap, "\"%s\" out of range %lld..%lld", k->key,
					   (long long)k->min, (long long)k->max);
	}
	for (; f->key; f++)
		if (f->required && !json_get(d, 0, f->key))
			return reply_error(reply, cap, "missing \"%s\"", f->key);
	return true;
}

static int64_t get_int(const struct json_doc *d, const char *key, int64_t dflt)
{
	const struct json_node *n = json_get(d, 0, key);

	return n ? n->i : dflt;
}

static void bdf(const struct pci_dev *dev, char *buf, size_t len)
{
	unsigned bus = 0;

	if (!dev || !dev->bus) {
		snprintf(buf, len, "none");
		return;
	}
	/* The bus number the bridge above holds now (the guest may renumber). */
	if (dev->bus->self)
		bus = __atomic_load_n(&dev->bus->self->cfg[PCI_SECONDARY_BUS], __ATOMIC_RELAXED);
	snprintf(buf, len, "%02x:%02x.%x", bus, PCI_SLOT(dev->devfn), PCI_FUNC(dev->devfn));
}

/* A subsystem's controller: "subsystem", "cntlid" and the ANA state of each of its groups. */
static void out_ana(struct out *o, struct nvme_ctrl *c)
{
	uint8_t state[NVME_ANA_MAX_GROUPS + 1];
	const char *name;
	uint16_t cntlid;
	bool first = true;

	if (nvme_ana_info(c, &name, &cntlid, state))
		return;
	out_printf(o, ",\"subsystem\":");
	out_string(o, name);
	out_printf(o, ",\"cntlid\":%u,\"ana\":{", cntlid);
	for (unsigned g = 1; g <= NVME_ANA_MAX_GROUPS; g++) {
		if (!state[g])
			continue;
		out_printf(o, "%s\"%u\":\"%s\"", first ? "" : ",", g,
			   nvme_ana_state_name(state[g]));
		first = false;
	}
	out_printf(o, "}");
}

static bool do_info(const struct ctl_target *t, char *reply, size_t cap)
{
	struct out o = {reply, cap, 0, false};
	static struct nvme_inject_queue q[256];

	out_printf(&o, "{\"ok\":true,\"devices\":[");
	for (int i = 0; i < t->ndev; i++) {
		const struct ctl_dev *d = &t->dev[i];
		char b[16];

		bdf(d->pci, b, sizeof(b));
		out_printf(&o, "%s{\"id\":", i ? "," : "");
		out_string(&o, d->id);
		out_printf(&o, ",\"kind\":");
		out_string(&o, d->kind);
		out_printf(&o, ",\"bdf\":\"%s\"", b);
		if (pcie_port_has_link(d->pci))
			out_printf(&o, ",\"link\":\"%s\"",
				   pcie_port_link_active(d->pci) ? "up" : "down");
		if (d->nvme) {
			struct nvme_inject_stats st;

			/* q is static: ctl_handle runs on one thread (the server's or a test's). */
			nvme_inject_stats(d->nvme, &st, q, sizeof(q) / sizeof(q[0]));
			out_printf(&o, ",\"csts\":%u,\"commands\":%llu,\"faults\":%llu", st.csts,
				   (unsigned long long)st.commands, (unsigned long long)st.fired);
			out_printf(&o, ",\"armed\":%u,\"delayed\":%u,\"dropped\":%u,\"queues\":[",
				   st.armed, st.delayed, st.dropped);
			for (unsigned k = 0; k < st.nsq; k++)
				out_printf(&o, "%s{\"qid\":%u,\"cqid\":%u,\"depth\":%u}",
					   k ? "," : "", q[k].qid, q[k].cqid, q[k].depth);
			out_printf(&o, "]");
			out_ana(&o, d->nvme);
		}
		out_printf(&o, "}");
	}
	out_printf(&o, "]}");
	if (o.full)
		return reply_error(reply, cap, "reply too long");
	return true;
}

static struct nvme_ctrl *find_ctrl(const struct ctl_target *t, const struct json_doc *d,
				   char *reply, size_t cap)
{
	const char *id = json_get(d, 0, "ctrl")->s;

	for (int i = 0; i < t->ndev; i++)
		if (!strcmp(t->dev[i].id, id)) {
			if (t->dev[i].nvme)
				return t->dev[i].nvme;
			reply_error(reply, cap, "\"%s\" is not an NVMe controller", id);
			return NULL;
		}
	reply_error(reply, cap, "no device \"%s\"", id);
	return NULL;
}

static bool do_inject(const struct ctl_target *t, const struct json_doc *d,
		      enum nvme_inject_kind kind, char *reply, size_t cap)
{
	struct nvme_inject_rule rule = {
		.kind = kind,
		.opcode = (int)get_int(d, "opcode", NVME_INJECT_ANY),
		.nsid = get_int(d, "nsid", NVME_INJECT_ANY),
		.qid = (int)get_int(d, "qid", NVME_INJECT_ANY),
		.count = (uint32_t)get_int(d, "count", 1),
	};
	const struct json_node *dnr = json_get(d, 0, "dnr");
	struct nvme_ctrl *c = find_ctrl(t, d, reply, cap);
	int ret;

	if (!c)
		return false;
	if (kind == NVME_INJECT_FAIL) {
		/* NVMe 1.4 4.6.1.2 Status Field: default Generic Command Status (SCT 0),
		 * Internal Error (SC 06h). */
		unsigned sct = (unsigned)get_int(d, "sct", 0), sc = (unsigned)get_int(d, "sc", 6);

		if (!sct && !sc)
			return reply_error(reply, cap, "sct 0 sc 0 is Successful Completion");
		rule.status = (uint16_t)(sct << 8 | sc | (dnr && dnr->b ? 1u << 14 : 0));
	}
	if (kind == NVME_INJECT_DELAY)
		rule.delay_ms = (uint32_t)get_int(d, "ms", 0);
	ret = nvme_inject_add(c, &rule);
	if (ret == -ENOSPC)
		return reply_error(reply, cap, "%d injections armed already; clear first",
				   NVME_INJECT_MAX_RULES);
	if (ret)
		return reply_error(reply, cap, "invalid injection");
	snprintf(reply, cap, "{\"ok\":true}");
	return true;
}

/* link_down / link_up on a root port or a switch's downstream port ("sw0.1"). */
static bool do_link(const struct ctl_target *t, const struct json_doc *d, bool up, char *reply,
		    size_t cap)
{
	const char *id = json_get(d, 0, "port")->s;

	for (int i = 0; i < t->ndev; i++) {
		struct pci_dev *p = t->dev[i].pci;

		if (strcmp(t->dev[i].id, id))
			continue;
		if (pcie_port_force_link(p, up))
			return reply_error(reply, cap,
					   "\"%s\" is not a root port or downstream port", id);
		snprintf(reply, cap, "{\"ok\":true,\"link\":\"%s\"}",
			 pcie_port_link_active(p) ? "up" : "down");
		return true;
	}
	return reply_error(reply, cap, "no port \"%s\"", id);
}

/* ANA group state through one controller (devices/nvme/subsys.h, nvme_ana_set). */
static bool do_ana(const struct ctl_target *t, const struct json_doc *d, char *reply, size_t cap)
{
	const char *name = json_get(d, 0, "state")->s;
	uint32_t group = (uint32_t)get_int(d, "group", 1);
	uint8_t state = nvme_ana_state_parse(name);
	struct nvme_ctrl *c;
	int ret;

	if (!state)
		return reply_error(reply, cap,
				   "\"state\" must be optimized, non-optimized, inaccessible, "
				   "persistent-loss or change");
	c = find_ctrl(t, d, reply, cap);
	if (!c)
		return false;
	ret = nvme_ana_set(c, group, state);
	if (ret == -ENODEV)
		return reply_error(reply, cap, "\"%s\" is in no [[nvme_subsystem]]: no ANA",
				   json_get(d, 0, "ctrl")->s);
	if (ret)
		return reply_error(reply, cap, "no namespace of ANA group %u on \"%s\"", group,
				   json_get(d, 0, "ctrl")->s);
	snprintf(reply, cap, "{\"ok\":true}");
	return true;
}

bool ctl_handle(const struct ctl_target *t, const char *line, size_t len, char *reply, size_t cap)
{
	static struct json_doc doc; /* one request at a time (see do_info) */
	struct json_doc *d = &doc;
	char err[128];
	const struct json_node *cmd;
	struct nvme_ctrl *c;
	const char *name;

	if (json_parse(d, line, len, err, sizeof(err)))
		return reply_error(reply, cap, "bad JSON: %s", err);
	if (d->node[0].type != JSON_OBJECT)
		return reply_error(reply, cap, "a request is a JSON object");
	cmd = json_get(d, 0, "cmd");
	if (!cmd || cmd->type != JSON_STRING)
		return reply_error(reply, cap, "missing \"cmd\" (a string)");
	name = cmd->s;
	if (!strcmp(name, "info"))
		return check_fields(d, f_info, reply, cap) && do_info(t, reply, cap);
	if (!strcmp(name, "nvme_fail"))
		return check_fields(d, f_fail, reply, cap) &&
		       do_inject(t, d, NVME_INJECT_FAIL, reply, cap);
	if (!strcmp(name, "nvme_delay"))
		return check_fields(d, f_delay, reply, cap) &&
		       do_inject(t, d, NVME_INJECT_DELAY, reply, cap);
	if (!strcmp(name, "nvme_drop"))
		return check_fields(d, f_drop, reply, cap) &&
		       do_inject(t, d, NVME_INJECT_DROP, reply, cap);
	if (!strcmp(name, "nvme_cfs") || !strcmp(name, "clear")) {
		if (!check_fields(d, f_ctrl, reply, cap) || !(c = find_ctrl(t, d, reply, cap)))
			return false;
		if (!strcmp(name, "clear"))
			nvme_inject_clear(c);
		else
			nvme_inject_cfs(c);
		snprintf(reply, cap, "{\"ok\":true}");
		return true;
	}
	if (!strcmp(name, "link_down") || !strcmp(name, "link_up"))
		return check_fields(d, f_port, reply, cap) &&
		       do_link(t, d, !strcmp(name, "link_up"), reply, cap);
	if (!strcmp(name, "nvme_ana"))
		return check_fields(d, f_ana, reply, cap) && do_ana(t, d, reply, cap);
	return reply_error(reply, cap, "unknown cmd \"%.64s\"", name);
}
