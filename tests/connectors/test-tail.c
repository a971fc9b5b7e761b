/* SPDX-License-Identifier: Apache-2.0 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <idmefv2/tail.h>

#define MAX_LINES 4096
#define DEADLINE_MS 10000

/* Lines received, in order; refuse_at makes the callback refuse the line whose text matches. */
struct collector {
	char *lines[MAX_LINES];
	size_t n;
	const char *refuse;
	unsigned warnings;
};

static char tmpdir[256];
static char path[512];
static char state[512];

static void setup(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/test-tail-XXXXXX", base && *base ? base : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(path, sizeof(path), "%s/app.log", tmpdir);
	snprintf(state, sizeof(state), "%s/app.state", tmpdir);
}

static void teardown(void)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static void collector_clear(struct collector *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->lines[i]);
	c->n = 0;
}

static idmefv2_error collect(const char *line, size_t len, void *ud)
{
	struct collector *c = ud;

	ck_assert_uint_eq(strlen(line), len);
	if (c->refuse && strcmp(c->refuse, line) == 0)
		return IDMEFV2_ERR_FULL;
	ck_assert_uint_lt(c->n, MAX_LINES);
	c->lines[c->n++] = strdup(line);
	return IDMEFV2_OK;
}

static void log_cb(idmefv2_log_level level, const char *message, void *ud)
{
	struct collector *c = ud;

	ck_assert_ptr_nonnull(message);
	if (level == IDMEFV2_LOG_WARNING)
		c->warnings++;
}

static void append_to(const char *p, const char *text)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_APPEND, 0644);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void append(const char *text)
{
	append_to(path, text);
}

static idmefv2_tail *tail_make(struct collector *c, bool from_beginning, const char *state_path)
{
	idmefv2_tail *t = idmefv2_tail_new(path);
	char err[256] = "";

	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(idmefv2_tail_set_line_cb(t, collect, c), IDMEFV2_OK);
	idmefv2_tail_set_log_cb(t, log_cb, c);
	ck_assert_int_eq(idmefv2_tail_set_from_beginning(t, from_beginning), IDMEFV2_OK);
	if (state_path)
		ck_assert_int_eq(idmefv2_tail_set_state_file(t, state_path), IDMEFV2_OK);
	ck_assert_msg(idmefv2_tail_start(t, err, sizeof(err)) == IDMEFV2_OK, "start: %s", err);
	return t;
}

/* A non-blocking poll reads whatever the file holds now, so tests need no sleeps. */
static size_t poll_now(idmefv2_tail *t)
{
	size_t n = 99999;

	ck_assert_int_eq(idmefv2_tail_poll(t, 0, &n), IDMEFV2_OK);
	return n;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Wait (through inotify) until @want lines have arrived, with a generous deadline. */
static void poll_until(idmefv2_tail *t, struct collector *c, size_t want)
{
	long deadline = now_ms() + DEADLINE_MS;

	while (c->n < want && now_ms() < deadline)
		ck_assert_int_eq(idmefv2_tail_poll(t, 200, NULL), IDMEFV2_OK);
	ck_assert_uint_eq(c->n, want);
}

static void expect(struct collector *c, const char *const *want, size_t n)
{
	ck_assert_uint_eq(c->n, n);
	for (size_t i = 0; i < n; i++)
		ck_assert_str_eq(c->lines[i], want[i]);
}

START_TEST(test_starts_at_end)
{
	struct collector c = {0};
	idmefv2_tail *t;
	idmefv2_tail_counters k;

	append("old 1\nold 2\n");
	t = tail_make(&c, false, NULL);
	ck_assert_uint_eq(poll_now(t), 0);
	append("a\nb\n");
	ck_assert_uint_eq(poll_now(t), 2);
	expect(&c, (const char *const[]){"a", "b"}, 2);
	idmefv2_tail_get_counters(t, &k);
	ck_assert_uint_eq(k.lines, 2);
	ck_assert_uint_eq(k.bytes, 4);
	idmefv2_tail_free(t);
	collector_clear(&c);
}
END_TEST

START_TEST(test_from_beginning)
{
	struct collector c = {0};
	idmefv2_tail *t;

	append("x\ny\n");
	t = tail_make(&c, true, NULL);
	ck_assert_uint_eq(poll_now(t), 2);
	expect(&c, (const char *const[]){"x", "y"}, 2);
	idmefv2_tail_free(t);
	collector_clear(&c);
}
END_TEST

START_TEST(test_partial_lines)
{
	struct collector c = {0};
	idmefv2_tail *t;

	append("");
	t = tail_make(&c, false, NULL);
	append("hel");
	ck_assert_uint_eq(poll_now(t), 0);
	append("lo\nwor");
	ck_assert_uint_eq(poll_now(t), 1);
	append("ld\r\n\n\r\n");
	ck_assert_uint_eq(poll_now(t), 1);
	expect(&c, (const char *const[]){"hello", "world"}, 2);
	idmefv2_tail_free(t);
	collector_clear(&c);
}
END_TEST

START_TEST(test_many_lines_one_event)
{
	struct collector c = {0};
	idmefv2_tail *t;
	char *big = malloc(1000 * 16);
	size_t off = 0;
	char want[16];

	append("");
	t = tail_make(&c, false, NULL);
	for (int i = 0; i < 1000; i++)
		off += (size_t)sprintf(big + off, "line %d\n", i);
	append(big);
	/* Woken by a single (coalesced) event, every line must come in one poll. */
	poll_until(t, &c, 1000);
	for (int i = 0; i < 1000; i++) {
		snprintf(want, sizeof(want), "line %d", i);
		ck_assert_str_eq(c.lines[i], want);
	}
	free(big);
	idmefv2_tail_free(t);
	collector_clear(&c);
}
END_TEST

static void *writer_thread(void *arg)
{
	struct timespec ts = {0, 50 * 1000 * 1000};

	(void)arg;
	nanosleep(&ts, NULL);
	append("late 1\nlate 2\n");
	return NULL;
}

START_TEST(test_wakes_on_write)
{
	struct collector c = {0};
	idmefv2_tail *t;
	pthread_t th;

	append("");
	t = tail_make(&c, false, NULL);
	ck_assert_int_ge(idmefv2_tail_get_fd(t), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, writer_thread, NULL), 0);
	poll_until(t, &c, 2);
	pthread_join(th, NULL);
	expect(&c, (const char *const[]){"late 1", "late 2"}, 2);
	idmefv2_tail_free(t);
	collector_clear(&c);
}
END_TEST

START_TEST(test_rotation_rename_create)
{
	struct collector c = {0};
	idmefv2_tail *t;
	idmefv2_tail_counters k;
	char rotated[600];

	snprintf(rotated, sizeof(rotated), "%s.1", path);
	append("1\n2\n");
	t = tail_make(&c, true, NULL);
	ck_assert_uint_eq(poll_now(t), 2);
	ck_assert_int_eq(rename(path, rotated), 0);
	/* The writer finishes in the old file, ending on a line without newline. */
	append_to(rotated, "3\n4");
	ck_assert_uint_eq(poll_now(t), 1);
	append("5\n6\n");
	poll_now(t);
	expect(&c, (const char *const[]){"1", "2", "3", "4", "5", "6"}, 6);
	idmefv2_tail_get_counters(t, &k);
	ck_assert_uint_eq(k.rotations, 1);
	ck_assert_uint_eq(k.truncations, 0);
	append("7\n");
	append_to(rotated, "ignored\n");
	ck_assert_uint_eq(poll_now(t), 1);
	ck_assert_str_eq(c.lines[6], "7");
	idmefv2_tail_free(t);
	collector_clear(&c);
}
END_TEST

START_TEST(test_rotation_through_inotify)
{
	struct collector c = {0};
	idmefv2_tail *t;
	char rotated[600];

	snprintf(rotated, sizeof(rotated), "%s.1", path);
	append("");
	t = tail_make(&c, false, NULL);
	append("a\n");
	ck_assert_int_eq(rename(path, rotated), 0);
	append("b\n");
	poll_until(t, &c, 2);
	expect(&c, (const char *const[]){"a", "b"}, 2);
	idmefv2_tail_free(t);
	collector_clear(&c);
}
END_TEST

START_TEST(test_copytruncate)
{
	struct collector c = {0};
	idmefv2_tail *t;
	idmefv2_tail_counters k;

	append("aaaa\nbbbb\n");
	t = tail_make(&c, true, NULL);
	ck_assert_uint_eq(poll_now(t), 2);
	/* copytruncate: the content is copied elsewhere, then the same inode cut to 0. */
	ck_assert_int_eq(truncate(path, 0), 0);
	append("c\n");
	ck_assert_uint_eq(poll_now(t), 1);
	expect(&c, (const char *const[]){"aaaa", "bbbb", "c"}, 3);
	idmefv2_tail_get_counters(t, &k);
	ck_assert_uint_eq(k.truncations, 1);
	ck_assert_uint_eq(k.rotations, 0);
	idmefv2_tail_free(t);
	collector_clear(&c);
}
END_TEST

START_TEST(test_truncation_with_partial)
{
	struct collector c = {0};
	idmefv2_tail *t;
	idmefv2_tail_counters k;
	int fd;

	append("one\ntwo-partial");
	t = tail_make(&c, true, NULL);
	ck_assert_uint_eq(poll_now(t), 1);
	/* Plain truncation by reopening with O_TRUNC: the buffered partial line is dropped. */
	fd = open(path, O_WRONLY | O_TRUNC);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_uint_eq(poll_now(t), 0);
	append("three\n");
	ck_assert_uint_eq(poll_now(t), 1);
	expect(&c, (const char *const[]){"one", "three"}, 2);
	idmefv2_tail_get_counters(t, &k);
	ck_assert_uint_eq(k.truncations, 1);
	idmefv2_tail_free(t);
	collector_clear(&c);
}
END_TEST

START_TEST(test_long_lines)
{
	struct collector c = {0};
	idmefv2_tail *t = idmefv2_tail_new(path);
	idmefv2_tail_counters k;
	char longline[101];

	memset(longline, 'A', 100);
	longline[100] = '\0';
	append("");
	ck_assert_int_eq(idmefv2_tail_set_max_line(t, 0), IDMEFV2_ERR_INVALID_ARG);
	ck_assert_int_eq(idmefv2_tail_set_max_line(t, 16), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_tail_set_line_cb(t, collect, &c), IDMEFV2_OK);
	idmefv2_tail_set_log_cb(t, log_cb, &c);
	ck_assert_int_eq(idmefv2_tail_start(t, NULL, 0), IDMEFV2_OK);
	append("short\n");
	append(longline);
	append("\nexactly-16-bytes\n");
	ck_assert_uint_eq(poll_now(t), 2);
	/* A long line arriving in pieces across polls is skipped too. */
	append("BBBBBBBBBB");
	ck_assert_uint_eq(poll_now(t), 0);
	append("BBBBBBBBBBBBBBBBBBBB");
	ck_assert_uint_eq(poll_now(t), 0);
	append("B\nafter\n");
	ck_assert_uint_eq(poll_now(t), 1);
	expect(&c, (const char *const[]){"short", "exactly-16-bytes", "after"}, 3);
	idmefv2_tail_get_counters(t, &k);
	ck_assert_uint_eq(k.skipped, 2);
	ck_assert_uint_eq(c.warnings, 2);
	idmefv2_tail_free(t);
	collector_clear(&c);
}
END_TEST

START_TEST(test_created_after_start)
{
	struct collector c = {0};
	idmefv2_tail *t;

	t = tail_make(&c, false, NULL);
	ck_assert_uint_eq(poll_now(t), 0);
	ck_assert_uint_eq(poll_now(t), 0);
	/* A file born after start is new data: read from its beginning although the default is the end. */
	append("first\nsecond\n");
	poll_until(t, &c, 2);
	expect(&c, (const char *const[]){"first", "second"}, 2);
	idmefv2_tail_free(t);
	collector_clear(&c);
}
END_TEST

START_TEST(test_restart_resume)
{
	struct collector c = {0};
	idmefv2_tail *t;
	char tmp[600];
	char err[256] = "";

	append("1\n2\n3");
	t = tail_make(&c, true, state);
	ck_assert_uint_eq(poll_now(t), 2);
	ck_assert_int_eq(idmefv2_tail_checkpoint(t, err, sizeof(err)), IDMEFV2_OK);
	idmefv2_tail_free(t);
	snprintf(tmp, sizeof(tmp), "%s.tmp", state);
	ck_assert_int_eq(access(tmp, F_OK), -1);
	ck_assert_int_eq(access(state, F_OK), 0);

	/* Written while down: the partial "3" completes and "4" follows. */
	append("\n4\n");
	/* Start-at-end is overridden by the state: nothing lost, nothing repeated. */
	t = tail_make(&c, false, state);
	ck_assert_uint_eq(poll_now(t), 2);
	expect(&c, (const char *const[]){"1", "2", "3", "4"}, 4);
	ck_assert_int_eq(idmefv2_tail_checkpoint(t, NULL, 0), IDMEFV2_OK);
	idmefv2_tail_free(t);

	/* Restarting again with no new data delivers nothing. */
	t = tail_make(&c, true, state);
	ck_assert_uint_eq(poll_now(t), 0);
	idmefv2_tail_free(t);
	collector_clear(&c);
}
END_TEST

START_TEST(test_restart_refused_line)
{
	struct collector c = {0};
	idmefv2_tail *t;

	append("a\nb\nc\n");
	c.refuse = "b";
	t = tail_make(&c, true, state);
	ck_assert_uint_eq(poll_now(t), 1);
	/* Refused again on the next poll, not skipped. */
	ck_assert_uint_eq(poll_now(t), 0);
	ck_assert_int_eq(idmefv2_tail_checkpoint(t, NULL, 0), IDMEFV2_OK);
	idmefv2_tail_free(t);
	c.refuse = NULL;
	t = tail_make(&c, false, state);
	ck_assert_uint_eq(poll_now(t), 2);
	expect(&c, (const char *const[]){"a", "b", "c"}, 3);
	idmefv2_tail_free(t);
	collector_clear(&c);
}
END_TEST

START_TEST(test_restart_after_rotation_while_down)
{
	struct collector c = {0};
	idmefv2_tail *t;
	char rotated[600];

	snprintf(rotated, sizeof(rotated), "%s.1", path);
	append("a\n");
	t = tail_make(&c, true, state);
	ck_assert_uint_eq(poll_now(t), 1);
	ck_assert_int_eq(idmefv2_tail_checkpoint(t, NULL, 0), IDMEFV2_OK);
	idmefv2_tail_free(t);
	ck_assert_int_eq(rename(path, rotated), 0);
	append("new 1\n");
	/* The saved inode is gone from the path: the new file is read from 0. */
	t = tail_make(&c, false, state);
	ck_assert_uint_eq(poll_now(t), 1);
	expect(&c, (const char *const[]){"a", "new 1"}, 2);
	idmefv2_tail_free(t);
	collector_clear(&c);
}
END_TEST

START_TEST(test_restart_during_long_line)
{
	struct collector c = {0};
	idmefv2_tail *t = idmefv2_tail_new(path);

	append("ok\nXXXXXXXXXXXXXXXXXXXXXXXX");
	ck_assert_int_eq(idmefv2_tail_set_max_line(t, 8), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_tail_set_line_cb(t, collect, &c), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_tail_set_from_beginning(t, true), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_tail_set_state_file(t, state), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_tail_start(t, NULL, 0), IDMEFV2_OK);
	ck_assert_uint_eq(poll_now(t), 1);
	ck_assert_int_eq(idmefv2_tail_checkpoint(t, NULL, 0), IDMEFV2_OK);
	idmefv2_tail_free(t);
	append("XXX\nnext\n");
	/* The saved offset is the long line's start, so its tail is never taken for a line. */
	t = idmefv2_tail_new(path);
	ck_assert_int_eq(idmefv2_tail_set_max_line(t, 8), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_tail_set_line_cb(t, collect, &c), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_tail_set_state_file(t, state), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_tail_start(t, NULL, 0), IDMEFV2_OK);
	ck_assert_uint_eq(poll_now(t), 1);
	expect(&c, (const char *const[]){"ok", "next"}, 2);
	idmefv2_tail_free(t);
	collector_clear(&c);
}
END_TEST

START_TEST(test_bad_state_and_api_errors)
{
	struct collector c = {0};
	idmefv2_tail *t;
	char err[256] = "";
	FILE *f = fopen(state, "w");

	ck_assert_ptr_null(idmefv2_tail_new(NULL));
	ck_assert_ptr_null(idmefv2_tail_new(""));
	idmefv2_tail_free(NULL);
	ck_assert_ptr_nonnull(f);
	fputs("garbage\n", f);
	fclose(f);
	t = idmefv2_tail_new(path);
	ck_assert_int_eq(idmefv2_tail_start(t, err, sizeof(err)), IDMEFV2_ERR_STATE);
	ck_assert_int_eq(idmefv2_tail_poll(t, 0, NULL), IDMEFV2_ERR_STATE);
	ck_assert_int_eq(idmefv2_tail_set_line_cb(t, collect, &c), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_tail_set_state_file(t, state), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_tail_start(t, err, sizeof(err)), IDMEFV2_ERR_PARSE);
	ck_assert_ptr_nonnull(strstr(err, "malformed"));
	idmefv2_tail_free(t);

	unlink(state);
	t = tail_make(&c, false, state);
	ck_assert_int_eq(idmefv2_tail_set_from_beginning(t, true), IDMEFV2_ERR_STATE);
	ck_assert_int_eq(idmefv2_tail_set_max_line(t, 10), IDMEFV2_ERR_STATE);
	ck_assert_int_eq(idmefv2_tail_start(t, NULL, 0), IDMEFV2_ERR_STATE);
	/* Nothing opened yet: no state written. */
	ck_assert_int_eq(idmefv2_tail_checkpoint(t, NULL, 0), IDMEFV2_OK);
	ck_assert_int_eq(access(state, F_OK), -1);
	idmefv2_tail_free(t);
	collector_clear(&c);
}
END_TEST

static Suite *tail_suite(void)
{
	Suite *s = suite_create("tail");
	TCase *tc = tcase_create("tail");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_starts_at_end);
	tcase_add_test(tc, test_from_beginning);
	tcase_add_test(tc, test_partial_lines);
	tcase_add_test(tc, test_many_lines_one_event);
	tcase_add_test(tc, test_wakes_on_write);
	tcase_add_test(tc, test_rotation_rename_create);
	tcase_add_test(tc, test_rotation_through_inotify);
	tcase_add_test(tc, test_copytruncate);
	tcase_add_test(tc, test_truncation_with_partial);
	tcase_add_test(tc, test_long_lines);
	tcase_add_test(tc, test_created_after_start);
	tcase_add_test(tc, test_restart_resume);
	tcase_add_test(tc, test_restart_refused_line);
	tcase_add_test(tc, test_restart_after_rotation_while_down);
	tcase_add_test(tc, test_restart_during_long_line);
	tcase_add_test(tc, test_bad_state_and_api_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(tail_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
