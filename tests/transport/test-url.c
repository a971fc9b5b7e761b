/* SPDX-License-Identifier: Apache-2.0 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "transport-private.h"

static struct idmefv2__url url;
static char err[256];

static idmefv2_error parse(const char *text)
{
	idmefv2__url_clear(&url);
	err[0] = '\0';
	return idmefv2__url_parse(text, &url, err, sizeof(err));
}

static void teardown(void)
{
	idmefv2__url_clear(&url);
}

START_TEST(test_http)
{
	ck_assert_int_eq(parse("http://example.org:8080/idmefv2?a=1"), IDMEFV2_OK);
	ck_assert_str_eq(url.scheme, "http");
	ck_assert_str_eq(url.host, "example.org");
	ck_assert_uint_eq(url.port, 8080);
	ck_assert_str_eq(url.path, "/idmefv2");
	ck_assert_str_eq(url.query, "a=1");
	ck_assert_ptr_null(url.userinfo);
	ck_assert_ptr_null(url.hosts);
	ck_assert_str_eq(url.text, "http://example.org:8080/idmefv2?a=1");

	/* Scheme case-insensitive, no port, no path. */
	ck_assert_int_eq(parse("HTTPS://Host-1.example"), IDMEFV2_OK);
	ck_assert_str_eq(url.scheme, "https");
	ck_assert_str_eq(url.host, "Host-1.example");
	ck_assert_uint_eq(url.port, 0);
	ck_assert_str_eq(url.path, "/");
	ck_assert_ptr_null(url.query);

	ck_assert_int_eq(parse("http://127.0.0.1:0/"), IDMEFV2_OK);
	ck_assert_str_eq(url.host, "127.0.0.1");
	ck_assert_uint_eq(url.port, 0);
}
END_TEST

START_TEST(test_ipv6_and_userinfo)
{
	ck_assert_int_eq(parse("http://[::1]:8080/p"), IDMEFV2_OK);
	ck_assert_str_eq(url.host, "::1");
	ck_assert_uint_eq(url.port, 8080);
	ck_assert_str_eq(url.path, "/p");

	ck_assert_int_eq(parse("https://[2001:db8::17]/"), IDMEFV2_OK);
	ck_assert_str_eq(url.host, "2001:db8::17");
	ck_assert_uint_eq(url.port, 0);

	ck_assert_int_eq(parse("https://alice:s%40cret@siem.example:443/in"), IDMEFV2_OK);
	ck_assert_str_eq(url.userinfo, "alice:s@cret");
	ck_assert_str_eq(url.host, "siem.example");
	ck_assert_uint_eq(url.port, 443);
}
END_TEST

START_TEST(test_kafka)
{
	ck_assert_int_eq(parse("kafka://h1:9092,h2:9092/topic"), IDMEFV2_OK);
	ck_assert_str_eq(url.scheme, "kafka");
	ck_assert_str_eq(url.host, "h1");
	ck_assert_uint_eq(url.port, 9092);
	ck_assert_str_eq(url.hosts, "h1:9092,h2:9092");
	ck_assert_str_eq(url.path, "/topic");

	ck_assert_int_eq(parse("kafka://broker:9092"), IDMEFV2_OK);
	ck_assert_str_eq(url.hosts, "broker:9092");
	ck_assert_str_eq(url.path, "/");

	ck_assert_int_eq(parse("kafka://[::1]:9092,127.0.0.1:9093/t"), IDMEFV2_OK);
	ck_assert_str_eq(url.host, "::1");
	ck_assert_str_eq(url.hosts, "[::1]:9092,127.0.0.1:9093");

	ck_assert_int_eq(parse("kafka://h1:9092,,h2:9092/t"), IDMEFV2_ERR_URL);
	ck_assert_ptr_nonnull(strstr(err, "missing host"));
	ck_assert_int_eq(parse("kafka://h1:9092,h2:x/t"), IDMEFV2_ERR_URL);
	ck_assert_ptr_nonnull(strstr(err, "invalid port"));
}
END_TEST

START_TEST(test_file)
{
	ck_assert_int_eq(parse("file:///var/spool/idmefv2"), IDMEFV2_OK);
	ck_assert_str_eq(url.scheme, "file");
	ck_assert_ptr_null(url.host);
	ck_assert_str_eq(url.path, "/var/spool/idmefv2");

	ck_assert_int_eq(parse("file://localhost/tmp/a%20b"), IDMEFV2_OK);
	ck_assert_str_eq(url.path, "/tmp/a b");

	ck_assert_int_eq(parse("file://dir"), IDMEFV2_ERR_URL);
	ck_assert_ptr_nonnull(strstr(err, "file:///"));
	ck_assert_int_eq(parse("file:///"), IDMEFV2_ERR_URL);
	ck_assert_ptr_nonnull(strstr(err, "needs a directory"));
	ck_assert_int_eq(parse("file://"), IDMEFV2_ERR_URL);
	ck_assert_int_eq(parse("file:///tmp/%zz"), IDMEFV2_ERR_URL);
	ck_assert_ptr_nonnull(strstr(err, "percent"));
	ck_assert_int_eq(parse("file:///tmp/a%00b"), IDMEFV2_ERR_URL);
}
END_TEST

START_TEST(test_errors)
{
	static const struct {
		const char *url;
		const char *says;
	} cases[] = {
		{"", "not a URL"},
		{"example.org:8080", "not a URL"},
		{"://host", "not a URL"},
		{"1http://host", "invalid URL scheme"},
		{"http://", "missing host"},
		{"http:///path", "missing host"},
		{"http://host:", "invalid port"},
		{"http://host:65536/", "invalid port"},
		{"http://host:80a/", "invalid port"},
		{"http://ho st/", "space"},
		{"http://host/a b", "space"},
		{"http://[::1/", "unterminated"},
		{"http://[::1]x/", "after IPv6"},
		{"http://[]/", "empty IPv6"},
		{"http://[::g]/", "IPv6"},
		{"http://h1,h2/", "only allowed in kafka"},
		{"http://host/#frag", "fragment"},
		{"http://ho$t/", "invalid character"},
		{"http://:80/", "missing host"},
		{"http://u%zz@host/", "percent"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_msg(parse(cases[i].url) == IDMEFV2_ERR_URL, "'%s' accepted", cases[i].url);
		ck_assert_msg(strstr(err, cases[i].says), "'%s': error '%s' lacks '%s'", cases[i].url, err,
		              cases[i].says);
		/* Nothing left allocated on failure. */
		ck_assert_ptr_null(url.scheme);
	}
	ck_assert_int_eq(idmefv2__url_parse(NULL, &url, err, sizeof(err)), IDMEFV2_ERR_INVALID_ARG);
	/* A NULL or tiny errstr is fine. */
	ck_assert_int_eq(idmefv2__url_parse("bogus", &url, NULL, 0), IDMEFV2_ERR_URL);
	ck_assert_int_eq(idmefv2__url_parse("bogus", &url, err, 1), IDMEFV2_ERR_URL);
	ck_assert_str_eq(err, "");
}
END_TEST

static Suite *url_suite(void)
{
	Suite *s = suite_create("url");
	TCase *tc = tcase_create("url");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_http);
	tcase_add_test(tc, test_ipv6_and_userinfo);
	tcase_add_test(tc, test_kafka);
	tcase_add_test(tc, test_file);
	tcase_add_test(tc, test_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(url_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
