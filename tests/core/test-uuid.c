/* SPDX-License-Identifier: Apache-2.0 */
#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <idmefv2/util.h>

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void assert_canonical_lower(const char *u)
{
	ck_assert_uint_eq(strlen(u), 36);
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			ck_assert_int_eq(u[i], '-');
		else
			ck_assert_msg(strchr("0123456789abcdef", u[i]) && u[i], "bad char in %s", u);
	}
	ck_assert(idmefv2_uuid_is_valid(u));
}

START_TEST(test_v7_layout)
{
	char u[IDMEFV2_UUID_STRLEN];
	uint64_t before = now_ms(), after, ts;
	char hex[13];

	ck_assert_int_eq(idmefv2_uuid_generate(IDMEFV2_UUID_V7, u, sizeof(u)), IDMEFV2_OK);
	after = now_ms();
	assert_canonical_lower(u);
	ck_assert_int_eq(u[14], '7');
	ck_assert_msg(strchr("89ab", u[19]), "variant of %s", u);
	/* the first 48 bits are the Unix time in milliseconds, big-endian */
	memcpy(hex, u, 8);
	memcpy(hex + 8, u + 9, 4);
	hex[12] = '\0';
	ts = strtoull(hex, NULL, 16);
	/* the counter may borrow a few ms from the future, never from the past */
	ck_assert_uint_ge(ts, before);
	ck_assert_uint_le(ts, after + 50);
}
END_TEST

START_TEST(test_v4_layout)
{
	char a[IDMEFV2_UUID_STRLEN], b[IDMEFV2_UUID_STRLEN];

	ck_assert_int_eq(idmefv2_uuid_generate(IDMEFV2_UUID_V4, a, sizeof(a)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_uuid_generate(IDMEFV2_UUID_V4, b, sizeof(b)), IDMEFV2_OK);
	assert_canonical_lower(a);
	ck_assert_int_eq(a[14], '4');
	ck_assert_msg(strchr("89ab", a[19]), "variant of %s", a);
	ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(test_new_is_v7)
{
	char u[IDMEFV2_UUID_STRLEN];

	ck_assert_int_eq(idmefv2_uuid_new(u, sizeof(u)), IDMEFV2_OK);
	assert_canonical_lower(u);
	ck_assert_int_eq(u[14], '7');
}
END_TEST

START_TEST(test_bad_args)
{
	char u[IDMEFV2_UUID_STRLEN];

	memset(u, 'x', sizeof(u));
	ck_assert_int_eq(idmefv2_uuid_generate(IDMEFV2_UUID_V7, u, IDMEFV2_UUID_STRLEN - 1), IDMEFV2_ERR_INVALID_ARG);
	ck_assert_int_eq(u[0], 'x');
	ck_assert_int_eq(idmefv2_uuid_generate(IDMEFV2_UUID_V7, NULL, 64), IDMEFV2_ERR_INVALID_ARG);
	ck_assert_int_eq(idmefv2_uuid_generate((idmefv2_uuid_kind)3, u, sizeof(u)), IDMEFV2_ERR_INVALID_ARG);
	ck_assert_int_eq(idmefv2_uuid_new(u, 10), IDMEFV2_ERR_INVALID_ARG);
}
END_TEST

#define MANY 10000

START_TEST(test_v7_unique_increasing)
{
	char(*u)[IDMEFV2_UUID_STRLEN] = malloc(MANY * sizeof(*u));

	ck_assert_ptr_nonnull(u);
	for (int i = 0; i < MANY; i++) {
		ck_assert_int_eq(idmefv2_uuid_generate(IDMEFV2_UUID_V7, u[i], sizeof(u[i])), IDMEFV2_OK);
		ck_assert_int_eq(u[i][14], '7');
		/* strictly increasing implies unique */
		if (i > 0)
			ck_assert_msg(strcmp(u[i - 1], u[i]) < 0, "%s !< %s", u[i - 1], u[i]);
	}
	free(u);
}
END_TEST

static int cmp_uuid(const void *a, const void *b)
{
	return strcmp(a, b);
}

START_TEST(test_v4_unique)
{
	char(*u)[IDMEFV2_UUID_STRLEN] = malloc(MANY * sizeof(*u));

	ck_assert_ptr_nonnull(u);
	for (int i = 0; i < MANY; i++)
		ck_assert_int_eq(idmefv2_uuid_generate(IDMEFV2_UUID_V4, u[i], sizeof(u[i])), IDMEFV2_OK);
	qsort(u, MANY, sizeof(*u), cmp_uuid);
	for (int i = 1; i < MANY; i++)
		ck_assert_str_ne(u[i - 1], u[i]);
	free(u);
}
END_TEST

#define THREADS 4
#define PER_THREAD 5000

struct thread_arg {
	char (*u)[IDMEFV2_UUID_STRLEN];
	int ok;
};

static void *gen_thread(void *p)
{
	struct thread_arg *a = p;

	a->ok = 1;
	for (int i = 0; i < PER_THREAD; i++) {
		if (idmefv2_uuid_new(a->u[i], IDMEFV2_UUID_STRLEN) != IDMEFV2_OK)
			a->ok = 0;
		if (i > 0 && strcmp(a->u[i - 1], a->u[i]) >= 0)
			a->ok = 0;
	}
	return NULL;
}

START_TEST(test_v7_threads)
{
	char(*u)[IDMEFV2_UUID_STRLEN] = malloc(THREADS * PER_THREAD * sizeof(*u));
	struct thread_arg args[THREADS];
	pthread_t th[THREADS];

	ck_assert_ptr_nonnull(u);
	for (int t = 0; t < THREADS; t++) {
		args[t].u = u + t * PER_THREAD;
		ck_assert_int_eq(pthread_create(&th[t], NULL, gen_thread, &args[t]), 0);
	}
	for (int t = 0; t < THREADS; t++) {
		pthread_join(th[t], NULL);
		ck_assert_msg(args[t].ok, "thread %d saw a failure or a non-increasing UUID", t);
	}
	qsort(u, THREADS * PER_THREAD, sizeof(*u), cmp_uuid);
	for (int i = 1; i < THREADS * PER_THREAD; i++)
		ck_assert_str_ne(u[i - 1], u[i]);
	free(u);
}
END_TEST

START_TEST(test_is_valid)
{
	ck_assert(idmefv2_uuid_is_valid("0190a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a7b"));
	ck_assert(idmefv2_uuid_is_valid("0190A5B2-7C3D-7E4F-8A1B-2C3D4E5F6A7B"));
	ck_assert(idmefv2_uuid_is_valid("00000000-0000-0000-0000-000000000000"));
	ck_assert(!idmefv2_uuid_is_valid(NULL));
	ck_assert(!idmefv2_uuid_is_valid(""));
	ck_assert(!idmefv2_uuid_is_valid("0190a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a7"));
	ck_assert(!idmefv2_uuid_is_valid("0190a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a7b0"));
	ck_assert(!idmefv2_uuid_is_valid("0190a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a7b\n"));
	ck_assert(!idmefv2_uuid_is_valid("0190a5b27c3d-7e4f-8a1b-2c3d4e5f6a7b-"));
	ck_assert(!idmefv2_uuid_is_valid("0190a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a7g"));
	ck_assert(!idmefv2_uuid_is_valid("{0190a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a7b}"));
	ck_assert(!idmefv2_uuid_is_valid("0190a5b2 7c3d 7e4f 8a1b 2c3d4e5f6a7b"));
}
END_TEST

START_TEST(test_equal)
{
	ck_assert(idmefv2_uuid_equal("0190a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a7b", "0190A5B2-7C3D-7E4F-8A1B-2C3D4E5F6A7B"));
	ck_assert(idmefv2_uuid_equal("0190a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a7b", "0190a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a7b"));
	ck_assert(!idmefv2_uuid_equal("0190a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a7b", "0190a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a7c"));
	ck_assert(!idmefv2_uuid_equal("0190a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a7b", NULL));
	ck_assert(!idmefv2_uuid_equal("not-a-uuid", "NOT-A-UUID"));
}
END_TEST

static Suite *uuid_suite(void)
{
	Suite *s = suite_create("uuid");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_v7_layout);
	tcase_add_test(tc, test_v4_layout);
	tcase_add_test(tc, test_new_is_v7);
	tcase_add_test(tc, test_bad_args);
	tcase_add_test(tc, test_v7_unique_increasing);
	tcase_add_test(tc, test_v4_unique);
	tcase_add_test(tc, test_v7_threads);
	tcase_add_test(tc, test_is_valid);
	tcase_add_test(tc, test_equal);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(uuid_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
