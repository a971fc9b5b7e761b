/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The generic transport: scheme dispatch, options, the send queue with its
 * spool overflow, delivery accounting, and hand-off of received messages.
 *
 * Send order is kept by one invariant: every item in the in-memory queue is
 * older than every item that sits only in the spool. New items go to the
 * spool while it holds anything not yet loaded (or while memory is full), and
 * take() refills memory from the spool's oldest end.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include <idmefv2/schema.h>

#include "transport-config.h"
#include "transport-generic.h"
#include "transport-private.h"
#include "idmefv2-common.h"

enum state {
	STATE_NEW,
	STATE_STARTED,
	STATE_FLUSHING, /* stop() has begun: send() refuses, the backend still delivers */
	STATE_STOPPING, /* the backend is being stopped */
	STATE_STOPPED,
};

struct option_value {
	char *name;
	char *value;
};

/* With "delivery.report_spooled": a SPOOLED report owed to the caller. Allocated with
 * the item (so that spooling, under the lock, never allocates) and handed to the
 * reporter's list when the item reaches the disk; it outlives the item if need be. */
struct spooled_note {
	struct spooled_note *next;
	void *opaque;
};

/* Items are only ever allocated here: backends get them from take() and give them
 * back through return() or done(), so the generic layer can keep its own fields. */
struct item_priv {
	struct idmefv2__item item;
	uint64_t spool_size; /* bytes on disk while item.spool_path is set or the item is spool-only */
	struct spooled_note *note; /* not yet reported SPOOLED (NULL: nothing to report) */
	bool dead_lettered;        /* a dead-letter record of it is on disk */
	size_t buf_size;
	/* Content type and data as given to send: one allocation per message instead of three. */
	char buf[];
};

struct idmefv2_transport {
	struct idmefv2__url url;
	idmefv2_transport_role role;
	const struct idmefv2__backend *backend;
	void *backend_data;
	bool backend_created;

	struct option_value *opts;
	size_t n_opts;

	idmefv2_delivery_cb delivery_cb;
	void *delivery_ud;
	idmefv2_queue *queue;
	idmefv2_message_cb message_cb;
	void *message_ud;
	idmefv2_log_cb log_cb;
	void *log_ud;

	/* Option values fixed at start(). */
	const char *content_type;
	bool validate;
	size_t capacity;
	int queue_timeout_ms;
	uint64_t spool_max;
	int64_t backoff_ms;
	int64_t backoff_max_ms;
	bool report_spooled;

	pthread_mutex_t lock;
	pthread_cond_t cond_items; /* items in memory, or stopping */
	pthread_cond_t cond_room;  /* room in memory, or stopping */
	pthread_cond_t cond_done;  /* pending reached 0 */
	atomic_int state;
	atomic_bool stopping;

	/* In memory, oldest first. */
	struct idmefv2__item *mem_head;
	struct idmefv2__item *mem_tail;
	size_t mem_count;
	/* Only in the spool (data not loaded), oldest first. */
	struct idmefv2__item *spool_head;
	struct idmefv2__item *spool_tail;
	size_t spool_count;
	struct idmefv2__spool *spool;
	uint64_t spool_bytes;
	uint64_t next_seq;
	/* Accepted (or found in the spool) and without a final outcome yet. */
	uint64_t pending;
	/* With a spool: an item came back since the last success. Everything accepted
	 * meanwhile is written to disk at once, so that a crash while the peer is down
	 * loses nothing. */
	bool peer_down;

	pthread_mutex_t dead_letter_lock;

	/* SPOOLED reports (option "delivery.report_spooled"). Every delivery callback is
	 * then made with cb_lock held, and a final one only after the pending reports
	 * were made: so an item's SPOOLED always comes before its final outcome. The
	 * reporter thread makes the reports, so that send() never calls back. */
	pthread_mutex_t cb_lock;
	pthread_cond_t cond_notes;          /* notes waiting, or the reporter must stop */
	struct spooled_note *notes_head;    /* under lock, oldest first */
	struct spooled_note *notes_tail;
	pthread_t reporter;
	bool reporter_started;
	bool reporter_stop;

	_Atomic uint64_t n_queued;
	_Atomic uint64_t n_sent;
	_Atomic uint64_t n_retried;
	_Atomic uint64_t n_failed;
	_Atomic uint64_t n_spooled;
	_Atomic uint64_t n_received;
	_Atomic uint64_t n_invalid;
};

#define COUNT(t, field, n) atomic_fetch_add_explicit(&(t)->field, (n), memory_order_relaxed)

/* ---- scheme table ------------------------------------------------------------------------ */

#if IDMEFV2_HAVE_HTTP
#define HTTP_SEND (&idmefv2__backend_http_send)
#else
#define HTTP_SEND NULL
#endif
#if IDMEFV2_HAVE_HTTPD
#define HTTP_LISTEN (&idmefv2__backend_http_listen)
#else
#define HTTP_LISTEN NULL
#endif
#if IDMEFV2_HAVE_KAFKA
#define KAFKA (&idmefv2__backend_kafka)
#else
#define KAFKA NULL
#endif

struct scheme {
	const char *name;
	const struct idmefv2__backend *sender;
	const struct idmefv2__backend *listener;
	const char *sender_missing;   /* why a NULL sender is NULL */
	const char *listener_missing;
};

static const struct scheme schemes[] = {
	{"http", HTTP_SEND, HTTP_LISTEN,
	 "http sender transport not built (libcurl missing or -Dhttp=disabled)",
	 "http listener transport not built (libmicrohttpd or GnuTLS missing, or -Dhttpd=disabled)"},
	{"https", HTTP_SEND, HTTP_LISTEN,
	 "https sender transport not built (libcurl missing or -Dhttp=disabled)",
	 "https listener transport not built (libmicrohttpd or GnuTLS missing, or -Dhttpd=disabled)"},
	{"kafka", KAFKA, KAFKA,
	 "kafka transport not built (librdkafka missing or -Dkafka=disabled)",
	 "kafka transport not built (librdkafka missing or -Dkafka=disabled)"},
	{"file", &idmefv2__backend_file, &idmefv2__backend_file, NULL, NULL},
};

/* ---- small helpers --------------------------------------------------------------------- */

int64_t idmefv2__now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}



static struct item_priv *item_priv(struct idmefv2__item *item)
{
	return (struct item_priv *)((char *)item - offsetof(struct item_priv, item));
}

static struct idmefv2__item *item_new(const char *content_type, const void *data, size_t len, void *opaque)
{
	size_t ct_len = strlen(content_type);
	struct item_priv *p;

	if (len > SIZE_MAX - sizeof(*p) - ct_len - 2)
		return NULL;
	p = malloc(sizeof(*p) + ct_len + 1 + len + 1);
	if (!p)
		return NULL;
	memset(p, 0, sizeof(*p));
	p->buf_size = ct_len + 1 + len + 1;
	memcpy(p->buf, content_type, ct_len + 1);
	p->item.content_type = p->buf;
	p->item.data = p->buf + ct_len + 1;
	if (len)
		memcpy(p->item.data, data, len);
	p->item.data[len] = '\0';
	p->item.len = len;
	p->item.opaque = opaque;
	return &p->item;
}

/* Drop an item's data and content type (the spool holds them, or they are replaced). */
static void item_drop_payload(struct idmefv2__item *item)
{
	struct item_priv *p = item_priv(item);

	if (item->data && (item->data < p->buf || item->data >= p->buf + p->buf_size))
		free(item->data);
	if (item->content_type && (item->content_type < p->buf || item->content_type >= p->buf + p->buf_size))
		free(item->content_type);
	item->data = NULL;
	item->content_type = NULL;
}

static void item_free(struct idmefv2__item *item)
{
	if (!item)
		return;
	free(item_priv(item)->note);
	item_drop_payload(item);
	free(item->spool_path);
	free(item_priv(item));
}

static void list_append(struct idmefv2__item **head, struct idmefv2__item **tail, struct idmefv2__item *item)
{
	item->next = NULL;
	if (*tail)
		(*tail)->next = item;
	else
		*head = item;
	*tail = item;
}

/* ---- accessors for backends ------------------------------------------------------------- */

const struct idmefv2__url *idmefv2__transport_url(const idmefv2_transport *t)
{
	return &t->url;
}

idmefv2_transport_role idmefv2__transport_role(const idmefv2_transport *t)
{
	return t->role;
}

void idmefv2__transport_set_backend_data(idmefv2_transport *t, void *data)
{
	t->backend_data = data;
}

void *idmefv2__transport_backend_data(const idmefv2_transport *t)
{
	return t->backend_data;
}

bool idmefv2__transport_stopping(const idmefv2_transport *t)
{
	return atomic_load(&((idmefv2_transport *)t)->stopping);
}

void idmefv2__transport_count_retry(idmefv2_transport *t)
{
	COUNT(t, n_retried, 1);
}

void idmefv2__transport_count_invalid(idmefv2_transport *t)
{
	COUNT(t, n_invalid, 1);
}

void idmefv2__log(const idmefv2_transport *t, idmefv2_log_level level, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (!t || !t->log_cb)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	t->log_cb(level, buf, t->log_ud);
}

/* ---- options ------------------------------------------------------------------------------ */

static const char *opt_lookup(const idmefv2_transport *t, const char *name)
{
	for (size_t i = 0; i < t->n_opts; i++)
		if (strcmp(t->opts[i].name, name) == 0)
			return t->opts[i].value;
	return NULL;
}

const char *idmefv2__opt_str(const idmefv2_transport *t, const char *name)
{
	const char *v = opt_lookup(t, name);
	const idmefv2_option_desc *desc;

	if (v)
		return v;
	desc = idmefv2__option_find(name);
	return desc ? desc->default_value : NULL;
}

int64_t idmefv2__opt_int(const idmefv2_transport *t, const char *name)
{
	const idmefv2_option_desc *desc = idmefv2__option_find(name);
	const char *v = idmefv2__opt_str(t, name);
	int64_t n = 0;

	if (!desc || !v)
		return 0;
	idmefv2__option_parse_number(desc->type == IDMEFV2_OPTION_STRING ? IDMEFV2_OPTION_INT : desc->type, v, &n);
	return n;
}

bool idmefv2__opt_bool(const idmefv2_transport *t, const char *name)
{
	const char *v = idmefv2__opt_str(t, name);
	int64_t n = 0;

	return v && idmefv2__option_parse_number(IDMEFV2_OPTION_BOOL, v, &n) && n;
}

void idmefv2__opt_foreach_prefix(const idmefv2_transport *t, const char *prefix,
                                 void (*fn)(const char *name, const char *value, void *ctx), void *ctx)
{
	size_t n = strlen(prefix);

	for (size_t i = 0; i < t->n_opts; i++)
		if (strncmp(t->opts[i].name, prefix, n) == 0)
			fn(t->opts[i].name, t->opts[i].value, ctx);
}

static idmefv2_error opt_store(idmefv2_transport *t, const char *name, const char *value)
{
	struct option_value *grown;
	char *copy = strdup(value);

	if (!copy)
		return IDMEFV2_ERR_NOMEM;
	for (size_t i = 0; i < t->n_opts; i++) {
		if (strcmp(t->opts[i].name, name) == 0) {
			free(t->opts[i].value);
			t->opts[i].value = copy;
			return IDMEFV2_OK;
		}
	}
	grown = realloc(t->opts, (t->n_opts + 1) * sizeof(*grown));
	if (!grown) {
		free(copy);
		return IDMEFV2_ERR_NOMEM;
	}
	t->opts = grown;
	t->opts[t->n_opts].name = strdup(name);
	if (!t->opts[t->n_opts].name) {
		free(copy);
		return IDMEFV2_ERR_NOMEM;
	}
	t->opts[t->n_opts].value = copy;
	t->n_opts++;
	return IDMEFV2_OK;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_transport_set(idmefv2_transport *t, const char *name,
                                                   const char *value,
                                                   char *errstr, size_t errstr_size)
{
	const idmefv2_option_desc *desc;
	idmefv2_error err;

	if (!t || !name || !value) {
		idmefv2__set_error(errstr, errstr_size, "no transport, option name or value");
		return IDMEFV2_ERR_INVALID_ARG;
	}
	if (atomic_load(&t->state) != STATE_NEW) {
		idmefv2__set_error(errstr, errstr_size, "%s: options can only be set before start", name);
		return IDMEFV2_ERR_STATE;
	}
	if (strncmp(name, "kafka.", 6) == 0 && name[6] && strcmp(t->url.scheme, "kafka") == 0) {
		/* librdkafka checks its own properties when the backend hands them over. */
		err = opt_store(t, name, value);
		goto out;
	}
	desc = idmefv2__option_find(name);
	if (!desc) {
		idmefv2__set_error(errstr, errstr_size, "unknown option '%s'%s", name,
		                   strncmp(name, "kafka.", 6) == 0 ? " (kafka.* options apply to kafka:// only)" : "");
		return IDMEFV2_ERR_UNKNOWN_OPTION;
	}
	if (!idmefv2__option_applies(desc, t->url.scheme)) {
		idmefv2__set_error(errstr, errstr_size, "option '%s' does not apply to %s:// transports (only %s)",
		                   name, t->url.scheme, desc->schemes);
		return IDMEFV2_ERR_UNKNOWN_OPTION;
	}
	err = idmefv2__option_check(desc, value, NULL, errstr, errstr_size);
	if (err != IDMEFV2_OK)
		return err;
	err = opt_store(t, name, value);
out:
	if (err == IDMEFV2_ERR_NOMEM)
		idmefv2__set_error(errstr, errstr_size, "out of memory");
	return err;
}

/* ---- secrets ------------------------------------------------------------------------------ */

/*
 * A secret comes from its option, else from its file option, else from the
 * environment: so that it need not appear on a command line (ps shows those).
 */
struct secret_source {
	const char *option;
	const char *file_option;
	const char *env;
	const char *env_schemes; /* where the environment variable applies */
};

static const struct secret_source secret_sources[] = {
	{"auth.password", "auth.password_file", "IDMEFV2_AUTH_PASSWORD", "http,https,kafka"},
	/* The kafka transport refuses bearer tokens: an exported variable must not break it. */
	{"auth.bearer_token", "auth.bearer_token_file", "IDMEFV2_AUTH_BEARER_TOKEN", "http,https"},
	{"tls.key_password", "tls.key_password_file", "IDMEFV2_TLS_KEY_PASSWORD", "https,kafka"},
};

#define SECRET_FILE_MAX 65536

/* The first line of @path (without its line break) in @buf; a file others can
 * read or anyone but its owner can write is refused. */
static idmefv2_error secret_file_read(const idmefv2_transport *t, const char *option, const char *path,
                                      char *buf, size_t size, char *errstr, size_t errstr_size)
{
	struct stat st;
	size_t len = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0) {
		idmefv2__set_error(errstr, errstr_size, "%s: %s: %s", option, path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return IDMEFV2_ERR_INVALID_ARG;
	}
	if (!S_ISREG(st.st_mode)) {
		idmefv2__set_error(errstr, errstr_size, "%s: %s is not a regular file", option, path);
		close(fd);
		return IDMEFV2_ERR_INVALID_ARG;
	}
	if (st.st_mode & (S_IRWXO | S_IWGRP)) {
		idmefv2__set_error(errstr, errstr_size, "%s: %s is accessible by others (mode %04o): "
		                   "let only its owner (and group) read it, e.g. chmod 600", option, path,
		                   (unsigned)(st.st_mode & 07777));
		close(fd);
		return IDMEFV2_ERR_INVALID_ARG;
	}
	if (st.st_mode & S_IRGRP)
		idmefv2__log(t, IDMEFV2_LOG_WARNING, "%s: %s is readable by its group", option, path);
	while (len < size - 1) {
		ssize_t n = read(fd, buf + len, size - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			idmefv2__set_error(errstr, errstr_size, "%s: %s: %s", option, path, strerror(errno));
			close(fd);
			return IDMEFV2_ERR_INVALID_ARG;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	len = strlen(buf);
	if (len > 0 && buf[len - 1] == '\r')
		buf[--len] = '\0';
	if (len == 0) {
		idmefv2__set_error(errstr, errstr_size, "%s: %s: the first line is empty", option, path);
		return IDMEFV2_ERR_INVALID_ARG;
	}
	return IDMEFV2_OK;
}

static idmefv2_error secrets_resolve(idmefv2_transport *t, char *errstr, size_t errstr_size)
{
	for (size_t i = 0; i < sizeof(secret_sources) / sizeof(secret_sources[0]); i++) {
		const struct secret_source *src = &secret_sources[i];
		const idmefv2_option_desc *desc = idmefv2__option_find(src->option);
		const char *file = opt_lookup(t, src->file_option);
		const char *env;
		idmefv2_error err;

		if (!desc || !idmefv2__option_applies(desc, t->url.scheme))
			continue;
		if (opt_lookup(t, src->option)) {
			if (file)
				idmefv2__log(t, IDMEFV2_LOG_WARNING, "%s is set: %s is not read", src->option,
				             src->file_option);
			continue;
		}
		if (file) {
			char *buf = malloc(SECRET_FILE_MAX);
			if (!buf) {
				idmefv2__set_error(errstr, errstr_size, "out of memory");
				return IDMEFV2_ERR_NOMEM;
			}
			err = secret_file_read(t, src->file_option, file, buf, SECRET_FILE_MAX, errstr, errstr_size);
			if (err == IDMEFV2_OK && opt_store(t, src->option, buf) != IDMEFV2_OK) {
				idmefv2__set_error(errstr, errstr_size, "out of memory");
				err = IDMEFV2_ERR_NOMEM;
			}
			explicit_bzero(buf, SECRET_FILE_MAX);
			free(buf);
			if (err != IDMEFV2_OK)
				return err;
			continue;
		}
		env = getenv(src->env);
		if (!env || !*env)
			continue;
		for (const char *p = src->env_schemes; *p;) {
			size_t n = strcspn(p, ",");
			if (n == strlen(t->url.scheme) && strncmp(p, t->url.scheme, n) == 0) {
				if (opt_store(t, src->option, env) != IDMEFV2_OK) {
					idmefv2__set_error(errstr, errstr_size, "out of memory");
					return IDMEFV2_ERR_NOMEM;
				}
				idmefv2__log(t, IDMEFV2_LOG_INFO, "%s taken from $%s", src->option, src->env);
				break;
			}
			p += n + (p[n] == ',');
		}
	}
	return IDMEFV2_OK;
}

/* ---- creation ----------------------------------------------------------------------------- */

static idmefv2_error transport_create(const char *url, idmefv2_transport_role role,
                                      const struct idmefv2__backend *backend, struct idmefv2__url *parsed,
                                      idmefv2_transport **ret_t, char *errstr, size_t errstr_size)
{
	idmefv2_transport *t;
	pthread_condattr_t attr;
	idmefv2_error err;

	(void)url;
	if ((role == IDMEFV2_TRANSPORT_SENDER && !backend->can_send) ||
	    (role == IDMEFV2_TRANSPORT_LISTENER && !backend->can_listen)) {
		idmefv2__set_error(errstr, errstr_size, "%s:// transports cannot %s", parsed->scheme,
		                   role == IDMEFV2_TRANSPORT_SENDER ? "send" : "listen");
		idmefv2__url_clear(parsed);
		return IDMEFV2_ERR_INVALID_ARG;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		idmefv2__url_clear(parsed);
		idmefv2__set_error(errstr, errstr_size, "out of memory");
		return IDMEFV2_ERR_NOMEM;
	}
	t->url = *parsed;
	t->role = role;
	t->backend = backend;
	t->next_seq = 1;
	atomic_init(&t->state, STATE_NEW);
	atomic_init(&t->stopping, false);
	pthread_mutex_init(&t->lock, NULL);
	pthread_mutex_init(&t->dead_letter_lock, NULL);
	pthread_mutex_init(&t->cb_lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&t->cond_items, &attr);
	pthread_cond_init(&t->cond_room, &attr);
	pthread_cond_init(&t->cond_done, &attr);
	pthread_cond_init(&t->cond_notes, &attr);
	pthread_condattr_destroy(&attr);

	if (backend->create) {
		err = backend->create(t, errstr, errstr_size);
		if (err != IDMEFV2_OK) {
			idmefv2_transport_free(t);
			return err;
		}
	}
	t->backend_created = true;
	*ret_t = t;
	return IDMEFV2_OK;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_transport_new(const char *url, idmefv2_transport_role role,
                                                   idmefv2_transport **ret_t,
                                                   char *errstr, size_t errstr_size)
{
	struct idmefv2__url parsed;
	const struct scheme *s = NULL;
	const struct idmefv2__backend *backend;
	idmefv2_error err;

	if (!url || !ret_t || (role != IDMEFV2_TRANSPORT_SENDER && role != IDMEFV2_TRANSPORT_LISTENER)) {
		idmefv2__set_error(errstr, errstr_size, "no URL, no result pointer or an unknown role");
		return IDMEFV2_ERR_INVALID_ARG;
	}
	err = idmefv2__url_parse(url, &parsed, errstr, errstr_size);
	if (err != IDMEFV2_OK)
		return err;
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strcmp(schemes[i].name, parsed.scheme) == 0)
			s = &schemes[i];
	if (!s) {
		idmefv2__set_error(errstr, errstr_size, "unknown URL scheme '%s' (known: http, https, kafka, file)",
		                   parsed.scheme);
		idmefv2__url_clear(&parsed);
		return IDMEFV2_ERR_URL;
	}
	backend = role == IDMEFV2_TRANSPORT_SENDER ? s->sender : s->listener;
	if (!backend) {
		idmefv2__set_error(errstr, errstr_size, "%s",
		                   role == IDMEFV2_TRANSPORT_SENDER ? s->sender_missing : s->listener_missing);
		idmefv2__url_clear(&parsed);
		return IDMEFV2_ERR_NOT_BUILT;
	}
	return transport_create(url, role, backend, &parsed, ret_t, errstr, errstr_size);
}

idmefv2_error idmefv2__transport_new_with_backend(const char *url, idmefv2_transport_role role,
                                                  const struct idmefv2__backend *backend,
                                                  idmefv2_transport **ret_t,
                                                  char *errstr, size_t errstr_size)
{
	struct idmefv2__url parsed;
	idmefv2_error err;

	if (!url || !backend || !ret_t) {
		idmefv2__set_error(errstr, errstr_size, "no URL, backend or result pointer");
		return IDMEFV2_ERR_INVALID_ARG;
	}
	err = idmefv2__url_parse(url, &parsed, errstr, errstr_size);
	if (err != IDMEFV2_OK)
		return err;
	return transport_create(url, role, backend, &parsed, ret_t, errstr, errstr_size);
}

IDMEFV2_EXPORT void idmefv2_transport_set_delivery_cb(idmefv2_transport *t, idmefv2_delivery_cb cb,
                                                      void *user_data)
{
	if (!t)
		return;
	t->delivery_cb = cb;
	t->delivery_ud = user_data;
}

IDMEFV2_EXPORT void idmefv2_transport_set_queue(idmefv2_transport *t, idmefv2_queue *q)
{
	if (!t)
		return;
	idmefv2_queue_ref(q);
	idmefv2_queue_unref(t->queue);
	t->queue = q;
}

IDMEFV2_EXPORT void idmefv2_transport_set_message_cb(idmefv2_transport *t, idmefv2_message_cb cb,
                                                     void *user_data)
{
	if (!t)
		return;
	t->message_cb = cb;
	t->message_ud = user_data;
}

IDMEFV2_EXPORT void idmefv2_transport_set_log_cb(idmefv2_transport *t, idmefv2_log_cb cb, void *user_data)
{
	if (!t)
		return;
	t->log_cb = cb;
	t->log_ud = user_data;
}

/* ---- SPOOLED reports --------------------------------------------------------------------- */

/* @item is now durably in the spool (lock held): its SPOOLED report becomes due. */
static void spooled_notify(idmefv2_transport *t, struct idmefv2__item *item)
{
	struct spooled_note *note = item_priv(item)->note;

	if (!note)
		return;
	item_priv(item)->note = NULL;
	note->next = NULL;
	if (t->notes_tail)
		t->notes_tail->next = note;
	else
		t->notes_head = note;
	t->notes_tail = note;
	pthread_cond_signal(&t->cond_notes);
}

/* Make every SPOOLED report due (cb_lock held, lock not held). */
static void notes_drain(idmefv2_transport *t)
{
	for (;;) {
		struct spooled_note *note;

		pthread_mutex_lock(&t->lock);
		note = t->notes_head;
		if (note) {
			t->notes_head = note->next;
			if (!t->notes_head)
				t->notes_tail = NULL;
		}
		pthread_mutex_unlock(&t->lock);
		if (!note)
			return;
		if (t->delivery_cb)
			t->delivery_cb(t, note->opaque, IDMEFV2_DELIVERY_SPOOLED, NULL, t->delivery_ud);
		free(note);
	}
}

/* The reporter thread: makes SPOOLED reports due from send() (which never calls back)
 * and from backends that spool without finishing anything. */
static void *reporter_main(void *arg)
{
	idmefv2_transport *t = arg;

	pthread_mutex_lock(&t->lock);
	for (;;) {
		if (t->notes_head) {
			pthread_mutex_unlock(&t->lock);
			pthread_mutex_lock(&t->cb_lock);
			notes_drain(t);
			pthread_mutex_unlock(&t->cb_lock);
			pthread_mutex_lock(&t->lock);
			continue;
		}
		if (t->reporter_stop)
			break;
		pthread_cond_wait(&t->cond_notes, &t->lock);
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

static idmefv2_error reporter_start(idmefv2_transport *t, char *errstr, size_t errstr_size)
{
	int rc;

	if (!t->report_spooled || t->role != IDMEFV2_TRANSPORT_SENDER)
		return IDMEFV2_OK;
	t->reporter_stop = false;
	rc = pthread_create(&t->reporter, NULL, reporter_main, t);
	if (rc != 0) {
		idmefv2__set_error(errstr, errstr_size, "cannot start a thread: %s", strerror(rc));
		return IDMEFV2_ERR_TRANSPORT;
	}
	t->reporter_started = true;
	return IDMEFV2_OK;
}

/* Stop the reporter once it has made every report due. */
static void reporter_stop(idmefv2_transport *t)
{
	if (!t->reporter_started)
		return;
	pthread_mutex_lock(&t->lock);
	t->reporter_stop = true;
	pthread_cond_signal(&t->cond_notes);
	pthread_mutex_unlock(&t->lock);
	pthread_join(t->reporter, NULL);
	t->reporter_started = false;
}

/* ---- the spool ----------------------------------------------------------------------------- */

static void free_list(struct idmefv2__item *list)
{
	while (list) {
		struct idmefv2__item *next = list->next;
		item_free(list);
		list = next;
	}
}

/* Load the items a previous run left in the spool as spool-only items. */
static idmefv2_error spool_load(idmefv2_transport *t, const char *dir, char *errstr, size_t errstr_size)
{
	struct idmefv2__spool_entry *entries = NULL;
	size_t count = 0;
	idmefv2_error err;

	err = idmefv2__spool_open(dir, &t->spool, errstr, errstr_size);
	if (err != IDMEFV2_OK)
		return err;
	err = idmefv2__spool_scan(t->spool, &entries, &count, errstr, errstr_size);
	if (err != IDMEFV2_OK)
		return err;
	for (size_t i = 0; i < count; i++) {
		struct item_priv *p = calloc(1, sizeof(*p));
		if (!p) {
			free(entries);
			idmefv2__set_error(errstr, errstr_size, "out of memory");
			return IDMEFV2_ERR_NOMEM;
		}
		p->item.seq = entries[i].seq;
		p->spool_size = entries[i].size;
		list_append(&t->spool_head, &t->spool_tail, &p->item);
		t->spool_count++;
		t->spool_bytes += entries[i].size;
		t->pending++;
	}
	if (count > 0) {
		/* Numbers keep growing across runs so that new items sort after the replayed ones. */
		t->next_seq = entries[count - 1].seq + 1;
		idmefv2__log(t, IDMEFV2_LOG_INFO, "spool %s: replaying %zu messages (%" PRIu64 " bytes)", dir, count,
		             t->spool_bytes);
	}
	free(entries);
	return IDMEFV2_OK;
}

/* Move spool-only items into memory while there is room (lock held). Items whose file
 * cannot be read are moved to @failed for the caller to finish outside the lock. */
static void spool_refill(idmefv2_transport *t, struct idmefv2__item **failed)
{
	while (t->spool_head && t->mem_count < t->capacity) {
		struct idmefv2__item *item = t->spool_head;
		char errbuf[256];
		char *path = NULL;
		idmefv2_error err;

		t->spool_head = item->next;
		if (!t->spool_head)
			t->spool_tail = NULL;
		t->spool_count--;
		item->next = NULL;

		item_drop_payload(item);
		err = idmefv2__spool_read(t->spool, item->seq, &path, &item->content_type, &item->data, &item->len,
		                          errbuf, sizeof(errbuf));
		if (err != IDMEFV2_OK) {
			idmefv2__log(t, IDMEFV2_LOG_ERROR, "%s; kept aside as .corrupt", errbuf);
			idmefv2__spool_quarantine(t->spool, item->seq);
			t->spool_bytes -= item_priv(item)->spool_size;
			free(item->spool_path);
			item->spool_path = NULL;
			item->next = *failed;
			*failed = item;
			continue;
		}
		free(item->spool_path);
		item->spool_path = path;
		list_append(&t->mem_head, &t->mem_tail, item);
		t->mem_count++;
	}
}

/* ---- sending --------------------------------------------------------------------------------- */

static idmefv2_error enqueue(idmefv2_transport *t, struct idmefv2__item *item, char *errstr, size_t errstr_size)
{
	struct timespec deadline = idmefv2__deadline_after(t->queue_timeout_ms);
	idmefv2_error err = IDMEFV2_OK;
	uint64_t size;

	if (t->report_spooled) {
		struct spooled_note *note = malloc(sizeof(*note));
		if (!note) {
			item_free(item);
			idmefv2__set_error(errstr, errstr_size, "out of memory");
			return IDMEFV2_ERR_NOMEM;
		}
		note->next = NULL;
		note->opaque = item->opaque;
		item_priv(item)->note = note;
	}
	pthread_mutex_lock(&t->lock);
	if (atomic_load(&t->state) != STATE_STARTED) {
		idmefv2__set_error(errstr, errstr_size, "transport not started or stopping");
		err = IDMEFV2_ERR_STATE;
		goto out;
	}
	/* Once the quota is reached, refuse even what memory could take: anything accepted
	 * may have to be spooled later, and accepted messages are never dropped. */
	size = idmefv2__spool_item_size(item->content_type, item->len);
	if (t->spool && t->spool_bytes + size > t->spool_max) {
		idmefv2__set_error(errstr, errstr_size,
		                   "spool full: %" PRIu64 " of %" PRIu64 " bytes used (spool.max_bytes)",
		                   t->spool_bytes, t->spool_max);
		idmefv2__log(t, IDMEFV2_LOG_WARNING, "message refused: spool full: %" PRIu64 " of %" PRIu64
		             " bytes used (spool.max_bytes)", t->spool_bytes, t->spool_max);
		err = IDMEFV2_ERR_FULL;
		goto out;
	}
	if (t->spool && (t->peer_down || t->spool_count > 0 || t->mem_count >= t->capacity)) {
		err = idmefv2__spool_write(t->spool, t->next_seq, item->content_type, item->data, item->len,
		                           &item->spool_path, &item_priv(item)->spool_size, errstr, errstr_size);
		if (err != IDMEFV2_OK) {
			idmefv2__log(t, IDMEFV2_LOG_ERROR, "message refused: %s", errstr ? errstr : "spool write failed");
			goto out;
		}
		/* Only the file is needed until refill reads it back; the content type stays for the quota. */
		if (item->data < item_priv(item)->buf || item->data >= item_priv(item)->buf + item_priv(item)->buf_size)
			free(item->data);
		item->data = NULL;
		item->len = 0;
		item->seq = t->next_seq++;
		t->spool_bytes += item_priv(item)->spool_size;
		list_append(&t->spool_head, &t->spool_tail, item);
		t->spool_count++;
		COUNT(t, n_spooled, 1);
		spooled_notify(t, item);
	} else {
		while (t->mem_count >= t->capacity && atomic_load(&t->state) == STATE_STARTED) {
			if (!idmefv2__cond_wait_until(&t->cond_room, &t->lock, t->queue_timeout_ms, &deadline))
				break;
		}
		if (atomic_load(&t->state) != STATE_STARTED) {
			idmefv2__set_error(errstr, errstr_size, "transport stopping");
			err = IDMEFV2_ERR_STATE;
			goto out;
		}
		if (t->mem_count >= t->capacity) {
			idmefv2__set_error(errstr, errstr_size, "send queue full (%zu messages, queue.size)", t->capacity);
			err = IDMEFV2_ERR_FULL;
			goto out;
		}
		item->seq = t->next_seq++;
		list_append(&t->mem_head, &t->mem_tail, item);
		t->mem_count++;
	}
	t->pending++;
	COUNT(t, n_queued, 1);
	pthread_cond_signal(&t->cond_items);
	item = NULL;
out:
	pthread_mutex_unlock(&t->lock);
	if (item) {
		item_free(item);
		return err;
	}
	if (t->backend->wakeup)
		t->backend->wakeup(t);
	return IDMEFV2_OK;
}

static bool check_sender(idmefv2_transport *t, char *errstr, size_t errstr_size, idmefv2_error *ret_err)
{
	if (t->role != IDMEFV2_TRANSPORT_SENDER) {
		idmefv2__set_error(errstr, errstr_size, "not a sender");
		*ret_err = IDMEFV2_ERR_STATE;
		return false;
	}
	if (atomic_load(&t->state) != STATE_STARTED) {
		idmefv2__set_error(errstr, errstr_size, "transport not started or stopping");
		*ret_err = IDMEFV2_ERR_STATE;
		return false;
	}
	return true;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_transport_send(idmefv2_transport *t, idmefv2_message *msg,
                                                    void *opaque, char *errstr, size_t errstr_size)
{
	idmefv2_report *report = NULL;
	struct idmefv2__item *item;
	const char *data;
	size_t len;
	idmefv2_error err;

	if (!t || !msg) {
		idmefv2__set_error(errstr, errstr_size, "no transport or message");
		return IDMEFV2_ERR_INVALID_ARG;
	}
	if (!check_sender(t, errstr, errstr_size, &err))
		return err;
	err = idmefv2_message_serialize(msg, t->content_type, t->validate ? 0 : IDMEFV2_SERIALIZE_NO_VALIDATE,
	                                &data, &len, t->validate ? &report : NULL, errstr, errstr_size);
	if (err != IDMEFV2_OK) {
		if (err == IDMEFV2_ERR_INVALID && report && idmefv2_report_count(report) > 0)
			idmefv2__set_error(errstr, errstr_size, "invalid message: %s: %s",
			                   *idmefv2_report_instance_path(report, 0) ? idmefv2_report_instance_path(report, 0)
			                                                           : "(root)",
			                   idmefv2_report_message(report, 0));
		idmefv2_report_free(report);
		return err;
	}
	idmefv2_report_free(report);
	item = item_new(t->content_type, data, len, opaque);
	if (!item) {
		idmefv2__set_error(errstr, errstr_size, "out of memory");
		return IDMEFV2_ERR_NOMEM;
	}
	return enqueue(t, item, errstr, errstr_size);
}

IDMEFV2_EXPORT idmefv2_error idmefv2_transport_send_raw(idmefv2_transport *t, const char *content_type,
                                                        const void *data, size_t len, void *opaque,
                                                        char *errstr, size_t errstr_size)
{
	struct idmefv2__item *item;
	idmefv2_error err;

	if (!t || (!data && len > 0)) {
		idmefv2__set_error(errstr, errstr_size, "no transport or data");
		return IDMEFV2_ERR_INVALID_ARG;
	}
	if (!check_sender(t, errstr, errstr_size, &err))
		return err;
	if (!content_type)
		content_type = t->content_type;
	if (!*content_type || strpbrk(content_type, "\r\n")) {
		idmefv2__set_error(errstr, errstr_size, "invalid content type");
		return IDMEFV2_ERR_INVALID_ARG;
	}
	item = item_new(content_type, data, len, opaque);
	if (!item) {
		idmefv2__set_error(errstr, errstr_size, "out of memory");
		return IDMEFV2_ERR_NOMEM;
	}
	return enqueue(t, item, errstr, errstr_size);
}

/* ---- the backend's side of the send queue -------------------------------------------------- */

static void finish(idmefv2_transport *t, struct idmefv2__item *item, idmefv2_delivery_status status,
                   const char *detail, bool keep_in_spool);

struct idmefv2__item *idmefv2__transport_take(idmefv2_transport *t, size_t max, int timeout_ms)
{
	struct timespec deadline = idmefv2__deadline_after(timeout_ms);
	struct idmefv2__item *list = NULL;
	struct idmefv2__item **link = &list;
	struct idmefv2__item *failed = NULL;

	if (max == 0)
		return NULL;
	pthread_mutex_lock(&t->lock);
	while (!atomic_load(&t->stopping)) {
		if (t->spool)
			spool_refill(t, &failed);
		if (t->mem_head) {
			size_t n = 0;
			while (t->mem_head && n < max) {
				struct idmefv2__item *item = t->mem_head;
				t->mem_head = item->next;
				item->next = NULL;
				*link = item;
				link = &item->next;
				n++;
			}
			if (!t->mem_head)
				t->mem_tail = NULL;
			t->mem_count -= n;
			pthread_cond_broadcast(&t->cond_room);
			break;
		}
		if (failed)
			break;
		if (!idmefv2__cond_wait_until(&t->cond_items, &t->lock, timeout_ms, &deadline))
			break;
	}
	pthread_mutex_unlock(&t->lock);
	while (failed) {
		struct idmefv2__item *next = failed->next;
		finish(t, failed, IDMEFV2_DELIVERY_FAILED, "spool file unreadable", false);
		failed = next;
	}
	return list;
}

/* Write @item to the spool if it is not there yet (lock held). The quota is not
 * applied: the item was accepted already, and accepted items are never dropped. */
static bool spool_keep_why(idmefv2_transport *t, struct idmefv2__item *item, char *why, size_t why_size)
{
	char errbuf[256];

	if (item->spool_path)
		return true;
	if (idmefv2__spool_write(t->spool, item->seq, item->content_type, item->data, item->len, &item->spool_path,
	                         &item_priv(item)->spool_size, errbuf, sizeof(errbuf)) != IDMEFV2_OK) {
		idmefv2__log(t, IDMEFV2_LOG_ERROR, "%s", errbuf);
		if (why)
			snprintf(why, why_size, "%s", errbuf);
		return false;
	}
	t->spool_bytes += item_priv(item)->spool_size;
	COUNT(t, n_spooled, 1);
	spooled_notify(t, item);
	return true;
}

static bool spool_keep(idmefv2_transport *t, struct idmefv2__item *item)
{
	return spool_keep_why(t, item, NULL, 0);
}

void idmefv2__transport_return(idmefv2_transport *t, struct idmefv2__item *item)
{
	struct idmefv2__item **link;

	if (!item)
		return;
	pthread_mutex_lock(&t->lock);
	/* The peer is down: make sure the item, and all that waits behind it, survives a
	 * crash. New items go straight to the spool until the next success. */
	if (t->spool) {
		spool_keep(t, item);
		if (!t->peer_down) {
			t->peer_down = true;
			for (struct idmefv2__item *m = t->mem_head; m; m = m->next)
				spool_keep(t, m);
			idmefv2__log(t, IDMEFV2_LOG_INFO, "peer unavailable: spooling until the next delivery");
		}
	}
	/* Usually older than everything in memory, so this stops at the head. */
	for (link = &t->mem_head; *link && (*link)->seq < item->seq; link = &(*link)->next)
		;
	item->next = *link;
	*link = item;
	if (!item->next)
		t->mem_tail = item;
	t->mem_count++;
	pthread_cond_signal(&t->cond_items);
	pthread_mutex_unlock(&t->lock);
	COUNT(t, n_retried, 1);
}

/* The item's end in this transport. @keep_in_spool: stopped with the item safe in the
 * spool, to be delivered by the next start (the file stays). Such an item has no
 * outcome yet, so the delivery callback is not called: the transport that replays
 * the spool reports it (with a NULL opaque). */
static void finish(idmefv2_transport *t, struct idmefv2__item *item, idmefv2_delivery_status status,
                   const char *detail, bool keep_in_spool)
{
	if (item->spool_path && !keep_in_spool) {
		idmefv2__spool_remove(t->spool, item->spool_path);
		pthread_mutex_lock(&t->lock);
		t->spool_bytes -= item_priv(item)->spool_size;
		pthread_mutex_unlock(&t->lock);
	}
	if (!keep_in_spool) {
		if (status == IDMEFV2_DELIVERY_SENT) {
			COUNT(t, n_sent, 1);
		} else {
			COUNT(t, n_failed, 1);
			idmefv2__log(t, IDMEFV2_LOG_WARNING, "message %" PRIu64 " %s: %s", item->seq,
			             status == IDMEFV2_DELIVERY_REJECTED ? "rejected" : "failed",
			             detail ? detail : "no detail");
		}
	}
	if (t->report_spooled) {
		/* The item's own SPOOLED report, if due, comes before its final outcome. */
		pthread_mutex_lock(&t->cb_lock);
		notes_drain(t);
	}
	if (t->delivery_cb && !keep_in_spool)
		t->delivery_cb(t, item->opaque, status, detail, t->delivery_ud);
	if (t->report_spooled)
		pthread_mutex_unlock(&t->cb_lock);
	item_free(item);
	pthread_mutex_lock(&t->lock);
	if (status == IDMEFV2_DELIVERY_SENT && !keep_in_spool)
		t->peer_down = false;
	if (--t->pending == 0)
		pthread_cond_broadcast(&t->cond_done);
	pthread_mutex_unlock(&t->lock);
}

/*
 * Never nowhere: a message that ends undelivered is written to the dead-letter file
 * (unless its backend did already). Without one, or when it cannot be written, a
 * message given up (FAILED) while it is safe in the spool stays there for the next
 * start: it has no outcome in this run, like a message left in the spool at stop.
 */
void idmefv2__transport_done(idmefv2_transport *t, struct idmefv2__item *item,
                             idmefv2_delivery_status status, const char *detail)
{
	if (!item)
		return;
	if (status == IDMEFV2_DELIVERY_SENT) {
		finish(t, item, status, NULL, false);
		return;
	}
	if (!item_priv(item)->dead_lettered)
		idmefv2__transport_dead_letter(t, item, detail);
	if (!item_priv(item)->dead_lettered && status == IDMEFV2_DELIVERY_FAILED && !item->spool_path && t->spool) {
		/* Given up at its first attempt: never returned, so not on disk yet. */
		pthread_mutex_lock(&t->lock);
		spool_keep(t, item);
		pthread_mutex_unlock(&t->lock);
	}
	if (!item_priv(item)->dead_lettered && status == IDMEFV2_DELIVERY_FAILED && item->spool_path) {
		idmefv2__log(t, IDMEFV2_LOG_WARNING, "message %" PRIu64 " given up in this run (%s); "
		             "kept in the spool for the next start", item->seq, detail ? detail : "no detail");
		finish(t, item, status, detail, true);
		return;
	}
	finish(t, item, status, detail, false);
}

/* ---- dead letters -------------------------------------------------------------------------- */

static bool utf8_valid(const char *data, size_t len)
{
	const unsigned char *p = (const unsigned char *)data;

	for (size_t i = 0; i < len;) {
		size_t n = p[i] < 0x80 ? 1 : idmefv2__utf8_len(p + i, len - i);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

static char *base64_encode(const char *data, size_t len)
{
	static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = (const unsigned char *)data;
	char *out, *o;

	if (len > (SIZE_MAX - 1) / 4 * 3 - 3)
		return NULL;
	out = o = malloc((len + 2) / 3 * 4 + 1);
	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		*o++ = digits[v >> 18];
		*o++ = digits[(v >> 12) & 63];
		*o++ = i + 1 < len ? digits[(v >> 6) & 63] : '=';
		*o++ = i + 2 < len ? digits[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

/*
 * One NDJSON record per message, always valid UTF-8 JSON on one line:
 * - the message itself, when its bytes are one JSON value in valid UTF-8;
 * - else a JSON string of its bytes, when they are valid UTF-8;
 * - else {"content_type": "...", "data_base64": "..."} (RFC 4648 base64 of the bytes).
 */
static struct json_object *dead_letter_record(const struct idmefv2__item *item)
{
	const char *data = item->data ? item->data : "";
	size_t len = item->data ? item->len : 0;
	struct json_tokener *tok;
	struct json_object *obj = NULL;
	char *b64;

	if (!utf8_valid(data, len)) {
		b64 = base64_encode(data, len);
		obj = b64 ? json_object_new_object() : NULL;
		if (obj && (json_object_object_add(obj, "content_type",
		                                   json_object_new_string(item->content_type ? item->content_type : "")) ||
		            json_object_object_add(obj, "data_base64", json_object_new_string(b64)))) {
			json_object_put(obj);
			obj = NULL;
		}
		free(b64);
		return obj;
	}
	tok = json_tokener_new();
	if (tok && len <= INT32_MAX) {
		obj = json_tokener_parse_ex(tok, data, (int)len);
		if (json_tokener_get_error(tok) != json_tokener_success || tok->char_offset != (int)len) {
			json_object_put(obj);
			obj = NULL;
		}
	}
	json_tokener_free(tok);
	if (!obj && len <= INT32_MAX)
		obj = json_object_new_string_len(data, (int)len);
	return obj;
}

static char *dead_letter_line(const struct idmefv2__item *item, size_t *ret_len)
{
	struct json_object *obj = dead_letter_record(item);
	const char *text;
	size_t len;
	char *line;

	if (!obj)
		return NULL;
	text = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	len = strlen(text);
	line = malloc(len + 2);
	if (line) {
		memcpy(line, text, len);
		line[len] = '\n';
		line[len + 1] = '\0';
		*ret_len = len + 1;
	}
	json_object_put(obj);
	return line;
}

void idmefv2__transport_dead_letter(idmefv2_transport *t, struct idmefv2__item *item, const char *reason)
{
	const char *path = idmefv2__opt_str(t, "dead_letter");
	size_t len = 0;
	char *line;
	int fd;
	bool ok;

	if (!path || !*path || !item || item_priv(item)->dead_lettered)
		return;
	line = dead_letter_line(item, &len);
	if (!line) {
		idmefv2__log(t, IDMEFV2_LOG_ERROR, "dead letter %s: out of memory", path);
		return;
	}
	pthread_mutex_lock(&t->dead_letter_lock);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	/* Durable before the message leaves the spool (done() removes it next). */
	ok = fd >= 0 && idmefv2__write_all(fd, line, len) && fsync(fd) == 0;
	if (!ok)
		idmefv2__log(t, IDMEFV2_LOG_ERROR, "dead letter %s: cannot append message %" PRIu64 ": %s", path,
		             item->seq, strerror(errno));
	else
		idmefv2__log(t, IDMEFV2_LOG_WARNING, "message %" PRIu64 " written to dead letter file %s: %s",
		             item->seq, path, reason ? reason : "rejected");
	if (fd >= 0)
		close(fd);
	pthread_mutex_unlock(&t->dead_letter_lock);
	item_priv(item)->dead_lettered = ok;
	free(line);
}

/* ---- backoff ------------------------------------------------------------------------------- */

static uint64_t random_u64(void)
{
	static _Thread_local uint64_t state;

	if (state == 0) {
		if (getrandom(&state, sizeof(state), GRND_NONBLOCK) != (ssize_t)sizeof(state) || state == 0)
			state = (uint64_t)idmefv2__now_ms() ^ (uint64_t)(uintptr_t)&state ^ UINT64_C(0x9e3779b97f4a7c15);
	}
	/* xorshift64*: plenty for spreading retries. */
	state ^= state >> 12;
	state ^= state << 25;
	state ^= state >> 27;
	return state * UINT64_C(2685821657736338717);
}

int64_t idmefv2__backoff_ms(const idmefv2_transport *t, unsigned attempt)
{
	int64_t base = idmefv2__opt_int(t, "retry.backoff_ms");
	int64_t cap = idmefv2__opt_int(t, "retry.backoff_max_ms");
	int64_t ceiling = base;

	if (base < 1)
		base = ceiling = 1;
	if (cap < base)
		cap = base;
	for (unsigned i = 1; i < attempt && ceiling < cap; i++)
		ceiling *= 2;
	if (ceiling > cap)
		ceiling = cap;
	/* Full jitter: senders that failed together do not retry together. */
	return (int64_t)(random_u64() % ((uint64_t)ceiling + 1));
}

/* ---- listener side --------------------------------------------------------------------------- */

idmefv2_error idmefv2__transport_deliver(idmefv2_transport *t, idmefv2_message *const *msgs, size_t n,
                                         int timeout_ms, idmefv2_queue_ack_cb ack, void *ack_ctx)
{
	idmefv2_error err;

	if (!t || (n > 0 && !msgs))
		return IDMEFV2_ERR_INVALID_ARG;
	if (t->message_cb) {
		for (size_t i = 0; i < n; i++) {
			err = t->message_cb(t, msgs[i], t->message_ud);
			if (err != IDMEFV2_OK)
				return err;
			COUNT(t, n_received, 1);
			/* A callback's return is its acknowledgement. */
			if (ack)
				ack(msgs[i], ack_ctx, true);
		}
		return IDMEFV2_OK;
	}
	if (!t->queue)
		return IDMEFV2_ERR_STATE;
	err = idmefv2_queue_put_all(t->queue, msgs, n, timeout_ms, ack, ack_ctx);
	if (err == IDMEFV2_OK)
		COUNT(t, n_received, n);
	return err;
}

/* ---- life cycle ------------------------------------------------------------------------------ */

IDMEFV2_EXPORT idmefv2_error idmefv2_transport_start(idmefv2_transport *t, char *errstr, size_t errstr_size)
{
	const char *spool_dir;
	idmefv2_error err;

	if (!t) {
		idmefv2__set_error(errstr, errstr_size, "no transport");
		return IDMEFV2_ERR_INVALID_ARG;
	}
	if (atomic_load(&t->state) != STATE_NEW) {
		idmefv2__set_error(errstr, errstr_size, "transport already started");
		return IDMEFV2_ERR_STATE;
	}
	if (t->role == IDMEFV2_TRANSPORT_LISTENER && !t->queue && !t->message_cb) {
		idmefv2__set_error(errstr, errstr_size,
		                   "a listener needs a queue (idmefv2_transport_set_queue) or a message callback");
		return IDMEFV2_ERR_STATE;
	}
	err = secrets_resolve(t, errstr, errstr_size);
	if (err != IDMEFV2_OK)
		return err;
	t->content_type = idmefv2__opt_str(t, "content_type");
	t->validate = idmefv2__opt_bool(t, "validate");
	t->capacity = (size_t)idmefv2__opt_int(t, "queue.size");
	t->queue_timeout_ms = (int)idmefv2__opt_int(t, "queue.timeout_ms");
	t->spool_max = (uint64_t)idmefv2__opt_int(t, "spool.max_bytes");
	t->report_spooled = t->role == IDMEFV2_TRANSPORT_SENDER && idmefv2__opt_bool(t, "delivery.report_spooled");

	spool_dir = idmefv2__opt_str(t, "spool.dir");
	if (t->role == IDMEFV2_TRANSPORT_SENDER && spool_dir && *spool_dir) {
		err = spool_load(t, spool_dir, errstr, errstr_size);
		if (err != IDMEFV2_OK)
			goto fail;
	}
	err = reporter_start(t, errstr, errstr_size);
	if (err != IDMEFV2_OK)
		goto fail;
	if (t->backend->start) {
		err = t->backend->start(t, errstr, errstr_size);
		if (err != IDMEFV2_OK)
			goto fail;
	}
	pthread_mutex_lock(&t->lock);
	atomic_store(&t->state, STATE_STARTED);
	pthread_mutex_unlock(&t->lock);
	if (t->spool_count > 0 && t->backend->wakeup)
		t->backend->wakeup(t);
	return IDMEFV2_OK;
fail:
	reporter_stop(t);
	free_list(t->spool_head);
	t->spool_head = t->spool_tail = NULL;
	t->spool_count = 0;
	t->spool_bytes = 0;
	t->pending = 0;
	idmefv2__spool_close(t->spool);
	t->spool = NULL;
	return err;
}

IDMEFV2_EXPORT unsigned idmefv2_transport_get_port(const idmefv2_transport *t)
{
	if (!t || !t->backend->get_port)
		return 0;
	return t->backend->get_port(t);
}

IDMEFV2_EXPORT idmefv2_error idmefv2_transport_flush(idmefv2_transport *t, int timeout_ms)
{
	struct timespec deadline = idmefv2__deadline_after(timeout_ms);
	idmefv2_error err = IDMEFV2_OK;

	if (!t)
		return IDMEFV2_ERR_INVALID_ARG;
	pthread_mutex_lock(&t->lock);
	while (t->pending > 0) {
		if (!idmefv2__cond_wait_until(&t->cond_done, &t->lock, timeout_ms, &deadline)) {
			if (t->pending > 0)
				err = IDMEFV2_ERR_TIMEOUT;
			break;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return err;
}

/* After the backend stopped: every item still held is spooled (kept for the next
 * start) or, without a spool, failed. */
static void drain_after_stop(idmefv2_transport *t)
{
	struct idmefv2__item *mem;
	struct idmefv2__item *spooled;
	size_t kept = 0;
	size_t failed = 0;

	pthread_mutex_lock(&t->lock);
	mem = t->mem_head;
	spooled = t->spool_head;
	t->mem_head = t->mem_tail = t->spool_head = t->spool_tail = NULL;
	t->mem_count = t->spool_count = 0;
	pthread_mutex_unlock(&t->lock);

	while (mem) {
		struct idmefv2__item *next = mem->next;
		char why[400] = "not delivered before stop";
		bool safe = false;
		if (t->spool) {
			char errbuf[300] = "";
			pthread_mutex_lock(&t->lock);
			safe = spool_keep_why(t, mem, errbuf, sizeof(errbuf));
			pthread_mutex_unlock(&t->lock);
			snprintf(why, sizeof(why), "not delivered before stop, and %s", errbuf);
		}
		if (safe) {
			finish(t, mem, IDMEFV2_DELIVERY_FAILED,
			       "not delivered before stop; kept in the spool for the next start", true);
			kept++;
		} else {
			idmefv2__transport_done(t, mem, IDMEFV2_DELIVERY_FAILED, why);
			failed++;
		}
		mem = next;
	}
	while (spooled) {
		struct idmefv2__item *next = spooled->next;
		finish(t, spooled, IDMEFV2_DELIVERY_FAILED,
		       "not delivered before stop; kept in the spool for the next start", true);
		kept++;
		spooled = next;
	}
	if (kept)
		idmefv2__log(t, IDMEFV2_LOG_INFO, "stop: %zu messages kept in the spool for the next start", kept);
	if (failed)
		idmefv2__log(t, IDMEFV2_LOG_WARNING, "stop: %zu messages not delivered", failed);
}

IDMEFV2_EXPORT idmefv2_error idmefv2_transport_stop(idmefv2_transport *t)
{
	if (!t)
		return IDMEFV2_ERR_INVALID_ARG;
	pthread_mutex_lock(&t->lock);
	if (atomic_load(&t->state) != STATE_STARTED) {
		pthread_mutex_unlock(&t->lock);
		return IDMEFV2_OK;
	}
	atomic_store(&t->state, STATE_FLUSHING);
	pthread_cond_broadcast(&t->cond_room);
	pthread_mutex_unlock(&t->lock);

	if (t->role == IDMEFV2_TRANSPORT_SENDER) {
		int timeout = (int)idmefv2__opt_int(t, "stop.flush_timeout_ms");
		if (idmefv2_transport_flush(t, timeout) != IDMEFV2_OK)
			idmefv2__log(t, IDMEFV2_LOG_WARNING, "stop: messages still undelivered after %d ms", timeout);
	}

	pthread_mutex_lock(&t->lock);
	atomic_store(&t->state, STATE_STOPPING);
	atomic_store(&t->stopping, true);
	pthread_cond_broadcast(&t->cond_items);
	pthread_cond_broadcast(&t->cond_room);
	pthread_mutex_unlock(&t->lock);

	if (t->backend->stop)
		t->backend->stop(t);

	if (t->role == IDMEFV2_TRANSPORT_SENDER) {
		drain_after_stop(t);
		reporter_stop(t);
	} else if (t->queue)
		idmefv2_queue_close(t->queue);

	pthread_mutex_lock(&t->lock);
	idmefv2__spool_close(t->spool);
	t->spool = NULL;
	atomic_store(&t->state, STATE_STOPPED);
	pthread_mutex_unlock(&t->lock);
	return IDMEFV2_OK;
}

IDMEFV2_EXPORT void idmefv2_transport_free(idmefv2_transport *t)
{
	if (!t)
		return;
	idmefv2_transport_stop(t);
	if (t->backend_created && t->backend->destroy)
		t->backend->destroy(t);
	free_list(t->mem_head);
	free_list(t->spool_head);
	idmefv2__spool_close(t->spool);
	idmefv2_queue_unref(t->queue);
	for (size_t i = 0; i < t->n_opts; i++) {
		free(t->opts[i].name);
		free(t->opts[i].value);
	}
	free(t->opts);
	idmefv2__url_clear(&t->url);
	pthread_cond_destroy(&t->cond_items);
	pthread_cond_destroy(&t->cond_room);
	pthread_cond_destroy(&t->cond_done);
	pthread_cond_destroy(&t->cond_notes);
	pthread_mutex_destroy(&t->lock);
	pthread_mutex_destroy(&t->dead_letter_lock);
	pthread_mutex_destroy(&t->cb_lock);
	free(t);
}

IDMEFV2_EXPORT void idmefv2_transport_get_counters(const idmefv2_transport *t,
                                                   idmefv2_transport_counters *ret_counters)
{
	idmefv2_transport *mt = (idmefv2_transport *)t;

	if (!t || !ret_counters)
		return;
	ret_counters->queued = atomic_load_explicit(&mt->n_queued, memory_order_relaxed);
	ret_counters->sent = atomic_load_explicit(&mt->n_sent, memory_order_relaxed);
	ret_counters->retried = atomic_load_explicit(&mt->n_retried, memory_order_relaxed);
	ret_counters->failed = atomic_load_explicit(&mt->n_failed, memory_order_relaxed);
	ret_counters->spooled = atomic_load_explicit(&mt->n_spooled, memory_order_relaxed);
	ret_counters->received = atomic_load_explicit(&mt->n_received, memory_order_relaxed);
	ret_counters->invalid = atomic_load_explicit(&mt->n_invalid, memory_order_relaxed);
}
