/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file pipeline.h
 * From native alerts to delivered IDMEFv2 messages: strict JSON parse, mapping,
 * validation against one configured Version, then a transport or a callback.
 *
 * No input ever stops the pipeline: a malformed line, a filtered input, a
 * mapping failure or an invalid output is logged (with its origin and line),
 * counted, and the next input is taken. Malformed inputs, inputs whose
 * mapping failed and invalid outputs may also be appended to a dead-letter
 * NDJSON file, one object per line: {"origin", "line", "error", "input",
 * "output"}. "input" is the parsed input, or the line as a JSON string when it
 * was not JSON; a line that is not valid UTF-8 (so cannot be a JSON string)
 * is given as "input_base64" instead, its exact bytes in RFC 4648 base64.
 * "output" is absent unless an output was built. Every record is valid
 * UTF-8 JSON.
 *
 * push calls must not run concurrently on one pipeline; the counters may be
 * read from any thread (the delivery callback updates them from a transport
 * thread).
 */
#ifndef IDMEFV2_PIPELINE_H
#define IDMEFV2_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include <idmefv2/common.h>
#include <idmefv2/mapping.h>
#include <idmefv2/transport.h>

#ifdef __cplusplus
extern "C" {
#endif

struct json_object;

typedef struct idmefv2_pipeline idmefv2_pipeline;

/** Counters, monotonic since idmefv2_pipeline_new(). */
typedef struct idmefv2_pipeline_counters {
	uint64_t read;      /**< inputs pushed */
	uint64_t malformed; /**< lines that are not a JSON object */
	uint64_t filtered;  /**< excluded by the template's "$filter" */
	uint64_t converted; /**< valid outputs handed to the output */
	uint64_t invalid;   /**< outputs failing the schema, or inputs the mapping refused */
	uint64_t sent;      /**< delivered (transport: SENT outcome; callback: returned IDMEFV2_OK) */
	uint64_t failed;    /**< not delivered (transport: REJECTED/FAILED or refused by send; callback: an error) */
} idmefv2_pipeline_counters;

/** What became of one input. */
typedef enum idmefv2_pipeline_result {
	IDMEFV2_PIPELINE_CONVERTED = 0, /**< valid and handed to the output (which may still fail) */
	IDMEFV2_PIPELINE_FILTERED = 1,
	IDMEFV2_PIPELINE_MALFORMED = 2,
	IDMEFV2_PIPELINE_INVALID = 3,
} idmefv2_pipeline_result;

/**
 * Output callback, an alternative to a transport.
 * @param output the validated message, borrowed (take a reference to keep it)
 * @return IDMEFV2_OK counts it sent, anything else failed
 */
typedef idmefv2_error (*idmefv2_pipeline_output_cb)(idmefv2_pipeline *p, struct json_object *output,
                                                    void *user_data);

/**
 * Delivery callback for inputs pushed with a non-NULL opaque (the *_tracked
 * pushes) whose outcome was IDMEFV2_PIPELINE_CONVERTED: called with the
 * transport's outcome for that input's message (from a transport thread,
 * possibly before the push returns), or, when the message never reached the
 * transport (send() refused it) or went to an output callback, from the
 * pushing thread. With a transport reporting IDMEFV2_DELIVERY_SPOOLED, a
 * later call for the same opaque may follow; any first call means the message
 * is delivered, on disk, or resolved for good. Inputs filtered, malformed or
 * invalid get no call: their push's result resolves them.
 */
typedef void (*idmefv2_pipeline_delivery_cb)(idmefv2_pipeline *p, void *opaque, idmefv2_delivery_status status,
                                             void *user_data);

/**
 * @param mapping borrowed; must outlive the pipeline
 * @param version the Version outputs are validated against; NULL for
 *        IDMEFV2_VERSION_LATEST
 * @return IDMEFV2_OK, IDMEFV2_ERR_INVALID_ARG, IDMEFV2_ERR_VERSION (errstr
 *         lists the known Versions), IDMEFV2_ERR_NOMEM
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_pipeline_new(const idmefv2_mapping *mapping, const char *version,
                                                  idmefv2_pipeline **ret_p,
                                                  char *errstr, size_t errstr_size);

/** Logged: malformed lines, invalid outputs, mapping and delivery failures (level WARNING). */
IDMEFV2_EXPORT void idmefv2_pipeline_set_log_cb(idmefv2_pipeline *p, idmefv2_log_cb cb, void *user_data);

/**
 * Send outputs through @p t (borrowed; must outlive the pipeline), serialized
 * as application/json. Installs the pipeline's delivery callback on @p t, so
 * call it before idmefv2_transport_start(). The caller starts, flushes and
 * frees the transport. Replaces any output callback.
 */
IDMEFV2_EXPORT void idmefv2_pipeline_set_transport(idmefv2_pipeline *p, idmefv2_transport *t);

/** Install the delivery callback (NULL removes it); set it before pushing. */
IDMEFV2_EXPORT void idmefv2_pipeline_set_delivery_cb(idmefv2_pipeline *p, idmefv2_pipeline_delivery_cb cb,
                                                     void *user_data);

/** Give outputs to @p cb instead of a transport. */
IDMEFV2_EXPORT void idmefv2_pipeline_set_output_cb(idmefv2_pipeline *p, idmefv2_pipeline_output_cb cb,
                                                   void *user_data);

/**
 * Append rejected inputs to the NDJSON file at @p path (created if needed,
 * flushed after each record); NULL stops dead-lettering.
 * @return IDMEFV2_OK or IDMEFV2_ERR_IO
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_pipeline_set_dead_letter(idmefv2_pipeline *p, const char *path,
                                                              char *errstr, size_t errstr_size);

/**
 * Process one line of @p len bytes (need not be NUL-terminated; a trailing
 * "\n" or "\r\n" is ignored).
 * @param origin names the source in logs (e.g. a file name); NULL: "input"
 * @param line the line number shown in logs; 0: the count of inputs read
 * @param ret_result if not NULL, the outcome
 * @return IDMEFV2_OK whatever the outcome; IDMEFV2_ERR_INVALID_ARG, IDMEFV2_ERR_NOMEM
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_pipeline_push_line(idmefv2_pipeline *p, const char *text, size_t len,
                                                        const char *origin, uint64_t line,
                                                        idmefv2_pipeline_result *ret_result);

/** As idmefv2_pipeline_push_line() with an already parsed input (borrowed); a non-object is malformed. */
IDMEFV2_EXPORT idmefv2_error idmefv2_pipeline_push_object(idmefv2_pipeline *p, struct json_object *input,
                                                          const char *origin, uint64_t line,
                                                          idmefv2_pipeline_result *ret_result);

/**
 * As idmefv2_pipeline_push_line(), with the input's identity and tracking.
 * @param id if not NULL, a UUID (canonical form, copied) that replaces the
 *        output's top-level "ID": derive it from the input's identity with
 *        idmefv2_uuid_from_name() so that an input converted again after a
 *        crash gives a message with the same ID (docs/ids.md)
 * @param opaque if not NULL, given back to the delivery callback
 * @return as idmefv2_pipeline_push_line(); IDMEFV2_ERR_INVALID_ARG for an
 *         @p id that is not a UUID
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_pipeline_push_line_tracked(idmefv2_pipeline *p, const char *text, size_t len,
                                                                const char *origin, uint64_t line,
                                                                const char *id, void *opaque,
                                                                idmefv2_pipeline_result *ret_result);

/** As idmefv2_pipeline_push_object(), with an ID and tracking as idmefv2_pipeline_push_line_tracked(). */
IDMEFV2_EXPORT idmefv2_error idmefv2_pipeline_push_object_tracked(idmefv2_pipeline *p, struct json_object *input,
                                                                  const char *origin, uint64_t line,
                                                                  const char *id, void *opaque,
                                                                  idmefv2_pipeline_result *ret_result);

IDMEFV2_EXPORT void idmefv2_pipeline_get_counters(idmefv2_pipeline *p,
                                                  idmefv2_pipeline_counters *ret_counters);

/** Frees; the transport, if any, is not stopped (stop it first so no delivery callback is pending). Accepts NULL. */
IDMEFV2_EXPORT void idmefv2_pipeline_free(idmefv2_pipeline *p);

#ifdef __cplusplus
}
#endif

#endif
