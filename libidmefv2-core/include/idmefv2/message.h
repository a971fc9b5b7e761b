/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file message.h
 * An IDMEFv2 message in memory: a refcounted JSON object with access by IDMEF
 * path (draft-lehmann-idmefv2-08 §3.3.12), validation against the official
 * schema of the message's Version, and (un)serialization by content type.
 *
 * IDMEF paths: `Attribute`, `Class.Attribute`, with an optional list index on
 * the class and on the attribute: `Analyzer.Name`, `Source(0).IP`,
 * `Attachment(1).Hash(0)`, `Category(-1)` (negative indexes count from the
 * end), `Source(>>).IP` (append a new list entry). An index defaults to 0 and
 * `Source.IP` means `Source(0).IP`. Setters create missing intermediate
 * objects, lists and list entries (an index equal to the list's length
 * appends). A path naming a class or attribute unknown to the message's
 * schema revision, an index on a non-list or a malformed path is
 * IDMEFV2_ERR_PATH with a message in errstr.
 */
#ifndef IDMEFV2_MESSAGE_H
#define IDMEFV2_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json_object.h>

#include <idmefv2/common.h>
#include <idmefv2/schema.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct idmefv2_message idmefv2_message;

/** Flags for serialize/unserialize, combinable with idmefv2_validate_flags. */
enum idmefv2_serialize_flags {
	/** skip schema validation */
	IDMEFV2_SERIALIZE_NO_VALIDATE = 1u << 8,
	/** pretty-print (serialize only) */
	IDMEFV2_SERIALIZE_PRETTY = 1u << 9,
};

/* ---- life cycle -------------------------------------------------------------------- */

/**
 * A new message of @p version (NULL: IDMEFV2_VERSION_LATEST) with a fresh
 * `ID` (idmefv2_uuid_generate()) and `CreateTime` (now, UTC, microseconds).
 * @param ret_msg a new reference; release with idmefv2_message_unref()
 * @return IDMEFV2_OK, IDMEFV2_ERR_VERSION (errstr lists the known Versions), IDMEFV2_ERR_NOMEM
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_message_new(const char *version, idmefv2_message **ret_msg,
                                                 char *errstr, size_t errstr_size);

/**
 * Parse JSON text of @p len bytes (need not be NUL-terminated). Not validated.
 * @return IDMEFV2_OK; IDMEFV2_ERR_PARSE with "line L, column C: reason" in
 *         errstr for malformed JSON or trailing garbage; IDMEFV2_ERR_NOT_OBJECT
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_message_new_from_json(const char *text, size_t len,
                                                           idmefv2_message **ret_msg,
                                                           char *errstr, size_t errstr_size);

/**
 * Wrap a JSON object. A new reference is taken on @p obj (json_object_get()).
 * @return a new message, or NULL if @p obj is not a JSON object or on ENOMEM
 */
IDMEFV2_EXPORT idmefv2_message *idmefv2_message_new_from_object(struct json_object *obj);

IDMEFV2_EXPORT idmefv2_message *idmefv2_message_ref(idmefv2_message *msg);
IDMEFV2_EXPORT void idmefv2_message_unref(idmefv2_message *msg);

/** @return the underlying JSON object; borrowed, valid while @p msg lives. */
IDMEFV2_EXPORT struct json_object *idmefv2_message_get_object(const idmefv2_message *msg);

/** @return the message's Version string, or NULL if absent or not a string; borrowed. */
IDMEFV2_EXPORT const char *idmefv2_message_get_version(const idmefv2_message *msg);

/* ---- access by IDMEF path ------------------------------------------------------------ */

IDMEFV2_EXPORT idmefv2_error idmefv2_message_set_string(idmefv2_message *msg, const char *path,
                                                        const char *value,
                                                        char *errstr, size_t errstr_size);
/** @p value of @p len bytes; may contain NUL bytes. */
IDMEFV2_EXPORT idmefv2_error idmefv2_message_set_string_len(idmefv2_message *msg, const char *path,
                                                            const char *value, size_t len,
                                                            char *errstr, size_t errstr_size);
IDMEFV2_EXPORT idmefv2_error idmefv2_message_set_int(idmefv2_message *msg, const char *path,
                                                     int64_t value,
                                                     char *errstr, size_t errstr_size);
IDMEFV2_EXPORT idmefv2_error idmefv2_message_set_number(idmefv2_message *msg, const char *path,
                                                        double value,
                                                        char *errstr, size_t errstr_size);
IDMEFV2_EXPORT idmefv2_error idmefv2_message_set_bool(idmefv2_message *msg, const char *path,
                                                      bool value,
                                                      char *errstr, size_t errstr_size);
/**
 * Set any JSON value (object, array/list, or scalar).
 * @param value ownership is taken, also on failure
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_message_set_value(idmefv2_message *msg, const char *path,
                                                       struct json_object *value,
                                                       char *errstr, size_t errstr_size);
/**
 * Set from text as the command line does: @p text is parsed as JSON if it is
 * JSON text (a number, boolean, null, array, object, or a quoted string such
 * as "\"0.5\"" for the string 0.5), and taken verbatim as a string otherwise.
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_message_set_from_text(idmefv2_message *msg, const char *path,
                                                           const char *text,
                                                           char *errstr, size_t errstr_size);

/**
 * @param ret_value borrowed, valid until @p msg is modified or freed
 * @param ret_len if not NULL, the length in bytes
 * @return IDMEFV2_OK, IDMEFV2_ERR_NOT_FOUND, IDMEFV2_ERR_TYPE, IDMEFV2_ERR_PATH, IDMEFV2_ERR_RANGE
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_message_get_string(const idmefv2_message *msg, const char *path,
                                                        const char **ret_value, size_t *ret_len,
                                                        char *errstr, size_t errstr_size);
IDMEFV2_EXPORT idmefv2_error idmefv2_message_get_int(const idmefv2_message *msg, const char *path,
                                                     int64_t *ret_value,
                                                     char *errstr, size_t errstr_size);
/** Integers are converted to double. */
IDMEFV2_EXPORT idmefv2_error idmefv2_message_get_number(const idmefv2_message *msg, const char *path,
                                                        double *ret_value,
                                                        char *errstr, size_t errstr_size);
IDMEFV2_EXPORT idmefv2_error idmefv2_message_get_bool(const idmefv2_message *msg, const char *path,
                                                      bool *ret_value,
                                                      char *errstr, size_t errstr_size);
/** @param ret_value borrowed (no reference taken), valid until @p msg is modified or freed */
IDMEFV2_EXPORT idmefv2_error idmefv2_message_get_value(const idmefv2_message *msg, const char *path,
                                                       struct json_object **ret_value,
                                                       char *errstr, size_t errstr_size);
/** Remove the value at @p path (a list entry is removed from its list). */
IDMEFV2_EXPORT idmefv2_error idmefv2_message_delete(idmefv2_message *msg, const char *path,
                                                    char *errstr, size_t errstr_size);
/** @return the length of the list at @p path in @p ret_len (0 if absent). */
IDMEFV2_EXPORT idmefv2_error idmefv2_message_list_length(const idmefv2_message *msg, const char *path,
                                                         size_t *ret_len,
                                                         char *errstr, size_t errstr_size);

/* ---- validation and serialization ------------------------------------------------------ */

/**
 * Validate against the official schema of the message's Version.
 * @param flags idmefv2_validate_flags
 * @param ret_report as idmefv2_schema_validate()
 * @return IDMEFV2_OK, IDMEFV2_ERR_INVALID, IDMEFV2_ERR_VERSION (missing or
 *         unknown Version; errstr lists the known ones)
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_message_validate(const idmefv2_message *msg, unsigned flags,
                                                      idmefv2_report **ret_report,
                                                      char *errstr, size_t errstr_size);

/**
 * Parse any JSON text of @p len bytes as strictly as unserialize does (RFC 8259:
 * UTF-8 checked, no NaN, no single quotes, no trailing garbage).
 * @param ret_obj a new reference (NULL for the text "null"); release with json_object_put()
 * @return IDMEFV2_OK; IDMEFV2_ERR_PARSE with "line L, column C: reason" in errstr
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_json_parse(const char *text, size_t len, struct json_object **ret_obj,
                                                char *errstr, size_t errstr_size);

/** @return true if @p content_type ("application/json", "text/json", parameters allowed) is supported. */
IDMEFV2_EXPORT bool idmefv2_content_type_supported(const char *content_type);

/**
 * Serialize to @p content_type. Validates first unless
 * IDMEFV2_SERIALIZE_NO_VALIDATE is in @p flags.
 * @param ret_data borrowed, valid until @p msg is next serialized, modified or freed
 * @param ret_len length in bytes (the data is also NUL-terminated)
 * @param ret_report as idmefv2_message_validate(); may be NULL
 * @return IDMEFV2_OK, IDMEFV2_ERR_CONTENT_TYPE, IDMEFV2_ERR_INVALID, IDMEFV2_ERR_VERSION
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_message_serialize(idmefv2_message *msg, const char *content_type,
                                                       unsigned flags,
                                                       const char **ret_data, size_t *ret_len,
                                                       idmefv2_report **ret_report,
                                                       char *errstr, size_t errstr_size);

/**
 * Unserialize @p len bytes of @p content_type, then validate (unless
 * IDMEFV2_SERIALIZE_NO_VALIDATE).
 * @param ret_msg a new reference on success (IDMEFV2_OK only)
 * @param ret_report as idmefv2_message_validate(); may be NULL
 * @return IDMEFV2_OK, IDMEFV2_ERR_CONTENT_TYPE, IDMEFV2_ERR_PARSE,
 *         IDMEFV2_ERR_NOT_OBJECT, IDMEFV2_ERR_VERSION, IDMEFV2_ERR_INVALID
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_message_unserialize(const char *content_type,
                                                         const char *data, size_t len,
                                                         unsigned flags,
                                                         idmefv2_message **ret_msg,
                                                         idmefv2_report **ret_report,
                                                         char *errstr, size_t errstr_size);

#ifdef __cplusplus
}
#endif

#endif
