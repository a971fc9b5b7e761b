/* SPDX-License-Identifier: Apache-2.0 */
/* IDMEF path access: syntax, schema-driven resolution, setters, getters, delete, length. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include <idmefv2/message.h>
#include <idmefv2/schema.h>

static char err[512];

static idmefv2_message *msg_of(const char *json)
{
	idmefv2_message *msg = NULL;

	ck_assert_msg(idmefv2_message_new_from_json(json, strlen(json), &msg, err, sizeof(err)) == IDMEFV2_OK,
	              "%s", err);
	return msg;
}

static idmefv2_message *v08(void)
{
	return msg_of("{\"Version\":\"2.D.V08\"}");
}

/* The message's JSON text, for comparing whole documents. */
static const char *text_of(idmefv2_message *msg)
{
	return json_object_to_json_string_ext(idmefv2_message_get_object(msg), JSON_C_TO_STRING_PLAIN);
}

static void assert_json(idmefv2_message *msg, const char *expected)
{
	struct json_object *want = json_tokener_parse(expected);

	ck_assert_ptr_nonnull(want);
	ck_assert_msg(json_object_equal(want, idmefv2_message_get_object(msg)), "got %s, want %s",
	              text_of(msg), expected);
	json_object_put(want);
}

static void assert_str(idmefv2_message *msg, const char *path, const char *want)
{
	const char *s = NULL;
	size_t len = 0;

	ck_assert_msg(idmefv2_message_get_string(msg, path, &s, &len, err, sizeof(err)) == IDMEFV2_OK,
	              "%s: %s", path, err);
	ck_assert_str_eq(s, want);
	ck_assert_uint_eq(len, strlen(want));
}

#define assert_err(call, code, ...)                                                          \
	do {                                                                                 \
		err[0] = '\0';                                                               \
		idmefv2_error e_ = (call);                                                   \
		ck_assert_msg(e_ == (code), "%s: got %d (%s), want %d", #call, e_, err, (code)); \
		const char *subs_[] = { __VA_ARGS__, NULL };                                 \
		for (int i_ = 0; subs_[i_]; i_++)                                            \
			ck_assert_msg(strstr(err, subs_[i_]), "errstr \"%s\" lacks \"%s\"", err, subs_[i_]); \
	} while (0)

/* ---- syntax -------------------------------------------------------------------------------- */

START_TEST(test_malformed)
{
	static const struct {
		const char *path, *why;
	} bad[] = {
		{ "", "empty path" },
		{ "Source(.IP", "expected a list index" },
		{ "Source(01x).IP", "expected a list index" },
		{ "Source()", "expected a list index" },
		{ "Source(>>", "expected a list index" },
		{ "Source(>).IP", "expected a list index" },
		{ "Source(- 1)", "expected a list index" },
		{ "Source(-0).IP", "-0" },
		{ "Source(99999999999).IP", "too large" },
		{ "Analyzer.", "trailing '.'" },
		{ ".Name", "expected a class or attribute name at offset 0" },
		{ "Source..IP", "offset 7" },
		{ "Analyzer.Name.Foo", "too deep" },
		{ "Source(0).Port(0).X", "too deep" },
		{ "Source(0)x", "unexpected 'x' at offset 9" },
		{ "Ana lyzer.Name", "unexpected ' '" },
		{ "Source(0)(1).IP", "unexpected '('" },
		{ "Analyzer/Name", "unexpected '/'" },
	};
	idmefv2_message *msg = v08();

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ck_assert_msg(idmefv2_message_set_string(msg, bad[i].path, "x", err, sizeof(err)) == IDMEFV2_ERR_PATH,
		              "set %s", bad[i].path);
		ck_assert_msg(strstr(err, bad[i].why), "%s: \"%s\" lacks \"%s\"", bad[i].path, err, bad[i].why);
		ck_assert_msg(strstr(err, "IDMEF path"), "%s", err);
		if (*bad[i].path) {
			char quoted[128];

			snprintf(quoted, sizeof(quoted), "\"%s\"", bad[i].path);
			ck_assert_msg(strstr(err, quoted), "\"%s\" does not name the path", err);
		}
		ck_assert_int_eq(idmefv2_message_get_string(msg, bad[i].path, NULL, NULL, NULL, 0), IDMEFV2_ERR_PATH);
	}
	assert_err(idmefv2_message_set_string(msg, NULL, "x", err, sizeof(err)), IDMEFV2_ERR_PATH, "empty path");
	/* nothing was created by the failures */
	assert_json(msg, "{\"Version\":\"2.D.V08\"}");
	idmefv2_message_unref(msg);
}
END_TEST

START_TEST(test_unknown_names)
{
	idmefv2_message *msg = v08();

	assert_err(idmefv2_message_set_string(msg, "Analyzer.Type", "x", err, sizeof(err)), IDMEFV2_ERR_PATH,
	           "\"Analyzer.Type\"", "no attribute \"Type\"", "2.D.V08");
	assert_err(idmefv2_message_set_string(msg, "Source.Name", "x", err, sizeof(err)), IDMEFV2_ERR_PATH,
	           "no attribute \"Name\"");
	assert_err(idmefv2_message_set_string(msg, "Vector(0).Name", "x", err, sizeof(err)), IDMEFV2_ERR_PATH,
	           "unknown class \"Vector\"");
	assert_err(idmefv2_message_get_value(msg, "Vector", NULL, err, sizeof(err)), IDMEFV2_ERR_PATH,
	           "unknown attribute \"Vector\"");
	assert_err(idmefv2_message_set_string(msg, "Observable.Name", "x", err, sizeof(err)), IDMEFV2_ERR_PATH,
	           "unknown class \"Observable\"");
	assert_err(idmefv2_message_set_string(msg, "Severity", "x", err, sizeof(err)), IDMEFV2_ERR_PATH,
	           "unknown attribute \"Severity\"");
	/* names are case-sensitive */
	assert_err(idmefv2_message_set_string(msg, "analyzer.name", "x", err, sizeof(err)), IDMEFV2_ERR_PATH,
	           "unknown class \"analyzer\"");
	assert_err(idmefv2_message_set_string(msg, "Description.Text", "x", err, sizeof(err)), IDMEFV2_ERR_PATH,
	           "Description is an attribute, not a class");
	assert_err(idmefv2_message_set_string(msg, "Category.X", "x", err, sizeof(err)), IDMEFV2_ERR_PATH,
	           "not a class");
	assert_json(msg, "{\"Version\":\"2.D.V08\"}");
	idmefv2_message_unref(msg);
}
END_TEST

START_TEST(test_index_on_non_list)
{
	idmefv2_message *msg = v08();

	assert_err(idmefv2_message_set_string(msg, "Analyzer(0).Name", "x", err, sizeof(err)), IDMEFV2_ERR_PATH,
	           "Analyzer is not a list");
	assert_err(idmefv2_message_set_string(msg, "Description(0)", "x", err, sizeof(err)), IDMEFV2_ERR_PATH,
	           "Description is not a list");
	assert_err(idmefv2_message_set_string(msg, "Source(0).IP(1)", "x", err, sizeof(err)), IDMEFV2_ERR_PATH,
	           "IP is not a list");
	assert_err(idmefv2_message_get_string(msg, "Analyzer(>>).Name", NULL, NULL, err, sizeof(err)),
	           IDMEFV2_ERR_PATH, "not a list");
	idmefv2_message_unref(msg);
}
END_TEST

START_TEST(test_append_only_when_setting)
{
	idmefv2_message *msg = msg_of("{\"Version\":\"2.D.V08\",\"Source\":[{\"IP\":\"10.0.0.1\"}]}");
	size_t n;

	assert_err(idmefv2_message_get_string(msg, "Source(>>).IP", NULL, NULL, err, sizeof(err)), IDMEFV2_ERR_PATH,
	           "(>>)");
	assert_err(idmefv2_message_delete(msg, "Source(>>)", err, sizeof(err)), IDMEFV2_ERR_PATH, "(>>)");
	assert_err(idmefv2_message_list_length(msg, "Source(>>).Port", &n, err, sizeof(err)), IDMEFV2_ERR_PATH,
	           "(>>)");
	idmefv2_message_unref(msg);
}
END_TEST

/* ---- revisions ---------------------------------------------------------------------------- */

START_TEST(test_revision_specific)
{
	idmefv2_message *v06 = msg_of("{\"Version\":\"2.D.V06\"}");
	idmefv2_message *v203 = msg_of("{\"Version\":\"2.0.3\"}");
	idmefv2_message *v04 = msg_of("{\"Version\":\"2.D.V04\"}");
	idmefv2_message *v02 = msg_of("{\"Version\":\"2.D.V02\"}");

	/* Vector: V02 to V06 only; Observable: "2.0.3" only; Analyzer.Type up to V06 */
	ck_assert_int_eq(idmefv2_message_set_string(v06, "Vector(>>).Name", "usb", err, sizeof(err)), IDMEFV2_OK);
	assert_str(v06, "Vector(0).Name", "usb");
	ck_assert_int_eq(idmefv2_message_set_string(v06, "Analyzer.Type", "Cyber", err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_message_set_string(v203, "Observable.Name", "o1", err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_message_set_string(v203, "Severity", "High", err, sizeof(err)), IDMEFV2_OK);
	assert_err(idmefv2_message_set_string(v203, "Priority", "High", err, sizeof(err)), IDMEFV2_ERR_PATH,
	           "unknown attribute \"Priority\"", "2.0.3");
	/* ext-Category: a string in V04, a list from V07 */
	assert_err(idmefv2_message_set_string(v04, "ext-Category(0)", "x", err, sizeof(err)), IDMEFV2_ERR_PATH,
	           "not a list");
	ck_assert_int_eq(idmefv2_message_set_string(v04, "ext-Category", "x", err, sizeof(err)), IDMEFV2_OK);
	assert_json(v04, "{\"Version\":\"2.D.V04\",\"ext-Category\":\"x\"}");
	/* V02 declares Analyzer's properties under "items" of an object */
	ck_assert_int_eq(idmefv2_message_set_string(v02, "Analyzer.Name", "n", err, sizeof(err)), IDMEFV2_OK);
	assert_err(idmefv2_message_set_string(v02, "Analyzer.Bogus", "n", err, sizeof(err)), IDMEFV2_ERR_PATH,
	           "no attribute");
	assert_err(idmefv2_message_set_string(v02, "Analyzer(0).Name", "n", err, sizeof(err)), IDMEFV2_ERR_PATH,
	           "not a list");
	assert_json(v02, "{\"Version\":\"2.D.V02\",\"Analyzer\":{\"Name\":\"n\"}}");

	idmefv2_message_unref(v06);
	idmefv2_message_unref(v203);
	idmefv2_message_unref(v04);
	idmefv2_message_unref(v02);
}
END_TEST

START_TEST(test_every_revision)
{
	const char *const *v = idmefv2_schema_versions();
	int n = 0;

	for (; *v; v++, n++) {
		char json[64];
		idmefv2_message *msg;
		size_t len = 99;

		snprintf(json, sizeof(json), "{\"Version\":\"%s\"}", *v);
		msg = msg_of(json);
		ck_assert_msg(idmefv2_message_set_string(msg, "Analyzer.Name", "a", err, sizeof(err)) == IDMEFV2_OK,
		              "%s: %s", *v, err);
		ck_assert_msg(idmefv2_message_set_string(msg, "Source(>>).IP", "10.0.0.1", err, sizeof(err)) == IDMEFV2_OK,
		              "%s: %s", *v, err);
		ck_assert_int_eq(idmefv2_message_list_length(msg, "Source", &len, err, sizeof(err)), IDMEFV2_OK);
		ck_assert_uint_eq(len, 1);
		assert_err(idmefv2_message_set_string(msg, "Analyzer.Nonexistent", "a", err, sizeof(err)),
		           IDMEFV2_ERR_PATH, *v);
		idmefv2_message_unref(msg);
	}
	ck_assert_int_ge(n, 9);
}
END_TEST

START_TEST(test_without_version)
{
	/* parsed syntactically, resolved against the latest schema */
	idmefv2_message *none = msg_of("{}");
	idmefv2_message *unknown = msg_of("{\"Version\":\"9.9\"}");
	idmefv2_message *number = msg_of("{\"Version\":8}");

	ck_assert_int_eq(idmefv2_message_set_string(none, "Analyzer.Name", "x", err, sizeof(err)), IDMEFV2_OK);
	assert_err(idmefv2_message_set_string(none, "Analyzer.Type", "x", err, sizeof(err)), IDMEFV2_ERR_PATH,
	           IDMEFV2_VERSION_LATEST);
	assert_err(idmefv2_message_set_string(none, "Source(", "x", err, sizeof(err)), IDMEFV2_ERR_PATH, "index");
	ck_assert_int_eq(idmefv2_message_set_string(unknown, "Target(0).Service", "x", err, sizeof(err)), IDMEFV2_OK);
	assert_err(idmefv2_message_set_string(unknown, "Vector.Name", "x", err, sizeof(err)), IDMEFV2_ERR_PATH,
	           "Vector");
	ck_assert_int_eq(idmefv2_message_set_string(number, "Analyzer.Name", "x", err, sizeof(err)), IDMEFV2_OK);
	idmefv2_message_unref(none);
	idmefv2_message_unref(unknown);
	idmefv2_message_unref(number);
}
END_TEST

/* ---- setting and creating ------------------------------------------------------------------ */

START_TEST(test_create_intermediates)
{
	idmefv2_message *msg = v08();

	ck_assert_int_eq(idmefv2_message_set_string(msg, "Analyzer.Name", "zeek", err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_message_set_string(msg, "Source(0).IP", "10.0.0.1", err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_message_set_int(msg, "Source(0).Port(0)", 443, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_message_set_string(msg, "Attachment(0).Name", "a0", err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_message_set_string(msg, "Attachment(1).Hash(0)", "sha256:00ff", err, sizeof(err)),
	                 IDMEFV2_OK);
	assert_json(msg, "{\"Version\":\"2.D.V08\",\"Analyzer\":{\"Name\":\"zeek\"},"
	                 "\"Source\":[{\"IP\":\"10.0.0.1\",\"Port\":[443]}],"
	                 "\"Attachment\":[{\"Name\":\"a0\"},{\"Hash\":[\"sha256:00ff\"]}]}");
	assert_str(msg, "Attachment(1).Hash(0)", "sha256:00ff");
	assert_str(msg, "Attachment(-1).Hash(-1)", "sha256:00ff");
	/* overwrite in place */
	ck_assert_int_eq(idmefv2_message_set_string(msg, "Analyzer.Name", "suricata", err, sizeof(err)), IDMEFV2_OK);
	assert_str(msg, "Analyzer.Name", "suricata");
	idmefv2_message_unref(msg);
}
END_TEST

START_TEST(test_null_is_absent)
{
	idmefv2_message *msg = msg_of("{\"Version\":\"2.D.V08\",\"Analyzer\":null,\"Source\":null,\"Category\":null}");

	ck_assert_int_eq(idmefv2_message_set_string(msg, "Analyzer.Name", "a", err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_message_set_string(msg, "Source.IP", "10.0.0.1", err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_message_set_string(msg, "Category(0)", "Other.Test", err, sizeof(err)), IDMEFV2_OK);
	/* replaced, not added a second time */
	ck_assert_str_eq(text_of(msg), "{\"Version\":\"2.D.V08\",\"Analyzer\":{\"Name\":\"a\"},"
	                               "\"Source\":[{\"IP\":\"10.0.0.1\"}],\"Category\":[\"Other.Test\"]}");
	ck_assert_int_eq(json_object_object_length(idmefv2_message_get_object(msg)), 4);
	idmefv2_message_unref(msg);

	msg = msg_of("{\"Version\":\"2.D.V08\",\"Category\":null}");
	{
		size_t n = 99;

		ck_assert_int_eq(idmefv2_message_list_length(msg, "Category", &n, err, sizeof(err)), IDMEFV2_OK);
		ck_assert_uint_eq(n, 0);
	}
	idmefv2_message_unref(msg);
}
END_TEST

START_TEST(test_default_index_and_append)
{
	idmefv2_message *msg = v08();
	size_t n = 0;

	/* Source.IP is Source(0).IP */
	ck_assert_int_eq(idmefv2_message_set_string(msg, "Source.IP", "10.0.0.1", err, sizeof(err)), IDMEFV2_OK);
	assert_str(msg, "Source(0).IP", "10.0.0.1");
	ck_assert_int_eq(idmefv2_message_set_string(msg, "Source(>>).IP", "10.0.0.2", err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_message_set_string(msg, "Source(>>).IP", "10.0.0.3", err, sizeof(err)), IDMEFV2_OK);
	/* an index equal to the length appends */
	ck_assert_int_eq(idmefv2_message_set_string(msg, "Source(3).IP", "10.0.0.4", err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_message_list_length(msg, "Source", &n, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_uint_eq(n, 4);
	assert_str(msg, "Source.IP", "10.0.0.1");
	assert_str(msg, "Source(2).IP", "10.0.0.3");
	assert_str(msg, "Source(-1).IP", "10.0.0.4");
	assert_str(msg, "Source(-4).IP", "10.0.0.1");
	/* setting through a negative index changes an existing entry */
	ck_assert_int_eq(idmefv2_message_set_string(msg, "Source(-2).Hostname", "h3", err, sizeof(err)), IDMEFV2_OK);
	assert_json(msg, "{\"Version\":\"2.D.V08\",\"Source\":[{\"IP\":\"10.0.0.1\"},{\"IP\":\"10.0.0.2\"},"
	                 "{\"IP\":\"10.0.0.3\",\"Hostname\":\"h3\"},{\"IP\":\"10.0.0.4\"}]}");
	idmefv2_message_unref(msg);
}
END_TEST

START_TEST(test_range_errors)
{
	idmefv2_message *msg = msg_of("{\"Version\":\"2.D.V08\",\"Source\":[{\"IP\":\"10.0.0.1\",\"Port\":[1]}]}");
	const char *before = "{\"Version\":\"2.D.V08\",\"Source\":[{\"IP\":\"10.0.0.1\",\"Port\":[1]}]}";

	assert_err(idmefv2_message_set_string(msg, "Source(2).IP", "x", err, sizeof(err)), IDMEFV2_ERR_RANGE,
	           "index 2 out of range", "1 entry");
	assert_err(idmefv2_message_set_string(msg, "Source(-2).IP", "x", err, sizeof(err)), IDMEFV2_ERR_RANGE,
	           "index -2");
	assert_err(idmefv2_message_set_string(msg, "Target(1).IP", "x", err, sizeof(err)), IDMEFV2_ERR_RANGE,
	           "Target has 0 entries");
	assert_err(idmefv2_message_set_string(msg, "Target(-1).IP", "x", err, sizeof(err)), IDMEFV2_ERR_RANGE, "-1");
	assert_err(idmefv2_message_set_int(msg, "Source(0).Port(2)", 5, err, sizeof(err)), IDMEFV2_ERR_RANGE,
	           "Port has 1 entry");
	/* checked before anything is created: no empty Source entry, no Category list */
	assert_err(idmefv2_message_set_int(msg, "Source(>>).Port(1)", 5, err, sizeof(err)), IDMEFV2_ERR_RANGE, "Port");
	assert_err(idmefv2_message_set_string(msg, "Category(1)", "x", err, sizeof(err)), IDMEFV2_ERR_RANGE,
	           "Category");
	assert_json(msg, before);
	/* getters */
	assert_err(idmefv2_message_get_string(msg, "Source(1).IP", NULL, NULL, err, sizeof(err)), IDMEFV2_ERR_RANGE,
	           "index 1");
	assert_err(idmefv2_message_get_string(msg, "Source(-2).IP", NULL, NULL, err, sizeof(err)), IDMEFV2_ERR_RANGE,
	           "-2");
	assert_err(idmefv2_message_get_int(msg, "Source.Port(1)", NULL, err, sizeof(err)), IDMEFV2_ERR_RANGE, "Port");
	idmefv2_message_unref(msg);
}
END_TEST

START_TEST(test_lists_of_scalars)
{
	idmefv2_message *msg = v08();
	struct json_object *v;
	size_t n = 0;

	/* an unindexed list set from a scalar sets its first entry */
	ck_assert_int_eq(idmefv2_message_set_string(msg, "Category", "Recon.Scanning", err, sizeof(err)), IDMEFV2_OK);
	assert_json(msg, "{\"Version\":\"2.D.V08\",\"Category\":[\"Recon.Scanning\"]}");
	ck_assert_int_eq(idmefv2_message_set_string(msg, "Category(>>)", "Malicious.System", err, sizeof(err)),
	                 IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_message_set_string(msg, "Category(2)", "Other.Test", err, sizeof(err)), IDMEFV2_OK);
	assert_str(msg, "Category", "Recon.Scanning");
	assert_str(msg, "Category(0)", "Recon.Scanning");
	assert_str(msg, "Category(1)", "Malicious.System");
	assert_str(msg, "Category(-1)", "Other.Test");
	ck_assert_int_eq(idmefv2_message_list_length(msg, "Category", &n, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_uint_eq(n, 3);
	/* get_value of an unindexed list is the list itself */
	ck_assert_int_eq(idmefv2_message_get_value(msg, "Category", &v, err, sizeof(err)), IDMEFV2_OK);
	ck_assert(json_object_is_type(v, json_type_array));
	ck_assert_uint_eq(json_object_array_length(v), 3);
	ck_assert_int_eq(idmefv2_message_get_value(msg, "Category(1)", &v, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_str_eq(json_object_get_string(v), "Malicious.System");
	/* replacing the first entry leaves the others */
	ck_assert_int_eq(idmefv2_message_set_string(msg, "Category", "Recon.Sniffing", err, sizeof(err)), IDMEFV2_OK);
	assert_json(msg, "{\"Version\":\"2.D.V08\",\"Category\":[\"Recon.Sniffing\",\"Malicious.System\",\"Other.Test\"]}");
	/* an array replaces the whole list */
	ck_assert_int_eq(idmefv2_message_set_from_text(msg, "Category", "[\"Recon.Scanning\"]", err, sizeof(err)),
	                 IDMEFV2_OK);
	assert_json(msg, "{\"Version\":\"2.D.V08\",\"Category\":[\"Recon.Scanning\"]}");
	idmefv2_message_unref(msg);
}
END_TEST

START_TEST(test_whole_class_values)
{
	idmefv2_message *msg = v08();
	struct json_object *v;
	size_t n = 0;

	ck_assert_int_eq(idmefv2_message_set_value(msg, "Analyzer", json_tokener_parse("{\"Name\":\"a\"}"), err,
	                                           sizeof(err)), IDMEFV2_OK);
	assert_str(msg, "Analyzer.Name", "a");
	ck_assert_int_eq(idmefv2_message_set_value(msg, "Source(>>)", json_tokener_parse("{\"IP\":\"10.0.0.1\"}"), err,
	                                           sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_message_set_value(msg, "Source(>>)", json_tokener_parse("{\"IP\":\"10.0.0.2\"}"), err,
	                                           sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_message_list_length(msg, "Source", &n, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(idmefv2_message_get_value(msg, "Source(1)", &v, err, sizeof(err)), IDMEFV2_OK);
	ck_assert(json_object_is_type(v, json_type_object));
	assert_str(msg, "Source(1).IP", "10.0.0.2");
	/* Attachment.Content may be an object */
	ck_assert_int_eq(idmefv2_message_set_from_text(msg, "Attachment(0).Content", "{\"k\":[1,2]}", err, sizeof(err)),
	                 IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_message_get_value(msg, "Attachment.Content", &v, err, sizeof(err)), IDMEFV2_OK);
	ck_assert(json_object_is_type(v, json_type_object));
	idmefv2_message_unref(msg);
}
END_TEST

START_TEST(test_set_value_ownership)
{
	idmefv2_message *msg = v08();
	struct json_object *v = json_object_new_string("x");

	/* failure: the reference passed in is dropped, the caller's extra one remains */
	json_object_get(v);
	ck_assert_int_eq(idmefv2_message_set_value(msg, "Bogus", v, err, sizeof(err)), IDMEFV2_ERR_PATH);
	ck_assert_int_eq(json_object_put(v), 1); /* that was the last reference */

	v = json_object_new_string("x");
	json_object_get(v);
	ck_assert_int_eq(idmefv2_message_set_value(msg, "Source(3).IP", v, err, sizeof(err)), IDMEFV2_ERR_RANGE);
	ck_assert_int_eq(json_object_put(v), 1);

	v = json_object_new_string("x");
	json_object_get(v);
	ck_assert_int_eq(idmefv2_message_set_value(NULL, "Analyzer.Name", v, err, sizeof(err)), IDMEFV2_ERR_INVALID_ARG);
	ck_assert_int_eq(json_object_put(v), 1);

	/* success: the message holds it */
	v = json_object_new_string("x");
	json_object_get(v);
	ck_assert_int_eq(idmefv2_message_set_value(msg, "Analyzer.Name", v, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(json_object_put(v), 0);
	assert_str(msg, "Analyzer.Name", "x");

	/* NULL is JSON null */
	ck_assert_int_eq(idmefv2_message_set_value(msg, "Note", NULL, err, sizeof(err)), IDMEFV2_OK);
	assert_json(msg, "{\"Version\":\"2.D.V08\",\"Analyzer\":{\"Name\":\"x\"},\"Note\":null}");
	idmefv2_message_unref(msg);
}
END_TEST

START_TEST(test_set_from_text)
{
	idmefv2_message *msg = v08();
	struct json_object *v;
	const char *s;
	size_t len;

	ck_assert_int_eq(idmefv2_message_set_from_text(msg, "Confidence", "0.5", err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_message_get_value(msg, "Confidence", &v, err, sizeof(err)), IDMEFV2_OK);
	ck_assert(json_object_is_type(v, json_type_double));
	ck_assert_double_eq(json_object_get_double(v), 0.5);

	ck_assert_int_eq(idmefv2_message_set_from_text(msg, "Analyzer.Name", "x", err, sizeof(err)), IDMEFV2_OK);
	assert_str(msg, "Analyzer.Name", "x");

	ck_assert_int_eq(idmefv2_message_set_from_text(msg, "Category", "[\"Recon.Scanning\"]", err, sizeof(err)),
	                 IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_message_get_value(msg, "Category", &v, err, sizeof(err)), IDMEFV2_OK);
	ck_assert(json_object_is_type(v, json_type_array));

	ck_assert_int_eq(idmefv2_message_set_from_text(msg, "Attachment.Size", " 42 ", err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_message_get_value(msg, "Attachment.Size", &v, err, sizeof(err)), IDMEFV2_OK);
	ck_assert(json_object_is_type(v, json_type_int));
	ck_assert_int_eq(json_object_get_int64(v), 42);

	ck_assert_int_eq(idmefv2_message_set_from_text(msg, "Note", "true", err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_message_get_value(msg, "Note", &v, err, sizeof(err)), IDMEFV2_OK);
	ck_assert(json_object_is_type(v, json_type_boolean));
	ck_assert_int_eq(idmefv2_message_set_from_text(msg, "Note", "null", err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_message_get_value(msg, "Note", &v, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_ptr_null(v);

	/* a quoted JSON string gives its contents: the way to set the string 0.5 */
	ck_assert_int_eq(idmefv2_message_set_from_text(msg, "Description", "\"0.5\"", err, sizeof(err)), IDMEFV2_OK);
	assert_str(msg, "Description", "0.5");

	/* anything that is not JSON text stays text, verbatim */
	static const char *const strings[] = {
		"[critical] disk full", "12abc", "\"unterminated", "NaN", "1.", "{oops", "", "-", "0x10", "True",
	};
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		ck_assert_int_eq(idmefv2_message_set_from_text(msg, "Description", strings[i], err, sizeof(err)), IDMEFV2_OK);
		ck_assert_int_eq(idmefv2_message_get_string(msg, "Description", &s, &len, err, sizeof(err)), IDMEFV2_OK);
		ck_assert_str_eq(s, strings[i]);
	}
	assert_err(idmefv2_message_set_from_text(msg, "Analyzer.Type", "x", err, sizeof(err)), IDMEFV2_ERR_PATH, "Type");
	assert_err(idmefv2_message_set_from_text(msg, "Note", NULL, err, sizeof(err)), IDMEFV2_ERR_INVALID_ARG, "NULL");
	idmefv2_message_unref(msg);
}
END_TEST

/* ---- getters ---------------------------------------------------------------------------------- */

START_TEST(test_getters_by_type)
{
	idmefv2_message *msg = v08();
	const char *s;
	size_t len;
	int64_t i;
	double d;
	bool b;

	ck_assert_int_eq(idmefv2_message_set_string_len(msg, "Note", "a\0b", 3, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_message_get_string(msg, "Note", &s, &len, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_uint_eq(len, 3);
	ck_assert_mem_eq(s, "a\0b", 3);

	ck_assert_int_eq(idmefv2_message_set_int(msg, "Attachment.Size", INT64_MAX, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_message_get_int(msg, "Attachment.Size", &i, err, sizeof(err)), IDMEFV2_OK);
	ck_assert(i == INT64_MAX);
	ck_assert_int_eq(idmefv2_message_set_int(msg, "Attachment.Size", INT64_MIN, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_message_get_int(msg, "Attachment.Size", &i, err, sizeof(err)), IDMEFV2_OK);
	ck_assert(i == INT64_MIN);
	/* integers read as numbers */
	ck_assert_int_eq(idmefv2_message_get_number(msg, "Attachment.Size", &d, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_double_eq(d, (double)INT64_MIN);

	ck_assert_int_eq(idmefv2_message_set_number(msg, "Confidence", 0.25, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_message_get_number(msg, "Confidence", &d, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_double_eq(d, 0.25);
	assert_err(idmefv2_message_set_number(msg, "Confidence", NAN, err, sizeof(err)), IDMEFV2_ERR_INVALID_ARG, "JSON");
	assert_err(idmefv2_message_set_number(msg, "Confidence", INFINITY, err, sizeof(err)), IDMEFV2_ERR_INVALID_ARG,
	           "JSON");
	ck_assert_int_eq(idmefv2_message_get_number(msg, "Confidence", &d, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_double_eq(d, 0.25);

	ck_assert_int_eq(idmefv2_message_set_bool(msg, "Attachment.Content", true, err, sizeof(err)), IDMEFV2_OK);
	b = false;
	ck_assert_int_eq(idmefv2_message_get_bool(msg, "Attachment.Content", &b, err, sizeof(err)), IDMEFV2_OK);
	ck_assert(b);
	ck_assert_int_eq(idmefv2_message_set_bool(msg, "Attachment.Content", false, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_message_get_bool(msg, "Attachment.Content", &b, err, sizeof(err)), IDMEFV2_OK);
	ck_assert(!b);
	idmefv2_message_unref(msg);
}
END_TEST

START_TEST(test_getter_errors)
{
	idmefv2_message *msg = msg_of("{\"Version\":\"2.D.V08\",\"Description\":\"d\",\"Confidence\":0.5,"
	                              "\"Note\":true,\"Analyzer\":{\"Name\":\"a\"},\"Source\":[{\"Port\":[18446744073709551615]}],"
	                              "\"Target\":{\"IP\":\"10.0.0.1\"},\"Sensor\":[\"not an object\"],\"Category\":\"scalar\"}");
	int64_t i = 7;
	double d;
	bool b;
	const char *s = "untouched";

	assert_err(idmefv2_message_get_string(msg, "Analyzer.Hostname", &s, NULL, err, sizeof(err)),
	           IDMEFV2_ERR_NOT_FOUND, "Hostname");
	ck_assert_str_eq(s, "untouched");
	assert_err(idmefv2_message_get_string(msg, "Attachment(0).Name", &s, NULL, err, sizeof(err)),
	           IDMEFV2_ERR_NOT_FOUND, "Attachment");
	assert_err(idmefv2_message_get_value(msg, "StartTime", NULL, err, sizeof(err)), IDMEFV2_ERR_NOT_FOUND,
	           "StartTime");
	assert_err(idmefv2_message_get_int(msg, "Description", &i, err, sizeof(err)), IDMEFV2_ERR_TYPE,
	           "Description is a string, not an integer");
	ck_assert_int_eq(i, 7);
	assert_err(idmefv2_message_get_int(msg, "Confidence", &i, err, sizeof(err)), IDMEFV2_ERR_TYPE, "a number");
	assert_err(idmefv2_message_get_string(msg, "Confidence", &s, NULL, err, sizeof(err)), IDMEFV2_ERR_TYPE,
	           "not a string");
	assert_err(idmefv2_message_get_bool(msg, "Description", &b, err, sizeof(err)), IDMEFV2_ERR_TYPE,
	           "not a boolean");
	assert_err(idmefv2_message_get_number(msg, "Note", &d, err, sizeof(err)), IDMEFV2_ERR_TYPE, "not a number");
	assert_err(idmefv2_message_get_int(msg, "Source.Port", &i, err, sizeof(err)), IDMEFV2_ERR_RANGE,
	           "18446744073709551615");
	/* the message's shape disagrees with the schema */
	assert_err(idmefv2_message_get_string(msg, "Target.IP", &s, NULL, err, sizeof(err)), IDMEFV2_ERR_TYPE,
	           "Target is an object, not an array");
	assert_err(idmefv2_message_set_string(msg, "Target.IP", "x", err, sizeof(err)), IDMEFV2_ERR_TYPE, "Target");
	assert_err(idmefv2_message_get_string(msg, "Sensor.Name", &s, NULL, err, sizeof(err)), IDMEFV2_ERR_TYPE,
	           "Sensor is a string, not an object");
	assert_err(idmefv2_message_set_string(msg, "Sensor.Name", "x", err, sizeof(err)), IDMEFV2_ERR_TYPE, "Sensor");
	assert_err(idmefv2_message_get_string(msg, "Category(0)", &s, NULL, err, sizeof(err)), IDMEFV2_ERR_TYPE,
	           "not an array");
	assert_err(idmefv2_message_set_string(msg, "Category(0)", "x", err, sizeof(err)), IDMEFV2_ERR_TYPE,
	           "not an array");
	/* unindexed, a scalar stored where a list belongs is still readable */
	ck_assert_int_eq(idmefv2_message_get_string(msg, "Category", &s, NULL, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_str_eq(s, "scalar");
	idmefv2_message_unref(msg);
}
END_TEST

/* ---- delete and length --------------------------------------------------------------------- */

START_TEST(test_delete)
{
	idmefv2_message *msg = msg_of("{\"Version\":\"2.D.V08\",\"Analyzer\":{\"Name\":\"a\",\"Model\":\"m\"},"
	                              "\"Category\":[\"A\",\"B\",\"C\"],"
	                              "\"Source\":[{\"IP\":\"1\"},{\"IP\":\"2\"},{\"IP\":\"3\"}]}");

	ck_assert_int_eq(idmefv2_message_delete(msg, "Analyzer.Model", err, sizeof(err)), IDMEFV2_OK);
	assert_err(idmefv2_message_get_string(msg, "Analyzer.Model", NULL, NULL, err, sizeof(err)),
	           IDMEFV2_ERR_NOT_FOUND, "Model");
	assert_err(idmefv2_message_delete(msg, "Analyzer.Model", err, sizeof(err)), IDMEFV2_ERR_NOT_FOUND, "Model");
	ck_assert_int_eq(idmefv2_message_delete(msg, "Category(-1)", err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_message_delete(msg, "Category(0)", err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_message_delete(msg, "Source(1)", err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_message_delete(msg, "Source(-1).IP", err, sizeof(err)), IDMEFV2_OK);
	assert_json(msg, "{\"Version\":\"2.D.V08\",\"Analyzer\":{\"Name\":\"a\"},\"Category\":[\"B\"],"
	                 "\"Source\":[{\"IP\":\"1\"},{}]}");
	assert_err(idmefv2_message_delete(msg, "Source(2)", err, sizeof(err)), IDMEFV2_ERR_RANGE, "index 2");
	assert_err(idmefv2_message_delete(msg, "Source(5).IP", err, sizeof(err)), IDMEFV2_ERR_RANGE, "index 5");
	assert_err(idmefv2_message_delete(msg, "Target(0).IP", err, sizeof(err)), IDMEFV2_ERR_NOT_FOUND, "Target");
	assert_err(idmefv2_message_delete(msg, "Analyzer.Type", err, sizeof(err)), IDMEFV2_ERR_PATH, "Type");
	ck_assert_int_eq(idmefv2_message_delete(msg, "Source", err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_message_delete(msg, "Analyzer", err, sizeof(err)), IDMEFV2_OK);
	ck_assert_int_eq(idmefv2_message_delete(msg, "Category", err, sizeof(err)), IDMEFV2_OK);
	assert_json(msg, "{\"Version\":\"2.D.V08\"}");
	idmefv2_message_unref(msg);
}
END_TEST

START_TEST(test_list_length)
{
	idmefv2_message *msg = msg_of("{\"Version\":\"2.D.V08\",\"Source\":[{\"Port\":[1,2,3]},{}],"
	                              "\"Category\":\"oops\"}");
	size_t n = 99;

	ck_assert_int_eq(idmefv2_message_list_length(msg, "Source", &n, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(idmefv2_message_list_length(msg, "Source.Port", &n, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(idmefv2_message_list_length(msg, "Source(-1).Port", &n, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(idmefv2_message_list_length(msg, "Source(7).Port", &n, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_uint_eq(n, 0);
	n = 99;
	ck_assert_int_eq(idmefv2_message_list_length(msg, "Target", &n, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_uint_eq(n, 0);
	n = 99;
	ck_assert_int_eq(idmefv2_message_list_length(msg, "Target.Port", &n, err, sizeof(err)), IDMEFV2_OK);
	ck_assert_uint_eq(n, 0);
	assert_err(idmefv2_message_list_length(msg, "Description", &n, err, sizeof(err)), IDMEFV2_ERR_PATH,
	           "Description is not a list");
	assert_err(idmefv2_message_list_length(msg, "Analyzer", &n, err, sizeof(err)), IDMEFV2_ERR_PATH, "not a list");
	assert_err(idmefv2_message_list_length(msg, "Source(0)", &n, err, sizeof(err)), IDMEFV2_ERR_PATH,
	           "one entry");
	assert_err(idmefv2_message_list_length(msg, "Category", &n, err, sizeof(err)), IDMEFV2_ERR_TYPE,
	           "Category is a string, not an array");
	idmefv2_message_unref(msg);
}
END_TEST

START_TEST(test_null_message)
{
	const char *s;

	assert_err(idmefv2_message_set_string(NULL, "Analyzer.Name", "x", err, sizeof(err)), IDMEFV2_ERR_INVALID_ARG,
	           "NULL");
	assert_err(idmefv2_message_get_string(NULL, "Analyzer.Name", &s, NULL, err, sizeof(err)),
	           IDMEFV2_ERR_INVALID_ARG, "NULL");
	ck_assert_int_eq(idmefv2_message_delete(NULL, "Analyzer.Name", NULL, 0), IDMEFV2_ERR_INVALID_ARG);
}
END_TEST

static Suite *path_suite(void)
{
	Suite *s = suite_create("path");
	TCase *syntax = tcase_create("syntax"), *set = tcase_create("set"), *get = tcase_create("get");

	tcase_add_test(syntax, test_malformed);
	tcase_add_test(syntax, test_unknown_names);
	tcase_add_test(syntax, test_index_on_non_list);
	tcase_add_test(syntax, test_append_only_when_setting);
	tcase_add_test(syntax, test_revision_specific);
	tcase_add_test(syntax, test_every_revision);
	tcase_add_test(syntax, test_without_version);
	tcase_add_test(set, test_create_intermediates);
	tcase_add_test(set, test_null_is_absent);
	tcase_add_test(set, test_default_index_and_append);
	tcase_add_test(set, test_range_errors);
	tcase_add_test(set, test_lists_of_scalars);
	tcase_add_test(set, test_whole_class_values);
	tcase_add_test(set, test_set_value_ownership);
	tcase_add_test(set, test_set_from_text);
	tcase_add_test(get, test_getters_by_type);
	tcase_add_test(get, test_getter_errors);
	tcase_add_test(get, test_delete);
	tcase_add_test(get, test_list_length);
	tcase_add_test(get, test_null_message);
	suite_add_tcase(s, syntax);
	suite_add_tcase(s, set);
	suite_add_tcase(s, get);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(path_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
