/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file schema.h
 * A JSON Schema draft-04 validator: compile a schema once, validate many
 * documents, from many threads at once. Also the official IDMEFv2 schemas of
 * every revision, embedded in the library.
 */
#ifndef IDMEFV2_SCHEMA_H
#define IDMEFV2_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json_object.h>

#include <idmefv2/common.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct idmefv2_schema idmefv2_schema;
typedef struct idmefv2_schema_registry idmefv2_schema_registry;
typedef struct idmefv2_report idmefv2_report;

/** Flags for idmefv2_schema_validate() and the message calls that validate. */
enum idmefv2_validate_flags {
	IDMEFV2_VALIDATE_DEFAULT = 0,
	/** do not check "format" (checked by default) */
	IDMEFV2_VALIDATE_NO_FORMAT = 1u << 0,
	/** stop at the first failure (faster on invalid input; the report has one entry) */
	IDMEFV2_VALIDATE_FIRST_ERROR = 1u << 1,
};

/* ---- registry of remote schemas ------------------------------------------------ */

/**
 * A set of schema documents keyed by absolute URI, used to resolve remote
 * "$ref"s at compile time ("http://example.com/s.json#/definitions/x").
 * @return a new registry; release with idmefv2_schema_registry_free()
 */
IDMEFV2_EXPORT idmefv2_schema_registry *idmefv2_schema_registry_new(void);
IDMEFV2_EXPORT void idmefv2_schema_registry_free(idmefv2_schema_registry *reg);

/**
 * Add a document under @p uri (without fragment). The registry takes a new
 * reference on @p doc (json_object_get()); @p uri is copied.
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_schema_registry_add(idmefv2_schema_registry *reg,
                                                         const char *uri,
                                                         struct json_object *doc);

/* ---- compiling ------------------------------------------------------------------ */

/**
 * Compile a draft-04 schema document.
 * @param doc the schema; a new reference is taken, the caller keeps its own
 * @param base_uri the document's URI for resolving relative refs, or NULL
 * @param reg remote documents, or NULL; only used during this call
 * @param ret_schema on success a new schema; release with idmefv2_schema_unref()
 * @param errstr if not NULL, receives a message naming the schema pointer at fault
 * @return IDMEFV2_OK, or IDMEFV2_ERR_SCHEMA (bad keyword value, unresolvable $ref,
 *         invalid pattern), IDMEFV2_ERR_NOMEM
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_schema_compile(struct json_object *doc,
                                                    const char *base_uri,
                                                    const idmefv2_schema_registry *reg,
                                                    idmefv2_schema **ret_schema,
                                                    char *errstr, size_t errstr_size);

/** As idmefv2_schema_compile(), from JSON text of @p len bytes (IDMEFV2_ERR_PARSE on bad JSON). */
IDMEFV2_EXPORT idmefv2_error idmefv2_schema_compile_json(const char *text, size_t len,
                                                         const char *base_uri,
                                                         const idmefv2_schema_registry *reg,
                                                         idmefv2_schema **ret_schema,
                                                         char *errstr, size_t errstr_size);

/** As idmefv2_schema_compile_json(), reading the file at @p path (IDMEFV2_ERR_IO if unreadable). */
IDMEFV2_EXPORT idmefv2_error idmefv2_schema_load_file(const char *path,
                                                      const idmefv2_schema_registry *reg,
                                                      idmefv2_schema **ret_schema,
                                                      char *errstr, size_t errstr_size);

IDMEFV2_EXPORT idmefv2_schema *idmefv2_schema_ref(idmefv2_schema *schema);
IDMEFV2_EXPORT void idmefv2_schema_unref(idmefv2_schema *schema);

/** @return the schema document; borrowed, valid while @p schema lives. */
IDMEFV2_EXPORT struct json_object *idmefv2_schema_get_document(const idmefv2_schema *schema);

/* ---- validating ----------------------------------------------------------------- */

/**
 * Validate @p instance. Thread-safe: one compiled schema may be used by many
 * threads at once. Allocates nothing when the instance is valid.
 * @param flags a mask of idmefv2_validate_flags
 * @param ret_report if not NULL and the instance is invalid, receives a new
 *        report listing every failure (or the first one with
 *        IDMEFV2_VALIDATE_FIRST_ERROR); release with idmefv2_report_free().
 *        Left untouched when valid.
 * @return IDMEFV2_OK if valid, IDMEFV2_ERR_INVALID if not, IDMEFV2_ERR_NOMEM
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_schema_validate(const idmefv2_schema *schema,
                                                     struct json_object *instance,
                                                     unsigned flags,
                                                     idmefv2_report **ret_report);

/* ---- reports ---------------------------------------------------------------------- */

/** @return the number of failures in @p report. */
IDMEFV2_EXPORT size_t idmefv2_report_count(const idmefv2_report *report);
/** @return the JSON Pointer (RFC 6901) of the failing instance value, "" for the root; borrowed. */
IDMEFV2_EXPORT const char *idmefv2_report_instance_path(const idmefv2_report *report, size_t i);
/** @return the JSON Pointer of the failing schema keyword, e.g. "#/definitions/ipType/pattern"; borrowed. */
IDMEFV2_EXPORT const char *idmefv2_report_schema_path(const idmefv2_report *report, size_t i);
/** @return the failing keyword, e.g. "pattern"; borrowed. */
IDMEFV2_EXPORT const char *idmefv2_report_keyword(const idmefv2_report *report, size_t i);
/** @return a message naming the value and the rule, e.g. "\"10.0.0.300\" does not match the ipType pattern"; borrowed. */
IDMEFV2_EXPORT const char *idmefv2_report_message(const idmefv2_report *report, size_t i);
/**
 * @return a new JSON array of {"instance","schema","keyword","message"}
 *         objects; release with json_object_put()
 */
IDMEFV2_EXPORT struct json_object *idmefv2_report_to_json(const idmefv2_report *report);
IDMEFV2_EXPORT void idmefv2_report_free(idmefv2_report *report);

/* ---- the official IDMEFv2 schemas ---------------------------------------------------- */

/** The Version a new message gets: the latest stable revision, "2.D.V08". */
#define IDMEFV2_VERSION_LATEST "2.D.V08"

/**
 * @return the NULL-terminated list of known Versions, oldest first
 *         ("2.0.3", "2.D.V02", …, "2.D.V08", "2.D.V09-Dev"); static.
 */
IDMEFV2_EXPORT const char *const *idmefv2_schema_versions(void);

/**
 * The compiled official schema of @p version, compiled on first use
 * (thread-safe) and kept for the life of the process.
 * @return borrowed, never to be unref'd; NULL with IDMEFV2_ERR_VERSION in
 *         @p ret_err and a message listing the known Versions in @p errstr
 *         if @p version is unknown
 */
IDMEFV2_EXPORT const idmefv2_schema *idmefv2_schema_for_version(const char *version,
                                                                idmefv2_error *ret_err,
                                                                char *errstr, size_t errstr_size);

/**
 * @return the embedded text of the official schema of @p version and its
 *         length in @p ret_len, or NULL if unknown; static.
 */
IDMEFV2_EXPORT const char *idmefv2_schema_builtin_text(const char *version, size_t *ret_len);

#ifdef __cplusplus
}
#endif

#endif
