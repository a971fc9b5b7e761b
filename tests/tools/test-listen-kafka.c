/* SPDX-License-Identifier: Apache-2.0 */
/*
 * idmefv2 listen --out as a Kafka consumer (librdkafka's mock cluster on
 * 127.0.0.1), stopped mid-topic and started again: with SIGKILL nothing is
 * lost (a record's offset is committed only once its message is stored) and
 * what comes again is counted as a duplicate, not stored twice; with SIGTERM
 * the offsets of everything stored are committed before exit, so nothing
 * comes again.
 */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kafka-fixture.h"

#include "proc-harness.h"

#define EXAMPLE EXAMPLES_DIR "/messages/badge-reader.json"
#define EXAMPLE_ID "0193a2b4-6000-7000-8000-000000000001"
#define TOPIC "alerts"
#define RECORDS 1500
#define STORED_BEFORE_SIGNAL 300

static char tmpdir[64];
static char out_dir[128];
static struct kafka_mock mock;

static void id_of(unsigned n, char *buf, size_t size)
{
	snprintf(buf, size, "ca75ca75-0000-4000-8000-%012x", n);
}

/* RECORDS messages with distinct IDs, spread over the topic's partitions. */
static void produce_all(void)
{
	static rd_kafka_resp_err_t outcome[RECORDS]; /* the fixture's delivery callback writes there */
	char err[256], id[64], *example = ph_file_read(EXAMPLE, NULL), *at;
	rd_kafka_t *rk = kafka_plain_producer(&mock, err, sizeof(err));

	ck_assert_ptr_nonnull(example);
	ck_assert_msg(rk, "%s", err);
	at = strstr(example, EXAMPLE_ID);
	ck_assert_ptr_nonnull(at);
	for (unsigned i = 0; i < RECORDS; i++) {
		rd_kafka_headers_t *hdrs = rd_kafka_headers_new(1);

		id_of(i, id, sizeof(id));
		memcpy(at, id, strlen(EXAMPLE_ID));
		rd_kafka_header_add(hdrs, "Content-Type", -1, "application/json", -1);
		outcome[i] = RD_KAFKA_RESP_ERR__IN_PROGRESS;
		ck_assert_int_eq(rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(TOPIC), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
		                                   RD_KAFKA_V_VALUE(example, strlen(example)), RD_KAFKA_V_HEADERS(hdrs),
		                                   RD_KAFKA_V_OPAQUE(&outcome[i]), RD_KAFKA_V_END), 0);
		rd_kafka_poll(rk, 0);
	}
	ck_assert_int_eq(rd_kafka_flush(rk, 30000), 0);
	for (unsigned i = 0; i < RECORDS; i++)
		ck_assert_int_eq(outcome[i], RD_KAFKA_RESP_ERR_NO_ERROR);
	rd_kafka_destroy(rk);
	free(example);
}

static void setup(void)
{
	char err[256];

	strcpy(tmpdir, "/tmp/idmefv2-listen-kafka-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(out_dir, sizeof(out_dir), "%s/out", tmpdir);
	ck_assert_msg(kafka_mock_new(&mock, 3, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(kafka_mock_topic(&mock, TOPIC, 3), 0);
	produce_all();
}

static void teardown(void)
{
	kafka_mock_free(&mock);
	ph_tmpdir_remove(tmpdir);
}

/* idmefv2 listen --out out_dir on the topic, stderr into tmpdir/@tag.err. */
static pid_t listener_start(const char *tag)
{
	char url[512], err_path[600];
	pid_t pid;

	kafka_mock_url(&mock, TOPIC, url, sizeof(url));
	snprintf(err_path, sizeof(err_path), "%s/%s.err", tmpdir, tag);
	/* A short session: after a SIGKILL, the group waits that long for the dead member. */
	pid = ph_spawn((const char *const[]){ IDMEFV2_TOOL_PATH, "listen", "-q", "--out", out_dir, "-o",
	                                      "group_id=inbox", "-o", "kafka.session.timeout.ms=6000", "-o",
	                                      "kafka.heartbeat.interval.ms=500", url, NULL },
	               &(struct ph_io){ .in = "/dev/null", .out_to_err = true, .err = err_path });
	return pid;
}

static int listener_wait(pid_t pid)
{
	int status = ph_wait_exit(pid, 30000, 20);

	if (status < 0)
		ck_abort_msg("the listener did not stop within 30 s");
	return status;
}

/* Stored messages (dotfiles are temporaries); @ret_other counts names that are not ID.json of ours. */
static size_t stored(size_t *ret_other)
{
	DIR *d = opendir(out_dir);
	struct dirent *de;
	size_t n = 0, other = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char id[64], expected[80];
		unsigned k;

		if (de->d_name[0] == '.')
			continue;
		if (sscanf(de->d_name, "ca75ca75-0000-4000-8000-%12x.json", &k) == 1 && k < RECORDS) {
			id_of(k, id, sizeof(id));
			snprintf(expected, sizeof(expected), "%s.json", id);
			if (strcmp(de->d_name, expected) == 0) {
				n++;
				continue;
			}
		}
		other++;
	}
	closedir(d);
	if (ret_other)
		*ret_other = other;
	return n;
}

static size_t wait_stored(size_t at_least, int timeout_ms)
{
	size_t n = 0;

	for (int64_t deadline = ph_now_ms() + timeout_ms; (n = stored(NULL)) < at_least && ph_now_ms() < deadline;)
		ph_sleep_ms(20);
	return n;
}

/* The number before @what in the exit line of @tag, or -1. */
static long counted(const char *tag, const char *what)
{
	char path[600], *err, *p;
	long n = -1;

	snprintf(path, sizeof(path), "%s/%s.err", tmpdir, tag);
	err = ph_file_read(path, NULL);
	p = err ? strstr(err, what) : NULL;
	if (p) {
		while (p > err && (p[-1] == ' ' || (p[-1] >= '0' && p[-1] <= '9')))
			p--;
		n = strtol(p, NULL, 10);
	}
	free(err);
	return n;
}

static void stop_and_resume(int sig)
{
	int64_t t0 = ph_now_ms();
	pid_t pid = listener_start("first");
	size_t before, other = 0;
	long dups;

	before = wait_stored(STORED_BEFORE_SIGNAL, 60000);
	ck_assert_uint_ge(before, STORED_BEFORE_SIGNAL);
	kill(pid, sig);
	ck_assert_int_eq(listener_wait(pid), sig == SIGKILL ? 128 + SIGKILL : 0);
	before = stored(NULL);

	pid = listener_start("second");
	wait_stored(RECORDS, 90000);
	/* Let anything that would come twice come. */
	ph_sleep_ms(500);
	kill(pid, SIGTERM);
	ck_assert_int_eq(listener_wait(pid), 0);

	dups = counted("second", " duplicate");
	fprintf(stderr, "kafka, signal %d: %zu stored before the signal, %zu in all of %d, %ld came again (%.1f s)\n",
	        sig, before, stored(NULL), RECORDS, dups, (double)(ph_now_ms() - t0) / 1000);
	ck_assert_uint_eq(stored(&other), RECORDS); /* lost == 0 */
	ck_assert_uint_eq(other, 0);                /* nothing stored twice */
	ck_assert_int_ge(dups, 0);
	if (sig == SIGTERM) {
		/* Everything stored was committed at the stop: nothing came again. */
		ck_assert_int_eq(counted("first", " messages received"), (long)before);
		ck_assert_int_eq(dups, 0);
		ck_assert_int_eq(counted("second", " messages received"), (long)(RECORDS - before));
	}
}

START_TEST(test_sigkill_then_resume)
{
	stop_and_resume(SIGKILL);
}
END_TEST

START_TEST(test_sigterm_then_resume)
{
	stop_and_resume(SIGTERM);
}
END_TEST

static Suite *listen_kafka_suite(void)
{
	Suite *s = suite_create("listen-kafka");
	TCase *tc = tcase_create("stop-resume");

	tcase_set_timeout(tc, 240);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_sigkill_then_resume);
	tcase_add_test(tc, test_sigterm_then_resume);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return ph_run_suite(listen_kafka_suite());
}
