/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP(S) listener (libmicrohttpd, GnuTLS), after
 * draft-lehmann-idmefv2-https-transport-05: one message per POST (or an
 * application/x-ndjson batch, all or nothing), 204 once the message is in the
 * queue, 4xx with a JSON body naming what is wrong, 503 with Retry-After when
 * the queue stays full.
 *
 * Requests are handled by a pool of libmicrohttpd epoll threads ("httpd.threads",
 * 4 by default) or by one thread per connection ("httpd.threads" 0). The pool
 * holds a thousand clients on two cores where a thread per connection spends
 * its time switching; idle and slow connections cost a pool nothing but a
 * socket. A watchdog closes connections that do not deliver a request in time
 * (slowloris), and "httpd.max_connections_per_ip" keeps one address from
 * taking every slot. Bodies may come gzip'ed (Content-Encoding: gzip).
 * The state below is read-only once started, so the handler needs no lock,
 * except the list of open connections that the watchdog scans.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <json-c/json.h>
#include <microhttpd.h>
#include <zlib.h>

#include "transport-private.h"
#include "idmefv2-common.h"

/* After an early answer the client is expected to stop sending; past this much
 * more, the connection is closed instead of read further. */
#define DRAIN_AFTER_REPLY (16u << 20)
/* Each connection's libmicrohttpd memory pool (headers, read buffer), which it
 * zeroes between requests: 16 KiB instead of its 32 KiB default halves that
 * cost and still holds large Authorization headers. */
#define CONNECTION_MEMORY (16 * 1024)
/* How often the watchdog looks for connections past their deadline. */
#define WATCHDOG_PERIOD_MS 200
/* "No deadline": the request is being processed. */
#define NO_DEADLINE INT64_MAX
/* Per-connection threads: parsing and validation need little stack (json-c
 * limits nesting to 32 levels); 1 MiB leaves a wide margin. */
#define CONNECTION_STACK_SIZE (1024 * 1024)
/* The longest a handler waits for queue room between checks for stop(). */
#define DELIVER_SLICE_MS 100
/* How long stop() lets requests under way finish, so that a message already queued gets its 204. */
#define STOP_GRACE_MS 2000
/* Entries of "errors" in a 400 body: enough to fix a message, bounded for huge batches. */
#define MAX_REPORTED_ERRORS 64
/* PEM files larger than this are not certificates or keys. */
#define MAX_PEM_BYTES (1u << 20)
#define REALM "idmefv2"

struct listen_state {
	idmefv2_transport *t;
	struct MHD_Daemon *daemon;
	struct MHD_Response *no_content; /* the shared 204 */
	atomic_bool stopping;
	bool pooled;                     /* started with a thread pool (MHD_OPTION_THREAD_POOL_SIZE) */
	atomic_uint active;              /* requests begun and not completed */
	unsigned port;
	bool tls;

	/* Options, read at start. */
	char *path;
	size_t path_len;      /* without a trailing '/' */
	bool any_path;
	size_t max_body;
	size_t max_decompressed;
	int64_t queue_timeout_ms;
	int64_t idle_timeout_ms, request_timeout_ms;
	char *username, *password, *bearer;
	char **allowed_peers; /* NULL-terminated, or NULL: any verified client */
	bool verify_clients;

	/* PEM text handed to libmicrohttpd, which keeps pointers to it. */
	char *cert_pem, *key_pem, *client_ca_pem;
	char *priorities;

	/* The last message libmicrohttpd logged, for start()'s errstr. */
	pthread_mutex_t log_lock;
	char last_log[256];

	/* Open connections, for the watchdog that closes those past their deadline. */
	pthread_mutex_t conns_lock;
	pthread_cond_t watchdog_wake;
	struct conn_ctx *conns;
	pthread_t watchdog;
	bool watchdog_running, watchdog_stop;
};

/* One request, from its headers to its completion. */
struct request {
	char *body;
	size_t len, cap;
	size_t discarded;    /* body bytes read and dropped after an error was decided */
	size_t received;     /* body bytes as sent (compressed, with gzip) */
	z_stream *gzip;      /* Content-Encoding: gzip: the inflater, until its stream ends */
	bool gzip_ended;
	bool batch;          /* application/x-ndjson */
	unsigned status;     /* an error decided before the body ended, or 0 */
	char *reply;         /* its JSON body */
	bool replied_early;  /* written on the connection ahead of libmicrohttpd: close it after */
};

/* Client-certificate verdict, once per TLS connection. */
struct peer_check {
	bool done;
	bool allowed;
	char why[200];
};

/*
 * What a connection keeps between its requests: the client-certificate
 * verdict, and the last request's body buffer. Reusing the buffer spares a
 * large malloc/free per request, whose free makes glibc consolidate its
 * fastbins (the many small chunks of json-c values) every time.
 */
struct conn_ctx {
	struct peer_check pc;
	char *buf;
	size_t cap;
	/* For the watchdog, under conns_lock (the deadline is also set without it). */
	struct conn_ctx *prev, *next;
	int fd;
	_Atomic int64_t deadline_ms; /* monotonic; NO_DEADLINE while a request is processed */
	bool cut;                    /* shut down by the watchdog */
};

/* A body buffer larger than this is not kept on an idle connection. */
#define KEEP_BUFFER_MAX (512 * 1024)

/* ---- small helpers ------------------------------------------------------------------------- */


static void free_strv(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

/* Split a comma-separated list into trimmed, non-empty names. */
static char **split_names(const char *list)
{
	size_t n = 1, i = 0;
	char **v;

	for (const char *s = list; *s; s++)
		n += *s == ',';
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		return NULL;
	while (*list) {
		const char *end = strchr(list, ',');
		size_t len = end ? (size_t)(end - list) : strlen(list);
		const char *s = list;

		while (len && (*s == ' ' || *s == '\t'))
			s++, len--;
		while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
			len--;
		if (len && !(v[i++] = strndup(s, len))) {
			free_strv(v);
			return NULL;
		}
		if (!end)
			break;
		list = end + 1;
	}
	return v;
}

/* Compares in time that depends on the expected length only. */
static bool secret_equal(const char *given, size_t given_len, const char *expected)
{
	size_t len = strlen(expected);
	unsigned char diff = given_len != len;

	for (size_t i = 0; i < len; i++)
		diff |= (unsigned char)expected[i] ^ (unsigned char)(i < given_len ? given[i] : 0);
	return diff == 0;
}

static int base64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decode @len characters of base64 into a new NUL-terminated string. */
static char *base64_decode(const char *s, size_t len, size_t *ret_len)
{
	char *out = malloc(len / 4 * 3 + 4);
	unsigned acc = 0, bits = 0;
	size_t n = 0, i;

	if (!out)
		return NULL;
	for (i = 0; i < len && s[i] != '='; i++) {
		int v = base64_value((unsigned char)s[i]);

		if (v < 0)
			goto fail;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (char)((acc >> bits) & 0xff);
		}
	}
	for (; i < len; i++)
		if (s[i] != '=')
			goto fail;
	out[n] = '\0';
	*ret_len = n;
	return out;
fail:
	free(out);
	return NULL;
}

/* Whether @value's media type (before any parameter) is @type. */
static bool media_type_is(const char *value, const char *type)
{
	size_t n = strlen(type);

	while (*value == ' ' || *value == '\t')
		value++;
	if (strncasecmp(value, type, n) != 0)
		return false;
	value += n;
	return *value == '\0' || *value == ';' || *value == ' ' || *value == '\t';
}

static const char *status_text(unsigned status)
{
	switch (status) {
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 503: return "Service Unavailable";
	default: return "Error";
	}
}

/* ---- replies ------------------------------------------------------------------------------ */

/* {"error": @error, "errors": @errors}; @errors (may be NULL) is consumed. */
static char *reply_body(const char *error, struct json_object *errors)
{
	struct json_object *obj = json_object_new_object();
	char *text = NULL;

	if (!obj) {
		json_object_put(errors);
		return NULL;
	}
	json_object_object_add(obj, "error", json_object_new_string(error));
	if (errors)
		json_object_object_add(obj, "errors", errors);
	text = strdup(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(obj);
	return text;
}

static char *reply_text(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *reply_text(const char *fmt, ...)
{
	char error[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(error, sizeof(error), fmt, ap);
	va_end(ap);
	return reply_body(error, NULL);
}

struct header {
	const char *name;
	const char *value;
};

/* The headers that go with @status besides Content-Type. */
static size_t reply_headers(struct listen_state *st, unsigned status, struct header *h)
{
	size_t n = 0;

	switch (status) {
	case 401:
		if (st->username)
			h[n++] = (struct header){ "WWW-Authenticate", "Basic realm=\"" REALM "\", charset=\"UTF-8\"" };
		if (st->bearer)
			h[n++] = (struct header){ "WWW-Authenticate", "Bearer realm=\"" REALM "\"" };
		break;
	case 405:
		h[n++] = (struct header){ "Allow", "POST" };
		break;
	case 415:
		/* RFC 9110 §15.5.16: the content codings that would have been accepted. */
		h[n++] = (struct header){ "Accept-Encoding", "gzip" };
		break;
	case 503:
		h[n++] = (struct header){ "Retry-After", "1" };
		if (atomic_load(&st->stopping))
			h[n++] = (struct header){ "Connection", "close" };
		break;
	default:
		break;
	}
	return n;
}

static enum MHD_Result queue_reply(struct listen_state *st, struct MHD_Connection *conn,
                                   unsigned status, const char *body)
{
	struct MHD_Response *resp;
	struct header h[4];
	enum MHD_Result ret;
	size_t n;

	if (status == 204)
		return MHD_queue_response(conn, 204, st->no_content);
	if (!body)
		body = "{\"error\":\"out of memory\"}";
	resp = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	n = reply_headers(st, status, h);
	for (size_t i = 0; i < n; i++)
		MHD_add_response_header(resp, h[i].name, h[i].value);
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/*
 * libmicrohttpd 0.9.75 only lets a response be queued before the body is read
 * or after all of it was. To refuse a body while it is still arriving (chunked
 * and too large, or an error found before a body sent without
 * "Expect: 100-continue"), the answer is written on the connection directly
 * with "Connection: close"; clients then stop sending, and the body is read
 * and dropped until they do, since closing with unread data would reset the
 * connection and lose the answer.
 */
static bool reply_early(struct listen_state *st, struct MHD_Connection *conn,
                        unsigned status, const char *body)
{
	const union MHD_ConnectionInfo *info;
	struct header h[4];
	char head[512];
	char *msg;
	size_t n, len, blen;
	int hlen;
	bool ok = false;

	if (!body)
		body = "{\"error\":\"out of memory\"}";
	blen = strlen(body);
	hlen = snprintf(head, sizeof(head),
	                "HTTP/1.1 %u %s\r\nConnection: close\r\nContent-Type: application/json\r\n"
	                "Content-Length: %zu\r\n", status, status_text(status), blen);
	n = reply_headers(st, status, h);
	for (size_t i = 0; i < n && hlen > 0 && (size_t)hlen < sizeof(head); i++)
		hlen += snprintf(head + hlen, sizeof(head) - (size_t)hlen, "%s: %s\r\n", h[i].name, h[i].value);
	if (hlen <= 0 || (size_t)hlen + 2 >= sizeof(head))
		return false;
	len = (size_t)hlen + 2 + blen;
	msg = malloc(len);
	if (!msg)
		return false;
	memcpy(msg, head, (size_t)hlen);
	memcpy(msg + hlen, "\r\n", 2);
	memcpy(msg + hlen + 2, body, blen);
	/* The socket's send buffer is empty while a body is read, so one write takes it all. */
	if (st->tls) {
		info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
		ok = info && info->tls_session &&
		     gnutls_record_send((gnutls_session_t)info->tls_session, msg, len) == (ssize_t)len;
	} else {
		info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		ok = info && send(info->connect_fd, msg, len, MSG_NOSIGNAL) == (ssize_t)len;
	}
	free(msg);
	return ok;
}

/* ---- client certificates ------------------------------------------------------------------ */

static bool name_allowed(char *const *allowed, const char *name, size_t len)
{
	for (char *const *p = allowed; *p; p++)
		if (strlen(*p) == len && strncasecmp(*p, name, len) == 0)
			return true;
	return false;
}

/*
 * Whether the certificate's name is on the allow-list. As RFC 6125 §6.4.4
 * says, the CN counts only when the subjectAltName holds no identifier (DNS
 * name, URI or IP address): with one, a CN naming someone else is ignored,
 * so a CA that puts what a requester asks in the CN cannot grant access.
 */
static bool cert_allowed(char *const *allowed, const gnutls_datum_t *der)
{
	gnutls_x509_crt_t crt;
	char name[1024];
	size_t size;
	bool found = false, has_san_id = false;
	int ret;

	if (gnutls_x509_crt_init(&crt) < 0)
		return false;
	if (gnutls_x509_crt_import(crt, der, GNUTLS_X509_FMT_DER) < 0)
		goto out;
	for (unsigned i = 0; !found; i++) {
		size = sizeof(name);
		ret = gnutls_x509_crt_get_subject_alt_name(crt, i, name, &size, NULL);
		if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		/* An entry too long or unreadable may be an identifier: the CN no longer counts. */
		if (ret < 0) {
			has_san_id = true;
			if (ret != GNUTLS_E_SHORT_MEMORY_BUFFER)
				break;
		}
		if (ret == GNUTLS_SAN_DNSNAME || ret == GNUTLS_SAN_URI || ret == GNUTLS_SAN_IPADDRESS)
			has_san_id = true;
		if (ret == GNUTLS_SAN_DNSNAME && size < sizeof(name))
			found = name_allowed(allowed, name, size);
	}
	for (unsigned i = 0; !found && !has_san_id; i++) {
		size = sizeof(name);
		if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, i, 0, name, &size) < 0)
			break;
		found = name_allowed(allowed, name, strlen(name));
	}
out:
	gnutls_x509_crt_deinit(crt);
	return found;
}

static void peer_verify(const struct listen_state *st, struct MHD_Connection *conn, struct peer_check *pc)
{
	const union MHD_ConnectionInfo *info;
	gnutls_session_t session;
	gnutls_typed_vdata_st purpose = {
		.type = GNUTLS_DT_KEY_PURPOSE_OID,
		.data = (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT,
	};
	const gnutls_datum_t *certs;
	gnutls_datum_t text;
	unsigned status = 0, n = 0;
	int ret;

	pc->done = true;
	info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (!info || !info->tls_session) {
		snprintf(pc->why, sizeof(pc->why), "no TLS session");
		return;
	}
	session = (gnutls_session_t)info->tls_session;
	certs = gnutls_certificate_get_peers(session, &n);
	if (gnutls_certificate_type_get(session) != GNUTLS_CRT_X509 || !certs || !n) {
		snprintf(pc->why, sizeof(pc->why), "a client certificate is required");
		return;
	}
	ret = gnutls_certificate_verify_peers(session, &purpose, 1, &status);
	if (ret < 0) {
		snprintf(pc->why, sizeof(pc->why), "client certificate not verified: %s", gnutls_strerror(ret));
		return;
	}
	if (status) {
		if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text, 0) == 0) {
			snprintf(pc->why, sizeof(pc->why), "client certificate refused: %s", text.data);
			gnutls_free(text.data);
		} else {
			snprintf(pc->why, sizeof(pc->why), "client certificate refused");
		}
		return;
	}
	if (st->allowed_peers && !cert_allowed(st->allowed_peers, &certs[0])) {
		snprintf(pc->why, sizeof(pc->why), "client certificate not in tls.allowed_peers");
		return;
	}
	pc->allowed = true;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
	struct listen_state *st = cls;
	struct conn_ctx *cc;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);

		/* NULL on ENOMEM: peer_check() then refuses the connection's requests. */
		cc = calloc(1, sizeof(*cc));
		*socket_context = cc;
		if (!cc)
			return;
		cc->fd = info ? info->connect_fd : -1;
		/* Until its first request line: libmicrohttpd's idle timeout would be
		 * reset by every byte, this deadline is not. */
		atomic_store(&cc->deadline_ms, idmefv2__now_ms() + st->idle_timeout_ms);
		pthread_mutex_lock(&st->conns_lock);
		cc->next = st->conns;
		if (st->conns)
			st->conns->prev = cc;
		st->conns = cc;
		pthread_mutex_unlock(&st->conns_lock);
	} else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		cc = *socket_context;
		if (!cc)
			return;
		/* libmicrohttpd closes the socket after this returns: once off the
		 * list, the watchdog can no longer shut down a reused descriptor. */
		pthread_mutex_lock(&st->conns_lock);
		if (cc->prev)
			cc->prev->next = cc->next;
		else
			st->conns = cc->next;
		if (cc->next)
			cc->next->prev = cc->prev;
		pthread_mutex_unlock(&st->conns_lock);
		free(cc->buf);
		free(cc);
		*socket_context = NULL;
	}
}

static struct conn_ctx *conn_ctx_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return info ? info->socket_context : NULL;
}

static void conn_set_deadline(struct MHD_Connection *conn, int64_t deadline_ms)
{
	struct conn_ctx *cc = conn_ctx_of(conn);

	if (cc)
		atomic_store(&cc->deadline_ms, deadline_ms);
}

/* The request line has arrived: headers and body must follow within httpd.request_timeout_ms. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct listen_state *st = cls;

	(void)uri;
	conn_set_deadline(conn, idmefv2__now_ms() + st->request_timeout_ms);
	return NULL; /* on_request() allocates the request */
}

/*
 * Closes connections past their deadline: a request that does not arrive
 * whole in time (slowloris sends a header byte now and then, which resets
 * libmicrohttpd's idle timeout forever). shutdown() makes libmicrohttpd see
 * the end of the stream and close the connection itself, in its own thread.
 */
static void *watchdog_main(void *arg)
{
	struct listen_state *st = arg;

	pthread_mutex_lock(&st->conns_lock);
	while (!st->watchdog_stop) {
		struct timespec ts;
		int64_t now = idmefv2__now_ms();
		unsigned cut = 0;

		for (struct conn_ctx *cc = st->conns; cc; cc = cc->next) {
			if (cc->cut || cc->fd < 0 || atomic_load(&cc->deadline_ms) > now)
				continue;
			shutdown(cc->fd, SHUT_RDWR);
			cc->cut = true;
			cut++;
		}
		if (cut)
			idmefv2__log(st->t, IDMEFV2_LOG_INFO, "closed %u connection(s) that sent no complete request in time",
			             cut);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += WATCHDOG_PERIOD_MS * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&st->watchdog_wake, &st->conns_lock, &ts);
	}
	pthread_mutex_unlock(&st->conns_lock);
	return NULL;
}

/* 0 if the client may go on, else 403 with the reason in @why. */
static unsigned peer_check(const struct listen_state *st, struct MHD_Connection *conn, const char **why)
{
	struct conn_ctx *cc;
	struct peer_check *pc;

	if (!st->verify_clients)
		return 0;
	cc = conn_ctx_of(conn);
	pc = cc ? &cc->pc : NULL;
	if (!pc) {
		*why = "out of memory";
		return 403;
	}
	if (!pc->done) {
		/* The first request of the connection: the handshake is over, judge the peer once. */
		peer_verify(st, conn, pc);
		if (!pc->allowed)
			idmefv2__log(st->t, IDMEFV2_LOG_INFO, "refusing TLS client: %s", pc->why);
	}
	*why = pc->why;
	return pc->allowed ? 0 : 403;
}

/* ---- authentication ----------------------------------------------------------------------- */

static bool basic_ok(const struct listen_state *st, const char *cred)
{
	size_t len, i;
	char *plain;
	const char *colon;
	bool ok;

	while (*cred == ' ')
		cred++;
	len = strcspn(cred, " \t");
	plain = base64_decode(cred, len, &len);
	if (!plain)
		return false;
	colon = memchr(plain, ':', len);
	if (!colon) {
		free(plain);
		return false;
	}
	i = (size_t)(colon - plain);
	/* Both compared, whatever the first gives, so that timing does not tell which one was wrong. */
	ok = secret_equal(plain, i, st->username);
	ok &= secret_equal(colon + 1, len - i - 1, st->password ? st->password : "");
	explicit_bzero(plain, len);
	free(plain);
	return ok;
}

static bool authorized(const struct listen_state *st, struct MHD_Connection *conn)
{
	const char *auth;

	if (!st->username && !st->bearer)
		return true;
	auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (!auth)
		return false;
	while (*auth == ' ')
		auth++;
	if (st->username && strncasecmp(auth, "Basic ", 6) == 0)
		return basic_ok(st, auth + 6);
	if (st->bearer && strncasecmp(auth, "Bearer ", 7) == 0) {
		const char *tok = auth + 7;
		size_t len;

		while (*tok == ' ')
			tok++;
		len = strlen(tok);
		while (len && (tok[len - 1] == ' ' || tok[len - 1] == '\t'))
			len--;
		return secret_equal(tok, len, st->bearer);
	}
	return false;
}

/* ---- the body ----------------------------------------------------------------------------- */

/* One "errors" entry for a failure the validator did not report (bad JSON, no Version). */
static struct json_object *plain_error(const char *instance, const char *message)
{
	struct json_object *e = json_object_new_object();

	if (!e)
		return NULL;
	json_object_object_add(e, "instance", json_object_new_string(instance));
	json_object_object_add(e, "message", json_object_new_string(message));
	return e;
}

/* Append the failure of one message (its @line in a batch, 0 alone) to @errors. */
static void add_failure(struct json_object *errors, idmefv2_error err, const idmefv2_report *report,
                        const char *errstr, unsigned line)
{
	if (report) {
		struct json_object *entries = idmefv2_report_to_json(report);
		size_t n = entries ? json_object_array_length(entries) : 0;

		for (size_t i = 0; i < n && json_object_array_length(errors) < MAX_REPORTED_ERRORS; i++) {
			struct json_object *e = json_object_get(json_object_array_get_idx(entries, i));

			if (line)
				json_object_object_add(e, "line", json_object_new_int64(line));
			json_object_array_add(errors, e);
		}
		json_object_put(entries);
		return;
	}
	if (json_object_array_length(errors) < MAX_REPORTED_ERRORS) {
		struct json_object *e = plain_error(err == IDMEFV2_ERR_VERSION ? "/Version" : "", errstr);

		if (e && line)
			json_object_object_add(e, "line", json_object_new_int64(line));
		if (e)
			json_object_array_add(errors, e);
	}
}

static void free_text(struct json_object *obj, void *text)
{
	(void)obj;
	free(text);
}

/*
 * Parse and validate one message; on success its JSON object carries the
 * text as received (NUL-terminated) as its json-c userdata, so that a
 * consumer such as idmefv2 listen writes the validated bytes instead of
 * serializing the message again.
 */
static idmefv2_error parse_one(const char *content_type, const char *data, size_t len,
                               idmefv2_message **ret_msg, idmefv2_report **ret_report,
                               char *errstr, size_t errstr_size)
{
	idmefv2_error err;
	char *text;

	*ret_report = NULL;
	err = idmefv2_message_unserialize(content_type, data, len, 0, ret_msg, ret_report, errstr, errstr_size);
	if (err)
		return err;
	text = malloc(len + 1);
	if (text) {
		memcpy(text, data, len);
		text[len] = '\0';
		json_object_set_userdata(idmefv2_message_get_object(*ret_msg), text, free_text);
	}
	return IDMEFV2_OK;
}

/* Wait for room in slices, so that a handler blocked on a full queue notices stop(). */
static idmefv2_error deliver(struct listen_state *st, idmefv2_message *const *msgs, size_t n)
{
	int64_t deadline = st->queue_timeout_ms < 0 ? -1 : idmefv2__now_ms() + st->queue_timeout_ms;
	idmefv2_error err;

	for (;;) {
		int slice = DELIVER_SLICE_MS;
		int64_t begun = idmefv2__now_ms();

		if (deadline >= 0) {
			int64_t left = deadline - begun;

			slice = left <= 0 ? 0 : left < slice ? (int)left : slice;
		}
		err = idmefv2__transport_deliver(st->t, msgs, n, slice, NULL, NULL);
		if (err != IDMEFV2_ERR_FULL || atomic_load(&st->stopping) || idmefv2__transport_stopping(st->t))
			return err;
		if (deadline >= 0 && idmefv2__now_ms() >= deadline)
			return err;
		/* A queue says FULL only after waiting its slice; a message callback says
		 * it at once, and that is its answer (503), not a reason to ask again. */
		if (idmefv2__now_ms() - begun < slice / 2)
			return err;
	}
}

/* The client's address for logs, numeric. */
static const char *peer_name(struct MHD_Connection *conn, char *buf, size_t size)
{
	const union MHD_ConnectionInfo *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = info ? info->client_addr : NULL;
	socklen_t len = sa && sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);

	if (!sa || getnameinfo(sa, len, buf, (socklen_t)size, NULL, 0, NI_NUMERICHOST) != 0)
		snprintf(buf, size, "?");
	return buf;
}

static unsigned deliver_reply(struct listen_state *st, struct MHD_Connection *conn,
                              idmefv2_message *const *msgs, size_t n, char **ret_reply)
{
	idmefv2_error err = deliver(st, msgs, n);
	char peer[64];

	if (err)
		idmefv2__log(st->t, IDMEFV2_LOG_INFO, "503 to %s: %zu message(s) not queued: %s",
		             peer_name(conn, peer, sizeof(peer)), n, idmefv2_strerror(err));
	switch (err) {
	case IDMEFV2_OK:
		return 204;
	case IDMEFV2_ERR_FULL:
		*ret_reply = reply_text("queue full, retry later");
		break;
	case IDMEFV2_ERR_CLOSED:
		*ret_reply = reply_text("shutting down");
		break;
	default:
		*ret_reply = reply_text("message refused: %s", idmefv2_strerror(err));
		break;
	}
	return 503;
}

static unsigned process_single(struct listen_state *st, struct MHD_Connection *conn,
                               struct request *rq, char **ret_reply)
{
	const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	idmefv2_message *msg = NULL;
	idmefv2_report *report = NULL;
	char errstr[512] = "", peer[64];
	idmefv2_error err;
	unsigned status;

	err = parse_one(ct, rq->body, rq->len, &msg, &report, errstr, sizeof(errstr));
	if (err) {
		struct json_object *errors = json_object_new_array();

		idmefv2__transport_count_invalid(st->t);
		idmefv2__log(st->t, IDMEFV2_LOG_INFO, "400 to %s: %s", peer_name(conn, peer, sizeof(peer)), errstr);
		if (errors)
			add_failure(errors, err, report, errstr, 0);
		idmefv2_report_free(report);
		*ret_reply = reply_body(errstr, errors);
		return 400;
	}
	status = deliver_reply(st, conn, &msg, 1, ret_reply);
	idmefv2_message_unref(msg);
	return status;
}

static bool blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t')
			return false;
	return true;
}

/* Every line must be valid; then all go to the queue at once. */
static unsigned process_batch(struct listen_state *st, struct MHD_Connection *conn, struct request *rq,
                              char **ret_reply)
{
	idmefv2_message **msgs = NULL;
	struct json_object *errors = NULL;
	char first_error[600] = "", peer[64];
	size_t n = 0, cap = 0, bad = 0;
	unsigned line = 0, status = 400;
	const char *p = rq->body, *end = rq->body + rq->len;

	errors = json_object_new_array();
	if (!errors)
		goto nomem;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl ? nl : end) - p);
		idmefv2_message *msg;
		idmefv2_report *report;
		char errstr[512] = "";
		idmefv2_error err;

		line++;
		if (len && p[len - 1] == '\r')
			len--;
		if (!blank(p, len)) {
			err = parse_one("application/json", p, len, &msg, &report, errstr, sizeof(errstr));
			if (err) {
				if (!bad++)
					snprintf(first_error, sizeof(first_error), "line %u: %s", line, errstr);
				idmefv2__transport_count_invalid(st->t);
				add_failure(errors, err, report, errstr, line);
				idmefv2_report_free(report);
			} else if (bad) {
				idmefv2_message_unref(msg); /* refused anyway: keep only the verdict */
			} else {
				if (n == cap) {
					size_t ncap = cap ? cap * 2 : 64;
					idmefv2_message **m = realloc(msgs, ncap * sizeof(*m));

					if (!m) {
						idmefv2_message_unref(msg);
						goto nomem;
					}
					msgs = m;
					cap = ncap;
				}
				msgs[n++] = msg;
			}
		}
		p = nl ? nl + 1 : end;
	}
	if (bad) {
		if (bad > 1) {
			size_t l = strlen(first_error);

			snprintf(first_error + l, sizeof(first_error) - l, " (and %zu more invalid lines)", bad - 1);
		}
		idmefv2__log(st->t, IDMEFV2_LOG_INFO, "400 to %s: batch refused: %s",
		             peer_name(conn, peer, sizeof(peer)), first_error);
		*ret_reply = reply_body(first_error, errors);
		errors = NULL;
	} else if (!n) {
		*ret_reply = reply_text("no message in the batch");
	} else {
		status = deliver_reply(st, conn, msgs, n, ret_reply);
	}
	goto out;
nomem:
	status = 503;
	*ret_reply = reply_text("out of memory");
out:
	for (size_t i = 0; i < n; i++)
		idmefv2_message_unref(msgs[i]);
	free(msgs);
	json_object_put(errors);
	return status;
}

/* ---- the request handler ------------------------------------------------------------------ */

static bool has_body(struct MHD_Connection *conn)
{
	const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

	if (MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING))
		return true;
	return cl && strtoull(cl, NULL, 10) > 0;
}

static bool expects_continue(struct MHD_Connection *conn)
{
	const char *expect = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);

	return expect && strcasecmp(expect, "100-continue") == 0;
}

/* The URL's path, with or without a trailing slash: "/in" and "/in/" are one endpoint. */
static bool path_matches(const struct listen_state *st, const char *url)
{
	size_t len = strlen(url);

	if (len && url[len - 1] == '/')
		len--;
	return len == st->path_len && memcmp(url, st->path, len) == 0;
}

/* Content-Encoding: none or identity (plain), gzip (or its alias x-gzip); anything else 415. */
static unsigned check_encoding(struct MHD_Connection *conn, struct request *rq, char **ret_reply)
{
	const char *ce = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_ENCODING);
	size_t len;

	if (!ce)
		return 0;
	while (*ce == ' ' || *ce == '\t')
		ce++;
	len = strlen(ce);
	while (len && (ce[len - 1] == ' ' || ce[len - 1] == '\t'))
		len--;
	if (len == 8 && strncasecmp(ce, "identity", 8) == 0)
		return 0;
	if ((len == 4 && strncasecmp(ce, "gzip", 4) == 0) || (len == 6 && strncasecmp(ce, "x-gzip", 6) == 0)) {
		rq->gzip = calloc(1, sizeof(*rq->gzip));
		/* 16 + MAX_WBITS: a gzip stream, header and trailer checked. */
		if (!rq->gzip || inflateInit2(rq->gzip, 16 + MAX_WBITS) != Z_OK) {
			free(rq->gzip);
			rq->gzip = NULL;
			*ret_reply = reply_text("out of memory");
			return 503;
		}
		return 0;
	}
	*ret_reply = reply_text("unsupported content encoding \"%.100s\"; use gzip or none", ce);
	return 415;
}

/* Everything the headers decide, in the order a client most needs to learn it. */
static unsigned check_headers(struct listen_state *st, struct MHD_Connection *conn, const char *url,
                              const char *method, struct request *rq, char **ret_reply)
{
	const char *why = NULL, *ct, *cl;
	unsigned status;

	if (peer_check(st, conn, &why)) {
		*ret_reply = reply_text("%s", why);
		return 403;
	}
	if (!authorized(st, conn)) {
		*ret_reply = reply_text("authentication required");
		return 401;
	}
	if (!st->any_path && !path_matches(st, url)) {
		*ret_reply = reply_text("no such path; messages go to %s", st->path);
		return 404;
	}
	if (strcmp(method, MHD_HTTP_METHOD_POST) != 0) {
		*ret_reply = reply_text("method %s not allowed; use POST", method);
		return 405;
	}
	ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	if (ct && media_type_is(ct, "application/x-ndjson")) {
		rq->batch = true;
	} else if (!idmefv2_content_type_supported(ct)) {
		*ret_reply = reply_text("unsupported content type \"%.200s\"; use application/json, text/json "
		                        "or application/x-ndjson", ct ? ct : "");
		return 415;
	}
	status = check_encoding(conn, rq, ret_reply);
	if (status)
		return status;
	cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl) {
		unsigned long long len = strtoull(cl, NULL, 10);

		if (len > st->max_body) {
			*ret_reply = reply_text("body of %llu bytes is larger than the limit of %zu", len, st->max_body);
			return 413;
		}
		/* Known length: one allocation, or none with the connection's buffer. */
		if (!rq->gzip && len > rq->cap) {
			char *body = realloc(rq->body, (size_t)len);

			if (body) {
				rq->body = body;
				rq->cap = (size_t)len;
			}
		}
	}
	return 0;
}

static enum MHD_Result request_begin(struct listen_state *st, struct MHD_Connection *conn,
                                     const char *url, const char *method, void **con_cls)
{
	struct request *rq = calloc(1, sizeof(*rq));
	struct conn_ctx *cc;

	if (!rq)
		return MHD_NO;
	*con_cls = rq;
	cc = conn_ctx_of(conn);
	if (cc && cc->buf) {
		rq->body = cc->buf;
		rq->cap = cc->cap;
		cc->buf = NULL;
		cc->cap = 0;
	}
	atomic_fetch_add(&st->active, 1);
	if (atomic_load(&st->stopping)) {
		/* Only requests already under way may finish during stop(). */
		rq->status = 503;
		rq->reply = reply_text("shutting down");
		return queue_reply(st, conn, rq->status, rq->reply);
	}
	rq->status = check_headers(st, conn, url, method, rq, &rq->reply);
	if (!rq->status)
		return MHD_YES;
	/* Answer now unless a body is on its way already: that one is read first (see reply_early()). */
	if (!has_body(conn) || expects_continue(conn))
		return queue_reply(st, conn, rq->status, rq->reply);
	return MHD_YES;
}

static enum MHD_Result discard(struct listen_state *st, struct MHD_Connection *conn,
                               struct request *rq, size_t size)
{
	rq->discarded += size;
	if (!rq->replied_early && (rq->status == 413 || rq->discarded > st->max_body)) {
		if (!reply_early(st, conn, rq->status, rq->reply))
			return MHD_NO;
		rq->replied_early = true;
		rq->discarded = 0;
	}
	if (rq->replied_early && rq->discarded > DRAIN_AFTER_REPLY)
		return MHD_NO;
	return MHD_YES;
}

/* Grow the body buffer to hold @need bytes, doubling up to @limit. */
static bool body_reserve(struct request *rq, size_t need, size_t limit)
{
	size_t cap = rq->cap ? rq->cap : 4096;
	char *body;

	if (need <= rq->cap)
		return true;
	while (cap < need)
		cap = cap > limit / 2 ? limit : cap * 2;
	body = realloc(rq->body, cap);
	if (!body)
		return false;
	rq->body = body;
	rq->cap = cap;
	return true;
}

/*
 * Inflate @size bytes of a gzip body (0 at its end, to flush) into the body
 * buffer, at most httpd.max_decompressed bytes of it: a small body that
 * inflates to gigabytes (a zip bomb) is refused with 413, not held in memory.
 * Concatenated gzip members are one body (RFC 1952). 0, or the status of the refusal.
 */
static unsigned body_inflate(struct listen_state *st, struct request *rq, const char *data, size_t size,
                             char **ret_reply)
{
	z_stream *z = rq->gzip;

	z->next_in = (Bytef *)data;
	z->avail_in = (uInt)size;
	for (;;) {
		int ret;

		if (rq->gzip_ended) {
			if (!z->avail_in)
				return 0;
			if (inflateReset(z) != Z_OK)
				break;
			rq->gzip_ended = false;
		}
		if (rq->len == rq->cap) {
			if (rq->len >= st->max_decompressed) {
				*ret_reply = reply_text("body larger than the limit of %zu bytes once decompressed",
				                        st->max_decompressed);
				return 413;
			}
			if (!body_reserve(rq, rq->len + 1, st->max_decompressed)) {
				*ret_reply = reply_text("out of memory");
				return 503;
			}
		}
		z->next_out = (Bytef *)rq->body + rq->len;
		z->avail_out = (uInt)(rq->cap - rq->len);
		ret = inflate(z, Z_NO_FLUSH);
		rq->len = rq->cap - z->avail_out;
		if (ret == Z_STREAM_END) {
			rq->gzip_ended = true;
			continue;
		}
		if (ret == Z_BUF_ERROR || (ret == Z_OK && !z->avail_in && z->avail_out))
			return 0; /* all input taken and all output given: wait for more */
		if (ret != Z_OK)
			break;
	}
	*ret_reply = reply_text("body is not valid gzip: %s", z->msg ? z->msg : "corrupt data");
	return 400;
}

static enum MHD_Result request_fail(struct listen_state *st, struct MHD_Connection *conn, struct request *rq,
                                    unsigned status, char *reply, size_t size)
{
	rq->status = status;
	rq->reply = reply;
	free(rq->body);
	rq->body = NULL;
	rq->len = rq->cap = 0;
	return discard(st, conn, rq, size);
}

static enum MHD_Result request_data(struct listen_state *st, struct MHD_Connection *conn,
                                    struct request *rq, const char *data, size_t size)
{
	char *reply = NULL;
	unsigned status;

	if (rq->status)
		return discard(st, conn, rq, size);
	if (size > st->max_body - rq->received)
		return request_fail(st, conn, rq, 413,
		                    reply_text("body larger than the limit of %zu bytes", st->max_body), size);
	rq->received += size;
	if (rq->gzip) {
		status = body_inflate(st, rq, data, size, &reply);
		return status ? request_fail(st, conn, rq, status, reply, size) : MHD_YES;
	}
	if (!body_reserve(rq, rq->len + size, st->max_body))
		return MHD_NO;
	memcpy(rq->body + rq->len, data, size);
	rq->len += size;
	return MHD_YES;
}

static enum MHD_Result request_end(struct listen_state *st, struct MHD_Connection *conn, struct request *rq)
{
	if (rq->replied_early)
		return MHD_NO; /* answered already: close */
	/* The request has arrived whole: no deadline while it is processed. */
	conn_set_deadline(conn, NO_DEADLINE);
	if (!rq->status && rq->gzip) {
		rq->status = body_inflate(st, rq, NULL, 0, &rq->reply);
		if (!rq->status && !rq->gzip_ended && rq->received) {
			rq->status = 400;
			rq->reply = reply_text("gzip body cut short");
		}
	}
	if (!rq->status) {
		if (!rq->len) {
			rq->status = 400;
			rq->reply = reply_text("empty body");
		} else if (rq->batch) {
			rq->status = process_batch(st, conn, rq, &rq->reply);
		} else {
			rq->status = process_single(st, conn, rq, &rq->reply);
		}
	}
	return queue_reply(st, conn, rq->status, rq->reply);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	struct listen_state *st = cls;
	struct request *rq = *con_cls;
	size_t size;

	if (!rq)
		return request_begin(st, conn, url, method, con_cls);
	if (*upload_data_size) {
		size = *upload_data_size;
		*upload_data_size = 0;
		return request_data(st, conn, rq, upload_data, size);
	}
	return request_end(st, conn, rq);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode code)
{
	struct listen_state *st = cls;
	struct request *rq = *con_cls;
	struct conn_ctx *cc;

	(void)code;

	if (!rq)
		return;
	atomic_fetch_sub(&st->active, 1);
	if (rq->gzip) {
		inflateEnd(rq->gzip);
		free(rq->gzip);
	}
	cc = conn_ctx_of(conn);
	/* Kept alive: the next request line must come within the idle timeout. */
	if (cc)
		atomic_store(&cc->deadline_ms, idmefv2__now_ms() + st->idle_timeout_ms);
	if (cc && !cc->buf && rq->body && rq->cap <= KEEP_BUFFER_MAX) {
		cc->buf = rq->body;
		cc->cap = rq->cap;
		rq->body = NULL;
	}
	free(rq->body);
	free(rq->reply);
	free(rq);
	*con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct listen_state *st = cls;
	char buf[256];
	size_t len;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	len = strlen(buf);
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	pthread_mutex_lock(&st->log_lock);
	memcpy(st->last_log, buf, len + 1);
	pthread_mutex_unlock(&st->log_lock);
	/* Mostly clients that misbehave: worth a look when debugging, not a warning. */
	idmefv2__log(st->t, IDMEFV2_LOG_DEBUG, "httpd: %s", buf);
}

/* ---- start -------------------------------------------------------------------------------- */

static idmefv2_error read_pem(const char *option, const char *path, char **ret_text,
                              char *errstr, size_t errstr_size)
{
	struct stat sb;
	char *text = NULL;
	size_t len = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) < 0) {
		idmefv2__set_error(errstr, errstr_size, "%s: cannot open %s: %s", option, path, strerror(errno));
		goto fail;
	}
	if (sb.st_size <= 0 || (uint64_t)sb.st_size > MAX_PEM_BYTES) {
		idmefv2__set_error(errstr, errstr_size, "%s: %s is empty or too large for a PEM file", option, path);
		goto fail;
	}
	text = malloc((size_t)sb.st_size + 1);
	if (!text) {
		idmefv2__set_error(errstr, errstr_size, "out of memory");
		goto fail;
	}
	while (len < (size_t)sb.st_size) {
		ssize_t r = read(fd, text + len, (size_t)sb.st_size - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			idmefv2__set_error(errstr, errstr_size, "%s: cannot read %s: %s", option, path,
			          r < 0 ? strerror(errno) : "short read");
			goto fail;
		}
		len += (size_t)r;
	}
	text[len] = '\0';
	close(fd);
	*ret_text = text;
	return IDMEFV2_OK;
fail:
	if (fd >= 0)
		close(fd);
	free(text);
	return IDMEFV2_ERR_IO;
}

/* Load the TLS files and check them with GnuTLS, which says more than libmicrohttpd would. */
static idmefv2_error tls_setup(struct listen_state *st, char *errstr, size_t errstr_size)
{
	const idmefv2_transport *t = st->t;
	const char *cert = idmefv2__opt_str(t, "tls.cert");
	const char *key = idmefv2__opt_str(t, "tls.key");
	const char *password = idmefv2__opt_str(t, "tls.key_password");
	const char *client_ca = idmefv2__opt_str(t, "tls.client_ca");
	const char *version = idmefv2__opt_str(t, "tls.min_version");
	gnutls_certificate_credentials_t cred = NULL;
	gnutls_priority_t prio;
	gnutls_datum_t c, k;
	const char *errpos = NULL;
	idmefv2_error err;
	int ret;

	if (!cert || !key) {
		idmefv2__set_error(errstr, errstr_size, "https listener needs tls.cert and tls.key");
		return IDMEFV2_ERR_INVALID_ARG;
	}
	if (!version || strcmp(version, "1.2") == 0)
		st->priorities = strdup("NORMAL:-VERS-TLS-ALL:+VERS-TLS1.3:+VERS-TLS1.2");
	else if (strcmp(version, "1.3") == 0)
		st->priorities = strdup("NORMAL:-VERS-TLS-ALL:+VERS-TLS1.3");
	else {
		idmefv2__set_error(errstr, errstr_size, "tls.min_version must be 1.2 or 1.3, not \"%s\"", version);
		return IDMEFV2_ERR_INVALID_ARG;
	}
	if (!st->priorities)
		return IDMEFV2_ERR_NOMEM;
	ret = gnutls_priority_init(&prio, st->priorities, &errpos);
	if (ret < 0) {
		idmefv2__set_error(errstr, errstr_size, "TLS priorities \"%s\": %s", st->priorities, gnutls_strerror(ret));
		return IDMEFV2_ERR_TRANSPORT;
	}
	gnutls_priority_deinit(prio);

	err = read_pem("tls.cert", cert, &st->cert_pem, errstr, errstr_size);
	if (!err)
		err = read_pem("tls.key", key, &st->key_pem, errstr, errstr_size);
	if (!err && client_ca)
		err = read_pem("tls.client_ca", client_ca, &st->client_ca_pem, errstr, errstr_size);
	if (err)
		return err;

	if (gnutls_certificate_allocate_credentials(&cred) < 0)
		return IDMEFV2_ERR_NOMEM;
	c = (gnutls_datum_t){ (unsigned char *)st->cert_pem, (unsigned)strlen(st->cert_pem) };
	k = (gnutls_datum_t){ (unsigned char *)st->key_pem, (unsigned)strlen(st->key_pem) };
	ret = gnutls_certificate_set_x509_key_mem2(cred, &c, &k, GNUTLS_X509_FMT_PEM, password, 0);
	if (ret < 0) {
		idmefv2__set_error(errstr, errstr_size, "tls.cert %s / tls.key %s: %s", cert, key, gnutls_strerror(ret));
		err = IDMEFV2_ERR_TRANSPORT;
		goto out;
	}
	if (st->client_ca_pem) {
		gnutls_datum_t ca = { (unsigned char *)st->client_ca_pem, (unsigned)strlen(st->client_ca_pem) };

		ret = gnutls_certificate_set_x509_trust_mem(cred, &ca, GNUTLS_X509_FMT_PEM);
		if (ret <= 0) {
			idmefv2__set_error(errstr, errstr_size, "tls.client_ca %s: %s", client_ca,
			          ret < 0 ? gnutls_strerror(ret) : "no certificate found");
			err = IDMEFV2_ERR_TRANSPORT;
			goto out;
		}
		st->verify_clients = true;
	}
out:
	gnutls_certificate_free_credentials(cred);
	return err;
}

static void free_secret(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
	free(s);
}

/* Forget what a start read, so that a failed start may be retried. */
static void options_clear(struct listen_state *st)
{
	free(st->username);
	free_secret(st->password);
	free_secret(st->bearer);
	free_strv(st->allowed_peers);
	free(st->cert_pem);
	free_secret(st->key_pem);
	free(st->client_ca_pem);
	free(st->priorities);
	st->username = st->password = st->bearer = NULL;
	st->allowed_peers = NULL;
	st->cert_pem = st->key_pem = st->client_ca_pem = st->priorities = NULL;
	st->verify_clients = false;
}

static idmefv2_error options_setup(struct listen_state *st, char *errstr, size_t errstr_size)
{
	const idmefv2_transport *t = st->t;
	const char *peers = idmefv2__opt_str(t, "tls.allowed_peers");
	const char *user = idmefv2__opt_str(t, "auth.username");
	const char *password = idmefv2__opt_str(t, "auth.password");
	const char *bearer = idmefv2__opt_str(t, "auth.bearer_token");
	int64_t max_body = idmefv2__opt_int(t, "httpd.max_body");
	int64_t max_decompressed = idmefv2__opt_int(t, "httpd.max_decompressed");
	idmefv2_error err;

	options_clear(st);
	st->any_path = idmefv2__opt_bool(t, "httpd.any_path");
	st->max_body = max_body > 0 ? (size_t)max_body : 1u << 20;
	st->max_decompressed = max_decompressed > 0 ? (size_t)max_decompressed : 16u << 20;
	st->queue_timeout_ms = idmefv2__opt_int(t, "listen.queue_timeout_ms");
	st->idle_timeout_ms = idmefv2__opt_int(t, "httpd.idle_timeout_ms");
	st->request_timeout_ms = idmefv2__opt_int(t, "httpd.request_timeout_ms");
	if ((user && !(st->username = strdup(user))) || (password && !(st->password = strdup(password))) ||
	    (bearer && !(st->bearer = strdup(bearer))))
		return IDMEFV2_ERR_NOMEM;
	if (password && !user) {
		idmefv2__set_error(errstr, errstr_size, "auth.password is set without auth.username");
		return IDMEFV2_ERR_INVALID_ARG;
	}
	/* The option table keeps tls.* off http:// URLs. */
	if (st->tls) {
		err = tls_setup(st, errstr, errstr_size);
		if (err)
			return err;
	}
	if (peers) {
		if (!st->verify_clients) {
			idmefv2__set_error(errstr, errstr_size, "tls.allowed_peers needs tls.client_ca (mutual TLS)");
			return IDMEFV2_ERR_INVALID_ARG;
		}
		st->allowed_peers = split_names(peers);
		if (!st->allowed_peers)
			return IDMEFV2_ERR_NOMEM;
		if (!st->allowed_peers[0]) {
			idmefv2__set_error(errstr, errstr_size, "tls.allowed_peers lists no name");
			return IDMEFV2_ERR_INVALID_ARG;
		}
	}
	return IDMEFV2_OK;
}

/* Whether the URL names a port, so that a listener on ":0" gets an ephemeral one and
 * a URL without a port gets the scheme's. */
static bool url_has_port(const char *text)
{
	const char *p = strstr(text, "://");
	const char *end, *at, *colon;

	if (!p)
		return false;
	p += 3;
	end = p + strcspn(p, "/?#");
	for (at = p; (at = memchr(at, '@', (size_t)(end - at))); p = ++at)
		;
	if (*p == '[') {
		const char *close = memchr(p, ']', (size_t)(end - p));

		return close && close + 1 < end && close[1] == ':';
	}
	colon = memchr(p, ':', (size_t)(end - p));
	return colon != NULL;
}

static idmefv2_error bind_socket(struct listen_state *st, int *ret_fd, char *errstr, size_t errstr_size)
{
	const struct idmefv2__url *url = idmefv2__transport_url(st->t);
	const char *host = idmefv2__opt_str(st->t, "httpd.bind");
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
	struct addrinfo *res = NULL, *ai;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	unsigned port = url->port;
	char service[8];
	int fd = -1, ret, saved = 0;

	if (!host)
		host = url->host;
	if (host && (!*host || strcmp(host, "*") == 0))
		host = NULL;
	if (!port && !url_has_port(url->text))
		port = st->tls ? 443 : 80;
	snprintf(service, sizeof(service), "%u", port);
	ret = getaddrinfo(host, service, &hints, &res);
	if (ret) {
		idmefv2__set_error(errstr, errstr_size, "cannot resolve %s: %s", host ? host : "*", gai_strerror(ret));
		return IDMEFV2_ERR_TRANSPORT;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		int one = 1;

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		idmefv2__set_error(errstr, errstr_size, "cannot listen on %s port %u: %s", host ? host : "*", port,
		          strerror(saved));
		return IDMEFV2_ERR_TRANSPORT;
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0)
		st->port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
		                                    : ntohs(((struct sockaddr_in *)&ss)->sin_port);
	*ret_fd = fd;
	return IDMEFV2_OK;
}

static idmefv2_error listen_start(idmefv2_transport *t, char *errstr, size_t errstr_size)
{
	struct listen_state *st = idmefv2__transport_backend_data(t);
	/* ITC: for MHD_quiesce_daemon() in stop(). */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	int64_t threads = idmefv2__opt_int(t, "httpd.threads");
	int64_t max_conns = idmefv2__opt_int(t, "httpd.max_connections");
	struct MHD_OptionItem opts[16];
	size_t n = 0;
	idmefv2_error err;
	int fd = -1;

	if (st->daemon)
		return IDMEFV2_OK;
	st->pooled = false;
	err = options_setup(st, errstr, errstr_size);
	if (err)
		return err;
	if (!st->no_content)
		st->no_content = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (!st->no_content)
		return IDMEFV2_ERR_NOMEM;
	err = bind_socket(st, &fd, errstr, errstr_size);
	if (err)
		return err;

	/* libmicrohttpd owns the socket from here on, also when it fails to start. */
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_LISTEN_SOCKET, fd, NULL };
	/* libmicrohttpd's own inactivity timeout, in seconds; the watchdog enforces the deadlines. */
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT,
	                                     (intptr_t)((st->idle_timeout_ms + 999) / 1000), NULL };
	if (idmefv2__opt_int(t, "httpd.max_connections_per_ip") > 0)
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		                                     (intptr_t)idmefv2__opt_int(t, "httpd.max_connections_per_ip"), NULL };
	if (threads == 0) {
		flags |= MHD_USE_THREAD_PER_CONNECTION;
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_THREAD_STACK_SIZE, CONNECTION_STACK_SIZE, NULL };
	} else {
		/* libmicrohttpd splits the connection limit between the pool's threads:
		 * each must have at least one. */
		if (threads > max_conns)
			threads = max_conns;
		st->pooled = threads > 1;
		if (st->pooled)
			opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)threads, NULL };
	}
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONNECTION_MEMORY, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT, (intptr_t)max_conns, NULL };
	if (st->tls) {
		flags |= MHD_USE_TLS;
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, st->cert_pem };
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, st->key_pem };
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_PRIORITIES, 0, st->priorities };
		if (idmefv2__opt_str(t, "tls.key_password"))
			opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_KEY_PASSWORD, 0,
			                                     (void *)idmefv2__opt_str(t, "tls.key_password") };
		if (st->client_ca_pem) {
			/* With a trust list libmicrohttpd asks clients for their certificate;
			 * peer_check() then requires and verifies it. */
			opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_TRUST, 0, st->client_ca_pem };
		}
	}
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };

	st->last_log[0] = '\0';
	/* The logger first, so that libmicrohttpd reports problems with the other options through it;
	 * callbacks take two arguments, which an option array cannot carry. */
	st->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, st,
	                              MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, st,
	                              MHD_OPTION_ARRAY, opts,
	                              MHD_OPTION_NOTIFY_COMPLETED, on_completed, st,
	                              MHD_OPTION_NOTIFY_CONNECTION, on_connection, st,
	                              MHD_OPTION_URI_LOG_CALLBACK, on_uri, st,
	                              MHD_OPTION_END);
	if (!st->daemon) {
		pthread_mutex_lock(&st->log_lock);
		idmefv2__set_error(errstr, errstr_size, "cannot start the HTTP server: %s",
		          st->last_log[0] ? st->last_log : "libmicrohttpd refused the configuration");
		pthread_mutex_unlock(&st->log_lock);
		return IDMEFV2_ERR_TRANSPORT;
	}
	st->watchdog_stop = false;
	if (pthread_create(&st->watchdog, NULL, watchdog_main, st) != 0) {
		MHD_stop_daemon(st->daemon);
		st->daemon = NULL;
		idmefv2__set_error(errstr, errstr_size, "cannot start the connection watchdog thread");
		return IDMEFV2_ERR_TRANSPORT;
	}
	st->watchdog_running = true;
	idmefv2__log(t, IDMEFV2_LOG_INFO, "listening on port %u (%s)", st->port, st->tls ? "https" : "http");
	return IDMEFV2_OK;
}

/* ---- life cycle --------------------------------------------------------------------------- */

static idmefv2_error listen_create(idmefv2_transport *t, char *errstr, size_t errstr_size)
{
	const struct idmefv2__url *url = idmefv2__transport_url(t);
	struct listen_state *st;

	if (idmefv2__transport_role(t) != IDMEFV2_TRANSPORT_LISTENER) {
		idmefv2__set_error(errstr, errstr_size, "the http listener backend cannot send");
		return IDMEFV2_ERR_INVALID_ARG;
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		return IDMEFV2_ERR_NOMEM;
	st->t = t;
	st->tls = strcmp(url->scheme, "https") == 0;
	pthread_mutex_init(&st->log_lock, NULL);
	pthread_mutex_init(&st->conns_lock, NULL);
	pthread_cond_init(&st->watchdog_wake, NULL);
	st->path = strdup(url->path && *url->path ? url->path : "/");
	if (!st->path) {
		pthread_cond_destroy(&st->watchdog_wake);
		pthread_mutex_destroy(&st->conns_lock);
		pthread_mutex_destroy(&st->log_lock);
		free(st);
		return IDMEFV2_ERR_NOMEM;
	}
	st->path_len = strlen(st->path);
	if (st->path_len && st->path[st->path_len - 1] == '/')
		st->path_len--;
	idmefv2__transport_set_backend_data(t, st);
	return IDMEFV2_OK;
}

static void listen_stop(idmefv2_transport *t)
{
	struct listen_state *st = idmefv2__transport_backend_data(t);

	if (!st)
		return;
	atomic_store(&st->stopping, true);
	if (st->daemon) {
		/* No new connections; requests under way get their answer, new ones on
		 * open connections a 503, then everything closes. With a thread pool the
		 * listening socket stays open until MHD_stop_daemon() and new connections
		 * get the 503 too: libmicrohttpd 0.9.75's MHD_quiesce_daemon() races its
		 * pool's epoll threads on removing the socket from their sets, and the
		 * loser aborts the process ("Failed to remove listen FD from epoll set"). */
		MHD_socket fd = st->pooled ? MHD_INVALID_SOCKET : MHD_quiesce_daemon(st->daemon);
		int64_t deadline = idmefv2__now_ms() + STOP_GRACE_MS;

		while (atomic_load(&st->active) > 0 && idmefv2__now_ms() < deadline)
			nanosleep(&(struct timespec){ .tv_nsec = 5 * 1000 * 1000 }, NULL);
		MHD_stop_daemon(st->daemon);
		st->daemon = NULL;
		/* Ours to close, and only now that no thread of libmicrohttpd uses it. */
		if (fd != MHD_INVALID_SOCKET)
			close(fd);
	}
	if (st->watchdog_running) {
		pthread_mutex_lock(&st->conns_lock);
		st->watchdog_stop = true;
		pthread_cond_signal(&st->watchdog_wake);
		pthread_mutex_unlock(&st->conns_lock);
		pthread_join(st->watchdog, NULL);
		st->watchdog_running = false;
	}
}

static void listen_destroy(idmefv2_transport *t)
{
	struct listen_state *st = idmefv2__transport_backend_data(t);

	if (!st)
		return;
	listen_stop(t);
	if (st->no_content)
		MHD_destroy_response(st->no_content);
	free(st->path);
	options_clear(st);
	pthread_cond_destroy(&st->watchdog_wake);
	pthread_mutex_destroy(&st->conns_lock);
	pthread_mutex_destroy(&st->log_lock);
	free(st);
	idmefv2__transport_set_backend_data(t, NULL);
}

static unsigned listen_get_port(const idmefv2_transport *t)
{
	const struct listen_state *st = idmefv2__transport_backend_data(t);

	return st && st->daemon ? st->port : 0;
}

const struct idmefv2__backend idmefv2__backend_http_listen = {
	.scheme = "http",
	.can_send = false,
	.can_listen = true,
	.create = listen_create,
	.start = listen_start,
	.wakeup = NULL,
	.stop = listen_stop,
	.destroy = listen_destroy,
	.get_port = listen_get_port,
};
