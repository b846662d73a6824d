# Boot the hello test guest under KVM.

if need_kvm "default_machine_boots_hello_and_powers_off"; then
	run_vmm 120 run
	expect "default_machine_boots_hello_and_powers_off" 0 \
		"hello: vmm test guest" 'hello: cmdline "console=ttyS0"' \
		"hello: e820 0x0000000000100000 " "hello: ring3 returned 500000500000" \
		"guest boot milestone" "hello: done poweroff" "guest powered off"
fi

if need_kvm "debug_exit_status_reaches_the_shell"; then
	run_vmm 120 run --cmdline "hello.status=3"
	expect "debug_exit_status_reaches_the_shell" 7 "hello: done status=3" "debug-exit"
fi

# 1 is the guest's debug-exit 0 and nothing else: vmm's own statuses are even.
if need_kvm "debug_exit_0_is_status_1"; then
	run_vmm 120 run --cmdline "hello.status=0"
	expect "debug_exit_0_is_status_1" 1 "hello: done status=0" "exit status 1"
fi

# A closed stdin is the end of input (it once made the guest RAM memfd the console's input).
if need_kvm "closed_stdin_is_the_end_of_input_and_the_guest_runs_on"; then
	timeout --kill-after=5 60 "$VMM" run --verbose <&- >"$TMP/out" 2>"$TMP/err"
	status=$?
	expect "closed_stdin_is_the_end_of_input_and_the_guest_runs_on" 0 \
		"console: end of input \(end of file\); the guest runs on without it" \
		"hello: done poweroff"
fi

if need_kvm "sigterm_stops_the_guest_with_status_6"; then
	"$VMM" run --cmdline "hello.wait" </dev/null >"$TMP/out" 2>"$TMP/err" &
	pid=$!
	for ((i = 0; i < 300; i++)); do
		grep -q "hello: waiting to be stopped" "$TMP/out" && break
		sleep 0.1
	done
	kill -TERM "$pid"
	wait "$pid"
	status=$?
	expect "sigterm_stops_the_guest_with_status_6" 6 "hello: waiting to be stopped" \
		"stopping the guest: Terminated" "stopped by the user after [0-9]+ ms; exit status 6"
fi

if need_kvm "ram_above_4g_is_in_the_memory_map"; then
	cat >"$TMP/big.toml" <<TOML
[machine]
memory = "5G"
cpus = 1
kernel = "$GUESTS/hello.elf"
cmdline = "console=ttyS0"
TOML
	run_vmm 120 run --config "$TMP/big.toml"
	# 5 GiB: 2 GiB below the PCI hole (minus the legacy area), 3 GiB from 4 GiB up.
	expect "ram_above_4g_is_in_the_memory_map" 0 \
		"hello: e820 0x0000000100000000 0x00000000c0000000 1" \
		"hello: e820 0x00000000b0000000 0x0000000010000000 2"
fi

if need_kvm "triple_fault_stops_vmm_with_registers"; then
	run_vmm 120 run --cmdline "hello.fault=triple"
	expect "triple_fault_stops_vmm_with_registers" 4 "triple fault" "RIP=" "CR3=" \
		"exit status 4"
fi

if need_kvm "compat_cpu_model_boots_hello"; then
	cat >"$TMP/compat.toml" <<TOML
[machine]
kernel = "$GUESTS/hello.elf"
[cpu]
model = "compat"
TOML
	run_vmm 120 run --config "$TMP/compat.toml"
	# cx16 is one of the bits this host's KVM honours at CPL 0 (not all are: HOST.md)
	expect "compat_cpu_model_boots_hello" 0 "hello: done" "hello: cpu vendor GenuineIntel" \
		"hello: cpu cx16=0 "
fi

for how in kbd cf9; do
	if need_kvm "reset_through_${how}_stops_vmm_with_status_0"; then
		run_vmm 60 run --cmdline "hello.fault=reset-$how"
		expect "reset_through_${how}_stops_vmm_with_status_0" 0 \
			"hello: reset through" "guest requested a reset"
	fi
done

if need_kvm "console_log_file_gets_the_guest_output"; then
	cat >"$TMP/log.toml" <<TOML
[machine]
kernel = "$GUESTS/hello.elf"
[console]
log = "serial.log"
input = false
TOML
	rm -f "$TMP/serial.log"
	run_vmm 60 run --config "$TMP/log.toml"
	if grep -q "hello: done poweroff" "$TMP/serial.log" 2>/dev/null; then
		expect "console_log_file_gets_the_guest_output" 0 "hello: done poweroff"
	else
		bad "console_log_file_gets_the_guest_output" "serial.log lacks the guest output"
	fi
fi

if need_kvm "smp_machine_boots_with_4_vcpus"; then
	cat >"$TMP/smp.toml" <<TOML
[machine]
kernel = "$GUESTS/hello.elf"
cpus = 4
TOML
	run_vmm 60 run --config "$TMP/smp.toml" --verbose
	expect "smp_machine_boots_with_4_vcpus" 0 "machine started: 4 vCPU" "hello: done poweroff"
fi
