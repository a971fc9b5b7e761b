/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file client.h
 * The eStreamer client: mutual TLS, requests, decoding, bookmark,
 * reconnection and plugins.
 */
#ifndef ESTREAMER_CLIENT_H
#define ESTREAMER_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <estreamer/common.h>
#include <estreamer/decode.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A client. */
typedef struct estreamer_client estreamer_client;

/** Log levels of the log callback. */
typedef enum estreamer_log_level {
	ESTREAMER_LOG_ERROR = 0,
	ESTREAMER_LOG_WARNING = 1,
	ESTREAMER_LOG_INFO = 2,
	ESTREAMER_LOG_DEBUG = 3,
} estreamer_log_level;

/** Receives the client's log lines (no trailing newline). */
typedef void (*estreamer_log_cb)(void *user, estreamer_log_level level, const char *msg);

/** What a client has done so far. */
typedef struct estreamer_counters {
	uint64_t connections;      /**< successful TLS sessions */
	uint64_t messages;         /**< messages received */
	uint64_t bundles;          /**< Message Bundles received */
	uint64_t records;          /**< records delivered */
	uint64_t unknown_records;  /**< records delivered without a layout */
	uint64_t duplicates;       /**< re-sent records dropped after a resume */
	uint64_t errors;           /**< connection, TLS, protocol and decode failures */
	uint64_t server_errors;    /**< Error messages received */
	uint64_t plugin_loads;     /**< plugins loaded */
	uint64_t plugin_unloads;   /**< plugins unloaded */
	uint64_t plugin_errors;    /**< plugin callbacks that failed, plugins refused */
} estreamer_counters;

/**
 * @return a new client with default options; release with
 *         estreamer_client_free(); NULL on allocation failure
 */
ESTREAMER_EXPORT estreamer_client *estreamer_client_new(void);

/** Releases @p client (not while estreamer_client_run() runs); accepts NULL. */
ESTREAMER_EXPORT void estreamer_client_free(estreamer_client *client);

/**
 * Sets an option by name; string arguments are copied. The options are
 * listed by estreamer_option_describe().
 * @return ESTREAMER_ERR_UNKNOWN_OPTION or ESTREAMER_ERR_INVALID_ARG with a
 *         description in @p errstr
 */
ESTREAMER_EXPORT estreamer_error estreamer_client_set(estreamer_client *client, const char *key,
						      const char *value, char *errstr,
						      size_t errstr_size);

/**
 * Describes option number @p index (0, 1, … until an error).
 * @param ret_name, ret_default, ret_description static strings
 * @return ESTREAMER_ERR_INVALID_ARG past the last option
 */
ESTREAMER_EXPORT estreamer_error estreamer_option_describe(size_t index, const char **ret_name,
							   const char **ret_default,
							   const char **ret_description);

/**
 * Installs the callback receiving each record, before the plugins. A record
 * for which it returns non-zero (stop) is not delivered: plugins do not see
 * it and the bookmark does not cover it.
 */
ESTREAMER_EXPORT void estreamer_client_set_record_callback(estreamer_client *client,
							   estreamer_record_cb cb, void *user);

/**
 * Makes durable what the record callback wrote (flush, fsync).
 * @return 0; non-zero when the outputs failed
 */
typedef int (*estreamer_flush_cb)(void *user);

/**
 * Installs the callback called before the bookmark file advances: every record
 * the bookmark will cover has been handed to the record callback and the
 * plugins, and must be on disk when it returns 0, so that a crash loses
 * nothing (records after the bookmark are received again). A non-zero return
 * keeps the older bookmark and stops the client. Not called without
 * "bookmark.file".
 */
ESTREAMER_EXPORT void estreamer_client_set_flush_callback(estreamer_client *client,
							  estreamer_flush_cb cb, void *user);

/** Installs the log callback; without one the client is silent. */
ESTREAMER_EXPORT void estreamer_client_set_log_callback(estreamer_client *client,
							estreamer_log_cb cb, void *user);

/**
 * Connects, sends the requests and delivers records until
 * estreamer_client_stop() is called or a failure is final: an error no retry
 * can fix (estreamer_error_is_permanent(): credentials, a server certificate
 * not trusted or for another host, a refusal by the server, an unsafe plugins
 * directory; on the first connection or any later one), or more consecutive
 * transient failures than "reconnect.max_attempts". Between attempts it waits
 * with exponential backoff and resumes from the bookmark.
 * @return ESTREAMER_OK after a stop; otherwise the last failure, described
 *         in @p errstr
 */
ESTREAMER_EXPORT estreamer_error estreamer_client_run(estreamer_client *client, char *errstr,
						      size_t errstr_size);

/**
 * Asks estreamer_client_run() to return; callable from any thread and from a
 * signal handler.
 */
ESTREAMER_EXPORT void estreamer_client_stop(estreamer_client *client);

/** Copies the counters; callable from any thread. */
ESTREAMER_EXPORT void estreamer_client_get_counters(estreamer_client *client,
						    estreamer_counters *ret_counters);

/**
 * @return the newest archival timestamp delivered (or loaded from the
 *         bookmark file), 0 when none; callable from any thread
 */
ESTREAMER_EXPORT uint32_t estreamer_client_get_bookmark(estreamer_client *client);

/** @return how many plugins are loaded now; callable from any thread */
ESTREAMER_EXPORT size_t estreamer_client_plugin_count(estreamer_client *client);

#ifdef __cplusplus
}
#endif

#endif
