/* SPDX-License-Identifier: Apache-2.0 */
/* The validator on real IDMEFv2 data: the public examples and the bench corpus. */
#include <check.h>
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include <idmefv2/schema.h>

#define EXAMPLES TEST_DATA_DIR "/examples"
#define BENCH TEST_DATA_DIR "/bench"

static const idmefv2_schema *schema_of(struct json_object *msg)
{
	struct json_object *v;
	idmefv2_error rc;
	char err[512];
	const idmefv2_schema *s;

	if (!json_object_object_get_ex(msg, "Version", &v))
		return NULL;
	s = idmefv2_schema_for_version(json_object_get_string(v), &rc, err, sizeof(err));
	if (!s)
		ck_assert_int_eq(rc, IDMEFV2_ERR_VERSION);
	return s;
}

static const idmefv2_schema *latest(void)
{
	idmefv2_error rc;
	char err[512];
	const idmefv2_schema *s = idmefv2_schema_for_version(IDMEFV2_VERSION_LATEST, &rc, err, sizeof(err));

	ck_assert_msg(s != NULL, "%s", err);
	return s;
}

static char *path_join(const char *dir, const char *name)
{
	char *p = malloc(strlen(dir) + strlen(name) + 2);

	ck_assert_ptr_nonnull(p);
	sprintf(p, "%s/%s", dir, name);
	return p;
}

static size_t list_dir(const char *dir, char ***ret)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	ck_assert_msg(d != NULL, "cannot open %s", dir);
	*ret = NULL;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		*ret = realloc(*ret, (n + 1) * sizeof(**ret));
		ck_assert_ptr_nonnull(*ret);
		(*ret)[n++] = path_join(dir, e->d_name);
	}
	closedir(d);
	return n;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* ---- examples ---- */

START_TEST(test_examples_valid)
{
	char **files;
	size_t n = list_dir(EXAMPLES "/valid", &files);

	ck_assert_uint_ge(n, 4);
	for (size_t i = 0; i < n; i++) {
		struct json_object *msg = json_object_from_file(files[i]);
		const idmefv2_schema *s;
		idmefv2_report *r = NULL;
		idmefv2_error rc;

		ck_assert_msg(msg != NULL, "%s does not parse", files[i]);
		s = schema_of(msg);
		ck_assert_msg(s != NULL, "%s has no known Version", files[i]);
		rc = idmefv2_schema_validate(s, msg, IDMEFV2_VALIDATE_DEFAULT, &r);
		ck_assert_msg(rc == IDMEFV2_OK, "%s: %s at %s", files[i], r ? idmefv2_report_message(r, 0) : "?",
		              r ? idmefv2_report_instance_path(r, 0) : "?");
		/* and none is valid against V08: the Version enum pins the revision */
		ck_assert_int_eq(idmefv2_schema_validate(latest(), msg, 0, NULL), IDMEFV2_ERR_INVALID);
		json_object_put(msg);
		free(files[i]);
	}
	free(files);
}
END_TEST

/* Returns the report of @msg against its own Version (V08 if unknown). */
static idmefv2_report *validate_invalid(struct json_object *msg, const char *label)
{
	const idmefv2_schema *s = schema_of(msg);
	idmefv2_report *r = NULL;
	idmefv2_error rc;

	if (!s)
		s = latest();
	rc = idmefv2_schema_validate(s, msg, IDMEFV2_VALIDATE_DEFAULT, &r);
	ck_assert_msg(rc == IDMEFV2_ERR_INVALID, "%s should be invalid (%d)", label, rc);
	ck_assert_uint_ge(idmefv2_report_count(r), 1);
	return r;
}

static bool report_has(const idmefv2_report *r, const char *instance, const char *schema, const char *message)
{
	for (size_t i = 0; i < idmefv2_report_count(r); i++)
		if (strcmp(idmefv2_report_instance_path(r, i), instance) == 0 &&
		    strcmp(idmefv2_report_schema_path(r, i), schema) == 0 &&
		    (!message || strcmp(idmefv2_report_message(r, i), message) == 0))
			return true;
	return false;
}

START_TEST(test_examples_invalid)
{
	char **files;
	size_t n = list_dir(EXAMPLES "/invalid", &files), checked = 0;

	ck_assert_uint_ge(n, 13);
	for (size_t i = 0; i < n; i++) {
		struct json_object *doc = json_object_from_file(files[i]);

		if (strstr(files[i], "appendix-B4")) {
			/* not well-formed JSON upstream */
			ck_assert_ptr_null(doc);
			checked++;
			free(files[i]);
			continue;
		}
		ck_assert_msg(doc != NULL, "%s does not parse", files[i]);
		if (ends_with(files[i], ".array.json")) {
			ck_assert(json_object_is_type(doc, json_type_array));
			for (size_t k = 0; k < json_object_array_length(doc); k++) {
				struct json_object *msg = json_object_array_get_idx(doc, k), *inner;

				/* the validator's exercises wrap each message as {"name","json"} */
				if (json_object_object_get_ex(msg, "json", &inner))
					msg = inner;
				idmefv2_report_free(validate_invalid(msg, files[i]));
			}
		} else {
			idmefv2_report *r = validate_invalid(doc, files[i]);

			if (strstr(files[i], "Cyb1")) {
				ck_assert_uint_eq(idmefv2_report_count(r), 2);
				ck_assert(report_has(r, "/Analyzer/Type", "#/properties/Analyzer/properties/Type/type",
				                     "\"Cyber\" is not of type \"array\""));
				ck_assert(report_has(r, "/Analyzer/Method/0", "#/definitions/analyzerMethodEnum/enum",
				                     "\"signature\" is not one of the analyzerMethodEnum values"));
			}
			if (strstr(files[i], "testserver-idmefv2.invalid")) {
				ck_assert_uint_eq(idmefv2_report_count(r), 5);
				ck_assert(report_has(r, "", "#/additionalProperties", "property \"foo\" is not allowed"));
				ck_assert(report_has(r, "", "#/required", "missing required property \"ID\""));
			}
			if (strstr(files[i], "appendix-B2")) {
				ck_assert(report_has(r, "/Target/1/IP", "#/definitions/ipType/pattern",
				                     "\"2001:db8::/32\" does not match the ipType pattern"));
				ck_assert(report_has(r, "/Target/0", "#/properties/Target/items/required",
				                     "missing required property \"ID\""));
				ck_assert(report_has(r, "/Type", "#/properties/Type/type", NULL));
			}
			idmefv2_report_free(r);
		}
		checked++;
		json_object_put(doc);
		free(files[i]);
	}
	free(files);
	ck_assert_uint_eq(checked, n);
}
END_TEST

START_TEST(test_exercise_botnet)
{
	struct json_object *doc = json_object_from_file(EXAMPLES "/invalid/JSON-Validator-Exercises.array.json");
	struct json_object *msg = NULL, *name, *inner;
	idmefv2_report *r = NULL;
	idmefv2_error rc;
	char err[512];

	ck_assert_ptr_nonnull(doc);
	for (size_t k = 0; k < json_object_array_length(doc); k++) {
		struct json_object *e = json_object_array_get_idx(doc, k);

		if (json_object_object_get_ex(e, "name", &name) &&
		    strcmp(json_object_get_string(name), "botnet-1.json") == 0 &&
		    json_object_object_get_ex(e, "json", &inner))
			msg = inner;
	}
	ck_assert_ptr_nonnull(msg);
	/* an unknown Version: no schema of its own */
	ck_assert_ptr_null(idmefv2_schema_for_version("2.J.V23", &rc, err, sizeof(err)));
	ck_assert_int_eq(rc, IDMEFV2_ERR_VERSION);
	ck_assert_int_eq(idmefv2_schema_validate(latest(), msg, 0, &r), IDMEFV2_ERR_INVALID);
	ck_assert(report_has(r, "/Version", "#/properties/Version/enum", "\"2.J.V23\" is not one of [\"2.D.V08\"]"));
	ck_assert(report_has(r, "/Analyzer/IP", "#/definitions/ipType/pattern",
	                     "\"192.168.300.1\" does not match the ipType pattern"));
	ck_assert(report_has(r, "/Confidence", "#/properties/Confidence/maximum", "1.3 is greater than the maximum 1"));
	ck_assert(report_has(r, "/Target/0/Port/0", "#/properties/Target/items/properties/Port/items/type",
	                     "\"22\" is not of type \"integer\""));
	ck_assert(report_has(r, "/Analyzer/Method/1", "#/definitions/analyzerMethodEnum/enum",
	                     "123 is not one of the analyzerMethodEnum values"));
	ck_assert(report_has(r, "/Source/0", "#/properties/Source/items/required", "missing required property \"ID\""));
	idmefv2_report_free(r);
	json_object_put(doc);
}
END_TEST

/* ---- the bench corpus ---- */

struct corpus {
	struct json_object **msgs;
	size_t n;
};

static void corpus_load(struct corpus *c, const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	c->msgs = NULL;
	c->n = 0;
	while ((len = getline(&line, &cap, f)) > 0) {
		struct json_object *o = json_tokener_parse(line);

		ck_assert_msg(o != NULL, "%s:%zu does not parse", path, c->n + 1);
		c->msgs = realloc(c->msgs, (c->n + 1) * sizeof(*c->msgs));
		ck_assert_ptr_nonnull(c->msgs);
		c->msgs[c->n++] = o;
	}
	free(line);
	fclose(f);
}

static void corpus_free(struct corpus *c)
{
	for (size_t i = 0; i < c->n; i++)
		json_object_put(c->msgs[i]);
	free(c->msgs);
}

START_TEST(test_bench_valid)
{
	struct corpus c;
	const idmefv2_schema *s = latest();

	corpus_load(&c, BENCH "/messages-v08-valid.ndjson");
	ck_assert_uint_eq(c.n, 2000);
	for (size_t i = 0; i < c.n; i++) {
		idmefv2_report *r = NULL;
		idmefv2_error rc = idmefv2_schema_validate(s, c.msgs[i], IDMEFV2_VALIDATE_DEFAULT, &r);

		ck_assert_msg(rc == IDMEFV2_OK, "line %zu: %s: %s", i + 1, r ? idmefv2_report_instance_path(r, 0) : "",
		              r ? idmefv2_report_message(r, 0) : "");
	}
	corpus_free(&c);
}
END_TEST

struct reason {
	char klass[64];
	char pointer[256];
	bool without_format;
};

static size_t load_reasons(struct reason **ret)
{
	FILE *f = fopen(BENCH "/messages-v08-invalid.reasons.txt", "r");
	char *line = NULL;
	size_t cap = 0, n = 0;

	ck_assert_ptr_nonnull(f);
	*ret = NULL;
	while (getline(&line, &cap, f) > 0) {
		char *fields[5] = {0}, *save = NULL, *tok;
		int k = 0;
		struct reason *r;

		if (line[0] == '#')
			continue;
		line[strcspn(line, "\n")] = '\0';
		for (tok = strtok_r(line, "\t", &save); tok && k < 5; tok = strtok_r(NULL, "\t", &save))
			fields[k++] = tok;
		ck_assert_int_ge(k, 4);
		ck_assert_uint_eq(strtoul(fields[0], NULL, 10), n + 1);
		*ret = realloc(*ret, (n + 1) * sizeof(**ret));
		ck_assert_ptr_nonnull(*ret);
		r = &(*ret)[n++];
		snprintf(r->klass, sizeof(r->klass), "%s", fields[1]);
		snprintf(r->pointer, sizeof(r->pointer), "%s", fields[2]);
		ck_assert(strcmp(fields[3], "yes") == 0 || strcmp(fields[3], "no") == 0);
		r->without_format = strcmp(fields[3], "yes") == 0;
	}
	free(line);
	fclose(f);
	return n;
}

/* Missing and extra properties are reported at the object that holds them. */
static void expected_pointer(const struct reason *r, char *buf, size_t size)
{
	snprintf(buf, size, "%s", r->pointer);
	if (strcmp(r->klass, "missing-required") == 0 || strcmp(r->klass, "additional-property") == 0) {
		char *slash = strrchr(buf, '/');

		ck_assert_ptr_nonnull(slash);
		*slash = '\0';
	}
}

/* @got is @array + "/N": the reasons file names an array, the report the
 * item in it that fails. */
static bool is_item_of(const char *got, const char *array)
{
	size_t n = strlen(array);
	const char *p;

	if (strncmp(got, array, n) != 0 || got[n] != '/' || !got[n + 1])
		return false;
	for (p = got + n + 1; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return true;
}

START_TEST(test_bench_invalid)
{
	struct corpus c;
	struct reason *reasons;
	const idmefv2_schema *s = latest();
	size_t n = load_reasons(&reasons), no_format_valid = 0, no_format_invalid = 0, exact = 0, item = 0;
	const char *got;

	corpus_load(&c, BENCH "/messages-v08-invalid.ndjson");
	ck_assert_uint_eq(c.n, 500);
	ck_assert_uint_eq(n, 500);
	for (size_t i = 0; i < c.n; i++) {
		idmefv2_report *r = NULL;
		char want[256];
		idmefv2_error rc = idmefv2_schema_validate(s, c.msgs[i], IDMEFV2_VALIDATE_DEFAULT, &r);

		expected_pointer(&reasons[i], want, sizeof(want));
		ck_assert_msg(rc == IDMEFV2_ERR_INVALID, "line %zu (%s) is valid", i + 1, reasons[i].klass);
		ck_assert_msg(idmefv2_report_count(r) == 1, "line %zu (%s): %zu errors, first %s", i + 1,
		              reasons[i].klass, idmefv2_report_count(r), idmefv2_report_message(r, 0));
		got = idmefv2_report_instance_path(r, 0);
		if (strcmp(got, want) == 0)
			exact++;
		else if (is_item_of(got, want))
			item++;
		else
			ck_abort_msg("line %zu (%s): at \"%s\", not \"%s\"", i + 1, reasons[i].klass, got, want);
		idmefv2_report_free(r);

		/* the verdict-only and first-error modes agree */
		ck_assert_int_eq(idmefv2_schema_validate(s, c.msgs[i], 0, NULL), IDMEFV2_ERR_INVALID);

		rc = idmefv2_schema_validate(s, c.msgs[i], IDMEFV2_VALIDATE_NO_FORMAT, NULL);
		if (reasons[i].without_format) {
			ck_assert_msg(rc == IDMEFV2_ERR_INVALID, "line %zu (%s) passes without formats", i + 1,
			              reasons[i].klass);
			no_format_invalid++;
		} else {
			ck_assert_msg(rc == IDMEFV2_OK, "line %zu (%s) fails without formats", i + 1, reasons[i].klass);
			no_format_valid++;
		}
	}
	/* the reasons name the array where the failing value is one of its items */
	ck_assert_uint_eq(exact, 467);
	ck_assert_uint_eq(item, 33);
	ck_assert_uint_eq(no_format_valid, 60);
	ck_assert_uint_eq(no_format_invalid, 440);
	free(reasons);
	corpus_free(&c);
}
END_TEST

/* Many threads on one built-in schema, each checking every verdict. */
struct thread_arg {
	struct corpus *valid;
	struct corpus *invalid;
	int failures;
};

static void *bench_thread(void *p)
{
	struct thread_arg *a = p;
	const idmefv2_schema *s = idmefv2_schema_for_version("2.D.V08", NULL, NULL, 0);

	for (size_t i = 0; i < a->valid->n; i++)
		if (idmefv2_schema_validate(s, a->valid->msgs[i], 0, NULL) != IDMEFV2_OK)
			a->failures++;
	for (size_t i = 0; i < a->invalid->n; i++) {
		idmefv2_report *r = NULL;

		if (idmefv2_schema_validate(s, a->invalid->msgs[i], 0, &r) != IDMEFV2_ERR_INVALID ||
		    idmefv2_report_count(r) != 1)
			a->failures++;
		idmefv2_report_free(r);
	}
	return NULL;
}

START_TEST(test_bench_threads)
{
	struct corpus valid, invalid;
	struct thread_arg args[4];
	pthread_t t[4];

	corpus_load(&valid, BENCH "/messages-v08-valid.ndjson");
	corpus_load(&invalid, BENCH "/messages-v08-invalid.ndjson");
	for (int i = 0; i < 4; i++) {
		args[i] = (struct thread_arg){&valid, &invalid, 0};
		ck_assert_int_eq(pthread_create(&t[i], NULL, bench_thread, &args[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(args[i].failures, 0);
	}
	corpus_free(&valid);
	corpus_free(&invalid);
}
END_TEST

START_TEST(test_every_builtin_compiles)
{
	const char *const *v = idmefv2_schema_versions();
	size_t n = 0;

	for (; *v; v++, n++) {
		idmefv2_error rc;
		char err[512];

		ck_assert_msg(idmefv2_schema_for_version(*v, &rc, err, sizeof(err)) != NULL, "%s: %s", *v, err);
	}
	ck_assert_uint_ge(n, 9);
}
END_TEST

static Suite *idmefv2_suite(void)
{
	Suite *s = suite_create("schema-idmefv2");
	TCase *e = tcase_create("examples");
	TCase *b = tcase_create("bench");

	tcase_add_test(e, test_every_builtin_compiles);
	tcase_add_test(e, test_examples_valid);
	tcase_add_test(e, test_examples_invalid);
	tcase_add_test(e, test_exercise_botnet);
	suite_add_tcase(s, e);
	tcase_set_timeout(b, 120);
	tcase_add_test(b, test_bench_valid);
	tcase_add_test(b, test_bench_invalid);
	tcase_add_test(b, test_bench_threads);
	suite_add_tcase(s, b);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(idmefv2_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
