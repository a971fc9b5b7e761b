/* SPDX-License-Identifier: Apache-2.0 */
/* The draft-04 validator: keywords, reports, compiling, registry, threads. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include <idmefv2/schema.h>

static idmefv2_schema *compile(const char *text)
{
	idmefv2_schema *s = NULL;
	char err[512] = "";
	idmefv2_error rc = idmefv2_schema_compile_json(text, strlen(text), NULL, NULL, &s, err, sizeof(err));

	ck_assert_msg(rc == IDMEFV2_OK, "compiling %s: %d %s", text, rc, err);
	return s;
}

static struct json_object *parse(const char *text)
{
	struct json_object *o = json_tokener_parse(text);

	ck_assert_msg(o != NULL || strcmp(text, "null") == 0, "bad test JSON %s", text);
	return o;
}

/* Validate @instance (JSON text) and return the report (NULL if valid). */
static idmefv2_report *run(const idmefv2_schema *s, const char *instance, unsigned flags)
{
	struct json_object *o = parse(instance);
	idmefv2_report *r = NULL;
	idmefv2_error rc = idmefv2_schema_validate(s, o, flags, &r);

	if (rc == IDMEFV2_OK)
		ck_assert_ptr_null(r);
	else
		ck_assert_int_eq(rc, IDMEFV2_ERR_INVALID);
	json_object_put(o);
	return r;
}

static bool is_valid(const idmefv2_schema *s, const char *instance, unsigned flags)
{
	struct json_object *o = parse(instance);
	idmefv2_error rc = idmefv2_schema_validate(s, o, flags, NULL);

	json_object_put(o);
	ck_assert(rc == IDMEFV2_OK || rc == IDMEFV2_ERR_INVALID);
	return rc == IDMEFV2_OK;
}

/* Exactly one failure with these fields. */
static void expect_one(const char *schema, const char *instance, const char *ipath, const char *spath,
                       const char *keyword, const char *message)
{
	idmefv2_schema *s = compile(schema);
	idmefv2_report *r = run(s, instance, IDMEFV2_VALIDATE_DEFAULT);

	ck_assert_msg(r != NULL, "%s should be invalid against %s", instance, schema);
	ck_assert_uint_eq(idmefv2_report_count(r), 1);
	ck_assert_str_eq(idmefv2_report_instance_path(r, 0), ipath);
	ck_assert_str_eq(idmefv2_report_schema_path(r, 0), spath);
	ck_assert_str_eq(idmefv2_report_keyword(r, 0), keyword);
	ck_assert_str_eq(idmefv2_report_message(r, 0), message);
	/* the verdict-only mode agrees */
	ck_assert(!is_valid(s, instance, IDMEFV2_VALIDATE_DEFAULT));
	idmefv2_report_free(r);
	idmefv2_schema_unref(s);
}

/* ---- keywords and their messages ---- */

START_TEST(test_type)
{
	expect_one("{\"type\":\"string\"}", "12345", "", "#/type", "type", "12345 is not of type \"string\"");
	expect_one("{\"type\":[\"object\",\"string\"]}", "1.5", "", "#/type", "type",
	           "1.5 is not of type \"object\" or \"string\"");
	expect_one("{\"type\":[\"null\",\"number\",\"string\"]}", "true", "", "#/type", "type",
	           "true is not of type \"null\", \"number\" or \"string\"");
	/* draft-04 integers: 1.0 is a number but not an integer */
	expect_one("{\"type\":\"integer\"}", "1.0", "", "#/type", "type", "1.0 is not of type \"integer\"");
	{
		idmefv2_schema *s = compile("{\"type\":\"integer\"}");
		idmefv2_schema *n = compile("{\"type\":\"number\"}");

		ck_assert(is_valid(s, "12345678910111213141516171819202122232425262728293031", 0));
		ck_assert(is_valid(s, "-12345678910111213141516171819202122232425262728293031", 0));
		ck_assert(is_valid(s, "-7", 0));
		ck_assert(!is_valid(s, "1e3", 0));
		ck_assert(!is_valid(s, "true", 0));
		ck_assert(is_valid(n, "1", 0));
		ck_assert(is_valid(n, "1.5", 0));
		ck_assert(!is_valid(n, "false", 0));
		ck_assert(!is_valid(n, "\"1\"", 0));
		idmefv2_schema_unref(s);
		idmefv2_schema_unref(n);
	}
}
END_TEST

START_TEST(test_enum)
{
	expect_one("{\"definitions\":{\"priorityEnum\":{\"enum\":[\"Low\",\"High\"]}},"
	           "\"properties\":{\"Priority\":{\"$ref\":\"#/definitions/priorityEnum\"}}}",
	           "{\"Priority\":\"Critical\"}", "/Priority", "#/definitions/priorityEnum/enum", "enum",
	           "\"Critical\" is not one of the priorityEnum values");
	expect_one("{\"enum\":[\"a\",1,null]}", "\"b\"", "", "#/enum", "enum", "\"b\" is not one of [\"a\", 1, null]");
	{
		idmefv2_schema *s = compile("{\"enum\":[1,\"x\",{\"a\":[1,2]},[true]]}");

		ck_assert(is_valid(s, "1.0", 0));
		ck_assert(is_valid(s, "\"x\"", 0));
		ck_assert(is_valid(s, "{\"a\":[1.0,2]}", 0));
		ck_assert(is_valid(s, "[true]", 0));
		ck_assert(!is_valid(s, "{\"a\":[2,1]}", 0));
		ck_assert(!is_valid(s, "\"y\"", 0));
		ck_assert(!is_valid(s, "true", 0));
		idmefv2_schema_unref(s);
	}
	{
		/* a duplicate value (the V07 schema has one) is tolerated */
		idmefv2_schema *s = compile("{\"enum\":[\"VM.ASM\",\"A\",\"VM.ASM\"]}");

		ck_assert(is_valid(s, "\"VM.ASM\"", 0));
		ck_assert(!is_valid(s, "\"VM\"", 0));
		idmefv2_schema_unref(s);
	}
}
END_TEST

START_TEST(test_pattern)
{
	expect_one("{\"definitions\":{\"ipType\":{\"type\":\"string\",\"pattern\":\"^[0-9.]+$\"}},"
	           "\"properties\":{\"Source\":{\"type\":\"array\",\"items\":{\"properties\":"
	           "{\"IP\":{\"$ref\":\"#/definitions/ipType\"}}}}}}",
	           "{\"Source\":[{\"IP\":\"1.2.3.4\"},{\"IP\":\"10.0.0.x\"}]}", "/Source/1/IP",
	           "#/definitions/ipType/pattern", "pattern", "\"10.0.0.x\" does not match the ipType pattern");
	expect_one("{\"pattern\":\"^a+$\"}", "\"ab\"", "", "#/pattern", "pattern",
	           "\"ab\" does not match the pattern \"^a+$\"");
	{
		idmefv2_schema *s = compile("{\"pattern\":\"b\"}");

		/* a search, not a full match; non-strings are ignored */
		ck_assert(is_valid(s, "\"abc\"", 0));
		ck_assert(is_valid(s, "12", 0));
		ck_assert(!is_valid(s, "\"ac\"", 0));
		idmefv2_schema_unref(s);
	}
}
END_TEST

START_TEST(test_required_additional)
{
	expect_one("{\"properties\":{\"A\":{\"required\":[\"ID\"]}}}", "{\"A\":{\"X\":1}}", "/A",
	           "#/properties/A/required", "required", "missing required property \"ID\"");
	expect_one("{\"properties\":{\"ID\":{}},\"additionalProperties\":false}", "{\"ID\":1,\"Severity\":2}", "",
	           "#/additionalProperties", "additionalProperties", "property \"Severity\" is not allowed");
	expect_one("{\"additionalProperties\":false}", "{\"a\\\"b\":1}", "", "#/additionalProperties",
	           "additionalProperties", "property \"a\\\"b\" is not allowed");
	expect_one("{\"additionalProperties\":{\"type\":\"integer\"}}", "{\"a/b~c\":\"x\"}", "/a~1b~0c",
	           "#/additionalProperties/type", "type", "\"x\" is not of type \"integer\"");
	{
		idmefv2_schema *s = compile("{\"required\":[\"a\",\"b\",\"a\"],\"properties\":{\"a\":{}}}");
		idmefv2_report *r = run(s, "{\"c\":1}", 0);

		ck_assert_uint_eq(idmefv2_report_count(r), 2);
		ck_assert_str_eq(idmefv2_report_message(r, 0), "missing required property \"a\"");
		ck_assert_str_eq(idmefv2_report_message(r, 1), "missing required property \"b\"");
		idmefv2_report_free(r);
		ck_assert(is_valid(s, "{\"a\":1,\"b\":2}", 0));
		ck_assert(!is_valid(s, "{\"a\":1}", 0));
		idmefv2_schema_unref(s);
	}
}
END_TEST

START_TEST(test_pattern_properties)
{
	idmefv2_schema *s = compile("{\"properties\":{\"x\":{\"type\":\"string\"}},"
	                            "\"patternProperties\":{\"^n_\":{\"type\":\"number\"},\"_s$\":{\"type\":\"string\"}},"
	                            "\"additionalProperties\":false}");
	idmefv2_report *r;

	ck_assert(is_valid(s, "{\"x\":\"a\",\"n_1\":2,\"a_s\":\"b\"}", 0));
	/* a name matching two patterns must satisfy both */
	ck_assert(!is_valid(s, "{\"n_s\":2}", 0));
	r = run(s, "{\"n_1\":\"a\",\"y\":1}", 0);
	ck_assert_uint_eq(idmefv2_report_count(r), 2);
	ck_assert_str_eq(idmefv2_report_instance_path(r, 0), "/n_1");
	ck_assert_str_eq(idmefv2_report_schema_path(r, 0), "#/patternProperties/^n_/type");
	ck_assert_str_eq(idmefv2_report_message(r, 1), "property \"y\" is not allowed");
	idmefv2_report_free(r);
	idmefv2_schema_unref(s);
}
END_TEST

START_TEST(test_numbers)
{
	expect_one("{\"properties\":{\"Confidence\":{\"type\":\"number\",\"minimum\":0,\"maximum\":1}}}",
	           "{\"Confidence\":1.5}", "/Confidence", "#/properties/Confidence/maximum", "maximum",
	           "1.5 is greater than the maximum 1");
	expect_one("{\"minimum\":0}", "-1", "", "#/minimum", "minimum", "-1 is less than the minimum 0");
	expect_one("{\"maximum\":3,\"exclusiveMaximum\":true}", "3.0", "", "#/maximum", "maximum",
	           "3.0 is not less than the exclusive maximum 3");
	expect_one("{\"minimum\":1.1,\"exclusiveMinimum\":true}", "1.1", "", "#/minimum", "minimum",
	           "1.1 is not greater than the exclusive minimum 1.1");
	expect_one("{\"multipleOf\":0.0001}", "0.00751", "", "#/multipleOf", "multipleOf",
	           "0.00751 is not a multiple of 0.0001");
	{
		idmefv2_schema *s = compile("{\"multipleOf\":0.0001}");
		idmefv2_schema *t = compile("{\"multipleOf\":0.1}");
		idmefv2_schema *u = compile("{\"multipleOf\":0.123456789}");
		idmefv2_schema *v = compile("{\"multipleOf\":2}");
		idmefv2_schema *m = compile("{\"maximum\":18446744073709551615}");
		idmefv2_schema *x = compile("{\"maximum\":972783798187987123879878123.18878137,"
		                            "\"exclusiveMaximum\":true}");

		ck_assert(is_valid(s, "0.0075", 0));
		ck_assert(is_valid(s, "-0.0075", 0));
		ck_assert(is_valid(s, "0", 0));
		ck_assert(is_valid(s, "7", 0));
		ck_assert(is_valid(t, "0.3", 0));
		ck_assert(is_valid(t, "1e2", 0));
		ck_assert(!is_valid(t, "0.31", 0));
		ck_assert(!is_valid(u, "1e308", 0));
		ck_assert(is_valid(v, "10", 0));
		ck_assert(!is_valid(v, "7", 0));
		ck_assert(!is_valid(v, "7.5", 0));
		ck_assert(is_valid(v, "4.0", 0));
		ck_assert(is_valid(m, "18446744073709551600", 0));
		ck_assert(!is_valid(x, "972783798187987123879878123.188781371", 0));
		ck_assert(is_valid(x, "972783798187987123879878123.188781369", 0));
		idmefv2_schema_unref(s);
		idmefv2_schema_unref(t);
		idmefv2_schema_unref(u);
		idmefv2_schema_unref(v);
		idmefv2_schema_unref(m);
		idmefv2_schema_unref(x);
	}
}
END_TEST

START_TEST(test_strings)
{
	idmefv2_schema *s = compile("{\"minLength\":2,\"maxLength\":3}");

	/* lengths count code points, not bytes */
	ck_assert(is_valid(s, "\"\xc3\xa9\xc3\xa9\"", 0));
	ck_assert(!is_valid(s, "\"\xc3\xa9\"", 0));
	ck_assert(is_valid(s, "\"\xf0\x9f\x92\xa9\xf0\x9f\x92\xa9\xf0\x9f\x92\xa9\"", 0));
	ck_assert(!is_valid(s, "\"abcd\"", 0));
	idmefv2_schema_unref(s);
	expect_one("{\"minLength\":2}", "\"a\"", "", "#/minLength", "minLength", "\"a\" is shorter than 2 characters");
	expect_one("{\"maxLength\":1}", "\"ab\"", "", "#/maxLength", "maxLength", "\"ab\" is longer than 1 character");
}
END_TEST

START_TEST(test_format)
{
	idmefv2_schema *s = compile("{\"properties\":{\"u\":{\"format\":\"uri\"},\"e\":{\"format\":\"email\"},"
	                            "\"z\":{\"format\":\"no-such-format\"}}}");
	idmefv2_report *r;

	r = run(s, "{\"u\":\"www.example.org/x\"}", 0);
	ck_assert_uint_eq(idmefv2_report_count(r), 1);
	ck_assert_str_eq(idmefv2_report_instance_path(r, 0), "/u");
	ck_assert_str_eq(idmefv2_report_schema_path(r, 0), "#/properties/u/format");
	ck_assert_str_eq(idmefv2_report_keyword(r, 0), "format");
	ck_assert_str_eq(idmefv2_report_message(r, 0), "\"www.example.org/x\" is not a valid uri");
	idmefv2_report_free(r);
	ck_assert(is_valid(s, "{\"u\":\"http://www.example.org/x\",\"e\":\"a@example.org\"}", 0));
	ck_assert(!is_valid(s, "{\"e\":\"admin.example.org\"}", 0));
	/* NO_FORMAT turns format checking off; unknown formats are ignored */
	ck_assert(is_valid(s, "{\"u\":\"www.example.org/x\",\"e\":\"x\"}", IDMEFV2_VALIDATE_NO_FORMAT));
	ck_assert(is_valid(s, "{\"z\":\"anything\"}", 0));
	idmefv2_schema_unref(s);

	s = compile("{\"format\":\"regex\"}");
	ck_assert(is_valid(s, "\"^a(b|c)$\"", 0));
	ck_assert(!is_valid(s, "\"(unclosed\"", 0));
	ck_assert(is_valid(s, "\"(unclosed\"", IDMEFV2_VALIDATE_NO_FORMAT));
	idmefv2_schema_unref(s);
}
END_TEST

START_TEST(test_arrays)
{
	idmefv2_schema *s;
	idmefv2_report *r;

	expect_one("{\"minItems\":2}", "[1]", "", "#/minItems", "minItems",
	           "the array has 1 item, fewer than the minimum 2");
	expect_one("{\"maxItems\":1}", "[1,2]", "", "#/maxItems", "maxItems",
	           "the array has 2 items, more than the maximum 1");
	expect_one("{\"uniqueItems\":true}", "[{\"a\":1,\"b\":2},3,{\"b\":2,\"a\":1.0}]", "", "#/uniqueItems",
	           "uniqueItems", "items 0 and 2 are equal");
	expect_one("{\"items\":[{},{}],\"additionalItems\":false}", "[1,2,3]", "", "#/additionalItems",
	           "additionalItems", "the array has 3 items, more than the 2 that \"items\" allows");

	s = compile("{\"uniqueItems\":true}");
	ck_assert(!is_valid(s, "[1,1.0]", 0));
	ck_assert(is_valid(s, "[1,true]", 0));
	ck_assert(is_valid(s, "[0,false,null,\"\",[],{}]", 0));
	ck_assert(is_valid(s, "[[1],[true]]", 0));
	idmefv2_schema_unref(s);

	/* long arrays are checked by hashing, with the same notion of equality */
	{
		struct {
			char *p;
			size_t len;
		} b = {malloc(200000), 0};
		struct json_object *arr;
		idmefv2_error rc;

		ck_assert_ptr_nonnull(b.p);
		b.len += (size_t)sprintf(b.p + b.len, "[");
		for (int i = 0; i < 10000; i++)
			b.len += (size_t)sprintf(b.p + b.len, "%s%d", i ? "," : "", i);
		b.len += (size_t)sprintf(b.p + b.len, ",{\"a\":1,\"b\":[2]},\"x\"]");
		s = compile("{\"uniqueItems\":true}");
		arr = parse(b.p);
		ck_assert_int_eq(idmefv2_schema_validate(s, arr, 0, NULL), IDMEFV2_OK);
		json_object_array_add(arr, json_tokener_parse("{\"b\":[2.0],\"a\":1}"));
		r = NULL;
		rc = idmefv2_schema_validate(s, arr, 0, &r);
		ck_assert_int_eq(rc, IDMEFV2_ERR_INVALID);
		ck_assert_str_eq(idmefv2_report_message(r, 0), "items 10000 and 10002 are equal");
		idmefv2_report_free(r);
		json_object_array_put_idx(arr, 10002, json_object_new_double_s(17.0, "17.0"));
		r = NULL;
		rc = idmefv2_schema_validate(s, arr, 0, &r);
		ck_assert_int_eq(rc, IDMEFV2_ERR_INVALID);
		ck_assert_str_eq(idmefv2_report_message(r, 0), "items 17 and 10002 are equal");
		idmefv2_report_free(r);
		json_object_put(arr);
		free(b.p);
		idmefv2_schema_unref(s);
	}

	s = compile("{\"items\":[{\"type\":\"integer\"},{\"type\":\"string\"}],\"additionalItems\":{\"type\":\"null\"}}");
	ck_assert(is_valid(s, "[1,\"a\",null,null]", 0));
	ck_assert(is_valid(s, "[1]", 0));
	r = run(s, "[\"x\",\"a\",3]", 0);
	ck_assert_uint_eq(idmefv2_report_count(r), 2);
	ck_assert_str_eq(idmefv2_report_instance_path(r, 0), "/0");
	ck_assert_str_eq(idmefv2_report_schema_path(r, 0), "#/items/0/type");
	ck_assert_str_eq(idmefv2_report_instance_path(r, 1), "/2");
	ck_assert_str_eq(idmefv2_report_schema_path(r, 1), "#/additionalItems/type");
	idmefv2_report_free(r);
	idmefv2_schema_unref(s);
}
END_TEST

START_TEST(test_objects_counts_dependencies)
{
	idmefv2_schema *s;

	expect_one("{\"minProperties\":2}", "{\"a\":1}", "", "#/minProperties", "minProperties",
	           "the object has 1 property, fewer than the minimum 2");
	expect_one("{\"maxProperties\":1}", "{\"a\":1,\"b\":2}", "", "#/maxProperties", "maxProperties",
	           "the object has 2 properties, more than the maximum 1");
	expect_one("{\"dependencies\":{\"bar\":[\"foo\"]}}", "{\"bar\":1}", "", "#/dependencies", "dependencies",
	           "property \"bar\" requires property \"foo\"");
	expect_one("{\"dependencies\":{\"bar\":{\"properties\":{\"foo\":{\"type\":\"integer\"}}}}}",
	           "{\"bar\":1,\"foo\":\"x\"}", "/foo", "#/dependencies/bar/properties/foo/type", "type",
	           "\"x\" is not of type \"integer\"");
	s = compile("{\"dependencies\":{\"bar\":[\"foo\",\"baz\"]}}");
	ck_assert(is_valid(s, "{\"foo\":1}", 0));
	ck_assert(is_valid(s, "{\"bar\":1,\"foo\":1,\"baz\":1}", 0));
	ck_assert(!is_valid(s, "{\"bar\":1,\"foo\":1}", 0));
	ck_assert(is_valid(s, "[\"bar\"]", 0));
	idmefv2_schema_unref(s);
}
END_TEST

START_TEST(test_composites)
{
	idmefv2_schema *s;
	idmefv2_report *r;

	/* composites report their own failure, not each branch's */
	expect_one("{\"anyOf\":[{\"type\":\"string\"},{\"minimum\":2}]}", "1", "", "#/anyOf", "anyOf",
	           "1 is not valid against any of the 2 anyOf schemas");
	expect_one("{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":2}]}", "3", "", "#/oneOf", "oneOf",
	           "3 is valid against more than one of the 2 oneOf schemas (0 and 1)");
	expect_one("{\"oneOf\":[{\"type\":\"integer\"},{\"type\":\"string\"},{\"type\":\"null\"}]}", "1.5", "",
	           "#/oneOf", "oneOf", "1.5 is not valid against any of the 3 oneOf schemas");
	expect_one("{\"not\":{\"type\":\"integer\"}}", "1", "", "#/not", "not",
	           "1 must not be valid against the \"not\" schema");
	/* allOf reports each branch's own failures */
	s = compile("{\"allOf\":[{\"type\":\"string\"},{\"minimum\":5}]}");
	r = run(s, "3", 0);
	ck_assert_uint_eq(idmefv2_report_count(r), 2);
	ck_assert_str_eq(idmefv2_report_schema_path(r, 0), "#/allOf/0/type");
	ck_assert_str_eq(idmefv2_report_schema_path(r, 1), "#/allOf/1/minimum");
	idmefv2_report_free(r);
	ck_assert(is_valid(s, "\"x\"", 0));
	idmefv2_schema_unref(s);
}
END_TEST

/* ---- reports ---- */

START_TEST(test_all_errors_and_first_error)
{
	idmefv2_schema *s = compile("{\"type\":\"object\",\"required\":[\"ID\"],\"additionalProperties\":false,"
	                            "\"properties\":{\"ID\":{},\"a\":{\"type\":\"string\"},\"b\":{\"type\":\"array\","
	                            "\"items\":{\"type\":\"integer\"}}}}");
	const char *bad = "{\"a\":1,\"b\":[1,\"x\",2.5],\"c\":null}";
	struct json_object *o = parse(bad), *j, *e, *v;
	idmefv2_report *r = NULL, *untouched = (idmefv2_report *)&o;

	r = run(s, bad, IDMEFV2_VALIDATE_DEFAULT);
	ck_assert_uint_eq(idmefv2_report_count(r), 5);
	ck_assert_str_eq(idmefv2_report_instance_path(r, 0), "/a");
	ck_assert_str_eq(idmefv2_report_instance_path(r, 1), "/b/1");
	ck_assert_str_eq(idmefv2_report_instance_path(r, 2), "/b/2");
	ck_assert_str_eq(idmefv2_report_message(r, 3), "property \"c\" is not allowed");
	ck_assert_str_eq(idmefv2_report_message(r, 4), "missing required property \"ID\"");
	ck_assert_ptr_null(idmefv2_report_message(r, 5));

	j = idmefv2_report_to_json(r);
	ck_assert_ptr_nonnull(j);
	ck_assert_uint_eq(json_object_array_length(j), 5);
	e = json_object_array_get_idx(j, 1);
	ck_assert(json_object_object_get_ex(e, "instance", &v));
	ck_assert_str_eq(json_object_get_string(v), "/b/1");
	ck_assert(json_object_object_get_ex(e, "schema", &v));
	ck_assert_str_eq(json_object_get_string(v), "#/properties/b/items/type");
	ck_assert(json_object_object_get_ex(e, "keyword", &v));
	ck_assert_str_eq(json_object_get_string(v), "type");
	ck_assert(json_object_object_get_ex(e, "message", &v));
	ck_assert_str_eq(json_object_get_string(v), "\"x\" is not of type \"integer\"");
	json_object_put(j);
	idmefv2_report_free(r);

	r = run(s, bad, IDMEFV2_VALIDATE_FIRST_ERROR);
	ck_assert_uint_eq(idmefv2_report_count(r), 1);
	ck_assert_str_eq(idmefv2_report_instance_path(r, 0), "/a");
	idmefv2_report_free(r);

	/* without a report pointer only the verdict comes back */
	ck_assert_int_eq(idmefv2_schema_validate(s, o, 0, NULL), IDMEFV2_ERR_INVALID);
	json_object_put(o);
	/* valid: the report pointer is left untouched */
	o = parse("{\"ID\":1}");
	ck_assert_int_eq(idmefv2_schema_validate(s, o, 0, &untouched), IDMEFV2_OK);
	ck_assert_ptr_eq(untouched, (idmefv2_report *)&o);
	json_object_put(o);
	ck_assert_uint_eq(idmefv2_report_count(NULL), 0);
	idmefv2_report_free(NULL);
	idmefv2_schema_unref(s);
}
END_TEST

START_TEST(test_truncation)
{
	char text[400];
	idmefv2_schema *s = compile("{\"type\":\"integer\"}");
	idmefv2_report *r;
	const char *msg;

	memset(text, 0, sizeof(text));
	text[0] = '"';
	for (int i = 1; i < 300; i++)
		text[i] = (char)('a' + i % 26);
	text[300] = '"';
	r = run(s, text, 0);
	msg = idmefv2_report_message(r, 0);
	ck_assert_msg(strlen(msg) < 120, "message too long: %s", msg);
	ck_assert_ptr_nonnull(strstr(msg, "\xe2\x80\xa6 is not of type \"integer\""));
	ck_assert(strncmp(msg, "\"bcdefghij", 10) == 0);
	idmefv2_report_free(r);
	/* control characters are escaped as in JSON */
	r = run(s, "\"a\\nb\\u0001\"", 0);
	ck_assert_str_eq(idmefv2_report_message(r, 0), "\"a\\nb\\u0001\" is not of type \"integer\"");
	idmefv2_report_free(r);
	idmefv2_schema_unref(s);
}
END_TEST

/* ---- refs, ids, registry ---- */

START_TEST(test_refs)
{
	idmefv2_schema *s;

	/* escaped and percent-encoded pointers */
	s = compile("{\"definitions\":{\"a/b\":{\"type\":\"integer\"},\"c~d\":{\"type\":\"string\"},"
	            "\"e%f\":{\"type\":\"null\"}},\"properties\":{\"x\":{\"$ref\":\"#/definitions/a~1b\"},"
	            "\"y\":{\"$ref\":\"#/definitions/c~0d\"},\"z\":{\"$ref\":\"#/definitions/e%25f\"}}}");
	ck_assert(is_valid(s, "{\"x\":1,\"y\":\"s\",\"z\":null}", 0));
	ck_assert(!is_valid(s, "{\"x\":\"1\"}", 0));
	ck_assert(!is_valid(s, "{\"y\":1}", 0));
	ck_assert(!is_valid(s, "{\"z\":1}", 0));
	idmefv2_schema_unref(s);

	/* recursion through the root */
	s = compile("{\"type\":\"object\",\"properties\":{\"child\":{\"$ref\":\"#\"},\"v\":{\"type\":\"integer\"}}}");
	ck_assert(is_valid(s, "{\"child\":{\"child\":{\"v\":1}}}", 0));
	{
		idmefv2_report *r = run(s, "{\"child\":{\"child\":{\"v\":\"no\"}}}", 0);

		ck_assert_str_eq(idmefv2_report_instance_path(r, 0), "/child/child/v");
		ck_assert_str_eq(idmefv2_report_schema_path(r, 0), "#/properties/v/type");
		idmefv2_report_free(r);
	}
	idmefv2_schema_unref(s);

	/* id changes the base URI of refs below it */
	s = compile("{\"id\":\"http://example.com/root.json\",\"properties\":{\"a\":{\"$ref\":\"item.json\"}},"
	            "\"definitions\":{\"it\":{\"id\":\"http://example.com/item.json\",\"type\":\"integer\"}}}");
	ck_assert(is_valid(s, "{\"a\":1}", 0));
	ck_assert(!is_valid(s, "{\"a\":\"x\"}", 0));
	idmefv2_schema_unref(s);

	/* the draft-04 meta-schema is known without a registry */
	s = compile("{\"$ref\":\"http://json-schema.org/draft-04/schema#\"}");
	ck_assert(is_valid(s, "{\"type\":\"string\",\"minLength\":1}", 0));
	ck_assert(!is_valid(s, "{\"type\":5}", 0));
	ck_assert(!is_valid(s, "{\"minLength\":-1}", 0));
	idmefv2_schema_unref(s);
}
END_TEST

START_TEST(test_registry)
{
	idmefv2_schema_registry *reg = idmefv2_schema_registry_new();
	struct json_object *remote = parse("{\"definitions\":{\"port\":{\"type\":\"integer\",\"maximum\":65535}},"
	                                   "\"type\":\"object\"}");
	const char *text = "{\"properties\":{\"p\":{\"$ref\":\"defs.json#/definitions/port\"}}}";
	idmefv2_schema *s = NULL;
	idmefv2_report *r;
	char err[512];

	ck_assert_ptr_nonnull(reg);
	/* without the remote document the ref cannot be resolved */
	ck_assert_int_eq(idmefv2_schema_compile_json(text, strlen(text), "http://example.com/main.json", reg, &s,
	                                             err, sizeof(err)),
	                 IDMEFV2_ERR_SCHEMA);
	ck_assert_ptr_null(s);
	ck_assert_ptr_nonnull(strstr(err, "#/properties/p/$ref"));
	ck_assert_int_eq(idmefv2_schema_registry_add(reg, "http://example.com/defs.json#", remote), IDMEFV2_OK);
	json_object_put(remote);
	ck_assert_int_eq(idmefv2_schema_registry_add(NULL, "x", remote), IDMEFV2_ERR_INVALID_ARG);
	ck_assert_int_eq(idmefv2_schema_compile_json(text, strlen(text), "http://example.com/main.json", reg, &s,
	                                             err, sizeof(err)),
	                 IDMEFV2_OK);
	/* the schema keeps what it needs: the registry may go */
	idmefv2_schema_registry_free(reg);
	ck_assert(is_valid(s, "{\"p\":80}", 0));
	r = run(s, "{\"p\":70000}", 0);
	ck_assert_uint_eq(idmefv2_report_count(r), 1);
	ck_assert_str_eq(idmefv2_report_schema_path(r, 0), "http://example.com/defs.json#/definitions/port/maximum");
	ck_assert_str_eq(idmefv2_report_message(r, 0), "70000 is greater than the maximum 65535");
	idmefv2_report_free(r);
	idmefv2_schema_unref(s);
}
END_TEST

/* ---- compiling ---- */

static void expect_schema_error(const char *text, const char *where)
{
	idmefv2_schema *s = NULL;
	char err[512] = "";
	idmefv2_error rc = idmefv2_schema_compile_json(text, strlen(text), NULL, NULL, &s, err, sizeof(err));

	ck_assert_msg(rc == IDMEFV2_ERR_SCHEMA, "%s: expected ERR_SCHEMA, got %d", text, rc);
	ck_assert_ptr_null(s);
	ck_assert_msg(strstr(err, where) != NULL, "%s: \"%s\" does not name %s", text, err, where);
}

START_TEST(test_compile_errors)
{
	idmefv2_schema *s = NULL;
	char err[256];

	expect_schema_error("{\"type\":5}", "#/type");
	expect_schema_error("{\"properties\":{\"a\":{\"type\":\"strin\"}}}", "#/properties/a/type");
	expect_schema_error("{\"properties\":{\"a\":{\"$ref\":\"#/definitions/nope\"}}}", "#/properties/a/$ref");
	expect_schema_error("{\"$ref\":\"http://example.com/x.json\"}", "#/$ref");
	expect_schema_error("{\"pattern\":\"(unclosed\"}", "#/pattern");
	expect_schema_error("{\"patternProperties\":{\"[\":{}}}", "#/patternProperties");
	expect_schema_error("{\"minLength\":-1}", "#/minLength");
	expect_schema_error("{\"items\":5}", "#/items");
	expect_schema_error("{\"properties\":{\"a\":3}}", "#/properties");
	expect_schema_error("{\"anyOf\":[]}", "#/anyOf");
	expect_schema_error("{\"multipleOf\":0}", "#/multipleOf");
	expect_schema_error("{\"required\":[1]}", "#/required");
	expect_schema_error("{\"exclusiveMinimum\":\"yes\",\"minimum\":1}", "#/exclusiveMinimum");
	expect_schema_error("{\"definitions\":{\"bad\":{\"enum\":3}}}", "#/definitions/bad/enum");
	expect_schema_error("{\"definitions\":{\"a\":{\"$ref\":\"#/definitions/b\"},\"b\":{\"$ref\":\"#/definitions/a\"}},"
	                    "\"$ref\":\"#/definitions/a\"}",
	                    "circular");
	expect_schema_error("{\"allOf\":[{\"$ref\":\"#\"}]}", "#");

	ck_assert_int_eq(idmefv2_schema_compile_json("{\"type\":", 8, NULL, NULL, &s, err, sizeof(err)),
	                 IDMEFV2_ERR_PARSE);
	ck_assert_ptr_nonnull(strstr(err, "line 1"));
	ck_assert_int_eq(idmefv2_schema_compile_json("{} x", 4, NULL, NULL, &s, err, sizeof(err)), IDMEFV2_ERR_PARSE);
	ck_assert_int_eq(idmefv2_schema_compile_json("[1]", 3, NULL, NULL, &s, err, sizeof(err)), IDMEFV2_ERR_SCHEMA);
	ck_assert_int_eq(idmefv2_schema_load_file("/nonexistent/schema.json", NULL, &s, err, sizeof(err)),
	                 IDMEFV2_ERR_IO);
	ck_assert_int_eq(idmefv2_schema_compile(NULL, NULL, NULL, &s, NULL, 0), IDMEFV2_ERR_INVALID_ARG);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(idmefv2_schema_validate(NULL, NULL, 0, NULL), IDMEFV2_ERR_INVALID_ARG);

	/* unknown keywords are ignored, siblings of $ref too */
	s = compile("{\"foo\":{\"type\":5},\"definitions\":{\"i\":{\"type\":\"integer\"}},"
	            "\"properties\":{\"a\":{\"$ref\":\"#/definitions/i\",\"type\":\"string\"}}}");
	ck_assert(is_valid(s, "{\"a\":1}", 0));
	ck_assert(!is_valid(s, "{\"a\":\"s\"}", 0));
	idmefv2_schema_unref(s);
}
END_TEST

START_TEST(test_load_file)
{
	char path[] = "/tmp/test-schema-XXXXXX";
	int fd = mkstemp(path);
	FILE *f;
	idmefv2_schema *s = NULL;
	char err[256];

	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	fputs("{\"type\":\"array\",\"items\":{\"type\":\"boolean\"}}\n", f);
	fclose(f);
	ck_assert_int_eq(idmefv2_schema_load_file(path, NULL, &s, err, sizeof(err)), IDMEFV2_OK);
	ck_assert(is_valid(s, "[true,false]", 0));
	ck_assert(!is_valid(s, "[1]", 0));
	idmefv2_schema_unref(s);
	unlink(path);
}
END_TEST

START_TEST(test_refcount)
{
	struct json_object *doc = parse("{\"enum\":[\"kept\"]}");
	idmefv2_schema *s = NULL;

	ck_assert_int_eq(idmefv2_schema_compile(doc, NULL, NULL, &s, NULL, 0), IDMEFV2_OK);
	ck_assert_ptr_eq(idmefv2_schema_get_document(s), doc);
	/* the schema holds its own reference to the document */
	json_object_put(doc);
	ck_assert_ptr_eq(idmefv2_schema_ref(s), s);
	idmefv2_schema_unref(s);
	ck_assert(is_valid(s, "\"kept\"", 0));
	ck_assert(!is_valid(s, "\"other\"", 0));
	ck_assert(json_object_is_type(idmefv2_schema_get_document(s), json_type_object));
	idmefv2_schema_unref(s);
	idmefv2_schema_unref(NULL);
	ck_assert_ptr_null(idmefv2_schema_ref(NULL));
}
END_TEST

/* ---- threads ---- */

#define N_THREADS 4
#define N_ROUNDS 2000

struct thread_arg {
	const idmefv2_schema *schema;
	struct json_object *good;
	struct json_object *bad;
	int failures;
};

static void *thread_main(void *p)
{
	struct thread_arg *a = p;

	for (int i = 0; i < N_ROUNDS; i++) {
		idmefv2_report *r = NULL;

		if (idmefv2_schema_validate(a->schema, a->good, 0, &r) != IDMEFV2_OK || r)
			a->failures++;
		if (idmefv2_schema_validate(a->schema, a->bad, 0, &r) != IDMEFV2_ERR_INVALID ||
		    idmefv2_report_count(r) != 2 || strcmp(idmefv2_report_instance_path(r, 0), "/list/1") != 0 ||
		    strcmp(idmefv2_report_message(r, 1), "missing required property \"id\"") != 0)
			a->failures++;
		idmefv2_report_free(r);
	}
	return NULL;
}

START_TEST(test_threads)
{
	idmefv2_schema *s = compile("{\"type\":\"object\",\"required\":[\"id\"],\"properties\":{\"id\":{\"pattern\":"
	                            "\"^[0-9a-f]{8}$\"},\"list\":{\"items\":{\"$ref\":\"#/definitions/e\"}}},"
	                            "\"definitions\":{\"e\":{\"enum\":[\"a\",\"b\",\"c\"]}}}");
	struct json_object *good = parse("{\"id\":\"0123abcd\",\"list\":[\"a\",\"c\"]}");
	struct json_object *bad = parse("{\"list\":[\"a\",\"z\"]}");
	struct thread_arg args[N_THREADS];
	pthread_t t[N_THREADS];

	for (int i = 0; i < N_THREADS; i++) {
		args[i] = (struct thread_arg){s, good, bad, 0};
		ck_assert_int_eq(pthread_create(&t[i], NULL, thread_main, &args[i]), 0);
	}
	for (int i = 0; i < N_THREADS; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(args[i].failures, 0);
	}
	json_object_put(good);
	json_object_put(bad);
	idmefv2_schema_unref(s);
}
END_TEST

static Suite *schema_suite(void)
{
	Suite *s = suite_create("schema");
	TCase *k = tcase_create("keywords");
	TCase *r = tcase_create("reports");
	TCase *c = tcase_create("compile");
	TCase *t = tcase_create("threads");

	tcase_add_test(k, test_type);
	tcase_add_test(k, test_enum);
	tcase_add_test(k, test_pattern);
	tcase_add_test(k, test_required_additional);
	tcase_add_test(k, test_pattern_properties);
	tcase_add_test(k, test_numbers);
	tcase_add_test(k, test_strings);
	tcase_add_test(k, test_format);
	tcase_add_test(k, test_arrays);
	tcase_add_test(k, test_objects_counts_dependencies);
	tcase_add_test(k, test_composites);
	suite_add_tcase(s, k);
	tcase_add_test(r, test_all_errors_and_first_error);
	tcase_add_test(r, test_truncation);
	suite_add_tcase(s, r);
	tcase_add_test(c, test_refs);
	tcase_add_test(c, test_registry);
	tcase_add_test(c, test_compile_errors);
	tcase_add_test(c, test_load_file);
	tcase_add_test(c, test_refcount);
	suite_add_tcase(s, c);
	tcase_add_test(t, test_threads);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(schema_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
