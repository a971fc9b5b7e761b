/* SPDX-License-Identifier: Apache-2.0 */
/* Syslog delivery to sockets bound by the test: the exact line and priority. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <libgen.h>
#include <netinet/in.h>
#include <poll.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include <mozdef/mozdef.h>

#include "mdt-server.h"

static char tmpdir[256];
static char sockpath[300];
static int logfd = -1;

static void setup(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 5 };

	snprintf(tmpdir, sizeof(tmpdir), "%s/mozdef-syslog-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(sockpath, sizeof(sockpath), "%s/log", tmpdir);
	ck_assert_uint_lt(strlen(sockpath), sizeof(sun.sun_path));
	memcpy(sun.sun_path, sockpath, strlen(sockpath) + 1);
	logfd = socket(AF_UNIX, SOCK_DGRAM, 0);
	ck_assert_int_ge(logfd, 0);
	ck_assert_int_eq(bind(logfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	setsockopt(logfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static void teardown(void)
{
	close(logfd);
	unlink(sockpath);
	rmdir(tmpdir);
}

static void set(mozdef_client *c, const char *key, const char *value)
{
	char err[256] = "";

	ck_assert_msg(mozdef_client_set(c, key, value, err, sizeof(err)) == MOZDEF_OK, "%s", err);
}

static mozdef_client *syslog_client(const char *url, bool only)
{
	mozdef_client *c = NULL;

	ck_assert_int_eq(mozdef_client_new(url, &c, NULL, 0), MOZDEF_OK);
	set(c, "syslog.enabled", "true");
	set(c, "syslog.only", only ? "true" : "false");
	set(c, "syslog.socket", sockpath);
	return c;
}

/* One datagram, or "" if none comes within @ms. */
static char *recv_line(int fd, int ms)
{
	static char buf[65536];
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	buf[0] = '\0';
	if (poll(&p, 1, ms) != 1)
		return buf;
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	return buf;
}

static char *serialized(const mozdef_event *ev)
{
	char *text = NULL;

	ck_assert_int_eq(mozdef_event_serialize(ev, &text, NULL, NULL, 0), MOZDEF_OK);
	return text;
}

/* "<PRI>Mmm dd HH:MM:SS " + rest, RFC 3164 as local daemons take it. */
static void assert_3164(const char *line, int pri, const char *rest)
{
	char head[16];
	regex_t re;
	int n = snprintf(head, sizeof(head), "<%d>", pri);

	ck_assert_msg(strncmp(line, head, (size_t)n) == 0, "line %s", line);
	ck_assert_int_eq(regcomp(&re, "^[A-Z][a-z]{2} [ 1-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-6][0-9] $",
	                         REG_EXTENDED | REG_NOSUB),
	                 0);
	char stamp[17];
	snprintf(stamp, sizeof(stamp), "%.16s", line + n);
	ck_assert_msg(regexec(&re, stamp, 0, NULL, 0) == 0, "timestamp in %s", line);
	regfree(&re);
	ck_assert_str_eq(line + n + 16, rest);
}

START_TEST(test_line_and_priority_each_severity)
{
	mozdef_client *c = syslog_client(NULL, true);
	mozdef_event *ev = mozdef_event_new(MOZDEF_EVENT_GENERIC);
	mozdef_result r;
	char rest[4096];

	set(c, "syslog.ident", "mozdef-test");
	set(c, "syslog.facility", "local0");
	mozdef_event_set_summary(ev, "a test event");
	mozdef_event_set_timestamp(ev, "2015-03-06T15:05:48.226939+00:00");
	mozdef_event_add_tag(ev, "generic");
	for (int sev = 0; sev < 8; sev++) {
		char *json;
		mozdef_event_set_severity(ev, (mozdef_severity)sev);
		json = serialized(ev);
		ck_assert_int_eq(mozdef_client_send(c, ev, &r), MOZDEF_OK);
		ck_assert_uint_eq(r.attempts, 0);
		snprintf(rest, sizeof(rest), "mozdef-test: %s", json);
		/* local0 is 16; DEBUG..EMERGENCY are levels 7..0. */
		assert_3164(recv_line(logfd, 5000), 16 * 8 + (7 - sev), rest);
		free(json);
	}
	/* Facility by name, case-insensitively; the default ident is the program's base name. */
	set(c, "syslog.facility", "AUTH");
	set(c, "syslog.ident", "");
	mozdef_event_set_severity(ev, MOZDEF_SEVERITY_WARNING);
	ck_assert_int_eq(mozdef_client_send(c, ev, &r), MOZDEF_OK);
	{
		char *json = serialized(ev);
		char prog[256];
		snprintf(prog, sizeof(prog), "%s", program_invocation_name);
		snprintf(rest, sizeof(rest), "%s: %s", basename(prog), json);
		assert_3164(recv_line(logfd, 5000), 4 * 8 + 4, rest);
		free(json);
	}
	mozdef_event_free(ev);
	mozdef_client_free(c);
}
END_TEST

/* The reference README's line, rebuilt: same fields, today's labels. */
START_TEST(test_readme_line)
{
	char path[1024], text[2048];
	FILE *f;
	const char *json;
	struct json_object *expected, *got, *details;
	mozdef_client *c = syslog_client(NULL, true);
	mozdef_event *ev = mozdef_event_new(MOZDEF_EVENT_GENERIC);
	char *line;

	snprintf(path, sizeof(path), "%s/syslog-line-readme-example.txt", MOZDEF_TEST_DATA);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(text, sizeof(text), f));
	fclose(f);
	json = strstr(text, "mozdef_client.py: ");
	ck_assert_ptr_nonnull(json);
	expected = json_tokener_parse(json + strlen("mozdef_client.py: "));
	ck_assert_ptr_nonnull(expected);
	/* Since 2017 the label is CRITICAL; since 2018 source is always present. */
	json_object_object_add(expected, "severity", json_object_new_string("CRITICAL"));
	json_object_object_add(expected, "source", NULL);

	set(c, "syslog.ident", "mozdef_client.py");
	mozdef_event_set_summary(ev, "a test event");
	mozdef_event_set_timestamp(ev, "2015-03-06T15:05:48.226939+00:00");
	mozdef_event_set_hostname(ev, "hostname");
	mozdef_event_set_processname(ev, "mozdef_client.py");
	mozdef_event_set_processid(ev, 8095);
	mozdef_event_set_severity(ev, MOZDEF_SEVERITY_CRITICAL);
	mozdef_event_add_tag(ev, "generic");
	mozdef_event_add_tag(ev, "test");
	details = json_object_new_object();
	json_object_object_add(details, "two", json_object_new_string("two"));
	json_object_object_add(details, "one", json_object_new_int(1));
	mozdef_event_set_details(ev, details);
	ck_assert_int_eq(mozdef_client_send(c, ev, NULL), MOZDEF_OK);
	line = recv_line(logfd, 5000);
	ck_assert_int_eq(strncmp(line, "<10>", 4), 0); /* user.crit: the reference always sent user.info (<14>) */
	json = strstr(line, "mozdef_client.py: ");
	ck_assert_ptr_nonnull(json);
	got = json_tokener_parse(json + strlen("mozdef_client.py: "));
	ck_assert_ptr_nonnull(got);
	ck_assert_msg(json_object_equal(got, expected), "got %s", json_object_to_json_string(got));
	json_object_put(got);
	json_object_put(expected);
	mozdef_event_free(ev);
	mozdef_client_free(c);
}
END_TEST

/* reference test_msg and test_compliance: syslog-only sends validate first. */
START_TEST(test_only_syslog_validates)
{
	mozdef_client *c = syslog_client(NULL, true);
	mozdef_event *ev = mozdef_event_new(MOZDEF_EVENT_GENERIC);
	mozdef_event *comp = mozdef_event_new(MOZDEF_EVENT_COMPLIANCE);
	mozdef_result r;
	char path[1024];

	ck_assert_int_eq(mozdef_client_send(c, ev, &r), MOZDEF_ERR_INVALID);
	ck_assert_str_eq(r.message, "summary: missing");
	ck_assert_str_eq(recv_line(logfd, 100), "");
	mozdef_event_set_summary(ev, "hi");
	ck_assert_int_eq(mozdef_client_send(c, ev, &r), MOZDEF_OK);
	ck_assert_ptr_nonnull(strstr(recv_line(logfd, 5000), "\"summary\":\"hi\""));
	mozdef_event_add_tag(ev, "tag1");
	mozdef_event_set_detail_string(ev, "username", "joe", NULL, 0);
	ck_assert_int_eq(mozdef_client_send(c, ev, &r), MOZDEF_OK);
	ck_assert_ptr_nonnull(strstr(recv_line(logfd, 5000), "\"details\":{\"username\":\"joe\"}"));

	mozdef_event_set_summary(comp, "compliance");
	snprintf(path, sizeof(path), "%s/compliance-details-mozdef_client-test.json", MOZDEF_TEST_DATA);
	mozdef_event_set_details(comp, json_object_from_file(path));
	ck_assert_int_eq(mozdef_client_send(c, comp, &r), MOZDEF_OK);
	ck_assert_ptr_nonnull(strstr(recv_line(logfd, 5000), "\"category\":\"complianceitems\""));
	mozdef_event_free(comp);
	mozdef_event_free(ev);
	mozdef_client_free(c);
}
END_TEST

/* syslog + HTTP; syslog only with a URL; syslog.only without syslog.enabled. */
START_TEST(test_syslog_and_http_routes)
{
	struct mdt_server *srv = mdt_server_start();
	mozdef_client *c = syslog_client(mdt_server_url(srv, "/events"), false);
	mozdef_event *ev = mozdef_event_new(MOZDEF_EVENT_GENERIC);
	mozdef_result r;

	mozdef_event_set_summary(ev, "both");
	ck_assert_int_eq(mozdef_client_send(c, ev, &r), MOZDEF_OK);
	ck_assert_int_eq(r.http_status, 200);
	ck_assert_ptr_nonnull(strstr(recv_line(logfd, 5000), "\"summary\":\"both\""));
	ck_assert_uint_eq(mdt_server_count(srv), 1);

	set(c, "syslog.only", "true");
	ck_assert_int_eq(mozdef_client_send(c, ev, &r), MOZDEF_OK);
	ck_assert_ptr_nonnull(strstr(recv_line(logfd, 5000), "\"summary\":\"both\""));
	ck_assert_uint_eq(mdt_server_count(srv), 1);

	/* As in the reference, only_syslog alone changes nothing. */
	set(c, "syslog.enabled", "false");
	ck_assert_int_eq(mozdef_client_send(c, ev, &r), MOZDEF_OK);
	ck_assert_str_eq(recv_line(logfd, 100), "");
	ck_assert_uint_eq(mdt_server_count(srv), 2);

	/* A syslog failure ends the send before HTTP. */
	set(c, "syslog.enabled", "true");
	set(c, "syslog.only", "false");
	set(c, "syslog.socket", "/nonexistent/log");
	ck_assert_int_eq(mozdef_client_send(c, ev, &r), MOZDEF_ERR_SYSLOG);
	ck_assert_str_eq(r.message, "syslog: /nonexistent/log: No such file or directory");
	ck_assert_uint_eq(mdt_server_count(srv), 2);
	mozdef_event_free(ev);
	mozdef_client_free(c);
	mdt_server_stop(srv);
}
END_TEST

static unsigned async_calls;
static mozdef_result async_last;

static void on_done(const mozdef_result *r, void *opaque, void *user)
{
	(void)user;
	ck_assert_ptr_eq(opaque, &async_calls);
	async_calls++;
	async_last = *r;
}

START_TEST(test_async_syslog_only)
{
	mozdef_client *c = syslog_client(NULL, true);
	mozdef_event *ev = mozdef_event_new(MOZDEF_EVENT_GENERIC);
	char err[256] = "";

	mozdef_client_set_callback(c, on_done, NULL);
	mozdef_event_set_summary(ev, "async");
	async_calls = 0;
	ck_assert_int_eq(mozdef_client_send_async(c, ev, &async_calls, err, sizeof(err)), MOZDEF_OK);
	ck_assert_int_eq(mozdef_client_flush(c, 1000), MOZDEF_OK);
	ck_assert_uint_eq(async_calls, 1);
	ck_assert_int_eq(async_last.error, MOZDEF_OK);
	ck_assert_ptr_nonnull(strstr(recv_line(logfd, 5000), "\"summary\":\"async\""));
	set(c, "syslog.socket", "/nonexistent/log");
	ck_assert_int_eq(mozdef_client_send_async(c, ev, &async_calls, err, sizeof(err)), MOZDEF_ERR_SYSLOG);
	ck_assert_str_eq(err, "syslog: /nonexistent/log: No such file or directory");
	ck_assert_uint_eq(async_calls, 1);
	mozdef_event_free(ev);
	mozdef_client_free(c);
}
END_TEST

START_TEST(test_rfc5424)
{
	mozdef_client *c = syslog_client(NULL, true);
	mozdef_event *ev = mozdef_event_new(MOZDEF_EVENT_GENERIC);
	char *json, *line;
	char expected_tail[4096], host[256];
	regex_t re;

	set(c, "syslog.format", "5424");
	set(c, "syslog.ident", "mozdef-test");
	set(c, "syslog.facility", "daemon");
	mozdef_event_set_summary(ev, "structured");
	mozdef_event_set_timestamp(ev, "2026-01-02T03:04:05.000006+00:00");
	mozdef_event_set_severity(ev, MOZDEF_SEVERITY_ERROR);
	json = serialized(ev);
	/* The event's default hostname is the one the header carries. */
	snprintf(host, sizeof(host), "%s", mozdef_event_get_hostname(ev));
	ck_assert_int_eq(mozdef_client_send(c, ev, NULL), MOZDEF_OK);
	line = recv_line(logfd, 5000);
	ck_assert_int_eq(regcomp(&re, "^<27>1 [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{6}\\+00:00 ",
	                         REG_EXTENDED | REG_NOSUB),
	                 0);
	ck_assert_msg(regexec(&re, line, 0, NULL, 0) == 0, "line %s", line);
	regfree(&re);
	snprintf(expected_tail, sizeof(expected_tail), " %s mozdef-test %ld - - %s", host, (long)getpid(), json);
	ck_assert_str_eq(line + strlen("<27>1 2026-01-01T00:00:00.000000+00:00"), expected_tail);
	free(json);
	mozdef_event_free(ev);
	mozdef_client_free(c);
}
END_TEST

static int bind_inet(int type, unsigned *ret_port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, type, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*ret_port = ntohs(sin.sin_port);
	return fd;
}

START_TEST(test_remote_udp_and_tcp)
{
	mozdef_client *c = NULL;
	mozdef_event *ev = mozdef_event_new(MOZDEF_EVENT_GENERIC);
	unsigned port;
	char spec[64], rest[4096];
	char *json;
	int ufd = bind_inet(SOCK_DGRAM, &port), tfd, conn;
	char buf[8192];
	size_t got = 0;

	ck_assert_int_eq(mozdef_client_new(NULL, &c, NULL, 0), MOZDEF_OK);
	set(c, "syslog.enabled", "true");
	set(c, "syslog.only", "true");
	set(c, "syslog.ident", "mozdef-test");
	snprintf(spec, sizeof(spec), "127.0.0.1:%u", port);
	set(c, "syslog.server", spec);
	mozdef_event_set_summary(ev, "remote");
	mozdef_event_set_timestamp(ev, "2026-01-02T03:04:05.000006+00:00");
	mozdef_event_set_severity(ev, MOZDEF_SEVERITY_NOTICE);
	json = serialized(ev);
	ck_assert_int_eq(mozdef_client_send(c, ev, NULL), MOZDEF_OK);
	/* A remote collector needs the host name after the timestamp. */
	snprintf(rest, sizeof(rest), "%s mozdef-test: %s", mozdef_event_get_hostname(ev), json);
	assert_3164(recv_line(ufd, 5000), 8 + 5, rest);
	close(ufd);

	tfd = bind_inet(SOCK_STREAM, &port);
	ck_assert_int_eq(listen(tfd, 4), 0);
	snprintf(spec, sizeof(spec), "127.0.0.1:%u", port);
	set(c, "syslog.server", spec);
	set(c, "syslog.protocol", "tcp");
	ck_assert_int_eq(mozdef_client_send(c, ev, NULL), MOZDEF_OK);
	conn = accept(tfd, NULL, NULL);
	ck_assert_int_ge(conn, 0);
	/* RFC 6587 octet counting: "LEN SP MSG". */
	while (got < sizeof(buf) - 1) {
		struct pollfd p = { .fd = conn, .events = POLLIN };
		ssize_t n;
		if (poll(&p, 1, 500) != 1)
			break;
		n = recv(conn, buf + got, sizeof(buf) - 1 - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	char *sp = strchr(buf, ' ');
	ck_assert_ptr_nonnull(sp);
	ck_assert_uint_eq(strtoul(buf, NULL, 10), strlen(sp + 1));
	assert_3164(sp + 1, 8 + 5, rest);
	close(conn);
	close(tfd);

	/* Nobody listening. */
	snprintf(spec, sizeof(spec), "127.0.0.1:%u", mdt_free_port());
	set(c, "syslog.server", spec);
	ck_assert_int_eq(mozdef_client_send(c, ev, NULL), MOZDEF_ERR_SYSLOG);
	free(json);
	mozdef_event_free(ev);
	mozdef_client_free(c);
}
END_TEST

static Suite *syslog_suite(void)
{
	Suite *s = suite_create("mozdef-syslog");
	TCase *tc = tcase_create("syslog");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_line_and_priority_each_severity);
	tcase_add_test(tc, test_readme_line);
	tcase_add_test(tc, test_only_syslog_validates);
	tcase_add_test(tc, test_syslog_and_http_routes);
	tcase_add_test(tc, test_async_syslog_only);
	tcase_add_test(tc, test_rfc5424);
	tcase_add_test(tc, test_remote_udp_and_tcp);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(syslog_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
