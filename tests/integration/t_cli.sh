# Command line and configuration errors: no KVM needed.

run_vmm 10 --help
expect "help_prints_usage_and_exits_0" 0 "usage: vmm <command>" "run" "check"

run_vmm 10 run --help
expect "run_help_prints_run_options" 0 "usage: vmm run" "--config"

run_vmm 10 frobnicate
expect "unknown_command_exits_2" 2 "unknown command 'frobnicate'"

run_vmm 10 run --no-such-option
expect "unknown_option_exits_2" 2 "usage: vmm run"

cat >"$TMP/bad.toml" <<'TOML'
[machine]
memory = "256M"
cpus = }
TOML
run_vmm 10 check --config "$TMP/bad.toml"
expect "malformed_toml_reports_file_line_col_and_exits_2" 2 "bad.toml:3:8: "

run_vmm 10 run --config "$TMP/bad.toml"
expect "run_with_malformed_toml_exits_2_before_booting" 2 "bad.toml:3:8: "

cat >"$TMP/typo.toml" <<TOML
[machine]
memroy = "256M"
kernel = "$GUESTS/hello.elf"
TOML
run_vmm 10 check --config "$TMP/typo.toml"
expect "unknown_key_suggests_the_close_one" 2 "typo.toml:2:1: .*memroy.*did you mean 'memory'"

cat >"$TMP/nokernel.toml" <<'TOML'
[machine]
kernel = "does-not-exist.elf"
TOML
run_vmm 10 check --config "$TMP/nokernel.toml"
expect "missing_kernel_file_is_a_config_error" 2 "nokernel.toml:2:10: .*does-not-exist.elf"

run_vmm 10 check --config "$TMP/missing.toml"
expect "missing_config_file_exits_2" 2 "missing.toml"

# A readable file is not yet a kernel: an MBR disk image is refused by check and by run,
# at the key, before anything starts.
truncate -s 16M "$TMP/disk.img"
printf '\x55\xaa' | dd of="$TMP/disk.img" bs=1 seek=510 conv=notrunc 2>/dev/null
printf '[machine]\nmemory = "256M"\nkernel = "disk.img"\n' >"$TMP/disk-kernel.toml"
run_vmm 10 check --config "$TMP/disk-kernel.toml"
expect "check_refuses_a_disk_image_as_kernel_at_its_key" 2 \
	"disk-kernel.toml:3:10: 'kernel' .*/disk.img is not a kernel vmm can boot: neither a bzImage"
run_vmm 10 run --config "$TMP/disk-kernel.toml"
expect "run_refuses_a_disk_image_as_kernel_before_booting" 2 \
	"disk-kernel.toml:3:10: 'kernel' .*/disk.img is not a kernel vmm can boot"
printf '[pair]\nmachines = ["disk-kernel.toml", "disk-kernel.toml"]\n' >"$TMP/disk-pair.toml"
run_vmm 10 pair --config "$TMP/disk-pair.toml"
expect "pair_refuses_a_disk_image_as_kernel_before_starting" 2 \
	"disk-kernel.toml:3:10: 'kernel' .*/disk.img is not a kernel vmm can boot"
run_vmm 10 run --kernel "$TMP/disk.img"
expect "run_refuses_a_disk_image_given_as_--kernel" 2 \
	"vmm: --kernel .*/disk.img is not a kernel vmm can boot"
: >"$TMP/empty-initrd.img"
run_vmm 10 run --initrd "$TMP/empty-initrd.img"
expect "run_refuses_an_empty_initrd" 2 "vmm: --initrd .*/empty-initrd.img is empty"

# A failure of vmm itself (here: the console log cannot be created) is 4, never odd.
cat >"$TMP/nolog.toml" <<TOML
[machine]
kernel = "$GUESTS/hello.elf"
[console]
log = "$TMP/no-such-dir/serial.log"
TOML
run_vmm 20 run --config "$TMP/nolog.toml"
expect "vmm_failure_exits_4" 4 "cannot open console log .*no-such-dir/serial.log"

head -c 2M /dev/zero | tr '\0' '#' >"$TMP/huge-pair.toml"
run_vmm 10 pair --config "$TMP/huge-pair.toml"
expect "pair_file_over_1_mib_is_refused_by_its_size" 2 \
	"huge-pair.toml: cannot read pair file: it is 2097152 bytes; at most 1 MiB"

cat >"$TMP/good.toml" <<TOML
[machine]
memory = "512M"
cpus = 2
kernel = "$GUESTS/hello.elf"
TOML
run_vmm 10 check --config "$TMP/good.toml"
expect "valid_config_checks_ok" 0 "ok \\(2 vCPUs, 512 MiB"

cat >"$TMP/tree.toml" <<TOML
[machine]
kernel = "$GUESTS/hello.elf"
[[root_port]]
id = "rp0"
[[switch]]
id = "sw0"
bus = "rp0"
downstream = 2
[[testdev]]
id = "t0"
bus = "sw0.0"
[[testdev]]
id = "t1"
bus = "sw0.1"
ram_bar = "64M"
TOML
run_vmm 20 inspect --config "$TMP/tree.toml" --dtb "$TMP/tree.dtb"
expect "inspect_prints_the_enumerated_tree" 0 \
	"00.0  1234:7100 host-bridge" "01.0-\\[01-04\\]  1234:7101 rp0" \
	"00.0-\\[02-04\\]  104c:8232 sw0" "00.0-\\[03-03\\]  104c:8233 sw0.0" \
	"01.0-\\[04-04\\]  104c:8233 sw0.1" "BAR2 mem64 pref ram 0x[0-9a-f]+ size 0x4000000"
if [ "$(head -c 4 "$TMP/tree.dtb" 2>/dev/null | od -An -tx1 | tr -d ' ')" = "d00dfeed" ]; then
	ok "inspect_writes_a_device_tree_blob"
else
	bad "inspect_writes_a_device_tree_blob" "$TMP/tree.dtb is not a DTB"
fi

cat >"$TMP/toobig.toml" <<TOML
[machine]
kernel = "$GUESTS/hello.elf"
[[root_port]]
id = "rp0"
[[testdev]]
id = "t0"
bus = "rp0"
ram_bar = "64G"
TOML
run_vmm 20 inspect --config "$TMP/toobig.toml"
expect "bar_that_does_not_fit_is_a_config_error_naming_it" 2 "toobig.toml: .*t0 BAR2 .* does not fit"
run_vmm 20 run --config "$TMP/toobig.toml"
expect "run_refuses_a_tree_that_does_not_fit_with_status_2" 2 "t0 BAR2 .* does not fit"

for f in examples/*.toml; do
	grep -q '^\[pair\]' "$f" && continue # pair files are for `vmm pair`
	# the Linux examples boot the test kernel, linked by `make guests-linux`
	if grep -q '^kernel = "../build/vmlinux"' "$f" && [ ! -e build/vmlinux ]; then
		skipped "example_${f##*/}_is_valid" "no build/vmlinux (make guests-linux)"
		continue
	fi
	run_vmm 20 check --config "$f"
	expect "example_${f##*/}_is_valid" 0 "ok \\("
done

printf '[pair]\nmachines = ["only-one.toml"]\n' >"$TMP/bad-pair.toml"
run_vmm 20 pair --config "$TMP/bad-pair.toml"
expect "pair_file_needs_two_machines_at_its_line" 2 \
	"bad-pair.toml:2:12: 'machines' must list exactly two machine files"

printf '[pair]\nmachines = ["a.toml", "b.toml"]\n' >"$TMP/pair-missing.toml"
run_vmm 20 pair --config "$TMP/pair-missing.toml"
expect "pair_checks_both_machine_files_before_starting" 2 "a.toml: cannot read" \
	"b.toml: cannot read"

# The two [[ntb]] of a pair must show the same personality (the hello refuses it too).
for side in a b; do
	{
		printf '[machine]\nmemory = "256M"\nkernel = "%s/hello.elf"\n' "$GUESTS"
		printf '[[root_port]]\nid = "rp0"\n[[ntb]]\nid = "ntb0"\nbus = "rp0"\n'
		printf 'rendezvous = "%s/epf.sock"\nport = %s\n' "$TMP" "$([ $side = a ] && echo 0 || echo 2)"
		[ $side = b ] && printf 'personality = "epf"\n'
	} >"$TMP/mix-$side.toml"
done
printf '[pair]\nmachines = ["mix-a.toml", "mix-b.toml"]\n' >"$TMP/mix-pair.toml"
run_vmm 20 pair --config "$TMP/mix-pair.toml"
expect "pair_refuses_ntb_personalities_that_differ" 2 \
	"mix-b.toml:6: 'personality' of .* is \"epf\", but .*mix-a.toml:6 " "both must agree"
