/* SPDX-License-Identifier: MIT */
/*
 * QEMU's firmware configuration device (fw_cfg), as SeaBIOS and OVMF read it: numbered items
 * selected through a 16-bit selector, read a byte at a time from the data port or in bulk
 * through the DMA interface. Facts from QEMU docs/specs/fw_cfg.rst and SeaBIOS
 * src/fw/paravirt.c.
 *
 * x86 ports: 0x510 selector (16-bit, little-endian), 0x511 data (8-bit), 0x514-0x51b DMA
 * address (64-bit big-endian; a write to the low half at 0x518 starts the transfer). The DMA
 * descriptor {be32 control, be32 length, be64 address} and every buffer it names are reached
 * through mem_gpa_to_hva() only (DESIGN.md rule 2); a bad one sets the ERROR bit.
 *
 * Items at keys below 0x20 are added by number; named files get keys from 0x20 on, in the
 * order of their names, and appear in the file directory (key 0x19) sorted by name.
 */
#ifndef VMM_DEV_FW_CFG_H
#define VMM_DEV_FW_CFG_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/mem.h"

#define FW_CFG_PORT_BASE 0x510
#define FW_CFG_PORT_SIZE 12 /* selector 0x510, data 0x511, DMA address 0x514-0x51b */
#define FW_CFG_PORT_SEL	 0x510
#define FW_CFG_PORT_DATA 0x511
#define FW_CFG_PORT_DMA	 0x514

/* Keys (fw_cfg.rst "Firmware Configuration Items"; the rest from SeaBIOS paravirt.c). */
#define FW_CFG_SIGNATURE     0x00
#define FW_CFG_ID	     0x01
#define FW_CFG_NB_CPUS	     0x05
#define FW_CFG_BOOT_MENU     0x0e
#define FW_CFG_MAX_CPUS	     0x0f
#define FW_CFG_FILE_DIR	     0x19
#define FW_CFG_FILE_FIRST    0x20
#define FW_CFG_IRQ0_OVERRIDE 0x8002
#define FW_CFG_MAX_FILES     0x100

/* FW_CFG_ID bits */
#define FW_CFG_VERSION	   0x01 /* the traditional selector/data interface */
#define FW_CFG_VERSION_DMA 0x02

/* DMA control bits; SELECT puts the key in bits 31:16. */
#define FW_CFG_DMA_CTL_ERROR  0x01
#define FW_CFG_DMA_CTL_READ   0x02
#define FW_CFG_DMA_CTL_SKIP   0x04
#define FW_CFG_DMA_CTL_SELECT 0x08
#define FW_CFG_DMA_CTL_WRITE  0x10

/* What the DMA address register reads as: "QEMU CFG" in big-endian order. */
#define FW_CFG_DMA_SIGNATURE 0x51454d5520434647ULL

/* File directory entry: be32 size, be16 select, u16 reserved, char name[56]. */
#define FW_CFG_FILE_NAME_MAX  56
#define FW_CFG_DIR_ENTRY_SIZE 64

struct fw_cfg;

/* A device that reaches guest memory through `mem` (may be NULL: DMA always fails). */
struct fw_cfg *fw_cfg_create(const struct guest_mem *mem);
void fw_cfg_destroy(struct fw_cfg *f);

/*
 * Add a numbered item (key < FW_CFG_FILE_FIRST or an arch key >= 0x8000); the data are
 * copied. 0, -EINVAL (a file-range key, the directory key, or too long), -EEXIST, -ENOMEM.
 */
int fw_cfg_add_item(struct fw_cfg *f, uint16_t key, const void *data, uint32_t len);

/*
 * Add a named file (1 to 55 characters); the data are copied. `writable` lets the guest
 * overwrite it through DMA WRITE (never resize it). 0, -EINVAL, -EEXIST, -ENOSPC, -ENOMEM.
 */
int fw_cfg_add_file(struct fw_cfg *f, const char *name, const void *data, uint32_t len,
		    bool writable);

/* The key a file was given (valid once every file is added), or -ENOENT. */
int fw_cfg_file_key(const struct fw_cfg *f, const char *name);

/* The current contents of a file (writable files change), or NULL. */
const uint8_t *fw_cfg_file_data(const struct fw_cfg *f, const char *name, uint32_t *len);

/* Registered at FW_CFG_PORT_BASE for FW_CFG_PORT_SIZE ports. */
extern const struct bus_ops fw_cfg_bus_ops;

#endif
