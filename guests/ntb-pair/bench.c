/* SPDX-License-Identifier: MIT */
/*
 * Measurements, after a good exchange, both sides with ntbpair.bench:
 *   doorbell round trip: ntbpair.bench_rounds ping-pongs (A times each at CPL 3);
 *   copy bandwidth: A copies ntbpair.bench_mib MiB (default 64, at most the window) from its
 *   RAM into B's RAM through BAR2, and the same bytes RAM to RAM inside A, alternately,
 *   ntbpair.bench_reps times, at CPL 3 with the same routine (rep movsb), timed with rdtsc.
 *   B then checks the last copy in its RAM.
 * Output:
 *   ntb-pair: a bench doorbell rounds N rtt_avg_ns X rtt_min_ns X rtt_max_ns X
 *   ntb-pair: a bench copy bytes N reps R mw_best_mbps X mw_avg_mbps X ram_best_mbps X
 *     ram_avg_mbps X mw_vs_ram_pct P            (one line; MB = 10^6 bytes)
 *   ntb-pair: b bench copy verified bytes N
 */
#include "ntb_pair.h"

#define BENCH_SEED    0x42454e4348000000ULL /* "BENCH" */
#define ALIGN_2M      (2 * 1024 * 1024ULL)
#define COPY_WAIT_MS  600000 /* a window that traps every store would take minutes */
#define CHECK_WAIT_MS 60000

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
		np_fail("b: no RAM for a %llu-byte bench buffer", (unsigned long long)bytes);
		msg_send(d, MSG_ADDRLO, 0); /* tells A to give up */
		msg_send(d, MSG_ADDRHI, 0);
		return;
	}
	rt_run_user(u_fill, (uint64_t)(uintptr_t)&pt, NULL);
	msg_send(d, MSG_ADDRLO, (uint32_t)(uintptr_t)pt.buf);
	msg_send(d, MSG_ADDRHI, (uint32_t)((uint64_t)(uintptr_t)pt.buf >> 32));
	if (!db_wait(d, DB_BENCH, COPY_WAIT_MS))
		return;
	pt.seed = BENCH_SEED;
	bad = rt_run_user(u_check, (uint64_t)(uintptr_t)&pt, NULL);
	msg_send(d, MSG_DATA, (uint32_t)bad);
	if (bad)
		np_fail("b: bench word %llu wrong", (unsigned long long)(bad - 1));
	else
		rt_printf("ntb-pair: b bench copy verified bytes %llu\n",
			  (unsigned long long)bytes);
}

static void bench_a(const struct ntb_dev *d, uint64_t bytes, unsigned reps)
{
	struct pattern src = {.words = bytes / 8, .seed = BENCH_SEED};
	void *dst = rt_alloc(bytes, ALIGN_2M), *win = (void *)(uintptr_t)d->mw_addr;
	uint64_t mw_best = ~0ULL, mw_sum = 0, ram_best = ~0ULL, ram_sum = 0, addr;
	uint32_t lo, hi, result;

	src.buf = rt_alloc(bytes, ALIGN_2M);
	if (!msg_recv(d, MSG_ADDRLO, &lo, CHECK_WAIT_MS) ||
	    !msg_recv(d, MSG_ADDRHI, &hi, CHECK_WAIT_MS))
		return;
	addr = (uint64_t)hi << 32 | lo;
	if (!src.buf || !dst || !addr) {
		np_fail("a: no RAM for 2 x %llu bytes, or b has none", (unsigned long long)bytes);
		return;
	}
	if (mw_translate(d, addr, bytes))
		return;
	rt_run_user(u_fill, (uint64_t)(uintptr_t)&src, NULL);
	/* Untimed first pass: faults the window's and the buffers' pages in. */
	copy(dst, (const void *)src.buf, bytes);
	copy(win, (const void *)src.buf, bytes);
	for (unsigned r = 0; r < reps; r++) {
		uint64_t c_ram = copy(dst, (const void *)src.buf, bytes);
		uint64_t c_mw = copy(win, (const void *)src.buf, bytes);

		ram_sum += c_ram;
		mw_sum += c_mw;
		ram_best = c_ram < ram_best ? c_ram : ram_best;
		mw_best = c_mw < mw_best ? c_mw : mw_best;
	}
	nt_write(d, IDT_NT_OUTDBELLSET, DB_BENCH);
	if (!msg_recv(d, MSG_DATA, &result, CHECK_WAIT_MS))
		return;
	if (result) {
		np_fail("a: b found bench word %u wrong", result - 1);
		return;
	}
	rt_printf("ntb-pair: a bench copy bytes %llu reps %u mw_best_mbps %llu mw_avg_mbps %llu "
		  "ram_best_mbps %llu ram_avg_mbps %llu mw_vs_ram_pct %llu\n",
		  (unsigned long long)bytes, reps, (unsigned long long)mbps(bytes, mw_best),
		  (unsigned long long)mbps(bytes * reps, mw_sum),
		  (unsigned long long)mbps(bytes, ram_best),
		  (unsigned long long)mbps(bytes * reps, ram_sum),
		  (unsigned long long)(mw_best ? ram_best * 100 / mw_best : 0));
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
	if (!db_pingpong(d, rounds, &r))
		return;
	if (d->a)
		rt_printf("ntb-pair: a bench doorbell rounds %u rtt_avg_ns %llu rtt_min_ns %llu "
			  "rtt_max_ns %llu\n",
			  rounds, (unsigned long long)r.avg_ns, (unsigned long long)r.min_ns,
			  (unsigned long long)r.max_ns);
	if (d->a)
		bench_a(d, bytes, reps);
	else
		bench_b(d, bytes);
}
