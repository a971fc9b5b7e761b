/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP(S) listener on 127.0.0.1, driven by the curl program for every
 * status code of draft-lehmann-idmefv2-https-transport-05 it answers, with
 * certificates made by certtool for HTTPS and mutual TLS.
 */
#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-c/json.h>

#include <idmefv2/message.h>
#include <idmefv2/queue.h>
#include <idmefv2/transport.h>

#include "listen-support.h"
#include "testlib.h"

#define END_OPTS NULL

/* Made once for the TLS cases (unchecked fixture), shared by their forked tests. */
static char *cert_dir;

struct fx {
	char *dir;
	idmefv2_transport *t;
	idmefv2_queue *q;
	unsigned port;
	char base[128]; /* scheme://127.0.0.1:port */
};

static const char *cert_path(const char *name)
{
	static char paths[16][512]; /* a ring: a test names up to 16 at once */
	static unsigned next;
	char *p = paths[next++ % 16];

	ck_assert_msg(cert_dir, "the test certificates could not be made (certtool)");
	snprintf(p, sizeof(paths[0]), "%s/%s", cert_dir, name);
	return p;
}

static idmefv2_error fx_try_start(struct fx *f, const char *url, size_t capacity, const char *const *opts,
                                  char *errstr, size_t errstr_size)
{
	idmefv2_error err;

	memset(f, 0, sizeof(*f));
	f->dir = testlib_tmpdir();
	ck_assert_ptr_nonnull(f->dir);
	err = idmefv2_transport_new(url, IDMEFV2_TRANSPORT_LISTENER, &f->t, errstr, errstr_size);
	ck_assert_msg(err == IDMEFV2_OK, "new %s: %s", url, errstr);
	for (; opts && *opts; opts += 2) {
		err = idmefv2_transport_set(f->t, opts[0], opts[1], errstr, errstr_size);
		ck_assert_msg(err == IDMEFV2_OK, "set %s=%s: %s", opts[0], opts[1], errstr);
	}
	f->q = idmefv2_queue_new(capacity);
	ck_assert_ptr_nonnull(f->q);
	idmefv2_transport_set_queue(f->t, f->q);
	err = idmefv2_transport_start(f->t, errstr, errstr_size);
	if (err)
		return err;
	f->port = idmefv2_transport_get_port(f->t);
	ck_assert_uint_gt(f->port, 0);
	snprintf(f->base, sizeof(f->base), "%s://127.0.0.1:%u", strncmp(url, "https:", 6) == 0 ? "https" : "http",
	         f->port);
	return IDMEFV2_OK;
}

static void fx_start(struct fx *f, const char *url, size_t capacity, const char *const *opts)
{
	char errstr[512] = "";
	idmefv2_error err = fx_try_start(f, url, capacity, opts, errstr, sizeof(errstr));

	ck_assert_msg(err == IDMEFV2_OK, "start %s: %s (%s)", url, errstr, idmefv2_strerror(err));
}

static void fx_stop(struct fx *f)
{
	idmefv2_transport_free(f->t);
	idmefv2_queue_unref(f->q);
	testlib_rmtree(f->dir);
	free(f->dir);
	memset(f, 0, sizeof(*f));
}

static const char *fx_body_file(struct fx *f, const char *body, size_t len)
{
	static char arg[600];
	char path[512];

	snprintf(path, sizeof(path), "%s/request-body", f->dir);
	ck_assert(testlib_write_file(path, body, len));
	snprintf(arg, sizeof(arg), "@%s", path);
	return arg;
}

/*
 * curl ARGS… URL, where URL is f->base + @path; @ct NULL sends no
 * Content-Type; @body NULL sends no body (use -X in @extra for the method).
 */
static void fx_request(struct fx *f, const char *path, const char *ct, const char *body, size_t len,
                       const char *const *extra, struct listen_reply *r)
{
	const char *args[40];
	char url[256], ct_header[256];
	size_t n = 0;

	snprintf(url, sizeof(url), "%s%s", f->base, path);
	if (body) {
		args[n++] = "--data-binary";
		args[n++] = fx_body_file(f, body, len);
	}
	snprintf(ct_header, sizeof(ct_header), "Content-Type: %s", ct ? ct : "");
	args[n++] = "-H";
	args[n++] = ct_header; /* "Content-Type:" alone removes curl's default */
	for (; extra && *extra && n < 36; extra++)
		args[n++] = *extra;
	args[n++] = url;
	args[n] = NULL;
	ck_assert(listen_curl(f->dir, args, r));
}

static void fx_post(struct fx *f, const char *body, const char *const *extra, struct listen_reply *r)
{
	fx_request(f, "/", "application/json", body, strlen(body), extra, r);
}

static const char *message_json(unsigned n)
{
	static char buf[4][2048];
	static unsigned next;
	char *b = buf[next++ % 4];

	testlib_message_json(n, b, sizeof(buf[0]));
	return b;
}

/* Message @n with Source(0).IP "10.0.0.300": valid JSON, invalid against the schema. */
static const char *invalid_message_json(unsigned n)
{
	static char buf[2048];
	idmefv2_message *msg = testlib_message(n);
	const char *data;
	size_t len;

	ck_assert_int_eq(idmefv2_message_set_string(msg, "Source(0).ID", "5f3b5a34-0f4e-4e7b-9a8e-6d2b7c1e9a10",
	                                            NULL, 0), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_message_set_string(msg, "Source(0).IP", "10.0.0.300", NULL, 0), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_message_serialize(msg, "application/json", IDMEFV2_SERIALIZE_NO_VALIDATE,
	                                           &data, &len, NULL, NULL, 0), IDMEFV2_OK);
	ck_assert_uint_lt(len, sizeof(buf));
	memcpy(buf, data, len + 1);
	idmefv2_message_unref(msg);
	return buf;
}

/* Get the next message from the queue and return its number. */
static long queue_next(struct fx *f)
{
	idmefv2_message *msg = NULL;
	long n;

	ck_assert_int_eq(idmefv2_queue_get(f->q, 2000, &msg), IDMEFV2_OK);
	n = testlib_message_number(msg);
	ck_assert_int_eq(idmefv2_queue_task_done(f->q, msg), IDMEFV2_OK);
	idmefv2_message_unref(msg);
	return n;
}

static idmefv2_transport_counters counters(struct fx *f)
{
	idmefv2_transport_counters c;

	idmefv2_transport_get_counters(f->t, &c);
	return c;
}

/* The response body as JSON (owned by the caller). */
static struct json_object *reply_json(const struct listen_reply *r)
{
	struct json_object *obj = json_tokener_parse(r->body);

	ck_assert_msg(obj && json_object_is_type(obj, json_type_object), "not a JSON object: %s", r->body);
	return obj;
}

static const char *json_str(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* Entry @i of the reply's "errors" array. */
static struct json_object *reply_error_entry(struct json_object *obj, size_t i)
{
	struct json_object *errors;

	ck_assert(json_object_object_get_ex(obj, "errors", &errors));
	ck_assert(json_object_is_type(errors, json_type_array));
	ck_assert_uint_gt(json_object_array_length(errors), i);
	return json_object_array_get_idx(errors, i);
}

/* ---- plain HTTP ------------------------------------------------------------------------------- */

START_TEST(test_post_204)
{
	static const char *const one_thread[] = { "httpd.threads", "1", END_OPTS };
	struct fx f;
	struct listen_reply r;

	fx_start(&f, "http://127.0.0.1:0/", 10, one_thread);
	fx_post(&f, message_json(1), NULL, &r);
	ck_assert_int_eq(r.exit_code, 0);
	ck_assert_uint_eq(r.status, 204);
	ck_assert_str_eq(r.body, "");
	listen_reply_clear(&r);
	/* 204 means queued already: no wait needed. */
	ck_assert_uint_eq(idmefv2_queue_size(f.q), 1);
	ck_assert_int_eq(queue_next(&f), 1);

	fx_request(&f, "/", "text/json; charset=utf-8", message_json(2), strlen(message_json(2)), NULL, &r);
	ck_assert_uint_eq(r.status, 204);
	listen_reply_clear(&r);
	ck_assert_int_eq(queue_next(&f), 2);
	ck_assert_uint_eq(counters(&f).received, 2);
	ck_assert_uint_eq(counters(&f).invalid, 0);
	fx_stop(&f);
}
END_TEST

START_TEST(test_max_connections)
{
	/* A thread per connection closes a connection over the limit at once; an epoll pool
	 * leaves it in the listen backlog until a slot frees, which curl would wait 60 s for. */
	static const char *const one[] = { "httpd.max_connections", "1", "httpd.threads", "0", END_OPTS };
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct fx f;
	struct listen_reply r;
	int idle, status = 0;

	fx_start(&f, "http://127.0.0.1:0/", 10, one);
	sa.sin_port = htons((uint16_t)f.port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	idle = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(idle, 0);
	ck_assert_int_eq(connect(idle, (struct sockaddr *)&sa, sizeof(sa)), 0);
	usleep(100000); /* let the server take the idle connection */

	/* The only slot is taken: the request gets no answer. */
	fx_post(&f, message_json(1), NULL, &r);
	ck_assert_int_ne(r.exit_code, 0);
	ck_assert_uint_eq(r.status, 0);
	listen_reply_clear(&r);
	ck_assert_uint_eq(idmefv2_queue_size(f.q), 0);

	/* Once it is free, requests are served again. */
	close(idle);
	for (int i = 0; i < 40 && status != 204; i++) {
		usleep(50000);
		fx_post(&f, message_json(2), NULL, &r);
		status = (int)r.status;
		listen_reply_clear(&r);
	}
	ck_assert_int_eq(status, 204);
	ck_assert_int_eq(queue_next(&f), 2);
	fx_stop(&f);
}
END_TEST

START_TEST(test_method_405)
{
	static const char *const get[] = { "-X", "GET", NULL };
	static const char *const put[] = { "-X", "PUT", NULL };
	struct fx f;
	struct listen_reply r;
	struct json_object *obj;

	fx_start(&f, "http://127.0.0.1:0/", 10, NULL);
	fx_request(&f, "/", NULL, NULL, 0, get, &r);
	ck_assert_uint_eq(r.status, 405);
	ck_assert_str_eq(listen_reply_header(&r, "Allow"), "POST");
	ck_assert_str_eq(listen_reply_header(&r, "Content-Type"), "application/json");
	obj = reply_json(&r);
	ck_assert_ptr_nonnull(strstr(json_str(obj, "error"), "GET"));
	json_object_put(obj);
	listen_reply_clear(&r);

	fx_request(&f, "/", "application/json", message_json(1), strlen(message_json(1)), put, &r);
	ck_assert_uint_eq(r.status, 405);
	ck_assert_str_eq(listen_reply_header(&r, "Allow"), "POST");
	listen_reply_clear(&r);
	ck_assert_uint_eq(idmefv2_queue_size(f.q), 0);
	fx_stop(&f);
}
END_TEST

START_TEST(test_path_404_and_any_path)
{
	static const char *const any[] = { "httpd.any_path", "true", END_OPTS };
	struct fx f;
	struct listen_reply r;
	const char *msg = message_json(1);

	fx_start(&f, "http://127.0.0.1:0/alerts", 10, NULL);
	fx_request(&f, "/other", "application/json", msg, strlen(msg), NULL, &r);
	ck_assert_uint_eq(r.status, 404);
	ck_assert_ptr_nonnull(strstr(r.body, "/alerts"));
	listen_reply_clear(&r);
	fx_request(&f, "/", "application/json", msg, strlen(msg), NULL, &r);
	ck_assert_uint_eq(r.status, 404);
	listen_reply_clear(&r);
	ck_assert_uint_eq(idmefv2_queue_size(f.q), 0);
	fx_request(&f, "/alerts", "application/json", msg, strlen(msg), NULL, &r);
	ck_assert_uint_eq(r.status, 204);
	listen_reply_clear(&r);
	ck_assert_int_eq(queue_next(&f), 1);
	fx_stop(&f);

	fx_start(&f, "http://127.0.0.1:0/alerts", 10, any);
	fx_request(&f, "/some/where/else", "application/json", msg, strlen(msg), NULL, &r);
	ck_assert_uint_eq(r.status, 204);
	listen_reply_clear(&r);
	ck_assert_int_eq(queue_next(&f), 1);
	fx_stop(&f);
}
END_TEST

START_TEST(test_content_type_415)
{
	static const char *const types[] = { "text/plain", "application/xml", "application/json; charset=latin1" };
	struct fx f;
	struct listen_reply r;
	struct json_object *obj;
	const char *msg = message_json(1);

	fx_start(&f, "http://127.0.0.1:0/", 10, NULL);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		fx_request(&f, "/", types[i], msg, strlen(msg), NULL, &r);
		ck_assert_msg(r.status == 415, "%s: %u", types[i], r.status);
		obj = reply_json(&r);
		ck_assert_ptr_nonnull(strstr(json_str(obj, "error"), "application/json"));
		json_object_put(obj);
		listen_reply_clear(&r);
	}
	fx_request(&f, "/", NULL, msg, strlen(msg), NULL, &r); /* no Content-Type at all */
	ck_assert_uint_eq(r.status, 415);
	listen_reply_clear(&r);
	ck_assert_uint_eq(idmefv2_queue_size(f.q), 0);
	fx_stop(&f);
}
END_TEST

START_TEST(test_body_413)
{
	static const char *const small[] = { "httpd.max_body", "1k", END_OPTS };
	static const char *const no_expect[] = { "-H", "Expect:", NULL };
	struct fx f;
	struct listen_reply r;
	char *big = malloc(5001);
	const char *msg = message_json(1);

	ck_assert_ptr_nonnull(big);
	memset(big, ' ', 5000);
	big[0] = '{';
	big[4999] = '}';
	big[5000] = '\0';
	fx_start(&f, "http://127.0.0.1:0/", 10, small);
	fx_post(&f, big, NULL, &r); /* curl sends "Expect: 100-continue": refused before the body */
	ck_assert_uint_eq(r.status, 413);
	ck_assert_ptr_nonnull(strstr(r.body, "1024"));
	listen_reply_clear(&r);
	fx_post(&f, big, no_expect, &r); /* the body comes anyway: read, dropped, refused */
	ck_assert_uint_eq(r.status, 413);
	listen_reply_clear(&r);
	ck_assert_uint_lt(strlen(msg), 1024);
	fx_post(&f, msg, NULL, &r);
	ck_assert_uint_eq(r.status, 204);
	listen_reply_clear(&r);
	ck_assert_int_eq(queue_next(&f), 1);
	ck_assert_uint_eq(idmefv2_queue_size(f.q), 0);
	fx_stop(&f);
	free(big);

	/* The default limit is 1 MiB. */
	big = malloc((1u << 20) + 2);
	ck_assert_ptr_nonnull(big);
	memset(big, ' ', (1u << 20) + 1);
	big[(1u << 20) + 1] = '\0';
	fx_start(&f, "http://127.0.0.1:0/", 10, NULL);
	fx_post(&f, big, NULL, &r);
	ck_assert_uint_eq(r.status, 413);
	listen_reply_clear(&r);
	big[1u << 20] = '\0'; /* exactly 1 MiB of blanks: not too large, but empty of a message */
	fx_post(&f, big, NULL, &r);
	ck_assert_uint_eq(r.status, 400);
	listen_reply_clear(&r);
	ck_assert_uint_eq(idmefv2_queue_size(f.q), 0);
	fx_stop(&f);
	free(big);
}
END_TEST

START_TEST(test_chunked_413_stops_reading)
{
	static const char *const chunked[] = { "-H", "Transfer-Encoding: chunked", NULL };
	const uint64_t size = 256u << 20;
	struct fx f;
	struct listen_reply r;
	char path[512], arg[600];
	const char *args[10];
	int fd;

	fx_start(&f, "http://127.0.0.1:0/alerts", 10, NULL);
	/* A sparse file: 256 MiB to send without writing them. */
	snprintf(path, sizeof(path), "%s/huge", f.dir);
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
	close(fd);
	snprintf(arg, sizeof(arg), "%s", path);
	args[0] = "-T"; /* streamed, where --data-binary would load it all first */
	args[1] = arg;
	args[2] = "-H";
	args[3] = "Content-Type: application/json";
	args[4] = "-H";
	args[5] = "Transfer-Encoding: chunked";
	snprintf(path, sizeof(path), "%s/alerts", f.base); /* -T would append the file name after a "/" */
	args[6] = path;
	args[7] = "-X";
	args[8] = "POST";
	args[9] = NULL;
	ck_assert(listen_curl(f.dir, args, &r));
	ck_assert_uint_eq(r.status, 413);
	ck_assert_str_eq(listen_reply_header(&r, "Connection"), "close");
	/* The server answered as soon as the limit was passed and curl stopped sending. */
	ck_assert_msg(r.uploaded < size / 4, "curl sent %llu bytes", (unsigned long long)r.uploaded);
	listen_reply_clear(&r);

	/* The server is still there, and a message after the big one goes through. */
	fx_request(&f, "/alerts", "application/json", message_json(3), strlen(message_json(3)), chunked, &r);
	ck_assert_uint_eq(r.status, 204);
	listen_reply_clear(&r);
	ck_assert_int_eq(queue_next(&f), 3);
	fx_stop(&f);
}
END_TEST

START_TEST(test_chunked_small_limit)
{
	static const char *const small[] = { "httpd.max_body", "1k", END_OPTS };
	static const char *const chunked[] = { "-H", "Transfer-Encoding: chunked", NULL };
	struct fx f;
	struct listen_reply r;
	char big[3000];

	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	fx_start(&f, "http://127.0.0.1:0/", 10, small);
	fx_request(&f, "/", "application/json", big, strlen(big), chunked, &r);
	ck_assert_uint_eq(r.status, 413);
	listen_reply_clear(&r);
	fx_request(&f, "/", "application/json", message_json(4), strlen(message_json(4)), chunked, &r);
	ck_assert_uint_eq(r.status, 204);
	listen_reply_clear(&r);
	ck_assert_int_eq(queue_next(&f), 4);
	fx_stop(&f);
}
END_TEST

START_TEST(test_invalid_400)
{
	struct fx f;
	struct listen_reply r;
	struct json_object *obj, *e;

	fx_start(&f, "http://127.0.0.1:0/", 10, NULL);
	fx_post(&f, invalid_message_json(1), NULL, &r);
	ck_assert_uint_eq(r.status, 400);
	ck_assert_str_eq(listen_reply_header(&r, "Content-Type"), "application/json");
	obj = reply_json(&r);
	ck_assert_ptr_nonnull(json_str(obj, "error"));
	e = reply_error_entry(obj, 0);
	ck_assert_str_eq(json_str(e, "instance"), "/Source/0/IP");
	ck_assert_str_eq(json_str(e, "keyword"), "pattern");
	ck_assert_ptr_nonnull(json_str(e, "schema"));
	ck_assert_ptr_nonnull(strstr(json_str(e, "message"), "10.0.0.300"));
	json_object_put(obj);
	listen_reply_clear(&r);
	ck_assert_uint_eq(idmefv2_queue_size(f.q), 0);
	ck_assert_uint_eq(counters(&f).invalid, 1);
	ck_assert_uint_eq(counters(&f).received, 0);
	fx_stop(&f);
}
END_TEST

START_TEST(test_malformed_400)
{
	struct fx f;
	struct listen_reply r;
	struct json_object *obj, *e;

	fx_start(&f, "http://127.0.0.1:0/", 10, NULL);
	fx_post(&f, "{\"Version\": \"2.D.V08\",\n \"ID\": }", NULL, &r);
	ck_assert_uint_eq(r.status, 400);
	obj = reply_json(&r);
	ck_assert_ptr_nonnull(strstr(json_str(obj, "error"), "line 2"));
	e = reply_error_entry(obj, 0);
	ck_assert_str_eq(json_str(e, "instance"), "");
	json_object_put(obj);
	listen_reply_clear(&r);

	fx_post(&f, "[1, 2]", NULL, &r); /* JSON, not an object */
	ck_assert_uint_eq(r.status, 400);
	listen_reply_clear(&r);

	fx_post(&f, "{\"Version\": \"9.9\"}", NULL, &r); /* no such Version */
	ck_assert_uint_eq(r.status, 400);
	obj = reply_json(&r);
	ck_assert_str_eq(json_str(reply_error_entry(obj, 0), "instance"), "/Version");
	json_object_put(obj);
	listen_reply_clear(&r);

	fx_post(&f, "", NULL, &r);
	ck_assert_uint_eq(r.status, 400);
	obj = reply_json(&r);
	ck_assert_str_eq(json_str(obj, "error"), "empty body");
	json_object_put(obj);
	listen_reply_clear(&r);

	ck_assert_uint_eq(idmefv2_queue_size(f.q), 0);
	ck_assert_uint_eq(counters(&f).invalid, 3);
	fx_stop(&f);
}
END_TEST

START_TEST(test_queue_full_503)
{
	struct fx f;
	struct listen_reply r;

	fx_start(&f, "http://127.0.0.1:0/", 1, NULL);
	fx_post(&f, message_json(1), NULL, &r);
	ck_assert_uint_eq(r.status, 204);
	listen_reply_clear(&r);
	fx_post(&f, message_json(2), NULL, &r);
	ck_assert_uint_eq(r.status, 503);
	ck_assert_str_eq(listen_reply_header(&r, "Retry-After"), "1");
	listen_reply_clear(&r);
	ck_assert_uint_eq(idmefv2_queue_size(f.q), 1);
	ck_assert_uint_eq(counters(&f).received, 1);
	ck_assert_int_eq(queue_next(&f), 1);
	fx_post(&f, message_json(3), NULL, &r);
	ck_assert_uint_eq(r.status, 204);
	listen_reply_clear(&r);
	ck_assert_int_eq(queue_next(&f), 3);
	fx_stop(&f);
}
END_TEST

struct getter {
	idmefv2_queue *q;
	long got;
};

static void *get_later(void *arg)
{
	struct getter *g = arg;
	idmefv2_message *msg = NULL;

	/* Wait until the second POST is blocked on the full queue. */
	testlib_sleep_ms(200);
	if (idmefv2_queue_get(g->q, 5000, &msg) == IDMEFV2_OK) {
		g->got = testlib_message_number(msg);
		idmefv2_queue_task_done(g->q, msg);
		idmefv2_message_unref(msg);
	}
	return NULL;
}

START_TEST(test_queue_timeout_waits_for_room)
{
	static const char *const wait_opts[] = { "listen.queue_timeout_ms", "20000", END_OPTS };
	struct fx f;
	struct listen_reply r;
	struct getter g = { NULL, -1 };
	pthread_t th;

	fx_start(&f, "http://127.0.0.1:0/", 1, wait_opts);
	fx_post(&f, message_json(1), NULL, &r);
	ck_assert_uint_eq(r.status, 204);
	listen_reply_clear(&r);
	g.q = f.q;
	ck_assert_int_eq(pthread_create(&th, NULL, get_later, &g), 0);
	fx_post(&f, message_json(2), NULL, &r); /* blocks until the getter makes room */
	pthread_join(th, NULL);
	ck_assert_uint_eq(r.status, 204);
	listen_reply_clear(&r);
	ck_assert_int_eq(g.got, 1);
	ck_assert_int_eq(queue_next(&f), 2);
	fx_stop(&f);
}
END_TEST

START_TEST(test_auth_basic_401)
{
	static const char *const opts[] = { "auth.username", "alice", "auth.password", "s3cret", END_OPTS };
	static const char *const wrong[] = { "-u", "alice:guess", NULL };
	static const char *const other[] = { "-u", "bob:s3cret", NULL };
	static const char *const right[] = { "-u", "alice:s3cret", NULL };
	static const char *const bearer[] = { "-H", "Authorization: Bearer s3cret", NULL };
	const char *const *bad[] = { NULL, wrong, other, bearer };
	struct fx f;
	struct listen_reply r;

	fx_start(&f, "http://127.0.0.1:0/", 10, opts);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fx_post(&f, message_json(1), bad[i], &r);
		ck_assert_msg(r.status == 401, "case %zu: %u", i, r.status);
		ck_assert_ptr_nonnull(listen_reply_header(&r, "WWW-Authenticate"));
		ck_assert_ptr_nonnull(strstr(listen_reply_header(&r, "WWW-Authenticate"), "Basic realm="));
		listen_reply_clear(&r);
	}
	ck_assert_uint_eq(idmefv2_queue_size(f.q), 0);
	fx_post(&f, message_json(2), right, &r);
	ck_assert_uint_eq(r.status, 204);
	listen_reply_clear(&r);
	ck_assert_int_eq(queue_next(&f), 2);
	fx_stop(&f);
}
END_TEST

START_TEST(test_auth_bearer_401)
{
	static const char *const opts[] = { "auth.bearer_token", "tok-123", END_OPTS };
	static const char *const wrong[] = { "-H", "Authorization: Bearer tok-124", NULL };
	static const char *const prefix[] = { "-H", "Authorization: Bearer tok-12", NULL };
	static const char *const basic[] = { "-u", "tok-123:tok-123", NULL };
	static const char *const right[] = { "-H", "Authorization: Bearer tok-123", NULL };
	const char *const *bad[] = { NULL, wrong, prefix, basic };
	struct fx f;
	struct listen_reply r;

	fx_start(&f, "http://127.0.0.1:0/", 10, opts);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fx_post(&f, message_json(1), bad[i], &r);
		ck_assert_msg(r.status == 401, "case %zu: %u", i, r.status);
		ck_assert_ptr_nonnull(strstr(listen_reply_header(&r, "WWW-Authenticate"), "Bearer"));
		listen_reply_clear(&r);
	}
	fx_post(&f, message_json(2), right, &r);
	ck_assert_uint_eq(r.status, 204);
	listen_reply_clear(&r);
	ck_assert_int_eq(queue_next(&f), 2);
	ck_assert_uint_eq(idmefv2_queue_size(f.q), 0);
	fx_stop(&f);
}
END_TEST

START_TEST(test_error_before_body_without_expect)
{
	static const char *const opts[] = { "auth.bearer_token", "tok", "httpd.max_body", "64k", END_OPTS };
	static const char *const no_expect[] = { "-H", "Expect:", NULL };
	const size_t sizes[] = { 32u << 10, 8u << 20 }; /* within the limit, then far above it */
	struct fx f;
	struct listen_reply r;

	fx_start(&f, "http://127.0.0.1:0/", 10, opts);
	for (size_t i = 0; i < 2; i++) {
		char *body = malloc(sizes[i] + 1);

		ck_assert_ptr_nonnull(body);
		memset(body, ' ', sizes[i]);
		body[sizes[i]] = '\0';
		fx_post(&f, body, no_expect, &r);
		ck_assert_msg(r.status == 401, "%zu bytes: status %u, curl %d", sizes[i], r.status, r.exit_code);
		ck_assert_ptr_nonnull(listen_reply_header(&r, "WWW-Authenticate"));
		listen_reply_clear(&r);
		free(body);
	}
	fx_stop(&f);
}
END_TEST

START_TEST(test_ndjson_batch)
{
	static const char *const ndjson_ct = "application/x-ndjson";
	struct fx f;
	struct listen_reply r;
	struct json_object *obj, *e, *line;
	char body[8192];

	fx_start(&f, "http://127.0.0.1:0/", 10, NULL);
	snprintf(body, sizeof(body), "%s\n%s\r\n\n%s\n", message_json(1), message_json(2), message_json(3));
	fx_request(&f, "/", ndjson_ct, body, strlen(body), NULL, &r);
	ck_assert_uint_eq(r.status, 204);
	listen_reply_clear(&r);
	ck_assert_uint_eq(idmefv2_queue_size(f.q), 3);
	ck_assert_int_eq(queue_next(&f), 1);
	ck_assert_int_eq(queue_next(&f), 2);
	ck_assert_int_eq(queue_next(&f), 3);
	ck_assert_uint_eq(counters(&f).received, 3);

	/* One schema-invalid line refuses the whole batch. */
	snprintf(body, sizeof(body), "%s\n%s\n%s", message_json(4), invalid_message_json(5), message_json(6));
	fx_request(&f, "/", ndjson_ct, body, strlen(body), NULL, &r);
	ck_assert_uint_eq(r.status, 400);
	obj = reply_json(&r);
	ck_assert_ptr_nonnull(strstr(json_str(obj, "error"), "line 2"));
	e = reply_error_entry(obj, 0);
	ck_assert_str_eq(json_str(e, "instance"), "/Source/0/IP");
	ck_assert(json_object_object_get_ex(e, "line", &line));
	ck_assert_int_eq(json_object_get_int(line), 2);
	json_object_put(obj);
	listen_reply_clear(&r);
	ck_assert_uint_eq(idmefv2_queue_size(f.q), 0);
	ck_assert_uint_eq(counters(&f).invalid, 1);

	/* A malformed line, the last one. */
	snprintf(body, sizeof(body), "%s\n%s\n{\"oops\"\n", message_json(7), message_json(8));
	fx_request(&f, "/", "application/x-ndjson; charset=utf-8", body, strlen(body), NULL, &r);
	ck_assert_uint_eq(r.status, 400);
	obj = reply_json(&r);
	e = reply_error_entry(obj, 0);
	ck_assert(json_object_object_get_ex(e, "line", &line));
	ck_assert_int_eq(json_object_get_int(line), 3);
	ck_assert_str_eq(json_str(e, "instance"), "");
	json_object_put(obj);
	listen_reply_clear(&r);
	ck_assert_uint_eq(idmefv2_queue_size(f.q), 0);

	/* Only blank lines: no message. */
	fx_request(&f, "/", ndjson_ct, "\n\n", 2, NULL, &r);
	ck_assert_uint_eq(r.status, 400);
	listen_reply_clear(&r);
	ck_assert_uint_eq(counters(&f).received, 3);
	fx_stop(&f);
}
END_TEST

START_TEST(test_ndjson_batch_larger_than_room)
{
	struct fx f;
	struct listen_reply r;
	char body[8192];

	fx_start(&f, "http://127.0.0.1:0/", 2, NULL);
	snprintf(body, sizeof(body), "%s\n%s\n%s\n", message_json(1), message_json(2), message_json(3));
	fx_request(&f, "/", "application/x-ndjson", body, strlen(body), NULL, &r);
	ck_assert_uint_eq(r.status, 503);
	ck_assert_str_eq(listen_reply_header(&r, "Retry-After"), "1");
	listen_reply_clear(&r);
	ck_assert_uint_eq(idmefv2_queue_size(f.q), 0); /* all or nothing */
	fx_stop(&f);
}
END_TEST

/* Shared with a server thread: the socket orders the accesses, but only the lock tells sanitizers. */
struct cb_state {
	pthread_mutex_t lock;
	idmefv2_error answer;
	long last;
	unsigned calls;
};

static idmefv2_error on_message(idmefv2_transport *t, idmefv2_message *msg, void *user_data)
{
	struct cb_state *s = user_data;
	idmefv2_error answer;

	pthread_mutex_lock(&s->lock);
	s->calls++;
	s->last = testlib_message_number(msg);
	answer = s->answer;
	pthread_mutex_unlock(&s->lock);
	return answer;
}

static long cb_get(struct cb_state *s, bool calls)
{
	long v;

	pthread_mutex_lock(&s->lock);
	v = calls ? (long)s->calls : s->last;
	pthread_mutex_unlock(&s->lock);
	return v;
}

START_TEST(test_message_callback)
{
	struct cb_state s = { PTHREAD_MUTEX_INITIALIZER, IDMEFV2_OK, -1, 0 };
	idmefv2_transport *t;
	struct listen_reply r;
	char errstr[256] = "", url[64], *dir = testlib_tmpdir();
	const char *msg = message_json(9);
	const char *args[] = { "--data-binary", NULL, "-H", "Content-Type: application/json", url, NULL };
	char arg[600];

	ck_assert_int_eq(idmefv2_transport_new("http://127.0.0.1:0/", IDMEFV2_TRANSPORT_LISTENER, &t,
	                                       errstr, sizeof(errstr)), IDMEFV2_OK);
	idmefv2_transport_set_message_cb(t, on_message, &s);
	ck_assert_msg(idmefv2_transport_start(t, errstr, sizeof(errstr)) == IDMEFV2_OK, "%s", errstr);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", idmefv2_transport_get_port(t));
	ck_assert(testlib_write_file(testlib_path(dir, "m"), msg, strlen(msg)));
	snprintf(arg, sizeof(arg), "@%s", testlib_path(dir, "m"));
	args[1] = arg;
	ck_assert(listen_curl(dir, args, &r));
	ck_assert_uint_eq(r.status, 204);
	listen_reply_clear(&r);
	ck_assert_int_eq(cb_get(&s, false), 9);

	pthread_mutex_lock(&s.lock);
	s.answer = IDMEFV2_ERR_FULL;
	pthread_mutex_unlock(&s.lock);
	ck_assert(listen_curl(dir, args, &r));
	ck_assert_uint_eq(r.status, 503);
	ck_assert_str_eq(listen_reply_header(&r, "Retry-After"), "1");
	listen_reply_clear(&r);
	ck_assert_int_eq(cb_get(&s, true), 2);
	idmefv2_transport_free(t);
	testlib_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_stop_closes)
{
	struct fx f;
	struct listen_reply r;
	idmefv2_message *msg = NULL;
	char url[64];
	const char *args[] = { "--data-binary", "{}", "-H", "Content-Type: application/json", url, NULL };

	fx_start(&f, "http://127.0.0.1:0/", 10, NULL);
	fx_post(&f, message_json(1), NULL, &r);
	ck_assert_uint_eq(r.status, 204);
	listen_reply_clear(&r);
	ck_assert_int_eq(idmefv2_transport_stop(f.t), IDMEFV2_OK);
	ck_assert_uint_eq(idmefv2_transport_get_port(f.t), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", f.port);
	ck_assert(listen_curl(f.dir, args, &r));
	ck_assert_int_eq(r.exit_code, 7); /* connection refused: the socket is closed */
	listen_reply_clear(&r);
	/* What was accepted is still there, then the queue reports closed. */
	ck_assert_int_eq(queue_next(&f), 1);
	ck_assert_int_eq(idmefv2_queue_get(f.q, 0, &msg), IDMEFV2_ERR_CLOSED);
	ck_assert_int_eq(idmefv2_transport_stop(f.t), IDMEFV2_OK); /* idempotent */
	fx_stop(&f);
}
END_TEST

struct background_post {
	struct fx *f;
	char dir[512];
	struct listen_reply r;
};

static void *post_in_background(void *arg)
{
	struct background_post *b = arg;
	char url[64], body_arg[600];
	const char *msg = message_json(2);
	const char *args[] = { "--data-binary", body_arg, "-H", "Content-Type: application/json", url, NULL };

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", b->f->port);
	testlib_write_file(testlib_path(b->dir, "m"), msg, strlen(msg));
	snprintf(body_arg, sizeof(body_arg), "@%s/m", b->dir);
	listen_curl(b->dir, args, &b->r);
	return NULL;
}

START_TEST(test_stop_while_waiting_for_room)
{
	static const char *const forever[] = { "listen.queue_timeout_ms", "-1", END_OPTS };
	struct fx f;
	struct listen_reply r;
	struct background_post b;
	pthread_t th;
	char *dir;

	fx_start(&f, "http://127.0.0.1:0/", 1, forever);
	fx_post(&f, message_json(1), NULL, &r);
	ck_assert_uint_eq(r.status, 204);
	listen_reply_clear(&r);
	memset(&b, 0, sizeof(b));
	b.f = &f;
	dir = testlib_tmpdir();
	snprintf(b.dir, sizeof(b.dir), "%s", dir);
	ck_assert_int_eq(pthread_create(&th, NULL, post_in_background, &b), 0);
	/* Let the second POST reach the full queue; the outcome does not depend on it. */
	testlib_sleep_ms(300);
	/* Must not hang on the handler waiting "forever" for room. */
	ck_assert_int_eq(idmefv2_transport_stop(f.t), IDMEFV2_OK);
	pthread_join(th, NULL);
	ck_assert_msg(b.r.status != 204, "status %u", b.r.status);
	listen_reply_clear(&b.r);
	ck_assert_int_eq(queue_next(&f), 1);
	ck_assert_uint_eq(idmefv2_queue_size(f.q), 0);
	ck_assert_uint_eq(counters(&f).received, 1);
	testlib_rmtree(dir);
	free(dir);
	fx_stop(&f);
}
END_TEST

/* Accepts each message, but only after the test has begun stop(). */
struct slow_cb {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool inside;
	bool stop_called;
};

static idmefv2_error accept_when_stopping(idmefv2_transport *t, idmefv2_message *msg, void *user_data)
{
	struct slow_cb *s = user_data;

	pthread_mutex_lock(&s->lock);
	s->inside = true;
	pthread_cond_broadcast(&s->cond);
	while (!s->stop_called)
		pthread_cond_wait(&s->cond, &s->lock);
	pthread_mutex_unlock(&s->lock);
	/* stop() is now waiting for this request (or has closed it: the test then fails). */
	testlib_sleep_ms(100);
	return IDMEFV2_OK;
}

START_TEST(test_stop_answers_requests_under_way)
{
	struct slow_cb s = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false };
	struct fx f;
	struct background_post b;
	pthread_t th;
	char errstr[256] = "";

	memset(&f, 0, sizeof(f));
	f.dir = testlib_tmpdir();
	ck_assert_int_eq(idmefv2_transport_new("http://127.0.0.1:0/", IDMEFV2_TRANSPORT_LISTENER, &f.t,
	                                       errstr, sizeof(errstr)), IDMEFV2_OK);
	idmefv2_transport_set_message_cb(f.t, accept_when_stopping, &s);
	ck_assert_msg(idmefv2_transport_start(f.t, errstr, sizeof(errstr)) == IDMEFV2_OK, "%s", errstr);
	f.port = idmefv2_transport_get_port(f.t);
	memset(&b, 0, sizeof(b));
	b.f = &f;
	snprintf(b.dir, sizeof(b.dir), "%s", f.dir);
	ck_assert_int_eq(pthread_create(&th, NULL, post_in_background, &b), 0);

	pthread_mutex_lock(&s.lock);
	while (!s.inside)
		pthread_cond_wait(&s.cond, &s.lock);
	s.stop_called = true;
	pthread_cond_broadcast(&s.cond);
	pthread_mutex_unlock(&s.lock);
	ck_assert_int_eq(idmefv2_transport_stop(f.t), IDMEFV2_OK);
	pthread_join(th, NULL);
	/* Accepted during stop(): the client was told so, and will not send it again. */
	ck_assert_msg(b.r.status == 204, "status %u, curl %d", b.r.status, b.r.exit_code);
	listen_reply_clear(&b.r);
	fx_stop(&f);
}
END_TEST

START_TEST(test_bind_option)
{
	static const char *const bind_opts[] = { "httpd.bind", "127.0.0.1", END_OPTS };
	struct fx f;
	struct listen_reply r;

	/* The URL's host is only the default: the server binds where httpd.bind says. */
	fx_start(&f, "http://listener.invalid:0/", 10, bind_opts);
	fx_post(&f, message_json(1), NULL, &r);
	ck_assert_uint_eq(r.status, 204);
	listen_reply_clear(&r);
	ck_assert_int_eq(queue_next(&f), 1);
	fx_stop(&f);
}
END_TEST

struct log_capture {
	pthread_mutex_t lock;
	char last[512];
	unsigned infos;
};

static void on_log(idmefv2_log_level level, const char *message, void *user_data)
{
	struct log_capture *c = user_data;

	pthread_mutex_lock(&c->lock);
	if (level == IDMEFV2_LOG_INFO && strncmp(message, "400 to ", 7) == 0) {
		snprintf(c->last, sizeof(c->last), "%s", message);
		c->infos++;
	}
	pthread_mutex_unlock(&c->lock);
}

START_TEST(test_invalid_is_logged)
{
	struct log_capture c = { PTHREAD_MUTEX_INITIALIZER, "", 0 };
	idmefv2_transport *t;
	idmefv2_queue *q = idmefv2_queue_new(4);
	struct listen_reply r;
	char errstr[256] = "", url[64], body_arg[600], *dir = testlib_tmpdir();
	const char *msg = invalid_message_json(1);
	const char *args[] = { "--data-binary", body_arg, "-H", "Content-Type: application/json", url, NULL };

	ck_assert_int_eq(idmefv2_transport_new("http://127.0.0.1:0/", IDMEFV2_TRANSPORT_LISTENER, &t,
	                                       errstr, sizeof(errstr)), IDMEFV2_OK);
	idmefv2_transport_set_queue(t, q);
	idmefv2_transport_set_log_cb(t, on_log, &c);
	ck_assert_msg(idmefv2_transport_start(t, errstr, sizeof(errstr)) == IDMEFV2_OK, "%s", errstr);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", idmefv2_transport_get_port(t));
	ck_assert(testlib_write_file(testlib_path(dir, "m"), msg, strlen(msg)));
	snprintf(body_arg, sizeof(body_arg), "@%s", testlib_path(dir, "m"));
	ck_assert(listen_curl(dir, args, &r));
	ck_assert_uint_eq(r.status, 400);
	listen_reply_clear(&r);
	idmefv2_transport_free(t);
	/* Logged with the client's address and the failing pointer. */
	ck_assert_uint_eq(c.infos, 1);
	ck_assert_msg(strstr(c.last, "127.0.0.1") && strstr(c.last, "/Source/0/IP"), "%s", c.last);
	idmefv2_queue_unref(q);
	testlib_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_bind_in_use)
{
	struct fx f, g;
	char url[64], errstr[256] = "";
	idmefv2_error err;

	fx_start(&f, "http://127.0.0.1:0/", 10, NULL);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", f.port);
	err = fx_try_start(&g, url, 10, NULL, errstr, sizeof(errstr));
	ck_assert_int_eq(err, IDMEFV2_ERR_TRANSPORT);
	ck_assert_msg(strstr(errstr, "cannot listen"), "%s", errstr);
	idmefv2_transport_free(g.t);
	idmefv2_queue_unref(g.q);
	testlib_rmtree(g.dir);
	free(g.dir);
	fx_stop(&f);
}
END_TEST

/* ---- HTTPS ------------------------------------------------------------------------------------ */

static void make_certs(void)
{
	cert_dir = testlib_tmpdir();
	if (cert_dir && !listen_make_certs(cert_dir)) {
		testlib_rmtree(cert_dir);
		free(cert_dir);
		cert_dir = NULL; /* each TLS test then fails saying so */
	}
}

static void remove_certs(void)
{
	if (cert_dir)
		testlib_rmtree(cert_dir);
	free(cert_dir);
	cert_dir = NULL;
}

/* curl options for TLS: the CA, then a client certificate if @client names one. */
static const char *const *tls_args(const char *client, const char *extra1, const char *extra2)
{
	static char cert[512], key[512], ca[512];
	static const char *args[12];
	size_t n = 0;

	snprintf(ca, sizeof(ca), "%s", cert_path("ca.pem"));
	args[n++] = "--cacert";
	args[n++] = ca;
	if (client) {
		snprintf(cert, sizeof(cert), "%s/%s.pem", cert_dir, client);
		snprintf(key, sizeof(key), "%s/%s-key.pem", cert_dir, client);
		args[n++] = "--cert";
		args[n++] = cert;
		args[n++] = "--key";
		args[n++] = key;
	}
	if (extra1)
		args[n++] = extra1;
	if (extra2)
		args[n++] = extra2;
	args[n] = NULL;
	return args;
}

START_TEST(test_https_204)
{
	const char *opts[] = { "tls.cert", cert_path("server.pem"), "tls.key", cert_path("server-key.pem"), END_OPTS };
	static const char *const no_ca[] = { NULL };
	struct fx f;
	struct listen_reply r;

	fx_start(&f, "https://127.0.0.1:0/", 10, opts);
	ck_assert(strncmp(f.base, "https://", 8) == 0);
	fx_post(&f, message_json(1), tls_args(NULL, NULL, NULL), &r);
	ck_assert_msg(r.status == 204, "status %u curl %d", r.status, r.exit_code);
	listen_reply_clear(&r);
	ck_assert_int_eq(queue_next(&f), 1);

	/* Really TLS: without the CA, curl refuses the server's certificate. */
	fx_post(&f, message_json(2), no_ca, &r);
	ck_assert_int_eq(r.exit_code, 60);
	ck_assert_uint_eq(r.status, 0);
	listen_reply_clear(&r);

	/* A plain HTTP client gets no answer from a TLS port. */
	snprintf(f.base, sizeof(f.base), "http://127.0.0.1:%u", f.port);
	fx_post(&f, message_json(3), NULL, &r);
	ck_assert_uint_ne(r.status, 204);
	listen_reply_clear(&r);
	ck_assert_uint_eq(idmefv2_queue_size(f.q), 0);
	fx_stop(&f);
}
END_TEST

START_TEST(test_https_errors_on_tls_paths)
{
	const char *chunked_opts[] = { "tls.cert", cert_path("server.pem"), "tls.key", cert_path("server-key.pem"),
	                               "httpd.max_body", "1k", END_OPTS };
	struct fx f;
	struct listen_reply r;
	char big[4000];

	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	fx_start(&f, "https://127.0.0.1:0/", 10, chunked_opts);
	/* The early answer goes through the TLS session too. */
	fx_post(&f, big, tls_args(NULL, "-H", "Transfer-Encoding: chunked"), &r);
	ck_assert_msg(r.status == 413, "status %u curl %d", r.status, r.exit_code);
	listen_reply_clear(&r);
	fx_post(&f, invalid_message_json(1), tls_args(NULL, NULL, NULL), &r);
	ck_assert_uint_eq(r.status, 400);
	ck_assert_ptr_nonnull(strstr(r.body, "/Source/0/IP"));
	listen_reply_clear(&r);
	fx_stop(&f);
}
END_TEST

START_TEST(test_https_min_version)
{
	const char *v12[] = { "tls.cert", cert_path("server.pem"), "tls.key", cert_path("server-key.pem"), END_OPTS };
	const char *v13[] = { "tls.cert", cert_path("server.pem"), "tls.key", cert_path("server-key.pem"),
	                      "tls.min_version", "1.3", END_OPTS };
	struct fx f;
	struct listen_reply r;

	fx_start(&f, "https://127.0.0.1:0/", 10, v12);
	fx_post(&f, message_json(1), tls_args(NULL, "--tls-max", "1.2"), &r);
	ck_assert_msg(r.status == 204, "status %u curl %d", r.status, r.exit_code);
	listen_reply_clear(&r);
	fx_stop(&f);

	fx_start(&f, "https://127.0.0.1:0/", 10, v13);
	fx_post(&f, message_json(2), tls_args(NULL, "--tls-max", "1.2"), &r);
	ck_assert_int_eq(r.exit_code, 35); /* handshake refused */
	ck_assert_uint_eq(r.status, 0);
	listen_reply_clear(&r);
	ck_assert_uint_eq(idmefv2_queue_size(f.q), 0);
	fx_post(&f, message_json(3), tls_args(NULL, "--tlsv1.3", NULL), &r);
	ck_assert_uint_eq(r.status, 204);
	listen_reply_clear(&r);
	ck_assert_int_eq(queue_next(&f), 3);
	fx_stop(&f);
}
END_TEST

START_TEST(test_mutual_tls)
{
	const char *opts[] = { "tls.cert", cert_path("server.pem"), "tls.key", cert_path("server-key.pem"),
	                       "tls.client_ca", cert_path("ca.pem"), END_OPTS };
	struct fx f;
	struct listen_reply r;

	fx_start(&f, "https://127.0.0.1:0/", 10, opts);
	fx_post(&f, message_json(1), tls_args("client", NULL, NULL), &r);
	ck_assert_msg(r.status == 204, "status %u curl %d: %s", r.status, r.exit_code, r.body);
	listen_reply_clear(&r);
	ck_assert_int_eq(queue_next(&f), 1);

	fx_post(&f, message_json(2), tls_args(NULL, NULL, NULL), &r); /* no client certificate */
	ck_assert_msg(r.status == 403, "status %u curl %d", r.status, r.exit_code);
	ck_assert_ptr_nonnull(strstr(r.body, "certificate"));
	listen_reply_clear(&r);

	fx_post(&f, message_json(3), tls_args("rogue", NULL, NULL), &r); /* signed by an unknown CA */
	ck_assert_msg(r.status == 403, "status %u curl %d", r.status, r.exit_code);
	listen_reply_clear(&r);
	ck_assert_uint_eq(idmefv2_queue_size(f.q), 0);

	fx_post(&f, message_json(4), tls_args("other", NULL, NULL), &r); /* any client of the CA */
	ck_assert_uint_eq(r.status, 204);
	listen_reply_clear(&r);
	ck_assert_int_eq(queue_next(&f), 4);
	fx_stop(&f);
}
END_TEST

START_TEST(test_allowed_peers)
{
	const char *opts[] = { "tls.cert", cert_path("server.pem"), "tls.key", cert_path("server-key.pem"),
	                       "tls.client_ca", cert_path("ca.pem"), "tls.allowed_peers",
	                       "nobody.example, CLIENT1.example", END_OPTS };
	struct fx f;
	struct listen_reply r;

	fx_start(&f, "https://127.0.0.1:0/", 10, opts);
	fx_post(&f, message_json(1), tls_args("client", NULL, NULL), &r);
	ck_assert_msg(r.status == 204, "status %u curl %d: %s", r.status, r.exit_code, r.body);
	listen_reply_clear(&r);
	ck_assert_int_eq(queue_next(&f), 1);

	fx_post(&f, message_json(2), tls_args("other", NULL, NULL), &r); /* valid, but not listed */
	ck_assert_msg(r.status == 403, "status %u curl %d", r.status, r.exit_code);
	ck_assert_ptr_nonnull(strstr(r.body, "allowed_peers"));
	listen_reply_clear(&r);
	fx_post(&f, message_json(3), tls_args("rogue", NULL, NULL), &r); /* listed name, unknown CA */
	ck_assert_uint_eq(r.status, 403);
	listen_reply_clear(&r);
	ck_assert_uint_eq(idmefv2_queue_size(f.q), 0);
	fx_stop(&f);
}
END_TEST

START_TEST(test_tls_configuration_errors)
{
	const char *no_key[] = { "tls.cert", cert_path("server.pem"), END_OPTS };
	const char *missing[] = { "tls.cert", "/nonexistent/server.pem", "tls.key", cert_path("server-key.pem"), END_OPTS };
	const char *mismatch[] = { "tls.cert", cert_path("server.pem"), "tls.key", cert_path("client-key.pem"), END_OPTS };
	const char *peers_alone[] = { "tls.cert", cert_path("server.pem"), "tls.key", cert_path("server-key.pem"),
	                              "tls.allowed_peers", "client1.example", END_OPTS };
	const struct {
		const char *url;
		const char *const *opts;
		idmefv2_error err;
		const char *says;
	} cases[] = {
		{ "https://127.0.0.1:0/", no_key, IDMEFV2_ERR_INVALID_ARG, "tls.key" },
		{ "https://127.0.0.1:0/", missing, IDMEFV2_ERR_IO, "/nonexistent/server.pem" },
		{ "https://127.0.0.1:0/", mismatch, IDMEFV2_ERR_TRANSPORT, "tls.key" },
		{ "https://127.0.0.1:0/", peers_alone, IDMEFV2_ERR_INVALID_ARG, "tls.client_ca" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fx f;
		char errstr[512] = "";
		idmefv2_error err = fx_try_start(&f, cases[i].url, 10, cases[i].opts, errstr, sizeof(errstr));

		ck_assert_msg(err == cases[i].err, "case %zu: %s (%s)", i, idmefv2_strerror(err), errstr);
		ck_assert_msg(strstr(errstr, cases[i].says), "case %zu: \"%s\" lacks \"%s\"", i, errstr, cases[i].says);
		ck_assert_uint_eq(idmefv2_transport_get_port(f.t), 0);
		idmefv2_transport_free(f.t);
		idmefv2_queue_unref(f.q);
		testlib_rmtree(f.dir);
		free(f.dir);
	}
}
END_TEST

START_TEST(test_start_again_after_failure)
{
	const char *mismatch[] = { "tls.cert", cert_path("server.pem"), "tls.key", cert_path("client-key.pem"),
	                           "auth.bearer_token", "tok", END_OPTS };
	static const char *const bearer[] = { "-H", "Authorization: Bearer tok", NULL };
	struct fx f;
	struct listen_reply r;
	char errstr[512] = "";
	const char *const *args;

	ck_assert_int_eq(fx_try_start(&f, "https://127.0.0.1:0/", 10, mismatch, errstr, sizeof(errstr)),
	                 IDMEFV2_ERR_TRANSPORT);
	ck_assert_int_eq(idmefv2_transport_set(f.t, "tls.key", cert_path("server-key.pem"), errstr, sizeof(errstr)),
	                 IDMEFV2_OK);
	ck_assert_msg(idmefv2_transport_start(f.t, errstr, sizeof(errstr)) == IDMEFV2_OK, "%s", errstr);
	f.port = idmefv2_transport_get_port(f.t);
	snprintf(f.base, sizeof(f.base), "https://127.0.0.1:%u", f.port);
	args = tls_args(NULL, bearer[0], bearer[1]);
	fx_post(&f, message_json(1), args, &r);
	ck_assert_msg(r.status == 204, "status %u curl %d", r.status, r.exit_code);
	listen_reply_clear(&r);
	ck_assert_int_eq(queue_next(&f), 1);
	fx_stop(&f);
}
END_TEST

static Suite *http_listen_suite(void)
{
	Suite *s = suite_create("http-listen");
	TCase *tc = tcase_create("http");
	TCase *tls = tcase_create("https");

	tcase_add_test(tc, test_post_204);
	tcase_add_test(tc, test_max_connections);
	tcase_add_test(tc, test_method_405);
	tcase_add_test(tc, test_path_404_and_any_path);
	tcase_add_test(tc, test_content_type_415);
	tcase_add_test(tc, test_body_413);
	tcase_add_test(tc, test_chunked_413_stops_reading);
	tcase_add_test(tc, test_chunked_small_limit);
	tcase_add_test(tc, test_invalid_400);
	tcase_add_test(tc, test_malformed_400);
	tcase_add_test(tc, test_queue_full_503);
	tcase_add_test(tc, test_queue_timeout_waits_for_room);
	tcase_add_test(tc, test_auth_basic_401);
	tcase_add_test(tc, test_auth_bearer_401);
	tcase_add_test(tc, test_error_before_body_without_expect);
	tcase_add_test(tc, test_ndjson_batch);
	tcase_add_test(tc, test_ndjson_batch_larger_than_room);
	tcase_add_test(tc, test_message_callback);
	tcase_add_test(tc, test_stop_closes);
	tcase_add_test(tc, test_stop_while_waiting_for_room);
	tcase_add_test(tc, test_stop_answers_requests_under_way);
	tcase_add_test(tc, test_bind_option);
	tcase_add_test(tc, test_invalid_is_logged);
	tcase_add_test(tc, test_bind_in_use);
	suite_add_tcase(s, tc);

	tcase_add_unchecked_fixture(tls, make_certs, remove_certs);
	tcase_add_test(tls, test_https_204);
	tcase_add_test(tls, test_https_errors_on_tls_paths);
	tcase_add_test(tls, test_https_min_version);
	tcase_add_test(tls, test_mutual_tls);
	tcase_add_test(tls, test_allowed_peers);
	tcase_add_test(tls, test_tls_configuration_errors);
	tcase_add_test(tls, test_start_again_after_failure);
	suite_add_tcase(s, tls);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(http_listen_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
