/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file common.h
 * Export macro and error codes shared by every libidmefv2 layer.
 */
#ifndef IDMEFV2_COMMON_H
#define IDMEFV2_COMMON_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define IDMEFV2_EXPORT __attribute__((visibility("default")))
#else
#define IDMEFV2_EXPORT
#endif

/**
 * Result of every fallible call. 0 is success; values are appended, never
 * renumbered.
 */
typedef enum idmefv2_error {
	IDMEFV2_OK = 0,
	IDMEFV2_ERR_INVALID_ARG = 1,   /**< a NULL or out-of-range argument */
	IDMEFV2_ERR_NOMEM = 2,         /**< memory allocation failed */
	IDMEFV2_ERR_PARSE = 3,         /**< malformed JSON (line and column in errstr) */
	IDMEFV2_ERR_NOT_OBJECT = 4,    /**< JSON text is not an object */
	IDMEFV2_ERR_CONTENT_TYPE = 5,  /**< unknown content type */
	IDMEFV2_ERR_PATH = 6,          /**< malformed IDMEF path, unknown attribute, index on a non-list */
	IDMEFV2_ERR_NOT_FOUND = 7,     /**< nothing at that path */
	IDMEFV2_ERR_TYPE = 8,          /**< the value at that path has another JSON type */
	IDMEFV2_ERR_INVALID = 9,       /**< the message fails schema validation */
	IDMEFV2_ERR_VERSION = 10,      /**< missing or unknown IDMEFv2 Version */
	IDMEFV2_ERR_SCHEMA = 11,       /**< the schema itself is malformed or a $ref is unresolvable */
	IDMEFV2_ERR_IO = 12,           /**< reading or writing a file failed */
	IDMEFV2_ERR_RANGE = 13,        /**< a list index is out of range */
	IDMEFV2_ERR_FULL = 14,         /**< a bounded queue or spool is full */
	IDMEFV2_ERR_CLOSED = 15,       /**< the queue or transport is closed */
	IDMEFV2_ERR_TIMEOUT = 16,      /**< the wait timed out */
	IDMEFV2_ERR_URL = 17,          /**< malformed URL or unknown scheme */
	IDMEFV2_ERR_NOT_BUILT = 18,    /**< the backend was disabled at build time */
	IDMEFV2_ERR_UNKNOWN_OPTION = 19, /**< no option of that name */
	IDMEFV2_ERR_STATE = 20,        /**< not allowed in the current state (e.g. send before start) */
	IDMEFV2_ERR_TRANSPORT = 21,    /**< network, TLS or broker failure */
} idmefv2_error;

/**
 * @return a static, human-readable description of @p err; never NULL.
 */
IDMEFV2_EXPORT const char *idmefv2_strerror(idmefv2_error err);

/**
 * @return the library version as "MAJOR.MINOR.MICRO"; static.
 */
IDMEFV2_EXPORT const char *idmefv2_version_string(void);

#ifdef __cplusplus
}
#endif

#endif
