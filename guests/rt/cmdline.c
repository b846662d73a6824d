/* SPDX-License-Identifier: MIT */
/*
 * Kernel command line: space-separated `key=value` or `key` words, values optionally in
 * double quotes (as Linux's next_arg() accepts). A private copy is split in place into
 * NUL-terminated words so that values can be handed out as strings.
 */
#include "internal.h"

#define CMDLINE_MAX 2048
#define MAX_WORDS   128

static char copy[CMDLINE_MAX];
static const char *words[MAX_WORDS];
static int nwords;

const char *rt_cmdline(void)
{
	const struct hvm_start_info *si = rt_start_info();

	return si->cmdline_paddr ? (const char *)(uintptr_t)si->cmdline_paddr : "";
}

void rt_cmdline_init(void)
{
	const char *src = rt_cmdline();
	size_t in = 0, out = 0;

	nwords = 0;
	while (src[in] && out < CMDLINE_MAX - 1 && nwords < MAX_WORDS) {
		bool quoted = false;

		while (src[in] == ' ' || src[in] == '\t' || src[in] == '\n')
			in++;
		if (!src[in])
			break;
		words[nwords++] = &copy[out];
		for (; src[in] && out < CMDLINE_MAX - 1; in++) {
			if (src[in] == '"') {
				quoted = !quoted;
				continue;
			}
			if (!quoted && (src[in] == ' ' || src[in] == '\t' || src[in] == '\n'))
				break;
			copy[out++] = src[in];
		}
		copy[out++] = '\0';
	}
	copy[CMDLINE_MAX - 1] = '\0';
}

const char *rt_cmdline_get(const char *key)
{
	size_t klen = strlen(key);
	const char *found = NULL;

	for (int i = 0; i < nwords; i++) {
		const char *w = words[i];

		if (strncmp(w, key, klen) != 0)
			continue;
		if (w[klen] == '=')
			found = w + klen + 1;
		else if (w[klen] == '\0')
			found = "";
	}
	return found;
}

uint64_t rt_cmdline_u64(const char *key, uint64_t def)
{
	const char *v = rt_cmdline_get(key);
	const char *end;
	uint64_t n;

	if (!v || !*v)
		return def;
	n = rt_strtou64(v, &end);
	return *end ? def : n;
}

bool rt_cmdline_flag(const char *key)
{
	const char *v = rt_cmdline_get(key);

	return v && (!*v || !strcmp(v, "1") || !strcmp(v, "y") || !strcmp(v, "yes") ||
		     !strcmp(v, "on") || !strcmp(v, "true"));
}
