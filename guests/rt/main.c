/* SPDX-License-Identifier: MIT */
/* From the 64-bit entry (start.S) to the guest's main(), and out through the exit port. */
#include "internal.h"

void rt_exit(uint32_t code)
{
	/* isa-debug-exit: the VMM exits with (code << 1) | 1 */
	outl(RT_EXIT_PORT, code);
	for (;;)
		__asm__ volatile("cli; hlt");
}

void rt_main(void)
{
	rt_serial_init();
	rt_desc_init();
	if (!rt_start_info_init()) {
		rt_printf("rt: no hvm_start_info at 0x%llx (magic 0x%x), not a PVH boot?\n",
			  (unsigned long long)rt_start_info_paddr,
			  rt_start_info_paddr ? *(volatile uint32_t *)rt_start_info_paddr : 0);
		rt_exit(RT_EXIT_BAD_BOOT);
	}
	rt_cmdline_init();
	rt_alloc_init();
	rt_milestone(RT_MILESTONE_LONG);
	rt_exit((uint32_t)main());
}

/*
 * ACPI S5 through PM1a_CNT (ACPI 6.5 4.8.3.2.1): SLP_EN with SLP_TYP 0, the _S5 value of
 * vmm and QEMU. The block is at 0x604 on vmm and on QEMU q35 after SeaBIOS; SeaBIOS puts
 * PIIX4's (QEMU -M pc) at 0xb004. Without ACPI tables we cannot know, so try both.
 */
#define PM1_CNT_SLP_EN (1 << 13)
static const uint16_t pm1a_cnt_ports[] = {0x604, 0xb004};

void rt_poweroff(void)
{
	for (size_t i = 0; i < sizeof(pm1a_cnt_ports) / sizeof(pm1a_cnt_ports[0]); i++)
		outw(pm1a_cnt_ports[i], PM1_CNT_SLP_EN);
	rt_exit(0);
}
