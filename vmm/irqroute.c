/* SPDX-License-Identifier: MIT */
#include "vmm/irqroute.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm/util.h"

#define IOAPIC_PINS 24
#define PIC_IRQS    16

int irqroute_init(struct irqroute *r, int vm_fd)
{
	memset(r, 0, sizeof(*r));
	r->vm_fd = vm_fd;
	pthread_mutex_init(&r->lock, NULL);
	for (int i = 0; i < IRQROUTE_MAX; i++)
		r->e[i].efd = -1;
	return 0;
}

void irqroute_destroy(struct irqroute *r)
{
	for (int i = 0; i < r->n; i++) {
		struct kvm_irqfd irqfd = {.fd = (uint32_t)r->e[i].efd,
					  .gsi = r->e[i].gsi,
					  .flags = KVM_IRQFD_FLAG_DEASSIGN};

		if (r->e[i].efd < 0)
			continue;
		ioctl(r->vm_fd, KVM_IRQFD, &irqfd);
		close(r->e[i].efd);
	}
	pthread_mutex_destroy(&r->lock);
	r->n = 0;
}

/*
 * KVM_SET_GSI_ROUTING replaces the whole table, so it carries KVM's default irqchip routes
 * too (arch/x86/kvm/irq_comm.c default_routing: GSI 0-15 to both PIC and IOAPIC, 16-23 to
 * the IOAPIC) or INTx and the legacy devices would stop.
 */
static int commit_routes(struct irqroute *r)
{
	size_t max = PIC_IRQS + IOAPIC_PINS + IRQROUTE_MAX;
	struct kvm_irq_routing *t = calloc(1, sizeof(*t) + max * sizeof(t->entries[0]));
	uint32_t n = 0;
	int ret;

	if (!t)
		return -ENOMEM;
	for (uint32_t gsi = 0; gsi < IOAPIC_PINS; gsi++) {
		if (gsi < PIC_IRQS && gsi != 2) {
			t->entries[n++] = (struct kvm_irq_routing_entry){
				.gsi = gsi,
				.type = KVM_IRQ_ROUTING_IRQCHIP,
				.u.irqchip = {.irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER
								 : KVM_IRQCHIP_PIC_SLAVE,
					      .pin = gsi % 8},
			};
		}
		t->entries[n++] = (struct kvm_irq_routing_entry){
			.gsi = gsi,
			.type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = {.irqchip = KVM_IRQCHIP_IOAPIC, .pin = gsi},
		};
	}
	for (int i = 0; i < r->n; i++)
		t->entries[n++] = (struct kvm_irq_routing_entry){
			.gsi = r->e[i].gsi,
			.type = KVM_IRQ_ROUTING_MSI,
			.u.msi = {.address_lo = (uint32_t)r->e[i].addr,
				  .address_hi = (uint32_t)(r->e[i].addr >> 32),
				  .data = r->e[i].data},
		};
	t->nr = n;
	ret = ioctl(r->vm_fd, KVM_SET_GSI_ROUTING, t) < 0 ? -errno : 0;
	free(t);
	return ret;
}

/* The route for (addr, data): found, made, or a recycled least-recently-used one. */
static struct irqroute_entry *route_for(struct irqroute *r, uint64_t addr, uint32_t data)
{
	struct irqroute_entry *e = NULL;
	struct kvm_irqfd irqfd;

	for (int i = 0; i < r->n; i++)
		if (r->e[i].addr == addr && r->e[i].data == data)
			return &r->e[i];
	if (r->n < IRQROUTE_MAX) {
		e = &r->e[r->n];
		e->gsi = IRQROUTE_FIRST_GSI + (uint32_t)r->n;
		e->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (e->efd < 0)
			return NULL;
		irqfd = (struct kvm_irqfd){.fd = (uint32_t)e->efd, .gsi = e->gsi};
		if (ioctl(r->vm_fd, KVM_IRQFD, &irqfd) < 0) {
			close(e->efd);
			e->efd = -1;
			return NULL;
		}
		r->n++;
	} else {
		e = &r->e[0];
		for (int i = 1; i < r->n; i++)
			if (r->e[i].last_used < e->last_used)
				e = &r->e[i];
	}
	e->addr = addr;
	e->data = data;
	if (commit_routes(r) < 0) {
		pr_ratelimited("KVM_SET_GSI_ROUTING: %s", strerror(errno));
		e->addr = ~0ULL; /* never matches: the entry is retried next time */
		return NULL;
	}
	return e;
}

void irqroute_msi(struct irqroute *r, uint64_t addr, uint32_t data)
{
	struct irqroute_entry *e;
	uint64_t one = 1;
	int efd = -1;

	pthread_mutex_lock(&r->lock);
	e = route_for(r, addr, data);
	if (e) {
		e->last_used = ++r->tick;
		efd = e->efd;
		r->delivered++;
	} else {
		r->fallbacks++;
	}
	pthread_mutex_unlock(&r->lock);

	if (efd >= 0 && write(efd, &one, sizeof(one)) == sizeof(one))
		return;
	/* No route (table trouble): signal it directly. */
	struct kvm_msi msi = {
		.address_lo = (uint32_t)addr, .address_hi = (uint32_t)(addr >> 32), .data = data};
	if (ioctl(r->vm_fd, KVM_SIGNAL_MSI, &msi) < 0)
		pr_ratelimited("KVM_SIGNAL_MSI: %s", strerror(errno));
}
