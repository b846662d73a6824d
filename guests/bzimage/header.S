/* SPDX-License-Identifier: MIT */
/*
 * bzhello: a minimal Linux-boot-protocol image (Documentation/arch/x86/boot.rst) that a VMM
 * starts through the 64-bit entry, to test the bzImage path end to end without a Linux
 * kernel (whose decompressor alone takes minutes on emulated ring 0).
 *
 * File layout: the boot sector with the setup header (sector 0), one setup sector (unused:
 * the 64-bit entry skips real-mode setup), then the protected-mode kernel linked at 1 MiB:
 * a 32-bit entry at +0 (not supported: halts) and the 64-bit entry at +0x200.
 */
	.section .header, "a"
	.code16
	.org 0x1f1
setup_sects:		.byte 1			/* 0x1f1 */
root_flags:		.word 0			/* 0x1f2 */
syssize:		.long 0			/* 0x1f4: unused by 64-bit loaders */
ram_size:		.word 0			/* 0x1f8 */
vid_mode:		.word 0xffff		/* 0x1fa */
root_dev:		.word 0			/* 0x1fc */
boot_flag:		.word 0xaa55		/* 0x1fe */
jump:			.byte 0xeb		/* 0x200: jmp; the next byte ends the header */
			.byte hdr_end - header	/* 0x201: header length - 2 from 0x202 */
header:			.ascii "HdrS"		/* 0x202 */
version:		.word 0x020f		/* 0x206: protocol 2.15 */
realmode_swtch:		.long 0			/* 0x208 */
start_sys_seg:		.word 0			/* 0x20c */
kernel_version:		.word 0			/* 0x20e */
type_of_loader:		.byte 0			/* 0x210: the loader writes 0xff */
loadflags:		.byte 0x01		/* 0x211: LOADED_HIGH */
setup_move_size:	.word 0			/* 0x212 */
code32_start:		.long 0x100000		/* 0x214 */
ramdisk_image:		.long 0			/* 0x218 */
ramdisk_size:		.long 0			/* 0x21c */
bootsect_kludge:	.long 0			/* 0x220 */
heap_end_ptr:		.word 0			/* 0x224 */
ext_loader_ver:		.byte 0			/* 0x226 */
ext_loader_type:	.byte 0			/* 0x227 */
cmd_line_ptr:		.long 0			/* 0x228 */
initrd_addr_max:	.long 0x7fffffff	/* 0x22c */
kernel_alignment:	.long 0x200000		/* 0x230 */
relocatable_kernel:	.byte 0			/* 0x234: linked at 1 MiB, load it there */
min_alignment:		.byte 21		/* 0x235 */
xloadflags:		.word 0x0001		/* 0x236: XLF_KERNEL_64 */
cmdline_size:		.long 4095		/* 0x238 */
hardware_subarch:	.long 0			/* 0x23c */
hardware_subarch_data:	.quad 0			/* 0x240 */
payload_offset:		.long 0			/* 0x248 */
payload_length:		.long 0			/* 0x24c */
setup_data:		.quad 0			/* 0x250 */
pref_address:		.quad 0x100000		/* 0x258 */
init_size:		.long bz_init_size	/* 0x260 */
handover_offset:	.long 0			/* 0x264 */
kernel_info_offset:	.long 0			/* 0x268 */
hdr_end:
	.org 0x400				/* (1 + setup_sects) * 512 */

	.section .entry, "ax"
	.code32
startup_32:					/* 32-bit boot protocol: not supported */
	hlt
	jmp startup_32

	.org 0x200
	.code64
	.globl startup_64
startup_64:					/* 64-bit boot protocol: RSI = boot_params */
	cli
	lea stack_top(%rip), %rsp
	mov %rsi, %rdi
	call bz_main
1:	hlt
	jmp 1b

	.section .bss
	.balign 16
	.space 16384
stack_top:
	.section .note.GNU-stack, "", @progbits
