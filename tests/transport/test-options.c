/* SPDX-License-Identifier: Apache-2.0 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport-config.h"
#include "transport-generic.h"
#include "transport-private.h"

#include "testlib.h"

static char err[256];

/* A backend that does nothing: enough to create a transport of any scheme. */
static const struct idmefv2__backend null_backend = {
	.scheme = "null",
	.can_send = true,
	.can_listen = true,
};

static idmefv2_transport *new_null(const char *url)
{
	idmefv2_transport *t = NULL;

	ck_assert_int_eq(idmefv2__transport_new_with_backend(url, IDMEFV2_TRANSPORT_SENDER, &null_backend, &t, err,
	                                                     sizeof(err)), IDMEFV2_OK);
	return t;
}

START_TEST(test_table_well_formed)
{
	size_t n = 0;
	const idmefv2_option_desc *opts = idmefv2_transport_options(&n);

	ck_assert_ptr_nonnull(opts);
	ck_assert_uint_ge(n, 30);
	ck_assert_ptr_eq(idmefv2_transport_options(NULL), opts);
	for (size_t i = 0; i < n; i++) {
		const idmefv2_option_desc *o = &opts[i];
		ck_assert_msg(o->name && *o->name, "row %zu has no name", i);
		ck_assert_msg(o->description && strlen(o->description) > 10, "%s has no description", o->name);
		ck_assert_msg(o->schemes && *o->schemes, "%s has no schemes", o->name);
		ck_assert_msg(o->type <= IDMEFV2_OPTION_SIZE, "%s has a bad type", o->name);
		ck_assert_ptr_eq(idmefv2__option_find(o->name), o);
		if (o->default_value)
			ck_assert_msg(idmefv2__option_check(o, o->default_value, NULL, err, sizeof(err)) == IDMEFV2_OK,
			              "%s: default '%s' invalid: %s", o->name, o->default_value, err);
		else
			ck_assert_msg(o->type == IDMEFV2_OPTION_STRING, "%s: only strings may be unset", o->name);
		for (size_t j = 0; j < i; j++)
			ck_assert_msg(strcmp(opts[j].name, o->name) != 0, "%s twice", o->name);
		for (const char *p = o->schemes; *p;) {
			size_t len = strcspn(p, ",");
			ck_assert_msg((len == 4 && !strncmp(p, "http", 4)) || (len == 5 && !strncmp(p, "https", 5)) ||
			              (len == 5 && !strncmp(p, "kafka", 5)) || (len == 4 && !strncmp(p, "file", 4)),
			              "%s: unknown scheme in '%s'", o->name, o->schemes);
			p += len + (p[len] == ',');
		}
	}
}
END_TEST

START_TEST(test_required_names)
{
	static const char *const names[] = {
		"content_type", "validate", "queue.size", "queue.timeout_ms", "retry.max", "retry.backoff_ms",
		"retry.backoff_max_ms", "spool.dir", "spool.max_bytes", "dead_letter", "stop.flush_timeout_ms",
		"listen.queue_timeout_ms", "tls.verify", "tls.ca_file", "tls.ca_dir", "tls.cert", "tls.key",
		"tls.key_password", "tls.min_version", "tls.client_ca", "tls.allowed_peers", "auth.username",
		"auth.password", "auth.bearer_token", "http.timeout_ms", "http.connect_timeout_ms",
		"http.max_in_flight", "http.http2", "http.batch", "httpd.max_body", "httpd.any_path",
		"httpd.threads", "httpd.max_connections", "httpd.bind", "group_id", "record_key", "dead_letter_topic", "file.extension",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		ck_assert_msg(idmefv2__option_find(names[i]), "%s missing", names[i]);
	ck_assert_str_eq(idmefv2__option_find("queue.size")->default_value, "10000");
	ck_assert_str_eq(idmefv2__option_find("tls.min_version")->default_value, "1.2");
	ck_assert_str_eq(idmefv2__option_find("file.extension")->default_value, ".json");
	ck_assert_ptr_null(idmefv2__option_find("spool.dir")->default_value);
}
END_TEST

START_TEST(test_defaults_and_values)
{
	idmefv2_transport *t = new_null("https://siem.example/in");

	ck_assert_int_eq(idmefv2__opt_int(t, "queue.size"), 10000);
	ck_assert_int_eq(idmefv2__opt_int(t, "retry.max"), -1);
	ck_assert_int_eq(idmefv2__opt_int(t, "httpd.max_body"), 1024 * 1024);
	ck_assert_int_eq(idmefv2__opt_int(t, "spool.max_bytes"), INT64_C(1) << 30);
	ck_assert(idmefv2__opt_bool(t, "validate"));
	ck_assert(!idmefv2__opt_bool(t, "httpd.any_path"));
	ck_assert_str_eq(idmefv2__opt_str(t, "content_type"), "application/json");
	ck_assert_ptr_null(idmefv2__opt_str(t, "spool.dir"));
	ck_assert_ptr_null(idmefv2__opt_str(t, "no.such"));

	ck_assert_int_eq(idmefv2_transport_set(t, "spool.max_bytes", "10M", err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2__opt_int(t, "spool.max_bytes"), 10 * 1024 * 1024);
	ck_assert_int_eq(idmefv2_transport_set(t, "spool.max_bytes", "2k", err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2__opt_int(t, "spool.max_bytes"), 2048);
	ck_assert_int_eq(idmefv2_transport_set(t, "validate", "false", err, sizeof(err)), IDMEFV2_OK);
	ck_assert(!idmefv2__opt_bool(t, "validate"));
	ck_assert_int_eq(idmefv2_transport_set(t, "validate", "yes", err, sizeof(err)), IDMEFV2_OK);
	ck_assert(idmefv2__opt_bool(t, "validate"));
	ck_assert_int_eq(idmefv2_transport_set(t, "queue.timeout_ms", "-1", err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2__opt_int(t, "queue.timeout_ms"), -1);
	ck_assert_int_eq(idmefv2_transport_set(t, "tls.min_version", "1.3", err, sizeof(err)), IDMEFV2_OK);
	ck_assert_str_eq(idmefv2__opt_str(t, "tls.min_version"), "1.3");
	ck_assert_int_eq(idmefv2_transport_set(t, "content_type", "text/json", err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_transport_set(t, "spool.dir", "/tmp/x", err, sizeof(err)), IDMEFV2_OK);
	ck_assert_str_eq(idmefv2__opt_str(t, "spool.dir"), "/tmp/x");
	idmefv2_transport_free(t);
}
END_TEST

START_TEST(test_rejected_values)
{
	static const struct {
		const char *name;
		const char *value;
		const char *says;
	} cases[] = {
		{"queue.size", "0", "out of range"},
		{"queue.size", "-5", "out of range"},
		{"queue.size", "ten", "not an integer"},
		{"queue.size", "10k", "not an integer"},
		{"queue.size", "", "not an integer"},
		{"queue.size", " 10", "not an integer"},
		{"queue.size", "99999999999999999999999", "not an integer"},
		{"queue.timeout_ms", "-2", "out of range"},
		{"retry.backoff_ms", "0", "out of range"},
		{"http.max_in_flight", "5000", "out of range"},
		{"validate", "maybe", "boolean"},
		{"validate", "", "boolean"},
		{"spool.max_bytes", "10X", "size"},
		{"spool.max_bytes", "-1", "size"},
		{"spool.max_bytes", "0", "out of range"},
		{"spool.max_bytes", "99999999999G", "size"},
		{"tls.min_version", "1.1", "not one of"},
		{"content_type", "text/html", "not supported"},
	};
	idmefv2_transport *t = new_null("https://siem.example/in");

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		ck_assert_msg(idmefv2_transport_set(t, cases[i].name, cases[i].value, err, sizeof(err)) ==
		              IDMEFV2_ERR_INVALID_ARG, "%s=%s accepted", cases[i].name, cases[i].value);
		ck_assert_msg(strstr(err, cases[i].says), "%s=%s: '%s' lacks '%s'", cases[i].name, cases[i].value, err,
		              cases[i].says);
		ck_assert_msg(strstr(err, cases[i].name), "%s: error '%s' does not name the option", cases[i].name, err);
	}
	/* Rejected values leave the default in place. */
	ck_assert_int_eq(idmefv2__opt_int(t, "queue.size"), 10000);
	ck_assert_int_eq(idmefv2_transport_set(t, NULL, "1", err, sizeof(err)), IDMEFV2_ERR_INVALID_ARG);
	ck_assert_int_eq(idmefv2_transport_set(t, "queue.size", NULL, err, sizeof(err)), IDMEFV2_ERR_INVALID_ARG);
	idmefv2_transport_free(t);
}
END_TEST

START_TEST(test_unknown_and_scheme)
{
	idmefv2_transport *t = new_null("file:///tmp/x");

	ck_assert_int_eq(idmefv2_transport_set(t, "no.such.option", "1", err, sizeof(err)), IDMEFV2_ERR_UNKNOWN_OPTION);
	ck_assert_ptr_nonnull(strstr(err, "no.such.option"));
	/* Options of other schemes are refused, naming where they apply. */
	ck_assert_int_eq(idmefv2_transport_set(t, "http.timeout_ms", "100", err, sizeof(err)),
	                 IDMEFV2_ERR_UNKNOWN_OPTION);
	ck_assert_ptr_nonnull(strstr(err, "file://"));
	ck_assert_int_eq(idmefv2_transport_set(t, "kafka.acks", "all", err, sizeof(err)), IDMEFV2_ERR_UNKNOWN_OPTION);
	ck_assert_int_eq(idmefv2_transport_set(t, "file.extension", "a/b", err, sizeof(err)), IDMEFV2_ERR_INVALID_ARG);
	ck_assert_int_eq(idmefv2_transport_set(t, "file.extension", ".idmef", err, sizeof(err)), IDMEFV2_OK);
	idmefv2_transport_free(t);
}
END_TEST

struct seen {
	char text[512];
};

static void collect(const char *name, const char *value, void *ctx)
{
	struct seen *s = ctx;

	strcat(s->text, name);
	strcat(s->text, "=");
	strcat(s->text, value);
	strcat(s->text, ";");
}

START_TEST(test_kafka_passthrough)
{
	idmefv2_transport *t = new_null("kafka://127.0.0.1:9092/alerts");
	struct seen s = {""};

	ck_assert_int_eq(idmefv2_transport_set(t, "kafka.security.protocol", "SASL_SSL", err, sizeof(err)), IDMEFV2_OK);
	/* Stored as-is: librdkafka judges it. */
	ck_assert_int_eq(idmefv2_transport_set(t, "kafka.made.up", "anything goes", err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_transport_set(t, "group_id", "g1", err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_transport_set(t, "kafka.security.protocol", "SSL", err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_transport_set(t, "kafka.", "x", err, sizeof(err)), IDMEFV2_ERR_UNKNOWN_OPTION);
	ck_assert_str_eq(idmefv2__opt_str(t, "kafka.made.up"), "anything goes");
	idmefv2__opt_foreach_prefix(t, "kafka.", collect, &s);
	/* In the order first set; a second set replaces the value. */
	ck_assert_str_eq(s.text, "kafka.security.protocol=SSL;kafka.made.up=anything goes;");
	ck_assert_int_eq(idmefv2_transport_set(t, "http.batch", "2", err, sizeof(err)), IDMEFV2_ERR_UNKNOWN_OPTION);
	idmefv2_transport_free(t);
}
END_TEST

START_TEST(test_set_after_start)
{
	char *dir = testlib_tmpdir();
	char url[4200];
	idmefv2_transport *t = NULL;

	snprintf(url, sizeof(url), "file://%s", dir);
	ck_assert_int_eq(idmefv2_transport_new(url, IDMEFV2_TRANSPORT_SENDER, &t, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_transport_start(t, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_transport_set(t, "queue.size", "5", err, sizeof(err)), IDMEFV2_ERR_STATE);
	ck_assert_int_eq(idmefv2_transport_start(t, err, sizeof(err)), IDMEFV2_ERR_STATE);
	ck_assert_int_eq(idmefv2_transport_stop(t), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_transport_stop(t), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_transport_start(t, err, sizeof(err)), IDMEFV2_ERR_STATE);
	idmefv2_transport_free(t);
	testlib_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_creation_errors)
{
	idmefv2_transport *t = (idmefv2_transport *)0x1;

	ck_assert_int_eq(idmefv2_transport_new("ftp://host/x", IDMEFV2_TRANSPORT_SENDER, &t, err, sizeof(err)),
	                 IDMEFV2_ERR_URL);
	ck_assert_ptr_nonnull(strstr(err, "unknown URL scheme 'ftp'"));
	ck_assert_ptr_eq(t, (idmefv2_transport *)0x1);
	ck_assert_int_eq(idmefv2_transport_new("not a url", IDMEFV2_TRANSPORT_SENDER, &t, err, sizeof(err)),
	                 IDMEFV2_ERR_URL);
	ck_assert_int_eq(idmefv2_transport_new("file:///tmp", 7, &t, err, sizeof(err)), IDMEFV2_ERR_INVALID_ARG);
	ck_assert_int_eq(idmefv2_transport_new(NULL, IDMEFV2_TRANSPORT_SENDER, &t, err, sizeof(err)),
	                 IDMEFV2_ERR_INVALID_ARG);

#if !IDMEFV2_HAVE_KAFKA
	ck_assert_int_eq(idmefv2_transport_new("kafka://127.0.0.1:9092/t", IDMEFV2_TRANSPORT_SENDER, &t, err,
	                                       sizeof(err)), IDMEFV2_ERR_NOT_BUILT);
	ck_assert_ptr_nonnull(strstr(err, "kafka transport not built"));
	ck_assert_int_eq(idmefv2_transport_new("kafka://127.0.0.1:9092/t", IDMEFV2_TRANSPORT_LISTENER, &t, err,
	                                       sizeof(err)), IDMEFV2_ERR_NOT_BUILT);
#endif
#if !IDMEFV2_HAVE_HTTP
	ck_assert_int_eq(idmefv2_transport_new("https://127.0.0.1/t", IDMEFV2_TRANSPORT_SENDER, &t, err, sizeof(err)),
	                 IDMEFV2_ERR_NOT_BUILT);
	ck_assert_ptr_nonnull(strstr(err, "not built"));
#endif
#if !IDMEFV2_HAVE_HTTPD
	ck_assert_int_eq(idmefv2_transport_new("http://127.0.0.1:0/", IDMEFV2_TRANSPORT_LISTENER, &t, err,
	                                       sizeof(err)), IDMEFV2_ERR_NOT_BUILT);
	ck_assert_ptr_nonnull(strstr(err, "listener transport not built"));
#endif
	/* A malformed URL of a known scheme is a URL error even if not built. */
	ck_assert_int_eq(idmefv2_transport_new("kafka://:1/t", IDMEFV2_TRANSPORT_SENDER, &t, err, sizeof(err)),
	                 IDMEFV2_ERR_URL);
	ck_assert_ptr_eq(t, (idmefv2_transport *)0x1);
	idmefv2_transport_free(NULL);
}
END_TEST

START_TEST(test_state_errors)
{
	idmefv2_transport *t = new_null("file:///tmp/x");
	idmefv2_message *m = testlib_message(1);
	idmefv2_transport *l = NULL;

	ck_assert_int_eq(idmefv2_transport_send(t, m, NULL, err, sizeof(err)), IDMEFV2_ERR_STATE);
	ck_assert_int_eq(idmefv2_transport_send_raw(t, NULL, "{}", 2, NULL, err, sizeof(err)), IDMEFV2_ERR_STATE);
	ck_assert_int_eq(idmefv2_transport_flush(t, 0), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_transport_stop(t), IDMEFV2_OK);
	ck_assert_uint_eq(idmefv2_transport_get_port(t), 0);
	idmefv2_transport_free(t);

	/* A listener without a queue or callback cannot start, and cannot send. */
	ck_assert_int_eq(idmefv2__transport_new_with_backend("file:///tmp/x", IDMEFV2_TRANSPORT_LISTENER, &null_backend,
	                                                     &l, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_transport_start(l, err, sizeof(err)), IDMEFV2_ERR_STATE);
	ck_assert_ptr_nonnull(strstr(err, "queue"));
	idmefv2_transport_set_queue(l, NULL);
	ck_assert_int_eq(idmefv2_transport_send(l, m, NULL, err, sizeof(err)), IDMEFV2_ERR_STATE);
	idmefv2_transport_free(l);
	idmefv2_message_unref(m);
}
END_TEST

static Suite *options_suite(void)
{
	Suite *s = suite_create("options");
	TCase *tc = tcase_create("options");

	tcase_add_test(tc, test_table_well_formed);
	tcase_add_test(tc, test_required_names);
	tcase_add_test(tc, test_defaults_and_values);
	tcase_add_test(tc, test_rejected_values);
	tcase_add_test(tc, test_unknown_and_scheme);
	tcase_add_test(tc, test_kafka_passthrough);
	tcase_add_test(tc, test_set_after_start);
	tcase_add_test(tc, test_creation_errors);
	tcase_add_test(tc, test_state_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(options_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
