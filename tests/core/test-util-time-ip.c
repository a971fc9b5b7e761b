/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 3339 timestamps and IP address classification. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <idmefv2/util.h>

static void assert_format(time_t sec, long nsec, int off, const char *expected)
{
	struct timespec ts = {.tv_sec = sec, .tv_nsec = nsec};
	char buf[IDMEFV2_TIME_STRLEN];
	ck_assert_int_eq(idmefv2_time_format(&ts, off, buf, sizeof(buf)), IDMEFV2_OK);
	ck_assert_str_eq(buf, expected);
}

START_TEST(test_format)
{
	assert_format(0, 0, 0, "1970-01-01T00:00:00.000000Z");
	assert_format(0, 0, 60, "1970-01-01T01:00:00.000000+01:00");
	assert_format(0, 0, -330, "1969-12-31T18:30:00.000000-05:30");
	assert_format(0, 123456789, 0, "1970-01-01T00:00:00.123456Z");
	assert_format(0, 999999999, 0, "1970-01-01T00:00:00.999999Z");
	assert_format(-1, 0, 0, "1969-12-31T23:59:59.000000Z");
	assert_format(951782400, 0, 0, "2000-02-29T00:00:00.000000Z");
	assert_format(1795372876, 123456000, 60, "2026-11-22T19:41:16.123456+01:00");
	assert_format(253402300799, 0, 0, "9999-12-31T23:59:59.000000Z");
	assert_format(-62167219200, 0, 0, "0000-01-01T00:00:00.000000Z");
	assert_format(0, 0, 23 * 60 + 59, "1970-01-01T23:59:00.000000+23:59");
	assert_format(0, 0, -(23 * 60 + 59), "1969-12-31T00:01:00.000000-23:59");

	char buf[IDMEFV2_TIME_STRLEN];
	ck_assert_int_eq(idmefv2_time_format_time_t(86400 * 365, 0, buf, sizeof(buf)), IDMEFV2_OK);
	ck_assert_str_eq(buf, "1971-01-01T00:00:00.000000Z");
	ck_assert_int_eq(idmefv2_time_format_time_t(0, -60, buf, sizeof(buf)), IDMEFV2_OK);
	ck_assert_str_eq(buf, "1969-12-31T23:00:00.000000-01:00");
}
END_TEST

START_TEST(test_format_bounds)
{
	struct timespec ts = {0, 0};
	char buf[IDMEFV2_TIME_STRLEN];
	/* "1970-01-01T00:00:00.000000Z" is 27 characters, plus NUL */
	ck_assert_int_eq(idmefv2_time_format(&ts, 0, buf, 28), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_time_format(&ts, 0, buf, 27), IDMEFV2_ERR_INVALID_ARG);
	ck_assert_int_eq(idmefv2_time_format(&ts, 60, buf, 33), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_time_format(&ts, 60, buf, 32), IDMEFV2_ERR_INVALID_ARG);
	ck_assert_int_eq(idmefv2_time_format(&ts, 0, buf, 0), IDMEFV2_ERR_INVALID_ARG);
	ck_assert_int_eq(idmefv2_time_format(&ts, 24 * 60, buf, sizeof(buf)), IDMEFV2_ERR_INVALID_ARG);
	ck_assert_int_eq(idmefv2_time_format(&ts, -24 * 60, buf, sizeof(buf)), IDMEFV2_ERR_INVALID_ARG);
	ck_assert_int_eq(idmefv2_time_format(NULL, 0, buf, sizeof(buf)), IDMEFV2_ERR_INVALID_ARG);
	ck_assert_int_eq(idmefv2_time_format(&ts, 0, NULL, sizeof(buf)), IDMEFV2_ERR_INVALID_ARG);
	ts.tv_nsec = 1000000000;
	ck_assert_int_eq(idmefv2_time_format(&ts, 0, buf, sizeof(buf)), IDMEFV2_ERR_INVALID_ARG);
	ts.tv_nsec = -1;
	ck_assert_int_eq(idmefv2_time_format(&ts, 0, buf, sizeof(buf)), IDMEFV2_ERR_INVALID_ARG);
	/* RFC 3339 has four-digit years */
	ts.tv_nsec = 0;
	ts.tv_sec = 253402300800;
	ck_assert_int_eq(idmefv2_time_format(&ts, 0, buf, sizeof(buf)), IDMEFV2_ERR_INVALID_ARG);
	ts.tv_sec = 253402300799;
	ck_assert_int_eq(idmefv2_time_format(&ts, 1, buf, sizeof(buf)), IDMEFV2_ERR_INVALID_ARG);
	ts.tv_sec = -62167219201;
	ck_assert_int_eq(idmefv2_time_format(&ts, 0, buf, sizeof(buf)), IDMEFV2_ERR_INVALID_ARG);
}
END_TEST

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t rnd64(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

START_TEST(test_round_trip)
{
	char buf[IDMEFV2_TIME_STRLEN];
	for (int i = 0; i < 20000; i++) {
		/* anywhere in 0001..9998, so that any offset stays in range */
		int64_t lo = -62135596800, hi = 253370764800;
		struct timespec ts = {
			.tv_sec = (time_t)(lo + (int64_t)(rnd64() % (uint64_t)(hi - lo))),
			.tv_nsec = (long)(rnd64() % 1000000) * 1000,
		};
		int off = (int)(rnd64() % (2 * 1439 + 1)) - 1439;
		if (i % 5 == 0)
			off = 0;
		ck_assert_int_eq(idmefv2_time_format(&ts, off, buf, sizeof(buf)), IDMEFV2_OK);
		struct timespec back;
		int back_off = 9999;
		ck_assert_int_eq(idmefv2_time_parse(buf, &back, &back_off), IDMEFV2_OK);
		ck_assert_int_eq(back.tv_sec, ts.tv_sec);
		ck_assert_int_eq(back.tv_nsec, ts.tv_nsec);
		ck_assert_int_eq(back_off, off);
		ck_assert_int_eq(buf[strlen(buf) - 1] == 'Z', off == 0);
	}
}
END_TEST

START_TEST(test_now)
{
	char buf[IDMEFV2_TIME_STRLEN];
	time_t before = time(NULL);
	ck_assert_int_eq(idmefv2_time_now(buf, sizeof(buf)), IDMEFV2_OK);
	time_t after = time(NULL);
	ck_assert_uint_eq(strlen(buf), 27);
	ck_assert_int_eq(buf[26], 'Z');
	struct timespec ts;
	int off = 5;
	ck_assert_int_eq(idmefv2_time_parse(buf, &ts, &off), IDMEFV2_OK);
	ck_assert_int_eq(off, 0);
	ck_assert_int_ge(ts.tv_sec, before);
	ck_assert_int_le(ts.tv_sec, after);
	ck_assert_int_eq(ts.tv_nsec % 1000, 0);
	ck_assert_int_eq(idmefv2_time_now(buf, 10), IDMEFV2_ERR_INVALID_ARG);
}
END_TEST

START_TEST(test_parse)
{
	struct timespec ts;
	int off;
	ck_assert_int_eq(idmefv2_time_parse("2025-01-06T17:04:04.876+09:00", &ts, &off), IDMEFV2_OK);
	ck_assert_int_eq(ts.tv_sec, 1736150644);
	ck_assert_int_eq(ts.tv_nsec, 876000000);
	ck_assert_int_eq(off, 540);
	/* lower-case t and z; no offset pointer */
	ck_assert_int_eq(idmefv2_time_parse("1970-01-01t00:00:01z", &ts, NULL), IDMEFV2_OK);
	ck_assert_int_eq(ts.tv_sec, 1);
	/* fraction digits past nanoseconds are truncated */
	ck_assert_int_eq(idmefv2_time_parse("1970-01-01T00:00:00.1234567899Z", &ts, NULL), IDMEFV2_OK);
	ck_assert_int_eq(ts.tv_nsec, 123456789);
	ck_assert_int_eq(idmefv2_time_parse("1970-01-01T00:00:00.999999999999Z", &ts, NULL), IDMEFV2_OK);
	ck_assert_int_eq(ts.tv_sec, 0);
	ck_assert_int_eq(ts.tv_nsec, 999999999);
	ck_assert_int_eq(idmefv2_time_parse("1970-01-01T00:00:00.5Z", &ts, NULL), IDMEFV2_OK);
	ck_assert_int_eq(ts.tv_nsec, 500000000);
	/* a leap second is the instant after 23:59:59 */
	ck_assert_int_eq(idmefv2_time_parse("1998-12-31T23:59:60Z", &ts, &off), IDMEFV2_OK);
	ck_assert_int_eq(ts.tv_sec, 915148800);
	ck_assert_int_eq(idmefv2_time_parse("1998-12-31T15:59:60.5-08:00", &ts, &off), IDMEFV2_OK);
	ck_assert_int_eq(ts.tv_sec, 915148800);
	ck_assert_int_eq(ts.tv_nsec, 500000000);
	ck_assert_int_eq(off, -480);
	/* -00:00 is UTC */
	ck_assert_int_eq(idmefv2_time_parse("1970-01-01T00:00:00-00:00", &ts, &off), IDMEFV2_OK);
	ck_assert_int_eq(ts.tv_sec, 0);
	ck_assert_int_eq(off, 0);
	ck_assert_int_eq(idmefv2_time_parse("0000-03-01T00:00:00Z", &ts, NULL), IDMEFV2_OK);
	ck_assert_int_eq(ts.tv_sec, -62162035200);
}
END_TEST

START_TEST(test_parse_bad)
{
	static const char *const bad[] = {
		"", "2024-01-01", "2024-01-01T00:00:00", "2024-01-01T00:00:00.Z", "2024-02-30T00:00:00Z",
		"2023-02-29T00:00:00Z", "2024-01-01T24:00:00Z", "2024-01-01T00:00:00+24:00", "2024-01-01T22:59:60Z",
		"2024-01-01T00:00:00Z ", "2024-01-01T00:00:00+01", "2024-01-01X00:00:00Z", "06/19/1963 08:30:06 PST",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct timespec ts = {.tv_sec = 42, .tv_nsec = 7};
		int off = 99;
		ck_assert_msg(idmefv2_time_parse(bad[i], &ts, &off) == IDMEFV2_ERR_INVALID_ARG, "accepted %s", bad[i]);
		ck_assert_int_eq(ts.tv_sec, 42);
		ck_assert_int_eq(ts.tv_nsec, 7);
		ck_assert_int_eq(off, 99);
	}
	struct timespec ts;
	ck_assert_int_eq(idmefv2_time_parse(NULL, &ts, NULL), IDMEFV2_ERR_INVALID_ARG);
	ck_assert_int_eq(idmefv2_time_parse("1970-01-01T00:00:00Z", NULL, NULL), IDMEFV2_ERR_INVALID_ARG);
}
END_TEST

START_TEST(test_ip_classify)
{
	static const struct {
		const char *s;
		idmefv2_ip_kind kind;
	} cases[] = {
		{"192.168.0.1", IDMEFV2_IP_V4},
		{"0.0.0.0", IDMEFV2_IP_V4},
		{"255.255.255.255", IDMEFV2_IP_V4},
		{"172.28.10.95", IDMEFV2_IP_V4},
		{"::", IDMEFV2_IP_V6},
		{"::1", IDMEFV2_IP_V6},
		{"4ecb:c661:d0a8:9b5a:80b0:e5c1:ac08:67a0", IDMEFV2_IP_V6},
		{"2001:DB8::1", IDMEFV2_IP_V6},
		{"::ffff:10.0.0.1", IDMEFV2_IP_V6},
		{"64:ff9b::192.0.2.33", IDMEFV2_IP_V6},
		{"fe80::1%eth0", IDMEFV2_IP_V6},
		{"fe80::1%1", IDMEFV2_IP_V6},
		{"fe80::a%br-lan.10", IDMEFV2_IP_V6},
		{"", IDMEFV2_IP_NONE},
		{"256.0.0.1", IDMEFV2_IP_NONE},
		{"01.1.1.1", IDMEFV2_IP_NONE},
		{"1.2.3", IDMEFV2_IP_NONE},
		{"1.2.3.4/24", IDMEFV2_IP_NONE},
		{"1.2.3.4:80", IDMEFV2_IP_NONE},
		{"1.2.3.4%eth0", IDMEFV2_IP_NONE},
		{"2001:db8::/32", IDMEFV2_IP_NONE},
		{"[::1]", IDMEFV2_IP_NONE},
		{"[::1]:80", IDMEFV2_IP_NONE},
		{"fe80::1%", IDMEFV2_IP_NONE},
		{"fe80::1%eth 0", IDMEFV2_IP_NONE},
		{"fe80::1%eth0%1", IDMEFV2_IP_NONE},
		{"%eth0", IDMEFV2_IP_NONE},
		{"1:2:3:4:5:6:7:8:9", IDMEFV2_IP_NONE},
		{"12345::", IDMEFV2_IP_NONE},
		{"::laptop", IDMEFV2_IP_NONE},
		{"localhost", IDMEFV2_IP_NONE},
		{" 1.2.3.4", IDMEFV2_IP_NONE},
		{"1.2.3.4\n", IDMEFV2_IP_NONE},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(idmefv2_ip_classify(cases[i].s) == cases[i].kind, "%s: got %d, expected %d", cases[i].s,
		              (int)idmefv2_ip_classify(cases[i].s), (int)cases[i].kind);
	ck_assert_int_eq(idmefv2_ip_classify(NULL), IDMEFV2_IP_NONE);
}
END_TEST

static Suite *util_suite(void)
{
	Suite *s = suite_create("util-time-ip");
	TCase *tc = tcase_create("time");
	tcase_add_test(tc, test_format);
	tcase_add_test(tc, test_format_bounds);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_now);
	tcase_add_test(tc, test_parse);
	tcase_add_test(tc, test_parse_bad);
	suite_add_tcase(s, tc);
	TCase *ip = tcase_create("ip");
	tcase_add_test(ip, test_ip_classify);
	suite_add_tcase(s, ip);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(util_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
