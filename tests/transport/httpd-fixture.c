/* SPDX-License-Identifier: Apache-2.0 */
#include "httpd-fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>

int64_t httpd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void fail(char *err, size_t err_size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void fail(char *err, size_t err_size, const char *fmt, ...)
{
	va_list ap;

	if (!err || !err_size)
		return;
	va_start(ap, fmt);
	vsnprintf(err, err_size, fmt, ap);
	va_end(ap);
}

/* ---- PKI -------------------------------------------------------------------------------- */

enum cert_kind { CERT_CA, CERT_SERVER, CERT_CLIENT };

static int make_cert(gnutls_x509_crt_t *ret_crt, gnutls_x509_privkey_t key, const char *cn,
                     enum cert_kind kind, unsigned serial, gnutls_x509_crt_t issuer,
                     gnutls_x509_privkey_t issuer_key)
{
	gnutls_x509_crt_t crt;
	unsigned char ser[4] = { 0, 0, (unsigned char)(serial >> 8), (unsigned char)serial };
	unsigned char id[64];
	size_t id_len = sizeof(id);
	time_t now = time(NULL);
	int rc;

	if ((rc = gnutls_x509_crt_init(&crt)) < 0)
		return rc;
	if ((rc = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
	    (rc = gnutls_x509_crt_set_serial(crt, ser, sizeof(ser))) < 0 ||
	    (rc = gnutls_x509_crt_set_activation_time(crt, now - 3600)) < 0 ||
	    (rc = gnutls_x509_crt_set_expiration_time(crt, now + 2 * 86400)) < 0 ||
	    (rc = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
	                                        (unsigned)strlen(cn))) < 0 ||
	    (rc = gnutls_x509_crt_set_key(crt, key)) < 0 ||
	    (rc = gnutls_x509_crt_set_basic_constraints(crt, kind == CERT_CA, -1)) < 0)
		goto out;
	if (kind == CERT_CA) {
		rc = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN);
	} else {
		rc = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE);
		if (rc >= 0)
			rc = gnutls_x509_crt_set_key_purpose_oid(crt,
			                                         kind == CERT_SERVER ? GNUTLS_KP_TLS_WWW_SERVER
			                                                             : GNUTLS_KP_TLS_WWW_CLIENT, 0);
	}
	if (rc < 0)
		goto out;
	if (kind == CERT_SERVER) {
		unsigned char ip[4] = { 127, 0, 0, 1 };
		if ((rc = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, "localhost", 9,
		                                               GNUTLS_FSAN_APPEND)) < 0 ||
		    (rc = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip, 4,
		                                               GNUTLS_FSAN_APPEND)) < 0)
			goto out;
	}
	if ((rc = gnutls_x509_crt_get_key_id(crt, 0, id, &id_len)) < 0 ||
	    (rc = gnutls_x509_crt_set_subject_key_id(crt, id, id_len)) < 0)
		goto out;
	if (issuer) {
		id_len = sizeof(id);
		if ((rc = gnutls_x509_crt_get_subject_key_id(issuer, id, &id_len, NULL)) < 0 ||
		    (rc = gnutls_x509_crt_set_authority_key_id(crt, id, id_len)) < 0)
			goto out;
	}
	rc = gnutls_x509_crt_sign2(crt, issuer ? issuer : crt, issuer_key ? issuer_key : key,
	                           GNUTLS_DIG_SHA256, 0);
out:
	if (rc < 0)
		gnutls_x509_crt_deinit(crt);
	else
		*ret_crt = crt;
	return rc < 0 ? rc : 0;
}

static int new_key(gnutls_x509_privkey_t *ret_key)
{
	int rc = gnutls_x509_privkey_init(ret_key);

	if (rc < 0)
		return rc;
	rc = gnutls_x509_privkey_generate(*ret_key, GNUTLS_PK_ECDSA,
	                                  GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
	if (rc < 0)
		gnutls_x509_privkey_deinit(*ret_key);
	return rc;
}

static char *datum_string(gnutls_datum_t *d)
{
	char *s = malloc(d->size + 1);

	if (s) {
		memcpy(s, d->data, d->size);
		s[d->size] = '\0';
	}
	gnutls_free(d->data);
	d->data = NULL;
	return s;
}

static int write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");
	int ok;

	if (!fp)
		return -1;
	ok = fputs(text, fp) >= 0;
	return (fclose(fp) == 0 && ok) ? 0 : -1;
}

static char *crt_pem(gnutls_x509_crt_t crt)
{
	gnutls_datum_t d = { NULL, 0 };

	if (gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &d) < 0)
		return NULL;
	return datum_string(&d);
}

static char *key_pem(gnutls_x509_privkey_t key, const char *password)
{
	gnutls_datum_t d = { NULL, 0 };
	int rc;

	if (password)
		rc = gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, password,
		                                       GNUTLS_PKCS_PBES2_AES_256, &d);
	else
		rc = gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &d);
	if (rc < 0)
		return NULL;
	return datum_string(&d);
}

static int save(char *path, size_t size, const char *dir, const char *name, char *pem)
{
	int rc;

	if (!pem)
		return -1;
	snprintf(path, size, "%s/%s", dir, name);
	rc = write_file(path, pem);
	free(pem);
	return rc;
}

int httpd_pki_make(struct httpd_pki *pki, char *err, size_t err_size)
{
	gnutls_x509_privkey_t ca_key = NULL, other_key = NULL, srv_key = NULL, cli_key = NULL;
	gnutls_x509_crt_t ca = NULL, other = NULL, srv = NULL, cli = NULL;
	int rc = -1;

	memset(pki, 0, sizeof(*pki));
	pki->client_key_password = "s3cret pass";
	snprintf(pki->dir, sizeof(pki->dir), "/tmp/idmefv2-pki-XXXXXX");
	if (!mkdtemp(pki->dir)) {
		fail(err, err_size, "mkdtemp failed");
		pki->dir[0] = '\0';
		return -1;
	}
	if (new_key(&ca_key) < 0 || new_key(&other_key) < 0 || new_key(&srv_key) < 0 ||
	    new_key(&cli_key) < 0) {
		fail(err, err_size, "key generation failed");
		goto out;
	}
	if (make_cert(&ca, ca_key, "idmefv2 test CA", CERT_CA, 1, NULL, NULL) < 0 ||
	    make_cert(&other, other_key, "idmefv2 other CA", CERT_CA, 2, NULL, NULL) < 0 ||
	    make_cert(&srv, srv_key, "localhost", CERT_SERVER, 3, ca, ca_key) < 0 ||
	    make_cert(&cli, cli_key, "idmefv2-test-client", CERT_CLIENT, 4, ca, ca_key) < 0) {
		fail(err, err_size, "certificate generation failed");
		goto out;
	}
	pki->ca_pem = crt_pem(ca);
	pki->server_cert_pem = crt_pem(srv);
	pki->server_key_pem = key_pem(srv_key, NULL);
	if (!pki->ca_pem || !pki->server_cert_pem || !pki->server_key_pem) {
		fail(err, err_size, "PEM export failed");
		goto out;
	}
	if (save(pki->ca_cert, sizeof(pki->ca_cert), pki->dir, "ca.pem", strdup(pki->ca_pem)) < 0 ||
	    save(pki->other_ca_cert, sizeof(pki->other_ca_cert), pki->dir, "other-ca.pem", crt_pem(other)) < 0 ||
	    save(pki->server_cert, sizeof(pki->server_cert), pki->dir, "server.pem",
	         strdup(pki->server_cert_pem)) < 0 ||
	    save(pki->server_key, sizeof(pki->server_key), pki->dir, "server-key.pem",
	         strdup(pki->server_key_pem)) < 0 ||
	    save(pki->client_cert, sizeof(pki->client_cert), pki->dir, "client.pem", crt_pem(cli)) < 0 ||
	    save(pki->client_key, sizeof(pki->client_key), pki->dir, "client-key.pem",
	         key_pem(cli_key, pki->client_key_password)) < 0) {
		fail(err, err_size, "writing PEM files failed");
		goto out;
	}
	rc = 0;
out:
	if (ca)
		gnutls_x509_crt_deinit(ca);
	if (other)
		gnutls_x509_crt_deinit(other);
	if (srv)
		gnutls_x509_crt_deinit(srv);
	if (cli)
		gnutls_x509_crt_deinit(cli);
	if (ca_key)
		gnutls_x509_privkey_deinit(ca_key);
	if (other_key)
		gnutls_x509_privkey_deinit(other_key);
	if (srv_key)
		gnutls_x509_privkey_deinit(srv_key);
	if (cli_key)
		gnutls_x509_privkey_deinit(cli_key);
	if (rc < 0)
		httpd_pki_clear(pki);
	return rc;
}

void httpd_pki_clear(struct httpd_pki *pki)
{
	char *files[] = { pki->ca_cert, pki->other_ca_cert, pki->server_cert, pki->server_key,
	                  pki->client_cert, pki->client_key };

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (files[i][0])
			unlink(files[i]);
	if (pki->dir[0])
		rmdir(pki->dir);
	free(pki->ca_pem);
	free(pki->server_cert_pem);
	free(pki->server_key_pem);
	memset(pki, 0, sizeof(*pki));
}

/* ---- server ----------------------------------------------------------------------------- */

struct httpd_fixture {
	struct MHD_Daemon *daemon;
	unsigned port;
	char *cert_pem;
	char *key_pem;
	char *trust_pem;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	int *script;
	size_t script_len;
	size_t script_pos;
	int default_status;
	char *retry_after;
	char *error_body;
	bool hold;
	bool closing;
	struct httpd_request **requests;
	size_t n_requests;
	size_t cap_requests;
	unsigned connections;
};

struct upload {
	char *data;
	size_t len;
	size_t cap;
};

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static bool client_cert_ok(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	gnutls_session_t session;
	unsigned status = 1, n = 0;

	if (!info || !info->tls_session)
		return false;
	session = (gnutls_session_t)info->tls_session;
	if (!gnutls_certificate_get_peers(session, &n) || n == 0)
		return false;
	return gnutls_certificate_verify_peers2(session, &status) == 0 && status == 0;
}

static void record(struct httpd_fixture *f, struct httpd_request *r)
{
	if (f->n_requests == f->cap_requests) {
		size_t cap = f->cap_requests ? f->cap_requests * 2 : 64;
		struct httpd_request **grown = realloc(f->requests, cap * sizeof(*grown));
		if (!grown)
			abort();
		f->requests = grown;
		f->cap_requests = cap;
	}
	f->requests[f->n_requests++] = r;
	pthread_cond_broadcast(&f->cond);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	struct httpd_fixture *f = cls;
	struct upload *up = *con_cls;
	struct httpd_request *r;
	struct MHD_Response *resp;
	const char *body = "";
	enum MHD_Result ret;
	int status;

	(void)version;
	if (!up) {
		up = calloc(1, sizeof(*up));
		if (!up)
			return MHD_NO;
		*con_cls = up;
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (up->len + *upload_data_size + 1 > up->cap) {
			size_t cap = (up->len + *upload_data_size + 1) * 2;
			char *grown = realloc(up->data, cap);
			if (!grown)
				return MHD_NO;
			up->data = grown;
			up->cap = cap;
		}
		memcpy(up->data + up->len, upload_data, *upload_data_size);
		up->len += *upload_data_size;
		*upload_data_size = 0;
		return MHD_YES;
	}

	r = calloc(1, sizeof(*r));
	if (!r)
		return MHD_NO;
	r->method = strdup(method);
	r->path = strdup(url);
	r->content_type = dup_or_null(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type"));
	r->authorization = dup_or_null(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization"));
	r->body = malloc(up->len + 1);
	if (r->body) {
		if (up->len)
			memcpy(r->body, up->data, up->len);
		r->body[up->len] = '\0';
	}
	r->len = up->len;
	r->at_ms = httpd_now_ms();
	r->client_cert_ok = f->trust_pem ? client_cert_ok(conn) : false;

	pthread_mutex_lock(&f->lock);
	if (f->trust_pem && !r->client_cert_ok)
		status = 403;
	else if (f->script_pos < f->script_len)
		status = f->script[f->script_pos++];
	else
		status = f->default_status;
	r->status = status;
	record(f, r);
	while (f->hold && !f->closing)
		pthread_cond_wait(&f->cond, &f->lock);
	if (status < 200 || status > 299)
		body = f->error_body ? f->error_body : "";
	resp = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	if (resp && f->retry_after && (status == 429 || status == 503))
		MHD_add_response_header(resp, "Retry-After", f->retry_after);
	pthread_mutex_unlock(&f->lock);
	if (!resp)
		return MHD_NO;
	if (status < 200 || status > 299)
		MHD_add_response_header(resp, "Content-Type", "text/plain");
	ret = MHD_queue_response(conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct upload *up = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (up) {
		free(up->data);
		free(up);
		*con_cls = NULL;
	}
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
	struct httpd_fixture *f = cls;

	(void)conn;
	(void)socket_context;
	if (toe != MHD_CONNECTION_NOTIFY_STARTED)
		return;
	pthread_mutex_lock(&f->lock);
	f->connections++;
	pthread_mutex_unlock(&f->lock);
}

static int fixture_listen(struct httpd_fixture *f, unsigned port)
{
	struct sockaddr_in addr;
	struct MHD_OptionItem tls[4];
	size_t n = 0;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION;
	const union MHD_DaemonInfo *info;

	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (f->cert_pem) {
		flags |= MHD_USE_TLS;
		tls[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, f->key_pem };
		tls[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, f->cert_pem };
		if (f->trust_pem)
			tls[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_TRUST, 0, f->trust_pem };
	}
	tls[n++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };

	pthread_mutex_lock(&f->lock);
	f->closing = false;
	pthread_mutex_unlock(&f->lock);
	f->daemon = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, f,
	                             MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
	                             MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
	                             MHD_OPTION_NOTIFY_COMPLETED, on_completed, f,
	                             MHD_OPTION_NOTIFY_CONNECTION, on_connection, f,
	                             MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
	                             MHD_OPTION_ARRAY, tls,
	                             MHD_OPTION_END);
	if (!f->daemon)
		return -1;
	info = MHD_get_daemon_info(f->daemon, MHD_DAEMON_INFO_BIND_PORT);
	if (!info || !info->port) {
		MHD_stop_daemon(f->daemon);
		f->daemon = NULL;
		return -1;
	}
	f->port = info->port;
	return 0;
}

struct httpd_fixture *httpd_fixture_new(const struct httpd_fixture_opts *opts, char *err, size_t err_size)
{
	struct httpd_fixture *f = calloc(1, sizeof(*f));

	if (!f) {
		fail(err, err_size, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	f->default_status = 204;
	if (opts) {
		f->cert_pem = dup_or_null(opts->cert_pem);
		f->key_pem = dup_or_null(opts->key_pem);
		f->trust_pem = dup_or_null(opts->trust_pem);
	}
	if (fixture_listen(f, 0) < 0) {
		fail(err, err_size, "cannot start the test server");
		httpd_fixture_free(f);
		return NULL;
	}
	return f;
}

int httpd_fixture_down(struct httpd_fixture *f)
{
	if (!f->daemon)
		return -1;
	pthread_mutex_lock(&f->lock);
	f->closing = true;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	MHD_stop_daemon(f->daemon);
	f->daemon = NULL;
	return 0;
}

int httpd_fixture_up(struct httpd_fixture *f)
{
	if (f->daemon)
		return -1;
	return fixture_listen(f, f->port);
}

void httpd_fixture_free(struct httpd_fixture *f)
{
	if (!f)
		return;
	if (f->daemon)
		httpd_fixture_down(f);
	for (size_t i = 0; i < f->n_requests; i++) {
		struct httpd_request *r = f->requests[i];
		free(r->method);
		free(r->path);
		free(r->content_type);
		free(r->authorization);
		free(r->body);
		free(r);
	}
	free(f->requests);
	free(f->script);
	free(f->retry_after);
	free(f->error_body);
	free(f->cert_pem);
	free(f->key_pem);
	free(f->trust_pem);
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->cond);
	free(f);
}

unsigned httpd_fixture_port(const struct httpd_fixture *f)
{
	return f->port;
}

void httpd_fixture_script(struct httpd_fixture *f, const int *statuses, size_t n)
{
	pthread_mutex_lock(&f->lock);
	int *grown = realloc(f->script, (f->script_len + n) * sizeof(*grown));
	if (!grown)
		abort();
	memcpy(grown + f->script_len, statuses, n * sizeof(*grown));
	f->script = grown;
	f->script_len += n;
	pthread_mutex_unlock(&f->lock);
}

void httpd_fixture_set_default_status(struct httpd_fixture *f, int status)
{
	pthread_mutex_lock(&f->lock);
	f->default_status = status;
	pthread_mutex_unlock(&f->lock);
}

void httpd_fixture_set_retry_after(struct httpd_fixture *f, const char *value)
{
	pthread_mutex_lock(&f->lock);
	free(f->retry_after);
	f->retry_after = dup_or_null(value);
	pthread_mutex_unlock(&f->lock);
}

void httpd_fixture_set_error_body(struct httpd_fixture *f, const char *body)
{
	pthread_mutex_lock(&f->lock);
	free(f->error_body);
	f->error_body = dup_or_null(body);
	pthread_mutex_unlock(&f->lock);
}

void httpd_fixture_hold(struct httpd_fixture *f, bool hold)
{
	pthread_mutex_lock(&f->lock);
	f->hold = hold;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

size_t httpd_fixture_count(struct httpd_fixture *f)
{
	size_t n;

	pthread_mutex_lock(&f->lock);
	n = f->n_requests;
	pthread_mutex_unlock(&f->lock);
	return n;
}

bool httpd_fixture_wait_count(struct httpd_fixture *f, size_t n, int timeout_ms)
{
	struct timespec deadline;
	bool ok;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&f->lock);
	while (f->n_requests < n) {
		if (pthread_cond_timedwait(&f->cond, &f->lock, &deadline) != 0)
			break;
	}
	ok = f->n_requests >= n;
	pthread_mutex_unlock(&f->lock);
	return ok;
}

const struct httpd_request *httpd_fixture_request(struct httpd_fixture *f, size_t i)
{
	const struct httpd_request *r = NULL;

	pthread_mutex_lock(&f->lock);
	if (i < f->n_requests)
		r = f->requests[i];
	pthread_mutex_unlock(&f->lock);
	return r;
}

unsigned httpd_fixture_connections(struct httpd_fixture *f)
{
	unsigned n;

	pthread_mutex_lock(&f->lock);
	n = f->connections;
	pthread_mutex_unlock(&f->lock);
	return n;
}
