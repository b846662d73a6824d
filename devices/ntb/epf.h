/* SPDX-License-Identifier: MIT */
/*
 * The epf personality's register interface: what Linux's pci-epf-ntb endpoint function shows
 * each host through a TI J721E, as the host driver ntb_hw_epf reads it
 * (drivers/ntb/hw/epf/ntb_hw_epf.c; names as it spells them, layout of the ctrl region as
 * struct epf_ntb_ctrl in drivers/pci/endpoint/functions/pci-epf-ntb.c).
 *
 * BARs (ntb_hw_epf's j721e_map), all 32-bit memory like pci-epf-ntb's:
 *   BAR0  4 KiB  ctrl region at 0, the MSI-X table and PBA, this side's scratchpads at
 *                NTB_EPF_SPAD_OFFSET
 *   BAR1  4 KiB  the peer's scratchpads (what the peer reads as its own)
 *   BAR2  2 * MW1 size: doorbells from 0 (DB_ENTRY_SIZE apart), MW1 from MW1_OFFSET
 *   BAR3  MW2 (when the second window is configured)
 */
#ifndef DEVICES_NTB_EPF_H
#define DEVICES_NTB_EPF_H

#define EPF_VENDOR_TI	 0x104c
#define EPF_DEVICE_J721E 0xb00d
#define EPF_CLASS	 0x050000 /* PCI_CLASS_MEMORY_RAM << 8: ntb_epf_pci_tbl wants 0x0500xx */

/* ctrl region (BAR0) */
#define NTB_EPF_COMMAND	      0x00
#define NTB_EPF_ARGUMENT      0x04
#define NTB_EPF_CMD_STATUS    0x08 /* 16 bits */
#define NTB_EPF_LINK_STATUS   0x0a /* 16 bits, read-only */
#define NTB_EPF_TOPOLOGY      0x0c
#define NTB_EPF_LOWER_ADDR    0x10
#define NTB_EPF_UPPER_ADDR    0x14
#define NTB_EPF_LOWER_SIZE    0x18
#define NTB_EPF_UPPER_SIZE    0x1c
#define NTB_EPF_MW_COUNT      0x20
#define NTB_EPF_MW1_OFFSET    0x24
#define NTB_EPF_SPAD_OFFSET   0x28
#define NTB_EPF_SPAD_COUNT    0x2c
#define NTB_EPF_DB_ENTRY_SIZE 0x30
#define NTB_EPF_DB_DATA(n)    (0x34 + (n)*4)
#define NTB_EPF_DB_OFFSET(n)  (0xb4 + (n)*4)
#define NTB_EPF_CTRL_END      0x134

#define CMD_CONFIGURE_DOORBELL 1
#define CMD_TEARDOWN_DOORBELL  2
#define CMD_CONFIGURE_MW       3
#define CMD_TEARDOWN_MW	       4
#define CMD_LINK_UP	       5
#define CMD_LINK_DOWN	       6

#define COMMAND_STATUS_OK    1
#define COMMAND_STATUS_ERROR 2
#define LINK_STATUS_UP	     0x1
#define MSIX_ENABLE	     (1u << 16) /* CONFIGURE_DOORBELL argument */
#define DB_COUNT_MASK	     0xffffu

/* Our layout choices (the driver reads every one of them from the ctrl region) */
#define EPF_NR_VECTORS	  32 /* pci-epf-ntb's MAX_DB_COUNT; ntb_hw_epf asks for 4..32 */
#define EPF_MSIX_TABLE	  0x200
#define EPF_MSIX_PBA	  0x400
#define EPF_SPAD_OFFSET	  0x800
#define EPF_BAR0_SIZE	  0x1000
#define EPF_BAR1_SIZE	  0x1000
#define EPF_DB_ENTRY_SIZE 4	 /* pci-epf-ntb without an EPC alignment */
#define EPF_MW_ALIGN	  0x1000 /* ntb_epf_mw_get_align: addr_align SZ_4K */

#endif
