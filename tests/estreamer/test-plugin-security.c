/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Plugins are code run by the client: a plugin directory or file that another
 * user could have written is refused before dlopen(), so a planted plugin's
 * constructor never runs. The test plugin's constructor creates a marker file;
 * each refusal asserts the marker is absent, and the accepted plugin proves
 * the marker appears when the code does run.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <estreamer/client.h>

#include "harness.h"

struct logbuf {
	pthread_mutex_t mu;
	char text[16384];
	size_t len;
};

static struct logbuf logs;

static void on_log(void *user, estreamer_log_level level, const char *msg)
{
	struct logbuf *l = user;

	pthread_mutex_lock(&l->mu);
	if (l->len + strlen(msg) + 2 < sizeof(l->text))
		l->len += (size_t)snprintf(l->text + l->len, sizeof(l->text) - l->len, "%s\n", msg);
	pthread_mutex_unlock(&l->mu);
}

static int log_has(const char *a, const char *b)
{
	int found = 0;

	pthread_mutex_lock(&logs.mu);
	for (const char *line = logs.text; line && *line && !found;) {
		const char *end = strchr(line, '\n');
		char one[1024];

		snprintf(one, sizeof(one), "%.*s", (int)(end ? end - line : (long)strlen(line)), line);
		found = strstr(one, a) && (!b || strstr(one, b));
		line = end ? end + 1 : NULL;
	}
	pthread_mutex_unlock(&logs.mu);
	return found;
}

static int exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* A fresh directory of the given mode under the PKI directory (0700, ours). */
static void make_dir(char *out, size_t size, const char *name, mode_t mode)
{
	char cmd[600];

	snprintf(out, size, "%s/%s", pki, name);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", out);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(mkdir(out, 0700), 0);
	ck_assert_int_eq(chmod(out, mode), 0);
}

static void set_marker(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s.marker", pki, name);
	unlink(out);
	setenv("ESTREAMER_TEST_PLUGIN_MARKER", out, 1);
}

static estreamer_client *plugin_client(struct sim *sim, const char *dir)
{
	estreamer_client *c = new_client(sim);

	set_opt(c, "flags", "ids,timestamp");
	set_opt(c, "plugins.dir", dir);
	pthread_mutex_lock(&logs.mu);
	logs.len = 0;
	logs.text[0] = '\0';
	pthread_mutex_unlock(&logs.mu);
	estreamer_client_set_log_callback(c, on_log, &logs);
	return c;
}

/* The directory is unsafe: the client refuses to start and no plugin code runs. */
static void expect_dir_refused(const char *dir, const char *marker, const char *reason)
{
	struct sim *sim = sim_started(3, NULL, 0);
	estreamer_client *c = plugin_client(sim, dir);
	struct run r;

	run_start(&r, c);
	ck_assert_int_eq(run_join(&r), ESTREAMER_ERR_PLUGIN);
	ck_assert_msg(strstr(r.err, dir) && strstr(r.err, reason), "%s", r.err);
	ck_assert_msg(log_has(dir, reason), "no log line naming %s: %s", dir, logs.text);
	ck_assert_msg(!exists(marker), "the plugin's constructor ran");
	ck_assert_int_eq(sim->nconn, 0);
	estreamer_client_free(c);
	sim_release(sim);
}

START_TEST(test_world_writable_directory_refused)
{
	const char *plugin = getenv("ESTREAMER_TEST_PLUGIN");
	char dir[400], parent[300], path[500], marker[400];

	set_marker(marker, sizeof(marker), "world-dir");
	make_dir(dir, sizeof(dir), "world-plugins", 0777);
	snprintf(path, sizeof(path), "%s/count.so", dir);
	ck_assert_int_eq(file_copy(plugin, path, 0755), 0);
	expect_dir_refused(dir, marker, "writable by others (mode 0777)");

	/* Sticky does not help the plugins directory itself: others could add files. */
	ck_assert_int_eq(chmod(dir, 01777), 0);
	expect_dir_refused(dir, marker, "writable by others (mode 1777)");

	/* A safe directory inside a world-writable (non-sticky) one can be swapped. */
	make_dir(parent, sizeof(parent), "world-parent", 0777);
	snprintf(dir, sizeof(dir), "%s/plugins", parent);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	ck_assert_int_eq(chmod(dir, 0755), 0);
	snprintf(path, sizeof(path), "%s/count.so", dir);
	ck_assert_int_eq(file_copy(plugin, path, 0755), 0);
	expect_dir_refused(dir, marker, "ancestor");
	ck_assert_msg(log_has(parent, "writable by others"), "%s", logs.text);
}
END_TEST

/* A file refused among safe ones: the client streams on, the plugin never runs. */
static void expect_file_refused(const char *dir, const char *path, const char *marker,
				const char *reason)
{
	struct sim *sim = sim_started(3, NULL, 0);
	estreamer_client *c = plugin_client(sim, dir);
	estreamer_counters k;
	struct run r;

	run_start(&r, c);
	ck_assert_int_eq(run_wait(&r, 3, 10000), 3);
	estreamer_client_get_counters(c, &k);
	run_finish(&r);
	ck_assert_int_eq(r.rc, ESTREAMER_OK);
	ck_assert_uint_eq(k.plugin_loads, 0);
	ck_assert_uint_ge(k.plugin_errors, 1);
	ck_assert_msg(log_has(path, reason), "no log line naming %s with \"%s\": %s", path, reason,
		      logs.text);
	ck_assert_msg(!exists(marker), "the plugin's constructor ran");
	estreamer_client_free(c);
	sim_release(sim);
}

START_TEST(test_group_writable_file_refused)
{
	char dir[300], path[400], marker[400];

	set_marker(marker, sizeof(marker), "group-file");
	make_dir(dir, sizeof(dir), "group-plugins", 0755);
	snprintf(path, sizeof(path), "%s/count.so", dir);
	ck_assert_int_eq(file_copy(getenv("ESTREAMER_TEST_PLUGIN"), path, 0775), 0);
	expect_file_refused(dir, path, marker, "writable by group (mode 0775)");
	ck_assert_int_eq(chmod(path, 0757), 0);
	expect_file_refused(dir, path, marker, "writable by others (mode 0757)");
}
END_TEST

START_TEST(test_foreign_owner_refused)
{
	char dir[300], path[400], marker[400];

	if (geteuid() != 0) {
		fprintf(stderr, "not root: the foreign-owner case needs chown, skipped\n");
		return;
	}
	set_marker(marker, sizeof(marker), "foreign");
	make_dir(dir, sizeof(dir), "foreign-plugins", 0755);
	snprintf(path, sizeof(path), "%s/count.so", dir);
	ck_assert_int_eq(file_copy(getenv("ESTREAMER_TEST_PLUGIN"), path, 0755), 0);
	ck_assert_int_eq(chown(path, 65534, 65534), 0);
	expect_file_refused(dir, path, marker, "owned by uid 65534");

	/* The directory itself owned by another user. */
	ck_assert_int_eq(chown(path, 0, 0), 0);
	ck_assert_int_eq(chown(dir, 65534, 65534), 0);
	expect_dir_refused(dir, marker, "owned by uid 65534");
}
END_TEST

START_TEST(test_symlink_and_fifo_refused)
{
	char dir[300], other[300], path[400], target[400], marker[400];

	set_marker(marker, sizeof(marker), "symlink");
	make_dir(dir, sizeof(dir), "link-plugins", 0755);
	make_dir(other, sizeof(other), "link-target", 0755);
	snprintf(target, sizeof(target), "%s/count.so", other);
	ck_assert_int_eq(file_copy(getenv("ESTREAMER_TEST_PLUGIN"), target, 0755), 0);
	snprintf(path, sizeof(path), "%s/count.so", dir);
	ck_assert_int_eq(symlink(target, path), 0);
	expect_file_refused(dir, path, marker, "symbolic link");

	/* A FIFO must neither hang the client nor be loaded. */
	unlink(path);
	ck_assert_int_eq(mkfifo(path, 0644), 0);
	expect_file_refused(dir, path, marker, "not a regular file");
}
END_TEST

static int wait_counter(estreamer_client *c, int want_errors, size_t want_loaded)
{
	estreamer_counters k;

	for (int t = 0; t < 500; t++) {
		estreamer_client_get_counters(c, &k);
		if (k.plugin_errors >= (uint64_t)want_errors &&
		    estreamer_client_plugin_count(c) == want_loaded)
			return 1;
		sleep_ms(10);
	}
	return 0;
}

START_TEST(test_plugins_added_later_are_checked)
{
	struct sim *sim = calloc(1, sizeof(*sim));
	char dir[300], tmp[400], bad[400], good[400], marker[400], log[400];
	const char *plugin = getenv("ESTREAMER_TEST_PLUGIN");
	estreamer_client *c;
	struct run r;
	FILE *f;
	int records = 0;
	char line[256];

	set_marker(marker, sizeof(marker), "later");
	snprintf(log, sizeof(log), "%s/later.log", pki);
	unlink(log);
	setenv("ESTREAMER_TEST_PLUGIN_LOG", log, 1);
	make_dir(dir, sizeof(dir), "later-plugins", 0755);
	sim->dir = pki;
	make_records(sim, 20, 0);
	sim->gates[0] = 10;
	ck_assert_int_eq(sim_start(sim), 0);
	c = plugin_client(sim, dir);
	run_start(&r, c);
	ck_assert_int_eq(run_wait(&r, 10, 10000), 10);

	/* Planted while the client runs, group-writable, moved in: refused. */
	snprintf(tmp, sizeof(tmp), "%s/.bad.so.part", dir);
	snprintf(bad, sizeof(bad), "%s/bad.so", dir);
	ck_assert_int_eq(file_copy(plugin, tmp, 0775), 0);
	ck_assert_int_eq(rename(tmp, bad), 0);
	ck_assert_msg(wait_counter(c, 1, 0), "the planted plugin was not refused");
	ck_assert_msg(log_has(bad, "writable by group"), "%s", logs.text);
	ck_assert_msg(!exists(marker), "the planted plugin's constructor ran");

	/* A correct one, installed the same way, loads and sees the next records. */
	snprintf(tmp, sizeof(tmp), "%s/.good.so.part", dir);
	snprintf(good, sizeof(good), "%s/good.so", dir);
	ck_assert_int_eq(file_copy(plugin, tmp, 0755), 0);
	ck_assert_int_eq(rename(tmp, good), 0);
	ck_assert_msg(wait_counter(c, 1, 1), "the correct plugin was not loaded");
	ck_assert_msg(exists(marker), "the marker mechanism itself does not work");
	sim_open_gate(sim);
	ck_assert_int_eq(run_wait(&r, 20, 10000), 20);
	run_finish(&r);
	ck_assert_int_eq(r.rc, ESTREAMER_OK);
	f = fopen(log, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f))
		records += strncmp(line, "record 400 ", 11) == 0;
	fclose(f);
	ck_assert_int_eq(records, 10);
	estreamer_client_free(c);
	sim_stop(sim);
	free_records(sim);
	free(sim);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("estreamer-plugin-security");
	TCase *tc = tcase_create("plugin-security");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_world_writable_directory_refused);
	tcase_add_test(tc, test_group_writable_file_refused);
	tcase_add_test(tc, test_foreign_owner_refused);
	tcase_add_test(tc, test_symlink_and_fifo_refused);
	tcase_add_test(tc, test_plugins_added_later_are_checked);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	pthread_mutex_init(&logs.mu, NULL);
	return run_suite_with_pki(suite());
}
