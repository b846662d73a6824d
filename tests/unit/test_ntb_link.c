/* SPDX-License-Identifier: MIT */
/* The shared switch state (robust lock, versioning) and the Unix-socket rendezvous between
 * two processes. */
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "devices/ntb/shm.h"
#include "tests/unit/test_ntb.h"
#include "tests/unit/test_zygote.h"

static const uint64_t sizes[2] = {T_MW2, T_MW4};

/*
 * The lock lives in memory the peer can write. A lock left unrecoverable (here: taken over
 * from a dead owner and released without pthread_mutex_consistent, which vmm never does)
 * used to die() the survivor. It must survive: the region is marked broken, lock/unlock
 * go on without the lock, and a repair with the peer gone gives it a working lock again.
 */
Test(ntb_shm, a_lock_the_peer_broke_is_survived_and_repaired)
{
	int fd = ntb_shm_create(0x3, sizes, NULL);
	struct ntb_shm *shm;
	pid_t pid;
	int status;

	cr_assert_geq(fd, 0);
	cr_assert_eq(ntb_shm_map(fd, &shm), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		pthread_mutex_lock(&shm->lock);
		_exit(0); /* dies holding it */
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert_eq(pthread_mutex_lock(&shm->lock), EOWNERDEAD);
	pthread_mutex_unlock(&shm->lock); /* without consistent: ENOTRECOVERABLE from now on */
	cr_assert_eq(pthread_mutex_lock(&shm->lock), ENOTRECOVERABLE);
	cr_assert_not(ntb_shm_broken(shm));

	ntb_shm_lock(shm); /* old code: die("ntb: switch state lock: ...") */
	shm->port[0].indbellsts = 0x42;
	ntb_shm_unlock(shm);
	cr_assert(ntb_shm_broken(shm), "marked for the link thread");
	ntb_shm_lock(shm);
	ntb_shm_unlock(shm);

	cr_assert_eq(ntb_shm_repair(shm), 0);
	cr_assert_not(ntb_shm_broken(shm));
	ntb_shm_lock(shm);
	cr_assert_eq(pthread_mutex_trylock(&shm->lock), EBUSY, "a real lock again");
	ntb_shm_unlock(shm);
	cr_assert_eq(pthread_mutex_trylock(&shm->lock), 0);
	pthread_mutex_unlock(&shm->lock);
	ntb_shm_unmap(shm);
	close(fd);
}

Test(ntb_shm, a_lock_held_by_a_dead_process_is_recovered)
{
	int fd = ntb_shm_create(0x3, sizes, NULL);
	struct ntb_shm *shm;
	pid_t pid;
	int status;

	cr_assert_geq(fd, 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct ntb_shm *c;

		if (ntb_shm_map(fd, &c))
			_exit(2);
		ntb_shm_lock(c);
		c->port[0].indbellsts = 0x99;
		_exit(0); /* dies holding the lock */
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	cr_assert_eq(ntb_shm_map(fd, &shm), 0);
	ntb_shm_lock(shm);
	cr_assert_eq(shm->lock_recoveries, 1u);
	cr_assert_eq(shm->port[0].indbellsts, 0x99u);
	ntb_shm_unlock(shm);
	ntb_shm_lock(shm); /* usable again */
	ntb_shm_unlock(shm);
	ntb_shm_unmap(shm);
	close(fd);
}

Test(ntb_shm, a_version_mismatch_is_refused)
{
	int fd = ntb_shm_create(0x3, sizes, NULL);
	struct ntb_shm *shm;
	struct side a;

	cr_assert_eq(ntb_shm_map(fd, &shm), 0);
	shm->version++;
	cr_assert_eq(ntb_shm_map(fd, &shm), -EPROTO);
	side_init(&a, 0);
	cr_assert_eq(ntb_join(a.ntb, fd), -EPROTO);
	/* still on its own switch, still working */
	cr_assert_eq(sw_rd(&a, IDT_SW_SWPORT0STS) & IDT_SWPORTxSTS_LINKUP, IDT_SWPORTxSTS_LINKUP);
	side_fini(&a);
	close(fd);
}

Test(ntb_shm, other_window_sizes_are_refused)
{
	const uint64_t other[2] = {T_MW2, T_MW4 * 2};
	int fd = ntb_shm_create(0x3, other, NULL);
	struct side a;

	side_init(&a, 2);
	cr_assert_eq(ntb_join(a.ntb, fd), -EINVAL);
	side_fini(&a);
	close(fd);
}

Test(ntb_link, handshake_refuses_a_bad_hello)
{
	int sv[2], fds[2];
	char junk[200] = "not a hello";
	char cbuf[CMSG_SPACE(sizeof(fds))] = {0};
	struct iovec iov = {.iov_base = junk, .iov_len = sizeof(junk)};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	struct side a;

	side_init(&a, 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fds[0] = a.memfd;
	fds[1] = a.memfd;
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	cr_assert_eq(sendmsg(sv[1], &msg, 0), (ssize_t)sizeof(junk));
	cr_assert_eq(ntb_link_handshake(a.ntb, sv[0], true, &a.nram), -EPROTO);
	close(sv[0]);
	close(sv[1]);
	side_fini(&a);
}

struct rd {
	struct side *s;
	unsigned off;
	uint32_t mask, want;
};

static bool reg_cond(void *arg)
{
	struct rd *r = arg;

	return (nt_rd(r->s, r->off) & r->mask) == r->want;
}

static bool sw_cond(void *arg)
{
	struct rd *r = arg;

	return (sw_rd(r->s, r->off) & r->mask) == r->want;
}

/*
 * The peer process: joins at `path`, translates BAR2 onto the parent's RAM at 0x2000,
 * writes a message there through the mapped window, rings doorbell 2, then waits to be
 * killed. Exit codes name the step that failed.
 */
static void peer_main(const char *path, const char *text, uint32_t unused)
{
	struct side b;
	struct ntb_link *l;
	struct t_map *m;
	char err[200];
	unsigned r = IDT_NT_BARSETUP0 + 0x20;

	side_init(&b, 2);
	l = ntb_link_start(b.ntb, path, &b.nram, err, sizeof(err));
	if (!l)
		_exit(10);
	if (!wait_for(link_connected_cond, l, 10000))
		_exit(11);
	nt_wr(&b, r, nt_rd(&b, r) | 0u << IDT_BARSETUP_TPART_SHIFT);
	nt_wr(&b, r + IDT_BAR_LTBASE, 0x2000);
	nt_wr(&b, r + IDT_BAR_UTBASE, 0);
	nt_wr(&b, r + IDT_BAR_LIMIT, (uint32_t)(T_BAR2 + 0x1000));
	nt_wr(&b, r + 0x10 + IDT_BAR_LIMIT, (uint32_t)(T_BAR2 >> 32));
	m = t_find_map(&b, T_BAR2);
	if (!m)
		_exit(12);
	memcpy(m->hva, text, strlen(text) + 1);
	nt_wr(&b, IDT_NT_NTCTL, IDT_NTCTL_CPEN);
	nt_wr(&b, IDT_NT_OUTDBELLSET, 0x4);
	for (;;)
		pause();
}

Test(ntb_link, rendezvous_passes_fds_and_survives_the_peer_being_killed, .timeout = 60)
{
	char path[80], err[200];
	struct side a;
	struct ntb_link *l;
	pid_t pid;
	int status;
	struct rd db = {&a, IDT_NT_INDBELLSTS, 0x4, 0x4};
	struct rd up = {&a, IDT_SW_SWPORT0STS + 0x40, IDT_SWPORTxSTS_LINKUP, IDT_SWPORTxSTS_LINKUP};

	struct zygote z;

	snprintf(path, sizeof(path), "/tmp/vmm-ntb-test-%d.sock", (int)getpid());
	zygote_start(&z, peer_main); /* before ntb_link_start's thread */
	side_init(&a, 0);
	/* The peer comes first this time (it listens), we connect. */
	pid = zygote_spawn(&z, path, "first peer", 0);
	l = ntb_link_start(a.ntb, path, &a.nram, err, sizeof(err));
	cr_assert(l, "%s", err);
	cr_assert(wait_for(link_connected_cond, l, 10000), "connected");
	cr_assert(wait_for(reg_cond, &db, 10000), "doorbell from the peer");
	cr_assert_str_eq((char *)a.ram + 0x2000, "first peer");
	cr_assert(wait_for(sw_cond, &up, 1000));
	cr_assert_eq(sw_rd(&a, 0x5400) & IDT_NTCTL_CPEN, IDT_NTCTL_CPEN, "peer NTCTL via GASA");

	/* kill -9: we see link down and keep going */
	kill(pid, SIGKILL);
	status = zygote_wait(&z, pid);
	cr_assert(WIFSIGNALED(status), "peer exit status %d", WEXITSTATUS(status));
	cr_assert(wait_for(link_lost_cond, l, 10000), "peer loss noticed");
	up.want = 0;
	cr_assert(wait_for(sw_cond, &up, 1000), "peer port link down");
	cr_assert_eq(sw_rd(&a, 0x5490), 0x8000000cu | 20u << 4, "static state kept");
	nt_wr(&a, IDT_NT_INDBELLSTS, ~0u);

	/* A new peer: now we are the one listening. */
	pid = zygote_spawn(&z, path, "second peer", 0);
	cr_assert(wait_for(link_connected_cond, l, 10000), "reconnected");
	cr_assert(wait_for(reg_cond, &db, 10000), "doorbell from the new peer");
	cr_assert_str_eq((char *)a.ram + 0x2000, "second peer");
	up.want = IDT_SWPORTxSTS_LINKUP;
	cr_assert(wait_for(sw_cond, &up, 1000));

	ntb_link_stop(l);
	kill(pid, SIGKILL);
	zygote_wait(&z, pid);
	zygote_stop(&z);
	side_fini(&a);
	unlink(path);
	strcat(path, ".lock");
	unlink(path);
}
