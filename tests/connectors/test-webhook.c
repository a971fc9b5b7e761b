/* SPDX-License-Identifier: Apache-2.0 */
/* The webhook receiver, driven by the curl program on 127.0.0.1. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include <idmefv2/webhook.h>

struct sink {
	int calls;
	json_object *last;
	char method[16];
	char path[64];
	idmefv2_error verdict;
};

static idmefv2_error on_alert(json_object *body, const char *method, const char *path, void *user_data)
{
	struct sink *s = user_data;

	s->calls++;
	json_object_put(s->last);
	s->last = json_object_get(body);
	snprintf(s->method, sizeof(s->method), "%s", method);
	snprintf(s->path, sizeof(s->path), "%s", path);
	return s->verdict;
}

static void sink_clear(struct sink *s)
{
	json_object_put(s->last);
	memset(s, 0, sizeof(*s));
}

/* What curl -i printed: the status, the headers and the body, as one text. */
struct answer {
	long status;
	char text[8192];
};

/* Run curl with @args (NULL-terminated, after the program name and common options) against @path. */
static void run_curl(struct answer *a, unsigned port, const char *path, const char *const *extra)
{
	char url[128];
	const char *argv[40];
	int n = 0, fds[2], wstatus;
	size_t len = 0;
	ssize_t r;
	pid_t pid;

	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
	argv[n++] = "curl";
	argv[n++] = "-s";
	argv[n++] = "-i";
	argv[n++] = "--noproxy";
	argv[n++] = "*";
	argv[n++] = "--max-time";
	argv[n++] = "20";
	argv[n++] = "-H";
	argv[n++] = "Expect:";
	for (; extra && *extra; extra++)
		argv[n++] = *extra;
	argv[n++] = url;
	argv[n] = NULL;

	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execvp("curl", (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	while ((r = read(fds[0], a->text + len, sizeof(a->text) - 1 - len)) > 0 ||
	       (r < 0 && errno == EINTR))
		if (r > 0)
			len += (size_t)r;
	close(fds[0]);
	a->text[len] = '\0';
	ck_assert_int_eq(waitpid(pid, &wstatus, 0), pid);
	ck_assert_msg(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0, "curl failed: %d\n%s", wstatus, a->text);
	ck_assert_msg(sscanf(a->text, "HTTP/1.%*d %ld", &a->status) == 1, "no status line: %s", a->text);
}

static const char *body_of(const struct answer *a)
{
	const char *b = strstr(a->text, "\r\n\r\n");

	return b ? b + 4 : "";
}

static idmefv2_webhook *w;
static struct sink alerts;
static struct sink events;
static unsigned port;

static void setup(void)
{
	memset(&alerts, 0, sizeof(alerts));
	memset(&events, 0, sizeof(events));
	w = idmefv2_webhook_new();
	ck_assert_ptr_nonnull(w);
	ck_assert_int_eq(idmefv2_webhook_set_address(w, "127.0.0.1", 0), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_webhook_set_max_body(w, 256), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_webhook_set_retry_after(w, 7), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_webhook_add_route(w, "POST", "/alert", 200, on_alert, &alerts), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_webhook_add_route(w, "PUT", "/alert", 204, on_alert, &alerts), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_webhook_add_route(w, "POST", "/events", 204, on_alert, &events), IDMEFV2_OK);
}

static void start(void)
{
	char err[256] = "";

	ck_assert_msg(idmefv2_webhook_start(w, err, sizeof(err)) == IDMEFV2_OK, "%s", err);
	port = idmefv2_webhook_get_port(w);
	ck_assert_uint_gt(port, 0);
}

static void teardown(void)
{
	idmefv2_webhook_free(w);
	w = NULL;
	sink_clear(&alerts);
	sink_clear(&events);
}

#define JSON_CT "Content-Type: application/json"

START_TEST(test_route_ok)
{
	struct answer a;
	idmefv2_webhook_counters c;
	const char *post[] = { "-H", JSON_CT, "--data-binary", "{\"eventid\": \"12345\"}", NULL };
	const char *put[] = { "-X", "PUT", "-H", "Content-Type: application/json; charset=utf-8",
	                      "--data-binary", "[1,2]", NULL };
	const char *ev[] = { "-H", "Content-Type: text/json", "--data-binary", "{\"x\":null}", NULL };

	start();
	run_curl(&a, port, "/alert", post);
	ck_assert_int_eq(a.status, 200);
	ck_assert_str_eq(body_of(&a), "OK\n");
	ck_assert_int_eq(alerts.calls, 1);
	ck_assert_str_eq(alerts.method, "POST");
	ck_assert_str_eq(alerts.path, "/alert");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(alerts.last, "eventid")), "12345");

	run_curl(&a, port, "/alert", put);
	ck_assert_int_eq(a.status, 204);
	ck_assert_int_eq(alerts.calls, 2);
	ck_assert_str_eq(alerts.method, "PUT");
	ck_assert(json_object_is_type(alerts.last, json_type_array));
	ck_assert_int_eq(json_object_get_int(json_object_array_get_idx(alerts.last, 1)), 2);

	run_curl(&a, port, "/events", ev);
	ck_assert_int_eq(a.status, 204);
	ck_assert_int_eq(events.calls, 1);
	ck_assert_int_eq(alerts.calls, 2);
	ck_assert(json_object_object_get_ex(events.last, "x", NULL));

	idmefv2_webhook_get_counters(w, &c);
	ck_assert_uint_eq(c.requests, 3);
	ck_assert_uint_eq(c.accepted, 3);
	ck_assert_uint_eq(c.rejected, 0);
}
END_TEST

START_TEST(test_not_found_and_method)
{
	struct answer a;
	idmefv2_webhook_counters c;
	const char *post[] = { "-H", JSON_CT, "--data-binary", "{}", NULL };
	const char *get[] = { NULL };
	const char *del[] = { "-X", "DELETE", NULL };

	start();
	run_curl(&a, port, "/alerts", post);
	ck_assert_int_eq(a.status, 404);
	ck_assert_ptr_nonnull(strstr(body_of(&a), "\"error\""));
	run_curl(&a, port, "/alert?x=1/", post); /* the query string is not part of the path */
	ck_assert_int_eq(a.status, 200);
	ck_assert_int_eq(alerts.calls, 1);

	run_curl(&a, port, "/alert", get);
	ck_assert_int_eq(a.status, 405);
	ck_assert_ptr_nonnull(strstr(a.text, "Allow: POST, PUT\r\n"));
	run_curl(&a, port, "/events", del);
	ck_assert_int_eq(a.status, 405);
	ck_assert_ptr_nonnull(strstr(a.text, "Allow: POST\r\n"));
	ck_assert_int_eq(alerts.calls, 1);
	ck_assert_int_eq(events.calls, 0);

	idmefv2_webhook_get_counters(w, &c);
	ck_assert_uint_eq(c.requests, 4);
	ck_assert_uint_eq(c.accepted, 1);
	ck_assert_uint_eq(c.rejected, 3);
	ck_assert_uint_eq(c.not_found, 1);
	ck_assert_uint_eq(c.bad_method, 2);
}
END_TEST

START_TEST(test_bad_type_size_json)
{
	struct answer a;
	idmefv2_webhook_counters c;
	char big[400];
	const char *form[] = { "--data-binary", "{\"eventid\":1}", NULL }; /* curl's default: form-urlencoded */
	const char *noct[] = { "-H", "Content-Type:", "--data-binary", "{\"eventid\":1}", NULL };
	const char *large[] = { "-H", JSON_CT, "--data-binary", big, NULL };
	const char *chunked[] = { "-H", JSON_CT, "-H", "Transfer-Encoding: chunked", "--data-binary", big, NULL };
	const char *broken[] = { "-H", JSON_CT, "--data-binary", "{\n  \"eventid\": 12,,\n}", NULL };
	const char *trailing[] = { "-H", JSON_CT, "--data-binary", "{} x", NULL };

	memset(big, ' ', sizeof(big) - 3);
	big[0] = '[';
	big[sizeof(big) - 3] = ']';
	big[sizeof(big) - 2] = '\0';

	start();
	run_curl(&a, port, "/alert", form);
	ck_assert_int_eq(a.status, 415);
	run_curl(&a, port, "/alert", noct);
	ck_assert_int_eq(a.status, 415);
	run_curl(&a, port, "/alert", large);
	ck_assert_int_eq(a.status, 413);
	run_curl(&a, port, "/alert", chunked);
	ck_assert_int_eq(a.status, 413);
	run_curl(&a, port, "/alert", broken);
	ck_assert_int_eq(a.status, 400);
	ck_assert_msg(strstr(body_of(&a), "line 2") != NULL, "%s", a.text);
	ck_assert_msg(strstr(body_of(&a), "column") != NULL, "%s", a.text);
	run_curl(&a, port, "/alert", trailing);
	ck_assert_int_eq(a.status, 400);
	ck_assert_int_eq(alerts.calls, 0);

	idmefv2_webhook_get_counters(w, &c);
	ck_assert_uint_eq(c.requests, 6);
	ck_assert_uint_eq(c.bad_type, 2);
	ck_assert_uint_eq(c.too_large, 2);
	ck_assert_uint_eq(c.bad_request, 2);
	ck_assert_uint_eq(c.rejected, 6);
	ck_assert_uint_eq(c.accepted, 0);
}
END_TEST

START_TEST(test_callback_verdicts)
{
	struct answer a;
	idmefv2_webhook_counters c;
	const char *post[] = { "-H", JSON_CT, "--data-binary", "{\"eventid\":\"9\"}", NULL };

	start();
	alerts.verdict = IDMEFV2_ERR_FULL;
	run_curl(&a, port, "/alert", post);
	ck_assert_int_eq(a.status, 503);
	ck_assert_ptr_nonnull(strstr(a.text, "Retry-After: 7\r\n"));
	ck_assert_int_eq(alerts.calls, 1);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(alerts.last, "eventid")), "9");

	alerts.verdict = IDMEFV2_ERR_NOT_FOUND; /* e.g. no "eventid" member */
	run_curl(&a, port, "/alert", post);
	ck_assert_int_eq(a.status, 400);
	alerts.verdict = IDMEFV2_ERR_IO;
	run_curl(&a, port, "/alert", post);
	ck_assert_int_eq(a.status, 500);
	ck_assert_int_eq(alerts.calls, 3);

	idmefv2_webhook_get_counters(w, &c);
	ck_assert_uint_eq(c.unavailable, 1);
	ck_assert_uint_eq(c.bad_request, 1);
	ck_assert_uint_eq(c.internal_error, 1);
	ck_assert_uint_eq(c.rejected, 3);
}
END_TEST

START_TEST(test_basic_auth)
{
	struct answer a;
	idmefv2_webhook_counters c;
	const char *none[] = { "-H", JSON_CT, "--data-binary", "{}", NULL };
	const char *wrong[] = { "-u", "zabbix:nope", "-H", JSON_CT, "--data-binary", "{}", NULL };
	const char *right[] = { "-u", "zabbix:s3cr:et", "-H", JSON_CT, "--data-binary", "{\"a\":1}", NULL };

	ck_assert_int_eq(idmefv2_webhook_set_basic_auth(w, "zabbix", "s3cr:et"), IDMEFV2_OK);
	start();
	run_curl(&a, port, "/alert", none);
	ck_assert_int_eq(a.status, 401);
	ck_assert_ptr_nonnull(strstr(a.text, "WWW-Authenticate: Basic realm="));
	run_curl(&a, port, "/nowhere", wrong); /* auth is checked before routing */
	ck_assert_int_eq(a.status, 401);
	ck_assert_int_eq(alerts.calls, 0);
	run_curl(&a, port, "/alert", right);
	ck_assert_int_eq(a.status, 200);
	ck_assert_int_eq(alerts.calls, 1);
	ck_assert_int_eq(json_object_get_int(json_object_object_get(alerts.last, "a")), 1);

	idmefv2_webhook_get_counters(w, &c);
	ck_assert_uint_eq(c.unauthorized, 2);
	ck_assert_uint_eq(c.accepted, 1);
}
END_TEST

START_TEST(test_bearer)
{
	struct answer a;
	const char *wrong[] = { "-H", "Authorization: Bearer tok", "-H", JSON_CT, "--data-binary", "{}", NULL };
	const char *right[] = { "-H", "Authorization: Bearer token-1", "-H", JSON_CT, "--data-binary", "{}", NULL };

	ck_assert_int_eq(idmefv2_webhook_set_bearer(w, "token-1"), IDMEFV2_OK);
	start();
	run_curl(&a, port, "/alert", wrong);
	ck_assert_int_eq(a.status, 401);
	ck_assert_ptr_nonnull(strstr(a.text, "WWW-Authenticate: Bearer"));
	run_curl(&a, port, "/alert", right);
	ck_assert_int_eq(a.status, 200);
	ck_assert_int_eq(alerts.calls, 1);
}
END_TEST

START_TEST(test_lifecycle)
{
	struct answer a;
	char err[128] = "";
	idmefv2_webhook *empty = idmefv2_webhook_new();
	const char *post[] = { "-H", JSON_CT, "--data-binary", "{\"n\":2}", NULL };
	idmefv2_webhook *clash;
	unsigned first;

	ck_assert_int_eq(idmefv2_webhook_start(empty, err, sizeof(err)), IDMEFV2_ERR_STATE);
	ck_assert_str_eq(err, "no route registered");
	idmefv2_webhook_free(empty);
	ck_assert_int_eq(idmefv2_webhook_set_address(w, "localhost", 0), IDMEFV2_ERR_INVALID_ARG);
	ck_assert_int_eq(idmefv2_webhook_set_address(w, "127.0.0.1", 70000), IDMEFV2_ERR_INVALID_ARG);
	ck_assert_int_eq(idmefv2_webhook_add_route(w, "POST", "/alert", 200, on_alert, NULL), IDMEFV2_ERR_INVALID_ARG);
	ck_assert_int_eq(idmefv2_webhook_add_route(w, "POST", "alert", 200, on_alert, NULL), IDMEFV2_ERR_INVALID_ARG);
	ck_assert_int_eq(idmefv2_webhook_add_route(w, "POST", "/x", 201, on_alert, NULL), IDMEFV2_ERR_INVALID_ARG);
	ck_assert_uint_eq(idmefv2_webhook_get_port(w), 0);

	start();
	first = port;
	ck_assert_int_eq(idmefv2_webhook_start(w, NULL, 0), IDMEFV2_ERR_STATE);
	ck_assert_int_eq(idmefv2_webhook_add_route(w, "GET", "/y", 200, on_alert, NULL), IDMEFV2_ERR_STATE);

	/* The same port cannot be bound twice. */
	clash = idmefv2_webhook_new();
	ck_assert_int_eq(idmefv2_webhook_set_address(clash, "127.0.0.1", first), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_webhook_add_route(clash, "POST", "/alert", 200, on_alert, NULL), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_webhook_start(clash, err, sizeof(err)), IDMEFV2_ERR_TRANSPORT);
	idmefv2_webhook_free(clash);

	run_curl(&a, port, "/alert", post);
	ck_assert_int_eq(a.status, 200);
	idmefv2_webhook_stop(w);
	ck_assert_uint_eq(idmefv2_webhook_get_port(w), 0);
	idmefv2_webhook_stop(w);

	/* Restart on the port it had. */
	ck_assert_int_eq(idmefv2_webhook_set_address(w, "127.0.0.1", first), IDMEFV2_OK);
	start();
	ck_assert_uint_eq(port, first);
	run_curl(&a, port, "/alert", post);
	ck_assert_int_eq(a.status, 200);
	ck_assert_int_eq(alerts.calls, 2);
	ck_assert_int_eq(json_object_get_int(json_object_object_get(alerts.last, "n")), 2);
}
END_TEST

static Suite *webhook_suite(void)
{
	Suite *s = suite_create("webhook");
	TCase *tc = tcase_create("webhook");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_route_ok);
	tcase_add_test(tc, test_not_found_and_method);
	tcase_add_test(tc, test_bad_type_size_json);
	tcase_add_test(tc, test_callback_verdicts);
	tcase_add_test(tc, test_basic_auth);
	tcase_add_test(tc, test_bearer);
	tcase_add_test(tc, test_lifecycle);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(webhook_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
