/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON Schema draft-04 "format" checkers. Each one is a hand-written
 * recogniser over (pointer, length): no allocation, and a NUL byte is just
 * another character that no grammar admits.
 */
#include "format-private.h"
#include "regex-private.h"

#include <stdint.h>
#include <string.h>

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_hex(unsigned char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Reads exactly @n decimal digits at @s; false if any is not a digit. */
static bool read_digits(const char *s, size_t n, int *ret)
{
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit((unsigned char)s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*ret = v;
	return true;
}

static bool is_leap_year(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && is_leap_year(y) ? 29 : days[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (any year 0..9999). */
static int64_t days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

bool idmefv2__rfc3339_parse(const char *s, size_t len, struct timespec *ret_ts,
                            int *ret_utc_offset_minutes)
{
	int year, mon, day, hour, min, sec;
	long nsec = 0;
	int off = 0;

	/* full-date "T" partial-time, then at least one byte of offset */
	if (!s || len < 20)
		return false;
	if (!read_digits(s, 4, &year) || s[4] != '-' || !read_digits(s + 5, 2, &mon) || s[7] != '-' ||
	    !read_digits(s + 8, 2, &day) || (s[10] != 'T' && s[10] != 't') ||
	    !read_digits(s + 11, 2, &hour) || s[13] != ':' || !read_digits(s + 14, 2, &min) ||
	    s[16] != ':' || !read_digits(s + 17, 2, &sec))
		return false;
	if (mon < 1 || mon > 12 || day < 1 || day > days_in_month(year, mon) || hour > 23 || min > 59 ||
	    sec > 60)
		return false;

	size_t i = 19;
	if (s[i] == '.') {
		size_t first = ++i;
		long scale = 100000000;
		while (i < len && is_digit((unsigned char)s[i])) {
			nsec += (s[i] - '0') * scale;
			scale /= 10;
			i++;
		}
		if (i == first)
			return false;
	}
	if (i >= len)
		return false;
	if (s[i] == 'Z' || s[i] == 'z') {
		i++;
	} else if (s[i] == '+' || s[i] == '-') {
		int oh, om;
		if (len - i < 6 || !read_digits(s + i + 1, 2, &oh) || s[i + 3] != ':' ||
		    !read_digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
			return false;
		off = oh * 60 + om;
		if (s[i] == '-')
			off = -off;
		i += 6;
	} else {
		return false;
	}
	if (i != len)
		return false;

	if (sec == 60) {
		/* A leap second is inserted at the end of a UTC day only. */
		int utc_min = ((hour * 60 + min - off) % 1440 + 1440) % 1440;
		if (utc_min != 23 * 60 + 59)
			return false;
	}

	if (ret_ts) {
		int64_t t = days_from_civil(year, mon, day) * 86400 + hour * 3600 + min * 60 + sec -
		            (int64_t)off * 60;
		ret_ts->tv_sec = (time_t)t;
		ret_ts->tv_nsec = nsec;
	}
	if (ret_utc_offset_minutes)
		*ret_utc_offset_minutes = off;
	return true;
}

static bool check_date_time(const char *s, size_t len)
{
	return idmefv2__rfc3339_parse(s, len, NULL, NULL);
}

bool idmefv2__ipv4_check(const char *s, size_t len)
{
	size_t i = 0;
	for (int part = 0; part < 4; part++) {
		if (part > 0) {
			if (i >= len || s[i] != '.')
				return false;
			i++;
		}
		size_t start = i;
		int v = 0;
		while (i < len && is_digit((unsigned char)s[i]) && i - start < 3)
			v = v * 10 + (s[i++] - '0');
		size_t n = i - start;
		if (n == 0 || v > 255 || (n > 1 && s[start] == '0'))
			return false;
	}
	return i == len;
}

bool idmefv2__ipv6_check(const char *s, size_t len)
{
	size_t i = 0;
	int groups = 0;
	bool compressed = false;

	if (len >= 2 && s[0] == ':' && s[1] == ':') {
		compressed = true;
		i = 2;
		if (i == len)
			return true;
	} else if (len == 0 || s[0] == ':') {
		return false;
	}
	for (;;) {
		size_t start = i;
		while (i < len && is_hex((unsigned char)s[i]) && i - start < 5)
			i++;
		if (i < len && s[i] == '.') {
			/* An embedded IPv4 tail stands for the last two groups. */
			if (!idmefv2__ipv4_check(s + start, len - start))
				return false;
			groups += 2;
			break;
		}
		if (i == start || i - start > 4)
			return false;
		groups++;
		if (i == len)
			break;
		if (s[i] != ':' || groups >= 8)
			return false;
		i++;
		if (i < len && s[i] == ':') {
			if (compressed)
				return false;
			compressed = true;
			i++;
			if (i == len)
				break;
		} else if (i == len) {
			return false;
		}
	}
	return compressed ? groups <= 7 : groups == 8;
}

static bool check_ipv4(const char *s, size_t len)
{
	return idmefv2__ipv4_check(s, len);
}

static bool check_ipv6(const char *s, size_t len)
{
	return idmefv2__ipv6_check(s, len);
}

/* RFC 1123 host name; with @allow_utf8, U-labels (bytes >= 0x80) pass too. */
static bool hostname_check(const char *s, size_t len, bool allow_utf8)
{
	if (len == 0 || len > 253)
		return false;
	size_t label = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || s[i] == '.') {
			if (label == 0 || label > 63 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		unsigned char c = (unsigned char)s[i];
		if (c == '-') {
			if (label == 0)
				return false;
		} else if (!is_alpha(c) && !is_digit(c) && !(allow_utf8 && c >= 0x80)) {
			return false;
		}
		label++;
	}
	return true;
}

static bool check_hostname(const char *s, size_t len)
{
	return hostname_check(s, len, false);
}

/* RFC 5322 atext, plus UTF-8 bytes (RFC 6531 mailbox names). */
static bool is_atext(unsigned char c)
{
	if (is_alpha(c) || is_digit(c) || c >= 0x80)
		return true;
	switch (c) {
	case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
	case '/': case '=': case '?': case '^': case '_': case '`': case '{': case '|': case '}':
	case '~':
		return true;
	default:
		return false;
	}
}

static bool email_local_check(const char *s, size_t len)
{
	if (len == 0 || len > 64)
		return false;
	if (s[0] == '"') {
		/* quoted-string: printable ASCII, with \ escaping any of it. */
		if (len < 2 || s[len - 1] != '"')
			return false;
		for (size_t i = 1; i < len - 1; i++) {
			unsigned char c = (unsigned char)s[i];
			if (c == '\\') {
				if (++i >= len - 1)
					return false;
				c = (unsigned char)s[i];
				if (c < 0x20 || c == 0x7f)
					return false;
				continue;
			}
			if (c == '"' || c < 0x20 || c == 0x7f)
				return false;
		}
		return true;
	}
	/* dot-atom: no leading, trailing or doubled dot. */
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (i == 0 || i == len - 1 || s[i - 1] == '.')
				return false;
		} else if (!is_atext((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}

static bool email_domain_check(const char *s, size_t len)
{
	if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		if (len > 7 && memcmp(s + 1, "IPv6:", 5) == 0)
			return idmefv2__ipv6_check(s + 6, len - 7);
		return idmefv2__ipv4_check(s + 1, len - 2);
	}
	return hostname_check(s, len, true);
}

static bool check_email(const char *s, size_t len)
{
	size_t at = len;
	bool quoted = false;
	/* RFC 5321 §4.5.3.1.3: a path is at most 256 octets with its brackets. */
	if (len > 254)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (quoted && s[i] == '\\') {
			i++;
		} else if (s[i] == '"') {
			quoted = !quoted;
		} else if (s[i] == '@' && !quoted) {
			if (at != len)
				return false;
			at = i;
		}
	}
	if (at == len)
		return false;
	return email_local_check(s, at) && email_domain_check(s + at + 1, len - at - 1);
}

static bool uri_unreserved(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static bool uri_sub_delim(unsigned char c)
{
	switch (c) {
	case '!': case '$': case '&': case '\'': case '(': case ')': case '*': case '+': case ',':
	case ';': case '=':
		return true;
	default:
		return false;
	}
}

/*
 * Consumes s[i..end) while each character is unreserved, a sub-delim, one
 * of @extra, or a well-formed percent-encoding. Returns the stop position,
 * or SIZE_MAX on a malformed percent-encoding.
 */
static size_t uri_span(const char *s, size_t i, size_t end, const char *extra)
{
	while (i < end) {
		unsigned char c = (unsigned char)s[i];
		if (c == '%') {
			if (end - i < 3 || !is_hex((unsigned char)s[i + 1]) || !is_hex((unsigned char)s[i + 2]))
				return SIZE_MAX;
			i += 3;
		} else if (uri_unreserved(c) || uri_sub_delim(c) || (c && strchr(extra, c))) {
			i++;
		} else {
			break;
		}
	}
	return i;
}

static bool uri_ip_literal_check(const char *s, size_t len)
{
	if (len > 0 && (s[0] == 'v' || s[0] == 'V')) {
		/* IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" ) */
		size_t i = 1;
		while (i < len && is_hex((unsigned char)s[i]))
			i++;
		if (i == 1 || i >= len || s[i] != '.' || i + 1 >= len)
			return false;
		for (i++; i < len; i++) {
			unsigned char c = (unsigned char)s[i];
			if (!uri_unreserved(c) && !uri_sub_delim(c) && c != ':')
				return false;
		}
		return true;
	}
	return idmefv2__ipv6_check(s, len);
}

static bool uri_authority_check(const char *s, size_t len)
{
	size_t i = 0;
	const char *at = memchr(s, '@', len);
	if (at) {
		size_t end = (size_t)(at - s);
		if (uri_span(s, 0, end, ":") != end)
			return false;
		i = end + 1;
	}
	if (i < len && s[i] == '[') {
		const char *close = memchr(s + i, ']', len - i);
		if (!close)
			return false;
		size_t end = (size_t)(close - s);
		if (!uri_ip_literal_check(s + i + 1, end - i - 1))
			return false;
		i = end + 1;
	} else {
		i = uri_span(s, i, len, "");
		if (i == SIZE_MAX)
			return false;
	}
	if (i < len && s[i] == ':') {
		for (i++; i < len; i++)
			if (!is_digit((unsigned char)s[i]))
				return false;
	}
	return i == len;
}

static bool check_uri(const char *s, size_t len)
{
	size_t i = 0;

	/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
	if (len == 0 || !is_alpha((unsigned char)s[0]))
		return false;
	while (i < len && (is_alpha((unsigned char)s[i]) || is_digit((unsigned char)s[i]) || s[i] == '+' ||
	                   s[i] == '-' || s[i] == '.'))
		i++;
	if (i >= len || s[i] != ':')
		return false;
	i++;

	if (len - i >= 2 && s[i] == '/' && s[i + 1] == '/') {
		size_t start = i + 2, end = start;
		while (end < len && s[end] != '/' && s[end] != '?' && s[end] != '#')
			end++;
		if (!uri_authority_check(s + start, end - start))
			return false;
		i = end;
	}
	/* path: any of pchar and "/"; the "//" case went through authority */
	i = uri_span(s, i, len, ":@/");
	if (i == SIZE_MAX)
		return false;
	if (i < len && s[i] == '?') {
		i = uri_span(s, i + 1, len, ":@/?");
		if (i == SIZE_MAX)
			return false;
	}
	if (i < len && s[i] == '#') {
		i = uri_span(s, i + 1, len, ":@/?");
		if (i == SIZE_MAX)
			return false;
	}
	return i == len;
}

/*
 * Not a draft-04 format, but the suite's optional ecmascript-regex case
 * checks it. The only checker that allocates: it compiles the pattern.
 */
static bool check_regex(const char *s, size_t len)
{
	idmefv2__regex *re = idmefv2__regex_compile(s, len, NULL, 0);
	bool ok = re != NULL;
	idmefv2__regex_free(re);
	return ok;
}

static const struct {
	const char *name;
	idmefv2__format_fn fn;
} formats[] = {
	{"date-time", check_date_time},
	{"email", check_email},
	{"hostname", check_hostname},
	{"ipv4", check_ipv4},
	{"ipv6", check_ipv6},
	{"regex", check_regex},
	{"uri", check_uri},
};

idmefv2__format_fn idmefv2__format_lookup(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (strcmp(formats[i].name, name) == 0)
			return formats[i].fn;
	return NULL;
}
