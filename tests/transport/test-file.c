/* SPDX-License-Identifier: Apache-2.0 */
/* file:///dir: sender and listener round trips through a real directory and inotify. */
#include <check.h>
#include <dirent.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testlib.h"
#include "transport-generic.h"

static char err[512];
static char *tmp;
static char dir[4200];
static char url[4300];

static void setup(void)
{
	tmp = testlib_tmpdir();
	snprintf(dir, sizeof(dir), "%s/box", tmp);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	snprintf(url, sizeof(url), "file://%s", dir);
}

static void teardown(void)
{
	testlib_rmtree(tmp);
	free(tmp);
}

static idmefv2_transport *new_transport(idmefv2_transport_role role)
{
	idmefv2_transport *t = NULL;

	ck_assert_msg(idmefv2_transport_new(url, role, &t, err, sizeof(err)) == IDMEFV2_OK, "%s", err);
	return t;
}

static void set(idmefv2_transport *t, const char *name, const char *value)
{
	ck_assert_msg(idmefv2_transport_set(t, name, value, err, sizeof(err)) == IDMEFV2_OK, "%s", err);
}

static void start(idmefv2_transport *t)
{
	ck_assert_msg(idmefv2_transport_start(t, err, sizeof(err)) == IDMEFV2_OK, "start: %s", err);
}

static idmefv2_transport *new_listener(idmefv2_queue *q)
{
	idmefv2_transport *l = new_transport(IDMEFV2_TRANSPORT_LISTENER);

	idmefv2_transport_set_queue(l, q);
	return l;
}

static size_t count_dotfiles(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	size_t n = 0;

	while (d && (de = readdir(d)))
		if (de->d_name[0] == '.' && strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	if (d)
		closedir(d);
	return n;
}

struct log_capture {
	pthread_mutex_t lock;
	char text[8192];
};

static void capture_log(idmefv2_log_level level, const char *message, void *user_data)
{
	struct log_capture *c = user_data;

	(void)level;
	pthread_mutex_lock(&c->lock);
	if (strlen(c->text) + strlen(message) + 2 < sizeof(c->text)) {
		strcat(c->text, message);
		strcat(c->text, "\n");
	}
	pthread_mutex_unlock(&c->lock);
}

#define N 200

START_TEST(test_round_trip)
{
	idmefv2_queue *q = idmefv2_queue_new(N);
	idmefv2_transport *l = new_listener(q);
	idmefv2_transport *s = new_transport(IDMEFV2_TRANSPORT_SENDER);
	struct testlib_outcomes *o = testlib_outcomes_new(N);
	idmefv2_message *got[N];
	unsigned seen[N + 1] = {0};
	idmefv2_transport_counters c;

	start(l);
	idmefv2_transport_set_delivery_cb(s, testlib_outcomes_cb, o);
	start(s);
	for (unsigned i = 1; i <= N; i++) {
		idmefv2_message *m = testlib_message(i);
		ck_assert_int_eq(idmefv2_transport_send(s, m, (void *)(uintptr_t)i, err, sizeof(err)), IDMEFV2_OK);
		idmefv2_message_unref(m);
	}
	ck_assert_int_eq(idmefv2_transport_flush(s, 20000), IDMEFV2_OK);
	for (unsigned i = 1; i <= N; i++)
		ck_assert(o->calls[i] == 1 && o->status[i] == IDMEFV2_DELIVERY_SENT);
	idmefv2_transport_get_counters(s, &c);
	ck_assert_uint_eq(c.sent, N);

	for (unsigned i = 0; i < N; i++) {
		long n;
		ck_assert_int_eq(idmefv2_queue_get(q, 10000, &got[i]), IDMEFV2_OK);
		n = testlib_message_number(got[i]);
		ck_assert(n >= 1 && n <= N);
		seen[n]++;
	}
	for (unsigned i = 1; i <= N; i++)
		ck_assert_uint_eq(seen[i], 1);
	/* Files stay until acknowledged. */
	ck_assert_uint_eq(testlib_count_files(dir, ".json"), N);
	for (unsigned i = 0; i < N; i++) {
		ck_assert_int_eq(idmefv2_queue_task_done(q, got[i]), IDMEFV2_OK);
		idmefv2_message_unref(got[i]);
	}
	ck_assert_uint_eq(testlib_count_files(dir, NULL), 0);
	ck_assert_uint_eq(count_dotfiles(dir), 0);
	ck_assert(TESTLIB_WAIT_FOR((idmefv2_transport_get_counters(l, &c), c.received == N), 10000));
	ck_assert_uint_eq(c.invalid, 0);
	ck_assert_int_eq(idmefv2_queue_get(q, 0, &got[0]), IDMEFV2_ERR_TIMEOUT);

	idmefv2_transport_free(s);
	/* Stopping the listener closes the queue. */
	ck_assert_int_eq(idmefv2_transport_stop(l), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_queue_get(q, -1, &got[0]), IDMEFV2_ERR_CLOSED);
	idmefv2_transport_free(l);
	idmefv2_queue_unref(q);
	testlib_outcomes_free(o);
}
END_TEST

START_TEST(test_sender_names_and_content)
{
	idmefv2_transport *s = new_transport(IDMEFV2_TRANSPORT_SENDER);
	idmefv2_message *m = testlib_message(42);
	struct dirent *de;
	regex_t re;
	DIR *d;
	size_t n = 0;
	char *names[3];

	set(s, "file.extension", ".idmef");
	start(s);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(idmefv2_transport_send(s, m, NULL, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_transport_flush(s, 10000), IDMEFV2_OK);
	idmefv2_transport_free(s);

	ck_assert_int_eq(regcomp(&re, "^[0-9]{19,}-[0-9]+-[0-9]+\\.idmef$", REG_EXTENDED | REG_NOSUB), 0);
	d = opendir(dir);
	while ((de = readdir(d))) {
		char buf[4096];
		const char *want;
		size_t want_len;
		FILE *f;
		size_t len;
		if (de->d_name[0] == '.')
			continue;
		ck_assert_msg(regexec(&re, de->d_name, 0, NULL, 0) == 0, "bad name %s", de->d_name);
		ck_assert_uint_lt(n, 3);
		names[n++] = strdup(de->d_name);
		f = fopen(testlib_path(dir, de->d_name), "rb");
		ck_assert_ptr_nonnull(f);
		len = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		ck_assert_int_eq(idmefv2_message_serialize(m, "application/json", 0, &want, &want_len, NULL, NULL, 0),
		                 IDMEFV2_OK);
		ck_assert_uint_eq(len, want_len);
		ck_assert_int_eq(memcmp(buf, want, len), 0);
	}
	closedir(d);
	regfree(&re);
	/* Same message three times: three distinct files. */
	ck_assert_uint_eq(n, 3);
	ck_assert_str_ne(names[0], names[1]);
	ck_assert_str_ne(names[1], names[2]);
	ck_assert_str_ne(names[0], names[2]);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	ck_assert_uint_eq(count_dotfiles(dir), 0);
	idmefv2_message_unref(m);
}
END_TEST

START_TEST(test_listener_picks_up_existing_files_in_order)
{
	idmefv2_queue *q = idmefv2_queue_new(16);
	idmefv2_transport *l;
	idmefv2_message *m;
	char json[1024];
	char name[64];

	/* Present before start, named so that name order is not creation order. */
	for (unsigned i = 5; i >= 1; i--) {
		testlib_message_json(i, json, sizeof(json));
		snprintf(name, sizeof(name), "%03u.json", i);
		ck_assert(testlib_write_file(testlib_path(dir, name), json, strlen(json)));
	}
	l = new_listener(q);
	start(l);
	for (unsigned i = 1; i <= 5; i++) {
		ck_assert_int_eq(idmefv2_queue_get(q, 10000, &m), IDMEFV2_OK);
		ck_assert_int_eq(testlib_message_number(m), i);
		ck_assert_int_eq(idmefv2_queue_task_done(q, m), IDMEFV2_OK);
		idmefv2_message_unref(m);
	}
	ck_assert_uint_eq(testlib_count_files(dir, NULL), 0);
	idmefv2_transport_free(l);
	idmefv2_queue_unref(q);
}
END_TEST

START_TEST(test_invalid_and_ignored_files)
{
	idmefv2_queue *q = idmefv2_queue_new(16);
	idmefv2_transport *l = new_listener(q);
	struct log_capture logs = {PTHREAD_MUTEX_INITIALIZER, ""};
	idmefv2_transport_counters c;
	idmefv2_message *m;
	char json[1024];
	char *bad;

	idmefv2_transport_set_log_cb(l, capture_log, &logs);
	start(l);
	ck_assert(testlib_write_file(testlib_path(dir, "garbage.json"), "{not json", 9));
	bad = strdup("{\"Version\": \"2.D.V08\", \"ID\": \"nope\"}");
	ck_assert(testlib_write_file(testlib_path(dir, "schema-invalid.json"), bad, strlen(bad)));
	free(bad);
	testlib_message_json(9, json, sizeof(json));
	ck_assert(testlib_write_file(testlib_path(dir, ".hidden.json"), json, strlen(json)));
	ck_assert(testlib_write_file(testlib_path(dir, "empty.json"), "", 0));
	ck_assert(testlib_write_file(testlib_path(dir, "good.json"), json, strlen(json)));

	ck_assert_int_eq(idmefv2_queue_get(q, 10000, &m), IDMEFV2_OK);
	ck_assert_int_eq(testlib_message_number(m), 9);
	idmefv2_message_unref(m);
	ck_assert(TESTLIB_WAIT_FOR(testlib_count_files(dir, ".invalid") == 2, 10000));
	ck_assert_int_eq(access(testlib_path(dir, "garbage.json.invalid"), F_OK), 0);
	ck_assert_int_eq(access(testlib_path(dir, "schema-invalid.json.invalid"), F_OK), 0);
	ck_assert_int_eq(access(testlib_path(dir, "garbage.json"), F_OK), -1);
	/* Counted once the hand-off returns, which may be just after the get. */
	ck_assert(TESTLIB_WAIT_FOR((idmefv2_transport_get_counters(l, &c), c.received == 1), 10000));
	ck_assert_uint_eq(c.invalid, 2);
	/* The log names each file. */
	pthread_mutex_lock(&logs.lock);
	ck_assert_ptr_nonnull(strstr(logs.text, "garbage.json"));
	ck_assert_ptr_nonnull(strstr(logs.text, "schema-invalid.json"));
	pthread_mutex_unlock(&logs.lock);
	/* The dotfile and the empty file (not written yet) are neither delivered nor renamed. */
	ck_assert_int_eq(idmefv2_queue_get(q, 100, &m), IDMEFV2_ERR_TIMEOUT);
	ck_assert_int_eq(access(testlib_path(dir, ".hidden.json"), F_OK), 0);
	ck_assert_int_eq(access(testlib_path(dir, "empty.json"), F_OK), 0);
	/* Once written, it is picked up. */
	testlib_message_json(10, json, sizeof(json));
	ck_assert(testlib_write_file(testlib_path(dir, "empty.json"), json, strlen(json)));
	ck_assert_int_eq(idmefv2_queue_get(q, 10000, &m), IDMEFV2_OK);
	ck_assert_int_eq(testlib_message_number(m), 10);
	idmefv2_message_unref(m);
	idmefv2_transport_free(l);
	idmefv2_queue_unref(q);
}
END_TEST

START_TEST(test_queue_full_retried_and_unacked_kept)
{
	idmefv2_queue *q = idmefv2_queue_new(2);
	idmefv2_transport *l = new_listener(q);
	idmefv2_message *m;
	char json[1024];
	char name[64];
	unsigned got = 0;

	for (unsigned i = 1; i <= 5; i++) {
		testlib_message_json(i, json, sizeof(json));
		snprintf(name, sizeof(name), "%03u.json", i);
		ck_assert(testlib_write_file(testlib_path(dir, name), json, strlen(json)));
	}
	start(l);
	ck_assert(TESTLIB_WAIT_FOR(idmefv2_queue_size(q) == 2, 10000));
	testlib_sleep_ms(150);
	ck_assert_uint_eq(idmefv2_queue_size(q), 2);
	/* As room appears the rest arrive, in order. */
	while (got < 4 && idmefv2_queue_get(q, 10000, &m) == IDMEFV2_OK) {
		got++;
		ck_assert_int_eq(testlib_message_number(m), got);
		ck_assert_int_eq(idmefv2_queue_task_done(q, m), IDMEFV2_OK);
		idmefv2_message_unref(m);
	}
	ck_assert_uint_eq(got, 4);
	ck_assert_int_eq(idmefv2_queue_get(q, 10000, &m), IDMEFV2_OK);
	ck_assert_int_eq(testlib_message_number(m), 5);
	idmefv2_message_unref(m);
	idmefv2_transport_free(l);
	/* Never acknowledged: the file stays for the next run, even once the queue is gone. */
	idmefv2_queue_unref(q);
	ck_assert_uint_eq(testlib_count_files(dir, NULL), 1);
	ck_assert_int_eq(access(testlib_path(dir, "005.json"), F_OK), 0);
}
END_TEST

struct cb_state {
	pthread_mutex_t lock;
	unsigned calls;
	unsigned accepted;
	bool refuse;
};

static idmefv2_error message_cb(idmefv2_transport *t, idmefv2_message *msg, void *user_data)
{
	struct cb_state *s = user_data;
	idmefv2_error ret;

	(void)t;
	(void)msg;
	pthread_mutex_lock(&s->lock);
	s->calls++;
	ret = s->refuse ? IDMEFV2_ERR_FULL : IDMEFV2_OK;
	if (!s->refuse)
		s->accepted++;
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static unsigned cb_calls(struct cb_state *s)
{
	unsigned n;

	pthread_mutex_lock(&s->lock);
	n = s->calls;
	pthread_mutex_unlock(&s->lock);
	return n;
}

START_TEST(test_message_callback)
{
	idmefv2_transport *l = new_transport(IDMEFV2_TRANSPORT_LISTENER);
	struct cb_state s = {PTHREAD_MUTEX_INITIALIZER, 0, 0, true};
	char json[1024];

	idmefv2_transport_set_message_cb(l, message_cb, &s);
	start(l);
	testlib_message_json(3, json, sizeof(json));
	ck_assert(testlib_write_file(testlib_path(dir, "m.json"), json, strlen(json)));
	/* Refused: kept and offered again. */
	ck_assert(TESTLIB_WAIT_FOR(cb_calls(&s) >= 2, 10000));
	ck_assert_int_eq(access(testlib_path(dir, "m.json"), F_OK), 0);
	pthread_mutex_lock(&s.lock);
	s.refuse = false;
	pthread_mutex_unlock(&s.lock);
	/* Accepted: the callback's return acknowledges, the file goes. */
	ck_assert(TESTLIB_WAIT_FOR(access(testlib_path(dir, "m.json"), F_OK) != 0, 10000));
	idmefv2_transport_free(l);
	ck_assert_uint_eq(s.accepted, 1);
}
END_TEST

START_TEST(test_errors)
{
	idmefv2_transport *t = NULL;
	char missing[4300];

	/* The directory must exist at start. */
	snprintf(missing, sizeof(missing), "file://%s/missing", tmp);
	ck_assert_int_eq(idmefv2_transport_new(missing, IDMEFV2_TRANSPORT_SENDER, &t, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_transport_start(t, err, sizeof(err)), IDMEFV2_ERR_IO);
	ck_assert_ptr_nonnull(strstr(err, "missing"));
	idmefv2_transport_free(t);
	ck_assert_int_eq(idmefv2_transport_new(missing, IDMEFV2_TRANSPORT_LISTENER, &t, err, sizeof(err)), IDMEFV2_OK);
	idmefv2_transport_set_message_cb(t, message_cb, NULL);
	ck_assert_int_eq(idmefv2_transport_start(t, err, sizeof(err)), IDMEFV2_ERR_IO);
	idmefv2_transport_free(t);
	ck_assert_int_eq(idmefv2_transport_new("file://host/x", IDMEFV2_TRANSPORT_SENDER, &t, err, sizeof(err)),
	                 IDMEFV2_ERR_URL);
}
END_TEST

START_TEST(test_directory_down_spooled_then_replayed)
{
	idmefv2_transport *s = new_transport(IDMEFV2_TRANSPORT_SENDER);
	struct testlib_outcomes *o = testlib_outcomes_new(20);
	char spool[4300];
	struct dirent **list;
	int n;

	snprintf(spool, sizeof(spool), "%s/spool", tmp);
	set(s, "spool.dir", spool);
	set(s, "retry.backoff_ms", "5");
	set(s, "retry.backoff_max_ms", "20");
	idmefv2_transport_set_delivery_cb(s, testlib_outcomes_cb, o);
	start(s);
	/* The peer goes away. */
	ck_assert_int_eq(rmdir(dir), 0);
	for (unsigned i = 1; i <= 20; i++) {
		idmefv2_message *m = testlib_message(i);
		ck_assert_int_eq(idmefv2_transport_send(s, m, (void *)(uintptr_t)i, err, sizeof(err)), IDMEFV2_OK);
		idmefv2_message_unref(m);
	}
	ck_assert(TESTLIB_WAIT_FOR(testlib_count_files(spool, NULL) == 20, 10000));
	ck_assert_uint_eq(testlib_outcomes_total(o), 0);
	/* Back: delivered, in order, spool emptied. */
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	ck_assert_int_eq(idmefv2_transport_flush(s, 20000), IDMEFV2_OK);
	ck_assert_uint_eq(testlib_count_files(spool, NULL), 0);
	n = scandir(dir, &list, NULL, alphasort);
	ck_assert_int_eq(n, 22);
	for (int i = 2; i < n; i++) {
		char buf[2048];
		FILE *f = fopen(testlib_path(dir, list[i]->d_name), "rb");
		size_t len = fread(buf, 1, sizeof(buf) - 1, f);
		idmefv2_message *m = NULL;
		fclose(f);
		ck_assert_int_eq(idmefv2_message_new_from_json(buf, len, &m, NULL, 0), IDMEFV2_OK);
		/* Names sort by time of writing: the order messages were sent. */
		ck_assert_int_eq(testlib_message_number(m), i - 1);
		idmefv2_message_unref(m);
	}
	for (int i = 0; i < n; i++)
		free(list[i]);
	free(list);
	for (unsigned i = 1; i <= 20; i++)
		ck_assert(o->calls[i] == 1 && o->status[i] == IDMEFV2_DELIVERY_SENT);
	idmefv2_transport_free(s);
	testlib_outcomes_free(o);
}
END_TEST

START_TEST(test_retry_max_gives_up)
{
	idmefv2_transport *s = new_transport(IDMEFV2_TRANSPORT_SENDER);
	struct testlib_outcomes *o = testlib_outcomes_new(3);
	idmefv2_transport_counters c;
	char dead[4300];

	snprintf(dead, sizeof(dead), "%s/dead.ndjson", tmp);
	set(s, "retry.max", "2");
	set(s, "retry.backoff_ms", "1");
	set(s, "retry.backoff_max_ms", "5");
	set(s, "dead_letter", dead);
	idmefv2_transport_set_delivery_cb(s, testlib_outcomes_cb, o);
	start(s);
	ck_assert_int_eq(rmdir(dir), 0);
	for (unsigned i = 1; i <= 3; i++) {
		idmefv2_message *m = testlib_message(i);
		ck_assert_int_eq(idmefv2_transport_send(s, m, (void *)(uintptr_t)i, err, sizeof(err)), IDMEFV2_OK);
		idmefv2_message_unref(m);
	}
	ck_assert_int_eq(idmefv2_transport_flush(s, 20000), IDMEFV2_OK);
	for (unsigned i = 1; i <= 3; i++)
		ck_assert(o->calls[i] == 1 && o->status[i] == IDMEFV2_DELIVERY_FAILED);
	idmefv2_transport_get_counters(s, &c);
	ck_assert_uint_eq(c.failed, 3);
	ck_assert_uint_ge(c.retried, 6);
	ck_assert_uint_eq(testlib_count_files(tmp, ".ndjson"), 1);
	idmefv2_transport_free(s);
	testlib_outcomes_free(o);
}
END_TEST

static Suite *file_suite(void)
{
	Suite *s = suite_create("file");
	TCase *tc = tcase_create("file");

	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_sender_names_and_content);
	tcase_add_test(tc, test_listener_picks_up_existing_files_in_order);
	tcase_add_test(tc, test_invalid_and_ignored_files);
	tcase_add_test(tc, test_queue_full_retried_and_unacked_kept);
	tcase_add_test(tc, test_message_callback);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_directory_down_spooled_then_replayed);
	tcase_add_test(tc, test_retry_max_gives_up);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(file_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
