#!/bin/sh
# Build a disk image that SeaBIOS boots into Debian's Linux kernel through Debian's GRUB,
# from packages only, without root, mounts or loop devices:
#   guests/linux-disk/build.sh OUT.img [KERNEL]
# KERNEL defaults to the newest /boot/vmlinuz-* (Debian package linux-image-amd64).
#
# Layout (MBR disk, 16 MiB):
#   LBA 0        GRUB's boot.img, its first 440 bytes (the partition table stays sfdisk's);
#                it reads LBA 1 (its "kernel sector" field, 1 by default) and jumps there
#   LBA 1..      GRUB's core.img (grub-mkimage -O i386-pc): diskboot.img, whose block list
#                (start LBA 2, length filled in by grub-mkimage) loads the rest of it, then
#                GRUB's kernel with the modules below and an embedded configuration
#   1 MiB..      partition 1, FAT16 (mkfs.vfat on a separate file, mcopy, then dd) with
#                /vmlinuz
# The embedded configuration loads the kernel with linux16 (the 16-bit boot protocol), so
# the kernel's real-mode setup code runs and, with "debug" on its command line, prints "early
# console in setup code" through the BIOS: the kernel has taken over.
#
# Exit status 77 when a tool or the kernel is missing (tests report it as skipped).
set -eu

out=${1:?usage: build.sh OUT.img [KERNEL]}
kernel=${2:-$(ls -v /boot/vmlinuz-* 2>/dev/null | tail -n 1)}
grubdir=/usr/lib/grub/i386-pc
cmdline="console=ttyS0 debug"
modules="biosdisk part_msdos fat linux16 echo boot"

missing() {
	echo "build.sh: $1" >&2
	exit 77
}
for tool in sfdisk:fdisk mkfs.vfat:dosfstools mcopy:mtools grub-mkimage:grub-common; do
	command -v "${tool%%:*}" >/dev/null 2>&1 ||
		PATH=$PATH:/sbin:/usr/sbin command -v "${tool%%:*}" >/dev/null 2>&1 ||
		missing "${tool%%:*} not found (Debian package ${tool#*:})"
done
PATH=$PATH:/sbin:/usr/sbin
[ -r "$grubdir/boot.img" ] || missing "$grubdir/boot.img not found (Debian package grub-pc-bin)"
[ -n "$kernel" ] && [ -r "$kernel" ] ||
	missing "no readable kernel ${kernel:-/boot/vmlinuz-*} (Debian package linux-image-amd64)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/linux-disk.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/grub.cfg" <<EOT
set root=(hd0,msdos1)
echo "vmm-linux-disk: GRUB loads /vmlinuz ($(basename "$kernel")) with linux16"
linux16 /vmlinuz $cmdline
boot
EOT
grub-mkimage -O i386-pc -p '(hd0,msdos1)/' -c "$tmp/grub.cfg" -o "$tmp/core.img" $modules
[ "$(stat -c %s "$tmp/core.img")" -le $((2047 * 512)) ] || {
	echo "build.sh: core.img does not fit before the partition" >&2
	exit 1
}

truncate -s 15M "$tmp/part.img"
mkfs.vfat -n VMMLINUX -h 2048 "$tmp/part.img" >/dev/null
mcopy -i "$tmp/part.img" "$kernel" ::vmlinuz

truncate -s 16M "$tmp/disk.img"
echo 'start=2048, type=e, bootable' | sfdisk -q "$tmp/disk.img"
dd if="$tmp/part.img" of="$tmp/disk.img" bs=1M seek=1 conv=notrunc status=none
dd if="$grubdir/boot.img" of="$tmp/disk.img" bs=440 count=1 conv=notrunc status=none
dd if="$tmp/core.img" of="$tmp/disk.img" bs=512 seek=1 conv=notrunc status=none
mv "$tmp/disk.img" "$out"
