#!/bin/sh
# Install the Debian packages vmm needs to build and test, if any are missing.
# Needs root (or sudo) only when something is missing.
set -e
PKGS="gcc make libc6-dev liburing-dev libfdt-dev libcriterion-dev linux-image-amd64 busybox-static cpio kmod python3 clang libclang-rt-14-dev seabios qemu-system-x86 grub-pc-bin grub-common fdisk dosfstools mtools"
missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0
echo "deps: installing missing Debian packages:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends $missing
