/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Slowloris against a real idmefv2 listen process: 256 connections from
 * 127.0.0.1 each send a request line and then one header byte per second,
 * never finishing their headers. Meanwhile a normal client must still get
 * its 204 (asserted: answered, within a generous bound; the time is printed,
 * not asserted). Then, with a short httpd.request_timeout_ms, the listener
 * must close such connections by itself instead of keeping them forever.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc-harness.h"

#define EXAMPLE EXAMPLES_DIR "/messages/badge-reader.json"
#define SLOW_CONNECTIONS 256
/* Generous: the point is that it is answered at all while the slow ones hold their sockets. */
#define ANSWER_BOUND_MS 15000

static char tmpdir[64];

static void setup(void)
{
	struct rlimit rl;

	strcpy(tmpdir, "/tmp/idmefv2-slowloris-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	/* 256 client sockets here, as many in the listener. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 2048 && rl.rlim_max >= 2048) {
		rl.rlim_cur = 2048;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void teardown(void)
{
	ph_tmpdir_remove(tmpdir);
}

struct listener {
	pid_t pid;
	unsigned port;
	char err_path[128];
};

/* idmefv2 listen [-o OPTION]... http://127.0.0.1:0/ with stdout to a file; waits for its port. */
static void listener_start(struct listener *l, const char *option)
{
	char out_path[128];
	int64_t deadline = ph_now_ms() + 10000;

	memset(l, 0, sizeof(*l));
	snprintf(l->err_path, sizeof(l->err_path), "%s/listen.err", tmpdir);
	snprintf(out_path, sizeof(out_path), "%s/listen.out", tmpdir);
	if (option)
		l->pid = ph_spawn((const char *const[]){ IDMEFV2_TOOL_PATH, "listen", "-o", option, "http://127.0.0.1:0/",
		                                         NULL },
		                  &(struct ph_io){ .out = out_path, .err = l->err_path });
	else
		l->pid = ph_spawn((const char *const[]){ IDMEFV2_TOOL_PATH, "listen", "http://127.0.0.1:0/", NULL },
		                  &(struct ph_io){ .out = out_path, .err = l->err_path });
	while (!l->port) {
		char *err = ph_file_read(l->err_path, NULL);
		const char *at = err ? strstr(err, "(port ") : NULL;
		int wstatus;

		if (at)
			l->port = (unsigned)strtoul(at + 6, NULL, 10);
		if (!l->port) {
			ck_assert_msg(waitpid(l->pid, &wstatus, WNOHANG) == 0, "idmefv2 listen exited: %s",
			              err ? err : "");
			ck_assert_msg(ph_now_ms() < deadline, "idmefv2 listen did not start: %s", err ? err : "");
			nanosleep(&(struct timespec){ .tv_nsec = 20 * 1000 * 1000 }, NULL);
		}
		free(err);
	}
}

static void listener_stop(struct listener *l)
{
	int wstatus;

	kill(l->pid, SIGTERM);
	ck_assert_int_eq(waitpid(l->pid, &wstatus, 0), l->pid);
	ck_assert_msg(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0, "idmefv2 listen ended with status %d",
	              wstatus);
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

/* The slow clients: a request line, then a header that never ends. */
static void slow_open(unsigned port, int *fds)
{
	static const char head[] = "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Slow: ";

	for (unsigned i = 0; i < SLOW_CONNECTIONS; i++) {
		fds[i] = connect_to(port);
		ck_assert_int_eq(send(fds[i], head, sizeof(head) - 1, MSG_NOSIGNAL), (ssize_t)sizeof(head) - 1);
	}
}

/* One more header byte on each slow connection still open; @return how many are still open. */
static unsigned slow_trickle(int *fds)
{
	unsigned open = 0;

	for (unsigned i = 0; i < SLOW_CONNECTIONS; i++) {
		struct pollfd pfd = { .fd = fds[i], .events = POLLIN };
		char c;

		if (fds[i] < 0)
			continue;
		/* Closed by the listener: end of stream, a reset, or a failed send. */
		if ((poll(&pfd, 1, 0) > 0 && recv(fds[i], &c, 1, MSG_DONTWAIT) <= 0) ||
		    send(fds[i], "a", 1, MSG_NOSIGNAL) < 0) {
			close(fds[i]);
			fds[i] = -1;
			continue;
		}
		open++;
	}
	return open;
}

static void slow_close(int *fds)
{
	for (unsigned i = 0; i < SLOW_CONNECTIONS; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/*
 * Post the example as a normal client while the slow ones trickle a byte a
 * second; @return the time to its complete status line in ms, or -1 if none
 * came within ANSWER_BOUND_MS; the status in *ret_status.
 */
static int64_t normal_post(unsigned port, int *slow, unsigned *ret_status)
{
	char *body = ph_file_read(EXAMPLE, NULL), req[4096], reply[1024];
	size_t got = 0;
	int64_t begun = ph_now_ms(), next_trickle = begun + 1000;
	int fd, n;

	ck_assert_ptr_nonnull(body);
	n = snprintf(req, sizeof(req), "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
	             "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
	free(body);
	fd = connect_to(port);
	ck_assert_int_eq(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
	*ret_status = 0;
	while (ph_now_ms() - begun < ANSWER_BOUND_MS) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (ph_now_ms() >= next_trickle) {
			slow_trickle(slow);
			next_trickle += 1000;
		}
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		r = recv(fd, reply + got, sizeof(reply) - 1 - got, 0);
		if (r <= 0)
			break;
		got += (size_t)r;
		reply[got] = '\0';
		if (strstr(reply, "\r\n")) {
			sscanf(reply, "HTTP/1.1 %u", ret_status);
			close(fd);
			return ph_now_ms() - begun;
		}
	}
	close(fd);
	return -1;
}

/* 256 slowloris connections do not lock a normal client out. */
START_TEST(test_slowloris_normal_client_answered)
{
	struct listener l;
	int slow[SLOW_CONNECTIONS];
	unsigned status, open;
	int64_t ms;

	listener_start(&l, NULL);
	slow_open(l.port, slow);
	/* Two bytes a second apart on each, as slowloris does, before the normal client comes. */
	for (int i = 0; i < 2; i++) {
		nanosleep(&(struct timespec){ .tv_sec = 1 }, NULL);
		slow_trickle(slow);
	}
	ms = normal_post(l.port, slow, &status);
	open = slow_trickle(slow);
	fprintf(stderr, "slowloris: %d slow connections, %u still open after the normal request; normal client "
	        "answered %u after %lld ms\n", SLOW_CONNECTIONS, open, status, (long long)ms);
	ck_assert_msg(ms >= 0, "the normal client got no answer within %d ms while %d slow connections trickled",
	              ANSWER_BOUND_MS, SLOW_CONNECTIONS);
	ck_assert_uint_eq(status, 204);
	slow_close(slow);
	listener_stop(&l);
}
END_TEST

/* With a short request deadline, the listener closes the slow connections by itself. */
START_TEST(test_slowloris_connections_cut_at_deadline)
{
	struct listener l;
	int slow[SLOW_CONNECTIONS];
	unsigned open = SLOW_CONNECTIONS, status;
	int64_t begun, deadline;

	listener_start(&l, "httpd.request_timeout_ms=2000");
	slow_open(l.port, slow);
	begun = ph_now_ms();
	deadline = begun + 15000;
	while (open && ph_now_ms() < deadline) {
		nanosleep(&(struct timespec){ .tv_sec = 1 }, NULL);
		open = slow_trickle(slow);
	}
	fprintf(stderr, "slowloris with httpd.request_timeout_ms=2000: %u of %d still open after %lld ms\n", open,
	        SLOW_CONNECTIONS, (long long)(ph_now_ms() - begun));
	ck_assert_uint_eq(open, 0);
	ck_assert_int_ge(normal_post(l.port, slow, &status), 0);
	ck_assert_uint_eq(status, 204);
	slow_close(slow);
	listener_stop(&l);
}
END_TEST

static Suite *slowloris_suite(void)
{
	Suite *s = suite_create("listen-slowloris");
	TCase *tc = tcase_create("slowloris");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 50);
	tcase_add_test(tc, test_slowloris_normal_client_answered);
	tcase_add_test(tc, test_slowloris_connections_cut_at_deadline);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return ph_run_suite(slowloris_suite());
}
