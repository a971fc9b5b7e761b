/* SPDX-License-Identifier: Apache-2.0 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <idmefv2/dirwatch.h>

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "idmefv2-common.h"

/* IN_CREATE only matters for directories; files are reported on their close or move. */
#define DIR_MASK                                                                                        \
	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE_SELF | IN_MOVE_SELF |     \
	 IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK)

typedef enum { REPORT_NONE, REPORT_ALL, REPORT_IF_NEW } report_mode;

struct watch {
	int wd;
	char *path;
	bool seen; /* found again by the current rescan */
};

struct idmefv2_dirwatch {
	char *root;
	char *pattern;
	bool report_existing;

	idmefv2_dirwatch_file_cb file_cb;
	void *file_ud;
	idmefv2_log_cb log_cb;
	void *log_ud;

	bool started;
	int ino_fd;
	int root_wd;

	/* Few directories live at once in the trees watched, so a linear table is enough. */
	struct watch *watches;
	size_t nwatches;
	size_t capwatches;

	/* Paths waiting for the callback, in event order: queue[qhead..qlen). */
	char **queue;
	size_t qhead;
	size_t qlen;
	size_t qcap;

	size_t delivered;
	idmefv2_dirwatch_counters counters;
};

static void dw_log(idmefv2_dirwatch *w, idmefv2_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void dw_log(idmefv2_dirwatch *w, idmefv2_log_level level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!w->log_cb)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	w->log_cb(level, msg, w->log_ud);
}


static char *path_join(const char *dir, const char *name)
{
	size_t dl = strlen(dir);
	size_t nl = strlen(name);
	bool slash = dl > 0 && dir[dl - 1] == '/';
	char *p = malloc(dl + nl + 2);

	if (!p)
		return NULL;
	memcpy(p, dir, dl);
	if (!slash)
		p[dl++] = '/';
	memcpy(p + dl, name, nl + 1);
	return p;
}

static bool name_matches(const idmefv2_dirwatch *w, const char *name)
{
	return !w->pattern || fnmatch(w->pattern, name, 0) == 0;
}

static ssize_t watch_find(const idmefv2_dirwatch *w, int wd)
{
	for (size_t i = 0; i < w->nwatches; i++)
		if (w->watches[i].wd == wd)
			return (ssize_t)i;
	return -1;
}

static void watch_remove_at(idmefv2_dirwatch *w, size_t i)
{
	free(w->watches[i].path);
	w->watches[i] = w->watches[w->nwatches - 1];
	w->nwatches--;
}

/* True when @p path is @p dir or lies below it. */
static bool path_within(const char *path, const char *dir)
{
	size_t dl = strlen(dir);

	return strncmp(path, dir, dl) == 0 && (path[dl] == '\0' || path[dl] == '/');
}

static void watch_drop_subtree(idmefv2_dirwatch *w, const char *dir)
{
	/* Backwards, so that swap-removal only moves entries already visited. */
	for (size_t i = w->nwatches; i-- > 0;) {
		if (!path_within(w->watches[i].path, dir))
			continue;
		inotify_rm_watch(w->ino_fd, w->watches[i].wd);
		watch_remove_at(w, i);
	}
}

/* Watch @p path; *ret_new tells whether it was not watched yet. */
static idmefv2_error watch_add(idmefv2_dirwatch *w, const char *path, bool *ret_new)
{
	ssize_t idx;
	char *copy;
	int wd;

	*ret_new = false;
	wd = inotify_add_watch(w->ino_fd, path, DIR_MASK);
	if (wd < 0) {
		/* ENOENT and ENOTDIR: gone or replaced since listed, its own events tell the rest. */
		if (errno != ENOENT && errno != ENOTDIR)
			dw_log(w, IDMEFV2_LOG_WARNING, "%s: cannot watch: %s", path, strerror(errno));
		return errno == ENOMEM ? IDMEFV2_ERR_NOMEM : IDMEFV2_ERR_IO;
	}
	idx = watch_find(w, wd);
	if (idx >= 0) {
		/* The same directory under another name: it moved while events were lost. */
		if (strcmp(w->watches[idx].path, path) != 0) {
			copy = strdup(path);
			if (!copy)
				return IDMEFV2_ERR_NOMEM;
			free(w->watches[idx].path);
			w->watches[idx].path = copy;
		}
		w->watches[idx].seen = true;
		return IDMEFV2_OK;
	}
	if (w->nwatches == w->capwatches) {
		size_t cap = w->capwatches ? w->capwatches * 2 : 16;
		struct watch *nw = realloc(w->watches, cap * sizeof(*nw));

		if (!nw)
			goto nomem;
		w->watches = nw;
		w->capwatches = cap;
	}
	copy = strdup(path);
	if (!copy)
		goto nomem;
	w->watches[w->nwatches++] = (struct watch){ .wd = wd, .path = copy, .seen = true };
	w->counters.dirs_added++;
	*ret_new = true;
	return IDMEFV2_OK;
nomem:
	inotify_rm_watch(w->ino_fd, wd);
	return IDMEFV2_ERR_NOMEM;
}

static idmefv2_error queue_push(idmefv2_dirwatch *w, const char *path)
{
	char *copy;

	if (w->qhead > 0 && w->qlen == w->qcap) {
		memmove(w->queue, w->queue + w->qhead, (w->qlen - w->qhead) * sizeof(*w->queue));
		w->qlen -= w->qhead;
		w->qhead = 0;
	}
	if (w->qlen == w->qcap) {
		size_t cap = w->qcap ? w->qcap * 2 : 16;
		char **nq = realloc(w->queue, cap * sizeof(*nq));

		if (!nq)
			return IDMEFV2_ERR_NOMEM;
		w->queue = nq;
		w->qcap = cap;
	}
	copy = strdup(path);
	if (!copy)
		return IDMEFV2_ERR_NOMEM;
	w->queue[w->qlen++] = copy;
	return IDMEFV2_OK;
}

/* d_type is not filled in by every file system. */
static unsigned char entry_type(const char *path, const struct dirent *de)
{
	struct stat st;

	if (de->d_type != DT_UNKNOWN)
		return de->d_type;
	if (lstat(path, &st) != 0)
		return DT_UNKNOWN;
	if (S_ISDIR(st.st_mode))
		return DT_DIR;
	if (S_ISREG(st.st_mode))
		return DT_REG;
	return DT_UNKNOWN;
}

/*
 * Watch @p dir and everything below it. The watch is added before the listing,
 * so a file written meanwhile is seen by the listing, its event, or both.
 */
static idmefv2_error scan_dir(idmefv2_dirwatch *w, const char *dir, report_mode mode)
{
	idmefv2_error r;
	struct dirent *de;
	bool is_new;
	bool report;
	DIR *d = NULL;
	char *child = NULL;

	r = watch_add(w, dir, &is_new);
	if (r != IDMEFV2_OK)
		return r == IDMEFV2_ERR_NOMEM ? r : IDMEFV2_OK;
	report = mode == REPORT_ALL || (mode == REPORT_IF_NEW && is_new);
	d = opendir(dir);
	if (!d)
		return IDMEFV2_OK;
	while ((de = readdir(d)) != NULL) {
		unsigned char type;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		child = path_join(dir, de->d_name);
		if (!child) {
			r = IDMEFV2_ERR_NOMEM;
			goto out;
		}
		type = entry_type(child, de);
		if (type == DT_DIR) {
			r = scan_dir(w, child, mode);
			if (r != IDMEFV2_OK)
				goto out;
		} else if (type == DT_REG && report && name_matches(w, de->d_name)) {
			r = queue_push(w, child);
			if (r != IDMEFV2_OK)
				goto out;
		}
		free(child);
		child = NULL;
	}
	r = IDMEFV2_OK;
out:
	free(child);
	closedir(d);
	return r;
}

static idmefv2_error dw_rescan(idmefv2_dirwatch *w)
{
	idmefv2_error r;

	for (size_t i = 0; i < w->nwatches; i++)
		w->watches[i].seen = false;
	r = scan_dir(w, w->root, REPORT_IF_NEW);
	if (r != IDMEFV2_OK)
		return r;
	for (size_t i = w->nwatches; i-- > 0;) {
		if (w->watches[i].seen)
			continue;
		inotify_rm_watch(w->ino_fd, w->watches[i].wd);
		watch_remove_at(w, i);
	}
	return IDMEFV2_OK;
}

static idmefv2_error dw_handle_event(idmefv2_dirwatch *w, const struct inotify_event *ev, bool *need_rescan)
{
	idmefv2_error r = IDMEFV2_OK;
	ssize_t idx;
	char *child;

	if (ev->mask & IN_Q_OVERFLOW) {
		w->counters.overflows++;
		*need_rescan = true;
		return IDMEFV2_OK;
	}
	idx = watch_find(w, ev->wd);
	if (idx < 0)
		return IDMEFV2_OK; /* late event of a watch already dropped */
	if (ev->mask & IN_IGNORED) {
		if (ev->wd == w->root_wd)
			dw_log(w, IDMEFV2_LOG_ERROR, "%s: watched root vanished", w->root);
		watch_remove_at(w, (size_t)idx);
		return IDMEFV2_OK;
	}
	if (ev->wd == w->root_wd && (ev->mask & IN_MOVE_SELF))
		dw_log(w, IDMEFV2_LOG_ERROR, "%s: watched root was moved", w->root);
	if (ev->len == 0 || ev->name[0] == '\0')
		return IDMEFV2_OK;
	child = path_join(w->watches[idx].path, ev->name);
	if (!child)
		return IDMEFV2_ERR_NOMEM;
	if (ev->mask & IN_ISDIR) {
		if (ev->mask & IN_MOVED_FROM)
			watch_drop_subtree(w, child);
		else if (ev->mask & (IN_CREATE | IN_MOVED_TO))
			r = scan_dir(w, child, REPORT_ALL);
	} else if ((ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) && name_matches(w, ev->name)) {
		r = queue_push(w, child);
	}
	free(child);
	return r;
}

static idmefv2_error dw_read_events(idmefv2_dirwatch *w)
{
	char buf[65536] __attribute__((aligned(__alignof__(struct inotify_event))));
	idmefv2_error r = IDMEFV2_OK;
	bool need_rescan = false;
	ssize_t n;

	for (;;) {
		n = read(w->ino_fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			dw_log(w, IDMEFV2_LOG_ERROR, "reading inotify events: %s", strerror(errno));
			r = IDMEFV2_ERR_IO;
			break;
		}
		if (n == 0)
			break;
		for (ssize_t off = 0; off < n;) {
			const struct inotify_event *ev = (const struct inotify_event *)(buf + off);

			if (r == IDMEFV2_OK)
				r = dw_handle_event(w, ev, &need_rescan);
			off += (ssize_t)(sizeof(*ev) + ev->len);
		}
		if (r != IDMEFV2_OK)
			break;
	}
	if (need_rescan) {
		dw_log(w, IDMEFV2_LOG_WARNING,
		       "%s: inotify queue overflowed, rescanning; files written meanwhile in watched "
		       "directories may be missed",
		       w->root);
		if (r == IDMEFV2_OK)
			r = dw_rescan(w);
	}
	return r;
}

/* Offer the queued paths in order; false when one was refused. */
static bool dw_deliver(idmefv2_dirwatch *w)
{
	while (w->qhead < w->qlen) {
		char *path = w->queue[w->qhead];

		if (w->file_cb(path, w->file_ud) != IDMEFV2_OK)
			return false;
		free(path);
		w->qhead++;
		w->counters.files++;
		w->delivered++;
	}
	w->qhead = 0;
	w->qlen = 0;
	return true;
}

IDMEFV2_EXPORT idmefv2_dirwatch *idmefv2_dirwatch_new(const char *root)
{
	idmefv2_dirwatch *w;
	size_t len;

	if (!root || !*root)
		return NULL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->root = strdup(root);
	if (!w->root) {
		free(w);
		return NULL;
	}
	len = strlen(w->root);
	while (len > 1 && w->root[len - 1] == '/')
		w->root[--len] = '\0';
	w->ino_fd = -1;
	w->root_wd = -1;
	return w;
}

IDMEFV2_EXPORT void idmefv2_dirwatch_free(idmefv2_dirwatch *w)
{
	if (!w)
		return;
	if (w->ino_fd >= 0)
		close(w->ino_fd);
	for (size_t i = 0; i < w->nwatches; i++)
		free(w->watches[i].path);
	free(w->watches);
	for (size_t i = w->qhead; i < w->qlen; i++)
		free(w->queue[i]);
	free(w->queue);
	free(w->pattern);
	free(w->root);
	free(w);
}

IDMEFV2_EXPORT idmefv2_error idmefv2_dirwatch_set_file_cb(idmefv2_dirwatch *w, idmefv2_dirwatch_file_cb cb,
                                                          void *user_data)
{
	if (!w)
		return IDMEFV2_ERR_INVALID_ARG;
	if (w->started)
		return IDMEFV2_ERR_STATE;
	w->file_cb = cb;
	w->file_ud = user_data;
	return IDMEFV2_OK;
}

IDMEFV2_EXPORT void idmefv2_dirwatch_set_log_cb(idmefv2_dirwatch *w, idmefv2_log_cb cb, void *user_data)
{
	if (!w)
		return;
	w->log_cb = cb;
	w->log_ud = user_data;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_dirwatch_set_pattern(idmefv2_dirwatch *w, const char *pattern)
{
	char *copy = NULL;

	if (!w)
		return IDMEFV2_ERR_INVALID_ARG;
	if (w->started)
		return IDMEFV2_ERR_STATE;
	if (pattern) {
		copy = strdup(pattern);
		if (!copy)
			return IDMEFV2_ERR_NOMEM;
	}
	free(w->pattern);
	w->pattern = copy;
	return IDMEFV2_OK;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_dirwatch_set_report_existing(idmefv2_dirwatch *w, bool yes)
{
	if (!w)
		return IDMEFV2_ERR_INVALID_ARG;
	if (w->started)
		return IDMEFV2_ERR_STATE;
	w->report_existing = yes;
	return IDMEFV2_OK;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_dirwatch_start(idmefv2_dirwatch *w, char *errstr, size_t errstr_size)
{
	idmefv2_error r;
	struct stat st;
	ssize_t idx;
	int wd;

	if (!w)
		return IDMEFV2_ERR_INVALID_ARG;
	if (w->started || !w->file_cb) {
		idmefv2__set_error(errstr, errstr_size, "%s", w->started ? "already started" : "no file callback");
		return IDMEFV2_ERR_STATE;
	}
	if (stat(w->root, &st) != 0) {
		idmefv2__set_error(errstr, errstr_size, "%s: %s", w->root, strerror(errno));
		return IDMEFV2_ERR_IO;
	}
	if (!S_ISDIR(st.st_mode)) {
		idmefv2__set_error(errstr, errstr_size, "%s: not a directory", w->root);
		return IDMEFV2_ERR_IO;
	}
	w->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->ino_fd < 0) {
		idmefv2__set_error(errstr, errstr_size, "inotify_init1: %s", strerror(errno));
		return IDMEFV2_ERR_IO;
	}
	r = scan_dir(w, w->root, w->report_existing ? REPORT_ALL : REPORT_NONE);
	if (r != IDMEFV2_OK) {
		idmefv2__set_error(errstr, errstr_size, "%s: %s", w->root, "out of memory");
		goto fail;
	}
	/* The root's watch descriptor, found again without a second add (which would not change it). */
	wd = inotify_add_watch(w->ino_fd, w->root, DIR_MASK);
	idx = wd >= 0 ? watch_find(w, wd) : -1;
	if (idx < 0) {
		idmefv2__set_error(errstr, errstr_size, "%s: cannot watch: %s", w->root, wd < 0 ? strerror(errno) : "vanished");
		r = IDMEFV2_ERR_IO;
		goto fail;
	}
	w->root_wd = wd;
	w->started = true;
	return IDMEFV2_OK;
fail:
	for (size_t i = 0; i < w->nwatches; i++)
		free(w->watches[i].path);
	w->nwatches = 0;
	for (size_t i = w->qhead; i < w->qlen; i++)
		free(w->queue[i]);
	w->qhead = w->qlen = 0;
	close(w->ino_fd);
	w->ino_fd = -1;
	return r;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_dirwatch_poll(idmefv2_dirwatch *w, int timeout_ms, size_t *ret_files)
{
	struct pollfd pfd;
	idmefv2_error r;
	bool all;
	int n;

	if (ret_files)
		*ret_files = 0;
	if (!w)
		return IDMEFV2_ERR_INVALID_ARG;
	if (!w->started)
		return IDMEFV2_ERR_STATE;
	w->delivered = 0;
	r = dw_read_events(w);
	all = dw_deliver(w);
	if (r == IDMEFV2_OK && all && w->delivered == 0 && timeout_ms != 0) {
		pfd.fd = w->ino_fd;
		pfd.events = POLLIN;
		do
			n = poll(&pfd, 1, timeout_ms);
		while (n < 0 && errno == EINTR);
		r = dw_read_events(w);
		dw_deliver(w);
	}
	if (ret_files)
		*ret_files = w->delivered;
	return r;
}

IDMEFV2_EXPORT int idmefv2_dirwatch_get_fd(const idmefv2_dirwatch *w)
{
	return w ? w->ino_fd : -1;
}

IDMEFV2_EXPORT void idmefv2_dirwatch_get_counters(const idmefv2_dirwatch *w,
                                                  idmefv2_dirwatch_counters *ret_counters)
{
	if (!w || !ret_counters)
		return;
	*ret_counters = w->counters;
	ret_counters->dirs_watched = w->nwatches;
	ret_counters->pending = w->qlen - w->qhead;
}
