/* SPDX-License-Identifier: MIT */
/*
 * Running a function at CPL 3 and coming back.
 *
 * rt_run_user saves the callee-saved registers and RSP, points TSS.RSP0 just below them
 * (so traps from ring 3 do not overwrite the caller's frames) and iretq's to fn(arg) at
 * CPL 3 with a return address of rt_user_trampoline. When fn returns, the trampoline's ud2
 * raises #UD from CPL 3; rt_trap recognises the RIP and calls rt_user_resume, which
 * unwinds to rt_run_user's caller with fn's RAX. `int N` cannot be used for this: it does
 * not reach the guest on every host (HOST.md), exceptions do.
 */
#include "cpu.h"

#define TSS_RSP0 4

	.text
	.globl rt_run_user
rt_run_user:			/* uint64_t rt_run_user(fn, arg, user_stack_top) */
	pushq	%rbx
	pushq	%rbp
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	movq	%rsp, user_saved_rsp(%rip)
	movq	%rsp, rt_tss + TSS_RSP0(%rip)

	testq	%rdx, %rdx
	jnz	1f
	movq	$rt_ustack_top, %rdx
1:	andq	$-16, %rdx
	subq	$8, %rdx		/* as if fn had been called: RSP = 8 mod 16 */
	movq	$rt_user_trampoline, %rax
	movq	%rax, (%rdx)

	pushq	$SEL_UDATA		/* SS */
	pushq	%rdx			/* RSP */
	pushq	$RFLAGS_USER		/* RFLAGS: IF=0, IOPL=3 */
	pushq	$SEL_UCODE		/* CS */
	pushq	%rdi			/* RIP */
	movq	%rsi, %rdi
	xorl	%eax, %eax
	xorl	%esi, %esi
	xorl	%edx, %edx
	xorl	%ecx, %ecx
	xorl	%ebx, %ebx
	xorl	%ebp, %ebp
	iretq

	.globl rt_user_trampoline
rt_user_trampoline:
	ud2

	.globl rt_user_resume
rt_user_resume:			/* noreturn void rt_user_resume(uint64_t rax) */
	movl	$SEL_KDATA, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movq	user_saved_rsp(%rip), %rsp
	movq	%rdi, %rax
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbp
	popq	%rbx
	ret

	.bss
	.balign 8
user_saved_rsp:
	.quad 0

	.section .stack, "aw", @nobits
	.balign 16
	.space RT_USTACK_SIZE
	.globl rt_ustack_top
rt_ustack_top:
