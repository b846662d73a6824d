/* SPDX-License-Identifier: MIT */
/*
 * What the libFuzzer harnesses share: a reader that decodes the fuzz input into operands
 * (missing bytes read as 0, so every input is a valid program), guest RAM with guard pages
 * around each region, and a PCI host like the machine's (trapped BARs on real struct bus
 * instances, RAM BARs as memslots) with checks that the PCI core keeps its promises.
 *
 * Everything is single-threaded and rebuilt for every input, so a crash reproduces from
 * the input alone. A broken promise calls fz_fail(), which aborts: libFuzzer keeps the input.
 */
#ifndef TESTS_FUZZ_UTIL_H
#define TESTS_FUZZ_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <sanitizer/common_interface_defs.h>

#include "vmm/bus.h"
#include "vmm/mem.h"
#include "vmm/pci/pci.h"
#include "vmm/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Through the sanitizer's report fd: make fuzz closes stderr (-close_fd_mask=2) so that the
 * device's error messages do not drown libFuzzer's output. */
#define fz_fail(...)                                                                               \
	do {                                                                                       \
		char fz_msg_[512];                                                                 \
		snprintf(fz_msg_, sizeof(fz_msg_), "fuzz oracle: " __VA_ARGS__);                   \
		__sanitizer_report_error_summary(fz_msg_);                                         \
		abort();                                                                           \
	} while (0)

/* ---- the input ---- */

struct fz {
	const uint8_t *p;
	size_t n;
};

static inline bool fz_more(const struct fz *f)
{
	return f->n > 0;
}

static inline uint64_t fz_uint(struct fz *f, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes; i++) {
		if (!f->n)
			break;
		v |= (uint64_t)*f->p++ << (8 * i);
		f->n--;
	}
	return v;
}

static inline uint8_t fz_u8(struct fz *f)
{
	return (uint8_t)fz_uint(f, 1);
}

static inline uint16_t fz_u16(struct fz *f)
{
	return (uint16_t)fz_uint(f, 2);
}

static inline uint32_t fz_u32(struct fz *f)
{
	return (uint32_t)fz_uint(f, 4);
}

static inline uint64_t fz_u64(struct fz *f)
{
	return fz_uint(f, 8);
}

/* Up to len bytes of input into buf, the rest zeroes; returns how many came from the input. */
static inline size_t fz_bytes(struct fz *f, void *buf, size_t len)
{
	size_t n = len < f->n ? len : f->n;

	memcpy(buf, f->p, n);
	memset((uint8_t *)buf + n, 0, len - n);
	f->p += n;
	f->n -= n;
	return n;
}

/* An access size the way a vCPU issues them (1, 2, 4, 8), and now and then an odd one. */
static inline unsigned fz_size(struct fz *f)
{
	static const unsigned sizes[8] = {1, 2, 4, 8, 4, 4, 3, 0};

	return sizes[fz_u8(f) & 7];
}

/* ---- guest RAM: FZ_RAM_LOW at 0 and FZ_RAM_HIGH at 4 GiB, each between guard pages ---- */

#define FZ_RAM_LOW  MiB(3)
#define FZ_RAM_HIGH MiB(1)
#define FZ_GUARD    KiB(64)

/* One memfd (an NTB peer maps it), two mappings; mem->base is the low one. */
static inline int fz_mem_init(struct guest_mem *mem)
{
	uint64_t span = FZ_GUARD + FZ_RAM_LOW + FZ_GUARD + FZ_RAM_HIGH + FZ_GUARD;
	uint8_t *r, *lo, *hi;

	memset(mem, 0, sizeof(*mem));
	mem->memfd = memfd_create("fuzz-guest-ram", MFD_CLOEXEC);
	if (mem->memfd < 0 || ftruncate(mem->memfd, (off_t)(FZ_RAM_LOW + FZ_RAM_HIGH)))
		return -errno;
	r = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (r == MAP_FAILED)
		return -errno;
	lo = mmap(r + FZ_GUARD, FZ_RAM_LOW, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		  mem->memfd, 0);
	hi = mmap(r + 2 * FZ_GUARD + FZ_RAM_LOW, FZ_RAM_HIGH, PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_FIXED, mem->memfd, (off_t)FZ_RAM_LOW);
	if (lo == MAP_FAILED || hi == MAP_FAILED)
		return -errno;
	mem->base = lo;
	mem->size = FZ_RAM_LOW + FZ_RAM_HIGH;
	mem->nregions = 2;
	mem->regions[0] = (struct mem_region){.gpa = 0, .size = FZ_RAM_LOW, .hva = lo};
	mem->regions[1] = (struct mem_region){
		.gpa = MEM_HOLE_END, .size = FZ_RAM_HIGH, .hva = hi, .offset = FZ_RAM_LOW};
	return 0;
}

static inline void fz_mem_free(struct guest_mem *mem)
{
	if (mem->base)
		munmap(mem->base - FZ_GUARD,
		       FZ_GUARD + FZ_RAM_LOW + FZ_GUARD + FZ_RAM_HIGH + FZ_GUARD);
	if (mem->memfd >= 0)
		close(mem->memfd);
	memset(mem, 0, sizeof(*mem));
	mem->memfd = -1;
}

/* ---- the PCI host: what machine.c gives the PCI core, with its promises checked ---- */

#define FZ_MAX_MAPS 64

struct fz_map {
	bool used, ram;
	enum bus_space space;
	uint64_t addr, size;
	void *hva;
};

struct fz_host {
	const struct guest_mem *mem;
	struct bus mmio, pio;
	struct fz_map maps[FZ_MAX_MAPS];
	unsigned nmsi, nintx;
	int gsi_level[32];
};

static inline bool fz_overlap(uint64_t a, uint64_t asize, uint64_t b, uint64_t bsize)
{
	return a <= b + (bsize - 1) && b <= a + (asize - 1);
}

static inline struct fz_map *fz_map_add(struct fz_host *h, bool ram, enum bus_space space,
					uint64_t addr, uint64_t size, void *hva)
{
	uint64_t end;

	if (!size || add_overflows_u64(addr, size - 1, &end))
		fz_fail("PCI core maps an empty or wrapping range 0x%llx+0x%llx",
			(unsigned long long)addr, (unsigned long long)size);
	for (int i = 0; i < FZ_MAX_MAPS; i++) {
		struct fz_map *m = &h->maps[i];

		/* pci_map.c find_conflict: a BAR never goes over a BAR mapped now */
		if (m->used && m->space == space && fz_overlap(m->addr, m->size, addr, size))
			fz_fail("PCI core maps 0x%llx+0x%llx over 0x%llx+0x%llx",
				(unsigned long long)addr, (unsigned long long)size,
				(unsigned long long)m->addr, (unsigned long long)m->size);
	}
	for (int i = 0; i < FZ_MAX_MAPS; i++)
		if (!h->maps[i].used) {
			h->maps[i] = (struct fz_map){true, ram, space, addr, size, hva};
			return &h->maps[i];
		}
	fz_fail("PCI core keeps more than %d ranges mapped", FZ_MAX_MAPS);
}

static inline struct fz_map *fz_map_find(struct fz_host *h, bool ram, enum bus_space space,
					 uint64_t addr)
{
	for (int i = 0; i < FZ_MAX_MAPS; i++) {
		struct fz_map *m = &h->maps[i];

		if (m->used && m->ram == ram && m->space == space && m->addr == addr)
			return m;
	}
	fz_fail("PCI core unmaps %s 0x%llx, which it never mapped", ram ? "RAM" : "trap",
		(unsigned long long)addr);
}

static inline int fz_map_trap(void *o, enum bus_space space, uint64_t addr, uint64_t size,
			      const struct bus_ops *ops, void *dev_opaque, const char *name)
{
	struct fz_host *h = o;
	struct fz_map *m = fz_map_add(h, false, space, addr, size, NULL);
	int ret = bus_register(space == BUS_PIO ? &h->pio : &h->mmio, addr, size, ops, dev_opaque,
			       name);

	if (ret)
		m->used = false; /* over a fixed range (ECAM, 0xCF8): refused as in the machine */
	return ret;
}

static inline void fz_unmap_trap(void *o, enum bus_space space, uint64_t addr)
{
	struct fz_host *h = o;

	fz_map_find(h, false, space, addr)->used = false;
	bus_unregister(space == BUS_PIO ? &h->pio : &h->mmio, addr);
}

static inline int fz_map_ram(void *o, uint64_t addr, uint64_t size, void *hva)
{
	struct fz_host *h = o;

	/* KVM refuses a memslot over another one (guest RAM): -EEXIST, as vm_add_memslot */
	for (int i = 0; h->mem && i < h->mem->nregions; i++)
		if (fz_overlap(h->mem->regions[i].gpa, h->mem->regions[i].size, addr, size))
			return -EEXIST;
	fz_map_add(h, true, BUS_MMIO, addr, size, hva);
	return 0;
}

static inline void fz_unmap_ram(void *o, uint64_t addr)
{
	fz_map_find(o, true, BUS_MMIO, addr)->used = false;
}

static inline void fz_msi(void *o, uint64_t addr, uint32_t data)
{
	((struct fz_host *)o)->nmsi++;
}

static inline void fz_intx(void *o, uint32_t gsi, int level)
{
	struct fz_host *h = o;

	if (gsi >= 32 || (level != 0 && level != 1))
		fz_fail("INTx gsi %u level %d", gsi, level);
	/* pci_intx_update: the host hears each GSI's wired-OR edges only */
	if (h->gsi_level[gsi] == level)
		fz_fail("INTx gsi %u set to %d twice", gsi, level);
	h->gsi_level[gsi] = level;
	h->nintx++;
}

static const struct pci_host_ops fz_host_ops UNUSED = {
	.map_trap = fz_map_trap,
	.unmap_trap = fz_unmap_trap,
	.map_ram = fz_map_ram,
	.unmap_ram = fz_unmap_ram,
	.msi = fz_msi,
	.intx = fz_intx,
};

static inline void fz_host_init(struct fz_host *h, const struct guest_mem *mem)
{
	memset(h, 0, sizeof(*h));
	h->mem = mem;
	bus_init(&h->mmio, BUS_MMIO);
	bus_init(&h->pio, BUS_PIO);
}

static inline void fz_host_fini(struct fz_host *h)
{
	bus_destroy(&h->mmio);
	bus_destroy(&h->pio);
}

/* Host memory for a vCPU access: guest RAM, then RAM BARs (memslots win over MMIO). */
static inline uint8_t *fz_cpu_ram(struct fz_host *h, uint64_t addr, uint64_t len)
{
	uint64_t off;

	if (h->mem) {
		void *p = mem_gpa_to_hva(h->mem, addr, len);

		if (p)
			return p;
	}
	for (int i = 0; i < FZ_MAX_MAPS; i++) {
		struct fz_map *m = &h->maps[i];

		if (m->used && m->ram && as_range_offset(m->addr, m->size, addr, len, &off))
			return (uint8_t *)m->hva + off;
	}
	return NULL;
}

/* One vCPU access of 1..8 bytes, as KVM and vmm/bus.c deliver it. */
static inline uint64_t fz_cpu_rw(struct fz_host *h, enum bus_space space, uint64_t addr,
				 uint64_t val, unsigned size, bool write)
{
	uint8_t b[8] = {0};
	uint8_t *p;

	if (size == 0 || size > 8)
		return 0;
	p = space == BUS_MMIO ? fz_cpu_ram(h, addr, size) : NULL;
	if (p) {
		if (write)
			memcpy(p, &val, size);
		else
			memcpy(b, p, size);
		return bus_load_le(b, size);
	}
	bus_store_le(b, val, size);
	bus_dispatch(space == BUS_PIO ? &h->pio : &h->mmio, addr, b, size, write);
	return bus_load_le(b, size);
}

/* A guest store of len bytes (8-byte pieces), or a load. */
static inline void fz_cpu_copy(struct fz_host *h, uint64_t addr, void *buf, uint64_t len,
			       bool write)
{
	uint8_t *b = buf;

	for (uint64_t done = 0; done < len;) {
		unsigned n = len - done < 8 ? (unsigned)(len - done) : 8;
		uint64_t v = 0;

		if (write) {
			memcpy(&v, b + done, n);
			fz_cpu_rw(h, BUS_MMIO, addr + done, v, n, true);
		} else {
			v = fz_cpu_rw(h, BUS_MMIO, addr + done, 0, n, false);
			memcpy(b + done, &v, n);
		}
		done += n;
	}
}

/* ---- DMA oracle: a host pointer the address space gave must lie in a known buffer ---- */

struct fz_buf {
	const void *p;
	uint64_t len;
};

static inline void fz_check_hva(const struct fz_buf *bufs, int n, const void *hva, uint64_t len,
				const char *what, uint64_t addr)
{
	uintptr_t a = (uintptr_t)hva;

	if (len == 0)
		len = 1;
	for (int i = 0; i < n; i++) {
		uintptr_t b = (uintptr_t)bufs[i].p;

		if (bufs[i].p && a >= b && a - b < bufs[i].len && len <= bufs[i].len - (a - b))
			return;
	}
	fz_fail("%s: bus address 0x%llx+0x%llx resolved to host %p, outside every buffer", what,
		(unsigned long long)addr, (unsigned long long)len, hva);
}

static inline void fz_quiet(void)
{
	/* Guest errors are logged rate-limited; the fuzzer would print nothing else. */
	log_threshold = LOG_ERROR;
}

#endif
