/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers for the Kafka backend's tests: librdkafka's mock cluster on
 * 127.0.0.1, and plain librdkafka clients (a producer of raw records and a
 * reader that drains topics from the beginning) that check the backend from
 * the outside.
 */
#ifndef KAFKA_FIXTURE_H
#define KAFKA_FIXTURE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <idmefv2/transport.h>

struct kafka_mock {
	rd_kafka_t *rk; /* the handle the cluster lives on */
	rd_kafka_mock_cluster_t *cluster;
	char bootstraps[256];
};

/* A cluster of @brokers brokers. @return 0, or -1 with a message in @err. */
int kafka_mock_new(struct kafka_mock *m, int brokers, char *err, size_t err_size);
void kafka_mock_free(struct kafka_mock *m);
/* Create @topic with @partitions partitions replicated on every broker. */
int kafka_mock_topic(struct kafka_mock *m, const char *topic, int partitions);
/* "kafka://<bootstraps>/<path>" into @buf. */
const char *kafka_mock_url(const struct kafka_mock *m, const char *path, char *buf, size_t size);

/* One record as read by kafka_read_all(). */
struct kafka_record {
	int32_t partition;
	int64_t offset;
	char *key;          /* NUL-terminated, NULL if the record has none */
	char *value;        /* NUL-terminated, NULL if none */
	size_t value_len;
	char *headers;      /* "name=value;name=value" in record order, "" if none */
};

struct kafka_records {
	struct kafka_record *v;
	size_t n;
};

/*
 * Read every record of @topic from the beginning up to the end of each
 * partition (as seen within @timeout_ms), with a plain consumer using
 * assign() (no group).
 * @return 0, or -1 with a message in @err
 */
int kafka_read_all(const struct kafka_mock *m, const char *topic, int timeout_ms, struct kafka_records *ret,
                   char *err, size_t err_size);
void kafka_records_clear(struct kafka_records *r);
/* The value of header @name in @rec ("" if empty), copied to @buf; NULL if absent. */
const char *kafka_record_header(const struct kafka_record *rec, const char *name, char *buf, size_t size);

/* A plain producer of raw records. */
rd_kafka_t *kafka_plain_producer(const struct kafka_mock *m, char *err, size_t err_size);
/* Produce one record (content_type NULL: no header) to partition @partition (-1: any); flushes. */
int kafka_plain_produce(rd_kafka_t *rk, const char *topic, int32_t partition, const char *content_type,
                        const char *value, size_t len);

/* A valid message (latest Version) with Analyzer.Name @analyzer; its ID into @id (37 bytes). */
idmefv2_message *kafka_test_message(const char *analyzer, char *id, size_t id_size);

/* Delivery outcomes collected by a sender's delivery callback. */
struct kafka_outcomes {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	size_t sent, rejected, failed;
	char last_detail[256];
};

void kafka_outcomes_init(struct kafka_outcomes *o);
void kafka_outcomes_clear(struct kafka_outcomes *o);
void kafka_outcomes_cb(idmefv2_transport *t, void *opaque, idmefv2_delivery_status status, const char *detail,
                       void *user_data);
/* Wait until @n outcomes in all arrived, up to @timeout_ms. @return true if they did. */
bool kafka_outcomes_wait(struct kafka_outcomes *o, size_t n, int timeout_ms);

/* Log callback writing to stderr when IDMEFV2_TEST_VERBOSE is set. */
void kafka_test_log(idmefv2_log_level level, const char *message, void *user_data);

#endif
