/* SPDX-License-Identifier: MIT */
#include "devices/ntb/shm.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/ntb/idt.h"
#include "vmm/util.h"

const uint8_t ntb_ports[NTB_NR_PORTS] = {0, 2, 4, 6, 8, 12};

int ntb_port_index(unsigned port)
{
	for (int i = 0; i < NTB_NR_PORTS; i++)
		if (ntb_ports[i] == port)
			return i;
	return -1;
}

static uint32_t barsetup(const struct ntb_shm *shm, int bar)
{
	uint64_t size;
	uint32_t atran;

	/* BAR0 maps the configuration space (what idt_check_setup insists on). */
	if (bar == 0)
		return IDT_BARSETUP_EN | IDT_BARSETUP_MODE_CFG | IDT_BARSETUP_SIZE_CFG;
	if (bar != 2 && bar != 4)
		return 0;
	size = shm->mw_size[bar == 4];
	if (!size)
		return 0;
	/* ATRAN: the window type idt_scan_mws reads (DIR, LUT12, LUT24) */
	switch (shm->mw_lut[bar == 4]) {
	case 12:
		atran = IDT_BARSETUP_ATRAN_LUT12;
		break;
	case 24:
		atran = IDT_BARSETUP_ATRAN_LUT24;
		break;
	default:
		atran = IDT_BARSETUP_ATRAN_DIR;
	}
	return IDT_BARSETUP_EN | atran | IDT_BARSETUP_PREF | IDT_BARSETUP_TYPE_64 |
	       (uint32_t)__builtin_ctzll(size) << IDT_BARSETUP_SIZE_SHIFT;
}

void ntb_shm_port_reset(struct ntb_shm *shm, int i)
{
	struct ntb_shm_port *p = &shm->port[i];

	memset(&p->pcicmdsts, 0, sizeof(*p) - offsetof(struct ntb_shm_port, pcicmdsts));
	for (int b = 0; b < NTB_NR_BARS; b++)
		p->bar[b][IDT_BAR_SETUP / 4] = (shm->nt_ports & (1u << i)) ? barsetup(shm, b) : 0;
	p->indbellmsk = 0xffffffffu; /* everything masked until a driver says otherwise */
	p->msgstsmsk = 0xffffffffu;
	p->ntintmsk = IDT_NTINTMSK_VALID;
	/* The partition goes away with its host: drop its mapping-table entry. */
	for (int e = 0; e < IDT_MTBL_ENTRY_CNT; e++)
		if ((shm->mtbl[e] & IDT_NTMTBLDATA_VALID) &&
		    ((shm->mtbl[e] & IDT_NTMTBLDATA_PART_MASK) >> IDT_NTMTBLDATA_PART_SHIFT) ==
			    (unsigned)i)
			shm->mtbl[e] = 0;
	for (int m = 0; m < 4; m++)
		shm->msgctl[i][m] = 0;
}

static int init_lock(pthread_mutex_t *m)
{
	pthread_mutexattr_t a;
	int ret;

	pthread_mutexattr_init(&a);
	ret = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	if (!ret)
		ret = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	if (!ret)
		ret = pthread_mutex_init(m, &a);
	pthread_mutexattr_destroy(&a);
	return -ret;
}

int ntb_shm_create(uint32_t nt_ports, const uint64_t mw_size[2], const uint8_t mw_lut[2])
{
	struct ntb_shm *shm;
	int fd, ret;

	fd = memfd_create("vmm-ntb-switch", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, sizeof(*shm)) < 0 || memfd_seal_shrink(fd) < 0)
		goto fail_errno;
	shm = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (shm == MAP_FAILED)
		goto fail_errno;
	ret = init_lock(&shm->lock);
	if (ret) {
		munmap(shm, sizeof(*shm));
		close(fd);
		return ret;
	}
	shm->nt_ports = nt_ports & ((1u << NTB_NR_PORTS) - 1);
	shm->mw_size[0] = mw_size[0];
	shm->mw_size[1] = mw_size[1];
	shm->mw_lut[0] = mw_lut ? mw_lut[0] : 0;
	shm->mw_lut[1] = mw_lut ? mw_lut[1] : 0;
	for (int i = 0; i < NTB_NR_PORTS; i++)
		ntb_shm_port_reset(shm, i);
	shm->semsk = shm->sepmsk = 0xffffffffu;
	shm->selinkupmsk = shm->selinkdnmsk = shm->segsigmsk = 0xffffffffu;
	/* A sensor at 45.5 C that has seen 38 C to 52 C; alarms at 0 and 127.5 C. */
	shm->tmpalarm = IDT_TMP_DEG(52) << 16 | IDT_TMP_DEG(38) << 8;
	shm->tsslope = 0;
	/* Written last: a mapper that sees the magic sees an initialised region. */
	shm->size = sizeof(*shm);
	shm->version = NTB_SHM_VERSION;
	__atomic_store_n(&shm->magic, NTB_SHM_MAGIC, __ATOMIC_RELEASE);
	munmap(shm, sizeof(*shm));
	return fd;
fail_errno:
	ret = -errno;
	close(fd);
	return ret;
}

static void mark_broken(const struct ntb_shm *shm, bool on);

int ntb_shm_map(int fd, struct ntb_shm **out)
{
	struct stat st;
	struct ntb_shm *shm;

	if (fstat(fd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size < sizeof(*shm))
		return -EPROTO;
	/* the peer that handed it over must not be able to shrink it under our mapping */
	if (!memfd_shrink_sealed(fd))
		return -EPERM;
	shm = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (shm == MAP_FAILED)
		return -errno;
	if (__atomic_load_n(&shm->magic, __ATOMIC_ACQUIRE) != NTB_SHM_MAGIC ||
	    shm->version != NTB_SHM_VERSION || shm->size != sizeof(*shm)) {
		munmap(shm, sizeof(*shm));
		return -EPROTO;
	}
	*out = shm;
	return 0;
}

void ntb_shm_unmap(struct ntb_shm *shm)
{
	if (!shm)
		return;
	mark_broken(shm, false); /* the address may be reused by the next mapping */
	munmap(shm, sizeof(*shm));
}

/*
 * The lock lives in memory the peer can write, so a lock error (EINVAL, ENOTRECOVERABLE: a
 * mutex no well-behaved process leaves behind) is the peer's fault and never fatal here. The
 * mapping is marked broken in this process (never in the region, which the peer could clear
 * again), the caller goes on without the lock (every field it reads from the region is
 * checked anyway: the peer writes them), and the link thread takes the link down
 * (ntb_shm_broken). Each thread remembers the regions it "locked" that way, so that
 * ntb_shm_unlock does not unlock a mutex it does not hold.
 */
#define NTB_SHM_MAX_BROKEN 16
#define NTB_SHM_MAX_NESTED 4 /* ntb_join holds two regions at once */

static pthread_mutex_t broken_lock = PTHREAD_MUTEX_INITIALIZER;
static const struct ntb_shm *broken[NTB_SHM_MAX_BROKEN];
static __thread const struct ntb_shm *unlocked[NTB_SHM_MAX_NESTED];

static void mark_broken(const struct ntb_shm *shm, bool on)
{
	pthread_mutex_lock(&broken_lock);
	for (int i = 0; i < NTB_SHM_MAX_BROKEN; i++) {
		if (on && !broken[i]) {
			broken[i] = shm;
			break;
		}
		if (!on && broken[i] == shm)
			broken[i] = NULL;
	}
	pthread_mutex_unlock(&broken_lock);
}

bool ntb_shm_broken(const struct ntb_shm *shm)
{
	bool found = false;

	pthread_mutex_lock(&broken_lock);
	for (int i = 0; i < NTB_SHM_MAX_BROKEN && !found; i++)
		found = shm && broken[i] == shm;
	pthread_mutex_unlock(&broken_lock);
	return found;
}

int ntb_shm_repair(struct ntb_shm *shm)
{
	int ret;

	if (!ntb_shm_broken(shm))
		return 0;
	ret = init_lock(&shm->lock);
	if (!ret) {
		mark_broken(shm, false);
		pr_warn("ntb: switch state lock re-initialised after the peer broke it");
	}
	return ret;
}

void ntb_shm_lock(struct ntb_shm *shm)
{
	int ret = pthread_mutex_lock(&shm->lock);

	if (ret == EOWNERDEAD) {
		/* The owner died mid-update. Every update is a few word stores that leave the
		 * registers meaningful, so mark the lock usable and go on. */
		pthread_mutex_consistent(&shm->lock);
		shm->lock_recoveries++;
		pr_warn("ntb: switch state lock recovered from a dead process");
	} else if (ret) {
		if (!ntb_shm_broken(shm))
			pr_ratelimited("ntb: switch state lock: %s: the peer broke it; the link "
				       "goes down",
				       strerror(ret));
		mark_broken(shm, true);
		for (int i = 0; i < NTB_SHM_MAX_NESTED; i++)
			if (!unlocked[i]) {
				unlocked[i] = shm;
				break;
			}
	}
}

void ntb_shm_unlock(struct ntb_shm *shm)
{
	for (int i = 0; i < NTB_SHM_MAX_NESTED; i++)
		if (unlocked[i] == shm) {
			unlocked[i] = NULL;
			return;
		}
	pthread_mutex_unlock(&shm->lock);
}

uint32_t ntb_shm_switch_event(struct ntb_shm *shm, uint32_t type, unsigned bit)
{
	uint32_t srcmask, kicked = 0;
	int src_idx = -1;

	if (type == IDT_SE_GSIGNAL) {
		shm->segsigsts |= 1u << bit;
		srcmask = shm->segsigmsk;
		src_idx = (int)bit; /* partition i is port index i */
	} else if (type == IDT_SE_LINKUP) {
		shm->selinkupsts |= 1u << bit;
		srcmask = shm->selinkupmsk;
		src_idx = ntb_port_index(bit);
	} else {
		shm->selinkdnsts |= 1u << bit;
		srcmask = shm->selinkdnmsk;
		src_idx = ntb_port_index(bit);
	}
	if ((srcmask & (1u << bit)) || (shm->semsk & type))
		return 0;
	for (int i = 0; i < NTB_NR_PORTS; i++) {
		struct ntb_shm_port *p = &shm->port[i];

		if (i == src_idx || !(shm->nt_ports & (1u << i)) || !p->attached ||
		    (shm->sepmsk & (1u << i)))
			continue;
		if (!p->sevent)
			kicked |= 1u << i;
		p->sevent = 1;
	}
	return kicked;
}
