# The PCIe tree seen from inside a guest: guests/pcie-enum scans ECAM, sizes BARs, walks
# capability lists, compares the scan with the DTB module, raises testdev MSI-X vectors into
# the local APIC and runs a peer-to-peer DMA between two testdevs behind one switch.

# root port -> XIO3130 (2 downstream) -> testdev each; a second root port with a testdev
if need_kvm "pcie_enum_checks_the_p2p_topology"; then
	cat >"$TMP/pcie-p2p.toml" <<TOML
[machine]
memory = "1G"
cpus = 1
kernel = "$GUESTS/pcie-enum.elf"

[[root_port]]
id = "rp0"
bus = "pcie0"

[[switch]]
id = "sw0"
bus = "rp0"
downstream = 2

[[testdev]]
id = "ep0"
bus = "sw0.0"
ram_bar = "2M"

[[testdev]]
id = "ep1"
bus = "sw0.1"
ram_bar = "2M"

[[root_port]]
id = "rp1"
bus = "pcie0"

[[testdev]]
id = "ep2"
bus = "rp1"
TOML
	run_vmm 120 run --config "$TMP/pcie-p2p.toml"
	expect "pcie_enum_checks_the_p2p_topology" 0 \
		"pcie-enum: 00:00\.0 1234:7100 class 060000 hdr 0" \
		"pcie-enum: 00:01\.0 1234:7101 class 060400 hdr 1 .* bus 01-04" \
		"pcie-enum: 01:00\.0 104c:8232 class 060400 hdr 1 .* bus 02-04" \
		"pcie-enum: 02:00\.0 104c:8233 class 060400 hdr 1 .* bus 03-03" \
		"pcie-enum: 02:01\.0 104c:8233 class 060400 hdr 1 .* bus 04-04" \
		"pcie-enum: 05:00\.0 1234:7120 class ff0000 hdr 0" \
		"pcie-enum:   bar0 0x00000000c[0-9a-f]{7} size 0x10000 mem32$" \
		"pcie-enum:   bar2 0x[0-9a-f]{16} size 0x200000 mem64 pref" \
		"pcie-enum:   caps 40:10 80:05 90:01 ext 100:0001$" \
		"pcie-enum:   caps 70:05 80:0d 90:10 ext 100:0001$" \
		"pcie-enum: scan found 9 functions" \
		"pcie-enum: dtb matches 9 functions" \
		"pcie-enum: testdev 03:00\.0 magic ok vectors 4" \
		"pcie-enum: msix 03:00\.0 ok" "pcie-enum: msix 04:00\.0 ok" \
		"pcie-enum: msix 05:00\.0 ok" \
		"pcie-enum: p2p dma ok 03:00\.0 -> 04:00\.0 " \
		"pcie-enum: p2p dma to hole 0x[0-9a-f]+ status 2 ok" \
		"pcie-enum: done errors=0" "guest powered off"
	if grep -q "pcie-enum: FAIL" "$TMP/out"; then
		bad "pcie_enum_checks_the_p2p_topology_no_fail_lines" "$(grep -m3 FAIL "$TMP/out")"
	fi
fi

# ACS only where asked: root ports and downstream ports gain ext 148:000d, the upstream port
# never has it; one MSI-X vector and no RAM BAR: MSI-X still works, P2P has nothing to use.
if need_kvm "pcie_enum_sees_acs_and_one_vector"; then
	cat >"$TMP/pcie-acs.toml" <<TOML
[machine]
memory = "256M"
kernel = "$GUESTS/pcie-enum.elf"

[[root_port]]
id = "rp0"
bus = "pcie0"
acs = true

[[switch]]
id = "sw0"
bus = "rp0"
downstream = 1
acs = true

[[testdev]]
id = "ep0"
bus = "sw0.0"
ram_bar = 0
msix = 1
TOML
	run_vmm 120 run --config "$TMP/pcie-acs.toml"
	expect "pcie_enum_sees_acs_and_one_vector" 0 \
		"pcie-enum: 00:01\.0 1234:7101 class 060400 hdr 1 .* bus 01-03" \
		"pcie-enum:   caps 40:10 80:05 90:01 ext 100:0001 148:000d$" \
		"pcie-enum:   caps 70:05 80:0d 90:10 ext 100:0001$" \
		"pcie-enum:   caps 70:05 80:0d 90:10 ext 100:0001 148:000d$" \
		"pcie-enum: testdev 03:00\.0 magic ok vectors 1" "pcie-enum: msix 03:00\.0 ok" \
		"pcie-enum: dtb matches 5 functions" \
		"pcie-enum: p2p skipped: 0 testdevs with a RAM BAR" "pcie-enum: done errors=0"
fi

# No devices: the host bridge alone, in config space and in the DTB.
if need_kvm "pcie_enum_default_machine_has_the_host_bridge_only"; then
	run_vmm 60 run --kernel "$GUESTS/pcie-enum.elf"
	expect "pcie_enum_default_machine_has_the_host_bridge_only" 0 \
		"pcie-enum: 00:00\.0 1234:7100 class 060000 hdr 0" \
		"pcie-enum: scan found 1 functions" "pcie-enum: dtb matches 1 functions" \
		"pcie-enum: done errors=0"
fi

# The same guest on QEMU q35 (SeaBIOS enumerates; no DTB module): checks the checker against
# QEMU's own ioh3420 / XIO3130 models. rt_poweroff falls back to debug-exit 0 (status 1) on
# q35 (guests/rt/main.c), so 0 and 1 both mean the guest finished.
if need_kvm "pcie_enum_agrees_with_qemu_q35"; then
	if ! command -v qemu-system-x86_64 >/dev/null; then
		skipped "pcie_enum_agrees_with_qemu_q35" "qemu-system-x86_64 is not installed"
	else
		timeout --kill-after=5 90 qemu-system-x86_64 -enable-kvm -M q35 -m 256 -nographic \
			-no-reboot -net none -kernel "$GUESTS/pcie-enum.elf" \
			-device isa-debug-exit,iobase=0xf4,iosize=4 \
			-device ioh3420,id=rp0,chassis=1,slot=1 \
			-device x3130-upstream,id=up0,bus=rp0 \
			-device xio3130-downstream,id=dn0,bus=up0,chassis=2,slot=2 \
			-device xio3130-downstream,id=dn1,bus=up0,chassis=3,slot=3 \
			-device edu,bus=dn0 </dev/null >"$TMP/out" 2>"$TMP/err"
		status=$?
		[ "$status" -eq 1 ] && status=0
		expect "pcie_enum_agrees_with_qemu_q35" 0 \
			"pcie-enum: 00:02\.0 8086:3420 class 060400 hdr 1 .* bus 01-04" \
			"pcie-enum: 01:00\.0 104c:8232 class 060400 hdr 1 .* bus 02-04" \
			"pcie-enum: 02:00\.0 104c:8233 class 060400 hdr 1 .* bus 03-03" \
			"pcie-enum: 03:00\.0 1234:11e8 class 00ff00 hdr 0" \
			"pcie-enum:   bar0 0x00000000[0-9a-f]{8} size 0x100000 mem32" \
			"pcie-enum:   caps 90:10 80:0d 70:05 ext 100:0001" \
			"pcie-enum: no dtb module" "pcie-enum: done errors=0"
	fi
fi

# The PLX DMA engine (devices/plx-dma) driven the way Linux's plx_dma does: a descriptor ring
# in guest RAM, START, completion written back; a copy in RAM and one into a testdev RAM BAR.
if need_kvm "pcie_enum_drives_the_plx_dma_engine"; then
	cat >"$TMP/pcie-plx.toml" <<TOML
[machine]
memory = "256M"
cpus = 1
kernel = "$GUESTS/pcie-enum.elf"

[[root_port]]
id = "rp0"

[[switch]]
id = "sw0"
bus = "rp0"

[[testdev]]
id = "ep0"
bus = "sw0.0"

[[plx_dma]]
id = "dma0"
bus = "sw0.1"
TOML
	run_vmm 120 run --config "$TMP/pcie-plx.toml"
	expect "pcie_enum_drives_the_plx_dma_engine" 0 \
		"pcie-enum: 04:00\.0 10b5:87d0 class 088000 hdr 0" \
		"pcie-enum:   bar0 0x00000000c[0-9a-f]{7} size 0x1000 mem32$" \
		"pcie-enum: plx dma ok 04:00\.0 ram -> ram 4096 bytes" \
		"pcie-enum: plx dma ok 04:00\.0 ram -> bar2 0x[0-9a-f]+ 4096 bytes" \
		"pcie-enum: done errors=0" "guest powered off"
fi
