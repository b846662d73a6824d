/* SPDX-License-Identifier: MIT */
/*
 * PVH ELF loader: the Xen PVH boot ABI (xen/include/public/arch-x86/hvm/start_info.h, Xen
 * docs/misc/pvh.pandoc). The kernel is an ELF with a XEN_ELFNOTE_PHYS32_ENTRY note; the vCPU
 * starts at that entry in 32-bit protected mode, paging off, with EBX = &hvm_start_info.
 *
 * The image comes from the user: every offset and size read from it is bounds-checked
 * against the file and against guest RAM before use.
 */
#include "vmm/boot/boot.h"
#include "vmm/boot/boot_internal.h"

#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm/util.h"

#define PAGE_SIZE 4096ULL

/* A program or section header, whichever ELF class it came from. */
struct elf_seg {
	uint32_t type;
	uint64_t offset;
	uint64_t paddr;
	uint64_t filesz;
	uint64_t memsz;
	uint64_t align;
};

struct elf_file {
	const uint8_t *img;
	size_t size;
	bool is64;
	uint64_t phoff, shoff;
	uint16_t phentsize, phnum, shentsize, shnum;
};

/* Is [off, off+len) inside the file? */
static bool in_file(const struct elf_file *f, uint64_t off, uint64_t len)
{
	return off <= f->size && len <= f->size - off;
}

static int elf_parse_header(struct elf_file *f, char *err, size_t errlen)
{
	const uint8_t *id = f->img;

	if (f->size < EI_NIDENT || memcmp(id, ELFMAG, SELFMAG) != 0) {
		snprintf(err, errlen, "not an ELF file");
		return -ENOEXEC;
	}
	if (id[EI_DATA] != ELFDATA2LSB) {
		snprintf(err, errlen, "ELF is not little-endian");
		return -ENOEXEC;
	}
	if (id[EI_CLASS] == ELFCLASS64) {
		Elf64_Ehdr eh;

		if (f->size < sizeof(eh))
			goto truncated;
		memcpy(&eh, f->img, sizeof(eh));
		if (eh.e_machine != EM_X86_64)
			goto machine;
		f->is64 = true;
		f->phoff = eh.e_phoff;
		f->shoff = eh.e_shoff;
		f->phentsize = eh.e_phentsize;
		f->phnum = eh.e_phnum;
		f->shentsize = eh.e_shentsize;
		f->shnum = eh.e_shnum;
		if (f->phentsize < sizeof(Elf64_Phdr))
			goto bad_phdr;
		if (f->shentsize < sizeof(Elf64_Shdr))
			f->shnum = 0;
	} else if (id[EI_CLASS] == ELFCLASS32) {
		Elf32_Ehdr eh;

		if (f->size < sizeof(eh))
			goto truncated;
		memcpy(&eh, f->img, sizeof(eh));
		if (eh.e_machine != EM_386 && eh.e_machine != EM_X86_64)
			goto machine;
		f->is64 = false;
		f->phoff = eh.e_phoff;
		f->shoff = eh.e_shoff;
		f->phentsize = eh.e_phentsize;
		f->phnum = eh.e_phnum;
		f->shentsize = eh.e_shentsize;
		f->shnum = eh.e_shnum;
		if (f->phentsize < sizeof(Elf32_Phdr))
			goto bad_phdr;
		if (f->shentsize < sizeof(Elf32_Shdr))
			f->shnum = 0;
	} else {
		snprintf(err, errlen, "unknown ELF class %u", id[EI_CLASS]);
		return -ENOEXEC;
	}
	/* PN_XNUM (more headers than e_phnum can say) is not something a kernel needs. */
	if (f->phnum == 0 || f->phnum == PN_XNUM)
		goto bad_phdr;
	if (!in_file(f, f->phoff, (uint64_t)f->phnum * f->phentsize)) {
		snprintf(err, errlen, "ELF program headers lie outside the file");
		return -ENOEXEC;
	}
	/* Section headers are only a fallback for finding the note: ignore them if bogus. */
	if (f->shnum && !in_file(f, f->shoff, (uint64_t)f->shnum * f->shentsize))
		f->shnum = 0;
	return 0;

truncated:
	snprintf(err, errlen, "ELF header is truncated (%zu bytes)", f->size);
	return -ENOEXEC;
machine:
	snprintf(err, errlen, "ELF is not for x86");
	return -ENOEXEC;
bad_phdr:
	snprintf(err, errlen, "ELF has no usable program headers");
	return -ENOEXEC;
}

static struct elf_seg elf_phdr(const struct elf_file *f, unsigned int i)
{
	const uint8_t *p = f->img + f->phoff + (uint64_t)i * f->phentsize;
	struct elf_seg s;

	if (f->is64) {
		Elf64_Phdr ph;

		memcpy(&ph, p, sizeof(ph));
		s = (struct elf_seg){ph.p_type,	  ph.p_offset, ph.p_paddr,
				     ph.p_filesz, ph.p_memsz,  ph.p_align};
	} else {
		Elf32_Phdr ph;

		memcpy(&ph, p, sizeof(ph));
		s = (struct elf_seg){ph.p_type,	  ph.p_offset, ph.p_paddr,
				     ph.p_filesz, ph.p_memsz,  ph.p_align};
	}
	return s;
}

/* A section header in the same shape; memsz = filesz = sh_size. */
static struct elf_seg elf_shdr(const struct elf_file *f, unsigned int i)
{
	const uint8_t *p = f->img + f->shoff + (uint64_t)i * f->shentsize;
	struct elf_seg s;

	if (f->is64) {
		Elf64_Shdr sh;

		memcpy(&sh, p, sizeof(sh));
		s = (struct elf_seg){sh.sh_type, sh.sh_offset, sh.sh_addr,
				     sh.sh_size, sh.sh_size,   sh.sh_addralign};
	} else {
		Elf32_Shdr sh;

		memcpy(&sh, p, sizeof(sh));
		s = (struct elf_seg){sh.sh_type, sh.sh_offset, sh.sh_addr,
				     sh.sh_size, sh.sh_size,   sh.sh_addralign};
	}
	return s;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* A note visitor: 1 stops the walk with success, -errno stops it with that error. */
typedef int (*note_fn)(void *ctx, const uint8_t *name, uint32_t namesz, uint32_t type,
		       const uint8_t *desc, uint32_t descsz);

/*
 * Walk the notes in [off, off+len) of the file. Returns what the visitor returned to stop,
 * or 0 at the end. A note list that runs off its end just stops the walk.
 */
static int walk_notes(const struct elf_file *f, uint64_t off, uint64_t len, uint64_t align,
		      note_fn fn, void *ctx)
{
	uint64_t a = align == 8 ? 8 : 4; /* notes pad name and desc to 4 (8 in some 64-bit files) */
	uint64_t pos, end;

	if (!in_file(f, off, len))
		return 0;
	pos = off;
	end = off + len;
	while (end - pos >= 12) {
		uint32_t namesz = rd32(f->img + pos);
		uint32_t descsz = rd32(f->img + pos + 4);
		uint32_t type = rd32(f->img + pos + 8);
		const uint8_t *name, *desc;
		int r;

		pos += 12;
		if (ALIGN_UP((uint64_t)namesz, a) > end - pos)
			return 0;
		name = f->img + pos;
		pos += ALIGN_UP((uint64_t)namesz, a);
		if (descsz > end - pos)
			return 0;
		desc = f->img + pos;
		r = fn(ctx, name, namesz, type, desc, descsz);
		if (r)
			return r;
		if (ALIGN_UP((uint64_t)descsz, a) >= end - pos)
			break;
		pos += ALIGN_UP((uint64_t)descsz, a);
	}
	return 0;
}

/* Every PT_NOTE segment, then (linkers that drop PT_NOTE keep them) every SHT_NOTE section. */
static int walk_all_notes(const struct elf_file *f, note_fn fn, void *ctx)
{
	int r = 0;

	for (unsigned int i = 0; i < f->phnum && r == 0; i++) {
		struct elf_seg s = elf_phdr(f, i);

		if (s.type == PT_NOTE)
			r = walk_notes(f, s.offset, s.filesz, s.align, fn, ctx);
	}
	for (unsigned int i = 0; i < f->shnum && r == 0; i++) {
		struct elf_seg s = elf_shdr(f, i);

		if (s.type == SHT_NOTE)
			r = walk_notes(f, s.offset, s.filesz, s.align, fn, ctx);
	}
	return r;
}

/* ("Xen", XEN_ELFNOTE_PHYS32_ENTRY): the 32-bit entry, -ENOEXEC if unusable. */
static int pvh_note(void *ctx, const uint8_t *name, uint32_t namesz, uint32_t type,
		    const uint8_t *desc, uint32_t descsz)
{
	uint64_t v = 0;

	if (namesz != 4 || memcmp(name, "Xen", 4) != 0 || type != XEN_ELFNOTE_PHYS32_ENTRY)
		return 0;
	/* Xen reads the note as a number of 4 or 8 bytes (elf_note_numeric). */
	if (descsz != 4 && descsz != 8)
		return -ENOEXEC;
	memcpy(&v, desc, descsz);
	if (v > UINT32_MAX)
		return -ENOEXEC;
	*(uint64_t *)ctx = v;
	return 1;
}

/* Linux's vmlinux carries notes owned by "Linux" (include/linux/elfnote.h). */
static int linux_note(void *ctx, const uint8_t *name, uint32_t namesz, uint32_t type,
		      const uint8_t *desc, uint32_t descsz)
{
	return namesz == 6 && memcmp(name, "Linux", 6) == 0;
}

bool boot_pvh_is_linux(const uint8_t *img, size_t size)
{
	struct elf_file f = {.img = img, .size = size};
	char err[8];

	if (boot_detect(img, size) != BOOT_IMAGE_PVH_ELF || elf_parse_header(&f, err, sizeof(err)))
		return false;
	return walk_all_notes(&f, linux_note, NULL) == 1;
}

static int pvh_entry(const struct elf_file *f, uint64_t *entry, char *err, size_t errlen)
{
	int r = walk_all_notes(f, pvh_note, entry);

	if (r == 0) {
		snprintf(err, errlen, "ELF has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)");
		return -ENOEXEC;
	}
	if (r < 0) {
		snprintf(err, errlen, "ELF PVH entry note is malformed (needs a 32-bit address)");
		return -ENOEXEC;
	}
	return 0;
}

/* Check every PT_LOAD before writing any; returns the end of the highest one in *kernel_end. */
static int check_segments(const struct boot_ram *ram, const struct elf_file *f,
			  uint64_t *kernel_end, char *err, size_t errlen)
{
	bool any = false;

	*kernel_end = 0;
	for (unsigned int i = 0; i < f->phnum; i++) {
		struct elf_seg s = elf_phdr(f, i);
		uint64_t end;

		if (s.type != PT_LOAD || s.memsz == 0)
			continue;
		if (s.filesz > s.memsz) {
			snprintf(err, errlen, "ELF segment %u: file size exceeds memory size", i);
			return -ENOEXEC;
		}
		if (!in_file(f, s.offset, s.filesz)) {
			snprintf(err, errlen, "ELF segment %u lies outside the file", i);
			return -ENOEXEC;
		}
		if (add_overflows_u64(s.paddr, s.memsz, &end) ||
		    !boot_ram_has(ram, s.paddr, s.memsz)) {
			snprintf(err, errlen,
				 "segment at 0x%llx (0x%llx bytes) does not fit in guest RAM "
				 "(%llu bytes)",
				 (unsigned long long)s.paddr, (unsigned long long)s.memsz,
				 (unsigned long long)ram->size);
			return -ENOMEM;
		}
		if (s.paddr < BOOT_DATA_END) {
			snprintf(err, errlen,
				 "segment at 0x%llx overlaps the boot data below 0x%llx",
				 (unsigned long long)s.paddr, (unsigned long long)BOOT_DATA_END);
			return -ENOEXEC;
		}
		if (end > *kernel_end)
			*kernel_end = end;
		any = true;
	}
	if (!any) {
		snprintf(err, errlen, "ELF has nothing to load (no PT_LOAD segment)");
		return -ENOEXEC;
	}
	return 0;
}

static void load_segments(const struct guest_mem *mem, const struct elf_file *f)
{
	for (unsigned int i = 0; i < f->phnum; i++) {
		struct elf_seg s = elf_phdr(f, i);
		uint8_t *dst;

		if (s.type != PT_LOAD || s.memsz == 0)
			continue;
		/* check_segments() proved both ranges valid */
		dst = mem_gpa_to_hva(mem, s.paddr, s.memsz);
		memcpy(dst, f->img + s.offset, s.filesz);
		memset(dst + s.filesz, 0, s.memsz - s.filesz);
	}
}

/*
 * Bump allocator for hvm_start_info's page: start_info, then the memmap, the modlist and the
 * module command lines, each 8-byte aligned.
 */
struct info_page {
	uint8_t buf[BOOT_START_INFO_MAX];
	uint64_t used;
};

static uint64_t info_alloc(struct info_page *pg, uint64_t len)
{
	uint64_t at = ALIGN_UP(pg->used, 8);

	if (at > sizeof(pg->buf) || len > sizeof(pg->buf) - at)
		return 0;
	pg->used = at + len;
	return BOOT_START_INFO_ADDR + at;
}

static void *info_ptr(struct info_page *pg, uint64_t gpa)
{
	return pg->buf + (gpa - BOOT_START_INFO_ADDR);
}

/*
 * Modules go top-down from the end of low RAM, page-aligned (as QEMU places an initrd), and
 * must stay above the kernel. Module 0 is the initrd, then in->modules in order.
 */
static int place_modules(const struct guest_mem *mem, const struct boot_params_in *in,
			 uint64_t kernel_end, struct info_page *pg, struct hvm_start_info *si,
			 char *err, size_t errlen)
{
	const struct boot_ram ram = {.mem = mem, .size = mem->size};
	bool has_initrd = in->initrd && in->initrd_size;
	int n = in->nmodules + (has_initrd ? 1 : 0);
	uint64_t top = boot_ram_low_end(&ram) & ~(PAGE_SIZE - 1);
	uint64_t floor = ALIGN_UP(kernel_end, PAGE_SIZE);
	struct hvm_modlist_entry *list;

	if (n == 0)
		return 0;
	si->modlist_paddr = info_alloc(pg, (uint64_t)n * sizeof(*list));
	if (!si->modlist_paddr)
		goto too_many;
	list = info_ptr(pg, si->modlist_paddr);
	si->nr_modules = (uint32_t)n;
	for (int i = 0; i < n; i++) {
		const struct boot_module *m = NULL;
		const void *data = in->initrd;
		uint64_t size = in->initrd_size, addr;

		if (!has_initrd || i > 0) {
			m = &in->modules[has_initrd ? i - 1 : i];
			data = m->data;
			size = m->size;
		}
		if (size && !data) {
			snprintf(err, errlen, "module %d has no data", i);
			return -EINVAL;
		}
		if (!boot_place_below(top, floor, size, &addr)) {
			snprintf(err, errlen,
				 "%s (%llu bytes) does not fit in guest RAM between the kernel end "
				 "0x%llx and 0x%llx",
				 i == 0 && has_initrd ? "initrd" : "module",
				 (unsigned long long)size, (unsigned long long)floor,
				 (unsigned long long)top);
			return -ENOMEM;
		}
		if (mem_write(mem, addr, data, size)) {
			snprintf(err, errlen, "module %d at 0x%llx is outside guest RAM", i,
				 (unsigned long long)addr);
			return -ENOMEM;
		}
		top = addr;
		list[i] = (struct hvm_modlist_entry){.paddr = addr, .size = size};
		if (m && m->cmdline) {
			size_t len = strlen(m->cmdline) + 1;
			uint64_t at = info_alloc(pg, len);

			if (!at)
				goto too_many;
			memcpy(info_ptr(pg, at), m->cmdline, len);
			list[i].cmdline_paddr = at;
		}
	}
	return 0;

too_many:
	snprintf(err, errlen, "module list and command lines do not fit in the %llu-byte PVH page",
		 (unsigned long long)BOOT_START_INFO_MAX);
	return -E2BIG;
}

int boot_check_pvh(const struct boot_ram *ram, const struct boot_check_in *in, char *err,
		   size_t errlen)
{
	struct elf_file f = {.img = in->kernel, .size = in->kernel_size};
	uint64_t entry, kernel_end, floor, addr;
	int r;

	r = elf_parse_header(&f, err, errlen);
	if (!r)
		r = pvh_entry(&f, &entry, err, errlen);
	if (!r)
		r = check_segments(ram, &f, &kernel_end, err, errlen);
	if (r)
		return r;
	if (in->cmdline_len > BOOT_CMDLINE_MAX - 1) {
		snprintf(err, errlen, "kernel command line is longer than %d bytes",
			 BOOT_CMDLINE_MAX - 1);
		return -E2BIG;
	}
	/* The initrd is module 0, placed first: as place_modules() does. */
	floor = ALIGN_UP(kernel_end, PAGE_SIZE);
	if (in->initrd_size &&
	    !boot_place_below(boot_ram_low_end(ram), floor, in->initrd_size, &addr)) {
		snprintf(err, errlen,
			 "initrd (%llu bytes) does not fit in guest RAM between the kernel end "
			 "0x%llx and 0x%llx",
			 (unsigned long long)in->initrd_size, (unsigned long long)floor,
			 (unsigned long long)(boot_ram_low_end(ram) & ~(PAGE_SIZE - 1)));
		return -EFBIG;
	}
	return 0;
}

int boot_load_pvh(struct guest_mem *mem, const struct boot_params_in *in, struct boot_entry *out,
		  char *err, size_t errlen)
{
	const struct boot_ram ram = {.mem = mem, .size = mem->size};
	struct elf_file f = {.img = in->kernel, .size = in->kernel_size};
	struct info_page pg = {0};
	struct hvm_start_info *si;
	struct hvm_memmap_table_entry *map;
	uint64_t entry = 0, kernel_end, si_gpa;
	int r;

	memset(out, 0, sizeof(*out));
	if (!in->kernel) {
		snprintf(err, errlen, "no kernel image given");
		return -EINVAL;
	}
	if (in->nmodules < 0 ||
	    in->nmodules > (int)(BOOT_START_INFO_MAX / sizeof(struct hvm_modlist_entry)) ||
	    (in->nmodules > 0 && !in->modules) || in->ne820 < 0 || (in->ne820 > 0 && !in->e820)) {
		snprintf(err, errlen, "bad boot parameters");
		return -EINVAL;
	}
	if (in->ne820 == 0) {
		snprintf(err, errlen, "no memory map for the PVH guest");
		return -EINVAL;
	}
	r = elf_parse_header(&f, err, errlen);
	if (r)
		return r;
	r = pvh_entry(&f, &entry, err, errlen);
	if (r)
		return r;
	r = check_segments(&ram, &f, &kernel_end, err, errlen);
	if (r)
		return r;

	si_gpa = info_alloc(&pg, sizeof(*si));
	si = info_ptr(&pg, si_gpa);
	*si = (struct hvm_start_info){
		.magic = XEN_HVM_START_MAGIC_VALUE,
		.version = 1, /* 1 = has the memmap */
		.memmap_entries = (uint32_t)in->ne820,
		.rsdp_paddr = in->rsdp, /* 0: the guest scans for it */
	};
	si->memmap_paddr = info_alloc(&pg, (uint64_t)in->ne820 * sizeof(*map));
	if (!si->memmap_paddr) {
		snprintf(err, errlen, "memory map (%d entries) does not fit in the PVH page",
			 in->ne820);
		return -E2BIG;
	}
	map = info_ptr(&pg, si->memmap_paddr);
	for (int i = 0; i < in->ne820; i++)
		map[i] = (struct hvm_memmap_table_entry){.addr = in->e820[i].addr,
							 .size = in->e820[i].size,
							 .type = in->e820[i].type};

	if (in->cmdline) {
		size_t len = strnlen(in->cmdline, BOOT_CMDLINE_MAX);

		if (len > BOOT_CMDLINE_MAX - 1) {
			snprintf(err, errlen, "kernel command line is longer than %d bytes",
				 BOOT_CMDLINE_MAX - 1);
			return -E2BIG;
		}
		if (mem_write(mem, BOOT_CMDLINE_ADDR, in->cmdline, len + 1))
			goto no_room;
		si->cmdline_paddr = BOOT_CMDLINE_ADDR;
	}

	load_segments(mem, &f);
	r = place_modules(mem, in, kernel_end, &pg, si, err, errlen);
	if (r)
		return r;
	if (mem_write(mem, BOOT_START_INFO_ADDR, pg.buf, pg.used))
		goto no_room;

	out->mode = BOOT_MODE_PVH32;
	out->rip = entry;
	out->rbx = BOOT_START_INFO_ADDR;
	return 0;

no_room:
	snprintf(err, errlen, "guest RAM too small for the boot data");
	return -ENOMEM;
}
