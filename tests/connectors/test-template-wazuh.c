/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The built-in Wazuh template against real alerts.json samples: every output
 * valid against 2.D.V08, every mapped field, the reference connector's own
 * test assertions, the syscheck filter, every rule level, and alerts without
 * agent.ip (the manager's own) or other optional members.
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

#define TOOL "wazuh"
#define DATA TEST_DATA_DIR "/connectors/" TOOL "/"

#include "line-harness.h"

/* ---- tests --------------------------------------------------------------------------------- */

/* The address local_ip() gives, through the engine itself. */
static char *local_ip(void)
{
	struct json_object *tmpl = json_tokener_parse("{\"ip\": {\"$fn\": \"local_ip\"}}");
	struct json_object *in = json_object_new_object(), *out = NULL;
	idmefv2_mapping *m = NULL;
	char err[256] = "", *ip;

	ck_assert_int_eq(idmefv2_mapping_compile_json("local", tmpl, &m, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_mapping_apply(m, in, &out, err, sizeof(err)), IDMEFV2_OK);
	ip = strdup(json_object_get_string(at(out, "/ip")));
	json_object_put(out);
	json_object_put(in);
	json_object_put(tmpl);
	idmefv2_mapping_free(m);
	return ip;
}

static void assert_constant(struct json_object *o)
{
	assert_str(o, "/Version", "2.D.V08");
	assert_uuid(o, "/ID");
	assert_len(o, "/Type", 1);
	assert_str(o, "/Type/0", "Cyber");
	assert_absent(o, "/Analyzer/Type");
	assert_len(o, "/Category", 1);
	assert_str(o, "/Category/0", "Sabotage.Data");
	assert_str(o, "/Analyzer/Model", "Wazuh");
	assert_len(o, "/Analyzer/Category", 1);
	assert_str(o, "/Analyzer/Category/0", "END.HIDS");
	assert_len(o, "/Analyzer/Data", 1);
	assert_str(o, "/Analyzer/Data/0", "File");
	assert_len(o, "/Analyzer/Method", 1);
	assert_str(o, "/Analyzer/Method/0", "Integrity");
	assert_len(o, "/Attachment", 1);
	assert_str(o, "/Attachment/0/Name", "syscheck");
}

/* wazuhconverter_test.py: alerts 1-3 (no syscheck) filtered; 4 Low, Size 29; 5 Medium, sha-1; 6 Medium, Size 58. */
START_TEST(test_connector_samples)
{
	struct run r;
	struct json_object *o;

	run_open(&r);
	ck_assert_uint_eq(push_file(&r, DATA "alerts-connector-tests.jsonl"), 6);
	assert_counters(&r, 6, 3, 3, 0, 0);
	assert_all_valid(&r);

	o = json_object_array_get_idx(r.outputs, 0);
	assert_constant(o);
	assert_str(o, "/Priority", "Low");
	assert_int(o, "/Attachment/0/Size", 29);
	/* Reference: "2025-04-16T09:03:38.791000+00:00"; the engine writes UTC as "Z". */
	assert_str(o, "/CreateTime", "2025-04-16T09:03:38.791000Z");
	assert_str(o, "/Description", "File added to the system.");
	assert_str(o, "/Analyzer/IP", "172.18.0.2");
	assert_str(o, "/Analyzer/Name", "5e78ebb8ad04");
	assert_str(o, "/Attachment/0/FileName", "/test/test1.txt");
	assert_len(o, "/Attachment/0/Hash", 2);
	assert_str(o, "/Attachment/0/Hash/0", "sha-1:c6ad41de8c6b30de49eb8bd196aebd078d2e3505");
	assert_str(o, "/Attachment/0/Hash/1",
	           "sha-256:b1c2751ab1b0d9f67cd2c629aa87cde994ce0579c104fdf258865e31af0aaf60");

	o = json_object_array_get_idx(r.outputs, 1);
	assert_constant(o);
	assert_str(o, "/Priority", "Medium");
	assert_str(o, "/Attachment/0/Hash/0", "sha-1:c6ad41de8c6b30de49eb8bd196aebd078d2e3505");
	assert_str(o, "/CreateTime", "2025-04-16T09:03:50.949000Z");
	assert_str(o, "/Description", "Integrity checksum changed.");
	assert_int(o, "/Attachment/0/Size", 29);

	o = json_object_array_get_idx(r.outputs, 2);
	assert_constant(o);
	assert_str(o, "/Priority", "Medium");
	assert_int(o, "/Attachment/0/Size", 58);
	assert_str(o, "/Attachment/0/Hash/0", "sha-1:1309c4731b430cbab6c0bcf52f1869bec42993ce");
	assert_str(o, "/Attachment/0/Hash/1",
	           "sha-256:95b1ec6786f7f090b1a1c5bf2afb45f37540e6b7108f57c80c84af33c66fe8b1");
	assert_str(o, "/CreateTime", "2025-04-16T09:04:00.015000Z");
	ck_assert_str_ne(json_object_get_string(at(o, "/ID")),
	                 json_object_get_string(at(json_object_array_get_idx(r.outputs, 1), "/ID")));
	run_close(&r);
}
END_TEST

/* The who-data FIM alert of the Wazuh documentation (pretty-printed there; one object). */
START_TEST(test_documentation_whodata_alert)
{
	struct run r;
	struct json_object *o;
	FILE *f = fopen(DATA "alert-wazuh-docs-whodata-linux.json", "re");
	char buf[8192];
	size_t len;

	ck_assert_ptr_nonnull(f);
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	run_open(&r);
	ck_assert_int_eq(idmefv2_pipeline_push_line(r.p, buf, len, "whodata", 1, NULL), IDMEFV2_OK);
	assert_counters(&r, 1, 1, 0, 0, 0);
	assert_all_valid(&r);
	o = json_object_array_get_idx(r.outputs, 0);
	assert_constant(o);
	assert_str(o, "/CreateTime", "2018-07-10T14:05:28.452000-08:00");
	assert_str(o, "/Priority", "Medium");
	assert_str(o, "/Description", "Integrity checksum changed.");
	assert_str(o, "/Analyzer/IP", "10.0.0.121");
	assert_str(o, "/Analyzer/Name", "vpc-agent-debian");
	assert_str(o, "/Attachment/0/FileName", "/etc/hosts.allow");
	assert_int(o, "/Attachment/0/Size", 433);
	assert_str(o, "/Attachment/0/Hash/0", "sha-1:b87a0e558ca67073573861b26e3265fa0ab35d20");
	assert_str(o, "/Attachment/0/Hash/1",
	           "sha-256:bfa1c0ec3ebfaac71378cb62101135577521eb200c64d6ee8650efe75160978c");
	run_close(&r);
}
END_TEST

START_TEST(test_malformed_line_then_next)
{
	struct run r;
	struct json_object *base = read_line(DATA "alerts-connector-tests.jsonl", 3);

	run_open(&r);
	ck_assert_int_eq(push_text(&r, "{\"timestamp\": \"2025-04-16T09:03:38.791+0000\", \"rule\": {"),
	                 IDMEFV2_PIPELINE_MALFORMED);
	ck_assert_int_eq(push_text(&r, ""), IDMEFV2_PIPELINE_MALFORMED);
	ck_assert_int_eq(push_text(&r, json_object_to_json_string_ext(base, JSON_C_TO_STRING_PLAIN)),
	                 IDMEFV2_PIPELINE_CONVERTED);
	assert_counters(&r, 3, 1, 0, 2, 0);
	assert_all_valid(&r);
	assert_int(json_object_array_get_idx(r.outputs, 0), "/Attachment/0/Size", 29);
	json_object_put(base);
	run_close(&r);
}
END_TEST

START_TEST(test_filter)
{
	struct run r;
	struct json_object *base = read_line(DATA "alerts-connector-tests.jsonl", 3), *o;
	struct json_object *null_syscheck = edit(base, "/syscheck", NULL);

	json_object_object_add(null_syscheck, "syscheck", NULL);
	run_open(&r);
	ck_assert_int_eq(push(&r, edit(base, "/syscheck", NULL)), IDMEFV2_PIPELINE_FILTERED);
	ck_assert_int_eq(push(&r, null_syscheck), IDMEFV2_PIPELINE_FILTERED);
	/* The reference tests presence only: an empty syscheck object converts. */
	o = convert(&r, edit(base, "/syscheck", json_object_new_object()));
	assert_str(o, "/Attachment/0/Name", "syscheck");
	assert_absent(o, "/Attachment/0/FileName");
	assert_absent(o, "/Attachment/0/Hash");
	assert_absent(o, "/Attachment/0/Size");
	assert_counters(&r, 3, 1, 2, 0, 0);
	assert_all_valid(&r);
	json_object_put(base);
	run_close(&r);
}
END_TEST

/* Wazuh levels 0..16 (and beyond); the reference failed on 1 and 16. */
START_TEST(test_level_boundaries)
{
	static const struct {
		const char *json;
		const char *want;
	} cases[] = {
		{ "-1", "Unknown" }, { "0", "Unknown" }, { "1", "Info" },   { "2", "Info" },
		{ "3", "Info" },     { "4", "Low" },     { "5", "Low" },    { "6", "Low" },
		{ "7", "Medium" },   { "8", "Medium" },  { "9", "Medium" }, { "10", "Medium" },
		{ "11", "High" },    { "12", "High" },   { "15", "High" },  { "16", "High" },
		{ "17", "High" },    { "\"7\"", "Medium" }, { "\"x\"", "Unknown" }, { "null", "Unknown" },
		{ NULL, "Unknown" },
	};
	struct run r;
	struct json_object *base = read_line(DATA "alerts-connector-tests.jsonl", 3);
	size_t n = sizeof(cases) / sizeof(cases[0]);

	run_open(&r);
	for (size_t i = 0; i < n; i++) {
		struct json_object *in = edit(base, "/rule/level", NULL), *o;

		if (cases[i].json)
			json_object_object_add(at(in, "/rule"), "level", json_tokener_parse(cases[i].json));
		o = convert(&r, in);
		ck_assert_msg(strcmp(json_object_get_string(at(o, "/Priority")), cases[i].want) == 0,
		              "level %s: %s, want %s", cases[i].json ? cases[i].json : "(absent)",
		              json_object_get_string(at(o, "/Priority")), cases[i].want);
	}
	assert_counters(&r, n, n, 0, 0, 0);
	assert_all_valid(&r);
	json_object_put(base);
	run_close(&r);
}
END_TEST

/* Alerts of the manager itself (agent 000) carry no agent.ip: this host's address. */
START_TEST(test_agent_without_ip)
{
	struct run r;
	struct json_object *base = read_line(DATA "alerts-connector-tests.jsonl", 4), *tmp, *o;
	char *ip = local_ip();

	run_open(&r);
	tmp = edit(base, "/agent/ip", NULL);
	json_object_object_add(at(tmp, "/agent"), "id", json_object_new_string("000"));
	json_object_object_add(at(tmp, "/agent"), "name", json_object_new_string("wazuh.manager"));
	o = convert(&r, tmp);
	assert_str(o, "/Analyzer/IP", ip);
	assert_str(o, "/Analyzer/Name", "wazuh.manager");
	assert_str(o, "/Priority", "Medium");

	/* No agent name: the manager's, else "wazuh" (Analyzer.Name is required). */
	o = convert(&r, edit(base, "/agent/name", NULL));
	assert_str(o, "/Analyzer/Name", "wazuh.manager");
	assert_str(o, "/Analyzer/IP", "172.18.0.2");
	tmp = edit(base, "/agent", NULL);
	o = convert(&r, edit(tmp, "/manager", NULL));
	json_object_put(tmp);
	assert_str(o, "/Analyzer/Name", "wazuh");
	assert_str(o, "/Analyzer/IP", ip);
	assert_counters(&r, 3, 3, 0, 0, 0);
	assert_all_valid(&r);
	free(ip);
	json_object_put(base);
	run_close(&r);
}
END_TEST

START_TEST(test_missing_optional_fields)
{
	struct run r;
	struct json_object *base = read_line(DATA "alerts-connector-tests.jsonl", 5), *tmp, *o;

	run_open(&r);
	/* A deleted file may have no hashes: no Hash member rather than an empty one. */
	tmp = edit(base, "/syscheck/sha1_after", NULL);
	o = convert(&r, edit(tmp, "/syscheck/sha256_after", NULL));
	json_object_put(tmp);
	assert_absent(o, "/Attachment/0/Hash");
	assert_int(o, "/Attachment/0/Size", 58);

	o = convert(&r, edit(base, "/syscheck/sha1_after", NULL));
	assert_len(o, "/Attachment/0/Hash", 1);
	assert_str(o, "/Attachment/0/Hash/0",
	           "sha-256:95b1ec6786f7f090b1a1c5bf2afb45f37540e6b7108f57c80c84af33c66fe8b1");
	o = convert(&r, edit(base, "/syscheck/sha256_after", NULL));
	assert_len(o, "/Attachment/0/Hash", 1);
	assert_str(o, "/Attachment/0/Hash/0", "sha-1:1309c4731b430cbab6c0bcf52f1869bec42993ce");

	o = convert(&r, edit(base, "/syscheck/size_after", NULL));
	assert_absent(o, "/Attachment/0/Size");
	o = convert(&r, edit(base, "/syscheck/size_after", json_object_new_string("n/a")));
	assert_absent(o, "/Attachment/0/Size");
	o = convert(&r, edit(base, "/syscheck/size_after", json_object_new_int(4096)));
	assert_int(o, "/Attachment/0/Size", 4096);
	o = convert(&r, edit(base, "/syscheck/path", NULL));
	assert_absent(o, "/Attachment/0/FileName");
	o = convert(&r, edit(base, "/rule/description", NULL));
	assert_absent(o, "/Description");
	o = convert(&r, edit(base, "/timestamp", NULL));
	ck_assert_ptr_nonnull(at(o, "/CreateTime"));
	/* No offset: taken as UTC. */
	o = convert(&r, edit(base, "/timestamp", json_object_new_string("2025-04-16T09:04:00.015")));
	assert_str(o, "/CreateTime", "2025-04-16T09:04:00.015000Z");
	assert_counters(&r, 10, 10, 0, 0, 0);
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
	tcase_add_test(tc, test_documentation_whodata_alert);
	tcase_add_test(tc, test_malformed_line_then_next);
	tcase_add_test(tc, test_filter);
	tcase_add_test(tc, test_level_boundaries);
	tcase_add_test(tc, test_agent_without_ip);
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
