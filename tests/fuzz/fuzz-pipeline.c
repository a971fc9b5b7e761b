/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: each connector's native input through the pipeline (strict
 * JSON parse, the tool's built-in template, validation, output), as the
 * connectors receive it. The first byte picks the tool (low 7 bits, modulo the
 * number of connectors of tools/connector-common.c) and the way in:
 *  - bit 7 clear: the bytes as a file given to `idmefv2 convert TOOL` and
 *    `idmefv2-connector TOOL --once` (tool__convert_stream(): one value per
 *    line, or one pretty-printed document, arrays split, the tool's items path
 *    such as Prometheus's data.alerts);
 *  - bit 7 set: the bytes as one line read by the daemon's tail or socket,
 *    pushed with an ID derived from the line, as the daemon does.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <json-c/json.h>

#include <idmefv2/idmefv2.h>
#include <idmefv2/mapping.h>
#include <idmefv2/pipeline.h>

#include "connector-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_TOOLS 32

static idmefv2_mapping *mappings[MAX_TOOLS];
static idmefv2_pipeline *pipelines[MAX_TOOLS];
static size_t ntools;

static void quiet(idmefv2_log_level level, const char *message, void *user_data)
{
	(void)level;
	(void)message;
	(void)user_data;
}

static idmefv2_error output(idmefv2_pipeline *p, struct json_object *out, void *user_data)
{
	(void)p;
	(void)user_data;
	/* What the transport would send: serializing walks the whole message. */
	return json_object_to_json_string(out) ? IDMEFV2_OK : IDMEFV2_ERR_NOMEM;
}

static void pipelines_free(void)
{
	for (size_t i = 0; i < ntools; i++) {
		idmefv2_pipeline_free(pipelines[i]);
		idmefv2_mapping_free(mappings[i]);
	}
}

static void pipelines_new(void)
{
	char err[512];

	for (; tool__connectors[ntools].name && ntools < MAX_TOOLS; ntools++) {
		if (idmefv2_mapping_load_tool(tool__connectors[ntools].name, &mappings[ntools], NULL, err,
		                              sizeof(err)) != IDMEFV2_OK ||
		    idmefv2_pipeline_new(mappings[ntools], NULL, &pipelines[ntools], err, sizeof(err)) != IDMEFV2_OK) {
			fprintf(stderr, "fuzz-pipeline: %s\n", err);
			abort();
		}
		idmefv2_mapping_set_log_cb(mappings[ntools], quiet, NULL);
		idmefv2_pipeline_set_log_cb(pipelines[ntools], quiet, NULL);
		idmefv2_pipeline_set_output_cb(pipelines[ntools], output, NULL);
	}
	if (ntools == 0)
		abort();
	atexit(pipelines_free);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data + 1;
	idmefv2_pipeline_result result;
	size_t tool, len = size - 1;
	char id[40], err[256];
	FILE *in;

	if (size == 0)
		return 0;
	if (ntools == 0)
		pipelines_new();
	tool = (data[0] & 0x7f) % ntools;
	if (data[0] & 0x80) {
		if (idmefv2_uuid_from_name(IDMEFV2_UUID_NAMESPACE, text, len, id, sizeof(id)) != IDMEFV2_OK)
			abort();
		(void)idmefv2_pipeline_push_line_tracked(pipelines[tool], text, len, "fuzz", 0, id, NULL, &result);
		return 0;
	}
	/* fmemopen() of zero bytes fails with EINVAL. */
	if (len == 0)
		return 0;
	in = fmemopen((void *)text, len, "r");
	if (!in)
		abort();
	(void)tool__convert_stream(pipelines[tool], in, "fuzz", tool__connectors[tool].items_path, err, sizeof(err));
	fclose(in);
	return 0;
}
