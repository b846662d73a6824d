/* SPDX-License-Identifier: MIT */
/*
 * nvme-smoke: finds every NVMe controller (class 010802) by ECAM scan and checks each one
 * end to end (smoke.c), or, with any nvmebench.* parameter, runs the polled benchmark on
 * one of them (bench.c). Everything after the scan runs at CPL 3 (rt_run_user): on hosts
 * whose KVM emulates ring 0 one instruction at a time, ring 3 runs natively, and the
 * pattern fills, compares and polling loops would otherwise take minutes.
 *
 * Output (every line starts with "nvme-smoke: " or "nvme-bench: "; BB:DD.F in hex):
 *   nvme-smoke: found N controllers
 *   nvme-smoke: tsc_khz K (pit|cmdline|guess ...)
 *   nvme-smoke: BB:DD.F VVVV:DDDD cap 0x... vs 0x... mqes N dstrd N to N[ cmbs][ pmrs]
 *   nvme-smoke: BB:DD.F enabled cc 0x... csts 0x...
 *   nvme-smoke: BB:DD.F sn SERIAL mn MODEL fr FW
 *   nvme-smoke: BB:DD.F vid 0x... nn N mdts N oacs 0x... sqes 0x.. cqes 0x.. vwc N
 *   nvme-smoke: BB:DD.F active namespaces 1 2 ...
 *   nvme-smoke: BB:DD.F queues granted sq N cq N
 *   nvme-smoke: BB:DD.F dbbuf on | dbbuf not supported (...) | dbbuf not used (...)
 *   nvme-smoke: BB:DD.F msix vectors N table 0x...: I/O CQ on vector 1 | msix absent ...
 *   nvme-smoke: BB:DD.F cmb absent ... | cmb barN ... | cmb sq ok
 *   nvme-smoke: BB:DD.F pmr absent ... | pmr bar4 0x... size 0x... pmrcap 0x... pmrebs 0x...
 *   nvme-smoke: BB:DD.F pmr written (N bytes, seed 0x...) | pmr verified (N bytes, seed 0x...)
 *   nvme-smoke: BB:DD.F io queue 1 depth N sq in ram|cmb cq msix|polled
 *   nvme-smoke: BB:DD.F ns N lbas N lba_size N ncap N eui64 X
 *   nvme-smoke: BB:DD.F ns N write/read/verify ok (N transfers, up to N bytes)
 *   nvme-smoke: BB:DD.F ns N flush ok
 *   nvme-smoke: BB:DD.F ns N lba out of range ok (status 0x080)
 *   nvme-smoke: BB:DD.F msix ok (delivered|pending in the APIC IRR)
 *   nvme-smoke: BB:DD.F error paths ok
 *   nvme-smoke: BB:DD.F io queue deleted
 *   nvme-smoke: BB:DD.F pmr ok (reset kept N bytes)
 *   nvme-smoke: BB:DD.F reset ok (ns data kept)
 *   nvme-smoke: BB:DD.F shutdown ok
 *   nvme-smoke: BB:DD.F errors N
 *   nvme-bench: ...                                  (bench.c)
 *   nvme-smoke: done errors=N
 * Failed checks print "nvme-smoke: FAIL <what>". Exit: power off (status 0) with no
 * errors, else rt_exit(1) (status 3).
 *
 * Command line: nvme-smoke.noverify (null backends: do not compare data),
 * nvme-smoke.nodbbuf, nvme-smoke.nocmb, nvme-smoke.irq=polled, nvmebench.* (bench.c),
 * nvme-smoke.pmr=write|verify with nvme-smoke.pmr_seed=N (PMR kept across a vmm restart:
 * the first run writes the pattern of seed N, a later run on the same file checks it).
 * nvme-smoke.crash=1: after the queues are set up, write NSID 1 forever and report durable
 * writes ("nvme-crash: fua S", "nvme-crash: flush A B"; smoke.c crash_loop, t_crash.sh).
 */
#include "nvme_smoke.h"

#define MILESTONE_SCAN_DONE 0x10
#define MILESTONE_DONE	    0x11

const char *rt_prog = "nvme-smoke";

static struct nvme_pci found[MAX_NVME];

static bool bench_mode(void)
{
	static const char *const keys[] = {"nvmebench", "nvmebench.qd", "nvmebench.rw",
					   "nvmebench.seconds", "nvmebench.ios"};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (rt_cmdline_get(keys[i]))
			return true;
	return false;
}

static uint64_t user_main(uint64_t arg)
{
	int n = (int)arg;

	tsc_khz();
	if (bench_mode()) {
		bench_ctrl(found, n);
		return 0;
	}
	for (int i = 0; i < n; i++)
		smoke_ctrl(&found[i]);
	return 0;
}

int main(void)
{
	int n = pci_find_nvme(found, MAX_NVME);

	rt_milestone(MILESTONE_SCAN_DONE);
	rt_printf("nvme-smoke: found %d controllers\n", n);
	for (int i = 0; i < n; i++)
		pci_map_high_bars(&found[i]);
	if (n == 0)
		rt_fail("no NVMe controller (class %06x) below bus 0", PCI_CLASS_NVME);
	else
		rt_run_user(user_main, (uint64_t)n, NULL);
	rt_milestone(MILESTONE_DONE);
	rt_printf("nvme-smoke: done errors=%d\n", rt_failures);
	if (rt_failures == 0)
		rt_poweroff();
	return 1;
}
