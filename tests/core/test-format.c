/* SPDX-License-Identifier: Apache-2.0 */
/* JSON Schema draft-04 format checkers. */
#include <check.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format-private.h"

#define SUITE_DIR "/usr/share/json-schema-test-suite/tests/draft4"

static bool check_n(const char *format, const char *s, size_t len)
{
	idmefv2__format_fn fn = idmefv2__format_lookup(format);
	ck_assert_msg(fn != NULL, "no checker for %s", format);
	return fn(s, len);
}

static bool check(const char *format, const char *s)
{
	return check_n(format, s, strlen(s));
}

struct fcase {
	const char *s;
	bool ok;
};

static void run_cases(const char *format, const struct fcase *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(check(format, c[i].s) == c[i].ok, "%s \"%s\": expected %s", format, c[i].s,
		              c[i].ok ? "valid" : "invalid");
}

#define RUN(format, cases) run_cases(format, cases, sizeof(cases) / sizeof(cases[0]))

START_TEST(test_lookup)
{
	static const char *const names[] = {"date-time", "email", "hostname", "ipv4", "ipv6", "uri"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		ck_assert_ptr_nonnull(idmefv2__format_lookup(names[i]));
	ck_assert_ptr_null(idmefv2__format_lookup("uuid"));
	ck_assert_ptr_null(idmefv2__format_lookup("URI"));
	ck_assert_ptr_null(idmefv2__format_lookup(""));
	ck_assert_ptr_null(idmefv2__format_lookup(NULL));
	ck_assert_ptr_ne((void *)idmefv2__format_lookup("ipv4"), (void *)idmefv2__format_lookup("ipv6"));
}
END_TEST

START_TEST(test_date_time)
{
	static const struct fcase cases[] = {
		{"1963-06-19T08:30:06.283185Z", true},
		{"1963-06-19T08:30:06Z", true},
		{"1937-01-01T12:00:27.87+00:20", true},
		{"1990-12-31T15:59:50.123-08:00", true},
		{"1963-06-19t08:30:06.283185z", true},
		{"2024-02-29T00:00:00Z", true},
		{"2000-02-29T00:00:00Z", true},
		{"0000-01-01T00:00:00Z", true},
		{"9999-12-31T23:59:59.999999999999Z", true},
		{"2025-01-06T17:04:04.876+09:00", true},
		{"2024-01-01T00:00:00-00:00", true},
		{"2024-01-01T00:00:00+23:59", true},
		/* leap seconds: only at 23:59:60 UTC */
		{"1998-12-31T23:59:60Z", true},
		{"1990-12-31T15:59:60-08:00", true},
		{"1998-12-31T15:59:60.123-08:00", true},
		{"1998-12-31T22:59:60Z", false},
		{"1998-12-31T23:58:60Z", false},
		{"1990-02-31T15:59:60.123-08:00", false},
		{"1990-12-31T15:59:60-24:00", false},
		{"06/19/1963 08:30:06 PST", false},
		{"2013-350T01:01:01", false},
		{"2023-02-29T00:00:00Z", false},
		{"1900-02-29T00:00:00Z", false},
		{"2024-04-31T00:00:00Z", false},
		{"2024-00-10T00:00:00Z", false},
		{"2024-13-10T00:00:00Z", false},
		{"2024-01-00T00:00:00Z", false},
		{"2024-01-01T24:00:00Z", false},
		{"2024-01-01T00:60:00Z", false},
		{"2024-01-01T00:00:61Z", false},
		{"2024-01-01T00:00:00", false},
		{"2024-01-01 00:00:00Z", false},
		{"2024-01-01T00:00:00.Z", false},
		{"2024-01-01T00:00:00,5Z", false},
		{"2024-01-01T00:00:00+0100", false},
		{"2024-01-01T00:00:00+01:60", false},
		{"2024-01-01T00:00:00+1:00", false},
		{"2024-01-01T00:00:00Z ", false},
		{" 2024-01-01T00:00:00Z", false},
		{"2024-01-01T00:00:00Z\n", false},
		{"24-01-01T00:00:00Z", false},
		{"2024-1-01T00:00:00Z", false},
		{"+2024-01-01T00:00:00Z", false},
		{"2024-01-01", false},
		{"", false},
	};
	RUN("date-time", cases);
	ck_assert(!check_n("date-time", "2024-01-01T00:00:00\0Z", 21));
	ck_assert(!check_n("date-time", "2024-01-01T00:00:00Z\0", 21));
	/* only @len bytes are read */
	ck_assert(check_n("date-time", "2024-01-01T00:00:00Zgarbage", 20));
}
END_TEST

START_TEST(test_email)
{
	static const struct fcase cases[] = {
		{"joe.bloggs@example.com", true},
		{"admin@acme.example", true},
		{"j.dupont@corp.example.net", true},
		{"user+tag@example.org", true},
		{"o'brien@example.ie", true},
		{"root@localhost", true},
		{"\"joe bloggs\"@example.com", true},
		{"\"a@b\"@example.com", true},
		{"user@[192.168.0.1]", true},
		{"user@[IPv6:2001:db8::1]", true},
		{"J\xc3\xbcrgen@b\xc3\xbc\x63her.example", true},
		{"2962", false},
		{"admin.example.org", false},
		{"j.dupont", false},
		{"mailto-admin.example.net", false},
		{"root(at)example.org", false},
		{"@example.com", false},
		{"user@", false},
		{"a@b@c.com", false},
		{"joe bloggs@example.com", false},
		{"joe@exa mple.com", false},
		{".joe@example.com", false},
		{"joe.@example.com", false},
		{"jo..e@example.com", false},
		{"joe@-example.com", false},
		{"joe@example..com", false},
		{"joe@example.com.", false},
		{"joe@[300.1.1.1]", false},
		{"\"unterminated@example.com", false},
		{"joe@example.com\n", false},
		{"", false},
	};
	RUN("email", cases);
	ck_assert(!check_n("email", "joe\0@example.com", 16));
	char longest[300];
	memset(longest, 'a', sizeof(longest));
	memcpy(longest, "joe@", 4);
	for (size_t i = 4 + 60; i < 254; i += 61)
		longest[i] = '.';
	longest[253] = 'b';
	ck_assert(check_n("email", longest, 254));
	ck_assert(!check_n("email", longest, 255));
	ck_assert(!check_n("email", "joe@example.com\0", 16));
}
END_TEST

START_TEST(test_hostname)
{
	static const struct fcase cases[] = {
		{"www.example.com", true},
		{"localhost", true},
		{"a", true},
		{"1example.com", true},
		{"xn--nw2a.xn--j6w193g", true},
		{"db-34.corp.example.net", true},
		{"-a-host-name-that-starts-with--", false},
		{"not_a_valid_host_name", false},
		{"a-vvvvvvvvvvvvvvvveeeeeeeeeeeeeeeerrrrrrrrrrrrrrrryyyyyyyyyyyyyyyy-long-host-name-component", false},
		{"ends-with-.example.com", false},
		{"example..com", false},
		{".example.com", false},
		{"example.com.", false},
		{"exa mple.com", false},
		{"b\xc3\xbc\x63her.example", false},
		{"", false},
	};
	RUN("hostname", cases);
	/* 63-character labels are fine, 64 are not; 253 characters in all */
	char label[80];
	memset(label, 'a', 63);
	label[63] = '\0';
	ck_assert(check("hostname", label));
	memset(label, 'a', 64);
	label[64] = '\0';
	ck_assert(!check("hostname", label));
	char name[300];
	size_t n = 0;
	while (n + 50 <= 250) {
		memset(name + n, 'b', 49);
		name[n + 49] = '.';
		n += 50;
	}
	memcpy(name + n, "abc", 3); /* 253 */
	n += 3;
	ck_assert(check_n("hostname", name, n));
	name[n] = 'd';
	ck_assert(!check_n("hostname", name, n + 1));
	ck_assert(!check_n("hostname", "exa\0mple.com", 12));
}
END_TEST

START_TEST(test_ipv4)
{
	static const struct fcase cases[] = {
		{"192.168.0.1", true}, {"0.0.0.0", true}, {"255.255.255.255", true}, {"10.0.100.9", true},
		{"127.0.0.0.1", false}, {"256.256.256.256", false}, {"127.0", false}, {"0x7f000001", false},
		{"01.1.1.1", false}, {"1.1.1.01", false}, {"1.1.1.", false}, {".1.1.1", false}, {"1..1.1", false},
		{"1.1.1.1 ", false}, {"1.1.1.1\n", false}, {"1.1.1.1/24", false}, {"1.1.1.1:80", false},
		{"1.1.1.1000", false}, {"-1.1.1.1", false}, {"+1.1.1.1", false}, {"", false},
		{"\xd9\xa1.1.1.1", false},
	};
	RUN("ipv4", cases);
	ck_assert(!check_n("ipv4", "1.1.1.1\0", 8));
	ck_assert(!check_n("ipv4", "1.1\0.1.1", 8));
	ck_assert(check_n("ipv4", "1.1.1.12", 7));
}
END_TEST

START_TEST(test_ipv6)
{
	static const struct fcase cases[] = {
		{"::1", true},
		{"::", true},
		{"1::", true},
		{"1:2:3:4:5:6:7:8", true},
		{"1:2:3:4:5:6:7::", true},
		{"::2:3:4:5:6:7:8", true},
		{"1::8", true},
		{"2001:db8:85a3::8a2e:370:7334", true},
		{"2001:DB8::A", true},
		{"fe80::1", true},
		{"::ffff:192.168.0.1", true},
		{"::192.168.0.1", true},
		{"1:2:3:4:5:6:1.2.3.4", true},
		{"1::5:6:1.2.3.4", true},
		{"0000:0000:0000:0000:0000:0000:0000:0001", true},
		{"12345::", false},
		{"1:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1", false},
		{"::laptop", false},
		{"1:2:3:4:5:6:7", false},
		{"1:2:3:4:5:6:7:8:9", false},
		{"1:2:3:4:5:6:7:8::", false},
		{"::1:2:3:4:5:6:7:8", false},
		{"1::2::3", false},
		{":::", false},
		{":1::", false},
		{"1::2:", false},
		{"1:", false},
		{":", false},
		{"1:2:3:4:5:6:7:1.2.3.4", false},
		{"::1.2.3", false},
		{"::1.2.3.04", false},
		{"::1.2.3.4:5", false},
		{"::ffff:1.2.3.256", false},
		{"fe80::1%eth0", false},
		{"2001:db8::/32", false},
		{"[::1]", false},
		{"g::1", false},
		{"::1 ", false},
		{"", false},
	};
	RUN("ipv6", cases);
	ck_assert(!check_n("ipv6", "::1\0", 4));
	ck_assert(!check_n("ipv6", ":\0:1", 4));
}
END_TEST

START_TEST(test_uri)
{
	static const struct fcase cases[] = {
		{"http://foo.bar/?baz=qux#quux", true},
		{"http://foo.com/blah_(wikipedia)_blah#cite-1", true},
		{"http://foo.bar/?q=Test%20URL-encoded%20stuff", true},
		{"http://xn--nw2a.xn--j6w193g/", true},
		{"http://-.~_!$&'()*+,;=:%40:80%2f::::::@example.com", true},
		{"http://223.255.255.254", true},
		{"ftp://ftp.is.co.za/rfc/rfc1808.txt", true},
		{"http://www.ietf.org/rfc/rfc2396.txt", true},
		{"ldap://[2001:db8::7]/c=GB?objectClass?one", true},
		{"mailto:John.Doe@example.com", true},
		{"news:comp.infosystems.www.servers.unix", true},
		{"tel:+1-816-555-1212", true},
		{"urn:oasis:names:specification:docbook:dtd:xml:4.1.2", true},
		{"file:///etc/hosts", true},
		{"http://[::1]:8080/x", true},
		{"http://[v7.fe80::1]/", true},
		{"http://[v7.fe80::1%25eth0]/", false},
		{"http://[v.x]/", false},
		{"http://example.org:/x", true},
		{"https://evidence.example.net/case/1048", true},
		{"urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66", true},
		{"x:", true},
		{"a+b-c.d:e", true},
		{"http://example.org/a?b=c/d?e#f/g?h", true},
		{"//foo.bar/?baz=qux#quux", false},
		{"/abc", false},
		{"\\\\WINDOWS\\fileshare", false},
		{"abc", false},
		{"http:// shouldfail.com", false},
		{":// should fail", false},
		{"//example.org/x", false},
		{"CVE 2024 1234", false},
		{"http://exa mple.org/x", false},
		{"www.example.org/advisories/12", false},
		{"https://example.org/a b", false},
		{"not a uri", false},
		{"http://[::1", false},
		{"http://[::1]x/", false},
		{"http://[1.2.3.4]/", false},
		{"http://example.org:80a/", false},
		{"http://a@b@c/", false},
		{"http://example.org/%zz", false},
		{"http://example.org/%4", false},
		{"http://example.org/a#b#c", false},
		{"http://example.org/<x>", false},
		{"http://example.org/\"", false},
		{"http://example.org/a\\b", false},
		{"http://example.org/{x}", false},
		{"http://ex\xc3\xa4mple.org/", false},
		{"1http://x", false},
		{"ht tp://x", false},
		{"http://x/\n", false},
		{"", false},
	};
	RUN("uri", cases);
	ck_assert(!check_n("uri", "http://x/\0y", 11));
	ck_assert(!check_n("uri", "http\0://x", 9));
}
END_TEST

static int run_suite_file(const char *path)
{
	struct json_object *groups = json_object_from_file(path);
	if (!groups)
		return 0; /* the cases above include the suite's */
	int ran = 0;
	for (size_t g = 0; g < json_object_array_length(groups); g++) {
		struct json_object *grp = json_object_array_get_idx(groups, g);
		const char *format = json_object_get_string(
		        json_object_object_get(json_object_object_get(grp, "schema"), "format"));
		struct json_object *tests = json_object_object_get(grp, "tests");
		idmefv2__format_fn fn = idmefv2__format_lookup(format);
		for (size_t t = 0; t < json_object_array_length(tests); t++) {
			struct json_object *tc = json_object_array_get_idx(tests, t);
			struct json_object *data = json_object_object_get(tc, "data");
			bool valid = json_object_get_boolean(json_object_object_get(tc, "valid"));
			if (!json_object_is_type(data, json_type_string))
				continue;
			ck_assert_msg(fn != NULL, "no checker for %s", format);
			ck_assert_msg(fn(json_object_get_string(data), (size_t)json_object_get_string_len(data)) == valid,
			              "%s \"%s\"", format, json_object_get_string(data));
			ran++;
		}
	}
	json_object_put(groups);
	return ran;
}

START_TEST(test_json_schema_test_suite)
{
	FILE *f = fopen(SUITE_DIR "/optional/format.json", "r");
	if (!f)
		return;
	fclose(f);
	ck_assert_int_ge(run_suite_file(SUITE_DIR "/optional/format.json"), 30);
	ck_assert_int_ge(run_suite_file(SUITE_DIR "/optional/ecmascript-regex.json"), 1);
}
END_TEST

START_TEST(test_regex)
{
	ck_assert(check("regex", "^[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}$"));
	ck_assert(check("regex", "(?<=x)y|\\p{L}"));
	ck_assert(check("regex", ""));
	ck_assert(!check("regex", "^\\S(|(.|\\n)*\\S)\\Z"));
	ck_assert(!check("regex", "^(abc]"));
	ck_assert(!check("regex", "a**"));
	ck_assert(check_n("regex", "a\0b", 3));
}
END_TEST

/* Every Email, Ref and ExternalURI string of @o goes through its checker. */
static void check_corpus_values(struct json_object *o, const char *key, int *ret_emails, int *ret_uris)
{
	if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, k, v)
			check_corpus_values(v, k, ret_emails, ret_uris);
	} else if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++)
			check_corpus_values(json_object_array_get_idx(o, i), key, ret_emails, ret_uris);
	} else if (json_object_is_type(o, json_type_string) && key) {
		const char *s = json_object_get_string(o);
		size_t len = (size_t)json_object_get_string_len(o);
		if (!strcmp(key, "Email")) {
			ck_assert_msg(check_n("email", s, len), "valid corpus email rejected: %s", s);
			(*ret_emails)++;
		} else if (!strcmp(key, "Ref") || !strcmp(key, "ExternalURI")) {
			ck_assert_msg(check_n("uri", s, len), "valid corpus uri rejected: %s", s);
			(*ret_uris)++;
		}
	}
}

START_TEST(test_bench_corpus_valid)
{
	FILE *f = fopen(TEST_DATA_DIR "/bench/messages-v08-valid.ndjson", "r");
	ck_assert_ptr_nonnull(f);
	char *line = NULL;
	size_t cap = 0;
	int emails = 0, uris = 0;
	while (getline(&line, &cap, f) > 0) {
		struct json_object *m = json_tokener_parse(line);
		ck_assert_ptr_nonnull(m);
		check_corpus_values(m, NULL, &emails, &uris);
		json_object_put(m);
	}
	free(line);
	fclose(f);
	ck_assert_int_gt(emails, 100);
	ck_assert_int_gt(uris, 100);
	printf("valid corpus: %d emails and %d uris accepted\n", emails, uris);
}
END_TEST

START_TEST(test_bench_corpus_invalid)
{
	FILE *msgs = fopen(TEST_DATA_DIR "/bench/messages-v08-invalid.ndjson", "r");
	FILE *reasons = fopen(TEST_DATA_DIR "/bench/messages-v08-invalid.reasons.txt", "r");
	ck_assert_ptr_nonnull(msgs);
	ck_assert_ptr_nonnull(reasons);
	char *line = NULL, *reason = NULL;
	size_t cap = 0, rcap = 0;
	int lineno = 0, bad_uri = 0, bad_email = 0;
	/* reasons: "# header", then "N<TAB>class<TAB>pointer<TAB>..." for line N */
	while (getline(&reason, &rcap, reasons) > 0) {
		if (reason[0] == '#')
			continue;
		int n = atoi(reason);
		char *cls = strchr(reason, '\t');
		char *ptr = cls ? strchr(cls + 1, '\t') : NULL;
		char *end = ptr ? strchr(ptr + 1, '\t') : NULL;
		ck_assert_ptr_nonnull(end);
		cls++;
		*ptr++ = '\0';
		*end = '\0';
		const char *format = !strcmp(cls, "bad-uri-format") ? "uri" :
		                     !strcmp(cls, "bad-email-format") ? "email" : NULL;
		if (!format)
			continue;
		while (lineno < n && getline(&line, &cap, msgs) > 0)
			lineno++;
		ck_assert_int_eq(lineno, n);
		struct json_object *m = json_tokener_parse(line), *v = NULL;
		ck_assert_ptr_nonnull(m);
		ck_assert_int_eq(json_pointer_get(m, ptr, &v), 0);
		ck_assert(json_object_is_type(v, json_type_string));
		ck_assert_msg(!check_n(format, json_object_get_string(v), (size_t)json_object_get_string_len(v)),
		              "line %d: %s \"%s\" accepted", n, format, json_object_get_string(v));
		if (*format == 'u')
			bad_uri++;
		else
			bad_email++;
		json_object_put(m);
	}
	free(line);
	free(reason);
	fclose(msgs);
	fclose(reasons);
	ck_assert_int_eq(bad_uri, 30);
	ck_assert_int_eq(bad_email, 30);
}
END_TEST

START_TEST(test_rfc3339_parse)
{
	struct timespec ts = {0, 0};
	int off = 1234;
	ck_assert(idmefv2__rfc3339_parse("1970-01-01T00:00:00Z", 20, &ts, &off));
	ck_assert_int_eq(ts.tv_sec, 0);
	ck_assert_int_eq(ts.tv_nsec, 0);
	ck_assert_int_eq(off, 0);
	ck_assert(idmefv2__rfc3339_parse("1970-01-01T01:00:00.5+01:00", 27, &ts, &off));
	ck_assert_int_eq(ts.tv_sec, 0);
	ck_assert_int_eq(ts.tv_nsec, 500000000);
	ck_assert_int_eq(off, 60);
	/* the output parameters are optional and untouched on failure */
	ck_assert(idmefv2__rfc3339_parse("1970-01-01T00:00:00Z", 20, NULL, NULL));
	ts.tv_sec = 77;
	ck_assert(!idmefv2__rfc3339_parse("1970-01-01T00:00:00", 19, &ts, &off));
	ck_assert(!idmefv2__rfc3339_parse(NULL, 0, &ts, &off));
	ck_assert_int_eq(ts.tv_sec, 77);
	ck_assert_int_eq(off, 60);
}
END_TEST

/* Under AddressSanitizer malloc belongs to the sanitizer: count only without it. */
#if defined(__SANITIZE_ADDRESS__)
#define HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_ASAN 1
#endif
#endif
#ifndef HAVE_ASAN
#define COUNT_ALLOCATIONS 1
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
static _Thread_local bool counting;
static _Thread_local size_t allocations;

void *malloc(size_t n);
void *calloc(size_t a, size_t b);
void *realloc(void *p, size_t n);

void *malloc(size_t n)
{
	allocations += counting;
	return __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
	allocations += counting;
	return __libc_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
	allocations += counting;
	return __libc_realloc(p, n);
}

START_TEST(test_no_allocation)
{
	static const char *const samples[][2] = {
		{"date-time", "2025-01-06T17:04:04.876+09:00"}, {"email", "j.dupont@corp.example.net"},
		{"hostname", "db-34.corp.example.net"}, {"ipv4", "172.28.10.95"}, {"ipv6", "fe80::1:2"},
		{"uri", "https://evidence.example.net/case/1048?x=1#y"}, {"uri", "not a uri"},
	};
	idmefv2__format_fn fns[sizeof(samples) / sizeof(samples[0])];
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++)
		fns[i] = idmefv2__format_lookup(samples[i][0]);
	counting = true;
	size_t accepted = 0;
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++)
		accepted += fns[i](samples[i][1], strlen(samples[i][1]));
	counting = false;
	ck_assert_uint_eq(accepted, 6);
	ck_assert_uint_eq(allocations, 0);
}
END_TEST
#endif

static Suite *format_suite(void)
{
	Suite *s = suite_create("format");
	TCase *tc = tcase_create("formats");
	tcase_add_test(tc, test_lookup);
	tcase_add_test(tc, test_date_time);
	tcase_add_test(tc, test_email);
	tcase_add_test(tc, test_hostname);
	tcase_add_test(tc, test_ipv4);
	tcase_add_test(tc, test_ipv6);
	tcase_add_test(tc, test_uri);
	tcase_add_test(tc, test_regex);
	tcase_add_test(tc, test_json_schema_test_suite);
	tcase_add_test(tc, test_bench_corpus_valid);
	tcase_add_test(tc, test_bench_corpus_invalid);
	tcase_add_test(tc, test_rfc3339_parse);
#ifdef COUNT_ALLOCATIONS
	tcase_add_test(tc, test_no_allocation);
#endif
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(format_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
