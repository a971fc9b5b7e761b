/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The listener queue: a bounded FIFO of messages plus the set of messages got
 * but not yet acknowledged, whose ack hooks run on task_done().
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include <idmefv2/queue.h>

#include "idmefv2-common.h"

struct entry {
	struct entry *next;
	struct entry *prev; /* outstanding list only */
	idmefv2_message *msg;
	idmefv2_queue_ack_cb ack;
	void *ack_ctx;
};

struct idmefv2_queue {
	atomic_uint refs;
	pthread_mutex_t lock;
	pthread_cond_t not_empty;
	pthread_cond_t not_full;
	pthread_cond_t all_done;
	size_t capacity;
	bool closed;
	/* Waiting to be got, oldest first. */
	struct entry *head;
	struct entry *tail;
	size_t size;
	/* Got, not yet acknowledged (doubly linked: task_done removes from anywhere). */
	struct entry *outstanding;
	size_t unfinished;
};



IDMEFV2_EXPORT idmefv2_queue *idmefv2_queue_new(size_t capacity)
{
	idmefv2_queue *q;
	pthread_condattr_t attr;

	if (capacity == 0)
		return NULL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	atomic_init(&q->refs, 1);
	q->capacity = capacity;
	pthread_mutex_init(&q->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&q->not_empty, &attr);
	pthread_cond_init(&q->not_full, &attr);
	pthread_cond_init(&q->all_done, &attr);
	pthread_condattr_destroy(&attr);
	return q;
}

IDMEFV2_EXPORT idmefv2_queue *idmefv2_queue_ref(idmefv2_queue *q)
{
	if (q)
		atomic_fetch_add_explicit(&q->refs, 1, memory_order_relaxed);
	return q;
}

static void entry_release(struct entry *e, bool done)
{
	if (e->ack)
		e->ack(e->msg, e->ack_ctx, done);
	idmefv2_message_unref(e->msg);
	free(e);
}

IDMEFV2_EXPORT void idmefv2_queue_unref(idmefv2_queue *q)
{
	struct entry *e;
	struct entry *next;

	if (!q || atomic_fetch_sub_explicit(&q->refs, 1, memory_order_acq_rel) != 1)
		return;
	for (e = q->head; e; e = next) {
		next = e->next;
		entry_release(e, false);
	}
	for (e = q->outstanding; e; e = next) {
		next = e->next;
		entry_release(e, false);
	}
	pthread_cond_destroy(&q->not_empty);
	pthread_cond_destroy(&q->not_full);
	pthread_cond_destroy(&q->all_done);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

IDMEFV2_EXPORT idmefv2_error idmefv2_queue_put_all(idmefv2_queue *q, idmefv2_message *const *msgs,
                                                   size_t n, int timeout_ms,
                                                   idmefv2_queue_ack_cb ack, void *ack_ctx)
{
	struct entry *first = NULL;
	struct entry **link = &first;
	struct entry *last = NULL;
	struct timespec deadline;
	idmefv2_error err = IDMEFV2_OK;

	if (!q || (n > 0 && !msgs))
		return IDMEFV2_ERR_INVALID_ARG;
	for (size_t i = 0; i < n; i++)
		if (!msgs[i])
			return IDMEFV2_ERR_INVALID_ARG;
	if (n == 0)
		return IDMEFV2_OK;
	/* All or nothing: a batch larger than the whole queue can never fit. */
	if (n > q->capacity)
		return IDMEFV2_ERR_FULL;

	/* Allocate before locking so that a failure leaves the queue untouched. */
	for (size_t i = 0; i < n; i++) {
		struct entry *e = calloc(1, sizeof(*e));
		if (!e) {
			err = IDMEFV2_ERR_NOMEM;
			goto out;
		}
		e->msg = msgs[i];
		e->ack = ack;
		e->ack_ctx = ack_ctx;
		*link = e;
		link = &e->next;
		last = e;
	}

	deadline = idmefv2__deadline_after(timeout_ms);
	pthread_mutex_lock(&q->lock);
	while (!q->closed && q->capacity - q->size < n) {
		if (!idmefv2__cond_wait_until(&q->not_full, &q->lock, timeout_ms, &deadline))
			break;
	}
	if (q->closed)
		err = IDMEFV2_ERR_CLOSED;
	else if (q->capacity - q->size < n)
		err = IDMEFV2_ERR_FULL;
	if (err == IDMEFV2_OK) {
		for (struct entry *e = first; e; e = e->next)
			idmefv2_message_ref(e->msg);
		if (q->tail)
			q->tail->next = first;
		else
			q->head = first;
		q->tail = last;
		q->size += n;
		first = NULL;
		if (n == 1)
			pthread_cond_signal(&q->not_empty);
		else
			pthread_cond_broadcast(&q->not_empty);
	}
	pthread_mutex_unlock(&q->lock);
out:
	while (first) {
		struct entry *next = first->next;
		free(first);
		first = next;
	}
	return err;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_queue_put(idmefv2_queue *q, idmefv2_message *msg, int timeout_ms,
                                               idmefv2_queue_ack_cb ack, void *ack_ctx)
{
	if (!msg)
		return IDMEFV2_ERR_INVALID_ARG;
	return idmefv2_queue_put_all(q, &msg, 1, timeout_ms, ack, ack_ctx);
}

IDMEFV2_EXPORT idmefv2_error idmefv2_queue_get(idmefv2_queue *q, int timeout_ms,
                                               idmefv2_message **ret_msg)
{
	struct timespec deadline;
	struct entry *e;

	if (!q || !ret_msg)
		return IDMEFV2_ERR_INVALID_ARG;
	deadline = idmefv2__deadline_after(timeout_ms);
	pthread_mutex_lock(&q->lock);
	while (!q->head && !q->closed) {
		if (!idmefv2__cond_wait_until(&q->not_empty, &q->lock, timeout_ms, &deadline))
			break;
	}
	e = q->head;
	if (!e) {
		bool closed = q->closed;
		pthread_mutex_unlock(&q->lock);
		return closed ? IDMEFV2_ERR_CLOSED : IDMEFV2_ERR_TIMEOUT;
	}
	q->head = e->next;
	if (!q->head)
		q->tail = NULL;
	q->size--;
	e->prev = NULL;
	e->next = q->outstanding;
	if (q->outstanding)
		q->outstanding->prev = e;
	q->outstanding = e;
	q->unfinished++;
	/* Room for a batch may need more than one free slot: wake every putter to re-check. */
	pthread_cond_broadcast(&q->not_full);
	/* The queue keeps its own reference until task_done() so that the ack hook sees a live message. */
	*ret_msg = idmefv2_message_ref(e->msg);
	pthread_mutex_unlock(&q->lock);
	return IDMEFV2_OK;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_queue_task_done(idmefv2_queue *q, idmefv2_message *msg)
{
	struct entry *e;

	if (!q || !msg)
		return IDMEFV2_ERR_INVALID_ARG;
	pthread_mutex_lock(&q->lock);
	/* Newest first: the message acknowledged is usually the one got last. */
	for (e = q->outstanding; e; e = e->next)
		if (e->msg == msg)
			break;
	if (!e) {
		pthread_mutex_unlock(&q->lock);
		return IDMEFV2_ERR_INVALID_ARG;
	}
	if (e->prev)
		e->prev->next = e->next;
	else
		q->outstanding = e->next;
	if (e->next)
		e->next->prev = e->prev;
	q->unfinished--;
	pthread_mutex_unlock(&q->lock);

	/* Outside the lock: the hook may block on I/O (a commit, an unlink). Wake joiners
	 * only afterwards so that join() returning means every hook has run. */
	entry_release(e, true);

	pthread_mutex_lock(&q->lock);
	if (q->size == 0 && q->unfinished == 0)
		pthread_cond_broadcast(&q->all_done);
	pthread_mutex_unlock(&q->lock);
	return IDMEFV2_OK;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_queue_join(idmefv2_queue *q, int timeout_ms)
{
	struct timespec deadline;
	idmefv2_error err = IDMEFV2_OK;

	if (!q)
		return IDMEFV2_ERR_INVALID_ARG;
	deadline = idmefv2__deadline_after(timeout_ms);
	pthread_mutex_lock(&q->lock);
	while (q->size > 0 || q->unfinished > 0) {
		if (!idmefv2__cond_wait_until(&q->all_done, &q->lock, timeout_ms, &deadline)) {
			if (q->size > 0 || q->unfinished > 0)
				err = IDMEFV2_ERR_TIMEOUT;
			break;
		}
	}
	pthread_mutex_unlock(&q->lock);
	return err;
}

IDMEFV2_EXPORT void idmefv2_queue_close(idmefv2_queue *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&q->lock);
	q->closed = true;
	pthread_cond_broadcast(&q->not_empty);
	pthread_cond_broadcast(&q->not_full);
	pthread_mutex_unlock(&q->lock);
}

IDMEFV2_EXPORT size_t idmefv2_queue_size(idmefv2_queue *q)
{
	size_t n;

	if (!q)
		return 0;
	pthread_mutex_lock(&q->lock);
	n = q->size;
	pthread_mutex_unlock(&q->lock);
	return n;
}

IDMEFV2_EXPORT size_t idmefv2_queue_unfinished(idmefv2_queue *q)
{
	size_t n;

	if (!q)
		return 0;
	pthread_mutex_lock(&q->lock);
	n = q->unfinished;
	pthread_mutex_unlock(&q->lock);
	return n;
}
