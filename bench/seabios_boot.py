#!/usr/bin/env python3
"""Time from starting a VMM to SeaBIOS's first boot attempt ("Booting from ..." on the serial
console), for vmm and for QEMU on the same SeaBIOS image. Prints one line per run and the
median. Usage: bench/seabios_boot.py [runs] (default 5); bench/RESULTS.md has the numbers."""
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VMM = os.path.join(os.environ.get("VMM_BUILD", os.path.join(ROOT, "build")), "vmm")
BIOS = "/usr/share/seabios/bios-256k.bin"
MARK = b"Booting from "

VMM_TOML = """[machine]
memory = "1G"
cpus = 2
firmware = "seabios"

[firmware]
reboot_timeout = 0
%s"""

# examples/p2p.toml's tree: root port -> XIO3130 -> two endpoints, and a second root port
P2P_TREE = """
[[root_port]]
id = "rp0"
[[switch]]
id = "sw0"
bus = "rp0"
[[testdev]]
id = "ep0"
bus = "sw0.0"
ram_bar = "64M"
[[testdev]]
id = "ep1"
bus = "sw0.1"
ram_bar = "64M"
[[root_port]]
id = "rp1"
[[testdev]]
id = "ep2"
bus = "rp1"
"""

QEMU_BASE = ["qemu-system-x86_64", "-enable-kvm", "-nographic", "-no-reboot", "-m", "1G",
             "-smp", "2", "-bios", BIOS, "-boot", "menu=off,reboot-timeout=0", "-net", "none"]
# The closest QEMU tree: q35 root port -> XIO3130 -> two endpoints (edu), a second root port.
QEMU_Q35_TREE = ["-device", "pcie-root-port,id=rp0,chassis=1,slot=1",
                 "-device", "x3130-upstream,id=up0,bus=rp0",
                 "-device", "xio3130-downstream,id=dp0,bus=up0,chassis=2,slot=0",
                 "-device", "xio3130-downstream,id=dp1,bus=up0,chassis=3,slot=1",
                 "-device", "edu,bus=dp0", "-device", "edu,bus=dp1",
                 "-device", "pcie-root-port,id=rp1,chassis=4,slot=2",
                 "-device", "edu,bus=rp1"]


def time_to_mark(cmd, timeout=120):
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    buf = b""
    found = None
    while True:
        chunk = p.stdout.read1(4096)
        if not chunk:
            break
        buf += chunk
        if found is None and MARK in buf:
            found = time.monotonic() - t0
            break
        if time.monotonic() - t0 > timeout:
            break
    p.kill()
    p.wait()
    return found


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    tmp = tempfile.mkdtemp(prefix="seabios-bench.")
    cases = []
    for name, tree in (("vmm, no devices", ""), ("vmm, p2p tree", P2P_TREE)):
        path = os.path.join(tmp, name.replace(", ", "-").replace(" ", "_") + ".toml")
        with open(path, "w") as f:
            f.write(VMM_TOML % tree)
        cases.append((name, [VMM, "run", "--quiet", "--config", path]))
    cases.append(("qemu -M pc, no devices", QEMU_BASE + ["-M", "pc"]))
    cases.append(("qemu -M q35, no devices", QEMU_BASE + ["-M", "q35"]))
    cases.append(("qemu -M q35, p2p-like tree", QEMU_BASE + ["-M", "q35"] + QEMU_Q35_TREE))
    for name, cmd in cases:
        times = [time_to_mark(cmd) for _ in range(runs)]
        shown = " ".join("%.0f" % (t * 1000) if t else "-" for t in times)
        ok = [t for t in times if t]
        med = "%.0f ms" % (statistics.median(ok) * 1000) if ok else "never"
        print("%-28s median %-9s runs (ms): %s" % (name, med, shown), flush=True)
        print("    " + " ".join(cmd), flush=True)


if __name__ == "__main__":
    main()
