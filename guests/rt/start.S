/* SPDX-License-Identifier: MIT */
/*
 * PVH entry. Xen PVH boot ABI (xen/include/public/arch-x86/hvm/start_info.h and
 * docs/misc/pvh.pandoc): the loader enters at the address in the XEN_ELFNOTE_PHYS32_ENTRY
 * note, in 32-bit protected mode with flat CS/DS/ES/SS, paging off, interrupts off and
 * EBX = physical address of struct hvm_start_info. ESP is undefined.
 *
 * Ring-0 code is emulated one instruction at a time on some hosts (HOST.md), so the page
 * tables are built by the assembler, not by a loop: the switch to long mode is a dozen
 * instructions.
 */
#include "cpu.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18

	.section .note.Xen, "a", @note
	.balign 4
	.long 2f - 1f		/* namesz */
	.long 4f - 3f		/* descsz */
	.long XEN_ELFNOTE_PHYS32_ENTRY
1:	.asciz "Xen"
2:	.balign 4
3:	.quad rt_pvh_entry	/* 8 bytes like Linux; loaders that read 4 get the same value */
4:	.balign 4

	.section .text.entry, "ax"
	.code32
	.globl rt_pvh_entry
rt_pvh_entry:
	cld
	movl	%ebx, rt_start_info_paddr
	rdtsc
	movl	%eax, rt_entry_tsc
	movl	%edx, rt_entry_tsc + 4
	movb	$RT_MILESTONE_ENTRY, %al
	movw	$0x3f0, %dx
	outb	%al, %dx

	lgdt	rt_gdt_ptr
	movl	%cr4, %eax
	orl	$CR4_PAE, %eax
	movl	%eax, %cr4
	movl	$rt_pml4, %eax
	movl	%eax, %cr3
	movl	$MSR_EFER, %ecx
	rdmsr
	orl	$EFER_LME, %eax
	wrmsr
	movl	%cr0, %eax
	orl	$(CR0_PG | CR0_PE), %eax
	movl	%eax, %cr0
	/* Now in compatibility mode on the loader's CS; jump to our 64-bit one. */
	ljmp	$SEL_KCODE, $entry64

	.code64
entry64:
	movl	$SEL_KDATA, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	%eax, %fs
	movl	%eax, %gs
	movq	$rt_kstack_top, %rsp

	/* Loaders zero the bss too, but the ABI does not promise it. */
	movq	$__bss_start, %rdi
	movq	$__bss_end, %rcx
	subq	%rdi, %rcx
	shrq	$3, %rcx
	xorl	%eax, %eax
	rep stosq

	xorl	%ebp, %ebp
	call	rt_main
1:	cli
	hlt
	jmp	1b

	.section .data.boot, "aw"
	.balign 8
	.globl rt_start_info_paddr
rt_start_info_paddr:
	.quad 0
	.globl rt_entry_tsc
rt_entry_tsc:
	.quad 0

	.balign 16
	.globl rt_gdt, rt_gdt_tss
rt_gdt:
	.quad 0				/* null */
	.quad 0x00af9a000000ffff	/* SEL_KCODE: 64-bit code, DPL 0 */
	.quad 0x00cf92000000ffff	/* SEL_KDATA: flat data, DPL 0 */
	.quad 0x00cff2000000ffff	/* SEL_UDATA: flat data, DPL 3 */
	.quad 0x00affa000000ffff	/* SEL_UCODE: 64-bit code, DPL 3 */
rt_gdt_tss:
	.quad 0, 0			/* SEL_TSS: 16-byte descriptor, filled by desc.c */
rt_gdt_end:

	.balign 8
	.word 0				/* so that the base below is 8-aligned */
rt_gdt_ptr:
	.word rt_gdt_end - rt_gdt - 1
	.quad rt_gdt			/* lgdt in 32-bit mode reads the low 4 bytes */

/*
 * Identity map of the first 4 GiB with 2 MiB pages, user-accessible so that rt_run_user
 * code can touch anything (RAM, MMIO). Above 4 GiB: rt_map() (map.c).
 */
	.section .data.pagetables, "aw"
	.balign 4096
	.globl rt_pml4, rt_pdpt, rt_pd
rt_pml4:
	.quad rt_pdpt + (PTE_P | PTE_RW | PTE_US)
	.fill 511, 8, 0
rt_pdpt:
	.quad rt_pd + 0x0000 + (PTE_P | PTE_RW | PTE_US)
	.quad rt_pd + 0x1000 + (PTE_P | PTE_RW | PTE_US)
	.quad rt_pd + 0x2000 + (PTE_P | PTE_RW | PTE_US)
	.quad rt_pd + 0x3000 + (PTE_P | PTE_RW | PTE_US)
	.fill 508, 8, 0
rt_pd:
	.set addr, 0
	.rept 2048
	.quad addr + (PTE_P | PTE_RW | PTE_US | PTE_PS)
	.set addr, addr + 0x200000
	.endr

	.section .stack, "aw", @nobits
	.balign 16
	.space RT_KSTACK_SIZE
	.globl rt_kstack_top
rt_kstack_top:
