/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Option "delivery.report_spooled": an accepted message is reported
 * IDMEFV2_DELIVERY_SPOOLED once it is durably in the spool, before any final
 * outcome, whatever sent it there (peer down, queue full, stop); without the
 * option nothing changes. Every accepted message gets exactly one final
 * outcome or a SPOOLED report first. Driven by the fake backend.
 */
#include <check.h>
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fakebackend.h"
#include "testlib.h"
#include "transport-generic.h"

#define N_MAX 64
#define WAIT_MS 10000

static char err[512];
static char *tmp;
static char spool_dir[4200];

/* Every call per message, in order. */
static struct {
	pthread_mutex_t lock;
	unsigned count[N_MAX + 1];
	idmefv2_delivery_status seq[N_MAX + 1][4];
	unsigned null_sent;
	unsigned null_other;
	unsigned in_send_calls; /* callbacks made from inside send() */
} R = { .lock = PTHREAD_MUTEX_INITIALIZER };

static pthread_t main_thread;
static atomic_bool in_send;

static void on_delivery(idmefv2_transport *t, void *opaque, idmefv2_delivery_status status, const char *detail,
                        void *ud)
{
	uintptr_t i = (uintptr_t)opaque;

	(void)t;
	(void)detail;
	(void)ud;
	pthread_mutex_lock(&R.lock);
	if (pthread_equal(pthread_self(), main_thread) && atomic_load(&in_send))
		R.in_send_calls++;
	if (i == 0) {
		if (status == IDMEFV2_DELIVERY_SENT)
			R.null_sent++;
		else
			R.null_other++;
	} else if (i <= N_MAX) {
		if (R.count[i] < 4)
			R.seq[i][R.count[i]] = status;
		R.count[i]++;
	}
	pthread_mutex_unlock(&R.lock);
}

static unsigned count_of(unsigned i)
{
	unsigned n;

	pthread_mutex_lock(&R.lock);
	n = R.count[i];
	pthread_mutex_unlock(&R.lock);
	return n;
}

static bool all_called(unsigned first, unsigned last)
{
	for (unsigned i = first; i <= last; i++)
		if (count_of(i) == 0)
			return false;
	return true;
}

static void setup(void)
{
	tmp = testlib_tmpdir();
	snprintf(spool_dir, sizeof(spool_dir), "%s/spool", tmp);
	err[0] = '\0';
	pthread_mutex_lock(&R.lock);
	memset(R.count, 0, sizeof(R.count));
	R.null_sent = R.null_other = R.in_send_calls = 0;
	pthread_mutex_unlock(&R.lock);
	main_thread = pthread_self();
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

static idmefv2_transport *sender(bool report, bool spool)
{
	idmefv2_transport *t = fake_new();

	if (report)
		set(t, "delivery.report_spooled", "true");
	if (spool)
		set(t, "spool.dir", spool_dir);
	set(t, "retry.backoff_ms", "1");
	set(t, "retry.backoff_max_ms", "5");
	idmefv2_transport_set_delivery_cb(t, on_delivery, NULL);
	return t;
}

static void start(idmefv2_transport *t)
{
	ck_assert_msg(idmefv2_transport_start(t, err, sizeof(err)) == IDMEFV2_OK, "start: %s", err);
}

static void send_range(idmefv2_transport *t, unsigned first, unsigned last)
{
	for (unsigned i = first; i <= last; i++) {
		idmefv2_message *m = testlib_message(i);
		idmefv2_error e;

		atomic_store(&in_send, true);
		e = idmefv2_transport_send(t, m, (void *)(uintptr_t)i, err, sizeof(err));
		atomic_store(&in_send, false);
		idmefv2_message_unref(m);
		ck_assert_msg(e == IDMEFV2_OK, "send %u: %s", i, err);
	}
}

static size_t spool_count(void)
{
	return testlib_count_files(spool_dir, NULL) - (testlib_count_files(spool_dir, ".corrupt"));
}

static void assert_calls(unsigned i, unsigned n, idmefv2_delivery_status a, idmefv2_delivery_status b)
{
	pthread_mutex_lock(&R.lock);
	ck_assert_msg(R.count[i] == n, "message %u: %u calls, expected %u", i, R.count[i], n);
	if (n >= 1)
		ck_assert_msg(R.seq[i][0] == a, "message %u: first call %d, expected %d", i, R.seq[i][0], a);
	if (n >= 2)
		ck_assert_msg(R.seq[i][1] == b, "message %u: second call %d, expected %d", i, R.seq[i][1], b);
	pthread_mutex_unlock(&R.lock);
}

/* Peer down: each message is reported SPOOLED once on disk, then SENT when the peer is back. */
START_TEST(test_spooled_then_sent)
{
	idmefv2_transport *t = sender(true, true);
	idmefv2_transport_counters c;

	fake_set_mode(t, FAKE_DOWN);
	start(t);
	send_range(t, 1, 40);
	ck_assert_msg(TESTLIB_WAIT_FOR(all_called(1, 40), WAIT_MS), "not every message was reported SPOOLED");
	/* Reported only once the file is there. */
	ck_assert_uint_eq(spool_count(), 40);
	for (unsigned i = 1; i <= 40; i++)
		assert_calls(i, 1, IDMEFV2_DELIVERY_SPOOLED, 0);
	fake_set_mode(t, FAKE_UP);
	ck_assert_int_eq(idmefv2_transport_flush(t, WAIT_MS), IDMEFV2_OK);
	for (unsigned i = 1; i <= 40; i++)
		assert_calls(i, 2, IDMEFV2_DELIVERY_SPOOLED, IDMEFV2_DELIVERY_SENT);
	idmefv2_transport_get_counters(t, &c);
	ck_assert_uint_eq(c.sent, 40);
	ck_assert_uint_eq(c.failed, 0);
	ck_assert_uint_eq(R.in_send_calls, 0);
	idmefv2_transport_free(t);
	ck_assert_uint_eq(spool_count(), 0);
}
END_TEST

/* Without the option: the same outage gives no call until the one final outcome. */
START_TEST(test_without_option_unchanged)
{
	idmefv2_transport *t = sender(false, true);

	fake_set_mode(t, FAKE_DOWN);
	start(t);
	send_range(t, 1, 40);
	ck_assert(TESTLIB_WAIT_FOR(spool_count() == 40, WAIT_MS));
	testlib_sleep_ms(50);
	for (unsigned i = 1; i <= 40; i++)
		ck_assert_uint_eq(count_of(i), 0);
	fake_set_mode(t, FAKE_UP);
	ck_assert_int_eq(idmefv2_transport_flush(t, WAIT_MS), IDMEFV2_OK);
	for (unsigned i = 1; i <= 40; i++)
		assert_calls(i, 1, IDMEFV2_DELIVERY_SENT, 0);
	idmefv2_transport_free(t);
}
END_TEST

/* Memory full: what overflows to the spool is reported SPOOLED, what stays in memory is not. */
START_TEST(test_queue_full_spooled)
{
	idmefv2_transport *t = sender(true, true);

	set(t, "queue.size", "4");
	fake_set_mode(t, FAKE_HOLD);
	start(t);
	send_range(t, 1, 20);
	ck_assert_msg(TESTLIB_WAIT_FOR(all_called(5, 20), WAIT_MS), "overflow not reported SPOOLED");
	for (unsigned i = 1; i <= 4; i++)
		ck_assert_uint_eq(count_of(i), 0);
	fake_set_mode(t, FAKE_UP);
	ck_assert_int_eq(idmefv2_transport_flush(t, WAIT_MS), IDMEFV2_OK);
	for (unsigned i = 1; i <= 4; i++)
		assert_calls(i, 1, IDMEFV2_DELIVERY_SENT, 0);
	for (unsigned i = 5; i <= 20; i++)
		assert_calls(i, 2, IDMEFV2_DELIVERY_SPOOLED, IDMEFV2_DELIVERY_SENT);
	ck_assert_uint_eq(R.in_send_calls, 0);
	idmefv2_transport_free(t);
}
END_TEST

/* Stop with messages left in memory: spooled at stop, each reported SPOOLED (and nothing
 * else) before stop() returns; the next transport replays them with NULL opaques. */
START_TEST(test_stop_spools_and_reports)
{
	idmefv2_transport *t = sender(true, true);

	set(t, "stop.flush_timeout_ms", "20");
	fake_set_mode(t, FAKE_HOLD);
	start(t);
	send_range(t, 1, 20);
	idmefv2_transport_stop(t);
	for (unsigned i = 1; i <= 20; i++)
		assert_calls(i, 1, IDMEFV2_DELIVERY_SPOOLED, 0);
	idmefv2_transport_free(t);
	ck_assert_uint_eq(spool_count(), 20);

	t = sender(true, true);
	start(t);
	ck_assert_int_eq(idmefv2_transport_flush(t, WAIT_MS), IDMEFV2_OK);
	idmefv2_transport_free(t);
	ck_assert_uint_eq(R.null_sent, 20);
	ck_assert_uint_eq(R.null_other, 0);
	for (unsigned i = 1; i <= 20; i++)
		ck_assert_uint_eq(count_of(i), 1);
	ck_assert_uint_eq(spool_count(), 0);
}
END_TEST

/* Without a spool nothing is ever SPOOLED: stop fails what is left, once each. */
START_TEST(test_stop_without_spool_fails_once)
{
	idmefv2_transport *t = sender(true, false);

	set(t, "stop.flush_timeout_ms", "20");
	fake_set_mode(t, FAKE_HOLD);
	start(t);
	send_range(t, 1, 10);
	idmefv2_transport_free(t);
	for (unsigned i = 1; i <= 10; i++)
		assert_calls(i, 1, IDMEFV2_DELIVERY_FAILED, 0);
}
END_TEST

/* Rejected for good with a spool: SPOOLED (it was on disk while the peer was down), then REJECTED. */
START_TEST(test_spooled_then_rejected)
{
	idmefv2_transport *t = sender(true, true);

	fake_set_mode(t, FAKE_DOWN);
	start(t);
	send_range(t, 1, 5);
	ck_assert(TESTLIB_WAIT_FOR(all_called(1, 5), WAIT_MS));
	fake_set_mode(t, FAKE_REJECT);
	ck_assert_int_eq(idmefv2_transport_flush(t, WAIT_MS), IDMEFV2_OK);
	for (unsigned i = 1; i <= 5; i++)
		assert_calls(i, 2, IDMEFV2_DELIVERY_SPOOLED, IDMEFV2_DELIVERY_REJECTED);
	idmefv2_transport_free(t);
}
END_TEST

START_TEST(test_option_listed)
{
	const idmefv2_option_desc *d = idmefv2__option_find("delivery.report_spooled");

	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(d->type, IDMEFV2_OPTION_BOOL);
	ck_assert_str_eq(d->default_value, "false");
}
END_TEST

static Suite *report_spooled_suite(void)
{
	Suite *s = suite_create("report_spooled");
	TCase *tc = tcase_create("report_spooled");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_option_listed);
	tcase_add_test(tc, test_spooled_then_sent);
	tcase_add_test(tc, test_without_option_unchanged);
	tcase_add_test(tc, test_queue_full_spooled);
	tcase_add_test(tc, test_stop_spools_and_reports);
	tcase_add_test(tc, test_stop_without_spool_fails_once);
	tcase_add_test(tc, test_spooled_then_rejected);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(report_spooled_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
