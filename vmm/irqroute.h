/* SPDX-License-Identifier: MIT */
/*
 * MSI delivery through KVM irqfds and GSI routing (DESIGN.md rule 4).
 *
 * Every distinct MSI message (address, data) a device sends gets a GSI with an MSI routing
 * entry and an eventfd bound to it with KVM_IRQFD; delivering the message is then one
 * eventfd write that KVM turns into an interrupt without a round trip through the VM's
 * ioctl path, and a device thread can do it too. Messages are cached (guests reprogram
 * MSI-X tables rarely); when the table is full the least recently used route is recycled.
 * The routing table always keeps KVM's default irqchip routes for GSIs 0-23 (PIC + IOAPIC).
 */
#ifndef VMM_IRQROUTE_H
#define VMM_IRQROUTE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define IRQROUTE_FIRST_GSI 24 /* after the IOAPIC's 24 pins */
#define IRQROUTE_MAX	   256

struct irqroute {
	int vm_fd;
	pthread_mutex_t lock;
	int n;
	uint64_t tick;
	struct irqroute_entry {
		uint64_t addr;
		uint32_t data;
		uint32_t gsi;
		int efd;
		uint64_t last_used;
	} e[IRQROUTE_MAX];
	uint64_t delivered, fallbacks;
};

int irqroute_init(struct irqroute *r, int vm_fd);
void irqroute_destroy(struct irqroute *r);
/* Deliver one MSI. Falls back to KVM_SIGNAL_MSI if a route cannot be made. */
void irqroute_msi(struct irqroute *r, uint64_t addr, uint32_t data);

#endif
