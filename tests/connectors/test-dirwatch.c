/* SPDX-License-Identifier: Apache-2.0 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <idmefv2/dirwatch.h>

#define MAX_FILES 256
#define DEADLINE_MS 10000

struct collector {
	char *paths[MAX_FILES];
	char *contents[MAX_FILES];
	size_t n;
	unsigned refuse; /* refuse this many offers first */
	unsigned offers;
	unsigned warnings;
};

static char tmpdir[256];
static char root[512];
static char outside[512];

static void setup(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/test-dirwatch-XXXXXX", base && *base ? base : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(root, sizeof(root), "%s/root", tmpdir);
	snprintf(outside, sizeof(outside), "%s/outside", tmpdir);
	ck_assert_int_eq(mkdir(root, 0700), 0);
	ck_assert_int_eq(mkdir(outside, 0700), 0);
}

static void teardown(void)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static void collector_clear(struct collector *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->paths[i]);
		free(c->contents[i]);
	}
	c->n = 0;
}

static char *slurp(const char *path)
{
	char buf[256];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return strdup("");
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return strdup(buf);
}

static idmefv2_error collect(const char *path, void *ud)
{
	struct collector *c = ud;

	c->offers++;
	if (c->refuse > 0) {
		c->refuse--;
		return IDMEFV2_ERR_FULL;
	}
	ck_assert_uint_lt(c->n, MAX_FILES);
	c->paths[c->n] = strdup(path);
	c->contents[c->n] = slurp(path);
	c->n++;
	return IDMEFV2_OK;
}

static void on_log(idmefv2_log_level level, const char *message, void *ud)
{
	struct collector *c = ud;

	(void)message;
	if (level == IDMEFV2_LOG_WARNING)
		c->warnings++;
}

/* Relative to root, or to tmpdir when it starts with "../". */
static void rpath(char *out, size_t size, const char *rel)
{
	if (strncmp(rel, "../", 3) == 0)
		snprintf(out, size, "%s/%s", tmpdir, rel + 3);
	else
		snprintf(out, size, "%s/%s", root, rel);
}

static void write_file(const char *rel, const char *content)
{
	char p[1024];
	int fd;

	rpath(p, sizeof(p), rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_msg(fd >= 0, "%s: %s", p, strerror(errno));
	ck_assert_int_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	ck_assert_int_eq(close(fd), 0);
}

static void make_dir(const char *rel)
{
	char p[1024];

	rpath(p, sizeof(p), rel);
	ck_assert_msg(mkdir(p, 0700) == 0, "%s: %s", p, strerror(errno));
}

static void move(const char *from, const char *to)
{
	char a[1024], b[1024];

	rpath(a, sizeof(a), from);
	rpath(b, sizeof(b), to);
	ck_assert_msg(rename(a, b) == 0, "%s: %s", a, strerror(errno));
}

static void remove_tree(const char *rel)
{
	char p[1024], cmd[1100];

	rpath(p, sizeof(p), rel);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", p);
	ck_assert_int_eq(system(cmd), 0);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void wait_files(idmefv2_dirwatch *w, struct collector *c, size_t n)
{
	long deadline = now_ms() + DEADLINE_MS;

	while (c->n < n && now_ms() < deadline)
		ck_assert_int_eq(idmefv2_dirwatch_poll(w, 100, NULL), IDMEFV2_OK);
	ck_assert_uint_eq(c->n, n);
}

static uint64_t dirs_watched(const idmefv2_dirwatch *w)
{
	idmefv2_dirwatch_counters k;

	idmefv2_dirwatch_get_counters(w, &k);
	return k.dirs_watched;
}

static void wait_dirs(idmefv2_dirwatch *w, uint64_t n)
{
	long deadline = now_ms() + DEADLINE_MS;

	while (dirs_watched(w) != n && now_ms() < deadline)
		ck_assert_int_eq(idmefv2_dirwatch_poll(w, 100, NULL), IDMEFV2_OK);
	ck_assert_uint_eq(dirs_watched(w), n);
}

static void assert_path(const struct collector *c, size_t i, const char *rel)
{
	char p[1024];

	rpath(p, sizeof(p), rel);
	ck_assert_uint_lt(i, c->n);
	ck_assert_str_eq(c->paths[i], p);
}

static bool has_path(const struct collector *c, const char *rel)
{
	char p[1024];

	rpath(p, sizeof(p), rel);
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->paths[i], p) == 0)
			return true;
	return false;
}

static idmefv2_dirwatch *start(struct collector *c, const char *pattern, bool existing)
{
	idmefv2_dirwatch *w = idmefv2_dirwatch_new(root);
	char err[256] = "";

	ck_assert_ptr_nonnull(w);
	ck_assert_int_eq(idmefv2_dirwatch_set_file_cb(w, collect, c), IDMEFV2_OK);
	idmefv2_dirwatch_set_log_cb(w, on_log, c);
	ck_assert_int_eq(idmefv2_dirwatch_set_pattern(w, pattern), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_dirwatch_set_report_existing(w, existing), IDMEFV2_OK);
	ck_assert_msg(idmefv2_dirwatch_start(w, err, sizeof(err)) == IDMEFV2_OK, "%s", err);
	ck_assert_int_ge(idmefv2_dirwatch_get_fd(w), 0);
	return w;
}

START_TEST(test_api)
{
	struct collector c = { 0 };
	char err[256] = "";
	char p[1024];
	idmefv2_dirwatch *w;

	ck_assert_ptr_null(idmefv2_dirwatch_new(NULL));
	ck_assert_ptr_null(idmefv2_dirwatch_new(""));
	w = idmefv2_dirwatch_new(root);
	ck_assert_int_eq(idmefv2_dirwatch_get_fd(w), -1);
	ck_assert_int_eq(idmefv2_dirwatch_poll(w, 0, NULL), IDMEFV2_ERR_STATE);
	ck_assert_int_eq(idmefv2_dirwatch_start(w, err, sizeof(err)), IDMEFV2_ERR_STATE);
	ck_assert_str_eq(err, "no file callback");
	idmefv2_dirwatch_free(w);

	rpath(p, sizeof(p), "missing");
	w = idmefv2_dirwatch_new(p);
	idmefv2_dirwatch_set_file_cb(w, collect, &c);
	err[0] = '\0';
	ck_assert_int_eq(idmefv2_dirwatch_start(w, err, sizeof(err)), IDMEFV2_ERR_IO);
	ck_assert_ptr_nonnull(strstr(err, "missing"));
	idmefv2_dirwatch_free(w);

	write_file("plain", "x");
	rpath(p, sizeof(p), "plain");
	w = idmefv2_dirwatch_new(p);
	idmefv2_dirwatch_set_file_cb(w, collect, &c);
	ck_assert_int_eq(idmefv2_dirwatch_start(w, NULL, 0), IDMEFV2_ERR_IO);
	idmefv2_dirwatch_free(w);
	idmefv2_dirwatch_free(NULL);

	/* A trailing slash does not show in reported paths. */
	snprintf(p, sizeof(p), "%s//", root);
	w = idmefv2_dirwatch_new(p);
	idmefv2_dirwatch_set_file_cb(w, collect, &c);
	ck_assert_int_eq(idmefv2_dirwatch_start(w, NULL, 0), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_dirwatch_start(w, NULL, 0), IDMEFV2_ERR_STATE);
	ck_assert_int_eq(idmefv2_dirwatch_set_pattern(w, "x"), IDMEFV2_ERR_STATE);
	ck_assert_int_eq(idmefv2_dirwatch_set_report_existing(w, true), IDMEFV2_ERR_STATE);
	ck_assert_int_eq(idmefv2_dirwatch_set_file_cb(w, collect, &c), IDMEFV2_ERR_STATE);
	write_file("any", "y");
	wait_files(w, &c, 1);
	assert_path(&c, 0, "any");
	idmefv2_dirwatch_free(w);
	collector_clear(&c);
}
END_TEST

START_TEST(test_basic_name)
{
	struct collector c = { 0 };
	idmefv2_dirwatch_counters k;
	idmefv2_dirwatch *w = start(&c, "metadata.json", false);
	size_t got = 99;

	ck_assert_int_eq(idmefv2_dirwatch_poll(w, 0, &got), IDMEFV2_OK);
	ck_assert_uint_eq(got, 0);
	write_file("other.txt", "no");
	write_file("metadata.json.tmp", "no");
	write_file("metadata.json", "{\"Magic\":\"CLAMJSONv0\"}");
	wait_files(w, &c, 1);
	assert_path(&c, 0, "metadata.json");
	ck_assert_str_eq(c.contents[0], "{\"Magic\":\"CLAMJSONv0\"}");

	/* Rewriting the file reports it again. */
	write_file("metadata.json", "second");
	wait_files(w, &c, 2);
	assert_path(&c, 1, "metadata.json");
	ck_assert_str_eq(c.contents[1], "second");

	idmefv2_dirwatch_get_counters(w, &k);
	ck_assert_uint_eq(k.files, 2);
	ck_assert_uint_eq(k.dirs_watched, 1);
	ck_assert_uint_eq(k.dirs_added, 1);
	ck_assert_uint_eq(k.overflows, 0);
	ck_assert_uint_eq(k.pending, 0);
	idmefv2_dirwatch_free(w);
	collector_clear(&c);
}
END_TEST

START_TEST(test_existing_not_reported)
{
	struct collector c = { 0 };
	idmefv2_dirwatch *w;

	make_dir("a");
	make_dir("a/b");
	write_file("metadata.json", "old");
	write_file("a/b/metadata.json", "old");
	w = start(&c, "metadata.json", false);
	ck_assert_uint_eq(dirs_watched(w), 3);
	/* Events arrive in order: anything reported for the old files would come first. */
	write_file("a/b/metadata.json", "new");
	wait_files(w, &c, 1);
	assert_path(&c, 0, "a/b/metadata.json");
	ck_assert_str_eq(c.contents[0], "new");
	idmefv2_dirwatch_free(w);
	collector_clear(&c);
}
END_TEST

START_TEST(test_existing_reported)
{
	struct collector c = { 0 };
	idmefv2_dirwatch *w;
	size_t got = 0;

	make_dir("a");
	make_dir("a/b");
	write_file("metadata.json", "old1");
	write_file("a/b/metadata.json", "old2");
	write_file("a/other", "old3");
	w = start(&c, "metadata.json", true);
	ck_assert_int_eq(idmefv2_dirwatch_poll(w, 0, &got), IDMEFV2_OK);
	ck_assert_uint_eq(got, 2);
	ck_assert_uint_eq(c.n, 2);
	ck_assert(has_path(&c, "metadata.json"));
	ck_assert(has_path(&c, "a/b/metadata.json"));
	idmefv2_dirwatch_free(w);
	collector_clear(&c);
}
END_TEST

START_TEST(test_new_subdirs_no_race)
{
	struct collector c = { 0 };
	idmefv2_dirwatch *w = start(&c, "metadata.json", false);

	/* All written before the watcher sees the first directory: the scans must find them. */
	make_dir("x");
	make_dir("x/y");
	make_dir("x/y/z");
	write_file("x/y/z/metadata.json", "deep");
	write_file("x/metadata.json", "top");
	write_file("x/y/ignored", "no");
	wait_files(w, &c, 2);
	ck_assert(has_path(&c, "x/y/z/metadata.json"));
	ck_assert(has_path(&c, "x/metadata.json"));
	ck_assert_uint_eq(dirs_watched(w), 4);

	/* The new directories are watched now. */
	write_file("x/y/metadata.json", "later");
	wait_files(w, &c, 3);
	assert_path(&c, 2, "x/y/metadata.json");
	ck_assert_str_eq(c.contents[2], "later");
	make_dir("x/y/z/w");
	wait_dirs(w, 5);
	write_file("x/y/z/w/metadata.json", "deeper");
	wait_files(w, &c, 4);
	assert_path(&c, 3, "x/y/z/w/metadata.json");
	idmefv2_dirwatch_free(w);
	collector_clear(&c);
}
END_TEST

START_TEST(test_moved_in)
{
	struct collector c = { 0 };
	idmefv2_dirwatch *w = start(&c, "metadata.json", false);

	/* A file renamed into place (the atomic-write idiom). */
	write_file("metadata.json.part", "atomic");
	move("metadata.json.part", "metadata.json");
	wait_files(w, &c, 1);
	assert_path(&c, 0, "metadata.json");
	ck_assert_str_eq(c.contents[0], "atomic");

	/* A file moved in from outside the tree. */
	make_dir("sub");
	write_file("../outside/metadata.json", "from outside");
	move("../outside/metadata.json", "sub/metadata.json");
	wait_files(w, &c, 2);
	assert_path(&c, 1, "sub/metadata.json");
	ck_assert_str_eq(c.contents[1], "from outside");

	/* A whole tree moved in: its files are reported and it is watched. */
	make_dir("../outside/d");
	make_dir("../outside/d/e");
	write_file("../outside/d/e/metadata.json", "tree");
	move("../outside/d", "d");
	wait_files(w, &c, 3);
	assert_path(&c, 2, "d/e/metadata.json");
	ck_assert_str_eq(c.contents[2], "tree");
	ck_assert_uint_eq(dirs_watched(w), 4);
	write_file("d/e/metadata.json", "again");
	wait_files(w, &c, 4);
	assert_path(&c, 3, "d/e/metadata.json");
	ck_assert_str_eq(c.contents[3], "again");
	idmefv2_dirwatch_free(w);
	collector_clear(&c);
}
END_TEST

START_TEST(test_dirs_removed)
{
	struct collector c = { 0 };
	idmefv2_dirwatch_counters k;
	idmefv2_dirwatch *w;

	make_dir("a");
	make_dir("a/b");
	write_file("a/b/metadata.json", "x");
	w = start(&c, "metadata.json", false);
	ck_assert_uint_eq(dirs_watched(w), 3);

	remove_tree("a");
	wait_dirs(w, 1);

	/* Moved out of the tree: dropped, and writes there are not reported. */
	make_dir("m");
	make_dir("m/n");
	wait_dirs(w, 3);
	move("m", "../outside/m");
	wait_dirs(w, 1);
	write_file("../outside/m/n/metadata.json", "outside");
	write_file("metadata.json", "sentinel");
	wait_files(w, &c, 1);
	assert_path(&c, 0, "metadata.json");

	/* Moved inside the tree: reported under its new name. */
	make_dir("p");
	make_dir("p/q");
	wait_dirs(w, 3);
	move("p", "r");
	write_file("r/q/metadata.json", "renamed");
	wait_files(w, &c, 2);
	assert_path(&c, 1, "r/q/metadata.json");
	ck_assert_str_eq(c.contents[1], "renamed");
	ck_assert_uint_eq(dirs_watched(w), 3);
	write_file("r/q/metadata.json", "renamed again");
	wait_files(w, &c, 3);
	assert_path(&c, 2, "r/q/metadata.json");

	idmefv2_dirwatch_get_counters(w, &k);
	ck_assert_uint_eq(k.files, 3);
	ck_assert_uint_ge(k.dirs_added, 7);
	idmefv2_dirwatch_free(w);
	collector_clear(&c);
}
END_TEST

START_TEST(test_glob)
{
	struct collector c = { 0 };
	idmefv2_dirwatch *w = start(&c, "*.json", false);

	write_file("a.json", "1");
	write_file("b.txt", "2");
	make_dir("sub");
	write_file("sub/c.json", "3");
	wait_files(w, &c, 2);
	ck_assert(has_path(&c, "a.json"));
	ck_assert(has_path(&c, "sub/c.json"));
	ck_assert(!has_path(&c, "b.txt"));
	idmefv2_dirwatch_free(w);
	collector_clear(&c);
}
END_TEST

START_TEST(test_all_files_by_default)
{
	struct collector c = { 0 };
	idmefv2_dirwatch *w = start(&c, NULL, false);

	write_file("one", "1");
	write_file("two", "2");
	wait_files(w, &c, 2);
	assert_path(&c, 0, "one");
	assert_path(&c, 1, "two");
	idmefv2_dirwatch_free(w);
	collector_clear(&c);
}
END_TEST

START_TEST(test_refused_offered_again)
{
	struct collector c = { 0 };
	idmefv2_dirwatch_counters k;
	idmefv2_dirwatch *w;
	long deadline = now_ms() + DEADLINE_MS;
	size_t got = 99;

	make_dir("sub");
	w = start(&c, "metadata.json", false);
	c.refuse = 1;
	write_file("metadata.json", "first");
	write_file("sub/metadata.json", "second");
	while (c.offers == 0 && now_ms() < deadline)
		ck_assert_int_eq(idmefv2_dirwatch_poll(w, 100, &got), IDMEFV2_OK);
	ck_assert_uint_eq(c.offers, 1);
	ck_assert_uint_eq(got, 0);
	ck_assert_uint_eq(c.n, 0);
	idmefv2_dirwatch_get_counters(w, &k);
	ck_assert_uint_ge(k.pending, 1);
	ck_assert_uint_eq(k.files, 0);

	wait_files(w, &c, 2);
	ck_assert_uint_eq(c.offers, 3);
	assert_path(&c, 0, "metadata.json");
	assert_path(&c, 1, "sub/metadata.json");
	idmefv2_dirwatch_get_counters(w, &k);
	ck_assert_uint_eq(k.files, 2);
	ck_assert_uint_eq(k.pending, 0);
	idmefv2_dirwatch_free(w);
	collector_clear(&c);
}
END_TEST

START_TEST(test_overflow_rescan)
{
	struct collector c = { 0 };
	idmefv2_dirwatch_counters k;
	idmefv2_dirwatch *w;
	long limit = 0;
	FILE *f;
	char name[64];

	f = fopen("/proc/sys/fs/inotify/max_queued_events", "r");
	if (f) {
		if (fscanf(f, "%ld", &limit) != 1)
			limit = 0;
		fclose(f);
	}
	if (limit <= 0 || limit > 200000)
		return; /* cannot overflow the queue in reasonable time here */
	w = start(&c, "metadata.json", false);
	make_dir("flood");
	wait_dirs(w, 2);
	/* Two events per file (create, close): past the queue's limit without a poll. */
	for (long i = 0; i < limit / 2 + 64; i++) {
		snprintf(name, sizeof(name), "flood/f%ld", i);
		write_file(name, "");
	}
	/* Created after the overflow: no event for it, only the rescan can find it. */
	make_dir("late");
	make_dir("late/deeper");
	write_file("late/deeper/metadata.json", "found by rescan");
	wait_files(w, &c, 1);
	assert_path(&c, 0, "late/deeper/metadata.json");
	ck_assert_str_eq(c.contents[0], "found by rescan");
	idmefv2_dirwatch_get_counters(w, &k);
	ck_assert_uint_ge(k.overflows, 1);
	ck_assert_uint_eq(k.dirs_watched, 4);
	ck_assert_uint_ge(c.warnings, 1);

	/* Watching goes on normally afterwards. */
	write_file("late/metadata.json", "after");
	wait_files(w, &c, 2);
	assert_path(&c, 1, "late/metadata.json");
	idmefv2_dirwatch_free(w);
	collector_clear(&c);
}
END_TEST

static Suite *dirwatch_suite(void)
{
	Suite *s = suite_create("dirwatch");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_api);
	tcase_add_test(tc, test_basic_name);
	tcase_add_test(tc, test_existing_not_reported);
	tcase_add_test(tc, test_existing_reported);
	tcase_add_test(tc, test_new_subdirs_no_race);
	tcase_add_test(tc, test_moved_in);
	tcase_add_test(tc, test_dirs_removed);
	tcase_add_test(tc, test_glob);
	tcase_add_test(tc, test_all_files_by_default);
	tcase_add_test(tc, test_refused_offered_again);
	tcase_add_test(tc, test_overflow_rescan);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(dirwatch_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
