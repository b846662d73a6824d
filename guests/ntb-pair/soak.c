/* SPDX-License-Identifier: MIT */
/*
 * The soak (ntbpair.soak=N, role b): the survivor of a peer that is killed mid-traffic and
 * started again, N times. Each cycle: wait for link up, run rounds of traffic with whoever
 * came up until the link goes down, count both. The peer (ntbpair.storm, role a) runs the
 * rounds from its link up until it is killed:
 *   hello  B: its buffer's address (messages 2, 3), then message 1 = SOAK_HELLO | cycle k;
 *          A: its own buffer's address (messages 2, 3); each translates BAR2 onto the other.
 *   round r (r = 1, 2, ...):
 *     1. SOAK_PINGS doorbell ping-pongs (DB_PING / DB_PONG, as xchg.c's);
 *     2. A writes pattern (k, r, A) through BAR2 into B's buffer, posts message 0 =
 *        SOAK_ROUND(k, r), rings DB_MW_DONE;
 *     3. B checks that pattern in its own RAM, writes pattern (k, r, B) through its BAR2
 *        into A's buffer and reads it back through BAR2, posts message 0 = SOAK_ROUND(k, r)
 *        and rings DB_MW_DONE; A checks message and pattern in its RAM. One "exchange
 *        verified" (B's count) per round B got through both checks.
 * Registers as ntb_hw_idt uses them: INDBELLSTS and MSGSTS are W1C (idt_ntb_db_clear,
 * idt_ntb_msg_clear_sts); a message is routed by SWP<part>MSGCTL, then written to OUTMSG
 * (idt_ntb_peer_msg_write, xchg.c's msg_post), which leaves it to the caller to check
 * MSGSTS.OUTm (set: the peer's inbox refused it); BAR2 is translated as
 * idt_ntb_peer_mw_set_trans does (xchg.c's mw_translate); the link is up as link.c's
 * idt_ntb_local_link_is_up && idt_ntb_peer_link_is_up rules say.
 *
 * What the survivor may abandon and what is a failure. Peer loss is the vmm's
 * ntb_peer_lost: the peer's port detached and reset (registers, mapping-table entry), then
 * windows onto its RAM unmapped (stores dropped, loads all ones), all under the function's
 * lock, which every register read takes too: once a window read gives all ones,
 * link_is_up() reads the link down. Hence:
 *   - A wait (doorbell, message) that ends with the link down is abandoned: the peer died
 *     before it did its part. A wait that times out with the link up is a failure.
 *   - A's data in B's RAM is checked only after A's DB_MW_DONE for this cycle and round:
 *     A's stores precede its doorbell (an MMIO exit) and nobody else writes that buffer, so
 *     it is complete even if A died right after ringing: any mismatch is a failure, link or
 *     no link. So is a message from A of another cycle or round than the one expected.
 *   - B's read-back through its own window onto A's RAM may see A vanish (all ones, or a
 *     part written before the unmap): a mismatch is a failure only if the link is still up
 *     after the check. "Still up" is the same peer: a new one needs a vmm start and a guest
 *     boot (far longer than one 64 KiB check) and is started only after the old one is
 *     reaped, and B sees the link down in between (it polls the link in every wait).
 *   - Each cycle starts by clearing INDBELLSTS and MSGSTS: the old peer's last doorbells and
 *     messages are not for the new one, which sends nothing before it has B's hello.
 */
#include "ntb_pair.h"

#define SOAK_BYTES	 (64 * 1024ULL) /* per round, each way */
#define SOAK_PINGS	 8
#define SOAK_SLICE_MS	 1 /* between two looks at the link while waiting */
#define SOAK_WAIT_MS	 10000
#define SOAK_HELLO	 0x5a000000u
#define SOAK_ROUND(k, r) ((uint32_t)((k)&0xffff) << 16 | ((r)&0xffff))
#define SOAK_SEED_A	 0x534f414b41000000ULL /* "SOAKA" */
#define SOAK_SEED_B	 0x534f414b42000000ULL /* "SOAKB" */
#define MSG_HELLO	 MSG_FULL	       /* message 1 is not refused in the soak: B's hello */
#define STORM_RUNNING_AT 1		       /* A says so after this many rounds */

static uint64_t seed(uint64_t base, unsigned k, unsigned r)
{
	return base ^ (uint64_t)k << 32 ^ r;
}

static uint64_t soak_bytes(const struct ntb_dev *d)
{
	return SOAK_BYTES < d->mw_size ? SOAK_BYTES : d->mw_size;
}

/* Until every bit is set in register `off` (true), or the link is down (false, abandon);
 * a live peer silent for SOAK_WAIT_MS is a failure (false). */
static bool soak_wait(const struct ntb_dev *d, unsigned off, uint32_t bits)
{
	uint64_t t0 = rt_rdtsc(), limit = ms_to_tsc(SOAK_WAIT_MS);
	uint32_t v;

	for (;;) {
		if (bits_wait(d, off, bits, SOAK_SLICE_MS, &v))
			return true;
		if (!link_is_up(d))
			return false;
		if (rt_rdtsc() - t0 > limit) {
			rt_fail("b: soak: bits 0x%x of register 0x%x not set within %u ms with the "
				"link up (0x%08x)",
				bits, off, SOAK_WAIT_MS, v);
			return false;
		}
	}
}

/* Message m, already waited for: its data, source checked, cleared. */
static uint32_t soak_msg(const struct ntb_dev *d, unsigned m)
{
	uint32_t v = nt_read(d, IDT_NT_INMSG(m)), src = nt_read(d, IDT_NT_INMSGSRC(m));

	nt_write(d, IDT_NT_MSGSTS, IDT_MSGSTS_IN(m));
	if (src != d->peer_part)
		rt_fail("%s: soak: message %u from partition %u, expected %u", d->role, m, src,
			d->peer_part);
	return v;
}

/* Post message m; false if the peer's inbox refused it (a failure while the link is up). */
static bool soak_post(const struct ntb_dev *d, unsigned m, uint32_t data)
{
	msg_post(d, m, data);
	if (!(nt_read(d, IDT_NT_MSGSTS) & IDT_MSGSTS_OUT(m)))
		return true;
	nt_write(d, IDT_NT_MSGSTS, IDT_MSGSTS_OUT(m));
	if (link_is_up(d))
		rt_fail("%s: soak: message %u (0x%08x) refused with the link up", d->role, m, data);
	return false;
}

struct soak {
	volatile uint64_t *buf;	     /* B's RAM that A writes */
	unsigned ups, downs, rounds; /* rounds: this cycle's verified exchanges */
	uint64_t verified;
};

/* One cycle's traffic, from link up until the link goes down (or a failure): the step the
 * peer's death cut. */
static const char *soak_traffic(struct ntb_dev *d, struct soak *s, unsigned k)
{
	struct pattern pa = {.buf = s->buf, .words = soak_bytes(d) / 8};
	struct pattern pb = {.buf = (volatile uint64_t *)(uintptr_t)d->mw_addr,
			     .words = soak_bytes(d) / 8};
	uint64_t addr, bad;
	uint32_t lo, hi, v;

	nt_write(d, IDT_NT_INDBELLSTS, ~0u);
	nt_write(d, IDT_NT_MSGSTS, ~0u);
	if (!soak_post(d, MSG_ADDRLO, (uint32_t)(uintptr_t)s->buf) ||
	    !soak_post(d, MSG_ADDRHI, (uint32_t)((uint64_t)(uintptr_t)s->buf >> 32)) ||
	    !soak_post(d, MSG_HELLO, SOAK_HELLO | k))
		return "hello";
	/* A posts ADDRLO before ADDRHI: with HI in, LO is. */
	if (!soak_wait(d, IDT_NT_MSGSTS, IDT_MSGSTS_IN(MSG_ADDRHI)))
		return "address";
	lo = soak_msg(d, MSG_ADDRLO);
	hi = soak_msg(d, MSG_ADDRHI);
	addr = (uint64_t)hi << 32 | lo;
	if (mw_translate(d, addr, soak_bytes(d)))
		return "translate";
	for (unsigned r = 1; !rt_failures; r++) {
		for (int i = 0; i < SOAK_PINGS; i++) {
			if (!soak_wait(d, IDT_NT_INDBELLSTS, DB_PING))
				return "ping";
			nt_write(d, IDT_NT_INDBELLSTS, DB_PING);
			nt_write(d, IDT_NT_OUTDBELLSET, DB_PONG);
		}
		if (!soak_wait(d, IDT_NT_INDBELLSTS, DB_MW_DONE))
			return "data";
		nt_write(d, IDT_NT_INDBELLSTS, DB_MW_DONE);
		/* A posted the message before it rang: it is there, dead peer or not. */
		if (!(nt_read(d, IDT_NT_MSGSTS) & IDT_MSGSTS_IN(MSG_DATA))) {
			rt_fail("b: soak cycle %u round %u: DB_MW_DONE without message 0", k, r);
			return "";
		}
		v = soak_msg(d, MSG_DATA);
		if (v != SOAK_ROUND(k, r)) {
			rt_fail("b: soak cycle %u round %u: message 0 is 0x%08x, expected 0x%08x",
				k, r, v, SOAK_ROUND(k, r));
			return "";
		}
		pa.seed = seed(SOAK_SEED_A, k, r);
		bad = rt_run_user(u_check, (uint64_t)(uintptr_t)&pa, NULL);
		if (bad) {
			rt_fail("b: soak cycle %u round %u: word %llu of A's data is 0x%016llx", k,
				r, (unsigned long long)(bad - 1),
				(unsigned long long)s->buf[bad - 1]);
			return "";
		}
		pb.seed = seed(SOAK_SEED_B, k, r);
		rt_run_user(u_fill, (uint64_t)(uintptr_t)&pb, NULL);
		bad = rt_run_user(u_check, (uint64_t)(uintptr_t)&pb, NULL);
		if (bad) {
			if (link_is_up(d))
				rt_fail("b: soak cycle %u round %u: reading back through BAR2: "
					"word "
					"%llu differs with the link up",
					k, r, (unsigned long long)(bad - 1));
			return "read-back";
		}
		if (!soak_post(d, MSG_DATA, SOAK_ROUND(k, r)))
			return "answer";
		nt_write(d, IDT_NT_OUTDBELLSET, DB_MW_DONE);
		s->verified++;
		s->rounds++;
	}
	return "";
}

void soak_run(struct ntb_dev *d, unsigned cycles)
{
	uint64_t link_ms = rt_cmdline_u64("ntbpair.link_ms", 60000);
	struct soak s = {0};
	const char *cut;

	if (d->a) {
		rt_fail("a: ntbpair.soak is for role b (role a runs ntbpair.storm)");
		return;
	}
	s.buf = rt_alloc(SOAK_BYTES, 4096);
	if (!s.buf) {
		rt_fail("b: no RAM for a %llu-byte buffer", (unsigned long long)SOAK_BYTES);
		return;
	}
	for (unsigned k = 1; k <= cycles; k++) {
		if (!link_wait(d, true, link_ms))
			return;
		s.ups++;
		s.rounds = 0;
		cut = soak_traffic(d, &s, k);
		if (rt_failures || !link_wait(d, false, link_ms))
			return;
		s.downs++;
		rt_printf("ntb-pair: b soak cycle %u link up/down, %u exchanges verified, cut in "
			  "%s\n",
			  k, s.rounds, cut);
	}
	rt_printf("ntb-pair: b soak %u cycles, %u link ups, %u link downs, %llu exchanges "
		  "verified\n",
		  cycles, s.ups, s.downs, (unsigned long long)s.verified);
}

void storm_run(struct ntb_dev *d)
{
	struct pattern pa = {.buf = (volatile uint64_t *)(uintptr_t)d->mw_addr,
			     .words = soak_bytes(d) / 8};
	struct pattern pb = {.words = soak_bytes(d) / 8};
	uint32_t hello, lo, hi, v;
	unsigned k;
	struct rtt rtt;

	if (!d->a) {
		rt_fail("b: ntbpair.storm is for role a (role b runs ntbpair.soak)");
		return;
	}
	pb.buf = rt_alloc(SOAK_BYTES, 4096);
	if (!pb.buf) {
		rt_fail("a: no RAM for a %llu-byte buffer", (unsigned long long)SOAK_BYTES);
		return;
	}
	if (!link_wait(d, true, rt_cmdline_u64("ntbpair.link_ms", 60000)) ||
	    !msg_recv(d, MSG_HELLO, &hello, SOAK_WAIT_MS) ||
	    !msg_recv(d, MSG_ADDRLO, &lo, SOAK_WAIT_MS) ||
	    !msg_recv(d, MSG_ADDRHI, &hi, SOAK_WAIT_MS))
		return;
	if ((hello & 0xff000000u) != SOAK_HELLO) {
		rt_fail("a: storm: hello 0x%08x", hello);
		return;
	}
	k = hello & 0xffff;
	msg_send(d, MSG_ADDRLO, (uint32_t)(uintptr_t)pb.buf);
	msg_send(d, MSG_ADDRHI, (uint32_t)((uint64_t)(uintptr_t)pb.buf >> 32));
	if (mw_translate(d, (uint64_t)hi << 32 | lo, soak_bytes(d)))
		return;
	for (unsigned r = 1; !rt_failures; r++) {
		if (!db_pingpong(d, SOAK_PINGS, NULL, &rtt))
			return;
		pa.seed = seed(SOAK_SEED_A, k, r);
		rt_run_user(u_fill, (uint64_t)(uintptr_t)&pa, NULL);
		msg_send(d, MSG_DATA, SOAK_ROUND(k, r));
		nt_write(d, IDT_NT_OUTDBELLSET, DB_MW_DONE);
		if (!db_wait(d, DB_MW_DONE, SOAK_WAIT_MS) ||
		    !msg_recv(d, MSG_DATA, &v, SOAK_WAIT_MS))
			return;
		pb.seed = seed(SOAK_SEED_B, k, r);
		if (v != SOAK_ROUND(k, r) || rt_run_user(u_check, (uint64_t)(uintptr_t)&pb, NULL))
			rt_fail("a: storm cycle %u round %u: b's answer 0x%08x or its data wrong",
				k, r, v);
		else if (r == STORM_RUNNING_AT)
			rt_printf("ntb-pair: a storm running (cycle %u)\n", k);
	}
}
