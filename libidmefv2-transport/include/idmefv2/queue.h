/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file queue.h
 * A bounded, thread-safe queue of received messages with acknowledgement,
 * after Python's queue.Queue as python-idmefv2-transport uses it: a listener
 * puts, the application gets, processes, and calls task_done(). A transport
 * that can redeliver (Kafka, file) commits or deletes a message only once
 * task_done() has been called for it, so a crash loses nothing.
 */
#ifndef IDMEFV2_QUEUE_H
#define IDMEFV2_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

#include <idmefv2/common.h>
#include <idmefv2/message.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct idmefv2_queue idmefv2_queue;

/**
 * Called once per item when the consumer calls idmefv2_queue_task_done() for
 * it (@p done true), or when the queue is freed with the item still
 * unacknowledged (@p done false). Runs on the caller's thread; must not call
 * back into the queue.
 */
typedef void (*idmefv2_queue_ack_cb)(idmefv2_message *msg, void *ack_ctx, bool done);

/**
 * @param capacity maximum number of items waiting to be got (> 0)
 * @return a new queue; release with idmefv2_queue_unref(); NULL on ENOMEM or capacity 0
 */
IDMEFV2_EXPORT idmefv2_queue *idmefv2_queue_new(size_t capacity);
IDMEFV2_EXPORT idmefv2_queue *idmefv2_queue_ref(idmefv2_queue *q);
IDMEFV2_EXPORT void idmefv2_queue_unref(idmefv2_queue *q);

/**
 * Put @p msg, waiting up to @p timeout_ms for room (0: do not wait, -1: forever).
 * A new reference is taken on @p msg on success.
 * @param ack an acknowledgement hook, or NULL
 * @return IDMEFV2_OK, IDMEFV2_ERR_FULL (timed out), IDMEFV2_ERR_CLOSED
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_queue_put(idmefv2_queue *q, idmefv2_message *msg, int timeout_ms,
                                               idmefv2_queue_ack_cb ack, void *ack_ctx);

/**
 * Put all @p n messages or none (an NDJSON batch is accepted all or nothing).
 * @return as idmefv2_queue_put(); IDMEFV2_ERR_FULL if @p n exceeds the room
 *         that became free within @p timeout_ms
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_queue_put_all(idmefv2_queue *q, idmefv2_message *const *msgs,
                                                   size_t n, int timeout_ms,
                                                   idmefv2_queue_ack_cb ack, void *ack_ctx);

/**
 * Get the oldest message, waiting up to @p timeout_ms (0: do not wait, -1: forever).
 * @param ret_msg a reference owned by the caller (release with idmefv2_message_unref())
 * @return IDMEFV2_OK, IDMEFV2_ERR_TIMEOUT, IDMEFV2_ERR_CLOSED (closed and empty)
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_queue_get(idmefv2_queue *q, int timeout_ms,
                                               idmefv2_message **ret_msg);

/**
 * Acknowledge @p msg, got earlier from this queue: the processing is done.
 * Calls the item's ack hook.
 * @return IDMEFV2_OK, IDMEFV2_ERR_INVALID_ARG if @p msg is not outstanding
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_queue_task_done(idmefv2_queue *q, idmefv2_message *msg);

/**
 * Wait until every item ever put has been acknowledged.
 * @return IDMEFV2_OK or IDMEFV2_ERR_TIMEOUT
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_queue_join(idmefv2_queue *q, int timeout_ms);

/** Refuse further puts and wake every waiter; gets drain what is left. */
IDMEFV2_EXPORT void idmefv2_queue_close(idmefv2_queue *q);

/** @return the number of items waiting to be got. */
IDMEFV2_EXPORT size_t idmefv2_queue_size(idmefv2_queue *q);
/** @return the number of items got but not yet acknowledged. */
IDMEFV2_EXPORT size_t idmefv2_queue_unfinished(idmefv2_queue *q);

#ifdef __cplusplus
}
#endif

#endif
