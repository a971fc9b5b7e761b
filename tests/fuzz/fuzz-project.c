/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the connectors' partial parser against the full parser.
 * For arbitrary bytes, the partial parser either gives up or yields an input
 * on which a template's output equals the output from the full parse; and it
 * never accepts what the full parser refuses. A violation aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <json-c/json.h>

#include <idmefv2/mapping.h>
#include <idmefv2/message.h>

#include "mapping-private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char template_text[] =
	"{\"$filter\": {\"$ne\": [\"$.kind\", \"skip\"]},"
	" \"A\": \"$.a\", \"BC\": \"$.b.c\", \"BD\": \"$.b.d\", \"ARR\": \"$.arr[0]\", \"S\": \"$.s\","
	" \"DOT\": \"$.\\\"x.y\\\"\", \"OBJ\": \"$.obj\", \"L\": {\"$fn\": \"lower\", \"args\": [\"$.s\"]}}";

static idmefv2_mapping *mapping;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *full = NULL, *part = NULL, *out_full = NULL, *out_part = NULL;
	const char *text = (const char *)data;
	idmefv2_error ef, ep, af, ap;

	if (!mapping) {
		struct json_object *t = json_tokener_parse(template_text);

		if (!t || idmefv2_mapping_compile_json("fuzz", t, &mapping, NULL, 0) != IDMEFV2_OK)
			abort();
		json_object_put(t);
	}
	ef = idmefv2_json_parse(text, size, &full, NULL, 0);
	ep = idmefv2__json_project(text, size, idmefv2__mapping_projection(mapping), &part);
	if (ep == IDMEFV2_OK) {
		if (ef != IDMEFV2_OK || !json_object_is_type(full, json_type_object))
			abort();
		af = idmefv2_mapping_apply(mapping, full, &out_full, NULL, 0);
		ap = idmefv2_mapping_apply(mapping, part, &out_part, NULL, 0);
		if (af != ap || !json_object_equal(out_full, out_part))
			abort();
	} else if (ep != IDMEFV2_ERR_PARSE) {
		abort();
	}
	json_object_put(out_full);
	json_object_put(out_part);
	json_object_put(full);
	json_object_put(part);
	return 0;
}
