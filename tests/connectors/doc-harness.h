/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the document-shaped template tests share (ClamAV, Kismet, Prometheus,
 * Zabbix): one pipeline over the tool's built-in template, every output
 * validated again on its own and collected, and JSON Pointer assertions.
 * Include after defining TOOL.
 */
#ifndef DOC_HARNESS_H
#define DOC_HARNESS_H

#include <stdint.h>

#include <json-c/json.h>

#include <idmefv2/mapping.h>
#include <idmefv2/pipeline.h>

struct run {
	idmefv2_mapping *mapping;
	idmefv2_pipeline *pipeline;
	struct json_object *outputs; /* array of the validated outputs */
	int schema_failures;
};

void doc_harness_init(struct run *r, const char *tool);
#define run_init(r) doc_harness_init((r), TOOL)
void run_free(struct run *r);
idmefv2_pipeline_result push_text(struct run *r, const char *text);
idmefv2_pipeline_result push_json(struct run *r, struct json_object *input);
struct json_object *last_output(struct run *r);
void check_counters(struct run *r, uint64_t read, uint64_t malformed, uint64_t filtered,
                    uint64_t converted);
char *slurp(const char *path);
struct json_object *load_json(const char *path);
struct json_object *at(struct json_object *obj, const char *pointer);
void assert_str(struct json_object *obj, const char *pointer, const char *want);
void assert_json(struct json_object *obj, const char *pointer, const char *want_text);
void assert_absent(struct json_object *obj, const char *pointer);
void assert_recent(struct json_object *obj, const char *pointer);

#endif
