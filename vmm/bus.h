/* SPDX-License-Identifier: MIT */
/*
 * Port I/O and MMIO dispatch. Devices register a range with read/write handlers; the vCPU
 * loop hands every KVM_EXIT_IO / KVM_EXIT_MMIO to bus_dispatch(). Handlers get the offset
 * inside their range and the access size (1, 2, 4 or 8). Accesses nobody claims read as all
 * ones and are ignored on write, like an unclaimed bus cycle on real hardware.
 */
#ifndef VMM_BUS_H
#define VMM_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

enum bus_space { BUS_PIO, BUS_MMIO };

struct bus_ops {
	/* Return the value read (low `size` bytes are used). */
	uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
	void (*write)(void *opaque, uint64_t offset, uint64_t value, unsigned size);
};

struct bus_range {
	uint64_t base;
	uint64_t size;
	const struct bus_ops *ops;
	void *opaque;
	const char *name;
};

struct bus {
	enum bus_space space;
	pthread_rwlock_t lock;
	struct bus_range *ranges; /* sorted by base, non-overlapping */
	int nranges, cap;
};

void bus_init(struct bus *bus, enum bus_space space);
void bus_destroy(struct bus *bus);
/* 0, or -EEXIST when [base, base+size) overlaps a registered range, -EINVAL for size 0. */
int bus_register(struct bus *bus, uint64_t base, uint64_t size, const struct bus_ops *ops,
		 void *opaque, const char *name);
int bus_unregister(struct bus *bus, uint64_t base);
/* Returns true when a device claimed the access. `data` is little-endian, `size` bytes. */
bool bus_dispatch(struct bus *bus, uint64_t addr, uint8_t *data, unsigned size, bool is_write);

/* Little-endian helpers for handlers that keep byte-addressed register files. */
static inline uint64_t bus_load_le(const uint8_t *p, unsigned size)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static inline void bus_store_le(uint8_t *p, uint64_t v, unsigned size)
{
	for (unsigned i = 0; i < size; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

#endif
