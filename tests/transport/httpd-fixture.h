/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small scripted HTTP(S) server for the sender's tests (libmicrohttpd on
 * 127.0.0.1), and a throw-away PKI made with the GnuTLS API.
 *
 * The server records every request (method, path, Content-Type,
 * Authorization, body, arrival time, whether a client certificate was
 * verified) and answers from a script of status codes, 204 once the script
 * is used up. It can be taken down and brought up again on the same port.
 */
#ifndef HTTPD_FIXTURE_H
#define HTTPD_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Certificates and keys in a temporary directory. */
struct httpd_pki {
	char dir[256];
	char ca_cert[320];       /* the CA that signed the server and the client */
	char other_ca_cert[320]; /* an unrelated CA */
	char server_cert[320];   /* SAN: DNS localhost, IP 127.0.0.1 */
	char server_key[320];
	char client_cert[320];   /* CN idmefv2-test-client */
	char client_key[320];    /* PKCS#8, encrypted with client_key_password */
	const char *client_key_password;
	char *ca_pem;            /* the same, in memory, for the server */
	char *server_cert_pem;
	char *server_key_pem;
};

/* @return 0, or -1 with a message in @err. */
int httpd_pki_make(struct httpd_pki *pki, char *err, size_t err_size);
/* Remove the files and free the memory. */
void httpd_pki_clear(struct httpd_pki *pki);

struct httpd_fixture_opts {
	const char *cert_pem;  /* HTTPS when set, with key_pem */
	const char *key_pem;
	const char *trust_pem; /* require a client certificate verified against it (403 otherwise) */
};

struct httpd_request {
	char *method;
	char *path;
	char *content_type;    /* NULL if absent */
	char *authorization;   /* NULL if absent */
	char *body;            /* NUL-terminated */
	size_t len;
	int status;            /* the status answered */
	int64_t at_ms;         /* monotonic arrival time (end of body) */
	bool client_cert_ok;
};

struct httpd_fixture;

/* Start on 127.0.0.1, port chosen by the system. @opts may be NULL (plain HTTP). */
struct httpd_fixture *httpd_fixture_new(const struct httpd_fixture_opts *opts, char *err, size_t err_size);
void httpd_fixture_free(struct httpd_fixture *f);
unsigned httpd_fixture_port(const struct httpd_fixture *f);

/* Answer the next @n requests with @statuses in turn (appended to what is left of the script). */
void httpd_fixture_script(struct httpd_fixture *f, const int *statuses, size_t n);
/* The status answered once the script is used up (default 204). */
void httpd_fixture_set_default_status(struct httpd_fixture *f, int status);
/* A Retry-After value sent with 429 and 503 answers (NULL: none). Copied. */
void httpd_fixture_set_retry_after(struct httpd_fixture *f, const char *value);
/* The body of non-2xx answers. Copied. */
void httpd_fixture_set_error_body(struct httpd_fixture *f, const char *body);
/* While held, requests are recorded but not answered. */
void httpd_fixture_hold(struct httpd_fixture *f, bool hold);

/* Stop listening (connections refused) / listen again on the same port. 0 or -1. */
int httpd_fixture_down(struct httpd_fixture *f);
int httpd_fixture_up(struct httpd_fixture *f);

size_t httpd_fixture_count(struct httpd_fixture *f);
/* Wait until at least @n requests were recorded. */
bool httpd_fixture_wait_count(struct httpd_fixture *f, size_t n, int timeout_ms);
/* The @i-th request recorded; valid until httpd_fixture_free(). */
const struct httpd_request *httpd_fixture_request(struct httpd_fixture *f, size_t i);
/* TCP connections accepted so far. */
unsigned httpd_fixture_connections(struct httpd_fixture *f);

int64_t httpd_now_ms(void);

#endif
