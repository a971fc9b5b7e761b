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
