/* SPDX-License-Identifier: Apache-2.0 */
/* The message object: creation, references, Version, validation. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include <idmefv2/message.h>
#include <idmefv2/schema.h>
#include <idmefv2/util.h>

#include "message-private.h"

static char err[1024];

static idmefv2_message *msg_of(const char *json)
{
	idmefv2_message *msg = NULL;

	ck_assert_msg(idmefv2_message_new_from_json(json, strlen(json), &msg, err, sizeof(err)) == IDMEFV2_OK,
	              "%s", err);
	return msg;
}

static char *read_file(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*ret_len = (size_t)n;
	return buf;
}

START_TEST(test_new_default)
{
	idmefv2_message *msg = NULL;
	struct json_object *obj, *v;
	struct timespec ts, now;
	const char *id, *ct;

	ck_assert_int_eq(idmefv2_message_new(NULL, &msg, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_ptr_nonnull(msg);
	obj = idmefv2_message_get_object(msg);
	ck_assert_int_eq(json_object_object_length(obj), 3);
	ck_assert_str_eq(idmefv2_message_get_version(msg), IDMEFV2_VERSION_LATEST);
	ck_assert_str_eq(idmefv2_message_get_version(msg), "2.D.V08");

	ck_assert(json_object_object_get_ex(obj, "ID", &v));
	id = json_object_get_string(v);
	ck_assert(idmefv2_uuid_is_valid(id));
	ck_assert_int_eq(id[14], '7');

	ck_assert(json_object_object_get_ex(obj, "CreateTime", &v));
	ct = json_object_get_string(v);
	ck_assert_int_eq(idmefv2_time_parse(ct, &ts, NULL), IDMEFV2_OK);
	clock_gettime(CLOCK_REALTIME, &now);
	ck_assert_msg(ts.tv_sec <= now.tv_sec && ts.tv_sec >= now.tv_sec - 5, "CreateTime %s is not now", ct);
	/* microseconds, UTC */
	ck_assert_msg(strchr(ct, '.') && ct[strlen(ct) - 1] == 'Z', "%s", ct);
	idmefv2_message_unref(msg);
}
END_TEST

START_TEST(test_new_every_version)
{
	const char *const *v = idmefv2_schema_versions();

	for (; *v; v++) {
		idmefv2_message *msg = NULL;

		ck_assert_msg(idmefv2_message_new(*v, &msg, err, sizeof(err)) == IDMEFV2_OK, "%s: %s", *v, err);
		ck_assert_str_eq(idmefv2_message_get_version(msg), *v);
		idmefv2_message_unref(msg);
	}
}
END_TEST

START_TEST(test_new_unknown_version)
{
	idmefv2_message *msg = (idmefv2_message *)&err; /* must stay untouched */

	ck_assert_int_eq(idmefv2_message_new("2.D.V99", &msg, err, sizeof(err)), IDMEFV2_ERR_VERSION);
	ck_assert_ptr_eq(msg, (idmefv2_message *)&err);
	ck_assert_msg(strstr(err, "\"2.D.V99\""), "%s", err);
	for (const char *const *v = idmefv2_schema_versions(); *v; v++) {
		char quoted[32];

		snprintf(quoted, sizeof(quoted), "\"%s\"", *v);
		ck_assert_msg(strstr(err, quoted), "\"%s\" does not list %s", err, *v);
	}
	ck_assert_int_eq(idmefv2_message_new("", &msg, err, sizeof(err)), IDMEFV2_ERR_VERSION);
	ck_assert_int_eq(idmefv2_message_new("2.d.v08", &msg, NULL, 0), IDMEFV2_ERR_VERSION);
	ck_assert_int_eq(idmefv2_message_new(NULL, NULL, err, sizeof(err)), IDMEFV2_ERR_INVALID_ARG);
}
END_TEST

START_TEST(test_new_fresh_ids)
{
	idmefv2_message *a = NULL, *b = NULL;
	const char *ia, *ib;

	ck_assert_int_eq(idmefv2_message_new(NULL, &a, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_message_new(NULL, &b, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_message_get_string(a, "ID", &ia, NULL, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_message_get_string(b, "ID", &ib, NULL, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_str_ne(ia, ib);
	ck_assert_int_lt(strcmp(ia, ib), 0);
	idmefv2_message_unref(a);
	idmefv2_message_unref(b);
}
END_TEST

START_TEST(test_new_validates)
{
	idmefv2_message *msg = NULL;
	idmefv2_report *report = NULL;

	ck_assert_int_eq(idmefv2_message_new(NULL, &msg, err, sizeof(err)), IDMEFV2_OK);
	/* Analyzer is required by 2.D.V08 */
	ck_assert_int_eq(idmefv2_message_validate(msg, 0, &report, err, sizeof(err)), IDMEFV2_ERR_INVALID);
	ck_assert_ptr_nonnull(report);
	ck_assert_uint_ge(idmefv2_report_count(report), 1);
	ck_assert_msg(strstr(err, "2.D.V08") && strstr(err, "Analyzer"), "%s", err);
	idmefv2_report_free(report);
	report = NULL;

	ck_assert_int_eq(idmefv2_message_set_string(msg, "Analyzer.Name", "test", err, sizeof(err)), IDMEFV2_OK);
	ck_assert_msg(idmefv2_message_validate(msg, 0, &report, err, sizeof(err)) == IDMEFV2_OK, "%s", err);
	ck_assert_ptr_null(report);
	/* a fuller message, as python-idmefv2 users build them */
	ck_assert_int_eq(idmefv2_message_set_from_text(msg, "Category", "[\"Recon.Network\"]", err, sizeof(err)),
	                 IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_message_set_from_text(msg, "Confidence", "0.5", err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_message_set_string(msg, "Source(>>).IP", "192.0.2.1", err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_message_set_int(msg, "Source(-1).Port(>>)", 443, err, sizeof(err)), IDMEFV2_OK);
	{
		char id[IDMEFV2_UUID_STRLEN];

		ck_assert_int_eq(idmefv2_uuid_new(id, sizeof(id)), IDMEFV2_OK);
		ck_assert_int_eq(idmefv2_message_set_string(msg, "Source(-1).ID", id, err, sizeof(err)), IDMEFV2_OK);
	}
	ck_assert_msg(idmefv2_message_validate(msg, 0, NULL, err, sizeof(err)) == IDMEFV2_OK, "%s", err);
	/* without report nor errstr */
	ck_assert_int_eq(idmefv2_message_set_number(msg, "Confidence", 2.0, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_message_validate(msg, 0, NULL, NULL, 0), IDMEFV2_ERR_INVALID);
	ck_assert_int_eq(idmefv2_message_validate(msg, 0, NULL, err, sizeof(err)), IDMEFV2_ERR_INVALID);
	ck_assert_msg(strstr(err, "/Confidence"), "%s", err);
	idmefv2_message_unref(msg);
}
END_TEST

START_TEST(test_validate_version_errors)
{
	static const char *const docs[] = {
		"{\"Analyzer\":{\"Name\":\"a\"}}",
		"{\"Version\":8,\"Analyzer\":{\"Name\":\"a\"}}",
		"{\"Version\":\"2.D.V99\",\"Analyzer\":{\"Name\":\"a\"}}",
	};
	idmefv2_report *report = NULL;

	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		idmefv2_message *msg = msg_of(docs[i]);

		err[0] = '\0';
		ck_assert_int_eq(idmefv2_message_validate(msg, 0, &report, err, sizeof(err)), IDMEFV2_ERR_VERSION);
		ck_assert_ptr_null(report);
		ck_assert_msg(strstr(err, "\"2.D.V08\"") && strstr(err, "\"2.0.3\""), "%s", err);
		idmefv2_message_unref(msg);
	}
	ck_assert_int_eq(idmefv2_message_validate(NULL, 0, NULL, err, sizeof(err)), IDMEFV2_ERR_INVALID_ARG);
}
END_TEST

START_TEST(test_validate_examples)
{
	static const char *const files[] = {
		"examples/valid/connectors-doc-attachment-idmefv2.V04.json",
		"examples/valid/connectors-doc-minimal-idmefv2.V05.json",
		"examples/valid/connectors-testserver-idmefv2.valid.V04.json",
		"examples/valid/python-idmefv2-test_message-json1.V03.json",
	};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char path[512];
		idmefv2_message *msg = NULL;
		size_t len;
		char *text;

		snprintf(path, sizeof(path), "%s/%s", TEST_DATA_DIR, files[i]);
		text = read_file(path, &len);
		ck_assert_msg(idmefv2_message_new_from_json(text, len, &msg, err, sizeof(err)) == IDMEFV2_OK, "%s: %s",
		              files[i], err);
		ck_assert_msg(idmefv2_message_validate(msg, 0, NULL, err, sizeof(err)) == IDMEFV2_OK, "%s: %s",
		              files[i], err);
		idmefv2_message_unref(msg);
		free(text);
	}
}
END_TEST

START_TEST(test_refs)
{
	struct json_object *obj = json_object_new_object();
	idmefv2_message *msg, *again;

	json_object_object_add(obj, "Version", json_object_new_string("2.D.V08"));
	msg = idmefv2_message_new_from_object(obj);
	ck_assert_ptr_nonnull(msg);
	ck_assert_ptr_eq(idmefv2_message_get_object(msg), obj);
	/* the message took its own reference */
	ck_assert_int_eq(json_object_put(obj), 0);
	again = idmefv2_message_ref(msg);
	ck_assert_ptr_eq(again, msg);
	idmefv2_message_unref(msg);
	ck_assert_str_eq(idmefv2_message_get_version(again), "2.D.V08");
	idmefv2_message_unref(again);

	ck_assert_ptr_null(idmefv2_message_ref(NULL));
	idmefv2_message_unref(NULL);
	ck_assert_ptr_null(idmefv2_message_get_object(NULL));
	ck_assert_ptr_null(idmefv2_message_get_version(NULL));
}
END_TEST

START_TEST(test_from_object_rejects)
{
	struct json_object *arr = json_object_new_array();
	struct json_object *str = json_object_new_string("x");

	ck_assert_ptr_null(idmefv2_message_new_from_object(NULL));
	ck_assert_ptr_null(idmefv2_message_new_from_object(arr));
	ck_assert_ptr_null(idmefv2_message_new_from_object(str));
	/* no reference was taken */
	ck_assert_int_eq(json_object_put(arr), 1);
	ck_assert_int_eq(json_object_put(str), 1);
}
END_TEST

START_TEST(test_version_accessor)
{
	idmefv2_message *a = msg_of("{}"), *b = msg_of("{\"Version\":8}"), *c = msg_of("{\"Version\":\"2.0.3\"}");

	ck_assert_ptr_null(idmefv2_message_get_version(a));
	ck_assert_ptr_null(idmefv2_message_get_version(b));
	ck_assert_str_eq(idmefv2_message_get_version(c), "2.0.3");
	idmefv2_message_unref(a);
	idmefv2_message_unref(b);
	idmefv2_message_unref(c);
}
END_TEST

START_TEST(test_new_from_json_errors)
{
	idmefv2_message *msg = NULL;

	ck_assert_int_eq(idmefv2_message_new_from_json("[]", 2, &msg, err, sizeof(err)), IDMEFV2_ERR_NOT_OBJECT);
	ck_assert_ptr_null(msg);
	ck_assert_int_eq(idmefv2_message_new_from_json("{", 1, &msg, err, sizeof(err)), IDMEFV2_ERR_PARSE);
	ck_assert_int_eq(idmefv2_message_new_from_json(NULL, 0, &msg, err, sizeof(err)), IDMEFV2_ERR_PARSE);
	ck_assert_int_eq(idmefv2_message_new_from_json(NULL, 3, &msg, err, sizeof(err)), IDMEFV2_ERR_INVALID_ARG);
	ck_assert_int_eq(idmefv2_message_new_from_json("{}", 2, NULL, err, sizeof(err)), IDMEFV2_ERR_INVALID_ARG);
	ck_assert_ptr_null(msg);
}
END_TEST

#define THREADS 8
#define ROUNDS 100000

static void *ref_thread(void *p)
{
	idmefv2_message *msg = p;

	for (int i = 0; i < ROUNDS; i++) {
		idmefv2_message *m = idmefv2_message_ref(msg);

		if (!idmefv2_message_get_version(m))
			abort();
		idmefv2_message_unref(m);
	}
	idmefv2_message_unref(msg);
	return NULL;
}

START_TEST(test_refs_threads)
{
	idmefv2_message *msg = msg_of("{\"Version\":\"2.D.V08\"}");
	pthread_t th[THREADS];

	for (int t = 0; t < THREADS; t++)
		ck_assert_int_eq(pthread_create(&th[t], NULL, ref_thread, idmefv2_message_ref(msg)), 0);
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	/* each thread dropped its own reference; ours is the last */
	ck_assert_uint_eq(atomic_load(&msg->refcount), 1);
	idmefv2_message_unref(msg);
}
END_TEST

static Suite *message_suite(void)
{
	Suite *s = suite_create("message");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_new_default);
	tcase_add_test(tc, test_new_every_version);
	tcase_add_test(tc, test_new_unknown_version);
	tcase_add_test(tc, test_new_fresh_ids);
	tcase_add_test(tc, test_new_validates);
	tcase_add_test(tc, test_validate_version_errors);
	tcase_add_test(tc, test_validate_examples);
	tcase_add_test(tc, test_refs);
	tcase_add_test(tc, test_from_object_rejects);
	tcase_add_test(tc, test_version_accessor);
	tcase_add_test(tc, test_new_from_json_errors);
	tcase_add_test(tc, test_refs_threads);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(message_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
