/* SPDX-License-Identifier: Apache-2.0 */
/* The client against the TLS server simulator: requests, modes, resume, failures. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <estreamer/client.h>
#include <estreamer/request.h>

#include "harness.h"

static struct sim *sim_new(void)
{
	struct sim *s = calloc(1, sizeof(*s));

	s->dir = pki;
	s->per_bundle = 2;
	return s;
}

START_TEST(test_extended_request_and_bundles)
{
	struct sim *sim = sim_new();
	struct buf v = { 0 };
	struct run r;
	estreamer_counters k;
	estreamer_client *c;

	make_records(sim, 6, 1);
	ck_assert_int_eq(sim_start(sim), 0);
	c = new_client(sim);
	/* eNcore's default subscription, from the oldest data. */
	set_opt(c, "flags", "0x48900061");
	set_opt(c, "start", "oldest");
	run_start(&r, c);
	ck_assert_int_eq(run_wait(&r, 9, 10000), 9);
	sleep_ms(100); /* the last acknowledgement */
	run_finish(&r);
	ck_assert_int_eq(r.rc, ESTREAMER_OK);

	ck_assert_int_eq(sim->nconn, 1);
	ck_assert_int_eq(load_vector("constructed_from_reference_clients.hex",
				     "encore_event_stream_request", &v), 0);
	ck_assert_mem_eq(sim->conn[0].request, v.p, 16);
	b_free(&v);
	ck_assert_int_eq(load_vector("constructed_from_reference_clients.hex",
				     "encore_streaming_request", &v), 0);
	ck_assert_uint_eq(sim->conn[0].streaming_len, v.len);
	ck_assert_mem_eq(sim->conn[0].streaming, v.p, v.len);
	b_free(&v);
	/* One Null per bundle: 9 records in bundles of 2. */
	ck_assert_int_eq(sim->conn[0].acks, 5);
	ck_assert_int_eq(sim->conn[0].bad_acks, 0);

	ck_assert_uint_eq(r.type[0], 66);
	ck_assert_uint_eq(r.type[1], 67);
	ck_assert_uint_eq(r.type[2], 4);
	for (int i = 3; i < 9; i++) {
		ck_assert_uint_eq(r.type[i], 400);
		ck_assert_int_eq(r.event_id[i], i - 2);
	}
	/* Metadata arrived first, so every intrusion event is enriched. */
	ck_assert_int_eq(r.enriched, 6);
	estreamer_client_get_counters(c, &k);
	ck_assert_uint_eq(k.connections, 1);
	ck_assert_uint_eq(k.bundles, 5);
	ck_assert_uint_eq(k.records, 9);
	ck_assert_uint_eq(k.unknown_records, 0);
	ck_assert_uint_eq(estreamer_client_get_bookmark(c), 1700000001);
	estreamer_client_free(c);
	sim_release(sim);
}
END_TEST

START_TEST(test_legacy_event_data)
{
	struct sim *sim = sim_new();
	struct run r;
	estreamer_client *c;
	uint32_t flags;

	make_records(sim, 4, 0);
	ck_assert_int_eq(sim_start(sim), 0);
	c = new_client(sim);
	set_opt(c, "flags", "packets, ids, timestamp");
	run_start(&r, c);
	ck_assert_int_eq(run_wait(&r, 4, 10000), 4);
	sleep_ms(100);
	run_finish(&r);
	ck_assert_int_eq(r.rc, ESTREAMER_OK);
	ck_assert_int_eq(estreamer_flags_parse("packets,ids,timestamp", &flags), ESTREAMER_OK);
	ck_assert_uint_eq(sim->conn[0].flags, flags);
	ck_assert_uint_eq(sim->conn[0].ts, ESTREAMER_START_NOW);
	ck_assert_uint_eq(sim->conn[0].streaming_len, 0);
	/* One Null per Event Data message. */
	ck_assert_int_eq(sim->conn[0].acks, 4);
	estreamer_client_free(c);
	sim_release(sim);
}
END_TEST

static int read_bookmark(const char *path, uint32_t *ts, int *lines)
{
	FILE *f = fopen(path, "r");
	char line[64];
	unsigned long v;

	if (!f)
		return -1;
	*lines = 0;
	if (!fgets(line, sizeof(line), f) || sscanf(line, "%lu", &v) != 1) {
		fclose(f);
		return -1;
	}
	*ts = (uint32_t)v;
	while (fgets(line, sizeof(line), f))
		(*lines)++;
	fclose(f);
	return 0;
}

START_TEST(test_drop_reconnect_resume)
{
	struct sim *sim = sim_new();
	char bookmark[512];
	struct run r;
	estreamer_counters k;
	estreamer_client *c;
	uint32_t ts = 0;
	int lines = 0;

	make_records(sim, 12, 0);
	/* The server vanishes after the second bundle (records 1-4), without waiting for the ack. */
	sim->drop_after = 2;
	ck_assert_int_eq(sim_start(sim), 0);
	c = new_client(sim);
	set_opt(c, "start", "oldest");
	snprintf(bookmark, sizeof(bookmark), "%s/bookmark", pki);
	unlink(bookmark);
	set_opt(c, "bookmark.file", bookmark);
	run_start(&r, c);
	ck_assert_int_eq(run_wait(&r, 12, 15000), 12);
	sleep_ms(200);
	run_finish(&r);
	ck_assert_int_eq(r.rc, ESTREAMER_OK);

	/* Every record once, in order: none lost, none repeated. */
	ck_assert_int_eq(r.n, 12);
	for (int i = 0; i < 12; i++)
		ck_assert_int_eq(r.event_id[i], i + 1);
	ck_assert_int_eq(sim->nconn, 2);
	ck_assert_uint_eq(sim->conn[0].ts, ESTREAMER_START_OLDEST);
	/* Resumed from the archival time of record 4 (the second second). */
	ck_assert_uint_eq(sim->conn[1].ts, 1700000001);
	estreamer_client_get_counters(c, &k);
	ck_assert_uint_eq(k.connections, 2);
	ck_assert_uint_eq(k.duplicates, 1); /* record 4 was sent again */
	ck_assert_uint_ge(k.errors, 1);
	ck_assert_int_eq(read_bookmark(bookmark, &ts, &lines), 0);
	ck_assert_uint_eq(ts, 1700000003);
	ck_assert_int_eq(lines, 3); /* the three records of that second */
	estreamer_client_free(c);
	sim_release(sim);

	/* A new process resumes from the file and repeats nothing. */
	sim = sim_new();
	make_records(sim, 15, 0);
	ck_assert_int_eq(sim_start(sim), 0);
	c = new_client(sim);
	set_opt(c, "start", "bookmark");
	set_opt(c, "bookmark.file", bookmark);
	run_start(&r, c);
	ck_assert_int_eq(run_wait(&r, 3, 10000), 3);
	sleep_ms(200);
	run_finish(&r);
	ck_assert_uint_eq(sim->conn[0].ts, 1700000003);
	ck_assert_int_eq(r.n, 3);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(r.event_id[i], 13 + i);
	estreamer_client_get_counters(c, &k);
	ck_assert_uint_eq(k.duplicates, 3);
	estreamer_client_free(c);
	sim_release(sim);
}
END_TEST

static estreamer_error run_expect_failure(estreamer_client *c, char *err, size_t size)
{
	struct run r;
	estreamer_error rc;

	set_opt(c, "reconnect.max_attempts", "0");
	run_start(&r, c);
	rc = run_join(&r);
	snprintf(err, size, "%s", r.err);
	return rc;
}

START_TEST(test_wrong_ca)
{
	struct sim *sim = sim_new();
	estreamer_client *c;
	char path[512], err[512];

	ck_assert_int_eq(sim_start(sim), 0);
	c = new_client(sim);
	pki_path(path, sizeof(path), "other-ca.pem");
	set_opt(c, "tls.ca", path);
	ck_assert_int_eq(run_expect_failure(c, err, sizeof(err)), ESTREAMER_ERR_VERIFY);
	ck_assert_msg(strstr(err, "certificate not trusted"), "%s", err);
	estreamer_client_free(c);

	/* Verification off by explicit choice: the same CA mismatch connects. */
	c = new_client(sim);
	set_opt(c, "tls.ca", path);
	set_opt(c, "tls.verify", "false");
	{
		struct run r;

		run_start(&r, c);
		/* Until the simulator has the request (slow under sanitizers: a connection alone is not enough). */
		for (int t = 0; t < 2000 && !(sim->nconn >= 2 && sim->conn[1].got_request); t++)
			sleep_ms(10);
		run_finish(&r);
		ck_assert_int_eq(r.rc, ESTREAMER_OK);
	}
	ck_assert_int_eq(sim->nconn, 2);
	ck_assert_int_eq(sim->conn[1].got_request, 1);
	estreamer_client_free(c);
	sim_release(sim);
}
END_TEST

START_TEST(test_wrong_password)
{
	struct sim *sim = sim_new();
	estreamer_client *c;
	char err[512];

	ck_assert_int_eq(sim_start(sim), 0);
	c = new_client(sim);
	set_opt(c, "tls.password", "not-the-password");
	ck_assert_int_eq(run_expect_failure(c, err, sizeof(err)), ESTREAMER_ERR_CREDENTIALS);
	ck_assert_msg(strstr(err, "wrong password"), "%s", err);
	ck_assert_int_eq(sim->nconn, 0);
	estreamer_client_free(c);
	sim_release(sim);
}
END_TEST

START_TEST(test_missing_client_certificate)
{
	struct sim *sim = sim_new();
	estreamer_client *c;
	char path[512], err[512];
	estreamer_error rc;

	ck_assert_int_eq(sim_start(sim), 0);
	/* None configured: refused before connecting. */
	c = new_client(sim);
	set_opt(c, "tls.pkcs12", "");
	pki_path(path, sizeof(path), "ca.pem");
	set_opt(c, "tls.ca", path);
	ck_assert_int_eq(run_expect_failure(c, err, sizeof(err)), ESTREAMER_ERR_CREDENTIALS);
	ck_assert_msg(strstr(err, "no client certificate"), "%s", err);
	ck_assert_int_eq(sim->nconn, 0);
	estreamer_client_free(c);

	/* One the server does not accept (not issued by its CA). */
	c = new_client(sim);
	set_opt(c, "tls.pkcs12", "");
	set_opt(c, "tls.password", "");
	set_opt(c, "tls.ca", path);
	pki_path(path, sizeof(path), "other-ca.pem");
	set_opt(c, "tls.cert", path);
	pki_path(path, sizeof(path), "other-ca.key");
	set_opt(c, "tls.key", path);
	rc = run_expect_failure(c, err, sizeof(err));
	ck_assert_msg(rc == ESTREAMER_ERR_REFUSED, "%d %s", rc, err);
	ck_assert_msg(strstr(err, "refused") || strstr(err, "closed"), "%s", err);
	ck_assert_int_eq(sim->handshake_failures, 1);
	estreamer_client_free(c);
	sim_release(sim);
}
END_TEST

static void expect_stream_failure(const uint8_t *raw, size_t len, estreamer_error want,
				  const char *text)
{
	struct sim *sim = sim_new();
	estreamer_client *c;
	char err[512];
	estreamer_error rc;

	sim->raw = raw;
	sim->raw_len = len;
	ck_assert_int_eq(sim_start(sim), 0);
	c = new_client(sim);
	set_opt(c, "reconnect", "false");
	rc = run_expect_failure(c, err, sizeof(err));
	ck_assert_msg(rc == want, "got %d (%s), want %d", rc, err, want);
	ck_assert_msg(strstr(err, text), "\"%s\" lacks \"%s\"", err, text);
	estreamer_client_free(c);
	sim_release(sim);
}

START_TEST(test_truncated_and_malformed_streams)
{
	struct buf msg = { 0 }, body = { 0 }, rec = { 0 };

	/* A bundle cut in the middle, then the connection closes. */
	body_intrusion(&body, 60, 1, 1, 1, 1, 1);
	b_record(&rec, 400, 1, 1700000000, &body);
	b_bundle(&msg, 1, 1, 0, &rec, 1);
	expect_stream_failure(msg.p, msg.len / 2, ESTREAMER_ERR_TRUNCATED,
			      "connection closed inside a message");
	b_free(&msg);

	/* Header version 2. */
	b_u16(&msg, 2);
	b_u16(&msg, 4);
	b_u32(&msg, 0);
	expect_stream_failure(msg.p, msg.len, ESTREAMER_ERR_MALFORMED, "version 2");
	b_free(&msg);

	/* An absurd length is refused before allocating. */
	b_header(&msg, 4002, 0x7fffffff);
	expect_stream_failure(msg.p, msg.len, ESTREAMER_ERR_MALFORMED, "exceeds max_message_size");
	b_free(&msg);

	/* A complete message whose record lies about its length. */
	rec.p[7] ^= 0x40;
	b_event_data(&msg, &rec);
	expect_stream_failure(msg.p, msg.len, ESTREAMER_ERR_TRUNCATED, "record type 400: length");
	b_free(&msg);

	/* The server's Error message is surfaced with its code and text; in reply to the
	 * request it is a refusal (test-tls-names.c has the one in mid-stream). */
	ck_assert_int_eq(load_vector("guide_examples.hex", "error_no_space", &msg), 0);
	expect_stream_failure(msg.p, msg.len, ESTREAMER_ERR_REFUSED, "server error 19: No space");
	b_free(&msg);
	b_free(&rec);
	b_free(&body);
}
END_TEST

START_TEST(test_tls_minimum_version)
{
	struct sim *sim = sim_new();
	estreamer_client *c;
	char err[512];

	/* A server offering only TLS 1.1 and older is refused by default. */
	sim->priority = "NORMAL:-VERS-ALL:+VERS-TLS1.1:+VERS-TLS1.0";
	ck_assert_int_eq(sim_start(sim), 0);
	c = new_client(sim);
	ck_assert_int_eq(run_expect_failure(c, err, sizeof(err)), ESTREAMER_ERR_TLS);
	ck_assert_msg(strstr(err, "TLS handshake"), "%s", err);
	estreamer_client_free(c);
	sim_release(sim);
}
END_TEST

START_TEST(test_backoff_gives_up)
{
	struct sim *sim = sim_new();
	estreamer_client *c;
	estreamer_counters k;
	struct run r;
	char port[16];

	/* A port nobody listens on: take one from the simulator, then close it. */
	ck_assert_int_eq(sim_start(sim), 0);
	snprintf(port, sizeof(port), "%u", sim->port);
	sim_release(sim);
	c = new_client(NULL);
	set_opt(c, "port", port);
	set_opt(c, "reconnect.max_attempts", "2");
	run_start(&r, c);
	ck_assert_int_eq(run_join(&r), ESTREAMER_ERR_CONNECT);
	ck_assert_msg(strstr(r.err, "connect to 127.0.0.1"), "%s", r.err);
	estreamer_client_get_counters(c, &k);
	ck_assert_uint_eq(k.errors, 3);
	estreamer_client_free(c);
}
END_TEST

START_TEST(test_options)
{
	estreamer_client *c = estreamer_client_new();
	char err[256] = "";
	const char *name, *def, *desc;
	size_t i;

	ck_assert_int_eq(estreamer_client_set(c, "nope", "1", err, sizeof(err)),
			 ESTREAMER_ERR_UNKNOWN_OPTION);
	ck_assert_int_eq(estreamer_client_set(c, "tls.min_version", "1.5", err, sizeof(err)),
			 ESTREAMER_ERR_INVALID_ARG);
	ck_assert_ptr_nonnull(strstr(err, "tls.min_version"));
	ck_assert_int_eq(estreamer_client_set(c, "tls.verify", "maybe", err, sizeof(err)),
			 ESTREAMER_ERR_INVALID_ARG);
	ck_assert_int_eq(estreamer_client_set(c, "event_types", "FOO", err, sizeof(err)),
			 ESTREAMER_ERR_INVALID_ARG);
	ck_assert_int_eq(estreamer_client_set(c, "start", "yesterday", err, sizeof(err)),
			 ESTREAMER_ERR_INVALID_ARG);
	ck_assert_int_eq(estreamer_client_set(c, "start", "4294967296", err, sizeof(err)),
			 ESTREAMER_ERR_INVALID_ARG);
	ck_assert_int_eq(estreamer_client_set(c, "start", "1700000000", err, sizeof(err)),
			 ESTREAMER_OK);
	ck_assert_int_eq(estreamer_client_set(c, "flags", "0x40800001", err, sizeof(err)),
			 ESTREAMER_OK);
	ck_assert_int_eq(estreamer_client_set(c, "port", "8302", err, sizeof(err)), ESTREAMER_OK);
	for (i = 0; estreamer_option_describe(i, &name, &def, &desc) == ESTREAMER_OK; i++) {
		ck_assert_ptr_nonnull(name);
		ck_assert_ptr_nonnull(desc);
		ck_assert_int_eq(estreamer_client_set(c, name, def, err, sizeof(err)), ESTREAMER_OK);
	}
	ck_assert_uint_ge(i, 20);
	/* Without a host nothing is attempted. */
	ck_assert_int_eq(estreamer_client_run(c, err, sizeof(err)), ESTREAMER_ERR_INVALID_ARG);
	estreamer_client_free(c);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("estreamer-client");
	TCase *tc = tcase_create("client");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_extended_request_and_bundles);
	tcase_add_test(tc, test_legacy_event_data);
	tcase_add_test(tc, test_drop_reconnect_resume);
	tcase_add_test(tc, test_wrong_ca);
	tcase_add_test(tc, test_wrong_password);
	tcase_add_test(tc, test_missing_client_certificate);
	tcase_add_test(tc, test_truncated_and_malformed_streams);
	tcase_add_test(tc, test_tls_minimum_version);
	tcase_add_test(tc, test_backoff_gives_up);
	tcase_add_test(tc, test_options);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite_with_pki(suite());
}
