#!/bin/bash
# SPDX-License-Identifier: MIT
#
# tests/rig/without-kvm.sh CMD...: runs CMD as on a machine with no /dev/kvm (root only).
#
# CMD gets a private mount namespace whose /dev is a fresh tmpfs holding only what a build
# and the test tiers use: null, zero, full, random, urandom, tty, pts (ptmx), shm and the
# fd links. Nothing else changes: the same files, packages and network (none). This is how
# the "no /dev/kvm" column of tests/rig/README.md was measured, e.g.
#
#   tests/rig/without-kvm.sh env CI=true bash .ci/run
#
# rig.sh kind says "none" in there, so every KVM tier runs in the rig, and the unit tests
# that open /dev/kvm themselves (test_kvm, test_cpuid, test_irqroute) skip and say so.
set -euo pipefail

if [ $# -eq 0 ]; then
	echo "usage: $0 CMD..." >&2
	exit 2
fi
if [ "$(id -u)" != 0 ]; then
	echo "$0: needs root (a mount namespace with its own /dev)" >&2
	exit 2
fi

exec unshare --mount --propagation private -- bash -euc '
	old=$(mktemp -d /tmp/without-kvm.XXXXXX)
	mount --bind /dev "$old"
	mount -t tmpfs -o mode=0755,size=64M without-kvm /dev
	for n in null zero full random urandom tty; do
		touch "/dev/$n"
		mount --bind "$old/$n" "/dev/$n"
	done
	mkdir /dev/pts /dev/shm
	mount --bind "$old/pts" /dev/pts
	ln -s pts/ptmx /dev/ptmx
	mount -t tmpfs -o mode=1777 shm /dev/shm
	ln -s /proc/self/fd /dev/fd
	ln -s /proc/self/fd/0 /dev/stdin
	ln -s /proc/self/fd/1 /dev/stdout
	ln -s /proc/self/fd/2 /dev/stderr
	umount "$old"
	rmdir "$old"
	if [ -e /dev/kvm ]; then
		echo "without-kvm.sh: /dev/kvm is still there" >&2
		exit 3
	fi
	exec "$@"
' without-kvm "$@"
