/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The built-in Suricata template against real EVE samples: every output valid
 * against 2.D.V08, every mapped field, the reference connector's own test
 * assertions (in their corrected form where the mapping deviates), the
 * filter, and every row and boundary of the severity and classification
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

#define TOOL "suricata"
#define DATA TEST_DATA_DIR "/connectors/" TOOL "/"

#include "line-harness.h"

/* ---- tests --------------------------------------------------------------------------------- */

static void assert_analyzer(struct json_object *o)
{
	struct json_object *ip = at(o, "/Analyzer/IP");

	ck_assert_ptr_nonnull(ip);
	ck_assert_int_ne(idmefv2_ip_classify(json_object_get_string(ip)), IDMEFV2_IP_NONE);
	assert_str(o, "/Analyzer/Name", "suricata");
	assert_str(o, "/Analyzer/Model", "Suricata NIDS");
	assert_len(o, "/Analyzer/Category", 1);
	assert_str(o, "/Analyzer/Category/0", "NET.NIDS");
	assert_len(o, "/Analyzer/Data", 1);
	assert_str(o, "/Analyzer/Data/0", "Network");
	assert_len(o, "/Analyzer/Method", 1);
	assert_str(o, "/Analyzer/Method/0", "Signature");
	assert_absent(o, "/Analyzer/Type");
	assert_len(o, "/Type", 1);
	assert_str(o, "/Type/0", "Cyber");
	assert_str(o, "/Version", "2.D.V08");
	assert_uuid(o, "/ID");
	assert_uuid(o, "/Source/0/ID");
	assert_uuid(o, "/Target/0/ID");
	ck_assert_str_ne(json_object_get_string(at(o, "/ID")), json_object_get_string(at(o, "/Source/0/ID")));
	ck_assert_str_ne(json_object_get_string(at(o, "/Source/0/ID")),
	                 json_object_get_string(at(o, "/Target/0/ID")));
}

/* suricataconverter_test.py: EVE_ALERT_1, EVE_ALERT_2 convert; EVE_ALERT_3, EVE_FLOW_1 do not. */
START_TEST(test_connector_samples)
{
	struct run r;
	struct json_object *o;

	run_open(&r);
	ck_assert_uint_eq(push_file(&r, DATA "eve-connector-tests.jsonl"), 4);
	assert_counters(&r, 4, 2, 2, 0, 0);
	assert_all_valid(&r);

	o = json_object_array_get_idx(r.outputs, 0);
	assert_analyzer(o);
	/* Reference: Version "2.D.V04"; the deviation is the V08 target. */
	assert_str(o, "/Version", "2.D.V08");
	assert_str(o, "/CreateTime", "2017-04-07T22:24:37.251547+01:00");
	assert_len(o, "/Category", 1);
	assert_str(o, "/Category/0", "Access.Unauthorized");
	assert_str(o, "/Priority", "Medium");
	assert_str(o, "/Description", "ET HUNTING GENERIC SUSPICIOUS POST to Dotted Quad with Fake Browser 1");
	assert_str(o, "/Source/0/IP", "192.168.2.14");
	assert_len(o, "/Source/0/Port", 1);
	assert_int(o, "/Source/0/Port/0", 50096);
	assert_len(o, "/Source/0/Protocol", 1);
	assert_str(o, "/Source/0/Protocol/0", "TCP");
	assert_str(o, "/Target/0/IP", "209.53.113.5");
	assert_len(o, "/Target/0/Port", 1);
	assert_int(o, "/Target/0/Port/0", 80);
	assert_absent(o, "/Target/0/Protocol");
	assert_absent(o, "/Target/0/URL");

	o = json_object_array_get_idx(r.outputs, 1);
	assert_analyzer(o);
	/* Reference asserts Description "Potentially Bad Traffic" (alert.category); here it is the signature. */
	assert_str(o, "/Description", "GPL ATTACK_RESPONSE id check returned root");
	assert_str(o, "/Category/0", "Access.Unauthorized");
	assert_str(o, "/CreateTime", "2024-12-19T17:52:39.590661Z");
	assert_str(o, "/Priority", "Medium");
	assert_str(o, "/Source/0/IP", "2600:9000:2662:fa00:0018:30b3:e400:93a1");
	assert_int(o, "/Source/0/Port/0", 80);
	assert_str(o, "/Source/0/Protocol/0", "TCP");
	assert_str(o, "/Target/0/IP", "2a02:842a:820e:1601:c369:71f8:9da5:c6a4");
	assert_int(o, "/Target/0/Port/0", 44030);
	ck_assert_str_ne(json_object_get_string(at(o, "/ID")),
	                 json_object_get_string(at(json_object_array_get_idx(r.outputs, 0), "/ID")));
	run_close(&r);
}
END_TEST

/* Real `tail -n1 eve.json` lines published in the Wazuh documentation. */
START_TEST(test_wazuh_documentation_samples)
{
	struct run r;
	struct json_object *o;

	run_open(&r);
	ck_assert_uint_eq(push_file(&r, DATA "eve-wazuh-documentation.jsonl"), 2);
	assert_counters(&r, 2, 2, 0, 0, 0);
	assert_all_valid(&r);

	o = json_object_array_get_idx(r.outputs, 0);
	assert_analyzer(o);
	assert_str(o, "/CreateTime", "2022-01-11T18:57:14.198005Z");
	assert_str(o, "/Category/0", "Recon.Network");
	assert_str(o, "/Priority", "Medium");
	assert_str(o, "/Description", "ET POLICY curl User-Agent Outbound");
	assert_str(o, "/Source/0/IP", "10.0.2.15");
	assert_int(o, "/Source/0/Port/0", 59010);
	assert_str(o, "/Target/0/IP", "31.3.245.133");
	assert_int(o, "/Target/0/Port/0", 80);

	o = json_object_array_get_idx(r.outputs, 1);
	assert_str(o, "/CreateTime", "2018-02-09T21:32:13.120749Z");
	assert_str(o, "/Category/0", "Access.Unauthorized");
	assert_str(o, "/Description", "GPL ATTACK_RESPONSE id check returned root");
	assert_str(o, "/Source/0/IP", "82.165.177.154");
	assert_str(o, "/Target/0/IP", "172.30.0.30");
	assert_int(o, "/Target/0/Port/0", 45504);
	run_close(&r);
}
END_TEST

/*
 * Suricata's own documentation example: its placeholder address "x.x.250.50"
 * makes the output invalid (counted, not delivered); with a real address it
 * converts, and severity 1 (Suricata's highest) is High.
 */
START_TEST(test_suricata_documentation_example)
{
	struct run r;
	struct json_object *base = read_json(DATA "eve-suricata-docs-example.json");
	struct json_object *o;

	run_open(&r);
	ck_assert_int_eq(push(&r, json_object_get(base)), IDMEFV2_PIPELINE_INVALID);
	assert_counters(&r, 1, 0, 0, 0, 1);

	o = convert(&r, edit(base, "/dest_ip", json_object_new_string("192.0.2.50")));
	assert_all_valid(&r);
	assert_analyzer(o);
	assert_str(o, "/Priority", "High");
	assert_str(o, "/Category/0", "Malware.Trojan");
	assert_str(o, "/Description", "ET MALWARE BTGrab.com Spyware Downloading Ads");
	/* No offset in the input: taken as UTC. */
	assert_str(o, "/CreateTime", "2009-11-24T21:27:09.534255Z");
	assert_str(o, "/Target/0/IP", "192.0.2.50");
	assert_int(o, "/Source/0/Port/0", 1041);
	json_object_put(base);
	run_close(&r);
}
END_TEST

START_TEST(test_malformed_line_then_next)
{
	struct run r;
	struct json_object *base = read_line(DATA "eve-connector-tests.jsonl", 0);
	const char *good = json_object_to_json_string_ext(base, JSON_C_TO_STRING_PLAIN);

	run_open(&r);
	ck_assert_int_eq(push_text(&r, "{\"timestamp\":\"2017-04-07T22:24:37.251547+0100\",\"event_type\":\"al"),
	                 IDMEFV2_PIPELINE_MALFORMED);
	ck_assert_int_eq(push_text(&r, good), IDMEFV2_PIPELINE_CONVERTED);
	assert_counters(&r, 2, 1, 0, 1, 0);
	assert_all_valid(&r);
	assert_str(json_object_array_get_idx(r.outputs, 0), "/Source/0/IP", "192.168.2.14");
	json_object_put(base);
	run_close(&r);
}
END_TEST

START_TEST(test_filter)
{
	struct run r;
	struct json_object *base = read_line(DATA "eve-connector-tests.jsonl", 0);

	run_open(&r);
	ck_assert_int_eq(push(&r, edit(base, "/event_type", json_object_new_string("flow"))),
	                 IDMEFV2_PIPELINE_FILTERED);
	ck_assert_int_eq(push(&r, edit(base, "/event_type", NULL)), IDMEFV2_PIPELINE_FILTERED);
	ck_assert_int_eq(push(&r, edit(base, "/alert/category", NULL)), IDMEFV2_PIPELINE_FILTERED);
	ck_assert_int_eq(push(&r, edit(base, "/alert/category",
	                               json_object_new_string("Generic Protocol Command Decode"))),
	                 IDMEFV2_PIPELINE_FILTERED);
	/* The exclusion is exact, as in the reference: another case is a category like any other. */
	ck_assert_int_eq(push(&r, edit(base, "/alert/category",
	                               json_object_new_string("generic protocol command decode"))),
	                 IDMEFV2_PIPELINE_CONVERTED);
	ck_assert_int_eq(push(&r, json_object_get(base)), IDMEFV2_PIPELINE_CONVERTED);
	assert_counters(&r, 6, 2, 4, 0, 0);
	assert_all_valid(&r);
	json_object_put(base);
	run_close(&r);
}
END_TEST

/* Severity 1 is Suricata's highest: [..0] Unknown, 1 High, 2 Medium, 3 Low, 4.. Info. */
START_TEST(test_severity_boundaries)
{
	static const struct {
		const char *json; /* NULL: member removed */
		const char *want;
	} cases[] = {
		{ "-1", "Unknown" }, { "0", "Unknown" }, { "1", "High" },  { "2", "Medium" },
		{ "3", "Low" },      { "4", "Info" },    { "5", "Info" },  { "255", "Info" },
		{ "\"1\"", "High" }, { "\"3\"", "Low" }, { "\"high\"", "Unknown" },
		{ "null", "Unknown" }, { NULL, "Unknown" },
	};
	struct run r;
	struct json_object *base = read_line(DATA "eve-connector-tests.jsonl", 0);

	run_open(&r);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct json_object *in = edit(base, "/alert/severity", NULL), *o;

		/* "null" parses to a NULL object: added as is, it is a JSON null member. */
		if (cases[i].json)
			json_object_object_add(at(in, "/alert"), "severity", json_tokener_parse(cases[i].json));
		o = convert(&r, in);
		ck_assert_msg(strcmp(json_object_get_string(at(o, "/Priority")), cases[i].want) == 0,
		              "severity %s: %s, want %s", cases[i].json ? cases[i].json : "(absent)",
		              json_object_get_string(at(o, "/Priority")), cases[i].want);
	}
	assert_all_valid(&r);
	json_object_put(base);
	run_close(&r);
}
END_TEST

/* Every classtype description of Suricata's classification.config, and unknown ones. */
START_TEST(test_classification_table)
{
	static const char *const rows[][2] = {
		{ "Not Suspicious Traffic", "Other.Uncategorised" },
		{ "Unknown Traffic", "Other.Undetermined" },
		{ "Potentially Bad Traffic", "Access.Unauthorized" },
		{ "Attempted Information Leak", "Recon.Network" },
		{ "Information Leak", "Theft.Data" },
		{ "Large Scale Information Leak", "Theft.Data" },
		{ "Attempted Denial of Service", "Availability.DoS" },
		{ "Denial of Service", "Availability.DoS" },
		{ "Attempted User Privilege Gain", "Access.Escalation" },
		{ "Unsuccessful User Privilege Gain", "Access.Escalation" },
		{ "Successful User Privilege Gain", "Access.Escalation" },
		{ "Attempted Administrator Privilege Gain", "Access.Escalation" },
		{ "Successful Administrator Privilege Gain", "Access.Escalation" },
		{ "Decode of an RPC Query", "Recon.Network" },
		{ "Executable code was detected", "Access.Compromise" },
		{ "A suspicious string was detected", "Other.Undetermined" },
		{ "A suspicious filename was detected", "Other.Undetermined" },
		{ "An attempted login using a suspicious username was detected", "Access.Unauthorized" },
		{ "A system call was detected", "Access.Compromise" },
		{ "A TCP connection was detected", "Other.Uncategorised" },
		{ "A Network Trojan was detected", "Malware.Trojan" },
		{ "A client was using an unusual port", "Other.Undetermined" },
		{ "Detection of a Network Scan", "Recon.Network" },
		{ "Detection of a Denial of Service Attack", "Availability.DoS" },
		{ "Detection of a non-standard protocol or event", "Other.Undetermined" },
		{ "access to a potentially vulnerable web application", "Recon.Network" },
		{ "Web Application Attack", "Access.Compromise" },
		{ "Misc activity", "Other.Uncategorised" },
		{ "Misc Attack", "Other.Undetermined" },
		{ "Generic ICMP event", "Other.Uncategorised" },
		{ "Inappropriate Content was Detected", "Operational.Policy Violation" },
		{ "SCORE! Get the lotion!", "Operational.Policy Violation" },
		{ "Potential Corporate Privacy Violation", "Operational.Policy Violation" },
		{ "Attempt to login by a default username and password", "Access.Unauthorized" },
		{ "Targeted Malicious Activity was Detected", "Access.Compromise" },
		{ "Exploit Kit Activity Detected", "Malware.Downloader" },
		{ "Device Retrieving External IP Address Detected", "Recon.Other" },
		{ "Domain Observed Used for C2 Detected", "Malware.Backdoor" },
		{ "Possibly Unwanted Program Detected", "Malware.Adware" },
		{ "Successful Credential Theft Detected", "Theft.Data" },
		{ "Possible Social Engineering Attempted", "SocialEng.Other" },
		{ "Crypto Currency Mining Activity Detected", "Malware.Cryptominer" },
		{ "Malware Command and Control Activity Detected", "Malware.Backdoor" },
		/* Rule sets differ in case ("Generic ICMP Event"): matching ignores it. */
		{ "Generic ICMP Event", "Other.Uncategorised" },
		{ "A NETWORK TROJAN WAS DETECTED", "Malware.Trojan" },
		/* Unknown descriptions (a local classification.config): the default. */
		{ "Local Policy Hit", "Other.Undetermined" },
		{ "", "Other.Undetermined" },
		{ "Information Leak ", "Other.Undetermined" },
	};
	struct run r;
	struct json_object *base = read_line(DATA "eve-connector-tests.jsonl", 0);
	size_t n = sizeof(rows) / sizeof(rows[0]);

	run_open(&r);
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = convert(&r, edit(base, "/alert/category", json_object_new_string(rows[i][0])));

		assert_len(o, "/Category", 1);
		ck_assert_msg(strcmp(json_object_get_string(at(o, "/Category/0")), rows[i][1]) == 0,
		              "\"%s\": %s, want %s", rows[i][0], json_object_get_string(at(o, "/Category/0")),
		              rows[i][1]);
		/* The signature stays the description whatever the class. */
		assert_str(o, "/Description", "ET HUNTING GENERIC SUSPICIOUS POST to Dotted Quad with Fake Browser 1");
	}
	assert_counters(&r, n, n, 0, 0, 0);
	assert_all_valid(&r);
	json_object_put(base);
	run_close(&r);
}
END_TEST

START_TEST(test_missing_optional_fields)
{
	struct run r;
	struct json_object *base = read_line(DATA "eve-connector-tests.jsonl", 0);
	struct json_object *tmp, *o;

	run_open(&r);
	/* ICMP alerts carry no ports: no Port member rather than an empty one. */
	tmp = edit(base, "/src_port", NULL);
	o = convert(&r, edit(tmp, "/dest_port", NULL));
	json_object_put(tmp);
	assert_absent(o, "/Source/0/Port");
	assert_absent(o, "/Target/0/Port");
	assert_str(o, "/Source/0/Protocol/0", "TCP");

	/* Empty addresses and protocol (as in decoder events): no IP, protocol UNKNOWN. */
	tmp = edit(base, "/src_ip", json_object_new_string(""));
	{
		struct json_object *t2 = edit(tmp, "/dest_ip", json_object_new_string(""));

		o = convert(&r, edit(t2, "/proto", json_object_new_string("")));
		json_object_put(t2);
	}
	json_object_put(tmp);
	assert_absent(o, "/Source/0/IP");
	assert_absent(o, "/Target/0/IP");
	assert_uuid(o, "/Source/0/ID");
	assert_uuid(o, "/Target/0/ID");
	assert_len(o, "/Source/0/Protocol", 1);
	assert_str(o, "/Source/0/Protocol/0", "UNKNOWN");

	o = convert(&r, edit(base, "/proto", NULL));
	assert_absent(o, "/Source/0/Protocol");
	assert_int(o, "/Source/0/Port/0", 50096);

	o = convert(&r, edit(base, "/alert/signature", NULL));
	assert_str(o, "/Description", "Potentially Bad Traffic");

	/* No usable timestamp: the time of conversion, never a lost alert. */
	o = convert(&r, edit(base, "/timestamp", NULL));
	ck_assert_ptr_nonnull(at(o, "/CreateTime"));
	ck_assert_str_ne(json_object_get_string(at(o, "/CreateTime")), "2017-04-07T22:24:37.251547+01:00");
	o = convert(&r, edit(base, "/timestamp", json_object_new_string("yesterday")));
	ck_assert_ptr_nonnull(at(o, "/CreateTime"));

	/* Only the mapped members: minimal alert. */
	{
		struct json_object *min = json_tokener_parse(
			"{\"event_type\":\"alert\",\"alert\":{\"category\":\"Misc Attack\"}}");

		o = convert(&r, min);
		assert_str(o, "/Description", "Misc Attack");
		assert_str(o, "/Category/0", "Other.Undetermined");
		assert_str(o, "/Priority", "Unknown");
		assert_absent(o, "/Source/0/IP");
		assert_absent(o, "/Source/0/Port");
		assert_absent(o, "/Source/0/Protocol");
		assert_analyzer(o);
	}
	assert_counters(&r, 7, 7, 0, 0, 0);
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
	tcase_add_test(tc, test_wazuh_documentation_samples);
	tcase_add_test(tc, test_suricata_documentation_example);
	tcase_add_test(tc, test_malformed_line_then_next);
	tcase_add_test(tc, test_filter);
	tcase_add_test(tc, test_severity_boundaries);
	tcase_add_test(tc, test_classification_table);
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
