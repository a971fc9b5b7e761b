/* SPDX-License-Identifier: Apache-2.0 */
/* Writes the fuzz seed corpus: make-seeds DIR. Run by hand when layouts change. */
#include <stdio.h>

#include "builder.h"

static void write_file(const char *dir, const char *name, const struct buf *b)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(b->p, 1, b->len, f) != b->len) {
		perror(path);
		exit(1);
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	struct buf body = { 0 }, recs[4] = { { 0 }, { 0 }, { 0 }, { 0 } }, out = { 0 };

	if (argc != 2)
		return 2;
	body_rule_message(&body, 1, 2001, "seed rule");
	b_record(&recs[0], 66, 1, 0, &body);
	b_free(&body);
	body_classification(&body, 3, "attempted-recon", "Attempted Information Leak");
	b_record(&recs[1], 67, 1, 0, &body);
	b_free(&body);
	body_intrusion(&body, 85, 1, 1, 2001, 3, 1);
	b_record(&recs[2], 400, 1, 1700000000, &body);
	b_free(&body);
	body_packet(&body, 1, 1700000000, 5, 16);
	b_record(&recs[3], 2, 1, 1700000000, &body);
	b_free(&body);
	b_bundle(&out, 1, 1, 0, recs, 4);
	write_file(argv[1], "bundle-metadata-intrusion-packet", &out);
	b_free(&out);

	b_event_data(&out, &recs[2]);
	write_file(argv[1], "event-data-intrusion-85", &out);
	b_free(&out);
	b_free(&body);
	body_intrusion(&body, 60, 2, 1, 2001, 3, 1);
	b_free(&recs[2]);
	b_record(&recs[2], 400, 0, 0, &body);
	b_event_data(&out, &recs[2]);
	write_file(argv[1], "event-data-intrusion-60-no-archival", &out);
	b_free(&out);

	/* Error, then Null, then Streaming Information, in one stream. */
	b_header(&out, 1, 15);
	b_u32(&out, 19);
	b_u16(&out, 9);
	b_bytes(&out, "No space", 9);
	b_header(&out, 0, 0);
	b_header(&out, 2051, 16);
	b_u32(&out, 6667);
	b_u32(&out, 8);
	b_u32(&out, 0);
	b_u32(&out, 0);
	write_file(argv[1], "error-null-streaming-info", &out);
	b_free(&out);
	for (int i = 0; i < 4; i++)
		b_free(&recs[i]);
	b_free(&body);
	return 0;
}
