/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kafka across processes: an idmefv2-kafka-mock process (3 brokers, a topic
 * of 6 partitions), three `idmefv2 listen --out DIR_i` processes in one
 * consumer group and 20,000 messages produced by `idmefv2 send` processes
 * (it reads its whole input before sending: half in one run, then small runs
 * while the stopped listener is restarted, then the rest in one run). In the
 * middle, one listener is stopped (SIGKILL, or SIGTERM) and started again
 * (into a directory of its own, so that every copy of a message stays
 * visible). Asserted, by message ID over the union of the
 * directories, with the group's committed offsets read right after the stop:
 * - every message is stored (lost == 0), none more than twice;
 * - whatever the stopped listener had stored past its partitions' committed
 *   offsets comes again (same ID), and nothing it had committed
 *   does; with SIGTERM that range is empty (it commits what it stored and
 *   leaves the group on the way out);
 * - no message committed before the stop comes again. Records of running
 *   listeners may come again too, to another listener or to the same one
 *   (its exit line counts them; --out keeps one copy): the mock refuses
 *   commits while its group is joining, which is when an eager rebalance
 *   revokes (a broker accepts them). Those are counted and printed apart;
 * - the restarted listener rejoins while messages flow (it stores some).
 * Printed: per-process counts, the duplicates and the time the restarted
 * listener took from exec to its first stored message (its rejoin).
 *
 * The mock coordinator holds a join for the session timeout of the last
 * member that joined (less 1 s): with librdkafka's default (45 s) nothing
 * reaches the restarted listener within this test's bounds.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "kafka-fixture.h"

#include "proc-harness.h"

#define TOPIC "alerts"
#define GROUP "siem"
#define PARTITIONS 6
#define MESSAGES 20000
#define PHASE1 (MESSAGES / 2)
#define STORED_BEFORE_STOP 1000
/* After the restart, runs of PHASE2_CHUNK messages until the restarted
 * listener has stored one or PHASE2_MS passed (IDMEFV2_TEST_REJOIN_WAIT_MS,
 * with CK_TIMEOUT_MULTIPLIER, measures longer rejoins), then the rest at once. */
#define PHASE2_CHUNK 10
#define PHASE2_MS 40000
#define LISTENERS 3
#define VICTIM 2 /* the last to join: not the group leader */
#define DIRS (LISTENERS + 1) /* the restarted listener writes into the fourth */

static char tmpdir[64];
static char bootstrap[256];
static pid_t mock_pid = -1;
static pid_t listener[DIRS];
static pid_t sender = -1;
static unsigned senders; /* idmefv2 send runs */
static char dirs[DIRS][128];

static void id_of(unsigned n, char *buf, size_t size)
{
	snprintf(buf, size, "ca75ca75-0000-4000-8000-%012x", n);
}

/* The number of our message ID @name ("<ID>.json"), or -1. */
static long id_number(const char *name)
{
	char expected[80];
	unsigned k;

	if (sscanf(name, "ca75ca75-0000-4000-8000-%12x.json", &k) != 1 || k >= MESSAGES)
		return -1;
	id_of(k, expected, sizeof(expected));
	strcat(expected, ".json");
	return strcmp(name, expected) == 0 ? (long)k : -1;
}

/* fork + exec @argv with stdin from /dev/null, stdout to @out (-1: the error file), stderr to @err_path. */
static pid_t spawn(char *const argv[], int out, const char *err_path)
{
	return ph_spawn((const char *const *)argv,
	                &(struct ph_io){ .in = "/dev/null", .out_fd = out, .out_to_err = out < 0, .err = err_path });
}

/* Exit status of @pid (128 + signal when killed), waiting up to @timeout_ms. */
static int wait_exit(pid_t pid, int timeout_ms)
{
	int status = ph_wait_exit(pid, timeout_ms, 10);

	if (status < 0)
		ck_abort_msg("process %d did not exit within %d ms", (int)pid, timeout_ms);
	return status;
}

/* idmefv2-kafka-mock; its first line of output is the bootstrap address. */
static void mock_start(void)
{
	char err_path[128], partitions[16];
	char *argv[] = { IDMEFV2_KAFKA_MOCK_PATH, "--brokers", "3", "--partitions", partitions, "--topic", TOPIC, NULL,
		         NULL, NULL };
	int fds[2];
	size_t len = 0;

	snprintf(partitions, sizeof(partitions), "%d", PARTITIONS);
	if (getenv("IDMEFV2_TEST_KAFKA_DEBUG")) { /* e.g. "mock": the group's joins, into mock.err */
		argv[7] = "--debug";
		argv[8] = getenv("IDMEFV2_TEST_KAFKA_DEBUG");
	}
	snprintf(err_path, sizeof(err_path), "%s/mock.err", tmpdir);
	ck_assert_int_eq(pipe(fds), 0);
	mock_pid = spawn(argv, fds[1], err_path);
	close(fds[1]);
	for (int64_t deadline = ph_now_ms() + 10000; !memchr(bootstrap, '\n', len);) {
		struct pollfd p = { .fd = fds[0], .events = POLLIN };
		ssize_t n;

		ck_assert_msg(ph_now_ms() < deadline, "idmefv2-kafka-mock printed no address within 10 s");
		if (poll(&p, 1, 100) <= 0)
			continue;
		n = read(fds[0], bootstrap + len, sizeof(bootstrap) - 1 - len);
		ck_assert_msg(n > 0, "idmefv2-kafka-mock exited without an address");
		len += (size_t)n;
		bootstrap[len] = '\0';
	}
	close(fds[0]);
	*strchr(bootstrap, '\n') = '\0';
	ck_assert_ptr_null(strchr(bootstrap, ' '));
}

static const char *url(void)
{
	static char buf[512];

	snprintf(buf, sizeof(buf), "kafka://%s/%s", bootstrap, TOPIC);
	return buf;
}

/* The i-th listener, with the group settings' defaults (no kafka.* option). */
static void listener_start(int i)
{
	char err_path[160];
	char *argv[] = { IDMEFV2_TOOL_PATH, "listen", "-q", "--out", dirs[i], "-o", "group_id=" GROUP, (char *)url(),
		         NULL };

	snprintf(err_path, sizeof(err_path), "%s/listen%d.err", tmpdir, i);
	listener[i] = spawn(argv, -1, err_path);
}

/* Mark the IDs stored in @dir in @seen (counting copies); @return how many files. */
static size_t dir_scan(const char *dir, unsigned char *seen)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		long k;

		if (de->d_name[0] == '.')
			continue;
		k = id_number(de->d_name);
		ck_assert_msg(k >= 0, "%s: unexpected file %s", dir, de->d_name);
		if (seen)
			seen[k]++;
		n++;
	}
	closedir(d);
	return n;
}

static size_t union_count(void)
{
	unsigned char *seen = calloc(MESSAGES, 1);
	size_t n = 0;

	ck_assert_ptr_nonnull(seen);
	for (int i = 0; i < DIRS; i++)
		dir_scan(dirs[i], seen);
	for (size_t k = 0; k < MESSAGES; k++)
		n += seen[k] > 0;
	free(seen);
	return n;
}

static long counted(const char *path, const char *what);

/*
 * Messages [@from, @to) sent by one `idmefv2 send` run, which must send them
 * all. Keyed by ID, they spread over the partitions (unkeyed, librdkafka puts
 * a burst into one partition); a small run goes unkeyed (quicker to start).
 */
static void send_run(unsigned from, unsigned to)
{
	char path[160], err_path[160], line[256], id[64];
	char *argv[] = { IDMEFV2_TOOL_PATH, "send", "-q", (char *)url(), path, NULL, NULL, NULL };
	FILE *f;

	snprintf(path, sizeof(path), "%s/send.ndjson", tmpdir);
	snprintf(err_path, sizeof(err_path), "%s/send.err", tmpdir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	for (unsigned k = from; k < to; k++) {
		id_of(k, id, sizeof(id));
		snprintf(line, sizeof(line),
		         "{\"Version\":\"2.D.V08\",\"ID\":\"%s\",\"CreateTime\":\"2025-01-01T00:00:00Z\","
		         "\"Analyzer\":{\"Name\":\"kafka-group\",\"IP\":\"192.0.2.1\"}}\n",
		         id);
		ck_assert_int_ge(fputs(line, f), 0);
	}
	ck_assert_int_eq(fclose(f), 0);
	if (to - from > PHASE2_CHUNK) {
		argv[5] = "-o";
		argv[6] = "record_key=ID";
	}
	sender = spawn(argv, -1, err_path);
	ck_assert_int_eq(wait_exit(sender, 60000), 0);
	sender = -1;
	senders++;
	ck_assert_int_eq(counted(err_path, " messages: "), (long)(to - from));
	ck_assert_int_eq(counted(err_path, " sent"), (long)(to - from));
}

/* The group's committed offset of each partition (-1: none). */
static void committed_offsets(int64_t *ret)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(PARTITIONS);
	char err[256];
	rd_kafka_t *rk;

	ck_assert_int_eq(rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof(err)), RD_KAFKA_CONF_OK);
	ck_assert_int_eq(rd_kafka_conf_set(conf, "group.id", GROUP, err, sizeof(err)), RD_KAFKA_CONF_OK);
	ck_assert_int_eq(rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err)), RD_KAFKA_CONF_OK);
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
	ck_assert_msg(rk, "%s", err);
	for (int p = 0; p < PARTITIONS; p++)
		rd_kafka_topic_partition_list_add(parts, TOPIC, p);
	ck_assert_int_eq(rd_kafka_committed(rk, parts, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
	for (int p = 0; p < PARTITIONS; p++) {
		ck_assert_int_eq(parts->elems[p].err, RD_KAFKA_RESP_ERR_NO_ERROR);
		ret[parts->elems[p].partition] = parts->elems[p].offset;
	}
	rd_kafka_topic_partition_list_destroy(parts);
	rd_kafka_destroy(rk);
}

/* The number before @what in the last line of @path holding "messages received" (the exit line), or -1. */
static long counted(const char *path, const char *what)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, exit_line[512] = "", *p;
	size_t size = 0;

	if (!f)
		return -1;
	while (getline(&line, &size, f) > 0)
		if (strstr(line, " messages received") || strstr(line, " messages: "))
			snprintf(exit_line, sizeof(exit_line), "%s", line);
	free(line);
	fclose(f);
	p = strstr(exit_line, what);
	if (!p)
		return -1;
	while (p > exit_line && (p[-1] == ' ' || (p[-1] >= '0' && p[-1] <= '9')))
		p--;
	return strtol(p, NULL, 10);
}

struct where {
	int32_t partition;
	int64_t offset;
};

/* Partition and offset of each message, read back from the topic. */
static struct where *topic_layout(void)
{
	struct kafka_mock m = { 0 };
	struct kafka_records recs;
	struct where *w = calloc(MESSAGES, sizeof(*w));
	char err[256];

	ck_assert_ptr_nonnull(w);
	for (size_t k = 0; k < MESSAGES; k++)
		w[k].partition = -1;
	snprintf(m.bootstraps, sizeof(m.bootstraps), "%s", bootstrap);
	ck_assert_msg(kafka_read_all(&m, TOPIC, 30000, &recs, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(recs.n, MESSAGES); /* the sender wrote each once */
	for (size_t i = 0; i < recs.n; i++) {
		const char *at = strstr(recs.v[i].value, "ca75ca75-");
		char name[64];
		long k;

		ck_assert_ptr_nonnull(at);
		snprintf(name, sizeof(name), "%.36s.json", at);
		k = id_number(name);
		ck_assert_int_ge(k, 0);
		ck_assert_int_eq(w[k].partition, -1);
		w[k] = (struct where){ .partition = recs.v[i].partition, .offset = recs.v[i].offset };
	}
	kafka_records_clear(&recs);
	return w;
}

static void setup(void)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

	snprintf(tmpdir, sizeof(tmpdir), "%s/idmefv2-kafka-group-XXXXXX", base);
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	for (int i = 0; i < DIRS; i++) {
		snprintf(dirs[i], sizeof(dirs[i]), "%s/out%d", tmpdir, i);
		listener[i] = -1;
	}
	bootstrap[0] = '\0';
	mock_start();
}

static void teardown(void)
{
	if (sender > 0) {
		kill(sender, SIGKILL);
		waitpid(sender, NULL, 0);
		sender = -1;
	}
	for (int i = 0; i < DIRS; i++) {
		if (listener[i] > 0) {
			kill(listener[i], SIGKILL);
			waitpid(listener[i], NULL, 0);
		}
	}
	if (mock_pid > 0) {
		kill(mock_pid, SIGTERM);
		waitpid(mock_pid, NULL, 0);
		mock_pid = -1;
	}
	if (getenv("IDMEFV2_TEST_KEEP")) {
		fprintf(stderr, "kept %s\n", tmpdir);
		return;
	}
	ph_tmpdir_remove(tmpdir);
}

static void group_run(int sig)
{
	int64_t t0 = ph_now_ms(), t_restart, rejoin_ms = -1, committed[PARTITIONS];
	char path[200], bad[256] = "";
	unsigned char *victim_had = calloc(MESSAGES, 1), *copies = calloc(MESSAGES, 1);
	size_t files[DIRS], lost = 0, dups = 0, victim_dups = 0, other_dups = 0, redelivered_same = 0, at_stop;
	struct where *w;
	unsigned sent;
	int64_t phase2_ms = getenv("IDMEFV2_TEST_REJOIN_WAIT_MS") ? atoll(getenv("IDMEFV2_TEST_REJOIN_WAIT_MS"))
	                                                          : PHASE2_MS;

	ck_assert_ptr_nonnull(victim_had);
	ck_assert_ptr_nonnull(copies);
	for (int i = 0; i < LISTENERS; i++) {
		listener_start(i);
		ph_sleep_ms(100); /* a join order: the victim joins last */
	}

	/* Phase 1: half the messages; stop the victim once it stored some. */
	send_run(0, PHASE1);
	for (int64_t deadline = ph_now_ms() + 30000; dir_scan(dirs[VICTIM], NULL) < STORED_BEFORE_STOP; ph_sleep_ms(5))
		ck_assert_msg(ph_now_ms() < deadline, "listener %d stored fewer than %d messages in 30 s", VICTIM,
		              STORED_BEFORE_STOP);
	kill(listener[VICTIM], sig);
	ck_assert_int_eq(wait_exit(listener[VICTIM], 30000), sig == SIGKILL ? 128 + SIGKILL : 0);
	listener[VICTIM] = -1;
	at_stop = dir_scan(dirs[VICTIM], victim_had);
	committed_offsets(committed);

	/* Restart (into a directory of its own); small runs until it stores one. */
	t_restart = ph_now_ms();
	listener_start(LISTENERS);
	for (sent = PHASE1; sent < MESSAGES && ph_now_ms() - t_restart < phase2_ms; sent += PHASE2_CHUNK) {
		if (dir_scan(dirs[LISTENERS], NULL) > 0) {
			rejoin_ms = ph_now_ms() - t_restart;
			break;
		}
		send_run(sent, sent + PHASE2_CHUNK);
	}
	send_run(sent, MESSAGES);

	for (int64_t deadline = ph_now_ms() + 30000; union_count() < MESSAGES && ph_now_ms() < deadline;)
		ph_sleep_ms(50);
	if (rejoin_ms < 0 && dir_scan(dirs[LISTENERS], NULL) > 0)
		rejoin_ms = ph_now_ms() - t_restart;
	ph_sleep_ms(500); /* whatever would come twice comes */
	for (int i = 0; i < DIRS; i++) {
		if (listener[i] <= 0)
			continue;
		kill(listener[i], SIGTERM);
		ck_assert_int_eq(wait_exit(listener[i], 30000), 0);
		listener[i] = -1;
	}

	/* Copies of each ID over the directories; the victim's holds what it stored before the signal. */
	for (int i = 0; i < DIRS; i++)
		files[i] = dir_scan(dirs[i], copies);
	ck_assert_uint_eq(files[VICTIM], at_stop);
	w = topic_layout();
	for (size_t k = 0; k < MESSAGES; k++) {
		bool committed_then = w[k].offset < committed[w[k].partition];
		bool uncommitted = victim_had[k] && !committed_then;

		lost += copies[k] == 0;
		dups += copies[k] > 1;
		victim_dups += uncommitted;
		other_dups += copies[k] > 1 && !victim_had[k];
		/* The first message that breaks a rule, reported after the counts. */
		if (bad[0])
			continue;
		if (copies[k] > 2)
			snprintf(bad, sizeof(bad), "message %zu stored %u times", k, copies[k]);
		else if (uncommitted && copies[k] != 2)
			snprintf(bad, sizeof(bad), "message %zu (partition %d, offset %" PRId64 ") stored, not committed "
			         "by the stopped listener, did not come again", k, w[k].partition, w[k].offset);
		else if (copies[k] == 2 && committed_then)
			snprintf(bad, sizeof(bad), "message %zu (partition %d, offset %" PRId64 ") came again though "
			         "committed (at %" PRId64 ") before the stop", k, w[k].partition, w[k].offset,
			         committed[w[k].partition]);
	}

	fprintf(stderr, "kafka group, %s to listener %d after it stored %zu messages:\n",
	        sig == SIGKILL ? "SIGKILL" : "SIGTERM", VICTIM, at_stop);
	for (int i = 0; i < DIRS; i++) {
		long again;

		snprintf(path, sizeof(path), "%s/listen%d.err", tmpdir, i);
		again = counted(path, " duplicate");
		redelivered_same += again > 0 ? (size_t)again : 0;
		if (counted(path, " messages received") < 0) {
			fprintf(stderr, "  listener %d (killed): %zu stored; no exit line\n", i, files[i]);
			continue;
		}
		fprintf(stderr, "  listener %d%s: %zu stored; its exit line: %ld received, %ld came again to it\n", i,
		        i == VICTIM ? " (stopped)" : i == LISTENERS ? " (restarted)" : "", files[i],
		        counted(path, " messages received"), again);
	}
	fprintf(stderr, "  %d messages sent by %u idmefv2 send runs, %zu distinct stored: lost %zu, duplicates %zu "
	        "(same ID): %zu the stopped listener's stored but uncommitted range, %zu from "
	        "partitions moved between running listeners; %zu more came again to the listener that had stored them "
	        "(kept once)\n  committed offsets at the stop:",
	        MESSAGES, senders, MESSAGES - lost, lost, dups, victim_dups, other_dups, redelivered_same);
	for (int p = 0; p < PARTITIONS; p++)
		fprintf(stderr, " %" PRId64, committed[p]);
	fprintf(stderr, "\n  rejoin of the restarted listener (exec to its first stored message): %.1f s; total %.1f s\n",
	        (double)rejoin_ms / 1000, (double)(ph_now_ms() - t0) / 1000);
	if (bad[0])
		fprintf(stderr, "  %s\n", bad);

	ck_assert_uint_eq(lost, 0);
	ck_assert_msg(!bad[0], "%s", bad);
	ck_assert_uint_eq(dups, victim_dups + other_dups);
	if (sig == SIGTERM)
		ck_assert_uint_eq(victim_dups, 0); /* it committed everything it stored before it left */
	ck_assert_msg(rejoin_ms >= 0, "the restarted listener stored nothing: it did not rejoin while messages flowed");
	ck_assert_uint_gt(files[LISTENERS], 0);
	free(w);
	free(copies);
	free(victim_had);
}

START_TEST(test_sigkill_restart)
{
	group_run(SIGKILL);
}
END_TEST

START_TEST(test_sigterm_restart)
{
	group_run(SIGTERM);
}
END_TEST

static Suite *kafka_group_suite(void)
{
	Suite *s = suite_create("kafka-group");
	TCase *tc = tcase_create("sigkill");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_sigkill_restart);
	suite_add_tcase(s, tc);
	tc = tcase_create("sigterm");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_sigterm_restart);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return ph_run_suite(kafka_group_suite());
}
