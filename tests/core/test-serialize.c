/* SPDX-License-Identifier: Apache-2.0 */
/* Content types, strict parsing with positions, validation on the way in and out, exact round trips. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include <idmefv2/message.h>
#include <idmefv2/schema.h>

#define CT "application/json"
#define NOVAL IDMEFV2_SERIALIZE_NO_VALIDATE

static char err[1024];

static char *read_file(const char *name, size_t *ret_len)
{
	char path[512];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", TEST_DATA_DIR, name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*ret_len = (size_t)n;
	return buf;
}

static idmefv2_error unser(const char *text, unsigned flags, idmefv2_message **ret_msg)
{
	err[0] = '\0';
	return idmefv2_message_unserialize(CT, text, strlen(text), flags, ret_msg, NULL, err, sizeof(err));
}

/* Unserialize without validation, expecting success. */
static idmefv2_message *parse_ok(const char *text)
{
	idmefv2_message *msg = NULL;

	ck_assert_msg(unser(text, NOVAL, &msg) == IDMEFV2_OK, "%s: %s", text, err);
	return msg;
}

/* Serialize without validation, expecting success. */
static const char *ser(idmefv2_message *msg, size_t *ret_len)
{
	const char *data = NULL;

	ck_assert_msg(idmefv2_message_serialize(msg, CT, NOVAL, &data, ret_len, NULL, err, sizeof(err)) == IDMEFV2_OK,
	              "%s", err);
	return data;
}

static void assert_parse_error(const char *text, size_t len, idmefv2_error want, const char *want_err)
{
	idmefv2_message *msg = NULL;
	idmefv2_error e;

	err[0] = '\0';
	e = idmefv2_message_unserialize(CT, text, len, NOVAL, &msg, NULL, err, sizeof(err));
	ck_assert_msg(e == want, "%.*s: got %d (%s), want %d", (int)len, text, e, err, want);
	ck_assert_ptr_null(msg);
	ck_assert_msg(strstr(err, want_err), "%.*s: errstr \"%s\" lacks \"%s\"", (int)len, text, err, want_err);
}

#define PARSE_ERROR(text, want, want_err) assert_parse_error(text, sizeof(text) - 1, want, want_err)

/* ---- content types ------------------------------------------------------------------------------- */

START_TEST(test_content_types)
{
	static const char *const good[] = {
		"application/json", "text/json", "APPLICATION/JSON", "Text/Json", "application/json; charset=utf-8",
		"application/json;charset=UTF-8", "application/json; charset=\"utf-8\"", "  application/json  ",
		"text/json; charset=utf-8; foo=bar", "application/json;",
	};
	static const char *const bad[] = {
		"", "application/xml", "application/jsonx", "application/json-seq", "text/plain", "json",
		"application/json; charset=latin1", "application/json; charset", "application/json foo",
		"application/json; =x", "application/json; a=\"unterminated", "application/ json",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(idmefv2_content_type_supported(good[i]), "\"%s\" refused", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!idmefv2_content_type_supported(bad[i]), "\"%s\" accepted", bad[i]);
	ck_assert(!idmefv2_content_type_supported(NULL));
}
END_TEST

START_TEST(test_unknown_content_type)
{
	idmefv2_message *msg = NULL;
	const char *data = NULL;

	ck_assert_int_eq(idmefv2_message_unserialize("application/xml", "{}", 2, NOVAL, &msg, NULL, err, sizeof(err)),
	                 IDMEFV2_ERR_CONTENT_TYPE);
	ck_assert_ptr_null(msg);
	ck_assert_msg(strstr(err, "\"application/xml\"") && strstr(err, "application/json"), "%s", err);
	ck_assert_int_eq(idmefv2_message_unserialize(NULL, "{}", 2, NOVAL, &msg, NULL, err, sizeof(err)),
	                 IDMEFV2_ERR_CONTENT_TYPE);
	ck_assert_msg(strstr(err, "no content type"), "%s", err);

	msg = parse_ok("{}");
	ck_assert_int_eq(idmefv2_message_serialize(msg, "text/xml", NOVAL, &data, NULL, NULL, err, sizeof(err)),
	                 IDMEFV2_ERR_CONTENT_TYPE);
	ck_assert_ptr_null(data);
	ck_assert_msg(strstr(err, "\"text/xml\""), "%s", err);
	ck_assert_int_eq(idmefv2_message_serialize(msg, "text/json; charset=utf-8", NOVAL, &data, NULL, NULL, err,
	                                           sizeof(err)), IDMEFV2_OK);
	ck_assert_str_eq(data, "{}");
	idmefv2_message_unref(msg);
}
END_TEST

/* ---- malformed input -------------------------------------------------------------------------- */

START_TEST(test_malformed_positions)
{
	PARSE_ERROR("{\n  \"Version\": \"2.D.V08\",\n  \"ID\": x\n}", IDMEFV2_ERR_PARSE,
	            "line 3, column 9: unexpected character");
	PARSE_ERROR("{\n  \"a\": tru\n}", IDMEFV2_ERR_PARSE, "line 2, column 11: boolean expected");
	PARSE_ERROR("{\"a\":1,}", IDMEFV2_ERR_PARSE, "line 1, column 8: unexpected character");
	PARSE_ERROR("{\"Version\":", IDMEFV2_ERR_PARSE, "line 1, column 12: unexpected end of data");
	PARSE_ERROR("{\"a\":\"\\x41\"}", IDMEFV2_ERR_PARSE, "line 1, column 8: invalid string sequence");
	PARSE_ERROR("{\"a\":\"\xff\"}", IDMEFV2_ERR_PARSE, "line 1, column 7: invalid utf-8 string");
	PARSE_ERROR("\r\n\r\n  {\"a\":01}", IDMEFV2_ERR_PARSE, "line 3, column 10: number expected");
	/* a NUL byte in the input ends nothing: it is a bad character */
	PARSE_ERROR("{\"a\":\"x\0\"}", IDMEFV2_ERR_PARSE, "line 1, column 9");
}
END_TEST

START_TEST(test_json_c_laxities_refused)
{
	PARSE_ERROR("{\"Confidence\":NaN}", IDMEFV2_ERR_PARSE, "line 1, column 15: NaN and Infinity");
	PARSE_ERROR("{\"Confidence\":-Infinity}", IDMEFV2_ERR_PARSE, "line 1, column 16: NaN and Infinity");
	PARSE_ERROR("{\n'Note':1}", IDMEFV2_ERR_PARSE, "line 2, column 1: strings take double quotes");
	PARSE_ERROR("{\"Note\":\"a\tb\"}", IDMEFV2_ERR_PARSE, "line 1, column 11: control characters must be escaped");
	PARSE_ERROR("{\"Note\":\"a\nb\"}", IDMEFV2_ERR_PARSE, "line 1, column 11: control characters");
	PARSE_ERROR("{\"Confidence\":1.}", IDMEFV2_ERR_PARSE, "line 1, column 17: a digit must follow");
	PARSE_ERROR("{\"Confidence\":1.e5}", IDMEFV2_ERR_PARSE, "a digit must follow");
	PARSE_ERROR("{\"Note\":\"\xc0\xaf\"}", IDMEFV2_ERR_PARSE, "line 1, column 10: invalid utf-8 string");
	PARSE_ERROR("{\"Note\":\"\xed\xa0\x80\"}", IDMEFV2_ERR_PARSE, "invalid utf-8 string");
	PARSE_ERROR("{\"Note\":\"\xf4\x90\x80\x80\"}", IDMEFV2_ERR_PARSE, "invalid utf-8 string");
	PARSE_ERROR("{\"Note\":\"\xe2\x82\"}", IDMEFV2_ERR_PARSE, "invalid utf-8 string");
	PARSE_ERROR("{\"a\\u0000b\":1}", IDMEFV2_ERR_PARSE, "\\u0000 is not supported");
	/* but an escaped backslash before "u0000" is just text, and \u0000 in a value is fine */
	{
		idmefv2_message *msg = parse_ok("{\"a\\\\u0000b\":\"\\u0000\"}");
		struct json_object *v;

		ck_assert(json_object_object_get_ex(idmefv2_message_get_object(msg), "a\\u0000b", &v));
		ck_assert_int_eq(json_object_get_string_len(v), 1);
		idmefv2_message_unref(msg);
	}
}
END_TEST

START_TEST(test_trailing_garbage)
{
	PARSE_ERROR("{\"Version\":\"2.D.V08\"}\n  x", IDMEFV2_ERR_PARSE, "trailing garbage at line 2, column 3");
	PARSE_ERROR("{}{}", IDMEFV2_ERR_PARSE, "trailing garbage at line 1, column 3");
	PARSE_ERROR("{} ,", IDMEFV2_ERR_PARSE, "trailing garbage at line 1, column 4");
	assert_parse_error("{}\0", 3, IDMEFV2_ERR_PARSE, "trailing garbage at line 1, column 3");
	/* trailing whitespace is fine */
	idmefv2_message_unref(parse_ok("  {\"Version\":\"2.D.V08\"} \r\n\t\n"));
}
END_TEST

START_TEST(test_not_object)
{
	PARSE_ERROR("[1,2]", IDMEFV2_ERR_NOT_OBJECT, "the JSON text is an array, not an object");
	PARSE_ERROR("\"s\"", IDMEFV2_ERR_NOT_OBJECT, "a string");
	PARSE_ERROR("42", IDMEFV2_ERR_NOT_OBJECT, "a number");
	PARSE_ERROR(" -1.5e3 ", IDMEFV2_ERR_NOT_OBJECT, "a number");
	PARSE_ERROR("true", IDMEFV2_ERR_NOT_OBJECT, "a boolean");
	PARSE_ERROR("null", IDMEFV2_ERR_NOT_OBJECT, "null");
	/* malformed beats non-object */
	PARSE_ERROR("42 x", IDMEFV2_ERR_PARSE, "trailing garbage");
	PARSE_ERROR("nul", IDMEFV2_ERR_PARSE, "line 1, column 4");
}
END_TEST

START_TEST(test_empty)
{
	PARSE_ERROR("", IDMEFV2_ERR_PARSE, "line 1, column 1: empty input");
	PARSE_ERROR(" \n\t ", IDMEFV2_ERR_PARSE, "empty input");
	ck_assert_int_eq(idmefv2_message_unserialize(CT, NULL, 0, NOVAL, &(idmefv2_message *){ NULL }, NULL, err,
	                                             sizeof(err)), IDMEFV2_ERR_PARSE);
}
END_TEST

START_TEST(test_length_aware)
{
	/* only len bytes are read: what follows is neither needed nor looked at */
	const char buf[] = "{\"Version\":\"2.D.V08\"}GARBAGE";
	idmefv2_message *msg = NULL;

	ck_assert_int_eq(idmefv2_message_unserialize(CT, buf, 21, NOVAL, &msg, NULL, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_str_eq(idmefv2_message_get_version(msg), "2.D.V08");
	idmefv2_message_unref(msg);
	/* a cut in the middle is an error */
	ck_assert_int_eq(idmefv2_message_unserialize(CT, buf, 10, NOVAL, &msg, NULL, err, sizeof(err)), IDMEFV2_ERR_PARSE);
	ck_assert_msg(strstr(err, "line 1, column 11"), "%s", err);
}
END_TEST

/* ---- validation ---------------------------------------------------------------------------------- */

static const char no_analyzer[] =
	"{\"Version\":\"2.D.V08\",\"ID\":\"0190a5b2-7c3d-7e4f-8a1b-2c3d4e5f6a7b\","
	"\"CreateTime\":\"2026-01-02T03:04:05Z\"}";

START_TEST(test_json_parse_public)
{
	struct json_object *v = NULL;

	ck_assert_int_eq(idmefv2_json_parse("[1, \"a\", {\"b\": null}]", 21, &v, err, sizeof(err)), IDMEFV2_OK);
	ck_assert(json_object_is_type(v, json_type_array));
	ck_assert_uint_eq(json_object_array_length(v), 3);
	json_object_put(v);

	v = NULL;
	ck_assert_int_eq(idmefv2_json_parse("null", 4, &v, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_ptr_null(v);

	ck_assert_int_eq(idmefv2_json_parse("{\"a\":\n NaN}", 11, &v, err, sizeof(err)), IDMEFV2_ERR_PARSE);
	ck_assert_msg(strncmp(err, "line 2, column 2: ", 18) == 0, "%s", err);
	ck_assert_int_eq(idmefv2_json_parse("1 2", 3, &v, err, sizeof(err)), IDMEFV2_ERR_PARSE);
	ck_assert_int_eq(idmefv2_json_parse(NULL, 0, &v, err, sizeof(err)), IDMEFV2_ERR_INVALID_ARG);
}
END_TEST

START_TEST(test_unserialize_validates)
{
	idmefv2_message *msg = NULL;
	idmefv2_report *report = NULL;

	ck_assert_int_eq(idmefv2_message_unserialize(CT, no_analyzer, strlen(no_analyzer), 0, &msg, &report, err,
	                                             sizeof(err)), IDMEFV2_ERR_INVALID);
	ck_assert_ptr_null(msg);
	ck_assert_ptr_nonnull(report);
	ck_assert_uint_ge(idmefv2_report_count(report), 1);
	ck_assert_msg(strstr(err, "Analyzer") && strstr(err, "2.D.V08"), "%s", err);
	idmefv2_report_free(report);

	/* without a report */
	ck_assert_int_eq(idmefv2_message_unserialize(CT, no_analyzer, strlen(no_analyzer), 0, &msg, NULL, NULL, 0),
	                 IDMEFV2_ERR_INVALID);
	/* NO_VALIDATE skips it */
	report = NULL;
	ck_assert_int_eq(idmefv2_message_unserialize(CT, no_analyzer, strlen(no_analyzer), NOVAL, &msg, &report, err,
	                                             sizeof(err)), IDMEFV2_OK);
	ck_assert_ptr_null(report);
	idmefv2_message_unref(msg);

	/* a missing or unknown Version */
	ck_assert_int_eq(unser("{\"Analyzer\":{\"Name\":\"a\"}}", 0, &msg), IDMEFV2_ERR_VERSION);
	ck_assert_msg(strstr(err, "\"2.D.V08\""), "%s", err);
	ck_assert_int_eq(unser("{\"Version\":\"3.0\",\"Analyzer\":{\"Name\":\"a\"}}", 0, &msg), IDMEFV2_ERR_VERSION);
	ck_assert_msg(strstr(err, "\"3.0\""), "%s", err);
}
END_TEST

START_TEST(test_validate_flags_pass_through)
{
	/* line 1 of the invalid corpus breaks only the email format */
	size_t len;
	char *text = read_file("bench/messages-v08-invalid.ndjson", &len);
	char *nl = strchr(text, '\n');
	idmefv2_message *msg = NULL;
	idmefv2_report *report = NULL;

	ck_assert_ptr_nonnull(nl);
	len = (size_t)(nl - text);
	ck_assert_int_eq(idmefv2_message_unserialize(CT, text, len, 0, &msg, &report, err, sizeof(err)),
	                 IDMEFV2_ERR_INVALID);
	ck_assert_msg(strstr(err, "/Source/0/Email"), "%s", err);
	idmefv2_report_free(report);
	ck_assert_msg(idmefv2_message_unserialize(CT, text, len, IDMEFV2_VALIDATE_NO_FORMAT, &msg, NULL, err,
	                                          sizeof(err)) == IDMEFV2_OK, "%s", err);
	idmefv2_message_unref(msg);
	free(text);

	/* FIRST_ERROR: one entry although three things are wrong */
	report = NULL;
	ck_assert_int_eq(unser("{\"Version\":\"2.D.V08\",\"Bogus\":1}", 0, &msg), IDMEFV2_ERR_INVALID);
	ck_assert_int_eq(idmefv2_message_unserialize(CT, "{\"Version\":\"2.D.V08\",\"Bogus\":1}", 31,
	                                             IDMEFV2_VALIDATE_FIRST_ERROR, &msg, &report, err, sizeof(err)),
	                 IDMEFV2_ERR_INVALID);
	ck_assert_uint_eq(idmefv2_report_count(report), 1);
	idmefv2_report_free(report);
	report = NULL;
	ck_assert_int_eq(idmefv2_message_unserialize(CT, "{\"Version\":\"2.D.V08\",\"Bogus\":1}", 31, 0, &msg, &report,
	                                             err, sizeof(err)), IDMEFV2_ERR_INVALID);
	ck_assert_uint_gt(idmefv2_report_count(report), 1);
	idmefv2_report_free(report);
}
END_TEST

START_TEST(test_serialize_validates)
{
	idmefv2_message *msg = parse_ok(no_analyzer);
	idmefv2_report *report = NULL;
	const char *data = NULL;
	size_t len = 0;

	ck_assert_int_eq(idmefv2_message_serialize(msg, CT, 0, &data, &len, &report, err, sizeof(err)),
	                 IDMEFV2_ERR_INVALID);
	ck_assert_ptr_null(data);
	ck_assert_ptr_nonnull(report);
	ck_assert_msg(strstr(err, "Analyzer"), "%s", err);
	idmefv2_report_free(report);

	ck_assert_int_eq(idmefv2_message_serialize(msg, CT, NOVAL, &data, &len, NULL, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_str_eq(data, no_analyzer);
	ck_assert_uint_eq(len, strlen(no_analyzer));

	ck_assert_int_eq(idmefv2_message_set_string(msg, "Analyzer.Name", "a", err, sizeof(err)), IDMEFV2_OK);
	ck_assert_msg(idmefv2_message_serialize(msg, CT, 0, &data, &len, NULL, err, sizeof(err)) == IDMEFV2_OK, "%s",
	              err);
	ck_assert_uint_eq(len, strlen(data));
	ck_assert_ptr_nonnull(strstr(data, "\"Analyzer\":{\"Name\":\"a\"}"));
	idmefv2_message_unref(msg);
}
END_TEST

START_TEST(test_serialize_format)
{
	idmefv2_message *msg = parse_ok("{\"Version\":\"2.D.V08\",\"Ref\":[\"https://example.org/a/b\"],"
	                                "\"Analyzer\":{\"Name\":\"a\"}}");
	struct json_object *back;
	const char *data = NULL;
	size_t len;

	data = ser(msg, &len);
	/* no "\/", no spaces */
	ck_assert_str_eq(data, "{\"Version\":\"2.D.V08\",\"Ref\":[\"https://example.org/a/b\"],\"Analyzer\":{\"Name\":\"a\"}}");
	ck_assert_int_eq(idmefv2_message_serialize(msg, CT, NOVAL | IDMEFV2_SERIALIZE_PRETTY, &data, &len, NULL, err,
	                                           sizeof(err)), IDMEFV2_OK);
	ck_assert_ptr_nonnull(strchr(data, '\n'));
	ck_assert_ptr_nonnull(strstr(data, "https://example.org/a/b"));
	back = json_tokener_parse(data);
	ck_assert(json_object_equal(back, idmefv2_message_get_object(msg)));
	json_object_put(back);
	ck_assert_int_eq(idmefv2_message_serialize(NULL, CT, NOVAL, &data, &len, NULL, err, sizeof(err)),
	                 IDMEFV2_ERR_INVALID_ARG);
	idmefv2_message_unref(msg);
}
END_TEST

/* ---- exact round trips ----------------------------------------------------------------------------- */

/* Unserialize, serialize, and expect the very same text back. */
static void assert_same_text(const char *text)
{
	idmefv2_message *msg = parse_ok(text);
	size_t len;
	const char *out = ser(msg, &len);

	ck_assert_uint_eq(len, strlen(text));
	ck_assert_str_eq(out, text);
	idmefv2_message_unref(msg);
}

START_TEST(test_roundtrip_strings)
{
	idmefv2_message *msg = parse_ok("{\"Note\":\"a\\u0000b\\u0000\",\"Description\":"
	                                "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|\\u00e9\\u20ac\\ud83d\\ude00\"}");
	const char *s, *out;
	size_t len;

	ck_assert_int_eq(idmefv2_message_get_string(msg, "Note", &s, &len, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_uint_eq(len, 4);
	ck_assert_mem_eq(s, "a\0b\0", 4);
	ck_assert_int_eq(idmefv2_message_get_string(msg, "Description", &s, &len, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_str_eq(s, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	out = ser(msg, &len);
	/* NUL escaped, non-ASCII written as UTF-8 */
	ck_assert_str_eq(out, "{\"Note\":\"a\\u0000b\\u0000\",\"Description\":"
	                      "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}");
	idmefv2_message_unref(msg);
	/* and that text comes back as it went */
	assert_same_text("{\"Note\":\"a\\u0000b\\u0000\",\"Description\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}");
	assert_same_text("{\"Note\":\"quote \\\" backslash \\\\ tab \\t newline \\n ctl \\u0001 slash /\"}");

	/* set from C with embedded NULs, out and back */
	msg = parse_ok("{\"Version\":\"2.D.V08\"}");
	ck_assert_int_eq(idmefv2_message_set_string_len(msg, "Note", "\0x\0", 3, err, sizeof(err)), IDMEFV2_OK);
	out = ser(msg, &len);
	ck_assert_str_eq(out, "{\"Version\":\"2.D.V08\",\"Note\":\"\\u0000x\\u0000\"}");
	{
		idmefv2_message *back = parse_ok(out);

		ck_assert_int_eq(idmefv2_message_get_string(back, "Note", &s, &len, err, sizeof(err)), IDMEFV2_OK);
		ck_assert_uint_eq(len, 3);
		ck_assert_mem_eq(s, "\0x\0", 3);
		idmefv2_message_unref(back);
	}
	idmefv2_message_unref(msg);
}
END_TEST

START_TEST(test_roundtrip_integers)
{
	idmefv2_message *msg;
	struct json_object *v;
	int64_t i;

	assert_same_text("{\"a\":-9223372036854775808,\"b\":9223372036854775807,\"c\":18446744073709551615,"
	                 "\"d\":0,\"e\":-1,\"f\":9223372036854775808}");
	msg = parse_ok("{\"Attachment\":[{\"Size\":-9223372036854775808}],\"Version\":\"2.D.V08\","
	               "\"Analyzer\":{\"ID\":18446744073709551615}}");
	ck_assert_int_eq(idmefv2_message_get_int(msg, "Attachment.Size", &i, err, sizeof(err)), IDMEFV2_OK);
	ck_assert(i == INT64_MIN);
	ck_assert_int_eq(idmefv2_message_get_value(msg, "Analyzer.ID", &v, err, sizeof(err)), IDMEFV2_OK);
	ck_assert(json_object_get_uint64(v) == UINT64_MAX);
	idmefv2_message_unref(msg);
}
END_TEST

START_TEST(test_roundtrip_doubles_as_written)
{
	assert_same_text("{\"a\":0.1,\"b\":1e300,\"c\":1.0,\"d\":-0.0,\"e\":1E+2,\"f\":2.5e-3,\"g\":0.30000000000000004,"
	                 "\"h\":-1.7976931348623157e308,\"i\":5e-324,\"j\":100.00}");
	{
		idmefv2_message *msg = parse_ok("{\"Confidence\":-0.0}");
		double d;

		ck_assert_int_eq(idmefv2_message_get_number(msg, "Confidence", &d, err, sizeof(err)), IDMEFV2_OK);
		ck_assert(d == 0.0 && signbit(d));
		idmefv2_message_unref(msg);
	}
}
END_TEST

START_TEST(test_roundtrip_doubles_from_c)
{
	static const double values[] = {
		0.1, 1.0 / 3.0, 1e300, -0.0, 0.0, 1.0, 5e-324, DBL_MAX, -DBL_MAX, DBL_MIN, 123456789.125, -2.5,
		0.30000000000000004, 9007199254740993.0, 1e-7, 1e21, 4.35,
	};

	for (size_t k = 0; k < sizeof(values) / sizeof(values[0]); k++) {
		idmefv2_message *msg = parse_ok("{\"Version\":\"2.D.V08\"}"), *back;
		struct json_object *v;
		const char *out;
		double d;
		size_t len;

		ck_assert_int_eq(idmefv2_message_set_number(msg, "Confidence", values[k], err, sizeof(err)), IDMEFV2_OK);
		out = ser(msg, &len);
		back = parse_ok(out);
		ck_assert_int_eq(idmefv2_message_get_value(back, "Confidence", &v, err, sizeof(err)), IDMEFV2_OK);
		/* stays a double (1.0, not 1) */
		ck_assert_msg(json_object_is_type(v, json_type_double), "%s", out);
		ck_assert_int_eq(idmefv2_message_get_number(back, "Confidence", &d, err, sizeof(err)), IDMEFV2_OK);
		ck_assert_msg(memcmp(&d, &values[k], sizeof(d)) == 0, "%.17g came back as %.17g via %s", values[k], d, out);
		idmefv2_message_unref(back);
		idmefv2_message_unref(msg);
	}
	/* the shortest text that reads back the same */
	{
		idmefv2_message *msg = parse_ok("{}");
		size_t len;

		ck_assert_int_eq(idmefv2_message_set_number(msg, "Confidence", 0.1, err, sizeof(err)), IDMEFV2_OK);
		ck_assert_str_eq(ser(msg, &len), "{\"Confidence\":0.1}");
		ck_assert_int_eq(idmefv2_message_set_number(msg, "Confidence", 1.0, err, sizeof(err)), IDMEFV2_OK);
		ck_assert_str_eq(ser(msg, &len), "{\"Confidence\":1.0}");
		ck_assert_int_eq(idmefv2_message_set_number(msg, "Confidence", -0.0, err, sizeof(err)), IDMEFV2_OK);
		ck_assert_str_eq(ser(msg, &len), "{\"Confidence\":-0.0}");
		ck_assert_int_eq(idmefv2_message_set_number(msg, "Confidence", 1e300, err, sizeof(err)), IDMEFV2_OK);
		ck_assert_str_eq(ser(msg, &len), "{\"Confidence\":1e+300}");
		idmefv2_message_unref(msg);
	}
}
END_TEST

/* ---- the corpora --------------------------------------------------------------------------------- */

/* json-c alone, as the reference for comparisons. */
static struct json_object *parse_len(const char *text, size_t len)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *obj = json_tokener_parse_ex(tok, text, (int)len);

	json_tokener_free(tok);
	return obj;
}

/* Every line: unserialize (validated), serialize (validated again), re-parse, compare. */
static int roundtrip_corpus(const char *text, size_t len, int first, int step)
{
	const char *line = text, *end = text + len;
	int n = 0;

	for (int i = 0; line < end; i++) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t llen = nl ? (size_t)(nl - line) : (size_t)(end - line);

		if (llen && (i - first) % step == 0 && i >= first) {
			idmefv2_message *msg = NULL;
			struct json_object *orig, *again;
			const char *out = NULL;
			size_t olen;
			char lerr[512];

			if (idmefv2_message_unserialize(CT, line, llen, 0, &msg, NULL, lerr, sizeof(lerr)) != IDMEFV2_OK) {
				fprintf(stderr, "line %d: %s\n", i + 1, lerr);
				return -1;
			}
			if (idmefv2_message_serialize(msg, CT, 0, &out, &olen, NULL, lerr, sizeof(lerr)) != IDMEFV2_OK) {
				fprintf(stderr, "line %d: serialize: %s\n", i + 1, lerr);
				return -1;
			}
			orig = parse_len(line, llen);
			again = json_tokener_parse(out);
			if (!orig || !json_object_equal(orig, again) || strlen(out) != olen) {
				fprintf(stderr, "line %d: round trip differs\n", i + 1);
				return -1;
			}
			json_object_put(orig);
			json_object_put(again);
			idmefv2_message_unref(msg);
			n++;
		}
		line += llen + 1;
	}
	return n;
}

START_TEST(test_valid_corpus)
{
	size_t len;
	char *text = read_file("bench/messages-v08-valid.ndjson", &len);

	ck_assert_int_eq(roundtrip_corpus(text, len, 0, 1), 2000);
	free(text);
}
END_TEST

START_TEST(test_invalid_corpus)
{
	size_t len, rlen;
	char *text = read_file("bench/messages-v08-invalid.ndjson", &len);
	char *reasons = read_file("bench/messages-v08-invalid.reasons.txt", &rlen);
	char *line = text, *end = text + len;
	char *reason = strchr(reasons, '\n') + 1; /* past the header */
	int n = 0;

	while (line < end) {
		char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t llen = nl ? (size_t)(nl - line) : (size_t)(end - line);
		idmefv2_message *msg = NULL;
		idmefv2_report *report = NULL;

		if (nl)
			*nl = '\0';

		if (llen) {
			idmefv2_error e = idmefv2_message_unserialize(CT, line, llen, 0, &msg, &report, err, sizeof(err));
			/* "N<TAB>class<TAB>pointer<TAB>…": without a known Version there is no schema to check against */
			char *rnl = strchr(reason, '\n');
			bool version_gone = strstr(reason, "\t/Version\t") && !strstr(line, "\"Version\"");
			bool version_other = strstr(reason, "\t/Version\t") && !version_gone;

			ck_assert_ptr_nonnull(rnl);
			*rnl = '\0';
			if (version_gone) {
				ck_assert_msg(e == IDMEFV2_ERR_VERSION, "line %d: %d %s", n + 1, e, err);
				ck_assert_ptr_null(report);
			} else if (version_other && e != IDMEFV2_ERR_INVALID) {
				/* another Version: checked against that revision's schema, as python-idmefv2 does */
				ck_assert_msg(e == IDMEFV2_OK || (e == IDMEFV2_ERR_VERSION && strstr(err, "unknown IDMEFv2 Version")),
				              "line %d: %d %s", n + 1, e, err);
				ck_assert_ptr_null(report);
				if (e == IDMEFV2_OK) {
					ck_assert_str_ne(idmefv2_message_get_version(msg), "2.D.V08");
					idmefv2_message_unref(msg);
					msg = NULL;
				}
			} else {
				ck_assert_msg(e == IDMEFV2_ERR_INVALID, "line %d (%s): %d %s", n + 1, reason, e, err);
				ck_assert_uint_ge(idmefv2_report_count(report), 1);
				idmefv2_report_free(report);
			}
			ck_assert_ptr_null(msg);
			reason = rnl + 1;
			/* and the same text is well-formed */
			ck_assert_int_eq(idmefv2_message_unserialize(CT, line, llen, NOVAL, &msg, NULL, err, sizeof(err)),
			                 IDMEFV2_OK);
			idmefv2_message_unref(msg);
			n++;
		}
		line += llen + 1;
	}
	ck_assert_int_eq(n, 500);
	free(reasons);
	free(text);
}
END_TEST

#define THREADS 4

struct corpus_arg {
	const char *text;
	size_t len;
	int first, result;
};

static void *corpus_thread(void *p)
{
	struct corpus_arg *a = p;

	a->result = roundtrip_corpus(a->text, a->len, a->first, THREADS);
	return NULL;
}

START_TEST(test_corpus_threads)
{
	size_t len;
	char *text = read_file("bench/messages-v08-valid.ndjson", &len);
	struct corpus_arg args[THREADS];
	pthread_t th[THREADS];
	int total = 0;

	for (int t = 0; t < THREADS; t++) {
		args[t] = (struct corpus_arg){ .text = text, .len = len, .first = t };
		ck_assert_int_eq(pthread_create(&th[t], NULL, corpus_thread, &args[t]), 0);
	}
	for (int t = 0; t < THREADS; t++) {
		pthread_join(th[t], NULL);
		ck_assert_int_ge(args[t].result, 0);
		total += args[t].result;
	}
	ck_assert_int_eq(total, 2000);
	free(text);
}
END_TEST

static Suite *serialize_suite(void)
{
	Suite *s = suite_create("serialize");
	TCase *in = tcase_create("input"), *val = tcase_create("validation"), *rt = tcase_create("roundtrip"),
	      *corpus = tcase_create("corpus");

	tcase_add_test(in, test_content_types);
	tcase_add_test(in, test_unknown_content_type);
	tcase_add_test(in, test_malformed_positions);
	tcase_add_test(in, test_json_c_laxities_refused);
	tcase_add_test(in, test_trailing_garbage);
	tcase_add_test(in, test_not_object);
	tcase_add_test(in, test_empty);
	tcase_add_test(in, test_length_aware);
	tcase_add_test(in, test_json_parse_public);
	tcase_add_test(val, test_unserialize_validates);
	tcase_add_test(val, test_validate_flags_pass_through);
	tcase_add_test(val, test_serialize_validates);
	tcase_add_test(val, test_serialize_format);
	tcase_add_test(rt, test_roundtrip_strings);
	tcase_add_test(rt, test_roundtrip_integers);
	tcase_add_test(rt, test_roundtrip_doubles_as_written);
	tcase_add_test(rt, test_roundtrip_doubles_from_c);
	tcase_add_test(corpus, test_valid_corpus);
	tcase_add_test(corpus, test_invalid_corpus);
	tcase_add_test(corpus, test_corpus_threads);
	suite_add_tcase(s, in);
	suite_add_tcase(s, val);
	suite_add_tcase(s, rt);
	suite_add_tcase(s, corpus);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(serialize_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
