/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: the NTB function (devices/ntb) against a hostile peer. The function
 * (IDT or epf personality, DIR or LUT windows: the input's first byte) sits on a PCI root
 * with a DMA-capable neighbour; the harness plays the other vmm process:
 *   - as the rendezvous peer: a hello of its choosing (any field, any number of fds: its
 *     RAM memfd of any size, an eventfd, a switch-state memfd) on a socketpair, given to
 *     ntb_link_handshake as listener or connector;
 *   - as the owner of the shared control region: arbitrary bytes anywhere in the switch
 *     state except its robust mutex (a peer that scribbles over the mutex can make the lock
 *     wait forever: tests/fuzz/README.md), followed by a kick;
 *   - its guest: stores into its own RAM that the windows map.
 * The guest side drives BAR0 (registers, the config alias, GASA) of any offset and width,
 * config cycles, loads and stores through the windows, and DMA into them by the neighbour.
 * Checked: every window the function maps lies inside the peer memory that is really there
 * (the memfd's size, not the hello's claim), unmaps match maps, and no fd outlives the input.
 *   make fuzz-ntb FUZZ_SECONDS=60      (tests/fuzz/README.md)
 */
#include <dirent.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "devices/ntb/epf.h"
#include "devices/ntb/internal.h"
#include "tests/fuzz/fuzz_util.h"

#define MAX_OPS	     256
#define PEER_RAM     KiB(256)
#define NTB_DEVFN    PCI_DEVFN(3, 0)
#define HELPER_DEVFN PCI_DEVFN(4, 0)

/* link.c's hello, byte for byte (the wire format the peer sends). */
struct hello {
	uint64_t magic;
	uint32_t version, port;
	int32_t pid;
	uint32_t nfds;
	uint64_t mw_size[2];
	uint32_t mw_lut[2];
	uint64_t ram_size;
	uint32_t nregions, personality;
	struct ntb_ram_region region[NTB_MAX_RAM_REGIONS];
};
#define HELLO_MAGIC 0x4f4c4c4548425e4eull

struct wmap {
	bool used;
	uint64_t gpa, size;
	uint8_t *hva;
};

struct rig {
	struct guest_mem mem;
	struct fz_host host;
	struct pci_root root;
	struct pci_dev helper; /* another function: DMA into the windows */
	struct ntb_config cfg;
	struct ntb *ntb;
	struct wmap maps[NTB_LUT_SLOTS * 2 + 4];
	int peer_memfd, peer_kick, peer_shm;
	uint8_t *peer_ram;   /* the harness's own view of the peer RAM */
	struct ntb_shm *shm; /* the harness's mapping of the function's switch state */
	int shm_fd;	     /* which fd that mapping is of */
	uint64_t bar[6], bar_size[6];
};

static bool trace; /* FUZZ_TRACE=1: handshakes and window maps */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_quiet();
	trace = getenv("FUZZ_TRACE") != NULL;
	return 0;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		fz_fail("/proc/self/fd: %s", strerror(errno));
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* ---- the window ops: map/unmap bookkeeping and the real-memory check ---- */

static bool inside_peer_ram(struct rig *r, const uint8_t *hva, uint64_t size)
{
	const struct ntb *n = r->ntb;
	struct stat st;
	uint64_t real;

	if (!n->peer_ram || n->peer_memfd < 0 || fstat(n->peer_memfd, &st))
		return false;
	/* what the mapping can really back: the memfd, not what the hello claimed */
	real = (uint64_t)st.st_size < n->peer_ram_size ? (uint64_t)st.st_size : n->peer_ram_size;
	return hva >= n->peer_ram && (uint64_t)(hva - n->peer_ram) < real &&
	       size <= real - (uint64_t)(hva - n->peer_ram);
}

static int w_map(void *o, uint64_t gpa, uint64_t size, void *hva)
{
	struct rig *r = o;

	if (!inside_peer_ram(r, hva, size))
		fz_fail("ntb maps window 0x%llx+0x%llx onto host %p, outside the peer's memory",
			(unsigned long long)gpa, (unsigned long long)size, hva);
	for (size_t i = 0; i < ARRAY_SIZE(r->maps); i++) {
		struct wmap *m = &r->maps[i];

		if (m->used && fz_overlap(m->gpa, m->size, gpa, size))
			fz_fail("ntb maps window 0x%llx over 0x%llx", (unsigned long long)gpa,
				(unsigned long long)m->gpa);
	}
	if (trace)
		fprintf(stderr, "map 0x%llx+0x%llx at peer RAM + 0x%llx\n", (unsigned long long)gpa,
			(unsigned long long)size,
			(unsigned long long)((uint8_t *)hva - r->ntb->peer_ram));
	for (size_t i = 0; i < ARRAY_SIZE(r->maps); i++)
		if (!r->maps[i].used) {
			r->maps[i] = (struct wmap){true, gpa, size, hva};
			return 0;
		}
	fz_fail("ntb maps more windows than it has");
}

static void w_unmap(void *o, uint64_t gpa, uint64_t size)
{
	struct rig *r = o;

	for (size_t i = 0; i < ARRAY_SIZE(r->maps); i++)
		if (r->maps[i].used && r->maps[i].gpa == gpa && r->maps[i].size == size) {
			r->maps[i].used = false;
			return;
		}
	fz_fail("ntb unmaps window 0x%llx+0x%llx it never mapped", (unsigned long long)gpa,
		(unsigned long long)size);
}

static const struct ntb_window_ops wops = {.map = w_map, .unmap = w_unmap};

/* ---- setup ---- */

static void rig_init(struct rig *r, uint8_t how)
{
	static const struct pci_windows win = {
		.mmio32_base = 0xc0000000,
		.mmio32_size = 0x3ec00000,
		.mmio64_base = 0x800000000ULL,
		.mmio64_size = 64ULL << 30,
		.io_base = 0x1000,
		.io_size = 0xf000,
	};
	static const uint8_t luts[4][2] = {{0, 0}, {12, 0}, {0, 24}, {24, 12}};
	char err[256];

	memset(r, 0, sizeof(*r));
	r->peer_memfd = r->peer_kick = r->peer_shm = r->shm_fd = -1;
	if (fz_mem_init(&r->mem))
		fz_fail("guest RAM: %s", strerror(errno));
	fz_host_init(&r->host, &r->mem);
	pci_root_init(&r->root, &fz_host_ops, &r->host, &r->mem, MEM_ECAM_BASE);
	r->cfg = (struct ntb_config){.name = "ntb0", .port = how & 1 ? 2 : 0};
	if (how & 2) {
		r->cfg.personality = NTB_EPF;
		r->cfg.mw_size[0] = KiB(64);
		r->cfg.mw_size[1] = how & 4 ? KiB(64) : 0;
	} else {
		r->cfg.mw_size[0] = MiB(1);
		r->cfg.mw_size[1] = KiB(128);
		r->cfg.mw_lut[0] = luts[(how >> 2) & 3][0];
		r->cfg.mw_lut[1] = luts[(how >> 2) & 3][1];
		if (r->cfg.mw_lut[0] == 24) /* LUT24 with LUT12 is 36 windows: not allowed */
			r->cfg.mw_lut[1] = 0;
	}
	r->ntb = ntb_create(&r->cfg, &wops, r, err, sizeof(err));
	if (!r->ntb)
		fz_fail("ntb_create: %s", err);
	pci_dev_init(&r->helper, "helper", 0x1234, 0x0004, 0x088000, 0, false);
	if (pci_bus_add(&r->root.bus0, ntb_pci(r->ntb), NTB_DEVFN) ||
	    pci_bus_add(&r->root.bus0, &r->helper, HELPER_DEVFN))
		fz_fail("pci_bus_add");
	if (pci_assign(&r->root, &win, err, sizeof(err)))
		fz_fail("pci_assign: %s", err);
	for (int i = 0; i < 6; i++) {
		r->bar[i] = ntb_pci(r->ntb)->bars[i].mapped_addr;
		r->bar_size[i] = ntb_pci(r->ntb)->bars[i].size;
	}
	/* the peer: its guest RAM and its kick eventfd */
	r->peer_memfd = memfd_create("fuzz-peer-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	r->peer_kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->peer_memfd < 0 || r->peer_kick < 0 || ftruncate(r->peer_memfd, PEER_RAM) ||
	    memfd_seal_shrink(r->peer_memfd))
		fz_fail("peer fds: %s", strerror(errno));
	r->peer_ram = mmap(NULL, PEER_RAM, PROT_READ | PROT_WRITE, MAP_SHARED, r->peer_memfd, 0);
	if (r->peer_ram == MAP_FAILED)
		fz_fail("peer RAM: %s", strerror(errno));
}

static void unmap_shm(struct rig *r)
{
	if (r->shm)
		munmap(r->shm, sizeof(*r->shm));
	r->shm = NULL;
	r->shm_fd = -1;
}

static void rig_fini(struct rig *r)
{
	unmap_shm(r);
	pci_root_destroy(&r->root);
	ntb_destroy(r->ntb);
	for (size_t i = 0; i < ARRAY_SIZE(r->maps); i++)
		if (r->maps[i].used)
			fz_fail("window 0x%llx still mapped after ntb_destroy",
				(unsigned long long)r->maps[i].gpa);
	munmap(r->peer_ram, PEER_RAM);
	close(r->peer_memfd);
	close(r->peer_kick);
	if (r->peer_shm >= 0)
		close(r->peer_shm);
	fz_host_fini(&r->host);
	fz_mem_free(&r->mem);
}

/* The harness's view of the switch state the function is on now. */
static struct ntb_shm *shm_view(struct rig *r)
{
	int fd = ntb_shm_fd(r->ntb);

	if (r->shm && r->shm_fd == fd)
		return r->shm;
	unmap_shm(r);
	r->shm = mmap(NULL, sizeof(*r->shm), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (r->shm == MAP_FAILED)
		fz_fail("mapping the switch state: %s", strerror(errno));
	r->shm_fd = fd;
	return r->shm;
}

/* ---- the peer ---- */

/* Up to 16 bytes at an offset of [base, base + len), never inside [keep, keep_end). */
static void scribble(uint8_t *base, size_t len, size_t keep, size_t keep_end, struct fz *in)
{
	size_t off = fz_u16(in) % len, n = fz_u8(in) % 16 + 1;
	uint8_t b[16];

	fz_bytes(in, b, n);
	for (size_t i = 0; i < n && off + i < len; i++)
		if (off + i < keep || off + i >= keep_end)
			base[off + i] = b[i];
}

/* The peer writes the switch state, but never its mutex (see the top). */
static void scribble_shm(struct ntb_shm *shm, struct fz *in)
{
	size_t lock = offsetof(struct ntb_shm, lock);

	scribble((uint8_t *)shm, sizeof(*shm), lock, lock + sizeof(shm->lock), in);
}

static uint64_t size_of(struct fz *in)
{
	uint8_t s = fz_u8(in);

	switch (s % 6) {
	case 0:
	case 1:
		return PEER_RAM;
	case 2:
		return 2 * PEER_RAM; /* more than the memfd holds */
	case 3:
		return s >> 3 << 12;
	case 4:
		return fz_u32(in);
	default:
		return fz_u64(in);
	}
}

/* The hello the peer sends, and the fds with it; then the handshake, either side. */
static void handshake(struct rig *r, struct fz *in)
{
	uint8_t how = fz_u8(in), nf = fz_u8(in);
	bool listener = how & 1;
	struct hello h = {.magic = HELLO_MAGIC,
			  .version = NTB_SHM_VERSION,
			  .port = r->cfg.port == 0 ? 2 : 0,
			  .pid = (int32_t)getpid() + 1,
			  .nfds = listener ? 2 : 3,
			  .mw_size = {r->cfg.mw_size[0], r->cfg.mw_size[1]},
			  .mw_lut = {r->cfg.mw_lut[0], r->cfg.mw_lut[1]},
			  .ram_size = PEER_RAM,
			  .nregions = 2,
			  .personality = r->cfg.personality,
			  .region = {{0, PEER_RAM / 2, 0}, {GiB(4), PEER_RAM / 2, PEER_RAM / 2}}};
	int sv[2], fds[4], nfds = listener ? 2 : 3, shm = -1, extra = -1, unsealed = -1;
	char cbuf[CMSG_SPACE(sizeof(fds))] = {0};
	struct iovec iov = {.iov_base = &h, .iov_len = sizeof(h)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *c;
	struct ntb_ram own;
	int ret;

	if (how & 2) /* a hello that lies */
		scribble((uint8_t *)&h, sizeof(h), 0, 0, in);
	if (how & 4) {
		h.ram_size = size_of(in);
		h.nregions = fz_u8(in) % 6;
		for (unsigned i = 0; i < h.nregions && i < NTB_MAX_RAM_REGIONS && (how & 8); i++) {
			h.region[i].gpa = (uint64_t)fz_u8(in) << 28;
			h.region[i].size = size_of(in);
			h.region[i].offset = (uint64_t)fz_u8(in) << 12;
		}
	}
	if (how & 16)
		h.port = fz_u8(in);
	if (nf & 0x80)
		nfds = nf % 5;
	if (!listener) { /* the switch state a listener hands out: its own, or a mangled one */
		uint8_t lut[2] = {r->cfg.mw_lut[0], r->cfg.mw_lut[1]};

		shm = ntb_shm_create(1u << 0 | 1u << 1, r->cfg.mw_size, lut);
		if (shm < 0)
			fz_fail("ntb_shm_create: %d", shm);
		{
			struct ntb_shm *s =
				mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE, MAP_SHARED, shm, 0);

			if (s == MAP_FAILED)
				fz_fail("mmap");
			s->personality = r->cfg.personality; /* as the creator does */
			for (int k = how & 32 ? fz_u8(in) % 4 : -1; k >= 0; k--)
				scribble_shm(s, in);
			munmap(s, sizeof(*s));
		}
		if (how & 64) { /* a copy the peer can still truncate, of any size */
			int bad = memfd_create("fuzz-bad-switch", MFD_CLOEXEC);
			struct ntb_shm *s;

			if (bad < 0 || ftruncate(bad, sizeof(*s)) < 0)
				fz_fail("bad switch state: %s", strerror(errno));
			s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE, MAP_SHARED, shm, 0);
			if (s == MAP_FAILED || pwrite(bad, s, sizeof(*s), 0) != (ssize_t)sizeof(*s))
				fz_fail("bad switch state copy");
			munmap(s, sizeof(*s));
			if (ftruncate(bad, fz_u16(in)))
				fz_fail("ftruncate");
			close(shm);
			shm = bad;
		}
	}
	if (nf & 0x20) { /* peer RAM it could truncate later: refused (EPERM) */
		unsealed = memfd_create("fuzz-peer-ram-unsealed", MFD_CLOEXEC);
		if (unsealed < 0 || ftruncate(unsealed, PEER_RAM))
			fz_fail("unsealed RAM: %s", strerror(errno));
	}
	extra = eventfd(0, EFD_CLOEXEC);
	fds[0] = nf & 0x40 ? r->peer_kick : r->peer_memfd; /* a RAM fd that is no memfd */
	if (unsealed >= 0)
		fds[0] = unsealed;
	fds[1] = r->peer_kick;
	fds[2] = shm >= 0 ? shm : extra;
	fds[3] = extra;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		fz_fail("socketpair");
	if (nfds) {
		msg.msg_control = cbuf;
		msg.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, (size_t)nfds * sizeof(int));
	}
	if (how & 128) { /* a short hello, then the peer goes away */
		iov.iov_len = fz_u8(in) % sizeof(h);
		if (sendmsg(sv[1], &msg, MSG_NOSIGNAL) < 0 && iov.iov_len)
			fz_fail("sendmsg: %s", strerror(errno));
		shutdown(sv[1], SHUT_WR);
	} else if (sendmsg(sv[1], &msg, MSG_NOSIGNAL) != (ssize_t)sizeof(h)) {
		fz_fail("sendmsg: %s", strerror(errno));
	}
	ntb_ram_from_guest_mem(&own, &r->mem);
	ret = ntb_link_handshake(r->ntb, sv[0], listener, &own);
	if (trace)
		fprintf(stderr, "handshake as %s: %d\n", listener ? "listener" : "connector", ret);
	close(sv[0]);
	close(sv[1]); /* the function's own hello and its fds go with the socket */
	if (shm >= 0)
		close(shm);
	if (unsealed >= 0)
		close(unsealed);
	close(extra);
}

/* ---- the guest side ---- */

static void bar_access(struct rig *r, struct fz *in, int bar)
{
	uint8_t o = fz_u8(in);
	uint64_t off = fz_u32(in) % (r->bar_size[bar] + 16);
	unsigned size = fz_size(in);

	uint64_t v;

	if (r->bar[bar] == ~0ULL)
		return;
	v = fz_cpu_rw(&r->host, BUS_MMIO, r->bar[bar] + off, fz_u64(in), size, !(o & 1));
	if (trace)
		fprintf(stderr, "BAR%d 0x%llx %s %u: 0x%llx\n", bar, (unsigned long long)off,
			o & 1 ? "load" : "store", size, (unsigned long long)v);
}

/* DMA by the neighbour into a window (ntb_window_dma through the PCI core). */
static void helper_dma(struct rig *r, struct fz *in)
{
	uint8_t how = fz_u8(in), buf[512];
	int bar = 2 + (how & 1) * (r->cfg.personality == NTB_EPF ? 1 : 2);
	uint64_t off = fz_u32(in) % (r->bar_size[bar] + 64), len = fz_u16(in) % sizeof(buf) + 1;

	if (r->bar[bar] == ~0ULL)
		return;
	pci_config_write(&r->root, 0, HELPER_DEVFN, PCI_COMMAND, how & 2 ? 0 : 6, 2);
	fz_bytes(in, buf, len);
	if (how & 4)
		pci_dma_write(&r->helper, r->bar[bar] + off, buf, len);
	else
		pci_dma_read(&r->helper, r->bar[bar] + off, buf, len);
}

/* What ntb_hw_idt does for a DIR window: target partition, limit, translated base. */
static void idt_window(struct rig *r, struct fz *in)
{
	uint8_t how = fz_u8(in);
	unsigned bar = how & 1 ? 4 : 2, peer = r->cfg.port == 0 ? 1 : 0;
	uint64_t target = (uint64_t)fz_u8(in) << 12, limit = r->bar[bar] + size_of(in);
	unsigned base = IDT_NT_BARSETUP0 + 16 * bar;

	if (r->bar[0] == ~0ULL || r->cfg.personality != NTB_IDT)
		return;
	if (how & 2)
		target |= GiB(4);
	fz_cpu_rw(&r->host, BUS_MMIO, r->bar[0] + base, peer << 13 | (how & 4 ? 0 : 0x80000000u), 4,
		  true); /* only TPART is writable */
	fz_cpu_rw(&r->host, BUS_MMIO, r->bar[0] + base + 4, limit, 4, true);
	fz_cpu_rw(&r->host, BUS_MMIO, r->bar[0] + base + 4 + 16, limit >> 32, 4, true);
	fz_cpu_rw(&r->host, BUS_MMIO, r->bar[0] + base + 8, target, 4, true);
	fz_cpu_rw(&r->host, BUS_MMIO, r->bar[0] + base + 12, target >> 32, 4, true);
	if (how & 8) { /* a LUT entry instead */
		fz_cpu_rw(&r->host, BUS_MMIO, r->bar[0] + IDT_NT_LUTOFFSET,
			  (uint32_t)bar << 8 | fz_u8(in) % 32, 4, true);
		fz_cpu_rw(&r->host, BUS_MMIO, r->bar[0] + IDT_NT_LUTLDATA, target, 4, true);
		fz_cpu_rw(&r->host, BUS_MMIO, r->bar[0] + IDT_NT_LUTMDATA, target >> 32, 4, true);
		fz_cpu_rw(&r->host, BUS_MMIO, r->bar[0] + IDT_NT_LUTUDATA, 0x80000000u | peer, 4,
			  true);
	}
}

/* ntb_hw_epf's commands: argument, address, size, command. */
static void epf_command(struct rig *r, struct fz *in)
{
	uint64_t b0 = r->bar[0];
	uint32_t cmd = fz_u8(in) % 8, arg = fz_u32(in);
	uint64_t addr = (uint64_t)fz_u8(in) << 12, size = size_of(in);

	if (b0 == ~0ULL || r->cfg.personality != NTB_EPF)
		return;
	fz_cpu_rw(&r->host, BUS_MMIO, b0 + NTB_EPF_ARGUMENT, arg, 4, true);
	fz_cpu_rw(&r->host, BUS_MMIO, b0 + NTB_EPF_LOWER_ADDR, addr, 4, true);
	fz_cpu_rw(&r->host, BUS_MMIO, b0 + NTB_EPF_UPPER_ADDR, addr >> 32, 4, true);
	fz_cpu_rw(&r->host, BUS_MMIO, b0 + NTB_EPF_LOWER_SIZE, size, 4, true);
	fz_cpu_rw(&r->host, BUS_MMIO, b0 + NTB_EPF_UPPER_SIZE, size >> 32, 4, true);
	fz_cpu_rw(&r->host, BUS_MMIO, b0 + NTB_EPF_COMMAND, cmd, 4, true);
}

static void op(struct rig *r, struct fz *in)
{
	uint8_t o = fz_u8(in);

	switch ((o & 0x7f) % 13) {
	case 0:
		handshake(r, in);
		break;
	case 1: /* the peer scribbles over the switch state, then kicks us */
		for (int k = fz_u8(in) % 4; k >= 0; k--)
			scribble_shm(shm_view(r), in);
		ntb_service(r->ntb);
		break;
	case 2: { /* the peer's guest stores into its RAM */
		uint32_t off = fz_u32(in) % PEER_RAM;

		fz_bytes(in, r->peer_ram + off, (PEER_RAM - off) < 16 ? PEER_RAM - off : 16);
		break;
	}
	case 3:
	case 4:
		bar_access(r, in, 0);
		break;
	case 5:
		bar_access(r, in, 1 + fz_u8(in) % 5);
		break;
	case 6: { /* config cycles (IDT: registers from 0x400 too) */
		unsigned off = fz_u16(in) % PCI_CFG_SIZE, size = fz_size(in);

		if (o & 0x80)
			pci_config_read(&r->root, 0, NTB_DEVFN, off, size);
		else
			pci_config_write(&r->root, 0, NTB_DEVFN, off, fz_u32(in), size);
		break;
	}
	case 7:
		helper_dma(r, in);
		break;
	case 8:
		idt_window(r, in);
		break;
	case 9:
		epf_command(r, in);
		break;
	case 10:
		ntb_peer_lost(r->ntb);
		break;
	case 11: { /* the peer kicks */
		uint64_t one = 1;

		if (write(ntb_kick_fd(r->ntb), &one, sizeof(one)) != sizeof(one))
			fz_fail("kick");
		ntb_service(r->ntb);
		break;
	}
	default: /* MSI, bus mastering, memory decode */
		pci_config_write(&r->root, 0, NTB_DEVFN, PCI_COMMAND, fz_u8(in) & 7, 2);
		pci_config_write(&r->root, 0, NTB_DEVFN,
				 r->cfg.personality == NTB_IDT ? IDT_NT_MSICAP + PCI_MSI_FLAGS
							       : ntb_pci(r->ntb)->msix.cap + 2,
				 o & 0x80 ? 0 : (r->cfg.personality == NTB_IDT ? 1 : 0x8000), 2);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = {data, size};
	static struct rig r;
	int fds = count_fds();

	rig_init(&r, fz_u8(&in));
	for (int i = 0; i < MAX_OPS && fz_more(&in); i++)
		op(&r, &in);
	rig_fini(&r);
	if (count_fds() != fds)
		fz_fail("%d fds leaked", count_fds() - fds);
	return 0;
}
