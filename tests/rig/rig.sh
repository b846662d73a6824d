#!/bin/bash
# The nested-KVM test rig (tests/rig/README.md): where the host has no /dev/kvm, or one that
# cannot run guest userspace (nested KVM over PVM, shared/HOST.md), the KVM test tiers run
# inside a QEMU TCG guest ("L1") whose emulated AMD CPU has SVM with NPT: Debian's own kernel
# loads kvm-amd there, the host's / is mounted read-only over 9p with the work folders
# writable over it, and the batch runs chrooted into it with the host's own binaries. One
# boot per batch; its exit status and output come back to the host.
#
#   rig.sh kind               what this host's /dev/kvm is: "hw|pvm|none|unknown: reason"
#   rig.sh where TIER         where TIER's KVM tests run: "host|rig|skip: reason"
#   rig.sh tier TIER CMD...   run CMD where TIER's tests run (prints where, why, how long)
#   rig.sh run CMD...         run CMD in the rig; exits with CMD's status (3: the rig failed)
#   rig.sh build              build the L1 initramfs if missing; print its path
#   rig.sh check              can this host run the rig? ("yes" or what is missing; exit 1)
#
# Tiers: "integration" (test guests, SeaBIOS), "linux" (the Linux guest: its full mode needs
# guest userspace). VMM_TEST_KVM=host|rig|skip overrides the choice for every tier.
# Environment: VMM_CACHE (default ~/.cache/vmm; the initramfs is cached in $VMM_CACHE/rig-KEY),
# VMM_RIG_CPUS (default 1, at most 4), VMM_RIG_MEM (default 8G),
# VMM_RIG_TIMEOUT (seconds for one batch, default 5400), VMM_RIG_SILENCE (seconds the rig may
# print nothing before it counts as hung and is stopped, default 900; 0: never),
# VMM_RIG_RW (more writable folders, space-separated), VMM_RIG_LOG (a copy of the rig's console).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${VMM_CACHE:-$HOME/.cache/vmm}
RECIPE=1
# Loaded in L1, with their dependencies (modprobe --show-depends): KVM on AMD's SVM, and 9p
# over virtio-pci for the host's file systems.
MODULES="kvm-amd virtio_pci 9pnet_virtio 9p"
# L1's TSC: TCG derives every vCPU's TSC from one host clock, so it is synchronized, but
# TCG's timing fails Linux's TSC checks and L1 would fall back to another clocksource; then
# L1's KVM has no master clock and its guests' kvm-clock is not stable (seen: a 2-vCPU L2
# Linux found "TSCs unsynchronized" and its kvm-clock stood still from then on).
L1_CMDLINE="tsc=reliable"
PKGS="qemu-system-x86 busybox-static linux-image-amd64 cpio gzip kmod"

die() {
	echo "rig: $*" >&2
	exit 3
}

# Debian's newest installed kernel that has its modules: L1 boots it.
l1_kernel() {
	local k v
	for k in $(ls /boot/vmlinuz-* 2>/dev/null | sort -V -r); do
		v=${k#/boot/vmlinuz-}
		[ -f "/lib/modules/$v/modules.dep" ] && { echo "$v"; return 0; }
	done
	return 1
}

check() {
	local missing="" p
	for p in $PKGS; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing="$missing $p"
	done
	[ -n "$missing" ] && { echo "missing Debian packages:$missing (make deps)"; return 1; }
	l1_kernel >/dev/null || { echo "no /boot/vmlinuz-* with modules (linux-image-amd64)"; return 1; }
	echo yes
}

# kind: what /dev/kvm is here. Full Linux userspace needs real VT-x/AMD-V under KVM; PVM
# (kvm_pvm) emulates guest ring 0 and cannot route a guest's syscalls (shared/HOST.md).
kind() {
	if [ ! -e /dev/kvm ]; then
		echo "none: /dev/kvm does not exist"
	elif [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
		echo "none: /dev/kvm is not readable and writable by $(id -un)"
	elif [ -d /sys/module/kvm_pvm ]; then
		echo "pvm: /dev/kvm is kvm_pvm (nested KVM over PVM: guest ring 0 is emulated, guest userspace cannot run)"
	elif [ -d /sys/module/kvm_intel ] || [ -d /sys/module/kvm_amd ]; then
		echo "hw: /dev/kvm is hardware KVM ($(ls -d /sys/module/kvm_intel /sys/module/kvm_amd 2>/dev/null | xargs -n1 basename | tr '\n' ' ' | sed 's/ $//'))"
	else
		echo "unknown: /dev/kvm is there, but neither kvm_intel, kvm_amd nor kvm_pvm is loaded"
	fi
}

# where TIER: the host's /dev/kvm when it is hardware KVM; the rig when there is none; skip
# only when the rig cannot run either. On PVM the integration tier stays on the host (our
# ring-0 guests run there, faster) and Linux goes to the rig for its full mode. The unit
# tier is the few unit tests that open /dev/kvm themselves (test_cpuid): any /dev/kvm does.
where() {
	local tier=$1 k why c
	case "$tier" in
	integration | linux | unit) ;;
	*) die "no tier '$tier' (integration, linux, unit)" ;;
	esac
	if [ -n "${VMM_TEST_KVM:-}" ]; then
		case "$VMM_TEST_KVM" in
		host | rig | skip) echo "$VMM_TEST_KVM: VMM_TEST_KVM=$VMM_TEST_KVM"; return ;;
		*) die "VMM_TEST_KVM must be host, rig or skip, not '$VMM_TEST_KVM'" ;;
		esac
	fi
	k=$(kind)
	why=${k#*: }
	case "${k%%:*}" in
	hw | unknown) echo "host: $why"; return ;;
	pvm) [ "$tier" = unit ] && echo "host: $why" && return ;;&
	pvm)
		# PVM runs our test guests' ring 0 but no guest userspace: the integration tests
		# pass on it (and faster); Linux's full mode needs the rig.
		if [ "$tier" = integration ]; then
			echo "host: $why; the integration guests run there"
			return
		fi
		if ! c=$(check); then
			echo "host: $why (kernel-only: the rig cannot run: $c)"
			return
		fi
		echo "rig: $why: Linux's full mode runs in the rig"
		return
		;;
	esac
	if ! c=$(check); then
		echo "skip: $why, and the rig cannot run: $c"
		return
	fi
	echo "rig: $why"
}

key() {
	local v
	v=$(l1_kernel) || v=none
	{
		echo "$RECIPE $v $MODULES"
		dpkg-query -W -f='${Package} ${Version}\n' busybox-static "linux-image-$v" 2>/dev/null
		cat "$HERE/rig.sh" "$HERE/init"
	} | sha256sum | cut -c1-16
}

# build: the L1 initramfs (busybox, the modules, our init), cached under a key of its inputs.
build() {
	local v out root ko
	v=$(l1_kernel) || die "no Debian kernel with modules in /boot (apt-get install linux-image-amd64)"
	out=$CACHE/rig-$(key)
	if [ -f "$out/initramfs.cpio.gz" ]; then
		echo "$out/initramfs.cpio.gz"
		return
	fi
	command -v busybox >/dev/null || die "busybox missing (apt-get install busybox-static)"
	mkdir -p "$CACHE"
	root=$(mktemp -d "$CACHE/rig-root.XXXXXX")
	(
		set -e
		cd "$root"
		mkdir -p bin sbin proc sys dev modules
		cp "$(command -v busybox)" bin/busybox
		for a in $(bin/busybox --list); do
			[ "$a" = busybox ] || ln -s busybox "bin/$a"
		done
		install -m 755 "$HERE/init" init
		# one module a call: modprobe takes further words as the module's parameters
		for ko in $MODULES; do
			modprobe -S "$v" --show-depends "$ko" || exit 1
		done | sed -n 's/^insmod \([^ ]*\).*/\1/p' | awk '!seen[$0]++' >"$root/modules.list"
		while read -r ko; do
			case "$ko" in
			*.ko) cp "$ko" modules/ ;;
			*.ko.xz) xz -dc "$ko" >"modules/$(basename "$ko" .xz)" ;;
			*.ko.zst) zstd -dqc "$ko" >"modules/$(basename "$ko" .zst)" ;;
			*) echo "rig: cannot load module $ko" >&2; exit 1 ;;
			esac
			basename "${ko%.xz}" | sed 's/\.zst$//' >>modules/order
		done <"$root/modules.list"
		rm modules.list
		mkdir -p "$out.tmp"
		find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -n -6 >"$out.tmp/initramfs.cpio.gz"
		echo "$v" >"$out.tmp/kernel"
	) || { rm -rf "$root" "$out.tmp"; die "building the L1 initramfs failed"; }
	rm -rf "$root" "$out"
	mv "$out.tmp" "$out"
	for d in "$CACHE"/rig-*; do
		[ "$d" = "$out" ] || rm -rf "$d"
	done
	echo "$out/initramfs.cpio.gz"
}

# run CMD...: one boot of L1 running CMD in the host's cwd, with the host's environment's
# VMM_*, CI, FUZZ_*, locale, HOME, USER and PATH.
run() {
	local initrd v rigdir cpus mem t top rw d i n status silence wd
	[ $# -gt 0 ] || die "run: no command"
	initrd=$(build) || exit 3
	v=$(cat "$(dirname "$initrd")/kernel")
	rigdir=$(mktemp -d "${TMPDIR:-/tmp}/vmm-rig.XXXXXX")
	# shellcheck disable=SC2064
	trap "rm -rf '$rigdir'" EXIT
	# One L1 CPU by default: with two, QEMU's multi-threaded TCG ran two nested guests at
	# once into random triple faults and hangs (NTB pairs: 4 of 6 pairs failed); with one,
	# 6 of 6 passed, faster (README.md, "What fits a guest in the rig").
	cpus=${VMM_RIG_CPUS:-1}
	[ "$cpus" -gt 4 ] && cpus=4
	mem=${VMM_RIG_MEM:-8G}
	t=${VMM_RIG_TIMEOUT:-5400}
	silence=${VMM_RIG_SILENCE:-900}

	# Writable: the work tree the command runs in, the kernel/initramfs cache, the build
	# folder if it is elsewhere, and VMM_RIG_RW. A folder inside another one is covered.
	top=$(git rev-parse --show-toplevel 2>/dev/null) || top=$PWD
	mkdir -p "$CACHE"
	rw=""
	for d in "$top" "$CACHE" ${VMM_BUILD:-} ${VMM_RIG_RW:-}; do
		[ -d "$d" ] || continue
		d=$(realpath "$d")
		case "$d" in / | /tmp | /tmp/* | /run | /run/*) die "cannot share $d writable (it is the root, or a tmpfs inside the rig)" ;; esac
		rw="$rw $d"
	done
	: >"$rigdir/mounts"
	n=0
	local args=()
	for d in $(printf '%s\n' $rw | sort -u); do
		for i in $rw; do
			[ "$i" != "$d" ] && case "$d/" in "$i"/*) continue 2 ;; esac
		done
		n=$((n + 1))
		echo "rw$n $d" >>"$rigdir/mounts"
		args+=(-virtfs "local,path=$d,mount_tag=rw$n,security_model=none,multidevs=remap")
	done

	{
		echo "# written by tests/rig/rig.sh run"
		env | sed -n 's/^\(VMM_[A-Za-z0-9_]*\|CI\|FUZZ_[A-Za-z0-9_]*\|HOME\|USER\|LOGNAME\|LANG\|LC_[A-Z]*\|PATH\|TERM\)=.*/\1/p' |
			while read -r n; do printf 'export %s=%q\n' "$n" "${!n}"; done
		echo "export VMM_TEST_KVM=host VMM_IN_RIG=1"
		printf 'cd %q || exit 3\n' "$PWD"
		printf '%q ' "$@"
		echo
	} >"$rigdir/batch.sh"

	echo "rig: L1 = Debian $v under QEMU TCG (-cpu EPYC, $cpus CPUs, $mem); writable:$(cut -d' ' -f2 "$rigdir/mounts" | tr '\n' ' ' | sed 's/^/ /')" >&2
	# The silence watchdog: every tier prints a line per test, so a console that stays
	# quiet for $silence s is a hung L1 (seen once: QEMU at 100 % CPU, no output for 40
	# minutes, after the host machine had been paused). It is stopped then, and says so,
	# rather than holding CI until VMM_RIG_TIMEOUT.
	: >"$rigdir/console"
	wd=""
	if [ "$silence" -gt 0 ]; then
		(
			last=-1 quiet=0
			while sleep 10; do
				n=$(stat -c %s "$rigdir/console" 2>/dev/null) || exit 0
				if [ "$n" != "$last" ]; then
					last=$n quiet=0
				else
					quiet=$((quiet + 10))
				fi
				if [ $quiet -ge "$silence" ]; then
					echo "$quiet" >"$rigdir/silent"
					pkill -KILL -f "path=$rigdir,mount_tag=rig,"
					exit 0
				fi
			done
		) &
		wd=$!
	fi
	timeout --kill-after=10 "$t" qemu-system-x86_64 -accel tcg,thread=multi -cpu EPYC \
		-smp "$cpus" -m "$mem" -nodefaults -display none -no-reboot -monitor none \
		-serial stdio -kernel "/boot/vmlinuz-$v" -initrd "$initrd" \
		-append "console=ttyS0 quiet panic=-1 rdinit=/init $L1_CMDLINE" \
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
		-virtfs "local,path=$rigdir,mount_tag=rig,security_model=none,multidevs=remap" \
		"${args[@]}" </dev/null 2>&1 |
		sed -u -e 's/\r//g' -e "/^qemu-system-x86_64: warning: TCG doesn't support requested feature/d" |
		tee "$rigdir/console" "${VMM_RIG_LOG:-/dev/null}"
	status=${PIPESTATUS[0]}
	[ -n "$wd" ] && kill "$wd" 2>/dev/null && wait "$wd" 2>/dev/null
	if [ ! -f "$rigdir/rc" ]; then
		[ -f "$rigdir/silent" ] && die "the rig printed nothing for $(cat "$rigdir/silent") s and was stopped (VMM_RIG_SILENCE): L1 hung; its last lines are above"
		[ "$status" -eq 124 ] && die "the batch did not finish within $t s (VMM_RIG_TIMEOUT)"
		die "the batch did not finish (qemu exit status $status)"
	fi
	return "$(cat "$rigdir/rc")"
}

# tier TIER CMD...: run CMD where TIER runs, and say where, why and how long.
tier() {
	local name=$1 w start status
	shift
	w=$(where "$name") || exit 3
	echo "== kvm tier $name: ${w%%:*} (${w#*: })"
	start=$(date +%s)
	case "${w%%:*}" in
	host) VMM_TEST_KVM=host "$@" ;;
	skip) VMM_TEST_KVM=skip VMM_TEST_KVM_WHY="${w#*: }" "$@" ;;
	rig) (run "$@") ;;
	esac
	status=$?
	echo "== kvm tier $name: ran on ${w%%:*} in $(($(date +%s) - start)) s, exit status $status"
	return $status
}

case "${1:-}" in
kind) kind ;;
where) where "${2:?where TIER}" ;;
check) check ;;
build) build ;;
key) key ;;
run) shift; run "$@" ;;
tier) shift; tier "$@" ;;
*) echo "usage: rig.sh kind|where TIER|tier TIER CMD...|run CMD...|build|check" >&2; exit 2 ;;
esac
