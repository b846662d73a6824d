/* SPDX-License-Identifier: MIT */
/*
 * Measurements, after a good exchange, both sides with ntbpair.bench:
 *   doorbell round trip: ntbpair.bench_rounds ping-pongs (A times each at CPL 3);
 *   copy bandwidth: A copies ntbpair.bench_mib MiB (default 64, at most the window) from its
 *   RAM into B's RAM through BAR2, and the same bytes RAM to RAM inside A, alternately,
 *   ntbpair.bench_reps times, at CPL 3 with the same routine (rep movsb), timed with rdtsc.
 *   B then checks the last copy in its RAM. B sleeps (hlt) while A copies, so that its vCPU
 *   does not take a host CPU from A's.
 * Output:
 *   ntb-pair: a bench doorbell rounds N rtt_avg_ns X rtt_min_ns X rtt_p50_ns X rtt_p99_ns X
 *     rtt_max_ns X                               (one line)
 *   ntb-pair: a bench copy bytes N reps R mw_best_mbps X mw_med_mbps X mw_avg_mbps X
 *     ram_best_mbps X ram_med_mbps X ram_avg_mbps X mw_vs_ram_pct P
 *                                   (one line; MB = 10^6 bytes; pct: medians, window / RAM)
 *   ntb-pair: b bench copy verified bytes N
 */
#include "ntb_pair.h"

#define BENCH_SEED    0x42454e4348000000ULL /* "BENCH" */
#define ALIGN_2M      (2 * 1024 * 1024ULL)
#define COPY_WAIT_MS  600000 /* a window that traps every store would take minutes */
#define CHECK_WAIT_MS 60000
#define MAX_REPS      64

struct copy_arg {
	void *dst;
	const void *src;
	uint64_t n;
};

/* TSC cycles for one copy. */
static uint64_t u_copy(uint64_t p)
{
	const struct copy_arg *c = (const struct copy_arg *)(uintptr_t)p;
	void *dst = c->dst;
	const void *src = c->src;
	uint64_t n = c->n, t0 = rt_rdtsc();

	__asm__ volatile("rep movsb; sfence" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
	return rt_rdtsc() - t0;
}

static uint64_t copy(void *dst, const void *src, uint64_t n)
{
	struct copy_arg c = {dst, src, n};

	return rt_run_user(u_copy, (uint64_t)(uintptr_t)&c, NULL);
}

static uint64_t mbps(uint64_t bytes, uint64_t cycles)
{
	return cycles ? bytes * tsc_khz() / (cycles * 1000) : 0;
}

static void bench_b(const struct ntb_dev *d, uint64_t bytes)
{
	struct pattern pt = {.words = bytes / 8, .seed = ~BENCH_SEED};
	uint64_t bad;

	pt.buf = rt_alloc(bytes, ALIGN_2M);
	if (!pt.buf) {
		rt_fail("b: no RAM for a %llu-byte bench buffer", (unsigned long long)bytes);
		msg_send(d, MSG_ADDRLO, 0); /* tells A to give up */
		msg_send(d, MSG_ADDRHI, 0);
		return;
	}
	rt_run_user(u_fill, (uint64_t)(uintptr_t)&pt, NULL);
	msg_send(d, MSG_ADDRLO, (uint32_t)(uintptr_t)pt.buf);
	msg_send(d, MSG_ADDRHI, (uint32_t)((uint64_t)(uintptr_t)pt.buf >> 32));
	if (!db_sleep_wait(d, DB_BENCH, COPY_WAIT_MS))
		return;
	pt.seed = BENCH_SEED;
	bad = rt_run_user(u_check, (uint64_t)(uintptr_t)&pt, NULL);
	msg_send(d, MSG_DATA, (uint32_t)bad);
	if (bad)
		rt_fail("b: bench word %llu wrong", (unsigned long long)(bad - 1));
	else
		rt_printf("ntb-pair: b bench copy verified bytes %llu\n",
			  (unsigned long long)bytes);
}

/* Median of n cycle counts (n <= MAX_REPS, sorted in place; small enough for ring 0). */
static uint64_t median(uint64_t *v, unsigned n)
{
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j && v[j - 1] > v[j]; j--) {
			uint64_t t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return v[n / 2];
}

static void bench_a(const struct ntb_dev *d, uint64_t bytes, unsigned reps)
{
	struct pattern src = {.words = bytes / 8, .seed = BENCH_SEED};
	void *dst = rt_alloc(bytes, ALIGN_2M), *win = (void *)(uintptr_t)d->mw_addr;
	uint64_t mw[MAX_REPS], ram[MAX_REPS], mw_sum = 0, ram_sum = 0, addr, mw_med, ram_med;
	uint32_t lo, hi, result;

	src.buf = rt_alloc(bytes, ALIGN_2M);
	if (!msg_recv(d, MSG_ADDRLO, &lo, CHECK_WAIT_MS) ||
	    !msg_recv(d, MSG_ADDRHI, &hi, CHECK_WAIT_MS))
		return;
	addr = (uint64_t)hi << 32 | lo;
	if (!src.buf || !dst || !addr) {
		rt_fail("a: no RAM for 2 x %llu bytes, or b has none", (unsigned long long)bytes);
		return;
	}
	if (mw_translate(d, addr, bytes))
		return;
	rt_run_user(u_fill, (uint64_t)(uintptr_t)&src, NULL);
	/* Untimed first pass: faults the window's and the buffers' pages in. */
	copy(dst, (const void *)src.buf, bytes);
	copy(win, (const void *)src.buf, bytes);
	for (unsigned r = 0; r < reps; r++) {
		ram[r] = copy(dst, (const void *)src.buf, bytes);
		mw[r] = copy(win, (const void *)src.buf, bytes);
		ram_sum += ram[r];
		mw_sum += mw[r];
	}
	nt_write(d, IDT_NT_OUTDBELLSET, DB_BENCH);
	if (!msg_recv(d, MSG_DATA, &result, CHECK_WAIT_MS))
		return;
	if (result) {
		rt_fail("a: b found bench word %u wrong", result - 1);
		return;
	}
	mw_med = median(mw, reps);
	ram_med = median(ram, reps);
	rt_printf("ntb-pair: a bench copy bytes %llu reps %u mw_best_mbps %llu mw_med_mbps %llu "
		  "mw_avg_mbps %llu ram_best_mbps %llu ram_med_mbps %llu ram_avg_mbps %llu "
		  "mw_vs_ram_pct %llu\n",
		  (unsigned long long)bytes, reps, (unsigned long long)mbps(bytes, mw[0]),
		  (unsigned long long)mbps(bytes, mw_med),
		  (unsigned long long)mbps(bytes * reps, mw_sum),
		  (unsigned long long)mbps(bytes, ram[0]), (unsigned long long)mbps(bytes, ram_med),
		  (unsigned long long)mbps(bytes * reps, ram_sum),
		  (unsigned long long)(mw_med ? ram_med * 100 / mw_med : 0));
}

void bench_run(struct ntb_dev *d)
{
	unsigned rounds = (unsigned)rt_cmdline_u64("ntbpair.bench_rounds", 1000);
	unsigned reps = (unsigned)rt_cmdline_u64("ntbpair.bench_reps", 5);
	uint64_t bytes = rt_cmdline_u64("ntbpair.bench_mib", 64) << 20;
	struct rtt r;

	if (bytes > d->mw_size)
		bytes = d->mw_size;
	if (!reps)
		reps = 1;
	if (reps > MAX_REPS)
		reps = MAX_REPS;
	if (!db_pingpong(d, rounds, rt_alloc((uint64_t)rounds * 8 + 8, 8), &r))
		return;
	if (d->a)
		rt_printf("ntb-pair: a bench doorbell rounds %u rtt_avg_ns %llu rtt_min_ns %llu "
			  "rtt_p50_ns %llu rtt_p99_ns %llu rtt_max_ns %llu\n",
			  rounds, (unsigned long long)r.avg_ns, (unsigned long long)r.min_ns,
			  (unsigned long long)r.p50_ns, (unsigned long long)r.p99_ns,
			  (unsigned long long)r.max_ns);
	if (d->a)
		bench_a(d, bytes, reps);
	else
		bench_b(d, bytes);
}
