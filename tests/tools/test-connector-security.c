/* SPDX-License-Identifier: Apache-2.0 */
/*
 * idmefv2-connector against hostile local users, run for real:
 *  - Suricata's Unix socket: created 0660, so that uid 65534 gets EACCES and
 *    cannot forge an alert; idle writers filling every slot do not keep a new
 *    writer (Suricata) out for longer than the idle timeout;
 *  - Zabbix push webhook: 401 without the shared token and no Zabbix API call;
 *    300 authenticated pushes make one login; against an API refusing every
 *    session, logins stay paced (a handful, not one per push).
 * Every message lands as a file (file:// output), which is what is counted.
 */
#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
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
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <microhttpd.h>

#include "proc-harness.h"
#include "rx-harness.h"

#define EVE SHARED_CONNECTORS_DIR "/daemon/eve-300.ndjson"
#define NOBODY 65534

/* ---- helpers ------------------------------------------------------------------------------ */

static bool wait_text(const char *path, const char *text, int64_t ms)
{
	int64_t deadline = ph_now_ms() + ms;

	do {
		char *s = ph_slurp(path);
		bool found = strstr(s, text) != NULL;

		free(s);
		if (found)
			return true;
		ph_sleep_ms(20);
	} while (ph_now_ms() < deadline);
	return false;
}

static int wait_count_json(const char *dir, int want, int64_t ms)
{
	int64_t deadline = ph_now_ms() + ms;
	int n;

	while ((n = ph_count_json(dir)) < want && ph_now_ms() < deadline)
		ph_sleep_ms(20);
	return n;
}

/* A test directory that other users may traverse (the socket's mode alone must keep them out). */
static char *make_dir(void)
{
	char *dir = strdup("/tmp/test-connsec-XXXXXX"), out[512];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chmod(dir, 0755), 0);
	snprintf(out, sizeof(out), "%s/out", dir);
	ck_assert_int_eq(mkdir(out, 0755), 0);
	return dir;
}

/* DIR/NAME.conf: the output to DIR/out, state in DIR/state, log in DIR/daemon.log, then @p fmt. */
static void conf_write(const char *dir, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void conf_write(const char *dir, const char *name, const char *fmt, ...)
{
	char path[512];
	FILE *f;
	va_list ap;

	snprintf(path, sizeof(path), "%s/%s.conf", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "[idmefv2]\nurl = file://%s/out\n\n[state]\ndir = %s/state\n\n[logging]\nlevel = DEBUG\nfile = %s/daemon.log\n\n",
	        dir, dir, dir);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	ck_assert_int_eq(fclose(f), 0);
}

struct daemon {
	pid_t pid;
	char log[512];
};

static void daemon_start(struct daemon *d, const char *dir, const char *tool)
{
	char conf[512], errpath[512];

	snprintf(conf, sizeof(conf), "%s/%s.conf", dir, tool);
	snprintf(d->log, sizeof(d->log), "%s/daemon.log", dir);
	snprintf(errpath, sizeof(errpath), "%s/daemon.stderr", dir);
	d->pid = ph_spawn((const char *const[]){ IDMEFV2_CONNECTOR_PATH, tool, "-c", conf, "--foreground", NULL },
	                  &(struct ph_io){ .err = errpath, .err_append = true, .mode = 0644, .die_with_parent = true });
	if (!wait_text(d->log, "connector started", 20000)) {
		char *err = ph_slurp(errpath), *log = ph_slurp(d->log);

		kill(d->pid, SIGKILL);
		waitpid(d->pid, NULL, 0);
		ck_abort_msg("the daemon did not start: %s\n%s", err, log);
	}
}

/* SIGTERM; the exit status must be 0. */
static void daemon_stop(struct daemon *d)
{
	int64_t deadline = ph_now_ms() + 30000;
	int st = 0;
	pid_t r;

	ck_assert_int_eq(kill(d->pid, SIGTERM), 0);
	while ((r = waitpid(d->pid, &st, WNOHANG)) == 0 && ph_now_ms() < deadline)
		ph_sleep_ms(20);
	if (r == 0) {
		kill(d->pid, SIGKILL);
		waitpid(d->pid, &st, 0);
		ck_abort_msg("the daemon did not stop within 30 s of SIGTERM");
	}
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
}

/* The first alert of the EVE sample, newline included (malloc'd). */
static char *eve_alert(void)
{
	char *all = ph_slurp(EVE), *nl = strchr(all, '\n');

	ck_assert_ptr_nonnull(nl);
	nl[1] = '\0';
	ck_assert_ptr_nonnull(strstr(all, "\"event_type\":\"alert\""));
	return all;
}

/* ---- Suricata's Unix socket ---------------------------------------------------------------- */

static void sock_addr(struct sockaddr_un *sun, const char *dir)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	snprintf(sun->sun_path, sizeof(sun->sun_path), "%s/eve.sock", dir);
}

static int sock_connect(const char *dir)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	sock_addr(&sun, dir);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void unix_conf(const char *dir, const char *extra)
{
	conf_write(dir, "suricata", "[suricata]\nfiletype = unix_stream\nfilename = %s/eve.sock\n%s", dir, extra);
}

/*
 * In a child running as uid/gid 65534: connect and, if that works, write a
 * forged alert. Exit 0 when connect failed with EACCES, 1 when it connected
 * (and wrote), 2 on anything else.
 */
static int foreign_user_connect(const char *dir, const char *line)
{
	pid_t pid = fork();
	int st;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd;

		if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0)
			_exit(3);
		fd = sock_connect(dir);
		if (fd < 0)
			_exit(errno == EACCES ? 0 : 2);
		if (write(fd, line, strlen(line)) < 0)
			_exit(1);
		close(fd);
		_exit(1);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	return WEXITSTATUS(st);
}

START_TEST(unix_socket_mode_and_foreign_user)
{
	char *dir = make_dir(), out[512], *alert = eve_alert();
	struct sockaddr_un sun;
	struct daemon d;
	struct stat st;
	int fd;

	snprintf(out, sizeof(out), "%s/out", dir);
	unix_conf(dir, "");
	daemon_start(&d, dir, "suricata");
	sock_addr(&sun, dir);
	ck_assert_int_eq(lstat(sun.sun_path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	if (geteuid() != 0) {
		fprintf(stderr, "unix_socket_mode_and_foreign_user: not root, so no process of uid %d can be made: "
		                "that part is skipped\n", NOBODY);
	} else {
		int rc = foreign_user_connect(dir, alert);

		ck_assert_msg(rc == 0, "uid %d %s", NOBODY,
		              rc == 1 ? "connected to the socket and wrote an alert" : "failed otherwise than EACCES");
		/* Nothing forged arrived; the legitimate writer (the daemon's own user) still delivers. */
		fd = sock_connect(dir);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(write(fd, alert, strlen(alert)), (ssize_t)strlen(alert));
		close(fd);
		ck_assert_int_eq(wait_count_json(out, 1, 10000), 1);
		ph_sleep_ms(300);
		ck_assert_int_eq(ph_count_json(out), 1);
	}
	ck_assert_msg((st.st_mode & 07777) == 0660, "the socket is mode %04o, not 0660", st.st_mode & 07777);
	daemon_stop(&d);
	free(alert);
	ph_remove_tree(dir);
	free(dir);
}
END_TEST

START_TEST(unix_socket_mode_configured)
{
	char *dir = make_dir(), extra[128];
	struct sockaddr_un sun;
	struct daemon d;
	struct stat st;
	struct group *g = getgrgid(NOBODY);

	/* A group other than ours, when root may give it (nogroup, 65534, exists on Debian). */
	if (geteuid() == 0 && g)
		snprintf(extra, sizeof(extra), "socket_mode = 0620\nsocket_group = %s\n", g->gr_name);
	else
		snprintf(extra, sizeof(extra), "socket_mode = 0620\n");
	unix_conf(dir, extra);
	daemon_start(&d, dir, "suricata");
	sock_addr(&sun, dir);
	ck_assert_int_eq(lstat(sun.sun_path, &st), 0);
	ck_assert_msg((st.st_mode & 07777) == 0620, "the socket is mode %04o, not 0620", st.st_mode & 07777);
	if (geteuid() == 0 && g)
		ck_assert_uint_eq(st.st_gid, NOBODY);
	daemon_stop(&d);
	ph_remove_tree(dir);
	free(dir);
}
END_TEST

/*
 * The reproducer: 16 idle connections (the limit) locked Suricata out. Here 20
 * idle ones are opened; a new writer must deliver within the idle timeout,
 * reconnecting as Suricata does when its connection is closed; and the idle
 * ones are closed once the timeout has passed.
 */
START_TEST(unix_idle_writers_do_not_lock_out)
{
	enum { IDLE = 20, TIMEOUT_S = 2 };
	char *dir = make_dir(), out[512], extra[64], *alert = eve_alert();
	int idle[IDLE], n = 0, attempts = 0;
	int64_t start, deadline;
	struct daemon d;

	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(extra, sizeof(extra), "writer_idle_timeout = %d\n", TIMEOUT_S);
	unix_conf(dir, extra);
	daemon_start(&d, dir, "suricata");
	for (int i = 0; i < IDLE; i++) {
		idle[i] = sock_connect(dir);
		ck_assert_int_ge(idle[i], 0);
	}
	/* Let the daemon take them all (and refuse those past the limit). */
	ph_sleep_ms(200);
	start = ph_now_ms();
	deadline = start + TIMEOUT_S * 1000 + 3000;
	while (n == 0 && ph_now_ms() < deadline) {
		int fd = sock_connect(dir);

		attempts++;
		if (fd >= 0) {
			if (write(fd, alert, strlen(alert)) == (ssize_t)strlen(alert))
				n = wait_count_json(out, 1, 400);
			close(fd);
		}
		if (n == 0)
			ph_sleep_ms(100);
	}
	ck_assert_msg(n == 1, "no alert delivered within %d ms of %d idle writers (%d attempts)",
	              TIMEOUT_S * 1000 + 3000, IDLE, attempts);
	/* The idle writers are closed by the timeout: each sees its end of stream. */
	for (int i = 0; i < IDLE; i++) {
		struct pollfd p = { .fd = idle[i], .events = POLLIN };
		char c;

		ck_assert_msg(poll(&p, 1, TIMEOUT_S * 1000 + 3000) == 1, "idle writer %d still open after the timeout", i);
		ck_assert_int_le(read(idle[i], &c, 1), 0);
		close(idle[i]);
	}
	daemon_stop(&d);
	ck_assert_int_eq(ph_count_json(out), 1);
	free(alert);
	ph_remove_tree(dir);
	free(dir);
}
END_TEST

/* ---- ZoneMinder's snapshot ------------------------------------------------------------------- */

/* The reproducer: snapshot.jpg -> a secret put the secret, base64-encoded, into the alert. */
START_TEST(zoneminder_snapshot_symlink_refused)
{
	char *dir = make_dir(), out[512], path[512], secret[512], *all = NULL;
	struct daemon d;
	DIR *od;
	struct dirent *e;
	FILE *f;

	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(secret, sizeof(secret), "%s/shadow", dir);
	f = fopen(secret, "w");
	ck_assert_ptr_nonnull(f);
	fputs("root:$6$TOPSECRET$:19000:0:99999:7:::\n", f);
	fclose(f);
	/* Two events: one whose snapshot links to the secret, one with a real image. */
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/ev%d", dir, i);
		ck_assert_int_eq(mkdir(path, 0755), 0);
		snprintf(path, sizeof(path), "%s/ev%d/snapshot.jpg", dir, i);
		if (i == 0) {
			ck_assert_int_eq(symlink(secret, path), 0);
		} else {
			f = fopen(path, "w");
			fputs("JPEG", f);
			fclose(f);
		}
	}
	snprintf(path, sizeof(path), "%s/events.json", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	for (int i = 0; i < 2; i++)
		fprintf(f, "{\"ET\":\"2026-01-14 15:58:4%d\",\"ED\":\"Motion: Plafond\",\"MN\":\"Monitor-1\",\"EDP\":\"%s/ev%d\"}\n",
		        i, dir, i);
	fclose(f);
	conf_write(dir, "zoneminder", "[zmjson]\nlogfile = %s\n[input]\nfrom_beginning = true\n", path);
	daemon_start(&d, dir, "zoneminder");
	ck_assert_int_eq(wait_count_json(out, 2, 10000), 2);
	daemon_stop(&d);
	od = opendir(out);
	ck_assert_ptr_nonnull(od);
	while ((e = readdir(od))) {
		char p2[1024], *text;

		if (e->d_name[0] == '.')
			continue;
		snprintf(p2, sizeof(p2), "%s/%s", out, e->d_name);
		text = ph_slurp(p2);
		/* "cm9vdDok" is base64 of "root:$": the secret's first bytes. */
		ck_assert_msg(!strstr(text, "cm9vdDok"), "the secret went out: %s", text);
		if (strstr(text, "SlBFRw==")) /* JPEG */
			all = text;
		else
			free(text);
	}
	closedir(od);
	ck_assert_msg(all != NULL, "the regular snapshot was not attached");
	free(all);
	ck_assert(wait_text(d.log, "snapshot.jpg is a symbolic link; refused", 1000));
	ph_remove_tree(dir);
	free(dir);
}
END_TEST

/* ---- Zabbix API server and webhook ---------------------------------------------------------- */

static struct {
	pthread_mutex_t lock;
	struct MHD_Daemon *mhd;
	unsigned port;
	unsigned calls, logins, problem_gets;
	bool refuse_sessions; /* answer every call but user.login with a session error */
} zbx = { .lock = PTHREAD_MUTEX_INITIALIZER };

static char *zbx_answer(const char *body)
{
	struct json_object *req = json_tokener_parse(body ? body : ""), *reply = json_object_new_object();
	struct json_object *m = NULL, *params = NULL, *id = NULL, *ids = NULL;
	const char *method, *result = NULL;
	char buf[512], *text;

	json_object_object_get_ex(req, "method", &m);
	json_object_object_get_ex(req, "params", &params);
	json_object_object_get_ex(req, "id", &id);
	method = m ? json_object_get_string(m) : "";
	pthread_mutex_lock(&zbx.lock);
	zbx.calls++;
	if (strcmp(method, "user.login") == 0) {
		zbx.logins++;
		result = "\"tok\"";
	} else if (zbx.refuse_sessions) {
		result = NULL;
	} else if (strcmp(method, "problem.get") == 0) {
		zbx.problem_gets++;
		json_object_object_get_ex(params, "eventids", &ids);
		snprintf(buf, sizeof(buf),
		         "[{\"eventid\":\"%s\",\"objectid\":\"13\",\"clock\":\"1700000000\",\"ns\":\"0\","
		         "\"name\":\"host unreachable\",\"severity\":\"4\"}]",
		         json_object_get_string(json_object_array_get_idx(ids, 0)));
		result = buf;
	} else if (strcmp(method, "trigger.get") == 0) {
		result = "[{\"triggerid\":\"13\",\"hosts\":[{\"hostid\":\"10\",\"name\":\"h\"}]}]";
	} else if (strcmp(method, "host.get") == 0) {
		result = "[{\"hostid\":\"10\",\"interfaces\":[{\"type\":\"1\",\"ip\":\"10.0.0.1\",\"dns\":\"\","
		         "\"port\":\"10050\"}]}]";
	}
	pthread_mutex_unlock(&zbx.lock);
	json_object_object_add(reply, "jsonrpc", json_object_new_string("2.0"));
	if (result) {
		json_object_object_add(reply, "result", json_tokener_parse(result));
	} else {
		struct json_object *e = json_object_new_object();

		json_object_object_add(e, "code", json_object_new_int(-32602));
		json_object_object_add(e, "message", json_object_new_string("Invalid params."));
		json_object_object_add(e, "data", json_object_new_string("Session terminated, re-login, please."));
		json_object_object_add(reply, "error", e);
	}
	json_object_object_add(reply, "id", json_object_get(id));
	text = strdup(json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN));
	json_object_put(reply);
	json_object_put(req);
	return text;
}

static enum MHD_Result zbx_handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
	struct rx_upload *up;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char *answer;

	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	if (rx_upload_gather(con_cls, upload_data, upload_data_size, &ret))
		return ret;
	up = *con_cls;
	answer = zbx_answer(up->data);
	if (!answer)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(strlen(answer), answer, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void zbx_start(bool refuse_sessions)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	const union MHD_DaemonInfo *info;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	zbx.calls = zbx.logins = zbx.problem_gets = 0;
	zbx.refuse_sessions = refuse_sessions;
	zbx.mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, zbx_handle, NULL,
	                           MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin, MHD_OPTION_NOTIFY_COMPLETED,
	                           rx_upload_completed, NULL, MHD_OPTION_END);
	ck_assert_ptr_nonnull(zbx.mhd);
	info = MHD_get_daemon_info(zbx.mhd, MHD_DAEMON_INFO_BIND_PORT);
	ck_assert_ptr_nonnull(info);
	zbx.port = info->port;
}

static void zbx_stop(void)
{
	MHD_stop_daemon(zbx.mhd);
	zbx.mhd = NULL;
}

static unsigned zbx_get(unsigned *field)
{
	unsigned n;

	pthread_mutex_lock(&zbx.lock);
	n = *field;
	pthread_mutex_unlock(&zbx.lock);
	return n;
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

/* POST @p body to 127.0.0.1:@p port/alert with @p auth (NULL: no Authorization); the status. */
static int http_post(unsigned port, const char *auth, const char *body)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	char req[1024], resp[2048];
	size_t got = 0;
	ssize_t n;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), status = -1;
	struct timeval tv = { 10, 0 };

	ck_assert_int_ge(fd, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	snprintf(req, sizeof(req),
	         "POST /alert HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n%s%s%s"
	         "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
	         auth ? "Authorization: " : "", auth ? auth : "", auth ? "\r\n" : "", strlen(body), body);
	ck_assert_int_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	while (got < sizeof(resp) - 1 && (n = read(fd, resp + got, sizeof(resp) - 1 - got)) > 0)
		got += (size_t)n;
	resp[got] = '\0';
	close(fd);
	if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1)
		status = -1;
	return status;
}

static void wait_listening(unsigned port)
{
	int64_t deadline = ph_now_ms() + 10000;

	for (;;) {
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
		int fd = socket(AF_INET, SOCK_STREAM, 0), rc;

		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		rc = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
		close(fd);
		if (rc == 0)
			return;
		ck_assert_msg(ph_now_ms() < deadline, "nothing listens on 127.0.0.1:%u", port);
		ph_sleep_ms(20);
	}
}

static unsigned zabbix_daemon(struct daemon *d, const char *dir, const char *auth_keys)
{
	unsigned port = free_port();

	conf_write(dir, "zabbix",
	           "[connector]\nmode = push\nlisten_port = %u\n%s\n[zabbix]\nurl = http://127.0.0.1:%u/api_jsonrpc.php\n"
	           "user = Admin\npassword = zabbix\ntimeout = 5\n",
	           port, auth_keys, zbx.port);
	daemon_start(d, dir, "zabbix");
	wait_listening(port);
	return port;
}

/* The reproducer: unauthenticated POSTs made the connector log in to Zabbix, once each. */
START_TEST(zabbix_push_requires_token)
{
	char *dir = make_dir(), out[512];
	unsigned port, calls;
	struct daemon d;

	snprintf(out, sizeof(out), "%s/out", dir);
	zbx_start(false);
	port = zabbix_daemon(&d, dir, "token = s3cret-token\n");
	/* The login at start is the only call so far. */
	calls = zbx_get(&zbx.calls);
	for (int i = 0; i < 300; i++) {
		char body[64];

		snprintf(body, sizeof(body), "{\"eventid\":\"%d\"}", 1000 + i);
		ck_assert_int_eq(http_post(port, i % 3 == 0 ? NULL : i % 3 == 1 ? "Bearer wrong" : "Basic czNjcmV0LXRva2Vu",
		                           body), 401);
	}
	ck_assert_uint_eq(zbx_get(&zbx.calls), calls);
	ck_assert_uint_le(zbx_get(&zbx.logins), 1);
	ck_assert_int_eq(ph_count_json(out), 0);
	/* With the token: looked up, converted, delivered. */
	ck_assert_int_eq(http_post(port, "Bearer s3cret-token", "{\"eventid\":\"77\"}"), 200);
	ck_assert_int_eq(wait_count_json(out, 1, 10000), 1);
	ck_assert_uint_eq(zbx_get(&zbx.problem_gets), 1);
	daemon_stop(&d);
	zbx_stop();
	ph_remove_tree(dir);
	free(dir);
}
END_TEST

START_TEST(zabbix_push_token_file)
{
	char *dir = make_dir(), path[512], keys[600];
	struct daemon d;
	unsigned port;
	FILE *f;

	snprintf(path, sizeof(path), "%s/token", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("from-a-file\n", f);
	fclose(f);
	ck_assert_int_eq(chmod(path, 0640), 0);
	zbx_start(false);
	snprintf(keys, sizeof(keys), "token_file = %s\n", path);
	port = zabbix_daemon(&d, dir, keys);
	ck_assert_int_eq(http_post(port, NULL, "{\"eventid\":\"1\"}"), 401);
	ck_assert_int_eq(http_post(port, "Bearer from-a-file", "{\"eventid\":\"1\"}"), 200);
	daemon_stop(&d);
	zbx_stop();
	ph_remove_tree(dir);
	free(dir);
}
END_TEST

/* 300 authenticated pushes: one login, every event delivered. */
START_TEST(zabbix_push_one_login)
{
	char *dir = make_dir(), out[512];
	struct daemon d;
	unsigned port;

	snprintf(out, sizeof(out), "%s/out", dir);
	zbx_start(false);
	port = zabbix_daemon(&d, dir, "token = t\n");
	for (int i = 0; i < 300; i++) {
		char body[64];

		snprintf(body, sizeof(body), "{\"eventid\":\"%d\"}", 5000 + i);
		ck_assert_int_eq(http_post(port, "Bearer t", body), 200);
	}
	ck_assert_int_eq(wait_count_json(out, 300, 20000), 300);
	ck_assert_uint_eq(zbx_get(&zbx.logins), 1);
	ck_assert_uint_eq(zbx_get(&zbx.problem_gets), 300);
	daemon_stop(&d);
	ck_assert_int_eq(ph_count_json(out), 300);
	zbx_stop();
	ph_remove_tree(dir);
	free(dir);
}
END_TEST

/* [zabbix] api_rate: a burst of pushes waits for its turn (never faster than the rate) and none is lost. */
START_TEST(zabbix_push_api_rate)
{
	char *dir = make_dir(), out[512];
	struct daemon d;
	unsigned port;
	int64_t start;

	snprintf(out, sizeof(out), "%s/out", dir);
	zbx_start(false);
	port = zabbix_daemon(&d, dir, "token = t\n[zabbix]\napi_rate = 10\n");
	start = ph_now_ms();
	for (int i = 0; i < 30; i++) {
		char body[64];

		snprintf(body, sizeof(body), "{\"eventid\":\"%d\"}", 7000 + i);
		ck_assert_int_eq(http_post(port, "Bearer t", body), 200);
	}
	/* 30 problem.get (+ trigger.get, host.get) at 10 per second after a burst of 10: 2 s at least. */
	ck_assert_int_ge(ph_now_ms() - start, 1500);
	ck_assert_int_eq(wait_count_json(out, 30, 10000), 30);
	daemon_stop(&d);
	zbx_stop();
	ph_remove_tree(dir);
	free(dir);
}
END_TEST

/* An API that refuses every session: logins are paced, not one (or two) per push. */
START_TEST(zabbix_push_logins_paced)
{
	char *dir = make_dir();
	struct daemon d;
	unsigned port, unavailable = 0;
	int64_t start;

	zbx_start(true);
	port = zabbix_daemon(&d, dir, "token = t\n");
	start = ph_now_ms();
	for (int i = 0; i < 300; i++) {
		char body[64];

		snprintf(body, sizeof(body), "{\"eventid\":\"%d\"}", 9000 + i);
		unavailable += http_post(port, "Bearer t", body) == 503;
	}
	ck_assert_uint_eq(unavailable, 300);
	/* One at start, then at most one per doubling interval from 1 s: 1 + log2(elapsed s + 1) + 1. */
	{
		double elapsed_s = (double)(ph_now_ms() - start) / 1000.0;
		unsigned bound = 2;

		for (double t = 1; t <= elapsed_s + 1; t *= 2)
			bound++;
		ck_assert_msg(zbx_get(&zbx.logins) <= bound, "%u logins for 300 pushes in %.1f s (at most %u)",
		              zbx_get(&zbx.logins), elapsed_s, bound);
	}
	ck_assert_uint_le(zbx_get(&zbx.calls), 2 * zbx_get(&zbx.logins) + 1);
	daemon_stop(&d);
	zbx_stop();
	ph_remove_tree(dir);
	free(dir);
}
END_TEST

/* Push mode listens on 127.0.0.1 unless told otherwise, and beyond loopback only with a token. */
START_TEST(zabbix_push_defaults)
{
	char *dir = make_dir(), cmd[1024], path[512], *text;
	struct daemon d;
	unsigned port = free_port();
	int st;

	zbx_start(false);
	conf_write(dir, "zabbix",
	           "[connector]\nmode = push\nlisten_address = 0.0.0.0\nlisten_port = %u\n\n[zabbix]\n"
	           "url = http://127.0.0.1:%u/api_jsonrpc.php\nuser = Admin\npassword = zabbix\n",
	           port, zbx.port);
	snprintf(path, sizeof(path), "%s/check.txt", dir);
	snprintf(cmd, sizeof(cmd), "'%s' zabbix -c '%s/zabbix.conf' --check-config >'%s' 2>&1", IDMEFV2_CONNECTOR_PATH,
	         dir, path);
	st = system(cmd);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 2);
	snprintf(path, sizeof(path), "%s/daemon.log", dir);
	text = ph_slurp(path);
	ck_assert_msg(strstr(text, "listen_address 0.0.0.0 is not a loopback address: set token or token_file"), "%s",
	              text);
	free(text);
	unlink(path);
	conf_write(dir, "zabbix",
	           "[connector]\nmode = push\nlisten_port = %u\n\n[zabbix]\n"
	           "url = http://127.0.0.1:%u/api_jsonrpc.php\nuser = Admin\npassword = zabbix\n",
	           port, zbx.port);
	daemon_start(&d, dir, "zabbix");
	snprintf(cmd, sizeof(cmd), "receiving Zabbix pushes on http://127.0.0.1:%u/alert", port);
	ck_assert(wait_text(d.log, cmd, 5000));
	ck_assert(wait_text(d.log, "push mode without [connector] token", 1000));
	daemon_stop(&d);
	zbx_stop();
	ph_remove_tree(dir);
	free(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("connector-security");
	TCase *tc = tcase_create("unix");
	TCase *tz = tcase_create("zabbix");

	/* A writer whose connection the daemon closed gets EPIPE, not a signal (as Suricata). */
	signal(SIGPIPE, SIG_IGN);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, unix_socket_mode_and_foreign_user);
	tcase_add_test(tc, unix_socket_mode_configured);
	tcase_add_test(tc, unix_idle_writers_do_not_lock_out);
	tcase_add_test(tc, zoneminder_snapshot_symlink_refused);
	suite_add_tcase(s, tc);
	tcase_set_timeout(tz, 120);
	tcase_add_test(tz, zabbix_push_defaults);
	tcase_add_test(tz, zabbix_push_requires_token);
	tcase_add_test(tz, zabbix_push_token_file);
	tcase_add_test(tz, zabbix_push_one_login);
	tcase_add_test(tz, zabbix_push_api_rate);
	tcase_add_test(tz, zabbix_push_logins_paced);
	suite_add_tcase(s, tz);
	return ph_run_suite(s);
}
