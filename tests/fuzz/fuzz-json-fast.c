/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the core's one-pass JSON parser against json-c's path.
 * Whenever the one-pass parser accepts bytes, json-c's path must accept them
 * and build an equal value printed identically; otherwise this aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "message-private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *fast = NULL, *slow = NULL;
	const char *text = (const char *)data;
	bool ok = idmefv2__json_parse_fast(text, size, &fast);
	idmefv2_error e = idmefv2__json_parse_jsonc(text, size, &slow, NULL, 0);

	if (ok) {
		if (e != IDMEFV2_OK || !json_object_equal(fast, slow) ||
		    strcmp(json_object_to_json_string_ext(fast, JSON_C_TO_STRING_PLAIN),
		           json_object_to_json_string_ext(slow, JSON_C_TO_STRING_PLAIN)) != 0)
			abort();
	}
	json_object_put(fast);
	json_object_put(slow);
	return 0;
}
