/* SPDX-License-Identifier: Apache-2.0 */
#include "poller-fixture.h"

#include <check.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if MHD_VERSION < 0x00097002
typedef int MHD_Result;
#else
typedef enum MHD_Result MHD_Result;
#endif

struct poller_fixture {
	struct MHD_Daemon *daemon;
	unsigned port;
	pthread_mutex_t lock;
	unsigned status;
	char *reply;
	unsigned requests;
	char auth[512];
	char method[16];
	char body[4096];
	char url[256];
};

/* Upload state of one request, kept until the request completes. */
typedef struct {
	char buf[4096];
	size_t len;
} upload;

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	free(*con_cls);
	*con_cls = NULL;
}

static MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                             const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	poller_fixture *f = cls;
	upload *u = *con_cls;
	struct MHD_Response *resp;
	const char *auth;
	MHD_Result ret;
	unsigned status;
	char *reply;

	(void)url;
	(void)version;
	if (!u) {
		u = calloc(1, sizeof(*u));
		if (!u)
			return MHD_NO;
		*con_cls = u;
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t room = sizeof(u->buf) - 1 - u->len;
		size_t n = *upload_data_size < room ? *upload_data_size : room;

		memcpy(u->buf + u->len, upload_data, n);
		u->len += n;
		*upload_data_size = 0;
		return MHD_YES;
	}
	auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	pthread_mutex_lock(&f->lock);
	f->requests++;
	snprintf(f->auth, sizeof(f->auth), "%s", auth ? auth : "");
	snprintf(f->method, sizeof(f->method), "%s", method);
	snprintf(f->body, sizeof(f->body), "%s", u->buf);
	status = f->status;
	reply = strdup(f->reply ? f->reply : "");
	pthread_mutex_unlock(&f->lock);
	if (!reply)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(strlen(reply), reply, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(reply);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

poller_fixture *poller_fixture_start(void)
{
	poller_fixture *f = calloc(1, sizeof(*f));
	const union MHD_DaemonInfo *info;
	struct sockaddr_in addr;

	ck_assert_ptr_nonnull(f);
	pthread_mutex_init(&f->lock, NULL);
	f->status = 200;
	f->reply = strdup("[]");
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = 0;
	f->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, f,
	                             MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED,
	                             on_completed, NULL, MHD_OPTION_END);
	ck_assert_ptr_nonnull(f->daemon);
	info = MHD_get_daemon_info(f->daemon, MHD_DAEMON_INFO_BIND_PORT);
	ck_assert_ptr_nonnull(info);
	f->port = info->port;
	ck_assert_uint_ne(f->port, 0);
	return f;
}

void poller_fixture_stop(poller_fixture *f)
{
	if (!f)
		return;
	MHD_stop_daemon(f->daemon);
	pthread_mutex_destroy(&f->lock);
	free(f->reply);
	free(f);
}

const char *poller_fixture_url(poller_fixture *f, const char *path)
{
	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%u%s", f->port, path);
	return f->url;
}

void poller_fixture_set_reply(poller_fixture *f, unsigned status, const char *body)
{
	char *copy = strdup(body);

	ck_assert_ptr_nonnull(copy);
	pthread_mutex_lock(&f->lock);
	free(f->reply);
	f->reply = copy;
	f->status = status;
	pthread_mutex_unlock(&f->lock);
}

unsigned poller_fixture_requests(poller_fixture *f)
{
	unsigned n;

	pthread_mutex_lock(&f->lock);
	n = f->requests;
	pthread_mutex_unlock(&f->lock);
	return n;
}

void poller_fixture_last(poller_fixture *f, char *auth, size_t auth_size, char *method, size_t method_size,
                         char *body, size_t body_size)
{
	pthread_mutex_lock(&f->lock);
	snprintf(auth, auth_size, "%s", f->auth);
	snprintf(method, method_size, "%s", f->method);
	snprintf(body, body_size, "%s", f->body);
	pthread_mutex_unlock(&f->lock);
}
