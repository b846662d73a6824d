/* SPDX-License-Identifier: MIT */
/*
 * IDT 89HPES24NT6AG2 register map: the NT function's configuration space (aliased by BAR0)
 * and the switch-global registers behind GASAADDR/GASADATA. Names follow the IDT
 * datasheet as the Linux driver spells them (drivers/ntb/hw/idt/ntb_hw_idt.h), so the model
 * and the driver read side by side. All registers are 32 bits, little-endian.
 */
#ifndef DEVICES_NTB_IDT_H
#define DEVICES_NTB_IDT_H

#define IDT_VENDOR	  0x111d
#define IDT_DEVICE_NT6AG2 0x8091
#define IDT_CLASS_NT	  0x068000 /* bridge, other */

/* ---- NT function configuration space (BAR0 maps all 4 KiB of it) ---- */
#define IDT_NT_PCICMDSTS   0x004
#define IDT_NT_PCIECAP	   0x040 /* PCI Express capability lives here on the IDT part */
#define IDT_NT_PCIELCAP	   0x04c
#define IDT_NT_PCIELCTLSTS 0x050
#define IDT_NT_PMCAP	   0x0c0
#define IDT_NT_MSICAP	   0x0d0
#define IDT_NT_NTCTL	   0x400
#define IDT_NT_NTINTSTS	   0x404
#define IDT_NT_NTINTMSK	   0x408
#define IDT_NT_NTSDATA	   0x40c
#define IDT_NT_NTGSIGNAL   0x410
#define IDT_NT_OUTDBELLSET 0x420
#define IDT_NT_INDBELLSTS  0x428
#define IDT_NT_INDBELLMSK  0x42c
#define IDT_NT_OUTMSG0	   0x430
#define IDT_NT_INMSG0	   0x440
#define IDT_NT_INMSGSRC0   0x450
#define IDT_NT_MSGSTS	   0x460
#define IDT_NT_MSGSTSMSK   0x464
#define IDT_NT_BARSETUP0   0x470 /* then LIMIT, LTBASE, UTBASE; 0x10 per BAR, 6 BARs */
#define IDT_NT_BAREND	   0x4d0
#define IDT_NT_NTMTBLADDR  0x4d0
#define IDT_NT_NTMTBLSTS   0x4d4
#define IDT_NT_NTMTBLDATA  0x4d8
#define IDT_NT_REQIDCAP	   0x4dc
#define IDT_NT_LUTOFFSET   0x4e0
#define IDT_NT_LUTLDATA	   0x4e4
#define IDT_NT_LUTMDATA	   0x4e8
#define IDT_NT_LUTUDATA	   0x4ec
/* LUTOFFSET selects the entry LUTLDATA/MDATA/UDATA read and write (ntb_hw_idt.h) */
#define IDT_LUTOFFSET_INDEX_MASK 0x0000001fu
#define IDT_LUTOFFSET_BAR_MASK	 0x00000700u
#define IDT_LUTOFFSET_BAR_SHIFT	 8
#define IDT_LUTUDATA_PART_MASK	 0x0000000fu
#define IDT_LUTUDATA_VALID	 0x80000000u
#define IDT_NT_GASAADDR		 0xff8
#define IDT_NT_GASADATA		 0xffc
#define IDT_NT_REGS_SIZE	 0x1000
#define IDT_NT_PROPRIETARY	 0x400 /* below: the standard header and capabilities */

#define IDT_BAR_SETUP  0x0
#define IDT_BAR_LIMIT  0x4
#define IDT_BAR_LTBASE 0x8
#define IDT_BAR_UTBASE 0xc

#define IDT_PCICMDSTS_BME	   0x00000004u
#define IDT_PCIELCAP_PORTNUM_SHIFT 24
#define IDT_NTCTL_IDPROTDIS	   0x00000001u
#define IDT_NTCTL_CPEN		   0x00000002u
#define IDT_NTCTL_MASK		   0x0000000fu

#define IDT_NTINTSTS_MSG       0x00000001u
#define IDT_NTINTSTS_DBELL     0x00000002u
#define IDT_NTINTSTS_SEVENT    0x00000008u
#define IDT_NTINTSTS_TMPSENSOR 0x00000080u
#define IDT_NTINTMSK_VALID     0x0000008bu
#define IDT_NTGSIGNAL_SET      0x00000001u

#define IDT_OUTMSG_MASK 0x0000000fu /* MSGSTS: refused outbound messages, bit m */
#define IDT_INMSG_MASK	0x000f0000u /* MSGSTS: inbound message m present, bit 16 + m */
#define IDT_INMSG_SHIFT 16
#define IDT_MSG_MASK	(IDT_OUTMSG_MASK | IDT_INMSG_MASK)
#define IDT_MSG_CNT	4

#define IDT_BARSETUP_TYPE_64	 0x00000004u
#define IDT_BARSETUP_PREF	 0x00000008u
#define IDT_BARSETUP_SIZE_MASK	 0x000003f0u
#define IDT_BARSETUP_SIZE_SHIFT	 4
#define IDT_BARSETUP_SIZE_CFG	 0x000000c0u
#define IDT_BARSETUP_MODE_CFG	 0x00000400u
#define IDT_BARSETUP_ATRAN_MASK	 0x00001800u
#define IDT_BARSETUP_ATRAN_DIR	 0x00000000u
#define IDT_BARSETUP_ATRAN_LUT12 0x00000800u
#define IDT_BARSETUP_ATRAN_LUT24 0x00001000u
#define IDT_BARSETUP_TPART_MASK	 0x0000e000u
#define IDT_BARSETUP_TPART_SHIFT 13
#define IDT_BARSETUP_EN		 0x80000000u

#define IDT_NTMTBLDATA_VALID	  0x00000001u
#define IDT_NTMTBLDATA_PART_MASK  0x000e0000u
#define IDT_NTMTBLDATA_PART_SHIFT 17
#define IDT_NTMTBLDATA_WMASK	  0xe00fffffu
#define IDT_MTBL_ENTRY_CNT	  64

/* ---- switch-global registers (GASA) ---- */
#define IDT_SW_NTP_BASE	     0x01000 /* port p's NT function at 0x1000 + 0x2000 * p */
#define IDT_SW_NTP_STRIDE    0x02000
#define IDT_SW_SWPART0STS    0x3e104 /* + 0x20 * partition */
#define IDT_SW_SWPART_STRIDE 0x20
#define IDT_SW_SWPORT0STS    0x3e204 /* + 0x20 * port */
#define IDT_SW_SWPORT_STRIDE 0x20
#define IDT_SW_SESTS	     0x3ec00
#define IDT_SW_SEMSK	     0x3ec04
#define IDT_SW_SEPMSK	     0x3ec08
#define IDT_SW_SELINKUPSTS   0x3ec0c
#define IDT_SW_SELINKUPMSK   0x3ec10
#define IDT_SW_SELINKDNSTS   0x3ec14
#define IDT_SW_SELINKDNMSK   0x3ec18
#define IDT_SW_SEGSIGSTS     0x3ec30
#define IDT_SW_SEGSIGMSK     0x3ec34
#define IDT_SW_GDBELLSTS     0x3ec3c
#define IDT_SW_SWP0MSGCTL0   0x3ee00 /* + 0x20 * message + 4 * partition */
#define IDT_SW_MSGCTL_END    0x3ee80
#define IDT_SW_TMPCTL	     0x3f1d4
#define IDT_SW_TMPSTS	     0x3f1d8
#define IDT_SW_TMPALARM	     0x3f1dc
#define IDT_SW_TMPADJ	     0x3f1e0
#define IDT_SW_TSSLOPE	     0x3f1e4
#define IDT_SW_REG_MAX	     0x3ffff

#define IDT_SWPARTxSTS_STATE_ACT    0x00000020u
#define IDT_SWPORTxSTS_LINKUP	    0x00000010u
#define IDT_SWPORTxSTS_MODE_NT	    0x000000c0u
#define IDT_SWPORTxSTS_MODE_DIS	    0x00000000u
#define IDT_SWPORTxSTS_SWPART_SHIFT 10
#define IDT_SWPORTxSTS_DEVNUM_SHIFT 16

/* SESTS / SEMSK bits */
#define IDT_SE_LINKUP  0x00000001u
#define IDT_SE_LINKDN  0x00000002u
#define IDT_SE_GSIGNAL 0x00000020u

#define IDT_SWPxMSGCTL_REG_MASK	  0x00000003u
#define IDT_SWPxMSGCTL_PART_MASK  0x00000070u
#define IDT_SWPxMSGCTL_PART_SHIFT 4

/* TMPSTS/TMPALARM temperatures are unsigned 0:7:1 (half degrees Celsius). */
#define IDT_TMP_DEG(d) ((uint32_t)((d)*2))

#endif
