/* SPDX-License-Identifier: MIT */
/*
 * The console's input side: what reaches the guest from stdin, and what happens when stdin
 * ends. Each test runs in a process of its own (Criterion), so it may replace fd 0.
 */
#include <criterion/criterion.h>

#include "vmm/console.h"
#include "vmm/util.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct sink {
	char got[64];
	size_t len;
	size_t per_call; /* bytes the "device" takes per call; 0: all */
	int quits;
};

static size_t take(void *opaque, const uint8_t *buf, size_t len)
{
	struct sink *s = opaque;
	size_t n = s->per_call && len > s->per_call ? s->per_call : len;

	if (n > sizeof(s->got) - s->len)
		n = sizeof(s->got) - s->len;
	memcpy(s->got + s->len, buf, n);
	__atomic_store_n(&s->len, s->len + n, __ATOMIC_RELEASE);
	return n;
}

static void quit(void *opaque, const char *why)
{
	struct sink *s = opaque;

	s->quits++;
}

/* stdin is a pipe holding `text`, its write end closed: EOF after the text. */
static void stdin_from(const char *text)
{
	int p[2];

	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(write(p[1], text, strlen(text)), (ssize_t)strlen(text));
	close(p[1]);
	cr_assert_eq(dup2(p[0], STDIN_FILENO), STDIN_FILENO);
	close(p[0]);
}

static struct console *start(struct sink *s)
{
	char err[128];
	struct console *c = console_open(NULL, true, err, sizeof(err));

	cr_assert_not_null(c, "%s", err);
	console_set_input(c, take, quit, s);
	cr_assert_eq(console_start(c), 0);
	return c;
}

/* Waits (up to 10 s: a bound, not a measurement) for the end of input and `want` bytes. */
static void wait_for_end(struct console *c, struct sink *s, size_t want)
{
	for (int i = 0; i < 10000; i++) {
		if (console_input_ended(c) && __atomic_load_n(&s->len, __ATOMIC_ACQUIRE) >= want)
			return;
		usleep(1000);
	}
	cr_assert_fail("input did not end (ended %d, %zu of %zu bytes)", console_input_ended(c),
		       s->len, want);
}

Test(console, stdin_at_eof_delivers_what_it_held_and_the_guest_runs_on)
{
	struct sink s = {0};
	struct console *c;

	stdin_from("hello");
	c = start(&s);
	wait_for_end(c, &s, 5);
	cr_assert_eq(s.len, 5);
	cr_assert_arr_eq(s.got, "hello", 5);
	cr_assert_eq(s.quits, 0, "the end of input does not stop the machine");
	console_close(c);
}

Test(console, input_the_device_takes_slowly_is_all_delivered_after_eof)
{
	struct sink s = {.per_call = 1};
	struct console *c;

	stdin_from("0123456789");
	c = start(&s);
	wait_for_end(c, &s, 10);
	cr_assert_arr_eq(s.got, "0123456789", 10);
	cr_assert_eq(s.quits, 0);
	console_close(c);
}

/* A closed descriptor polls as POLLNVAL at once, every time: that is the end of input, not
 * a reason to spin. */
Test(console, stdin_closed_under_the_console_ends_the_input)
{
	struct sink s = {0};
	struct console *c;
	int p[2];

	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(dup2(p[0], STDIN_FILENO), STDIN_FILENO);
	close(p[0]);
	c = start(&s);
	close(STDIN_FILENO); /* the write end stays open: no EOF, only the closed fd */
	wait_for_end(c, &s, 0);
	cr_assert_eq(s.quits, 0);
	console_close(c);
	close(p[1]);
}

Test(console, a_closed_stdin_becomes_dev_null_before_anything_takes_its_place)
{
	struct stat st, null;

	close(STDIN_FILENO);
	cr_assert_eq(std_fds_ensure_open(), 0);
	cr_assert_eq(fstat(STDIN_FILENO, &st), 0);
	cr_assert_eq(stat("/dev/null", &null), 0);
	cr_assert(S_ISCHR(st.st_mode) && st.st_rdev == null.st_rdev, "fd 0 is /dev/null");
	/* and the next file opened is not fd 0 */
	{
		int fd = open("/dev/zero", O_RDONLY);

		cr_assert_gt(fd, STDERR_FILENO);
		close(fd);
	}
	cr_assert_eq(std_fds_ensure_open(), 0, "nothing to do the second time");
}
