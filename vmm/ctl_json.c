/* SPDX-License-Identifier: MIT */
/* The control socket's JSON reader (ctl_json.h); RFC 8259 grammar, a strict subset. */
#include "vmm/ctl_json.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct parser {
	struct json_doc *d;
	const char *p, *start, *end;
	char *err;
	size_t errlen;
	bool failed;
};

static int fail(struct parser *ps, const char *what)
{
	if (!ps->failed)
		snprintf(ps->err, ps->errlen, "at byte %zu: %s", (size_t)(ps->p - ps->start), what);
	ps->failed = true;
	return -EINVAL;
}

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end &&
	       (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static bool put_char(struct parser *ps, char ch)
{
	if (ps->d->used >= sizeof(ps->d->str))
		return false;
	ps->d->str[ps->d->used++] = ch;
	return true;
}

static int hex4(struct parser *ps, unsigned *out)
{
	unsigned v = 0;

	if (ps->end - ps->p < 4)
		return fail(ps, "short \\u escape");
	for (int i = 0; i < 4; i++) {
		char ch = *ps->p++;

		v <<= 4;
		if (ch >= '0' && ch <= '9')
			v |= (unsigned)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			v |= (unsigned)(ch - 'a' + 10);
		else if (ch >= 'A' && ch <= 'F')
			v |= (unsigned)(ch - 'A' + 10);
		else
			return fail(ps, "bad hex digit in \\u escape");
	}
	*out = v;
	return 0;
}

static bool put_utf8(struct parser *ps, unsigned cp)
{
	if (cp < 0x80)
		return put_char(ps, (char)cp);
	if (cp < 0x800)
		return put_char(ps, (char)(0xc0 | cp >> 6)) &&
		       put_char(ps, (char)(0x80 | (cp & 0x3f)));
	if (cp < 0x10000)
		return put_char(ps, (char)(0xe0 | cp >> 12)) &&
		       put_char(ps, (char)(0x80 | ((cp >> 6) & 0x3f))) &&
		       put_char(ps, (char)(0x80 | (cp & 0x3f)));
	return put_char(ps, (char)(0xf0 | cp >> 18)) &&
	       put_char(ps, (char)(0x80 | ((cp >> 12) & 0x3f))) &&
	       put_char(ps, (char)(0x80 | ((cp >> 6) & 0x3f))) &&
	       put_char(ps, (char)(0x80 | (cp & 0x3f)));
}

static int escape(struct parser *ps)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *e;
	unsigned cp, lo;

	if (ps->p == ps->end)
		return fail(ps, "unterminated string");
	e = memchr(from, *ps->p, sizeof(from) - 1);
	if (e) {
		ps->p++;
		return put_char(ps, to[e - from]) ? 0 : fail(ps, "strings too long");
	}
	if (*ps->p++ != 'u')
		return fail(ps, "bad escape");
	if (hex4(ps, &cp))
		return -EINVAL;
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return fail(ps, "lone low surrogate in \\u escape");
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u')
			return fail(ps, "high surrogate without its low half");
		ps->p += 2;
		if (hex4(ps, &lo))
			return -EINVAL;
		if (lo < 0xdc00 || lo > 0xdfff)
			return fail(ps, "high surrogate without its low half");
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	if (!cp)
		return fail(ps, "\\u0000 is not allowed");
	return put_utf8(ps, cp) ? 0 : fail(ps, "strings too long");
}

/* At the opening quote; the decoded string goes to d->str. */
static int string(struct parser *ps, const char **out)
{
	size_t at = ps->d->used;

	ps->p++;
	for (;;) {
		unsigned char ch;

		if (ps->p == ps->end)
			return fail(ps, "unterminated string");
		ch = (unsigned char)*ps->p;
		if (ch == '"')
			break;
		if (ch < 0x20)
			return fail(ps, ch ? "control character in string" : "NUL byte in string");
		if (ch == '\\') {
			ps->p++;
			if (escape(ps))
				return -EINVAL;
			continue;
		}
		if (!put_char(ps, (char)ch))
			return fail(ps, "strings too long");
		ps->p++;
	}
	ps->p++;
	if (!put_char(ps, 0))
		return fail(ps, "strings too long");
	*out = ps->d->str + at;
	return 0;
}

static int integer(struct parser *ps, int64_t *out)
{
	bool neg = false;
	uint64_t v = 0, limit;

	if (*ps->p == '-') {
		neg = true;
		ps->p++;
	}
	if (ps->p == ps->end || *ps->p < '0' || *ps->p > '9')
		return fail(ps, "bad number");
	if (*ps->p == '0' && ps->p + 1 < ps->end && ps->p[1] >= '0' && ps->p[1] <= '9')
		return fail(ps, "leading zero in number");
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
		unsigned dgt = (unsigned)(*ps->p - '0');

		if (v > (limit - dgt) / 10)
			return fail(ps, "number out of range");
		v = v * 10 + dgt;
		ps->p++;
	}
	if (ps->p < ps->end && (*ps->p == '.' || *ps->p == 'e' || *ps->p == 'E'))
		return fail(ps, "only integers are accepted");
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

static bool word(struct parser *ps, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, w, n))
		return false;
	ps->p += n;
	return true;
}

static int value(struct parser *ps, int parent, const char *key, int depth);

static int object(struct parser *ps, int self, int depth)
{
	struct json_doc *d = ps->d;
	int *link = &d->node[self].first;

	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == '}') {
		ps->p++;
		return 0;
	}
	for (;;) {
		const char *key;

		skip_ws(ps);
		if (ps->p == ps->end || *ps->p != '"')
			return fail(ps, "expected a member name");
		if (string(ps, &key))
			return -EINVAL;
		if (json_get(d, self, key))
			return fail(ps, "duplicate member name");
		skip_ws(ps);
		if (ps->p == ps->end || *ps->p != ':')
			return fail(ps, "expected ':'");
		ps->p++;
		*link = d->n;
		if (value(ps, self, key, depth + 1))
			return -EINVAL;
		link = &d->node[*link].next;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == '}') {
			ps->p++;
			return 0;
		}
		return fail(ps, "expected ',' or '}'");
	}
}

static int value(struct parser *ps, int parent, const char *key, int depth)
{
	struct json_doc *d = ps->d;
	struct json_node *n;
	int self;

	if (depth > JSON_MAX_DEPTH)
		return fail(ps, "nested too deeply");
	if (d->n == JSON_MAX_NODES)
		return fail(ps, "too many values");
	self = d->n++;
	n = &d->node[self];
	memset(n, 0, sizeof(*n));
	n->key = key;
	n->parent = parent;
	n->first = n->next = -1;
	skip_ws(ps);
	if (ps->p == ps->end)
		return fail(ps, "expected a value");
	switch (*ps->p) {
	case '{':
		n->type = JSON_OBJECT;
		return object(ps, self, depth);
	case '"':
		n->type = JSON_STRING;
		return string(ps, &n->s);
	case '[':
		return fail(ps, "arrays are not accepted");
	case 't':
	case 'f':
		n->type = JSON_BOOL;
		n->b = *ps->p == 't';
		if (!word(ps, n->b ? "true" : "false"))
			return fail(ps, "bad literal");
		return 0;
	case 'n':
		n->type = JSON_NULL;
		if (!word(ps, "null"))
			return fail(ps, "bad literal");
		return 0;
	default:
		n->type = JSON_INT;
		return integer(ps, &n->i);
	}
}

int json_parse(struct json_doc *d, const char *text, size_t len, char *err, size_t errlen)
{
	struct parser ps = {d, text, text, text + len, err, errlen, false};

	d->n = 0;
	d->used = 0;
	if (len > JSON_MAX_TEXT) {
		snprintf(err, errlen, "request longer than %d bytes", JSON_MAX_TEXT);
		return -EINVAL;
	}
	if (value(&ps, -1, NULL, 1))
		return -EINVAL;
	skip_ws(&ps);
	if (ps.p != ps.end)
		return fail(&ps, "unexpected text after the value");
	return 0;
}

const struct json_node *json_get(const struct json_doc *d, int obj, const char *key)
{
	if (obj < 0 || obj >= d->n || d->node[obj].type != JSON_OBJECT)
		return NULL;
	for (int i = d->node[obj].first; i >= 0; i = d->node[i].next)
		if (!strcmp(d->node[i].key, key))
			return &d->node[i];
	return NULL;
}

const char *json_type_name(enum json_type t)
{
	switch (t) {
	case JSON_NULL:
		return "null";
	case JSON_BOOL:
		return "a boolean";
	case JSON_INT:
		return "an integer";
	case JSON_STRING:
		return "a string";
	case JSON_OBJECT:
		return "an object";
	}
	return "?";
}

bool json_put_string(char *out, size_t cap, size_t *pos, const char *s)
{
	size_t p = *pos;

	if (p + 1 >= cap)
		return false;
	out[p++] = '"';
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		char esc[8];
		size_t n;

		if (ch == '"' || ch == '\\')
			n = (size_t)snprintf(esc, sizeof(esc), "\\%c", ch);
		else if (ch < 0x20)
			n = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", ch);
		else
			n = (size_t)snprintf(esc, sizeof(esc), "%c", ch);
		if (p + n + 2 > cap)
			return false;
		memcpy(out + p, esc, n);
		p += n;
	}
	out[p++] = '"';
	out[p] = 0;
	*pos = p;
	return true;
}
