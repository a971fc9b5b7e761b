/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Dead-letter records: one line of valid UTF-8 JSON per message whatever its
 * bytes (the message itself, a JSON string, or base64 for bytes that are not
 * UTF-8); every message that ends undelivered is written there (rejected,
 * given up, left at stop without a spool); the file is never opened through a
 * symbolic link. Driven by the fake backend.
 */
#include <check.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fakebackend.h"
#include "testlib.h"
#include "transport-generic.h"

static char err[512];
static char *tmp;
static char dead[4200];

static void setup(void)
{
	tmp = testlib_tmpdir();
	snprintf(dead, sizeof(dead), "%s/dead.ndjson", tmp);
}

static void teardown(void)
{
	testlib_rmtree(tmp);
	free(tmp);
}

static void set(idmefv2_transport *t, const char *name, const char *value)
{
	ck_assert_msg(idmefv2_transport_set(t, name, value, err, sizeof(err)) == IDMEFV2_OK, "%s: %s", name, err);
}

static idmefv2_transport *rejecting_sender(void)
{
	idmefv2_transport *t = fake_new();

	set(t, "dead_letter", dead);
	fake_set_mode(t, FAKE_REJECT);
	ck_assert_msg(idmefv2_transport_start(t, err, sizeof(err)) == IDMEFV2_OK, "%s", err);
	return t;
}

static void send_raw(idmefv2_transport *t, const char *data, size_t len)
{
	ck_assert_msg(idmefv2_transport_send_raw(t, "application/json", data, len, NULL, err, sizeof(err)) ==
	              IDMEFV2_OK, "%s", err);
}

static bool utf8_ok(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t k = s[i] < 0x80 ? 1 : (s[i] & 0xe0) == 0xc0 ? 2 : (s[i] & 0xf0) == 0xe0 ? 3 :
		           (s[i] & 0xf8) == 0xf0 ? 4 : 0;
		if (k == 0 || i + k > n || (k == 2 && s[i] < 0xc2))
			return false;
		for (size_t j = 1; j < k; j++)
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
		i += k;
	}
	return true;
}

static int b64_value(char c)
{
	const char *digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c ? strchr(digits, c) : NULL;

	return p ? (int)(p - digits) : -1;
}

/* Decode @in into @out; returns the length. */
static size_t b64_decode(const char *in, unsigned char *out)
{
	size_t n = 0, len = strlen(in);

	ck_assert_uint_eq(len % 4, 0);
	for (size_t i = 0; i < len; i += 4) {
		int a = b64_value(in[i]), b = b64_value(in[i + 1]), c = b64_value(in[i + 2]), d = b64_value(in[i + 3]);
		ck_assert(a >= 0 && b >= 0);
		out[n++] = (unsigned char)(a << 2 | b >> 4);
		if (in[i + 2] != '=') {
			ck_assert(c >= 0);
			out[n++] = (unsigned char)((b & 15) << 4 | c >> 2);
		}
		if (in[i + 3] != '=') {
			ck_assert(d >= 0);
			out[n++] = (unsigned char)((c & 3) << 6 | d);
		}
	}
	return n;
}

/* The records of the dead-letter file, each checked to be one line of valid UTF-8 JSON. */
static size_t records(struct json_object **out, size_t max)
{
	FILE *f = fopen(dead, "rb");
	static char line[65536];
	size_t n = 0;

	ck_assert_msg(f != NULL, "no dead-letter file");
	while (fgets(line, sizeof(line), f)) {
		size_t len = strlen(line);
		ck_assert_msg(len > 0 && line[len - 1] == '\n', "record %zu: no line end", n);
		ck_assert_msg(utf8_ok((const unsigned char *)line, len), "record %zu: not UTF-8", n);
		ck_assert(n < max);
		out[n] = json_tokener_parse(line);
		ck_assert_msg(out[n] != NULL, "record %zu: not JSON: %s", n, line);
		n++;
	}
	fclose(f);
	return n;
}

START_TEST(test_records_always_utf8_json)
{
	static const char bad[] = "{\"Description\": \"caf\xe9 \xff\xfe\", \"x\": 1}";
	static const char text[] = "not json, but UTF-8: caf\xc3\xa9";
	idmefv2_transport *t = rejecting_sender();
	idmefv2_message *m = testlib_message(7);
	struct json_object *rec[4], *v;
	unsigned char decoded[256];
	size_t n;

	ck_assert_int_eq(idmefv2_transport_send(t, m, NULL, err, sizeof(err)), IDMEFV2_OK);
	idmefv2_message_unref(m);
	send_raw(t, bad, sizeof(bad) - 1);
	send_raw(t, text, sizeof(text) - 1);
	ck_assert_int_eq(idmefv2_transport_flush(t, 10000), IDMEFV2_OK);
	idmefv2_transport_free(t);

	ck_assert_uint_eq(records(rec, 4), 3);
	/* A JSON message: itself. */
	ck_assert(json_object_object_get_ex(rec[0], "Description", &v));
	ck_assert_str_eq(json_object_get_string(v), "message 7");
	/* Bytes that are not UTF-8: base64, with the content type. */
	ck_assert(json_object_object_get_ex(rec[1], "data_base64", &v));
	n = b64_decode(json_object_get_string(v), decoded);
	ck_assert_uint_eq(n, sizeof(bad) - 1);
	ck_assert(memcmp(decoded, bad, n) == 0);
	ck_assert(json_object_object_get_ex(rec[1], "content_type", &v));
	ck_assert_str_eq(json_object_get_string(v), "application/json");
	/* UTF-8 that is not JSON: a JSON string. */
	ck_assert(json_object_is_type(rec[2], json_type_string));
	ck_assert_str_eq(json_object_get_string(rec[2]), text);
	for (size_t i = 0; i < 3; i++)
		json_object_put(rec[i]);
}
END_TEST

/* Left in memory at stop without a spool: failed, and dead-lettered. */
START_TEST(test_failed_at_stop_dead_lettered)
{
	idmefv2_transport *t = fake_new();
	struct testlib_outcomes *o = testlib_outcomes_new(4);
	struct json_object *rec[4], *v;

	set(t, "dead_letter", dead);
	set(t, "stop.flush_timeout_ms", "10");
	fake_set_mode(t, FAKE_HOLD);
	idmefv2_transport_set_delivery_cb(t, testlib_outcomes_cb, o);
	ck_assert_int_eq(idmefv2_transport_start(t, err, sizeof(err)), IDMEFV2_OK);
	for (unsigned i = 1; i <= 3; i++) {
		idmefv2_message *m = testlib_message(i);
		ck_assert_int_eq(idmefv2_transport_send(t, m, (void *)(uintptr_t)i, err, sizeof(err)), IDMEFV2_OK);
		idmefv2_message_unref(m);
	}
	idmefv2_transport_free(t);
	for (unsigned i = 1; i <= 3; i++)
		ck_assert(o->calls[i] == 1 && o->status[i] == IDMEFV2_DELIVERY_FAILED);
	ck_assert_uint_eq(records(rec, 4), 3);
	for (unsigned i = 0; i < 3; i++) {
		char want[32];
		snprintf(want, sizeof(want), "message %u", i + 1);
		ck_assert(json_object_object_get_ex(rec[i], "Description", &v));
		ck_assert_str_eq(json_object_get_string(v), want);
		json_object_put(rec[i]);
	}
	testlib_outcomes_free(o);
}
END_TEST

/* A link planted where the dead-letter file goes is not followed. */
START_TEST(test_symlink_not_followed)
{
	char target[4300];
	idmefv2_transport *t;
	idmefv2_message *m;
	struct stat st;

	snprintf(target, sizeof(target), "%s/target", tmp);
	ck_assert(testlib_write_file(target, "keep\n", 5));
	ck_assert_int_eq(symlink(target, dead), 0);
	t = rejecting_sender();
	m = testlib_message(1);
	ck_assert_int_eq(idmefv2_transport_send(t, m, NULL, err, sizeof(err)), IDMEFV2_OK);
	idmefv2_message_unref(m);
	ck_assert_int_eq(idmefv2_transport_flush(t, 10000), IDMEFV2_OK);
	idmefv2_transport_free(t);
	ck_assert_int_eq(stat(target, &st), 0);
	ck_assert_int_eq(st.st_size, 5);
}
END_TEST

static Suite *dead_letter_suite(void)
{
	Suite *s = suite_create("dead_letter");
	TCase *tc = tcase_create("dead_letter");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_records_always_utf8_json);
	tcase_add_test(tc, test_failed_at_stop_dead_lettered);
	tcase_add_test(tc, test_symlink_not_followed);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(dead_letter_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
