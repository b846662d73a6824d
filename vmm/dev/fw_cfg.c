/* SPDX-License-Identifier: MIT */
/*
 * fw_cfg: see fw_cfg.h. Register behaviour follows QEMU docs/specs/fw_cfg.rst:
 * - a selector write resets the data offset; reads past an item's end return 0x00;
 * - selector bit 14 (the old "write channel") is ignored, as QEMU masks it off;
 * - DMA: SELECT first, then READ, else WRITE, else SKIP; READ past the end fills zeros,
 *   WRITE must lie inside a writable item or nothing is written and ERROR is set; an unknown
 *   item reads as zeros. The control word is cleared (or left as ERROR) when done.
 */
#include "vmm/dev/fw_cfg.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/util.h"

#define FW_CFG_KEY_MASK	     0xbfff /* drop bit 14, the write channel */
#define FW_CFG_DMA_DESC_SIZE 16

struct fw_cfg_item {
	uint16_t key; /* numbered items only; files get 0x20 + their index */
	char name[FW_CFG_FILE_NAME_MAX];
	uint8_t *data;
	uint32_t len;
	bool writable;
};

struct fw_cfg {
	pthread_mutex_t lock;
	const struct guest_mem *mem;
	struct fw_cfg_item items[FW_CFG_FILE_FIRST + 8]; /* numbered items */
	int nitems;
	struct fw_cfg_item files[FW_CFG_MAX_FILES]; /* sorted by name */
	int nfiles;
	struct fw_cfg_item dir;
	uint16_t select;
	uint32_t offset;
	uint64_t dma_addr;
};

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

struct fw_cfg *fw_cfg_create(const struct guest_mem *mem)
{
	struct fw_cfg *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	pthread_mutex_init(&f->lock, NULL);
	f->mem = mem;
	f->dir.key = FW_CFG_FILE_DIR;
	f->dir.data = calloc(1, 4);
	if (!f->dir.data) {
		free(f);
		return NULL;
	}
	f->dir.len = 4; /* be32 count = 0 */
	return f;
}

void fw_cfg_destroy(struct fw_cfg *f)
{
	if (!f)
		return;
	for (int i = 0; i < f->nitems; i++)
		free(f->items[i].data);
	for (int i = 0; i < f->nfiles; i++)
		free(f->files[i].data);
	free(f->dir.data);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

static uint8_t *copy_data(const void *data, uint32_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	if (p && len)
		memcpy(p, data, len);
	return p;
}

static const struct fw_cfg_item *find_item(const struct fw_cfg *f, uint16_t key)
{
	if (key == FW_CFG_FILE_DIR)
		return &f->dir;
	if (key >= FW_CFG_FILE_FIRST && key < FW_CFG_FILE_FIRST + f->nfiles)
		return &f->files[key - FW_CFG_FILE_FIRST];
	for (int i = 0; i < f->nitems; i++)
		if (f->items[i].key == key)
			return &f->items[i];
	return NULL;
}

int fw_cfg_add_item(struct fw_cfg *f, uint16_t key, const void *data, uint32_t len)
{
	uint16_t k = key & FW_CFG_KEY_MASK;
	struct fw_cfg_item *it;

	if (k != key || k == FW_CFG_FILE_DIR || (k >= FW_CFG_FILE_FIRST && k < 0x8000) ||
	    (len && !data))
		return -EINVAL;
	if (find_item(f, key))
		return -EEXIST;
	if (f->nitems == (int)ARRAY_SIZE(f->items))
		return -ENOSPC;
	it = &f->items[f->nitems];
	*it = (struct fw_cfg_item){.key = key, .len = len};
	it->data = copy_data(data, len);
	if (!it->data)
		return -ENOMEM;
	f->nitems++;
	return 0;
}

/* The directory (key 0x19): be32 count, then one entry per file in key order. */
static int rebuild_dir(struct fw_cfg *f)
{
	uint32_t len = 4 + (uint32_t)f->nfiles * FW_CFG_DIR_ENTRY_SIZE;
	uint8_t *d = calloc(1, len);

	if (!d)
		return -ENOMEM;
	put_be32(d, (uint32_t)f->nfiles);
	for (int i = 0; i < f->nfiles; i++) {
		uint8_t *e = d + 4 + i * FW_CFG_DIR_ENTRY_SIZE;
		uint16_t key = (uint16_t)(FW_CFG_FILE_FIRST + i);

		put_be32(e, f->files[i].len);
		e[4] = (uint8_t)(key >> 8);
		e[5] = (uint8_t)key;
		memcpy(e + 8, f->files[i].name, FW_CFG_FILE_NAME_MAX);
	}
	free(f->dir.data);
	f->dir.data = d;
	f->dir.len = len;
	return 0;
}

int fw_cfg_add_file(struct fw_cfg *f, const char *name, const void *data, uint32_t len,
		    bool writable)
{
	size_t nlen = name ? strlen(name) : 0;
	struct fw_cfg_item it = {.len = len, .writable = writable};
	int pos = 0;

	if (!nlen || nlen >= FW_CFG_FILE_NAME_MAX || (len && !data))
		return -EINVAL;
	while (pos < f->nfiles && strcmp(f->files[pos].name, name) < 0)
		pos++;
	if (pos < f->nfiles && !strcmp(f->files[pos].name, name))
		return -EEXIST;
	if (f->nfiles == FW_CFG_MAX_FILES)
		return -ENOSPC;
	memcpy(it.name, name, nlen);
	it.data = copy_data(data, len);
	if (!it.data)
		return -ENOMEM;
	memmove(&f->files[pos + 1], &f->files[pos], (size_t)(f->nfiles - pos) * sizeof(it));
	f->files[pos] = it;
	f->nfiles++;
	if (rebuild_dir(f)) {
		free(it.data);
		memmove(&f->files[pos], &f->files[pos + 1],
			(size_t)(f->nfiles - pos - 1) * sizeof(it));
		f->nfiles--;
		return -ENOMEM;
	}
	return 0;
}

static int file_index(const struct fw_cfg *f, const char *name)
{
	for (int i = 0; i < f->nfiles; i++)
		if (!strcmp(f->files[i].name, name))
			return i;
	return -ENOENT;
}

int fw_cfg_file_key(const struct fw_cfg *f, const char *name)
{
	int i = file_index(f, name);

	return i < 0 ? i : FW_CFG_FILE_FIRST + i;
}

const uint8_t *fw_cfg_file_data(const struct fw_cfg *f, const char *name, uint32_t *len)
{
	int i = file_index(f, name);

	if (i < 0)
		return NULL;
	*len = f->files[i].len;
	return f->files[i].data;
}

static void do_select(struct fw_cfg *f, uint16_t key)
{
	f->select = key & FW_CFG_KEY_MASK;
	f->offset = 0;
}

/* Advance the data offset, never past the item's end (reads there return zeros). */
static void advance(struct fw_cfg *f, const struct fw_cfg_item *it, uint32_t n)
{
	uint32_t left = it && it->len > f->offset ? it->len - f->offset : 0;

	f->offset += n < left ? n : left;
}

/* Copy up to `len` bytes of the current item from the current offset; zeros past its end. */
static void read_bytes(struct fw_cfg *f, uint8_t *dst, uint32_t len)
{
	const struct fw_cfg_item *it = find_item(f, f->select);
	uint32_t avail = it && it->len > f->offset ? it->len - f->offset : 0;
	uint32_t n = len < avail ? len : avail;

	if (n)
		memcpy(dst, it->data + f->offset, n);
	memset(dst + n, 0, len - n);
	advance(f, it, n);
}

/*
 * One DMA operation (fw_cfg.rst "Guest-side DMA Interface"). Returns the control word to
 * write back: 0, or FW_CFG_DMA_CTL_ERROR.
 */
static uint32_t dma_op(struct fw_cfg *f, uint32_t control, uint32_t len, uint64_t addr)
{
	struct fw_cfg_item *it;
	uint8_t *buf = NULL;

	if (control & FW_CFG_DMA_CTL_SELECT)
		do_select(f, (uint16_t)(control >> 16));
	it = (struct fw_cfg_item *)find_item(f, f->select);
	if (control & (FW_CFG_DMA_CTL_READ | FW_CFG_DMA_CTL_WRITE)) {
		if (!len)
			return 0;
		buf = f->mem ? mem_gpa_to_hva(f->mem, addr, len) : NULL;
		if (!buf)
			return FW_CFG_DMA_CTL_ERROR;
	}
	if (control & FW_CFG_DMA_CTL_READ) {
		read_bytes(f, buf, len);
	} else if (control & FW_CFG_DMA_CTL_WRITE) {
		/* Writes never resize an item: one that does not fit is dropped entirely. */
		if (!it || !it->writable || f->offset > it->len || len > it->len - f->offset)
			return FW_CFG_DMA_CTL_ERROR;
		memcpy(it->data + f->offset, buf, len);
		f->offset += len;
	} else if (control & FW_CFG_DMA_CTL_SKIP) {
		advance(f, it, len);
	}
	return 0;
}

static void dma_start(struct fw_cfg *f, uint64_t desc_addr)
{
	uint8_t *d = f->mem ? mem_gpa_to_hva(f->mem, desc_addr, FW_CFG_DMA_DESC_SIZE) : NULL;
	uint64_t addr;
	uint32_t control, len;

	if (!d) {
		pr_ratelimited("fw_cfg: DMA descriptor at 0x%llx is outside guest RAM",
			       (unsigned long long)desc_addr);
		return;
	}
	/* Read each field once: the guest may change the descriptor while we work. */
	control = get_be32(d);
	len = get_be32(d + 4);
	addr = (uint64_t)get_be32(d + 8) << 32 | get_be32(d + 12);
	put_be32(d, dma_op(f, control, len, addr));
}

static uint64_t fw_cfg_read(void *opaque, uint64_t off, unsigned size)
{
	struct fw_cfg *f = opaque;
	uint8_t b[8] = {0};

	if (size > sizeof(b))
		return 0;
	pthread_mutex_lock(&f->lock);
	if (off == FW_CFG_PORT_DATA - FW_CFG_PORT_BASE) {
		read_bytes(f, b, size);
	} else if (off >= FW_CFG_PORT_DMA - FW_CFG_PORT_BASE && off + size <= FW_CFG_PORT_SIZE) {
		for (unsigned i = 0; i < size; i++) {
			unsigned byte = (unsigned)(off - (FW_CFG_PORT_DMA - FW_CFG_PORT_BASE)) + i;

			b[i] = (uint8_t)(FW_CFG_DMA_SIGNATURE >> (56 - 8 * byte));
		}
	}
	pthread_mutex_unlock(&f->lock);
	return bus_load_le(b, size);
}

static void fw_cfg_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct fw_cfg *f = opaque;
	uint8_t b[4];

	pthread_mutex_lock(&f->lock);
	if (off == 0 && size == 2) {
		do_select(f, (uint16_t)val);
	} else if (size == 4 && (off == 4 || off == 8)) {
		/* The register is big-endian: the port's first byte is the most significant. */
		bus_store_le(b, val, 4);
		if (off == 4) {
			f->dma_addr = (uint64_t)get_be32(b) << 32;
		} else {
			f->dma_addr |= get_be32(b);
			dma_start(f, f->dma_addr);
			f->dma_addr = 0;
		}
	}
	/* Data port writes are ignored (QEMU >= 2.4: writes go through DMA only). */
	pthread_mutex_unlock(&f->lock);
}

const struct bus_ops fw_cfg_bus_ops = {.read = fw_cfg_read, .write = fw_cfg_write};
