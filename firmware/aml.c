/* SPDX-License-Identifier: MIT */
/* AML byte-code builder (ACPI 6.5 chapter 20) and resource descriptors (6.4). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/aml.h"

/* aml_*_begin() reserves this many bytes for the PkgLength; aml_end() shrinks it. */
#define PKGLEN_RESERVE 4

void aml_init(struct aml *a)
{
	memset(a, 0, sizeof(*a));
}

void aml_free(struct aml *a)
{
	free(a->data);
	memset(a, 0, sizeof(*a));
}

static void aml_fail(struct aml *a, int err)
{
	if (!a->err)
		a->err = err;
}

static int aml_reserve(struct aml *a, size_t n)
{
	if (a->err)
		return a->err;
	if (n > AML_PKGLEN_MAX || a->len > AML_PKGLEN_MAX) {
		aml_fail(a, -E2BIG);
		return a->err;
	}
	if (a->len + n <= a->cap)
		return 0;
	size_t cap = a->cap ? a->cap : 256;
	while (cap < a->len + n)
		cap *= 2;
	uint8_t *p = realloc(a->data, cap);
	if (!p) {
		aml_fail(a, -ENOMEM);
		return a->err;
	}
	a->data = p;
	a->cap = cap;
	return 0;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (n == 0 || aml_reserve(a, n))
		return;
	memcpy(a->data + a->len, p, n);
	a->len += n;
}

void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

void aml_le(struct aml *a, uint64_t v, int nbytes)
{
	uint8_t b[16] = {0};

	if (nbytes < 0 || nbytes > 16) {
		aml_fail(a, -EINVAL);
		return;
	}
	for (int i = 0; i < nbytes && i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	aml_bytes(a, b, (size_t)nbytes);
}

/*
 * ACPI 6.5 20.2.4: bits 7:6 of the lead byte count the bytes that follow. With none, bits 5:0
 * are the length (< 64); otherwise bits 3:0 are its low nibble and each following byte holds
 * the next eight bits.
 */
size_t aml_pkglen_encode(uint8_t out[4], uint32_t value)
{
	size_t n;

	if (value < (1u << 6))
		n = 1;
	else if (value < (1u << 12))
		n = 2;
	else if (value < (1u << 20))
		n = 3;
	else if (value <= AML_PKGLEN_MAX)
		n = 4;
	else
		return 0;
	if (n == 1) {
		out[0] = (uint8_t)value;
		return 1;
	}
	out[0] = (uint8_t)((n - 1) << 6 | (value & 0xf));
	for (size_t i = 1; i < n; i++)
		out[i] = (uint8_t)(value >> (4 + 8 * (i - 1)));
	return n;
}

uint32_t aml_pkglen_for(size_t content)
{
	for (size_t n = 1; n <= 4; n++) {
		uint8_t tmp[4];
		if (content > AML_PKGLEN_MAX - n)
			return 0;
		if (aml_pkglen_encode(tmp, (uint32_t)(content + n)) == n)
			return (uint32_t)(content + n);
	}
	return 0;
}

static int name_char_ok(char c, int first)
{
	if (c == '_' || (c >= 'A' && c <= 'Z'))
		return 1;
	return !first && c >= '0' && c <= '9';
}

/* One NameSeg from `s` (up to the next '.' or end); returns the characters consumed. */
static size_t aml_nameseg(struct aml *a, const char *s)
{
	char seg[4] = {'_', '_', '_', '_'};
	size_t i = 0;

	for (; s[i] && s[i] != '.'; i++) {
		if (i >= 4 || !name_char_ok(s[i], i == 0)) {
			aml_fail(a, -EINVAL);
			return i;
		}
		seg[i] = s[i];
	}
	if (i == 0)
		aml_fail(a, -EINVAL);
	aml_bytes(a, seg, 4);
	return i;
}

void aml_namestring(struct aml *a, const char *path)
{
	size_t nsegs = 0;

	if (*path == '\\') {
		aml_byte(a, AML_ROOT_CHAR);
		path++;
	} else {
		while (*path == '^') {
			aml_byte(a, AML_PARENT_PREFIX);
			path++;
		}
	}
	if (*path == '\0') {
		aml_byte(a, 0); /* NullName: the root itself ("\") */
		return;
	}
	for (const char *p = path; *p; p++)
		if (*p == '.')
			nsegs++;
	nsegs++;
	if (nsegs == 2) {
		aml_byte(a, AML_DUAL_NAME_PREFIX);
	} else if (nsegs > 2) {
		if (nsegs > 255) {
			aml_fail(a, -EINVAL);
			return;
		}
		aml_byte(a, AML_MULTI_NAME_PREFIX);
		aml_byte(a, (uint8_t)nsegs);
	}
	for (size_t i = 0; i < nsegs && !a->err; i++) {
		path += aml_nameseg(a, path);
		if (*path == '.')
			path++;
	}
}

void aml_integer(struct aml *a, uint64_t v)
{
	if (v == 0) {
		aml_byte(a, AML_ZERO_OP);
	} else if (v == 1) {
		aml_byte(a, AML_ONE_OP);
	} else if (v == UINT64_MAX) {
		aml_byte(a, AML_ONES_OP);
	} else if (v <= UINT8_MAX) {
		aml_byte(a, AML_BYTE_PREFIX);
		aml_le(a, v, 1);
	} else if (v <= UINT16_MAX) {
		aml_byte(a, AML_WORD_PREFIX);
		aml_le(a, v, 2);
	} else if (v <= UINT32_MAX) {
		aml_byte(a, AML_DWORD_PREFIX);
		aml_le(a, v, 4);
	} else {
		aml_byte(a, AML_QWORD_PREFIX);
		aml_le(a, v, 8);
	}
}

void aml_dword(struct aml *a, uint32_t v)
{
	aml_byte(a, AML_DWORD_PREFIX);
	aml_le(a, v, 4);
}

void aml_string(struct aml *a, const char *s)
{
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p > 0x7f) {
			aml_fail(a, -EINVAL); /* AsciiCharList: 0x01-0x7F */
			return;
		}
	aml_byte(a, AML_STRING_PREFIX);
	aml_bytes(a, s, strlen(s) + 1);
}

static size_t aml_open(struct aml *a)
{
	size_t mark = a->len;
	static const uint8_t zeros[PKGLEN_RESERVE];

	aml_bytes(a, zeros, PKGLEN_RESERVE);
	return mark;
}

void aml_end(struct aml *a, size_t mark)
{
	uint8_t enc[4];

	if (a->err)
		return;
	if (mark + PKGLEN_RESERVE > a->len) {
		aml_fail(a, -EINVAL);
		return;
	}
	size_t content = a->len - mark - PKGLEN_RESERVE;
	uint32_t value = aml_pkglen_for(content);
	size_t n = value ? aml_pkglen_encode(enc, value) : 0;
	if (n == 0) {
		aml_fail(a, -E2BIG);
		return;
	}
	memmove(a->data + mark + n, a->data + mark + PKGLEN_RESERVE, content);
	memcpy(a->data + mark, enc, n);
	a->len -= PKGLEN_RESERVE - n;
}

void aml_buffer(struct aml *a, const void *bytes, size_t n)
{
	aml_byte(a, AML_BUFFER_OP);
	size_t mark = aml_open(a);
	aml_integer(a, n);
	aml_bytes(a, bytes, n);
	aml_end(a, mark);
}

void aml_name(struct aml *a, const char *name)
{
	aml_byte(a, AML_NAME_OP);
	aml_namestring(a, name);
}

void aml_name_integer(struct aml *a, const char *name, uint64_t v)
{
	aml_name(a, name);
	aml_integer(a, v);
}

size_t aml_scope_begin(struct aml *a, const char *path)
{
	aml_byte(a, AML_SCOPE_OP);
	size_t mark = aml_open(a);
	aml_namestring(a, path);
	return mark;
}

size_t aml_device_begin(struct aml *a, const char *name)
{
	aml_byte(a, AML_EXT_OP_PREFIX);
	aml_byte(a, AML_DEVICE_OP);
	size_t mark = aml_open(a);
	aml_namestring(a, name);
	return mark;
}

size_t aml_method_begin(struct aml *a, const char *name, unsigned nargs, int serialized)
{
	aml_byte(a, AML_METHOD_OP);
	size_t mark = aml_open(a);
	aml_namestring(a, name);
	if (nargs > 7)
		aml_fail(a, -EINVAL);
	/* MethodFlags: ArgCount 2:0, SerializeFlag 3, SyncLevel 7:4 (0) */
	aml_byte(a, (uint8_t)((nargs & 7) | (serialized ? 1u << 3 : 0)));
	return mark;
}

size_t aml_package_begin(struct aml *a, unsigned nelems)
{
	aml_byte(a, AML_PACKAGE_OP);
	size_t mark = aml_open(a);
	if (nelems > 255)
		aml_fail(a, -EINVAL); /* would need VarPackageOp */
	aml_byte(a, (uint8_t)nelems);
	return mark;
}

size_t aml_if_begin(struct aml *a)
{
	aml_byte(a, AML_IF_OP);
	return aml_open(a);
}

size_t aml_else_begin(struct aml *a)
{
	aml_byte(a, AML_ELSE_OP);
	return aml_open(a);
}

static int eisa_letter(char c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 1 : -1;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

uint32_t aml_eisaid(const char *id)
{
	int l[3], h[4];

	if (strlen(id) != 7)
		return 0;
	for (int i = 0; i < 3; i++)
		if ((l[i] = eisa_letter(id[i])) < 0)
			return 0;
	for (int i = 0; i < 4; i++)
		if ((h[i] = hex_digit(id[3 + i])) < 0)
			return 0;
	uint16_t vendor = (uint16_t)(l[0] << 10 | l[1] << 5 | l[2]);
	/* Byte string: vendor big-endian, then the product's two bytes in order. */
	return (uint32_t)(vendor >> 8) | (uint32_t)(vendor & 0xff) << 8 |
	       (uint32_t)(h[0] << 4 | h[1]) << 16 | (uint32_t)(h[2] << 4 | h[3]) << 24;
}

/* ---- resource descriptors ---- */

#define RES_TYPE_MEM 0
#define RES_TYPE_IO  1
#define RES_TYPE_BUS 2
/* General flags (6.4.3.5.1): _MAF 3, _MIF 2, _DEC 1 (0 = positive), bit 0 (0 = producer) */
#define RES_FLAGS_PRODUCER_FIXED 0x0c
#define RES_FLAGS_CONSUMER_FIXED 0x0d
#define RES_IO_ENTIRE_RANGE	 0x03
#define RES_MEM_READ_WRITE	 0x01

/* Large descriptors: tag byte, 16-bit length of what follows. */
static void res_large(struct aml *r, uint8_t tag, uint16_t len)
{
	aml_byte(r, tag);
	aml_le(r, len, 2);
}

/* Word/DWord/QWord Address Space Descriptor (6.4.3.5.1-3) without a resource source. */
static void res_address(struct aml *r, uint8_t tag, int width, uint8_t type, uint8_t gflags,
			uint8_t tflags, uint64_t min, uint64_t max)
{
	res_large(r, tag, (uint16_t)(3 + 5 * width));
	aml_byte(r, type);
	aml_byte(r, gflags);
	aml_byte(r, tflags);
	aml_le(r, 0, width); /* granularity */
	aml_le(r, min, width);
	aml_le(r, max, width);
	aml_le(r, 0, width); /* translation offset */
	aml_le(r, max - min + 1, width);
}

void aml_res_word_bus(struct aml *r, uint16_t min, uint16_t max)
{
	res_address(r, 0x88, 2, RES_TYPE_BUS, RES_FLAGS_PRODUCER_FIXED, 0, min, max);
}

void aml_res_word_io(struct aml *r, uint16_t min, uint16_t max)
{
	res_address(r, 0x88, 2, RES_TYPE_IO, RES_FLAGS_PRODUCER_FIXED, RES_IO_ENTIRE_RANGE, min,
		    max);
}

void aml_res_dword_mem(struct aml *r, uint32_t min, uint32_t max, enum aml_mem_cache cache)
{
	res_address(r, 0x87, 4, RES_TYPE_MEM, RES_FLAGS_PRODUCER_FIXED,
		    (uint8_t)(RES_MEM_READ_WRITE | cache << 1), min, max);
}

void aml_res_qword_mem(struct aml *r, uint64_t min, uint64_t max, enum aml_mem_cache cache)
{
	res_address(r, 0x8a, 8, RES_TYPE_MEM, RES_FLAGS_PRODUCER_FIXED,
		    (uint8_t)(RES_MEM_READ_WRITE | cache << 1), min, max);
}

void aml_res_qword_mem_consumer(struct aml *r, uint64_t min, uint64_t max)
{
	res_address(r, 0x8a, 8, RES_TYPE_MEM, RES_FLAGS_CONSUMER_FIXED, RES_MEM_READ_WRITE, min,
		    max);
}

void aml_res_io(struct aml *r, uint16_t base, uint8_t len)
{
	/* I/O Port Descriptor (6.4.2.5): 0x47, Decode16, min, max, alignment, length */
	aml_byte(r, 0x47);
	aml_byte(r, 0x01);
	aml_le(r, base, 2);
	aml_le(r, base, 2);
	aml_byte(r, 0x01);
	aml_byte(r, len);
}

void aml_res_irq_noflags(struct aml *r, unsigned irq)
{
	/* IRQ Descriptor (6.4.2.1), 2-byte form: edge, active-high, exclusive */
	if (irq > 15) {
		aml_fail(r, -EINVAL);
		return;
	}
	aml_byte(r, 0x22);
	aml_le(r, 1u << irq, 2);
}

void aml_res_mem32_fixed(struct aml *r, uint32_t base, uint32_t len)
{
	/* 32-Bit Fixed Memory Range Descriptor (6.4.3.4) */
	res_large(r, 0x86, 9);
	aml_byte(r, RES_MEM_READ_WRITE);
	aml_le(r, base, 4);
	aml_le(r, len, 4);
}

void aml_res_end(struct aml *r)
{
	aml_byte(r, 0x79);
	aml_byte(r, 0x00);
}
