/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "firmware/acpi.h"
#include "firmware/aml.h"

#define BASE 0xe0000ULL

static uint8_t buf[64 * 1024];
static struct fw_platform plat;
static uint64_t rsdp_addr;
static size_t total;

static void setup(void)
{
	fw_platform_defaults(&plat);
	plat.ncpus = 4;
	plat.mmio64_base = 0x8000000000ULL;
	plat.mmio64_size = 0x4000000000ULL;
	memset(buf, 0xa5, sizeof(buf));
	cr_assert_eq(acpi_build(&plat, BASE, buf, sizeof(buf), &rsdp_addr, &total), 0);
}

static uint64_t le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* Bytes at a guest physical address inside the placed tables. */
static uint8_t *at(uint64_t gpa)
{
	cr_assert(gpa >= BASE && gpa < BASE + total, "address %#llx outside the tables",
		  (unsigned long long)gpa);
	return buf + (gpa - BASE);
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

static uint8_t *xsdt(void)
{
	return at(le(at(rsdp_addr) + 24, 8));
}

/* The table with `sig` among the XSDT's entries (and the FADT's DSDT). */
static uint8_t *find_table(const char *sig)
{
	uint8_t *x = xsdt();
	uint32_t n = ((uint32_t)le(x + 4, 4) - ACPI_HEADER_SIZE) / 8;

	if (strcmp(sig, "XSDT") == 0)
		return x;
	for (uint32_t i = 0; i < n; i++) {
		uint8_t *t = at(le(x + ACPI_HEADER_SIZE + 8 * i, 8));
		if (memcmp(t, sig, 4) == 0)
			return t;
	}
	if (strcmp(sig, "DSDT") == 0)
		return at(le(find_table("FACP") + 140, 8));
	cr_assert_fail("no %s table", sig);
	return NULL;
}

Test(acpi, rsdp_is_at_base_and_16_byte_aligned, .init = setup)
{
	cr_assert_eq(rsdp_addr, BASE);
	cr_assert_eq(rsdp_addr % 16, 0);
	cr_assert(total > 0 && total < 8192);
}

Test(acpi, rsdp_checksums_are_valid, .init = setup)
{
	uint8_t *r = at(rsdp_addr);

	cr_assert_eq(memcmp(r, "RSD PTR ", 8), 0);
	cr_assert_eq(r[15], 2, "revision");
	cr_assert_eq(le(r + 20, 4), 36, "length");
	cr_assert_eq(memcmp(r + 9, ACPI_OEM_ID, 6), 0);
	cr_assert_eq(sum(r, 20), 0, "checksum of the first 20 bytes");
	cr_assert_eq(sum(r, 36), 0, "extended checksum");
	cr_assert_eq(le(r + 16, 4), 0, "no RSDT");
	cr_assert_neq(le(r + 24, 8), 0, "XSDT address");
}

Test(acpi, every_table_has_a_valid_header_and_checksum, .init = setup)
{
	static const char *const sigs[] = {"XSDT", "FACP", "APIC", "MCFG", "DSDT"};

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		uint8_t *t = find_table(sigs[i]);
		uint32_t len = (uint32_t)le(t + 4, 4);
		cr_assert_eq(memcmp(t, sigs[i], 4), 0);
		cr_assert(len >= ACPI_HEADER_SIZE && (uint8_t *)t + len <= buf + total, "%s len %u",
			  sigs[i], len);
		cr_assert_eq(sum(t, len), 0, "%s checksum", sigs[i]);
		cr_assert_eq(memcmp(t + 10, ACPI_OEM_ID, 6), 0);
		cr_assert_eq(memcmp(t + 16, ACPI_OEM_TABLE_ID, 8), 0);
		cr_assert_eq(memcmp(t + 28, ACPI_CREATOR_ID, 4), 0);
	}
}

Test(acpi, xsdt_entries_point_at_fadt_madt_mcfg, .init = setup)
{
	static const char *const want[] = {"FACP", "APIC", "MCFG"};
	uint8_t *x = xsdt();

	cr_assert_eq(memcmp(x, "XSDT", 4), 0);
	cr_assert_eq(le(x + 4, 4), ACPI_HEADER_SIZE + 8 * 3);
	for (int i = 0; i < 3; i++) {
		uint64_t a = le(x + ACPI_HEADER_SIZE + 8 * i, 8);
		cr_assert_eq(a % 8, 0);
		cr_assert_eq(memcmp(at(a), want[i], 4), 0, "entry %d", i);
	}
}

/* Intel VT-d spec 8.1, 8.3: what Linux's dmar_table_init() and dmar_parse_one_drhd() read */
Test(acpi, dmar_has_one_drhd_for_all_of_segment_0, .init = setup)
{
	uint8_t *x = xsdt(), *d;

	cr_assert_eq(le(x + 4, 4), ACPI_HEADER_SIZE + 8 * 3, "no DMAR without an IOMMU");
	plat.iommu_base = 0xfed90000;
	memset(buf, 0xa5, sizeof(buf));
	cr_assert_eq(acpi_build(&plat, BASE, buf, sizeof(buf), &rsdp_addr, &total), 0);
	d = find_table("DMAR");
	cr_assert_eq(le(d + 4, 4), 48 + 16);
	cr_assert_eq(sum(d, 48 + 16), 0);
	cr_assert_eq(d[36], 45, "host address width - 1");
	cr_assert_eq(d[37], 0, "no interrupt remapping, no x2APIC opt-out");
	cr_assert_eq(le(d + 48, 2), 0, "DRHD");
	cr_assert_eq(le(d + 50, 2), 16);
	cr_assert_eq(d[52], 1, "INCLUDE_PCI_ALL");
	cr_assert_eq(le(d + 54, 2), 0, "segment");
	cr_assert_eq(le(d + 56, 8), 0xfed90000);
	cr_assert_eq(memcmp(find_table("MCFG"), "MCFG", 4), 0, "the others still listed");
}

Test(acpi, fadt_fields, .init = setup)
{
	uint8_t *f = find_table("FACP");

	cr_assert_eq(le(f + 4, 4), 276);
	cr_assert_eq(f[8], 6, "revision");
	uint64_t dsdt = le(f + 40, 4);
	cr_assert_eq(le(f + 140, 8), dsdt, "X_DSDT == DSDT");
	cr_assert_eq(memcmp(at(dsdt), "DSDT", 4), 0);
	uint64_t facs = le(f + 36, 4);
	cr_assert_eq(facs % 64, 0, "FACS alignment");
	cr_assert_eq(memcmp(at(facs), "FACS", 4), 0);
	cr_assert_eq(le(at(facs) + 4, 4), 64);
	cr_assert_eq(le(f + 46, 2), 9, "SCI_INT");
	cr_assert_eq(le(f + 48, 4), 0, "SMI_CMD");
	cr_assert_eq(le(f + 56, 4), PM_BASE, "PM1a_EVT_BLK");
	cr_assert_eq(le(f + 64, 4), PM_CNT_PORT, "PM1a_CNT_BLK");
	cr_assert_eq(le(f + 76, 4), 0, "no PM timer");
	cr_assert_eq(f[88], 4, "PM1_EVT_LEN");
	cr_assert_eq(f[89], 2, "PM1_CNT_LEN");
	cr_assert_eq(f[91], 0, "PM_TMR_LEN");
	/* IAPC_BOOT_ARCH: 8042 present, VGA not present */
	uint16_t boot = (uint16_t)le(f + 109, 2);
	cr_assert(boot & 0x2);
	cr_assert(boot & 0x4);
	uint32_t flags = (uint32_t)le(f + 112, 4);
	cr_assert(flags & (1u << 10), "RESET_REG_SUP");
	cr_assert_eq(flags & (1u << 20), 0, "not hardware-reduced");
	/* RESET_REG: system I/O, 8 bits, 0xCF9; value 6 */
	cr_assert_eq(f[116], 1);
	cr_assert_eq(f[117], 8);
	cr_assert_eq(le(f + 120, 8), 0xcf9);
	cr_assert_eq(f[128], 0x06);
	/* X_PM1a_EVT_BLK and X_PM1a_CNT_BLK */
	cr_assert_eq(f[148], 1);
	cr_assert_eq(f[149], 32);
	cr_assert_eq(le(f + 152, 8), PM_BASE);
	cr_assert_eq(f[172], 1);
	cr_assert_eq(f[173], 16);
	cr_assert_eq(le(f + 176, 8), PM_CNT_PORT);
	/* X_PM1b blocks and the PM timer are the all-zero GAS */
	for (int off = 160; off < 172; off++)
		cr_assert_eq(f[off], 0);
	for (int off = 208; off < 220; off++)
		cr_assert_eq(f[off], 0);
}

Test(acpi, madt_has_one_lapic_per_cpu_an_ioapic_overrides_and_nmi, .init = setup)
{
	uint8_t *m = find_table("APIC");
	uint32_t len = (uint32_t)le(m + 4, 4);
	int lapic = 0, ioapic = 0, iso = 0, nmi = 0, entries = 0;

	cr_assert_eq(le(m + 36, 4), MEM_LAPIC_BASE);
	cr_assert_eq(le(m + 40, 4) & 1, 1, "PCAT_COMPAT");
	for (uint32_t off = 44; off < len; off += m[off + 1]) {
		uint8_t *e = m + off;
		cr_assert(e[1] >= 2 && off + e[1] <= len);
		entries++;
		switch (e[0]) {
		case 0:
			cr_assert_eq(e[1], 8);
			cr_assert_eq(e[2], lapic, "UID");
			cr_assert_eq(e[3], lapic, "APIC ID");
			cr_assert_eq(le(e + 4, 4) & 1, 1, "enabled");
			lapic++;
			break;
		case 1:
			cr_assert_eq(e[1], 12);
			cr_assert_eq(le(e + 4, 4), MEM_IOAPIC_BASE);
			cr_assert_eq(le(e + 8, 4), 0, "GSI base");
			ioapic++;
			break;
		case 2:
			cr_assert_eq(e[1], 10);
			if (e[3] == 0) {
				cr_assert_eq(le(e + 4, 4), 2, "IRQ0 -> GSI 2");
			} else {
				cr_assert_eq(e[3], 9);
				cr_assert_eq(le(e + 4, 4), 9);
				cr_assert_eq(le(e + 8, 2), 0xd, "level, active high");
			}
			iso++;
			break;
		case 4:
			cr_assert_eq(e[1], 6);
			cr_assert_eq(e[2], 0xff);
			cr_assert_eq(e[5], 1, "LINT1");
			nmi++;
			break;
		default:
			cr_assert_fail("unexpected MADT entry type %u", e[0]);
		}
	}
	cr_assert_eq(lapic, plat.ncpus);
	cr_assert_eq(ioapic, 1);
	cr_assert_eq(iso, 2);
	cr_assert_eq(nmi, 1);
	cr_assert_eq(entries, plat.ncpus + 1 + 2 + 1);
}

Test(acpi, mcfg_describes_the_ecam, .init = setup)
{
	uint8_t *m = find_table("MCFG");

	cr_assert_eq(le(m + 4, 4), 60);
	cr_assert_eq(le(m + 44, 8), MEM_ECAM_BASE);
	cr_assert_eq(le(m + 52, 2), 0, "segment");
	cr_assert_eq(m[54], 0);
	cr_assert_eq(m[55], 255);
}

Test(acpi, madt_grows_with_cpus)
{
	static uint8_t b[16384];
	uint64_t r;
	size_t n1, n8;

	fw_platform_defaults(&plat);
	cr_assert_eq(acpi_build(&plat, BASE, b, sizeof(b), &r, &n1), 0);
	plat.ncpus = 8;
	cr_assert_eq(acpi_build(&plat, BASE, b, sizeof(b), &r, &n8), 0);
	cr_assert_eq(n8, n1 + 7 * 8);
}

Test(acpi, small_buffer_is_enospc)
{
	static uint8_t b[4096];
	uint64_t r;
	size_t n;

	fw_platform_defaults(&plat);
	cr_assert_eq(acpi_build(&plat, BASE, b, sizeof(b), &r, &n), 0);
	for (size_t size = 0; size < n; size += 97)
		cr_assert_eq(acpi_build(&plat, BASE, b, size, &r, NULL), -ENOSPC, "size %zu", size);
	cr_assert_eq(acpi_build(&plat, BASE, b, n - 1, &r, NULL), -ENOSPC);
	cr_assert_eq(acpi_build(&plat, BASE, b, n, &r, NULL), 0);
}

Test(acpi, bad_platforms_and_bases_are_einval)
{
	static uint8_t b[8192];
	uint64_t r;

	fw_platform_defaults(&plat);
	cr_assert_eq(acpi_build(&plat, BASE + 8, b, sizeof(b), &r, NULL), -EINVAL);
	/* 32-bit pointer fields cannot reach tables above 4 GiB */
	cr_assert_eq(acpi_build(&plat, 0x100000000ULL, b, sizeof(b), &r, NULL), -EINVAL);
	plat.ncpus = 0;
	cr_assert_eq(acpi_build(&plat, BASE, b, sizeof(b), &r, NULL), -EINVAL);
	plat.ncpus = 256;
	cr_assert_eq(acpi_build(&plat, BASE, b, sizeof(b), &r, NULL), -EINVAL);
	plat.ncpus = 1;
	plat.bus_start = 2;
	plat.bus_end = 1;
	cr_assert_eq(acpi_build(&plat, BASE, b, sizeof(b), &r, NULL), -EINVAL);
}

Test(acpi, blobs_list_pointers_for_a_table_loader)
{
	struct acpi_tables t;

	fw_platform_defaults(&plat);
	cr_assert_eq(acpi_tables_build(&plat, &t), 0);
	const struct acpi_blob *f = &t.blob[ACPI_BLOB_FADT];
	cr_assert_eq(f->npointers, 3);
	cr_assert_eq(f->pointers[0].target, ACPI_BLOB_FACS);
	cr_assert_eq(f->pointers[2].offset, 140);
	cr_assert_eq(f->pointers[2].size, 8);
	cr_assert_eq(t.blob[ACPI_BLOB_RSDP].nchecksums, 2);
	cr_assert_eq(t.blob[ACPI_BLOB_XSDT].npointers, 3);
	/* Unplaced pointer fields hold the offset into the target: 0 */
	cr_assert_eq(le(f->data + 140, 8), 0);
	acpi_tables_free(&t);
}

/* ---- the DSDT ---- */

static const uint8_t *memfind(const uint8_t *hay, size_t n, const void *needle, size_t m)
{
	return memmem(hay, n, needle, m);
}

/* Decode a PkgLength at p; returns its value and sets *n to its size in bytes. */
static uint32_t pkglen(const uint8_t *p, size_t *n)
{
	size_t follow = p[0] >> 6;
	uint32_t v;

	*n = follow + 1;
	if (follow == 0)
		return p[0] & 0x3f;
	v = p[0] & 0xf;
	for (size_t i = 0; i < follow; i++)
		v |= (uint32_t)p[1 + i] << (4 + 8 * i);
	return v;
}

/* Decode an integer term at p; advances *p. */
static uint64_t integer(const uint8_t **p)
{
	uint8_t op = *(*p)++;
	int n;

	switch (op) {
	case AML_ZERO_OP:
		return 0;
	case AML_ONE_OP:
		return 1;
	case AML_ONES_OP:
		return UINT64_MAX;
	case AML_BYTE_PREFIX:
		n = 1;
		break;
	case AML_WORD_PREFIX:
		n = 2;
		break;
	case AML_DWORD_PREFIX:
		n = 4;
		break;
	case AML_QWORD_PREFIX:
		n = 8;
		break;
	default:
		cr_assert_fail("not an integer: opcode %#x", op);
		return 0;
	}
	uint64_t v = le(*p, n);
	*p += n;
	return v;
}

static uint8_t *dsdt(size_t *len)
{
	uint8_t *d = find_table("DSDT");

	*len = (size_t)le(d + 4, 4);
	cr_assert_eq(d[8], 2, "revision 2: 64-bit integers");
	return d;
}

Test(acpi, dsdt_prt_routes_every_slot_and_pin, .init = setup)
{
	size_t len, n;
	uint8_t *d = dsdt(&len);
	static const uint8_t name[] = {AML_NAME_OP, '_', 'P', 'R', 'T', AML_PACKAGE_OP};
	const uint8_t *p = memfind(d, len, name, sizeof(name));

	cr_assert_not_null(p);
	p += sizeof(name);
	const uint8_t *end = p + pkglen(p, &n);
	p += n;
	cr_assert_eq(*p++, 128, "NumElements");
	for (unsigned slot = 0; slot < 32; slot++) {
		for (unsigned pin = 0; pin < 4; pin++) {
			cr_assert_eq(*p++, AML_PACKAGE_OP);
			const uint8_t *e_end = p + pkglen(p, &n);
			p += n;
			cr_assert_eq(*p++, 4);
			cr_assert_eq(integer(&p), (uint64_t)slot << 16 | 0xffff);
			cr_assert_eq(integer(&p), pin);
			cr_assert_eq(integer(&p), 0, "Source: GSI form");
			/* pci_intx_gsi(): 16 + ((slot + PIN - 1) % 4) with PIN 1 = INTA */
			cr_assert_eq(integer(&p), 16 + (slot + pin) % 4, "slot %u pin %u", slot,
				     pin);
			cr_assert_eq(p, e_end);
		}
	}
	cr_assert_eq(p, end);
}

Test(acpi, dsdt_has_s5_with_slp_typ_0, .init = setup)
{
	size_t len;
	uint8_t *d = dsdt(&len);
	static const uint8_t s5[] = {AML_NAME_OP,    AML_ROOT_CHAR, '_',  'S',	     '5',      '_',
				     AML_PACKAGE_OP, 0x06,	    0x04, PM_S5_TYP, PM_S5_TYP};

	cr_assert_not_null(memfind(d, len, s5, sizeof(s5)));
}

Test(acpi, dsdt_describes_pci0_with_hid_cid_and_osc, .init = setup)
{
	size_t len;
	uint8_t *d = dsdt(&len);
	uint8_t hid[] = {AML_NAME_OP, '_', 'H', 'I', 'D', AML_DWORD_PREFIX, 0x41, 0xd0, 0x0a, 0x08};
	uint8_t cid[] = {AML_NAME_OP, '_', 'C', 'I', 'D', AML_DWORD_PREFIX, 0x41, 0xd0, 0x0a, 0x03};
	static const uint8_t scope[] = {AML_SCOPE_OP};

	cr_assert_not_null(memfind(d, len, "PCI0", 4));
	cr_assert_not_null(memfind(d, len, hid, sizeof(hid)));
	cr_assert_not_null(memfind(d, len, cid, sizeof(cid)));
	cr_assert_not_null(memfind(d, len, "_SEG", 4));
	cr_assert_not_null(memfind(d, len, "_BBN", 4));
	cr_assert_not_null(memfind(d, len, "_OSC", 4));
	/* The whole \_SB scope's PkgLength reaches exactly to the \_S5 name after it */
	const uint8_t *p = memfind(d + ACPI_HEADER_SIZE, 1, scope, 1);
	size_t n;
	cr_assert_not_null(p);
	const uint8_t *end = p + 1 + pkglen(p + 1, &n);
	cr_assert_eq(memcmp(p + 1 + n, "\\_SB_", 5), 0);
	cr_assert_eq(end[0], AML_NAME_OP);
	cr_assert_eq(memcmp(end + 1, "\\_S5_", 5), 0);
}

Test(acpi, dsdt_crs_has_the_host_bridge_windows, .init = setup)
{
	size_t len;
	uint8_t *d = dsdt(&len);
	/* WordBusNumber 0-255 */
	static const uint8_t bus[] = {0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0x00, 0x00,
				      0x00, 0x00, 0xff, 0x00, 0x00, 0x00, 0x00, 0x01};
	/* IO(Decode16, 0xCF8, 0xCF8, 1, 8) */
	static const uint8_t cf8[] = {0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c, 0x01, 0x08};
	/* WordIO 0xC000-0xFFFF */
	static const uint8_t io[] = {0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, 0x00, 0x00,
				     0x00, 0xc0, 0xff, 0xff, 0x00, 0x00, 0x00, 0x40};
	/* DWordMemory 0xC0000000-0xFEBFFFFF */
	static const uint8_t m32[] = {0x87, 0x17, 0x00, 0x00, 0x0c, 0x01, 0,	0,    0,
				      0,    0x00, 0x00, 0x00, 0xc0, 0xff, 0xff, 0xbf, 0xfe,
				      0,    0,	  0,	0,    0x00, 0x00, 0xc0, 0x3e};
	/* QWordMemory 0x80_0000_0000 size 0x40_0000_0000 (range minimum onwards) */
	static const uint8_t m64[] = {0x00, 0x00, 0x00, 0x00, 0x80, 0, 0, 0,
				      0xff, 0xff, 0xff, 0xff, 0xbf, 0, 0, 0};

	cr_assert_not_null(memfind(d, len, bus, sizeof(bus)));
	cr_assert_not_null(memfind(d, len, cf8, sizeof(cf8)));
	cr_assert_not_null(memfind(d, len, io, sizeof(io)));
	cr_assert_not_null(memfind(d, len, m32, sizeof(m32)));
	const uint8_t *q = memfind(d, len, m64, sizeof(m64));
	cr_assert_not_null(q);
	cr_assert_eq(memcmp(q - 14, (const uint8_t[]){0x8a, 0x2b, 0x00, 0x00, 0x0c, 0x03}, 6), 0);
}

Test(acpi, dsdt_reserves_the_ecam_as_a_motherboard_resource, .init = setup)
{
	size_t len;
	uint8_t *d = dsdt(&len);
	static const uint8_t hid[] = {AML_NAME_OP,	'_',  'H',  'I',  'D',
				      AML_DWORD_PREFIX, 0x41, 0xd0, 0x0c, 0x02};
	/* Memory32Fixed(ReadWrite, 0xB0000000, 0x10000000) */
	static const uint8_t mem[] = {0x86, 0x09, 0x00, 0x01, 0x00, 0x00,
				      0x00, 0xb0, 0x00, 0x00, 0x00, 0x10};
	const uint8_t *h = memfind(d, len, hid, sizeof(hid));

	cr_assert_not_null(h);
	cr_assert_not_null(memfind(h, len - (size_t)(h - d), mem, sizeof(mem)));
}

Test(acpi, dsdt_has_com1, .init = setup)
{
	size_t len;
	uint8_t *d = dsdt(&len);
	static const uint8_t hid[] = {AML_NAME_OP,	'_',  'H',  'I',  'D',
				      AML_DWORD_PREFIX, 0x41, 0xd0, 0x05, 0x01};
	/* IO(Decode16, 0x3F8, 0x3F8, 1, 8), IRQNoFlags(){4}, EndTag */
	static const uint8_t crs[] = {0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01,
				      0x08, 0x22, 0x10, 0x00, 0x79, 0x00};

	cr_assert_not_null(memfind(d, len, "COM1", 4));
	cr_assert_not_null(memfind(d, len, hid, sizeof(hid)));
	cr_assert_not_null(memfind(d, len, crs, sizeof(crs)));
}

Test(acpi, no_mmio64_window_means_no_qword_descriptor)
{
	static uint8_t b[16384];
	uint64_t r;
	size_t n;

	fw_platform_defaults(&plat);
	cr_assert_eq(acpi_build(&plat, BASE, b, sizeof(b), &r, &n), 0);
	uint8_t *x = b + (le(b + 24, 8) - BASE);
	uint8_t *f = b + (le(x + 36, 8) - BASE);
	uint8_t *d = b + (le(f + 140, 8) - BASE);
	static const uint8_t qword[] = {0x8a, 0x2b, 0x00};
	cr_assert_null(memmem(d, le(d + 4, 4), qword, sizeof(qword)));
}

/* ---- the AML builder ---- */
static struct aml a;

static void init(void)
{
	aml_init(&a);
}

static void fini(void)
{
	aml_free(&a);
}

#define assert_bytes(aml, ...)                                                                     \
	do {                                                                                       \
		static const uint8_t want_[] = {__VA_ARGS__};                                      \
		cr_assert_eq((aml)->err, 0);                                                       \
		cr_assert_eq((aml)->len, sizeof(want_), "len %zu, want %zu", (aml)->len,           \
			     sizeof(want_));                                                       \
		cr_assert_eq(memcmp((aml)->data, want_, sizeof(want_)), 0);                        \
	} while (0)

Test(aml, pkglen_one_byte_up_to_63)
{
	uint8_t b[4];

	cr_assert_eq(aml_pkglen_encode(b, 1), 1);
	cr_assert_eq(b[0], 1);
	cr_assert_eq(aml_pkglen_encode(b, 63), 1);
	cr_assert_eq(b[0], 0x3f);
}

Test(aml, pkglen_two_bytes_from_64_to_4095)
{
	uint8_t b[4];

	cr_assert_eq(aml_pkglen_encode(b, 64), 2);
	cr_assert_eq(b[0], 0x40);
	cr_assert_eq(b[1], 0x04);
	cr_assert_eq(aml_pkglen_encode(b, 4095), 2);
	cr_assert_eq(b[0], 0x4f);
	cr_assert_eq(b[1], 0xff);
}

Test(aml, pkglen_three_and_four_bytes)
{
	uint8_t b[4];

	cr_assert_eq(aml_pkglen_encode(b, 4096), 3);
	cr_assert_eq(memcmp(b, (uint8_t[]){0x80, 0x00, 0x01}, 3), 0);
	cr_assert_eq(aml_pkglen_encode(b, 0xfffff), 3);
	cr_assert_eq(memcmp(b, (uint8_t[]){0x8f, 0xff, 0xff}, 3), 0);
	cr_assert_eq(aml_pkglen_encode(b, 0x100000), 4);
	cr_assert_eq(memcmp(b, (uint8_t[]){0xc0, 0x00, 0x00, 0x01}, 4), 0);
	cr_assert_eq(aml_pkglen_encode(b, AML_PKGLEN_MAX), 4);
	cr_assert_eq(memcmp(b, (uint8_t[]){0xcf, 0xff, 0xff, 0xff}, 4), 0);
	cr_assert_eq(aml_pkglen_encode(b, AML_PKGLEN_MAX + 1), 0);
}

Test(aml, pkglen_for_counts_its_own_bytes)
{
	cr_assert_eq(aml_pkglen_for(0), 1);
	cr_assert_eq(aml_pkglen_for(62), 63);
	cr_assert_eq(aml_pkglen_for(63), 65); /* 64 would need 2 bytes: 63 + 2 */
	cr_assert_eq(aml_pkglen_for(4093), 4095);
	cr_assert_eq(aml_pkglen_for(4094), 4097);
}

/* A Package whose body is `n` bytes: Package(1) { Buffer-free filler of One ops } */
static size_t package_header_len(size_t body)
{
	struct aml p;
	aml_init(&p);
	size_t m = aml_package_begin(&p, 255);
	for (size_t i = 1; i < body; i++) /* NumElements byte + fillers */
		aml_byte(&p, AML_ONE_OP);
	aml_end(&p, m);
	cr_assert_eq(p.err, 0);
	size_t n;
	uint8_t b[4];
	size_t hdr = p.len - body - 1;
	n = aml_pkglen_encode(b, (uint32_t)(body + hdr));
	cr_assert_eq(n, hdr);
	cr_assert_eq(memcmp(p.data + 1, b, n), 0);
	cr_assert_eq(p.data[1 + n], 255);
	aml_free(&p);
	return hdr;
}

Test(aml, end_shrinks_the_reserved_length_at_the_boundaries)
{
	cr_assert_eq(package_header_len(62), 1);
	cr_assert_eq(package_header_len(63), 2);
	cr_assert_eq(package_header_len(4093), 2);
	cr_assert_eq(package_header_len(4094), 3);
}

Test(aml, integers_use_the_smallest_encoding, .init = init, .fini = fini)
{
	aml_integer(&a, 0);
	aml_integer(&a, 1);
	aml_integer(&a, 2);
	aml_integer(&a, 0xff);
	aml_integer(&a, 0x100);
	aml_integer(&a, 0xffff);
	aml_integer(&a, 0x10000);
	aml_integer(&a, 0xffffffff);
	aml_integer(&a, 0x100000000ULL);
	aml_integer(&a, UINT64_MAX);
	assert_bytes(&a, 0x00, 0x01, 0x0a, 0x02, 0x0a, 0xff, 0x0b, 0x00, 0x01, 0x0b, 0xff, 0xff,
		     0x0c, 0x00, 0x00, 0x01, 0x00, 0x0c, 0xff, 0xff, 0xff, 0xff, 0x0e, 0x00, 0x00,
		     0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0xff);
}

Test(aml, eisaid)
{
	cr_assert_eq(aml_eisaid("PNP0A08"), 0x080AD041);
	cr_assert_eq(aml_eisaid("PNP0A03"), 0x030AD041);
	cr_assert_eq(aml_eisaid("PNP0501"), 0x0105D041);
	cr_assert_eq(aml_eisaid("PNP0C02"), 0x020CD041);
	cr_assert_eq(aml_eisaid("pnp0a08"), 0);
	cr_assert_eq(aml_eisaid("PNP0A0"), 0);
	cr_assert_eq(aml_eisaid("PNP0A0G"), 0);
}

Test(aml, namestrings, .init = init, .fini = fini)
{
	aml_namestring(&a, "_HID");
	aml_namestring(&a, "\\_SB");
	aml_namestring(&a, "\\_SB.PCI0");
	aml_namestring(&a, "^S5");
	aml_namestring(&a, "\\_SB.PCI0.COM1");
	aml_namestring(&a, "\\");
	assert_bytes(&a, '_', 'H', 'I', 'D', '\\', '_', 'S', 'B', '_', '\\', 0x2e, '_', 'S', 'B',
		     '_', 'P', 'C', 'I', '0', '^', 'S', '5', '_', '_', '\\', 0x2f, 3, '_', 'S', 'B',
		     '_', 'P', 'C', 'I', '0', 'C', 'O', 'M', '1', '\\', 0x00);
}

Test(aml, bad_names_are_einval, .init = init, .fini = fini)
{
	aml_namestring(&a, "toolong");
	cr_assert_eq(a.err, -EINVAL);
	aml_free(&a);
	aml_namestring(&a, "a");
	cr_assert_eq(a.err, -EINVAL);
	aml_free(&a);
	aml_namestring(&a, "1ABC");
	cr_assert_eq(a.err, -EINVAL);
	aml_free(&a);
	aml_namestring(&a, "AB..C");
	cr_assert_eq(a.err, -EINVAL);
}

Test(aml, string_and_name, .init = init, .fini = fini)
{
	aml_name(&a, "_STR");
	aml_string(&a, "vmm");
	assert_bytes(&a, 0x08, '_', 'S', 'T', 'R', 0x0d, 'v', 'm', 'm', 0x00);
}

Test(aml, device_with_name, .init = init, .fini = fini)
{
	size_t m = aml_device_begin(&a, "COM1");
	aml_name_integer(&a, "_UID", 1);
	aml_end(&a, m);
	/* ExtOp Device PkgLength(1 + 4 + 6) NameSeg Name(_UID, One) */
	assert_bytes(&a, 0x5b, 0x82, 0x0b, 'C', 'O', 'M', '1', 0x08, '_', 'U', 'I', 'D', 0x01);
}

Test(aml, scope_method_if_else, .init = init, .fini = fini)
{
	size_t s = aml_scope_begin(&a, "\\_SB");
	size_t m = aml_method_begin(&a, "_STA", 0, 1);
	size_t i = aml_if_begin(&a);
	aml_byte(&a, AML_ONE_OP);
	aml_end(&a, i);
	size_t e = aml_else_begin(&a);
	aml_end(&a, e);
	aml_end(&a, m);
	aml_end(&a, s);
	assert_bytes(&a, 0x10, 0x12, '\\', '_', 'S', 'B', '_', 0x14, 0x0b, '_', 'S', 'T', 'A', 0x08,
		     0xa0, 0x02, 0x01, 0xa1, 0x01);
}

Test(aml, package_and_buffer, .init = init, .fini = fini)
{
	size_t p = aml_package_begin(&a, 2);
	aml_integer(&a, 0);
	aml_integer(&a, 5);
	aml_end(&a, p);
	aml_buffer(&a, (const uint8_t[]){0xaa, 0xbb}, 2);
	assert_bytes(&a, 0x12, 0x05, 0x02, 0x00, 0x0a, 0x05, 0x11, 0x05, 0x0a, 0x02, 0xaa, 0xbb);
}

Test(aml, package_over_255_elements_is_einval, .init = init, .fini = fini)
{
	aml_package_begin(&a, 256);
	cr_assert_eq(a.err, -EINVAL);
}

Test(aml, resource_template_byte_by_byte, .init = init, .fini = fini)
{
	aml_res_word_bus(&a, 0, 0xff);
	aml_res_io(&a, 0xcf8, 8);
	aml_res_word_io(&a, 0xc000, 0xffff);
	aml_res_dword_mem(&a, 0xc0000000, 0xfebfffff, AML_MEM_NON_CACHEABLE);
	aml_res_qword_mem(&a, 0x8000000000ULL, 0xbfffffffffULL, AML_MEM_CACHEABLE);
	aml_res_irq_noflags(&a, 4);
	aml_res_mem32_fixed(&a, 0xb0000000, 0x10000000);
	aml_res_end(&a);
	assert_bytes(&a,
		     /* WordBusNumber(ResourceProducer, MinFixed, MaxFixed, PosDecode, 0, 0, 0xFF,
			0, 0x100) */
		     0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x00, 0x00,
		     0x00, 0x00, 0x01,
		     /* IO(Decode16, 0xCF8, 0xCF8, 1, 8) */
		     0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c, 0x01, 0x08,
		     /* WordIO(..., EntireRange, 0, 0xC000, 0xFFFF, 0, 0x4000) */
		     0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, 0x00, 0x00, 0x00, 0xc0, 0xff, 0xff, 0x00,
		     0x00, 0x00, 0x40,
		     /* DWordMemory(..., NonCacheable, ReadWrite, 0, 0xC0000000, 0xFEBFFFFF, 0,
			0x3EC00000) */
		     0x87, 0x17, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		     0xc0, 0xff, 0xff, 0xbf, 0xfe, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x3e,
		     /* QWordMemory(..., Cacheable, ReadWrite, 0, 0x80_0000_0000, 0xBF_FFFF_FFFF, 0,
			0x40_0000_0000) */
		     0x8a, 0x2b, 0x00, 0x00, 0x0c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		     0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff,
		     0xbf, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		     0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00,
		     /* IRQNoFlags(){4} */
		     0x22, 0x10, 0x00,
		     /* Memory32Fixed(ReadWrite, 0xB0000000, 0x10000000) */
		     0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00, 0xb0, 0x00, 0x00, 0x00, 0x10,
		     /* EndTag, checksum 0 */
		     0x79, 0x00);
}

Test(aml, irq_above_15_is_einval, .init = init, .fini = fini)
{
	aml_res_irq_noflags(&a, 16);
	cr_assert_eq(a.err, -EINVAL);
}

Test(aml, errors_are_sticky, .init = init, .fini = fini)
{
	aml_namestring(&a, "bad!");
	size_t len = a.len;
	aml_integer(&a, 0x1234);
	cr_assert_eq(a.err, -EINVAL);
	cr_assert_eq(a.len, len);
}
