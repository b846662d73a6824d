/* SPDX-License-Identifier: MIT */
/*
 * Regressions for what the libFuzzer harnesses found (tests/fuzz/README.md lists them, the
 * crashing inputs are in tests/fuzz/corpus/<harness>/crash-*). Each test fails without its
 * fix.
 */
#include <dirent.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include "devices/ntb/shm.h"
#include "tests/unit/test_ntb.h"

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	cr_assert(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/*
 * fuzz_ntb: a peer's hello with four fds. SCM_RIGHTS installs all four (the control buffer
 * has room for them); recv_hello kept three and leaked the fourth, once per bad hello.
 */
Test(fuzz_findings, ntb_handshake_closes_the_fds_it_does_not_keep)
{
	int sv[2], fds[4], before;
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
	for (int i = 0; i < 4; i++) {
		fds[i] = eventfd(0, EFD_CLOEXEC);
		cr_assert_geq(fds[i], 0);
	}
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	cr_assert_eq(sendmsg(sv[1], &msg, 0), (ssize_t)sizeof(junk));
	for (int i = 0; i < 4; i++)
		close(fds[i]); /* in flight now: only the socket holds them */
	before = open_fds();
	cr_assert_eq(ntb_link_handshake(a.ntb, sv[0], true, &a.nram), -EPROTO);
	cr_assert_eq(open_fds(), before, "the handshake left %d fds open", open_fds() - before);
	close(sv[0]);
	close(sv[1]);
	side_fini(&a);
}

/*
 * fuzz_ntb: a hello whose ram_size (and regions) claim more than the peer's memfd holds.
 * ntb_set_peer mapped the claim, a window translated past the end of the file, and the
 * first guest load through it raised SIGBUS in vmm. The claim must be refused.
 */
Test(fuzz_findings, ntb_peer_ram_larger_than_its_memfd_is_refused)
{
	struct side a, b;
	struct ntb_ram lie;

	side_init(&a, 0);
	side_init(&b, 2);
	lie = b.nram;
	lie.size = 2 * T_RAM_SIZE;
	lie.region[1].size = T_RAM_SIZE + MiB(1);
	cr_assert_eq(ntb_set_peer(a.ntb, b.port, &lie, ntb_kick_fd(b.ntb)), -EINVAL);
	cr_assert_eq(ntb_set_peer(a.ntb, b.port, &b.nram, ntb_kick_fd(b.ntb)), 0);
	side_fini(&a);
	side_fini(&b);
}

/*
 * The limit fuzz_ntb's finding 2 left open (tests/fuzz/README.md, "Known limits"): the
 * size check holds only while the peer cannot truncate its memfd afterwards. Peer RAM and
 * a switch state without F_SEAL_SHRINK are refused; the sealed ones are taken.
 */
Test(fuzz_findings, ntb_peer_memory_that_could_shrink_later_is_refused)
{
	const uint64_t sizes[2] = {T_MW2, T_MW4};
	struct side a, b;
	struct ntb_ram loose;
	struct ntb_shm *shm;
	int fd = memfd_create("t-unsealed", MFD_CLOEXEC), sw, copy;

	side_init(&a, 0);
	side_init(&b, 2);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, T_RAM_SIZE), 0);
	loose = b.nram;
	loose.memfd = fd;
	cr_assert_eq(ntb_set_peer(a.ntb, b.port, &loose, ntb_kick_fd(b.ntb)), -EPERM);
	cr_assert_eq(ntb_set_peer(a.ntb, b.port, &b.nram, ntb_kick_fd(b.ntb)), 0);

	sw = ntb_shm_create(0x3, sizes, NULL);
	cr_assert_geq(sw, 0);
	cr_assert_eq(ftruncate(sw, 16), -1, "the switch state shrank");
	cr_assert_eq(ntb_shm_map(sw, &shm), 0);
	copy = memfd_create("t-unsealed-switch", MFD_CLOEXEC);
	cr_assert_geq(copy, 0);
	cr_assert_eq(pwrite(copy, shm, sizeof(*shm), 0), (ssize_t)sizeof(*shm));
	ntb_shm_unmap(shm);
	cr_assert_eq(ntb_shm_map(copy, &shm), -EPERM);
	cr_assert_eq(ntb_join(a.ntb, copy), -EPERM);
	close(copy);
	close(sw);
	close(fd);
	side_fini(&a);
	side_fini(&b);
}
