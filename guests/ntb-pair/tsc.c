/* SPDX-License-Identifier: MIT */
/*
 * Time: the TSC, calibrated once against PIT channel 2 in one-shot mode, gated through port
 * 0x61 (8254 datasheet mode 0; the way Linux's pit_calibrate_tsc does it). KVM's in-kernel
 * PIT implements channel 2 and the 0x61 gate. `ntbpair.tsc_khz=N` skips the calibration
 * (bench/ntb.sh passes the host's TSC rate).
 */
#include "ntb_pair.h"

#define PIT_HZ	      1193182ULL
#define PIT_CH2	      0x42
#define PIT_MODE      0x43
#define PORT_61	      0x61
#define PORT_61_GATE2 0x01
#define PORT_61_SPKR  0x02
#define PORT_61_OUT2  0x20
#define CALIB_MS      20
#define CALIB_RUNS    3
#define MAX_POLLS     2000000
#define GUESS_KHZ     2000000ULL

static uint64_t khz;

static uint64_t calibrate(void)
{
	uint16_t count = (uint16_t)(PIT_HZ * CALIB_MS / 1000);
	uint8_t p61 = inb(PORT_61);
	uint64_t t0, t1;
	long polls = 0;

	outb(PORT_61, (uint8_t)((p61 & ~PORT_61_SPKR) | PORT_61_GATE2));
	outb(PIT_MODE, 0xb0); /* channel 2, lobyte/hibyte, mode 0, binary */
	outb(PIT_CH2, (uint8_t)count);
	outb(PIT_CH2, (uint8_t)(count >> 8));
	t0 = rt_rdtsc();
	while (!(inb(PORT_61) & PORT_61_OUT2) && ++polls < MAX_POLLS)
		;
	t1 = rt_rdtsc();
	outb(PORT_61, p61);
	if (polls >= MAX_POLLS || polls < 2)
		return 0;
	return (t1 - t0) / CALIB_MS;
}

uint64_t tsc_khz(void)
{
	const char *how = "cmdline";

	if (khz)
		return khz;
	khz = rt_cmdline_u64("ntbpair.tsc_khz", 0);
	/* The least of a few: a vCPU preempted while polling only ever lengthens a run. */
	for (int i = 0; i < CALIB_RUNS && !rt_cmdline_get("ntbpair.tsc_khz"); i++) {
		uint64_t k = calibrate();

		how = "pit";
		if (k && (!khz || k < khz))
			khz = k;
	}
	if (!khz) {
		how = "guessed: PIT channel 2 did not count";
		khz = GUESS_KHZ;
	}
	rt_printf("ntb-pair: tsc_khz %llu (%s)\n", (unsigned long long)khz, how);
	return khz;
}

uint64_t ms_to_tsc(uint64_t ms)
{
	return ms * tsc_khz();
}

uint64_t tsc_to_ns(uint64_t cycles)
{
	uint64_t k = tsc_khz();

	return cycles / k * 1000000 + cycles % k * 1000000 / k;
}

/*
 * Sleeping: the local APIC timer in one-shot mode (Intel SDM vol. 3 11.5.4), then sti; hlt
 * (the interrupt shadow of sti keeps the wake-up from slipping in between). A vCPU in hlt
 * costs the host nothing, where a ring-0 spin runs in KVM's emulator. Its rate is measured
 * against the TSC once; a timer that does not count leaves the spin.
 */
#define LAPIC_BASE	     0xFEE00000ULL
#define LAPIC_LVT_TIMER	     0x320
#define LAPIC_TIMER_INITIAL  0x380
#define LAPIC_TIMER_CURRENT  0x390
#define LAPIC_TIMER_DIVIDE   0x3e0
#define LAPIC_DIVIDE_BY_1    0xb
#define LAPIC_TIMER_PERIODIC (1u << 17)

static uint64_t apic_per_ms; /* 0: not measured yet; ~0: no usable timer */

static void spin_ms(uint64_t ms)
{
	uint64_t t0 = rt_rdtsc(), n = ms_to_tsc(ms);

	while (rt_rdtsc() - t0 < n)
		__asm__ volatile("pause");
}

static void timer_init(void)
{
	uint32_t left;

	apic_enable();
	mmio_write32(LAPIC_BASE + LAPIC_TIMER_DIVIDE, LAPIC_DIVIDE_BY_1);
	mmio_write32(LAPIC_BASE + LAPIC_LVT_TIMER, TIMER_VECTOR); /* one-shot, unmasked */
	mmio_write32(LAPIC_BASE + LAPIC_TIMER_INITIAL, 0xffffffffu);
	spin_ms(2);
	left = mmio_read32(LAPIC_BASE + LAPIC_TIMER_CURRENT);
	mmio_write32(LAPIC_BASE + LAPIC_TIMER_INITIAL, 0);
	apic_per_ms = (0xffffffffu - left) / 2;
	if (apic_per_ms == 0 || left == 0)
		apic_per_ms = ~0ULL;
}

void delay_ms(uint64_t ms)
{
	uint64_t end = rt_rdtsc() + ms_to_tsc(ms), now;

	if (!apic_per_ms)
		timer_init();
	if (apic_per_ms == ~0ULL) {
		spin_ms(ms);
		return;
	}
	/* Periodic mode (LVT timer bits 18:17 = 01, SDM vol. 3 11.5.4), at most 10 ms a
	 * period: a timer interrupt that never arrives (seen with nested KVM under TCG, a
	 * guest asleep for good in hlt) costs one period, not the rest of the run. */
	mmio_write32(LAPIC_BASE + LAPIC_LVT_TIMER, TIMER_VECTOR | LAPIC_TIMER_PERIODIC);
	while ((now = rt_rdtsc()) < end) {
		uint64_t left = (end - now) / tsc_khz();
		uint64_t count = (left < 10 ? left : 10) * apic_per_ms + apic_per_ms / 10;

		mmio_write32(LAPIC_BASE + LAPIC_TIMER_INITIAL,
			     count > 0xffffffffu ? 0xffffffffu : (uint32_t)count);
		__asm__ volatile("sti; hlt; cli" ::: "memory");
	}
	mmio_write32(LAPIC_BASE + LAPIC_TIMER_INITIAL, 0); /* stops it */
	mmio_write32(LAPIC_BASE + LAPIC_LVT_TIMER, TIMER_VECTOR);
}
