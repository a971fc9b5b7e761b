/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file util.h
 * Helpers for IDMEFv2 values: UUIDs, RFC 3339 timestamps, IP addresses.
 */
#ifndef IDMEFV2_UTIL_H
#define IDMEFV2_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <idmefv2/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Room for a UUID in canonical form plus NUL. */
#define IDMEFV2_UUID_STRLEN 37
/** Room for the longest timestamp idmefv2_time_format() writes plus NUL. */
#define IDMEFV2_TIME_STRLEN 40

typedef enum idmefv2_uuid_kind {
	/**
	 * RFC 9562 version 7: Unix time in milliseconds then random bits. The
	 * default: the draft (§3.3.10) advises against generating version 4,
	 * and v7 leaks no host identity and sorts by creation time.
	 */
	IDMEFV2_UUID_V7 = 0,
	/** RFC 9562 version 4 (random), for peers that insist on it. */
	IDMEFV2_UUID_V4 = 1,
} idmefv2_uuid_kind;

/**
 * Write a new lower-case UUID into @p buf (at least IDMEFV2_UUID_STRLEN bytes).
 * Thread-safe; random bits from getrandom(2).
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_uuid_generate(idmefv2_uuid_kind kind, char *buf, size_t size);
/** Same as idmefv2_uuid_generate(IDMEFV2_UUID_V7, …). */
IDMEFV2_EXPORT idmefv2_error idmefv2_uuid_new(char *buf, size_t size);
/**
 * The project's namespace for name-based UUIDs (docs/ids.md): the ID of a
 * converted alert is idmefv2_uuid_from_name(IDMEFV2_UUID_NAMESPACE, identity of
 * its input), so that an alert converted again after a crash keeps its ID.
 */
#define IDMEFV2_UUID_NAMESPACE "06a49ff9-fe39-4f89-b8a3-5824d352fcdb"

/**
 * Write the RFC 9562 version 5 (SHA-1, name-based) UUID of @p name
 * (@p len bytes, any content) in the namespace @p namespace_uuid (canonical
 * form, e.g. IDMEFV2_UUID_NAMESPACE) into @p buf (at least
 * IDMEFV2_UUID_STRLEN bytes), lower case. The same inputs always give the same UUID.
 * @return IDMEFV2_OK, IDMEFV2_ERR_INVALID_ARG (bad namespace, NULL name with
 *         a length, small buffer)
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_uuid_from_name(const char *namespace_uuid, const void *name, size_t len,
                                                    char *buf, size_t size);
/** @return true if @p s is a UUID in the canonical 8-4-4-4-12 hex form (either case). */
IDMEFV2_EXPORT bool idmefv2_uuid_is_valid(const char *s);
/** @return true if @p a and @p b are the same UUID, compared case-insensitively (§3.3.10). */
IDMEFV2_EXPORT bool idmefv2_uuid_equal(const char *a, const char *b);

/**
 * Format an RFC 3339 timestamp with microseconds, e.g. "2026-11-22T19:41:16.123456+01:00".
 * @param utc_offset_minutes offset from UTC; 0 writes "Z"
 * @return IDMEFV2_OK, IDMEFV2_ERR_INVALID_ARG (buffer too small or offset beyond ±23:59)
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_time_format(const struct timespec *ts, int utc_offset_minutes,
                                                 char *buf, size_t size);
/** As idmefv2_time_format() from whole seconds. */
IDMEFV2_EXPORT idmefv2_error idmefv2_time_format_time_t(time_t t, int utc_offset_minutes,
                                                        char *buf, size_t size);
/** The current time, UTC, with microseconds. */
IDMEFV2_EXPORT idmefv2_error idmefv2_time_now(char *buf, size_t size);
/**
 * Parse an RFC 3339 date-time ("T" or "t", "Z"/"z" or ±HH:MM, any number of
 * fraction digits, leap second 60 accepted).
 * @param ret_ts the instant (UTC)
 * @param ret_utc_offset_minutes if not NULL, the offset written
 * @return IDMEFV2_OK or IDMEFV2_ERR_INVALID_ARG
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_time_parse(const char *s, struct timespec *ret_ts,
                                                int *ret_utc_offset_minutes);

typedef enum idmefv2_ip_kind {
	IDMEFV2_IP_NONE = 0, /**< not an IP address */
	IDMEFV2_IP_V4 = 4,   /**< dotted quad */
	IDMEFV2_IP_V6 = 6,   /**< any RFC 4291 text form, with an optional %zone */
} idmefv2_ip_kind;

/** Classify @p s as an IPv4 or IPv6 address (no prefix length, no port). */
IDMEFV2_EXPORT idmefv2_ip_kind idmefv2_ip_classify(const char *s);

#ifdef __cplusplus
}
#endif

#endif
