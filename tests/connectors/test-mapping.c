/* SPDX-License-Identifier: Apache-2.0 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <stdbool.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <json-c/json.h>

#include <idmefv2/mapping.h>
#include <idmefv2/message.h>
#include <idmefv2/schema.h>
#include <idmefv2/util.h>

#include "jsonpath-private.h"

static struct json_object *parse(const char *text)
{
	struct json_object *o = json_tokener_parse(text);

	ck_assert_msg(o != NULL, "test JSON does not parse: %s", text);
	return o;
}

static idmefv2_mapping *compile(const char *tmpl_text)
{
	struct json_object *tmpl = parse(tmpl_text);
	idmefv2_mapping *m = NULL;
	char err[512] = "";

	ck_assert_msg(idmefv2_mapping_compile_json("t", tmpl, &m, err, sizeof(err)) == IDMEFV2_OK,
	              "compile failed: %s", err);
	json_object_put(tmpl);
	return m;
}

static idmefv2_error compile_err(const char *tmpl_text, char *err, size_t size)
{
	struct json_object *tmpl = parse(tmpl_text);
	idmefv2_mapping *m = NULL;
	idmefv2_error e = idmefv2_mapping_compile_json("t", tmpl, &m, err, size);

	ck_assert_ptr_null(m);
	json_object_put(tmpl);
	return e;
}

/* Applies and returns the output as plain JSON text (caller frees), or NULL if filtered. */
static char *run(const char *tmpl_text, const char *input_text)
{
	idmefv2_mapping *m = compile(tmpl_text);
	struct json_object *in = parse(input_text), *out = NULL;
	char err[512] = "";
	char *s = NULL;

	ck_assert_msg(idmefv2_mapping_apply(m, in, &out, err, sizeof(err)) == IDMEFV2_OK,
	              "apply failed: %s", err);
	if (out)
		s = strdup(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN));
	json_object_put(out);
	json_object_put(in);
	idmefv2_mapping_free(m);
	return s;
}

#define ck_run(tmpl, input, expected)                                                          \
	do {                                                                                   \
		char *got_ = run(tmpl, input);                                                 \
		ck_assert_ptr_nonnull(got_);                                                   \
		ck_assert_str_eq(got_, expected);                                              \
		free(got_);                                                                    \
	} while (0)

/* ---- JSONPath -------------------------------------------------------------------------- */

static const char *doc =
	"{\"a\":{\"b\":1,\"c.d\":\"dot\"},\"kismet.alert.timestamp\":5,\"l\":[10,20,30],"
	"\"o\":[{\"x\":1},{\"y\":2},{\"x\":3}],\"n\":null,\"q\":{\"it's\":\"q\"}}";

static char *path_eval(const char *path)
{
	idmefv2__jsonpath *p = NULL;
	struct json_object *root = parse(doc), *v;
	char err[256];
	char *s = NULL;

	ck_assert_msg(idmefv2__jsonpath_compile(path, &p, err, sizeof(err)) == IDMEFV2_OK, "%s: %s",
	              path, err);
	v = idmefv2__jsonpath_eval(p, root);
	if (v)
		s = strdup(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
	json_object_put(v);
	json_object_put(root);
	idmefv2__jsonpath_free(p);
	return s;
}

#define ck_path(path, expected)                                                                \
	do {                                                                                   \
		char *got_ = path_eval(path);                                                  \
		if (!(expected)) {                                                             \
			ck_assert_ptr_null(got_);                                              \
		} else {                                                                       \
			ck_assert_ptr_nonnull(got_);                                           \
			ck_assert_str_eq(got_, (expected) ? (expected) : "");                  \
		}                                                                              \
		free(got_);                                                                    \
	} while (0)

START_TEST(test_jsonpath_select)
{
	ck_path("$.a.b", "1");
	ck_path("$[\"a\"][\"c.d\"]", "\"dot\"");
	ck_path("$['a']['c.d']", "\"dot\"");
	ck_path("$.a.\"c.d\"", "\"dot\"");
	ck_path("$.\"kismet.alert.timestamp\"", "5");
	ck_path("$.q[\"it\\'s\"]", "\"q\"");
	ck_path("$.l[0]", "10");
	ck_path("$.l[-1]", "30");
	ck_path("$.l[-3]", "10");
	ck_path("$.l[3]", NULL);
	ck_path("$.l[-4]", NULL);
	ck_path("$.l[*]", "[10,20,30]");
	ck_path("$.o[*].x", "[1,3]");
	ck_path("$.o.*.y", "[2]");
	ck_path("$.a.*", "[1,\"dot\"]");
	ck_path("$.o[*].z", NULL);
	ck_path("$.n", NULL);
	ck_path("$.missing.deeper", NULL);
	ck_path("$.a.b.c", NULL);
	ck_path("$.a[0]", NULL);
	ck_path("$.l.x", NULL);
}
END_TEST

START_TEST(test_jsonpath_malformed)
{
	static const char *bad[] = { "a.b", "$.", "$..a", "$[", "$[x]", "$[1", "$.\"open",
	                             "$['open]", "$a", "$[]", "$.a[1]x" };
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		idmefv2__jsonpath *p = NULL;

		err[0] = '\0';
		ck_assert_msg(idmefv2__jsonpath_compile(bad[i], &p, err, sizeof(err)) ==
		                      IDMEFV2_ERR_PATH,
		              "accepted %s", bad[i]);
		ck_assert_ptr_null(p);
		ck_assert_msg(strstr(err, "malformed path") != NULL, "%s", err);
	}
}
END_TEST

/* ---- template values ---------------------------------------------------------------------- */

START_TEST(test_literals_and_paths)
{
	ck_run("{\"A\":\"lit\",\"B\":3,\"C\":[true,null],\"D\":{\"E\":\"$.a.b\"},\"F\":\"$$HOME\","
	       "\"G\":{\"$literal\":\"$.not.a.path\"},\"H\":{\"$literal\":{\"$fn\":\"x\"}},"
	       "\"I\":\"$.l[*]\",\"J\":\"$\"}",
	       "{\"a\":{\"b\":\"v\"},\"l\":[1,2]}",
	       "{\"A\":\"lit\",\"B\":3,\"C\":[true],\"D\":{\"E\":\"v\"},\"F\":\"$HOME\","
	       "\"G\":\"$.not.a.path\",\"H\":{\"$fn\":\"x\"},\"I\":[1,2],"
	       "\"J\":{\"a\":{\"b\":\"v\"},\"l\":[1,2]}}");
}
END_TEST

START_TEST(test_output_is_independent)
{
	idmefv2_mapping *m = compile("{\"A\":{\"k\":[1]},\"B\":\"$.x\"}");
	struct json_object *in = parse("{\"x\":{\"y\":1}}"), *o1 = NULL, *o2 = NULL, *x;

	ck_assert_int_eq(idmefv2_mapping_apply(m, in, &o1, NULL, 0), IDMEFV2_OK);
	/* Mutating one output must not change the template, the input or the next output. */
	json_object_object_get_ex(o1, "A", &x);
	json_object_object_add(x, "k", json_object_new_int(9));
	json_object_object_get_ex(o1, "B", &x);
	json_object_object_add(x, "y", json_object_new_int(9));
	ck_assert_int_eq(idmefv2_mapping_apply(m, in, &o2, NULL, 0), IDMEFV2_OK);
	ck_assert_str_eq(json_object_to_json_string_ext(o2, JSON_C_TO_STRING_PLAIN),
	                 "{\"A\":{\"k\":[1]},\"B\":{\"y\":1}}");
	ck_assert_str_eq(json_object_to_json_string_ext(in, JSON_C_TO_STRING_PLAIN), "{\"x\":{\"y\":1}}");
	json_object_put(o1);
	json_object_put(o2);
	json_object_put(in);
	idmefv2_mapping_free(m);
}
END_TEST

/* An array whose elements are all missing is missing; a literal empty array stays. */
START_TEST(test_array_of_missing)
{
	static const char tmpl[] = "{\"L\": [\"$.x\", \"$.y\"], \"K\": [], \"S\": [{\"A\": [\"$.x\"]}]}";

	ck_run(tmpl, "{}", "{\"K\":[],\"S\":[{}]}");
	ck_run(tmpl, "{\"y\":2}", "{\"L\":[2],\"K\":[],\"S\":[{}]}");
	ck_run(tmpl, "{\"x\":1,\"y\":null}", "{\"L\":[1],\"K\":[],\"S\":[{\"A\":[1]}]}");
}
END_TEST

START_TEST(test_missing_omit)
{
	ck_run("{\"A\":\"$.none\",\"B\":[\"$.none\",\"$.x\",{\"$path\":\"$.none\"}],"
	       "\"C\":{\"$path\":\"$.none\",\"missing\":\"omit\"},\"D\":\"$.n\"}",
	       "{\"x\":1,\"n\":null}", "{\"B\":[1]}");
}
END_TEST

START_TEST(test_missing_default)
{
	ck_run("{\"A\":{\"$path\":\"$.none\",\"default\":\"127.0.0.1\"},"
	       "\"B\":{\"$path\":\"$.x\",\"missing\":\"default\",\"default\":{\"k\":1}},"
	       "\"C\":{\"$fn\":\"int\",\"args\":[\"$.bad\"],\"default\":0},"
	       "\"D\":{\"$path\":\"$.none\",\"missing\":\"default\",\"default\":[\"$.x\"]}}",
	       "{\"x\":7,\"bad\":\"nope\"}", "{\"A\":\"127.0.0.1\",\"B\":7,\"C\":0,\"D\":[\"$.x\"]}");
}
END_TEST

START_TEST(test_missing_reject)
{
	idmefv2_mapping *m = compile("{\"Source\":[{\"IP\":{\"$path\":\"$.src/ip\",\"missing\":\"reject\"}}]}");
	struct json_object *in = parse("{\"src\":1}"), *out = (struct json_object *)0x1;
	char err[512] = "";

	ck_assert_int_eq(idmefv2_mapping_apply(m, in, &out, err, sizeof(err)), IDMEFV2_ERR_NOT_FOUND);
	ck_assert_ptr_eq(out, (struct json_object *)0x1);
	ck_assert_str_eq(err, "template t: /Source/0/IP: required source missing");
	json_object_put(in);
	in = parse("{\"src/ip\":\"10.0.0.1\"}");
	ck_assert_int_eq(idmefv2_mapping_apply(m, in, &out, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_str_eq(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN),
	                 "{\"Source\":[{\"IP\":\"10.0.0.1\"}]}");
	json_object_put(out);
	json_object_put(in);
	idmefv2_mapping_free(m);
}
END_TEST

/* ---- compile errors ------------------------------------------------------------------------- */

START_TEST(test_compile_errors)
{
	static const struct {
		const char *tmpl;
		idmefv2_error err;
		const char *msg;
	} cases[] = {
		{ "{\"Analyzer\":{\"Name\":{\"$fn\":\"nope\"}}}", IDMEFV2_ERR_INVALID_ARG,
		  "template t: /Analyzer/Name: unknown function \"nope\"" },
		{ "{\"A\":[1,{\"$fn\":\"lower\",\"args\":[\"$.a[\"]}]}", IDMEFV2_ERR_PATH,
		  "template t: /A/1/args/0: malformed path \"$.a[\" at offset 3: expected an index, "
		  "'*' or a quoted name" },
		{ "{\"a/b~c\":\"$x\"}", IDMEFV2_ERR_PATH,
		  "template t: /a~1b~0c: malformed path \"$x\" at offset 1: expected '.' or '['" },
		{ "{\"A\":{\"$fn\":\"lower\"}}", IDMEFV2_ERR_INVALID_ARG,
		  "template t: /A: function \"lower\" takes 1 to 1 arguments, not 0" },
		{ "{\"A\":{\"$fn\":\"lower\",\"args\":\"$.x\"}}", IDMEFV2_ERR_INVALID_ARG,
		  "template t: /A: \"args\" must be an array" },
		{ "{\"A\":{\"$fn\":\"now\",\"argz\":[]}}", IDMEFV2_ERR_INVALID_ARG,
		  "template t: /A: unexpected member \"argz\" in a call" },
		{ "{\"A\":{\"$path\":\"$.x\",\"missing\":\"drop\"}}", IDMEFV2_ERR_INVALID_ARG,
		  "template t: /A: \"missing\" must be \"omit\", \"default\" or \"reject\"" },
		{ "{\"A\":{\"$path\":\"$.x\",\"missing\":\"default\"}}", IDMEFV2_ERR_INVALID_ARG,
		  "template t: /A: \"missing\": \"default\" needs a non-null \"default\"" },
		{ "{\"A\":{\"$path\":3}}", IDMEFV2_ERR_PATH, "template t: /A: \"$path\" must be a string" },
		{ "{\"A\":{\"$bogus\":1}}", IDMEFV2_ERR_INVALID_ARG,
		  "template t: /A/$bogus: unknown directive \"$bogus\"" },
		{ "{\"$output\":{}}", IDMEFV2_ERR_INVALID_ARG,
		  "template t: /$output: unknown directive \"$output\"" },
		{ "{\"$filter\":{\"$like\":[1,2]}}", IDMEFV2_ERR_INVALID_ARG,
		  "template t: /$filter: unknown operator \"$like\"" },
		{ "{\"$filter\":{\"$and\":[{\"$eq\":[\"$.a\"]}]}}", IDMEFV2_ERR_INVALID_ARG,
		  "template t: /$filter/$and/0/$eq: expects an array of two values" },
		{ "{\"$filter\":{\"$not\":{\"$exists\":\"$.a[x]\"}}}", IDMEFV2_ERR_PATH,
		  "template t: /$filter/$not/$exists: malformed path \"$.a[x]\" at offset 3: expected "
		  "an index, '*' or a quoted name" },
		{ "[1]", IDMEFV2_ERR_NOT_OBJECT, "template t: /: a template must be a JSON object" },
	};
	char err[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		ck_assert_int_eq(compile_err(cases[i].tmpl, err, sizeof(err)), cases[i].err);
		ck_assert_str_eq(err, cases[i].msg);
	}
}
END_TEST

START_TEST(test_load_file)
{
	char path[] = "/tmp/test-mapping-XXXXXX";
	char err[512] = "";
	idmefv2_mapping *m = NULL;
	struct json_object *in, *out = NULL;
	int fd = mkstemp(path);
	FILE *f;

	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	fputs("{\"Description\": {\"$fn\": \"lower\", \"args\": [\"$.d\"]}}\n", f);
	fclose(f);
	ck_assert_int_eq(idmefv2_mapping_load_file(path, &m, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_str_eq(idmefv2_mapping_get_name(m), path);
	in = parse("{\"d\":\"ABC\"}");
	ck_assert_int_eq(idmefv2_mapping_apply(m, in, &out, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_str_eq(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN),
	                 "{\"Description\":\"abc\"}");
	json_object_put(out);
	json_object_put(in);
	idmefv2_mapping_free(m);
	m = NULL;

	f = fopen(path, "w");
	fputs("{\"A\": [1,\n 2,,]}", f);
	fclose(f);
	ck_assert_int_eq(idmefv2_mapping_load_file(path, &m, err, sizeof(err)), IDMEFV2_ERR_PARSE);
	ck_assert_ptr_null(m);
	ck_assert_msg(strncmp(err, "template /tmp/test-mapping-", 27) == 0 && strstr(err, "line 2"),
	              "%s", err);

	f = fopen(path, "w");
	fputs("{\"A\": {\"$fn\": \"zzz\"}}", f);
	fclose(f);
	ck_assert_int_eq(idmefv2_mapping_load_file(path, &m, err, sizeof(err)),
	                 IDMEFV2_ERR_INVALID_ARG);
	ck_assert_msg(strstr(err, ": /A: unknown function \"zzz\"") && strstr(err, path), "%s", err);

	unlink(path);
	ck_assert_int_eq(idmefv2_mapping_load_file(path, &m, err, sizeof(err)), IDMEFV2_ERR_IO);
	ck_assert_ptr_null(m);
	ck_assert_int_eq(idmefv2_mapping_load_file(NULL, &m, err, sizeof(err)),
	                 IDMEFV2_ERR_INVALID_ARG);
}
END_TEST

/* ---- functions -------------------------------------------------------------------------------- */

static char *fn1(const char *call, const char *input)
{
	char tmpl[2048];

	snprintf(tmpl, sizeof(tmpl), "{\"R\":%s}", call);
	return run(tmpl, input);
}

#define ck_fn(call, input, expected_value)                                                     \
	do {                                                                                   \
		char *got_ = fn1(call, input);                                                 \
		ck_assert_ptr_nonnull(got_);                                                   \
		ck_assert_str_eq(got_, "{\"R\":" expected_value "}");                          \
		free(got_);                                                                    \
	} while (0)
#define ck_fn_missing(call, input) ck_fn(call, input, "0")

START_TEST(test_fn_uuid_now)
{
	idmefv2_mapping *m = compile("{\"A\":{\"$fn\":\"uuid\"},\"B\":{\"$fn\":\"uuid\",\"args\":[\"v4\"]},"
	                             "\"C\":{\"$fn\":\"now\"}}");
	struct json_object *in = parse("{}"), *o1 = NULL, *o2 = NULL, *a1, *a2, *b, *c;
	struct timespec ts;

	ck_assert_int_eq(idmefv2_mapping_apply(m, in, &o1, NULL, 0), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_mapping_apply(m, in, &o2, NULL, 0), IDMEFV2_OK);
	json_object_object_get_ex(o1, "A", &a1);
	json_object_object_get_ex(o2, "A", &a2);
	json_object_object_get_ex(o1, "B", &b);
	json_object_object_get_ex(o1, "C", &c);
	ck_assert(idmefv2_uuid_is_valid(json_object_get_string(a1)));
	ck_assert_str_ne(json_object_get_string(a1), json_object_get_string(a2));
	ck_assert_int_eq(json_object_get_string(a1)[14], '7');
	ck_assert_int_eq(json_object_get_string(b)[14], '4');
	ck_assert_int_eq(idmefv2_time_parse(json_object_get_string(c), &ts, NULL), IDMEFV2_OK);
	ck_assert_int_lt(labs((long)(ts.tv_sec - time(NULL))), 5);
	json_object_put(o1);
	json_object_put(o2);
	json_object_put(in);
	idmefv2_mapping_free(m);
}
END_TEST

#define TS(arg) "{\"$fn\":\"timestamp\",\"args\":[" arg "],\"default\":0}"

START_TEST(test_fn_timestamp)
{
	/* Suricata, Wazuh: offset without a colon. */
	ck_fn(TS("\"$.t\""), "{\"t\":\"2017-04-07T22:24:37.251547+0100\"}",
	      "\"2017-04-07T22:24:37.251547+01:00\"");
	ck_fn(TS("\"$.t\""), "{\"t\":\"2025-04-16T09:03:38.791+0000\"}",
	      "\"2025-04-16T09:03:38.791000Z\"");
	ck_fn(TS("\"$.t\""), "{\"t\":\"2018-07-04T20:27:12.60602144+02:00\"}",
	      "\"2018-07-04T20:27:12.606021+02:00\"");
	ck_fn(TS("\"$.t\""), "{\"t\":\"2026-02-02 12:40:01\"}", "\"2026-02-02T12:40:01.000000Z\"");
	ck_fn(TS("\"$.t\""), "{\"t\":\"2026-02-02T12:40:01-05\"}",
	      "\"2026-02-02T12:40:01.000000-05:00\"");
	ck_fn(TS("\"$.t\""), "{\"t\":\"2026-02-02T12:40:01Z\"}", "\"2026-02-02T12:40:01.000000Z\"");
	/* Epoch seconds, as a number or a numeric string (Kismet, Zabbix). */
	ck_fn(TS("\"$.t\""), "{\"t\":0}", "\"1970-01-01T00:00:00.000000Z\"");
	ck_fn(TS("\"$.t\""), "{\"t\":1700000000.25}", "\"2023-11-14T22:13:20.250000Z\"");
	ck_fn(TS("\"$.t\""), "{\"t\":\"1700000000\"}", "\"2023-11-14T22:13:20.000000Z\"");
	/* strftime formats (ModSecurity). */
	ck_fn(TS("\"$.t\",\"%a %b %d %H:%M:%S %Y\""), "{\"t\":\"Mon May  9 09:41:59 2022\"}",
	      "\"2022-05-09T09:41:59.000000Z\"");
	ck_fn(TS("\"$.t\",\"%d/%m/%Y %H:%M:%S %z\""), "{\"t\":\"09/05/2022 09:41:59 +0200\"}",
	      "\"2022-05-09T09:41:59.000000+02:00\"");
	/* Unconvertible: missing, so the default applies. */
	ck_fn_missing(TS("\"$.t\""), "{\"t\":\"not-a-date\"}");
	ck_fn_missing(TS("\"$.t\""), "{\"t\":\"2026-13-02T12:40:01Z\"}");
	ck_fn_missing(TS("\"$.t\""), "{\"t\":true}");
	ck_fn_missing(TS("\"$.t\""), "{\"t\":1e300}");
	ck_fn_missing(TS("\"$.t\""), "{}");
	ck_fn_missing(TS("\"$.t\",\"%Y-%m-%d\""), "{\"t\":\"2022-05-09 trailing\"}");
}
END_TEST

START_TEST(test_fn_lookup_range)
{
	const char *map = "{\"$fn\":\"lookup\",\"args\":[\"$.v\",{\"1\":\"Info\",\"x\":\"X\",\"\":\"empty\"}";

	char call[512];

	snprintf(call, sizeof(call), "%s]}", map);
	{
		char *got = fn1(call, "{\"v\":1}");

		ck_assert_str_eq(got, "{\"R\":\"Info\"}");
		free(got);
		got = fn1(call, "{\"v\":\"x\"}");
		ck_assert_str_eq(got, "{\"R\":\"X\"}");
		free(got);
		got = fn1(call, "{\"v\":\"\"}");
		ck_assert_str_eq(got, "{\"R\":\"empty\"}");
		free(got);
		got = fn1(call, "{\"v\":\"zz\"}");
		ck_assert_str_eq(got, "{}");
		free(got);
	}
	/* The fallback may be an expression: an empty IP becomes 127.0.0.1, others pass. */
	ck_fn("{\"$fn\":\"lookup\",\"args\":[\"$.ip\",{\"\":\"127.0.0.1\"},\"$.ip\"]}",
	      "{\"ip\":\"\"}", "\"127.0.0.1\"");
	ck_fn("{\"$fn\":\"lookup\",\"args\":[\"$.ip\",{\"\":\"127.0.0.1\"},\"$.ip\"]}",
	      "{\"ip\":\"10.1.1.1\"}", "\"10.1.1.1\"");
	ck_fn("{\"$fn\":\"lookup\",\"args\":[\"$.none\",{\"a\":1},\"fb\"]}", "{}", "\"fb\"");

#define PRIO "{\"$fn\":\"range\",\"args\":[\"$.s\",[[1,\"Unknown\"],[2,\"Info\"],[3,\"Low\"],[4,\"Medium\"]],\"High\"]}"
	ck_fn(PRIO, "{\"s\":-3}", "\"Unknown\"");
	ck_fn(PRIO, "{\"s\":0}", "\"Unknown\"");
	ck_fn(PRIO, "{\"s\":1}", "\"Info\"");
	ck_fn(PRIO, "{\"s\":2}", "\"Low\"");
	ck_fn(PRIO, "{\"s\":\"3\"}", "\"Medium\"");
	ck_fn(PRIO, "{\"s\":4}", "\"High\"");
	ck_fn(PRIO, "{\"s\":99}", "\"High\"");
	ck_fn(PRIO, "{\"s\":\"not-a-number\"}", "\"High\"");
	ck_fn("{\"$fn\":\"range\",\"args\":[\"$.s\",[[5,\"Info\"],[10.5,\"Low\"]]],\"default\":\"U\"}",
	      "{\"s\":10.25}", "\"Low\"");
	ck_fn("{\"$fn\":\"range\",\"args\":[\"$.s\",[[5,\"Info\"]]],\"default\":\"U\"}", "{\"s\":5}",
	      "\"U\"");
}
END_TEST

START_TEST(test_fn_errors)
{
	static const char *calls[] = {
		"{\"$fn\":\"lookup\",\"args\":[\"$.v\",\"notamap\"]}",
		"{\"$fn\":\"range\",\"args\":[\"$.v\",[[\"1\",\"x\"]]]}",
		"{\"$fn\":\"range\",\"args\":[\"$.v\",{}]}",
		"{\"$fn\":\"format\",\"args\":[\"{} {}\",\"$.v\"]}",
		"{\"$fn\":\"uuid\",\"args\":[\"v5\"]}",
		"{\"$fn\":\"find_key\",\"args\":[\"$\",1]}",
	};
	char tmpl[512], err[512];

	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		idmefv2_mapping *m;
		struct json_object *in = parse("{\"v\":1}"), *out = NULL;

		snprintf(tmpl, sizeof(tmpl), "{\"X\":{\"Y\":%s}}", calls[i]);
		m = compile(tmpl);
		err[0] = '\0';
		ck_assert_int_eq(idmefv2_mapping_apply(m, in, &out, err, sizeof(err)),
		                 IDMEFV2_ERR_INVALID_ARG);
		ck_assert_ptr_null(out);
		ck_assert_msg(strncmp(err, "template t: /X/Y: ", 18) == 0, "%s", err);
		json_object_put(in);
		idmefv2_mapping_free(m);
	}
}
END_TEST

START_TEST(test_fn_strings)
{
	ck_fn("{\"$fn\":\"lower\",\"args\":[\"$.v\"]}", "{\"v\":\"InstanceDOWN\"}", "\"instancedown\"");
	ck_fn("{\"$fn\":\"lower\",\"args\":[\"$.v\"],\"default\":\"-\"}", "{}", "\"-\"");
	ck_fn("{\"$fn\":\"concat\",\"args\":[\"sha-1:\",\"$.h\"]}", "{\"h\":\"c6ad\"}", "\"sha-1:c6ad\"");
	ck_fn("{\"$fn\":\"concat\",\"args\":[\"n=\",\"$.n\",\"/\",\"$.b\"]}", "{\"n\":3,\"b\":true}",
	      "\"n=3\\/true\"");
	ck_fn("{\"$fn\":\"concat\",\"args\":[\"a\",\"$.none\"],\"default\":\"m\"}", "{}", "\"m\"");
	ck_fn("{\"$fn\":\"format\",\"args\":[\"MAC: {} - {} {{x}}\",\"$.m\",\"$.t\"]}",
	      "{\"m\":\"00:11\",\"t\":\"Deauth\"}", "\"MAC: 00:11 - Deauth {x}\"");
	ck_fn("{\"$fn\":\"format\",\"args\":[\"E {}\",\"$.none\"],\"default\":\"d\"}", "{}", "\"d\"");
	ck_fn("{\"$fn\":\"join\",\"args\":[\"$.v\",\", \"]}", "{\"v\":[\"a\",\"b\",3]}", "\"a, b, 3\"");
	ck_fn("{\"$fn\":\"join\",\"args\":[\"$.v\",\", \"]}", "{\"v\":\"solo\"}", "\"solo\"");
	ck_fn("{\"$fn\":\"coalesce\",\"args\":[\"$.a\",\"$.b\",\"last\"]}", "{\"b\":2}", "2");
	ck_fn("{\"$fn\":\"coalesce\",\"args\":[\"$.a\",\"$.b\",\"last\"]}", "{}", "\"last\"");
	/* More arguments than the evaluator keeps on its stack. */
	ck_fn("{\"$fn\":\"concat\",\"args\":[\"0\",1,2,3,4,5,6,7,8,\"$.n\",\"$.n\"]}", "{\"n\":9}",
	      "\"01234567899\"");
}
END_TEST

START_TEST(test_fn_int)
{
	ck_fn("{\"$fn\":\"int\",\"args\":[\"$.v\"]}", "{\"v\":\"6656\"}", "6656");
	ck_fn("{\"$fn\":\"int\",\"args\":[\"$.v\"]}", "{\"v\":\" -12 \"}", "-12");
	ck_fn("{\"$fn\":\"int\",\"args\":[\"$.v\"]}", "{\"v\":29}", "29");
	ck_fn("{\"$fn\":\"int\",\"args\":[\"$.v\"]}", "{\"v\":7.9}", "7");
	ck_fn("{\"$fn\":\"int\",\"args\":[\"$.v\"]}", "{\"v\":9007199254740993}", "9007199254740993");
	ck_fn_missing("{\"$fn\":\"int\",\"args\":[\"$.v\"],\"default\":0}", "{\"v\":\"12abc\"}");
	ck_fn_missing("{\"$fn\":\"int\",\"args\":[\"$.v\"],\"default\":0}", "{\"v\":\"\"}");
	ck_fn_missing("{\"$fn\":\"int\",\"args\":[\"$.v\"],\"default\":0}", "{\"v\":[1]}");
	ck_fn_missing("{\"$fn\":\"int\",\"args\":[\"$.v\"],\"default\":0}", "{\"v\":1e300}");
}
END_TEST

START_TEST(test_fn_strip_port)
{
#define SP "{\"$fn\":\"strip_port\",\"args\":[\"$.v\"],\"default\":\"unknown\"}"
	ck_fn(SP, "{\"v\":\"node-1:9100\"}", "\"node-1\"");
	ck_fn(SP, "{\"v\":\"[2001:db8::1]:9090\"}", "\"2001:db8::1\"");
	ck_fn(SP, "{\"v\":\"[2001:db8::1]\"}", "\"2001:db8::1\"");
	ck_fn(SP, "{\"v\":\"2001:db8::1\"}", "\"2001:db8::1\"");
	ck_fn(SP, "{\"v\":\"host\"}", "\"host\"");
	ck_fn(SP, "{\"v\":\"\"}", "\"unknown\"");
	ck_fn(SP, "{}", "\"unknown\"");
	ck_fn(SP, "{\"v\":\"[broken\"}", "\"[broken\"");
}
END_TEST

START_TEST(test_fn_find_key)
{
	const char *clam =
		"{\"FileName\":\"clam-fsg.exe\",\"EmbeddedObjects\":[{\"FileType\":\"CL_TYPE_MSEXE\","
		"\"ContainedObjects\":[{\"Viruses\":[\"Clamav.Test.File-6\"]}]}],\"Other\":{\"Viruses\":[\"later\"]}}";

	ck_fn("{\"$fn\":\"find_key\",\"args\":[\"$\",\"Viruses\"]}", clam, "[\"Clamav.Test.File-6\"]");
	ck_fn("{\"$fn\":\"find_key\",\"args\":[\"$\",\"Viruses\"]}",
	      "{\"Viruses\":[\"top\"],\"E\":{\"Viruses\":[\"deep\"]}}", "[\"top\"]");
	ck_fn("{\"$fn\":\"format\",\"args\":[\"Virus found: {}\",{\"$fn\":\"join\",\"args\":[{\"$fn\":"
	      "\"find_key\",\"args\":[\"$\",\"Viruses\"]},\", \"]}],\"default\":\"Unknown\"}",
	      clam, "\"Virus found: Clamav.Test.File-6\"");
	ck_fn("{\"$fn\":\"format\",\"args\":[\"Virus found: {}\",{\"$fn\":\"join\",\"args\":[{\"$fn\":"
	      "\"find_key\",\"args\":[\"$\",\"Viruses\"]},\", \"]}],\"default\":\"Unknown\"}",
	      "{\"FileName\":\"x\"}", "\"Unknown\"");
}
END_TEST

START_TEST(test_fn_classify)
{
#define PROM "{\"$fn\":\"classify\",\"args\":[\"$.n\",[[[\"down\",\"unreachable\"],\"Availability.Outage\"]," \
	"[[[\"high\",\"cpu\"],[\"high\",\"memory\"],\"disk\"],\"Availability.Failure\"]],\"Other.Uncategorised\"]}"
	ck_fn(PROM, "{\"n\":\"InstanceDown\"}", "\"Availability.Outage\"");
	ck_fn(PROM, "{\"n\":\"HighCPUUsage\"}", "\"Availability.Failure\"");
	ck_fn(PROM, "{\"n\":\"HighMemory\"}", "\"Availability.Failure\"");
	ck_fn(PROM, "{\"n\":\"CPUHot\"}", "\"Other.Uncategorised\"");
	ck_fn(PROM, "{\"n\":\"DiskFull\"}", "\"Availability.Failure\"");
	ck_fn(PROM, "{}", "\"Other.Uncategorised\"");
	ck_fn("{\"$fn\":\"classify\",\"args\":[\"$.n\",[[[\"x\"],1]]],\"default\":0}", "{\"n\":\"y\"}", "0");
}
END_TEST

START_TEST(test_fn_classify_bad_rules)
{
	static const char *calls[] = {
		"{\"$fn\":\"classify\",\"args\":[\"$.v\",{}]}",
		"{\"$fn\":\"classify\",\"args\":[\"$.v\",[[\"x\",1]]]}",
		"{\"$fn\":\"classify\",\"args\":[\"$.v\",[[[2],1]]]}",
		"{\"$fn\":\"classify\",\"args\":[\"$.v\",[[[[\"a\",3]],1]]]}",
	};
	char tmpl[512], err[512];

	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		idmefv2_mapping *m;
		struct json_object *in = parse("{\"v\":\"abc\"}"), *out = NULL;

		snprintf(tmpl, sizeof(tmpl), "{\"C\":%s}", calls[i]);
		m = compile(tmpl);
		ck_assert_int_eq(idmefv2_mapping_apply(m, in, &out, err, sizeof(err)),
		                 IDMEFV2_ERR_INVALID_ARG);
		ck_assert_msg(strstr(err, "template t: /C: classify: ") == err, "%s", err);
		json_object_put(in);
		idmefv2_mapping_free(m);
	}
}
END_TEST

START_TEST(test_fn_local_ip)
{
	char *got = fn1("{\"$fn\":\"local_ip\"}", "{}");
	char ip[INET6_ADDRSTRLEN + 16];
	struct ifaddrs *ifs = NULL, *i;
	bool found = false, any_v4 = false;

	ck_assert(strncmp(got, "{\"R\":\"", 6) == 0);
	snprintf(ip, sizeof(ip), "%s", got + 6);
	ip[strcspn(ip, "\"")] = '\0';
	free(got);
	ck_assert_int_eq(idmefv2_ip_classify(ip), strchr(ip, ':') ? IDMEFV2_IP_V6 : IDMEFV2_IP_V4);
	/* It is one of this machine's addresses: an up, non-loopback IPv4 one when there is any. */
	ck_assert_int_eq(getifaddrs(&ifs), 0);
	for (i = ifs; i; i = i->ifa_next) {
		char buf[INET6_ADDRSTRLEN];

		if (!i->ifa_addr || !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK) ||
		    i->ifa_addr->sa_family != AF_INET)
			continue;
		any_v4 = true;
		inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr, buf, sizeof(buf));
		if (strcmp(buf, ip) == 0)
			found = true;
	}
	freeifaddrs(ifs);
	if (any_v4)
		ck_assert_msg(found, "local_ip() gave %s, not an address of an up interface", ip);
	else
		ck_assert(strchr(ip, ':') || strcmp(ip, "127.0.0.1") == 0);
}
END_TEST

START_TEST(test_fn_hostname_base64)
{
	char host[256] = "", expected[300], path[] = "/tmp/test-mapping-b64-XXXXXX", input[128];
	static const struct {
		const char *bytes;
		size_t len;
		const char *b64;
	} cases[] = {
		{ "", 0, "" }, { "f", 1, "Zg==" }, { "fo", 2, "Zm8=" }, { "foo", 3, "Zm9v" },
		{ "foobar", 6, "Zm9vYmFy" }, { "\xff\x00\xfe", 3, "/wD+" },
	};
	int fd;

	ck_assert_int_eq(gethostname(host, sizeof(host) - 1), 0);
	snprintf(expected, sizeof(expected), "{\"R\":\"%s\"}", host);
	{
		char *got = fn1("{\"$fn\":\"hostname\"}", "{}");

		ck_assert_str_eq(got, expected);
		free(got);
	}
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	snprintf(input, sizeof(input), "{\"p\":\"%s\"}", path);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		FILE *f = fopen(path, "w");
		char *got;

		fwrite(cases[i].bytes, 1, cases[i].len, f);
		fclose(f);
		got = fn1("{\"$fn\":\"base64_file\",\"args\":[\"$.p\"]}", input);
		snprintf(expected, sizeof(expected), "{\"R\":\"%s\"}", cases[i].b64);
		/* json-c escapes "/" in its output. */
		if (i == 5)
			snprintf(expected, sizeof(expected), "{\"R\":\"\\/wD+\"}");
		ck_assert_str_eq(got, expected);
		free(got);
	}
	{
		/* A file larger than the read buffer, not a multiple of 3. */
		FILE *f = fopen(path, "w");
		char *got;

		for (int i = 0; i < 10000; i++)
			fputc('a', f);
		fclose(f);
		got = fn1("{\"$fn\":\"base64_file\",\"args\":[\"$.p\"]}", input);
		ck_assert_uint_eq(strlen(got), strlen("{\"R\":\"\"}") + 4 * ((10000 + 2) / 3));
		ck_assert(strstr(got, "YWFh") && strstr(got, "YQ==\"}"));
		free(got);
	}
	unlink(path);
	ck_fn_missing("{\"$fn\":\"base64_file\",\"args\":[\"$.p\"],\"default\":0}", input);
}
END_TEST

static idmefv2_error fn_twice(struct json_object *const *args, size_t nargs, void *userdata,
                              struct json_object **ret, char *errstr, size_t errstr_size)
{
	int *calls = userdata;

	(*calls)++;
	if (!args[0])
		return IDMEFV2_OK;
	if (!json_object_is_type(args[0], json_type_int)) {
		snprintf(errstr, errstr_size, "not an int");
		return IDMEFV2_ERR_TYPE;
	}
	*ret = json_object_new_int64(2 * json_object_get_int64(args[0]));
	return IDMEFV2_OK;
}

START_TEST(test_register_function)
{
	static int calls;
	idmefv2_mapping *m;
	struct json_object *in, *out = NULL;
	char err[512];

	ck_assert_int_eq(idmefv2_mapping_register_function("twice", 1, 1, fn_twice, &calls),
	                 IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_mapping_register_function("twice", 1, 1, fn_twice, &calls),
	                 IDMEFV2_ERR_INVALID_ARG);
	ck_assert_int_eq(idmefv2_mapping_register_function("lower", 1, 1, fn_twice, &calls),
	                 IDMEFV2_ERR_INVALID_ARG);
	ck_assert_int_eq(idmefv2_mapping_register_function("bad", 2, 1, fn_twice, &calls),
	                 IDMEFV2_ERR_INVALID_ARG);
	ck_assert_int_eq(idmefv2_mapping_register_function("", 0, 1, fn_twice, &calls),
	                 IDMEFV2_ERR_INVALID_ARG);
	ck_assert_int_eq(idmefv2_mapping_register_function("nofn", 0, 1, NULL, &calls),
	                 IDMEFV2_ERR_INVALID_ARG);
	ck_assert_int_eq(compile_err("{\"A\":{\"$fn\":\"twice\",\"args\":[1,2]}}", err, sizeof(err)),
	                 IDMEFV2_ERR_INVALID_ARG);
	ck_assert_str_eq(err, "template t: /A: function \"twice\" takes 1 to 1 arguments, not 2");

	ck_fn("{\"$fn\":\"twice\",\"args\":[\"$.v\"]}", "{\"v\":21}", "42");
	ck_assert_int_eq(calls, 1);
	m = compile("{\"A\":{\"B\":{\"$fn\":\"twice\",\"args\":[\"$.v\"]}}}");
	in = parse("{\"v\":\"x\"}");
	ck_assert_int_eq(idmefv2_mapping_apply(m, in, &out, err, sizeof(err)), IDMEFV2_ERR_TYPE);
	ck_assert_str_eq(err, "template t: /A/B: twice: not an int");
	json_object_put(in);
	idmefv2_mapping_free(m);
}
END_TEST

/* ---- filter ---------------------------------------------------------------------------------- */

START_TEST(test_filter)
{
	const char *tmpl =
		"{\"$filter\":{\"$and\":[{\"$eq\":[\"$.event_type\",\"alert\"]},"
		"{\"$exists\":\"$.alert.category\"},"
		"{\"$ne\":[\"$.alert.category\",\"Generic Protocol Command Decode\"]},"
		"{\"$not\":{\"$or\":[{\"$eq\":[\"$.x\",1]},{\"$eq\":[\"$.x\",{\"k\":[2]}]}]}}]},"
		"\"D\":\"$.alert.category\"}";
	char *got;

	got = run(tmpl, "{\"event_type\":\"alert\",\"alert\":{\"category\":\"Bad\"}}");
	ck_assert_str_eq(got, "{\"D\":\"Bad\"}");
	free(got);
	ck_assert_ptr_null(run(tmpl, "{\"event_type\":\"flow\",\"alert\":{\"category\":\"Bad\"}}"));
	ck_assert_ptr_null(run(tmpl, "{\"event_type\":\"alert\",\"alert\":{}}"));
	ck_assert_ptr_null(run(tmpl, "{\"event_type\":\"alert\",\"alert\":{\"category\":"
	                             "\"Generic Protocol Command Decode\"}}"));
	ck_assert_ptr_null(run(tmpl, "{\"event_type\":\"alert\",\"x\":1,\"alert\":{\"category\":\"B\"}}"));
	ck_assert_ptr_null(run(tmpl, "{\"event_type\":\"alert\",\"x\":{\"k\":[2]},\"alert\":{\"category\":\"B\"}}"));
	got = run(tmpl, "{\"event_type\":\"alert\",\"x\":2,\"alert\":{\"category\":\"B\"}}");
	ck_assert_str_eq(got, "{\"D\":\"B\"}");
	free(got);
	/* A missing side equals only another missing side. */
	ck_assert_ptr_null(run("{\"$filter\":{\"$eq\":[\"$.a\",\"x\"]},\"A\":1}", "{}"));
	got = run("{\"$filter\":{\"$eq\":[\"$.a\",\"$.b\"]},\"A\":1}", "{}");
	ck_assert_str_eq(got, "{\"A\":1}");
	free(got);
	got = run("{\"$filter\":{\"$ne\":[\"$.a\",\"x\"]},\"A\":1}", "{}");
	ck_assert_str_eq(got, "{\"A\":1}");
	free(got);
}
END_TEST

/* ---- Suricata EVE, end to end -------------------------------------------------------------------- */

static const char *suricata_template =
	"{\n"
	"  \"$filter\": {\"$and\": [\n"
	"    {\"$eq\": [\"$.event_type\", \"alert\"]},\n"
	"    {\"$exists\": \"$.alert.category\"},\n"
	"    {\"$ne\": [\"$.alert.category\", \"Generic Protocol Command Decode\"]}]},\n"
	"  \"Version\": \"2.D.V08\",\n"
	"  \"ID\": {\"$fn\": \"uuid\"},\n"
	"  \"CreateTime\": {\"$fn\": \"timestamp\", \"args\": [\"$.timestamp\"], \"missing\": \"reject\"},\n"
	"  \"Category\": [\"Recon.Network\"],\n"
	"  \"Priority\": {\"$fn\": \"range\", \"args\": [\"$.alert.severity\",\n"
	"      [[1, \"Unknown\"], [2, \"Info\"], [3, \"Low\"], [4, \"Medium\"]], \"High\"]},\n"
	"  \"Description\": \"$.alert.category\",\n"
	"  \"Note\": \"$.alert.signature\",\n"
	"  \"Analyzer\": {\"Name\": \"suricata\", \"Model\": \"Suricata NIDS\",\n"
	"    \"Category\": [\"NET.NIDS\"], \"Data\": [\"Network\"], \"Method\": [\"Signature\"]},\n"
	"  \"Source\": [{\"ID\": {\"$fn\": \"uuid\"},\n"
	"    \"IP\": {\"$fn\": \"lookup\", \"args\": [\"$.src_ip\", {\"\": \"127.0.0.1\"}, \"$.src_ip\"]},\n"
	"    \"Port\": [\"$.src_port\"],\n"
	"    \"Protocol\": [{\"$fn\": \"lookup\", \"args\": [\"$.proto\", {\"\": \"UNKNOWN\"}, \"$.proto\"],\n"
	"                  \"default\": \"UNKNOWN\"}]}],\n"
	"  \"Target\": [{\"ID\": {\"$fn\": \"uuid\"},\n"
	"    \"IP\": {\"$fn\": \"lookup\", \"args\": [\"$.dest_ip\", {\"\": \"127.0.0.1\"}, \"$.dest_ip\"]},\n"
	"    \"Port\": [\"$.dest_port\"]}]\n"
	"}\n";

/* The first lines of shared/connectors/suricata/eve-connector-tests.jsonl, trimmed. */
static const char *eve_alert_1 =
	"{\"timestamp\":\"2017-04-07T22:24:37.251547+0100\",\"flow_id\":586497171462735,"
	"\"event_type\":\"alert\",\"src_ip\":\"192.168.2.14\",\"src_port\":50096,"
	"\"dest_ip\":\"209.53.113.5\",\"dest_port\":80,\"proto\":\"TCP\","
	"\"alert\":{\"action\":\"allowed\",\"gid\":1,\"signature_id\":2018358,\"rev\":10,"
	"\"signature\":\"ET HUNTING GENERIC SUSPICIOUS POST to Dotted Quad with Fake Browser 1\","
	"\"category\":\"Potentially Bad Traffic\",\"severity\":2},\"app_proto\":\"http\"}";
static const char *eve_alert_2 =
	"{\"timestamp\":\"2024-12-19T17:52:39.590661+0000\",\"event_type\":\"alert\","
	"\"src_ip\":\"2600:9000:2662:fa00:0018:30b3:e400:93a1\",\"src_port\":80,"
	"\"dest_ip\":\"2a02:842a:820e:1601:c369:71f8:9da5:c6a4\",\"dest_port\":44030,\"proto\":\"TCP\","
	"\"alert\":{\"signature\":\"GPL ATTACK_RESPONSE id check returned root\","
	"\"category\":\"Potentially Bad Traffic\",\"severity\":2}}";
static const char *eve_alert_3 =
	"{\"timestamp\":\"2024-12-19T17:52:39.590661+0000\",\"event_type\":\"alert\",\"src_ip\":\"\","
	"\"dest_ip\":\"\",\"proto\":\"\",\"alert\":{\"category\":\"Generic Protocol Command Decode\","
	"\"severity\":3}}";
static const char *eve_flow_1 =
	"{\"timestamp\":\"2024-12-19T17:52:39.590661+0000\",\"event_type\":\"flow\","
	"\"src_ip\":\"10.0.0.1\",\"dest_ip\":\"10.0.0.2\",\"proto\":\"UDP\"}";

static struct json_object *suricata_convert(idmefv2_mapping *m, const char *line)
{
	struct json_object *in = parse(line), *out = NULL;
	char err[512] = "";

	ck_assert_msg(idmefv2_mapping_apply(m, in, &out, err, sizeof(err)) == IDMEFV2_OK, "%s", err);
	json_object_put(in);
	return out;
}

static void assert_valid(struct json_object *out)
{
	idmefv2_message *msg = idmefv2_message_new_from_object(out);
	idmefv2_report *report = NULL;
	char err[512] = "";
	idmefv2_error e;

	ck_assert_ptr_nonnull(msg);
	e = idmefv2_message_validate(msg, 0, &report, err, sizeof(err));
	ck_assert_msg(e == IDMEFV2_OK, "invalid (%s) %s: %s at %s", idmefv2_strerror(e), err,
	              report ? idmefv2_report_message(report, 0) : "",
	              report ? idmefv2_report_instance_path(report, 0) : "");
	idmefv2_report_free(report);
	idmefv2_message_unref(msg);
}

static const char *str_at(struct json_object *o, const char *ptr)
{
	struct json_object *v = NULL;

	ck_assert_msg(json_pointer_get(o, ptr, &v) == 0, "no %s", ptr);
	return json_object_get_string(v);
}

START_TEST(test_suricata_eve)
{
	idmefv2_mapping *m = compile(suricata_template);
	struct json_object *out;

	out = suricata_convert(m, eve_alert_1);
	ck_assert_ptr_nonnull(out);
	assert_valid(out);
	ck_assert_str_eq(str_at(out, "/Version"), "2.D.V08");
	ck_assert(idmefv2_uuid_is_valid(str_at(out, "/ID")));
	ck_assert_str_eq(str_at(out, "/CreateTime"), "2017-04-07T22:24:37.251547+01:00");
	ck_assert_str_eq(str_at(out, "/Priority"), "Low");
	ck_assert_str_eq(str_at(out, "/Description"), "Potentially Bad Traffic");
	ck_assert_str_eq(str_at(out, "/Source/0/IP"), "192.168.2.14");
	ck_assert_str_eq(str_at(out, "/Source/0/Port/0"), "50096");
	ck_assert_str_eq(str_at(out, "/Source/0/Protocol/0"), "TCP");
	ck_assert_str_eq(str_at(out, "/Target/0/IP"), "209.53.113.5");
	ck_assert_str_eq(str_at(out, "/Target/0/Port/0"), "80");
	ck_assert_str_ne(str_at(out, "/Source/0/ID"), str_at(out, "/Target/0/ID"));
	json_object_put(out);

	out = suricata_convert(m, eve_alert_2);
	ck_assert_ptr_nonnull(out);
	assert_valid(out);
	ck_assert_str_eq(str_at(out, "/CreateTime"), "2024-12-19T17:52:39.590661Z");
	ck_assert_str_eq(str_at(out, "/Source/0/IP"), "2600:9000:2662:fa00:0018:30b3:e400:93a1");
	json_object_put(out);

	ck_assert_ptr_null(suricata_convert(m, eve_alert_3));
	ck_assert_ptr_null(suricata_convert(m, eve_flow_1));
	idmefv2_mapping_free(m);
}
END_TEST

START_TEST(test_suricata_empty_fields)
{
	/* EVE_ALERT_3 with another category: empty IPs and protocol get the connector's defaults. */
	idmefv2_mapping *m = compile(suricata_template);
	struct json_object *out = suricata_convert(
		m, "{\"timestamp\":\"2024-12-19T17:52:39+0000\",\"event_type\":\"alert\",\"src_ip\":\"\","
		   "\"dest_ip\":\"\",\"proto\":\"\",\"alert\":{\"category\":\"Misc\",\"severity\":7}}");

	ck_assert_ptr_nonnull(out);
	assert_valid(out);
	ck_assert_str_eq(str_at(out, "/Source/0/IP"), "127.0.0.1");
	ck_assert_str_eq(str_at(out, "/Target/0/IP"), "127.0.0.1");
	ck_assert_str_eq(str_at(out, "/Source/0/Protocol/0"), "UNKNOWN");
	ck_assert_str_eq(str_at(out, "/Priority"), "High");
	/* No port: no Port list (an array of missing elements is missing). */
	ck_assert(!json_object_object_get_ex(json_object_array_get_idx(json_object_object_get(out, "Source"), 0),
	                                     "Port", NULL));
	json_object_put(out);
	idmefv2_mapping_free(m);
}
END_TEST

START_TEST(test_suricata_reject)
{
	idmefv2_mapping *m = compile(suricata_template);
	struct json_object *in = parse("{\"event_type\":\"alert\",\"timestamp\":\"garbage\","
	                               "\"alert\":{\"category\":\"Misc\"}}"),
	                   *out = NULL;
	char err[512];

	ck_assert_int_eq(idmefv2_mapping_apply(m, in, &out, err, sizeof(err)), IDMEFV2_ERR_NOT_FOUND);
	ck_assert_str_eq(err, "template t: /CreateTime: required source missing");
	ck_assert_ptr_null(out);
	json_object_put(in);
	idmefv2_mapping_free(m);
}
END_TEST

static Suite *mapping_suite(void)
{
	Suite *s = suite_create("mapping");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_jsonpath_select);
	tcase_add_test(tc, test_jsonpath_malformed);
	tcase_add_test(tc, test_literals_and_paths);
	tcase_add_test(tc, test_output_is_independent);
	tcase_add_test(tc, test_missing_omit);
	tcase_add_test(tc, test_array_of_missing);
	tcase_add_test(tc, test_missing_default);
	tcase_add_test(tc, test_missing_reject);
	tcase_add_test(tc, test_compile_errors);
	tcase_add_test(tc, test_load_file);
	tcase_add_test(tc, test_fn_uuid_now);
	tcase_add_test(tc, test_fn_timestamp);
	tcase_add_test(tc, test_fn_lookup_range);
	tcase_add_test(tc, test_fn_errors);
	tcase_add_test(tc, test_fn_strings);
	tcase_add_test(tc, test_fn_int);
	tcase_add_test(tc, test_fn_strip_port);
	tcase_add_test(tc, test_fn_find_key);
	tcase_add_test(tc, test_fn_classify);
	tcase_add_test(tc, test_fn_classify_bad_rules);
	tcase_add_test(tc, test_fn_hostname_base64);
	tcase_add_test(tc, test_fn_local_ip);
	tcase_add_test(tc, test_register_function);
	tcase_add_test(tc, test_filter);
	tcase_add_test(tc, test_suricata_eve);
	tcase_add_test(tc, test_suricata_empty_fields);
	tcase_add_test(tc, test_suricata_reject);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(mapping_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
