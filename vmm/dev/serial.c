/* SPDX-License-Identifier: MIT */
/*
 * 16550A UART. Register names and bits follow the TI/National PC16550D datasheet and Linux's
 * include/uapi/linux/serial_reg.h. Transmission is instantaneous: a byte written to THR goes
 * to the sink at once, so THR and the transmitter are empty again before the write returns.
 */
#include "vmm/dev/serial.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

/* Register offsets (datasheet table 2). */
#define UART_RX	 0 /* RBR on read, DLAB=0 */
#define UART_TX	 0 /* THR on write, DLAB=0 */
#define UART_DLL 0 /* DLAB=1 */
#define UART_IER 1 /* DLAB=0 */
#define UART_DLM 1 /* DLAB=1 */
#define UART_IIR 2 /* read */
#define UART_FCR 2 /* write */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define UART_IER_RDI  0x01 /* ERBFI: received data available */
#define UART_IER_THRI 0x02 /* ETBEI: THR empty */
#define UART_IER_RLSI 0x04 /* ELSI: receiver line status */
#define UART_IER_MSI  0x08 /* EDSSI: modem status */
#define UART_IER_MASK 0x0f /* bits 4-7 are always 0 on a 16550A */

#define UART_IIR_NO_INT 0x01
#define UART_IIR_MSI	0x00
#define UART_IIR_THRI	0x02
#define UART_IIR_RDI	0x04
#define UART_IIR_RLSI	0x06
#define UART_IIR_ID	0x0e
#define UART_IIR_FIFO	0xc0 /* both bits set when FCR bit 0 is set (16550A) */

#define UART_FCR_ENABLE_FIFO 0x01
#define UART_FCR_CLEAR_RCVR  0x02
#define UART_FCR_CLEAR_XMIT  0x04

#define UART_LCR_DLAB 0x80

#define UART_MCR_DTR  0x01
#define UART_MCR_RTS  0x02
#define UART_MCR_OUT1 0x04
#define UART_MCR_OUT2 0x08
#define UART_MCR_LOOP 0x10
#define UART_MCR_MASK 0x1f

#define UART_LSR_DR	  0x01
#define UART_LSR_OE	  0x02
#define UART_LSR_PE	  0x04
#define UART_LSR_FE	  0x08
#define UART_LSR_BI	  0x10
#define UART_LSR_THRE	  0x20
#define UART_LSR_TEMT	  0x40
#define UART_LSR_INT_BITS (UART_LSR_OE | UART_LSR_PE | UART_LSR_FE | UART_LSR_BI)

#define UART_MSR_DCTS  0x01
#define UART_MSR_DDSR  0x02
#define UART_MSR_TERI  0x04
#define UART_MSR_DDCD  0x08
#define UART_MSR_CTS   0x10
#define UART_MSR_DSR   0x20
#define UART_MSR_RI    0x40
#define UART_MSR_DCD   0x80
#define UART_MSR_DELTA 0x0f

#define RX_FIFO_SIZE 16

struct serial {
	pthread_mutex_t lock;
	const struct serial_ops *ops;
	void *opaque;
	struct irq_line irq;
	int irq_level;
	int log_fd;

	uint8_t ier, fcr, lcr, mcr, lsr, msr, scr, dll, dlm;
	/* The THRE interrupt is pending (cleared by an IIR read that reports it). */
	bool thr_pending;

	uint8_t rx[RX_FIFO_SIZE];
	unsigned rx_head, rx_count;
};

static unsigned rx_capacity(const struct serial *s)
{
	/* Without FCR.FE the 16550 works as a 16450: a single receive buffer register. */
	return (s->fcr & UART_FCR_ENABLE_FIFO) ? RX_FIFO_SIZE : 1;
}

/* Interrupt identification, highest priority first (datasheet table 4). */
static uint8_t pending_iir_id(const struct serial *s)
{
	if ((s->ier & UART_IER_RLSI) && (s->lsr & UART_LSR_INT_BITS))
		return UART_IIR_RLSI;
	/*
	 * Simplification: data available interrupts whenever the FIFO holds a byte, so no trigger
	 * level or character timeout is modelled (the driver drains the FIFO either way).
	 */
	if ((s->ier & UART_IER_RDI) && (s->lsr & UART_LSR_DR))
		return UART_IIR_RDI;
	if ((s->ier & UART_IER_THRI) && s->thr_pending)
		return UART_IIR_THRI;
	if ((s->ier & UART_IER_MSI) && (s->msr & UART_MSR_DELTA))
		return UART_IIR_MSI;
	return UART_IIR_NO_INT;
}

static void update_irq(struct serial *s)
{
	/*
	 * The UART's INTR pin reaches the PIC only through a buffer enabled by OUT2 on PC
	 * boards (Linux sets TIOCM_OUT2 in serial8250_do_startup for this reason). In loopback
	 * mode the OUT2 pin is forced inactive (datasheet, MCR bit 4), so the IRQ is cut off too.
	 */
	int level = pending_iir_id(s) != UART_IIR_NO_INT && (s->mcr & UART_MCR_OUT2) &&
		    !(s->mcr & UART_MCR_LOOP);

	if (level != s->irq_level) {
		s->irq_level = level;
		irq_line_set(&s->irq, level);
	}
}

static void rx_clear(struct serial *s)
{
	s->rx_head = 0;
	s->rx_count = 0;
	s->lsr &= (uint8_t)~UART_LSR_DR;
}

/* Returns false (and flags an overrun) when the receiver has no room. */
static bool rx_put(struct serial *s, uint8_t byte)
{
	if (s->rx_count >= rx_capacity(s)) {
		/* A full FIFO keeps its contents; the new character is lost (datasheet, LSR1). */
		s->lsr |= UART_LSR_OE;
		return false;
	}
	s->rx[(s->rx_head + s->rx_count) % RX_FIFO_SIZE] = byte;
	s->rx_count++;
	s->lsr |= UART_LSR_DR;
	return true;
}

static uint8_t rx_get(struct serial *s)
{
	uint8_t byte;

	if (!s->rx_count)
		return 0;
	byte = s->rx[s->rx_head];
	s->rx_head = (s->rx_head + 1) % RX_FIFO_SIZE;
	if (--s->rx_count == 0) {
		s->lsr &= (uint8_t)~UART_LSR_DR;
		if (s->ops && s->ops->rx_ready && !(s->mcr & UART_MCR_LOOP))
			s->ops->rx_ready(s->opaque);
	}
	return byte;
}

/*
 * MSR bits 4-7 follow the modem inputs: DCD, DSR and CTS are always asserted (a null modem
 * that is always ready). In loopback they follow MCR: CTS=RTS, DSR=DTR, RI=OUT1, DCD=OUT2.
 */
static void update_msr(struct serial *s)
{
	uint8_t old = s->msr, lines;

	if (s->mcr & UART_MCR_LOOP) {
		lines = 0;
		if (s->mcr & UART_MCR_RTS)
			lines |= UART_MSR_CTS;
		if (s->mcr & UART_MCR_DTR)
			lines |= UART_MSR_DSR;
		if (s->mcr & UART_MCR_OUT1)
			lines |= UART_MSR_RI;
		if (s->mcr & UART_MCR_OUT2)
			lines |= UART_MSR_DCD;
	} else {
		lines = UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
	}
	s->msr = (uint8_t)(lines | (old & UART_MSR_DELTA));
	s->msr |= (uint8_t)(((old ^ lines) >> 4) & (UART_MSR_DCTS | UART_MSR_DDSR | UART_MSR_DDCD));
	/* TERI: RI went from on to off only. */
	if ((old & UART_MSR_RI) && !(lines & UART_MSR_RI))
		s->msr |= UART_MSR_TERI;
}

static void transmit(struct serial *s, uint8_t byte)
{
	if (s->mcr & UART_MCR_LOOP) {
		rx_put(s, byte);
	} else {
		if (s->ops && s->ops->tx)
			s->ops->tx(s->opaque, byte);
		if (s->log_fd >= 0) {
			ssize_t r = write(s->log_fd, &byte, 1);
			(void)r;
		}
	}
	/* The byte left THR and the shift register at once: THRE fires again. */
	s->lsr |= UART_LSR_THRE | UART_LSR_TEMT;
	s->thr_pending = true;
}

static void write_fcr(struct serial *s, uint8_t val)
{
	/* Changing FCR bit 0 clears both FIFOs (datasheet, FCR0). */
	if ((val ^ s->fcr) & UART_FCR_ENABLE_FIFO)
		val |= UART_FCR_CLEAR_RCVR | UART_FCR_CLEAR_XMIT;
	if (val & UART_FCR_CLEAR_RCVR) {
		rx_clear(s);
		if (s->ops && s->ops->rx_ready && !(s->mcr & UART_MCR_LOOP))
			s->ops->rx_ready(s->opaque);
	}
	/* Bits 1 and 2 self-clear; keep FIFO enable, DMA mode and the trigger level. */
	s->fcr = val & 0xc9;
}

static void write_mcr(struct serial *s, uint8_t val)
{
	bool was_loop = s->mcr & UART_MCR_LOOP;

	s->mcr = val & UART_MCR_MASK;
	update_msr(s);
	if (was_loop && !(s->mcr & UART_MCR_LOOP) && s->ops && s->ops->rx_ready)
		s->ops->rx_ready(s->opaque);
}

static uint64_t serial_read(void *opaque, uint64_t offset, unsigned size)
{
	struct serial *s = opaque;
	uint8_t val = 0xff;

	pthread_mutex_lock(&s->lock);
	switch (offset) {
	case UART_RX:
		if (s->lcr & UART_LCR_DLAB)
			val = s->dll;
		else
			val = rx_get(s);
		break;
	case UART_IER:
		val = (s->lcr & UART_LCR_DLAB) ? s->dlm : s->ier;
		break;
	case UART_IIR:
		val = pending_iir_id(s);
		/* Reading IIR clears a THRE interrupt it reports (datasheet table 4). */
		if (val == UART_IIR_THRI)
			s->thr_pending = false;
		if (s->fcr & UART_FCR_ENABLE_FIFO)
			val |= UART_IIR_FIFO;
		break;
	case UART_LCR:
		val = s->lcr;
		break;
	case UART_MCR:
		val = s->mcr;
		break;
	case UART_LSR:
		val = s->lsr;
		/* Reading LSR clears the error bits (datasheet, LSR1-LSR4). */
		s->lsr &= (uint8_t)~UART_LSR_INT_BITS;
		break;
	case UART_MSR:
		val = s->msr;
		s->msr &= (uint8_t)~UART_MSR_DELTA;
		break;
	case UART_SCR:
		val = s->scr;
		break;
	}
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return val;
}

static void serial_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct serial *s = opaque;
	uint8_t val = (uint8_t)value;

	pthread_mutex_lock(&s->lock);
	switch (offset) {
	case UART_TX:
		if (s->lcr & UART_LCR_DLAB) {
			s->dll = val;
		} else {
			s->thr_pending = false;
			transmit(s, val);
		}
		break;
	case UART_IER:
		if (s->lcr & UART_LCR_DLAB) {
			s->dlm = val;
		} else {
			s->ier = val & UART_IER_MASK;
			/*
			 * Enabling ETBEI while THR is empty raises THRE again; Linux's
			 * serial8250_do_startup checks for this (UART_BUG_THRE).
			 */
			s->thr_pending = (s->ier & UART_IER_THRI) && (s->lsr & UART_LSR_THRE);
		}
		break;
	case UART_FCR:
		write_fcr(s, val);
		break;
	case UART_LCR:
		s->lcr = val;
		break;
	case UART_MCR:
		write_mcr(s, val);
		break;
	case UART_LSR:
	case UART_MSR:
		/* Factory test registers; writes are ignored. */
		break;
	case UART_SCR:
		s->scr = val;
		break;
	}
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

const struct bus_ops serial_bus_ops = {
	.read = serial_read,
	.write = serial_write,
};

struct serial *serial_create(const struct serial_ops *ops, void *opaque, struct irq_line irq)
{
	struct serial *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return NULL;
	err = pthread_mutex_init(&s->lock, NULL);
	if (err) {
		free(s);
		errno = err;
		return NULL;
	}
	s->ops = ops;
	s->opaque = opaque;
	s->irq = irq;
	s->log_fd = -1;
	/* Reset values, datasheet table 10. The divisor latch is not reset; 12 is 9600 baud. */
	s->lsr = UART_LSR_THRE | UART_LSR_TEMT;
	s->dll = 12;
	update_msr(s);
	s->msr &= (uint8_t)~UART_MSR_DELTA;
	return s;
}

void serial_destroy(struct serial *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void serial_set_log_fd(struct serial *s, int fd)
{
	pthread_mutex_lock(&s->lock);
	s->log_fd = fd;
	pthread_mutex_unlock(&s->lock);
}

static size_t rx_space_locked(const struct serial *s)
{
	/* In loopback the serial input is disconnected from the receiver. */
	if (s->mcr & UART_MCR_LOOP)
		return 0;
	return rx_capacity(s) - s->rx_count;
}

size_t serial_rx_space(struct serial *s)
{
	size_t space;

	pthread_mutex_lock(&s->lock);
	space = rx_space_locked(s);
	pthread_mutex_unlock(&s->lock);
	return space;
}

size_t serial_rx_push(struct serial *s, const uint8_t *bytes, size_t n)
{
	size_t i, space;

	pthread_mutex_lock(&s->lock);
	space = rx_space_locked(s);
	if (n > space)
		n = space;
	for (i = 0; i < n; i++)
		rx_put(s, bytes[i]);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}
