/* SPDX-License-Identifier: Apache-2.0 */
/* Events: fields, defaults, JSON shape, and validation per type, including every
 * case of the reference client's tests. */
#include <check.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include <mozdef/mozdef.h>

static struct json_object *load(const char *name)
{
	char path[1024];
	struct json_object *o;

	snprintf(path, sizeof(path), "%s/%s", MOZDEF_TEST_DATA, name);
	o = json_object_from_file(path);
	ck_assert_msg(o != NULL, "cannot read %s", path);
	return o;
}

static struct json_object *serialize_parse(const mozdef_event *ev)
{
	char *text = NULL;
	size_t len = 0;
	char err[256] = "";
	struct json_object *o;

	ck_assert_int_eq(mozdef_event_serialize(ev, &text, &len, err, sizeof(err)), MOZDEF_OK);
	ck_assert_uint_eq(strlen(text), len);
	ck_assert_ptr_null(strchr(text, '\n'));
	o = json_tokener_parse(text);
	ck_assert_ptr_nonnull(o);
	free(text);
	return o;
}

static void assert_invalid(const mozdef_event *ev, const char *expected)
{
	char err[256] = "";

	ck_assert_int_eq(mozdef_event_validate(ev, err, sizeof(err)), MOZDEF_ERR_INVALID);
	ck_assert_str_eq(err, expected);
}

static void assert_valid(const mozdef_event *ev)
{
	char err[256] = "";

	ck_assert_msg(mozdef_event_validate(ev, err, sizeof(err)) == MOZDEF_OK, "unexpected: %s", err);
}

START_TEST(test_types_and_defaults)
{
	static const struct {
		mozdef_event_type type;
		const char *category;
	} cases[] = {
		{ MOZDEF_EVENT_GENERIC, "event" },
		{ MOZDEF_EVENT_COMPLIANCE, "complianceitems" },
		{ MOZDEF_EVENT_ASSET_HINT, "asset_hint" },
		{ MOZDEF_EVENT_RRA, "rra_data" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		mozdef_event *ev = mozdef_event_new(cases[i].type);
		ck_assert_ptr_nonnull(ev);
		ck_assert_int_eq(mozdef_event_get_type(ev), cases[i].type);
		ck_assert_str_eq(mozdef_event_get_category(ev), cases[i].category);
		ck_assert_int_eq(mozdef_event_get_severity(ev), MOZDEF_SEVERITY_INFO);
		ck_assert_ptr_null(mozdef_event_get_summary(ev));
		ck_assert_ptr_null(mozdef_event_get_source(ev));
		ck_assert_str_eq(mozdef_event_get_processname(ev), program_invocation_name);
		ck_assert_int_eq(mozdef_event_get_processid(ev), getpid());
		ck_assert_ptr_nonnull(mozdef_event_get_hostname(ev));
		ck_assert_uint_gt(strlen(mozdef_event_get_hostname(ev)), 0);
		ck_assert_str_ne(mozdef_event_get_hostname(ev), "localhost.localdomain");
		mozdef_event_free(ev);
	}
	/* test_message: the base class cannot be sent; here it cannot even be made. */
	ck_assert_ptr_null(mozdef_event_new((mozdef_event_type)0));
	ck_assert_ptr_null(mozdef_event_new((mozdef_event_type)6));
	mozdef_event_free(NULL);
}
END_TEST

START_TEST(test_severity_names)
{
	static const char *const names[] = { "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL", "ALERT",
		                             "EMERGENCY" };
	static const int levels[] = { 7, 6, 5, 4, 3, 2, 1, 0 };
	mozdef_severity sev = MOZDEF_SEVERITY_ALERT;

	for (int i = 0; i < 8; i++) {
		ck_assert_str_eq(mozdef_severity_to_string((mozdef_severity)i), names[i]);
		ck_assert_int_eq(mozdef_severity_from_string(names[i], &sev), MOZDEF_OK);
		ck_assert_int_eq(sev, i);
		ck_assert_int_eq(mozdef_severity_to_syslog((mozdef_severity)i), levels[i]);
	}
	/* The pre-2017 labels and other spellings are refused, not silently INFO. */
	sev = MOZDEF_SEVERITY_ALERT;
	ck_assert_int_eq(mozdef_severity_from_string("CRIT", &sev), MOZDEF_ERR_INVALID_ARG);
	ck_assert_int_eq(mozdef_severity_from_string("ERR", &sev), MOZDEF_ERR_INVALID_ARG);
	ck_assert_int_eq(mozdef_severity_from_string("critical", &sev), MOZDEF_ERR_INVALID_ARG);
	ck_assert_int_eq(sev, MOZDEF_SEVERITY_ALERT);
	ck_assert_ptr_null(mozdef_severity_to_string((mozdef_severity)8));
	ck_assert_int_eq(mozdef_severity_to_syslog((mozdef_severity)8), -1);

	mozdef_event *ev = mozdef_event_new(MOZDEF_EVENT_GENERIC);
	ck_assert_int_eq(mozdef_event_set_severity(ev, (mozdef_severity)9), MOZDEF_ERR_INVALID_ARG);
	ck_assert_int_eq(mozdef_event_get_severity(ev), MOZDEF_SEVERITY_INFO);
	mozdef_event_free(ev);
}
END_TEST

static const char *const generic_keys[] = { "timestamp", "processid", "processname", "hostname", "category",
	                                    "source", "details", "summary", "tags", "severity" };

START_TEST(test_generic_json_shape)
{
	mozdef_event *ev = mozdef_event_new(MOZDEF_EVENT_GENERIC);
	struct json_object *o, *v;
	regex_t re;
	size_t i = 0;
	struct tm tm = { 0 };
	time_t now = time(NULL), then;

	ck_assert_int_eq(mozdef_event_set_summary(ev, "a test event"), MOZDEF_OK);
	o = serialize_parse(ev);
	json_object_object_foreach(o, key, val)
	{
		(void)val;
		ck_assert_uint_lt(i, 10);
		ck_assert_str_eq(key, generic_keys[i]);
		i++;
	}
	ck_assert_uint_eq(i, 10);
	ck_assert(json_object_object_get_ex(o, "processid", &v));
	ck_assert(json_object_is_type(v, json_type_int));
	ck_assert_int_eq(json_object_get_int64(v), getpid());
	ck_assert(json_object_object_get_ex(o, "source", &v));
	ck_assert_ptr_null(v);
	ck_assert(json_object_object_get_ex(o, "tags", &v));
	ck_assert(json_object_is_type(v, json_type_array));
	ck_assert_uint_eq(json_object_array_length(v), 0);
	ck_assert(json_object_object_get_ex(o, "details", &v));
	ck_assert(json_object_is_type(v, json_type_object));
	ck_assert_int_eq(json_object_object_length(v), 0);
	ck_assert(json_object_object_get_ex(o, "category", &v));
	ck_assert_str_eq(json_object_get_string(v), "event");
	ck_assert(json_object_object_get_ex(o, "summary", &v));
	ck_assert_str_eq(json_object_get_string(v), "a test event");
	ck_assert(json_object_object_get_ex(o, "severity", &v));
	ck_assert_str_eq(json_object_get_string(v), "INFO");
	ck_assert(json_object_object_get_ex(o, "processname", &v));
	ck_assert_str_eq(json_object_get_string(v), program_invocation_name);

	/* UTC, microseconds, +00:00, and now. */
	ck_assert(json_object_object_get_ex(o, "timestamp", &v));
	ck_assert_int_eq(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}\\+00:00$",
	                         REG_EXTENDED | REG_NOSUB),
	                 0);
	ck_assert_msg(regexec(&re, json_object_get_string(v), 0, NULL, 0) == 0, "timestamp %s",
	              json_object_get_string(v));
	regfree(&re);
	ck_assert_ptr_nonnull(strptime(json_object_get_string(v), "%Y-%m-%dT%H:%M:%S", &tm));
	then = timegm(&tm);
	ck_assert_int_le(labs((long)(then - now)), 5);
	json_object_put(o);
	mozdef_event_free(ev);
}
END_TEST

/* Every field of the MozDef docs' example, set through the API, gives that document. */
START_TEST(test_docs_example_round_trip)
{
	struct json_object *expected = load("event-docs-example.json");
	struct json_object *v, *tags, *got;
	mozdef_event *ev = mozdef_event_new(MOZDEF_EVENT_GENERIC);
	mozdef_severity sev;

#define STR(k) (json_object_object_get_ex(expected, k, &v) ? json_object_get_string(v) : NULL)
	ck_assert_int_eq(mozdef_event_set_timestamp(ev, STR("timestamp")), MOZDEF_OK);
	ck_assert_int_eq(mozdef_event_set_hostname(ev, STR("hostname")), MOZDEF_OK);
	ck_assert_int_eq(mozdef_event_set_processname(ev, STR("processname")), MOZDEF_OK);
	ck_assert_int_eq(mozdef_event_set_summary(ev, STR("summary")), MOZDEF_OK);
	ck_assert_int_eq(mozdef_event_set_category(ev, STR("category")), MOZDEF_OK);
	ck_assert_int_eq(mozdef_event_set_source(ev, STR("source")), MOZDEF_OK);
	ck_assert_int_eq(mozdef_severity_from_string(STR("severity"), &sev), MOZDEF_OK);
	ck_assert_int_eq(mozdef_event_set_severity(ev, sev), MOZDEF_OK);
#undef STR
	ck_assert(json_object_object_get_ex(expected, "processid", &v));
	mozdef_event_set_processid(ev, json_object_get_int64(v));
	ck_assert(json_object_object_get_ex(expected, "tags", &tags));
	for (size_t i = 0; i < json_object_array_length(tags); i++)
		ck_assert_int_eq(mozdef_event_add_tag(ev, json_object_get_string(json_object_array_get_idx(tags, i))),
		                 MOZDEF_OK);
	ck_assert(json_object_object_get_ex(expected, "details", &v));
	ck_assert_int_eq(mozdef_event_set_details(ev, json_object_get(v)), MOZDEF_OK);

	got = serialize_parse(ev);
	ck_assert_msg(json_object_equal(got, expected), "got %s", json_object_to_json_string(got));
	/* The timestamp set by the caller passes through unchanged, nanoseconds and offset included. */
	ck_assert(json_object_object_get_ex(got, "timestamp", &v));
	ck_assert_str_eq(json_object_get_string(v), "2014-02-14T11:48:19.035762739-05:00");
	json_object_put(got);
	json_object_put(expected);
	mozdef_event_free(ev);
}
END_TEST

START_TEST(test_detail_paths)
{
	mozdef_event *ev = mozdef_event_new(MOZDEF_EVENT_GENERIC);
	char err[256] = "";
	struct json_object *v;

	ck_assert_int_eq(mozdef_event_set_detail_string(ev, "sourceipaddress", "10.0.0.1", err, sizeof(err)),
	                 MOZDEF_OK);
	ck_assert_int_eq(mozdef_event_set_detail_string(ev, "policy.level", "medium", err, sizeof(err)), MOZDEF_OK);
	ck_assert_int_eq(mozdef_event_set_detail_int(ev, "policy.count", 3, err, sizeof(err)), MOZDEF_OK);
	ck_assert_int_eq(mozdef_event_set_detail_bool(ev, "success", false, err, sizeof(err)), MOZDEF_OK);
	ck_assert_int_eq(mozdef_event_set_detail(ev, "a.b.c", json_object_new_double(1.5), err, sizeof(err)),
	                 MOZDEF_OK);
	ck_assert_str_eq(json_object_get_string(mozdef_event_get_detail(ev, "policy.level")), "medium");
	ck_assert_int_eq(json_object_get_int(mozdef_event_get_detail(ev, "policy.count")), 3);
	ck_assert(!json_object_get_boolean(mozdef_event_get_detail(ev, "success")));
	ck_assert(json_object_get_double(mozdef_event_get_detail(ev, "a.b.c")) == 1.5);
	ck_assert_ptr_null(mozdef_event_get_detail(ev, "a.x"));
	ck_assert_ptr_null(mozdef_event_get_detail(ev, "sourceipaddress.x"));

	/* Through a non-object: refused, naming the component. */
	v = json_object_new_int(1);
	ck_assert_int_eq(mozdef_event_set_detail(ev, "policy.level.x", v, err, sizeof(err)), MOZDEF_ERR_INVALID_ARG);
	ck_assert_str_eq(err, "details.policy.level: not an object");
	json_object_put(v);
	ck_assert_int_eq(mozdef_event_set_detail_string(ev, "a..b", "x", err, sizeof(err)), MOZDEF_ERR_INVALID_ARG);
	ck_assert_int_eq(mozdef_event_set_detail_string(ev, "", "x", err, sizeof(err)), MOZDEF_ERR_INVALID_ARG);
	/* Replacing the details with a non-object is refused. */
	v = json_object_new_array();
	ck_assert_int_eq(mozdef_event_set_details(ev, v), MOZDEF_ERR_INVALID_ARG);
	json_object_put(v);
	ck_assert_int_eq(json_object_object_length(mozdef_event_get_details(ev)), 4);
	mozdef_event_free(ev);
}
END_TEST

/* reference test_event */
START_TEST(test_ref_event)
{
	mozdef_event *ev = mozdef_event_new(MOZDEF_EVENT_GENERIC);
	struct json_object *o, *v;
	char err[256] = "";

	ck_assert_int_eq(mozdef_event_get_type(ev), 1);
	ck_assert_ptr_nonnull(mozdef_event_get_hostname(ev));
	/* validate() requires a summary; an empty one does not count. */
	assert_invalid(ev, "summary: missing");
	ck_assert_int_eq(mozdef_event_to_json(ev, &o, err, sizeof(err)), MOZDEF_ERR_INVALID);
	mozdef_event_set_summary(ev, "");
	assert_invalid(ev, "summary: missing");
	mozdef_event_set_summary(ev, "test summary");
	assert_valid(ev);
	/* construct() copies category 'event' and the summary. */
	ck_assert_int_eq(mozdef_event_to_json(ev, &o, err, sizeof(err)), MOZDEF_OK);
	ck_assert(json_object_object_get_ex(o, "category", &v));
	ck_assert_str_eq(json_object_get_string(v), "event");
	ck_assert(json_object_object_get_ex(o, "summary", &v));
	ck_assert_str_eq(json_object_get_string(v), "test summary");
	json_object_put(o);
	/* hostname is overridable, and NULL restores the default. */
	const char *def = strdup(mozdef_event_get_hostname(ev));
	mozdef_event_set_hostname(ev, "samplehostname");
	ck_assert_str_eq(mozdef_event_get_hostname(ev), "samplehostname");
	o = serialize_parse(ev);
	ck_assert(json_object_object_get_ex(o, "hostname", &v));
	ck_assert_str_eq(json_object_get_string(v), "samplehostname");
	json_object_put(o);
	mozdef_event_set_hostname(ev, NULL);
	ck_assert_str_eq(mozdef_event_get_hostname(ev), def);
	free((void *)def);
	/* A CRITICAL event with tags and details constructs. */
	mozdef_event_set_severity(ev, MOZDEF_SEVERITY_CRITICAL);
	mozdef_event_add_tag(ev, "generic");
	mozdef_event_add_tag(ev, "test");
	mozdef_event_set_detail_string(ev, "one", "1", err, sizeof(err));
	mozdef_event_set_detail_int(ev, "two", 2, err, sizeof(err));
	o = serialize_parse(ev);
	ck_assert(json_object_object_get_ex(o, "severity", &v));
	ck_assert_str_eq(json_object_get_string(v), "CRITICAL");
	ck_assert(json_object_object_get_ex(o, "tags", &v));
	ck_assert_uint_eq(json_object_array_length(v), 2);
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(v, 1)), "test");
	ck_assert(json_object_object_get_ex(o, "details", &v));
	ck_assert_int_eq(json_object_get_int(json_object_object_get(v, "two")), 2);
	json_object_put(o);
	mozdef_event_free(ev);
}
END_TEST

/* reference test_event: send() without a summary fails before any connection. */
START_TEST(test_ref_event_send_invalid)
{
	mozdef_client *c = NULL;
	mozdef_event *ev = mozdef_event_new(MOZDEF_EVENT_GENERIC);
	mozdef_result r;

	ck_assert_int_eq(mozdef_client_new("http://127.0.0.1:1/nonexistent", &c, NULL, 0), MOZDEF_OK);
	ck_assert_int_eq(mozdef_client_send(c, ev, &r), MOZDEF_ERR_INVALID);
	ck_assert_int_eq(r.error, MOZDEF_ERR_INVALID);
	ck_assert_str_eq(r.message, "summary: missing");
	ck_assert_uint_eq(r.attempts, 0);
	ck_assert_int_eq(r.http_status, 0);
	mozdef_client_free(c);
	mozdef_event_free(ev);
}
END_TEST

/* reference test_error: the error text is readable. */
START_TEST(test_ref_error)
{
	ck_assert_str_eq(mozdef_strerror(MOZDEF_OK), "success");
	ck_assert_str_eq(mozdef_strerror(MOZDEF_ERR_INVALID), "event fails validation");
	ck_assert_str_eq(mozdef_strerror(MOZDEF_ERR_HTTP), "HTTP error status");
	ck_assert_str_eq(mozdef_strerror((mozdef_error)999), "unknown error");
	ck_assert_str_eq(mozdef_version_string(), "0.1.0");
}
END_TEST

/* reference test_asset_hint */
START_TEST(test_ref_asset_hint)
{
	mozdef_event *ev = mozdef_event_new(MOZDEF_EVENT_ASSET_HINT);
	char err[256];

	ck_assert_int_eq(mozdef_event_get_type(ev), 4);
	ck_assert_str_eq(mozdef_event_get_category(ev), "asset_hint");
	assert_invalid(ev, "summary: missing");
	mozdef_event_set_summary(ev, "asset hint");
	assert_invalid(ev, "details: empty");
	mozdef_event_set_detail_string(ev, "hostname", "test", err, sizeof(err));
	assert_valid(ev);
	mozdef_event_free(ev);
}
END_TEST

/* reference test_rra, without its need to set the category by hand */
START_TEST(test_ref_rra)
{
	mozdef_event *ev = mozdef_event_new(MOZDEF_EVENT_RRA);
	char err[256];

	ck_assert_int_eq(mozdef_event_get_type(ev), 5);
	assert_invalid(ev, "summary: missing");
	mozdef_event_set_summary(ev, "an RRA");
	mozdef_event_set_category(ev, "rra_data");
	assert_invalid(ev, "details: empty");
	mozdef_event_set_detail_string(ev, "metadata.service", "test", err, sizeof(err));
	assert_valid(ev);
	mozdef_event_set_category(ev, "event");
	assert_invalid(ev, "category: must be \"rra_data\", not \"event\"");
	mozdef_event_set_category(ev, NULL);
	assert_valid(ev);
	mozdef_event_free(ev);
}
END_TEST

static const char *const compliance_paths[] = {
	"target", "policy", "check", "compliance", "link", "utctimestamp", "policy.level", "policy.name",
	"policy.url", "check.description", "check.location", "check.name", "check.test", "check.test.type",
	"check.test.value",
};

static void remove_path(struct json_object *root, const char *path)
{
	char buf[128];
	char *dot;

	snprintf(buf, sizeof(buf), "%s", path);
	while ((dot = strchr(buf, '.'))) {
		*dot = '\0';
		root = json_object_object_get(root, buf);
		memmove(buf, dot + 1, strlen(dot + 1) + 1);
	}
	json_object_object_del(root, buf);
}

/* reference test_compliance, and each required key of the compliance item */
START_TEST(test_ref_compliance)
{
	mozdef_event *ev = mozdef_event_new(MOZDEF_EVENT_COMPLIANCE);
	struct json_object *o, *v;
	char expected[128];

	ck_assert_int_eq(mozdef_event_get_type(ev), 2);
	assert_invalid(ev, "summary: missing");
	mozdef_event_set_summary(ev, "compliance item");
	assert_invalid(ev, "details.target: missing");
	ck_assert_int_eq(mozdef_event_set_details(ev, load("compliance-details-mozdef_client-test.json")), MOZDEF_OK);
	assert_valid(ev);
	o = serialize_parse(ev);
	ck_assert(json_object_object_get_ex(o, "category", &v));
	ck_assert_str_eq(json_object_get_string(v), "complianceitems");
	ck_assert(json_object_object_get_ex(o, "details", &v));
	ck_assert_str_eq(json_object_get_string(json_object_object_get(v, "target")), "www.mozilla.com");
	json_object_put(o);

	for (size_t i = 0; i < sizeof(compliance_paths) / sizeof(compliance_paths[0]); i++) {
		struct json_object *d = load("compliance-details-mozdef_client-test.json");
		remove_path(d, compliance_paths[i]);
		ck_assert_int_eq(mozdef_event_set_details(ev, d), MOZDEF_OK);
		snprintf(expected, sizeof(expected), "details.%s: missing", compliance_paths[i]);
		if (strcmp(compliance_paths[i], "check.test") == 0)
			snprintf(expected, sizeof(expected), "details.check.test: missing");
		assert_invalid(ev, expected);
	}
	/* Neither check.ref nor check.test.name is required; extra keys are allowed. */
	o = load("compliance-details-mozdef_client-test.json");
	remove_path(o, "check.ref");
	remove_path(o, "check.test.name");
	json_object_object_add(o, "extra", json_object_new_string("x"));
	ck_assert_int_eq(mozdef_event_set_details(ev, o), MOZDEF_OK);
	assert_valid(ev);
	/* A required container that is not an object is named. */
	json_object_object_add(o, "policy", json_object_new_string("medium"));
	assert_invalid(ev, "details.policy: not an object");
	mozdef_event_free(ev);
}
END_TEST

static const char *const vulnerability_paths[] = {
	"utctimestamp", "description", "vuln", "asset", "sourcename", "asset.assetid", "asset.ipv4address",
	"asset.hostname", "asset.macaddress", "vuln.status", "vuln.vulnid", "vuln.title", "vuln.discovery_time",
	"vuln.age_days", "vuln.known_malware", "vuln.known_exploits", "vuln.cvss", "vuln.cves",
};

/* reference test_vulnerability, and each required key */
START_TEST(test_ref_vulnerability)
{
	mozdef_event *ev = mozdef_event_new(MOZDEF_EVENT_VULNERABILITY);
	struct json_object *doc, *got;
	char expected[128];

	ck_assert_int_eq(mozdef_event_get_type(ev), 3);
	assert_invalid(ev, "utctimestamp: missing");
	doc = load("vulnerability-v1-mozdef_client-test.json");
	ck_assert_int_eq(mozdef_event_set_document(ev, json_object_get(doc)), MOZDEF_OK);
	assert_valid(ev);
	/* The document is the whole event: nothing is added. */
	got = serialize_parse(ev);
	ck_assert(json_object_equal(got, doc));
	json_object_put(got);
	json_object_put(doc);

	for (size_t i = 0; i < sizeof(vulnerability_paths) / sizeof(vulnerability_paths[0]); i++) {
		doc = load("vulnerability-v1-mozdef_client-test.json");
		remove_path(doc, vulnerability_paths[i]);
		ck_assert_int_eq(mozdef_event_set_document(ev, doc), MOZDEF_OK);
		snprintf(expected, sizeof(expected), "%s: missing", vulnerability_paths[i]);
		assert_invalid(ev, expected);
	}
	/* The client checks the v1 keys, as the reference does: a v2 document lacks vuln. */
	ck_assert_int_eq(mozdef_event_set_document(ev, load("vulnerability-v2-mozdef-test.json")), MOZDEF_OK);
	assert_invalid(ev, "vuln: missing");
	mozdef_event_free(ev);

	/* Only vulnerability events take a whole document. */
	ev = mozdef_event_new(MOZDEF_EVENT_GENERIC);
	doc = json_object_new_object();
	ck_assert_int_eq(mozdef_event_set_document(ev, doc), MOZDEF_ERR_INVALID_ARG);
	json_object_put(doc);
	mozdef_event_free(ev);
}
END_TEST

/* reference test_msg: tags are kept; the event outlives edits of the JSON built from it. */
START_TEST(test_ref_msg_tags)
{
	mozdef_event *ev = mozdef_event_new(MOZDEF_EVENT_GENERIC);
	struct json_object *o = NULL;

	mozdef_event_set_summary(ev, "hi");
	mozdef_event_add_tag(ev, "tag1");
	mozdef_event_add_tag(ev, "tag2");
	ck_assert_int_eq(mozdef_event_add_tag(ev, NULL), MOZDEF_ERR_INVALID_ARG);
	ck_assert_uint_eq(json_object_array_length(mozdef_event_get_tags(ev)), 2);
	ck_assert_int_eq(mozdef_event_to_json(ev, &o, NULL, 0), MOZDEF_OK);
	json_object_array_add(json_object_object_get(o, "tags"), json_object_new_string("x"));
	json_object_put(o);
	ck_assert_uint_eq(json_object_array_length(mozdef_event_get_tags(ev)), 2);
	mozdef_event_free(ev);
}
END_TEST

static Suite *event_suite(void)
{
	Suite *s = suite_create("mozdef-event");
	TCase *tc = tcase_create("event");

	tcase_add_test(tc, test_types_and_defaults);
	tcase_add_test(tc, test_severity_names);
	tcase_add_test(tc, test_generic_json_shape);
	tcase_add_test(tc, test_docs_example_round_trip);
	tcase_add_test(tc, test_detail_paths);
	tcase_add_test(tc, test_ref_event);
	tcase_add_test(tc, test_ref_event_send_invalid);
	tcase_add_test(tc, test_ref_error);
	tcase_add_test(tc, test_ref_asset_hint);
	tcase_add_test(tc, test_ref_rra);
	tcase_add_test(tc, test_ref_compliance);
	tcase_add_test(tc, test_ref_vulnerability);
	tcase_add_test(tc, test_ref_msg_tags);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(event_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
