/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Server names and permanent errors: the server certificate must name the
 * host (RFC 6125: SAN, CN only without SAN) unless told otherwise, and errors
 * a retry cannot fix end estreamer_client_run() instead of being retried for
 * ever, while transient ones keep the backoff. Every client here keeps the
 * default reconnect settings (retry for ever), so a permanent error that were
 * retried would never return.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <estreamer/client.h>

#include "harness.h"

/* Runs until the client returns by itself; it must, within the test timeout. */
static estreamer_error run_alone(estreamer_client *c, char *err, size_t size, uint64_t *ret_errors)
{
	estreamer_counters k;
	estreamer_error rc;
	struct run r;

	set_opt(c, "flags", "ids,timestamp");
	run_start(&r, c);
	rc = run_join(&r);
	snprintf(err, size, "%s", r.err);
	estreamer_client_get_counters(c, &k);
	*ret_errors = k.errors;
	return rc;
}

/* Connects, sees the records, stops. */
static void expect_connects(struct sim *sim, estreamer_client *c)
{
	struct run r;

	set_opt(c, "flags", "ids,timestamp");
	run_start(&r, c);
	ck_assert_int_eq(run_wait(&r, 3, 10000), 3);
	run_finish(&r);
	ck_assert_msg(r.rc == ESTREAMER_OK, "%s", r.err);
	(void)sim;
}

START_TEST(test_certificate_for_another_name_refused)
{
	struct sim *sim = sim_started(3, "named", 0);
	estreamer_client *c = new_client(sim);
	char err[512];
	uint64_t errors;

	/* CN=127.0.0.1, SAN DNS:intruder.example: with a SAN the CN does not count. */
	ck_assert_int_eq(run_alone(c, err, sizeof(err), &errors), ESTREAMER_ERR_HOSTNAME);
	ck_assert_msg(strstr(err, "expected \"127.0.0.1\"") && strstr(err, "DNS:intruder.example"),
		      "%s", err);
	ck_assert_msg(!strstr(err, "CN:"), "%s", err);
	ck_assert_uint_eq(errors, 1);
	ck_assert_int_eq(sim->conn[0].got_request, 0);
	estreamer_client_free(c);

	/* The name the certificate should have, given explicitly. */
	c = new_client(sim);
	set_opt(c, "tls.server_name", "intruder.example");
	expect_connects(sim, c);
	estreamer_client_free(c);

	/* Name checking off for an appliance with a wrong certificate; the chain still counts. */
	c = new_client(sim);
	set_opt(c, "tls.verify_hostname", "false");
	expect_connects(sim, c);
	estreamer_client_free(c);
	sim_release(sim);
}
END_TEST

START_TEST(test_matching_names_connect)
{
	struct sim *sim = sim_started(3, NULL, 0);
	estreamer_client *c;
	char err[512];
	uint64_t errors;

	/* DNS:localhost and IP:127.0.0.1 in the SAN. */
	c = new_client(sim);
	set_opt(c, "host", "localhost");
	expect_connects(sim, c);
	estreamer_client_free(c);
	c = new_client(sim);
	expect_connects(sim, c);
	estreamer_client_free(c);

	/* An override that does not match is refused like any other name. */
	c = new_client(sim);
	set_opt(c, "tls.server_name", "fmc.example.net");
	ck_assert_int_eq(run_alone(c, err, sizeof(err), &errors), ESTREAMER_ERR_HOSTNAME);
	ck_assert_msg(strstr(err, "expected \"fmc.example.net\"") && strstr(err, "DNS:localhost") &&
			      strstr(err, "IP:127.0.0.1"),
		      "%s", err);
	estreamer_client_free(c);
	sim_release(sim);
}
END_TEST

START_TEST(test_unrelated_ca_not_retried)
{
	struct sim *sim = sim_started(3, "rogue", 0);
	estreamer_client *c = new_client(sim);
	char err[512];
	uint64_t errors;

	ck_assert_int_eq(run_alone(c, err, sizeof(err), &errors), ESTREAMER_ERR_VERIFY);
	ck_assert_msg(strstr(err, "certificate not trusted"), "%s", err);
	ck_assert_uint_eq(errors, 1);
	ck_assert_int_eq(sim->nconn, 1);
	estreamer_client_free(c);
	sim_release(sim);
}
END_TEST

START_TEST(test_client_certificate_refused_not_retried)
{
	struct sim *sim = sim_started(3, NULL, 0);
	estreamer_client *c = new_client(sim);
	char path[512], err[512];
	uint64_t errors;

	/* A certificate the server's CA did not issue: the server answers with an alert. */
	set_opt(c, "tls.pkcs12", "");
	set_opt(c, "tls.password", "");
	pki_path(path, sizeof(path), "ca.pem");
	set_opt(c, "tls.ca", path);
	pki_path(path, sizeof(path), "other-ca.pem");
	set_opt(c, "tls.cert", path);
	pki_path(path, sizeof(path), "other-ca.key");
	set_opt(c, "tls.key", path);
	ck_assert_int_eq(run_alone(c, err, sizeof(err), &errors), ESTREAMER_ERR_REFUSED);
	ck_assert_msg(strstr(err, "refused this client"), "%s", err);
	ck_assert_uint_eq(errors, 1);
	ck_assert_int_eq(sim->handshake_failures, 1);
	estreamer_client_free(c);
	sim_release(sim);
}
END_TEST

START_TEST(test_error_message_after_request_is_refusal)
{
	struct sim *sim = calloc(1, sizeof(*sim));
	struct buf err_msg = { 0 }, both = { 0 }, body = { 0 }, rec = { 0 }, data = { 0 };
	estreamer_counters k;
	estreamer_client *c;
	struct run r;
	char err[512];
	uint64_t errors;

	/* In reply to the request: the request is refused, and would be again. */
	ck_assert_int_eq(load_vector("guide_examples.hex", "error_no_space", &err_msg), 0);
	sim->dir = pki;
	sim->raw = err_msg.p;
	sim->raw_len = err_msg.len;
	ck_assert_int_eq(sim_start(sim), 0);
	c = new_client(sim);
	ck_assert_int_eq(run_alone(c, err, sizeof(err), &errors), ESTREAMER_ERR_REFUSED);
	ck_assert_msg(strstr(err, "refused the request: server error 19: No space"), "%s", err);
	ck_assert_uint_eq(errors, 1);
	estreamer_client_free(c);
	sim_stop(sim);

	/* After data, in the middle of a stream: transient, the client reconnects. */
	body_intrusion(&body, 60, 1, 1, 1, 1, 1);
	b_record(&rec, 400, 1, 1700000000, &body);
	b_event_data(&data, &rec);
	b_bytes(&both, data.p, data.len);
	b_bytes(&both, err_msg.p, err_msg.len);
	memset(sim, 0, sizeof(*sim));
	sim->dir = pki;
	sim->raw = both.p;
	sim->raw_len = both.len;
	ck_assert_int_eq(sim_start(sim), 0);
	c = new_client(sim);
	set_opt(c, "flags", "ids,timestamp");
	run_start(&r, c);
	for (int t = 0; t < 1000 && sim->nconn < 3; t++)
		sleep_ms(10);
	ck_assert_int_ge(sim->nconn, 3);
	ck_assert_int_eq(__atomic_load_n(&r.done, __ATOMIC_SEQ_CST), 0);
	run_finish(&r);
	ck_assert_int_eq(r.rc, ESTREAMER_OK);
	estreamer_client_get_counters(c, &k);
	ck_assert_uint_ge(k.server_errors, 1);
	ck_assert_uint_eq(k.records, 1); /* the repeats were recognised */
	estreamer_client_free(c);
	sim_stop(sim);
	free(sim);
	b_free(&err_msg);
	b_free(&both);
	b_free(&body);
	b_free(&rec);
	b_free(&data);
}
END_TEST

START_TEST(test_connection_refused_keeps_retrying)
{
	struct sim *sim = sim_started(3, NULL, 0);
	estreamer_counters k = { 0 };
	estreamer_client *c;
	struct run r;
	char port[16];

	/* A port nobody listens on. */
	snprintf(port, sizeof(port), "%u", sim->port);
	sim_release(sim);
	c = new_client(NULL);
	set_opt(c, "port", port);
	run_start(&r, c);
	for (int t = 0; t < 1000 && k.errors < 4; t++) {
		sleep_ms(10);
		estreamer_client_get_counters(c, &k);
	}
	ck_assert_uint_ge(k.errors, 4);
	ck_assert_int_eq(__atomic_load_n(&r.done, __ATOMIC_SEQ_CST), 0);
	run_finish(&r);
	ck_assert_int_eq(r.rc, ESTREAMER_OK);
	estreamer_client_free(c);
}
END_TEST

START_TEST(test_error_classification)
{
	static const estreamer_error permanent[] = {
		ESTREAMER_ERR_INVALID_ARG, ESTREAMER_ERR_UNKNOWN_OPTION, ESTREAMER_ERR_CREDENTIALS,
		ESTREAMER_ERR_VERIFY,      ESTREAMER_ERR_PLUGIN,         ESTREAMER_ERR_HOSTNAME,
		ESTREAMER_ERR_REFUSED,
	};
	static const estreamer_error transient[] = {
		ESTREAMER_ERR_NOMEM,   ESTREAMER_ERR_TRUNCATED, ESTREAMER_ERR_MALFORMED,
		ESTREAMER_ERR_IO,      ESTREAMER_ERR_CONNECT,   ESTREAMER_ERR_TLS,
		ESTREAMER_ERR_SERVER,  ESTREAMER_ERR_CLOSED,    ESTREAMER_ERR_TIMEOUT,
		ESTREAMER_ERR_ABORTED, ESTREAMER_ERR_PROTOCOL,
	};

	for (size_t i = 0; i < sizeof(permanent) / sizeof(permanent[0]); i++)
		ck_assert_msg(estreamer_error_is_permanent(permanent[i]), "%d", permanent[i]);
	for (size_t i = 0; i < sizeof(transient) / sizeof(transient[0]); i++)
		ck_assert_msg(!estreamer_error_is_permanent(transient[i]), "%d", transient[i]);
	ck_assert(!estreamer_error_is_permanent(ESTREAMER_OK));
	ck_assert(!estreamer_error_is_permanent((estreamer_error)999));
	ck_assert_str_eq(estreamer_strerror(ESTREAMER_ERR_HOSTNAME),
			 "server certificate is for another host");
	ck_assert_str_eq(estreamer_strerror(ESTREAMER_ERR_REFUSED), "the server refused this client");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("estreamer-tls-names");
	TCase *tc = tcase_create("tls-names");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_certificate_for_another_name_refused);
	tcase_add_test(tc, test_matching_names_connect);
	tcase_add_test(tc, test_unrelated_ca_not_retried);
	tcase_add_test(tc, test_client_certificate_refused_not_retried);
	tcase_add_test(tc, test_error_message_after_request_is_refusal);
	tcase_add_test(tc, test_connection_refused_keeps_retrying);
	tcase_add_test(tc, test_error_classification);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite_with_pki(suite());
}
