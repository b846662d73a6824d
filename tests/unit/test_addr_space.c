/* SPDX-License-Identifier: MIT */
/* The bus-address space: one sorted set of regions and its one checked lookup. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "devices/ntb/internal.h"
#include "vmm/addr_space.h"
#include "vmm/util.h"

static uint8_t ram[0x4000], bar[0x1000];
static struct addr_space as;

static void setup(void)
{
	as_init(&as);
}

static void teardown(void)
{
	as_destroy(&as);
}

TestSuite(addr_space, .init = setup, .fini = teardown);

static int fake_rw(void *opaque, uint64_t off, void *buf, uint64_t len, bool write)
{
	return 0;
}

static void *ram_at(uint64_t addr, uint64_t len)
{
	struct as_target t = as_map(&as, NULL, addr, len);

	return t.kind == AS_RAM ? t.hva : NULL;
}

Test(addr_space, empty_space_reaches_nothing)
{
	cr_assert_eq(as_map(&as, NULL, 0, 1).kind, AS_NONE);
	cr_assert_eq(as_map(&as, NULL, UINT64_MAX, 0).kind, AS_NONE);
}

Test(addr_space, ram_region_edges_and_hostile_lengths)
{
	struct as_region r = {.base = 0x10000, .size = sizeof(ram), .hva = ram};

	cr_assert_eq(as_rebuild(&as, &r, 1), 0);
	cr_assert_eq(ram_at(0x10000, 1), ram);
	cr_assert_eq(ram_at(0x10000, sizeof(ram)), ram);
	cr_assert_eq(ram_at(0x13fff, 1), ram + 0x3fff, "the last byte");
	cr_assert_null(ram_at(0x13fff, 2), "one byte past the end");
	cr_assert_null(ram_at(0x14000, 0), "len 0 still names the byte past the end");
	cr_assert_eq(ram_at(0x10000, 0), ram, "len 0 inside counts as one byte");
	cr_assert_null(ram_at(0xffff, 2), "starts before");
	cr_assert_null(ram_at(0x10000, UINT64_MAX), "len that wraps");
	cr_assert_null(ram_at(UINT64_MAX, 1));
	cr_assert_null(ram_at(UINT64_MAX - 1, 8), "addr + len wraps to inside the region");
	cr_assert_null(ram_at(0x10008, UINT64_MAX - 0x10000), "wraps from inside");
}

Test(addr_space, adjacent_regions_do_not_merge)
{
	struct as_region v[] = {
		{.base = 0x2000, .size = 0x1000, .hva = bar},
		{.base = 0x1000, .size = 0x1000, .hva = ram},
	};

	cr_assert_eq(as_rebuild(&as, v, 2), 0);
	cr_assert_eq(ram_at(0x1fff, 1), ram + 0xfff);
	cr_assert_eq(ram_at(0x2000, 1), bar);
	cr_assert_null(ram_at(0x1ff8, 16), "an access that spans two regions");
	cr_assert_null(ram_at(0xfff, 1));
	cr_assert_null(ram_at(0x3000, 1));
}

Test(addr_space, overlapping_regions_keep_the_first_listed)
{
	struct as_region v[] = {
		{.base = 0x0, .size = sizeof(ram), .hva = ram},	      /* guest RAM */
		{.base = 0x3000, .size = sizeof(bar), .hva = bar},    /* a BAR on top of its end */
		{.base = 0x3800, .size = 0x1000, .rw = fake_rw},      /* and one on top of both */
		{.base = 0x4000, .size = sizeof(bar), .rw = fake_rw}, /* adjacent: fine */
	};

	cr_assert_eq(as_rebuild(&as, v, 4), 2, "two left out");
	cr_assert_eq(ram_at(0x3000, 16), ram + 0x3000, "RAM wins");
	cr_assert_eq(as_map(&as, NULL, 0x4000, 4).kind, AS_HANDLER);
	cr_assert_eq(as.n, 2);
}

Test(addr_space, regions_that_wrap_or_are_empty_are_left_out)
{
	struct as_region v[] = {
		{.base = UINT64_MAX - 0xfff, .size = 0x2000, .hva = ram}, /* end past 2^64 */
		{.base = 0x5000, .size = 0, .hva = ram},
		{.base = AS_OFF, .size = 0x1000, .hva = ram},
	};

	cr_assert_eq(as_rebuild(&as, v, 3), 0);
	cr_assert_eq(as.n, 0);
	cr_assert_null(ram_at(UINT64_MAX - 0xfff, 1));
	cr_assert_null(ram_at(0x5000, 1));
}

Test(addr_space, handler_gets_the_offset_in_its_region)
{
	int tag;
	struct as_region r = {.base = 0xc0000000, .size = 0x4000, .rw = fake_rw, .opaque = &tag};
	struct as_target t;

	as_rebuild(&as, &r, 1);
	t = as_map(&as, NULL, 0xc0001234, 8);
	cr_assert_eq(t.kind, AS_HANDLER);
	cr_assert_eq(t.rw, fake_rw);
	cr_assert_eq(t.opaque, &tag);
	cr_assert_eq(t.off, 0x1234);
	cr_assert_eq(as_map(&as, NULL, 0xc0003ffc, 8).kind, AS_NONE, "runs past it");
}

Test(addr_space, requester_own_memory_first_own_bars_never_bus_only_when_enabled)
{
	static uint8_t cmb[0x1000];
	int self, peer;
	uint8_t command = 0;
	struct as_region own = {.base = 0x3000, .size = sizeof(cmb), .hva = cmb};
	struct as_region v[] = {
		{.base = 0x0, .size = sizeof(ram), .hva = ram},
		{.base = 0x8000, .size = sizeof(bar), .hva = bar, .owner = &self},
		{.base = 0x9000, .size = 0x1000, .rw = fake_rw, .owner = &self},
		{.base = 0xa000, .size = 0x1000, .hva = bar, .owner = &peer},
	};
	struct as_requester req = {
		.id = &self, .own = &own, .nown = 1, .enable = &command, .enable_mask = 4};

	as_rebuild(&as, v, 4);
	/* its own memory space hides the RAM under it, and needs no bus mastering */
	cr_assert_eq(as_map(&as, &req, 0x3010, 4).hva, cmb + 0x10);
	cr_assert_eq(as_map(&as, &req, 0x10, 4).kind, AS_NONE, "bus master off");
	command = 4;
	cr_assert_eq(as_map(&as, &req, 0x10, 4).hva, ram + 0x10);
	cr_assert_eq(as_map(&as, &req, 0x3010, 4).hva, cmb + 0x10);
	cr_assert_eq(as_map(&as, &req, 0x8000, 4).kind, AS_NONE, "its own RAM BAR");
	cr_assert_eq(as_map(&as, &req, 0x9000, 4).kind, AS_NONE, "its own handler BAR");
	cr_assert_eq(as_map(&as, &req, 0xa000, 4).hva, bar, "a peer's BAR");
	cr_assert_eq(as_map(&as, NULL, 0x8000, 4).hva, bar, "the CPU reaches every BAR");
	/* the owner turns its memory space off: the RAM below shows again */
	__atomic_store_n(&own.base, AS_OFF, __ATOMIC_RELEASE);
	cr_assert_eq(as_map(&as, &req, 0x3010, 4).hva, ram + 0x3010);
	cr_assert_null(as_map_regions(&own, 1, 0x3010, 4));
	cr_assert_null(as_map_regions(&own, 1, AS_OFF, 1), "AS_OFF itself is not a base");
}

/* Against a plain scan: many regions with gaps, every edge. */
Test(addr_space, binary_search_agrees_with_a_scan)
{
	enum { N = 300 };
	struct as_region *v = calloc(N, sizeof(*v));

	for (int i = 0; i < N; i++) /* shuffled order, 4 KiB regions every 12 KiB */
		v[i] = (struct as_region){.base = 0x100000 + (uint64_t)((i * 7) % N) * 0x3000,
					  .size = 0x1000,
					  .hva = ram};
	cr_assert_eq(as_rebuild(&as, v, N), 0);
	for (uint64_t a = 0xff000; a < 0x100000 + N * 0x3000ULL + 0x2000; a += 0x800) {
		bool in = a >= 0x100000 && (a - 0x100000) % 0x3000 < 0x1000 &&
			  a < 0x100000 + N * 0x3000ULL;

		cr_assert_eq(ram_at(a, 0x800) != NULL, in, "at 0x%llx", (unsigned long long)a);
	}
	for (int i = 0; i < N; i++) {
		uint64_t base = 0x100000 + (uint64_t)i * 0x3000;

		cr_assert_not_null(ram_at(base + 0xfff, 1));
		cr_assert_null(ram_at(base + 0xfff, 2), "crosses the end of region %d", i);
		cr_assert_null(ram_at(base - 1, 2), "crosses the start of region %d", i);
	}
	free(v);
}

/*
 * Lookups take no lock: a reader running through rebuilds that grow, shrink and reorder the
 * table must always find the RAM region that every table holds, at its right offset.
 */
static volatile bool stop;
static uint64_t reader_misses, reader_hits;

static void *reader(void *arg)
{
	while (!stop) {
		struct as_target t = as_map(&as, NULL, 0x2010, 8);

		if (t.kind == AS_RAM && t.hva == ram + 0x2010)
			reader_hits++;
		else
			reader_misses++;
	}
	return NULL;
}

Test(addr_space, lookups_stay_consistent_while_the_table_is_rebuilt)
{
	enum { MAXN = 64 };
	struct as_region v[MAXN];
	pthread_t th;

	v[0] = (struct as_region){.base = 0, .size = sizeof(ram), .hva = ram};
	as_rebuild(&as, v, 1);
	stop = false;
	reader_misses = reader_hits = 0;
	pthread_create(&th, NULL, reader, NULL);
	for (int round = 0; round < 20000; round++) {
		int n = 1 + round % MAXN;

		for (int i = 1; i < n; i++)
			v[i] = (struct as_region){.base = 0x100000 * (uint64_t)(n - i),
						  .size = 0x1000,
						  .rw = fake_rw};
		v[0] = (struct as_region){.base = 0, .size = sizeof(ram), .hva = ram};
		cr_assert_geq(as_rebuild(&as, v, n), 0);
	}
	stop = true;
	pthread_join(th, NULL);
	cr_assert_eq(reader_misses, 0, "%llu lookups saw a torn table",
		     (unsigned long long)reader_misses);
	cr_assert_gt(reader_hits, 0);
	cr_assert_eq(as.rebuilds, 20001);
}

/* devices/ntb/window.c once wrote this check with `>`: a zero-length range at the first byte
 * past a region was accepted, with an offset one past its end. */
Test(addr_space, ntb_ram_offset_refuses_the_byte_past_a_region_even_for_len_0)
{
	struct ntb_ram l = {.size = 0x3000, .nregions = 2};

	l.region[0] = (struct ntb_ram_region){.gpa = 0, .size = 0x1000, .offset = 0};
	l.region[1] = (struct ntb_ram_region){.gpa = 0x100000, .size = 0x2000, .offset = 0x1000};
	cr_assert_eq(ntb_ram_offset(&l, 0xfff, 1), 0xfff);
	cr_assert_eq(ntb_ram_offset(&l, 0x1000, 0), -1);
	cr_assert_eq(ntb_ram_offset(&l, 0x1000, 1), -1);
	cr_assert_eq(ntb_ram_offset(&l, 0x100000, 0x2000), 0x1000);
	cr_assert_eq(ntb_ram_offset(&l, 0x102000, 0), -1,
		     "one past the last region: the memfd end");
	cr_assert_eq(ntb_ram_offset(&l, 0x101ff8, 16), -1);
	cr_assert_eq(ntb_ram_offset(&l, UINT64_MAX, 0), -1);
	cr_assert_eq(ntb_ram_offset(&l, 0x100008, UINT64_MAX), -1);
}
