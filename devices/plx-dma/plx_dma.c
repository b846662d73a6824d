/* SPDX-License-Identifier: MIT */
/*
 * PLX PEX DMA engine, one channel, off-chip descriptor ring. Each guest-visible behaviour
 * cites the function of Linux 6.1 drivers/dma/plx_dma.c that relies on it.
 *
 * Descriptors run on the device's own thread: a descriptor may move up to 128 MiB, and a
 * copy into an NTB window waits for the NTB lock, so doing it inside the vCPU's MMIO exit
 * (plx_dma_issue_pending's CTRL write) would stall that vCPU for the whole copy. The
 * inline mode runs them in that write instead, for deterministic unit tests.
 */
#include "devices/plx-dma/plx_dma.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vmm/util.h"

/* Data moves in chunks: bounded NTB lock hold times, and ABORT is honoured between them. */
#define PLX_CHUNK KiB(256)

#define COPY_ABORTED 1u

/* ---- interrupt ---- */

static uint16_t enabled_causes(const struct plx_dma *p)
{
	return (uint16_t)((p->intr_ctrl & (PLX_INTR_ERROR | PLX_INTR_INV_DESC |
					   PLX_INTR_ABORT_DONE | PLX_INTR_PAUSE_DONE)) |
			  PLX_INTR_DESC_DONE);
}

static bool msi_enabled(const struct pci_dev *d)
{
	return d->msi.cap &&
	       (__atomic_load_n(&d->cfg[d->msi.cap + PCI_MSI_FLAGS], __ATOMIC_RELAXED) &
		PCI_MSI_FLAGS_ENABLE);
}

/*
 * plx_dma_isr reads INTR_STATUS, returns IRQ_NONE when it is 0, and writes back what it
 * read. MSI: one message when an enabled cause appears with none pending, and again after
 * a status write that leaves causes pending (`resend`), so a cause that arrived between the
 * ISR's read and its write is not lost. INTx: held while any enabled cause is pending.
 * Called without p->lock; irq_lock keeps deliveries in the order they were decided.
 */
static void irq_update(struct plx_dma *p, bool resend)
{
	bool pending, edge;

	pthread_mutex_lock(&p->irq_lock);
	pthread_mutex_lock(&p->lock);
	pending = (p->intr_status & enabled_causes(p)) != 0;
	edge = pending && (!p->irq_level || resend);
	p->irq_level = pending;
	pthread_mutex_unlock(&p->lock);
	if (msi_enabled(&p->pci)) {
		if (p->pci.intx_level)
			pci_intx_set(&p->pci, false);
		if (edge)
			pci_notify(&p->pci, 0);
	} else if (p->pci.intx_level != pending) {
		pci_intx_set(&p->pci, pending);
	}
	pthread_mutex_unlock(&p->irq_lock);
}

/* ---- the engine ---- */

/* The descriptor at NEXT_ADDR, if the ring registers describe a ring that holds it. The
 * ring must sit in one 4 GiB segment: NEXT_ADDR carries only the low half. */
static bool ring_next(const struct plx_dma *p, uint64_t *daddr)
{
	uint64_t base = p->ring_addr, end, d;

	if (p->ring_count == 0 || p->ring_count > PLX_DMA_MAX_RING)
		return false;
	if (add_overflows_u64(base, (uint64_t)p->ring_count * PLX_DESC_SIZE, &end))
		return false;
	if ((base >> 32) != ((end - 1) >> 32))
		return false;
	d = (base & ~0xffffffffULL) | p->next_addr;
	if (d < base || d >= end || (d - base) % PLX_DESC_SIZE)
		return false;
	*daddr = d;
	return true;
}

/* Called with p->lock held: the engine goes idle. An ABORT that raced with the stop is
 * reported done, not left to kill the next START. */
static void engine_idle(struct plx_dma *p)
{
	p->running = false;
	if (p->abort) {
		p->abort = false;
		p->ctrl |= PLX_CTRL_ABORT_DONE;
		p->intr_status |= PLX_INTR_ABORT_DONE;
	}
}

/* Called with p->lock held: the engine goes idle on a ring it cannot use. */
static void ring_error(struct plx_dma *p, const char *why, uint64_t addr)
{
	engine_idle(p);
	p->intr_status |= PLX_INTR_ERROR;
	p->stats.ring_errors++;
	pr_ratelimited("%s: DMA engine stopped: %s (0x%llx)", p->pci.name, why,
		       (unsigned long long)addr);
}

/*
 * Move `len` bytes through the function's own view of the bus (pci_dma_*: guest RAM, RAM
 * BARs, NTB windows; never this function's own BARs). Returns 0, PLX_DESC_WB_RD_FAIL,
 * PLX_DESC_WB_WR_FAIL or COPY_ABORTED; *done counts the bytes moved.
 */
static uint32_t copy(struct plx_dma *p, uint64_t dst, uint64_t src, uint32_t len, uint32_t *done)
{
	*done = 0;
	while (*done < len) {
		uint32_t n = len - *done < PLX_CHUNK ? len - *done : (uint32_t)PLX_CHUNK;
		void *s, *d;

		if (__atomic_load_n(&p->abort, __ATOMIC_ACQUIRE))
			return COPY_ABORTED;
		s = pci_dma_map(&p->pci, src + *done, n);
		d = pci_dma_map(&p->pci, dst + *done, n);
		if (s && d) {
			memmove(d, s, n);
		} else {
			if (pci_dma_read(&p->pci, src + *done, p->bounce, n))
				return PLX_DESC_WB_RD_FAIL;
			if (pci_dma_write(&p->pci, dst + *done, p->bounce, n))
				return PLX_DESC_WB_WR_FAIL;
		}
		*done += n;
	}
	return 0;
}

/* One descriptor, called without p->lock. false when the engine is stopped. */
static bool engine_step(struct plx_dma *p)
{
	uint8_t desc[PLX_DESC_SIZE], wb[4];
	uint64_t daddr, dst, src;
	uint32_t flags, len, done, res;
	bool writeback;
	uint16_t causes = 0;

	pthread_mutex_lock(&p->lock);
	if (!p->running) {
		pthread_mutex_unlock(&p->lock);
		return false;
	}
	/* __plx_dma_stop / plx_dma_remove: ABORT stops at once, GRACEFUL_PAUSE after the
	 * descriptor in flight; both report DONE in CTRL and go idle. */
	if (p->abort) {
		engine_idle(p);
		pthread_mutex_unlock(&p->lock);
		irq_update(p, false);
		return false;
	}
	if (p->ctrl & PLX_CTRL_GRACEFUL_PAUSE) {
		engine_idle(p);
		p->ctrl |= PLX_CTRL_GRACEFUL_PAUSE_DONE;
		p->intr_status |= PLX_INTR_PAUSE_DONE;
		pthread_mutex_unlock(&p->lock);
		irq_update(p, false);
		return false;
	}
	if (!ring_next(p, &daddr)) {
		ring_error(p, "NEXT_ADDR outside the ring", p->next_addr);
		pthread_mutex_unlock(&p->lock);
		irq_update(p, false);
		return false;
	}
	p->start_pending = false;
	writeback = p->ctrl & PLX_CTRL_WRITE_BACK_EN;
	pthread_mutex_unlock(&p->lock);

	if (pci_dma_read(&p->pci, daddr, desc, sizeof(desc))) {
		pthread_mutex_lock(&p->lock);
		ring_error(p, "descriptor unreadable", daddr);
		pthread_mutex_unlock(&p->lock);
		irq_update(p, false);
		return false;
	}
	flags = (uint32_t)bus_load_le(desc, 4);
	/* plx_dma_tx_submit sets VALID last; the engine stops at the first descriptor without
	 * it (DESC_INVALID) and resumes there on the next START (plx_dma_issue_pending). A
	 * START written after our fetch began means the guest may have just set VALID: fetch
	 * again. */
	if (!(flags & PLX_DESC_FLAG_VALID)) {
		pthread_mutex_lock(&p->lock);
		if (p->start_pending) {
			pthread_mutex_unlock(&p->lock);
			return true;
		}
		engine_idle(p);
		p->ctrl |= PLX_CTRL_DESC_INVALID;
		p->intr_status |= PLX_INTR_INV_DESC;
		pthread_mutex_unlock(&p->lock);
		irq_update(p, false);
		return false;
	}
	/* plx_dma_prep_memcpy: 48-bit addresses split lo32/hi16, 27-bit length. */
	dst = (uint64_t)bus_load_le(desc + 4, 2) << 32 | bus_load_le(desc + 8, 4);
	src = (uint64_t)bus_load_le(desc + 6, 2) << 32 | bus_load_le(desc + 12, 4);
	len = flags & PLX_DESC_SIZE_MASK;
	res = copy(p, dst, src, len, &done);
	if (res == COPY_ABORTED)
		return true; /* the next step stops; this descriptor stays VALID */
	if (res)
		pr_ratelimited("%s: descriptor at 0x%llx: %s failed (src 0x%llx dst 0x%llx len %u)",
			       p->pci.name, (unsigned long long)daddr,
			       res == PLX_DESC_WB_RD_FAIL ? "read" : "write",
			       (unsigned long long)src, (unsigned long long)dst, len);

	/* plx_dma_process_desc: VALID clear means done; residue = orig_size - SIZE, so SIZE
	 * is the byte count moved; SUCCESS, else WR_FAIL, else a read failure. */
	bus_store_le(wb, done | (res ? res : PLX_DESC_WB_SUCCESS), 4);
	if (writeback && pci_dma_write(&p->pci, daddr, wb, sizeof(wb))) {
		pthread_mutex_lock(&p->lock);
		ring_error(p, "descriptor write-back failed", daddr);
		pthread_mutex_unlock(&p->lock);
		irq_update(p, false);
		return false;
	}
	if (flags & PLX_DESC_FLAG_INT_WHEN_DONE)
		causes |= PLX_INTR_DESC_DONE;
	if (res)
		causes |= PLX_INTR_ERROR;

	pthread_mutex_lock(&p->lock);
	p->last_addr = (uint32_t)daddr;
	p->last_size = done;
	/* the ring wraps: after the last descriptor comes the first */
	if (ring_next(p, &dst) && dst == daddr) {
		daddr += PLX_DESC_SIZE;
		if (daddr - p->ring_addr >= (uint64_t)p->ring_count * PLX_DESC_SIZE)
			daddr = p->ring_addr;
		p->next_addr = (uint32_t)daddr;
	}
	p->stats.descriptors++;
	p->stats.bytes += done;
	p->stats.failed += res != 0;
	p->intr_status |= causes;
	pthread_mutex_unlock(&p->lock);
	if (causes)
		irq_update(p, false);
	return true;
}

/* Run descriptors until the engine stops; the caller set p->busy. */
static void run_engine(struct plx_dma *p)
{
	for (;;) {
		while (engine_step(p))
			;
		pthread_mutex_lock(&p->lock);
		if (p->running && !p->quit) {
			pthread_mutex_unlock(&p->lock);
			continue;
		}
		p->busy = false;
		pthread_cond_broadcast(&p->cond);
		pthread_mutex_unlock(&p->lock);
		return;
	}
}

static void *worker(void *arg)
{
	struct plx_dma *p = arg;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->quit && !p->running)
			pthread_cond_wait(&p->cond, &p->lock);
		if (p->quit)
			break;
		p->busy = true;
		pthread_mutex_unlock(&p->lock);
		run_engine(p);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* ---- registers ---- */

static uint32_t merge(uint32_t old, uint32_t val, uint32_t mask)
{
	return (old & ~mask) | (val & mask);
}

enum { ACT_RUN = 1, ACT_IRQ = 2, ACT_IRQ_RESEND = 4 };

/* START (plx_dma_issue_pending): run from NEXT_ADDR; with the engine running, make it
 * fetch again. Refused, with ERROR, when the ring registers do not describe a usable ring
 * or the descriptor mode is not off-chip (the only one modelled). */
static int ctrl_start(struct plx_dma *p)
{
	uint64_t daddr;

	if ((p->ctrl & PLX_CTRL_DESC_MODE_MASK) != PLX_CTRL_DESC_MODE_OFF_CHIP) {
		ring_error(p, "START with a descriptor mode other than off-chip", p->ctrl);
		return ACT_IRQ;
	}
	if (!ring_next(p, &daddr)) {
		ring_error(p, "START without a valid ring (ADDR, COUNT, NEXT_ADDR)", p->ring_addr);
		return ACT_IRQ;
	}
	if (p->quit)
		return 0;
	p->start_pending = true;
	if (p->running)
		return 0;
	p->running = true;
	if (p->threaded) {
		pthread_cond_broadcast(&p->cond);
		return 0;
	}
	if (p->busy)
		return 0;
	p->busy = true;
	return ACT_RUN;
}

/* CTRL, the low 16 bits of the dword at 0x238 (bytes in `mask`). */
static int ctrl_write(struct plx_dma *p, uint32_t val, uint32_t mask)
{
	uint32_t set = val & mask;
	int act = 0;

	p->ctrl = (uint16_t)merge(p->ctrl, val, mask & PLX_CTRL_STORED);
	/* PLX_REG_CTRL_RESET_VAL (plx_dma_alloc_chan_resources, __plx_dma_stop) writes ones
	 * to the status bits: they are write-1-to-clear. */
	p->ctrl &= (uint16_t) ~(set & PLX_CTRL_STATUS_W1C);
	if (set & PLX_CTRL_ABORT) {
		if (p->running) {
			__atomic_store_n(&p->abort, true, __ATOMIC_RELEASE);
		} else {
			p->ctrl |= PLX_CTRL_ABORT_DONE;
			p->intr_status |= PLX_INTR_ABORT_DONE;
			act |= ACT_IRQ;
		}
	} else if ((set & PLX_CTRL_START) && !(p->ctrl & PLX_CTRL_GRACEFUL_PAUSE)) {
		act |= ctrl_start(p);
	}
	/* __plx_dma_stop polls for GRACEFUL_PAUSE_DONE: immediate when nothing runs. */
	if ((p->ctrl & PLX_CTRL_GRACEFUL_PAUSE) && !p->running) {
		p->ctrl |= PLX_CTRL_GRACEFUL_PAUSE_DONE;
		p->intr_status |= PLX_INTR_PAUSE_DONE;
		act |= ACT_IRQ;
	}
	return act;
}

static int reg_write(struct plx_dma *p, unsigned off, uint32_t val, uint32_t mask)
{
	int act = 0;

	switch (off) {
	case PLX_REG_DESC_RING_ADDR:
		p->ring_addr =
			(p->ring_addr & ~0xffffffffULL) | merge((uint32_t)p->ring_addr, val, mask);
		break;
	case PLX_REG_DESC_RING_ADDR_HI:
		p->ring_addr = (uint64_t)merge((uint32_t)(p->ring_addr >> 32), val, mask) << 32 |
			       (uint32_t)p->ring_addr;
		break;
	case PLX_REG_DESC_RING_NEXT_ADDR:
		p->next_addr = merge(p->next_addr, val, mask);
		break;
	case PLX_REG_DESC_RING_COUNT:
		p->ring_count = merge(p->ring_count, val, mask);
		break;
	case PLX_REG_PREF_LIMIT:
		p->pref_limit = merge(p->pref_limit, val, mask);
		break;
	case PLX_REG_CTRL:
		/* CTRL2: bits 31:16, IN_PROGRESS (30) read-only */
		p->ctrl2 = (uint16_t)merge(p->ctrl2, val >> 16, (mask >> 16) & ~0x4000u);
		if (mask & 0xffff)
			act |= ctrl_write(p, val & 0xffff, mask & 0xffff);
		break;
	case PLX_REG_INTR_CTRL:
		p->intr_ctrl = (uint16_t)merge(p->intr_ctrl, val, mask & 0xffff);
		/* INTR_STATUS: write 1 to clear (plx_dma_isr writes back what it read) */
		p->intr_status &= (uint16_t) ~((val & mask) >> 16);
		act |= ACT_IRQ | ((mask >> 16) ? ACT_IRQ_RESEND : 0);
		break;
	default:
		break; /* LAST_ADDR, LAST_SIZE and unknown offsets: read-only */
	}
	return act;
}

static uint32_t reg_read(struct plx_dma *p, unsigned off)
{
	switch (off) {
	case PLX_REG_DESC_RING_ADDR:
		return (uint32_t)p->ring_addr;
	case PLX_REG_DESC_RING_ADDR_HI:
		return (uint32_t)(p->ring_addr >> 32);
	case PLX_REG_DESC_RING_NEXT_ADDR:
		return p->next_addr;
	case PLX_REG_DESC_RING_COUNT:
		return p->ring_count;
	case PLX_REG_DESC_RING_LAST_ADDR:
		return p->last_addr;
	case PLX_REG_DESC_RING_LAST_SIZE:
		return p->last_size;
	case PLX_REG_PREF_LIMIT:
		return p->pref_limit;
	case PLX_REG_CTRL:
		return p->ctrl | (uint32_t)p->ctrl2 << 16 | (p->running ? PLX_CTRL_IN_PROGRESS : 0);
	case PLX_REG_INTR_CTRL:
		return p->intr_ctrl | (uint32_t)p->intr_status << 16;
	default:
		return 0;
	}
}

static uint64_t bar0_read(void *opaque, uint64_t off, unsigned size)
{
	struct plx_dma *p = opaque;
	uint8_t b[12];
	unsigned dw = (unsigned)off & ~3u;

	if (off >= PLX_DMA_BAR0_SIZE || size > 8 || size > PLX_DMA_BAR0_SIZE - off)
		return ~0ULL;
	pthread_mutex_lock(&p->lock);
	for (unsigned i = 0; i < 3 && dw + 4 * i < PLX_DMA_BAR0_SIZE; i++)
		bus_store_le(b + 4 * i, reg_read(p, dw + 4 * i), 4);
	pthread_mutex_unlock(&p->lock);
	return bus_load_le(b + (off & 3), size);
}

/* Any width: plx_dma uses writel and writew (CTRL); each dword gets a byte mask. */
static void bar0_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct plx_dma *p = opaque;
	int act = 0;

	if (off >= PLX_DMA_BAR0_SIZE || size > 8 || size > PLX_DMA_BAR0_SIZE - off)
		return;
	pthread_mutex_lock(&p->lock);
	for (unsigned i = 0; i < size;) {
		unsigned o = (unsigned)off + i, sh = o & 3,
			 n = 4 - sh < size - i ? 4 - sh : size - i;
		uint32_t mask = (n == 4 ? 0xffffffffu : ((1u << (8 * n)) - 1)) << (8 * sh);
		uint32_t v = (uint32_t)((val >> (8 * i)) << (8 * sh)) & mask;

		act |= reg_write(p, o & ~3u, v, mask);
		i += n;
	}
	pthread_mutex_unlock(&p->lock);
	if (act & (ACT_IRQ | ACT_IRQ_RESEND))
		irq_update(p, act & ACT_IRQ_RESEND);
	if (act & ACT_RUN)
		run_engine(p);
}

static const struct bus_ops plx_bar0_ops = {.read = bar0_read, .write = bar0_write};

/* ---- lifecycle ---- */

struct plx_dma *plx_dma_create(const char *name, bool threaded)
{
	struct plx_dma *p = calloc(1, sizeof(*p));
	int e;

	if (!p)
		return NULL;
	p->bounce = malloc(PLX_CHUNK);
	if (!p->bounce) {
		free(p);
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_mutex_init(&p->irq_lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	/* plx_dma_pci_tbl: 10b5:87d0, class PCI_CLASS_SYSTEM_OTHER << 8, matched exactly */
	pci_dev_init(&p->pci, name, PLX_DMA_VENDOR, PLX_DMA_DEVICE, PLX_DMA_CLASS, 0, false);
	p->pci.opaque = p;
	/* plx_dma_probe: pcim_iomap_regions(pdev, 1 << 0) maps BAR0 only; then
	 * pci_alloc_irq_vectors(1, 1, PCI_IRQ_ALL_TYPES): MSI here, INTx A without it. */
	e = pci_dev_set_bar(&p->pci, 0, PCI_BAR_MEM32, false, PLX_DMA_BAR0_SIZE, &plx_bar0_ops, p,
			    NULL);
	if (!e)
		e = pci_add_msi(&p->pci, false);
	if (e) {
		plx_dma_destroy(p);
		errno = -e;
		return NULL;
	}
	pci_set_intx_pin(&p->pci, 1);
	p->threaded = threaded;
	if (threaded) {
		sigset_t all, old;

		/* signals are the main thread's and the vCPUs' business (console signalfd,
		 * vCPU kicks): the worker starts with every signal blocked */
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		e = pthread_create(&p->thread, NULL, worker, p);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (e) {
			p->threaded = false;
			plx_dma_destroy(p);
			errno = e;
			return NULL;
		}
	}
	return p;
}

void plx_dma_quiesce(struct plx_dma *p)
{
	bool join;

	pthread_mutex_lock(&p->lock);
	p->quit = true;
	__atomic_store_n(&p->abort, true, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&p->cond);
	join = p->threaded;
	p->threaded = false;
	pthread_mutex_unlock(&p->lock);
	if (join)
		pthread_join(p->thread, NULL);
}

void plx_dma_destroy(struct plx_dma *p)
{
	if (!p)
		return;
	plx_dma_quiesce(p);
	pci_dev_destroy(&p->pci);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->irq_lock);
	pthread_mutex_destroy(&p->lock);
	free(p->bounce);
	free(p);
}

bool plx_dma_wait_idle(struct plx_dma *p, unsigned timeout_ms)
{
	struct timespec ts;
	bool idle;
	int e = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&p->lock);
	while ((p->running || p->busy) && e != ETIMEDOUT)
		e = pthread_cond_timedwait(&p->cond, &p->lock, &ts);
	idle = !p->running && !p->busy;
	pthread_mutex_unlock(&p->lock);
	return idle;
}

void plx_dma_get_stats(struct plx_dma *p, struct plx_dma_stats *st)
{
	pthread_mutex_lock(&p->lock);
	*st = p->stats;
	pthread_mutex_unlock(&p->lock);
}
