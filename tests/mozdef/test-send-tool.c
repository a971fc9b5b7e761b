/* SPDX-License-Identifier: Apache-2.0 */
/* mozdef-send as a user runs it: exit status, messages, and what reaches the server. */
#include <check.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "mdt-server.h"

static struct mdt_server *srv;
static char out_buf[65536], err_buf[65536];

static void setup(void)
{
	srv = mdt_server_start();
	ck_assert_ptr_nonnull(srv);
}

static void teardown(void)
{
	mdt_server_stop(srv);
}

static void drain(int fd, char *buf, size_t size)
{
	size_t got = 0;
	ssize_t n;

	while (got < size - 1 && (n = read(fd, buf + got, size - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
}

/* Run the tool with argv (NULL-terminated, without argv[0]); its exit status. */
static int run(const char *const *args)
{
	const char *argv[64] = { MOZDEF_SEND_PATH };
	int out[2], err[2], status = -1;
	pid_t pid;
	size_t n = 1;

	for (; args[n - 1] && n < 63; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	ck_assert_int_eq(pipe(out), 0);
	ck_assert_int_eq(pipe(err), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		close(out[0]);
		close(err[0]);
		execv(MOZDEF_SEND_PATH, (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	drain(out[0], out_buf, sizeof(out_buf));
	drain(err[0], err_buf, sizeof(err_buf));
	close(out[0]);
	close(err[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

START_TEST(test_delivered)
{
	char url[128];
	const struct mdt_request *req;
	struct json_object *o, *v;

	snprintf(url, sizeof(url), "%s", mdt_server_url(srv, "/events"));
	const char *args[] = { "--url", url, "--summary", "joe login failed", "--tag", "ldap", "--tag", "failure",
		               "--detail", "username=joe", "--details-json", "{\"success\":false}", "--severity",
		               "WARNING", "--category", "authentication", "--source", "ldap", NULL };
	ck_assert_int_eq(run(args), 0);
	ck_assert_str_eq(out_buf, "delivered (HTTP 200, 1 attempt)\n");
	ck_assert_str_eq(err_buf, "");
	ck_assert_uint_eq(mdt_server_count(srv), 1);
	req = mdt_server_request(srv, 0);
	ck_assert_str_eq(req->method, "POST");
	ck_assert_str_eq(req->content_type, "application/json");
	o = json_tokener_parse(req->body);
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(o, "summary")), "joe login failed");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(o, "severity")), "WARNING");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(o, "category")), "authentication");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(o, "source")), "ldap");
	v = json_object_object_get(o, "tags");
	ck_assert_uint_eq(json_object_array_length(v), 2);
	v = json_object_object_get(o, "details");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(v, "username")), "joe");
	ck_assert(json_object_is_type(json_object_object_get(v, "success"), json_type_boolean));
	json_object_put(o);
}
END_TEST

START_TEST(test_not_delivered)
{
	char url[128];

	mdt_server_set_status(srv, 500);
	snprintf(url, sizeof(url), "%s", mdt_server_url(srv, "/events"));
	const char *args[] = { "--url", url, "--summary", "x", "--set", "http.retries=1", "--set",
		               "http.retry_backoff_ms=1", NULL };
	ck_assert_int_eq(run(args), 1);
	ck_assert_str_eq(err_buf, "mozdef-send: not delivered: http: HTTP status 500 (after 2 attempts)\n");
	ck_assert_uint_eq(mdt_server_count(srv), 2);

	mdt_server_set_status(srv, 404);
	ck_assert_int_eq(run(args), 1);
	ck_assert_str_eq(err_buf, "mozdef-send: not delivered: http: HTTP status 404\n");
}
END_TEST

START_TEST(test_usage_and_validation)
{
	char url[128], path[1024];

	snprintf(url, sizeof(url), "%s", mdt_server_url(srv, "/events"));
	const char *no_summary[] = { "--url", url, NULL };
	ck_assert_int_eq(run(no_summary), 2);
	ck_assert_str_eq(err_buf, "mozdef-send: invalid event: summary: missing\n");

	snprintf(path, sizeof(path), "%s/event-docs-example.json", MOZDEF_TEST_DATA);
	const char *bad_compliance[] = { "--url", url, "--summary", "c", "--compliance", path, NULL };
	ck_assert_int_eq(run(bad_compliance), 2);
	ck_assert_str_eq(err_buf, "mozdef-send: invalid event: details.target: missing\n");

	const char *bad_severity[] = { "--url", url, "--summary", "c", "--severity", "CRIT", NULL };
	ck_assert_int_eq(run(bad_severity), 2);
	ck_assert_ptr_nonnull(strstr(err_buf, "--severity: \"CRIT\" is not one of DEBUG"));

	const char *bad_option[] = { "--url", url, "--summary", "c", "--set", "tls.verify=perhaps", NULL };
	ck_assert_int_eq(run(bad_option), 2);
	ck_assert_str_eq(err_buf, "mozdef-send: tls.verify: \"perhaps\" is not true or false\n");

	const char *no_url[] = { "--summary", "c", NULL };
	ck_assert_int_eq(run(no_url), 2);
	ck_assert_ptr_nonnull(strstr(err_buf, "--url is required"));
	ck_assert_uint_eq(mdt_server_count(srv), 0);

	const char *help[] = { "--help", NULL };
	ck_assert_int_eq(run(help), 0);
	ck_assert_int_eq(strncmp(out_buf, "Usage: mozdef-send ", 19), 0);
	ck_assert_ptr_nonnull(strstr(out_buf, "--only-syslog"));

	const char *version[] = { "--version", NULL };
	ck_assert_int_eq(run(version), 0);
	ck_assert_str_eq(out_buf, "mozdef-send 0.1.0 (libmozdef 0.1.0)\n");
}
END_TEST

START_TEST(test_vulnerability_file)
{
	char url[128], path[1024];
	struct json_object *expected, *got;

	snprintf(url, sizeof(url), "%s", mdt_server_url(srv, "/custom/vulnerability"));
	snprintf(path, sizeof(path), "%s/vulnerability-v1-mozdef_client-test.json", MOZDEF_TEST_DATA);
	const char *args[] = { "--url", url, "--vulnerability", path, "-q", NULL };
	ck_assert_int_eq(run(args), 0);
	ck_assert_str_eq(out_buf, "");
	expected = json_object_from_file(path);
	got = json_tokener_parse(mdt_server_request(srv, 0)->body);
	ck_assert(json_object_equal(got, expected));
	json_object_put(got);
	json_object_put(expected);
}
END_TEST

START_TEST(test_only_syslog)
{
	char dir[] = "/tmp/mozdef-send-XXXXXX", path[64], setting[96];
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct pollfd p;
	char line[4096];
	ssize_t n;
	int fd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/log", dir);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	snprintf(setting, sizeof(setting), "syslog.socket=%s", path);
	const char *args[] = { "--only-syslog", "--set", setting, "--set", "syslog.ident=mozdef-send-test", "--set",
		               "syslog.facility=local7", "--summary", "to syslog", "--severity", "ALERT", NULL };
	ck_assert_int_eq(run(args), 0);
	ck_assert_str_eq(out_buf, "delivered\n");
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	ck_assert_int_eq(poll(&p, 1, 5000), 1);
	n = recv(fd, line, sizeof(line) - 1, 0);
	ck_assert_int_gt(n, 0);
	line[n] = '\0';
	/* local7 (23) * 8 + alert (1) */
	ck_assert_int_eq(strncmp(line, "<185>", 5), 0);
	ck_assert_ptr_nonnull(strstr(line, " mozdef-send-test: {\"timestamp\":"));
	ck_assert_ptr_nonnull(strstr(line, "\"summary\":\"to syslog\""));
	ck_assert_ptr_nonnull(strstr(line, "\"severity\":\"ALERT\""));
	ck_assert_uint_eq(mdt_server_count(srv), 0);
	close(fd);
	unlink(path);

	/* Nobody listening any more. */
	ck_assert_int_eq(run(args), 1);
	snprintf(line, sizeof(line), "mozdef-send: not delivered: syslog: %s: No such file or directory\n", path);
	ck_assert_str_eq(err_buf, line);
	rmdir(dir);
}
END_TEST

static Suite *tool_suite(void)
{
	Suite *s = suite_create("mozdef-send");
	TCase *tc = tcase_create("tool");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_delivered);
	tcase_add_test(tc, test_not_delivered);
	tcase_add_test(tc, test_usage_and_validation);
	tcase_add_test(tc, test_vulnerability_file);
	tcase_add_test(tc, test_only_syslog);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(tool_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
