/* SPDX-License-Identifier: Apache-2.0 */
#include <idmefv2/util.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "format-private.h"

/* 9999-12-31T23:59:59Z; RFC 3339 has four-digit years only. */
#define MAX_LOCAL_SECONDS INT64_C(253402300799)
/* 0000-01-01T00:00:00Z */
#define MIN_LOCAL_SECONDS INT64_C(-62167219200)

IDMEFV2_EXPORT idmefv2_error idmefv2_time_format(const struct timespec *ts, int utc_offset_minutes,
                                                 char *buf, size_t size)
{
	if (!ts || !buf || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000L || utc_offset_minutes < -(23 * 60 + 59) ||
	    utc_offset_minutes > 23 * 60 + 59)
		return IDMEFV2_ERR_INVALID_ARG;

	int64_t local = (int64_t)ts->tv_sec + (int64_t)utc_offset_minutes * 60;
	if (local < MIN_LOCAL_SECONDS || local > MAX_LOCAL_SECONDS)
		return IDMEFV2_ERR_INVALID_ARG;

	/* Civil date from days since the epoch, without gmtime's time_t limits. */
	int64_t days = local / 86400, secs = local % 86400;
	if (secs < 0) {
		secs += 86400;
		days--;
	}
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int day = (int)(doy - (153 * mp + 2) / 5 + 1);
	int mon = (int)(mp < 10 ? mp + 3 : mp - 9);
	int year = (int)(yoe + era * 400 + (mon <= 2));

	char zone[8];
	if (utc_offset_minutes == 0) {
		strcpy(zone, "Z");
	} else {
		int a = utc_offset_minutes < 0 ? -utc_offset_minutes : utc_offset_minutes;
		snprintf(zone, sizeof(zone), "%c%02d:%02d", utc_offset_minutes < 0 ? '-' : '+', a / 60, a % 60);
	}
	int n = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06ld%s", year, mon, day, (int)(secs / 3600),
	                 (int)(secs / 60 % 60), (int)(secs % 60), ts->tv_nsec / 1000, zone);
	if (n < 0 || (size_t)n >= size) {
		if (size)
			buf[0] = '\0';
		return IDMEFV2_ERR_INVALID_ARG;
	}
	return IDMEFV2_OK;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_time_format_time_t(time_t t, int utc_offset_minutes, char *buf,
                                                        size_t size)
{
	struct timespec ts = {.tv_sec = t, .tv_nsec = 0};
	return idmefv2_time_format(&ts, utc_offset_minutes, buf, size);
}

IDMEFV2_EXPORT idmefv2_error idmefv2_time_now(char *buf, size_t size)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return IDMEFV2_ERR_INVALID_ARG;
	return idmefv2_time_format(&ts, 0, buf, size);
}

IDMEFV2_EXPORT idmefv2_error idmefv2_time_parse(const char *s, struct timespec *ret_ts,
                                                int *ret_utc_offset_minutes)
{
	struct timespec ts;
	int off;
	if (!s || !ret_ts)
		return IDMEFV2_ERR_INVALID_ARG;
	if (!idmefv2__rfc3339_parse(s, strlen(s), &ts, &off))
		return IDMEFV2_ERR_INVALID_ARG;
	*ret_ts = ts;
	if (ret_utc_offset_minutes)
		*ret_utc_offset_minutes = off;
	return IDMEFV2_OK;
}
