/* SPDX-License-Identifier: MIT */
/*
 * The controller's io_uring and its I/O thread (see iothread.h).
 *
 * The thread alternates between two modes:
 *   polling: while there was work less than poll_idle_us ago, it re-reads the shadow
 *            doorbells and peeks the completion ring in a loop, with EventIdx telling the
 *            host not to ring (a busy guest causes no exits at all);
 *   sleeping: it sets EventIdx so the host's next SQ tail update rings (an ioeventfd: no
 *            exit to userspace, ~4.4 us on this host), re-checks the shadow doorbells to close
 *            the race, and blocks in io_uring_wait_cqe until a doorbell eventfd, a backend
 *            completion, the coalescing timer or its own wake-up eventfd completes.
 *
 * Default window, NVME_DEFAULT_POLL_IDLE_US = 50, from measurements on this host (nested
 * KVM, 2 vCPUs; in-process driver on one core, I/O thread on the other, null backend):
 *   - sleeping after every command (NVME_POLL_OFF), QD1: 4.6 us per command round trip,
 *     i.e. the eventfd -> io_uring -> thread wake-up path costs a few microseconds;
 *     a guest pays ~4.4 us more per ioeventfd doorbell (HOST.md), 0.99 doorbells per I/O;
 *   - polling, QD128: 1.95 M IOPS at 0.0036 doorbells per I/O (QD32: 0.0312); QD1 gains
 *     nothing here because a cache line takes 1.6-14 us between this host's vCPUs.
 * So the window only has to bridge the gaps between a busy guest's batches: 50 us is ~10x
 * the wake-up cost (the ski-rental argument: never spend much more on waiting than on the
 * sleep/wake it may save) and costs at most 50 us of CPU per burst. nvme-mdev's 0.5 s keeps
 * a core spinning for half a second after every burst: on a 2-core host that is the
 * vCPU's core.
 *
 * Polling while backend I/O is in flight (poll_inflight_us, off by default). A 4 KiB O_DIRECT
 * read on this host's virtio disk takes 50-200 us, longer than the window, so at QD1 the
 * thread sleeps before each completion and is woken for it. Measured in-process (the
 * qd1 test of test_nvme_file.c with clock_gettime stamps, host loaded by other sessions,
 * load average ~7 on 2 cores), per I/O: submit -> io_uring prep 83-98 us, prep -> CQE reaped
 * 122-194 us, reaped -> seen by the host ~80-150 us, i.e. 360-370 us mean, p50 100-120 us.
 * Polling through the read (1 ms) made it worse: 470-600 us mean, submit -> prep 248-268 us,
 * every I/O a doorbell: the spinning thread takes CPU time from the driver thread (the vCPU),
 * which then resubmits after the idle window closed. So it stays opt-in, for hosts with a
 * core per I/O thread.
 *
 * EventIdx goes to "polling" at the top of a round, before completions are posted: a host
 * that resubmits the moment it sees one then does not ring a thread that is awake anyway.
 */
#include "devices/nvme/iothread.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/nvme/internal.h"
#include "vmm/util.h"

#define RING_ENTRIES 256

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Consume every available CQE; returns how many. Lock held. */
static unsigned ring_dispatch(struct nvme_ring *r)
{
	struct io_uring_cqe *cqe;
	unsigned n = 0;

	while (io_uring_peek_cqe(&r->uring, &cqe) == 0) {
		struct nvme_ring_op *op = io_uring_cqe_get_data(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&r->uring, cqe);
		n++;
		if (!op)
			continue;
		if (op->counted)
			r->counted--;
		op->done(op, res); /* may free op */
	}
	return n;
}

static void ring_submit(struct nvme_ring *r)
{
	int ret;

	if (!r->unsubmitted)
		return;
	do
		ret = io_uring_submit(&r->uring);
	while (ret == -EINTR);
	if (ret < 0)
		pr_ratelimited("%s: io_uring_submit: %s", r->c->name, strerror(-ret));
	r->unsubmitted = 0;
}

struct io_uring_sqe *nvme_ring_sqe(struct nvme_ring *r, struct nvme_ring_op *op)
{
	struct io_uring_sqe *sqe;

	while (!(sqe = io_uring_get_sqe(&r->uring))) {
		/* SQ full: hand it to the kernel; if the CQ is backed up, make room first. */
		int ret = io_uring_submit(&r->uring);

		r->unsubmitted = 0;
		if (ret < 0 && ret != -EINTR)
			ring_dispatch(r);
	}
	/* The prep helpers leave user_data alone: set it now, prep afterwards. */
	io_uring_sqe_set_data(sqe, op);
	if (op->counted)
		r->counted++;
	r->unsubmitted++;
	return sqe;
}

void nvme_ring_drain(struct nvme_ring *r)
{
	ring_dispatch(r);
	while (r->counted) {
		int ret = io_uring_submit_and_wait(&r->uring, 1);

		r->unsubmitted = 0;
		if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY)
			pr_ratelimited("%s: io_uring wait: %s", r->c->name, strerror(-ret));
		ring_dispatch(r);
	}
}

void nvme_ring_kick_io(struct nvme_ring *r)
{
	ring_submit(r);
	if (!r->threaded)
		nvme_ring_drain(r);
}

void nvme_ring_wake(struct nvme_ring *r)
{
	if (r->threaded)
		eventfd_write(r->kick_fd, 1);
}

static void arm_read(struct nvme_ring *r, struct nvme_ring_op *op, int fd, uint64_t *buf)
{
	struct io_uring_sqe *sqe = nvme_ring_sqe(r, op);

	io_uring_prep_read(sqe, fd, buf, sizeof(*buf), 0);
}

static void kick_done(struct nvme_ring_op *op, int res)
{
	struct nvme_ring *r =
		(struct nvme_ring *)((char *)op - offsetof(struct nvme_ring, kick_op));

	r->kick_armed = false;
	if (!r->stop && res != -ECANCELED) {
		arm_read(r, &r->kick_op, r->kick_fd, &r->kick_buf);
		r->kick_armed = true;
	}
}

static void timer_done(struct nvme_ring_op *op, int res)
{
	struct nvme_ring *r =
		(struct nvme_ring *)((char *)op - offsetof(struct nvme_ring, timer_op));

	r->timer_armed = false;
	nvme_irq_flush(r->c); /* vectors whose aggregation time ran out */
}

bool nvme_ring_timer(struct nvme_ring *r, uint64_t deadline_ns)
{
	struct io_uring_sqe *sqe;

	if (!r->threaded)
		return false;
	if (r->timer_armed)
		return true;
	r->timer_ts.tv_sec = (long long)(deadline_ns / 1000000000ULL);
	r->timer_ts.tv_nsec = (long long)(deadline_ns % 1000000000ULL);
	sqe = nvme_ring_sqe(r, &r->timer_op);
	io_uring_prep_timeout(sqe, &r->timer_ts, 0, IORING_TIMEOUT_ABS);
	r->timer_armed = true;
	ring_submit(r); /* the kernel reads timer_ts at submission */
	return true;
}

/* ---- doorbell eventfds ---- */

static void dbfd_free(struct nvme_ring *r, struct nvme_dbfd *d)
{
	struct nvme_dbfd **pp;

	for (pp = &r->all_dbfd; *pp; pp = &(*pp)->next)
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	close(d->efd);
	free(d);
}

static void dbfd_done(struct nvme_ring_op *op, int res)
{
	struct nvme_dbfd *d = (struct nvme_dbfd *)op;
	struct nvme_ring *r = d->ring;

	if (!d->live || res == -ECANCELED) {
		if (!d->live)
			dbfd_free(r, d);
		return;
	}
	r->doorbell_events++;
	arm_read(r, &d->op, d->efd, &d->buf);
}

int nvme_ring_doorbell_add(struct nvme_ring *r, unsigned slot, uint64_t off)
{
	struct nvme_ctrl *c = r->c;
	struct nvme_dbfd *d;
	int ret;

	if (!r->threaded || !c->host.ioeventfd)
		return -ENOTSUP;
	if (r->dbfd[slot])
		return 0;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->ring = r;
	d->op.done = dbfd_done;
	d->off = off;
	d->efd = eventfd(0, EFD_CLOEXEC);
	if (d->efd < 0) {
		free(d);
		return -errno;
	}
	ret = c->host.ioeventfd(c->host.opaque, off, d->efd, true);
	if (ret) {
		close(d->efd);
		free(d);
		return ret;
	}
	d->live = true;
	d->next = r->all_dbfd;
	r->all_dbfd = d;
	r->dbfd[slot] = d;
	arm_read(r, &d->op, d->efd, &d->buf);
	ring_submit(r);
	return 0;
}

void nvme_ring_doorbell_del(struct nvme_ring *r, unsigned slot)
{
	struct nvme_ctrl *c = r->c;
	struct nvme_dbfd *d = r->dbfd[slot];

	if (!d)
		return;
	c->host.ioeventfd(c->host.opaque, d->off, d->efd, false);
	r->dbfd[slot] = NULL;
	/* Its read is still armed: complete it; dbfd_done frees the eventfd then. */
	d->live = false;
	eventfd_write(d->efd, 1);
}

/* ---- the thread ---- */

static void unlock_relax_lock(struct nvme_ctrl *c, unsigned spins)
{
	pthread_mutex_unlock(&c->lock);
	for (unsigned i = 0; i < spins; i++)
		cpu_relax();
	pthread_mutex_lock(&c->lock);
}

static void *iothread_main(void *arg)
{
	struct nvme_ring *r = arg;
	struct nvme_ctrl *c = r->c;
	uint64_t last_work = time_ns();

	pthread_mutex_lock(&c->lock);
	while (!r->stop) {
		bool dbbuf = c->dbbuf.enabled && nvme_ctrl_ready(c);
		bool work;
		struct io_uring_cqe *cqe;
		uint64_t now, window;

		/* Polling from here on: say so before posting completions, or a host that
		 * resubmits the moment it sees one rings for nothing (an exit per I/O at QD1). */
		if (dbbuf && !c->dbbuf.polling && r->poll_idle_ns)
			nvme_dbbuf_eventidx(c, true);
		work = ring_dispatch(r) > 0;
		if (dbbuf)
			work |= nvme_dbbuf_poll(c);
		nvme_irq_flush(c);
		ring_submit(r);
		r->poll_rounds++;
		now = time_ns();
		if (work)
			last_work = now;
		/* A completion we will have to post is on its way: with poll_inflight_us, do not
		 * sleep only to be woken for it (see the top for why that is off by default). */
		window = r->counted && r->poll_inflight_ns > r->poll_idle_ns ? r->poll_inflight_ns
									     : r->poll_idle_ns;
		if (work || (window && now - last_work < window)) {
			unlock_relax_lock(c, work ? 1 : 16);
			continue;
		}
		r->inflight_sleeps += r->counted > 0;
		/* Idle: let the host ring again, then make sure nothing slipped in meanwhile. */
		if (dbbuf && nvme_dbbuf_eventidx(c, false))
			continue;
		pthread_mutex_unlock(&c->lock);
		io_uring_wait_cqe(&r->uring, &cqe); /* waits only; CQEs are consumed locked */
		pthread_mutex_lock(&c->lock);
		r->wakeups++;
		last_work = time_ns();
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

int nvme_ring_init(struct nvme_ctrl *c, bool threaded, uint32_t poll_idle_us,
		   uint32_t poll_inflight_us, char *err, size_t errlen)
{
	struct nvme_ring *r = calloc(1, sizeof(*r));
	int ret;

	if (!r) {
		snprintf(err, errlen, "%s: out of memory", c->name);
		return -ENOMEM;
	}
	r->c = c;
	r->kick_fd = -1;
	ret = io_uring_queue_init(RING_ENTRIES, &r->uring, 0);
	if (ret < 0) {
		snprintf(err, errlen, "%s: io_uring_queue_init: %s", c->name, strerror(-ret));
		free(r);
		return ret;
	}
	c->ring = r;
	r->kick_op.done = kick_done;
	r->timer_op.done = timer_done;
	if (poll_idle_us != NVME_POLL_OFF)
		r->poll_idle_ns =
			(uint64_t)(poll_idle_us ? poll_idle_us : NVME_DEFAULT_POLL_IDLE_US) * 1000;
	if (r->poll_idle_ns && poll_inflight_us != NVME_POLL_OFF)
		r->poll_inflight_ns = (uint64_t)poll_inflight_us * 1000;
	r->dbfd = calloc(2 * ((size_t)c->max_queues + 1), sizeof(*r->dbfd));
	r->kick_fd = eventfd(0, EFD_CLOEXEC);
	if (!r->dbfd || r->kick_fd < 0) {
		snprintf(err, errlen, "%s: I/O thread setup: %s", c->name, strerror(errno));
		return -ENOMEM;
	}
	if (!threaded)
		return 0;
	arm_read(r, &r->kick_op, r->kick_fd, &r->kick_buf);
	r->kick_armed = true;
	ring_submit(r);
	r->threaded = true;
	ret = pthread_create(&r->thread, NULL, iothread_main, r);
	if (ret) {
		r->threaded = false;
		snprintf(err, errlen, "%s: cannot start the I/O thread: %s", c->name,
			 strerror(ret));
		return -ret;
	} else {
		char name[16];

		snprintf(name, sizeof(name), "%.12s-io", c->name);
		pthread_setname_np(r->thread, name);
		if (c->pin_iothread) {
			cpu_set_t set;

			CPU_ZERO(&set);
			CPU_SET(c->iothread_cpu, &set);
			if (pthread_setaffinity_np(r->thread, sizeof(set), &set))
				pr_warn("%s: cannot pin the I/O thread to CPU %d", c->name,
					c->iothread_cpu);
		}
	}
	return 0;
}

/* Stop the thread; the ring stays usable synchronously (teardown drains through it). */
void nvme_ring_stop(struct nvme_ctrl *c)
{
	struct nvme_ring *r = c->ring;

	if (!r || !r->threaded)
		return;
	pthread_mutex_lock(&c->lock);
	for (unsigned s = 0; s < 2 * (c->max_queues + 1); s++)
		nvme_ring_doorbell_del(r, s);
	r->stop = true;
	eventfd_write(r->kick_fd, 1);
	pthread_mutex_unlock(&c->lock);
	pthread_join(r->thread, NULL);
	r->threaded = false;
}

void nvme_ring_fini(struct nvme_ctrl *c)
{
	struct nvme_ring *r = c->ring;

	if (!r)
		return;
	nvme_ring_stop(c);
	io_uring_queue_exit(&r->uring); /* cancels the eventfd reads and the timer */
	while (r->all_dbfd)
		dbfd_free(r, r->all_dbfd);
	if (r->kick_fd >= 0)
		close(r->kick_fd);
	free(r->dbfd);
	free(r);
	c->ring = NULL;
}
