/* SPDX-License-Identifier: MIT */
/*
 * CPUID models.
 *
 * "host": what KVM_GET_SUPPORTED_CPUID offers, with per-vCPU topology fixed up.
 * "compat": for hosts whose KVM runs guest ring 0 through the instruction emulator (nested
 * KVM over PVM, shared/HOST.md). The guest kernel must not pick code paths the emulator
 * cannot execute, so we claim an Intel CPU (Linux's AMD paths use x87 FXSAVE-leak
 * workarounds) and hide every feature whose instructions the emulator lacks.
 *
 * Measured on the project's nested (PVM) host: KVM honours the vendor and e.g. CX16 from
 * this table at CPL 0, but still reports POPCNT, XSAVE and AVX to the guest whatever the
 * table says, so a Linux guest there also needs "noxsave clearcpuid=..." (guests/linux).
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/kvm.h"
#include "vmm/util.h"

#define CPUID_MAX_ENTRIES 256

/* Leaf 1 ECX */
#define F1C_PCLMULQDQ	(1u << 1)
#define F1C_MONITOR	(1u << 3)
#define F1C_FMA		(1u << 12)
#define F1C_CX16	(1u << 13)
#define F1C_SSE41	(1u << 19)
#define F1C_SSE42	(1u << 20)
#define F1C_X2APIC	(1u << 21)
#define F1C_MOVBE	(1u << 22)
#define F1C_POPCNT	(1u << 23)
#define F1C_TSCDEADLINE (1u << 24)
#define F1C_AES		(1u << 25)
#define F1C_XSAVE	(1u << 26)
#define F1C_OSXSAVE	(1u << 27)
#define F1C_AVX		(1u << 28)
#define F1C_F16C	(1u << 29)
#define F1C_RDRAND	(1u << 30)
#define F1C_HYPERVISOR	(1u << 31)
/* Leaf 1 EBX */
#define F1B_APICID_SHIFT 24
/* Leaf 7.0 EBX */
#define F7B_BMI1	(1u << 3)
#define F7B_AVX2	(1u << 5)
#define F7B_SMEP	(1u << 7)
#define F7B_BMI2	(1u << 8)
#define F7B_INVPCID	(1u << 10)
#define F7B_AVX512F	(1u << 16)
#define F7B_RDSEED	(1u << 18)
#define F7B_ADX		(1u << 19)
#define F7B_SMAP	(1u << 20)
#define F7B_CLFLUSHOPT	(1u << 23)
#define F7B_CLWB	(1u << 24)
#define F7B_SHA		(1u << 29)
#define F7B_AVX512_MASK 0xFC230000u /* AVX512F/DQ/IFMA/PF/ER/CD/BW/VL */
/* Leaf 7.0 ECX */
#define F7C_UMIP	(1u << 2)
#define F7C_PKU		(1u << 3)
#define F7C_OSPKE	(1u << 4)
#define F7C_WAITPKG	(1u << 5)
#define F7C_AVX512_MASK 0x00005842u /* VBMI, VBMI2, BITALG, VPOPCNTDQ, VNNI-ish bits */
#define F7C_VAES	(1u << 9)
#define F7C_VPCLMULQDQ	(1u << 10)
#define F7C_GFNI	(1u << 8)
#define F7C_LA57	(1u << 16)
#define F7C_RDPID	(1u << 22)
/* Leaf 0x80000001 ECX */
#define F81C_ABM	 (1u << 5) /* LZCNT */
#define F81C_SSE4A	 (1u << 6)
#define F81C_MISALIGNSSE (1u << 7)
#define F81C_XOP	 (1u << 11)
#define F81C_FMA4	 (1u << 16)
#define F81C_TBM	 (1u << 21)
/* Leaf 0x80000001 EDX */
#define F81D_RDTSCP (1u << 27)
/* KVM paravirtual features, leaf 0x40000001 EAX (Documentation/virt/kvm/x86/cpuid.rst) */
#define KVM_LEAF_FEATURES     0x40000001
#define KVMF_PV_UNHALT	      (1u << 7)
#define KVMF_PV_SEND_IPI      (1u << 11)
#define KVMF_PV_SCHED_YIELD   (1u << 13)
#define KVMF_HC_MAP_GPA_RANGE (1u << 16)

static struct kvm_cpuid_entry2 *find_leaf(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == idx)
			return &c->entries[i];
	return NULL;
}

static void remove_leaf(struct kvm_cpuid2 *c, uint32_t fn)
{
	uint32_t j = 0;

	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function != fn)
			c->entries[j++] = c->entries[i];
	c->nent = j;
}

static void set_vendor(struct kvm_cpuid_entry2 *e, const char vendor[12])
{
	memcpy(&e->ebx, vendor, 4);
	memcpy(&e->edx, vendor + 4, 4);
	memcpy(&e->ecx, vendor + 8, 4);
}

static void apply_compat(struct kvm_cpuid2 *c)
{
	struct kvm_cpuid_entry2 *e;

	e = find_leaf(c, 0, 0);
	if (e)
		set_vendor(e, "GenuineIntel");
	e = find_leaf(c, 1, 0);
	if (e) {
		/* cmpxchg16b, popcnt, the xsave family and AVX failed in KVM's emulator (HOST.md);
		 * the SIMD crypto and bit-manipulation extensions are in the same class. */
		e->ecx &= ~(F1C_PCLMULQDQ | F1C_MONITOR | F1C_FMA | F1C_CX16 | F1C_SSE41 |
			    F1C_SSE42 | F1C_MOVBE | F1C_POPCNT | F1C_AES | F1C_XSAVE | F1C_OSXSAVE |
			    F1C_AVX | F1C_F16C | F1C_RDRAND);
	}
	e = find_leaf(c, 7, 0);
	if (e) {
		e->ebx &= ~(F7B_BMI1 | F7B_AVX2 | F7B_SMEP | F7B_BMI2 | F7B_INVPCID | F7B_RDSEED |
			    F7B_ADX | F7B_SMAP | F7B_CLFLUSHOPT | F7B_CLWB | F7B_SHA |
			    F7B_AVX512_MASK);
		e->ecx &= ~(F7C_UMIP | F7C_PKU | F7C_OSPKE | F7C_WAITPKG | F7C_AVX512_MASK |
			    F7C_VAES | F7C_VPCLMULQDQ | F7C_GFNI | F7C_LA57 | F7C_RDPID);
		e->edx = 0;
	}
	/* Leaf 7 subleaf 1+ (AVX-VNNI, ...) and the XSAVE leaf go entirely. */
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == 7 && c->entries[i].index > 0)
			c->entries[i].eax = c->entries[i].ebx = c->entries[i].ecx =
				c->entries[i].edx = 0;
	if (e)
		e->eax = 0; /* max subleaf of leaf 7 */
	remove_leaf(c, 0xd);
	e = find_leaf(c, 0x80000001, 0);
	if (e) {
		e->ecx &= ~(F81C_ABM | F81C_SSE4A | F81C_MISALIGNSSE | F81C_XOP | F81C_FMA4 |
			    F81C_TBM);
		e->edx &= ~F81D_RDTSCP;
	}
	/*
	 * Paravirtual features that work by hypercall: on the nested host a `vmcall` from the
	 * emulated guest kernel does not come back (measured: Linux 6.1's second CPU stuck in
	 * kvm_hypercall4 sending a PV IPI while the first spins on a lock), so the guest uses
	 * the ordinary APIC paths instead.
	 */
	e = find_leaf(c, KVM_LEAF_FEATURES, 0);
	if (e)
		e->eax &= ~(KVMF_PV_UNHALT | KVMF_PV_SEND_IPI | KVMF_PV_SCHED_YIELD |
			    KVMF_HC_MAP_GPA_RANGE);
	/* AMD-only leaves (SVM, extended topology, memory encryption) mean nothing on Intel. */
	remove_leaf(c, 0x8000000a);
	remove_leaf(c, 0x8000001d);
	remove_leaf(c, 0x8000001e);
	remove_leaf(c, 0x8000001f);
}

struct kvm_cpuid2 *kvm_cpuid_build(int kvm_fd, enum cpu_model model, char *err, size_t errlen)
{
	struct kvm_cpuid2 *c;
	size_t sz = sizeof(*c) + CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2);

	c = calloc(1, sz);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->nent = CPUID_MAX_ENTRIES;
	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
		snprintf(err, errlen, "KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		free(c);
		return NULL;
	}
	/*
	 * KVM emulates the local APIC's TSC-deadline mode but leaves the CPUID bit to userspace
	 * (api.rst, KVM_CAP_TSC_DEADLINE_TIMER). With it Linux programs its tick as a deadline
	 * and skips calibrating the APIC timer against the PIT (calibrate_APIC_clock()), a
	 * calibration that fails where time is emulated (tests/rig: "APIC timer disabled due to
	 * verification failure", and every CPU then hangs on the PIT's broadcast tick).
	 */
	if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0) {
		struct kvm_cpuid_entry2 *e = find_leaf(c, 1, 0);

		if (e)
			e->ecx |= F1C_TSCDEADLINE;
	}
	if (model == CPU_MODEL_COMPAT)
		apply_compat(c);
	return c;
}

/* Topology: each vCPU is one core of one package; APIC ID = vCPU index. */
void kvm_cpuid_for_vcpu(struct kvm_cpuid2 *c, int vcpu_id, int ncpus)
{
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		switch (e->function) {
		case 1:
			e->ebx &= 0x0000ffff;
			e->ebx |= (uint32_t)vcpu_id << F1B_APICID_SHIFT;
			e->ebx |= (uint32_t)(ncpus > 255 ? 255 : ncpus) << 16;
			e->ecx |= F1C_HYPERVISOR;
			if (ncpus > 1)
				e->edx |= 1u << 28; /* HTT: the logical count field is valid */
			break;
		case 0xb:
		case 0x1f:
			e->edx = (uint32_t)vcpu_id; /* x2APIC ID */
			break;
		default:
			break;
		}
	}
}
