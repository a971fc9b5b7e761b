/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Plugin host: loads the shared objects of a directory and follows the
 * directory with inotify. Changes are applied by estreamer__plugin_host_poll()
 * in the thread that dispatches records, so a plugin is never unloaded while
 * one of its callbacks runs.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "estreamer-private.h"

struct plugin {
	struct plugin *next;
	char *name;
	void *handle;
	const estreamer_plugin_descriptor *desc;
	void *state;
};

struct estreamer_plugin_host {
	char *dir;
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
	host_log(h, ESTREAMER_LOG_INFO, "plugin %s unloaded", p->name);
	free(p->name);
	free(p);
	__atomic_store_n(&h->count, h->count - 1, __ATOMIC_RELEASE);
	__atomic_add_fetch(&h->unloads, 1, __ATOMIC_RELAXED);
}

static void load(estreamer_plugin_host *h, const char *name)
{
	char path[4096];
	struct plugin *p = NULL;
	void *handle;
	const estreamer_plugin_descriptor *desc;

	unload(h, name);
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", h->dir, name) >= sizeof(path))
		return;
	handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!handle) {
		host_log(h, ESTREAMER_LOG_ERROR, "plugin %s: %s", name, dlerror());
		goto fail;
	}
	desc = dlsym(handle, ESTREAMER_PLUGIN_SYMBOL);
	if (!desc) {
		host_log(h, ESTREAMER_LOG_ERROR, "plugin %s: no symbol %s", name,
			 ESTREAMER_PLUGIN_SYMBOL);
		goto fail_close;
	}
	if (desc->abi_version != ESTREAMER_PLUGIN_ABI_VERSION || !desc->record) {
		host_log(h, ESTREAMER_LOG_ERROR,
			 "plugin %s: ABI version %u (expected %u) or no record callback", name,
			 desc->abi_version, ESTREAMER_PLUGIN_ABI_VERSION);
		goto fail_close;
	}
	p = calloc(1, sizeof(*p));
	if (!p || !(p->name = strdup(name)))
		goto fail_close;
	if (desc->init && desc->init(&p->state) != 0) {
		host_log(h, ESTREAMER_LOG_ERROR, "plugin %s: init failed", name);
		goto fail_close;
	}
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
fail:
	__atomic_add_fetch(&h->errors, 1, __ATOMIC_RELAXED);
}

static void scan_dir(estreamer_plugin_host *h)
{
	DIR *d = opendir(h->dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)))
		if (is_plugin_name(e->d_name) && !find(h, e->d_name))
			load(h, e->d_name);
	closedir(d);
}

estreamer_error estreamer__plugin_host_new(const char *dir, estreamer__host_log log, void *log_user,
					   estreamer_plugin_host **ret_host, char *errstr,
					   size_t errstr_size)
{
	estreamer_plugin_host *h;

	if (!dir || !ret_host)
		return ESTREAMER_ERR_INVALID_ARG;
	h = calloc(1, sizeof(*h));
	if (!h || !(h->dir = strdup(dir))) {
		free(h);
		return ESTREAMER_ERR_NOMEM;
	}
	h->log = log;
	h->log_user = log_user;
	h->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (h->ifd < 0 ||
	    inotify_add_watch(h->ifd, dir,
			      IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE) < 0) {
		int e = errno;

		if (h->ifd >= 0)
			close(h->ifd);
		free(h->dir);
		free(h);
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
	close(h->ifd);
	free(h->dir);
	free(h);
}
