/* SPDX-License-Identifier: MIT */
/*
 * A small TOML 1.0 reader: text in, a tree of plain values out. Floats and dates are
 * rejected ("not supported"); everything else a vmm config needs is here. Every key and
 * value remembers where it came from (1-based line and column, columns count characters),
 * so the config layer can point at the exact spot of a problem.
 *
 * Hostile input is expected (the parser is fuzzed): input is a (pointer, length) pair and
 * may hold any bytes, nesting is bounded by TOML_MAX_DEPTH and TOML_MAX_KEY_PARTS, a table's
 * size by TOML_MAX_TABLE_KEYS, and any failure, including out of memory, is an error return,
 * never a crash.
 */
#ifndef VMM_TOML_H
#define VMM_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOML_MAX_DEPTH	    32	 /* nested arrays / inline tables */
#define TOML_MAX_KEY_PARTS  32	 /* components of a dotted key or table header */
#define TOML_MAX_TABLE_KEYS 1024 /* keys of one table (duplicates are found by a linear scan) */

enum toml_type {
	TOML_TABLE,
	TOML_ARRAY,
	TOML_STRING,
	TOML_INTEGER,
	TOML_BOOLEAN,
};

struct toml_pos {
	int line; /* 1-based */
	int col;  /* 1-based, in characters */
};

struct toml_value;

struct toml_keyval {
	char *key; /* NUL-terminated; may hold NULs of its own, key_len is authoritative */
	size_t key_len;
	struct toml_pos pos; /* where the key (this component of a dotted key) is written */
	struct toml_value *value;
};

struct toml_value {
	enum toml_type type;
	struct toml_pos pos; /* the value; for tables the '[' of the header, the '{', or the key */
	unsigned flags;	     /* parser bookkeeping: how a table or array came to exist */
	union {
		struct {
			struct toml_keyval *items; /* in order of definition */
			size_t len, cap;
		} table;
		struct {
			struct toml_value **items;
			size_t len, cap;
		} array;
		struct {
			char *ptr; /* NUL-terminated; may hold NULs (\u0000), len is authoritative
				    */
			size_t len;
		} string;
		int64_t integer;
		bool boolean;
	};
};

struct toml_error {
	struct toml_pos pos;
	char msg[256]; /* without file name or position, e.g. "expected '=' after key 'a'" */
};

/*
 * Parse `len` bytes of `text` (need not be NUL-terminated). Returns the root table, or NULL
 * with *err filled in (the first problem found; parsing stops there).
 */
struct toml_value *toml_parse(const char *text, size_t len, struct toml_error *err);

/* Free a tree returned by toml_parse (NULL is fine). */
void toml_free(struct toml_value *v);

/* The entry `key` of a table, or NULL if absent (or `table` is not a table). */
const struct toml_keyval *toml_table_find(const struct toml_value *table, const char *key);
const struct toml_value *toml_table_get(const struct toml_value *table, const char *key);

/* "a table", "an array", "a string", "an integer", "a boolean": for messages. */
const char *toml_type_name(enum toml_type type);

#endif
