# NTB pair: two vmm processes, each with an IDT NT function ([[ntb]], ports 0 and 2) meeting at
# one rendezvous socket, each booting guests/ntb-pair (role a or b). Both must print link up,
# the doorbell ping-pong, messages both ways, the memory-window data check (a mapped window,
# then an unaligned one that traps), a doorbell taken as an MSI, and power off.
# Then: B starts first; a peer killed with SIGKILL (the listener, then the connector) and
# restarted while the survivor waits; a peer that powers off and is started again; one
# survivor through NTB_KILLS (100) SIGKILLs of its peer mid-traffic.
# NTB_ONLY=PATTERN (grep -E on the test names) runs only the tests it matches.

# ntb_config FILE PORT ROLE SOCKET EXTRA_CMDLINE [BUS_TOML]: a machine with one NT function
ntb_config() {
	local file=$1 port=$2 role=$3 sock=$4 extra=$5 bus=${6:-}
	{
		cat <<TOML
[machine]
memory = "256M"
kernel = "$GUESTS/ntb-pair.elf"
cmdline = "ntbpair.role=$role ntbpair.link_ms=30000 $extra"

TOML
		if [ -n "$bus" ]; then
			printf '%s\n' "$bus"
		else
			printf '[[root_port]]\nid = "rp0"\n'
		fi
		cat <<TOML

[[ntb]]
id = "ntb0"
bus = "${NTB_BUS:-rp0}"
port = $port
rendezvous = "$sock"
TOML
	} >"$file"
}

# ntb_start SIDE CONFIG [SECONDS]: vmm in the background (bounded, 90 s unless told),
# output in $TMP/SIDE.out; the pid of its `timeout` goes to ntb_pid_SIDE
ntb_start() {
	timeout --kill-after=5 "${3:-90}" "$VMM" run --config "$2" </dev/null >"$TMP/$1.out" 2>&1 &
	printf -v "ntb_pid_$1" '%s' $!
}

# ntb_vmm_pid SIDE: the pid of vmm itself (the child of its `timeout`), once it exists
ntb_vmm_pid() {
	local pid_var="ntb_pid_$1" i child
	for ((i = 0; i < 100; i++)); do
		child=$(cat "/proc/${!pid_var}/task/${!pid_var}/children" 2>/dev/null)
		[ -n "$child" ] && {
			echo "${child%% *}"
			return
		}
		sleep 0.01
	done
}

# ntb_wait SIDE: its exit status into ntb_status_SIDE
ntb_wait() {
	local pid_var="ntb_pid_$1"
	wait "${!pid_var}" 2>/dev/null # no "Killed" notice for the one we kill
	printf -v "ntb_status_$1" '%s' $?
}

# ntb_wait_line SIDE PATTERN SECONDS: until the side's output has the line (0) or not (1)
ntb_wait_line() {
	wait_line "$TMP/$1.out" "$2" "$3"
}

# ntb_side_ok TEST SIDE WANT_STATUS PATTERN...: reports the failure (and returns 1) if any
ntb_side_ok() {
	local name=$1 side=$2 want=$3 st_var="ntb_status_$2" p
	shift 3
	cp "$TMP/$side.out" "$TMP/out"
	: >"$TMP/err"
	if [ "${!st_var}" -eq 124 ] || { [ "${!st_var}" -eq 137 ] && [ "$want" -ne 137 ]; }; then
		bad "$name" "$side timed out"
		return 1
	fi
	if [ "${!st_var}" -ne "$want" ]; then
		bad "$name" "$side: exit status ${!st_var}, expected $want"
		return 1
	fi
	for p in "$@"; do
		if ! grep -Eq -- "$p" "$TMP/$side.out"; then
			bad "$name" "$side output lacks /$p/"
			return 1
		fi
	done
	if grep -q "ntb-pair: FAIL" "$TMP/$side.out"; then
		bad "$name" "$side: $(grep -m3 'ntb-pair: FAIL' "$TMP/$side.out")"
		return 1
	fi
}

# ntb_count SIDE PATTERN: lines matching
ntb_count() {
	grep -Ec -- "$2" "$TMP/$1.out"
}

ntb_exchange_lines() {
	local r=$1
	echo "ntb-pair: $r link up" "ntb-pair: $r doorbell pingpong 100 rounds ok" \
		"ntb-pair: $r msg ok" "ntb-pair: $r mw 1 MiB verified" \
		"ntb-pair: $r mw unaligned 4096 bytes verified" "ntb-pair: $r doorbell irq ok" \
		"ntb-pair: $r done errors=0"
}

# Why the NTB tests cannot run here, or nothing.
ntb_skip_reason() {
	local msg
	if [ -n "$KVM_REASON" ]; then
		echo "$KVM_REASON"
		return
	fi
	if [ ! -f "$GUESTS/ntb-pair.elf" ]; then
		return # a missing guest is a failure, reported by the test
	fi
	ntb_config "$TMP/ntb-probe.toml" 0 a "$TMP/ntb-probe.sock" ""
	if ! msg=$("$VMM" check --config "$TMP/ntb-probe.toml" 2>&1); then
		case $msg in
		*"not implemented"* | *"not supported"* | *"unknown table"*)
			echo "vmm check does not accept [[ntb]] yet: $(echo "$msg" | head -n1)"
			;;
		esac
	fi
}

NTB_SKIP=$(ntb_skip_reason)

# ntb_want TEST: selected? NTB_ONLY (a grep -E pattern on test names) picks some; unset, all
ntb_want() {
	[ -z "${NTB_ONLY:-}" ] || grep -Eq -- "$NTB_ONLY" <<<"$1"
}

# ntb_can_run TEST: whether TEST is picked (NTB_ONLY) and can run here; when it cannot,
# says why (SKIP, or FAIL for a guest that was not built) and returns 1.
ntb_can_run() {
	ntb_want "$1" || return 1
	if [ -n "$NTB_SKIP" ]; then
		skipped "$1" "$NTB_SKIP"
		return 1
	fi
	if [ ! -f "$GUESTS/ntb-pair.elf" ]; then
		bad "$1" "$GUESTS/ntb-pair.elf was not built"
		return 1
	fi
}

# ntb_pair TEST FIRST SECOND: the two sides, FIRST started 0.5 s before SECOND
ntb_pair() {
	local name=$1 first=$2 second=$3
	ntb_can_run "$name" || return 0
	local sock="$TMP/$name.sock"
	ntb_config "$TMP/$name-a.toml" 0 a "$sock" ""
	# B's function sits behind a switch: the guest's ECAM walk must follow two bridges.
	NTB_BUS=sw0.1 ntb_config "$TMP/$name-b.toml" 2 b "$sock" "" \
		"$(printf '[[root_port]]\nid = "rp0"\n\n[[switch]]\nid = "sw0"\nbus = "rp0"\ndownstream = 2\n')"
	ntb_start "$first" "$TMP/$name-$first.toml"
	sleep 0.5
	ntb_start "$second" "$TMP/$name-$second.toml"
	ntb_wait a
	ntb_wait b
	# shellcheck disable=SC2046
	ntb_side_ok "$name" a 0 $(ntb_exchange_lines a) \
		"ntb-pair: a function 01:00\.0 " "ntb-pair: a port 0 part 0 peer port 2 part 1" \
		"guest powered off" || return
	# shellcheck disable=SC2046
	ntb_side_ok "$name" b 0 $(ntb_exchange_lines b) \
		"ntb-pair: b function 04:00\.0 " "ntb-pair: b port 2 part 1 peer port 0 part 0" \
		"guest powered off" || return
	ok "$name"
}

ntb_pair ntb_pair_exchanges_doorbells_messages_and_window_data a b
ntb_pair ntb_pair_links_when_b_starts_first b a

# ntb_peer_leaves TEST VICTIM SURVIVOR FIRST HOW: the victim finishes one exchange, then
# HOW=kill: holds and is killed with SIGKILL; HOW=exit: powers off as usual. It is started
# again, and the survivor must see link down, link up, and finish a second exchange with
# the new victim. FIRST (victim or survivor) starts 0.5 s earlier and so listens on the
# rendezvous: the one whose shared switch state both use.
ntb_peer_leaves() {
	local name=$1 victim=$2 survivor=$3 first=$4 how=$5 vport sport p n child
	ntb_can_run "$name" || return 0
	local sock="$TMP/$name.sock" vpid_var="ntb_pid_$victim" spid_var="ntb_pid_$survivor"
	local vst_var="ntb_status_$victim" hold="" wait_line="ntb-pair: $victim done errors=0"
	[ "$victim" = a ] && vport=0 sport=2 || vport=2 sport=0
	[ "$how" = kill ] && hold=ntbpair.hold wait_line="ntb-pair: $victim holding"
	ntb_config "$TMP/$name-victim.toml" $vport "$victim" "$sock" "$hold"
	ntb_config "$TMP/$name-again.toml" $vport "$victim" "$sock" "ntbpair.gen=2"
	ntb_config "$TMP/$name-survivor.toml" $sport "$survivor" "$sock" "ntbpair.wait_relink ntbpair.relink_ms=40000"
	if [ "$first" = victim ]; then
		ntb_start "$victim" "$TMP/$name-victim.toml"
		sleep 0.5
		ntb_start "$survivor" "$TMP/$name-survivor.toml"
	else
		ntb_start "$survivor" "$TMP/$name-survivor.toml"
		sleep 0.5
		ntb_start "$victim" "$TMP/$name-victim.toml"
	fi
	if ! ntb_wait_line "$victim" "$wait_line" 60 ||
		! ntb_wait_line "$survivor" "ntb-pair: $survivor waiting for relink" 30; then
		kill "${!vpid_var}" "${!spid_var}" 2>/dev/null
		ntb_wait "$victim"
		ntb_wait "$survivor"
		cat "$TMP/$victim.out" "$TMP/$survivor.out" >"$TMP/out"
		: >"$TMP/err"
		bad "$name" "the first exchange did not finish"
		return
	fi
	if [ "$how" = kill ]; then
		# SIGKILL vmm itself (the child of our timeout), not the timeout.
		child=$(cat "/proc/${!vpid_var}/task/${!vpid_var}/children" 2>/dev/null)
		[ -n "$child" ] && kill -9 "$child"
	fi
	ntb_wait "$victim"
	if [ "${!vst_var}" -ne "$([ "$how" = kill ] && echo 137 || echo 0)" ]; then
		cp "$TMP/$victim.out" "$TMP/out"
		: >"$TMP/err"
		bad "$name" "$how the $victim vmm (pid ${child:-}): status ${!vst_var}"
		kill "${!spid_var}" 2>/dev/null
		ntb_wait "$survivor"
		return
	fi
	mv "$TMP/$victim.out" "$TMP/$victim-first.out"
	sleep 0.5
	ntb_start "$victim" "$TMP/$name-again.toml"
	ntb_wait "$victim"
	ntb_wait "$survivor"
	# shellcheck disable=SC2046
	ntb_side_ok "$name" "$victim" 0 $(ntb_exchange_lines "$victim") || return
	# shellcheck disable=SC2046
	ntb_side_ok "$name" "$survivor" 0 $(ntb_exchange_lines "$survivor") \
		"ntb-pair: $survivor link down after" || return
	for p in "link up after" "doorbell pingpong 100 rounds ok" "msg ok" "mw 1 MiB verified" \
		"mw unaligned 4096 bytes verified" "doorbell irq ok"; do
		n=$(ntb_count "$survivor" "ntb-pair: $survivor $p")
		if [ "$n" -ne 2 ]; then
			cp "$TMP/$survivor.out" "$TMP/out"
			bad "$name" "$survivor printed '$p' $n times, expected 2 (before and after the restart)"
			return
		fi
	done
	ok "$name"
}

ntb_peer_leaves ntb_pair_survives_the_listener_killed_and_restarted a b victim kill
ntb_peer_leaves ntb_pair_survives_the_connector_killed_and_restarted b a survivor kill
ntb_peer_leaves ntb_pair_relinks_after_the_peer_powers_off_and_restarts b a survivor exit

# `vmm pair`: both machines from one command, consoles prefixed with their names.
name=ntb_pair_runs_from_one_pair_file
if ntb_want "$name" && need_kvm "$name"; then
	ntb_config "$TMP/pa.toml" 0 a "$TMP/pair.sock" ""
	ntb_config "$TMP/pb.toml" 2 b "$TMP/pair.sock" ""
	printf '[pair]\nmachines = ["pa.toml", "pb.toml"]\nnames = ["left", "right"]\n' \
		>"$TMP/both.toml"
	run_vmm 120 pair --config "$TMP/both.toml"
	expect "$name" 0 "^\\[left\\] ntb-pair: a link up" "^\\[right\\] ntb-pair: b link up" \
		"^\\[left\\] ntb-pair: a done errors=0" "^\\[right\\] ntb-pair: b done errors=0" \
		"vmm pair: left exited with status 0" "vmm pair: right exited with status 0"
fi

# The survivor of 100 kills (NTB_KILLS): B (ntbpair.soak=N) listens; N times an A
# (ntbpair.storm) is started, runs traffic with it (doorbells, messages, both windows) and
# is SIGKILLed mid-traffic. The survivor's vmm must live through all of it without growing:
# its fds and mappings (peer RAM and switch-state memfds included) after the last kill are
# what they were after the first. Then its guest must have counted N link ups and N link
# downs, verified data every cycle, and power off cleanly.

# ntb_soak_sample PID: its open fds, lines of maps, lines of maps that are memfds (guest RAM,
# its own and a peer's, and the switch state)
ntb_soak_sample() {
	local f m s
	# shellcheck disable=SC2012 # fd names are numbers
	f=$(ls "/proc/$1/fd" 2>/dev/null | wc -l)
	m=$(wc -l <"/proc/$1/maps" 2>/dev/null)
	s=$(grep -c 'memfd:' "/proc/$1/maps" 2>/dev/null)
	echo "$f ${m:-0} ${s:-0}"
}

# ntb_soak_stable PID: ntb_soak_sample once two in a row, 50 ms apart, agree (at most 1 s):
# the link thread may still be between closing the dead peer's socket and listening again
ntb_soak_stable() {
	local prev cur i
	prev=$(ntb_soak_sample "$1")
	for ((i = 0; i < 20; i++)); do
		sleep 0.05
		cur=$(ntb_soak_sample "$1")
		[ "$cur" = "$prev" ] && break
		prev=$cur
	done
	echo "$cur"
}

# ntb_soak_fail TEST WHY: stop both sides, report with both outputs
ntb_soak_fail() {
	local a_var=ntb_pid_a b_var=ntb_pid_b
	kill "${!a_var}" "${!b_var}" 2>/dev/null
	ntb_wait a
	ntb_wait b
	cat "$TMP/a.out" "$TMP/b.out" >"$TMP/out"
	: >"$TMP/err"
	bad "$1" "$2"
}

ntb_soak() {
	local name=$1 kills=${NTB_KILLS:-100} k spid child t0 fd1 maps1 shm1 fdn mapsn shmn
	local st_var=ntb_status_a verified summary warn
	ntb_can_run "$name" || return 0
	local sock="$TMP/$name.sock"
	# soak_hold_ms: the survivor stays after its last cycle while we look at its vmm
	ntb_config "$TMP/$name-b.toml" 2 b "$sock" "ntbpair.soak=$kills ntbpair.soak_hold_ms=2000"
	ntb_config "$TMP/$name-a.toml" 0 a "$sock" "ntbpair.storm"
	t0=$SECONDS
	# The survivor's timeout is only a guard against a hang (every step below has its own
	# 30 s wait): a cycle takes ~1 s on the host's /dev/kvm but 3-5 s in the rig under TCG
	# with a loaded machine, where 60 + 3 s per kill stopped a healthy survivor at kill 83.
	ntb_start b "$TMP/$name-b.toml" $((60 + kills * 10))
	spid=$(ntb_vmm_pid b)
	# Its guest is up: its link thread, started before the guest, listens on the socket.
	if ! ntb_wait_line b "ntb-pair: b port 2 " 30; then
		ntb_soak_fail "$name" "the survivor did not start"
		return
	fi
	for ((k = 1; k <= kills; k++)); do
		ntb_start a "$TMP/$name-a.toml"
		if ! ntb_wait_line a "ntb-pair: a storm running \\(cycle $k\\)" 30; then
			ntb_soak_fail "$name" "kill $k: the victim's traffic did not start"
			return
		fi
		child=$(ntb_vmm_pid a)
		[ -n "$child" ] && kill -9 "$child"
		ntb_wait a
		if [ "${!st_var}" -ne 137 ] || grep -q "ntb-pair: FAIL" "$TMP/a.out"; then
			ntb_soak_fail "$name" "kill $k: victim vmm ${child:-?}: status ${!st_var} $(
				grep -m1 FAIL "$TMP/a.out")"
			return
		fi
		if ! ntb_wait_line b "ntb-pair: b soak cycle $k link up/down" 30 ||
			! kill -0 "$spid" 2>/dev/null; then
			ntb_soak_fail "$name" "kill $k: the survivor did not count the cycle (or is gone)"
			return
		fi
		[ "$k" -eq 1 ] && read -r fd1 maps1 shm1 < <(ntb_soak_stable "$spid")
		[ "$k" -eq "$kills" ] && read -r fdn mapsn shmn < <(ntb_soak_stable "$spid")
		if [ "$k" -eq 1 ] || [ "$k" -eq "$kills" ]; then
			# shellcheck disable=SC2012 # fd names are numbers
			ls -l "/proc/$spid/fd" 2>&1 | sed 's/.* -> //' | sort >"$TMP/$name-fds-$k"
			cp "/proc/$spid/maps" "$TMP/$name-maps-$k" 2>/dev/null
		fi
	done
	ntb_wait b
	echo "   $name: $kills kills in $((SECONDS - t0)) s; survivor vmm fds $fd1 -> $fdn," \
		"maps $maps1 -> $mapsn, memfd maps $shm1 -> $shmn; switch lock recovered" \
		"$(grep -c "switch state lock recovered" "$TMP/b.out") times"
	summary="ntb-pair: b soak $kills cycles, $kills link ups, $kills link downs, [0-9]+ exchanges"
	ntb_side_ok "$name" b 0 "$summary verified" "ntb-pair: b done errors=0" \
		"guest powered off" || return
	# A window that cannot become a memslot is logged (devices/ntb/window.c): that is how a
	# memslot left behind by a dead peer shows (KVM's slots are not in /proc). The one
	# warning a kill may cause: the victim died holding the switch state's robust lock.
	warn=$(grep -E "^vmm: (warning|error|fatal)" "$TMP/b.out" |
		grep -v "switch state lock recovered from a dead process")
	if [ -n "$warn" ]; then
		cp "$TMP/b.out" "$TMP/out"
		bad "$name" "the survivor vmm: $(echo "$warn" | head -n1)"
		return
	fi
	# Every victim printed "storm running" after a round B had verified.
	verified=$(grep -Eo "$summary" "$TMP/b.out" | awk '{print $(NF - 1)}')
	if [ "$verified" -lt "$kills" ]; then
		cp "$TMP/b.out" "$TMP/out"
		bad "$name" "the survivor verified $verified exchanges, fewer than $kills kills"
		return
	fi
	# No tolerance: between two kills the survivor holds exactly what it held after the
	# first (its RAM, the switch state, the listening socket, eventfds): growth is a leak.
	if [ "${fd1:-0}" -eq 0 ] || [ "${fdn:-0}" -eq 0 ]; then
		bad "$name" "could not read /proc/$spid/fd (fds $fd1 -> $fdn)"
	elif [ "$fdn" -gt "$fd1" ] || [ "$mapsn" -gt "$maps1" ] || [ "$shmn" -gt "$shm1" ]; then
		diff "$TMP/$name-fds-1" "$TMP/$name-fds-$kills" >"$TMP/out"
		diff <(cut -c 26- "$TMP/$name-maps-1") <(cut -c 26- "$TMP/$name-maps-$kills") >>"$TMP/out"
		bad "$name" "the survivor vmm grew: fds $fd1 -> $fdn, maps $maps1 -> $mapsn, memfd maps $shm1 -> $shmn"
	else
		ok "$name"
	fi
}

ntb_soak ntb_pair_survivor_outlives_100_peer_kills
