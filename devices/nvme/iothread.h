/* SPDX-License-Identifier: MIT */
/*
 * The controller's io_uring and its I/O thread (DESIGN.md rules 4 and 5). Internal to
 * devices/nvme.
 *
 * One ring per controller carries everything asynchronous: backend reads and writes, the
 * eventfds behind ioeventfd doorbells, the interrupt-coalescing timer and the thread's own
 * wake-up eventfd. Every SQE's user_data is a struct nvme_ring_op whose done() runs with the
 * controller lock held.
 *
 * Ring discipline: SQEs are only prepared and submitted with the controller lock held (any
 * thread); CQEs are only consumed with the lock held. The I/O thread sleeps in
 * io_uring_wait_cqe() without the lock: that only waits, it consumes nothing.
 */
#ifndef NVME_IOTHREAD_H
#define NVME_IOTHREAD_H

#include <liburing.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct nvme_ctrl;

struct nvme_ring_op {
	/* res: the CQE's result (bytes, 0, or -errno). Controller lock held. */
	void (*done)(struct nvme_ring_op *op, int res);
	/* Counted ops finish on their own (I/O, timers) and are waited for by nvme_ring_drain;
	 * uncounted ones (eventfd reads) stay armed indefinitely. */
	bool counted;
};

/* An eventfd a doorbell's ioeventfd signals. Lives until its read completes after retirement. */
struct nvme_dbfd {
	struct nvme_ring_op op;
	struct nvme_dbfd *next; /* all of them, for teardown */
	struct nvme_ring *ring;
	int efd;
	uint64_t off; /* BAR0 offset of the doorbell */
	uint64_t buf;
	bool live; /* registered; false: retiring, freed when its read completes */
};

struct nvme_ring {
	struct io_uring uring;
	struct nvme_ctrl *c;
	unsigned counted; /* counted ops in flight */
	unsigned unsubmitted;

	bool threaded;
	pthread_t thread;
	bool stop;
	int kick_fd; /* wakes the thread */
	struct nvme_ring_op kick_op;
	uint64_t kick_buf;
	bool kick_armed;

	uint64_t poll_idle_ns;	   /* 0: never poll */
	uint64_t poll_inflight_ns; /* while counted ops are in flight; <= poll_idle_ns: off */

	/* The coalescing timer (IORING_OP_TIMEOUT, absolute CLOCK_MONOTONIC). */
	struct nvme_ring_op timer_op;
	struct __kernel_timespec timer_ts;
	bool timer_armed;

	struct nvme_dbfd **dbfd; /* [2 * qid + (cq)], NULL: trapped */
	struct nvme_dbfd *all_dbfd;

	/* Statistics (read racily by tests and the benchmark). */
	uint64_t wakeups, doorbell_events, poll_rounds;
	uint64_t inflight_sleeps; /* slept with backend I/O in flight (poll_inflight ran out) */
	uint64_t fsyncs, dsync_writes, bounced; /* file backend */
};

/* Set up c->ring (and the thread unless !threaded). 0 or -errno with a message. */
int nvme_ring_init(struct nvme_ctrl *c, bool threaded, uint32_t poll_idle_us,
		   uint32_t poll_inflight_us, char *err, size_t errlen);
/* Stop the thread (deregistering the doorbell eventfds); the ring keeps working
 * synchronously for teardown. */
void nvme_ring_stop(struct nvme_ctrl *c);
/* Stop and tear the ring down. Nothing counted may be in flight. */
void nvme_ring_fini(struct nvme_ctrl *c);

/* Lock held. An SQE whose completion calls op->done; never NULL (flushes a full ring). */
struct io_uring_sqe *nvme_ring_sqe(struct nvme_ring *r, struct nvme_ring_op *op);
/* Lock held. Hand prepared SQEs to the kernel; without a thread, also wait for every counted
 * op (the synchronous mode). */
void nvme_ring_kick_io(struct nvme_ring *r);
/* Lock held. Run completions until no counted op is in flight. */
void nvme_ring_drain(struct nvme_ring *r);
/* Lock held. Wake the I/O thread (new polling work, stop). */
void nvme_ring_wake(struct nvme_ring *r);

/* Lock held. Arm the coalescing timer for `deadline_ns` (CLOCK_MONOTONIC) unless one is
 * armed already. False when there is no thread to fire it. */
bool nvme_ring_timer(struct nvme_ring *r, uint64_t deadline_ns);

/* Lock held. Doorbell at BAR0 `off` through an ioeventfd: 0, or -errno (stay trapped). */
int nvme_ring_doorbell_add(struct nvme_ring *r, unsigned slot, uint64_t off);
void nvme_ring_doorbell_del(struct nvme_ring *r, unsigned slot);

#endif
