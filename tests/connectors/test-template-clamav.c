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

/* ---- harness: one pipeline, outputs collected after an explicit validation ---- */

struct run {
	idmefv2_mapping *mapping;
	idmefv2_pipeline *pipeline;
	struct json_object *outputs; /* array of the validated outputs */
	int schema_failures;
};

static void run_log(idmefv2_log_level level, const char *message, void *user_data)
{
	(void)level;
	(void)message;
	(void)user_data;
}

static idmefv2_error run_output(idmefv2_pipeline *p, struct json_object *output, void *user_data)
{
	struct run *r = user_data;
	const idmefv2_schema *schema;
	idmefv2_report *report = NULL;
	idmefv2_error err = IDMEFV2_OK;

	(void)p;
	schema = idmefv2_schema_for_version(VERSION, &err, NULL, 0);
	ck_assert_ptr_nonnull(schema);
	if (idmefv2_schema_validate(schema, output, IDMEFV2_VALIDATE_DEFAULT, &report) != IDMEFV2_OK) {
		r->schema_failures++;
		idmefv2_report_free(report);
	}
	json_object_array_add(r->outputs, json_object_get(output));
	return IDMEFV2_OK;
}

static void run_init(struct run *r)
{
	char err[512] = "";

	memset(r, 0, sizeof(*r));
	ck_assert_msg(idmefv2_mapping_load_file(TEMPLATE_DIR "/" TOOL ".json", &r->mapping, err, sizeof(err)) ==
	              IDMEFV2_OK, "%s", err);
	ck_assert_msg(idmefv2_pipeline_new(r->mapping, VERSION, &r->pipeline, err, sizeof(err)) == IDMEFV2_OK,
	              "%s", err);
	idmefv2_pipeline_set_log_cb(r->pipeline, run_log, r);
	idmefv2_pipeline_set_output_cb(r->pipeline, run_output, r);
	r->outputs = json_object_new_array();
}

static void run_free(struct run *r)
{
	idmefv2_pipeline_free(r->pipeline);
	idmefv2_mapping_free(r->mapping);
	json_object_put(r->outputs);
}

static idmefv2_pipeline_result push_text(struct run *r, const char *text)
{
	idmefv2_pipeline_result res = IDMEFV2_PIPELINE_INVALID;

	ck_assert_int_eq(idmefv2_pipeline_push_line(r->pipeline, text, strlen(text), "test", 0, &res), IDMEFV2_OK);
	return res;
}

/* Pushes @p input as one serialized line, as the watcher hands over a whole file. */
static idmefv2_pipeline_result push_json(struct run *r, struct json_object *input)
{
	return push_text(r, json_object_to_json_string_ext(input, JSON_C_TO_STRING_PLAIN));
}

/* The last output, borrowed. */
static struct json_object *last_output(struct run *r)
{
	size_t n = json_object_array_length(r->outputs);

	ck_assert_uint_gt(n, 0);
	return json_object_array_get_idx(r->outputs, n - 1);
}

static void check_counters(struct run *r, uint64_t read, uint64_t malformed, uint64_t filtered,
                           uint64_t converted)
{
	idmefv2_pipeline_counters c;

	idmefv2_pipeline_get_counters(r->pipeline, &c);
	ck_assert_uint_eq(c.read, read);
	ck_assert_uint_eq(c.malformed, malformed);
	ck_assert_uint_eq(c.filtered, filtered);
	ck_assert_uint_eq(c.converted, converted);
	ck_assert_uint_eq(c.invalid, 0);
	ck_assert_uint_eq(c.sent, converted);
	ck_assert_int_eq(r->schema_failures, 0);
	ck_assert_uint_eq(json_object_array_length(r->outputs), converted);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long size;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	ck_assert_int_ge(size, 0);
	rewind(f);
	buf = malloc((size_t)size + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)size, f), (size_t)size);
	buf[size] = '\0';
	fclose(f);
	return buf;
}

static struct json_object *load_json(const char *path)
{
	char *text = slurp(path);
	struct json_object *v = json_tokener_parse(text);

	ck_assert_msg(v != NULL, "%s is not JSON", path);
	free(text);
	return v;
}

/* Borrowed member at a JSON Pointer, or NULL. */
static struct json_object *at(struct json_object *obj, const char *pointer)
{
	struct json_object *v = NULL;

	if (json_pointer_get(obj, pointer, &v) != 0)
		return NULL;
	return v;
}

static void assert_str(struct json_object *obj, const char *pointer, const char *want)
{
	struct json_object *v = at(obj, pointer);

	ck_assert_msg(v != NULL, "%s missing", pointer);
	ck_assert_msg(json_object_is_type(v, json_type_string), "%s not a string", pointer);
	ck_assert_str_eq(json_object_get_string(v), want);
}

static void assert_json(struct json_object *obj, const char *pointer, const char *want_text)
{
	struct json_object *v = at(obj, pointer), *want = json_tokener_parse(want_text);

	ck_assert_ptr_nonnull(want);
	ck_assert_msg(v != NULL, "%s missing", pointer);
	ck_assert_msg(json_object_equal(v, want), "%s is %s, not %s", pointer,
	              json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN), want_text);
	json_object_put(want);
}

static void assert_absent(struct json_object *obj, const char *pointer)
{
	ck_assert_msg(at(obj, pointer) == NULL, "%s present", pointer);
}

/* A time written within the last minute (CreateTime from now()). */
static void assert_recent(struct json_object *obj, const char *pointer)
{
	struct json_object *v = at(obj, pointer);
	struct timespec ts;
	time_t now = time(NULL);

	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(idmefv2_time_parse(json_object_get_string(v), &ts, NULL), IDMEFV2_OK);
	ck_assert_int_le(ts.tv_sec, now + 1);
	ck_assert_int_ge(ts.tv_sec, now - 60);
}

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
