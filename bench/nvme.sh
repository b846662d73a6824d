#!/bin/bash
# NVMe benchmark, one invocation: 4 KiB random reads and writes at QD1 and QD32 with the
# polled ring-3 driver in guests/nvme-smoke (the same ELF everywhere), on
#   vmm  with a null namespace and a file namespace (O_DIRECT file backend),
#   QEMU (Debian's qemu-system-x86_64, -device nvme) with null-co and the same file
#        (cache=none, aio=io_uring: O_DIRECT too),
#   the host itself: fio with io_uring, O_DIRECT, on the same file.
# Prints a table (IOPS, QD1 latency, doorbell MMIO writes and KVM exits per I/O, ratios).
#
#   bench/nvme.sh                       (or: make bench)
#   BENCH_SECONDS=5 BENCH_FILE=/var/tmp/x.img bench/nvme.sh
#
# Environment: VMM_BUILD (default ./build), BENCH_SECONDS (per run, default 3),
# BENCH_FILE (default /var/tmp/vmm-nvme-bench.img: 1 GiB, filled with random data once so
# reads reach the disk; not tmpfs, which has no O_DIRECT), BENCH_OUT (raw logs, default a
# new /tmp/vmm-bench.* directory), BENCH_QEMU=0 / BENCH_FIO=0 to skip those parts,
# BENCH_PIN (default 1 on a host with 2+ CPUs): vmm's vCPU on CPU 0 and its NVMe I/O thread
# on CPU 1 (`[cpu] affinity`, `iothread_cpu`); QEMU and fio are left to the scheduler.
# With BENCH_PIN=0 nothing is pinned. Pinning matters for QD1 latency: a vCPU and an I/O
# thread that share a core take turns (90-330 us here), on two cores they poll (~50 us).
#
# Exits per I/O: `perf stat` counts the KVM tracepoints kvm:kvm_mmio + kvm:kvm_pio (every
# MMIO or port access that left the guest, handled in the kernel or in userspace) over a
# whole run, minus a baseline boot that does one I/O; divided by the I/Os of the run.
# (kvm:kvm_exit does not fire on hosts whose KVM is PVM-based, like the project's.)
set -u
cd "$(dirname "$0")/.."
BUILD=${VMM_BUILD:-$PWD/build}
VMM=$BUILD/vmm
ELF=$BUILD/guests/nvme-smoke.elf
SECONDS_PER_RUN=${BENCH_SECONDS:-3}
FILE=${BENCH_FILE:-/var/tmp/vmm-nvme-bench.img}
FILE_SIZE=$((1024 * 1024 * 1024))
OUT=${BENCH_OUT:-$(mktemp -d /tmp/vmm-bench.XXXXXX)}
RESULTS=$OUT/results.txt
RUNS="randread:1 randread:32 randwrite:1 randwrite:32"
PIN=${BENCH_PIN:-1}
[ "$(nproc)" -ge 2 ] || PIN=0

die() { echo "bench/nvme.sh: $*" >&2; exit 1; }
[ -x "$VMM" ] || die "$VMM is not built (make)"
[ -f "$ELF" ] || die "$ELF is not built (make guests)"
[ -r /dev/kvm ] && [ -w /dev/kvm ] || die "/dev/kvm is not usable"
mkdir -p "$OUT"
: >"$RESULTS"

PERF=""
if command -v perf >/dev/null && perf list 2>/dev/null | grep -q "kvm:kvm_mmio"; then
	PERF=perf
else
	echo "note: perf with the kvm tracepoints is not available: no exit counts" >&2
fi

# A file with real blocks (a sparse one would read holes that never reach the disk).
if [ "$(stat -c %s "$FILE" 2>/dev/null)" != "$FILE_SIZE" ] || [ ! -f "$FILE.filled" ]; then
	echo "filling $FILE with 1 GiB of random data (once)" >&2
	dd if=/dev/urandom of="$FILE" bs=1M count=1024 oflag=direct status=none ||
		die "cannot write $FILE"
	touch "$FILE.filled"
fi

# run_counted LOG CMD...: run CMD under perf (when available), guest output in LOG,
# the exit count in LOG.exits.
run_counted() {
	local log=$1
	shift
	if [ -n "$PERF" ]; then
		timeout --kill-after=5 300 perf stat -x, -e kvm:kvm_mmio,kvm:kvm_pio -o "$log.perf" \
			-- "$@" </dev/null >"$log" 2>"$log.err"
		awk -F, '/kvm:kvm_(mmio|pio)/ { n += $1 } END { print n + 0 }' "$log.perf" \
			>"$log.exits"
	else
		timeout --kill-after=5 300 "$@" </dev/null >"$log" 2>"$log.err"
		echo "" >"$log.exits"
	fi
}

# field LINE KEY: the value after KEY in an nvme-bench line.
field() {
	echo "$1" | awk -v k="$2" '{ for (i = 1; i < NF; i++) if ($i == k) { print $(i + 1); exit } }'
}

# bench_target NAME BACKEND CMD-PREFIX...: one boot per (rw, qd) plus a baseline boot.
# The command line is appended as the last argument by the caller's function.
record() {
	local target=$1 backend=$2 rw=$3 qd=$4 log=$5 base_exits=$6
	local line ios warm exits per_io
	line=$(grep -m1 "^nvme-bench: qd " "$log" | tr -d '\r')
	if [ -z "$line" ]; then
		echo "$target $backend $rw $qd - - - - -" >>"$RESULTS"
		echo "  $target $backend $rw qd$qd: no result (see $log, $log.err)" >&2
		return
	fi
	ios=$(field "$line" ios)
	warm=2000
	exits=$(cat "$log.exits")
	per_io=-
	if [ -n "$exits" ] && [ -n "$base_exits" ]; then
		per_io=$(awk -v e="$exits" -v b="$base_exits" -v n="$ios" -v w="$warm" \
			'BEGIN { d = e - b; if (d < 0) d = 0; printf "%.3f", d / (n + w) }')
	fi
	echo "$target $backend $rw $qd $(field "$line" iops) $(field "$line" lat_avg_ns)" \
		"$(field "$line" lat_p99_ns) $(field "$line" mmio_per_io) $per_io" >>"$RESULTS"
	echo "  $line" >&2
}

# ---- vmm ----
vmm_config() { # BACKEND CMDLINE [EXTRA-NVME-KEY]
	local ns
	if [ "$1" = null ]; then
		ns='{ backend = "null", size = "1G" }'
	else
		ns="{ backend = \"file\", path = \"$FILE\", size = \"1G\" }"
	fi
	local cpu="" pin=""
	if [ "$PIN" = 1 ]; then
		cpu=$'[cpu]\naffinity = [0]'
		pin="iothread_cpu = 1"
	fi
	cat <<TOML
[machine]
memory = "512M"
kernel = "$ELF"
cmdline = "$2"
$cpu

[[root_port]]
id = "rp0"

[[nvme]]
id = "nvme0"
bus = "rp0"
serial = "BENCH0"
namespaces = [ $ns ]
$pin
${3:-}
TOML
}

run_vmm_target() { # TARGET BACKEND [EXTRA-NVME-KEY]
	local target=$1 backend=$2 extra=${3:-} base
	vmm_config "$backend" "nvmebench.ios=1 nvmebench.warmup=0" "$extra" \
		>"$OUT/$target-$backend-base.toml"
	run_counted "$OUT/$target-$backend-base.log" "$VMM" run \
		--config "$OUT/$target-$backend-base.toml"
	base=$(cat "$OUT/$target-$backend-base.log.exits")
	for run in $RUNS; do
		local rw=${run%%:*} qd=${run##*:}
		local name="$OUT/$target-$backend-$rw-qd$qd"
		vmm_config "$backend" \
			"nvmebench.rw=$rw nvmebench.qd=$qd nvmebench.seconds=$SECONDS_PER_RUN" \
			"$extra" >"$name.toml"
		run_counted "$name.log" "$VMM" run --config "$name.toml"
		record "$target" "$backend" "$rw" "$qd" "$name.log" "$base"
	done
}

# ---- QEMU ----
QEMU_COMMON=(qemu-system-x86_64 -enable-kvm -M q35 -m 512 -nographic -no-reboot -net none
	-kernel "$ELF" -device isa-debug-exit,iobase=0xf4,iosize=4)

qemu_drive() { # BACKEND
	if [ "$1" = null ]; then
		echo "-blockdev driver=null-co,node-name=d0,size=$FILE_SIZE -device nvme,serial=BENCH0,drive=d0"
	else
		echo "-drive file=$FILE,if=none,id=d0,format=raw,cache=none,aio=io_uring -device nvme,serial=BENCH0,drive=d0"
	fi
}

run_qemu_target() { # BACKEND
	local backend=$1 base drive
	read -r -a drive <<<"$(qemu_drive "$backend")"
	run_counted "$OUT/qemu-$backend-base.log" "${QEMU_COMMON[@]}" "${drive[@]}" \
		-append "nvmebench.ios=1 nvmebench.warmup=0"
	base=$(cat "$OUT/qemu-$backend-base.log.exits")
	for run in $RUNS; do
		local rw=${run%%:*} qd=${run##*:}
		local name="$OUT/qemu-$backend-$rw-qd$qd"
		run_counted "$name.log" "${QEMU_COMMON[@]}" "${drive[@]}" \
			-append "nvmebench.rw=$rw nvmebench.qd=$qd nvmebench.seconds=$SECONDS_PER_RUN"
		record qemu "$backend" "$rw" "$qd" "$name.log" "$base"
	done
}

# ---- host: fio, io_uring, O_DIRECT ----
run_fio() {
	for run in $RUNS; do
		local rw=${run%%:*} qd=${run##*:} iops lat p99
		local name="$OUT/host-file-$rw-qd$qd.json"
		fio --name=host --filename="$FILE" --direct=1 --ioengine=io_uring --rw="$rw" --bs=4k \
			--iodepth="$qd" --runtime="$SECONDS_PER_RUN" --time_based --ramp_time=1 \
			--size="$FILE_SIZE" --output-format=json >"$name" 2>"$name.err"
		local op=read
		[ "$rw" = randwrite ] && op=write
		iops=$(jq ".jobs[0].$op.iops | floor" "$name" 2>/dev/null)
		lat=$(jq ".jobs[0].$op.lat_ns.mean | floor" "$name" 2>/dev/null)
		p99=$(jq ".jobs[0].$op.clat_ns.percentile[\"99.000000\"]" "$name" 2>/dev/null)
		echo "host file $rw $qd ${iops:--} ${lat:--} ${p99:--} - -" >>"$RESULTS"
		echo "  fio $rw qd$qd: iops ${iops:--} lat_avg_ns ${lat:--}" >&2
	done
}

echo "results and logs: $OUT" >&2
echo "vmm $(git describe --always --dirty 2>/dev/null), $SECONDS_PER_RUN s per run" >&2
for backend in null file; do
	echo "vmm, $backend backend" >&2
	run_vmm_target vmm "$backend"
done
# The same without the I/O thread: doorbells processed synchronously on the vCPU's exit.
echo "vmm, null backend, iothread = false" >&2
run_vmm_target vmm-sync null "iothread = false"
if [ "${BENCH_QEMU:-1}" != 0 ] && command -v qemu-system-x86_64 >/dev/null; then
	for backend in null file; do
		echo "QEMU $(qemu-system-x86_64 --version | head -n 1 | awk '{ print $4 }'), $backend" >&2
		run_qemu_target "$backend"
	done
fi
if [ "${BENCH_FIO:-1}" != 0 ] && command -v fio >/dev/null && command -v jq >/dev/null; then
	echo "host fio io_uring O_DIRECT" >&2
	run_fio
fi

# ---- the table ----
awk '
function get(t, b, rw, qd, col) { return v[t " " b " " rw " " qd, col] }
function ratio(a, b) { return (a == "" || b == "" || a == "-" || b == "-" || b == 0) ? "-" : sprintf("%.2fx", a / b) }
function us(ns) { return (ns == "" || ns == "-") ? "-" : sprintf("%.1f", ns / 1000) }
{ for (c = 5; c <= NF; c++) v[$1 " " $2 " " $3 " " $4, c] = $c; seen[$1 " " $2] = 1 }
END {
	printf "%-14s %9s %9s %9s %9s %9s %9s %9s %9s %9s\n", "target", "rd QD1", "rd QD32",
	       "wr QD1", "wr QD32", "QD1 us", "QD1 p99", "mmio/IO", "exits/IO", "exits/IO"
	printf "%-14s %9s %9s %9s %9s %9s %9s %9s %9s %9s\n", "", "IOPS", "IOPS", "IOPS", "IOPS",
	       "rd avg", "rd us", "rd QD32", "rd QD1", "rd QD32"
	n = split("vmm null,vmm-sync null,vmm file,qemu null,qemu file,host file", order, ",")
	for (i = 1; i <= n; i++) {
		split(order[i], k, " ")
		if (!((k[1] " " k[2]) in seen))
			continue
		printf "%-14s %9s %9s %9s %9s %9s %9s %9s %9s %9s\n", order[i],
		       get(k[1], k[2], "randread", 1, 5), get(k[1], k[2], "randread", 32, 5),
		       get(k[1], k[2], "randwrite", 1, 5), get(k[1], k[2], "randwrite", 32, 5),
		       us(get(k[1], k[2], "randread", 1, 6)), us(get(k[1], k[2], "randread", 1, 7)),
		       get(k[1], k[2], "randread", 32, 8), get(k[1], k[2], "randread", 1, 9),
		       get(k[1], k[2], "randread", 32, 9)
	}
	print ""
	for (b = 1; b <= 2; b++) {
		be = b == 1 ? "null" : "file"
		printf "vmm/QEMU %s: randread QD1 %s, QD32 %s; randwrite QD1 %s, QD32 %s\n", be,
		       ratio(get("vmm", be, "randread", 1, 5), get("qemu", be, "randread", 1, 5)),
		       ratio(get("vmm", be, "randread", 32, 5), get("qemu", be, "randread", 32, 5)),
		       ratio(get("vmm", be, "randwrite", 1, 5), get("qemu", be, "randwrite", 1, 5)),
		       ratio(get("vmm", be, "randwrite", 32, 5), get("qemu", be, "randwrite", 32, 5))
	}
	printf "vmm file / host io_uring: randread IOPS QD1 %s, QD32 %s; QD1 latency %s (target <= 1.20x)\n",
	       ratio(get("vmm", "file", "randread", 1, 5), get("host", "file", "randread", 1, 5)),
	       ratio(get("vmm", "file", "randread", 32, 5), get("host", "file", "randread", 32, 5)),
	       ratio(get("vmm", "file", "randread", 1, 6), get("host", "file", "randread", 1, 6))
	printf "targets: vmm null >= 5x QEMU null IOPS; <= 0.05 exits/IO at QD32; QD1 latency <= 1.2x host\n"
}' "$RESULTS" | tee "$OUT/table.txt"
