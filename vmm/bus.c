/* SPDX-License-Identifier: MIT */
#include "vmm/bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void bus_init(struct bus *bus, enum bus_space space)
{
	memset(bus, 0, sizeof(*bus));
	bus->space = space;
	pthread_rwlock_init(&bus->lock, NULL);
}

void bus_destroy(struct bus *bus)
{
	free(bus->ranges);
	pthread_rwlock_destroy(&bus->lock);
	memset(bus, 0, sizeof(*bus));
}

/* Index of the first range whose end is above addr (binary search over sorted ranges). */
static int bus_lower_bound(const struct bus *bus, uint64_t addr)
{
	int lo = 0, hi = bus->nranges;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		const struct bus_range *r = &bus->ranges[mid];

		if (addr - r->base >= r->size && addr >= r->base)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int bus_register(struct bus *bus, uint64_t base, uint64_t size, const struct bus_ops *ops,
		 void *opaque, const char *name)
{
	uint64_t last;
	int i, ret = 0;

	if (size == 0 || __builtin_add_overflow(base, size - 1, &last))
		return -EINVAL;
	pthread_rwlock_wrlock(&bus->lock);
	i = bus_lower_bound(bus, base);
	if (i < bus->nranges && bus->ranges[i].base <= last) {
		ret = -EEXIST;
		goto out;
	}
	if (bus->nranges == bus->cap) {
		int cap = bus->cap ? bus->cap * 2 : 16;
		struct bus_range *n = realloc(bus->ranges, (size_t)cap * sizeof(*n));

		if (!n) {
			ret = -ENOMEM;
			goto out;
		}
		bus->ranges = n;
		bus->cap = cap;
	}
	memmove(&bus->ranges[i + 1], &bus->ranges[i],
		(size_t)(bus->nranges - i) * sizeof(bus->ranges[0]));
	bus->ranges[i] = (struct bus_range){base, size, ops, opaque, name};
	bus->nranges++;
out:
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

int bus_unregister(struct bus *bus, uint64_t base)
{
	int i, ret = -ENOENT;

	pthread_rwlock_wrlock(&bus->lock);
	i = bus_lower_bound(bus, base);
	if (i < bus->nranges && bus->ranges[i].base == base) {
		memmove(&bus->ranges[i], &bus->ranges[i + 1],
			(size_t)(bus->nranges - i - 1) * sizeof(bus->ranges[0]));
		bus->nranges--;
		ret = 0;
	}
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

bool bus_dispatch(struct bus *bus, uint64_t addr, uint8_t *data, unsigned size, bool is_write)
{
	const struct bus_range *r = NULL;
	struct bus_range copy;
	uint64_t off;
	int i;

	pthread_rwlock_rdlock(&bus->lock);
	i = bus_lower_bound(bus, addr);
	if (i < bus->nranges && addr >= bus->ranges[i].base) {
		copy = bus->ranges[i];
		r = &copy;
	}
	pthread_rwlock_unlock(&bus->lock);

	if (!r || size == 0 || size > 8) {
		if (!is_write)
			memset(data, 0xff, size > 8 ? 8 : size);
		return false;
	}
	off = addr - r->base;
	/* An access straddling the end of the range is cut to what the device owns. */
	if (size > r->size - off) {
		if (!is_write)
			memset(data, 0xff, size);
		size = (unsigned)(r->size - off);
	}
	if (is_write)
		r->ops->write(r->opaque, off, bus_load_le(data, size), size);
	else
		bus_store_le(data, r->ops->read(r->opaque, off, size), size);
	return true;
}
