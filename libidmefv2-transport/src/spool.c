/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The spool directory: messages a sender could not deliver yet, one file per
 * message, crash-safe (a file either exists complete under its final name or
 * not at all) and named so that the directory's sorted listing is send order.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "transport-generic.h"
#include "idmefv2-common.h"

#define SPOOL_MAGIC "IDMEFV2-SPOOL 1 "
#define SEQ_DIGITS 20
#define TMP_PREFIX ".tmp-"
#define MAX_ITEM_BYTES (1u << 30)

struct idmefv2__spool {
	char *dir;
	int dir_fd;
	int lock_fd;
};

uint64_t idmefv2__spool_item_size(const char *content_type, size_t len)
{
	return sizeof(SPOOL_MAGIC) - 1 + strlen(content_type) + 1 + len;
}

static bool mkdir_parents(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST) {
			*p = '/';
			return false;
		}
		*p = '/';
	}
	return mkdir(path, 0700) == 0 || errno == EEXIST;
}

idmefv2_error idmefv2__spool_open(const char *dir, struct idmefv2__spool **ret_spool,
                                  char *errstr, size_t errstr_size)
{
	struct idmefv2__spool *spool;
	char *tmp;

	spool = calloc(1, sizeof(*spool));
	if (!spool || !(spool->dir = strdup(dir)) || !(tmp = strdup(dir))) {
		if (spool)
			free(spool->dir);
		free(spool);
		idmefv2__set_error(errstr, errstr_size, "out of memory");
		return IDMEFV2_ERR_NOMEM;
	}
	spool->dir_fd = -1;
	spool->lock_fd = -1;
	if (!mkdir_parents(tmp)) {
		idmefv2__set_error(errstr, errstr_size, "spool directory %s: cannot create: %s", dir, strerror(errno));
		free(tmp);
		goto fail;
	}
	free(tmp);
	spool->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (spool->dir_fd < 0) {
		idmefv2__set_error(errstr, errstr_size, "spool directory %s: %s", dir, strerror(errno));
		goto fail;
	}
	spool->lock_fd = openat(spool->dir_fd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (spool->lock_fd < 0) {
		idmefv2__set_error(errstr, errstr_size, "spool directory %s: cannot create .lock: %s", dir,
		                   strerror(errno));
		goto fail;
	}
	/* Two writers would both replay, and number files from the same counter. */
	if (flock(spool->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			idmefv2__set_error(errstr, errstr_size,
			                   "spool directory %s is in use by another transport", dir);
		else
			idmefv2__set_error(errstr, errstr_size, "spool directory %s: lock: %s", dir, strerror(errno));
		idmefv2__spool_close(spool);
		return IDMEFV2_ERR_STATE;
	}
	*ret_spool = spool;
	return IDMEFV2_OK;
fail:
	idmefv2__spool_close(spool);
	return IDMEFV2_ERR_IO;
}

void idmefv2__spool_close(struct idmefv2__spool *spool)
{
	if (!spool)
		return;
	if (spool->lock_fd >= 0)
		close(spool->lock_fd);
	if (spool->dir_fd >= 0)
		close(spool->dir_fd);
	free(spool->dir);
	free(spool);
}

static bool parse_seq_name(const char *name, uint64_t *ret_seq)
{
	uint64_t seq = 0;

	if (strlen(name) != SEQ_DIGITS)
		return false;
	for (size_t i = 0; i < SEQ_DIGITS; i++) {
		if (name[i] < '0' || name[i] > '9')
			return false;
		if (seq > (UINT64_MAX - (uint64_t)(name[i] - '0')) / 10)
			return false;
		seq = seq * 10 + (uint64_t)(name[i] - '0');
	}
	*ret_seq = seq;
	return true;
}

static int compare_entries(const void *a, const void *b)
{
	const struct idmefv2__spool_entry *x = a;
	const struct idmefv2__spool_entry *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

idmefv2_error idmefv2__spool_scan(struct idmefv2__spool *spool, struct idmefv2__spool_entry **ret_entries,
                                  size_t *ret_count, char *errstr, size_t errstr_size)
{
	struct idmefv2__spool_entry *entries = NULL;
	size_t count = 0;
	size_t alloc = 0;
	struct dirent *de;
	DIR *d;
	int fd;

	fd = dup(spool->dir_fd);
	if (fd < 0 || !(d = fdopendir(fd))) {
		idmefv2__set_error(errstr, errstr_size, "spool directory %s: %s", spool->dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return IDMEFV2_ERR_IO;
	}
	rewinddir(d);
	while ((de = readdir(d))) {
		struct stat st;
		uint64_t seq;

		if (strncmp(de->d_name, TMP_PREFIX, sizeof(TMP_PREFIX) - 1) == 0) {
			/* Half-written before a crash: never renamed, so never accepted as spooled. */
			unlinkat(spool->dir_fd, de->d_name, 0);
			continue;
		}
		if (!parse_seq_name(de->d_name, &seq))
			continue;
		if (fstatat(spool->dir_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (count == alloc) {
			size_t n = alloc ? alloc * 2 : 64;
			struct idmefv2__spool_entry *grown = realloc(entries, n * sizeof(*entries));
			if (!grown) {
				closedir(d);
				free(entries);
				idmefv2__set_error(errstr, errstr_size, "out of memory");
				return IDMEFV2_ERR_NOMEM;
			}
			entries = grown;
			alloc = n;
		}
		entries[count].seq = seq;
		entries[count].size = (uint64_t)st.st_size;
		count++;
	}
	closedir(d);
	if (count > 1)
		qsort(entries, count, sizeof(*entries), compare_entries);
	*ret_entries = entries;
	*ret_count = count;
	return IDMEFV2_OK;
}


static char *join_path(const char *dir, const char *name)
{
	size_t a = strlen(dir);
	size_t b = strlen(name);
	char *path = malloc(a + 1 + b + 1);

	if (!path)
		return NULL;
	memcpy(path, dir, a);
	path[a] = '/';
	memcpy(path + a + 1, name, b + 1);
	return path;
}

idmefv2_error idmefv2__spool_write(struct idmefv2__spool *spool, uint64_t seq, const char *content_type,
                                   const char *data, size_t len, char **ret_path, uint64_t *ret_size,
                                   char *errstr, size_t errstr_size)
{
	char name[SEQ_DIGITS + 1];
	char tmp[sizeof(TMP_PREFIX) + SEQ_DIGITS];
	char *path = NULL;
	int fd = -1;
	int saved;

	if (strchr(content_type, '\n')) {
		idmefv2__set_error(errstr, errstr_size, "content type contains a newline");
		return IDMEFV2_ERR_INVALID_ARG;
	}
	snprintf(name, sizeof(name), "%0*" PRIu64, SEQ_DIGITS, seq);
	snprintf(tmp, sizeof(tmp), TMP_PREFIX "%s", name);
	path = join_path(spool->dir, name);
	if (!path) {
		idmefv2__set_error(errstr, errstr_size, "out of memory");
		return IDMEFV2_ERR_NOMEM;
	}

	fd = openat(spool->dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		goto io_error;
	if (!idmefv2__write_all(fd, SPOOL_MAGIC, sizeof(SPOOL_MAGIC) - 1) || !idmefv2__write_all(fd, content_type, strlen(content_type)) ||
	    !idmefv2__write_all(fd, "\n", 1) || !idmefv2__write_all(fd, data, len))
		goto io_error;
	/* Data before name: after a crash the final name only ever points at complete content. */
	if (fsync(fd) < 0)
		goto io_error;
	if (close(fd) < 0) {
		fd = -1;
		goto io_error;
	}
	fd = -1;
	if (renameat(spool->dir_fd, tmp, spool->dir_fd, name) < 0)
		goto io_error;
	if (fsync(spool->dir_fd) < 0)
		goto io_error;
	*ret_path = path;
	*ret_size = idmefv2__spool_item_size(content_type, len);
	return IDMEFV2_OK;

io_error:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlinkat(spool->dir_fd, tmp, 0);
	/* One text for all messages failing alike (callers count failures by reason). */
	idmefv2__set_error(errstr, errstr_size, "spool %s: cannot write a message: %s", spool->dir, strerror(saved));
	free(path);
	return IDMEFV2_ERR_IO;
}

idmefv2_error idmefv2__spool_read(struct idmefv2__spool *spool, uint64_t seq, char **ret_path,
                                  char **ret_content_type, char **ret_data, size_t *ret_len,
                                  char *errstr, size_t errstr_size)
{
	char name[SEQ_DIGITS + 1];
	struct stat st;
	char *buf = NULL;
	char *path = NULL;
	char *ctype = NULL;
	char *data = NULL;
	size_t size;
	size_t got = 0;
	char *nl;
	int fd;
	idmefv2_error err = IDMEFV2_ERR_IO;

	snprintf(name, sizeof(name), "%0*" PRIu64, SEQ_DIGITS, seq);
	fd = openat(spool->dir_fd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		idmefv2__set_error(errstr, errstr_size, "spool %s: cannot read %s: %s", spool->dir, name, strerror(errno));
		goto out;
	}
	if (st.st_size > (off_t)MAX_ITEM_BYTES) {
		idmefv2__set_error(errstr, errstr_size, "spool %s: %s is too large", spool->dir, name);
		goto out;
	}
	size = (size_t)st.st_size;
	buf = malloc(size + 1);
	if (!buf) {
		err = IDMEFV2_ERR_NOMEM;
		idmefv2__set_error(errstr, errstr_size, "out of memory");
		goto out;
	}
	while (got < size) {
		ssize_t n = read(fd, buf + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			idmefv2__set_error(errstr, errstr_size, "spool %s: cannot read %s: %s", spool->dir, name,
			                   n < 0 ? strerror(errno) : "truncated");
			goto out;
		}
		got += (size_t)n;
	}
	buf[size] = '\0';
	nl = memchr(buf, '\n', size);
	if (size < sizeof(SPOOL_MAGIC) - 1 || memcmp(buf, SPOOL_MAGIC, sizeof(SPOOL_MAGIC) - 1) != 0 || !nl ||
	    nl == buf + sizeof(SPOOL_MAGIC) - 1) {
		idmefv2__set_error(errstr, errstr_size, "spool %s: %s is not a spool file", spool->dir, name);
		err = IDMEFV2_ERR_PARSE;
		goto out;
	}
	ctype = strndup(buf + sizeof(SPOOL_MAGIC) - 1, (size_t)(nl - buf) - (sizeof(SPOOL_MAGIC) - 1));
	*ret_len = size - (size_t)(nl + 1 - buf);
	data = malloc(*ret_len + 1);
	path = join_path(spool->dir, name);
	if (!ctype || !data || !path) {
		err = IDMEFV2_ERR_NOMEM;
		idmefv2__set_error(errstr, errstr_size, "out of memory");
		goto out;
	}
	memcpy(data, nl + 1, *ret_len);
	data[*ret_len] = '\0';
	*ret_content_type = ctype;
	*ret_data = data;
	*ret_path = path;
	ctype = data = path = NULL;
	err = IDMEFV2_OK;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(ctype);
	free(data);
	free(path);
	return err;
}

void idmefv2__spool_remove(struct idmefv2__spool *spool, const char *path)
{
	(void)spool;
	/* No directory fsync: a removal lost in a crash means one redelivery, which
	 * at-least-once allows, and it keeps delivery from waiting on the disk. */
	unlink(path);
}

void idmefv2__spool_quarantine(struct idmefv2__spool *spool, uint64_t seq)
{
	char name[SEQ_DIGITS + 1];
	char bad[SEQ_DIGITS + sizeof(".corrupt")];

	snprintf(name, sizeof(name), "%0*" PRIu64, SEQ_DIGITS, seq);
	snprintf(bad, sizeof(bad), "%s.corrupt", name);
	renameat(spool->dir_fd, name, spool->dir_fd, bad);
}
