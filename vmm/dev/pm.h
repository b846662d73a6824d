/* SPDX-License-Identifier: MIT */
/*
 * Power management ports: the ACPI PM1a event/control blocks (the FADT will point at them)
 * and the PCI reset control register at 0xCF9.
 *   0x600  PM1a_EVT_BLK (PM1_STS 16 bits, PM1_EN 16 bits)
 *   0x604  PM1a_CNT_BLK (16 bits): SLP_EN (bit 13) with SLP_TYP (bits 12:10) == PM_S5_TYP
 *          powers off; SCI_EN (bit 0) reads as set (hardware-reduced-style "ACPI mode").
 *   0xCF9  Reset control: writing RST_CPU (bit 2) resets (ICH9 datasheet 13.7.5).
 * The same port numbers as QEMU's q35 after SeaBIOS, so a test guest can power off on both.
 */
#ifndef VMM_DEV_PM_H
#define VMM_DEV_PM_H

#include <stdint.h>

#include "vmm/bus.h"

#define PM_BASE		   0x600
#define PM_EVT_SIZE	   4
#define PM_CNT_PORT	   0x604
#define PM_CNT_SIZE	   2
#define PM_S5_TYP	   0 /* the DSDT's _S5 package will say 0, like QEMU's */
#define RESET_CONTROL_PORT 0xcf9

#define PM1_CNT_SCI_EN	      (1u << 0)
#define PM1_CNT_SLP_TYP_SHIFT 10
#define PM1_CNT_SLP_EN	      (1u << 13)

struct pm {
	void (*poweroff)(void *opaque);
	void (*reset)(void *opaque);
	void *opaque;
	uint16_t sts, en, cnt;
	uint8_t rst_cnt;
};

extern const struct bus_ops pm_evt_ops, pm_cnt_ops, pm_reset_ops;

#endif
