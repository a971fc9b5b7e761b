/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Suricata's eve-log "filetype: unix_stream": Suricata connects to a Unix
 * stream socket the connector listens on and writes one EVE object per line,
 * reconnecting when the connection drops. Every complete line of every
 * connection is converted; a partial line waits for its end; a line over the
 * limit is skipped up to its newline, with a log line.
 *
 * Only Suricata may write: the socket is created 0660 (socket_mode) and owned
 * by socket_group, so that a local user outside that group cannot forge
 * alerts. A writer silent for writer_idle_timeout seconds is closed (Suricata
 * reconnects and repeats its write on EPIPE), and when every slot is taken a
 * new writer replaces the one silent the longest: idle connections cannot lock
 * Suricata out for longer than the idle timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <inttypes.h>

#include "connector.h"

#define UNIX_MAX_CLIENTS 16
#define UNIX_DEFAULT_MODE 0660
#define UNIX_DEFAULT_IDLE_S 60
/* At the limit, a writer silent this long may be replaced by a new one. */
#define UNIX_EVICT_IDLE_MS 1000

struct unix_client {
	int fd;
	char *buf;
	size_t len;
	bool skipping;   /* inside a line over the limit */
	int64_t last_ms; /* when it last sent something (or connected) */
};

struct unix_input {
	char *path;
	size_t max_line;
	mode_t mode;
	gid_t gid; /* (gid_t)-1: the process's group */
	unsigned idle_s;
	int listen_fd;
	struct unix_client clients[UNIX_MAX_CLIENTS];
	size_t nclients;
	uint64_t connections, skipped, idle_closed, evicted, refused;
};

static int64_t unix_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* [suricata] socket_mode: octal, at most 0777, never writable by others without asking for it. */
static int parse_mode(struct connector *c, const char *section, mode_t *out)
{
	const char *v = cfg_get(c, section, "socket_mode");
	unsigned long m;
	char *end;

	*out = UNIX_DEFAULT_MODE;
	if (!v || !*v)
		return 0;
	errno = 0;
	m = strtoul(v, &end, 8);
	if (errno || *end || end == v || m > 0777 || !(m & 0200)) {
		conn_log(c, IDMEFV2_LOG_ERROR,
		         "%s: [%s] socket_mode: '%s' is not an octal mode from 0200 to 0777 that the owner can write",
		         c->conf_path, section, v);
		return -1;
	}
	*out = (mode_t)m;
	return 0;
}

/* [suricata] socket_group: a group name or number. */
static int parse_group(struct connector *c, const char *section, gid_t *out)
{
	const char *v = cfg_get(c, section, "socket_group");
	struct group gr, *found = NULL;
	char buf[4096], *end;
	unsigned long n;

	*out = (gid_t)-1;
	if (!v || !*v)
		return 0;
	if (getgrnam_r(v, &gr, buf, sizeof(buf), &found) == 0 && found) {
		*out = found->gr_gid;
		return 0;
	}
	errno = 0;
	n = strtoul(v, &end, 10);
	if (!errno && !*end && end != v && *v != '-' && n < (unsigned long)(gid_t)-1) {
		*out = (gid_t)n;
		return 0;
	}
	conn_log(c, IDMEFV2_LOG_ERROR, "%s: [%s] socket_group: no group '%s'", c->conf_path, section, v);
	return -1;
}

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
	c->unix_in = u;
	if (parse_mode(c, c->tool->section, &u->mode) != 0 || parse_group(c, c->tool->section, &u->gid) != 0 ||
	    cfg_uint(c, c->tool->section, "writer_idle_timeout", UNIX_DEFAULT_IDLE_S, 1, 86400, &u->idle_s) != 0)
		return -1;
	u->max_line = max_line;
	u->listen_fd = -1;
	return 0;
}

/*
 * Bind with the umask that gives the socket its final mode at once (never a
 * moment open to all), then hand it to its group without following a link
 * put in its place. The umask is the process's: restored at once.
 */
static int socket_bind(struct connector *c, struct unix_input *u, const struct sockaddr_un *sun)
{
	mode_t old = umask(~u->mode & 0777);
	int rc = bind(u->listen_fd, (const struct sockaddr *)sun, sizeof(*sun));
	int saved = errno;

	umask(old);
	errno = saved;
	if (rc != 0)
		return -1;
	if (u->gid != (gid_t)-1 && fchownat(AT_FDCWD, u->path, (uid_t)-1, u->gid, AT_SYMLINK_NOFOLLOW) != 0) {
		saved = errno;
		conn_log(c, IDMEFV2_LOG_ERROR, "%s: cannot give the socket to group %u: %s", u->path, (unsigned)u->gid,
		         strerror(saved));
		unlink(u->path);
		errno = saved;
		return -1;
	}
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
	if (u->listen_fd < 0 || socket_bind(c, u, &sun) != 0 || listen(u->listen_fd, UNIX_MAX_CLIENTS) != 0) {
		conn_log(c, IDMEFV2_LOG_ERROR, "cannot listen on %s: %s", u->path, strerror(errno));
		return -1;
	}
	conn_log(c, IDMEFV2_LOG_INFO, "listening for Suricata on %s (mode %04o)", u->path, (unsigned)u->mode);
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

/* The writer silent the longest, if silent for at least UNIX_EVICT_IDLE_MS; else -1. */
static ssize_t most_idle(const struct unix_input *u, int64_t now)
{
	ssize_t pick = -1;

	for (size_t i = 0; i < u->nclients; i++)
		if (now - u->clients[i].last_ms >= UNIX_EVICT_IDLE_MS &&
		    (pick < 0 || u->clients[i].last_ms < u->clients[pick].last_ms))
			pick = (ssize_t)i;
	return pick;
}

static void accept_writers(struct connector *c, struct unix_input *u)
{
	int fd;

	while ((fd = accept4(u->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		int64_t now = unix_now_ms();

		if (u->nclients == UNIX_MAX_CLIENTS) {
			ssize_t old = most_idle(u, now);

			if (old < 0) {
				u->refused++;
				conn_log(c, IDMEFV2_LOG_WARNING, "%s: %d writers, all active; connection refused", u->path,
				         UNIX_MAX_CLIENTS);
				close(fd);
				continue;
			}
			u->evicted++;
			conn_log(c, IDMEFV2_LOG_WARNING, "%s: %d writers; the one silent for %" PRId64
			         " ms is closed to let a new one in", u->path, UNIX_MAX_CLIENTS,
			         now - u->clients[old].last_ms);
			client_close(u, (size_t)old);
		}
		u->clients[u->nclients] = (struct unix_client){ .fd = fd, .buf = malloc(u->max_line + 65536),
		                                                .last_ms = now };
		if (!u->clients[u->nclients].buf) {
			close(fd);
			continue;
		}
		u->nclients++;
		u->connections++;
		conn_log(c, IDMEFV2_LOG_INFO, "%s: Suricata connected", u->path);
	}
}

/* Writers silent for writer_idle_timeout: closed (Suricata reconnects when it next writes). */
static void close_idle(struct connector *c, struct unix_input *u)
{
	int64_t now = unix_now_ms();

	for (size_t i = u->nclients; i-- > 0;) {
		struct unix_client *cl = &u->clients[i];

		if (now - cl->last_ms < (int64_t)u->idle_s * 1000)
			continue;
		/* What it sent without a newline before going silent is a line, as at a disconnection. */
		if (cl->len && !cl->skipping)
			conn_push_line(c, cl->buf, cl->len, u->path);
		u->idle_closed++;
		conn_log(c, IDMEFV2_LOG_INFO, "%s: a writer silent for %u s closed", u->path, u->idle_s);
		client_close(u, i);
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
				cl->last_ms = unix_now_ms();
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
	if (first_client && (fds[0].revents & POLLIN))
		accept_writers(c, u);
	close_idle(c, u);
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
