/* SPDX-License-Identifier: Apache-2.0 */
/*
 * idmefv2-connector's fetching inputs, run as a program: Prometheus, Kismet
 * and Zabbix (polling and push) against an in-process HTTP server on
 * 127.0.0.1 whose answers each test controls, and ClamAV against a real
 * directory tree. Every delivered message lands as a file (file:// output),
 * which is what the tests read and assert on.
 */
#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <microhttpd.h>

#include "proc-harness.h"
#include "rx-harness.h"

#define PROMETHEUS_ALERTS SHARED_CONNECTORS_DIR "/prometheus/alerts-connector-tests.json"
#define PROMETHEUS_DOCS_RESPONSE SHARED_CONNECTORS_DIR "/prometheus/prometheus-docs-api-v1-alerts-response.json"
#define KISMET_ALERTS SHARED_CONNECTORS_DIR "/kismet/all_alerts-connector-test.json"
#define CLAMAV_METADATA_1 SHARED_CONNECTORS_DIR "/clamav/metadata-connector-test-1-clam-fsg.exe.json"
#define CLAMAV_METADATA_2 SHARED_CONNECTORS_DIR "/clamav/metadata-connector-test-2-clam.7z.json"

/* Bounds of every wait: long enough for a loaded machine, short enough to fail fast. */
#define WAIT_MS 8000
#define STEP_MS 20

/* ---- per-test environment ------------------------------------------------------------------ */

/* One directory per run, made and removed by the runner process (it outlives failed tests). */
static char rootdir[64];
/* The running test's directory, inside rootdir. */
static char tmpdir[128];
static pid_t daemon_pid = -1;

static void path_in_tmp(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", tmpdir, name);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void rm_tree(const char *path)
{
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void root_setup(void)
{
	snprintf(rootdir, sizeof(rootdir), "/tmp/idmefv2-cpoll-XXXXXX");
	if (!mkdtemp(rootdir)) {
		perror("mkdtemp");
		exit(EXIT_FAILURE);
	}
}

/* What is left is a failed test's: show what its daemon said, then remove it all. */
static void root_teardown(void)
{
	char path[512], line[1024];
	struct dirent *e;
	DIR *d = opendir(rootdir);
	FILE *f;

	while (d && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/daemon.log", rootdir, e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		fprintf(stderr, "---- %s ----\n", path);
		while (fgets(line, sizeof(line), f))
			fputs(line, stderr);
		fclose(f);
	}
	if (d)
		closedir(d);
	rm_tree(rootdir);
}

static void env_setup(void)
{
	char path[256];

	snprintf(tmpdir, sizeof(tmpdir), "%s/test-XXXXXX", rootdir);
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	path_in_tmp(path, sizeof(path), "out");
	ck_assert_int_eq(mkdir(path, 0755), 0);
}

/* The end of a test that passed: its files are of no more use. */
static void env_done(void)
{
	ck_assert_int_eq(daemon_pid, -1);
	rm_tree(tmpdir);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static char *file_read(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	size_t len = 0;
	FILE *mem;
	char buf[4096];
	size_t n;

	if (!f)
		return NULL;
	mem = open_memstream(&data, &len);
	ck_assert_ptr_nonnull(mem);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, mem);
	fclose(f);
	fclose(mem);
	return data;
}

static void file_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
}

static struct json_object *json_load(const char *path)
{
	struct json_object *o = json_object_from_file(path);

	ck_assert_msg(o != NULL, "cannot read %s", path);
	return o;
}

/* ---- the daemon ------------------------------------------------------------------------------ */

/* Write TMPDIR/NAME.conf: the output and state parts every test shares, then @p fmt. */
static void config_write(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void config_write(const char *name, const char *fmt, ...)
{
	char path[256];
	FILE *f;
	va_list ap;

	snprintf(path, sizeof(path), "%s/%s.conf", tmpdir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "[idmefv2]\nurl = file://%s/out\n\n[state]\ndir = %s/state\n\n[logging]\nlevel = DEBUG\n\n",
	        tmpdir, tmpdir);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	ck_assert_int_eq(fclose(f), 0);
}

static void daemon_start(const char *tool, const char *conf_name)
{
	char conf[256], log[256];
	pid_t pid;

	snprintf(conf, sizeof(conf), "%s/%s.conf", tmpdir, conf_name);
	path_in_tmp(log, sizeof(log), "daemon.log");
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		/* Gone with the test, whatever ends it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		execl(IDMEFV2_CONNECTOR_PATH, IDMEFV2_CONNECTOR_PATH, tool, "-c", conf, "--foreground", (char *)NULL);
		_exit(127);
	}
	daemon_pid = pid;
}

/* Wait until the daemon's log says @p what (its start, for inputs that only see what happens after it). */
static void daemon_log_wait(const char *what)
{
	int64_t deadline = ph_now_ms() + WAIT_MS;
	char path[256], *text = NULL;

	path_in_tmp(path, sizeof(path), "daemon.log");
	for (;;) {
		text = file_read(path);
		if ((text && strstr(text, what)) || ph_now_ms() >= deadline)
			break;
		free(text);
		text = NULL;
		sleep_ms(STEP_MS);
	}
	ck_assert_msg(text && strstr(text, what), "the daemon never logged '%s'", what);
	free(text);
}

static bool daemon_alive(void)
{
	int status;

	return daemon_pid > 0 && waitpid(daemon_pid, &status, WNOHANG) == 0;
}

/* SIGTERM, then the exit status must be 0 (a clean stop). */
static void daemon_stop(void)
{
	int64_t deadline = ph_now_ms() + 15000;
	int status = 0;
	pid_t r;

	ck_assert_int_gt(daemon_pid, 0);
	ck_assert_int_eq(kill(daemon_pid, SIGTERM), 0);
	while ((r = waitpid(daemon_pid, &status, WNOHANG)) == 0 && ph_now_ms() < deadline)
		sleep_ms(STEP_MS);
	if (r == 0) {
		kill(daemon_pid, SIGKILL);
		waitpid(daemon_pid, &status, 0);
	}
	daemon_pid = -1;
	ck_assert_msg(r > 0, "the daemon did not stop within 15 s of SIGTERM");
	ck_assert_msg(WIFEXITED(status), "the daemon was killed by signal %d", WTERMSIG(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}

/* ---- delivered messages ---------------------------------------------------------------------- */

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The messages written so far, oldest first (names sort by time of writing). */
static struct json_object *outputs_read(void)
{
	char dir[256], path[512];
	struct json_object *all = json_object_new_array();
	char *names[512];
	size_t n = 0;
	struct dirent *e;
	DIR *d;

	path_in_tmp(dir, sizeof(dir), "out");
	d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL && n < sizeof(names) / sizeof(names[0])) {
		/* Dotfiles are the transport's files being written. */
		if (e->d_name[0] == '.')
			continue;
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_names);
	for (size_t i = 0; i < n; i++) {
		struct json_object *msg;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		msg = json_object_from_file(path);
		ck_assert_msg(msg != NULL, "%s is not JSON", path);
		json_object_array_add(all, msg);
		free(names[i]);
	}
	return all;
}

static size_t outputs_count(void)
{
	struct json_object *all = outputs_read();
	size_t n = json_object_array_length(all);

	json_object_put(all);
	return n;
}

/* Wait until at least @p want messages were delivered; returns how many there are. */
static size_t outputs_wait(size_t want)
{
	int64_t deadline = ph_now_ms() + WAIT_MS;
	size_t n;

	while ((n = outputs_count()) < want && ph_now_ms() < deadline) {
		ck_assert_msg(daemon_alive(), "the daemon exited");
		sleep_ms(STEP_MS);
	}
	return n;
}

static struct json_object *at(struct json_object *obj, const char *pointer)
{
	struct json_object *v = NULL;

	ck_assert_msg(json_pointer_get(obj, pointer, &v) == 0, "no %s in %s", pointer,
	              json_object_to_json_string(obj));
	return v;
}

static void assert_str(struct json_object *obj, const char *pointer, const char *want)
{
	ck_assert_str_eq(json_object_get_string(at(obj, pointer)), want);
}

static void assert_int(struct json_object *obj, const char *pointer, int64_t want)
{
	struct json_object *v = at(obj, pointer);

	ck_assert_msg(json_object_is_type(v, json_type_int), "%s is not an integer", pointer);
	ck_assert_int_eq(json_object_get_int64(v), want);
}

/* The output whose @p pointer is @p value (exactly one). */
static struct json_object *output_find(struct json_object *all, const char *pointer, const char *value)
{
	struct json_object *found = NULL;

	for (size_t i = 0; i < json_object_array_length(all); i++) {
		struct json_object *msg = json_object_array_get_idx(all, i), *v = NULL;

		if (json_pointer_get(msg, pointer, &v) == 0 && strcmp(json_object_get_string(v), value) == 0) {
			ck_assert_msg(found == NULL, "two messages with %s = %s", pointer, value);
			found = msg;
		}
	}
	ck_assert_msg(found != NULL, "no message with %s = %s in %s", pointer, value, json_object_to_json_string(all));
	return found;
}

/* What every delivered message carries whatever the tool. */
static void assert_common(struct json_object *msg, const char *analyzer)
{
	assert_str(msg, "/Version", "2.D.V08");
	ck_assert_uint_eq(strlen(json_object_get_string(at(msg, "/ID"))), 36);
	assert_str(msg, "/Analyzer/Name", analyzer);
	ck_assert_uint_gt(strlen(json_object_get_string(at(msg, "/Analyzer/IP"))), 0);
}

/* ---- the HTTP server the daemon fetches from ------------------------------------------------- */

static struct {
	pthread_mutex_t lock;
	struct MHD_Daemon *mhd;
	unsigned port;
	unsigned requests;
	/* the last request */
	char method[16], path[256], auth[256];
	/* requests that were not the expected method and path */
	unsigned unexpected;
	const char *want_method, *want_path;
	/* the answer of GET servers */
	unsigned status;
	char *body;
	/* JSON-RPC (Zabbix) */
	bool rpc;
	struct json_object *calls;    /* [{method, params, auth}] in order */
	struct json_object *problems; /* problem.get result */
	struct json_object *triggers; /* triggerid → hosts */
	struct json_object *hosts;    /* hostid → interfaces */
	unsigned logins;
	char token[32];          /* the session accepted; "" after expiry */
	const char *fail_method; /* answered with an error object whatever the session */
} srv = { .lock = PTHREAD_MUTEX_INITIALIZER };

static struct json_object *rpc_error(int code, const char *message, const char *data)
{
	struct json_object *e = json_object_new_object();

	json_object_object_add(e, "code", json_object_new_int(code));
	json_object_object_add(e, "message", json_object_new_string(message));
	json_object_object_add(e, "data", json_object_new_string(data));
	return e;
}

static const char *first_id(struct json_object *params, const char *key)
{
	struct json_object *ids = NULL;

	if (!json_object_object_get_ex(params, key, &ids))
		return NULL;
	return json_object_get_string(json_object_array_get_idx(ids, 0));
}

/* A Zabbix API: user.login, problem.get, trigger.get, host.get. Lock held. */
static char *rpc_answer(const char *body, const char *auth)
{
	struct json_object *req = json_tokener_parse(body ? body : ""), *reply = json_object_new_object();
	struct json_object *method = NULL, *params = NULL, *id = NULL, *call, *result = NULL, *error = NULL;
	char bearer[64];
	const char *m;
	char *text;

	json_object_object_get_ex(req, "method", &method);
	json_object_object_get_ex(req, "params", &params);
	json_object_object_get_ex(req, "id", &id);
	m = method ? json_object_get_string(method) : "";
	call = json_object_new_object();
	json_object_object_add(call, "method", json_object_new_string(m));
	json_object_object_add(call, "params", json_object_get(params));
	json_object_object_add(call, "auth", json_object_new_string(auth ? auth : ""));
	json_object_object_add(call, "jsonrpc", json_object_get(json_object_object_get(req, "jsonrpc")));
	json_object_array_add(srv.calls, call);

	snprintf(bearer, sizeof(bearer), "Bearer %s", srv.token);
	if (strcmp(m, "user.login") == 0) {
		const char *user = json_object_get_string(json_object_object_get(params, "username"));
		const char *pass = json_object_get_string(json_object_object_get(params, "password"));

		if (user && pass && strcmp(user, "Admin") == 0 && strcmp(pass, "zabbix") == 0) {
			srv.logins++;
			snprintf(srv.token, sizeof(srv.token), "tok-%u", srv.logins);
			result = json_object_new_string(srv.token);
		} else {
			error = rpc_error(-32602, "Invalid params.", "Incorrect user name or password.");
		}
	} else if (srv.fail_method && strcmp(m, srv.fail_method) == 0) {
		error = rpc_error(-32500, "Application error.", "No permissions to referred object or it does not exist!");
	} else if (!srv.token[0] || !auth || strcmp(auth, bearer) != 0) {
		error = rpc_error(-32602, "Invalid params.", "Session terminated, re-login, please.");
	} else if (strcmp(m, "problem.get") == 0) {
		const char *want = first_id(params, "eventids");

		result = json_object_new_array();
		for (size_t i = 0; i < json_object_array_length(srv.problems); i++) {
			struct json_object *p = json_object_array_get_idx(srv.problems, i);
			const char *eid = json_object_get_string(json_object_object_get(p, "eventid"));

			if (!want || strcmp(want, eid) == 0)
				json_object_array_add(result, json_object_get(p));
		}
	} else if (strcmp(m, "trigger.get") == 0) {
		const char *tid = first_id(params, "triggerids");
		struct json_object *hosts = NULL;

		result = json_object_new_array();
		if (tid && json_object_object_get_ex(srv.triggers, tid, &hosts)) {
			struct json_object *t = json_object_new_object();

			json_object_object_add(t, "triggerid", json_object_new_string(tid));
			json_object_object_add(t, "hosts", json_object_get(hosts));
			json_object_array_add(result, t);
		}
	} else if (strcmp(m, "host.get") == 0) {
		const char *hid = first_id(params, "hostids");
		struct json_object *ifaces = NULL;

		result = json_object_new_array();
		if (hid && json_object_object_get_ex(srv.hosts, hid, &ifaces)) {
			struct json_object *h = json_object_new_object();

			json_object_object_add(h, "hostid", json_object_new_string(hid));
			json_object_object_add(h, "interfaces", json_object_get(ifaces));
			json_object_array_add(result, h);
		}
	} else {
		error = rpc_error(-32601, "Method not found.", "Incorrect method.");
	}
	json_object_object_add(reply, "jsonrpc", json_object_new_string("2.0"));
	if (error)
		json_object_object_add(reply, "error", error);
	else
		json_object_object_add(reply, "result", result);
	json_object_object_add(reply, "id", json_object_get(id));
	text = strdup(json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN));
	json_object_put(reply);
	json_object_put(req);
	return text;
}

static enum MHD_Result srv_handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
	struct rx_upload *up;
	struct MHD_Response *resp;
	const char *auth;
	unsigned status;
	enum MHD_Result ret;
	char *answer;

	(void)cls;
	(void)version;
	if (rx_upload_gather(con_cls, upload_data, upload_data_size, &ret))
		return ret;
	up = *con_cls;
	auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	pthread_mutex_lock(&srv.lock);
	srv.requests++;
	snprintf(srv.method, sizeof(srv.method), "%s", method);
	snprintf(srv.path, sizeof(srv.path), "%s", url);
	snprintf(srv.auth, sizeof(srv.auth), "%s", auth ? auth : "");
	if ((srv.want_method && strcmp(method, srv.want_method) != 0) ||
	    (srv.want_path && strcmp(url, srv.want_path) != 0))
		srv.unexpected++;
	if (srv.rpc) {
		answer = rpc_answer(up->data, auth);
		status = MHD_HTTP_OK;
	} else {
		answer = strdup(srv.body ? srv.body : "");
		status = srv.status;
	}
	pthread_mutex_unlock(&srv.lock);
	if (!answer)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(strlen(answer), answer, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(answer);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void srv_start(const char *want_method, const char *want_path)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	const union MHD_DaemonInfo *info;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	srv.want_method = want_method;
	srv.want_path = want_path;
	srv.status = MHD_HTTP_OK;
	srv.calls = json_object_new_array();
	srv.problems = json_object_new_array();
	srv.triggers = json_object_new_object();
	srv.hosts = json_object_new_object();
	srv.mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, srv_handle, NULL,
	                           MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin, MHD_OPTION_NOTIFY_COMPLETED,
	                           rx_upload_completed, NULL, MHD_OPTION_END);
	ck_assert_ptr_nonnull(srv.mhd);
	info = MHD_get_daemon_info(srv.mhd, MHD_DAEMON_INFO_BIND_PORT);
	ck_assert_ptr_nonnull(info);
	srv.port = info->port;
	ck_assert_uint_gt(srv.port, 0);
}

/* Stop serving (the daemon then meets a refused connection) and forget everything. */
static void srv_stop(void)
{
	if (srv.mhd)
		MHD_stop_daemon(srv.mhd);
	srv.mhd = NULL;
	free(srv.body);
	srv.body = NULL;
	json_object_put(srv.calls);
	json_object_put(srv.problems);
	json_object_put(srv.triggers);
	json_object_put(srv.hosts);
	srv.calls = srv.problems = srv.triggers = srv.hosts = NULL;
}

static void srv_set_reply(unsigned status, const char *body)
{
	pthread_mutex_lock(&srv.lock);
	free(srv.body);
	srv.body = strdup(body);
	srv.status = status;
	pthread_mutex_unlock(&srv.lock);
}

static unsigned srv_requests(void)
{
	unsigned n;

	pthread_mutex_lock(&srv.lock);
	n = srv.requests;
	pthread_mutex_unlock(&srv.lock);
	return n;
}

/* The last request's method, path and Authorization header. */
struct last_request {
	char method[16], path[256], auth[256];
	unsigned unexpected;
};

static struct last_request srv_last_request(void)
{
	struct last_request r;

	pthread_mutex_lock(&srv.lock);
	memcpy(r.method, srv.method, sizeof(r.method));
	memcpy(r.path, srv.path, sizeof(r.path));
	memcpy(r.auth, srv.auth, sizeof(r.auth));
	r.unexpected = srv.unexpected;
	pthread_mutex_unlock(&srv.lock);
	return r;
}

/* Wait for @p more requests after the @p since-th: polls the daemon made, whatever it made of them. */
static void srv_wait_requests(unsigned since, unsigned more)
{
	int64_t deadline = ph_now_ms() + WAIT_MS;

	while (srv_requests() < since + more && ph_now_ms() < deadline) {
		ck_assert_msg(daemon_alive(), "the daemon exited");
		sleep_ms(STEP_MS);
	}
	ck_assert_uint_ge(srv_requests(), since + more);
}

/* Calls of @p method received so far (JSON-RPC). */
static size_t srv_calls_of(const char *method)
{
	size_t n = 0;

	pthread_mutex_lock(&srv.lock);
	for (size_t i = 0; i < json_object_array_length(srv.calls); i++) {
		struct json_object *c = json_object_array_get_idx(srv.calls, i);

		n += strcmp(json_object_get_string(json_object_object_get(c, "method")), method) == 0;
	}
	pthread_mutex_unlock(&srv.lock);
	return n;
}

static void srv_wait_calls(const char *method, size_t want)
{
	int64_t deadline = ph_now_ms() + WAIT_MS;

	while (srv_calls_of(method) < want && ph_now_ms() < deadline) {
		ck_assert_msg(daemon_alive(), "the daemon exited");
		sleep_ms(STEP_MS);
	}
	ck_assert_uint_ge(srv_calls_of(method), want);
}

/* The last call of @p method (a new reference), or NULL. */
static struct json_object *srv_last_call(const char *method)
{
	struct json_object *found = NULL, *copy = NULL;

	pthread_mutex_lock(&srv.lock);
	for (size_t i = 0; i < json_object_array_length(srv.calls); i++) {
		struct json_object *c = json_object_array_get_idx(srv.calls, i);

		if (strcmp(json_object_get_string(json_object_object_get(c, "method")), method) == 0)
			found = c;
	}
	if (found && json_object_deep_copy(found, &copy, NULL) != 0)
		copy = NULL;
	pthread_mutex_unlock(&srv.lock);
	return copy;
}

/* ---- Prometheus ------------------------------------------------------------------------------ */

static struct json_object *prom_alert(const char *name, const char *state, const char *active_at,
                                      const char *severity, const char *instance)
{
	struct json_object *a = json_object_new_object(), *labels = json_object_new_object();

	json_object_object_add(labels, "alertname", json_object_new_string(name));
	if (severity)
		json_object_object_add(labels, "severity", json_object_new_string(severity));
	if (instance)
		json_object_object_add(labels, "instance", json_object_new_string(instance));
	json_object_object_add(a, "labels", labels);
	json_object_object_add(a, "annotations", json_object_new_object());
	json_object_object_add(a, "state", json_object_new_string(state));
	json_object_object_add(a, "activeAt", json_object_new_string(active_at));
	json_object_object_add(a, "value", json_object_new_string("1e+00"));
	return a;
}

/* Answer {"status":"success","data":{"alerts":ALERTS}} (ALERTS borrowed). */
static void prom_serve(struct json_object *alerts)
{
	struct json_object *body = json_object_new_object(), *data = json_object_new_object();

	json_object_object_add(data, "alerts", json_object_get(alerts));
	json_object_object_add(body, "status", json_object_new_string("success"));
	json_object_object_add(body, "data", data);
	srv_set_reply(MHD_HTTP_OK, json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN));
	json_object_put(body);
}

static void prom_config(const char *name, bool disable_seeding)
{
	/* A trailing "/" on the base URL: stripped before /api/v1/alerts is appended. */
	config_write(name, "[prometheus]\nurl = http://127.0.0.1:%u/\npoll_interval = 1\ntimeout = 2\n%s", srv.port,
	             disable_seeding ? "disable_seeding = true\n" : "");
}

START_TEST(prometheus_seeding_and_new_alerts)
{
	struct json_object *samples = json_load(PROMETHEUS_ALERTS), *alerts = json_object_new_array(), *all, *msg;
	struct last_request last;
	unsigned seen;

	env_setup();
	srv_start("GET", "/api/v1/alerts");
	/* Present at start-up: seeded, never sent. */
	json_object_array_add(alerts, json_object_get(json_object_array_get_idx(samples, 0)));
	prom_serve(alerts);
	prom_config("prometheus", false);
	daemon_start("prometheus", "prometheus");

	srv_wait_requests(0, 2);
	last = srv_last_request();
	ck_assert_str_eq(last.method, "GET");
	ck_assert_str_eq(last.path, "/api/v1/alerts");
	ck_assert_uint_eq(last.unexpected, 0);
	ck_assert_uint_eq(outputs_count(), 0);

	/* One new firing alert, and others not firing. */
	json_object_array_add(alerts, prom_alert("HighCpuLoad", "firing", "2026-01-01T10:00:00Z", "warning",
	                                         "web-1:9100"));
	json_object_array_add(alerts, prom_alert("DiskAlmostFull", "pending", "2026-01-01T10:01:00Z", "critical",
	                                         "db-1:9100"));
	json_object_array_add(alerts, prom_alert("SlowQueries", "inactive", "2026-01-01T10:02:00Z", "low",
	                                         "db-2:9100"));
	prom_serve(alerts);
	ck_assert_uint_eq(outputs_wait(1), 1);
	/* Several more polls return the same alerts: nothing more is sent. */
	seen = srv_requests();
	srv_wait_requests(seen, 3);
	all = outputs_read();
	ck_assert_uint_eq(json_object_array_length(all), 1);
	msg = json_object_array_get_idx(all, 0);
	assert_common(msg, "prometheus");
	assert_str(msg, "/Description", "HighCpuLoad");
	assert_str(msg, "/Priority", "Medium");
	assert_str(msg, "/Category/0", "Availability.Failure");
	assert_str(msg, "/Source/0/Hostname", "web-1");
	assert_str(msg, "/CreateTime", "2026-01-01T10:00:00.000000Z");
	json_object_put(all);

	/* The pending alert starts firing (same activeAt and labels): sent now, once. */
	json_object_array_put_idx(alerts, 2, prom_alert("DiskAlmostFull", "firing", "2026-01-01T10:01:00Z", "critical",
	                                                 "db-1:9100"));
	prom_serve(alerts);
	ck_assert_uint_eq(outputs_wait(2), 2);
	seen = srv_requests();
	srv_wait_requests(seen, 2);
	ck_assert_uint_eq(outputs_count(), 2);

	daemon_stop();
	srv_stop();
	json_object_put(alerts);
	json_object_put(samples);
	env_done();
}
END_TEST

START_TEST(prometheus_disable_seeding)
{
	struct json_object *alerts = json_load(PROMETHEUS_ALERTS), *docs = json_load(PROMETHEUS_DOCS_RESPONSE);
	struct json_object *docs_alert = NULL, *all, *msg;
	unsigned seen;

	env_setup();
	srv_start("GET", "/api/v1/alerts");
	/* The Prometheus documentation's alert: neither severity nor instance label. */
	ck_assert_int_eq(json_pointer_get(docs, "/data/alerts/0", &docs_alert), 0);
	json_object_array_add(alerts, json_object_get(docs_alert));
	prom_serve(alerts);
	prom_config("prometheus", true);
	daemon_start("prometheus", "prometheus");

	ck_assert_uint_eq(outputs_wait(3), 3);
	seen = srv_requests();
	srv_wait_requests(seen, 2);
	all = outputs_read();
	ck_assert_uint_eq(json_object_array_length(all), 3);

	msg = output_find(all, "/Description", "InstanceDown");
	assert_common(msg, "prometheus");
	assert_str(msg, "/CreateTime", "2018-07-04T20:27:12.606021+02:00");
	assert_str(msg, "/Category/0", "Availability.Outage");
	assert_str(msg, "/Priority", "High");
	assert_str(msg, "/Source/0/Hostname", "node-1");

	msg = output_find(all, "/Description", "SomethingElse");
	assert_str(msg, "/Priority", "Medium");
	assert_str(msg, "/Category/0", "Other.Uncategorised");
	assert_str(msg, "/Source/0/Hostname", "2001:db8::1");

	msg = output_find(all, "/Description", "my-alert");
	assert_str(msg, "/Priority", "Unknown");
	assert_str(msg, "/Source/0/Hostname", "unknown");
	json_object_put(all);

	daemon_stop();
	srv_stop();
	json_object_put(alerts);
	json_object_put(docs);
	env_done();
}
END_TEST

START_TEST(prometheus_errors_do_not_stop_polling)
{
	struct json_object *alerts = json_object_new_array(), *all;
	unsigned seen;

	env_setup();
	srv_start("GET", "/api/v1/alerts");
	/* An error status with alerts in it: the reply is refused, its alerts are not taken. */
	srv_set_reply(MHD_HTTP_OK, "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"query failed\","
	                           "\"data\":{\"alerts\":[{\"state\":\"firing\",\"activeAt\":\"2026-03-01T08:00:00Z\","
	                           "\"labels\":{\"alertname\":\"TargetDown\",\"severity\":\"critical\","
	                           "\"instance\":\"app-1:8080\"}}]}}");
	prom_config("prometheus", true);
	daemon_start("prometheus", "prometheus");

	srv_wait_requests(0, 2);
	ck_assert_uint_eq(outputs_count(), 0);

	seen = srv_requests();
	srv_set_reply(MHD_HTTP_INTERNAL_SERVER_ERROR, "{\"status\":\"error\",\"error\":\"internal\"}");
	srv_wait_requests(seen, 2);
	seen = srv_requests();
	srv_set_reply(MHD_HTTP_OK, "<html>not JSON</html>");
	srv_wait_requests(seen, 2);
	ck_assert_msg(daemon_alive(), "the daemon exited on a bad reply");
	ck_assert_uint_eq(outputs_count(), 0);

	/* The next good poll works, and the alert the error reply carried was not marked seen. */
	json_object_array_add(alerts, prom_alert("TargetDown", "firing", "2026-03-01T08:00:00Z", "critical",
	                                         "app-1:8080"));
	prom_serve(alerts);
	ck_assert_uint_eq(outputs_wait(1), 1);
	all = outputs_read();
	assert_str(json_object_array_get_idx(all, 0), "/Description", "TargetDown");
	assert_str(json_object_array_get_idx(all, 0), "/Source/0/Hostname", "app-1");
	assert_str(json_object_array_get_idx(all, 0), "/Category/0", "Availability.Outage");
	json_object_put(all);

	daemon_stop();
	srv_stop();
	json_object_put(alerts);
	env_done();
}
END_TEST

START_TEST(prometheus_state_across_restart)
{
	struct json_object *alerts = json_load(PROMETHEUS_ALERTS), *all;
	char state[256];
	struct stat st;
	unsigned seen;

	env_setup();
	srv_start("GET", "/api/v1/alerts");
	prom_serve(alerts);
	/* Without seeding, only the saved state can keep a restart from sending them again. */
	prom_config("prometheus", true);
	daemon_start("prometheus", "prometheus");
	ck_assert_uint_eq(outputs_wait(2), 2);
	daemon_stop();
	path_in_tmp(state, sizeof(state), "state/seen.state");
	ck_assert_int_eq(stat(state, &st), 0);
	ck_assert_int_gt(st.st_size, 0);

	seen = srv_requests();
	daemon_start("prometheus", "prometheus");
	srv_wait_requests(seen, 3);
	ck_assert_uint_eq(outputs_count(), 2);

	json_object_array_add(alerts, prom_alert("HighMemoryUsage", "firing", "2026-01-02T00:00:00Z", "info",
	                                         "cache-1:9100"));
	prom_serve(alerts);
	ck_assert_uint_eq(outputs_wait(3), 3);
	seen = srv_requests();
	srv_wait_requests(seen, 2);
	all = outputs_read();
	ck_assert_uint_eq(json_object_array_length(all), 3);
	output_find(all, "/Description", "InstanceDown");
	output_find(all, "/Description", "SomethingElse");
	assert_str(output_find(all, "/Description", "HighMemoryUsage"), "/Priority", "Info");
	json_object_put(all);

	daemon_stop();
	srv_stop();
	json_object_put(alerts);
	env_done();
}
END_TEST

/* ---- Kismet ---------------------------------------------------------------------------------- */

static struct json_object *kismet_alert(double ts, int severity, const char *header, const char *mac,
                                        const char *text)
{
	struct json_object *a = json_object_new_object();

	json_object_object_add(a, "kismet.alert.timestamp", json_object_new_double(ts));
	json_object_object_add(a, "kismet.alert.severity", json_object_new_int(severity));
	json_object_object_add(a, "kismet.alert.header", json_object_new_string(header));
	json_object_object_add(a, "kismet.alert.source_mac", json_object_new_string(mac));
	json_object_object_add(a, "kismet.alert.text", json_object_new_string(text));
	return a;
}

static void kismet_serve(struct json_object *alerts)
{
	srv_set_reply(MHD_HTTP_OK, json_object_to_json_string_ext(alerts, JSON_C_TO_STRING_PLAIN));
}

START_TEST(kismet_auth_seeding_and_repeats)
{
	struct json_object *alerts = json_load(KISMET_ALERTS), *all, *msg;
	struct last_request last;
	unsigned seen;

	env_setup();
	srv_start("GET", "/alerts/all_alerts.json");
	kismet_serve(alerts);
	config_write("kismet",
	             "[kismet]\nurl = http://127.0.0.1:%u/alerts/all_alerts.json\nusername = kismet\n"
	             "password = s3cret!\npolling_interval = 1\ntimeout = 2\n",
	             srv.port);
	daemon_start("kismet", "kismet");

	srv_wait_requests(0, 2);
	last = srv_last_request();
	ck_assert_str_eq(last.method, "GET");
	ck_assert_str_eq(last.path, "/alerts/all_alerts.json");
	/* base64("kismet:s3cret!") */
	ck_assert_str_eq(last.auth, "Basic a2lzbWV0OnMzY3JldCE=");
	ck_assert_uint_eq(last.unexpected, 0);
	ck_assert_uint_eq(outputs_count(), 0);

	json_object_array_add(alerts, kismet_alert(1000, 20, "DEAUTHFLOOD", "00:11:22:33:44:55",
	                                           "deauthentication flood on channel 6"));
	kismet_serve(alerts);
	ck_assert_uint_eq(outputs_wait(1), 1);
	all = outputs_read();
	msg = json_object_array_get_idx(all, 0);
	assert_common(msg, "kismet");
	assert_str(msg, "/Description", "DEAUTHFLOOD");
	assert_str(msg, "/Priority", "High");
	assert_str(msg, "/CreateTime", "1970-01-01T00:16:40.000000Z");
	assert_str(msg, "/Source/0/Note", "MAC: 00:11:22:33:44:55 - deauthentication flood on channel 6");
	json_object_put(all);

	/*
	 * The same header and text 1.5 s later: Kismet's repeat of one event,
	 * ignored. Another alert, and the first one again 9 s later: both sent.
	 */
	json_object_array_add(alerts, kismet_alert(1001.5, 20, "DEAUTHFLOOD", "00:11:22:33:44:55",
	                                           "deauthentication flood on channel 6"));
	json_object_array_add(alerts, kismet_alert(1005, 7, "APSPOOF", "66:77:88:99:aa:bb",
	                                           "spoofed beacon for SSID corp"));
	json_object_array_add(alerts, kismet_alert(1010, 20, "DEAUTHFLOOD", "00:11:22:33:44:55",
	                                           "deauthentication flood on channel 6"));
	kismet_serve(alerts);
	ck_assert_uint_eq(outputs_wait(3), 3);
	seen = srv_requests();
	srv_wait_requests(seen, 2);
	all = outputs_read();
	ck_assert_uint_eq(json_object_array_length(all), 3);
	msg = output_find(all, "/Description", "APSPOOF");
	assert_str(msg, "/Priority", "Low");
	assert_str(msg, "/Source/0/Note", "MAC: 66:77:88:99:aa:bb - spoofed beacon for SSID corp");
	output_find(all, "/CreateTime", "1970-01-01T00:16:40.000000Z");
	output_find(all, "/CreateTime", "1970-01-01T00:16:50.000000Z");
	json_object_put(all);

	daemon_stop();
	srv_stop();
	json_object_put(alerts);
	env_done();
}
END_TEST

/* ---- Zabbix ---------------------------------------------------------------------------------- */

static struct json_object *zbx_problem(const char *eventid, const char *objectid, const char *clock,
                                       const char *severity, const char *name)
{
	struct json_object *p = json_object_new_object();

	json_object_object_add(p, "eventid", json_object_new_string(eventid));
	json_object_object_add(p, "source", json_object_new_string("0"));
	json_object_object_add(p, "object", json_object_new_string("0"));
	json_object_object_add(p, "objectid", json_object_new_string(objectid));
	json_object_object_add(p, "clock", json_object_new_string(clock));
	json_object_object_add(p, "ns", json_object_new_string("0"));
	json_object_object_add(p, "name", json_object_new_string(name));
	json_object_object_add(p, "severity", json_object_new_string(severity));
	json_object_object_add(p, "acknowledged", json_object_new_string("0"));
	return p;
}

static void zbx_add_problem(struct json_object *problem)
{
	pthread_mutex_lock(&srv.lock);
	json_object_array_add(srv.problems, problem);
	pthread_mutex_unlock(&srv.lock);
}

/* trigger → host (id, name) → interfaces (JSON text). */
static void zbx_add_host(const char *triggerid, const char *hostid, const char *name, const char *interfaces)
{
	struct json_object *hosts = json_object_new_array(), *h = json_object_new_object();

	json_object_object_add(h, "hostid", json_object_new_string(hostid));
	json_object_object_add(h, "name", json_object_new_string(name));
	json_object_array_add(hosts, h);
	pthread_mutex_lock(&srv.lock);
	json_object_object_add(srv.triggers, triggerid, hosts);
	json_object_object_add(srv.hosts, hostid, json_tokener_parse(interfaces));
	pthread_mutex_unlock(&srv.lock);
}

static void assert_call(struct json_object *call, const char *params_pointer, const char *want)
{
	ck_assert_ptr_nonnull(call);
	assert_str(call, params_pointer, want);
}

/* The Zabbix server as Target: the host and port of [zabbix] url. */
static void assert_zabbix_target(struct json_object *msg)
{
	assert_str(msg, "/Target/0/Hostname", "127.0.0.1");
	assert_str(msg, "/Target/0/IP", "127.0.0.1");
	assert_int(msg, "/Target/0/Port/0", srv.port);
	ck_assert_uint_eq(json_object_array_length(at(msg, "/Target/0/Port")), 1);
}

START_TEST(zabbix_polling)
{
	struct json_object *all, *msg, *call;
	char want_auth[64];
	size_t polls;

	env_setup();
	srv_start("POST", "/api_jsonrpc.php");
	srv.rpc = true;
	zbx_add_problem(zbx_problem("100", "13490", "1699990000", "2", "old problem on host-a"));
	zbx_add_host("13491", "10084", "host-a",
	             "[{\"type\":\"2\",\"ip\":\"10.9.9.9\",\"dns\":\"\",\"port\":\"161\"},"
	             "{\"type\":\"1\",\"ip\":\"10.0.0.7\",\"dns\":\"host-a.example.net\",\"port\":\"10050\"}]");
	config_write("zabbix",
	             "[connector]\nmode = polling\n\n[zabbix]\nurl = http://127.0.0.1:%u/api_jsonrpc.php\n"
	             "user = Admin\npassword = zabbix\npoll_interval = 1\ntimeout = 2\n",
	             srv.port);
	daemon_start("zabbix", "zabbix");

	/* Logged in, then problem.get with the token; what is there at start-up is seeded. */
	srv_wait_calls("problem.get", 2);
	ck_assert_uint_eq(srv_last_request().unexpected, 0);
	call = srv_last_call("user.login");
	assert_call(call, "/params/username", "Admin");
	assert_call(call, "/params/password", "zabbix");
	assert_str(call, "/jsonrpc", "2.0");
	json_object_put(call);
	call = srv_last_call("problem.get");
	assert_call(call, "/auth", "Bearer tok-1");
	assert_str(call, "/jsonrpc", "2.0");
	json_object_put(call);
	ck_assert_uint_eq(outputs_count(), 0);

	zbx_add_problem(zbx_problem("101", "13491", "1700000000", "4", "host-a unreachable"));
	ck_assert_uint_eq(outputs_wait(1), 1);
	all = outputs_read();
	msg = json_object_array_get_idx(all, 0);
	assert_common(msg, "zabbix");
	assert_str(msg, "/Description", "host-a unreachable");
	assert_str(msg, "/Priority", "High");
	assert_str(msg, "/Category/0", "Availability.Outage");
	assert_str(msg, "/CreateTime", "2023-11-14T22:13:20.000000Z");
	/* The monitored host, through trigger.get and host.get: its agent interface (type 1). */
	assert_str(msg, "/Source/0/Hostname", "host-a");
	assert_str(msg, "/Source/0/IP", "10.0.0.7");
	assert_int(msg, "/Source/0/Port/0", 10050);
	assert_zabbix_target(msg);
	json_object_put(all);
	call = srv_last_call("trigger.get");
	assert_call(call, "/params/triggerids/0", "13491");
	assert_call(call, "/auth", "Bearer tok-1");
	json_object_put(call);
	call = srv_last_call("host.get");
	assert_call(call, "/params/hostids/0", "10084");
	assert_call(call, "/auth", "Bearer tok-1");
	json_object_put(call);

	/* The session expires: problem.get answers an error object; the daemon logs in again. */
	pthread_mutex_lock(&srv.lock);
	srv.token[0] = '\0';
	pthread_mutex_unlock(&srv.lock);
	zbx_add_problem(zbx_problem("102", "13491", "1700000060", "5", "High CPU load on host-a"));
	ck_assert_uint_eq(outputs_wait(2), 2);
	ck_assert_uint_eq(srv_calls_of("user.login"), 2);
	call = srv_last_call("problem.get");
	snprintf(want_auth, sizeof(want_auth), "Bearer tok-%zu", srv_calls_of("user.login"));
	assert_call(call, "/auth", want_auth);
	json_object_put(call);
	all = outputs_read();
	msg = output_find(all, "/Description", "High CPU load on host-a");
	/* Zabbix's disaster (5) has no IDMEFv2 level above High. */
	assert_str(msg, "/Priority", "High");
	assert_str(msg, "/Category/0", "Availability.Failure");
	assert_str(msg, "/Source/0/IP", "10.0.0.7");
	assert_zabbix_target(msg);
	output_find(all, "/Description", "host-a unreachable");
	json_object_put(all);

	/* Enrichment failing: the problem is not sent unenriched, and it is once trigger.get works again. */
	zbx_add_host("13492", "10085", "host-b", "[{\"type\":\"1\",\"ip\":\"10.0.0.8\",\"dns\":\"\",\"port\":\"10050\"}]");
	pthread_mutex_lock(&srv.lock);
	srv.fail_method = "trigger.get";
	pthread_mutex_unlock(&srv.lock);
	zbx_add_problem(zbx_problem("103", "13492", "1700000120", "1", "host-b: agent restarted"));
	srv_wait_calls("trigger.get", srv_calls_of("trigger.get") + 2);
	ck_assert_uint_eq(outputs_count(), 2);
	pthread_mutex_lock(&srv.lock);
	srv.fail_method = NULL;
	pthread_mutex_unlock(&srv.lock);
	ck_assert_uint_eq(outputs_wait(3), 3);
	polls = srv_calls_of("problem.get");
	srv_wait_calls("problem.get", polls + 2);
	all = outputs_read();
	ck_assert_uint_eq(json_object_array_length(all), 3);
	msg = output_find(all, "/Description", "host-b: agent restarted");
	assert_str(msg, "/Priority", "Info");
	assert_str(msg, "/Source/0/Hostname", "host-b");
	assert_str(msg, "/Source/0/IP", "10.0.0.8");
	json_object_put(all);

	daemon_stop();
	srv_stop();
	env_done();
}
END_TEST

static unsigned free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

static int connect_to(unsigned port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void wait_listening(unsigned port)
{
	int64_t deadline = ph_now_ms() + WAIT_MS;
	int fd;

	while ((fd = connect_to(port)) < 0 && ph_now_ms() < deadline) {
		ck_assert_msg(daemon_alive(), "the daemon exited");
		sleep_ms(STEP_MS);
	}
	ck_assert_msg(fd >= 0, "nothing listens on 127.0.0.1:%u", port);
	close(fd);
}

/* POST @p body to http://127.0.0.1:PORT/alert; returns the status code. */
static int http_post(unsigned port, const char *path, const char *body)
{
	char req[2048], resp[4096];
	size_t got = 0;
	ssize_t n;
	int fd = connect_to(port), status = -1;
	struct timeval tv = { .tv_sec = 15 };

	ck_assert_int_ge(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	snprintf(req, sizeof(req),
	         "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nContent-Type: application/json\r\n"
	         "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
	         path, port, strlen(body), body);
	ck_assert_int_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	while (got < sizeof(resp) - 1 && (n = read(fd, resp + got, sizeof(resp) - 1 - got)) > 0)
		got += (size_t)n;
	resp[got] = '\0';
	close(fd);
	ck_assert_msg(sscanf(resp, "HTTP/1.%*d %d", &status) == 1, "no HTTP status in '%s'", resp);
	return status;
}

START_TEST(zabbix_push)
{
	struct json_object *all, *msg, *call;
	unsigned port = free_port();

	env_setup();
	srv_start("POST", "/api_jsonrpc.php");
	srv.rpc = true;
	zbx_add_problem(zbx_problem("200", "13500", "1700000100", "3", "db-1 is down"));
	zbx_add_host("13500", "10090", "db-1",
	             "[{\"type\":\"1\",\"ip\":\"192.0.2.10\",\"dns\":\"\",\"port\":\"10051\"}]");
	config_write("zabbix",
	             "[connector]\nmode = push\nlisten_address = 127.0.0.1\nlisten_port = %u\n\n"
	             "[zabbix]\nurl = http://127.0.0.1:%u/api_jsonrpc.php\nuser = Admin\npassword = zabbix\n"
	             "timeout = 2\n",
	             port, srv.port);
	daemon_start("zabbix", "zabbix");
	wait_listening(port);

	ck_assert_int_eq(http_post(port, "/alert", "{\"eventid\":\"200\"}"), 200);
	ck_assert_uint_eq(outputs_wait(1), 1);
	call = srv_last_call("problem.get");
	assert_call(call, "/params/eventids/0", "200");
	assert_call(call, "/auth", "Bearer tok-1");
	json_object_put(call);
	call = srv_last_call("trigger.get");
	assert_call(call, "/params/triggerids/0", "13500");
	json_object_put(call);
	call = srv_last_call("host.get");
	assert_call(call, "/params/hostids/0", "10090");
	json_object_put(call);
	all = outputs_read();
	msg = json_object_array_get_idx(all, 0);
	assert_common(msg, "zabbix");
	assert_str(msg, "/Description", "db-1 is down");
	assert_str(msg, "/Priority", "Medium");
	assert_str(msg, "/Category/0", "Availability.Outage");
	assert_str(msg, "/CreateTime", "2023-11-14T22:15:00.000000Z");
	assert_str(msg, "/Source/0/Hostname", "db-1");
	assert_str(msg, "/Source/0/IP", "192.0.2.10");
	assert_int(msg, "/Source/0/Port/0", 10051);
	assert_zabbix_target(msg);
	json_object_put(all);

	/* Refused as bad input: no eventid, an eventid Zabbix does not know, not JSON. */
	ck_assert_int_eq(http_post(port, "/alert", "{\"event\":\"200\"}"), 400);
	ck_assert_int_eq(http_post(port, "/alert", "{\"eventid\":\"999\"}"), 400);
	ck_assert_int_eq(http_post(port, "/alert", "{\"eventid\":"), 400);
	ck_assert_uint_eq(srv_calls_of("problem.get"), 2);

	/* The Zabbix API down: try again later. */
	srv_stop();
	ck_assert_int_eq(http_post(port, "/alert", "{\"eventid\":\"200\"}"), 503);
	ck_assert_uint_eq(outputs_count(), 1);

	daemon_stop();
	env_done();
}
END_TEST

/* ---- ClamAV ---------------------------------------------------------------------------------- */

/* mkdir -p TMPDIR/REL */
static void mkdirs(const char *rel)
{
	char path[512];

	path_in_tmp(path, sizeof(path), rel);
	for (char *s = path + strlen(tmpdir) + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		ck_assert_msg(mkdir(path, 0755) == 0 || errno == EEXIST, "%s: %s", path, strerror(errno));
		*s = '/';
	}
	ck_assert_msg(mkdir(path, 0755) == 0 || errno == EEXIST, "%s: %s", path, strerror(errno));
}

/* Write TMPDIR/REL/metadata.json as clamd does: in a directory made just before. */
static void clamd_write(const char *rel, const char *text)
{
	char path[512];

	mkdirs(rel);
	/*
	 * Let the watcher add the new directories first, so the file is reported
	 * by its close alone (the watcher reports a file that is being written
	 * while it scans a new directory twice, by design).
	 */
	sleep_ms(200);
	snprintf(path, sizeof(path), "%s/%s/metadata.json", tmpdir, rel);
	file_write(path, text);
}

START_TEST(clamav_tree)
{
	char *meta1 = file_read(CLAMAV_METADATA_1), *meta2 = file_read(CLAMAV_METADATA_2);
	char stage[256], dest[256], path[512];
	struct json_object *all, *msg;

	ck_assert_ptr_nonnull(meta1);
	ck_assert_ptr_nonnull(meta2);
	env_setup();
	mkdirs("clamav");
	config_write("clamav", "[clamav]\ntempdir = %s/clamav\n", tmpdir);
	daemon_start("clamav", "clamav");
	/* Directories made before the watch starts are not reported (by design). */
	daemon_log_wait("clamav connector started");

	clamd_write("clamav/20250602_103214-clam-fsg.exe.9f0107b44b/clam-fsg.exe.fa0f0826fc", meta1);
	ck_assert_uint_eq(outputs_wait(1), 1);
	all = outputs_read();
	msg = json_object_array_get_idx(all, 0);
	assert_common(msg, "clamav");
	assert_str(msg, "/Priority", "High");
	assert_str(msg, "/Description", "Virus found");
	assert_str(msg, "/Category/0", "Malware.Virus");
	assert_str(msg, "/Attachment/0/Name", "virus");
	assert_str(msg, "/Attachment/0/FileName", "clam-fsg.exe");
	assert_str(msg, "/Attachment/0/Hash/0", "md5:c6ccf4ddbccbcaa01b441690a329d1b0");
	assert_int(msg, "/Attachment/0/Size", 6656);
	assert_str(msg, "/Attachment/0/Note", "Virus found: Clamav.Test.File-6");
	json_object_put(all);

	/* A malformed metadata.json is skipped; the next one converts. */
	clamd_write("clamav/20250602_103218-broken.bin.0123456789", "{\"Magic\":\"CLAMJSONv0\",\"FileName\":");
	clamd_write("clamav/20250602_103220-clam.7z.f8feb03eb8/clam.7z.26c142e47a", meta2);
	ck_assert_uint_eq(outputs_wait(2), 2);
	all = outputs_read();
	msg = output_find(all, "/Attachment/0/FileName", "clam.7z");
	assert_str(msg, "/Attachment/0/Hash/0", "md5:30cc73fe9ec56e474c4d19c57ffe0546");
	assert_int(msg, "/Attachment/0/Size", 362);
	assert_str(msg, "/Attachment/0/Note", "Virus found: Clamav.Test.File-6");
	json_object_put(all);
	daemon_log_wait("broken.bin.0123456789/metadata.json:2: malformed JSON");

	/* A whole tree moved in at once (made elsewhere first): its file is found too. */
	mkdirs("stage/20250602_103230-clam-fsg.exe.aa11bb22cc/clam-fsg.exe.dd33ee44ff");
	snprintf(path, sizeof(path), "%s/stage/20250602_103230-clam-fsg.exe.aa11bb22cc/clam-fsg.exe.dd33ee44ff/metadata.json",
	         tmpdir);
	file_write(path, meta1);
	path_in_tmp(stage, sizeof(stage), "stage/20250602_103230-clam-fsg.exe.aa11bb22cc");
	path_in_tmp(dest, sizeof(dest), "clamav/20250602_103230-clam-fsg.exe.aa11bb22cc");
	ck_assert_int_eq(rename(stage, dest), 0);
	ck_assert_uint_eq(outputs_wait(3), 3);

	/* Each converted once: nothing more comes. */
	sleep_ms(1000);
	ck_assert_uint_eq(outputs_count(), 3);

	daemon_stop();
	free(meta1);
	free(meta2);
	env_done();
}
END_TEST

static Suite *pollers_suite(void)
{
	Suite *s = suite_create("connector-pollers");
	TCase *tc = tcase_create("daemon");

	tcase_add_unchecked_fixture(tc, root_setup, root_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, prometheus_seeding_and_new_alerts);
	tcase_add_test(tc, prometheus_disable_seeding);
	tcase_add_test(tc, prometheus_errors_do_not_stop_polling);
	tcase_add_test(tc, prometheus_state_across_restart);
	tcase_add_test(tc, kismet_auth_seeding_and_repeats);
	tcase_add_test(tc, zabbix_polling);
	tcase_add_test(tc, zabbix_push);
	tcase_add_test(tc, clamav_tree);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return ph_run_suite(pollers_suite());
}
