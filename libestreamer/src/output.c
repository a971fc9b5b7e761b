/* SPDX-License-Identifier: Apache-2.0 */
/* Built-in outputs: JSON lines and libpcap files of packet records. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <estreamer/output.h>

#include "estreamer-private.h"

/* Offsets in a Packet record body. */
#define PKT_SECOND 12
#define PKT_MICROSECOND 16
#define PKT_LINKTYPE 20
#define PKT_LENGTH 24
#define PKT_DATA 28
#define PCAP_SNAPLEN 0x1ffff
#define PCAP_LINKTYPE_ETHERNET 1

struct estreamer_pcap {
	FILE *f;
	int header_done;
};

estreamer_error estreamer_json_write(FILE *out, const estreamer_record *rec)
{
	const char *s;

	if (!out || !rec || !rec->json)
		return ESTREAMER_ERR_INVALID_ARG;
	s = json_object_to_json_string_ext(rec->json, JSON_C_TO_STRING_PLAIN |
							      JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s || fputs(s, out) == EOF || fputc('\n', out) == EOF)
		return ESTREAMER_ERR_IO;
	return ESTREAMER_OK;
}

/* libpcap files are written in the writer's byte order; readers detect it from the magic. */
static int pcap_header(estreamer_pcap *p, uint32_t linktype)
{
	struct {
		uint32_t magic;
		uint16_t major, minor;
		int32_t thiszone;
		uint32_t sigfigs, snaplen, linktype;
	} h = { 0xa1b2c3d4u, 2, 4, 0, 0, PCAP_SNAPLEN, linktype };

	p->header_done = 1;
	return fwrite(&h, sizeof(h), 1, p->f) == 1 ? 0 : -1;
}

/*
 * Checks an existing file before appending to it: it must be a libpcap file
 * in this machine's byte order. A record cut short by a crash is cut off, so
 * what follows is readable. Leaves the position at the end.
 */
static estreamer_error pcap_resume(estreamer_pcap *p)
{
	struct stat st;
	uint32_t g[6], h[4];
	off_t off = 24;

	if (fstat(fileno(p->f), &st) != 0)
		return ESTREAMER_ERR_IO;
	if (st.st_size < 24) {
		/* Empty, or a header cut short: start again. */
		return ftruncate(fileno(p->f), 0) == 0 ? ESTREAMER_OK : ESTREAMER_ERR_IO;
	}
	if (fseeko(p->f, 0, SEEK_SET) != 0 || fread(g, sizeof(g), 1, p->f) != 1)
		return ESTREAMER_ERR_IO;
	if (g[0] != 0xa1b2c3d4u)
		return ESTREAMER_ERR_MALFORMED;
	while (off + 16 <= st.st_size) {
		if (fseeko(p->f, off, SEEK_SET) != 0 || fread(h, sizeof(h), 1, p->f) != 1)
			return ESTREAMER_ERR_IO;
		if (off + 16 + (off_t)h[2] > st.st_size)
			break;
		off += 16 + (off_t)h[2];
	}
	if (off != st.st_size && ftruncate(fileno(p->f), off) != 0)
		return ESTREAMER_ERR_IO;
	p->header_done = 1;
	return fseeko(p->f, 0, SEEK_END) == 0 ? ESTREAMER_OK : ESTREAMER_ERR_IO;
}

estreamer_error estreamer_pcap_open(const char *path, estreamer_pcap **ret_pcap)
{
	estreamer_pcap *p;
	estreamer_error err;

	if (!path || !ret_pcap)
		return ESTREAMER_ERR_INVALID_ARG;
	p = calloc(1, sizeof(*p));
	if (!p)
		return ESTREAMER_ERR_NOMEM;
	/* Appending: a restart after a crash must not erase the packets already written. */
	p->f = fopen(path, "a+be");
	if (!p->f) {
		free(p);
		return ESTREAMER_ERR_IO;
	}
	err = pcap_resume(p);
	if (err) {
		fclose(p->f);
		free(p);
		return err;
	}
	*ret_pcap = p;
	return ESTREAMER_OK;
}

estreamer_error estreamer_pcap_flush(estreamer_pcap *pcap)
{
	if (!pcap)
		return ESTREAMER_ERR_INVALID_ARG;
	if (fflush(pcap->f) != 0 || fsync(fileno(pcap->f)) != 0)
		return ESTREAMER_ERR_IO;
	return ESTREAMER_OK;
}

estreamer_error estreamer_pcap_write(estreamer_pcap *pcap, const estreamer_record *rec)
{
	uint32_t hdr[4], caplen;
	const uint8_t *b;

	if (!pcap || !rec)
		return ESTREAMER_ERR_INVALID_ARG;
	if (rec->type != 2)
		return ESTREAMER_OK;
	if (rec->length < PKT_DATA)
		return ESTREAMER_ERR_TRUNCATED;
	b = rec->body;
	caplen = estreamer__be32(b + PKT_LENGTH);
	if (caplen > rec->length - PKT_DATA)
		return ESTREAMER_ERR_TRUNCATED;
	if (!pcap->header_done && pcap_header(pcap, estreamer__be32(b + PKT_LINKTYPE)) != 0)
		return ESTREAMER_ERR_IO;
	hdr[0] = estreamer__be32(b + PKT_SECOND);
	hdr[1] = estreamer__be32(b + PKT_MICROSECOND);
	hdr[2] = caplen;
	hdr[3] = caplen;
	if (fwrite(hdr, sizeof(hdr), 1, pcap->f) != 1 ||
	    (caplen && fwrite(b + PKT_DATA, caplen, 1, pcap->f) != 1))
		return ESTREAMER_ERR_IO;
	return ESTREAMER_OK;
}

estreamer_error estreamer_pcap_close(estreamer_pcap *pcap)
{
	estreamer_error err = ESTREAMER_OK;

	if (!pcap)
		return ESTREAMER_OK;
	if (!pcap->header_done && pcap_header(pcap, PCAP_LINKTYPE_ETHERNET) != 0)
		err = ESTREAMER_ERR_IO;
	if (fclose(pcap->f) != 0)
		err = ESTREAMER_ERR_IO;
	free(pcap);
	return err;
}
