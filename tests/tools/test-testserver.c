/* SPDX-License-Identifier: Apache-2.0 */
/* idmefv2-testserver run for real: POSTs with curl(1), statuses and the exit summary. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define VALID TEST_DATA_DIR "/examples/valid/connectors-doc-minimal-idmefv2.V05.json"

struct server {
	pid_t pid;
	unsigned port;
	char log[64];
};

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 1 << 16);

	ck_assert_ptr_nonnull(buf);
	if (f) {
		size_t n = fread(buf, 1, (1 << 16) - 1, f);

		buf[n] = '\0';
		fclose(f);
	}
	return buf;
}

/* Start the server with stderr in a file; wait for its "listening on" line. */
static void server_start(struct server *s, const char *const *args)
{
	const char *argv[16] = { IDMEFV2_TESTSERVER_PATH, "-p", "0" };
	size_t n = 3;
	int fd;

	for (; *args; args++)
		argv[n++] = *args;
	strcpy(s->log, "/tmp/test-testserver-XXXXXX");
	fd = mkstemp(s->log);
	ck_assert_int_ge(fd, 0);
	s->pid = fork();
	ck_assert_int_ge(s->pid, 0);
	if (s->pid == 0) {
		dup2(fd, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fd);
	s->port = 0;
	for (int i = 0; i < 500 && !s->port; i++) {
		char *log = slurp(s->log);
		char *p = strstr(log, "listening on http://127.0.0.1:");
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		if (p)
			s->port = (unsigned)atoi(p + strlen("listening on http://127.0.0.1:"));
		free(log);
		if (!s->port)
			nanosleep(&ts, NULL);
	}
	ck_assert_uint_gt(s->port, 0);
}

/* Wait for the exit; returns the whole stderr (free it). */
static char *server_wait(struct server *s)
{
	int st;
	char *log;

	ck_assert_int_eq(waitpid(s->pid, &st, 0), s->pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	log = slurp(s->log);
	unlink(s->log);
	return log;
}

/* Run curl; returns the HTTP status; the body goes to @body (may be NULL). */
static int curl(const struct server *s, const char *method, const char *data_arg, char *body, size_t body_size)
{
	char cmd[1024], out[64] = "";
	char bodyfile[] = "/tmp/test-testserver-body-XXXXXX";
	int fd = mkstemp(bodyfile);
	FILE *p;

	ck_assert_int_ge(fd, 0);
	close(fd);
	snprintf(cmd, sizeof(cmd),
	         "curl -s -m 20 -X %s -o %s -w '%%{http_code}' -H 'Content-Type: application/json' %s "
	         "http://127.0.0.1:%u/idmefv2",
	         method, bodyfile, data_arg ? data_arg : "", s->port);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(fgets(out, sizeof(out), p));
	pclose(p);
	if (body) {
		char *b = slurp(bodyfile);

		snprintf(body, body_size, "%s", b);
		free(b);
	}
	unlink(bodyfile);
	return atoi(out);
}

START_TEST(test_default_mode)
{
	static const char *const args[] = { "--count", "3", NULL };
	struct server s;
	char body[4096];
	char *log;

	server_start(&s, args);
	ck_assert_int_eq(curl(&s, "POST", "--data-binary @" VALID, NULL, 0), 204);
	ck_assert_int_eq(curl(&s, "POST", "--data-binary '{\"foo\":\"bar\"}'", body, sizeof(body)), 400);
	ck_assert_ptr_nonnull(strstr(body, "\"error\""));
	ck_assert_int_eq(curl(&s, "POST", "--data-binary '{bad'", NULL, 0), 400);
	log = server_wait(&s);
	ck_assert_ptr_nonnull(strstr(log, "INFO: valid 2.D.V05 message 056666c6-9c04-43dd-b6bf-3d99fe490b08"));
	ck_assert_ptr_nonnull(strstr(log, "INFO: invalid: 400"));
	ck_assert_ptr_nonnull(strstr(log, "\n3 requests: 1 valid, 2 invalid\n"));
	free(log);
}
END_TEST

START_TEST(test_compat_mode)
{
	static const char *const args[] = { "--compat", "--count", "3", NULL };
	struct server s;
	char body[4096];
	char *log;

	server_start(&s, args);
	ck_assert_int_eq(curl(&s, "GET", NULL, NULL, 0), 501);
	ck_assert_int_eq(curl(&s, "POST", "--data-binary @" VALID, body, sizeof(body)), 200);
	ck_assert_str_eq(body, "");
	ck_assert_int_eq(curl(&s, "POST", "--data-binary '{\"foo\":\"bar\"}'", body, sizeof(body)), 500);
	ck_assert_ptr_nonnull(strstr(body, "Version"));
	ck_assert_int_eq(curl(&s, "POST", "--data-binary '{bad'", body, sizeof(body)), 500);
	ck_assert_ptr_eq(strstr(body, "Invalid JSON: "), body);
	log = server_wait(&s);
	ck_assert_ptr_nonnull(strstr(log, "\n4 requests: 1 valid, 2 invalid\n"));
	free(log);
}
END_TEST

START_TEST(test_compat_schema_failure_pointer)
{
	static const char *const args[] = { "--compat", "--count", "1", "-l", "DEBUG", NULL };
	struct server s;
	char body[4096];
	char *log;

	server_start(&s, args);
	/* A V05 message whose Analyzer.IP is not an address: the pointer names it. */
	ck_assert_int_eq(curl(&s, "POST",
	                      "--data-binary '{\"Version\":\"2.D.V05\",\"ID\":\"056666c6-9c04-43dd-b6bf-3d99fe490b08\","
	                      "\"CreateTime\":\"1985-04-12T23:59:59.52Z\",\"Analyzer\":{\"Name\":\"x\",\"IP\":\"nope\"}}'",
	                      body, sizeof(body)), 500);
	ck_assert_ptr_eq(strstr(body, "/Analyzer/IP: "), body);
	log = server_wait(&s);
	ck_assert_ptr_nonnull(strstr(log, "DEBUG: POST /idmefv2 body: {\"Version\""));
	ck_assert_ptr_nonnull(strstr(log, "INFO: invalid: /Analyzer/IP: "));
	ck_assert_ptr_nonnull(strstr(log, "\n1 request: 0 valid, 1 invalid\n"));
	free(log);
}
END_TEST

START_TEST(test_sigterm_stops)
{
	static const char *const args[] = { "-l", "ERROR", NULL };
	static const char *const cargs[] = { "--compat", NULL };
	struct server s;
	char *log;

	server_start(&s, args);
	ck_assert_int_eq(kill(s.pid, SIGTERM), 0);
	log = server_wait(&s);
	ck_assert_ptr_nonnull(strstr(log, "\n0 requests: 0 valid, 0 invalid\n"));
	free(log);

	server_start(&s, cargs);
	ck_assert_int_eq(curl(&s, "POST", "--data-binary @" VALID, NULL, 0), 200);
	ck_assert_int_eq(kill(s.pid, SIGINT), 0);
	log = server_wait(&s);
	ck_assert_ptr_nonnull(strstr(log, "\n1 request: 1 valid, 0 invalid\n"));
	free(log);
}
END_TEST

START_TEST(test_usage)
{
	int st;

	st = system(IDMEFV2_TESTSERVER_PATH " --help | grep -q '^Usage: idmefv2-testserver'");
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	st = system(IDMEFV2_TESTSERVER_PATH " -l LOUD 2>/dev/null");
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 2);
	st = system(IDMEFV2_TESTSERVER_PATH " -p 70000 2>/dev/null");
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 2);
	st = system(IDMEFV2_TESTSERVER_PATH " --count 0 2>/dev/null");
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 2);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("idmefv2-testserver");
	TCase *tc = tcase_create("run");
	SRunner *sr;
	int failed;

	signal(SIGPIPE, SIG_IGN);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_default_mode);
	tcase_add_test(tc, test_compat_mode);
	tcase_add_test(tc, test_compat_schema_failure_pointer);
	tcase_add_test(tc, test_sigterm_stops);
	tcase_add_test(tc, test_usage);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
