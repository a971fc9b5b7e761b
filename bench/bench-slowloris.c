/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Slowloris check for an HTTP listener on 127.0.0.1: N connections send a
 * request line, then one header byte per second, never ending their headers;
 * once a second a normal client posts MESSAGE_FILE on a new connection and
 * the time to its status line is printed. Exit status 0 when every normal
 * request got a 2xx within 1 s, 1 otherwise.
 *
 *   bench-slowloris PORT MESSAGE_FILE [CONNECTIONS (256)] [SECONDS (10)]
 */
#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TARGET_MS 1000
#define GIVE_UP_MS 5000

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int connect_to(unsigned port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static char *file_read(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (data = malloc((size_t)n + 1)) && fread(data, 1, (size_t)n, f) == (size_t)n) {
		data[n] = '\0';
		*ret_len = (size_t)n;
	} else {
		free(data);
		data = NULL;
	}
	fclose(f);
	return data;
}

/* One more header byte on each slow connection; @return how many are still open. */
static unsigned trickle(int *fds, unsigned n)
{
	unsigned open = 0;

	for (unsigned i = 0; i < n; i++) {
		if (fds[i] < 0)
			continue;
		if (send(fds[i], "a", 1, MSG_NOSIGNAL) < 0) {
			close(fds[i]);
			fds[i] = -1;
			continue;
		}
		open++;
	}
	return open;
}

/* A normal POST; @return ms to its status line (-1: none within GIVE_UP_MS), the status in *ret_status. */
static int64_t normal_post(unsigned port, const char *req, size_t len, unsigned *ret_status)
{
	char reply[512];
	size_t got = 0;
	int64_t begun = now_ms();
	int fd = connect_to(port);

	*ret_status = 0;
	if (fd < 0 || send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len)
		goto fail;
	while (now_ms() - begun < GIVE_UP_MS) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		r = recv(fd, reply + got, sizeof(reply) - 1 - got, 0);
		if (r <= 0)
			break;
		got += (size_t)r;
		reply[got] = '\0';
		if (strstr(reply, "\r\n")) {
			if (sscanf(reply, "HTTP/1.1 %u", ret_status) != 1)
				*ret_status = 0;
			close(fd);
			return now_ms() - begun;
		}
	}
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

int main(int argc, char **argv)
{
	static const char head[] = "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Slow: ";
	unsigned port, conns = 256, seconds = 10, ok = 0, late = 0;
	int64_t worst = 0, next;
	struct rlimit rl;
	size_t body_len, req_len;
	char *body, *req;
	int *fds;

	if (argc < 3) {
		fprintf(stderr, "usage: %s PORT MESSAGE_FILE [CONNECTIONS] [SECONDS]\n", argv[0]);
		return 2;
	}
	port = (unsigned)strtoul(argv[1], NULL, 10);
	if (argc > 3)
		conns = (unsigned)strtoul(argv[3], NULL, 10);
	if (argc > 4)
		seconds = (unsigned)strtoul(argv[4], NULL, 10);
	body = file_read(argv[2], &body_len);
	if (!body) {
		fprintf(stderr, "%s: cannot read %s\n", argv[0], argv[2]);
		return 2;
	}
	req = malloc(body_len + 256);
	fds = calloc(conns ? conns : 1, sizeof(*fds));
	if (!req || !fds)
		return 2;
	req_len = (size_t)snprintf(req, body_len + 256, "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
	                           "application/json\r\nConnection: close\r\nContent-Length: %zu\r\n\r\n", body_len);
	memcpy(req + req_len, body, body_len);
	req_len += body_len;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < conns + 64) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	for (unsigned i = 0; i < conns; i++) {
		fds[i] = connect_to(port);
		if (fds[i] >= 0 && send(fds[i], head, sizeof(head) - 1, MSG_NOSIGNAL) < 0) {
			close(fds[i]);
			fds[i] = -1;
		}
	}
	next = now_ms() + 1000;
	for (unsigned s = 0; s < seconds; s++) {
		unsigned status, open;
		int64_t ms;

		while (now_ms() < next)
			poll(NULL, 0, (int)(next - now_ms()));
		next += 1000;
		open = trickle(fds, conns);
		ms = normal_post(port, req, req_len, &status);
		printf("t=%2us  slow connections open: %3u  normal POST: %u in %lld ms\n", s + 1, open, status,
		       (long long)ms);
		fflush(stdout);
		if (ms >= 0 && status / 100 == 2 && ms <= TARGET_MS)
			ok++;
		else
			late++;
		if (ms < 0 || ms > worst)
			worst = ms < 0 ? GIVE_UP_MS : ms;
	}
	printf("slowloris: %u slow connections, %u normal POSTs answered 2xx within %d ms, %u not; worst %lld ms\n",
	       conns, ok, TARGET_MS, late, (long long)worst);
	for (unsigned i = 0; i < conns; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	free(req);
	free(body);
	return late ? 1 : 0;
}
