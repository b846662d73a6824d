/* SPDX-License-Identifier: MIT */
/* MSI routes through irqfds: needs /dev/kvm (a VM with an in-kernel irqchip); else skipped. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm/irqroute.h"

static int kvm_fd = -1, vm_fd = -1;
static struct irqroute r;

static void setup(void)
{
	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0)
		cr_skip_test("no usable /dev/kvm: %s", strerror(errno));
	vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	cr_assert_geq(vm_fd, 0);
	cr_assert_eq(ioctl(vm_fd, KVM_CREATE_IRQCHIP, 0), 0);
	irqroute_init(&r, vm_fd);
}

static void teardown(void)
{
	if (vm_fd >= 0) {
		irqroute_destroy(&r);
		close(vm_fd);
	}
	if (kvm_fd >= 0)
		close(kvm_fd);
}

TestSuite(irqroute, .init = setup, .fini = teardown);

Test(irqroute, same_message_reuses_one_route)
{
	irqroute_msi(&r, 0xfee00000, 0x40);
	irqroute_msi(&r, 0xfee00000, 0x40);
	irqroute_msi(&r, 0xfee00000, 0x41);
	cr_assert_eq(r.n, 2);
	cr_assert_eq(r.delivered, 3);
	cr_assert_eq(r.fallbacks, 0);
	cr_assert_eq(r.e[0].gsi, IRQROUTE_FIRST_GSI);
	cr_assert_geq(r.e[0].efd, 0);
}

Test(irqroute, full_table_recycles_the_least_recently_used_route)
{
	for (uint32_t v = 0; v < IRQROUTE_MAX; v++)
		irqroute_msi(&r, 0xfee00000, 0x100 + v);
	cr_assert_eq(r.n, IRQROUTE_MAX);
	irqroute_msi(&r, 0xfee00000, 0x100); /* touch the oldest: now the second is LRU */
	irqroute_msi(&r, 0xfee01000, 0x20);
	cr_assert_eq(r.n, IRQROUTE_MAX);
	cr_assert_eq(r.e[1].addr, 0xfee01000, "entry 1 was the least recently used");
	cr_assert_eq(r.e[0].data, 0x100, "the touched entry stays");
	cr_assert_eq(r.fallbacks, 0);
}
