/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP listener's behaviour under load and misuse, over raw sockets on
 * 127.0.0.1: gzip bodies (inflated, bombs refused with 413, other codings
 * 415), a path with or without its trailing slash, a full queue that slows a
 * client instead of refusing it, a request deadline that closes a connection
 * trickling its headers, and the received text each message carries.
 */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-c/json.h>
#include <zlib.h>

#include <idmefv2/queue.h>
#include <idmefv2/transport.h>

#include "testlib.h"

#define END_OPTS NULL
#define REPLY_TIMEOUT_MS 10000

struct fx {
	idmefv2_transport *t;
	idmefv2_queue *q;
	unsigned port;
};

static void fx_start(struct fx *f, const char *url, size_t capacity, const char *const *opts)
{
	char errstr[512] = "";
	idmefv2_error err;

	memset(f, 0, sizeof(*f));
	err = idmefv2_transport_new(url, IDMEFV2_TRANSPORT_LISTENER, &f->t, errstr, sizeof(errstr));
	ck_assert_msg(err == IDMEFV2_OK, "new %s: %s", url, errstr);
	for (; opts && *opts; opts += 2) {
		err = idmefv2_transport_set(f->t, opts[0], opts[1], errstr, sizeof(errstr));
		ck_assert_msg(err == IDMEFV2_OK, "set %s=%s: %s", opts[0], opts[1], errstr);
	}
	f->q = idmefv2_queue_new(capacity);
	ck_assert_ptr_nonnull(f->q);
	idmefv2_transport_set_queue(f->t, f->q);
	err = idmefv2_transport_start(f->t, errstr, sizeof(errstr));
	ck_assert_msg(err == IDMEFV2_OK, "start %s: %s", url, errstr);
	f->port = idmefv2_transport_get_port(f->t);
	ck_assert_uint_gt(f->port, 0);
}

static void fx_stop(struct fx *f)
{
	idmefv2_transport_free(f->t);
	idmefv2_queue_unref(f->q);
	memset(f, 0, sizeof(*f));
}

static int connect_to(unsigned port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void send_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		ck_assert_int_gt(n, 0);
		p += n;
		len -= (size_t)n;
	}
}

/* What came back: the status and the whole response text. */
struct reply {
	unsigned status;
	char text[8192];
};

/* Read until the server closes (requests say Connection: close), within REPLY_TIMEOUT_MS. */
static void read_reply(int fd, struct reply *r)
{
	size_t len = 0;
	int64_t deadline = testlib_now_ms() + REPLY_TIMEOUT_MS;

	memset(r, 0, sizeof(*r));
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - testlib_now_ms();
		ssize_t n;

		ck_assert_msg(left > 0, "no complete answer within %d ms: %s", REPLY_TIMEOUT_MS, r->text);
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		n = recv(fd, r->text + len, sizeof(r->text) - 1 - len, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == sizeof(r->text) - 1)
			break;
	}
	r->text[len] = '\0';
	if (sscanf(r->text, "HTTP/1.1 %u", &r->status) != 1)
		r->status = 0;
}

/* POST @body to @path with @extra header lines ("Name: value\r\n"...), Connection: close. */
static void post(unsigned port, const char *path, const char *type, const char *extra, const void *body,
                 size_t len, struct reply *r)
{
	char head[1024];
	int fd = connect_to(port);
	int n = snprintf(head, sizeof(head),
	                 "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: %s\r\n"
	                 "%sContent-Length: %zu\r\n\r\n", path, type, extra ? extra : "", len);

	ck_assert(n > 0 && (size_t)n < sizeof(head));
	send_all(fd, head, (size_t)n);
	send_all(fd, body, len);
	read_reply(fd, r);
	close(fd);
}

/* @len bytes of @data as one gzip stream, in a new buffer. */
static unsigned char *gzip_of(const void *data, size_t len, size_t *ret_len)
{
	z_stream z = { 0 };
	size_t cap = compressBound((uLong)len) + 64;
	unsigned char *out = malloc(cap);

	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (Bytef *)data;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
	*ret_len = cap - z.avail_out;
	deflateEnd(&z);
	return out;
}

static const char *header_of(const struct reply *r, const char *name)
{
	static char value[256];
	size_t n = strlen(name);

	for (const char *p = strstr(r->text, "\r\n"); p && p[2] != '\r'; p = strstr(p + 2, "\r\n")) {
		if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':') {
			const char *v = p + 3 + n, *end = strstr(v, "\r\n");

			while (*v == ' ')
				v++;
			snprintf(value, sizeof(value), "%.*s", (int)(end - v), v);
			return value;
		}
	}
	return NULL;
}

/* The next message's number and received text from the queue (waits up to 5 s). */
static long queue_next(struct fx *f, char *text, size_t size)
{
	idmefv2_message *msg = NULL;
	const char *received;
	long n;

	ck_assert_int_eq(idmefv2_queue_get(f->q, 5000, &msg), IDMEFV2_OK);
	n = testlib_message_number(msg);
	received = json_object_get_userdata(idmefv2_message_get_object(msg));
	if (text)
		snprintf(text, size, "%s", received ? received : "(none)");
	idmefv2_queue_task_done(f->q, msg);
	idmefv2_message_unref(msg);
	return n;
}

START_TEST(test_gzip_body)
{
	struct fx f;
	struct reply r;
	char json[4096], text[4096];
	unsigned char *gz;
	size_t gz_len;

	fx_start(&f, "http://127.0.0.1:0/in", 8, NULL);
	testlib_message_json(7, json, sizeof(json));
	gz = gzip_of(json, strlen(json), &gz_len);
	post(f.port, "/in", "application/json", "Content-Encoding: gzip\r\n", gz, gz_len, &r);
	ck_assert_msg(r.status == 204, "%s", r.text);
	ck_assert_int_eq(queue_next(&f, text, sizeof(text)), 7);
	/* The text carried along is the inflated body, byte for byte. */
	ck_assert_str_eq(text, json);
	free(gz);
	fx_stop(&f);
}
END_TEST

START_TEST(test_gzip_batch_in_two_members)
{
	struct fx f;
	struct reply r;
	char json[4096], batch[16384] = "";
	unsigned char *a, *b, *both;
	size_t a_len, b_len, half;

	fx_start(&f, "http://127.0.0.1:0/", 8, NULL);
	for (unsigned i = 1; i <= 3; i++) {
		testlib_message_json(i, json, sizeof(json));
		strcat(batch, json);
		strcat(batch, "\n");
	}
	/* Two gzip members one after the other are one body (RFC 1952 §2.2). */
	half = strlen(batch) / 2;
	a = gzip_of(batch, half, &a_len);
	b = gzip_of(batch + half, strlen(batch) - half, &b_len);
	both = malloc(a_len + b_len);
	memcpy(both, a, a_len);
	memcpy(both + a_len, b, b_len);
	post(f.port, "/", "application/x-ndjson", "Content-Encoding: x-gzip\r\n", both, a_len + b_len, &r);
	ck_assert_msg(r.status == 204, "%s", r.text);
	for (long i = 1; i <= 3; i++)
		ck_assert_int_eq(queue_next(&f, NULL, 0), i);
	free(a);
	free(b);
	free(both);
	fx_stop(&f);
}
END_TEST

START_TEST(test_gzip_bomb_413)
{
	static const char *const opts[] = { "httpd.max_decompressed", "1M", END_OPTS };
	size_t len = 64u << 20, gz_len;
	char *zeros = calloc(1, len);
	unsigned char *gz;
	struct fx f;
	struct reply r;

	ck_assert_ptr_nonnull(zeros);
	gz = gzip_of(zeros, len, &gz_len);
	free(zeros);
	/* 64 MiB in about 64 KiB: under httpd.max_body as sent, far over the inflated limit. */
	ck_assert_uint_lt(gz_len, 1u << 20);
	fx_start(&f, "http://127.0.0.1:0/", 8, opts);
	post(f.port, "/", "application/json", "Content-Encoding: gzip\r\n", gz, gz_len, &r);
	ck_assert_msg(r.status == 413, "%s", r.text);
	ck_assert_msg(strstr(r.text, "once decompressed"), "%s", r.text);
	ck_assert_uint_eq(idmefv2_queue_size(f.q), 0);
	free(gz);
	fx_stop(&f);
}
END_TEST

START_TEST(test_gzip_corrupt_400)
{
	struct fx f;
	struct reply r;
	char json[4096];
	unsigned char *gz;
	size_t gz_len;

	fx_start(&f, "http://127.0.0.1:0/", 8, NULL);
	post(f.port, "/", "application/json", "Content-Encoding: gzip\r\n", "not gzip at all", 15, &r);
	ck_assert_msg(r.status == 400 && strstr(r.text, "not valid gzip"), "%s", r.text);
	testlib_message_json(1, json, sizeof(json));
	gz = gzip_of(json, strlen(json), &gz_len);
	post(f.port, "/", "application/json", "Content-Encoding: gzip\r\n", gz, gz_len - 10, &r);
	ck_assert_msg(r.status == 400 && strstr(r.text, "cut short"), "%s", r.text);
	ck_assert_uint_eq(idmefv2_queue_size(f.q), 0);
	free(gz);
	fx_stop(&f);
}
END_TEST

START_TEST(test_other_encoding_415)
{
	struct fx f;
	struct reply r;
	char json[4096];

	fx_start(&f, "http://127.0.0.1:0/", 8, NULL);
	testlib_message_json(1, json, sizeof(json));
	post(f.port, "/", "application/json", "Content-Encoding: br\r\n", json, strlen(json), &r);
	ck_assert_msg(r.status == 415, "%s", r.text);
	ck_assert_ptr_nonnull(header_of(&r, "Accept-Encoding"));
	ck_assert_str_eq(header_of(&r, "Accept-Encoding"), "gzip");
	/* identity is no coding at all */
	post(f.port, "/", "application/json", "Content-Encoding: identity\r\n", json, strlen(json), &r);
	ck_assert_msg(r.status == 204, "%s", r.text);
	fx_stop(&f);
}
END_TEST

START_TEST(test_trailing_slash)
{
	struct fx f;
	struct reply r;
	char json[4096];

	testlib_message_json(1, json, sizeof(json));
	fx_start(&f, "http://127.0.0.1:0/api_idmefv2", 8, NULL);
	post(f.port, "/api_idmefv2/", "application/json", NULL, json, strlen(json), &r);
	ck_assert_msg(r.status == 204, "%s", r.text);
	post(f.port, "/api_idmefv2", "application/json", NULL, json, strlen(json), &r);
	ck_assert_msg(r.status == 204, "%s", r.text);
	post(f.port, "/api_idmefv2x", "application/json", NULL, json, strlen(json), &r);
	ck_assert_msg(r.status == 404, "%s", r.text);
	fx_stop(&f);

	fx_start(&f, "http://127.0.0.1:0/api_idmefv2/", 8, NULL);
	post(f.port, "/api_idmefv2", "application/json", NULL, json, strlen(json), &r);
	ck_assert_msg(r.status == 204, "%s", r.text);
	post(f.port, "/", "application/json", NULL, json, strlen(json), &r);
	ck_assert_msg(r.status == 404, "%s", r.text);
	fx_stop(&f);
}
END_TEST

struct taker {
	struct fx *f;
	long got;
};

static void *take_later(void *arg)
{
	struct taker *tk = arg;

	testlib_sleep_ms(500);
	tk->got = queue_next(tk->f, NULL, 0);
	return NULL;
}

/* With the default listen.queue_timeout_ms, a full queue slows the client down: no 503. */
START_TEST(test_full_queue_waits_by_default)
{
	struct fx f;
	struct reply r;
	struct taker tk = { &f, -1 };
	char json[4096];
	pthread_t th;
	int64_t begun;

	fx_start(&f, "http://127.0.0.1:0/", 1, NULL);
	testlib_message_json(1, json, sizeof(json));
	post(f.port, "/", "application/json", NULL, json, strlen(json), &r);
	ck_assert_msg(r.status == 204, "%s", r.text);
	ck_assert_int_eq(pthread_create(&th, NULL, take_later, &tk), 0);
	begun = testlib_now_ms();
	testlib_message_json(2, json, sizeof(json));
	post(f.port, "/", "application/json", NULL, json, strlen(json), &r);
	ck_assert_msg(r.status == 204, "%s", r.text);
	ck_assert_int_ge(testlib_now_ms() - begun, 400);
	pthread_join(th, NULL);
	ck_assert_int_eq(tk.got, 1);
	ck_assert_int_eq(queue_next(&f, NULL, 0), 2);
	fx_stop(&f);
}
END_TEST

/* Past the wait, 503 with Retry-After, and nothing queued. */
START_TEST(test_full_queue_503_after_wait)
{
	static const char *const opts[] = { "listen.queue_timeout_ms", "300", END_OPTS };
	struct fx f;
	struct reply r;
	char json[4096];
	int64_t begun;

	fx_start(&f, "http://127.0.0.1:0/", 1, opts);
	testlib_message_json(1, json, sizeof(json));
	post(f.port, "/", "application/json", NULL, json, strlen(json), &r);
	ck_assert_msg(r.status == 204, "%s", r.text);
	begun = testlib_now_ms();
	testlib_message_json(2, json, sizeof(json));
	post(f.port, "/", "application/json", NULL, json, strlen(json), &r);
	ck_assert_msg(r.status == 503, "%s", r.text);
	ck_assert_int_ge(testlib_now_ms() - begun, 250);
	ck_assert_str_eq(header_of(&r, "Retry-After"), "1");
	ck_assert_uint_eq(idmefv2_queue_size(f.q), 1);
	fx_stop(&f);
}
END_TEST

/* Whether the server closed @fd (end of stream or reset) within @ms, the client trickling a header byte every 100 ms. */
static bool closed_while_trickling(int fd, unsigned ms)
{
	int64_t deadline = testlib_now_ms() + ms;

	while (testlib_now_ms() < deadline) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		char c;

		if (send(fd, "a", 1, MSG_NOSIGNAL) < 0)
			return true;
		if (poll(&pfd, 1, 100) > 0) {
			ssize_t n = recv(fd, &c, 1, 0);

			if (n <= 0)
				return true;
		}
	}
	return false;
}

/* A client that trickles its headers (slowloris) is cut at httpd.request_timeout_ms, not kept forever. */
START_TEST(test_request_deadline_closes_slow_headers)
{
	static const char *const opts[] = { "httpd.request_timeout_ms", "500", END_OPTS };
	static const char head[] = "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
	struct fx f;
	struct reply r;
	char json[4096];
	int fd;
	int64_t begun;

	fx_start(&f, "http://127.0.0.1:0/", 8, opts);
	fd = connect_to(f.port);
	send_all(fd, head, sizeof(head) - 1);
	begun = testlib_now_ms();
	ck_assert_msg(closed_while_trickling(fd, 8000), "a connection trickling its headers was kept for 8 s");
	ck_assert_int_ge(testlib_now_ms() - begun, 400);
	close(fd);
	/* The listener still serves others. */
	testlib_message_json(1, json, sizeof(json));
	post(f.port, "/", "application/json", NULL, json, strlen(json), &r);
	ck_assert_msg(r.status == 204, "%s", r.text);
	fx_stop(&f);
}
END_TEST

/* The idle deadline is absolute: bytes before the request line do not extend it. */
START_TEST(test_idle_deadline_closes_trickled_request_line)
{
	static const char *const opts[] = { "httpd.idle_timeout_ms", "600", END_OPTS };
	struct fx f;
	int fd;

	fx_start(&f, "http://127.0.0.1:0/", 8, opts);
	fd = connect_to(f.port);
	send_all(fd, "POST /", 6);
	ck_assert_msg(closed_while_trickling(fd, 8000), "a connection trickling its request line was kept for 8 s");
	close(fd);
	fx_stop(&f);
}
END_TEST

/* A pretty-printed message: the text carried along is what was received, line breaks and all. */
START_TEST(test_received_text_carried)
{
	struct fx f;
	struct reply r;
	char json[4096], pretty[8192], text[8192];
	struct json_object *obj;
	idmefv2_message *msg = NULL;

	testlib_message_json(10, json, sizeof(json));
	obj = json_tokener_parse(json);
	ck_assert_ptr_nonnull(obj);
	snprintf(pretty, sizeof(pretty), "%s\n", json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY));
	json_object_put(obj);
	ck_assert_ptr_nonnull(strchr(pretty, '\n'));
	fx_start(&f, "http://127.0.0.1:0/", 8, NULL);
	post(f.port, "/", "application/json", NULL, pretty, strlen(pretty), &r);
	ck_assert_msg(r.status == 204, "%s", r.text);
	ck_assert_int_eq(idmefv2_queue_get(f.q, 5000, &msg), IDMEFV2_OK);
	snprintf(text, sizeof(text), "%s", (const char *)json_object_get_userdata(idmefv2_message_get_object(msg)));
	ck_assert_str_eq(text, pretty);
	idmefv2_queue_task_done(f.q, msg);
	idmefv2_message_unref(msg);
	fx_stop(&f);
}
END_TEST

/* http.compress=gzip: NDJSON batches go gzip'ed (they would not fit httpd.max_body otherwise). */
START_TEST(test_sender_gzips_batches)
{
	static const char *const small[] = { "httpd.max_body", "4k", END_OPTS };
	struct fx f;
	idmefv2_transport *s = NULL;
	idmefv2_transport_counters c;
	char errstr[512] = "", url[64];
	char json[4096];
	size_t batch_bytes = 0;
	bool seen[101] = { false };

	fx_start(&f, "http://127.0.0.1:0/in", 1000, small);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/in", f.port);
	ck_assert_int_eq(idmefv2_transport_new(url, IDMEFV2_TRANSPORT_SENDER, &s, errstr, sizeof(errstr)),
	                 IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_transport_set(s, "http.batch", "50", errstr, sizeof(errstr)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_transport_set(s, "http.compress", "gzip", errstr, sizeof(errstr)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_transport_set(s, "retry.max", "0", errstr, sizeof(errstr)), IDMEFV2_OK);
	ck_assert_msg(idmefv2_transport_start(s, errstr, sizeof(errstr)) == IDMEFV2_OK, "%s", errstr);
	for (unsigned i = 1; i <= 100; i++) {
		testlib_message_json(i, json, sizeof(json));
		batch_bytes += strlen(json) + 1;
		ck_assert_int_eq(idmefv2_transport_send_raw(s, "application/json", json, strlen(json), NULL, errstr,
		                                            sizeof(errstr)), IDMEFV2_OK);
	}
	/* 50 messages are far more than httpd.max_body uncompressed. */
	ck_assert_uint_gt(batch_bytes / 2, 4096);
	ck_assert_int_eq(idmefv2_transport_flush(s, 20000), IDMEFV2_OK);
	idmefv2_transport_get_counters(s, &c);
	ck_assert_uint_eq(c.sent, 100);
	ck_assert_uint_eq(c.failed, 0);
	/* Two batches in flight at once may arrive in either order. */
	for (int i = 0; i < 100; i++) {
		long n = queue_next(&f, NULL, 0);

		ck_assert(n >= 1 && n <= 100 && !seen[n]);
		seen[n] = true;
	}
	idmefv2_transport_free(s);
	fx_stop(&f);
}
END_TEST

static Suite *load_suite(void)
{
	Suite *s = suite_create("http-listen-load");
	TCase *tc = tcase_create("listener");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_gzip_body);
	tcase_add_test(tc, test_gzip_batch_in_two_members);
	tcase_add_test(tc, test_gzip_bomb_413);
	tcase_add_test(tc, test_gzip_corrupt_400);
	tcase_add_test(tc, test_other_encoding_415);
	tcase_add_test(tc, test_trailing_slash);
	tcase_add_test(tc, test_full_queue_waits_by_default);
	tcase_add_test(tc, test_full_queue_503_after_wait);
	tcase_add_test(tc, test_request_deadline_closes_slow_headers);
	tcase_add_test(tc, test_idle_deadline_closes_trickled_request_line);
	tcase_add_test(tc, test_received_text_carried);
	tcase_add_test(tc, test_sender_gzips_batches);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(load_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
