/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The generic sender: send queue, spool (order, crash safety, quota), flush and
 * stop, delivery callback accounting, dead letters, backoff. Driven by a fake
 * backend whose peer can be up, down, flaky or rejecting.
 */
#include <check.h>
#include <dirent.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fakebackend.h"
#include "testlib.h"
#include "transport-generic.h"

static char err[512];
static char *tmp;
static char spool_dir[4200];

static void setup(void)
{
	tmp = testlib_tmpdir();
	snprintf(spool_dir, sizeof(spool_dir), "%s/spool", tmp);
	err[0] = '\0';
}

static void teardown(void)
{
	testlib_rmtree(tmp);
	free(tmp);
}

static void set(idmefv2_transport *t, const char *name, const char *value)
{
	ck_assert_msg(idmefv2_transport_set(t, name, value, err, sizeof(err)) == IDMEFV2_OK, "%s=%s: %s", name, value,
	              err);
}

static void start(idmefv2_transport *t)
{
	ck_assert_msg(idmefv2_transport_start(t, err, sizeof(err)) == IDMEFV2_OK, "start: %s", err);
}

static idmefv2_error send_n(idmefv2_transport *t, unsigned n)
{
	idmefv2_message *m = testlib_message(n);
	idmefv2_error e = idmefv2_transport_send(t, m, (void *)(uintptr_t)n, err, sizeof(err));

	idmefv2_message_unref(m);
	return e;
}

/* Spool files (20-digit names), sorted; returns the count. */
static size_t spool_files(char names[][32], size_t max)
{
	DIR *d = opendir(spool_dir);
	struct dirent *de;
	size_t n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (strlen(de->d_name) != 20 || strspn(de->d_name, "0123456789") != 20)
			continue;
		if (names && n < max)
			memcpy(names[n], de->d_name, 21); /* 20 digits and the NUL, checked above */
		n++;
	}
	closedir(d);
	if (names && n > 1)
		qsort(names, n < max ? n : max, 32, (int (*)(const void *, const void *))strcmp);
	return n;
}

static size_t count_spool_files(void)
{
	return spool_files(NULL, 0);
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

START_TEST(test_send_flush_callback_once)
{
	idmefv2_transport *t = fake_new();
	struct testlib_outcomes *o = testlib_outcomes_new(300);
	idmefv2_transport_counters c;

	idmefv2_transport_set_delivery_cb(t, testlib_outcomes_cb, o);
	fake_set_mode(t, FAKE_FLAKY);
	start(t);
	for (unsigned i = 1; i <= 300; i++)
		ck_assert_int_eq(send_n(t, i), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_transport_flush(t, 20000), IDMEFV2_OK);
	for (unsigned i = 1; i <= 300; i++) {
		ck_assert_msg(o->calls[i] == 1, "message %u: %u callbacks", i, o->calls[i]);
		ck_assert_int_eq(o->status[i], IDMEFV2_DELIVERY_SENT);
	}
	idmefv2_transport_get_counters(t, &c);
	ck_assert_uint_eq(c.queued, 300);
	ck_assert_uint_eq(c.sent, 300);
	ck_assert_uint_eq(c.failed, 0);
	ck_assert_uint_gt(c.retried, 0);
	ck_assert_uint_eq(c.spooled, 0);
	/* Returned items go back to the head: order survives retries. */
	ck_assert(fake_delivered_in_order(t, 1, 300));
	idmefv2_transport_free(t);
	ck_assert_uint_eq(testlib_outcomes_total(o), 300);
	testlib_outcomes_free(o);
}
END_TEST

#define THREADS 4
#define PER_THREAD 500

struct sender_arg {
	idmefv2_transport *t;
	unsigned base;
	unsigned errors;
};

static void *sender_thread(void *arg)
{
	struct sender_arg *a = arg;

	for (unsigned i = 1; i <= PER_THREAD; i++) {
		idmefv2_message *m = testlib_message(a->base + i);
		char e[256];
		if (idmefv2_transport_send(a->t, m, (void *)(uintptr_t)(a->base + i), e, sizeof(e)) != IDMEFV2_OK)
			a->errors++;
		idmefv2_message_unref(m);
	}
	return NULL;
}

START_TEST(test_callback_once_multithreaded)
{
	idmefv2_transport *t = fake_new();
	struct testlib_outcomes *o = testlib_outcomes_new(THREADS * PER_THREAD);
	pthread_t th[THREADS];
	struct sender_arg args[THREADS];

	set(t, "queue.size", "64");
	set(t, "queue.timeout_ms", "-1");
	idmefv2_transport_set_delivery_cb(t, testlib_outcomes_cb, o);
	fake_set_mode(t, FAKE_FLAKY);
	start(t);
	for (unsigned i = 0; i < THREADS; i++) {
		args[i] = (struct sender_arg){t, i * PER_THREAD, 0};
		ck_assert_int_eq(pthread_create(&th[i], NULL, sender_thread, &args[i]), 0);
	}
	for (unsigned i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		ck_assert_uint_eq(args[i].errors, 0);
	}
	ck_assert_int_eq(idmefv2_transport_flush(t, 30000), IDMEFV2_OK);
	for (unsigned i = 1; i <= THREADS * PER_THREAD; i++)
		ck_assert_msg(o->calls[i] == 1 && o->status[i] == IDMEFV2_DELIVERY_SENT, "message %u: %u calls", i,
		              o->calls[i]);
	ck_assert_uint_eq(fake_delivered_count(t), THREADS * PER_THREAD);
	idmefv2_transport_free(t);
	testlib_outcomes_free(o);
}
END_TEST

START_TEST(test_validation_and_raw)
{
	idmefv2_transport *t = fake_new();
	idmefv2_message *bad = testlib_message(1);
	char raw[1024];

	ck_assert_int_eq(idmefv2_message_set_string(bad, "Analyzer.IP", "not an address", NULL, 0), IDMEFV2_OK);
	start(t);
	ck_assert_int_eq(idmefv2_transport_send(t, bad, NULL, err, sizeof(err)), IDMEFV2_ERR_INVALID);
	ck_assert_msg(strstr(err, "Analyzer/IP"), "errstr '%s' names no pointer", err);
	ck_assert_int_eq(idmefv2_transport_send(t, NULL, NULL, err, sizeof(err)), IDMEFV2_ERR_INVALID_ARG);

	/* Raw bytes are copied at once. */
	testlib_message_json(7, raw, sizeof(raw));
	ck_assert_int_eq(idmefv2_transport_send_raw(t, NULL, raw, strlen(raw), NULL, err, sizeof(err)), IDMEFV2_OK);
	memset(raw, 'x', sizeof(raw) - 1);
	ck_assert_int_eq(idmefv2_transport_send_raw(t, "application/json\nX", "{}", 2, NULL, err, sizeof(err)),
	                 IDMEFV2_ERR_INVALID_ARG);
	ck_assert_int_eq(idmefv2_transport_flush(t, 10000), IDMEFV2_OK);
	ck_assert(fake_delivered_in_order(t, 7, 1));
	idmefv2_transport_free(t);

	/* validate=false lets it through. */
	t = fake_new();
	set(t, "validate", "false");
	start(t);
	ck_assert_int_eq(idmefv2_transport_send(t, bad, NULL, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_transport_flush(t, 10000), IDMEFV2_OK);
	ck_assert_uint_eq(fake_delivered_count(t), 1);
	idmefv2_transport_free(t);
	idmefv2_message_unref(bad);
}
END_TEST

START_TEST(test_no_spool_full_and_stop_fails)
{
	idmefv2_transport *t = fake_new();
	struct testlib_outcomes *o = testlib_outcomes_new(10);
	idmefv2_transport_counters c;
	int64_t t0;
	unsigned accepted = 0;

	set(t, "queue.size", "3");
	set(t, "queue.timeout_ms", "30");
	set(t, "stop.flush_timeout_ms", "50");
	idmefv2_transport_set_delivery_cb(t, testlib_outcomes_cb, o);
	fake_set_mode(t, FAKE_HOLD);
	start(t);
	for (unsigned i = 1; i <= 10; i++) {
		idmefv2_error e = send_n(t, i);
		if (e == IDMEFV2_OK)
			accepted++;
		else
			ck_assert_msg(e == IDMEFV2_ERR_FULL && strstr(err, "queue full"), "send %u: %s", i, err);
	}
	ck_assert_uint_eq(accepted, 3);
	t0 = testlib_now_ms();
	ck_assert_int_eq(idmefv2_transport_flush(t, 40), IDMEFV2_ERR_TIMEOUT);
	ck_assert_int_ge(testlib_now_ms() - t0, 35);
	ck_assert_int_eq(idmefv2_transport_stop(t), IDMEFV2_OK);
	/* Without a spool, what is left at stop fails, once each. */
	ck_assert_uint_eq(testlib_outcomes_total(o), accepted);
	for (unsigned i = 1; i <= 10; i++)
		if (o->calls[i])
			ck_assert_int_eq(o->status[i], IDMEFV2_DELIVERY_FAILED);
	idmefv2_transport_get_counters(t, &c);
	ck_assert_uint_eq(c.queued, accepted);
	ck_assert_uint_eq(c.failed, accepted);
	ck_assert_int_eq(send_n(t, 11), IDMEFV2_ERR_STATE);
	idmefv2_transport_free(t);
	testlib_outcomes_free(o);
}
END_TEST

START_TEST(test_spool_overflow_replayed_in_order)
{
	idmefv2_transport *t = fake_new();
	struct testlib_outcomes *o = testlib_outcomes_new(50);
	char names[64][32];
	idmefv2_transport_counters c;

	set(t, "queue.size", "2");
	set(t, "spool.dir", spool_dir);
	idmefv2_transport_set_delivery_cb(t, testlib_outcomes_cb, o);
	fake_set_mode(t, FAKE_DOWN);
	start(t);
	for (unsigned i = 1; i <= 50; i++)
		ck_assert_msg(send_n(t, i) == IDMEFV2_OK, "send %u: %s", i, err);
	/* Down: every message ends up on disk, named in send order. */
	ck_assert(TESTLIB_WAIT_FOR(count_spool_files() == 50, 10000));
	ck_assert_uint_eq(spool_files(names, 64), 50);
	for (unsigned i = 1; i < 50; i++)
		ck_assert_str_lt(names[i - 1], names[i]);
	ck_assert_int_eq(idmefv2_transport_flush(t, 20), IDMEFV2_ERR_TIMEOUT);
	ck_assert_uint_eq(testlib_outcomes_total(o), 0);

	fake_set_mode(t, FAKE_UP);
	ck_assert_int_eq(idmefv2_transport_flush(t, 20000), IDMEFV2_OK);
	ck_assert(fake_delivered_in_order(t, 1, 50));
	ck_assert_uint_eq(count_spool_files(), 0);
	for (unsigned i = 1; i <= 50; i++)
		ck_assert(o->calls[i] == 1 && o->status[i] == IDMEFV2_DELIVERY_SENT);
	idmefv2_transport_get_counters(t, &c);
	ck_assert_uint_eq(c.queued, 50);
	ck_assert_uint_eq(c.sent, 50);
	ck_assert_uint_eq(c.spooled, 50);
	idmefv2_transport_free(t);
	testlib_outcomes_free(o);
}
END_TEST

/* The child sends while the peer is down, then dies without stop or free. */
static void crash_child(unsigned n)
{
	idmefv2_transport *t = fake_new();
	char e[256];

	if (idmefv2_transport_set(t, "spool.dir", spool_dir, e, sizeof(e)) != IDMEFV2_OK)
		_exit(2);
	fake_set_mode(t, FAKE_DOWN);
	if (idmefv2_transport_start(t, e, sizeof(e)) != IDMEFV2_OK)
		_exit(3);
	for (unsigned i = 1; i <= n; i++)
		if (send_n(t, i) != IDMEFV2_OK)
			_exit(4);
	if (!TESTLIB_WAIT_FOR(count_spool_files() == n, 10000))
		_exit(5);
	_exit(0);
}

START_TEST(test_spool_survives_crash)
{
	idmefv2_transport *t;
	struct testlib_outcomes *o = testlib_outcomes_new(20);
	char names[32][32];
	int status = 0;
	pid_t pid;
	DIR *d;
	struct dirent *de;

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		crash_child(10);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);

	/* Complete files only, no temporaries. */
	ck_assert_uint_eq(spool_files(names, 32), 10);
	d = opendir(spool_dir);
	while ((de = readdir(d)))
		ck_assert_msg(strncmp(de->d_name, ".tmp-", 5) != 0, "temporary %s left", de->d_name);
	closedir(d);

	/* A new process (here: transport) replays them in order before new messages. */
	t = fake_new();
	set(t, "spool.dir", spool_dir);
	idmefv2_transport_set_delivery_cb(t, testlib_outcomes_cb, o);
	fake_set_mode(t, FAKE_DOWN);
	start(t);
	for (unsigned i = 11; i <= 15; i++)
		ck_assert_int_eq(send_n(t, i), IDMEFV2_OK);
	ck_assert(TESTLIB_WAIT_FOR(count_spool_files() == 15, 10000));
	/* Numbering continues after the highest number found. */
	ck_assert_uint_eq(spool_files(names, 32), 15);
	for (unsigned i = 1; i < 15; i++)
		ck_assert_str_lt(names[i - 1], names[i]);
	fake_set_mode(t, FAKE_UP);
	ck_assert_int_eq(idmefv2_transport_flush(t, 20000), IDMEFV2_OK);
	ck_assert(fake_delivered_in_order(t, 1, 15));
	ck_assert_uint_eq(count_spool_files(), 0);
	/* Replayed items carry no opaque; new ones do. */
	ck_assert_uint_eq(o->null_opaque, 10);
	for (unsigned i = 11; i <= 15; i++)
		ck_assert_uint_eq(o->calls[i], 1);
	idmefv2_transport_free(t);
	testlib_outcomes_free(o);
}
END_TEST

START_TEST(test_free_without_stop_keeps_spool)
{
	idmefv2_transport *t = fake_new();
	struct testlib_outcomes *o = testlib_outcomes_new(10);
	idmefv2_transport_counters c;

	set(t, "spool.dir", spool_dir);
	set(t, "stop.flush_timeout_ms", "30");
	idmefv2_transport_set_delivery_cb(t, testlib_outcomes_cb, o);
	fake_set_mode(t, FAKE_DOWN);
	start(t);
	for (unsigned i = 1; i <= 8; i++)
		ck_assert_int_eq(send_n(t, i), IDMEFV2_OK);
	idmefv2_transport_get_counters(t, &c);
	ck_assert_uint_eq(c.failed, 0);
	idmefv2_transport_free(t);
	/* No outcome yet, so no callback, none lost: all on disk. */
	ck_assert_uint_eq(testlib_outcomes_total(o), 0);
	ck_assert_uint_eq(count_spool_files(), 8);

	/* The next transport delivers them and reports each once, with no opaque. */
	t = fake_new();
	set(t, "spool.dir", spool_dir);
	idmefv2_transport_set_delivery_cb(t, testlib_outcomes_cb, o);
	start(t);
	ck_assert_int_eq(idmefv2_transport_flush(t, 20000), IDMEFV2_OK);
	ck_assert(fake_delivered_in_order(t, 1, 8));
	ck_assert_uint_eq(count_spool_files(), 0);
	ck_assert_uint_eq(o->null_opaque, 8);
	ck_assert_uint_eq(testlib_outcomes_total(o), 8);
	idmefv2_transport_free(t);
	testlib_outcomes_free(o);
}
END_TEST

START_TEST(test_quota)
{
	idmefv2_transport *t = fake_new();
	struct log_capture logs = {PTHREAD_MUTEX_INITIALIZER, ""};
	char json[1024];
	char quota[32];
	uint64_t item;
	unsigned accepted = 0;
	unsigned refused = 0;

	testlib_message_json(1, json, sizeof(json));
	/* Serialized sizes vary a little by number: room for about four. */
	item = idmefv2__spool_item_size("application/json", strlen(json) + 16);
	snprintf(quota, sizeof(quota), "%" PRIu64, item * 4);
	set(t, "queue.size", "1");
	set(t, "spool.dir", spool_dir);
	set(t, "spool.max_bytes", quota);
	idmefv2_transport_set_log_cb(t, capture_log, &logs);
	fake_set_mode(t, FAKE_DOWN);
	start(t);
	for (unsigned i = 1; i <= 20; i++) {
		idmefv2_error e = send_n(t, i);
		if (e == IDMEFV2_OK) {
			ck_assert_uint_eq(refused, 0);
			accepted++;
		} else {
			ck_assert_int_eq(e, IDMEFV2_ERR_FULL);
			ck_assert_ptr_nonnull(strstr(err, "spool.max_bytes"));
			refused++;
		}
	}
	ck_assert_uint_gt(refused, 0);
	ck_assert_uint_ge(accepted, 3);
	pthread_mutex_lock(&logs.lock);
	ck_assert_ptr_nonnull(strstr(logs.text, "spool full"));
	pthread_mutex_unlock(&logs.lock);
	/* Nothing accepted is dropped. */
	fake_set_mode(t, FAKE_UP);
	ck_assert_int_eq(idmefv2_transport_flush(t, 20000), IDMEFV2_OK);
	ck_assert(fake_delivered_in_order(t, 1, accepted));
	/* Room again once delivered. */
	ck_assert_int_eq(send_n(t, 100), IDMEFV2_OK);
	idmefv2_transport_free(t);
}
END_TEST

START_TEST(test_spool_housekeeping)
{
	idmefv2_transport *t;
	idmefv2_transport *t2;
	struct testlib_outcomes *o = testlib_outcomes_new(10);
	char json[1024];
	char content[1200];

	ck_assert_int_eq(mkdir(spool_dir, 0700), 0);
	testlib_message_json(2, json, sizeof(json));
	snprintf(content, sizeof(content), "IDMEFV2-SPOOL 1 application/json\n%s", json);
	ck_assert(testlib_write_file(testlib_path(spool_dir, "00000000000000000002"), content, strlen(content)));
	ck_assert(testlib_write_file(testlib_path(spool_dir, "00000000000000000001"), "garbage", 7));
	ck_assert(testlib_write_file(testlib_path(spool_dir, ".tmp-00000000000000000003"), "half", 4));
	ck_assert(testlib_write_file(testlib_path(spool_dir, "unrelated.txt"), "x", 1));

	t = fake_new();
	set(t, "spool.dir", spool_dir);
	idmefv2_transport_set_delivery_cb(t, testlib_outcomes_cb, o);
	start(t);
	/* One transport per spool directory. */
	t2 = fake_new();
	set(t2, "spool.dir", spool_dir);
	ck_assert_int_eq(idmefv2_transport_start(t2, err, sizeof(err)), IDMEFV2_ERR_STATE);
	ck_assert_ptr_nonnull(strstr(err, "in use"));
	idmefv2_transport_free(t2);

	ck_assert_int_eq(idmefv2_transport_flush(t, 10000), IDMEFV2_OK);
	ck_assert(fake_delivered_in_order(t, 2, 1));
	/* The unreadable one failed once and is kept aside; the temporary is gone. */
	ck_assert_uint_eq(o->null_opaque, 2);
	ck_assert_int_eq(access(testlib_path(spool_dir, "00000000000000000001.corrupt"), F_OK), 0);
	ck_assert_int_ne(access(testlib_path(spool_dir, ".tmp-00000000000000000003"), F_OK), 0);
	ck_assert_int_eq(access(testlib_path(spool_dir, "unrelated.txt"), F_OK), 0);
	ck_assert_uint_eq(count_spool_files(), 0);
	idmefv2_transport_free(t);
	testlib_outcomes_free(o);
}
END_TEST

START_TEST(test_dead_letter)
{
	idmefv2_transport *t = fake_new();
	struct testlib_outcomes *o = testlib_outcomes_new(5);
	char path[4300];
	char line[2048];
	unsigned lines = 0;
	FILE *f;
	idmefv2_transport_counters c;

	snprintf(path, sizeof(path), "%s/dead.ndjson", tmp);
	set(t, "dead_letter", path);
	idmefv2_transport_set_delivery_cb(t, testlib_outcomes_cb, o);
	fake_set_mode(t, FAKE_REJECT);
	start(t);
	for (unsigned i = 1; i <= 4; i++)
		ck_assert_int_eq(send_n(t, i), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_transport_send_raw(t, "application/json", "not json\n", 9, (void *)(uintptr_t)5, err,
	                                            sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_transport_flush(t, 10000), IDMEFV2_OK);
	for (unsigned i = 1; i <= 5; i++)
		ck_assert(o->calls[i] == 1 && o->status[i] == IDMEFV2_DELIVERY_REJECTED);
	idmefv2_transport_get_counters(t, &c);
	ck_assert_uint_eq(c.failed, 5);
	ck_assert_uint_eq(c.sent, 0);
	idmefv2_transport_free(t);

	/* One JSON value per line, in order; the non-JSON body kept as a string. */
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		struct json_object *obj = json_tokener_parse(line);
		ck_assert_ptr_nonnull(obj);
		lines++;
		if (lines <= 4) {
			struct json_object *d;
			char want[32];
			ck_assert(json_object_object_get_ex(obj, "Description", &d));
			snprintf(want, sizeof(want), "message %u", lines);
			ck_assert_str_eq(json_object_get_string(d), want);
		} else {
			ck_assert(json_object_is_type(obj, json_type_string));
			ck_assert_str_eq(json_object_get_string(obj), "not json\n");
		}
		json_object_put(obj);
	}
	fclose(f);
	ck_assert_uint_eq(lines, 5);
	testlib_outcomes_free(o);
}
END_TEST

START_TEST(test_backoff)
{
	idmefv2_transport *t = fake_new();
	int64_t max1 = 0;
	int64_t max10 = 0;

	set(t, "retry.backoff_ms", "100");
	set(t, "retry.backoff_max_ms", "1000");
	for (int i = 0; i < 500; i++) {
		int64_t a = idmefv2__backoff_ms(t, 1);
		int64_t b = idmefv2__backoff_ms(t, 10);
		ck_assert(a >= 0 && a <= 100);
		ck_assert(b >= 0 && b <= 1000);
		ck_assert(idmefv2__backoff_ms(t, 3) <= 400);
		if (a > max1)
			max1 = a;
		if (b > max10)
			max10 = b;
	}
	/* Jitter spreads over the range; later attempts reach beyond the first's ceiling. */
	ck_assert_int_gt(max1, 50);
	ck_assert_int_gt(max10, 500);
	ck_assert(idmefv2__backoff_ms(t, 1000000) <= 1000);
	idmefv2_transport_free(t);
}
END_TEST

static Suite *spool_suite(void)
{
	Suite *s = suite_create("spool");
	TCase *tc = tcase_create("spool");

	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_send_flush_callback_once);
	tcase_add_test(tc, test_callback_once_multithreaded);
	tcase_add_test(tc, test_validation_and_raw);
	tcase_add_test(tc, test_no_spool_full_and_stop_fails);
	tcase_add_test(tc, test_spool_overflow_replayed_in_order);
	tcase_add_test(tc, test_spool_survives_crash);
	tcase_add_test(tc, test_free_without_stop_keeps_spool);
	tcase_add_test(tc, test_quota);
	tcase_add_test(tc, test_spool_housekeeping);
	tcase_add_test(tc, test_dead_letter);
	tcase_add_test(tc, test_backoff);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(spool_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
