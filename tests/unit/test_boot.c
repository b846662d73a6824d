/* SPDX-License-Identifier: MIT */
/*
 * Kernel loaders against real guest RAM (a memfd, no KVM): crafted PVH ELF and bzImage
 * images built here at run time, hostile variants of them, and the host's Debian kernel.
 */
#include <criterion/criterion.h>
#include <elf.h>
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/boot/boot.h"
#include "vmm/mem.h"
#include "vmm/util.h"

static struct guest_mem mem;
static struct e820_entry e820[MEM_MAX_E820];
static int ne820;
static char err[256];

static void ram_setup(void)
{
	cr_assert_eq(mem_init(&mem, MiB(256), false, err, sizeof(err)), 0, "%s", err);
	ne820 = mem_e820(&mem, e820, MEM_MAX_E820);
	cr_assert_gt(ne820, 0);
	err[0] = 0;
}

static void ram_teardown(void)
{
	mem_free(&mem);
}

static const void *ram(uint64_t gpa, uint64_t len)
{
	const void *p = mem_gpa_to_hva(&mem, gpa, len);

	cr_assert_not_null(p, "0x%llx+0x%llx not in guest RAM", (unsigned long long)gpa,
			   (unsigned long long)len);
	return p;
}

static uint16_t ram16(uint64_t gpa)
{
	uint16_t v;

	memcpy(&v, ram(gpa, 2), 2);
	return v;
}

static uint32_t ram32(uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, ram(gpa, 4), 4);
	return v;
}

static uint64_t ram64(uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, ram(gpa, 8), 8);
	return v;
}

static struct boot_params_in params(const uint8_t *kernel, size_t size)
{
	return (struct boot_params_in){
		.kernel = kernel, .kernel_size = size, .e820 = e820, .ne820 = ne820};
}

/* boot_check for 256 MiB of guest RAM, the size of `mem` */
static int check(const uint8_t *kernel, size_t size, uint64_t initrd_size, size_t cmdline_len)
{
	const struct boot_check_in in = {.kernel = kernel,
					 .kernel_size = size,
					 .initrd_size = initrd_size,
					 .cmdline_len = cmdline_len,
					 .ram = MiB(256)};

	err[0] = '\0';
	return boot_check(&in, err, sizeof(err));
}

/* ---- PVH ELF images ---- */

#define ELF_NOTE_OFF  0x200
#define ELF_SHDR_OFF  0x300
#define ELF_LOAD_OFF  0x1000
#define ELF_PHYS      0x100000ULL
#define ELF_ENTRY     0x100040ULL
#define ELF_FILESZ    0x100
#define ELF_MEMSZ     0x2000
#define ELF_SIZE      (ELF_LOAD_OFF + ELF_FILESZ)
#define ELF_PHDR(i)   (sizeof(Elf64_Ehdr) + (i) * sizeof(Elf64_Phdr))
#define ELF_NOTE_SIZE 20 /* namesz, descsz, type, "Xen\0", 32-bit entry */

static void put_note(uint8_t *p, uint32_t type, uint32_t entry)
{
	const uint32_t hdr[3] = {4, 4, type};

	memcpy(p, hdr, sizeof(hdr));
	memcpy(p + 12, "Xen", 4);
	memcpy(p + 16, &entry, 4);
}

static uint8_t payload_byte(size_t i)
{
	return (uint8_t)(i * 7 + 3);
}

/* Two program headers: a PT_LOAD of ELF_FILESZ file bytes / ELF_MEMSZ memory, and a PT_NOTE. */
static void make_elf64(uint8_t *buf)
{
	Elf64_Ehdr eh = {
		.e_type = ET_EXEC,
		.e_machine = EM_X86_64,
		.e_version = EV_CURRENT,
		.e_entry = 0xffffffff81000000ULL,
		.e_phoff = sizeof(Elf64_Ehdr),
		.e_ehsize = sizeof(Elf64_Ehdr),
		.e_phentsize = sizeof(Elf64_Phdr),
		.e_phnum = 2,
	};
	Elf64_Phdr load = {.p_type = PT_LOAD,
			   .p_flags = PF_R | PF_X,
			   .p_offset = ELF_LOAD_OFF,
			   .p_vaddr = 0xffffffff81000000ULL,
			   .p_paddr = ELF_PHYS,
			   .p_filesz = ELF_FILESZ,
			   .p_memsz = ELF_MEMSZ,
			   .p_align = 0x1000};
	Elf64_Phdr note = {.p_type = PT_NOTE,
			   .p_offset = ELF_NOTE_OFF,
			   .p_filesz = ELF_NOTE_SIZE,
			   .p_memsz = ELF_NOTE_SIZE,
			   .p_align = 4};

	memset(buf, 0, ELF_SIZE);
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	memcpy(buf, &eh, sizeof(eh));
	memcpy(buf + ELF_PHDR(0), &load, sizeof(load));
	memcpy(buf + ELF_PHDR(1), &note, sizeof(note));
	put_note(buf + ELF_NOTE_OFF, XEN_ELFNOTE_PHYS32_ENTRY, ELF_ENTRY);
	for (size_t i = 0; i < ELF_FILESZ; i++)
		buf[ELF_LOAD_OFF + i] = payload_byte(i);
}

static Elf64_Phdr get_phdr(const uint8_t *buf, int i)
{
	Elf64_Phdr ph;

	memcpy(&ph, buf + ELF_PHDR(i), sizeof(ph));
	return ph;
}

static void set_phdr(uint8_t *buf, int i, const Elf64_Phdr *ph)
{
	memcpy(buf + ELF_PHDR(i), ph, sizeof(*ph));
}

static int load_pvh(const uint8_t *buf, size_t size, struct boot_entry *out)
{
	struct boot_params_in in = params(buf, size);

	return boot_load(&mem, &in, out, err, sizeof(err));
}

static const struct hvm_start_info *start_info(void)
{
	return ram(BOOT_START_INFO_ADDR, sizeof(struct hvm_start_info));
}

TestSuite(boot_pvh, .init = ram_setup, .fini = ram_teardown);

Test(boot_pvh, elf_is_detected_as_pvh)
{
	uint8_t buf[ELF_SIZE];

	make_elf64(buf);
	cr_assert_eq(boot_detect(buf, sizeof(buf)), BOOT_IMAGE_PVH_ELF);
}

Test(boot_pvh, valid_image_enters_at_note_entry_with_start_info_in_rbx)
{
	uint8_t buf[ELF_SIZE];
	struct boot_entry out;

	make_elf64(buf);
	cr_assert_eq(load_pvh(buf, sizeof(buf), &out), 0, "%s", err);
	cr_assert_eq(out.mode, BOOT_MODE_PVH32);
	cr_assert_eq(out.rip, ELF_ENTRY);
	cr_assert_eq(out.rbx, BOOT_START_INFO_ADDR);
	cr_assert_not(boot_pvh_is_linux(buf, sizeof(buf)), "only a Xen note: not Linux");
}

Test(boot_pvh, segment_is_copied_and_bss_zeroed)
{
	uint8_t buf[ELF_SIZE];
	struct boot_entry out;
	const uint8_t *p;

	make_elf64(buf);
	memset(mem_gpa_to_hva(&mem, ELF_PHYS, ELF_MEMSZ + 16), 0xee, ELF_MEMSZ + 16);
	cr_assert_eq(load_pvh(buf, sizeof(buf), &out), 0, "%s", err);
	p = ram(ELF_PHYS, ELF_MEMSZ + 16);
	for (size_t i = 0; i < ELF_FILESZ; i++)
		cr_assert_eq(p[i], payload_byte(i), "byte %zu", i);
	for (size_t i = ELF_FILESZ; i < ELF_MEMSZ; i++)
		cr_assert_eq(p[i], 0, "bss byte %zu not zeroed", i);
	cr_assert_eq(p[ELF_MEMSZ], 0xee, "wrote past p_memsz");
}

Test(boot_pvh, start_info_fields_follow_the_abi)
{
	uint8_t buf[ELF_SIZE];
	struct boot_entry out;
	struct boot_params_in in;
	const struct hvm_start_info *si;

	make_elf64(buf);
	in = params(buf, sizeof(buf));
	in.cmdline = "console=ttyS0 earlyprintk";
	cr_assert_eq(boot_load(&mem, &in, &out, err, sizeof(err)), 0, "%s", err);
	si = start_info();
	cr_assert_eq(si->magic, 0x336ec578);
	cr_assert_eq(si->version, 1);
	cr_assert_eq(si->flags, 0);
	cr_assert_eq(si->nr_modules, 0);
	cr_assert_eq(si->modlist_paddr, 0);
	cr_assert_eq(si->rsdp_paddr, 0);
	cr_assert_eq(si->cmdline_paddr, BOOT_CMDLINE_ADDR);
	cr_assert_str_eq(ram(BOOT_CMDLINE_ADDR, 32), "console=ttyS0 earlyprintk");
	cr_assert_eq(si->memmap_entries, (uint32_t)ne820);
	cr_assert_geq(si->memmap_paddr, BOOT_START_INFO_ADDR + sizeof(*si));
	cr_assert_eq(si->memmap_paddr % 8, 0);
}

Test(boot_pvh, memmap_repeats_the_e820_map)
{
	uint8_t buf[ELF_SIZE];
	struct boot_entry out;
	const struct hvm_start_info *si;
	const struct hvm_memmap_table_entry *map;

	make_elf64(buf);
	cr_assert_eq(load_pvh(buf, sizeof(buf), &out), 0, "%s", err);
	si = start_info();
	map = ram(si->memmap_paddr, si->memmap_entries * sizeof(*map));
	for (int i = 0; i < ne820; i++) {
		cr_assert_eq(map[i].addr, e820[i].addr, "entry %d", i);
		cr_assert_eq(map[i].size, e820[i].size, "entry %d", i);
		cr_assert_eq(map[i].type, e820[i].type, "entry %d", i);
		cr_assert_eq(map[i].reserved, 0);
	}
}

Test(boot_pvh, no_cmdline_gives_null_cmdline_paddr)
{
	uint8_t buf[ELF_SIZE];
	struct boot_entry out;

	make_elf64(buf);
	cr_assert_eq(load_pvh(buf, sizeof(buf), &out), 0, "%s", err);
	cr_assert_eq(start_info()->cmdline_paddr, 0);
}

Test(boot_pvh, cmdline_of_max_length_is_accepted_and_longer_rejected)
{
	uint8_t buf[ELF_SIZE];
	static char line[BOOT_CMDLINE_MAX + 1];
	struct boot_params_in in;
	struct boot_entry out;

	make_elf64(buf);
	in = params(buf, sizeof(buf));
	memset(line, 'a', BOOT_CMDLINE_MAX - 1);
	in.cmdline = line;
	cr_assert_eq(boot_load(&mem, &in, &out, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(strnlen(ram(BOOT_CMDLINE_ADDR, BOOT_CMDLINE_MAX), BOOT_CMDLINE_MAX),
		     BOOT_CMDLINE_MAX - 1);
	line[BOOT_CMDLINE_MAX - 1] = 'a';
	cr_assert_eq(boot_load(&mem, &in, &out, err, sizeof(err)), -E2BIG);
	cr_assert(strstr(err, "command line"), "%s", err);
}

Test(boot_pvh, missing_note_is_rejected)
{
	uint8_t buf[ELF_SIZE];
	struct boot_entry out;

	make_elf64(buf);
	put_note(buf + ELF_NOTE_OFF, 17, ELF_ENTRY);
	cr_assert_eq(load_pvh(buf, sizeof(buf), &out), -ENOEXEC);
	cr_assert(strstr(err, "no PVH entry note"), "%s", err);
}

Test(boot_pvh, note_with_wrong_owner_is_not_the_entry)
{
	uint8_t buf[ELF_SIZE];
	struct boot_entry out;

	make_elf64(buf);
	memcpy(buf + ELF_NOTE_OFF + 12, "Xem", 4);
	cr_assert_eq(load_pvh(buf, sizeof(buf), &out), -ENOEXEC);
	cr_assert(strstr(err, "no PVH entry note"), "%s", err);
}

Test(boot_pvh, note_running_past_its_segment_is_ignored)
{
	uint8_t buf[ELF_SIZE];
	struct boot_entry out;
	uint32_t descsz = 0xfffffff0;

	make_elf64(buf);
	memcpy(buf + ELF_NOTE_OFF + 4, &descsz, 4);
	cr_assert_eq(load_pvh(buf, sizeof(buf), &out), -ENOEXEC);
	cr_assert(strstr(err, "no PVH entry note"), "%s", err);
}

Test(boot_pvh, note_is_found_in_sections_without_pt_note)
{
	uint8_t buf[ELF_SIZE];
	struct boot_entry out;
	Elf64_Phdr ph;
	Elf64_Shdr sh[2] = {{0},
			    {.sh_type = SHT_NOTE,
			     .sh_offset = ELF_NOTE_OFF,
			     .sh_size = ELF_NOTE_SIZE,
			     .sh_addralign = 4}};
	Elf64_Ehdr eh;

	make_elf64(buf);
	ph = get_phdr(buf, 1);
	ph.p_type = PT_NULL;
	set_phdr(buf, 1, &ph);
	memcpy(&eh, buf, sizeof(eh));
	eh.e_shoff = ELF_SHDR_OFF;
	eh.e_shentsize = sizeof(Elf64_Shdr);
	eh.e_shnum = 2;
	memcpy(buf, &eh, sizeof(eh));
	memcpy(buf + ELF_SHDR_OFF, sh, sizeof(sh));
	cr_assert_eq(load_pvh(buf, sizeof(buf), &out), 0, "%s", err);
	cr_assert_eq(out.rip, ELF_ENTRY);
}

Test(boot_pvh, elf32_image_loads)
{
	uint8_t buf[ELF_SIZE];
	struct boot_entry out;
	Elf32_Ehdr eh = {
		.e_type = ET_EXEC,
		.e_machine = EM_386,
		.e_version = EV_CURRENT,
		.e_phoff = sizeof(Elf32_Ehdr),
		.e_ehsize = sizeof(Elf32_Ehdr),
		.e_phentsize = sizeof(Elf32_Phdr),
		.e_phnum = 2,
	};
	Elf32_Phdr ph[2] = {
		{.p_type = PT_LOAD,
		 .p_offset = ELF_LOAD_OFF,
		 .p_paddr = ELF_PHYS,
		 .p_filesz = ELF_FILESZ,
		 .p_memsz = ELF_MEMSZ},
		{.p_type = PT_NOTE, .p_offset = ELF_NOTE_OFF, .p_filesz = ELF_NOTE_SIZE}};

	make_elf64(buf); /* for the note and the payload */
	memset(buf, 0, ELF_NOTE_OFF);
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS32;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	memcpy(buf, &eh, sizeof(eh));
	memcpy(buf + sizeof(eh), ph, sizeof(ph));
	cr_assert_eq(load_pvh(buf, sizeof(buf), &out), 0, "%s", err);
	cr_assert_eq(out.rip, ELF_ENTRY);
	cr_assert_eq(*(const uint8_t *)ram(ELF_PHYS + 5, 1), payload_byte(5));
}

Test(boot_pvh, truncated_elf_header_is_rejected)
{
	uint8_t buf[ELF_SIZE];
	struct boot_entry out;

	make_elf64(buf);
	cr_assert_eq(load_pvh(buf, 40, &out), -ENOEXEC);
	cr_assert(strstr(err, "truncated"), "%s", err);
}

Test(boot_pvh, truncated_program_headers_are_rejected)
{
	uint8_t buf[ELF_SIZE];
	struct boot_entry out;

	make_elf64(buf);
	cr_assert_eq(load_pvh(buf, ELF_PHDR(1) + 8, &out), -ENOEXEC);
	cr_assert(strstr(err, "program headers"), "%s", err);
}

Test(boot_pvh, program_header_offset_overflow_is_rejected)
{
	uint8_t buf[ELF_SIZE];
	struct boot_entry out;
	Elf64_Ehdr eh;

	make_elf64(buf);
	memcpy(&eh, buf, sizeof(eh));
	eh.e_phoff = UINT64_MAX - 8;
	memcpy(buf, &eh, sizeof(eh));
	cr_assert_eq(load_pvh(buf, sizeof(buf), &out), -ENOEXEC);
}

Test(boot_pvh, segment_past_end_of_file_is_rejected)
{
	uint8_t buf[ELF_SIZE];
	struct boot_entry out;
	Elf64_Phdr ph;

	make_elf64(buf);
	ph = get_phdr(buf, 0);
	ph.p_filesz = ELF_FILESZ + 1;
	set_phdr(buf, 0, &ph);
	cr_assert_eq(load_pvh(buf, sizeof(buf), &out), -ENOEXEC);
	cr_assert(strstr(err, "outside the file"), "%s", err);

	ph.p_filesz = ELF_FILESZ;
	ph.p_offset = UINT64_MAX - 0x10; /* offset + filesz wraps */
	set_phdr(buf, 0, &ph);
	cr_assert_eq(load_pvh(buf, sizeof(buf), &out), -ENOEXEC);
	cr_assert(strstr(err, "outside the file"), "%s", err);
}

Test(boot_pvh, segment_beyond_ram_is_rejected)
{
	uint8_t buf[ELF_SIZE];
	struct boot_entry out;
	Elf64_Phdr ph;

	make_elf64(buf);
	ph = get_phdr(buf, 0);
	ph.p_paddr = MiB(256) - 0x1000; /* starts in RAM, ends past it */
	set_phdr(buf, 0, &ph);
	cr_assert_eq(load_pvh(buf, sizeof(buf), &out), -ENOMEM);
	cr_assert(strstr(err, "does not fit in guest RAM"), "%s", err);
}

Test(boot_pvh, huge_memsz_overflow_is_rejected)
{
	uint8_t buf[ELF_SIZE];
	struct boot_entry out;
	Elf64_Phdr ph;

	make_elf64(buf);
	ph = get_phdr(buf, 0);
	ph.p_memsz = UINT64_MAX - 0x1000;
	set_phdr(buf, 0, &ph);
	cr_assert_eq(load_pvh(buf, sizeof(buf), &out), -ENOMEM);
	cr_assert(strstr(err, "does not fit in guest RAM"), "%s", err);
}

Test(boot_pvh, filesz_larger_than_memsz_is_rejected)
{
	uint8_t buf[ELF_SIZE];
	struct boot_entry out;
	Elf64_Phdr ph;

	make_elf64(buf);
	ph = get_phdr(buf, 0);
	ph.p_memsz = ELF_FILESZ - 1;
	set_phdr(buf, 0, &ph);
	cr_assert_eq(load_pvh(buf, sizeof(buf), &out), -ENOEXEC);
}

Test(boot_pvh, segment_overlapping_boot_area_is_rejected)
{
	uint8_t buf[ELF_SIZE];
	struct boot_entry out;
	Elf64_Phdr ph;

	make_elf64(buf);
	ph = get_phdr(buf, 0);
	ph.p_paddr = BOOT_START_INFO_ADDR - 0x100;
	set_phdr(buf, 0, &ph);
	cr_assert_eq(load_pvh(buf, sizeof(buf), &out), -ENOEXEC);
	cr_assert(strstr(err, "boot data"), "%s", err);
}

Test(boot_pvh, nothing_is_written_when_a_later_segment_is_bad)
{
	uint8_t buf[ELF_SIZE];
	struct boot_entry out;
	Elf64_Phdr ph;
	Elf64_Ehdr eh;

	make_elf64(buf);
	memcpy(&eh, buf, sizeof(eh));
	eh.e_phnum = 3;
	memcpy(buf, &eh, sizeof(eh));
	ph = get_phdr(buf, 0);
	ph.p_paddr = GiB(1); /* a third header: a PT_LOAD beyond RAM */
	set_phdr(buf, 2, &ph);
	cr_assert_eq(load_pvh(buf, sizeof(buf), &out), -ENOMEM, "%s", err);
	cr_assert_eq(*(const uint8_t *)ram(ELF_PHYS, 1), 0);
}

Test(boot_pvh, initrd_and_modules_are_placed_page_aligned_above_the_kernel)
{
	uint8_t buf[ELF_SIZE];
	static uint8_t initrd[5000], m1[3 * 4096], m2[1];
	const struct boot_module mods[2] = {
		{.data = m1, .size = sizeof(m1), .cmdline = "m1 arg=1"},
		{.data = m2, .size = sizeof(m2)},
	};
	const size_t sizes[3] = {sizeof(initrd), sizeof(m1), sizeof(m2)};
	const uint8_t *datas[3] = {initrd, m1, m2};
	struct boot_params_in in;
	struct boot_entry out;
	const struct hvm_start_info *si;
	const struct hvm_modlist_entry *list;

	for (size_t i = 0; i < sizeof(initrd); i++)
		initrd[i] = (uint8_t)(i ^ 0x5a);
	memset(m1, 0x11, sizeof(m1));
	m2[0] = 0x22;
	make_elf64(buf);
	in = params(buf, sizeof(buf));
	in.initrd = initrd;
	in.initrd_size = sizeof(initrd);
	in.modules = mods;
	in.nmodules = 2;
	cr_assert_eq(boot_load(&mem, &in, &out, err, sizeof(err)), 0, "%s", err);
	si = start_info();
	cr_assert_eq(si->nr_modules, 3);
	list = ram(si->modlist_paddr, 3 * sizeof(*list));
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(list[i].paddr % 4096, 0, "module %d", i);
		cr_assert_geq(list[i].paddr, ELF_PHYS + ELF_MEMSZ, "module %d", i);
		cr_assert_leq(list[i].paddr + list[i].size, MiB(256), "module %d", i);
		cr_assert_eq(list[i].size, sizes[i]);
		cr_assert_arr_eq(ram(list[i].paddr, sizes[i]), datas[i], sizes[i], "module %d", i);
		if (i > 0)
			cr_assert_leq(list[i].paddr + list[i].size, list[i - 1].paddr,
				      "modules %d and %d overlap", i - 1, i);
	}
	cr_assert_eq(list[0].cmdline_paddr, 0);
	cr_assert_str_eq(ram(list[1].cmdline_paddr, 9), "m1 arg=1");
	cr_assert_eq(list[2].cmdline_paddr, 0);
	/* the initrd sits at the top of RAM, like QEMU puts it */
	cr_assert_eq(list[0].paddr, MiB(256) - ALIGN_UP(sizeof(initrd), 4096));
}

Test(boot_pvh, module_that_does_not_fit_is_rejected)
{
	uint8_t buf[ELF_SIZE];
	struct boot_params_in in;
	struct boot_entry out;
	uint8_t *big = calloc(1, MiB(256)); /* never touched: the size check comes first */

	cr_assert_not_null(big);
	make_elf64(buf);
	in = params(buf, sizeof(buf));
	in.initrd = big;
	in.initrd_size = MiB(256) - MiB(1);
	cr_assert_eq(boot_load(&mem, &in, &out, err, sizeof(err)), -ENOMEM);
	cr_assert(strstr(err, "initrd"), "%s", err);
	free(big);
}

Test(boot_pvh, empty_memory_map_is_rejected)
{
	uint8_t buf[ELF_SIZE];
	struct boot_params_in in;
	struct boot_entry out;

	make_elf64(buf);
	in = params(buf, sizeof(buf));
	in.ne820 = 0;
	cr_assert_eq(boot_load(&mem, &in, &out, err, sizeof(err)), -EINVAL);
}

static uint32_t rng_state = 0x12345678;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

Test(boot_pvh, mutated_headers_never_crash)
{
	uint8_t buf[ELF_SIZE], orig[ELF_SIZE];
	struct boot_entry out;

	make_elf64(orig);
	cr_assert_eq(load_pvh(orig, sizeof(orig), &out), 0, "the unmutated image loads");
	for (int iter = 0; iter < 20000; iter++) {
		size_t size = 1 + rng() % sizeof(buf);
		int ret;

		memcpy(buf, orig, sizeof(buf));
		for (int k = 1 + (int)(rng() % 4); k > 0; k--)
			buf[rng() % (ELF_NOTE_OFF + ELF_NOTE_SIZE)] = (uint8_t)rng();
		/* `vmm check` says what `vmm run` will find: the same verdict, the same code */
		cr_assert_eq(check(buf, size, 0, 0), load_pvh(buf, size, &out),
			     "iter %d: boot_check and boot_load disagree: %s", iter, err);
		err[0] = '\0';
		memset(&out, 0, sizeof(out));
		ret = load_pvh(buf, size, &out);
		/* what `vmm run` relies on: a negative errno with a message for the user, or an
		 * entry point and start_info that lie in guest RAM */
		if (ret) {
			cr_assert(ret < 0 && ret > -4096, "iter %d: %d is not -errno", iter, ret);
			cr_assert_neq(err[0], '\0', "iter %d: error %d without a message", iter,
				      ret);
		} else {
			cr_assert_not_null(mem_gpa_to_hva(&mem, out.rip, 1),
					   "iter %d: entry 0x%llx outside RAM", iter,
					   (unsigned long long)out.rip);
			cr_assert_not_null(start_info(), "iter %d", iter);
			cr_assert_eq(out.rbx, BOOT_START_INFO_ADDR, "iter %d", iter);
		}
	}
}

/* ---- bzImage ---- */

#define BZ_SETUP_SECTS 1
#define BZ_SETUP_SIZE  ((BZ_SETUP_SECTS + 1) * 512)
#define BZ_PAYLOAD     0x1000
#define BZ_SIZE	       (BZ_SETUP_SIZE + BZ_PAYLOAD)

static void put16(uint8_t *b, size_t off, uint16_t v)
{
	memcpy(b + off, &v, 2);
}

static void put32(uint8_t *b, size_t off, uint32_t v)
{
	memcpy(b + off, &v, 4);
}

static void put64(uint8_t *b, size_t off, uint64_t v)
{
	memcpy(b + off, &v, 8);
}

/* A minimal protocol 2.15 header as a relocatable 64-bit kernel has it (boot.rst offsets). */
static void make_bzimage(uint8_t *b)
{
	memset(b, 0, BZ_SIZE);
	b[0x1f1] = BZ_SETUP_SECTS;
	put16(b, 0x1fa, 0xfffd); /* vid_mode "ask": the loader must override it */
	put16(b, 0x1fe, 0xaa55);
	b[0x200] = 0xeb;
	b[0x201] = 0x6a; /* header ends at 0x26c */
	memcpy(b + 0x202, "HdrS", 4);
	put16(b, 0x206, 0x020f);
	b[0x211] = 0x01;	     /* LOADED_HIGH */
	put32(b, 0x22c, 0x7fffffff); /* initrd_addr_max */
	put32(b, 0x230, 0x200000);   /* kernel_alignment */
	b[0x234] = 1;		     /* relocatable_kernel */
	put16(b, 0x236, 0x0003);     /* XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G */
	put32(b, 0x238, 2047);	     /* cmdline_size */
	put64(b, 0x250, 0xdeadbeef); /* setup_data: must not reach the guest */
	put64(b, 0x258, 0x1000000);  /* pref_address */
	put32(b, 0x260, 0x800000);   /* init_size */
	for (size_t i = 0; i < BZ_PAYLOAD; i++)
		b[BZ_SETUP_SIZE + i] = payload_byte(i);
}

static int load_bz(const uint8_t *b, size_t size, const char *cmdline, struct boot_entry *out)
{
	struct boot_params_in in = params(b, size);

	in.cmdline = cmdline;
	return boot_load(&mem, &in, out, err, sizeof(err));
}

/* Walk our identity page tables in guest RAM: virtual -> physical, or UINT64_MAX. */
static uint64_t translate(uint64_t cr3, uint64_t va)
{
	uint64_t e = ram64(cr3 + ((va >> 39) & 511) * 8);

	if (!(e & 1))
		return UINT64_MAX;
	e = ram64((e & ~0xfffULL) + ((va >> 30) & 511) * 8);
	if (!(e & 1))
		return UINT64_MAX;
	e = ram64((e & ~0xfffULL) + ((va >> 21) & 511) * 8);
	if (!(e & 1) || !(e & 0x80))
		return UINT64_MAX;
	return (e & ~0x1fffffULL & 0x000fffffffffffffULL) + (va & 0x1fffff);
}

static void assert_linux64_entry(const struct boot_entry *out)
{
	cr_assert_eq(out->mode, BOOT_MODE_LINUX64);
	cr_assert_eq(out->rip, 0x100200);
	cr_assert_eq(out->rsi, BOOT_ZERO_PAGE_ADDR);
	cr_assert_eq(out->cr3, BOOT_PML4_ADDR);
	cr_assert_eq(out->gdt_base, BOOT_GDT_ADDR);
	cr_assert_eq(out->gdt_limit, 31);
	cr_assert_eq(ram64(BOOT_GDT_ADDR + BOOT_LINUX_CS), 0x00af9b000000ffffULL);
	cr_assert_eq(ram64(BOOT_GDT_ADDR + BOOT_LINUX_DS), 0x00cf93000000ffffULL);
	cr_assert_eq(translate(out->cr3, 0), 0);
	cr_assert_eq(translate(out->cr3, 0x100200), 0x100200);
	cr_assert_eq(translate(out->cr3, GiB(3)), GiB(3));
	cr_assert_eq(translate(out->cr3, GiB(4) - 1), GiB(4) - 1);
	cr_assert_eq(translate(out->cr3, GiB(4)), UINT64_MAX);
}

TestSuite(boot_bzimage, .init = ram_setup, .fini = ram_teardown);

Test(boot_bzimage, bzimage_is_detected)
{
	static uint8_t b[BZ_SIZE];

	make_bzimage(b);
	cr_assert_eq(boot_detect(b, sizeof(b)), BOOT_IMAGE_BZIMAGE);
	put16(b, 0x1fe, 0);
	cr_assert_eq(boot_detect(b, sizeof(b)), BOOT_IMAGE_UNKNOWN);
	cr_assert_eq(boot_detect(b, 3), BOOT_IMAGE_UNKNOWN);
}

Test(boot_bzimage, unknown_format_is_rejected_by_boot_load)
{
	static uint8_t b[BZ_SIZE];
	struct boot_entry out;

	cr_assert_eq(load_bz(b, sizeof(b), NULL, &out), -ENOEXEC);
	cr_assert(strstr(err, "unrecognised"), "%s", err);
}

Test(boot_bzimage, crafted_image_enters_startup_64_with_identity_paging)
{
	static uint8_t b[BZ_SIZE];
	struct boot_entry out;

	make_bzimage(b);
	cr_assert_eq(load_bz(b, sizeof(b), "quiet", &out), 0, "%s", err);
	assert_linux64_entry(&out);
	cr_assert_arr_eq(ram(0x100000, BZ_PAYLOAD), b + BZ_SETUP_SIZE, BZ_PAYLOAD);
}

Test(boot_bzimage, zero_page_carries_header_and_loader_fields)
{
	static uint8_t b[BZ_SIZE];
	struct boot_entry out;
	const uint64_t zp = BOOT_ZERO_PAGE_ADDR;

	make_bzimage(b);
	cr_assert_eq(load_bz(b, sizeof(b), "console=ttyS0", &out), 0, "%s", err);
	cr_assert_arr_eq(ram(zp + 0x202, 4), "HdrS", 4);
	cr_assert_eq(ram16(zp + 0x206), 0x020f);
	cr_assert_eq(ram32(zp + 0x260), 0x800000, "init_size copied from the image");
	cr_assert_eq(ram16(zp + 0x1fa), 0xffff, "vid_mode normal");
	cr_assert_eq(*(const uint8_t *)ram(zp + 0x210, 1), 0xff, "type_of_loader");
	cr_assert_eq(*(const uint8_t *)ram(zp + 0x211, 1), 0x81, "LOADED_HIGH | CAN_USE_HEAP");
	cr_assert_neq(ram16(zp + 0x224), 0, "heap_end_ptr");
	cr_assert_eq(ram32(zp + 0x228), BOOT_CMDLINE_ADDR);
	cr_assert_str_eq(ram(BOOT_CMDLINE_ADDR, 14), "console=ttyS0");
	cr_assert_eq(ram64(zp + 0x250), 0, "setup_data must not come from the image");
	cr_assert_eq(ram32(zp + 0x218), 0, "no initrd");
	cr_assert_eq(ram32(zp + 0x21c), 0);
	cr_assert_eq(*(const uint8_t *)ram(zp + 0x1e8, 1), ne820);
	for (int i = 0; i < ne820; i++) {
		uint64_t ent = zp + 0x2d0 + (uint64_t)i * 20;

		cr_assert_eq(ram64(ent), e820[i].addr, "e820 %d", i);
		cr_assert_eq(ram64(ent + 8), e820[i].size, "e820 %d", i);
		cr_assert_eq(ram32(ent + 16), e820[i].type, "e820 %d", i);
	}
	/* nothing of the setup code past the header leaks into the zero page */
	cr_assert_eq(ram32(zp + 0x270), 0);
}

Test(boot_bzimage, initrd_is_placed_high_below_initrd_addr_max)
{
	static uint8_t b[BZ_SIZE], initrd[10000];
	struct boot_params_in in;
	struct boot_entry out;
	uint32_t addr;

	memset(initrd, 0x3c, sizeof(initrd));
	make_bzimage(b);
	put32(b, 0x22c, MiB(64) - 1);
	in = params(b, sizeof(b));
	in.initrd = initrd;
	in.initrd_size = sizeof(initrd);
	cr_assert_eq(boot_load(&mem, &in, &out, err, sizeof(err)), 0, "%s", err);
	addr = ram32(BOOT_ZERO_PAGE_ADDR + 0x218);
	cr_assert_eq(ram32(BOOT_ZERO_PAGE_ADDR + 0x21c), sizeof(initrd));
	cr_assert_eq(addr % 4096, 0);
	cr_assert_eq(addr, MiB(64) - ALIGN_UP(sizeof(initrd), 4096));
	cr_assert_geq(addr, 0x1000000 + 0x800000, "above pref_address + init_size");
	cr_assert_arr_eq(ram(addr, sizeof(initrd)), initrd, sizeof(initrd));
}

Test(boot_bzimage, initrd_that_does_not_fit_is_rejected)
{
	static uint8_t b[BZ_SIZE];
	struct boot_params_in in;
	struct boot_entry out;
	uint8_t *big = calloc(1, MiB(256));

	cr_assert_not_null(big);
	make_bzimage(b);
	in = params(b, sizeof(b));
	in.initrd = big;
	in.initrd_size = MiB(256) - MiB(24) + 1; /* kernel occupies up to 24 MiB */
	cr_assert_eq(boot_load(&mem, &in, &out, err, sizeof(err)), -ENOMEM);
	cr_assert(strstr(err, "initrd"), "%s", err);
	free(big);
}

Test(boot_bzimage, old_protocol_is_rejected)
{
	static uint8_t b[BZ_SIZE];
	struct boot_entry out;

	make_bzimage(b);
	put16(b, 0x206, 0x020b);
	cr_assert_eq(load_bz(b, sizeof(b), NULL, &out), -ENOEXEC);
	cr_assert(strstr(err, "too old"), "%s", err);
}

Test(boot_bzimage, kernel_without_64bit_entry_is_rejected)
{
	static uint8_t b[BZ_SIZE];
	struct boot_entry out;

	make_bzimage(b);
	put16(b, 0x236, 0x0002);
	cr_assert_eq(load_bz(b, sizeof(b), NULL, &out), -ENOEXEC);
	cr_assert(strstr(err, "XLF_KERNEL_64"), "%s", err);
}

Test(boot_bzimage, truncated_images_are_rejected)
{
	static uint8_t b[BZ_SIZE];
	struct boot_entry out;

	make_bzimage(b);
	cr_assert_eq(load_bz(b, 0x210, NULL, &out), -ENOEXEC);
	cr_assert(strstr(err, "truncated"), "%s", err);
	cr_assert_eq(load_bz(b, BZ_SETUP_SIZE, NULL, &out), -ENOEXEC);
	cr_assert(strstr(err, "truncated"), "%s", err);
	b[0x1f1] = 0; /* 0 means 4 sectors: 2560 bytes of setup, all of them present */
	cr_assert_eq(load_bz(b, 5 * 512, NULL, &out), -ENOEXEC);
	b[0x1f1] = 200;
	cr_assert_eq(load_bz(b, sizeof(b), NULL, &out), -ENOEXEC);
	cr_assert(strstr(err, "truncated"), "%s", err);
}

Test(boot_bzimage, short_setup_header_is_rejected)
{
	static uint8_t b[BZ_SIZE];
	struct boot_entry out;

	make_bzimage(b);
	b[0x201] = 0x40;
	cr_assert_eq(load_bz(b, sizeof(b), NULL, &out), -ENOEXEC);
}

Test(boot_bzimage, init_size_beyond_ram_is_rejected)
{
	static uint8_t b[BZ_SIZE];
	struct boot_entry out;

	make_bzimage(b);
	put32(b, 0x260, 0xfffff000);
	cr_assert_eq(load_bz(b, sizeof(b), NULL, &out), -ENOMEM);
	cr_assert(strstr(err, "does not fit"), "%s", err);
}

Test(boot_bzimage, non_relocatable_kernel_loads_at_pref_address)
{
	static uint8_t b[BZ_SIZE];
	struct boot_entry out;

	make_bzimage(b);
	b[0x234] = 0;
	cr_assert_eq(load_bz(b, sizeof(b), NULL, &out), 0, "%s", err);
	cr_assert_eq(out.rip, 0x1000200);
	cr_assert_arr_eq(ram(0x1000000, BZ_PAYLOAD), b + BZ_SETUP_SIZE, BZ_PAYLOAD);
	put64(b, 0x258, UINT64_MAX - 0x100);
	cr_assert_eq(load_bz(b, sizeof(b), NULL, &out), -ENOMEM);
	put64(b, 0x258, 0x1000);
	cr_assert_eq(load_bz(b, sizeof(b), NULL, &out), -ENOMEM);
}

Test(boot_bzimage, cmdline_longer_than_cmdline_size_is_rejected)
{
	static uint8_t b[BZ_SIZE];
	struct boot_entry out;

	make_bzimage(b);
	put32(b, 0x238, 10);
	cr_assert_eq(load_bz(b, sizeof(b), "0123456789", &out), 0, "%s", err);
	cr_assert_eq(load_bz(b, sizeof(b), "0123456789a", &out), -E2BIG);
	cr_assert(strstr(err, "longer than 10"), "%s", err);
}

Test(boot_bzimage, too_many_e820_entries_are_rejected)
{
	static uint8_t b[BZ_SIZE];
	static struct e820_entry many[129];
	struct boot_params_in in;
	struct boot_entry out;

	make_bzimage(b);
	in = params(b, sizeof(b));
	in.e820 = many;
	in.ne820 = 129;
	cr_assert_eq(boot_load(&mem, &in, &out, err, sizeof(err)), -E2BIG);
}

Test(boot_bzimage, mutated_headers_never_crash)
{
	static uint8_t b[BZ_SIZE], orig[BZ_SIZE];
	struct boot_entry out;

	make_bzimage(orig);
	for (int iter = 0; iter < 20000; iter++) {
		memcpy(b, orig, sizeof(b));
		for (int k = 1 + (int)(rng() % 4); k > 0; k--)
			b[0x1f1 + rng() % (0x270 - 0x1f1)] = (uint8_t)rng();
		size_t size = 0x200 + rng() % (sizeof(b) - 0x200);
		int ret = load_bz(b, size, "x", &out);

		/* `vmm check` says what `vmm run` will find: the same verdict, the same code */
		cr_assert_eq(check(b, size, 0, 1), ret,
			     "iter %d: boot_check and boot_load disagree", iter);
	}
}

/* ---- boot_check: the loaders' verdict before any guest RAM exists ---- */

Test(boot_check, a_disk_image_is_not_a_kernel)
{
	static uint8_t disk[4096];

	/* an MBR: boot signature 0x55 0xAA at 510, but no "HdrS" and no ELF magic */
	disk[0x1fe] = 0x55;
	disk[0x1ff] = 0xaa;
	cr_assert_eq(check(disk, sizeof(disk), 0, 0), -ENOEXEC);
	cr_assert_str_eq(err, "neither a bzImage (no \"HdrS\" boot header at 0x202) nor a PVH ELF "
			      "(no ELF magic)");
	cr_assert_eq(check(disk, 0, 0, 0), -ENOEXEC);
	cr_assert_str_eq(err, "the kernel image is empty");
}

Test(boot_check, elf_without_pvh_note_and_wrong_machine_are_refused)
{
	uint8_t buf[ELF_SIZE];

	make_elf64(buf);
	cr_assert_eq(check(buf, sizeof(buf), 0, 0), 0, "%s", err);
	put_note(buf + ELF_NOTE_OFF, XEN_ELFNOTE_PHYS32_ENTRY + 1, (uint32_t)ELF_ENTRY);
	cr_assert_eq(check(buf, sizeof(buf), 0, 0), -ENOEXEC);
	cr_assert(strstr(err, "no PVH entry note"), "%s", err);
	make_elf64(buf);
	buf[18] = EM_AARCH64;
	cr_assert_eq(check(buf, sizeof(buf), 0, 0), -ENOEXEC);
	cr_assert_str_eq(err, "ELF is not for x86");
}

Test(boot_check, kernel_initrd_and_cmdline_must_fit)
{
	static uint8_t b[BZ_SIZE];
	uint8_t elf[ELF_SIZE];

	make_bzimage(b);
	cr_assert_eq(check(b, sizeof(b), MiB(1), 2047), 0, "%s", err);
	/* init_size reaches past 256 MiB */
	put32(b, 0x260, MiB(256));
	cr_assert_eq(check(b, sizeof(b), 0, 0), -ENOMEM);
	cr_assert(strstr(err, "kernel does not fit in guest RAM"), "%s", err);
	/* the kernel occupies up to 24 MiB (pref_address 16 MiB + init_size 8 MiB) */
	make_bzimage(b);
	cr_assert_eq(check(b, sizeof(b), MiB(256) - MiB(24), 0), 0, "%s", err);
	cr_assert_eq(check(b, sizeof(b), MiB(256) - MiB(24) + 1, 0), -EFBIG);
	cr_assert(strstr(err, "initrd (243269633 bytes) does not fit"), "%s", err);
	/* cmdline_size is 2047 */
	cr_assert_eq(check(b, sizeof(b), 0, 2048), -E2BIG);
	cr_assert_str_eq(err, "kernel command line is longer than 2047 bytes");

	make_elf64(elf);
	cr_assert_eq(check(elf, sizeof(elf), MiB(254), 4095), 0, "%s", err);
	cr_assert_eq(check(elf, sizeof(elf), MiB(256) - MiB(1), 0), -EFBIG);
	cr_assert(strstr(err, "initrd (267386880 bytes) does not fit"), "%s", err);
	cr_assert_eq(check(elf, sizeof(elf), 0, 4096), -E2BIG);
}

/* The same verdicts as the loaders' on the images their tests build (above). */
Test(boot_check, agrees_with_boot_load_on_initrds_that_do_not_fit, .init = ram_setup,
     .fini = ram_teardown)
{
	static uint8_t b[BZ_SIZE];
	uint8_t elf[ELF_SIZE];
	uint8_t *big = calloc(1, MiB(256));
	struct boot_params_in in;
	struct boot_entry out;

	cr_assert_not_null(big);
	make_bzimage(b);
	make_elf64(elf);
	for (uint64_t size = MiB(230); size < MiB(256); size += MiB(1) + 4095) {
		in = params(b, sizeof(b));
		in.initrd = big;
		in.initrd_size = size;
		cr_assert_eq(boot_load(&mem, &in, &out, err, sizeof(err)) == 0,
			     check(b, sizeof(b), size, 0) == 0, "bzImage, initrd of %llu",
			     (unsigned long long)size);
		in = params(elf, sizeof(elf));
		in.initrd = big;
		in.initrd_size = size;
		cr_assert_eq(boot_load(&mem, &in, &out, err, sizeof(err)) == 0,
			     check(elf, sizeof(elf), size, 0) == 0, "PVH, initrd of %llu",
			     (unsigned long long)size);
	}
	free(big);
}

/* ---- the real Debian kernel ---- */

static int read_host_kernel(uint8_t **buf, size_t *len, char *path, size_t pathlen)
{
	glob_t g;
	int r = -1;

	if (glob("/boot/vmlinuz-*", 0, NULL, &g) != 0)
		return -1;
	for (size_t i = 0; i < g.gl_pathc && r; i++) {
		r = read_file(g.gl_pathv[i], SIZE_MAX, buf, len);
		if (!r)
			snprintf(path, pathlen, "%s", g.gl_pathv[i]);
	}
	globfree(&g);
	return r;
}

Test(boot_bzimage, debian_kernel_loads_with_boot_params_initrd_and_paging)
{
	static uint8_t initrd[MiB(1) + 123];
	const char *cmdline = "console=ttyS0 root=/dev/vda ro";
	const uint64_t zp = BOOT_ZERO_PAGE_ADDR;
	struct boot_params_in in;
	struct boot_entry out;
	uint8_t *k;
	size_t ksize, setup;
	char path[256];
	uint32_t rd_addr, rd_max;

	if (read_host_kernel(&k, &ksize, path, sizeof(path)))
		cr_skip_test("no readable /boot/vmlinuz-* on this host");
	cr_assert_eq(boot_detect(k, ksize), BOOT_IMAGE_BZIMAGE, "%s", path);
	cr_assert_eq(check(k, ksize, sizeof(initrd), strlen(cmdline)), 0, "%s: %s", path, err);
	for (size_t i = 0; i < sizeof(initrd); i++)
		initrd[i] = (uint8_t)(i * 13);
	in = params(k, ksize);
	in.cmdline = cmdline;
	in.initrd = initrd;
	in.initrd_size = sizeof(initrd);
	cr_assert_eq(boot_load(&mem, &in, &out, err, sizeof(err)), 0, "%s: %s", path, err);
	assert_linux64_entry(&out);

	cr_assert_arr_eq(ram(zp + 0x202, 4), "HdrS", 4);
	cr_assert_geq(ram16(zp + 0x206), 0x020c);
	cr_assert_eq(*(const uint8_t *)ram(zp + 0x210, 1), 0xff);
	cr_assert_eq(*(const uint8_t *)ram(zp + 0x211, 1) & 0x81, 0x81);
	cr_assert_eq(ram16(zp + 0x1fa), 0xffff);
	cr_assert_eq(ram32(zp + 0x228), BOOT_CMDLINE_ADDR);
	cr_assert_str_eq(ram(BOOT_CMDLINE_ADDR, strlen(cmdline) + 1), cmdline);

	cr_assert_eq(*(const uint8_t *)ram(zp + 0x1e8, 1), ne820);
	for (int i = 0; i < ne820; i++) {
		uint64_t ent = zp + 0x2d0 + (uint64_t)i * 20;

		cr_assert_eq(ram64(ent), e820[i].addr);
		cr_assert_eq(ram64(ent + 8), e820[i].size);
		cr_assert_eq(ram32(ent + 16), e820[i].type);
	}

	rd_addr = ram32(zp + 0x218);
	rd_max = ram32(zp + 0x22c);
	cr_assert_eq(ram32(zp + 0x21c), sizeof(initrd));
	cr_assert_eq(rd_addr % 4096, 0);
	cr_assert_leq((uint64_t)rd_addr + sizeof(initrd) - 1, rd_max);
	cr_assert_leq((uint64_t)rd_addr + sizeof(initrd), MiB(256));
	cr_assert_geq(rd_addr, ram64(zp + 0x258) + ram32(zp + 0x260),
		      "initrd overlaps the kernel's init_size");
	cr_assert_arr_eq(ram(rd_addr, sizeof(initrd)), initrd, sizeof(initrd));

	setup = ((size_t)(k[0x1f1] ? k[0x1f1] : 4) + 1) * 512;
	cr_assert_arr_eq(ram(0x100000, ksize - setup), k + setup, ksize - setup);
	free(k);
}

/* A vmlinux (a PVH ELF with "Linux" notes) is told apart from other PVH guests. */
Test(boot_pvh, linux_vmlinux_is_recognised_by_its_linux_notes)
{
	glob_t g;
	uint8_t *img = NULL;
	size_t len = 0;

	char pattern[512];

	snprintf(pattern, sizeof(pattern), "%s/.cache/vmm/linux-*/vmlinux",
		 getenv("HOME") ? getenv("HOME") : "/nonexistent");
	if (glob(pattern, 0, NULL, &g) != 0 || g.gl_pathc == 0)
		cr_skip_test("no cached vmlinux (make guests-linux builds one)");
	cr_assert_eq(read_file(g.gl_pathv[0], SIZE_MAX, &img, &len), 0);
	cr_assert(boot_pvh_is_linux(img, len), "%s has Linux notes", g.gl_pathv[0]);
	free(img);
	globfree(&g);
}
