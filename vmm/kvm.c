/* SPDX-License-Identifier: MIT */
#include "vmm/kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "vmm/util.h"

/*
 * Addresses KVM needs for its real-mode helpers on Intel (4 pages). QEMU's choice: between
 * the LAPIC and 0xFF000000, so a firmware image of up to 16 MiB fits below 4 GiB.
 */
#define KVM_TSS_ADDR	      0xfeffd000UL
#define KVM_IDENTITY_MAP_ADDR 0xfeffc000ULL

#define VCPU_KICK_SIGNAL SIGUSR1

/* Per-vCPU answer to a halt probe (see vm_wait). */
enum { PROBE_IDLE, PROBE_ASKED, PROBE_HALTED, PROBE_BUSY };

int kvm_probe(char *err, size_t errlen)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int v;

	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot open /dev/kvm: %s", strerror(e));
		return -e;
	}
	v = ioctl(fd, KVM_GET_API_VERSION, 0);
	close(fd);
	if (v != KVM_API_VERSION) {
		snprintf(err, errlen, "/dev/kvm has API version %d, need %d", v, KVM_API_VERSION);
		return -ENOTSUP;
	}
	return 0;
}

static int check_ext(struct vm *vm, long ext)
{
	int r = ioctl(vm->fd, KVM_CHECK_EXTENSION, ext);
	return r < 0 ? 0 : r;
}

static void kick_handler(int sig)
{
	(void)sig;
}

int vm_create(struct vm *vm, int ncpus, enum cpu_model model, char *err, size_t errlen)
{
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
	uint64_t idmap = KVM_IDENTITY_MAP_ADDR;
	struct sigaction sa = {.sa_handler = kick_handler};
	int max;

	memset(vm, 0, sizeof(*vm));
	vm->fd = vm->kvm_fd = -1;
	vm->cpu_model = model;
	pthread_mutex_init(&vm->stop_lock, NULL);
	pthread_mutex_init(&vm->slot_lock, NULL);
	pthread_cond_init(&vm->stop_cond, NULL);
	bus_init(&vm->pio, BUS_PIO);
	bus_init(&vm->mmio, BUS_MMIO);

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		snprintf(err, errlen, "cannot open /dev/kvm: %s", strerror(errno));
		return -errno;
	}
	vm->fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->fd < 0) {
		snprintf(err, errlen, "KVM_CREATE_VM: %s", strerror(errno));
		return -errno;
	}
	max = check_ext(vm, KVM_CAP_MAX_VCPUS);
	if (max <= 0)
		max = check_ext(vm, KVM_CAP_NR_VCPUS);
	if (max > VM_MAX_VCPUS)
		max = VM_MAX_VCPUS;
	if (ncpus < 1 || ncpus > max) {
		snprintf(err, errlen, "%d vCPUs requested; this host's KVM allows 1 to %d", ncpus,
			 max);
		return -EINVAL;
	}
	if (ioctl(vm->fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR) < 0 ||
	    ioctl(vm->fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0) {
		snprintf(err, errlen, "KVM_SET_TSS_ADDR: %s", strerror(errno));
		return -errno;
	}
	if (ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		snprintf(err, errlen, "KVM_CREATE_IRQCHIP: %s", strerror(errno));
		return -errno;
	}
	if (ioctl(vm->fd, KVM_CREATE_PIT2, &pit) < 0) {
		snprintf(err, errlen, "KVM_CREATE_PIT2: %s", strerror(errno));
		return -errno;
	}
	sigaction(VCPU_KICK_SIGNAL, &sa, NULL);

	vm->ncpus = ncpus;
	vm->vcpus = calloc((size_t)ncpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -ENOMEM;
	int run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size <= 0) {
		snprintf(err, errlen, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
		return -EIO;
	}
	for (int i = 0; i < ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		v->vm = vm;
		v->id = i;
		v->fd = ioctl(vm->fd, KVM_CREATE_VCPU, (unsigned long)i);
		if (v->fd < 0) {
			snprintf(err, errlen, "KVM_CREATE_VCPU %d: %s", i, strerror(errno));
			return -errno;
		}
		v->run_size = (size_t)run_size;
		v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
		if (v->run == MAP_FAILED) {
			v->run = NULL;
			snprintf(err, errlen, "mmap of vCPU %d run area: %s", i, strerror(errno));
			return -errno;
		}
	}
	return 0;
}

void vm_destroy(struct vm *vm)
{
	for (int i = 0; vm->vcpus && i < vm->ncpus; i++) {
		if (vm->vcpus[i].run)
			munmap(vm->vcpus[i].run, vm->vcpus[i].run_size);
		if (vm->vcpus[i].fd > 0)
			close(vm->vcpus[i].fd);
	}
	free(vm->vcpus);
	if (vm->fd >= 0)
		close(vm->fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
	vm->fd = vm->kvm_fd = -1;
	vm->vcpus = NULL;
}

int vm_add_memslot(struct vm *vm, uint64_t gpa, uint64_t size, void *hva, bool readonly)
{
	struct kvm_userspace_memory_region r = {
		.flags = readonly ? KVM_MEM_READONLY : 0,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)hva,
	};
	int slot = -1, ret;

	pthread_mutex_lock(&vm->slot_lock);
	for (int i = 0; i < VM_MAX_SLOTS; i++) {
		if (!vm->slots[i].used) {
			slot = i;
			break;
		}
	}
	if (slot < 0) {
		pthread_mutex_unlock(&vm->slot_lock);
		return -ENOSPC;
	}
	r.slot = (uint32_t)slot;
	if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
		ret = -errno;
	} else {
		vm->slots[slot] =
			(struct vm_slot){.used = true, .gpa = gpa, .size = size, .hva = hva};
		ret = slot;
	}
	pthread_mutex_unlock(&vm->slot_lock);
	return ret;
}

int vm_remove_memslot(struct vm *vm, uint64_t gpa)
{
	int ret = -ENOENT;

	pthread_mutex_lock(&vm->slot_lock);
	for (int i = 0; i < VM_MAX_SLOTS; i++) {
		struct vm_slot *s = &vm->slots[i];
		struct kvm_userspace_memory_region r = {.slot = (uint32_t)i,
							.guest_phys_addr = gpa};

		if (!s->used || s->gpa != gpa)
			continue;
		/* KVM API: a region of size 0 deletes the slot. */
		ret = ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &r) < 0 ? -errno : 0;
		if (!ret)
			s->used = false;
		break;
	}
	pthread_mutex_unlock(&vm->slot_lock);
	return ret;
}

void vm_set_irq_line(void *opaque, uint32_t gsi, int level)
{
	struct vm *vm = opaque;
	struct kvm_irq_level l = {.irq = gsi, .level = (uint32_t)level};

	if (ioctl(vm->fd, KVM_IRQ_LINE, &l) < 0)
		pr_ratelimited("KVM_IRQ_LINE %u: %s", gsi, strerror(errno));
}

uint32_t vm_ioeventfd_flags(enum bus_space space, bool assign)
{
	return (space == BUS_PIO ? KVM_IOEVENTFD_FLAG_PIO : 0) |
	       (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN);
}

int vm_ioeventfd(struct vm *vm, enum bus_space space, uint64_t addr, unsigned len, int efd,
		 bool assign)
{
	struct kvm_ioeventfd io = {
		.addr = addr,
		.len = len,
		.fd = efd,
		.flags = vm_ioeventfd_flags(space, assign),
	};

	return ioctl(vm->fd, KVM_IOEVENTFD, &io) < 0 ? -errno : 0;
}

/* ---- vCPU state ---- */

static void seg(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code64, bool db,
		uint32_t limit, bool g, bool system)
{
	*s = (struct kvm_segment){
		.base = 0,
		.limit = limit,
		.selector = sel,
		.type = type,
		.present = 1,
		.dpl = 0,
		.db = db,
		.s = system ? 0 : 1,
		.l = code64,
		.g = g,
	};
}

#define CR0_PE	 (1ULL << 0)
#define CR0_MP	 (1ULL << 1)
#define CR0_ET	 (1ULL << 4)
#define CR0_NE	 (1ULL << 5)
#define CR0_PG	 (1ULL << 31)
#define CR4_PAE	 (1ULL << 5)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)

static int setup_boot_regs(struct vcpu *v, const struct boot_entry *e)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = {.rflags = 2};

	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	if (e->mode == BOOT_MODE_RESET) {
		/* SDM Vol. 3 9.1.4: after RESET, CS = F000 with base FFFF0000 and IP = FFF0, so
		 * the first fetch is at FFFFFFF0; data segments base 0 limit FFFF; CR0 = 60000010.
		 */
		seg(&sregs.cs, 0xf000, 0xb, false, false, 0xffff, false, false);
		sregs.cs.base = 0xffff0000;
		seg(&sregs.ds, 0, 0x3, false, false, 0xffff, false, false);
		sregs.cr0 = 0x60000010;
		sregs.cr3 = 0;
		sregs.cr4 = 0;
		sregs.efer = 0;
		sregs.gdt.base = sregs.idt.base = 0;
		sregs.gdt.limit = sregs.idt.limit = 0xffff;
	} else if (e->mode == BOOT_MODE_PVH32) {
		/* Xen PVH ABI: 32-bit protected mode, paging off, flat CS/DS, EBX = start info */
		seg(&sregs.cs, 0x8, 0xb, false, true, 0xffffffff, true, false);
		seg(&sregs.ds, 0x10, 0x3, false, true, 0xffffffff, true, false);
		sregs.cr0 = CR0_PE | CR0_ET;
		sregs.cr4 = 0;
		sregs.efer = 0;
		regs.rbx = e->rbx;
	} else {
		/* Linux boot.rst, 64-bit boot protocol: long mode, identity paging, __BOOT_CS
		 * 0x10 / __BOOT_DS 0x18 from the GDT the loader wrote, RSI = boot_params. */
		seg(&sregs.cs, 0x10, 0xb, true, false, 0xffffffff, true, false);
		seg(&sregs.ds, 0x18, 0x3, false, true, 0xffffffff, true, false);
		sregs.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_PG;
		sregs.cr3 = e->cr3;
		sregs.cr4 = CR4_PAE;
		sregs.efer = EFER_LME | EFER_LMA;
		sregs.gdt.base = e->gdt_base;
		sregs.gdt.limit = e->gdt_limit;
		regs.rsi = e->rsi;
	}
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	seg(&sregs.tr, 0x18, 0xb, false, false, 0x67, false, true);
	sregs.tr.selector = 0;
	seg(&sregs.ldt, 0, 0x2, false, false, 0xffff, false, true);
	regs.rip = e->rip;
	regs.rsp = e->rsp;
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;
	if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	return 0;
}

static void setup_msrs(struct vcpu *v)
{
	static const struct {
		uint32_t index;
		uint64_t value;
	} init[] = {
		{0x174, 0},		/* IA32_SYSENTER_CS */
		{0x175, 0},		/* IA32_SYSENTER_ESP */
		{0x176, 0},		/* IA32_SYSENTER_EIP */
		{0xc0000081, 0},	/* STAR */
		{0xc0000082, 0},	/* LSTAR */
		{0xc0000083, 0},	/* CSTAR */
		{0xc0000084, 0},	/* SYSCALL_MASK */
		{0xc0000102, 0},	/* KERNEL_GS_BASE */
		{0x10, 0},		/* TSC */
		{0x1a0, 1},		/* IA32_MISC_ENABLE: fast strings, as firmware leaves it */
		{0x2ff, (1 << 11) | 6}, /* MTRRdefType: MTRRs on, default write-back */
	};
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[ARRAY_SIZE(init)];
	} m;
	int n;

	memset(&m, 0, sizeof(m));
	for (size_t i = 0; i < ARRAY_SIZE(init); i++) {
		m.e[i].index = init[i].index;
		m.e[i].data = init[i].value;
	}
	m.hdr.nmsrs = ARRAY_SIZE(init);
	n = ioctl(v->fd, KVM_SET_MSRS, &m);
	if (n != (int)ARRAY_SIZE(init))
		pr_debug("vCPU %d: KVM_SET_MSRS set %d of %zu MSRs", v->id, n, ARRAY_SIZE(init));
}

/* LINT0 = ExtINT (the 8259 reaches the CPU), LINT1 = NMI, as a PC BIOS programs them. */
static int setup_lapic(struct vcpu *v)
{
	struct kvm_lapic_state l;
	uint32_t *lvt0 = (uint32_t *)&l.regs[0x350], *lvt1 = (uint32_t *)&l.regs[0x360];

	if (ioctl(v->fd, KVM_GET_LAPIC, &l) < 0)
		return -errno;
	*lvt0 = (*lvt0 & ~0x700u) | 0x700u;
	*lvt1 = (*lvt1 & ~0x700u) | 0x400u;
	return ioctl(v->fd, KVM_SET_LAPIC, &l) < 0 ? -errno : 0;
}

static void setup_fpu(struct vcpu *v)
{
	struct kvm_fpu fpu = {.fcw = 0x37f, .mxcsr = 0x1f80};

	ioctl(v->fd, KVM_SET_FPU, &fpu);
}

int vm_setup_vcpus(struct vm *vm, const struct boot_entry *entry, char *err, size_t errlen)
{
	struct kvm_cpuid2 *base = kvm_cpuid_build(vm->kvm_fd, vm->cpu_model, err, errlen);
	size_t sz;
	int ret = 0;

	if (!base)
		return -EIO;
	sz = sizeof(*base) + base->nent * sizeof(base->entries[0]);
	for (int i = 0; i < vm->ncpus && !ret; i++) {
		struct vcpu *v = &vm->vcpus[i];
		struct kvm_cpuid2 *c = malloc(sz);

		if (!c) {
			ret = -ENOMEM;
			break;
		}
		memcpy(c, base, sz);
		kvm_cpuid_for_vcpu(c, i, vm->ncpus);
		if (ioctl(v->fd, KVM_SET_CPUID2, c) < 0) {
			ret = -errno;
			snprintf(err, errlen, "KVM_SET_CPUID2 on vCPU %d: %s", i, strerror(errno));
		}
		free(c);
		if (ret)
			break;
		setup_msrs(v);
		setup_fpu(v);
		ret = setup_lapic(v);
		if (ret) {
			snprintf(err, errlen, "LAPIC setup of vCPU %d: %s", i, strerror(-ret));
			break;
		}
		/* Only the boot CPU starts at the entry; APs wait for INIT-SIPI in the kernel. */
		if (i == 0) {
			ret = setup_boot_regs(v, entry);
			if (ret)
				snprintf(err, errlen, "setting boot registers: %s", strerror(-ret));
		}
	}
	free(base);
	return ret;
}

/* ---- run loop ---- */

void vm_stop(struct vm *vm, enum vm_stop_reason reason, int status)
{
	pthread_mutex_lock(&vm->stop_lock);
	if (vm->stop_reason == VM_RUNNING) {
		vm->stop_reason = reason;
		vm->exit_status = status;
	}
	pthread_cond_broadcast(&vm->stop_cond);
	pthread_mutex_unlock(&vm->stop_lock);
	for (int i = 0; i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		v->run->immediate_exit = 1;
		if (v->started && !pthread_equal(v->thread, pthread_self()))
			pthread_kill(v->thread, VCPU_KICK_SIGNAL);
	}
}

static bool vm_stopping(struct vm *vm)
{
	return __atomic_load_n(&vm->stop_reason, __ATOMIC_ACQUIRE) != VM_RUNNING;
}

void vcpu_dump(struct vcpu *v, const char *why)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	fprintf(stderr, "vmm: vCPU %d: %s\n", v->id, why);
	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0) {
		fprintf(stderr, "vmm:   (registers unavailable: %s)\n", strerror(errno));
		return;
	}
	fprintf(stderr,
		"vmm:   RIP=%016llx RSP=%016llx RFLAGS=%08llx\n"
		"vmm:   RAX=%016llx RBX=%016llx RCX=%016llx RDX=%016llx\n"
		"vmm:   RSI=%016llx RDI=%016llx RBP=%016llx\n"
		"vmm:   R8 =%016llx R9 =%016llx R10=%016llx R11=%016llx\n"
		"vmm:   R12=%016llx R13=%016llx R14=%016llx R15=%016llx\n"
		"vmm:   CS=%04x(base %llx l%d db%d) SS=%04x DS=%04x TR=%04x\n"
		"vmm:   CR0=%llx CR2=%llx CR3=%llx CR4=%llx EFER=%llx\n"
		"vmm:   GDT=%llx/%x IDT=%llx/%x\n",
		r.rip, r.rsp, r.rflags, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.r8, r.r9,
		r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, s.cs.selector, s.cs.base, s.cs.l, s.cs.db,
		s.ss.selector, s.ds.selector, s.tr.selector, s.cr0, s.cr2, s.cr3, s.cr4, s.efer,
		s.gdt.base, s.gdt.limit, s.idt.base, s.idt.limit);
}

static void handle_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *p = (uint8_t *)run + run->io.data_offset;
	bool wr = run->io.direction == KVM_EXIT_IO_OUT;

	v->exits_io++;
	for (uint32_t i = 0; i < run->io.count; i++, p += run->io.size)
		bus_dispatch(&v->vm->pio, run->io.port, p, run->io.size, wr);
}

static void handle_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;

	v->exits_mmio++;
	if (!bus_dispatch(&v->vm->mmio, run->mmio.phys_addr, run->mmio.data, run->mmio.len,
			  run->mmio.is_write))
		pr_ratelimited("vCPU %d: %s of %u bytes at unclaimed address 0x%llx", v->id,
			       run->mmio.is_write ? "write" : "read", run->mmio.len,
			       (unsigned long long)run->mmio.phys_addr);
}

/* Answer a halt probe from vm_wait: halted (or never started) with interrupts off? */
static void answer_halt_probe(struct vcpu *v)
{
	struct kvm_mp_state mp;
	struct kvm_regs r;
	int ans = PROBE_BUSY;

	if (__atomic_load_n(&v->halt_probe, __ATOMIC_ACQUIRE) != PROBE_ASKED)
		return;
	if (ioctl(v->fd, KVM_GET_MP_STATE, &mp) == 0) {
		if (mp.mp_state == KVM_MP_STATE_UNINITIALIZED ||
		    mp.mp_state == KVM_MP_STATE_INIT_RECEIVED)
			ans = PROBE_HALTED;
		else if (mp.mp_state == KVM_MP_STATE_HALTED &&
			 ioctl(v->fd, KVM_GET_REGS, &r) == 0 && !(r.rflags & (1u << 9)))
			ans = PROBE_HALTED;
	}
	__atomic_store_n(&v->halt_probe, ans, __ATOMIC_RELEASE);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;
	char name[16];

	snprintf(name, sizeof(name), "vcpu%d", v->id);
	pthread_setname_np(pthread_self(), name);
	if (vm->affinity && v->id < vm->naffinity) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(vm->affinity[v->id], &set);
		if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set))
			pr_warn("vCPU %d: cannot pin to host CPU %d", v->id, vm->affinity[v->id]);
	}
	while (!vm_stopping(vm)) {
		int r = ioctl(v->fd, KVM_RUN, 0);

		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				v->run->immediate_exit = 0;
				answer_halt_probe(v);
				continue;
			}
			pr_err("vCPU %d: KVM_RUN: %s", v->id, strerror(errno));
			vm_stop(vm, VM_STOP_ERROR, VMM_EXIT_FAILURE);
			break;
		}
		switch (v->run->exit_reason) {
		case KVM_EXIT_IO:
			handle_io(v);
			break;
		case KVM_EXIT_MMIO:
			handle_mmio(v);
			break;
		case KVM_EXIT_INTR:
			answer_halt_probe(v);
			break;
		case KVM_EXIT_HLT:
			/* Only without an in-kernel LAPIC, which we always create. */
			break;
		case KVM_EXIT_SHUTDOWN:
			vcpu_dump(v, "triple fault (KVM_EXIT_SHUTDOWN); stopping the machine");
			vm_stop(vm, VM_STOP_TRIPLE_FAULT, VMM_EXIT_FAILURE);
			break;
		case KVM_EXIT_SYSTEM_EVENT:
			if (v->run->system_event.type == KVM_SYSTEM_EVENT_RESET)
				vm_stop(vm, VM_STOP_RESET, 0);
			else
				vm_stop(vm, VM_STOP_POWEROFF, 0);
			break;
		case KVM_EXIT_FAIL_ENTRY: {
			char why[96];

			snprintf(why, sizeof(why), "VM entry failed, hardware reason 0x%llx",
				 (unsigned long long)
					 v->run->fail_entry.hardware_entry_failure_reason);
			vcpu_dump(v, why);
			vm_stop(vm, VM_STOP_ERROR, VMM_EXIT_FAILURE);
			break;
		}
		case KVM_EXIT_INTERNAL_ERROR: {
			char why[160];
			int n = snprintf(why, sizeof(why), "KVM internal error, suberror %u%s",
					 v->run->internal.suberror,
					 v->run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION
						 ? " (instruction emulation failed)"
						 : "");
			for (uint32_t i = 0; i < v->run->internal.ndata && i < 4 && n > 0 &&
					     (size_t)n < sizeof(why);
			     i++)
				n += snprintf(why + n, sizeof(why) - (size_t)n, " %llx",
					      (unsigned long long)v->run->internal.data[i]);
			vcpu_dump(v, why);
			vm_stop(vm, VM_STOP_ERROR, VMM_EXIT_FAILURE);
			break;
		}
		default: {
			char why[64];

			snprintf(why, sizeof(why), "unexpected exit reason %u",
				 v->run->exit_reason);
			vcpu_dump(v, why);
			vm_stop(vm, VM_STOP_ERROR, VMM_EXIT_FAILURE);
			break;
		}
		}
	}
	if (vm->stop_reason == VM_STOP_USER && log_threshold >= LOG_DEBUG)
		vcpu_dump(v, "state when stopped");
	return NULL;
}

int vm_start(struct vm *vm)
{
	sigset_t set;

	/* vCPU threads inherit this mask: only the kick signal reaches them. */
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	vm->start_ns = time_ns();
	for (int i = 0; i < vm->ncpus; i++) {
		int r = pthread_create(&vm->vcpus[i].thread, NULL, vcpu_thread, &vm->vcpus[i]);

		if (r) {
			vm_stop(vm, VM_STOP_ERROR, VMM_EXIT_FAILURE);
			return -r;
		}
		vm->vcpus[i].started = true;
	}
	return 0;
}

/* Every vCPU halted with interrupts disabled (or never started) means nothing can wake it. */
static bool all_halted(struct vm *vm)
{
	for (int i = 0; i < vm->ncpus; i++) {
		__atomic_store_n(&vm->vcpus[i].halt_probe, PROBE_ASKED, __ATOMIC_RELEASE);
		pthread_kill(vm->vcpus[i].thread, VCPU_KICK_SIGNAL);
	}
	for (int tries = 0; tries < 100; tries++) {
		bool answered = true;

		for (int i = 0; i < vm->ncpus; i++)
			if (__atomic_load_n(&vm->vcpus[i].halt_probe, __ATOMIC_ACQUIRE) ==
			    PROBE_ASKED)
				answered = false;
		if (answered)
			break;
		usleep(1000);
	}
	for (int i = 0; i < vm->ncpus; i++)
		if (__atomic_exchange_n(&vm->vcpus[i].halt_probe, PROBE_IDLE, __ATOMIC_ACQ_REL) !=
		    PROBE_HALTED)
			return false;
	return true;
}

int vm_wait(struct vm *vm)
{
	int halted_rounds = 0;

	pthread_mutex_lock(&vm->stop_lock);
	while (vm->stop_reason == VM_RUNNING) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 500000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		if (pthread_cond_timedwait(&vm->stop_cond, &vm->stop_lock, &ts) != ETIMEDOUT)
			continue;
		pthread_mutex_unlock(&vm->stop_lock);
		halted_rounds = all_halted(vm) ? halted_rounds + 1 : 0;
		pthread_mutex_lock(&vm->stop_lock);
		if (halted_rounds >= 2 && vm->stop_reason == VM_RUNNING) {
			pthread_mutex_unlock(&vm->stop_lock);
			vm_stop(vm, VM_STOP_HALTED, 0);
			pthread_mutex_lock(&vm->stop_lock);
		}
	}
	pthread_mutex_unlock(&vm->stop_lock);
	/* A vCPU stuck in a device (a bug) must not keep vmm from exiting: wait 5 s, then
	 * report it and leave the thread behind (the process exits). */
	for (int i = 0; i < vm->ncpus; i++) {
		struct timespec ts;

		if (!vm->vcpus[i].started)
			continue;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 5;
		if (pthread_timedjoin_np(vm->vcpus[i].thread, NULL, &ts) == 0) {
			vm->vcpus[i].started = false;
			continue;
		}
		pr_err("vCPU %d did not stop within 5 s (stuck in a device?); exiting anyway", i);
		vm->vcpus_stuck = true;
	}
	return vm->exit_status;
}
