/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* vmm_selftest: what the parts of the self-test share (core.c, nvme.c, ntb.c, ntb_net.c). */
#ifndef VMM_SELFTEST_H
#define VMM_SELFTEST_H

#include <linux/compiler.h>
#include <linux/device.h>
#include <linux/pci.h>

/* One "VMMTEST ok|fail <name> <detail>" line, counted for the summary. */
__printf(3, 4) void vmmtest_check(bool ok, const char *name, const char *fmt, ...);
/* "VMMTEST skip <name> <why>": a check that cannot run on this machine, counted apart. */
__printf(2, 3) void vmmtest_skip(const char *name, const char *fmt, ...);
const char *vmmtest_drv_name(struct device *dev);

/* nvme.c: controllers bound, CMBs published, I/O through each namespace, P2P reads. */
void vmmtest_nvme(void);
/* ntb.c: every IDT NT function: bound, link up, ntb_pingpong, messages, doorbells, windows. */
void vmmtest_ntb(void);
/* ntb.c: vmmtest.ntb_wait (seconds), the bound on every wait for the peer */
extern unsigned int vmmtest_ntb_wait;
struct ntb_dev;
/* ntb.c: the NTB device a hardware driver registered for pdev, or NULL */
struct ntb_dev *vmmtest_ntb_dev(struct pci_dev *pdev);
/* ntb_net.c: EPF NTBs under ntb_transport + ntb_netdev, UDP between the guests; PLX DMA. */
void vmmtest_ntb_net(void);

#endif
