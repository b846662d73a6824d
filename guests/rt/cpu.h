/* SPDX-License-Identifier: MIT */
/*
 * Architectural constants shared by the runtime's assembly and C (Intel SDM vol. 3).
 * Safe to include from .S files.
 */
#ifndef RT_CPU_H
#define RT_CPU_H

/* GDT layout (start.S). User data sits below user code, as SYSRET would want it. */
#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UDATA (0x18 | 3)
#define SEL_UCODE (0x20 | 3)
#define SEL_TSS	  0x28

#define CR0_PE	 (1 << 0)
#define CR0_PG	 (1 << 31)
#define CR4_PAE	 (1 << 5)
#define MSR_EFER 0xC0000080
#define EFER_LME (1 << 8)

/* Page-table entry bits (SDM 4.5) */
#define PTE_P	(1 << 0)
#define PTE_RW	(1 << 1)
#define PTE_US	(1 << 2)
#define PTE_PWT (1 << 3)
#define PTE_PCD (1 << 4)
#define PTE_PS	(1 << 7)

/* RFLAGS for ring-3 code: bit 1 is reserved-one; IOPL=3 lets user code use in/out. */
#define RFLAGS_USER 0x3002

/* Boot milestones the runtime itself writes to port 0x3f0 (guests use 0x10 and up). */
#define RT_MILESTONE_ENTRY 0x01 /* first instruction of the PVH entry */
#define RT_MILESTONE_LONG  0x02 /* 64-bit C runtime initialised, about to call main() */

#define RT_KSTACK_SIZE 0x8000
#define RT_USTACK_SIZE 0x10000

#endif
