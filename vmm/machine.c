/* SPDX-License-Identifier: MIT */
#include "vmm/machine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/boot.h"
#include "vmm/console.h"
#include "vmm/dev/cmos.h"
#include "vmm/dev/debugport.h"
#include "vmm/dev/i8042.h"
#include "vmm/dev/pm.h"
#include "vmm/dev/serial.h"
#include "vmm/kvm.h"
#include "vmm/mem.h"
#include "vmm/util.h"

#define COM1_BASE 0x3f8
#define COM1_IRQ 4

struct machine {
	const struct machine_config *cfg;
	struct guest_mem mem;
	struct vm vm;
	struct console *console;
	struct serial *com1;
	struct cmos *cmos;
	struct i8042 *i8042;
	struct debugport dbg;
	struct pm pm;
};

static void com1_tx(void *opaque, uint8_t byte)
{
	struct machine *m = opaque;

	console_output(m->console, byte);
}

static size_t console_to_com1(void *opaque, const uint8_t *buf, size_t len)
{
	struct machine *m = opaque;

	return serial_rx_push(m->com1, buf, len);
}

static void console_quit(void *opaque, const char *why)
{
	struct machine *m = opaque;

	if (m->vm.stop_reason == VM_RUNNING)
		pr_info("stopping the guest: %s", why);
	vm_stop(&m->vm, VM_STOP_USER, 1);
}

static void guest_debug_exit(void *opaque, int status)
{
	struct machine *m = opaque;

	vm_stop(&m->vm, VM_STOP_DEBUG_EXIT, status);
}

static void guest_reset(void *opaque)
{
	struct machine *m = opaque;

	vm_stop(&m->vm, VM_STOP_RESET, 0);
}

static void guest_poweroff(void *opaque)
{
	struct machine *m = opaque;

	vm_stop(&m->vm, VM_STOP_POWEROFF, 0);
}

static const struct serial_ops com1_ops = {.tx = com1_tx};

static int load_images(struct machine *m, char *err, size_t errlen)
{
	const struct machine_config *cfg = m->cfg;
	struct e820_entry e820[MEM_MAX_E820];
	struct boot_params_in in = {0};
	struct boot_entry entry;
	uint8_t *kernel = NULL, *initrd = NULL;
	size_t ksz = 0, isz = 0;
	int ret;

	ret = read_file(cfg->kernel, &kernel, &ksz);
	if (ret) {
		snprintf(err, errlen, "cannot read kernel %s: %s", cfg->kernel, strerror(-ret));
		return ret;
	}
	if (cfg->initrd) {
		ret = read_file(cfg->initrd, &initrd, &isz);
		if (ret) {
			snprintf(err, errlen, "cannot read initrd %s: %s", cfg->initrd,
				 strerror(-ret));
			free(kernel);
			return ret;
		}
	}
	in.kernel = kernel;
	in.kernel_size = ksz;
	in.initrd = initrd;
	in.initrd_size = isz;
	in.cmdline = cfg->cmdline;
	in.e820 = e820;
	in.ne820 = mem_e820(&m->mem, e820, MEM_MAX_E820);

	ret = boot_load(&m->mem, &in, &entry, err, errlen);
	if (!ret)
		ret = vm_setup_vcpus(&m->vm, &entry, err, errlen);
	free(kernel);
	free(initrd);
	return ret;
}

static int add_devices(struct machine *m, char *err, size_t errlen)
{
	struct vm *vm = &m->vm;
	struct irq_line com1_irq = {.set_level = vm_set_irq_line, .opaque = vm, .gsi = COM1_IRQ};
	int ret = 0;

	m->com1 = serial_create(&com1_ops, m, com1_irq);
	m->cmos = cmos_create(m->mem.regions[0].size,
			      m->mem.nregions > 1 ? m->mem.regions[1].size : 0, m->cfg->cpus);
	m->i8042 = i8042_create(guest_reset, m);
	if (!m->com1 || !m->cmos || !m->i8042) {
		snprintf(err, errlen, "out of memory creating legacy devices");
		return -ENOMEM;
	}
	m->dbg.exit = guest_debug_exit;
	m->dbg.opaque = m;
	m->dbg.start_ns = time_ns();
	m->pm.poweroff = guest_poweroff;
	m->pm.reset = guest_reset;
	m->pm.opaque = m;

	ret |= bus_register(&vm->pio, COM1_BASE, 8, &serial_bus_ops, m->com1, "com1");
	ret |= bus_register(&vm->pio, CMOS_PORT_BASE, 2, &cmos_bus_ops, m->cmos, "cmos");
	ret |= bus_register(&vm->pio, I8042_DATA_PORT, 1, &i8042_data_bus_ops, m->i8042,
			    "i8042-data");
	ret |= bus_register(&vm->pio, I8042_CMD_PORT, 1, &i8042_cmd_bus_ops, m->i8042,
			    "i8042-cmd");
	ret |= bus_register(&vm->pio, DEBUG_EXIT_PORT, DEBUG_EXIT_SIZE, &debug_exit_ops, &m->dbg,
			    "debug-exit");
	ret |= bus_register(&vm->pio, MILESTONE_PORT, 1, &milestone_ops, &m->dbg, "milestone");
	ret |= bus_register(&vm->pio, PM_BASE, PM_EVT_SIZE, &pm_evt_ops, &m->pm, "pm1a-evt");
	ret |= bus_register(&vm->pio, PM_CNT_PORT, PM_CNT_SIZE, &pm_cnt_ops, &m->pm, "pm1a-cnt");
	ret |= bus_register(&vm->pio, RESET_CONTROL_PORT, 1, &pm_reset_ops, &m->pm, "reset");
	if (ret) {
		snprintf(err, errlen, "internal error: overlapping port ranges");
		return -EEXIST;
	}
	return 0;
}

static const char *stop_reason_text(enum vm_stop_reason r)
{
	switch (r) {
	case VM_STOP_DEBUG_EXIT:
		return "guest wrote the debug-exit port";
	case VM_STOP_POWEROFF:
		return "guest powered off";
	case VM_STOP_RESET:
		return "guest requested a reset (reboot is not supported; stopping)";
	case VM_STOP_HALTED:
		return "all vCPUs halted with interrupts disabled";
	case VM_STOP_TRIPLE_FAULT:
		return "guest triple fault";
	case VM_STOP_ERROR:
		return "VMM failure";
	case VM_STOP_USER:
		return "stopped by the user";
	default:
		return "running";
	}
}

int machine_run(const struct machine_config *cfg)
{
	struct machine *m = calloc(1, sizeof(*m));
	char err[512] = "";
	int status = 1, ret;

	if (!m)
		die("out of memory");
	m->cfg = cfg;
	m->mem.memfd = -1;
	if (cfg->ndevices) {
		/* Parsed and validated, but the PCIe tree is not built yet. */
		pr_err("%s: PCIe devices are not implemented yet; remove the device tables",
		       cfg->source);
		free(m);
		return 2;
	}
	m->vm.fd = m->vm.kvm_fd = -1;

	ret = mem_init(&m->mem, cfg->memory, cfg->hugepages, err, sizeof(err));
	if (ret)
		goto fail;
	m->console = console_open(cfg->console.log, cfg->console.input, err, sizeof(err));
	if (!m->console) {
		ret = -EIO;
		goto fail;
	}
	ret = vm_create(&m->vm, cfg->cpus, cfg->cpu_model, err, sizeof(err));
	if (ret)
		goto fail;
	for (int i = 0; i < m->mem.nregions; i++) {
		struct mem_region *r = &m->mem.regions[i];

		ret = vm_add_memslot(&m->vm, r->gpa, r->size, r->hva, false);
		if (ret < 0) {
			snprintf(err, sizeof(err), "KVM_SET_USER_MEMORY_REGION: %s",
				 strerror(-ret));
			goto fail;
		}
	}
	ret = add_devices(m, err, sizeof(err));
	if (ret)
		goto fail;
	ret = load_images(m, err, sizeof(err));
	if (ret)
		goto fail;

	console_set_input(m->console, console_to_com1, console_quit, m);
	if (console_start(m->console) || vm_start(&m->vm)) {
		snprintf(err, sizeof(err), "cannot start threads");
		ret = -EAGAIN;
		goto fail;
	}
	pr_debug("machine started: %d vCPU(s), %llu MiB", cfg->cpus,
		 (unsigned long long)(cfg->memory >> 20));
	status = vm_wait(&m->vm);
	console_close(m->console);
	m->console = NULL;
	{
		uint64_t ms = (time_ns() - m->vm.start_ns) / 1000000;
		enum log_level lvl = m->vm.stop_reason == VM_STOP_TRIPLE_FAULT ||
						     m->vm.stop_reason == VM_STOP_ERROR
					     ? LOG_ERROR
					     : LOG_INFO;

		vmm_log(lvl, "%s after %llu ms; exit status %d", stop_reason_text(m->vm.stop_reason),
			(unsigned long long)ms, status);
	}
	goto out;
fail:
	pr_err("%s", err[0] ? err : strerror(-ret));
	status = 1;
out:
	console_close(m->console);
	if (m->vm.fd >= 0 || m->vm.kvm_fd >= 0)
		vm_destroy(&m->vm);
	serial_destroy(m->com1);
	cmos_destroy(m->cmos);
	i8042_destroy(m->i8042);
	mem_free(&m->mem);
	free(m);
	return status;
}
