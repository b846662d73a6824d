/* SPDX-License-Identifier: MIT */
/*
 * A small AML (ACPI Machine Language) byte-code builder, enough for a DSDT that describes a
 * PCIe host bridge, a few ISA-style devices and the sleep states (ACPI 6.5 chapter 20).
 *
 * Bytes go into a growable `struct aml`. Objects with a PkgLength (Scope, Device, Method,
 * Package, If, Else) are opened with an aml_*_begin() call that returns a mark and closed with
 * aml_end(a, mark), which encodes the length in as few bytes as it needs. Errors are sticky:
 * after an allocation failure or an oversized package every call is a no-op and `a->err` holds
 * the negative errno, so a caller checks once at the end.
 *
 * Resource templates (ACPI 6.5 6.4) are built the same way into their own `struct aml` with the
 * aml_res_*() calls, finished by aml_res_end(), and then emitted as a Buffer with aml_buffer().
 */
#ifndef FIRMWARE_AML_H
#define FIRMWARE_AML_H

#include <stddef.h>
#include <stdint.h>

/* Opcodes (ACPI 6.5 20.3) */
#define AML_ZERO_OP		  0x00
#define AML_ONE_OP		  0x01
#define AML_NAME_OP		  0x08
#define AML_BYTE_PREFIX		  0x0a
#define AML_WORD_PREFIX		  0x0b
#define AML_DWORD_PREFIX	  0x0c
#define AML_STRING_PREFIX	  0x0d
#define AML_QWORD_PREFIX	  0x0e
#define AML_SCOPE_OP		  0x10
#define AML_BUFFER_OP		  0x11
#define AML_PACKAGE_OP		  0x12
#define AML_METHOD_OP		  0x14
#define AML_DUAL_NAME_PREFIX	  0x2e
#define AML_MULTI_NAME_PREFIX	  0x2f
#define AML_EXT_OP_PREFIX	  0x5b
#define AML_DEVICE_OP		  0x82 /* after AML_EXT_OP_PREFIX */
#define AML_ROOT_CHAR		  0x5c /* '\' */
#define AML_PARENT_PREFIX	  0x5e /* '^' */
#define AML_LOCAL0_OP		  0x60
#define AML_ARG0_OP		  0x68
#define AML_OR_OP		  0x7d
#define AML_CREATE_DWORD_FIELD_OP 0x8a
#define AML_LEQUAL_OP		  0x93
#define AML_IF_OP		  0xa0
#define AML_ELSE_OP		  0xa1
#define AML_RETURN_OP		  0xa4
#define AML_ONES_OP		  0xff

/* Largest value a PkgLength can encode: 28 bits (ACPI 6.5 20.2.4). */
#define AML_PKGLEN_MAX 0x0fffffffu

struct aml {
	uint8_t *data;
	size_t len, cap;
	int err; /* 0, or the first error: -ENOMEM, -E2BIG, -EINVAL */
};

void aml_init(struct aml *a);
void aml_free(struct aml *a);

void aml_byte(struct aml *a, uint8_t b);
void aml_bytes(struct aml *a, const void *p, size_t n);
/* `nbytes` (<= 16) bytes of `v`, little-endian; bytes past the eighth are zero. */
void aml_le(struct aml *a, uint64_t v, int nbytes);

/*
 * Encode a PkgLength whose value is `value` (which counts the PkgLength bytes themselves).
 * Returns the number of bytes written to `out` (1 to 4), or 0 when `value` needs more than
 * 28 bits or does not fit the encoding it needs (e.g. 64 cannot use one byte).
 */
size_t aml_pkglen_encode(uint8_t out[4], uint32_t value);
/* The PkgLength value for `content` bytes that follow it: content + its own size. 0: too big. */
uint32_t aml_pkglen_for(size_t content);

/*
 * A NameString: "\\_SB.PCI0", "^PCI0", "_HID", "PCI0.COM1". Segments shorter than four
 * characters are padded with '_'. Characters must be A-Z, 0-9 or '_' (first not a digit);
 * anything else sets -EINVAL.
 */
void aml_namestring(struct aml *a, const char *path);

/* The smallest Integer encoding: Zero, One, Ones (all ones), Byte, Word, DWord or QWord. */
void aml_integer(struct aml *a, uint64_t v);
/* Integer with a fixed-size prefix, whatever the value (0 -> DWord prefix, 4 bytes). */
void aml_dword(struct aml *a, uint32_t v);
void aml_string(struct aml *a, const char *s);
/* Buffer(n) { bytes } */
void aml_buffer(struct aml *a, const void *bytes, size_t n);
/* Name(name, ...): the caller appends the data object next. */
void aml_name(struct aml *a, const char *name);
/* Name(name, integer) */
void aml_name_integer(struct aml *a, const char *name, uint64_t v);

/* Objects with a PkgLength. Each returns a mark for aml_end(). */
size_t aml_scope_begin(struct aml *a, const char *path);
size_t aml_device_begin(struct aml *a, const char *name);
size_t aml_method_begin(struct aml *a, const char *name, unsigned nargs, int serialized);
/* Package with `nelems` (<= 255) elements, which the caller appends before aml_end(). */
size_t aml_package_begin(struct aml *a, unsigned nelems);
size_t aml_if_begin(struct aml *a);
size_t aml_else_begin(struct aml *a);
void aml_end(struct aml *a, size_t mark);

/*
 * EISAID("PNP0A08"): three letters compressed into 15 bits and four hex digits, stored so the
 * little-endian DWord reads as the spec's byte string (ACPI 6.5 19.6.43). 0 if malformed.
 */
uint32_t aml_eisaid(const char *id);

/* ---- resource template descriptors (ACPI 6.5 6.4.2, 6.4.3) ---- */

/* _MEM values of the memory type-specific flags */
enum aml_mem_cache {
	AML_MEM_NON_CACHEABLE = 0,
	AML_MEM_CACHEABLE = 1,
	AML_MEM_WRITE_COMBINING = 2,
	AML_MEM_PREFETCHABLE = 3,
};

/* Producer resources with fixed min/max, positive decode: a host bridge's windows. */
void aml_res_word_bus(struct aml *r, uint16_t min, uint16_t max);
void aml_res_word_io(struct aml *r, uint16_t min, uint16_t max);
void aml_res_dword_mem(struct aml *r, uint32_t min, uint32_t max, enum aml_mem_cache cache);
void aml_res_qword_mem(struct aml *r, uint64_t min, uint64_t max, enum aml_mem_cache cache);
/* A consumer's fixed memory range (a motherboard reservation above 4 GiB), non-cacheable. */
void aml_res_qword_mem_consumer(struct aml *r, uint64_t min, uint64_t max);
/* IO(Decode16, base, base, 1, len) */
void aml_res_io(struct aml *r, uint16_t base, uint8_t len);
/* IRQNoFlags() { irq } */
void aml_res_irq_noflags(struct aml *r, unsigned irq);
/* Memory32Fixed(ReadWrite, base, len) */
void aml_res_mem32_fixed(struct aml *r, uint32_t base, uint32_t len);
/* End Tag with checksum 0 ("treated as if the checksum operation succeeded"). */
void aml_res_end(struct aml *r);

#endif
