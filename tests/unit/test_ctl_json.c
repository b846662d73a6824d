/* SPDX-License-Identifier: MIT */
/* The control socket's JSON reader (vmm/ctl_json.h): good input and hostile input. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/ctl_json.h"

static struct json_doc doc;
static char err[128];

static int parse(const char *s)
{
	err[0] = 0;
	return json_parse(&doc, s, strlen(s), err, sizeof(err));
}

Test(ctl_json, object_of_every_type)
{
	const struct json_node *n;

	cr_assert_eq(parse(" {\"s\":\"a\\\"b\\\\c\\/\\n\", \"i\":-42, \"big\":9223372036854775807,"
			   "\"min\":-9223372036854775808, \"t\":true, \"f\":false, \"z\":null,"
			   "\"o\":{\"k\":{}}}\r\n"),
		     0, "%s", err);
	cr_assert_eq(doc.node[0].type, JSON_OBJECT);
	n = json_get(&doc, 0, "s");
	cr_assert_str_eq(n->s, "a\"b\\c/\n");
	cr_assert_eq(json_get(&doc, 0, "i")->i, -42);
	cr_assert_eq(json_get(&doc, 0, "big")->i, INT64_MAX);
	cr_assert_eq(json_get(&doc, 0, "min")->i, INT64_MIN);
	cr_assert(json_get(&doc, 0, "t")->b);
	cr_assert_eq(json_get(&doc, 0, "f")->type, JSON_BOOL);
	cr_assert(!json_get(&doc, 0, "f")->b);
	cr_assert_eq(json_get(&doc, 0, "z")->type, JSON_NULL);
	n = json_get(&doc, 0, "o");
	cr_assert_eq(n->type, JSON_OBJECT);
	cr_assert_eq(json_get(&doc, (int)(n - doc.node), "k")->type, JSON_OBJECT);
	cr_assert_null(json_get(&doc, 0, "nope"));
}

Test(ctl_json, unicode_escapes_become_utf8)
{
	cr_assert_eq(parse("{\"u\":\"\\u00e9\\u20ac\\ud83d\\ude00\"}"), 0, "%s", err);
	cr_assert_str_eq(json_get(&doc, 0, "u")->s, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
}

Test(ctl_json, bad_escapes_are_refused)
{
	static const char *bad[] = {
		"{\"a\":\"\\x\"}",
		"{\"a\":\"\\u12\"}",
		"{\"a\":\"\\u12g4\"}",
		"{\"a\":\"\\ud800\"}",
		"{\"a\":\"\\ud800\\u0041\"}",
		"{\"a\":\"\\udc00\"}",
		"{\"a\":\"\\u0000\"}",
		"{\"a\":\"\\",
		"{\"a\":\"abc",
		"{\"a\":\"tab\there\"}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(parse(bad[i]), -EINVAL, "accepted %s", bad[i]);
		cr_assert(strstr(err, "at byte"), "no position for %s: %s", bad[i], err);
	}
}

Test(ctl_json, numbers_are_integers_in_range)
{
	static const char *bad[] = {
		"{\"a\":9223372036854775808}",
		"{\"a\":-9223372036854775809}",
		"{\"a\":99999999999999999999999999999}",
		"{\"a\":1.5}",
		"{\"a\":1e3}",
		"{\"a\":01}",
		"{\"a\":-}",
		"{\"a\":+1}",
		"{\"a\":0x10}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(parse(bad[i]), -EINVAL, "accepted %s", bad[i]);
	cr_assert_eq(parse("{\"a\":0,\"b\":-0}"), 0);
}

Test(ctl_json, nesting_is_bounded)
{
	char buf[256] = "";

	for (int i = 0; i < JSON_MAX_DEPTH; i++)
		strcat(buf, "{\"a\":");
	strcat(buf, "1");
	for (int i = 0; i < JSON_MAX_DEPTH; i++)
		strcat(buf, "}");
	cr_assert_eq(parse(buf), -EINVAL); /* one level too deep: the value 1 is at depth 9 */
	cr_assert(strstr(err, "nested too deeply"), "%s", err);
	memmove(buf, buf + 5, strlen(buf + 5) + 1);
	buf[strlen(buf) - 1] = 0;
	cr_assert_eq(parse(buf), 0, "%s", err);
}

Test(ctl_json, thousands_of_open_braces_stop_at_the_depth_limit)
{
	size_t n = JSON_MAX_TEXT;
	char *buf = malloc(n);

	memset(buf, '{', n);
	cr_assert_eq(json_parse(&doc, buf, n, err, sizeof(err)), -EINVAL);
	memset(buf, '[', n);
	cr_assert_eq(json_parse(&doc, buf, n, err, sizeof(err)), -EINVAL);
	for (size_t i = 0; i + 5 <= n; i += 5)
		memcpy(buf + i, "{\"a\":", 5);
	cr_assert_eq(json_parse(&doc, buf, n, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "nested too deeply"), "%s", err);
	free(buf);
}

Test(ctl_json, overlong_text_is_refused)
{
	size_t n = JSON_MAX_TEXT + 1;
	char *buf = malloc(n + 1);

	memset(buf, ' ', n);
	buf[0] = '{';
	buf[n - 1] = '}';
	buf[n] = 0;
	cr_assert_eq(json_parse(&doc, buf, n, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "longer than"), "%s", err);
	cr_assert_eq(json_parse(&doc, buf + 1, n - 1, err, sizeof(err)), -EINVAL); /* no '{' */
	buf[1] = '{';
	cr_assert_eq(json_parse(&doc, buf + 1, n - 1, err, sizeof(err)), 0, "%s", err);
	free(buf);
}

Test(ctl_json, nul_bytes_are_refused_anywhere)
{
	static const char in_string[] = "{\"a\":\"x\0y\"}", outside[] = "{\"a\":1}\0",
			  in_key[] = "{\"a\0\":1}";

	cr_assert_eq(json_parse(&doc, in_string, sizeof(in_string) - 1, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "NUL"), "%s", err);
	cr_assert_eq(json_parse(&doc, outside, sizeof(outside) - 1, err, sizeof(err)), -EINVAL);
	cr_assert_eq(json_parse(&doc, in_key, sizeof(in_key) - 1, err, sizeof(err)), -EINVAL);
}

Test(ctl_json, structure_errors_are_refused)
{
	static const char *bad[] = {
		"",
		"   ",
		"{",
		"{\"a\"}",
		"{\"a\":}",
		"{\"a\":1,}",
		"{,}",
		"{\"a\":1 \"b\":2}",
		"{a:1}",
		"{\"a\":1}x",
		"{\"a\":1}{}",
		"{\"a\":tru}",
		"{\"a\":nul}",
		"{\"a\":[1]}",
		"{\"a\":1,\"a\":2}",
		"{'a':1}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(parse(bad[i]), -EINVAL, "accepted '%s'", bad[i]);
}

Test(ctl_json, too_many_values_are_refused)
{
	char buf[JSON_MAX_TEXT];
	size_t pos = 0;

	pos += (size_t)snprintf(buf + pos, sizeof(buf) - pos, "{");
	for (int i = 0; i < JSON_MAX_NODES; i++)
		pos += (size_t)snprintf(buf + pos, sizeof(buf) - pos, "%s\"k%d\":%d", i ? "," : "",
					i, i);
	snprintf(buf + pos, sizeof(buf) - pos, "}");
	cr_assert_eq(parse(buf), -EINVAL);
	cr_assert(strstr(err, "too many values"), "%s", err);
}

Test(ctl_json, put_string_escapes_and_bounds)
{
	char out[32];
	size_t pos = 0;

	cr_assert(json_put_string(out, sizeof(out), &pos, "a\"b\\\n"));
	cr_assert_str_eq(out, "\"a\\\"b\\\\\\u000a\"");
	cr_assert_eq(parse("{\"x\":\"a\\\"b\\\\\\u000a\"}"), 0);
	pos = 0;
	cr_assert(!json_put_string(out, 8, &pos, "0123456789"));
	cr_assert_eq(pos, 0);
}
