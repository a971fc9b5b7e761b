/* SPDX-License-Identifier: Apache-2.0 */
/*
 * file:///dir — one file per message.
 *
 * Sender: each message is written under a dotfile name, fsync'd and renamed to
 * "<unix-ns>-<pid>-<counter><extension>", so a reader never sees a partial
 * file and names sort by time and never collide. A missing or unwritable
 * directory counts as "peer down": items go back to the generic layer (and its
 * spool) and are retried with backoff.
 *
 * Listener: inotify (IN_CLOSE_WRITE | IN_MOVED_TO) plus a scan of what is
 * there at start; each file is unserialized and validated, delivered with an
 * ack hook that deletes it after task_done(), or renamed to "<name>.invalid".
 * Dotfiles (writers' temporaries) are ignored, and so are empty files (a file
 * created but not yet written); writers should write a dotfile and rename it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <search.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <idmefv2/schema.h>

#include "transport-generic.h"
#include "transport-private.h"
#include "idmefv2-common.h"

#define SEND_BATCH 64
#define MAX_FILE_BYTES (64u << 20)
#define RETRY_INTERVAL_MS 100
#define INVALID_SUFFIX ".invalid"

/* ---- sender -------------------------------------------------------------------------------- */

struct file_sender {
	char *dir;
	char *extension;
	int64_t retry_max;
	pthread_t thread;
	bool running;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
};

/* Unique across the transports of this process; the pid makes it unique across processes. */
static atomic_uint_fast64_t name_counter;

static bool is_transient(int err)
{
	switch (err) {
	case ENOENT:
	case ENOTDIR:
	case EACCES:
	case EPERM:
	case ENOSPC:
	case EDQUOT:
	case EROFS:
	case EIO:
	case EAGAIN:
	case EINTR:
	case EMFILE:
	case ENFILE:
	case ENOMEM:
	case EBUSY:
	case ESTALE:
		return true;
	default:
		return false;
	}
}


#define NAME_ATTEMPTS 8

/*
 * Returns 0 or an errno value. The directory may be shared with other users:
 * the temporary is created O_EXCL | O_NOFOLLOW, readable by the group at most
 * (alerts are not for everyone), and the final name never replaces a file or
 * follows a link someone put there; a taken name is a new name.
 */
static int write_one(int dir_fd, const char *extension, const struct idmefv2__item *item)
{
	char name[128];
	char tmp[sizeof(name) + 8];
	struct timespec now;
	int fd = -1;
	int err = 0;

	for (int i = 0; i < NAME_ATTEMPTS && fd < 0; i++) {
		clock_gettime(CLOCK_REALTIME, &now);
		snprintf(name, sizeof(name), "%" PRId64 "%09ld-%ld-%" PRIuFAST64 "%s", (int64_t)now.tv_sec, now.tv_nsec,
		         (long)getpid(), atomic_fetch_add(&name_counter, 1), extension);
		snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
		fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
		if (fd < 0 && errno != EEXIST)
			return errno;
	}
	if (fd < 0)
		return EEXIST;
	if (!idmefv2__write_all(fd, item->data, item->len) || fsync(fd) < 0)
		err = errno;
	if (close(fd) < 0 && !err)
		err = errno;
	for (int i = 0; !err && i < NAME_ATTEMPTS; i++) {
		err = idmefv2__rename_noreplace(dir_fd, tmp, name);
		if (err != EEXIST)
			break;
		snprintf(name, sizeof(name), "%" PRId64 "%09ld-%ld-%" PRIuFAST64 "%s", (int64_t)now.tv_sec, now.tv_nsec,
		         (long)getpid(), atomic_fetch_add(&name_counter, 1), extension);
	}
	if (err)
		unlinkat(dir_fd, tmp, 0);
	return err;
}

static void give_up(idmefv2_transport *t, struct idmefv2__item *item, const char *reason)
{
	idmefv2__transport_dead_letter(t, item, reason);
	idmefv2__transport_done(t, item, IDMEFV2_DELIVERY_FAILED, reason);
}

/* Sleep up to @ms unless the backend is stopped meanwhile. */
static void sender_pause(struct file_sender *s, int64_t ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->lock);
	while (!s->stop && pthread_cond_timedwait(&s->cond, &s->lock, &ts) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&s->lock);
}

/* Write a batch; returns the backoff to wait before the next one (0: none). */
static int64_t sender_write_batch(idmefv2_transport *t, struct file_sender *s, struct idmefv2__item *items)
{
	struct idmefv2__item *written = NULL;
	struct idmefv2__item **tail = &written;
	int64_t backoff = 0;
	char reason[512];
	int dir_fd;
	int err = 0;

	dir_fd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0)
		err = errno;
	while (items) {
		struct idmefv2__item *item = items;
		items = item->next;
		item->next = NULL;
		if (dir_fd >= 0)
			err = write_one(dir_fd, s->extension, item);
		if (!err) {
			*tail = item;
			tail = &item->next;
			continue;
		}
		item->attempts++;
		snprintf(reason, sizeof(reason), "cannot write to %s: %s", s->dir, strerror(err));
		if (!is_transient(err)) {
			give_up(t, item, reason);
			continue;
		}
		if (s->retry_max >= 0 && (int64_t)item->attempts > s->retry_max) {
			give_up(t, item, reason);
			continue;
		}
		idmefv2__log(t, IDMEFV2_LOG_WARNING, "%s; retrying", reason);
		/* Keep order: this item and everything after it wait for the directory. */
		backoff = idmefv2__backoff_ms(t, item->attempts);
		idmefv2__transport_return(t, item);
		while (items) {
			struct idmefv2__item *next = items->next;
			idmefv2__transport_return(t, items);
			items = next;
		}
	}
	/* One directory sync makes the whole batch's renames durable. */
	if (dir_fd >= 0) {
		if (written)
			fsync(dir_fd);
		close(dir_fd);
	}
	while (written) {
		struct idmefv2__item *next = written->next;
		idmefv2__transport_done(t, written, IDMEFV2_DELIVERY_SENT, NULL);
		written = next;
	}
	return backoff;
}

static void *sender_main(void *arg)
{
	idmefv2_transport *t = arg;
	struct file_sender *s = idmefv2__transport_backend_data(t);

	for (;;) {
		struct idmefv2__item *items = idmefv2__transport_take(t, SEND_BATCH, -1);
		int64_t backoff;

		if (!items) {
			if (idmefv2__transport_stopping(t))
				break;
			continue;
		}
		backoff = sender_write_batch(t, s, items);
		if (backoff > 0)
			sender_pause(s, backoff);
	}
	return NULL;
}

/* ---- listener ------------------------------------------------------------------------------- */

/* Names delivered and not yet acknowledged: shared with the ack hooks, which may
 * run after the transport is gone (the queue outlives it). */
struct inflight {
	atomic_int refs;
	pthread_mutex_t lock;
	void *names; /* tsearch tree of char * */
};

struct file_ack {
	struct inflight *inflight;
	char *path;
	char *name;
};

struct file_listener {
	char *dir;
	const char *content_type;
	int timeout_ms;
	int dir_fd;
	int inotify_fd;
	int wake_fd;
	pthread_t thread;
	bool running;
	atomic_bool stop;
	struct inflight *inflight;
	/* Names to process, oldest first. */
	char **backlog;
	size_t backlog_head;
	size_t backlog_count;
	size_t backlog_alloc;
};

static int compare_names(const void *a, const void *b)
{
	return strcmp(a, b);
}

static struct inflight *inflight_new(void)
{
	struct inflight *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	atomic_init(&f->refs, 1);
	pthread_mutex_init(&f->lock, NULL);
	return f;
}

static void inflight_unref(struct inflight *f)
{
	if (!f || atomic_fetch_sub(&f->refs, 1) != 1)
		return;
	tdestroy(f->names, free);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

static bool inflight_contains(struct inflight *f, const char *name)
{
	bool found;

	pthread_mutex_lock(&f->lock);
	found = tfind(name, &f->names, compare_names) != NULL;
	pthread_mutex_unlock(&f->lock);
	return found;
}

static bool inflight_add(struct inflight *f, const char *name)
{
	char *key = strdup(name);
	void *node;

	if (!key)
		return false;
	pthread_mutex_lock(&f->lock);
	node = tsearch(key, &f->names, compare_names);
	if (node && *(char **)node != key)
		free(key); /* already there */
	pthread_mutex_unlock(&f->lock);
	if (!node)
		free(key);
	return node != NULL;
}

static void inflight_remove(struct inflight *f, const char *name)
{
	void *node;

	pthread_mutex_lock(&f->lock);
	node = tfind(name, &f->names, compare_names);
	if (node) {
		char *key = *(char **)node;
		tdelete(name, &f->names, compare_names);
		free(key);
	}
	pthread_mutex_unlock(&f->lock);
}

static void file_ack_free(struct file_ack *a)
{
	inflight_unref(a->inflight);
	free(a->path);
	free(a->name);
	free(a);
}

static void file_ack_cb(idmefv2_message *msg, void *ctx, bool done)
{
	struct file_ack *a = ctx;

	(void)msg;
	/* Not acknowledged (the queue was freed first): the file stays for the next run. */
	if (done)
		unlink(a->path);
	inflight_remove(a->inflight, a->name);
	file_ack_free(a);
}

static bool backlog_push(struct file_listener *l, const char *name)
{
	char *copy;

	if (l->backlog_head + l->backlog_count == l->backlog_alloc) {
		if (l->backlog_head > 0) {
			memmove(l->backlog, l->backlog + l->backlog_head, l->backlog_count * sizeof(*l->backlog));
			l->backlog_head = 0;
		} else {
			size_t n = l->backlog_alloc ? l->backlog_alloc * 2 : 64;
			char **grown = realloc(l->backlog, n * sizeof(*grown));
			if (!grown)
				return false;
			l->backlog = grown;
			l->backlog_alloc = n;
		}
	}
	copy = strdup(name);
	if (!copy)
		return false;
	l->backlog[l->backlog_head + l->backlog_count++] = copy;
	return true;
}

static void backlog_pop(struct file_listener *l)
{
	free(l->backlog[l->backlog_head]);
	l->backlog_head++;
	l->backlog_count--;
	if (l->backlog_count == 0)
		l->backlog_head = 0;
}

static bool ignored_name(const char *name)
{
	size_t len = strlen(name);
	size_t n = sizeof(INVALID_SUFFIX) - 1;

	return name[0] == '.' || (len >= n && strcmp(name + len - n, INVALID_SUFFIX) == 0);
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Queue every file present, in name order (the sender's names sort by time). */
static void listener_scan(idmefv2_transport *t, struct file_listener *l)
{
	char **names = NULL;
	size_t count = 0;
	size_t alloc = 0;
	struct dirent *de;
	DIR *d;
	int fd = dup(l->dir_fd);

	if (fd < 0 || !(d = fdopendir(fd))) {
		idmefv2__log(t, IDMEFV2_LOG_ERROR, "file listener %s: cannot list: %s", l->dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	rewinddir(d);
	while ((de = readdir(d))) {
		if (ignored_name(de->d_name))
			continue;
		if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN)
			continue;
		if (count == alloc) {
			size_t n = alloc ? alloc * 2 : 64;
			char **grown = realloc(names, n * sizeof(*grown));
			if (!grown)
				break;
			names = grown;
			alloc = n;
		}
		if (!(names[count] = strdup(de->d_name)))
			break;
		count++;
	}
	closedir(d);
	if (count > 1)
		qsort(names, count, sizeof(*names), compare_strings);
	for (size_t i = 0; i < count; i++) {
		backlog_push(l, names[i]);
		free(names[i]);
	}
	free(names);
}

enum outcome {
	OUTCOME_DONE,  /* delivered, invalid or gone: next name */
	OUTCOME_RETRY, /* the queue is full or the callback refused: try again later */
};

static char *read_file(int fd, size_t *ret_len, int *ret_errno)
{
	struct stat st;
	size_t got = 0;
	char *buf;

	if (fstat(fd, &st) < 0) {
		*ret_errno = errno;
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > (off_t)MAX_FILE_BYTES) {
		*ret_errno = S_ISREG(st.st_mode) ? EFBIG : EINVAL;
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		*ret_errno = ENOMEM;
		return NULL;
	}
	for (;;) {
		ssize_t n;
		if (got == (size_t)st.st_size)
			break;
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*ret_errno = errno;
			free(buf);
			return NULL;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	*ret_len = got;
	return buf;
}

static void reject_file(idmefv2_transport *t, struct file_listener *l, const char *name, const char *why)
{
	char bad[NAME_MAX + sizeof(INVALID_SUFFIX) + 1];

	/* Counted and logged before the rename, which is what an observer waits for. */
	idmefv2__transport_count_invalid(t);
	snprintf(bad, sizeof(bad), "%s" INVALID_SUFFIX, name);
	idmefv2__log(t, IDMEFV2_LOG_WARNING, "file listener %s: %s refused: %s (renamed to %s)", l->dir, name, why,
	             bad);
	/* Renamed so that it is kept for inspection and not read again. */
	if (renameat(l->dir_fd, name, l->dir_fd, bad) < 0)
		idmefv2__log(t, IDMEFV2_LOG_ERROR, "file listener %s: %s: cannot rename to %s: %s", l->dir, name, bad,
		             strerror(errno));
}

static enum outcome listener_process(idmefv2_transport *t, struct file_listener *l, const char *name)
{
	idmefv2_report *report = NULL;
	idmefv2_message *msg = NULL;
	struct file_ack *ack = NULL;
	char errbuf[512];
	char why[768];
	size_t len = 0;
	char *data;
	int saved = 0;
	int fd;
	idmefv2_error err;

	if (ignored_name(name) || inflight_contains(l->inflight, name))
		return OUTCOME_DONE;
	fd = openat(l->dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			idmefv2__log(t, IDMEFV2_LOG_WARNING, "file listener %s: %s: %s", l->dir, name, strerror(errno));
		return OUTCOME_DONE;
	}
	data = read_file(fd, &len, &saved);
	close(fd);
	if (!data) {
		if (saved == EFBIG) {
			reject_file(t, l, name, "file too large");
		} else if (saved != EINVAL) {
			idmefv2__log(t, IDMEFV2_LOG_WARNING, "file listener %s: %s: %s", l->dir, name, strerror(saved));
		}
		return OUTCOME_DONE;
	}
	if (len == 0) {
		/* Most likely created and not yet written (the start-up scan can see that):
		 * its IN_CLOSE_WRITE brings it back. An empty file is never a message anyway. */
		free(data);
		return OUTCOME_DONE;
	}
	errbuf[0] = '\0';
	err = idmefv2_message_unserialize(l->content_type, data, len, 0, &msg, &report, errbuf, sizeof(errbuf));
	free(data);
	if (err != IDMEFV2_OK) {
		if (err == IDMEFV2_ERR_INVALID && report && idmefv2_report_count(report) > 0)
			snprintf(why, sizeof(why), "invalid: %s: %s",
			         *idmefv2_report_instance_path(report, 0) ? idmefv2_report_instance_path(report, 0) : "(root)",
			         idmefv2_report_message(report, 0));
		else
			snprintf(why, sizeof(why), "%s%s%s", idmefv2_strerror(err), errbuf[0] ? ": " : "", errbuf);
		idmefv2_report_free(report);
		reject_file(t, l, name, why);
		return OUTCOME_DONE;
	}
	idmefv2_report_free(report);

	ack = calloc(1, sizeof(*ack));
	if (!ack || !(ack->name = strdup(name)) || asprintf(&ack->path, "%s/%s", l->dir, name) < 0) {
		if (ack) {
			free(ack->name);
			free(ack);
		}
		idmefv2_message_unref(msg);
		return OUTCOME_RETRY;
	}
	/* Before delivering: a callback acknowledges synchronously. */
	if (!inflight_add(l->inflight, name)) {
		free(ack->name);
		free(ack->path);
		free(ack);
		idmefv2_message_unref(msg);
		return OUTCOME_RETRY;
	}
	atomic_fetch_add(&l->inflight->refs, 1);
	ack->inflight = l->inflight;
	err = idmefv2__transport_deliver(t, &msg, 1, l->timeout_ms, file_ack_cb, ack);
	idmefv2_message_unref(msg);
	if (err == IDMEFV2_OK)
		return OUTCOME_DONE;
	inflight_remove(l->inflight, name);
	file_ack_free(ack);
	if (err == IDMEFV2_ERR_CLOSED)
		return OUTCOME_DONE;
	idmefv2__log(t, IDMEFV2_LOG_DEBUG, "file listener %s: %s not accepted yet (%s)", l->dir, name,
	             idmefv2_strerror(err));
	return OUTCOME_RETRY;
}

/* Read the pending inotify events into the backlog; false if the directory is gone. */
static bool listener_read_events(idmefv2_transport *t, struct file_listener *l)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool alive = true;

	for (;;) {
		ssize_t n = read(l->inotify_fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				/* Events were lost: the directory itself is the truth. */
				listener_scan(t, l);
				continue;
			}
			if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
				idmefv2__log(t, IDMEFV2_LOG_ERROR, "file listener %s: directory removed or moved", l->dir);
				alive = false;
				continue;
			}
			if (ev->len == 0 || (ev->mask & IN_ISDIR))
				continue;
			if (!ignored_name(ev->name))
				backlog_push(l, ev->name);
		}
	}
	return alive;
}

static void *listener_main(void *arg)
{
	idmefv2_transport *t = arg;
	struct file_listener *l = idmefv2__transport_backend_data(t);
	bool watching = true;

	listener_scan(t, l);
	while (!atomic_load(&l->stop)) {
		struct pollfd fds[2] = {
			{.fd = l->wake_fd, .events = POLLIN},
			{.fd = l->inotify_fd, .events = POLLIN},
		};

		while (l->backlog_count > 0 && !atomic_load(&l->stop)) {
			if (listener_process(t, l, l->backlog[l->backlog_head]) == OUTCOME_RETRY)
				break;
			backlog_pop(l);
		}
		if (poll(fds, watching ? 2 : 1, l->backlog_count > 0 ? RETRY_INTERVAL_MS : -1) < 0 && errno != EINTR)
			break;
		if (fds[0].revents)
			break;
		if (watching && fds[1].revents)
			watching = listener_read_events(t, l);
	}
	return NULL;
}

/* ---- the backend ------------------------------------------------------------------------------ */

static idmefv2_error file_create(idmefv2_transport *t, char *errstr, size_t errstr_size)
{
	const struct idmefv2__url *url = idmefv2__transport_url(t);

	if (!url->path || !url->path[0] || strcmp(url->path, "/") == 0) {
		idmefv2__set_error(errstr, errstr_size, "a file URL needs a directory: file:///path/to/dir");
		return IDMEFV2_ERR_URL;
	}
	if (idmefv2__transport_role(t) == IDMEFV2_TRANSPORT_SENDER) {
		struct file_sender *s = calloc(1, sizeof(*s));
		if (!s || !(s->dir = strdup(url->path))) {
			free(s);
			idmefv2__set_error(errstr, errstr_size, "out of memory");
			return IDMEFV2_ERR_NOMEM;
		}
		pthread_mutex_init(&s->lock, NULL);
		{
			pthread_condattr_t attr;
			pthread_condattr_init(&attr);
			pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
			pthread_cond_init(&s->cond, &attr);
			pthread_condattr_destroy(&attr);
		}
		idmefv2__transport_set_backend_data(t, s);
	} else {
		struct file_listener *l = calloc(1, sizeof(*l));
		if (!l || !(l->dir = strdup(url->path))) {
			free(l);
			idmefv2__set_error(errstr, errstr_size, "out of memory");
			return IDMEFV2_ERR_NOMEM;
		}
		l->dir_fd = l->inotify_fd = l->wake_fd = -1;
		idmefv2__transport_set_backend_data(t, l);
	}
	return IDMEFV2_OK;
}

static idmefv2_error sender_start(idmefv2_transport *t, struct file_sender *s, char *errstr, size_t errstr_size)
{
	struct stat st;

	if (stat(s->dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		idmefv2__set_error(errstr, errstr_size, "file transport: %s is not a directory", s->dir);
		return IDMEFV2_ERR_IO;
	}
	free(s->extension);
	s->extension = strdup(idmefv2__opt_str(t, "file.extension"));
	if (!s->extension) {
		idmefv2__set_error(errstr, errstr_size, "out of memory");
		return IDMEFV2_ERR_NOMEM;
	}
	s->retry_max = idmefv2__opt_int(t, "retry.max");
	s->stop = false;
	if (pthread_create(&s->thread, NULL, sender_main, t) != 0) {
		idmefv2__set_error(errstr, errstr_size, "cannot start a thread");
		return IDMEFV2_ERR_NOMEM;
	}
	s->running = true;
	return IDMEFV2_OK;
}

static void listener_close_fds(struct file_listener *l)
{
	if (l->wake_fd >= 0)
		close(l->wake_fd);
	if (l->inotify_fd >= 0)
		close(l->inotify_fd);
	if (l->dir_fd >= 0)
		close(l->dir_fd);
	l->dir_fd = l->inotify_fd = l->wake_fd = -1;
}

static idmefv2_error listener_start(idmefv2_transport *t, struct file_listener *l, char *errstr,
                                    size_t errstr_size)
{
	l->content_type = idmefv2__opt_str(t, "content_type");
	l->timeout_ms = (int)idmefv2__opt_int(t, "listen.queue_timeout_ms");
	l->dir_fd = open(l->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (l->dir_fd < 0) {
		idmefv2__set_error(errstr, errstr_size, "file listener: %s: %s", l->dir, strerror(errno));
		goto fail;
	}
	l->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	l->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->inotify_fd < 0 || l->wake_fd < 0) {
		idmefv2__set_error(errstr, errstr_size, "file listener: %s", strerror(errno));
		goto fail;
	}
	/* Watch before scanning: a file arriving in between is seen at least once. */
	if (inotify_add_watch(l->inotify_fd, l->dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF |
	                                             IN_ONLYDIR) < 0) {
		idmefv2__set_error(errstr, errstr_size, "file listener: cannot watch %s: %s", l->dir, strerror(errno));
		goto fail;
	}
	if (!l->inflight && !(l->inflight = inflight_new())) {
		idmefv2__set_error(errstr, errstr_size, "out of memory");
		goto fail;
	}
	atomic_store(&l->stop, false);
	if (pthread_create(&l->thread, NULL, listener_main, t) != 0) {
		idmefv2__set_error(errstr, errstr_size, "cannot start a thread");
		goto fail;
	}
	l->running = true;
	return IDMEFV2_OK;
fail:
	listener_close_fds(l);
	return IDMEFV2_ERR_IO;
}

static idmefv2_error file_start(idmefv2_transport *t, char *errstr, size_t errstr_size)
{
	if (idmefv2__transport_role(t) == IDMEFV2_TRANSPORT_SENDER)
		return sender_start(t, idmefv2__transport_backend_data(t), errstr, errstr_size);
	return listener_start(t, idmefv2__transport_backend_data(t), errstr, errstr_size);
}

static void file_stop(idmefv2_transport *t)
{
	if (idmefv2__transport_role(t) == IDMEFV2_TRANSPORT_SENDER) {
		struct file_sender *s = idmefv2__transport_backend_data(t);
		if (!s || !s->running)
			return;
		pthread_mutex_lock(&s->lock);
		s->stop = true;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
		/* take() returns NULL once stopping, so the worker ends after its current batch,
		 * which it finishes or returns. */
		pthread_join(s->thread, NULL);
		s->running = false;
	} else {
		struct file_listener *l = idmefv2__transport_backend_data(t);
		uint64_t one = 1;
		if (!l || !l->running)
			return;
		atomic_store(&l->stop, true);
		if (write(l->wake_fd, &one, sizeof(one)) < 0) {
			/* The eventfd cannot be full after one write; nothing to do. */
		}
		pthread_join(l->thread, NULL);
		l->running = false;
		listener_close_fds(l);
	}
}

static void file_destroy(idmefv2_transport *t)
{
	if (idmefv2__transport_role(t) == IDMEFV2_TRANSPORT_SENDER) {
		struct file_sender *s = idmefv2__transport_backend_data(t);
		if (!s)
			return;
		file_stop(t);
		pthread_cond_destroy(&s->cond);
		pthread_mutex_destroy(&s->lock);
		free(s->dir);
		free(s->extension);
		free(s);
	} else {
		struct file_listener *l = idmefv2__transport_backend_data(t);
		if (!l)
			return;
		file_stop(t);
		listener_close_fds(l);
		while (l->backlog_count > 0)
			backlog_pop(l);
		free(l->backlog);
		inflight_unref(l->inflight);
		free(l->dir);
		free(l);
	}
	idmefv2__transport_set_backend_data(t, NULL);
}

const struct idmefv2__backend idmefv2__backend_file = {
	.scheme = "file",
	.can_send = true,
	.can_listen = true,
	.create = file_create,
	.start = file_start,
	.wakeup = NULL,
	.stop = file_stop,
	.destroy = file_destroy,
	.get_port = NULL,
};
