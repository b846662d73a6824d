/* SPDX-License-Identifier: MIT */
/*
 * The interrupt handle a device model sees (DESIGN.md rule 1): it never touches KVM.
 * The machine wires it to KVM_IRQ_LINE / irqfd; unit tests wire it to a recorder.
 */
#ifndef VMM_IRQ_H
#define VMM_IRQ_H

#include <stdint.h>

struct irq_line {
	/* Set the level of a legacy (ISA/IOAPIC) interrupt line. */
	void (*set_level)(void *opaque, uint32_t gsi, int level);
	void *opaque;
	uint32_t gsi;
};

static inline void irq_line_set(const struct irq_line *irq, int level)
{
	if (irq && irq->set_level)
		irq->set_level(irq->opaque, irq->gsi, level);
}

#endif
