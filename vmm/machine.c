/* SPDX-License-Identifier: MIT */
#include "vmm/machine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/iommu/vtd.h"
#include "devices/nvme/nvme_pci.h"
#include "devices/pcie-switch/pcie_port.h"
#include "firmware/acpi.h"
#include "firmware/fdt.h"
#include "firmware/seabios.h"
#include "vmm/boot/boot.h"
#include "vmm/console.h"
#include "vmm/ctl.h"
#include "vmm/dev/cmos.h"
#include "vmm/dev/debugport.h"
#include "vmm/dev/fw_cfg.h"
#include "vmm/dev/i8042.h"
#include "vmm/dev/pm.h"
#include "vmm/dev/serial.h"
#include "vmm/irqroute.h"
#include "vmm/kvm.h"
#include "vmm/mem.h"
#include "vmm/topology.h"
#include "vmm/util.h"

#define COM1_BASE 0x3f8
#define COM1_IRQ  4
/* ACPI tables live where the legacy RSDP scan looks (ACPI 6.4 5.2.5.1): reserved in e820. */
#define ACPI_BASE 0xe0000ULL
#define ACPI_SIZE 0x20000ULL
#define DTB_MAX	  (64 << 10)
#define CF8_PORT  0xcf8

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
	struct topology topo;
	bool have_topo;
	struct irqroute irqs;
	bool have_irqs;
	struct vtd_pci vtd; /* [iommu] model = "intel" */
	bool have_vtd;
	bool config_error; /* a failure the user fixes in the config: VMM_EXIT_USAGE */
	struct fw_platform fw;
	uint64_t rsdp;
	void *dtb;
	int dtb_size;
	/* Firmware boot ([machine] firmware) */
	void *bios;
	size_t bios_size;
	struct fw_cfg *fw_cfg;
	struct seabios_debugcon debugcon;
	/* --control (vmm/ctl.h) */
	struct ctl_server *ctl;
	struct ctl_dev *ctl_devs;
	struct ctl_target ctl_target;
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
	vm_stop(&m->vm, VM_STOP_USER, VMM_EXIT_STOPPED);
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

/* ---- PCI host hooks: the PCI core asks, KVM and the buses do (DESIGN.md rule 1) ---- */

static int host_map_trap(void *opaque, enum bus_space space, uint64_t addr, uint64_t size,
			 const struct bus_ops *ops, void *dev_opaque, const char *name)
{
	struct machine *m = opaque;

	return bus_register(space == BUS_PIO ? &m->vm.pio : &m->vm.mmio, addr, size, ops,
			    dev_opaque, name);
}

static void host_unmap_trap(void *opaque, enum bus_space space, uint64_t addr)
{
	struct machine *m = opaque;

	bus_unregister(space == BUS_PIO ? &m->vm.pio : &m->vm.mmio, addr);
}

static int host_map_ram(void *opaque, uint64_t addr, uint64_t size, void *hva)
{
	struct machine *m = opaque;
	int slot = vm_add_memslot(&m->vm, addr, size, hva, false);

	return slot < 0 ? slot : 0;
}

static void host_unmap_ram(void *opaque, uint64_t addr)
{
	struct machine *m = opaque;

	vm_remove_memslot(&m->vm, addr);
}

static void host_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct machine *m = opaque;

	irqroute_msi(&m->irqs, addr, data);
}

static int host_msi_route(void *opaque, int *route, uint64_t addr, uint32_t data)
{
	struct machine *m = opaque;

	return irqroute_bind(&m->irqs, route, addr, data);
}

static bool host_msi_fire(void *opaque, int route)
{
	struct machine *m = opaque;

	return irqroute_fire(&m->irqs, route);
}

static void host_intx(void *opaque, uint32_t gsi, int level)
{
	struct machine *m = opaque;

	vm_set_irq_line(&m->vm, gsi, level);
}

static int host_ioeventfd(void *opaque, uint64_t addr, unsigned len, int efd, bool assign)
{
	struct machine *m = opaque;

	return vm_ioeventfd(&m->vm, BUS_MMIO, addr, len, efd, assign);
}

static const struct pci_host_ops machine_pci_host = {
	.map_trap = host_map_trap,
	.unmap_trap = host_unmap_trap,
	.map_ram = host_map_ram,
	.unmap_ram = host_unmap_ram,
	.msi = host_msi,
	.msi_route = host_msi_route,
	.msi_fire = host_msi_fire,
	.intx = host_intx,
	.ioeventfd = host_ioeventfd,
};

/*
 * 0xCF8-0xCFF is PCI config mechanism #1 (PCI 3.0 3.2.2.3.2), except that a byte access to
 * 0xCF9 is the reset control register (ICH9 13.7.5), as on every PC chipset.
 */
static uint64_t cf8_read(void *opaque, uint64_t off, unsigned size)
{
	struct machine *m = opaque;

	if (off == 1 && size == 1)
		return pm_reset_ops.read(&m->pm, 0, 1);
	return pci_cf8_ops.read(&m->topo.root, off, size);
}

static void cf8_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct machine *m = opaque;

	if (off == 1 && size == 1)
		pm_reset_ops.write(&m->pm, 0, val, 1);
	else
		pci_cf8_ops.write(&m->topo.root, off, val, size);
}

static const struct bus_ops machine_cf8_ops = {.read = cf8_read, .write = cf8_write};

static int build_platform(struct machine *m, struct e820_entry *e820, int ne820, char *err,
			  size_t errlen)
{
	void *acpi = mem_gpa_to_hva(&m->mem, ACPI_BASE, ACPI_SIZE);
	struct vm *vm = &m->vm;
	size_t total;
	int ret;

	irqroute_init(&m->irqs, vm->fd);
	m->have_irqs = true;
	ret = topology_build(&m->topo, m->cfg, &m->mem, &machine_pci_host, m, err, errlen);
	m->have_topo = true;
	if (ret == -ENOSPC)
		m->config_error = true; /* the tree does not fit the memory map: bad config */
	if (ret)
		return ret;
	if (m->cfg->iommu == IOMMU_INTEL) {
		/* before any device thread runs DMA: every function goes through it */
		vtd_pci_attach(&m->vtd, &m->topo.root, &m->mem);
		m->have_vtd = true;
		if (bus_register(&vm->mmio, MEM_IOMMU_BASE, VTD_REG_SIZE, &vtd_bus_ops, &m->vtd.vtd,
				 "vtd")) {
			snprintf(err, errlen, "internal error: the VT-d registers overlap");
			return -EEXIST;
		}
	}
	ret = topology_start_links(&m->topo, m->cfg, &m->mem, err, errlen);
	if (ret)
		return ret;
	ret = bus_register(&vm->mmio, MEM_ECAM_BASE, MEM_ECAM_SIZE, &pci_ecam_ops, &m->topo.root,
			   "ecam");
	ret |= bus_register(&vm->pio, CF8_PORT, 8, &machine_cf8_ops, m, "pci-cf8");
	if (ret) {
		snprintf(err, errlen, "internal error: PCI config ranges overlap");
		return -EEXIST;
	}

	topology_fw_platform(&m->topo, m->cfg->cpus, e820, ne820, &m->fw);
	if (m->have_vtd)
		m->fw.iommu_base = MEM_IOMMU_BASE; /* the ACPI DMAR table's DRHD */
	if (m->cfg->firmware)
		goto dtb; /* the firmware places the ACPI tables it reads from fw_cfg */
	if (!acpi) {
		snprintf(err, errlen, "guest RAM too small for the ACPI tables");
		return -ENOSPC;
	}
	ret = acpi_build(&m->fw, ACPI_BASE, acpi, ACPI_SIZE, &m->rsdp, &total);
	if (ret) {
		snprintf(err, errlen, "building ACPI tables: %s", strerror(-ret));
		return ret;
	}
dtb:
	m->dtb = calloc(1, DTB_MAX);
	if (!m->dtb)
		return -ENOMEM;
	m->dtb_size = fdt_build(&m->fw, m->dtb, DTB_MAX);
	if (m->dtb_size < 0) {
		snprintf(err, errlen, "building the device tree: %s", strerror(-m->dtb_size));
		return m->dtb_size;
	}
	if (!m->cfg->firmware)
		pr_debug("ACPI tables at 0x%llx (%zu bytes), RSDP 0x%llx", ACPI_BASE, total,
			 (unsigned long long)m->rsdp);
	pr_debug("device tree %d bytes", m->dtb_size);
	return 0;
}

/*
 * Firmware boot: the image at 4 GiB - size (read-only) and its end below 1 MiB, the fw_cfg
 * device with what SeaBIOS reads, the debug console, and the boot CPU at the reset
 * vector.
 */
static int load_firmware(struct machine *m, char *err, size_t errlen)
{
	const struct machine_config *cfg = m->cfg;
	struct e820_entry e820[MEM_MAX_E820];
	struct boot_entry entry = {.mode = BOOT_MODE_RESET, .rip = 0xfff0};
	struct seabios_config sc = {
		.ncpus = cfg->cpus,
		.e820 = e820,
		.sercon_port = SERIAL_COM1_BASE,
		.have_reboot_timeout = cfg->firmware_opts.have_reboot_timeout,
		.reboot_timeout_ms = cfg->firmware_opts.reboot_timeout,
	};
	struct acpi_tables acpi;
	const struct pci_dev **boot;
	const uint8_t *low;
	size_t low_size;
	int ret;

	if (cfg->kernel) {
		snprintf(err, errlen, "a kernel cannot be booted through the firmware yet");
		m->config_error = true;
		return -EINVAL;
	}
	sc.ne820 = mem_e820(&m->mem, e820, MEM_MAX_E820);
	ret = build_platform(m, e820, sc.ne820, err, errlen);
	if (ret)
		return ret;
	ret = seabios_image_load(cfg->firmware, &m->bios, &m->bios_size, err, errlen);
	if (ret)
		return ret;
	ret = vm_add_memslot(&m->vm, MEM_HOLE_END - m->bios_size, m->bios_size, m->bios, true);
	if (ret < 0) {
		snprintf(err, errlen, "mapping the firmware below 4 GiB: %s", strerror(-ret));
		return ret;
	}
	low_size = m->bios_size < SEABIOS_LOW_MAX ? m->bios_size : SEABIOS_LOW_MAX;
	low = (const uint8_t *)m->bios + m->bios_size - low_size;
	if (mem_write(&m->mem, SEABIOS_LOW_END - low_size, low, low_size)) {
		snprintf(err, errlen, "guest RAM too small for the BIOS area");
		return -ENOSPC;
	}

	m->fw_cfg = fw_cfg_create(&m->mem);
	if (!m->fw_cfg)
		return -ENOMEM;
	ret = acpi_tables_build(&m->fw, &acpi);
	if (ret) {
		snprintf(err, errlen, "building ACPI tables: %s", strerror(-ret));
		return ret;
	}
	sc.acpi = &acpi;
	boot = calloc((size_t)cfg->nboot + 1, sizeof(*boot));
	if (!boot) {
		acpi_tables_free(&acpi);
		return -ENOMEM;
	}
	for (int i = 0; i < cfg->nboot; i++) {
		boot[i] = topology_find(&m->topo, cfg, cfg->boot[i]);
		if (!boot[i]) {
			snprintf(err, errlen, "internal error: boot device %s is not in the tree",
				 cfg->boot[i]);
			free(boot);
			acpi_tables_free(&acpi);
			return -ENOENT;
		}
	}
	sc.boot = boot;
	sc.nboot = cfg->nboot;
	ret = seabios_fw_cfg_setup(m->fw_cfg, &sc);
	free(boot);
	acpi_tables_free(&acpi);
	if (ret) {
		snprintf(err, errlen, "filling fw_cfg: %s", strerror(-ret));
		return ret;
	}
	if (cfg->firmware_opts.debugcon) {
		m->debugcon.log = fopen(cfg->firmware_opts.debugcon, "we");
		if (!m->debugcon.log) {
			ret = -errno;
			snprintf(err, errlen, "cannot create debugcon log %s: %s",
				 cfg->firmware_opts.debugcon, strerror(errno));
			return ret;
		}
		setvbuf(m->debugcon.log, NULL, _IOLBF, 0);
	}
	ret = bus_register(&m->vm.pio, FW_CFG_PORT_BASE, FW_CFG_PORT_SIZE, &fw_cfg_bus_ops,
			   m->fw_cfg, "fw_cfg");
	ret |= bus_register(&m->vm.pio, SEABIOS_DEBUGCON_PORT, 1, &seabios_debugcon_ops,
			    &m->debugcon, "debugcon");
	if (ret) {
		snprintf(err, errlen, "internal error: fw_cfg or debugcon ports overlap");
		return -EEXIST;
	}
	pr_debug("firmware %s (%zu KiB) at 0x%llx", cfg->firmware, m->bios_size >> 10,
		 (unsigned long long)(MEM_HOLE_END - m->bios_size));
	return vm_setup_vcpus(&m->vm, &entry, err, errlen);
}

static int load_images(struct machine *m, char *err, size_t errlen)
{
	const struct machine_config *cfg = m->cfg;
	struct e820_entry e820[MEM_MAX_E820];
	struct boot_params_in in = {0};
	struct boot_entry entry;
	uint8_t *kernel = NULL, *initrd = NULL;
	size_t ksz = 0, isz = 0;
	int ret;

	if (cfg->firmware)
		return load_firmware(m, err, errlen);
	/* config_check_boot has judged both. An ELF kernel may be larger than guest RAM (debug
	 * info is not loaded); an initrd larger than RAM is refused before it is read. */
	ret = read_file(cfg->kernel, SIZE_MAX, &kernel, &ksz);
	if (ret) {
		snprintf(err, errlen, "cannot read kernel %s: %s", cfg->kernel, strerror(-ret));
		return ret;
	}
	if (cfg->initrd) {
		ret = read_file(cfg->initrd, cfg->memory, &initrd, &isz);
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
	ret = build_platform(m, e820, in.ne820, err, errlen);
	if (ret) {
		free(kernel);
		free(initrd);
		return ret;
	}
	/* PVH guests get the device tree as a module after the initrd (guests/ reads it). */
	struct boot_module dtb_mod = {
		.data = m->dtb, .size = (size_t)m->dtb_size, .cmdline = "vmm-dtb"};
	/* ...but not Linux, which takes module 0 as its initrd (and finds ACPI instead). */
	if (!boot_pvh_is_linux(kernel, ksz)) {
		in.modules = &dtb_mod;
		in.nmodules = 1;
	}
	in.rsdp = m->rsdp;

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
	ret |= bus_register(&vm->pio, I8042_CMD_PORT, 1, &i8042_cmd_bus_ops, m->i8042, "i8042-cmd");
	ret |= bus_register(&vm->pio, DEBUG_EXIT_PORT, DEBUG_EXIT_SIZE, &debug_exit_ops, &m->dbg,
			    "debug-exit");
	ret |= bus_register(&vm->pio, MILESTONE_PORT, 1, &milestone_ops, &m->dbg, "milestone");
	ret |= bus_register(&vm->pio, PM_BASE, PM_EVT_SIZE, &pm_evt_ops, &m->pm, "pm1a-evt");
	ret |= bus_register(&vm->pio, PM_CNT_PORT, PM_CNT_SIZE, &pm_cnt_ops, &m->pm, "pm1a-cnt");
	/* RESET_CONTROL_PORT (0xCF9) shares 0xCF8-0xCFF with PCI config: see cf8_read(). */
	if (ret) {
		snprintf(err, errlen, "internal error: overlapping port ranges");
		return -EEXIST;
	}
	return 0;
}

/* The control socket serves the devices of the built topology, and each switch's downstream
 * ports by the names devices use for them ("sw0.1"). */
static int start_control(struct machine *m, char *err, size_t errlen)
{
	int n = m->topo.ndev < m->cfg->ndevices ? m->topo.ndev : m->cfg->ndevices, ret;
	int nports = 0, k;

	if (!m->ctl)
		return 0;
	for (int i = 0; i < n; i++)
		if (m->cfg->devices[i].kind == DEV_SWITCH && m->topo.nodes[i].obj)
			nports += ((struct xio3130 *)m->topo.nodes[i].obj)->ndown;
	m->ctl_devs = calloc((size_t)(n + nports) + 1, sizeof(*m->ctl_devs));
	if (!m->ctl_devs) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		const struct dev_config *d = &m->cfg->devices[i];
		struct topo_node *node = &m->topo.nodes[i];

		m->ctl_devs[i] = (struct ctl_dev){
			.id = d->id ? d->id : "",
			.kind = dev_kind_name(d->kind),
			.pci = node->dev,
			.nvme = d->kind == DEV_NVME && node->obj
					? ((struct nvme_pci *)node->obj)->ctrl
					: NULL,
		};
	}
	k = n;
	for (int i = 0; i < n; i++) {
		struct xio3130 *sw = m->topo.nodes[i].obj;

		if (m->cfg->devices[i].kind != DEV_SWITCH || !sw)
			continue;
		for (int j = 0; j < sw->ndown; j++)
			m->ctl_devs[k++] = (struct ctl_dev){.id = sw->down[j].name,
							    .kind = "downstream_port",
							    .pci = &sw->down[j].dev};
	}
	m->ctl_target = (struct ctl_target){m->ctl_devs, k};
	ret = ctl_server_start(m->ctl, &m->ctl_target);
	if (ret)
		snprintf(err, errlen, "control socket thread: %s", strerror(-ret));
	return ret;
}

static void stop_control(struct machine *m)
{
	ctl_server_close(m->ctl);
	m->ctl = NULL;
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
	return machine_run_ctl(cfg, NULL);
}

int machine_run_ctl(const struct machine_config *cfg, struct ctl_server *ctl)
{
	struct machine *m = calloc(1, sizeof(*m));
	char err[512] = "";
	int status = VMM_EXIT_FAILURE, ret;

	if (!m)
		die("out of memory");
	m->cfg = cfg;
	m->ctl = ctl;
	m->mem.memfd = -1;
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
	ret = start_control(m, err, sizeof(err));
	if (ret)
		goto fail;

	m->vm.affinity = cfg->vcpu_affinity;
	m->vm.naffinity = cfg->nvcpu_affinity;
	console_set_input(m->console, console_to_com1, console_quit, m);
	if (console_start(m->console) || vm_start(&m->vm)) {
		snprintf(err, sizeof(err), "cannot start threads");
		ret = -EAGAIN;
		goto fail;
	}
	pr_debug("machine started: %d vCPU(s), %llu MiB", cfg->cpus,
		 (unsigned long long)(cfg->memory >> 20));
	status = vm_wait(&m->vm);
	stop_control(m); /* before the devices it reaches go */
	console_close(m->console);
	m->console = NULL;
	if (m->vm.vcpus_stuck) {
		/* A vCPU may still be inside a device: tearing down under it would crash. */
		pr_err("%s; exit status %d", stop_reason_text(m->vm.stop_reason), VMM_EXIT_FAILURE);
		fflush(NULL);
		_exit(VMM_EXIT_FAILURE);
	}
	for (int i = 0; i < m->vm.ncpus; i++)
		pr_debug("vCPU %d: %llu port I/O exits, %llu MMIO exits", i,
			 (unsigned long long)m->vm.vcpus[i].exits_io,
			 (unsigned long long)m->vm.vcpus[i].exits_mmio);
	{
		uint64_t ms = (time_ns() - m->vm.start_ns) / 1000000;
		enum log_level lvl = m->vm.stop_reason == VM_STOP_TRIPLE_FAULT ||
						     m->vm.stop_reason == VM_STOP_ERROR
					     ? LOG_ERROR
					     : LOG_INFO;

		vmm_log(lvl, "%s after %llu ms; exit status %d",
			stop_reason_text(m->vm.stop_reason), (unsigned long long)ms, status);
	}
	goto out;
fail:
	pr_err("%s", err[0] ? err : strerror(-ret));
	status = m->config_error ? VMM_EXIT_USAGE : VMM_EXIT_FAILURE;
out:
	stop_control(m);
	free(m->ctl_devs);
	console_close(m->console);
	if (m->have_topo)
		topology_destroy(&m->topo);
	if (m->have_vtd) { /* after the device threads are gone */
		const struct vtd *v = &m->vtd.vtd;

		/* what tests/linux checks: the guest's DMA really was translated */
		pr_info("vtd: translation %s, %llu table walks, %llu invalidations, %llu faults "
			"(%llu lost)",
			vtd_enabled(v) ? "on" : "off", (unsigned long long)v->walks,
			(unsigned long long)v->invalidations, (unsigned long long)v->faults,
			(unsigned long long)v->faults_lost);
		vtd_destroy(&m->vtd.vtd);
	}
	if (m->have_irqs)
		irqroute_destroy(&m->irqs);
	if (m->vm.fd >= 0 || m->vm.kvm_fd >= 0)
		vm_destroy(&m->vm);
	free(m->dtb);
	fw_cfg_destroy(m->fw_cfg);
	seabios_image_free(m->bios, m->bios_size);
	if (m->debugcon.log)
		fclose(m->debugcon.log);
	serial_destroy(m->com1);
	cmos_destroy(m->cmos);
	i8042_destroy(m->i8042);
	mem_free(&m->mem);
	free(m);
	return status;
}
