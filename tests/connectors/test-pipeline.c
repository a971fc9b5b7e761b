/* SPDX-License-Identifier: Apache-2.0 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include <idmefv2/mapping.h>
#include <idmefv2/pipeline.h>
#include <idmefv2/transport.h>

static const char template_text[] =
	"{\"$filter\": {\"$ne\": [\"$.event_type\", \"stats\"]},"
	" \"Version\": \"2.D.V08\", \"ID\": {\"$fn\": \"uuid\", \"args\": []},"
	" \"CreateTime\": \"$.timestamp\", \"Description\": \"$.alert.signature\","
	" \"Analyzer\": {\"Name\": \"suricata\", \"IP\": {\"$path\": \"$.host\", \"missing\": \"reject\"}}}";

/* 7 non-blank lines: 3 convert, 1 filtered, 2 malformed, 2 invalid (bad IP, rejected by the mapping). */
static const char *const lines[] = {
	"{\"timestamp\":\"2025-05-12T06:00:00Z\",\"event_type\":\"alert\",\"alert\":{\"signature\":\"one\"},\"host\":\"10.0.0.1\"}\n",
	"{\"event_type\":\"stats\",\"host\":\"10.0.0.1\"}",
	"{bad json\r\n",
	"{\"timestamp\":\"2025-05-12T06:00:01Z\",\"event_type\":\"alert\",\"alert\":{\"signature\":\"two\"},\"host\":\"10.0.0.2\"}\r\n",
	"{\"timestamp\":\"2025-05-12T06:00:02Z\",\"event_type\":\"alert\",\"host\":\"10.0.0.300\"}",
	"[1, 2]",
	"{\"timestamp\":\"2025-05-12T06:00:03Z\",\"event_type\":\"alert\"}",
	"{\"timestamp\":\"2025-05-12T06:00:04Z\",\"event_type\":\"alert\",\"alert\":{\"signature\":\"three\"},\"host\":\"10.0.0.4\"}",
};
#define N_LINES (sizeof(lines) / sizeof(lines[0]))

static idmefv2_mapping *compile(void)
{
	struct json_object *tmpl = json_tokener_parse(template_text);
	idmefv2_mapping *m = NULL;
	char err[512] = "";

	ck_assert_ptr_nonnull(tmpl);
	ck_assert_msg(idmefv2_mapping_compile_json("t", tmpl, &m, err, sizeof(err)) == IDMEFV2_OK, "%s", err);
	json_object_put(tmpl);
	return m;
}

struct collect {
	char log[8192];
	int outputs;
	char descriptions[256];
};

static void collect_log(idmefv2_log_level level, const char *message, void *user_data)
{
	struct collect *c = user_data;

	(void)level;
	strncat(c->log, message, sizeof(c->log) - strlen(c->log) - 2);
	strcat(c->log, "\n");
}

static idmefv2_error collect_output(idmefv2_pipeline *p, struct json_object *output, void *user_data)
{
	struct collect *c = user_data;
	struct json_object *d;

	(void)p;
	c->outputs++;
	if (json_object_object_get_ex(output, "Description", &d)) {
		strncat(c->descriptions, json_object_get_string(d), sizeof(c->descriptions) - strlen(c->descriptions) - 2);
		strcat(c->descriptions, ",");
	}
	/* The second output is refused, to exercise the failed counter. */
	return c->outputs == 2 ? IDMEFV2_ERR_IO : IDMEFV2_OK;
}

static void make_tmpdir(char *dir, size_t size)
{
	snprintf(dir, size, "/tmp/test-pipeline-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void remove_tree(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	buf = calloc(1, 1 << 16);
	ck_assert_ptr_nonnull(buf);
	n = fread(buf, 1, (1 << 16) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void push_all(idmefv2_pipeline *p, idmefv2_pipeline_result *results)
{
	for (size_t i = 0; i < N_LINES; i++)
		ck_assert_int_eq(idmefv2_pipeline_push_line(p, lines[i], strlen(lines[i]), "in.ndjson", i + 1,
		                                            &results[i]), IDMEFV2_OK);
}

START_TEST(test_counters_and_dead_letter)
{
	idmefv2_mapping *m = compile();
	idmefv2_pipeline *p = NULL;
	idmefv2_pipeline_counters ctr;
	idmefv2_pipeline_result res[N_LINES];
	struct collect c = { 0 };
	char dir[64], dl[128], err[512] = "";
	char *text, *nl;
	struct json_object *rec, *v;

	make_tmpdir(dir, sizeof(dir));
	snprintf(dl, sizeof(dl), "%s/dead.ndjson", dir);
	ck_assert_int_eq(idmefv2_pipeline_new(m, NULL, &p, err, sizeof(err)), IDMEFV2_OK);
	idmefv2_pipeline_set_log_cb(p, collect_log, &c);
	idmefv2_pipeline_set_output_cb(p, collect_output, &c);
	ck_assert_int_eq(idmefv2_pipeline_set_dead_letter(p, dl, err, sizeof(err)), IDMEFV2_OK);
	push_all(p, res);

	ck_assert_int_eq(res[0], IDMEFV2_PIPELINE_CONVERTED);
	ck_assert_int_eq(res[1], IDMEFV2_PIPELINE_FILTERED);
	ck_assert_int_eq(res[2], IDMEFV2_PIPELINE_MALFORMED);
	ck_assert_int_eq(res[3], IDMEFV2_PIPELINE_CONVERTED);
	ck_assert_int_eq(res[4], IDMEFV2_PIPELINE_INVALID);
	ck_assert_int_eq(res[5], IDMEFV2_PIPELINE_MALFORMED);
	ck_assert_int_eq(res[6], IDMEFV2_PIPELINE_INVALID);
	ck_assert_int_eq(res[7], IDMEFV2_PIPELINE_CONVERTED);

	idmefv2_pipeline_get_counters(p, &ctr);
	ck_assert_uint_eq(ctr.read, 8);
	ck_assert_uint_eq(ctr.malformed, 2);
	ck_assert_uint_eq(ctr.filtered, 1);
	ck_assert_uint_eq(ctr.converted, 3);
	ck_assert_uint_eq(ctr.invalid, 2);
	ck_assert_uint_eq(ctr.sent, 2);
	ck_assert_uint_eq(ctr.failed, 1);
	ck_assert_str_eq(c.descriptions, "one,two,three,");

	ck_assert_msg(strstr(c.log, "in.ndjson:3: malformed JSON: line 1") != NULL, "%s", c.log);
	ck_assert_msg(strstr(c.log, "in.ndjson:5: invalid output: /Analyzer/IP: ") != NULL, "%s", c.log);
	ck_assert_msg(strstr(c.log, "in.ndjson:6: malformed JSON: not a JSON object") != NULL, "%s", c.log);
	ck_assert_msg(strstr(c.log, "in.ndjson:7: mapping failed: ") != NULL, "%s", c.log);
	ck_assert_msg(strstr(c.log, "in.ndjson:4: output refused") != NULL, "%s", c.log);

	/* Four dead-letter records, in order: two malformed lines (as read), the invalid output, the refused mapping. */
	text = slurp(dl);
	{
		struct json_object *recs[4] = { NULL };
		char *s = text;
		size_t n = 0;

		while ((nl = strchr(s, '\n')) && n < 5) {
			*nl = '\0';
			ck_assert_uint_lt(n, 4);
			recs[n] = json_tokener_parse(s);
			ck_assert_ptr_nonnull(recs[n]);
			n++;
			s = nl + 1;
		}
		ck_assert_uint_eq(n, 4);
		ck_assert_str_eq(s, "");
		rec = recs[0];
		ck_assert(json_object_object_get_ex(rec, "line", &v) && json_object_get_int(v) == 3);
		ck_assert(json_object_object_get_ex(rec, "error", &v));
		ck_assert_ptr_nonnull(strstr(json_object_get_string(v), "malformed JSON: line 1"));
		ck_assert(json_object_object_get_ex(rec, "input", &v) && json_object_is_type(v, json_type_string));
		ck_assert_str_eq(json_object_get_string(v), "{bad json");
		rec = recs[1];
		ck_assert(json_object_object_get_ex(rec, "line", &v) && json_object_get_int(v) == 5);
		ck_assert(json_object_object_get_ex(rec, "origin", &v));
		ck_assert_str_eq(json_object_get_string(v), "in.ndjson");
		ck_assert(json_object_object_get_ex(rec, "error", &v));
		ck_assert_ptr_nonnull(strstr(json_object_get_string(v), "/Analyzer/IP"));
		ck_assert(json_object_object_get_ex(rec, "output", &v));
		ck_assert(json_object_object_get_ex(v, "Analyzer", &v) && json_object_object_get_ex(v, "IP", &v));
		ck_assert_str_eq(json_object_get_string(v), "10.0.0.300");
		ck_assert(json_object_object_get_ex(rec, "input", &v) && json_object_object_get_ex(v, "host", &v));
		rec = recs[2];
		ck_assert(json_object_object_get_ex(rec, "line", &v) && json_object_get_int(v) == 6);
		ck_assert(json_object_object_get_ex(rec, "input", &v));
		ck_assert_str_eq(json_object_get_string(v), "[1, 2]");
		rec = recs[3];
		ck_assert(json_object_object_get_ex(rec, "line", &v) && json_object_get_int(v) == 7);
		ck_assert(!json_object_object_get_ex(rec, "output", NULL));
		for (size_t i = 0; i < 4; i++)
			json_object_put(recs[i]);
	}
	free(text);

	idmefv2_pipeline_free(p);
	idmefv2_mapping_free(m);
	remove_tree(dir);
}
END_TEST

START_TEST(test_push_object_and_bad_version)
{
	idmefv2_mapping *m = compile();
	idmefv2_pipeline *p = NULL;
	idmefv2_pipeline_counters ctr;
	idmefv2_pipeline_result r;
	struct json_object *in;
	char err[512] = "";

	ck_assert_int_eq(idmefv2_pipeline_new(m, "9.9", &p, err, sizeof(err)), IDMEFV2_ERR_VERSION);
	ck_assert_ptr_null(p);
	ck_assert_int_eq(idmefv2_pipeline_new(m, "2.D.V08", &p, err, sizeof(err)), IDMEFV2_OK);
	in = json_tokener_parse(lines[0]);
	ck_assert_int_eq(idmefv2_pipeline_push_object(p, in, NULL, 0, &r), IDMEFV2_OK);
	ck_assert_int_eq(r, IDMEFV2_PIPELINE_CONVERTED);
	json_object_put(in);
	in = json_object_new_int(3);
	ck_assert_int_eq(idmefv2_pipeline_push_object(p, in, NULL, 0, &r), IDMEFV2_OK);
	ck_assert_int_eq(r, IDMEFV2_PIPELINE_MALFORMED);
	json_object_put(in);
	idmefv2_pipeline_get_counters(p, &ctr);
	/* No output configured: converted but neither sent nor failed. */
	ck_assert_uint_eq(ctr.read, 2);
	ck_assert_uint_eq(ctr.converted, 1);
	ck_assert_uint_eq(ctr.malformed, 1);
	ck_assert_uint_eq(ctr.sent + ctr.failed, 0);
	idmefv2_pipeline_free(p);
	idmefv2_mapping_free(m);
}
END_TEST

static int count_files(const char *dir, const char *suffix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name), sl = strlen(suffix);

		if (e->d_name[0] != '.' && l > sl && strcmp(e->d_name + l - sl, suffix) == 0)
			n++;
	}
	closedir(d);
	return n;
}

START_TEST(test_file_transport)
{
	idmefv2_mapping *m = compile();
	idmefv2_pipeline *p = NULL;
	idmefv2_transport *t = NULL;
	idmefv2_pipeline_counters ctr;
	idmefv2_pipeline_result res[N_LINES];
	char dir[64], url[128], err[512] = "";

	make_tmpdir(dir, sizeof(dir));
	snprintf(url, sizeof(url), "file://%s", dir);
	ck_assert_int_eq(idmefv2_transport_new(url, IDMEFV2_TRANSPORT_SENDER, &t, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_pipeline_new(m, NULL, &p, err, sizeof(err)), IDMEFV2_OK);
	idmefv2_pipeline_set_transport(p, t);
	ck_assert_msg(idmefv2_transport_start(t, err, sizeof(err)) == IDMEFV2_OK, "%s", err);
	push_all(p, res);
	ck_assert_int_eq(idmefv2_transport_flush(t, 10000), IDMEFV2_OK);
	idmefv2_transport_stop(t);
	idmefv2_pipeline_get_counters(p, &ctr);
	ck_assert_uint_eq(ctr.converted, 3);
	ck_assert_uint_eq(ctr.sent, 3);
	ck_assert_uint_eq(ctr.failed, 0);
	ck_assert_int_eq(count_files(dir, ".json"), 3);
	idmefv2_transport_free(t);
	idmefv2_pipeline_free(p);
	idmefv2_mapping_free(m);
	remove_tree(dir);
}
END_TEST

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

static int run(const char *cmd)
{
	int st = system(cmd);

	ck_assert_msg(st != -1 && WIFEXITED(st), "%s did not exit", cmd);
	return WEXITSTATUS(st);
}

START_TEST(test_convert_program)
{
	char dir[64], path[256], cmd[1024];
	char *out, *errtext, *nl;
	struct json_object *o, *v;
	int n = 0;
	FILE *f;

	make_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/t.json", dir);
	write_file(path, template_text);
	snprintf(path, sizeof(path), "%s/in.ndjson", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	for (size_t i = 0; i < N_LINES; i++) {
		fputs(lines[i], f);
		if (lines[i][strlen(lines[i]) - 1] != '\n')
			fputc('\n', f);
		if (i == 1)
			fputs("\n", f); /* a blank line, skipped but numbered */
	}
	fclose(f);

	snprintf(cmd, sizeof(cmd), "cd '%s' && '%s' convert --template t.json in.ndjson >out 2>err", dir, IDMEFV2_TOOL);
	ck_assert_int_eq(run(cmd), 1);
	snprintf(path, sizeof(path), "%s/out", dir);
	out = slurp(path);
	for (char *s = out; (nl = strchr(s, '\n')); s = nl + 1) {
		*nl = '\0';
		o = json_tokener_parse(s);
		ck_assert_msg(o != NULL, "bad output line %s", s);
		ck_assert(json_object_object_get_ex(o, "Version", &v));
		ck_assert_str_eq(json_object_get_string(v), "2.D.V08");
		json_object_put(o);
		n++;
	}
	ck_assert_int_eq(n, 3);
	free(out);
	snprintf(path, sizeof(path), "%s/err", dir);
	errtext = slurp(path);
	ck_assert_msg(strstr(errtext, "in.ndjson:4: malformed JSON: line 1") != NULL, "%s", errtext);
	ck_assert_msg(strstr(errtext, "in.ndjson:6: invalid output: /Analyzer/IP:") != NULL, "%s", errtext);
	/* The array on line 7 is a list of alerts: each of its two elements is malformed. */
	ck_assert_msg(strstr(errtext, "in.ndjson:7: malformed input: not a JSON object\nin.ndjson:7: malformed") != NULL,
	              "%s", errtext);
	ck_assert_msg(strstr(errtext, "9 alerts: 3 converted, 1 filtered, 3 malformed, 2 invalid\n") != NULL,
	              "%s", errtext);
	free(errtext);

	/* Only good lines, from standard input: exit 0. */
	snprintf(path, sizeof(path), "%s/good.ndjson", dir);
	write_file(path, lines[0]);
	snprintf(cmd, sizeof(cmd), "cd '%s' && '%s' convert -t t.json - <good.ndjson >out 2>err", dir, IDMEFV2_TOOL);
	ck_assert_int_eq(run(cmd), 0);
	snprintf(path, sizeof(path), "%s/err", dir);
	errtext = slurp(path);
	ck_assert_str_eq(errtext, "1 alerts: 1 converted, 0 filtered, 0 malformed, 0 invalid\n");
	free(errtext);

	/* A tool by name: its template found in $IDMEFV2_TEMPLATE_PATH (t.json for tool "t"). */
	snprintf(cmd, sizeof(cmd), "cd '%s' && IDMEFV2_TEMPLATE_PATH=/nonexistent:'%s' '%s' convert t in.ndjson >out 2>err",
	         dir, dir, IDMEFV2_TOOL);
	ck_assert_int_eq(run(cmd), 1);
	snprintf(path, sizeof(path), "%s/err", dir);
	errtext = slurp(path);
	ck_assert_msg(strstr(errtext, "9 alerts: 3 converted, 1 filtered, 3 malformed, 2 invalid\n") != NULL,
	              "%s", errtext);
	free(errtext);
	snprintf(cmd, sizeof(cmd), "cd '%s' && '%s' convert nosuchtool in.ndjson >out 2>err", dir, IDMEFV2_TOOL);
	ck_assert_int_eq(run(cmd), 2);
	errtext = slurp(path);
	ck_assert_msg(strstr(errtext, "no template for 'nosuchtool' (built-in:") != NULL, "%s", errtext);
	free(errtext);

	/* Usage errors. */
	snprintf(cmd, sizeof(cmd), "cd '%s' && '%s' convert in.ndjson >out 2>err", dir, IDMEFV2_TOOL);
	ck_assert_int_eq(run(cmd), 2);
	errtext = slurp(path);
	ck_assert_msg(strstr(errtext, "'in.ndjson' is not a tool name") != NULL, "%s", errtext);
	free(errtext);
	snprintf(cmd, sizeof(cmd), "cd '%s' && '%s' convert >out 2>err", dir, IDMEFV2_TOOL);
	ck_assert_int_eq(run(cmd), 2);
	snprintf(cmd, sizeof(cmd), "cd '%s' && '%s' convert -t missing.json in.ndjson >out 2>err", dir, IDMEFV2_TOOL);
	ck_assert_int_eq(run(cmd), 2);
	snprintf(cmd, sizeof(cmd), "cd '%s' && '%s' convert -t t.json --version 9.9 in.ndjson >out 2>err", dir,
	         IDMEFV2_TOOL);
	ck_assert_int_eq(run(cmd), 2);
	remove_tree(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pipeline");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_counters_and_dead_letter);
	tcase_add_test(tc, test_push_object_and_bad_version);
	tcase_add_test(tc, test_file_transport);
	tcase_add_test(tc, test_convert_program);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
