/* SPDX-License-Identifier: Apache-2.0 */
/*
 * idmefv2 listen run as a program under load and killed: 50 client threads
 * (libcurl) post messages with unique IDs and record which ones got a 2xx;
 * the listener gets SIGTERM (or SIGKILL) mid-stream. Every acknowledged ID
 * must be written (lost == 0), requests after the stop must be refused with
 * 503 and Retry-After (or find the port closed), and the exit line must count
 * what was written. Then what --out does with hostile or repeated input:
 * planted symbolic links, duplicate IDs, a missing directory, and a number
 * too large for 64 bits.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "proc-harness.h"

#define EXAMPLE EXAMPLES_DIR "/messages/badge-reader.json"
#define EXAMPLE_ID "0193a2b4-6000-7000-8000-000000000001"
#define CLIENTS 50
/* Messages acknowledged before the signal: enough to have many under way. */
#define ACKED_BEFORE_SIGNAL 400
#define MAX_PER_CLIENT 100000

static char tmpdir[64];
static char *example; /* the example message's text */

static void file_write(const char *path, const char *data)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(data, f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

static const char *in_tmp(const char *name)
{
	static char paths[8][600];
	static unsigned next;
	char *p = paths[next++ % 8];

	snprintf(p, sizeof(paths[0]), "%s/%s", tmpdir, name);
	return p;
}

static void setup(void)
{
	strcpy(tmpdir, "/tmp/idmefv2-listen-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	example = ph_file_read(EXAMPLE, NULL);
	ck_assert_ptr_nonnull(example);
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void teardown(void)
{
	ph_tmpdir_remove(tmpdir);
	free(example);
	curl_global_cleanup();
}

/* The example message with @id as its ID, in a new string. */
static char *message_with_id(const char *id)
{
	const char *at = strstr(example, EXAMPLE_ID);
	size_t len = strlen(example);
	char *m;

	ck_assert_ptr_nonnull(at);
	m = malloc(len + 1);
	ck_assert_ptr_nonnull(m);
	memcpy(m, example, len + 1);
	memcpy(m + (at - example), id, strlen(EXAMPLE_ID));
	return m;
}

static void id_of(unsigned client, unsigned seq, char *buf, size_t size)
{
	snprintf(buf, size, "7e57a11d-%04x-4000-8000-%012x", client, seq);
}

/* ---- the listener process ------------------------------------------------------------------- */

struct listener {
	pid_t pid;
	int out_fd;          /* stdout pipe, when not --out */
	pthread_t reader;
	char *out;           /* what it printed on stdout */
	size_t out_len;
	unsigned port;
};

static void *read_stdout(void *arg)
{
	struct listener *l = arg;
	size_t cap = 0;
	char buf[65536];
	ssize_t n;

	while ((n = read(l->out_fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		if (l->out_len + (size_t)n + 1 > cap) {
			cap = (l->out_len + (size_t)n + 1) * 2;
			l->out = realloc(l->out, cap);
			if (!l->out)
				abort();
		}
		memcpy(l->out + l->out_len, buf, (size_t)n);
		l->out_len += (size_t)n;
		l->out[l->out_len] = '\0';
	}
	close(l->out_fd);
	return NULL;
}

/*
 * idmefv2 listen ARGS on http://127.0.0.1:0/, stderr into tmpdir/listen.err,
 * stdout into a pipe read by a thread, or left without a reader if @no_reader.
 */
static void listener_start_ex(struct listener *l, const char *const *args, bool no_reader)
{
	const char *argv[32];
	size_t argc = 0;
	int fds[2];

	memset(l, 0, sizeof(*l));
	argv[argc++] = IDMEFV2_TOOL_PATH;
	argv[argc++] = "listen";
	for (; *args; args++)
		argv[argc++] = *args;
	argv[argc++] = "http://127.0.0.1:0/";
	argv[argc] = NULL;
	ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
	l->pid = ph_spawn(argv, &(struct ph_io){ .in = "/dev/null", .out_fd = fds[1], .err = in_tmp("listen.err") });
	close(fds[1]);
	l->out_fd = fds[0];
	if (no_reader)
		close(l->out_fd);
	else
		ck_assert_int_eq(pthread_create(&l->reader, NULL, read_stdout, l), 0);
	for (int64_t deadline = ph_now_ms() + 10000; ph_now_ms() < deadline && !l->port; ph_sleep_ms(20)) {
		char *err = ph_file_read(in_tmp("listen.err"), NULL);
		const char *p = err ? strstr(err, "(port ") : NULL;

		if (p)
			l->port = (unsigned)strtoul(p + 6, NULL, 10);
		free(err);
	}
	ck_assert_msg(l->port, "the listener printed no port");
}

static void listener_start(struct listener *l, const char *const *args)
{
	listener_start_ex(l, args, false);
}

/* Wait for the listener to end (up to 30 s); its exit status, or 128 + signal. */
static int listener_wait(struct listener *l)
{
	int status = ph_wait_exit(l->pid, 30000, 20);

	pthread_join(l->reader, NULL);
	if (status < 0)
		ck_abort_msg("the listener did not stop within 30 s");
	return status;
}

/* As listener_wait(), for a listener started without a reader of its stdout. */
static int listener_wait_exited(struct listener *l)
{
	int status = ph_wait_exit(l->pid, 30000, 20);

	if (status < 0)
		ck_abort_msg("the listener did not stop within 30 s");
	free(l->out);
	return status;
}

/* ---- the clients ------------------------------------------------------------------------------ */

static atomic_bool signal_sent;
static atomic_size_t total_acked;

struct client {
	unsigned index;
	unsigned port;
	pthread_t thread;
	unsigned *acked;         /* sequence numbers answered 2xx */
	size_t n_acked;
	unsigned sent;
	unsigned refused_503;    /* 503 after the signal */
	unsigned no_retry_after; /* 503 without Retry-After */
	unsigned closed;         /* connection refused or reset after the signal */
	unsigned unexpected;     /* anything else: a 503 or an error before the signal, another status */
	char first_unexpected[200];
};

static size_t on_header(char *data, size_t size, size_t n, void *user)
{
	bool *retry_after = user;

	if (size * n >= 12 && strncasecmp(data, "Retry-After:", 12) == 0)
		*retry_after = true;
	return size * n;
}

static size_t discard_body(char *data, size_t size, size_t n, void *user)
{
	(void)data;
	(void)user;
	return size * n;
}

static void *client_main(void *arg)
{
	struct client *c = arg;
	CURL *curl = curl_easy_init();
	struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
	char url[64], id[64];
	bool retry_after = false;
	int64_t deadline = ph_now_ms() + 60000;

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", c->port);
	c->acked = calloc(MAX_PER_CLIENT, sizeof(*c->acked));
	if (!curl || !headers || !c->acked)
		abort();
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 15000L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &retry_after);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard_body);
	while (c->sent < MAX_PER_CLIENT && ph_now_ms() < deadline) {
		bool after_signal = atomic_load(&signal_sent);
		char *body;
		long status = 0;
		CURLcode rc;

		id_of(c->index, c->sent, id, sizeof(id));
		body = message_with_id(id);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
		retry_after = false;
		rc = curl_easy_perform(curl);
		free(body);
		c->sent++;
		if (rc == CURLE_OK)
			curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
		if (rc == CURLE_OK && status >= 200 && status < 300) {
			c->acked[c->n_acked++] = c->sent - 1;
			atomic_fetch_add(&total_acked, 1);
			continue;
		}
		/* A request begun before the signal may be the one the stop refuses. */
		after_signal = after_signal || atomic_load(&signal_sent);
		if (after_signal && rc == CURLE_OK && status == 503) {
			c->refused_503++;
			c->no_retry_after += !retry_after;
			break;
		}
		if (after_signal && rc != CURLE_OK) {
			c->closed++;
			break;
		}
		if (!c->unexpected++)
			snprintf(c->first_unexpected, sizeof(c->first_unexpected), "curl %d (%s), HTTP %ld, %s the signal",
			         (int)rc, curl_easy_strerror(rc), status, after_signal ? "after" : "before");
		if (after_signal)
			break;
		ph_sleep_ms(10);
	}
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	return NULL;
}

/* ---- what was written ------------------------------------------------------------------------- */

struct written {
	struct json_object *ids; /* ID -> copies */
	size_t files;            /* regular files (or lines) */
	size_t tmp_left;         /* temporaries left behind */
	size_t duplicates;       /* an ID seen more than once */
};

static void written_add(struct written *w, const char *id)
{
	struct json_object *n;

	if (json_object_object_get_ex(w->ids, id, &n)) {
		json_object_set_int(n, json_object_get_int(n) + 1);
		w->duplicates++;
	} else {
		json_object_object_add(w->ids, id, json_object_new_int(1));
	}
	w->files++;
}

static void written_from_dir(struct written *w, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	ck_assert_ptr_nonnull(d);
	w->ids = json_object_new_object();
	while ((de = readdir(d))) {
		char path[1200], *text;
		struct json_object *m, *id;
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.') {
			if (len > 4 && strcmp(de->d_name + len - 4, ".tmp") == 0)
				w->tmp_left++;
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		text = ph_file_read(path, NULL);
		ck_assert_ptr_nonnull(text);
		m = json_tokener_parse(text);
		/* A file in place is complete: it was renamed there after fsync. */
		ck_assert_msg(m && json_object_object_get_ex(m, "ID", &id), "%s is not a whole message", de->d_name);
		written_add(w, json_object_get_string(id));
		json_object_put(m);
		free(text);
	}
	closedir(d);
}

static void written_from_lines(struct written *w, const char *text)
{
	w->ids = json_object_new_object();
	for (const char *p = text; p && *p;) {
		const char *nl = strchr(p, '\n');
		char *line = strndup(p, nl ? (size_t)(nl - p) : strlen(p));
		struct json_object *m = json_tokener_parse(line), *id;

		ck_assert_msg(m && json_object_object_get_ex(m, "ID", &id), "not a message line: %.200s", line);
		written_add(w, json_object_get_string(id));
		json_object_put(m);
		free(line);
		p = nl ? nl + 1 : NULL;
	}
}

/* The N of "N messages received" in the exit line, or -1. */
static long exit_line_count(void)
{
	char *err = ph_file_read(in_tmp("listen.err"), NULL);
	const char *p = err ? strstr(err, " messages received") : NULL;
	long n = -1;

	if (p) {
		while (p > err && p[-1] >= '0' && p[-1] <= '9')
			p--;
		n = strtol(p, NULL, 10);
	}
	free(err);
	return n;
}

/*
 * Run CLIENTS clients against a listener started with @args, send @sig once
 * ACKED_BEFORE_SIGNAL messages were acknowledged, and check that nothing
 * acknowledged is missing.
 */
static void run_under_load(const char *const *args, const char *out_dir, int sig)
{
	static struct client clients[CLIENTS];
	struct listener l;
	struct written w = { 0 };
	size_t acked = 0, lost = 0, refused = 0, closed = 0, no_retry_after = 0, unexpected = 0;
	char first_unexpected[300] = "";
	int status;
	int64_t deadline;

	atomic_store(&signal_sent, false);
	atomic_store(&total_acked, 0);
	if (out_dir)
		ck_assert_int_eq(mkdir(out_dir, 0750), 0);
	listener_start(&l, args);
	for (unsigned i = 0; i < CLIENTS; i++) {
		memset(&clients[i], 0, sizeof(clients[i]));
		clients[i].index = i;
		clients[i].port = l.port;
		ck_assert_int_eq(pthread_create(&clients[i].thread, NULL, client_main, &clients[i]), 0);
	}
	for (deadline = ph_now_ms() + 20000; atomic_load(&total_acked) < ACKED_BEFORE_SIGNAL && ph_now_ms() < deadline;)
		ph_sleep_ms(5);
	atomic_store(&signal_sent, true);
	kill(l.pid, sig);
	for (unsigned i = 0; i < CLIENTS; i++)
		pthread_join(clients[i].thread, NULL);
	status = listener_wait(&l);

	if (out_dir)
		written_from_dir(&w, out_dir);
	else
		written_from_lines(&w, l.out);
	for (unsigned i = 0; i < CLIENTS; i++) {
		struct client *c = &clients[i];

		if (c->unexpected && !unexpected++)
			snprintf(first_unexpected, sizeof(first_unexpected), "client %u: %u unexpected answers, first: %s",
			         i, c->unexpected, c->first_unexpected);
		for (size_t k = 0; k < c->n_acked; k++) {
			char id[64];

			id_of(i, c->acked[k], id, sizeof(id));
			lost += !json_object_object_get_ex(w.ids, id, NULL);
		}
		acked += c->n_acked;
		refused += c->refused_503;
		closed += c->closed;
		no_retry_after += c->no_retry_after;
		free(c->acked);
	}
	fprintf(stderr, "%s, signal %d: %zu acknowledged, %zu written, %zu lost, %zu duplicated, "
	        "%zu temporaries left; after the signal %zu refused with 503, %zu found the port closed\n",
	        out_dir ? "--out" : "stdout", sig, acked, w.files, lost, w.duplicates, w.tmp_left, refused, closed);

	ck_assert_uint_eq(lost, 0);
	ck_assert_msg(unexpected == 0, "%s", first_unexpected);
	ck_assert_uint_ge(acked, ACKED_BEFORE_SIGNAL);
	ck_assert_uint_eq(w.duplicates, 0);
	/* Written and not acknowledged: only requests whose answer the stop cut short. */
	ck_assert_uint_le(w.files, acked + CLIENTS);
	if (sig == SIGTERM) {
		ck_assert_int_eq(status, 0);
		ck_assert_int_eq(exit_line_count(), (long)w.files);
		ck_assert_uint_eq(w.tmp_left, 0);
		/* Every client's last request came after the stop began: refused, properly. */
		ck_assert_uint_eq(refused + closed, CLIENTS);
		ck_assert_uint_eq(no_retry_after, 0);
	} else {
		ck_assert_int_eq(status, 128 + sig);
	}
	json_object_put(w.ids);
	free(l.out);
}

START_TEST(test_sigterm_out)
{
	const char *out = in_tmp("out");

	run_under_load((const char *const[]){ "--out", out, NULL }, out, SIGTERM);
}
END_TEST

START_TEST(test_sigterm_stdout)
{
	run_under_load((const char *const[]){ NULL }, NULL, SIGTERM);
}
END_TEST

/* A 2xx from --out means written, fsync'ed and renamed into place: it survives SIGKILL. */
START_TEST(test_sigkill_out)
{
	const char *out = in_tmp("out");

	run_under_load((const char *const[]){ "--out", out, NULL }, out, SIGKILL);
}
END_TEST

/* ---- --out against hostile or repeated input -------------------------------------------------- */

static long post(unsigned port, const char *body, char **ret_body)
{
	CURL *curl = curl_easy_init();
	struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
	char url[64], *reply = NULL;
	size_t reply_len = 0;
	FILE *sink = open_memstream(&reply, &reply_len);
	long status = 0;

	ck_assert(curl && headers && sink);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", port);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 15000L);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, sink);
	ck_assert_int_eq(curl_easy_perform(curl), CURLE_OK);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	fclose(sink);
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	if (ret_body)
		*ret_body = reply;
	else
		free(reply);
	return status;
}

static size_t count_entries(const char *dir, bool dotfiles)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && (dotfiles || de->d_name[0] != '.'))
			n++;
	closedir(d);
	return n;
}

static void stop_listener(struct listener *l)
{
	kill(l->pid, SIGTERM);
	ck_assert_int_eq(listener_wait(l), 0);
	free(l->out);
}

START_TEST(test_planted_symlinks)
{
	const char *out = in_tmp("out");
	const char *victim = in_tmp("victim");
	const char *id = "5ec0de00-0000-4000-8000-000000000001";
	char link[700], *msg, *text;
	struct listener l;
	struct stat st;

	ck_assert_int_eq(mkdir(out, 0700), 0);
	file_write(victim, "precious\n");
	/* Every name the old code used for this ID, and the final one, point at the victim. */
	snprintf(link, sizeof(link), "%s/.%s.json.tmp", out, id);
	ck_assert_int_eq(symlink(victim, link), 0);
	snprintf(link, sizeof(link), "%s/%s.json", out, id);
	ck_assert_int_eq(symlink(victim, link), 0);

	listener_start(&l, (const char *const[]){ "--out", out, NULL });
	msg = message_with_id(id);
	ck_assert_int_eq(post(l.port, msg, NULL), 204);
	stop_listener(&l);

	text = ph_file_read(victim, NULL);
	ck_assert_str_eq(text, "precious\n");
	free(text);
	/* The planted link is left alone; the message is kept beside it. */
	ck_assert_int_eq(lstat(link, &st), 0);
	ck_assert(S_ISLNK(st.st_mode));
	snprintf(link, sizeof(link), "%s/%s.2.json", out, id);
	ck_assert_int_eq(lstat(link, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 0027, 0); /* 0640 or tighter */
	text = ph_file_read(link, NULL);
	ck_assert_str_eq(text, msg);
	free(text);
	free(msg);
}
END_TEST

START_TEST(test_duplicate_ids)
{
	const char *out = in_tmp("out");
	const char *id = "d0b1e000-0000-4000-8000-000000000007";
	char *msg = message_with_id(id), *other, *err, path[700], *text;
	struct listener l;

	other = strdup(msg);
	ck_assert_ptr_nonnull(strstr(other, "Door forced open"));
	memcpy(strstr(other, "Door forced open"), "Door FORCED open", 16);
	ck_assert_int_eq(mkdir(out, 0750), 0);

	listener_start(&l, (const char *const[]){ "--out", out, NULL });
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(post(l.port, msg, NULL), 204);
	ck_assert_int_eq(post(l.port, other, NULL), 204);
	ck_assert_int_eq(post(l.port, other, NULL), 204);
	stop_listener(&l);

	/* 7 accepted: the first copy, 4 identical repeats, one different content kept beside it. */
	ck_assert_uint_eq(count_entries(out, true), 2);
	snprintf(path, sizeof(path), "%s/%s.json", out, id);
	text = ph_file_read(path, NULL);
	ck_assert_str_eq(text, msg);
	free(text);
	snprintf(path, sizeof(path), "%s/%s.2.json", out, id);
	text = ph_file_read(path, NULL);
	ck_assert_str_eq(text, other);
	free(text);
	err = ph_file_read(in_tmp("listen.err"), NULL);
	ck_assert_msg(strstr(err, "7 messages received, 0 invalid, 1 stored, 5 duplicates, 1 kept under a second "
	                          "name"), "%s", err);
	ck_assert_msg(strstr(err, "already stored with a different content"), "%s", err);
	ck_assert_msg(strstr(err, "duplicate of message " "d0b1e000-0000-4000-8000-000000000007"), "%s", err);
	free(err);
	free(msg);
	free(other);
}
END_TEST

START_TEST(test_out_directory_created)
{
	char out[600], blocked[700], *err;
	struct listener l;
	struct stat st;
	pid_t pid;
	int wstatus;

	snprintf(out, sizeof(out), "%s/inbox/a/b", tmpdir);
	umask(022);
	listener_start(&l, (const char *const[]){ "--out", out, NULL });
	stop_listener(&l);
	ck_assert_int_eq(stat(out, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0750);
	ck_assert_int_eq(stat(in_tmp("inbox"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0750);

	/* Not creatable (a parent is a file): the message says how to make it. */
	file_write(in_tmp("file"), "x");
	snprintf(blocked, sizeof(blocked), "%s/file/inbox", tmpdir);
	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int e = open(in_tmp("blocked.err"), O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(e, 2);
		execl(IDMEFV2_TOOL_PATH, IDMEFV2_TOOL_PATH, "listen", "--out", blocked, "http://127.0.0.1:0/",
		      (char *)NULL);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &wstatus, 0), pid);
	ck_assert(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 2);
	err = ph_file_read(in_tmp("blocked.err"), NULL);
	ck_assert_msg(strstr(err, "cannot create the directory") && strstr(err, "mkdir -p -m 0750"), "%s", err);
	free(err);
}
END_TEST

/* A number of 100,000 digits is named by its text (cut short), not by a saturated 64-bit value. */
START_TEST(test_huge_number_reported_by_text)
{
	static const char expected[] = "9999999999999999999999999999999999999999\xe2\x80\xa6(100000 digits)";
	char *digits = malloc(100001), *msg, *huge, *reply = NULL, *err;
	const char *at;
	struct listener l;
	size_t len;
	pid_t pid;
	int wstatus;

	memset(digits, '9', 100000);
	digits[100000] = '\0';
	msg = message_with_id("b16b16b1-0000-4000-8000-000000000001");
	at = strstr(msg, "\"Medium\"");
	ck_assert_ptr_nonnull(at);
	len = strlen(msg);
	huge = malloc(len + 100001);
	memcpy(huge, msg, (size_t)(at - msg));
	memcpy(huge + (at - msg), digits, 100000);
	strcpy(huge + (at - msg) + 100000, at + strlen("\"Medium\""));
	file_write(in_tmp("huge.json"), huge);

	/* idmefv2 validate */
	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int o = open(in_tmp("validate.out"), O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(o, 1);
		dup2(o, 2);
		execl(IDMEFV2_TOOL_PATH, IDMEFV2_TOOL_PATH, "validate", in_tmp("huge.json"), (char *)NULL);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &wstatus, 0), pid);
	ck_assert(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) != 0);
	err = ph_file_read(in_tmp("validate.out"), NULL);
	ck_assert_msg(strstr(err, expected) && !strstr(err, "18446744073709551615"), "%.500s", err);
	free(err);

	/* The listener's 400 */
	listener_start(&l, (const char *const[]){ NULL });
	ck_assert_int_eq(post(l.port, huge, &reply), 400);
	ck_assert_msg(strstr(reply, expected) && !strstr(reply, "18446744073709551615"), "%.500s", reply);
	stop_listener(&l);
	free(reply);
	free(huge);
	free(msg);
	free(digits);
}
END_TEST

/* Standard output closed under it: the message is refused (503, not acknowledged), and it stops with status 2. */
START_TEST(test_stdout_closed)
{
	struct listener l;
	char *msg = message_with_id("c105ed00-0000-4000-8000-000000000001"), *err;

	/* No reader: writes fail with EPIPE. */
	listener_start_ex(&l, (const char *const[]){ NULL }, true);
	ck_assert_int_eq(post(l.port, msg, NULL), 503);
	ck_assert_int_eq(listener_wait_exited(&l), 2);
	err = ph_file_read(in_tmp("listen.err"), NULL);
	ck_assert_msg(strstr(err, "standard output: Broken pipe") && strstr(err, "0 messages received") &&
	              strstr(err, "1 refused for a retry"), "%s", err);
	free(err);
	free(msg);
}
END_TEST

/* What a SIGKILL left (temporaries never acknowledged) is removed at the next start, once surely stale. */
START_TEST(test_stale_temporaries_removed)
{
	const char *out = in_tmp("out");
	static const char *const names[] = {
		".5ec0de00-0000-4000-8000-000000000001.0b5e7e5e-1d1d-4e4e-8f8f-000000000001.tmp", /* ours, old */
		".5ec0de00-0000-4000-8000-000000000002.0b5e7e5e-1d1d-4e4e-8f8f-000000000002.tmp", /* ours, fresh */
		".someone-else.tmp",                                                              /* not ours */
	};
	struct timespec old[2] = { { .tv_sec = time(NULL) - 3600 }, { .tv_sec = time(NULL) - 3600 } };
	struct listener l;
	char path[700], *err;

	ck_assert_int_eq(mkdir(out, 0750), 0);
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", out, names[i]);
		file_write(path, "{\"partial\":");
		if (i != 1)
			ck_assert_int_eq(utimensat(AT_FDCWD, path, old, 0), 0);
	}
	listener_start(&l, (const char *const[]){ "--out", out, NULL });
	stop_listener(&l);
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", out, names[i]);
		ck_assert_msg((access(path, F_OK) == 0) == (i != 0), "%s", names[i]);
	}
	err = ph_file_read(in_tmp("listen.err"), NULL);
	ck_assert_msg(strstr(err, "removed 1 unfinished temporary file of a listener that was killed"), "%s", err);
	free(err);
}
END_TEST

static Suite *listen_suite(void)
{
	Suite *s = suite_create("listen-reliability");
	TCase *stop = tcase_create("stop");
	TCase *store = tcase_create("store");

	tcase_set_timeout(stop, 180);
	tcase_add_checked_fixture(stop, setup, teardown);
	tcase_add_test(stop, test_sigterm_out);
	tcase_add_test(stop, test_sigterm_stdout);
	tcase_add_test(stop, test_sigkill_out);
	suite_add_tcase(s, stop);

	tcase_set_timeout(store, 60);
	tcase_add_checked_fixture(store, setup, teardown);
	tcase_add_test(store, test_planted_symlinks);
	tcase_add_test(store, test_duplicate_ids);
	tcase_add_test(store, test_out_directory_created);
	tcase_add_test(store, test_huge_number_reported_by_text);
	tcase_add_test(store, test_stdout_closed);
	tcase_add_test(store, test_stale_temporaries_removed);
	suite_add_tcase(s, store);
	return s;
}

int main(void)
{
	return ph_run_suite(listen_suite());
}
