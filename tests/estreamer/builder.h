/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Builds eStreamer messages, records and blocks byte by byte for the tests,
 * from the layouts of the reference document. Header-only: each test
 * executable includes it once.
 */
#ifndef ESTREAMER_TEST_BUILDER_H
#define ESTREAMER_TEST_BUILDER_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct buf {
	uint8_t *p;
	size_t len, cap;
};

static inline void b_need(struct buf *b, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
}

static inline void b_bytes(struct buf *b, const void *p, size_t n)
{
	b_need(b, n);
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

static inline void b_u8(struct buf *b, uint8_t v)
{
	b_bytes(b, &v, 1);
}

static inline void b_u16(struct buf *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	b_bytes(b, x, 2);
}

static inline void b_u32(struct buf *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	b_bytes(b, x, 4);
}

static inline void b_u64(struct buf *b, uint64_t v)
{
	b_u32(b, (uint32_t)(v >> 32));
	b_u32(b, (uint32_t)v);
}

static inline void b_fill(struct buf *b, uint8_t v, size_t n)
{
	b_need(b, n);
	memset(b->p + b->len, v, n);
	b->len += n;
}

/* IPv4 as an IPv4-mapped IPv6 address. */
static inline void b_ip4in6(struct buf *b, uint8_t a, uint8_t bb, uint8_t c, uint8_t d)
{
	static const uint8_t pre[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	uint8_t ip[4] = { a, bb, c, d };

	b_bytes(b, pre, 12);
	b_bytes(b, ip, 4);
}

static inline void b_put32_at(struct buf *b, size_t off, uint32_t v)
{
	b->p[off] = (uint8_t)(v >> 24);
	b->p[off + 1] = (uint8_t)(v >> 16);
	b->p[off + 2] = (uint8_t)(v >> 8);
	b->p[off + 3] = (uint8_t)v;
}

/* A block: type, length (patched by b_block_end), fields. */
static inline size_t b_block_begin(struct buf *b, uint32_t type)
{
	size_t at = b->len;

	b_u32(b, type);
	b_u32(b, 0);
	return at;
}

static inline void b_block_end(struct buf *b, size_t at)
{
	b_put32_at(b, at + 4, (uint32_t)(b->len - at));
}

static inline void b_string(struct buf *b, const char *s)
{
	size_t at = b_block_begin(b, 0);

	b_bytes(b, s, strlen(s));
	b_block_end(b, at);
}

static inline void b_blob(struct buf *b, const void *p, size_t n)
{
	size_t at = b_block_begin(b, 10);

	b_bytes(b, p, n);
	b_block_end(b, at);
}

/* A record: type, length, [archival timestamp, reserved], body. */
static inline void b_record(struct buf *out, uint32_t type, int archival, uint32_t ts,
			    const struct buf *body)
{
	b_u32(out, type);
	b_u32(out, (uint32_t)body->len);
	if (archival) {
		b_u32(out, ts);
		b_u32(out, 0);
	}
	b_bytes(out, body->p, body->len);
}

static inline void b_header(struct buf *out, uint16_t type, uint32_t len)
{
	b_u16(out, 1);
	b_u16(out, type);
	b_u32(out, len);
}

/* An Event Data message around one record. */
static inline void b_event_data(struct buf *out, const struct buf *record)
{
	b_header(out, 4, (uint32_t)record->len);
	b_bytes(out, record->p, record->len);
}

/* A Message Bundle around records (each a complete record); inner version @ver. */
static inline void b_bundle(struct buf *out, uint32_t conn, uint32_t seq, uint16_t ver,
			    const struct buf *records, size_t n)
{
	size_t len = 8;

	for (size_t i = 0; i < n; i++)
		len += 8 + records[i].len;
	b_header(out, 4002, (uint32_t)len);
	b_u32(out, conn);
	b_u32(out, seq);
	for (size_t i = 0; i < n; i++) {
		b_u16(out, ver);
		b_u16(out, 4);
		b_u32(out, (uint32_t)records[i].len);
		b_bytes(out, records[i].p, records[i].len);
	}
}

static inline void b_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* ---- records used by several tests ---- */

/* Packet record body: an Ethernet/IPv4/UDP packet of @n payload bytes. */
static inline void body_packet(struct buf *b, uint32_t event_id, uint32_t sec, uint32_t usec,
			       size_t n)
{
	static const uint8_t eth[14] = { 0, 1, 2, 3, 4, 5, 0, 6, 7, 8, 9, 10, 0x08, 0x00 };
	struct buf pkt = { 0 };
	uint16_t iplen = (uint16_t)(20 + 8 + n);

	b_bytes(&pkt, eth, sizeof(eth));
	b_u8(&pkt, 0x45);
	b_u8(&pkt, 0);
	b_u16(&pkt, iplen);
	b_u16(&pkt, 0x1234);
	b_u16(&pkt, 0);
	b_u8(&pkt, 64);
	b_u8(&pkt, 17);
	b_u16(&pkt, 0); /* checksum: not checked by readers */
	b_u8(&pkt, 10), b_u8(&pkt, 0), b_u8(&pkt, 0), b_u8(&pkt, 1);
	b_u8(&pkt, 10), b_u8(&pkt, 0), b_u8(&pkt, 0), b_u8(&pkt, 2);
	b_u16(&pkt, 1234);
	b_u16(&pkt, 53);
	b_u16(&pkt, (uint16_t)(8 + n));
	b_u16(&pkt, 0);
	b_fill(&pkt, 0x61, n);

	b_u32(b, 7);        /* deviceId */
	b_u32(b, event_id); /* eventId */
	b_u32(b, sec);      /* eventSecond */
	b_u32(b, sec);      /* packetSecond */
	b_u32(b, usec);     /* packetMicrosecond */
	b_u32(b, 1);        /* linkType: Ethernet */
	b_u32(b, (uint32_t)pkt.len);
	b_bytes(b, pkt.p, pkt.len);
	b_free(&pkt);
}

/* Intrusion event block 60/81/85 (record 400 body). */
static inline void body_intrusion(struct buf *b, uint32_t block_type, uint32_t event_id,
				  uint32_t gid, uint32_t sid, uint32_t class_id, uint32_t prio)
{
	size_t at = b_block_begin(b, block_type);
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };

	b_u32(b, 3);          /* deviceId */
	b_u32(b, event_id);   /* eventId */
	b_u32(b, 1700000000); /* eventSecond */
	b_u32(b, 123456);     /* eventMicrosecond */
	b_u32(b, sid);
	b_u32(b, gid);
	b_u32(b, 4);          /* ruleRevision */
	b_u32(b, class_id);
	b_u32(b, prio);
	b_ip4in6(b, 10, 1, 2, 3);
	b_bytes(b, v6, 16);
	b_u16(b, 40000);
	b_u16(b, 80);
	b_u8(b, 6);           /* ipProtocolId */
	b_u8(b, 1);           /* impactFlags */
	b_u8(b, 2);           /* impact */
	b_u8(b, 1);           /* blocked */
	if (block_type != 60)
		b_u8(b, 9);   /* blockedReasonId */
	b_u32(b, 0);          /* mplsLabel */
	b_u16(b, 100);        /* vlanId */
	b_u16(b, 0);
	for (int i = 0; i < 16; i++) /* policyUuid */
		b_u8(b, (uint8_t)(0x10 + i));
	b_u32(b, 55);         /* userId */
	b_u32(b, 0);
	b_u32(b, 0);
	b_u32(b, 676);        /* applicationId */
	b_u32(b, 268435456);  /* accessControlRuleId */
	b_fill(b, 0xab, 16 * 5);
	b_u32(b, 1699999999); /* connectionTimestamp */
	b_u16(b, 1);
	b_u16(b, 2);
	b_u16(b, 840);        /* sourceCountry */
	b_u16(b, 250);
	b_u16(b, 0);
	b_fill(b, 0, 16);
	b_fill(b, 0xcd, 20);  /* sslCertificateFingerprint */
	b_u16(b, 0);
	b_u16(b, 0);
	b_fill(b, 0, 16);
	b_u32(b, 200);        /* httpResponse */
	if (block_type != 60) {
		b_string(b, "vrf-in");
		b_string(b, "vrf-out");
		b_u8(b, 3);   /* snortVersion */
	}
	if (block_type == 85) {
		b_ip4in6(b, 192, 0, 2, 7);
		b_string(b, "www.example.com");
		b_string(b, "/index.html");
		b_string(b, "");
		b_string(b, "a@example.com");
		b_string(b, "");
		b_string(b, "b@example.com");
	}
	b_block_end(b, at);
}

static inline void body_rule_message(struct buf *b, uint32_t gid, uint32_t sid, const char *msg)
{
	b_u32(b, gid);
	b_u32(b, sid);
	b_u32(b, 4);
	b_u32(b, sid);
	b_u16(b, (uint16_t)strlen(msg));
	b_fill(b, 0x11, 16);
	b_fill(b, 0x22, 16);
	b_bytes(b, msg, strlen(msg));
}

static inline void body_classification(struct buf *b, uint32_t id, const char *name,
				       const char *desc)
{
	b_u32(b, id);
	b_u16(b, (uint16_t)strlen(name));
	b_bytes(b, name, strlen(name));
	b_u16(b, (uint16_t)strlen(desc));
	b_bytes(b, desc, strlen(desc));
	b_fill(b, 0x33, 16);
	b_fill(b, 0x44, 16);
}

static inline void body_priority(struct buf *b, uint32_t id, const char *name)
{
	b_u32(b, id);
	b_u16(b, (uint16_t)strlen(name));
	b_bytes(b, name, strlen(name));
}

/* Reads one named vector from a .hex file of tests/data/estreamer. */
static inline int load_vector(const char *file, const char *name, struct buf *out)
{
	char path[4096], line[8192];
	const char *dir = getenv("IDMEFV2_TEST_DATA");
	FILE *f;
	int found = 0;

	snprintf(path, sizeof(path), "%s/estreamer/%s", dir ? dir : "tests/data", file);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (!found && fgets(line, sizeof(line), f)) {
		size_t n = strlen(name);
		const char *h;

		if (line[0] == '#' || strncmp(line, name, n) != 0 || line[n] != ' ')
			continue;
		for (h = line + n + 1; h[0] && h[1] && h[0] != '\n'; h += 2) {
			unsigned v;

			if (sscanf(h, "%2x", &v) != 1)
				break;
			b_u8(out, (uint8_t)v);
		}
		found = 1;
	}
	fclose(f);
	return found ? 0 : -1;
}

#endif
