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
 *
 * Nothing received is lost when the connector is killed: a line read from a
 * socket cannot be read again, so each batch of complete lines is appended to
 * a journal in the state directory (one write(2) per read: the kernel keeps it
 * whatever becomes of the process) before its lines are pushed, each tracked
 * with its journal position like a tailed line. The journal state saved by
 * checkpoint() covers only lines whose messages are resolved; at start the
 * lines after it are pushed again, with the IDs of their first pushing
 * (docs/ids.md). The journal is a series of segments, socket.journal.N: a new
 * one is started when everything written is resolved (or the current one is
 * full), and segments wholly resolved are removed. Against power loss the
 * current segment is synced (fdatasync) at each state save, once a second,
 * not per line: a power cut may lose the lines of the last second.
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
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
/* A journal segment this large is closed and a new one started, resolved or not. */
#define JOURNAL_SEGMENT_MAX (16 * 1024 * 1024)
#define JOURNAL_PREFIX "socket.journal."
#define JOURNAL_STATE "socket.state"
#define JOURNAL_MAGIC "idmefv2-socket-journal 1"

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
	struct journal *journal;
};

/*
 * The journal of received lines. Segment numbers only grow, across restarts
 * too, so a position (segment, offset) names one line for good.
 */
struct journal {
	char *dir;
	int fd;             /* the current segment, appended to */
	uint64_t seg;       /* its number */
	uint64_t size;      /* its size */
	uint64_t oldest;    /* the lowest segment that may still exist */
	uint64_t saved_seg, saved_off; /* the state on disk: everything before it is resolved */
	bool unsynced;      /* written since the last fdatasync */
	bool failing;       /* the last append failed (logged once until one succeeds) */
	uint64_t lines, replayed, errors;
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

/* ---- the journal ------------------------------------------------------------------------ */

static char *journal_path(const struct journal *j, uint64_t seg)
{
	char *path = NULL;

	if (asprintf(&path, "%s/" JOURNAL_PREFIX "%" PRIu64, j->dir, seg) < 0)
		path = NULL;
	return path;
}

static void journal_unlink(const struct journal *j, uint64_t seg)
{
	char *path = journal_path(j, seg);

	if (path)
		unlink(path);
	free(path);
}

/* The saved state: "idmefv2-socket-journal 1 SEGMENT OFFSET"; absent means nothing resolved yet. */
static int journal_state_load(struct connector *c, struct journal *j)
{
	char *path = NULL, buf[128];
	FILE *f;
	int rc = 0;

	if (asprintf(&path, "%s/" JOURNAL_STATE, j->dir) < 0)
		return -1;
	f = fopen(path, "re");
	if (!f) {
		if (errno != ENOENT) {
			conn_log(c, IDMEFV2_LOG_ERROR, "%s: %s", path, strerror(errno));
			rc = -1;
		}
		free(path);
		return rc;
	}
	if (!fgets(buf, sizeof(buf), f) ||
	    sscanf(buf, JOURNAL_MAGIC " %" SCNu64 " %" SCNu64, &j->saved_seg, &j->saved_off) != 2) {
		conn_log(c, IDMEFV2_LOG_ERROR, "%s: malformed socket journal state (remove it to replay every segment)",
		         path);
		rc = -1;
	}
	fclose(f);
	free(path);
	return rc;
}

/* Replace the state file (temporary file, fsync, rename): a crash leaves the old state or the new one. */
static int journal_state_save(struct connector *c, struct journal *j, uint64_t seg, uint64_t off)
{
	char *path = NULL, *tmp = NULL, text[128];
	int fd = -1, len, rc = -1;

	len = snprintf(text, sizeof(text), JOURNAL_MAGIC " %" PRIu64 " %" PRIu64 "\n", seg, off);
	if (asprintf(&path, "%s/" JOURNAL_STATE, j->dir) < 0) {
		path = NULL;
		goto out;
	}
	if (asprintf(&tmp, "%s.tmp", path) < 0) {
		tmp = NULL;
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0 || write(fd, text, (size_t)len) != len || fsync(fd) != 0) {
		conn_log(c, IDMEFV2_LOG_ERROR, "cannot save the socket journal state %s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		conn_log(c, IDMEFV2_LOG_ERROR, "cannot save the socket journal state %s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	j->saved_seg = seg;
	j->saved_off = off;
	rc = 0;
out:
	free(tmp);
	free(path);
	return rc;
}

/* Start segment @p seg, the one appended to from now on. */
static int journal_open(struct connector *c, struct journal *j, uint64_t seg)
{
	char *path = journal_path(j, seg);
	int fd;

	if (!path)
		return -1;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0) {
		conn_log(c, IDMEFV2_LOG_ERROR, "cannot create the socket journal %s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	free(path);
	if (j->fd >= 0) {
		if (j->unsynced)
			fdatasync(j->fd);
		close(j->fd);
	}
	j->fd = fd;
	j->seg = seg;
	j->size = 0;
	j->unsynced = false;
	return 0;
}

/* The ID prefix of the line at @p off of segment @p seg (docs/ids.md). */
static void journal_id_prefix(const struct unix_input *u, uint64_t seg, uint64_t off, char *buf, size_t size)
{
	snprintf(buf, size, "unix:%s:%" PRIu64 ":%" PRIu64 ":", u->path, seg, off);
}

static void journal_push(struct connector *c, const char *line, size_t len, uint64_t seg, uint64_t off,
                         uint64_t end)
{
	struct unix_input *u = c->unix_in;
	idmefv2_tail_position pos = { .dev = seg, .offset = off, .end = end };
	char prefix[256]; /* a socket path is at most 107 bytes */

	journal_id_prefix(u, seg, off, prefix, sizeof(prefix));
	conn_push_line_at(c, line, len, u->path, &pos, prefix);
}

/* Push again the lines of segment @p seg from @p off: their messages were not known to be resolved. */
static int journal_replay(struct connector *c, struct journal *j, uint64_t seg, uint64_t off)
{
	char *path = journal_path(j, seg), *line = NULL;
	size_t cap = 0;
	ssize_t got;
	FILE *f;

	if (!path)
		return -1;
	f = fopen(path, "re");
	if (!f || fseeko(f, (off_t)off, SEEK_SET) != 0) {
		conn_log(c, IDMEFV2_LOG_ERROR, "cannot read the socket journal %s: %s", path, strerror(errno));
		if (f)
			fclose(f);
		free(path);
		return -1;
	}
	while ((got = getline(&line, &cap, f)) > 0) {
		size_t len = (size_t)got;

		if (line[len - 1] == '\n')
			len--;
		/* A last line without newline was cut by a failed write: pushed as it is (malformed, logged). */
		if (len)
			journal_push(c, line, len, seg, off, off + (uint64_t)got);
		j->replayed += len != 0;
		off += (uint64_t)got;
	}
	free(line);
	fclose(f);
	free(path);
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The numbers of the segments in the state directory, sorted; -1 on error. */
static int journal_list(struct connector *c, struct journal *j, uint64_t **ret, size_t *ret_n)
{
	DIR *d = opendir(j->dir);
	struct dirent *de;
	uint64_t *v = NULL;
	size_t n = 0, cap = 0;

	if (!d) {
		conn_log(c, IDMEFV2_LOG_ERROR, "%s: %s", j->dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		const char *num = de->d_name + strlen(JOURNAL_PREFIX);
		char *end;
		uint64_t seg;

		if (strncmp(de->d_name, JOURNAL_PREFIX, strlen(JOURNAL_PREFIX)) != 0 || !*num || *num == '-')
			continue;
		errno = 0;
		seg = strtoull(num, &end, 10);
		if (errno || *end)
			continue;
		if (n == cap) {
			uint64_t *nv = realloc(v, (cap = cap ? 2 * cap : 16) * sizeof(*v));

			if (!nv) {
				free(v);
				closedir(d);
				return -1;
			}
			v = nv;
		}
		v[n++] = seg;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp_u64);
	*ret = v;
	*ret_n = n;
	return 0;
}

/*
 * Remove the segments wholly resolved, push again the lines after the saved
 * position, and start a new segment after every number used so far.
 */
static int journal_start(struct connector *c, struct journal *j)
{
	uint64_t *segs = NULL, next;
	size_t n = 0;
	int rc = 0;

	if (journal_state_load(c, j) != 0 || journal_list(c, j, &segs, &n) != 0)
		return -1;
	next = j->saved_seg;
	j->oldest = UINT64_MAX;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (segs[i] < j->saved_seg) {
			journal_unlink(j, segs[i]);
			continue;
		}
		if (segs[i] < j->oldest)
			j->oldest = segs[i];
		rc = journal_replay(c, j, segs[i], segs[i] == j->saved_seg ? j->saved_off : 0);
		next = segs[i];
	}
	free(segs);
	if (rc != 0 || journal_open(c, j, next + 1) != 0)
		return -1;
	if (j->oldest == UINT64_MAX)
		j->oldest = j->seg;
	if (j->replayed)
		conn_log(c, IDMEFV2_LOG_INFO, "socket journal: %" PRIu64 " lines received before a stop and not known "
		         "to be delivered are sent again", j->replayed);
	return 0;
}

/*
 * Append @p len bytes (complete lines; @p newline adds the final newline).
 * Returns the offset of the first byte, or UINT64_MAX when the journal could
 * not keep them (logged once until it works again).
 */
static uint64_t journal_append(struct connector *c, struct journal *j, const char *data, size_t len, bool newline)
{
	struct iovec iov[2] = { { (void *)data, len }, { (void *)"\n", newline ? 1 : 0 } };
	size_t want = len + (newline ? 1 : 0), done = 0;
	uint64_t off;
	int err;

	if (j->size >= JOURNAL_SEGMENT_MAX)
		journal_open(c, j, j->seg + 1);
	off = j->size;
	while (done < want) {
		ssize_t w;

		if (done < len)
			w = writev(j->fd, iov, 2);
		else
			w = write(j->fd, "\n", 1);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			err = w < 0 ? errno : EIO;
			goto fail;
		}
		done += (size_t)w;
		if (done < len) {
			iov[0].iov_base = (char *)data + done;
			iov[0].iov_len = len - done;
		}
	}
	j->size += want;
	j->unsynced = true;
	if (j->failing)
		conn_log(c, IDMEFV2_LOG_INFO, "socket journal: writing again");
	j->failing = false;
	return off;
fail:
	j->errors++;
	if (!j->failing)
		conn_log(c, IDMEFV2_LOG_ERROR, "socket journal: cannot write segment %" PRIu64 ": %s; lines are sent "
		         "without being journaled (a crash may lose them) until it works again",
		         j->seg, strerror(err));
	j->failing = true;
	/* A torn line would be glued to the next one: cut it off. */
	if (done && ftruncate(j->fd, (off_t)off) != 0)
		journal_open(c, j, j->seg + 1);
	return UINT64_MAX;
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

	u->journal = calloc(1, sizeof(*u->journal));
	if (!u->journal || !(u->journal->dir = strdup(c->state_dir)))
		return -1;
	u->journal->fd = -1;
	/* What an earlier run received and did not see resolved goes first. */
	if (journal_start(c, u->journal) != 0)
		return -1;
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

/*
 * Journal then push @p len bytes of complete lines, each ending with a
 * newline (@p newline: the last one has none yet, one is journaled).
 */
static void lines_push(struct connector *c, const char *data, size_t len, bool newline)
{
	struct unix_input *u = c->unix_in;
	struct journal *j = u->journal;
	uint64_t base = journal_append(c, j, data, len, newline);
	size_t start = 0;

	while (start < len) {
		const char *nl = memchr(data + start, '\n', len - start);
		size_t end = nl ? (size_t)(nl - data) : len;

		if (end > start) {
			if (base == UINT64_MAX)
				conn_push_line(c, data + start, end - start, u->path);
			else
				journal_push(c, data + start, end - start, j->seg, base + start, base + end + 1);
			j->lines++;
		}
		start = end + 1;
	}
}

/* Journal and deliver the complete lines of the buffer; keep the partial one. */
static void client_lines(struct connector *c, struct unix_client *cl)
{
	struct unix_input *u = c->unix_in;
	const char *last = memrchr(cl->buf, '\n', cl->len);

	if (last) {
		size_t start = 0, end = (size_t)(last - cl->buf) + 1;

		if (cl->skipping) {
			/* The end of a line over the limit: dropped with it. */
			start = (size_t)((const char *)memchr(cl->buf, '\n', cl->len) - cl->buf) + 1;
			cl->skipping = false;
		}
		if (end > start)
			lines_push(c, cl->buf + start, end - start, false);
		memmove(cl->buf, cl->buf + end, cl->len - end);
		cl->len -= end;
	}
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
			lines_push(c, cl->buf, cl->len, true);
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
				lines_push(c, cl->buf, cl->len, true);
			conn_log(c, IDMEFV2_LOG_INFO, "%s: Suricata disconnected", u->path);
			client_close(u, i);
			break;
		}
	}
	if (first_client && (fds[0].revents & POLLIN))
		accept_writers(c, u);
	close_idle(c, u);
}

/*
 * Save the journal state: up to the end of the line at @p pos (the last of
 * the resolved prefix, NULL if none moved), or, when @p idle (every line
 * pushed is resolved), everything, starting a new segment so that the old
 * ones can go. Segments before the saved one are removed.
 */
void unix_input_checkpoint(struct connector *c, const idmefv2_tail_position *pos, bool idle)
{
	struct journal *j = c->unix_in ? c->unix_in->journal : NULL;
	uint64_t seg, off;

	if (!j || j->fd < 0)
		return;
	if (j->unsynced && fdatasync(j->fd) == 0)
		j->unsynced = false;
	if (idle) {
		if (j->size > 0)
			journal_open(c, j, j->seg + 1); /* on failure, the full segment stays: saved at its end */
		seg = j->seg;
		off = j->size;
	} else if (pos) {
		seg = pos->dev;
		off = pos->end;
	} else {
		return;
	}
	if ((seg == j->saved_seg && off == j->saved_off) || journal_state_save(c, j, seg, off) != 0)
		return;
	while (j->oldest < seg)
		journal_unlink(j, j->oldest++);
}

void unix_input_log_counters(struct connector *c, const char *when)
{
	struct unix_input *u = c->unix_in;
	struct journal *j = u ? u->journal : NULL;

	if (!u)
		return;
	conn_log(c, IDMEFV2_LOG_INFO,
	         "%s: %s: connections %" PRIu64 ", lines %" PRIu64 ", skipped %" PRIu64 ", idle closed %" PRIu64
	         ", evicted %" PRIu64 ", refused %" PRIu64 ", replayed from the journal %" PRIu64
	         ", journal write errors %" PRIu64,
	         when, u->path, u->connections, j ? j->lines : 0, u->skipped, u->idle_closed, u->evicted, u->refused,
	         j ? j->replayed : 0, j ? j->errors : 0);
}

/* Stop receiving: the writers and the socket are closed; the journal stays until unix_input_free(). */
void unix_input_stop(struct connector *c)
{
	struct unix_input *u = c->unix_in;

	if (!u)
		return;
	while (u->nclients)
		client_close(u, u->nclients - 1);
	if (u->listen_fd >= 0) {
		close(u->listen_fd);
		unlink(u->path);
		u->listen_fd = -1;
	}
}

void unix_input_free(struct connector *c)
{
	struct unix_input *u = c->unix_in;

	if (!u)
		return;
	unix_input_stop(c);
	if (u->journal) {
		if (u->journal->fd >= 0)
			close(u->journal->fd);
		free(u->journal->dir);
		free(u->journal);
	}
	free(u->path);
	free(u);
	c->unix_in = NULL;
}
