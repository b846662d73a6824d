#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks a backing file against what a killed guest reported durable (t_crash.sh).

crash_check.py nvme CONSOLE IMAGE: every "nvme-crash: fua S" and "nvme-crash: flush A B"
line (complete lines only: the last one may be cut by SIGKILL) names blocks that must hold
the pattern guests/nvme-smoke crash_block() writes. Prints "N durable writes ok" or the
first mismatch, exit status 1 on a mismatch or when nothing was reported.
"""
import re
import sys

LBA = 512


def block(seq):
    rec = b"CRASH seq=%08x lba=%08x\n" % (seq, seq)
    return rec * (LBA // len(rec))


def nvme(console, image):
    seqs = set()
    with open(console, "rb") as f:
        for line in f:
            if not line.endswith(b"\n"):
                break
            m = re.match(rb"nvme-crash: fua ([0-9a-f]+)\n", line)
            if m:
                seqs.add(int(m.group(1), 16))
            m = re.match(rb"nvme-crash: flush ([0-9a-f]+) ([0-9a-f]+)\n", line)
            if m:
                seqs.update(range(int(m.group(1), 16), int(m.group(2), 16) + 1))
    if not seqs:
        print("the guest reported no durable write")
        return 1
    with open(image, "rb") as f:
        for seq in sorted(seqs):
            f.seek(seq * LBA)
            got = f.read(LBA)
            if got != block(seq):
                print("write %d (lba %d) reported durable, the file holds %r" %
                      (seq, seq, got[:32]))
                return 1
    print("%d durable writes ok (last %d)" % (len(seqs), max(seqs)))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] != "nvme":
        sys.exit("usage: crash_check.py nvme CONSOLE IMAGE")
    sys.exit(nvme(sys.argv[2], sys.argv[3]))
