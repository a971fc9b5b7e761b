/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The client loop: connect, request, receive, decode, deliver, acknowledge,
 * persist the bookmark; on any failure wait with backoff, reconnect and
 * resume from the bookmark, dropping records already delivered.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <estreamer/client.h>
#include <estreamer/request.h>

#include "estreamer-private.h"
#include "tls-private.h"

#define MAX_EVENT_TYPES 32
#define MAX_SEEN 65536

enum opt_kind { O_STR, O_BOOL, O_INT, O_CUSTOM };

struct estreamer_client {
	char *host, *port, *pkcs12, *password, *cert, *key, *ca, *priority, *server_name, *start,
		*bookmark_file, *plugins_dir;
	int verify, verify_hostname, min_version;
	int connect_timeout_ms, read_timeout_ms, idle_timeout_ms;
	int reconnect, max_attempts, backoff_ms, backoff_max_ms, max_message_size, enrich;
	uint32_t flags;
	estreamer_event_type types[MAX_EVENT_TYPES];
	size_t ntypes;
	estreamer_service_length service_length;

	estreamer_record_cb record_cb;
	void *record_user;
	estreamer_log_cb log_cb;
	void *log_user;
	estreamer_flush_cb flush_cb;
	void *flush_user;

	int stop;
	int wake[2];
	estreamer_counters counters;
	uint32_t bookmark;
	int bookmark_saved;
	/* Hashes of the records delivered with archival timestamp == bookmark. */
	uint64_t *seen;
	size_t nseen;
	/* After a (re)connection, until a newer timestamp arrives, records may be repeats. */
	int resuming;

	estreamer_decoder *dec;
	estreamer_plugin_host *plugins;
	pthread_mutex_t plock; /* guards plugins against readers in other threads */
	struct estreamer__conn conn;
	uint8_t *buf;
	size_t bufsize;
	uint32_t batch_start_bookmark;
};

#define COUNT(c, field, n) __atomic_add_fetch(&(c)->counters.field, (n), __ATOMIC_RELAXED)

struct option {
	const char *name;
	enum opt_kind kind;
	size_t offset;
	const char *def;
	const char *desc;
};

#define OFF(f) offsetof(struct estreamer_client, f)

static const struct option options[] = {
	{ "host", O_STR, OFF(host), "", "eStreamer server (FMC) host name or address" },
	{ "port", O_STR, OFF(port), "8302", "eStreamer server port" },
	{ "tls.pkcs12", O_STR, OFF(pkcs12), "", "PKCS#12 file with the client certificate, key and CA" },
	{ "tls.password", O_STR, OFF(password), "", "password of the PKCS#12 file or PEM key" },
	{ "tls.password_file", O_CUSTOM, 0, "", "file whose first line is the password" },
	{ "tls.cert", O_STR, OFF(cert), "", "PEM client certificate (instead of tls.pkcs12)" },
	{ "tls.key", O_STR, OFF(key), "", "PEM client key (instead of tls.pkcs12)" },
	{ "tls.ca", O_STR, OFF(ca), "", "PEM CA file to verify the server (default: the PKCS#12 CA)" },
	{ "tls.verify", O_BOOL, OFF(verify), "true", "verify the server certificate" },
	{ "tls.verify_hostname", O_BOOL, OFF(verify_hostname), "true",
	  "match the server certificate's names (SAN, else CN) against tls.server_name or host" },
	{ "tls.server_name", O_STR, OFF(server_name), "",
	  "name the server certificate must have, when it is not host (an address or an alias)" },
	{ "tls.min_version", O_CUSTOM, 0, "1.2", "lowest TLS version: 1.0, 1.1, 1.2 or 1.3" },
	{ "tls.priority", O_STR, OFF(priority), "", "GnuTLS priority string (overrides tls.min_version)" },
	{ "connect.timeout_ms", O_INT, OFF(connect_timeout_ms), "10000", "TCP connect and TLS handshake timeout" },
	{ "read.timeout_ms", O_INT, OFF(read_timeout_ms), "10000",
	  "longest wait for the rest of a message once it has begun" },
	{ "idle.timeout_ms", O_INT, OFF(idle_timeout_ms), "0",
	  "reconnect after this long without any message (0: never)" },
	{ "start", O_CUSTOM, 0, "now", "where to start: oldest, now, bookmark or a UNIX time" },
	{ "flags", O_CUSTOM, 0, "0x48900061", "request flags: a number or flag names" },
	{ "event_types", O_CUSTOM, 0,
	  "INTRUSION_EVENTS:11,METADATA:4,CORRELATION:9,DISCOVERY:11,CONNECTION:17,USER:7,MALWARE:8,"
	  "FILE:7,IMPACT:2",
	  "extended request event types, NAME[:VERSION] (used when flag extended_request is set)" },
	{ "service_length", O_CUSTOM, 0, "inclusive",
	  "Streaming Request service length: inclusive (16+4N) or exclusive (8+4N)" },
	{ "bookmark.file", O_STR, OFF(bookmark_file), "", "file keeping the last archival timestamp" },
	{ "reconnect", O_BOOL, OFF(reconnect), "true", "reconnect after failures" },
	{ "reconnect.max_attempts", O_INT, OFF(max_attempts), "-1",
	  "consecutive failed attempts before giving up (-1: never)" },
	{ "reconnect.backoff_ms", O_INT, OFF(backoff_ms), "1000", "first wait before reconnecting" },
	{ "reconnect.backoff_max_ms", O_INT, OFF(backoff_max_ms), "60000", "longest wait before reconnecting" },
	{ "max_message_size", O_INT, OFF(max_message_size), "16777216", "largest message accepted" },
	{ "plugins.dir", O_STR, OFF(plugins_dir), "", "directory of plugins, followed while running" },
	{ "enrich", O_BOOL, OFF(enrich), "true", "add metadata names to events" },
};

#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

__attribute__((format(printf, 3, 4))) static void logf_(estreamer_client *c,
							 estreamer_log_level level, const char *fmt,
							 ...)
{
	char msg[1024];
	va_list ap;

	if (!c->log_cb)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->log_cb(c->log_user, level, msg);
}

estreamer_error estreamer_option_describe(size_t index, const char **ret_name,
					  const char **ret_default, const char **ret_description)
{
	if (index >= N_OPTIONS)
		return ESTREAMER_ERR_INVALID_ARG;
	if (ret_name)
		*ret_name = options[index].name;
	if (ret_default)
		*ret_default = options[index].def;
	if (ret_description)
		*ret_description = options[index].desc;
	return ESTREAMER_OK;
}

static int parse_bool(const char *v, int *ret)
{
	if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on") || !strcmp(v, "1"))
		*ret = 1;
	else if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcasecmp(v, "off") ||
		 !strcmp(v, "0"))
		*ret = 0;
	else
		return -1;
	return 0;
}

static int parse_int(const char *v, int *ret)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < INT_MIN || n > INT_MAX)
		return -1;
	*ret = (int)n;
	return 0;
}

static estreamer_error read_password_file(estreamer_client *c, const char *path, char *errstr,
					  size_t size)
{
	char line[1024];
	FILE *f = fopen(path, "r");
	char *copy;

	if (!f)
		return estreamer__fail(errstr, size, ESTREAMER_ERR_IO, "password file %s: %s", path,
				       strerror(errno));
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	copy = strdup(line);
	if (!copy)
		return ESTREAMER_ERR_NOMEM;
	free(c->password);
	c->password = copy;
	return ESTREAMER_OK;
}

static estreamer_error set_custom(estreamer_client *c, const char *key, const char *value,
				  char *errstr, size_t size)
{
	if (!strcmp(key, "tls.password_file"))
		return *value ? read_password_file(c, value, errstr, size) : ESTREAMER_OK;
	if (!strcmp(key, "tls.min_version")) {
		static const struct { const char *s; int v; } v[] = {
			{ "1.0", 10 }, { "1.1", 11 }, { "1.2", 12 }, { "1.3", 13 },
		};
		for (size_t i = 0; i < 4; i++) {
			if (!strcmp(value, v[i].s)) {
				c->min_version = v[i].v;
				return ESTREAMER_OK;
			}
		}
		return estreamer__fail(errstr, size, ESTREAMER_ERR_INVALID_ARG,
				       "tls.min_version: \"%s\" is not 1.0, 1.1, 1.2 or 1.3", value);
	}
	if (!strcmp(key, "flags")) {
		if (estreamer_flags_parse(value, &c->flags) != ESTREAMER_OK)
			return estreamer__fail(errstr, size, ESTREAMER_ERR_INVALID_ARG,
					       "flags: \"%s\" is neither a number nor flag names",
					       value);
		return ESTREAMER_OK;
	}
	if (!strcmp(key, "event_types")) {
		if (estreamer_event_types_parse(value, c->types, MAX_EVENT_TYPES, &c->ntypes) !=
		    ESTREAMER_OK)
			return estreamer__fail(errstr, size, ESTREAMER_ERR_INVALID_ARG,
					       "event_types: \"%s\" has an unknown type or version",
					       value);
		return ESTREAMER_OK;
	}
	if (!strcmp(key, "start")) {
		char *end, *copy;
		unsigned long long v;

		errno = 0;
		v = strtoull(value, &end, 10);
		if (strcasecmp(value, "oldest") && strcasecmp(value, "now") &&
		    strcasecmp(value, "bookmark") &&
		    (errno || end == value || *end || v > 0xffffffffull))
			return estreamer__fail(errstr, size, ESTREAMER_ERR_INVALID_ARG,
					       "start: \"%s\" is not oldest, now, bookmark or a UNIX "
					       "time",
					       value);
		copy = strdup(value);
		if (!copy)
			return ESTREAMER_ERR_NOMEM;
		free(c->start);
		c->start = copy;
		return ESTREAMER_OK;
	}
	if (!strcmp(key, "service_length")) {
		if (!strcmp(value, "inclusive"))
			c->service_length = ESTREAMER_SERVICE_LENGTH_INCLUSIVE;
		else if (!strcmp(value, "exclusive"))
			c->service_length = ESTREAMER_SERVICE_LENGTH_EXCLUSIVE;
		else
			return estreamer__fail(errstr, size, ESTREAMER_ERR_INVALID_ARG,
					       "service_length: \"%s\" is not inclusive or exclusive",
					       value);
		return ESTREAMER_OK;
	}
	return ESTREAMER_ERR_UNKNOWN_OPTION;
}

estreamer_error estreamer_client_set(estreamer_client *c, const char *key, const char *value,
				     char *errstr, size_t size)
{
	const struct option *o = NULL;
	char *base;

	if (!c || !key || !value)
		return ESTREAMER_ERR_INVALID_ARG;
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (!strcmp(options[i].name, key))
			o = &options[i];
	if (!o)
		return estreamer__fail(errstr, size, ESTREAMER_ERR_UNKNOWN_OPTION,
				       "unknown option \"%s\"", key);
	base = (char *)c + o->offset;
	switch (o->kind) {
	case O_STR: {
		char *copy = strdup(value);

		if (!copy)
			return ESTREAMER_ERR_NOMEM;
		free(*(char **)base);
		*(char **)base = copy;
		return ESTREAMER_OK;
	}
	case O_BOOL:
		if (parse_bool(value, (int *)base) != 0)
			return estreamer__fail(errstr, size, ESTREAMER_ERR_INVALID_ARG,
					       "%s: \"%s\" is not a boolean", key, value);
		return ESTREAMER_OK;
	case O_INT:
		if (parse_int(value, (int *)base) != 0)
			return estreamer__fail(errstr, size, ESTREAMER_ERR_INVALID_ARG,
					       "%s: \"%s\" is not an integer", key, value);
		return ESTREAMER_OK;
	default:
		return set_custom(c, key, value, errstr, size);
	}
}

void estreamer_client_free(estreamer_client *c)
{
	if (!c)
		return;
	if (c->password)
		memset(c->password, 0, strlen(c->password));
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (options[i].kind == O_STR)
			free(*(char **)((char *)c + options[i].offset));
	free(c->start);
	close(c->wake[0]);
	close(c->wake[1]);
	free(c->seen);
	free(c->buf);
	estreamer_decoder_free(c->dec);
	pthread_mutex_destroy(&c->plock);
	free(c);
}

estreamer_client *estreamer_client_new(void)
{
	estreamer_client *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->wake[0] = c->wake[1] = -1;
	c->conn.fd = -1;
	pthread_mutex_init(&c->plock, NULL);
	if (pipe2(c->wake, O_NONBLOCK | O_CLOEXEC) != 0)
		goto fail;
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (estreamer_client_set(c, options[i].name, options[i].def, NULL, 0) != ESTREAMER_OK)
			goto fail;
	/* The password was set with the O_STR loop; keep the field owned once. */
	return c;
fail:
	estreamer_client_free(c);
	return NULL;
}

void estreamer_client_set_record_callback(estreamer_client *c, estreamer_record_cb cb, void *user)
{
	if (!c)
		return;
	c->record_cb = cb;
	c->record_user = user;
}

void estreamer_client_set_flush_callback(estreamer_client *c, estreamer_flush_cb cb, void *user)
{
	if (!c)
		return;
	c->flush_cb = cb;
	c->flush_user = user;
}

void estreamer_client_set_log_callback(estreamer_client *c, estreamer_log_cb cb, void *user)
{
	if (!c)
		return;
	c->log_cb = cb;
	c->log_user = user;
}

void estreamer_client_stop(estreamer_client *c)
{
	char b = 1;

	if (!c)
		return;
	__atomic_store_n(&c->stop, 1, __ATOMIC_SEQ_CST);
	if (write(c->wake[1], &b, 1) < 0) {
		/* The pipe being full already wakes the loop. */
	}
}

void estreamer_client_get_counters(estreamer_client *c, estreamer_counters *ret)
{
	uint64_t *dst = (uint64_t *)ret, *src;

	if (!c || !ret)
		return;
	src = (uint64_t *)&c->counters;
	for (size_t i = 0; i < sizeof(*ret) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
	pthread_mutex_lock(&c->plock);
	if (c->plugins) {
		uint64_t loads, unloads, errors;

		estreamer__plugin_host_stats(c->plugins, &loads, &unloads, &errors);
		ret->plugin_loads += loads;
		ret->plugin_unloads += unloads;
		ret->plugin_errors += errors;
	}
	pthread_mutex_unlock(&c->plock);
}

uint32_t estreamer_client_get_bookmark(estreamer_client *c)
{
	return c ? __atomic_load_n(&c->bookmark, __ATOMIC_RELAXED) : 0;
}

size_t estreamer_client_plugin_count(estreamer_client *c)
{
	size_t n;

	if (!c)
		return 0;
	pthread_mutex_lock(&c->plock);
	n = estreamer__plugin_host_count(c->plugins);
	pthread_mutex_unlock(&c->plock);
	return n;
}

/* ---------------- bookmark ---------------- */

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static int seen_has(estreamer_client *c, uint64_t h)
{
	for (size_t i = 0; i < c->nseen; i++)
		if (c->seen[i] == h)
			return 1;
	return 0;
}

static void seen_add(estreamer_client *c, uint64_t h)
{
	if (!c->seen) {
		c->seen = malloc(MAX_SEEN * sizeof(*c->seen));
		if (!c->seen)
			return;
	}
	if (c->nseen < MAX_SEEN)
		c->seen[c->nseen++] = h;
}

/* Bookmark file: the timestamp, then the hashes of the records delivered at it, one a line. */
static void bookmark_load(estreamer_client *c)
{
	FILE *f;
	char line[64];
	unsigned long ts;

	if (!*c->bookmark_file)
		return;
	f = fopen(c->bookmark_file, "r");
	if (!f)
		return;
	if (fgets(line, sizeof(line), f) && sscanf(line, "%lu", &ts) == 1 && ts <= 0xffffffffu) {
		c->bookmark = (uint32_t)ts;
		c->nseen = 0;
		while (fgets(line, sizeof(line), f)) {
			unsigned long long h;

			if (sscanf(line, "%llx", &h) == 1)
				seen_add(c, h);
		}
		logf_(c, ESTREAMER_LOG_INFO, "bookmark %u loaded from %s", c->bookmark,
		      c->bookmark_file);
	}
	fclose(f);
}

/*
 * Saves the bookmark once the application has made the records before it
 * durable (flush callback); returns -1 when it could not, and the bookmark
 * file keeps its older position.
 */
static int bookmark_save(estreamer_client *c)
{
	char tmp[4096];
	FILE *f;
	int ok;

	if (!*c->bookmark_file || !c->bookmark)
		return 0;
	if (c->flush_cb && c->flush_cb(c->flush_user) != 0) {
		logf_(c, ESTREAMER_LOG_ERROR,
		      "the outputs could not be flushed: bookmark %u not saved to %s", c->bookmark,
		      c->bookmark_file);
		return -1;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", c->bookmark_file) >= sizeof(tmp))
		return 0;
	f = fopen(tmp, "w");
	if (!f) {
		logf_(c, ESTREAMER_LOG_ERROR, "bookmark %s: %s", tmp, strerror(errno));
		return 0;
	}
	ok = fprintf(f, "%u\n", c->bookmark) > 0;
	for (size_t i = 0; ok && i < c->nseen; i++)
		ok = fprintf(f, "%016llx\n", (unsigned long long)c->seen[i]) > 0;
	ok = (fflush(f) == 0) && ok;
	ok = (fsync(fileno(f)) == 0) && ok;
	ok = (fclose(f) == 0) && ok;
	/* rename() replaces atomically: a crash leaves the old or the new bookmark. */
	if (!ok || rename(tmp, c->bookmark_file) != 0) {
		logf_(c, ESTREAMER_LOG_ERROR, "bookmark %s: not saved", c->bookmark_file);
		unlink(tmp);
	}
	return 0;
}

/* ---------------- delivery ---------------- */

/*
 * The bookmark moves only past records that were delivered: the record
 * callback accepted them (a callback that stops the client has not taken its
 * record) and every plugin was handed them.
 */
static int on_record(void *user, const estreamer_record *rec)
{
	estreamer_client *c = user;
	int archived = rec->has_archival && rec->archival_timestamp != 0;
	uint32_t ts = rec->archival_timestamp;
	uint64_t h = archived ? fnv1a(rec->raw, rec->raw_len) : 0;

	if (archived && c->resuming && ts == c->bookmark && seen_has(c, h)) {
		COUNT(c, duplicates, 1);
		return 0;
	}
	if (c->record_cb) {
		int stop = c->record_cb(c->record_user, rec);

		if (stop)
			return stop;
	}
	if (c->plugins)
		COUNT(c, plugin_errors, estreamer__plugin_host_dispatch(c->plugins, rec));
	COUNT(c, records, 1);
	if (!estreamer_record_type_name(rec->type))
		COUNT(c, unknown_records, 1);
	if (archived) {
		if (ts > c->bookmark) {
			__atomic_store_n(&c->bookmark, ts, __ATOMIC_RELAXED);
			c->nseen = 0;
			c->resuming = 0;
		}
		if (ts == c->bookmark)
			seen_add(c, h);
	}
	return 0;
}

static void on_plugins_changed(void *user)
{
	estreamer__plugin_host_poll(((estreamer_client *)user)->plugins);
}

static estreamer_error read_message(estreamer_client *c, estreamer_header *h, int first_timeout,
				    char *errstr, size_t size)
{
	uint8_t hdr[8];
	estreamer_error err;
	int pfd = estreamer__plugin_host_fd(c->plugins);

	err = estreamer__tls_read(&c->conn, hdr, 8, first_timeout, c->read_timeout_ms, c->wake[0],
				  pfd, on_plugins_changed, c, errstr, size);
	if (err)
		return err;
	if (estreamer_header_parse(hdr, 8, h) != ESTREAMER_OK)
		return estreamer__fail(errstr, size, ESTREAMER_ERR_MALFORMED,
				       "message header version %u, not 1", estreamer__be16(hdr));
	if (h->length > (uint32_t)c->max_message_size)
		return estreamer__fail(errstr, size, ESTREAMER_ERR_MALFORMED,
				       "message type %u of %u bytes exceeds max_message_size %d",
				       h->type, h->length, c->max_message_size);
	if (c->bufsize < 8 + (size_t)h->length) {
		uint8_t *nb = realloc(c->buf, 8 + (size_t)h->length);

		if (!nb)
			return ESTREAMER_ERR_NOMEM;
		c->buf = nb;
		c->bufsize = 8 + (size_t)h->length;
	}
	memcpy(c->buf, hdr, 8);
	err = estreamer__tls_read(&c->conn, c->buf + 8, h->length, c->read_timeout_ms,
				  c->read_timeout_ms, c->wake[0], pfd, on_plugins_changed, c, errstr,
				  size);
	if (err == ESTREAMER_ERR_CLOSED)
		return estreamer__fail(errstr, size, ESTREAMER_ERR_TRUNCATED,
				       "connection closed inside a message of type %u (%u bytes)",
				       h->type, h->length);
	if (!err)
		COUNT(c, messages, 1);
	return err;
}

/*
 * An Error message in reply to the request, before any data: the server
 * refuses what this client asks for, and would refuse it again.
 */
static estreamer_error request_refused(estreamer_client *c, const estreamer_header *h, char *errstr,
				       size_t size)
{
	char text[512] = "";
	estreamer_error err;

	COUNT(c, server_errors, 1);
	err = estreamer_decoder_message(c->dec, c->buf, 8 + (size_t)h->length, NULL, NULL, text,
					sizeof(text));
	if (err != ESTREAMER_ERR_SERVER)
		return estreamer__fail(errstr, size, err, "%s", text);
	return estreamer__fail(errstr, size, ESTREAMER_ERR_REFUSED,
			       "the server refused the request: %s", text);
}

static estreamer_error send_null(estreamer_client *c, char *errstr, size_t size)
{
	uint8_t null[8];

	estreamer_request_null(null);
	return estreamer__tls_write(&c->conn, null, 8, c->read_timeout_ms, c->wake[0], errstr,
				    size);
}

static uint32_t start_timestamp(estreamer_client *c)
{
	if (c->bookmark)
		return c->bookmark;
	if (!strcasecmp(c->start, "oldest"))
		return ESTREAMER_START_OLDEST;
	if (!strcasecmp(c->start, "now") || !strcasecmp(c->start, "bookmark"))
		return ESTREAMER_START_NOW;
	return (uint32_t)strtoul(c->start, NULL, 10);
}

static estreamer_error send_requests(estreamer_client *c, int *delivered, char *errstr,
				     size_t size)
{
	uint8_t req[ESTREAMER_EVENT_STREAM_REQUEST_SIZE];
	uint8_t sreq[24 + 4 * (MAX_EVENT_TYPES + 1)];
	uint32_t ts = start_timestamp(c);
	estreamer_header h;
	estreamer_error err;
	size_t n;

	estreamer_request_event_stream(ts, c->flags, req);
	logf_(c, ESTREAMER_LOG_INFO, "requesting from %u with flags 0x%08x", ts, c->flags);
	err = estreamer__tls_write(&c->conn, req, sizeof(req), c->read_timeout_ms, c->wake[0],
				   errstr, size);
	if (err || !(c->flags & (1u << ESTREAMER_FLAG_BIT_EXTENDED)))
		return err;
	/* Extended mode: the server first advertises its services. */
	for (;;) {
		err = read_message(c, &h, c->connect_timeout_ms, errstr, size);
		if (err)
			return err;
		*delivered = 1;
		if (h.type == ESTREAMER_MSG_STREAMING_INFO)
			break;
		if (h.type == ESTREAMER_MSG_ERROR)
			return request_refused(c, &h, errstr, size);
		if (h.type != ESTREAMER_MSG_NULL)
			return estreamer__fail(errstr, size, ESTREAMER_ERR_PROTOCOL,
					       "expected Streaming Information, got message type %u",
					       h.type);
	}
	if (!estreamer_streaming_info_has_service(c->buf + 8, h.length, ESTREAMER_SERVICE_EVENTS))
		logf_(c, ESTREAMER_LOG_WARNING, "server does not advertise service %u; asking anyway",
		      ESTREAMER_SERVICE_EVENTS);
	err = estreamer_request_streaming(ts, c->flags, c->types, c->ntypes, c->service_length,
					  sreq, sizeof(sreq), &n);
	if (err)
		return err;
	return estreamer__tls_write(&c->conn, sreq, n, c->read_timeout_ms, c->wake[0], errstr,
				    size);
}

static estreamer_error session(estreamer_client *c, gnutls_certificate_credentials_t cred,
			       int *delivered, char *errstr, size_t size)
{
	struct estreamer__tls_config cfg = {
		c->host, c->port, c->pkcs12, c->password, c->cert, c->key, c->ca, c->priority,
		c->server_name, c->verify, c->verify_hostname, c->min_version, c->connect_timeout_ms,
	};
	estreamer_error err;
	estreamer_header h;
	int got_data = 0;

	err = estreamer__tls_open(&c->conn, &cfg, cred, c->wake[0], errstr, size);
	if (err)
		return err;
	COUNT(c, connections, 1);
	c->resuming = c->bookmark != 0;
	logf_(c, ESTREAMER_LOG_INFO, "connected to %s:%s (%s)", c->host, c->port,
	      gnutls_protocol_get_name(gnutls_protocol_get_version(c->conn.session)));
	err = send_requests(c, delivered, errstr, size);
	while (!err) {
		uint32_t before = c->bookmark;
		size_t seen_before = c->nseen;

		err = read_message(c, &h, c->idle_timeout_ms, errstr, size);
		if (err)
			break;
		*delivered = 1;
		switch (h.type) {
		case ESTREAMER_MSG_EVENT_DATA:
		case ESTREAMER_MSG_BUNDLE:
			if (h.type == ESTREAMER_MSG_BUNDLE)
				COUNT(c, bundles, 1);
			got_data = 1;
			err = estreamer_decoder_message(c->dec, c->buf, 8 + (size_t)h.length,
							on_record, c, errstr, size);
			if (err == ESTREAMER_ERR_ABORTED) {
				estreamer_client_stop(c);
				err = ESTREAMER__STOPPED;
			}
			if ((c->bookmark != before || c->nseen != seen_before) &&
			    bookmark_save(c) != 0) {
				/* Outputs failing: stop rather than acknowledge what may be lost. */
				estreamer_client_stop(c);
				err = ESTREAMER__STOPPED;
			}
			if (!err)
				err = send_null(c, errstr, size);
			break;
		case ESTREAMER_MSG_ERROR:
			if (!got_data) {
				err = request_refused(c, &h, errstr, size);
				break;
			}
			/* In the middle of a stream: the server's trouble, maybe passing. */
			COUNT(c, server_errors, 1);
			err = estreamer_decoder_message(c->dec, c->buf, 8 + (size_t)h.length, NULL,
							NULL, errstr, size);
			break;
		default:
			/* Null keepalives, repeated service lists and host data need no action. */
			break;
		}
	}
	estreamer__tls_close(&c->conn);
	return err;
}

static int sleep_interruptible(estreamer_client *c, int ms)
{
	struct pollfd p = { c->wake[0], POLLIN, 0 };

	return poll(&p, 1, ms) > 0;
}

estreamer_error estreamer_client_run(estreamer_client *c, char *errstr, size_t size)
{
	gnutls_certificate_credentials_t cred = NULL;
	struct estreamer__tls_config cfg;
	estreamer_plugin_host *host = NULL;
	estreamer_error err;
	int attempts = 0;
	char drain[64];

	if (!c)
		return ESTREAMER_ERR_INVALID_ARG;
	if (!*c->host)
		return estreamer__fail(errstr, size, ESTREAMER_ERR_INVALID_ARG,
				       "no server: set option host");
	cfg = (struct estreamer__tls_config){
		c->host, c->port, c->pkcs12, c->password, c->cert, c->key, c->ca, c->priority,
		c->server_name, c->verify, c->verify_hostname, c->min_version, c->connect_timeout_ms,
	};
	err = estreamer__tls_credentials(&cfg, &cred, errstr, size);
	if (err)
		return err;
	if (!c->dec && !(c->dec = estreamer_decoder_new())) {
		err = ESTREAMER_ERR_NOMEM;
		goto out;
	}
	estreamer_decoder_set_enrich(c->dec, c->enrich);
	if (*c->plugins_dir) {
		err = estreamer__plugin_host_new(c->plugins_dir, c->log_cb, c->log_user, &host,
						 errstr, size);
		if (err)
			goto out;
		pthread_mutex_lock(&c->plock);
		c->plugins = host;
		pthread_mutex_unlock(&c->plock);
	}
	if (!c->bookmark && !strcasecmp(c->start, "bookmark"))
		bookmark_load(c);
	while (!__atomic_load_n(&c->stop, __ATOMIC_SEQ_CST)) {
		int delivered = 0, delay;

		err = session(c, cred, &delivered, errstr, size);
		if (err == ESTREAMER__STOPPED || __atomic_load_n(&c->stop, __ATOMIC_SEQ_CST))
			break;
		COUNT(c, errors, 1);
		logf_(c, ESTREAMER_LOG_ERROR, "%s", errstr && size ? errstr : estreamer_strerror(err));
		/* Certificates, names and refusals do not heal: end now, even after good sessions. */
		if (estreamer_error_is_permanent(err)) {
			logf_(c, ESTREAMER_LOG_ERROR, "not reconnecting: %s is permanent",
			      estreamer_strerror(err));
			goto out;
		}
		attempts = delivered ? 1 : attempts + 1;
		if (!c->reconnect || (c->max_attempts >= 0 && attempts > c->max_attempts))
			goto out;
		delay = c->backoff_ms;
		for (int i = 1; i < attempts && delay < c->backoff_max_ms; i++)
			delay *= 2;
		if (delay > c->backoff_max_ms)
			delay = c->backoff_max_ms;
		logf_(c, ESTREAMER_LOG_INFO, "reconnecting in %d ms (attempt %d)", delay, attempts);
		if (sleep_interruptible(c, delay))
			break;
	}
	err = ESTREAMER_OK;
out:
	while (read(c->wake[0], drain, sizeof(drain)) > 0) {
	}
	__atomic_store_n(&c->stop, 0, __ATOMIC_SEQ_CST);
	if (host) {
		uint64_t loads, unloads, errors;

		pthread_mutex_lock(&c->plock);
		c->plugins = NULL;
		estreamer__plugin_host_free(host, &loads, &unloads, &errors);
		COUNT(c, plugin_loads, loads);
		COUNT(c, plugin_unloads, unloads);
		COUNT(c, plugin_errors, errors);
		pthread_mutex_unlock(&c->plock);
	}
	gnutls_certificate_free_credentials(cred);
	return err;
}
