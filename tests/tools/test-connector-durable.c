/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The inputs whose data cannot be read twice, made at least once across
 * SIGKILL: idmefv2-connector is killed (SIGKILL, at several points) while its
 * messages wait in the sender's memory queue for a slow receiver, then
 * started again. At the end every alert the sender was told was taken must
 * have reached the receiver (lost == 0); duplicates are allowed but carry the
 * ID of their first delivery.
 *
 *  - Suricata's Unix socket: a writer that, like Suricata, reconnects and
 *    writes a line again when its write fails. A line counts as taken once
 *    the connector has read it from the socket (the writer's queue is empty
 *    before each kill: what sits in the kernel's socket buffer has no
 *    acknowledgement, for any reader).
 *  - ClamAV's directory watch: metadata.json files written in new scan
 *    directories, also while the connector is down.
 *  - Zabbix's push webhook: pushers that, like Zabbix, post again until they
 *    get a 200; a push counts as taken when answered 200.
 *
 * The receiver is a libmicrohttpd server in this process: DELAY_MS per
 * request, storing the first ID seen for each alert number. It also plays the
 * Zabbix API for the push test.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdint.h>
#include <inttypes.h>
#include <sys/time.h>

#include <json-c/json.h>
#include <microhttpd.h>

#include <idmefv2/util.h>

#include "proc-harness.h"
#include "rx-harness.h"

#define MAX_ALERTS 4000

/* ---- the receiver ------------------------------------------------------------------------ */

static atomic_uint delay_ms = 2;

/* The alert number: "durable N" in Description, or in Attachment[0].FileName for ClamAV. */
static long alert_number(struct json_object *msg)
{
	struct json_object *desc = NULL, *att = NULL, *name = NULL;
	const char *d = NULL;

	if (json_object_object_get_ex(msg, "Description", &desc))
		d = json_object_get_string(desc);
	if (d && strcmp(d, "Virus found") == 0 && json_object_object_get_ex(msg, "Attachment", &att) &&
	    json_object_object_get_ex(json_object_array_get_idx(att, 0), "FileName", &name))
		d = json_object_get_string(name);
	if (!d || strncmp(d, "durable ", 8) != 0)
		return -1;
	return strtol(d + 8, NULL, 10);
}

static struct rx_ids rx = { .lock = PTHREAD_MUTEX_INITIALIZER, .limit = MAX_ALERTS, .number = alert_number };

/* ---- the Zabbix API (push test): problem N is "durable N" on trigger 100, host 200 ------- */

static char *zbx_answer(const char *body)
{
	struct json_object *req = json_tokener_parse(body), *method = NULL, *params = NULL, *id = NULL, *ids = NULL;
	struct json_object *reply = json_object_new_object(), *result;
	const char *m;
	char *text;

	json_object_object_get_ex(req, "method", &method);
	json_object_object_get_ex(req, "params", &params);
	json_object_object_get_ex(req, "id", &id);
	m = method ? json_object_get_string(method) : "";
	if (strcmp(m, "user.login") == 0) {
		result = json_object_new_string("tok-1");
	} else if (strcmp(m, "problem.get") == 0 && json_object_object_get_ex(params, "eventids", &ids)) {
		const char *eid = json_object_get_string(json_object_array_get_idx(ids, 0));
		char name[64];
		struct json_object *p = json_object_new_object();

		snprintf(name, sizeof(name), "durable %s", eid ? eid : "?");
		json_object_object_add(p, "eventid", json_object_new_string(eid ? eid : "0"));
		json_object_object_add(p, "objectid", json_object_new_string("100"));
		json_object_object_add(p, "clock", json_object_new_string("1700000100"));
		json_object_object_add(p, "ns", json_object_new_string("0"));
		json_object_object_add(p, "name", json_object_new_string(name));
		json_object_object_add(p, "severity", json_object_new_string("3"));
		result = json_object_new_array();
		json_object_array_add(result, p);
	} else if (strcmp(m, "trigger.get") == 0) {
		result = json_tokener_parse("[{\"triggerid\":\"100\",\"hosts\":[{\"hostid\":\"200\",\"name\":\"db-1\"}]}]");
	} else if (strcmp(m, "host.get") == 0) {
		result = json_tokener_parse("[{\"hostid\":\"200\",\"interfaces\":[{\"type\":\"1\",\"ip\":\"192.0.2.10\","
		                            "\"dns\":\"\",\"port\":\"10051\"}]}]");
	} else {
		result = json_object_new_array();
	}
	json_object_object_add(reply, "jsonrpc", json_object_new_string("2.0"));
	json_object_object_add(reply, "result", result);
	json_object_object_add(reply, "id", json_object_get(id));
	text = strdup(json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN));
	json_object_put(reply);
	json_object_put(req);
	return text;
}

static enum MHD_Result rx_handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                 const char *version, const char *data, size_t *size, void **con_cls)
{
	struct rx_upload *r;
	struct MHD_Response *resp;
	enum MHD_Result ret;

	(void)cls;
	(void)method;
	(void)version;
	if (rx_upload_gather(con_cls, data, size, &ret))
		return ret;
	r = *con_cls;
	if (strcmp(url, "/api_jsonrpc.php") == 0) {
		char *text = zbx_answer(r->data ? r->data : "");

		resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
		ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
		MHD_destroy_response(resp);
		return ret;
	}
	ph_sleep_ms(atomic_load(&delay_ms)); /* the slow receiver */
	rx_ids_body(&rx, r->data ? r->data : "", r->len);
	resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(conn, MHD_HTTP_NO_CONTENT, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* ---- the connector ----------------------------------------------------------------------- */

static char dir[64];

static void conf_write(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void conf_write(const char *name, const char *fmt, ...)
{
	char path[256];
	va_list ap;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "[logging]\nlevel = INFO\nfile = %s/daemon.log\n\n[state]\ndir = %s/state\n\n", dir, dir);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

/* Start the connector and wait for its @p nth "connector started" line. */
static pid_t start(const char *tool, const char *conf, int nth)
{
	char log[256], err[256], path[256];
	pid_t pid;

	snprintf(log, sizeof(log), "%s/daemon.log", dir);
	snprintf(err, sizeof(err), "%s/daemon.stderr", dir);
	snprintf(path, sizeof(path), "%s/%s", dir, conf);
	pid = ph_spawn((const char *const[]){ IDMEFV2_CONNECTOR_PATH, tool, "-c", path, "--foreground", NULL },
	               &(struct ph_io){ .err = err, .err_append = true, .mode = 0644, .die_with_parent = true });
	for (int i = 0; i < 400 && ph_count_text(log, "connector started") < nth; i++)
		ph_sleep_ms(25);
	ck_assert_msg(ph_count_text(log, "connector started") >= nth, "the connector did not start (see %s)", err);
	return pid;
}

static void sigkill(pid_t pid)
{
	int st;

	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFSIGNALED(st));
}

static void sigterm(pid_t pid)
{
	int st;

	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
}

/* Count and assert: nothing taken is lost, and a duplicate has the ID of its first delivery. */
static void verdict(const char *what, unsigned taken, unsigned total)
{
	unsigned lost, dups;

	rx_ids_tally(&rx, total, &lost, &dups);
	fprintf(stderr, "%s: written %u, taken %u, delivered %u, lost %u, duplicated %u, duplicates with another ID %u\n",
	        what, total, taken, total - lost, lost, dups, rx.id_mismatches);
	ck_assert_uint_eq(rx.foreign, 0);
	ck_assert_msg(lost == 0, "%s: %u of %u alerts lost", what, lost, total);
	ck_assert_msg(rx.id_mismatches == 0, "%s: %u duplicates carry another ID than their first delivery", what,
	              rx.id_mismatches);
}

/* The ID of alert @p n must be the documented name-based UUID of @p name (docs/ids.md). */
static void assert_id(unsigned n, const char *name, size_t len)
{
	char want[IDMEFV2_UUID_STRLEN];

	ck_assert_int_eq(idmefv2_uuid_from_name(IDMEFV2_UUID_NAMESPACE, name, len, want, sizeof(want)), 0);
	ck_assert_str_eq(rx.ids[n], want);
}

static void cleanup(void)
{
	ph_remove_tree(dir);
}

/* ---- Suricata's Unix socket -------------------------------------------------------------- */

#define SOCK_LINES 3000

static struct {
	char path[100];
	atomic_int written;     /* lines whose write succeeded */
	atomic_bool pause;      /* asked to stop writing */
	atomic_bool paused;     /* stopped, and the connector has read everything written */
} sw;

static int sock_connect(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sw.path);
	for (int i = 0; i < 2000; i++) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			return fd;
		if (fd >= 0)
			close(fd);
		ph_sleep_ms(5);
	}
	return -1;
}

/* Stop while asked to, once the connector has read every byte written (nothing left in the socket). */
static void sock_pause_point(int fd)
{
	if (!atomic_load(&sw.pause))
		return;
	for (int i = 0; i < 400; i++) {
		int unread = 0;

		if (fd < 0 || ioctl(fd, SIOCOUTQ, &unread) != 0 || unread == 0)
			break;
		ph_sleep_ms(5);
	}
	atomic_store(&sw.paused, true);
	while (atomic_load(&sw.pause))
		ph_sleep_ms(2);
	atomic_store(&sw.paused, false);
}

static int eve_line(char *line, size_t size, int n)
{
	return snprintf(line, size,
	                "{\"timestamp\":\"2025-05-12T06:00:00.203698+0000\",\"flow_id\":%d,"
	                "\"in_iface\":\"eth0\",\"event_type\":\"alert\",\"src_ip\":\"10.0.0.1\","
	                "\"src_port\":1234,\"dest_ip\":\"10.0.0.2\",\"dest_port\":80,\"proto\":\"TCP\","
	                "\"alert\":{\"action\":\"allowed\",\"gid\":1,\"signature_id\":1000001,\"rev\":1,"
	                "\"signature\":\"durable %d\",\"category\":\"Potentially Bad Traffic\","
	                "\"severity\":2}}\n",
	                n, n);
}

/* As Suricata: one EVE line per write; a failed write is repeated on a new connection. */
static void *sock_writer(void *arg)
{
	int fd = -1;

	(void)arg;
	for (int n = 0; n < SOCK_LINES;) {
		for (int i = 0; i < 10 && n < SOCK_LINES; i++, n++) {
			char line[1024];
			int len = eve_line(line, sizeof(line), n);

			for (;;) {
				if (fd < 0 && (fd = sock_connect()) < 0)
					return NULL;
				if (send(fd, line, (size_t)len, MSG_NOSIGNAL) == len)
					break;
				close(fd);
				fd = -1;
			}
			atomic_store(&sw.written, n + 1);
		}
		sock_pause_point(fd);
		ph_sleep_ms(10);
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static unsigned journal_segments(void)
{
	char path[128];
	struct dirent *de;
	unsigned n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/state", dir);
	d = opendir(path);
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)))
		n += strncmp(de->d_name, "socket.journal.", 15) == 0;
	closedir(d);
	return n;
}

START_TEST(test_unix_socket_sigkill)
{
	struct MHD_Daemon *mhd;
	unsigned port;
	pthread_t wt;
	pid_t pid;
	int starts = 1;

	snprintf(dir, sizeof(dir), "/tmp/test-connector-durable-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	rx_ids_reset(&rx);
	atomic_store(&delay_ms, 2);
	mhd = rx_daemon_start(rx_handle, &port);
	snprintf(sw.path, sizeof(sw.path), "%s/eve.sock", dir);
	conf_write("suricata.conf", "[idmefv2]\nurl = http://127.0.0.1:%u/\n\n"
	           "[suricata]\nfiletype = unix_stream\nfilename = %s\n", port, sw.path);
	pid = start("suricata", "suricata.conf", starts);
	ck_assert_int_eq(pthread_create(&wt, NULL, sock_writer, NULL), 0);
	for (int k = 0; k < 4; k++) {
		/* Uneven points, some before the first periodic save of the new process. */
		ph_sleep_ms(k % 2 ? 1300 : 500);
		atomic_store(&sw.pause, true);
		for (int i = 0; i < 1000 && !atomic_load(&sw.paused); i++)
			ph_sleep_ms(2);
		ph_sleep_ms(20); /* the connector journals what it read */
		sigkill(pid);
		fprintf(stderr, "socket kill %d: %d lines written, %u delivered\n", k + 1, atomic_load(&sw.written),
		        rx_ids_delivered(&rx, SOCK_LINES));
		atomic_store(&sw.pause, false);
		pid = start("suricata", "suricata.conf", ++starts);
	}
	pthread_join(wt, NULL);
	ck_assert_int_eq(atomic_load(&sw.written), SOCK_LINES);
	for (int i = 0; i < 1200 && rx_ids_delivered(&rx, SOCK_LINES) < SOCK_LINES; i++)
		ph_sleep_ms(50);
	sigterm(pid);
	MHD_stop_daemon(mhd);
	verdict("unix socket", SOCK_LINES, SOCK_LINES);
	{
		/* The first line, at offset 0 of the first segment (1). */
		char name[1200], line[1024];
		int len = eve_line(line, sizeof(line), 0);
		int nlen = snprintf(name, sizeof(name), "unix:%s:1:0:%.*s", sw.path, len - 1, line);

		assert_id(0, name, (size_t)nlen);
	}
	/* Everything resolved: the journal is down to its current (empty) segment and at most one before it. */
	ck_assert_uint_le(journal_segments(), 2);
	cleanup();
}
END_TEST

/* ---- Zabbix's push webhook --------------------------------------------------------------- */

#define PUSH_EVENTS 240
#define PUSHERS 3

static unsigned push_port;
static atomic_uint push_taken;

static unsigned free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* POST {"eventid": N} to the webhook: the HTTP status, or 0 when there was no answer. */
static int push_event(int n)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)push_port),
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { 15, 0 };
	char req[512], body[64], resp[1024];
	size_t got = 0;
	ssize_t r;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), status = 0;

	if (fd < 0)
		return 0;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	snprintf(body, sizeof(body), "{\"eventid\":\"%d\"}", n);
	snprintf(req, sizeof(req),
	         "POST /alert HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
	         "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
	         strlen(body), body);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req)) {
		close(fd);
		return 0;
	}
	while (got < sizeof(resp) - 1 && (r = read(fd, resp + got, sizeof(resp) - 1 - got)) > 0)
		got += (size_t)r;
	resp[got] = '\0';
	close(fd);
	if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1)
		status = 0;
	return status;
}

/* As Zabbix's alerters: each event is posted until it is answered 200. */
static void *pusher(void *arg)
{
	int first = (int)(intptr_t)arg;

	for (int n = first; n < PUSH_EVENTS; n += PUSHERS) {
		for (int tries = 0; push_event(n) != 200; tries++) {
			if (tries > 3000)
				return NULL;
			ph_sleep_ms(10);
		}
		atomic_fetch_add(&push_taken, 1);
	}
	return NULL;
}

START_TEST(test_zabbix_push_sigkill)
{
	struct MHD_Daemon *mhd, *api;
	pthread_t pt[PUSHERS];
	unsigned port, api_port;
	pid_t pid;
	int starts = 1;

	snprintf(dir, sizeof(dir), "/tmp/test-connector-durable-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	rx_ids_reset(&rx);
	atomic_store(&delay_ms, 20); /* 50 messages/s at most */
	mhd = rx_daemon_start(rx_handle, &port);
	api = rx_daemon_start(rx_handle, &api_port); /* the Zabbix API answers at once, whatever the receiver's pace */
	push_port = free_port();
	conf_write("zabbix.conf", "[idmefv2]\nurl = http://127.0.0.1:%u/ingest\n\n"
	           "[connector]\nmode = push\nlisten_address = 127.0.0.1\nlisten_port = %u\ndelivery_timeout = 5\n\n"
	           "[zabbix]\nurl = http://127.0.0.1:%u/api_jsonrpc.php\nuser = Admin\npassword = zabbix\ntimeout = 2\n",
	           port, push_port, api_port);
	pid = start("zabbix", "zabbix.conf", starts);
	for (int i = 0; i < PUSHERS; i++)
		ck_assert_int_eq(pthread_create(&pt[i], NULL, pusher, (void *)(intptr_t)i), 0);
	for (int k = 0; k < 3; k++) {
		ph_sleep_ms(k == 1 ? 1300 : 400);
		sigkill(pid);
		fprintf(stderr, "push kill %d: %u events answered 200, %u delivered\n", k + 1, atomic_load(&push_taken),
		        rx_ids_delivered(&rx, PUSH_EVENTS));
		pid = start("zabbix", "zabbix.conf", ++starts);
	}
	for (int i = 0; i < PUSHERS; i++)
		pthread_join(pt[i], NULL);
	ck_assert_uint_eq(atomic_load(&push_taken), PUSH_EVENTS);
	for (int i = 0; i < 600 && rx_ids_delivered(&rx, PUSH_EVENTS) < PUSH_EVENTS; i++)
		ph_sleep_ms(50);
	sigterm(pid);
	MHD_stop_daemon(mhd);
	MHD_stop_daemon(api);
	verdict("zabbix push", PUSH_EVENTS, PUSH_EVENTS);
	{
		char name[200];
		int nlen = snprintf(name, sizeof(name), "push:http://127.0.0.1:%u/api_jsonrpc.php:7", api_port);

		assert_id(7, name, (size_t)nlen);
	}
	cleanup();
}
END_TEST

/* ---- ClamAV's directory watch ------------------------------------------------------------ */

#define CLAM_FILES 300

static atomic_int clam_written;

/* A clamd metadata.json naming a virus, in a new scan directory, as clamd leaves them. */
static void clam_write(const char *tree, const char *name, int n)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s-%d", tree, name, n);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/%s-%d/metadata.json", tree, name, n);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "{\n  \"Magic\": \"CLAMJSONv0\",\n  \"FileName\": \"%s %d\",\n  \"FileSize\": 6656,\n"
	        "  \"FileMD5\": \"c6ccf4ddbccbcaa01b441690a329d1b0\",\n  \"Viruses\": [\"Clamav.Test.File-6\"]\n}\n",
	        name, n);
	ck_assert_int_eq(fclose(f), 0);
}

static void *clam_writer(void *arg)
{
	const char *tree = arg;

	for (int n = 0; n < CLAM_FILES; n++) {
		clam_write(tree, "durable", n);
		atomic_store(&clam_written, n + 1);
		ph_sleep_ms(10);
	}
	return NULL;
}

static unsigned deliveries(unsigned total)
{
	unsigned n = 0;

	pthread_mutex_lock(&rx.lock);
	for (unsigned i = 0; i < total; i++)
		n += rx.count[i];
	pthread_mutex_unlock(&rx.lock);
	return n;
}

START_TEST(test_clamav_sigkill)
{
	struct MHD_Daemon *mhd;
	char tree[128];
	unsigned port, before;
	pthread_t wt;
	pid_t pid;
	int starts = 1;

	snprintf(dir, sizeof(dir), "/tmp/test-connector-durable-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	rx_ids_reset(&rx);
	atomic_store(&delay_ms, 20); /* 50 messages/s at most */
	mhd = rx_daemon_start(rx_handle, &port);
	snprintf(tree, sizeof(tree), "%s/clamav", dir);
	ck_assert_int_eq(mkdir(tree, 0755), 0);
	/* Results older than the connector's first start are not reported (they would be "old N": foreign). */
	for (int i = 0; i < 5; i++)
		clam_write(tree, "old", i);
	/* A trailing slash: the files recorded at the first start must still match the paths reported. */
	conf_write("clamav.conf", "[idmefv2]\nurl = http://127.0.0.1:%u/\n\n[clamav]\ntempdir = %s/\n", port, tree);
	pid = start("clamav", "clamav.conf", starts);
	ck_assert_int_eq(pthread_create(&wt, NULL, clam_writer, tree), 0);
	for (int k = 0; k < 3; k++) {
		ph_sleep_ms(k == 1 ? 1300 : 500);
		sigkill(pid);
		fprintf(stderr, "clamav kill %d: %d files written, %u delivered\n", k + 1, atomic_load(&clam_written),
		        rx_ids_delivered(&rx, CLAM_FILES));
		ph_sleep_ms(100); /* files written while it is down */
		pid = start("clamav", "clamav.conf", ++starts);
	}
	pthread_join(wt, NULL);
	for (int i = 0; i < 600 && rx_ids_delivered(&rx, CLAM_FILES) < CLAM_FILES; i++)
		ph_sleep_ms(50);
	sigterm(pid);

	/* Started again after a clean stop: the files done with are not sent again. */
	before = deliveries(CLAM_FILES);
	pid = start("clamav", "clamav.conf", ++starts);
	ph_sleep_ms(1500);
	sigterm(pid);
	ck_assert_uint_eq(deliveries(CLAM_FILES), before);
	MHD_stop_daemon(mhd);
	verdict("clamav", CLAM_FILES, CLAM_FILES);
	{
		char path[256], name[2048];
		struct stat st;
		FILE *f;
		int nlen;

		snprintf(path, sizeof(path), "%s/durable-0/metadata.json", tree);
		ck_assert_int_eq(stat(path, &st), 0);
		nlen = snprintf(name, sizeof(name), "file:%s:%jd:%jd.%09ld:", path, (intmax_t)st.st_size,
		                (intmax_t)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
		f = fopen(path, "r");
		ck_assert_ptr_nonnull(f);
		nlen += (int)fread(name + nlen, 1, sizeof(name) - (size_t)nlen, f);
		fclose(f);
		assert_id(0, name, (size_t)nlen);
	}
	cleanup();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("connector-durable");
	TCase *tc = tcase_create("sigkill");

	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_unix_socket_sigkill);
	tcase_add_test(tc, test_zabbix_push_sigkill);
	tcase_add_test(tc, test_clamav_sigkill);
	suite_add_tcase(s, tc);
	return ph_run_suite(s);
}
