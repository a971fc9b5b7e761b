/* SPDX-License-Identifier: Apache-2.0 */
/* Name-based (version 5) UUIDs: RFC 9562 vectors and Python's uuid.uuid5() as the reference. */
#include <check.h>
#include <string.h>

#include <idmefv2/util.h>

static const char *v5(const char *ns, const char *name, size_t len)
{
	static char buf[IDMEFV2_UUID_STRLEN];

	ck_assert_int_eq(idmefv2_uuid_from_name(ns, name, len, buf, sizeof(buf)), IDMEFV2_OK);
	return buf;
}

START_TEST(test_reference_vectors)
{
	static char long_name[1012] = "tail:1:2:3:";

	/* uuid.uuid5(uuid.NAMESPACE_DNS, "python.org") */
	ck_assert_str_eq(v5("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "python.org", 10),
	                 "886313e1-3b8a-5372-9b90-0c9aee199e5d");
	/* The same namespace in upper case is the same namespace. */
	ck_assert_str_eq(v5("6BA7B810-9DAD-11D1-80B4-00C04FD430C8", "python.org", 10),
	                 "886313e1-3b8a-5372-9b90-0c9aee199e5d");
	ck_assert_str_eq(v5(IDMEFV2_UUID_NAMESPACE, "", 0), "2d7df0d4-9f2c-5403-82c2-af0b789bc393");
	/* 16 + 55 bytes: the padding spills into a second block. */
	ck_assert_str_eq(v5(IDMEFV2_UUID_NAMESPACE, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 55),
	                 "a43d37fd-adb3-5412-9d3c-6c68db23441d");
	memset(long_name + 11, 'y', 1000);
	ck_assert_str_eq(v5(IDMEFV2_UUID_NAMESPACE, long_name, 1011), "ad86393e-80e6-5080-b351-718d9fa65621");
}
END_TEST

START_TEST(test_binary_names)
{
	char a[IDMEFV2_UUID_STRLEN], b[IDMEFV2_UUID_STRLEN];

	/* Names are bytes, NUL included: "a\0b" and "a\0c" differ. */
	ck_assert_int_eq(idmefv2_uuid_from_name(IDMEFV2_UUID_NAMESPACE, "a\0b", 3, a, sizeof(a)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_uuid_from_name(IDMEFV2_UUID_NAMESPACE, "a\0c", 3, b, sizeof(b)), IDMEFV2_OK);
	ck_assert_str_ne(a, b);
	ck_assert(idmefv2_uuid_is_valid(a));
	ck_assert_int_eq(a[14], '5');
	ck_assert(strchr("89ab", a[19]) != NULL);
}
END_TEST

START_TEST(test_bad_args)
{
	char buf[IDMEFV2_UUID_STRLEN];

	ck_assert_int_eq(idmefv2_uuid_from_name("not-a-uuid", "x", 1, buf, sizeof(buf)), IDMEFV2_ERR_INVALID_ARG);
	ck_assert_int_eq(idmefv2_uuid_from_name(NULL, "x", 1, buf, sizeof(buf)), IDMEFV2_ERR_INVALID_ARG);
	ck_assert_int_eq(idmefv2_uuid_from_name(IDMEFV2_UUID_NAMESPACE, NULL, 1, buf, sizeof(buf)),
	                 IDMEFV2_ERR_INVALID_ARG);
	ck_assert_int_eq(idmefv2_uuid_from_name(IDMEFV2_UUID_NAMESPACE, "x", 1, buf, 36), IDMEFV2_ERR_INVALID_ARG);
	ck_assert_int_eq(idmefv2_uuid_from_name(IDMEFV2_UUID_NAMESPACE, "x", 1, NULL, 37), IDMEFV2_ERR_INVALID_ARG);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("uuid-name");
	TCase *tc = tcase_create("v5");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_reference_vectors);
	tcase_add_test(tc, test_binary_names);
	tcase_add_test(tc, test_bad_args);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
