/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The built-in Prometheus template: elements of data.alerts from the real
 * samples through a pipeline, every output checked against 2.D.V08 and field
 * by field against docs/connectors/prometheus.md.
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

#define SAMPLES TEST_DATA_DIR "/connectors/prometheus/"
#define SAMPLE_TESTS SAMPLES "alerts-connector-tests.json"
#define SAMPLE_DOCS SAMPLES "prometheus-docs-api-v1-alerts-response.json"
#define TOOL "prometheus"
#define VERSION "2.D.V08"

#include "doc-harness.h"

/* ---- Prometheus ------------------------------------------------------------------------ */

static void assert_constant_part(struct json_object *out)
{
	struct json_object *analyzer, *copy = NULL, *want;

	assert_str(out, "/Version", "2.D.V08");
	ck_assert(idmefv2_uuid_is_valid(json_object_get_string(at(out, "/ID"))));
	assert_json(out, "/Type", "[\"Availability\"]");
	ck_assert_ptr_nonnull(at(out, "/Analyzer/IP"));
	analyzer = at(out, "/Analyzer");
	ck_assert_int_eq(json_object_deep_copy(analyzer, &copy, NULL), 0);
	json_object_object_del(copy, "IP");
	want = json_tokener_parse("{\"Name\":\"prometheus\",\"Model\":\"Prometheus Monitoring\","
	                          "\"Category\":[\"SIEM.NMS\"],\"Data\":[\"Data\"],"
	                          "\"Method\":[\"Monitor\",\"Threshold\"]}");
	ck_assert_msg(json_object_equal(copy, want), "Analyzer is %s",
	              json_object_to_json_string_ext(analyzer, JSON_C_TO_STRING_PLAIN));
	json_object_put(want);
	json_object_put(copy);
	ck_assert_uint_eq(json_object_array_length(at(out, "/Source")), 1);
	ck_assert(idmefv2_uuid_is_valid(json_object_get_string(at(out, "/Source/0/ID"))));
	ck_assert_str_ne(json_object_get_string(at(out, "/Source/0/ID")), json_object_get_string(at(out, "/ID")));
}

/* Element @p i of the connector tests' sample array, a new reference. */
static struct json_object *sample_alert(size_t i)
{
	struct json_object *all = load_json(SAMPLE_TESTS), *a = NULL;

	ck_assert_int_eq(json_object_deep_copy(json_object_array_get_idx(all, i), &a, NULL), 0);
	json_object_put(all);
	return a;
}

/* Sets (or with NULL removes) labels.NAME. */
static void set_label(struct json_object *alert, const char *name, const char *value)
{
	struct json_object *labels = at(alert, "/labels");

	if (value)
		json_object_object_add(labels, name, json_object_new_string(value));
	else
		json_object_object_del(labels, name);
}

/* The reference's tests: the firing InstanceDown alert and the IPv6 one. */
START_TEST(test_reference_samples)
{
	struct run r;
	struct json_object *all = load_json(SAMPLE_TESTS), *out;

	run_init(&r);
	ck_assert_uint_eq(json_object_array_length(all), 2);
	ck_assert_int_eq(push_json(&r, json_object_array_get_idx(all, 0)), IDMEFV2_PIPELINE_CONVERTED);
	out = last_output(&r);
	assert_constant_part(out);
	/* Seven fraction digits and an offset: truncated to microseconds, offset kept. */
	assert_str(out, "/CreateTime", "2018-07-04T20:27:12.606021+02:00");
	assert_json(out, "/Category", "[\"Availability.Outage\"]");
	assert_str(out, "/Priority", "High");
	assert_str(out, "/Description", "InstanceDown");
	assert_str(out, "/Source/0/Hostname", "node-1");

	ck_assert_int_eq(push_json(&r, json_object_array_get_idx(all, 1)), IDMEFV2_PIPELINE_CONVERTED);
	out = last_output(&r);
	assert_constant_part(out);
	assert_str(out, "/CreateTime", "2026-02-02T12:40:01.000000Z");
	assert_json(out, "/Category", "[\"Other.Uncategorised\"]");
	assert_str(out, "/Priority", "Medium");
	assert_str(out, "/Description", "SomethingElse");
	assert_str(out, "/Source/0/Hostname", "2001:db8::1");
	check_counters(&r, 2, 0, 0, 2);
	json_object_put(all);
	run_free(&r);
}
END_TEST

/*
 * Deviation: the alert of Prometheus' own API documentation has neither a
 * severity nor an instance label; it converts with Unknown and "unknown".
 */
START_TEST(test_docs_alert_without_severity_and_instance)
{
	struct run r;
	struct json_object *resp = load_json(SAMPLE_DOCS), *out;

	run_init(&r);
	assert_str(resp, "/status", "success");
	ck_assert_uint_eq(json_object_array_length(at(resp, "/data/alerts")), 1);
	ck_assert_int_eq(push_json(&r, at(resp, "/data/alerts/0")), IDMEFV2_PIPELINE_CONVERTED);
	out = last_output(&r);
	assert_constant_part(out);
	assert_str(out, "/CreateTime", "2018-07-04T20:27:12.606021+02:00");
	assert_str(out, "/Priority", "Unknown");
	assert_str(out, "/Source/0/Hostname", "unknown");
	assert_str(out, "/Description", "my-alert");
	assert_json(out, "/Category", "[\"Other.Uncategorised\"]");
	check_counters(&r, 1, 0, 0, 1);
	json_object_put(resp);
	run_free(&r);
}
END_TEST

/* Only firing alerts convert (any case); pending, inactive, resolved and state-less ones are filtered. */
START_TEST(test_filter_state)
{
	static const struct {
		const char *state;
		idmefv2_pipeline_result want;
	} cases[] = {
		{ "firing", IDMEFV2_PIPELINE_CONVERTED },  { "FIRING", IDMEFV2_PIPELINE_CONVERTED },
		{ "Firing", IDMEFV2_PIPELINE_CONVERTED },  { "resolved", IDMEFV2_PIPELINE_FILTERED },
		{ "pending", IDMEFV2_PIPELINE_FILTERED },  { "inactive", IDMEFV2_PIPELINE_FILTERED },
		{ "", IDMEFV2_PIPELINE_FILTERED },         { "firing ", IDMEFV2_PIPELINE_FILTERED },
		{ NULL, IDMEFV2_PIPELINE_FILTERED },
	};
	struct run r;
	struct json_object *a = sample_alert(0);

	run_init(&r);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].state)
			json_object_object_add(a, "state", json_object_new_string(cases[i].state));
		else
			json_object_object_del(a, "state");
		ck_assert_msg(push_json(&r, a) == cases[i].want, "state \"%s\"",
		              cases[i].state ? cases[i].state : "(none)");
	}
	check_counters(&r, 9, 0, 6, 3);
	json_object_put(a);
	run_free(&r);
}
END_TEST

/* Every row of the severity table, case-insensitive, and the Unknown fallback. */
START_TEST(test_severity_table)
{
	static const char *const cases[][2] = {
		{ "critical", "High" },  { "CRITICAL", "High" },    { "high", "High" },
		{ "warning", "Medium" }, { "Warning", "Medium" },   { "medium", "Medium" },
		{ "low", "Low" },        { "info", "Info" },        { "information", "Info" },
		{ "none", "Unknown" },   { "page", "Unknown" },     { "", "Unknown" },
		{ NULL, "Unknown" },
	};
	struct run r;
	struct json_object *a = sample_alert(0);

	run_init(&r);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		set_label(a, "severity", cases[i][0]);
		ck_assert_int_eq(push_json(&r, a), IDMEFV2_PIPELINE_CONVERTED);
		ck_assert_msg(strcmp(json_object_get_string(at(last_output(&r), "/Priority")), cases[i][1]) == 0,
		              "severity \"%s\" gave %s", cases[i][0] ? cases[i][0] : "(none)",
		              json_object_get_string(at(last_output(&r), "/Priority")));
	}
	check_counters(&r, 13, 0, 0, 13);
	json_object_put(a);
	run_free(&r);
}
END_TEST

/* Every rule of the category table, in order (the first matching rule wins). */
START_TEST(test_category_table)
{
	static const char *const cases[][2] = {
		{ "InstanceDown", "Availability.Outage" },
		{ "TargetUnreachable", "Availability.Outage" },
		{ "HighCpuButDown", "Availability.Outage" },
		{ "HighCPUUsage", "Availability.Failure" },
		{ "NodeHighMemory", "Availability.Failure" },
		{ "CpuThrottling", "Other.Uncategorised" },
		{ "HighLoad", "Other.Uncategorised" },
		{ "DiskFull", "Availability.Failure" },
		{ "StorageAlmostFull", "Availability.Failure" },
		{ "ApiLatency", "Availability.Failure" },
		{ "SlowQueries", "Availability.Failure" },
		{ "Watchdog", "Other.Uncategorised" },
		{ NULL, "Other.Uncategorised" },
	};
	struct run r;
	struct json_object *a = sample_alert(0);

	run_init(&r);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct json_object *out;
		char want[64];

		set_label(a, "alertname", cases[i][0]);
		ck_assert_int_eq(push_json(&r, a), IDMEFV2_PIPELINE_CONVERTED);
		out = last_output(&r);
		snprintf(want, sizeof(want), "[\"%s\"]", cases[i][1]);
		assert_json(out, "/Category", want);
		if (cases[i][0])
			assert_str(out, "/Description", cases[i][0]);
		else
			assert_absent(out, "/Description");
	}
	check_counters(&r, 13, 0, 0, 13);
	json_object_put(a);
	run_free(&r);
}
END_TEST

/* The instance label without its port; an empty or absent one gives "unknown". */
START_TEST(test_instance_hostname)
{
	static const char *const cases[][2] = {
		{ "node-1:9100", "node-1" },
		{ "10.1.2.3:9100", "10.1.2.3" },
		{ "[2001:db8::1]:9090", "2001:db8::1" },
		{ "[::1]:9090", "::1" },
		{ "2001:db8::1", "2001:db8::1" },
		{ "localhost", "localhost" },
		{ "", "unknown" },
		{ NULL, "unknown" },
	};
	struct run r;
	struct json_object *a = sample_alert(0);

	run_init(&r);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		set_label(a, "instance", cases[i][0]);
		ck_assert_int_eq(push_json(&r, a), IDMEFV2_PIPELINE_CONVERTED);
		assert_str(last_output(&r), "/Source/0/Hostname", cases[i][1]);
	}
	check_counters(&r, 8, 0, 0, 8);
	json_object_put(a);
	run_free(&r);
}
END_TEST

/* activeAt forms; an unreadable or absent one falls back to the current time. */
START_TEST(test_active_at)
{
	static const char *const cases[][2] = {
		{ "2026-02-02T12:40:01Z", "2026-02-02T12:40:01.000000Z" },
		{ "2026-02-02T12:40:01.123456789Z", "2026-02-02T12:40:01.123456Z" },
		{ "2026-02-02T12:40:01.5-05:30", "2026-02-02T12:40:01.500000-05:30" },
		/* No offset: taken as UTC. */
		{ "2026-02-02T12:40:01", "2026-02-02T12:40:01.000000Z" },
	};
	struct run r;
	struct json_object *a = sample_alert(0);

	run_init(&r);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_object_object_add(a, "activeAt", json_object_new_string(cases[i][0]));
		ck_assert_int_eq(push_json(&r, a), IDMEFV2_PIPELINE_CONVERTED);
		assert_str(last_output(&r), "/CreateTime", cases[i][1]);
	}
	json_object_object_add(a, "activeAt", json_object_new_string("yesterday"));
	ck_assert_int_eq(push_json(&r, a), IDMEFV2_PIPELINE_CONVERTED);
	assert_recent(last_output(&r), "/CreateTime");
	json_object_object_add(a, "activeAt", json_object_new_string("0001-01-01T00:00:00Z"));
	ck_assert_int_eq(push_json(&r, a), IDMEFV2_PIPELINE_CONVERTED);
	assert_str(last_output(&r), "/CreateTime", "0001-01-01T00:00:00.000000Z");
	json_object_object_del(a, "activeAt");
	ck_assert_int_eq(push_json(&r, a), IDMEFV2_PIPELINE_CONVERTED);
	assert_recent(last_output(&r), "/CreateTime");
	check_counters(&r, 7, 0, 0, 7);
	json_object_put(a);
	run_free(&r);
}
END_TEST

/* A malformed line is counted and skipped; the next alert still converts. */
START_TEST(test_malformed_then_next)
{
	struct run r;
	struct json_object *a = sample_alert(0);

	run_init(&r);
	ck_assert_int_eq(push_text(&r, "{\"state\": \"firing\", \"labels\": {"), IDMEFV2_PIPELINE_MALFORMED);
	/* A whole data.alerts list is not one alert: the poller hands over its elements. */
	ck_assert_int_eq(push_text(&r, "[{\"state\": \"firing\"}]"), IDMEFV2_PIPELINE_MALFORMED);
	ck_assert_int_eq(push_json(&r, a), IDMEFV2_PIPELINE_CONVERTED);
	assert_str(last_output(&r), "/Source/0/Hostname", "node-1");
	check_counters(&r, 3, 2, 0, 1);
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

	tcase_add_test(tc, test_reference_samples);
	tcase_add_test(tc, test_docs_alert_without_severity_and_instance);
	tcase_add_test(tc, test_filter_state);
	tcase_add_test(tc, test_severity_table);
	tcase_add_test(tc, test_category_table);
	tcase_add_test(tc, test_instance_hostname);
	tcase_add_test(tc, test_active_at);
	tcase_add_test(tc, test_malformed_then_next);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
