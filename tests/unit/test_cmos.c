/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>

#include "vmm/dev/cmos.h"
#include "vmm/util.h"

/* 2024-02-29 13:05:09 UTC, a Thursday. */
#define FIXED_TIME ((time_t)1709211909)

static time_t fixed_time(void *opaque)
{
	return *(const time_t *)opaque;
}

static uint8_t cmos_get(struct cmos *c, uint8_t index)
{
	cmos_bus_ops.write(c, 0, index, 1);
	return (uint8_t)cmos_bus_ops.read(c, 1, 1);
}

static void cmos_put(struct cmos *c, uint8_t index, uint8_t val)
{
	cmos_bus_ops.write(c, 0, index, 1);
	cmos_bus_ops.write(c, 1, val, 1);
}

static struct cmos *cmos_at_fixed_time(const time_t *t)
{
	struct cmos *c = cmos_create(GiB(1), 0, 1);

	cr_assert_not_null(c);
	cmos_set_time_source(c, fixed_time, (void *)t);
	return c;
}

Test(cmos, rtc_reads_bcd_24h_by_default)
{
	static const time_t t = FIXED_TIME;
	struct cmos *c = cmos_at_fixed_time(&t);

	cr_assert_eq(cmos_get(c, 0x0b), 0x02);
	cr_assert_eq(cmos_get(c, 0x00), 0x09);
	cr_assert_eq(cmos_get(c, 0x02), 0x05);
	cr_assert_eq(cmos_get(c, 0x04), 0x13);
	cr_assert_eq(cmos_get(c, 0x06), 0x05, "Thursday is day 5 (Sunday = 1)");
	cr_assert_eq(cmos_get(c, 0x07), 0x29);
	cr_assert_eq(cmos_get(c, 0x08), 0x02);
	cr_assert_eq(cmos_get(c, 0x09), 0x24);
	cr_assert_eq(cmos_get(c, 0x32), 0x20);
	cmos_destroy(c);
}

Test(cmos, rtc_reads_binary_when_register_b_dm_is_set)
{
	static const time_t t = FIXED_TIME;
	struct cmos *c = cmos_at_fixed_time(&t);

	cmos_put(c, 0x0b, 0x06);
	cr_assert_eq(cmos_get(c, 0x0b), 0x06);
	cr_assert_eq(cmos_get(c, 0x00), 9);
	cr_assert_eq(cmos_get(c, 0x02), 5);
	cr_assert_eq(cmos_get(c, 0x04), 13);
	cr_assert_eq(cmos_get(c, 0x07), 29);
	cr_assert_eq(cmos_get(c, 0x08), 2);
	cr_assert_eq(cmos_get(c, 0x09), 24);
	cr_assert_eq(cmos_get(c, 0x32), 20);
	cmos_destroy(c);
}

Test(cmos, rtc_12_hour_mode_sets_pm_bit)
{
	static const time_t t = FIXED_TIME;
	struct cmos *c = cmos_at_fixed_time(&t);

	cmos_put(c, 0x0b, 0x00);
	cr_assert_eq(cmos_get(c, 0x04), 0x81, "13:05 is 1 PM");
	cmos_put(c, 0x0b, 0x04);
	cr_assert_eq(cmos_get(c, 0x04), 0x81);
	cmos_destroy(c);
}

Test(cmos, rtc_follows_the_time_source)
{
	static time_t t = FIXED_TIME;
	struct cmos *c = cmos_at_fixed_time(&t);

	t += 50;
	cr_assert_eq(cmos_get(c, 0x00), 0x59);
	t += 1;
	cr_assert_eq(cmos_get(c, 0x00), 0x00);
	cr_assert_eq(cmos_get(c, 0x02), 0x06);
	cmos_destroy(c);
}

Test(cmos, status_registers_report_a_settled_valid_clock)
{
	struct cmos *c = cmos_create(GiB(1), 0, 1);

	cr_assert_eq(cmos_get(c, 0x0a), 0x26, "UIP clear, standard divider");
	cr_assert_eq(cmos_get(c, 0x0c), 0x00);
	cr_assert_eq(cmos_get(c, 0x0d), 0x80, "VRT set");
	cmos_put(c, 0x0a, 0xa6);
	cr_assert_eq(cmos_get(c, 0x0a), 0x26, "UIP is read-only");
	cmos_put(c, 0x0d, 0x00);
	cr_assert_eq(cmos_get(c, 0x0d), 0x80);
	cmos_destroy(c);
}

Test(cmos, memory_size_fields_for_1_gib)
{
	struct cmos *c = cmos_create(GiB(1), 0, 1);

	cr_assert_eq(cmos_get(c, 0x15) | cmos_get(c, 0x16) << 8, 640);
	cr_assert_eq(cmos_get(c, 0x17) | cmos_get(c, 0x18) << 8, 0xffff, "capped");
	cr_assert_eq(cmos_get(c, 0x30) | cmos_get(c, 0x31) << 8, 0xffff);
	cr_assert_eq(cmos_get(c, 0x34) | cmos_get(c, 0x35) << 8, (1024 - 16) * 16);
	cr_assert_eq(cmos_get(c, 0x5b), 0);
	cr_assert_eq(cmos_get(c, 0x5c), 0);
	cr_assert_eq(cmos_get(c, 0x5d), 0);
	cr_assert_eq(cmos_get(c, 0x5f), 0, "one CPU");
	cmos_destroy(c);
}

Test(cmos, memory_size_fields_for_6_gib_split_at_3_gib)
{
	struct cmos *c = cmos_create(GiB(3), GiB(3), 4);

	cr_assert_eq(cmos_get(c, 0x34) | cmos_get(c, 0x35) << 8, (3072 - 16) * 16);
	/* 3 GiB above 4 GiB = 49152 units of 64 KiB = 0x00c000. */
	cr_assert_eq(cmos_get(c, 0x5b), 0x00);
	cr_assert_eq(cmos_get(c, 0x5c), 0xc0);
	cr_assert_eq(cmos_get(c, 0x5d), 0x00);
	cr_assert_eq(cmos_get(c, 0x5f), 3);
	cmos_destroy(c);
}

Test(cmos, extended_memory_below_64_mib_is_exact)
{
	struct cmos *c = cmos_create(MiB(32), 0, 1);

	cr_assert_eq(cmos_get(c, 0x17) | cmos_get(c, 0x18) << 8, 31 * 1024);
	cr_assert_eq(cmos_get(c, 0x30) | cmos_get(c, 0x31) << 8, 31 * 1024);
	cr_assert_eq(cmos_get(c, 0x34) | cmos_get(c, 0x35) << 8, 16 * 16);
	cmos_destroy(c);
}

Test(cmos, nmi_disable_bit_is_masked_from_the_index)
{
	struct cmos *c = cmos_create(GiB(1), 0, 2);

	cmos_put(c, 0x40, 0x5a);
	cr_assert_eq(cmos_get(c, 0x80 | 0x40), 0x5a);
	cr_assert_eq(cmos_get(c, 0x80 | 0x5f), 1);
	cmos_destroy(c);
}

Test(cmos, index_port_reads_as_open_bus)
{
	struct cmos *c = cmos_create(GiB(1), 0, 1);

	cr_assert_eq(cmos_bus_ops.read(c, 0, 1), 0xff);
	cmos_destroy(c);
}
