/* SPDX-License-Identifier: MIT */
/*
 * The rendezvous: two vmm processes meet at a Unix socket path. Whoever finds nobody there
 * listens (a lock file serialises that choice, so two sides starting together cannot both
 * listen); the other connects. Each sends a hello with SCM_RIGHTS: its guest-RAM memfd and
 * its kick eventfd, and the listener also its switch-state memfd, which the connector joins.
 * The socket stays open: its closing (exit, crash, kill -9) is how the survivor learns the
 * peer is gone. The survivor then goes back to connect-or-listen and waits.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "devices/ntb/internal.h"
#include "vmm/util.h"

#define NTB_HELLO_MAGIC	 0x4f4c4c4548425e4eull /* "N^BHELLO" */
#define NTB_HANDSHAKE_MS 5000
#define NTB_RETRY_MS	 500

struct ntb_hello {
	uint64_t magic;
	uint32_t version; /* NTB_SHM_VERSION: both ends speak the same switch layout */
	uint32_t port;
	int32_t pid;
	uint32_t nfds; /* 2: RAM memfd, kick eventfd; 3: + switch-state memfd */
	uint64_t mw_size[2];
	uint32_t mw_lut[2];
	uint64_t ram_size;
	uint32_t nregions;
	uint32_t personality; /* enum ntb_personality: both configs must agree */
	struct ntb_ram_region region[NTB_MAX_RAM_REGIONS];
};

static int make_addr(const char *path, struct sockaddr_un *a)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(a->sun_path))
		return -ENAMETOOLONG;
	strcpy(a->sun_path, path);
	return 0;
}

int ntb_link_connect(const char *path)
{
	struct sockaddr_un a;
	int s, ret = make_addr(path, &a);

	if (ret)
		return ret;
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		ret = -errno;
		close(s);
		return ret;
	}
	return s;
}

int ntb_link_listen(const char *path)
{
	struct sockaddr_un a;
	struct stat st;
	int s, ret = make_addr(path, &a);

	if (ret)
		return ret;
	/* A socket left by a process that died; the caller found nobody listening on it. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return -errno;
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 2) < 0) {
		ret = -errno;
		close(s);
		return ret;
	}
	return s;
}

static int send_hello(int sock, const struct ntb_hello *h, const int *fds, unsigned nfds)
{
	char cbuf[CMSG_SPACE(3 * sizeof(int))] = {0};
	struct iovec iov = {.iov_base = (void *)h, .iov_len = sizeof(*h)};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cbuf,
			     .msg_controllen = CMSG_SPACE(nfds * sizeof(int))};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
	memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	return sendmsg(sock, &msg, MSG_NOSIGNAL) == (ssize_t)sizeof(*h) ? 0 : -EPIPE;
}

/* Receives a hello and its fds (fds[i] = -1 for those not sent). */
static int recv_hello(int sock, struct ntb_hello *h, int fds[3])
{
	char cbuf[CMSG_SPACE(3 * sizeof(int))];
	struct iovec iov = {.iov_base = h, .iov_len = sizeof(*h)};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *c;
	ssize_t n;
	unsigned got = 0;

	fds[0] = fds[1] = fds[2] = -1;
	n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_WAITALL);
	/* unix(7): every fd that fits cbuf (here up to 4) is installed in this process; keep
	 * the first three, close the rest, or each such hello leaks one (found by fuzz_ntb). */
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			unsigned k = (unsigned)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));

			for (unsigned i = 0; i < k; i++, got++) {
				int fd;

				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
				if (got < 3)
					fds[got] = fd;
				else
					close(fd);
			}
		}
	if (n == 0)
		return -ECONNRESET; /* closed before saying hello: it went away */
	if (n != (ssize_t)sizeof(*h) || (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC)))
		return n < 0 ? -errno : -EPROTO;
	if (h->magic != NTB_HELLO_MAGIC || h->version != NTB_SHM_VERSION)
		return -EPROTO;
	if (got != h->nfds || got < 2 || h->nregions > NTB_MAX_RAM_REGIONS)
		return -EPROTO;
	return 0;
}

int ntb_link_handshake(struct ntb *ntb, int sock, bool listener, const struct ntb_ram *ram)
{
	struct ntb_hello me = {.magic = NTB_HELLO_MAGIC, .version = NTB_SHM_VERSION}, peer;
	struct timeval tv = {.tv_sec = NTB_HANDSHAKE_MS / 1000};
	struct ntb_ram pram = {0};
	int fds[3] = {ram->memfd, ntb->kick_fd, ntb->shm_fd}, pfds[3];
	int ret;

	me.port = ntb->port;
	me.pid = (int32_t)getpid();
	me.nfds = listener ? 3 : 2;
	me.mw_size[0] = ntb->mw_size[0];
	me.mw_size[1] = ntb->mw_size[1];
	me.mw_lut[0] = ntb->mw_lut[0];
	me.mw_lut[1] = ntb->mw_lut[1];
	me.ram_size = ram->size;
	me.nregions = (uint32_t)ram->nregions;
	me.personality = (uint32_t)ntb->personality;
	memcpy(me.region, ram->region, sizeof(me.region));
	setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ntb_set_own_ram(ntb, ram);

	ret = send_hello(sock, &me, fds, me.nfds);
	if (!ret)
		ret = recv_hello(sock, &peer, pfds);
	if (!ret && (peer.nfds != (listener ? 2u : 3u) || peer.port == ntb->port ||
		     ntb_port_index(peer.port) < 0))
		ret = -EPROTO;
	if (!ret && peer.personality != (uint32_t)ntb->personality) {
		pr_err("%s: the peer on port %u is an \"%s\" NTB, this side \"%s\"; both configs "
		       "must give the same 'personality'",
		       ntb->name, peer.port, peer.personality == NTB_EPF ? "epf" : "idt",
		       ntb->personality == NTB_EPF ? "epf" : "idt");
		ret = -EINVAL;
	}
	if (!ret && (peer.mw_size[0] != ntb->mw_size[0] || peer.mw_size[1] != ntb->mw_size[1])) {
		pr_err("%s: the peer on port %u has other window sizes; both configs must agree",
		       ntb->name, peer.port);
		ret = -EINVAL;
	}
	if (!ret && (peer.mw_lut[0] != ntb->mw_lut[0] || peer.mw_lut[1] != ntb->mw_lut[1])) {
		pr_err("%s: the peer on port %u has other window types (mw_type); both configs "
		       "must agree",
		       ntb->name, peer.port);
		ret = -EINVAL;
	}
	if (!ret) {
		pram.memfd = pfds[0];
		pram.size = peer.ram_size;
		pram.nregions = (int)peer.nregions;
		memcpy(pram.region, peer.region, sizeof(pram.region));
		ret = ntb_set_peer(ntb, peer.port, &pram, pfds[1]);
		if (ret == -EPERM)
			pr_err("%s: the peer on port %u handed over RAM that it could still shrink "
			       "(no F_SEAL_SHRINK); refused",
			       ntb->name, peer.port);
	}
	if (!ret && !listener) {
		ret = ntb_join(ntb, pfds[2]);
		if (ret == -EPERM)
			pr_err("%s: the peer's switch state could still shrink (no F_SEAL_SHRINK); "
			       "refused",
			       ntb->name);
		if (ret)
			ntb_peer_lost(ntb);
	}
	for (int i = 0; i < 3; i++)
		if (pfds[i] >= 0)
			close(pfds[i]);
	tv.tv_sec = 0;
	setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return ret;
}

/* ---- the link thread ---- */

struct ntb_link {
	struct ntb *ntb;
	struct ntb_ram ram;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int lock_fd, stop_fd, listen_fd, conn_fd;
	bool connected;
	pthread_t thread;
};

static void link_try_connect_or_listen(struct ntb_link *l)
{
	int s, ret;

	flock(l->lock_fd, LOCK_EX);
	s = ntb_link_connect(l->path);
	if (s >= 0) {
		ret = ntb_link_handshake(l->ntb, s, false, &l->ram);
		if (ret) {
			/* A peer that is exiting still has its socket open for a moment: our
			 * connect lands in its backlog and is reset. Not worth a warning; the
			 * next round finds the socket gone and listens. */
			if (ret != -ECONNRESET && ret != -EPIPE)
				pr_warn("%s: handshake with the peer at %s failed: %s",
					l->ntb->name, l->path, strerror(-ret));
			close(s);
		} else {
			l->conn_fd = s;
			__atomic_store_n(&l->connected, true, __ATOMIC_RELEASE);
		}
	} else {
		l->listen_fd = ntb_link_listen(l->path);
		if (l->listen_fd < 0)
			pr_ratelimited("%s: cannot listen at %s: %s", l->ntb->name, l->path,
				       strerror(-l->listen_fd));
	}
	flock(l->lock_fd, LOCK_UN);
}

static void link_accept(struct ntb_link *l)
{
	int s = accept4(l->listen_fd, NULL, NULL, SOCK_CLOEXEC), ret;

	if (s < 0)
		return;
	if (l->conn_fd >= 0) {
		close(s); /* a pair has two ends */
		return;
	}
	ret = ntb_link_handshake(l->ntb, s, true, &l->ram);
	if (ret) {
		if (ret != -ECONNRESET && ret != -EPIPE) /* it left again at once */
			pr_warn("%s: handshake with a peer failed: %s", l->ntb->name,
				strerror(-ret));
		close(s);
		return;
	}
	l->conn_fd = s;
	__atomic_store_n(&l->connected, true, __ATOMIC_RELEASE);
}

static void link_lost(struct ntb_link *l)
{
	__atomic_store_n(&l->connected, false, __ATOMIC_RELEASE);
	close(l->conn_fd);
	l->conn_fd = -1;
	ntb_peer_lost(l->ntb);
}

static void *link_thread(void *arg)
{
	struct ntb_link *l = arg;

	for (;;) {
		struct pollfd p[4] = {{.fd = l->stop_fd, .events = POLLIN},
				      {.fd = l->ntb->kick_fd, .events = POLLIN},
				      {.fd = l->listen_fd, .events = POLLIN},
				      {.fd = l->conn_fd, .events = POLLIN}};
		char buf[64];

		if (l->listen_fd < 0 && l->conn_fd < 0)
			link_try_connect_or_listen(l);
		p[2].fd = l->listen_fd;
		p[3].fd = l->conn_fd;
		if (poll(p, 4, NTB_RETRY_MS) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			break;
		if (p[1].revents)
			ntb_service(l->ntb);
		if (p[3].revents && l->conn_fd >= 0) {
			ssize_t n = recv(l->conn_fd, buf, sizeof(buf), MSG_DONTWAIT);

			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
				link_lost(l);
		}
		if (p[2].revents && l->listen_fd >= 0)
			link_accept(l);
		/* the peer wrote over the switch state's lock: its fault, so the link goes down */
		if (l->conn_fd >= 0 && ntb_shm_broken(l->ntb->shm)) {
			pr_warn("%s: the peer broke the shared switch state; link down",
				l->ntb->name);
			link_lost(l);
		}
	}
	return NULL;
}

struct ntb_link *ntb_link_start(struct ntb *ntb, const char *path, const struct ntb_ram *ram,
				char *err, size_t errlen)
{
	struct ntb_link *l = calloc(1, sizeof(*l));
	char lockpath[sizeof(l->path) + 8];
	int ret;

	if (!l) {
		snprintf(err, errlen, "ntb: out of memory");
		return NULL;
	}
	l->ntb = ntb;
	l->ram = *ram;
	l->listen_fd = l->conn_fd = l->lock_fd = l->stop_fd = -1;
	l->ram.memfd = fcntl(ram->memfd, F_DUPFD_CLOEXEC, 0);
	if (strlen(path) >= sizeof(l->path)) {
		snprintf(err, errlen, "ntb: rendezvous path too long: %s", path);
		goto fail;
	}
	strcpy(l->path, path);
	snprintf(lockpath, sizeof(lockpath), "%s.lock", path);
	l->lock_fd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	l->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (l->lock_fd < 0 || l->stop_fd < 0 || l->ram.memfd < 0) {
		snprintf(err, errlen, "ntb: %s: %s", lockpath, strerror(errno));
		goto fail;
	}
	ret = pthread_create(&l->thread, NULL, link_thread, l);
	if (ret) {
		snprintf(err, errlen, "ntb: link thread: %s", strerror(ret));
		goto fail;
	}
	return l;
fail:
	if (l->lock_fd >= 0)
		close(l->lock_fd);
	if (l->stop_fd >= 0)
		close(l->stop_fd);
	if (l->ram.memfd >= 0)
		close(l->ram.memfd);
	free(l);
	return NULL;
}

void ntb_link_stop(struct ntb_link *l)
{
	uint64_t one = 1;

	if (!l)
		return;
	if (write(l->stop_fd, &one, sizeof(one)) != sizeof(one))
		pr_err("ntb: cannot stop the link thread");
	pthread_join(l->thread, NULL);
	/*
	 * Leaving is not losing the peer: the peer's port in the shared switch state stays as
	 * it is (it is still running and will see this side's port detach in ntb_destroy).
	 * Closing the socket tells it we are gone.
	 */
	if (l->conn_fd >= 0) {
		__atomic_store_n(&l->connected, false, __ATOMIC_RELEASE);
		close(l->conn_fd);
		l->conn_fd = -1;
	}
	if (l->listen_fd >= 0) {
		close(l->listen_fd);
		unlink(l->path);
	}
	close(l->lock_fd);
	close(l->stop_fd);
	close(l->ram.memfd);
	free(l);
}

bool ntb_link_connected(struct ntb_link *l)
{
	return __atomic_load_n(&l->connected, __ATOMIC_ACQUIRE);
}
