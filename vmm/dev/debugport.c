/* SPDX-License-Identifier: MIT */
#include "vmm/dev/debugport.h"

#include "vmm/util.h"

static uint64_t debug_exit_read(void *opaque, uint64_t off, unsigned size)
{
	return 0;
}

/* QEMU hw/misc/debugexit.c: exit((val << 1) | 1), for any access size. */
static void debug_exit_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct debugport *d = opaque;

	d->exit(d->opaque, (int)(((uint32_t)val << 1) | 1));
}

const struct bus_ops debug_exit_ops = {.read = debug_exit_read, .write = debug_exit_write};

static uint64_t milestone_read(void *opaque, uint64_t off, unsigned size)
{
	return 0;
}

static void milestone_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct debugport *d = opaque;
	uint64_t us = (time_ns() - d->start_ns) / 1000;

	d->milestones++;
	pr_info("guest boot milestone %llu at %llu.%03llu ms", (unsigned long long)val,
		(unsigned long long)(us / 1000), (unsigned long long)(us % 1000));
}

const struct bus_ops milestone_ops = {.read = milestone_read, .write = milestone_write};
