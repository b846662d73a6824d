/* SPDX-License-Identifier: MIT */
#include "vmm/dev/pm.h"

#include "vmm/util.h"

static uint64_t pm_evt_read(void *opaque, uint64_t off, unsigned size)
{
	struct pm *pm = opaque;
	uint8_t regs[4];

	bus_store_le(regs, pm->sts, 2);
	bus_store_le(regs + 2, pm->en, 2);
	return off + size <= 4 ? bus_load_le(regs + off, size) : 0;
}

/* ACPI 6.4 4.8.3.1: PM1_STS bits are write-one-to-clear; PM1_EN is read/write. */
static void pm_evt_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct pm *pm = opaque;
	uint8_t regs[4];

	if (off + size > 4)
		return;
	bus_store_le(regs, 0, 2);
	bus_store_le(regs + 2, pm->en, 2);
	bus_store_le(regs + off, val, size);
	pm->sts &= (uint16_t)~bus_load_le(regs, 2);
	pm->en = (uint16_t)bus_load_le(regs + 2, 2);
}

const struct bus_ops pm_evt_ops = {.read = pm_evt_read, .write = pm_evt_write};

static uint64_t pm_cnt_read(void *opaque, uint64_t off, unsigned size)
{
	struct pm *pm = opaque;

	return (uint64_t)(pm->cnt | PM1_CNT_SCI_EN) >> (8 * off);
}

/* ACPI 6.4 4.8.3.2.1: SLP_EN is write-only and starts the sleep state in SLP_TYP. */
static void pm_cnt_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct pm *pm = opaque;
	uint8_t regs[2];
	uint16_t v;

	bus_store_le(regs, pm->cnt, 2);
	bus_store_le(regs + off, val, size);
	v = (uint16_t)bus_load_le(regs, 2);
	pm->cnt = v & (uint16_t)~PM1_CNT_SLP_EN;
	if (v & PM1_CNT_SLP_EN) {
		unsigned typ = (v >> PM1_CNT_SLP_TYP_SHIFT) & 7;

		if (typ == PM_S5_TYP)
			pm->poweroff(pm->opaque);
		else
			pr_ratelimited("guest asked for sleep type %u; only S5 (off) exists", typ);
	}
}

const struct bus_ops pm_cnt_ops = {.read = pm_cnt_read, .write = pm_cnt_write};

static uint64_t pm_reset_read(void *opaque, uint64_t off, unsigned size)
{
	struct pm *pm = opaque;

	return pm->rst_cnt;
}

static void pm_reset_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct pm *pm = opaque;

	pm->rst_cnt = (uint8_t)(val & 0x0e);
	if (val & 0x04) /* RST_CPU */
		pm->reset(pm->opaque);
}

const struct bus_ops pm_reset_ops = {.read = pm_reset_read, .write = pm_reset_write};
