/* SPDX-License-Identifier: MIT */
/* Builds a machine from a validated config, runs it, and reports how it stopped. */
#ifndef VMM_MACHINE_H
#define VMM_MACHINE_H

#include "vmm/config.h"

/*
 * Run the machine to completion. Returns the process exit status: the guest's debug-exit
 * status, 0 on poweroff/reset/halt, 1 on triple fault or a VMM failure.
 */
int machine_run(const struct machine_config *cfg);

#endif
