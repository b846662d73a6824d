# The control socket (docs/control.md): vmm run --control PATH and vmm ctl.

cat >"$TMP/ctl.toml" <<TOML
[machine]
kernel = "$GUESTS/hello.elf"
cmdline = "hello.wait"

[[root_port]]
id = "rp0"

[[nvme]]
id = "nvme0"
bus = "rp0"

[[root_port]]
id = "rp1"

[[switch]]
id = "sw0"
bus = "rp1"
TOML

# Path errors are usage errors, found before anything starts (no KVM needed).
long=$TMP/$(printf 'x%.0s' {1..120}).sock
run_vmm 10 run --config "$TMP/ctl.toml" --control "$long"
expect "control_path_longer_than_sun_path_exits_2" 2 "--control .*longer than 107 bytes"

: >"$TMP/ctl-file"
run_vmm 10 run --config "$TMP/ctl.toml" --control "$TMP/ctl-file"
expect "control_path_that_is_a_file_exits_2" 2 "ctl-file: exists and is not a socket"
[ -f "$TMP/ctl-file" ] || bad "control_path_that_is_a_file_is_left_alone" "file removed"

run_vmm 10 ctl "$TMP/nobody.sock" info
expect "ctl_without_a_server_exits_2" 2 "vmm ctl: .*nobody.sock: No such file or directory"

run_vmm 10 ctl "$TMP/nobody.sock"
expect "ctl_without_a_request_exits_2" 2 "usage: vmm ctl PATH REQUEST"

run_vmm 10 ctl "$TMP/nobody.sock" nvme_fail ctrl
expect "ctl_bad_key_value_exits_2" 2 "'ctrl': expected key=value"

# ctl ARGS...: `vmm ctl` on the running machine's socket; then expect (see run_vmm).
ctl() { run_vmm 10 ctl "$TMP/ctl.sock" "$@"; }

if need_kvm "control_socket_serves_a_running_machine"; then
	"$VMM" run --config "$TMP/ctl.toml" --control "$TMP/ctl.sock" \
		</dev/null >"$TMP/vm.out" 2>"$TMP/vm.err" &
	pid=$!
	if ! wait_line "$TMP/vm.out" "hello: waiting to be stopped" 30; then
		bad "control_socket_serves_a_running_machine" "guest did not start"
	else
		[ -S "$TMP/ctl.sock" ] && ok "control_socket_exists_while_running" ||
			bad "control_socket_exists_while_running" "no socket at $TMP/ctl.sock"
		ctl info
		expect "ctl_info_lists_the_nvme_controller" 0 '^\{"ok":true,"devices":\[' \
			'\{"id":"rp0","kind":"root_port","bdf":"00:[0-9a-f]{2}\.0"' \
			'"id":"nvme0","kind":"nvme","bdf":"[0-9a-f]{2}:00\.0","csts":' '"faults":0'
		ctl '{"cmd":"nvme_fail","ctrl":"nvme0","bogus":1}'
		expect "ctl_bad_request_gets_an_error_reply_and_exit_1" 1 \
			'^\{"ok":false,"error":"unknown key \\"bogus\\""\}'
		ctl '{"cmd":'
		expect "ctl_malformed_json_gets_an_error_reply" 1 '"ok":false,"error":"bad JSON: '
		ctl nvme_fail ctrl=nvme0 opcode=0x02 count=2 sct=2 sc=0x81
		expect "ctl_nvme_fail_is_armed" 0 '^\{"ok":true\}'
		ctl info
		expect "ctl_info_shows_the_armed_injection" 0 '"armed":1'
		ctl nvme_delay ctrl=nvme0 qid=1 ms=100
		expect "ctl_nvme_delay_is_armed" 0 '^\{"ok":true\}'
		ctl nvme_drop ctrl=nvme0 opcode=0x0c qid=0
		expect "ctl_nvme_drop_is_armed" 0 '^\{"ok":true\}'
		ctl nvme_delay ctrl=nvme0 ms=0
		expect "ctl_nvme_delay_of_0_ms_is_refused" 1 '"error":"\\"ms\\" out of range 1..60000"'
		ctl info
		expect "ctl_info_counts_three_armed_injections" 0 '"armed":3'
		ctl clear ctrl=nvme0
		expect "ctl_clear" 0 '^\{"ok":true\}'
		ctl info
		expect "ctl_clear_disarms_everything" 0 '"csts":0,.*"armed":0'
		ctl nvme_cfs ctrl=nvme0
		expect "ctl_nvme_cfs" 0 '^\{"ok":true\}'
		ctl info
		expect "ctl_nvme_cfs_shows_in_csts" 0 '"id":"nvme0",[^}]*"csts":2,'
		ctl link_down port=rp0
		expect "ctl_link_down_takes_the_root_ports_link_down" 0 '^\{"ok":true,"link":"down"\}'
		ctl info
		expect "ctl_info_shows_the_link_down" 0 '"id":"rp0","kind":"root_port","bdf":"[^"]*","link":"down"' \
			'"id":"rp1","kind":"root_port","bdf":"[^"]*","link":"up"' \
			'"id":"sw0.1","kind":"downstream_port","bdf":"[^"]*","link":"down"'
		ctl link_up port=rp0
		expect "ctl_link_up_brings_it_back" 0 '^\{"ok":true,"link":"up"\}'
		ctl link_down port=sw0
		expect "ctl_link_down_on_a_switch_upstream_port_is_refused" 1 \
			'"error":"\\"sw0\\" is not a root port or downstream port"'
		ctl link_down port=sw0.0
		expect "ctl_link_down_on_a_downstream_port" 0 '^\{"ok":true,"link":"down"\}'
		if command -v python3 >/dev/null; then
			python3 - "$TMP/ctl.sock" >"$TMP/out" 2>"$TMP/err" <<'PY'
import socket, sys
# A client that connects and sends nothing, and one that sends requests but never reads
# the replies: neither may keep the others from being served.
idle = socket.socket(socket.AF_UNIX)
idle.connect(sys.argv[1])
hog = socket.socket(socket.AF_UNIX)
hog.connect(sys.argv[1])
hog.settimeout(10)
try:
    hog.sendall(b'{"cmd":"info"}\n' * 20000)
except OSError:
    pass
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(b"{" + b" " * 10000 + b"\n" + b'{"cmd":"info"}\n' + b'{"cmd":"x\x00"}\n')
buf = b""
while buf.count(b"\n") < 3:
    d = s.recv(65536)
    if not d:
        break
    buf += d
sys.stdout.write(buf.decode())
PY
			status=$?
			expect "overlong_line_gets_an_error_and_the_next_line_is_served" 0 \
				'"error":"request line longer than 4096 bytes"' '"ok":true,"devices"' \
				'"error":"bad JSON: at byte 9: NUL byte in string"'
		else
			skipped "overlong_line_gets_an_error_and_the_next_line_is_served" "no python3"
		fi
		if kill -0 "$pid" 2>/dev/null; then
			ok "vmm_runs_on_after_bad_requests"
		else
			bad "vmm_runs_on_after_bad_requests" "vmm exited"
		fi
	fi
	kill -TERM "$pid" 2>/dev/null
	wait "$pid"
	status=$?
	cp "$TMP/vm.out" "$TMP/out"
	cp "$TMP/vm.err" "$TMP/err"
	expect "control_socket_machine_stops_with_status_6" 6 "stopped by the user"
	[ ! -e "$TMP/ctl.sock" ] && ok "control_socket_is_removed_at_exit" ||
		bad "control_socket_is_removed_at_exit" "$TMP/ctl.sock is still there"
fi

if need_kvm "stale_control_socket_is_replaced"; then
	"$VMM" run --config "$TMP/ctl.toml" --control "$TMP/stale.sock" \
		</dev/null >"$TMP/vm.out" 2>"$TMP/vm.err" &
	pid=$!
	wait_line "$TMP/vm.out" "hello: waiting to be stopped" 30
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	if [ ! -S "$TMP/stale.sock" ]; then
		bad "stale_control_socket_is_replaced" "no socket left behind by SIGKILL"
	else
		sed 's/hello.wait//' "$TMP/ctl.toml" >"$TMP/ctl-nowait.toml"
		run_vmm 60 run --config "$TMP/ctl-nowait.toml" --control "$TMP/stale.sock"
		expect "stale_control_socket_is_replaced" 0 "hello: done poweroff"
		[ ! -e "$TMP/stale.sock" ] || bad "stale_control_socket_removed" "still there"
	fi
fi

# Injections as the guest's driver sees them: guests/nvme-smoke's polled benchmark (reads
# at queue depth 1 for 30 s) fails on an error status and on a completion that never comes.
cat >"$TMP/ctl-bench.toml" <<TOML
[machine]
kernel = "$GUESTS/nvme-smoke.elf"
cmdline = "nvmebench.seconds=30 nvmebench.qd=1 nvmebench.rw=randread"

[[root_port]]
id = "rp0"

[[nvme]]
id = "nvme0"
bus = "rp0"
TOML

# bench_start: boot it in the background with the socket at $TMP/ctl.sock; 0 once it reads.
bench_start() {
	: >"$TMP/vm.out"
	"$VMM" run --config "$TMP/ctl-bench.toml" --control "$TMP/ctl.sock" \
		</dev/null >"$TMP/vm.out" 2>"$TMP/vm.err" &
	pid=$!
	wait_line "$TMP/vm.out" "nvme-bench: ctrl" 30
}

# bench_end: wait for it; its output becomes the last run's for expect.
bench_end() {
	wait "$pid"
	status=$?
	cp "$TMP/vm.out" "$TMP/out"
	cp "$TMP/vm.err" "$TMP/err"
}

if need_kvm "nvme_fail_reaches_the_guest_driver"; then
	if ! bench_start; then
		kill -TERM "$pid" 2>/dev/null
		bench_end
		bad "nvme_fail_reaches_the_guest_driver" "the benchmark did not start"
	else
		ctl nvme_fail ctrl=nvme0 qid=1 opcode=0x02 sct=2 sc=0x81
		timeout 30 tail --pid="$pid" -f /dev/null
		kill -TERM "$pid" 2>/dev/null
		bench_end
		# SCT 2 Media and Data Integrity Errors, SC 81h Unrecovered Read Error
		expect "nvme_fail_reaches_the_guest_driver" 3 \
			"nvme-smoke: FAIL bench: completion cid [0-9]+ status 0x281"
	fi
fi

if need_kvm "nvme_delay_then_drop_reach_the_guest_driver"; then
	if ! bench_start; then
		kill -TERM "$pid" 2>/dev/null
		bench_end
		bad "nvme_delay_then_drop_reach_the_guest_driver" "the benchmark did not start"
	else
		ctl nvme_delay ctrl=nvme0 qid=1 ms=200 count=3
		sleep 2
		ctl info
		expect "nvme_delay_completes_later_and_the_guest_goes_on" 0 \
			'"faults":3,"armed":0,"delayed":0,"dropped":0'
		ctl nvme_drop ctrl=nvme0 qid=1 count=1
		sleep 1
		ctl info
		expect "nvme_drop_holds_the_command_back" 0 '"faults":4,"armed":0,"delayed":0,"dropped":1'
		timeout 30 tail --pid="$pid" -f /dev/null
		kill -TERM "$pid" 2>/dev/null
		bench_end
		expect "nvme_drop_makes_the_guest_driver_time_out" 3 \
			"nvme-smoke: FAIL bench: no completion for 10000 ms"
	fi
fi
