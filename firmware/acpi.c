/* SPDX-License-Identifier: MIT */
/* ACPI tables (ACPI 6.5 chapter 5): building each table, then placing them in guest memory. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/acpi.h"
#include "firmware/aml.h"
#include "vmm/bus.h"

/* FADT (ACPI 6.5 5.2.9, table 5.9): revision 6, 276 bytes. */
#define FADT_REVISION	    6
#define FADT_MINOR_REVISION 5
#define FADT_LEN	    276
#define FADT_FIRMWARE_CTRL  36
#define FADT_DSDT	    40
#define FADT_X_DSDT	    140

/* FADT Flags (table 5.10) */
#define FADT_F_WBINVD	     (1u << 0)
#define FADT_F_PROC_C1	     (1u << 2)
#define FADT_F_PWR_BUTTON    (1u << 4) /* no fixed-hardware power button */
#define FADT_F_SLP_BUTTON    (1u << 5) /* no fixed-hardware sleep button */
#define FADT_F_FIX_RTC	     (1u << 6) /* no RTC wake status in fixed hardware */
#define FADT_F_RESET_REG_SUP (1u << 10)

/* IA-PC Boot Architecture Flags (table 5.11) */
#define FADT_BOOT_LEGACY_DEVICES  (1u << 0)
#define FADT_BOOT_8042		  (1u << 1)
#define FADT_BOOT_VGA_NOT_PRESENT (1u << 2)

/* Generic Address Structure (5.2.3.2) */
#define GAS_SYSTEM_IO	1
#define GAS_ACCESS_BYTE 1

/* MADT (5.2.12) */
#define MADT_PCAT_COMPAT      (1u << 0)
#define MADT_LOCAL_APIC	      0
#define MADT_IO_APIC	      1
#define MADT_INT_SRC_OVERRIDE 2
#define MADT_LOCAL_APIC_NMI   4
#define MADT_LAPIC_ENABLED    (1u << 0)
/* MPS INTI flags (table 5.50): polarity 1:0, trigger mode 3:2 */
#define MPS_INTI_ACTIVE_HIGH 0x1
#define MPS_INTI_LEVEL	     0xc

/* The DSDT's _PRT rule, the same as pci_intx_gsi() on bus 0 (vmm/pci/pci.h). */
#define PCI_INTX_GSI_BASE 16

/* _OSC UUID for PCI host bridges (PCI Firmware 3.3 4.5.1), in ToUUID byte order. */
static const uint8_t pci_osc_uuid[16] = {0x5b, 0x4d, 0xdb, 0x33, 0xf7, 0x1f, 0x1c, 0x40,
					 0x96, 0x57, 0x74, 0x41, 0xc0, 0x3d, 0xd7, 0x66};

uint8_t acpi_checksum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	return (uint8_t)-sum;
}

/* System Description Table Header (5.2.6); the length is patched by table_finish(). */
static void table_header(struct aml *b, const char *sig, uint8_t revision)
{
	aml_bytes(b, sig, 4);
	aml_le(b, 0, 4); /* length */
	aml_byte(b, revision);
	aml_byte(b, 0); /* checksum */
	aml_bytes(b, ACPI_OEM_ID, 6);
	aml_bytes(b, ACPI_OEM_TABLE_ID, 8);
	aml_le(b, ACPI_OEM_REVISION, 4);
	aml_bytes(b, ACPI_CREATOR_ID, 4);
	aml_le(b, ACPI_CREATOR_REVISION, 4);
}

static void gas_io(struct aml *b, uint16_t port, uint8_t bit_width, uint8_t access_size)
{
	aml_byte(b, GAS_SYSTEM_IO);
	aml_byte(b, bit_width);
	aml_byte(b, 0); /* bit offset */
	aml_byte(b, access_size);
	aml_le(b, port, 8);
}

static void blob_pointer(struct acpi_blob *bl, uint32_t offset, uint8_t size,
			 enum acpi_blob_id target)
{
	bl->pointers[bl->npointers++] = (struct acpi_pointer){offset, size, target};
}

static void blob_checksum(struct acpi_blob *bl, uint32_t offset, uint32_t start, uint32_t len)
{
	bl->checksums[bl->nchecksums++] = (struct acpi_checksum){offset, start, len};
}

/* Move a finished buffer into a blob; for a table, patch its length and list its checksum. */
static int blob_take(struct acpi_blob *bl, const char *name, struct aml *b, uint32_t align,
		     int is_table)
{
	if (b->err) {
		int err = b->err;
		aml_free(b);
		return err;
	}
	bl->name = name;
	bl->data = b->data;
	bl->len = b->len;
	bl->align = align;
	if (is_table) {
		bus_store_le(bl->data + 4, bl->len, 4);
		blob_checksum(bl, 9, 0, (uint32_t)bl->len);
	}
	return 0;
}

static int build_rsdp(struct acpi_blob *bl)
{
	struct aml b;

	/* RSDP (5.2.5.3): ACPI 2.0+ form, no RSDT */
	aml_init(&b);
	aml_bytes(&b, "RSD PTR ", 8);
	aml_byte(&b, 0); /* checksum of the first 20 bytes */
	aml_bytes(&b, ACPI_OEM_ID, 6);
	aml_byte(&b, 2);   /* revision */
	aml_le(&b, 0, 4);  /* RsdtAddress */
	aml_le(&b, 36, 4); /* length */
	aml_le(&b, 0, 8);  /* XsdtAddress */
	aml_byte(&b, 0);   /* extended checksum */
	aml_le(&b, 0, 3);
	int err = blob_take(bl, "RSDP", &b, 16, 0);
	if (err)
		return err;
	blob_pointer(bl, 24, 8, ACPI_BLOB_XSDT);
	blob_checksum(bl, 8, 0, 20);
	blob_checksum(bl, 32, 0, 36);
	return 0;
}

static int build_facs(struct acpi_blob *bl)
{
	struct aml b;

	/* FACS (5.2.10): no checksum; 64-byte aligned */
	aml_init(&b);
	aml_bytes(&b, "FACS", 4);
	aml_le(&b, 64, 4);
	aml_le(&b, 0, 4); /* hardware signature */
	aml_le(&b, 0, 4); /* firmware waking vector */
	aml_le(&b, 0, 4); /* global lock */
	aml_le(&b, 0, 4); /* flags */
	aml_le(&b, 0, 8); /* X firmware waking vector */
	aml_byte(&b, 2);  /* version */
	aml_le(&b, 0, 3);
	aml_le(&b, 0, 4); /* OSPM flags */
	aml_le(&b, 0, 8);
	aml_le(&b, 0, 8);
	aml_le(&b, 0, 8);
	return blob_take(bl, "FACS", &b, 64, 0);
}

static int build_fadt(const struct fw_platform *p, struct acpi_blob *bl)
{
	struct aml b;

	aml_init(&b);
	table_header(&b, "FACP", FADT_REVISION);
	aml_le(&b, 0, 4); /* FIRMWARE_CTRL: pointer to the FACS */
	aml_le(&b, 0, 4); /* DSDT: pointer */
	aml_byte(&b, 0);  /* reserved (INT_MODEL in ACPI 1.0) */
	aml_byte(&b, 0);  /* Preferred_PM_Profile: unspecified */
	aml_le(&b, (uint64_t)p->sci_irq, 2);
	/* SMI_CMD 0: no SMM to hand over, the hardware is always in ACPI mode (SCI_EN reads 1) */
	aml_le(&b, 0, 4);
	aml_byte(&b, 0); /* ACPI_ENABLE */
	aml_byte(&b, 0); /* ACPI_DISABLE */
	aml_byte(&b, 0); /* S4BIOS_REQ */
	aml_byte(&b, 0); /* PSTATE_CNT */
	aml_le(&b, p->pm1a_evt, 4);
	aml_le(&b, 0, 4); /* PM1b_EVT_BLK */
	aml_le(&b, p->pm1a_cnt, 4);
	aml_le(&b, 0, 4); /* PM1b_CNT_BLK */
	aml_le(&b, 0, 4); /* PM2_CNT_BLK */
	aml_le(&b, 0, 4); /* PM_TMR_BLK: none, guests use the TSC / kvm-clock */
	aml_le(&b, 0, 4); /* GPE0_BLK */
	aml_le(&b, 0, 4); /* GPE1_BLK */
	aml_byte(&b, 4);  /* PM1_EVT_LEN */
	aml_byte(&b, 2);  /* PM1_CNT_LEN */
	aml_byte(&b, 0);  /* PM2_CNT_LEN */
	aml_byte(&b, 0);  /* PM_TMR_LEN */
	aml_byte(&b, 0);  /* GPE0_BLK_LEN */
	aml_byte(&b, 0);  /* GPE1_BLK_LEN */
	aml_byte(&b, 0);  /* GPE1_BASE */
	aml_byte(&b, 0);  /* CST_CNT */
	/* P_LVL2_LAT/P_LVL3_LAT above 100/1000 us: C2 and C3 not supported */
	aml_le(&b, 101, 2);
	aml_le(&b, 1001, 2);
	aml_le(&b, 0, 2);   /* FLUSH_SIZE */
	aml_le(&b, 0, 2);   /* FLUSH_STRIDE */
	aml_byte(&b, 0);    /* DUTY_OFFSET */
	aml_byte(&b, 0);    /* DUTY_WIDTH */
	aml_byte(&b, 0);    /* DAY_ALRM */
	aml_byte(&b, 0);    /* MON_ALRM */
	aml_byte(&b, 0x32); /* CENTURY: the CMOS register vmm/dev/cmos.c keeps it in */
	aml_le(&b, FADT_BOOT_LEGACY_DEVICES | FADT_BOOT_8042 | FADT_BOOT_VGA_NOT_PRESENT, 2);
	aml_byte(&b, 0); /* reserved */
	aml_le(&b,
	       FADT_F_WBINVD | FADT_F_PROC_C1 | FADT_F_PWR_BUTTON | FADT_F_SLP_BUTTON |
		       FADT_F_FIX_RTC | FADT_F_RESET_REG_SUP,
	       4);
	gas_io(&b, p->reset_port, 8, GAS_ACCESS_BYTE); /* RESET_REG */
	aml_byte(&b, p->reset_value);
	aml_le(&b, 0, 2); /* ARM_BOOT_ARCH */
	aml_byte(&b, FADT_MINOR_REVISION);
	aml_le(&b, 0, 8);		/* X_FIRMWARE_CTRL: the 32-bit field is used */
	aml_le(&b, 0, 8);		/* X_DSDT: pointer */
	gas_io(&b, p->pm1a_evt, 32, 0); /* X_PM1a_EVT_BLK */
	aml_le(&b, 0, 12);		/* X_PM1b_EVT_BLK: an all-zero GAS is "not present" */
	gas_io(&b, p->pm1a_cnt, 16, 0); /* X_PM1a_CNT_BLK */
	for (int i = 0; i < 7; i++)	/* X_PM1b_CNT, X_PM2_CNT, X_PM_TMR, X_GPE0/1, SLEEP_* */
		aml_le(&b, 0, 12);
	aml_bytes(&b, "VMM     ", 8); /* Hypervisor Vendor Identity */
	if (!b.err && b.len != FADT_LEN)
		b.err = -EINVAL;
	int err = blob_take(bl, "FACP", &b, 8, 1);
	if (err)
		return err;
	blob_pointer(bl, FADT_FIRMWARE_CTRL, 4, ACPI_BLOB_FACS);
	blob_pointer(bl, FADT_DSDT, 4, ACPI_BLOB_DSDT);
	blob_pointer(bl, FADT_X_DSDT, 8, ACPI_BLOB_DSDT);
	return 0;
}

static void madt_override(struct aml *b, uint8_t irq, uint32_t gsi, uint16_t flags)
{
	aml_byte(b, MADT_INT_SRC_OVERRIDE);
	aml_byte(b, 10);
	aml_byte(b, 0); /* bus: ISA */
	aml_byte(b, irq);
	aml_le(b, gsi, 4);
	aml_le(b, flags, 2);
}

static int build_madt(const struct fw_platform *p, struct acpi_blob *bl)
{
	struct aml b;

	aml_init(&b);
	table_header(&b, "APIC", 5);
	aml_le(&b, p->lapic_base, 4);
	aml_le(&b, MADT_PCAT_COMPAT, 4);
	for (int i = 0; i < p->ncpus; i++) {
		aml_byte(&b, MADT_LOCAL_APIC);
		aml_byte(&b, 8);
		aml_byte(&b, (uint8_t)i); /* ACPI processor UID */
		aml_byte(&b, (uint8_t)i); /* APIC ID: KVM's default, the vCPU index */
		aml_le(&b, MADT_LAPIC_ENABLED, 4);
	}
	aml_byte(&b, MADT_IO_APIC);
	aml_byte(&b, 12);
	aml_byte(&b, p->ioapic_id);
	aml_byte(&b, 0);
	aml_le(&b, p->ioapic_base, 4);
	aml_le(&b, 0, 4); /* GSI base */
	/* KVM's in-kernel IOAPIC wires the PIT to pin 2, like every PC chipset since the APIC */
	madt_override(&b, 0, 2, 0);
	madt_override(&b, (uint8_t)p->sci_irq, (uint32_t)p->sci_irq,
		      MPS_INTI_ACTIVE_HIGH | MPS_INTI_LEVEL);
	aml_byte(&b, MADT_LOCAL_APIC_NMI);
	aml_byte(&b, 6);
	aml_byte(&b, 0xff); /* all processors */
	aml_le(&b, 0, 2);   /* flags: bus conforming */
	aml_byte(&b, 1);    /* LINT1 */
	return blob_take(bl, "APIC", &b, 8, 1);
}

static int build_mcfg(const struct fw_platform *p, struct acpi_blob *bl)
{
	struct aml b;

	/* PCI Firmware 3.3 4.1.2 */
	aml_init(&b);
	table_header(&b, "MCFG", 1);
	aml_le(&b, 0, 8);
	aml_le(&b, p->ecam_base, 8);
	aml_le(&b, 0, 2); /* segment */
	aml_byte(&b, p->bus_start);
	aml_byte(&b, p->bus_end);
	aml_le(&b, 0, 4);
	return blob_take(bl, "MCFG", &b, 8, 1);
}

/*
 * DMAR (Intel VT-d spec 8.1, 8.3): host address width, no interrupt remapping (flags 0), and
 * one DRHD with INCLUDE_PCI_ALL for segment 0, so every PCI function is behind the unit
 * with no device scope to list (Linux: dmar_parse_one_drhd()). No RMRR: no device needs
 * firmware-owned memory identity-mapped.
 */
static int build_dmar(const struct fw_platform *p, struct acpi_blob *bl)
{
	struct aml b;

	aml_init(&b);
	table_header(&b, "DMAR", 1);
	aml_byte(&b, 46 - 1); /* Host Address Width: N - 1 (devices/iommu VTD_HAW) */
	aml_byte(&b, 0);      /* flags: no INTR_REMAP, no X2APIC_OPT_OUT */
	aml_le(&b, 0, 8);     /* reserved (10 bytes) */
	aml_le(&b, 0, 2);
	aml_le(&b, 0, 2);  /* DRHD */
	aml_le(&b, 16, 2); /* length: no device scope */
	aml_byte(&b, 1);   /* INCLUDE_PCI_ALL */
	aml_byte(&b, 0);   /* size: 2^0 4 KiB pages */
	aml_le(&b, 0, 2);  /* segment */
	aml_le(&b, p->iommu_base, 8);
	return blob_take(bl, "DMAR", &b, 8, 1);
}

static int build_xsdt(const struct fw_platform *p, struct acpi_blob *bl)
{
	enum acpi_blob_id entries[] = {ACPI_BLOB_FADT, ACPI_BLOB_MADT, ACPI_BLOB_MCFG,
				       ACPI_BLOB_DMAR};
	size_t n = sizeof(entries) / sizeof(entries[0]) - (p->iommu_base ? 0 : 1);
	struct aml b;

	aml_init(&b);
	table_header(&b, "XSDT", 1);
	for (size_t i = 0; i < n; i++)
		aml_le(&b, 0, 8);
	int err = blob_take(bl, "XSDT", &b, 8, 1);
	if (err)
		return err;
	for (size_t i = 0; i < n; i++)
		blob_pointer(bl, (uint32_t)(ACPI_HEADER_SIZE + 8 * i), 8, entries[i]);
	return 0;
}

/* A window [base, base + size) as the right-sized address space descriptor. */
static void res_mem_window(struct aml *r, uint64_t base, uint64_t size, enum aml_mem_cache c)
{
	uint64_t last = base + size - 1;

	if (last <= UINT32_MAX)
		aml_res_dword_mem(r, (uint32_t)base, (uint32_t)last, c);
	else
		aml_res_qword_mem(r, base, last, c);
}

static void name_resources(struct aml *a, const char *name, struct aml *r)
{
	aml_res_end(r);
	aml_name(a, name);
	if (r->err && !a->err)
		a->err = r->err;
	else
		aml_buffer(a, r->data, r->len);
	aml_free(r);
}

/*
 * Method (_OSC, 4) {
 *     CreateDWordField (Arg3, 0, CDW1)
 *     If (Arg0 == ToUUID ("33DB4D5B-1FF7-401C-9657-7441C03DD766")) { Return (Arg3) }
 *     Else { CDW1 |= 4; Return (Arg3) }    // Unrecognized UUID
 * }
 * Returning the capabilities buffer unchanged grants every control the OS asks for (PCI
 * Firmware 3.3 4.5.2.4): vmm's PCIe ports are all native, there is no firmware to share with.
 */
static void dsdt_pci_osc(struct aml *a)
{
	size_t m = aml_method_begin(a, "_OSC", 4, 0);
	aml_byte(a, AML_CREATE_DWORD_FIELD_OP);
	aml_byte(a, AML_ARG0_OP + 3);
	aml_integer(a, 0);
	aml_namestring(a, "CDW1");
	size_t mif = aml_if_begin(a);
	aml_byte(a, AML_LEQUAL_OP);
	aml_byte(a, AML_ARG0_OP);
	aml_buffer(a, pci_osc_uuid, sizeof(pci_osc_uuid));
	aml_byte(a, AML_RETURN_OP);
	aml_byte(a, AML_ARG0_OP + 3);
	aml_end(a, mif);
	size_t melse = aml_else_begin(a);
	aml_byte(a, AML_OR_OP);
	aml_namestring(a, "CDW1");
	aml_integer(a, 4);
	aml_namestring(a, "CDW1");
	aml_byte(a, AML_RETURN_OP);
	aml_byte(a, AML_ARG0_OP + 3);
	aml_end(a, melse);
	aml_end(a, m);
}

static void dsdt_pci0(const struct fw_platform *p, struct aml *a)
{
	struct aml r;

	size_t dev = aml_device_begin(a, "PCI0");
	aml_name_integer(a, "_HID", aml_eisaid("PNP0A08"));
	aml_name_integer(a, "_CID", aml_eisaid("PNP0A03"));
	/* No _ADR: a device has a _HID or an _ADR, not both (ACPI 6.5 6.1; iasl warns) */
	aml_name_integer(a, "_UID", 0);
	aml_name_integer(a, "_SEG", 0);
	aml_name_integer(a, "_BBN", p->bus_start);

	aml_init(&r);
	aml_res_word_bus(&r, p->bus_start, p->bus_end);
	aml_res_io(&r, 0xcf8, 8); /* config mechanism #1 */
	if (p->io_size)
		aml_res_word_io(&r, (uint16_t)p->io_base, (uint16_t)(p->io_base + p->io_size - 1));
	if (p->mmio32_size)
		res_mem_window(&r, p->mmio32_base, p->mmio32_size, AML_MEM_NON_CACHEABLE);
	if (p->mmio64_size)
		res_mem_window(&r, p->mmio64_base, p->mmio64_size, AML_MEM_CACHEABLE);
	name_resources(a, "_CRS", &r);

	/*
	 * _PRT (ACPI 6.5 6.2.13): Package { Address 0xSSSSFFFF (any function of slot S), Pin
	 * (0 = INTA), Source 0 (so Source Index is the GSI), GSI }. Swizzling below bridges is
	 * the OS's job; on bus 0 the rule is pci_intx_gsi()'s.
	 */
	aml_name(a, "_PRT");
	size_t prt = aml_package_begin(a, 32 * 4);
	for (unsigned slot = 0; slot < 32; slot++) {
		for (unsigned pin = 0; pin < 4; pin++) {
			size_t e = aml_package_begin(a, 4);
			aml_integer(a, (uint64_t)slot << 16 | 0xffff);
			aml_integer(a, pin);
			aml_integer(a, 0);
			aml_integer(a, PCI_INTX_GSI_BASE + (slot + pin) % 4);
			aml_end(a, e);
		}
	}
	aml_end(a, prt);
	dsdt_pci_osc(a);
	aml_end(a, dev);
}

static int dsdt_check_platform(const struct fw_platform *p)
{
	if (p->bus_end < p->bus_start)
		return -EINVAL;
	if (p->io_size && (uint64_t)p->io_base + p->io_size > 0x10000)
		return -EINVAL;
	if (p->mmio32_size && p->mmio32_base + p->mmio32_size - 1 < p->mmio32_base)
		return -EINVAL;
	if (p->mmio64_size && p->mmio64_base + p->mmio64_size - 1 < p->mmio64_base)
		return -EINVAL;
	if (p->com1_port && p->com1_irq > 15)
		return -EINVAL;
	return 0;
}

static int build_dsdt(const struct fw_platform *p, struct acpi_blob *bl)
{
	struct aml a, r;

	/* Revision 2: integers are 64 bits wide (ACPI 6.5 5.2.11.1) */
	aml_init(&a);
	table_header(&a, "DSDT", 2);

	size_t sb = aml_scope_begin(&a, "\\_SB");
	dsdt_pci0(p, &a);

	/*
	 * Motherboard resources: Linux trusts MMCONFIG only when the ECAM range is reserved
	 * here or in the e820 map (arch/x86/pci/mmconfig-shared.c, pci_mmcfg_reserved).
	 */
	size_t dev = aml_device_begin(&a, "MRES");
	aml_name_integer(&a, "_HID", aml_eisaid("PNP0C02"));
	aml_name_integer(&a, "_UID", 0);
	aml_init(&r);
	/* The MCFG base address is bus 0's; only the decoded buses are reserved. */
	uint64_t ecam_start = p->ecam_base + ((uint64_t)p->bus_start << 20);
	uint64_t ecam_size = (uint64_t)(p->bus_end - p->bus_start + 1) << 20;
	if (ecam_start + ecam_size - 1 <= UINT32_MAX)
		aml_res_mem32_fixed(&r, (uint32_t)ecam_start, (uint32_t)ecam_size);
	else
		aml_res_qword_mem_consumer(&r, ecam_start, ecam_start + ecam_size - 1);
	name_resources(&a, "_CRS", &r);
	aml_end(&a, dev);

	if (p->com1_port) {
		dev = aml_device_begin(&a, "COM1");
		aml_name_integer(&a, "_HID", aml_eisaid("PNP0501"));
		aml_name_integer(&a, "_UID", 1);
		aml_init(&r);
		aml_res_io(&r, p->com1_port, 8);
		aml_res_irq_noflags(&r, p->com1_irq);
		name_resources(&a, "_CRS", &r);
		aml_end(&a, dev);
	}
	aml_end(&a, sb);

	/* \_S5: SLP_TYPa, SLP_TYPb, reserved, reserved (7.4.2); vmm/dev/pm.h's PM_S5_TYP */
	aml_name(&a, "\\_S5");
	size_t s5 = aml_package_begin(&a, 4);
	aml_integer(&a, PM_S5_TYP);
	aml_integer(&a, PM_S5_TYP);
	aml_integer(&a, 0);
	aml_integer(&a, 0);
	aml_end(&a, s5);

	return blob_take(bl, "DSDT", &a, 8, 1);
}

void acpi_tables_free(struct acpi_tables *t)
{
	for (int i = 0; i < ACPI_NBLOBS; i++)
		free(t->blob[i].data);
	memset(t, 0, sizeof(*t));
}

int acpi_tables_build(const struct fw_platform *p, struct acpi_tables *t)
{
	int err;

	memset(t, 0, sizeof(*t));
	/* xAPIC entries carry 8-bit APIC IDs and 255 is the broadcast ID */
	if (p->ncpus < 1 || p->ncpus > 255 || p->sci_irq < 0 || p->sci_irq > 15)
		return -EINVAL;
	if (p->lapic_base > UINT32_MAX || p->ioapic_base > UINT32_MAX)
		return -EINVAL;
	err = dsdt_check_platform(p);
	if (!err)
		err = build_rsdp(&t->blob[ACPI_BLOB_RSDP]);
	if (!err)
		err = build_facs(&t->blob[ACPI_BLOB_FACS]);
	if (!err)
		err = build_dsdt(p, &t->blob[ACPI_BLOB_DSDT]);
	if (!err)
		err = build_fadt(p, &t->blob[ACPI_BLOB_FADT]);
	if (!err)
		err = build_madt(p, &t->blob[ACPI_BLOB_MADT]);
	if (!err)
		err = build_mcfg(p, &t->blob[ACPI_BLOB_MCFG]);
	if (!err && p->iommu_base)
		err = build_dmar(p, &t->blob[ACPI_BLOB_DMAR]);
	else if (!err)
		t->blob[ACPI_BLOB_DMAR] = (struct acpi_blob){.name = "DMAR", .align = 1};
	if (!err)
		err = build_xsdt(p, &t->blob[ACPI_BLOB_XSDT]);
	if (err)
		acpi_tables_free(t);
	return err;
}

ssize_t acpi_tables_place(const struct acpi_tables *t, uint64_t base, void *buf, size_t size,
			  uint64_t addr[ACPI_NBLOBS])
{
	uint64_t at[ACPI_NBLOBS];
	size_t off = 0;
	uint8_t *out = buf;

	if (base % 16 || base > UINT64_MAX - size)
		return -EINVAL;
	for (int i = 0; i < ACPI_NBLOBS; i++) {
		const struct acpi_blob *bl = &t->blob[i];
		uint64_t gpa = (base + off + bl->align - 1) & ~((uint64_t)bl->align - 1);
		size_t start = (size_t)(gpa - base);
		if (start > size || bl->len > size - start)
			return -ENOSPC;
		memset(out + off, 0, start - off);
		if (bl->len)
			memcpy(out + start, bl->data, bl->len);
		at[i] = gpa;
		off = start + bl->len;
	}
	for (int i = 0; i < ACPI_NBLOBS; i++) {
		const struct acpi_blob *bl = &t->blob[i];
		uint8_t *data = out + (at[i] - base);
		for (int j = 0; j < bl->npointers; j++) {
			const struct acpi_pointer *ptr = &bl->pointers[j];
			uint64_t v = bus_load_le(data + ptr->offset, ptr->size) + at[ptr->target];
			if (ptr->size == 4 && v > UINT32_MAX)
				return -EINVAL;
			bus_store_le(data + ptr->offset, v, ptr->size);
		}
		for (int j = 0; j < bl->nchecksums; j++) {
			const struct acpi_checksum *c = &bl->checksums[j];
			data[c->offset] = 0;
			data[c->offset] = acpi_checksum(data + c->start, c->length);
		}
	}
	if (addr)
		memcpy(addr, at, sizeof(at));
	return (ssize_t)off;
}

int acpi_build(const struct fw_platform *p, uint64_t base, void *buf, size_t size,
	       uint64_t *rsdp_addr, size_t *total)
{
	struct acpi_tables t;
	uint64_t addr[ACPI_NBLOBS];

	int err = acpi_tables_build(p, &t);
	if (err)
		return err;
	ssize_t n = acpi_tables_place(&t, base, buf, size, addr);
	acpi_tables_free(&t);
	if (n < 0)
		return (int)n;
	if (rsdp_addr)
		*rsdp_addr = addr[ACPI_BLOB_RSDP];
	if (total)
		*total = (size_t)n;
	return 0;
}
