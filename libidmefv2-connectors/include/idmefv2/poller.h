/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file poller.h
 * Poll an HTTP(S) JSON API at an interval and deliver each new item once.
 *
 * The poller is driven by its caller: idmefv2_poller_poll() fetches the URL
 * when a fetch is due (the first call after start, then every interval),
 * otherwise waits up to a timeout for the next one. The fetch itself blocks
 * up to the HTTP timeout. The response is parsed as JSON and handed to an
 * optional response callback; the array found at the items path is then
 * walked and each item whose key was not seen before goes to the item
 * callback, in the caller's thread.
 *
 * Connection failures, HTTP statuses other than 2xx, malformed JSON and
 * JSON-RPC error objects are logged, counted, and retried at the next
 * interval.
 *
 * De-duplication remembers the keys of the last N items (a ring, oldest
 * forgotten first), as 64-bit hashes of the key strings, optionally persisted
 * in a state file replaced atomically after every poll that added keys (or
 * only when the caller says, see idmefv2_poller_set_autosave()).
 *
 * In JSON-RPC 2.0 mode (idmefv2_poller_set_jsonrpc()) every fetch is a POST
 * of a request with a new id; the reply's "error" object is reported and its
 * "result" is where items are looked for by default.
 *
 * A poller is not thread-safe: use one from one thread at a time.
 */
#ifndef IDMEFV2_POLLER_H
#define IDMEFV2_POLLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <idmefv2/common.h>
#include <idmefv2/transport.h>

#ifdef __cplusplus
extern "C" {
#endif

struct json_object;

/** Defaults. */
#define IDMEFV2_POLLER_DEFAULT_INTERVAL_MS 30000
#define IDMEFV2_POLLER_DEFAULT_TIMEOUT_MS 10000
#define IDMEFV2_POLLER_DEFAULT_MAX_KEYS 4096
/** Largest response body accepted, in bytes. */
#define IDMEFV2_POLLER_MAX_BODY (64 * 1024 * 1024)

typedef struct idmefv2_poller idmefv2_poller;

/**
 * Response callback: @p response is the parsed body (borrowed for the call),
 * @p http_status its status (2xx). Return IDMEFV2_OK to go on with the items;
 * anything else rejects the response (e.g. Prometheus "status" not
 * "success"): it is counted in @c rejected and no item is delivered.
 */
typedef idmefv2_error (*idmefv2_poller_response_cb)(struct json_object *response, long http_status,
                                                    void *user_data);

/**
 * Item callback, for each item not seen before (borrowed for the call; take
 * a reference with json_object_get() to keep it). Return IDMEFV2_OK to accept
 * it: its key is then remembered. Anything else refuses it: the rest of this
 * response is dropped, the item stays unseen and is offered again when a
 * later fetch returns it.
 */
typedef idmefv2_error (*idmefv2_poller_item_cb)(struct json_object *item, void *user_data);

/**
 * Key function: write the item's de-duplication key, NUL-terminated, into
 * @p buf of @p size bytes (a longer key may be truncated). Return false when
 * the item has no key: its compact JSON text is used instead.
 */
typedef bool (*idmefv2_poller_key_cb)(struct json_object *item, char *buf, size_t size, void *user_data);

/** Counters, all monotonic since idmefv2_poller_new(). */
typedef struct idmefv2_poller_counters {
	uint64_t fetches;      /**< requests sent */
	uint64_t responses;    /**< 2xx responses parsed as JSON without a JSON-RPC error */
	uint64_t conn_errors;  /**< connection, TLS or timeout failures */
	uint64_t http_errors;  /**< responses with a status other than 2xx */
	uint64_t parse_errors; /**< bodies that are not JSON, or without an items array */
	uint64_t rpc_errors;   /**< JSON-RPC replies carrying an error object or no result */
	uint64_t rejected;     /**< responses refused by the response callback */
	uint64_t items;        /**< items accepted by the item callback */
	uint64_t duplicates;   /**< items skipped because their key was seen */
	uint64_t seeded;       /**< items marked seen by seeding, not delivered */
	uint64_t refused;      /**< items refused by the item callback */
	uint64_t state_errors; /**< failed state file writes */
} idmefv2_poller_counters;

/**
 * Create a poller of @p url (copied; http:// or https://). Nothing is
 * fetched until idmefv2_poller_start().
 * @return a new poller; release with idmefv2_poller_free(); NULL when out of
 *         memory, @p url is NULL or empty, or libcurl fails to initialise.
 */
IDMEFV2_EXPORT idmefv2_poller *idmefv2_poller_new(const char *url);

/** Release @p p (accepts NULL). The state was saved after the last poll that changed it. */
IDMEFV2_EXPORT void idmefv2_poller_free(idmefv2_poller *p);

/** Set the log callback (fetch failures, JSON-RPC errors, state file problems). */
IDMEFV2_EXPORT void idmefv2_poller_set_log_cb(idmefv2_poller *p, idmefv2_log_cb cb, void *user_data);

/** Set the response callback (optional). @return IDMEFV2_ERR_STATE once started. */
IDMEFV2_EXPORT idmefv2_error idmefv2_poller_set_response_cb(idmefv2_poller *p, idmefv2_poller_response_cb cb,
                                                            void *user_data);

/**
 * Set the item callback (optional; without it only the response callback runs
 * and nothing is de-duplicated). @return IDMEFV2_ERR_STATE once started.
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_poller_set_item_cb(idmefv2_poller *p, idmefv2_poller_item_cb cb,
                                                        void *user_data);

/**
 * Where the items array is in a response (copied): dotted names and array
 * indexes, an optional leading "$." ("data.alerts", "$.result"); "" or "$"
 * for the response itself. Default "", or "result" in JSON-RPC mode.
 * @return IDMEFV2_ERR_STATE once started; IDMEFV2_ERR_INVALID_ARG for NULL.
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_poller_set_items_path(idmefv2_poller *p, const char *path);

/**
 * De-duplicate by the value of the top-level member @p name (copied; strings
 * as they are, other types as JSON text). NULL clears it. An item without the
 * member is keyed by its compact JSON text. @return IDMEFV2_ERR_STATE once started.
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_poller_set_key_field(idmefv2_poller *p, const char *name);

/** De-duplicate with @p cb (takes precedence over a key field). @return IDMEFV2_ERR_STATE once started. */
IDMEFV2_EXPORT idmefv2_error idmefv2_poller_set_key_cb(idmefv2_poller *p, idmefv2_poller_key_cb cb,
                                                       void *user_data);

/** Number of keys remembered (default IDMEFV2_POLLER_DEFAULT_MAX_KEYS). @return IDMEFV2_ERR_INVALID_ARG for 0, IDMEFV2_ERR_STATE once started. */
IDMEFV2_EXPORT idmefv2_error idmefv2_poller_set_max_keys(idmefv2_poller *p, size_t max_keys);

/**
 * Interval between the starts of two fetches, in ms (default
 * IDMEFV2_POLLER_DEFAULT_INTERVAL_MS; 0 fetches on every poll).
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_poller_set_interval(idmefv2_poller *p, unsigned interval_ms);

/** Whole-request timeout in ms (default IDMEFV2_POLLER_DEFAULT_TIMEOUT_MS). @return IDMEFV2_ERR_INVALID_ARG for 0. */
IDMEFV2_EXPORT idmefv2_error idmefv2_poller_set_timeout(idmefv2_poller *p, unsigned timeout_ms);

/** HTTP Basic authentication (both copied; NULL @p user removes it). Replaces a bearer token. */
IDMEFV2_EXPORT idmefv2_error idmefv2_poller_set_basic_auth(idmefv2_poller *p, const char *user,
                                                           const char *password);

/**
 * Send "Authorization: Bearer @p token" (copied; NULL removes it). Replaces
 * Basic authentication. May be called after start (e.g. a renewed token).
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_poller_set_bearer(idmefv2_poller *p, const char *token);

/** Verify the server's TLS certificate and host name (default true). */
IDMEFV2_EXPORT idmefv2_error idmefv2_poller_set_verify(idmefv2_poller *p, bool verify);

/** CA bundle (PEM) to verify the server with (copied; NULL for the system default). */
IDMEFV2_EXPORT idmefv2_error idmefv2_poller_set_ca_file(idmefv2_poller *p, const char *ca_file);

/**
 * On the first successful fetch, mark every item as seen without delivering
 * it (default false). Skipped when a state file was loaded: its keys already
 * say what was delivered. @return IDMEFV2_ERR_STATE once started.
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_poller_set_seed(idmefv2_poller *p, bool seed);

/**
 * Persist the seen keys in @p state_path (copied); its directory must be
 * writable (replaced atomically through "@p state_path.tmp").
 * @return IDMEFV2_ERR_STATE once started.
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_poller_set_state_file(idmefv2_poller *p, const char *state_path);

/**
 * JSON-RPC 2.0 mode: every fetch POSTs {"jsonrpc":"2.0","id":N,"method":
 * @p method,"params":@p params} (method copied, a reference to @p params
 * taken; NULL params sends {}). @return IDMEFV2_ERR_STATE once started.
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_poller_set_jsonrpc(idmefv2_poller *p, const char *method,
                                                        struct json_object *params);

/**
 * Load the state file if one is set and exists.
 * @return IDMEFV2_ERR_STATE if already started or no callback is set;
 *         IDMEFV2_ERR_PARSE for a malformed state file; IDMEFV2_ERR_IO with
 *         detail in @p errstr (may be NULL).
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_poller_start(idmefv2_poller *p, char *errstr, size_t errstr_size);

/**
 * Fetch if a fetch is due; else wait up to @p timeout_ms (-1 until the next
 * one, 0 not at all) and fetch if it became due.
 * @param ret_items if not NULL, receives the number of items delivered.
 * @return IDMEFV2_OK (also when the fetch failed: see the counters and log);
 *         IDMEFV2_ERR_STATE before start.
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_poller_poll(idmefv2_poller *p, int timeout_ms, size_t *ret_items);

/** Milliseconds until the next fetch is due (0 when due now); -1 before start. */
IDMEFV2_EXPORT int64_t idmefv2_poller_get_next_ms(const idmefv2_poller *p);

/**
 * Whether the state file is written after every poll that added keys (@p yes,
 * the default). A caller that hands items to an asynchronous sender turns it
 * off and calls idmefv2_poller_checkpoint() once the items handed over are
 * delivered or on disk: a key saved for an item still in memory would hide
 * that item for good after a crash.
 */
IDMEFV2_EXPORT void idmefv2_poller_set_autosave(idmefv2_poller *p, bool yes);

/**
 * The de-duplication key (its 64-bit hash, as remembered and saved) of the
 * item being handed to the item callback; call it from that callback.
 * @return IDMEFV2_OK, IDMEFV2_ERR_STATE outside the item callback
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_poller_get_item_key(const idmefv2_poller *p, uint64_t *ret_key);

/** Write the state file now. Succeeds without doing anything when none is set. @return IDMEFV2_ERR_IO with detail in @p errstr. */
IDMEFV2_EXPORT idmefv2_error idmefv2_poller_checkpoint(idmefv2_poller *p, char *errstr, size_t errstr_size);

/** Copy the counters into @p ret_counters. */
IDMEFV2_EXPORT void idmefv2_poller_get_counters(const idmefv2_poller *p, idmefv2_poller_counters *ret_counters);

/**
 * One JSON-RPC 2.0 call to the poller's URL, with its timeout, TLS settings
 * and authentication (e.g. "user.login" before setting the bearer token).
 * Usable before or after start; counters are not changed.
 * @param params borrowed (NULL sends {}).
 * @param ret_result a new reference to "result" (release with json_object_put()).
 * @return IDMEFV2_ERR_TRANSPORT (connection or HTTP status),
 *         IDMEFV2_ERR_PARSE (not JSON, or not a JSON-RPC 2.0 reply to this id),
 *         IDMEFV2_ERR_INVALID (the reply's error object: code, message and
 *         data in @p errstr); detail in @p errstr (may be NULL).
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_poller_call(idmefv2_poller *p, const char *method,
                                                 struct json_object *params, struct json_object **ret_result,
                                                 char *errstr, size_t errstr_size);

/**
 * Build a JSON-RPC 2.0 request object.
 * @param params borrowed, a reference is taken (NULL gives {}).
 * @return a new reference; release with json_object_put(); NULL when out of
 *         memory or @p method is NULL.
 */
IDMEFV2_EXPORT struct json_object *idmefv2_jsonrpc_request_new(int64_t id, const char *method,
                                                               struct json_object *params);

/**
 * Check a JSON-RPC 2.0 reply to request @p id.
 * @param ret_result borrowed from @p reply (may be NULL).
 * @return IDMEFV2_OK with the result; IDMEFV2_ERR_INVALID for an error
 *         object (code, message, data in @p errstr); IDMEFV2_ERR_PARSE for a
 *         reply that is not a JSON-RPC 2.0 object, has another id, or neither
 *         result nor error.
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_jsonrpc_response_check(struct json_object *reply, int64_t id,
                                                            struct json_object **ret_result, char *errstr,
                                                            size_t errstr_size);

/**
 * The array at @p path in @p root (syntax of idmefv2_poller_set_items_path()).
 * @param ret_items borrowed from @p root.
 * @return IDMEFV2_ERR_NOT_FOUND when the path leads nowhere; IDMEFV2_ERR_TYPE
 *         when it leads to something else than an array; IDMEFV2_ERR_PATH for
 *         a malformed path.
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_json_get_array(struct json_object *root, const char *path,
                                                    struct json_object **ret_items);

#ifdef __cplusplus
}
#endif

#endif
