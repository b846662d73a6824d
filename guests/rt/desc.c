/* SPDX-License-Identifier: MIT */
/* The TSS and the IDT; the GDT itself is static in start.S. */
#include "internal.h"

struct idt_gate {
	uint16_t offset_lo;
	uint16_t selector;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t offset_mid;
	uint32_t offset_hi;
	uint32_t reserved;
} __attribute__((packed));

#define IDT_INTERRUPT_GATE 0x8e /* P, DPL 0, 64-bit interrupt gate (SDM 6.14.1) */
#define TSS_AVAILABLE	   0x89 /* P, DPL 0, available 64-bit TSS (SDM 8.2.3) */

struct rt_tss rt_tss __attribute__((aligned(16)));
static struct idt_gate idt[256] __attribute__((aligned(16)));

struct __attribute__((packed)) desc_ptr {
	uint16_t limit;
	uint64_t base;
};

static void tss_init(void)
{
	uint64_t base = (uintptr_t)&rt_tss;
	uint64_t limit = sizeof(rt_tss) - 1;

	rt_tss.iomap_base = offsetof(struct rt_tss, iomap);
	rt_tss.iomap[8192] = 0xff; /* the byte after the bitmap must be all ones */
	rt_gdt_tss[0] = (limit & 0xffff) | (base & 0xffffff) << 16 | (uint64_t)TSS_AVAILABLE << 40 |
			((limit >> 16) & 0xf) << 48 | ((base >> 24) & 0xff) << 56;
	rt_gdt_tss[1] = base >> 32;
	__asm__ volatile("ltr %w0" : : "r"(SEL_TSS));
}

static void idt_init(void)
{
	struct desc_ptr ptr = {sizeof(idt) - 1, (uintptr_t)idt};

	for (int v = 0; v < 256; v++) {
		uint64_t a = v < 32 ? rt_trap_stubs[v]
				    : (uintptr_t)rt_irq_stubs + (v - 32) * RT_IRQ_STUB_SIZE;

		idt[v] = (struct idt_gate){
			.offset_lo = a & 0xffff,
			.selector = SEL_KCODE,
			.type_attr = IDT_INTERRUPT_GATE,
			.offset_mid = (a >> 16) & 0xffff,
			.offset_hi = a >> 32,
		};
	}
	__asm__ volatile("lidt %0" : : "m"(ptr));
}

/* Legacy 8259 PICs: firmware may leave the timer unmasked, on a vector we do not expect */
static void pic_mask_all(void)
{
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
}

void rt_desc_init(void)
{
	pic_mask_all();
	tss_init();
	idt_init();
}
