/* SPDX-License-Identifier: MIT */
/*
 * A polled benchmark in the style of SPDK's perf: at CPL 3 (native speed on hosts that
 * emulate ring 0), no interrupts, every queue kept `qd` commands deep, completions reaped
 * and resubmitted in batches with one doorbell write per batch (or none, when the shadow
 * doorbell buffer's EventIdx says the controller is polling). Each command slot owns a
 * pre-built SQE with its buffer's PRPs; only the LBA changes per I/O.
 *
 * Parameters (kernel command line):
 *   nvmebench.qd=1,32          queue depths to run, per queue (1..64), a list
 *   nvmebench.rw=randread      randread, randwrite and/or append, a list; append is Zone
 *                              Append (ZNS 1.1 4.5, opcode 7Dh) on a zoned namespace: every
 *                              command appends bs to the current zone, the next zone when it
 *                              is full; zones are reset (Select All) before each run and
 *                              one at a time when reused, on a queue pair of their own
 *   nvmebench.queues=1         I/O queue pairs (1..64), driven round-robin by one CPU
 *   nvmebench.bs=4096          bytes per I/O (multiple of the LBA size and of 4 KiB, <= 64 KiB)
 *   nvmebench.seconds=5        measuring time per run (after the warm-up)
 *   nvmebench.ios=0            stop after this many I/Os instead (0: time only)
 *   nvmebench.warmup=2000      I/Os before measuring
 *   nvmebench.ns=N             namespace (default: the first active one)
 *   nvmebench.ctrl=BB:DD.F     controller (default: the first one found)
 *   nvmebench.dbbuf=0          do not use Doorbell Buffer Config even if supported
 *   nvmebench.tsc_khz=N        TSC frequency (default: measured against the PIT)
 *   nvmebench.iommu=1          before the controller is enabled, turn on translation in the
 *                              VT-d unit (vtd.c) with every buffer and queue at an IOVA
 *                              nvmebench.iova_offset= (default 0x1000000000) above its address
 *   nvmebench.iommu=alt        the same, then translation off and on in turns, nvmebench.rounds=
 *                              (default 2) times each, every run of the lists in each turn,
 *                              the controller reset and set up again between turns
 *   nvmebench.vtd_base=ADDR    the unit's registers (default: the ACPI DMAR table's DRHD)
 *   nvmebench.pract=1          on a namespace with protection information: writes with PRACT
 *                              (the controller generates the PI); default 0: the guest computes
 *                              each block's tuple (CRC16 T10-DIF guard, reference tag) into a
 *                              separate metadata buffer and the controller checks it (PRCHK
 *                              guard, and reference for Types 1 and 2)
 *
 * Output, one line per run:
 *   nvme-bench: qd Q queues N rw R bs B ios I cycles C tsc_khz K iops X lat_avg_ns A
 *     lat_p50_ns P lat_p99_ns P lat_p999_ns P lat_max_ns M sq_mmio S cq_mmio C
 *     mmio_per_io F dbbuf 0|1
 *   and, only with the options above: iommu 1, ms M pi T pract P, zone_resets Z
 */
#include "nvme_smoke.h"

#define MAX_QD	      64
#define MAX_BS	      (64u * 1024)
#define HIST_SUB_BITS 4
#define HIST_BUCKETS  (64 << HIST_SUB_BITS)
#define STALL_MS      10000
#define MAX_ZONES     1024

enum { MODE_READ, MODE_WRITE, MODE_APPEND };

/* PRINFO in CDW12 (NVM Command Set 1.0 5.2.1, Figure 9: bits 29:26) */
#define PRINFO_PRACT		(1u << 29)
#define PRINFO_PRCHK_GUARD	(1u << 28)
#define PRINFO_PRCHK_REF	(1u << 26)
#define NVME_CMD_ZONE_MGMT_SEND 0x79
#define NVME_CMD_ZONE_MGMT_RECV 0x7a
#define NVME_CMD_ZONE_APPEND	0x7d
#define NVME_CSI_ZNS		2
#define NVME_ID_CNS_CS_NS	0x05

struct slot {
	struct nvme_sqe cmd; /* pre-built: opcode, nsid, PRPs, NLB */
	uint64_t t_submit;
	uint32_t zone; /* append: the zone it went to */
};

struct bench_queue {
	struct nvme_queue q;
	struct slot slot[MAX_QD];
	uint16_t free[MAX_QD];
	int nfree, inflight;
	void *buf[MAX_QD]; /* allocated once, reused by every run */
	uint64_t *list[MAX_QD];
	uint8_t *meta[MAX_QD]; /* separate metadata (MPTR), when the format has any */
};

struct bench {
	struct nvme_ctrl c;
	struct bench_queue *bq;
	int nq;
	uint32_t nsid, lbasz, bs;
	uint64_t nsze, nblocks_bs; /* namespace in bs units */
	uint8_t *id;
	uint64_t rng;
	uint32_t hist[HIST_BUCKETS];
	uint64_t lat_sum, lat_max, lat_n;
	int mode;
	bool iommu, iommu_alt; /* translation on now; alternating off/on */
	/* metadata and PI: the namespace's format (Identify NS FLBAS, LBAF.MS, DPS) */
	uint32_t ms;
	uint8_t pi_type;
	bool pi_first, pract;
	/* zoned: zone size/capacity in blocks, the zone being appended to */
	bool zoned;
	struct nvme_queue mgmt;
	uint64_t zsze, zcap, zused, zone_resets;
	uint32_t nzones, zcur;
	uint32_t zinflight[MAX_ZONES];
	bool zdirty[MAX_ZONES];
	bool zone_error;
};

static struct bench b;

static uint64_t rnd(void)
{
	/* xorshift64* */
	b.rng ^= b.rng >> 12;
	b.rng ^= b.rng << 25;
	b.rng ^= b.rng >> 27;
	return b.rng * 0x2545F4914F6CDD1DULL;
}

static unsigned hist_index(uint64_t v)
{
	unsigned msb;

	if (v < (1u << HIST_SUB_BITS))
		return (unsigned)v;
	msb = 63u - (unsigned)__builtin_clzll(v);
	return (msb - HIST_SUB_BITS + 1) << HIST_SUB_BITS |
	       ((unsigned)(v >> (msb - HIST_SUB_BITS)) & ((1u << HIST_SUB_BITS) - 1));
}

/* The middle of bucket i. */
static uint64_t hist_value(unsigned i)
{
	unsigned e = i >> HIST_SUB_BITS, m = i & ((1u << HIST_SUB_BITS) - 1);
	uint64_t lo, width;

	if (e == 0)
		return m;
	lo = (uint64_t)((1u << HIST_SUB_BITS) | m) << (e - 1);
	width = 1ULL << (e - 1);
	return lo + width / 2;
}

static uint64_t percentile(uint64_t per_mille)
{
	uint64_t want = (b.lat_n * per_mille + 999) / 1000, seen = 0;

	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		seen += b.hist[i];
		if (seen >= want && want)
			return hist_value(i);
	}
	return b.lat_max;
}

static uint64_t cycles_to_ns(uint64_t cycles)
{
	return cycles * 1000000ULL / tsc_khz();
}

static const struct nvme_pci *pick_ctrl(const struct nvme_pci *p, int n)
{
	const char *want = rt_cmdline_get("nvmebench.ctrl");

	for (int i = 0; i < n; i++)
		if (!want || !strcmp(want, p[i].bdf))
			return &p[i];
	return NULL;
}

/* CRC16 T10-DIF (NVM Command Set 1.0 5.2.1.1): polynomial 8BB7h, initial 0, no reflection. */
static uint16_t crc16_t10dif(uint16_t crc, const uint8_t *p, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++) {
		crc ^= (uint16_t)(p[i] << 8);
		for (int k = 0; k < 8; k++)
			crc = (uint16_t)(crc & 0x8000 ? (crc << 1) ^ 0x8bb7 : crc << 1);
	}
	return crc;
}

/* Zone Management Send (ZNS 1.1 4.4): Reset (ZSA 04h) of the zone at slba, or of all. */
static bool zone_reset(uint64_t slba, bool all)
{
	struct nvme_sqe cmd = {.opcode = NVME_CMD_ZONE_MGMT_SEND, .nsid = b.nsid};
	uint16_t st;

	cmd.cdw10 = (uint32_t)slba;
	cmd.cdw11 = (uint32_t)(slba >> 32);
	cmd.cdw13 = 0x04 | (all ? 1u << 8 : 0);
	if ((st = nvme_submit_wait(&b.mgmt, &cmd, NULL))) {
		rt_fail("bench: zone reset slba %llu all %d: status 0x%03x",
			(unsigned long long)slba, all, st);
		return false;
	}
	b.zone_resets++;
	return true;
}

/*
 * Zone geometry: ZSZE from the ZNS Identify Namespace (CNS 05h, CSI 02h: LBAFE of the
 * current format), ZCAP of zone 0 from Report Zones (Zone Management Receive, ZRA 00h,
 * partial report), the way Linux's nvme_query_zone_info() and nvme_ns_report_zones() do.
 */
static bool zone_setup(uint16_t depth)
{
	struct nvme_sqe cmd = {.opcode = NVME_ADM_IDENTIFY, .nsid = b.nsid};
	uint8_t fmt = b.id[26] & 0xf;
	uint16_t st;

	cmd.cdw10 = NVME_ID_CNS_CS_NS;
	cmd.cdw11 = (uint32_t)NVME_CSI_ZNS << 24;
	cmd.prp1 = nvme_bus(b.id);
	if ((st = nvme_admin(&b.c, &cmd, NULL))) {
		rt_fail("bench: append needs a zoned namespace: identify CSI 02h status 0x%03x",
			st);
		return false;
	}
	memcpy(&b.zsze, b.id + 2816 + 16 * fmt, 8);
	if ((st = nvme_create_io_pair(&b.c, &b.mgmt, (uint16_t)(b.nq + 1), 16, -1, NULL, 0))) {
		rt_fail("bench: zone management queue: status 0x%03x", st);
		return false;
	}
	memset(b.id, 0, PAGE_SIZE);
	cmd = (struct nvme_sqe){.opcode = NVME_CMD_ZONE_MGMT_RECV, .nsid = b.nsid};
	cmd.prp1 = nvme_bus(b.id);
	cmd.cdw12 = PAGE_SIZE / 4 - 1; /* NUMD, zero-based */
	cmd.cdw13 = 1u << 16;	       /* Report Zones, all states, partial */
	if ((st = nvme_submit_wait(&b.mgmt, &cmd, NULL))) {
		rt_fail("bench: report zones: status 0x%03x", st);
		return false;
	}
	memcpy(&b.zcap, b.id + 64 + 8, 8); /* descriptor 0 after the 64-byte header */
	b.nzones = b.zsze ? (uint32_t)(b.nsze / b.zsze) : 0;
	if (b.nzones > MAX_ZONES)
		b.nzones = MAX_ZONES;
	/* Two zones at least, each taking more than every command that can be in flight, so a
	 * zone reused after the others is never still being appended to. */
	if (b.nzones < 2 || b.zcap > b.zsze || b.zcap < (uint64_t)2 * depth * (MAX_BS / b.lbasz)) {
		rt_fail("bench: zones too small or too few (zsze %llu zcap %llu zones %u)",
			(unsigned long long)b.zsze, (unsigned long long)b.zcap, b.nzones);
		return false;
	}
	rt_printf("nvme-bench: zoned zsze %llu zcap %llu zones %u\n", (unsigned long long)b.zsze,
		  (unsigned long long)b.zcap, b.nzones);
	b.zoned = true;
	return true;
}

static bool setup(const struct nvme_pci *p, uint16_t nq_want, uint16_t *depth, bool append)
{
	struct nvme_ctrl *c = &b.c;
	uint32_t granted = 0, *list;
	uint16_t st;

	b.id = nvme_alloc(PAGE_SIZE);
	if (nvme_ctrl_init(c, p))
		return false;
	/* Zone commands need the I/O command sets beyond NVM enabled: CC.CSS 110b when
	 * CAP.CSS bit 6 says it is supported (Linux nvme_enable_ctrl). */
	if (append && (c->cap & NVME_CAP_CSS_CSI))
		c->cc_css = NVME_CC_CSS_CSI;
	if (nvme_ctrl_enable(c))
		return false;
	if (NVME_CAP_MQES(c->cap) + 1 < *depth)
		*depth = (uint16_t)(NVME_CAP_MQES(c->cap) + 1);
	if ((st = nvme_identify(c, NVME_ID_CNS_CTRL, 0, b.id))) {
		rt_fail("bench identify controller: status 0x%03x", st);
		return false;
	}
	memcpy(&c->oacs, b.id + 256, 2);
	c->mdts_bytes = b.id[77] ? PAGE_SIZE << b.id[77] : 0xffffffffu;
	b.nsid = (uint32_t)rt_cmdline_u64("nvmebench.ns", 0);
	if (!b.nsid) {
		list = (uint32_t *)b.id;
		if ((st = nvme_identify(c, NVME_ID_CNS_NS_ACTIVE_LIST, 0, b.id)) || !list[0]) {
			rt_fail("bench: no active namespace (status 0x%03x)", st);
			return false;
		}
		b.nsid = list[0];
	}
	if ((st = nvme_identify(c, NVME_ID_CNS_NS, b.nsid, b.id))) {
		rt_fail("bench identify namespace %u: status 0x%03x", b.nsid, st);
		return false;
	}
	memcpy(&b.nsze, b.id, 8);
	b.lbasz = 1u << b.id[128 + 4 * (b.id[26] & 0xf) + 2];
	/* LBAF.MS, FLBAS bit 4 (extended), DPS 2:0 type and bit 3 first (NVMe 1.4 5.15.2) */
	b.ms = (uint32_t)b.id[128 + 4 * (b.id[26] & 0xf)] |
	       (uint32_t)b.id[128 + 4 * (b.id[26] & 0xf) + 1] << 8;
	b.pi_type = b.id[29] & 7;
	b.pi_first = b.id[29] & 8;
	if (b.ms && (b.id[26] & 0x10)) {
		rt_fail("bench: extended-LBA metadata is not supported, only a separate buffer");
		return false;
	}
	if ((st = nvme_set_num_queues(c, (uint16_t)(nq_want + append), &granted))) {
		rt_fail("bench set features number of queues: status 0x%03x", st);
		return false;
	}
	b.nq = nq_want;
	if ((granted & 0xffff) + 1 - append < (uint32_t)b.nq)
		b.nq = (int)(granted & 0xffff) + 1 - append;
	if ((granted >> 16) + 1 - append < (uint32_t)b.nq)
		b.nq = (int)(granted >> 16) + 1 - append;
	if (b.nq < 1) {
		rt_fail("bench: append needs two I/O queues, granted 0x%08x", granted);
		return false;
	}
	if ((c->oacs & NVME_OACS_DBBUF) && rt_cmdline_u64("nvmebench.dbbuf", 1) &&
	    (st = nvme_dbbuf_config(c)))
		rt_fail("bench doorbell buffer config: status 0x%03x", st);
	b.bq = nvme_alloc(sizeof(struct bench_queue) * (size_t)b.nq);
	for (int i = 0; i < b.nq; i++) {
		st = nvme_create_io_pair(c, &b.bq[i].q, (uint16_t)(i + 1), *depth, -1, NULL, 0);
		if (st) {
			rt_fail("bench create I/O queue pair %d: status 0x%03x", i + 1, st);
			return false;
		}
	}
	if (append && !zone_setup(*depth))
		return false;
	rt_printf("nvme-bench: ctrl %s ns %u lbas %llu lba_size %u queues %d depth %u dbbuf %d "
		  "oacs 0x%04x\n",
		  p->bdf, b.nsid, (unsigned long long)b.nsze, b.lbasz, b.nq, *depth,
		  c->shadow_db != NULL, c->oacs);
	return true;
}

/*
 * A write's protection information (NVM Command Set 1.0 5.2.1): PRCHK guard (and reference
 * for Types 1 and 2, whose tag is the LBA: ILBRT in CDW14, set per I/O in submit); with
 * PRACT the controller generates the tuples, else the guest's tuples are in the metadata
 * buffer: the guard over the block's data (and the metadata bytes before a last tuple), big
 * endian, app tag 0. The data never changes, so only reference tags are rewritten per I/O.
 */
static void build_pi(struct nvme_sqe *cmd, uint8_t *data, uint8_t *meta, uint32_t seed)
{
	uint32_t nlb = b.bs / b.lbasz, tuple = b.pi_first ? 0 : b.ms - 8;

	cmd->cdw12 |= PRINFO_PRCHK_GUARD | (b.pi_type != 3 ? PRINFO_PRCHK_REF : 0);
	if (b.pract) {
		cmd->cdw12 |= PRINFO_PRACT;
		return;
	}
	for (uint32_t i = 0; i < b.bs; i++) /* data worth guarding: not all zeroes */
		data[i] = (uint8_t)(i * 31 + seed * 7 + 1);
	memset(meta, 0, nlb * b.ms);
	for (uint32_t i = 0; i < nlb; i++) {
		uint8_t *md = meta + i * b.ms;
		uint16_t g = crc16_t10dif(0, data + i * b.lbasz, b.lbasz);

		if (!b.pi_first)
			g = crc16_t10dif(g, md, tuple);
		md[tuple] = (uint8_t)(g >> 8);
		md[tuple + 1] = (uint8_t)g;
		if (b.pi_type == 3) /* Type 3: reference tag not checked, all ones (5.2.1.3) */
			memset(md + tuple + 4, 0xff, 4);
	}
}

/* Set the reference tags of a write at lba (Types 1 and 2: LBA + i, big endian). */
static void set_ref_tags(struct bench_queue *bq, uint16_t s, uint64_t lba)
{
	uint32_t nlb = b.bs / b.lbasz, tuple = b.pi_first ? 0 : b.ms - 8;

	bq->slot[s].cmd.cdw14 = (uint32_t)lba;
	if (b.pract)
		return;
	for (uint32_t i = 0; i < nlb; i++) {
		uint8_t *r = bq->meta[s] + i * b.ms + tuple + 4;
		uint32_t ref = (uint32_t)(lba + i);

		r[0] = (uint8_t)(ref >> 24);
		r[1] = (uint8_t)(ref >> 16);
		r[2] = (uint8_t)(ref >> 8);
		r[3] = (uint8_t)ref;
	}
}

/* Pre-build every slot's command: buffer, PRP1/PRP2 or a PRP list, NLB. */
static void build_slots(uint8_t opcode, int qd)
{
	uint32_t nlb = b.bs / b.lbasz;

	for (int i = 0; i < b.nq; i++) {
		struct bench_queue *bq = &b.bq[i];

		bq->nfree = 0;
		bq->inflight = 0;
		for (int s = 0; s < qd; s++) {
			struct nvme_sqe *cmd = &bq->slot[s].cmd;

			if (!bq->buf[s]) {
				bq->buf[s] = nvme_alloc(b.bs);
				bq->list[s] = nvme_alloc(PAGE_SIZE);
				if (b.ms)
					bq->meta[s] = nvme_alloc(nlb * b.ms);
			}
			memset(cmd, 0, sizeof(*cmd));
			cmd->opcode = opcode;
			cmd->nsid = b.nsid;
			cmd->cid = (uint16_t)s;
			nvme_set_prps(cmd, bq->buf[s], b.bs, bq->list[s]);
			cmd->cdw12 = nlb - 1;
			if (b.ms)
				cmd->mptr = nvme_bus(bq->meta[s]);
			if (b.pi_type && opcode != NVME_CMD_READ)
				build_pi(cmd, bq->buf[s], bq->meta[s], (uint32_t)s);
			bq->free[bq->nfree++] = (uint16_t)s;
		}
	}
}

static void submit(struct bench_queue *bq, uint16_t s, uint64_t now)
{
	struct slot *sl = &bq->slot[s];
	uint32_t nlb = b.bs / b.lbasz;
	uint64_t lba;

	if (b.mode == MODE_APPEND) {
		/* The current zone, or the next one when this would pass its capacity. */
		if (b.zused + nlb > b.zcap) {
			b.zcur = (b.zcur + 1) % b.nzones;
			b.zused = 0;
			if (b.zinflight[b.zcur]) {
				rt_fail("bench: zone %u reused with appends in flight", b.zcur);
				b.zone_error = true;
			} else if (b.zdirty[b.zcur] && !zone_reset(b.zcur * b.zsze, false)) {
				b.zone_error = true;
			}
			b.zdirty[b.zcur] = false;
		}
		lba = b.zcur * b.zsze; /* ZSLBA: the controller picks the LBA */
		b.zused += nlb;
		b.zdirty[b.zcur] = true;
		b.zinflight[b.zcur]++;
		sl->zone = b.zcur;
	} else {
		lba = rnd() % b.nblocks_bs * nlb;
	}
	if (b.pi_type && b.pi_type != 3 && b.mode != MODE_READ)
		set_ref_tags(bq, s, lba);
	sl->cmd.cdw10 = (uint32_t)lba;
	sl->cmd.cdw11 = (uint32_t)(lba >> 32);
	sl->t_submit = now;
	bq->inflight++;
	nvme_sq_push(&bq->q, &sl->cmd);
}

/*
 * Keep every queue full until `total` I/Os completed or `deadline` passed; the first
 * `warmup` completions are not recorded. Returns the cycles of the measured part and
 * sets *ios; 0 on a stall or an error status.
 */
static uint64_t run_loop(uint64_t warmup, uint64_t max_ios, uint64_t seconds, uint64_t *ios)
{
	uint64_t done = 0, t_start = 0, t_end, last_progress,
		 measure_cycles = tsc_ms(seconds * 1000);
	bool measuring = warmup == 0;
	uint64_t now = rt_rdtsc();

	t_start = now;
	last_progress = now;
	for (int i = 0; i < b.nq; i++) {
		struct bench_queue *bq = &b.bq[i];

		while (bq->nfree)
			submit(bq, bq->free[--bq->nfree], now);
		nvme_sq_ring(&bq->q);
	}
	for (;;) {
		bool stop = false;

		now = rt_rdtsc();
		for (int i = 0; i < b.nq; i++) {
			struct bench_queue *bq = &b.bq[i];
			volatile struct nvme_cqe *e;
			int reaped = 0, resubmitted = 0;

			while ((e = nvme_cq_peek(&bq->q))) {
				uint16_t s = e->cid, status = e->status >> 1;
				uint64_t lat, alba = e->dw0 | (uint64_t)e->dw1 << 32;

				nvme_cq_pop(&bq->q);
				bq->inflight--;
				reaped++;
				if (s >= MAX_QD || status) {
					rt_fail("bench: completion cid %u status 0x%03x", s,
						status);
					return 0;
				}
				if (b.mode == MODE_APPEND) {
					/* ZNS 1.1 4.5: DW0/DW1 hold the LBA the data went to. */
					uint32_t z = bq->slot[s].zone;

					b.zinflight[z]--;
					if (alba / b.zsze != z || alba % b.zsze >= b.zcap) {
						rt_fail("bench: append to zone %u landed at lba "
							"%llu",
							z, (unsigned long long)alba);
						return 0;
					}
				}
				if (b.zone_error)
					return 0;
				now = rt_rdtsc();
				if (measuring) {
					lat = now - bq->slot[s].t_submit;
					b.hist[hist_index(lat)]++;
					b.lat_sum += lat;
					b.lat_n++;
					if (lat > b.lat_max)
						b.lat_max = lat;
				}
				done++;
				if (!measuring && done >= warmup) {
					measuring = true;
					done = 0;
					t_start = now;
				}
				if (measuring && ((max_ios && done >= max_ios) ||
						  (!max_ios && now - t_start >= measure_cycles)))
					stop = true;
				if (stop)
					continue;
				submit(bq, s, now);
				resubmitted++;
			}
			if (reaped) {
				nvme_cq_ring(&bq->q);
				last_progress = now;
			}
			if (resubmitted)
				nvme_sq_ring(&bq->q);
		}
		if (stop)
			break;
		if (now - last_progress > tsc_ms(STALL_MS)) {
			rt_fail("bench: no completion for %u ms (%llu done)", STALL_MS,
				(unsigned long long)done);
			return 0;
		}
	}
	t_end = now;
	/* Drain what is still in flight so the next run starts from empty queues. */
	for (int i = 0; i < b.nq; i++) {
		struct bench_queue *bq = &b.bq[i];
		uint64_t t0 = rt_rdtsc();

		while (bq->inflight > 0 && rt_rdtsc() - t0 < tsc_ms(STALL_MS)) {
			while (nvme_cq_peek(&bq->q)) {
				nvme_cq_pop(&bq->q);
				bq->inflight--;
			}
		}
		nvme_cq_ring(&bq->q);
	}
	*ios = done;
	return t_end - t_start;
}

static void run_one(const char *rw, int qd, uint64_t seconds, uint64_t max_ios, uint64_t warmup)
{
	uint8_t opcode = strcmp(rw, "randwrite") == 0 ? NVME_CMD_WRITE : NVME_CMD_READ;
	uint64_t ios = 0, cycles, sq_mmio = 0, cq_mmio = 0, iops, mmio_milli;
	char extra[96];
	int n = 0;

	b.mode = opcode == NVME_CMD_WRITE ? MODE_WRITE : MODE_READ;
	if (!strcmp(rw, "append")) {
		opcode = NVME_CMD_ZONE_APPEND;
		b.mode = MODE_APPEND;
		/* Every zone Empty, appends start at zone 0. */
		memset(b.zinflight, 0, sizeof(b.zinflight));
		memset(b.zdirty, 0, sizeof(b.zdirty));
		b.zcur = 0;
		b.zused = 0;
		b.zone_error = false;
		if (!zone_reset(0, true))
			return;
		b.zone_resets = 0;
	}

	for (int i = 0; i < b.nq; i++) {
		b.bq[i].q.mmio_sq_writes = b.bq[i].q.mmio_cq_writes = 0;
	}
	build_slots(opcode, qd);
	memset(b.hist, 0, sizeof(b.hist));
	b.lat_sum = b.lat_max = b.lat_n = 0;
	cycles = run_loop(warmup, max_ios, seconds, &ios);
	if (!cycles || !ios)
		return;
	for (int i = 0; i < b.nq; i++) {
		sq_mmio += b.bq[i].q.mmio_sq_writes;
		cq_mmio += b.bq[i].q.mmio_cq_writes;
	}
	iops = ios * tsc_khz() * 1000 / cycles;
	mmio_milli = (sq_mmio + cq_mmio) * 1000 / (ios + warmup);
	extra[0] = 0;
	if (b.iommu || b.iommu_alt)
		n += rt_snprintf(extra + n, sizeof(extra) - (size_t)n, " iommu %d", b.iommu);
	if (b.ms)
		n += rt_snprintf(extra + n, sizeof(extra) - (size_t)n, " ms %u pi %u pract %d",
				 b.ms, b.pi_type, b.pract);
	if (b.mode == MODE_APPEND)
		rt_snprintf(extra + n, sizeof(extra) - (size_t)n, " zone_resets %llu",
			    (unsigned long long)b.zone_resets);
	rt_printf("nvme-bench: qd %d queues %d rw %s bs %u ios %llu cycles %llu tsc_khz %llu "
		  "iops %llu lat_avg_ns %llu lat_p50_ns %llu lat_p99_ns %llu lat_p999_ns %llu "
		  "lat_max_ns %llu sq_mmio %llu cq_mmio %llu mmio_per_io %llu.%03llu dbbuf %d%s\n",
		  qd, b.nq, rw, b.bs, (unsigned long long)ios, (unsigned long long)cycles,
		  (unsigned long long)tsc_khz(), (unsigned long long)iops,
		  (unsigned long long)cycles_to_ns(b.lat_sum / b.lat_n),
		  (unsigned long long)cycles_to_ns(percentile(500)),
		  (unsigned long long)cycles_to_ns(percentile(990)),
		  (unsigned long long)cycles_to_ns(percentile(999)),
		  (unsigned long long)cycles_to_ns(b.lat_max), (unsigned long long)sq_mmio,
		  (unsigned long long)cq_mmio, (unsigned long long)(mmio_milli / 1000),
		  (unsigned long long)(mmio_milli % 1000), b.c.shadow_db != NULL, extra);
}

/* Next comma-separated item of *s into buf; false at the end. */
static bool next_item(const char **s, char *buf, size_t size)
{
	size_t n = 0;

	if (!**s)
		return false;
	while (**s && **s != ',') {
		if (n + 1 < size)
			buf[n++] = **s;
		(*s)++;
	}
	if (**s == ',')
		(*s)++;
	buf[n] = 0;
	return true;
}

static void bench_phase(const struct nvme_pci *p, uint64_t nq, uint16_t depth, bool append,
			const char *rws, const char *qds, uint64_t seconds, uint64_t max_ios,
			uint64_t warmup);

void bench_ctrl(const struct nvme_pci *all, int n)
{
	const struct nvme_pci *p = pick_ctrl(all, n);
	const char *qds = rt_cmdline_get("nvmebench.qd"), *rws = rt_cmdline_get("nvmebench.rw");
	uint64_t seconds = rt_cmdline_u64("nvmebench.seconds", 5);
	uint64_t max_ios = rt_cmdline_u64("nvmebench.ios", 0);
	uint64_t warmup = rt_cmdline_u64("nvmebench.warmup", 2000);
	uint64_t nq = rt_cmdline_u64("nvmebench.queues", 1);
	char rw[16];
	uint16_t depth = 128;
	bool append = false;
	const char *iommu = rt_cmdline_get("nvmebench.iommu");
	uint64_t phases = 1;

	if (!p) {
		rt_fail("bench: no controller %s", rt_cmdline_get("nvmebench.ctrl"));
		return;
	}
	b.bs = (uint32_t)rt_cmdline_u64("nvmebench.bs", 4096);
	b.rng = 0x9E3779B97F4A7C15ULL ^ rt_rdtsc();
	if (nq < 1 || nq > NVME_MAX_IO_QUEUES || b.bs % PAGE_SIZE || b.bs == 0 || b.bs > MAX_BS) {
		rt_fail("bench: queues %llu or bs %u out of range", (unsigned long long)nq, b.bs);
		return;
	}
	for (const char *r = rws ? rws : ""; next_item(&r, rw, sizeof(rw));)
		append |= !strcmp(rw, "append");
	b.pract = rt_cmdline_flag("nvmebench.pract");
	b.iommu_alt = iommu && !strcmp(iommu, "alt");
	if (b.iommu_alt)
		phases = 2 * rt_cmdline_u64("nvmebench.rounds", 2);
	if (b.iommu_alt || rt_cmdline_flag("nvmebench.iommu")) {
		uint64_t base = vtd_find_base();

		if (!base) {
			rt_fail("bench: iommu: no DMAR DRHD in ACPI and no nvmebench.vtd_base");
			return;
		}
		if (!vtd_enable(base, p->bus, p->devfn,
				rt_cmdline_u64("nvmebench.iova_offset", 0x1000000000ull)))
			return;
		b.iommu = true;
	}
	for (uint64_t ph = 0; ph < phases; ph++) {
		if (b.iommu_alt) { /* off, on, off, on, ... */
			if (ph)
				nvme_ctrl_disable(&b.c);
			if (!vtd_translate(ph & 1))
				return;
			b.iommu = ph & 1;
		}
		bench_phase(p, nq, depth, append, rws, qds, seconds, max_ios, warmup);
	}
}

static void bench_phase(const struct nvme_pci *p, uint64_t nq, uint16_t depth, bool append,
			const char *rws, const char *qds, uint64_t seconds, uint64_t max_ios,
			uint64_t warmup)
{
	char rw[16], item[16];

	if (!setup(p, (uint16_t)nq, &depth, append))
		return;
	if (append && b.pi_type) {
		rt_fail("bench: append with protection information is not supported");
		return;
	}
	if (b.bs % b.lbasz || b.bs > b.c.mdts_bytes || b.nsze < b.bs / b.lbasz) {
		rt_fail("bench: bs %u does not suit lba size %u / mdts %u", b.bs, b.lbasz,
			b.c.mdts_bytes);
		return;
	}
	b.nblocks_bs = b.nsze / (b.bs / b.lbasz);
	for (const char *r = rws ? rws : "randread"; next_item(&r, rw, sizeof(rw));) {
		if (strcmp(rw, "randread") && strcmp(rw, "randwrite") && strcmp(rw, "append")) {
			rt_fail("bench: rw %s is not randread, randwrite or append", rw);
			continue;
		}
		for (const char *q = qds ? qds : "1"; next_item(&q, item, sizeof(item));) {
			uint64_t qd = rt_strtou64(item, NULL);

			if (qd < 1 || qd > MAX_QD || qd >= depth) {
				rt_fail("bench: qd %s out of range 1..%d", item, MAX_QD);
				continue;
			}
			run_one(rw, (int)qd, seconds, max_ios, warmup);
		}
	}
}
