/* SPDX-License-Identifier: Apache-2.0 */
#include <check.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <idmefv2/poller.h>

#include "poller-fixture.h"

typedef struct {
	char ids[64][64];
	size_t n;
	size_t refuse_after; /* refuse once this many were accepted; 0 never */
	unsigned errors_logged;
	char last_log[1024];
} sink;

static idmefv2_error on_item(json_object *item, void *ud)
{
	sink *s = ud;
	json_object *id;

	if (s->refuse_after && s->n >= s->refuse_after)
		return IDMEFV2_ERR_FULL;
	ck_assert(json_object_object_get_ex(item, "id", &id));
	ck_assert_uint_lt(s->n, 64);
	snprintf(s->ids[s->n++], sizeof(s->ids[0]), "%s", json_object_get_string(id));
	return IDMEFV2_OK;
}

static void on_log(idmefv2_log_level level, const char *message, void *ud)
{
	sink *s = ud;

	if (level == IDMEFV2_LOG_ERROR)
		s->errors_logged++;
	snprintf(s->last_log, sizeof(s->last_log), "%s", message);
}

static idmefv2_poller *make_poller(poller_fixture *f, const char *path, sink *s)
{
	idmefv2_poller *p = idmefv2_poller_new(poller_fixture_url(f, path));

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(idmefv2_poller_set_item_cb(p, on_item, s), IDMEFV2_OK);
	idmefv2_poller_set_log_cb(p, on_log, s);
	/* Interval 0: every poll fetches, so the tests never depend on timing. */
	ck_assert_int_eq(idmefv2_poller_set_interval(p, 0), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_poller_set_timeout(p, 5000), IDMEFV2_OK);
	return p;
}

static size_t poll_once(idmefv2_poller *p)
{
	size_t n = 999;

	ck_assert_int_eq(idmefv2_poller_poll(p, 0, &n), IDMEFV2_OK);
	return n;
}

START_TEST(test_dedup_across_polls)
{
	poller_fixture *f = poller_fixture_start();
	sink s = { 0 };
	idmefv2_poller *p = make_poller(f, "/api/v1/alerts", &s);
	idmefv2_poller_counters c;

	ck_assert_int_eq(idmefv2_poller_set_items_path(p, "data.alerts"), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_poller_set_key_field(p, "id"), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_poller_start(p, NULL, 0), IDMEFV2_OK);

	poller_fixture_set_reply(f, 200, "{\"status\":\"success\",\"data\":{\"alerts\":[{\"id\":\"a\"},{\"id\":\"b\"}]}}");
	ck_assert_uint_eq(poll_once(p), 2);
	ck_assert_uint_eq(poll_once(p), 0);
	poller_fixture_set_reply(f, 200,
	                         "{\"status\":\"success\",\"data\":{\"alerts\":[{\"id\":\"a\"},{\"id\":\"b\"},{\"id\":\"c\"}]}}");
	ck_assert_uint_eq(poll_once(p), 1);
	ck_assert_uint_eq(s.n, 3);
	ck_assert_str_eq(s.ids[0], "a");
	ck_assert_str_eq(s.ids[1], "b");
	ck_assert_str_eq(s.ids[2], "c");
	idmefv2_poller_get_counters(p, &c);
	ck_assert_uint_eq(c.fetches, 3);
	ck_assert_uint_eq(c.responses, 3);
	ck_assert_uint_eq(c.items, 3);
	ck_assert_uint_eq(c.duplicates, 4);
	ck_assert_uint_eq(poller_fixture_requests(f), 3);
	idmefv2_poller_free(p);
	poller_fixture_stop(f);
}
END_TEST

START_TEST(test_bounded_memory)
{
	poller_fixture *f = poller_fixture_start();
	sink s = { 0 };
	idmefv2_poller *p = make_poller(f, "/", &s);

	ck_assert_int_eq(idmefv2_poller_set_key_field(p, "id"), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_poller_set_max_keys(p, 2), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_poller_start(p, NULL, 0), IDMEFV2_OK);
	poller_fixture_set_reply(f, 200, "[{\"id\":\"a\"},{\"id\":\"b\"},{\"id\":\"c\"}]");
	ck_assert_uint_eq(poll_once(p), 3);
	/* Only b and c are remembered: a comes back as new. */
	poller_fixture_set_reply(f, 200, "[{\"id\":\"c\"},{\"id\":\"a\"}]");
	ck_assert_uint_eq(poll_once(p), 1);
	ck_assert_str_eq(s.ids[3], "a");
	idmefv2_poller_free(p);
	poller_fixture_stop(f);
}
END_TEST

START_TEST(test_seed)
{
	poller_fixture *f = poller_fixture_start();
	sink s = { 0 };
	idmefv2_poller *p = make_poller(f, "/", &s);
	idmefv2_poller_counters c;

	ck_assert_int_eq(idmefv2_poller_set_seed(p, true), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_poller_start(p, NULL, 0), IDMEFV2_OK);
	poller_fixture_set_reply(f, 200, "[{\"id\":1},{\"id\":2}]");
	ck_assert_uint_eq(poll_once(p), 0);
	ck_assert_uint_eq(s.n, 0);
	/* No key field: the whole item is the key. */
	poller_fixture_set_reply(f, 200, "[{\"id\":1},{\"id\":2},{\"id\":3}]");
	ck_assert_uint_eq(poll_once(p), 1);
	ck_assert_str_eq(s.ids[0], "3");
	idmefv2_poller_get_counters(p, &c);
	ck_assert_uint_eq(c.seeded, 2);
	ck_assert_uint_eq(c.items, 1);
	idmefv2_poller_free(p);
	poller_fixture_stop(f);
}
END_TEST

START_TEST(test_seed_after_failure)
{
	poller_fixture *f = poller_fixture_start();
	sink s = { 0 };
	idmefv2_poller *p = make_poller(f, "/", &s);

	ck_assert_int_eq(idmefv2_poller_set_seed(p, true), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_poller_start(p, NULL, 0), IDMEFV2_OK);
	poller_fixture_set_reply(f, 503, "down");
	ck_assert_uint_eq(poll_once(p), 0);
	/* The first successful fetch seeds, not the first attempt. */
	poller_fixture_set_reply(f, 200, "[{\"id\":1}]");
	ck_assert_uint_eq(poll_once(p), 0);
	ck_assert_uint_eq(s.n, 0);
	idmefv2_poller_free(p);
	poller_fixture_stop(f);
}
END_TEST

START_TEST(test_basic_auth)
{
	poller_fixture *f = poller_fixture_start();
	sink s = { 0 };
	idmefv2_poller *p = make_poller(f, "/alerts/all_alerts.json", &s);
	char auth[512], method[16], body[4096];

	ck_assert_int_eq(idmefv2_poller_set_basic_auth(p, "kismet", "secret"), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_poller_start(p, NULL, 0), IDMEFV2_OK);
	poller_fixture_set_reply(f, 200, "[{\"id\":\"k1\"}]");
	ck_assert_uint_eq(poll_once(p), 1);
	poller_fixture_last(f, auth, sizeof(auth), method, sizeof(method), body, sizeof(body));
	/* base64("kismet:secret") */
	ck_assert_str_eq(auth, "Basic a2lzbWV0OnNlY3JldA==");
	ck_assert_str_eq(method, "GET");
	idmefv2_poller_free(p);
	poller_fixture_stop(f);
}
END_TEST

START_TEST(test_bearer)
{
	poller_fixture *f = poller_fixture_start();
	sink s = { 0 };
	idmefv2_poller *p = make_poller(f, "/", &s);
	char auth[512], method[16], body[4096];

	ck_assert_int_eq(idmefv2_poller_set_basic_auth(p, "u", "p"), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_poller_set_bearer(p, "tok123"), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_poller_start(p, NULL, 0), IDMEFV2_OK);
	poll_once(p);
	poller_fixture_last(f, auth, sizeof(auth), method, sizeof(method), body, sizeof(body));
	ck_assert_str_eq(auth, "Bearer tok123");
	/* A renewed token applies to the next fetch. */
	ck_assert_int_eq(idmefv2_poller_set_bearer(p, "tok456"), IDMEFV2_OK);
	poll_once(p);
	poller_fixture_last(f, auth, sizeof(auth), method, sizeof(method), body, sizeof(body));
	ck_assert_str_eq(auth, "Bearer tok456");
	idmefv2_poller_free(p);
	poller_fixture_stop(f);
}
END_TEST

START_TEST(test_errors_counted_and_recovered)
{
	poller_fixture *f = poller_fixture_start();
	sink s = { 0 };
	idmefv2_poller *p = make_poller(f, "/", &s);
	idmefv2_poller_counters c;

	ck_assert_int_eq(idmefv2_poller_set_key_field(p, "id"), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_poller_start(p, NULL, 0), IDMEFV2_OK);
	poller_fixture_set_reply(f, 500, "{\"error\":\"boom\"}");
	ck_assert_uint_eq(poll_once(p), 0);
	ck_assert_ptr_nonnull(strstr(s.last_log, "500"));
	poller_fixture_set_reply(f, 200, "[{\"id\":\"x\"},");
	ck_assert_uint_eq(poll_once(p), 0);
	poller_fixture_set_reply(f, 200, "[{\"id\":\"x\"}] trailing");
	ck_assert_uint_eq(poll_once(p), 0);
	poller_fixture_set_reply(f, 200, "{\"not\":\"an array\"}");
	ck_assert_uint_eq(poll_once(p), 0);
	poller_fixture_set_reply(f, 200, "[{\"id\":\"x\"}]");
	ck_assert_uint_eq(poll_once(p), 1);
	idmefv2_poller_get_counters(p, &c);
	ck_assert_uint_eq(c.fetches, 5);
	ck_assert_uint_eq(c.http_errors, 1);
	ck_assert_uint_eq(c.parse_errors, 3);
	ck_assert_uint_eq(c.responses, 2);
	ck_assert_uint_eq(c.items, 1);
	ck_assert_uint_eq(s.errors_logged, 4);
	idmefv2_poller_free(p);
	poller_fixture_stop(f);
}
END_TEST

START_TEST(test_connection_error)
{
	poller_fixture *f = poller_fixture_start();
	char url[256];
	sink s = { 0 };
	idmefv2_poller *p;
	idmefv2_poller_counters c;

	/* A port that was just free: nothing listens there after the fixture stops. */
	snprintf(url, sizeof(url), "%s", poller_fixture_url(f, "/"));
	poller_fixture_stop(f);
	p = idmefv2_poller_new(url);
	ck_assert_ptr_nonnull(p);
	idmefv2_poller_set_item_cb(p, on_item, &s);
	idmefv2_poller_set_log_cb(p, on_log, &s);
	idmefv2_poller_set_interval(p, 0);
	ck_assert_int_eq(idmefv2_poller_start(p, NULL, 0), IDMEFV2_OK);
	ck_assert_uint_eq(poll_once(p), 0);
	idmefv2_poller_get_counters(p, &c);
	ck_assert_uint_eq(c.conn_errors, 1);
	ck_assert_uint_eq(s.errors_logged, 1);
	idmefv2_poller_free(p);
}
END_TEST

START_TEST(test_tls_failure_counted)
{
	poller_fixture *f = poller_fixture_start();
	char url[256];
	sink s = { 0 };
	idmefv2_poller *p;
	idmefv2_poller_counters c;

	/* https:// to a plain HTTP server: the handshake fails, nothing is delivered. */
	snprintf(url, sizeof(url), "https%s", poller_fixture_url(f, "/") + strlen("http"));
	p = idmefv2_poller_new(url);
	ck_assert_ptr_nonnull(p);
	idmefv2_poller_set_item_cb(p, on_item, &s);
	idmefv2_poller_set_log_cb(p, on_log, &s);
	idmefv2_poller_set_interval(p, 0);
	ck_assert_int_eq(idmefv2_poller_set_ca_file(p, TEST_DATA_DIR "/no-such-ca.pem"), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_poller_start(p, NULL, 0), IDMEFV2_OK);
	poller_fixture_set_reply(f, 200, "[{\"id\":\"a\"}]");
	ck_assert_uint_eq(poll_once(p), 0);
	idmefv2_poller_get_counters(p, &c);
	ck_assert_uint_eq(c.conn_errors, 1);
	ck_assert_uint_eq(s.n, 0);
	idmefv2_poller_free(p);
	poller_fixture_stop(f);
}
END_TEST

START_TEST(test_refused_item_offered_again)
{
	poller_fixture *f = poller_fixture_start();
	sink s = { 0 };
	idmefv2_poller *p = make_poller(f, "/", &s);
	idmefv2_poller_counters c;

	ck_assert_int_eq(idmefv2_poller_set_key_field(p, "id"), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_poller_start(p, NULL, 0), IDMEFV2_OK);
	poller_fixture_set_reply(f, 200, "[{\"id\":\"a\"},{\"id\":\"b\"},{\"id\":\"c\"}]");
	s.refuse_after = 1;
	ck_assert_uint_eq(poll_once(p), 1);
	s.refuse_after = 0;
	ck_assert_uint_eq(poll_once(p), 2);
	ck_assert_str_eq(s.ids[1], "b");
	ck_assert_str_eq(s.ids[2], "c");
	idmefv2_poller_get_counters(p, &c);
	ck_assert_uint_eq(c.refused, 1);
	idmefv2_poller_free(p);
	poller_fixture_stop(f);
}
END_TEST

static idmefv2_error reject_unless_success(json_object *resp, long status, void *ud)
{
	json_object *st;

	(void)ud;
	ck_assert_int_eq(status, 200);
	if (!json_object_object_get_ex(resp, "status", &st) || strcmp(json_object_get_string(st), "success") != 0)
		return IDMEFV2_ERR_INVALID;
	return IDMEFV2_OK;
}

START_TEST(test_response_cb_rejects)
{
	poller_fixture *f = poller_fixture_start();
	sink s = { 0 };
	idmefv2_poller *p = make_poller(f, "/", &s);
	idmefv2_poller_counters c;

	ck_assert_int_eq(idmefv2_poller_set_response_cb(p, reject_unless_success, NULL), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_poller_set_items_path(p, "$.data.alerts"), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_poller_start(p, NULL, 0), IDMEFV2_OK);
	poller_fixture_set_reply(f, 200, "{\"status\":\"error\",\"data\":{\"alerts\":[{\"id\":\"a\"}]}}");
	ck_assert_uint_eq(poll_once(p), 0);
	poller_fixture_set_reply(f, 200, "{\"status\":\"success\",\"data\":{\"alerts\":[{\"id\":\"a\"}]}}");
	ck_assert_uint_eq(poll_once(p), 1);
	idmefv2_poller_get_counters(p, &c);
	ck_assert_uint_eq(c.rejected, 1);
	idmefv2_poller_free(p);
	poller_fixture_stop(f);
}
END_TEST

START_TEST(test_jsonrpc_mode)
{
	poller_fixture *f = poller_fixture_start();
	sink s = { 0 };
	idmefv2_poller *p = make_poller(f, "/api_jsonrpc.php", &s);
	json_object *params = json_tokener_parse("{\"output\":\"extend\",\"recent\":true}");
	json_object *result = NULL, *req;
	char auth[512], method[16], body[4096], err[512] = "";
	idmefv2_poller_counters c;

	/* Login before the poller is started, token in the result. */
	poller_fixture_set_reply(f, 200, "{\"jsonrpc\":\"2.0\",\"result\":\"tok-zbx\",\"id\":1}");
	ck_assert_int_eq(idmefv2_poller_call(p, "user.login", NULL, &result, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_str_eq(json_object_get_string(result), "tok-zbx");
	poller_fixture_last(f, auth, sizeof(auth), method, sizeof(method), body, sizeof(body));
	ck_assert_str_eq(method, "POST");
	ck_assert_str_eq(auth, "");
	req = json_tokener_parse(body);
	ck_assert_ptr_nonnull(req);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(req, "jsonrpc")), "2.0");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(req, "method")), "user.login");
	ck_assert_int_eq(json_object_get_int(json_object_object_get(req, "id")), 1);
	json_object_put(req);
	ck_assert_int_eq(idmefv2_poller_set_bearer(p, json_object_get_string(result)), IDMEFV2_OK);
	json_object_put(result);

	ck_assert_int_eq(idmefv2_poller_set_jsonrpc(p, "problem.get", params), IDMEFV2_OK);
	json_object_put(params);
	ck_assert_int_eq(idmefv2_poller_set_key_field(p, "eventid"), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_poller_start(p, NULL, 0), IDMEFV2_OK);
	poller_fixture_set_reply(f, 200,
	                         "{\"jsonrpc\":\"2.0\",\"result\":[{\"eventid\":\"7\",\"id\":\"e7\"}],\"id\":2}");
	ck_assert_uint_eq(poll_once(p), 1);
	poller_fixture_last(f, auth, sizeof(auth), method, sizeof(method), body, sizeof(body));
	ck_assert_str_eq(auth, "Bearer tok-zbx");
	req = json_tokener_parse(body);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(req, "method")), "problem.get");
	ck_assert(json_object_get_boolean(json_object_object_get(json_object_object_get(req, "params"), "recent")));
	json_object_put(req);

	/* An error object is reported clearly and counted; the next fetch recovers. */
	poller_fixture_set_reply(f, 200,
	                         "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32602,\"message\":\"Invalid params.\","
	                         "\"data\":\"Not authorized.\"},\"id\":3}");
	ck_assert_uint_eq(poll_once(p), 0);
	ck_assert_ptr_nonnull(strstr(s.last_log, "-32602"));
	ck_assert_ptr_nonnull(strstr(s.last_log, "Invalid params."));
	ck_assert_ptr_nonnull(strstr(s.last_log, "Not authorized."));
	/* A reply to another id is not taken. */
	poller_fixture_set_reply(f, 200, "{\"jsonrpc\":\"2.0\",\"result\":[{\"eventid\":\"8\",\"id\":\"e8\"}],\"id\":99}");
	ck_assert_uint_eq(poll_once(p), 0);
	poller_fixture_set_reply(f, 200,
	                         "{\"jsonrpc\":\"2.0\",\"result\":[{\"eventid\":\"7\",\"id\":\"e7\"},"
	                         "{\"eventid\":\"8\",\"id\":\"e8\"}],\"id\":5}");
	ck_assert_uint_eq(poll_once(p), 1);
	ck_assert_str_eq(s.ids[1], "e8");
	idmefv2_poller_get_counters(p, &c);
	ck_assert_uint_eq(c.rpc_errors, 1);
	ck_assert_uint_eq(c.parse_errors, 1);
	ck_assert_uint_eq(c.items, 2);
	idmefv2_poller_free(p);
	poller_fixture_stop(f);
}
END_TEST

START_TEST(test_jsonrpc_call_error)
{
	poller_fixture *f = poller_fixture_start();
	idmefv2_poller *p = idmefv2_poller_new(poller_fixture_url(f, "/"));
	json_object *result = NULL;
	char err[512] = "";

	poller_fixture_set_reply(f, 200,
	                         "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32500,\"message\":\"Application error.\","
	                         "\"data\":\"Incorrect user name or password.\"},\"id\":1}");
	ck_assert_int_eq(idmefv2_poller_call(p, "user.login", NULL, &result, err, sizeof(err)), IDMEFV2_ERR_INVALID);
	ck_assert_ptr_null(result);
	ck_assert_str_eq(err, "JSON-RPC error -32500: Application error.: Incorrect user name or password.");
	poller_fixture_set_reply(f, 401, "no");
	ck_assert_int_eq(idmefv2_poller_call(p, "user.login", NULL, &result, err, sizeof(err)), IDMEFV2_ERR_TRANSPORT);
	ck_assert_ptr_nonnull(strstr(err, "401"));
	idmefv2_poller_free(p);
	poller_fixture_stop(f);
}
END_TEST

START_TEST(test_state_file_persistence)
{
	poller_fixture *f = poller_fixture_start();
	char dir[] = "/tmp/test-poller-XXXXXX";
	char state[256], tmp[300];
	sink s1 = { 0 }, s2 = { 0 };
	idmefv2_poller *p;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(state, sizeof(state), "%s/poller.state", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", state);

	p = make_poller(f, "/", &s1);
	ck_assert_int_eq(idmefv2_poller_set_key_field(p, "id"), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_poller_set_state_file(p, state), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_poller_start(p, NULL, 0), IDMEFV2_OK);
	poller_fixture_set_reply(f, 200, "[{\"id\":\"a\"},{\"id\":\"b\"}]");
	ck_assert_uint_eq(poll_once(p), 2);
	idmefv2_poller_free(p);
	ck_assert_int_eq(access(state, R_OK), 0);
	ck_assert_int_ne(access(tmp, F_OK), 0);

	/* A new poller with seeding: the state wins, so c (new while down) is delivered, a and b are not. */
	p = make_poller(f, "/", &s2);
	ck_assert_int_eq(idmefv2_poller_set_key_field(p, "id"), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_poller_set_state_file(p, state), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_poller_set_seed(p, true), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_poller_start(p, NULL, 0), IDMEFV2_OK);
	poller_fixture_set_reply(f, 200, "[{\"id\":\"a\"},{\"id\":\"b\"},{\"id\":\"c\"}]");
	ck_assert_uint_eq(poll_once(p), 1);
	ck_assert_uint_eq(s2.n, 1);
	ck_assert_str_eq(s2.ids[0], "c");
	idmefv2_poller_free(p);

	unlink(state);
	rmdir(dir);
	poller_fixture_stop(f);
}
END_TEST

START_TEST(test_state_file_malformed)
{
	char dir[] = "/tmp/test-poller-XXXXXX";
	char state[256], err[256] = "";
	idmefv2_poller *p;
	sink s = { 0 };
	FILE *fp;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(state, sizeof(state), "%s/poller.state", dir);
	fp = fopen(state, "w");
	ck_assert_ptr_nonnull(fp);
	fputs("garbage\n", fp);
	fclose(fp);
	p = idmefv2_poller_new("http://127.0.0.1:1/");
	idmefv2_poller_set_item_cb(p, on_item, &s);
	idmefv2_poller_set_state_file(p, state);
	ck_assert_int_eq(idmefv2_poller_start(p, err, sizeof(err)), IDMEFV2_ERR_PARSE);
	ck_assert_ptr_nonnull(strstr(err, state));
	idmefv2_poller_free(p);
	unlink(state);
	rmdir(dir);
}
END_TEST

START_TEST(test_api_checks)
{
	idmefv2_poller *p;
	json_object *root, *items = NULL;

	ck_assert_ptr_null(idmefv2_poller_new(NULL));
	ck_assert_ptr_null(idmefv2_poller_new(""));
	p = idmefv2_poller_new("http://127.0.0.1:1/");
	ck_assert_int_eq(idmefv2_poller_poll(p, 0, NULL), IDMEFV2_ERR_STATE);
	ck_assert_int_eq(idmefv2_poller_start(p, NULL, 0), IDMEFV2_ERR_STATE);
	ck_assert_int_eq(idmefv2_poller_set_max_keys(p, 0), IDMEFV2_ERR_INVALID_ARG);
	ck_assert_int_eq(idmefv2_poller_set_timeout(p, 0), IDMEFV2_ERR_INVALID_ARG);
	ck_assert_int_eq(idmefv2_poller_get_next_ms(p), -1);
	idmefv2_poller_set_interval(p, 60000);
	idmefv2_poller_set_item_cb(p, on_item, NULL);
	ck_assert_int_eq(idmefv2_poller_start(p, NULL, 0), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_poller_set_seed(p, true), IDMEFV2_ERR_STATE);
	ck_assert_int_eq(idmefv2_poller_start(p, NULL, 0), IDMEFV2_ERR_STATE);
	idmefv2_poller_free(p);
	idmefv2_poller_free(NULL);

	root = json_tokener_parse("{\"a\":{\"b\":[[1,2],[3]]},\"c\":5}");
	ck_assert_int_eq(idmefv2_json_get_array(root, "a.b", &items), IDMEFV2_OK);
	ck_assert_uint_eq(json_object_array_length(items), 2);
	ck_assert_int_eq(idmefv2_json_get_array(root, "$.a.b.1", &items), IDMEFV2_OK);
	ck_assert_uint_eq(json_object_array_length(items), 1);
	ck_assert_int_eq(idmefv2_json_get_array(root, "a.x", &items), IDMEFV2_ERR_NOT_FOUND);
	ck_assert_int_eq(idmefv2_json_get_array(root, "a.b.7", &items), IDMEFV2_ERR_NOT_FOUND);
	ck_assert_int_eq(idmefv2_json_get_array(root, "c", &items), IDMEFV2_ERR_TYPE);
	ck_assert_int_eq(idmefv2_json_get_array(root, "", &items), IDMEFV2_ERR_TYPE);
	ck_assert_int_eq(idmefv2_json_get_array(root, "a..b", &items), IDMEFV2_ERR_PATH);
	ck_assert_int_eq(idmefv2_json_get_array(root, "a.", &items), IDMEFV2_ERR_PATH);
	json_object_put(root);
}
END_TEST

START_TEST(test_interval_not_due)
{
	poller_fixture *f = poller_fixture_start();
	sink s = { 0 };
	idmefv2_poller *p = make_poller(f, "/", &s);

	ck_assert_int_eq(idmefv2_poller_set_interval(p, 3600 * 1000), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_poller_start(p, NULL, 0), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_poller_get_next_ms(p), 0);
	poll_once(p);
	poll_once(p);
	/* The second poll came well within the hour: one fetch only. */
	ck_assert_uint_eq(poller_fixture_requests(f), 1);
	ck_assert_int_gt(idmefv2_poller_get_next_ms(p), 0);
	idmefv2_poller_free(p);
	poller_fixture_stop(f);
}
END_TEST

static Suite *poller_suite(void)
{
	Suite *s = suite_create("poller");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_dedup_across_polls);
	tcase_add_test(tc, test_bounded_memory);
	tcase_add_test(tc, test_seed);
	tcase_add_test(tc, test_seed_after_failure);
	tcase_add_test(tc, test_basic_auth);
	tcase_add_test(tc, test_bearer);
	tcase_add_test(tc, test_errors_counted_and_recovered);
	tcase_add_test(tc, test_connection_error);
	tcase_add_test(tc, test_tls_failure_counted);
	tcase_add_test(tc, test_refused_item_offered_again);
	tcase_add_test(tc, test_response_cb_rejects);
	tcase_add_test(tc, test_jsonrpc_mode);
	tcase_add_test(tc, test_jsonrpc_call_error);
	tcase_add_test(tc, test_state_file_persistence);
	tcase_add_test(tc, test_state_file_malformed);
	tcase_add_test(tc, test_api_checks);
	tcase_add_test(tc, test_interval_not_due);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(poller_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
