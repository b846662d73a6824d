/* SPDX-License-Identifier: MIT */
/*
 * Tiny ports for tests and measurement:
 * - debug-exit (0xf4): QEMU isa-debug-exit semantics, a write of v stops the machine with
 *   exit status (v << 1) | 1;
 * - boot milestone (0x3f0): a write is logged with the time since vmm started (the
 *   Firecracker convention: Linux init writes 123 there in their boot-time tests).
 */
#ifndef VMM_DEV_DEBUGPORT_H
#define VMM_DEV_DEBUGPORT_H

#include <stdint.h>

#include "vmm/bus.h"

#define DEBUG_EXIT_PORT 0xf4
#define DEBUG_EXIT_SIZE 4
#define MILESTONE_PORT	0x3f0

struct debugport {
	void (*exit)(void *opaque, int status);
	void *opaque;
	uint64_t start_ns;
	unsigned milestones;
};

extern const struct bus_ops debug_exit_ops;
extern const struct bus_ops milestone_ops;

#endif
