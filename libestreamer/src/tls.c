/* SPDX-License-Identifier: Apache-2.0 */
/* TCP connection and GnuTLS session with mutual authentication. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/pkcs12.h>
#include <gnutls/x509.h>

#include "tls-private.h"

int64_t estreamer__now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static estreamer_error load_pkcs12(gnutls_certificate_credentials_t cred, const char *path,
				   const char *password, int use_ca, int *ret_trusted,
				   char *errstr, size_t size)
{
	gnutls_datum_t data = { NULL, 0 };
	gnutls_pkcs12_t p12 = NULL;
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t *chain = NULL, *extra = NULL;
	unsigned chain_size = 0, extra_size = 0;
	estreamer_error err = ESTREAMER_ERR_CREDENTIALS;
	int ret;

	ret = gnutls_load_file(path, &data);
	if (ret < 0) {
		err = estreamer__fail(errstr, size, ESTREAMER_ERR_CREDENTIALS,
				      "PKCS#12 file %s: cannot be read", path);
		goto out;
	}
	if (gnutls_pkcs12_init(&p12) < 0) {
		err = ESTREAMER_ERR_NOMEM;
		goto out;
	}
	ret = gnutls_pkcs12_import(p12, &data, GNUTLS_X509_FMT_DER, 0);
	if (ret < 0)
		ret = gnutls_pkcs12_import(p12, &data, GNUTLS_X509_FMT_PEM, 0);
	if (ret < 0) {
		estreamer__fail(errstr, size, err, "PKCS#12 file %s: not PKCS#12 (%s)", path,
				gnutls_strerror(ret));
		goto out;
	}
	ret = gnutls_pkcs12_verify_mac(p12, password ? password : "");
	if (ret == GNUTLS_E_MAC_VERIFY_FAILED) {
		estreamer__fail(errstr, size, err,
				"PKCS#12 file %s: wrong password (integrity check failed)", path);
		goto out;
	}
	ret = gnutls_pkcs12_simple_parse(p12, password ? password : "", &key, &chain, &chain_size,
					 &extra, &extra_size, NULL, 0);
	if (ret == GNUTLS_E_DECRYPTION_FAILED || ret == GNUTLS_E_MAC_VERIFY_FAILED) {
		estreamer__fail(errstr, size, err, "PKCS#12 file %s: wrong password", path);
		goto out;
	}
	if (ret < 0 || !key || chain_size == 0) {
		estreamer__fail(errstr, size, err,
				"PKCS#12 file %s: no usable certificate and key (%s)", path,
				ret < 0 ? gnutls_strerror(ret) : "missing");
		goto out;
	}
	ret = gnutls_certificate_set_x509_key(cred, chain, chain_size, key);
	if (ret < 0) {
		estreamer__fail(errstr, size, err, "PKCS#12 file %s: %s", path,
				gnutls_strerror(ret));
		goto out;
	}
	/* The server's certificate is issued by the CA shipped in the bundle. */
	if (use_ca && extra_size > 0) {
		ret = gnutls_certificate_set_x509_trust(cred, extra, (int)extra_size);
		if (ret > 0)
			*ret_trusted += ret;
	}
	err = ESTREAMER_OK;
out:
	for (unsigned i = 0; i < chain_size; i++)
		gnutls_x509_crt_deinit(chain[i]);
	for (unsigned i = 0; i < extra_size; i++)
		gnutls_x509_crt_deinit(extra[i]);
	gnutls_free(chain);
	gnutls_free(extra);
	if (key)
		gnutls_x509_privkey_deinit(key);
	if (p12)
		gnutls_pkcs12_deinit(p12);
	if (data.data) {
		gnutls_memset(data.data, 0, data.size);
		gnutls_free(data.data);
	}
	return err;
}

estreamer_error estreamer__tls_credentials(const struct estreamer__tls_config *cfg,
					   gnutls_certificate_credentials_t *ret_cred,
					   char *errstr, size_t size)
{
	gnutls_certificate_credentials_t cred;
	estreamer_error err;
	int trusted = 0, ret;

	if (gnutls_certificate_allocate_credentials(&cred) < 0)
		return ESTREAMER_ERR_NOMEM;
	if (cfg->pkcs12 && *cfg->pkcs12) {
		err = load_pkcs12(cred, cfg->pkcs12, cfg->password, !(cfg->ca && *cfg->ca),
				  &trusted, errstr, size);
		if (err)
			goto fail;
	} else if (cfg->cert && *cfg->cert && cfg->key && *cfg->key) {
		ret = gnutls_certificate_set_x509_key_file2(
			cred, cfg->cert, cfg->key, GNUTLS_X509_FMT_PEM,
			cfg->password && *cfg->password ? cfg->password : NULL,
			cfg->password && *cfg->password ? 0 : GNUTLS_PKCS_PLAIN);
		if (ret < 0) {
			err = estreamer__fail(errstr, size, ESTREAMER_ERR_CREDENTIALS,
					      "client certificate %s / key %s: %s", cfg->cert,
					      cfg->key, gnutls_strerror(ret));
			goto fail;
		}
	} else {
		err = estreamer__fail(errstr, size, ESTREAMER_ERR_CREDENTIALS,
				      "no client certificate: set tls.pkcs12 (or tls.cert and "
				      "tls.key); the server requires one");
		goto fail;
	}
	if (cfg->ca && *cfg->ca) {
		ret = gnutls_certificate_set_x509_trust_file(cred, cfg->ca, GNUTLS_X509_FMT_PEM);
		if (ret <= 0) {
			err = estreamer__fail(errstr, size, ESTREAMER_ERR_CREDENTIALS,
					      "CA file %s: %s", cfg->ca,
					      ret < 0 ? gnutls_strerror(ret) : "no certificate");
			goto fail;
		}
		trusted += ret;
	}
	if (cfg->verify && trusted == 0) {
		err = estreamer__fail(errstr, size, ESTREAMER_ERR_CREDENTIALS,
				      "no CA to verify the server with: the PKCS#12 file holds "
				      "none; set tls.ca (or tls.verify=false)");
		goto fail;
	}
	*ret_cred = cred;
	return ESTREAMER_OK;
fail:
	gnutls_certificate_free_credentials(cred);
	return err;
}

static int wait_fd(int fd, short events, int timeout_ms, int wake_fd)
{
	struct pollfd p[2] = { { fd, events, 0 }, { wake_fd, POLLIN, 0 } };
	int n;

	do
		n = poll(p, wake_fd >= 0 ? 2 : 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if (wake_fd >= 0 && (p[1].revents & POLLIN))
		return 2;
	return n > 0 ? 1 : 0;
}

static estreamer_error tcp_connect(const char *host, const char *port, int timeout_ms, int wake_fd,
				   int *ret_fd, char *errstr, size_t size)
{
	struct addrinfo hints = { 0 }, *res = NULL, *ai;
	int ret, fd = -1, e = 0;
	estreamer_error err = ESTREAMER_ERR_CONNECT;

	hints.ai_socktype = SOCK_STREAM;
	hints.ai_family = AF_UNSPEC;
	ret = getaddrinfo(host, port, &hints, &res);
	if (ret != 0)
		return estreamer__fail(errstr, size, ESTREAMER_ERR_CONNECT, "%s:%s: %s", host, port,
				       gai_strerror(ret));
	for (ai = res; ai; ai = ai->ai_next) {
		socklen_t len = sizeof(e);

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		e = errno;
		if (e == EINPROGRESS) {
			ret = wait_fd(fd, POLLOUT, timeout_ms, wake_fd);
			if (ret == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) == 0 && e == 0)
				break;
			if (ret == 0) {
				e = ETIMEDOUT;
				err = ESTREAMER_ERR_TIMEOUT;
			}
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return estreamer__fail(errstr, size, err, "connect to %s:%s: %s", host, port,
				       strerror(e));
	*ret_fd = fd;
	return ESTREAMER_OK;
}

static const char *priority_for(const struct estreamer__tls_config *cfg)
{
	if (cfg->priority && *cfg->priority)
		return cfg->priority;
	switch (cfg->min_version) {
	case 10:
		return "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:+VERS-TLS1.1:+VERS-TLS1.0";
	case 11:
		return "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:+VERS-TLS1.1";
	case 13:
		return "NORMAL:-VERS-ALL:+VERS-TLS1.3";
	default:
		return "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2";
	}
}

/*
 * Alerts by which a server refuses this client (its certificate, or the TLS
 * parameters it offers): retrying with the same configuration cannot succeed.
 */
static int alert_is_refusal(gnutls_alert_description_t a)
{
	static const gnutls_alert_description_t refusals[] = {
		GNUTLS_A_HANDSHAKE_FAILURE, GNUTLS_A_BAD_CERTIFICATE,
		GNUTLS_A_UNSUPPORTED_CERTIFICATE, GNUTLS_A_CERTIFICATE_REVOKED,
		GNUTLS_A_CERTIFICATE_EXPIRED, GNUTLS_A_CERTIFICATE_UNKNOWN,
		GNUTLS_A_UNKNOWN_CA, GNUTLS_A_ACCESS_DENIED,
		GNUTLS_A_PROTOCOL_VERSION, GNUTLS_A_INSUFFICIENT_SECURITY,
		GNUTLS_A_CERTIFICATE_REQUIRED,
	};

	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++)
		if (a == refusals[i])
			return 1;
	return 0;
}

static estreamer_error alert_error(gnutls_session_t s, const char *what, char *errstr,
				   size_t size)
{
	gnutls_alert_description_t a = gnutls_alert_get(s);

	if (alert_is_refusal(a))
		return estreamer__fail(errstr, size, ESTREAMER_ERR_REFUSED,
				       "%s: the server refused this client (alert: %s); check the "
				       "client certificate and its registration on the server",
				       what, gnutls_alert_get_name(a));
	return estreamer__fail(errstr, size, ESTREAMER_ERR_TLS, "%s: the server refused (alert: %s)",
			       what, gnutls_alert_get_name(a));
}

static void append(char *out, size_t size, const char *kind, const char *name)
{
	size_t len = strlen(out);

	if (len < size)
		snprintf(out + len, size - len, "%s%s:%s", len ? ", " : "", kind, name);
}

/* The names a certificate answers to under RFC 6125: its DNS and IP SANs, else its CN. */
static void peer_names(gnutls_session_t s, char *out, size_t size)
{
	const gnutls_datum_t *certs;
	gnutls_x509_crt_t crt;
	unsigned n = 0;

	snprintf(out, size, "no names");
	certs = gnutls_certificate_get_peers(s, &n);
	if (!certs || n == 0 || gnutls_x509_crt_init(&crt) < 0)
		return;
	out[0] = '\0';
	if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) == 0) {
		for (unsigned i = 0;; i++) {
			char name[256], text[INET6_ADDRSTRLEN];
			size_t len = sizeof(name) - 1;
			unsigned critical;
			int type = gnutls_x509_crt_get_subject_alt_name(crt, i, name, &len,
									&critical);

			if (type == GNUTLS_E_SHORT_MEMORY_BUFFER)
				continue;
			if (type < 0)
				break;
			if (type == GNUTLS_SAN_DNSNAME) {
				name[len] = '\0';
				append(out, size, "DNS", name);
			} else if (type == GNUTLS_SAN_IPADDRESS &&
				   inet_ntop(len == 4 ? AF_INET : AF_INET6, name, text, sizeof(text))) {
				append(out, size, "IP", text);
			}
		}
		if (!out[0]) {
			char cn[256];
			size_t len = sizeof(cn);

			if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn,
							  &len) == 0)
				append(out, size, "CN", cn);
		}
	}
	gnutls_x509_crt_deinit(crt);
	if (!out[0])
		snprintf(out, size, "no names");
}

static const char *expected_name(const struct estreamer__tls_config *cfg)
{
	return cfg->server_name && *cfg->server_name ? cfg->server_name : cfg->host;
}

static estreamer_error handshake_error(gnutls_session_t s, int ret,
				       const struct estreamer__tls_config *cfg, char *errstr,
				       size_t size)
{
	const char *host = cfg->host, *port = cfg->port;

	if (ret == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR || ret == GNUTLS_E_CERTIFICATE_ERROR) {
		gnutls_datum_t out = { NULL, 0 };
		unsigned status = gnutls_session_get_verify_cert_status(s);

		/* Trusted, but for another host: say which names it has and which was expected. */
		if ((status & GNUTLS_CERT_UNEXPECTED_OWNER) &&
		    !(status & ~(GNUTLS_CERT_INVALID | GNUTLS_CERT_UNEXPECTED_OWNER))) {
			char names[512];

			peer_names(s, names, sizeof(names));
			return estreamer__fail(errstr, size, ESTREAMER_ERR_HOSTNAME,
					       "server %s:%s certificate is for another host: "
					       "expected \"%s\", the certificate names %s (set "
					       "tls.server_name to the name it should have, or "
					       "tls.verify_hostname=false)",
					       host, port, expected_name(cfg), names);
		}
		gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0);
		estreamer__fail(errstr, size, ESTREAMER_ERR_VERIFY,
				"server %s:%s certificate not trusted: %s", host, port,
				out.data ? (const char *)out.data : gnutls_strerror(ret));
		gnutls_free(out.data);
		return ESTREAMER_ERR_VERIFY;
	}
	if (ret == GNUTLS_E_FATAL_ALERT_RECEIVED) {
		char what[300];

		snprintf(what, sizeof(what), "TLS handshake with %s:%s", host, port);
		return alert_error(s, what, errstr, size);
	}
	/* An FMC that rejects the client certificate just closes the connection. */
	if (ret == GNUTLS_E_PULL_ERROR || ret == GNUTLS_E_PUSH_ERROR ||
	    ret == GNUTLS_E_PREMATURE_TERMINATION)
		return estreamer__fail(errstr, size, ESTREAMER_ERR_TLS,
				       "TLS handshake with %s:%s: the server closed the connection "
				       "(client certificate refused?)",
				       host, port);
	return estreamer__fail(errstr, size, ESTREAMER_ERR_TLS, "TLS handshake with %s:%s: %s",
			       host, port, gnutls_strerror(ret));
}

estreamer_error estreamer__tls_open(struct estreamer__conn *conn,
				    const struct estreamer__tls_config *cfg,
				    gnutls_certificate_credentials_t cred, int wake_fd,
				    char *errstr, size_t size)
{
	gnutls_session_t s = NULL;
	const char *errpos = NULL;
	int64_t deadline;
	estreamer_error err;
	int fd = -1, ret;

	err = tcp_connect(cfg->host, cfg->port, cfg->connect_timeout_ms, wake_fd, &fd, errstr,
			  size);
	if (err)
		return err;
	if (gnutls_init(&s, GNUTLS_CLIENT | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL) < 0) {
		err = ESTREAMER_ERR_NOMEM;
		goto fail;
	}
	ret = gnutls_priority_set_direct(s, priority_for(cfg), &errpos);
	if (ret < 0) {
		err = estreamer__fail(errstr, size, ESTREAMER_ERR_INVALID_ARG,
				      "TLS priority string invalid at \"%s\"",
				      errpos ? errpos : "");
		goto fail;
	}
	gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
	/* GnuTLS matches IP addresses against iPAddress SANs, names against dNSName SANs,
	 * and reads the CN only when the certificate has neither (RFC 6125). */
	if (cfg->verify)
		gnutls_session_set_verify_cert(s, cfg->verify_hostname ? expected_name(cfg) : NULL, 0);
	gnutls_transport_set_int(s, fd);
	deadline = estreamer__now_ms() + cfg->connect_timeout_ms;
	while ((ret = gnutls_handshake(s)) < 0) {
		int64_t left = deadline - estreamer__now_ms();
		int w;

		if (gnutls_error_is_fatal(ret)) {
			err = handshake_error(s, ret, cfg, errstr, size);
			goto fail;
		}
		if (left <= 0) {
			err = estreamer__fail(errstr, size, ESTREAMER_ERR_TIMEOUT,
					      "TLS handshake with %s:%s timed out", cfg->host,
					      cfg->port);
			goto fail;
		}
		w = wait_fd(fd, gnutls_record_get_direction(s) ? POLLOUT : POLLIN, (int)left,
			    wake_fd);
		if (w == 2) {
			err = ESTREAMER__STOPPED;
			goto fail;
		}
	}
	conn->fd = fd;
	conn->session = s;
	return ESTREAMER_OK;
fail:
	if (s)
		gnutls_deinit(s);
	close(fd);
	return err;
}

void estreamer__tls_close(struct estreamer__conn *conn)
{
	if (conn->session) {
		gnutls_deinit(conn->session);
		conn->session = NULL;
	}
	if (conn->fd >= 0) {
		close(conn->fd);
		conn->fd = -1;
	}
}

estreamer_error estreamer__tls_write(struct estreamer__conn *conn, const uint8_t *buf, size_t len,
				     int timeout_ms, int wake_fd, char *errstr, size_t size)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = gnutls_record_send(conn->session, buf + done, len - done);

		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
			int w = wait_fd(conn->fd, POLLOUT, timeout_ms, wake_fd);

			if (w == 2)
				return ESTREAMER__STOPPED;
			if (w == 0)
				return estreamer__fail(errstr, size, ESTREAMER_ERR_TIMEOUT,
						       "send timed out");
			continue;
		}
		return estreamer__fail(errstr, size, ESTREAMER_ERR_TLS, "send: %s",
				       gnutls_strerror((int)n));
	}
	return ESTREAMER_OK;
}

estreamer_error estreamer__tls_read(struct estreamer__conn *conn, uint8_t *buf, size_t len,
				    int first_timeout_ms, int rest_timeout_ms, int wake_fd,
				    int extra_fd, void (*on_extra)(void *), void *extra_user,
				    char *errstr, size_t size)
{
	size_t got = 0;
	int64_t start = estreamer__now_ms();

	while (got < len) {
		ssize_t n = gnutls_record_recv(conn->session, buf + got, len - got);
		struct pollfd p[3];
		int timeout, np = 0, r;

		if (n > 0) {
			got += (size_t)n;
			start = estreamer__now_ms();
			continue;
		}
		if (n == 0 || n == GNUTLS_E_PREMATURE_TERMINATION || n == GNUTLS_E_PULL_ERROR)
			return estreamer__fail(errstr, size, ESTREAMER_ERR_CLOSED,
					       "the server closed the connection");
		/* TLS 1.3: a refused client certificate shows as an alert on the first read. */
		if (n == GNUTLS_E_FATAL_ALERT_RECEIVED)
			return alert_error(conn->session, "session", errstr, size);
		if (n != GNUTLS_E_AGAIN && n != GNUTLS_E_INTERRUPTED && gnutls_error_is_fatal((int)n))
			return estreamer__fail(errstr, size, ESTREAMER_ERR_TLS, "receive: %s",
					       gnutls_strerror((int)n));
		if (n != GNUTLS_E_AGAIN && n != GNUTLS_E_INTERRUPTED)
			continue;
		timeout = got ? rest_timeout_ms : first_timeout_ms;
		if (timeout > 0) {
			int64_t left = start + timeout - estreamer__now_ms();

			if (left <= 0)
				return estreamer__fail(errstr, size, ESTREAMER_ERR_TIMEOUT,
						       got ? "message cut short: no data for %d ms" :
							     "server silent for %d ms",
						       timeout);
			timeout = (int)left;
		} else {
			timeout = -1;
		}
		p[np++] = (struct pollfd){ conn->fd, POLLIN, 0 };
		p[np++] = (struct pollfd){ wake_fd, POLLIN, 0 };
		if (extra_fd >= 0)
			p[np++] = (struct pollfd){ extra_fd, POLLIN, 0 };
		r = poll(p, (nfds_t)np, timeout);
		if (r < 0 && errno != EINTR)
			return estreamer__fail(errstr, size, ESTREAMER_ERR_IO, "poll: %s",
					       strerror(errno));
		if (r > 0 && (p[1].revents & POLLIN))
			return ESTREAMER__STOPPED;
		if (r > 0 && np > 2 && (p[2].revents & POLLIN) && on_extra)
			on_extra(extra_user);
	}
	return ESTREAMER_OK;
}
