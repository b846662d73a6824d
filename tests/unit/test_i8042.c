/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>

#include "vmm/dev/i8042.h"

#define STR_OBF 0x01
#define STR_IBF 0x02

static int resets;

static void count_reset(void *opaque)
{
	cr_assert_eq(opaque, &resets);
	resets++;
}

static struct i8042 *kbc;

static void setup(void)
{
	resets = 0;
	kbc = i8042_create(count_reset, &resets);
	cr_assert_not_null(kbc);
}

static void teardown(void)
{
	i8042_destroy(kbc);
}

static uint8_t status(void)
{
	return (uint8_t)i8042_cmd_bus_ops.read(kbc, 0, 1);
}

static void cmd(uint8_t c)
{
	cr_assert_eq(status() & STR_IBF, 0, "input buffer must be free before a command");
	i8042_cmd_bus_ops.write(kbc, 0, c, 1);
}

static void data_out(uint8_t v)
{
	i8042_data_bus_ops.write(kbc, 0, v, 1);
}

/* Like Linux's i8042_wait_read + i8042_read_data. */
static uint8_t reply(void)
{
	cr_assert_eq(status() & STR_OBF, STR_OBF, "a reply is expected");
	return (uint8_t)i8042_data_bus_ops.read(kbc, 0, 1);
}

TestSuite(i8042, .init = setup, .fini = teardown);

Test(i8042, idle_controller_has_empty_buffers)
{
	cr_assert_eq(status() & (STR_OBF | STR_IBF), 0);
}

Test(i8042, cmd_fe_pulses_reset)
{
	cmd(0xfe);
	cr_assert_eq(resets, 1);
}

Test(i8042, null_command_ff_does_not_reset)
{
	cmd(0xff);
	cr_assert_eq(resets, 0);
	cr_assert_eq(status() & STR_OBF, 0);
}

Test(i8042, output_port_write_with_bit0_clear_resets)
{
	cmd(0xd1);
	data_out(0xdf); /* Linux's A20 gate write: reset bit stays high */
	cr_assert_eq(resets, 0);
	cmd(0xd0);
	cr_assert_eq(reply(), 0xdf);
	cmd(0xd1);
	data_out(0xde);
	cr_assert_eq(resets, 1);
}

Test(i8042, self_test_replies_0x55_and_sets_system_flag)
{
	cmd(0xaa);
	cr_assert_eq(reply(), 0x55);
	cr_assert_eq(status() & STR_OBF, 0, "reading the data port empties the buffer");
	cr_assert_eq(status() & 0x04, 0x04);
}

Test(i8042, keyboard_interface_test_replies_0x00)
{
	cmd(0xab);
	cr_assert_eq(reply(), 0x00);
}

Test(i8042, command_byte_round_trips)
{
	cmd(0x60);
	data_out(0x65);
	cmd(0x20);
	cr_assert_eq(reply(), 0x65);
	cr_assert_eq(status() & 0x04, 0x04, "status mirrors the system flag");
	cmd(0x60);
	data_out(0x30);
	cmd(0x20);
	cr_assert_eq(reply(), 0x30);
	cr_assert_eq(status() & 0x04, 0);
}

Test(i8042, disable_and_enable_keyboard_toggle_ctr_bit_4)
{
	cmd(0xad);
	cmd(0x20);
	cr_assert_eq(reply() & 0x10, 0x10);
	cmd(0xae);
	cmd(0x20);
	cr_assert_eq(reply() & 0x10, 0);
}

Test(i8042, bytes_for_the_absent_keyboard_get_no_reply)
{
	data_out(0xf2);
	cr_assert_eq(status() & STR_OBF, 0);
	cr_assert_eq(resets, 0);
}
