/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: arbitrary bytes as a whole HTTP request (request line,
 * headers, body) sent to our HTTP listener on 127.0.0.1, which parses
 * headers, authentication, content types, chunked and NDJSON bodies and
 * validates messages. One listener serves every input; each input gets its own
 * connection, closed for writing after the bytes so the server sees the end.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <idmefv2/idmefv2.h>
#include <idmefv2/transport.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static idmefv2_transport *listener;
static idmefv2_queue *queue;
static unsigned port;
static size_t threads_idle; /* the process's threads with the listener started and no connection */

static size_t threads_count(void)
{
	DIR *d = opendir("/proc/self/task");
	size_t n = 0;

	if (!d)
		return 0;
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/*
 * A connection's thread (thread per connection) frees its thread-local JSON
 * parser when it exits, after the answer: wait for it (up to 1 s), or
 * libFuzzer's leak check after the input sees that parser as leaked.
 */
static void threads_wait_idle(void)
{
	for (int i = 0; i < 1000 && threads_count() > threads_idle; i++) {
		struct timespec ms = { 0, 1000000 };

		nanosleep(&ms, NULL);
	}
}

static void listener_start(void)
{
	char err[256];

	queue = idmefv2_queue_new(4);
	if (idmefv2_transport_new("http://127.0.0.1:0/", IDMEFV2_TRANSPORT_LISTENER, &listener, err,
	                          sizeof(err)) != IDMEFV2_OK ||
	    idmefv2_transport_set(listener, "auth.username", "u", err, sizeof(err)) != IDMEFV2_OK ||
	    idmefv2_transport_set(listener, "auth.password", "p", err, sizeof(err)) != IDMEFV2_OK ||
	    idmefv2_transport_set(listener, "httpd.max_body", "65536", err, sizeof(err)) != IDMEFV2_OK) {
		fprintf(stderr, "fuzz-http-listen: %s\n", err);
		abort();
	}
	idmefv2_transport_set_queue(listener, queue);
	if (idmefv2_transport_start(listener, err, sizeof(err)) != IDMEFV2_OK) {
		fprintf(stderr, "fuzz-http-listen: %s\n", err);
		abort();
	}
	port = idmefv2_transport_get_port(listener);
	threads_idle = threads_count();
}

static void listener_stop(void)
{
	idmefv2_transport_free(listener);
	idmefv2_queue_unref(queue);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char buf[4096];
	int fd;

	if (!listener) {
		listener_start();
		atexit(listener_stop);
	}
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		abort();
	for (size_t off = 0; off < size;) {
		ssize_t n = send(fd, data + off, size - off, MSG_NOSIGNAL);

		if (n <= 0)
			break; /* the server may answer and close early */
		off += (size_t)n;
	}
	shutdown(fd, SHUT_WR);
	/* Read the answer until the server closes or falls silent after answering
	 * (a keep-alive connection), bounded in time: 200 ms for a first byte (an incomplete request gets no answer). */
	for (bool answered = false;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, answered ? 20 : 200) <= 0)
			break;
		if (recv(fd, buf, sizeof(buf), 0) <= 0)
			break;
		answered = true;
	}
	close(fd);
	threads_wait_idle();
	/* Keep the queue from filling up: drop what arrived. */
	for (idmefv2_message *m; idmefv2_queue_get(queue, 0, &m) == IDMEFV2_OK;) {
		idmefv2_queue_task_done(queue, m);
		idmefv2_message_unref(m);
	}
	return 0;
}
