/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 9562 UUIDs, version 7 (time-ordered) and version 4 (random). */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <idmefv2/util.h>

/*
 * Milliseconds << 12 | a 12-bit counter, the last value handed out by this
 * process. Each new UUID takes max(now << 12, last + 1), so UUIDs of one
 * process strictly increase even within one millisecond; after 4096 in one
 * millisecond the counter carries into the timestamp (RFC 9562 §6.2 allows
 * borrowing from the future to stay monotonic).
 */
static _Atomic uint64_t v7_last;

/*
 * Random bytes come from a small per-thread pool refilled by getrandom(): one
 * system call per 16 UUIDs instead of one each (it was a tenth of the time of
 * a connector converting alerts). A forked child empties its pool, so that it
 * never repeats its parent's bytes.
 */
#define POOL_SIZE 256
static _Thread_local unsigned char pool[POOL_SIZE];
static _Thread_local size_t pool_left;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;

static void pool_forget(void)
{
	pool_left = 0;
}

static void pool_init(void)
{
	pthread_atfork(NULL, NULL, pool_forget);
}

static idmefv2_error random_getrandom(unsigned char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = getrandom(buf, len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return IDMEFV2_ERR_IO;
		}
		buf += n;
		len -= (size_t)n;
	}
	return IDMEFV2_OK;
}

static idmefv2_error random_fill(unsigned char *buf, size_t len)
{
	pthread_once(&pool_once, pool_init);
	while (len > 0) {
		size_t take;

		if (pool_left == 0) {
			idmefv2_error err = random_getrandom(pool, POOL_SIZE);

			if (err)
				return err;
			pool_left = POOL_SIZE;
		}
		take = len < pool_left ? len : pool_left;
		memcpy(buf, pool + POOL_SIZE - pool_left, take);
		/* Bytes handed out are wiped from the pool. */
		memset(pool + POOL_SIZE - pool_left, 0, take);
		pool_left -= take;
		buf += take;
		len -= take;
	}
	return IDMEFV2_OK;
}

static uint64_t v7_next(void)
{
	struct timespec ts;
	uint64_t now, last, next;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = ((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u) & UINT64_C(0xffffffffffff);
	last = atomic_load_explicit(&v7_last, memory_order_relaxed);
	do {
		next = now << 12;
		if (next <= last)
			next = last + 1;
	} while (!atomic_compare_exchange_weak_explicit(&v7_last, &last, next,
	                                                memory_order_relaxed, memory_order_relaxed));
	return next;
}

static void format_uuid(const unsigned char u[16], char *buf)
{
	static const char hex[] = "0123456789abcdef";
	char *p = buf;

	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		*p++ = hex[u[i] >> 4];
		*p++ = hex[u[i] & 0xf];
	}
	*p = '\0';
}

IDMEFV2_EXPORT idmefv2_error idmefv2_uuid_generate(idmefv2_uuid_kind kind, char *buf, size_t size)
{
	unsigned char u[16];
	idmefv2_error err;

	if (!buf || size < IDMEFV2_UUID_STRLEN)
		return IDMEFV2_ERR_INVALID_ARG;
	switch (kind) {
	case IDMEFV2_UUID_V7: {
		uint64_t t;

		/* Random bits first: a failure must not consume a counter value. */
		err = random_fill(u + 8, 8);
		if (err)
			return err;
		t = v7_next();
		/* 48-bit big-endian milliseconds, then version and the counter as rand_a. */
		for (int i = 0; i < 6; i++)
			u[i] = (unsigned char)(t >> (12 + 8 * (5 - i)));
		u[6] = (unsigned char)(0x70 | ((t >> 8) & 0x0f));
		u[7] = (unsigned char)(t & 0xff);
		break;
	}
	case IDMEFV2_UUID_V4:
		err = random_fill(u, sizeof(u));
		if (err)
			return err;
		u[6] = (unsigned char)(0x40 | (u[6] & 0x0f));
		break;
	default:
		return IDMEFV2_ERR_INVALID_ARG;
	}
	u[8] = (unsigned char)(0x80 | (u[8] & 0x3f));
	format_uuid(u, buf);
	return IDMEFV2_OK;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_uuid_new(char *buf, size_t size)
{
	return idmefv2_uuid_generate(IDMEFV2_UUID_V7, buf, size);
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

IDMEFV2_EXPORT bool idmefv2_uuid_is_valid(const char *s)
{
	if (!s)
		return false;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!is_hex(s[i])) {
			/* also stops at a NUL before the 36th character */
			return false;
		}
	}
	return s[36] == '\0';
}

IDMEFV2_EXPORT bool idmefv2_uuid_equal(const char *a, const char *b)
{
	if (!idmefv2_uuid_is_valid(a) || !idmefv2_uuid_is_valid(b))
		return false;
	for (int i = 0; i < 36; i++) {
		/* ASCII hex only: folding bit 0x20 lower-cases letters and leaves digits and '-' alone */
		if ((a[i] | 0x20) != (b[i] | 0x20))
			return false;
	}
	return true;
}

/* ---- name-based UUIDs (RFC 9562 §5.5): SHA-1 (FIPS 180-4), written here to keep core's dependencies ---- */

struct sha1 {
	uint32_t h[5];
	unsigned char block[64];
	size_t used;    /* bytes in block */
	uint64_t total; /* bytes hashed */
};

static uint32_t rol32(uint32_t x, unsigned n)
{
	return (x << n) | (x >> (32 - n));
}

static void sha1_compress(struct sha1 *s, const unsigned char *b)
{
	uint32_t w[80], a = s->h[0], bb = s->h[1], c = s->h[2], d = s->h[3], e = s->h[4];

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)b[4 * i] << 24 | (uint32_t)b[4 * i + 1] << 16 | (uint32_t)b[4 * i + 2] << 8 |
		       (uint32_t)b[4 * i + 3];
	for (int i = 16; i < 80; i++)
		w[i] = rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	for (int i = 0; i < 80; i++) {
		uint32_t f, k, t;

		if (i < 20) {
			f = (bb & c) | (~bb & d);
			k = 0x5a827999;
		} else if (i < 40) {
			f = bb ^ c ^ d;
			k = 0x6ed9eba1;
		} else if (i < 60) {
			f = (bb & c) | (bb & d) | (c & d);
			k = 0x8f1bbcdc;
		} else {
			f = bb ^ c ^ d;
			k = 0xca62c1d6;
		}
		t = rol32(a, 5) + f + e + k + w[i];
		e = d;
		d = c;
		c = rol32(bb, 30);
		bb = a;
		a = t;
	}
	s->h[0] += a;
	s->h[1] += bb;
	s->h[2] += c;
	s->h[3] += d;
	s->h[4] += e;
}

static void sha1_init(struct sha1 *s)
{
	static const uint32_t h0[5] = { 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0 };

	memcpy(s->h, h0, sizeof(h0));
	s->used = 0;
	s->total = 0;
}

static void sha1_update(struct sha1 *s, const unsigned char *p, size_t len)
{
	s->total += len;
	while (len > 0) {
		size_t take = 64 - s->used < len ? 64 - s->used : len;

		memcpy(s->block + s->used, p, take);
		s->used += take;
		p += take;
		len -= take;
		if (s->used == 64) {
			sha1_compress(s, s->block);
			s->used = 0;
		}
	}
}

static void sha1_final(struct sha1 *s, unsigned char out[20])
{
	uint64_t bits = s->total * 8;
	unsigned char pad = 0x80, len_be[8];

	sha1_update(s, &pad, 1);
	pad = 0;
	while (s->used != 56)
		sha1_update(s, &pad, 1);
	for (int i = 0; i < 8; i++)
		len_be[i] = (unsigned char)(bits >> (56 - 8 * i));
	sha1_update(s, len_be, 8);
	for (int i = 0; i < 20; i++)
		out[i] = (unsigned char)(s->h[i / 4] >> (24 - 8 * (i % 4)));
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	return (c | 0x20) - 'a' + 10;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_uuid_from_name(const char *namespace_uuid, const void *name, size_t len,
                                                    char *buf, size_t size)
{
	unsigned char ns[16], digest[20];
	struct sha1 s;

	if (!buf || size < IDMEFV2_UUID_STRLEN || !idmefv2_uuid_is_valid(namespace_uuid) || (!name && len > 0))
		return IDMEFV2_ERR_INVALID_ARG;
	for (int i = 0, j = 0; i < 16; j++) {
		if (namespace_uuid[j] == '-')
			continue;
		ns[i++] = (unsigned char)(hex_digit(namespace_uuid[j]) << 4 | hex_digit(namespace_uuid[j + 1]));
		j++;
	}
	sha1_init(&s);
	sha1_update(&s, ns, sizeof(ns));
	sha1_update(&s, name, len);
	sha1_final(&s, digest);
	digest[6] = (unsigned char)(0x50 | (digest[6] & 0x0f));
	digest[8] = (unsigned char)(0x80 | (digest[8] & 0x3f));
	format_uuid(digest, buf);
	return IDMEFV2_OK;
}
