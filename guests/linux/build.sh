#!/bin/bash
# Build vmm's test kernel (a PVH vmlinux) from Debian's linux-source-6.1, cached outside the
# repository so a machine builds it once.
#
#   build.sh          build if missing; print the path of the cached vmlinux
#   build.sh path     print the path if cached, else exit 1 (never builds)
#   build.sh key      print the cache key
#
# The cache key is a hash of everything that decides the binary: config.fragment, patches/*,
# selftest/*, the source package version and RECIPE (bump it when this script's build steps
# change). Layout under ${VMM_CACHE:-$HOME/.cache/vmm}:
#   linux-<key>/vmlinux, config, build.log   the result (complete, or absent)
#   linux-src-<ver>-<patches hash>/          extracted, patched source (reused)
#   linux-obj-<key minus selftest>/          kbuild output dir: editing only the self-test
#                                            rebuilds one file and relinks
set -euo pipefail

RECIPE=1
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${VMM_CACHE:-$HOME/.cache/vmm}
PKG=linux-source-6.1
TARBALL=${LINUX_TARBALL:-/usr/src/$PKG.tar.xz}
JOBS=${JOBS:-2}

die() {
	echo "guests/linux: $*" >&2
	exit 1
}

src_version() {
	dpkg-query -W -f='${Version}' "$PKG" 2>/dev/null || echo none
}

# hash FILES...: one sha256 over names and contents, in the order given
hash_files() {
	for f in "$@"; do
		echo "== ${f#"$HERE"/}"
		cat "$f"
	done | sha256sum | cut -c1-16
}

PATCHES=("$HERE"/patches/*.patch)
SELFTEST=("$HERE"/selftest/*)
VER=$(src_version)
PATCH_KEY=$(hash_files "${PATCHES[@]}")
CONF_KEY=$( (echo "$RECIPE $VER $PATCH_KEY"; cat "$HERE/config.fragment") | sha256sum | cut -c1-16)
KEY=$( (echo "$CONF_KEY"; hash_files "${SELFTEST[@]}") | sha256sum | cut -c1-16)
OUT=$CACHE/linux-$KEY

case "${1:-build}" in
key)
	echo "$KEY"
	exit 0
	;;
path)
	[ -f "$OUT/vmlinux" ] || exit 1
	echo "$OUT/vmlinux"
	exit 0
	;;
build) ;;
*) die "usage: build.sh [build|path|key]" ;;
esac

if [ -f "$OUT/vmlinux" ]; then
	echo "$OUT/vmlinux"
	exit 0
fi

# Packages: the source and what kbuild needs (as scripts/deps.sh does for vmm itself).
need=""
for p in $PKG flex bison bc libelf-dev libssl-dev xz-utils; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		need="$need $p"
done
if [ -n "$need" ]; then
	echo "guests/linux: installing Debian packages:$need" >&2
	SUDO=""
	[ "$(id -u)" -ne 0 ] && SUDO=sudo
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get update -q >&2
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $need >&2
	exec "$0" build # the source version is part of the key
fi
[ -f "$TARBALL" ] || die "$TARBALL missing (package $PKG)"

mkdir -p "$CACHE"
exec 9>"$CACHE/linux.lock"
flock 9 # one kernel build per machine at a time
[ -f "$OUT/vmlinux" ] && { echo "$OUT/vmlinux"; exit 0; }

SRC=$CACHE/linux-src-$VER-$PATCH_KEY
OBJ=$CACHE/linux-obj-$CONF_KEY
LOG=$CACHE/linux-$KEY.log
: >"$LOG"
log() { echo "guests/linux: $*" | tee -a "$LOG" >&2; }
trap 'echo "guests/linux: build failed; last lines of $LOG:" >&2; tail -n 40 "$LOG" >&2' ERR

if [ ! -d "$SRC" ]; then
	log "extracting $TARBALL"
	rm -rf "$SRC.tmp"
	mkdir -p "$SRC.tmp"
	tar -xJf "$TARBALL" -C "$SRC.tmp" --strip-components=1
	for p in "${PATCHES[@]}"; do
		log "applying ${p#"$HERE"/}"
		patch -d "$SRC.tmp" -p1 --no-backup-if-mismatch <"$p" >>"$LOG"
	done
	mv "$SRC.tmp" "$SRC"
fi

# Our self-test sources go into the tree as drivers/misc/vmm_selftest/ (copied only when
# changed, so make sees no change).
mkdir -p "$SRC/drivers/misc/vmm_selftest"
for f in "${SELFTEST[@]}"; do
	cmp -s "$f" "$SRC/drivers/misc/vmm_selftest/${f##*/}" ||
		cp "$f" "$SRC/drivers/misc/vmm_selftest/${f##*/}"
done

# tinyconfig + fragment, written to $OBJ/.config only when it differs (an identical config
# keeps the incremental build).
mkdir -p "$OBJ"
CFG=$CACHE/linux-cfg-$CONF_KEY
rm -rf "$CFG"
mkdir -p "$CFG"
log "configuring: tinyconfig + config.fragment"
make -s -C "$SRC" O="$CFG" ARCH=x86_64 tinyconfig >>"$LOG" 2>&1
"$SRC/scripts/kconfig/merge_config.sh" -m -O "$CFG" "$CFG/.config" "$HERE/config.fragment" \
	>>"$LOG" 2>&1
make -s -C "$SRC" O="$CFG" ARCH=x86_64 olddefconfig >>"$LOG" 2>&1
missing=""
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*) grep -qxF "$line" "$CFG/.config" || missing="$missing ${line%%=*}" ;;
	"# CONFIG_"*" is not set")
		opt=${line#\# }
		opt=${opt%% *}
		grep -q "^$opt=" "$CFG/.config" && missing="$missing $opt(should be off)"
		;;
	esac
done <"$HERE/config.fragment"
[ -z "$missing" ] || die "config.fragment options lost in olddefconfig (unmet dependencies):$missing"
cmp -s "$CFG/.config" "$OBJ/.config" || cp "$CFG/.config" "$OBJ/.config"
rm -rf "$CFG"

log "building vmlinux (make -j$JOBS; several minutes; log: $LOG)"
start=$(date +%s)
make -C "$SRC" O="$OBJ" ARCH=x86_64 -j"$JOBS" vmlinux >>"$LOG" 2>&1
log "built in $(($(date +%s) - start)) s"

readelf -n "$OBJ/vmlinux" | grep -q "Xen.*0x00000012" ||
	die "vmlinux has no XEN_ELFNOTE_PHYS32_ENTRY note (CONFIG_PVH)"
rm -rf "$OUT.tmp"
mkdir -p "$OUT.tmp"
cp "$OBJ/vmlinux" "$OBJ/.config" "$OBJ/System.map" "$OUT.tmp/"
mv "$OUT.tmp/.config" "$OUT.tmp/config"
cp "$LOG" "$OUT.tmp/build.log"
mv "$OUT.tmp" "$OUT"
# Source trees and object dirs of other keys are ~1.5 GiB each: keep only the current ones.
for d in "$CACHE"/linux-src-* "$CACHE"/linux-obj-*; do
	[ "$d" = "$SRC" ] || [ "$d" = "$OBJ" ] || rm -rf "$d"
done
echo "$OUT/vmlinux"
