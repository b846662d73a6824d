/* SPDX-License-Identifier: MIT */
/*
 * A small strict JSON reader for the control socket (docs/control.md): one object per line,
 * its input hostile. Accepted: objects, strings (every RFC 8259 escape; \u0000 refused so
 * strings stay C strings; surrogates paired), integers that fit int64_t, true, false, null.
 * Refused with a message: arrays, fractions and exponents, duplicate keys, nesting deeper
 * than JSON_MAX_DEPTH, more than JSON_MAX_NODES values, raw control characters and NUL
 * bytes, invalid UTF-8 escapes, anything after the top-level value.
 */
#ifndef VMM_CTL_JSON_H
#define VMM_CTL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_TEXT  4096 /* bytes of one request line */
#define JSON_MAX_DEPTH 8
#define JSON_MAX_NODES 128

enum json_type { JSON_NULL, JSON_BOOL, JSON_INT, JSON_STRING, JSON_OBJECT };

struct json_node {
	enum json_type type;
	const char *key; /* member name inside an object; NULL for the top level */
	bool b;
	int64_t i;
	const char *s;	 /* JSON_STRING: decoded, NUL-terminated */
	int parent;	 /* index of the object holding it; -1 for the top level */
	int first, next; /* JSON_OBJECT: first member; next member of the same object (-1) */
};

struct json_doc {
	struct json_node node[JSON_MAX_NODES]; /* node[0]: the top-level value */
	int n;
	char str[2 * JSON_MAX_TEXT]; /* decoded keys and strings */
	size_t used;
};

/* Parse text[0..len). 0, or -EINVAL with "at byte N: what" in err. */
int json_parse(struct json_doc *d, const char *text, size_t len, char *err, size_t errlen);
/* Member `key` of object node `obj`, or NULL. */
const struct json_node *json_get(const struct json_doc *d, int obj, const char *key);
const char *json_type_name(enum json_type t);

/* Append s to out as a JSON string (quotes, escapes); false when it does not fit. */
bool json_put_string(char *out, size_t cap, size_t *pos, const char *s);

#endif
