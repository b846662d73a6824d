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
