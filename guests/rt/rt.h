/* SPDX-License-Identifier: MIT */
/*
 * The test-guest runtime: everything a guest under guests/ may use.
 *
 * A guest defines `int main(void)`. The runtime boots it through the PVH entry (start.S)
 * into 64-bit ring 0 with the first 4 GiB identity-mapped, serial output ready and
 * exception handlers installed; main's return value goes to rt_exit().
 *
 * Exit statuses: rt_exit(code) writes `code` to the isa-debug-exit port 0xf4, so the VMM
 * (vmm or QEMU) exits with status (code << 1) | 1. rt_exit(0) -> 1, rt_exit(3) -> 7.
 * The runtime's own failures use the RT_EXIT_* codes below.
 */
#ifndef RT_H
#define RT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu.h"

/* ---- exit ---- */

#define RT_EXIT_PORT	  0xf4
#define RT_EXIT_BAD_BOOT  0x7d /* status 251: no valid hvm_start_info */
#define RT_EXIT_EXCEPTION 0x7e /* status 253: unexpected CPU exception */
#define RT_EXIT_DOUBLE	  0x7f /* status 255: exception while handling an exception */

/* Exit the VM with status (code << 1) | 1. Halts forever if the debug-exit port is absent. */
__attribute__((noreturn)) void rt_exit(uint32_t code);

/*
 * Power off (VMM exit status 0) through the ACPI PM1a control port, trying the ports vmm
 * and QEMU (pc and q35, after SeaBIOS) use; falls back to rt_exit(0), status 1.
 */
__attribute__((noreturn)) void rt_poweroff(void);

/* ---- port I/O ---- */

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint16_t inw(uint16_t port)
{
	uint16_t v;
	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/* ---- MMIO (physical addresses: identity-mapped below 4 GiB, above it after rt_map) ---- */

#define RT_MMIO_ACCESSORS(bits)                                                                    \
	static inline uint##bits##_t mmio_read##bits(uint64_t addr)                                \
	{                                                                                          \
		return *(volatile uint##bits##_t *)(uintptr_t)addr;                                \
	}                                                                                          \
	static inline void mmio_write##bits(uint64_t addr, uint##bits##_t v)                       \
	{                                                                                          \
		*(volatile uint##bits##_t *)(uintptr_t)addr = v;                                   \
	}
RT_MMIO_ACCESSORS(8)
RT_MMIO_ACCESSORS(16)
RT_MMIO_ACCESSORS(32)
RT_MMIO_ACCESSORS(64)
#undef RT_MMIO_ACCESSORS

static inline void rt_barrier(void)
{
	__asm__ volatile("" : : : "memory");
}

static inline uint64_t rt_rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* TSC at the first instruction of the PVH entry: rt_rdtsc() - rt_entry_tsc = time since. */
extern uint64_t rt_entry_tsc;

/* ---- milestones: the vmm logs a timestamp for each byte written to port 0x3f0 ---- */

#define RT_MILESTONE_PORT 0x3f0
static inline void rt_milestone(uint8_t id)
{
	outb(RT_MILESTONE_PORT, id);
}

/* ---- serial console (COM1 16550 at 0x3f8) and printf ---- */

void rt_serial_init(void);
void rt_serial_write(const char *s, size_t len);
void rt_putc(char c);

/*
 * printf subset: %s %c %d %i %u %x %X %p %%, length modifiers l and ll (and z),
 * flags '-' and '0', a field width (also '*'). Lines end in "\n" only, no "\r".
 */
__attribute__((format(printf, 1, 2))) int rt_printf(const char *fmt, ...);
/* A test guest's failed check: prints "<rt_prog>: FAIL <message>" and counts it in
 * rt_failures (the guest's main reports the total and picks its exit status from it). A guest
 * names itself with `const char *rt_prog = "name";` (rt's default is weak). */
extern const char *rt_prog;
extern int rt_failures;
__attribute__((format(printf, 1, 2))) void rt_fail(const char *fmt, ...);
int rt_vprintf(const char *fmt, va_list ap);
__attribute__((format(printf, 3, 4))) int rt_snprintf(char *buf, size_t size, const char *fmt, ...);
int rt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

/* ---- PVH boot information ---- */

/* Xen public/arch-x86/hvm/start_info.h, version 1 */
#define HVM_START_MAGIC_VALUE 0x336ec578

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;	 /* version >= 1 */
	uint32_t memmap_entries; /* version >= 1 */
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type; /* RT_MEM_* (e820 types) */
	uint32_t reserved;
};

#define RT_MEM_RAM	1
#define RT_MEM_RESERVED 2
#define RT_MEM_ACPI	3
#define RT_MEM_NVS	4
#define RT_MEM_UNUSABLE 5

/* The start_info the loader passed (magic already checked by the runtime). */
const struct hvm_start_info *rt_start_info(void);
/* Memory map: number of entries, *entries set to the table (0 and NULL for version 0). */
int rt_memmap(const struct hvm_memmap_table_entry **entries);
/* Sum of RT_MEM_RAM sizes. */
uint64_t rt_ram_total(void);
/* Modules: number of entries, *mods set to the table. */
int rt_modules(const struct hvm_modlist_entry **mods);
/* The module's command line, or "" */
const char *rt_module_cmdline(const struct hvm_modlist_entry *mod);

/* ---- kernel command line ---- */

/* The whole command line as the loader passed it ("" if none). */
const char *rt_cmdline(void);
/*
 * Value of `key=value` (last occurrence wins; "..." quotes are stripped), "" for a bare
 * `key`, NULL if absent. The string stays valid for the life of the guest.
 */
const char *rt_cmdline_get(const char *key);
/* Numeric value (decimal, or hex with 0x) of key, or def if absent or not a number. */
uint64_t rt_cmdline_u64(const char *key, uint64_t def);
/* Is `key` present with value "", "1", "y", "yes", "on" or "true"? */
bool rt_cmdline_flag(const char *key);

/* ---- memory ---- */

#define RT_MAP_UC 1 /* uncached (PCD|PWT): for MMIO registers */

/*
 * Identity-map [addr, addr + size) with 2 MiB pages (rounded outwards), user-accessible,
 * writable. Works below and above 4 GiB (up to 2^47). 0 or -1 when out of table pages.
 */
int rt_map(uint64_t addr, uint64_t size, unsigned int flags);

/*
 * Bump allocator over the RAM that follows the guest image (below 4 GiB, so always mapped).
 * Not zeroed. align must be a power of two. NULL when exhausted. Never freed.
 */
void *rt_alloc(size_t size, size_t align);

/* ---- ring 3 ---- */

/*
 * Run fn(arg) at CPL 3 on user_stack_top (NULL: the runtime's 64 KiB user stack) and
 * return its return value. Every page is user-accessible, so fn may use any memory and
 * MMIO; the TSS I/O bitmap allows every port, so it may use port I/O and rt_printf too.
 * iretq asks for IF=0 and IOPL=3, but some hosts (HOST.md's) run ring 3 with IF=1 and
 * IOPL=0 regardless: the runtime masks the 8259s and has a gate for every vector, and
 * the I/O bitmap does not depend on IOPL. A fault in fn is reported like any other
 * exception and exits with RT_EXIT_EXCEPTION. Not reentrant.
 */
uint64_t rt_run_user(uint64_t (*fn)(uint64_t arg), uint64_t arg, void *user_stack_top);

/* ---- exceptions ---- */

/* The stack frame trap stubs build (traps.S), lowest address first. */
struct rt_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

/*
 * Optional hook: called first for every exception (except the ring-3 return) and every
 * interrupt (vector >= 32); return true if handled, and the frame is resumed with iretq
 * (for a fault, fix frame->rip first). Unhandled interrupts are ignored, without EOI;
 * unhandled exceptions are reported and exit with RT_EXIT_EXCEPTION. NULL to remove.
 */
typedef bool (*rt_trap_hook_fn)(struct rt_frame *frame);
void rt_set_trap_hook(rt_trap_hook_fn hook);

/* ---- small libc ---- */

void *memset(void *s, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
/* Parse decimal or 0x-hex; *end (if not NULL) points after the digits. */
uint64_t rt_strtou64(const char *s, const char **end);

/* The guest's entry point, called by the runtime. */
int main(void);

#endif
