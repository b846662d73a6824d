#!/bin/sh
# usage: check-insns.sh OBJDUMP ELF
# Fails if ELF contains instructions that KVM's instruction emulator cannot run at CPL0
# on this project's development host (HOST.md): the guest would die with an "emulation
# failure" instead of reporting anything. ud2 is fine (it is how ring 3 returns).
objdump=$1
elf=$2
bad='\s(cmpxchg16b|xsave[a-z0-9]*|xrstor[a-z0-9]*|int3|int +\$|clac|stac|popcnt|fnclex|fninit|fild[a-z]*|fld[a-z0-9]*|fst[a-z]*|fxsave[a-z0-9]*|fxrstor[a-z0-9]*)(\s|$)|%[xyz]mm[0-9]'
if $objdump -d --no-show-raw-insn "$elf" | grep -E "$bad"; then
	echo "$elf: instructions above cannot be emulated at CPL0 (see /work/shared/HOST.md)" >&2
	exit 1
fi
exit 0
