/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The built-in Kismet template: elements of the all_alerts.json list from the
 * real sample through a pipeline, every output checked against 2.D.V08 and
 * field by field against docs/connectors/kismet.md.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <json-c/json_pointer.h>

#include <idmefv2/mapping.h>
#include <idmefv2/pipeline.h>
#include <idmefv2/schema.h>
#include <idmefv2/util.h>

#define SAMPLES TEST_DATA_DIR "/connectors/kismet/"
#define SAMPLE SAMPLES "all_alerts-connector-test.json"
#define TOOL "kismet"
#define VERSION "2.D.V08"

#include "doc-harness.h"

/* ---- Kismet ---------------------------------------------------------------------------- */

#define K_TIMESTAMP "kismet.alert.timestamp"
#define K_SEVERITY "kismet.alert.severity"
#define K_HEADER "kismet.alert.header"
#define K_SOURCE_MAC "kismet.alert.source_mac"
#define K_TEXT "kismet.alert.text"

static void assert_constant_part(struct json_object *out)
{
	struct json_object *analyzer, *copy = NULL, *want;

	assert_str(out, "/Version", "2.D.V08");
	ck_assert(idmefv2_uuid_is_valid(json_object_get_string(at(out, "/ID"))));
	assert_json(out, "/Type", "[\"Cyber\"]");
	assert_json(out, "/Category", "[\"Recon.Network\"]");
	ck_assert_ptr_nonnull(at(out, "/Analyzer/IP"));
	analyzer = at(out, "/Analyzer");
	ck_assert_int_eq(json_object_deep_copy(analyzer, &copy, NULL), 0);
	json_object_object_del(copy, "IP");
	want = json_tokener_parse("{\"Name\":\"kismet\",\"Model\":\"Kismet Wireless IDS\","
	                          "\"Category\":[\"NET.NIDS\",\"NET.WIDS\"],\"Data\":[\"Network\"],"
	                          "\"Method\":[\"Monitor\"]}");
	ck_assert_msg(json_object_equal(copy, want), "Analyzer is %s",
	              json_object_to_json_string_ext(analyzer, JSON_C_TO_STRING_PLAIN));
	json_object_put(want);
	json_object_put(copy);
	ck_assert_uint_eq(json_object_array_length(at(out, "/Source")), 1);
	ck_assert(idmefv2_uuid_is_valid(json_object_get_string(at(out, "/Source/0/ID"))));
}

/* The sample alert (the only element of the sample list), a new reference. */
static struct json_object *sample_alert(void)
{
	struct json_object *all = load_json(SAMPLE), *a = NULL;

	ck_assert_uint_eq(json_object_array_length(all), 1);
	ck_assert_int_eq(json_object_deep_copy(json_object_array_get_idx(all, 0), &a, NULL), 0);
	json_object_put(all);
	return a;
}

/* Sets @p key to @p value (ownership taken), or removes it when @p value is NULL. */
static void set_member(struct json_object *a, const char *key, struct json_object *value)
{
	if (value)
		json_object_object_add(a, key, value);
	else
		json_object_object_del(a, key);
}

/* The reference's test: severity 12, timestamp 0, and the source note. */
START_TEST(test_reference_sample)
{
	struct run r;
	struct json_object *all = load_json(SAMPLE), *out;

	run_init(&r);
	ck_assert_int_eq(push_json(&r, json_object_array_get_idx(all, 0)), IDMEFV2_PIPELINE_CONVERTED);
	out = last_output(&r);
	assert_constant_part(out);
	assert_str(out, "/Priority", "Medium");
	assert_str(out, "/CreateTime", "1970-01-01T00:00:00.000000Z");
	assert_str(out, "/Description", "Rogue AP detected");
	assert_str(out, "/Source/0/Note", "MAC: aa:bb:cc:dd:ee:ff - probe request flood");
	check_counters(&r, 1, 0, 0, 1);
	json_object_put(all);
	run_free(&r);
}
END_TEST

/* Every boundary of the severity ranges (Kismet: info 0, low 5, medium 10, high 15, critical 20). */
START_TEST(test_severity_ranges)
{
	static const struct {
		const char *json; /* the severity as JSON text; NULL: absent */
		const char *want;
	} cases[] = {
		{ "-1", "Info" },      { "0", "Info" },        { "4", "Info" },     { "4.9", "Info" },
		{ "5", "Low" },        { "9", "Low" },         { "9.99", "Low" },   { "10", "Medium" },
		{ "12", "Medium" },    { "14", "Medium" },     { "15", "High" },    { "20", "High" },
		{ "1000000", "High" }, { "\"12\"", "Medium" }, { "\"20\"", "High" },
		/* The reference's own test: not a number. */
		{ "\"not-a-number\"", "Unknown" },
		{ "\"\"", "Unknown" }, { "null", "Unknown" },  { "true", "Unknown" }, { "[12]", "Unknown" },
		{ NULL, "Unknown" },
	};
	struct run r;
	struct json_object *a = sample_alert();
	size_t n = sizeof(cases) / sizeof(cases[0]);

	run_init(&r);
	for (size_t i = 0; i < n; i++) {
		set_member(a, K_SEVERITY, cases[i].json ? json_tokener_parse(cases[i].json) : NULL);
		ck_assert_int_eq(push_json(&r, a), IDMEFV2_PIPELINE_CONVERTED);
		ck_assert_msg(strcmp(json_object_get_string(at(last_output(&r), "/Priority")), cases[i].want) == 0,
		              "severity %s gave %s", cases[i].json ? cases[i].json : "(absent)",
		              json_object_get_string(at(last_output(&r), "/Priority")));
	}
	check_counters(&r, n, 0, 0, n);
	json_object_put(a);
	run_free(&r);
}
END_TEST

/* Timestamps: epoch seconds with microseconds, RFC 3339 strings; anything else is the current time. */
START_TEST(test_timestamp)
{
	static const char *const cases[][2] = {
		{ "1700000000", "2023-11-14T22:13:20.000000Z" },
		{ "1700000000.25", "2023-11-14T22:13:20.250000Z" },
		{ "\"1700000000.5\"", "2023-11-14T22:13:20.500000Z" },
		{ "\"2024-05-01T10:00:00+02:00\"", "2024-05-01T10:00:00.000000+02:00" },
		/* No offset: taken as UTC. */
		{ "\"2024-05-01 10:00:00\"", "2024-05-01T10:00:00.000000Z" },
	};
	static const char *const now_cases[] = { "\"soon\"", "null", "{}", "-1e300" };
	struct run r;
	struct json_object *a = sample_alert();

	run_init(&r);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		set_member(a, K_TIMESTAMP, json_tokener_parse(cases[i][0]));
		ck_assert_int_eq(push_json(&r, a), IDMEFV2_PIPELINE_CONVERTED);
		assert_str(last_output(&r), "/CreateTime", cases[i][1]);
	}
	for (size_t i = 0; i < sizeof(now_cases) / sizeof(now_cases[0]); i++) {
		set_member(a, K_TIMESTAMP, json_tokener_parse(now_cases[i]));
		ck_assert_int_eq(push_json(&r, a), IDMEFV2_PIPELINE_CONVERTED);
		assert_recent(last_output(&r), "/CreateTime");
	}
	set_member(a, K_TIMESTAMP, NULL);
	ck_assert_int_eq(push_json(&r, a), IDMEFV2_PIPELINE_CONVERTED);
	assert_recent(last_output(&r), "/CreateTime");
	check_counters(&r, 10, 0, 0, 10);
	json_object_put(a);
	run_free(&r);
}
END_TEST

/* Missing optional members: the note keeps what there is; no header, no Description. */
START_TEST(test_missing_optional)
{
	struct run r;
	struct json_object *a = sample_alert(), *out;

	run_init(&r);
	set_member(a, K_SOURCE_MAC, NULL);
	ck_assert_int_eq(push_json(&r, a), IDMEFV2_PIPELINE_CONVERTED);
	assert_str(last_output(&r), "/Source/0/Note", "probe request flood");

	set_member(a, K_SOURCE_MAC, json_object_new_string("aa:bb:cc:dd:ee:ff"));
	set_member(a, K_TEXT, NULL);
	ck_assert_int_eq(push_json(&r, a), IDMEFV2_PIPELINE_CONVERTED);
	assert_str(last_output(&r), "/Source/0/Note", "MAC: aa:bb:cc:dd:ee:ff");

	set_member(a, K_SOURCE_MAC, NULL);
	set_member(a, K_HEADER, NULL);
	ck_assert_int_eq(push_json(&r, a), IDMEFV2_PIPELINE_CONVERTED);
	out = last_output(&r);
	assert_constant_part(out);
	assert_absent(out, "/Source/0/Note");
	assert_absent(out, "/Description");

	/* An empty object still makes a (thin) valid message. */
	ck_assert_int_eq(push_text(&r, "{}"), IDMEFV2_PIPELINE_CONVERTED);
	out = last_output(&r);
	assert_constant_part(out);
	assert_str(out, "/Priority", "Unknown");
	assert_recent(out, "/CreateTime");
	check_counters(&r, 4, 0, 0, 4);
	json_object_put(a);
	run_free(&r);
}
END_TEST

/* A malformed line is counted and skipped; the next alert still converts. */
START_TEST(test_malformed_then_next)
{
	struct run r;
	char *text = slurp(SAMPLE);
	struct json_object *a = sample_alert();

	run_init(&r);
	ck_assert_int_eq(push_text(&r, "{\"kismet.alert.header\": \"Rogue"), IDMEFV2_PIPELINE_MALFORMED);
	/* The whole all_alerts.json list is not one alert: the poller hands over its elements. */
	ck_assert_int_eq(push_text(&r, text), IDMEFV2_PIPELINE_MALFORMED);
	ck_assert_int_eq(push_json(&r, a), IDMEFV2_PIPELINE_CONVERTED);
	assert_str(last_output(&r), "/Description", "Rogue AP detected");
	check_counters(&r, 3, 2, 0, 1);
	free(text);
	json_object_put(a);
	run_free(&r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("template-" TOOL);
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_reference_sample);
	tcase_add_test(tc, test_severity_ranges);
	tcase_add_test(tc, test_timestamp);
	tcase_add_test(tc, test_missing_optional);
	tcase_add_test(tc, test_malformed_then_next);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
