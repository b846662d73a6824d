/* SPDX-License-Identifier: MIT */
/*
 * Entry stubs for the 32 exception vectors and the 224 interrupt vectors. Each stub makes the frame uniform (a zero
 * error code where the CPU pushes none, SDM 6.13), pushes its vector, saves the general
 * registers as a struct rt_frame (rt.h) and calls rt_trap(). If rt_trap returns, the
 * registers are restored and iretq resumes the interrupted code.
 */
	.macro TRAP_NOERR vec
	.balign 16
trap_\vec:
	pushq	$0
	pushq	$\vec
	jmp	trap_common
	.endm

	.macro TRAP_ERR vec
	.balign 16
trap_\vec:
	pushq	$\vec
	jmp	trap_common
	.endm

	.text
	TRAP_NOERR 0
	TRAP_NOERR 1
	TRAP_NOERR 2
	TRAP_NOERR 3
	TRAP_NOERR 4
	TRAP_NOERR 5
	TRAP_NOERR 6
	TRAP_NOERR 7
	TRAP_ERR 8
	TRAP_NOERR 9
	TRAP_ERR 10
	TRAP_ERR 11
	TRAP_ERR 12
	TRAP_ERR 13
	TRAP_ERR 14
	TRAP_NOERR 15
	TRAP_NOERR 16
	TRAP_ERR 17
	TRAP_NOERR 18
	TRAP_NOERR 19
	TRAP_NOERR 20
	TRAP_ERR 21
	TRAP_NOERR 22
	TRAP_NOERR 23
	TRAP_NOERR 24
	TRAP_NOERR 25
	TRAP_NOERR 26
	TRAP_NOERR 27
	TRAP_NOERR 28
	TRAP_ERR 29
	TRAP_ERR 30
	TRAP_NOERR 31

/*
 * Interrupts: the runtime enables none, but ring 3 may run with IF=1 whatever iretq
 * loaded (HOST.md's KVM does that), so every vector needs a gate. Stub v sits at
 * rt_irq_stubs + (v - 32) * 16.
 */
	.balign 16
	.globl rt_irq_stubs
rt_irq_stubs:
	.set vec, 32
	.rept 224
	.balign 16
	pushq	$0
	pushq	$vec
	jmp	trap_common
	.set vec, vec + 1
	.endr

trap_common:
	pushq	%rax
	pushq	%rbx
	pushq	%rcx
	pushq	%rdx
	pushq	%rsi
	pushq	%rdi
	pushq	%rbp
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	/* 15 registers + vector + error + 5-word CPU frame = 176 bytes: RSP stays 16-aligned */
	movq	%rsp, %rdi
	cld
	call	rt_trap
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rbp
	popq	%rdi
	popq	%rsi
	popq	%rdx
	popq	%rcx
	popq	%rbx
	popq	%rax
	addq	$16, %rsp
	iretq

	.section .rodata
	.balign 8
	.globl rt_trap_stubs
rt_trap_stubs:
	.irp vec, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad trap_\vec
	.endr
