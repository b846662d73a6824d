#!/usr/bin/env python3
"""Time from starting a VMM to our boot sector's exit: SeaBIOS (menu off, fw_cfg DMA on) reads
LBA 0 of an NVMe disk holding guests/bootsector's image, the sector prints its marker and
writes the debug-exit port (exit status 33). vmm and QEMU boot the same bios-256k.bin and the
same image file. Prints one line per case with the median and the runs, then the command.
Usage: bench/seabios_bootsector.py [runs] (default 5); VMM_BUILD picks the build directory.
bench/RESULTS.md has the numbers."""
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("VMM_BUILD", os.path.join(ROOT, "build"))
VMM = os.path.join(BUILD, "vmm")
IMAGE = os.path.join(BUILD, "guests", "bootsector.img")
BIOS = "/usr/share/seabios/bios-256k.bin"
MARK = b"vmm-bootsector: booted from LBA 0"
EXIT_STATUS = 33

VMM_TOML = """[machine]
memory = "1G"
cpus = 2
firmware = "seabios"
boot = ["nvme0"]

[firmware]
reboot_timeout = 0

[[root_port]]
id = "rp0"
%s
[[nvme]]
id = "nvme0"
bus = "%s"
namespaces = [{ backend = "file", path = "%s" }]
"""
SWITCH = """
[[switch]]
id = "sw0"
bus = "rp0"
"""

QEMU_BASE = ["qemu-system-x86_64", "-enable-kvm", "-nographic", "-no-reboot", "-m", "1G",
             "-smp", "2", "-M", "q35", "-bios", BIOS, "-boot", "menu=off,reboot-timeout=0",
             "-net", "none", "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
             "-drive", "file=%s,if=none,id=d0,format=raw,readonly=on" % IMAGE]
QEMU_SWITCH = ["-device", "pcie-root-port,id=rp0,chassis=1,slot=1",
               "-device", "x3130-upstream,id=up0,bus=rp0",
               "-device", "xio3130-downstream,id=dp0,bus=up0,chassis=2,slot=0"]


def time_to_exit(cmd, timeout=120):
    """Seconds until the VMM exits with the boot sector's status and printed its marker."""
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    t = time.monotonic() - t0
    return t if p.returncode == EXIT_STATUS and MARK in p.stdout else None


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    tmp = tempfile.mkdtemp(prefix="seabios-bootsector.")
    cases = []
    for name, switch, bus in (("vmm, root port -> NVMe", "", "rp0"),
                              ("vmm, root port -> XIO3130 -> NVMe", SWITCH, "sw0.0")):
        path = os.path.join(tmp, "vmm-%s.toml" % bus)
        with open(path, "w") as f:
            f.write(VMM_TOML % (switch, bus, IMAGE))
        cases.append((name, [VMM, "run", "--quiet", "--config", path]))
    cases.append(("qemu -M q35, NVMe on the root bus",
                  QEMU_BASE + ["-device", "nvme,drive=d0,serial=vmm0"]))
    cases.append(("qemu -M q35, root port -> x3130 -> NVMe",
                  QEMU_BASE + QEMU_SWITCH + ["-device", "nvme,drive=d0,serial=vmm0,bus=dp0"]))
    for name, cmd in cases:
        times = [time_to_exit(cmd) for _ in range(runs)]
        shown = " ".join("%.0f" % (t * 1000) if t else "-" for t in times)
        ok = [t for t in times if t]
        med = "%.0f ms" % (statistics.median(ok) * 1000) if ok else "never"
        print("%-40s median %-9s runs (ms): %s" % (name, med, shown), flush=True)
        print("    " + " ".join(cmd), flush=True)


if __name__ == "__main__":
    main()
