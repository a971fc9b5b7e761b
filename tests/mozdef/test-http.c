/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP delivery against an in-process libmicrohttpd server on 127.0.0.1:
 * what goes on the wire, and every outcome, synchronous and asynchronous. */
#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <json-c/json.h>

#include <mozdef/mozdef.h>

#include "mdt-server.h"

static struct mdt_server *srv;

static void setup(void)
{
	srv = mdt_server_start();
	ck_assert_ptr_nonnull(srv);
}

static void teardown(void)
{
	mdt_server_stop(srv);
	srv = NULL;
}

static mozdef_client *client_for(const char *url)
{
	mozdef_client *c = NULL;
	char err[256] = "";

	ck_assert_int_eq(mozdef_client_new(url, &c, err, sizeof(err)), MOZDEF_OK);
	/* Quick retries keep the suite fast; the count is what is tested. */
	ck_assert_int_eq(mozdef_client_set(c, "http.retry_backoff_ms", "1", err, sizeof(err)), MOZDEF_OK);
	return c;
}

static void set(mozdef_client *c, const char *key, const char *value)
{
	char err[256] = "";

	ck_assert_msg(mozdef_client_set(c, key, value, err, sizeof(err)) == MOZDEF_OK, "%s", err);
}

static mozdef_event *numbered_event(unsigned n)
{
	mozdef_event *ev = mozdef_event_new(MOZDEF_EVENT_GENERIC);
	char summary[64];

	snprintf(summary, sizeof(summary), "event %u", n);
	mozdef_event_set_summary(ev, summary);
	mozdef_event_set_source(ev, "libmozdef-test");
	mozdef_event_add_tag(ev, "test");
	return ev;
}

/* The N of "event N" in a JSON body line, or -1. */
static long event_number(const char *json, size_t len)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o = json_tokener_parse_ex(tok, json, (int)len);
	struct json_object *v;
	long n = -1;

	if (o && json_object_object_get_ex(o, "summary", &v))
		sscanf(json_object_get_string(v), "event %ld", &n);
	json_object_put(o);
	json_tokener_free(tok);
	return n;
}

START_TEST(test_sync_200_wire)
{
	mozdef_client *c = client_for(mdt_server_url(srv, "/events"));
	mozdef_event *ev = numbered_event(7);
	char *expected = NULL;
	mozdef_result r;
	const struct mdt_request *req;

	mozdef_event_set_timestamp(ev, "2026-01-02T03:04:05.123456+00:00");
	mozdef_event_set_detail_string(ev, "sourceipaddress", "192.0.2.1", NULL, 0);
	ck_assert_int_eq(mozdef_event_serialize(ev, &expected, NULL, NULL, 0), MOZDEF_OK);

	ck_assert_int_eq(mozdef_client_send(c, ev, &r), MOZDEF_OK);
	ck_assert_int_eq(r.error, MOZDEF_OK);
	ck_assert_int_eq(r.http_status, 200);
	ck_assert_uint_eq(r.attempts, 1);
	ck_assert_str_eq(r.message, "");
	ck_assert_uint_eq(mdt_server_count(srv), 1);
	req = mdt_server_request(srv, 0);
	ck_assert_str_eq(req->method, "POST");
	ck_assert_str_eq(req->url, "/events");
	ck_assert_str_eq(req->content_type, "application/json");
	ck_assert_str_eq(req->body, expected);
	ck_assert_uint_eq(req->len, strlen(expected));
	free(expected);
	mozdef_event_free(ev);
	mozdef_client_free(c);
}
END_TEST

START_TEST(test_sync_4xx_not_retried)
{
	static const int statuses[] = { 400, 404, 405, 413 };
	mozdef_client *c = client_for(mdt_server_url(srv, "/events"));
	mozdef_event *ev = numbered_event(1);
	mozdef_result r;
	char msg[64];

	for (size_t i = 0; i < 4; i++) {
		size_t before = mdt_server_count(srv);
		mdt_server_set_status(srv, statuses[i]);
		ck_assert_int_eq(mozdef_client_send(c, ev, &r), MOZDEF_ERR_HTTP);
		ck_assert_int_eq(r.http_status, statuses[i]);
		ck_assert_uint_eq(r.attempts, 1);
		snprintf(msg, sizeof(msg), "http: HTTP status %d", statuses[i]);
		ck_assert_str_eq(r.message, msg);
		ck_assert_uint_eq(mdt_server_count(srv), before + 1);
	}
	mozdef_event_free(ev);
	mozdef_client_free(c);
}
END_TEST

START_TEST(test_sync_5xx_retried)
{
	static const int flaky[] = { 503, 502 };
	mozdef_client *c = client_for(mdt_server_url(srv, "/events"));
	mozdef_event *ev = numbered_event(1);
	mozdef_result r;

	/* Two failures, then success: delivered on the third attempt. */
	mdt_server_script(srv, flaky, 2);
	ck_assert_int_eq(mozdef_client_send(c, ev, &r), MOZDEF_OK);
	ck_assert_int_eq(r.http_status, 200);
	ck_assert_uint_eq(r.attempts, 3);
	ck_assert_uint_eq(mdt_server_count(srv), 3);

	/* Always 500: retries run out and the last status is reported. */
	set(c, "http.retries", "2");
	mdt_server_set_status(srv, 500);
	ck_assert_int_eq(mozdef_client_send(c, ev, &r), MOZDEF_ERR_HTTP);
	ck_assert_int_eq(r.http_status, 500);
	ck_assert_uint_eq(r.attempts, 3);
	ck_assert_str_eq(r.message, "http: HTTP status 500 (after 3 attempts)");
	ck_assert_uint_eq(mdt_server_count(srv), 6);

	set(c, "http.retries", "0");
	ck_assert_int_eq(mozdef_client_send(c, ev, &r), MOZDEF_ERR_HTTP);
	ck_assert_uint_eq(r.attempts, 1);
	mozdef_event_free(ev);
	mozdef_client_free(c);
}
END_TEST

START_TEST(test_sync_connection_refused)
{
	char url[64];
	mozdef_client *c;
	mozdef_event *ev = numbered_event(1);
	mozdef_result r;

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/events", mdt_free_port());
	c = client_for(url);
	set(c, "http.retries", "1");
	ck_assert_int_eq(mozdef_client_send(c, ev, &r), MOZDEF_ERR_TRANSPORT);
	ck_assert_int_eq(r.http_status, 0);
	ck_assert_uint_eq(r.attempts, 2);
	ck_assert_msg(strncmp(r.message, "http: ", 6) == 0 && strstr(r.message, "(after 2 attempts)"), "%s",
	              r.message);
	mozdef_event_free(ev);
	mozdef_client_free(c);
}
END_TEST

/* Outcomes of asynchronous sends, by opaque index. */
struct outcomes {
	pthread_mutex_t lock;
	size_t n;
	unsigned *calls;
	mozdef_result *last;
	size_t total;
	unsigned bad_opaque;
};

static struct outcomes *outcomes_new(size_t n)
{
	struct outcomes *o = calloc(1, sizeof(*o));

	pthread_mutex_init(&o->lock, NULL);
	o->n = n;
	o->calls = calloc(n, sizeof(*o->calls));
	o->last = calloc(n, sizeof(*o->last));
	return o;
}

static void outcomes_free(struct outcomes *o)
{
	pthread_mutex_destroy(&o->lock);
	free(o->calls);
	free(o->last);
	free(o);
}

static void outcomes_cb(const mozdef_result *result, void *opaque, void *user)
{
	struct outcomes *o = user;
	uintptr_t i = (uintptr_t)opaque;

	pthread_mutex_lock(&o->lock);
	o->total++;
	if (i < o->n) {
		o->calls[i]++;
		o->last[i] = *result;
	} else {
		o->bad_opaque++;
	}
	pthread_mutex_unlock(&o->lock);
}

static void async_one(mozdef_client *c, struct outcomes *o, unsigned n)
{
	mozdef_event *ev = numbered_event(n);
	char err[256] = "";

	ck_assert_msg(mozdef_client_send_async(c, ev, (void *)(uintptr_t)n, err, sizeof(err)) == MOZDEF_OK, "%s", err);
	mozdef_event_free(ev);
	(void)o;
}

START_TEST(test_async_outcomes)
{
	static const int script[] = { 503 };
	struct outcomes *o = outcomes_new(4);
	mozdef_client *c[4];
	char refused[64];

	snprintf(refused, sizeof(refused), "http://127.0.0.1:%u/events", mdt_free_port());
	c[0] = client_for(mdt_server_url(srv, "/events"));
	c[1] = client_for(mdt_server_url(srv, "/missing"));
	c[2] = client_for(mdt_server_url(srv, "/events"));
	c[3] = client_for(refused);
	set(c[2], "http.retries", "1");
	set(c[3], "http.retries", "2");
	for (unsigned i = 0; i < 4; i++)
		mozdef_client_set_callback(c[i], outcomes_cb, o);

	/* 0: 200. */
	async_one(c[0], o, 0);
	ck_assert_int_eq(mozdef_client_flush(c[0], 10000), MOZDEF_OK);
	/* 1: 404, not retried. */
	mdt_server_set_status(srv, 404);
	async_one(c[1], o, 1);
	ck_assert_int_eq(mozdef_client_flush(c[1], 10000), MOZDEF_OK);
	/* 2: 503 then 500: retried once, then reported. */
	mdt_server_set_status(srv, 500);
	mdt_server_script(srv, script, 1);
	async_one(c[2], o, 2);
	ck_assert_int_eq(mozdef_client_flush(c[2], 10000), MOZDEF_OK);
	/* 3: connection refused, three attempts. */
	async_one(c[3], o, 3);
	ck_assert_int_eq(mozdef_client_flush(c[3], 10000), MOZDEF_OK);

	for (unsigned i = 0; i < 4; i++)
		ck_assert_uint_eq(o->calls[i], 1);
	ck_assert_int_eq(o->last[0].error, MOZDEF_OK);
	ck_assert_int_eq(o->last[0].http_status, 200);
	ck_assert_uint_eq(o->last[0].attempts, 1);
	ck_assert_int_eq(o->last[1].error, MOZDEF_ERR_HTTP);
	ck_assert_int_eq(o->last[1].http_status, 404);
	ck_assert_uint_eq(o->last[1].attempts, 1);
	ck_assert_str_eq(o->last[1].message, "http: HTTP status 404");
	ck_assert_int_eq(o->last[2].error, MOZDEF_ERR_HTTP);
	ck_assert_int_eq(o->last[2].http_status, 500);
	ck_assert_uint_eq(o->last[2].attempts, 2);
	ck_assert_str_eq(o->last[2].message, "http: HTTP status 500 (after 2 attempts)");
	ck_assert_int_eq(o->last[3].error, MOZDEF_ERR_TRANSPORT);
	ck_assert_int_eq(o->last[3].http_status, 0);
	ck_assert_uint_eq(o->last[3].attempts, 3);
	ck_assert_uint_eq(mdt_server_count(srv), 4);
	ck_assert_str_eq(mdt_server_request(srv, 0)->content_type, "application/json");
	ck_assert_str_eq(mdt_server_request(srv, 1)->url, "/missing");
	for (unsigned i = 0; i < 4; i++)
		mozdef_client_free(c[i]);
	ck_assert_uint_eq(o->total, 4);
	ck_assert_uint_eq(o->bad_opaque, 0);
	outcomes_free(o);
}
END_TEST

#define BURST 10000

START_TEST(test_async_burst)
{
	struct outcomes *o = outcomes_new(BURST);
	mozdef_client *c = client_for(mdt_server_url(srv, "/events"));
	unsigned char *seen = calloc(BURST, 1);
	size_t n;

	set(c, "async.queue_size", "500");
	set(c, "async.max_connections", "4");
	mozdef_client_set_callback(c, outcomes_cb, o);
	for (unsigned i = 0; i < BURST; i++)
		async_one(c, o, i);
	ck_assert_int_eq(mozdef_client_flush(c, 50000), MOZDEF_OK);
	ck_assert_uint_eq(o->total, BURST);
	for (unsigned i = 0; i < BURST; i++) {
		ck_assert_uint_eq(o->calls[i], 1);
		ck_assert_int_eq(o->last[i].error, MOZDEF_OK);
		ck_assert_int_eq(o->last[i].http_status, 200);
	}
	n = mdt_server_count(srv);
	ck_assert_uint_eq(n, BURST);
	for (size_t i = 0; i < n; i++) {
		const struct mdt_request *req = mdt_server_request(srv, i);
		long k = event_number(req->body, req->len);
		ck_assert(k >= 0 && k < BURST);
		ck_assert_uint_eq(seen[k], 0);
		seen[k] = 1;
	}
	mozdef_client_free(c);
	ck_assert_uint_eq(o->total, BURST);
	free(seen);
	outcomes_free(o);
}
END_TEST

START_TEST(test_async_free_flushes)
{
	struct outcomes *o = outcomes_new(100);
	mozdef_client *c = client_for(mdt_server_url(srv, "/events"));

	mozdef_client_set_callback(c, outcomes_cb, o);
	for (unsigned i = 0; i < 100; i++)
		async_one(c, o, i);
	mozdef_client_free(c);
	ck_assert_uint_eq(o->total, 100);
	ck_assert_uint_eq(mdt_server_count(srv), 100);
	outcomes_free(o);
}
END_TEST

START_TEST(test_async_rejections)
{
	struct outcomes *o = outcomes_new(2);
	char refused[64];
	mozdef_client *c;
	mozdef_event *ev = mozdef_event_new(MOZDEF_EVENT_GENERIC);
	char err[256] = "";

	snprintf(refused, sizeof(refused), "http://127.0.0.1:%u/events", mdt_free_port());
	c = client_for(refused);
	mozdef_client_set_callback(c, outcomes_cb, o);
	/* Invalid: refused at once, the callback never hears of it. */
	ck_assert_int_eq(mozdef_client_send_async(c, ev, (void *)(uintptr_t)0, err, sizeof(err)), MOZDEF_ERR_INVALID);
	ck_assert_str_eq(err, "summary: missing");
	/* A full queue without blocking: the first event waits a second for its retry. */
	set(c, "async.queue_size", "1");
	set(c, "async.block", "false");
	set(c, "http.retries", "1");
	set(c, "http.retry_backoff_ms", "1000");
	async_one(c, o, 0);
	mozdef_event_set_summary(ev, "second");
	ck_assert_int_eq(mozdef_client_send_async(c, ev, (void *)(uintptr_t)1, err, sizeof(err)), MOZDEF_ERR_FULL);
	ck_assert_int_eq(mozdef_client_flush(c, 0), MOZDEF_ERR_TIMEOUT);
	ck_assert_int_eq(mozdef_client_flush(c, 10000), MOZDEF_OK);
	ck_assert_uint_eq(o->calls[0], 1);
	ck_assert_uint_eq(o->calls[1], 0);
	ck_assert_int_eq(o->last[0].error, MOZDEF_ERR_TRANSPORT);
	ck_assert_uint_eq(o->last[0].attempts, 2);
	mozdef_client_free(c);
	ck_assert_uint_eq(o->total, 1);
	mozdef_event_free(ev);
	outcomes_free(o);
}
END_TEST

START_TEST(test_bulk_sync)
{
	mozdef_client *c = client_for(mdt_server_url(srv, "/events"));
	mozdef_event *evs[3] = { numbered_event(0), numbered_event(1), numbered_event(2) };
	const struct mdt_request *req;
	mozdef_result r;
	const char *line;

	ck_assert_int_eq(mozdef_client_send_bulk(c, (const mozdef_event *const *)evs, 3, &r), MOZDEF_OK);
	ck_assert_int_eq(r.http_status, 200);
	ck_assert_uint_eq(mdt_server_count(srv), 1);
	req = mdt_server_request(srv, 0);
	ck_assert_str_eq(req->method, "POST");
	ck_assert_str_eq(req->url, "/_bulk");
	ck_assert_str_eq(req->content_type, "application/x-ndjson");
	line = req->body;
	for (long i = 0; i < 3; i++) {
		const char *nl = strchr(line, '\n');
		ck_assert_ptr_nonnull(nl);
		ck_assert_int_eq(event_number(line, (size_t)(nl - line)), i);
		line = nl + 1;
	}
	ck_assert_str_eq(line, "");

	/* One event alone goes to the events route: a lone JSON object posted to
	 * /_bulk would be read as a list of its keys. */
	ck_assert_int_eq(mozdef_client_send_bulk(c, (const mozdef_event *const *)evs, 1, &r), MOZDEF_OK);
	req = mdt_server_request(srv, 1);
	ck_assert_str_eq(req->url, "/events");
	ck_assert_str_eq(req->content_type, "application/json");
	ck_assert_ptr_null(strchr(req->body, '\n'));

	/* An explicit bulk URL, and a 5xx answer reported. */
	set(c, "bulk.url", mdt_server_url(srv, "/custom/_bulk"));
	set(c, "http.retries", "0");
	mdt_server_set_status(srv, 500);
	ck_assert_int_eq(mozdef_client_send_bulk(c, (const mozdef_event *const *)evs, 2, &r), MOZDEF_ERR_HTTP);
	ck_assert_int_eq(r.http_status, 500);
	ck_assert_str_eq(r.message, "bulk: HTTP status 500");
	ck_assert_str_eq(mdt_server_request(srv, 2)->url, "/custom/_bulk");

	/* One invalid event: nothing is sent, and its index is named. */
	mozdef_event_set_summary(evs[1], NULL);
	ck_assert_int_eq(mozdef_client_send_bulk(c, (const mozdef_event *const *)evs, 3, &r), MOZDEF_ERR_INVALID);
	ck_assert_str_eq(r.message, "event 1: summary: missing");
	ck_assert_uint_eq(mdt_server_count(srv), 3);
	for (int i = 0; i < 3; i++)
		mozdef_event_free(evs[i]);
	mozdef_client_free(c);
}
END_TEST

START_TEST(test_bulk_async)
{
	struct outcomes *o = outcomes_new(1000);
	mozdef_client *c = client_for(mdt_server_url(srv, "/events"));
	unsigned char seen[1000] = { 0 };
	size_t lines = 0;

	set(c, "bulk.enabled", "true");
	set(c, "bulk.max_events", "100");
	mozdef_client_set_callback(c, outcomes_cb, o);
	for (unsigned i = 0; i < 1000; i++)
		async_one(c, o, i);
	ck_assert_int_eq(mozdef_client_flush(c, 30000), MOZDEF_OK);
	ck_assert_uint_eq(o->total, 1000);
	for (unsigned i = 0; i < 1000; i++) {
		ck_assert_uint_eq(o->calls[i], 1);
		ck_assert_int_eq(o->last[i].error, MOZDEF_OK);
	}
	/* Fewer requests than events, no batch over 100, every event exactly once. */
	ck_assert_uint_lt(mdt_server_count(srv), 1000);
	for (size_t i = 0; i < mdt_server_count(srv); i++) {
		const struct mdt_request *req = mdt_server_request(srv, i);
		const char *line = req->body;
		size_t in_req = 0;

		if (strcmp(req->url, "/events") == 0) {
			long k = event_number(req->body, req->len);
			ck_assert(k >= 0 && k < 1000 && !seen[k]);
			seen[k] = 1;
			lines++;
			continue;
		}
		ck_assert_str_eq(req->url, "/_bulk");
		ck_assert_str_eq(req->content_type, "application/x-ndjson");
		while (*line) {
			const char *nl = strchr(line, '\n');
			long k;
			ck_assert_ptr_nonnull(nl);
			k = event_number(line, (size_t)(nl - line));
			ck_assert(k >= 0 && k < 1000 && !seen[k]);
			seen[k] = 1;
			lines++;
			in_req++;
			line = nl + 1;
		}
		ck_assert_uint_le(in_req, 100);
		ck_assert_uint_ge(in_req, 2);
	}
	ck_assert_uint_eq(lines, 1000);

	/* A failed batch: each of its events hears of it. */
	mdt_server_set_status(srv, 400);
	for (unsigned i = 0; i < 3; i++)
		async_one(c, o, i);
	ck_assert_int_eq(mozdef_client_flush(c, 10000), MOZDEF_OK);
	for (unsigned i = 0; i < 3; i++) {
		ck_assert_uint_eq(o->calls[i], 2);
		ck_assert_int_eq(o->last[i].error, MOZDEF_ERR_HTTP);
		ck_assert_int_eq(o->last[i].http_status, 400);
	}
	mozdef_client_free(c);
	outcomes_free(o);
}
END_TEST

START_TEST(test_options)
{
	mozdef_client *c = NULL;
	char err[256] = "";
	size_t n = 0;
	const mozdef_option_info *list = mozdef_option_list(&n);
	bool found = false;
	mozdef_event *ev = numbered_event(1);
	mozdef_result r;

	ck_assert_uint_gt(n, 20);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(list[i].name, "tls.verify") == 0) {
			ck_assert_str_eq(list[i].default_value, "true");
			found = true;
		}
	}
	ck_assert(found);
	ck_assert_int_eq(mozdef_client_new("ftp://127.0.0.1/", &c, err, sizeof(err)), MOZDEF_ERR_OPTION_VALUE);
	ck_assert_str_eq(err, "url: \"ftp://127.0.0.1/\" is not an http:// or https:// URL");
	ck_assert_ptr_null(c);
	ck_assert_int_eq(mozdef_client_new(NULL, &c, err, sizeof(err)), MOZDEF_OK);
	ck_assert_int_eq(mozdef_client_set(c, "http.nope", "1", err, sizeof(err)), MOZDEF_ERR_UNKNOWN_OPTION);
	ck_assert_str_eq(err, "http.nope: unknown option");
	ck_assert_int_eq(mozdef_client_set(c, "http.retries", "-1", err, sizeof(err)), MOZDEF_ERR_OPTION_VALUE);
	ck_assert_str_eq(err, "http.retries: \"-1\" is not an integer in 0..100");
	ck_assert_int_eq(mozdef_client_set(c, "tls.verify", "maybe", err, sizeof(err)), MOZDEF_ERR_OPTION_VALUE);
	ck_assert_str_eq(err, "tls.verify: \"maybe\" is not true or false");
	ck_assert_int_eq(mozdef_client_set(c, "syslog.facility", "local9", err, sizeof(err)), MOZDEF_ERR_OPTION_VALUE);
	ck_assert_int_eq(mozdef_client_set(c, "syslog.protocol", "sctp", err, sizeof(err)), MOZDEF_ERR_OPTION_VALUE);
	ck_assert_int_eq(mozdef_client_set(c, "syslog.format", "5425", err, sizeof(err)), MOZDEF_ERR_OPTION_VALUE);
	/* No URL, no SQS, no syslog-only: nowhere to send. */
	ck_assert_int_eq(mozdef_client_send(c, ev, &r), MOZDEF_ERR_STATE);
	ck_assert_uint_eq(r.attempts, 0);
	mozdef_event_free(ev);
	mozdef_client_free(c);
}
END_TEST

/* A self-signed certificate for IP 127.0.0.1, made now. */
static void make_cert(char **ret_key, char **ret_cert)
{
	gnutls_x509_privkey_t key;
	gnutls_x509_crt_t crt;
	gnutls_datum_t k = { NULL, 0 }, c = { NULL, 0 };
	unsigned char serial[] = { 1, 2, 3, 4 };
	struct in_addr ip;
	time_t now = time(NULL);

	ck_assert_int_eq(gnutls_x509_privkey_init(&key), 0);
	ck_assert_int_eq(gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
	                                              GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0),
	                 0);
	ck_assert_int_eq(gnutls_x509_crt_init(&crt), 0);
	gnutls_x509_crt_set_version(crt, 3);
	gnutls_x509_crt_set_serial(crt, serial, sizeof(serial));
	gnutls_x509_crt_set_activation_time(crt, now - 3600);
	gnutls_x509_crt_set_expiration_time(crt, now + 86400);
	gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, "mozdef test", 11);
	inet_pton(AF_INET, "127.0.0.1", &ip);
	ck_assert_int_eq(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, &ip, 4, GNUTLS_FSAN_SET), 0);
	gnutls_x509_crt_set_basic_constraints(crt, 1, -1);
	gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE | GNUTLS_KEY_KEY_CERT_SIGN);
	ck_assert_int_eq(gnutls_x509_crt_set_key(crt, key), 0);
	ck_assert_int_eq(gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0), 0);
	ck_assert_int_eq(gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &k), 0);
	ck_assert_int_eq(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &c), 0);
	*ret_key = strndup((char *)k.data, k.size);
	*ret_cert = strndup((char *)c.data, c.size);
	gnutls_free(k.data);
	gnutls_free(c.data);
	gnutls_x509_crt_deinit(crt);
	gnutls_x509_privkey_deinit(key);
}

/* Verification is on unless turned off; a CA file makes the certificate trusted. */
START_TEST(test_tls_verification)
{
	char *key = NULL, *cert = NULL;
	char dir[] = "/tmp/mozdef-tls-XXXXXX", path[64], url[128];
	struct mdt_server *tls;
	mozdef_client *c;
	mozdef_event *ev = numbered_event(1);
	mozdef_result r;
	FILE *f;

	make_cert(&key, &cert);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ca.pem", dir);
	f = fopen(path, "w");
	fputs(cert, f);
	fclose(f);
	tls = mdt_server_start_tls(key, cert);
	ck_assert_ptr_nonnull(tls);
	snprintf(url, sizeof(url), "%s", mdt_server_url(tls, "/events"));

	c = client_for(url);
	ck_assert_int_eq(mozdef_client_send(c, ev, &r), MOZDEF_ERR_TRANSPORT);
	ck_assert_uint_eq(r.attempts, 1); /* a certificate failure is not retried */
	ck_assert_int_eq(r.http_status, 0);
	ck_assert_uint_eq(mdt_server_count(tls), 0);
	set(c, "tls.ca_path", path);
	ck_assert_int_eq(mozdef_client_send(c, ev, &r), MOZDEF_OK);
	ck_assert_int_eq(r.http_status, 200);
	ck_assert_uint_eq(mdt_server_count(tls), 1);
	ck_assert_str_eq(mdt_server_request(tls, 0)->content_type, "application/json");
	mozdef_client_free(c);

	/* Trusted, but not for this name. */
	snprintf(url, sizeof(url), "https://localhost:%u/events", mdt_server_port(tls));
	c = client_for(url);
	set(c, "tls.ca_path", path);
	ck_assert_int_eq(mozdef_client_send(c, ev, &r), MOZDEF_ERR_TRANSPORT);
	ck_assert_uint_eq(mdt_server_count(tls), 1);
	/* Only the explicit option turns verification off. */
	set(c, "tls.verify", "false");
	ck_assert_int_eq(mozdef_client_send(c, ev, &r), MOZDEF_OK);
	ck_assert_uint_eq(mdt_server_count(tls), 2);
	mozdef_client_free(c);

	mdt_server_stop(tls);
	unlink(path);
	rmdir(dir);
	free(key);
	free(cert);
	mozdef_event_free(ev);
}
END_TEST

static Suite *http_suite(void)
{
	Suite *s = suite_create("mozdef-http");
	TCase *tc = tcase_create("http");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_sync_200_wire);
	tcase_add_test(tc, test_sync_4xx_not_retried);
	tcase_add_test(tc, test_sync_5xx_retried);
	tcase_add_test(tc, test_sync_connection_refused);
	tcase_add_test(tc, test_async_outcomes);
	tcase_add_test(tc, test_async_burst);
	tcase_add_test(tc, test_async_free_flushes);
	tcase_add_test(tc, test_async_rejections);
	tcase_add_test(tc, test_bulk_sync);
	tcase_add_test(tc, test_bulk_async);
	tcase_add_test(tc, test_options);
	tcase_add_test(tc, test_tls_verification);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(http_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
