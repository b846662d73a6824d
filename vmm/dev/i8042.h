/* SPDX-License-Identifier: MIT */
/*
 * i8042 keyboard controller, only as much as a guest needs to reboot the machine and to find
 * an idle controller with nothing attached. Its two ports are not adjacent (0x61 between them
 * belongs to the PIT/speaker), so the machine registers two ranges of size 1 with the device
 * as opaque: i8042_data_bus_ops at 0x60 and i8042_cmd_bus_ops at 0x64.
 */
#ifndef VMM_DEV_I8042_H
#define VMM_DEV_I8042_H

#include "vmm/bus.h"

#define I8042_DATA_PORT 0x60
#define I8042_CMD_PORT	0x64

struct i8042;

/*
 * `reset` is called (from the vCPU thread, without the device lock held) when the guest
 * pulses the CPU reset line. NULL with errno on failure.
 */
struct i8042 *i8042_create(void (*reset)(void *opaque), void *opaque);
void i8042_destroy(struct i8042 *k);

extern const struct bus_ops i8042_data_bus_ops; /* port 0x60 */
extern const struct bus_ops i8042_cmd_bus_ops;	/* port 0x64: status on read, command on write */

#endif
