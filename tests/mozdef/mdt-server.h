/* SPDX-License-Identifier: Apache-2.0 */
/* An in-process HTTP server on 127.0.0.1 for the libmozdef tests: it records
 * every request and answers with scripted statuses or a handler's answer. */
#ifndef MDT_SERVER_H
#define MDT_SERVER_H

#include <stdbool.h>
#include <stddef.h>

struct mdt_request {
	char *method;
	char *url;
	char *content_type;
	char *host;
	char *authorization;
	char *amz_date;
	char *security_token;
	char *body;
	size_t len;
};

/* Decide the answer to @req: set *status and optionally *body (malloc'd, taken). */
typedef void (*mdt_handler)(void *cls, const struct mdt_request *req, int *status, char **body);

struct mdt_server;

/* Start on an ephemeral port; NULL on failure. */
struct mdt_server *mdt_server_start(void);
/* The same over TLS with this PEM key and certificate (copied). */
struct mdt_server *mdt_server_start_tls(const char *key_pem, const char *cert_pem);
void mdt_server_stop(struct mdt_server *s);
unsigned mdt_server_port(const struct mdt_server *s);
/* http(s)://127.0.0.1:PORT@path, in a buffer owned by the server (one at a time). */
const char *mdt_server_url(struct mdt_server *s, const char *path);
/* Status of every request not covered by the script (200 at start). */
void mdt_server_set_status(struct mdt_server *s, int status);
/* The next @n requests get @statuses in order. */
void mdt_server_script(struct mdt_server *s, const int *statuses, size_t n);
void mdt_server_set_handler(struct mdt_server *s, mdt_handler h, void *cls);
/* Requests received so far. */
size_t mdt_server_count(struct mdt_server *s);
/* The i-th request; valid until the server stops. */
const struct mdt_request *mdt_server_request(struct mdt_server *s, size_t i);

/* A TCP port on 127.0.0.1 that nothing listens on (bound, then closed). */
unsigned mdt_free_port(void);

#endif
