/* SPDX-License-Identifier: Apache-2.0 */
/* The HTTP listener tests' tools: the curl program and certtool, run as child processes. */
#ifndef IDMEFV2_TEST_LISTEN_SUPPORT_H
#define IDMEFV2_TEST_LISTEN_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What one run of curl saw. */
struct listen_reply {
	int exit_code;      /* curl's: 0, or e.g. 7 (refused), 35 (TLS handshake), 56 (receive) */
	unsigned status;    /* the final HTTP status, 0 if none */
	uint64_t uploaded;  /* request body bytes curl sent */
	char *headers;      /* every header block received (100 Continue included) */
	char *body;         /* the final response body, NUL-terminated */
};

/*
 * Run `curl -sS --max-time 60 ARGS...` (@args NULL-terminated) with its
 * output in @dir. Returns false if curl could not be run at all.
 */
bool listen_curl(const char *dir, const char *const *args, struct listen_reply *ret);
void listen_reply_clear(struct listen_reply *r);
/* The value of the last header @name (case-insensitive) in a static buffer, or NULL. */
const char *listen_reply_header(const struct listen_reply *r, const char *name);

/*
 * Make with certtool, in @dir: ca.pem (+ ca-key.pem), server.pem/server-key.pem
 * (localhost, 127.0.0.1), client.pem/client-key.pem ("client1.example", signed
 * by ca), other.pem/other-key.pem ("client2.example", signed by ca) and
 * rogue.pem/rogue-key.pem ("client1.example", signed by an unrelated CA).
 */
bool listen_make_certs(const char *dir);

#endif
