/* SPDX-License-Identifier: Apache-2.0 */
/*
 * idmefv2-connector killed with SIGKILL while it tails a file that grows at a
 * steady rate, into a receiver slower than the writer (so messages wait in the
 * sender's queue), then restarted, several times. At the end every line
 * written must have reached the receiver (lost == 0); duplicates are allowed
 * (at least once) but each must carry the ID of its first delivery, so that a
 * receiver storing by ID keeps one copy.
 *
 * The same with a poller (Prometheus): its de-duplication keys must not be
 * saved before the alerts they hide are delivered or spooled, and an alert
 * fetched again keeps its ID.
 *
 * The receiver is a libmicrohttpd server in this process: one connection at a
 * time, DELAY_MS per request, storing the first ID seen for each line. It also
 * answers GET with the Prometheus alerts of the poller test.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
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
#include <microhttpd.h>

#include "proc-harness.h"
#include "rx-harness.h"

#define LINES 3000        /* written in total */
#define RATE_PER_10MS 10  /* lines per 10 ms: about 1,000 lines/s */
#define DELAY_MS 2        /* per request: about 400 requests/s at most */
#define KILLS 4           /* SIGKILLs while writing */

/* ---- the receiver ------------------------------------------------------------------------ */

static const char *rx_prefix = "crash-test "; /* Description of our messages, then their number */
static unsigned delay_ms = DELAY_MS;
static const char *alerts_body = ""; /* the answer to GET */

static long line_number(struct json_object *msg)
{
	struct json_object *desc;
	const char *d;

	if (!json_object_object_get_ex(msg, "Description", &desc) || !(d = json_object_get_string(desc)) ||
	    strncmp(d, rx_prefix, strlen(rx_prefix)) != 0)
		return -1;
	return strtol(d + strlen(rx_prefix), NULL, 10);
}

static struct rx_ids rx = { .lock = PTHREAD_MUTEX_INITIALIZER, .limit = LINES, .number = line_number };

static enum MHD_Result rx_handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                 const char *version, const char *data, size_t *size, void **con_cls)
{
	struct rx_upload *r;
	struct MHD_Response *resp;
	enum MHD_Result ret;

	(void)cls;
	(void)url;
	(void)version;
	if (strcmp(method, "GET") == 0) {
		resp = MHD_create_response_from_buffer(strlen(alerts_body), (void *)alerts_body, MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
		ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
		MHD_destroy_response(resp);
		return ret;
	}
	if (rx_upload_gather(con_cls, data, size, &ret))
		return ret;
	r = *con_cls;
	ph_sleep_ms(delay_ms); /* the slow receiver */
	rx_ids_body(&rx, r->data ? r->data : "", r->len);
	resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(conn, MHD_HTTP_NO_CONTENT, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* ---- the writer -------------------------------------------------------------------------- */

static const char *eve_path;
static atomic_int written;

static void *writer(void *arg)
{
	FILE *f = fopen(eve_path, "a");

	(void)arg;
	ck_assert_ptr_nonnull(f);
	for (int n = 0; n < LINES;) {
		for (int i = 0; i < RATE_PER_10MS && n < LINES; i++, n++)
			fprintf(f,
			        "{\"timestamp\":\"2025-05-12T06:00:00.203698+0000\",\"flow_id\":%d,\"in_iface\":\"eth0\","
			        "\"event_type\":\"alert\",\"src_ip\":\"10.0.0.1\",\"src_port\":1234,\"dest_ip\":\"10.0.0.2\","
			        "\"dest_port\":80,\"proto\":\"TCP\",\"alert\":{\"action\":\"allowed\",\"gid\":1,"
			        "\"signature_id\":1000001,\"rev\":1,\"signature\":\"crash-test %d\","
			        "\"category\":\"Potentially Bad Traffic\",\"severity\":2}}\n",
			        n, n);
		fflush(f);
		atomic_store(&written, n);
		ph_sleep_ms(10);
	}
	fclose(f);
	return NULL;
}

/* ---- the connector ----------------------------------------------------------------------- */

/* Start the connector and wait for its @p nth "connector started" line. */
static pid_t start(const char *tool, const char *dir, const char *conf, int nth)
{
	char log[512], err[512];
	pid_t pid;

	snprintf(log, sizeof(log), "%s/daemon.log", dir);
	snprintf(err, sizeof(err), "%s/daemon.stderr", dir);
	pid = ph_spawn((const char *const[]){ IDMEFV2_CONNECTOR_PATH, tool, "-c", conf, "--foreground", NULL },
	               &(struct ph_io){ .err = err, .err_append = true, .mode = 0644, .die_with_parent = true });
	for (int i = 0; i < 400 && ph_count_text(log, "connector started") < nth; i++)
		ph_sleep_ms(25);
	ck_assert_msg(ph_count_text(log, "connector started") >= nth, "the connector did not start (see %s)", err);
	return pid;
}

static unsigned delivered_lines(void)
{
	return rx_ids_delivered(&rx, LINES);
}

/* Count and assert: nothing lost, no message from elsewhere, a duplicate has the ID of its first delivery. */
static void verdict(const char *head, const char *what, int total)
{
	unsigned lost, dups, delivered = delivered_lines();

	rx_ids_tally(&rx, (unsigned)total, &lost, &dups);
	fprintf(stderr, "%s %d, delivered %u, lost %u, duplicated %u, duplicates with another ID %u\n", head, total,
	        delivered, lost, dups, rx.id_mismatches);
	ck_assert_uint_eq(rx.foreign, 0);
	ck_assert_msg(lost == 0, "%u of %d %s lost", lost, total, what);
	ck_assert_msg(rx.id_mismatches == 0, "%u duplicates carry another ID than their first sending",
	              rx.id_mismatches);
}

START_TEST(test_sigkill_while_tailing)
{
	char dir[] = "/tmp/test-connector-crash-XXXXXX", conf[600], eve[600], text[2048];
	struct MHD_Daemon *mhd;
	unsigned port;
	pthread_t wt;
	pid_t pid;
	FILE *f;
	int st, starts = 1;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	mhd = rx_daemon_start(rx_handle, &port);
	snprintf(eve, sizeof(eve), "%s/eve.json", dir);
	snprintf(conf, sizeof(conf), "%s/suricata.conf", dir);
	snprintf(text, sizeof(text),
	         "[logging]\nlevel = INFO\nfile = %s/daemon.log\n\n"
	         "[idmefv2]\nurl = http://127.0.0.1:%u/\n\n"
	         "[suricata]\nfiletype = regular\nfilename = %s\n\n"
	         "[state]\ndir = %s/state\n",
	         dir, port, eve, dir);
	f = fopen(conf, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	eve_path = eve;

	/* The file does not exist yet: it is read from its start once created. */
	pid = start("suricata", dir, conf, starts);
	ck_assert_int_eq(pthread_create(&wt, NULL, writer, NULL), 0);
	for (int k = 0; k < KILLS; k++) {
		/* Kill at uneven points, some before the first periodic save of the new process. */
		ph_sleep_ms(k % 2 ? 1300 : 500);
		ck_assert_int_eq(kill(pid, SIGKILL), 0);
		ck_assert_int_eq(waitpid(pid, &st, 0), pid);
		ck_assert(WIFSIGNALED(st));
		fprintf(stderr, "kill %d: %d lines written, %u delivered\n", k + 1, atomic_load(&written),
		        delivered_lines());
		pid = start("suricata", dir, conf, ++starts);
	}
	pthread_join(wt, NULL);
	/* Everything should arrive now: the last instance runs to the end. */
	for (int i = 0; i < 1200 && delivered_lines() < LINES; i++)
		ph_sleep_ms(50);
	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	MHD_stop_daemon(mhd);

	verdict("written", "lines", LINES);
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	ph_remove_tree(dir);
}
END_TEST

#define ALERTS 120

/* The Prometheus API answer: ALERTS firing alerts named "crash-poll N". */
static char *prometheus_alerts(void)
{
	size_t cap = 200 * ALERTS + 100, len = 0;
	char *body = malloc(cap);

	ck_assert_ptr_nonnull(body);
	len += (size_t)snprintf(body + len, cap - len, "{\"status\":\"success\",\"data\":{\"alerts\":[");
	for (int i = 0; i < ALERTS; i++)
		len += (size_t)snprintf(body + len, cap - len,
		                        "%s{\"state\":\"firing\",\"activeAt\":\"2026-01-01T10:00:00Z\",\"labels\":"
		                        "{\"alertname\":\"crash-poll %d\",\"severity\":\"warning\","
		                        "\"instance\":\"web-1:9100\"}}",
		                        i ? "," : "", i);
	snprintf(body + len, cap - len, "]}}");
	return body;
}

START_TEST(test_sigkill_while_polling)
{
	char dir[] = "/tmp/test-connector-crash-XXXXXX", conf[600], text[2048];
	unsigned port;
	struct MHD_Daemon *mhd;
	char *alerts = prometheus_alerts();
	pid_t pid;
	FILE *f;
	int st, starts = 1;

	rx_prefix = "crash-poll ";
	delay_ms = 20; /* 50 alerts/s: several seconds for the lot */
	alerts_body = alerts;
	ck_assert_ptr_nonnull(mkdtemp(dir));
	mhd = rx_daemon_start(rx_handle, &port);
	snprintf(conf, sizeof(conf), "%s/prometheus.conf", dir);
	snprintf(text, sizeof(text),
	         "[logging]\nlevel = INFO\nfile = %s/daemon.log\n\n"
	         "[idmefv2]\nurl = http://127.0.0.1:%u/ingest\n\n"
	         "[prometheus]\nurl = http://127.0.0.1:%u/\npoll_interval = 1\ntimeout = 2\ndisable_seeding = true\n\n"
	         "[state]\ndir = %s/state\n",
	         dir, port, port, dir);
	f = fopen(conf, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);

	pid = start("prometheus", dir, conf, starts);
	for (int k = 0; k < 3; k++) {
		unsigned before = delivered_lines();

		/* Kill once a few more alerts have arrived, the rest still queued in the connector. */
		for (int i = 0; i < 400 && delivered_lines() < before + 15; i++)
			ph_sleep_ms(10);
		ph_sleep_ms(k == 1 ? 1200 : 100); /* once after a periodic save */
		ck_assert_int_eq(kill(pid, SIGKILL), 0);
		ck_assert_int_eq(waitpid(pid, &st, 0), pid);
		fprintf(stderr, "poller kill %d: %u of %d alerts delivered\n", k + 1, delivered_lines(), ALERTS);
		pid = start("prometheus", dir, conf, ++starts);
	}
	for (int i = 0; i < 600 && delivered_lines() < ALERTS; i++)
		ph_sleep_ms(50);
	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	MHD_stop_daemon(mhd);

	verdict("alerts", "alerts", ALERTS);
	ph_remove_tree(dir);
	free(alerts);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("connector-crash");
	TCase *tc = tcase_create("sigkill");

	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_sigkill_while_tailing);
	tcase_add_test(tc, test_sigkill_while_polling);
	suite_add_tcase(s, tc);
	return ph_run_suite(s);
}
