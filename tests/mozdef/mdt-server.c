/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "mdt-server.h"

struct pending {
	char *body;
	size_t len;
};

struct mdt_server {
	struct MHD_Daemon *daemon;
	char *key_pem, *cert_pem;
	unsigned port;
	char urlbuf[512];
	pthread_mutex_t lock;
	int status;
	int *script;
	size_t script_n, script_pos;
	mdt_handler handler;
	void *handler_cls;
	struct mdt_request **reqs;
	size_t n, cap;
};

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
	struct mdt_server *s = cls;
	struct pending *p = *con_cls;
	struct mdt_request *r;
	struct MHD_Response *resp;
	char *answer = NULL;
	int status;
	enum MHD_Result ret;

	(void)version;
	if (!p) {
		p = calloc(1, sizeof(*p));
		*con_cls = p;
		return p ? MHD_YES : MHD_NO;
	}
	if (*upload_data_size) {
		char *nb = realloc(p->body, p->len + *upload_data_size + 1);
		if (!nb)
			return MHD_NO;
		p->body = nb;
		memcpy(p->body + p->len, upload_data, *upload_data_size);
		p->len += *upload_data_size;
		p->body[p->len] = '\0';
		*upload_data_size = 0;
		return MHD_YES;
	}
	r = calloc(1, sizeof(*r));
	r->method = strdup(method);
	r->url = strdup(url);
	r->content_type = dup_or_null(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type"));
	r->host = dup_or_null(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host"));
	r->authorization = dup_or_null(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization"));
	r->amz_date = dup_or_null(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Amz-Date"));
	r->security_token = dup_or_null(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Amz-Security-Token"));
	r->body = p->body ? p->body : strdup("");
	r->len = p->len;
	p->body = NULL;

	pthread_mutex_lock(&s->lock);
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->reqs = realloc(s->reqs, s->cap * sizeof(*s->reqs));
	}
	s->reqs[s->n++] = r;
	status = s->script_pos < s->script_n ? s->script[s->script_pos++] : s->status;
	mdt_handler h = s->handler;
	void *hcls = s->handler_cls;
	pthread_mutex_unlock(&s->lock);
	if (h)
		h(hcls, r, &status, &answer);

	resp = MHD_create_response_from_buffer(answer ? strlen(answer) : 0, answer ? answer : (void *)"",
	                                       answer ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct pending *p = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (p) {
		free(p->body);
		free(p);
		*con_cls = NULL;
	}
}

struct mdt_server *mdt_server_start_tls(const char *key_pem, const char *cert_pem)
{
	struct mdt_server *s = calloc(1, sizeof(*s));
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = 0 };
	const union MHD_DaemonInfo *info;
	struct MHD_OptionItem tls[3] = { { MHD_OPTION_END, 0, NULL } };
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	pthread_mutex_init(&s->lock, NULL);
	s->status = 200;
	if (key_pem && cert_pem) {
		/* libmicrohttpd keeps the pointers: the server owns copies. */
		s->key_pem = strdup(key_pem);
		s->cert_pem = strdup(cert_pem);
		tls[0] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, s->key_pem };
		tls[1] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, s->cert_pem };
		flags |= MHD_USE_TLS;
	}
	s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, &sin,
	                             MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_CONNECTION_LIMIT, 256,
	                             MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
	if (!s->daemon) {
		free(s->key_pem);
		free(s->cert_pem);
		free(s);
		return NULL;
	}
	info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : 0;
	return s;
}

struct mdt_server *mdt_server_start(void)
{
	return mdt_server_start_tls(NULL, NULL);
}

static void request_free(struct mdt_request *r)
{
	free(r->method);
	free(r->url);
	free(r->content_type);
	free(r->host);
	free(r->authorization);
	free(r->amz_date);
	free(r->security_token);
	free(r->body);
	free(r);
}

void mdt_server_stop(struct mdt_server *s)
{
	if (!s)
		return;
	MHD_stop_daemon(s->daemon);
	for (size_t i = 0; i < s->n; i++)
		request_free(s->reqs[i]);
	free(s->reqs);
	free(s->script);
	free(s->key_pem);
	free(s->cert_pem);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

unsigned mdt_server_port(const struct mdt_server *s)
{
	return s->port;
}

const char *mdt_server_url(struct mdt_server *s, const char *path)
{
	snprintf(s->urlbuf, sizeof(s->urlbuf), "%s://127.0.0.1:%u%s", s->cert_pem ? "https" : "http", s->port, path);
	return s->urlbuf;
}

void mdt_server_set_status(struct mdt_server *s, int status)
{
	pthread_mutex_lock(&s->lock);
	s->status = status;
	pthread_mutex_unlock(&s->lock);
}

void mdt_server_script(struct mdt_server *s, const int *statuses, size_t n)
{
	pthread_mutex_lock(&s->lock);
	free(s->script);
	s->script = malloc(n * sizeof(int));
	memcpy(s->script, statuses, n * sizeof(int));
	s->script_n = n;
	s->script_pos = 0;
	pthread_mutex_unlock(&s->lock);
}

void mdt_server_set_handler(struct mdt_server *s, mdt_handler h, void *cls)
{
	pthread_mutex_lock(&s->lock);
	s->handler = h;
	s->handler_cls = cls;
	pthread_mutex_unlock(&s->lock);
}

size_t mdt_server_count(struct mdt_server *s)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = s->n;
	pthread_mutex_unlock(&s->lock);
	return n;
}

const struct mdt_request *mdt_server_request(struct mdt_server *s, size_t i)
{
	const struct mdt_request *r = NULL;

	pthread_mutex_lock(&s->lock);
	if (i < s->n)
		r = s->reqs[i];
	pthread_mutex_unlock(&s->lock);
	return r;
}

unsigned mdt_free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = 0 };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	unsigned port = 0;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}
