# SeaBIOS (Debian's bios-256k.bin) as the firmware: it finds our fw_cfg (with DMA), loads the
# e820 map and our ACPI tables through etc/table-loader, starts the APs, enumerates the PCIe
# tree of examples/p2p.toml (root port -> XIO3130 -> two endpoints, and a second root port),
# assigns bus numbers and BARs, and reaches its boot attempt on the serial console. With
# reboot_timeout = 0 it resets at once after "No bootable device", which stops vmm (status 0).

SEABIOS_IMAGE=/usr/share/seabios/bios-256k.bin

seabios_config() {
	cat <<EOF
[machine]
memory = "1G"
cpus = 2
firmware = "seabios"

[firmware]
debugcon = "$TMP/debugcon.log"
reboot_timeout = 0

[[root_port]]
id = "rp0"

[[switch]]
id = "sw0"
bus = "rp0"
downstream = 2

[[testdev]]
id = "ep0"
bus = "sw0.0"
ram_bar = "64M"

[[testdev]]
id = "ep1"
bus = "sw0.1"
ram_bar = "64M"

[[root_port]]
id = "rp1"

[[testdev]]
id = "ep2"
bus = "rp1"
EOF
}

name=seabios_enumerates_the_pcie_tree_and_reaches_its_boot_attempt
if need_kvm "$name"; then
	if [ ! -r "$SEABIOS_IMAGE" ]; then
		skipped "$name" "$SEABIOS_IMAGE not found (Debian package seabios)"
	else
		seabios_config >"$TMP/seabios.toml"
		rm -f "$TMP/debugcon.log"
		run_vmm 120 run --config "$TMP/seabios.toml"
		# SeaBIOS's own log (debug console 0x402) is checked along with vmm's output.
		[ -f "$TMP/debugcon.log" ] && cat "$TMP/debugcon.log" >>"$TMP/err"
		expect "$name" 0 \
			'SeaBIOS \(version' "Booting from Hard Disk" "No bootable device" \
			"guest requested a reset" \
			"Found QEMU fw_cfg" "QEMU fw_cfg DMA interface supported" \
			'qemu/e820: addr 0x0000000000100000 len 0x000000003ff00000 \[RAM\]' \
			'Found 2 cpu\(s\)' \
			'Found 9 PCI devices \(max PCI bus is 05\)' \
			'PCI: init bdf=01:00.0 id=104c:8232' 'PCI: init bdf=02:01.0 id=104c:8233' \
			'PCI: map device bdf=03:00.0  bar 2, addr [0-9a-f]+, size 04000000 \[prefmem\]' \
			'PCI: map device bdf=04:00.0  bar 2, addr [0-9a-f]+, size 04000000 \[prefmem\]' \
			'PCI: map device bdf=05:00.0  bar 0, addr [0-9a-f]+, size 00010000 \[mem\]' \
			'table\(50434146\)=0x[0-9a-f]+ \(via xsdt\)' 'ACPI: parse DSDT' \
			"sercon: using ioport 0x3f8"
	fi
fi

# Boot from NVMe behind root port -> XIO3130 upstream -> downstream port, from the disk
# image guests/bootsector builds: SeaBIOS's NVMe driver reads LBA 0, our boot sector prints
# its marker through INT 10h (SeaBIOS's serial console forwards it to COM1) and writes 0x10
# to the debug-exit port: exit status 33.
seabios_nvme_boot() {
	local name=$1
	seabios_config | sed -e '/^\[\[testdev\]\]/,$d' >"$TMP/nvme.toml"
	cat >>"$TMP/nvme.toml" <<EOF
[[nvme]]
id = "nvme0"
bus = "sw0.0"
namespaces = [{ backend = "file", path = "$GUESTS/bootsector.img" }]

[[nvme]]
id = "nvme1"
bus = "sw0.1"
namespaces = [{ backend = "ram", size = "1M" }]
EOF
	rm -f "$TMP/debugcon.log"
	run_vmm 120 run --config "$TMP/nvme.toml"
	[ -f "$TMP/debugcon.log" ] && cat "$TMP/debugcon.log" >>"$TMP/err"
	# SeaBIOS found both controllers behind the switch (their boot paths) and a disk on
	# each, booted the first and our boot sector ran.
	expect "$name" 33 \
		"Searching bootorder for: /pci@i0cf8/pci-bridge@1/pci-bridge@0/pci-bridge@0/\\*@0" \
		"Searching bootorder for: /pci@i0cf8/pci-bridge@1/pci-bridge@0/pci-bridge@1/\\*@0" \
		"drive 0x[0-9a-f]+: PCHS=0/0/0 translation=lba LCHS=[0-9/]+ s=2048" \
		"Booting from Hard Disk" "vmm-bootsector: booted from LBA 0, drive 0x80"
}

name=seabios_boots_our_boot_sector_from_nvme
if need_kvm "$name"; then
	seabios_nvme_boot "$name"
fi

# Boot order: two NVMe disks whose boot sectors print different markers. Without `boot`
# SeaBIOS boots the first controller it finds (nvme0, the test above); with
# boot = ["nvme1"] vmm serves the fw_cfg file "bootorder" with nvme1's path below the switch
# and "HALT", so the second disk is drive 0x80 and boots.
name=seabios_boot_order_boots_the_second_nvme_disk
if need_kvm "$name"; then
	if [ ! -r "$SEABIOS_IMAGE" ]; then
		skipped "$name" "$SEABIOS_IMAGE not found (Debian package seabios)"
	else
		seabios_config | sed -e '/^\[\[testdev\]\]/,$d' \
			-e 's/^firmware = "seabios"$/&\nboot = ["nvme1"]/' >"$TMP/order.toml"
		cat >>"$TMP/order.toml" <<EOT
[[nvme]]
id = "nvme0"
bus = "sw0.0"
namespaces = [{ backend = "file", path = "$GUESTS/bootsector.img" }]

[[nvme]]
id = "nvme1"
bus = "sw0.1"
namespaces = [{ backend = "file", path = "$GUESTS/bootsector-2.img" }]
EOT
		rm -f "$TMP/debugcon.log"
		run_vmm 120 run --config "$TMP/order.toml"
		[ -f "$TMP/debugcon.log" ] && cat "$TMP/debugcon.log" >>"$TMP/err"
		if grep -q "vmm-bootsector: booted" "$TMP/out" "$TMP/err"; then
			bad "$name" "the first disk booted: the boot order was ignored"
		else
			expect "$name" 33 "boot order:" \
				"1: /pci@i0cf8/pci-bridge@1/pci-bridge@0/pci-bridge@1/pci[0-9a-f]{4},[0-9a-f]{4}@0\$" \
				"2: HALT" "Booting from Hard Disk" \
				"vmm-bootsector \\(disk 2\\): booted from LBA 0, drive 0x80"
		fi
	fi
fi

# Linux through SeaBIOS, from a disk with Debian's GRUB (guests/linux-disk/build.sh builds it
# here from Debian packages). SeaBIOS boots GRUB's boot.img from the NVMe disk, GRUB loads
# Debian's vmlinuz with linux16, and the kernel's real-mode setup code prints "early console
# in setup code" (its command line has "debug"): the kernel has taken over. Its XZ
# decompression would then run for minutes in this host's instruction emulator, so the test
# stops vmm once the line is there.
name=seabios_boots_debian_linux_from_nvme_through_grub
LINUX_DISK_WAIT=${LINUX_DISK_WAIT:-600}
if need_kvm "$name"; then
	guests/linux-disk/build.sh "$TMP/linux-disk.img" 2>"$TMP/build.err"
	rc=$?
	if [ ! -r "$SEABIOS_IMAGE" ]; then
		skipped "$name" "$SEABIOS_IMAGE not found (Debian package seabios)"
	elif [ "$rc" -eq 77 ]; then
		skipped "$name" "$(sed -e 's/^build.sh: //' "$TMP/build.err" | tail -n 1)"
	elif [ "$rc" -ne 0 ]; then
		cp "$TMP/build.err" "$TMP/err"
		: >"$TMP/out"
		bad "$name" "guests/linux-disk/build.sh failed (status $rc)"
	else
		cat >"$TMP/linux.toml" <<EOT
[machine]
memory = "512M"
cpus = 1
firmware = "seabios"
boot = ["nvme0"]

[firmware]
debugcon = "$TMP/debugcon.log"
reboot_timeout = 0

[[root_port]]
id = "rp0"

[[switch]]
id = "sw0"
bus = "rp0"

[[nvme]]
id = "nvme0"
bus = "sw0.0"
namespaces = [{ backend = "file", path = "$TMP/linux-disk.img" }]
EOT
		rm -f "$TMP/debugcon.log"
		"$VMM" run --config "$TMP/linux.toml" </dev/null >"$TMP/out" 2>"$TMP/err" &
		pid=$!
		waited=0
		while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt "$LINUX_DISK_WAIT" ] &&
			! grep -q "early console in setup code" "$TMP/out"; do
			sleep 1
			waited=$((waited + 1))
		done
		if grep -q "early console in setup code" "$TMP/out"; then
			kill "$pid" 2>/dev/null
			wait "$pid"
			status=0
		elif kill -0 "$pid" 2>/dev/null; then
			kill "$pid"
			wait "$pid"
			status=124
		else
			wait "$pid"
			status=$?
		fi
		[ -f "$TMP/debugcon.log" ] && cat "$TMP/debugcon.log" >>"$TMP/err"
		expect "$name" 0 "1: /pci@i0cf8/pci-bridge@1/pci-bridge@0/pci-bridge@0/pci" \
			"Booting from Hard Disk" "Welcome to GRUB" \
			"vmm-linux-disk: GRUB loads /vmlinuz" "early console in setup code"
	fi
fi
