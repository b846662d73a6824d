/* SPDX-License-Identifier: MIT */
/*
 * The NVMe controller model alone: no KVM, no guest. An in-process polled driver talks to
 * the controller through the three interfaces of devices/nvme/nvme.h (BAR0 accesses, a DMA
 * map, an ioeventfd hook) and keeps QD 4 KiB
 * random reads in flight on one I/O queue pair of a null namespace, like the ring-3 driver in
 * guests/nvme-smoke/bench.c (completions reaped by phase tag, doorbells written once per
 * reaped batch). It measures what the device model itself costs per I/O.
 *
 * DMA paths (-d):
 *   pci       (default) the controller is a PCI function (nvme_pci_create) on a PCI root
 *             over real guest RAM (mem_init): every queue entry and PRP goes through the
 *             machine's own lookup (nvme_pci.c's dma_map, the PCI core's DMA path), as
 *             under a guest. BAR0 sits at BAR0_ADDR; the ioeventfd hook gets bus addresses.
 *   fake      nvme_ctrl_create() with a bounds check over malloc'd memory: the model only.
 *
 * Modes (-m):
 *   inline    iothread = false: every doorbell is a trapped BAR0 write (nvme_bar0_write,
 *             what an MMIO exit turns into) and the controller executes the commands inside
 *             that call, on the driver's thread: the device's cost on one core.
 *   iothread  the controller's I/O thread, Doorbell Buffer Config (shadow doorbells with
 *             EventIdx), doorbells the EventIdx asks for go to the ioeventfd's eventfd (what
 *             KVM does with an ioeventfd write). The driver and the I/O thread run on two
 *             cores (pinned apart when there are two); "cpu" shows how many were busy.
 *
 *   build/nvme-device-bench [-m inline|iothread|all] [-d pci|fake] [-q 1,2,4,...]
 *                           [-t SECONDS] [-c CPU]
 *
 * Prints one table row per (mode, QD):
 *   IOPS       completions per second of wall time;
 *   lat us     mean latency, QD / IOPS (Little's law);
 *   cpu        CPU time of the whole process over wall time (2.00: two cores busy);
 *   devcpu     the same for the thread that runs the device (inline: the only thread;
 *              iothread: the I/O thread, i.e. the process minus the driver's thread);
 *   IOPS/core  completions per second of the device's CPU time: the "on one core" figure,
 *              which does not drop when other processes take the core away (a shared host);
 *   ns/IO      the device's CPU time per I/O (inline: driver included);
 *   dbell/IO   doorbells per I/O (trapped writes + eventfd writes).
 * Exits non-zero if any command fails.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "devices/nvme/nvme.h"
#include "devices/nvme/nvme_pci.h"
#include "devices/nvme/spec.h"
#include "vmm/mem.h"
#include "vmm/pci/pci.h"
#include "vmm/util.h"

#define MEM_BASE    0x100000ULL /* bus address of the fake guest memory */
#define MEM_SIZE    (8ULL << 20)
#define PAGE	    4096u
#define ADMIN_DEPTH 32
#define IO_QID	    1
#define IO_DEPTH    256 /* entries; QD may go up to IO_DEPTH - 1 */
#define NS_SIZE	    (1ULL << 30)
#define LBA_SIZE    512u
#define MAX_SLOTS   (2 * IO_QID + 2)
#define ADM_DBBUF   0x7c		  /* Doorbell Buffer Config (NVMe 1.3 5.7) */
#define CC_IO_ES    (6u << 16 | 4u << 20) /* IOSQES 64 bytes, IOCQES 16 bytes */
#define WAIT_NS	    (5ULL * 1000000000ULL)
#define BAR0_ADDR   0xc0000000ULL /* -d pci: where BAR0 is programmed */
#define NVME_DEVFN  0x08

struct queue {
	uint64_t sq, cq; /* bus addresses */
	uint16_t depth, sq_tail, cq_head, sq_db_last, cq_db_last;
	bool phase;
};

struct bench {
	uint8_t *mem; /* host pointer for bus address MEM_BASE */
	bool pci;
	struct guest_mem ram; /* -d pci */
	struct pci_root root;
	struct nvme_pci *npci;
	uint64_t next; /* bump allocator in mem */
	struct nvme_ctrl *c;
	struct queue aq, io;
	uint64_t dbs, eis;  /* shadow doorbell / EventIdx pages, 0 when off */
	int efd[MAX_SLOTS]; /* ioeventfd per doorbell slot, -1: trapped (atomic) */
	uint64_t bufs;	    /* one 4 KiB buffer per command slot */
	uint64_t rings_trapped, rings_eventfd;
	uint64_t rng;
};

static const char *mode_name[] = {"inline", "iothread"};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* CPU time of the process (RUSAGE_SELF) or of the calling thread (RUSAGE_THREAD). */
static uint64_t cpu_ns(int who)
{
	struct rusage ru;

	getrusage(who, &ru);
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000ULL +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000ULL;
}

static void fail(const char *fmt, const char *what, unsigned v)
{
	fprintf(stderr, "nvme-device-bench: ");
	fprintf(stderr, fmt, what, v);
	fputc('\n', stderr);
	exit(1);
}

/* ---- the host side of the controller: memory, interrupts, ioeventfd ---- */

static void *host_dma_map(void *opaque, uint64_t addr, uint64_t len)
{
	struct bench *b = opaque;
	uint64_t end;

	if (addr < MEM_BASE || __builtin_add_overflow(addr, len, &end) || end > MEM_BASE + MEM_SIZE)
		return NULL;
	return b->mem + (addr - MEM_BASE);
}

static void host_irq(void *opaque, unsigned vector)
{
}

/* Called with the controller lock held, from any thread: only publish the eventfd. */
static int host_ioeventfd(void *opaque, uint64_t off, int efd, bool assign)
{
	struct bench *b = opaque;
	uint64_t slot = (off - NVME_REG_DBS) / 4;

	if (off < NVME_REG_DBS || slot >= MAX_SLOTS)
		return -EINVAL;
	__atomic_store_n(&b->efd[slot], assign ? efd : -1, __ATOMIC_RELEASE);
	return 0;
}

/* ---- -d pci: the machine's side, minus KVM ---- */

static int pci_map_trap(void *opaque, enum bus_space space, uint64_t addr, uint64_t size,
			const struct bus_ops *ops, void *dev_opaque, const char *name)
{
	return 0;
}

static void pci_unmap_trap(void *opaque, enum bus_space space, uint64_t addr)
{
}

static void pci_msi(void *opaque, uint64_t addr, uint32_t data)
{
}

static void pci_intx(void *opaque, uint32_t gsi, int level)
{
}

static int pci_ioeventfd(void *opaque, uint64_t addr, unsigned len, int efd, bool assign)
{
	return addr < BAR0_ADDR ? -EINVAL : host_ioeventfd(opaque, addr - BAR0_ADDR, efd, assign);
}

static const struct pci_host_ops bench_pci_host = {.map_trap = pci_map_trap,
						   .unmap_trap = pci_unmap_trap,
						   .msi = pci_msi,
						   .intx = pci_intx,
						   .ioeventfd = pci_ioeventfd};

/* RAM from bus address 0 past the driver's memory; the function at NVME_DEVFN on bus 0 with
 * BAR0 at BAR0_ADDR, memory decoding and bus mastering on, as firmware leaves it. */
static struct nvme_ctrl *pci_create(struct bench *b, const struct nvme_ctrl_config *cfg)
{
	char err[256] = "";
	int ret;

	ret = mem_init(&b->ram, ALIGN_UP(MEM_BASE + MEM_SIZE, 2ULL << 20), false, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "nvme-device-bench: %s\n", err);
		exit(1);
	}
	b->mem = mem_gpa_to_hva(&b->ram, MEM_BASE, MEM_SIZE);
	pci_root_init(&b->root, &bench_pci_host, b, &b->ram, 0);
	b->npci = nvme_pci_create(cfg, err, sizeof(err));
	if (!b->npci || pci_bus_add(&b->root.bus0, &b->npci->pci, NVME_DEVFN)) {
		fprintf(stderr, "nvme-device-bench: nvme_pci_create: %s\n", err);
		exit(1);
	}
	pci_config_write(&b->root, 0, NVME_DEVFN, PCI_BASE_ADDRESS_0, (uint32_t)BAR0_ADDR, 4);
	pci_config_write(&b->root, 0, NVME_DEVFN, PCI_BASE_ADDRESS_0 + 4,
			 (uint32_t)(BAR0_ADDR >> 32), 4);
	pci_config_write(&b->root, 0, NVME_DEVFN, PCI_COMMAND,
			 PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	return b->npci->ctrl;
}

static void pci_destroy(struct bench *b)
{
	pci_root_destroy(&b->root);
	nvme_pci_destroy(b->npci);
	mem_free(&b->ram);
}

static void *ptr(struct bench *b, uint64_t addr)
{
	return b->mem + (addr - MEM_BASE);
}

static uint64_t alloc(struct bench *b, uint64_t size)
{
	uint64_t a = (b->next + PAGE - 1) & ~(uint64_t)(PAGE - 1);

	if (a + size > MEM_BASE + MEM_SIZE)
		fail("%s: %u bytes", "fake guest memory exhausted", (unsigned)size);
	b->next = a + size;
	memset(ptr(b, a), 0, size);
	return a;
}

/* ---- the driver ---- */

/* Linux drivers/nvme/host/pci.c nvme_dbbuf_need_event (virtio's vring_need_event). */
static bool need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event_idx - 1) < (uint16_t)(new_idx - old);
}

/* Doorbell slot `slot` (SQ 2y, CQ 2y + 1; CAP.DSTRD = 0) now holds `val`. */
static void doorbell(struct bench *b, unsigned slot, uint16_t old, uint16_t val)
{
	volatile uint32_t *shadow, *ei;
	int efd;

	if (b->dbs && slot >= 2) {
		shadow = ptr(b, b->dbs + 4 * slot);
		ei = ptr(b, b->eis + 4 * slot);
		__atomic_store_n(shadow, val, __ATOMIC_RELEASE); /* after the SQEs / CQ reads */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);	 /* the shadow before EventIdx */
		if (!need_event((uint16_t)*ei, val, old))
			return;
	}
	efd = __atomic_load_n(&b->efd[slot < MAX_SLOTS ? slot : 0], __ATOMIC_ACQUIRE);
	if (b->dbs && slot >= 2 && efd >= 0) {
		b->rings_eventfd++;
		eventfd_write(efd, 1);
		return;
	}
	b->rings_trapped++;
	nvme_bar0_write(b->c, NVME_REG_DBS + 4ULL * slot, val, 4);
}

static void sq_push(struct queue *q, struct bench *b, const struct nvme_sqe *cmd)
{
	memcpy(ptr(b, q->sq + (uint64_t)q->sq_tail * sizeof(*cmd)), cmd, sizeof(*cmd));
	if (++q->sq_tail == q->depth)
		q->sq_tail = 0;
}

/* The next completion of q, or NULL; nothing is consumed until cq_pop. */
static struct nvme_cqe *cq_peek(struct queue *q, struct bench *b)
{
	struct nvme_cqe *e = ptr(b, q->cq + (uint64_t)q->cq_head * sizeof(*e));

	if ((__atomic_load_n(&e->status, __ATOMIC_ACQUIRE) & 1) != q->phase)
		return NULL;
	return e;
}

static void cq_pop(struct queue *q)
{
	if (++q->cq_head == q->depth) {
		q->cq_head = 0;
		q->phase = !q->phase;
	}
}

static void ring_sq(struct bench *b, struct queue *q, uint16_t qid)
{
	doorbell(b, 2u * qid, q->sq_db_last, q->sq_tail);
	q->sq_db_last = q->sq_tail;
}

static void ring_cq(struct bench *b, struct queue *q, uint16_t qid)
{
	doorbell(b, 2u * qid + 1, q->cq_db_last, q->cq_head);
	q->cq_db_last = q->cq_head;
}

static uint16_t admin(struct bench *b, struct nvme_sqe *cmd)
{
	uint64_t t0 = now_ns();
	struct nvme_cqe *e;
	uint16_t status;

	cmd->cid = b->aq.sq_tail;
	sq_push(&b->aq, b, cmd);
	ring_sq(b, &b->aq, 0);
	while (!(e = cq_peek(&b->aq, b)))
		if (now_ns() - t0 > WAIT_NS)
			fail("%s 0x%02x: no completion", "admin opcode", cmd->opcode);
	status = (e->status >> 1) & 0x7ff;
	cq_pop(&b->aq);
	ring_cq(b, &b->aq, 0);
	return status;
}

static void admin_ok(struct bench *b, struct nvme_sqe *cmd, const char *what)
{
	uint16_t st = admin(b, cmd);

	if (st)
		fail("%s: status 0x%03x", what, st);
}

static void queue_init(struct bench *b, struct queue *q, uint16_t depth)
{
	memset(q, 0, sizeof(*q));
	q->depth = depth;
	q->sq = alloc(b, (uint64_t)depth * sizeof(struct nvme_sqe));
	q->cq = alloc(b, (uint64_t)depth * sizeof(struct nvme_cqe));
	q->phase = true;
}

/* Enable (CC fields, then EN, as Linux), shadow doorbells if asked, one I/O queue pair. */
static void bench_start(struct bench *b, bool shadow)
{
	struct nvme_sqe cmd;
	uint64_t t0;

	queue_init(b, &b->aq, ADMIN_DEPTH);
	nvme_bar0_write(b->c, NVME_REG_AQA, (ADMIN_DEPTH - 1) | (ADMIN_DEPTH - 1) << 16, 4);
	nvme_bar0_write(b->c, NVME_REG_ASQ, b->aq.sq, 8);
	nvme_bar0_write(b->c, NVME_REG_ACQ, b->aq.cq, 8);
	nvme_bar0_write(b->c, NVME_REG_CC, CC_IO_ES, 4);
	nvme_bar0_write(b->c, NVME_REG_CC, CC_IO_ES | NVME_CC_EN, 4);
	t0 = now_ns();
	while (!(nvme_bar0_read(b->c, NVME_REG_CSTS, 4) & NVME_CSTS_RDY))
		if (now_ns() - t0 > WAIT_NS)
			fail("%s%u", "CSTS.RDY stays 0", 0);
	if (shadow) {
		b->dbs = alloc(b, PAGE);
		b->eis = alloc(b, PAGE);
		cmd = (struct nvme_sqe){.opcode = ADM_DBBUF, .prp1 = b->dbs, .prp2 = b->eis};
		admin_ok(b, &cmd, "doorbell buffer config");
	}
	queue_init(b, &b->io, IO_DEPTH);
	/* Polled: the CQ has no interrupt (IEN = 0), as in SPDK and nvme-smoke's bench. */
	cmd = (struct nvme_sqe){.opcode = NVME_ADM_CREATE_CQ,
				.prp1 = b->io.cq,
				.cdw10 = IO_QID | (IO_DEPTH - 1) << 16,
				.cdw11 = 1u};
	admin_ok(b, &cmd, "create I/O CQ");
	cmd = (struct nvme_sqe){.opcode = NVME_ADM_CREATE_SQ,
				.prp1 = b->io.sq,
				.cdw10 = IO_QID | (IO_DEPTH - 1) << 16,
				.cdw11 = 1u | IO_QID << 16};
	admin_ok(b, &cmd, "create I/O SQ");
	b->bufs = alloc(b, (uint64_t)IO_DEPTH * PAGE);
}

/* A 4 KiB read of a random 4 KiB-aligned block into the buffer of command slot `cid`. */
static void submit_read(struct bench *b, uint16_t cid)
{
	uint64_t slba;
	struct nvme_sqe cmd;

	b->rng ^= b->rng << 13; /* xorshift64 */
	b->rng ^= b->rng >> 7;
	b->rng ^= b->rng << 17;
	slba = (b->rng % (NS_SIZE / PAGE)) * (PAGE / LBA_SIZE);
	cmd = (struct nvme_sqe){.opcode = NVME_CMD_READ,
				.cid = cid,
				.nsid = 1,
				.prp1 = b->bufs + (uint64_t)cid * PAGE,
				.cdw10 = (uint32_t)slba,
				.cdw11 = (uint32_t)(slba >> 32),
				.cdw12 = PAGE / LBA_SIZE - 1};
	sq_push(&b->io, b, &cmd);
}

struct result {
	uint64_t ios;
	double seconds, doorbells_per_io;
	double cpu, driver_cpu; /* seconds: the process, the driver's thread */
};

/* QD reads in flight for `seconds`; every completion is replaced by a new read at once. */
static struct result run_qd(struct bench *b, unsigned qd, double seconds)
{
	uint64_t ios = 0, rings0 = b->rings_trapped + b->rings_eventfd, t0, c0, d0, t_end, t_last;
	unsigned inflight = 0, iter = 0;
	bool stopping = false;
	struct result r;

	t0 = now_ns();
	c0 = cpu_ns(RUSAGE_SELF);
	d0 = cpu_ns(RUSAGE_THREAD);
	t_end = t0 + (uint64_t)(seconds * 1e9);
	t_last = t0;
	for (uint16_t cid = 0; cid < qd; cid++, inflight++)
		submit_read(b, cid);
	ring_sq(b, &b->io, IO_QID);
	while (inflight) {
		struct nvme_cqe *e;
		unsigned reaped = 0;

		while ((e = cq_peek(&b->io, b))) {
			uint16_t status = (e->status >> 1) & 0x7ff, cid = e->cid;

			if (status)
				fail("%s: status 0x%03x", "read", status);
			cq_pop(&b->io);
			reaped++;
			ios++;
			if (stopping)
				inflight--;
			else
				submit_read(b, cid);
		}
		if (reaped) {
			ring_cq(b, &b->io, IO_QID);
			if (!stopping)
				ring_sq(b, &b->io, IO_QID);
			t_last = 0;
		}
		if ((++iter & 255) == 0 || !reaped) {
			uint64_t t = now_ns();

			if (!stopping && t >= t_end)
				stopping = true;
			if (reaped)
				continue;
			if (!t_last)
				t_last = t;
			else if (t - t_last > WAIT_NS)
				fail("%s (%u in flight)", "no completion for 5 s", inflight);
		}
	}
	r.seconds = (double)(now_ns() - t0) / 1e9;
	r.cpu = (double)(cpu_ns(RUSAGE_SELF) - c0) / 1e9;
	r.driver_cpu = (double)(cpu_ns(RUSAGE_THREAD) - d0) / 1e9;
	r.ios = ios;
	r.doorbells_per_io =
		(double)(b->rings_trapped + b->rings_eventfd - rings0) / (double)(ios ? ios : 1);
	return r;
}

/* ---- setup, CPUs, the table ---- */

static void pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		fprintf(stderr, "nvme-device-bench: cannot pin to CPU %d: %s\n", cpu,
			strerror(errno));
}

static void run_mode(int mode, bool pci, const unsigned *qds, int nqd, double seconds, int cpu,
		     int other_cpu)
{
	struct nvme_ns_config ns = {.size = NS_SIZE, .lba_size = LBA_SIZE, .backend = "null"};
	struct nvme_ctrl_config cfg = {.name = "bench", .ns = &ns, .nr_ns = 1, .max_queues = 4};
	struct nvme_host host = {.dma_map = host_dma_map, .irq = host_irq, .opaque = NULL};
	struct bench *b = calloc(1, sizeof(*b));
	char err[256] = "";

	if (!b)
		fail("%s%u", "out of memory", 0);
	b->pci = pci;
	if (!pci) {
		b->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			      -1, 0);
		if (b->mem == MAP_FAILED)
			fail("%s%u", "cannot map the fake guest memory", 0);
	}
	b->next = MEM_BASE;
	b->rng = 0x9E3779B97F4A7C15ULL;
	for (int i = 0; i < MAX_SLOTS; i++)
		b->efd[i] = -1;
	host.opaque = b;
	cfg.no_iothread = mode == 0;
	if (mode == 1) {
		host.ioeventfd = host_ioeventfd;
		pin(other_cpu); /* the I/O thread inherits this CPU */
	} else {
		pin(cpu);
	}
	b->c = pci ? pci_create(b, &cfg) : nvme_ctrl_create(&cfg, &host, err, sizeof(err));
	if (!b->c) {
		fprintf(stderr, "nvme-device-bench: nvme_ctrl_create: %s\n", err);
		exit(1);
	}
	pin(cpu);
	bench_start(b, mode == 1);
	run_qd(b, 8, seconds / 10); /* warm-up: page faults in the buffers, the thread's ring */
	for (int i = 0; i < nqd; i++) {
		struct result r = run_qd(b, qds[i], seconds);
		double iops = (double)r.ios / r.seconds;
		/* The device's CPU: the one thread inline, the I/O thread otherwise. */
		double dev_cpu = mode == 0 ? r.cpu : r.cpu - r.driver_cpu;

		printf("%-9s %4u %11.0f %8.2f %6.2f %6.2f %11.0f %7.1f %9.4f\n", mode_name[mode],
		       qds[i], iops, qds[i] * 1e6 / iops, r.cpu / r.seconds, dev_cpu / r.seconds,
		       (double)r.ios / dev_cpu, dev_cpu * 1e9 / (double)r.ios, r.doorbells_per_io);
		fflush(stdout);
	}
	if (pci) {
		pci_destroy(b);
	} else {
		nvme_ctrl_destroy(b->c);
		munmap(b->mem, MEM_SIZE);
	}
	free(b);
}

static void usage(void)
{
	fprintf(stderr, "usage: nvme-device-bench [-m inline|iothread|all] [-d pci|fake] "
			"[-q QD,QD,...] "
			"[-t SECONDS per QD] [-c CPU for the driver (-1: no pinning)]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned qds[16] = {1, 2, 4, 8, 16, 32, 64, 128};
	int nqd = 8, opt, first = 0, last = 1, ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
	int cpu = ncpu > 1 ? ncpu - 1 : 0, other;
	double seconds = 1.0;
	bool pci = true;

	while ((opt = getopt(argc, argv, "m:d:q:t:c:h")) != -1) {
		switch (opt) {
		case 'd':
			if (!strcmp(optarg, "fake"))
				pci = false;
			else if (strcmp(optarg, "pci"))
				usage();
			break;
		case 'm':
			if (!strcmp(optarg, "inline"))
				first = last = 0;
			else if (!strcmp(optarg, "iothread"))
				first = last = 1;
			else if (strcmp(optarg, "all"))
				usage();
			break;
		case 'q': {
			char *s = optarg, *end;

			for (nqd = 0; *s && nqd < 16; nqd++) {
				unsigned long v = strtoul(s, &end, 10);

				if (end == s || v < 1 || v >= IO_DEPTH)
					usage();
				qds[nqd] = (unsigned)v;
				s = *end == ',' ? end + 1 : end;
			}
			break;
		}
		case 't':
			seconds = strtod(optarg, NULL);
			if (seconds <= 0)
				usage();
			break;
		case 'c':
			cpu = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	other = cpu < 0 ? -1 : ncpu > 1 ? (cpu + 1) % ncpu : cpu;
	printf("# NVMe controller model, in-process polled driver, null namespace, 4 KiB random "
	       "reads, %.1f s per QD; %d CPUs online, driver on CPU %d%s\n",
	       seconds, ncpu, cpu, cpu < 0 ? " (not pinned)" : "");
	printf("# iothread: I/O thread on CPU %d, shadow doorbells + eventfd doorbells\n", other);
	printf("%-9s %4s %11s %8s %6s %6s %11s %7s %9s\n", "mode", "qd", "IOPS", "lat us", "cpu",
	       "devcpu", "IOPS/core", "ns/IO", "dbell/IO");
	for (int mode = first; mode <= last; mode++)
		run_mode(mode, pci, qds, nqd, seconds, cpu, other);
	return 0;
}
