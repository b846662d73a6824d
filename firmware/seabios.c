/* SPDX-License-Identifier: MIT */
/* SeaBIOS support: see seabios.h. */
#include "firmware/seabios.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "vmm/bus.h"
#include "vmm/util.h"

#define PAGE_SIZE 4096u

/* ---- etc/table-loader ---- */

static const char *blob_file(enum acpi_blob_id id)
{
	return id == ACPI_BLOB_RSDP ? SEABIOS_FILE_RSDP : SEABIOS_FILE_TABLES;
}

static uint8_t *loader_entry(struct seabios_acpi *a, uint32_t cmd)
{
	uint8_t *e = a->loader + a->loader_len;

	a->loader_len += LOADER_ENTRY_SIZE;
	bus_store_le(e, cmd, 4);
	return e;
}

static void loader_name(uint8_t *field, const char *name)
{
	/* Names are shorter than LOADER_FILESZ: the rest of the (zeroed) field terminates. */
	memcpy(field, name, strlen(name));
}

static void loader_allocate(struct seabios_acpi *a, const char *file, uint32_t align, uint8_t zone)
{
	uint8_t *e = loader_entry(a, LOADER_CMD_ALLOCATE);

	loader_name(e + LOADER_ALLOC_FILE, file);
	bus_store_le(e + LOADER_ALLOC_ALIGN, align, 4);
	e[LOADER_ALLOC_ZONE] = zone;
}

int seabios_acpi_build(const struct acpi_tables *t, struct seabios_acpi *out)
{
	uint32_t tables_align = 1, off = 0;
	int ncmds = 2;

	memset(out, 0, sizeof(*out));
	/* Lay out every table but the RSDP in one file, each at its own alignment. */
	for (int i = 0; i < ACPI_NBLOBS; i++) {
		const struct acpi_blob *b = &t->blob[i];

		ncmds += b->npointers + b->nchecksums;
		if (i == ACPI_BLOB_RSDP)
			continue;
		if (!b->align || (b->align & (b->align - 1)) || b->len > UINT32_MAX / 2)
			return -EINVAL;
		off = (off + b->align - 1) & ~(b->align - 1);
		out->offset[i] = off;
		off += (uint32_t)b->len;
		if (b->align > tables_align)
			tables_align = b->align;
	}
	out->tables_len = off;
	out->rsdp_len = (uint32_t)t->blob[ACPI_BLOB_RSDP].len;
	out->tables = calloc(1, off ? off : 1);
	out->rsdp = malloc(out->rsdp_len ? out->rsdp_len : 1);
	out->loader = calloc((size_t)ncmds, LOADER_ENTRY_SIZE);
	if (!out->tables || !out->rsdp || !out->loader) {
		seabios_acpi_free(out);
		return -ENOMEM;
	}
	for (int i = 0; i < ACPI_NBLOBS; i++) {
		const struct acpi_blob *b = &t->blob[i];
		uint8_t *dst = (i == ACPI_BLOB_RSDP ? out->rsdp : out->tables) + out->offset[i];

		if (b->len)
			memcpy(dst, b->data, b->len);
		for (int j = 0; j < b->nchecksums; j++)
			dst[b->checksums[j].offset] = 0;
	}

	/* SeaBIOS finds the RSDP by scanning the F segment; the rest may go anywhere. */
	loader_allocate(out, SEABIOS_FILE_RSDP, 16, LOADER_ZONE_FSEG);
	loader_allocate(out, SEABIOS_FILE_TABLES, tables_align, LOADER_ZONE_HIGH);

	/* Pointer fields hold the target's offset in its file; the loader adds the file's address.
	 */
	for (int i = 0; i < ACPI_NBLOBS; i++) {
		const struct acpi_blob *b = &t->blob[i];
		uint8_t *data = (i == ACPI_BLOB_RSDP ? out->rsdp : out->tables) + out->offset[i];

		for (int j = 0; j < b->npointers; j++) {
			const struct acpi_pointer *p = &b->pointers[j];
			uint8_t *e;

			if ((p->size != 4 && p->size != 8) || p->offset > b->len ||
			    p->size > b->len - p->offset || p->target == ACPI_BLOB_RSDP) {
				seabios_acpi_free(out);
				return -EINVAL;
			}
			bus_store_le(data + p->offset,
				     bus_load_le(data + p->offset, p->size) +
					     out->offset[p->target],
				     p->size);
			e = loader_entry(out, LOADER_CMD_ADD_POINTER);
			loader_name(e + LOADER_PTR_DEST, blob_file((enum acpi_blob_id)i));
			loader_name(e + LOADER_PTR_SRC, blob_file(p->target));
			bus_store_le(e + LOADER_PTR_OFFSET, out->offset[i] + p->offset, 4);
			e[LOADER_PTR_SIZE] = p->size;
		}
	}
	/* Checksums after every pointer is patched, in each blob's own order (the RSDP's
	 * 20-byte checksum lies inside the range of its extended one). */
	for (int i = 0; i < ACPI_NBLOBS; i++) {
		const struct acpi_blob *b = &t->blob[i];

		for (int j = 0; j < b->nchecksums; j++) {
			const struct acpi_checksum *c = &b->checksums[j];
			uint8_t *e = loader_entry(out, LOADER_CMD_ADD_CHECKSUM);

			loader_name(e + LOADER_CKSUM_FILE, blob_file((enum acpi_blob_id)i));
			bus_store_le(e + LOADER_CKSUM_OFFSET, out->offset[i] + c->offset, 4);
			bus_store_le(e + LOADER_CKSUM_START, out->offset[i] + c->start, 4);
			bus_store_le(e + LOADER_CKSUM_LENGTH, c->length, 4);
		}
	}
	return 0;
}

void seabios_acpi_free(struct seabios_acpi *a)
{
	free(a->rsdp);
	free(a->tables);
	free(a->loader);
	memset(a, 0, sizeof(*a));
}

/* ---- bootorder ---- */

/* Bridges above a device: root port, switch upstream and downstream ports, and more. */
#define BOOT_PATH_MAX_DEPTH 32

static int path_node(const struct pci_dev *dev, const char *name, char *buf, size_t len, int depth)
{
	const struct pci_dev *bridge = dev->bus ? dev->bus->self : NULL;
	int n, m;

	if (depth > BOOT_PATH_MAX_DEPTH)
		return -ENAMETOOLONG;
	if (bridge)
		n = path_node(bridge, "pci-bridge", buf, len, depth + 1);
	else
		n = snprintf(buf, len, "%s", SEABIOS_PCI_ROOT);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	if (PCI_FUNC(dev->devfn))
		m = snprintf(buf + n, len - (size_t)n, "/%s@%x,%x", name, PCI_SLOT(dev->devfn),
			     PCI_FUNC(dev->devfn));
	else
		m = snprintf(buf + n, len - (size_t)n, "/%s@%x", name, PCI_SLOT(dev->devfn));
	if (m < 0 || (size_t)m >= len - (size_t)n)
		return -ENAMETOOLONG;
	return n + m;
}

int seabios_pci_boot_path(const struct pci_dev *dev, char *buf, size_t len)
{
	char name[16];

	snprintf(name, sizeof(name), "pci%04x,%04x",
		 (unsigned)bus_load_le(dev->cfg + PCI_VENDOR_ID, 2),
		 (unsigned)bus_load_le(dev->cfg + PCI_DEVICE_ID, 2));
	return path_node(dev, name, buf, len, 0);
}

/* Lines separated by '\n', "HALT" last, NUL-terminated like QEMU's (fw_cfg.c). */
static int add_bootorder(struct fw_cfg *f, const struct pci_dev *const *boot, int nboot)
{
	size_t cap = (size_t)nboot * SEABIOS_BOOT_PATH_MAX + sizeof(SEABIOS_BOOT_HALT);
	char *text = malloc(cap), *p = text;
	int ret;

	if (!text)
		return -ENOMEM;
	for (int i = 0; i < nboot; i++) {
		ret = seabios_pci_boot_path(boot[i], p, SEABIOS_BOOT_PATH_MAX);
		if (ret < 0) {
			free(text);
			return ret;
		}
		p += ret;
		*p++ = '\n';
	}
	memcpy(p, SEABIOS_BOOT_HALT, sizeof(SEABIOS_BOOT_HALT));
	p += sizeof(SEABIOS_BOOT_HALT);
	ret = fw_cfg_add_file(f, SEABIOS_FILE_BOOTORDER, text, (uint32_t)(p - text), false);
	free(text);
	return ret;
}

/* ---- fw_cfg contents ---- */

/* etc/e820: packed {le64 address, le64 length, le32 type} (SeaBIOS struct e820_reservation) */
#define E820_FILE_ENTRY 20

int seabios_fw_cfg_setup(struct fw_cfg *f, const struct seabios_config *c)
{
	uint8_t id[4], ncpus[2], zero16[2] = {0}, irq0 = 1, port[2], wait[4];
	uint8_t *e820 = calloc((size_t)c->ne820 + 1, E820_FILE_ENTRY);
	struct seabios_acpi acpi = {0};
	int ret = 0;

	if (!e820)
		return -ENOMEM;
	bus_store_le(id, FW_CFG_VERSION | FW_CFG_VERSION_DMA, 4);
	bus_store_le(ncpus, (uint64_t)c->ncpus, 2);
	bus_store_le(port, c->sercon_port, 2);
	bus_store_le(wait, (uint32_t)c->reboot_timeout_ms, 4);
	for (int i = 0; i < c->ne820; i++) {
		uint8_t *e = e820 + i * E820_FILE_ENTRY;

		bus_store_le(e, c->e820[i].addr, 8);
		bus_store_le(e + 8, c->e820[i].size, 8);
		bus_store_le(e + 16, c->e820[i].type, 4);
	}
	ret |= fw_cfg_add_item(f, FW_CFG_SIGNATURE, "QEMU", 4);
	ret |= fw_cfg_add_item(f, FW_CFG_ID, id, sizeof(id));
	/* SeaBIOS waits until this many CPUs answered its INIT-SIPI-SIPI (smp_setup). */
	ret |= fw_cfg_add_item(f, FW_CFG_NB_CPUS, ncpus, sizeof(ncpus));
	ret |= fw_cfg_add_item(f, FW_CFG_MAX_CPUS, ncpus, sizeof(ncpus));
	/* "etc/show-boot-menu" is this legacy key; absent, SeaBIOS shows the menu (boot.c). */
	ret |= fw_cfg_add_item(f, FW_CFG_BOOT_MENU, zero16, sizeof(zero16));
	/* The MADT routes IRQ0 to GSI 2; SeaBIOS's MP table says so too with this set. */
	ret |= fw_cfg_add_item(f, FW_CFG_IRQ0_OVERRIDE, &irq0, 1);
	ret |= fw_cfg_add_file(f, "etc/e820", e820, (uint32_t)c->ne820 * E820_FILE_ENTRY, false);
	/* Newer SeaBIOS only (1.16 ignores it): keep 64-bit BARs below 4 GiB when they fit,
	 * where its 32-bit drivers (NVMe BAR0) can reach them, as 1.16 always does. */
	ret |= fw_cfg_add_file(f, "opt/org.seabios/pci64", "0", 1, false);
	if (c->sercon_port)
		ret |= fw_cfg_add_file(f, "etc/sercon-port", port, sizeof(port), false);
	if (c->have_reboot_timeout)
		ret |= fw_cfg_add_file(f, "etc/boot-fail-wait", wait, sizeof(wait), false);
	free(e820);
	if (ret)
		return -EINVAL;
	if (c->nboot) {
		ret = add_bootorder(f, c->boot, c->nboot);
		if (ret)
			return ret;
	}
	if (c->acpi) {
		ret = seabios_acpi_build(c->acpi, &acpi);
		if (ret)
			return ret;
		ret |= fw_cfg_add_file(f, SEABIOS_FILE_RSDP, acpi.rsdp, acpi.rsdp_len, false);
		ret |= fw_cfg_add_file(f, SEABIOS_FILE_TABLES, acpi.tables, acpi.tables_len, false);
		ret |= fw_cfg_add_file(f, SEABIOS_FILE_LOADER, acpi.loader, acpi.loader_len, false);
		seabios_acpi_free(&acpi);
		if (ret)
			return -EINVAL;
	}
	return 0;
}

/* ---- the image ---- */

int seabios_image_load(const char *path, void **image, size_t *size, char *err, size_t errlen)
{
	uint8_t *buf = NULL;
	size_t len;
	void *p;
	int ret = read_file(path, SEABIOS_MAX_SIZE, &buf, &len);

	if (ret && ret != -EFBIG) {
		snprintf(err, errlen, "cannot read firmware %s: %s", path, strerror(-ret));
		return ret;
	}
	if (len < SEABIOS_MIN_SIZE || len > SEABIOS_MAX_SIZE || len % PAGE_SIZE) {
		snprintf(err, errlen,
			 "firmware %s is %zu bytes; expected a multiple of 4 KiB from 128 KiB to "
			 "16 MiB",
			 path, len);
		free(buf);
		return -EINVAL;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		ret = -errno;
		snprintf(err, errlen, "cannot map firmware: %s", strerror(-ret));
		free(buf);
		return ret;
	}
	memcpy(p, buf, len);
	free(buf);
	mprotect(p, len, PROT_READ);
	*image = p;
	*size = len;
	return 0;
}

void seabios_image_free(void *image, size_t size)
{
	if (image)
		munmap(image, size);
}

/* ---- debug console (QEMU hw/char/debugcon.c semantics) ---- */

static uint64_t debugcon_read(void *opaque, uint64_t off, unsigned size)
{
	return SEABIOS_DEBUGCON_READBACK;
}

static void debugcon_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct seabios_debugcon *d = opaque;

	if (d->log)
		fputc((int)(val & 0xff), d->log);
}

const struct bus_ops seabios_debugcon_ops = {.read = debugcon_read, .write = debugcon_write};
