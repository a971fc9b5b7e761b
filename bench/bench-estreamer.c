/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Records per second decoded from an in-memory stream of Message Bundles
 * (intrusion events of block 85, packets, metadata), as the client decodes
 * them: framing, layout tables, JSON objects, enrichment.
 * Usage: bench-estreamer [SECONDS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <estreamer/decode.h>

#include "builder.h"

static int count(void *user, const estreamer_record *rec)
{
	(*(size_t *)user)++;
	return rec->json == NULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 2.0, start, elapsed;
	estreamer_decoder *dec = estreamer_decoder_new();
	struct buf stream = { 0 }, recs[10], body = { 0 };
	size_t records = 0, bytes = 0, rounds = 0;

	/* 100 bundles of 10 records: 1 rule message, 7 intrusion events, 2 packets. */
	for (int b = 0; b < 100; b++) {
		for (int i = 0; i < 10; i++) {
			recs[i] = (struct buf){ 0 };
			if (i == 0)
				body_rule_message(&body, 1, (uint32_t)b, "bench rule message text");
			else if (i < 8)
				body_intrusion(&body, 85, (uint32_t)(b * 10 + i), 1, (uint32_t)b, 3, 1);
			else
				body_packet(&body, (uint32_t)i, 1700000000, 0, 400);
			b_record(&recs[i], i == 0 ? 66 : i < 8 ? 400 : 2, 1, 1700000000u + (uint32_t)b,
				 &body);
			b_free(&body);
		}
		b_bundle(&stream, 1, (uint32_t)b + 1, 0, recs, 10);
		for (int i = 0; i < 10; i++)
			b_free(&recs[i]);
	}
	start = now();
	do {
		size_t off = 0;

		while (off < stream.len) {
			estreamer_header h;
			size_t len;

			if (estreamer_header_parse(stream.p + off, stream.len - off, &h) != ESTREAMER_OK)
				return 1;
			len = 8 + (size_t)h.length;
			if (estreamer_decoder_message(dec, stream.p + off, len, count, &records, NULL, 0) !=
			    ESTREAMER_OK)
				return 1;
			off += len;
		}
		bytes += stream.len;
		rounds++;
		elapsed = now() - start;
	} while (elapsed < seconds);
	printf("estreamer decode: %zu records in %.2f s = %.0f records/s, %.1f MB/s (%zu passes over "
	       "%zu bytes)\n",
	       records, elapsed, (double)records / elapsed, (double)bytes / elapsed / 1e6, rounds,
	       stream.len);
	b_free(&stream);
	estreamer_decoder_free(dec);
	return 0;
}
