/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the line-shaped template tests share (ModSecurity, Suricata, Wazuh,
 * ZoneMinder): one pipeline over the tool's built-in template, sample files
 * pushed line by line, outputs collected, and JSON Pointer assertions.
 * Include after defining TOOL.
 */
#ifndef LINE_HARNESS_H
#define LINE_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include <check.h>
#include <json-c/json.h>

#include <idmefv2/mapping.h>
#include <idmefv2/pipeline.h>

struct run {
	idmefv2_mapping *m;
	idmefv2_pipeline *p;
	struct json_object *outputs;
};

void line_harness_open(struct run *r, const char *tool);
#define run_open(r) line_harness_open((r), TOOL)
void run_close(struct run *r);
idmefv2_pipeline_result push_text(struct run *r, const char *text);
size_t push_file(struct run *r, const char *path);
struct json_object *read_json(const char *path);
struct json_object *read_line(const char *path, int index);
void assert_counters(struct run *r, uint64_t read, uint64_t converted, uint64_t filtered,
                     uint64_t malformed, uint64_t invalid);
void assert_all_valid(struct run *r);
struct json_object *at(struct json_object *o, const char *pointer);
void assert_uuid(struct json_object *o, const char *ptr);
struct json_object *edit(struct json_object *base, const char *pointer, struct json_object *value);
struct json_object *convert(struct run *r, struct json_object *input);
idmefv2_pipeline_result push(struct run *r, struct json_object *input);

#define assert_str(o, ptr, want)                                                                   \
	do {                                                                                       \
		struct json_object *v_ = at((o), (ptr));                                           \
		ck_assert_msg(v_ && json_object_is_type(v_, json_type_string), "%s missing", (ptr)); \
		ck_assert_str_eq(json_object_get_string(v_), (want));                              \
	} while (0)

#define assert_int(o, ptr, want)                                                                   \
	do {                                                                                       \
		struct json_object *v_ = at((o), (ptr));                                           \
		ck_assert_msg(v_ && json_object_is_type(v_, json_type_int), "%s missing", (ptr));  \
		ck_assert_int_eq(json_object_get_int64(v_), (want));                               \
	} while (0)

#define assert_len(o, ptr, want)                                                                   \
	do {                                                                                       \
		struct json_object *v_ = at((o), (ptr));                                           \
		ck_assert_msg(v_ && json_object_is_type(v_, json_type_array), "%s missing", (ptr)); \
		ck_assert_uint_eq(json_object_array_length(v_), (want));                           \
	} while (0)

#define assert_absent(o, ptr) ck_assert_msg(at((o), (ptr)) == NULL, "%s present", (ptr))

#endif
