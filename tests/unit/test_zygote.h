/*
 * Peers for tests that fork one while a link thread runs: the child of a multi-threaded
 * process may inherit a lock another thread held (ASan's allocator: the child then hangs on
 * its first malloc, seen about 3 in 35 ASan runs). A zygote forked while the test is still
 * single-threaded forks the peers instead. The test kills a peer by pid and asks the zygote
 * for its wait status.
 */
#ifndef VMM_TEST_ZYGOTE_H
#define VMM_TEST_ZYGOTE_H

#include <criterion/criterion.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

typedef void (*zygote_fn)(const char *arg, const char *arg2, uint32_t word); /* never returns */

struct zygote {
	pid_t pid;
	int req, rep; /* to the zygote, from it */
};

struct zygote_msg {
	char op; /* 'S' spawn, 'W' wait */
	pid_t pid;
	uint32_t word;
	char arg[100], arg2[60];
};

static void zygote_loop(int req, int rep, zygote_fn fn)
{
	struct zygote_msg m;

	while (read(req, &m, sizeof(m)) == (ssize_t)sizeof(m)) {
		int st = -1;

		if (m.op == 'S') {
			pid_t p = fork();

			if (p == 0) {
				close(req);
				close(rep);
				m.arg[sizeof(m.arg) - 1] = m.arg2[sizeof(m.arg2) - 1] = 0;
				fn(m.arg, m.arg2, m.word);
				_exit(99);
			}
			st = (int)p;
		} else if (m.op == 'W' && waitpid(m.pid, &st, 0) != m.pid) {
			st = -1;
		}
		if (write(rep, &st, sizeof(st)) != (ssize_t)sizeof(st))
			break;
	}
	_exit(0);
}

static void zygote_start(struct zygote *z, zygote_fn fn)
{
	int a[2], b[2];

	cr_assert_eq(pipe(a), 0);
	cr_assert_eq(pipe(b), 0);
	z->pid = fork();
	cr_assert_geq(z->pid, 0);
	if (z->pid == 0) {
		close(a[1]);
		close(b[0]);
		zygote_loop(a[0], b[1], fn);
	}
	close(a[0]);
	close(b[1]);
	z->req = a[1];
	z->rep = b[0];
}

static int zygote_ask(struct zygote *z, char op, pid_t pid, const char *arg, const char *arg2,
		      uint32_t word)
{
	struct zygote_msg m;
	int r = -1;

	memset(&m, 0, sizeof(m));
	m.op = op;
	m.pid = pid;
	m.word = word;
	if (arg)
		strncpy(m.arg, arg, sizeof(m.arg) - 1);
	if (arg2)
		strncpy(m.arg2, arg2, sizeof(m.arg2) - 1);
	cr_assert_eq(write(z->req, &m, sizeof(m)), (ssize_t)sizeof(m));
	cr_assert_eq(read(z->rep, &r, sizeof(r)), (ssize_t)sizeof(r));
	return r;
}

/* a peer running fn(arg, arg2, word): its pid */
static pid_t zygote_spawn(struct zygote *z, const char *arg, const char *arg2, uint32_t word)
{
	pid_t p = zygote_ask(z, 'S', 0, arg, arg2, word);

	cr_assert_gt(p, 0, "the zygote could not fork");
	return p;
}

/* the wait status of a peer (after it exited or was killed) */
static int zygote_wait(struct zygote *z, pid_t pid)
{
	return zygote_ask(z, 'W', pid, NULL, NULL, 0);
}

static void zygote_stop(struct zygote *z)
{
	int st;

	close(z->req);
	close(z->rep);
	waitpid(z->pid, &st, 0);
}

#endif
