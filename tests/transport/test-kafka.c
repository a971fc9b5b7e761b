/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Kafka backend against librdkafka's mock cluster (3 brokers on
 * 127.0.0.1), checked from the outside with plain librdkafka clients and kcat.
 */
#include <check.h>
#include <dirent.h>
#include <inttypes.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <idmefv2/queue.h>
#include <idmefv2/transport.h>

#include "kafka-fixture.h"

#define ID_SIZE 40
#define WAIT_MS 30000

static struct kafka_mock mock;
static char err[1024];

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t test_started_ms;

static void setup(void)
{
	test_started_ms = now_ms();
	ck_assert_msg(kafka_mock_new(&mock, 3, err, sizeof(err)) == 0, "%s", err);
}

static void teardown(void)
{
	kafka_mock_free(&mock);
	if (getenv("IDMEFV2_TEST_TIMING"))
		fprintf(stderr, "test took %" PRId64 " ms\n", now_ms() - test_started_ms);
}

/* ---- helpers ------------------------------------------------------------------------- */

static void set_opt(idmefv2_transport *t, const char *name, const char *value)
{
	ck_assert_msg(idmefv2_transport_set(t, name, value, err, sizeof(err)) == IDMEFV2_OK, "%s=%s: %s", name, value,
	              err);
}

static void set_opts(idmefv2_transport *t, const char *const *opts)
{
	for (size_t i = 0; opts && opts[i]; i += 2)
		set_opt(t, opts[i], opts[i + 1]);
}

static idmefv2_transport *sender_new(const char *path, struct kafka_outcomes *o, const char *const *opts)
{
	idmefv2_transport *t = NULL;
	char url[512];

	kafka_mock_url(&mock, path, url, sizeof(url));
	ck_assert_msg(idmefv2_transport_new(url, IDMEFV2_TRANSPORT_SENDER, &t, err, sizeof(err)) == IDMEFV2_OK, "%s",
	              err);
	idmefv2_transport_set_log_cb(t, kafka_test_log, NULL);
	if (o)
		idmefv2_transport_set_delivery_cb(t, kafka_outcomes_cb, o);
	set_opts(t, opts);
	ck_assert_msg(idmefv2_transport_start(t, err, sizeof(err)) == IDMEFV2_OK, "%s", err);
	return t;
}

static idmefv2_transport *listener_new_cb(const char *path, const char *group, idmefv2_queue *q,
                                          idmefv2_message_cb cb, void *cb_data, const char *const *opts)
{
	idmefv2_transport *t = NULL;
	char url[512];

	kafka_mock_url(&mock, path, url, sizeof(url));
	ck_assert_msg(idmefv2_transport_new(url, IDMEFV2_TRANSPORT_LISTENER, &t, err, sizeof(err)) == IDMEFV2_OK,
	              "%s", err);
	idmefv2_transport_set_log_cb(t, kafka_test_log, NULL);
	if (q)
		idmefv2_transport_set_queue(t, q);
	else
		idmefv2_transport_set_message_cb(t, cb, cb_data);
	set_opt(t, "group_id", group);
	/* Short group timers keep rebalances quick: the mock coordinator waits
	 * session.timeout.ms - 1 s for members after one leaves (but 3 s for the
	 * first member, which must not time out meanwhile). */
	set_opt(t, "kafka.session.timeout.ms", "4000");
	set_opt(t, "kafka.heartbeat.interval.ms", "500");
	set_opts(t, opts);
	if (getenv("IDMEFV2_TEST_KAFKA_DEBUG"))
		set_opt(t, "kafka.debug", getenv("IDMEFV2_TEST_KAFKA_DEBUG"));
	ck_assert_msg(idmefv2_transport_start(t, err, sizeof(err)) == IDMEFV2_OK, "%s", err);
	return t;
}

static idmefv2_transport *listener_new(const char *path, const char *group, idmefv2_queue *q,
                                       const char *const *opts)
{
	return listener_new_cb(path, group, q, NULL, NULL, opts);
}

/* Send @n fresh messages, analyzer names cycling through @names; their IDs into @ids. */
static void send_messages(idmefv2_transport *t, size_t n, const char *const *names, size_t n_names,
                          char (*ids)[ID_SIZE])
{
	for (size_t i = 0; i < n; i++) {
		idmefv2_message *msg = kafka_test_message(names[i % n_names], ids[i], ID_SIZE);

		ck_assert_ptr_nonnull(msg);
		ck_assert_msg(idmefv2_transport_send(t, msg, NULL, err, sizeof(err)) == IDMEFV2_OK, "%s", err);
		idmefv2_message_unref(msg);
	}
}

static const char *const default_names[] = { "alpha", "beta", "gamma" };

static const char *message_id(idmefv2_message *msg)
{
	const char *id = NULL;

	ck_assert_int_eq(idmefv2_message_get_string(msg, "ID", &id, NULL, err, sizeof(err)), IDMEFV2_OK);
	return id;
}

/*
 * Get up to @n messages within @timeout_ms; their IDs into @ids. The first
 * @ack_first are acknowledged; the others are kept in @kept (if not NULL)
 * for a later task_done, else acknowledged too.
 */
static size_t receive(idmefv2_queue *q, size_t n, int timeout_ms, char (*ids)[ID_SIZE], size_t ack_first,
                      idmefv2_message **kept)
{
	int64_t deadline = now_ms() + timeout_ms;
	size_t got = 0;

	while (got < n && now_ms() < deadline) {
		idmefv2_message *msg = NULL;

		if (idmefv2_queue_get(q, 100, &msg) != IDMEFV2_OK)
			continue;
		snprintf(ids[got], ID_SIZE, "%s", message_id(msg));
		if (got < ack_first || !kept) {
			ck_assert_int_eq(idmefv2_queue_task_done(q, msg), IDMEFV2_OK);
			idmefv2_message_unref(msg);
		} else {
			kept[got] = msg;
		}
		got++;
	}
	return got;
}

static int id_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Both lists hold the same IDs (and @a has no duplicate). */
static void assert_same_ids(char (*a)[ID_SIZE], char (*b)[ID_SIZE], size_t n)
{
	qsort(a, n, ID_SIZE, id_cmp);
	qsort(b, n, ID_SIZE, id_cmp);
	for (size_t i = 0; i < n; i++) {
		ck_assert_str_eq(a[i], b[i]);
		if (i > 0)
			ck_assert_str_ne(a[i - 1], a[i]);
	}
}

static void wait_counter(idmefv2_transport *t, size_t offset, uint64_t want)
{
	int64_t deadline = now_ms() + WAIT_MS;
	idmefv2_transport_counters c;

	for (;;) {
		idmefv2_transport_get_counters(t, &c);
		if (*(uint64_t *)((char *)&c + offset) >= want || now_ms() >= deadline)
			break;
		usleep(10000);
	}
	ck_assert_uint_ge(*(uint64_t *)((char *)&c + offset), want);
}

#define WAIT_COUNTER(t, field, want) wait_counter((t), offsetof(idmefv2_transport_counters, field), (want))

static void ids_of_records(const struct kafka_records *r, char (*ids)[ID_SIZE])
{
	for (size_t i = 0; i < r->n; i++) {
		idmefv2_message *msg = NULL;

		ck_assert_int_eq(idmefv2_message_new_from_json(r->v[i].value, r->v[i].value_len, &msg, err, sizeof(err)),
		                 IDMEFV2_OK);
		snprintf(ids[i], ID_SIZE, "%s", message_id(msg));
		idmefv2_message_unref(msg);
	}
}

/* ---- creation and configuration ---------------------------------------------------------- */

START_TEST(test_create_errors)
{
	idmefv2_transport *t = NULL;
	idmefv2_queue *q = idmefv2_queue_new(10);

	ck_assert_int_eq(idmefv2_transport_new("kafka://127.0.0.1:9092/bad$topic", IDMEFV2_TRANSPORT_SENDER, &t, err,
	                                       sizeof(err)),
	                 IDMEFV2_ERR_URL);
	ck_assert_ptr_null(t);
	ck_assert_int_eq(idmefv2_transport_new("kafka://127.0.0.1:9092/a,b", IDMEFV2_TRANSPORT_SENDER, &t, err,
	                                       sizeof(err)),
	                 IDMEFV2_ERR_URL);
	ck_assert_ptr_nonnull(strstr(err, "one topic"));
	ck_assert_int_eq(idmefv2_transport_new("kafka://127.0.0.1:9092/a,,b", IDMEFV2_TRANSPORT_LISTENER, &t, err,
	                                       sizeof(err)),
	                 IDMEFV2_ERR_URL);
	ck_assert_int_eq(idmefv2_transport_new("kafka://127.0.0.1:9092/a,b", IDMEFV2_TRANSPORT_LISTENER, &t, err,
	                                       sizeof(err)),
	                 IDMEFV2_OK);
	idmefv2_transport_free(t);
	t = NULL;

	/* A librdkafka property error names the option. */
	ck_assert_int_eq(idmefv2_transport_new("kafka://127.0.0.1:9092/", IDMEFV2_TRANSPORT_SENDER, &t, err,
	                                       sizeof(err)),
	                 IDMEFV2_OK);
	set_opt(t, "kafka.no.such.property", "1");
	ck_assert_int_ne(idmefv2_transport_start(t, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_msg(strstr(err, "kafka.no.such.property") != NULL, "%s", err);
	idmefv2_transport_free(t);
	t = NULL;

	/* tls.* options reach librdkafka's ssl.* properties. */
	ck_assert_int_eq(idmefv2_transport_new("kafka://127.0.0.1:9092/", IDMEFV2_TRANSPORT_SENDER, &t, err,
	                                       sizeof(err)),
	                 IDMEFV2_OK);
	set_opt(t, "tls.ca_file", "/nonexistent/ca.pem");
	ck_assert_int_ne(idmefv2_transport_start(t, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_msg(strstr(err, "ssl.ca.location") != NULL || strstr(err, "/nonexistent/ca.pem") != NULL, "%s", err);
	idmefv2_transport_free(t);
	t = NULL;

	ck_assert_int_eq(idmefv2_transport_new("kafka://127.0.0.1:9092/", IDMEFV2_TRANSPORT_SENDER, &t, err,
	                                       sizeof(err)),
	                 IDMEFV2_OK);
	set_opt(t, "auth.bearer_token", "abc");
	ck_assert_int_ne(idmefv2_transport_start(t, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_msg(strstr(err, "auth.bearer_token") != NULL, "%s", err);
	idmefv2_transport_free(t);
	t = NULL;

	ck_assert_int_eq(idmefv2_transport_new("kafka://127.0.0.1:9092/x", IDMEFV2_TRANSPORT_LISTENER, &t, err,
	                                       sizeof(err)),
	                 IDMEFV2_OK);
	idmefv2_transport_set_queue(t, q);
	set_opt(t, "kafka.auto.offset.reset", "sideways");
	ck_assert_int_ne(idmefv2_transport_start(t, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_msg(strstr(err, "kafka.auto.offset.reset") != NULL, "%s", err);
	idmefv2_transport_free(t);
	idmefv2_queue_unref(q);
}
END_TEST

/* ---- produce and consume ----------------------------------------------------------------- */

#define N_ROUND 200

START_TEST(test_roundtrip)
{
	static char sent_ids[N_ROUND][ID_SIZE], got_ids[N_ROUND][ID_SIZE];
	struct kafka_outcomes o;
	idmefv2_transport *snd, *lsn;
	idmefv2_queue *q = idmefv2_queue_new(1000);
	idmefv2_transport_counters c;
	idmefv2_message *extra = NULL;

	ck_assert_int_eq(kafka_mock_topic(&mock, "alerts", 4), 0);
	kafka_outcomes_init(&o);
	snd = sender_new("alerts", &o, NULL);
	send_messages(snd, N_ROUND, default_names, 3, sent_ids);
	ck_assert_int_eq(idmefv2_transport_flush(snd, WAIT_MS), IDMEFV2_OK);
	ck_assert_uint_eq(o.sent, N_ROUND);
	ck_assert_uint_eq(o.failed + o.rejected, 0);
	idmefv2_transport_get_counters(snd, &c);
	ck_assert_uint_eq(c.queued, N_ROUND);
	ck_assert_uint_eq(c.sent, N_ROUND);

	lsn = listener_new("alerts", "roundtrip", q, NULL);
	ck_assert_uint_eq(receive(q, N_ROUND, WAIT_MS, got_ids, N_ROUND, NULL), N_ROUND);
	assert_same_ids(got_ids, sent_ids, N_ROUND);
	/* Nothing more than what was produced. */
	ck_assert_int_eq(idmefv2_queue_get(q, 300, &extra), IDMEFV2_ERR_TIMEOUT);
	WAIT_COUNTER(lsn, received, N_ROUND);
	idmefv2_transport_get_counters(lsn, &c);
	ck_assert_uint_eq(c.received, N_ROUND);
	ck_assert_uint_eq(c.invalid, 0);

	idmefv2_transport_free(lsn);
	idmefv2_transport_free(snd);
	idmefv2_queue_unref(q);
	kafka_outcomes_clear(&o);
}
END_TEST

/*
 * Get messages, acknowledging each, until every ID of @want (@n of them) has
 * been seen, within @timeout_ms; a redelivery is allowed (at-least-once), an
 * unknown ID is not. @return how many of @want were seen.
 */
static size_t receive_all_of(idmefv2_queue *q, char (*want)[ID_SIZE], size_t n, bool *seen, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	size_t n_seen = 0;

	for (size_t i = 0; i < n; i++)
		n_seen += seen[i];
	while (n_seen < n && now_ms() < deadline) {
		idmefv2_message *msg = NULL;
		const char *id;
		size_t i;

		if (idmefv2_queue_get(q, 100, &msg) != IDMEFV2_OK)
			continue;
		id = message_id(msg);
		for (i = 0; i < n && strcmp(want[i], id) != 0; i++)
			;
		ck_assert_msg(i < n, "unexpected message %s", id);
		if (!seen[i]) {
			seen[i] = true;
			n_seen++;
		}
		ck_assert_int_eq(idmefv2_queue_task_done(q, msg), IDMEFV2_OK);
		idmefv2_message_unref(msg);
	}
	return n_seen;
}

#define N_DOWN 120

START_TEST(test_broker_down)
{
	static char sent_ids[N_DOWN][ID_SIZE];
	static bool seen[N_DOWN];
	static char name_buf[30][16];
	const char *names[30];
	/* Keyed records go to their partition whether its leader is up or not
	 * (unkeyed ones would avoid unavailable partitions). */
	const char *opts[] = { "record_key", "Analyzer.Name", NULL };
	struct kafka_outcomes o;
	idmefv2_transport *snd, *lsn;
	idmefv2_queue *q = idmefv2_queue_new(1000);

	ck_assert_int_eq(kafka_mock_topic(&mock, "flaky", 6), 0);
	/* Broker 2 leads partitions 1 and 4. */
	for (int32_t p = 0; p < 6; p++)
		ck_assert_int_eq(rd_kafka_mock_partition_set_leader(mock.cluster, "flaky", p, p % 3 + 1),
		                 RD_KAFKA_RESP_ERR_NO_ERROR);
	/* The group's coordinator stays up: the partitions' leaders are what fails. */
	ck_assert_int_eq(rd_kafka_mock_coordinator_set(mock.cluster, "group", "flaky", 1), RD_KAFKA_RESP_ERR_NO_ERROR);
	for (int i = 0; i < 30; i++) {
		snprintf(name_buf[i], sizeof(name_buf[i]), "sensor-%d", i);
		names[i] = name_buf[i];
	}
	kafka_outcomes_init(&o);
	snd = sender_new("flaky", &o, opts);
	lsn = listener_new("flaky", "flaky", q, NULL);

	send_messages(snd, N_DOWN / 2, names, 30, sent_ids);
	ck_assert_int_eq(idmefv2_transport_flush(snd, WAIT_MS), IDMEFV2_OK);

	/* Broker 2 leads some of the 6 partitions: their records wait for it. */
	ck_assert_int_eq(rd_kafka_mock_broker_set_down(mock.cluster, 2), RD_KAFKA_RESP_ERR_NO_ERROR);
	send_messages(snd, N_DOWN / 2, names, 30, sent_ids + N_DOWN / 2);
	/* What the other brokers lead gets through meanwhile, not the rest. */
	ck_assert_uint_lt(receive_all_of(q, sent_ids, N_DOWN, seen, 1500), N_DOWN);
	pthread_mutex_lock(&o.lock);
	ck_assert_uint_lt(o.sent, N_DOWN);
	pthread_mutex_unlock(&o.lock);
	ck_assert_int_eq(rd_kafka_mock_broker_set_up(mock.cluster, 2), RD_KAFKA_RESP_ERR_NO_ERROR);

	ck_assert_int_eq(idmefv2_transport_flush(snd, WAIT_MS), IDMEFV2_OK);
	ck_assert_uint_eq(o.sent, N_DOWN);
	ck_assert_uint_eq(o.failed + o.rejected, 0);
	ck_assert_uint_eq(receive_all_of(q, sent_ids, N_DOWN, seen, WAIT_MS), N_DOWN);

	idmefv2_transport_free(lsn);
	idmefv2_transport_free(snd);
	idmefv2_queue_unref(q);
	kafka_outcomes_clear(&o);
}
END_TEST

/* A queue of 2 items and a slow reader: the consumer waits, nothing is dropped. */
#define N_FULL 30

START_TEST(test_full_queue)
{
	static char sent_ids[N_FULL][ID_SIZE], got_ids[N_FULL][ID_SIZE];
	struct kafka_outcomes o;
	idmefv2_transport *snd, *lsn;
	idmefv2_queue *q = idmefv2_queue_new(2);
	idmefv2_transport_counters c;
	size_t got = 0;

	ck_assert_int_eq(kafka_mock_topic(&mock, "narrow", 2), 0);
	kafka_outcomes_init(&o);
	snd = sender_new("narrow", &o, NULL);
	send_messages(snd, N_FULL, default_names, 3, sent_ids);
	ck_assert_int_eq(idmefv2_transport_flush(snd, WAIT_MS), IDMEFV2_OK);
	ck_assert_uint_eq(o.sent, N_FULL);

	lsn = listener_new("narrow", "narrow", q, NULL);
	/* Let the consumer fill the queue and find it full. */
	while (idmefv2_queue_size(q) < 2)
		usleep(10000);
	while (got < N_FULL) {
		size_t n = receive(q, 1, WAIT_MS, got_ids + got, 1, NULL);

		ck_assert_uint_eq(n, 1);
		got++;
		usleep(20000);
	}
	assert_same_ids(got_ids, sent_ids, N_FULL);
	WAIT_COUNTER(lsn, received, N_FULL);
	idmefv2_transport_get_counters(lsn, &c);
	ck_assert_uint_eq(c.received, N_FULL);

	idmefv2_transport_free(lsn);
	idmefv2_transport_free(snd);
	idmefv2_queue_unref(q);
	kafka_outcomes_clear(&o);
}
END_TEST

/* ---- invalid records ------------------------------------------------------------------- */

static char *message_json(const char *analyzer, char *id)
{
	idmefv2_message *msg = kafka_test_message(analyzer, id, ID_SIZE);
	const char *data = NULL;
	size_t len = 0;
	char *copy;

	ck_assert_ptr_nonnull(msg);
	ck_assert_int_eq(idmefv2_message_serialize(msg, "application/json", 0, &data, &len, NULL, err, sizeof(err)),
	                 IDMEFV2_OK);
	copy = strdup(data);
	idmefv2_message_unref(msg);
	return copy;
}

static const char schema_invalid[] = "{\"Version\":\"2.D.V08\",\"ID\":\"not-a-uuid\"}";
static const char not_json[] = "this is not JSON";

START_TEST(test_invalid_skipped)
{
	char id1[ID_SIZE], id2[ID_SIZE], id3[ID_SIZE], got[3][ID_SIZE];
	char *m1 = message_json("one", id1), *m2 = message_json("two", id2), *m3 = message_json("three", id3);
	idmefv2_queue *q = idmefv2_queue_new(100);
	idmefv2_transport *lsn;
	idmefv2_transport_counters c;
	rd_kafka_t *plain;

	ck_assert_int_eq(kafka_mock_topic(&mock, "mixed", 1), 0);
	plain = kafka_plain_producer(&mock, err, sizeof(err));
	ck_assert_msg(plain != NULL, "%s", err);
	ck_assert_int_eq(kafka_plain_produce(plain, "mixed", 0, "application/json", m1, strlen(m1)), 0);
	ck_assert_int_eq(kafka_plain_produce(plain, "mixed", 0, "application/json", not_json, strlen(not_json)), 0);
	ck_assert_int_eq(kafka_plain_produce(plain, "mixed", 0, "application/json", schema_invalid,
	                                     strlen(schema_invalid)), 0);
	ck_assert_int_eq(kafka_plain_produce(plain, "mixed", 0, "text/plain", m1, strlen(m1)), 0);
	/* No Content-Type header: taken as application/json. */
	ck_assert_int_eq(kafka_plain_produce(plain, "mixed", 0, NULL, m2, strlen(m2)), 0);

	lsn = listener_new("mixed", "mixed", q, NULL);
	ck_assert_uint_eq(receive(q, 2, WAIT_MS, got, 2, NULL), 2);
	ck_assert_str_eq(got[0], id1);
	ck_assert_str_eq(got[1], id2);
	WAIT_COUNTER(lsn, invalid, 3);
	WAIT_COUNTER(lsn, received, 2);
	idmefv2_transport_get_counters(lsn, &c);
	ck_assert_uint_eq(c.invalid, 3);
	ck_assert_uint_eq(c.received, 2);
	idmefv2_transport_free(lsn);

	/* The invalid records were committed with the rest: a new member starts after them. */
	ck_assert_int_eq(kafka_plain_produce(plain, "mixed", 0, "application/json", m3, strlen(m3)), 0);
	idmefv2_queue_unref(q);
	q = idmefv2_queue_new(100);
	lsn = listener_new("mixed", "mixed", q, NULL);
	ck_assert_uint_eq(receive(q, 1, WAIT_MS, got, 1, NULL), 1);
	ck_assert_str_eq(got[0], id3);
	idmefv2_transport_get_counters(lsn, &c);
	ck_assert_uint_eq(c.invalid, 0);
	idmefv2_transport_free(lsn);

	rd_kafka_destroy(plain);
	idmefv2_queue_unref(q);
	free(m1);
	free(m2);
	free(m3);
}
END_TEST

START_TEST(test_dead_letter_topic)
{
	char id1[ID_SIZE], got[1][ID_SIZE], hdr[256];
	char *m1 = message_json("one", id1);
	const char *opts[] = { "dead_letter_topic", "in.dlq", NULL };
	idmefv2_queue *q = idmefv2_queue_new(100);
	idmefv2_transport *lsn;
	struct kafka_records r;
	rd_kafka_t *plain;
	bool saw_json = false, saw_schema = false;

	ck_assert_int_eq(kafka_mock_topic(&mock, "in", 2), 0);
	ck_assert_int_eq(kafka_mock_topic(&mock, "in.dlq", 1), 0);
	plain = kafka_plain_producer(&mock, err, sizeof(err));
	ck_assert_msg(plain != NULL, "%s", err);
	ck_assert_int_eq(kafka_plain_produce(plain, "in", 1, "application/json", not_json, strlen(not_json)), 0);
	ck_assert_int_eq(kafka_plain_produce(plain, "in", 0, NULL, schema_invalid, strlen(schema_invalid)), 0);
	ck_assert_int_eq(kafka_plain_produce(plain, "in", 1, "application/json", m1, strlen(m1)), 0);

	lsn = listener_new("in", "dlq", q, opts);
	ck_assert_uint_eq(receive(q, 1, WAIT_MS, got, 1, NULL), 1);
	ck_assert_str_eq(got[0], id1);
	WAIT_COUNTER(lsn, invalid, 2);
	idmefv2_transport_free(lsn);

	ck_assert_msg(kafka_read_all(&mock, "in.dlq", WAIT_MS, &r, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(r.n, 2);
	for (size_t i = 0; i < r.n; i++) {
		ck_assert_ptr_nonnull(kafka_record_header(&r.v[i], "idmefv2-error", hdr, sizeof(hdr)));
		ck_assert_uint_gt(strlen(hdr), 0);
		ck_assert_str_eq(kafka_record_header(&r.v[i], "idmefv2-topic", hdr, sizeof(hdr)), "in");
		if (strcmp(r.v[i].value, not_json) == 0) {
			saw_json = true;
			ck_assert_str_eq(kafka_record_header(&r.v[i], "idmefv2-partition", hdr, sizeof(hdr)), "1");
			ck_assert_str_eq(kafka_record_header(&r.v[i], "Content-Type", hdr, sizeof(hdr)),
			                 "application/json");
		} else if (strcmp(r.v[i].value, schema_invalid) == 0) {
			saw_schema = true;
			ck_assert_str_eq(kafka_record_header(&r.v[i], "idmefv2-partition", hdr, sizeof(hdr)), "0");
			ck_assert_str_eq(kafka_record_header(&r.v[i], "idmefv2-offset", hdr, sizeof(hdr)), "0");
			/* The reason names the failing value. */
			kafka_record_header(&r.v[i], "idmefv2-error", hdr, sizeof(hdr));
			ck_assert_msg(strstr(hdr, "/ID") || strstr(hdr, "Analyzer"), "%s", hdr);
		}
	}
	ck_assert(saw_json && saw_schema);
	kafka_records_clear(&r);

	rd_kafka_destroy(plain);
	idmefv2_queue_unref(q);
	free(m1);
}
END_TEST

/* ---- at-least-once ------------------------------------------------------------------- */

#define N_ALO 30
#define N_ACKED 12

START_TEST(test_at_least_once)
{
	static char sent_ids[N_ALO][ID_SIZE], got_ids[N_ALO][ID_SIZE], again_ids[N_ALO][ID_SIZE];
	static char unacked[N_ALO - N_ACKED][ID_SIZE];
	idmefv2_message *kept[N_ALO] = { 0 };
	struct kafka_outcomes o;
	idmefv2_transport *snd, *lsn;
	idmefv2_queue *q = idmefv2_queue_new(1000);
	idmefv2_message *extra = NULL;

	ck_assert_int_eq(kafka_mock_topic(&mock, "alo", 3), 0);
	kafka_outcomes_init(&o);
	snd = sender_new("alo", &o, NULL);
	send_messages(snd, N_ALO, default_names, 3, sent_ids);
	ck_assert_int_eq(idmefv2_transport_flush(snd, WAIT_MS), IDMEFV2_OK);
	ck_assert_uint_eq(o.sent, N_ALO);

	/* The first member acknowledges only the first N_ACKED it got, then goes away. */
	lsn = listener_new("alo", "alo", q, NULL);
	ck_assert_uint_eq(receive(q, N_ALO, WAIT_MS, got_ids, N_ACKED, kept), N_ALO);
	for (size_t i = N_ACKED; i < N_ALO; i++)
		memcpy(unacked[i - N_ACKED], got_ids[i], ID_SIZE);
	idmefv2_transport_free(lsn);
	for (size_t i = N_ACKED; i < N_ALO; i++)
		idmefv2_message_unref(kept[i]);
	idmefv2_queue_unref(q);

	/* A new member of the group gets exactly the unacknowledged ones. */
	q = idmefv2_queue_new(1000);
	lsn = listener_new("alo", "alo", q, NULL);
	ck_assert_uint_eq(receive(q, N_ALO - N_ACKED, WAIT_MS, again_ids, N_ALO, NULL), N_ALO - N_ACKED);
	assert_same_ids(again_ids, unacked, N_ALO - N_ACKED);
	ck_assert_int_eq(idmefv2_queue_get(q, 1000, &extra), IDMEFV2_ERR_TIMEOUT);
	idmefv2_transport_free(lsn);

	idmefv2_transport_free(snd);
	idmefv2_queue_unref(q);
	kafka_outcomes_clear(&o);
}
END_TEST

/* Acknowledgements out of order: the commit stops at the first record not yet done. */
#define N_ORDER 10

START_TEST(test_commit_in_order)
{
	static char sent_ids[N_ORDER][ID_SIZE], got_ids[N_ORDER][ID_SIZE], again_ids[N_ORDER][ID_SIZE];
	static const bool acked[N_ORDER] = { 1, 1, 1, 0, 0, 1, 1, 0, 0, 1 };
	idmefv2_message *kept[N_ORDER] = { 0 };
	struct kafka_outcomes o;
	idmefv2_transport *snd, *lsn;
	idmefv2_queue *q = idmefv2_queue_new(100);
	idmefv2_message *extra = NULL;

	ck_assert_int_eq(kafka_mock_topic(&mock, "order", 1), 0);
	kafka_outcomes_init(&o);
	snd = sender_new("order", &o, NULL);
	send_messages(snd, N_ORDER, default_names, 3, sent_ids);
	ck_assert_int_eq(idmefv2_transport_flush(snd, WAIT_MS), IDMEFV2_OK);
	idmefv2_transport_free(snd);
	kafka_outcomes_clear(&o);

	lsn = listener_new("order", "order", q, NULL);
	ck_assert_uint_eq(receive(q, N_ORDER, WAIT_MS, got_ids, 0, kept), N_ORDER);
	for (size_t i = 0; i < N_ORDER; i++) {
		ck_assert_str_eq(got_ids[i], sent_ids[i]);
		if (acked[i])
			ck_assert_int_eq(idmefv2_queue_task_done(q, kept[i]), IDMEFV2_OK);
	}
	idmefv2_transport_free(lsn);
	for (size_t i = 0; i < N_ORDER; i++)
		idmefv2_message_unref(kept[i]);
	idmefv2_queue_unref(q);

	/* Offsets 0-2 were committed; from 3 on everything comes again, 5 and 6 included. */
	q = idmefv2_queue_new(100);
	lsn = listener_new("order", "order", q, NULL);
	ck_assert_uint_eq(receive(q, N_ORDER - 3, WAIT_MS, again_ids, N_ORDER, NULL), N_ORDER - 3);
	for (size_t i = 3; i < N_ORDER; i++)
		ck_assert_str_eq(again_ids[i - 3], sent_ids[i]);
	ck_assert_int_eq(idmefv2_queue_get(q, 500, &extra), IDMEFV2_ERR_TIMEOUT);
	idmefv2_transport_free(lsn);
	idmefv2_queue_unref(q);
}
END_TEST

/* ---- callback mode ------------------------------------------------------------------- */

#define N_CB 10

struct refusing {
	pthread_mutex_t lock;
	unsigned refusals_left;
	unsigned refusals;
	char first_refused[ID_SIZE];
	char ids[N_CB][ID_SIZE];
	size_t n;
};

static idmefv2_error refusing_cb(idmefv2_transport *t, idmefv2_message *msg, void *user_data)
{
	struct refusing *r = user_data;
	const char *id = NULL;
	idmefv2_error ret = IDMEFV2_OK;

	(void)t;
	idmefv2_message_get_string(msg, "ID", &id, NULL, NULL, 0);
	pthread_mutex_lock(&r->lock);
	if (r->refusals_left > 0) {
		if (r->refusals++ == 0)
			snprintf(r->first_refused, ID_SIZE, "%s", id);
		r->refusals_left--;
		ret = IDMEFV2_ERR_FULL;
	} else if (r->n < N_CB) {
		snprintf(r->ids[r->n++], ID_SIZE, "%s", id);
	}
	pthread_mutex_unlock(&r->lock);
	return ret;
}

START_TEST(test_callback_refusal)
{
	static char sent_ids[N_CB][ID_SIZE];
	static struct refusing r = { .lock = PTHREAD_MUTEX_INITIALIZER, .refusals_left = 3 };
	struct kafka_outcomes o;
	idmefv2_transport *snd, *lsn;
	idmefv2_queue *q;
	char marker[ID_SIZE], got[ID_SIZE];
	int64_t deadline;
	size_t n = 0;

	ck_assert_int_eq(kafka_mock_topic(&mock, "cb", 1), 0);
	kafka_outcomes_init(&o);
	snd = sender_new("cb", &o, NULL);
	send_messages(snd, N_CB, default_names, 3, sent_ids);
	ck_assert_int_eq(idmefv2_transport_flush(snd, WAIT_MS), IDMEFV2_OK);
	idmefv2_transport_free(snd);
	kafka_outcomes_clear(&o);

	lsn = listener_new_cb("cb", "cb", NULL, refusing_cb, &r, NULL);
	deadline = now_ms() + WAIT_MS;
	while (n < N_CB && now_ms() < deadline) {
		usleep(10000);
		pthread_mutex_lock(&r.lock);
		n = r.n;
		pthread_mutex_unlock(&r.lock);
	}
	WAIT_COUNTER(lsn, received, N_CB);
	idmefv2_transport_free(lsn);
	ck_assert_uint_eq(n, N_CB);
	ck_assert_uint_eq(r.refusals, 3);
	/* The refused record was offered again, not skipped, and the order kept. */
	ck_assert_str_eq(r.first_refused, sent_ids[0]);
	for (size_t i = 0; i < N_CB; i++)
		ck_assert_str_eq(r.ids[i], sent_ids[i]);

	/* A callback's acceptance is its acknowledgement: all committed, so a new
	 * member of the group starts with the next record. */
	kafka_outcomes_init(&o);
	snd = sender_new("cb", &o, NULL);
	send_messages(snd, 1, default_names, 1, &marker);
	ck_assert_int_eq(idmefv2_transport_flush(snd, WAIT_MS), IDMEFV2_OK);
	idmefv2_transport_free(snd);
	kafka_outcomes_clear(&o);
	q = idmefv2_queue_new(10);
	lsn = listener_new("cb", "cb", q, NULL);
	ck_assert_uint_eq(receive(q, 1, WAIT_MS, &got, 1, NULL), 1);
	ck_assert_str_eq(got, marker);
	idmefv2_transport_free(lsn);
	idmefv2_queue_unref(q);
}
END_TEST

/* ---- record key, headers, kcat ---------------------------------------------------------- */

START_TEST(test_record_key)
{
	static char sent_ids[13][ID_SIZE];
	const char *opts[] = { "record_key", "Analyzer.Name", NULL };
	struct kafka_outcomes o;
	struct kafka_records r;
	idmefv2_transport *snd;
	char *raw;
	int32_t partition_of[4] = { -1, -1, -1, -1 };
	static const char *const names[] = { "alpha", "beta", "gamma", "delta" };

	ck_assert_int_eq(kafka_mock_topic(&mock, "keyed", 4), 0);
	kafka_outcomes_init(&o);
	snd = sender_new("keyed", &o, opts);
	send_messages(snd, 12, names, 3, sent_ids);
	/* send_raw: the key comes from the bytes too. */
	raw = message_json("delta", sent_ids[12]);
	ck_assert_int_eq(idmefv2_transport_send_raw(snd, "application/json", raw, strlen(raw), NULL, err, sizeof(err)),
	                 IDMEFV2_OK);
	free(raw);
	ck_assert_int_eq(idmefv2_transport_flush(snd, WAIT_MS), IDMEFV2_OK);
	ck_assert_uint_eq(o.sent, 13);
	idmefv2_transport_free(snd);

	ck_assert_msg(kafka_read_all(&mock, "keyed", WAIT_MS, &r, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(r.n, 13);
	for (size_t i = 0; i < r.n; i++) {
		idmefv2_message *msg = NULL;
		const char *name = NULL;
		size_t k;

		ck_assert_int_eq(idmefv2_message_new_from_json(r.v[i].value, r.v[i].value_len, &msg, err, sizeof(err)),
		                 IDMEFV2_OK);
		ck_assert_int_eq(idmefv2_message_get_string(msg, "Analyzer.Name", &name, NULL, err, sizeof(err)),
		                 IDMEFV2_OK);
		ck_assert_ptr_nonnull(r.v[i].key);
		ck_assert_str_eq(r.v[i].key, name);
		/* Same key, same partition. */
		for (k = 0; k < 4 && strcmp(names[k], name) != 0; k++)
			;
		ck_assert_uint_lt(k, 4);
		if (partition_of[k] < 0)
			partition_of[k] = r.v[i].partition;
		ck_assert_int_eq(partition_of[k], r.v[i].partition);
		idmefv2_message_unref(msg);
	}
	kafka_records_clear(&r);
	kafka_outcomes_clear(&o);
}
END_TEST

#define N_KCAT 6

START_TEST(test_kcat_reads)
{
	static char sent_ids[N_KCAT + 1][ID_SIZE], kcat_ids[N_KCAT + 1][ID_SIZE], rec_ids[N_KCAT + 1][ID_SIZE];
	struct kafka_outcomes o;
	struct kafka_records r;
	idmefv2_transport *snd;
	char cmd[1024], line[8192], hdr[128];
	char *raw;
	size_t n = 0, n_text_json = 0;
	FILE *p;
	int status;

	ck_assert_int_eq(kafka_mock_topic(&mock, "idmefv2", 2), 0);
	kafka_outcomes_init(&o);
	/* An empty path means the default topic "idmefv2". */
	snd = sender_new("", &o, NULL);
	send_messages(snd, N_KCAT, default_names, 3, sent_ids);
	raw = message_json("raw", sent_ids[N_KCAT]);
	ck_assert_int_eq(idmefv2_transport_send_raw(snd, "text/json", raw, strlen(raw), NULL, err, sizeof(err)),
	                 IDMEFV2_OK);
	free(raw);
	/* No flush: stop() delivers what is queued. */
	ck_assert_int_eq(idmefv2_transport_stop(snd), IDMEFV2_OK);
	ck_assert_uint_eq(o.sent, N_KCAT + 1);
	idmefv2_transport_free(snd);

	snprintf(cmd, sizeof(cmd), "timeout 30 kcat -b '%s' -C -t idmefv2 -e -q -f '%%h %%s\\n' 2>&1",
	         mock.bootstraps);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	while (fgets(line, sizeof(line), p)) {
		char *sp = strchr(line, ' ');
		idmefv2_message *msg = NULL;
		size_t len;

		ck_assert_msg(sp != NULL, "kcat: %s", line);
		*sp = '\0';
		len = strcspn(sp + 1, "\n");
		ck_assert_msg(n <= N_KCAT, "kcat: too many records: %s", line);
		if (strcmp(line, "Content-Type=text/json") == 0)
			n_text_json++;
		else
			ck_assert_str_eq(line, "Content-Type=application/json");
		ck_assert_msg(idmefv2_message_unserialize("application/json", sp + 1, len, 0, &msg, NULL, err,
		                                          sizeof(err)) == IDMEFV2_OK,
		              "kcat payload: %s", err);
		snprintf(kcat_ids[n++], ID_SIZE, "%s", message_id(msg));
		idmefv2_message_unref(msg);
	}
	status = pclose(p);
	ck_assert_int_eq(status, 0);
	ck_assert_uint_eq(n, N_KCAT + 1);
	ck_assert_uint_eq(n_text_json, 1);
	assert_same_ids(kcat_ids, sent_ids, N_KCAT + 1);

	/* The same seen by a plain librdkafka consumer: no key without record_key. */
	ck_assert_msg(kafka_read_all(&mock, "idmefv2", WAIT_MS, &r, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(r.n, N_KCAT + 1);
	for (size_t i = 0; i < r.n; i++) {
		ck_assert_ptr_null(r.v[i].key);
		ck_assert_ptr_nonnull(kafka_record_header(&r.v[i], "Content-Type", hdr, sizeof(hdr)));
	}
	ids_of_records(&r, rec_ids);
	assert_same_ids(rec_ids, kcat_ids, N_KCAT + 1);
	kafka_records_clear(&r);
	kafka_outcomes_clear(&o);
}
END_TEST

/* ---- refusals ------------------------------------------------------------------------ */

START_TEST(test_rejected_too_large)
{
	char dir[] = "/tmp/idmefv2-kafka-dl-XXXXXX", path[128], id[ID_SIZE], small_id[ID_SIZE], line[16384];
	const char *opts[] = { "kafka.message.max.bytes", "1000", "dead_letter", path, NULL };
	static char note[3001];
	struct kafka_outcomes o;
	idmefv2_transport *snd;
	idmefv2_transport_counters c;
	idmefv2_message *msg;
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/dead.ndjson", dir);
	ck_assert_int_eq(kafka_mock_topic(&mock, "small", 1), 0);
	kafka_outcomes_init(&o);
	snd = sender_new("small", &o, opts);

	memset(note, 'x', sizeof(note) - 1);
	msg = kafka_test_message("big", id, sizeof(id));
	ck_assert_int_eq(idmefv2_message_set_string(msg, "Note", note, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_transport_send(snd, msg, NULL, err, sizeof(err)), IDMEFV2_OK);
	idmefv2_message_unref(msg);
	send_messages(snd, 1, default_names, 1, &small_id);
	ck_assert_int_eq(idmefv2_transport_flush(snd, WAIT_MS), IDMEFV2_OK);
	ck_assert_uint_eq(o.rejected, 1);
	ck_assert_uint_eq(o.sent, 1);
	ck_assert_msg(strstr(o.last_detail, "too large") != NULL, "%s", o.last_detail);
	idmefv2_transport_get_counters(snd, &c);
	ck_assert_uint_eq(c.failed, 1);
	ck_assert_uint_eq(c.sent, 1);
	idmefv2_transport_free(snd);
	kafka_outcomes_clear(&o);

	/* The refused message went to the dead-letter file. */
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
	ck_assert_ptr_nonnull(strstr(line, id));
	ck_assert_ptr_null(fgets(line, sizeof(line), f));
	fclose(f);
	unlink(path);
	rmdir(dir);
}
END_TEST

/* ---- stop with the cluster down --------------------------------------------------------- */

static size_t count_spool_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

#define N_SPOOL 5

START_TEST(test_stop_cluster_down)
{
	static char sent_ids[N_SPOOL][ID_SIZE], rec_ids[N_SPOOL][ID_SIZE];
	char dir[] = "/tmp/idmefv2-kafka-spool-XXXXXX";
	const char *fail_opts[] = { "stop.flush_timeout_ms", "300", NULL };
	const char *spool_opts[] = { "stop.flush_timeout_ms", "300", "spool.dir", dir, NULL };
	const char *replay_opts[] = { "spool.dir", dir, NULL };
	struct kafka_outcomes o;
	struct kafka_records r;
	idmefv2_transport *snd;
	idmefv2_transport_counters c;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(kafka_mock_topic(&mock, "later", 2), 0);
	ck_assert_int_eq(rd_kafka_mock_broker_set_down(mock.cluster, -1), RD_KAFKA_RESP_ERR_NO_ERROR);

	/* Without a spool, what stop() could not deliver is reported FAILED. */
	kafka_outcomes_init(&o);
	snd = sender_new("later", &o, fail_opts);
	send_messages(snd, N_SPOOL, default_names, 3, sent_ids);
	ck_assert_int_eq(idmefv2_transport_stop(snd), IDMEFV2_OK);
	ck_assert_uint_eq(o.failed, N_SPOOL);
	ck_assert_uint_eq(o.sent, 0);
	idmefv2_transport_get_counters(snd, &c);
	ck_assert_uint_eq(c.failed, N_SPOOL);
	idmefv2_transport_free(snd);
	kafka_outcomes_clear(&o);

	/* With a spool, it is kept on disk, without an outcome yet... */
	kafka_outcomes_init(&o);
	snd = sender_new("later", &o, spool_opts);
	send_messages(snd, N_SPOOL, default_names, 3, sent_ids);
	ck_assert_int_eq(idmefv2_transport_stop(snd), IDMEFV2_OK);
	ck_assert_uint_eq(o.sent + o.failed + o.rejected, 0);
	idmefv2_transport_get_counters(snd, &c);
	ck_assert_uint_eq(c.spooled, N_SPOOL);
	ck_assert_uint_eq(c.failed, 0);
	idmefv2_transport_free(snd);
	kafka_outcomes_clear(&o);
	ck_assert_uint_eq(count_spool_files(dir), N_SPOOL);

	/* ...and replayed by the next sender once the cluster is back. */
	ck_assert_int_eq(rd_kafka_mock_broker_set_up(mock.cluster, -1), RD_KAFKA_RESP_ERR_NO_ERROR);
	kafka_outcomes_init(&o);
	snd = sender_new("later", &o, replay_opts);
	ck_assert_int_eq(idmefv2_transport_flush(snd, WAIT_MS), IDMEFV2_OK);
	ck_assert_uint_eq(o.sent, N_SPOOL);
	idmefv2_transport_get_counters(snd, &c);
	ck_assert_uint_eq(c.sent, N_SPOOL);
	idmefv2_transport_free(snd);
	kafka_outcomes_clear(&o);
	ck_assert_uint_eq(count_spool_files(dir), 0);

	ck_assert_msg(kafka_read_all(&mock, "later", WAIT_MS, &r, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(r.n, N_SPOOL);
	ids_of_records(&r, rec_ids);
	assert_same_ids(rec_ids, sent_ids, N_SPOOL);
	kafka_records_clear(&r);
	remove_dir(dir);
}
END_TEST

/* One case per test so that CK_RUN_CASE can pick one. */
static void add_case(Suite *s, const char *name, const TTest *test)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test);
	suite_add_tcase(s, tc);
}

static Suite *kafka_suite(void)
{
	Suite *s = suite_create("kafka");

	add_case(s, "create_errors", test_create_errors);
	add_case(s, "roundtrip", test_roundtrip);
	add_case(s, "broker_down", test_broker_down);
	add_case(s, "full_queue", test_full_queue);
	add_case(s, "invalid_skipped", test_invalid_skipped);
	add_case(s, "dead_letter_topic", test_dead_letter_topic);
	add_case(s, "at_least_once", test_at_least_once);
	add_case(s, "commit_in_order", test_commit_in_order);
	add_case(s, "callback_refusal", test_callback_refusal);
	add_case(s, "record_key", test_record_key);
	add_case(s, "kcat_reads", test_kcat_reads);
	add_case(s, "rejected_too_large", test_rejected_too_large);
	add_case(s, "stop_cluster_down", test_stop_cluster_down);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(kafka_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
