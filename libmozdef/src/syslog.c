/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <libgen.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "mozdef-private.h"

struct mozdef_syslog {
	int fd;
};

static const struct {
	const char *name;
	int code;
} facilities[] = {
	{ "kern", 0 }, { "user", 1 }, { "mail", 2 }, { "daemon", 3 }, { "auth", 4 }, { "syslog", 5 },
	{ "lpr", 6 }, { "news", 7 }, { "uucp", 8 }, { "cron", 9 }, { "authpriv", 10 }, { "ftp", 11 },
	{ "local0", 16 }, { "local1", 17 }, { "local2", 18 }, { "local3", 19 }, { "local4", 20 },
	{ "local5", 21 }, { "local6", 22 }, { "local7", 23 },
};

int mozdef__facility_from_string(const char *name)
{
	for (size_t i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++) {
		if (strcasecmp(name, facilities[i].name) == 0)
			return facilities[i].code;
	}
	return -1;
}

/* Called under c->lock. */
static void close_locked(mozdef_client *c)
{
	if (!c->syslog)
		return;
	if (c->syslog->fd >= 0)
		close(c->syslog->fd);
	free(c->syslog);
	c->syslog = NULL;
}

void mozdef__syslog_close(mozdef_client *c)
{
	pthread_mutex_lock(&c->lock);
	close_locked(c);
	pthread_mutex_unlock(&c->lock);
}

/* HOST, HOST:PORT, [V6]:PORT */
static bool split_server(const char *spec, char *host, size_t hsize, char *port, size_t psize)
{
	const char *colon;

	if (spec[0] == '[') {
		const char *end = strchr(spec, ']');
		if (!end || (size_t)(end - spec - 1) >= hsize)
			return false;
		snprintf(host, hsize, "%.*s", (int)(end - spec - 1), spec + 1);
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] && !colon)
			return false;
	} else {
		colon = strrchr(spec, ':');
		if (colon && strchr(spec, ':') != colon)
			colon = NULL; /* a bare IPv6 address */
		if ((size_t)(colon ? colon - spec : (long)strlen(spec)) >= hsize)
			return false;
		snprintf(host, hsize, "%.*s", (int)(colon ? colon - spec : (long)strlen(spec)), spec);
	}
	snprintf(port, psize, "%s", colon && colon[1] ? colon + 1 : "514");
	return host[0] != '\0';
}

static int open_unix(const char *path, char *why, size_t wsize)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(why, wsize, "socket path too long: %s", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		snprintf(why, wsize, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int open_inet(const char *spec, bool tcp, char *why, size_t wsize)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = tcp ? SOCK_STREAM : SOCK_DGRAM };
	struct addrinfo *res = NULL, *ai;
	char host[256], port[32];
	int fd = -1, rc;

	if (!split_server(spec, host, sizeof(host), port, sizeof(port))) {
		snprintf(why, wsize, "malformed syslog.server \"%s\"", spec);
		return -1;
	}
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		snprintf(why, wsize, "%s: %s", spec, gai_strerror(rc));
		return -1;
	}
	snprintf(why, wsize, "%s: no address", spec);
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		snprintf(why, wsize, "%s (%s): %s", spec, tcp ? "tcp" : "udp", strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static const char *ident_of(const mozdef_client *c, char *buf, size_t size)
{
	char tmp[256];

	if (c->opt.syslog_ident)
		return c->opt.syslog_ident;
	snprintf(tmp, sizeof(tmp), "%s", mozdef__default_processname());
	snprintf(buf, size, "%s", basename(tmp));
	return buf;
}

/* The line, without transport framing. Returns a malloc'd string. */
static char *format_line(const mozdef_client *c, int pri, const char *json)
{
	char stamp[64], identbuf[128];
	const char *ident = ident_of(c, identbuf, sizeof(identbuf));
	char *line = NULL;
	int n;

	if (c->opt.syslog_5424) {
		mozdef__format_utc(stamp, sizeof(stamp));
		n = asprintf(&line, "<%d>1 %s %s %s %ld - - %s", pri, stamp, mozdef__default_hostname(),
		             *ident ? ident : "-", (long)getpid(), json);
	} else {
		time_t now = time(NULL);
		struct tm tm;

		localtime_r(&now, &tm);
		strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
		/* Local daemons add the host name themselves; a remote one needs it. */
		if (c->opt.syslog_server)
			n = asprintf(&line, "<%d>%s %s %s: %s", pri, stamp, mozdef__default_hostname(), ident, json);
		else
			n = asprintf(&line, "<%d>%s %s: %s", pri, stamp, ident, json);
	}
	return n < 0 ? NULL : line;
}

static bool write_all(int fd, const char *buf, size_t len, bool stream)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		if (!stream)
			return (size_t)n == len;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

mozdef_error mozdef__syslog_send(mozdef_client *c, mozdef_severity sev, const char *json, mozdef_result *r)
{
	char why[300];
	char *line = NULL, *framed = NULL;
	const char *out;
	size_t out_len;
	bool tcp;
	int pri;

	pthread_mutex_lock(&c->lock);
	tcp = c->opt.syslog_server && c->opt.syslog_tcp;
	pri = c->opt.syslog_facility * 8 + mozdef_severity_to_syslog(sev);
	line = format_line(c, pri, json);
	if (!line) {
		mozdef__result_set(r, MOZDEF_ERR_NOMEM, "syslog: out of memory");
		goto out;
	}
	out = line;
	out_len = strlen(line);
	if (tcp) {
		/* RFC 6587 octet counting: JSON may hold no newline, but framing by count is exact. */
		if (asprintf(&framed, "%zu %s", out_len, line) < 0) {
			mozdef__result_set(r, MOZDEF_ERR_NOMEM, "syslog: out of memory");
			goto out;
		}
		out = framed;
		out_len = strlen(framed);
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		if (!c->syslog) {
			int fd = c->opt.syslog_server
			                 ? open_inet(c->opt.syslog_server, c->opt.syslog_tcp, why, sizeof(why))
			                 : open_unix(c->opt.syslog_socket ? c->opt.syslog_socket : "/dev/log", why,
			                             sizeof(why));
			if (fd < 0) {
				mozdef__result_set(r, MOZDEF_ERR_SYSLOG, "syslog: %s", why);
				goto out;
			}
			c->syslog = calloc(1, sizeof(*c->syslog));
			if (!c->syslog) {
				close(fd);
				mozdef__result_set(r, MOZDEF_ERR_NOMEM, "syslog: out of memory");
				goto out;
			}
			c->syslog->fd = fd;
		}
		if (write_all(c->syslog->fd, out, out_len, tcp)) {
			r->error = MOZDEF_OK;
			goto out;
		}
		/* The daemon may have restarted: reopen once. */
		snprintf(why, sizeof(why), "%s", strerror(errno));
		close_locked(c);
	}
	mozdef__result_set(r, MOZDEF_ERR_SYSLOG, "syslog: write failed: %s", why);
out:
	pthread_mutex_unlock(&c->lock);
	free(line);
	free(framed);
	return r->error;
}
