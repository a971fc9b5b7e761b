/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Throughput of libidmefv2-transport on loopback:
 *   our HTTP sender to our HTTP listener, one request in flight, many in
 *   flight, and NDJSON batches; Kafka produce to librdkafka's mock cluster.
 * The listener validates every message it receives (as it always does).
 * Usage: bench-transport [--messages N] [--no-kafka] [--only one|many|batch|kafka] [--batch N]
 *        [--batch-in-flight N] FILE.ndjson (batches of 100, 4 in flight by default)
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <idmefv2/idmefv2.h>
#include <idmefv2/transport.h>

#include "transport-config.h"
#if IDMEFV2_HAVE_KAFKA
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#endif

struct corpus {
	char **line;
	size_t *len;
	size_t n;
};

static atomic_size_t received;
static atomic_size_t delivered;
static atomic_size_t failed;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int load(const char *path, struct corpus *c)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0, alloc = 0;
	ssize_t got;

	if (!f)
		return -1;
	memset(c, 0, sizeof(*c));
	while ((got = getline(&buf, &cap, f)) > 0) {
		while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == '\r'))
			buf[--got] = '\0';
		if (!got)
			continue;
		if (c->n == alloc) {
			alloc = alloc ? 2 * alloc : 1024;
			c->line = realloc(c->line, alloc * sizeof(*c->line));
			c->len = realloc(c->len, alloc * sizeof(*c->len));
		}
		c->line[c->n] = strdup(buf);
		c->len[c->n++] = (size_t)got;
	}
	free(buf);
	fclose(f);
	return c->n ? 0 : -1;
}

static idmefv2_error on_message(idmefv2_transport *t, idmefv2_message *msg, void *user_data)
{
	(void)t;
	(void)msg;
	(void)user_data;
	atomic_fetch_add(&received, 1);
	return IDMEFV2_OK;
}

static void on_delivery(idmefv2_transport *t, void *opaque, idmefv2_delivery_status status,
                        const char *detail, void *user_data)
{
	(void)t;
	(void)opaque;
	(void)user_data;
	if (status == IDMEFV2_DELIVERY_SENT)
		atomic_fetch_add(&delivered, 1);
	else {
		atomic_fetch_add(&failed, 1);
		fprintf(stderr, "bench-transport: delivery failed: %s\n", detail ? detail : "");
	}
}

static int set(idmefv2_transport *t, const char *name, const char *value)
{
	char err[256];

	if (idmefv2_transport_set(t, name, value, err, sizeof(err)) != IDMEFV2_OK) {
		fprintf(stderr, "bench-transport: %s=%s: %s\n", name, value, err);
		return -1;
	}
	return 0;
}

/* Send @n messages through @url with the given options; returns messages/s or < 0. */
static double run_sender(const char *url, const char *const *opts, const struct corpus *c, size_t n,
                         bool wait_received)
{
	idmefv2_transport *t = NULL;
	char err[512];
	double t0, dt;

	atomic_store(&received, 0);
	atomic_store(&delivered, 0);
	atomic_store(&failed, 0);
	if (idmefv2_transport_new(url, IDMEFV2_TRANSPORT_SENDER, &t, err, sizeof(err)) != IDMEFV2_OK) {
		fprintf(stderr, "bench-transport: %s: %s\n", url, err);
		return -1;
	}
	for (; opts && *opts; opts += 2)
		if (set(t, opts[0], opts[1]) != 0)
			goto fail;
	idmefv2_transport_set_delivery_cb(t, on_delivery, NULL);
	if (idmefv2_transport_start(t, err, sizeof(err)) != IDMEFV2_OK) {
		fprintf(stderr, "bench-transport: start %s: %s\n", url, err);
		goto fail;
	}
	t0 = now_s();
	for (size_t i = 0; i < n; i++) {
		size_t k = i % c->n;
		idmefv2_error e;

		while ((e = idmefv2_transport_send_raw(t, "application/json", c->line[k], c->len[k], NULL, err,
		                                       sizeof(err))) == IDMEFV2_ERR_FULL)
			idmefv2_transport_flush(t, 1);
		if (e != IDMEFV2_OK) {
			fprintf(stderr, "bench-transport: send: %s\n", err);
			goto fail;
		}
	}
	if (idmefv2_transport_flush(t, 120000) != IDMEFV2_OK) {
		fprintf(stderr, "bench-transport: flush timed out\n");
		goto fail;
	}
	while (wait_received && atomic_load(&received) < n && now_s() - t0 < 120)
		;
	dt = now_s() - t0;
	idmefv2_transport_free(t);
	if (atomic_load(&delivered) != n || atomic_load(&failed) ||
	    (wait_received && atomic_load(&received) != n)) {
		fprintf(stderr, "bench-transport: %zu delivered, %zu received, %zu failed of %zu\n",
		        atomic_load(&delivered), atomic_load(&received), atomic_load(&failed), n);
		return -1;
	}
	return (double)n / dt;
fail:
	idmefv2_transport_free(t);
	return -1;
}

#if IDMEFV2_HAVE_KAFKA
static double run_kafka(const struct corpus *c, size_t n)
{
	char errstr[512], url[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *rk;
	rd_kafka_mock_cluster_t *mc;
	const char *opts[] = { "kafka.linger.ms", "5", "queue.size", "100000", "validate", "false", NULL };
	double rate;

	rd_kafka_conf_set(conf, "log_level", "0", NULL, 0);
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!rk)
		return -1;
	mc = rd_kafka_mock_cluster_new(rk, 3);
	if (!mc) {
		rd_kafka_destroy(rk);
		return -1;
	}
	rd_kafka_mock_topic_create(mc, "bench", 6, 3);
	snprintf(url, sizeof(url), "kafka://%s/bench", rd_kafka_mock_cluster_bootstraps(mc));
	rate = run_sender(url, opts, c, n, false);
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	return rate;
}
#endif

int main(int argc, char **argv)
{
	struct corpus c;
	size_t n = 20000;
	bool kafka = true;
	const char *path = NULL, *only = NULL, *batch_size = "100", *batch_flight = "4";
	char batch_label[96];
	idmefv2_transport *listener = NULL;
	char err[512], url[128];
	double r1, r8, rb, rk = -1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--messages") == 0 && i + 1 < argc)
			n = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--no-kafka") == 0)
			kafka = false;
		else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
			only = argv[++i];
		else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc)
			batch_size = argv[++i];
		else if (strcmp(argv[i], "--batch-in-flight") == 0 && i + 1 < argc)
			batch_flight = argv[++i];
		else
			path = argv[i];
	}
	if (!path || !n || load(path, &c) != 0) {
		fprintf(stderr, "usage: bench-transport [--messages N] [--no-kafka] [--only one|many|batch|kafka] "
		                "[--batch N] [--batch-in-flight N] FILE.ndjson\n");
		return 2;
	}

	if (idmefv2_transport_new("http://127.0.0.1:0/", IDMEFV2_TRANSPORT_LISTENER, &listener, err,
	                          sizeof(err)) != IDMEFV2_OK ||
	    set(listener, "httpd.threads", "0") != 0) {
		fprintf(stderr, "bench-transport: listener: %s\n", err);
		return 1;
	}
	idmefv2_transport_set_message_cb(listener, on_message, NULL);
	if (idmefv2_transport_start(listener, err, sizeof(err)) != IDMEFV2_OK) {
		fprintf(stderr, "bench-transport: listener: %s\n", err);
		return 1;
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", idmefv2_transport_get_port(listener));

	printf("corpus: %s (%zu distinct messages), %zu messages per run, loopback, listener validates\n", path,
	       c.n, n);
	{
		const char *one[] = { "http.max_in_flight", "1", "validate", "false", NULL };
		const char *many[] = { "http.max_in_flight", "8", "validate", "false", NULL };
		const char *batch[] = { "http.max_in_flight", batch_flight, "http.batch", batch_size, "validate", "false",
			                NULL };

		r1 = !only || strcmp(only, "one") == 0 ? run_sender(url, one, &c, n, true) : 0;
		r8 = !only || strcmp(only, "many") == 0 ? run_sender(url, many, &c, n, true) : 0;
		rb = !only || strcmp(only, "batch") == 0 ? run_sender(url, batch, &c, n, true) : 0;
	}
	printf("%-56s %10.0f msg/s\n", "HTTP, one request in flight, keep-alive", r1);
	printf("%-56s %10.0f msg/s\n", "HTTP, 8 requests in flight", r8);
	snprintf(batch_label, sizeof(batch_label), "HTTP, NDJSON batches of %s, %s in flight", batch_size, batch_flight);
	printf("%-56s %10.0f msg/s\n", batch_label, rb);
#if IDMEFV2_HAVE_KAFKA
	if (kafka && (!only || strcmp(only, "kafka") == 0)) {
		rk = run_kafka(&c, n);
		printf("%-56s %10.0f msg/s\n", "Kafka produce to the mock cluster (3 brokers, acks=all)", rk);
	}
#endif
	printf("vs Python requests Session to nginx (1,621/s): %.0fx one by one, %.0fx batched\n", r1 / 1621.0,
	       rb / 1621.0);
	idmefv2_transport_free(listener);
	for (size_t i = 0; i < c.n; i++)
		free(c.line[i]);
	free(c.line);
	free(c.len);
	return r1 < 0 || r8 < 0 || rb < 0 || (kafka && !only && rk < 0 && IDMEFV2_HAVE_KAFKA);
}
