/* SPDX-License-Identifier: MIT */
/*
 * The control socket (docs/control.md): `vmm run --control PATH` serves one JSON request
 * per line on a Unix stream socket and answers one JSON object per line; `vmm ctl` is its
 * client. Requests inspect the machine and inject NVMe faults (devices/nvme/inject.h).
 *
 * ctl_handle is the whole request language and touches nothing but what `t` names, so the
 * unit tests drive it without a socket or KVM; ctl_server_* is the socket and its thread.
 */
#ifndef VMM_CTL_H
#define VMM_CTL_H

#include <stdbool.h>
#include <stddef.h>

struct pci_dev;
struct nvme_ctrl;

#define CTL_REPLY_MAX 65536

/* What the control socket can reach: the devices of the machine, by config id. */
struct ctl_dev {
	const char *id;
	const char *kind;	/* the TOML kind: "nvme", "root_port", ... */
	struct pci_dev *pci;	/* for its bus/device/function; NULL: none */
	struct nvme_ctrl *nvme; /* NULL unless an NVMe controller */
};

struct ctl_target {
	const struct ctl_dev *dev;
	int ndev;
};

/* One request (line without its newline) -> one reply (a JSON object, no newline). A bad
 * request changes nothing. Returns true for an {"ok":true} reply. */
bool ctl_handle(const struct ctl_target *t, const char *line, size_t len, char *reply, size_t cap);

/* The listening socket. Open refuses (-errno, message) a path longer than sun_path, or one
 * that exists and is not a stale socket (a socket nobody listens on is replaced). */
struct ctl_server;
int ctl_server_open(const char *path, struct ctl_server **out, char *err, size_t errlen);
/* Serve requests on a thread of its own until ctl_server_close. t must outlive it. */
int ctl_server_start(struct ctl_server *s, const struct ctl_target *t);
/* Stop the thread, close the socket and remove its path. NULL: no-op. */
void ctl_server_close(struct ctl_server *s);

/* `vmm ctl` words -> one JSON request: a single argument starting with '{' is sent as it
 * is; otherwise the first word is "cmd" and each key=value adds a member (a decimal or 0x
 * hex integer, true/false, or else a string). 0, or -EINVAL with a message. */
int ctl_request_from_args(int argc, char **argv, char *out, size_t cap, char *err, size_t errlen);
/* vmm ctl PATH REQUEST...: exit status 0 ok, 1 error reply, 2 usage or connection error. */
int ctl_client_main(int argc, char **argv);

#endif
