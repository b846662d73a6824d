# NVMe controllers checked from inside a guest: guests/nvme-smoke enables each controller the
# way Linux does, identifies it and its namespaces, creates an I/O queue pair (MSI-X), writes,
# reads back and compares a pattern on every namespace (PRP lists, first-page offsets, the
# last blocks), flushes, checks error statuses (LBA Out of Range, Invalid Namespace, queue
# errors), resets the controller and shuts it down. A controller with a PMR (BAR4, a file)
# gets a pattern written through BAR4 that must survive the controller reset, and, in a
# second test, a vmm restart (and reach the file on the host).

# Does this vmm build accept [[nvme]]? (Before the controller was wired in, it was an error.)
nvme_config_reason() {
	cat >"$TMP/nvme-probe.toml" <<TOML
[machine]
kernel = "$GUESTS/nvme-smoke.elf"

[[root_port]]
id = "rp0"

[[nvme]]
id = "nvme0"
bus = "rp0"
TOML
	if [ ! -f "$GUESTS/nvme-smoke.elf" ]; then
		echo "$GUESTS/nvme-smoke.elf is not built"
	elif ! "$VMM" check --config "$TMP/nvme-probe.toml" >"$TMP/out" 2>&1; then
		echo "this vmm does not accept [[nvme]] yet: $(head -n 1 "$TMP/out")"
	fi
}

# nvme_smoke_check NAME PATTERN...: the last run exited 0 and printed every pattern, no FAIL.
nvme_smoke_check() {
	local name=$1
	shift
	expect "$name" 0 "$@" "nvme-smoke: done errors=0" "guest powered off"
	if grep -q "nvme-smoke: FAIL" "$TMP/out"; then
		bad "${name}_no_fail_lines" "$(grep -m3 "nvme-smoke: FAIL" "$TMP/out")"
	fi
}

# nvme_smoke_test NAME PATTERN...: boot $TMP/nvme.toml, then nvme_smoke_check.
nvme_smoke_test() {
	run_vmm 180 run --config "$TMP/nvme.toml"
	nvme_smoke_check "$@"
}

NVME_REASON=$(nvme_config_reason)

# Two controllers below one switch, RAM namespaces (512-byte and 4 KiB LBAs); the first has
# a PMR, the second a CMB, where the I/O SQ goes (CMBSZ.SQS), as Linux's use_cmb_sqes does.
if need_kvm "nvme_smoke_two_controllers_below_a_switch"; then
	if [ -n "$NVME_REASON" ]; then
		skipped "nvme_smoke_two_controllers_below_a_switch" "$NVME_REASON"
	else
		cat >"$TMP/nvme.toml" <<TOML
[machine]
memory = "512M"
kernel = "$GUESTS/nvme-smoke.elf"

[[root_port]]
id = "rp0"

[[switch]]
id = "sw0"
bus = "rp0"
downstream = 2

[[nvme]]
id = "nvme0"
bus = "sw0.0"
serial = "SMOKE0"
pmr = "$TMP/pmr0.img"
pmr_size = "4M"
namespaces = [ { backend = "ram", size = "64M" },
               { backend = "ram", size = "16M", lba_size = 4096 } ]

[[nvme]]
id = "nvme1"
bus = "sw0.1"
serial = "SMOKE1"
cmb = "2M"
namespaces = [ { backend = "ram", size = "32M" } ]
TOML
		nvme_smoke_test "nvme_smoke_two_controllers_below_a_switch" \
			"nvme-smoke: found 2 controllers" \
			"nvme-smoke: 03:00\.0 1234:7110 cap 0x[0-9a-f]{16} vs 0x00010400" \
			"nvme-smoke: 03:00\.0 sn SMOKE0 mn " "nvme-smoke: 04:00\.0 sn SMOKE1 mn " \
			"nvme-smoke: 03:00\.0 active namespaces 1 2$" \
			"nvme-smoke: 03:00\.0 ns 1 lbas 131072 lba_size 512 " \
			"nvme-smoke: 03:00\.0 ns 2 lbas 4096 lba_size 4096 " \
			"nvme-smoke: 04:00\.0 ns 1 lbas 65536 lba_size 512 " \
			"nvme-smoke: 03:00\.0 ns 1 write/read/verify ok" \
			"nvme-smoke: 03:00\.0 ns 2 write/read/verify ok" \
			"nvme-smoke: 04:00\.0 ns 1 write/read/verify ok" \
			"nvme-smoke: 03:00\.0 ns 2 flush ok" \
			"nvme-smoke: 04:00\.0 ns 1 lba out of range ok \(status 0x080\)" \
			"nvme-smoke: 03:00\.0 msix ok" "nvme-smoke: 04:00\.0 msix ok" \
			"nvme-smoke: 03:00\.0 error paths ok" "nvme-smoke: 04:00\.0 error paths ok" \
			"nvme-smoke: 03:00\.0 reset ok \(ns data kept\)" \
			"nvme-smoke: 03:00\.0 pmr written \(4194304 bytes, seed 0x[0-9a-f]{8}\)" \
			"nvme-smoke: 03:00\.0 pmr ok \(reset kept 4194304 bytes\)" \
			"nvme-smoke: 04:00\.0 pmr absent" \
			"nvme-smoke: 04:00\.0 io queue 1 depth 64 sq in cmb cq msix" \
			"nvme-smoke: 04:00\.0 cmb sq ok" "nvme-smoke: 04:00\.0 shutdown ok"
	fi
fi

# pmr_pattern SEED BYTES: what nvme-smoke writes into a PMR (smoke.c pmr_record): 32-byte
# records "PMR seed=SSSSSSSS off=OOOOOOOO.\n", in hex, one per 32 bytes from offset 0.
pmr_pattern() {
	awk -v seed="$1" -v n="$2" \
		'BEGIN { for (o = 0; o < n; o += 32) printf "PMR seed=%08x off=%08x.\n", seed, o }'
}

# The PMR across a vmm restart: run 1 writes a seeded pattern through BAR4 and exits; the
# file on the host must then hold exactly that pattern; run 2, a new vmm on the same file,
# finds it in BAR4. Run 3 looks for another seed and must fail (the check can fail).
if need_kvm "nvme_smoke_pmr_survives_a_vmm_restart"; then
	if [ -n "$NVME_REASON" ]; then
		skipped "nvme_smoke_pmr_survives_a_vmm_restart" "$NVME_REASON"
	else
		pmr_config() { # CMDLINE
			cat <<TOML
[machine]
memory = "256M"
kernel = "$GUESTS/nvme-smoke.elf"
cmdline = "nvme-smoke.irq=polled $1"

[[root_port]]
id = "rp0"

[[nvme]]
id = "nvme0"
bus = "rp0"
pmr = "$TMP/pmr.img"
pmr_size = "4M"
TOML
		}
		rm -f "$TMP/pmr.img"
		pmr_config "nvme-smoke.pmr=write nvme-smoke.pmr_seed=0x5eed1234" >"$TMP/nvme.toml"
		nvme_smoke_test "nvme_smoke_pmr_write" \
			"nvme-smoke: 01:00\.0 pmr written \(4194304 bytes, seed 0x5eed1234\)" \
			"nvme-smoke: 01:00\.0 pmr ok \(reset kept 4194304 bytes\)"
		pmr_pattern $((0x5eed1234)) $((4 << 20)) >"$TMP/pmr.want"
		if cmp -s "$TMP/pmr.want" "$TMP/pmr.img"; then
			ok "nvme_smoke_pmr_reached_the_file"
		else
			bad "nvme_smoke_pmr_reached_the_file" \
				"$(cmp "$TMP/pmr.want" "$TMP/pmr.img" 2>&1 | head -n 1); $(grep -c \
				"PMR seed=5eed1234" "$TMP/pmr.img") of 131072 records hold the seed"
		fi
		pmr_config "nvme-smoke.pmr=verify nvme-smoke.pmr_seed=0x5eed1234" >"$TMP/nvme.toml"
		nvme_smoke_test "nvme_smoke_pmr_survives_a_vmm_restart" \
			"nvme-smoke: 01:00\.0 pmr verified \(4194304 bytes, seed 0x5eed1234\)" \
			"nvme-smoke: 01:00\.0 pmr ok \(reset kept 4194304 bytes\)"
		pmr_config "nvme-smoke.pmr=verify nvme-smoke.pmr_seed=0x5eed1235" >"$TMP/nvme.toml"
		run_vmm 180 run --config "$TMP/nvme.toml"
		expect "nvme_smoke_pmr_verify_catches_other_data" 3 \
			"nvme-smoke: FAIL 01:00\.0 pmr after a vmm restart: byte 0x10 reads"
	fi
fi

# A file namespace (data reaches the file) with a polled I/O CQ; then a null namespace, which
# keeps nothing, so nothing is compared (nvme-smoke.noverify).
if need_kvm "nvme_smoke_file_backend"; then
	if [ -n "$NVME_REASON" ]; then
		skipped "nvme_smoke_file_backend" "$NVME_REASON"
	else
		truncate -s 64M "$TMP/nvme-disk.img"
		cat >"$TMP/nvme.toml" <<TOML
[machine]
memory = "256M"
kernel = "$GUESTS/nvme-smoke.elf"
cmdline = "nvme-smoke.irq=polled"

[[root_port]]
id = "rp0"

[[nvme]]
id = "nvme0"
bus = "rp0"
namespaces = [ { backend = "file", path = "$TMP/nvme-disk.img", size = "64M" } ]
TOML
		run_vmm 180 run --config "$TMP/nvme.toml"
	fi
	if [ -n "$NVME_REASON" ]; then
		:
	elif grep -q "unknown nvme backend 'file'" "$TMP/err"; then
		skipped "nvme_smoke_file_backend" "this vmm has no file backend yet"
	else
		nvme_smoke_check "nvme_smoke_file_backend" \
			"nvme-smoke: 01:00\.0 ns 1 lbas 131072 lba_size 512 " \
			"nvme-smoke: 01:00\.0 io queue 1 depth [0-9]+ sq in ram cq polled" \
			"nvme-smoke: 01:00\.0 ns 1 write/read/verify ok" \
			"nvme-smoke: 01:00\.0 ns 1 flush ok" \
			"nvme-smoke: 01:00\.0 reset ok \(ns data kept\)"
		if [ "$(head -c 4096 "$TMP/nvme-disk.img" | tr -d '\0' | wc -c)" -gt 0 ]; then
			ok "nvme_smoke_file_backend_reached_the_file"
		else
			bad "nvme_smoke_file_backend_reached_the_file" "the first 4 KiB of the file are zero"
		fi
	fi
fi

if need_kvm "nvme_smoke_null_backend"; then
	if [ -n "$NVME_REASON" ]; then
		skipped "nvme_smoke_null_backend" "$NVME_REASON"
	else
		cat >"$TMP/nvme.toml" <<TOML
[machine]
memory = "256M"
kernel = "$GUESTS/nvme-smoke.elf"
cmdline = "nvme-smoke.noverify"

[[root_port]]
id = "rp0"

[[nvme]]
id = "nvme0"
bus = "rp0"
namespaces = [ { backend = "null", size = "1G" } ]
TOML
		nvme_smoke_test "nvme_smoke_null_backend" \
			"nvme-smoke: 01:00\.0 ns 1 lbas 2097152 lba_size 512 " \
			"nvme-smoke: 01:00\.0 ns 1 write/read \(not verified\) ok" \
			"nvme-smoke: 01:00\.0 ns 1 lba out of range ok" \
			"nvme-smoke: 01:00\.0 shutdown ok"
	fi
fi

# Without MSI-X the admin CQ interrupts through INTx (SeaBIOS's way: it never enables MSI-X).
if need_kvm "nvme_smoke_with_intx"; then
	if [ -n "$NVME_REASON" ]; then
		skipped "nvme_smoke_with_intx" "$NVME_REASON"
	else
		cat >"$TMP/nvme.toml" <<TOML
[machine]
memory = "256M"
kernel = "$GUESTS/nvme-smoke.elf"
cmdline = "nvme-smoke.intx nvme-smoke.irq=polled"

[[root_port]]
id = "rp0"

[[nvme]]
id = "nvme0"
bus = "rp0"
TOML
		run_vmm 60 run --config "$TMP/nvme.toml"
		expect "nvme_smoke_with_intx" 0 "nvme-smoke: 01:00\.0 ns 1 write/read/verify ok" \
			"nvme-smoke: done errors=0"
	fi
fi

# The same guest on QEMU's NVMe model (the reference): checks the checker, CMB SQ and PMR
# included.
if need_kvm "nvme_smoke_agrees_with_qemu"; then
	if ! command -v qemu-system-x86_64 >/dev/null; then
		skipped "nvme_smoke_agrees_with_qemu" "qemu-system-x86_64 is not installed"
	elif [ ! -f "$GUESTS/nvme-smoke.elf" ]; then
		skipped "nvme_smoke_agrees_with_qemu" "$GUESTS/nvme-smoke.elf is not built"
	else
		truncate -s 32M "$TMP/qemu-a.img" "$TMP/qemu-b.img"
		truncate -s 4M "$TMP/qemu-pmr.img"
		timeout --kill-after=5 120 qemu-system-x86_64 -enable-kvm -M q35 -m 512 -nographic \
			-no-reboot -net none -kernel "$GUESTS/nvme-smoke.elf" \
			-device isa-debug-exit,iobase=0xf4,iosize=4 \
			-drive file="$TMP/qemu-a.img",if=none,id=d0,format=raw \
			-object memory-backend-file,id=pmr0,share=on,mem-path="$TMP/qemu-pmr.img",size=4M \
			-device nvme,serial=qemu0,drive=d0,pmrdev=pmr0 \
			-device ioh3420,id=rp0,chassis=1,slot=1 \
			-device x3130-upstream,id=up0,bus=rp0 \
			-device xio3130-downstream,id=dn0,bus=up0,chassis=2,slot=2 \
			-drive file="$TMP/qemu-b.img",if=none,id=d1,format=raw \
			-device nvme,serial=qemu1,drive=d1,bus=dn0,cmb_size_mb=64 \
			</dev/null >"$TMP/out" 2>"$TMP/err"
		status=$?
		[ "$status" -eq 1 ] && status=0 # rt_poweroff falls back to rt_exit(0) on q35
		expect "nvme_smoke_agrees_with_qemu" 0 "nvme-smoke: found 2 controllers" \
			"nvme-smoke: 00:02\.0 sn qemu0 " "nvme-smoke: 00:02\.0 dbbuf on" \
			"nvme-smoke: 00:02\.0 ns 1 write/read/verify ok" \
			"nvme-smoke: 00:02\.0 pmr ok \(reset kept 4194304 bytes\)" \
			"nvme-smoke: 03:00\.0 io queue 1 depth 64 sq in cmb cq msix" \
			"nvme-smoke: 03:00\.0 cmb sq ok" "nvme-smoke: 03:00\.0 error paths ok" \
			"nvme-smoke: done errors=0"
	fi
fi
