#!/bin/bash
# NVMe feature benchmark, one invocation, the polled ring-3 driver of guests/nvme-smoke (the
# same ELF everywhere), 4 KiB I/O at QD1 and QD32 (one boot per row, both depths in it):
#   issue 12: randread with the VT-d unit present, translation off and on in turns in one
#             boot (nvmebench.iommu=alt: every queue and buffer at IOVA = PA + 64 GiB, 4 KiB
#             pages, the controller set up again at each turn; BENCH_ROUNDS turns of each),
#             on vmm ([iommu] model = "intel") and QEMU (-device intel-iommu,caching-mode=on);
#   issue 13: plain randwrite, PI Type 1 randwrite with guest-computed tuples checked by the
#             controller (PRCHK guard+ref), the same with PRACT (controller generates), Zone
#             Append, on vmm and QEMU (nvme-ns ms=8,pi=1 and zoned=true).
# Backends: null (vmm "null", QEMU null-co) everywhere but vmm's zoned namespace, which must
# hold data ("ram"); vmm gets a plain "ram" row for it to be compared with.
# Prints a table (IOPS, average latency; the median of the turns for the iommu rows, with
# every turn's IOPS listed) and the ratios against each plain row.
#
#   bench/nvme-features.sh
#   BENCH_SECONDS=2 bench/nvme-features.sh
#
# Environment: VMM_BUILD (default ./build), BENCH_SECONDS (per depth, default 3), BENCH_OUT
# (raw logs, default a new /tmp/vmm-features.* directory), BENCH_QEMU=0 to skip QEMU,
# BENCH_ONLY=iommu|features to run one half, BENCH_ROUNDS (default 3), BENCH_PIN as in bench/nvme.sh (vmm's vCPU on
# CPU 0, its I/O thread on CPU 1).
set -u
cd "$(dirname "$0")/.."
BUILD=${VMM_BUILD:-$PWD/build}
VMM=$BUILD/vmm
ELF=$BUILD/guests/nvme-smoke.elf
SECS=${BENCH_SECONDS:-3}
OUT=${BENCH_OUT:-$(mktemp -d /tmp/vmm-features.XXXXXX)}
RESULTS=$OUT/results.txt
ONLY=${BENCH_ONLY:-all}
ROUNDS=${BENCH_ROUNDS:-3}
PIN=${BENCH_PIN:-1}
[ "$(nproc)" -ge 2 ] || PIN=0

die() { echo "bench/nvme-features.sh: $*" >&2; exit 1; }
[ -x "$VMM" ] || die "$VMM is not built (make)"
[ -f "$ELF" ] || die "$ELF is not built (make guests)"
[ -r /dev/kvm ] && [ -w /dev/kvm ] || die "/dev/kvm is not usable"
mkdir -p "$OUT"
: >"$RESULTS"

# record ROW LOG: one results line per "nvme-bench: qd" line of LOG: ROW QD IOPS LAT_AVG_NS;
# a line with "iommu N" goes to ROW-off (0) or ROW-on (1).
record() {
	local row=$1 log=$2 n
	n=$(grep -c "^nvme-bench: qd " "$log")
	if [ "$n" -lt 2 ] || grep -q "FAIL" "$log"; then
		echo "  $row: incomplete (see $log, $log.err)" >&2
		grep "FAIL" "$log" | head -3 >&2
	fi
	grep "^nvme-bench: qd " "$log" | tr -d '\r' | awk -v row="$row" '{
		r = row
		for (i = 1; i < NF; i++) { if ($i == "qd") q = $(i + 1); if ($i == "iops") x = $(i + 1);
			if ($i == "lat_avg_ns") l = $(i + 1); if ($i == "iommu") r = row ($(i + 1) ? "-on" : "-off") }
		print r, q, x, l }' | tee -a "$RESULTS" | sed 's/^/  /' >&2
}

# ---- vmm ----
vmm_run() { # ROW NAMESPACE CMDLINE [EXTRA-TOML]
	local row=$1 ns=$2 cmdline=$3 extra=${4:-} cpu="" pin=""
	if [ "$PIN" = 1 ]; then
		cpu=$'[cpu]\naffinity = [0]'
		pin="iothread_cpu = 1"
	fi
	cat >"$OUT/$row.toml" <<TOML
[machine]
memory = "512M"
kernel = "$ELF"
cmdline = "$cmdline nvmebench.qd=1,32 nvmebench.seconds=$SECS"
$cpu
$extra

[[root_port]]
id = "rp0"

[[nvme]]
id = "nvme0"
bus = "rp0"
serial = "BENCH0"
namespaces = [ $ns ]
$pin
TOML
	timeout --kill-after=5 300 "$VMM" run --config "$OUT/$row.toml" </dev/null \
		>"$OUT/$row.log" 2>"$OUT/$row.log.err"
	record "$row" "$OUT/$row.log"
}

# ---- QEMU ----
QEMU_COMMON=(qemu-system-x86_64 -enable-kvm -M q35 -m 512 -nographic -no-reboot -net none
	-kernel "$ELF" -device isa-debug-exit,iobase=0xf4,iosize=4)

qemu_run() { # ROW CMDLINE QEMU-ARGS...
	local row=$1 cmdline=$2
	shift 2
	echo "${QEMU_COMMON[*]} $* -append \"$cmdline nvmebench.qd=1,32 nvmebench.seconds=$SECS\"" \
		>"$OUT/$row.cmd"
	timeout --kill-after=5 300 "${QEMU_COMMON[@]}" "$@" \
		-append "$cmdline nvmebench.qd=1,32 nvmebench.seconds=$SECS" </dev/null \
		>"$OUT/$row.log" 2>"$OUT/$row.log.err"
	record "$row" "$OUT/$row.log"
}

QEMU=0
if [ "${BENCH_QEMU:-1}" != 0 ] && command -v qemu-system-x86_64 >/dev/null; then
	QEMU=1
fi
NULL1G='{ backend = "null", size = "1G" }'
NULL256='{ backend = "null", size = "256M" }'
IOMMU_TOML=$'[iommu]\nmodel = "intel"'
QNULL1G=(-blockdev driver=null-co,node-name=d0,size=1073741824)
QNULL256=(-blockdev driver=null-co,node-name=d0,size=268435456)

echo "results and logs: $OUT" >&2
echo "vmm $(git describe --always --dirty 2>/dev/null), $SECS s per depth" >&2
if [ "$ONLY" != features ]; then
	echo "issue 12: randread, VT-d translation off / on" >&2
	ALT="nvmebench.rw=randread nvmebench.iommu=alt nvmebench.rounds=$ROUNDS"
	vmm_run vmm-iommu "$NULL1G" "$ALT" "$IOMMU_TOML"
	if [ "$QEMU" = 1 ]; then
		qemu_run qemu-iommu "$ALT" -device intel-iommu,caching-mode=on \
			"${QNULL1G[@]}" -device nvme,serial=BENCH0,drive=d0
	fi
fi
if [ "$ONLY" != iommu ]; then
	echo "issue 13: plain / PI / PRACT writes, Zone Append" >&2
	vmm_run vmm-write "$NULL256" "nvmebench.rw=randwrite"
	vmm_run vmm-pi "{ backend = \"null\", size = \"256M\", metadata_size = 8, pi_type = 1 }" \
		"nvmebench.rw=randwrite"
	vmm_run vmm-pract "{ backend = \"null\", size = \"256M\", metadata_size = 8, pi_type = 1 }" \
		"nvmebench.rw=randwrite nvmebench.pract=1"
	vmm_run vmm-ram-write '{ backend = "ram", size = "256M" }' "nvmebench.rw=randwrite"
	vmm_run vmm-ram-append '{ backend = "ram", size = "256M", zoned = true, zone_size = "16M" }' \
		"nvmebench.rw=append"
	if [ "$QEMU" = 1 ]; then
		qemu_run qemu-write "nvmebench.rw=randwrite" "${QNULL256[@]}" \
			-device nvme,id=n0,serial=BENCH0 -device nvme-ns,drive=d0,bus=n0,nsid=1
		qemu_run qemu-pi "nvmebench.rw=randwrite" "${QNULL256[@]}" \
			-device nvme,id=n0,serial=BENCH0 -device nvme-ns,drive=d0,bus=n0,nsid=1,ms=8,pi=1
		qemu_run qemu-pract "nvmebench.rw=randwrite nvmebench.pract=1" "${QNULL256[@]}" \
			-device nvme,id=n0,serial=BENCH0 -device nvme-ns,drive=d0,bus=n0,nsid=1,ms=8,pi=1
		qemu_run qemu-append "nvmebench.rw=append" "${QNULL256[@]}" -device nvme,id=n0,serial=BENCH0 \
			-device nvme-ns,drive=d0,bus=n0,nsid=1,zoned=true,zoned.zone_size=16M
	fi
fi

# ---- the table ----
awk '
function r(a, b) { return (a == "" || b == "" || b == 0) ? "-" : sprintf("%.2f", a / b) }
function cost(off, on) { return (off == "" || on == "" || off == 0) ? "-" : sprintf("%.1f%%", 100 * (1 - on / off)) }
# median of the values "a b c ..." (the lower middle for an even count)
function median(list,   v, m, i, j, t) {
	m = split(list, v, " ")
	for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
	return m ? v[int((m + 1) / 2)] : ""
}
{ all[$1, $2] = all[$1, $2] " " $3; alat[$1, $2] = alat[$1, $2] " " $4
  if (!($1 in seen)) { order[n++] = $1; seen[$1] = 1 } }
END {
	for (k in all) { iops[k] = median(all[k]); lat[k] = median(alat[k]) }
	printf "%-16s %10s %10s %10s %10s   %s\n", "row", "QD1 IOPS", "QD32 IOPS", "QD1 us", "QD32 us",
	       "(every turn: QD1 | QD32)"
	for (i = 0; i < n; i++) {
		k = order[i]
		printf "%-16s %10s %10s %10.1f %10.1f  %s |%s\n", k, iops[k, 1], iops[k, 32], lat[k, 1] / 1000,
		       lat[k, 32] / 1000, all[k, 1], all[k, 32]
	}
	print ""
	for (t = 0; t < 2; t++) {
		v = t ? "qemu" : "vmm"
		if (!((v "-iommu-off") in seen))
			continue
		printf "%s translation cost (1 - on/off IOPS): QD1 %s, QD32 %s (target <= 10%% at QD32)\n", v,
		       cost(iops[v "-iommu-off", 1], iops[v "-iommu-on", 1]),
		       cost(iops[v "-iommu-off", 32], iops[v "-iommu-on", 32])
	}
	if ("qemu-iommu-on" in seen)
		printf "vmm/QEMU with translation on: QD1 %s, QD32 %s\n",
		       r(iops["vmm-iommu-on", 1], iops["qemu-iommu-on", 1]),
		       r(iops["vmm-iommu-on", 32], iops["qemu-iommu-on", 32])
	split("pi pract", f, " ")
	for (t = 0; t < 2; t++) {
		v = t ? "qemu" : "vmm"
		for (j = 1; j <= 2; j++)
			if ((v "-" f[j]) in seen)
				printf "%s %s / plain write IOPS: QD1 %s, QD32 %s\n", v, f[j],
				       r(iops[v "-" f[j], 1], iops[v "-write", 1]),
				       r(iops[v "-" f[j], 32], iops[v "-write", 32])
	}
	if ("vmm-ram-append" in seen)
		printf "vmm append / plain write (ram) IOPS: QD1 %s, QD32 %s\n",
		       r(iops["vmm-ram-append", 1], iops["vmm-ram-write", 1]),
		       r(iops["vmm-ram-append", 32], iops["vmm-ram-write", 32])
	if ("qemu-append" in seen)
		printf "qemu append / plain write (null-co) IOPS: QD1 %s, QD32 %s\n",
		       r(iops["qemu-append", 1], iops["qemu-write", 1]),
		       r(iops["qemu-append", 32], iops["qemu-write", 32])
	split("write pi pract", g, " ")
	for (j = 1; j <= 3; j++)
		if (("qemu-" g[j]) in seen)
			printf "vmm/QEMU %s: QD1 %s, QD32 %s\n", g[j], r(iops["vmm-" g[j], 1], iops["qemu-" g[j], 1]),
			       r(iops["vmm-" g[j], 32], iops["qemu-" g[j], 32])
	if ("qemu-append" in seen)
		printf "vmm (ram) / QEMU (null-co) append: QD1 %s, QD32 %s\n",
		       r(iops["vmm-ram-append", 1], iops["qemu-append", 1]),
		       r(iops["vmm-ram-append", 32], iops["qemu-append", 32])
}' "$RESULTS" | tee "$OUT/table.txt"
