/* SPDX-License-Identifier: Apache-2.0 */
/* idmefv2 listen: receive messages through a transport and print or store them. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include <idmefv2/message.h>
#include <idmefv2/queue.h>
#include <idmefv2/transport.h>
#include <idmefv2/util.h>

#include "idmefv2-common.h"
#include "idmefv2-tool.h"

#define CMD "listen"

const char tool__listen_help[] =
	"Usage: idmefv2 listen [OPTIONS] URL\n"
	"\n"
	"Receive IDMEFv2 messages on URL: http://ADDRESS:PORT/PATH (HTTP POST\n"
	"server), https://... (with -o tls.cert=... -o tls.key=...),\n"
	"kafka://BROKER[,BROKER...]/TOPIC (consumer in group -o group_id=...), or\n"
	"file:///DIR (files dropped into DIR). Every message is validated on arrival;\n"
	"invalid ones are refused (HTTP 400) and counted. Received messages are printed\n"
	"on standard output as NDJSON (the text received, line breaks made spaces), or\n"
	"with --out written to DIR, one file per message. A message is acknowledged\n"
	"(HTTP 204, Kafka offset committed, file removed) only once written; with\n"
	"--out, once fsync'd, renamed into place and the directory fsync'd, so that it\n"
	"survives even SIGKILL. Messages arriving together are written, or fsync'd, as\n"
	"one group. A message that cannot be written is refused (503) for its sender\n"
	"to retry. The listening address is printed on standard\n"
	"error at start. SIGINT or SIGTERM stops: new requests get 503 with\n"
	"Retry-After, those under way finish; the counts go to standard error:\n"
	"  N messages received, N invalid[, N stored, N duplicates, N kept under a\n"
	"  second name][, N refused for a retry (not written)]\n"
	"With --out, the first message of an ID is kept; a repeat with the same content\n"
	"is counted as a duplicate, one with a different content is kept as ID.2.json.\n"
	"\n"
	"Options:\n"
	"  -o, --option NAME=VALUE  set a transport option (repeatable)\n"
	"      --list-options       list every transport option with its default\n"
	"      --out DIR            store each message as DIR/<ID>.json instead of printing\n"
	"                           (DIR is created, mode 0750, if it does not exist)\n"
	"      --count N            stop after N messages\n"
	"      --queue-size N       ignored (kept for old scripts)\n"
	"  -q, --quiet              no start-up line\n"
	"  -h, --help               show this help and exit\n"
	"\n"
	"Secrets (auth.password, auth.bearer_token, tls.key_password) are better given\n"
	"as -o NAME_file=FILE (first line; a file others can read is refused) or in\n"
	"IDMEFV2_AUTH_PASSWORD, IDMEFV2_AUTH_BEARER_TOKEN, IDMEFV2_TLS_KEY_PASSWORD than\n"
	"as -o NAME=VALUE, which ps shows. An option wins over its file, which wins\n"
	"over the environment.\n"
	"\n"
	"Exit status:\n"
	"  0  stopped normally\n"
	"  2  usage error, the transport could not start, or standard output failed\n";

enum {
	OPT_LIST_OPTIONS = 256,
	OPT_OUT,
	OPT_COUNT,
	OPT_QUEUE_SIZE,
};

static const struct option listen_options[] = {
	{ "option", required_argument, NULL, 'o' },
	{ "list-options", no_argument, NULL, OPT_LIST_OPTIONS },
	{ "out", required_argument, NULL, OPT_OUT },
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "queue-size", required_argument, NULL, OPT_QUEUE_SIZE },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void on_log(idmefv2_log_level level, const char *message, void *user_data)
{
	(void)user_data;
	if (level <= IDMEFV2_LOG_WARNING)
		fprintf(stderr, "idmefv2 listen: %s\n", message);
}

/* Other copies of a message under the same ID with different content: ID.2.json …, then ID.<random>.json */
#define MAX_VERSIONS 100
#define TMP_ATTEMPTS 8

enum store_result { STORE_NEW, STORE_DUPLICATE, STORE_CONFLICT };

/* One accepted message in a group, on its caller's stack until the group is committed. */
struct pending {
	struct pending *next;
	const char *data;        /* the line, without its newline */
	size_t len;
	/* --out */
	const char *id;
	int fd;                  /* its temporary file while written */
	char tmp[256], name[256];
	enum store_result res;
	int err;                 /* 0 or the errno value of its own failure */
};

/*
 * A group commit: the messages accepted at about the same time are written
 * (standard output: one writev) or made durable (--out: each file fsync'ed
 * and renamed by its own thread, then one fsync of the directory for all)
 * together, by whichever of their threads finds no commit under way; the
 * others wait for it. Each caller returns only once its own message is
 * committed, so an acknowledgement still means written, but a burst of N
 * messages costs one write, or one directory fsync, instead of N.
 */
struct group {
	struct pending *head, **tail;
	unsigned refs;   /* callers waiting on it */
	bool done;
};

/*
 * Where accepted messages go. The transport calls on_message() from its
 * threads and answers 2xx, removes the dropped file or commits the Kafka
 * offset only once it returns OK: a message is written (and with --out,
 * fsync'ed and renamed into place, the directory fsync'ed) before it is
 * acknowledged, so neither a stop nor a crash loses an acknowledged message.
 */
struct sink {
	const char *out_dir;
	int dir_fd;
	size_t count;              /* stop after this many, 0: never */
	pthread_mutex_t lock;      /* the error log, and the group commit below */
	pthread_cond_t committed;
	struct group *open;        /* the group new messages join */
	bool committing;           /* a thread is committing a group (the lock released) */
	atomic_size_t taken;       /* accepted or being written (for --count) */
	atomic_size_t received;    /* written, or already stored */
	atomic_size_t stored;      /* new files */
	atomic_size_t duplicates;  /* same ID and same content as a stored file */
	atomic_size_t conflicts;   /* same ID, different content: kept as ID.N.json */
	atomic_size_t refused;     /* not written: the sender was told to retry */
	atomic_bool broken;        /* standard output failed: stop */
	int last_errno;            /* logged once until a write succeeds again */
};

/* Write @data and a newline to a new temporary file in @dir_fd, left open in *@ret_fd; 0 or an errno value. */
static int write_tmp(int dir_fd, const char *id, const char *data, size_t len, char *tmp, size_t tmp_size,
                     int *ret_fd)
{
	char rnd[IDMEFV2_UUID_STRLEN];
	int fd = -1, e = 0;

	/* A random name made with O_EXCL | O_NOFOLLOW: nothing planted in the
	 * directory can be written through or guessed. */
	for (int i = 0; i < TMP_ATTEMPTS && fd < 0; i++) {
		idmefv2_uuid_new(rnd, sizeof(rnd));
		snprintf(tmp, tmp_size, ".%s.%s.tmp", id, rnd);
		fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
		if (fd < 0 && errno != EEXIST)
			return errno;
	}
	if (fd < 0)
		return EEXIST;
	if (!idmefv2__write_all(fd, data, len) || !idmefv2__write_all(fd, "\n", 1)) {
		e = errno ? errno : EIO;
		close(fd);
		unlinkat(dir_fd, tmp, 0);
		return e;
	}
	*ret_fd = fd;
	return 0;
}

/* Whether @name in @dir_fd is a regular file holding exactly @data and a newline. */
static bool same_content(int dir_fd, const char *name, const char *data, size_t len)
{
	struct stat st;
	char buf[65536];
	size_t off = 0;
	bool same = false;
	int fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return false;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != (uint64_t)len + 1)
		goto out;
	while (off < len + 1) {
		ssize_t n = read(fd, buf, sizeof(buf));
		size_t cmp;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || (size_t)n > len + 1 - off)
			goto out;
		cmp = (size_t)n;
		if (off + cmp > len) {
			/* The last byte read is the newline. */
			if (buf[cmp - 1] != '\n' || memcmp(buf, data + off, cmp - 1) != 0)
				goto out;
		} else if (memcmp(buf, data + off, cmp) != 0) {
			goto out;
		}
		off += cmp;
	}
	same = true;
out:
	close(fd);
	return same;
}

/*
 * Move @p's temporary (fsync'ed) to ID.json: the first copy of an ID is kept;
 * an identical copy is a duplicate (counted, not written again); a different
 * one is kept beside it as ID.2.json, ID.3.json, … Names are never replaced,
 * so a symbolic link planted under a final name is neither followed nor
 * replaced. The rename is durable once the directory is fsync'ed.
 * @return 0 or an errno value
 */
static int place(int dir_fd, struct pending *p)
{
	char rnd[IDMEFV2_UUID_STRLEN];
	int e = EEXIST;

	for (unsigned v = 1; v <= MAX_VERSIONS + TMP_ATTEMPTS; v++) {
		if (v == 1) {
			snprintf(p->name, sizeof(p->name), "%s.json", p->id);
		} else if (v <= MAX_VERSIONS) {
			snprintf(p->name, sizeof(p->name), "%s.%u.json", p->id, v);
		} else {
			/* So many versions of one ID: the next ones get random names, never refused. */
			idmefv2_uuid_new(rnd, sizeof(rnd));
			snprintf(p->name, sizeof(p->name), "%s.%s.json", p->id, rnd);
		}
		e = idmefv2__rename_noreplace(dir_fd, p->tmp, p->name);
		if (!e) {
			p->res = v == 1 ? STORE_NEW : STORE_CONFLICT;
			return 0;
		}
		if (e != EEXIST)
			break;
		if (v <= MAX_VERSIONS && same_content(dir_fd, p->name, p->data, p->len)) {
			unlinkat(dir_fd, p->tmp, 0);
			p->res = STORE_DUPLICATE;
			return 0;
		}
	}
	unlinkat(dir_fd, p->tmp, 0);
	return e;
}

/*
 * --out: each caller has fsync'ed and renamed its file already (concurrent
 * fsyncs share journal commits); one fsync of the directory makes every
 * rename of the group durable. A duplicate matched a file renamed in this
 * group or in one committed before, so it is as durable as the group.
 */
static void commit_files(struct sink *s, struct group *g)
{
	int e = fsync(s->dir_fd) == 0 ? 0 : errno;

	for (struct pending *p = g->head; p; p = p->next)
		if (!p->err)
			p->err = e;
}

/* Standard output: every line of the group in as few writev() calls as it takes. */
static void commit_lines(struct group *g)
{
	struct iovec iov[512];
	struct pending *first = g->head;
	int e = 0;

	while (first && !e) {
		struct pending *p = first;
		size_t n = 0, off = 0;

		for (; p && n + 2 <= sizeof(iov) / sizeof(iov[0]); p = p->next) {
			iov[n++] = (struct iovec){ (void *)p->data, p->len };
			iov[n++] = (struct iovec){ (void *)"\n", 1 };
		}
		while (off < n) {
			ssize_t w = writev(STDOUT_FILENO, iov + off, (int)(n - off));

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				e = w < 0 ? errno : EIO;
				break;
			}
			/* Skip what was written, also part of an iovec. */
			while (off < n && (size_t)w >= iov[off].iov_len)
				w -= (ssize_t)iov[off++].iov_len;
			if (off < n) {
				iov[off].iov_base = (char *)iov[off].iov_base + w;
				iov[off].iov_len -= (size_t)w;
			}
		}
		first = p;
	}
	if (e)
		for (struct pending *p = g->head; p; p = p->next)
			p->err = e;
}

/*
 * Join the open group with @p and return once it is committed: 0 or the
 * errno value of @p's failure. Called with s->lock held; returns with it held.
 */
static int sink_commit(struct sink *s, struct pending *p)
{
	struct group *g = s->open;

	if (!g) {
		g = s->open = calloc(1, sizeof(*g));
		if (!g)
			return ENOMEM;
		g->tail = &g->head;
	}
	p->next = NULL;
	*g->tail = p;
	g->tail = &p->next;
	g->refs++;
	while (!g->done) {
		if (s->committing) {
			pthread_cond_wait(&s->committed, &s->lock);
			continue;
		}
		/* No commit under way, so g is still the open group: commit it. */
		s->committing = true;
		s->open = NULL;
		pthread_mutex_unlock(&s->lock);
		if (s->out_dir)
			commit_files(s, g);
		else
			commit_lines(g);
		pthread_mutex_lock(&s->lock);
		g->done = true;
		s->committing = false;
		pthread_cond_broadcast(&s->committed);
	}
	if (--g->refs == 0)
		free(g);
	return p->err;
}

static idmefv2_error sink_store(struct sink *s, idmefv2_message *msg, const char *data, size_t len)
{
	const char *id = NULL;
	char uuid[IDMEFV2_UUID_STRLEN];
	struct pending p = { .data = data, .len = len, .fd = -1 };
	int e;

	if (idmefv2_message_get_string(msg, "ID", &id, NULL, NULL, 0) != IDMEFV2_OK || !idmefv2_uuid_is_valid(id)) {
		idmefv2_uuid_new(uuid, sizeof(uuid));
		id = uuid;
	}
	p.id = id;
	e = write_tmp(s->dir_fd, id, data, len, p.tmp, sizeof(p.tmp), &p.fd);
	if (!e) {
		if (fsync(p.fd) != 0)
			e = errno;
		if (close(p.fd) != 0 && !e)
			e = errno;
		if (e)
			unlinkat(s->dir_fd, p.tmp, 0);
		else
			e = place(s->dir_fd, &p);
	}
	pthread_mutex_lock(&s->lock);
	if (!e)
		e = sink_commit(s, &p);
	if (e) {
		/* Refused, so the sender retries; said once until writing works again. */
		if (e != s->last_errno)
			tool__error(CMD, "--out %s: cannot store message %s: %s; refusing messages until it works",
			            s->out_dir, id, strerror(e));
		s->last_errno = e;
	} else {
		if (s->last_errno)
			tool__error(CMD, "--out %s: storing again", s->out_dir);
		s->last_errno = 0;
		if (p.res == STORE_DUPLICATE)
			tool__error(CMD, "duplicate of message %s (same content): kept the stored copy", id);
		else if (p.res == STORE_CONFLICT)
			tool__error(CMD, "message %s already stored with a different content: kept both, the new one "
			            "as %s", id, p.name);
	}
	pthread_mutex_unlock(&s->lock);
	if (e)
		return IDMEFV2_ERR_IO;
	atomic_fetch_add(p.res == STORE_NEW ? &s->stored : p.res == STORE_DUPLICATE ? &s->duplicates : &s->conflicts, 1);
	return IDMEFV2_OK;
}

static idmefv2_error sink_print(struct sink *s, const char *data, size_t len)
{
	struct pending p = { .data = data, .len = len, .fd = -1 };
	idmefv2_error err = IDMEFV2_OK;
	int e;

	pthread_mutex_lock(&s->lock);
	if (atomic_load(&s->broken)) {
		err = IDMEFV2_ERR_IO;
	} else if ((e = sink_commit(s, &p)) != 0) {
		if (!atomic_exchange(&s->broken, true))
			tool__error(CMD, "standard output: %s", strerror(e));
		err = IDMEFV2_ERR_IO;
	}
	pthread_mutex_unlock(&s->lock);
	return err;
}

/*
 * The message as one line: the text the listener received and validated
 * (json-c userdata of its object, see http-listen.c), its line breaks (JSON
 * whitespace only: strings cannot hold raw control characters) made spaces;
 * or, from a transport that gives no text, the message serialized.
 * @return 0, or an error with *ret_copy to free afterwards (may be NULL)
 */
static idmefv2_error message_line(idmefv2_message *msg, const char **ret_data, size_t *ret_len, char **ret_copy)
{
	const char *text = json_object_get_userdata(idmefv2_message_get_object(msg));
	char errstr[256];
	size_t len;
	char *copy;

	*ret_copy = NULL;
	if (!text)
		return idmefv2_message_serialize(msg, "application/json", IDMEFV2_SERIALIZE_NO_VALIDATE, ret_data,
		                                 ret_len, NULL, errstr, sizeof(errstr));
	len = strlen(text);
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' ' ||
	               text[len - 1] == '\t'))
		len--;
	*ret_data = text;
	*ret_len = len;
	if (!memchr(text, '\n', len) && !memchr(text, '\r', len))
		return IDMEFV2_OK;
	copy = malloc(len);
	if (!copy)
		return IDMEFV2_ERR_NOMEM;
	for (size_t i = 0; i < len; i++)
		copy[i] = text[i] == '\n' || text[i] == '\r' ? ' ' : text[i];
	*ret_data = *ret_copy = copy;
	return IDMEFV2_OK;
}

static idmefv2_error on_message(idmefv2_transport *t, idmefv2_message *msg, void *user_data)
{
	struct sink *s = user_data;
	const char *data;
	char *copy;
	size_t len;
	idmefv2_error err;

	(void)t;
	/* Past --count, refused like during a stop: the sender keeps it. */
	if (s->count && atomic_fetch_add(&s->taken, 1) >= s->count) {
		atomic_fetch_sub(&s->taken, 1);
		return IDMEFV2_ERR_CLOSED;
	}
	err = message_line(msg, &data, &len, &copy);
	if (err == IDMEFV2_OK)
		err = s->out_dir ? sink_store(s, msg, data, len) : sink_print(s, data, len);
	free(copy);
	if (err != IDMEFV2_OK) {
		if (s->count)
			atomic_fetch_sub(&s->taken, 1);
		atomic_fetch_add(&s->refused, 1);
		return err;
	}
	atomic_fetch_add(&s->received, 1);
	return IDMEFV2_OK;
}

/* The HTTP listener's pool with --out (see tool__listen_main()). */
#define OUT_HTTPD_THREADS "32"

static bool option_given(const char **opts, size_t n, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < n; i++)
		if (strncmp(opts[i], name, len) == 0 && opts[i][len] == '=')
			return true;
	return false;
}

/* A thousand clients need a thousand descriptors: raise the soft limit to the hard one. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? 65536 : rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

/* mkdir -p with mode 0750 for what is created; 0 or an errno value. */
static int make_dirs(const char *path)
{
	char buf[4096];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf))
		return ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;

		*p = '\0';
		if (mkdir(buf, 0750) != 0 && errno != EEXIST)
			return errno;
		*p = saved;
		if (!saved)
			return 0;
	}
}

/* A temporary this old belongs to no running listener: one killed while writing it. */
#define STALE_TMP_S 600

/* Whether @name is one of write_tmp()'s temporaries: ".<UUID>.<UUID>.tmp". */
static bool is_our_tmp(const char *name)
{
	char id[IDMEFV2_UUID_STRLEN], rnd[IDMEFV2_UUID_STRLEN];
	size_t u = IDMEFV2_UUID_STRLEN - 1;

	if (strlen(name) != 1 + u + 1 + u + 4 || name[0] != '.' || name[1 + u] != '.' ||
	    strcmp(name + 2 + 2 * u, ".tmp") != 0)
		return false;
	memcpy(id, name + 1, u);
	id[u] = '\0';
	memcpy(rnd, name + 2 + u, u);
	rnd[u] = '\0';
	return idmefv2_uuid_is_valid(id) && idmefv2_uuid_is_valid(rnd);
}

/* Remove the temporaries a killed listener left; their messages were never acknowledged. */
static void remove_stale_tmp(int dir_fd, const char *dir)
{
	int fd = dup(dir_fd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	size_t n = 0;
	time_t now = time(NULL);

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d))) {
		struct stat st;

		if (!is_our_tmp(de->d_name) || fstatat(dir_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode) || now - st.st_mtime < STALE_TMP_S)
			continue;
		n += unlinkat(dir_fd, de->d_name, 0) == 0;
	}
	closedir(d);
	if (n)
		tool__error(CMD, "--out %s: removed %zu unfinished temporary file%s of a listener that was killed", dir,
		            n, n == 1 ? "" : "s");
}

/* The --out directory: created (0750) if absent, opened once for every store(). */
static int open_out_dir(const char *dir)
{
	struct stat st;
	int fd, e;

	if (stat(dir, &st) != 0) {
		e = make_dirs(dir);
		if (e) {
			tool__error(CMD, "--out %s: cannot create the directory: %s (make it with "
			            "'mkdir -p -m 0750 %s' and let this user write to it)", dir, strerror(e), dir);
			return -1;
		}
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || faccessat(fd, ".", W_OK, 0) != 0) {
		tool__error(CMD, "--out %s: not a writable directory (%s); give this user write access to it",
		            dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	remove_stale_tmp(fd, dir);
	return fd;
}

static void print_counts(const struct sink *s, const idmefv2_transport *t)
{
	idmefv2_transport_counters counters;
	size_t received = atomic_load(&s->received), refused = atomic_load(&s->refused);

	idmefv2_transport_get_counters(t, &counters);
	fprintf(stderr, "%zu message%s received, %llu invalid", received, received == 1 ? "" : "s",
	        (unsigned long long)counters.invalid);
	if (s->out_dir)
		fprintf(stderr, ", %zu stored, %zu duplicate%s, %zu kept under a second name", atomic_load(&s->stored),
		        atomic_load(&s->duplicates), atomic_load(&s->duplicates) == 1 ? "" : "s",
		        atomic_load(&s->conflicts));
	if (refused)
		fprintf(stderr, ", %zu refused for a retry (not written)", refused);
	fputc('\n', stderr);
}

int tool__listen_main(int argc, char **argv)
{
	const char **opts = NULL;
	size_t n_opts = 0;
	bool quiet = false;
	idmefv2_transport *t = NULL;
	struct sink sink = { .dir_fd = -1 };
	char errstr[1024] = "";
	idmefv2_error err;
	int c, status = TOOL_EXIT_USAGE;
	struct sigaction sa;

	pthread_mutex_init(&sink.lock, NULL);
	pthread_cond_init(&sink.committed, NULL);
	opts = calloc((size_t)argc, sizeof(*opts));
	if (!opts)
		goto out;
	while ((c = getopt_long(argc, argv, ":o:qh", listen_options, NULL)) != -1) {
		switch (c) {
		case 'o': opts[n_opts++] = optarg; break;
		case 'q': quiet = true; break;
		case OPT_OUT: sink.out_dir = optarg; break;
		case OPT_COUNT:
		case OPT_QUEUE_SIZE: {
			char *end;
			unsigned long long v;

			errno = 0;
			v = strtoull(optarg, &end, 10);
			if (errno || *end || v == 0 || *optarg == '-') {
				tool__error(CMD, "--%s %s: expected a positive number",
				            c == OPT_COUNT ? "count" : "queue-size", optarg);
				goto out;
			}
			/* --queue-size is accepted for old scripts: messages are now written
			 * before they are acknowledged, with no queue in between. */
			if (c == OPT_COUNT)
				sink.count = (size_t)v;
			break;
		}
		case OPT_LIST_OPTIONS:
			tool__list_transport_options(stdout);
			status = TOOL_EXIT_OK;
			goto out;
		case 'h':
			fputs(tool__listen_help, stdout);
			status = TOOL_EXIT_OK;
			goto out;
		default:
			status = tool__bad_option(CMD, c, argv);
			goto out;
		}
	}
	if (optind >= argc) {
		tool__error(CMD, "missing URL; see 'idmefv2 help listen'");
		goto out;
	}
	if (optind + 1 < argc) {
		tool__error(CMD, "unexpected argument '%s'", argv[optind + 1]);
		goto out;
	}
	if (sink.out_dir && (sink.dir_fd = open_out_dir(sink.out_dir)) < 0)
		goto out;
	raise_fd_limit();

	err = idmefv2_transport_new(argv[optind], IDMEFV2_TRANSPORT_LISTENER, &t, errstr, sizeof(errstr));
	if (err != IDMEFV2_OK) {
		tool__error(CMD, "%s: %s", argv[optind], *errstr ? errstr : idmefv2_strerror(err));
		goto out;
	}
	/* --out spends its time in fsync(), which concurrent callers share (journal
	 * commits): more pool threads than for standard output, unless set. Not
	 * an HTTP URL: the option does not apply, and that is fine. */
	if (sink.out_dir && !option_given(opts, n_opts, "httpd.threads"))
		idmefv2_transport_set(t, "httpd.threads", OUT_HTTPD_THREADS, NULL, 0);
	for (size_t i = 0; i < n_opts; i++)
		if (tool__transport_option(CMD, t, opts[i]) != TOOL_EXIT_OK)
			goto out;
	idmefv2_transport_set_message_cb(t, on_message, &sink);
	idmefv2_transport_set_log_cb(t, on_log, NULL);

	/* SA_RESTART: a signal must not fail a write to standard output or a file. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* A closed standard output is an error to report (EPIPE), not a death mid-message. */
	signal(SIGPIPE, SIG_IGN);

	err = idmefv2_transport_start(t, errstr, sizeof(errstr));
	if (err != IDMEFV2_OK) {
		tool__error(CMD, "%s: %s", argv[optind], *errstr ? errstr : idmefv2_strerror(err));
		goto out;
	}
	if (!quiet) {
		unsigned port = idmefv2_transport_get_port(t);

		if (port)
			fprintf(stderr, "idmefv2 listen: listening on %s (port %u)\n", argv[optind], port);
		else
			fprintf(stderr, "idmefv2 listen: listening on %s\n", argv[optind]);
		fflush(stderr);
	}

	status = TOOL_EXIT_OK;
	while (!stop_requested && !atomic_load(&sink.broken) &&
	       !(sink.count && atomic_load(&sink.received) >= sink.count))
		nanosleep(&(struct timespec){ .tv_nsec = 20 * 1000 * 1000 }, NULL);
	/* Refuses new requests (503 and Retry-After), lets those under way finish:
	 * everything acknowledged has been written by then. */
	idmefv2_transport_stop(t);
	if (atomic_load(&sink.broken))
		status = TOOL_EXIT_USAGE;
	print_counts(&sink, t);
out:
	idmefv2_transport_free(t);
	if (sink.dir_fd >= 0)
		close(sink.dir_fd);
	free(sink.open); /* left by a caller that found no memory to join it */
	pthread_cond_destroy(&sink.committed);
	pthread_mutex_destroy(&sink.lock);
	free(opts);
	return status;
}
