/* SPDX-License-Identifier: Apache-2.0 */
/*
 * base64_file() takes its path from the input (ZoneMinder's event directory):
 * a symbolic link to a secret, a FIFO, a device and an oversized file must be
 * refused with a logged reason (the field is then missing), and a regular file
 * still read. Each case runs in a child process with a deadline, so that a
 * conversion that blocks (a FIFO) or never ends (/dev/zero) fails the test
 * instead of hanging it.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include <idmefv2/mapping.h>

/* A conversion takes microseconds; this bounds a blocked or endless one. */
#define DEADLINE_MS 3000

static char dir[64];

static void log_to_fd(idmefv2_log_level level, const char *message, void *user_data)
{
	int fd = *(int *)user_data;
	char line[1200];
	int n = snprintf(line, sizeof(line), "LOG %d %s\n", (int)level, message);

	if (n > 0 && write(fd, line, (size_t)n) < 0) {
		/* the parent reads or has given up */
	}
}

/* In a child: apply {"R": base64_file($.p [, max])} to {"p": path}; write "R=value" or "R missing" and the logs. */
static void child_apply(int fd, const char *path, long max)
{
	char tmpl_text[256], err[512] = "";
	struct json_object *tmpl, *input = json_object_new_object(), *out = NULL, *r = NULL;
	idmefv2_mapping *m = NULL;
	const char *text;

	if (max > 0)
		snprintf(tmpl_text, sizeof(tmpl_text), "{\"R\":{\"$fn\":\"base64_file\",\"args\":[\"$.p\",%ld]}}", max);
	else
		snprintf(tmpl_text, sizeof(tmpl_text), "{\"R\":{\"$fn\":\"base64_file\",\"args\":[\"$.p\"]}}");
	tmpl = json_tokener_parse(tmpl_text);
	if (idmefv2_mapping_compile_json("t", tmpl, &m, err, sizeof(err)) != IDMEFV2_OK)
		_exit(2);
	idmefv2_mapping_set_log_cb(m, log_to_fd, &fd);
	json_object_object_add(input, "p", json_object_new_string(path));
	if (idmefv2_mapping_apply(m, input, &out, err, sizeof(err)) != IDMEFV2_OK)
		_exit(3);
	text = json_object_object_get_ex(out, "R", &r) ? json_object_get_string(r) : NULL;
	if (text)
		dprintf(fd, "R=%s\n", text);
	else
		dprintf(fd, "R missing\n");
	json_object_put(out);
	json_object_put(input);
	json_object_put(tmpl);
	idmefv2_mapping_free(m);
	_exit(0);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What the child reported, within DEADLINE_MS (a malloc'd string); the child is gone on return. */
static char *apply(const char *path, long max)
{
	int fds[2];
	pid_t pid;
	char *text = calloc(1, 65536);
	size_t len = 0;
	int64_t deadline = now_ms() + DEADLINE_MS;
	int status = 0;
	bool done = false;

	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(fds[0]);
		child_apply(fds[1], path, max);
	}
	close(fds[1]);
	while (!done && now_ms() < deadline) {
		struct pollfd p = { .fd = fds[0], .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, (int)(deadline - now_ms())) <= 0)
			continue;
		n = read(fds[0], text + len, 65535 - len);
		if (n <= 0)
			done = true;
		else
			len += (size_t)n;
	}
	close(fds[0]);
	if (!done)
		kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	ck_assert_msg(done, "base64_file(%s) did not return within %d ms (blocked or reading forever)", path,
	              DEADLINE_MS);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the conversion of %s failed (status %d)", path,
	              status);
	return text;
}

static void write_file(const char *path, const char *bytes)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(bytes, f);
	ck_assert_int_eq(fclose(f), 0);
}

static void in_dir(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

/* Refused: the field is missing and a log line gives @p reason. */
static void assert_refused(const char *path, long max, const char *reason)
{
	char *got = apply(path, max);

	ck_assert_msg(strstr(got, "R missing"), "%s was read: %s", path, got);
	ck_assert_msg(strstr(got, reason), "no log line with '%s' for %s: %s", reason, path, got);
	free(got);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/idmefv2-b64-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

START_TEST(regular_file_read)
{
	char path[128], *got;

	in_dir(path, sizeof(path), "snapshot.jpg");
	write_file(path, "foobar");
	got = apply(path, 0);
	ck_assert_msg(strstr(got, "R=Zm9vYmFy\n"), "got %s", got);
	free(got);
}
END_TEST

/* The reproducer: snapshot.jpg -> a secret file put the secret into the alert. */
START_TEST(symlink_refused)
{
	char secret[128], link[128];

	in_dir(secret, sizeof(secret), "shadow");
	write_file(secret, "root:$6$secret:19000:0:99999:7:::\n");
	in_dir(link, sizeof(link), "snapshot.jpg");
	ck_assert_int_eq(symlink(secret, link), 0);
	assert_refused(link, 0, "symbolic link");
	/* A dangling link too, so nothing can be created through it either. */
	unlink(secret);
	assert_refused(link, 0, "symbolic link");
}
END_TEST

START_TEST(fifo_refused_without_blocking)
{
	char path[128];

	in_dir(path, sizeof(path), "snapshot.jpg");
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	assert_refused(path, 0, "a FIFO");
}
END_TEST

START_TEST(device_refused)
{
	assert_refused("/dev/zero", 0, "a device");
}
END_TEST

START_TEST(directory_refused)
{
	assert_refused(dir, 0, "a directory");
}
END_TEST

START_TEST(too_large_refused)
{
	char path[128], *got;
	int fd;

	/* One byte over the default limit; sparse, so cheap to make. */
	in_dir(path, sizeof(path), "big.jpg");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)IDMEFV2_MAPPING_FILE_MAX + 1), 0);
	close(fd);
	assert_refused(path, 0, "over the limit of 16777216");

	/* The template's own limit: 6 bytes pass at 6, not at 5. */
	in_dir(path, sizeof(path), "small.jpg");
	write_file(path, "foobar");
	got = apply(path, 6);
	ck_assert_msg(strstr(got, "R=Zm9vYmFy\n"), "got %s", got);
	free(got);
	assert_refused(path, 5, "over the limit of 5");
}
END_TEST

START_TEST(absent_file_missing)
{
	char path[128], *got;

	in_dir(path, sizeof(path), "none.jpg");
	got = apply(path, 0);
	ck_assert_msg(strstr(got, "R missing"), "got %s", got);
	free(got);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("base64-file");
	TCase *tc = tcase_create("refusals");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, regular_file_read);
	tcase_add_test(tc, symlink_refused);
	tcase_add_test(tc, fifo_refused_without_blocking);
	tcase_add_test(tc, device_refused);
	tcase_add_test(tc, directory_refused);
	tcase_add_test(tc, too_large_refused);
	tcase_add_test(tc, absent_file_missing);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
