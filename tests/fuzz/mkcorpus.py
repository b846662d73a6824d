#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the seed corpora of the harnesses (tests/fuzz/corpus/<name>/seed-*): a handful of
inputs in each harness's operation encoding that do what a driver does, so the fuzzer starts
from a controller that is enabled, a tree that is enumerated, a DMA that goes through.
Crash regressions (crash-*) are the fuzzer's own files and are not written here.

    tests/fuzz/mkcorpus.py            # rewrite every seed-* file
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def u8(v):
    return struct.pack('<B', v & 0xff)


def u16(v):
    return struct.pack('<H', v & 0xffff)


def u32(v):
    return struct.pack('<I', v & 0xffffffff)


def u64(v):
    return struct.pack('<Q', v & 0xffffffffffffffff)


def write(name, seeds):
    d = os.path.join(HERE, 'corpus', name)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        if f.startswith('seed-'):
            os.unlink(os.path.join(d, f))
    for seed, data in seeds.items():
        with open(os.path.join(d, 'seed-' + seed), 'wb') as f:
            f.write(data)


# ---- nvme (fuzz_nvme.c) ----

class Nvme:
    CMB, PMR, NSMGMT, LBA4K, FEWVEC, ZONED, PI, PI_EXT = 1, 2, 4, 8, 16, 32, 64, 128
    # address neighbourhoods (addr_of)
    RAM, RAM_END, HIGH, HIGH_END, BAR0, BAR2, BAR4, PEER, HOLE, TOP, PAGE, RAW = range(12)

    def __init__(self, cfg=0):
        self.b = u8(cfg)

    def addr(self, sel, off=0, align=False, hi=0):
        b = u8(sel | (0x80 if align else 0)) + u32(off)
        if sel == self.RAW:
            b += u32(hi)
        return b

    def page(self, i, off=0):
        """Data page i (0x10000 + 4 KiB * i); with off, a byte inside it (a RAM address)."""
        if off:
            return self.addr(self.RAM, 0x10000 + 4096 * i + off)
        return self.addr(self.PAGE, i)

    def op(self, o, *parts):
        self.b += u8(o) + b''.join(parts)
        return self

    def enable(self, sqs=15, cqs=15, mps=0):
        return self.op(6, u8(sqs), u8(cqs | mps << 5))

    def pair(self, qid=1, size=31, iv=1, flags=0, sq=b'', cq=b''):
        return self.op(7, u8(qid), u8(size), u8(iv), u8(flags), sq, cq)

    def cmd(self, q, opc, nsid=1, prp1=None, prp2=None, cdw=(0, 0, 0), flags=0, sgl=None,
            more=None, ring=True, reap=True):
        how = (1 if sgl else 0) | (2 if more else 0) | (0 if ring else 4) | (8 if reap else 0)
        nsid_b = {1: u8(0), 2: u8(2), 0xffffffff: u8(3)}.get(nsid)
        if nsid_b is None:
            nsid_b = u8(5) + u32(nsid)
        b = u8(q) + u8(how) + u8(opc) + u8(flags) + nsid_b
        b += prp1 if prp1 is not None else self.page(0)
        b += prp2 if prp2 is not None else self.page(1)
        if sgl:
            b += u8(sgl[0]) + u32(sgl[1])
        b += b''.join(u32(c) for c in cdw)
        if more:
            b += b''.join(u32(c) for c in more[:3]) + more[3]
        return self.op(8, b)

    def mem(self, where, data):
        return self.op(3, where, u8(len(data)), data)

    def putaddr(self, where, what):
        return self.op(4, where, what)

    def sgl(self, where, addr, length, typ):
        return self.op(5, where, addr, u32(length), u8(typ))

    def reg(self, off, val, size=4):
        return self.op(0, u16(off), u8({1: 0, 2: 1, 4: 2, 8: 3}[size]), u64(val))

    def ctrl_mem(self, how):
        return self.op(14 | 0x80, u8(how))

    def process(self):
        return self.op(11, u8(1))

    def msix(self, v):
        return self.op(13, u8(v))


def nvme_seeds():
    s = {}
    # Identify Controller and the namespace list, with MSI-X vector 0 set up
    n = Nvme().msix(0).enable()
    n.cmd(0, 0x06, nsid=0, cdw=(1, 0, 0)).cmd(0, 0x06, nsid=0, cdw=(2, 0, 0))
    s['identify'] = n.b
    # I/O queue pair 1, a 16-block write through a PRP list, read back, compare
    n = Nvme().enable().pair()
    n.putaddr(n.page(8), n.page(2)).putaddr(n.page(8, 8), n.page(3))
    n.cmd(1, 0x01, prp1=n.page(1), prp2=n.page(8), cdw=(0, 0, 15))
    n.cmd(1, 0x02, prp1=n.page(4), prp2=n.page(8), cdw=(0, 0, 15))
    n.cmd(1, 0x05, prp1=n.page(1), prp2=n.page(8), cdw=(0, 0, 15))
    s['prp-list'] = n.b
    # SGL: a Last Segment of two data blocks and a bit bucket (PSDT 01b)
    n = Nvme().enable().pair()
    n.sgl(n.page(20), n.page(1), 512, 0x00)
    n.sgl(n.page(20, 16), n.page(2), 512, 0x00)
    n.sgl(n.page(20, 32), n.page(0), 1024, 0x10)
    n.cmd(1, 0x02, flags=0x40, prp1=n.page(20), sgl=(0x30, 48), cdw=(0, 0, 3))
    n.cmd(1, 0x01, flags=0x40, prp1=n.page(20), sgl=(0x30, 32), cdw=(0, 0, 1))
    s['sgl'] = n.b
    # CMB on, queues and data in it; then PRP into BAR0 itself (QEMU CVE-2021-3929)
    n = Nvme(Nvme.CMB).enable().ctrl_mem(1)
    n.pair(flags=1, sq=n.addr(Nvme.BAR2, 0, True), cq=n.addr(Nvme.BAR2, 0x10000, True))
    n.cmd(1, 0x02, prp1=n.addr(Nvme.BAR2, 0x20000, True), cdw=(0, 0, 7))
    n.cmd(1, 0x02, prp1=n.addr(Nvme.BAR0, 0, True), cdw=(0, 0, 7))
    n.cmd(0, 0x06, nsid=0, prp1=n.addr(Nvme.BAR0, 0x1000, True), cdw=(1, 0, 0))
    s['cmb-bar0'] = n.b
    # PMR enabled and mapped, a read into it, a PMRSTS read (persistence point)
    n = Nvme(Nvme.PMR).enable().pair().ctrl_mem(4)
    n.cmd(1, 0x02, prp1=n.addr(Nvme.BAR4, 0, True), cdw=(0, 0, 7))
    n.op(1, u16(0xe08), u8(2))
    s['pmr'] = n.b
    # Get Log Page: error, SMART, effects, with offsets at and past the end (CVE-2021-3947)
    n = Nvme().enable()
    for lid, numd, off in ((1, 15, 0), (2, 127, 0), (5, 1023, 4092), (2, 127, 512),
                           (5, 0, 0xfffffffc), (4, 1023, 0)):
        n.cmd(0, 0x02, nsid=0xffffffff, cdw=(numd << 16 | lid, 0, off))
    s['log-page'] = n.b
    # Namespace Management: create, attach, Identify, write, detach, delete
    n = Nvme(Nvme.NSMGMT).enable()
    idns = u64(64) + u64(64) + bytes(10) + u8(0)
    n.mem(n.page(6), idns)
    n.cmd(0, 0x0d, nsid=0, prp1=n.page(6), cdw=(0, 0, 0))
    n.mem(n.page(7), u16(1) + u16(0))
    n.cmd(0, 0x15, nsid=3, prp1=n.page(7), cdw=(0, 0, 0))
    n.cmd(0, 0x06, nsid=3, cdw=(0, 0, 0)).pair()
    n.cmd(1, 0x01, nsid=3, cdw=(0, 0, 7)).cmd(0, 0x02, nsid=0, cdw=(255 << 16 | 4, 0, 0))
    n.cmd(0, 0x15, nsid=3, prp1=n.page(7), cdw=(1, 0, 0))
    n.cmd(0, 0x0d, nsid=3, cdw=(1, 0, 0))
    s['nsmgmt'] = n.b
    # ZNS (namespace 2 zoned, CC.CSS 110b): Identify CNS 05h/06h for CSI 02h, Zone Append,
    # a write at the write pointer and one past it, Report Zones (4 KiB and a 16-byte
    # buffer, partial), Open, Finish, Reset of zone 1, Select All Close
    n = Nvme(Nvme.ZONED).enable(sqs=15 | 0x40).pair()
    n.cmd(0, 0x06, nsid=2, cdw=(5, 2 << 24, 0)).cmd(0, 0x06, nsid=0, cdw=(6, 2 << 24, 0))
    n.cmd(1, 0x7d, nsid=2, cdw=(0, 0, 0)).cmd(1, 0x01, nsid=2, cdw=(1, 0, 0))
    n.cmd(1, 0x01, nsid=2, cdw=(3, 0, 0))
    n.cmd(1, 0x7a, nsid=2, cdw=(0, 0, 1023), more=(0, 0, 0, n.page(0)))
    n.cmd(1, 0x7a, nsid=2, cdw=(0, 0, 3), more=(1 << 16, 0, 0, n.page(0)))
    for zsa, slba in ((3, 4), (2, 4), (4, 4), (1 | 0x100, 0)):
        n.cmd(1, 0x79, nsid=2, cdw=(slba, 0, 0), more=(zsa, 0, 0, n.page(0)))
    s['zns'] = n.b
    # Metadata and PI (namespace 1: 8 bytes, Type 1, separate): a PRACT write (PRCHK all,
    # ILBRT = SLBA), a read with the tuples to MPTR, one with MPTR at the end of RAM, one with
    # MPTR to an SGL descriptor (PSDT 10b), Compare, Verify, Write Zeroes with PRACT
    n = Nvme(Nvme.PI).enable().pair()
    pract, prchk = 1 << 29, 7 << 26
    n.cmd(1, 0x01, cdw=(8, 0, 3 | pract | prchk), more=(0, 8, 0, n.page(5)))
    n.cmd(1, 0x02, cdw=(8, 0, 3 | prchk), more=(0, 8, 0, n.page(5)))
    n.cmd(1, 0x02, cdw=(8, 0, 3 | prchk), more=(0, 8, 0, n.addr(Nvme.RAM_END, 240)))
    n.sgl(n.page(20), n.page(6), 32, 0x00)
    n.cmd(1, 0x02, flags=0x80, prp1=n.page(1), sgl=(0x00, 2048), cdw=(8, 0, 3),
          more=(0, 8, 0, n.page(20)))
    n.cmd(1, 0x05, cdw=(8, 0, 3 | prchk), more=(0, 8, 0, n.page(5)))
    n.cmd(1, 0x0c, cdw=(8, 0, 3 | prchk), more=(0, 8, 0, n.page(5)))
    n.cmd(1, 0x08, cdw=(0, 0, 15 | pract), more=(0, 0, 0x1234, n.page(5)))
    s['pi'] = n.b
    n = Nvme(Nvme.PI | Nvme.PI_EXT | Nvme.LBA4K).enable().pair()
    n.cmd(1, 0x01, cdw=(0, 0, 1 | pract), more=(0, 7, 0, n.page(5)))
    n.cmd(1, 0x02, cdw=(0, 0, 1 | prchk), more=(0, 7, 0, n.page(5)))
    s['pi-ext'] = n.b
    # Doorbell Buffer Config, then a command whose tail only the shadow doorbell carries
    n = Nvme().enable().pair()
    n.cmd(0, 0x7c, nsid=0, prp1=n.page(30), prp2=n.page(31))
    n.mem(n.page(30, 8), u32(1))
    n.cmd(1, 0x02, cdw=(0, 0, 0), ring=False).op(2, u8(1), u32(0)).process().op(10, u8(1))
    s['dbbuf'] = n.b
    # ...and the I/O thread's rounds: polling EventIdx, a submission seen by polling, sleep
    n = Nvme().enable().pair().cmd(0, 0x7c, nsid=0, prp1=n.page(30), prp2=n.page(31))
    n.op(11, u8(2)).cmd(1, 0x02, cdw=(0, 0, 0), ring=False).mem(n.page(30, 8), u32(1))
    n.op(11, u8(2)).op(10, u8(1)).mem(n.page(30, 12), u32(1)).op(11, u8(6))
    s['dbbuf-poll'] = n.b
    # Format NVM (4 KiB blocks), Dataset Management deallocate, Write Zeroes, Flush all
    n = Nvme(Nvme.LBA4K | Nvme.FEWVEC).enable().pair(iv=1)
    n.cmd(0, 0x80, nsid=1, cdw=(1, 0, 0))
    n.mem(n.page(9), u32(0) + u32(4) + u64(2))
    n.cmd(1, 0x09, prp1=n.page(9), cdw=(0, 4, 0)).cmd(1, 0x08, cdw=(0, 0, 3))
    n.cmd(1, 0x00, nsid=0xffffffff).cmd(0, 0x09, nsid=0, cdw=(8, 0x0101, 0))
    n.op(14, u32(0x4000 | 6 << 16 | 4 << 20 | 1))
    s['format-dsm'] = n.b
    # Copy (opcode 19h): two ranges in format 0h descriptors to LBA 64 with FUA, read back;
    # then 256 ranges (above MSRC) and descriptor format 1h
    n = Nvme().enable().pair()
    n.cmd(1, 0x01, prp1=n.page(1), cdw=(0, 0, 7))
    desc = b''.join(bytes(8) + u64(lba) + u16(3) + bytes(14) for lba in (0, 4))
    n.mem(n.page(12), desc)
    n.cmd(1, 0x19, prp1=n.page(12), cdw=(64, 0, 1 | 1 << 30))
    n.cmd(1, 0x02, prp1=n.page(2), cdw=(64, 0, 7))
    n.cmd(1, 0x19, prp1=n.page(12), cdw=(64, 0, 255))
    n.cmd(1, 0x19, prp1=n.page(12), cdw=(64, 0, 1 << 8))
    s['copy'] = n.b
    return s


# ---- pci (fuzz_pci.c) ----

class Pci:
    HB, RP0, RP1, UP, DOWN0, DOWN1, EP0, BARE, EP1 = range(9)
    SIZE = {1: 0, 2: 1, 4: 2, 8: 3}

    def __init__(self, how=0):
        self.b = u8(how)

    def op(self, o, *parts):
        self.b += u8(o) + b''.join(parts)
        return self

    def cfgw(self, bus, devfn, off, val, size=4):
        return self.op(0, u8(bus), u8(devfn), u16(off), u8(self.SIZE[size]), u32(val))

    def cfgr(self, bus, devfn, off, size=4):
        return self.op(1, u8(bus), u8(devfn), u16(off), u8(self.SIZE[size]))

    def devw(self, dev, off, val, size=4):
        return self.op(2, u8(dev), u16(off), u8(self.SIZE[size]), u32(val))

    def devr(self, dev, off, size=4):
        return self.op(2 | 0x80, u8(dev), u16(off), u8(self.SIZE[size]))

    def bar_addr(self, dev, bar, off=0):
        return u8(dev << 4) + u32(bar << 24 | off)

    def raw(self, a):
        return u8(0x0f) + u32(a) + u32(a >> 32)

    def mmio(self, addr, val, size=4, read=False):
        return self.op(8 | (0x80 if read else 0), addr, u8(self.SIZE[size]), u64(val))

    def dma(self, dev, addr, length, write=False):
        how = (2 if length > 255 else 0) | (4 if write else 0) | (1 if dev is None else 0)
        dv = u8(dev) if dev is not None else b''
        ln = u32(length) if length > 255 else u8(length)
        return self.op(9, u8(how), dv, addr, ln)


def pci_seeds():
    s = {}
    # The enumerated tree: MSI-X on ep0, a vector, P2P DMA from ep0 into ep1's RAM BAR,
    # lookups by ep0 (its own BAR is refused), by the CPU, by a bridge
    p = Pci(0).devw(Pci.EP0, 0x04, 0x0006, 2)
    cap = 0x40  # testdev's MSI-X capability is its first
    p.devw(Pci.EP0, cap + 2, 0x8000, 2)
    p.mmio(p.bar_addr(Pci.EP0, 0, 0x1000), 0xfee00000, 8).mmio(p.bar_addr(Pci.EP0, 0, 0x1008), 0x41)
    p.mmio(p.bar_addr(Pci.EP0, 0, 0x100c), 0).op(11, u8(Pci.EP0), u16(0))
    p.op(13, p.bar_addr(Pci.EP0, 2), p.bar_addr(Pci.EP1, 2), u32(4096))
    p.dma(Pci.EP0, p.bar_addr(Pci.EP1, 2, 0x100), 64).dma(Pci.EP0, p.bar_addr(Pci.EP0, 2), 64)
    p.dma(None, p.bar_addr(Pci.EP0, 2, 0xffc0), 128).dma(Pci.RP0, u8(4) + u32(0x1000), 200)
    p.dma(Pci.EP1, p.bar_addr(Pci.EP0, 2, 0x10), 16, write=True)
    s['p2p-msix'] = p.b
    # From reset, as firmware: bus numbers, BAR sizing, windows, decode on, re-enumerate
    p = Pci(0x80).cfgw(0, 0x08, 0x18, 0x050100).cfgw(1, 0, 0x18, 0x050201)
    p.cfgw(2, 0, 0x18, 0x030302).cfgw(2, 0x08, 0x18, 0x040402).cfgw(0, 0x10, 0x18, 0x050500)
    p.cfgr(3, 0, 0).cfgr(4, 0, 0).cfgr(5, 0, 0).cfgr(6, 0, 0)
    p.op(5, u8(Pci.EP0), u8(0 | 8 | 0x20), u32(0xc0000000), u32(0))
    p.op(5, u8(Pci.EP0), u8(2 | 8 | 16 | 0x20), u32(0x0000000c), u32(8))
    for d in (Pci.RP0, Pci.UP, Pci.DOWN0):
        p.op(6, u8(d - 1), u8(2 | 4 | 16), u16(0xc000), u16(0xc000), u16(0x0001), u16(0xfff1),
             u32(8), u32(8), u16(7))
    p.dma(Pci.EP0, u8(4) + u32(0x2000), 255).dma(Pci.EP1, p.raw(0x800000000), 16).op(7)
    p.dma(Pci.EP1, p.bar_addr(Pci.EP0, 2), 16)
    s['firmware'] = p.b
    # The access mechanisms: 0xCF8 latch and 0xCFC-0xCFF of every width, ECAM, odd widths
    p = Pci(0)
    for bus, devfn, reg in ((0, 0, 0), (0, 0x08, 0x18), (2, 0x08, 0x40), (3, 0, 0x3c)):
        p.op(3, u8(1), u8(2), u32(0x80000000 | bus << 16 | devfn << 8 | reg))
        p.op(3 | 0x80, u8(5), u8(2)).op(3 | 0x80, u8(7), u8(1)).op(3 | 0x80, u8(6), u8(1))
        p.op(3, u8(7), u8(1), u32(0xff)).op(3 | 0x80, u8(3), u8(3))
    p.op(4 | 0x80, u32(3 << 20 | 0x100), u8(2), u64(0)).op(4, u32(1 << 20 | 0x1a), u8(0), u64(9))
    p.op(4 | 0x80, u32(1 << 20 | 0xffe), u8(3), u64(0))
    s['cf8-ecam'] = p.b
    # Bus numbers that make no sense: a loop, subordinate below secondary, bus 0 behind a port
    p = Pci(0).cfgw(0, 0x08, 0x18, 0x000100).cfgw(1, 0, 0x18, 0xff0101)
    p.cfgw(0, 0x10, 0x18, 0x010100).cfgr(1, 0, 0).cfgr(2, 0, 0).cfgr(255, 0, 0).op(7)
    p.cfgw(0, 0x08, 0x18, 0x000000).cfgr(0, 0x08, 0x18).dma(Pci.EP0, u8(4) + u32(0), 8)
    s['bus-numbers'] = p.b
    # The bare endpoint: maskable MSI masked, a vector pending, unmasked; INTx and its disable
    p = Pci(0x04).devw(Pci.BARE, 0x04, 0x0407, 2)
    msi = 0x40
    p.devw(Pci.BARE, msi + 4, 0xfee00000).devw(Pci.BARE, msi + 12, 0x4041, 2)
    p.devw(Pci.BARE, msi + 16, 1).devw(Pci.BARE, msi + 2, 0x0181, 2).op(11, u8(Pci.BARE), u16(0))
    p.devw(Pci.BARE, msi + 16, 0).devw(Pci.BARE, msi + 2, 0, 2)
    p.op(11 | 0x80, u8(Pci.BARE), u16(1)).devw(Pci.BARE, 0x04, 0x0007, 2)
    p.op(11 | 0x80, u8(Pci.BARE), u16(0)).op(8 | 0x40, p.bar_addr(Pci.BARE, 0, 4), u8(1), u64(5))
    s['msi-intx'] = p.b
    # Ports: link disable and retrain, slot power off, D3hot, ACS (how bit 0), link events
    p = Pci(0x03).devw(Pci.DOWN0, 0x90 + 0x10, 0x0010, 2).devr(Pci.DOWN0, 0x90 + 0x12, 2)
    p.devw(Pci.DOWN0, 0x90 + 0x10, 0x0020, 2).devw(Pci.DOWN1, 0x90 + 0x18, 0x0400, 2)
    p.devw(Pci.RP0, 0x90 + 4, 3, 2).devw(Pci.RP0, 0x148 + 6, 0x1f, 2).op(12, u8(Pci.DOWN1))
    p.op(12 | 0x80, u8(Pci.DOWN1)).devr(Pci.DOWN1, 0x90 + 0x1a, 2)
    s['ports'] = p.b
    return s


# ---- fw_cfg (fuzz_fw_cfg.c) ----

class FwCfg:
    READ, SKIP, SELECT, WRITE = 0x02, 0x04, 0x08, 0x10
    # key selectors: numbered items 0..5, then files by index from 0x80
    SIG, ID, NCPUS, DIR, BOOTMENU, IRQ0 = range(6)
    E820, PCI64, SERCON, BOOTWAIT, WFILE, EMPTY = (0x80 + i for i in range(6))

    def __init__(self):
        self.b = b''

    def op(self, o, *parts):
        self.b += u8(o) + b''.join(parts)
        return self

    def ram(self, a):
        return u8(0) + u32(a)

    def select(self, key):
        return self.op(0, u8(key))

    def data(self, n):
        return self.op(1, u8(n - 1))

    def dma(self, desc, buf, control, length, key=None, keep_desc=False, stale_hi=False):
        how = (1 if length > 255 else 0) | (2 if key is not None else 0) | \
            (4 if keep_desc else 0) | (8 if stale_hi else 0)
        ln = u32(length) if length > 255 else u8(length)
        return self.op(3, u8(how), desc, buf, u8(control), ln, u8(key) if key is not None else b'')

    def mem(self, where, data):
        return self.op(5, where, u8(len(data)), data)


def fw_cfg_seeds():
    s = {}
    f = FwCfg().select(FwCfg.SIG).data(4).select(FwCfg.ID).data(4).select(FwCfg.NCPUS).data(3)
    f.op(2 | 0x80, u8(8), u8(2), u64(0)).op(2 | 0x80, u8(12), u8(3), u64(0))
    s['ports'] = f.b
    f = FwCfg().dma(f.ram(0x1000), f.ram(0x2000), FwCfg.READ, 4, key=FwCfg.DIR)
    f.dma(f.ram(0x1000), f.ram(0x2004), FwCfg.READ, 6 * 64)
    f.dma(f.ram(0x1000), f.ram(0x3000), FwCfg.READ, 40, key=FwCfg.E820)
    f.dma(f.ram(0x1000), f.ram(0x3000), FwCfg.SKIP, 20, key=FwCfg.E820)
    f.dma(f.ram(0x1000), f.ram(0x3000), FwCfg.READ, 100)
    s['dma-read'] = f.b
    f = FwCfg().mem(f.ram(0x4000), bytes(range(48)))
    f.dma(f.ram(0x1000), f.ram(0x4000), FwCfg.WRITE, 48, key=FwCfg.WFILE)
    f.dma(f.ram(0x1000), f.ram(0x4000), FwCfg.WRITE, 32)
    f.dma(f.ram(0x1000), f.ram(0x4000), FwCfg.WRITE, 8, key=FwCfg.PCI64)
    f.dma(f.ram(0x1000), f.ram(0x4000), FwCfg.WRITE, 1, key=FwCfg.EMPTY)
    f.dma(f.ram(0x1000), f.ram(0x5000), FwCfg.READ, 64, key=FwCfg.WFILE)
    s['dma-write'] = f.b
    f = FwCfg().dma(u8(2) + u32(120), u8(2) + u32(100), FwCfg.READ, 200, key=FwCfg.DIR)
    f.dma(u8(5) + u32(8), f.ram(0), FwCfg.READ, 4, key=FwCfg.SIG)
    f.dma(f.ram(0x1000), u8(6) + u32(0xfffff000) + u32(0xffffffff), FwCfg.READ, 0x2000)
    f.dma(f.ram(0x1000), f.ram(0), FwCfg.READ, 0x7fffffff, key=FwCfg.E820)
    f.dma(f.ram(0x1000), f.ram(0), 0, 0, keep_desc=True, stale_hi=True)
    s['dma-edges'] = f.b
    return s


# ---- ntb (fuzz_ntb.c) ----

class Ntb:
    PORT2, EPF, MW2, LUT12, LUT24 = 1, 2, 4, 4, 8  # config byte (LUT: bits 3:2, IDT only)
    SIZE = {1: 0, 2: 1, 4: 2, 8: 3}

    def __init__(self, cfg=0):
        self.b = u8(cfg)

    def op(self, o, *parts):
        self.b += u8(o) + b''.join(parts)
        return self

    @staticmethod
    def size(v=None):
        """size_of: None is the peer RAM's size (256 KiB), 'double' twice that."""
        if v is None:
            return u8(0)
        if v == 'double':
            return u8(2)
        return u8(4) + u32(v)

    def hello(self, listener=False, ram_size=None, regions=None):
        how = (1 if listener else 0) | (4 | 8 if regions else 0)
        b = u8(how) + u8(0)
        if regions:
            b += self.size(ram_size) + u8(len(regions))
            for gpa_256m, size, off_pages in regions:
                b += u8(gpa_256m) + self.size(size) + u8(off_pages)
        return self.op(0, b)

    def command(self, bits=7):
        return self.op(12, u8(bits))

    def bar0(self, off, val=0, size=4, read=False):
        return self.op(3, u8(1 if read else 0), u32(off), u8(self.SIZE[size]), u64(val))

    def bar(self, bar, off, val=0, size=4, read=False):
        return self.op(5, u8(bar - 1), u8(1 if read else 0), u32(off), u8(self.SIZE[size]),
                       u64(val))

    def window(self, bar4=False, target_page=1, limit=None, lut=None):
        how = (1 if bar4 else 0) | (8 if lut is not None else 0)
        b = u8(how) + u8(target_page) + self.size(limit)
        if lut is not None:
            b += u8(lut)
        return self.op(8, b)

    def dma(self, off, data, write=True):
        return self.op(7, u8(4 if write else 0), u32(off), u16(len(data) - 1), data)

    def epf(self, cmd, arg=0, addr_page=0, size=None):
        return self.op(9, u8(cmd), u32(arg), u8(addr_page), self.size(size))


def ntb_seeds():
    s = {}
    # IDT, connector: join the peer's switch, a DIR window onto its RAM, stores, DMA into it
    n = Ntb().hello().command().window(target_page=1, limit=0x10000)
    n.bar(2, 0x10, 0x1122334455667788, 8).bar(2, 0x13, 0, 4, read=True).bar(2, 0x20000, 1)
    n.dma(0x100, bytes(range(64))).dma(0x200, bytes(16), write=False).op(11)
    s['idt-dir'] = n.b
    # IDT LUT12 on BAR2, listener: a lookup-table entry, stores into the slice
    n = Ntb(Ntb.LUT12).hello(listener=True).command().window(target_page=2, lut=3)
    n.bar(2, 3 * 0x10000 + 8, 0xabcd, 2).op(10).bar(2, 3 * 0x10000 + 8, 0, 2, read=True)
    s['idt-lut'] = n.b
    # IDT registers: GASA (SWPORT0STS, SEMSK), a message, doorbells, the config alias
    n = Ntb(Ntb.PORT2).hello().command()
    for addr in (0x3e204, 0x3ec04, 0x01000 + 0x2000 * 0 + 0x470, 0x3ee00):
        n.bar0(0xff8, addr).bar0(0xffc, read=True)
    n.bar0(0xff8, 0x3ee00).bar0(0xffc, 0x01).bar0(0x430, 0xdead).bar0(0x420, 0xf)
    n.bar0(0x408, 0).bar0(0x460, read=True).bar0(0x04, 0x0006, 2).bar0(0x470, read=True, size=8)
    n.op(6 | 0x80, u16(0x470), u8(2))
    s['idt-regs'] = n.b
    # epf: doorbells, link up, a window, scratchpads, the peer's scratchpads (BAR1)
    n = Ntb(Ntb.EPF | Ntb.MW2).hello().command()
    n.epf(1, 1 << 16 | 4).epf(5).epf(3, 0, 1, 0x1000).epf(3, 1, 4, 0x2000).epf(4, 1)
    n.bar0(0x800, 0x5a5a).bar(1, 0x4, 0x77).bar(1, 0x4, read=True).bar(2, 8, 1)
    n.bar(2, 0x10000 + 8, 0x99).op(11).epf(6).op(10)
    s['epf'] = n.b
    # a hello whose regions are wild: a wrapping one, one past the memfd, five of them
    n = Ntb().hello(ram_size=0xffffffff, regions=[(0xff, 0xffffffff, 0), (1, None, 0xff)])
    n.command().window(target_page=0xff, limit=0x100000)
    s['hello-regions'] = n.b
    return s


# ---- plx_dma (fuzz_plx_dma.c) ----

class Plx:
    SIZE = {1: 0, 2: 1, 4: 2, 8: 3}
    MEM, MEM_END, BAR0, RAW = 0, 3, 4, 5

    def __init__(self):
        self.b = b''

    def op(self, o, *parts):
        self.b += u8(o) + b''.join(parts)
        return self

    def mem(self, off):
        return u8(self.MEM) + u32(off)

    def reg(self, off, val, size=4):
        return self.op(0, u16(off), u8(self.SIZE[size]), u64(val))

    def rd(self, off, size=4):
        return self.op(1, u16(off), u8(self.SIZE[size]))

    def cfg(self, off, val, size=2):
        return self.op(8, u16(off), u8(self.SIZE[size]), u32(val))

    def ring(self, page=0, count=16, next_addr=None, no_irq=False):
        how = (2 if count > 255 else 0) | (4 if next_addr is not None else 0) | \
            (8 if no_irq else 0)
        b = u8(how) + u8(page) + (u32(count) if count > 255 else u8(count - 1))
        if next_addr is not None:
            b += u32(next_addr)
        return self.op(4, b)

    def desc(self, idx, src, dst, length, irq=True, valid=True):
        how = (1 if length > 0xffff else 0) | (2 if irq else 0) | (0 if valid else 4)
        ln = u32(length) if length > 0xffff else u16(length)
        return self.op(5, u8(how), u16(idx), src, dst, ln)

    def issue(self, writeback=True):
        return self.op(3 if writeback else 3 | 0x80)


def plx_dma_seeds():
    s = {}
    msi = 0x40  # plx_dma_create: MSI is the first capability
    p = Plx().cfg(0x04, 0x0006).cfg(msi + 4, 0xfee00000, 4).cfg(msi + 12, 0x41).cfg(msi + 2, 1)
    p.ring(0, 16).desc(0, p.mem(0x10000), p.mem(0x20000), 4096)
    p.desc(1, p.mem(0x30000), p.mem(0x40000), 100).desc(2, p.mem(0x50000), p.mem(0x60000), 0)
    p.issue().rd(0x224).rd(0x228).rd(0x23c).reg(0x23c, 0x001f001f).rd(0x238)
    s['linux-memcpy'] = p.b
    p = Plx().cfg(0x04, 0x0006).ring(1, 2).desc(0, p.mem(0x10000), p.mem(0x11000), 64)
    p.desc(1, p.mem(0x12000), p.mem(0x13000), 64).issue().desc(0, p.mem(0), p.mem(64), 8)
    p.desc(1, p.mem(0), p.mem(128), 8).issue().issue(writeback=False)
    s['ring-wrap'] = p.b
    p = Plx().cfg(0x04, 0x0006).op(2, u16(0x0008)).ring(0, 4, next_addr=0x12345678).issue()
    p.ring(0, 4).desc(0, u8(Plx.BAR0) + u32(0x214), p.mem(0), 16)
    p.desc(1, p.mem(0), u8(Plx.RAW) + u32(0) + u16(0xffff), 0x7ffffff).issue()
    p.desc(2, u8(Plx.MEM_END) + u32(200), p.mem(0), 256).reg(0x220, 0xffffffff).issue()
    s['bad-rings'] = p.b
    p = Plx().cfg(0x04, 0x0006).ring(0, 8).desc(0, p.mem(0), p.mem(0x80000), 0x7ffff)
    p.op(2, u16(0x0002)).issue().op(2, u16(0x0001)).issue().op(2, u16(0x0600)).rd(0x238)
    s['abort-pause'] = p.b
    # a descriptor that copies a valid descriptor over the next one, without write-back
    p = Plx().cfg(0x04, 0x0006).ring(2, 2).desc(1, p.mem(0x10000), p.mem(0x10010), 16)
    p.desc(0, p.mem(0x2010), p.mem(0x2000), 16).issue(writeback=False)
    s['self-feeding'] = p.b
    return s


if __name__ == '__main__':
    write('plx_dma', plx_dma_seeds())
    write('ntb', ntb_seeds())
    write('fw_cfg', fw_cfg_seeds())
    write('nvme', nvme_seeds())
    write('pci', pci_seeds())
