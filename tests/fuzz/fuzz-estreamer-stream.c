/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the eStreamer message stream as the client reads it from
 * its TLS connection. The test suite's server simulator (GnuTLS, mutual
 * authentication with certificates made at start-up) answers the client's
 * request, with the service list first in extended mode, then sends the input
 * bytes as the stream and closes. estreamer_client_run() goes through the real
 * session: TLS records, message framing (version, length, max_message_size,
 * truncation), Streaming Information and Error replies, event data and
 * bundles, records, deduplication and bookmarks, the Null acknowledgements.
 * tests/estreamer/fuzz-estreamer.c covers the decoder on its own.
 *
 * Input: byte 0 = bit 0 legacy (not extended) request, bit 1 no enrichment,
 * bit 2 start from a bookmark file (read, then written); the rest = the stream.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <estreamer/client.h>

#include "sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char pki[64];
static char bookmark[128];
static struct sim *sim;
/*
 * The stream of the previous input: the simulator may still be writing it
 * when the client has given up, until it accepts the next connection.
 */
static uint8_t *previous;

static int on_record(void *user, const estreamer_record *rec)
{
	size_t *n = user;

	/* What an output does: serialize every decoded value. */
	*n += json_object_to_json_string(rec->json) != NULL;
	return 0;
}

static void sim_end(void)
{
	char cmd[256];

	sim_stop(sim);
	free(sim);
	free(previous);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", pki);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz-estreamer-stream: could not remove %s\n", pki);
}

static void sim_begin(void)
{
	char cmd[1024];

	snprintf(pki, sizeof(pki), "/tmp/fuzz-estreamer-XXXXXX");
	if (!mkdtemp(pki))
		abort();
	snprintf(cmd, sizeof(cmd), "'%s' '%s' >/dev/null 2>&1", ESTREAMER_MAKE_CERTS, pki);
	if (system(cmd) != 0) {
		fprintf(stderr, "fuzz-estreamer-stream: %s failed\n", cmd);
		abort();
	}
	snprintf(bookmark, sizeof(bookmark), "%s/bookmark", pki);
	sim = calloc(1, sizeof(*sim));
	if (!sim)
		abort();
	sim->dir = pki;
	sim->per_bundle = 2;
	if (sim_start(sim) != 0)
		abort();
	atexit(sim_end);
}

static void set(estreamer_client *c, const char *key, const char *value)
{
	char err[256];

	if (estreamer_client_set(c, key, value, err, sizeof(err)) != ESTREAMER_OK) {
		fprintf(stderr, "fuzz-estreamer-stream: %s=%s: %s\n", key, value, err);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	estreamer_client *c;
	char path[256], port[16], err[512];
	size_t records = 0;
	uint8_t *stream;

	if (size == 0)
		return 0;
	if (!sim)
		sim_begin();
	/* The simulator serves SIM_MAX_CONN connections in its log: start it over. */
	stream = malloc(size);
	if (!stream)
		abort();
	memcpy(stream, data + 1, size - 1);
	pthread_mutex_lock(&sim->mu);
	sim->nconn = 0;
	memset(sim->conn, 0, sizeof(sim->conn));
	sim->raw = stream;
	sim->raw_len = size - 1;
	pthread_mutex_unlock(&sim->mu);

	c = estreamer_client_new();
	if (!c)
		abort();
	snprintf(port, sizeof(port), "%u", sim->port);
	set(c, "host", "127.0.0.1");
	set(c, "port", port);
	/* PEM rather than the PKCS#12 bundle, whose key derivation would cost more than the stream. */
	snprintf(path, sizeof(path), "%s/client.pem", pki);
	set(c, "tls.cert", path);
	snprintf(path, sizeof(path), "%s/client.key", pki);
	set(c, "tls.key", path);
	snprintf(path, sizeof(path), "%s/ca.pem", pki);
	set(c, "tls.ca", path);
	set(c, "connect.timeout_ms", "5000");
	set(c, "read.timeout_ms", "1000");
	set(c, "reconnect", "false");
	set(c, "max_message_size", "1048576");
	set(c, "flags", data[0] & 1 ? "0x08900061" : "0x48900061");
	set(c, "enrich", data[0] & 2 ? "false" : "true");
	if (data[0] & 4) {
		set(c, "bookmark.file", bookmark);
		set(c, "start", "bookmark");
	}
	estreamer_client_set_record_callback(c, on_record, &records);
	(void)estreamer_client_run(c, err, sizeof(err));
	estreamer_client_free(c);
	/* This input's connection was accepted, so the simulator is done with the previous one. */
	free(previous);
	previous = stream;
	return 0;
}
