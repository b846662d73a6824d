/* SPDX-License-Identifier: MIT */
/*
 * TSC frequency, needed to turn cycles into nanoseconds and to bound waits. Measured against
 * PIT channel 0 (1.193182 MHz, 8254 datasheet: mode 2, latch command), which vmm and QEMU
 * both emulate in the kernel (KVM_CREATE_PIT2). The 8259 is masked, so the counter's IRQ 0
 * never reaches the CPU. `nvmebench.tsc_khz=` overrides the measurement.
 */
#include "nvme_smoke.h"

#define PIT_HZ	    1193182ULL
#define PIT_CH0	    0x40
#define PIT_MODE    0x43
#define PIT_MEASURE (PIT_HZ * 50 / 1000) /* 50 ms of PIT ticks */
#define MAX_SAMPLES 1000000
#define GUESS_KHZ   2000000ULL

static uint64_t khz;

static uint16_t pit_read(void)
{
	uint8_t lo, hi;

	outb(PIT_MODE, 0x00); /* latch channel 0 */
	lo = inb(PIT_CH0);
	hi = inb(PIT_CH0);
	return (uint16_t)(hi << 8 | lo);
}

static uint64_t measure(void)
{
	uint64_t ticks = 0, t0, t1;
	uint16_t prev, cur;

	outb(PIT_MODE, 0x34); /* channel 0, lobyte/hibyte, mode 2, binary */
	outb(PIT_CH0, 0);
	outb(PIT_CH0, 0); /* count 65536 */
	prev = pit_read();
	t0 = rt_rdtsc();
	for (int i = 0; i < MAX_SAMPLES && ticks < PIT_MEASURE; i++) {
		cur = pit_read();
		ticks += (uint16_t)(prev - cur);
		prev = cur;
	}
	t1 = rt_rdtsc();
	if (ticks < PIT_MEASURE)
		return 0;
	return (t1 - t0) * PIT_HZ / (ticks * 1000);
}

uint64_t tsc_khz(void)
{
	const char *how = "cmdline";

	if (khz)
		return khz;
	khz = rt_cmdline_u64("nvmebench.tsc_khz", 0);
	if (!khz) {
		how = "pit";
		khz = measure();
	}
	if (!khz) {
		how = "guess (the PIT does not count)";
		khz = GUESS_KHZ;
	}
	rt_printf("nvme-smoke: tsc_khz %llu (%s)\n", (unsigned long long)khz, how);
	return khz;
}
