// SPDX-License-Identifier: MIT
/*
 * vmmtest-bar: read and write a PCI BAR through its sysfs resource file (mmap), for /init.
 * Linux offers no read()/write() on memory BAR resource files, the kernel has no /dev/mem
 * (CONFIG_DEVMEM off) and busybox's devmem needs /dev/mem. Built statically by build.sh.
 *
 *   vmmtest-bar FILE r32 OFFSET            print the 32-bit register at OFFSET (0x%08x)
 *   vmmtest-bar FILE r64 OFFSET            print the 64-bit register at OFFSET (0x%016llx)
 *   vmmtest-bar FILE w32 OFFSET VALUE      write a 32-bit register
 *   vmmtest-bar FILE wstr OFFSET STRING    store STRING (no NUL) at OFFSET, msync
 *   vmmtest-bar FILE rstr OFFSET LEN       print LEN bytes at OFFSET (non-printable as '.')
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static void die(const char *what)
{
	perror(what);
	exit(1);
}

int main(int argc, char **argv)
{
	struct stat st;
	unsigned long long off;
	volatile uint8_t *bar;
	int fd;

	if (argc < 4) {
		fprintf(stderr, "usage: vmmtest-bar FILE r32|r64|w32|wstr|rstr OFFSET [ARG]\n");
		return 2;
	}
	fd = open(argv[1], O_RDWR | O_SYNC);
	if (fd < 0 || fstat(fd, &st))
		die(argv[1]);
	off = strtoull(argv[3], NULL, 0);
	bar = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (bar == MAP_FAILED)
		die("mmap");
	if (!strcmp(argv[2], "r32") && off + 4 <= (unsigned long long)st.st_size) {
		printf("0x%08x\n", *(volatile uint32_t *)(bar + off));
	} else if (!strcmp(argv[2], "r64") && off + 8 <= (unsigned long long)st.st_size) {
		uint64_t lo = *(volatile uint32_t *)(bar + off);
		uint64_t hi = *(volatile uint32_t *)(bar + off + 4);
		printf("0x%016llx\n", (unsigned long long)(lo | hi << 32));
	} else if (!strcmp(argv[2], "w32") && argc > 4 &&
		   off + 4 <= (unsigned long long)st.st_size) {
		*(volatile uint32_t *)(bar + off) = (uint32_t)strtoul(argv[4], NULL, 0);
	} else if (!strcmp(argv[2], "wstr") && argc > 4 &&
		   off + strlen(argv[4]) <= (unsigned long long)st.st_size) {
		for (size_t i = 0; argv[4][i]; i++)
			bar[off + i] = (uint8_t)argv[4][i];
		if (msync((void *)bar, st.st_size, MS_SYNC))
			die("msync");
	} else if (!strcmp(argv[2], "rstr") && argc > 4 &&
		   off + strtoull(argv[4], NULL, 0) <= (unsigned long long)st.st_size) {
		unsigned long long n = strtoull(argv[4], NULL, 0);
		for (unsigned long long i = 0; i < n; i++) {
			uint8_t c = bar[off + i];
			putchar(c >= 0x20 && c < 0x7f ? c : '.');
		}
		putchar('\n');
	} else {
		fprintf(stderr, "vmmtest-bar: bad command or offset beyond %lld bytes\n",
			(long long)st.st_size);
		return 2;
	}
	return 0;
}
