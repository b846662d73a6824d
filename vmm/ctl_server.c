/* SPDX-License-Identifier: MIT */
/*
 * The control socket itself (ctl.h): a Unix stream socket and one thread serving up to
 * CTL_MAX_CLIENTS clients at once (poll; more wait in the listen backlog), and the `vmm ctl`
 * client. Each client's requests are answered in order, one reply per line. A line longer
 * than JSON_MAX_TEXT gets an error reply and is skipped up to its newline. Replies are sent
 * without blocking: a client whose socket buffer is full (it does not read its replies) is
 * disconnected, so no client can stall the thread or the others.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmm/ctl.h"
#include "vmm/ctl_json.h"
#include "vmm/util.h"

#define CTL_MAX_CLIENTS 8

struct ctl_client {
	int fd; /* -1: free */
	size_t have;
	bool skipping;		      /* inside a line that was too long */
	char line[JSON_MAX_TEXT + 2]; /* a line of JSON_MAX_TEXT bytes and its newline */
};

struct ctl_server {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int fd, stop_fd;
	const struct ctl_target *t;
	pthread_t thread;
	bool running;
	struct ctl_client client[CTL_MAX_CLIENTS];
	char reply[CTL_REPLY_MAX];
};

static int sockaddr_for(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (!path[0] || strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, path, strlen(path));
	return 0;
}

/* A socket at path that refuses connections was left behind by a process that is gone. */
static bool stale_socket(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool stale;

	if (fd < 0)
		return false;
	stale = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) && errno == ECONNREFUSED;
	close(fd);
	return stale;
}

int ctl_server_open(const char *path, struct ctl_server **out, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	struct ctl_server *s;
	struct stat st;
	int ret;

	if (sockaddr_for(path, &sa)) {
		snprintf(err, errlen, "--control %s: path empty or longer than %zu bytes", path,
			 sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	if (!lstat(path, &st)) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "--control %s: exists and is not a socket", path);
			return -EEXIST;
		}
		if (!stale_socket(&sa)) {
			snprintf(err, errlen, "--control %s: a process is listening there", path);
			return -EADDRINUSE;
		}
		unlink(path);
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(s->path, sizeof(s->path), "%s", path);
	s->stop_fd = -1;
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		s->client[i].fd = -1;
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(s->fd, 4)) {
		ret = -errno;
		snprintf(err, errlen, "--control %s: %s", path, strerror(errno));
		if (s->fd >= 0)
			close(s->fd);
		free(s);
		return ret;
	}
	s->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (s->stop_fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		close(s->fd);
		unlink(path);
		free(s);
		return ret;
	}
	*out = s;
	return 0;
}

/* flags: MSG_DONTWAIT for the server's replies (all or nothing), 0 for the client. */
static bool send_all(int fd, const char *buf, size_t len, int flags)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | flags);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

static bool answer(struct ctl_server *s, int fd, const char *line, size_t len)
{
	size_t n;

	ctl_handle(s->t, line, len, s->reply, sizeof(s->reply) - 1);
	n = strlen(s->reply);
	s->reply[n++] = '\n';
	return send_all(fd, s->reply, n, MSG_DONTWAIT);
}

/* What the client sent: answer every complete line. false: drop the client. */
static bool client_read(struct ctl_server *s, struct ctl_client *c)
{
	ssize_t n = recv(c->fd, c->line + c->have, sizeof(c->line) - 1 - c->have, MSG_DONTWAIT);
	char *nl;

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	c->have += (size_t)n;
	while ((nl = memchr(c->line, '\n', c->have))) {
		size_t len = (size_t)(nl - c->line), rest = c->have - len - 1;

		if (!c->skipping && !answer(s, c->fd, c->line, len))
			return false;
		c->skipping = false;
		memmove(c->line, nl + 1, rest);
		c->have = rest;
	}
	if (c->have == sizeof(c->line) - 1) {
		if (!c->skipping) {
			static const char too_long[] = "{\"ok\":false,\"error\":\"request line "
						       "longer than 4096 bytes\"}\n";

			if (!send_all(c->fd, too_long, sizeof(too_long) - 1, MSG_DONTWAIT))
				return false;
		}
		c->skipping = true;
		c->have = 0;
	}
	return true;
}

static void client_close(struct ctl_client *c)
{
	close(c->fd);
	c->fd = -1;
	c->have = 0;
	c->skipping = false;
}

static void accept_client(struct ctl_server *s)
{
	int fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		if (s->client[i].fd < 0) {
			s->client[i].fd = fd;
			return;
		}
	close(fd); /* not reached: the listening socket is polled only with a free slot */
}

static void *server_main(void *arg)
{
	struct ctl_server *s = arg;

	for (;;) {
		struct pollfd p[2 + CTL_MAX_CLIENTS];
		int who[2 + CTL_MAX_CLIENTS], np = 0;
		bool free_slot = false;

		p[np++] = (struct pollfd){s->stop_fd, POLLIN, 0};
		for (int i = 0; i < CTL_MAX_CLIENTS; i++) {
			if (s->client[i].fd < 0) {
				free_slot = true;
				continue;
			}
			who[np] = i;
			p[np++] = (struct pollfd){s->client[i].fd, POLLIN, 0};
		}
		if (free_slot) {
			who[np] = -1;
			p[np++] = (struct pollfd){s->fd, POLLIN, 0};
		}
		if (poll(p, (nfds_t)np, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents)
			break;
		for (int k = 1; k < np; k++) {
			if (!p[k].revents)
				continue;
			if (who[k] < 0)
				accept_client(s);
			else if (!client_read(s, &s->client[who[k]]))
				client_close(&s->client[who[k]]);
		}
	}
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		if (s->client[i].fd >= 0)
			client_close(&s->client[i]);
	return NULL;
}

int ctl_server_start(struct ctl_server *s, const struct ctl_target *t)
{
	int ret;

	s->t = t;
	ret = pthread_create(&s->thread, NULL, server_main, s);
	if (ret)
		return -ret;
	s->running = true;
	return 0;
}

void ctl_server_close(struct ctl_server *s)
{
	uint64_t one = 1;

	if (!s)
		return;
	if (s->running) {
		if (write(s->stop_fd, &one, sizeof(one)) != sizeof(one))
			pr_err("control socket: cannot stop its thread");
		pthread_join(s->thread, NULL);
	}
	close(s->fd);
	close(s->stop_fd);
	unlink(s->path);
	free(s);
}

/* ---- vmm ctl ---- */

static bool integer_word(const char *v, long long *out)
{
	char *end;

	if (!*v || (*v != '-' && (*v < '0' || *v > '9')))
		return false;
	errno = 0;
	*out = strtoll(v, &end, 0);
	return !*end && !errno;
}

int ctl_request_from_args(int argc, char **argv, char *out, size_t cap, char *err, size_t errlen)
{
	size_t pos = 0;

	if (argc < 1) {
		snprintf(err, errlen, "no request");
		return -EINVAL;
	}
	if (argv[0][0] == '{') {
		if (argc > 1 || strlen(argv[0]) >= cap) {
			snprintf(err, errlen, "a JSON request is one argument");
			return -EINVAL;
		}
		snprintf(out, cap, "%s", argv[0]);
		return 0;
	}
	pos = (size_t)snprintf(out, cap, "{\"cmd\":");
	if (!json_put_string(out, cap, &pos, argv[0]))
		goto too_long;
	for (int i = 1; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		long long v;
		char key[64];
		int n;

		if (!eq || eq == argv[i] || (size_t)(eq - argv[i]) >= sizeof(key)) {
			snprintf(err, errlen, "'%s': expected key=value", argv[i]);
			return -EINVAL;
		}
		snprintf(key, sizeof(key), "%.*s", (int)(eq - argv[i]), argv[i]);
		if (pos + 1 >= cap)
			goto too_long;
		out[pos++] = ',';
		if (!json_put_string(out, cap, &pos, key) || pos + 1 >= cap)
			goto too_long;
		out[pos++] = ':';
		out[pos] = 0;
		if (integer_word(eq + 1, &v))
			n = snprintf(out + pos, cap - pos, "%lld", v);
		else if (!strcmp(eq + 1, "true") || !strcmp(eq + 1, "false") ||
			 !strcmp(eq + 1, "null"))
			n = snprintf(out + pos, cap - pos, "%s", eq + 1);
		else if (!json_put_string(out, cap, &pos, eq + 1))
			goto too_long;
		else
			continue;
		if (n < 0 || (size_t)n >= cap - pos)
			goto too_long;
		pos += (size_t)n;
	}
	if (pos + 2 > cap)
		goto too_long;
	out[pos++] = '}';
	out[pos] = 0;
	return 0;
too_long:
	snprintf(err, errlen, "request too long");
	return -EINVAL;
}

static const char usage_ctl[] =
	"usage: vmm ctl PATH REQUEST...\n"
	"\n"
	"Send one request to the control socket of `vmm run --control PATH` and print the\n"
	"reply. REQUEST is a JSON object as one argument, or CMD [key=value...]:\n"
	"  vmm ctl /tmp/vmm.sock info\n"
	"  vmm ctl /tmp/vmm.sock nvme_fail ctrl=nvme0 opcode=0x02 count=1 sc=0x06\n"
	"  vmm ctl /tmp/vmm.sock nvme_ana ctrl=nvme0 state=inaccessible\n"
	"  vmm ctl /tmp/vmm.sock '{\"cmd\":\"clear\",\"ctrl\":\"nvme0\"}'\n"
	"Requests: docs/control.md. Exit status: 0 ok, 1 error reply, 2 usage or connection\n"
	"error.\n";

int ctl_client_main(int argc, char **argv)
{
	static char req[JSON_MAX_TEXT + 2], reply[CTL_REPLY_MAX + 1];
	struct sockaddr_un sa;
	char err[256];
	size_t have = 0;
	int fd;

	if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		fputs(usage_ctl, stdout);
		return 0;
	}
	if (argc < 3) {
		fputs(usage_ctl, stderr);
		return VMM_EXIT_USAGE;
	}
	if (sockaddr_for(argv[1], &sa)) {
		fprintf(stderr, "vmm ctl: %s: path empty or too long\n", argv[1]);
		return VMM_EXIT_USAGE;
	}
	if (ctl_request_from_args(argc - 2, argv + 2, req, sizeof(req) - 1, err, sizeof(err))) {
		fprintf(stderr, "vmm ctl: %s\n", err);
		return VMM_EXIT_USAGE;
	}
	if (strchr(req, '\n')) {
		fprintf(stderr, "vmm ctl: a request is one line\n");
		return VMM_EXIT_USAGE;
	}
	strcat(req, "\n");
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "vmm ctl: %s: %s\n", argv[1], strerror(errno));
		if (fd >= 0)
			close(fd);
		return VMM_EXIT_USAGE;
	}
	if (!send_all(fd, req, strlen(req), 0)) {
		fprintf(stderr, "vmm ctl: %s: %s\n", argv[1], strerror(errno));
		close(fd);
		return VMM_EXIT_USAGE;
	}
	while (have < sizeof(reply) - 1 && !memchr(reply, '\n', have)) {
		ssize_t n = recv(fd, reply + have, sizeof(reply) - 1 - have, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
	}
	close(fd);
	reply[have] = 0;
	if (!memchr(reply, '\n', have)) {
		fprintf(stderr, "vmm ctl: %s: no reply\n", argv[1]);
		return VMM_EXIT_USAGE;
	}
	fputs(reply, stdout);
	return !strncmp(reply, "{\"ok\":true", 10) ? 0 : 1;
}
