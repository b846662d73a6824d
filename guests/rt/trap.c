/* SPDX-License-Identifier: MIT */
/*
 * Exception handling: the ring-3 return path (see user.S), an optional guest hook, and
 * otherwise a report on the serial port and exit with RT_EXIT_EXCEPTION.
 */
#include "internal.h"

#define VEC_UD	  6
#define FIRST_IRQ 32

static const char *const names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO", "#TS",
	"#NP", "#SS", "#GP", "#PF", "-",   "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
	"-",   "-",   "-",   "-",   "-",   "-",	  "#HV", "#VC", "#SX", "-",
};

static rt_trap_hook_fn hook;
static int depth;
static bool irq_reported;

void rt_set_trap_hook(rt_trap_hook_fn fn)
{
	hook = fn;
}

static uint64_t read_cr2(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

void rt_trap(struct rt_frame *f)
{
	bool user = (f->cs & 3) == 3;

	if (user && f->vector == VEC_UD && f->rip == (uintptr_t)rt_user_trampoline)
		rt_user_resume(f->rax);
	if (f->vector >= FIRST_IRQ) {
		/* nobody asked for interrupts: leave them un-EOI'd, which blocks their source */
		if (hook && hook(f))
			return;
		if (!irq_reported)
			rt_printf("rt: ignoring unexpected interrupt, vector %llu\n",
				  (unsigned long long)f->vector);
		irq_reported = true;
		return;
	}
	if (depth++ > 0) {
		rt_printf("rt: exception %llu inside the exception handler, rip=0x%llx\n",
			  (unsigned long long)f->vector, (unsigned long long)f->rip);
		rt_exit(RT_EXIT_DOUBLE);
	}
	if (hook && hook(f)) {
		depth--;
		return;
	}
	rt_printf("rt: exception %llu %s err=0x%llx rip=0x%llx cs=0x%llx%s rflags=0x%llx "
		  "rsp=0x%llx cr2=0x%llx\n",
		  (unsigned long long)f->vector, names[f->vector], (unsigned long long)f->error,
		  (unsigned long long)f->rip, (unsigned long long)f->cs, user ? " (ring 3)" : "",
		  (unsigned long long)f->rflags, (unsigned long long)f->rsp,
		  (unsigned long long)read_cr2());
	rt_printf("rt: rax=0x%llx rbx=0x%llx rcx=0x%llx rdx=0x%llx rsi=0x%llx rdi=0x%llx "
		  "rbp=0x%llx\n",
		  (unsigned long long)f->rax, (unsigned long long)f->rbx,
		  (unsigned long long)f->rcx, (unsigned long long)f->rdx,
		  (unsigned long long)f->rsi, (unsigned long long)f->rdi,
		  (unsigned long long)f->rbp);
	rt_exit(RT_EXIT_EXCEPTION);
}
