/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one-pass parser (json-fast.c) against json-c's path: whenever it
 * accepts a text, json-c's path accepts it too and builds the same value,
 * printed the same; on real messages it accepts nearly everything; on cut and
 * mutated texts the property still holds.
 */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "message-private.h"

static const char *const cases[] = {
	"{}", "[]", "0", "-0", "-0.0", "1.50", "3.14159265358979323846", "123456789012345678", "-123456789012345678",
	"true", "false", "null", "\"\"", "  {\"a\" : [ 1 , 2.5 , \"x\" , null , true , { } ] }  \n",
	"{\"a\":1,\"a\":2}", "{\"a\":{\"b\":1},\"a\":\"s\"}",
	"\"esc \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\u20ac \\u0041\"",
	"\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"", "{\"\":\"empty key\"}",
	"{\"long key xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\":1}",
	/* Given to json-c: */
	"1e5", "1234567890123456789", "\"\\u0000\"", "\"\\ud83d\\ude00\"", "{\"\\u0061\":1}", "",
	"{\"a\":1,}", "[1,]", "01", "1.", ".5", "NaN", "'x'", "\"tab\there\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"",
	"{\"a\":1} x", "{\"a\" 1}", "tru", "\"open", "\"\\x\"", "\"\\u12G4\"", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
};

/* The property; returns whether the one-pass parser accepted. */
static bool check_one(const char *text, size_t len)
{
	struct json_object *fast = NULL, *slow = NULL;
	char err[256];
	bool ok = idmefv2__json_parse_fast(text, len, &fast);
	idmefv2_error e = idmefv2__json_parse_jsonc(text, len, &slow, err, sizeof(err));

	if (ok) {
		const char *a, *b;

		ck_assert_msg(e == IDMEFV2_OK, "accepted what json-c's path refuses (%s): [%.*s]", err, (int)len, text);
		ck_assert_msg(json_object_equal(fast, slow), "different values for [%.*s]", (int)len, text);
		a = json_object_to_json_string_ext(fast, JSON_C_TO_STRING_PLAIN);
		b = json_object_to_json_string_ext(slow, JSON_C_TO_STRING_PLAIN);
		ck_assert_msg(strcmp(a, b) == 0, "printed differently: %s / %s", a, b);
	}
	json_object_put(fast);
	json_object_put(slow);
	return ok;
}

START_TEST(test_cases)
{
	size_t accepted = 0, first_jsonc = 20;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool ok = check_one(cases[i], strlen(cases[i]));

		if (i < first_jsonc)
			ck_assert_msg(ok, "case %zu given to json-c: %s", i, cases[i]);
		else
			ck_assert_msg(!ok, "case %zu not given to json-c: %s", i, cases[i]);
		accepted += ok;
	}
	ck_assert_uint_eq(accepted, first_jsonc);
}
END_TEST

static char **load(const char *path, size_t *ret_n)
{
	FILE *f = fopen(path, "r");
	char **lines = NULL, *line = NULL;
	size_t cap = 0, n = 0;
	ssize_t got;

	ck_assert_ptr_nonnull(f);
	while ((got = getline(&line, &cap, f)) > 0) {
		lines = realloc(lines, (n + 1) * sizeof(*lines));
		ck_assert_ptr_nonnull(lines);
		lines[n++] = strndup(line, (size_t)got);
	}
	free(line);
	fclose(f);
	*ret_n = n;
	return lines;
}

/* The benchmark messages (valid and invalid ones): nearly all go the fast way, identically. */
START_TEST(test_messages)
{
	static const char *const files[] = { TEST_DATA_DIR "/bench/messages-v08-valid.ndjson",
		                             TEST_DATA_DIR "/bench/messages-v08-invalid.ndjson" };

	for (size_t k = 0; k < 2; k++) {
		size_t n, accepted = 0;
		char **lines = load(files[k], &n);

		for (size_t i = 0; i < n; i++) {
			accepted += check_one(lines[i], strlen(lines[i]));
			free(lines[i]);
		}
		free(lines);
		ck_assert_uint_gt(n, 400);
		ck_assert_msg(accepted * 100 >= n * 95, "%zu of %zu parsed in one pass", accepted, n);
	}
}
END_TEST

/* Texts cut anywhere and mutated byte by byte: the property holds on each. */
START_TEST(test_mutations)
{
	static const char alphabet[] = "{}[]:,\"\\ \tu0aE.-+e1tfn/\x80\xc3\xa9\xff";
	uint64_t state = 0x2545f4914f6cdd1dULL;
	size_t n, accepted = 0, total = 0;
	char **lines = load(TEST_DATA_DIR "/bench/messages-v08-valid.ndjson", &n);

	for (size_t i = 0; i < n && i < 40; i++) {
		size_t len = strlen(lines[i]);
		char *buf = malloc(len + 1);

		ck_assert_ptr_nonnull(buf);
		for (size_t cut = 0; cut <= len; cut += 7) {
			accepted += check_one(lines[i], cut);
			total++;
		}
		for (int m = 0; m < 300; m++) {
			state ^= state << 13;
			state ^= state >> 7;
			state ^= state << 17;
			memcpy(buf, lines[i], len + 1);
			buf[state % len] = alphabet[(state >> 32) % (sizeof(alphabet) - 1)];
			accepted += check_one(buf, len);
			total++;
		}
		free(buf);
	}
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
	ck_assert_uint_gt(accepted, 1000);
	ck_assert_uint_gt(total - accepted, 1000);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("json-fast");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_cases);
	tcase_add_test(tc, test_messages);
	tcase_add_test(tc, test_mutations);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
