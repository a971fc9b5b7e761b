/* SPDX-License-Identifier: Apache-2.0 */
/* TLS connection helpers of the client. */
#ifndef ESTREAMER_TLS_PRIVATE_H
#define ESTREAMER_TLS_PRIVATE_H

#include <stdint.h>

#include <gnutls/gnutls.h>

#include "estreamer-private.h"

/* Internal result: estreamer_client_stop() was called. */
#define ESTREAMER__STOPPED ((estreamer_error)1000)

struct estreamer__tls_config {
	const char *host, *port;
	const char *pkcs12, *password, *cert, *key, *ca, *priority;
	const char *server_name; /* expected in the certificate; "" or NULL: host */
	int verify, verify_hostname, min_version, connect_timeout_ms;
};

struct estreamer__conn {
	int fd;
	gnutls_session_t session;
};

int64_t estreamer__now_ms(void);
estreamer_error estreamer__tls_credentials(const struct estreamer__tls_config *cfg,
					   gnutls_certificate_credentials_t *ret_cred,
					   char *errstr, size_t size);
estreamer_error estreamer__tls_open(struct estreamer__conn *conn,
				    const struct estreamer__tls_config *cfg,
				    gnutls_certificate_credentials_t cred, int wake_fd,
				    char *errstr, size_t size);
void estreamer__tls_close(struct estreamer__conn *conn);
estreamer_error estreamer__tls_write(struct estreamer__conn *conn, const uint8_t *buf, size_t len,
				     int timeout_ms, int wake_fd, char *errstr, size_t size);
/* Reads exactly len bytes; extra_fd readable calls on_extra (plugin directory changes). */
estreamer_error estreamer__tls_read(struct estreamer__conn *conn, uint8_t *buf, size_t len,
				    int first_timeout_ms, int rest_timeout_ms, int wake_fd,
				    int extra_fd, void (*on_extra)(void *), void *extra_user,
				    char *errstr, size_t size);

#endif
