/* SPDX-License-Identifier: MIT */
/*
 * ntb-pair: runs on both VMs of an NTB pair (vmm [[ntb]] on ports 0 and 2 of one emulated
 * IDT 89HPES24NT6AG2 switch). It finds the NT function, enables the link the way ntb_hw_idt
 * does, waits for the peer and exchanges doorbells, messages and data through a memory
 * window with it (xchg.c). At the end A rings a bye doorbell and B, which sent the last
 * message, waits for it (or for A to leave) before powering off: when a vmm leaves, its
 * peer's registers may be reset, inbox included, so B must not leave before A has read.
 *
 * Command line:
 *   ntbpair.role=a|b        A drives, B answers (required)
 *   ntbpair.rounds=100      doorbell ping-pong rounds
 *   ntbpair.link_ms=60000   how long to wait for the peer
 *   ntbpair.wait_relink     after the exchange, wait for link down and up again (the peer
 *                           is killed and restarted) and exchange once more
 *   ntbpair.relink_ms=120000   bound of each of those two waits
 *   ntbpair.gen=1           exchange number (a restarted peer is told 2)
 *   ntbpair.hold            after the exchange, stay up until the link goes down (the side
 *                           a test kills); ntbpair.hold_ms=300000 bounds it
 *   ntbpair.soak=N          (role b) the survivor of a peer killed N times mid-traffic: N
 *                           cycles of link up, traffic until the link goes down (soak.c)
 *   ntbpair.soak_hold_ms=0  after the soak, stay that long before powering off (a test looks
 *                           at the vmm process in the state the kills left it)
 *   ntbpair.storm           (role a) the peer of a soak: traffic from link up until killed
 *   ntbpair.bench           then measure (bench.c)
 *   ntbpair.tsc_khz=N       TSC rate (default: calibrated against the PIT)
 *
 * Output (every line starts with "ntb-pair: <role> " except the tsc line):
 *   ntb-pair: R start
 *   ntb-pair: tsc_khz K (pit|cmdline|guessed ...)
 *   ntb-pair: R function BB:DD.F bar0 0xA bar2 0xA size 0xS
 *   ntb-pair: R port P part Q peer port P part Q
 *   ntb-pair: R link up after N ms
 *   ntb-pair: R doorbell pingpong N rounds ok[ rtt_avg_ns X rtt_min_ns X rtt_max_ns X]
 *   ntb-pair: R msg ok (both ways, source partition Q, full inbox refused)
 *   ntb-pair: a mw 1 MiB verified (bar2 0xA -> peer 0xA)  |  b mw 1 MiB verified in RAM at 0xA
 *   ntb-pair: a mw unaligned 4096 bytes verified (trapped), past the limit reads all ones
 *   ntb-pair: b mw unaligned 4096 bytes verified in RAM at 0xA
 *   ntb-pair: R doorbell irq ok (msi vector 0x41)
 *   ntb-pair: R holding until the link goes down
 *   ntb-pair: R waiting for relink / link down after N ms / link up after N ms / ...
 *   ntb-pair: a storm running (cycle K)          the first round with the soak's cycle K
 *   ntb-pair: b soak cycle K link up/down, R exchanges verified, cut in STEP
 *   ntb-pair: b soak N cycles, U link ups, D link downs, E exchanges verified
 *   ntb-pair: R done errors=N
 * A failed check prints "ntb-pair: FAIL <what>". Exit: power off (status 0) without
 * errors, else rt_exit(1) (status 3).
 */
#include "ntb_pair.h"

#define MILESTONE_LINK_UP 0x10
#define MILESTONE_DONE	  0x11

const char *rt_prog = "ntb-pair";

static struct ntb_dev dev;

static void run(struct ntb_dev *d)
{
	unsigned rounds = (unsigned)rt_cmdline_u64("ntbpair.rounds", 100);

	tsc_khz();
	if (pci_find_ntb(d) || link_setup(d))
		return;
	if (rt_cmdline_get("ntbpair.soak")) {
		soak_run(d, (unsigned)rt_cmdline_u64("ntbpair.soak", 100));
		if (!rt_failures)
			delay_ms(rt_cmdline_u64("ntbpair.soak_hold_ms", 0));
		return;
	}
	if (rt_cmdline_flag("ntbpair.storm")) {
		storm_run(d);
		return;
	}
	if (!link_wait(d, true, rt_cmdline_u64("ntbpair.link_ms", 60000)))
		return;
	rt_milestone(MILESTONE_LINK_UP);
	xchg_run(d, rounds);
	if (rt_failures)
		return;
	if (rt_cmdline_flag("ntbpair.bench"))
		bench_run(d);
	if (rt_failures)
		return;
	if (rt_cmdline_flag("ntbpair.hold")) {
		rt_printf("ntb-pair: %s holding until the link goes down\n", d->role);
		link_wait(d, false, rt_cmdline_u64("ntbpair.hold_ms", 300000));
		return;
	}
	if (rt_cmdline_flag("ntbpair.wait_relink")) {
		uint64_t ms = rt_cmdline_u64("ntbpair.relink_ms", 120000);

		if (d->a)
			xchg_finish(d); /* the peer may leave now, and come back */
		rt_printf("ntb-pair: %s waiting for relink\n", d->role);
		if (!link_wait(d, false, ms) || !link_wait(d, true, ms))
			return;
		d->gen++;
		xchg_run(d, rounds);
		if (rt_failures)
			return;
	}
	xchg_finish(d);
}

int main(void)
{
	const char *role = rt_cmdline_get("ntbpair.role");

	dev.role = role ? role : "?";
	rt_printf("ntb-pair: %s start\n", dev.role);
	if (!role || (strcmp(role, "a") && strcmp(role, "b")))
		rt_fail("ntbpair.role=a or ntbpair.role=b is required (cmdline \"%s\")",
			rt_cmdline());
	else {
		dev.a = role[0] == 'a';
		dev.gen = (uint32_t)rt_cmdline_u64("ntbpair.gen", 1) & 0xffff;
		run(&dev);
	}
	rt_milestone(MILESTONE_DONE);
	rt_printf("ntb-pair: %s done errors=%d\n", dev.role, rt_failures);
	if (rt_failures == 0)
		rt_poweroff();
	return 1;
}
