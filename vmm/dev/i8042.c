/* SPDX-License-Identifier: MIT */
/*
 * i8042 controller with no keyboard or mouse behind it. Command and bit names follow Linux's
 * drivers/input/serio/i8042.h; the command set is the IBM PS/2 Technical Reference's. Every
 * command completes at once, so the input buffer is never full (IBF stays clear) and a guest
 * polling for it never waits.
 */
#include "vmm/dev/i8042.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#define I8042_STR_OBF	  0x01 /* output buffer full: a byte waits at port 0x60 */
#define I8042_STR_IBF	  0x02
#define I8042_STR_SYSFLAG 0x04 /* copy of CTR bit 2 */
#define I8042_STR_CMDDAT  0x08 /* last write went to port 0x64 */
#define I8042_STR_KEYLOCK 0x10 /* 1 = keyboard not inhibited */

#define I8042_CTR_KBDINT  0x01
#define I8042_CTR_SYSFLAG 0x04
#define I8042_CTR_KBDDIS  0x10
#define I8042_CTR_AUXDIS  0x20
#define I8042_CTR_XLATE	  0x40

#define I8042_CMD_CTL_RCTR	0x20
#define I8042_CMD_CTL_WCTR	0x60
#define I8042_CMD_AUX_DISABLE	0xa7
#define I8042_CMD_AUX_ENABLE	0xa8
#define I8042_CMD_CTL_TEST	0xaa
#define I8042_CMD_KBD_TEST	0xab
#define I8042_CMD_KBD_DISABLE	0xad
#define I8042_CMD_KBD_ENABLE	0xae
#define I8042_CMD_READ_OUTPORT	0xd0
#define I8042_CMD_WRITE_OUTPORT 0xd1
#define I8042_CMD_PULSE_FIRST	0xf0 /* 0xf0-0xff: pulse output port bits 0-3 that are 0 */

#define I8042_RET_CTL_TEST 0x55
#define I8042_RET_KBD_TEST 0x00 /* no clock or data line stuck */

#define I8042_OUTPORT_RESET 0x01 /* active low: 0 holds the CPU in reset */
#define I8042_OUTPORT_A20   0x02

struct i8042 {
	pthread_mutex_t lock;
	void (*reset)(void *opaque);
	void *opaque;
	uint8_t status;
	uint8_t ctr;
	uint8_t outport;
	uint8_t outbuf;
	uint8_t pending_cmd; /* command waiting for its parameter at port 0x60, or 0 */
};

static void output(struct i8042 *k, uint8_t byte)
{
	k->outbuf = byte;
	k->status |= I8042_STR_OBF;
}

static void set_ctr(struct i8042 *k, uint8_t ctr)
{
	k->ctr = ctr;
	k->status &= (uint8_t)~I8042_STR_SYSFLAG;
	if (ctr & I8042_CTR_SYSFLAG)
		k->status |= I8042_STR_SYSFLAG;
}

/* Returns true when the CPU reset line was pulsed. */
static bool write_outport(struct i8042 *k, uint8_t val)
{
	/* A20 cannot be masked under KVM, so only the reset bit has an effect. */
	k->outport = val;
	if (!(val & I8042_OUTPORT_RESET)) {
		k->outport |= I8042_OUTPORT_RESET;
		return true;
	}
	return false;
}

/* Returns true when the command resets the machine. */
static bool command(struct i8042 *k, uint8_t cmd)
{
	k->pending_cmd = 0;
	switch (cmd) {
	case I8042_CMD_CTL_RCTR:
		output(k, k->ctr);
		break;
	case I8042_CMD_CTL_WCTR:
	case I8042_CMD_WRITE_OUTPORT:
		k->pending_cmd = cmd;
		break;
	case I8042_CMD_AUX_DISABLE:
		set_ctr(k, k->ctr | I8042_CTR_AUXDIS);
		break;
	case I8042_CMD_AUX_ENABLE:
		set_ctr(k, k->ctr & (uint8_t)~I8042_CTR_AUXDIS);
		break;
	case I8042_CMD_CTL_TEST:
		/* A passing self-test sets the system flag. */
		set_ctr(k, k->ctr | I8042_CTR_SYSFLAG);
		output(k, I8042_RET_CTL_TEST);
		break;
	case I8042_CMD_KBD_TEST:
		output(k, I8042_RET_KBD_TEST);
		break;
	case I8042_CMD_KBD_DISABLE:
		set_ctr(k, k->ctr | I8042_CTR_KBDDIS);
		break;
	case I8042_CMD_KBD_ENABLE:
		set_ctr(k, k->ctr & (uint8_t)~I8042_CTR_KBDDIS);
		break;
	case I8042_CMD_READ_OUTPORT:
		output(k, k->outport);
		break;
	default:
		/* Pulse: a 0 in command bits 0-3 pulses that output port line; bit 0 is reset. */
		if (cmd >= I8042_CMD_PULSE_FIRST && !(cmd & I8042_OUTPORT_RESET))
			return true;
		/* 0xff is the null command Linux sends; other commands are not modelled. */
		break;
	}
	return false;
}

static uint64_t i8042_data_read(void *opaque, uint64_t offset, unsigned size)
{
	struct i8042 *k = opaque;
	uint8_t val;

	pthread_mutex_lock(&k->lock);
	/* With OBF clear the port still returns the last byte, as on hardware. */
	val = k->outbuf;
	k->status &= (uint8_t)~I8042_STR_OBF;
	pthread_mutex_unlock(&k->lock);
	return val;
}

static void i8042_data_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct i8042 *k = opaque;
	bool reset = false;

	pthread_mutex_lock(&k->lock);
	k->status &= (uint8_t)~I8042_STR_CMDDAT;
	switch (k->pending_cmd) {
	case I8042_CMD_CTL_WCTR:
		set_ctr(k, (uint8_t)value);
		break;
	case I8042_CMD_WRITE_OUTPORT:
		reset = write_outport(k, (uint8_t)value);
		break;
	default:
		/* A byte for the keyboard: nothing is attached, so it goes nowhere. */
		break;
	}
	k->pending_cmd = 0;
	pthread_mutex_unlock(&k->lock);
	if (reset && k->reset)
		k->reset(k->opaque);
}

static uint64_t i8042_status_read(void *opaque, uint64_t offset, unsigned size)
{
	struct i8042 *k = opaque;
	uint8_t val;

	pthread_mutex_lock(&k->lock);
	val = k->status;
	pthread_mutex_unlock(&k->lock);
	return val;
}

static void i8042_cmd_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct i8042 *k = opaque;
	bool reset;

	pthread_mutex_lock(&k->lock);
	k->status |= I8042_STR_CMDDAT;
	reset = command(k, (uint8_t)value);
	pthread_mutex_unlock(&k->lock);
	if (reset && k->reset)
		k->reset(k->opaque);
}

const struct bus_ops i8042_data_bus_ops = {
	.read = i8042_data_read,
	.write = i8042_data_write,
};

const struct bus_ops i8042_cmd_bus_ops = {
	.read = i8042_status_read,
	.write = i8042_cmd_write,
};

struct i8042 *i8042_create(void (*reset)(void *opaque), void *opaque)
{
	struct i8042 *k = calloc(1, sizeof(*k));
	int err;

	if (!k)
		return NULL;
	err = pthread_mutex_init(&k->lock, NULL);
	if (err) {
		free(k);
		errno = err;
		return NULL;
	}
	k->reset = reset;
	k->opaque = opaque;
	k->status = I8042_STR_KEYLOCK;
	/* What a PC BIOS leaves behind: POST passed, keyboard interrupt on, translation on. */
	set_ctr(k, I8042_CTR_KBDINT | I8042_CTR_SYSFLAG | I8042_CTR_XLATE);
	k->outport = I8042_OUTPORT_RESET | I8042_OUTPORT_A20;
	return k;
}

void i8042_destroy(struct i8042 *k)
{
	if (!k)
		return;
	pthread_mutex_destroy(&k->lock);
	free(k);
}
