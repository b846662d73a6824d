# A 512-byte real-mode boot sector: the BIOS loads it at 0000:7C00 and jumps to it with the
# boot drive in DL. It prints a marker through the BIOS (INT 10h teletype, which SeaBIOS's
# serial console forwards to COM1), then stops the machine through the debug-exit port
# 0xf4 (vmm and QEMU isa-debug-exit: exit status (0x10 << 1) | 1 = 33).
#
# Assembled with --defsym DISK2=1 it says "vmm-bootsector (disk 2): ..." instead: the second
# disk of the boot-order test, told apart from the first by what it prints.
#
# Plain `as` syntax (no preprocessor: the .s suffix keeps guests/Makefile from taking this
# for a PVH guest).
	.code16
	.text
	.globl _start
_start:
	cli
	xorw	%ax, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movw	$0x7c00, %sp
	ljmp	$0, $start		# some BIOSes enter at 07C0:0000
start:
	sti
	movb	%dl, drive
	movw	$banner, %si
	call	puts
	movb	drive, %al		# the boot drive, as two hex digits
	shrb	$4, %al
	call	puthex
	movb	drive, %al
	call	puthex
	movw	$eol, %si
	call	puts
	movw	$4, %cx			# SeaBIOS's serial console flushes from its timer
1:	hlt				# interrupt: let 4 ticks (~220 ms) pass before exiting
	loop	1b
	movb	$0x10, %al
	outb	%al, $0xf4
halt:
	cli
	hlt
	jmp	halt

# Print the NUL-terminated string at DS:SI.
puts:
	lodsb
	testb	%al, %al
	jz	1f
	call	putc
	jmp	puts
1:	ret

# Print the low nibble of AL as a hex digit.
puthex:
	andb	$0x0f, %al
	addb	$'0', %al
	cmpb	$'9', %al
	jbe	putc
	addb	$'a' - '9' - 1, %al
putc:
	movb	$0x0e, %ah		# INT 10h AH=0Eh: teletype output
	movw	$0x0007, %bx
	int	$0x10
	ret

drive:	.byte	0
banner:	.ascii	"vmm-bootsector"
	.ifdef	DISK2
	.ascii	" (disk 2)"
	.endif
	.asciz	": booted from LBA 0, drive 0x"
eol:	.asciz	"\r\n"

	.org	510
	.word	0xaa55			# boot signature
