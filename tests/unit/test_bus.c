/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "vmm/bus.h"

struct rec {
	uint64_t last_off, last_val;
	unsigned last_size, writes, reads;
	uint64_t read_val;
};

static uint64_t rec_read(void *o, uint64_t off, unsigned size)
{
	struct rec *r = o;

	r->reads++;
	r->last_off = off;
	r->last_size = size;
	return r->read_val;
}

static void rec_write(void *o, uint64_t off, uint64_t val, unsigned size)
{
	struct rec *r = o;

	r->writes++;
	r->last_off = off;
	r->last_val = val;
	r->last_size = size;
}

static const struct bus_ops rec_ops = {.read = rec_read, .write = rec_write};

Test(bus, dispatch_passes_offset_size_and_little_endian_value)
{
	struct bus b;
	struct rec r = {.read_val = 0x11223344};
	uint8_t data[8] = {0x78, 0x56, 0x34, 0x12};

	bus_init(&b, BUS_PIO);
	cr_assert_eq(bus_register(&b, 0x3f8, 8, &rec_ops, &r, "uart"), 0);
	cr_assert(bus_dispatch(&b, 0x3fa, data, 2, true));
	cr_assert_eq(r.last_off, 2);
	cr_assert_eq(r.last_size, 2);
	cr_assert_eq(r.last_val, 0x5678);
	cr_assert(bus_dispatch(&b, 0x3f8, data, 4, false));
	cr_assert_eq(data[0], 0x44);
	cr_assert_eq(data[3], 0x11);
	bus_destroy(&b);
}

Test(bus, unclaimed_reads_are_all_ones_and_writes_ignored)
{
	struct bus b;
	uint8_t data[4] = {0};

	bus_init(&b, BUS_MMIO);
	cr_assert_not(bus_dispatch(&b, 0x1000, data, 4, false));
	cr_assert_eq(data[0] & data[1] & data[2] & data[3], 0xff);
	cr_assert_not(bus_dispatch(&b, 0x1000, data, 4, true));
	bus_destroy(&b);
}

Test(bus, overlapping_registration_is_refused)
{
	struct bus b;
	struct rec r = {0};

	bus_init(&b, BUS_MMIO);
	cr_assert_eq(bus_register(&b, 0x1000, 0x100, &rec_ops, &r, "a"), 0);
	cr_assert_eq(bus_register(&b, 0x10ff, 0x10, &rec_ops, &r, "b"), -EEXIST);
	cr_assert_eq(bus_register(&b, 0xff0, 0x11, &rec_ops, &r, "c"), -EEXIST);
	cr_assert_eq(bus_register(&b, 0x1100, 0x10, &rec_ops, &r, "d"), 0);
	cr_assert_eq(bus_register(&b, 0xff0, 0x10, &rec_ops, &r, "e"), 0);
	cr_assert_eq(bus_register(&b, 0, 0, &rec_ops, &r, "empty"), -EINVAL);
	cr_assert_eq(bus_register(&b, UINT64_MAX, 2, &rec_ops, &r, "wraps"), -EINVAL);
	bus_destroy(&b);
}

Test(bus, many_ranges_each_find_their_own_device)
{
	struct bus b;
	struct rec r[64] = {0};
	uint8_t d[1] = {0};

	bus_init(&b, BUS_PIO);
	/* registered out of order */
	for (int i = 0; i < 64; i++) {
		int k = (i * 37) % 64;
		cr_assert_eq(bus_register(&b, 0x100 + (uint64_t)k * 0x10, 8, &rec_ops, &r[k], "x"),
			     0);
	}
	for (int k = 0; k < 64; k++) {
		cr_assert(bus_dispatch(&b, 0x100 + (uint64_t)k * 0x10 + 7, d, 1, true));
		cr_assert_eq(r[k].writes, 1);
		cr_assert_eq(r[k].last_off, 7);
		/* the gap after each 8-byte range belongs to nobody */
		cr_assert_not(bus_dispatch(&b, 0x100 + (uint64_t)k * 0x10 + 8, d, 1, true));
	}
	cr_assert_eq(bus_unregister(&b, 0x100), 0);
	cr_assert_not(bus_dispatch(&b, 0x100, d, 1, true));
	cr_assert_eq(bus_unregister(&b, 0x100), -ENOENT);
	bus_destroy(&b);
}

Test(bus, access_straddling_the_end_is_cut_to_the_device)
{
	struct bus b;
	struct rec r = {.read_val = 0xabcd};
	uint8_t d[4] = {1, 2, 3, 4};

	bus_init(&b, BUS_MMIO);
	cr_assert_eq(bus_register(&b, 0x2000, 2, &rec_ops, &r, "small"), 0);
	cr_assert(bus_dispatch(&b, 0x2001, d, 4, false));
	cr_assert_eq(r.last_size, 1);
	cr_assert_eq(d[0], 0xcd);
	cr_assert_eq(d[1], 0xff);
	cr_assert_eq(d[3], 0xff);
	bus_destroy(&b);
}
