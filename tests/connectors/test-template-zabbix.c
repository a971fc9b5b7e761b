/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The built-in Zabbix template: the real enriched problem object (and variants
 * of it) through a pipeline, every output checked against 2.D.V08 and field
 * by field against docs/connectors/zabbix.md.
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

#define SAMPLES TEST_DATA_DIR "/connectors/zabbix/"
#define SAMPLE SAMPLES "enriched-problem-connector-test.json"
#define TOOL "zabbix"
#define VERSION "2.D.V08"

#include "doc-harness.h"

/* ---- Zabbix ---------------------------------------------------------------------------- */

static void assert_constant_part(struct json_object *out)
{
	struct json_object *analyzer, *copy = NULL, *want;

	assert_str(out, "/Version", "2.D.V08");
	/* The reference's test: a 36-character UUID. */
	ck_assert(idmefv2_uuid_is_valid(json_object_get_string(at(out, "/ID"))));
	ck_assert_uint_eq(strlen(json_object_get_string(at(out, "/ID"))), 36);
	assert_json(out, "/Type", "[\"Availability\"]");
	ck_assert_ptr_nonnull(at(out, "/Analyzer/IP"));
	analyzer = at(out, "/Analyzer");
	ck_assert_int_eq(json_object_deep_copy(analyzer, &copy, NULL), 0);
	json_object_object_del(copy, "IP");
	/* Both modes (polling and push) are "Monitor", as the reference maps its mode names. */
	want = json_tokener_parse("{\"Name\":\"zabbix\",\"Model\":\"Zabbix Monitoring\","
	                          "\"Category\":[\"SIEM.NMS\"],\"Data\":[\"Data\"],\"Method\":[\"Monitor\"]}");
	ck_assert_msg(json_object_equal(copy, want), "Analyzer is %s",
	              json_object_to_json_string_ext(analyzer, JSON_C_TO_STRING_PLAIN));
	json_object_put(want);
	json_object_put(copy);
	ck_assert_uint_eq(json_object_array_length(at(out, "/Source")), 1);
	ck_assert_uint_eq(json_object_array_length(at(out, "/Target")), 1);
	ck_assert(idmefv2_uuid_is_valid(json_object_get_string(at(out, "/Source/0/ID"))));
	ck_assert(idmefv2_uuid_is_valid(json_object_get_string(at(out, "/Target/0/ID"))));
}

static struct json_object *sample_problem(void)
{
	return load_json(SAMPLE);
}

/* Sets @p key to @p value (ownership taken), or removes it when @p value is NULL. */
static void set_member(struct json_object *a, const char *key, struct json_object *value)
{
	if (value)
		json_object_object_add(a, key, value);
	else
		json_object_object_del(a, key);
}

/* The reference's test of its sample event, every mapped field. */
START_TEST(test_reference_sample)
{
	struct run r;
	struct json_object *p = sample_problem(), *out;

	run_init(&r);
	ck_assert_int_eq(push_json(&r, p), IDMEFV2_PIPELINE_CONVERTED);
	out = last_output(&r);
	assert_constant_part(out);
	assert_str(out, "/CreateTime", "1970-01-01T00:00:00.000000Z");
	assert_str(out, "/Priority", "High");
	assert_json(out, "/Category", "[\"Availability.Outage\"]");
	assert_str(out, "/Description", "my-host unreachable");
	assert_str(out, "/Source/0/Hostname", "my-host");
	assert_str(out, "/Source/0/IP", "10.0.0.1");
	assert_json(out, "/Source/0/Port", "[10050]");
	assert_str(out, "/Target/0/Hostname", "zbx-server");
	assert_str(out, "/Target/0/IP", "127.0.0.1");
	assert_json(out, "/Target/0/Port", "[9090]");
	check_counters(&r, 1, 0, 0, 1);
	json_object_put(p);
	run_free(&r);
}
END_TEST

/* Every Zabbix severity; 5 (disaster) is High where the reference wrote the invalid "Critical". */
START_TEST(test_severity_table)
{
	static const char *const cases[][2] = {
		{ "\"0\"", "Unknown" }, { "\"1\"", "Info" },     { "\"2\"", "Low" },
		{ "\"3\"", "Medium" },  { "\"4\"", "High" },     { "\"5\"", "High" },
		{ "5", "High" },        { "3", "Medium" },       { "\"6\"", "Unknown" },
		{ "\"-1\"", "Unknown" }, { "\"high\"", "Unknown" }, { "\"\"", "Unknown" },
	};
	struct run r;
	struct json_object *p = sample_problem();
	size_t n = sizeof(cases) / sizeof(cases[0]);

	run_init(&r);
	for (size_t i = 0; i < n; i++) {
		set_member(p, "severity", json_tokener_parse(cases[i][0]));
		ck_assert_int_eq(push_json(&r, p), IDMEFV2_PIPELINE_CONVERTED);
		ck_assert_msg(strcmp(json_object_get_string(at(last_output(&r), "/Priority")), cases[i][1]) == 0,
		              "severity %s gave %s", cases[i][0],
		              json_object_get_string(at(last_output(&r), "/Priority")));
	}
	check_counters(&r, n, 0, 0, n);
	json_object_put(p);
	run_free(&r);
}
END_TEST

/* The category keywords, in order, case-insensitive (the reference's down/CPU/other tests and more). */
START_TEST(test_category_table)
{
	static const char *const cases[][2] = {
		{ "my-host unreachable", "Availability.Outage" },
		{ "Zabbix agent is DOWN", "Availability.Outage" },
		{ "High CPU utilization", "Availability.Failure" },
		{ "Load average is too high", "Availability.Failure" },
		{ "CPU down-clocked", "Availability.Outage" },
		{ "Disk space is low", "Other.Uncategorised" },
		{ "", "Other.Uncategorised" },
	};
	struct run r;
	struct json_object *p = sample_problem(), *out;
	char want[64];

	run_init(&r);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		set_member(p, "name", json_object_new_string(cases[i][0]));
		ck_assert_int_eq(push_json(&r, p), IDMEFV2_PIPELINE_CONVERTED);
		out = last_output(&r);
		snprintf(want, sizeof(want), "[\"%s\"]", cases[i][1]);
		assert_json(out, "/Category", want);
		assert_str(out, "/Description", cases[i][0]);
	}
	set_member(p, "name", NULL);
	ck_assert_int_eq(push_json(&r, p), IDMEFV2_PIPELINE_CONVERTED);
	out = last_output(&r);
	assert_json(out, "/Category", "[\"Other.Uncategorised\"]");
	assert_absent(out, "/Description");
	check_counters(&r, 8, 0, 0, 8);
	json_object_put(p);
	run_free(&r);
}
END_TEST

/* The reference's filter: a problem without clock or without severity is not converted. */
START_TEST(test_filter)
{
	struct run r;
	struct json_object *p = sample_problem();

	run_init(&r);
	set_member(p, "clock", NULL);
	ck_assert_int_eq(push_json(&r, p), IDMEFV2_PIPELINE_FILTERED);
	set_member(p, "clock", json_object_new_string("0"));
	set_member(p, "severity", NULL);
	ck_assert_int_eq(push_json(&r, p), IDMEFV2_PIPELINE_FILTERED);
	set_member(p, "clock", NULL);
	ck_assert_int_eq(push_json(&r, p), IDMEFV2_PIPELINE_FILTERED);
	/* A null member counts as absent. */
	set_member(p, "clock", json_object_new_string("0"));
	set_member(p, "severity", json_tokener_parse("null"));
	ck_assert_int_eq(push_json(&r, p), IDMEFV2_PIPELINE_FILTERED);
	set_member(p, "severity", json_object_new_string("2"));
	ck_assert_int_eq(push_json(&r, p), IDMEFV2_PIPELINE_CONVERTED);
	assert_str(last_output(&r), "/Priority", "Low");
	check_counters(&r, 5, 0, 4, 1);
	json_object_put(p);
	run_free(&r);
}
END_TEST

/* clock: epoch seconds as a string (Zabbix) or a number; unreadable is the current time. */
START_TEST(test_clock)
{
	static const char *const cases[][2] = {
		{ "\"1700000000\"", "2023-11-14T22:13:20.000000Z" },
		{ "1700000000", "2023-11-14T22:13:20.000000Z" },
		{ "\"1\"", "1970-01-01T00:00:01.000000Z" },
	};
	struct run r;
	struct json_object *p = sample_problem();

	run_init(&r);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		set_member(p, "clock", json_tokener_parse(cases[i][0]));
		ck_assert_int_eq(push_json(&r, p), IDMEFV2_PIPELINE_CONVERTED);
		assert_str(last_output(&r), "/CreateTime", cases[i][1]);
	}
	set_member(p, "clock", json_object_new_string("tomorrow"));
	ck_assert_int_eq(push_json(&r, p), IDMEFV2_PIPELINE_CONVERTED);
	assert_recent(last_output(&r), "/CreateTime");
	check_counters(&r, 4, 0, 0, 4);
	json_object_put(p);
	run_free(&r);
}
END_TEST

/* Without the enrichment members the message is thinner but still valid. */
START_TEST(test_missing_optional)
{
	struct run r;
	struct json_object *p = sample_problem(), *out;

	run_init(&r);
	/* Ports given as strings become integers. */
	json_object_object_add(at(p, "/extra"), "port", json_object_new_string("10051"));
	ck_assert_int_eq(push_json(&r, p), IDMEFV2_PIPELINE_CONVERTED);
	assert_json(last_output(&r), "/Source/0/Port", "[10051]");
	/* A port that is no number is left out, and with it the list. */
	json_object_object_add(at(p, "/extra"), "port", json_object_new_string("agent"));
	ck_assert_int_eq(push_json(&r, p), IDMEFV2_PIPELINE_CONVERTED);
	assert_absent(last_output(&r), "/Source/0/Port");
	assert_str(last_output(&r), "/Source/0/IP", "10.0.0.1");

	set_member(p, "hosts", json_tokener_parse("[]"));
	set_member(p, "extra", NULL);
	set_member(p, "extra_target", NULL);
	ck_assert_int_eq(push_json(&r, p), IDMEFV2_PIPELINE_CONVERTED);
	out = last_output(&r);
	assert_constant_part(out);
	assert_absent(out, "/Source/0/Hostname");
	assert_absent(out, "/Source/0/IP");
	assert_absent(out, "/Source/0/Port");
	assert_absent(out, "/Target/0/Hostname");
	assert_absent(out, "/Target/0/IP");
	assert_absent(out, "/Target/0/Port");
	assert_str(out, "/Priority", "High");

	/* The bare problem.get fields alone. */
	ck_assert_int_eq(push_text(&r, "{\"eventid\": \"42\", \"clock\": \"0\", \"severity\": \"3\"}"),
	                 IDMEFV2_PIPELINE_CONVERTED);
	out = last_output(&r);
	assert_constant_part(out);
	assert_str(out, "/Priority", "Medium");
	assert_json(out, "/Category", "[\"Other.Uncategorised\"]");
	check_counters(&r, 4, 0, 0, 4);
	json_object_put(p);
	run_free(&r);
}
END_TEST

/* A malformed line is counted and skipped; the next problem still converts. */
START_TEST(test_malformed_then_next)
{
	struct run r;
	char *text = slurp(SAMPLE);

	run_init(&r);
	ck_assert_int_eq(push_text(&r, "{\"clock\": \"0\", \"severity\": "), IDMEFV2_PIPELINE_MALFORMED);
	ck_assert_int_eq(push_text(&r, "\"eventid\""), IDMEFV2_PIPELINE_MALFORMED);
	/* The sample as written: pretty-printed over several lines. */
	ck_assert_int_eq(push_text(&r, text), IDMEFV2_PIPELINE_CONVERTED);
	assert_str(last_output(&r), "/Source/0/Hostname", "my-host");
	check_counters(&r, 3, 2, 0, 1);
	free(text);
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
	tcase_add_test(tc, test_severity_table);
	tcase_add_test(tc, test_category_table);
	tcase_add_test(tc, test_filter);
	tcase_add_test(tc, test_clock);
	tcase_add_test(tc, test_missing_optional);
	tcase_add_test(tc, test_malformed_then_next);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
