#!/bin/bash
# NTB pair benchmark: memory-window copy bandwidth from one VM into the other's RAM, and the
# doorbell round trip, against a host memcpy of the same size measured in the same run.
#
#   bench/ntb.sh [MIB] [REPS] [ROUNDS]        (defaults 64 10 2000; VMM_BUILD=dir, default build)
#   MIB is also the window size (mw_size): a power of two; REPS at most 64.
#
# Two vmm processes (ports 0 and 2 of one emulated IDT 89HPES24NT6AG2, mw_size = MIB) boot
# guests/ntb-pair with ntbpair.bench: A copies MIB MiB from its RAM into B's RAM through BAR2
# (a memslot over B's memory) at CPL 3 with rep movsb, REPS times, alternating with the same
# copy RAM to RAM inside A; B checks the data. A also times ROUNDS doorbell ping-pongs. The
# host side (a small C program built here) measures the TSC rate (passed to the guests),
# glibc memcpy and rep movsb of MIB MiB, before and after the pair runs.
# Prints the guests' bench lines, the host lines and a summary; exit status 0 when all ran.
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${VMM_BUILD:-$PWD/build}
VMM=$BUILD/vmm
GUEST=$BUILD/guests/ntb-pair.elf
MIB=${1:-64}
REPS=${2:-10}
ROUNDS=${3:-2000}
TMP=$(mktemp -d /tmp/vmm-ntb-bench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

die() {
	echo "bench/ntb.sh: $*" >&2
	exit 1
}
if ! [[ $MIB =~ ^[0-9]+$ ]] || [ "$MIB" -lt 2 ] || [ $((MIB & (MIB - 1))) -ne 0 ]; then
	die "MIB ($MIB) is the window size: a power of two, at least 2"
fi
if [ ! -x "$VMM" ] || [ ! -f "$GUEST" ]; then
	die "build first (make): no $VMM or $GUEST"
fi
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	die "/dev/kvm is not usable by $(id -un)"
fi

cat >"$TMP/hostcopy.c" <<'C'
/* Host reference: TSC rate against CLOCK_MONOTONIC; memcpy and rep movsb bandwidth. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void movsb(void *d, const void *s, size_t n)
{
	__asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void run(const char *name, void (*copy)(void *, const void *, size_t), char *dst,
		const char *src, size_t n, int reps)
{
	double t[64], sum = 0;

	copy(dst, src, n);
	for (int r = 0; r < reps; r++) {
		t[r] = now();
		copy(dst, src, n);
		t[r] = now() - t[r];
		sum += t[r];
	}
	qsort(t, reps, sizeof(t[0]), cmp);
	printf("host %s bytes %zu reps %d best_mbps %.0f med_mbps %.0f avg_mbps %.0f\n", name, n,
	       reps, n / t[0] / 1e6, n / t[reps / 2] / 1e6, n * reps / sum / 1e6);
}

static void libc_memcpy(void *d, const void *s, size_t n)
{
	memcpy(d, s, n);
	__asm__ volatile("" : : "r"(d) : "memory");
}

int main(int argc, char **argv)
{
	size_t n = (size_t)atol(argv[1]) << 20;
	int reps = atoi(argv[2]) < 1 ? 1 : atoi(argv[2]) > 64 ? 64 : atoi(argv[2]);
	char *src = aligned_alloc(2 << 20, n), *dst = aligned_alloc(2 << 20, n);
	double t0 = now(), t1;
	uint64_t c0 = __rdtsc(), c1;

	if (!src || !dst)
		return 1;
	while ((t1 = now()) - t0 < 0.2)
		;
	c1 = __rdtsc();
	printf("host tsc_khz %.0f\n", (c1 - c0) / (t1 - t0) / 1e3);
	memset(src, 0x5a, n);
	memset(dst, 0, n);
	run("memcpy", libc_memcpy, dst, src, n, reps);
	run("rep_movsb", movsb, dst, src, n, reps);
	return 0;
}
C
cc -O2 -o "$TMP/hostcopy" "$TMP/hostcopy.c" || die "cannot build the host reference"

"$TMP/hostcopy" "$MIB" "$REPS" >"$TMP/host1" || die "host reference failed"
TSC_KHZ=$(awk '/^host tsc_khz/ {print $3}' "$TMP/host1")

for side in a b; do
	port=$([ $side = a ] && echo 0 || echo 2)
	cat >"$TMP/$side.toml" <<TOML
[machine]
memory = "$((MIB * 3 + 256))M"
kernel = "$GUEST"
cmdline = "ntbpair.role=$side ntbpair.bench ntbpair.bench_mib=$MIB ntbpair.bench_reps=$REPS ntbpair.bench_rounds=$ROUNDS ntbpair.tsc_khz=$TSC_KHZ"

[[root_port]]
id = "rp0"

[[ntb]]
id = "ntb0"
bus = "rp0"
port = $port
rendezvous = "$TMP/ntb.sock"
mw_size = "${MIB}M"
TOML
done
# -v: vmm reports A's exits at the end; a window carried by traps would show millions.
timeout --kill-after=5 600 "$VMM" run -v --config "$TMP/a.toml" </dev/null >"$TMP/a.out" 2>&1 &
pid_a=$!
sleep 0.5
timeout --kill-after=5 600 "$VMM" run --config "$TMP/b.toml" </dev/null >"$TMP/b.out" 2>&1 &
pid_b=$!
wait $pid_a
st_a=$?
wait $pid_b
st_b=$?
"$TMP/hostcopy" "$MIB" "$REPS" >"$TMP/host2" || die "host reference failed"

grep -h "ntb-pair: . bench\|ntb-pair: FAIL" "$TMP/a.out" "$TMP/b.out"
grep -h "vCPU 0: .* exits" "$TMP/a.out" | sed 's/^vmm: debug: /a: /'
cat "$TMP/host1" "$TMP/host2"
if [ $st_a -ne 0 ] || [ $st_b -ne 0 ] || ! grep -q "ntb-pair: a bench copy" "$TMP/a.out"; then
	echo "bench/ntb.sh: the pair failed (exit status a $st_a, b $st_b); last lines:" >&2
	tail -n 15 "$TMP/a.out" "$TMP/b.out" >&2
	exit 1
fi

# Summary: the window against the better of the two host memcpy runs.
awk '
function kv(arr,   i) { for (i = 1; i < NF; i++) arr[$i] = $(i + 1) }
/^host memcpy/ {
	kv(h)
	if (h["best_mbps"] > hbest) hbest = h["best_mbps"]
	if (h["med_mbps"] > hmed) hmed = h["med_mbps"]
}
/ntb-pair: a bench copy/ { kv(v) }
/ntb-pair: a bench doorbell/ { kv(d) }
/vCPU 0: .* MMIO exits/ { for (i = 1; i < NF; i++) if ($(i + 1) == "MMIO") mmio = $i }
END {
	if (!hbest || !hmed) { print "summary: no host memcpy figure"; exit 1 }
	printf "summary: MB/s best/median: mw copy %d/%d, guest RAM->RAM %d/%d, host memcpy %d/%d\n",
	       v["mw_best_mbps"], v["mw_med_mbps"], v["ram_best_mbps"], v["ram_med_mbps"],
	       hbest, hmed
	printf "summary: mw / host memcpy: best %.2f median %.2f (target >= 0.80); " \
	       "mw / guest RAM->RAM median %.2f\n", v["mw_best_mbps"] / hbest,
	       v["mw_med_mbps"] / hmed, v["ram_med_mbps"] ? v["mw_med_mbps"] / v["ram_med_mbps"] : 0
	printf "summary: A took %d MMIO exits in the whole run (%d MiB x %d copies through " \
	       "the window)\n", mmio, v["bytes"] / 1048576, v["reps"] + 1
	printf "summary: doorbell round trip p50 %.1f us, p99 %.1f us, min %.1f us, avg %.1f us\n",
	       d["rtt_p50_ns"] / 1000, d["rtt_p99_ns"] / 1000, d["rtt_min_ns"] / 1000,
	       d["rtt_avg_ns"] / 1000
}' "$TMP/a.out" "$TMP/host1" "$TMP/host2"
