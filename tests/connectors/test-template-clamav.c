/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The built-in ClamAV template: real clamd metadata.json documents through a
 * pipeline, every output checked against 2.D.V08 and field by field against
 * docs/connectors/clamav.md.
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

#define SAMPLES TEST_DATA_DIR "/connectors/clamav/"
#define SAMPLE_FSG SAMPLES "metadata-connector-test-1-clam-fsg.exe.json"
#define SAMPLE_7Z SAMPLES "metadata-connector-test-2-clam.7z.json"
#define TOOL "clamav"
#define VERSION "2.D.V08"

#include "doc-harness.h"

/* ---- ClamAV ---------------------------------------------------------------------------- */

/* Everything that does not depend on the document. */
static void assert_constant_part(struct json_object *out)
{
	struct json_object *analyzer = NULL, *copy = NULL;

	assert_str(out, "/Version", "2.D.V08");
	ck_assert(idmefv2_uuid_is_valid(json_object_get_string(at(out, "/ID"))));
	ck_assert_uint_eq(strlen(json_object_get_string(at(out, "/ID"))), 36);
	assert_recent(out, "/CreateTime");
	assert_json(out, "/Type", "[\"Cyber\"]");
	assert_json(out, "/Category", "[\"Malware.Virus\"]");
	assert_str(out, "/Priority", "High");
	assert_str(out, "/Description", "Virus found");
	/* The analyzer's address is this host's; the schema has checked its form. */
	ck_assert_ptr_nonnull(at(out, "/Analyzer/IP"));
	analyzer = at(out, "/Analyzer");
	ck_assert_int_eq(json_object_deep_copy(analyzer, &copy, NULL), 0);
	json_object_object_del(copy, "IP");
	{
		struct json_object *want = json_tokener_parse(
			"{\"Name\":\"clamav\",\"Model\":\"Clamav Antivirus\",\"Category\":[\"END.AV\"],"
			"\"Data\":[\"File\"],\"Method\":[\"Signature\"]}");

		ck_assert_msg(json_object_equal(copy, want), "Analyzer is %s",
		              json_object_to_json_string_ext(analyzer, JSON_C_TO_STRING_PLAIN));
		json_object_put(want);
	}
	json_object_put(copy);
	assert_str(out, "/Attachment/0/Name", "virus");
	ck_assert_uint_eq(json_object_array_length(at(out, "/Attachment")), 1);
}

/* The reference's two tests, from the raw files as clamd writes them (pretty-printed, one document). */
START_TEST(test_reference_samples)
{
	struct run r;
	char *text;
	struct json_object *out;

	run_init(&r);
	text = slurp(SAMPLE_FSG);
	ck_assert_int_eq(push_text(&r, text), IDMEFV2_PIPELINE_CONVERTED);
	free(text);
	out = last_output(&r);
	assert_constant_part(out);
	assert_str(out, "/Attachment/0/FileName", "clam-fsg.exe");
	assert_json(out, "/Attachment/0/Hash", "[\"md5:c6ccf4ddbccbcaa01b441690a329d1b0\"]");
	assert_json(out, "/Attachment/0/Size", "6656");
	/* The virus is two levels down: EmbeddedObjects -> ContainedObjects. */
	assert_str(out, "/Attachment/0/Note", "Virus found: Clamav.Test.File-6");

	text = slurp(SAMPLE_7Z);
	ck_assert_int_eq(push_text(&r, text), IDMEFV2_PIPELINE_CONVERTED);
	free(text);
	out = last_output(&r);
	assert_constant_part(out);
	assert_str(out, "/Attachment/0/FileName", "clam.7z");
	assert_json(out, "/Attachment/0/Hash", "[\"md5:30cc73fe9ec56e474c4d19c57ffe0546\"]");
	assert_json(out, "/Attachment/0/Size", "362");
	assert_str(out, "/Attachment/0/Note", "Virus found: Clamav.Test.File-6");

	/* Two messages, two identifiers. */
	ck_assert_str_ne(json_object_get_string(at(json_object_array_get_idx(r.outputs, 0), "/ID")),
	                 json_object_get_string(at(json_object_array_get_idx(r.outputs, 1), "/ID")));
	check_counters(&r, 2, 0, 0, 2);
	run_free(&r);
}
END_TEST

/* Deviation: a scan that found nothing (no Viruses anywhere) is not an alert. */
START_TEST(test_clean_file_filtered)
{
	struct run r;
	struct json_object *doc = load_json(SAMPLE_7Z), *contained;

	run_init(&r);
	contained = at(doc, "/ContainedObjects/0");
	json_object_object_del(contained, "Viruses");
	ck_assert_int_eq(push_json(&r, doc), IDMEFV2_PIPELINE_FILTERED);
	/* An empty list names no virus either. */
	json_object_object_add(contained, "Viruses", json_object_new_array());
	ck_assert_int_eq(push_json(&r, doc), IDMEFV2_PIPELINE_FILTERED);
	/* One name anywhere is enough, however deep. */
	json_object_array_add(at(doc, "/ContainedObjects/0/Viruses"), json_object_new_string("Eicar-Signature"));
	ck_assert_int_eq(push_json(&r, doc), IDMEFV2_PIPELINE_CONVERTED);
	assert_str(last_output(&r), "/Attachment/0/Note", "Virus found: Eicar-Signature");
	check_counters(&r, 3, 0, 2, 1);
	json_object_put(doc);
	run_free(&r);
}
END_TEST

/* Several names are joined with ", "; the first Viruses list found wins. */
START_TEST(test_virus_names)
{
	struct run r;
	struct json_object *doc = load_json(SAMPLE_FSG), *viruses;

	run_init(&r);
	viruses = at(doc, "/EmbeddedObjects/0/ContainedObjects/0/Viruses");
	json_object_array_add(viruses, json_object_new_string("Win.Trojan.Agent-1"));
	ck_assert_int_eq(push_json(&r, doc), IDMEFV2_PIPELINE_CONVERTED);
	assert_str(last_output(&r), "/Attachment/0/Note", "Virus found: Clamav.Test.File-6, Win.Trojan.Agent-1");

	/* A list on the scanned file itself is found before the nested one. */
	{
		struct json_object *top = json_object_new_array();

		json_object_array_add(top, json_object_new_string("Top.Level-0"));
		json_object_object_add(doc, "Viruses", top);
	}
	ck_assert_int_eq(push_json(&r, doc), IDMEFV2_PIPELINE_CONVERTED);
	assert_str(last_output(&r), "/Attachment/0/Note", "Virus found: Top.Level-0");
	check_counters(&r, 2, 0, 0, 2);
	json_object_put(doc);
	run_free(&r);
}
END_TEST

/* Missing optional members leave their field out; the message stays valid. */
START_TEST(test_missing_optional)
{
	struct run r;
	struct json_object *doc = load_json(SAMPLE_7Z), *out;

	run_init(&r);
	json_object_object_del(doc, "FileName");
	json_object_object_del(doc, "FileMD5");
	json_object_object_del(doc, "FileSize");
	ck_assert_int_eq(push_json(&r, doc), IDMEFV2_PIPELINE_CONVERTED);
	out = last_output(&r);
	assert_constant_part(out);
	assert_absent(out, "/Attachment/0/FileName");
	assert_absent(out, "/Attachment/0/Size");
	/* A list whose only element is missing is left out: no Hash rather than an empty list. */
	assert_absent(out, "/Attachment/0/Hash");
	assert_str(out, "/Attachment/0/Note", "Virus found: Clamav.Test.File-6");

	/* A size written as a string still becomes an integer; a non-number is left out. */
	json_object_object_add(doc, "FileSize", json_object_new_string("362"));
	ck_assert_int_eq(push_json(&r, doc), IDMEFV2_PIPELINE_CONVERTED);
	assert_json(last_output(&r), "/Attachment/0/Size", "362");
	json_object_object_add(doc, "FileSize", json_object_new_string("big"));
	ck_assert_int_eq(push_json(&r, doc), IDMEFV2_PIPELINE_CONVERTED);
	assert_absent(last_output(&r), "/Attachment/0/Size");
	check_counters(&r, 3, 0, 0, 3);
	json_object_put(doc);
	run_free(&r);
}
END_TEST

/* A half-written metadata.json is counted and skipped; the next document converts. */
START_TEST(test_malformed_then_next)
{
	struct run r;
	char *text = slurp(SAMPLE_FSG);
	char *half = strndup(text, strlen(text) / 2);

	run_init(&r);
	ck_assert_int_eq(push_text(&r, half), IDMEFV2_PIPELINE_MALFORMED);
	ck_assert_int_eq(push_text(&r, "[\"not\", \"an\", \"object\"]"), IDMEFV2_PIPELINE_MALFORMED);
	ck_assert_int_eq(push_text(&r, text), IDMEFV2_PIPELINE_CONVERTED);
	assert_str(last_output(&r), "/Attachment/0/FileName", "clam-fsg.exe");
	check_counters(&r, 3, 2, 0, 1);
	free(half);
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

	tcase_add_test(tc, test_reference_samples);
	tcase_add_test(tc, test_clean_file_filtered);
	tcase_add_test(tc, test_virus_names);
	tcase_add_test(tc, test_missing_optional);
	tcase_add_test(tc, test_malformed_then_next);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
