/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The partial parser (project.c) against the full parser: on every input,
 * hand-written and mutated, it either gives up (the pipeline then parses in
 * full) or yields an object on which the template's output is exactly the
 * output from the fully parsed input; and it never accepts a text the full
 * parser refuses.
 */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include <idmefv2/mapping.h>
#include <idmefv2/message.h>
#include <idmefv2/pipeline.h>

#include "mapping-private.h"

static const char template_text[] =
	"{\"$filter\": {\"$ne\": [\"$.kind\", \"skip\"]},"
	" \"A\": \"$.a\", \"BC\": \"$.b.c\", \"BD\": \"$.b.d\", \"BE\": \"$.b.e.f\","
	" \"ARR0\": \"$.arr[0]\", \"ARRX\": \"$.arr[-1].x\", \"S\": \"$.s\", \"N\": \"$.n\", \"F\": \"$.f\","
	" \"T\": \"$.t\", \"Z\": \"$.z\", \"DOT\": \"$.\\\"x.y\\\"\", \"OBJ\": \"$.obj\", \"U\": \"$.u\","
	" \"L\": {\"$fn\": \"lower\", \"args\": [\"$.s\"]},"
	" \"FMT\": {\"$fn\": \"format\", \"args\": [\"{}-{}\", \"$.a\", \"$.n\"]}}";

static const char *const inputs[] = {
	"{\"a\":\"plain\",\"b\":{\"c\":1,\"d\":[1,2,{\"x\":3}],\"e\":{\"f\":null}},\"arr\":[{\"x\":1},{\"x\":2}]}",
	"{\"s\":\"esc \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\u20ac\",\"n\":-12.5,\"f\":false,\"t\":true,\"z\":null}",
	"  {\"a\" : \"x\" , \"b\" : { \"c\" : \"y\" } }  \r\n",
	"{\"x.y\":\"dotted\",\"x\":{\"y\":\"nested\"}}",
	"{\"a\":\"first\",\"a\":\"last\",\"b\":{\"c\":1},\"b\":{\"d\":2}}",
	"{\"b\":{\"c\":1},\"b\":\"scalar\",\"arr\":[1],\"arr\":{\"x\":1}}",
	"{\"b\":\"not an object\",\"arr\":\"not an array\",\"obj\":{\"deep\":[[[{\"k\":\"v\"}]]]}}",
	"{\"n\":0,\"a\":-0,\"s\":\"\",\"u\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}",
	"{\"n\":123456789012345678,\"a\":1234567890123456789,\"f\":1e5,\"t\":1.5E-3}",
	"{\"kind\":\"skip\",\"a\":\"filtered\"}",
	"{\"\\u0061\":\"escaped key\",\"b\":{\"\\u0063\":\"escaped inner key\"}}",
	"{\"a\":\"nul \\u0000 inside\",\"s\":\"surrogates \\ud83d\\ude00\"}",
	"{}",
	"[1,2]",
	"\"just a string\"",
	"{\"a\":1,}",
	"{\"a\":01}",
	"{\"a\":1.}",
	"{\"a\":.5}",
	"{\"a\":NaN}",
	"{\"a\":'single'}",
	"{\"a\":\"tab\there\"}",
	"{\"a\":\"bad utf8 \xc0\xaf\"}",
	"{\"a\":\"surrogate in utf8 \xed\xa0\x80\"}",
	"{\"a\":1} trailing",
	"{\"a\":[1,2,]}",
	"{\"a\" 1}",
	"{\"a\":tru}",
	"{\"a\":\"unterminated}",
	"{\"a\":\"\\x\"}",
	"{\"a\":\"\\u12G4\"}",
	"",
	"   ",
	"{\"obj\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
	"]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
	"{\"n\":-},{\"a\":1}",
};

static idmefv2_mapping *mapping;

static void setup(void)
{
	struct json_object *t = json_tokener_parse(template_text);
	char err[512] = "";

	ck_assert_ptr_nonnull(t);
	ck_assert_msg(idmefv2_mapping_compile_json("t", t, &mapping, err, sizeof(err)) == IDMEFV2_OK, "%s", err);
	json_object_put(t);
	ck_assert_ptr_nonnull(idmefv2__mapping_projection(mapping));
}

static void teardown(void)
{
	idmefv2_mapping_free(mapping);
	mapping = NULL;
}

/* The property; returns whether the partial parser accepted the text. */
static bool check_one(const char *text, size_t len)
{
	struct json_object *full = NULL, *part = NULL, *out_full = NULL, *out_part = NULL;
	idmefv2_error ef, ep, af, ap;
	char err[512];

	ef = idmefv2_json_parse(text, len, &full, err, sizeof(err));
	ep = idmefv2__json_project(text, len, idmefv2__mapping_projection(mapping), &part);
	if (ep != IDMEFV2_OK) {
		ck_assert_int_eq(ep, IDMEFV2_ERR_PARSE);
		json_object_put(full);
		return false;
	}
	ck_assert_msg(ef == IDMEFV2_OK, "accepted what the full parser refuses: [%.*s]", (int)len, text);
	ck_assert(json_object_is_type(full, json_type_object));
	af = idmefv2_mapping_apply(mapping, full, &out_full, err, sizeof(err));
	ap = idmefv2_mapping_apply(mapping, part, &out_part, err, sizeof(err));
	ck_assert_int_eq(af, ap);
	ck_assert_msg((out_full == NULL) == (out_part == NULL), "filter differs on [%.*s]", (int)len, text);
	ck_assert_msg(json_object_equal(out_full, out_part), "outputs differ on [%.*s]:\n%s\n%s", (int)len, text,
	              json_object_to_json_string(out_full), json_object_to_json_string(out_part));
	json_object_put(out_full);
	json_object_put(out_part);
	json_object_put(full);
	json_object_put(part);
	return true;
}

START_TEST(test_inputs)
{
	size_t accepted = 0;

	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++)
		accepted += check_one(inputs[i], strlen(inputs[i]));
	/* The common shapes go the fast way. */
	ck_assert_uint_ge(accepted, 9);
	for (size_t i = 0; i < 10; i++)
		if (i != 8)
			ck_assert_msg(check_one(inputs[i], strlen(inputs[i])), "input %zu parsed in full", i);
	/*
	 * The full parser decides: exponents and integers over 18 digits, escaped
	 * keys in objects the template reads, NUL and surrogate escapes.
	 */
	ck_assert(!check_one(inputs[8], strlen(inputs[8])));
	ck_assert(!check_one(inputs[10], strlen(inputs[10])));
	ck_assert(!check_one(inputs[11], strlen(inputs[11])));
}
END_TEST

/* Every input, cut and mutated byte by byte: the property holds on each. */
START_TEST(test_mutations)
{
	static const char alphabet[] = "{}[]:,\"\\ \tu0aE.-+e1tfn\x80\xc3\xff";
	uint64_t state = 0x9e3779b97f4a7c15ULL;
	size_t accepted = 0, total = 0;

	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		size_t len = strlen(inputs[i]);
		char *buf = malloc(len + 2);

		ck_assert_ptr_nonnull(buf);
		for (size_t cut = 0; cut <= len; cut++) {
			accepted += check_one(inputs[i], cut);
			total++;
		}
		for (int m = 0; m < 2000 && len > 0; m++) {
			size_t at;

			state ^= state << 13;
			state ^= state >> 7;
			state ^= state << 17;
			memcpy(buf, inputs[i], len + 1);
			at = (size_t)(state % len);
			buf[at] = alphabet[(state >> 32) % (sizeof(alphabet) - 1)];
			accepted += check_one(buf, len);
			total++;
		}
		free(buf);
	}
	ck_assert_uint_gt(accepted, 1000);
	ck_assert_uint_gt(total - accepted, 1000);
}
END_TEST

/* Through the pipeline: the dead-letter record keeps the whole input although only part was parsed. */
START_TEST(test_dead_letter_keeps_input)
{
	static const char tmpl_text[] = "{\"Version\": \"2.D.V08\", \"ID\": \"$.id\"}";
	static const char line[] = "{\"id\":\"not a uuid\",\"other\":{\"kept\":[1,2,3]}}";
	char path[] = "/tmp/test-project-XXXXXX", err[512] = "", *text;
	struct json_object *t = json_tokener_parse(tmpl_text), *rec, *v;
	idmefv2_mapping *m = NULL;
	idmefv2_pipeline *p = NULL;
	idmefv2_pipeline_result r;
	FILE *f;
	long n;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(idmefv2_mapping_compile_json("t", t, &m, err, sizeof(err)), IDMEFV2_OK);
	json_object_put(t);
	ck_assert_ptr_nonnull(idmefv2__mapping_projection(m));
	ck_assert_int_eq(idmefv2_pipeline_new(m, NULL, &p, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_pipeline_set_dead_letter(p, path, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_pipeline_push_line(p, line, strlen(line), "in", 1, &r), IDMEFV2_OK);
	ck_assert_int_eq(r, IDMEFV2_PIPELINE_INVALID);
	idmefv2_pipeline_free(p);
	idmefv2_mapping_free(m);
	f = fdopen(fd, "r");
	text = calloc(1, 4096);
	n = (long)fread(text, 1, 4095, f);
	fclose(f);
	unlink(path);
	ck_assert_int_gt(n, 0);
	rec = json_tokener_parse(text);
	ck_assert_ptr_nonnull(rec);
	ck_assert(json_object_object_get_ex(rec, "input", &v));
	ck_assert(json_object_object_get_ex(v, "other", &v));
	ck_assert_str_eq(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN), "{\"kept\":[1,2,3]}");
	json_object_put(rec);
	free(text);
}
END_TEST

/* A template reading "$" (the whole input) parses in full: no projection. */
START_TEST(test_whole_input_templates)
{
	static const char *const texts[] = {
		"{\"R\": {\"$fn\": \"find_key\", \"args\": [\"$\", \"k\"]}}",
		"{\"R\": \"$[0]\"}",
		"{\"R\": \"$.*\"}",
	};

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct json_object *t = json_tokener_parse(texts[i]);
		idmefv2_mapping *m = NULL;
		char err[512] = "";

		ck_assert_ptr_nonnull(t);
		ck_assert_msg(idmefv2_mapping_compile_json("t", t, &m, err, sizeof(err)) == IDMEFV2_OK, "%s", err);
		ck_assert_ptr_null(idmefv2__mapping_projection(m));
		idmefv2_mapping_free(m);
		json_object_put(t);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("project");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_inputs);
	tcase_add_test(tc, test_mutations);
	tcase_add_test(tc, test_dead_letter_keeps_input);
	tcase_add_test(tc, test_whole_input_templates);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
