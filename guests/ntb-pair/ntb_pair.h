/* SPDX-License-Identifier: MIT */
/*
 * ntb-pair: one side of a two-VM link over an IDT 89HPES24NT6AG2 NT function (111d:8091),
 * driven the way Linux's ntb_hw_idt drives it. One file per idea: pci.c finds the function
 * and its BARs, link.c enables the link and watches it, xchg.c runs the doorbell, message
 * and memory-window exchange, irq.c takes a doorbell by MSI, bench.c measures, tsc.c keeps
 * time and sleeps.
 */
#ifndef NTB_PAIR_H
#define NTB_PAIR_H

#include "rt.h"

#define ECAM_BASE 0xB0000000ULL /* vmm/mem.h MEM_ECAM_BASE */

#define IDT_VENDOR 0x111d
#define IDT_DEVICE 0x8091

/* PCI Local Bus 3.0 */
#define PCI_COMMAND	   0x04
#define PCI_COMMAND_MEMORY 0x2
#define PCI_COMMAND_MASTER 0x4
#define PCI_HEADER_TYPE	   0x0e
#define PCI_SECONDARY_BUS  0x19
#define PCI_BAR0	   0x10

/* NT function registers (BAR0 = config space; ntb_hw_idt.h names) */
#define IDT_NT_PCICMDSTS    0x004
#define IDT_NT_PCIELCAP	    0x04c
#define IDT_NT_NTCTL	    0x400
#define IDT_NT_NTINTSTS	    0x404
#define IDT_NT_NTINTMSK	    0x408
#define IDT_NT_OUTDBELLSET  0x420
#define IDT_NT_INDBELLSTS   0x428
#define IDT_NT_INDBELLMSK   0x42c
#define IDT_NT_OUTMSG(m)    (0x430 + 4 * (m))
#define IDT_NT_INMSG(m)	    (0x440 + 4 * (m))
#define IDT_NT_INMSGSRC(m)  (0x450 + 4 * (m))
#define IDT_NT_MSGSTS	    0x460
#define IDT_NT_MSGSTSMSK    0x464
#define IDT_NT_BARSETUP(b)  (0x470 + 0x10 * (b))
#define IDT_NT_BARLIMIT(b)  (0x474 + 0x10 * (b))
#define IDT_NT_BARLTBASE(b) (0x478 + 0x10 * (b))
#define IDT_NT_BARUTBASE(b) (0x47c + 0x10 * (b))
#define IDT_NT_NTMTBLADDR   0x4d0
#define IDT_NT_NTMTBLDATA   0x4d8
#define IDT_NT_REQIDCAP	    0x4dc
#define IDT_NT_GASAADDR	    0xff8
#define IDT_NT_GASADATA	    0xffc

#define IDT_PCICMDSTS_BME	   0x4u
#define IDT_NTCTL_CPEN		   0x2u
#define IDT_MSGSTS_OUT(m)	   (1u << (m))
#define IDT_MSGSTS_IN(m)	   (1u << (16 + (m)))
#define IDT_BARSETUP_EN		   0x80000000u
#define IDT_BARSETUP_TYPE_64	   0x4u
#define IDT_BARSETUP_SIZE(v)	   (((v) >> 4) & 0x3f)
#define IDT_BARSETUP_ATRAN_MASK	   0x1800u
#define IDT_BARSETUP_TPART_MASK	   0xe000u
#define IDT_BARSETUP_TPART_SHIFT   13
#define IDT_NTMTBLDATA_VALID	   0x1u
#define IDT_NTMTBLDATA_REQID_SHIFT 1
#define IDT_NTMTBLDATA_REQID_MASK  0x1fffeu
#define IDT_NTMTBLDATA_PART_SHIFT  17

/* Switch-global registers behind GASAADDR/GASADATA */
#define IDT_SW_NTP(port, reg)	  (0x01000 + 0x2000 * (port) + (reg))
#define IDT_SW_SWPORTSTS(port)	  (0x3e204 + 0x20 * (port))
#define IDT_SW_SWPARTSTS(part)	  (0x3e104 + 0x20 * (part))
#define IDT_SW_SWPMSGCTL(part, m) (0x3ee00 + 0x20 * (m) + 4 * (part))
#define IDT_SWPORTSTS_LINKUP	  0x10u
#define IDT_SWPORTSTS_MODE(v)	  ((v)&0x3c0u)
#define IDT_SWPORTSTS_MODE_NT	  0xc0u
#define IDT_SWPORTSTS_SWPART(v)	  (((v) >> 10) & 7)
#define IDT_SWPARTSTS_STATE(v)	  ((v)&0x60u)
#define IDT_SWPARTSTS_ACT	  0x20u
#define IDT_SWPMSGCTL(reg, part)  ((uint32_t)(reg) | (uint32_t)(part) << 4)

#define NTB_NR_PORTS 6

/* Doorbell bits and message registers of the exchange protocol (xchg.c). */
#define DB_PING	     (1u << 0) /* A -> B */
#define DB_PONG	     (1u << 1) /* B -> A */
#define DB_MW_DONE   (1u << 2) /* A -> B: the pattern is in B's buffer */
#define DB_REFUSED   (1u << 3) /* A -> B: read message 1 now */
#define DB_BENCH     (1u << 4) /* A -> B: a bench copy is in B's buffer */
#define DB_BYE	     (1u << 5) /* A -> B: got everything, B may go */
#define DB_IRQ	     (1u << 6) /* either way: must arrive as an MSI */
#define DB_IRQ_READY (1u << 7) /* the receiver of DB_IRQ is listening */
#define MSG_DATA     0	       /* greetings and results */
#define MSG_FULL     1	       /* sent twice to an inbox nobody empties: refused */
#define MSG_ADDRLO   2	       /* B's buffer address */
#define MSG_ADDRHI   3

struct ntb_dev {
	uint8_t bus, devfn;
	uint64_t regs;		   /* BAR0 */
	uint64_t mw_addr, mw_size; /* BAR2 */
	unsigned port, part, peer_port, peer_part;
	bool a; /* role: A drives, B answers */
	const char *role;
	uint32_t gen; /* exchange number: 1, 2 after a relink */
};

static inline uint32_t nt_read(const struct ntb_dev *d, unsigned off)
{
	return mmio_read32(d->regs + off);
}
static inline void nt_write(const struct ntb_dev *d, unsigned off, uint32_t v)
{
	mmio_write32(d->regs + off, v);
}
/* Through GASAADDR/GASADATA, like ntb_hw_idt's idt_sw_read/idt_sw_write (ring 0 only: the
 * pair is not atomic, and ring 3 never touches it). */
uint32_t sw_read(const struct ntb_dev *d, uint32_t addr);
void sw_write(const struct ntb_dev *d, uint32_t addr, uint32_t v);

/* pci.c: the first 111d:8091 on the ECAM walk, memory and bus mastering on. */
int pci_find_ntb(struct ntb_dev *d);
/* Its configuration space through ECAM, dword-aligned. */
uint32_t cfg_read32(const struct ntb_dev *d, unsigned off);
void cfg_write32(const struct ntb_dev *d, unsigned off, uint32_t v);

/* irq.c: the local APIC on, with the hook for TIMER_VECTOR and the NT function's MSI. */
#define TIMER_VECTOR 0xef
void apic_enable(void);
/* MSI on; then a doorbell each way delivered as an interrupt (after the polled exchange). */
void irq_check(struct ntb_dev *d);

/* tsc.c */
uint64_t tsc_khz(void);
uint64_t ms_to_tsc(uint64_t ms);
uint64_t tsc_to_ns(uint64_t cycles);
void delay_ms(uint64_t ms);

/* link.c */
int link_setup(struct ntb_dev *d);
bool link_is_up(const struct ntb_dev *d);
/* Wait until the link is `up` (or down); prints the line; false after timeout_ms. */
bool link_wait(struct ntb_dev *d, bool up, uint64_t timeout_ms);

/* xchg.c: one whole exchange (ping-pong, messages, window), both roles. */
void xchg_run(struct ntb_dev *d, unsigned rounds);
/* Before powering off: A says bye; B, which sent the last message, stays until it hears
 * that or sees A gone (a vmm leaving may reset its peer's registers, inbox included). */
void xchg_finish(struct ntb_dev *d);
/* `rounds` of DB_PING/DB_PONG at CPL 3; A measures the round trips (percentiles when
 * `samples` has room for one per round). false on a stall. */
struct rtt {
	uint64_t avg_ns, min_ns, max_ns, p50_ns, p99_ns;
};
bool db_pingpong(const struct ntb_dev *d, unsigned rounds, uint64_t *samples, struct rtt *r);
/* A pattern of 64-bit words, written and checked at CPL 3 (rt_run_user with &pattern):
 * u_fill returns 0, u_check 0 or 1 + the index of the first wrong word. */
struct pattern {
	volatile uint64_t *buf;
	uint64_t words, seed;
};
uint64_t pattern_word(uint64_t seed, uint64_t i);
uint64_t u_fill(uint64_t pattern);
uint64_t u_check(uint64_t pattern);
/* Ring-3 wait until every bit is set in NT register `off`: its last value in *value; false
 * on timeout (nothing reported, nothing cleared). */
bool bits_wait(const struct ntb_dev *d, unsigned off, uint32_t bits, uint64_t timeout_ms,
	       uint32_t *value);
/* Ring-3 wait for doorbell bits (cleared when seen); false on timeout. */
bool db_wait(const struct ntb_dev *d, uint32_t bits, uint64_t timeout_ms);
/* The same, checking every millisecond and sleeping in hlt in between (long waits). */
bool db_sleep_wait(const struct ntb_dev *d, uint32_t bits, uint64_t timeout_ms);
/* Wait for inbound message m, return its data, check its source, clear it. */
bool msg_recv(const struct ntb_dev *d, unsigned m, uint32_t *data, uint64_t timeout_ms);
void msg_send(const struct ntb_dev *d, unsigned m, uint32_t data);
/* Route and write OUTMSG m, no check (MSGSTS.OUTm tells whether the peer's inbox took it). */
void msg_post(const struct ntb_dev *d, unsigned m, uint32_t data);
/* Translate BAR2 onto the peer's `addr` for `size` bytes, mapped for the CPU. 0 or -1. */
int mw_translate(const struct ntb_dev *d, uint64_t addr, uint64_t size);

/* soak.c: the survivor of a peer killed again and again (ntbpair.soak=N), and the traffic
 * of the victim it is killed in (ntbpair.storm, never returns without a failure). */
void soak_run(struct ntb_dev *d, unsigned cycles);
void storm_run(struct ntb_dev *d);

/* bench.c: bandwidth through BAR2 and doorbell latency (ntbpair.bench). */
void bench_run(struct ntb_dev *d);

#endif
