/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Webhook receiver on libmicrohttpd. One internal polling thread serves every
 * connection by default, so route callbacks never run concurrently and the
 * connectors behind them need no locking; a caller whose callbacks block asks
 * for a thread per connection (idmefv2_webhook_set_threads()). The state shared by requests is
 * read-only once started, or atomic (counters). A request's verdict is decided as soon as its
 * headers allow (auth, route, type, size); its body is then read and dropped
 * rather than left unread, so that the client sees the answer instead of a
 * reset connection.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <json-c/json.h>
#include <microhttpd.h>

#include <idmefv2/message.h>
#include <idmefv2/webhook.h>

#include "idmefv2-common.h"

/* Past this much body after an error was decided, answer at once and close. */
#define DRAIN_LIMIT (16u << 20)
/* Idle connections are closed after this many seconds. */
#define IDLE_TIMEOUT_S 30u
#define REALM "idmefv2"

struct route {
	char *method;
	char *path;
	unsigned ok_status;
	idmefv2_webhook_cb cb;
	void *user_data;
};

struct idmefv2_webhook {
	struct MHD_Daemon *daemon;
	unsigned port;       /* bound port, 0 when stopped */

	struct sockaddr_storage addr;
	socklen_t addr_len;
	size_t max_body;
	unsigned retry_after;
	unsigned threads;
	char *user, *password, *bearer;
	struct route routes[IDMEFV2_WEBHOOK_MAX_ROUTES];
	size_t n_routes;

	idmefv2_log_cb log_cb;
	void *log_data;

	atomic_uint_fast64_t requests, accepted, rejected;
	atomic_uint_fast64_t st400, st401, st404, st405, st413, st415, st500, st503;
};

struct request {
	const struct route *route;
	unsigned status;     /* decided before the body was read, or 0 */
	char *allow;         /* the Allow header of a 405 */
	char *body;
	size_t len, cap;
	size_t discarded;
};

static void logf_(idmefv2_webhook *w, idmefv2_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void logf_(idmefv2_webhook *w, idmefv2_log_level level, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (!w->log_cb)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	w->log_cb(level, buf, w->log_data);
}


static bool set_addr(idmefv2_webhook *w, const char *address, unsigned port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port) };

	if (!address || inet_pton(AF_INET, address, &sin.sin_addr) == 1) {
		if (!address)
			sin.sin_addr.s_addr = htonl(INADDR_ANY);
		memset(&w->addr, 0, sizeof(w->addr));
		memcpy(&w->addr, &sin, sizeof(sin));
		w->addr_len = sizeof(sin);
		return true;
	}
	if (inet_pton(AF_INET6, address, &sin6.sin6_addr) == 1) {
		memset(&w->addr, 0, sizeof(w->addr));
		memcpy(&w->addr, &sin6, sizeof(sin6));
		w->addr_len = sizeof(sin6);
		return true;
	}
	return false;
}

IDMEFV2_EXPORT idmefv2_webhook *idmefv2_webhook_new(void)
{
	idmefv2_webhook *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->max_body = IDMEFV2_WEBHOOK_DEFAULT_MAX_BODY;
	w->threads = 1;
	w->retry_after = IDMEFV2_WEBHOOK_DEFAULT_RETRY_AFTER;
	/* Loopback until told otherwise: a receiver open to the network is a choice, not a default. */
	set_addr(w, "127.0.0.1", 0);
	return w;
}

IDMEFV2_EXPORT void idmefv2_webhook_free(idmefv2_webhook *w)
{
	if (!w)
		return;
	idmefv2_webhook_stop(w);
	for (size_t i = 0; i < w->n_routes; i++) {
		free(w->routes[i].method);
		free(w->routes[i].path);
	}
	free(w->user);
	free(w->password);
	free(w->bearer);
	free(w);
}

IDMEFV2_EXPORT void idmefv2_webhook_set_log_cb(idmefv2_webhook *w, idmefv2_log_cb cb, void *user_data)
{
	if (!w)
		return;
	w->log_cb = cb;
	w->log_data = user_data;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_webhook_set_address(idmefv2_webhook *w, const char *address, unsigned port)
{
	if (!w || port > 65535)
		return IDMEFV2_ERR_INVALID_ARG;
	if (w->daemon)
		return IDMEFV2_ERR_STATE;
	return set_addr(w, address, port) ? IDMEFV2_OK : IDMEFV2_ERR_INVALID_ARG;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_webhook_set_max_body(idmefv2_webhook *w, size_t max_body)
{
	if (!w || !max_body)
		return IDMEFV2_ERR_INVALID_ARG;
	if (w->daemon)
		return IDMEFV2_ERR_STATE;
	w->max_body = max_body;
	return IDMEFV2_OK;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_webhook_set_threads(idmefv2_webhook *w, unsigned threads)
{
	if (!w || !threads || threads > IDMEFV2_WEBHOOK_MAX_THREADS)
		return IDMEFV2_ERR_INVALID_ARG;
	if (w->daemon)
		return IDMEFV2_ERR_STATE;
	w->threads = threads;
	return IDMEFV2_OK;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_webhook_set_retry_after(idmefv2_webhook *w, unsigned seconds)
{
	if (!w)
		return IDMEFV2_ERR_INVALID_ARG;
	if (w->daemon)
		return IDMEFV2_ERR_STATE;
	w->retry_after = seconds;
	return IDMEFV2_OK;
}

static void clear_auth(idmefv2_webhook *w)
{
	free(w->user);
	free(w->password);
	free(w->bearer);
	w->user = w->password = w->bearer = NULL;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_webhook_set_basic_auth(idmefv2_webhook *w, const char *user,
                                                            const char *password)
{
	char *u = NULL, *p = NULL;

	if (!w)
		return IDMEFV2_ERR_INVALID_ARG;
	if (w->daemon)
		return IDMEFV2_ERR_STATE;
	if (user) {
		u = strdup(user);
		p = strdup(password ? password : "");
		if (!u || !p) {
			free(u);
			free(p);
			return IDMEFV2_ERR_NOMEM;
		}
	}
	clear_auth(w);
	w->user = u;
	w->password = p;
	return IDMEFV2_OK;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_webhook_set_bearer(idmefv2_webhook *w, const char *token)
{
	char *t = NULL;

	if (!w)
		return IDMEFV2_ERR_INVALID_ARG;
	if (w->daemon)
		return IDMEFV2_ERR_STATE;
	if (token && !(t = strdup(token)))
		return IDMEFV2_ERR_NOMEM;
	clear_auth(w);
	w->bearer = t;
	return IDMEFV2_OK;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_webhook_add_route(idmefv2_webhook *w, const char *method, const char *path,
                                                       unsigned ok_status, idmefv2_webhook_cb cb,
                                                       void *user_data)
{
	struct route *r;

	if (!w || !method || !*method || !path || path[0] != '/' || !cb || (ok_status != 200 && ok_status != 204))
		return IDMEFV2_ERR_INVALID_ARG;
	if (w->daemon)
		return IDMEFV2_ERR_STATE;
	for (size_t i = 0; i < w->n_routes; i++)
		if (!strcmp(w->routes[i].method, method) && !strcmp(w->routes[i].path, path))
			return IDMEFV2_ERR_INVALID_ARG;
	if (w->n_routes == IDMEFV2_WEBHOOK_MAX_ROUTES)
		return IDMEFV2_ERR_FULL;
	r = &w->routes[w->n_routes];
	r->method = strdup(method);
	r->path = strdup(path);
	if (!r->method || !r->path) {
		free(r->method);
		free(r->path);
		r->method = r->path = NULL;
		return IDMEFV2_ERR_NOMEM;
	}
	r->ok_status = ok_status;
	r->cb = cb;
	r->user_data = user_data;
	w->n_routes++;
	return IDMEFV2_OK;
}

/* ---- request handling ---------------------------------------------------------------------- */

/* Compares in time that depends on the expected length only. */
static bool secret_equal(const char *given, size_t given_len, const char *expected)
{
	size_t len = strlen(expected);
	unsigned char diff = given_len != len;

	for (size_t i = 0; i < len; i++)
		diff |= (unsigned char)expected[i] ^ (unsigned char)(i < given_len ? given[i] : 0);
	return diff == 0;
}

static int b64_value(unsigned char c)
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

/* Decode base64 @s into @out (at least strlen(s) bytes); false when malformed. */
static bool b64_decode(const char *s, char *out, size_t *ret_len)
{
	unsigned acc = 0, bits = 0;
	size_t n = 0;

	for (; *s && *s != '='; s++) {
		int v = b64_value((unsigned char)*s);

		if (v < 0)
			return false;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (char)((acc >> bits) & 0xff);
		}
	}
	for (; *s; s++)
		if (*s != '=')
			return false;
	*ret_len = n;
	return true;
}

static bool authorized(const idmefv2_webhook *w, struct MHD_Connection *conn)
{
	const char *auth;
	bool ok = false;

	if (!w->user && !w->bearer)
		return true;
	auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (!auth)
		return false;
	if (w->bearer) {
		if (strncasecmp(auth, "Bearer ", 7) != 0)
			return false;
		auth += 7;
		while (*auth == ' ')
			auth++;
		return secret_equal(auth, strlen(auth), w->bearer);
	}
	if (strncasecmp(auth, "Basic ", 6) == 0) {
		char *plain;
		size_t len;

		auth += 6;
		while (*auth == ' ')
			auth++;
		plain = malloc(strlen(auth) + 1);
		if (plain && b64_decode(auth, plain, &len)) {
			char *colon = memchr(plain, ':', len);

			if (colon) {
				size_t ulen = (size_t)(colon - plain);
				bool u = secret_equal(plain, ulen, w->user);
				bool p = secret_equal(colon + 1, len - ulen - 1, w->password);

				ok = u && p;
			}
		}
		free(plain);
	}
	return ok;
}

static const char *reason(unsigned status)
{
	switch (status) {
	case 400: return "bad request";
	case 401: return "authentication required";
	case 404: return "no such path";
	case 405: return "method not allowed";
	case 413: return "body too large";
	case 415: return "content type must be application/json";
	case 503: return "temporarily unavailable";
	default: return "internal error";
	}
}

static void count(idmefv2_webhook *w, unsigned status)
{
	atomic_fetch_add(&w->requests, 1);
	if (status < 300) {
		atomic_fetch_add(&w->accepted, 1);
		return;
	}
	atomic_fetch_add(&w->rejected, 1);
	switch (status) {
	case 400: atomic_fetch_add(&w->st400, 1); break;
	case 401: atomic_fetch_add(&w->st401, 1); break;
	case 404: atomic_fetch_add(&w->st404, 1); break;
	case 405: atomic_fetch_add(&w->st405, 1); break;
	case 413: atomic_fetch_add(&w->st413, 1); break;
	case 415: atomic_fetch_add(&w->st415, 1); break;
	case 503: atomic_fetch_add(&w->st503, 1); break;
	default: atomic_fetch_add(&w->st500, 1); break;
	}
}

/* Answer @status; @detail (may be NULL) goes in the JSON error body. */
static enum MHD_Result reply(idmefv2_webhook *w, struct MHD_Connection *conn, unsigned status,
                             const char *detail, const char *allow)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char *text = NULL;
	const char *body = "";
	json_object *o = NULL;

	if (status == 200) {
		body = "OK\n";
	} else if (status >= 300) {
		o = json_object_new_object();
		if (o && json_object_object_add(o, "error", json_object_new_string(detail ? detail : reason(status))) == 0)
			body = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
		text = malloc(strlen(body) + 2);
		if (text)
			body = strcat(strcpy(text, body), "\n");
	}
	count(w, status);
	resp = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	free(text);
	json_object_put(o);
	if (!resp)
		return MHD_NO;
	if (status == 200)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
	else if (status >= 300)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	if (status == 401) {
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		                        w->bearer ? "Bearer realm=\"" REALM "\"" : "Basic realm=\"" REALM "\"");
	} else if (status == 405 && allow) {
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	} else if (status == 503) {
		char ra[16];

		snprintf(ra, sizeof(ra), "%u", w->retry_after);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
	}
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static unsigned verdict_status(idmefv2_error err, unsigned ok_status)
{
	switch (err) {
	case IDMEFV2_OK:
		return ok_status;
	case IDMEFV2_ERR_FULL:
	case IDMEFV2_ERR_CLOSED:
	case IDMEFV2_ERR_TIMEOUT:
	case IDMEFV2_ERR_TRANSPORT:
	case IDMEFV2_ERR_STATE:
		return 503;
	case IDMEFV2_ERR_INVALID_ARG:
	case IDMEFV2_ERR_PARSE:
	case IDMEFV2_ERR_NOT_OBJECT:
	case IDMEFV2_ERR_TYPE:
	case IDMEFV2_ERR_NOT_FOUND:
	case IDMEFV2_ERR_PATH:
	case IDMEFV2_ERR_INVALID:
	case IDMEFV2_ERR_VERSION:
		return 400;
	default:
		return 500;
	}
}

/* Decide what the headers alone decide: 0 when the body must be read and routed. */
static unsigned request_check(idmefv2_webhook *w, struct MHD_Connection *conn, const char *method,
                              const char *url, struct request *rq)
{
	const char *ct, *cl;
	bool path_known = false;
	size_t allow_len = 0;

	if (!authorized(w, conn))
		return 401;
	for (size_t i = 0; i < w->n_routes; i++) {
		if (strcmp(w->routes[i].path, url) != 0)
			continue;
		path_known = true;
		allow_len += strlen(w->routes[i].method) + 2;
		if (!strcmp(w->routes[i].method, method))
			rq->route = &w->routes[i];
	}
	if (!path_known)
		return 404;
	if (!rq->route) {
		rq->allow = calloc(1, allow_len + 1);
		for (size_t i = 0; rq->allow && i < w->n_routes; i++) {
			if (strcmp(w->routes[i].path, url) != 0)
				continue;
			if (*rq->allow)
				strcat(rq->allow, ", ");
			strcat(rq->allow, w->routes[i].method);
		}
		return 405;
	}
	cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl) {
		char *end;
		unsigned long long n = strtoull(cl, &end, 10);

		if (end != cl && !*end && n > w->max_body)
			return 413;
		if (end != cl && !*end && n == 0)
			return 0;
	} else if (!MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING)) {
		return 0; /* no body */
	}
	ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	if (!ct || !idmefv2_content_type_supported(ct))
		return 415;
	return 0;
}

static enum MHD_Result request_end(idmefv2_webhook *w, struct MHD_Connection *conn, const char *method,
                                   const char *url, struct request *rq)
{
	json_object *body = NULL;
	char err[256] = "";
	idmefv2_error e;

	if (rq->status)
		return reply(w, conn, rq->status, NULL, rq->allow);
	if (rq->len) {
		e = idmefv2_json_parse(rq->body, rq->len, &body, err, sizeof(err));
		if (e != IDMEFV2_OK)
			return reply(w, conn, 400, err[0] ? err : "malformed JSON", NULL);
	}
	e = rq->route->cb(body, method, url, rq->route->user_data);
	json_object_put(body);
	if (e != IDMEFV2_OK)
		snprintf(err, sizeof(err), "%s", idmefv2_strerror(e));
	return reply(w, conn, verdict_status(e, rq->route->ok_status), err[0] ? err : NULL, NULL);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
	idmefv2_webhook *w = cls;
	struct request *rq = *con_cls;

	(void)version;
	if (!rq) {
		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
		rq->status = request_check(w, conn, method, url, rq);
		return MHD_YES;
	}
	if (*upload_data_size == 0)
		return request_end(w, conn, method, url, rq);

	if (rq->status) {
		rq->discarded += *upload_data_size;
		*upload_data_size = 0;
		/* A client that keeps sending after being refused is cut short. */
		if (rq->discarded > DRAIN_LIMIT)
			return reply(w, conn, rq->status, NULL, rq->allow);
		return MHD_YES;
	}
	if (*upload_data_size > w->max_body - rq->len) {
		rq->status = 413;
		rq->discarded = *upload_data_size;
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (rq->len + *upload_data_size + 1 > rq->cap) {
		size_t cap = rq->cap ? rq->cap : 4096;
		char *p;

		while (cap < rq->len + *upload_data_size + 1)
			cap *= 2;
		p = realloc(rq->body, cap);
		if (!p)
			return MHD_NO;
		rq->body = p;
		rq->cap = cap;
	}
	memcpy(rq->body + rq->len, upload_data, *upload_data_size);
	rq->len += *upload_data_size;
	rq->body[rq->len] = '\0';
	*upload_data_size = 0;
	return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct request *rq = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (!rq)
		return;
	free(rq->body);
	free(rq->allow);
	free(rq);
	*con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	idmefv2_webhook *w = cls;
	char buf[512];
	size_t n;

	if (!w->log_cb)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	w->log_cb(IDMEFV2_LOG_WARNING, buf, w->log_data);
}

IDMEFV2_EXPORT idmefv2_error idmefv2_webhook_start(idmefv2_webhook *w, char *errstr, size_t errstr_size)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	struct MHD_OptionItem limit[2] = { { MHD_OPTION_END, 0, NULL }, { MHD_OPTION_END, 0, NULL } };
	const union MHD_DaemonInfo *info;
	struct sockaddr_storage bound;
	socklen_t bound_len = sizeof(bound);

	if (!w)
		return IDMEFV2_ERR_INVALID_ARG;
	if (w->daemon || !w->n_routes) {
		idmefv2__set_error(errstr, errstr_size, w->daemon ? "already started" : "no route registered");
		return IDMEFV2_ERR_STATE;
	}
	if (w->addr.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/*
	 * A pool shares connections between its threads as they come, so two
	 * connections may wait on one thread: a thread per connection, bounded,
	 * is what lets a blocking callback hold up nobody else.
	 */
	if (w->threads > 1) {
		flags |= MHD_USE_THREAD_PER_CONNECTION;
		limit[0] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT, (intptr_t)w->threads, NULL };
	}
	/* The logger first: libmicrohttpd warns about (and misroutes) messages of options before it. */
	w->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, w,
	                             MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, w,
	                             MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&w->addr,
	                             MHD_OPTION_CONNECTION_TIMEOUT, IDLE_TIMEOUT_S,
	                             MHD_OPTION_NOTIFY_COMPLETED, on_completed, w,
	                             MHD_OPTION_ARRAY, limit,
	                             MHD_OPTION_END);
	if (!w->daemon) {
		idmefv2__set_error(errstr, errstr_size, "cannot start the webhook listener (address in use or not available?)");
		logf_(w, IDMEFV2_LOG_ERROR, "webhook: cannot start the listener");
		return IDMEFV2_ERR_TRANSPORT;
	}
	info = MHD_get_daemon_info(w->daemon, MHD_DAEMON_INFO_LISTEN_FD);
	if (!info || getsockname(info->listen_fd, (struct sockaddr *)&bound, &bound_len) != 0) {
		idmefv2__set_error(errstr, errstr_size, "cannot read the bound address");
		MHD_stop_daemon(w->daemon);
		w->daemon = NULL;
		return IDMEFV2_ERR_TRANSPORT;
	}
	if (bound.ss_family == AF_INET6)
		w->port = ntohs(((struct sockaddr_in6 *)&bound)->sin6_port);
	else
		w->port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
	logf_(w, IDMEFV2_LOG_INFO, "webhook: listening on port %u", w->port);
	return IDMEFV2_OK;
}

IDMEFV2_EXPORT unsigned idmefv2_webhook_get_port(const idmefv2_webhook *w)
{
	return w ? w->port : 0;
}

IDMEFV2_EXPORT void idmefv2_webhook_stop(idmefv2_webhook *w)
{
	if (!w || !w->daemon)
		return;
	MHD_stop_daemon(w->daemon);
	w->daemon = NULL;
	w->port = 0;
}

IDMEFV2_EXPORT void idmefv2_webhook_get_counters(const idmefv2_webhook *w, idmefv2_webhook_counters *ret_counters)
{
	idmefv2_webhook *m = (idmefv2_webhook *)w;

	if (!ret_counters)
		return;
	memset(ret_counters, 0, sizeof(*ret_counters));
	if (!w)
		return;
	ret_counters->requests = atomic_load(&m->requests);
	ret_counters->accepted = atomic_load(&m->accepted);
	ret_counters->rejected = atomic_load(&m->rejected);
	ret_counters->bad_request = atomic_load(&m->st400);
	ret_counters->unauthorized = atomic_load(&m->st401);
	ret_counters->not_found = atomic_load(&m->st404);
	ret_counters->bad_method = atomic_load(&m->st405);
	ret_counters->too_large = atomic_load(&m->st413);
	ret_counters->bad_type = atomic_load(&m->st415);
	ret_counters->internal_error = atomic_load(&m->st500);
	ret_counters->unavailable = atomic_load(&m->st503);
}
