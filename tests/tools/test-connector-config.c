/* SPDX-License-Identifier: Apache-2.0 */
/*
 * idmefv2-connector --check-config, run for real on configuration files that
 * used to pass or fail wrongly: a missing tls.ca_file and an uncreatable
 * [state] dir said OK; verify = false with http:// (as the Python connectors'
 * files have it) was fatal; a duplicate key was silent; -c naming a directory
 * said "url is required". Exit status and message text are asserted.
 */
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test-conncfg-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 65536);
	size_t n = 0;

	ck_assert_ptr_nonnull(buf);
	if (f) {
		n = fread(buf, 1, 65535, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

/* Write DIR/c.conf from @p fmt. */
static void conf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void conf(const char *fmt, ...)
{
	char path[128];
	FILE *f;
	va_list ap;

	snprintf(path, sizeof(path), "%s/c.conf", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	ck_assert_int_eq(fclose(f), 0);
}

/* Run `idmefv2-connector suricata -c PATH --check-config`; its exit status, and its output in *ret_out. */
static int check_config(const char *path, char **ret_out)
{
	char cmd[1024], out[128];
	int st;

	snprintf(out, sizeof(out), "%s/out.txt", dir);
	snprintf(cmd, sizeof(cmd), "'%s' suricata -c '%s' --check-config >'%s' 2>&1", IDMEFV2_CONNECTOR_PATH, path,
	         out);
	st = system(cmd);
	ck_assert(WIFEXITED(st));
	*ret_out = slurp(out);
	return WEXITSTATUS(st);
}

static int check_conf(char **ret_out)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/c.conf", dir);
	return check_config(path, ret_out);
}

START_TEST(missing_ca_file)
{
	char *out;

	conf("[idmefv2]\nurl = https://127.0.0.1:1/\n[transport]\ntls.ca_file = %s/none/ca.pem\n"
	     "[suricata]\nfiletype = regular\nfilename = /x\n[state]\ndir = %s/state\n",
	     dir, dir);
	ck_assert_int_eq(check_conf(&out), 2);
	ck_assert_msg(strstr(out, "[transport] tls.ca_file:") && strstr(out, "No such file or directory"), "%s", out);
	ck_assert_msg(!strstr(out, ": OK:"), "%s", out);
	free(out);
	/* A directory is no CA file either; a readable one passes. */
	conf("[idmefv2]\nurl = https://127.0.0.1:1/\n[transport]\ntls.ca_file = %s\n"
	     "[suricata]\nfiletype = regular\nfilename = /x\n[state]\ndir = %s/state\n",
	     dir, dir);
	ck_assert_int_eq(check_conf(&out), 2);
	ck_assert_msg(strstr(out, "not a regular file"), "%s", out);
	free(out);
	conf("[idmefv2]\nurl = https://127.0.0.1:1/\n[transport]\ntls.ca_file = %s/c.conf\n"
	     "[suricata]\nfiletype = regular\nfilename = /x\n[state]\ndir = %s/state\n",
	     dir, dir);
	ck_assert_int_eq(check_conf(&out), 0);
	free(out);
}
END_TEST

START_TEST(uncreatable_state_dir)
{
	char path[128], *out;
	struct stat st;

	/* Under a regular file: no directory can ever be made there, whoever runs it. */
	snprintf(path, sizeof(path), "%s/file", dir);
	fclose(fopen(path, "w"));
	conf("[idmefv2]\nurl = http://127.0.0.1:1/\n[suricata]\nfiletype = regular\nfilename = /x\n"
	     "[state]\ndir = %s/file/state\n",
	     dir);
	ck_assert_int_eq(check_conf(&out), 2);
	ck_assert_msg(strstr(out, "[state] dir: cannot create or write") && strstr(out, "Not a directory"), "%s", out);
	free(out);
	/* A creatable one passes, and --check-config does not create it. */
	conf("[idmefv2]\nurl = http://127.0.0.1:1/\n[suricata]\nfiletype = regular\nfilename = /x\n"
	     "[state]\ndir = %s/a/b/state\n",
	     dir);
	ck_assert_int_eq(check_conf(&out), 0);
	free(out);
	snprintf(path, sizeof(path), "%s/a", dir);
	ck_assert_int_ne(stat(path, &st), 0);
}
END_TEST

/* The Python connectors' files carry verify = false whatever the URL. */
START_TEST(verify_false_with_http)
{
	char *out;

	conf("[idmefv2]\nurl = http://127.0.0.1:1/\nverify = false\n[suricata]\nfiletype = regular\nfilename = /x\n"
	     "[state]\ndir = %s/state\n",
	     dir);
	ck_assert_int_eq(check_conf(&out), 0);
	ck_assert_msg(strstr(out, "WARNING") && strstr(out, "[idmefv2] verify = false has no effect on http://"),
	              "%s", out);
	ck_assert_msg(strstr(out, ": OK:"), "%s", out);
	free(out);
}
END_TEST

START_TEST(duplicate_key_warns)
{
	char *out;

	conf("[idmefv2]\nurl = http://127.0.0.1:1/\n[suricata]\nfiletype = regular\nfilename = /first\n"
	     "[state]\ndir = %s/state\n[suricata]\nfilename = /second\n",
	     dir);
	ck_assert_int_eq(check_conf(&out), 0);
	ck_assert_msg(strstr(out, "c.conf:9: [suricata] filename is given again (first at line 5)"), "%s", out);
	ck_assert_msg(strstr(out, "reading /second"), "%s", out);
	free(out);
	/* An indented continuation line is not a duplicate. */
	conf("[idmefv2]\nurl = http://127.0.0.1:1/\n[suricata]\nfiletype = regular\nfilename = /x\n"
	     "[state]\ndir = %s/state\n[logging]\nnote = a value\n  continued here\n",
	     dir);
	ck_assert_int_eq(check_conf(&out), 0);
	ck_assert_msg(!strstr(out, "given again"), "%s", out);
	free(out);
}
END_TEST

START_TEST(config_is_a_directory)
{
	char *out;

	ck_assert_int_eq(check_config(dir, &out), 2);
	ck_assert_msg(strstr(out, "is a directory, not a configuration file"), "%s", out);
	ck_assert_msg(!strstr(out, "url is required"), "%s", out);
	free(out);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("connector-config");
	TCase *tc = tcase_create("check-config");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, missing_ca_file);
	tcase_add_test(tc, uncreatable_state_dir);
	tcase_add_test(tc, verify_false_with_http);
	tcase_add_test(tc, duplicate_key_warns);
	tcase_add_test(tc, config_is_a_directory);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
