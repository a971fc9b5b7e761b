/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: Kafka records to the consumer, end to end. A record
 * built from the input is produced by a plain librdkafka producer to
 * librdkafka's mock cluster on 127.0.0.1, and an `idmefv2 listen kafka://`
 * listener (consumer group, dead-letter topic) reads it: headers
 * (Content-Type, last one wins), payload unserialize and validation, delivery
 * to the queue or a copy to the dead-letter topic with the error headers.
 * Each input waits until the listener has counted its record received or
 * invalid: a record never accounted for is lost, and aborts.
 *
 * Input: byte 0 = number of headers (low 2 bits); each header is a length
 * byte, the name, a length byte (255: no value), the value; the rest is the
 * payload.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <idmefv2/idmefv2.h>
#include <idmefv2/transport.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TOPIC "fuzz"
#define RECORD_DEADLINE_MS 20000

static rd_kafka_t *mock_rk, *producer;
static rd_kafka_mock_cluster_t *cluster;
static idmefv2_transport *listener;
static idmefv2_queue *queue;

static const char sentinel[] = "{\"Version\": \"2.D.V05\", \"ID\": \"056666c6-9c04-43dd-b6bf-3d99fe490b08\","
                               " \"CreateTime\": \"1985-04-12T23:59:59.52Z\","
                               " \"Analyzer\": {\"Name\": \"fuzz\", \"IP\": \"127.0.0.1\"}}";

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void quiet_rd(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	(void)level;
	(void)fac;
	(void)buf;
}

static void quiet(idmefv2_log_level level, const char *message, void *user_data)
{
	(void)level;
	(void)message;
	(void)user_data;
}

static void fail(const char *what, const char *why)
{
	fprintf(stderr, "fuzz-kafka: %s: %s\n", what, why);
	abort();
}

static uint64_t accounted(void)
{
	idmefv2_transport_counters c;

	idmefv2_transport_get_counters(listener, &c);
	return c.received + c.invalid;
}

static void drain(void)
{
	for (idmefv2_message *m; idmefv2_queue_get(queue, 0, &m) == IDMEFV2_OK;) {
		idmefv2_queue_task_done(queue, m);
		idmefv2_message_unref(m);
	}
}

static void produce(const void *payload, size_t len, rd_kafka_headers_t *hdrs)
{
	rd_kafka_resp_err_t e = rd_kafka_producev(
		producer, RD_KAFKA_V_TOPIC(TOPIC), RD_KAFKA_V_PARTITION(0), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
		RD_KAFKA_V_VALUE((void *)payload, len), RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);

	if (e) {
		rd_kafka_headers_destroy(hdrs);
		fail("produce", rd_kafka_err2str(e));
	}
	if (rd_kafka_flush(producer, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR)
		fail("flush", "timed out");
}

static void kafka_stop(void)
{
	idmefv2_transport_free(listener);
	idmefv2_queue_unref(queue);
	rd_kafka_destroy(producer);
	rd_kafka_mock_cluster_destroy(cluster);
	rd_kafka_destroy(mock_rk);
}

static void listener_set(const char *name, const char *value)
{
	char err[512];

	if (idmefv2_transport_set(listener, name, value, err, sizeof(err)) != IDMEFV2_OK)
		fail(name, err);
}

static void kafka_start(void)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char err[512], url[512];
	int64_t deadline;

	rd_kafka_conf_set_log_cb(conf, quiet_rd);
	mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	if (!mock_rk || !(cluster = rd_kafka_mock_cluster_new(mock_rk, 1)))
		fail("mock cluster", err);
	if (rd_kafka_mock_topic_create(cluster, TOPIC, 1, 1) || rd_kafka_mock_topic_create(cluster, TOPIC ".dlq", 1, 1))
		fail("mock cluster", "topic");
	conf = rd_kafka_conf_new();
	rd_kafka_conf_set_log_cb(conf, quiet_rd);
	if (rd_kafka_conf_set(conf, "bootstrap.servers", rd_kafka_mock_cluster_bootstraps(cluster), err,
	                      sizeof(err)) ||
	    rd_kafka_conf_set(conf, "linger.ms", "0", err, sizeof(err)))
		fail("producer", err);
	producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	if (!producer)
		fail("producer", err);

	queue = idmefv2_queue_new(16);
	snprintf(url, sizeof(url), "kafka://%s/" TOPIC, rd_kafka_mock_cluster_bootstraps(cluster));
	if (idmefv2_transport_new(url, IDMEFV2_TRANSPORT_LISTENER, &listener, err, sizeof(err)) != IDMEFV2_OK)
		fail(url, err);
	idmefv2_transport_set_log_cb(listener, quiet, NULL);
	idmefv2_transport_set_queue(listener, queue);
	listener_set("group_id", "fuzz");
	listener_set("dead_letter_topic", TOPIC ".dlq");
	listener_set("kafka.session.timeout.ms", "4000");
	listener_set("kafka.heartbeat.interval.ms", "500");
	listener_set("kafka.fetch.wait.max.ms", "5");
	if (idmefv2_transport_start(listener, err, sizeof(err)) != IDMEFV2_OK)
		fail("listener", err);
	/* The group is joined once a first valid record comes through. */
	produce(sentinel, sizeof(sentinel) - 1, NULL);
	for (deadline = now_ms() + 60000; accounted() == 0; usleep(10000))
		if (now_ms() > deadline)
			fail("listener", "no record received in 60 s");
	drain();
}

/* The next @n bytes of the input, or NULL past its end. */
static const uint8_t *take(const uint8_t **p, const uint8_t *end, size_t n)
{
	const uint8_t *at = *p;

	if ((size_t)(end - at) < n)
		return NULL;
	*p += n;
	return at;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size, *b;
	rd_kafka_headers_t *hdrs;
	uint64_t before;
	int64_t deadline;
	unsigned nh;

	if (size == 0)
		return 0;
	if (!listener) {
		kafka_start();
		atexit(kafka_stop);
	}
	nh = *take(&p, end, 1) & 3;
	hdrs = rd_kafka_headers_new(4);
	for (unsigned i = 0; i < nh; i++) {
		const uint8_t *name, *value = NULL;
		char namebuf[256];
		size_t nlen, vlen;

		if (!(b = take(&p, end, 1)) || !(name = take(&p, end, nlen = *b)) || !(b = take(&p, end, 1)))
			break;
		vlen = *b;
		if (vlen != 255 && !(value = take(&p, end, vlen)))
			break;
		/* Header names are C strings to librdkafka. */
		memcpy(namebuf, name, nlen);
		namebuf[nlen] = '\0';
		rd_kafka_header_add(hdrs, namebuf, -1, value, value ? (ssize_t)vlen : 0);
	}
	before = accounted();
	produce(p, (size_t)(end - p), hdrs);
	for (deadline = now_ms() + RECORD_DEADLINE_MS; accounted() == before; usleep(200))
		if (now_ms() > deadline)
			fail("record", "neither received nor counted invalid");
	drain();
	return 0;
}
