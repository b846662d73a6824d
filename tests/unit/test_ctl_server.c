/* SPDX-License-Identifier: MIT */
/* The control socket (vmm/ctl_server.c): path checks, a round trip, hostile clients. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmm/ctl.h"

static char dir[48], path[96];
static char err[256];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/vmm-ctl-test.XXXXXX");
	cr_assert(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ctl.sock", dir);
}

static void teardown(void)
{
	unlink(path);
	rmdir(dir);
}

static int connect_to(const char *p)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", p);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "%s", strerror(errno));
	return fd;
}

/* Read until n newlines (or EOF); returns the bytes read. */
static size_t read_lines(int fd, char *buf, size_t cap, int n)
{
	size_t have = 0;

	while (have < cap - 1) {
		ssize_t r = recv(fd, buf + have, cap - 1 - have, 0);
		int lines = 0;

		if (r <= 0)
			break;
		have += (size_t)r;
		buf[have] = 0;
		for (char *p = buf; (p = strchr(p, '\n')); p++)
			lines++;
		if (lines >= n)
			break;
	}
	buf[have] = 0;
	return have;
}

Test(ctl_server, path_longer_than_sun_path_is_refused, .init = setup, .fini = teardown)
{
	struct ctl_server *s = NULL;
	char longp[200];

	memset(longp, 'x', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = 0;
	cr_assert_eq(ctl_server_open(longp, &s, err, sizeof(err)), -ENAMETOOLONG);
	cr_assert(strstr(err, "longer than 107 bytes"), "%s", err);
	cr_assert_eq(ctl_server_open("", &s, err, sizeof(err)), -ENAMETOOLONG);
	cr_assert_null(s);
}

Test(ctl_server, existing_file_is_refused_and_left_alone, .init = setup, .fini = teardown)
{
	struct ctl_server *s = NULL;
	struct stat st;
	FILE *f = fopen(path, "w");

	cr_assert(f);
	fclose(f);
	cr_assert_eq(ctl_server_open(path, &s, err, sizeof(err)), -EEXIST);
	cr_assert(strstr(err, "exists and is not a socket"), "%s", err);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert(S_ISREG(st.st_mode));
}

Test(ctl_server, live_socket_is_refused_stale_one_replaced, .init = setup, .fini = teardown)
{
	struct ctl_server *a = NULL, *b = NULL;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	cr_assert_eq(ctl_server_open(path, &a, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(ctl_server_open(path, &b, err, sizeof(err)), -EADDRINUSE);
	cr_assert(strstr(err, "a process is listening"), "%s", err);
	ctl_server_close(a);
	cr_assert_eq(access(path, F_OK), -1, "the socket was not removed");
	/* A socket bound and closed without unlink: what a killed vmm leaves. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	cr_assert_eq(ctl_server_open(path, &b, err, sizeof(err)), 0, "%s", err);
	ctl_server_close(b);
}

Test(ctl_server, requests_round_trip_and_hostile_lines_are_survived, .init = setup,
     .fini = teardown)
{
	static char big[3 * 4096], buf[8192];
	struct ctl_server *s = NULL;
	struct ctl_target t = {NULL, 0};
	int idle, fd;

	cr_assert_eq(ctl_server_open(path, &s, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(ctl_server_start(s, &t), 0);
	idle = connect_to(path); /* connected, silent: must not hold up the next one */
	fd = connect_to(path);
	memset(big, 'a', sizeof(big));
	big[0] = '{';
	big[sizeof(big) - 1] = '\n';
	cr_assert_eq(send(fd, big, sizeof(big), 0), (ssize_t)sizeof(big));
	cr_assert_eq(send(fd, "{\"cmd\":\"info\"}\n{\"cmd\":\"\0\"}\n", 27, 0), 27);
	read_lines(fd, buf, sizeof(buf), 3);
	cr_assert_str_eq(buf,
			 "{\"ok\":false,\"error\":\"request line longer than 4096 bytes\"}\n"
			 "{\"ok\":true,\"devices\":[]}\n"
			 "{\"ok\":false,\"error\":\"bad JSON: at byte 8: NUL byte in string\"}\n");
	close(fd);
	close(idle);
	ctl_server_close(s);
	cr_assert_eq(access(path, F_OK), -1);
}

Test(ctl_server, a_line_of_exactly_4096_bytes_is_read, .init = setup, .fini = teardown)
{
	static char line[4097], buf[512];
	struct ctl_server *s = NULL;
	struct ctl_target t = {NULL, 0};
	int fd;

	cr_assert_eq(ctl_server_open(path, &s, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(ctl_server_start(s, &t), 0);
	fd = connect_to(path);
	memset(line, ' ', sizeof(line));
	memcpy(line, "{\"cmd\":\"info\"}", 14);
	line[4096] = '\n';
	cr_assert_eq(send(fd, line, sizeof(line), 0), (ssize_t)sizeof(line));
	read_lines(fd, buf, sizeof(buf), 1);
	cr_assert_str_eq(buf, "{\"ok\":true,\"devices\":[]}\n");
	close(fd);
	ctl_server_close(s);
}
