/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What idmefv2 listen writes: the text it received and validated, as one
 * NDJSON line (line breaks of a pretty-printed body made spaces, nothing
 * serialized again), also for a gzip'ed body; and, with many clients posting
 * at once (so that their messages share group commits), every acknowledged
 * message is on standard output exactly once when it stops.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "proc-harness.h"

#define CLIENTS 16
#define PER_CLIENT 200

static char tmpdir[64];

static const char *in_tmp(const char *name)
{
	static char paths[4][128];
	static unsigned next;
	char *p = paths[next++ % 4];

	snprintf(p, sizeof(paths[0]), "%s/%s", tmpdir, name);
	return p;
}

static void setup(void)
{
	strcpy(tmpdir, "/tmp/idmefv2-listen-out-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
	ph_tmpdir_remove(tmpdir);
}

struct listener {
	pid_t pid;
	unsigned port;
};

/* idmefv2 listen http://127.0.0.1:0/ with stdout to tmpdir/out, stderr to tmpdir/err. */
static void listener_start(struct listener *l)
{
	int64_t deadline = ph_now_ms() + 10000;

	memset(l, 0, sizeof(*l));
	l->pid = ph_spawn((const char *const[]){ IDMEFV2_TOOL_PATH, "listen", "http://127.0.0.1:0/", NULL },
	                  &(struct ph_io){ .out = in_tmp("out"), .err = in_tmp("err") });
	while (!l->port) {
		char *err = ph_file_read(in_tmp("err"), NULL);
		const char *at = err ? strstr(err, "(port ") : NULL;

		if (at)
			l->port = (unsigned)strtoul(at + 6, NULL, 10);
		free(err);
		ck_assert_msg(l->port || ph_now_ms() < deadline, "idmefv2 listen did not start");
		if (!l->port)
			nanosleep(&(struct timespec){ .tv_nsec = 20 * 1000 * 1000 }, NULL);
	}
}

/* SIGTERM; the standard output it wrote. */
static char *listener_stop(struct listener *l)
{
	int wstatus;

	kill(l->pid, SIGTERM);
	ck_assert_int_eq(waitpid(l->pid, &wstatus, 0), l->pid);
	ck_assert(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
	return ph_file_read(in_tmp("out"), NULL);
}

static int connect_to(unsigned port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* POST @body (@extra: more header lines) on a new connection; the status, 0 if none within 10 s. */
static unsigned post(unsigned port, const char *extra, const void *body, size_t len)
{
	char head[512], reply[512] = "";
	int fd = connect_to(port);
	int n = snprintf(head, sizeof(head), "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
	                 "Content-Type: application/json\r\n%sContent-Length: %zu\r\n\r\n", extra, len);
	size_t got = 0;
	unsigned status = 0;
	int64_t deadline = ph_now_ms() + 10000;

	if (send(fd, head, (size_t)n, MSG_NOSIGNAL) != n || send(fd, body, len, MSG_NOSIGNAL) != (ssize_t)len) {
		close(fd);
		return 0;
	}
	while (ph_now_ms() < deadline && !strstr(reply, "\r\n")) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		r = recv(fd, reply + got, sizeof(reply) - 1 - got, 0);
		if (r <= 0)
			break;
		got += (size_t)r;
		reply[got] = '\0';
	}
	reply[got] = '\0';
	if (sscanf(reply, "HTTP/1.1 %u", &status) != 1)
		status = 0;
	close(fd);
	return status;
}

#define PRETTY \
	"{\n  \"Version\": \"2.D.V08\",\n  \"ID\": \"0193a2b4-6000-7000-8000-00000000000%c\",\n" \
	"  \"CreateTime\": \"2026-11-22T07:02:11Z\",\n  \"Type\": [\"Physical\"],\n" \
	"  \"Category\": [\"Access.Forced\"],\n  \"Description\": \"Door forced open\",\n" \
	"  \"Priority\": \"Medium\",\n  \"Analyzer\": {\"Name\": \"badge-controller\", \"Model\": \"Door controller\",\r\n" \
	"    \"Category\": [\"PHY.ACCESS-CTRL\"], \"Data\": [\"Contact\"], \"Method\": [\"Monitor\"],\n" \
	"    \"UnLocation\": \"FR PAR\", \"Location\": \"Building B, door 3\"}\n}\n"

static void one_line(const char *text, char *out)
{
	size_t len = strlen(text);

	while (len && text[len - 1] == '\n')
		len--;
	for (size_t i = 0; i < len; i++)
		out[i] = text[i] == '\n' || text[i] == '\r' ? ' ' : text[i];
	out[len] = '\n';
	out[len + 1] = '\0';
}

START_TEST(test_received_text_one_line)
{
	char pretty1[2048], pretty2[2048], expected[4096];
	unsigned char gz[2048];
	uLongf gz_len = sizeof(gz);
	z_stream z = { 0 };
	struct listener l;
	char *out;

	snprintf(pretty1, sizeof(pretty1), PRETTY, '1');
	snprintf(pretty2, sizeof(pretty2), PRETTY, '2');
	ck_assert_int_eq(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (Bytef *)pretty2;
	z.avail_in = (uInt)strlen(pretty2);
	z.next_out = gz;
	z.avail_out = (uInt)gz_len;
	ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
	gz_len = sizeof(gz) - z.avail_out;
	deflateEnd(&z);

	listener_start(&l);
	ck_assert_uint_eq(post(l.port, "", pretty1, strlen(pretty1)), 204);
	ck_assert_uint_eq(post(l.port, "Content-Encoding: gzip\r\n", gz, gz_len), 204);
	out = listener_stop(&l);
	one_line(pretty1, expected);
	one_line(pretty2, expected + strlen(expected));
	ck_assert_str_eq(out, expected);
	free(out);
}
END_TEST

struct client {
	unsigned port, no;
	unsigned acked;
	bool acked_ids[PER_CLIENT];
};

#define TEMPLATE "{\"Version\":\"2.D.V08\",\"ID\":\"%s\",\"CreateTime\":\"2026-11-22T07:02:11Z\"," \
	"\"Category\":[\"Access.Forced\"],\"Analyzer\":{\"Name\":\"b\",\"Category\":[\"PHY.ACCESS-CTRL\"]," \
	"\"Data\":[\"Contact\"],\"Method\":[\"Monitor\"]}}"

static void *client_main(void *arg)
{
	struct client *c = arg;
	char body[2048];

	for (unsigned i = 0; i < PER_CLIENT; i++) {
		char id[40];

		snprintf(id, sizeof(id), "7e57a11d-%04x-4000-8000-%012x", c->no, i);
		snprintf(body, sizeof(body), TEMPLATE, id);
		if (post(c->port, "", body, strlen(body)) == 204) {
			c->acked_ids[i] = true;
			c->acked++;
		}
	}
	return NULL;
}

/* Many clients at once share group commits: every acknowledged message is written, once. */
START_TEST(test_concurrent_clients_each_written_once)
{
	struct client clients[CLIENTS];
	pthread_t th[CLIENTS];
	struct listener l;
	unsigned acked = 0, written = 0, lost = 0, duplicated = 0;
	char *out;

	listener_start(&l);
	for (unsigned i = 0; i < CLIENTS; i++) {
		clients[i] = (struct client){ .port = l.port, .no = i };
		ck_assert_int_eq(pthread_create(&th[i], NULL, client_main, &clients[i]), 0);
	}
	for (unsigned i = 0; i < CLIENTS; i++)
		pthread_join(th[i], NULL);
	out = listener_stop(&l);
	for (const char *p = out; *p; p = strchr(p, '\n') + 1) {
		ck_assert_ptr_nonnull(strchr(p, '\n'));
		written++;
	}
	for (unsigned i = 0; i < CLIENTS; i++) {
		acked += clients[i].acked;
		for (unsigned j = 0; j < PER_CLIENT; j++) {
			char id[40], *at, *again;

			snprintf(id, sizeof(id), "7e57a11d-%04x-4000-8000-%012x", i, j);
			at = strstr(out, id);
			again = at ? strstr(at + 1, id) : NULL;
			if (clients[i].acked_ids[j] && !at)
				lost++;
			if (again)
				duplicated++;
		}
	}
	fprintf(stderr, "group commit: %u acknowledged, %u lines written, %u lost, %u duplicated\n", acked, written,
	        lost, duplicated);
	ck_assert_uint_eq(acked, CLIENTS * PER_CLIENT);
	ck_assert_uint_eq(lost, 0);
	ck_assert_uint_eq(duplicated, 0);
	ck_assert_uint_eq(written, CLIENTS * PER_CLIENT);
	free(out);
}
END_TEST

static Suite *output_suite(void)
{
	Suite *s = suite_create("listen-output");
	TCase *tc = tcase_create("output");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_received_text_one_line);
	tcase_add_test(tc, test_concurrent_clients_each_written_once);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return ph_run_suite(output_suite());
}
