/* SPDX-License-Identifier: MIT */
/* Failed checks of the test guests (rt.h: rt_fail). */
#include "rt.h"

__attribute__((weak)) const char *rt_prog = "guest"; /* a guest defines its own */
int rt_failures;

void rt_fail(const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	rt_vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rt_printf("%s: FAIL %s\n", rt_prog, msg);
	rt_failures++;
}
