/* SPDX-License-Identifier: MIT */
/*
 * MSI delivery through KVM irqfds and GSI routing (DESIGN.md rule 4).
 *
 * A route is bound when the guest programs a vector (kvmtool's irq__add_msix_route): the PCI
 * core calls irqroute_bind with the vector's message, which gets a GSI with an MSI routing
 * entry and an eventfd bound to it with KVM_IRQFD, and keeps the route number with the
 * vector. Delivering is then irqroute_fire: one eventfd write that KVM turns into the
 * interrupt, with no lookup and no lock, from any thread. Reprogramming a vector rebinds its
 * route in place. The routing table is rewritten (KVM_SET_GSI_ROUTING replaces it whole) only
 * when a binding changes, never on delivery; a message with no route (the table is full, or
 * a caller without a vector) is sent with KVM_SIGNAL_MSI. The table always keeps KVM's default
 * irqchip routes for GSIs 0-23 (PIC + IOAPIC).
 */
#ifndef VMM_IRQROUTE_H
#define VMM_IRQROUTE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define IRQROUTE_FIRST_GSI 24 /* after the IOAPIC's 24 pins */
/* Enough for 15 NVMe controllers at 65 vectors and every port's MSI; KVM allows 4096 GSI
 * routes on x86 (KVM_MAX_IRQ_ROUTES). */
#define IRQROUTE_MAX 1024

struct irqroute {
	int vm_fd;
	/* The kernel calls, replaceable by tests (default: ioctl(2) on vm_fd). */
	int (*ioctl)(int fd, unsigned long req, void *arg);
	pthread_mutex_t lock; /* binding only; delivery takes no lock */
	int n;
	struct irqroute_entry {
		uint64_t addr;
		uint32_t data;
		uint32_t gsi;
		int efd;
	} e[IRQROUTE_MAX];
	/* counters (atomic): routing-table rewrites, eventfd deliveries, KVM_SIGNAL_MSI ones */
	uint64_t rewrites, delivered, fallbacks;
};

int irqroute_init(struct irqroute *r, int vm_fd);
void irqroute_destroy(struct irqroute *r);
/*
 * Bind (addr, data) to route *route (< 0: a new one, whose number is stored in *route even
 * when the binding then fails, so a retry reuses it). 0, or -errno (-ENOSPC when the table is
 * full): then that vector's messages go through irqroute_msi.
 */
int irqroute_bind(struct irqroute *r, int *route, uint64_t addr, uint32_t data);
/* Deliver through a bound route; false when it cannot (the caller uses irqroute_msi). */
bool irqroute_fire(struct irqroute *r, int route);
/* Deliver one MSI with no route: KVM_SIGNAL_MSI. */
void irqroute_msi(struct irqroute *r, uint64_t addr, uint32_t data);

#endif
