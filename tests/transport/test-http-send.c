/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP(S) sender against an in-process libmicrohttpd server on 127.0.0.1.
 */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <idmefv2/message.h>
#include <idmefv2/transport.h>

#include "httpd-fixture.h"
#include "testlib.h"

#define MAX_MSGS 512
#define WAIT_MS 20000

/* ---- delivery and log capture --------------------------------------------------------------- */

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned calls[MAX_MSGS];
	int status[MAX_MSGS];
	char detail[MAX_MSGS][256];
	size_t total;
	char log[8192];
	size_t log_len;
} D = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static void on_delivery(idmefv2_transport *t, void *opaque, idmefv2_delivery_status status,
                        const char *detail, void *user_data)
{
	uintptr_t i = (uintptr_t)opaque;

	(void)t;
	(void)user_data;
	pthread_mutex_lock(&D.lock);
	if (i < MAX_MSGS) {
		D.calls[i]++;
		D.status[i] = (int)status;
		snprintf(D.detail[i], sizeof(D.detail[i]), "%s", detail ? detail : "");
	}
	D.total++;
	pthread_cond_broadcast(&D.cond);
	pthread_mutex_unlock(&D.lock);
}

static void on_log(idmefv2_log_level level, const char *message, void *user_data)
{
	(void)level;
	(void)user_data;
	pthread_mutex_lock(&D.lock);
	D.log_len += (size_t)snprintf(D.log + D.log_len, sizeof(D.log) - D.log_len, "%s\n", message);
	if (D.log_len >= sizeof(D.log))
		D.log_len = sizeof(D.log) - 1;
	pthread_mutex_unlock(&D.lock);
}

static void reset(void)
{
	pthread_mutex_lock(&D.lock);
	memset(D.calls, 0, sizeof(D.calls));
	memset(D.status, -1, sizeof(D.status));
	D.total = 0;
	D.log[0] = '\0';
	D.log_len = 0;
	pthread_mutex_unlock(&D.lock);
}

static bool wait_deliveries(size_t n, int timeout_ms)
{
	int64_t deadline = httpd_now_ms() + timeout_ms;
	bool ok;

	pthread_mutex_lock(&D.lock);
	while (D.total < n && httpd_now_ms() < deadline) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 20 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&D.cond, &D.lock, &ts);
	}
	ok = D.total >= n;
	pthread_mutex_unlock(&D.lock);
	return ok;
}

static bool log_contains(const char *needle)
{
	bool found;

	pthread_mutex_lock(&D.lock);
	found = strstr(D.log, needle) != NULL;
	pthread_mutex_unlock(&D.lock);
	return found;
}

/* ---- helpers ---------------------------------------------------------------------------- */

static struct httpd_fixture *server(const struct httpd_fixture_opts *opts)
{
	char err[256] = "";
	struct httpd_fixture *f = httpd_fixture_new(opts, err, sizeof(err));

	ck_assert_msg(f != NULL, "test server: %s", err);
	return f;
}

static void url_of(char *buf, size_t size, const char *scheme, struct httpd_fixture *f)
{
	snprintf(buf, size, "%s://127.0.0.1:%u/idmefv2", scheme, httpd_fixture_port(f));
}

/* A sender for @url with name/value option pairs ending with NULL. */
static idmefv2_transport *sender_new(const char *url, const char *const *opts)
{
	char err[512] = "";
	idmefv2_transport *t = NULL;
	idmefv2_error rc;

	rc = idmefv2_transport_new(url, IDMEFV2_TRANSPORT_SENDER, &t, err, sizeof(err));
	ck_assert_msg(rc == IDMEFV2_OK, "transport_new(%s): %s", url, err);
	ck_assert_int_eq(idmefv2_transport_set(t, "validate", "false", err, sizeof(err)), IDMEFV2_OK);
	for (; opts && opts[0]; opts += 2) {
		rc = idmefv2_transport_set(t, opts[0], opts[1], err, sizeof(err));
		ck_assert_msg(rc == IDMEFV2_OK, "set %s=%s: %s", opts[0], opts[1], err);
	}
	idmefv2_transport_set_delivery_cb(t, on_delivery, NULL);
	idmefv2_transport_set_log_cb(t, on_log, NULL);
	rc = idmefv2_transport_start(t, err, sizeof(err));
	ck_assert_msg(rc == IDMEFV2_OK, "start: %s", err);
	return t;
}

static void send_range(idmefv2_transport *t, unsigned first, unsigned n)
{
	char body[64], err[256];

	for (unsigned i = first; i < first + n; i++) {
		int len = snprintf(body, sizeof(body), "{\"n\":%u}", i);
		idmefv2_error rc = idmefv2_transport_send_raw(t, "application/json", body, (size_t)len,
		                                              (void *)(uintptr_t)i, err, sizeof(err));
		ck_assert_msg(rc == IDMEFV2_OK, "send_raw %u: %s", i, err);
	}
}

/* The numbers carried by a request body, one per NDJSON line. */
static size_t body_numbers(const char *body, int *out, size_t max)
{
	size_t n = 0;
	const char *p = body;

	while (p && *p && n < max) {
		int v;
		if (sscanf(p, "{\"n\":%d}", &v) != 1)
			return n;
		out[n++] = v;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return n;
}

static int request_number(const struct httpd_request *r)
{
	int v = -1;

	ck_assert_uint_eq(body_numbers(r->body, &v, 1), 1);
	return v;
}

static idmefv2_transport_counters counters(idmefv2_transport *t)
{
	idmefv2_transport_counters c;

	idmefv2_transport_get_counters(t, &c);
	return c;
}

static void assert_in_order(struct httpd_fixture *f, unsigned n)
{
	ck_assert_uint_eq(httpd_fixture_count(f), n);
	for (unsigned i = 0; i < n; i++) {
		const struct httpd_request *r = httpd_fixture_request(f, i);
		ck_assert_int_eq(r->status, 204);
		ck_assert_int_eq(request_number(r), (int)i);
	}
}

static void assert_all_sent_once(unsigned n)
{
	pthread_mutex_lock(&D.lock);
	for (unsigned i = 0; i < n; i++) {
		ck_assert_msg(D.calls[i] == 1, "message %u reported %u times", i, D.calls[i]);
		ck_assert_msg(D.status[i] == IDMEFV2_DELIVERY_SENT, "message %u: status %d (%s)", i,
		              D.status[i], D.detail[i]);
	}
	pthread_mutex_unlock(&D.lock);
}

/* ---- end to end ---------------------------------------------------------------------------- */

START_TEST(test_end_to_end_in_order)
{
	struct httpd_fixture *f = server(NULL);
	char url[128];
	const char *opts[] = { "http.max_in_flight", "1", NULL };
	idmefv2_transport *t;
	idmefv2_transport_counters c;

	reset();
	url_of(url, sizeof(url), "http", f);
	t = sender_new(url, opts);
	send_range(t, 0, 50);
	ck_assert_int_eq(idmefv2_transport_flush(t, WAIT_MS), IDMEFV2_OK);
	assert_in_order(f, 50);
	for (unsigned i = 0; i < 50; i++) {
		const struct httpd_request *r = httpd_fixture_request(f, i);
		ck_assert_str_eq(r->method, "POST");
		ck_assert_str_eq(r->path, "/idmefv2");
		ck_assert_ptr_nonnull(r->content_type);
		ck_assert_str_eq(r->content_type, "application/json");
		ck_assert_ptr_null(r->authorization);
	}
	assert_all_sent_once(50);
	/* Keep-alive: one request at a time over one persistent connection. */
	ck_assert_uint_le(httpd_fixture_connections(f), 2);
	c = counters(t);
	ck_assert_uint_eq(c.queued, 50);
	ck_assert_uint_eq(c.sent, 50);
	ck_assert_uint_eq(c.retried, 0);
	ck_assert_uint_eq(c.failed, 0);
	idmefv2_transport_free(t);
	httpd_fixture_free(f);
}
END_TEST

START_TEST(test_end_to_end_concurrent_messages)
{
	struct httpd_fixture *f = server(NULL);
	char url[128], err[256], path[512];
	idmefv2_transport *t;
	idmefv2_message *msg = NULL;
	FILE *fp;
	char text[4096];
	size_t len;
	const unsigned n = 200;
	idmefv2_transport_counters c;

	reset();
	snprintf(path, sizeof(path), "%s/examples/valid/connectors-doc-minimal-idmefv2.V05.json", TEST_DATA_DIR);
	fp = fopen(path, "r");
	ck_assert_ptr_nonnull(fp);
	len = fread(text, 1, sizeof(text) - 1, fp);
	fclose(fp);
	text[len] = '\0';
	ck_assert_int_eq(idmefv2_message_new_from_json(text, len, &msg, err, sizeof(err)), IDMEFV2_OK);

	url_of(url, sizeof(url), "http", f);
	ck_assert_int_eq(idmefv2_transport_new(url, IDMEFV2_TRANSPORT_SENDER, &t, err, sizeof(err)), IDMEFV2_OK);
	idmefv2_transport_set_delivery_cb(t, on_delivery, NULL);
	ck_assert_int_eq(idmefv2_transport_start(t, err, sizeof(err)), IDMEFV2_OK);
	for (unsigned i = 0; i < n; i++)
		ck_assert_int_eq(idmefv2_transport_send(t, msg, (void *)(uintptr_t)i, err, sizeof(err)),
		                 IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_transport_flush(t, WAIT_MS), IDMEFV2_OK);
	ck_assert_uint_eq(httpd_fixture_count(f), n);
	for (unsigned i = 0; i < n; i++) {
		const struct httpd_request *r = httpd_fixture_request(f, i);
		ck_assert_str_eq(r->content_type, "application/json");
		ck_assert_ptr_nonnull(strstr(r->body, "056666c6-9c04-43dd-b6bf-3d99fe490b08"));
	}
	assert_all_sent_once(n);
	/* Up to http.max_in_flight (8) requests share a pool of persistent connections. */
	ck_assert_uint_le(httpd_fixture_connections(f), 8);
	c = counters(t);
	ck_assert_uint_eq(c.sent, n);
	idmefv2_transport_free(t);
	idmefv2_message_unref(msg);
	httpd_fixture_free(f);
}
END_TEST

/* ---- outcomes ------------------------------------------------------------------------------- */

START_TEST(test_retry_on_5xx_and_408)
{
	struct httpd_fixture *f = server(NULL);
	const int script[] = { 500, 408, 503 };
	char url[128];
	const char *opts[] = { "retry.backoff_ms", "10", "retry.backoff_max_ms", "50", NULL };
	idmefv2_transport *t;
	idmefv2_transport_counters c;

	reset();
	httpd_fixture_script(f, script, 3);
	url_of(url, sizeof(url), "http", f);
	t = sender_new(url, opts);
	send_range(t, 0, 1);
	ck_assert_int_eq(idmefv2_transport_flush(t, WAIT_MS), IDMEFV2_OK);
	ck_assert_uint_eq(httpd_fixture_count(f), 4);
	for (unsigned i = 0; i < 4; i++)
		ck_assert_int_eq(request_number(httpd_fixture_request(f, i)), 0);
	ck_assert_int_eq(httpd_fixture_request(f, 3)->status, 204);
	assert_all_sent_once(1);
	c = counters(t);
	ck_assert_uint_eq(c.sent, 1);
	ck_assert_uint_eq(c.retried, 3);
	ck_assert_uint_eq(c.failed, 0);
	idmefv2_transport_free(t);
	httpd_fixture_free(f);
}
END_TEST

START_TEST(test_500_then_204_delivered_once)
{
	struct httpd_fixture *f = server(NULL);
	const int script[] = { 500 };
	char url[128];
	const char *opts[] = { "retry.backoff_ms", "10", "http.max_in_flight", "1", NULL };
	idmefv2_transport *t;
	idmefv2_transport_counters c;

	reset();
	httpd_fixture_script(f, script, 1);
	url_of(url, sizeof(url), "http", f);
	t = sender_new(url, opts);
	send_range(t, 0, 5);
	ck_assert_int_eq(idmefv2_transport_flush(t, WAIT_MS), IDMEFV2_OK);
	/* The refused first message is retried before any later one is sent. */
	ck_assert_uint_eq(httpd_fixture_count(f), 6);
	ck_assert_int_eq(httpd_fixture_request(f, 0)->status, 500);
	ck_assert_int_eq(request_number(httpd_fixture_request(f, 0)), 0);
	for (unsigned i = 1; i < 6; i++) {
		ck_assert_int_eq(httpd_fixture_request(f, i)->status, 204);
		ck_assert_int_eq(request_number(httpd_fixture_request(f, i)), (int)i - 1);
	}
	assert_all_sent_once(5);
	c = counters(t);
	ck_assert_uint_eq(c.sent, 5);
	ck_assert_uint_eq(c.retried, 1);
	idmefv2_transport_free(t);
	httpd_fixture_free(f);
}
END_TEST

START_TEST(test_400_rejected_and_dead_lettered)
{
	struct httpd_fixture *f = server(NULL);
	const int script[] = { 400 };
	char url[128], dl[512], line[256];
	char *dir = testlib_tmpdir();
	const char *opts[] = { "dead_letter", dl, "retry.backoff_ms", "10", "http.max_in_flight", "1", NULL };
	idmefv2_transport *t;
	idmefv2_transport_counters c;
	FILE *fp;

	reset();
	snprintf(dl, sizeof(dl), "%s/dead.ndjson", dir);
	httpd_fixture_script(f, script, 1);
	httpd_fixture_set_error_body(f, "{\"error\": \"/ID is malformed\"}");
	url_of(url, sizeof(url), "http", f);
	t = sender_new(url, opts);
	send_range(t, 0, 2);
	ck_assert_int_eq(idmefv2_transport_flush(t, WAIT_MS), IDMEFV2_OK);
	ck_assert_uint_eq(httpd_fixture_count(f), 2);
	ck_assert_int_eq(request_number(httpd_fixture_request(f, 0)), 0);
	ck_assert_int_eq(request_number(httpd_fixture_request(f, 1)), 1);

	pthread_mutex_lock(&D.lock);
	ck_assert_uint_eq(D.calls[0], 1);
	ck_assert_int_eq(D.status[0], IDMEFV2_DELIVERY_REJECTED);
	ck_assert_ptr_nonnull(strstr(D.detail[0], "400"));
	ck_assert_ptr_nonnull(strstr(D.detail[0], "/ID is malformed"));
	ck_assert_uint_eq(D.calls[1], 1);
	ck_assert_int_eq(D.status[1], IDMEFV2_DELIVERY_SENT);
	pthread_mutex_unlock(&D.lock);
	ck_assert(log_contains("400"));

	c = counters(t);
	ck_assert_uint_eq(c.failed, 1);
	ck_assert_uint_eq(c.sent, 1);
	ck_assert_uint_eq(c.retried, 0);
	idmefv2_transport_free(t);

	fp = fopen(dl, "r");
	ck_assert_ptr_nonnull(fp);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), fp));
	ck_assert_ptr_nonnull(strstr(line, "\"n\""));
	ck_assert_ptr_null(fgets(line, sizeof(line), fp));
	fclose(fp);
	/* Nothing was retried later either. */
	ck_assert_uint_eq(httpd_fixture_count(f), 2);
	httpd_fixture_free(f);
	testlib_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_429_retry_after_seconds)
{
	struct httpd_fixture *f = server(NULL);
	const int script[] = { 429 };
	char url[128];
	const char *opts[] = { "retry.backoff_ms", "10", "retry.backoff_max_ms", "20", NULL };
	idmefv2_transport *t;

	reset();
	httpd_fixture_script(f, script, 1);
	httpd_fixture_set_retry_after(f, "1");
	url_of(url, sizeof(url), "http", f);
	t = sender_new(url, opts);
	send_range(t, 0, 1);
	ck_assert_int_eq(idmefv2_transport_flush(t, WAIT_MS), IDMEFV2_OK);
	ck_assert_uint_eq(httpd_fixture_count(f), 2);
	/* The backoff alone would retry within 20 ms. */
	ck_assert_int_ge(httpd_fixture_request(f, 1)->at_ms - httpd_fixture_request(f, 0)->at_ms, 990);
	assert_all_sent_once(1);
	ck_assert_uint_eq(counters(t).retried, 1);
	idmefv2_transport_free(t);
	httpd_fixture_free(f);
}
END_TEST

START_TEST(test_503_retry_after_date)
{
	struct httpd_fixture *f = server(NULL);
	const int script[] = { 503 };
	char url[128], date[64];
	const char *opts[] = { "retry.backoff_ms", "10", "retry.backoff_max_ms", "20", NULL };
	idmefv2_transport *t;
	time_t when = time(NULL) + 3;
	struct tm tm;

	reset();
	gmtime_r(&when, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	httpd_fixture_script(f, script, 1);
	httpd_fixture_set_retry_after(f, date);
	url_of(url, sizeof(url), "http", f);
	t = sender_new(url, opts);
	send_range(t, 0, 1);
	ck_assert_int_eq(idmefv2_transport_flush(t, WAIT_MS), IDMEFV2_OK);
	ck_assert_uint_eq(httpd_fixture_count(f), 2);
	/* At least 2 whole seconds remained when the answer was read. */
	ck_assert_int_ge(httpd_fixture_request(f, 1)->at_ms - httpd_fixture_request(f, 0)->at_ms, 1000);
	assert_all_sent_once(1);
	idmefv2_transport_free(t);
	httpd_fixture_free(f);
}
END_TEST

START_TEST(test_connection_refused_gives_up_after_retry_max)
{
	struct httpd_fixture *f = server(NULL);
	char url[128];
	const char *opts[] = { "retry.max", "2", "retry.backoff_ms", "10", "retry.backoff_max_ms", "20", NULL };
	idmefv2_transport *t;
	idmefv2_transport_counters c;

	reset();
	url_of(url, sizeof(url), "http", f);
	ck_assert_int_eq(httpd_fixture_down(f), 0);
	t = sender_new(url, opts);
	send_range(t, 0, 2);
	ck_assert_int_eq(idmefv2_transport_flush(t, WAIT_MS), IDMEFV2_OK);
	pthread_mutex_lock(&D.lock);
	for (unsigned i = 0; i < 2; i++) {
		ck_assert_uint_eq(D.calls[i], 1);
		ck_assert_int_eq(D.status[i], IDMEFV2_DELIVERY_FAILED);
		ck_assert_ptr_nonnull(strstr(D.detail[i], "3 attempts"));
	}
	pthread_mutex_unlock(&D.lock);
	c = counters(t);
	ck_assert_uint_eq(c.failed, 2);
	ck_assert_uint_eq(c.retried, 4);
	ck_assert_uint_eq(c.sent, 0);
	idmefv2_transport_free(t);
	httpd_fixture_free(f);
}
END_TEST

START_TEST(test_request_timeout)
{
	struct httpd_fixture *f = server(NULL);
	char url[128];
	const char *opts[] = { "retry.max", "0", "http.timeout_ms", "300", NULL };
	idmefv2_transport *t;

	reset();
	httpd_fixture_hold(f, true);
	url_of(url, sizeof(url), "http", f);
	t = sender_new(url, opts);
	send_range(t, 0, 1);
	ck_assert_int_eq(idmefv2_transport_flush(t, WAIT_MS), IDMEFV2_OK);
	pthread_mutex_lock(&D.lock);
	ck_assert_uint_eq(D.calls[0], 1);
	ck_assert_int_eq(D.status[0], IDMEFV2_DELIVERY_FAILED);
	ck_assert_msg(strstr(D.detail[0], "imed out") != NULL, "detail: %s", D.detail[0]);
	pthread_mutex_unlock(&D.lock);
	idmefv2_transport_free(t);
	httpd_fixture_hold(f, false);
	httpd_fixture_free(f);
}
END_TEST

/* ---- peer down, spool, restart ----------------------------------------------------------------- */

START_TEST(test_down_then_up_spool_replays_in_order)
{
	struct httpd_fixture *f = server(NULL);
	char url[128];
	char *dir = testlib_tmpdir();
	const char *opts[] = { "spool.dir", dir, "queue.size", "4", "http.max_in_flight", "1",
	                       "retry.backoff_ms", "20", "retry.backoff_max_ms", "100", NULL };
	idmefv2_transport *t;
	idmefv2_transport_counters c;
	int64_t deadline;
	const unsigned n = 30;

	reset();
	url_of(url, sizeof(url), "http", f);
	ck_assert_int_eq(httpd_fixture_down(f), 0);
	t = sender_new(url, opts);
	send_range(t, 0, n);
	/* Let it fail a few times against the closed port. */
	deadline = httpd_now_ms() + WAIT_MS;
	while (counters(t).retried < 3 && httpd_now_ms() < deadline)
		usleep(10 * 1000);
	c = counters(t);
	ck_assert_uint_ge(c.retried, 3);
	ck_assert_uint_gt(c.spooled, 0);
	ck_assert_uint_eq(c.sent, 0);
	ck_assert_uint_gt(testlib_count_files(dir, NULL), 0);

	ck_assert_int_eq(httpd_fixture_up(f), 0);
	ck_assert_int_eq(idmefv2_transport_flush(t, WAIT_MS), IDMEFV2_OK);
	assert_in_order(f, n);
	assert_all_sent_once(n);
	c = counters(t);
	ck_assert_uint_eq(c.sent, n);
	ck_assert_uint_eq(c.failed, 0);
	idmefv2_transport_free(t);
	ck_assert_uint_eq(testlib_count_files(dir, NULL), 0);
	httpd_fixture_free(f);
	testlib_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_down_then_up_concurrent_nothing_lost)
{
	struct httpd_fixture *f = server(NULL);
	char url[128];
	const char *opts[] = { "retry.backoff_ms", "20", "retry.backoff_max_ms", "100", NULL };
	idmefv2_transport *t;
	int64_t deadline;
	const unsigned n = 100;
	unsigned seen[100] = { 0 };

	reset();
	url_of(url, sizeof(url), "http", f);
	ck_assert_int_eq(httpd_fixture_down(f), 0);
	t = sender_new(url, opts);
	send_range(t, 0, n);
	deadline = httpd_now_ms() + WAIT_MS;
	while (counters(t).retried < 2 && httpd_now_ms() < deadline)
		usleep(10 * 1000);
	ck_assert_uint_ge(counters(t).retried, 2);
	ck_assert_int_eq(httpd_fixture_up(f), 0);
	ck_assert_int_eq(idmefv2_transport_flush(t, WAIT_MS), IDMEFV2_OK);
	ck_assert_uint_eq(httpd_fixture_count(f), n);
	for (unsigned i = 0; i < n; i++) {
		int v = request_number(httpd_fixture_request(f, i));
		ck_assert(v >= 0 && v < (int)n);
		seen[v]++;
	}
	for (unsigned i = 0; i < n; i++)
		ck_assert_uint_eq(seen[i], 1);
	/* The first message, the one probing while the peer was down, arrives first. */
	ck_assert_int_eq(request_number(httpd_fixture_request(f, 0)), 0);
	assert_all_sent_once(n);
	idmefv2_transport_free(t);
	httpd_fixture_free(f);
}
END_TEST

START_TEST(test_recovery_sends_one_probe_at_a_time)
{
	struct httpd_fixture *f = server(NULL);
	char url[128];
	const char *opts[] = { "retry.backoff_ms", "10", "retry.backoff_max_ms", "40", NULL };
	idmefv2_transport *t;
	int64_t deadline;
	const unsigned n = 20;

	reset();
	url_of(url, sizeof(url), "http", f);
	ck_assert_int_eq(httpd_fixture_down(f), 0);
	t = sender_new(url, opts);
	send_range(t, 0, n);
	/* The first wave (8 in flight) failed, and probes have failed since. */
	deadline = httpd_now_ms() + WAIT_MS;
	while (counters(t).retried < 12 && httpd_now_ms() < deadline)
		usleep(5 * 1000);
	ck_assert_uint_ge(counters(t).retried, 12);

	/* Back up, but the first request is left unanswered: while the probe is
	 * pending nothing else may be sent, however many backoffs elapse. */
	httpd_fixture_hold(f, true);
	ck_assert_int_eq(httpd_fixture_up(f), 0);
	ck_assert(httpd_fixture_wait_count(f, 1, WAIT_MS));
	usleep(300 * 1000);
	ck_assert_uint_eq(httpd_fixture_count(f), 1);
	ck_assert_int_eq(request_number(httpd_fixture_request(f, 0)), 0);
	httpd_fixture_hold(f, false);

	ck_assert_int_eq(idmefv2_transport_flush(t, WAIT_MS), IDMEFV2_OK);
	ck_assert_uint_eq(httpd_fixture_count(f), n);
	assert_all_sent_once(n);
	idmefv2_transport_free(t);
	httpd_fixture_free(f);
}
END_TEST

START_TEST(test_killed_sender_spool_replayed_after_restart)
{
	struct httpd_fixture *f = server(NULL);
	char url[128];
	char *dir = testlib_tmpdir();
	const unsigned n = 20;
	int fds[2];
	pid_t pid;
	char ready = 0;
	int status;
	idmefv2_transport *t;
	const char *opts[] = { "spool.dir", dir, "http.max_in_flight", "1", NULL };

	reset();
	url_of(url, sizeof(url), "http", f);
	ck_assert_int_eq(httpd_fixture_down(f), 0);
	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* The doomed sender: no check assertions here, just an exit status. */
		char err[256], body[64];
		idmefv2_transport *ct = NULL;
		idmefv2_transport_counters cc;
		int64_t deadline;

		close(fds[0]);
		/* A backoff so long that no probe runs while the test sends: the peer
		 * is known down, the queue (one item) is full, and everything sent
		 * goes to the spool. */
		if (idmefv2_transport_new(url, IDMEFV2_TRANSPORT_SENDER, &ct, err, sizeof(err)) != IDMEFV2_OK ||
		    idmefv2_transport_set(ct, "validate", "false", err, sizeof(err)) != IDMEFV2_OK ||
		    idmefv2_transport_set(ct, "spool.dir", dir, err, sizeof(err)) != IDMEFV2_OK ||
		    idmefv2_transport_set(ct, "queue.size", "1", err, sizeof(err)) != IDMEFV2_OK ||
		    idmefv2_transport_set(ct, "http.max_in_flight", "1", err, sizeof(err)) != IDMEFV2_OK ||
		    idmefv2_transport_set(ct, "retry.backoff_ms", "86400000", err, sizeof(err)) != IDMEFV2_OK ||
		    idmefv2_transport_set(ct, "retry.backoff_max_ms", "86400000", err, sizeof(err)) != IDMEFV2_OK ||
		    idmefv2_transport_start(ct, err, sizeof(err)) != IDMEFV2_OK)
			_exit(2);
		for (unsigned i = 0; i < n; i++) {
			int len = snprintf(body, sizeof(body), "{\"n\":%u}", i);
			if (idmefv2_transport_send_raw(ct, "application/json", body, (size_t)len, NULL, err,
			                               sizeof(err)) != IDMEFV2_OK)
				_exit(3);
			/* After the first message, wait until the sender has seen the peer down. */
			deadline = httpd_now_ms() + WAIT_MS;
			do {
				idmefv2_transport_get_counters(ct, &cc);
				if (cc.retried >= 1)
					break;
				usleep(2 * 1000);
			} while (httpd_now_ms() < deadline);
		}
		deadline = httpd_now_ms() + WAIT_MS;
		do {
			idmefv2_transport_get_counters(ct, &cc);
			if (cc.spooled >= n)
				break;
			usleep(2 * 1000);
		} while (httpd_now_ms() < deadline);
		if (write(fds[1], "r", 1) != 1)
			_exit(4);
		for (;;)
			pause();
	}
	close(fds[1]);
	ck_assert_int_eq(read(fds[0], &ready, 1), 1);
	close(fds[0]);
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status));
	ck_assert_uint_eq(testlib_count_files(dir, NULL), n);

	ck_assert_int_eq(httpd_fixture_up(f), 0);
	t = sender_new(url, opts);
	ck_assert_int_eq(idmefv2_transport_flush(t, WAIT_MS), IDMEFV2_OK);
	assert_in_order(f, n);
	ck_assert_uint_eq(counters(t).sent, n);
	idmefv2_transport_free(t);
	ck_assert_uint_eq(testlib_count_files(dir, NULL), 0);
	httpd_fixture_free(f);
	testlib_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_stop_returns_in_flight_items)
{
	struct httpd_fixture *f = server(NULL);
	char url[128];
	const char *opts[] = { "http.max_in_flight", "1", "http.timeout_ms", "60000",
	                       "stop.flush_timeout_ms", "100", NULL };
	idmefv2_transport *t;
	int64_t start;

	reset();
	httpd_fixture_hold(f, true);
	url_of(url, sizeof(url), "http", f);
	t = sender_new(url, opts);
	send_range(t, 0, 3);
	ck_assert(httpd_fixture_wait_count(f, 1, WAIT_MS));
	start = httpd_now_ms();
	ck_assert_int_eq(idmefv2_transport_stop(t), IDMEFV2_OK);
	/* Well before the 60 s request timeout. */
	ck_assert_int_lt(httpd_now_ms() - start, 10000);
	/* No spool: what was held (one in flight, two queued) is reported failed, once. */
	ck_assert(wait_deliveries(3, WAIT_MS));
	pthread_mutex_lock(&D.lock);
	for (unsigned i = 0; i < 3; i++) {
		ck_assert_uint_eq(D.calls[i], 1);
		ck_assert_int_eq(D.status[i], IDMEFV2_DELIVERY_FAILED);
	}
	pthread_mutex_unlock(&D.lock);
	idmefv2_transport_free(t);
	httpd_fixture_hold(f, false);
	httpd_fixture_free(f);
}
END_TEST

START_TEST(test_stop_spools_in_flight_items)
{
	struct httpd_fixture *f = server(NULL);
	char url[128];
	char *dir = testlib_tmpdir();
	const char *opts[] = { "spool.dir", dir, "http.max_in_flight", "1", "http.timeout_ms", "60000",
	                       "stop.flush_timeout_ms", "100", NULL };
	idmefv2_transport *t;

	reset();
	httpd_fixture_hold(f, true);
	url_of(url, sizeof(url), "http", f);
	t = sender_new(url, opts);
	send_range(t, 0, 3);
	ck_assert(httpd_fixture_wait_count(f, 1, WAIT_MS));
	ck_assert_int_eq(idmefv2_transport_stop(t), IDMEFV2_OK);
	idmefv2_transport_free(t);
	ck_assert_uint_eq(testlib_count_files(dir, NULL), 3);
	/* Kept on disk for the next start: no final outcome yet, so no callback. */
	pthread_mutex_lock(&D.lock);
	ck_assert_uint_eq(D.total, 0);
	pthread_mutex_unlock(&D.lock);

	/* The next sender delivers them, the interrupted one included. */
	httpd_fixture_hold(f, false);
	reset();
	t = sender_new(url, opts);
	ck_assert_int_eq(idmefv2_transport_flush(t, WAIT_MS), IDMEFV2_OK);
	ck_assert_uint_eq(httpd_fixture_count(f), 4);
	for (unsigned i = 1; i < 4; i++)
		ck_assert_int_eq(request_number(httpd_fixture_request(f, i)), (int)i - 1);
	idmefv2_transport_free(t);
	ck_assert_uint_eq(testlib_count_files(dir, NULL), 0);
	httpd_fixture_free(f);
	testlib_rmtree(dir);
	free(dir);
}
END_TEST

/* ---- batches --------------------------------------------------------------------------------- */

START_TEST(test_batch_ndjson)
{
	struct httpd_fixture *f = server(NULL);
	char url[128];
	const char *opts[] = { "http.batch", "10", "http.max_in_flight", "1", NULL };
	idmefv2_transport *t;
	const unsigned n = 35;
	int numbers[16];
	unsigned next = 0;
	size_t requests;

	reset();
	httpd_fixture_hold(f, true);
	url_of(url, sizeof(url), "http", f);
	t = sender_new(url, opts);
	send_range(t, 0, n);
	ck_assert(httpd_fixture_wait_count(f, 1, WAIT_MS));
	httpd_fixture_hold(f, false);
	ck_assert_int_eq(idmefv2_transport_flush(t, WAIT_MS), IDMEFV2_OK);

	requests = httpd_fixture_count(f);
	/* The first request left alone, the 34 others at most 10 a request. */
	ck_assert_uint_le(requests, 5);
	for (size_t i = 0; i < requests; i++) {
		const struct httpd_request *r = httpd_fixture_request(f, i);
		size_t k = body_numbers(r->body, numbers, 16);
		ck_assert_uint_ge(k, 1);
		ck_assert_uint_le(k, 10);
		ck_assert_str_eq(r->content_type, k > 1 ? "application/x-ndjson" : "application/json");
		if (k > 1)
			ck_assert_int_eq(r->body[r->len - 1], '\n');
		for (size_t j = 0; j < k; j++)
			ck_assert_int_eq(numbers[j], (int)next++);
	}
	ck_assert_uint_eq(next, n);
	assert_all_sent_once(n);
	idmefv2_transport_free(t);
	httpd_fixture_free(f);
}
END_TEST

START_TEST(test_batch_outcome_is_the_batch_s)
{
	struct httpd_fixture *f = server(NULL);
	const int script[] = { 500, 400 };
	char url[128];
	const char *opts[] = { "http.batch", "4", "http.max_in_flight", "1", "retry.backoff_ms", "10", NULL };
	idmefv2_transport *t;
	int numbers[16];
	size_t k0, k1;
	idmefv2_transport_counters c;

	reset();
	httpd_fixture_hold(f, true);
	httpd_fixture_script(f, script, 2);
	url_of(url, sizeof(url), "http", f);
	t = sender_new(url, opts);
	send_range(t, 0, 9);
	ck_assert(httpd_fixture_wait_count(f, 1, WAIT_MS));
	httpd_fixture_hold(f, false);
	ck_assert_int_eq(idmefv2_transport_flush(t, WAIT_MS), IDMEFV2_OK);

	/* Request 0 (500) is retried in request 1 (400), regrouped with the items
	 * queued meanwhile: every item of request 1 is rejected, the rest sent. */
	k0 = body_numbers(httpd_fixture_request(f, 0)->body, numbers, 16);
	k1 = body_numbers(httpd_fixture_request(f, 1)->body, numbers, 16);
	ck_assert_uint_ge(k1, k0);
	ck_assert_uint_le(k1, 4);
	for (size_t j = 0; j < k1; j++)
		ck_assert_int_eq(numbers[j], (int)j);
	pthread_mutex_lock(&D.lock);
	for (unsigned i = 0; i < 9; i++) {
		ck_assert_uint_eq(D.calls[i], 1);
		ck_assert_int_eq(D.status[i], i < k1 ? IDMEFV2_DELIVERY_REJECTED : IDMEFV2_DELIVERY_SENT);
	}
	pthread_mutex_unlock(&D.lock);
	c = counters(t);
	ck_assert_uint_eq(c.retried, k0);
	ck_assert_uint_eq(c.failed, k1);
	ck_assert_uint_eq(c.sent, 9 - k1);
	idmefv2_transport_free(t);
	httpd_fixture_free(f);
}
END_TEST

/* ---- authentication --------------------------------------------------------------------------- */

START_TEST(test_basic_auth_from_options)
{
	struct httpd_fixture *f = server(NULL);
	char url[128];
	const char *opts[] = { "auth.username", "alice", "auth.password", "p@ss:word", NULL };
	idmefv2_transport *t;

	reset();
	url_of(url, sizeof(url), "http", f);
	t = sender_new(url, opts);
	send_range(t, 0, 1);
	ck_assert_int_eq(idmefv2_transport_flush(t, WAIT_MS), IDMEFV2_OK);
	ck_assert_uint_eq(httpd_fixture_count(f), 1);
	ck_assert_str_eq(httpd_fixture_request(f, 0)->authorization, "Basic YWxpY2U6cEBzczp3b3Jk");
	idmefv2_transport_free(t);
	httpd_fixture_free(f);
}
END_TEST

START_TEST(test_basic_auth_from_url)
{
	struct httpd_fixture *f = server(NULL);
	char url[128];
	idmefv2_transport *t;

	reset();
	snprintf(url, sizeof(url), "http://bob:s%%3Acret@127.0.0.1:%u/", httpd_fixture_port(f));
	t = sender_new(url, NULL);
	send_range(t, 0, 1);
	ck_assert_int_eq(idmefv2_transport_flush(t, WAIT_MS), IDMEFV2_OK);
	ck_assert_uint_eq(httpd_fixture_count(f), 1);
	ck_assert_str_eq(httpd_fixture_request(f, 0)->authorization, "Basic Ym9iOnM6Y3JldA==");
	ck_assert_str_eq(httpd_fixture_request(f, 0)->path, "/");
	idmefv2_transport_free(t);
	httpd_fixture_free(f);
}
END_TEST

START_TEST(test_bearer_auth)
{
	struct httpd_fixture *f = server(NULL);
	char url[128];
	const char *opts[] = { "auth.bearer_token", "tok.123-abc", NULL };
	idmefv2_transport *t;

	reset();
	url_of(url, sizeof(url), "http", f);
	t = sender_new(url, opts);
	send_range(t, 0, 2);
	ck_assert_int_eq(idmefv2_transport_flush(t, WAIT_MS), IDMEFV2_OK);
	ck_assert_uint_eq(httpd_fixture_count(f), 2);
	for (unsigned i = 0; i < 2; i++) {
		ck_assert_str_eq(httpd_fixture_request(f, i)->authorization, "Bearer tok.123-abc");
		ck_assert_str_eq(httpd_fixture_request(f, i)->content_type, "application/json");
	}
	idmefv2_transport_free(t);
	httpd_fixture_free(f);
}
END_TEST

/* ---- TLS ------------------------------------------------------------------------------------- */

static struct httpd_pki pki;

static void pki_setup(void)
{
	char err[256] = "";

	ck_assert_msg(httpd_pki_make(&pki, err, sizeof(err)) == 0, "PKI: %s", err);
}

static void pki_teardown(void)
{
	httpd_pki_clear(&pki);
}

static struct httpd_fixture *tls_server(bool require_client_cert)
{
	struct httpd_fixture_opts o = {
		.cert_pem = pki.server_cert_pem,
		.key_pem = pki.server_key_pem,
		.trust_pem = require_client_cert ? pki.ca_pem : NULL,
	};

	return server(&o);
}

START_TEST(test_https_with_test_ca)
{
	struct httpd_fixture *f = tls_server(false);
	char url[128];
	const char *opts12[] = { "tls.ca_file", pki.ca_cert, "http.max_in_flight", "1", NULL };
	const char *opts13[] = { "tls.ca_file", pki.ca_cert, "tls.min_version", "1.3", NULL };
	idmefv2_transport *t;

	reset();
	url_of(url, sizeof(url), "https", f);
	t = sender_new(url, opts12);
	send_range(t, 0, 3);
	ck_assert_int_eq(idmefv2_transport_flush(t, WAIT_MS), IDMEFV2_OK);
	idmefv2_transport_free(t);
	t = sender_new(url, opts13);
	send_range(t, 3, 1);
	ck_assert_int_eq(idmefv2_transport_flush(t, WAIT_MS), IDMEFV2_OK);
	idmefv2_transport_free(t);
	assert_in_order(f, 4);
	assert_all_sent_once(4);
	httpd_fixture_free(f);
}
END_TEST

START_TEST(test_https_unknown_ca_not_sent)
{
	struct httpd_fixture *f = tls_server(false);
	char url[128];
	const char *other_ca[] = { "tls.ca_file", pki.other_ca_cert, "retry.max", "1", "retry.backoff_ms", "10", NULL };
	const char *system_ca[] = { "retry.max", "0", NULL };
	const char *no_verify[] = { "tls.verify", "false", NULL };
	idmefv2_transport *t;

	reset();
	url_of(url, sizeof(url), "https", f);
	t = sender_new(url, other_ca);
	send_range(t, 0, 1);
	ck_assert_int_eq(idmefv2_transport_flush(t, WAIT_MS), IDMEFV2_OK);
	ck_assert_uint_eq(counters(t).failed, 1);
	idmefv2_transport_free(t);

	/* tls.verify is on by default: the system's CAs do not know the test CA either. */
	t = sender_new(url, system_ca);
	send_range(t, 1, 1);
	ck_assert_int_eq(idmefv2_transport_flush(t, WAIT_MS), IDMEFV2_OK);
	idmefv2_transport_free(t);

	pthread_mutex_lock(&D.lock);
	for (unsigned i = 0; i < 2; i++) {
		ck_assert_uint_eq(D.calls[i], 1);
		ck_assert_int_eq(D.status[i], IDMEFV2_DELIVERY_FAILED);
	}
	pthread_mutex_unlock(&D.lock);
	ck_assert_uint_eq(httpd_fixture_count(f), 0);

	/* The same server is reachable when verification is turned off. */
	t = sender_new(url, no_verify);
	send_range(t, 2, 1);
	ck_assert_int_eq(idmefv2_transport_flush(t, WAIT_MS), IDMEFV2_OK);
	ck_assert_int_eq(D.status[2], IDMEFV2_DELIVERY_SENT);
	ck_assert(log_contains("tls.verify is off"));
	idmefv2_transport_free(t);
	ck_assert_uint_eq(httpd_fixture_count(f), 1);
	httpd_fixture_free(f);
}
END_TEST

START_TEST(test_mutual_tls)
{
	struct httpd_fixture *f = tls_server(true);
	char url[128];
	const char *with_cert[] = { "tls.ca_file", pki.ca_cert, "tls.cert", pki.client_cert, "tls.key",
	                            pki.client_key, "tls.key_password", pki.client_key_password, NULL };
	const char *without_cert[] = { "tls.ca_file", pki.ca_cert, NULL };
	idmefv2_transport *t;

	reset();
	url_of(url, sizeof(url), "https", f);
	t = sender_new(url, with_cert);
	send_range(t, 0, 2);
	ck_assert_int_eq(idmefv2_transport_flush(t, WAIT_MS), IDMEFV2_OK);
	idmefv2_transport_free(t);
	ck_assert_uint_eq(httpd_fixture_count(f), 2);
	ck_assert(httpd_fixture_request(f, 0)->client_cert_ok);
	ck_assert_int_eq(httpd_fixture_request(f, 0)->status, 204);
	assert_all_sent_once(2);

	t = sender_new(url, without_cert);
	send_range(t, 2, 1);
	ck_assert_int_eq(idmefv2_transport_flush(t, WAIT_MS), IDMEFV2_OK);
	idmefv2_transport_free(t);
	ck_assert_int_eq(D.status[2], IDMEFV2_DELIVERY_REJECTED);
	ck_assert_ptr_nonnull(strstr(D.detail[2], "403"));
	ck_assert_uint_eq(httpd_fixture_count(f), 3);
	ck_assert(!httpd_fixture_request(f, 2)->client_cert_ok);
	httpd_fixture_free(f);
}
END_TEST

#ifdef IDMEFV2_TEST_NGHTTPD
/* libmicrohttpd speaks HTTP/1.1 only: nghttpd (Debian nghttp2-server) checks HTTP/2. */

static unsigned free_port(void)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(addr);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
	close(fd);
	return ntohs(addr.sin_port);
}

static bool port_open(unsigned port)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
	                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

static size_t count_substr(const char *text, const char *needle)
{
	size_t n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* Distinct nghttpd session ids ("[id=N]" line prefixes) that carried a POST. */
static unsigned post_sessions(char *text)
{
	unsigned ids[64], n = 0;

	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		unsigned id;
		bool seen = false;
		if (!strstr(line, ":method: POST") || sscanf(line, "[id=%u]", &id) != 1)
			continue;
		for (unsigned i = 0; i < n; i++)
			seen = seen || ids[i] == id;
		if (!seen && n < 64)
			ids[n++] = id;
	}
	return n;
}

START_TEST(test_http2_multiplexed_over_tls)
{
	char *dir = testlib_tmpdir();
	char url[128], port_text[16], log_path[512], docs[512], text[1 << 16];
	const char *opts[] = { "tls.ca_file", pki.ca_cert, NULL };
	unsigned port = free_port();
	idmefv2_transport *t;
	pid_t pid;
	int status;
	FILE *fp;
	size_t len;

	reset();
	snprintf(log_path, sizeof(log_path), "%s/nghttpd.log", dir);
	snprintf(docs, sizeof(docs), "%s/docs", dir);
	ck_assert_int_eq(mkdir(docs, 0700), 0);
	snprintf(port_text, sizeof(port_text), "%u", port);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		execl(IDMEFV2_TEST_NGHTTPD, "nghttpd", "-v", "-a", "127.0.0.1", "--echo-upload", "-d", docs,
		      port_text, pki.server_key, pki.server_cert, (char *)NULL);
		_exit(127);
	}
	ck_assert(TESTLIB_WAIT_FOR(port_open(port), WAIT_MS));

	snprintf(url, sizeof(url), "https://127.0.0.1:%u/idmefv2", port);
	t = sender_new(url, opts);
	send_range(t, 0, 20);
	ck_assert_int_eq(idmefv2_transport_flush(t, WAIT_MS), IDMEFV2_OK);
	idmefv2_transport_free(t);
	assert_all_sent_once(20);
	kill(pid, SIGTERM);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);

	fp = fopen(log_path, "r");
	ck_assert_ptr_nonnull(fp);
	len = fread(text, 1, sizeof(text) - 1, fp);
	fclose(fp);
	text[len] = '\0';
	/* 20 POST streams with the Content-Type, all in one session (connection). */
	ck_assert_uint_eq(count_substr(text, ":method: POST"), 20);
	ck_assert_uint_eq(count_substr(text, "content-type: application/json"), 20);
	ck_assert_uint_eq(post_sessions(text), 1);
	testlib_rmtree(dir);
	free(dir);
}
END_TEST
#endif

START_TEST(test_start_checks_tls_files)
{
	char err[256] = "";
	idmefv2_transport *t = NULL;

	ck_assert_int_eq(idmefv2_transport_new("https://127.0.0.1:1/", IDMEFV2_TRANSPORT_SENDER, &t, err,
	                                       sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_transport_set(t, "tls.ca_file", "/nonexistent/ca.pem", err, sizeof(err)),
	                 IDMEFV2_OK);
	ck_assert_int_ne(idmefv2_transport_start(t, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_ptr_nonnull(strstr(err, "tls.ca_file"));
	idmefv2_transport_free(t);
}
END_TEST

static Suite *http_send_suite(void)
{
	Suite *s = suite_create("http-send");
	TCase *tc = tcase_create("plain");
	TCase *tls = tcase_create("tls");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_end_to_end_in_order);
	tcase_add_test(tc, test_end_to_end_concurrent_messages);
	tcase_add_test(tc, test_retry_on_5xx_and_408);
	tcase_add_test(tc, test_500_then_204_delivered_once);
	tcase_add_test(tc, test_400_rejected_and_dead_lettered);
	tcase_add_test(tc, test_429_retry_after_seconds);
	tcase_add_test(tc, test_503_retry_after_date);
	tcase_add_test(tc, test_connection_refused_gives_up_after_retry_max);
	tcase_add_test(tc, test_request_timeout);
	tcase_add_test(tc, test_down_then_up_spool_replays_in_order);
	tcase_add_test(tc, test_down_then_up_concurrent_nothing_lost);
	tcase_add_test(tc, test_recovery_sends_one_probe_at_a_time);
	tcase_add_test(tc, test_killed_sender_spool_replayed_after_restart);
	tcase_add_test(tc, test_stop_returns_in_flight_items);
	tcase_add_test(tc, test_stop_spools_in_flight_items);
	tcase_add_test(tc, test_batch_ndjson);
	tcase_add_test(tc, test_batch_outcome_is_the_batch_s);
	tcase_add_test(tc, test_basic_auth_from_options);
	tcase_add_test(tc, test_basic_auth_from_url);
	tcase_add_test(tc, test_bearer_auth);
	tcase_add_test(tc, test_start_checks_tls_files);
	suite_add_tcase(s, tc);

	tcase_set_timeout(tls, 60);
	/* Made once in the runner process, so it is removed even when a test fails. */
	tcase_add_unchecked_fixture(tls, pki_setup, pki_teardown);
	tcase_add_test(tls, test_https_with_test_ca);
	tcase_add_test(tls, test_https_unknown_ca_not_sent);
	tcase_add_test(tls, test_mutual_tls);
#ifdef IDMEFV2_TEST_NGHTTPD
	tcase_add_test(tls, test_http2_multiplexed_over_tls);
#endif
	suite_add_tcase(s, tls);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(http_send_suite());
	int failed;

	/* A server that closes a connection must not kill the test with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
