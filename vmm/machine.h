/* SPDX-License-Identifier: MIT */
/* Builds a machine from a validated config, runs it, and reports how it stopped. */
#ifndef VMM_MACHINE_H
#define VMM_MACHINE_H

#include "vmm/config/config.h"

/*
 * Run the machine to completion. Returns the process exit status: the guest's debug-exit
 * status, 0 on poweroff/reset/halt, VMM_EXIT_FAILURE on a triple fault or a VMM failure,
 * VMM_EXIT_STOPPED when the user stopped it, VMM_EXIT_USAGE for a configuration that cannot
 * be built (vmm/util.h).
 */
int machine_run(const struct machine_config *cfg);

/* The same, serving the control socket `ctl` (vmm/ctl.h; NULL: none) while the machine
 * runs. Takes ctl over: it is closed, and its path removed, whatever happens. */
struct ctl_server;
int machine_run_ctl(const struct machine_config *cfg, struct ctl_server *ctl);

#endif
