/* SPDX-License-Identifier: MIT */
/*
 * CMOS RAM and RTC. Register facts from the Motorola MC146818A datasheet; the memory size
 * and CPU count bytes follow the IBM AT layout as extended by QEMU and read by SeaBIOS
 * (src/fw/paravirt.c, src/hw/rtc.h).
 */
#include "vmm/dev/cmos.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "vmm/util.h"

#define CMOS_SIZE 128

#define RTC_SECONDS	  0x00
#define RTC_MINUTES	  0x02
#define RTC_HOURS	  0x04
#define RTC_DAY_OF_WEEK	  0x06
#define RTC_DAY_OF_MONTH  0x07
#define RTC_MONTH	  0x08
#define RTC_YEAR	  0x09
#define RTC_REG_A	  0x0a
#define RTC_REG_B	  0x0b
#define RTC_REG_C	  0x0c
#define RTC_REG_D	  0x0d
#define CMOS_BASE_MEM_LO  0x15
#define CMOS_BASE_MEM_HI  0x16
#define CMOS_EXT_MEM_LO	  0x17
#define CMOS_EXT_MEM_HI	  0x18
#define CMOS_EXT_MEM2_LO  0x30
#define CMOS_EXT_MEM2_HI  0x31
#define RTC_CENTURY	  0x32
#define CMOS_MEM_16M_LO	  0x34
#define CMOS_MEM_16M_HI	  0x35
#define CMOS_MEM_4G_LO	  0x5b
#define CMOS_MEM_4G_MID	  0x5c
#define CMOS_MEM_4G_HI	  0x5d
#define CMOS_NR_CPUS_LESS 0x5f

#define RTC_A_UIP     0x80
#define RTC_A_DEFAULT 0x26 /* 32.768 kHz time base, 1024 Hz periodic rate */
#define RTC_B_SET     0x80
#define RTC_B_DM      0x04 /* data mode: 1 = binary, 0 = BCD */
#define RTC_B_24H     0x02
#define RTC_D_VRT     0x80 /* valid RAM and time: the battery is fine */

/* Bit 7 of a write to port 0x70 gates NMI on PCs; it is not part of the index. */
#define CMOS_INDEX_MASK 0x7f

struct cmos {
	pthread_mutex_t lock;
	uint8_t index;
	uint8_t ram[CMOS_SIZE];
	cmos_time_fn now;
	void *now_opaque;
};

static uint8_t to_bcd(unsigned v)
{
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

static uint8_t rtc_encode(const struct cmos *c, unsigned v)
{
	return (c->ram[RTC_REG_B] & RTC_B_DM) ? (uint8_t)v : to_bcd(v);
}

static uint8_t rtc_hours(const struct cmos *c, unsigned hour)
{
	unsigned h12;
	uint8_t pm;

	if (c->ram[RTC_REG_B] & RTC_B_24H)
		return rtc_encode(c, hour);
	/* 12-hour mode: 1-12, bit 7 set for PM (MC146818A table 3). */
	h12 = hour % 12 ? hour % 12 : 12;
	pm = hour >= 12 ? 0x80 : 0;
	return rtc_encode(c, h12) | pm;
}

/* Returns true and sets *val when `index` is a clock register. */
/* The date and time registers (MC146818A: 0x00-0x09 without the alarms, plus the century
 * byte the FADT names). */
static bool rtc_is_time_register(uint8_t index)
{
	switch (index) {
	case RTC_SECONDS:
	case RTC_MINUTES:
	case RTC_HOURS:
	case RTC_DAY_OF_WEEK:
	case RTC_DAY_OF_MONTH:
	case RTC_MONTH:
	case RTC_YEAR:
	case RTC_CENTURY:
		return true;
	default:
		return false;
	}
}

static bool rtc_read_time(const struct cmos *c, uint8_t index, uint8_t *val)
{
	time_t t = c->now ? c->now(c->now_opaque) : time(NULL);
	struct tm tm;

	if (!rtc_is_time_register(index) || !gmtime_r(&t, &tm))
		return false;
	switch (index) {
	case RTC_SECONDS:
		*val = rtc_encode(c, (unsigned)tm.tm_sec);
		break;
	case RTC_MINUTES:
		*val = rtc_encode(c, (unsigned)tm.tm_min);
		break;
	case RTC_HOURS:
		*val = rtc_hours(c, (unsigned)tm.tm_hour);
		break;
	case RTC_DAY_OF_WEEK:
		/* 1-7, Sunday = 1. */
		*val = rtc_encode(c, (unsigned)tm.tm_wday + 1);
		break;
	case RTC_DAY_OF_MONTH:
		*val = rtc_encode(c, (unsigned)tm.tm_mday);
		break;
	case RTC_MONTH:
		*val = rtc_encode(c, (unsigned)tm.tm_mon + 1);
		break;
	case RTC_YEAR:
		*val = rtc_encode(c, (unsigned)(tm.tm_year + 1900) % 100);
		break;
	case RTC_CENTURY:
		*val = rtc_encode(c, (unsigned)(tm.tm_year + 1900) / 100);
		break;
	}
	return true;
}

static uint8_t cmos_read_data(struct cmos *c)
{
	uint8_t val = 0;

	if (rtc_read_time(c, c->index, &val))
		return val;
	switch (c->index) {
	case RTC_REG_A:
		/* UIP stays clear: the time is computed on every read, never mid-update. */
		return c->ram[RTC_REG_A] & (uint8_t)~RTC_A_UIP;
	case RTC_REG_C:
		/* No interrupt sources are modelled, so no flags are ever set. */
		return 0;
	case RTC_REG_D:
		return RTC_D_VRT;
	default:
		return c->ram[c->index];
	}
}

static void cmos_write_data(struct cmos *c, uint8_t val)
{
	if (rtc_is_time_register(c->index))
		return; /* the clock follows the host; setting it is not supported yet */
	switch (c->index) {
	case RTC_REG_A:
		c->ram[RTC_REG_A] = val & (uint8_t)~RTC_A_UIP;
		break;
	case RTC_REG_C:
	case RTC_REG_D:
		/* Read-only. */
		break;
	default:
		c->ram[c->index] = val;
		break;
	}
}

static uint64_t cmos_read(void *opaque, uint64_t offset, unsigned size)
{
	struct cmos *c = opaque;
	uint8_t val;

	/* Port 0x70 is write-only. */
	if (offset != 1)
		return 0xff;
	pthread_mutex_lock(&c->lock);
	val = cmos_read_data(c);
	pthread_mutex_unlock(&c->lock);
	return val;
}

static void cmos_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct cmos *c = opaque;

	pthread_mutex_lock(&c->lock);
	if (offset == 0)
		c->index = (uint8_t)value & CMOS_INDEX_MASK;
	else if (offset == 1)
		cmos_write_data(c, (uint8_t)value);
	pthread_mutex_unlock(&c->lock);
}

const struct bus_ops cmos_bus_ops = {
	.read = cmos_read,
	.write = cmos_write,
};

static void store_u16(uint8_t *ram, unsigned lo, uint64_t v)
{
	if (v > 0xffff)
		v = 0xffff;
	ram[lo] = (uint8_t)v;
	ram[lo + 1] = (uint8_t)(v >> 8);
}

static void fill_memory_size(struct cmos *c, uint64_t low, uint64_t high, int ncpus)
{
	uint64_t ext_kib = low > MiB(1) ? (low - MiB(1)) / KiB(1) : 0;
	uint64_t above_16m = low > MiB(16) ? (low - MiB(16)) / KiB(64) : 0;
	uint64_t above_4g = high / KiB(64);

	store_u16(c->ram, CMOS_BASE_MEM_LO, 640);
	/* Extended memory in KiB above 1 MiB; 0x30/0x31 is the copy the POST writes. */
	store_u16(c->ram, CMOS_EXT_MEM_LO, ext_kib);
	store_u16(c->ram, CMOS_EXT_MEM2_LO, ext_kib);
	store_u16(c->ram, CMOS_MEM_16M_LO, above_16m);
	if (above_4g > 0xffffff)
		above_4g = 0xffffff;
	c->ram[CMOS_MEM_4G_LO] = (uint8_t)above_4g;
	c->ram[CMOS_MEM_4G_MID] = (uint8_t)(above_4g >> 8);
	c->ram[CMOS_MEM_4G_HI] = (uint8_t)(above_4g >> 16);
	c->ram[CMOS_NR_CPUS_LESS] = (uint8_t)(ncpus > 0 ? ncpus - 1 : 0);
}

struct cmos *cmos_create(uint64_t low_ram_bytes, uint64_t high_ram_bytes, int ncpus)
{
	struct cmos *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return NULL;
	err = pthread_mutex_init(&c->lock, NULL);
	if (err) {
		free(c);
		errno = err;
		return NULL;
	}
	c->ram[RTC_REG_A] = RTC_A_DEFAULT;
	c->ram[RTC_REG_B] = RTC_B_24H;
	c->ram[RTC_REG_D] = RTC_D_VRT;
	fill_memory_size(c, low_ram_bytes, high_ram_bytes, ncpus);
	return c;
}

void cmos_destroy(struct cmos *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void cmos_set_time_source(struct cmos *c, cmos_time_fn now, void *opaque)
{
	pthread_mutex_lock(&c->lock);
	c->now = now;
	c->now_opaque = opaque;
	pthread_mutex_unlock(&c->lock);
}
