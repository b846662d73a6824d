/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include "vmm/console.h"
#include "vmm/util.h"

#define ESCAPE_CHAR 0x01 /* Ctrl-A */

struct console {
	int log_fd;
	bool input;
	bool tty;
	struct termios saved;
	bool raw;
	int stop_fd; /* eventfd: ends the thread */
	int sig_fd;  /* signalfd for SIGINT, SIGTERM, SIGHUP */
	pthread_t thread;
	bool started;
	console_input_fn in_fn;
	console_quit_fn quit_fn;
	void *opaque;
	pthread_mutex_t out_lock;
	uint8_t out_buf[256];
	size_t out_len;
	bool input_ended; /* stdin gave EOF or an error: no more input (atomic) */
};

static struct console *raw_console; /* restored from atexit even on die() */

static void restore_terminal(void)
{
	if (raw_console && raw_console->raw) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw_console->saved);
		raw_console->raw = false;
	}
}

struct console *console_open(const char *log_path, bool input, char *err, size_t errlen)
{
	struct console *c = calloc(1, sizeof(*c));
	sigset_t set;

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->log_fd = -1;
	c->stop_fd = -1;
	c->sig_fd = -1;
	pthread_mutex_init(&c->out_lock, NULL);
	if (log_path) {
		c->log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (c->log_fd < 0) {
			snprintf(err, errlen, "cannot open console log %s: %s", log_path,
				 strerror(errno));
			free(c);
			return NULL;
		}
	}
	c->input = input;
	c->tty = input && isatty(STDIN_FILENO);
	c->stop_fd = eventfd(0, EFD_CLOEXEC);
	/* Terminating signals are taken by this thread through a signalfd; every other thread
	 * (the vCPUs included) inherits the blocked mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	c->sig_fd = signalfd(-1, &set, SFD_CLOEXEC);
	if (c->stop_fd < 0 || c->sig_fd < 0) {
		snprintf(err, errlen, "console setup: %s", strerror(errno));
		console_close(c);
		return NULL;
	}
	return c;
}

void console_set_input(struct console *c, console_input_fn fn, console_quit_fn quit, void *opaque)
{
	c->in_fn = fn;
	c->quit_fn = quit;
	c->opaque = opaque;
}

static void write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* a closed stdout must not stop the guest */
		p += w;
		n -= (size_t)w;
	}
}

static void flush_locked(struct console *c)
{
	if (!c->out_len)
		return;
	write_all(STDOUT_FILENO, c->out_buf, c->out_len);
	if (c->log_fd >= 0)
		write_all(c->log_fd, c->out_buf, c->out_len);
	c->out_len = 0;
}

void console_output(struct console *c, uint8_t byte)
{
	pthread_mutex_lock(&c->out_lock);
	c->out_buf[c->out_len++] = byte;
	/* Line buffered: one write per line, or per byte on a terminal (prompts, echo). */
	if (byte == '\n' || c->tty || c->out_len == sizeof(c->out_buf))
		flush_locked(c);
	pthread_mutex_unlock(&c->out_lock);
}

static void quit(struct console *c, const char *why)
{
	if (c->quit_fn)
		c->quit_fn(c->opaque, why);
}

/*
 * The end of input (EOF, a read error, a closed descriptor): stdin is no longer polled, the
 * bytes read before are still delivered, and the guest goes on running without input; it
 * sees no break or hangup (the UART has no modem lines to drop). Only Ctrl-A x, a signal or
 * the guest itself ends the machine.
 */
static void input_ended(struct console *c, bool *eof, const char *why)
{
	*eof = true;
	__atomic_store_n(&c->input_ended, true, __ATOMIC_RELEASE);
	pr_debug("console: end of input (%s); the guest runs on without it", why);
}

static void *console_thread(void *arg)
{
	struct console *c = arg;
	uint8_t pending[512];
	size_t npending = 0;
	bool escape = false, eof = !c->input;

	pthread_setname_np(pthread_self(), "console");
	for (;;) {
		struct pollfd fds[3] = {
			{.fd = c->stop_fd, .events = POLLIN},
			{.fd = c->sig_fd, .events = POLLIN},
			{.fd = (eof || npending) ? -1 : STDIN_FILENO, .events = POLLIN},
		};
		/* Input the device could not take yet is retried; it is never dropped. */
		int timeout = npending ? 10 : 1000;

		if (poll(fds, 3, timeout) < 0 && errno != EINTR)
			break;
		if (fds[0].revents)
			break;
		if (fds[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(c->sig_fd, &si, sizeof(si)) == sizeof(si)) {
				quit(c, strsignal((int)si.ssi_signo));
				continue;
			}
		}
		/* POLLNVAL too: a closed stdin would otherwise wake poll at once, forever */
		if (fds[2].revents & POLLNVAL) {
			input_ended(c, &eof, "stdin is closed");
		} else if (fds[2].revents & (POLLIN | POLLHUP | POLLERR)) {
			uint8_t buf[256];
			ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue; /* nothing after all (a non-blocking stdin): poll again */
			if (n <= 0) {
				input_ended(c, &eof, n == 0 ? "end of file" : strerror(errno));
				continue;
			}
			for (ssize_t i = 0; i < n; i++) {
				uint8_t ch = buf[i];

				if (c->tty && escape) {
					escape = false;
					if (ch == 'x' || ch == 'X') {
						quit(c, "Ctrl-A x");
						continue;
					}
					if (ch != ESCAPE_CHAR)
						continue;
				} else if (c->tty && ch == ESCAPE_CHAR) {
					escape = true;
					continue;
				}
				pending[npending++] = ch;
			}
		}
		if (npending && c->in_fn) {
			size_t took = c->in_fn(c->opaque, pending, npending);

			memmove(pending, pending + took, npending - took);
			npending -= took;
		} else if (!c->in_fn) {
			npending = 0;
		}
	}
	return NULL;
}

bool console_input_ended(struct console *c)
{
	return __atomic_load_n(&c->input_ended, __ATOMIC_ACQUIRE);
}

int console_start(struct console *c)
{
	if (c->tty) {
		struct termios raw;

		if (tcgetattr(STDIN_FILENO, &c->saved) == 0) {
			raw = c->saved;
			cfmakeraw(&raw);
			raw.c_oflag |= OPOST | ONLCR; /* keep our own messages readable */
			if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) == 0) {
				c->raw = true;
				raw_console = c;
				atexit(restore_terminal);
				fprintf(stderr, "vmm: console: Ctrl-A x quits\r\n");
			}
		}
	}
	if (pthread_create(&c->thread, NULL, console_thread, c))
		return -EAGAIN;
	c->started = true;
	return 0;
}

void console_close(struct console *c)
{
	uint64_t one = 1;

	if (!c)
		return;
	if (c->started) {
		if (write(c->stop_fd, &one, sizeof(one)) < 0)
			pr_debug("console: stop: %s", strerror(errno));
		pthread_join(c->thread, NULL);
		c->started = false;
	}
	pthread_mutex_lock(&c->out_lock);
	flush_locked(c);
	pthread_mutex_unlock(&c->out_lock);
	restore_terminal();
	if (raw_console == c)
		raw_console = NULL;
	if (c->log_fd >= 0)
		close(c->log_fd);
	if (c->stop_fd >= 0)
		close(c->stop_fd);
	if (c->sig_fd >= 0)
		close(c->sig_fd);
	free(c);
}
