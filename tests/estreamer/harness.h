/* SPDX-License-Identifier: Apache-2.0 */
/* Runs an estreamer_client in a thread against the simulator and collects what it delivers. */
#ifndef ESTREAMER_TEST_HARNESS_H
#define ESTREAMER_TEST_HARNESS_H

#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <estreamer/client.h>

#include "sim.h"

#define MAX_SEEN_RECORDS 256

static char pki[256];

struct run {
	estreamer_client *c;
	pthread_t th;
	estreamer_error rc;
	char err[512];
	int done;
	pthread_mutex_t mu;
	int n;
	uint32_t type[MAX_SEEN_RECORDS];
	int64_t event_id[MAX_SEEN_RECORDS];
	uint32_t ts[MAX_SEEN_RECORDS];
	int enriched;
};

static inline void make_pki(void)
{
	char cmd[1024];
	const char *script = getenv("ESTREAMER_MAKE_CERTS");

	snprintf(pki, sizeof(pki), "/tmp/estreamer-pki-XXXXXX");
	if (!mkdtemp(pki) || !script)
		abort();
	snprintf(cmd, sizeof(cmd), "'%s' '%s'", script, pki);
	if (system(cmd) != 0)
		abort();
}

static inline void remove_pki(void)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", pki);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", pki);
}

static inline int run_record(void *user, const estreamer_record *rec)
{
	struct run *r = user;
	json_object *v;

	pthread_mutex_lock(&r->mu);
	if (r->n < MAX_SEEN_RECORDS) {
		r->type[r->n] = rec->type;
		r->ts[r->n] = rec->archival_timestamp;
		r->event_id[r->n] = json_object_object_get_ex(rec->json, "eventId", &v) ?
					    json_object_get_int64(v) : -1;
		if (json_object_object_get_ex(rec->json, "ruleMessage", NULL))
			r->enriched++;
	}
	r->n++;
	pthread_mutex_unlock(&r->mu);
	return 0;
}

static inline void *run_main(void *arg)
{
	struct run *r = arg;

	r->rc = estreamer_client_run(r->c, r->err, sizeof(r->err));
	__atomic_store_n(&r->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static inline void set_opt(estreamer_client *c, const char *k, const char *v)
{
	char err[256] = "";

	ck_assert_msg(estreamer_client_set(c, k, v, err, sizeof(err)) == ESTREAMER_OK, "%s=%s: %s",
		      k, v, err);
}

static inline void pki_path(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", pki, name);
}

static inline estreamer_client *new_client(const struct sim *sim)
{
	estreamer_client *c = estreamer_client_new();
	char path[512], port[16];

	ck_assert_ptr_nonnull(c);
	snprintf(port, sizeof(port), "%u", sim ? sim->port : 1);
	set_opt(c, "host", "127.0.0.1");
	set_opt(c, "port", port);
	pki_path(path, sizeof(path), "client.p12");
	set_opt(c, "tls.pkcs12", path);
	pki_path(path, sizeof(path), "password.txt");
	set_opt(c, "tls.password_file", path);
	set_opt(c, "connect.timeout_ms", "5000");
	set_opt(c, "read.timeout_ms", "5000");
	set_opt(c, "reconnect.backoff_ms", "20");
	set_opt(c, "reconnect.backoff_max_ms", "100");
	return c;
}

static inline void run_start(struct run *r, estreamer_client *c)
{
	memset(r, 0, sizeof(*r));
	r->c = c;
	pthread_mutex_init(&r->mu, NULL);
	estreamer_client_set_record_callback(c, run_record, r);
	ck_assert_int_eq(pthread_create(&r->th, NULL, run_main, r), 0);
}

static inline int run_count(struct run *r)
{
	int n;

	pthread_mutex_lock(&r->mu);
	n = r->n;
	pthread_mutex_unlock(&r->mu);
	return n;
}

static inline void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Waits until the client has delivered n records or has returned. */
static inline int run_wait(struct run *r, int n, int ms)
{
	for (int t = 0; t < ms; t += 10) {
		if (run_count(r) >= n || __atomic_load_n(&r->done, __ATOMIC_SEQ_CST))
			break;
		sleep_ms(10);
	}
	return run_count(r);
}

static inline void run_finish(struct run *r)
{
	estreamer_client_stop(r->c);
	pthread_join(r->th, NULL);
	pthread_mutex_destroy(&r->mu);
}

/* Waits for the client to return by itself (it failed). */
static inline estreamer_error run_join(struct run *r)
{
	pthread_join(r->th, NULL);
	pthread_mutex_destroy(&r->mu);
	return r->rc;
}

/* n intrusion events (block 60), three per archival second; records[0..m) first metadata. */
static inline void make_records(struct sim *sim, size_t n, int with_metadata)
{
	size_t total = n + (with_metadata ? 3 : 0), k = 0;
	struct buf body = { 0 };

	sim->records = calloc(total, sizeof(struct buf));
	sim->record_ts = calloc(total, sizeof(uint32_t));
	if (with_metadata) {
		body_rule_message(&body, 1, 2001, "sim rule");
		b_record(&sim->records[k++], 66, 1, 0, &body);
		b_free(&body);
		body_classification(&body, 3, "attempted-recon", "Attempted Information Leak");
		b_record(&sim->records[k++], 67, 1, 0, &body);
		b_free(&body);
		body_priority(&body, 1, "high");
		b_record(&sim->records[k++], 4, 1, 0, &body);
		b_free(&body);
	}
	for (size_t i = 0; i < n; i++, k++) {
		sim->record_ts[k] = 1700000000u + (uint32_t)(i / 3);
		body_intrusion(&body, 60, (uint32_t)i + 1, 1, 2001, 3, 1);
		b_record(&sim->records[k], 400, 1, sim->record_ts[k], &body);
		b_free(&body);
	}
	sim->nrecords = total;
}

static inline void free_records(struct sim *sim)
{
	for (size_t i = 0; i < sim->nrecords; i++)
		b_free(&sim->records[i]);
	free(sim->records);
	free(sim->record_ts);
}

/* Stops a simulator made with calloc and frees it with its records. */
static inline void sim_release(struct sim *s)
{
	sim_stop(s);
	free_records(s);
	free(s);
}

/* A simulator on the test PKI (cert_name NULL: "server") serving n intrusion events, started. */
static inline struct sim *sim_started(size_t n, const char *cert_name, size_t per_bundle)
{
	struct sim *s = calloc(1, sizeof(*s));

	s->dir = pki;
	s->cert_name = cert_name;
	s->per_bundle = per_bundle;
	make_records(s, n, 0);
	ck_assert_int_eq(sim_start(s), 0);
	return s;
}

/* main() of a suite that needs the PKI: made before, removed after. */
static inline int run_suite_with_pki(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	make_pki();
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	remove_pki();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* ---- the estreamer-client process ---- */

/*
 * Runs argv[0] with stdout to out (truncated) and stderr to err (opened with
 * err_mode: "w" or "a"); child_setup, if any, runs first in the child.
 */
static inline pid_t prog_spawn(char *const argv[], const char *out, const char *err, const char *err_mode,
			       void (*child_setup)(void *), void *arg)
{
	pid_t pid = fork();

	if (pid == 0) {
		if (child_setup)
			child_setup(arg);
		if (!freopen(out, "w", stdout) || !freopen(err, err_mode, stderr))
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* Exit status, 128 + signal if killed, -1 if it cannot be reaped. */
static inline int prog_wait_exit(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Exit status, or -1 if still running after ms (then it is killed). */
static inline int prog_wait_exit_within(pid_t pid, int ms)
{
	int status;

	for (int t = 0; t <= ms; t += 10) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		sleep_ms(10);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

/* Newlines in a file; 0 if it cannot be opened. */
static inline int file_count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	int n = 0, ch;

	if (!f)
		return 0;
	while ((ch = fgetc(f)) != EOF)
		n += ch == '\n';
	fclose(f);
	return n;
}

/* The first 64 KiB of a file, NUL-terminated, in a static buffer; NULL if it cannot be opened. */
static inline const char *file_head(const char *path)
{
	static char buf[1 << 16];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Whether the head of the file holds text (any existing file holds ""). */
static inline int file_contains(const char *path, const char *text)
{
	const char *buf = file_head(path);

	return buf && strstr(buf, text) != NULL;
}

/* Occurrences of a non-empty text in the head of the file. */
static inline int file_count_text(const char *path, const char *text)
{
	const char *buf = file_head(path);
	int count = 0;

	for (const char *p = buf; p && (p = strstr(p, text)); p += strlen(text))
		count++;
	return count;
}

/* Copies a file; the copy gets @p mode whatever the umask. 0, or -1 on any error. */
static inline int file_copy(const char *from, const char *to, mode_t mode)
{
	char buf[65536];
	int in = open(from, O_RDONLY), out;
	ssize_t n;

	if (in < 0)
		return -1;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (out < 0) {
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			n = -1;
	close(in);
	if (fchmod(out, mode) != 0)
		n = -1;
	return close(out) == 0 && n == 0 ? 0 : -1;
}

#endif
