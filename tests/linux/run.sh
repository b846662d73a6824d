#!/bin/bash
# Linux guest tests: boot the test kernel from guests/linux on vmm and check what the real
# Linux drivers make of our devices. Ends with "N passed, N failed, N skipped".
#
# Modes, picked automatically (override: VMM_LINUX_MODE=full|kernel-only):
#   kernel-only  KVM runs guest ring 0 in its instruction emulator (nested KVM over PVM, see
#                shared/HOST.md): Linux boots in minutes and cannot run userspace. The kernel's
#                built-in self-test (guests/linux/selftest) checks the devices from kernel
#                context, prints "VMMTEST ..." lines and powers off.
#   full         hardware KVM (kvm_intel/kvm_amd): the same kernel-only boots, plus the nvme
#                machine booted with guests/linux/initramfs (built here in seconds): its /init
#                runs lspci, nvme-cli, fio verify, p2pmem and PMR checks ("VMMTEST ok|fail
#                user-..."). Not runnable on nested-PVM hosts; check-qemu.sh there validates
#                the initramfs under QEMU TCG (make -C guests/linux check-initramfs).
#
# Environment: VMM_BUILD (build dir, default ./build), VMM_CACHE (kernel cache, see
# guests/linux/build.sh), VMM_LINUX_TIMEOUT (seconds for one boot, default 900),
# VMM_LINUX_HANG (seconds without console output that count as a hang, default 300),
# VMM_LINUX_CPUS (vCPUs, default 2), VMM_LINUX_CMDLINE (appended to
# the kernel command line, e.g. "initcall_debug" to see where boot time goes),
# VMM_LINUX_KERNEL (boot this vmlinux instead of the cached one),
# VMM_LINUX_MACHINES (which to boot, default "testdev nvme nvme-iommu ntb ntb-lut ntb-epf ntb-dma").
# VMM_LINUX_USER (full mode: which machines boot with the initramfs, default "nvme nvme-iommu
# nvme-mpath ntb-net ntb-idt").
# Console logs are kept in $VMM_BUILD/linux-console-<machine>.log.
set -u
cd "$(dirname "$0")/../.."
BUILD=${VMM_BUILD:-$PWD/build}
VMM=$BUILD/vmm
TIMEOUT=${VMM_LINUX_TIMEOUT:-900}
HANG=${VMM_LINUX_HANG:-300}
# Two vCPUs: SMP bring-up is part of what is tested (with the compat CPU model, which hides
# KVM's hypercall-based PV IPIs that hung it on the nested host).
CPUS=${VMM_LINUX_CPUS:-2}
TMP=$(mktemp -d /tmp/vmm-linux.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

pass=0 fail=0 skip=0
ok() { echo "PASS $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1: $2"; fail=$((fail + 1)); }
skipped() { echo "SKIP $1: $2"; skip=$((skip + 1)); }
finish() {
	echo
	echo "$pass passed, $fail failed, $skip skipped"
	[ "$fail" -eq 0 ]
	exit
}

# --- mode -----------------------------------------------------------------------------------
# What this host's /dev/kvm is (tests/rig/rig.sh kind): hw (VT-x/AMD-V, and inside the test
# rig), pvm (nested KVM over PVM), none. The mode, the CPU model and the command line follow.
KIND=$(tests/rig/rig.sh kind)
echo "linux: kvm ${KIND}"
KIND=${KIND%%:*}
if [ -n "${VMM_LINUX_MODE:-}" ]; then
	MODE=$VMM_LINUX_MODE
	why="VMM_LINUX_MODE=$MODE"
elif [ "$KIND" = pvm ]; then
	MODE=kernel-only
	why="KVM is kvm_pvm: guest ring 0 runs in KVM's instruction emulator, userspace cannot run"
elif [ "$KIND" = hw ]; then
	MODE=full
	why="hardware KVM (or the test rig's emulated SVM): guest userspace runs"
else
	MODE=kernel-only
	why="no kvm_intel/kvm_amd module: assuming an emulated guest ring 0"
fi
case "$MODE" in
full | kernel-only) ;;
*) echo "VMM_LINUX_MODE must be full or kernel-only, not '$MODE'" >&2; exit 2 ;;
esac
echo "linux: mode $MODE ($why)"

# --- prerequisites --------------------------------------------------------------------------
if [ "${VMM_TEST_KVM:-}" = skip ]; then
	skipped linux "${VMM_TEST_KVM_WHY:-VMM_TEST_KVM=skip}"
	finish
fi
if [ ! -e /dev/kvm ] || [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	skipped linux "/dev/kvm is missing or not usable by $(id -un) (tests/rig runs this tier without it: make test-linux)"
	finish
fi
if [ ! -x "$VMM" ]; then
	skipped linux "$VMM is not built (make)"
	finish
fi
if [ -n "${VMM_LINUX_KERNEL:-}" ]; then
	VMLINUX=$(realpath "$VMM_LINUX_KERNEL")
elif ! VMLINUX=$(guests/linux/build.sh path); then
	skipped linux "the test kernel is not built for key $(guests/linux/build.sh key) (make test-linux builds it, ~10 minutes)"
	finish
fi
echo "linux: kernel $VMLINUX"

# --- the machines ---------------------------------------------------------------------------
# shared/HOST.md: what a Linux guest needs on a KVM that emulates ring 0 (PVM): the compat CPU
# (an Intel vendor string, no PV features) and these options. Linux 6.1 no longer has
# "nosmap"/"nosmep": clearcpuid=smap,smep does it (that KVM reports SMAP to the guest whatever
# the CPUID table says, and clac/stac cannot be emulated). Elsewhere (hardware KVM, the rig's
# emulated SVM) the guest gets the CPU KVM offers as it is ("host") and no workarounds: an
# Intel vendor string on an AMD CPU sends Linux down Intel-only paths (VMM_LINUX_CPU overrides).
if [ "$KIND" = pvm ]; then
	CPU_MODEL=${VMM_LINUX_CPU:-compat}
	WORKAROUNDS="noxsave nopku nofsgsbase mitigations=off clearcpuid=popcnt,smap,smep,rdrand,rdseed"
else
	CPU_MODEL=${VMM_LINUX_CPU:-host}
	WORKAROUNDS=""
	# In the test rig (tests/rig: QEMU TCG's emulated SVM) CPUID 0xD.0 EBX does not follow
	# the guest's XCR0 (seen: "XSAVE consistency problem: size 832 != kernel_size 576" in
	# fpu__init_system_xstate()), so the guest keeps to FXSAVE there.
	[ -n "${VMM_IN_RIG:-}" ] && WORKAROUNDS="noxsave"
fi
echo "linux: cpu model $CPU_MODEL, workarounds: ${WORKAROUNDS:-none}"

# machine NAME EXPECT P2P DEVICES [VCPUS [CMDLINE]]: writes $TMP/NAME.toml
machine() {
	cat >"$TMP/$1.toml" <<EOF
[machine]
memory = "256M"
cpus = ${5:-$CPUS}
kernel = "$VMLINUX"
cmdline = "console=ttyS0 earlyprintk=serial $WORKAROUNDS vmmtest.expect=$2 vmmtest.p2p=$3 ${6:-} ${VMM_LINUX_CMDLINE:-}"

[cpu]
model = "$CPU_MODEL"

[console]
input = false
$4
EOF
}

# testdev: examples/p2p.toml's tree. 00:00.0 host bridge; 00:01.0 rp0 -> 01:00.0 XIO3130
# upstream -> 02:00.0, 02:01.0 downstream -> 03:00.0 ep0, 04:00.0 ep1; 00:02.0 rp1 -> 05:00.0
# ep2. Small RAM BARs: every struct page Linux initialises (ZONE_DEVICE too) costs emulated
# instructions here. P2P below one switch: valid both ways. Across the two root ports:
# refused unless the guest sees an AMD Zen CPU ($CROSS above).
# Across root ports Linux allows P2P only on whitelisted host bridges or, with the host bridge
# unknown, on AMD Zen and newer (cpu_supports_p2pdma() in drivers/pci/p2pdma.c): so it
# depends on the vendor the guest sees, AMD family >= 0x17 only with the "host" model.
CROSS=no
if [ "$CPU_MODEL" = host ] && grep -q "^vendor_id.*AuthenticAMD" /proc/cpuinfo &&
	[ "$(sed -n 's/^cpu family[[:space:]]*: //p' /proc/cpuinfo | head -n1)" -ge 23 ]; then
	CROSS=ok
fi
PORTS="00:00.0=1234:7100/none,00:01.0=1234:7101/pcieport,01:00.0=104c:8232/pcieport"
PORTS+=",02:00.0=104c:8233/pcieport,02:01.0=104c:8233/pcieport"
machine testdev \
	"$PORTS,03:00.0=1234:7120,04:00.0=1234:7120,00:02.0=1234:7101/pcieport,05:00.0=1234:7120" \
	"03:00.0+04:00.0=ok,04:00.0+03:00.0=ok,03:00.0+05:00.0=$CROSS,05:00.0+04:00.0=$CROSS" '
[[root_port]]
id = "rp0"
[[switch]]
id = "sw0"
bus = "rp0"
downstream = 2
[[testdev]]
id = "ep0"
bus = "sw0.0"
ram_bar = "2M"
[[testdev]]
id = "ep1"
bus = "sw0.1"
ram_bar = "2M"
[[root_port]]
id = "rp1"
[[testdev]]
id = "ep2"
bus = "rp1"
ram_bar = "2M"'

# nvme: examples/nvme-p2p.toml's tree: two NVMe controllers with 64 MiB CMBs below one switch.
# The nvme driver probes them (admin queue, Identify, I/O queues; the partition scan reads
# LBA 0) and registers each CMB as P2P memory; the self-test checks both and the distance.
# nvme1's second namespace has 8 bytes of metadata with Type 1 PI (devices/nvme/pi.c): the
# driver must register T10-DIF-TYPE1-CRC for it, and a page goes through it (vmmtest.pi).
machine nvme "$PORTS,03:00.0=1234:7110/nvme,04:00.0=1234:7110/nvme" \
	"03:00.0+04:00.0=ok,04:00.0+03:00.0=ok" '
[[root_port]]
id = "rp0"
[[switch]]
id = "sw0"
bus = "rp0"
downstream = 2
[[nvme]]
id = "nvme0"
bus = "sw0.0"
queues = 2
cmb = "64M"
namespaces = [ { backend = "ram", size = "16M" } ]
[[nvme]]
id = "nvme1"
bus = "sw0.1"
queues = 2
cmb = "64M"
namespaces = [ { backend = "ram", size = "16M" }, { backend = "ram", size = "16M", metadata_size = 8, pi_type = 1 } ]' \
	"" "vmmtest.pi=T10-DIF-TYPE1-CRC"

# nvme-iommu: the nvme machine behind the VT-d unit ([iommu] model = "intel", devices/iommu):
# intel_iommu=on iommu.strict=1 puts both controllers in DMA domains, so every queue, PRP
# list and data buffer of the probe and the partition scan is an IOVA the unit translates;
# P2P between the two CMBs below the switch keeps its bus addresses (ACS off: not
# translated). iommu_checks (below) reads the DMAR driver's own lines.
sed -e "s|vmmtest.p2p=|intel_iommu=on iommu.strict=1 vmmtest.p2p=|" "$TMP/nvme.toml" >"$TMP/nvme-iommu.toml"
printf '\n[iommu]\nmodel = "intel"\n' >>"$TMP/nvme-iommu.toml"

# ntb-a, ntb-b: the two hosts of one IDT switch (devices/ntb), ports 0 and 2 at one rendezvous,
# booted together. ntb_hw_idt binds, ntb_pingpong (the first NTB client) takes the device; the
# self-test (selftest/ntb.c) waits for the link and its ping-pong, exchanges messages, rings a
# doorbell each way and stores through window 0 into the peer's buffer. One vCPU each: the
# two boots share this host's 2 cores. ntb_hw_idt's dev_dbg lines (dynamic debug, shown at
# loglevel=8) say how far its probe and link setup got.
NTB_TREE="00:00.0=1234:7100/none,00:01.0=1234:7101/pcieport,01:00.0=111d:8091/ntb_hw_idt"
# ntb-lut-a/b: the same pair with lookup-table windows (mw_type): BAR2 a LUT24 of 2 MiB (24
# windows of 64 KiB), BAR4 direct. ntb_hw_idt's idt_scan_mws must accept the BARSETUPs (at
# most 29 windows) and the self-test's window 0 is LUT entry 0 (LUTOFFSET/LUTxDATA).
for side in a:0 b:2; do
	idt="
[[root_port]]
id = \"rp0\"
[[ntb]]
id = \"ntb0\"
bus = \"rp0\"
port = ${side#*:}"
	machine "ntb-${side%:*}" "$NTB_TREE" "" "$idt
rendezvous = \"$TMP/ntb.sock\"" 1 "ntb_pingpong.delay_ms=100 ntb_hw_idt.dyndbg=+p loglevel=8"
	machine "ntb-lut-${side%:*}" "$NTB_TREE" "" "$idt
rendezvous = \"$TMP/ntb-lut.sock\"
mw_size = \"2M\"
mw_type = [\"lut24\", \"dir\"]" 1 "ntb_pingpong.delay_ms=100 ntb_hw_idt.dyndbg=+p loglevel=8"
done

# ntb-epf-a/b: the same two-vmm link with the EPF personality (devices/ntb, 104c:b00d, Linux's
# ntb_hw_epf), 1 MiB windows (ntb_transport allocates and clears a buffer as big as each). ntb_transport must get the NTB device, so the test clients that link before it
# (ntb_pingpong, ntb_tool, ntb_perf) are kept out with initcall_blacklist; ntb_netdev (a
# late_initcall, guests/linux/patches/0005) then creates the interface. The self-test
# (selftest/ntb_net.c) gives it vmmtest.net's address, waits for the carrier and exchanges
# verified UDP datagrams with the peer; ntb_transport copies with the CPU.
# ntb-dma-a/b: the same plus a PLX DMA engine (10b5:87d0, plx_dma) on a second root port and
# ntb_transport.use_dma=1: the self-test checks the engine with a memcpy of its own and one
# into the spare NTB window (read back through it), then that ntb_transport's copies into
# the NTB window went through it without an error (vmmtest.ntb_dma=1; a failed copy is redone
# by the CPU, so the UDP exchange passes either way; the engine's own verdict is checked).
EPF_TREE="00:00.0=1234:7100/none,00:01.0=1234:7101/pcieport,01:00.0=104c:b00d/ntb_hw_epf"
PLX_TREE="00:02.0=1234:7101/pcieport,02:00.0=10b5:87d0/plx_dma"
EPF_CMDLINE="initcall_blacklist=pp_init,tool_init,perf_init loglevel=8"
EPF_CMDLINE+=" ntb_hw_epf.dyndbg=+p ntb_transport.dyndbg=+p ntb_netdev.dyndbg=+p"
for side in a:0:1:2 b:2:2:1; do
	IFS=: read -r name port ip peer <<<"$side"
	epf="
[[root_port]]
id = \"rp0\"
[[ntb]]
id = \"ntb0\"
bus = \"rp0\"
personality = \"epf\"
mw_size = \"1M\"
port = $port
rendezvous = \"$TMP/ntb-NAME.sock\""
	net="vmmtest.net=10.77.0.$ip,10.77.0.$peer"
	machine "ntb-epf-$name" "$EPF_TREE" "" "${epf/NAME/epf}" 1 "$EPF_CMDLINE $net"
	machine "ntb-dma-$name" "$EPF_TREE,$PLX_TREE" "" "${epf/NAME/dma}
[[root_port]]
id = \"rp1\"
[[plx_dma]]
id = \"dma0\"
bus = \"rp1\"" 1 "$EPF_CMDLINE $net ntb_transport.use_dma=1 vmmtest.ntb_dma=1 plx_dma.dyndbg=+p"
done

# ctl_step NAME MARKER CHECK PATTERN: the control-socket request boot() sent at MARKER was
# answered with PATTERN
ctl_step() {
	local f="$TMP/$1.ctl-$2"

	if grep -q "$4" "$f" 2>/dev/null; then
		ok "linux-$1-$3 ($(head -n1 "$f"))"
	else
		bad "linux-$1-$3" "vmm ctl: $(tr '\n' ' ' <"$f" 2>/dev/null || echo "never sent: no '$2' line")"
	fi
}

# --- boot -----------------------------------------------------------------------------------
# boot NAME: runs vmm on $TMP/NAME.toml, console in $LOG; sets $status (124 = timeout,
# 125 = hang) and $elapsed / $done_at (seconds)
boot() {
	local start now last_size=-1 last_change size
	start=$(date +%s)
	last_change=$start
	done_at=""
	local ctl=() sent="" marker req
	# BOOT_CTL=SOCKET: vmm gets a control socket (docs/control.md), and each line "MARKER
	# REQUEST..." of $TMP/NAME.steps goes to it (vmm ctl) once, when the guest has printed
	# "VMMTEST MARKER"; vmm ctl's reply goes to $TMP/NAME.ctl-MARKER
	[ -n "${BOOT_CTL:-}" ] && ctl=(--control "$BOOT_CTL")
	"$VMM" run --config "$TMP/$1.toml" "${ctl[@]}" </dev/null >"$LOG" 2>&1 &
	local pid=$!
	status=""
	while kill -0 "$pid" 2>/dev/null; do
		sleep 2
		if [ -n "${BOOT_CTL:-}" ] && [ -f "$TMP/$1.steps" ]; then
			while read -r marker req; do
				case " $sent " in *" $marker "*) continue ;; esac
				grep -q "VMMTEST $marker" "$LOG" || continue
				# shellcheck disable=SC2086
				"$VMM" ctl "$BOOT_CTL" $req </dev/null >"$TMP/$1.ctl-$marker" 2>&1
				echo "vmm ctl status $?" >>"$TMP/$1.ctl-$marker"
				sent="$sent $marker"
			done <"$TMP/$1.steps"
		fi
		now=$(date +%s)
		size=$(stat -c %s "$LOG")
		if [ "$size" != "$last_size" ]; then
			last_size=$size
			last_change=$now
		fi
		[ -z "$done_at" ] && grep -q "VMMTEST done" "$LOG" && done_at=$((now - start))
		if [ $((now - start)) -ge "$TIMEOUT" ]; then
			status=124
		elif [ $((now - last_change)) -ge "$HANG" ]; then
			status=125
		fi
		if [ -n "$status" ]; then
			kill "$pid" 2>/dev/null
			sleep 2
			kill -9 "$pid" 2>/dev/null
			break
		fi
	done
	wait "$pid"
	local rc=$?
	[ -z "$status" ] && status=$rc
	elapsed=$(($(date +%s) - start))
}

# can_build NAME: vmm accepts the machine (else SKIP and return 1)
can_build() {
	"$VMM" check --config "$TMP/$1.toml" >"$TMP/check" 2>&1 && return 0
	skipped "linux-$1" "this vmm cannot build the machine: $(head -n1 "$TMP/check")"
	return 1
}

# test_machine NAME: boot it, one PASS/FAIL per check
test_machine() {
	local m=$1
	LOG=$BUILD/linux-console-$m.log
	can_build "$m" || return
	echo "linux: $m: booting (up to ${TIMEOUT} s; a hang is ${HANG} s without console output)"
	boot "$m"
	report "$m"
}

# test_pair A B: boot both machines at once (an NTB pair), then report each
test_pair() {
	local m
	can_build "$1" && can_build "$2" || return
	echo "linux: $1 + $2: booting together (up to ${TIMEOUT} s each)"
	for m in "$1" "$2"; do
		(
			LOG=$BUILD/linux-console-$m.log
			boot "$m"
			echo "$status $elapsed ${done_at:-?}" >"$TMP/$m.result"
		) &
	done
	wait
	for m in "$1" "$2"; do
		LOG=$BUILD/linux-console-$m.log
		read -r status elapsed done_at <"$TMP/$m.result"
		report "$m"
	done
}

# report NAME: PASS/FAIL lines from boot's $status, $elapsed, $done_at and the console $LOG
report() {
	local m=$1 cpus
	cpus=$(sed -n 's/^cpus = //p' "$TMP/$m.toml")
	echo "linux: $m: vmm exited with status $status after $elapsed s; console log: $LOG"

	case "$status" in
	124) bad linux-$m-boot "timed out after $TIMEOUT s; last console lines:"; tail -n 15 "$LOG" ;;
	125) bad linux-$m-boot "hang: no console output for $HANG s; last console lines:"; tail -n 15 "$LOG" ;;
	0) ok "linux-$m-boot (powered off after $elapsed s)" ;;
	*) bad linux-$m-boot "vmm exit status $status; last console lines:"; tail -n 15 "$LOG" ;;
	esac

	if grep -q "VMMTEST done" "$LOG"; then
		ok "linux-$m-selftest-done (VMMTEST done after ${done_at:-?} s)"
	else
		bad linux-$m-selftest-done "no 'VMMTEST done' line"
	fi

	# One PASS/FAIL/SKIP per self-test check: "VMMTEST ok|fail|skip <check> <detail>".
	while read -r verdict name detail; do
		case "$verdict" in
		ok) ok "linux-$m-$name $detail" ;;
		fail) bad "linux-$m-$name" "$detail" ;;
		skip) skipped "linux-$m-$name" "$detail" ;;
		esac
	done < <(sed -n 's/.*VMMTEST \(ok\|fail\|skip\) /\1 /p' "$LOG" | tr -d '\r')

	if [ "$cpus" -gt 1 ]; then
		if grep -q "smp: Brought up 1 node, $cpus CPUs" "$LOG"; then
			ok "linux-$m-smp ($cpus CPUs brought up)"
		else
			bad "linux-$m-smp" "no 'smp: Brought up 1 node, $cpus CPUs' line"
		fi
	fi

	if grep -Eq "WARNING: CPU|BUG:|Oops|Kernel panic|Call Trace" "$LOG"; then
		bad linux-$m-no-kernel-warnings "$(grep -Em1 "WARNING: CPU|BUG:|Oops|Kernel panic" "$LOG")"
	else
		ok linux-$m-no-kernel-warnings
	fi
}

# iommu_checks NAME: Linux's DMAR driver took the unit (intel_iommu_init()'s last line), put
# both NVMe in IOMMU groups (iommu_group_add_device()), and logged no DMA fault
# (dmar_fault_do_one()); what it says about interrupt remapping is printed for docs/iommu.md.
iommu_checks() {
	local log=$BUILD/linux-console-$1.log n line
	if grep -q "DMAR: Intel(R) Virtualization Technology for Directed I/O" "$log"; then
		ok "linux-$1-dmar-enabled"
	else
		bad "linux-$1-dmar-enabled" "no 'Intel(R) Virtualization Technology for Directed I/O' line"
	fi
	n=$(grep -cE "(0000:0[34]:00.0|nvme).*Adding to iommu group" "$log")
	if [ "$n" -ge 2 ]; then
		ok "linux-$1-nvme-in-iommu-groups ($n)"
	else
		bad "linux-$1-nvme-in-iommu-groups" "$n of 2 NVMe functions added to an IOMMU group"
	fi
	# vmm's own count at exit (vmm/machine.c): walks happen only while translation is on
	# (Linux turns it off again at power-off)
	line=$(grep -Eo "vtd: translation (on|off), [0-9]+ table walks, [0-9]+ invalidations, [0-9]+ faults" "$log")
	if [ -n "$line" ] && [ "$(echo "$line" | awk '{print $4}')" -gt 0 ] &&
		[ "$(echo "$line" | awk '{print $7}')" -gt 0 ]; then
		ok "linux-$1-dma-translated ($line)"
	else
		bad "linux-$1-dma-translated" "vmm said '${line:-nothing}'"
	fi
	if grep -qE "DMAR: \[DMA (Read|Write)|DMAR: DRHD: handling fault" "$log"; then
		bad "linux-$1-no-dma-faults" "$(grep -Em1 "DMAR: \[DMA (Read|Write)" "$log")"
	else
		ok "linux-$1-no-dma-faults"
	fi
	grep -iE "x2apic|IRQ remapping|DMAR-IR|DMAR: " "$log" | tr -d '\r' | sed 's/^/linux: '"$1"': dmesg: /' | head -n 20
}

for m in ${VMM_LINUX_MACHINES:-testdev nvme nvme-iommu ntb ntb-lut ntb-epf ntb-dma}; do
	case "$m" in
	ntb) test_pair ntb-a ntb-b ;;
	ntb-lut | ntb-epf | ntb-dma) test_pair "$m-a" "$m-b" ;;
	testdev | nvme) test_machine "$m" ;;
	nvme-iommu) test_machine "$m" && iommu_checks "$m" ;;
	*) echo "VMM_LINUX_MACHINES: no machine '$m' (testdev, nvme, nvme-iommu, ntb, ntb-lut, ntb-epf, ntb-dma)" >&2; exit 2 ;;
	esac
done

# full mode: the nvme machine again (a PMR on nvme0 too), with the initramfs from
# guests/linux/initramfs: the kernel self-test runs and stays up (vmmtest.poweroff=0), then
# /init runs lspci -tv, nvme list/id-ctrl/show-regs, fio verify on each namespace, checks
# p2pmem in sysfs, the PI namespace (nvme1n2: Type 1, 8 bytes of metadata) registering
# T10-DIF-TYPE1-CRC and nvme read with and without PRACT, stores a tag in the PMR, prints "VMMTEST ok|fail user-<check>" lines
# and powers off; the PMR's backing file must then start with the tag. nvme0's second
# namespace is zoned (4 zones of 4 MiB, 3 MiB capacity, at most 2 open and 3 active:
# vmmtest.zns in sectors): /init checks Linux's zoned disk, blkzone and Zone Append on it
# (fio and nvme copy skip it; the lost completion and the self-test use namespace 1).
# test_userspace INITRD [nvme-iommu-user]: the same behind the VT-d unit (intel_iommu=on
# iommu.strict=1): fio verify and the injected lost completion with every DMA translated;
# then vmmtest.vfio: nvme0 through vfio-pci and vfio-nvme (Identify, an SQ in the CMB, the
# PMR through the VFIO region; docs/iommu.md).
test_userspace() {
	local initrd=$1 um=${2:-nvme-user} tag pmr=$TMP/pmr0-${2:-nvme-user}
	tag=vmm-pmr-$$-$RANDOM
	machine "$um" "$PORTS,03:00.0=1234:7110/nvme,04:00.0=1234:7110/nvme" \
		"03:00.0+04:00.0=ok,04:00.0+03:00.0=ok" "
[[root_port]]
id = \"rp0\"
[[switch]]
id = \"sw0\"
bus = \"rp0\"
downstream = 2
[[nvme]]
id = \"nvme0\"
bus = \"sw0.0\"
queues = 2
cmb = \"64M\"
pmr = \"$pmr\"
pmr_size = \"1M\"
namespaces = [ { backend = \"ram\", size = \"16M\" },
               { backend = \"ram\", size = \"16M\", zoned = true, zone_size = \"4M\", zone_capacity = \"3M\", max_open = 2, max_active = 3 } ]
[[nvme]]
id = \"nvme1\"
bus = \"sw0.1\"
queues = 2
cmb = \"64M\"
namespaces = [ { backend = \"ram\", size = \"16M\" }, { backend = \"ram\", size = \"16M\", metadata_size = 8, pi_type = 1 } ]" "" \
		"rdinit=/init vmmtest.poweroff=0 vmmtest.pmr=$tag vmmtest.inject=0000:03:00.0 vmmtest.linkdown=0000:04:00.0 vmmtest.pi=T10-DIF-TYPE1-CRC vmmtest.zns=4,8192,6144,2,3"
	# 90 MB of initramfs (fio's libraries) unpacked in RAM
	sed -i -e 's/^memory = .*/memory = "512M"/' \
		-e "s|^kernel = .*|&\ninitrd = \"$initrd\"|" "$TMP/$um.toml"
	if [ "$um" = nvme-iommu-user ]; then
		# and last, nvme0 (PMR, CMB) goes to vfio-pci for vfio-nvme (our userspace driver over
		# VFIO type1); the unit has no interrupt remapping, which type1 refuses without
		# allow_unsafe_interrupts (vfio_iommu_type1_attach_group)
		sed -i -e "s|vmmtest.p2p=|intel_iommu=on iommu.strict=1 vfio_iommu_type1.allow_unsafe_interrupts=1 vmmtest.vfio=0000:03:00.0 vmmtest.p2p=|" "$TMP/$um.toml"
		printf '\n[iommu]\nmodel = "intel"\n' >>"$TMP/$um.toml"
	fi
	can_build "$um" || return
	# nvme0 (03:00.0): the next read (opcode 02h) on namespace 1 loses its completion; then
	# the link of sw0.1 (nvme1, 04:00.0) goes down and, once the guest saw what that does,
	# comes back
	rm -f "$TMP/$um".ctl-*
	cat >"$TMP/$um.steps" <<-STEPS
		user-inject-ready nvme_drop ctrl=nvme0 opcode=0x02 nsid=1 count=1
		user-link-down-ready link_down port=sw0.1
		user-link-up-ready link_up port=sw0.1
	STEPS
	BOOT_CTL="$TMP/$um.ctl" test_machine "$um"
	ctl_step "$um" user-inject-ready inject-armed '"ok":true'
	ctl_step "$um" user-link-down-ready link-down-sent '"ok":true,"link":"down"'
	ctl_step "$um" user-link-up-ready link-up-sent '"ok":true,"link":"up"'
	rm -f "$TMP/$um.steps"
	user_done "$um"
	if [ "$(head -c ${#tag} "$pmr" 2>/dev/null)" = "$tag" ]; then
		ok "linux-$um-pmr-file (the PMR file starts with $tag after power-off)"
	else
		bad "linux-$um-pmr-file" "$pmr does not start with '$tag' after power-off"
	fi
}

# full mode, multipath: one [[nvme_subsystem]] with one namespace and two controllers, one below
# each downstream port. /init (vmmtest.user=nvme-mpath) checks that Linux made one subsystem,
# one nvme0n1 head with two hidden paths, both ANA optimized, and I/O through the head; then
# vmm ctl makes nvme0's path inaccessible (nvme_ana): Linux reads the ANA log after the
# notice and the I/O goes on through nvme1.
test_mpath_userspace() {
	local initrd=$1 nqn=nqn.2026-12.org.vmm:mpath0
	machine nvme-mpath-user "$PORTS,03:00.0=1234:7110/nvme,04:00.0=1234:7110/nvme" \
		"03:00.0+04:00.0=ok,04:00.0+03:00.0=ok" "
[[root_port]]
id = \"rp0\"
[[switch]]
id = \"sw0\"
bus = \"rp0\"
downstream = 2
[[nvme_subsystem]]
name = \"mpath0\"
subnqn = \"$nqn\"
namespaces = [ { backend = \"ram\", size = \"16M\" } ]
[[nvme]]
id = \"nvme0\"
bus = \"sw0.0\"
queues = 2
cmb = \"64M\"
subsystem = \"mpath0\"
[[nvme]]
id = \"nvme1\"
bus = \"sw0.1\"
queues = 2
cmb = \"64M\"
subsystem = \"mpath0\"" "" \
		"rdinit=/init vmmtest.poweroff=0 vmmtest.user=nvme-mpath vmmtest.mpath_nqn=$nqn vmmtest.inject=0000:03:00.0 nvme_core.multipath=Y"
	sed -i -e 's/^memory = .*/memory = "512M"/' \
		-e "s|^kernel = .*|&\ninitrd = \"$initrd\"|" "$TMP/nvme-mpath-user.toml"
	can_build nvme-mpath-user || return
	rm -f "$TMP"/nvme-mpath-user.ctl-*
	echo "user-inject-ready nvme_ana ctrl=nvme0 state=inaccessible" >"$TMP/nvme-mpath-user.steps"
	BOOT_CTL="$TMP/nvme-mpath-user.ctl" test_machine nvme-mpath-user
	ctl_step nvme-mpath-user user-inject-ready ana-set '"ok":true'
	rm -f "$TMP/nvme-mpath-user.steps"
	user_done nvme-mpath-user
}

# user_done NAME: /init's last line is in NAME's console log
user_done() {
	if grep -q "VMMTEST user-done" "$BUILD/linux-console-$1.log"; then
		ok "linux-$1-init-done ($(sed -n 's/.*VMMTEST user-done //p' "$BUILD/linux-console-$1.log" | tr -d '\r'))"
	else
		bad "linux-$1-init-done" "no 'VMMTEST user-done' line from /init"
	fi
}

# full mode, NTB: the ntb-dma pair (EPF personality, a PLX engine each, ntb_transport.use_dma=1)
# booted with the initramfs. /init (vmmtest.user=ntb-net) finds ntb_netdev's interface, waits
# for its carrier, pings the peer and moves 4 MB over TCP (a receives, b sends, busybox nc),
# each side checking the other's SHA-256 before it powers off. The kernel self-test runs
# first, as in the ntb-dma pair.
test_ntb_userspace() {
	local initrd=$1 side name
	for side in a:rx b:tx; do
		name=ntb-net-user-${side%:*}
		sed -e "s|^cmdline = \"\(.*\)\"\$|cmdline = \"\1 rdinit=/init vmmtest.poweroff=0 vmmtest.user=ntb-net vmmtest.user_tcp=${side#*:}\"|" \
			-e 's/^memory = .*/memory = "512M"/' -e "s|^kernel = .*|&\ninitrd = \"$initrd\"|" \
			-e "s|ntb-dma.sock|ntb-net-user.sock|" "$TMP/ntb-dma-${side%:*}.toml" >"$TMP/$name.toml"
	done
	test_pair ntb-net-user-a ntb-net-user-b
	user_done ntb-net-user-a
	user_done ntb-net-user-b
}

# full mode, IDT: the ntb pair (ports 0 and 2) with 1 MiB windows (ntb_perf backs a whole
# window with one coherent buffer) and a PLX DMA engine each, booted with the initramfs. The
# kernel self-test runs first (ntb_pingpong has the device); then /init (vmmtest.user=ntb-idt)
# reads ntb_pingpong's count, rebinds the device to ntb_tool (link, message registers, a
# doorbell each way, 64 KiB through window 0 each way), then to ntb_perf (a copy into the
# peer's buffer with the CPU, then with use_dma through the PLX engine: throughput printed;
# port 0's turn, then port 2's, the other side serving its buffer), and back to ntb_tool
# between the turns and at the end, so that neither side moves on while the other copies.
test_ntb_idt_userspace() {
	local initrd=$1 side name
	for side in a:0 b:2; do
		name=ntb-idt-user-${side%:*}
		machine "$name" "$NTB_TREE,$PLX_TREE" "" "
[[root_port]]
id = \"rp0\"
[[ntb]]
id = \"ntb0\"
bus = \"rp0\"
port = ${side#*:}
mw_size = \"1M\"
rendezvous = \"$TMP/ntb-idt-user.sock\"
[[root_port]]
id = \"rp1\"
[[plx_dma]]
id = \"dma0\"
bus = \"rp1\"" 1 "ntb_pingpong.delay_ms=100 loglevel=8 ntb_perf.dyndbg=+p rdinit=/init vmmtest.poweroff=0 vmmtest.user=ntb-idt"
		sed -i -e 's/^memory = .*/memory = "512M"/' -e "s|^kernel = .*|&\ninitrd = \"$initrd\"|" "$TMP/$name.toml"
	done
	test_pair ntb-idt-user-a ntb-idt-user-b
	user_done ntb-idt-user-a
	user_done ntb-idt-user-b
	ntb_idt_window_stats ntb-idt-user-a
	ntb_idt_window_stats ntb-idt-user-b
}

# What vmm's NT function counted at exit (vmm/topology.c): ntb_tool's windows must have been
# memslots (0 trapped), and the only dropped stores ntb_perf's. Linux 6.1's ntb_perf maps
# outbound window perf->gidx (perf_setup_peer_mw) but translates window peer->gidx
# (perf_setup_outbuf); with two ports those differ, so its stores reach a window whose
# limit was never set past its base, and vmm drops them (devices/ntb/window.c, want()):
# 65536 / 4 for the CPU run (memcpy_toio's 4-byte stores) + 1 MiB / 64 KiB for the engine's
# chunks. Any other count means a window dropped or trapped what it should have carried.
ntb_idt_window_stats() {
	local line want="0 trapped, 0 by DMA; dropped: 16400 stores, 0 loads"
	line=$(sed -n 's/^vmm: info: ntb0: window accesses: //p' "$BUILD/linux-console-$1.log" | tr -d '\r')
	if [ "$line" = "$want" ]; then
		ok "linux-$1-ntb-windows $line (ntb_perf's stores into the window Linux 6.1 leaves untranslated)"
	else
		bad "linux-$1-ntb-windows" "vmm counted '${line:-nothing}', expected '$want'"
	fi
}

if [ "$MODE" = full ]; then
	if initrd=$(guests/linux/initramfs/build.sh 2>"$TMP/initramfs.log"); then
		echo "linux: initramfs $initrd"
		for u in ${VMM_LINUX_USER:-nvme nvme-iommu nvme-mpath ntb-net ntb-idt}; do
			case "$u" in
			nvme) test_userspace "$initrd" ;;
			nvme-iommu) test_userspace "$initrd" nvme-iommu-user && iommu_checks nvme-iommu-user ;;
			nvme-mpath) test_mpath_userspace "$initrd" ;;
			ntb-net) test_ntb_userspace "$initrd" ;;
			ntb-idt) test_ntb_idt_userspace "$initrd" ;;
			*) echo "VMM_LINUX_USER: no full-mode machine '$u' (nvme, nvme-iommu, nvme-mpath, ntb-net, ntb-idt)" >&2; exit 2 ;;
			esac
		done
	else
		bad linux-userspace-initramfs "guests/linux/initramfs/build.sh failed: $(tail -n1 "$TMP/initramfs.log")"
	fi
else
	skipped linux-userspace "kernel-only mode: $why"
fi
finish
