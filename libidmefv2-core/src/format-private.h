/* SPDX-License-Identifier: Apache-2.0 */
/* JSON Schema draft-04 "format" checkers. */
#ifndef IDMEFV2_FORMAT_PRIVATE_H
#define IDMEFV2_FORMAT_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* Returns true if @s (@len bytes, may contain NUL) conforms. */
typedef bool (*idmefv2__format_fn)(const char *s, size_t len);

/*
 * The checker of @name: "date-time" (RFC 3339), "email" (RFC 5321
 * addr-spec), "hostname" (RFC 1123), "ipv4", "ipv6" (RFC 4291 text forms),
 * "uri" (RFC 3986 absolute URI with scheme); also "regex" (an ECMA-262
 * pattern this library compiles; the one checker that allocates). NULL for
 * an unknown format, which draft-04 says to ignore.
 */
idmefv2__format_fn idmefv2__format_lookup(const char *name);

/*
 * RFC 3339 §5.6 date-time, shared by the "date-time" format and
 * idmefv2_time_parse(). Fraction digits past nanoseconds are truncated; a
 * leap second (only valid at 23:59:60 UTC) maps onto the following second.
 * Output parameters may be NULL and are untouched on failure.
 */
bool idmefv2__rfc3339_parse(const char *s, size_t len, struct timespec *ret_ts,
                            int *ret_utc_offset_minutes);

/* An IPv4 dotted quad, exactly (no leading zeros, no other characters). */
bool idmefv2__ipv4_check(const char *s, size_t len);
/* Any RFC 4291 IPv6 text form, without zone or prefix. */
bool idmefv2__ipv6_check(const char *s, size_t len);

#endif
