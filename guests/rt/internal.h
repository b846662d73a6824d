/* SPDX-License-Identifier: MIT */
/* Runtime-private interfaces between the files of guests/rt/. Guests use rt.h only. */
#ifndef RT_INTERNAL_H
#define RT_INTERNAL_H

#include "rt.h"

/* 64-bit TSS (SDM 8.7): only RSP0 is used, for traps from ring 3. */
struct rt_tss {
	uint32_t reserved0;
	uint64_t rsp0, rsp1, rsp2;
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
	/* I/O permission bitmap (SDM 19.5.2): all zero = every port allowed at CPL 3 */
	uint8_t iomap[8192 + 1];
} __attribute__((packed));

extern struct rt_tss rt_tss;
extern uint64_t rt_start_info_paddr; /* start.S: EBX at entry */
extern uint64_t rt_gdt_tss[2];
extern uint64_t rt_pml4[512];
extern const uint64_t rt_trap_stubs[32];
extern char rt_irq_stubs[];
#define RT_IRQ_STUB_SIZE 16
extern char rt_user_trampoline[];
extern char __image_end[];

void rt_main(void);
void rt_desc_init(void);
void rt_trap(struct rt_frame *frame);
__attribute__((noreturn)) void rt_user_resume(uint64_t rax);
bool rt_start_info_init(void);
void rt_cmdline_init(void);
void rt_alloc_init(void);

#endif
