/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Plugin host: loads the shared objects of a directory and follows the
 * directory with inotify. Changes are applied by estreamer__plugin_host_poll()
 * in the thread that dispatches records, so a plugin is never unloaded while
 * one of its callbacks runs.
 *
 * dlopen() runs a shared object's constructors, so whoever can write the
 * directory or a plugin runs code as this process. Before loading, the
 * directory (and its ancestors) and the file must be owned by this user or
 * root and not writable by others. The file is opened without following
 * symbolic links, checked through its descriptor and loaded through
 * /proc/self/fd, so the file checked is the file loaded.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "estreamer-private.h"

struct plugin {
	struct plugin *next;
	char *name;
	int fd; /* held while loaded: no two loaded plugins share a /proc/self/fd name */
	void *handle;
	const estreamer_plugin_descriptor *desc;
	void *state;
};

struct estreamer_plugin_host {
	char *dir;
	int dfd; /* the directory checked at start; plugins are opened relative to it */
	int ifd;
	struct plugin *list;
	size_t count;
	uint64_t loads, unloads, errors;
	estreamer__host_log log;
	void *log_user;
};

__attribute__((format(printf, 3, 4))) static void host_log(estreamer_plugin_host *h,
							    estreamer_log_level level,
							    const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!h->log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	h->log(h->log_user, level, msg);
}

static int is_plugin_name(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && n > 3 && strcmp(name + n - 3, ".so") == 0;
}

static struct plugin **find(estreamer_plugin_host *h, const char *name)
{
	struct plugin **pp;

	for (pp = &h->list; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->name, name) == 0)
			return pp;
	return NULL;
}

static void unload(estreamer_plugin_host *h, const char *name)
{
	struct plugin **pp = find(h, name);
	struct plugin *p;

	if (!pp)
		return;
	p = *pp;
	*pp = p->next;
	if (p->desc->fini)
		p->desc->fini(p->state);
	dlclose(p->handle);
	close(p->fd);
	host_log(h, ESTREAMER_LOG_INFO, "plugin %s unloaded", p->name);
	free(p->name);
	free(p);
	__atomic_store_n(&h->count, h->count - 1, __ATOMIC_RELEASE);
	__atomic_add_fetch(&h->unloads, 1, __ATOMIC_RELAXED);
}

/* Why a file or directory with status @st may not hold code this process runs; NULL if it may. */
static const char *unsafe_owner_or_mode(const struct stat *st, int allow_sticky, char *buf,
					size_t size)
{
	uid_t me = geteuid();

	if (st->st_uid != me && st->st_uid != 0) {
		snprintf(buf, size, "owned by uid %u, not by this user (uid %u) or root",
			 (unsigned)st->st_uid, (unsigned)me);
		return buf;
	}
	/* In a sticky directory (/tmp) others cannot rename or remove what is ours. */
	if (allow_sticky && (st->st_mode & S_ISVTX))
		return NULL;
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(buf, size, "writable by %s (mode %04o)",
			 st->st_mode & S_IWOTH ? "others" : "group", (unsigned)(st->st_mode & 07777));
		return buf;
	}
	return NULL;
}

/*
 * Checks the directory held open and each of its ancestors (walked through
 * "..", so nothing can be swapped under the check): whoever can write one of
 * them can replace what is below it. Returns the reason, naming the culprit.
 */
static const char *unsafe_dir(estreamer_plugin_host *h, char *buf, size_t size)
{
	char why[160], real[PATH_MAX];
	struct stat st, parent;
	int fd = h->dfd, level = 0;
	const char *reason = NULL;

	if (fstat(fd, &st) != 0) {
		snprintf(buf, size, "cannot be examined: %s", strerror(errno));
		return buf;
	}
	if (!realpath(h->dir, real))
		snprintf(real, sizeof(real), "%s", h->dir);
	for (;;) {
		int up;

		reason = unsafe_owner_or_mode(&st, level > 0, why, sizeof(why));
		if (reason)
			break;
		up = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (up < 0 || fstat(up, &parent) != 0) {
			snprintf(why, sizeof(why), "has an ancestor that cannot be examined: %s",
				 strerror(errno));
			reason = why;
			if (up >= 0)
				close(up);
			break;
		}
		if (fd != h->dfd)
			close(fd);
		fd = up;
		if (parent.st_dev == st.st_dev && parent.st_ino == st.st_ino)
			break; /* "/" is its own parent */
		st = parent;
		level++;
		/* The name of the ancestor, for the message. */
		{
			char *slash = strrchr(real, '/');

			if (slash && slash != real)
				*slash = '\0';
			else
				snprintf(real, sizeof(real), "/");
		}
	}
	if (fd != h->dfd)
		close(fd);
	if (!reason)
		return NULL;
	if (level == 0)
		snprintf(buf, size, "%s", reason);
	else
		snprintf(buf, size, "its ancestor %s is %s", real, reason);
	return buf;
}

/* Opens and checks a plugin file; returns its descriptor, or -1 after logging why not. */
static int open_checked(estreamer_plugin_host *h, const char *name, const char *path)
{
	char why[PATH_MAX + 256];
	struct stat st;
	int fd;

	if (unsafe_dir(h, why, sizeof(why))) {
		host_log(h, ESTREAMER_LOG_ERROR, "plugin %s refused: directory %s %s", path, h->dir,
			 why);
		return -1;
	}
	/* O_NONBLOCK: a FIFO named *.so must not hang the client. */
	fd = openat(h->dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		host_log(h, ESTREAMER_LOG_ERROR, "plugin %s refused: %s", path,
			 errno == ELOOP ? "it is a symbolic link" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		host_log(h, ESTREAMER_LOG_ERROR, "plugin %s refused: not a regular file", path);
		close(fd);
		return -1;
	}
	if (unsafe_owner_or_mode(&st, 0, why, sizeof(why))) {
		host_log(h, ESTREAMER_LOG_ERROR, "plugin %s refused: %s", path, why);
		close(fd);
		return -1;
	}
	return fd;
}

static void load(estreamer_plugin_host *h, const char *name)
{
	char path[PATH_MAX + NAME_MAX + 2], proc[64];
	struct plugin *p = NULL;
	void *handle;
	const estreamer_plugin_descriptor *desc;
	int fd;

	unload(h, name);
	snprintf(path, sizeof(path), "%s/%s", h->dir, name);
	fd = open_checked(h, name, path);
	if (fd < 0)
		goto fail;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	handle = dlopen(proc, RTLD_NOW | RTLD_LOCAL);
	if (!handle) {
		host_log(h, ESTREAMER_LOG_ERROR, "plugin %s: %s", path, dlerror());
		close(fd);
		goto fail;
	}
	desc = dlsym(handle, ESTREAMER_PLUGIN_SYMBOL);
	if (!desc) {
		host_log(h, ESTREAMER_LOG_ERROR, "plugin %s: no symbol %s", path,
			 ESTREAMER_PLUGIN_SYMBOL);
		goto fail_close;
	}
	if (desc->abi_version != ESTREAMER_PLUGIN_ABI_VERSION || !desc->record) {
		host_log(h, ESTREAMER_LOG_ERROR,
			 "plugin %s: ABI version %u (expected %u) or no record callback", path,
			 desc->abi_version, ESTREAMER_PLUGIN_ABI_VERSION);
		goto fail_close;
	}
	p = calloc(1, sizeof(*p));
	if (!p || !(p->name = strdup(name)))
		goto fail_close;
	if (desc->init && desc->init(&p->state) != 0) {
		host_log(h, ESTREAMER_LOG_ERROR, "plugin %s: init failed", path);
		goto fail_close;
	}
	p->fd = fd;
	p->handle = handle;
	p->desc = desc;
	p->next = h->list;
	h->list = p;
	__atomic_store_n(&h->count, h->count + 1, __ATOMIC_RELEASE);
	__atomic_add_fetch(&h->loads, 1, __ATOMIC_RELAXED);
	host_log(h, ESTREAMER_LOG_INFO, "plugin %s loaded: %s (%s, version %s)", name,
		 desc->description ? desc->description : "", desc->author ? desc->author : "",
		 desc->version ? desc->version : "");
	return;
fail_close:
	if (p)
		free(p->name);
	free(p);
	dlclose(handle);
	close(fd);
fail:
	__atomic_add_fetch(&h->errors, 1, __ATOMIC_RELAXED);
}

static void scan_dir(estreamer_plugin_host *h)
{
	int fd = openat(h->dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((e = readdir(d)))
		if (is_plugin_name(e->d_name) && !find(h, e->d_name))
			load(h, e->d_name);
	closedir(d);
}

static void host_release(estreamer_plugin_host *h)
{
	if (h->ifd >= 0)
		close(h->ifd);
	if (h->dfd >= 0)
		close(h->dfd);
	free(h->dir);
	free(h);
}

estreamer_error estreamer__plugin_host_new(const char *dir, estreamer__host_log log, void *log_user,
					   estreamer_plugin_host **ret_host, char *errstr,
					   size_t errstr_size)
{
	estreamer_plugin_host *h;
	char why[PATH_MAX + 256], watch[64];

	if (!dir || !ret_host)
		return ESTREAMER_ERR_INVALID_ARG;
	h = calloc(1, sizeof(*h));
	if (!h || !(h->dir = strdup(dir))) {
		free(h);
		return ESTREAMER_ERR_NOMEM;
	}
	h->log = log;
	h->log_user = log_user;
	h->ifd = -1;
	h->dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (h->dfd < 0) {
		int e = errno;

		host_release(h);
		return estreamer__fail(errstr, errstr_size, ESTREAMER_ERR_PLUGIN,
				       "plugins directory %s: %s", dir, strerror(e));
	}
	if (unsafe_dir(h, why, sizeof(why))) {
		host_log(h, ESTREAMER_LOG_ERROR, "plugins directory %s refused: %s", dir, why);
		host_release(h);
		return estreamer__fail(errstr, errstr_size, ESTREAMER_ERR_PLUGIN,
				       "plugins directory %s refused: %s", dir, why);
	}
	/* Watch the directory that was checked, not whatever the name points to later. */
	snprintf(watch, sizeof(watch), "/proc/self/fd/%d", h->dfd);
	h->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (h->ifd < 0 ||
	    inotify_add_watch(h->ifd, watch,
			      IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE) < 0) {
		int e = errno;

		host_release(h);
		return estreamer__fail(errstr, errstr_size, ESTREAMER_ERR_PLUGIN,
				       "plugins directory %s: %s", dir, strerror(e));
	}
	scan_dir(h);
	*ret_host = h;
	return ESTREAMER_OK;
}

void estreamer__plugin_host_poll(estreamer_plugin_host *h)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	if (!h)
		return;
	while ((n = read(h->ifd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			if (ev->len && is_plugin_name(ev->name)) {
				if (ev->mask & (IN_DELETE | IN_MOVED_FROM))
					unload(h, ev->name);
				else if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO))
					load(h, ev->name);
			}
			p += sizeof(*ev) + ev->len;
		}
	}
}

unsigned estreamer__plugin_host_dispatch(estreamer_plugin_host *h, const estreamer_record *rec)
{
	unsigned failed = 0;

	if (!h)
		return 0;
	for (struct plugin *p = h->list; p; p = p->next)
		if (p->desc->record(p->state, rec) != 0)
			failed++;
	if (failed)
		__atomic_add_fetch(&h->errors, failed, __ATOMIC_RELAXED);
	return failed;
}

size_t estreamer__plugin_host_count(estreamer_plugin_host *h)
{
	return h ? __atomic_load_n(&h->count, __ATOMIC_ACQUIRE) : 0;
}

void estreamer__plugin_host_stats(estreamer_plugin_host *h, uint64_t *loads, uint64_t *unloads,
				  uint64_t *errors)
{
	*loads = h ? __atomic_load_n(&h->loads, __ATOMIC_RELAXED) : 0;
	*unloads = h ? __atomic_load_n(&h->unloads, __ATOMIC_RELAXED) : 0;
	*errors = h ? __atomic_load_n(&h->errors, __ATOMIC_RELAXED) : 0;
}

int estreamer__plugin_host_fd(estreamer_plugin_host *h)
{
	return h ? h->ifd : -1;
}

void estreamer__plugin_host_free(estreamer_plugin_host *h, uint64_t *loads, uint64_t *unloads,
				 uint64_t *errors)
{
	if (!h)
		return;
	while (h->list)
		unload(h, h->list->name);
	estreamer__plugin_host_stats(h, loads, unloads, errors);
	host_release(h);
}
