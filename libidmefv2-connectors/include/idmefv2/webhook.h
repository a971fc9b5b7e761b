/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file webhook.h
 * Receive JSON webhooks over HTTP (libmicrohttpd) and route them by method
 * and exact path to callbacks.
 *
 * The receiver runs one internal thread (or one per connection, idmefv2_webhook_set_threads()):
 * route callbacks are called from it, one request at a time, with the parsed
 * body. Answers:
 *  - 401 (with WWW-Authenticate) when authentication is configured and the
 *    request's Authorization does not match; checked before routing;
 *  - 404 for a path no route has; 405 with Allow for a known path and
 *    another method;
 *  - 415 for a body whose Content-Type is not application/json or text/json
 *    (parameters allowed);
 *  - 413 for a body over the limit (Content-Length or actual size);
 *  - 400 for malformed JSON, with "line L, column C: reason";
 *  - then the callback's verdict: IDMEFV2_OK gives the route's status (200
 *    with "OK" or 204); IDMEFV2_ERR_FULL, _CLOSED, _TIMEOUT, _TRANSPORT and
 *    _STATE give 503 with Retry-After; IDMEFV2_ERR_INVALID_ARG, _PARSE,
 *    _NOT_OBJECT, _TYPE, _NOT_FOUND, _PATH, _INVALID and _VERSION give 400;
 *    anything else 500.
 * Error answers carry a JSON body {"error": "..."}.
 *
 * Configuration is done before idmefv2_webhook_start(); the receiver is then
 * read-only until idmefv2_webhook_stop(). Counters may be read from any
 * thread at any time.
 */
#ifndef IDMEFV2_WEBHOOK_H
#define IDMEFV2_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include <idmefv2/common.h>
#include <idmefv2/transport.h>

#ifdef __cplusplus
extern "C" {
#endif

struct json_object;

/** Default body limit, in bytes. */
#define IDMEFV2_WEBHOOK_DEFAULT_MAX_BODY (1024 * 1024)
/** Default Retry-After of a 503, in seconds. */
#define IDMEFV2_WEBHOOK_DEFAULT_RETRY_AFTER 5
/** Most routes a receiver holds. */
#define IDMEFV2_WEBHOOK_MAX_ROUTES 32

typedef struct idmefv2_webhook idmefv2_webhook;

/**
 * Route callback, from the receiver's thread (one of its threads).
 * @param body the parsed body, borrowed for the call (json_object_get() to
 *        keep it); NULL when the request has no body or its body is "null".
 * @param method, path the request's (borrowed).
 * @return the verdict, mapped to the HTTP status as described above.
 */
typedef idmefv2_error (*idmefv2_webhook_cb)(struct json_object *body, const char *method, const char *path,
                                            void *user_data);

/** Counters, all monotonic since idmefv2_webhook_new(). */
typedef struct idmefv2_webhook_counters {
	uint64_t requests;       /**< requests answered */
	uint64_t accepted;       /**< answered 2xx (the callback returned IDMEFV2_OK) */
	uint64_t rejected;       /**< answered anything else; the sum of the counts below */
	uint64_t bad_request;    /**< 400: malformed JSON or refused as bad input by the callback */
	uint64_t unauthorized;   /**< 401 */
	uint64_t not_found;      /**< 404 */
	uint64_t bad_method;     /**< 405 */
	uint64_t too_large;      /**< 413 */
	uint64_t bad_type;       /**< 415 */
	uint64_t internal_error; /**< 500 */
	uint64_t unavailable;    /**< 503 */
} idmefv2_webhook_counters;

/**
 * Create a receiver listening on 127.0.0.1 (loopback only), port 0 (an
 * ephemeral port), with no route and no authentication.
 * @return a new receiver; release with idmefv2_webhook_free(); NULL when out of memory.
 */
IDMEFV2_EXPORT idmefv2_webhook *idmefv2_webhook_new(void);

/** Stop @p w if started, then release it (accepts NULL). */
IDMEFV2_EXPORT void idmefv2_webhook_free(idmefv2_webhook *w);

/** Set the log callback (start failures, libmicrohttpd errors). */
IDMEFV2_EXPORT void idmefv2_webhook_set_log_cb(idmefv2_webhook *w, idmefv2_log_cb cb, void *user_data);

/**
 * Listen on the numeric IPv4 or IPv6 @p address (NULL for 0.0.0.0) and
 * @p port (0: an ephemeral port, see idmefv2_webhook_get_port()).
 * @return IDMEFV2_ERR_INVALID_ARG for an address that is not numeric or a
 *         port over 65535; IDMEFV2_ERR_STATE once started.
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_webhook_set_address(idmefv2_webhook *w, const char *address, unsigned port);

/**
 * Largest body accepted, in bytes (default IDMEFV2_WEBHOOK_DEFAULT_MAX_BODY).
 * @return IDMEFV2_ERR_INVALID_ARG for 0, IDMEFV2_ERR_STATE once started.
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_webhook_set_max_body(idmefv2_webhook *w, size_t max_body);

/** Most threads of idmefv2_webhook_set_threads(). */
#define IDMEFV2_WEBHOOK_MAX_THREADS 64

/**
 * Serve requests from one thread (@p threads 1, the default) or, with more,
 * from a thread per connection, at most @p threads connections at once
 * (further ones wait to be accepted). Route callbacks then run concurrently:
 * for callbacks that block (e.g. until what they received is delivered)
 * without holding up the other requests.
 * @return IDMEFV2_ERR_INVALID_ARG for 0 or more than
 *         IDMEFV2_WEBHOOK_MAX_THREADS, IDMEFV2_ERR_STATE once started.
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_webhook_set_threads(idmefv2_webhook *w, unsigned threads);

/**
 * Retry-After of a 503, in seconds (default IDMEFV2_WEBHOOK_DEFAULT_RETRY_AFTER).
 * @return IDMEFV2_ERR_STATE once started.
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_webhook_set_retry_after(idmefv2_webhook *w, unsigned seconds);

/**
 * Require HTTP Basic authentication (both copied; NULL @p user removes it).
 * Replaces a bearer token. @return IDMEFV2_ERR_STATE once started.
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_webhook_set_basic_auth(idmefv2_webhook *w, const char *user,
                                                            const char *password);

/**
 * Require "Authorization: Bearer @p token" (copied; NULL removes it).
 * Replaces Basic authentication. @return IDMEFV2_ERR_STATE once started.
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_webhook_set_bearer(idmefv2_webhook *w, const char *token);

/**
 * Route requests of @p method (e.g. "POST", case-sensitive) to the exact
 * @p path (e.g. "/alert", without query string) to @p cb. Both copied.
 * @param ok_status the answer when @p cb returns IDMEFV2_OK: 200 or 204.
 * @return IDMEFV2_ERR_INVALID_ARG for a NULL or empty method, a path not
 *         starting with '/', a NULL callback, another status, or a route
 *         already registered for that method and path; IDMEFV2_ERR_FULL past
 *         IDMEFV2_WEBHOOK_MAX_ROUTES; IDMEFV2_ERR_STATE once started.
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_webhook_add_route(idmefv2_webhook *w, const char *method, const char *path,
                                                       unsigned ok_status, idmefv2_webhook_cb cb,
                                                       void *user_data);

/**
 * Bind and start serving.
 * @return IDMEFV2_ERR_STATE if already started or no route is registered;
 *         IDMEFV2_ERR_TRANSPORT when the socket cannot be bound or the
 *         daemon not started, with detail in @p errstr (may be NULL).
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_webhook_start(idmefv2_webhook *w, char *errstr, size_t errstr_size);

/** The bound port once started (the actual one when 0 was asked), else 0. */
IDMEFV2_EXPORT unsigned idmefv2_webhook_get_port(const idmefv2_webhook *w);

/**
 * Stop serving: a request under way completes, then the socket is closed.
 * Does nothing if not started. The receiver may be configured and started again.
 */
IDMEFV2_EXPORT void idmefv2_webhook_stop(idmefv2_webhook *w);

/** Copy the counters into @p ret_counters. */
IDMEFV2_EXPORT void idmefv2_webhook_get_counters(const idmefv2_webhook *w, idmefv2_webhook_counters *ret_counters);

#ifdef __cplusplus
}
#endif

#endif
