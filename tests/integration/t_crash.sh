# Crash consistency: vmm is SIGKILLed at a random moment while a guest writes, and the
# backing files must hold everything the guest was told is durable.
#
# What this proves, and what not: SIGKILL ends vmm but not the host kernel, so the host page
# cache survives; a pass proves vmm does not post a completion (FUA write, Flush) or answer
# the PMR persistence read before the data reached the kernel (the file or its shared
# mapping). With cache = "none" (the default, O_DIRECT) the data is then past the page cache
# too; with "writeback" FUA/Flush add fdatasync (docs/config.md), which SIGKILL cannot test.
# Power loss and host crashes are out of scope.

# crash_kill_after PATTERN MAX_S [MIN_S]: vmm on $TMP/crash.toml in the background, SIGKILLed
# MIN_S + rand * MAX_S seconds after its console ($TMP/out) shows PATTERN; 1 (and vmm killed)
# when PATTERN does not come within 60 s
crash_kill_after() {
	local pid rc=0
	# emptied here, not only by the redirection in the child: wait_line may look before
	# the child opens it, and must not find the previous round's line
	: >"$TMP/out"
	"$VMM" run --config "$TMP/crash.toml" </dev/null >"$TMP/out" 2>"$TMP/err" &
	pid=$!
	if wait_line "$TMP/out" "$1" 60; then
		sleep "$(awk -v s="$RANDOM" -v a="${3:-0}" -v b="$2" 'BEGIN { srand(s); printf "%.2f", a + b * rand() }')"
	else
		rc=1
	fi
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return $rc
}

# NVMe: guests/nvme-smoke with nvme-smoke.crash=1 writes LBA n with sequence n, FUA on every
# third, a Flush after every fourth, and prints "nvme-crash: fua S" / "nvme-crash: flush A B"
# once a write is durable per the NVM Command Set spec (3.2.6 FUA, 3.3.1 Flush). Each round:
# a fresh file, vmm killed 0.3-2.3 s after the loop starts, then every block the guest
# reported is compared byte for byte (tests/integration/crash_check.py).
CRASH_ROUNDS=${CRASH_ROUNDS:-6}
if need_kvm "crash_nvme_fua_flush_survive_sigkill"; then
	if [ ! -f "$GUESTS/nvme-smoke.elf" ]; then
		skipped "crash_nvme_fua_flush_survive_sigkill" "$GUESTS/nvme-smoke.elf is not built"
	else
		crash_fail=""
		crash_total=0
		for ((round = 1; round <= CRASH_ROUNDS; round++)); do
			rm -f "$TMP/crash.img"
			truncate -s 64M "$TMP/crash.img"
			cat >"$TMP/crash.toml" <<TOML
[machine]
memory = "256M"
kernel = "$GUESTS/nvme-smoke.elf"
cmdline = "nvme-smoke.irq=polled nvme-smoke.crash=1"

[[root_port]]
id = "rp0"

[[nvme]]
id = "nvme0"
bus = "rp0"
namespaces = [ { backend = "file", path = "$TMP/crash.img", size = "64M", cache = "none" } ]
TOML
			if ! crash_kill_after "^nvme-crash: start" 2 0.3; then
				crash_fail="round $round: the guest did not start writing"
				break
			fi
			if ! n=$(python3 tests/integration/crash_check.py nvme "$TMP/out" \
				"$TMP/crash.img" 2>&1); then
				crash_fail="round $round: $n"
				break
			fi
			echo "  crash round $round: $n"
			crash_total=$((crash_total + ${n%% *}))
		done
		if [ -n "$crash_fail" ]; then
			bad "crash_nvme_fua_flush_survive_sigkill" "$crash_fail"
		else
			ok "crash_nvme_fua_flush_survive_sigkill ($crash_total durable writes checked)"
		fi
	fi
fi

# PMR: nvme-smoke.pmr=write fills the 4 MiB PMR (BAR4, a file) with a seeded pattern, reads
# PMRSTS (the persistence point the model offers, PMRCAP.PMRWBM bit 1: devices/nvme/pmr.c
# persists on that read) and prints "pmr written"; vmm is SIGKILLed right after that line
# (0-0.2 s later) and the file must hold the whole pattern. Three rounds, three seeds.
# The records guests/nvme-smoke writes into a PMR (as pmr_pattern in t_nvme.sh, sourced later).
crash_pmr_pattern() {
	awk -v seed="$1" -v n="$2" \
		'BEGIN { for (o = 0; o < n; o += 32) printf "PMR seed=%08x off=%08x.\n", seed, o }'
}
if need_kvm "crash_pmr_survives_sigkill_after_persist"; then
	if [ ! -f "$GUESTS/nvme-smoke.elf" ]; then
		skipped "crash_pmr_survives_sigkill_after_persist" "$GUESTS/nvme-smoke.elf is not built"
	else
		crash_fail=""
		for round in 1 2 3; do
			seed=$((0x7e570000 + RANDOM))
			rm -f "$TMP/crash-pmr.img"
			cat >"$TMP/crash.toml" <<TOML
[machine]
memory = "256M"
kernel = "$GUESTS/nvme-smoke.elf"
cmdline = "nvme-smoke.irq=polled nvme-smoke.pmr=write nvme-smoke.pmr_seed=$seed"

[[root_port]]
id = "rp0"

[[nvme]]
id = "nvme0"
bus = "rp0"
pmr = "$TMP/crash-pmr.img"
pmr_size = "4M"
TOML
			if ! crash_kill_after "pmr written \(4194304 bytes" 0.2; then
				crash_fail="round $round: no 'pmr written' line"
				break
			fi
			crash_pmr_pattern "$seed" $((4 << 20)) >"$TMP/pmr.want"
			if ! cmp -s "$TMP/pmr.want" "$TMP/crash-pmr.img"; then
				crash_fail="round $round (seed $seed): $(cmp "$TMP/pmr.want" \
					"$TMP/crash-pmr.img" 2>&1 | head -n 1)"
				break
			fi
		done
		if [ -n "$crash_fail" ]; then
			bad "crash_pmr_survives_sigkill_after_persist" "$crash_fail"
		else
			ok "crash_pmr_survives_sigkill_after_persist"
		fi
	fi
fi
