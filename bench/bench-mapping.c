/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Throughput of a connector's conversion over native alerts (default: the
 * built-in Suricata template over EVE lines):
 *   strict parse + mapping,
 *   strict parse + mapping + validation (2.D.V08),
 *   the whole idmefv2_pipeline to a no-op output callback,
 *   the whole pipeline through the HTTP sender to our HTTP listener on
 *   127.0.0.1 in the same process (NDJSON batches of 100, until every
 *   message is received and validated by the listener).
 * Usage: bench-mapping [--runs N] [--tool NAME] [FILE.ndjson]
 * Without FILE a synthetic corpus of 20,000 EVE-like alerts is generated.
 * Each figure is the median of N timed runs (default 5) after one warm-up.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include <idmefv2/mapping.h>
#include <idmefv2/message.h>
#include <idmefv2/pipeline.h>
#include <idmefv2/schema.h>

struct corpus {
	char **line;
	size_t *len;
	size_t n;
	size_t bytes;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void add_line(struct corpus *c, const char *text, size_t len, size_t *alloc)
{
	if (c->n == *alloc) {
		*alloc = *alloc ? *alloc * 2 : 1024;
		c->line = realloc(c->line, *alloc * sizeof(*c->line));
		c->len = realloc(c->len, *alloc * sizeof(*c->len));
		if (!c->line || !c->len)
			abort();
	}
	c->line[c->n] = malloc(len + 1);
	if (!c->line[c->n])
		abort();
	memcpy(c->line[c->n], text, len);
	c->line[c->n][len] = '\0';
	c->len[c->n] = len;
	c->bytes += len;
	c->n++;
}

static int load(const char *path, struct corpus *c)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0, alloc = 0;
	ssize_t got;

	if (!f) {
		fprintf(stderr, "bench-mapping: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((got = getline(&buf, &cap, f)) > 0) {
		while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == '\r'))
			got--;
		if (got > 0)
			add_line(c, buf, (size_t)got, &alloc);
	}
	free(buf);
	fclose(f);
	return c->n ? 0 : -1;
}

static void generate(struct corpus *c, size_t n)
{
	static const char *const sigs[] = { "ET SCAN Suspicious inbound to MSSQL port 1433",
	                                    "ET POLICY SSH session in progress on Unusual Port",
	                                    "GPL ICMP_INFO PING *NIX" };
	size_t alloc = 0;
	char buf[1024];

	for (size_t i = 0; i < n; i++) {
		int len = snprintf(buf, sizeof(buf),
			"{\"timestamp\":\"2025-05-12T06:%02zu:%02zu.203698+0000\",\"flow_id\":%zu,"
			"\"in_iface\":\"eth0\",\"event_type\":\"%s\",\"src_ip\":\"45.158.%zu.%zu\",\"src_port\":%zu,"
			"\"dest_ip\":\"192.168.0.%zu\",\"dest_port\":1433,\"proto\":\"TCP\","
			"\"alert\":{\"action\":\"allowed\",\"gid\":1,\"signature_id\":%zu,\"rev\":3,"
			"\"signature\":\"%s\",\"category\":\"Potentially Bad Traffic\",\"severity\":%zu}}",
			(i / 60) % 60, i % 60, 431481711478786 + i, i % 10 == 9 ? "flow" : "alert",
			(i / 256) % 256, i % 256, 1024 + i % 60000, 1 + i % 250, 2010935 + i % 100,
			sigs[i % 3], 1 + i % 3);
		add_line(c, buf, (size_t)len, &alloc);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

enum mode { MAP, MAP_VALIDATE };

/* One pass; returns the number of outputs, or -1 on an unexpected error. */
static long pass(const struct corpus *c, const idmefv2_mapping *m, const idmefv2_schema *schema, enum mode mode)
{
	char err[512];
	long outputs = 0;

	for (size_t i = 0; i < c->n; i++) {
		struct json_object *in = NULL, *out = NULL;

		if (idmefv2_json_parse(c->line[i], c->len[i], &in, err, sizeof(err)) != IDMEFV2_OK)
			continue;
		if (idmefv2_mapping_apply(m, in, &out, err, sizeof(err)) == IDMEFV2_OK && out) {
			if (mode == MAP || idmefv2_schema_validate(schema, out, IDMEFV2_VALIDATE_FIRST_ERROR, NULL) ==
			                   IDMEFV2_OK)
				outputs++;
		}
		json_object_put(out);
		json_object_put(in);
	}
	return outputs;
}

static idmefv2_error sink(idmefv2_pipeline *p, struct json_object *output, void *user_data)
{
	(void)p;
	(void)output;
	(void)user_data;
	return IDMEFV2_OK;
}

static atomic_long received;

static idmefv2_error on_message(idmefv2_transport *t, idmefv2_message *msg, void *user_data)
{
	(void)t;
	(void)msg;
	(void)user_data;
	atomic_fetch_add(&received, 1);
	return IDMEFV2_OK;
}

/* The pipeline into our HTTP sender, to our listener; timed until the listener has every message. */
static long http_pass(const struct corpus *c, const idmefv2_mapping *m)
{
	idmefv2_transport *listener = NULL, *sender = NULL;
	idmefv2_pipeline *p = NULL;
	idmefv2_pipeline_counters ctr;
	char err[512] = "", url[64];
	long ret = -1;

	atomic_store(&received, 0);
	if (idmefv2_transport_new("http://127.0.0.1:0/", IDMEFV2_TRANSPORT_LISTENER, &listener, err, sizeof(err)) ||
	    idmefv2_transport_set(listener, "httpd.max_body", "64M", err, sizeof(err)))
		goto out;
	idmefv2_transport_set_message_cb(listener, on_message, NULL);
	if (idmefv2_transport_start(listener, err, sizeof(err)))
		goto out;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", idmefv2_transport_get_port(listener));
	if (idmefv2_transport_new(url, IDMEFV2_TRANSPORT_SENDER, &sender, err, sizeof(err)) ||
	    idmefv2_transport_set(sender, "http.batch", "100", err, sizeof(err)) ||
	    idmefv2_transport_set(sender, "http.max_in_flight", "4", err, sizeof(err)) ||
	    idmefv2_transport_set(sender, "queue.timeout_ms", "-1", err, sizeof(err)) ||
	    idmefv2_pipeline_new(m, NULL, &p, err, sizeof(err)))
		goto out;
	idmefv2_pipeline_set_transport(p, sender);
	if (idmefv2_transport_start(sender, err, sizeof(err)))
		goto out;
	for (size_t i = 0; i < c->n; i++)
		idmefv2_pipeline_push_line(p, c->line[i], c->len[i], NULL, 0, NULL);
	if (idmefv2_transport_flush(sender, 60000) != IDMEFV2_OK) {
		snprintf(err, sizeof(err), "flush timed out");
		goto out;
	}
	idmefv2_pipeline_get_counters(p, &ctr);
	ret = atomic_load(&received);
	if ((uint64_t)ret != ctr.converted) {
		snprintf(err, sizeof(err), "%ld received of %llu converted", ret, (unsigned long long)ctr.converted);
		ret = -1;
	}
out:
	if (ret < 0)
		fprintf(stderr, "bench-mapping: %s\n", err);
	idmefv2_transport_free(sender);
	idmefv2_pipeline_free(p);
	idmefv2_transport_free(listener);
	return ret;
}

static long pipeline_pass(const struct corpus *c, const idmefv2_mapping *m)
{
	idmefv2_pipeline *p = NULL;
	idmefv2_pipeline_counters ctr;
	char err[512];

	if (idmefv2_pipeline_new(m, NULL, &p, err, sizeof(err)) != IDMEFV2_OK)
		return -1;
	idmefv2_pipeline_set_output_cb(p, sink, NULL);
	for (size_t i = 0; i < c->n; i++)
		idmefv2_pipeline_push_line(p, c->line[i], c->len[i], NULL, 0, NULL);
	idmefv2_pipeline_get_counters(p, &ctr);
	idmefv2_pipeline_free(p);
	return (long)ctr.sent;
}

int main(int argc, char **argv)
{
	struct corpus c = { 0 };
	const char *path = NULL;
	idmefv2_mapping *m = NULL;
	const idmefv2_schema *schema;
	const char *tool = "suricata";
	idmefv2_error e;
	char err[512] = "";
	int runs = 5, status = 1;
	static const char *const names[] = { "parse+map", "parse+map+validate", "pipeline (callback)",
		                             "pipeline to listener" };

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			runs = atoi(argv[++i]);
		else if (strcmp(argv[i], "--tool") == 0 && i + 1 < argc)
			tool = argv[++i];
		else
			path = argv[i];
	}
	if (runs < 1)
		runs = 1;
	if (path ? load(path, &c) != 0 : (generate(&c, 20000), 0))
		goto out;
	if (idmefv2_mapping_load_tool(tool, &m, NULL, err, sizeof(err)) != IDMEFV2_OK) {
		fprintf(stderr, "bench-mapping: %s\n", err);
		goto out;
	}
	schema = idmefv2_schema_for_version(IDMEFV2_VERSION_LATEST, &e, err, sizeof(err));
	if (!schema) {
		fprintf(stderr, "bench-mapping: %s\n", err);
		goto out;
	}
	printf("corpus: %s, %zu lines, %.1f MB, template %s, %d runs\n", path ? path : "(synthetic)", c.n,
	       c.bytes / 1e6, tool, runs);
	for (int mode = 0; mode < 4; mode++) {
		double *t = calloc((size_t)runs, sizeof(*t));
		long outputs = 0;

		if (!t)
			goto out;
		for (int r = -1; r < runs; r++) {
			double t0 = now_s();

			outputs = mode == 3 ? http_pass(&c, m)
			        : mode == 2 ? pipeline_pass(&c, m)
			                    : pass(&c, m, schema, (enum mode)mode);
			if (r >= 0)
				t[r] = now_s() - t0;
		}
		qsort(t, (size_t)runs, sizeof(*t), cmp_double);
		printf("%-22s %10.0f lines/s  (%ld outputs, median %.3f s)\n", names[mode],
		       (double)c.n / t[runs / 2], outputs, t[runs / 2]);
		free(t);
		if (outputs <= 0) {
			fprintf(stderr, "bench-mapping: %s produced no output\n", names[mode]);
			goto out;
		}
	}
	status = 0;
out:
	idmefv2_mapping_free(m);
	for (size_t i = 0; i < c.n; i++)
		free(c.line[i]);
	free(c.line);
	free(c.len);
	return status;
}
