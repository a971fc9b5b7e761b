/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: arbitrary bytes as a draft-04 schema (a schema file given
 * to `idmefv2 validate --schema` is outside data), then a few fixed instances
 * validated against whatever compiled.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <json-c/json.h>

#include <idmefv2/idmefv2.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const instances[] = {
	"{\"a\":1,\"b\":[1,2,2],\"c\":{\"d\":\"x\"}}",
	"[1,\"two\",3.5,null,true,{\"k\":[]}]",
	"\"2026-11-22T10:00:00Z\"",
	"12345678901234567890",
	"0.0075",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	idmefv2_schema *schema = NULL;
	char err[256];

	if (idmefv2_schema_compile_json((const char *)data, size, NULL, NULL, &schema, err, sizeof(err)) !=
	    IDMEFV2_OK)
		return 0;
	for (size_t i = 0; i < sizeof(instances) / sizeof(instances[0]); i++) {
		struct json_object *inst = json_tokener_parse(instances[i]);
		idmefv2_report *report = NULL;

		if (!inst)
			__builtin_trap();
		(void)idmefv2_schema_validate(schema, inst, 0, &report);
		if (report) {
			struct json_object *j = idmefv2_report_to_json(report);

			json_object_put(j);
			idmefv2_report_free(report);
		}
		json_object_put(inst);
	}
	idmefv2_schema_unref(schema);
	return 0;
}
