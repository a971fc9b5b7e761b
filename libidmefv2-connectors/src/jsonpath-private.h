/* SPDX-License-Identifier: Apache-2.0 */
/* A compiled subset of RFC 9535 JSONPath: names, indexes, wildcards. */
#ifndef IDMEFV2_JSONPATH_PRIVATE_H
#define IDMEFV2_JSONPATH_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include <idmefv2/common.h>

typedef struct idmefv2__jsonpath idmefv2__jsonpath;

/* errstr gets the reason and the offset in @p text. */
idmefv2_error idmefv2__jsonpath_compile(const char *text, idmefv2__jsonpath **ret_path,
                                        char *errstr, size_t errstr_size);
void idmefv2__jsonpath_free(idmefv2__jsonpath *path);

/*
 * The member names the path starts with, up to its first index or wildcard:
 * their count (at most @p max stored in @p names, borrowed from the path).
 * *ret_more tells whether segments follow them.
 */
size_t idmefv2__jsonpath_names(const idmefv2__jsonpath *path, const char **names, size_t max, bool *ret_more);

/*
 * Evaluate on @p root. Without a wildcard: a new reference to the match, or
 * NULL (missing). With one: a new array of every match (NULL when empty).
 * JSON null counts as missing.
 */
struct json_object *idmefv2__jsonpath_eval(const idmefv2__jsonpath *path, struct json_object *root);

#endif
