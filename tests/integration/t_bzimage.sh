# The Linux boot protocol (bzImage, 64-bit entry) end to end with bzhello, our own image.

if need_kvm "bzimage_guest_gets_boot_params_cmdline_e820_and_initrd"; then
	printf 'INITRD-MAGIC-0123456789' >"$TMP/initrd.img"
	run_vmm 60 run --kernel "$GUESTS/bzhello.bzImage" --initrd "$TMP/initrd.img" \
		--cmdline "console=ttyS0 bz.test=1"
	expect "bzimage_guest_gets_boot_params_cmdline_e820_and_initrd" 0 \
		"bzhello: entered 64-bit, boot_params 0x7000" \
		"bzhello: type_of_loader 0xff loadflags 0x81" \
		'bzhello: cmdline "console=ttyS0 bz.test=1"' \
		"bzhello: e820 0x0000000000100000 0x000000000ff00000 1" \
		'bzhello: initrd 0x[0-9a-f]+ 0x17 "INITRD-MAGIC-012"' \
		"bzhello: done" "guest powered off"
fi

if need_kvm "halted_guest_with_interrupts_off_stops_vmm"; then
	run_vmm 60 run --cmdline "hello.halt"
	expect "halted_guest_with_interrupts_off_stops_vmm" 0 \
		"hello: halting with interrupts off" "all vCPUs halted with interrupts disabled"
fi
