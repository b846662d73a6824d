/* SPDX-License-Identifier: MIT */
/*
 * The machine description: TOML in, plain validated data out (DESIGN.md rule 7).
 * Nothing here touches KVM; every problem is reported with file:line:col before any VM
 * exists.
 */
#ifndef VMM_CONFIG_H
#define VMM_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

enum cpu_model {
	CPU_MODEL_HOST,	  /* KVM_GET_SUPPORTED_CPUID as it is */
	CPU_MODEL_COMPAT, /* Intel vendor, no features a PVM-style nested host cannot emulate */
};

struct console_config {
	char *log;  /* also copy guest serial output to this file; NULL: none */
	bool input; /* forward stdin to the guest (default true) */
};

/* [firmware]: options for a firmware boot ([machine] firmware). */
struct firmware_config {
	char *debugcon;		  /* log of the debug console port 0x402; NULL: dropped */
	bool have_reboot_timeout; /* else SeaBIOS's default (60 s) */
	int32_t reboot_timeout;	  /* ms after "No bootable device" until reset; -1: never */
};

/* [iommu]: a DMA remapping unit in front of every PCI function (docs/iommu.md). */
enum iommu_model {
	IOMMU_NONE,  /* the default */
	IOMMU_INTEL, /* Intel VT-d, devices/iommu */
};

/* PCIe devices, in the order written (docs/config.md, "Devices"). */
enum dev_kind {
	DEV_ROOT_PORT,
	DEV_SWITCH,  /* XIO3130: upstream port + `downstream` ports "<id>.0".. */
	DEV_TESTDEV, /* our test endpoint: MSI-X doorbell registers + a RAM BAR */
	DEV_NVME,    /* NVMe controller */
	DEV_NTB,     /* IDT 89HPES24NT6AG2 NT function, linked to a peer vmm */
	DEV_PLX_DMA, /* PLX PEX DMA engine (10b5:87d0), Linux's plx_dma */
};

/* The kind's name as a config file spells its table ("nvme" for [[nvme]]); "?" if unknown. */
const char *dev_kind_name(enum dev_kind kind);

/* One NVMe namespace: nsid = index + 1. */
struct nvme_ns_spec {
	char *backend;	   /* "ram", "null" or "file" */
	char *path;	   /* file backend: regular file or block device (absolute) */
	uint64_t size;	   /* bytes; 0 with "file": the file's size */
	unsigned lba_size; /* 512 or 4096 */
	char *cache;	   /* file: "none" (O_DIRECT) or "writeback"; NULL: "none" */
	/* Zoned namespace (docs/config.md "Zoned namespaces"); sizes 0: defaults */
	bool zoned;
	uint64_t zone_size, zone_capacity;
	int max_open, max_active; /* 0: no limit */
	/* [[nvme_subsystem]] namespaces: the ids of the [[nvme]] controllers it is attached to
	 * (nctrls 0: every controller of the subsystem), where 'controllers' is written, and
	 * its ANA group (1..16). */
	char **ctrls;
	int nctrls, ctrls_line, ctrls_col;
	int ana_group;
	/* Metadata and protection information (docs/config.md "Metadata and PI") */
	int metadata_size; /* 0, 8, 16 or 64 bytes per block */
	bool extended_lba; /* metadata = "extended"; else "separate" (MPTR) */
	int pi_type;	   /* 0-3 */
	bool pi_first;	   /* pi_location = "first"; else "last" */
};

/* [[nvme_subsystem]]: one NVM subsystem shared by the [[nvme]] controllers naming it. */
struct nvme_subsys_config {
	char *name;
	char *subnqn, *serial;	 /* NULL: generated */
	struct nvme_ns_spec *ns; /* nsid = index + 1 */
	int nns;
	int line, col;
};

struct nvme_dev_config {
	char *serial, *model; /* NULL: generated / default */
	int queues;	      /* I/O queue pairs, 1..64 */
	int queue_size;	      /* entries per queue (CAP.MQES + 1), 2..65536 */
	uint64_t mdts;	      /* bytes, power of two, 4 KiB..2 MiB */
	struct nvme_ns_spec *ns;
	int nns;
	uint64_t cmb;	       /* CMB (BAR2) bytes; 0: none */
	char *pmr;	       /* PMR (BAR4) backing file; NULL: none */
	uint64_t pmr_size;     /* 0: the file's size */
	bool iothread;	       /* false: everything on the vCPU thread (debugging) */
	uint32_t poll_idle_us; /* I/O thread polling window; 0: default; UINT32_MAX: never (0 or -1)
				*/
	uint32_t poll_inflight_us; /* keep polling while backend I/O is in flight; 0: off */
	int iothread_cpu;	   /* host CPU the I/O thread runs on; -1: any */
	uint64_t nsmgmt_capacity;  /* Namespace Management pool bytes; 0: feature off */
	char *nsmgmt_backend;	   /* "ram" or "null" for created namespaces; NULL: "ram" */
	char *subsystem;	   /* [[nvme_subsystem]] name; NULL: a subsystem of its own */
	int subsys;		   /* resolved: index in machine_config.subsystems, else -1 */
	int subsys_line, subsys_col;
};

#define CONFIG_ROOT_BUS	      "pcie0"
#define CONFIG_MAX_DOWNSTREAM 32

struct dev_config {
	enum dev_kind kind;
	char *id;
	char *bus;     /* id of the port above: "pcie0", a root port, or "<switch>.<n>" */
	int line, col; /* where the [[table]] starts, for later messages */
	/* Resolved by validation: the device owning `bus` (-1: the root bus), and for a switch
	 * downstream port its index (else -1). */
	int parent, parent_port;
	bool acs;		     /* root_port, switch: ACS extended capability */
	int slot;		     /* root_port: device number on bus 0, 1..31 (0: next free) */
	int downstream;		     /* switch */
	uint64_t ram_bar;	     /* testdev: size of its RAM-backed BAR2 (0: none) */
	int msix_vectors;	     /* testdev */
	struct nvme_dev_config nvme; /* nvme */
	struct {
		unsigned port;	   /* switch port: 0, 2, 4, 6, 8 or 12 */
		char *rendezvous;  /* Unix socket path both vmm processes name */
		uint64_t mw_size;  /* BAR2 and BAR4 memory windows */
		uint8_t mw_lut[2]; /* BAR2, BAR4: 0 direct, 12 or 24 lookup-table entries */
		bool epf;	   /* personality "epf" (ntb_hw_epf) instead of "idt" */
	} ntb;
};

/* Where a value is written in the file; line 0: not in the file (a command-line override). */
struct config_at {
	int line, col;
};

struct machine_config {
	char *source; /* file name, or "<built-in>" */

	uint64_t memory; /* bytes; multiple of 2 MiB (4 KiB would do, but hugepages) */
	int cpus;	 /* 1..KVM_MAX_VCPUS (checked against KVM later) */
	enum cpu_model cpu_model;
	/* [cpu] affinity: vCPU i runs on host CPU vcpu_affinity[i] (nvcpu_affinity entries, one
	 * per vCPU); NULL: wherever the host schedules it. */
	int *vcpu_affinity;
	int nvcpu_affinity;
	bool hugepages;

	char *firmware; /* BIOS image (SeaBIOS), resolved; NULL: direct kernel boot */
	char *kernel;	/* absolute or relative to the config file's directory, resolved */
	char *initrd;	/* NULL: none */
	char *cmdline;	/* NULL: empty */
	struct config_at kernel_at, initrd_at, cmdline_at; /* for config_check_boot's messages */
	char **boot; /* [machine] boot: device ids, first to try first (firmware only) */
	int nboot;

	struct console_config console;
	struct firmware_config firmware_opts;
	enum iommu_model iommu;

	struct dev_config *devices;
	int ndevices;
	struct nvme_subsys_config *subsystems;
	int nsubsystems;
};

/*
 * Parse and validate. Returns 0, or -EINVAL with *errors set to a malloc'd text holding one
 * line per problem ("file:line:col: message\n"), -errno if the file cannot be read (with a
 * message too). Relative paths are resolved against the directory of `path`.
 */
int config_load_file(const char *path, struct machine_config *out, char **errors);

/* The same for text in memory; `name` is used in messages, `base_dir` resolves paths. */
int config_load_string(const char *text, const char *name, const char *base_dir,
		       struct machine_config *out, char **errors);

void config_free(struct machine_config *cfg);

/*
 * What only the kernel's own headers tell (vmm/config/config_boot.c): is `kernel` a bzImage or PVH
 * ELF that boots in `memory` with this `initrd` (non-empty, room above the kernel) and
 * `cmdline` (no longer than the kernel takes)? The same checks boot_load makes, before any
 * VM exists. Run after config_load_*, which it does not repeat (the config model itself is
 * checked without reading any kernel). Returns 0, or -EINVAL with *errors as
 * config_load_file gives them: "file:line:col: message" for values from the file,
 * "vmm: message" for --kernel, --initrd and --cmdline.
 */
int config_check_boot(const struct machine_config *cfg, char **errors);

/*
 * A size string: decimal digits and an optional suffix K, M, G, T, P, E or KiB, MiB, GiB, TiB,
 * PiB, EiB (all powers of 1024; no suffix means bytes). Returns 0, -EINVAL or -ERANGE
 * (> 2^64 - 1).
 */
int config_parse_size(const char *s, uint64_t *out);

/* The built-in topology used by `vmm run` without --config (paths relative to the binary). */
extern const char config_default_toml[];

#endif
