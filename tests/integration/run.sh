#!/bin/bash
# KVM integration tests: boot real guests with the built vmm and check what they print and
# how vmm exits. Every test is bounded by a timeout; without a usable /dev/kvm each test is
# reported as skipped with the reason. Ends with "N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/../.."
BUILD=${VMM_BUILD:-$PWD/build}
VMM=$BUILD/vmm
GUESTS=$BUILD/guests
TMP=$(mktemp -d /tmp/vmm-it.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

pass=0 fail=0 skip=0
KVM_REASON=""
if [ "${VMM_TEST_KVM:-}" = skip ]; then
	KVM_REASON=${VMM_TEST_KVM_WHY:-VMM_TEST_KVM=skip}
elif [ ! -e /dev/kvm ]; then
	KVM_REASON="/dev/kvm does not exist"
elif [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	KVM_REASON="/dev/kvm is not readable and writable by $(id -un)"
fi

ok() { echo "PASS $1"; pass=$((pass + 1)); }
bad() {
	echo "FAIL $1: $2"
	for f in "$TMP/out" "$TMP/err"; do
		[ -s "$f" ] && { echo "---- ${f##*/} (last 30 lines)"; tail -n 30 "$f"; }
	done
	fail=$((fail + 1))
}
skipped() { echo "SKIP $1: $2"; skip=$((skip + 1)); }

# run_vmm SECONDS ARGS...: runs vmm with stdin closed; sets $status, output in $TMP/out|err
run_vmm() {
	local t=$1
	shift
	timeout --kill-after=5 "$t" "$VMM" "$@" </dev/null >"$TMP/out" 2>"$TMP/err"
	status=$?
}

# wait_line FILE PATTERN SECONDS: until FILE has a line matching PATTERN (grep -E): 0, or 1
# when SECONDS pass first (a background vmm's console, polled every 0.1 s)
wait_line() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

need_kvm() {
	if [ -n "$KVM_REASON" ]; then
		skipped "$1" "$KVM_REASON"
		return 1
	fi
}

# expect NAME STATUS PATTERN...: exit status and every pattern (grep -E) in stdout+stderr
expect() {
	local name=$1 want=$2
	shift 2
	if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
		bad "$name" "timed out"
		return
	fi
	if [ "$status" -ne "$want" ]; then
		bad "$name" "exit status $status, expected $want"
		return
	fi
	for p in "$@"; do
		# Terminal control sequences (GRUB's and SeaBIOS's cursor moves) may split a line.
		if ! cat "$TMP/out" "$TMP/err" | sed 's/\x1b\[[0-9;?]*[A-Za-z]//g' | grep -Eq -- "$p"; then
			bad "$name" "output lacks /$p/"
			return
		fi
	done
	ok "$name"
}

for f in ${ONLY:-tests/integration/t_*.sh}; do
	# shellcheck source=/dev/null
	. "$f"
done

echo
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
