/* SPDX-License-Identifier: Apache-2.0 */
/*
 * file:///dir in a directory others can write to: what the sender creates is
 * not readable by others (0640 or tighter), and the listener does not follow
 * a symbolic link dropped there (nor delete its target).
 */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testlib.h"
#include "transport-generic.h"

#define N 8

static char err[512];
static char *tmp;
static char dir[4200];
static char url[4300];

static void setup(void)
{
	tmp = testlib_tmpdir();
	snprintf(dir, sizeof(dir), "%s/box", tmp);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	snprintf(url, sizeof(url), "file://%s", dir);
}

static void teardown(void)
{
	testlib_rmtree(tmp);
	free(tmp);
}

static idmefv2_transport *started(idmefv2_transport_role role, idmefv2_queue *q)
{
	idmefv2_transport *t = NULL;

	ck_assert_msg(idmefv2_transport_new(url, role, &t, err, sizeof(err)) == IDMEFV2_OK, "%s", err);
	if (q)
		idmefv2_transport_set_queue(t, q);
	ck_assert_msg(idmefv2_transport_start(t, err, sizeof(err)) == IDMEFV2_OK, "start: %s", err);
	return t;
}

START_TEST(test_sender_files_not_world_readable)
{
	idmefv2_transport *s;
	DIR *d;
	struct dirent *de;
	size_t files = 0;

	/* The usual umask: the mode the sender asks for is what decides. */
	umask(022);
	s = started(IDMEFV2_TRANSPORT_SENDER, NULL);
	for (unsigned i = 1; i <= N; i++) {
		idmefv2_message *m = testlib_message(i);

		ck_assert_int_eq(idmefv2_transport_send(s, m, NULL, err, sizeof(err)), IDMEFV2_OK);
		idmefv2_message_unref(m);
	}
	ck_assert_int_eq(idmefv2_transport_flush(s, 20000), IDMEFV2_OK);
	idmefv2_transport_free(s);

	d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d))) {
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		ck_assert_int_eq(fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW), 0);
		ck_assert(S_ISREG(st.st_mode));
		ck_assert_msg((st.st_mode & 0027) == 0, "%s has mode %o", de->d_name, st.st_mode & 07777);
		files++;
	}
	closedir(d);
	ck_assert_uint_eq(files, N);
}
END_TEST

START_TEST(test_listener_does_not_follow_links)
{
	idmefv2_queue *q = idmefv2_queue_new(N);
	idmefv2_transport *l;
	idmefv2_message *got = NULL, *extra = NULL;
	char victim[4300], link[4300], real[4300], text[2048], *kept;
	size_t len;

	testlib_message_json(1, text, sizeof(text));
	snprintf(victim, sizeof(victim), "%s/victim.json", tmp);
	ck_assert(testlib_write_file(victim, text, strlen(text)));
	snprintf(link, sizeof(link), "%s/planted.json", dir);
	ck_assert_int_eq(symlink(victim, link), 0);
	testlib_message_json(2, text, sizeof(text));
	snprintf(real, sizeof(real), "%s/real.json", dir);
	ck_assert(testlib_write_file(real, text, strlen(text)));

	l = started(IDMEFV2_TRANSPORT_LISTENER, q);
	ck_assert_int_eq(idmefv2_queue_get(q, 10000, &got), IDMEFV2_OK);
	ck_assert_int_eq(testlib_message_number(got), 2);
	ck_assert_int_eq(idmefv2_queue_task_done(q, got), IDMEFV2_OK);
	idmefv2_message_unref(got);
	/* Nothing else comes: the link is not read. */
	ck_assert_int_eq(idmefv2_queue_get(q, 300, &extra), IDMEFV2_ERR_TIMEOUT);
	idmefv2_transport_free(l);
	idmefv2_queue_unref(q);

	/* The target is intact, and so is the link. */
	testlib_message_json(1, text, sizeof(text));
	{
		FILE *f = fopen(victim, "rb");

		ck_assert_ptr_nonnull(f);
		kept = calloc(1, sizeof(text));
		len = fread(kept, 1, sizeof(text) - 1, f);
		fclose(f);
	}
	ck_assert_uint_eq(len, strlen(text));
	ck_assert_str_eq(kept, text);
	free(kept);
	ck_assert_int_eq(access(link, F_OK), 0);
}
END_TEST

static Suite *file_security_suite(void)
{
	Suite *s = suite_create("file-security");
	TCase *tc = tcase_create("shared-directory");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_sender_files_not_world_readable);
	tcase_add_test(tc, test_listener_does_not_follow_links);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(file_security_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
