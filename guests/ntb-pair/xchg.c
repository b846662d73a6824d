/* SPDX-License-Identifier: MIT */
/*
 * The exchange, A driving and B answering (exchange number d->gen in every value, so a
 * second exchange after a relink cannot pass on leftovers of the first):
 *   1. doorbell ping-pong: A sets DB_PING in B's INDBELLSTS, B clears it (W1C) and answers
 *      DB_PONG; `rounds` times, polled at CPL 3.
 *   2. messages: A -> B and B -> A on message 0 (routed by SWP<own>MSGCTL0 to the peer's
 *      INMSG0; INMSGSRC0 must be the sender's partition); then A sends message 1 twice to
 *      an inbox B leaves full: the second is refused (A's MSGSTS.OUT1), B reads the first.
 *   3. memory window: B sends its buffer's address (messages 2 and 3), A translates BAR2
 *      onto it, writes a pattern through BAR2 at CPL 3 and rings DB_MW_DONE; B checks the
 *      pattern in its own RAM and reports on message 0. Then the same through a window
 *      onto buffer + 8 (not page aligned, so trapped), 4 KiB long; past its limit, all ones.
 *   4. a doorbell each way taken as an MSI (irq.c).
 */
#include "ntb_pair.h"

#define WAIT_MS	       10000
#define MW_TEST	       (1024 * 1024ULL)
#define MAGIC_A	       0xa1000000u
#define MAGIC_B	       0xb2000000u
#define MAGIC_FULL_1   0xf1000000u
#define MAGIC_FULL_2   0xf2000000u
#define PATTERN_SEED   0x4e54425041495200ULL /* "NTBPAIR" */
#define UNALIGNED      4096u		     /* bytes through a window that must trap */
#define UNALIGNED_SEED 0x554e414c49474e00ULL /* "UNALIGN" */
#define TIMED_OUT      (1ULL << 32)
#define POLL_GAP       (ms_to_tsc(1) / 50) /* 20 us */

/* ---- ring 3 ---- */

struct wait_arg {
	uint64_t reg;
	uint32_t bits;
	uint64_t limit, gap; /* TSC cycles */
};

/*
 * Until every bit is set in the register: its value, or TIMED_OUT | value. Reads `gap`
 * cycles apart: every read is an exit to vmm, and a waiting side should not take a host
 * CPU from the side that works (the bench copies while B waits).
 */
static uint64_t u_wait_bits(uint64_t p)
{
	const struct wait_arg *w = (const struct wait_arg *)(uintptr_t)p;
	uint64_t t0 = rt_rdtsc(), t;
	uint32_t v;

	while (((v = mmio_read32(w->reg)) & w->bits) != w->bits) {
		t = rt_rdtsc();
		if (t - t0 > w->limit)
			return TIMED_OUT | v;
		while (rt_rdtsc() - t < w->gap)
			__asm__ volatile("pause");
	}
	return v;
}

struct pingpong {
	const struct ntb_dev *d;
	unsigned rounds, done;
	uint64_t limit, rtt_sum, rtt_min, rtt_max;
	uint64_t *samples; /* NULL, or one per round */
};

static uint64_t u_pingpong(uint64_t p)
{
	struct pingpong *pp = (struct pingpong *)(uintptr_t)p;
	uint64_t in = pp->d->regs + IDT_NT_INDBELLSTS, out = pp->d->regs + IDT_NT_OUTDBELLSET;
	uint32_t want = pp->d->a ? DB_PONG : DB_PING, send = pp->d->a ? DB_PING : DB_PONG;

	for (pp->done = 0; pp->done < pp->rounds; pp->done++) {
		uint64_t t0 = rt_rdtsc(), dt;

		if (pp->d->a)
			mmio_write32(out, send);
		while (!(mmio_read32(in) & want))
			if (rt_rdtsc() - t0 > pp->limit)
				return 1;
		/* Clear before answering: the peer's next ring cannot come before our answer. */
		mmio_write32(in, want);
		if (!pp->d->a) {
			mmio_write32(out, send);
			continue;
		}
		dt = rt_rdtsc() - t0;
		if (pp->samples)
			pp->samples[pp->done] = dt;
		pp->rtt_sum += dt;
		if (dt < pp->rtt_min)
			pp->rtt_min = dt;
		if (dt > pp->rtt_max)
			pp->rtt_max = dt;
	}
	return 0;
}

uint64_t pattern_word(uint64_t seed, uint64_t i)
{
	return seed ^ (i * 0x9e3779b97f4a7c15ULL);
}

uint64_t u_fill(uint64_t p)
{
	const struct pattern *pt = (const struct pattern *)(uintptr_t)p;

	for (uint64_t i = 0; i < pt->words; i++)
		pt->buf[i] = pattern_word(pt->seed, i);
	__asm__ volatile("sfence" ::: "memory");
	return 0;
}

/* 0 when the buffer holds the pattern, else 1 + the index of the first wrong word. */
uint64_t u_check(uint64_t p)
{
	const struct pattern *pt = (const struct pattern *)(uintptr_t)p;

	for (uint64_t i = 0; i < pt->words; i++)
		if (pt->buf[i] != pattern_word(pt->seed, i))
			return i + 1;
	return 0;
}

/* ---- building blocks ---- */

bool bits_wait(const struct ntb_dev *d, unsigned off, uint32_t bits, uint64_t timeout_ms,
	       uint32_t *value)
{
	struct wait_arg w = {d->regs + off, bits, ms_to_tsc(timeout_ms), POLL_GAP};
	uint64_t v = rt_run_user(u_wait_bits, (uint64_t)(uintptr_t)&w, NULL);

	*value = (uint32_t)v;
	return !(v & TIMED_OUT);
}

bool db_wait(const struct ntb_dev *d, uint32_t bits, uint64_t timeout_ms)
{
	uint32_t v;

	if (!bits_wait(d, IDT_NT_INDBELLSTS, bits, timeout_ms, &v)) {
		rt_fail("%s: doorbell 0x%x not rung within %llu ms (INDBELLSTS 0x%08x)", d->role,
			bits, (unsigned long long)timeout_ms, v);
		return false;
	}
	nt_write(d, IDT_NT_INDBELLSTS, bits);
	return true;
}

bool db_sleep_wait(const struct ntb_dev *d, uint32_t bits, uint64_t timeout_ms)
{
	uint64_t t0 = rt_rdtsc(), limit = ms_to_tsc(timeout_ms);
	uint32_t v;

	while (((v = nt_read(d, IDT_NT_INDBELLSTS)) & bits) != bits) {
		if (rt_rdtsc() - t0 > limit) {
			rt_fail("%s: doorbell 0x%x not rung within %llu ms (INDBELLSTS 0x%08x)",
				d->role, bits, (unsigned long long)timeout_ms, v);
			return false;
		}
		delay_ms(1);
	}
	nt_write(d, IDT_NT_INDBELLSTS, bits);
	return true;
}

/* ntb_hw_idt's idt_ntb_peer_msg_write: route, then write OUTMSG. */
void msg_post(const struct ntb_dev *d, unsigned m, uint32_t data)
{
	sw_write(d, IDT_SW_SWPMSGCTL(d->part, m), IDT_SWPMSGCTL(m, d->peer_part));
	nt_write(d, IDT_NT_OUTMSG(m), data);
}

void msg_send(const struct ntb_dev *d, unsigned m, uint32_t data)
{
	msg_post(d, m, data);
	if (nt_read(d, IDT_NT_MSGSTS) & IDT_MSGSTS_OUT(m)) {
		rt_fail("%s: message %u (0x%08x) refused: the peer's inbox is full", d->role, m,
			data);
		nt_write(d, IDT_NT_MSGSTS, IDT_MSGSTS_OUT(m));
	}
}

bool msg_recv(const struct ntb_dev *d, unsigned m, uint32_t *data, uint64_t timeout_ms)
{
	struct wait_arg w = {d->regs + IDT_NT_MSGSTS, IDT_MSGSTS_IN(m), ms_to_tsc(timeout_ms),
			     POLL_GAP};
	uint64_t v = rt_run_user(u_wait_bits, (uint64_t)(uintptr_t)&w, NULL);
	uint32_t src;

	if (v & TIMED_OUT) {
		rt_fail("%s: no message %u within %llu ms (MSGSTS 0x%08x)", d->role, m,
			(unsigned long long)timeout_ms, (uint32_t)v);
		return false;
	}
	*data = nt_read(d, IDT_NT_INMSG(m));
	src = nt_read(d, IDT_NT_INMSGSRC(m));
	nt_write(d, IDT_NT_MSGSTS, IDT_MSGSTS_IN(m));
	if (src != d->peer_part)
		rt_fail("%s: message %u from partition %u, expected %u", d->role, m, src,
			d->peer_part);
	if (nt_read(d, IDT_NT_MSGSTS) & IDT_MSGSTS_IN(m))
		rt_fail("%s: MSGSTS.IN%u still set after W1C", d->role, m);
	return true;
}

static bool msg_expect(const struct ntb_dev *d, unsigned m, uint32_t want)
{
	uint32_t v;

	if (!msg_recv(d, m, &v, WAIT_MS))
		return false;
	if (v != want) {
		rt_fail("%s: message %u is 0x%08x, expected 0x%08x", d->role, m, v, want);
		return false;
	}
	return true;
}

int mw_translate(const struct ntb_dev *d, uint64_t addr, uint64_t size)
{
	static bool mapped;
	uint64_t limit = d->mw_addr + size;
	uint32_t setup = nt_read(d, IDT_NT_BARSETUP(2));

	/* ntb_hw_idt's idt_ntb_peer_mw_set_trans for a DIR window */
	setup = (setup & ~IDT_BARSETUP_TPART_MASK) | d->peer_part << IDT_BARSETUP_TPART_SHIFT;
	nt_write(d, IDT_NT_BARSETUP(2), setup);
	nt_write(d, IDT_NT_BARLTBASE(2), (uint32_t)addr);
	nt_write(d, IDT_NT_BARUTBASE(2), (uint32_t)(addr >> 32));
	nt_write(d, IDT_NT_BARLIMIT(2), (uint32_t)limit);
	nt_write(d, IDT_NT_BARLIMIT(3), (uint32_t)(limit >> 32));
	setup = nt_read(d, IDT_NT_BARSETUP(2));
	if ((setup & IDT_BARSETUP_TPART_MASK) >> IDT_BARSETUP_TPART_SHIFT != d->peer_part ||
	    (setup & IDT_BARSETUP_ATRAN_MASK) != 0) {
		rt_fail("%s: BARSETUP2 0x%08x after setting TPART %u", d->role, setup,
			d->peer_part);
		return -1;
	}
	if (!mapped && d->mw_addr + d->mw_size > 0x100000000ULL &&
	    rt_map(d->mw_addr, d->mw_size, 0) != 0) {
		rt_fail("%s: cannot map BAR2 at 0x%llx", d->role, (unsigned long long)d->mw_addr);
		return -1;
	}
	mapped = true;
	return 0;
}

/* ---- the exchange ---- */

/* Shell sort at CPL 3 (ring 0 would pay an emulated microsecond per instruction). */
struct sort_arg {
	uint64_t *v;
	unsigned n;
};

static uint64_t u_sort(uint64_t p)
{
	const struct sort_arg *a = (const struct sort_arg *)(uintptr_t)p;

	for (unsigned gap = a->n / 2; gap; gap /= 2)
		for (unsigned i = gap; i < a->n; i++) {
			uint64_t x = a->v[i];
			unsigned j = i;

			for (; j >= gap && a->v[j - gap] > x; j -= gap)
				a->v[j] = a->v[j - gap];
			a->v[j] = x;
		}
	return 0;
}

bool db_pingpong(const struct ntb_dev *d, unsigned rounds, uint64_t *samples, struct rtt *r)
{
	struct pingpong pp = {.d = d,
			      .rounds = rounds,
			      .limit = ms_to_tsc(WAIT_MS),
			      .rtt_min = ~0ULL,
			      .samples = samples};

	memset(r, 0, sizeof(*r));
	if (rt_run_user(u_pingpong, (uint64_t)(uintptr_t)&pp, NULL)) {
		rt_fail("%s: doorbell pingpong stalled in round %u (INDBELLSTS 0x%08x)", d->role,
			pp.done, nt_read(d, IDT_NT_INDBELLSTS));
		return false;
	}
	if (!rounds)
		return true;
	r->avg_ns = tsc_to_ns(pp.rtt_sum / rounds);
	r->min_ns = tsc_to_ns(pp.rtt_min);
	r->max_ns = tsc_to_ns(pp.rtt_max);
	if (samples && d->a) {
		struct sort_arg sa = {samples, rounds};

		rt_run_user(u_sort, (uint64_t)(uintptr_t)&sa, NULL);
		r->p50_ns = tsc_to_ns(samples[rounds / 2]);
		r->p99_ns = tsc_to_ns(samples[(uint64_t)rounds * 99 / 100]);
	}
	return true;
}

static void pingpong(const struct ntb_dev *d, unsigned rounds)
{
	struct rtt r;

	if (!db_pingpong(d, rounds, NULL, &r))
		return;
	if (!d->a)
		rt_printf("ntb-pair: b doorbell pingpong %u rounds ok\n", rounds);
	else
		rt_printf("ntb-pair: a doorbell pingpong %u rounds ok rtt_avg_ns %llu "
			  "rtt_min_ns %llu rtt_max_ns %llu\n",
			  rounds, (unsigned long long)r.avg_ns, (unsigned long long)r.min_ns,
			  (unsigned long long)r.max_ns);
}

static void messages(const struct ntb_dev *d)
{
	int errors = rt_failures;
	uint32_t sts;

	if (!d->a) {
		if (msg_expect(d, MSG_DATA, MAGIC_A | d->gen))
			msg_send(d, MSG_DATA, MAGIC_B | d->gen);
		if (db_wait(d, DB_REFUSED, WAIT_MS))
			msg_expect(d, MSG_FULL, MAGIC_FULL_1 | d->gen);
	} else {
		msg_send(d, MSG_DATA, MAGIC_A | d->gen);
		msg_expect(d, MSG_DATA, MAGIC_B | d->gen);

		msg_send(d, MSG_FULL, MAGIC_FULL_1 | d->gen);
		msg_post(d, MSG_FULL, MAGIC_FULL_2 | d->gen);
		sts = nt_read(d, IDT_NT_MSGSTS);
		if (!(sts & IDT_MSGSTS_OUT(MSG_FULL)))
			rt_fail("a: message 1 to a full inbox was not refused (MSGSTS 0x%08x)",
				sts);
		nt_write(d, IDT_NT_MSGSTS, IDT_MSGSTS_OUT(MSG_FULL));
		if (nt_read(d, IDT_NT_MSGSTS) & IDT_MSGSTS_OUT(MSG_FULL))
			rt_fail("a: MSGSTS.OUT1 still set after W1C");
		nt_write(d, IDT_NT_OUTDBELLSET, DB_REFUSED);
	}
	if (rt_failures == errors)
		rt_printf("ntb-pair: %s msg ok (both ways, source partition %u, full inbox "
			  "refused)\n",
			  d->role, d->peer_part);
}

static uint64_t mw_test_size(const struct ntb_dev *d)
{
	return MW_TEST < d->mw_size ? MW_TEST : d->mw_size;
}

/* B's side of the unaligned step: its words 1..UNALIGNED/8 hold the second pattern, and
 * the words around them still the first. 0, or what to report to A. */
static uint32_t check_unaligned(const struct ntb_dev *d, volatile uint64_t *buf,
				const struct pattern *first)
{
	struct pattern pt = {
		.buf = buf + 1, .words = UNALIGNED / 8, .seed = UNALIGNED_SEED ^ d->gen};
	uint64_t bad = rt_run_user(u_check, (uint64_t)(uintptr_t)&pt, NULL);

	if (bad) {
		rt_fail("b: unaligned window: word %llu is 0x%016llx", (unsigned long long)bad,
			(unsigned long long)buf[bad]);
		return (uint32_t)bad;
	}
	if (buf[0] != pattern_word(first->seed, 0) ||
	    (first->words > pt.words + 1 &&
	     buf[pt.words + 1] != pattern_word(first->seed, pt.words + 1))) {
		rt_fail("b: the unaligned window wrote outside its %u bytes", UNALIGNED);
		return ~0u;
	}
	return 0;
}

static void window_b(const struct ntb_dev *d)
{
	static volatile uint64_t *buf;
	struct pattern pt = {.words = mw_test_size(d) / 8, .seed = PATTERN_SEED ^ d->gen};
	uint64_t bad;

	if (!buf)
		buf = rt_alloc(MW_TEST, 4096);
	if (!buf) {
		rt_fail("b: no RAM for a %llu-byte buffer", (unsigned long long)MW_TEST);
		return;
	}
	pt.buf = buf;
	pt.seed = ~pt.seed; /* anything but the pattern */
	rt_run_user(u_fill, (uint64_t)(uintptr_t)&pt, NULL);
	pt.seed = ~pt.seed;
	msg_send(d, MSG_ADDRLO, (uint32_t)(uintptr_t)buf);
	msg_send(d, MSG_ADDRHI, (uint32_t)((uint64_t)(uintptr_t)buf >> 32));
	if (!db_wait(d, DB_MW_DONE, WAIT_MS))
		return;
	bad = rt_run_user(u_check, (uint64_t)(uintptr_t)&pt, NULL);
	msg_send(d, MSG_DATA, (uint32_t)bad);
	if (bad) {
		rt_fail("b: word %llu of the buffer at 0x%llx is 0x%016llx, expected 0x%016llx",
			(unsigned long long)(bad - 1), (unsigned long long)(uintptr_t)buf,
			(unsigned long long)buf[bad - 1],
			(unsigned long long)pattern_word(pt.seed, bad - 1));
		return;
	}
	rt_printf("ntb-pair: b mw %llu MiB verified in RAM at 0x%llx\n",
		  (unsigned long long)(pt.words * 8 >> 20), (unsigned long long)(uintptr_t)buf);

	if (d->mw_size < 2 * UNALIGNED || !db_wait(d, DB_MW_DONE, WAIT_MS))
		return;
	bad = check_unaligned(d, buf, &pt);
	msg_send(d, MSG_DATA, (uint32_t)bad);
	if (!bad)
		rt_printf("ntb-pair: b mw unaligned %u bytes verified in RAM at 0x%llx\n",
			  UNALIGNED, (unsigned long long)(uintptr_t)(buf + 1));
}

/*
 * A window onto a target that is not page aligned cannot be a memslot: vmm carries each
 * access in its trap handler. Past BARLIMIT the BAR goes nowhere: loads read all ones.
 */
static void window_unaligned_a(const struct ntb_dev *d, uint64_t addr)
{
	struct pattern pt = {.buf = (volatile uint64_t *)(uintptr_t)d->mw_addr,
			     .words = UNALIGNED / 8,
			     .seed = UNALIGNED_SEED ^ d->gen};
	uint64_t bad, beyond;
	uint32_t result;

	if (d->mw_size < 2 * UNALIGNED || mw_translate(d, addr + 8, UNALIGNED))
		return;
	rt_run_user(u_fill, (uint64_t)(uintptr_t)&pt, NULL);
	bad = rt_run_user(u_check, (uint64_t)(uintptr_t)&pt, NULL);
	if (bad)
		rt_fail("a: reading back through the unaligned window: word %llu differs",
			(unsigned long long)(bad - 1));
	beyond = mmio_read64(d->mw_addr + UNALIGNED);
	if (beyond != ~0ULL)
		rt_fail("a: a load past BARLIMIT read 0x%016llx, not all ones",
			(unsigned long long)beyond);
	nt_write(d, IDT_NT_OUTDBELLSET, DB_MW_DONE);
	if (!msg_recv(d, MSG_DATA, &result, WAIT_MS))
		return;
	if (result)
		rt_fail("a: b found the unaligned window's data wrong (%u)", result);
	else if (!bad && beyond == ~0ULL)
		rt_printf("ntb-pair: a mw unaligned %u bytes verified (trapped), past the limit "
			  "reads all ones\n",
			  UNALIGNED);
}

static void window_a(const struct ntb_dev *d)
{
	struct pattern pt = {.seed = PATTERN_SEED ^ d->gen};
	uint32_t lo, hi, result;
	uint64_t addr, size = mw_test_size(d), bad;

	if (!msg_recv(d, MSG_ADDRLO, &lo, WAIT_MS) || !msg_recv(d, MSG_ADDRHI, &hi, WAIT_MS))
		return;
	addr = (uint64_t)hi << 32 | lo;
	if (mw_translate(d, addr, size))
		return;
	pt.buf = (volatile uint64_t *)(uintptr_t)d->mw_addr;
	pt.words = size / 8;
	rt_run_user(u_fill, (uint64_t)(uintptr_t)&pt, NULL);
	bad = rt_run_user(u_check, (uint64_t)(uintptr_t)&pt, NULL);
	if (bad)
		rt_fail("a: reading back through BAR2: word %llu differs",
			(unsigned long long)(bad - 1));
	nt_write(d, IDT_NT_OUTDBELLSET, DB_MW_DONE);
	if (!msg_recv(d, MSG_DATA, &result, WAIT_MS))
		return;
	if (result) {
		rt_fail("a: b found word %u of its buffer wrong", result - 1);
		return;
	}
	if (!bad)
		rt_printf("ntb-pair: a mw %llu MiB verified (bar2 0x%llx -> peer 0x%llx)\n",
			  (unsigned long long)(size >> 20), (unsigned long long)d->mw_addr,
			  (unsigned long long)addr);
	window_unaligned_a(d, addr);
}

void xchg_run(struct ntb_dev *d, unsigned rounds)
{
	int errors = rt_failures;

	/* A bye from an earlier exchange (a peer that left since) is not for this one. */
	if (!d->a)
		nt_write(d, IDT_NT_INDBELLSTS, DB_BYE);

	pingpong(d, rounds);
	if (rt_failures != errors)
		return;
	messages(d);
	if (rt_failures != errors)
		return;
	if (d->a)
		window_a(d);
	else
		window_b(d);
	if (rt_failures == errors)
		irq_check(d);
}

void xchg_finish(struct ntb_dev *d)
{
	uint64_t t0 = rt_rdtsc(), limit = ms_to_tsc(WAIT_MS);

	if (d->a) {
		nt_write(d, IDT_NT_OUTDBELLSET, DB_BYE);
		return;
	}
	while (!(nt_read(d, IDT_NT_INDBELLSTS) & DB_BYE) && link_is_up(d)) {
		if (rt_rdtsc() - t0 > limit) {
			rt_fail("b: a neither said bye nor left within %u ms", WAIT_MS);
			return;
		}
		delay_ms(1);
	}
	nt_write(d, IDT_NT_INDBELLSTS, DB_BYE);
}
