/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "vmm/dev/serial.h"

/* Register offsets and bits as the guest driver sees them (16550 datasheet). */
enum { THR = 0, RBR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4 };
enum { LSR = 5, MSR = 6, SCR = 7 };

struct recorder {
	uint8_t tx[64];
	size_t ntx;
	int level;
	int level_changes;
	int rx_ready_calls;
};

static void record_tx(void *opaque, uint8_t byte)
{
	struct recorder *r = opaque;

	if (r->ntx < sizeof(r->tx))
		r->tx[r->ntx++] = byte;
}

static void record_rx_ready(void *opaque)
{
	struct recorder *r = opaque;

	r->rx_ready_calls++;
}

static void record_level(void *opaque, uint32_t gsi, int level)
{
	struct recorder *r = opaque;

	cr_assert_eq(gsi, 4);
	r->level = level;
	r->level_changes++;
}

static const struct serial_ops rec_ops = {.tx = record_tx, .rx_ready = record_rx_ready};
static struct recorder rec;
static struct serial *dev;

static void setup(void)
{
	memset(&rec, 0, sizeof(rec));
	dev = serial_create(&rec_ops, &rec,
			    (struct irq_line){.set_level = record_level, .opaque = &rec, .gsi = 4});
	cr_assert_not_null(dev);
}

static void teardown(void)
{
	serial_destroy(dev);
}

static uint8_t rd(unsigned off)
{
	return (uint8_t)serial_bus_ops.read(dev, off, 1);
}

static void wr(unsigned off, uint8_t val)
{
	serial_bus_ops.write(dev, off, val, 1);
}

TestSuite(serial, .init = setup, .fini = teardown);

Test(serial, reset_state_reads_like_an_idle_16550a)
{
	cr_assert_eq(rd(IER), 0);
	cr_assert_eq(rd(IIR), 0x01);
	cr_assert_eq(rd(LCR), 0);
	cr_assert_eq(rd(MCR), 0);
	cr_assert_eq(rd(LSR), 0x60);
	cr_assert_eq(rd(MSR), 0xb0);
	cr_assert_eq(rec.level, 0);
}

Test(serial, dlab_selects_the_divisor_latch)
{
	wr(LCR, 0x80);
	wr(DLL, 0x01);
	wr(DLM, 0x02);
	cr_assert_eq(rd(DLL), 0x01);
	cr_assert_eq(rd(DLM), 0x02);
	cr_assert_eq(rec.ntx, 0, "a DLL write must not transmit");
	wr(LCR, 0x03);
	cr_assert_eq(rd(IER), 0, "IER must be untouched by the DLM write");
	wr(LCR, 0x83);
	cr_assert_eq(rd(DLL), 0x01);
	cr_assert_eq(rd(DLM), 0x02);
}

Test(serial, ier_keeps_only_its_low_four_bits)
{
	wr(IER, 0xff);
	cr_assert_eq(rd(IER), 0x0f);
}

Test(serial, scratch_register_round_trips)
{
	wr(SCR, 0xa5);
	cr_assert_eq(rd(SCR), 0xa5);
}

Test(serial, thr_output_reaches_the_sink_and_thr_stays_empty)
{
	const char *msg = "hi\n";

	for (const char *p = msg; *p; p++)
		wr(THR, (uint8_t)*p);
	cr_assert_eq(rec.ntx, 3);
	cr_assert_arr_eq(rec.tx, msg, 3);
	cr_assert_eq(rd(LSR) & 0x60, 0x60, "THRE and TEMT set after transmit");
}

Test(serial, loopback_sends_tx_to_rx_not_the_sink)
{
	wr(MCR, 0x10);
	wr(THR, 'x');
	cr_assert_eq(rec.ntx, 0);
	cr_assert_eq(rd(LSR) & 0x01, 0x01);
	cr_assert_eq(rd(RBR), 'x');
	cr_assert_eq(rd(LSR) & 0x01, 0);
}

Test(serial, loopback_msr_mirrors_mcr_like_linux_autoconfig_expects)
{
	/* Linux autoconfig writes LOOP|OUT2|RTS and expects DCD|CTS in MSR[7:4]. */
	wr(MCR, 0x10 | 0x0a);
	cr_assert_eq(rd(MSR) & 0xf0, 0x90);
	wr(MCR, 0x10 | 0x05);
	cr_assert_eq(rd(MSR) & 0xf0, 0x60, "DTR->DSR, OUT1->RI");
}

Test(serial, msr_delta_bits_set_on_change_and_clear_on_read)
{
	wr(MCR, 0x10);
	/* DCD, DSR and CTS all dropped when entering loopback with MCR outputs off. */
	cr_assert_eq(rd(MSR), 0x0b);
	cr_assert_eq(rd(MSR), 0x00);
	wr(MCR, 0x14); /* OUT1 -> RI on */
	cr_assert_eq(rd(MSR), 0x40, "RI rising sets no delta");
	wr(MCR, 0x10);
	cr_assert_eq(rd(MSR), 0x04, "RI falling sets TERI");
}

Test(serial, loopback_input_is_refused_and_kept_for_later)
{
	const uint8_t in[2] = {'a', 'b'};

	wr(MCR, 0x10);
	cr_assert_eq(serial_rx_space(dev), 0);
	cr_assert_eq(serial_rx_push(dev, in, 2), 0);
	wr(MCR, 0x00);
	cr_assert_eq(rec.rx_ready_calls, 1, "leaving loopback tells the console to retry");
	cr_assert_eq(serial_rx_push(dev, in, 2), 1, "16450 mode holds one byte");
}

Test(serial, rx_fifo_fill_reports_space_and_preserves_order)
{
	uint8_t in[20];
	int ready_before;

	for (unsigned i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)('A' + i);
	wr(FCR, 0x01);
	ready_before = rec.rx_ready_calls;
	cr_assert_eq(serial_rx_space(dev), 16);
	cr_assert_eq(serial_rx_push(dev, in, 10), 10);
	cr_assert_eq(serial_rx_space(dev), 6);
	cr_assert_eq(serial_rx_push(dev, in + 10, 10), 6, "only the free space is accepted");
	cr_assert_eq(rd(LSR) & 0x02, 0, "refused input is not an overrun");
	for (unsigned i = 0; i < 16; i++) {
		cr_assert_eq(rd(LSR) & 0x01, 0x01);
		cr_assert_eq(rd(RBR), 'A' + i);
	}
	cr_assert_eq(rd(LSR) & 0x01, 0);
	cr_assert_eq(rec.rx_ready_calls, ready_before + 1, "draining the FIFO invites more input");
	cr_assert_eq(serial_rx_space(dev), 16);
}

Test(serial, rx_fifo_overflow_sets_overrun_and_keeps_first_16_bytes)
{
	wr(FCR, 0x01);
	wr(MCR, 0x10);
	for (unsigned i = 0; i < 17; i++)
		wr(THR, (uint8_t)i);
	cr_assert_eq(rd(LSR) & 0x03, 0x03, "DR and OE");
	cr_assert_eq(rd(LSR) & 0x02, 0, "reading LSR clears OE");
	for (unsigned i = 0; i < 16; i++)
		cr_assert_eq(rd(RBR), i);
	cr_assert_eq(rd(LSR) & 0x01, 0);
}

Test(serial, fcr_fifo_enable_shows_in_iir_and_reset_clears_rx)
{
	const uint8_t in[3] = {1, 2, 3};

	wr(FCR, 0x01);
	cr_assert_eq(rd(IIR), 0xc1);
	serial_rx_push(dev, in, 3);
	wr(FCR, 0x03);
	cr_assert_eq(rd(LSR) & 0x01, 0, "RX FIFO reset empties the receiver");
	cr_assert_eq(rd(IIR), 0xc1, "FIFO stays enabled");
	wr(FCR, 0x00);
	cr_assert_eq(rd(IIR), 0x01);
}

Test(serial, thri_is_reported_and_cleared_by_reading_iir)
{
	wr(IER, 0x02);
	cr_assert_eq(rd(IIR), 0x02);
	cr_assert_eq(rd(IIR), 0x01, "an IIR read that reported THRI clears it");
	wr(THR, 'z');
	cr_assert_eq(rd(IIR), 0x02, "THR empty again after the write");
	cr_assert_eq(rd(IIR), 0x01);
}

Test(serial, rewriting_ier_rearms_thri_for_linux_thre_test)
{
	/* serial8250_do_startup: IER=THRI, read IIR, IER=0, IER=THRI, IIR must show THRI. */
	wr(IER, 0x02);
	rd(IIR);
	wr(IER, 0x00);
	wr(IER, 0x02);
	cr_assert_eq(rd(IIR), 0x02);
}

Test(serial, iir_priority_line_status_over_rx_over_thri_over_modem)
{
	const uint8_t in = 'q';

	wr(FCR, 0x01);
	wr(IER, 0x0f);
	/* Loopback with OUT1 toggles RI and so MSR deltas; then fill the FIFO past full. */
	wr(MCR, 0x10);
	for (unsigned i = 0; i < 17; i++)
		wr(THR, 'a');
	cr_assert_eq(rd(IIR), 0xc6, "line status first");
	rd(LSR);
	cr_assert_eq(rd(IIR), 0xc4, "then received data");
	for (unsigned i = 0; i < 16; i++)
		rd(RBR);
	cr_assert_eq(rd(IIR), 0xc2, "then THR empty");
	cr_assert_eq(rd(IIR), 0xc0, "then modem status");
	rd(MSR);
	cr_assert_eq(rd(IIR), 0xc1);
	wr(MCR, 0x00);
	rd(MSR);
	cr_assert_eq(serial_rx_push(dev, &in, 1), 1);
	cr_assert_eq(rd(IIR), 0xc4);
}

Test(serial, irq_level_needs_out2_and_an_enabled_condition)
{
	const uint8_t in = 'k';

	serial_rx_push(dev, &in, 1);
	cr_assert_eq(rec.level, 0, "RDI not enabled");
	wr(IER, 0x01);
	cr_assert_eq(rec.level, 0, "OUT2 clear gates the line");
	wr(MCR, 0x08);
	cr_assert_eq(rec.level, 1);
	wr(IER, 0x00);
	cr_assert_eq(rec.level, 0);
	wr(IER, 0x01);
	cr_assert_eq(rec.level, 1);
	cr_assert_eq(rd(RBR), 'k');
	cr_assert_eq(rec.level, 0, "reading the byte drops the level");
}

Test(serial, irq_level_follows_thri_and_iir_read)
{
	wr(MCR, 0x08);
	wr(IER, 0x02);
	cr_assert_eq(rec.level, 1);
	rd(IIR);
	cr_assert_eq(rec.level, 0);
	wr(THR, '.');
	cr_assert_eq(rec.level, 1);
	wr(MCR, 0x00);
	cr_assert_eq(rec.level, 0, "clearing OUT2 drops the line");
}

Test(serial, irq_is_cut_off_in_loopback)
{
	wr(MCR, 0x18);
	wr(IER, 0x02);
	cr_assert_eq(rd(IIR), 0x02, "the condition is still reported");
	cr_assert_eq(rec.level, 0);
	cr_assert_eq(rec.level_changes, 0);
}

Test(serial, log_fd_copies_transmitted_bytes)
{
	int fds[2];
	char buf[4] = {0};

	cr_assert_eq(pipe(fds), 0);
	serial_set_log_fd(dev, fds[1]);
	wr(THR, 'o');
	wr(THR, 'k');
	cr_assert_eq(read(fds[0], buf, sizeof(buf)), 2);
	cr_assert_str_eq(buf, "ok");
	close(fds[0]);
	close(fds[1]);
}

#define STREAM_LEN 20000

static void *push_stream(void *arg)
{
	size_t sent = 0;

	(void)arg;
	while (sent < STREAM_LEN) {
		uint8_t chunk[7];
		size_t n = STREAM_LEN - sent < sizeof(chunk) ? STREAM_LEN - sent : sizeof(chunk);

		for (size_t i = 0; i < n; i++)
			chunk[i] = (uint8_t)((sent + i) * 7);
		sent += serial_rx_push(dev, chunk, n);
	}
	return NULL;
}

Test(serial, input_pushed_from_another_thread_arrives_complete_and_in_order)
{
	pthread_t t;
	size_t got = 0;

	wr(FCR, 0x01);
	cr_assert_eq(pthread_create(&t, NULL, push_stream, NULL), 0);
	while (got < STREAM_LEN) {
		if (!(rd(LSR) & 0x01))
			continue;
		cr_assert_eq(rd(RBR), (uint8_t)(got * 7), "byte %zu", got);
		got++;
	}
	pthread_join(t, NULL);
	cr_assert_eq(rd(LSR) & 0x03, 0, "nothing left over, no overrun");
}
