/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Runs the JSON-Schema-Test-Suite draft-04 cases (the required ones and the
 * optional format, ecmascript-regex, zeroTerminatedFloats and bignum files)
 * through the validator. The suite's remotes/ are served from a registry
 * under http://localhost:1234/, so nothing touches the network.
 *
 * Usage: conformance SUITE_DIR   (exit 77 when SUITE_DIR does not exist)
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include <idmefv2/schema.h>

static const char *const optional_files[] = {
	"format.json",
	"ecmascript-regex.json",
	"zeroTerminatedFloats.json",
	"bignum.json",
};

static unsigned long passed, failed;

static int add_remotes(idmefv2_schema_registry *reg, const char *dir, const char *rel)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = 0;

	if (!d) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return -1;
	}
	while (rc == 0 && (e = readdir(d))) {
		char path[4096], relpath[4096];
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		snprintf(relpath, sizeof(relpath), "%s%s%s", rel, *rel ? "/" : "", e->d_name);
		if (stat(path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			rc = add_remotes(reg, path, relpath);
		} else if (strlen(e->d_name) > 5 && strcmp(e->d_name + strlen(e->d_name) - 5, ".json") == 0) {
			struct json_object *doc = json_object_from_file(path);
			char uri[4200];

			if (!doc) {
				fprintf(stderr, "%s: not JSON\n", path);
				rc = -1;
				break;
			}
			snprintf(uri, sizeof(uri), "http://localhost:1234/%s", relpath);
			if (idmefv2_schema_registry_add(reg, uri, doc) != IDMEFV2_OK)
				rc = -1;
			json_object_put(doc);
		}
	}
	closedir(d);
	return rc;
}

static void report_failure(const char *file, const char *group, const char *test, const char *why)
{
	failed++;
	printf("FAIL %s: %s: %s", file, group, test);
	if (why && *why)
		printf(" (%s)", why);
	printf("\n");
}

/* One case passes when every way of asking agrees with "valid". */
static void run_case(const char *file, const char *group, const idmefv2_schema *schema,
                     struct json_object *test)
{
	struct json_object *desc, *data, *valid;
	idmefv2_report *report = NULL;
	idmefv2_error rc;
	bool expect;
	const char *name;

	if (!json_object_object_get_ex(test, "description", &desc) ||
	    !json_object_object_get_ex(test, "data", &data) ||
	    !json_object_object_get_ex(test, "valid", &valid)) {
		report_failure(file, group, "?", "malformed test case");
		return;
	}
	name = json_object_get_string(desc);
	expect = json_object_get_boolean(valid);

	rc = idmefv2_schema_validate(schema, data, IDMEFV2_VALIDATE_DEFAULT, NULL);
	if (rc != (expect ? IDMEFV2_OK : IDMEFV2_ERR_INVALID)) {
		report_failure(file, group, name, expect ? "rejected" : "accepted");
		return;
	}
	rc = idmefv2_schema_validate(schema, data, IDMEFV2_VALIDATE_DEFAULT, &report);
	if (rc != (expect ? IDMEFV2_OK : IDMEFV2_ERR_INVALID) ||
	    (!expect && (!report || idmefv2_report_count(report) == 0)) || (expect && report)) {
		report_failure(file, group, name, "the reporting mode disagrees");
		idmefv2_report_free(report);
		return;
	}
	idmefv2_report_free(report);
	report = NULL;
	rc = idmefv2_schema_validate(schema, data, IDMEFV2_VALIDATE_FIRST_ERROR, &report);
	if (rc != (expect ? IDMEFV2_OK : IDMEFV2_ERR_INVALID) ||
	    (!expect && (!report || idmefv2_report_count(report) != 1))) {
		report_failure(file, group, name, "the first-error mode disagrees");
		idmefv2_report_free(report);
		return;
	}
	idmefv2_report_free(report);
	passed++;
}

static int run_file(const char *path, const char *label, const idmefv2_schema_registry *reg)
{
	struct json_object *groups = json_object_from_file(path);
	size_t ngroups;

	if (!groups || !json_object_is_type(groups, json_type_array)) {
		fprintf(stderr, "%s: not a JSON array of test groups\n", path);
		json_object_put(groups);
		failed++;
		return -1;
	}
	ngroups = json_object_array_length(groups);
	for (size_t g = 0; g < ngroups; g++) {
		struct json_object *group = json_object_array_get_idx(groups, g);
		struct json_object *desc, *schema_json, *tests;
		idmefv2_schema *schema = NULL;
		const char *gname;
		char err[512];
		size_t ntests;

		if (!json_object_object_get_ex(group, "description", &desc) ||
		    !json_object_object_get_ex(group, "schema", &schema_json) ||
		    !json_object_object_get_ex(group, "tests", &tests)) {
			report_failure(label, "?", "?", "malformed test group");
			continue;
		}
		gname = json_object_get_string(desc);
		ntests = json_object_array_length(tests);
		if (idmefv2_schema_compile(schema_json, NULL, reg, &schema, err, sizeof(err)) != IDMEFV2_OK) {
			for (size_t t = 0; t < ntests; t++) {
				struct json_object *td;
				struct json_object *test = json_object_array_get_idx(tests, t);

				report_failure(label, gname,
				               json_object_object_get_ex(test, "description", &td) ?
				                       json_object_get_string(td) : "?",
				               err);
			}
			continue;
		}
		for (size_t t = 0; t < ntests; t++)
			run_case(label, gname, schema, json_object_array_get_idx(tests, t));
		idmefv2_schema_unref(schema);
	}
	json_object_put(groups);
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	char dir[4096], path[4200], label[4200];
	idmefv2_schema_registry *reg;
	struct stat st;
	struct dirent *e;
	char **names = NULL;
	size_t n = 0;
	DIR *d;

	if (argc != 2) {
		fprintf(stderr, "usage: %s JSON-SCHEMA-TEST-SUITE-DIR\n", argv[0]);
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s/tests/draft4", argv[1]);
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		printf("%s not found: skipped\n", dir);
		return 77;
	}
	reg = idmefv2_schema_registry_new();
	snprintf(path, sizeof(path), "%s/remotes", argv[1]);
	if (!reg || add_remotes(reg, path, "") < 0) {
		fprintf(stderr, "cannot load the remotes of %s\n", argv[1]);
		idmefv2_schema_registry_free(reg);
		return 1;
	}

	d = opendir(dir);
	if (!d) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return 1;
	}
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		char **p;

		if (len <= 5 || strcmp(e->d_name + len - 5, ".json") != 0)
			continue;
		p = realloc(names, (n + 1) * sizeof(*names));
		if (!p)
			return 1;
		names = p;
		names[n] = strdup(e->d_name);
		if (!names[n])
			return 1;
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		run_file(path, names[i], reg);
		free(names[i]);
	}
	free(names);
	for (size_t i = 0; i < sizeof(optional_files) / sizeof(optional_files[0]); i++) {
		snprintf(path, sizeof(path), "%s/optional/%s", dir, optional_files[i]);
		snprintf(label, sizeof(label), "optional/%s", optional_files[i]);
		run_file(path, label, reg);
	}
	idmefv2_schema_registry_free(reg);

	printf("%lu passed, %lu failed\n", passed, failed);
	return failed ? 1 : 0;
}
