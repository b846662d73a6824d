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

static int sys_ioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg);
}

int irqroute_init(struct irqroute *r, int vm_fd)
{
	memset(r, 0, sizeof(*r));
	r->vm_fd = vm_fd;
	r->ioctl = sys_ioctl;
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
		r->ioctl(r->vm_fd, KVM_IRQFD, &irqfd);
		close(r->e[i].efd);
	}
	pthread_mutex_destroy(&r->lock);
	r->n = 0;
}

/*
 * KVM_SET_GSI_ROUTING replaces the whole table, so it carries KVM's default irqchip routes
 * too (arch/x86/kvm/irq_comm.c default_routing: GSI 0-15 to both PIC and IOAPIC, 16-23 to
 * the IOAPIC) or INTx and the legacy devices would stop. Caller holds r->lock.
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
	ret = r->ioctl(r->vm_fd, KVM_SET_GSI_ROUTING, t) < 0 ? -errno : 0;
	__atomic_fetch_add(&r->rewrites, 1, __ATOMIC_RELAXED);
	free(t);
	return ret;
}

/* A new GSI with its eventfd bound by KVM_IRQFD; the route's message is set by the caller. */
static int new_route(struct irqroute *r)
{
	struct irqroute_entry *e;
	struct kvm_irqfd irqfd;
	int efd;

	if (r->n >= IRQROUTE_MAX)
		return -ENOSPC;
	e = &r->e[r->n];
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (efd < 0)
		return -errno;
	e->gsi = IRQROUTE_FIRST_GSI + (uint32_t)r->n;
	irqfd = (struct kvm_irqfd){.fd = (uint32_t)efd, .gsi = e->gsi};
	if (r->ioctl(r->vm_fd, KVM_IRQFD, &irqfd) < 0) {
		int ret = -errno;

		close(efd);
		return ret;
	}
	e->addr = ~0ULL; /* no message yet: the first bind always commits */
	/* published last: irqroute_fire on another thread reads efd without the lock */
	__atomic_store_n(&e->efd, efd, __ATOMIC_RELEASE);
	__atomic_store_n(&r->n, r->n + 1, __ATOMIC_RELEASE);
	return r->n - 1;
}

int irqroute_bind(struct irqroute *r, int *route, uint64_t addr, uint32_t data)
{
	struct irqroute_entry *e;
	uint64_t old_addr;
	uint32_t old_data;
	int ret = 0;

	pthread_mutex_lock(&r->lock);
	if (*route < 0 || *route >= r->n) {
		ret = new_route(r);
		if (ret < 0) {
			pthread_mutex_unlock(&r->lock);
			return ret;
		}
		*route = ret;
		ret = 0;
	}
	e = &r->e[*route];
	if (e->addr != addr || e->data != data) {
		old_addr = e->addr;
		old_data = e->data;
		e->addr = addr;
		e->data = data;
		ret = commit_routes(r);
		if (ret < 0) {
			pr_ratelimited("KVM_SET_GSI_ROUTING: %s", strerror(-ret));
			e->addr = old_addr;
			e->data = old_data;
		}
	}
	pthread_mutex_unlock(&r->lock);
	return ret;
}

bool irqroute_fire(struct irqroute *r, int route)
{
	uint64_t one = 1;
	int efd;

	if (route < 0 || route >= __atomic_load_n(&r->n, __ATOMIC_ACQUIRE))
		return false;
	efd = __atomic_load_n(&r->e[route].efd, __ATOMIC_ACQUIRE);
	if (efd < 0 || write(efd, &one, sizeof(one)) != sizeof(one))
		return false;
	__atomic_fetch_add(&r->delivered, 1, __ATOMIC_RELAXED);
	return true;
}

void irqroute_msi(struct irqroute *r, uint64_t addr, uint32_t data)
{
	struct kvm_msi msi = {
		.address_lo = (uint32_t)addr, .address_hi = (uint32_t)(addr >> 32), .data = data};

	__atomic_fetch_add(&r->fallbacks, 1, __ATOMIC_RELAXED);
	if (r->ioctl(r->vm_fd, KVM_SIGNAL_MSI, &msi) < 0)
		pr_ratelimited("KVM_SIGNAL_MSI: %s", strerror(errno));
}
