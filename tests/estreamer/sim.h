/* SPDX-License-Identifier: Apache-2.0 */
/*
 * eStreamer server simulator for the tests: a GnuTLS server on 127.0.0.1
 * that requires a client certificate, checks and records the request bytes it
 * receives, replays records in Event Data messages or Message Bundles, waits
 * for the client's Null after each, and can drop the connection mid-stream.
 */
#ifndef ESTREAMER_TEST_SIM_H
#define ESTREAMER_TEST_SIM_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "builder.h"

#define SIM_MAX_CONN 8

struct sim_conn {
	uint8_t request[16];
	int got_request;
	uint32_t ts, flags;
	uint8_t streaming[1024];
	size_t streaming_len;
	int acks, bad_acks;
	int messages_sent;
};

struct sim {
	/* set before sim_start */
	const char *dir;          /* PKI directory */
	const char *priority;     /* server priority string, NULL: NORMAL */
	const char *cert_name;    /* server certificate: DIR/NAME.pem and .key; NULL: "server" */
	struct buf *records;      /* complete records, each with its archival timestamp */
	uint32_t *record_ts;
	size_t nrecords;
	size_t per_bundle;        /* extended mode: records per bundle */
	int drop_after;           /* first connection: close after this many data messages */
	const uint8_t *raw;       /* if set: sent after the requests, then the connection closes */
	size_t raw_len;
	int gates[4];             /* data message indexes before which sim waits for sim_open_gate */
	/* state */
	int lfd;
	uint16_t port;
	pthread_t thread;
	volatile int running;
	sem_t gate;
	gnutls_certificate_credentials_t cred;
	pthread_mutex_t mu;
	int nconn;
	int handshake_failures;
	struct sim_conn conn[SIM_MAX_CONN];
};

static inline uint32_t sim_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline int sim_io_wait(int fd, short ev, int ms)
{
	struct pollfd p = { fd, ev, 0 };

	return poll(&p, 1, ms);
}

static inline int sim_read(gnutls_session_t s, int fd, uint8_t *buf, size_t n, int ms)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = gnutls_record_recv(s, buf + got, n - got);

		if (r > 0) {
			got += (size_t)r;
		} else if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
			if (sim_io_wait(fd, POLLIN, ms) <= 0)
				return -1;
		} else {
			return -1;
		}
	}
	return 0;
}

static inline int sim_write(gnutls_session_t s, int fd, const uint8_t *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = gnutls_record_send(s, buf + done, n - done);

		if (r > 0)
			done += (size_t)r;
		else if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
			sim_io_wait(fd, POLLOUT, 1000);
		else
			return -1;
	}
	return 0;
}

static inline void sim_serve(struct sim *sim, gnutls_session_t s, int fd, struct sim_conn *log, int index)
{
	static const uint8_t null_msg[8] = { 0, 1, 0, 0, 0, 0, 0, 0 };
	uint8_t hdr[8], ack[8];
	struct buf msg = { 0 };
	size_t i = 0;
	int sent = 0;

	if (sim_read(s, fd, log->request, 16, 5000) != 0)
		return;
	log->got_request = 1;
	log->ts = sim_be32(log->request + 8);
	log->flags = sim_be32(log->request + 12);
	if (log->flags & (1u << 30)) {
		/* Service list, then the client's Streaming Request. */
		b_header(&msg, 2051, 16);
		b_u32(&msg, 6667);
		b_u32(&msg, 8);
		b_u32(&msg, 0);
		b_u32(&msg, 0);
		if (sim_write(s, fd, msg.p, msg.len) != 0 || sim_read(s, fd, hdr, 8, 5000) != 0)
			goto out;
		memcpy(log->streaming, hdr, 8);
		{
			uint32_t n = sim_be32(hdr + 4);

			if (n > sizeof(log->streaming) - 8 ||
			    sim_read(s, fd, log->streaming + 8, n, 5000) != 0)
				goto out;
			log->streaming_len = 8 + n;
		}
		b_free(&msg);
	}
	if (sim->raw) {
		sim_write(s, fd, sim->raw, sim->raw_len);
		goto out;
	}
	while (i < sim->nrecords) {
		size_t take = 0;
		struct buf batch[64];

		/* Records from the requested time on; 0 and "now" mean everything. */
		if (log->ts != 0 && log->ts != 0xffffffffu && sim->record_ts[i] < log->ts) {
			i++;
			continue;
		}
		for (int g = 0; g < 4 && index == 0; g++)
			if (sim->gates[g] && sent == sim->gates[g])
				sem_wait(&sim->gate);
		if (log->flags & (1u << 30)) {
			while (i + take < sim->nrecords && take < sim->per_bundle && take < 64) {
				batch[take] = sim->records[i + take];
				take++;
			}
			b_bundle(&msg, 99, (uint32_t)sent + 1, 0, batch, take);
		} else {
			take = 1;
			b_event_data(&msg, &sim->records[i]);
		}
		i += take;
		if (sim_write(s, fd, msg.p, msg.len) != 0)
			goto out;
		b_free(&msg);
		sent++;
		log->messages_sent = sent;
		if (index == 0 && sim->drop_after && sent == sim->drop_after)
			goto out; /* abrupt: no ack awaited, no TLS close */
		if (sim_read(s, fd, ack, 8, 5000) != 0)
			goto out;
		if (memcmp(ack, null_msg, 8) == 0)
			log->acks++;
		else
			log->bad_acks++;
	}
	/* Idle like a server with nothing new, until the test ends. */
	while (sim->running) {
		ssize_t r;

		if (sim_io_wait(fd, POLLIN, 50) > 0) {
			r = gnutls_record_recv(s, ack, sizeof(ack));
			if (r == 0 || (r < 0 && r != GNUTLS_E_AGAIN && r != GNUTLS_E_INTERRUPTED))
				break;
		}
	}
out:
	b_free(&msg);
}

static inline void *sim_main(void *arg)
{
	struct sim *sim = arg;

	while (sim->running) {
		gnutls_session_t s;
		int fd, ret, index;

		if (sim_io_wait(sim->lfd, POLLIN, 50) <= 0)
			continue;
		fd = accept(sim->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		gnutls_init(&s, GNUTLS_SERVER | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL);
		if (sim->priority)
			gnutls_priority_set_direct(s, sim->priority, NULL);
		else
			gnutls_set_default_priority(s);
		gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, sim->cred);
		gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
		/* The client certificate must chain to the CA, as on an FMC. */
		gnutls_session_set_verify_cert(s, NULL, 0);
		gnutls_transport_set_int(s, fd);
		do {
			ret = gnutls_handshake(s);
			if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED)
				sim_io_wait(fd, gnutls_record_get_direction(s) ? POLLOUT : POLLIN, 1000);
		} while (ret < 0 && !gnutls_error_is_fatal(ret) && sim->running);
		/* Like an OpenSSL server, say why: no client certificate (RFC 8446 4.4.2.4), or
		 * one the CA did not issue. */
		if (ret == GNUTLS_E_NO_CERTIFICATE_FOUND || ret == GNUTLS_E_CERTIFICATE_REQUIRED)
			gnutls_alert_send(s, GNUTLS_AL_FATAL, GNUTLS_A_CERTIFICATE_REQUIRED);
		else if (ret == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR ||
			 ret == GNUTLS_E_CERTIFICATE_ERROR)
			gnutls_alert_send(s, GNUTLS_AL_FATAL, GNUTLS_A_BAD_CERTIFICATE);
		pthread_mutex_lock(&sim->mu);
		index = sim->nconn < SIM_MAX_CONN ? sim->nconn++ : -1;
		if (ret < 0)
			sim->handshake_failures++;
		pthread_mutex_unlock(&sim->mu);
		if (ret == 0 && index >= 0)
			sim_serve(sim, s, fd, &sim->conn[index], index);
		gnutls_deinit(s);
		close(fd);
	}
	return NULL;
}

static inline int sim_start(struct sim *sim)
{
	struct sockaddr_in a = { 0 };
	socklen_t len = sizeof(a);
	char cert[4096], key[4096], ca[4096];
	int one = 1;

	const char *name = sim->cert_name ? sim->cert_name : "server";

	snprintf(cert, sizeof(cert), "%s/%s.pem", sim->dir, name);
	snprintf(key, sizeof(key), "%s/%s.key", sim->dir, name);
	snprintf(ca, sizeof(ca), "%s/ca.pem", sim->dir);
	if (gnutls_certificate_allocate_credentials(&sim->cred) < 0 ||
	    gnutls_certificate_set_x509_key_file(sim->cred, cert, key, GNUTLS_X509_FMT_PEM) < 0 ||
	    gnutls_certificate_set_x509_trust_file(sim->cred, ca, GNUTLS_X509_FMT_PEM) <= 0)
		return -1;
	sim->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(sim->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(sim->lfd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(sim->lfd, 8) != 0 ||
	    getsockname(sim->lfd, (struct sockaddr *)&a, &len) != 0)
		return -1;
	sim->port = ntohs(a.sin_port);
	sem_init(&sim->gate, 0, 0);
	pthread_mutex_init(&sim->mu, NULL);
	sim->running = 1;
	return pthread_create(&sim->thread, NULL, sim_main, sim);
}

static inline void sim_open_gate(struct sim *sim)
{
	sem_post(&sim->gate);
}

static inline void sim_stop(struct sim *sim)
{
	sim->running = 0;
	sem_post(&sim->gate);
	pthread_join(sim->thread, NULL);
	close(sim->lfd);
	gnutls_certificate_free_credentials(sim->cred);
	sem_destroy(&sim->gate);
	pthread_mutex_destroy(&sim->mu);
}

#endif
