/* SPDX-License-Identifier: MIT */
#include "vmm/pair.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vmm/config/config.h"
#include "vmm/config/toml.h"
#include "vmm/util.h"

#define PAIR_N	      2
#define PAIR_MAX_FILE MiB(1) /* like a machine file */

struct side {
	char name[32];
	char config[PATH_MAX];
	pid_t pid;
	int out; /* read end of the child's stdout+stderr */
	char line[4096];
	size_t len;
	int status;
	bool done;
};

static int pair_error(const char *path, struct toml_pos pos, const char *msg)
{
	fprintf(stderr, "%s:%d:%d: %s\n", path, pos.line, pos.col, msg);
	return VMM_EXIT_USAGE;
}

/* The file stem: "ntb-a" for "examples/ntb-a.toml". */
static void stem(const char *path, char *out, size_t len)
{
	const char *b = strrchr(path, '/');
	const char *dot;

	b = b ? b + 1 : path;
	dot = strrchr(b, '.');
	snprintf(out, len, "%.*s", (int)(dot && dot > b ? dot - b : (ptrdiff_t)strlen(b)), b);
}

static int parse_pair(const char *path, struct side *s)
{
	const struct toml_value *pair, *machines, *names;
	struct toml_error terr;
	struct toml_value *root;
	uint8_t *buf = NULL;
	size_t len = 0;
	char dir[PATH_MAX];
	int ret = 0;

	ret = read_file(path, PAIR_MAX_FILE, &buf, &len);
	if (ret == -EFBIG) {
		fprintf(stderr, "%s: cannot read pair file: it is %zu bytes; at most 1 MiB\n", path,
			len);
		return VMM_EXIT_USAGE;
	}
	if (ret) {
		fprintf(stderr, "%s: cannot read pair file: %s\n", path, strerror(-ret));
		return VMM_EXIT_USAGE;
	}
	root = toml_parse((const char *)buf, len, &terr);
	free(buf);
	if (!root)
		return pair_error(path, terr.pos, terr.msg);
	{
		char tmp[PATH_MAX];

		snprintf(tmp, sizeof(tmp), "%s", path);
		snprintf(dir, sizeof(dir), "%s", dirname(tmp));
	}

	for (size_t i = 0; i < root->table.len; i++) {
		if (strcmp(root->table.items[i].key, "pair")) {
			ret = pair_error(path, root->table.items[i].pos,
					 "unknown table; a pair file has only [pair]");
			goto out;
		}
	}
	pair = toml_table_get(root, "pair");
	if (!pair || pair->type != TOML_TABLE) {
		ret = pair_error(path, (struct toml_pos){1, 1},
				 "missing table [pair] with machines = [\"a.toml\", \"b.toml\"]");
		goto out;
	}
	for (size_t i = 0; i < pair->table.len; i++) {
		const char *k = pair->table.items[i].key;

		if (strcmp(k, "machines") && strcmp(k, "names")) {
			ret = pair_error(path, pair->table.items[i].pos,
					 "unknown key in [pair] (machines, names)");
			goto out;
		}
	}
	machines = toml_table_get(pair, "machines");
	names = toml_table_get(pair, "names");
	if (!machines || machines->type != TOML_ARRAY || machines->array.len != PAIR_N) {
		ret = pair_error(path, machines ? machines->pos : pair->pos,
				 "'machines' must list exactly two machine files");
		goto out;
	}
	if (names && (names->type != TOML_ARRAY || names->array.len != PAIR_N)) {
		ret = pair_error(path, names->pos, "'names' must list exactly two names");
		goto out;
	}
	for (int i = 0; i < PAIR_N; i++) {
		const struct toml_value *m = machines->array.items[i];
		const struct toml_value *n = names ? names->array.items[i] : NULL;

		if (m->type != TOML_STRING || !m->string.len) {
			ret = pair_error(path, m->pos, "a machine file must be a non-empty string");
			goto out;
		}
		if (n && (n->type != TOML_STRING || !n->string.len || n->string.len > 24)) {
			ret = pair_error(path, n->pos, "a name must be a string of 1 to 24 bytes");
			goto out;
		}
		if ((m->string.ptr[0] == '/'
			     ? snprintf(s[i].config, sizeof(s[i].config), "%s", m->string.ptr)
			     : snprintf(s[i].config, sizeof(s[i].config), "%.*s/%s",
					(int)strnlen(dir, sizeof(dir)), dir, m->string.ptr)) >=
		    (int)sizeof(s[i].config)) {
			ret = pair_error(path, m->pos, "machine file path too long");
			goto out;
		}
		if (n)
			snprintf(s[i].name, sizeof(s[i].name), "%s", n->string.ptr);
		else
			stem(s[i].config, s[i].name, sizeof(s[i].name));
	}
out:
	toml_free(root);
	return ret;
}

/* Two [[ntb]] on one rendezvous are one link: their personalities must agree (the hello
 * would refuse it at run time; say so before anything starts). */
static int check_ntb_pairs(const struct machine_config *a, const struct machine_config *b)
{
	int ret = 0;

	for (int i = 0; i < a->ndevices; i++) {
		const struct dev_config *x = &a->devices[i];

		if (x->kind != DEV_NTB || !x->ntb.rendezvous)
			continue;
		for (int j = 0; j < b->ndevices; j++) {
			const struct dev_config *y = &b->devices[j];

			if (y->kind != DEV_NTB || !y->ntb.rendezvous ||
			    strcmp(x->ntb.rendezvous, y->ntb.rendezvous) ||
			    x->ntb.epf == y->ntb.epf)
				continue;
			fprintf(stderr,
				"%s:%d: 'personality' of [[ntb]] \"%s\" is \"%s\", but %s:%d "
				"[[ntb]] \"%s\" on the same rendezvous is \"%s\"; both must "
				"agree\n",
				b->source, y->line, y->id ? y->id : "?", y->ntb.epf ? "epf" : "idt",
				a->source, x->line, x->id ? x->id : "?",
				x->ntb.epf ? "epf" : "idt");
			ret = VMM_EXIT_USAGE;
		}
	}
	return ret;
}

/* Every problem of both machine files, before either starts. */
static int check_machines(struct side *s)
{
	struct machine_config cfg[PAIR_N];
	bool loaded[PAIR_N] = {false};
	int ret = 0;

	for (int i = 0; i < PAIR_N; i++) {
		char *errors = NULL;

		if (config_load_file(s[i].config, &cfg[i], &errors)) {
			fputs(errors ? errors : "invalid machine file\n", stderr);
			ret = VMM_EXIT_USAGE;
		} else {
			loaded[i] = true;
			free(errors);
			errors = NULL;
			if (config_check_boot(&cfg[i], &errors)) {
				fputs(errors ? errors : "invalid machine file\n", stderr);
				ret = VMM_EXIT_USAGE;
			}
		}
		free(errors);
	}
	if (!ret)
		ret = check_ntb_pairs(&cfg[0], &cfg[1]);
	for (int i = 0; i < PAIR_N; i++)
		if (loaded[i])
			config_free(&cfg[i]);
	return ret;
}

static void emit(struct side *s, const char *data, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s->len < sizeof(s->line) - 1)
			s->line[s->len++] = data[i];
		if (data[i] == '\n' || s->len == sizeof(s->line) - 1) {
			if (s->line[s->len - 1] != '\n')
				s->line[s->len++] = '\n';
			printf("[%s] %.*s", s->name, (int)s->len, s->line);
			fflush(stdout);
			s->len = 0;
		}
	}
}

static pid_t spawn(struct side *s)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		/* the child's console: no input (both would read this terminal), output here */
		dup2(null, STDIN_FILENO);
		dup2(p[1], STDOUT_FILENO);
		dup2(p[1], STDERR_FILENO);
		execl("/proc/self/exe", "vmm", "run", "--config", s->config, (char *)NULL);
		_exit(VMM_EXIT_FAILURE);
	}
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return -1;
	}
	s->out = p[0];
	return pid;
}

int pair_run(const char *path)
{
	struct side s[PAIR_N];
	sigset_t set, old;
	int ret, status = 0;

	memset(s, 0, sizeof(s));
	ret = parse_pair(path, s);
	if (!ret)
		ret = check_machines(s);
	if (ret)
		return ret;

	/* Ctrl-C and SIGTERM go to both machines, which stop cleanly; we wait for them. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, &old);
	for (int i = 0; i < PAIR_N; i++) {
		s[i].pid = spawn(&s[i]);
		if (s[i].pid < 0) {
			fprintf(stderr, "vmm pair: cannot start %s: %s\n", s[i].name,
				strerror(errno));
			for (int j = 0; j < i; j++)
				kill(s[j].pid, SIGTERM);
			status = VMM_EXIT_FAILURE;
			s[i].done = true;
			s[i].out = -1;
		}
	}
	for (;;) {
		struct pollfd p[PAIR_N];
		struct timespec ts = {0, 0};
		siginfo_t si;
		int open_pipes = 0;

		for (int i = 0; i < PAIR_N; i++) {
			p[i] = (struct pollfd){.fd = s[i].out > 0 ? s[i].out : -1,
					       .events = POLLIN};
			open_pipes += s[i].out > 0;
		}
		if (!open_pipes)
			break;
		if (sigtimedwait(&set, &si, &ts) > 0) {
			for (int i = 0; i < PAIR_N; i++)
				if (s[i].pid > 0)
					kill(s[i].pid, SIGTERM);
		}
		if (poll(p, PAIR_N, 200) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < PAIR_N; i++) {
			char buf[4096];
			ssize_t n;

			if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(s[i].out, buf, sizeof(buf));
			if (n > 0) {
				emit(&s[i], buf, (size_t)n);
			} else if (n == 0 || errno != EINTR) {
				if (s[i].len)
					emit(&s[i], "\n", 1);
				close(s[i].out);
				s[i].out = -1;
			}
		}
	}
	for (int i = 0; i < PAIR_N; i++) {
		int st = 0;

		if (s[i].pid <= 0)
			continue;
		while (waitpid(s[i].pid, &st, 0) < 0 && errno == EINTR)
			;
		/* A machine killed by a signal is a VMM failure: 128 + signal would be odd for
		 * half the signals, and odd statuses are the guests' debug-exit codes. */
		if (WIFEXITED(st)) {
			s[i].status = WEXITSTATUS(st);
			fprintf(stderr, "vmm pair: %s exited with status %d\n", s[i].name,
				s[i].status);
		} else {
			s[i].status = VMM_EXIT_FAILURE;
			fprintf(stderr, "vmm pair: %s was killed by signal %d (%s); status %d\n",
				s[i].name, WTERMSIG(st), strsignal(WTERMSIG(st)), s[i].status);
		}
		if (!status && s[i].status)
			status = s[i].status;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return status;
}
