/* SPDX-License-Identifier: Apache-2.0 */
/* The document-shaped template tests' harness: see doc-harness.h. */
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

#include "doc-harness.h"

#define VERSION "2.D.V08"

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

void doc_harness_init(struct run *r, const char *tool)
{
	char err[512] = "", path[512];

	memset(r, 0, sizeof(*r));
	snprintf(path, sizeof(path), "%s/%s.json", TEMPLATE_DIR, tool);
	ck_assert_msg(idmefv2_mapping_load_file(path, &r->mapping, err, sizeof(err)) == IDMEFV2_OK, "%s", err);
	ck_assert_msg(idmefv2_pipeline_new(r->mapping, VERSION, &r->pipeline, err, sizeof(err)) == IDMEFV2_OK,
	              "%s", err);
	idmefv2_pipeline_set_log_cb(r->pipeline, run_log, r);
	idmefv2_pipeline_set_output_cb(r->pipeline, run_output, r);
	r->outputs = json_object_new_array();
}

void run_free(struct run *r)
{
	idmefv2_pipeline_free(r->pipeline);
	idmefv2_mapping_free(r->mapping);
	json_object_put(r->outputs);
}

idmefv2_pipeline_result push_text(struct run *r, const char *text)
{
	idmefv2_pipeline_result res = IDMEFV2_PIPELINE_INVALID;

	ck_assert_int_eq(idmefv2_pipeline_push_line(r->pipeline, text, strlen(text), "test", 0, &res), IDMEFV2_OK);
	return res;
}

/* Pushes @p input as one serialized line, as the watcher hands over a whole file. */
idmefv2_pipeline_result push_json(struct run *r, struct json_object *input)
{
	return push_text(r, json_object_to_json_string_ext(input, JSON_C_TO_STRING_PLAIN));
}

/* The last output, borrowed. */
struct json_object *last_output(struct run *r)
{
	size_t n = json_object_array_length(r->outputs);

	ck_assert_uint_gt(n, 0);
	return json_object_array_get_idx(r->outputs, n - 1);
}

void check_counters(struct run *r, uint64_t read, uint64_t malformed, uint64_t filtered,
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

char *slurp(const char *path)
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

struct json_object *load_json(const char *path)
{
	char *text = slurp(path);
	struct json_object *v = json_tokener_parse(text);

	ck_assert_msg(v != NULL, "%s is not JSON", path);
	free(text);
	return v;
}

/* Borrowed member at a JSON Pointer, or NULL. */
struct json_object *at(struct json_object *obj, const char *pointer)
{
	struct json_object *v = NULL;

	if (json_pointer_get(obj, pointer, &v) != 0)
		return NULL;
	return v;
}

void assert_str(struct json_object *obj, const char *pointer, const char *want)
{
	struct json_object *v = at(obj, pointer);

	ck_assert_msg(v != NULL, "%s missing", pointer);
	ck_assert_msg(json_object_is_type(v, json_type_string), "%s not a string", pointer);
	ck_assert_str_eq(json_object_get_string(v), want);
}

void assert_json(struct json_object *obj, const char *pointer, const char *want_text)
{
	struct json_object *v = at(obj, pointer), *want = json_tokener_parse(want_text);

	ck_assert_ptr_nonnull(want);
	ck_assert_msg(v != NULL, "%s missing", pointer);
	ck_assert_msg(json_object_equal(v, want), "%s is %s, not %s", pointer,
	              json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN), want_text);
	json_object_put(want);
}

void assert_absent(struct json_object *obj, const char *pointer)
{
	ck_assert_msg(at(obj, pointer) == NULL, "%s present", pointer);
}

/* A time written within the last minute (CreateTime from now()). */
void assert_recent(struct json_object *obj, const char *pointer)
{
	struct json_object *v = at(obj, pointer);
	struct timespec ts;
	time_t now = time(NULL);

	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(idmefv2_time_parse(json_object_get_string(v), &ts, NULL), IDMEFV2_OK);
	ck_assert_int_le(ts.tv_sec, now + 1);
	ck_assert_int_ge(ts.tv_sec, now - 60);
}
