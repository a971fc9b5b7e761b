/* SPDX-License-Identifier: Apache-2.0 */
/*
 * idmefv2 send and idmefv2 listen, run as programs: through a directory,
 * over HTTP on 127.0.0.1, and with a spool while the listener is down.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "proc-harness.h"

#define VALID_NDJSON TEST_DATA_DIR "/bench/messages-v08-valid.ndjson"
#define BROKEN_NDJSON EXAMPLES_DIR "/messages/broken.ndjson"
#define VALID_COUNT 2000

static char tmpdir[] = "/tmp/idmefv2-send-test-XXXXXX";

static void setup(void)
{
	strcpy(tmpdir, "/tmp/idmefv2-send-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
	ph_tmpdir_remove(tmpdir);
}

static char *path_in_tmp(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", tmpdir, name);
	return buf;
}

/* Start the tool with stdout and stderr into files named after @tag. */
static pid_t spawn(const char *tag, const char *const *args)
{
	char out[600], err[600];
	const char *argv[64];
	size_t argc = 0;

	argv[argc++] = IDMEFV2_TOOL_PATH;
	for (; *args; args++)
		argv[argc++] = *args;
	argv[argc] = NULL;
	snprintf(out, sizeof(out), "%s/%s.out", tmpdir, tag);
	snprintf(err, sizeof(err), "%s/%s.err", tmpdir, tag);
	return ph_spawn(argv, &(struct ph_io){ .in = "/dev/null", .out = out, .err = err });
}

#define start(tag, ...) spawn((tag), (const char *const[]){ __VA_ARGS__, NULL })

/* Wait for @pid up to @seconds; kill it and fail the test past that. */
static int reap(pid_t pid, int seconds)
{
	int status = ph_wait_exit(pid, seconds * 1000, 50);

	if (status < 0)
		ck_abort_msg("process %d did not finish within %d s", (int)pid, seconds);
	return status;
}

static char *output(const char *tag, const char *stream)
{
	char p[600];

	snprintf(p, sizeof(p), "%s/%s.%s", tmpdir, tag, stream);
	return ph_file_read_or_empty(p);
}

/* The port a listener printed on stderr ("... (port N)"), waiting for it to appear. */
static unsigned listener_port(const char *tag)
{
	for (int i = 0; i < 200; i++) {
		char *err = output(tag, "err");
		const char *p = strstr(err, "(port ");
		unsigned port = p ? (unsigned)strtoul(p + 6, NULL, 10) : 0;

		free(err);
		if (port)
			return port;
		usleep(25000);
	}
	ck_abort_msg("the listener did not report its port");
	return 0;
}

static size_t dir_count(const char *dir, bool dotfiles)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && (dotfiles || e->d_name[0] != '.'))
			n++;
	closedir(d);
	return n;
}

/* Whether every message ID of the corpus appears in @ndjson exactly once. */
static void assert_same_ids(const char *ndjson, size_t expected)
{
	char *corpus = ph_file_read_or_empty(VALID_NDJSON);
	struct json_object *seen = json_object_new_object();
	size_t n = 0;

	for (char *line = strtok(corpus, "\n"); line; line = strtok(NULL, "\n")) {
		struct json_object *m = json_tokener_parse(line), *id;

		ck_assert(json_object_object_get_ex(m, "ID", &id));
		json_object_object_add(seen, json_object_get_string(id), json_object_new_int(0));
		json_object_put(m);
	}
	for (const char *p = ndjson; *p;) {
		const char *nl = strchr(p, '\n');
		char *line = strndup(p, nl ? (size_t)(nl - p) : strlen(p));
		struct json_object *m = json_tokener_parse(line), *id, *count;

		ck_assert_msg(m != NULL, "not JSON: %.80s", line);
		ck_assert(json_object_object_get_ex(m, "ID", &id));
		ck_assert_msg(json_object_object_get_ex(seen, json_object_get_string(id), &count),
		              "unknown ID %s", json_object_get_string(id));
		ck_assert_int_eq(json_object_get_int(count), 0);
		json_object_set_int(count, 1);
		json_object_put(m);
		free(line);
		n++;
		p = nl ? nl + 1 : p + strlen(p);
	}
	ck_assert_uint_eq(n, expected);
	json_object_put(seen);
	free(corpus);
}

START_TEST(test_directory_round_trip)
{
	char drop[600], out[600], url[700];
	char *err;

	mkdir(path_in_tmp(drop, sizeof(drop), "drop"), 0700);
	mkdir(path_in_tmp(out, sizeof(out), "out"), 0700);
	snprintf(url, sizeof(url), "file://%s", drop);

	/* The broken file's three messages are reported and not sent. */
	ck_assert_int_eq(reap(start("send", "send", url, VALID_NDJSON, BROKEN_NDJSON), 60), 1);
	err = output("send", "err");
	ck_assert_msg(strstr(err, "2003 messages: 2000 sent, 0 failed, 3 invalid") != NULL, "%.300s", err);
	free(err);
	err = output("send", "out");
	ck_assert(strstr(err, "broken.ndjson:1: invalid message: /CreateTime: ") != NULL);
	ck_assert(strstr(err, "broken.ndjson:3: malformed JSON: line 1, column 54: ") != NULL);
	free(err);
	ck_assert_uint_eq(dir_count(drop, false), VALID_COUNT);

	ck_assert_int_eq(reap(start("listen", "listen", "--count", "2000", "--out", out, url), 60), 0);
	err = output("listen", "err");
	ck_assert_msg(strstr(err, "2000 messages received, 0 invalid") != NULL, "%.300s", err);
	free(err);
	ck_assert_uint_eq(dir_count(out, false), VALID_COUNT);
	/* Acknowledged messages leave the drop directory. */
	ck_assert_uint_eq(dir_count(drop, false), 0);
}
END_TEST

START_TEST(test_http_end_to_end)
{
	char url[128];
	pid_t listener;
	char *out, *err;
	int status;

	listener = start("listen", "listen", "--count", "2000", "http://127.0.0.1:0/");
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", listener_port("listen"));

	status = reap(start("send", "send", url, VALID_NDJSON), 120);
	err = output("send", "err");
	ck_assert_msg(status == 0 && strstr(err, "2000 messages: 2000 sent, 0 failed, 0 invalid") != NULL,
	              "exit %d: %.300s", status, err);
	free(err);

	ck_assert_int_eq(reap(listener, 60), 0);
	out = output("listen", "out");
	assert_same_ids(out, VALID_COUNT);
	free(out);
}
END_TEST

START_TEST(test_spool_while_listener_down)
{
	char spool[600], spool_opt[700], url[128];
	pid_t listener;
	unsigned port;
	char *out, *err;
	int status;

	/* Reserve a port: start a listener, note its port, stop it. */
	listener = start("probe", "listen", "http://127.0.0.1:0/");
	port = listener_port("probe");
	kill(listener, SIGTERM);
	ck_assert_int_eq(reap(listener, 30), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", port);

	path_in_tmp(spool, sizeof(spool), "spool");
	snprintf(spool_opt, sizeof(spool_opt), "spool.dir=%s", spool);

	/* Nobody listens: the messages go to the spool; kept on disk is not a failure (exit 0), the
	 * counters say where they are. */
	status = reap(start("send1", "send", "--timeout", "2", "-o", spool_opt, url, VALID_NDJSON), 120);
	err = output("send1", "err");
	ck_assert_msg(status == 0 && strstr(err, "2000 messages: 0 sent, 0 failed, 0 invalid, 2000 spooled"),
	              "exit %d: %.300s", status, err);
	free(err);
	ck_assert_uint_eq(dir_count(spool, false), VALID_COUNT);

	/* The listener is back on the same port; a new sender replays the spool. */
	listener = start("listen", "listen", "--count", "2000", url);
	listener_port("listen");
	status = reap(start("send2", "send", "-o", spool_opt, url, "/dev/null"), 120);
	err = output("send2", "err");
	ck_assert_msg(status == 0 && strstr(err, "0 messages: 0 sent, 0 failed, 0 invalid; from the spool: 2000 sent, 0 failed"),
	              "exit %d: %.300s", status, err);
	free(err);
	ck_assert_int_eq(reap(listener, 60), 0);
	out = output("listen", "out");
	assert_same_ids(out, VALID_COUNT);
	free(out);
	ck_assert_uint_eq(dir_count(spool, false), 0);
}
END_TEST

START_TEST(test_usage)
{
	char *out, *err;

	ck_assert_int_eq(reap(start("opts", "send", "--list-options"), 30), 0);
	out = output("opts", "out");
	ck_assert(strstr(out, "spool.dir") != NULL);
	ck_assert(strstr(out, "tls.verify") != NULL);
	free(out);

	ck_assert_int_eq(reap(start("bad", "send", "gopher://x/", VALID_NDJSON), 30), 2);
	err = output("bad", "err");
	ck_assert(strstr(err, "gopher://x/") != NULL);
	free(err);

	ck_assert_int_eq(reap(start("badopt", "send", "-o", "no.such.option=1", "file:///tmp", VALID_NDJSON), 30),
	                 2);
	err = output("badopt", "err");
	ck_assert(strstr(err, "no.such.option") != NULL);
	free(err);

	ck_assert_int_eq(reap(start("nourl", "listen"), 30), 2);
	ck_assert_int_eq(reap(start("help", "help", "send"), 30), 0);
	out = output("help", "out");
	ck_assert(strstr(out, "Exit status:") != NULL);
	free(out);
}
END_TEST

static Suite *send_listen_suite(void)
{
	Suite *s = suite_create("send-listen");
	TCase *tc = tcase_create("commands");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_directory_round_trip);
	tcase_add_test(tc, test_http_end_to_end);
	tcase_add_test(tc, test_spool_while_listener_down);
	tcase_add_test(tc, test_usage);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return ph_run_suite(send_listen_suite());
}
