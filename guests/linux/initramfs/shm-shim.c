// SPDX-License-Identifier: MIT
/*
 * shm-shim: what fio needs from the kernel that the test kernel's tinyconfig base leaves out,
 * in user space, LD_PRELOADed into fio by /init when the kernel lacks it:
 *  - System V shared memory (CONFIG_SYSVIPC; /proc/sysvipc is then missing): fio keeps its
 *    thread area in a segment ("failed to setup shm segment"). Here: MAP_SHARED anonymous
 *    mappings, created before fio forks, so children share them.
 *  - timerfd (CONFIG_TIMERFD): fio's helper thread asserts timerfd >= 0. Here: a pipe whose
 *    read end is the "timerfd" and a thread that writes an 8-byte count at each expiry.
 * Only as much as fio uses. Built by build.sh; never in the repository as a binary.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>

#define MAX_SEGS 64

static struct {
	void *addr;
	size_t size;
} segs[MAX_SEGS];

int shmget(key_t key, size_t size, int flags)
{
	(void)key;
	(void)flags;
	for (int i = 0; i < MAX_SEGS; i++) {
		if (segs[i].addr)
			continue;
		void *p =
			mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return -1;
		segs[i].addr = p;
		segs[i].size = size;
		return i + 1;
	}
	errno = ENOSPC;
	return -1;
}

void *shmat(int id, const void *addr, int flags)
{
	(void)addr;
	(void)flags;
	if (id < 1 || id > MAX_SEGS || !segs[id - 1].addr) {
		errno = EINVAL;
		return (void *)-1;
	}
	return segs[id - 1].addr;
}

int shmdt(const void *addr)
{
	(void)addr;
	return 0; /* the mapping goes with IPC_RMID or the process */
}

int shmctl(int id, int cmd, struct shmid_ds *buf)
{
	if (id < 1 || id > MAX_SEGS || !segs[id - 1].addr) {
		errno = EINVAL;
		return -1;
	}
	if (cmd == IPC_STAT && buf) {
		buf->shm_segsz = segs[id - 1].size;
		buf->shm_nattch = 1;
	}
	/* IPC_RMID: fio removes a segment right after attaching it; keep the mapping */
	return 0;
}

/* --- timerfd ------------------------------------------------------------------------------ */

struct fake_timer {
	int rfd, wfd;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct timespec next;	  /* CLOCK_MONOTONIC; 0 = disarmed */
	struct timespec interval; /* 0 = one-shot */
};

#define MAX_TIMERS 16
static struct fake_timer *timers[MAX_TIMERS];

static int ts_zero(const struct timespec *t)
{
	return !t->tv_sec && !t->tv_nsec;
}

static void ts_add(struct timespec *a, const struct timespec *b)
{
	a->tv_sec += b->tv_sec;
	a->tv_nsec += b->tv_nsec;
	if (a->tv_nsec >= 1000000000) {
		a->tv_sec++;
		a->tv_nsec -= 1000000000;
	}
}

static void *timer_thread(void *arg)
{
	struct fake_timer *t = arg;
	uint64_t one = 1;
	sigset_t all;

	/* fio closes the "timerfd" when it is done: a write then raises SIGPIPE, which must
	 * stay pending on this thread (write fails with EPIPE) instead of killing fio */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&t->lock);
	for (;;) {
		if (ts_zero(&t->next)) {
			pthread_cond_wait(&t->cond, &t->lock);
			continue;
		}
		struct timespec when = t->next;
		if (pthread_cond_timedwait(&t->cond, &t->lock, &when) != ETIMEDOUT)
			continue; /* re-armed, or spurious: look again */
		if (t->next.tv_sec != when.tv_sec || t->next.tv_nsec != when.tv_nsec)
			continue;
		if (write(t->wfd, &one, sizeof(one)) < 0 && errno == EPIPE)
			break; /* closed; (EAGAIN: the reader is behind, a wakeup is pending) */
		if (ts_zero(&t->interval))
			t->next = (struct timespec){0, 0};
		else
			ts_add(&t->next, &t->interval);
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

int timerfd_create(int clockid, int flags)
{
	struct fake_timer *t;
	pthread_condattr_t ca;
	pthread_t th;
	int p[2];

	(void)clockid; /* always CLOCK_MONOTONIC: fio asks for it */
	if (pipe2(p, O_CLOEXEC | ((flags & TFD_NONBLOCK) ? O_NONBLOCK : 0)))
		return -1;
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	if (p[0] >= 0 && p[0] < 1024) {
		for (int i = 0; i < MAX_TIMERS; i++) {
			if (timers[i])
				continue;
			t = calloc(1, sizeof(*t));
			if (!t)
				break;
			t->rfd = p[0];
			t->wfd = p[1];
			pthread_mutex_init(&t->lock, NULL);
			pthread_condattr_init(&ca);
			pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
			pthread_cond_init(&t->cond, &ca);
			if (pthread_create(&th, NULL, timer_thread, t)) {
				free(t);
				break;
			}
			pthread_detach(th);
			timers[i] = t;
			return p[0];
		}
	}
	close(p[0]);
	close(p[1]);
	errno = EMFILE;
	return -1;
}

int timerfd_settime(int fd, int flags, const struct itimerspec *new, struct itimerspec *old)
{
	for (int i = 0; i < MAX_TIMERS; i++) {
		struct fake_timer *t = timers[i];
		if (!t || t->rfd != fd)
			continue;
		pthread_mutex_lock(&t->lock);
		if (old)
			*old = (struct itimerspec){t->interval, {0, 0}};
		t->interval = new->it_interval;
		if (ts_zero(&new->it_value)) {
			t->next = (struct timespec){0, 0};
		} else if (flags & TFD_TIMER_ABSTIME) {
			t->next = new->it_value;
		} else {
			clock_gettime(CLOCK_MONOTONIC, &t->next);
			ts_add(&t->next, &new->it_value);
		}
		pthread_cond_signal(&t->cond);
		pthread_mutex_unlock(&t->lock);
		return 0;
	}
	errno = EINVAL;
	return -1;
}
