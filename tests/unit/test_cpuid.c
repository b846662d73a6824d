/* SPDX-License-Identifier: MIT */
/* CPUID models: needs /dev/kvm for KVM_GET_SUPPORTED_CPUID, skipped without it. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm/kvm.h"

static int kvm_fd = -1;

static void open_kvm(void)
{
	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0)
		cr_skip_test("no usable /dev/kvm: %s", strerror(errno));
}

static void close_kvm(void)
{
	if (kvm_fd >= 0)
		close(kvm_fd);
}

static struct kvm_cpuid_entry2 *leaf(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == idx)
			return &c->entries[i];
	return NULL;
}

TestSuite(cpuid, .init = open_kvm, .fini = close_kvm);

Test(cpuid, compat_claims_intel_and_hides_unemulatable_features)
{
	char err[128], vendor[13] = {0};
	struct kvm_cpuid2 *c = kvm_cpuid_build(kvm_fd, CPU_MODEL_COMPAT, err, sizeof(err));
	struct kvm_cpuid_entry2 *e;

	cr_assert_not_null(c, "%s", err);
	e = leaf(c, 0, 0);
	cr_assert_not_null(e);
	memcpy(vendor, &e->ebx, 4);
	memcpy(vendor + 4, &e->edx, 4);
	memcpy(vendor + 8, &e->ecx, 4);
	cr_assert_str_eq(vendor, "GenuineIntel");
	e = leaf(c, 1, 0);
	cr_assert_not_null(e);
	cr_assert_eq(e->ecx & (1u << 13), 0, "cmpxchg16b must be hidden");
	cr_assert_eq(e->ecx & (1u << 23), 0, "popcnt must be hidden");
	cr_assert_eq(e->ecx & (1u << 26), 0, "xsave must be hidden");
	cr_assert_eq(e->ecx & (1u << 28), 0, "avx must be hidden");
	cr_assert(e->edx & 1, "the FPU bit stays");
	e = leaf(c, 7, 0);
	if (e) {
		cr_assert_eq(e->ebx & ((1u << 7) | (1u << 20)), 0, "SMEP/SMAP must be hidden");
		cr_assert_eq(e->ecx & (1u << 3), 0, "PKU must be hidden");
		cr_assert_eq(e->ebx & (1u << 5), 0, "AVX2 must be hidden");
	}
	cr_assert_null(leaf(c, 0xd, 0), "the XSAVE leaf must be gone");
	free(c);
}

Test(cpuid, host_model_keeps_the_host_vendor)
{
	char err[128];
	struct kvm_cpuid2 *c = kvm_cpuid_build(kvm_fd, CPU_MODEL_HOST, err, sizeof(err));
	uint32_t regs[4];

	cr_assert_not_null(c, "%s", err);
	__asm__("cpuid" : "=a"(regs[0]), "=b"(regs[1]), "=c"(regs[2]), "=d"(regs[3]) : "a"(0));
	cr_assert_eq(leaf(c, 0, 0)->ebx, regs[1]);
	free(c);
}

Test(cpuid, each_vcpu_gets_its_apic_id_and_the_hypervisor_bit)
{
	char err[128];
	struct kvm_cpuid2 *c = kvm_cpuid_build(kvm_fd, CPU_MODEL_HOST, err, sizeof(err));

	cr_assert_not_null(c, "%s", err);
	kvm_cpuid_for_vcpu(c, 3, 4);
	cr_assert_eq(leaf(c, 1, 0)->ebx >> 24, 3);
	cr_assert_eq((leaf(c, 1, 0)->ebx >> 16) & 0xff, 4);
	cr_assert(leaf(c, 1, 0)->ecx & (1u << 31));
	free(c);
}

/* Linux skips calibrating the APIC timer when CPUID says TSC-deadline mode exists
 * (calibrate_APIC_clock()); KVM emulates the mode but leaves the bit to us. */
Test(cpuid, tsc_deadline_offered_when_kvm_emulates_it)
{
	char err[128];
	int cap = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER);

	for (int m = 0; m < 2; m++) {
		struct kvm_cpuid2 *c = kvm_cpuid_build(
			kvm_fd, m ? CPU_MODEL_COMPAT : CPU_MODEL_HOST, err, sizeof(err));

		cr_assert_not_null(c, "%s", err);
		cr_assert_eq(!!(leaf(c, 1, 0)->ecx & (1u << 24)), cap > 0,
			     "CPUID.1:ECX[24] must follow KVM_CAP_TSC_DEADLINE_TIMER (%d)", cap);
		free(c);
	}
}
