/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Kafka backend (librdkafka), scheme "kafka", both roles.
 *
 * URL: kafka://host1:9092,host2:9092/topic. The host list becomes
 * bootstrap.servers; the path names the topic ("idmefv2" when empty or "/").
 * A listener may subscribe to several topics: kafka://h:9092/a,b,c.
 *
 * Sender (an idempotent producer, acks=all):
 * - one record per item, the item's content type in a "Content-Type" header;
 * - option "record_key" (an IDMEF path such as Analyzer.Name): the record key
 *   is read from the serialized bytes, so send() and send_raw() behave alike;
 *   a record whose bytes are not a JSON object, or whose message lacks the
 *   path, or holds an object/array there, is sent without a key;
 * - librdkafka does the retrying. With "retry.max" = -1 (the default)
 *   message.timeout.ms is 0, i.e. librdkafka retries until stop(); with
 *   retry.max = n >= 0 a record is given up (FAILED) after
 *   (n + 1) * "retry.backoff_max_ms" (at least 1 s per attempt) and
 *   librdkafka waits "retry.backoff_ms" between attempts. kafka.message.timeout.ms and kafka.retry.backoff.ms,
 *   when set, win;
 * - delivery reports, served by a poll thread, end each item: SENT, REJECTED
 *   for a record the broker refuses for good (too large, invalid, not
 *   authorised: dead-lettered to the "dead_letter" file if set) or FAILED
 *   with librdkafka's error string;
 * - stop(): the generic layer first waits up to "stop.flush_timeout_ms" for
 *   every outcome; what librdkafka still holds then is purged and handed back
 *   to the generic layer in send order (spooled if a spool is set, else
 *   failed). A record purged while in flight may have reached the broker:
 *   replaying it can duplicate it (at-least-once).
 *
 * Listener (a consumer-group member, option "group_id"):
 * - enable.auto.commit and enable.auto.offset.store are off and
 *   auto.offset.reset is "earliest" (a new group starts at the beginning; set
 *   kafka.auto.offset.reset to change it);
 * - group timers shorter than librdkafka's (and the cooperative-sticky
 *   assignor with librdkafka >= 2.3), so that a restarted member rejoins in
 *   seconds rather than in 45 s (kafka_conf_group(); each overridable with
 *   kafka.*); stop() leaves
 *   the group (rd_kafka_consumer_close) after committing, so that the
 *   partitions move at once;
 * - each record: the "Content-Type" header (matched case-insensitively, the
 *   last one wins; absent: option "content_type", application/json by
 *   default) must be a supported type, the value is unserialized and
 *   validated, then delivered with an ack hook;
 * - offsets are tracked per partition: offset N + 1 is committed once every
 *   record up to N received from that partition has been acknowledged
 *   (task_done), so a crash or a rebalance loses nothing and at worst
 *   redelivers. Commits are asynchronous, at most every
 *   KAFKA_COMMIT_INTERVAL_MS, and synchronous on revocation and stop;
 *   acknowledgements arriving after their partition was revoked or the
 *   listener stopped are ignored (those records come again);
 * - an invalid record is counted, logged with topic, partition, offset and
 *   the first failure, copied to "dead_letter_topic" when set (the original
 *   headers plus idmefv2-error, idmefv2-topic, idmefv2-partition,
 *   idmefv2-offset) and then done: at once without a dead-letter topic, on
 *   the copy's delivery report with one;
 * - a full queue (or a refusing callback) never drops: the partitions are
 *   paused and the record is offered again until it is taken (after
 *   "retry.backoff_ms"-based backoff for a callback's refusal), the consumer
 *   being polled meanwhile to keep its group membership. Hence
 *   "listen.queue_timeout_ms" does not apply: a Kafka listener waits.
 * - counters: "retried" counts only items handed back at stop; librdkafka's
 *   own retries are not visible.
 *
 * Options "kafka.<property>" go to rd_kafka_conf_set() after our own
 * settings, so they override them; an error names the option. tls.* and
 * auth.username/auth.password map to librdkafka's ssl.* and sasl.* properties
 * (security.protocol is derived from them unless kafka.security.protocol is
 * set); auth.bearer_token is refused: use kafka.sasl.* for OAUTHBEARER.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json_object.h>
#include <librdkafka/rdkafka.h>

#include "transport-private.h"

#define KAFKA_DEFAULT_TOPIC "idmefv2"
#define KAFKA_DEFAULT_CONTENT_TYPE "application/json"
#define KAFKA_HEADER_CONTENT_TYPE "Content-Type"
#define KAFKA_POLL_MS 100
#define KAFKA_TAKE_MAX 512
#define KAFKA_COMMIT_INTERVAL_MS 100
#define KAFKA_PURGE_WAIT_MS 10000
#define KAFKA_TOPIC_MAX 249

/* ---- consumer: per-partition acknowledgement tracking ------------------------------------ */

struct kafka_pending {
	int64_t offset;
	bool done;
};

/*
 * One assigned partition. Records are registered in offset order as they
 * are received; acknowledgements may come in any order from any thread; the
 * commit position advances over the leading run of done records. Shared by
 * the consumer thread and the tickets of records still in the application's
 * hands, hence the lock and the reference count: a ticket may outlive the
 * transport.
 */
struct kafka_part {
	struct kafka_part *next;
	pthread_mutex_t lock;
	unsigned refs;
	bool detached;          /* revoked or stopped: acknowledgements no longer count */
	bool dirty;             /* commit_next moved since the last commit */
	char *topic;
	int32_t partition;
	int64_t last_offset;    /* highest offset registered, -1 if none */
	int64_t commit_next;    /* offset to commit, -1 if nothing yet */
	struct kafka_pending *ring;
	size_t head, count, cap;
};

struct kafka_ticket {
	struct kafka_part *part;
	int64_t offset;
};

/* ---- backend state ----------------------------------------------------------------------- */

struct kafka {
	idmefv2_transport *t;
	idmefv2_transport_role role;
	char *brokers;
	char **topics;
	size_t n_topics;

	rd_kafka_t *rk;
	pthread_t worker;
	bool worker_started;
	atomic_bool stop;
	bool stopped;

	/* producer */
	pthread_t poller;
	bool poller_started;
	atomic_bool poll_stop;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	size_t in_flight;               /* produced, delivery report pending */
	struct idmefv2__item *purged;   /* purged at stop, to hand back */
	char *record_key;
	atomic_bool key_warned;

	/* consumer (touched by the consumer thread only) */
	struct kafka_part *parts;
	bool paused;
	rd_kafka_message_t **backlog;   /* records polled while the queue was full */
	size_t backlog_head, backlog_len, backlog_cap;
	int64_t last_commit_ms;
	const char *content_type;       /* for records without a Content-Type header */
	rd_kafka_t *dlt;
	char *dlt_topic;
};

/* ---- small helpers --------------------------------------------------------------------- */

static void kafka_sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static void kafka_deadline(struct timespec *ts, int64_t ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static idmefv2_log_level kafka_log_level(int syslog_level)
{
	if (syslog_level <= 3)
		return IDMEFV2_LOG_ERROR;
	if (syslog_level == 4)
		return IDMEFV2_LOG_WARNING;
	if (syslog_level <= 6)
		return IDMEFV2_LOG_INFO;
	return IDMEFV2_LOG_DEBUG;
}

static bool kafka_topic_valid(const char *s, size_t len)
{
	if (len == 0 || len > KAFKA_TOPIC_MAX)
		return false;
	if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* ---- configuration ------------------------------------------------------------------------ */

struct kafka_conf_ctx {
	rd_kafka_conf_t *conf;
	char *errstr;
	size_t errstr_size;
	bool failed;
};

/* @option: the transport option that gave the value, for the error message
 * (NULL: kafka.<name>). */
static bool kafka_conf_put_from(rd_kafka_conf_t *conf, const char *option, const char *name, const char *value,
                                char *errstr, size_t errstr_size)
{
	char rderr[512];

	if (rd_kafka_conf_set(conf, name, value, rderr, sizeof(rderr)) == RD_KAFKA_CONF_OK)
		return true;
	if (option)
		snprintf(errstr, errstr_size, "%s: %s", option, rderr);
	else
		snprintf(errstr, errstr_size, "kafka.%s: %s", name, rderr);
	return false;
}

static bool kafka_conf_put(rd_kafka_conf_t *conf, const char *name, const char *value, char *errstr,
                           size_t errstr_size)
{
	return kafka_conf_put_from(conf, NULL, name, value, errstr, errstr_size);
}

static void kafka_conf_passthrough(const char *name, const char *value, void *ctx)
{
	struct kafka_conf_ctx *c = ctx;

	if (c->failed)
		return;
	if (strncmp(name, "kafka.", 6) == 0)
		name += 6;
	if (!kafka_conf_put(c->conf, name, value, c->errstr, c->errstr_size))
		c->failed = true;
}

static void kafka_prefix_seen(const char *name, const char *value, void *ctx)
{
	(void)name;
	(void)value;
	*(bool *)ctx = true;
}

static bool kafka_kafka_option_set(const struct kafka *s, const char *property)
{
	char name[128];
	bool seen = false;

	snprintf(name, sizeof(name), "kafka.%s", property);
	idmefv2__opt_foreach_prefix(s->t, name, kafka_prefix_seen, &seen);
	return seen;
}

static void kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	struct kafka *s = rd_kafka_opaque(rk);

	if (s)
		idmefv2__log(s->t, kafka_log_level(level), "kafka %s: %s", fac, buf);
}

static void kafka_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct kafka *s = opaque;
	char fatal[512];

	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
		idmefv2__log(s->t, IDMEFV2_LOG_ERROR, "kafka: fatal error: %s", fatal);
		return;
	}
	idmefv2__log(s->t, IDMEFV2_LOG_WARNING, "kafka: %s: %s", rd_kafka_err2name(err), reason);
}

/* tls.* and auth.* map to librdkafka's own properties. */
static bool kafka_conf_security(struct kafka *s, rd_kafka_conf_t *conf, char *errstr, size_t errstr_size)
{
	static const struct {
		const char *option;
		const char *property;
	} map[] = {
		{ "tls.ca_file", "ssl.ca.location" },
		{ "tls.cert", "ssl.certificate.location" },
		{ "tls.key", "ssl.key.location" },
		{ "tls.key_password", "ssl.key.password" },
		{ "auth.username", "sasl.username" },
		{ "auth.password", "sasl.password" },
	};
	const char *v;
	bool tls = false;
	bool sasl = false;

	if (idmefv2__opt_str(s->t, "auth.bearer_token")) {
		snprintf(errstr, errstr_size,
		         "auth.bearer_token is not supported by the kafka transport (use kafka.sasl.* options)");
		return false;
	}
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		v = idmefv2__opt_str(s->t, map[i].option);
		if (!v)
			continue;
		if (!kafka_conf_put_from(conf, map[i].option, map[i].property, v, errstr, errstr_size))
			return false;
		if (strncmp(map[i].option, "tls.", 4) == 0)
			tls = true;
		else
			sasl = true;
	}
	v = idmefv2__opt_str(s->t, "tls.ca_dir");
	if (v && !idmefv2__opt_str(s->t, "tls.ca_file")) {
		if (!kafka_conf_put_from(conf, "tls.ca_dir", "ssl.ca.location", v, errstr, errstr_size))
			return false;
		tls = true;
	}
	if (!idmefv2__opt_bool(s->t, "tls.verify")) {
		if (!kafka_conf_put(conf, "enable.ssl.certificate.verification", "false", errstr, errstr_size) ||
		    !kafka_conf_put(conf, "ssl.endpoint.identification.algorithm", "none", errstr, errstr_size))
			return false;
		tls = true;
	}
	if (sasl && !kafka_conf_put(conf, "sasl.mechanisms", "PLAIN", errstr, errstr_size))
		return false;
	if ((tls || sasl) && !kafka_kafka_option_set(s, "security.protocol")) {
		const char *proto = tls ? (sasl ? "sasl_ssl" : "ssl") : "sasl_plaintext";

		if (!kafka_conf_put(conf, "security.protocol", proto, errstr, errstr_size))
			return false;
	}
	return true;
}

/*
 * Consumer-group defaults that make a restarted or stopped listener's
 * partitions move quickly (docs/kafka.md has the measurements):
 * - session.timeout.ms 6 s (librdkafka: 45 s): how long the coordinator keeps
 *   a member that stopped heartbeating (killed, frozen, cut off) before its
 *   partitions go to the others; it also paces the mock coordinator's joins.
 *   6 s is the smallest value a stock broker accepts
 *   (group.min.session.timeout.ms). Heartbeats run on librdkafka's own thread,
 *   so a slow message store does not make a member miss them;
 * - heartbeat.interval.ms 1 s (3 s): how soon live members hear of a rebalance;
 * - max.poll.interval.ms 60 s (300 s): the consumer thread polls at least every
 *   KAFKA_POLL_MS, even with a full queue; one that has not polled for a minute
 *   is stuck (a hung store), and leaving the group lets the others take over;
 * - partition.assignment.strategy cooperative-sticky (range,roundrobin) with
 *   librdkafka 2.3.0 or later: a rebalance moves only the partitions that
 *   change owner and the others keep being consumed meanwhile. Older
 *   librdkafka aborts in rd_kafka_destroy() when a cooperative member is
 *   closed before its first assignment (librdkafka issue #4312, fixed in
 *   2.3.0), e.g. a listener stopped while the group is still forming: there
 *   the eager default stays.
 * Each is overridden by the matching kafka.* option.
 */
#define KAFKA_COOPERATIVE_MIN_VERSION 0x020300ff

static bool kafka_conf_group(rd_kafka_conf_t *conf, char *errstr, size_t errstr_size)
{
	if (!kafka_conf_put(conf, "session.timeout.ms", "6000", errstr, errstr_size) ||
	    !kafka_conf_put(conf, "heartbeat.interval.ms", "1000", errstr, errstr_size) ||
	    !kafka_conf_put(conf, "max.poll.interval.ms", "60000", errstr, errstr_size))
		return false;
	if (rd_kafka_version() < KAFKA_COOPERATIVE_MIN_VERSION)
		return true;
	return kafka_conf_put(conf, "partition.assignment.strategy", "cooperative-sticky", errstr, errstr_size);
}

static long kafka_conf_long(rd_kafka_conf_t *conf, const char *name)
{
	char buf[64];
	size_t size = sizeof(buf);

	if (rd_kafka_conf_get(conf, name, buf, &size) != RD_KAFKA_CONF_OK)
		return -1;
	return strtol(buf, NULL, 10);
}

/*
 * librdkafka refuses a session timeout above max.poll.interval.ms, and a
 * heartbeat interval not below the session timeout is useless: a user's
 * kafka.session.timeout.ms moves our defaults of the other two along rather
 * than failing. Values the user set are left as they are.
 */
static bool kafka_conf_group_fit(struct kafka *s, rd_kafka_conf_t *conf, char *errstr, size_t errstr_size)
{
	long session = kafka_conf_long(conf, "session.timeout.ms");
	char buf[32];

	if (session <= 0)
		return true;
	if (!kafka_kafka_option_set(s, "max.poll.interval.ms") &&
	    kafka_conf_long(conf, "max.poll.interval.ms") < session) {
		snprintf(buf, sizeof(buf), "%ld", session);
		if (!kafka_conf_put(conf, "max.poll.interval.ms", buf, errstr, errstr_size))
			return false;
	}
	if (!kafka_kafka_option_set(s, "heartbeat.interval.ms") &&
	    kafka_conf_long(conf, "heartbeat.interval.ms") * 3 > session) {
		snprintf(buf, sizeof(buf), "%ld", session / 3 > 0 ? session / 3 : 1);
		if (!kafka_conf_put(conf, "heartbeat.interval.ms", buf, errstr, errstr_size))
			return false;
	}
	return true;
}

/* Our defaults, then the role's, then the user's kafka.* options. */
static rd_kafka_conf_t *kafka_conf_new(struct kafka *s, bool producer, char *errstr, size_t errstr_size)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	struct kafka_conf_ctx ctx = { .conf = conf, .errstr = errstr, .errstr_size = errstr_size };
	char buf[32];

	rd_kafka_conf_set_opaque(conf, s);
	rd_kafka_conf_set_log_cb(conf, kafka_log_cb);
	rd_kafka_conf_set_error_cb(conf, kafka_error_cb);
	if (!kafka_conf_put(conf, "bootstrap.servers", s->brokers, errstr, errstr_size) ||
	    !kafka_conf_put(conf, "client.id", "libidmefv2-transport", errstr, errstr_size))
		goto fail;
	if (!kafka_conf_security(s, conf, errstr, errstr_size))
		goto fail;
	if (producer) {
		int64_t retry_max = idmefv2__opt_int(s->t, "retry.max");
		int64_t timeout = 0;

		if (!kafka_conf_put(conf, "enable.idempotence", "true", errstr, errstr_size) ||
		    !kafka_conf_put(conf, "acks", "all", errstr, errstr_size))
			goto fail;
		if (retry_max >= 0) {
			int64_t per_attempt = idmefv2__opt_int(s->t, "retry.backoff_max_ms");

			if (per_attempt < 1000)
				per_attempt = 1000;
			timeout = (retry_max + 1) * per_attempt;
			if (timeout > INT32_MAX)
				timeout = INT32_MAX;
		}
		snprintf(buf, sizeof(buf), "%" PRId64, timeout);
		if (!kafka_conf_put(conf, "message.timeout.ms", buf, errstr, errstr_size))
			goto fail;
		snprintf(buf, sizeof(buf), "%" PRId64, idmefv2__opt_int(s->t, "retry.backoff_ms"));
		if (!kafka_conf_put(conf, "retry.backoff.ms", buf, errstr, errstr_size))
			goto fail;
	} else {
		const char *group = idmefv2__opt_str(s->t, "group_id");

		if (!kafka_conf_put(conf, "group.id", group ? group : "idmefv2", errstr, errstr_size) ||
		    !kafka_conf_put(conf, "enable.auto.commit", "false", errstr, errstr_size) ||
		    !kafka_conf_put(conf, "enable.auto.offset.store", "false", errstr, errstr_size) ||
		    !kafka_conf_put(conf, "auto.offset.reset", "earliest", errstr, errstr_size) ||
		    !kafka_conf_group(conf, errstr, errstr_size))
			goto fail;
	}
	idmefv2__opt_foreach_prefix(s->t, "kafka.", kafka_conf_passthrough, &ctx);
	if (ctx.failed)
		goto fail;
	if (!producer && !kafka_conf_group_fit(s, conf, errstr, errstr_size))
		goto fail;
	return conf;

fail:
	rd_kafka_conf_destroy(conf);
	return NULL;
}

/* ---- producer ------------------------------------------------------------------------------ */

/* Broker answers that no retry will change: the record is rejected. */
static bool kafka_err_permanent(rd_kafka_resp_err_t err)
{
	switch (err) {
	case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
	case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
	case RD_KAFKA_RESP_ERR_INVALID_RECORD:
	case RD_KAFKA_RESP_ERR_INVALID_MSG:
	case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
	case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
	case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
	case RD_KAFKA_RESP_ERR__INVALID_ARG:
		return true;
	default:
		return false;
	}
}

static void kafka_item_fail(struct kafka *s, struct idmefv2__item *item, rd_kafka_resp_err_t err)
{
	char detail[512];

	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		char fatal[400];

		rd_kafka_fatal_error(s->rk, fatal, sizeof(fatal));
		snprintf(detail, sizeof(detail), "kafka: %s", fatal);
	} else {
		snprintf(detail, sizeof(detail), "kafka: %s", rd_kafka_err2str(err));
	}
	if (kafka_err_permanent(err)) {
		idmefv2__transport_dead_letter(s->t, item, detail);
		idmefv2__transport_done(s->t, item, IDMEFV2_DELIVERY_REJECTED, detail);
	} else {
		idmefv2__transport_done(s->t, item, IDMEFV2_DELIVERY_FAILED, detail);
	}
}

static void kafka_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque)
{
	struct kafka *s = opaque;
	struct idmefv2__item *item = rkm->_private;

	(void)rk;
	if (rkm->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
		idmefv2__transport_done(s->t, item, IDMEFV2_DELIVERY_SENT, NULL);
	} else if (rkm->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE || rkm->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT) {
		pthread_mutex_lock(&s->lock);
		item->next = s->purged;
		s->purged = item;
		pthread_mutex_unlock(&s->lock);
	} else {
		kafka_item_fail(s, item, rkm->err);
	}
	pthread_mutex_lock(&s->lock);
	s->in_flight--;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/* The key from option record_key, read from the item's bytes; NULL when there is none. */
static char *kafka_record_key(struct kafka *s, const struct idmefv2__item *item, size_t *ret_len)
{
	idmefv2_message *msg = NULL;
	struct json_object *v = NULL;
	const char *text = NULL;
	char *key = NULL;
	char err[256];
	idmefv2_error r;

	if (!s->record_key)
		return NULL;
	if (idmefv2_message_new_from_json(item->data, item->len, &msg, err, sizeof(err)) != IDMEFV2_OK)
		return NULL;
	r = idmefv2_message_get_value(msg, s->record_key, &v, err, sizeof(err));
	if (r == IDMEFV2_ERR_PATH && !atomic_exchange(&s->key_warned, true))
		idmefv2__log(s->t, IDMEFV2_LOG_WARNING, "kafka: record_key \"%s\": %s (records sent without key)",
		             s->record_key, err);
	if (r != IDMEFV2_OK || !v)
		goto out;
	switch (json_object_get_type(v)) {
	case json_type_string:
		*ret_len = (size_t)json_object_get_string_len(v);
		text = json_object_get_string(v);
		break;
	case json_type_int:
	case json_type_double:
	case json_type_boolean:
		text = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
		*ret_len = strlen(text);
		break;
	default:
		goto out;
	}
	key = malloc(*ret_len + 1);
	if (key) {
		memcpy(key, text, *ret_len);
		key[*ret_len] = '\0';
	}
out:
	idmefv2_message_unref(msg);
	return key;
}

/* @return false if stopping interrupted the wait for room: the item was not produced. */
static bool kafka_produce_item(struct kafka *s, struct idmefv2__item *item)
{
	const char *ct = item->content_type ? item->content_type : KAFKA_DEFAULT_CONTENT_TYPE;
	size_t key_len = 0;
	char *key = kafka_record_key(s, item, &key_len);
	rd_kafka_resp_err_t err;
	bool produced = true;

	pthread_mutex_lock(&s->lock);
	s->in_flight++;
	pthread_mutex_unlock(&s->lock);
	for (;;) {
		/* The value is not copied: the item lives until its delivery report. */
		err = rd_kafka_producev(s->rk, RD_KAFKA_V_TOPIC(s->topics[0]), RD_KAFKA_V_MSGFLAGS(0),
		                        RD_KAFKA_V_VALUE(item->data, item->len), RD_KAFKA_V_KEY(key, key_len),
		                        RD_KAFKA_V_HEADER(KAFKA_HEADER_CONTENT_TYPE, ct, -1),
		                        RD_KAFKA_V_OPAQUE(item), RD_KAFKA_V_END);
		if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			break;
		if (atomic_load(&s->stop)) {
			produced = false;
			break;
		}
		/* librdkafka's own queue is full: wait for delivery reports to make room. */
		struct timespec ts;

		kafka_deadline(&ts, 50);
		pthread_mutex_lock(&s->lock);
		pthread_cond_timedwait(&s->cond, &s->lock, &ts);
		pthread_mutex_unlock(&s->lock);
	}
	free(key);
	if (!produced || err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		pthread_mutex_lock(&s->lock);
		s->in_flight--;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
	}
	if (produced && err != RD_KAFKA_RESP_ERR_NO_ERROR)
		kafka_item_fail(s, item, err);
	return produced;
}

/* Hand items back to the generic layer, newest first so that each lands at the
 * head of its queue at once. */
static void kafka_return_items(struct kafka *s, struct idmefv2__item *list)
{
	struct idmefv2__item *rev = NULL;

	while (list) {
		struct idmefv2__item *next = list->next;

		list->next = rev;
		rev = list;
		list = next;
	}
	while (rev) {
		struct idmefv2__item *next = rev->next;

		rev->next = NULL;
		idmefv2__transport_return(s->t, rev);
		rev = next;
	}
}

static void *kafka_producer_main(void *arg)
{
	struct kafka *s = arg;

	while (!atomic_load(&s->stop) && !idmefv2__transport_stopping(s->t)) {
		struct idmefv2__item *list = idmefv2__transport_take(s->t, KAFKA_TAKE_MAX, KAFKA_POLL_MS);

		while (list) {
			struct idmefv2__item *item = list;

			list = item->next;
			item->next = NULL;
			if (!kafka_produce_item(s, item)) {
				item->next = list;
				kafka_return_items(s, item);
				list = NULL;
			}
		}
	}
	return NULL;
}

static void *kafka_poller_main(void *arg)
{
	struct kafka *s = arg;

	while (!atomic_load(&s->poll_stop))
		rd_kafka_poll(s->rk, KAFKA_POLL_MS);
	return NULL;
}

/* Wait until no delivery report is outstanding, up to @ms (-1: forever).
 * @return how many are still outstanding. */
static size_t kafka_wait_in_flight(struct kafka *s, int64_t ms)
{
	struct timespec ts;
	size_t left;

	kafka_deadline(&ts, ms < 0 ? 0 : ms);
	pthread_mutex_lock(&s->lock);
	while (s->in_flight > 0) {
		if (ms < 0)
			pthread_cond_wait(&s->cond, &s->lock);
		else if (pthread_cond_timedwait(&s->cond, &s->lock, &ts) == ETIMEDOUT)
			break;
	}
	left = s->in_flight;
	pthread_mutex_unlock(&s->lock);
	return left;
}

static int kafka_item_cmp_seq_desc(const void *a, const void *b)
{
	const struct idmefv2__item *x = *(struct idmefv2__item *const *)a;
	const struct idmefv2__item *y = *(struct idmefv2__item *const *)b;

	return x->seq < y->seq ? 1 : x->seq > y->seq ? -1 : 0;
}

/* Hand back what the purge returned, newest first (see kafka_return_items()). */
static void kafka_return_purged(struct kafka *s)
{
	struct idmefv2__item *list, **v;
	size_t n = 0, i = 0;

	pthread_mutex_lock(&s->lock);
	list = s->purged;
	s->purged = NULL;
	pthread_mutex_unlock(&s->lock);
	for (struct idmefv2__item *it = list; it; it = it->next)
		n++;
	if (n == 0)
		return;
	v = malloc(n * sizeof(*v));
	if (!v) {
		/* No room to sort: the reports came in send order, the list is reversed. */
		while (list) {
			struct idmefv2__item *next = list->next;

			list->next = NULL;
			idmefv2__transport_return(s->t, list);
			list = next;
		}
		return;
	}
	for (struct idmefv2__item *it = list; it; it = it->next)
		v[i++] = it;
	qsort(v, n, sizeof(*v), kafka_item_cmp_seq_desc);
	for (i = 0; i < n; i++) {
		v[i]->next = NULL;
		idmefv2__transport_return(s->t, v[i]);
	}
	free(v);
}

static void kafka_producer_stop(struct kafka *s)
{
	size_t left;

	atomic_store(&s->stop, true);
	if (s->worker_started) {
		pthread_join(s->worker, NULL);
		s->worker_started = false;
	}
	if (!s->rk)
		return;
	/* The generic layer has already waited "stop.flush_timeout_ms" for outcomes. */
	left = kafka_wait_in_flight(s, 0);
	if (left > 0) {
		idmefv2__log(s->t, IDMEFV2_LOG_WARNING, "kafka: %zu records not acknowledged; handing them back",
		             left);
		rd_kafka_purge(s->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
		left = kafka_wait_in_flight(s, KAFKA_PURGE_WAIT_MS);
		if (left > 0)
			idmefv2__log(s->t, IDMEFV2_LOG_ERROR, "kafka: %zu delivery reports still missing", left);
	}
	atomic_store(&s->poll_stop, true);
	if (s->poller_started) {
		pthread_join(s->poller, NULL);
		s->poller_started = false;
	}
	rd_kafka_poll(s->rk, 0);
	kafka_return_purged(s);
	/* With reports still missing, librdkafka points at items the generic layer
	 * will free: leaking the handle is the lesser evil (logged above). */
	if (kafka_wait_in_flight(s, 0) == 0) {
		rd_kafka_destroy(s->rk);
		s->rk = NULL;
	}
}

static idmefv2_error kafka_producer_start(struct kafka *s, char *errstr, size_t errstr_size)
{
	rd_kafka_conf_t *conf;
	char rderr[512];
	const char *key = idmefv2__opt_str(s->t, "record_key");

	free(s->record_key);
	s->record_key = NULL;
	if (key && *key) {
		s->record_key = strdup(key);
		if (!s->record_key)
			return IDMEFV2_ERR_NOMEM;
	}
	conf = kafka_conf_new(s, true, errstr, errstr_size);
	if (!conf)
		return IDMEFV2_ERR_INVALID_ARG;
	rd_kafka_conf_set_dr_msg_cb(conf, kafka_dr_cb);
	s->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, rderr, sizeof(rderr));
	if (!s->rk) {
		rd_kafka_conf_destroy(conf);
		snprintf(errstr, errstr_size, "kafka: %s", rderr);
		return IDMEFV2_ERR_INVALID_ARG;
	}
	if (pthread_create(&s->poller, NULL, kafka_poller_main, s) != 0)
		goto fail_thread;
	s->poller_started = true;
	if (pthread_create(&s->worker, NULL, kafka_producer_main, s) != 0)
		goto fail_thread;
	s->worker_started = true;
	return IDMEFV2_OK;

fail_thread:
	snprintf(errstr, errstr_size, "kafka: cannot start a thread");
	kafka_producer_stop(s);
	return IDMEFV2_ERR_NOMEM;
}

/* ---- consumer: partitions and tickets --------------------------------------------------- */

static void kafka_part_unref(struct kafka_part *p)
{
	bool last;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	last = --p->refs == 0;
	pthread_mutex_unlock(&p->lock);
	if (!last)
		return;
	pthread_mutex_destroy(&p->lock);
	free(p->ring);
	free(p->topic);
	free(p);
}

static struct kafka_part *kafka_part_find(struct kafka *s, const char *topic, int32_t partition)
{
	for (struct kafka_part *p = s->parts; p; p = p->next)
		if (p->partition == partition && strcmp(p->topic, topic) == 0)
			return p;
	return NULL;
}

static void kafka_part_detach(struct kafka *s, struct kafka_part *p)
{
	struct kafka_part **pp;

	for (pp = &s->parts; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	pthread_mutex_lock(&p->lock);
	p->detached = true;
	pthread_mutex_unlock(&p->lock);
	kafka_part_unref(p);
}

static struct kafka_part *kafka_part_add(struct kafka *s, const char *topic, int32_t partition)
{
	struct kafka_part *p = kafka_part_find(s, topic, partition);

	if (p)
		kafka_part_detach(s, p);
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->topic = strdup(topic);
	if (!p->topic) {
		free(p);
		return NULL;
	}
	pthread_mutex_init(&p->lock, NULL);
	p->refs = 1;
	p->partition = partition;
	p->last_offset = -1;
	p->commit_next = -1;
	p->next = s->parts;
	s->parts = p;
	return p;
}

/* Register a received offset, not yet done. */
static bool kafka_part_register(struct kafka_part *p, int64_t offset)
{
	bool ok = true;

	pthread_mutex_lock(&p->lock);
	if (p->count == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct kafka_pending *ring = malloc(cap * sizeof(*ring));

		if (!ring) {
			ok = false;
			goto out;
		}
		for (size_t i = 0; i < p->count; i++)
			ring[i] = p->ring[(p->head + i) % p->cap];
		free(p->ring);
		p->ring = ring;
		p->cap = cap;
		p->head = 0;
	}
	p->ring[(p->head + p->count) % p->cap] = (struct kafka_pending){ .offset = offset, .done = false };
	p->count++;
	p->last_offset = offset;
out:
	pthread_mutex_unlock(&p->lock);
	return ok;
}

static void kafka_part_done(struct kafka_part *p, int64_t offset)
{
	size_t lo = 0, hi;

	pthread_mutex_lock(&p->lock);
	if (p->detached)
		goto out;
	hi = p->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->ring[(p->head + mid) % p->cap].offset < offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == p->count || p->ring[(p->head + lo) % p->cap].offset != offset)
		goto out;
	p->ring[(p->head + lo) % p->cap].done = true;
	while (p->count > 0 && p->ring[p->head].done) {
		p->commit_next = p->ring[p->head].offset + 1;
		p->dirty = true;
		p->head = (p->head + 1) % p->cap;
		p->count--;
	}
out:
	pthread_mutex_unlock(&p->lock);
}

static struct kafka_ticket *kafka_ticket_new(struct kafka_part *p, int64_t offset)
{
	struct kafka_ticket *tk = malloc(sizeof(*tk));

	if (!tk)
		return NULL;
	pthread_mutex_lock(&p->lock);
	p->refs++;
	pthread_mutex_unlock(&p->lock);
	tk->part = p;
	tk->offset = offset;
	return tk;
}

static void kafka_ticket_finish(struct kafka_ticket *tk, bool done)
{
	if (done)
		kafka_part_done(tk->part, tk->offset);
	kafka_part_unref(tk->part);
	free(tk);
}

/* The queue's ack hook: runs on the application's thread at task_done (or queue free). */
static void kafka_ack_cb(idmefv2_message *msg, void *ack_ctx, bool done)
{
	(void)msg;
	kafka_ticket_finish(ack_ctx, done);
}

/* ---- consumer: commits and rebalances ----------------------------------------------------- */

/* Commit the acknowledged positions of @only (or of every partition when NULL). */
static void kafka_commit(struct kafka *s, const rd_kafka_topic_partition_list_t *only, bool async)
{
	rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(8);
	rd_kafka_resp_err_t err;

	for (struct kafka_part *p = s->parts; p; p = p->next) {
		if (only && !rd_kafka_topic_partition_list_find(only, p->topic, p->partition))
			continue;
		pthread_mutex_lock(&p->lock);
		if (p->dirty && p->commit_next >= 0) {
			rd_kafka_topic_partition_list_add(list, p->topic, p->partition)->offset = p->commit_next;
			p->dirty = false;
		}
		pthread_mutex_unlock(&p->lock);
	}
	s->last_commit_ms = idmefv2__now_ms();
	if (list->cnt > 0) {
		err = rd_kafka_commit(s->rk, list, async);
		if (err && !async)
			idmefv2__log(s->t, IDMEFV2_LOG_WARNING, "kafka: offset commit failed: %s",
			             rd_kafka_err2str(err));
	}
	rd_kafka_topic_partition_list_destroy(list);
}

static void kafka_offset_commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                                   rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
	struct kafka *s = opaque;

	(void)rk;
	if (err == RD_KAFKA_RESP_ERR__NO_OFFSET || !offsets)
		return;
	for (int i = 0; i < offsets->cnt; i++) {
		const rd_kafka_topic_partition_t *tp = &offsets->elems[i];
		struct kafka_part *p;

		rd_kafka_resp_err_t e = tp->err ? tp->err : err;

		if (!e)
			continue;
		/* Refused while the group rebalances: expected, and committed again once it is stable. */
		idmefv2__log(s->t, e == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS ? IDMEFV2_LOG_DEBUG : IDMEFV2_LOG_WARNING,
		             "kafka: commit of %s [%" PRId32 "] offset %" PRId64 " failed: %s", tp->topic, tp->partition,
		             tp->offset, rd_kafka_err2str(e));
		/* Commit again later (a newer position, if any, supersedes it). */
		p = kafka_part_find(s, tp->topic, tp->partition);
		if (p) {
			pthread_mutex_lock(&p->lock);
			p->dirty = p->commit_next >= 0;
			pthread_mutex_unlock(&p->lock);
		}
	}
}

static void kafka_backlog_drop_partitions(struct kafka *s, const rd_kafka_topic_partition_list_t *parts)
{
	size_t kept = 0;

	for (size_t i = 0; i < s->backlog_len; i++) {
		rd_kafka_message_t *m = s->backlog[(s->backlog_head + i) % s->backlog_cap];

		if (!parts || (m->rkt && rd_kafka_topic_partition_list_find(parts, rd_kafka_topic_name(m->rkt),
		                                                                m->partition))) {
			rd_kafka_message_destroy(m);
			continue;
		}
		s->backlog[(s->backlog_head + kept) % s->backlog_cap] = m;
		kept++;
	}
	s->backlog_len = kept;
}

static void kafka_pause(struct kafka *s, bool pause)
{
	rd_kafka_topic_partition_list_t *assigned = NULL;

	if (s->paused == pause)
		return;
	if (rd_kafka_assignment(s->rk, &assigned) == RD_KAFKA_RESP_ERR_NO_ERROR && assigned) {
		if (pause)
			rd_kafka_pause_partitions(s->rk, assigned);
		else
			rd_kafka_resume_partitions(s->rk, assigned);
	}
	if (assigned)
		rd_kafka_topic_partition_list_destroy(assigned);
	s->paused = pause;
	idmefv2__log(s->t, IDMEFV2_LOG_DEBUG, pause ? "kafka: queue full, consumption paused"
	                                            : "kafka: consumption resumed");
}

static void kafka_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                               void *opaque)
{
	struct kafka *s = opaque;
	bool cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
	rd_kafka_error_t *error = NULL;

	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		for (int i = 0; i < parts->cnt; i++) {
			if (!kafka_part_add(s, parts->elems[i].topic, parts->elems[i].partition))
				idmefv2__log(s->t, IDMEFV2_LOG_ERROR, "kafka: out of memory tracking %s [%" PRId32 "]",
				             parts->elems[i].topic, parts->elems[i].partition);
		}
		idmefv2__log(s->t, IDMEFV2_LOG_INFO, "kafka: %d partitions assigned", parts->cnt);
		if (cooperative)
			error = rd_kafka_incremental_assign(rk, parts);
		else
			rd_kafka_assign(rk, parts);
		if (s->paused)
			rd_kafka_pause_partitions(rk, parts);
	} else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
		if (!rd_kafka_assignment_lost(rk))
			kafka_commit(s, parts, false);
		for (int i = 0; i < parts->cnt; i++) {
			struct kafka_part *p = kafka_part_find(s, parts->elems[i].topic, parts->elems[i].partition);

			if (p)
				kafka_part_detach(s, p);
		}
		kafka_backlog_drop_partitions(s, parts);
		idmefv2__log(s->t, IDMEFV2_LOG_INFO, "kafka: %d partitions revoked", parts->cnt);
		if (cooperative)
			error = rd_kafka_incremental_unassign(rk, parts);
		else
			rd_kafka_assign(rk, NULL);
	} else {
		idmefv2__log(s->t, IDMEFV2_LOG_WARNING, "kafka: rebalance failed: %s", rd_kafka_err2str(err));
		while (s->parts)
			kafka_part_detach(s, s->parts);
		kafka_backlog_drop_partitions(s, NULL);
		rd_kafka_assign(rk, NULL);
	}
	if (error) {
		idmefv2__log(s->t, IDMEFV2_LOG_WARNING, "kafka: incremental rebalance: %s",
		             rd_kafka_error_string(error));
		rd_kafka_error_destroy(error);
	}
}

/* ---- consumer: records -------------------------------------------------------------------- */

static bool kafka_backlog_push(struct kafka *s, rd_kafka_message_t *m)
{
	if (s->backlog_len == s->backlog_cap) {
		size_t cap = s->backlog_cap ? s->backlog_cap * 2 : 16;
		rd_kafka_message_t **v = malloc(cap * sizeof(*v));

		if (!v)
			return false;
		for (size_t i = 0; i < s->backlog_len; i++)
			v[i] = s->backlog[(s->backlog_head + i) % s->backlog_cap];
		free(s->backlog);
		s->backlog = v;
		s->backlog_cap = cap;
		s->backlog_head = 0;
	}
	s->backlog[(s->backlog_head + s->backlog_len) % s->backlog_cap] = m;
	s->backlog_len++;
	return true;
}

static rd_kafka_message_t *kafka_backlog_pop(struct kafka *s)
{
	rd_kafka_message_t *m;

	if (s->backlog_len == 0)
		return NULL;
	m = s->backlog[s->backlog_head];
	s->backlog_head = (s->backlog_head + 1) % s->backlog_cap;
	s->backlog_len--;
	return m;
}

/* Poll without taking records yet: serves rebalances and keeps the group membership alive. */
static void kafka_poll_aside(struct kafka *s)
{
	rd_kafka_message_t *m = rd_kafka_consumer_poll(s->rk, 0);

	if (!m)
		return;
	if (m->err || !kafka_backlog_push(s, m))
		rd_kafka_message_destroy(m);
}

/* The Content-Type header's value (last one wins), copied into @buf; NULL if absent. */
static const char *kafka_record_content_type(const rd_kafka_message_t *m, char *buf, size_t size)
{
	rd_kafka_headers_t *hdrs = NULL;
	const char *name, *found = NULL;
	const void *value;
	size_t len, found_len = 0;

	if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR)
		return NULL;
	for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &value, &len) == RD_KAFKA_RESP_ERR_NO_ERROR;
	     i++) {
		if (strcasecmp(name, KAFKA_HEADER_CONTENT_TYPE) == 0) {
			found = value ? value : "";
			found_len = value ? len : 0;
		}
	}
	if (!found)
		return NULL;
	if (found_len >= size)
		found_len = size - 1;
	memcpy(buf, found, found_len);
	buf[found_len] = '\0';
	return buf;
}

static void kafka_dlt_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque)
{
	struct kafka *s = opaque;
	struct kafka_ticket *tk = rkm->_private;

	(void)rk;
	if (rkm->err)
		idmefv2__log(s->t, IDMEFV2_LOG_ERROR,
		             "kafka: copy of %s [%" PRId32 "] offset %" PRId64 " to dead-letter topic %s failed: %s",
		             tk->part->topic, tk->part->partition, tk->offset, s->dlt_topic, rd_kafka_err2str(rkm->err));
	/* Done either way: an invalid record must not hold its partition back. */
	kafka_ticket_finish(tk, true);
}

static void kafka_dead_letter(struct kafka *s, const rd_kafka_message_t *m, struct kafka_ticket *tk,
                              const char *reason)
{
	rd_kafka_headers_t *orig = NULL;
	rd_kafka_headers_t *hdrs;
	char num[32];
	rd_kafka_resp_err_t err;

	if (rd_kafka_message_headers(m, &orig) == RD_KAFKA_RESP_ERR_NO_ERROR && orig)
		hdrs = rd_kafka_headers_copy(orig);
	else
		hdrs = rd_kafka_headers_new(4);
	rd_kafka_header_add(hdrs, "idmefv2-error", -1, reason, -1);
	rd_kafka_header_add(hdrs, "idmefv2-topic", -1, tk->part->topic, -1);
	snprintf(num, sizeof(num), "%" PRId32, m->partition);
	rd_kafka_header_add(hdrs, "idmefv2-partition", -1, num, -1);
	snprintf(num, sizeof(num), "%" PRId64, m->offset);
	rd_kafka_header_add(hdrs, "idmefv2-offset", -1, num, -1);
	for (;;) {
		err = rd_kafka_producev(s->dlt, RD_KAFKA_V_TOPIC(s->dlt_topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
		                        RD_KAFKA_V_VALUE(m->payload, m->len), RD_KAFKA_V_KEY(m->key, m->key_len),
		                        RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(tk), RD_KAFKA_V_END);
		if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || atomic_load(&s->stop))
			break;
		rd_kafka_poll(s->dlt, KAFKA_POLL_MS);
		kafka_poll_aside(s);
	}
	if (err) {
		rd_kafka_headers_destroy(hdrs);
		idmefv2__log(s->t, IDMEFV2_LOG_ERROR,
		             "kafka: copy of %s [%" PRId32 "] offset %" PRId64 " to dead-letter topic %s failed: %s",
		             tk->part->topic, m->partition, m->offset, s->dlt_topic, rd_kafka_err2str(err));
		kafka_ticket_finish(tk, true);
	}
}

static void kafka_record_invalid(struct kafka *s, const rd_kafka_message_t *m, struct kafka_ticket *tk,
                                 const char *reason)
{
	idmefv2__transport_count_invalid(s->t);
	idmefv2__log(s->t, IDMEFV2_LOG_WARNING, "kafka: invalid record %s [%" PRId32 "] offset %" PRId64 ": %s",
	             tk->part->topic, m->partition, m->offset, reason);
	if (s->dlt)
		kafka_dead_letter(s, m, tk, reason);
	else
		kafka_ticket_finish(tk, true);
}

/* Offer @msg until it is taken, pausing the partitions while the queue is full. */
static void kafka_deliver(struct kafka *s, idmefv2_message *msg, struct kafka_ticket *tk)
{
	unsigned attempt = 0;
	int64_t retry_at = 0;

	for (;;) {
		bool detached;
		int64_t t0 = idmefv2__now_ms();

		if (t0 >= retry_at) {
			idmefv2_error r = idmefv2__transport_deliver(s->t, &msg, 1, KAFKA_POLL_MS, kafka_ack_cb, tk);

			if (r == IDMEFV2_OK)
				break;
			if (r == IDMEFV2_ERR_CLOSED)
				goto give_back;
			/* A full queue waited KAFKA_POLL_MS; a callback's refusal comes at once
			 * and is offered again after a backoff. */
			if (idmefv2__now_ms() - t0 < KAFKA_POLL_MS / 2) {
				int64_t wait = idmefv2__backoff_ms(s->t, ++attempt);

				retry_at = idmefv2__now_ms() + (wait < 10 ? 10 : wait);
				if (attempt == 1)
					idmefv2__log(s->t, IDMEFV2_LOG_WARNING,
					             "kafka: record %s [%" PRId32 "] offset %" PRId64
					             " refused (%s); offering it again",
					             tk->part->topic, tk->part->partition, tk->offset, idmefv2_strerror(r));
			}
		} else {
			kafka_sleep_ms(10);
		}
		if (atomic_load(&s->stop))
			goto give_back;
		kafka_pause(s, true);
		kafka_poll_aside(s);
		if (s->dlt)
			rd_kafka_poll(s->dlt, 0);
		pthread_mutex_lock(&tk->part->lock);
		detached = tk->part->detached;
		pthread_mutex_unlock(&tk->part->lock);
		if (detached)
			goto give_back;
	}
	if (s->backlog_len == 0)
		kafka_pause(s, false);
	return;

give_back:
	/* Not taken: the record stays uncommitted and comes again later. */
	kafka_ticket_finish(tk, false);
}

static void kafka_record(struct kafka *s, rd_kafka_message_t *m)
{
	const char *topic = rd_kafka_topic_name(m->rkt);
	struct kafka_part *p;
	struct kafka_ticket *tk;
	idmefv2_message *msg = NULL;
	idmefv2_report *report = NULL;
	char ctbuf[256], err[512], reason[1024];
	const char *ct;
	idmefv2_error r;

	if (m->err) {
		if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
			idmefv2__log(s->t, IDMEFV2_LOG_WARNING, "kafka: consumer: %s", rd_kafka_message_errstr(m));
		return;
	}
	p = kafka_part_find(s, topic, m->partition);
	if (!p) {
		p = kafka_part_add(s, topic, m->partition);
		if (!p)
			return;
	}
	/* A record at or below what this partition already handed out is a refetch. */
	if (m->offset <= p->last_offset)
		return;
	if (!kafka_part_register(p, m->offset))
		return;
	tk = kafka_ticket_new(p, m->offset);
	if (!tk) {
		/* Leave it pending: the partition stops committing, nothing is lost. */
		idmefv2__log(s->t, IDMEFV2_LOG_ERROR, "kafka: out of memory");
		return;
	}

	ct = kafka_record_content_type(m, ctbuf, sizeof(ctbuf));
	if (!ct)
		ct = s->content_type;
	if (!idmefv2_content_type_supported(ct)) {
		snprintf(reason, sizeof(reason), "unsupported Content-Type \"%s\"", ct);
		kafka_record_invalid(s, m, tk, reason);
		return;
	}
	if (!m->payload || m->len == 0) {
		kafka_record_invalid(s, m, tk, "empty record");
		return;
	}
	err[0] = '\0';
	r = idmefv2_message_unserialize(ct, m->payload, m->len, IDMEFV2_VALIDATE_FIRST_ERROR, &msg, &report, err,
	                                sizeof(err));
	if (r != IDMEFV2_OK) {
		if (report && idmefv2_report_count(report) > 0)
			snprintf(reason, sizeof(reason), "%s: \"%s\": %s", idmefv2_strerror(r),
			         idmefv2_report_instance_path(report, 0), idmefv2_report_message(report, 0));
		else
			snprintf(reason, sizeof(reason), "%s: %s", idmefv2_strerror(r), err[0] ? err : "?");
		idmefv2_report_free(report);
		kafka_record_invalid(s, m, tk, reason);
		return;
	}
	kafka_deliver(s, msg, tk);
	idmefv2_message_unref(msg);
}

static void kafka_commit_maybe(struct kafka *s)
{
	if (idmefv2__now_ms() - s->last_commit_ms >= KAFKA_COMMIT_INTERVAL_MS)
		kafka_commit(s, NULL, true);
}

static void *kafka_consumer_main(void *arg)
{
	struct kafka *s = arg;
	int64_t flush_ms;

	while (!atomic_load(&s->stop)) {
		rd_kafka_message_t *m = kafka_backlog_pop(s);

		if (!m) {
			if (s->paused)
				kafka_pause(s, false);
			m = rd_kafka_consumer_poll(s->rk, KAFKA_POLL_MS);
		}
		if (m) {
			kafka_record(s, m);
			rd_kafka_message_destroy(m);
		}
		if (s->dlt)
			rd_kafka_poll(s->dlt, 0);
		kafka_commit_maybe(s);
	}

	/* Let dead-letter copies land so that their records can be committed. */
	if (s->dlt) {
		flush_ms = idmefv2__opt_int(s->t, "stop.flush_timeout_ms");
		rd_kafka_flush(s->dlt, (int)(flush_ms < 0 ? -1 : flush_ms > INT32_MAX ? INT32_MAX : flush_ms));
	}
	kafka_backlog_drop_partitions(s, NULL);
	kafka_commit(s, NULL, false);
	rd_kafka_consumer_close(s->rk);
	while (s->parts)
		kafka_part_detach(s, s->parts);
	return NULL;
}

static idmefv2_error kafka_consumer_start(struct kafka *s, char *errstr, size_t errstr_size)
{
	rd_kafka_topic_partition_list_t *topics = NULL;
	rd_kafka_conf_t *conf = NULL;
	rd_kafka_resp_err_t err;
	const char *dlt = idmefv2__opt_str(s->t, "dead_letter_topic");
	char rderr[512];
	idmefv2_error ret = IDMEFV2_ERR_INVALID_ARG;

	s->content_type = idmefv2__opt_str(s->t, "content_type");
	if (!s->content_type)
		s->content_type = KAFKA_DEFAULT_CONTENT_TYPE;
	if (dlt && *dlt) {
		if (!kafka_topic_valid(dlt, strlen(dlt))) {
			snprintf(errstr, errstr_size, "dead_letter_topic: invalid topic name \"%s\"", dlt);
			return IDMEFV2_ERR_INVALID_ARG;
		}
		free(s->dlt_topic);
		s->dlt_topic = strdup(dlt);
		if (!s->dlt_topic)
			return IDMEFV2_ERR_NOMEM;
		conf = kafka_conf_new(s, true, errstr, errstr_size);
		if (!conf)
			return IDMEFV2_ERR_INVALID_ARG;
		rd_kafka_conf_set_dr_msg_cb(conf, kafka_dlt_dr_cb);
		s->dlt = rd_kafka_new(RD_KAFKA_PRODUCER, conf, rderr, sizeof(rderr));
		if (!s->dlt) {
			rd_kafka_conf_destroy(conf);
			snprintf(errstr, errstr_size, "kafka: %s", rderr);
			return IDMEFV2_ERR_INVALID_ARG;
		}
	}

	conf = kafka_conf_new(s, false, errstr, errstr_size);
	if (!conf)
		goto out;
	rd_kafka_conf_set_rebalance_cb(conf, kafka_rebalance_cb);
	rd_kafka_conf_set_offset_commit_cb(conf, kafka_offset_commit_cb);
	s->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, rderr, sizeof(rderr));
	if (!s->rk) {
		rd_kafka_conf_destroy(conf);
		snprintf(errstr, errstr_size, "kafka: %s", rderr);
		goto out;
	}
	rd_kafka_poll_set_consumer(s->rk);
	topics = rd_kafka_topic_partition_list_new((int)s->n_topics);
	for (size_t i = 0; i < s->n_topics; i++)
		rd_kafka_topic_partition_list_add(topics, s->topics[i], RD_KAFKA_PARTITION_UA);
	err = rd_kafka_subscribe(s->rk, topics);
	if (err) {
		snprintf(errstr, errstr_size, "kafka: subscribe: %s", rd_kafka_err2str(err));
		ret = IDMEFV2_ERR_TRANSPORT;
		goto out;
	}
	s->last_commit_ms = idmefv2__now_ms();
	if (pthread_create(&s->worker, NULL, kafka_consumer_main, s) != 0) {
		snprintf(errstr, errstr_size, "kafka: cannot start a thread");
		ret = IDMEFV2_ERR_NOMEM;
		goto out;
	}
	s->worker_started = true;
	ret = IDMEFV2_OK;
out:
	if (topics)
		rd_kafka_topic_partition_list_destroy(topics);
	if (ret != IDMEFV2_OK) {
		if (s->rk) {
			rd_kafka_consumer_close(s->rk);
			rd_kafka_destroy(s->rk);
			s->rk = NULL;
		}
		if (s->dlt) {
			rd_kafka_destroy(s->dlt);
			s->dlt = NULL;
		}
	}
	return ret;
}

static void kafka_consumer_stop(struct kafka *s)
{
	atomic_store(&s->stop, true);
	if (s->worker_started) {
		pthread_join(s->worker, NULL);
		s->worker_started = false;
	}
	while (s->parts)
		kafka_part_detach(s, s->parts);
	if (s->rk) {
		rd_kafka_destroy(s->rk);
		s->rk = NULL;
	}
	if (s->dlt) {
		/* Unflushed copies: their records were not committed and come again. */
		rd_kafka_purge(s->dlt, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
		rd_kafka_poll(s->dlt, 0);
		rd_kafka_destroy(s->dlt);
		s->dlt = NULL;
	}
}

/* ---- backend interface ------------------------------------------------------------------ */

static void kafka_free_state(struct kafka *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_topics; i++)
		free(s->topics[i]);
	free(s->topics);
	free(s->brokers);
	free(s->record_key);
	free(s->dlt_topic);
	free(s->backlog);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static idmefv2_error kafka_parse_topics(struct kafka *s, const char *path, char *errstr, size_t errstr_size)
{
	const char *p = path ? path : "";

	while (*p == '/')
		p++;
	if (*p == '\0')
		p = KAFKA_DEFAULT_TOPIC;
	for (;;) {
		size_t len = strcspn(p, ",");
		char **v;

		if (!kafka_topic_valid(p, len)) {
			snprintf(errstr, errstr_size, "kafka URL: invalid topic name \"%.*s\"", (int)len, p);
			return IDMEFV2_ERR_URL;
		}
		v = realloc(s->topics, (s->n_topics + 1) * sizeof(*v));
		if (!v)
			return IDMEFV2_ERR_NOMEM;
		s->topics = v;
		s->topics[s->n_topics] = strndup(p, len);
		if (!s->topics[s->n_topics])
			return IDMEFV2_ERR_NOMEM;
		s->n_topics++;
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
	return IDMEFV2_OK;
}

static idmefv2_error kafka_parse_brokers(struct kafka *s, const struct idmefv2__url *url, char *errstr,
                                         size_t errstr_size)
{
	if (url->hosts && *url->hosts) {
		s->brokers = strdup(url->hosts);
	} else if (url->host && *url->host) {
		bool v6 = strchr(url->host, ':') != NULL;
		size_t n = strlen(url->host) + 16;

		s->brokers = malloc(n);
		if (s->brokers)
			snprintf(s->brokers, n, "%s%s%s:%u", v6 ? "[" : "", url->host, v6 ? "]" : "",
			         url->port ? url->port : 9092);
	} else {
		snprintf(errstr, errstr_size, "kafka URL: no broker");
		return IDMEFV2_ERR_URL;
	}
	return s->brokers ? IDMEFV2_OK : IDMEFV2_ERR_NOMEM;
}

static idmefv2_error kafka_create(idmefv2_transport *t, char *errstr, size_t errstr_size)
{
	const struct idmefv2__url *url = idmefv2__transport_url(t);
	struct kafka *s;
	idmefv2_error r;

	if (url->query) {
		snprintf(errstr, errstr_size, "kafka URL: no query expected (use kafka.* options)");
		return IDMEFV2_ERR_URL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return IDMEFV2_ERR_NOMEM;
	s->t = t;
	s->role = idmefv2__transport_role(t);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	atomic_init(&s->stop, false);
	atomic_init(&s->poll_stop, false);
	atomic_init(&s->key_warned, false);

	r = kafka_parse_brokers(s, url, errstr, errstr_size);
	if (r == IDMEFV2_OK)
		r = kafka_parse_topics(s, url->path, errstr, errstr_size);
	if (r == IDMEFV2_OK && s->role == IDMEFV2_TRANSPORT_SENDER && s->n_topics > 1) {
		snprintf(errstr, errstr_size, "kafka URL: a sender takes one topic, not %zu", s->n_topics);
		r = IDMEFV2_ERR_URL;
	}
	if (r != IDMEFV2_OK) {
		if (r == IDMEFV2_ERR_NOMEM)
			snprintf(errstr, errstr_size, "out of memory");
		kafka_free_state(s);
		return r;
	}
	idmefv2__transport_set_backend_data(t, s);
	return IDMEFV2_OK;
}

static idmefv2_error kafka_start(idmefv2_transport *t, char *errstr, size_t errstr_size)
{
	struct kafka *s = idmefv2__transport_backend_data(t);

	/* A failed start may be tried again. */
	atomic_store(&s->stop, false);
	atomic_store(&s->poll_stop, false);
	s->stopped = false;

	if (s->role == IDMEFV2_TRANSPORT_SENDER)
		return kafka_producer_start(s, errstr, errstr_size);
	return kafka_consumer_start(s, errstr, errstr_size);
}

static void kafka_wakeup(idmefv2_transport *t)
{
	/* The producer thread blocks in idmefv2__transport_take(), which new items wake. */
	(void)t;
}

static void kafka_stop(idmefv2_transport *t)
{
	struct kafka *s = idmefv2__transport_backend_data(t);

	if (!s || s->stopped)
		return;
	s->stopped = true;
	if (s->role == IDMEFV2_TRANSPORT_SENDER)
		kafka_producer_stop(s);
	else
		kafka_consumer_stop(s);
}

static void kafka_destroy(idmefv2_transport *t)
{
	struct kafka *s = idmefv2__transport_backend_data(t);

	if (!s)
		return;
	kafka_stop(t);
	kafka_free_state(s);
	idmefv2__transport_set_backend_data(t, NULL);
}

const struct idmefv2__backend idmefv2__backend_kafka = {
	.scheme = "kafka",
	.can_send = true,
	.can_listen = true,
	.create = kafka_create,
	.start = kafka_start,
	.wakeup = kafka_wakeup,
	.stop = kafka_stop,
	.destroy = kafka_destroy,
	.get_port = NULL,
};
