/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ClamAV connector's memory of the metadata.json files it is done with:
 * a file whose message is resolved (delivered, spooled, filtered,
 * dead-lettered) is recorded by path, device, inode, size and modification
 * time in files.state, in the state directory. At start every matching file
 * of the tree that is not recorded with the same identity is reported, so a
 * file whose message was still in memory when the process was killed, or one
 * written while it was down, is converted then (with the ID of its first
 * conversion, docs/ids.md).
 *
 * The file is a log: records are appended (one write and one fdatasync per
 * state save) and a later record of a path replaces an earlier one. It is
 * rewritten at start, without the entries of files that are gone or changed,
 * and whenever it holds twice as many records as entries. At most FILES_MAX
 * entries are kept: past that, the entries of removed files are dropped and
 * then the oldest ones, whose files a restart then reports again (same IDs).
 *
 * On the first start (no files.state) the files already in the tree are
 * recorded without being reported, as they were before this memory existed.
 * Everything here runs in the main thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <ftw.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "connector.h"

#define FILES_MAGIC "idmefv2-files-state 1"
#define FILES_MAX 100000

struct file_rec {
	uint64_t dev, ino, size;
	int64_t sec;
	long nsec;
	uint64_t order; /* when it was recorded: the oldest go first past FILES_MAX */
	char path[];
};

struct files_state {
	char *path;      /* files.state */
	const char *pattern;
	struct file_rec **slots; /* open addressing by path hash; NULL: empty */
	size_t cap;      /* a power of two, at least twice count */
	size_t count;
	uint64_t next_order;
	size_t log_records; /* records in the file, replaced ones included */
	char *pending;   /* records to append at the next save */
	size_t pending_len, pending_cap;
	int fd;          /* the log, appended to */
};

static uint64_t path_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

static struct file_rec *rec_new(const char *path, const struct stat *st)
{
	size_t len = strlen(path);
	struct file_rec *r = malloc(sizeof(*r) + len + 1);

	if (!r)
		return NULL;
	*r = (struct file_rec){ .dev = (uint64_t)st->st_dev, .ino = (uint64_t)st->st_ino,
	                        .size = (uint64_t)st->st_size, .sec = (int64_t)st->st_mtim.tv_sec,
	                        .nsec = st->st_mtim.tv_nsec };
	memcpy(r->path, path, len + 1);
	return r;
}

static bool rec_same(const struct file_rec *r, const struct stat *st)
{
	return r->dev == (uint64_t)st->st_dev && r->ino == (uint64_t)st->st_ino && r->size == (uint64_t)st->st_size &&
	       r->sec == (int64_t)st->st_mtim.tv_sec && r->nsec == st->st_mtim.tv_nsec;
}

static struct file_rec **slot_of(struct files_state *fs, const char *path)
{
	size_t i = (size_t)path_hash(path) & (fs->cap - 1);

	while (fs->slots[i] && strcmp(fs->slots[i]->path, path) != 0)
		i = (i + 1) & (fs->cap - 1);
	return &fs->slots[i];
}

static bool table_resize(struct files_state *fs, size_t cap)
{
	struct file_rec **old = fs->slots;
	size_t old_cap = fs->cap;

	fs->slots = calloc(cap, sizeof(*fs->slots));
	if (!fs->slots) {
		fs->slots = old;
		return false;
	}
	fs->cap = cap;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i])
			*slot_of(fs, old[i]->path) = old[i];
	free(old);
	return true;
}

/* Record @p r (ownership taken), replacing the entry of its path. */
static bool table_put(struct files_state *fs, struct file_rec *r)
{
	struct file_rec **slot;

	if ((fs->count + 1) * 2 > fs->cap && !table_resize(fs, fs->cap * 2)) {
		free(r);
		return false;
	}
	r->order = fs->next_order++;
	slot = slot_of(fs, r->path);
	if (*slot)
		free(*slot);
	else
		fs->count++;
	*slot = r;
	return true;
}

static int cmp_order(const void *a, const void *b)
{
	const struct file_rec *x = *(struct file_rec *const *)a, *y = *(struct file_rec *const *)b;

	return x->order < y->order ? -1 : x->order > y->order;
}

/*
 * Keep only the entries whose file is still there, unchanged; then, if
 * @p limit is still exceeded, the newest ones. Rebuilds the table.
 */
static bool table_prune(struct files_state *fs, size_t limit)
{
	struct file_rec **live = malloc((fs->count ? fs->count : 1) * sizeof(*live));
	size_t n = 0, drop = 0;

	if (!live)
		return false;
	for (size_t i = 0; i < fs->cap; i++) {
		struct file_rec *r = fs->slots[i];
		struct stat st;

		if (!r)
			continue;
		if (lstat(r->path, &st) == 0 && S_ISREG(st.st_mode) && rec_same(r, &st))
			live[n++] = r;
		else
			free(r);
		fs->slots[i] = NULL;
	}
	if (n > limit) {
		qsort(live, n, sizeof(*live), cmp_order);
		drop = n - limit;
		for (size_t i = 0; i < drop; i++)
			free(live[i]);
	}
	fs->count = 0;
	for (size_t i = drop; i < n; i++) {
		*slot_of(fs, live[i]->path) = live[i];
		fs->count++;
	}
	free(live);
	return true;
}

static bool pending_reserve(struct files_state *fs, size_t need)
{
	size_t cap;
	char *b;

	if (fs->pending_len + need <= fs->pending_cap)
		return true;
	cap = (fs->pending_len + need) * 2;
	b = realloc(fs->pending, cap);
	if (!b)
		return false;
	fs->pending = b;
	fs->pending_cap = cap;
	return true;
}

/* One record: "DEV INO SIZE SEC.NSEC PATH", the path with '%', CR and LF as %XX. */
static bool pending_add(struct files_state *fs, const struct file_rec *r)
{
	char *p;

	if (!pending_reserve(fs, strlen(r->path) * 3 + 128))
		return false;
	p = fs->pending + fs->pending_len;
	p += sprintf(p, "%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRId64 ".%09ld ", r->dev, r->ino, r->size, r->sec,
	             r->nsec);
	for (const char *s = r->path; *s; s++) {
		if (*s == '%' || *s == '\n' || *s == '\r')
			p += sprintf(p, "%%%02X", (unsigned char)*s);
		else
			*p++ = *s;
	}
	*p++ = '\n';
	fs->pending_len = (size_t)(p - fs->pending);
	return true;
}

static bool unescape(char *s)
{
	char *out = s;

	for (; *s; s++) {
		unsigned v;

		if (*s != '%') {
			*out++ = *s;
			continue;
		}
		if (sscanf(s + 1, "%2X", &v) != 1 || !s[1] || !s[2])
			return false;
		*out++ = (char)v;
		s += 2;
	}
	*out = '\0';
	return true;
}

/*
 * Read the log. A record that does not parse (a write cut by a full disk) is
 * skipped with a warning: its file is then reported again, nothing is lost.
 */
static int state_load(struct connector *c, struct files_state *fs, FILE *f)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t got;
	unsigned lineno = 0, bad = 0;
	int rc = 0;

	while ((got = getline(&line, &cap, f)) > 0) {
		struct stat st = { 0 };
		unsigned long long dev, ino, size;
		long long sec;
		long nsec;
		int off = 0;
		struct file_rec *r;

		lineno++;
		if (line[got - 1] == '\n')
			line[--got] = '\0';
		if (lineno == 1 && strcmp(line, FILES_MAGIC) == 0)
			continue;
		if (sscanf(line, "%llu %llu %llu %lld.%ld %n", &dev, &ino, &size, &sec, &nsec, &off) != 5 || !off ||
		    !line[off] || !unescape(line + off)) {
			bad++;
			continue;
		}
		st.st_dev = (dev_t)dev;
		st.st_ino = (ino_t)ino;
		st.st_size = (off_t)size;
		st.st_mtim.tv_sec = (time_t)sec;
		st.st_mtim.tv_nsec = nsec;
		r = rec_new(line + off, &st);
		if (!r || !table_put(fs, r)) {
			rc = -1;
			break;
		}
		fs->log_records++;
	}
	free(line);
	if (bad)
		conn_log(c, IDMEFV2_LOG_WARNING, "%s: %u malformed lines skipped; their files are reported again",
		         fs->path, bad);
	return rc;
}

/* Rewrite the log with the entries (temporary file, fsync, rename), then append to it. */
static int state_rewrite(struct connector *c, struct files_state *fs)
{
	char *tmp = NULL;
	int fd = -1, rc = -1;
	size_t records = 0;

	fs->pending_len = 0;
	if (!pending_reserve(fs, sizeof(FILES_MAGIC) + 1))
		return -1;
	fs->pending_len = (size_t)sprintf(fs->pending, FILES_MAGIC "\n");
	for (size_t i = 0; i < fs->cap; i++) {
		if (fs->slots[i] && !pending_add(fs, fs->slots[i]))
			goto out;
		records += fs->slots[i] != NULL;
	}
	if (asprintf(&tmp, "%s.tmp", fs->path) < 0) {
		tmp = NULL;
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0 || write(fd, fs->pending, fs->pending_len) != (ssize_t)fs->pending_len || fsync(fd) != 0 ||
	    rename(tmp, fs->path) != 0) {
		conn_log(c, IDMEFV2_LOG_ERROR, "cannot write %s: %s", fs->path, strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (fs->fd >= 0)
		close(fs->fd);
	fs->fd = open(fs->path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (fs->fd < 0) {
		conn_log(c, IDMEFV2_LOG_ERROR, "cannot open %s: %s", fs->path, strerror(errno));
		goto out;
	}
	fs->log_records = records;
	rc = 0;
out:
	fs->pending_len = 0;
	free(tmp);
	return rc;
}

/* nftw() has no user data: the state being seeded on the first start. */
static struct files_state *seeding;

static int seed_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	struct file_rec *r;

	if (type != FTW_F || !S_ISREG(st->st_mode) || fnmatch(seeding->pattern, path + ftw->base, 0) != 0)
		return 0;
	r = rec_new(path, st);
	return r && table_put(seeding, r) ? 0 : -1;
}

int files_state_setup(struct connector *c, const char *root, const char *pattern)
{
	struct files_state *fs = calloc(1, sizeof(*fs));
	FILE *f;
	int rc, err;

	if (!fs)
		return -1;
	c->files = fs;
	fs->fd = -1;
	fs->pattern = pattern;
	fs->cap = 1024;
	fs->slots = calloc(fs->cap, sizeof(*fs->slots));
	if (!fs->slots || asprintf(&fs->path, "%s/files.state", c->state_dir) < 0) {
		fs->path = NULL;
		return -1;
	}
	f = fopen(fs->path, "re");
	if (f) {
		rc = state_load(c, fs, f);
		fclose(f);
		if (rc != 0 || !table_prune(fs, FILES_MAX))
			return -1;
	} else if (errno == ENOENT) {
		/* The paths recorded must be those the watcher reports: the root without its trailing slashes. */
		char *top = strdup(root);
		size_t len = top ? strlen(top) : 0;

		if (!top)
			return -1;
		while (len > 1 && top[len - 1] == '/')
			top[--len] = '\0';
		seeding = fs;
		rc = nftw(top, seed_one, 32, FTW_PHYS);
		err = errno;
		seeding = NULL;
		free(top);
		if (rc != 0 && err != ENOENT) {
			conn_log(c, IDMEFV2_LOG_ERROR, "%s: %s", root, strerror(err));
			return -1;
		}
		if (fs->count > FILES_MAX)
			table_prune(fs, FILES_MAX);
		conn_log(c, IDMEFV2_LOG_INFO, "%s: first start: the %zu files already there are not reported", root,
		         fs->count);
	} else {
		conn_log(c, IDMEFV2_LOG_ERROR, "%s: %s", fs->path, strerror(errno));
		return -1;
	}
	return state_rewrite(c, fs);
}

bool files_state_known(struct connector *c, const char *path, const struct stat *st)
{
	struct files_state *fs = c->files;
	struct file_rec *r;

	if (!fs)
		return false;
	r = *slot_of(fs, path);
	return r && rec_same(r, st);
}

struct file_rec *files_rec_new(const char *path, const struct stat *st)
{
	return rec_new(path, st);
}

void files_rec_free(struct file_rec *r)
{
	free(r);
}

void files_state_resolved(struct connector *c, struct file_rec *r)
{
	struct files_state *fs = c->files;

	if (!fs) {
		free(r);
		return;
	}
	if (fs->count >= FILES_MAX)
		table_prune(fs, FILES_MAX * 9 / 10);
	if (!pending_add(fs, r)) {
		/* Not recorded: a restart reports the file again (same ID), nothing is lost. */
		free(r);
		return;
	}
	table_put(fs, r);
}

void files_state_checkpoint(struct connector *c)
{
	struct files_state *fs = c->files;
	size_t records = 0;

	if (!fs || !fs->pending_len)
		return;
	for (size_t i = 0; i < fs->pending_len; i++)
		records += fs->pending[i] == '\n';
	if (fs->log_records + records > 2 * fs->count + 1024) {
		state_rewrite(c, fs);
		return;
	}
	if (fs->fd < 0 || write(fs->fd, fs->pending, fs->pending_len) != (ssize_t)fs->pending_len ||
	    fdatasync(fs->fd) != 0) {
		/* A torn record would make the file unreadable: rewrite it whole. */
		conn_log(c, IDMEFV2_LOG_ERROR, "cannot append to %s: %s; rewriting it", fs->path, strerror(errno));
		state_rewrite(c, fs);
		return;
	}
	fs->log_records += records;
	fs->pending_len = 0;
}

void files_state_free(struct connector *c)
{
	struct files_state *fs = c->files;

	if (!fs)
		return;
	for (size_t i = 0; i < fs->cap; i++)
		free(fs->slots ? fs->slots[i] : NULL);
	free(fs->slots);
	free(fs->pending);
	if (fs->fd >= 0)
		close(fs->fd);
	free(fs->path);
	free(fs);
	c->files = NULL;
}
