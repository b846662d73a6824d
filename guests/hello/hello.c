/* SPDX-License-Identifier: MIT */
/*
 * hello: the smallest end-to-end check of a VMM's PVH boot path. It reports what the
 * loader passed (hvm_start_info, command line, memory map, modules) in machine-checkable
 * lines, runs a loop at CPL 3 and comes back, writes a milestone and exits with the status
 * asked for on the command line.
 *
 * Command line:
 *   (nothing)             at the end, rt_poweroff(): VMM exit status 0
 *   hello.status=N        rt_exit(N) instead: the VMM exits with (N << 1) | 1
 *   hello.poweroff        power off even when hello.status is given
 *   hello.fault=reset-kbd / reset-cf9   request a reset (i8042 0xFE / port 0xCF9)
 *   hello.halt            cli; hlt forever: the VMM should notice nothing can wake it
 *   hello.wait            sti; hlt forever (no interrupt comes): only the host can stop it
 *   hello.fault=triple    load an empty IDT and raise #UD: a triple fault (shutdown)
 *   hello.fault=pf        read unmapped memory at CPL 0: the runtime's #PF report, status 253
 *   hello.fault=user-pf   the same from CPL 3 inside rt_run_user
 *   hello.user_io         also print a line from CPL 3 (port I/O under IOPL 3); some hosts
 *                         run ring 3 with IOPL 0 whatever iretq loaded: then #GP, status 253
 *
 * Output, one fact per line, every line starting with "hello: ":
 *   hello: vmm test guest
 *   hello: start_info magic ok version V flags 0xF
 *   hello: cmdline "..."
 *   hello: cpu vendor V family-model-stepping 0xF apic-id N    (CPUID at CPL 0)
 *   hello: cpu cx16=B popcnt=B xsave=B avx=B hypervisor=B        (CPUID.1:ECX at CPL 0)
 *   hello: e820 0xADDR(16 digits) 0xSIZE(16 digits) TYPE      (one per memory-map entry)
 *   hello: ram 0xBYTES(16 digits) (M MiB)
 *   hello: modules N
 *   hello: module I 0xADDR 0xSIZE "cmdline"                   (one per module)
 *   hello: tsc entry->main C                                  (TSC cycles since PVH entry)
 *   hello: ring3 returned 500000500000
 *   hello: ring3 tsc cycles C
 *   hello: ring3 rflags 0xR                                   (IOPL is bits 12-13)
 *   hello: tsc entry->done C
 *   hello: done status=N            (or "hello: done poweroff")
 */
#include "rt.h"

#define MILESTONE_HELLO_DONE 0x10
#define USER_LOOP_N	     1000000
#define UNMAPPED_ADDR	     0x100000000000ULL /* 16 TiB: above the runtime's 4 GiB identity map */

static uint64_t user_sum(uint64_t n)
{
	uint64_t sum = 0;

	for (uint64_t i = 1; i <= n; i++) {
		sum += i;
		/* keep the loop a loop: no closed form, so it really runs at CPL 3 */
		__asm__ volatile("" : "+r"(sum));
	}
	return sum;
}

static uint64_t read_unmapped(uint64_t addr)
{
	return mmio_read64(addr);
}

static uint64_t user_print(uint64_t arg)
{
	rt_printf("hello: ring3 port I/O ok rflags=0x%llx\n", (unsigned long long)arg);
	return 0;
}

static uint64_t read_rflags(void)
{
	uint64_t v;
	__asm__ volatile("pushfq; popq %0" : "=r"(v));
	return v;
}

static uint64_t user_rflags(uint64_t arg)
{
	(void)arg;
	return read_rflags();
}

static void report_memmap(void)
{
	const struct hvm_memmap_table_entry *e;
	int n = rt_memmap(&e);
	uint64_t ram = rt_ram_total();

	for (int i = 0; i < n; i++)
		rt_printf("hello: e820 0x%016llx 0x%016llx %u\n", (unsigned long long)e[i].addr,
			  (unsigned long long)e[i].size, e[i].type);
	rt_printf("hello: ram 0x%016llx (%llu MiB)\n", (unsigned long long)ram,
		  (unsigned long long)(ram >> 20));
}

static void report_modules(void)
{
	const struct hvm_modlist_entry *m;
	int n = rt_modules(&m);

	rt_printf("hello: modules %d\n", n);
	for (int i = 0; i < n; i++)
		rt_printf("hello: module %d 0x%016llx 0x%016llx \"%s\"\n", i,
			  (unsigned long long)m[i].paddr, (unsigned long long)m[i].size,
			  rt_module_cmdline(&m[i]));
}

/* CPUID at CPL 0 is what KVM_SET_CPUID2 says (at CPL 3 this host runs it natively). */
static void report_cpu(void)
{
	uint32_t a, b, c, d;
	char vendor[13];

	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0), "c"(0));
	memcpy(vendor, &b, 4);
	memcpy(vendor + 4, &d, 4);
	memcpy(vendor + 8, &c, 4);
	vendor[12] = 0;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
	rt_printf("hello: cpu vendor %s family-model-stepping 0x%x apic-id %u\n", vendor, a,
		  b >> 24);
	rt_printf("hello: cpu cx16=%u popcnt=%u xsave=%u avx=%u hypervisor=%u\n", (c >> 13) & 1,
		  (c >> 23) & 1, (c >> 26) & 1, (c >> 28) & 1, c >> 31);
}

__attribute__((noreturn)) static void triple_fault(void)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} empty = {0, 0};

	rt_printf("hello: triple fault now\n");
	/* #UD finds no IDT entry -> #GP -> #DF -> shutdown (SDM 6.15, Table 6-5) */
	__asm__ volatile("lidt %0; ud2" : : "m"(empty));
	__builtin_unreachable();
}

int main(void)
{
	const struct hvm_start_info *si = rt_start_info();
	const char *fault = rt_cmdline_get("hello.fault");
	uint32_t status = (uint32_t)rt_cmdline_u64("hello.status", 0);
	uint64_t t0 = rt_rdtsc(), sum, cycles;

	rt_printf("hello: vmm test guest\n");
	rt_printf("hello: start_info magic ok version %u flags 0x%x\n", si->version, si->flags);
	rt_printf("hello: cmdline \"%s\"\n", rt_cmdline());
	report_cpu();
	report_memmap();
	report_modules();

	if (fault && !strcmp(fault, "triple"))
		triple_fault();
	if (fault && !strcmp(fault, "reset-kbd")) {
		rt_printf("hello: reset through the i8042\n");
		outb(0x64, 0xfe); /* pulse the CPU reset line */
	}
	if (fault && !strcmp(fault, "reset-cf9")) {
		rt_printf("hello: reset through port 0xcf9\n");
		outb(0xcf9, 0x06); /* SYS_RST | RST_CPU */
	}
	if (rt_cmdline_flag("hello.halt")) {
		rt_printf("hello: halting with interrupts off\n");
		for (;;)
			__asm__ volatile("cli; hlt");
	}
	if (rt_cmdline_flag("hello.wait")) {
		/* Interrupts on, none arrives (PICs masked): only the host can end this. */
		rt_printf("hello: waiting to be stopped\n");
		for (;;)
			__asm__ volatile("sti; hlt");
	}
	if (fault && !strcmp(fault, "pf"))
		read_unmapped(UNMAPPED_ADDR);
	if (fault && !strcmp(fault, "user-pf"))
		rt_run_user(read_unmapped, UNMAPPED_ADDR, NULL);

	rt_printf("hello: tsc entry->main %llu\n", (unsigned long long)(t0 - rt_entry_tsc));

	t0 = rt_rdtsc();
	sum = rt_run_user(user_sum, USER_LOOP_N, NULL);
	cycles = rt_rdtsc() - t0;
	rt_printf("hello: ring3 returned %llu\n", (unsigned long long)sum);
	rt_printf("hello: ring3 tsc cycles %llu\n", (unsigned long long)cycles);

	rt_printf("hello: ring3 rflags 0x%llx\n",
		  (unsigned long long)rt_run_user(user_rflags, 0, NULL));
	if (rt_cmdline_flag("hello.user_io"))
		rt_run_user(user_print, 0, NULL);

	rt_milestone(MILESTONE_HELLO_DONE);
	rt_printf("hello: tsc entry->done %llu\n", (unsigned long long)(rt_rdtsc() - rt_entry_tsc));
	/* Without hello.status the guest powers off (vmm exits 0); with it, debug-exit. */
	if (!rt_cmdline_get("hello.status") || rt_cmdline_flag("hello.poweroff")) {
		rt_printf("hello: done poweroff\n");
		rt_poweroff();
	}
	rt_printf("hello: done status=%u\n", status);
	return (int)status;
}
