/* SPDX-License-Identifier: MIT */
/*
 * COM1 output through a 16550 (PC16550D datasheet). Every port access is a VM exit, so
 * after seeing the transmit FIFO empty (LSR.THRE) we write up to 16 bytes without
 * polling again, instead of polling before each byte.
 */
#include "rt.h"

#define COM1		 0x3f8
#define UART_THR	 0
#define UART_IER	 1
#define UART_DLL	 0
#define UART_DLM	 1
#define UART_FCR	 2
#define UART_LCR	 3
#define UART_MCR	 4
#define UART_LSR	 5
#define LCR_8N1		 0x03
#define LCR_DLAB	 0x80
#define FCR_ENABLE_CLEAR 0x07
#define MCR_DTR_RTS	 0x03
#define LSR_THRE	 0x20
#define FIFO_DEPTH	 16
#define THRE_SPINS	 100000 /* give up waiting rather than hang on a broken UART */

static int fifo_room;

void rt_serial_init(void)
{
	outb(COM1 + UART_IER, 0);
	outb(COM1 + UART_LCR, LCR_DLAB);
	outb(COM1 + UART_DLL, 1); /* 115200 baud */
	outb(COM1 + UART_DLM, 0);
	outb(COM1 + UART_LCR, LCR_8N1);
	outb(COM1 + UART_FCR, FCR_ENABLE_CLEAR);
	outb(COM1 + UART_MCR, MCR_DTR_RTS);
	fifo_room = 0;
}

void rt_putc(char c)
{
	if (fifo_room == 0) {
		for (int i = 0; i < THRE_SPINS; i++)
			if (inb(COM1 + UART_LSR) & LSR_THRE)
				break;
		fifo_room = FIFO_DEPTH;
	}
	outb(COM1 + UART_THR, (uint8_t)c);
	fifo_room--;
}

void rt_serial_write(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		rt_putc(s[i]);
}
