#!/bin/bash
# Build the full-mode initramfs (a gzip'd newc cpio) from Debian packages installed on this
# machine: busybox-static, nvme-cli, fio, pciutils, util-linux's blkzone (their shared
# libraries resolved with ldd), our /init (the userspace checks), vmmtest-bar and vfio-nvme
# (built here, statically: a userspace NVMe driver over VFIO) and shm-shim.so (SysV
# shared memory for fio on a kernel without CONFIG_SYSVIPC). Nothing binary is
# kept in the repository.
#
#   build.sh          build if missing; print the path of the cached initramfs
#   build.sh path     print the path if cached, else exit 1 (never builds)
#   build.sh key      print the cache key
#
# Cached beside the kernel, under ${VMM_CACHE:-$HOME/.cache/vmm}/initramfs-<key>/, where the
# key hashes this script, init, vmmtest-bar.c, shm-shim.c, vfio-nvme.c and the installed versions of the packages used.
set -euo pipefail

RECIPE=1
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${VMM_CACHE:-$HOME/.cache/vmm}
PKGS="busybox-static nvme-cli fio pciutils util-linux cpio gzip libc6 libc6-dev gcc"
BINS="/usr/sbin/nvme /usr/bin/fio /usr/bin/lspci /usr/bin/setpci /usr/sbin/blkzone"

die() {
	echo "guests/linux/initramfs: $*" >&2
	exit 1
}

key() {
	{
		echo "$RECIPE"
		dpkg-query -W -f='${Package} ${Version}\n' $PKGS 2>/dev/null || echo missing
		for f in build.sh init vmmtest-bar.c shm-shim.c vfio-nvme.c; do
			echo "== $f"
			cat "$HERE/$f"
		done
	} | sha256sum | cut -c1-16
}

KEY=$(key)
OUT=$CACHE/initramfs-$KEY

case "${1:-build}" in
key) echo "$KEY"; exit 0 ;;
path)
	[ -f "$OUT/initramfs.cpio.gz" ] || exit 1
	echo "$OUT/initramfs.cpio.gz"
	exit 0
	;;
build) ;;
*) die "usage: build.sh [build|path|key]" ;;
esac

if [ -f "$OUT/initramfs.cpio.gz" ]; then
	touch "$OUT" # in use: see the pruning below
	echo "$OUT/initramfs.cpio.gz"
	exit 0
fi

need=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		need="$need $p"
done
if [ -n "$need" ]; then
	echo "guests/linux/initramfs: installing Debian packages:$need" >&2
	SUDO=""
	[ "$(id -u)" -ne 0 ] && SUDO=sudo
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get update -q >&2
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $need >&2
	exec "$0" build # the package versions are part of the key
fi

mkdir -p "$CACHE"
ROOT=$(mktemp -d "$CACHE/initramfs-root.XXXXXX")
trap 'rm -rf "$ROOT"' EXIT
cd "$ROOT"
mkdir -p bin sbin usr/bin usr/sbin lib64 lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu \
	etc proc sys dev tmp root usr/share/misc

# busybox and its applets (links first: our real lspci/setpci replace busybox's below)
cp /bin/busybox bin/busybox
for a in $(bin/busybox --list-full); do
	[ -e "$a" ] || [ -L "$a" ] || ln -s /bin/busybox "$a"
done

# copy_with_libs FILE...: FILE and every library ldd resolves for it (and the loader), at
# the same paths
copy_with_libs() {
	local f lib
	for f in "$@"; do
		rm -f ".$f"
		mkdir -p ".$(dirname "$f")"
		cp -L "$f" ".$f"
		for lib in $(ldd "$f" | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) .*/\1/p'); do
			[ -e ".$lib" ] && continue
			mkdir -p ".$(dirname "$lib")"
			cp -L "$lib" ".$lib"
		done
	done
}
copy_with_libs $BINS
ldd /usr/bin/fio | grep -q "not found" && die "fio: libraries not found: $(ldd /usr/bin/fio | grep 'not found')"
[ -f /usr/share/misc/pci.ids ] && cp /usr/share/misc/pci.ids usr/share/misc/
# the loader's cache, for libraries outside its default directories (ceph/)
find . -name '*.so*' -type f -printf '/%h\n' | sed 's|^/\./|/|' | sort -u >etc/ld.so.conf
ldconfig -r "$ROOT" 2>/dev/null || true

gcc -static -Os -Wall -Wextra -o usr/bin/vmmtest-bar "$HERE/vmmtest-bar.c"
gcc -static -O2 -Wall -Wextra -o usr/bin/vfio-nvme "$HERE/vfio-nvme.c"
mkdir -p usr/lib/vmmtest
gcc -shared -fPIC -O2 -Wall -Wextra -o usr/lib/vmmtest/shm-shim.so "$HERE/shm-shim.c"
install -m 755 "$HERE/init" init
echo "root:x:0:0:root:/root:/bin/sh" >etc/passwd
# the console, in case devtmpfs is missing (init mounts /dev over it)
[ "$(id -u)" -eq 0 ] && mknod -m 600 dev/console c 5 1 || true

rm -rf "$OUT.tmp"
mkdir -p "$OUT.tmp"
find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet |
	gzip -n -6 >"$OUT.tmp/initramfs.cpio.gz"
du -sh --apparent-size . | cut -f1 >"$OUT.tmp/size"
mv "$OUT.tmp" "$OUT"
# Other keys' results and build roots, once unused for an hour: another checkout on this
# machine (a CI clone, a second worktree) may be booting its own initramfs or building one
# right now, so nothing recent is removed.
find "$CACHE" -mindepth 1 -maxdepth 1 -name 'initramfs-*' -mmin +60 \
	! -path "$OUT" ! -path "$ROOT" -exec rm -rf {} + 2>/dev/null || true
echo "$OUT/initramfs.cpio.gz"
