/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Integers beyond 64 bits: json-c would hold them as the nearest 64-bit
 * value, so unserialize refuses them and names them by their text, cut
 * short; the 64-bit limits themselves and non-integers still parse.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <idmefv2/message.h>

#define HEAD "{\"Version\":\"2.D.V08\",\"ID\":\"0193a2b4-6000-7000-8000-000000000001\"," \
             "\"CreateTime\":\"2026-11-22T07:02:11Z\",\"Description\":\"x \\\"1234567890123456789012\\\"\"," \
             "\"Priority\":\"Medium\",\"Category\":[],\"Analyzer\":{\"IP\":\"192.0.2.1\",\"Name\":\"a\"," \
             "\"Model\":\"m\",\"Category\":[\"NIDS\"],\"Data\":[\"Network\"],\"Method\":[\"Signature\"]}," \
             "\"Confidence\":"

/* The error of unserializing the message with Confidence = @number ("" if it parsed). */
static void parse_with(const char *number, char *errstr, size_t size)
{
	size_t len = strlen(HEAD) + strlen(number) + 2;
	char *text = malloc(len);
	idmefv2_message *msg = NULL;
	idmefv2_report *report = NULL;
	idmefv2_error err;

	ck_assert_ptr_nonnull(text);
	snprintf(text, len, "%s%s}", HEAD, number);
	errstr[0] = '\0';
	err = idmefv2_message_unserialize("application/json", text, strlen(text), IDMEFV2_SERIALIZE_NO_VALIDATE,
	                                  &msg, &report, errstr, size);
	if (err == IDMEFV2_OK)
		errstr[0] = '\0';
	else
		ck_assert_int_eq(err, IDMEFV2_ERR_PARSE);
	idmefv2_message_unref(msg);
	idmefv2_report_free(report);
	free(text);
}

START_TEST(test_beyond_64_bits_named_by_text)
{
	char errstr[512], *huge = malloc(100001);

	ck_assert_ptr_nonnull(huge);
	memset(huge, '7', 100000);
	huge[100000] = '\0';
	parse_with(huge, errstr, sizeof(errstr));
	ck_assert_msg(strstr(errstr, "integer 7777777777777777777777777777777777777777\xe2\x80\xa6(100000 digits) "
	                             "does not fit in 64 bits"), "%s", errstr);
	ck_assert_ptr_null(strstr(errstr, "18446744073709551615"));
	huge[0] = '-';
	parse_with(huge, errstr, sizeof(errstr));
	ck_assert_msg(strstr(errstr, "integer -7777777777777777777777777777777777777777\xe2\x80\xa6(99999 digits)"),
	              "%s", errstr);
	free(huge);

	parse_with("18446744073709551616", errstr, sizeof(errstr));
	ck_assert_msg(strstr(errstr, "integer 18446744073709551616 does not fit in 64 bits"), "%s", errstr);
	parse_with("-9223372036854775809", errstr, sizeof(errstr));
	ck_assert_msg(strstr(errstr, "integer -9223372036854775809 does not fit"), "%s", errstr);
}
END_TEST

START_TEST(test_limits_and_non_integers_parse)
{
	static const char *const ok[] = {
		"18446744073709551615", "-9223372036854775808", "1234567890123456789", "0",
		"123456789012345678901234567890.5", "1e400000", "-0.000000000000000000000000000001",
	};
	char errstr[512];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		parse_with(ok[i], errstr, sizeof(errstr));
		ck_assert_msg(errstr[0] == '\0', "%s: %s", ok[i], errstr);
	}
}
END_TEST

static Suite *big_integers_suite(void)
{
	Suite *s = suite_create("big-integers");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_beyond_64_bits_named_by_text);
	tcase_add_test(tc, test_limits_and_non_integers_parse);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(big_integers_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
