/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "vmm/mem.h"
#include "vmm/util.h"

static struct guest_mem mem;
static char err[256];

static void fini(void)
{
	mem_free(&mem);
}

Test(mem, small_ram_is_one_region_below_the_hole, .fini = fini)
{
	cr_assert_eq(mem_init(&mem, MiB(256), false, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(mem.nregions, 1);
	cr_assert_eq(mem.regions[0].gpa, 0);
	cr_assert_eq(mem.regions[0].size, MiB(256));
}

Test(mem, ram_above_the_hole_resumes_at_4g, .fini = fini)
{
	cr_assert_eq(mem_init(&mem, GiB(5), false, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(mem.nregions, 2);
	cr_assert_eq(mem.regions[0].size, MEM_HOLE_START);
	cr_assert_eq(mem.regions[1].gpa, MEM_HOLE_END);
	cr_assert_eq(mem.regions[1].size, GiB(5) - MEM_HOLE_START);
	/* The same memfd backs both: the byte after low RAM is the first byte at 4 GiB. */
	uint8_t *last_low = mem_gpa_to_hva(&mem, MEM_HOLE_START - 1, 1);
	uint8_t *first_high = mem_gpa_to_hva(&mem, MEM_HOLE_END, 1);
	cr_assert_not_null(last_low);
	cr_assert_eq(first_high, last_low + 1);
}

Test(mem, size_not_multiple_of_2m_is_refused_with_a_message, .fini = fini)
{
	cr_assert_eq(mem_init(&mem, MiB(3), false, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "2 MiB"));
}

Test(mem, gpa_to_hva_refuses_everything_outside_ram, .fini = fini)
{
	cr_assert_eq(mem_init(&mem, GiB(3), false, err, sizeof(err)), 0, "%s", err);
	/* inside */
	cr_assert_not_null(mem_gpa_to_hva(&mem, 0, 4096));
	cr_assert_not_null(mem_gpa_to_hva(&mem, MEM_HOLE_START - 4096, 4096));
	cr_assert_not_null(mem_gpa_to_hva(&mem, MEM_HOLE_END, 4096));
	cr_assert_not_null(mem_gpa_to_hva(&mem, MEM_HOLE_END + GiB(1) - 1, 1));
	/* straddling the hole, in the hole, past the end */
	cr_assert_null(mem_gpa_to_hva(&mem, MEM_HOLE_START - 4096, 4097));
	cr_assert_null(mem_gpa_to_hva(&mem, MEM_ECAM_BASE, 4));
	cr_assert_null(mem_gpa_to_hva(&mem, MEM_LAPIC_BASE, 4));
	cr_assert_null(mem_gpa_to_hva(&mem, MEM_HOLE_END + GiB(1), 1));
	cr_assert_null(mem_gpa_to_hva(&mem, MEM_HOLE_END + GiB(1) - 1, 2));
	/* lengths and addresses chosen to wrap around 2^64 */
	cr_assert_null(mem_gpa_to_hva(&mem, UINT64_MAX, 2));
	cr_assert_null(mem_gpa_to_hva(&mem, 4096, UINT64_MAX));
	cr_assert_null(mem_gpa_to_hva(&mem, MEM_HOLE_END, UINT64_MAX - MEM_HOLE_END + 1));
}

Test(mem, read_write_round_trip_and_fault_outside, .fini = fini)
{
	uint8_t buf[8] = {1, 2, 3, 4, 5, 6, 7, 8}, back[8] = {0};

	cr_assert_eq(mem_init(&mem, MiB(64), false, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(mem_write(&mem, 0x1000, buf, 8), 0);
	cr_assert_eq(mem_read(&mem, 0x1000, back, 8), 0);
	cr_assert_arr_eq(buf, back, 8);
	cr_assert_eq(mem_write(&mem, MiB(64) - 4, buf, 8), -EFAULT);
	cr_assert_eq(mem_read(&mem, MiB(64), back, 1), -EFAULT);
}

Test(mem, e820_reserves_legacy_area_and_ecam, .fini = fini)
{
	struct e820_entry e[MEM_MAX_E820];
	int n;

	cr_assert_eq(mem_init(&mem, GiB(6), false, err, sizeof(err)), 0, "%s", err);
	n = mem_e820(&mem, e, MEM_MAX_E820);
	cr_assert_eq(n, 5);
	cr_assert_eq(e[0].addr, 0);
	cr_assert_eq(e[0].size, MEM_EBDA_START);
	cr_assert_eq(e[0].type, E820_RAM);
	cr_assert_eq(e[1].addr, MEM_EBDA_START);
	cr_assert_eq(e[1].addr + e[1].size, MEM_HIGH_START);
	cr_assert_eq(e[1].type, E820_RESERVED);
	cr_assert_eq(e[2].addr, MEM_HIGH_START);
	cr_assert_eq(e[2].addr + e[2].size, MEM_HOLE_START);
	cr_assert_eq(e[2].type, E820_RAM);
	cr_assert_eq(e[3].addr, MEM_ECAM_BASE);
	cr_assert_eq(e[3].type, E820_RESERVED);
	cr_assert_eq(e[4].addr, MEM_HOLE_END);
	cr_assert_eq(e[4].size, GiB(4));
	cr_assert_eq(e[4].type, E820_RAM);
	/* RAM entries add up to the configured size minus what the legacy area hides */
	uint64_t ram = 0;
	for (int i = 0; i < n; i++)
		if (e[i].type == E820_RAM)
			ram += e[i].size;
	cr_assert_eq(ram, GiB(6) - (MEM_HIGH_START - MEM_EBDA_START));
}

Test(mem, e820_never_writes_past_max, .fini = fini)
{
	struct e820_entry e[2];

	cr_assert_eq(mem_init(&mem, GiB(6), false, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(mem_e820(&mem, e, 2), 2);
}

static long hugepages_free(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	long n = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "HugePages_Free: %ld", &n) == 1)
			break;
	fclose(f);
	return n;
}

Test(mem, hugepages_short_pool_is_an_error_not_a_later_sigbus, .fini = fini)
{
	long free_pages = hugepages_free();
	int ret = mem_init(&mem, MiB(64), true, err, sizeof(err));

	if (free_pages < 0)
		cr_skip_test("no /proc/meminfo HugePages_Free");
	if (free_pages >= 32) {
		cr_assert_eq(ret, 0, "%s", err);
		/* touching every page must work: they were reserved at mmap time */
		memset(mem.base, 0xab, MiB(64));
	} else {
		cr_assert_lt(ret, 0, "a pool of %ld free pages cannot back 64 MiB", free_pages);
		cr_assert(strstr(err, "nr_hugepages"), "%s", err);
	}
}

/* util.h said "returns false on overflow": it is the other way round, and callers rely on it. */
Test(mem, add_overflows_u64_is_true_when_the_sum_wraps)
{
	uint64_t r;

	cr_assert(add_overflows_u64(UINT64_MAX, 1, &r));
	cr_assert_eq(r, 0, "the low 64 bits");
	cr_assert(add_overflows_u64(1ULL << 63, 1ULL << 63, &r));
	cr_assert_not(add_overflows_u64(UINT64_MAX - 1, 1, &r));
	cr_assert_eq(r, UINT64_MAX);
	cr_assert_not(add_overflows_u64(0, 0, &r));
}

/* The layout without the RAM answers as mem_gpa_to_hva does on the RAM itself. */
Test(mem, layout_has_agrees_with_gpa_to_hva, .fini = fini)
{
	static const uint64_t sizes[] = {MiB(16), MiB(256), MEM_HOLE_START, GiB(3)};
	static const uint64_t gpas[] = {0,
					4096,
					MiB(16) - 4096,
					MiB(256) - 1,
					MEM_ECAM_BASE,
					MEM_HOLE_START - 4096,
					MEM_HOLE_END,
					MEM_HOLE_END + GiB(1) - 1,
					UINT64_MAX};
	static const uint64_t lens[] = {0, 1, 4096, 4097, MiB(16), GiB(2), UINT64_MAX};

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		struct mem_region r[MEM_MAX_REGIONS];

		cr_assert_eq(mem_init(&mem, sizes[s], false, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(mem_layout(sizes[s], r), mem.nregions);
		for (int i = 0; i < mem.nregions; i++) {
			cr_assert_eq(r[i].gpa, mem.regions[i].gpa);
			cr_assert_eq(r[i].size, mem.regions[i].size);
		}
		for (size_t g = 0; g < sizeof(gpas) / sizeof(gpas[0]); g++)
			for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++)
				cr_assert_eq(mem_layout_has(sizes[s], gpas[g], lens[l]),
					     mem_gpa_to_hva(&mem, gpas[g], lens[l]) != NULL,
					     "size 0x%llx gpa 0x%llx len 0x%llx",
					     (unsigned long long)sizes[s],
					     (unsigned long long)gpas[g],
					     (unsigned long long)lens[l]);
		mem_free(&mem);
	}
}

/*
 * An NTB peer maps this RAM (devices/ntb/ntb.c ntb_set_peer) and trusts its size: the memfd
 * must refuse to shrink (a page past the end of a MAP_SHARED file is SIGBUS for the mapper),
 * and may still grow (nothing maps past its end).
 */
Test(mem, guest_ram_memfd_cannot_shrink_under_a_peer, .fini = fini)
{
	cr_assert_eq(mem_init(&mem, MiB(4), false, err, sizeof(err)), 0, "%s", err);
	cr_assert(memfd_shrink_sealed(mem.memfd));
	cr_assert_eq(ftruncate(mem.memfd, MiB(2)), -1);
	cr_assert_eq(errno, EPERM);
	cr_assert_eq(ftruncate(mem.memfd, MiB(8)), 0);
}
