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
    CMB, PMR, NSMGMT, LBA4K, FEWVEC = 1, 2, 4, 8, 16
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
    # Doorbell Buffer Config, then a command whose tail only the shadow doorbell carries
    n = Nvme().enable().pair()
    n.cmd(0, 0x7c, nsid=0, prp1=n.page(30), prp2=n.page(31))
    n.mem(n.page(30, 8), u32(1))
    n.cmd(1, 0x02, cdw=(0, 0, 0), ring=False).op(2, u8(1), u32(0)).process().op(10, u8(1))
    s['dbbuf'] = n.b
    # Format NVM (4 KiB blocks), Dataset Management deallocate, Write Zeroes, Flush all
    n = Nvme(Nvme.LBA4K | Nvme.FEWVEC).enable().pair(iv=1)
    n.cmd(0, 0x80, nsid=1, cdw=(1, 0, 0))
    n.mem(n.page(9), u32(0) + u32(4) + u64(2))
    n.cmd(1, 0x09, prp1=n.page(9), cdw=(0, 4, 0)).cmd(1, 0x08, cdw=(0, 0, 3))
    n.cmd(1, 0x00, nsid=0xffffffff).cmd(0, 0x09, nsid=0, cdw=(8, 0x0101, 0))
    n.op(14, u32(0x4000 | 6 << 16 | 4 << 20 | 1))
    s['format-dsm'] = n.b
    return s


if __name__ == '__main__':
    write('nvme', nvme_seeds())
