/* SPDX-License-Identifier: MIT */
/* Small helpers shared by every part of vmm: logging, fatal host errors, checked arithmetic. */
#ifndef VMM_UTIL_H
#define VMM_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define KiB(x)	      ((uint64_t)(x) << 10)
#define MiB(x)	      ((uint64_t)(x) << 20)
#define GiB(x)	      ((uint64_t)(x) << 30)

#define ALIGN_UP(x, a) (((x) + ((a)-1)) & ~((uint64_t)(a)-1))
#define IS_POW2(x)     ((x) != 0 && ((x) & ((x)-1)) == 0)

#define UNUSED	     __attribute__((unused))
#define PRINTF(a, b) __attribute__((format(printf, a, b)))
#define NORETURN     __attribute__((noreturn))

/* Log levels: errors always print; info prints unless --quiet; debug with --verbose. */
enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };
extern enum log_level log_threshold;

void vmm_log(enum log_level lvl, const char *fmt, ...) PRINTF(2, 3);
#define pr_err(...)   vmm_log(LOG_ERROR, __VA_ARGS__)
#define pr_warn(...)  vmm_log(LOG_WARN, __VA_ARGS__)
#define pr_info(...)  vmm_log(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) vmm_log(LOG_DEBUG, __VA_ARGS__)

/*
 * Guest-caused oddities are logged at most 10 times per call site (each expansion has its
 * own counter), so a hostile guest cannot flood the host log.
 */
#define pr_ratelimited(...)                                                                        \
	do {                                                                                       \
		static unsigned __rl_count;                                                        \
		if (__rl_count < 10) {                                                             \
			__rl_count++;                                                              \
			vmm_log(LOG_WARN, __VA_ARGS__);                                            \
		}                                                                                  \
	} while (0)

/*
 * vmm's own exit statuses. A guest's write of v to the debug-exit port ends vmm with
 * (v << 1) | 1 (QEMU isa-debug-exit semantics), which is always odd; these are even, so a
 * script can always tell vmm's verdict from the guest's. 0 is the guest's clean end.
 */
#define VMM_EXIT_USAGE	 2 /* bad usage or configuration: nothing was started */
#define VMM_EXIT_FAILURE 4 /* a VMM failure, or the guest triple-faulted */
#define VMM_EXIT_STOPPED 6 /* stopped by the user: Ctrl-A x, SIGINT, SIGTERM, SIGHUP */

/* A host failure vmm cannot continue from (not for guest errors): exits VMM_EXIT_FAILURE. */
NORETURN void die(const char *fmt, ...) PRINTF(1, 2);
NORETURN void die_errno(const char *fmt, ...) PRINTF(1, 2);

/* *res = a + b; true when the sum wrapped (then *res holds the low 64 bits), false when it
 * fits: `if (add_overflows_u64(a, b, &end)) reject;`. */
static inline bool add_overflows_u64(uint64_t a, uint64_t b, uint64_t *res)
{
	return __builtin_add_overflow(a, b, res);
}

/*
 * Opens /dev/null on whichever of stdin, stdout and stderr is closed, so that the next file
 * opened does not become one of them (a closed stdin made the guest RAM memfd the console's
 * input). For main(), before anything else is opened. Returns 0 or -errno.
 */
int std_fds_ensure_open(void);

/* Monotonic time in nanoseconds. */
uint64_t time_ns(void);

/*
 * Read a whole regular file into a malloc'd buffer. Returns 0 or -errno; -EFBIG (with the
 * file's size in *len) when it is larger than `max` bytes, before anything is allocated.
 */
int read_file(const char *path, size_t max, uint8_t **buf, size_t *len);

/*
 * Memory shared with another process (guest RAM a peer maps, the NTB switch state) must not
 * shrink under the mapper: touching a MAP_SHARED page past the end of its file raises SIGBUS
 * (mmap(2)). memfd_seal_shrink() seals a memfd made with MFD_ALLOW_SEALING against shrinking
 * (F_SEAL_SHRINK, memfd_create(2)); memfd_shrink_sealed() says whether an fd someone handed
 * over carries that seal, so its size can be trusted for as long as it is mapped.
 * Returns 0 or -errno; true or false.
 */
int memfd_seal_shrink(int fd);
bool memfd_shrink_sealed(int fd);

#endif
