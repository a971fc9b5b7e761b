/* SPDX-License-Identifier: Apache-2.0 */
#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <idmefv2/queue.h>

#include "testlib.h"

struct ack_log {
	pthread_mutex_t lock;
	unsigned done;
	unsigned not_done;
	long last_number;
};

static void ack_record(idmefv2_message *msg, void *ctx, bool done)
{
	struct ack_log *log = ctx;

	pthread_mutex_lock(&log->lock);
	if (done)
		log->done++;
	else
		log->not_done++;
	log->last_number = testlib_message_number(msg);
	pthread_mutex_unlock(&log->lock);
}

#define ACK_LOG_INIT {PTHREAD_MUTEX_INITIALIZER, 0, 0, -1}

START_TEST(test_new_capacity)
{
	idmefv2_queue *q;

	ck_assert_ptr_null(idmefv2_queue_new(0));
	q = idmefv2_queue_new(1);
	ck_assert_ptr_nonnull(q);
	ck_assert_ptr_eq(idmefv2_queue_ref(q), q);
	idmefv2_queue_unref(q);
	ck_assert_uint_eq(idmefv2_queue_size(q), 0);
	idmefv2_queue_unref(q);
	idmefv2_queue_unref(NULL);
}
END_TEST

START_TEST(test_fifo_and_counts)
{
	idmefv2_queue *q = idmefv2_queue_new(3);
	idmefv2_message *got = NULL;

	for (unsigned i = 1; i <= 3; i++) {
		idmefv2_message *m = testlib_message(i);
		ck_assert_int_eq(idmefv2_queue_put(q, m, 0, NULL, NULL), IDMEFV2_OK);
		/* The queue holds its own reference. */
		idmefv2_message_unref(m);
	}
	ck_assert_uint_eq(idmefv2_queue_size(q), 3);
	ck_assert_uint_eq(idmefv2_queue_unfinished(q), 0);

	for (unsigned i = 1; i <= 3; i++) {
		ck_assert_int_eq(idmefv2_queue_get(q, 0, &got), IDMEFV2_OK);
		ck_assert_int_eq(testlib_message_number(got), i);
		ck_assert_uint_eq(idmefv2_queue_size(q), 3 - i);
		ck_assert_uint_eq(idmefv2_queue_unfinished(q), 1);
		ck_assert_int_eq(idmefv2_queue_task_done(q, got), IDMEFV2_OK);
		ck_assert_uint_eq(idmefv2_queue_unfinished(q), 0);
		/* Acknowledged twice: not outstanding any more. */
		ck_assert_int_eq(idmefv2_queue_task_done(q, got), IDMEFV2_ERR_INVALID_ARG);
		idmefv2_message_unref(got);
	}
	ck_assert_int_eq(idmefv2_queue_get(q, 0, &got), IDMEFV2_ERR_TIMEOUT);
	idmefv2_queue_unref(q);
}
END_TEST

START_TEST(test_full_and_timeouts)
{
	idmefv2_queue *q = idmefv2_queue_new(1);
	idmefv2_message *a = testlib_message(1);
	idmefv2_message *b = testlib_message(2);
	idmefv2_message *got = (idmefv2_message *)0x1;
	int64_t t0;

	ck_assert_int_eq(idmefv2_queue_put(q, a, 0, NULL, NULL), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_queue_put(q, b, 0, NULL, NULL), IDMEFV2_ERR_FULL);
	t0 = testlib_now_ms();
	ck_assert_int_eq(idmefv2_queue_put(q, b, 50, NULL, NULL), IDMEFV2_ERR_FULL);
	ck_assert_int_ge(testlib_now_ms() - t0, 45);
	ck_assert_uint_eq(idmefv2_queue_size(q), 1);

	ck_assert_int_eq(idmefv2_queue_get(q, 0, &got), IDMEFV2_OK);
	idmefv2_queue_task_done(q, got);
	idmefv2_message_unref(got);
	got = (idmefv2_message *)0x1;
	t0 = testlib_now_ms();
	ck_assert_int_eq(idmefv2_queue_get(q, 30, &got), IDMEFV2_ERR_TIMEOUT);
	ck_assert_int_ge(testlib_now_ms() - t0, 25);
	/* Untouched on failure. */
	ck_assert_ptr_eq(got, (idmefv2_message *)0x1);

	ck_assert_int_eq(idmefv2_queue_put(NULL, a, 0, NULL, NULL), IDMEFV2_ERR_INVALID_ARG);
	ck_assert_int_eq(idmefv2_queue_put(q, NULL, 0, NULL, NULL), IDMEFV2_ERR_INVALID_ARG);
	ck_assert_int_eq(idmefv2_queue_task_done(q, b), IDMEFV2_ERR_INVALID_ARG);
	idmefv2_message_unref(a);
	idmefv2_message_unref(b);
	idmefv2_queue_unref(q);
}
END_TEST

START_TEST(test_put_all_all_or_nothing)
{
	idmefv2_queue *q = idmefv2_queue_new(3);
	idmefv2_message *m[4];
	idmefv2_message *got;
	struct ack_log log = ACK_LOG_INIT;

	for (unsigned i = 0; i < 4; i++)
		m[i] = testlib_message(i + 1);
	/* Larger than the queue: never fits. */
	ck_assert_int_eq(idmefv2_queue_put_all(q, m, 4, 0, NULL, NULL), IDMEFV2_ERR_FULL);
	ck_assert_uint_eq(idmefv2_queue_size(q), 0);
	ck_assert_int_eq(idmefv2_queue_put(q, m[0], 0, NULL, NULL), IDMEFV2_OK);
	/* Two free slots, three messages: none goes in. */
	ck_assert_int_eq(idmefv2_queue_put_all(q, m + 1, 3, 20, NULL, NULL), IDMEFV2_ERR_FULL);
	ck_assert_uint_eq(idmefv2_queue_size(q), 1);
	ck_assert_int_eq(idmefv2_queue_put_all(q, m + 1, 2, 0, ack_record, &log), IDMEFV2_OK);
	ck_assert_uint_eq(idmefv2_queue_size(q), 3);
	ck_assert_int_eq(idmefv2_queue_put_all(q, m, 0, 0, NULL, NULL), IDMEFV2_OK);

	for (unsigned i = 0; i < 3; i++) {
		ck_assert_int_eq(idmefv2_queue_get(q, 0, &got), IDMEFV2_OK);
		ck_assert_int_eq(testlib_message_number(got), i + 1);
		ck_assert_int_eq(idmefv2_queue_task_done(q, got), IDMEFV2_OK);
		idmefv2_message_unref(got);
	}
	/* Both batch members carry the hook. */
	ck_assert_uint_eq(log.done, 2);
	ck_assert_uint_eq(log.not_done, 0);
	for (unsigned i = 0; i < 4; i++)
		idmefv2_message_unref(m[i]);
	idmefv2_queue_unref(q);
}
END_TEST

START_TEST(test_ack_hooks)
{
	idmefv2_queue *q = idmefv2_queue_new(8);
	struct ack_log log = ACK_LOG_INIT;
	idmefv2_message *got;

	for (unsigned i = 1; i <= 4; i++) {
		idmefv2_message *m = testlib_message(i);
		ck_assert_int_eq(idmefv2_queue_put(q, m, 0, ack_record, &log), IDMEFV2_OK);
		idmefv2_message_unref(m);
	}
	/* Got 1 and 2; only 2 acknowledged; 3 and 4 still waiting. */
	ck_assert_int_eq(idmefv2_queue_get(q, 0, &got), IDMEFV2_OK);
	idmefv2_message_unref(got); /* the caller may drop its reference before task_done */
	ck_assert_int_eq(idmefv2_queue_get(q, 0, &got), IDMEFV2_OK);
	ck_assert_uint_eq(log.done, 0);
	ck_assert_int_eq(idmefv2_queue_task_done(q, got), IDMEFV2_OK);
	ck_assert_uint_eq(log.done, 1);
	ck_assert_int_eq(log.last_number, 2);
	idmefv2_message_unref(got);
	ck_assert_int_eq(idmefv2_queue_join(q, 0), IDMEFV2_ERR_TIMEOUT);

	/* Freed with 1 outstanding and 3, 4 waiting: each hook told "not done" once. */
	idmefv2_queue_unref(q);
	ck_assert_uint_eq(log.done, 1);
	ck_assert_uint_eq(log.not_done, 3);
}
END_TEST

struct blocked_get {
	idmefv2_queue *q;
	idmefv2_error err;
	idmefv2_message *msg;
};

static void *get_forever(void *arg)
{
	struct blocked_get *g = arg;

	g->err = idmefv2_queue_get(g->q, -1, &g->msg);
	return NULL;
}

START_TEST(test_close)
{
	idmefv2_queue *q = idmefv2_queue_new(4);
	struct blocked_get g = {q, IDMEFV2_OK, NULL};
	idmefv2_message *m = testlib_message(1);
	idmefv2_message *got;
	pthread_t th;

	/* A get blocked forever is woken by close. */
	ck_assert_int_eq(pthread_create(&th, NULL, get_forever, &g), 0);
	testlib_sleep_ms(20);
	idmefv2_queue_close(q);
	pthread_join(th, NULL);
	ck_assert_int_eq(g.err, IDMEFV2_ERR_CLOSED);
	ck_assert_int_eq(idmefv2_queue_put(q, m, -1, NULL, NULL), IDMEFV2_ERR_CLOSED);
	idmefv2_queue_unref(q);

	/* Gets drain what was put before close. */
	q = idmefv2_queue_new(4);
	ck_assert_int_eq(idmefv2_queue_put(q, m, 0, NULL, NULL), IDMEFV2_OK);
	idmefv2_queue_close(q);
	ck_assert_int_eq(idmefv2_queue_get(q, -1, &got), IDMEFV2_OK);
	ck_assert_int_eq(testlib_message_number(got), 1);
	idmefv2_message_unref(got);
	ck_assert_int_eq(idmefv2_queue_get(q, -1, &got), IDMEFV2_ERR_CLOSED);
	idmefv2_message_unref(m);
	idmefv2_queue_unref(q);
}
END_TEST

struct blocked_put {
	idmefv2_queue *q;
	idmefv2_message *msg;
	idmefv2_error err;
};

static void *put_forever(void *arg)
{
	struct blocked_put *p = arg;

	p->err = idmefv2_queue_put(p->q, p->msg, -1, NULL, NULL);
	return NULL;
}

START_TEST(test_blocked_put_woken_by_get_and_close)
{
	idmefv2_queue *q = idmefv2_queue_new(1);
	idmefv2_message *a = testlib_message(1);
	struct blocked_put p = {q, testlib_message(2), IDMEFV2_ERR_INVALID_ARG};
	idmefv2_message *got;
	pthread_t th;

	ck_assert_int_eq(idmefv2_queue_put(q, a, 0, NULL, NULL), IDMEFV2_OK);
	ck_assert_int_eq(pthread_create(&th, NULL, put_forever, &p), 0);
	testlib_sleep_ms(20);
	ck_assert_uint_eq(idmefv2_queue_size(q), 1);
	ck_assert_int_eq(idmefv2_queue_get(q, 0, &got), IDMEFV2_OK);
	pthread_join(th, NULL);
	ck_assert_int_eq(p.err, IDMEFV2_OK);
	ck_assert_uint_eq(idmefv2_queue_size(q), 1);
	idmefv2_message_unref(got);

	/* Now full again: a blocked put gets CLOSED when the queue closes. */
	p.err = IDMEFV2_OK;
	ck_assert_int_eq(pthread_create(&th, NULL, put_forever, &p), 0);
	testlib_sleep_ms(20);
	idmefv2_queue_close(q);
	pthread_join(th, NULL);
	ck_assert_int_eq(p.err, IDMEFV2_ERR_CLOSED);

	idmefv2_message_unref(a);
	idmefv2_message_unref(p.msg);
	idmefv2_queue_unref(q);
}
END_TEST

#define PRODUCERS 4
#define CONSUMERS 4
#define PER_PRODUCER 2000

struct mt {
	idmefv2_queue *q;
	unsigned id;
	pthread_mutex_t lock;
	unsigned seen[PRODUCERS * PER_PRODUCER];
	unsigned acked;
	bool order_ok;
	long last_per_producer[CONSUMERS][PRODUCERS];
};

struct worker {
	struct mt *mt;
	unsigned id;
};

static void ack_count(idmefv2_message *msg, void *ctx, bool done)
{
	struct mt *mt = ctx;

	(void)msg;
	if (done) {
		pthread_mutex_lock(&mt->lock);
		mt->acked++;
		pthread_mutex_unlock(&mt->lock);
	}
}

static void *producer(void *arg)
{
	struct worker *w = arg;

	for (unsigned i = 0; i < PER_PRODUCER; i++) {
		idmefv2_message *m = testlib_message(w->id * PER_PRODUCER + i);
		idmefv2_error err = idmefv2_queue_put(w->mt->q, m, -1, ack_count, w->mt);
		idmefv2_message_unref(m);
		if (err != IDMEFV2_OK)
			return (void *)1;
	}
	return NULL;
}

static void *consumer(void *arg)
{
	struct worker *w = arg;
	idmefv2_message *m;

	for (unsigned p = 0; p < PRODUCERS; p++)
		w->mt->last_per_producer[w->id][p] = -1;
	while (idmefv2_queue_get(w->mt->q, -1, &m) == IDMEFV2_OK) {
		long n = testlib_message_number(m);
		unsigned p = (unsigned)n / PER_PRODUCER;

		pthread_mutex_lock(&w->mt->lock);
		w->mt->seen[n]++;
		/* FIFO: one consumer sees each producer's messages in increasing order. */
		if (n <= w->mt->last_per_producer[w->id][p])
			w->mt->order_ok = false;
		w->mt->last_per_producer[w->id][p] = n;
		pthread_mutex_unlock(&w->mt->lock);
		idmefv2_queue_task_done(w->mt->q, m);
		idmefv2_message_unref(m);
	}
	return NULL;
}

START_TEST(test_multithreaded)
{
	static struct mt mt;
	pthread_t prod[PRODUCERS];
	pthread_t cons[CONSUMERS];
	struct worker pw[PRODUCERS];
	struct worker cw[CONSUMERS];

	memset(&mt, 0, sizeof(mt));
	pthread_mutex_init(&mt.lock, NULL);
	mt.order_ok = true;
	mt.q = idmefv2_queue_new(16);
	for (unsigned i = 0; i < CONSUMERS; i++) {
		cw[i] = (struct worker){&mt, i};
		ck_assert_int_eq(pthread_create(&cons[i], NULL, consumer, &cw[i]), 0);
	}
	for (unsigned i = 0; i < PRODUCERS; i++) {
		pw[i] = (struct worker){&mt, i};
		ck_assert_int_eq(pthread_create(&prod[i], NULL, producer, &pw[i]), 0);
	}
	for (unsigned i = 0; i < PRODUCERS; i++) {
		void *ret;
		pthread_join(prod[i], &ret);
		ck_assert_ptr_null(ret);
	}
	/* Every put acknowledged: join returns. */
	ck_assert_int_eq(idmefv2_queue_join(mt.q, 30000), IDMEFV2_OK);
	ck_assert_uint_eq(idmefv2_queue_size(mt.q), 0);
	ck_assert_uint_eq(idmefv2_queue_unfinished(mt.q), 0);
	idmefv2_queue_close(mt.q);
	for (unsigned i = 0; i < CONSUMERS; i++)
		pthread_join(cons[i], NULL);

	for (unsigned i = 0; i < PRODUCERS * PER_PRODUCER; i++)
		ck_assert_msg(mt.seen[i] == 1, "message %u seen %u times", i, mt.seen[i]);
	ck_assert_uint_eq(mt.acked, PRODUCERS * PER_PRODUCER);
	ck_assert(mt.order_ok);
	idmefv2_queue_unref(mt.q);
	pthread_mutex_destroy(&mt.lock);
}
END_TEST

struct joiner {
	idmefv2_queue *q;
	idmefv2_error err;
	bool returned;
};

static void *join_forever(void *arg)
{
	struct joiner *j = arg;

	j->err = idmefv2_queue_join(j->q, -1);
	__atomic_store_n(&j->returned, true, __ATOMIC_SEQ_CST);
	return NULL;
}

START_TEST(test_join_waits_for_task_done)
{
	idmefv2_queue *q = idmefv2_queue_new(4);
	struct joiner j = {q, IDMEFV2_ERR_INVALID_ARG, false};
	idmefv2_message *m = testlib_message(1);
	idmefv2_message *got;
	pthread_t th;

	/* Nothing ever put: at once. */
	ck_assert_int_eq(idmefv2_queue_join(q, 0), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_queue_put(q, m, 0, NULL, NULL), IDMEFV2_OK);
	ck_assert_int_eq(pthread_create(&th, NULL, join_forever, &j), 0);
	ck_assert_int_eq(idmefv2_queue_get(q, 0, &got), IDMEFV2_OK);
	/* Got but not acknowledged: join still waits. */
	testlib_sleep_ms(30);
	ck_assert(!__atomic_load_n(&j.returned, __ATOMIC_SEQ_CST));
	ck_assert_int_eq(idmefv2_queue_join(q, 10), IDMEFV2_ERR_TIMEOUT);
	ck_assert_int_eq(idmefv2_queue_task_done(q, got), IDMEFV2_OK);
	pthread_join(th, NULL);
	ck_assert_int_eq(j.err, IDMEFV2_OK);
	idmefv2_message_unref(got);
	idmefv2_message_unref(m);
	idmefv2_queue_unref(q);
}
END_TEST

static Suite *queue_suite(void)
{
	Suite *s = suite_create("queue");
	TCase *tc = tcase_create("queue");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_new_capacity);
	tcase_add_test(tc, test_fifo_and_counts);
	tcase_add_test(tc, test_full_and_timeouts);
	tcase_add_test(tc, test_put_all_all_or_nothing);
	tcase_add_test(tc, test_ack_hooks);
	tcase_add_test(tc, test_close);
	tcase_add_test(tc, test_blocked_put_woken_by_get_and_close);
	tcase_add_test(tc, test_multithreaded);
	tcase_add_test(tc, test_join_waits_for_task_done);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(queue_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
