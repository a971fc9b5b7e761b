/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Suricata's eve-log "filetype: unix_stream": Suricata connects to a Unix
 * stream socket the connector listens on and writes one EVE object per line,
 * reconnecting when the connection drops. Every complete line of every
 * connection is converted; a partial line waits for its end; a line over the
 * limit is skipped up to its newline, with a log line.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "connector.h"

#define UNIX_MAX_CLIENTS 16

struct unix_client {
	int fd;
	char *buf;
	size_t len;
	bool skipping; /* inside a line over the limit */
};

struct unix_input {
	char *path;
	size_t max_line;
	int listen_fd;
	struct unix_client clients[UNIX_MAX_CLIENTS];
	size_t nclients;
	uint64_t connections, skipped;
};

int unix_input_setup(struct connector *c, const char *path, size_t max_line)
{
	struct sockaddr_un sun;
	struct unix_input *u;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		conn_log(c, IDMEFV2_LOG_ERROR, "%s: [suricata] filename: a socket path is at most %zu bytes",
		         c->conf_path, sizeof(sun.sun_path) - 1);
		return -1;
	}
	u = calloc(1, sizeof(*u));
	if (!u || !(u->path = strdup(path))) {
		free(u);
		return -1;
	}
	u->max_line = max_line;
	u->listen_fd = -1;
	c->unix_in = u;
	return 0;
}

int unix_input_start(struct connector *c)
{
	struct unix_input *u = c->unix_in;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;

	memcpy(sun.sun_path, u->path, strlen(u->path) + 1);
	/* A socket left by a previous run is replaced; any other file is not ours to remove. */
	if (lstat(u->path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			conn_log(c, IDMEFV2_LOG_ERROR, "%s exists and is not a socket", u->path);
			return -1;
		}
		unlink(u->path);
	}
	u->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (u->listen_fd < 0 || bind(u->listen_fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    listen(u->listen_fd, UNIX_MAX_CLIENTS) != 0) {
		conn_log(c, IDMEFV2_LOG_ERROR, "cannot listen on %s: %s", u->path, strerror(errno));
		return -1;
	}
	/* Suricata often runs as another user: let it connect. */
	chmod(u->path, 0666);
	conn_log(c, IDMEFV2_LOG_INFO, "listening for Suricata on %s", u->path);
	return 0;
}

size_t unix_input_fds(struct connector *c, struct pollfd *fds, size_t max)
{
	struct unix_input *u = c->unix_in;
	size_t n = 0;

	if (u->listen_fd >= 0 && n < max)
		fds[n++] = (struct pollfd){ .fd = u->listen_fd, .events = POLLIN };
	for (size_t i = 0; i < u->nclients && n < max; i++)
		fds[n++] = (struct pollfd){ .fd = u->clients[i].fd, .events = POLLIN };
	return n;
}

static void client_close(struct unix_input *u, size_t i)
{
	close(u->clients[i].fd);
	free(u->clients[i].buf);
	u->clients[i] = u->clients[--u->nclients];
}

/* Deliver the complete lines of the buffer; keep the partial one. */
static void client_lines(struct connector *c, struct unix_client *cl)
{
	struct unix_input *u = c->unix_in;
	size_t start = 0;

	for (;;) {
		char *nl = memchr(cl->buf + start, '\n', cl->len - start);

		if (!nl)
			break;
		if (cl->skipping)
			cl->skipping = false;
		else if ((size_t)(nl - (cl->buf + start)) > 0)
			conn_push_line(c, cl->buf + start, (size_t)(nl - (cl->buf + start)), u->path);
		start = (size_t)(nl - cl->buf) + 1;
	}
	memmove(cl->buf, cl->buf + start, cl->len - start);
	cl->len -= start;
	if (cl->len > u->max_line) {
		if (!cl->skipping) {
			u->skipped++;
			conn_log(c, IDMEFV2_LOG_WARNING, "%s: a line longer than %zu bytes was skipped", u->path,
			         u->max_line);
		}
		cl->skipping = true;
		cl->len = 0;
	}
}

void unix_input_handle(struct connector *c, const struct pollfd *fds, size_t n)
{
	struct unix_input *u = c->unix_in;
	size_t first_client = u->listen_fd >= 0 ? 1 : 0;

	/* Clients first (their indexes match fds), in reverse so closing one moves none still to read. */
	for (size_t k = n; k-- > first_client;) {
		size_t i = k - first_client;
		struct unix_client *cl;
		ssize_t got;

		if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR)) || i >= u->nclients)
			continue;
		cl = &u->clients[i];
		for (;;) {
			/* After client_lines() at most max_line bytes wait: room for one more read. */
			got = read(cl->fd, cl->buf + cl->len, u->max_line + 65536 - cl->len);
			if (got > 0) {
				cl->len += (size_t)got;
				client_lines(c, cl);
				continue;
			}
			if (got < 0 && (errno == EAGAIN || errno == EINTR))
				break;
			/* End of stream: a last line without newline is complete now. */
			if (cl->len && !cl->skipping)
				conn_push_line(c, cl->buf, cl->len, u->path);
			conn_log(c, IDMEFV2_LOG_INFO, "%s: Suricata disconnected", u->path);
			client_close(u, i);
			break;
		}
	}
	if (first_client && (fds[0].revents & POLLIN)) {
		int fd;

		while ((fd = accept4(u->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
			if (u->nclients == UNIX_MAX_CLIENTS) {
				conn_log(c, IDMEFV2_LOG_WARNING, "%s: more than %d writers; connection refused", u->path,
				         UNIX_MAX_CLIENTS);
				close(fd);
				continue;
			}
			u->clients[u->nclients] = (struct unix_client){ .fd = fd, .buf = malloc(u->max_line + 65536) };
			if (!u->clients[u->nclients].buf) {
				close(fd);
				continue;
			}
			u->nclients++;
			u->connections++;
			conn_log(c, IDMEFV2_LOG_INFO, "%s: Suricata connected", u->path);
		}
	}
}

void unix_input_free(struct connector *c)
{
	struct unix_input *u = c->unix_in;

	if (!u)
		return;
	while (u->nclients)
		client_close(u, u->nclients - 1);
	if (u->listen_fd >= 0) {
		close(u->listen_fd);
		unlink(u->path);
	}
	free(u->path);
	free(u);
	c->unix_in = NULL;
}
