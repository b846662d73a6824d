/* SPDX-License-Identifier: MIT */
/*
 * NVM subsystems with several controllers (NVMe 2.0 2.4) and Asymmetric Namespace Access
 * (NVMe 2.0 8.1). A subsystem is one NQN and one serial number shared by the controllers
 * created with nvme_ctrl_config.subsys pointing at it; each gets its own CNTLID. A
 * namespace NSID n of such a controller is namespace n of the subsystem: the same NGUID,
 * EUI64 and UUID on every controller, the same storage ("ram": one mapping the controllers
 * share, under a per-namespace lock; "file": each controller opens the path itself and the
 * kernel orders the accesses; "null": nothing to share).
 *
 * ANA (ana.c): each namespace belongs to an ANA group (1..NVME_ANA_MAX_GROUPS); each
 * controller reports its own state for each group (ANA log page 0Ch) and refuses I/O to a
 * namespace whose group is inaccessible through it. nvme_ana_set changes a state at run
 * time (the control socket) and raises the ANA Change notice.
 *
 * Lock order: a controller's lock, then the subsystem's; a shared namespace's lock last.
 */
#ifndef DEVICES_NVME_SUBSYS_H
#define DEVICES_NVME_SUBSYS_H

#include <stddef.h>
#include <stdint.h>

struct nvme_ctrl;
struct nvme_subsys;

#define NVME_ANA_MAX_GROUPS  16 /* ANAGRPMAX and NANAGRPID */
#define NVME_SUBSYS_MAX_CTRL 64

/* ANA states (NVMe 2.0 Figure 242, ANA Group Descriptor byte 16) */
#define NVME_ANA_OPTIMIZED	 0x01
#define NVME_ANA_NONOPTIMIZED	 0x02
#define NVME_ANA_INACCESSIBLE	 0x03
#define NVME_ANA_PERSISTENT_LOSS 0x04
#define NVME_ANA_CHANGE		 0x0f

#define NVME_LOG_ANA	    0x0c
#define NVME_AER_NOTICE_ANA 0x03 /* Asymmetric Namespace Access Change (5.27.1.3) */
/* Path Related Status (SCT 3h, NVMe 2.0 Figure 104) */
#define NVME_SC_ANA_PERSISTENT_LOSS 0x301
#define NVME_SC_ANA_INACCESSIBLE    0x302
#define NVME_SC_ANA_TRANSITION	    0x303

/* subnqn: NULL for "nqn.2024-01.org.vmm:subsys:<name>"; serial <= 20 chars, NULL: generated.
 * NULL and a message on a bad value. */
struct nvme_subsys *nvme_subsys_create(const char *name, const char *subnqn, const char *serial,
				       char *err, size_t errlen);
/* After every controller in it is destroyed. */
void nvme_subsys_destroy(struct nvme_subsys *s);
const char *nvme_subsys_name(const struct nvme_subsys *s);

/* The ANA state by name ("optimized", "non-optimized", "inaccessible", "persistent-loss",
 * "change"), 0 for an unknown one; and back. */
uint8_t nvme_ana_state_parse(const char *name);
const char *nvme_ana_state_name(uint8_t state);
/* Set the state of ANA group grpid as seen through controller c; a change bumps the change
 * counts and posts the ANA Change notice. 0, -EINVAL (no such group on c, bad state) or
 * -ENODEV (c is not in a subsystem). */
int nvme_ana_set(struct nvme_ctrl *c, uint32_t grpid, uint8_t state);
/* The state of group grpid through c (0 if none). */
uint8_t nvme_ana_get(struct nvme_ctrl *c, uint32_t grpid);
/* For the control socket's info: c's subsystem name and CNTLID, and in state[g] the state
 * of each group g with a namespace attached to c (0 for the others). -ENODEV: no subsystem. */
int nvme_ana_info(struct nvme_ctrl *c, const char **subsys, uint16_t *cntlid,
		  uint8_t state[NVME_ANA_MAX_GROUPS + 1]);

#endif
