/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The built-in ModSecurity template against real libmodsecurity v3 JSON audit
 * lines: every output valid against 2.D.V08, every mapped field, the
 * reference connector's own test assertions (in their corrected form where
 * the mapping deviates), the filter, and every row of the severity and tag
 * tables.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include <json-c/json.h>

#include <idmefv2/mapping.h>
#include <idmefv2/pipeline.h>
#include <idmefv2/schema.h>
#include <idmefv2/util.h>

#define TOOL "modsecurity"
#define DATA TEST_DATA_DIR "/connectors/" TOOL "/"

#include "line-harness.h"

/* ---- tests --------------------------------------------------------------------------------- */

static void assert_constant(struct json_object *o)
{
	struct json_object *ip = at(o, "/Analyzer/IP");

	ck_assert_ptr_nonnull(ip);
	ck_assert_int_ne(idmefv2_ip_classify(json_object_get_string(ip)), IDMEFV2_IP_NONE);
	assert_str(o, "/Version", "2.D.V08");
	assert_uuid(o, "/ID");
	assert_uuid(o, "/Source/0/ID");
	assert_uuid(o, "/Target/0/ID");
	assert_len(o, "/Type", 1);
	assert_str(o, "/Type/0", "Cyber");
	assert_absent(o, "/Analyzer/Type");
	assert_str(o, "/Analyzer/Name", "modsecurity");
	assert_str(o, "/Analyzer/Model", "ModSecurity WAF");
	assert_len(o, "/Analyzer/Category", 1);
	assert_str(o, "/Analyzer/Category/0", "NET.WAF");
	assert_len(o, "/Analyzer/Data", 1);
	assert_str(o, "/Analyzer/Data/0", "Content");
	assert_len(o, "/Analyzer/Method", 1);
	assert_str(o, "/Analyzer/Method/0", "Signature");
	assert_len(o, "/Category", 1);
	assert_absent(o, "/Target/0/URL");
}

/*
 * modsecurityconverter_test.py: SAMPLE_EVENT (High, Attempt.Exploit, URL /login),
 * an event without messages (not converted), severity BOGUS without tags (Unknown,
 * Other.Uncategorised).
 */
START_TEST(test_connector_samples)
{
	struct run r;
	struct json_object *o;

	run_open(&r);
	ck_assert_uint_eq(push_file(&r, DATA "modsec_audit-connector-test.jsonl"), 3);
	assert_counters(&r, 3, 2, 1, 0, 0);
	assert_all_valid(&r);

	o = json_object_array_get_idx(r.outputs, 0);
	assert_constant(o);
	/* Reference: "2026-02-02T12:40:01" (no offset); taken as UTC here. */
	assert_str(o, "/CreateTime", "2026-02-02T12:40:01.000000Z");
	/* Reference: "Attempt.Exploit", not a V08 category. */
	assert_str(o, "/Category/0", "Access.Compromise");
	assert_str(o, "/Priority", "High");
	assert_str(o, "/Description", "SQL injection attempt detected");
	assert_str(o, "/Source/0/IP", "10.0.0.10");
	assert_str(o, "/Target/0/IP", "10.0.0.20");
	/* Reference: Target[0].URL "/login"; V08 has no Target.URL. */
	assert_str(o, "/Target/0/Note", "/login");

	o = json_object_array_get_idx(r.outputs, 1);
	assert_constant(o);
	assert_str(o, "/Priority", "Unknown");
	assert_str(o, "/Category/0", "Other.Uncategorised");
	assert_str(o, "/Description", "Generic warning");
	assert_str(o, "/Source/0/IP", "127.0.0.1");
	assert_str(o, "/Target/0/IP", "127.0.0.1");
	assert_str(o, "/Target/0/Note", "/");
	run_close(&r);
}
END_TEST

/*
 * Real ModSecurity 3.0.4 audit lines: no rule matched (messages []), so
 * nothing to report; with a rule message added they convert from their real
 * transaction fields.
 */
START_TEST(test_real_audit_lines)
{
	struct run r;
	struct json_object *line, *msg, *o;

	run_open(&r);
	ck_assert_uint_eq(push_file(&r, DATA "elastic-integrations-test-audit.log"), 2);
	assert_counters(&r, 2, 0, 2, 0, 0);

	line = read_line(DATA "elastic-integrations-test-audit.log", 0);
	msg = json_tokener_parse("[{\"message\":\"Inbound Anomaly Score Exceeded (Total Score: 5)\","
	                         "\"details\":{\"ruleId\":\"949110\",\"severity\":\"2\","
	                         "\"tags\":[\"application-multi\",\"language-multi\",\"platform-multi\","
	                         "\"attack-generic\"]}}]");
	o = convert(&r, edit(line, "/transaction/messages", msg));
	assert_constant(o);
	assert_str(o, "/CreateTime", "2022-05-10T04:52:04.000000Z");
	assert_str(o, "/Priority", "High");
	assert_str(o, "/Category/0", "Other.Uncategorised");
	assert_str(o, "/Description", "Inbound Anomaly Score Exceeded (Total Score: 5)");
	assert_str(o, "/Source/0/IP", "89.160.20.112");
	assert_str(o, "/Target/0/IP", "10.0.1.175");
	assert_str(o, "/Target/0/Note", "/includes/ajax_newsletter.php");
	assert_counters(&r, 3, 1, 2, 0, 0);
	assert_all_valid(&r);
	json_object_put(line);
	run_close(&r);
}
END_TEST

/* The README's example: top-level "messages" and "transaction.time", which the connector never matched. */
START_TEST(test_readme_example_filtered)
{
	struct run r;

	run_open(&r);
	ck_assert_int_eq(push(&r, read_json(DATA "readme-example-input.json")), IDMEFV2_PIPELINE_FILTERED);
	ck_assert_int_eq(push(&r, json_tokener_parse("{\"messages\":[{\"message\":\"x\"}]}")),
	                 IDMEFV2_PIPELINE_FILTERED);
	ck_assert_int_eq(push(&r, json_tokener_parse("{\"transaction\":{\"messages\":[]}}")),
	                 IDMEFV2_PIPELINE_FILTERED);
	ck_assert_int_eq(push(&r, json_tokener_parse("{\"transaction\":{\"messages\":null}}")),
	                 IDMEFV2_PIPELINE_FILTERED);
	assert_counters(&r, 4, 0, 4, 0, 0);
	run_close(&r);
}
END_TEST

START_TEST(test_malformed_line_then_next)
{
	struct run r;
	struct json_object *base = read_line(DATA "modsec_audit-connector-test.jsonl", 0);

	run_open(&r);
	ck_assert_int_eq(push_text(&r, "{\"transaction\":{\"time_stamp\":\"Mon Feb 02 12:40:01 2026\",\"client_"),
	                 IDMEFV2_PIPELINE_MALFORMED);
	ck_assert_int_eq(push_text(&r, "\"transaction\""), IDMEFV2_PIPELINE_MALFORMED);
	ck_assert_int_eq(push_text(&r, json_object_to_json_string_ext(base, JSON_C_TO_STRING_PLAIN)),
	                 IDMEFV2_PIPELINE_CONVERTED);
	assert_counters(&r, 3, 1, 0, 2, 0);
	assert_all_valid(&r);
	assert_str(json_object_array_get_idx(r.outputs, 0), "/Target/0/Note", "/login");
	json_object_put(base);
	run_close(&r);
}
END_TEST

/* Syslog severities as numbers, digit strings or names (any case). */
START_TEST(test_severity_table)
{
	static const struct {
		const char *json;
		const char *want;
	} cases[] = {
		{ "0", "High" },           { "1", "High" },           { "2", "High" },
		{ "3", "High" },           { "4", "Medium" },         { "5", "Low" },
		{ "6", "Info" },           { "7", "Info" },           { "8", "Unknown" },
		{ "-1", "Unknown" },       { "\"0\"", "High" },       { "\"3\"", "High" },
		{ "\"4\"", "Medium" },     { "\"5\"", "Low" },        { "\"6\"", "Info" },
		{ "\"7\"", "Info" },       { "\"9\"", "Unknown" },    { "\"emergency\"", "High" },
		{ "\"alert\"", "High" },   { "\"critical\"", "High" }, { "\"CRITICAL\"", "High" },
		{ "\"error\"", "High" },   { "\"warning\"", "Medium" }, { "\"Warning\"", "Medium" },
		{ "\"notice\"", "Low" },   { "\"info\"", "Info" },    { "\"debug\"", "Info" },
		{ "\"BOGUS\"", "Unknown" }, { "\"\"", "Unknown" },    { "null", "Unknown" },
		{ NULL, "Unknown" },
	};
	struct run r;
	struct json_object *base = read_line(DATA "modsec_audit-connector-test.jsonl", 0);
	size_t n = sizeof(cases) / sizeof(cases[0]);

	run_open(&r);
	for (size_t i = 0; i < n; i++) {
		struct json_object *in = edit(base, "/transaction/messages/0/details/severity", NULL), *o;

		if (cases[i].json)
			json_object_object_add(at(in, "/transaction/messages/0/details"), "severity",
			                       json_tokener_parse(cases[i].json));
		o = convert(&r, in);
		ck_assert_msg(strcmp(json_object_get_string(at(o, "/Priority")), cases[i].want) == 0,
		              "severity %s: %s, want %s", cases[i].json ? cases[i].json : "(absent)",
		              json_object_get_string(at(o, "/Priority")), cases[i].want);
	}
	/* No details at all. */
	{
		struct json_object *o = convert(&r, edit(base, "/transaction/messages/0/details", NULL));

		assert_str(o, "/Priority", "Unknown");
		assert_str(o, "/Category/0", "Other.Uncategorised");
	}
	assert_counters(&r, n + 1, n + 1, 0, 0, 0);
	assert_all_valid(&r);
	json_object_put(base);
	run_close(&r);
}
END_TEST

/* Any tag of the first message containing one of the keywords, in any case. */
START_TEST(test_tag_table)
{
	static const struct {
		const char *tags;
		const char *want;
	} cases[] = {
		{ "[\"attack-sqli\"]", "Access.Compromise" },
		{ "[\"sql\"]", "Access.Compromise" },
		{ "[\"attack-xss\"]", "Access.Compromise" },
		{ "[\"xss\"]", "Access.Compromise" },
		{ "[\"attack-rce\"]", "Access.Compromise" },
		{ "[\"rce\"]", "Access.Compromise" },
		{ "[\"attack-lfi\"]", "Access.Compromise" },
		{ "[\"attack-rfi\"]", "Access.Compromise" },
		{ "[\"attack-injection-php\"]", "Access.Compromise" },
		{ "[\"attack-protocol\"]", "Access.Compromise" },
		{ "[\"protocol-violation\"]", "Access.Compromise" },
		{ "[\"OWASP_CRS/WEB_ATTACK/SQL_INJECTION\"]", "Access.Compromise" },
		{ "[\"application-multi\", \"language-multi\", \"ATTACK-XSS\"]", "Access.Compromise" },
		{ "[\"application-multi\", \"platform-multi\", \"paranoia-level/1\"]", "Other.Uncategorised" },
		{ "[\"attack-generic\"]", "Other.Uncategorised" },
		{ "[]", "Other.Uncategorised" },
		{ "\"attack-sqli\"", "Access.Compromise" },
		{ "null", "Other.Uncategorised" },
		{ NULL, "Other.Uncategorised" },
	};
	struct run r;
	struct json_object *base = read_line(DATA "modsec_audit-connector-test.jsonl", 0), *o, *second;
	size_t n = sizeof(cases) / sizeof(cases[0]);

	run_open(&r);
	for (size_t i = 0; i < n; i++) {
		struct json_object *in = edit(base, "/transaction/messages/0/details/tags", NULL);

		if (cases[i].tags)
			json_object_object_add(at(in, "/transaction/messages/0/details"), "tags",
			                       json_tokener_parse(cases[i].tags));
		o = convert(&r, in);
		ck_assert_msg(strcmp(json_object_get_string(at(o, "/Category/0")), cases[i].want) == 0,
		              "tags %s: %s, want %s", cases[i].tags ? cases[i].tags : "(absent)",
		              json_object_get_string(at(o, "/Category/0")), cases[i].want);
	}
	/* Only the first message counts, as in the reference. */
	second = edit(base, "/transaction/messages/0/details/tags", json_tokener_parse("[]"));
	json_object_array_add(at(second, "/transaction/messages"),
	                      json_tokener_parse("{\"message\":\"second\",\"details\":{\"severity\":5,"
	                                         "\"tags\":[\"attack-sqli\"]}}"));
	o = convert(&r, second);
	assert_str(o, "/Category/0", "Other.Uncategorised");
	assert_str(o, "/Priority", "High");
	assert_str(o, "/Description", "SQL injection attempt detected");
	assert_counters(&r, n + 1, n + 1, 0, 0, 0);
	assert_all_valid(&r);
	json_object_put(base);
	run_close(&r);
}
END_TEST

START_TEST(test_missing_optional_fields)
{
	struct run r;
	struct json_object *base = read_line(DATA "modsec_audit-connector-test.jsonl", 0), *o;

	run_open(&r);
	/* Absent addresses are left out (the reference wrote "0.0.0.0"). */
	o = convert(&r, edit(base, "/transaction/client_ip", NULL));
	assert_absent(o, "/Source/0/IP");
	assert_uuid(o, "/Source/0/ID");
	assert_str(o, "/Target/0/IP", "10.0.0.20");
	o = convert(&r, edit(base, "/transaction/host_ip", NULL));
	assert_absent(o, "/Target/0/IP");
	assert_str(o, "/Target/0/Note", "/login");
	o = convert(&r, edit(base, "/transaction/request", NULL));
	assert_absent(o, "/Target/0/Note");
	assert_str(o, "/Target/0/IP", "10.0.0.20");
	o = convert(&r, edit(base, "/transaction/messages/0/message", NULL));
	assert_str(o, "/Description", "Unknown");

	/* ctime() pads single-digit days with a space. */
	o = convert(&r, edit(base, "/transaction/time_stamp", json_object_new_string("Mon May  9 09:41:59 2022")));
	assert_str(o, "/CreateTime", "2022-05-09T09:41:59.000000Z");
	/* Unparsable or absent: the time of conversion, as the reference does. */
	o = convert(&r, edit(base, "/transaction/time_stamp", json_object_new_string("2026-02-02 12:40:01")));
	ck_assert_ptr_nonnull(at(o, "/CreateTime"));
	ck_assert_str_ne(json_object_get_string(at(o, "/CreateTime")), "2026-02-02T12:40:01.000000Z");
	o = convert(&r, edit(base, "/transaction/time_stamp", NULL));
	ck_assert_ptr_nonnull(at(o, "/CreateTime"));

	o = convert(&r, json_tokener_parse("{\"transaction\":{\"messages\":[{}]}}"));
	assert_constant(o);
	assert_str(o, "/Description", "Unknown");
	assert_str(o, "/Priority", "Unknown");
	assert_str(o, "/Category/0", "Other.Uncategorised");
	assert_absent(o, "/Source/0/IP");
	assert_absent(o, "/Target/0/IP");
	assert_absent(o, "/Target/0/Note");
	assert_counters(&r, 8, 8, 0, 0, 0);
	assert_all_valid(&r);
	json_object_put(base);
	run_close(&r);
}
END_TEST

static Suite *template_suite(void)
{
	Suite *s = suite_create("template-" TOOL);
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_connector_samples);
	tcase_add_test(tc, test_real_audit_lines);
	tcase_add_test(tc, test_readme_example_filtered);
	tcase_add_test(tc, test_malformed_line_then_next);
	tcase_add_test(tc, test_severity_table);
	tcase_add_test(tc, test_tag_table);
	tcase_add_test(tc, test_missing_optional_fields);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(template_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
