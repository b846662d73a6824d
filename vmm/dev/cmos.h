/* SPDX-License-Identifier: MIT */
/*
 * CMOS RAM and MC146818 real-time clock: index port 0x70, data port 0x71. The machine
 * registers cmos_bus_ops at 0x70 with size 2 (offset 0 index, offset 1 data). No IRQ 8 yet.
 */
#ifndef VMM_DEV_CMOS_H
#define VMM_DEV_CMOS_H

#include <stdint.h>
#include <time.h>

#include "vmm/bus.h"

#define CMOS_PORT_BASE 0x70 /* index; data at 0x71 */

struct cmos;

/*
 * low_ram_bytes: RAM below 4 GiB (from address 0); high_ram_bytes: RAM from 4 GiB up.
 * Fills the memory size and CPU count bytes firmware reads. NULL with errno on failure.
 */
struct cmos *cmos_create(uint64_t low_ram_bytes, uint64_t high_ram_bytes, int ncpus);
void cmos_destroy(struct cmos *c);

/* Where the RTC reads the time (seconds since the epoch, shown as UTC). NULL: time(NULL). */
typedef time_t (*cmos_time_fn)(void *opaque);
void cmos_set_time_source(struct cmos *c, cmos_time_fn now, void *opaque);

extern const struct bus_ops cmos_bus_ops;

#endif
