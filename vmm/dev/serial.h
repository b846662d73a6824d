/* SPDX-License-Identifier: MIT */
/*
 * 16550A UART (the PC's COM1 at 0x3f8, IRQ 4). The machine registers serial_bus_ops on the
 * port-I/O bus with the device as opaque and a size of 8.
 *
 * Two threads use a serial device: the vCPU thread through the bus handlers and the console
 * thread through serial_rx_push(). A mutex inside the device serialises them. The tx, rx_ready
 * and irq callbacks run with that mutex held: they must not call back into the device.
 */
#ifndef VMM_DEV_SERIAL_H
#define VMM_DEV_SERIAL_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/irq.h"

#define SERIAL_COM1_BASE 0x3f8
#define SERIAL_COM1_IRQ	 4
#define SERIAL_NR_PORTS	 8

struct serial;

struct serial_ops {
	/* A byte the guest transmitted (not called in loopback mode). */
	void (*tx)(void *opaque, uint8_t byte);
	/*
	 * Optional: the guest drained the receive FIFO (or left loopback mode), so a console
	 * that could not push everything may try again now.
	 */
	void (*rx_ready)(void *opaque);
};

/* NULL with errno set when memory runs out. `ops` may be NULL (output is dropped). */
struct serial *serial_create(const struct serial_ops *ops, void *opaque, struct irq_line irq);
void serial_destroy(struct serial *s);

/* Also copy every transmitted byte to `fd` (-1 turns it off). Write errors are ignored. */
void serial_set_log_fd(struct serial *s, int fd);

/*
 * Offer received bytes. Returns how many were accepted (the free space of the receive FIFO;
 * 0 in loopback mode); the caller keeps the rest and retries later, so input is never lost.
 */
size_t serial_rx_push(struct serial *s, const uint8_t *bytes, size_t n);
size_t serial_rx_space(struct serial *s);

extern const struct bus_ops serial_bus_ops;

#endif
