#!/bin/bash
# Validate the initramfs and /init where vmm cannot run userspace (shared/HOST.md): boot the
# cached test kernel with it under QEMU with TCG (software emulation, no KVM) on a tree like
# tests/linux/run.sh's full-mode machine -- q35, root port (ioh3420) -> XIO3130 upstream ->
# two downstream ports -> two QEMU NVMe controllers with CMBs, the first with a file-backed
# PMR -- and check that /init ran every check and that the PMR file holds the tag it wrote.
# /init's expectations are QEMU's IDs (vmmtest.user_chain, vmmtest.nvme_vid). Not part of
# `make test`: a few minutes of TCG.
#
#   check-qemu.sh          (make -C guests/linux check-initramfs)
# Environment: VMM_CACHE, QEMU_INITRAMFS_TIMEOUT (seconds, default 1200),
# VMM_LINUX_KERNEL (this vmlinux instead of the cached one). Console log: $VMM_BUILD or
# ./build, initramfs-qemu-console.log.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
BUILD=${VMM_BUILD:-$REPO/build}
TIMEOUT=${QEMU_INITRAMFS_TIMEOUT:-1200}
LOG=$BUILD/initramfs-qemu-console.log
mkdir -p "$BUILD"

command -v qemu-system-x86_64 >/dev/null || { echo "SKIP: qemu-system-x86_64 missing (apt-get install qemu-system-x86)"; exit 0; }
VMLINUX=${VMM_LINUX_KERNEL:-$("$HERE/../build.sh" path)} ||
	{ echo "SKIP: the test kernel is not built (make guests-linux)"; exit 0; }
INITRD=$("$HERE/build.sh") || exit 1
TMP=$(mktemp -d /tmp/vmm-initramfs-qemu.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
truncate -s 16M "$TMP/ns0.img" "$TMP/ns1.img"
TAG=vmm-pmr-$$-$RANDOM
echo "initramfs: $INITRD"
echo "kernel:    $VMLINUX"
echo "qemu:      $(qemu-system-x86_64 --version | head -n1), TCG; up to $TIMEOUT s"

start=$(date +%s)
timeout "$TIMEOUT" qemu-system-x86_64 -accel tcg -M q35 -cpu max -m 512 -smp 1 \
	-kernel "$VMLINUX" -initrd "$INITRD" \
	-append "console=ttyS0 rdinit=/init vmmtest.poweroff=0 vmmtest.user_chain=104c:8232,104c:8233,1b36:0010 vmmtest.nvme_vid=0x1b36 vmmtest.nvme_count=2 vmmtest.cmb=1 vmmtest.pmr=$TAG" \
	-nographic -nodefaults -no-reboot -monitor none -serial stdio \
	-object memory-backend-file,id=pmr0,share=on,mem-path="$TMP/pmr0",size=1M \
	-device ioh3420,id=rp0,bus=pcie.0,chassis=1,slot=1 \
	-device x3130-upstream,id=up0,bus=rp0 \
	-device xio3130-downstream,id=dn0,bus=up0,chassis=2,slot=0 \
	-device xio3130-downstream,id=dn1,bus=up0,chassis=3,slot=1 \
	-drive if=none,id=d0,file="$TMP/ns0.img",format=raw \
	-drive if=none,id=d1,file="$TMP/ns1.img",format=raw \
	-device nvme,bus=dn0,serial=vmmq0,drive=d0,cmb_size_mb=16,pmrdev=pmr0 \
	-device nvme,bus=dn1,serial=vmmq1,drive=d1,cmb_size_mb=16 \
	</dev/null >"$LOG" 2>&1
rc=$?
elapsed=$(($(date +%s) - start))
tr -d '\r' <"$LOG" >"$TMP/log"
echo "qemu exited with status $rc after $elapsed s; console log: $LOG"

fail=0
grep "VMMTEST \(ok\|fail\) user-" "$TMP/log" | sed 's/.*VMMTEST /  /'
if ! grep -q "VMMTEST user-done" "$TMP/log"; then
	echo "FAIL: no 'VMMTEST user-done' line; last console lines:"
	tail -n 20 "$TMP/log"
	fail=1
fi
grep -q "VMMTEST fail user-" "$TMP/log" && fail=1
if [ "$(head -c ${#TAG} "$TMP/pmr0" 2>/dev/null)" = "$TAG" ]; then
	echo "  ok pmr-file: the PMR's backing file starts with '$TAG' after power-off"
else
	echo "  fail pmr-file: the PMR's backing file does not start with '$TAG'"
	fail=1
fi
sed -n 's/.*\(VMMTEST user-done.*\)/\1/p' "$TMP/log"
[ "$fail" = 0 ] && echo "PASS initramfs under QEMU TCG ($elapsed s)" ||
	echo "FAIL initramfs under QEMU TCG ($elapsed s)"
exit $fail
