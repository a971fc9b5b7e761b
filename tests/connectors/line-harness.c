/* SPDX-License-Identifier: Apache-2.0 */
/* The line-shaped template tests' harness: see line-harness.h. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <json-c/json_pointer.h>

#include <idmefv2/mapping.h>
#include <idmefv2/pipeline.h>
#include <idmefv2/schema.h>
#include <idmefv2/util.h>

#include "line-harness.h"

static idmefv2_error collect(idmefv2_pipeline *p, struct json_object *output, void *user_data)
{
	(void)p;
	json_object_array_add(user_data, json_object_get(output));
	return IDMEFV2_OK;
}

void line_harness_open(struct run *r, const char *tool)
{
	char err[512] = "", path[512];

	memset(r, 0, sizeof(*r));
	snprintf(path, sizeof(path), "%s/%s.json", TEMPLATE_DIR, tool);
	ck_assert_msg(idmefv2_mapping_load_file(path, &r->m, err, sizeof(err)) == IDMEFV2_OK, "%s", err);
	ck_assert_msg(idmefv2_pipeline_new(r->m, "2.D.V08", &r->p, err, sizeof(err)) == IDMEFV2_OK, "%s", err);
	r->outputs = json_object_new_array();
	idmefv2_pipeline_set_output_cb(r->p, collect, r->outputs);
}

void run_close(struct run *r)
{
	idmefv2_pipeline_free(r->p);
	idmefv2_mapping_free(r->m);
	json_object_put(r->outputs);
}

idmefv2_pipeline_result push_text(struct run *r, const char *text)
{
	idmefv2_pipeline_result res;

	ck_assert_int_eq(idmefv2_pipeline_push_line(r->p, text, strlen(text), "test", 0, &res), IDMEFV2_OK);
	return res;
}

/* Pushes every line of a sample file; returns the number of lines. */
size_t push_file(struct run *r, const char *path)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0, n = 0;
	ssize_t len;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	while ((len = getline(&line, &cap, f)) > 0) {
		n++;
		ck_assert_int_eq(idmefv2_pipeline_push_line(r->p, line, (size_t)len, path, n, NULL), IDMEFV2_OK);
	}
	free(line);
	fclose(f);
	return n;
}

struct json_object *read_json(const char *path)
{
	struct json_object *o = json_object_from_file(path);

	ck_assert_msg(o != NULL, "cannot parse %s", path);
	return o;
}

/* Line @p index (from 0) of a sample file, parsed. */
struct json_object *read_line(const char *path, int index)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	struct json_object *o = NULL;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	for (int i = 0; i <= index; i++)
		ck_assert(getline(&line, &cap, f) > 0);
	o = json_tokener_parse(line);
	free(line);
	fclose(f);
	ck_assert_ptr_nonnull(o);
	return o;
}

void assert_counters(struct run *r, uint64_t read, uint64_t converted, uint64_t filtered,
                     uint64_t malformed, uint64_t invalid)
{
	idmefv2_pipeline_counters c;

	idmefv2_pipeline_get_counters(r->p, &c);
	ck_assert_uint_eq(c.read, read);
	ck_assert_uint_eq(c.converted, converted);
	ck_assert_uint_eq(c.filtered, filtered);
	ck_assert_uint_eq(c.malformed, malformed);
	ck_assert_uint_eq(c.invalid, invalid);
	ck_assert_uint_eq(c.sent, converted);
	ck_assert_uint_eq(json_object_array_length(r->outputs), converted);
}

/* Validates again, independently of the pipeline, and checks the ID members. */
void assert_all_valid(struct run *r)
{
	const idmefv2_schema *schema = idmefv2_schema_for_version("2.D.V08", NULL, NULL, 0);
	size_t n = json_object_array_length(r->outputs);

	ck_assert_ptr_nonnull(schema);
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(r->outputs, i);
		idmefv2_report *report = NULL;
		idmefv2_error e = idmefv2_schema_validate(schema, o, 0, &report);

		ck_assert_msg(e == IDMEFV2_OK, "output %zu invalid: %s: %s", i,
		              report ? idmefv2_report_instance_path(report, 0) : "?",
		              report ? idmefv2_report_message(report, 0) : "?");
		idmefv2_report_free(report);
	}
}

struct json_object *at(struct json_object *o, const char *pointer)
{
	struct json_object *v = NULL;

	if (json_pointer_get(o, pointer, &v) != 0)
		return NULL;
	return v;
}


void assert_uuid(struct json_object *o, const char *ptr)
{
	struct json_object *v = at(o, ptr);

	ck_assert_msg(v && idmefv2_uuid_is_valid(json_object_get_string(v)), "%s not a UUID", ptr);
}

/* A copy of @p base with the member at @p pointer set to @p value (taken), or removed if NULL. */
struct json_object *edit(struct json_object *base, const char *pointer, struct json_object *value)
{
	struct json_object *copy = NULL;

	ck_assert_int_eq(json_object_deep_copy(base, &copy, NULL), 0);
	if (value) {
		ck_assert_int_eq(json_pointer_set(&copy, pointer, value), 0);
	} else {
		char parent[256];
		const char *slash = strrchr(pointer, '/');
		struct json_object *p;

		snprintf(parent, sizeof(parent), "%.*s", (int)(slash - pointer), pointer);
		p = *parent ? at(copy, parent) : copy;
		ck_assert_ptr_nonnull(p);
		json_object_object_del(p, slash + 1);
	}
	return copy;
}

/* Converts @p input (taken) and returns the output, borrowed from the run. */
struct json_object *convert(struct run *r, struct json_object *input)
{
	idmefv2_pipeline_result res;
	size_t n;

	ck_assert_int_eq(idmefv2_pipeline_push_object(r->p, input, "test", 0, &res), IDMEFV2_OK);
	json_object_put(input);
	ck_assert_int_eq(res, IDMEFV2_PIPELINE_CONVERTED);
	n = json_object_array_length(r->outputs);
	return json_object_array_get_idx(r->outputs, n - 1);
}

idmefv2_pipeline_result push(struct run *r, struct json_object *input)
{
	idmefv2_pipeline_result res;

	ck_assert_int_eq(idmefv2_pipeline_push_object(r->p, input, "test", 0, &res), IDMEFV2_OK);
	json_object_put(input);
	return res;
}
