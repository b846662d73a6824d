/* SPDX-License-Identifier: MIT */
/* The TOML reader: values, TOML's definition rules, and where errors point. */
#include <criterion/criterion.h>

#include "vmm/config/toml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct toml_value *parse_ok(const char *text)
{
	struct toml_error err;
	struct toml_value *root = toml_parse(text, strlen(text), &err);

	cr_assert(root, "unexpected error %d:%d: %s", err.pos.line, err.pos.col, err.msg);
	return root;
}

static struct toml_error parse_fails(const char *text)
{
	struct toml_error err;
	struct toml_value *root = toml_parse(text, strlen(text), &err);

	cr_assert_null(root, "expected an error for: %s", text);
	return err;
}

static const struct toml_value *get(const struct toml_value *t, const char *key)
{
	const struct toml_value *v = toml_table_get(t, key);

	cr_assert(v, "no key '%s'", key);
	return v;
}

static void assert_str(const struct toml_value *v, const char *want)
{
	cr_assert_eq(v->type, TOML_STRING);
	cr_assert_eq(v->string.len, strlen(want));
	cr_assert_str_eq(v->string.ptr, want);
}

Test(toml, parses_scalars_with_positions)
{
	struct toml_value *r = parse_ok("# comment\n"
					"name = \"vmm\"  # trailing comment\n"
					"  count=42\n"
					"on = true\n"
					"off = false\n");
	const struct toml_keyval *kv = toml_table_find(r, "count");

	assert_str(get(r, "name"), "vmm");
	cr_assert_eq(get(r, "count")->integer, 42);
	cr_assert_eq(get(r, "on")->boolean, true);
	cr_assert_eq(get(r, "off")->boolean, false);
	cr_assert_eq(kv->pos.line, 3);
	cr_assert_eq(kv->pos.col, 3);
	cr_assert_eq(kv->value->pos.line, 3);
	cr_assert_eq(kv->value->pos.col, 9);
	cr_assert_eq(get(r, "name")->pos.col, 8);
	toml_free(r);
}

Test(toml, error_position_points_at_bad_value)
{
	struct toml_error e = parse_fails("[machine]\ncpus = 2\nmemory = }\n");

	cr_assert_eq(e.pos.line, 3);
	cr_assert_eq(e.pos.col, 10);
	cr_assert_str_eq(e.msg, "expected a value (string, integer, boolean, array or inline "
				"table), found '}'");
}

Test(toml, column_counts_characters_not_bytes)
{
	struct toml_error e = parse_fails("\"h\xc3\xa9llo\" = ?\n");

	cr_assert_eq(e.pos.line, 1);
	cr_assert_eq(e.pos.col, 11);
}

Test(toml, missing_equals_names_key)
{
	struct toml_error e = parse_fails("a = 1\nkey 5\n");

	cr_assert_eq(e.pos.line, 2);
	cr_assert_eq(e.pos.col, 5);
	cr_assert_str_eq(e.msg, "expected '=' after key 'key', found '5'");
}

Test(toml, basic_string_escapes)
{
	struct toml_value *r = parse_ok("s = \"a\\tb\\nc\\\\d\\\"e\\bf\\fg\\rh\"\n"
					"u = \"\\u00e9\\U0001F600\"\n");

	assert_str(get(r, "s"), "a\tb\nc\\d\"e\bf\fg\rh");
	assert_str(get(r, "u"), "\xc3\xa9\xf0\x9f\x98\x80");
	toml_free(r);
}

Test(toml, escape_nul_keeps_length)
{
	struct toml_value *r = parse_ok("s = \"a\\u0000b\"\n");

	cr_assert_eq(get(r, "s")->string.len, 3);
	toml_free(r);
}

Test(toml, bad_escapes_are_errors_at_the_backslash)
{
	struct toml_error e = parse_fails("s = \"ab\\q\"\n");

	cr_assert_eq(e.pos.col, 8);
	cr_assert(strstr(e.msg, "invalid escape sequence '\\q'"), "%s", e.msg);
	e = parse_fails("s = \"\\uD800\"\n");
	cr_assert(strstr(e.msg, "not a Unicode scalar value"), "%s", e.msg);
	e = parse_fails("s = \"\\u12\"\n");
	cr_assert(strstr(e.msg, "4 hex digits"), "%s", e.msg);
}

Test(toml, literal_strings_keep_backslashes)
{
	struct toml_value *r = parse_ok("p = 'C:\\dir\\n'\n");

	assert_str(get(r, "p"), "C:\\dir\\n");
	toml_free(r);
}

Test(toml, multiline_basic_string_trims_first_newline_and_line_ending_backslash)
{
	struct toml_value *r = parse_ok("s = \"\"\"\nline1\n  line2 \\\n    joined\"\"\"\n"
					"q = \"\"\"two quotes at end\"\"\"\"\"\n");

	assert_str(get(r, "s"), "line1\n  line2 joined");
	assert_str(get(r, "q"), "two quotes at end\"\"");
	toml_free(r);
}

Test(toml, multiline_literal_string_is_raw)
{
	struct toml_value *r = parse_ok("s = '''\r\nraw \\n 'x'\r\nend'''\n");

	assert_str(get(r, "s"), "raw \\n 'x'\nend");
	toml_free(r);
}

Test(toml, unterminated_string_points_at_opening_quote)
{
	struct toml_error e = parse_fails("a = 1\nb =  \"open\nc = 2\n");

	cr_assert_eq(e.pos.line, 2);
	cr_assert_eq(e.pos.col, 6);
	cr_assert(strstr(e.msg, "unterminated string"), "%s", e.msg);
}

Test(toml, control_character_in_string_is_an_error)
{
	struct toml_error e = parse_fails("s = \"a\x01\"\n");

	cr_assert_eq(e.pos.col, 7);
	cr_assert(strstr(e.msg, "U+0001"), "%s", e.msg);
}

Test(toml, integers_decimal_hex_octal_binary_with_underscores)
{
	struct toml_value *r = parse_ok("a = 1_000_000\nb = 0xdead_BEEF\nc = 0o755\nd = 0b1010\n"
					"e = -17\nf = +5\ng = 0\n"
					"h = -9223372036854775808\ni = 9223372036854775807\n");

	cr_assert_eq(get(r, "a")->integer, 1000000);
	cr_assert_eq(get(r, "b")->integer, 0xdeadbeef);
	cr_assert_eq(get(r, "c")->integer, 0755);
	cr_assert_eq(get(r, "d")->integer, 10);
	cr_assert_eq(get(r, "e")->integer, -17);
	cr_assert_eq(get(r, "f")->integer, 5);
	cr_assert_eq(get(r, "g")->integer, 0);
	cr_assert_eq(get(r, "h")->integer, INT64_MIN);
	cr_assert_eq(get(r, "i")->integer, INT64_MAX);
	toml_free(r);
}

Test(toml, malformed_integers_are_errors)
{
	const char *bad[] = {
		"a = 1__0\n",  "a = _1\n",    "a = 1_\n", "a = 012\n", "a = 0x\n",
		"a = -0x10\n", "a = 0b102\n", "a = 1x\n", "a = -\n",   "a = 9223372036854775808\n"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct toml_error e = parse_fails(bad[i]);
		cr_assert_eq(e.pos.col, 5, "%s -> %d:%d %s", bad[i], e.pos.line, e.pos.col, e.msg);
	}
	cr_assert(strstr(parse_fails("a = 9223372036854775808\n").msg, "64 bits"));
}

Test(toml, floats_and_dates_are_not_supported)
{
	cr_assert(strstr(parse_fails("a = 1.5\n").msg, "floating-point"));
	cr_assert(strstr(parse_fails("a = 1e3\n").msg, "floating-point"));
	cr_assert(strstr(parse_fails("a = -inf\n").msg, "floating-point"));
	cr_assert(strstr(parse_fails("a = nan\n").msg, "floating-point"));
	cr_assert(strstr(parse_fails("a = 1979-05-27\n").msg, "dates"));
	cr_assert(strstr(parse_fails("a = 07:32:00\n").msg, "dates"));
}

Test(toml, arrays_multiline_with_trailing_comma_and_comments)
{
	struct toml_value *r = parse_ok("a = [\n  1, # one\n  2,\n  [\"x\", 'y'],\n]\ne = []\n");
	const struct toml_value *a = get(r, "a");

	cr_assert_eq(a->type, TOML_ARRAY);
	cr_assert_eq(a->array.len, 3);
	cr_assert_eq(a->array.items[1]->integer, 2);
	cr_assert_eq(a->array.items[1]->pos.line, 3);
	cr_assert_eq(a->array.items[1]->pos.col, 3);
	assert_str(a->array.items[2]->array.items[1], "y");
	cr_assert_eq(get(r, "e")->array.len, 0);
	toml_free(r);
}

Test(toml, array_missing_comma_is_an_error)
{
	struct toml_error e = parse_fails("a = [1 2]\n");

	cr_assert_eq(e.pos.col, 8);
	cr_assert_str_eq(e.msg, "expected ',' or ']' in array, found '2'");
}

Test(toml, inline_tables_with_dotted_keys)
{
	struct toml_value *r = parse_ok("p = { a = 1, b = \"x\", c.d = true }\nq = {}\n");
	const struct toml_value *p = get(r, "p");

	cr_assert_eq(p->type, TOML_TABLE);
	cr_assert_eq(get(p, "a")->integer, 1);
	assert_str(get(p, "b"), "x");
	cr_assert_eq(get(get(p, "c"), "d")->boolean, true);
	cr_assert_eq(get(r, "q")->table.len, 0);
	toml_free(r);
}

Test(toml, inline_tables_are_sealed)
{
	struct toml_error e = parse_fails("p = { a = 1 }\n[p.b]\n");

	cr_assert_eq(e.pos.line, 2);
	e = parse_fails("p = { a = 1 }\np.b = 2\n");
	cr_assert_eq(e.pos.line, 2);
	cr_assert(strstr(parse_fails("p = { a = 1, }\n").msg, "trailing comma"));
	cr_assert(strstr(parse_fails("p = { a = 1,\n b = 2 }\n").msg, "end of line"));
}

Test(toml, tables_and_dotted_keys_build_a_tree)
{
	struct toml_value *r = parse_ok("top = 1\n[a]\nx = 1\n[a.b]\ny.z = 2\n[c.\"quoted key\"]\n"
					"'lit' = 3\n[d.e.f]\n[d]\ng = 4\n");

	cr_assert_eq(get(get(r, "a"), "x")->integer, 1);
	cr_assert_eq(get(get(get(get(r, "a"), "b"), "y"), "z")->integer, 2);
	cr_assert_eq(get(get(get(r, "c"), "quoted key"), "lit")->integer, 3);
	cr_assert_eq(get(get(r, "d"), "g")->integer, 4);
	cr_assert_eq(get(r, "a")->pos.line, 2);
	toml_free(r);
}

Test(toml, duplicate_key_is_an_error_at_second_key)
{
	struct toml_error e = parse_fails("[m]\ncpus = 1\n  cpus = 2\n");

	cr_assert_eq(e.pos.line, 3);
	cr_assert_eq(e.pos.col, 3);
	cr_assert_str_eq(e.msg, "duplicate key 'cpus' (first defined at 2:1)");
	e = parse_fails("a.b = 1\na.b = 2\n");
	cr_assert_eq(e.pos.line, 2);
	cr_assert(strstr(e.msg, "duplicate key 'a.b'"), "%s", e.msg);
	e = parse_fails("a = 1\na.b = 2\n");
	cr_assert(strstr(e.msg, "already an integer"), "%s", e.msg);
}

Test(toml, redefined_table_is_an_error)
{
	struct toml_error e = parse_fails("[a]\nx = 1\n\n[a]\n");

	cr_assert_eq(e.pos.line, 4);
	cr_assert_eq(e.pos.col, 1);
	cr_assert_str_eq(e.msg, "table [a] is defined twice (first at 1:1)");
	parse_fails("[a]\nb.c = 1\n[a.b]\n");
	parse_fails("[a.b]\n[a]\nb.c = 1\n");
	parse_fails("a = 1\n[a]\n");
}

Test(toml, arrays_of_tables_append_and_subtables_go_to_last)
{
	struct toml_value *r = parse_ok("[[nvme]]\nid = \"n0\"\n[nvme.ns]\nsize = 1\n"
					"[[nvme]]\nid = \"n1\"\n");
	const struct toml_value *a = get(r, "nvme");

	cr_assert_eq(a->type, TOML_ARRAY);
	cr_assert_eq(a->array.len, 2);
	assert_str(get(a->array.items[0], "id"), "n0");
	cr_assert_eq(get(get(a->array.items[0], "ns"), "size")->integer, 1);
	assert_str(get(a->array.items[1], "id"), "n1");
	cr_assert_eq(a->array.items[1]->pos.line, 5);
	toml_free(r);
}

Test(toml, arrays_of_tables_cannot_mix_with_tables_or_static_arrays)
{
	parse_fails("a = [1]\n[[a]]\n");
	parse_fails("[a]\n[[a]]\n");
	parse_fails("[[a]]\n[a]\n");
}

Test(toml, header_needs_closing_bracket)
{
	struct toml_error e = parse_fails("[machine\n");

	cr_assert_eq(e.pos.col, 9);
	cr_assert_str_eq(e.msg, "expected ']' to close the table header, found end of line");
	e = parse_fails("[[a]\n");
	cr_assert(strstr(e.msg, "']]'"), "%s", e.msg);
}

Test(toml, garbage_after_value_is_an_error)
{
	struct toml_error e = parse_fails("a = 1 b = 2\n");

	cr_assert_eq(e.pos.col, 7);
	cr_assert(strstr(e.msg, "end of line"), "%s", e.msg);
}

Test(toml, nesting_is_bounded)
{
	char text[512];
	size_t n = 0;

	n += (size_t)snprintf(text, sizeof(text), "a = ");
	for (int i = 0; i < 100; i++)
		text[n++] = '[';
	text[n] = '\0';
	cr_assert(strstr(parse_fails(text).msg, "nested"));
}

Test(toml, invalid_utf8_and_bare_cr_are_errors)
{
	struct toml_error e = parse_fails("a = 1\nb = \"\xff\"\n");

	cr_assert_eq(e.pos.line, 2);
	cr_assert_eq(e.pos.col, 6);
	parse_fails("a = 1\rb = 2\n");
	parse_fails("# comment \x7f\n");
}

Test(toml, never_reads_past_the_end)
{
	/* Every prefix of a rich document: each either parses or fails cleanly. */
	static const char doc[] = "[a.b]\nx = \"\"\"q\\u00e9\"\"\"\ny = '''l'''\nz = [0x1f, { k = "
				  "'v' }]\n[[c]]\nw = -1_0\n";
	size_t len = strlen(doc);

	for (size_t i = 0; i <= len; i++) {
		struct toml_error err;
		char *copy = malloc(i ? i : 1);

		memcpy(copy, doc, i);
		toml_free(toml_parse(copy, i, &err));
		free(copy);
	}
}

Test(toml, empty_input_is_an_empty_table)
{
	struct toml_error err;
	struct toml_value *r = toml_parse("", 0, &err);

	cr_assert_not_null(r);
	cr_assert_eq(r->type, TOML_TABLE);
	cr_assert_eq(r->table.len, 0);
	toml_free(r);
}

Test(toml, byte_order_mark_is_skipped)
{
	struct toml_value *r = parse_ok("\xef\xbb\xbf"
					"a = 1\n");

	cr_assert_eq(get(r, "a")->integer, 1);
	cr_assert_eq(toml_table_find(r, "a")->pos.col, 1);
	toml_free(r);
}

Test(toml, dotted_keys_cannot_reopen_a_header_table)
{
	struct toml_error e = parse_fails("[a.b]\nx = 1\n[a]\nb.y = 2\n");

	cr_assert_eq(e.pos.line, 4);
	cr_assert_eq(e.pos.col, 1);
	cr_assert_str_eq(e.msg, "cannot add keys to table 'b' here: it was defined at 1:1");
}

/* Recursion is bounded by TOML_MAX_DEPTH: 10000 levels stop at the 33rd, arrays or tables. */
Test(toml, nesting_10000_deep_stops_at_the_limit)
{
	size_t depth = 10000;
	char *text = malloc(8 + 4 * depth);
	struct toml_error e;
	size_t n;

	cr_assert_not_null(text);
	n = (size_t)sprintf(text, "a = ");
	memset(text + n, '[', depth);
	text[n + depth] = '\0';
	e = parse_fails(text);
	cr_assert_str_eq(e.msg, "arrays and inline tables nested more than 32 deep");
	cr_assert_eq(e.pos.line, 1);
	cr_assert_eq(e.pos.col, 5 + 32);

	n = (size_t)sprintf(text, "a = ");
	for (size_t i = 0; i < depth; i++)
		n += (size_t)sprintf(text + n, "{b=");
	e = parse_fails(text);
	cr_assert_str_eq(e.msg, "arrays and inline tables nested more than 32 deep");
	cr_assert_eq(e.pos.col, 5 + 3 * 32);
	free(text);
}

/* A 1 MiB file of distinct keys in one table would take a quadratic half minute to check
 * for duplicates: the 1025th key is an error instead, in a table or a header's path. */
Test(toml, a_table_holds_at_most_1024_keys)
{
	char *text = malloc(32 * 2048);
	struct toml_error e;
	size_t n = 0;

	cr_assert_not_null(text);
	for (int i = 0; i < 1025; i++)
		n += (size_t)sprintf(text + n, "k%d = 1\n", i);
	e = parse_fails(text);
	cr_assert_str_eq(e.msg, "more than 1024 keys in one table");
	cr_assert_eq(e.pos.line, 1025);
	cr_assert_eq(e.pos.col, 1);

	n = 0;
	for (int i = 0; i < 1024; i++)
		n += (size_t)sprintf(text + n, "k%d = 1\n", i);
	toml_free(parse_ok(text));
	sprintf(text + n, "[t.u]\n");
	e = parse_fails(text);
	cr_assert_str_eq(e.msg, "more than 1024 keys in one table");
	cr_assert_eq(e.pos.line, 1025);
	cr_assert_eq(e.pos.col, 2);
	free(text);
}
