/* SPDX-License-Identifier: MIT */
/*
 * TOML 1.0 (https://toml.io/en/v1.0.0) minus floats and dates. A hand-written recursive
 * descent parser over a bounds-checked cursor; recursion only for nested values, capped at
 * TOML_MAX_DEPTH.
 */
#include "vmm/config/toml.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How a table or array came to exist; decides what may later add to it (spec "Table"). */
#define TF_HEADER (1u << 0) /* [a.b] named it explicitly: no second [a.b] */
#define TF_DOTTED (1u << 1) /* created by a dotted key: no [header] for it */
#define TF_INLINE (1u << 2) /* inline table: sealed once written */
#define TF_AOT	  (1u << 3) /* array created by [[a]]: only [[a]] appends */

struct parser {
	const char *p, *end;
	int line, col;
	int depth;
	bool failed;
	struct toml_error *err;
};

struct key_part {
	char *s;
	size_t len;
	struct toml_pos pos;
};

struct key_path {
	struct key_part parts[TOML_MAX_KEY_PARTS];
	int n;
};

struct strbuf {
	char *d;
	size_t len, cap;
	bool oom;
};

static struct toml_value *parse_value(struct parser *ps);

static struct toml_pos here(const struct parser *ps)
{
	return (struct toml_pos){ps->line, ps->col};
}

static int peek(const struct parser *ps, size_t off)
{
	if ((size_t)(ps->end - ps->p) <= off)
		return -1;
	return (unsigned char)ps->p[off];
}

static bool at(const struct parser *ps, const char *s)
{
	size_t n = strlen(s);

	return (size_t)(ps->end - ps->p) >= n && memcmp(ps->p, s, n) == 0;
}

static void advance(struct parser *ps)
{
	unsigned char c;

	if (ps->p >= ps->end)
		return;
	c = (unsigned char)*ps->p++;
	if (c == '\n') {
		ps->line++;
		ps->col = 1;
	} else if ((c & 0xC0) != 0x80) {
		/* The column counts characters: continuation bytes do not start one. */
		ps->col++;
	}
}

static void advance_n(struct parser *ps, size_t n)
{
	while (n--)
		advance(ps);
}

__attribute__((format(printf, 3, 4))) static void fail_at(struct parser *ps, struct toml_pos pos,
							  const char *fmt, ...)
{
	va_list ap;

	if (ps->failed)
		return;
	ps->failed = true;
	ps->err->pos = pos;
	va_start(ap, fmt);
	vsnprintf(ps->err->msg, sizeof(ps->err->msg), fmt, ap);
	va_end(ap);
}

/* What sits at the cursor, for "found ..." in messages. */
static const char *describe_here(const struct parser *ps, char *buf, size_t size)
{
	int c = peek(ps, 0);
	size_t n = 1;

	if (c < 0)
		return "end of file";
	if (c == '\n' || (c == '\r' && peek(ps, 1) == '\n'))
		return "end of line";
	if (c < 0x20 || c == 0x7F) {
		snprintf(buf, size, "control character U+%04X", (unsigned)c);
		return buf;
	}
	if (c >= 0x80) {
		while (n < 4 && (peek(ps, n) & 0xC0) == 0x80)
			n++;
	}
	snprintf(buf, size, "'%.*s'", (int)n, ps->p);
	return buf;
}

#define fail_found(ps, what)                                                                       \
	do {                                                                                       \
		char _b[32];                                                                       \
		fail_at(ps, here(ps), "expected %s, found %s", what, describe_here(ps, _b, 32));   \
	} while (0)

/* A key for a message: control characters replaced, long keys shortened. */
static void key_repr(char *buf, size_t size, const struct key_path *kp, int upto)
{
	size_t o = 0;

	for (int i = 0; i <= upto && o + 1 < size; i++) {
		if (i)
			buf[o++] = '.';
		for (size_t j = 0; j < kp->parts[i].len && o + 1 < size; j++) {
			unsigned char c = (unsigned char)kp->parts[i].s[j];
			buf[o++] = (c < 0x20 || c == 0x7F) ? '?' : (char)c;
		}
	}
	if (o >= size)
		o = size - 1;
	buf[o] = '\0';
}

/* --- the input as a whole ------------------------------------------------------------------ */

/* RFC 3629: rejects overlong forms, surrogates and values above U+10FFFF. */
static bool check_utf8(struct parser *ps)
{
	const unsigned char *s = (const unsigned char *)ps->p;
	size_t len = (size_t)(ps->end - ps->p), i = 0;
	int line = 1, col = 1;

	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		uint32_t cp, min;

		if (c < 0x80) {
			n = 1, cp = c, min = 0;
		} else if ((c & 0xE0) == 0xC0) {
			n = 2, cp = c & 0x1F, min = 0x80;
		} else if ((c & 0xF0) == 0xE0) {
			n = 3, cp = c & 0x0F, min = 0x800;
		} else if ((c & 0xF8) == 0xF0) {
			n = 4, cp = c & 0x07, min = 0x10000;
		} else {
			goto bad;
		}
		if (len - i < n)
			goto bad;
		for (size_t k = 1; k < n; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				goto bad;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			goto bad;
		i += n;
		if (c == '\n')
			line++, col = 1;
		else
			col++;
	}
	return true;
bad:
	fail_at(ps, (struct toml_pos){line, col}, "invalid UTF-8 byte 0x%02X", s[i]);
	return false;
}

/* --- values and tables --------------------------------------------------------------------- */

static struct toml_value *new_value(struct parser *ps, enum toml_type type, struct toml_pos pos)
{
	struct toml_value *v = calloc(1, sizeof(*v));

	if (!v) {
		fail_at(ps, pos, "out of memory");
		return NULL;
	}
	v->type = type;
	v->pos = pos;
	return v;
}

void toml_free(struct toml_value *v)
{
	if (!v)
		return;
	switch (v->type) {
	case TOML_TABLE:
		for (size_t i = 0; i < v->table.len; i++) {
			free(v->table.items[i].key);
			toml_free(v->table.items[i].value);
		}
		free(v->table.items);
		break;
	case TOML_ARRAY:
		for (size_t i = 0; i < v->array.len; i++)
			toml_free(v->array.items[i]);
		free(v->array.items);
		break;
	case TOML_STRING:
		free(v->string.ptr);
		break;
	default:
		break;
	}
	free(v);
}

static bool grow(void **items, size_t *cap, size_t len, size_t elem)
{
	size_t ncap;
	void *n;

	if (len < *cap)
		return true;
	ncap = *cap ? *cap * 2 : 4;
	if (ncap > SIZE_MAX / elem)
		return false;
	n = realloc(*items, ncap * elem);
	if (!n)
		return false;
	*items = n;
	*cap = ncap;
	return true;
}

static struct toml_keyval *table_find_n(const struct toml_value *t, const char *key, size_t len)
{
	for (size_t i = 0; i < t->table.len; i++) {
		struct toml_keyval *kv = &t->table.items[i];
		if (kv->key_len == len && memcmp(kv->key, key, len) == 0)
			return kv;
	}
	return NULL;
}

const struct toml_keyval *toml_table_find(const struct toml_value *table, const char *key)
{
	if (!table || table->type != TOML_TABLE || !key)
		return NULL;
	return table_find_n(table, key, strlen(key));
}

const struct toml_value *toml_table_get(const struct toml_value *table, const char *key)
{
	const struct toml_keyval *kv = toml_table_find(table, key);

	return kv ? kv->value : NULL;
}

const char *toml_type_name(enum toml_type type)
{
	switch (type) {
	case TOML_TABLE:
		return "a table";
	case TOML_ARRAY:
		return "an array";
	case TOML_STRING:
		return "a string";
	case TOML_INTEGER:
		return "an integer";
	case TOML_BOOLEAN:
		return "a boolean";
	}
	return "a value";
}

/* Takes ownership of part->s and of v (both freed on failure). */
static bool table_add(struct parser *ps, struct toml_value *t, struct key_part *part,
		      struct toml_value *v)
{
	struct toml_keyval *kv;

	/* Every key is checked against the table's others (table_find_n): bounding the count
	 * keeps a file of a million keys from taking minutes. */
	if (t->table.len >= TOML_MAX_TABLE_KEYS) {
		fail_at(ps, part->pos, "more than %d keys in one table", TOML_MAX_TABLE_KEYS);
		toml_free(v);
		return false;
	}
	if (!grow((void **)&t->table.items, &t->table.cap, t->table.len, sizeof(*kv))) {
		fail_at(ps, part->pos, "out of memory");
		toml_free(v);
		return false;
	}
	kv = &t->table.items[t->table.len++];
	kv->key = part->s;
	kv->key_len = part->len;
	kv->pos = part->pos;
	kv->value = v;
	part->s = NULL;
	return true;
}

static bool array_add(struct parser *ps, struct toml_value *a, struct toml_value *v)
{
	if (!grow((void **)&a->array.items, &a->array.cap, a->array.len, sizeof(v))) {
		fail_at(ps, v->pos, "out of memory");
		toml_free(v);
		return false;
	}
	a->array.items[a->array.len++] = v;
	return true;
}

/* Creates a table under key part `i` of `kp`. The key string is copied: the path lives on. */
static struct toml_value *add_table(struct parser *ps, struct toml_value *parent,
				    struct key_part *part, unsigned flags)
{
	struct key_part copy = *part;
	struct toml_value *t = new_value(ps, TOML_TABLE, part->pos);

	if (!t)
		return NULL;
	t->flags = flags;
	copy.s = malloc(part->len + 1);
	if (!copy.s) {
		fail_at(ps, part->pos, "out of memory");
		toml_free(t);
		return NULL;
	}
	memcpy(copy.s, part->s, part->len + 1);
	if (table_add(ps, parent, &copy, t))
		return t;
	free(copy.s); /* table_add took t, not the key */
	return NULL;
}

/* --- whitespace, comments, newlines -------------------------------------------------------- */

static void skip_ws(struct parser *ps)
{
	while (peek(ps, 0) == ' ' || peek(ps, 0) == '\t')
		advance(ps);
}

static bool is_newline(const struct parser *ps)
{
	return peek(ps, 0) == '\n' || (peek(ps, 0) == '\r' && peek(ps, 1) == '\n');
}

static void skip_newline(struct parser *ps)
{
	advance_n(ps, peek(ps, 0) == '\r' ? 2 : 1);
}

static bool is_control(int c)
{
	return (c >= 0 && c < 0x20 && c != '\t') || c == 0x7F;
}

/* From '#' to the end of the line (the newline is left in place). */
static bool skip_comment(struct parser *ps)
{
	advance(ps);
	while (peek(ps, 0) >= 0 && !is_newline(ps)) {
		if (is_control(peek(ps, 0))) {
			fail_at(ps, here(ps),
				"control character U+%04X is not allowed in a comment",
				(unsigned)peek(ps, 0));
			return false;
		}
		advance(ps);
	}
	return true;
}

/* Whitespace, comments and newlines, as allowed between array elements. */
static bool skip_ws_nl(struct parser *ps)
{
	for (;;) {
		skip_ws(ps);
		if (peek(ps, 0) == '#') {
			if (!skip_comment(ps))
				return false;
		} else if (is_newline(ps)) {
			skip_newline(ps);
		} else {
			return true;
		}
	}
}

static bool expect_eol(struct parser *ps, const char *after)
{
	char what[64];

	skip_ws(ps);
	if (peek(ps, 0) == '#' && !skip_comment(ps))
		return false;
	if (peek(ps, 0) < 0)
		return true;
	if (is_newline(ps)) {
		skip_newline(ps);
		return true;
	}
	snprintf(what, sizeof(what), "end of line after %s", after);
	fail_found(ps, what);
	return false;
}

/* --- strings ------------------------------------------------------------------------------- */

static void sb_putc(struct strbuf *sb, char c)
{
	if (sb->oom)
		return;
	if (sb->len + 2 > sb->cap) {
		size_t ncap = sb->cap ? sb->cap * 2 : 32;
		char *n = realloc(sb->d, ncap);
		if (!n) {
			sb->oom = true;
			return;
		}
		sb->d = n;
		sb->cap = ncap;
	}
	sb->d[sb->len++] = c;
	sb->d[sb->len] = '\0';
}

static void sb_put_utf8(struct strbuf *sb, uint32_t cp)
{
	int n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
	static const unsigned char lead[] = {0, 0, 0xC0, 0xE0, 0xF0};

	sb_putc(sb, (char)(lead[n] | (cp >> (6 * (n - 1)))));
	for (int i = n - 2; i >= 0; i--)
		sb_putc(sb, (char)(0x80 | ((cp >> (6 * i)) & 0x3F)));
}

static int hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The cursor is on the backslash. */
static bool parse_escape(struct parser *ps, struct strbuf *sb)
{
	struct toml_pos pos = here(ps);
	int c = peek(ps, 1), n;
	uint32_t cp = 0;
	const char *simple = "b\bt\tn\nf\fr\r\"\"\\\\";

	for (const char *s = simple; *s; s += 2) {
		if (c == *s) {
			sb_putc(sb, s[1]);
			advance_n(ps, 2);
			return true;
		}
	}
	if (c != 'u' && c != 'U') {
		if (c < 0x21 || c > 0x7E)
			fail_at(ps, pos, "invalid escape sequence in string");
		else
			fail_at(ps, pos,
				"invalid escape sequence '\\%c' (valid: \\b \\t \\n \\f \\r "
				"\\\" \\\\ \\uXXXX \\UXXXXXXXX)",
				c);
		return false;
	}
	n = c == 'u' ? 4 : 8;
	for (int i = 0; i < n; i++) {
		int d = hex_digit(peek(ps, 2 + (size_t)i));
		if (d < 0) {
			fail_at(ps, pos, "escape '\\%c' needs exactly %d hex digits", c, n);
			return false;
		}
		cp = (cp << 4) | (uint32_t)d;
	}
	if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
		fail_at(ps, pos, "escape '\\%c' names U+%X, which is not a Unicode scalar value", c,
			cp);
		return false;
	}
	sb_put_utf8(sb, cp);
	advance_n(ps, 2 + (size_t)n);
	return true;
}

/*
 * One string of any of the four kinds; the cursor is on the opening quote. Multi-line
 * strings drop a newline right after the opening delimiter, and may end with up to two
 * quotes of their own kind before the closing delimiter (spec "String").
 */
static bool parse_string(struct parser *ps, struct strbuf *sb, bool allow_multiline)
{
	struct toml_pos open = here(ps);
	char q = (char)peek(ps, 0);
	bool basic = q == '"';
	bool multi = allow_multiline && at(ps, basic ? "\"\"\"" : "'''");

	advance_n(ps, multi ? 3 : 1);
	if (multi && is_newline(ps))
		skip_newline(ps);
	for (;;) {
		int c = peek(ps, 0);

		if (c < 0 || (!multi && is_newline(ps))) {
			fail_at(ps, open, "unterminated string: no closing %s%s",
				basic ? "\"" : "'", multi ? " (three of them)" : "");
			return false;
		}
		if (c == q && (!multi || (peek(ps, 1) == q && peek(ps, 2) == q))) {
			size_t n = 1;
			if (multi) {
				while (peek(ps, n) == q)
					n++;
				if (n > 5) {
					fail_at(ps, here(ps),
						"too many quotes at the end of a "
						"multi-line string");
					return false;
				}
				for (size_t i = 3; i < n; i++)
					sb_putc(sb, q);
			}
			advance_n(ps, n);
			break;
		}
		if (multi && is_newline(ps)) {
			sb_putc(sb, '\n');
			skip_newline(ps);
			continue;
		}
		if (basic && c == '\\') {
			size_t n = 1;
			while (peek(ps, n) == ' ' || peek(ps, n) == '\t')
				n++;
			if (multi && (peek(ps, n) == '\n' ||
				      (peek(ps, n) == '\r' && peek(ps, n + 1) == '\n'))) {
				/* Line-ending backslash: trim up to the next non-blank. */
				advance_n(ps, n);
				while (is_newline(ps) || peek(ps, 0) == ' ' || peek(ps, 0) == '\t')
					advance(ps);
				continue;
			}
			if (!parse_escape(ps, sb))
				return false;
			continue;
		}
		if (is_control(c)) {
			fail_at(ps, here(ps),
				"control character U+%04X must be escaped in a string",
				(unsigned)c);
			return false;
		}
		sb_putc(sb, (char)c);
		advance(ps);
	}
	/* An empty string still needs a buffer. */
	if (!sb->d && !sb->oom) {
		sb->d = calloc(1, 1);
		sb->oom = !sb->d;
	}
	if (sb->oom) {
		fail_at(ps, open, "out of memory");
		return false;
	}
	return true;
}

static struct toml_value *parse_string_value(struct parser *ps)
{
	struct strbuf sb = {0};
	struct toml_value *v = new_value(ps, TOML_STRING, here(ps));

	if (!v)
		return NULL;
	if (!parse_string(ps, &sb, true)) {
		free(sb.d);
		free(v);
		return NULL;
	}
	v->string.ptr = sb.d;
	v->string.len = sb.len;
	return v;
}

/* --- keys ---------------------------------------------------------------------------------- */

static bool is_bare_key_char(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

static void key_path_free(struct key_path *kp)
{
	for (int i = 0; i < kp->n; i++)
		free(kp->parts[i].s);
	kp->n = 0;
}

/* key = simple-key *( ws '.' ws simple-key ); leaves the cursor after trailing blanks. */
static bool parse_key(struct parser *ps, struct key_path *kp)
{
	kp->n = 0;
	for (;;) {
		struct key_part *part;
		struct strbuf sb = {0};
		int c;

		skip_ws(ps);
		if (kp->n == TOML_MAX_KEY_PARTS) {
			fail_at(ps, here(ps), "key has more than %d dotted parts",
				TOML_MAX_KEY_PARTS);
			return false;
		}
		part = &kp->parts[kp->n];
		part->pos = here(ps);
		c = peek(ps, 0);
		if (c == '"' || c == '\'') {
			if (!parse_string(ps, &sb, false)) {
				free(sb.d);
				return false;
			}
		} else if (is_bare_key_char(c)) {
			while (is_bare_key_char(peek(ps, 0))) {
				sb_putc(&sb, (char)peek(ps, 0));
				advance(ps);
			}
			if (sb.oom) {
				free(sb.d);
				fail_at(ps, part->pos, "out of memory");
				return false;
			}
		} else {
			fail_found(ps, "a key (letters, digits, '_', '-', or a quoted string)");
			return false;
		}
		part->s = sb.d;
		part->len = sb.len;
		kp->n++;
		skip_ws(ps);
		if (peek(ps, 0) != '.')
			return true;
		advance(ps);
	}
}

/*
 * Walks all but the last part of `kp` down from `t`, creating missing tables, and returns the
 * table the last part belongs to (spec "Table"). A [header] may pass through any table that is
 * not inline and into the last element of an array of tables; a dotted key only through tables
 * that dotted keys created, so neither reopens what a header or an inline table closed.
 */
static struct toml_value *walk(struct parser *ps, struct toml_value *t, struct key_path *kp,
			       bool header, struct toml_pos pos)
{
	char name[128];

	for (int i = 0; i < kp->n - 1; i++) {
		struct key_part *part = &kp->parts[i];
		struct toml_keyval *kv = table_find_n(t, part->s, part->len);
		struct toml_value *v;

		if (!kv) {
			t = add_table(ps, t, part, header ? 0 : TF_DOTTED);
			if (!t)
				return NULL;
			if (header)
				t->pos = pos;
			continue;
		}
		v = kv->value;
		if (header && v->type == TOML_ARRAY && (v->flags & TF_AOT)) {
			t = v->array.items[v->array.len - 1];
			continue;
		}
		if (v->type == TOML_TABLE && !(v->flags & TF_INLINE) &&
		    (header || (v->flags & TF_DOTTED))) {
			t = v;
			continue;
		}
		key_repr(name, sizeof(name), kp, i);
		if (v->type == TOML_TABLE)
			fail_at(ps, part->pos,
				"cannot add keys to table '%s' here: it was %s at %d:%d", name,
				v->flags & TF_INLINE ? "written inline" : "defined", v->pos.line,
				v->pos.col);
		else
			fail_at(ps, part->pos,
				"cannot use '%s' as a table: it is already %s (at %d:%d)", name,
				toml_type_name(v->type), kv->pos.line, kv->pos.col);
		return NULL;
	}
	return t;
}

/* The table that receives dotted key `kp`, whose last part must still be free. */
static struct toml_value *dotted_target(struct parser *ps, struct toml_value *t,
					struct key_path *kp)
{
	struct key_part *last = &kp->parts[kp->n - 1];
	struct toml_keyval *kv;
	char name[128];

	t = walk(ps, t, kp, false, last->pos);
	if (!t)
		return NULL;
	kv = table_find_n(t, last->s, last->len);
	if (kv) {
		key_repr(name, sizeof(name), kp, kp->n - 1);
		fail_at(ps, last->pos, "duplicate key '%s' (first defined at %d:%d)", name,
			kv->pos.line, kv->pos.col);
		return NULL;
	}
	return t;
}

/* key = value, into table t. */
static bool parse_keyval(struct parser *ps, struct toml_value *t)
{
	struct key_path kp;
	struct toml_value *target, *v;
	char name[128];
	bool ok = false;

	if (!parse_key(ps, &kp))
		goto out;
	if (peek(ps, 0) != '=') {
		char what[160];
		key_repr(name, sizeof(name), &kp, kp.n - 1);
		snprintf(what, sizeof(what), "'=' after key '%s'", name);
		fail_found(ps, what);
		goto out;
	}
	advance(ps);
	skip_ws(ps);
	target = dotted_target(ps, t, &kp);
	if (!target)
		goto out;
	v = parse_value(ps);
	if (!v)
		goto out;
	ok = table_add(ps, target, &kp.parts[kp.n - 1], v);
out:
	key_path_free(&kp);
	return ok;
}

/* --- numbers, booleans, arrays, inline tables ------------------------------------------------ */

static bool is_number_char(int c)
{
	return is_bare_key_char(c) || c == '+' || c == '.' || c == ':';
}

/*
 * Digits of `base` with single underscores between them, into *out (at most `limit`).
 * Returns 0, -1 for bad syntax, -2 for overflow.
 */
static int parse_digits(const char *s, size_t len, unsigned base, uint64_t limit, uint64_t *out)
{
	uint64_t v = 0;
	bool prev_digit = false;

	if (len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int d = hex_digit((unsigned char)s[i]);

		if (s[i] == '_') {
			if (!prev_digit || i + 1 == len)
				return -1;
			prev_digit = false;
			continue;
		}
		if (d < 0 || (unsigned)d >= base)
			return -1;
		if (v > (limit - (uint64_t)d) / base)
			return -2;
		v = v * base + (uint64_t)d;
		prev_digit = true;
	}
	*out = v;
	return 0;
}

static bool has_any(const char *s, size_t len, const char *set)
{
	for (size_t i = 0; i < len; i++) {
		if (strchr(set, s[i]))
			return true;
	}
	return false;
}

static struct toml_value *parse_number(struct parser *ps)
{
	struct toml_pos pos = here(ps);
	const char *s = ps->p;
	size_t len = 0, i = 0;
	bool neg = false;
	unsigned base = 10;
	uint64_t mag, limit;
	struct toml_value *v;
	int r;

	while (is_number_char(peek(ps, len)))
		len++;
	advance_n(ps, len);

	if (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-';
		i = 1;
	}
	if (len - i >= 2 && s[i] == '0' &&
	    (s[i + 1] == 'x' || s[i + 1] == 'o' || s[i + 1] == 'b')) {
		if (i) {
			fail_at(ps, pos,
				"invalid integer '%.*s': hex, octal and binary integers take "
				"no sign",
				(int)len, s);
			return NULL;
		}
		base = s[1] == 'x' ? 16 : s[1] == 'o' ? 8 : 2;
		i = 2;
	} else {
		if (has_any(s + i, len - i, ":-TZ")) {
			fail_at(ps, pos, "dates and times are not supported");
			return NULL;
		}
		if (has_any(s + i, len - i, ".eE") ||
		    (len - i == 3 && (!memcmp(s + i, "inf", 3) || !memcmp(s + i, "nan", 3)))) {
			fail_at(ps, pos, "floating-point numbers are not supported");
			return NULL;
		}
		if (len - i > 1 && s[i] == '0') {
			fail_at(ps, pos, "invalid integer '%.*s': leading zeros are not allowed",
				(int)len, s);
			return NULL;
		}
	}
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	r = parse_digits(s + i, len - i, base, limit, &mag);
	if (r == -2) {
		fail_at(ps, pos, "integer '%.*s' does not fit in 64 bits", (int)len, s);
		return NULL;
	}
	if (r < 0) {
		fail_at(ps, pos,
			"invalid integer '%.*s' (digits may be separated by single underscores)",
			(int)len, s);
		return NULL;
	}
	v = new_value(ps, TOML_INTEGER, pos);
	if (!v)
		return NULL;
	/* -(2^63) has no positive twin: negate in unsigned arithmetic. */
	v->integer = neg ? (int64_t)(0 - mag) : (int64_t)mag;
	return v;
}

static struct toml_value *parse_array(struct parser *ps)
{
	struct toml_value *a = new_value(ps, TOML_ARRAY, here(ps));

	if (!a)
		return NULL;
	advance(ps);
	for (;;) {
		struct toml_value *v;

		if (!skip_ws_nl(ps))
			goto fail;
		if (peek(ps, 0) == ']')
			break;
		v = parse_value(ps);
		if (!v || !array_add(ps, a, v))
			goto fail;
		if (!skip_ws_nl(ps))
			goto fail;
		if (peek(ps, 0) == ',') {
			advance(ps);
			continue;
		}
		if (peek(ps, 0) == ']')
			break;
		fail_found(ps, "',' or ']' in array");
		goto fail;
	}
	advance(ps);
	return a;
fail:
	toml_free(a);
	return NULL;
}

static struct toml_value *parse_inline_table(struct parser *ps)
{
	struct toml_value *t = new_value(ps, TOML_TABLE, here(ps));

	if (!t)
		return NULL;
	t->flags = TF_INLINE;
	advance(ps);
	skip_ws(ps);
	if (peek(ps, 0) == '}') {
		advance(ps);
		return t;
	}
	for (;;) {
		if (!parse_keyval(ps, t))
			goto fail;
		skip_ws(ps);
		if (peek(ps, 0) == ',') {
			advance(ps);
			skip_ws(ps);
			if (peek(ps, 0) == '}') {
				fail_at(ps, here(ps),
					"trailing comma is not allowed in an inline table");
				goto fail;
			}
			continue;
		}
		if (peek(ps, 0) == '}')
			break;
		fail_found(ps, "',' or '}' in inline table (which must fit on one line)");
		goto fail;
	}
	advance(ps);
	return t;
fail:
	toml_free(t);
	return NULL;
}

static bool at_word(const struct parser *ps, const char *w)
{
	return at(ps, w) && !is_bare_key_char(peek(ps, strlen(w)));
}

static struct toml_value *parse_value(struct parser *ps)
{
	struct toml_value *v = NULL;
	int c = peek(ps, 0);

	if (ps->depth >= TOML_MAX_DEPTH) {
		fail_at(ps, here(ps), "arrays and inline tables nested more than %d deep",
			TOML_MAX_DEPTH);
		return NULL;
	}
	ps->depth++;
	if (c == '"' || c == '\'') {
		v = parse_string_value(ps);
	} else if (c == '[') {
		v = parse_array(ps);
	} else if (c == '{') {
		v = parse_inline_table(ps);
	} else if (at_word(ps, "true") || at_word(ps, "false")) {
		v = new_value(ps, TOML_BOOLEAN, here(ps));
		if (v) {
			v->boolean = c == 't';
			advance_n(ps, v->boolean ? 4 : 5);
		}
	} else if (at_word(ps, "inf") || at_word(ps, "nan")) {
		fail_at(ps, here(ps), "floating-point numbers are not supported");
	} else if ((c >= '0' && c <= '9') || c == '+' || c == '-') {
		v = parse_number(ps);
	} else {
		fail_found(ps, "a value (string, integer, boolean, array or inline table)");
	}
	ps->depth--;
	return v;
}

/* --- table headers and the document -------------------------------------------------------- */

/* [a.b.c] or [[a.b.c]]: returns the table that the following key/values go into. */
static struct toml_value *open_table(struct parser *ps, struct toml_value *root,
				     struct key_path *kp, bool aot, struct toml_pos pos)
{
	struct toml_value *t, *v;
	struct key_part *last = &kp->parts[kp->n - 1];
	struct toml_keyval *kv;
	char name[128];

	t = walk(ps, root, kp, true, pos);
	if (!t)
		return NULL;
	key_repr(name, sizeof(name), kp, kp->n - 1);
	kv = table_find_n(t, last->s, last->len);
	if (aot) {
		struct toml_value *arr;
		if (!kv) {
			arr = new_value(ps, TOML_ARRAY, pos);
			if (!arr || !table_add(ps, t, last, arr))
				return NULL;
			arr->flags = TF_AOT;
		} else if (kv->value->type == TOML_ARRAY && (kv->value->flags & TF_AOT)) {
			arr = kv->value;
		} else {
			fail_at(ps, last->pos,
				"cannot define [[%s]]: '%s' is already %s (at %d:%d)", name, name,
				toml_type_name(kv->value->type), kv->pos.line, kv->pos.col);
			return NULL;
		}
		v = new_value(ps, TOML_TABLE, pos);
		if (!v || !array_add(ps, arr, v))
			return NULL;
		v->flags = TF_HEADER;
		return v;
	}
	if (!kv) {
		v = new_value(ps, TOML_TABLE, pos);
		if (!v || !table_add(ps, t, last, v))
			return NULL;
		v->flags = TF_HEADER;
		return v;
	}
	v = kv->value;
	if (v->type == TOML_TABLE && v->flags == 0) {
		/* Created implicitly by an earlier [a.b.c]; now defined for real. */
		v->flags = TF_HEADER;
		v->pos = pos;
		return v;
	}
	if (v->type == TOML_TABLE)
		fail_at(ps, pos, "table [%s] is defined twice (first at %d:%d)", name, v->pos.line,
			v->pos.col);
	else
		fail_at(ps, last->pos, "cannot define [%s]: '%s' is already %s (at %d:%d)", name,
			name, toml_type_name(v->type), kv->pos.line, kv->pos.col);
	return NULL;
}

static struct toml_value *parse_header(struct parser *ps, struct toml_value *root)
{
	struct toml_pos pos = here(ps);
	bool aot = at(ps, "[[");
	struct toml_value *t = NULL;
	struct key_path kp;

	advance_n(ps, aot ? 2 : 1);
	if (!parse_key(ps, &kp))
		goto out;
	if (!at(ps, aot ? "]]" : "]")) {
		fail_found(ps, aot ? "']]' to close the array-of-tables header"
				   : "']' to close the table header");
		goto out;
	}
	advance_n(ps, aot ? 2 : 1);
	t = open_table(ps, root, &kp, aot, pos);
out:
	key_path_free(&kp);
	return t;
}

struct toml_value *toml_parse(const char *text, size_t len, struct toml_error *err)
{
	struct parser ps = {
		.p = text, .end = text ? text + len : text, .line = 1, .col = 1, .err = err};
	struct toml_value *root, *cur;

	memset(err, 0, sizeof(*err));
	if (!text) {
		if (len) {
			fail_at(&ps, here(&ps), "no input");
			return NULL;
		}
		ps.p = ps.end = "";
	}
	if (!check_utf8(&ps))
		return NULL;
	if (at(&ps, "\xEF\xBB\xBF"))
		ps.p += 3; /* a byte order mark is not a character of the document */
	root = new_value(&ps, TOML_TABLE, here(&ps));
	if (!root)
		return NULL;
	root->flags = TF_HEADER;
	cur = root;
	while (!ps.failed) {
		skip_ws(&ps);
		if (peek(&ps, 0) < 0)
			break;
		if (peek(&ps, 0) == '#') {
			if (skip_comment(&ps))
				expect_eol(&ps, "comment");
		} else if (is_newline(&ps)) {
			skip_newline(&ps);
		} else if (peek(&ps, 0) == '[') {
			cur = parse_header(&ps, root);
			if (cur)
				expect_eol(&ps, "table header");
		} else if (parse_keyval(&ps, cur)) {
			expect_eol(&ps, "value");
		}
	}
	if (ps.failed) {
		toml_free(root);
		return NULL;
	}
	return root;
}
