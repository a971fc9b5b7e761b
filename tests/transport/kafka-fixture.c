/* SPDX-License-Identifier: Apache-2.0 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <idmefv2/message.h>

#include "kafka-fixture.h"

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	if (getenv("IDMEFV2_TEST_VERBOSE"))
		fprintf(stderr, "rdkafka %d %s: %s\n", level, fac, buf);
}

int kafka_mock_new(struct kafka_mock *m, int brokers, char *err, size_t err_size)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char rderr[256];

	memset(m, 0, sizeof(*m));
	rd_kafka_conf_set_log_cb(conf, quiet_log);
	m->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, rderr, sizeof(rderr));
	if (!m->rk) {
		rd_kafka_conf_destroy(conf);
		snprintf(err, err_size, "rd_kafka_new: %s", rderr);
		return -1;
	}
	m->cluster = rd_kafka_mock_cluster_new(m->rk, brokers);
	if (!m->cluster) {
		snprintf(err, err_size, "rd_kafka_mock_cluster_new failed");
		rd_kafka_destroy(m->rk);
		m->rk = NULL;
		return -1;
	}
	snprintf(m->bootstraps, sizeof(m->bootstraps), "%s", rd_kafka_mock_cluster_bootstraps(m->cluster));
	return 0;
}

void kafka_mock_free(struct kafka_mock *m)
{
	if (m->cluster)
		rd_kafka_mock_cluster_destroy(m->cluster);
	if (m->rk)
		rd_kafka_destroy(m->rk);
	memset(m, 0, sizeof(*m));
}

int kafka_mock_topic(struct kafka_mock *m, const char *topic, int partitions)
{
	return rd_kafka_mock_topic_create(m->cluster, topic, partitions, 3) == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
}

const char *kafka_mock_url(const struct kafka_mock *m, const char *path, char *buf, size_t size)
{
	snprintf(buf, size, "kafka://%s/%s", m->bootstraps, path);
	return buf;
}

static char *dup_bytes(const void *p, size_t len)
{
	char *s = malloc(len + 1);

	if (!s)
		abort();
	if (len)
		memcpy(s, p, len);
	s[len] = '\0';
	return s;
}

static char *headers_text(const rd_kafka_message_t *rkm)
{
	rd_kafka_headers_t *hdrs = NULL;
	const char *name;
	const void *value;
	size_t len;
	char *out = dup_bytes("", 0);
	size_t out_len = 0;

	if (rd_kafka_message_headers(rkm, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return out;
	for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &value, &len) == RD_KAFKA_RESP_ERR_NO_ERROR; i++) {
		size_t add = strlen(name) + 1 + (value ? len : 0) + 1;

		out = realloc(out, out_len + add + 1);
		if (!out)
			abort();
		out_len += (size_t)sprintf(out + out_len, "%s%s=", out_len ? ";" : "", name);
		if (value) {
			memcpy(out + out_len, value, len);
			out_len += len;
		}
		out[out_len] = '\0';
	}
	return out;
}

int kafka_read_all(const struct kafka_mock *m, const char *topic, int timeout_ms, struct kafka_records *ret,
                   char *err, size_t err_size)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *rk = NULL;
	rd_kafka_topic_t *rkt = NULL;
	const rd_kafka_metadata_t *md = NULL;
	rd_kafka_topic_partition_list_t *parts = NULL;
	char rderr[256];
	int eofs = 0, n_parts, rc = -1;
	int64_t deadline = now_ms() + timeout_ms;
	rd_kafka_resp_err_t e;

	memset(ret, 0, sizeof(*ret));
	rd_kafka_conf_set_log_cb(conf, quiet_log);
	if (rd_kafka_conf_set(conf, "bootstrap.servers", m->bootstraps, rderr, sizeof(rderr)) ||
	    rd_kafka_conf_set(conf, "group.id", "kafka-fixture-reader", rderr, sizeof(rderr)) ||
	    rd_kafka_conf_set(conf, "enable.auto.commit", "false", rderr, sizeof(rderr)) ||
	    rd_kafka_conf_set(conf, "enable.partition.eof", "true", rderr, sizeof(rderr))) {
		snprintf(err, err_size, "conf: %s", rderr);
		rd_kafka_conf_destroy(conf);
		return -1;
	}
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, rderr, sizeof(rderr));
	if (!rk) {
		snprintf(err, err_size, "rd_kafka_new: %s", rderr);
		rd_kafka_conf_destroy(conf);
		return -1;
	}
	rkt = rd_kafka_topic_new(rk, topic, NULL);
	e = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
	if (e || md->topic_cnt != 1 || md->topics[0].err) {
		snprintf(err, err_size, "metadata of %s: %s", topic,
		         rd_kafka_err2str(e ? e : md->topic_cnt != 1 ? RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC
		                                                     : md->topics[0].err));
		goto out;
	}
	n_parts = md->topics[0].partition_cnt;
	parts = rd_kafka_topic_partition_list_new(n_parts);
	for (int i = 0; i < n_parts; i++)
		rd_kafka_topic_partition_list_add(parts, topic, md->topics[0].partitions[i].id)->offset =
			RD_KAFKA_OFFSET_BEGINNING;
	rd_kafka_assign(rk, parts);
	while (eofs < n_parts && now_ms() < deadline) {
		rd_kafka_message_t *rkm = rd_kafka_consumer_poll(rk, 100);
		struct kafka_record *rec;

		if (!rkm)
			continue;
		if (rkm->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			eofs++;
			rd_kafka_message_destroy(rkm);
			continue;
		}
		if (rkm->err) {
			rd_kafka_message_destroy(rkm);
			continue;
		}
		ret->v = realloc(ret->v, (ret->n + 1) * sizeof(*ret->v));
		if (!ret->v)
			abort();
		rec = &ret->v[ret->n++];
		rec->partition = rkm->partition;
		rec->offset = rkm->offset;
		rec->key = rkm->key ? dup_bytes(rkm->key, rkm->key_len) : NULL;
		rec->value = rkm->payload ? dup_bytes(rkm->payload, rkm->len) : NULL;
		rec->value_len = rkm->len;
		rec->headers = headers_text(rkm);
		rd_kafka_message_destroy(rkm);
	}
	if (eofs < n_parts) {
		snprintf(err, err_size, "end of %s not reached in %d ms (%d of %d partitions)", topic, timeout_ms,
		         eofs, n_parts);
		goto out;
	}
	rc = 0;
out:
	if (parts)
		rd_kafka_topic_partition_list_destroy(parts);
	if (md)
		rd_kafka_metadata_destroy(md);
	if (rkt)
		rd_kafka_topic_destroy(rkt);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	if (rc != 0)
		kafka_records_clear(ret);
	return rc;
}

void kafka_records_clear(struct kafka_records *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].key);
		free(r->v[i].value);
		free(r->v[i].headers);
	}
	free(r->v);
	memset(r, 0, sizeof(*r));
}

const char *kafka_record_header(const struct kafka_record *rec, const char *name, char *buf, size_t size)
{
	const char *p = rec->headers;
	size_t n = strlen(name);
	const char *found = NULL;
	size_t found_len = 0;

	while (*p) {
		size_t len = strcspn(p, ";");

		if (len > n && strncmp(p, name, n) == 0 && p[n] == '=') {
			found = p + n + 1;
			found_len = len - n - 1;
		}
		p += len;
		if (*p == ';')
			p++;
	}
	if (!found)
		return NULL;
	if (found_len >= size)
		found_len = size - 1;
	memcpy(buf, found, found_len);
	buf[found_len] = '\0';
	return buf;
}

static void plain_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque)
{
	(void)rk;
	(void)opaque;
	*(rd_kafka_resp_err_t *)rkm->_private = rkm->err;
}

rd_kafka_t *kafka_plain_producer(const struct kafka_mock *m, char *err, size_t err_size)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char rderr[256];
	rd_kafka_t *rk;

	rd_kafka_conf_set_log_cb(conf, quiet_log);
	rd_kafka_conf_set_dr_msg_cb(conf, plain_dr_cb);
	if (rd_kafka_conf_set(conf, "bootstrap.servers", m->bootstraps, rderr, sizeof(rderr))) {
		snprintf(err, err_size, "conf: %s", rderr);
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, rderr, sizeof(rderr));
	if (!rk) {
		snprintf(err, err_size, "rd_kafka_new: %s", rderr);
		rd_kafka_conf_destroy(conf);
	}
	return rk;
}

int kafka_plain_produce(rd_kafka_t *rk, const char *topic, int32_t partition, const char *content_type,
                        const char *value, size_t len)
{
	rd_kafka_resp_err_t dr = RD_KAFKA_RESP_ERR__IN_PROGRESS;
	rd_kafka_headers_t *hdrs = rd_kafka_headers_new(1);
	rd_kafka_resp_err_t e;

	if (content_type)
		rd_kafka_header_add(hdrs, "Content-Type", -1, content_type, -1);
	e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition < 0 ? RD_KAFKA_PARTITION_UA : partition),
	                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE((void *)value, len),
	                      RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(&dr), RD_KAFKA_V_END);
	if (e) {
		rd_kafka_headers_destroy(hdrs);
		return -1;
	}
	rd_kafka_flush(rk, 10000);
	return dr == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
}

idmefv2_message *kafka_test_message(const char *analyzer, char *id, size_t id_size)
{
	idmefv2_message *msg = NULL;
	const char *s = NULL;
	char err[256];

	if (idmefv2_message_new(NULL, &msg, err, sizeof(err)) != IDMEFV2_OK)
		return NULL;
	if (idmefv2_message_set_string(msg, "Analyzer.Name", analyzer, err, sizeof(err)) != IDMEFV2_OK ||
	    idmefv2_message_set_string(msg, "Analyzer.IP", "192.0.2.1", err, sizeof(err)) != IDMEFV2_OK ||
	    idmefv2_message_get_string(msg, "ID", &s, NULL, err, sizeof(err)) != IDMEFV2_OK) {
		idmefv2_message_unref(msg);
		return NULL;
	}
	snprintf(id, id_size, "%s", s);
	return msg;
}

void kafka_outcomes_init(struct kafka_outcomes *o)
{
	memset(o, 0, sizeof(*o));
	pthread_mutex_init(&o->lock, NULL);
	pthread_cond_init(&o->cond, NULL);
}

void kafka_outcomes_clear(struct kafka_outcomes *o)
{
	pthread_mutex_destroy(&o->lock);
	pthread_cond_destroy(&o->cond);
}

void kafka_outcomes_cb(idmefv2_transport *t, void *opaque, idmefv2_delivery_status status, const char *detail,
                       void *user_data)
{
	struct kafka_outcomes *o = user_data;

	(void)t;
	(void)opaque;
	pthread_mutex_lock(&o->lock);
	if (status == IDMEFV2_DELIVERY_SENT)
		o->sent++;
	else if (status == IDMEFV2_DELIVERY_REJECTED)
		o->rejected++;
	else
		o->failed++;
	if (detail)
		snprintf(o->last_detail, sizeof(o->last_detail), "%s", detail);
	pthread_cond_broadcast(&o->cond);
	pthread_mutex_unlock(&o->lock);
}

bool kafka_outcomes_wait(struct kafka_outcomes *o, size_t n, int timeout_ms)
{
	struct timespec ts;
	bool ok;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&o->lock);
	while (o->sent + o->rejected + o->failed < n)
		if (pthread_cond_timedwait(&o->cond, &o->lock, &ts) != 0)
			break;
	ok = o->sent + o->rejected + o->failed >= n;
	pthread_mutex_unlock(&o->lock);
	return ok;
}

void kafka_test_log(idmefv2_log_level level, const char *message, void *user_data)
{
	(void)user_data;
	if (getenv("IDMEFV2_TEST_VERBOSE"))
		fprintf(stderr, "%" PRId64 " [%d] %s\n", now_ms() % 100000, (int)level, message);
}
