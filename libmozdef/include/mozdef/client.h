/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file client.h
 * Delivery of MozDef events over HTTP(S), syslog and AWS SQS.
 *
 * A send goes, in this order, to syslog when `syslog.enabled` is true (and
 * stops there when `syslog.only` is also true), then to SQS when `sqs.queue`
 * is set, otherwise to the client's URL by HTTP POST. The first failure ends
 * the send and is returned. Success over HTTP is any 2xx status; 5xx answers
 * and connection failures are retried with exponential backoff
 * (`http.retries`, `http.retry_backoff_ms`); other failures are not retried.
 *
 * Options are string-keyed (mozdef_client_set()); mozdef_option_list()
 * describes each key, its default and its range. TLS certificates are
 * verified unless `tls.verify` is set to false.
 *
 * Asynchronous sends (mozdef_client_send_async()) queue the serialized event
 * for a background thread that keeps up to `async.max_connections` requests
 * in flight. Every queued event reaches the completion callback exactly once,
 * with its outcome, from that thread. mozdef_client_flush() waits for the queue
 * to drain and mozdef_client_free() flushes before returning. With
 * `bulk.enabled`, queued events are grouped (up to `bulk.max_events`) into
 * one NDJSON POST to `bulk.url`; each event of the batch gets the batch's
 * outcome.
 *
 * A client may be used from several threads at once.
 */
#ifndef MOZDEF_CLIENT_H
#define MOZDEF_CLIENT_H

#include <stddef.h>

#include <mozdef/common.h>
#include <mozdef/event.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mozdef_client mozdef_client;

/** The outcome of one delivery. */
typedef struct mozdef_result {
	mozdef_error error;     /**< MOZDEF_OK when delivered */
	long http_status;       /**< the last HTTP status received (HTTP and SQS), 0 if none */
	unsigned attempts;      /**< requests made, retries included (0 for syslog-only) */
	char message[256];      /**< what happened, naming the destination; empty on success */
} mozdef_result;

/**
 * Called once per asynchronously sent event, from the client's worker thread
 * (for a send that goes to syslog only, from the sending thread before
 * mozdef_client_send_async() returns).
 * @param result borrowed, valid during the call
 * @param opaque the pointer given to mozdef_client_send_async()
 * The callback must not block on the client (no blocking send_async, flush or free).
 */
typedef void (*mozdef_completion_cb)(const mozdef_result *result, void *opaque, void *user_data);

/** One configuration key, as listed by mozdef_option_list(). */
typedef struct mozdef_option_info {
	const char *name;          /**< e.g. "http.timeout_ms" */
	const char *type;          /**< "int", "bool" or "string" */
	const char *default_value; /**< as a string; "" for none */
	const char *description;   /**< one line, with the range */
} mozdef_option_info;

/**
 * @param ret_count the number of entries
 * @return the table of every option; static
 */
MOZDEF_EXPORT const mozdef_option_info *mozdef_option_list(size_t *ret_count);

/**
 * A new client posting to @p url (http:// or https://; the MozDef loginput
 * `/events` route). @p url may be NULL for a client that only uses syslog or
 * SQS. The URL is copied.
 * @param ret_client release with mozdef_client_free()
 * @return MOZDEF_OK, MOZDEF_ERR_OPTION_VALUE for a URL that is not http(s)
 *         (errstr says why), MOZDEF_ERR_NOMEM
 */
MOZDEF_EXPORT mozdef_error mozdef_client_new(const char *url, mozdef_client **ret_client, char *errstr,
                                             size_t errstr_size);

/**
 * Flush every queued event (each reaches the callback), stop the worker and
 * release @p client. NULL is accepted.
 */
MOZDEF_EXPORT void mozdef_client_free(mozdef_client *client);

/**
 * Set option @p key to @p value (strings are copied). Options are read when a
 * request is prepared; set them before the first send.
 * @return MOZDEF_OK, MOZDEF_ERR_UNKNOWN_OPTION, MOZDEF_ERR_OPTION_VALUE (errstr
 *         names the key and the accepted values), MOZDEF_ERR_NOMEM
 */
MOZDEF_EXPORT mozdef_error mozdef_client_set(mozdef_client *client, const char *key, const char *value,
                                             char *errstr, size_t errstr_size);

/**
 * Install the completion callback for asynchronous sends (NULL for none).
 * Set it before the first asynchronous send.
 */
MOZDEF_EXPORT void mozdef_client_set_callback(mozdef_client *client, mozdef_completion_cb cb, void *user_data);

/**
 * Validate, serialize and deliver @p ev now, retries included. Synchronous
 * sends of one client are made one at a time.
 * @param ret_result if not NULL, filled with the outcome
 * @return the outcome's error: MOZDEF_OK, MOZDEF_ERR_INVALID (the message
 *         names the key), MOZDEF_ERR_HTTP, MOZDEF_ERR_TRANSPORT,
 *         MOZDEF_ERR_SYSLOG, MOZDEF_ERR_SQS, MOZDEF_ERR_TOO_LARGE,
 *         MOZDEF_ERR_CREDENTIALS, MOZDEF_ERR_STATE (no destination)
 */
MOZDEF_EXPORT mozdef_error mozdef_client_send(mozdef_client *client, const mozdef_event *ev,
                                              mozdef_result *ret_result);

/**
 * Validate and serialize @p ev, write it to syslog if configured, and queue it
 * for HTTP or SQS delivery. The event may be freed on return. When the queue
 * is full this waits for room if `async.block` is true, else fails.
 * @param opaque handed to the completion callback
 * @param errstr filled on failure
 * @return MOZDEF_OK when queued (the outcome then goes to the callback), or an
 *         error detected before queueing, for which the callback is not called:
 *         MOZDEF_ERR_INVALID, MOZDEF_ERR_TOO_LARGE, MOZDEF_ERR_SYSLOG,
 *         MOZDEF_ERR_FULL, MOZDEF_ERR_CLOSED, MOZDEF_ERR_STATE, MOZDEF_ERR_NOMEM
 */
MOZDEF_EXPORT mozdef_error mozdef_client_send_async(mozdef_client *client, const mozdef_event *ev, void *opaque,
                                                    char *errstr, size_t errstr_size);

/**
 * Wait until every event queued so far has reached the callback.
 * @param timeout_ms < 0 waits without limit
 * @return MOZDEF_OK, MOZDEF_ERR_TIMEOUT
 */
MOZDEF_EXPORT mozdef_error mozdef_client_flush(mozdef_client *client, int timeout_ms);

/**
 * Deliver @p count events now as one NDJSON POST to `bulk.url` (one event
 * goes to the client's URL instead: the server would read a single JSON
 * object posted to `/_bulk` as a list of its keys). Every event is validated
 * first; none is sent if one fails (the message gives its index).
 * @return as mozdef_client_send(); syslog and SQS are not used
 */
MOZDEF_EXPORT mozdef_error mozdef_client_send_bulk(mozdef_client *client, const mozdef_event *const *events,
                                                   size_t count, mozdef_result *ret_result);

#ifdef __cplusplus
}
#endif

#endif
