/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* vmm_selftest: what the parts of the self-test share (core.c, nvme.c, ntb.c). */
#ifndef VMM_SELFTEST_H
#define VMM_SELFTEST_H

#include <linux/compiler.h>
#include <linux/device.h>
#include <linux/pci.h>

/* One "VMMTEST ok|fail <name> <detail>" line, counted for the summary. */
__printf(3, 4) void vmmtest_check(bool ok, const char *name, const char *fmt, ...);
const char *vmmtest_drv_name(struct device *dev);

/* nvme.c: controllers bound, CMBs published, I/O through each namespace, P2P reads. */
void vmmtest_nvme(void);
/* ntb.c: every IDT NT function: bound, link up, ntb_pingpong, messages, doorbells, windows. */
void vmmtest_ntb(void);

#endif
