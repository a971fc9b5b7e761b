/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file transport.h
 * Moving IDMEFv2 messages between systems. One handle, chosen by URL scheme:
 *
 *   http://host:port/path, https://…   HTTP(S) POST (sender) or server (listener)
 *   kafka://host1:9092,host2:9092/topic Kafka producer or consumer (default topic "idmefv2")
 *   file:///dir                         one file per message in a directory
 *
 * Senders never drop silently: send() enqueues into a bounded queue, a worker
 * delivers with retries and backoff, an optional spool directory keeps
 * messages on disk while the peer is down and across restarts, and the
 * delivery callback reports each message's final outcome.
 * Listeners deliver received messages, already unserialized and validated, to
 * an idmefv2_queue or to a callback.
 *
 * Options are string-keyed (idmefv2_transport_set()); idmefv2_transport_options()
 * lists them all with type, default and description. Keys starting with
 * "kafka." pass straight to librdkafka.
 */
#ifndef IDMEFV2_TRANSPORT_H
#define IDMEFV2_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <idmefv2/common.h>
#include <idmefv2/message.h>
#include <idmefv2/queue.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct idmefv2_transport idmefv2_transport;

typedef enum idmefv2_transport_role {
	IDMEFV2_TRANSPORT_SENDER = 0,
	IDMEFV2_TRANSPORT_LISTENER = 1,
} idmefv2_transport_role;

/** Outcome of one message given to send()/send_raw(). */
typedef enum idmefv2_delivery_status {
	IDMEFV2_DELIVERY_SENT = 0,     /**< final: the peer acknowledged it */
	IDMEFV2_DELIVERY_REJECTED = 1, /**< final: the peer refused it for good (4xx other than 408/429); dead-lettered if configured */
	IDMEFV2_DELIVERY_FAILED = 2,   /**< final: given up (retries exhausted, stopped without flush and without spool);
	                                    dead-lettered if configured */
	IDMEFV2_DELIVERY_SPOOLED = 3,  /**< not final, only with option "delivery.report_spooled": the message is
	                                    durably in the spool (written and fsync'ed) */
} idmefv2_delivery_status;

/**
 * Called once per message with its final outcome (SENT, REJECTED or FAILED),
 * from a transport thread or from within stop()/free(), never from inside
 * send()/send_raw(). Give send() a non-NULL opaque to tell own messages from
 * replayed ones.
 * A message still in the spool when the transport stops has no outcome yet
 * and no final call: the transport that later replays that spool reports it,
 * with a NULL @p opaque (the original opaque did not survive the process).
 * The same holds for a message given up after "retry.max" while it sits in
 * the spool and no "dead_letter" file is set: it stays in the spool for the
 * next start.
 *
 * With option "delivery.report_spooled" = true, the callback is also called
 * with IDMEFV2_DELIVERY_SPOOLED and the message's opaque as soon as a
 * message accepted by send()/send_raw() is durably on disk in the spool,
 * whatever sent it there (peer down, queue full, stop with messages left).
 * It is not a final outcome: the same opaque may later get SENT, FAILED or
 * REJECTED in the same process (always after its SPOOLED call, never
 * before), or nothing more if the process stops first. It is reported at most
 * once per message. So with that option every accepted message gets, as its
 * first call, either a final outcome or SPOOLED, and a caller may take "first
 * call of any kind" to mean "this message is delivered, resolved, or safe on
 * disk" (for example to advance an input checkpoint). With the option, calls
 * are serialized (one at a time). A callback must be short and must not call
 * send()/send_raw(), flush() or stop() on the same transport: they may wait
 * for work that the calling thread itself has to do.
 * @param opaque the value given to send()
 * @param detail a human-readable reason (HTTP status and body excerpt, broker error), or NULL on success
 */
typedef void (*idmefv2_delivery_cb)(idmefv2_transport *t, void *opaque, idmefv2_delivery_status status,
                                    const char *detail, void *user_data);

/**
 * Listener callback, an alternative to a queue: called from a transport
 * thread for each received, validated message (borrowed: take a reference to
 * keep it). Return IDMEFV2_OK to accept it; anything else refuses it (HTTP
 * answers 503, Kafka does not commit).
 */
typedef idmefv2_error (*idmefv2_message_cb)(idmefv2_transport *t, idmefv2_message *msg, void *user_data);

typedef enum idmefv2_log_level {
	IDMEFV2_LOG_ERROR = 3,
	IDMEFV2_LOG_WARNING = 4,
	IDMEFV2_LOG_INFO = 6,
	IDMEFV2_LOG_DEBUG = 7,
} idmefv2_log_level;

typedef void (*idmefv2_log_cb)(idmefv2_log_level level, const char *message, void *user_data);

/** Counters, all monotonic since start. */
typedef struct idmefv2_transport_counters {
	uint64_t queued;   /**< accepted by send()/send_raw() */
	uint64_t sent;     /**< acknowledged by the peer */
	uint64_t retried;  /**< delivery attempts repeated */
	uint64_t failed;   /**< given up or rejected */
	uint64_t spooled;  /**< written to the spool directory */
	uint64_t received; /**< listener: messages accepted into the queue/callback */
	uint64_t invalid;  /**< listener: messages refused as malformed or schema-invalid */
} idmefv2_transport_counters;

typedef enum idmefv2_option_type {
	IDMEFV2_OPTION_STRING = 0,
	IDMEFV2_OPTION_INT = 1,
	IDMEFV2_OPTION_BOOL = 2,
	IDMEFV2_OPTION_SIZE = 3, /**< bytes, with an optional k/M/G suffix */
} idmefv2_option_type;

/** One row of the option table. */
typedef struct idmefv2_option_desc {
	const char *name;        /**< e.g. "http.timeout_ms" */
	idmefv2_option_type type;
	const char *default_value;
	const char *schemes;     /**< the schemes it applies to, e.g. "http,https" */
	const char *description;
} idmefv2_option_desc;

/**
 * @return the option table (static) and its length in @p ret_count.
 */
IDMEFV2_EXPORT const idmefv2_option_desc *idmefv2_transport_options(size_t *ret_count);

/**
 * Create a transport for @p url. Nothing is connected or bound until start().
 * @param ret_t a new transport; release with idmefv2_transport_free()
 * @return IDMEFV2_OK; IDMEFV2_ERR_URL for an unknown scheme or a malformed URL;
 *         IDMEFV2_ERR_NOT_BUILT when the scheme's backend was disabled at build time
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_transport_new(const char *url, idmefv2_transport_role role,
                                                   idmefv2_transport **ret_t,
                                                   char *errstr, size_t errstr_size);

/**
 * Set option @p name to @p value (copied). Only before start().
 * @return IDMEFV2_OK, IDMEFV2_ERR_UNKNOWN_OPTION, IDMEFV2_ERR_INVALID_ARG (bad
 *         value: errstr says why), IDMEFV2_ERR_STATE (already started)
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_transport_set(idmefv2_transport *t, const char *name,
                                                   const char *value,
                                                   char *errstr, size_t errstr_size);

IDMEFV2_EXPORT void idmefv2_transport_set_delivery_cb(idmefv2_transport *t, idmefv2_delivery_cb cb,
                                                      void *user_data);
/** Listener: deliver into @p q (a new reference is taken). */
IDMEFV2_EXPORT void idmefv2_transport_set_queue(idmefv2_transport *t, idmefv2_queue *q);
/** Listener: deliver to @p cb instead of a queue. */
IDMEFV2_EXPORT void idmefv2_transport_set_message_cb(idmefv2_transport *t, idmefv2_message_cb cb,
                                                     void *user_data);
IDMEFV2_EXPORT void idmefv2_transport_set_log_cb(idmefv2_transport *t, idmefv2_log_cb cb,
                                                 void *user_data);

/**
 * Start: connect (sender) or bind and serve (listener). A sender with a spool
 * directory replays what the spool holds, oldest first.
 * @return IDMEFV2_OK or an error with errstr (bind failure, bad TLS files, …)
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_transport_start(idmefv2_transport *t,
                                                     char *errstr, size_t errstr_size);

/**
 * Listener: the port actually bound (useful with port 0), or 0.
 */
IDMEFV2_EXPORT unsigned idmefv2_transport_get_port(const idmefv2_transport *t);

/**
 * Queue @p msg for delivery; serialized now (validation per option
 * "validate", default on). Returns at once unless the queue is full, then
 * spools if a spool is set, else waits for room: by default until there is
 * room or the transport stops (backpressure), or up to option
 * "queue.timeout_ms" when the caller set one.
 * @param opaque passed back to the delivery callback
 * @return IDMEFV2_OK (queued or spooled: the outcome comes later through the
 *         delivery callback), IDMEFV2_ERR_FULL (queue full past
 *         "queue.timeout_ms", or spool quota "spool.max_bytes" reached),
 *         IDMEFV2_ERR_INVALID (with the report's first failure in errstr),
 *         IDMEFV2_ERR_IO (writing to the spool failed), IDMEFV2_ERR_STATE (not started)
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_transport_send(idmefv2_transport *t, idmefv2_message *msg,
                                                    void *opaque, char *errstr, size_t errstr_size);

/** As idmefv2_transport_send(), with bytes already serialized (copied). */
IDMEFV2_EXPORT idmefv2_error idmefv2_transport_send_raw(idmefv2_transport *t, const char *content_type,
                                                        const void *data, size_t len, void *opaque,
                                                        char *errstr, size_t errstr_size);

/**
 * Wait until every queued message has its final outcome (the spool counts as
 * not yet delivered), up to @p timeout_ms (-1: forever).
 * @return IDMEFV2_OK or IDMEFV2_ERR_TIMEOUT
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_transport_flush(idmefv2_transport *t, int timeout_ms);

/**
 * Stop: a sender flushes for up to option "stop.flush_timeout_ms", then
 * spools what is left if a spool is set (else reports it FAILED); a listener
 * stops accepting and closes its queue.
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_transport_stop(idmefv2_transport *t);

/** Stops if needed, then frees. Accepts NULL. */
IDMEFV2_EXPORT void idmefv2_transport_free(idmefv2_transport *t);

IDMEFV2_EXPORT void idmefv2_transport_get_counters(const idmefv2_transport *t,
                                                   idmefv2_transport_counters *ret_counters);

#ifdef __cplusplus
}
#endif

#endif
