/* SPDX-License-Identifier: Apache-2.0 */
/* The idmefv2 command, run for real: exit statuses, exact output lines. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include <idmefv2/common.h>

#define VALID_NDJSON TEST_DATA_DIR "/bench/messages-v08-valid.ndjson"
#define INVALID_NDJSON TEST_DATA_DIR "/bench/messages-v08-invalid.ndjson"
#define INVALID_REASONS TEST_DATA_DIR "/bench/messages-v08-invalid.reasons.txt"
#define INVALID_COUNT 500
#define MINIMAL_V05 TEST_DATA_DIR "/examples/valid/connectors-doc-minimal-idmefv2.V05.json"
#define SCHEMA_V08 SCHEMA_DIR "/IDMEFv2-2.D.V08.schema"
/*
 * Line 276 of the invalid corpus is a 2.D.V07 message (mutation "previous
 * schema version"): invalid for the V08 schema the corpus is made for, valid
 * for the schema of its own Version, which validate uses by default.
 */
#define OTHER_VERSION_LINE 276

struct run {
	int status;  /* exit status, or 128 + signal */
	char *out;
	char *err;
};

static char tmpdir[] = "/tmp/idmefv2-tool-test-XXXXXX";

static const char *tool_path(void)
{
	const char *env = getenv("IDMEFV2_TOOL");

	return env && *env ? env : IDMEFV2_TOOL_PATH;
}

static void setup(void)
{
	/* mkdtemp() fills the template in; restore it for the next test. */
	strcpy(tmpdir, "/tmp/idmefv2-tool-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
}

static char *tmp_path(const char *name)
{
	static char paths[8][512];
	static unsigned next;
	char *p = paths[next++ % 8];

	snprintf(p, sizeof(paths[0]), "%s/%s", tmpdir, name);
	return p;
}

static char *file_read(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static const char *file_write(const char *name, const char *text)
{
	char *path = tmp_path(name);
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, strlen(text), f), strlen(text));
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

/*
 * Run the tool with the NULL-terminated arguments; standard input from
 * @stdin_path (NULL: /dev/null), standard output and error captured.
 */
static void run_argv(struct run *r, const char *stdin_path, const char *const *args)
{
	char out_path[600], err_path[600];
	const char *argv[64];
	size_t argc = 0;
	pid_t pid;
	int wstatus;

	argv[argc++] = tool_path();
	for (; *args; args++) {
		ck_assert_uint_lt(argc, 63);
		argv[argc++] = *args;
	}
	argv[argc] = NULL;
	snprintf(out_path, sizeof(out_path), "%s/stdout", tmpdir);
	snprintf(err_path, sizeof(err_path), "%s/stderr", tmpdir);

	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int in = open(stdin_path ? stdin_path : "/dev/null", O_RDONLY);
		int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (in < 0 || out < 0 || err < 0)
			_exit(126);
		dup2(in, STDIN_FILENO);
		dup2(out, STDOUT_FILENO);
		dup2(err, STDERR_FILENO);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &wstatus, 0), pid);
	r->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
	r->out = file_read(out_path);
	r->err = file_read(err_path);
}

#define run(r, stdin_path, ...) \
	run_argv((r), (stdin_path), (const char *const[]){ __VA_ARGS__, NULL })

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (*s == '\n')
			n++;
	return n;
}

/* Whether @text has a line starting with @prefix. */
static bool has_line_prefix(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, prefix, n) == 0)
			return true;
	return false;
}

/* Marks in @seen[1..max] the N of every line "FILE:N: " of @text. */
static void lines_reported(const char *text, const char *file, bool *seen, size_t max)
{
	size_t flen = strlen(file);

	memset(seen, 0, (max + 1) * sizeof(*seen));
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		char *end;
		unsigned long n;

		ck_assert_msg(strncmp(p, file, flen) == 0 && p[flen] == ':', "unexpected line: %.120s", p);
		n = strtoul(p + flen + 1, &end, 10);
		ck_assert_msg(*end == ':' && n >= 1 && n <= max, "bad line number: %.120s", p);
		seen[n] = true;
	}
}

/*
 * Whether @text reports a failure on line @n of @file at @pointer or, when
 * @descendants, below it (the reasons file names a list where the validator
 * names the faulty item: /Category for /Category/0).
 */
static bool has_failure_at(const char *text, const char *file, size_t n, const char *pointer,
                           bool descendants)
{
	char prefix[600];
	size_t plen, ptrlen = strlen(pointer);

	snprintf(prefix, sizeof(prefix), "%s:%zu: %s", file, n, pointer);
	plen = strlen(prefix);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, prefix, plen) != 0)
			continue;
		if (strncmp(p + plen, ": ", 2) == 0)
			return true;
		if (descendants && ptrlen > 1 && p[plen] == '/')
			return true;
	}
	return false;
}

struct reason {
	char cls[64];
	char pointer[256];
	bool needs_format;
};

/* The mutation of each line of the invalid corpus, from the reasons file. */
static struct reason *reasons_load(void)
{
	struct reason *rs = calloc(INVALID_COUNT + 1, sizeof(*rs));
	FILE *f = fopen(INVALID_REASONS, "r");
	char line[2048];
	size_t n = 0;

	ck_assert_ptr_nonnull(rs);
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned no;
		char cls[64], ptr[256], det[8];

		if (line[0] == '#')
			continue;
		ck_assert_int_eq(sscanf(line, "%u\t%63[^\t]\t%255[^\t]\t%7[^\t]", &no, cls, ptr, det), 4);
		ck_assert_uint_le(no, INVALID_COUNT);
		strcpy(rs[no].cls, cls);
		strcpy(rs[no].pointer, ptr);
		rs[no].needs_format = strcmp(det, "no") == 0;
		n++;
	}
	fclose(f);
	ck_assert_uint_eq(n, INVALID_COUNT);
	return rs;
}

/*
 * The pointer the validator reports for a mutation: a missing or an extra
 * property is a fault of the object that holds it.
 */
static bool reported_at_parent(const struct reason *r)
{
	return strcmp(r->cls, "missing-required") == 0 || strcmp(r->cls, "additional-property") == 0;
}

static void expected_pointer(const struct reason *r, char *buf, size_t size)
{
	snprintf(buf, size, "%s", r->pointer);
	if (reported_at_parent(r)) {
		char *slash = strrchr(buf, '/');

		if (slash == buf)
			slash[1] = '\0';
		else if (slash)
			*slash = '\0';
	}
}

static const char *last_segment(const char *pointer)
{
	const char *slash = strrchr(pointer, '/');

	return slash ? slash + 1 : pointer;
}

/* ---- validate: the corpora --------------------------------------------------------- */

START_TEST(test_validate_valid_corpus)
{
	struct run r;
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	run(&r, NULL, "validate", VALID_NDJSON);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, "");
	ck_assert_str_eq(r.err, "2000 messages: 2000 valid, 0 invalid\n");
	/* For the record, not asserted: machines and sanitizers differ. */
	printf("validate: 2000 messages in %.3f s\n",
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	run_free(&r);
}
END_TEST

/* Against the V08 schema, as the corpus is meant: every line, every pointer. */
START_TEST(test_validate_invalid_corpus)
{
	struct reason *rs = reasons_load();
	bool seen[INVALID_COUNT + 1];
	struct run r;
	char ptr[256];

	run(&r, NULL, "validate", "--schema", SCHEMA_V08, INVALID_NDJSON);
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.err, "500 messages: 0 valid, 500 invalid\n");
	lines_reported(r.out, INVALID_NDJSON, seen, INVALID_COUNT);
	for (size_t i = 1; i <= INVALID_COUNT; i++) {
		ck_assert_msg(seen[i], "line %zu not reported", i);
		expected_pointer(&rs[i], ptr, sizeof(ptr));
		ck_assert_msg(has_failure_at(r.out, INVALID_NDJSON, i, ptr, !reported_at_parent(&rs[i])),
		              "line %zu (%s): no failure at %s", i, rs[i].cls, ptr);
	}
	/* A few exactly, from the reasons file. */
	ck_assert(has_line_prefix(r.out, INVALID_NDJSON ":1: /Source/0/Email: "));
	ck_assert(has_line_prefix(r.out, INVALID_NDJSON ":6: /Target/0/Port/0: "));
	ck_assert(has_line_prefix(r.out, INVALID_NDJSON ":10: /Analyzer/IP: "));
	ck_assert(has_line_prefix(r.out, INVALID_NDJSON ":4: /: "));
	ck_assert(has_line_prefix(r.out, INVALID_NDJSON ":276: /Version: "));
	run_free(&r);
	free(rs);
}
END_TEST

/* By the schema of each message's own Version: the 2.D.V07 message is valid. */
START_TEST(test_validate_invalid_corpus_by_version)
{
	struct reason *rs = reasons_load();
	bool seen[INVALID_COUNT + 1];
	struct run r;
	char ptr[256];

	ck_assert_str_eq(rs[OTHER_VERSION_LINE].pointer, "/Version");
	run(&r, NULL, "validate", INVALID_NDJSON);
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.err, "500 messages: 1 valid, 499 invalid\n");
	lines_reported(r.out, INVALID_NDJSON, seen, INVALID_COUNT);
	for (size_t i = 1; i <= INVALID_COUNT; i++) {
		if (i == OTHER_VERSION_LINE) {
			ck_assert_msg(!seen[i], "line %zu reported", i);
			continue;
		}
		ck_assert_msg(seen[i], "line %zu not reported", i);
		/* Another Version, another schema: the fault is found elsewhere. */
		if (strcmp(rs[i].pointer, "/Version") == 0)
			continue;
		expected_pointer(&rs[i], ptr, sizeof(ptr));
		ck_assert_msg(has_failure_at(r.out, INVALID_NDJSON, i, ptr, !reported_at_parent(&rs[i])),
		              "line %zu (%s): no failure at %s", i, rs[i].cls, ptr);
	}
	ck_assert(has_line_prefix(r.out, INVALID_NDJSON ":10: /Analyzer/IP: "));
	run_free(&r);
	free(rs);
}
END_TEST

/* A missing or extra property is named in the message of its object. */
START_TEST(test_validate_invalid_names_property)
{
	struct reason *rs = reasons_load();
	struct run r;
	char prefix[512], ptr[256];

	run(&r, NULL, "validate", "--first-error", "--schema", SCHEMA_V08, INVALID_NDJSON);
	ck_assert_int_eq(r.status, 1);
	ck_assert_uint_eq(count_lines(r.out), INVALID_COUNT);
	for (size_t i = 1; i <= INVALID_COUNT; i++) {
		const char *line, *eol;

		if (strcmp(rs[i].cls, "missing-required") && strcmp(rs[i].cls, "additional-property"))
			continue;
		expected_pointer(&rs[i], ptr, sizeof(ptr));
		snprintf(prefix, sizeof(prefix), "\n%s:%zu: %s: ", INVALID_NDJSON, i, ptr);
		line = strstr(r.out, prefix);
		if (!line && i == 1)
			line = strncmp(r.out, prefix + 1, strlen(prefix + 1)) == 0 ? r.out : NULL;
		ck_assert_msg(line != NULL, "line %zu: %s", i, prefix + 1);
		eol = strchr(line + 1, '\n');
		ck_assert_msg(memmem(line, (size_t)(eol - line), last_segment(rs[i].pointer),
		                     strlen(last_segment(rs[i].pointer))) != NULL,
		              "line %zu does not name %s", i, rs[i].pointer);
	}
	run_free(&r);
	free(rs);
}
END_TEST

START_TEST(test_validate_no_format)
{
	struct reason *rs = reasons_load();
	bool seen[INVALID_COUNT + 1];
	struct run r;

	run(&r, NULL, "validate", "--no-format", "--schema", SCHEMA_V08, INVALID_NDJSON);
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.err, "500 messages: 60 valid, 440 invalid\n");
	lines_reported(r.out, INVALID_NDJSON, seen, INVALID_COUNT);
	for (size_t i = 1; i <= INVALID_COUNT; i++)
		ck_assert_msg(seen[i] == !rs[i].needs_format, "line %zu (%s)", i, rs[i].cls);
	run_free(&r);

	run(&r, NULL, "validate", "--no-format", INVALID_NDJSON);
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.err, "500 messages: 61 valid, 439 invalid\n");
	lines_reported(r.out, INVALID_NDJSON, seen, INVALID_COUNT);
	for (size_t i = 1; i <= INVALID_COUNT; i++)
		ck_assert_msg(seen[i] == (!rs[i].needs_format && i != OTHER_VERSION_LINE),
		              "line %zu (%s)", i, rs[i].cls);
	run_free(&r);
	free(rs);
}
END_TEST

START_TEST(test_validate_against)
{
	struct run r;

	/* Held to 2.D.V08, the message that only claims 2.D.V07 is invalid too. */
	run(&r, NULL, "validate", "--quiet", "--against", "2.D.V08", INVALID_NDJSON);
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.err, "500 messages: 0 valid, 500 invalid\n");
	run_free(&r);

	run(&r, NULL, "validate", "--quiet", "--against", "2.D.V08", VALID_NDJSON);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.err, "2000 messages: 2000 valid, 0 invalid\n");
	run_free(&r);

	/* The V08 corpus is not valid V07. */
	run(&r, NULL, "validate", "--quiet", "--against", "2.D.V07", VALID_NDJSON);
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.err, "2000 messages: 0 valid, 2000 invalid\n");
	run_free(&r);

	run(&r, NULL, "validate", "--against", "2.D.V99", VALID_NDJSON);
	ck_assert_int_eq(r.status, 2);
	ck_assert(strstr(r.err, "unknown IDMEFv2 Version \"2.D.V99\"") != NULL);
	ck_assert(strstr(r.err, "\"2.D.V08\"") != NULL);
	run_free(&r);

	run(&r, NULL, "validate", "--against", "2.D.V08", "--schema", SCHEMA_V08, VALID_NDJSON);
	ck_assert_int_eq(r.status, 2);
	run_free(&r);
}
END_TEST

START_TEST(test_validate_first_error_quiet)
{
	struct run r;

	run(&r, NULL, "validate", "--first-error", INVALID_NDJSON);
	ck_assert_int_eq(r.status, 1);
	ck_assert_uint_eq(count_lines(r.out), INVALID_COUNT - 1);
	ck_assert_str_eq(r.err, "500 messages: 1 valid, 499 invalid\n");
	run_free(&r);

	run(&r, NULL, "validate", "-q", INVALID_NDJSON, VALID_NDJSON);
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.out, "");
	ck_assert_str_eq(r.err, "2500 messages: 2001 valid, 499 invalid\n");
	run_free(&r);
}
END_TEST

static void json_check_error_entry(struct json_object *e)
{
	static const char *const keys[] = { "instance", "schema", "keyword", "message" };

	ck_assert(json_object_is_type(e, json_type_object));
	ck_assert_int_eq(json_object_object_length(e), 4);
	for (size_t k = 0; k < 4; k++) {
		struct json_object *v;

		ck_assert_msg(json_object_object_get_ex(e, keys[k], &v), "no %s", keys[k]);
		ck_assert(v == NULL || json_object_is_type(v, json_type_string));
	}
	ck_assert(json_object_is_type(json_object_object_get(e, "message"), json_type_string));
}

START_TEST(test_validate_json)
{
	struct run r;
	char *line, *save = NULL;
	size_t records = 0;
	bool summary = false;

	run(&r, NULL, "validate", "--json", INVALID_NDJSON, VALID_NDJSON);
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.err, "2500 messages: 2001 valid, 499 invalid\n");
	for (line = strtok_r(r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct json_object *obj = json_tokener_parse(line), *v, *errors;

		ck_assert_msg(obj != NULL, "not JSON: %.100s", line);
		ck_assert(!summary);
		if (!json_object_object_get_ex(obj, "file", &v)) {
			summary = true;
			ck_assert_int_eq(json_object_get_int(json_object_object_get(obj, "messages")), 2500);
			ck_assert_int_eq(json_object_get_int(json_object_object_get(obj, "valid")), 2001);
			ck_assert_int_eq(json_object_get_int(json_object_object_get(obj, "invalid")), 499);
			ck_assert_int_eq(
				json_object_get_int(json_object_object_get(obj, "unreadable_files")), 0);
			json_object_put(obj);
			continue;
		}
		records++;
		ck_assert_str_eq(json_object_get_string(v), INVALID_NDJSON);
		/* In order, every line but the one valid for its own Version. */
		ck_assert_int_eq(json_object_get_int(json_object_object_get(obj, "line")),
		                 (int)(records < OTHER_VERSION_LINE ? records : records + 1));
		ck_assert(json_object_object_get_ex(obj, "valid", &v));
		ck_assert(json_object_is_type(v, json_type_boolean) && !json_object_get_boolean(v));
		ck_assert(json_object_object_get_ex(obj, "errors", &errors));
		ck_assert(json_object_is_type(errors, json_type_array));
		ck_assert_uint_ge(json_object_array_length(errors), 1);
		for (size_t i = 0; i < json_object_array_length(errors); i++)
			json_check_error_entry(json_object_array_get_idx(errors, i));
		if (records == 10) {
			struct json_object *e = json_object_array_get_idx(errors, 0);

			ck_assert_str_eq(json_object_get_string(json_object_object_get(e, "instance")),
			                 "/Analyzer/IP");
		}
		json_object_put(obj);
	}
	ck_assert_uint_eq(records, INVALID_COUNT - 1);
	ck_assert(summary);
	run_free(&r);
}
END_TEST

/* ---- validate: input forms --------------------------------------------------------- */

START_TEST(test_validate_stdin)
{
	struct run r;

	run(&r, INVALID_NDJSON, "validate", "-");
	ck_assert_int_eq(r.status, 1);
	ck_assert(has_line_prefix(r.out, "<stdin>:1: /Source/0/Email: "));
	ck_assert(has_line_prefix(r.out, "<stdin>:500: "));
	ck_assert_str_eq(r.err, "500 messages: 1 valid, 499 invalid\n");
	run_free(&r);

	/* No FILE reads standard input too. */
	run(&r, VALID_NDJSON, "validate");
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, "");
	ck_assert_str_eq(r.err, "2000 messages: 2000 valid, 0 invalid\n");
	run_free(&r);
}
END_TEST

START_TEST(test_validate_pretty_single)
{
	struct run r;
	const char *bad;

	/* Nine lines, one message, Version 2.D.V05: its own schema is used. */
	run(&r, NULL, "validate", MINIMAL_V05);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, "");
	ck_assert_str_eq(r.err, "1 message: 1 valid, 0 invalid\n");
	run_free(&r);

	run(&r, MINIMAL_V05, "validate");
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.err, "1 message: 1 valid, 0 invalid\n");
	run_free(&r);

	bad = file_write("pretty.json",
	                 "\n\n{\n"
	                 "  \"Version\": \"2.D.V08\",\n"
	                 "  \"ID\": \"056666c6-9c04-43dd-b6bf-3d99fe490b08\",\n"
	                 "  \"CreateTime\": \"1985-04-12T23:59:59.52Z\",\n"
	                 "  \"Analyzer\": {\n"
	                 "    \"Name\": \"foobar\",\n"
	                 "    \"IP\": \"10.0.0.300\"\n"
	                 "  }\n"
	                 "}\n");
	run(&r, NULL, "validate", "--first-error", bad);
	ck_assert_int_eq(r.status, 1);
	ck_assert_uint_eq(count_lines(r.out), 1);
	{
		char prefix[600];

		/* The line the message starts on, after two blank lines. */
		snprintf(prefix, sizeof(prefix), "%s:3: /Analyzer/IP: ", bad);
		ck_assert_msg(has_line_prefix(r.out, prefix), "got: %s", r.out);
	}
	ck_assert_str_eq(r.err, "1 message: 0 valid, 1 invalid\n");
	run_free(&r);
}
END_TEST

START_TEST(test_validate_all_examples)
{
	struct run r;

	/* Four Versions among them (V03, V04, V05): each by its own schema. */
	run(&r, NULL, "validate", TEST_DATA_DIR "/examples/valid/connectors-doc-attachment-idmefv2.V04.json",
	    TEST_DATA_DIR "/examples/valid/connectors-doc-minimal-idmefv2.V05.json",
	    TEST_DATA_DIR "/examples/valid/connectors-testserver-idmefv2.valid.V04.json",
	    TEST_DATA_DIR "/examples/valid/python-idmefv2-test_message-json1.V03.json");
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.err, "4 messages: 4 valid, 0 invalid\n");
	run_free(&r);

	run(&r, NULL, "validate", "-q",
	    TEST_DATA_DIR "/examples/invalid/draft-lehmann-idmefv2-08-appendix-B1-physical-intrusion.V07.json",
	    TEST_DATA_DIR "/examples/invalid/JSON-Validator-Exercises.array.json",
	    TEST_DATA_DIR "/examples/invalid/connectors-testserver-idmefv2.invalid.json");
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.out, "");
	ck_assert_str_eq(r.err, "3 messages: 0 valid, 3 invalid\n");
	run_free(&r);
}
END_TEST

static const char *valid_line(void)
{
	return "{\"Version\":\"2.D.V08\",\"ID\":\"056666c6-9c04-43dd-b6bf-3d99fe490b08\","
	       "\"CreateTime\":\"1985-04-12T23:59:59.52Z\",\"Analyzer\":{\"Name\":\"a\",\"IP\":\"127.0.0.1\"}}";
}

START_TEST(test_validate_malformed_line)
{
	char text[4096];
	const char *path;
	struct run r;

	snprintf(text, sizeof(text),
	         "%s\n"
	         "{\"Version\":\"2.D.V08\",\"ID\" 1}\n"
	         "\n"
	         "   \t\n"
	         "{\"Version\":\"2.D.V08\",\"ID\":\"056666c6-9c04-43dd-b6bf-3d99fe490b08\","
	         "\"CreateTime\":\"1985-04-12T23:59:59.52Z\",\"Analyzer\":{\"Name\":\"a\",\"IP\":\"127.0.0.300\"}}\n"
	         "%s\r\n"
	         "{\"Version\":\"2.D.V08\"\n"
	         "%s",
	         valid_line(), valid_line(), valid_line());
	path = file_write("mixed.ndjson", text);
	run(&r, NULL, "validate", path);
	ck_assert_int_eq(r.status, 1);
	{
		char expected[2048];

		snprintf(expected, sizeof(expected),
		         "%s:2: malformed JSON: line 2, column 27: object property name separator ':' expected\n"
		         "%s:5: /Analyzer/IP: ",
		         path, path);
		ck_assert_msg(strncmp(r.out, expected, strlen(expected)) == 0, "got: %s", r.out);
		snprintf(expected, sizeof(expected),
		         "%s:7: malformed JSON: line 7, column 21: unexpected end of data\n", path);
		ck_assert_msg(strstr(r.out, expected) != NULL, "got: %s", r.out);
	}
	ck_assert_uint_eq(count_lines(r.out), 3);
	ck_assert_str_eq(r.err, "6 messages: 3 valid, 3 invalid\n");
	run_free(&r);

	/* A broken multi-line document is one malformed message. */
	path = file_write("broken.json", "{\n  \"Version\": \"2.D.V08\",\n  \"ID\": ,\n}\n");
	run(&r, NULL, "validate", path);
	ck_assert_int_eq(r.status, 1);
	{
		char expected[1024];

		snprintf(expected, sizeof(expected),
		         "%s:1: malformed JSON: line 3, column 9: unexpected character\n", path);
		ck_assert_str_eq(r.out, expected);
	}
	ck_assert_str_eq(r.err, "1 message: 0 valid, 1 invalid\n");
	run_free(&r);

	/* A first line that is broken does not turn NDJSON into one document. */
	snprintf(text, sizeof(text), "{\"Version\n%s\n", valid_line());
	path = file_write("first.ndjson", text);
	run(&r, NULL, "validate", path);
	ck_assert_int_eq(r.status, 1);
	ck_assert_uint_eq(count_lines(r.out), 1);
	ck_assert(strstr(r.out, ":1: malformed JSON: line 1, column ") != NULL);
	ck_assert_str_eq(r.err, "2 messages: 1 valid, 1 invalid\n");
	run_free(&r);
}
END_TEST

START_TEST(test_validate_version)
{
	const char *path;
	struct run r;

	path = file_write("versions.ndjson",
	                  "{\"Version\":\"2.D.V99\",\"ID\":\"056666c6-9c04-43dd-b6bf-3d99fe490b08\"}\n"
	                  "{\"ID\":\"056666c6-9c04-43dd-b6bf-3d99fe490b08\"}\n"
	                  "[1,2]\n");
	run(&r, NULL, "validate", path);
	ck_assert_int_eq(r.status, 1);
	{
		char prefix[600];
		const char *l2;

		snprintf(prefix, sizeof(prefix), "%s:1: /Version: ", path);
		ck_assert_msg(strncmp(r.out, prefix, strlen(prefix)) == 0, "got: %s", r.out);
		ck_assert(strstr(r.out, "2.D.V99") != NULL);
		/* The known Versions are listed. */
		ck_assert(strstr(r.out, "\"2.0.3\"") != NULL);
		ck_assert(strstr(r.out, "\"2.D.V08\"") != NULL);
		ck_assert(strstr(r.out, "\"2.D.V09-Dev\"") != NULL);
		snprintf(prefix, sizeof(prefix), "\n%s:2: /: ", path);
		l2 = strstr(r.out, prefix);
		ck_assert_msg(l2 != NULL, "got: %s", r.out);
		ck_assert(strstr(l2, "2.D.V08") != NULL);
		snprintf(prefix, sizeof(prefix), "\n%s:3: /: not a JSON object but an array\n", path);
		ck_assert_msg(strstr(r.out, prefix) != NULL, "got: %s", r.out);
	}
	ck_assert_uint_eq(count_lines(r.out), 3);
	ck_assert_str_eq(r.err, "3 messages: 0 valid, 3 invalid\n");
	run_free(&r);
}
END_TEST

/* ---- validate: errors ---------------------------------------------------------------- */

START_TEST(test_validate_unreadable)
{
	struct run r;
	const char *missing = tmp_path("no-such-file.ndjson");
	char expected[1024];

	run(&r, NULL, "validate", missing, VALID_NDJSON);
	ck_assert_int_eq(r.status, 2);
	ck_assert_str_eq(r.out, "");
	snprintf(expected, sizeof(expected),
	         "idmefv2 validate: %s: No such file or directory\n"
	         "2000 messages: 2000 valid, 0 invalid, 1 file unreadable\n",
	         missing);
	ck_assert_str_eq(r.err, expected);
	run_free(&r);

	run(&r, NULL, "validate", tmpdir);
	ck_assert_int_eq(r.status, 2);
	snprintf(expected, sizeof(expected),
	         "idmefv2 validate: %s: Is a directory\n0 messages: 0 valid, 0 invalid, 1 file unreadable\n",
	         tmpdir);
	ck_assert_str_eq(r.err, expected);
	run_free(&r);
}
END_TEST

START_TEST(test_usage_errors)
{
	struct run r;

	run(&r, NULL, "validate", "--no-such-option", VALID_NDJSON);
	ck_assert_int_eq(r.status, 2);
	ck_assert_str_eq(r.out, "");
	ck_assert_str_eq(r.err, "idmefv2 validate: invalid option '--no-such-option'\n"
	                        "Try 'idmefv2 validate --help' for more information.\n");
	run_free(&r);

	run(&r, NULL, "validate", "-x");
	ck_assert_int_eq(r.status, 2);
	ck_assert_str_eq(r.err, "idmefv2 validate: invalid option '-x'\n"
	                        "Try 'idmefv2 validate --help' for more information.\n");
	run_free(&r);

	run(&r, NULL, "validate", "--schema");
	ck_assert_int_eq(r.status, 2);
	ck_assert_str_eq(r.err, "idmefv2 validate: option '--schema' requires an argument\n"
	                        "Try 'idmefv2 validate --help' for more information.\n");
	run_free(&r);

	run(&r, NULL, "frobnicate");
	ck_assert_int_eq(r.status, 2);
	ck_assert(strncmp(r.err, "idmefv2: unknown command 'frobnicate'\n", 38) == 0);
	run_free(&r);

	run(&r, NULL, "--bogus");
	ck_assert_int_eq(r.status, 2);
	run_free(&r);

	run(&r, NULL, "help", "frobnicate");
	ck_assert_int_eq(r.status, 2);
	run_free(&r);

	/* No command at all: the usage, on stderr. */
	run_argv(&r, NULL, (const char *const[]){ NULL });
	ck_assert_int_eq(r.status, 2);
	ck_assert_str_eq(r.out, "");
	ck_assert(strncmp(r.err, "Usage: idmefv2 ", 15) == 0);
	run_free(&r);
}
END_TEST

/* ---- validate --schema ----------------------------------------------------------------- */

START_TEST(test_validate_custom_schema)
{
	const char *schema, *data, *bad_schema;
	struct run r;
	char expected[2048];

	schema = file_write("n.schema.json",
	                    "{\"$schema\":\"http://json-schema.org/draft-04/schema#\",\n"
	                    " \"type\":\"object\",\"required\":[\"n\"],\n"
	                    " \"properties\":{\"n\":{\"type\":\"integer\",\"minimum\":0},\n"
	                    "               \"mail\":{\"type\":\"string\",\"format\":\"email\"}}}\n");
	data = file_write("n.ndjson",
	                  "{\"n\":1}\n"
	                  "{\"n\":-1}\n"
	                  "{}\n"
	                  "[1]\n"
	                  "{\"n\":2,\"mail\":\"not-an-address\"}\n"
	                  "null\n");
	run(&r, NULL, "validate", "--schema", schema, data);
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.err, "6 messages: 1 valid, 5 invalid\n");
	snprintf(expected, sizeof(expected), "%s:2: /n: ", data);
	ck_assert(has_line_prefix(r.out, expected));
	snprintf(expected, sizeof(expected), "%s:3: /: ", data);
	ck_assert(has_line_prefix(r.out, expected));
	snprintf(expected, sizeof(expected), "%s:4: /: ", data);
	ck_assert(has_line_prefix(r.out, expected));
	snprintf(expected, sizeof(expected), "%s:5: /mail: ", data);
	ck_assert(has_line_prefix(r.out, expected));
	snprintf(expected, sizeof(expected), "%s:6: /: ", data);
	ck_assert(has_line_prefix(r.out, expected));
	ck_assert_uint_eq(count_lines(r.out), 5);
	run_free(&r);

	run(&r, NULL, "validate", "--no-format", "--schema", schema, data);
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.err, "6 messages: 2 valid, 4 invalid\n");
	run_free(&r);

	/* IDMEFv2 messages need not be what the schema wants: no Version lookup. */
	run(&r, NULL, "validate", "--schema", schema, VALID_NDJSON);
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.err, "2000 messages: 0 valid, 2000 invalid\n");
	run_free(&r);

	bad_schema = tmp_path("missing.schema");
	run(&r, NULL, "validate", "--schema", bad_schema, data);
	ck_assert_int_eq(r.status, 2);
	ck_assert_str_eq(r.out, "");
	snprintf(expected, sizeof(expected), "idmefv2 validate: --schema %s", bad_schema);
	ck_assert_msg(strncmp(r.err, expected, strlen(expected)) == 0, "got: %s", r.err);
	ck_assert(strstr(r.err, "No such file or directory") != NULL);
	ck_assert_uint_eq(count_lines(r.err), 1);
	run_free(&r);

	bad_schema = file_write("bad.schema.json", "{\"type\":\"object\",\"minimum\":\"zero\"}");
	run(&r, NULL, "validate", "--schema", bad_schema, data);
	ck_assert_int_eq(r.status, 2);
	snprintf(expected, sizeof(expected), "idmefv2 validate: --schema %s: ", bad_schema);
	ck_assert_msg(strncmp(r.err, expected, strlen(expected)) == 0, "got: %s", r.err);
	ck_assert(strstr(r.err, "#/minimum") != NULL);
	run_free(&r);

	bad_schema = file_write("broken.schema.json", "{\"type\":");
	run(&r, NULL, "validate", "--schema", bad_schema, data);
	ck_assert_int_eq(r.status, 2);
	run_free(&r);
}
END_TEST

/* ---- new ------------------------------------------------------------------------------ */

START_TEST(test_new_validates)
{
	struct run r, v;
	const char *path;
	struct json_object *obj, *val;

	run(&r, NULL, "new", "--set", "Analyzer.Name=suricata", "--set", "Analyzer.IP=192.0.2.1",
	    "--set", "Analyzer.Category=[\"NET.NIDS\"]", "--set", "Source(0).IP=198.51.100.7",
	    "--set", "Source(0).ID=8c4b9e52-2d4e-4d0f-9d6f-6a1c0f5f2b11",
	    "--set", "Source(0).Port=[443, 8443]", "--set", "Confidence=0.5",
	    "--set", "Description=a = b");
	ck_assert_msg(r.status == 0, "status %d: %s", r.status, r.err);
	ck_assert_str_eq(r.err, "");
	ck_assert_uint_eq(count_lines(r.out), 1);
	obj = json_tokener_parse(r.out);
	ck_assert_ptr_nonnull(obj);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(obj, "Version")), "2.D.V08");
	ck_assert(json_object_object_get_ex(obj, "ID", &val));
	ck_assert_uint_eq(strlen(json_object_get_string(val)), 36);
	ck_assert(json_object_object_get_ex(obj, "CreateTime", NULL));
	ck_assert_str_eq(json_object_get_string(json_object_object_get(obj, "Description")), "a = b");
	ck_assert(json_object_is_type(json_object_object_get(obj, "Confidence"), json_type_double));
	val = json_object_object_get(json_object_object_get(obj, "Analyzer"), "Category");
	ck_assert(json_object_is_type(val, json_type_array));
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(val, 0)), "NET.NIDS");
	val = json_object_array_get_idx(json_object_object_get(obj, "Source"), 0);
	val = json_object_object_get(val, "Port");
	ck_assert_uint_eq(json_object_array_length(val), 2);
	ck_assert_int_eq(json_object_get_int(json_object_array_get_idx(val, 1)), 8443);
	json_object_put(obj);

	path = file_write("new.json", r.out);
	run(&v, path, "validate", "-");
	ck_assert_int_eq(v.status, 0);
	ck_assert_str_eq(v.err, "1 message: 1 valid, 0 invalid\n");
	run_free(&v);
	run_free(&r);

	/* Pretty output is several lines, still one message. */
	run(&r, NULL, "new", "--pretty", "--version", "2.D.V05", "--set", "Analyzer.Name=x",
	    "--set", "Analyzer.IP=127.0.0.1");
	ck_assert_msg(r.status == 0, "status %d: %s", r.status, r.err);
	ck_assert_uint_gt(count_lines(r.out), 4);
	ck_assert(strstr(r.out, "\"2.D.V05\"") != NULL);
	path = file_write("pretty-new.json", r.out);
	run(&v, path, "validate");
	ck_assert_int_eq(v.status, 0);
	ck_assert_str_eq(v.err, "1 message: 1 valid, 0 invalid\n");
	run_free(&v);
	run_free(&r);
}
END_TEST

START_TEST(test_new_auto_id)
{
	struct run r;

	/* Source requires an ID in 2.D.V08: one is made up unless refused. */
	run(&r, NULL, "new", "--set", "Analyzer.Name=x", "--set", "Source(0).IP=192.0.2.7");
	ck_assert_int_eq(r.status, 0);
	ck_assert(strstr(r.out, "\"Source\":[{\"IP\":\"192.0.2.7\",\"ID\":\"") != NULL);
	run_free(&r);

	run(&r, NULL, "new", "--no-auto-id", "--set", "Analyzer.Name=x", "--set", "Source(0).IP=192.0.2.7");
	ck_assert_int_eq(r.status, 1);
	ck_assert(strstr(r.err, "/Source/0: missing required property \"ID\"") != NULL);
	run_free(&r);

	/* An ID given is kept. */
	run(&r, NULL, "new", "--set", "Analyzer.Name=x", "--set",
	    "Target(0).ID=0193a2b4-6000-7000-8000-000000000009");
	ck_assert_int_eq(r.status, 0);
	ck_assert(strstr(r.out, "\"Target\":[{\"ID\":\"0193a2b4-6000-7000-8000-000000000009\"}]") != NULL);
	run_free(&r);

	/* 2.D.V07 requires Analyzer.ID. */
	run(&r, NULL, "new", "--version", "2.D.V07", "--set", "Analyzer.Name=x", "--set", "Analyzer.IP=192.0.2.1");
	ck_assert_int_eq(r.status, 0);
	ck_assert(strstr(r.out, "\"Analyzer\":{\"Name\":\"x\",\"IP\":\"192.0.2.1\",\"ID\":\"") != NULL);
	run_free(&r);
}
END_TEST

START_TEST(test_new_errors)
{
	struct run r;

	run(&r, NULL, "new", "--set", "Analyzer.Name=x", "--set", "Analyzer.Type=x");
	ck_assert_int_eq(r.status, 2);
	ck_assert_str_eq(r.out, "");
	ck_assert_msg(strncmp(r.err, "idmefv2 new: --set Analyzer.Type=x: ", 36) == 0, "got: %s", r.err);
	ck_assert(strstr(r.err + 36, "\"Type\"") != NULL);
	ck_assert(strstr(r.err + 36, "2.D.V08") != NULL);
	ck_assert_uint_eq(count_lines(r.err), 1);
	run_free(&r);

	run(&r, NULL, "new", "--set", "Analyzer.Name");
	ck_assert_int_eq(r.status, 2);
	ck_assert_str_eq(r.err, "idmefv2 new: --set Analyzer.Name: expected PATH=VALUE\n");
	run_free(&r);

	run(&r, NULL, "new", "--set", "Source(x).IP=1.2.3.4");
	ck_assert_int_eq(r.status, 2);
	ck_assert(strncmp(r.err, "idmefv2 new: --set Source(x).IP=1.2.3.4: ", 41) == 0);
	run_free(&r);

	run(&r, NULL, "new", "--version", "2.D.V99");
	ck_assert_int_eq(r.status, 2);
	ck_assert(strncmp(r.err, "idmefv2 new: --version 2.D.V99: ", 32) == 0);
	ck_assert(strstr(r.err, "2.D.V08") != NULL);
	run_free(&r);

	run(&r, NULL, "new", "stray");
	ck_assert_int_eq(r.status, 2);
	run_free(&r);

	run(&r, NULL, "new", "--bogus");
	ck_assert_int_eq(r.status, 2);
	ck_assert(strstr(r.err, "Try 'idmefv2 new --help'") != NULL);
	run_free(&r);

	/* Analyzer is required: invalid, nothing printed. */
	run(&r, NULL, "new");
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.out, "");
	ck_assert(has_line_prefix(r.err, "/: "));
	ck_assert(strstr(r.err, "Analyzer") != NULL);
	run_free(&r);

	run(&r, NULL, "new", "--set", "Analyzer.Name=x", "--set", "Analyzer.IP=300.1.1.1");
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.out, "");
	ck_assert(has_line_prefix(r.err, "/Analyzer/IP: "));
	run_free(&r);

	run(&r, NULL, "new", "--set", "Analyzer.Name=x", "--set", "Version=2.D.V99");
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.out, "");
	ck_assert(has_line_prefix(r.err, "/Version: "));
	ck_assert(strstr(r.err, "2.D.V99") != NULL);
	run_free(&r);

	/* ... unless asked. */
	run(&r, NULL, "new", "--no-validate");
	ck_assert_int_eq(r.status, 0);
	ck_assert(strstr(r.out, "\"Analyzer\"") == NULL);
	ck_assert(strstr(r.out, "\"Version\"") != NULL);
	run_free(&r);
}
END_TEST

/* ---- help and version --------------------------------------------------------------- */

START_TEST(test_help_version)
{
	struct run r, r2;
	char expected[128];

	run(&r, NULL, "--help");
	ck_assert_int_eq(r.status, 0);
	ck_assert(strncmp(r.out, "Usage: idmefv2 COMMAND", 22) == 0);
	ck_assert(strstr(r.out, "\n  validate ") != NULL);
	ck_assert(strstr(r.out, "\n  new ") != NULL);
	ck_assert(strstr(r.out, "\n  help ") != NULL);
	run_free(&r);

	run(&r, NULL, "help", "validate");
	run(&r2, NULL, "validate", "--help");
	ck_assert_int_eq(r.status, 0);
	ck_assert_int_eq(r2.status, 0);
	ck_assert_str_eq(r.out, r2.out);
	for (const char *const *o = (const char *const[]){ "--schema FILE", "--no-format",
	                                                    "--first-error", "--json", "--quiet",
	                                                    "--help", "--version", "Exit status:",
	                                                    "  2  ", NULL };
	     *o; o++)
		ck_assert_msg(strstr(r.out, *o) != NULL, "validate help lacks %s", *o);
	run_free(&r2);
	run_free(&r);

	run(&r, NULL, "help", "new");
	ck_assert_int_eq(r.status, 0);
	ck_assert(strstr(r.out, "--set PATH=VALUE") != NULL);
	ck_assert(strstr(r.out, "Exit status:") != NULL);
	run_free(&r);

	snprintf(expected, sizeof(expected), "idmefv2 %s\n", idmefv2_version_string());
	run(&r, NULL, "--version");
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, expected);
	run_free(&r);
	run(&r, NULL, "validate", "--version");
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, expected);
	run_free(&r);
}
END_TEST

/* Without a terminal there is no progress line, even on a long run. */
START_TEST(test_no_progress_without_tty)
{
	struct run r;

	run(&r, NULL, "validate", VALID_NDJSON, VALID_NDJSON, VALID_NDJSON, VALID_NDJSON);
	ck_assert_int_eq(r.status, 0);
	ck_assert(strchr(r.err, '\r') == NULL);
	ck_assert_str_eq(r.err, "8000 messages: 8000 valid, 0 invalid\n");
	run_free(&r);
}
END_TEST

static Suite *tool_suite(void)
{
	Suite *s = suite_create("idmefv2-tool");
	TCase *tc = tcase_create("validate");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_validate_valid_corpus);
	tcase_add_test(tc, test_validate_invalid_corpus);
	tcase_add_test(tc, test_validate_invalid_corpus_by_version);
	tcase_add_test(tc, test_validate_invalid_names_property);
	tcase_add_test(tc, test_validate_no_format);
	tcase_add_test(tc, test_validate_against);
	tcase_add_test(tc, test_validate_first_error_quiet);
	tcase_add_test(tc, test_validate_json);
	tcase_add_test(tc, test_validate_stdin);
	tcase_add_test(tc, test_validate_pretty_single);
	tcase_add_test(tc, test_validate_all_examples);
	tcase_add_test(tc, test_validate_malformed_line);
	tcase_add_test(tc, test_validate_version);
	tcase_add_test(tc, test_validate_unreadable);
	tcase_add_test(tc, test_usage_errors);
	tcase_add_test(tc, test_validate_custom_schema);
	tcase_add_test(tc, test_no_progress_without_tty);
	suite_add_tcase(s, tc);

	tc = tcase_create("new");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_new_validates);
	tcase_add_test(tc, test_new_errors);
	tcase_add_test(tc, test_new_auto_id);
	tcase_add_test(tc, test_help_version);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(tool_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
