/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ECMA-262 pattern semantics, compile errors, and a differential test of the
 * byte DFA against PCRE2 on the official schemas' patterns and others.
 */
#include <check.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "regex-private.h"

#define SUITE_DIR "/usr/share/json-schema-test-suite/tests/draft4"
#define SCHEMA_DIR TEST_DATA_DIR "/../../libidmefv2-core/schemas"

static idmefv2__regex *compile_ok(const char *pattern)
{
	char err[256] = "";
	idmefv2__regex *re = idmefv2__regex_compile(pattern, strlen(pattern), err, sizeof(err));
	ck_assert_msg(re != NULL, "pattern %s: %s", pattern, err);
	return re;
}

/* Matches with the default engine and, where there is one, checks the DFA agrees with PCRE2. */
static int match_n(const char *pattern, const char *s, size_t len)
{
	idmefv2__regex *re = compile_ok(pattern);
	int r = idmefv2__regex_match(re, s, len);
	int p = idmefv2__regex_match_engine(re, s, len, false);
	ck_assert_int_eq(r, p);
	if (idmefv2__regex_has_dfa(re))
		ck_assert_int_eq(idmefv2__regex_match_engine(re, s, len, true), p);
	idmefv2__regex_free(re);
	return r;
}

static int match(const char *pattern, const char *s)
{
	return match_n(pattern, s, strlen(s));
}

static bool uses_dfa(const char *pattern)
{
	idmefv2__regex *re = compile_ok(pattern);
	bool d = idmefv2__regex_has_dfa(re);
	idmefv2__regex_free(re);
	return d;
}

/* Returns the offset named in the compile error of @pattern, or -1 if it compiled. */
static long compile_error_offset(const char *pattern)
{
	char err[256] = "";
	idmefv2__regex *re = idmefv2__regex_compile(pattern, strlen(pattern), err, sizeof(err));
	if (re) {
		idmefv2__regex_free(re);
		return -1;
	}
	const char *at = strstr(err, "offset ");
	ck_assert_msg(at != NULL, "no offset in \"%s\"", err);
	return strtol(at + 7, NULL, 10);
}

START_TEST(test_anchors)
{
	ck_assert_int_eq(match("^a*$", "aaa"), 1);
	ck_assert_int_eq(match("^a*$", "abc"), 0);
	ck_assert_int_eq(match("^a*$", ""), 1);
	/* $ is the very end: never before a trailing newline */
	ck_assert_int_eq(match("^abc$", "abc\n"), 0);
	ck_assert_int_eq(match("abc$", "abc\n"), 0);
	ck_assert_int_eq(match("^abc$", "abc"), 1);
	/* ^ is the start only: no multiline */
	ck_assert_int_eq(match("^b", "a\nb"), 0);
	ck_assert_int_eq(match("a$", "a\nb"), 0);
	/* a search, not a full match */
	ck_assert_int_eq(match("a+", "xxaayy"), 1);
	ck_assert_int_eq(match("f.*o", "foo"), 1);
	ck_assert_int_eq(match("[0-9]{2,}", "answer 1"), 0);
	ck_assert_int_eq(match("[0-9]{2,}", "a31b"), 1);
	ck_assert_int_eq(match("X_", "a_x_3"), 0);
	/* anchors per top-level alternative */
	ck_assert_int_eq(match("^a|b$", "xa"), 0);
	ck_assert_int_eq(match("^a|b$", "ax"), 1);
	ck_assert_int_eq(match("^a|b$", "xb"), 1);
	ck_assert_int_eq(match("^a|b$", "bx"), 0);
	ck_assert_int_eq(match("^$", ""), 1);
	ck_assert_int_eq(match("^$", "\n"), 0);
	ck_assert_int_eq(match("$", "anything"), 1);
	ck_assert_int_eq(match("^", ""), 1);
	/* anchors inside groups go to PCRE2 and keep their meaning */
	ck_assert_int_eq(match("(^a|b)c", "xbc"), 1);
	ck_assert_int_eq(match("(^a|b)c", "xac"), 0);
	ck_assert_int_eq(match("x(a$|b)", "xa"), 1);
	ck_assert_int_eq(match("x(a$|b)", "xa\n"), 0);
	ck_assert(!uses_dfa("(^a|b)c"));
	ck_assert(uses_dfa("^(a|b)c$"));
}
END_TEST

START_TEST(test_invalid_utf8_subject)
{
	/* Invalid bytes match no pattern character; ^ and $ keep to the subject's ends. */
	ck_assert_int_eq(match("^[a-z]+$", "\xff" "abc"), 0);
	ck_assert_int_eq(match("^(?=a)[a-z]+$", "\xff" "abc"), 0);
	ck_assert_int_eq(match("^(?=a)[a-z]+$", "abc\xff"), 0);
	ck_assert_int_eq(match("(?=a)[a-z]+$", "\xff" "abc"), 1);
	ck_assert_int_eq(match("^(?=a)[a-z]+", "abc\xff"), 1);
	ck_assert_int_eq(match("^(?=a)a\\xff", "a\xff"), 0);
	ck_assert_int_eq(match("^.$", "\xc3"), 0);
	ck_assert_int_eq(match("^(?=.).$", "\xc3"), 0);
	ck_assert_int_eq(match("^[^a]$", "\xed\xa0\x80"), 0); /* a surrogate in UTF-8 */
	ck_assert_int_eq(match("a*", "\xff"), 1);
	ck_assert_int_eq(match("(?!x)a*", "\xff\xfe"), 1);
	ck_assert_int_eq(match("^(?!x)a*$", "\xff\xfe"), 0);
	ck_assert_int_eq(match("(?=b)b$", "\xff" "b"), 1);
	ck_assert_int_eq(match("(?=b)b$", "b\xff"), 0);
}
END_TEST

START_TEST(test_length_aware)
{
	/* NUL inside the subject is an ordinary character */
	ck_assert_int_eq(match_n("^a.b$", "a\0b", 3), 1);
	ck_assert_int_eq(match_n("^ab$", "ab\0", 3), 0);
	ck_assert_int_eq(match_n("^[0-9]+$", "12\0" "34", 5), 0);
	ck_assert_int_eq(match_n("\\x00", "ab\0", 3), 1);
	ck_assert_int_eq(match_n("^ab", "ab\0cd", 5), 1);
	/* only @len bytes are read */
	ck_assert_int_eq(match_n("^abc$", "abcdef", 3), 1);
	ck_assert_int_eq(match_n("^a*$", NULL, 0), 1);
}
END_TEST

START_TEST(test_escapes_and_classes)
{
	ck_assert_int_eq(match("^a\\x41$", "aA"), 1);
	ck_assert_int_eq(match("^[\\x5D-~]+$", "]^~"), 1);
	ck_assert_int_eq(match("^[\\x5D-~]+$", "\\"), 0);
	ck_assert_int_eq(match("^\\u00e9$", "\xc3\xa9"), 1);
	ck_assert_int_eq(match("^\\u{1F600}$", "\xf0\x9f\x98\x80"), 1);
	ck_assert_int_eq(match("^\\uD83D\\uDE00$", "\xf0\x9f\x98\x80"), 1);
	ck_assert_int_eq(match("^\\t\\n\\v\\f\\r$", "\t\n\v\f\r"), 1);
	ck_assert_int_eq(match("^\\cJ$", "\n"), 1);
	ck_assert_int_eq(match_n("^\\0$", "\0", 1), 1);
	ck_assert_int_eq(match("^[\\b]$", "\b"), 1);
	ck_assert_int_eq(match("^\\/\\.\\*$", "/.*"), 1);
	/* \d and \w are ASCII; \s has the Unicode spaces */
	ck_assert_int_eq(match("^\\d+$", "0123456789"), 1);
	ck_assert_int_eq(match("^\\d$", "\xd9\xa3"), 0); /* ARABIC-INDIC DIGIT THREE */
	ck_assert_int_eq(match("^\\w+$", "az_AZ09"), 1);
	ck_assert_int_eq(match("^\\w$", "\xc3\xa9"), 0);
	ck_assert_int_eq(match("^\\W$", "\xc3\xa9"), 1);
	ck_assert_int_eq(match("^\\s$", "\xc2\xa0"), 1);     /* NBSP */
	ck_assert_int_eq(match("^\\s$", "\xe2\x80\xa8"), 1); /* LINE SEPARATOR */
	ck_assert_int_eq(match("^\\s$", "\xef\xbb\xbf"), 1); /* BOM */
	ck_assert_int_eq(match("^\\s$", "\xc2\x85"), 0);     /* NEL is not ECMA space */
	ck_assert_int_eq(match("^\\S$", "\xc2\xa0"), 0);
	ck_assert_int_eq(match("^[\\S]$", "a"), 1);
	ck_assert_int_eq(match("^[^\\S]$", "a"), 0);
	ck_assert_int_eq(match("^[^\\S]$", "\xe3\x80\x80"), 1);
	ck_assert_int_eq(match("^[\\d-z]+$", "1-z"), 1);
	/* . is any character but a line terminator, and a whole code point */
	ck_assert_int_eq(match("^.$", "\xc3\xa9"), 1);
	ck_assert_int_eq(match("^.$", "\xf0\x9f\x98\x80"), 1);
	ck_assert_int_eq(match("^..$", "\xc3\xa9"), 0);
	ck_assert_int_eq(match("^.$", "\n"), 0);
	ck_assert_int_eq(match("^.$", "\r"), 0);
	ck_assert_int_eq(match("^.$", "\xe2\x80\xa9"), 0);
	ck_assert_int_eq(match("^[^\"]$", "\xe2\x82\xac"), 1);
	/* ECMA empty and full classes */
	ck_assert_int_eq(match("^[]", "x"), 0);
	ck_assert_int_eq(match("[]", ""), 0);
	ck_assert_int_eq(match("^[^]$", "\n"), 1);
	/* SECEF rev0.3's POSIX-minded class is an empty class in ECMA */
	ck_assert_int_eq(match("^\"([]-~ ]|x)*\"$", "\"-~ ]\""), 0);
	ck_assert_int_eq(match("^\"([]-~ ]|x)*\"$", "\"xx\""), 1);
	/* Annex B literals */
	ck_assert_int_eq(match("^a{$", "a{"), 1);
	ck_assert_int_eq(match("^a{,2}$", "a{,2}"), 1);
	ck_assert_int_eq(match("^]}$", "]}"), 1);
	/* non-ASCII literals and ranges */
	ck_assert_int_eq(match("^caf\xc3\xa9$", "caf\xc3\xa9"), 1);
	ck_assert_int_eq(match("^[\xc3\xa0-\xc3\xbf]+$", "\xc3\xa9\xc3\xa0"), 1);
	ck_assert_int_eq(match("^[\xc3\xa0-\xc3\xbf]+$", "e"), 0);
}
END_TEST

START_TEST(test_quantifiers_and_groups)
{
	ck_assert_int_eq(match("^(ab){2}$", "abab"), 1);
	ck_assert_int_eq(match("^(ab){2}$", "ababab"), 0);
	ck_assert_int_eq(match("^a{2,3}$", "a"), 0);
	ck_assert_int_eq(match("^a{2,3}$", "aaa"), 1);
	ck_assert_int_eq(match("^a{2,3}$", "aaaa"), 0);
	ck_assert_int_eq(match("^a{2,}$", "aaaaaaa"), 1);
	ck_assert_int_eq(match("^a{0}b$", "b"), 1);
	ck_assert_int_eq(match("^(?:a|bc)+?$", "abca"), 1);
	ck_assert_int_eq(match("^(?<y>[0-9]{4})-(?<m>[0-9]{2})$", "2024-01"), 1);
	ck_assert_int_eq(match("^(a*)*$", "aaaa"), 1);
	ck_assert_int_eq(match("^(a|)+b$", "aab"), 1);
	ck_assert_int_eq(match("^(|a)$", ""), 1);
	/* outside the DFA subset: PCRE2 answers */
	ck_assert_int_eq(match("^(?=.*\\d)[a-z0-9]+$", "abc1"), 1);
	ck_assert_int_eq(match("^(?=.*\\d)[a-z0-9]+$", "abc"), 0);
	ck_assert_int_eq(match("^(?!foo)\\w+$", "foobar"), 0);
	ck_assert_int_eq(match("(?<=\\$)\\d+", "cost $42"), 1);
	ck_assert_int_eq(match("(?<!\\$)\\b\\d+", "$42"), 0);
	ck_assert_int_eq(match("^(a)\\1$", "aa"), 1);
	ck_assert_int_eq(match("^(a)\\1$", "ab"), 0);
	/* ECMA: a reference to a group that did not take part matches empty */
	ck_assert_int_eq(match("^(?:(a)|b)\\1$", "b"), 1);
	ck_assert_int_eq(match("^\\1(a)$", "a"), 1);
	ck_assert_int_eq(match("^(?<q>['\"]).*\\k<q>$", "'x'"), 1);
	ck_assert_int_eq(match("\\bfoo\\b", "a foo b"), 1);
	ck_assert_int_eq(match("\\bfoo\\b", "afoo"), 0);
	ck_assert_int_eq(match("^\\p{Lu}+$", "\xc3\x89T\xc3\x89"), 1);
	ck_assert_int_eq(match("^\\p{Script=Greek}$", "\xce\xb1"), 1);
	ck_assert_int_eq(match("^[^\\p{L}]$", "1"), 1);
	ck_assert_int_eq(match("^[^\\p{L}]$", "x"), 0);
	ck_assert(!uses_dfa("^(a)\\1$"));
	ck_assert(!uses_dfa("\\bfoo"));
	ck_assert(!uses_dfa("^\\p{L}$"));
	ck_assert(uses_dfa("^(?:a|bc)+?$"));
	ck_assert(uses_dfa("^[^\"]*$"));
}
END_TEST

START_TEST(test_compile_errors)
{
	ck_assert_int_ge(compile_error_offset("^(abc]"), 0);
	ck_assert_int_eq(compile_error_offset("^\\S(|(.|\\n)*\\S)\\Z"), 15);
	ck_assert_int_eq(compile_error_offset("a**"), 2);
	ck_assert_int_eq(compile_error_offset("*a"), 0);
	ck_assert_int_eq(compile_error_offset("ab)"), 2);
	ck_assert_int_eq(compile_error_offset("x[b-a]"), 2);
	ck_assert_int_eq(compile_error_offset("a{3,2}"), 1);
	ck_assert_int_eq(compile_error_offset("abc\\"), 3);
	ck_assert_int_eq(compile_error_offset("\\x4"), 0);
	ck_assert_int_eq(compile_error_offset("\\u12G4"), 0);
	ck_assert_int_eq(compile_error_offset("a\\2(b)"), 1);
	ck_assert_int_eq(compile_error_offset("(?P<x>a)"), 0);
	ck_assert_int_eq(compile_error_offset("[a"), 0);
	ck_assert_int_eq(compile_error_offset("^*"), 1);
	ck_assert_int_eq(compile_error_offset("\\bx\\b+"), 5);
	ck_assert_int_ge(compile_error_offset("(?<a>x)\\k<b>"), 0);
	ck_assert_int_ge(compile_error_offset("(?<a>x)(?<a>y)"), 0);
	ck_assert_int_eq(compile_error_offset("ab\xff"), 2);
	/* PCRE2's own refusals map back to the pattern */
	ck_assert_int_ge(compile_error_offset("(?<=a+)b"), 0);
	ck_assert_int_ge(compile_error_offset("\\p{NoSuchProperty}"), 0);

	char err[64] = "";
	ck_assert_ptr_null(idmefv2__regex_compile(NULL, 0, err, sizeof(err)));
	ck_assert_ptr_null(idmefv2__regex_compile("(", 1, NULL, 0));
	/* only @len bytes of the pattern count */
	idmefv2__regex *re = idmefv2__regex_compile("ab(", 2, err, sizeof(err));
	ck_assert_ptr_nonnull(re);
	ck_assert_int_eq(idmefv2__regex_match(re, "xab", 3), 1);
	idmefv2__regex_free(re);
	idmefv2__regex_free(NULL);
	ck_assert_int_eq(idmefv2__regex_match(NULL, "a", 1), -1);
}
END_TEST

static struct json_object *load_json(const char *path)
{
	struct json_object *o = json_object_from_file(path);
	ck_assert_msg(o != NULL, "cannot read %s", path);
	return o;
}

static void run_suite_file(const char *name, int *ran)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", SUITE_DIR, name);
	FILE *f = fopen(path, "r");
	if (!f)
		return; /* the cases above cover the suite's content too */
	fclose(f);
	struct json_object *groups = load_json(path);
	for (size_t g = 0; g < json_object_array_length(groups); g++) {
		struct json_object *grp = json_object_array_get_idx(groups, g);
		struct json_object *schema = json_object_object_get(grp, "schema");
		struct json_object *tests = json_object_object_get(grp, "tests");
		struct json_object *pat = json_object_object_get(schema, "pattern");
		struct json_object *pp = json_object_object_get(schema, "patternProperties");
		for (size_t t = 0; t < json_object_array_length(tests); t++) {
			struct json_object *tc = json_object_array_get_idx(tests, t);
			struct json_object *data = json_object_object_get(tc, "data");
			bool valid = json_object_get_boolean(json_object_object_get(tc, "valid"));
			if (pat && json_object_is_type(data, json_type_string)) {
				int r = match_n(json_object_get_string(pat), json_object_get_string(data),
				                (size_t)json_object_get_string_len(data));
				ck_assert_int_eq(r, valid ? 1 : 0);
				(*ran)++;
			}
			if (pp && json_object_is_type(data, json_type_object)) {
				/* valid iff every property whose name matches a pattern passes its schema */
				bool ok = true;
				json_object_object_foreach(pp, p, sub)
				{
					json_object_object_foreach(data, key, val)
					{
						if (match(p, key) != 1)
							continue;
						struct json_object *type = json_object_object_get(sub, "type");
						struct json_object *max = json_object_object_get(sub, "maximum");
						if (type && !strcmp(json_object_get_string(type), "integer") &&
						    !json_object_is_type(val, json_type_int))
							ok = false;
						if (type && !strcmp(json_object_get_string(type), "boolean") &&
						    !json_object_is_type(val, json_type_boolean))
							ok = false;
						if (type && !strcmp(json_object_get_string(type), "string") &&
						    !json_object_is_type(val, json_type_string))
							ok = false;
						if (max && json_object_is_type(val, json_type_int) &&
						    json_object_get_int64(val) > json_object_get_int64(max))
							ok = false;
					}
				}
				ck_assert_int_eq(ok, valid);
				(*ran)++;
			}
			struct json_object *fmt = json_object_object_get(schema, "format");
			if (fmt && !strcmp(json_object_get_string(fmt), "regex") &&
			    json_object_is_type(data, json_type_string)) {
				char err[128];
				idmefv2__regex *re = idmefv2__regex_compile(json_object_get_string(data),
				                                            (size_t)json_object_get_string_len(data),
				                                            err, sizeof(err));
				ck_assert_int_eq(re != NULL, valid);
				idmefv2__regex_free(re);
				(*ran)++;
			}
		}
	}
	json_object_put(groups);
}

START_TEST(test_json_schema_test_suite)
{
	int ran = 0;
	run_suite_file("pattern.json", &ran);
	run_suite_file("patternProperties.json", &ran);
	run_suite_file("optional/ecmascript-regex.json", &ran);
	FILE *f = fopen(SUITE_DIR "/pattern.json", "r");
	if (f) {
		fclose(f);
		ck_assert_int_ge(ran, 10);
	}
}
END_TEST

/* ---------------------------------------------------------------- */
/* Differential test: DFA against PCRE2                              */

struct strvec {
	char **v;
	size_t *len;
	size_t n, cap;
};

static void strvec_add(struct strvec *sv, const char *s, size_t len)
{
	if (sv->n == sv->cap) {
		sv->cap = sv->cap ? sv->cap * 2 : 256;
		sv->v = realloc(sv->v, sv->cap * sizeof(*sv->v));
		sv->len = realloc(sv->len, sv->cap * sizeof(*sv->len));
		ck_assert(sv->v && sv->len);
	}
	sv->v[sv->n] = malloc(len + 1);
	ck_assert_ptr_nonnull(sv->v[sv->n]);
	memcpy(sv->v[sv->n], s, len);
	sv->v[sv->n][len] = '\0';
	sv->len[sv->n++] = len;
}

static bool strvec_has(const struct strvec *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (!strcmp(sv->v[i], s))
			return true;
	return false;
}

static void strvec_free(struct strvec *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	free(sv->len);
	memset(sv, 0, sizeof(*sv));
}

static void collect_patterns(struct json_object *o, struct strvec *out)
{
	if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, k, v)
		{
			if (!strcmp(k, "pattern") && json_object_is_type(v, json_type_string)) {
				if (!strvec_has(out, json_object_get_string(v)))
					strvec_add(out, json_object_get_string(v), (size_t)json_object_get_string_len(v));
			} else {
				collect_patterns(v, out);
			}
		}
	} else if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++)
			collect_patterns(json_object_array_get_idx(o, i), out);
	}
}

static void collect_strings(struct json_object *o, struct strvec *out, size_t max)
{
	if (out->n >= max)
		return;
	if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, k, v)
		{
			(void)k;
			collect_strings(v, out, max);
		}
	} else if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++)
			collect_strings(json_object_array_get_idx(o, i), out, max);
	} else if (json_object_is_type(o, json_type_string)) {
		const char *s = json_object_get_string(o);
		if (strlen(s) < 200 && !strvec_has(out, s))
			strvec_add(out, s, (size_t)json_object_get_string_len(o));
	}
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

/* Characters worth trying on a pattern: its own bytes, its ASCII ranges, and troublemakers. */
static size_t pattern_alphabet(const char *p, char *alpha, size_t cap)
{
	bool seen[256] = {false};
	size_t n = 0, len = strlen(p);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		seen[c] = true;
		if (i + 2 < len && p[i + 1] == '-' && (unsigned char)p[i + 2] > c && p[i + 2] < 0x7f)
			for (unsigned x = c; x <= (unsigned char)p[i + 2]; x++)
				seen[x] = true;
	}
	const char extra[] = "\n\r\t 0aZ-:.";
	for (size_t i = 0; i < sizeof(extra) - 1; i++)
		seen[(unsigned char)extra[i]] = true;
	seen[0] = true;
	for (int c = 0; c < 256 && n < cap; c++)
		if (seen[c])
			alpha[n++] = (char)c;
	return n;
}

static const char *const multibyte[] = {
	"\xc3\xa9", "\xc2\xa0", "\xe2\x80\xa8", "\xe3\x80\x80", "\xf0\x9f\x98\x80", "\xef\xbb\xbf",
	"\xc2\x85", "\xff", "\xc3", "\x80", "\xe2\x82", "\xed\xa0\x80", "\xc0\xaf", "\xf4\x90\x80\x80",
};

/* One derived string: a mutation of a seed, or random text over the alphabet. */
static size_t derive(const struct strvec *seeds, const char *alpha, size_t alen, char *buf, size_t cap)
{
	size_t n = 0;
	if (seeds->n && rnd(4) != 0) {
		size_t k = rnd((uint32_t)seeds->n);
		n = seeds->len[k] < cap / 2 ? seeds->len[k] : cap / 2;
		memcpy(buf, seeds->v[k], n);
		int edits = (int)rnd(3);
		for (int e = 0; e < edits || e == 0; e++) {
			size_t pos = n ? rnd((uint32_t)n + 1) : 0;
			switch (rnd(9)) {
			case 0: /* delete */
				if (pos < n) {
					memmove(buf + pos, buf + pos + 1, n - pos - 1);
					n--;
				}
				break;
			case 1: /* replace */
				if (pos < n)
					buf[pos] = alpha[rnd((uint32_t)alen)];
				break;
			case 2: /* insert */
				if (n + 1 < cap) {
					memmove(buf + pos + 1, buf + pos, n - pos);
					buf[pos] = alpha[rnd((uint32_t)alen)];
					n++;
				}
				break;
			case 3: /* trailing newline */
				if (n + 1 < cap)
					buf[n++] = '\n';
				break;
			case 4: /* embedded NUL */
				if (n + 1 < cap) {
					memmove(buf + pos + 1, buf + pos, n - pos);
					buf[pos] = '\0';
					n++;
				}
				break;
			case 5: { /* non-ASCII, valid or not */
				const char *m = multibyte[rnd(sizeof(multibyte) / sizeof(multibyte[0]))];
				size_t ml = strlen(m);
				if (n + ml < cap) {
					memmove(buf + pos + ml, buf + pos, n - pos);
					memcpy(buf + pos, m, ml);
					n += ml;
				}
				break;
			}
			case 6: /* truncate */
				n = pos;
				break;
			case 7: { /* splice another seed */
				size_t k2 = rnd((uint32_t)seeds->n);
				size_t l2 = seeds->len[k2];
				if (n + l2 < cap) {
					memmove(buf + pos + l2, buf + pos, n - pos);
					memcpy(buf + pos, seeds->v[k2], l2);
					n += l2;
				}
				break;
			}
			default: /* duplicate a slice */
				if (pos < n) {
					size_t l2 = rnd((uint32_t)(n - pos)) + 1;
					if (n + l2 < cap) {
						memmove(buf + pos + l2, buf + pos, n - pos);
						n += l2;
					}
				}
				break;
			}
		}
		return n;
	}
	size_t len = rnd(40);
	for (size_t i = 0; i < len && n + 4 < cap; i++) {
		if (rnd(16) == 0) {
			const char *m = multibyte[rnd(sizeof(multibyte) / sizeof(multibyte[0]))];
			memcpy(buf + n, m, strlen(m));
			n += strlen(m);
		} else {
			buf[n++] = alpha[rnd((uint32_t)alen)];
		}
	}
	return n;
}

static const char *const extra_patterns[] = {
	"a+", "f.*o", "[0-9]{2,}", "X_", "^a*$", "^[^\"]*$", "^.$", ".", "^\\s+$", "\\S", "^[\\s\\S]{2}$",
	"^\\w+@\\w+\\.\\w{2,3}$", "(a|b)*c$|^d", "^$", "$", "^", "^(|a)b?$", "^(a*)*b$", "^(?:ab|a)*?c",
	"^[^a-z\\d]+$", "^[\xc3\xa0-\xc3\xbf]+$", "caf\xc3\xa9", "^[^\xc3\xa9]$", "^\\u2028|\\u2029$",
	"[\\u0080-\\u07ff]{2}", "^[\\u0800-\\uffff]$", "[\\u{10000}-\\u{10FFFF}]", "^[^\\x00-\\x7f]+$",
	"^.{3,5}$", "^[a-c]{0,2}[b-d]{1,3}$", "^(x|xy|xyz){2,4}$", "\\d{3}-\\d{4}", "^\\x00+$",
	"^[^]*$", "[]|a", "^[-+]?\\d*\\.?\\d+$", "^(ab|cd)+?$",
};

/* Returns the number of comparisons run for @pattern. */
static size_t differential(const char *pattern, const struct strvec *seeds_all, size_t rounds)
{
	idmefv2__regex *re = compile_ok(pattern);
	ck_assert_msg(idmefv2__regex_has_dfa(re), "no DFA for %s", pattern);
	/* The same language behind an empty lookahead, which keeps it on PCRE2. */
	char *wrapped = malloc(strlen(pattern) + 16);
	ck_assert_ptr_nonnull(wrapped);
	sprintf(wrapped, "(?=)(?:%s)", pattern);
	idmefv2__regex *alt = compile_ok(wrapped);
	ck_assert(!idmefv2__regex_has_dfa(alt));
	char alpha[256];
	size_t alen = pattern_alphabet(pattern, alpha, sizeof(alpha));
	char buf[512];
	size_t ran = 0, matched = 0;
	for (size_t i = 0; i < seeds_all->n; i++) {
		int d = idmefv2__regex_match_engine(re, seeds_all->v[i], seeds_all->len[i], true);
		int p = idmefv2__regex_match_engine(re, seeds_all->v[i], seeds_all->len[i], false);
		ck_assert_msg(d == p, "pattern %s, subject \"%s\": dfa %d pcre2 %d", pattern, seeds_all->v[i], d, p);
		matched += p == 1;
		ran++;
	}
	/* Mutate the seeds this pattern accepts, which makes near-misses. */
	struct strvec mine = {0};
	for (size_t i = 0; i < seeds_all->n; i++)
		if (idmefv2__regex_match_engine(re, seeds_all->v[i], seeds_all->len[i], false) == 1 && mine.n < 400)
			strvec_add(&mine, seeds_all->v[i], seeds_all->len[i]);
	for (size_t r = 0; r < rounds; r++) {
		size_t n = derive(mine.n && rnd(3) ? &mine : seeds_all, alpha, alen, buf, sizeof(buf));
		int d = idmefv2__regex_match_engine(re, buf, n, true);
		int p = idmefv2__regex_match_engine(re, buf, n, false);
		int wr = idmefv2__regex_match(alt, buf, n);
		if (d != p || wr != p) {
			char shown[2048];
			size_t w = 0;
			for (size_t k = 0; k < n && w + 5 < sizeof(shown); k++) {
				unsigned char c = (unsigned char)buf[k];
				w += (size_t)snprintf(shown + w, sizeof(shown) - w, c >= 0x20 && c < 0x7f ? "%c" : "\\x%02x", c);
			}
			ck_abort_msg("pattern %s, subject \"%s\" (%zu bytes): dfa %d pcre2 %d wrapped %d", pattern, shown, n,
			             d, p, wr);
		}
		matched += p == 1;
		ran++;
	}
	if (getenv("REGEX_DIFF_VERBOSE"))
		printf("  %6zu/%6zu matched: %s\n", matched, ran, pattern);
	strvec_free(&mine);
	idmefv2__regex_free(re);
	idmefv2__regex_free(alt);
	free(wrapped);
	return ran;
}

static void load_seeds(struct strvec *seeds)
{
	FILE *f = fopen(TEST_DATA_DIR "/bench/messages-v08-valid.ndjson", "r");
	ck_assert_ptr_nonnull(f);
	char *line = NULL;
	size_t cap = 0;
	int lines = 0;
	while (getline(&line, &cap, f) > 0 && lines++ < 400) {
		struct json_object *m = json_tokener_parse(line);
		ck_assert_ptr_nonnull(m);
		collect_strings(m, seeds, 6000);
		json_object_put(m);
	}
	free(line);
	fclose(f);
	static const char *const more[] = {
		"", "\n", "::", "::1", "fe80::1%eth0", "::ffff:192.168.0.1", "1:2:3:4:5:6:7:8", "1::", "::2:3:4:5:6:7:8",
		"2001:db8::1.2.3.4", "255.255.255.255", "01.1.1.1", "256.1.1.1", "1.2.3", "text/plain; q=\"a\\\"b\"",
		"application/json", "sha256:00ff", "md5:0", "+45.5, -73.25", "1,2,3", "FR PAR", "FRPAR",
		"2024-02-30T23:59:60Z", "2024-01-01T00:00:00", "2024-01-01T00:00:00.1-00:00", "0a-b", "-ab",
		"aaa", "abc", "xxaayy", "caf\xc3\xa9", "ab\ncd", "a b", "\xe2\x80\xa8", "x\xc2\xa0y",
		"aab", "xyxyz", "xxyxyz", "abcd", "ababcd", "\xc3\xa0\xc3\xbf\xc3\xa9", "\xc2\x80\xdf\xbf",
		"\xe0\xa0\x80", "\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf", "-1.5", "+.5", "7",
		"555-1234", "a@b.org", "X_1", "f\xc3\xa9o", "bc", "cbd", "aacdd",
	};
	for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++)
		if (!strvec_has(seeds, more[i]))
			strvec_add(seeds, more[i], strlen(more[i]));
}

START_TEST(test_differential_schemas)
{
	struct strvec seeds = {0}, pats = {0};
	static const char *const schemas[] = {
		"IDMEFv2-2.D.V08.schema", "IDMEFv2-2.D.V09-Dev.schema", "IDMEFv2-2.0.3-secef-rev0.3.schema",
		"IDMEFv2-2.D.V02.schema", "IDMEFv2-2.D.V05.schema",
	};
	for (size_t i = 0; i < sizeof(schemas) / sizeof(schemas[0]); i++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", SCHEMA_DIR, schemas[i]);
		struct json_object *s = load_json(path);
		collect_patterns(s, &pats);
		json_object_put(s);
	}
	ck_assert_int_ge(pats.n, 9);
	load_seeds(&seeds);
	size_t ran = 0;
	for (size_t i = 0; i < pats.n; i++)
		ran += differential(pats.v[i], &seeds, 20000);
	printf("differential (schemas): %zu patterns, %zu subjects compared\n", pats.n, ran);
	strvec_free(&seeds);
	strvec_free(&pats);
}
END_TEST

START_TEST(test_differential_others)
{
	struct strvec seeds = {0};
	load_seeds(&seeds);
	size_t ran = 0;
	for (size_t i = 0; i < sizeof(extra_patterns) / sizeof(extra_patterns[0]); i++)
		ran += differential(extra_patterns[i], &seeds, 5000);
	printf("differential (others): %zu patterns, %zu subjects compared\n",
	       sizeof(extra_patterns) / sizeof(extra_patterns[0]), ran);
	strvec_free(&seeds);
}
END_TEST

START_TEST(test_v08_semantics)
{
	const char *uuid = "^[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}$";
	ck_assert_int_eq(match(uuid, "8a3cd7b4-2c4f-4a39-9d5b-1f2e3d4c5b6a"), 1);
	ck_assert_int_eq(match(uuid, "8A3CD7B4-2C4F-4A39-9D5B-1F2E3D4C5B6A"), 1);
	ck_assert_int_eq(match(uuid, "8a3cd7b4-2c4f-4a39-9d5b-1f2e3d4c5b6a\n"), 0);
	ck_assert_int_eq(match(uuid, "8a3cd7b4-2c4f-4a39-9d5b-1f2e3d4c5b6"), 0);
	ck_assert_int_eq(match_n(uuid, "8a3cd7b4-2c4f-4a39-9d5b-1f2e3d4c5b6a\0", 37), 0);
	const char *media = "^[-!#$%&'*+.^_`|~0-9a-zA-Z]+/[-!#$%&'*+.^_`|~0-9a-zA-Z]+([ \t]*;[ \t]*"
	                    "[-!#$%&'*+.^_`|~0-9a-zA-Z]+=([-!#$%&'*+.^_`|~0-9a-zA-Z]+|\"([\\x5D-~\t !#-\\x5B]|"
	                    "\\\\([\t 0-9a-zA-Z]))*\"))*$";
	ck_assert(uses_dfa(media));
	ck_assert_int_eq(match(media, "text/plain; charset=\"utf-8\""), 1);
	ck_assert_int_eq(match(media, "text/plain; x=\"a]b[c\""), 1);
	ck_assert_int_eq(match(media, "text/plain; x=\"a\\\\b\""), 0);
	ck_assert_int_eq(match(media, "text/plain; x=\"a\\tb\""), 1);
	ck_assert_int_eq(match(media, "text/plain; x=\"a\"b\""), 0);
	ck_assert_int_eq(match(media, "text/plain; x=\"caf\xc3\xa9\""), 0);
}
END_TEST

struct thread_arg {
	idmefv2__regex *re[2];
	int errors;
};

static void *thread_main(void *p)
{
	struct thread_arg *a = p;
	for (int i = 0; i < 20000; i++) {
		for (int k = 0; k < 2; k++) {
			if (idmefv2__regex_match(a->re[k], "abc1", 4) != 1 || idmefv2__regex_match(a->re[k], "abc", 3) != 0)
				a->errors++;
		}
	}
	return NULL;
}

START_TEST(test_threads)
{
	/* One pattern on PCRE2 (lookahead), one on the DFA, shared by every thread. */
	struct thread_arg args[4];
	idmefv2__regex *pc = compile_ok("^(?=.*\\d)[a-z0-9]+$");
	idmefv2__regex *df = compile_ok("^[a-z]+[0-9]$");
	ck_assert(!idmefv2__regex_has_dfa(pc));
	ck_assert(idmefv2__regex_has_dfa(df));
	pthread_t th[4];
	for (int i = 0; i < 4; i++) {
		args[i] = (struct thread_arg){.re = {pc, df}};
		ck_assert_int_eq(pthread_create(&th[i], NULL, thread_main, &args[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(args[i].errors, 0);
	}
	idmefv2__regex_free(pc);
	idmefv2__regex_free(df);
}
END_TEST

/* Under AddressSanitizer malloc belongs to the sanitizer: count only without it. */
#if defined(__SANITIZE_ADDRESS__)
#define HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_ASAN 1
#endif
#endif
#ifndef HAVE_ASAN
#define COUNT_ALLOCATIONS 1
#endif

#ifdef COUNT_ALLOCATIONS
/* Counts heap allocations made while counting is on, through glibc's own entry points. */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
static _Thread_local bool counting;
static _Thread_local size_t allocations;

void *malloc(size_t n);
void *calloc(size_t a, size_t b);
void *realloc(void *p, size_t n);

void *malloc(size_t n)
{
	if (counting)
		allocations++;
	return __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
	if (counting)
		allocations++;
	return __libc_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
	if (counting)
		allocations++;
	return __libc_realloc(p, n);
}

START_TEST(test_no_allocation)
{
	idmefv2__regex *pc = compile_ok("^(?=.*\\d)(\\w+)(x|y)*\\1?$");
	idmefv2__regex *df = compile_ok("^[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}$");
	/* warm-up: the per-thread match data and PCRE2's frame vector */
	ck_assert_int_eq(idmefv2__regex_match(pc, "abc1", 4), 1);
	counting = true;
	for (int i = 0; i < 1000; i++) {
		idmefv2__regex_match(pc, "abc1xyxy", 8);
		idmefv2__regex_match(pc, "abc", 3);
		idmefv2__regex_match(df, "8a3cd7b4-2c4f-4a39-9d5b-1f2e3d4c5b6a", 36);
	}
	counting = false;
	ck_assert_uint_eq(allocations, 0);
	idmefv2__regex_free(pc);
	idmefv2__regex_free(df);
}
END_TEST
#endif

static Suite *regex_suite(void)
{
	Suite *s = suite_create("regex");
	TCase *tc = tcase_create("semantics");
	tcase_add_test(tc, test_anchors);
	tcase_add_test(tc, test_length_aware);
	tcase_add_test(tc, test_invalid_utf8_subject);
	tcase_add_test(tc, test_escapes_and_classes);
	tcase_add_test(tc, test_quantifiers_and_groups);
	tcase_add_test(tc, test_compile_errors);
	tcase_add_test(tc, test_json_schema_test_suite);
	tcase_add_test(tc, test_v08_semantics);
	tcase_add_test(tc, test_threads);
#ifdef COUNT_ALLOCATIONS
	tcase_add_test(tc, test_no_allocation);
#endif
	suite_add_tcase(s, tc);
	TCase *diff = tcase_create("differential");
	tcase_set_timeout(diff, 240);
	tcase_add_test(diff, test_differential_schemas);
	tcase_add_test(diff, test_differential_others);
	suite_add_tcase(s, diff);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(regex_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
