/* SPDX-License-Identifier: Apache-2.0 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <idmefv2/tail.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "idmefv2-common.h"

#define STATE_MAGIC "idmefv2-tail-state"
/* Retries of a file that cannot be opened or read: from the first delay, doubling, up to the last. */
#define RETRY_FIRST_MS 100
#define RETRY_MAX_MS 1000

/* Outcome of draining: everything read, or the line callback refused a line. */
typedef enum { DRAIN_DONE, DRAIN_STOPPED, DRAIN_ERROR } drain_result;

struct idmefv2_tail {
	char *path;
	char *dir;
	char *base;
	char *state_path;
	bool from_beginning;
	size_t max_line;

	idmefv2_tail_line_cb line_cb;
	void *line_ud;
	idmefv2_log_cb log_cb;
	void *log_ud;

	bool started;
	int ino_fd;
	int dir_wd;
	int file_wd;

	int fd;
	dev_t dev;
	ino_t ino;
	off_t pos;        /* file offset of buf[len] */
	uint64_t lineno;  /* lines (newlines) consumed before buf[0], skipped and empty ones included */
	bool skipping;    /* inside a line longer than max_line */
	off_t skip_start; /* offset where that line began */
	char *buf;        /* cap + 1 bytes, room for a terminating NUL */
	size_t len;
	size_t cap;

	/* Saved state, used by the first open only. */
	bool have_state;
	uint64_t st_dev;
	uint64_t st_ino;
	uint64_t st_off;
	uint64_t st_line;

	/* A file that cannot be opened or read: said once per cause, retried with a growing delay. */
	char error[256];   /* the cause last logged, "" when the file was fine */
	int64_t retry_at;  /* monotonic ms before which no new open is tried */
	int retry_ms;
	idmefv2_tail_position cur; /* the line being handed to the callback */

	bool resume;      /* reopening after a read error: same file, same position */
	size_t delivered; /* lines delivered during the current poll */
	idmefv2_tail_counters counters;
};

static void tail_log(idmefv2_tail *t, idmefv2_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void tail_log(idmefv2_tail *t, idmefv2_log_level level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!t->log_cb)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	t->log_cb(level, msg, t->log_ud);
}


IDMEFV2_EXPORT idmefv2_tail *idmefv2_tail_new(const char *path)
{
	idmefv2_tail *t;
	char *tmp = NULL;

	if (!path || !*path)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->fd = -1;
	t->ino_fd = -1;
	t->dir_wd = -1;
	t->file_wd = -1;
	t->max_line = IDMEFV2_TAIL_DEFAULT_MAX_LINE;
	t->path = strdup(path);
	if (!t->path)
		goto fail;
	/* dirname() and basename() may modify their argument: give each a copy. */
	tmp = strdup(path);
	if (!tmp)
		goto fail;
	t->dir = strdup(dirname(tmp));
	free(tmp);
	tmp = strdup(path);
	if (!tmp)
		goto fail;
	t->base = strdup(basename(tmp));
	free(tmp);
	if (!t->dir || !t->base)
		goto fail;
	return t;
fail:
	idmefv2_tail_free(t);
	return NULL;
}

IDMEFV2_EXPORT void idmefv2_tail_free(idmefv2_tail *t)
{
	if (!t)
		return;
	if (t->fd >= 0)
		close(t->fd);
	if (t->ino_fd >= 0)
		close(t->ino_fd);
	free(t->buf);
	free(t->path);
	free(t->dir);
	free(t->base);
	free(t->state_path);
	free(t);
}

IDMEFV2_EXPORT idmefv2_error idmefv2_tail_set_line_cb(idmefv2_tail *t, idmefv2_tail_line_cb cb,
                                                      void *user_data)
{
	if (!t)
		return IDMEFV2_ERR_INVALID_ARG;
	if (t->started)
		return IDMEFV2_ERR_STATE;
	t->line_cb = cb;
	t->line_ud = user_data;
	return IDMEFV2_OK;
}

IDMEFV2_EXPORT void idmefv2_tail_set_log_cb(idmefv2_tail *t, idmefv2_log_cb cb, void *user_data)
{
	if (!t)
		return;
	t->log_cb = cb;
	t->log_ud = user_data;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_tail_set_from_beginning(idmefv2_tail *t, bool yes)
{
	if (!t)
		return IDMEFV2_ERR_INVALID_ARG;
	if (t->started)
		return IDMEFV2_ERR_STATE;
	t->from_beginning = yes;
	return IDMEFV2_OK;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_tail_set_max_line(idmefv2_tail *t, size_t max_line)
{
	if (!t || max_line == 0 || max_line > SIZE_MAX / 2)
		return IDMEFV2_ERR_INVALID_ARG;
	if (t->started)
		return IDMEFV2_ERR_STATE;
	t->max_line = max_line;
	return IDMEFV2_OK;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_tail_set_state_file(idmefv2_tail *t, const char *state_path)
{
	char *copy = NULL;

	if (!t)
		return IDMEFV2_ERR_INVALID_ARG;
	if (t->started)
		return IDMEFV2_ERR_STATE;
	if (state_path) {
		copy = strdup(state_path);
		if (!copy)
			return IDMEFV2_ERR_NOMEM;
	}
	free(t->state_path);
	t->state_path = copy;
	return IDMEFV2_OK;
}

IDMEFV2_EXPORT int idmefv2_tail_get_fd(const idmefv2_tail *t)
{
	return t ? t->ino_fd : -1;
}

IDMEFV2_EXPORT void idmefv2_tail_get_counters(const idmefv2_tail *t, idmefv2_tail_counters *ret_counters)
{
	if (!t || !ret_counters)
		return;
	*ret_counters = t->counters;
}

static idmefv2_error tail_state_load(idmefv2_tail *t, char *errstr, size_t errstr_size)
{
	char text[256];
	ssize_t n;
	int fd;
	unsigned long long dev, ino, off, line = 0;
	char tail_char;
	int fields;

	if (!t->state_path)
		return IDMEFV2_OK;
	fd = open(t->state_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return IDMEFV2_OK;
		idmefv2__set_error(errstr, errstr_size, "%s: %s", t->state_path, strerror(errno));
		return IDMEFV2_ERR_IO;
	}
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n < 0) {
		idmefv2__set_error(errstr, errstr_size, "%s: %s", t->state_path, strerror(errno));
		return IDMEFV2_ERR_IO;
	}
	text[n] = '\0';
	/* Version 1 had no line number. */
	if (strncmp(text, STATE_MAGIC " 1 ", strlen(STATE_MAGIC) + 3) == 0) {
		fields = sscanf(text, STATE_MAGIC " 1 %llu %llu %llu%c", &dev, &ino, &off, &tail_char) == 4;
	} else {
		fields = sscanf(text, STATE_MAGIC " 2 %llu %llu %llu %llu%c", &dev, &ino, &off, &line, &tail_char) == 5;
	}
	if (!fields || tail_char != '\n' || off > (unsigned long long)INT64_MAX) {
		idmefv2__set_error(errstr, errstr_size, "%s: malformed tail state", t->state_path);
		return IDMEFV2_ERR_PARSE;
	}
	t->have_state = true;
	t->st_dev = dev;
	t->st_ino = ino;
	t->st_off = off;
	t->st_line = line;
	return IDMEFV2_OK;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The file cannot be opened or read: say so once per cause (not at every
 * retry, which would fill the disk with one line repeated), and wait before
 * the next attempt, longer each time up to RETRY_MAX_MS.
 */
static void tail_trouble(idmefv2_tail *t, const char *what)
{
	if (strcmp(t->error, what) != 0) {
		tail_log(t, IDMEFV2_LOG_ERROR, "%s: %s; retrying until it can be read", t->path, what);
		snprintf(t->error, sizeof(t->error), "%s", what);
	}
	t->retry_ms = t->retry_ms ? (t->retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : t->retry_ms * 2) :
	                            RETRY_FIRST_MS;
	t->retry_at = mono_ms() + t->retry_ms;
}

/* A read succeeded: the trouble, if any, is over. */
static void tail_fine(idmefv2_tail *t)
{
	if (t->error[0]) {
		tail_log(t, IDMEFV2_LOG_INFO, "%s: readable again", t->path);
		t->error[0] = '\0';
	}
	t->retry_ms = 0;
	t->retry_at = 0;
}

/* Watches are re-tried on every poll so that a directory created late still gets watched. */
static void tail_watch_dir(idmefv2_tail *t)
{
	if (t->dir_wd >= 0)
		return;
	t->dir_wd = inotify_add_watch(t->ino_fd, t->dir,
	                              IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_MODIFY |
	                                      IN_CLOSE_WRITE | IN_ATTRIB);
}

/*
 * The current file is also watched by inode, so that writes keep waking us
 * after it has been renamed out of the directory.
 */
static void tail_watch_file(idmefv2_tail *t)
{
	char proc[64];

	if (t->file_wd >= 0 && t->file_wd != t->dir_wd)
		inotify_rm_watch(t->ino_fd, t->file_wd);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", t->fd);
	t->file_wd = inotify_add_watch(t->ino_fd, proc, IN_MODIFY | IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF);
}

/* The current read position, as persisted: never past a line not yet accepted. */
static off_t tail_done_offset(const idmefv2_tail *t)
{
	return t->skipping ? t->skip_start : t->pos - (off_t)t->len;
}

/*
 * Hand over buf[start, start + len), a line ending at a newline (@p newline)
 * or at the end of a rotated-away file. Every line counts in the numbering,
 * including the empty ones, which are not handed over.
 */
static drain_result tail_deliver(idmefv2_tail *t, size_t start, size_t len, bool newline)
{
	char *line = t->buf + start;
	idmefv2_error r;

	t->cur = (idmefv2_tail_position){
		.dev = (uint64_t)t->dev,
		.ino = (uint64_t)t->ino,
		.offset = (uint64_t)(t->pos - (off_t)t->len) + start,
		.end = (uint64_t)(t->pos - (off_t)t->len) + start + len + (newline ? 1 : 0),
		.line = t->lineno + 1,
	};
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len == 0) {
		t->lineno++;
		return DRAIN_DONE;
	}
	line[len] = '\0';
	r = t->line_cb(line, len, t->line_ud);
	if (r != IDMEFV2_OK)
		return DRAIN_STOPPED;
	t->lineno++;
	t->counters.lines++;
	t->delivered++;
	return DRAIN_DONE;
}

/* Hand over every complete line in the buffer and keep the trailing partial one. */
static drain_result tail_process(idmefv2_tail *t)
{
	size_t start = 0;
	drain_result res = DRAIN_DONE;
	char *nl;

	if (t->skipping) {
		nl = memchr(t->buf, '\n', t->len);
		if (!nl) {
			t->len = 0;
			return DRAIN_DONE;
		}
		start = (size_t)(nl - t->buf) + 1;
		t->skipping = false;
		t->lineno++; /* the skipped line has a number too */
	}
	while (start < t->len && (nl = memchr(t->buf + start, '\n', t->len - start))) {
		size_t end = (size_t)(nl - t->buf);
		char saved_r = end > start ? t->buf[end - 1] : 0;

		res = tail_deliver(t, start, end - start, true);
		if (res != DRAIN_DONE) {
			/* Put the bytes back: the refused line is offered again later. */
			t->buf[end] = '\n';
			if (end > start)
				t->buf[end - 1] = saved_r;
			break;
		}
		start = end + 1;
	}
	memmove(t->buf, t->buf + start, t->len - start);
	t->len -= start;
	return res;
}

/* Read the current file to its end, delivering lines; restart at 0 if it shrank. */
static drain_result tail_drain(idmefv2_tail *t)
{
	struct stat st;
	drain_result res;
	ssize_t n;

	if (fstat(t->fd, &st) == 0 && st.st_size < t->pos) {
		tail_log(t, IDMEFV2_LOG_INFO, "%s: truncated (size %jd < offset %jd), reading from the start",
		         t->path, (intmax_t)st.st_size, (intmax_t)t->pos);
		t->counters.truncations++;
		t->pos = 0;
		t->lineno = 0;
		t->len = 0;
		t->skipping = false;
	}
	/* Lines refused by the callback on an earlier poll come first. */
	res = tail_process(t);
	if (res != DRAIN_DONE)
		return res;
	for (;;) {
		if (t->len == t->cap && !t->skipping) {
			t->skipping = true;
			t->skip_start = t->pos - (off_t)t->len;
			t->len = 0;
			t->counters.skipped++;
			tail_log(t, IDMEFV2_LOG_WARNING, "%s: line at offset %jd longer than %zu bytes, skipped",
			         t->path, (intmax_t)t->skip_start, t->max_line);
		}
		n = pread(t->fd, t->buf + t->len, t->cap - t->len, t->pos);
		if (n < 0) {
			char what[128];

			if (errno == EINTR)
				continue;
			/* Reopen by name later: the path may name a readable file again by then. */
			snprintf(what, sizeof(what), "read: %s", strerror(errno));
			tail_trouble(t, what);
			close(t->fd);
			t->fd = -1;
			t->resume = true;
			return DRAIN_ERROR;
		}
		tail_fine(t);
		if (n == 0)
			return DRAIN_DONE;
		t->pos += n;
		t->len += (size_t)n;
		t->counters.bytes += (uint64_t)n;
		res = tail_process(t);
		if (res != DRAIN_DONE)
			return res;
	}
}

static idmefv2_error tail_state_write(idmefv2_tail *t, uint64_t dev, uint64_t ino, uint64_t off, uint64_t line,
                                      char *errstr, size_t errstr_size);

/* Open what the path names now; only a regular file will do (a directory or a FIFO is refused, and retried). */
static bool tail_open(idmefv2_tail *t, bool at_start)
{
	char what[256];
	bool saved = false;
	struct stat st;
	int fd;

	if (t->retry_at && mono_ms() < t->retry_at)
		return false;
	/* O_NONBLOCK: opening a FIFO must not hang the caller; it is refused below. */
	fd = open(t->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 && errno == ENOENT)
		return false; /* not there yet: created later, read from its start */
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(what, sizeof(what), "cannot open: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		tail_trouble(t, what);
		return false;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		tail_trouble(t, S_ISDIR(st.st_mode) ? "a directory, not a regular file" : "not a regular file");
		return false;
	}
	t->fd = fd;
	if (t->resume && st.st_dev == t->dev && st.st_ino == t->ino) {
		/* The file of the read error: carry on where it stopped. */
		t->resume = false;
		tail_watch_file(t);
		return true;
	}
	t->resume = false;
	t->dev = st.st_dev;
	t->ino = st.st_ino;
	t->len = 0;
	t->skipping = false;
	t->pos = 0;
	t->lineno = 0;
	if (t->have_state) {
		if ((uint64_t)st.st_dev == t->st_dev && (uint64_t)st.st_ino == t->st_ino &&
		    (off_t)t->st_off <= st.st_size) {
			t->pos = (off_t)t->st_off;
			t->lineno = t->st_line;
			saved = true;
		} else {
			tail_log(t, IDMEFV2_LOG_INFO, "%s: not the file of the saved state, reading from the start",
			         t->path);
		}
		t->have_state = false;
	} else if (at_start && !t->from_beginning) {
		t->pos = st.st_size;
	}
	tail_watch_file(t);
	tail_log(t, IDMEFV2_LOG_INFO, "%s: following from offset %jd", t->path, (intmax_t)t->pos);
	/*
	 * A new file's starting point is saved at once (it covers nothing unread):
	 * a crash before the caller's first checkpoint must resume in this file,
	 * not skip to its end as a start without state would.
	 */
	if (!saved && t->state_path &&
	    tail_state_write(t, (uint64_t)t->dev, (uint64_t)t->ino, (uint64_t)t->pos, 0, what, sizeof(what)) !=
	            IDMEFV2_OK)
		tail_log(t, IDMEFV2_LOG_ERROR, "%s: cannot save the state: %s", t->path, what);
	return true;
}

/* Deliver the last line of a rotated-away file even without its newline: nothing will complete it. */
static drain_result tail_flush_partial(idmefv2_tail *t)
{
	drain_result res;

	if (t->skipping || t->len == 0)
		return DRAIN_DONE;
	res = tail_deliver(t, 0, t->len, false);
	if (res == DRAIN_DONE)
		t->len = 0;
	return res;
}

static drain_result tail_check(idmefv2_tail *t)
{
	struct stat st;
	drain_result res;
	bool replaced;

	if (t->fd < 0) {
		if (!tail_open(t, false))
			return DRAIN_DONE;
		return tail_drain(t);
	}
	/* Look at the path before draining, so the old file is read to an end seen after the switch. */
	replaced = stat(t->path, &st) == 0 && (st.st_ino != t->ino || st.st_dev != t->dev);
	res = tail_drain(t);
	if (res != DRAIN_DONE || !replaced)
		return res;
	res = tail_flush_partial(t);
	if (res != DRAIN_DONE)
		return res;
	close(t->fd);
	t->fd = -1;
	t->counters.rotations++;
	tail_log(t, IDMEFV2_LOG_INFO, "%s: rotated, following the new file", t->path);
	if (!tail_open(t, false))
		return DRAIN_DONE;
	return tail_drain(t);
}

IDMEFV2_EXPORT idmefv2_error idmefv2_tail_start(idmefv2_tail *t, char *errstr, size_t errstr_size)
{
	idmefv2_error r;

	if (!t)
		return IDMEFV2_ERR_INVALID_ARG;
	if (t->started || !t->line_cb) {
		idmefv2__set_error(errstr, errstr_size, "%s", t->started ? "already started" : "no line callback");
		return IDMEFV2_ERR_STATE;
	}
	r = tail_state_load(t, errstr, errstr_size);
	if (r != IDMEFV2_OK)
		return r;
	t->cap = t->max_line + 1;
	t->buf = malloc(t->cap + 1);
	if (!t->buf)
		return IDMEFV2_ERR_NOMEM;
	t->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (t->ino_fd < 0) {
		idmefv2__set_error(errstr, errstr_size, "inotify_init1: %s", strerror(errno));
		free(t->buf);
		t->buf = NULL;
		return IDMEFV2_ERR_IO;
	}
	/* Watch the directory first so that a file created right after the open attempt is not missed. */
	tail_watch_dir(t);
	tail_open(t, true);
	t->started = true;
	return IDMEFV2_OK;
}

/* Empty the inotify queue: events only wake us, tail_check() decides what happened. */
static void tail_drain_events(idmefv2_tail *t)
{
	char evbuf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	while (read(t->ino_fd, evbuf, sizeof(evbuf)) > 0)
		;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_tail_poll(idmefv2_tail *t, int timeout_ms, size_t *ret_lines)
{
	struct pollfd pfd;
	drain_result res;
	int n;

	if (!t)
		return IDMEFV2_ERR_INVALID_ARG;
	if (!t->started)
		return IDMEFV2_ERR_STATE;
	t->delivered = 0;
	tail_watch_dir(t);
	tail_drain_events(t);
	res = tail_check(t);
	if (res == DRAIN_DONE && t->delivered == 0 && timeout_ms != 0) {
		pfd.fd = t->ino_fd;
		pfd.events = POLLIN;
		do
			n = poll(&pfd, 1, timeout_ms);
		while (n < 0 && errno == EINTR);
		tail_drain_events(t);
		res = tail_check(t);
	}
	if (ret_lines)
		*ret_lines = t->delivered;
	return res == DRAIN_ERROR ? IDMEFV2_ERR_IO : IDMEFV2_OK;
}

static bool tail_fsync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd;
	bool ok = false;

	if (!copy)
		return false;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		ok = fsync(fd) == 0;
		close(fd);
	}
	free(copy);
	return ok;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_tail_get_position(const idmefv2_tail *t, idmefv2_tail_position *ret_pos)
{
	if (!t || !ret_pos)
		return IDMEFV2_ERR_INVALID_ARG;
	if (t->cur.end == 0)
		return IDMEFV2_ERR_STATE;
	*ret_pos = t->cur;
	return IDMEFV2_OK;
}

static idmefv2_error tail_state_write(idmefv2_tail *t, uint64_t dev, uint64_t ino, uint64_t off, uint64_t line,
                                      char *errstr, size_t errstr_size)
{
	char text[160];
	char *tmp = NULL;
	idmefv2_error r = IDMEFV2_ERR_IO;
	int fd = -1;
	int len;

	len = snprintf(text, sizeof(text), STATE_MAGIC " 2 %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", dev,
	               ino, off, line);
	if (asprintf(&tmp, "%s.tmp", t->state_path) < 0) {
		tmp = NULL;
		r = IDMEFV2_ERR_NOMEM;
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		idmefv2__set_error(errstr, errstr_size, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (!idmefv2__write_all(fd, text, (size_t)len) || fsync(fd) < 0) {
		idmefv2__set_error(errstr, errstr_size, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	close(fd);
	fd = -1;
	if (rename(tmp, t->state_path) < 0) {
		idmefv2__set_error(errstr, errstr_size, "rename %s: %s", t->state_path, strerror(errno));
		goto out;
	}
	/* The rename is only durable once the directory entry is on disk. */
	if (!tail_fsync_dir(t->state_path)) {
		idmefv2__set_error(errstr, errstr_size, "fsync directory of %s: %s", t->state_path, strerror(errno));
		goto out;
	}
	r = IDMEFV2_OK;
out:
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	free(tmp);
	return r;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_tail_checkpoint(idmefv2_tail *t, char *errstr, size_t errstr_size)
{
	if (!t)
		return IDMEFV2_ERR_INVALID_ARG;
	if (!t->state_path)
		return IDMEFV2_OK;
	if (t->fd >= 0 || t->resume)
		return tail_state_write(t, (uint64_t)t->dev, (uint64_t)t->ino, (uint64_t)tail_done_offset(t), t->lineno,
		                        errstr, errstr_size);
	if (t->have_state)
		return tail_state_write(t, t->st_dev, t->st_ino, t->st_off, t->st_line, errstr, errstr_size);
	return IDMEFV2_OK;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_tail_checkpoint_at(idmefv2_tail *t, const idmefv2_tail_position *pos,
                                                        char *errstr, size_t errstr_size)
{
	if (!t || !pos)
		return IDMEFV2_ERR_INVALID_ARG;
	if (!t->state_path)
		return IDMEFV2_OK;
	return tail_state_write(t, pos->dev, pos->ino, pos->end, pos->line, errstr, errstr_size);
}
