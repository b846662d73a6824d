/* SPDX-License-Identifier: MIT */
/*
 * The KVM core: the VM file descriptor, memslots, the in-kernel irqchip and PIT, vCPUs and
 * their run loop. Only this part (and the machine that drives it) includes linux/kvm.h.
 */
#ifndef VMM_KVM_H
#define VMM_KVM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/boot/boot.h"
#include "vmm/bus.h"
#include "vmm/config/config.h"

#define VM_MAX_VCPUS 255
#define VM_MAX_SLOTS 64

struct kvm_run;
struct vm;

struct vcpu {
	struct vm *vm;
	int id;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;
	bool started;
	uint64_t exits_io, exits_mmio;
	int halt_probe; /* see vm_wait(): asked / halted / busy */
};

/* Why the machine stopped. */
enum vm_stop_reason {
	VM_RUNNING = 0,
	VM_STOP_DEBUG_EXIT,   /* guest wrote the debug-exit port: status (v << 1) | 1 */
	VM_STOP_POWEROFF,     /* ACPI S5 or equivalent: status 0 */
	VM_STOP_RESET,	      /* reset request (i8042, 0xCF9): status 0, reboot is not supported */
	VM_STOP_HALTED,	      /* every vCPU halted with interrupts off: status 0 */
	VM_STOP_TRIPLE_FAULT, /* KVM_EXIT_SHUTDOWN: VMM_EXIT_FAILURE, registers dumped */
	VM_STOP_ERROR,	      /* emulation failure, failed entry, host error: VMM_EXIT_FAILURE */
	VM_STOP_USER,	      /* escape key or signal: VMM_EXIT_STOPPED */
};

struct vm {
	int kvm_fd;
	int fd;
	int ncpus;
	struct vcpu *vcpus;
	/* Memslots: guest RAM first, then RAM-backed BARs as the guest maps them. */
	pthread_mutex_t slot_lock;
	struct vm_slot {
		bool used;
		uint64_t gpa, size;
		void *hva;
	} slots[VM_MAX_SLOTS];
	struct bus pio, mmio;
	enum cpu_model cpu_model;

	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond;
	enum vm_stop_reason stop_reason;
	int exit_status;
	uint64_t start_ns;
	bool vcpus_stuck;    /* a vCPU thread did not stop: do not tear down what it may use */
	const int *affinity; /* host CPU per vCPU (naffinity entries) or NULL */
	int naffinity;
};

/* 0 when /dev/kvm is usable; else -errno with a message. */
int kvm_probe(char *err, size_t errlen);

int vm_create(struct vm *vm, int ncpus, enum cpu_model model, char *err, size_t errlen);
void vm_destroy(struct vm *vm);

/* Map host memory at a guest physical address. Returns the slot number or -errno. */
int vm_add_memslot(struct vm *vm, uint64_t gpa, uint64_t size, void *hva, bool readonly);
/* Remove the memslot that starts at gpa. 0 or -ENOENT. */
int vm_remove_memslot(struct vm *vm, uint64_t gpa);

/* Print a vCPU's registers to stderr (from its own thread). */
void vcpu_dump(struct vcpu *v, const char *why);

/* Legacy interrupt line (IOAPIC/PIC input). */
void vm_set_irq_line(void *vm, uint32_t gsi, int level);

/* Set up every vCPU (CPUID, MSRs, registers of the boot CPU from `entry`). */
int vm_setup_vcpus(struct vm *vm, const struct boot_entry *entry, char *err, size_t errlen);

/* Start the vCPU threads; then vm_wait() blocks until the machine stops. */
int vm_start(struct vm *vm);
int vm_wait(struct vm *vm);

/* Request a stop from any thread (the first reason wins). */
void vm_stop(struct vm *vm, enum vm_stop_reason reason, int status);

/*
 * Register (assign = true) an eventfd signalled when the guest writes `len` bytes to addr
 * (any value), or remove it (assign = false). Every ioeventfd hook in vmm says `assign`,
 * like pci_host_ops.ioeventfd and nvme_host.ioeventfd; only KVM's flag is the other way
 * round (KVM_IOEVENTFD_FLAG_DEASSIGN), and vm_ioeventfd_flags is the one place it flips.
 */
int vm_ioeventfd(struct vm *vm, enum bus_space space, uint64_t addr, unsigned len, int efd,
		 bool assign);
uint32_t vm_ioeventfd_flags(enum bus_space space, bool assign);

/* The CPUID table for a model (exposed for tests: no vCPU needed). */
struct kvm_cpuid2;
struct kvm_cpuid2 *kvm_cpuid_build(int kvm_fd, enum cpu_model model, char *err, size_t errlen);
void kvm_cpuid_for_vcpu(struct kvm_cpuid2 *cpuid, int vcpu_id, int ncpus);

#endif
