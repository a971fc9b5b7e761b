/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Exact JSON number arithmetic for the validator. json-c parses numbers to
 * int64/uint64 or double but keeps the text of parsed doubles, so that
 * "multipleOf" and ties in "minimum"/"maximum" can be decided on the decimal
 * value the document really holds rather than on its binary approximation.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "schema-private.h"

/* Above this many digits a number is compared through doubles: such texts
 * only come from hostile input, and exactness there is not worth the time. */
#define DEC_MAX_DIGITS 1024

/* ±D × 10^exp with D's digits in d[0..n), no leading or trailing zero;
 * n == 0 is zero. */
struct dec {
	bool neg;
	size_t n;
	int64_t exp;
	char *d;
	char small[64];
};

unsigned idmefv2__sv_type(struct json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_null:
		return SV_T_NULL;
	case json_type_boolean:
		return SV_T_BOOLEAN;
	case json_type_double:
		return SV_T_DOUBLE;
	case json_type_int:
		return SV_T_INTEGER;
	case json_type_object:
		return SV_T_OBJECT;
	case json_type_array:
		return SV_T_ARRAY;
	case json_type_string:
		return SV_T_STRING;
	}
	return SV_T_NULL;
}

/* json-c saturates get_int64 at INT64_MAX and keeps larger positive values
 * as uint64. */
static __int128 int_value(struct json_object *o)
{
	int64_t v = json_object_get_int64(o);

	if (v == INT64_MAX)
		return (__int128)json_object_get_uint64(o);
	return v;
}

static size_t int128_text(__int128 v, char *buf, size_t size)
{
	char tmp[48];
	size_t n = 0, out = 0;
	bool neg = v < 0;
	unsigned __int128 u = neg ? (unsigned __int128)(-(v + 1)) + 1 : (unsigned __int128)v;

	do {
		tmp[n++] = (char)('0' + (int)(u % 10));
		u /= 10;
	} while (u);
	if (neg && out + 1 < size)
		buf[out++] = '-';
	while (n && out + 1 < size)
		buf[out++] = tmp[--n];
	buf[out] = '\0';
	return out;
}

/* Strict JSON number grammar, so that a foreign serializer's userdata is
 * never mistaken for the number's text. */
static bool is_json_number(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (*s >= '1' && *s <= '9')
		while (*s >= '0' && *s <= '9')
			s++;
	else
		return false;
	if (*s == '.') {
		s++;
		if (!(*s >= '0' && *s <= '9'))
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!(*s >= '0' && *s <= '9'))
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return *s == '\0';
}

/* The text json-c's parser kept for a double (json_object_new_double_s()
 * stores it as the serializer's userdata), or NULL. */
static const char *double_source_text(struct json_object *o)
{
	const char *t = json_object_get_userdata(o);

	if (!t || !is_json_number(t))
		return NULL;
	if (strtod(t, NULL) != json_object_get_double(o))
		return NULL;
	return t;
}

size_t idmefv2__sv_number_text(struct json_object *o, char *buf, size_t size)
{
	const char *t;
	int n;

	if (!size)
		return 0;
	if (json_object_get_type(o) == json_type_int)
		return int128_text(int_value(o), buf, size);
	t = double_source_text(o);
	if (t) {
		size_t len = strlen(t);

		if (len >= size)
			len = size - 1;
		memcpy(buf, t, len);
		buf[len] = '\0';
		return len;
	}
	n = snprintf(buf, size, "%.17g", json_object_get_double(o));
	if (n < 0)
		n = 0;
	return (size_t)n < size ? (size_t)n : size - 1;
}

static void dec_free(struct dec *x)
{
	if (x->d && x->d != x->small)
		free(x->d);
	x->d = NULL;
}

/* Parse a JSON number text; false if it has too many digits or no memory. */
static bool dec_parse(const char *s, struct dec *x)
{
	size_t cap = 0, n = 0, total = 0, frac = 0;
	int64_t e = 0;
	bool eneg = false, seen_nonzero = false, in_frac = false;
	const char *p;

	x->neg = false;
	x->n = 0;
	x->exp = 0;
	x->d = x->small;
	if (*s == '-') {
		x->neg = true;
		s++;
	}
	for (p = s; *p; p++)
		if (*p >= '0' && *p <= '9')
			total++;
		else if (*p == 'e' || *p == 'E')
			break;
	if (total > DEC_MAX_DIGITS)
		return false;
	cap = sizeof(x->small);
	if (total >= cap) {
		x->d = malloc(total + 1);
		if (!x->d)
			return false;
		cap = total + 1;
	}
	for (p = s; *p && *p != 'e' && *p != 'E'; p++) {
		if (*p == '.') {
			in_frac = true;
			continue;
		}
		if (*p < '0' || *p > '9')
			break;
		if (in_frac)
			frac++;
		if (*p == '0' && !seen_nonzero)
			continue;
		seen_nonzero = true;
		x->d[n++] = *p;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			eneg = *p++ == '-';
		for (; *p >= '0' && *p <= '9'; p++)
			if (e < 1000000000000000LL)
				e = e * 10 + (*p - '0');
	}
	if (eneg)
		e = -e;
	e -= (int64_t)frac;
	while (n && x->d[n - 1] == '0') {
		n--;
		e++;
	}
	x->n = n;
	x->exp = n ? e : 0;
	return true;
}

static bool dec_from_json(struct json_object *o, struct dec *x)
{
	char buf[64];

	if (json_object_get_type(o) == json_type_int) {
		int128_text(int_value(o), buf, sizeof(buf));
		return dec_parse(buf, x);
	}
	{
		const char *t = double_source_text(o);

		if (t)
			return dec_parse(t, x);
	}
	snprintf(buf, sizeof(buf), "%.17g", json_object_get_double(o));
	return dec_parse(buf, x);
}

static int dec_cmp_magnitude(const struct dec *a, const struct dec *b)
{
	int64_t ta = (int64_t)a->n + a->exp, tb = (int64_t)b->n + b->exp;
	size_t m = a->n < b->n ? a->n : b->n;
	int c;

	if (ta != tb)
		return ta < tb ? -1 : 1;
	c = memcmp(a->d, b->d, m);
	if (c)
		return c < 0 ? -1 : 1;
	if (a->n == b->n)
		return 0;
	return a->n < b->n ? -1 : 1;
}

static int dec_cmp(const struct dec *a, const struct dec *b)
{
	int sa = a->n ? (a->neg ? -1 : 1) : 0;
	int sb = b->n ? (b->neg ? -1 : 1) : 0;
	int m;

	if (sa != sb)
		return sa < sb ? -1 : 1;
	if (!sa)
		return 0;
	m = dec_cmp_magnitude(a, b);
	return sa > 0 ? m : -m;
}

int idmefv2__sv_number_cmp(struct json_object *a, struct json_object *b)
{
	struct dec x, y;
	double da, db;
	int r;

	if (json_object_get_type(a) == json_type_int && json_object_get_type(b) == json_type_int) {
		__int128 ia = int_value(a), ib = int_value(b);

		return ia < ib ? -1 : ia > ib;
	}
	/* Rounding to double is monotonic: distinct doubles order the decimals
	 * they came from; only a tie needs the exact text. */
	da = json_object_get_double(a);
	db = json_object_get_double(b);
	if (da < db)
		return -1;
	if (da > db)
		return 1;
	if (!dec_from_json(a, &x)) {
		dec_free(&x);
		return 0;
	}
	if (!dec_from_json(b, &y)) {
		dec_free(&x);
		dec_free(&y);
		return 0;
	}
	r = dec_cmp(&x, &y);
	dec_free(&x);
	dec_free(&y);
	return r;
}

/* (a * b) mod m without overflow for m < 2^64. */
static uint64_t mulmod(uint64_t a, uint64_t b, uint64_t m)
{
	return (uint64_t)(((unsigned __int128)a * b) % m);
}

static uint64_t pow10mod(int64_t k, uint64_t m)
{
	uint64_t r = 1 % m, base = 10 % m;

	while (k > 0) {
		if (k & 1)
			r = mulmod(r, base, m);
		base = mulmod(base, base, m);
		k >>= 1;
	}
	return r;
}

/* Remainder of the digit string a (followed by @shift zeros) modulo the big
 * divisor b (followed by @bshift zeros), by schoolbook subtraction; both
 * are bounded by DEC_MAX_DIGITS. */
static bool big_rem_is_zero(const struct dec *a, int64_t shift, const struct dec *b, int64_t bshift)
{
	size_t la = a->n + (size_t)shift, lb = b->n + (size_t)bshift, rn = 0;
	unsigned char *div = NULL, *rem = NULL;
	bool zero = false;

	if (la < lb)
		return false;
	div = malloc(lb);
	rem = calloc(lb + 1, 1);
	if (!div || !rem)
		goto out;
	for (size_t i = 0; i < lb; i++)
		div[i] = i < b->n ? (unsigned char)(b->d[i] - '0') : 0;
	for (size_t i = 0; i < la; i++) {
		unsigned digit = i < a->n ? (unsigned)(a->d[i] - '0') : 0;

		/* rem = rem * 10 + digit, most significant first, rn digits */
		rem[rn++] = (unsigned char)digit;
		for (;;) {
			size_t off;
			bool ge = true;
			int borrow = 0;

			/* strip leading zeros so the length comparison is meaningful */
			while (rn && rem[0] == 0) {
				memmove(rem, rem + 1, --rn);
			}
			if (rn < lb)
				break;
			if (rn == lb) {
				for (size_t j = 0; j < lb; j++)
					if (rem[j] != div[j]) {
						ge = rem[j] > div[j];
						break;
					}
			}
			if (!ge)
				break;
			off = rn - lb;
			for (size_t j = lb; j-- > 0;) {
				int v = rem[off + j] - div[j] - borrow;

				borrow = v < 0;
				rem[off + j] = (unsigned char)(v < 0 ? v + 10 : v);
			}
			for (size_t j = off; borrow && j-- > 0;) {
				int v = rem[j] - borrow;

				borrow = v < 0;
				rem[j] = (unsigned char)(v < 0 ? v + 10 : v);
			}
		}
	}
	zero = true;
	for (size_t j = 0; j < rn; j++)
		if (rem[j])
			zero = false;
out:
	free(div);
	free(rem);
	return zero;
}

static bool double_is_multiple(struct json_object *a, struct json_object *b)
{
	double q = json_object_get_double(a) / json_object_get_double(b);

	return isfinite(q) && q == floor(q);
}

bool idmefv2__sv_number_is_multiple(struct json_object *a, struct json_object *b)
{
	struct dec x, y;
	bool r = false;
	int64_t e, sa, sb;

	if (json_object_get_type(a) == json_type_int && json_object_get_type(b) == json_type_int) {
		__int128 ia = int_value(a), ib = int_value(b);

		return ib > 0 ? ia % ib == 0 : false;
	}
	if (!dec_from_json(a, &x)) {
		dec_free(&x);
		return double_is_multiple(a, b);
	}
	if (!dec_from_json(b, &y)) {
		dec_free(&x);
		dec_free(&y);
		return double_is_multiple(a, b);
	}
	if (!x.n) {
		r = true;
		goto out;
	}
	if (!y.n)
		goto out;
	/* a/b is an integer iff A·10^sa mod B·10^sb == 0 on a common exponent */
	e = x.exp < y.exp ? x.exp : y.exp;
	sa = x.exp - e;
	sb = y.exp - e;
	if ((int64_t)y.n + sb <= 19) {
		uint64_t m = 0, rem = 0;

		for (size_t i = 0; i < y.n; i++)
			m = m * 10 + (uint64_t)(y.d[i] - '0');
		for (int64_t i = 0; i < sb; i++)
			m *= 10;
		for (size_t i = 0; i < x.n; i++)
			rem = (uint64_t)(((unsigned __int128)rem * 10 + (uint64_t)(x.d[i] - '0')) % m);
		rem = mulmod(rem, pow10mod(sa, m), m);
		r = rem == 0;
	} else if ((int64_t)x.n + sa < (int64_t)y.n + sb) {
		r = false;
	} else if ((int64_t)x.n + sa > DEC_MAX_DIGITS) {
		r = double_is_multiple(a, b);
	} else {
		r = big_rem_is_zero(&x, sa, &y, sb);
	}
out:
	dec_free(&x);
	dec_free(&y);
	return r;
}

static bool object_equal(struct json_object *a, struct json_object *b)
{
	if (json_object_object_length(a) != json_object_object_length(b))
		return false;
	json_object_object_foreach(a, key, va) {
		struct json_object *vb;

		if (!json_object_object_get_ex(b, key, &vb))
			return false;
		if (!idmefv2__sv_json_equal(va, vb))
			return false;
	}
	return true;
}

bool idmefv2__sv_json_equal(struct json_object *a, struct json_object *b)
{
	unsigned ta = idmefv2__sv_type(a), tb = idmefv2__sv_type(b);

	if ((ta & SV_T_NUMBER) && (tb & SV_T_NUMBER))
		return idmefv2__sv_number_cmp(a, b) == 0;
	if (ta != tb)
		return false;
	switch (ta) {
	case SV_T_NULL:
		return true;
	case SV_T_BOOLEAN:
		return json_object_get_boolean(a) == json_object_get_boolean(b);
	case SV_T_STRING: {
		int la = json_object_get_string_len(a);

		return la == json_object_get_string_len(b) &&
		       memcmp(json_object_get_string(a), json_object_get_string(b), (size_t)la) == 0;
	}
	case SV_T_ARRAY: {
		size_t n = json_object_array_length(a);

		if (n != json_object_array_length(b))
			return false;
		for (size_t i = 0; i < n; i++)
			if (!idmefv2__sv_json_equal(json_object_array_get_idx(a, i),
			                            json_object_array_get_idx(b, i)))
				return false;
		return true;
	}
	case SV_T_OBJECT:
		return object_equal(a, b);
	}
	return false;
}

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

uint64_t idmefv2__sv_json_hash(struct json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_null:
		return 0x6e756c6cull;
	case json_type_boolean:
		return json_object_get_boolean(o) ? 0x74727565ull : 0x66616c73ull;
	case json_type_int:
	case json_type_double: {
		/* equal numbers have equal doubles (1 and 1.0 alike); -0 is 0 */
		double d = json_object_get_double(o);
		uint64_t bits;

		if (d == 0)
			d = 0;
		memcpy(&bits, &d, sizeof(bits));
		return mix64(bits ^ 0x6e756dull);
	}
	case json_type_string:
		return mix64(idmefv2__sv_hash(json_object_get_string(o), (size_t)json_object_get_string_len(o)) ^
		             ((uint64_t)json_object_get_string_len(o) << 32));
	case json_type_array: {
		uint64_t h = 0x617272ull;
		size_t n = json_object_array_length(o);

		for (size_t i = 0; i < n; i++)
			h = mix64(h ^ idmefv2__sv_json_hash(json_object_array_get_idx(o, i)));
		return h;
	}
	case json_type_object: {
		/* a sum does not depend on the order of the members */
		uint64_t h = 0x6f626aull;

		json_object_object_foreach(o, key, val) {
			h += mix64(idmefv2__sv_hash(key, strlen(key)) ^ idmefv2__sv_json_hash(val) * 31);
		}
		return mix64(h);
	}
	}
	return 0;
}
