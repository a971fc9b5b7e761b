/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Throughput of libidmefv2-core over an NDJSON corpus:
 *   json-c parse alone (json_tokener_parse + put: the floor of any json-c path),
 *   validate only (on already parsed messages),
 *   unserialize + validate,
 *   unserialize + validate + serialize.
 * Usage: bench-core [--runs N] [--no-format] FILE.ndjson
 * Each figure is the median of N timed runs (default 5) after one warm-up run.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include <idmefv2/idmefv2.h>

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

static int load(const char *path, struct corpus *c)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0;
	ssize_t got;
	size_t alloc = 0;

	if (!f) {
		fprintf(stderr, "bench-core: %s: %s\n", path, strerror(errno));
		return -1;
	}
	memset(c, 0, sizeof(*c));
	while ((got = getline(&buf, &cap, f)) > 0) {
		while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == '\r'))
			buf[--got] = '\0';
		if (got == 0)
			continue;
		if (c->n == alloc) {
			alloc = alloc ? alloc * 2 : 1024;
			c->line = realloc(c->line, alloc * sizeof(*c->line));
			c->len = realloc(c->len, alloc * sizeof(*c->len));
			if (!c->line || !c->len)
				abort();
		}
		c->line[c->n] = malloc((size_t)got + 1);
		if (!c->line[c->n])
			abort();
		memcpy(c->line[c->n], buf, (size_t)got + 1);
		c->len[c->n] = (size_t)got;
		c->bytes += (size_t)got;
		c->n++;
	}
	free(buf);
	fclose(f);
	return c->n ? 0 : -1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

typedef int (*pass_fn)(const struct corpus *c, unsigned flags, void *ctx);

static int pass_parse(const struct corpus *c, unsigned flags, void *ctx)
{
	(void)flags;
	(void)ctx;
	for (size_t i = 0; i < c->n; i++) {
		struct json_object *o = json_tokener_parse(c->line[i]);

		if (!o)
			return -1;
		json_object_put(o);
	}
	return 0;
}

static int pass_validate(const struct corpus *c, unsigned flags, void *ctx)
{
	idmefv2_message **msgs = ctx;

	for (size_t i = 0; i < c->n; i++)
		if (idmefv2_message_validate(msgs[i], flags, NULL, NULL, 0) != IDMEFV2_OK)
			return -1;
	return 0;
}

static int pass_unserialize(const struct corpus *c, unsigned flags, void *ctx)
{
	(void)ctx;
	for (size_t i = 0; i < c->n; i++) {
		idmefv2_message *m = NULL;

		if (idmefv2_message_unserialize("application/json", c->line[i], c->len[i], flags, &m, NULL,
		                                NULL, 0) != IDMEFV2_OK)
			return -1;
		idmefv2_message_unref(m);
	}
	return 0;
}

static int pass_roundtrip(const struct corpus *c, unsigned flags, void *ctx)
{
	(void)ctx;
	for (size_t i = 0; i < c->n; i++) {
		idmefv2_message *m = NULL;
		const char *out;
		size_t len;

		if (idmefv2_message_unserialize("application/json", c->line[i], c->len[i], flags, &m, NULL,
		                                NULL, 0) != IDMEFV2_OK)
			return -1;
		/* Already validated on the way in, as a receiver that forwards would. */
		if (idmefv2_message_serialize(m, "application/json", IDMEFV2_SERIALIZE_NO_VALIDATE, &out,
		                              &len, NULL, NULL, 0) != IDMEFV2_OK)
			return -1;
		idmefv2_message_unref(m);
	}
	return 0;
}

static int pass_roundtrip_validate_twice(const struct corpus *c, unsigned flags, void *ctx)
{
	(void)ctx;
	for (size_t i = 0; i < c->n; i++) {
		idmefv2_message *m = NULL;
		const char *out;
		size_t len;

		if (idmefv2_message_unserialize("application/json", c->line[i], c->len[i], flags, &m, NULL,
		                                NULL, 0) != IDMEFV2_OK)
			return -1;
		if (idmefv2_message_serialize(m, "application/json", flags, &out, &len, NULL, NULL, 0) !=
		    IDMEFV2_OK)
			return -1;
		idmefv2_message_unref(m);
	}
	return 0;
}

static double measure(const char *name, pass_fn fn, const struct corpus *c, unsigned flags, void *ctx,
                      int runs)
{
	double t[64];

	if (fn(c, flags, ctx) != 0) {
		fprintf(stderr, "bench-core: %s: a message failed\n", name);
		exit(1);
	}
	for (int r = 0; r < runs; r++) {
		double t0 = now_s();

		fn(c, flags, ctx);
		t[r] = now_s() - t0;
	}
	qsort(t, (size_t)runs, sizeof(t[0]), cmp_double);
	return (double)c->n / t[runs / 2];
}

int main(int argc, char **argv)
{
	struct corpus c;
	int runs = 5;
	unsigned flags = 0;
	const char *path = NULL;
	idmefv2_message **msgs;
	double floor_rate, validate_rate, parse_rate, unser_rate, rt_rate, rt2_rate;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			runs = atoi(argv[++i]);
		else if (strcmp(argv[i], "--no-format") == 0)
			flags |= IDMEFV2_VALIDATE_NO_FORMAT;
		else if (argv[i][0] == '-') {
			fprintf(stderr, "usage: bench-core [--runs N] [--no-format] FILE.ndjson\n");
			return 2;
		} else
			path = argv[i];
	}
	if (!path || runs < 1 || runs > 64) {
		fprintf(stderr, "usage: bench-core [--runs N] [--no-format] FILE.ndjson\n");
		return 2;
	}
	if (load(path, &c) != 0)
		return 2;

	msgs = calloc(c.n, sizeof(*msgs));
	for (size_t i = 0; i < c.n; i++) {
		char err[256];

		if (idmefv2_message_new_from_json(c.line[i], c.len[i], &msgs[i], err, sizeof(err)) !=
		    IDMEFV2_OK) {
			fprintf(stderr, "bench-core: %s:%zu: %s\n", path, i + 1, err);
			return 1;
		}
	}

	printf("corpus: %s: %zu messages, %.1f MB, %.0f bytes/message; median of %d runs; formats %s\n",
	       path, c.n, (double)c.bytes / 1e6, (double)c.bytes / (double)c.n, runs,
	       (flags & IDMEFV2_VALIDATE_NO_FORMAT) ? "off" : "on");
	floor_rate = measure("parse", pass_parse, &c, flags, NULL, runs);
	validate_rate = measure("validate", pass_validate, &c, flags, msgs, runs);
	parse_rate = measure("unserialize-novalidate", pass_unserialize, &c, flags | IDMEFV2_SERIALIZE_NO_VALIDATE,
	                     NULL, runs);
	unser_rate = measure("unserialize", pass_unserialize, &c, flags, NULL, runs);
	rt_rate = measure("roundtrip", pass_roundtrip, &c, flags, NULL, runs);
	rt2_rate = measure("roundtrip2", pass_roundtrip_validate_twice, &c, flags, NULL, runs);

	printf("%-48s %12.0f msg/s %8.1f MB/s\n", "json-c json_tokener_parse alone (floor)", floor_rate,
	       floor_rate * (double)c.bytes / (double)c.n / 1e6);
	printf("%-48s %12.0f msg/s %8.2f us/msg\n", "validate only (parsed messages)", validate_rate,
	       1e6 / validate_rate);
	printf("%-48s %12.0f msg/s\n", "unserialize without validation (strict parse)", parse_rate);
	printf("%-48s %12.0f msg/s  %5.2fx the floor\n", "unserialize + validate", unser_rate,
	       unser_rate / floor_rate);
	printf("%-48s %12.0f msg/s\n", "unserialize + validate + serialize", rt_rate);
	printf("%-48s %12.0f msg/s\n", "unserialize + validate + serialize (validated)", rt2_rate);
	printf("validation adds %.1f%% to unserializing (unserialize+validate vs unserialize alone)\n",
	       100.0 * (parse_rate / unser_rate - 1.0));
	printf("validation of cache-cold parsed messages is %.1f%% of json-c parse time\n",
	       100.0 * floor_rate / validate_rate);
	printf("unserialize + validate + serialize vs python-idmefv2 (92/s): %.0fx\n", rt2_rate / 92.0);

	for (size_t i = 0; i < c.n; i++) {
		idmefv2_message_unref(msgs[i]);
		free(c.line[i]);
	}
	free(msgs);
	free(c.line);
	free(c.len);
	return 0;
}
