/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Template files come from configuration ([idmefv2] template) and from the
 * directories of IDMEFV2_TEMPLATE_PATH: a FIFO must be refused rather than
 * block (fopen() waited for a writer), /dev/zero rather than be read until
 * memory runs out, an oversized file rather than be read whole; a regular
 * file, also through a symbolic link, still loads. Each load runs in a child
 * process with a deadline, so that a load that blocks or never ends fails the
 * test instead of hanging it.
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
#include <unistd.h>

#include <idmefv2/mapping.h>

/* A load takes milliseconds; this bounds a blocked or endless one. */
#define DEADLINE_MS 5000

static char dir[64];

static const char template_text[] = "{\"Version\": \"2.D.V08\", \"Description\": \"$.msg\"}";

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/idmefv2-load-file-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void in_dir(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", dir, name);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
}

/*
 * Load @p path (or, with @p tool, that tool from IDMEFV2_TEMPLATE_PATH=@p path)
 * in a child; @return "rc=N errstr" as the child wrote it, or "TIMEOUT".
 */
static char *load(const char *path, const char *tool)
{
	static char got[1024];
	int fds[2];
	pid_t pid;
	struct pollfd p;
	ssize_t n = 0;

	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		idmefv2_mapping *m = NULL;
		char err[512] = "", line[600];
		idmefv2_error rc;
		int len;

		close(fds[0]);
		if (tool) {
			setenv("IDMEFV2_TEMPLATE_PATH", path, 1);
			rc = idmefv2_mapping_load_tool(tool, &m, NULL, err, sizeof(err));
		} else {
			rc = idmefv2_mapping_load_file(path, &m, err, sizeof(err));
		}
		idmefv2_mapping_free(m);
		len = snprintf(line, sizeof(line), "rc=%d %s", (int)rc, err);
		_exit(write(fds[1], line, (size_t)len) == len ? 0 : 1);
	}
	close(fds[1]);
	p = (struct pollfd){ .fd = fds[0], .events = POLLIN };
	if (poll(&p, 1, DEADLINE_MS) == 1)
		n = read(fds[0], got, sizeof(got) - 1);
	else
		snprintf(got, sizeof(got), "TIMEOUT");
	if (n > 0)
		got[n] = '\0';
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(fds[0]);
	return got;
}

static void expect(const char *got, idmefv2_error rc, const char *text)
{
	char want[32];

	snprintf(want, sizeof(want), "rc=%d ", (int)rc);
	ck_assert_msg(strncmp(got, want, strlen(want)) == 0, "got \"%s\", want %s", got, want);
	ck_assert_msg(strstr(got, text), "\"%s\" lacks \"%s\"", got, text);
}

START_TEST(regular_file_and_link_load)
{
	char path[128], link[128];

	in_dir(path, sizeof(path), "t.json");
	in_dir(link, sizeof(link), "link.json");
	write_file(path, template_text);
	ck_assert_int_eq(symlink(path, link), 0);
	expect(load(path, NULL), IDMEFV2_OK, "");
	expect(load(link, NULL), IDMEFV2_OK, "");
}
END_TEST

START_TEST(fifo_refused_without_blocking)
{
	char path[128];

	in_dir(path, sizeof(path), "fifo.json");
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	expect(load(path, NULL), IDMEFV2_ERR_IO, "not a regular file");
}
END_TEST

START_TEST(fifo_in_template_path_refused_without_blocking)
{
	char path[128];

	in_dir(path, sizeof(path), "suricata.json");
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	expect(load(dir, "suricata"), IDMEFV2_ERR_IO, "not a regular file");
}
END_TEST

START_TEST(device_refused)
{
	expect(load("/dev/zero", NULL), IDMEFV2_ERR_IO, "not a regular file");
}
END_TEST

START_TEST(directory_refused)
{
	expect(load(dir, NULL), IDMEFV2_ERR_IO, "not a regular file");
}
END_TEST

START_TEST(oversized_file_refused)
{
	char path[128];
	int fd;

	in_dir(path, sizeof(path), "big.json");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	/* Sparse: no disk used. */
	ck_assert_int_eq(ftruncate(fd, (off_t)IDMEFV2_MAPPING_FILE_MAX + 1), 0);
	close(fd);
	expect(load(path, NULL), IDMEFV2_ERR_IO, "over the limit");
}
END_TEST

START_TEST(absent_file_named)
{
	char path[128];

	in_dir(path, sizeof(path), "none.json");
	expect(load(path, NULL), IDMEFV2_ERR_IO, "none.json: No such file or directory");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mapping-load-file");
	TCase *tc = tcase_create("files");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, regular_file_and_link_load);
	tcase_add_test(tc, fifo_refused_without_blocking);
	tcase_add_test(tc, fifo_in_template_path_refused_without_blocking);
	tcase_add_test(tc, device_refused);
	tcase_add_test(tc, directory_refused);
	tcase_add_test(tc, oversized_file_refused);
	tcase_add_test(tc, absent_file_named);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
