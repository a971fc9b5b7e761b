/* SPDX-License-Identifier: Apache-2.0 */
/*
 * idmefv2-connector tailing a path that goes wrong, run for real:
 *  - the file is replaced by a directory, then by a regular file again: the
 *    trouble is logged a bounded number of times (no hot loop filling the
 *    disk), and the new file's lines are delivered;
 *  - after a rotation the new file cannot be opened (EACCES): logged once,
 *    retried, its lines delivered once it can be read. As root, chmod does not
 *    deny root, so the connector then runs as uid/gid 65534;
 *  - line numbers in logs count every line, over-long and empty ones too;
 *  - a dead-letter record of a line that is not UTF-8 is valid UTF-8 JSON.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "proc-harness.h"

#define NOBODY 65534

static char *make_dir(void)
{
	char *dir = strdup("/tmp/test-tail-errors-XXXXXX");

	ck_assert_ptr_nonnull(mkdtemp(dir));
	return dir;
}

static void remove_tree(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'", dir, dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void write_text(const char *path, const char *mode, const char *text)
{
	FILE *f = fopen(path, mode);

	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
}

/* @p n Suricata alerts, numbered from @p first. */
static void append_alerts(const char *path, int first, int n)
{
	char line[1024];

	for (int i = first; i < first + n; i++) {
		snprintf(line, sizeof(line),
		         "{\"timestamp\":\"2025-05-12T06:00:00.203698+0000\",\"flow_id\":%d,\"event_type\":\"alert\","
		         "\"src_ip\":\"10.0.0.1\",\"src_port\":1234,\"dest_ip\":\"10.0.0.2\",\"dest_port\":80,"
		         "\"proto\":\"TCP\",\"alert\":{\"action\":\"allowed\",\"gid\":1,\"signature_id\":1000001,"
		         "\"rev\":1,\"signature\":\"tail-errors %d\",\"category\":\"Potentially Bad Traffic\","
		         "\"severity\":2}}\n",
		         i, i);
		write_text(path, "a", line);
	}
}

/* Lines of @p path containing @p a and (if not NULL) @p b; also its size. */
static int count_lines(const char *path, const char *a, const char *b, long *ret_size)
{
	FILE *f = fopen(path, "r");
	char line[8192];
	int n = 0;

	if (ret_size)
		*ret_size = 0;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, a) && (!b || strstr(line, b)))
			n++;
	if (ret_size) {
		fseek(f, 0, SEEK_END);
		*ret_size = ftell(f);
	}
	fclose(f);
	return n;
}

static bool wait_lines(const char *path, const char *a, const char *b, int seconds)
{
	struct stat st;

	for (int i = 0; i < seconds * 20; i++) {
		/* A log growing without bound (a read error logged in a loop) fails at once. */
		ck_assert_msg(stat(path, &st) != 0 || st.st_size < (1 << 20), "%s: over 1 MB of log", path);
		if (count_lines(path, a, b, NULL) > 0)
			return true;
		ph_sleep_ms(50);
	}
	return false;
}

struct daemon {
	pid_t pid;
	char dir[256], log[512], conf[512];
};

/* A Suricata connector tailing DIR/eve.json into DIR/out (file transport). */
/* In the child, before exec: the daemon runs as nobody, or the child ends with 126. */
static int become_nobody(void *arg)
{
	(void)arg;
	if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0)
		_exit(126);
	return 0;
}

static void daemon_start(struct daemon *d, const char *dir, const char *extra, bool as_nobody)
{
	char text[4096], out[512], errpath[512];

	snprintf(d->dir, sizeof(d->dir), "%s", dir);
	snprintf(d->log, sizeof(d->log), "%s/daemon.log", dir);
	snprintf(d->conf, sizeof(d->conf), "%s/suricata.conf", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	mkdir(out, 0777);
	snprintf(text, sizeof(text),
	         "[logging]\nlevel = INFO\nfile = %s\n\n[idmefv2]\nurl = file://%s\n%s\n"
	         "[suricata]\nfiletype = regular\nfilename = %s/eve.json\n\n[state]\ndir = %s/state\n",
	         d->log, out, extra ? extra : "", dir, dir);
	write_text(d->conf, "w", text);
	if (as_nobody) {
		snprintf(text, sizeof(text), "chown -R %d:%d '%s'", NOBODY, NOBODY, dir);
		ck_assert_int_eq(system(text), 0);
	}
	snprintf(errpath, sizeof(errpath), "%s/daemon.stderr", dir);
	d->pid = ph_spawn((const char *const[]){ IDMEFV2_CONNECTOR_PATH, "suricata", "-c", d->conf, "--foreground",
	                                         NULL },
	                  &(struct ph_io){ .err = errpath, .err_append = true, .mode = 0666,
	                                   .child_setup = as_nobody ? become_nobody : NULL,
	                                   .die_with_parent = true });
	ck_assert_msg(wait_lines(d->log, "connector started", NULL, 20), "the connector did not start (%s)", errpath);
}

static void daemon_stop(struct daemon *d)
{
	int st = 0;

	ck_assert_int_eq(kill(d->pid, SIGTERM), 0);
	for (int i = 0; i < 600; i++) {
		pid_t r = waitpid(d->pid, &st, WNOHANG);

		if (r == d->pid)
			break;
		ck_assert_msg(r == 0 && i < 599, "the daemon did not stop within 30 s");
		ph_sleep_ms(50);
	}
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
}

START_TEST(test_file_becomes_directory)
{
	char *dir = make_dir(), eve[512], out[512];
	struct daemon d;
	long size;
	int trouble;

	snprintf(eve, sizeof(eve), "%s/eve.json", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	write_text(eve, "w", "");
	daemon_start(&d, dir, NULL, false);
	append_alerts(eve, 0, 5);
	ck_assert_int_eq(ph_wait_count_json(out, 5, 20), 5);

	/* The file becomes a directory, for a while, with activity beside it (the log file itself). */
	ck_assert_int_eq(unlink(eve), 0);
	ck_assert_int_eq(mkdir(eve, 0755), 0);
	ck_assert(wait_lines(d.log, "a directory, not a regular file", NULL, 10));
	for (int i = 0; i < 20; i++) {
		char other[600];

		snprintf(other, sizeof(other), "%s/other.log", dir);
		write_text(other, "a", "activity in the directory\n");
		ph_sleep_ms(100);
	}
	/* Then a regular file again, with new lines: read from its start. */
	ck_assert_int_eq(rmdir(eve), 0);
	append_alerts(eve, 5, 7);
	ck_assert_int_eq(ph_wait_count_json(out, 12, 20), 12);
	trouble = count_lines(d.log, "eve.json", "directory", &size) + count_lines(d.log, "eve.json", "read:", NULL);
	fprintf(stderr, "log: %d lines about the directory, %ld bytes\n", trouble, size);
	ck_assert_int_eq(count_lines(d.log, "eve.json", "a directory, not a regular file", NULL), 1);
	ck_assert_int_le(trouble, 2);
	ck_assert_int_lt(size, 16384);
	daemon_stop(&d);
	ck_assert_int_eq(ph_count_json(out), 12);
	remove_tree(dir);
	free(dir);
}
END_TEST

START_TEST(test_rotated_file_not_readable)
{
	char *dir = make_dir(), eve[512], next[512], rotated[512], out[512];
	bool root = geteuid() == 0;
	struct daemon d;

	snprintf(eve, sizeof(eve), "%s/eve.json", dir);
	snprintf(next, sizeof(next), "%s/eve.json.new", dir);
	snprintf(rotated, sizeof(rotated), "%s/eve.json.1", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	write_text(eve, "w", "");
	chmod(eve, 0644);
	chmod(dir, 0755);
	daemon_start(&d, dir, NULL, root);
	append_alerts(eve, 0, 3);
	ck_assert_int_eq(ph_wait_count_json(out, 3, 20), 3);

	/* Rotation to a file the connector may not read (as root: owned by root, the connector is uid 65534). */
	append_alerts(next, 3, 4);
	ck_assert_int_eq(chmod(next, 0), 0);
	if (root)
		ck_assert_int_eq(chown(next, 0, 0), 0);
	ck_assert_int_eq(rename(eve, rotated), 0);
	ck_assert_int_eq(rename(next, eve), 0);
	ck_assert_msg(wait_lines(d.log, "eve.json: cannot open: Permission denied", NULL, 10),
	              "the unreadable file was not reported");
	ph_sleep_ms(2500); /* several retries */
	ck_assert_int_eq(count_lines(d.log, "eve.json", "Permission denied", NULL), 1);
	ck_assert_int_eq(ph_count_json(out), 3);
	/* Readable again: its lines arrive, from its start. */
	ck_assert_int_eq(chmod(eve, 0644), 0);
	ck_assert_int_eq(ph_wait_count_json(out, 7, 20), 7);
	ck_assert(wait_lines(d.log, "eve.json: readable again", NULL, 5));
	daemon_stop(&d);
	remove_tree(dir);
	free(dir);
}
END_TEST

/* Numbers in logs are line numbers of the file, whatever was skipped before. */
START_TEST(test_line_numbers_after_long_line)
{
	char *dir = make_dir(), eve[512], out[512], *long_line, want[600];
	struct daemon d;

	snprintf(eve, sizeof(eve), "%s/eve.json", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	write_text(eve, "w", "");
	daemon_start(&d, dir, "\n[input]\nmax_line = 1000\n", false);
	long_line = malloc(3002);
	ck_assert_ptr_nonnull(long_line);
	memset(long_line, 'x', 3000);
	long_line[3000] = '\n';
	long_line[3001] = '\0';
	append_alerts(eve, 0, 1);          /* line 1 */
	write_text(eve, "a", long_line);   /* line 2: longer than max_line, skipped */
	write_text(eve, "a", "\n");        /* line 3: empty */
	append_alerts(eve, 1, 1);          /* line 4 */
	write_text(eve, "a", "not json\n"); /* line 5 */
	ck_assert_int_eq(ph_wait_count_json(out, 2, 20), 2);
	snprintf(want, sizeof(want), "%s:5: malformed JSON", eve);
	ck_assert_msg(wait_lines(d.log, want, NULL, 10), "no '%s' in the log", want);
	ck_assert_int_eq(count_lines(d.log, "longer than 1000 bytes, skipped", NULL, NULL), 1);
	daemon_stop(&d);
	free(long_line);
	remove_tree(dir);
	free(dir);
}
END_TEST

static bool valid_utf8(const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		size_t n = s[i] < 0x80 ? 1 : (s[i] & 0xe0) == 0xc0 ? 2 : (s[i] & 0xf0) == 0xe0 ? 3 :
		           (s[i] & 0xf8) == 0xf0 ? 4 : 0;

		if (n == 0 || i + n > len || (n == 2 && s[i] < 0xc2))
			return false;
		for (size_t k = 1; k < n; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
		i += n;
	}
	return true;
}

/* A line that is not UTF-8 goes to the dead-letter file as valid JSON, its bytes kept in base64. */
START_TEST(test_dead_letter_not_utf8)
{
	char *dir = make_dir(), eve[512], out[512], dead[512], extra[700], rec[4096];
	struct json_object *o, *v;
	struct daemon d;
	FILE *f;
	int n = 0;

	snprintf(eve, sizeof(eve), "%s/eve.json", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(dead, sizeof(dead), "%s/dead.ndjson", dir);
	snprintf(extra, sizeof(extra), "dead_letter = %s\n", dead);
	write_text(eve, "w", "");
	daemon_start(&d, dir, extra, false);
	write_text(eve, "a", "\xff\xfe not json \xc3\x28\n"); /* line 1 */
	write_text(eve, "a", "plain text, not json\n");      /* line 2 */
	append_alerts(eve, 0, 1);
	ck_assert_int_eq(ph_wait_count_json(out, 1, 20), 1);
	daemon_stop(&d);
	f = fopen(dead, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(rec, sizeof(rec), f)) {
		ck_assert_msg(valid_utf8((const unsigned char *)rec, strlen(rec)), "record %d is not UTF-8", n + 1);
		o = json_tokener_parse(rec);
		ck_assert_ptr_nonnull(o);
		if (n == 0) {
			ck_assert(!json_object_object_get_ex(o, "input", NULL));
			ck_assert(json_object_object_get_ex(o, "input_base64", &v));
			ck_assert_str_eq(json_object_get_string(v), "//4gbm90IGpzb24gwyg=");
		} else {
			ck_assert(json_object_object_get_ex(o, "input", &v));
			ck_assert_str_eq(json_object_get_string(v), "plain text, not json");
		}
		ck_assert(json_object_object_get_ex(o, "line", &v));
		ck_assert_int_eq(json_object_get_int(v), n + 1);
		json_object_put(o);
		n++;
	}
	fclose(f);
	ck_assert_int_eq(n, 2);
	remove_tree(dir);
	free(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("connector-tail-errors");
	TCase *tc = tcase_create("tail");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_file_becomes_directory);
	tcase_add_test(tc, test_rotated_file_not_readable);
	tcase_add_test(tc, test_line_numbers_after_long_line);
	tcase_add_test(tc, test_dead_letter_not_utf8);
	suite_add_tcase(s, tc);
	return ph_run_suite(s);
}
