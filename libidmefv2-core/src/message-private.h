/* SPDX-License-Identifier: Apache-2.0 */
/* The message object, shared by message.c, path.c and serialize.c. */
#ifndef IDMEFV2_MESSAGE_PRIVATE_H
#define IDMEFV2_MESSAGE_PRIVATE_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdbool.h>

#include <json-c/json_object.h>

#include <idmefv2/message.h>

#include "idmefv2-common.h"

/* The serialize flags; the rest of the flags word belongs to the validator. */
#define IDMEFV2__SERIALIZE_MASK (IDMEFV2_SERIALIZE_NO_VALIDATE | IDMEFV2_SERIALIZE_PRETTY)

/*
 * Refcounted, but not locked: a message may be read from many threads at
 * once, and modified (or serialized, which writes json-c's print buffer) by
 * one thread at a time.
 */
struct idmefv2_message {
	atomic_uint refcount;
	struct json_object *obj; /* always a JSON object */
};

/* Wrap @obj, taking over the caller's reference (also when NULL is returned). */
idmefv2_message *idmefv2__message_wrap(struct json_object *obj);

/*
 * Parse one JSON value from @len bytes of @text strictly (RFC 8259; json-c's
 * laxities such as NaN, single quotes or raw control characters in strings
 * are refused), with nothing but whitespace after it. JSON null gives OK and
 * *@ret_obj == NULL. On failure IDMEFV2_ERR_PARSE with "line L, column C:
 * reason" in @errstr (which may be NULL); IDMEFV2_ERR_NOMEM.
 */
/*
 * json-fast.c: the common case in one pass, built as json-c builds it; false
 * means "parse with json-c" (never an error of its own). Any JSON value.
 */
bool idmefv2__json_parse_fast(const char *text, size_t len, struct json_object **ret_obj);
/* The json-c path of idmefv2__json_parse(), on its own (for tests). */
idmefv2_error idmefv2__json_parse_jsonc(const char *text, size_t len, struct json_object **ret_obj,
                                        char *errstr, size_t errstr_size);

idmefv2_error idmefv2__json_parse(const char *text, size_t len, struct json_object **ret_obj,
                                  char *errstr, size_t errstr_size);

/* "an object", "an array", "a string", "a number", "a boolean" or "null". */
const char *idmefv2__message_json_kind(struct json_object *v);

/* snprintf into an optional error buffer (common/idmefv2-common.h). */
#define idmefv2__message_error idmefv2__set_error

/* Write the known Versions as ` "2.0.3", "2.D.V02", …` after @prefix. */
void idmefv2__message_version_error(char *errstr, size_t errstr_size, const char *prefix);

#endif
