/* SPDX-License-Identifier: MIT */
/* The KVM glue's pure parts: what vmm asks KVM for, without /dev/kvm. */
#include <criterion/criterion.h>
#include <linux/kvm.h>

#include "vmm/kvm.h"

/* machine.c once passed `!assign` into a `deassign` parameter; the polarity is named in one
 * place now, and assigning must never carry KVM's DEASSIGN flag. */
Test(kvm, ioeventfd_assign_and_deassign_map_to_kvm_flags)
{
	cr_assert_eq(vm_ioeventfd_flags(BUS_MMIO, true), 0);
	cr_assert_eq(vm_ioeventfd_flags(BUS_MMIO, false), KVM_IOEVENTFD_FLAG_DEASSIGN);
	cr_assert_eq(vm_ioeventfd_flags(BUS_PIO, true), KVM_IOEVENTFD_FLAG_PIO);
	cr_assert_eq(vm_ioeventfd_flags(BUS_PIO, false),
		     KVM_IOEVENTFD_FLAG_PIO | KVM_IOEVENTFD_FLAG_DEASSIGN);
}
