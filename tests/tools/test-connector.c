/* SPDX-License-Identifier: Apache-2.0 */
/*
 * idmefv2-connector run for real: command line, --check-config on the Python
 * connectors' sample files, --once, a tailed file into idmefv2-testserver with
 * counts matching on both sides, restart without loss or repeat, a server
 * down (spool, then delivery after a restart), signals, Suricata's Unix socket.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "proc-harness.h"

#define DATA SHARED_CONNECTORS_DIR "/daemon"
#define EVE DATA "/eve-300.ndjson"
#define EVE_LINES 300
#define EVE_ALERTS 231 /* converted by the suricata template (the others are not alerts) */

static void write_file(const char *path, const char *mode, const char *text, size_t len)
{
	FILE *f = fopen(path, mode);

	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	ck_assert_uint_eq(fwrite(text, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

static char *make_dir(void)
{
	char *dir = strdup("/tmp/test-connector-XXXXXX");

	ck_assert_ptr_nonnull(mkdtemp(dir));
	return dir;
}

/* Files of @p dir and its subdirectories, any name (a spool's layout is its own). */
static int count_files(const char *dir)
{
	char cmd[1024], out[32] = "";
	FILE *p;

	snprintf(cmd, sizeof(cmd), "find '%s' -type f 2>/dev/null | wc -l", dir);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(fgets(out, sizeof(out), p));
	pclose(p);
	return atoi(out);
}

static bool wait_text(const char *path, const char *text, int seconds)
{
	for (int i = 0; i < seconds * 20; i++) {
		char *s = ph_slurp(path);
		bool found = strstr(s, text) != NULL;

		free(s);
		if (found)
			return true;
		ph_sleep_ms(50);
	}
	return false;
}

/* Run a command line; its exit status. */
static int run(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	ck_assert(WIFEXITED(st));
	return WEXITSTATUS(st);
}

struct daemon {
	pid_t pid;
	char log[512];
};

/* Start the daemon in the foreground; wait until it says it started. */
static void daemon_start(struct daemon *d, const char *dir, const char *tool, const char *conf)
{
	char errpath[512];

	snprintf(d->log, sizeof(d->log), "%s/daemon.log", dir);
	snprintf(errpath, sizeof(errpath), "%s/daemon.stderr", dir);
	d->pid = ph_spawn((const char *const[]){ IDMEFV2_CONNECTOR_PATH, tool, "-c", conf, "--foreground", NULL },
	                  &(struct ph_io){ .err = errpath, .err_append = true, .mode = 0644 });
	if (!wait_text(d->log, "connector started", 20)) {
		char *err = ph_slurp(errpath);

		ck_abort_msg("the daemon did not start: %s", err);
	}
}

/* SIGTERM and wait; the exit status. */
static int daemon_stop(struct daemon *d)
{
	int st = 0;

	ck_assert_int_eq(kill(d->pid, SIGTERM), 0);
	for (int i = 0; i < 600; i++) {
		pid_t r = waitpid(d->pid, &st, WNOHANG);

		if (r == d->pid)
			break;
		ck_assert_int_eq(r, 0);
		ph_sleep_ms(50);
		ck_assert_msg(i < 599, "the daemon did not stop within 30 s");
	}
	ck_assert(WIFEXITED(st));
	return WEXITSTATUS(st);
}

struct server {
	pid_t pid;
	unsigned port;
	char log[512];
};

/* idmefv2-testserver on @p port (0: any); waits for its "listening on" line. */
static void server_start(struct server *s, const char *dir, unsigned port)
{
	char portbuf[16];

	snprintf(s->log, sizeof(s->log), "%s/server-%u.log", dir, port);
	snprintf(portbuf, sizeof(portbuf), "%u", port);
	s->pid = fork();
	ck_assert_int_ge(s->pid, 0);
	if (s->pid == 0) {
		int fd = open(s->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(fd, 2);
		execl(IDMEFV2_TESTSERVER_PATH, IDMEFV2_TESTSERVER_PATH, "-p", portbuf, (char *)NULL);
		_exit(127);
	}
	ck_assert(wait_text(s->log, "listening on http://127.0.0.1:", 20));
	{
		char *log = ph_slurp(s->log);

		s->port = (unsigned)atoi(strstr(log, "listening on http://127.0.0.1:") + 30);
		free(log);
	}
	ck_assert_uint_gt(s->port, 0);
}

/* SIGTERM; returns its whole log, summary included (free it). */
static char *server_stop(struct server *s)
{
	int st;

	kill(s->pid, SIGTERM);
	ck_assert_int_eq(waitpid(s->pid, &st, 0), s->pid);
	return ph_slurp(s->log);
}

static unsigned free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

/* A Suricata configuration tailing DIR/eve.json into @p url. */
static void suricata_conf(const char *dir, const char *url, const char *extra)
{
	char path[512], text[4096];

	snprintf(path, sizeof(path), "%s/suricata.conf", dir);
	snprintf(text, sizeof(text),
	         "[logging]\nlevel = DEBUG\nfile = %s/daemon.log\n\n"
	         "[idmefv2]\nurl = %s\n\n"
	         "[suricata]\nfiletype = regular\nfilename = %s/eve.json\n\n"
	         "[state]\ndir = %s/state\n\n%s",
	         dir, url, dir, dir, extra ? extra : "");
	write_file(path, "w", text, strlen(text));
}

/* Append lines [from, to) of the corpus to DIR/eve.json, in uneven chunks (lines cut in two). */
static void append_eve(const char *dir, int from, int to)
{
	char *all = ph_slurp(EVE), *s = all, path[512];
	int line = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/eve.json", dir);
	f = fopen(path, "a");
	ck_assert_ptr_nonnull(f);
	while (*s && line < to) {
		char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) + 1 : strlen(s);

		if (line >= from) {
			size_t half = len / 2;

			fwrite(s, 1, half, f);
			fflush(f);
			if (line % 50 == 0)
				ph_sleep_ms(20); /* the tailer sees a partial line and must wait for its end */
			fwrite(s + half, 1, len - half, f);
			fflush(f);
		}
		s += len;
		line++;
	}
	fclose(f);
	free(all);
}

START_TEST(test_usage)
{
	char *dir = make_dir(), path[512], *out;

	snprintf(path, sizeof(path), "%s/out", dir);
	ck_assert_int_eq(run("'%s' >'%s' 2>&1", IDMEFV2_CONNECTOR_PATH, path), 2);
	out = ph_slurp(path);
	ck_assert_msg(strstr(out, "missing TOOL (one of: clamav, kismet, modsecurity, prometheus, suricata, wazuh, "
	                          "zabbix, zoneminder)"),
	              "%s", out);
	free(out);
	ck_assert_int_eq(run("'%s' snort -c x >'%s' 2>&1", IDMEFV2_CONNECTOR_PATH, path), 2);
	out = ph_slurp(path);
	ck_assert_msg(strstr(out, "unknown tool 'snort'"), "%s", out);
	free(out);
	ck_assert_int_eq(run("'%s' suricata >'%s' 2>&1", IDMEFV2_CONNECTOR_PATH, path), 2);
	out = ph_slurp(path);
	ck_assert_msg(strstr(out, "missing -c FILE"), "%s", out);
	free(out);
	ck_assert_int_eq(run("'%s' suricata -c '%s/none.conf' --check-config >'%s' 2>&1", IDMEFV2_CONNECTOR_PATH,
	                     dir, path),
	                 2);
	out = ph_slurp(path);
	ck_assert_msg(strstr(out, "none.conf: No such file or directory"), "%s", out);
	free(out);
	ck_assert_int_eq(run("'%s' --list-tools >'%s' 2>&1", IDMEFV2_CONNECTOR_PATH, path), 0);
	out = ph_slurp(path);
	ck_assert_msg(strstr(out, "zabbix ") && strstr(out, "suricata ") && strstr(out, "clamav "), "%s", out);
	free(out);
	ck_assert_int_eq(run("'%s' --help >'%s' 2>&1", IDMEFV2_CONNECTOR_PATH, path), 0);
	out = ph_slurp(path);
	ck_assert_msg(strstr(out, "--check-config") && strstr(out, "USR1"), "%s", out);
	free(out);
	ph_remove_tree(dir);
	free(dir);
}
END_TEST

/* Every Python sample configuration passes --check-config unchanged. */
START_TEST(test_check_samples)
{
	static const char *const tools[] = { "clamav", "kismet", "modsecurity", "prometheus",
		                             "suricata", "wazuh", "zabbix", "zoneminder" };
	char *dir = make_dir(), path[512], *out;

	snprintf(path, sizeof(path), "%s/out", dir);
	for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
		char expect[128];

		int rc = run("'%s' %s -c '%s/%s-idmefv2.sample.conf' --check-config >'%s' 2>&1",
		             IDMEFV2_CONNECTOR_PATH, tools[i], DATA, tools[i], path);

		out = ph_slurp(path);
		ck_assert_msg(rc == 0, "%s: %s", tools[i], out);
		snprintf(expect, sizeof(expect), "OK: %s connector", tools[i]);
		ck_assert_msg(strstr(out, expect) && strstr(out, "template built-in, Version 2.D.V08"), "%s", out);
		free(out);
	}
	/* The connector's old Suricata format is named as such. */
	ck_assert_int_eq(run("'%s' suricata -c '%s/legacy-fdechelle-suricata-idmefv2.conf' --check-config >'%s' 2>&1",
	                     IDMEFV2_CONNECTOR_PATH, DATA, path),
	                 2);
	out = ph_slurp(path);
	ck_assert_msg(strstr(out, "[suricata] config (suricata.yaml) is the connector's old format"), "%s", out);
	free(out);
	ph_remove_tree(dir);
	free(dir);
}
END_TEST

/* Configuration errors name the file, the section and the key. */
START_TEST(test_check_errors)
{
	static const struct {
		const char *conf;
		const char *message;
	} cases[] = {
		{ "[suricata]\nfiletype = regular\nfilename = /x\n", "[idmefv2] url is required" },
		{ "[idmefv2]\nurl = http://127.0.0.1:1/\n[suricata]\nfiletype = regular\n", "[suricata] filename is required" },
		{ "[idmefv2]\nurl = http://127.0.0.1:1/\n[suricata]\nfiletype = pipe\nfilename = /x\n",
		  "[suricata] filetype: 'pipe' is not regular or unix_stream" },
		{ "[logging]\nlevel = LOUD\n", "[logging] level: 'LOUD' is not DEBUG, INFO, WARNING, ERROR or CRITICAL" },
		{ "[idmefv2]\nurl = http://127.0.0.1:1/\nverify = maybe\n[suricata]\nfiletype = regular\nfilename = /x\n",
		  "[idmefv2] verify: 'maybe' is not a boolean" },
		{ "[idmefv2]\nurl = gopher://x/\n[suricata]\nfiletype = regular\nfilename = /x\n", "[idmefv2] url:" },
		{ "[idmefv2]\nurl = http://127.0.0.1:1/\nversion = 9.9\n[suricata]\nfiletype = regular\nfilename = /x\n",
		  "[idmefv2] version:" },
		{ "[idmefv2]\nurl = http://127.0.0.1:1/\n[transport]\nretry.max = many\n[suricata]\nfiletype = regular\n"
		  "filename = /x\n",
		  "[transport] retry.max:" },
		{ "[idmefv2]\nurl = http://127.0.0.1:1/\n[transport]\nno.such = 1\n[suricata]\nfiletype = regular\n"
		  "filename = /x\n",
		  "[transport] no.such:" },
		{ "[idmefv2]\nurl = http://127.0.0.1:1/\n[input]\nmax_line = -5\n[suricata]\nfiletype = regular\n"
		  "filename = /x\n",
		  "[input] max_line: '-5' is not a whole number" },
		{ "[idmefv2]\nurl = http://127.0.0.1:1/\ntemplate = /nonexistent.json\n[suricata]\nfiletype = regular\n"
		  "filename = /x\n",
		  "template /nonexistent.json: No such file or directory" },
		{ "[idmefv2]\nurl = http://127.0.0.1:1/\nthis line is wrong\n", ":3: syntax error" },
	};
	char *dir = make_dir(), conf[512], path[512], *out;

	snprintf(conf, sizeof(conf), "%s/c.conf", dir);
	snprintf(path, sizeof(path), "%s/out", dir);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_file(conf, "w", cases[i].conf, strlen(cases[i].conf));
		ck_assert_int_eq(run("'%s' suricata -c '%s' --check-config >'%s' 2>&1", IDMEFV2_CONNECTOR_PATH, conf,
		                     path),
		                 2);
		out = ph_slurp(path);
		ck_assert_msg(strstr(out, cases[i].message), "case %zu: expected '%s' in: %s", i, cases[i].message, out);
		free(out);
	}
	/* A misspelt key is a warning, not an error. */
	{
		static const char text[] = "[idmefv2]\nurl = http://127.0.0.1:1/\nlogin_name = x\n[suricata]\n"
		                           "filetype = regular\nfilename = /x\n";

		write_file(conf, "w", text, strlen(text));
		ck_assert_int_eq(run("'%s' suricata -c '%s' --check-config >'%s' 2>&1", IDMEFV2_CONNECTOR_PATH, conf,
		                     path),
		                 0);
		out = ph_slurp(path);
		ck_assert_msg(strstr(out, "WARNING suricata-connector:") &&
		                      strstr(out, "[idmefv2] login_name is not a key of the suricata connector"),
		              "%s", out);
		free(out);
	}
	ph_remove_tree(dir);
	free(dir);
}
END_TEST

START_TEST(test_once)
{
	char *dir = make_dir(), out[512], err[512], *text, *errtext;
	int lines = 0;

	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(err, sizeof(err), "%s/err", dir);
	ck_assert_int_eq(run("'%s' suricata --once '%s' >'%s' 2>'%s'", IDMEFV2_CONNECTOR_PATH, EVE, out, err), 0);
	text = ph_slurp(out);
	for (char *s = text, *nl; (nl = strchr(s, '\n')); s = nl + 1) {
		struct json_object *o, *v;

		*nl = '\0';
		o = json_tokener_parse(s);
		ck_assert_msg(o != NULL, "%s", s);
		ck_assert(json_object_object_get_ex(o, "Version", &v));
		ck_assert_str_eq(json_object_get_string(v), "2.D.V08");
		json_object_put(o);
		lines++;
	}
	free(text);
	ck_assert_int_eq(lines, EVE_ALERTS);
	errtext = ph_slurp(err);
	ck_assert_msg(strstr(errtext, "300 alerts: 231 converted, 69 filtered, 0 malformed, 0 invalid"), "%s", errtext);
	free(errtext);
	/* A malformed line: reported with its line number, the run goes on, exit 1. */
	{
		char in[512];
		static const char bad[] = "{\"event_type\":\"alert\",\n";

		snprintf(in, sizeof(in), "%s/in.json", dir);
		text = ph_slurp(EVE);
		write_file(in, "w", text, strlen(text));
		write_file(in, "a", bad, strlen(bad));
		write_file(in, "a", text, strchr(text, '\n') - text + 1);
		free(text);
		ck_assert_int_eq(run("'%s' suricata --once '%s' >'%s' 2>'%s'", IDMEFV2_CONNECTOR_PATH, in, out, err), 1);
		errtext = ph_slurp(err);
		ck_assert_msg(strstr(errtext, "in.json:301: malformed JSON") &&
		                      strstr(errtext, "302 alerts: 232 converted, 69 filtered, 1 malformed, 0 invalid"),
		              "%s", errtext);
		free(errtext);
	}
	ph_remove_tree(dir);
	free(dir);
}
END_TEST

/* The end-to-end proof: a tailed file into idmefv2-testserver, counts equal on both sides. */
START_TEST(test_tail_to_testserver)
{
	char *dir = make_dir(), url[128], *log, *slog, expect[256];
	struct server s;
	struct daemon d;
	int valid = 0;

	server_start(&s, dir, 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", s.port);
	suricata_conf(dir, url, "[input]\nfrom_beginning = true\n");
	append_eve(dir, 0, 100);
	daemon_start(&d, dir, "suricata", strcat(strcpy(url, dir), "/suricata.conf"));
	append_eve(dir, 100, EVE_LINES);
	/* All delivered: the server has logged every valid message. */
	for (int i = 0; i < 400 && valid < EVE_ALERTS; i++) {
		char *sl = ph_slurp(s.log);

		valid = 0;
		for (char *p = sl; (p = strstr(p, "INFO: valid 2.D.V08 message")); p++)
			valid++;
		free(sl);
		if (valid < EVE_ALERTS)
			ph_sleep_ms(50);
	}
	ck_assert_int_eq(valid, EVE_ALERTS);
	kill(d.pid, SIGUSR1);
	ck_assert(wait_text(d.log, "counters: read 300, converted 231, filtered 69, malformed 0, invalid 0, sent 231, "
	                           "failed 0",
	                    10));
	ck_assert_int_eq(daemon_stop(&d), 0);
	log = ph_slurp(d.log);
	ck_assert_msg(strstr(log, "stopped: read 300, converted 231, filtered 69, malformed 0, invalid 0, sent 231"),
	              "%s", log);
	ck_assert_msg(strstr(log, "eve.json: lines 300"), "%s", log);
	free(log);
	slog = server_stop(&s);
	snprintf(expect, sizeof(expect), "\n%d requests: %d valid, 0 invalid\n", EVE_ALERTS, EVE_ALERTS);
	ck_assert_msg(strstr(slog, expect), "%s", slog);
	free(slog);
	ph_remove_tree(dir);
	free(dir);
}
END_TEST

/* Stopped between two batches of lines: the restart sends the new lines only, nothing twice. */
START_TEST(test_restart_resumes)
{
	char *dir = make_dir(), url[600], out[512], conf[512];
	struct daemon d;

	snprintf(out, sizeof(out), "%s/out", dir);
	mkdir(out, 0755);
	snprintf(url, sizeof(url), "file://%s", out);
	suricata_conf(dir, url, NULL);
	snprintf(conf, sizeof(conf), "%s/suricata.conf", dir);
	append_eve(dir, 0, 20); /* before the first start: not read (the tail starts at the end) */
	daemon_start(&d, dir, "suricata", conf);
	append_eve(dir, 20, 120);
	ck_assert_int_eq(ph_wait_count_json(out, 76, 20), 76); /* lines 20-119 hold 76 alerts */
	ck_assert_int_eq(daemon_stop(&d), 0);
	append_eve(dir, 120, 200); /* while stopped */
	daemon_start(&d, dir, "suricata", conf);
	append_eve(dir, 200, EVE_LINES);
	/* Alerts of lines 20-299: 231 minus the 16 of lines 0-19. */
	ck_assert_int_eq(ph_wait_count_json(out, 215, 20), 215);
	ph_sleep_ms(300);
	ck_assert_int_eq(ph_count_json(out), 215);
	ck_assert_int_eq(daemon_stop(&d), 0);
	ph_remove_tree(dir);
	free(dir);
}
END_TEST

/* The server is down: nothing is lost; the spool (on by default) delivers after a restart. */
START_TEST(test_server_down_spools)
{
	char *dir = make_dir(), url[128], conf[512], spool[512], *slog, expect[128];
	unsigned port = free_port();
	struct daemon d;
	struct server s;

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", port);
	suricata_conf(dir, url, "[transport]\nretry.backoff_ms = 50\nretry.backoff_max_ms = 200\nstop.flush_timeout_ms = 300\n");
	snprintf(conf, sizeof(conf), "%s/suricata.conf", dir);
	snprintf(spool, sizeof(spool), "%s/state/spool", dir);
	daemon_start(&d, dir, "suricata", conf);
	append_eve(dir, 0, 20); /* 16 alerts */
	ck_assert(wait_text(d.log, "read 20", 1) || true);
	ph_sleep_ms(1000);
	ck_assert_int_eq(daemon_stop(&d), 0);
	{
		char *log = ph_slurp(d.log);

		ck_assert_msg(strstr(log, "sent 0"), "%s", log);
		free(log);
	}
	ck_assert_int_ge(count_files(spool), 16);
	/* The server comes back on its port; the restarted daemon replays the spool. */
	server_start(&s, dir, port);
	daemon_start(&d, dir, "suricata", conf);
	for (int i = 0; i < 400; i++) {
		char *sl = ph_slurp(s.log);
		int valid = 0;

		for (char *p = sl; (p = strstr(p, "INFO: valid 2.D.V08 message")); p++)
			valid++;
		free(sl);
		if (valid >= 16)
			break;
		ph_sleep_ms(50);
	}
	ck_assert_int_eq(daemon_stop(&d), 0);
	slog = server_stop(&s);
	snprintf(expect, sizeof(expect), "\n16 requests: 16 valid, 0 invalid\n");
	ck_assert_msg(strstr(slog, expect), "%s", slog);
	free(slog);
	ph_remove_tree(dir);
	free(dir);
}
END_TEST

START_TEST(test_signals)
{
	char *dir = make_dir(), url[600], out[512], conf[512], moved[512], *log;
	struct daemon d;

	snprintf(out, sizeof(out), "%s/out", dir);
	mkdir(out, 0755);
	snprintf(url, sizeof(url), "file://%s", out);
	suricata_conf(dir, url, NULL);
	snprintf(conf, sizeof(conf), "%s/suricata.conf", dir);
	daemon_start(&d, dir, "suricata", conf);
	/* SIGHUP: after logrotate's rename, a new file at the configured path. */
	snprintf(moved, sizeof(moved), "%s/daemon.log.1", dir);
	ck_assert_int_eq(rename(d.log, moved), 0);
	kill(d.pid, SIGHUP);
	ck_assert(wait_text(d.log, "SIGHUP: log file reopened", 10));
	append_eve(dir, 0, 10);
	ck_assert_int_eq(ph_wait_count_json(out, 9, 10), 9);
	kill(d.pid, SIGUSR1);
	ck_assert(wait_text(d.log, "counters: read 10, converted 9, filtered 1", 10));
	ck_assert(wait_text(d.log, "eve.json: lines 10", 10));
	/* SIGINT stops like SIGTERM. */
	kill(d.pid, SIGINT);
	{
		int st;

		ck_assert_int_eq(waitpid(d.pid, &st, 0), d.pid);
		ck_assert(WIFEXITED(st));
		ck_assert_int_eq(WEXITSTATUS(st), 0);
	}
	log = ph_slurp(d.log);
	ck_assert_msg(strstr(log, "Interrupt: stopping") && strstr(log, "stopped: read 10"), "%s", log);
	free(log);
	log = ph_slurp(moved);
	ck_assert_msg(strstr(log, "connector started") && !strstr(log, "reopened"), "%s", log);
	free(log);
	ph_remove_tree(dir);
	free(dir);
}
END_TEST

/* Without --foreground: the command returns once the daemon runs, which writes its pid file. */
START_TEST(test_detach)
{
	char *dir = make_dir(), url[600], out[512], conf[512], pidfile[512], *text;
	pid_t pid;

	snprintf(out, sizeof(out), "%s/out", dir);
	mkdir(out, 0755);
	snprintf(url, sizeof(url), "file://%s", out);
	suricata_conf(dir, url, NULL);
	snprintf(conf, sizeof(conf), "%s/suricata.conf", dir);
	snprintf(pidfile, sizeof(pidfile), "%s/pid", dir);
	ck_assert_int_eq(run("'%s' suricata -c '%s' --pid-file '%s'", IDMEFV2_CONNECTOR_PATH, conf, pidfile), 0);
	text = ph_slurp(pidfile);
	pid = (pid_t)atoi(text);
	free(text);
	ck_assert_int_gt(pid, 1);
	ck_assert_int_eq(kill(pid, 0), 0);
	append_eve(dir, 0, 10);
	ck_assert_int_eq(ph_wait_count_json(out, 9, 10), 9);
	kill(pid, SIGTERM);
	for (int i = 0; i < 400 && kill(pid, 0) == 0; i++)
		ph_sleep_ms(50);
	ck_assert_int_ne(kill(pid, 0), 0);
	ck_assert_int_ne(access(pidfile, F_OK), 0); /* removed on a clean stop */
	/* A start-up failure is reported by the command itself. */
	{
		static const char text2[] = "[idmefv2]\nurl = file:///nonexistent/dir\n[suricata]\nfiletype = regular\n"
		                            "filename = /x\n[state]\ndir = /tmp\n";
		char conf2[512], errpath[512];

		snprintf(conf2, sizeof(conf2), "%s/bad.conf", dir);
		snprintf(errpath, sizeof(errpath), "%s/err", dir);
		write_file(conf2, "w", text2, strlen(text2));
		ck_assert_int_ne(run("'%s' suricata -c '%s' 2>'%s'", IDMEFV2_CONNECTOR_PATH, conf2, errpath), 0);
	}
	ph_remove_tree(dir);
	free(dir);
}
END_TEST

/* Suricata's unix_stream output: it connects and writes lines; reconnects after a drop. */
START_TEST(test_unix_stream)
{
	char *dir = make_dir(), url[600], out[512], conf[512], text[2048], *eve;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct daemon d;
	int fd;

	snprintf(out, sizeof(out), "%s/out", dir);
	mkdir(out, 0755);
	snprintf(url, sizeof(url), "file://%s", out);
	snprintf(conf, sizeof(conf), "%s/suricata.conf", dir);
	snprintf(text, sizeof(text),
	         "[logging]\nfile = %s/daemon.log\n[idmefv2]\nurl = %s\n"
	         "[suricata]\nfiletype = unix_stream\nfilename = %s/eve.sock\n[state]\ndir = %s/state\n",
	         dir, url, dir, dir);
	write_file(conf, "w", text, strlen(text));
	daemon_start(&d, dir, "suricata", conf);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/eve.sock", dir);
	eve = ph_slurp(EVE);
	for (int round = 0; round < 2; round++) {
		char *s = eve;

		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
		/* Ten lines, each written in two pieces. */
		for (int i = 0; i < 10; i++) {
			size_t len = (size_t)(strchr(s, '\n') - s) + 1;

			ck_assert_int_eq(write(fd, s, len / 2), (ssize_t)(len / 2));
			ph_sleep_ms(5);
			ck_assert_int_eq(write(fd, s + len / 2, len - len / 2), (ssize_t)(len - len / 2));
			s += len;
		}
		close(fd);
		ck_assert_int_eq(ph_wait_count_json(out, 9 * (round + 1), 10), 9 * (round + 1));
	}
	free(eve);
	ck_assert_int_eq(daemon_stop(&d), 0);
	ck_assert_int_ne(access(sun.sun_path, F_OK), 0); /* the socket is removed */
	ph_remove_tree(dir);
	free(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("connector");
	TCase *tc = tcase_create("daemon");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_usage);
	tcase_add_test(tc, test_check_samples);
	tcase_add_test(tc, test_check_errors);
	tcase_add_test(tc, test_once);
	tcase_add_test(tc, test_tail_to_testserver);
	tcase_add_test(tc, test_restart_resumes);
	tcase_add_test(tc, test_server_down_spools);
	tcase_add_test(tc, test_signals);
	tcase_add_test(tc, test_detach);
	tcase_add_test(tc, test_unix_stream);
	suite_add_tcase(s, tc);
	return ph_run_suite(s);
}
