/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: fw_cfg (vmm/dev/fw_cfg.c) as the machine registers it, with SeaBIOS's
 * items and files (firmware/seabios.c) plus a writable file, driven through its ports on a
 * real I/O bus (any offset in and around 0x510-0x51b, any width) and through its DMA
 * interface: descriptors and buffers anywhere in and around guest RAM, every control bit.
 * After each input the read-only items must be what they were.
 *   make fuzz-fw_cfg FUZZ_SECONDS=60      (tests/fuzz/README.md)
 */
#include "firmware/seabios.h"
#include "tests/fuzz/fuzz_util.h"
#include "vmm/dev/fw_cfg.h"

#define MAX_OPS	 512
#define WFILE	 "etc/fuzz-writable"
#define WFILE_SZ 64

static const char *const files[] = {
	"etc/e820", "opt/org.seabios/pci64", "etc/sercon-port", "etc/boot-fail-wait",
	WFILE,	    "etc/fuzz-empty"};

struct rig {
	struct guest_mem mem;
	struct fz_host host;
	struct fw_cfg *f;
	uint64_t sum[ARRAY_SIZE(files)];
	uint32_t len[ARRAY_SIZE(files)];
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_quiet();
	return 0;
}

static uint64_t fnv(const uint8_t *p, uint32_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (uint32_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

static void snapshot(struct rig *r, bool check)
{
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		uint32_t len = 0;
		const uint8_t *d = fw_cfg_file_data(r->f, files[i], &len);
		uint64_t h = d ? fnv(d, len) : 0;

		if (!check) {
			r->sum[i] = h;
			r->len[i] = len;
			continue;
		}
		if (len != r->len[i])
			fz_fail("fw_cfg file %s resized from %u to %u", files[i], r->len[i], len);
		if (strcmp(files[i], WFILE) && h != r->sum[i])
			fz_fail("read-only fw_cfg file %s changed", files[i]);
	}
}

static void rig_init(struct rig *r)
{
	struct e820_entry e820[MEM_MAX_E820];
	struct seabios_config sc = {.ncpus = 2,
				    .e820 = e820,
				    .sercon_port = 0x3f8,
				    .have_reboot_timeout = true,
				    .reboot_timeout_ms = 1000};
	uint8_t w[WFILE_SZ] = {0};

	memset(r, 0, sizeof(*r));
	if (fz_mem_init(&r->mem))
		fz_fail("guest RAM: %s", strerror(errno));
	fz_host_init(&r->host, &r->mem);
	r->f = fw_cfg_create(&r->mem);
	sc.ne820 = mem_e820(&r->mem, e820, MEM_MAX_E820);
	if (!r->f || seabios_fw_cfg_setup(r->f, &sc) ||
	    fw_cfg_add_file(r->f, WFILE, w, sizeof(w), true) ||
	    fw_cfg_add_file(r->f, "etc/fuzz-empty", NULL, 0, true) ||
	    bus_register(&r->host.pio, FW_CFG_PORT_BASE, FW_CFG_PORT_SIZE, &fw_cfg_bus_ops, r->f,
			 "fw_cfg"))
		fz_fail("fw_cfg setup");
	snapshot(r, false);
}

static void rig_fini(struct rig *r)
{
	snapshot(r, true);
	fw_cfg_destroy(r->f);
	fz_host_fini(&r->host);
	fz_mem_free(&r->mem);
}

/* A guest-physical address: RAM, its ends, the hole, high RAM, the top, or raw. */
static uint64_t addr_of(struct fz *in)
{
	uint8_t sel = fz_u8(in);
	uint32_t off = fz_u32(in);

	switch (sel % 8) {
	case 0:
	case 1:
		return off % FZ_RAM_LOW;
	case 2:
		return FZ_RAM_LOW - 64 + off % 128;
	case 3:
		return MEM_HOLE_END + off % FZ_RAM_HIGH;
	case 4:
		return MEM_HOLE_END + FZ_RAM_HIGH - 64 + off % 128;
	case 5:
		return ~0ULL - off % 64;
	default:
		return (uint64_t)fz_u32(in) << 32 | off;
	}
}

/* A key: one that exists (by number or by file), or any 16 bits. */
static uint16_t key_of(struct rig *r, struct fz *in)
{
	static const uint16_t keys[] = {FW_CFG_SIGNATURE, FW_CFG_ID,	    FW_CFG_NB_CPUS,
					FW_CFG_FILE_DIR,  FW_CFG_BOOT_MENU, FW_CFG_IRQ0_OVERRIDE};
	uint8_t s = fz_u8(in);

	if (s < 0x80)
		return keys[s % ARRAY_SIZE(keys)];
	if (s < 0xc0) {
		int k = fw_cfg_file_key(r->f, files[s % ARRAY_SIZE(files)]);

		return k < 0 ? 0 : (uint16_t)k;
	}
	return fz_u16(in);
}

static void be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void port(struct rig *r, unsigned off, uint64_t v, unsigned size, bool write)
{
	fz_cpu_rw(&r->host, BUS_PIO, FW_CFG_PORT_BASE + off, v, size, write);
}

/* A DMA operation: the descriptor {be32 control, be32 length, be64 address} stored at
 * `desc`, then its address written to 0x514 (high half) and 0x518 (low half, starts it). */
static void dma(struct rig *r, struct fz *in)
{
	uint8_t how = fz_u8(in);
	uint64_t desc = addr_of(in), buf = addr_of(in);
	uint32_t control = fz_u8(in), len = how & 1 ? fz_u32(in) : fz_u8(in);
	uint8_t d[16], a[8];

	if (how & 2)
		control |= FW_CFG_DMA_CTL_SELECT | (uint32_t)key_of(r, in) << 16;
	be32(d, control);
	be32(d + 4, len);
	be32(d + 8, (uint32_t)(buf >> 32));
	be32(d + 12, (uint32_t)buf);
	if (!(how & 4)) /* else: whatever memory holds there */
		fz_cpu_copy(&r->host, desc, d, sizeof(d), true);
	be32(a, (uint32_t)(desc >> 32));
	be32(a + 4, (uint32_t)desc);
	if (!(how & 8)) /* else: a stale high half from an earlier one */
		port(r, 4, bus_load_le(a, 4), 4, true);
	port(r, 8, bus_load_le(a + 4, 4), 4, true);
}

static void op(struct rig *r, struct fz *in)
{
	uint8_t o = fz_u8(in);

	switch ((o & 0x7f) % 7) {
	case 0:
		port(r, 0, key_of(r, in), 2, true);
		break;
	case 1: /* the data port, as SeaBIOS reads it: byte after byte */
		for (unsigned n = fz_u8(in) % 64 + 1; n; n--)
			port(r, 1, 0, o & 0x80 ? 2 : 1, false);
		break;
	case 2: { /* any port near the device, any width */
		unsigned off = fz_u8(in) % (FW_CFG_PORT_SIZE + 8), size = fz_size(in);

		fz_cpu_rw(&r->host, BUS_PIO, FW_CFG_PORT_BASE - 4 + off, fz_u64(in), size,
			  !(o & 0x80));
		break;
	}
	case 3:
	case 4:
		dma(r, in);
		break;
	default: { /* guest memory: buffers, descriptors that change */
		uint64_t a = addr_of(in);
		uint8_t b[64];
		size_t n = fz_u8(in) % sizeof(b);

		fz_bytes(in, b, n);
		fz_cpu_copy(&r->host, a, b, n, true);
		break;
	}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = {data, size};
	static struct rig r;

	rig_init(&r);
	for (int i = 0; i < MAX_OPS && fz_more(&in); i++)
		op(&r, &in);
	rig_fini(&r);
	return 0;
}
