/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "mozdef-private.h"

struct mozdef_event {
	mozdef_event_type type;
	mozdef_severity severity;
	int64_t processid;
	char *summary;
	char *category;         /* NULL: the type's default */
	char *source;
	char *hostname;         /* NULL: the default */
	char *processname;      /* NULL: the default */
	char *timestamp;        /* NULL: now */
	struct json_object *tags;
	struct json_object *details;
	struct json_object *document;   /* vulnerability events only */
};

static const char *const severity_names[] = {
	"DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL", "ALERT", "EMERGENCY",
};

/* LOG_DEBUG … LOG_EMERG: the mapping the reference meant but never applied. */
static const int severity_syslog[] = { 7, 6, 5, 4, 3, 2, 1, 0 };

static const char *const default_categories[] = {
	[MOZDEF_EVENT_GENERIC] = "event",
	[MOZDEF_EVENT_COMPLIANCE] = "complianceitems",
	[MOZDEF_EVENT_VULNERABILITY] = "",
	[MOZDEF_EVENT_ASSET_HINT] = "asset_hint",
	[MOZDEF_EVENT_RRA] = "rra_data",
};

#define N_SEVERITIES (sizeof(severity_names) / sizeof(severity_names[0]))

MOZDEF_EXPORT const char *mozdef_severity_to_string(mozdef_severity sev)
{
	if ((unsigned)sev >= N_SEVERITIES)
		return NULL;
	return severity_names[sev];
}

MOZDEF_EXPORT mozdef_error mozdef_severity_from_string(const char *name, mozdef_severity *ret_sev)
{
	if (!name || !ret_sev)
		return MOZDEF_ERR_INVALID_ARG;
	for (size_t i = 0; i < N_SEVERITIES; i++) {
		if (strcmp(name, severity_names[i]) == 0) {
			*ret_sev = (mozdef_severity)i;
			return MOZDEF_OK;
		}
	}
	return MOZDEF_ERR_INVALID_ARG;
}

MOZDEF_EXPORT int mozdef_severity_to_syslog(mozdef_severity sev)
{
	if ((unsigned)sev >= N_SEVERITIES)
		return -1;
	return severity_syslog[sev];
}

MOZDEF_EXPORT mozdef_event *mozdef_event_new(mozdef_event_type type)
{
	mozdef_event *ev;

	if (type < MOZDEF_EVENT_GENERIC || type > MOZDEF_EVENT_RRA)
		return NULL;
	ev = calloc(1, sizeof(*ev));
	if (!ev)
		return NULL;
	ev->type = type;
	ev->severity = MOZDEF_SEVERITY_INFO;
	ev->processid = (int64_t)getpid();
	ev->tags = json_object_new_array();
	ev->details = json_object_new_object();
	if (type == MOZDEF_EVENT_VULNERABILITY)
		ev->document = json_object_new_object();
	if (!ev->tags || !ev->details || (type == MOZDEF_EVENT_VULNERABILITY && !ev->document)) {
		mozdef_event_free(ev);
		return NULL;
	}
	return ev;
}

MOZDEF_EXPORT void mozdef_event_free(mozdef_event *ev)
{
	if (!ev)
		return;
	free(ev->summary);
	free(ev->category);
	free(ev->source);
	free(ev->hostname);
	free(ev->processname);
	free(ev->timestamp);
	json_object_put(ev->tags);
	json_object_put(ev->details);
	json_object_put(ev->document);
	free(ev);
}

MOZDEF_EXPORT mozdef_event_type mozdef_event_get_type(const mozdef_event *ev)
{
	return ev->type;
}

/* Replace *slot by a copy of value (NULL clears). */
static mozdef_error replace_string(char **slot, const char *value)
{
	char *copy = NULL;

	if (value) {
		copy = strdup(value);
		if (!copy)
			return MOZDEF_ERR_NOMEM;
	}
	free(*slot);
	*slot = copy;
	return MOZDEF_OK;
}

MOZDEF_EXPORT mozdef_error mozdef_event_set_summary(mozdef_event *ev, const char *summary)
{
	return ev ? replace_string(&ev->summary, summary) : MOZDEF_ERR_INVALID_ARG;
}

MOZDEF_EXPORT const char *mozdef_event_get_summary(const mozdef_event *ev)
{
	return ev->summary;
}

MOZDEF_EXPORT mozdef_error mozdef_event_set_category(mozdef_event *ev, const char *category)
{
	return ev ? replace_string(&ev->category, category) : MOZDEF_ERR_INVALID_ARG;
}

MOZDEF_EXPORT const char *mozdef_event_get_category(const mozdef_event *ev)
{
	return ev->category ? ev->category : default_categories[ev->type];
}

MOZDEF_EXPORT mozdef_error mozdef_event_set_source(mozdef_event *ev, const char *source)
{
	return ev ? replace_string(&ev->source, source) : MOZDEF_ERR_INVALID_ARG;
}

MOZDEF_EXPORT const char *mozdef_event_get_source(const mozdef_event *ev)
{
	return ev->source;
}

MOZDEF_EXPORT mozdef_error mozdef_event_set_hostname(mozdef_event *ev, const char *hostname)
{
	return ev ? replace_string(&ev->hostname, hostname) : MOZDEF_ERR_INVALID_ARG;
}

MOZDEF_EXPORT const char *mozdef_event_get_hostname(const mozdef_event *ev)
{
	return ev->hostname ? ev->hostname : mozdef__default_hostname();
}

MOZDEF_EXPORT mozdef_error mozdef_event_set_processname(mozdef_event *ev, const char *processname)
{
	return ev ? replace_string(&ev->processname, processname) : MOZDEF_ERR_INVALID_ARG;
}

MOZDEF_EXPORT const char *mozdef_event_get_processname(const mozdef_event *ev)
{
	return ev->processname ? ev->processname : mozdef__default_processname();
}

MOZDEF_EXPORT void mozdef_event_set_processid(mozdef_event *ev, int64_t pid)
{
	ev->processid = pid;
}

MOZDEF_EXPORT int64_t mozdef_event_get_processid(const mozdef_event *ev)
{
	return ev->processid;
}

MOZDEF_EXPORT mozdef_error mozdef_event_set_timestamp(mozdef_event *ev, const char *timestamp)
{
	return ev ? replace_string(&ev->timestamp, timestamp) : MOZDEF_ERR_INVALID_ARG;
}

MOZDEF_EXPORT const char *mozdef_event_get_timestamp(const mozdef_event *ev)
{
	return ev->timestamp;
}

MOZDEF_EXPORT mozdef_error mozdef_event_set_severity(mozdef_event *ev, mozdef_severity sev)
{
	if (!ev || (unsigned)sev >= N_SEVERITIES)
		return MOZDEF_ERR_INVALID_ARG;
	ev->severity = sev;
	return MOZDEF_OK;
}

MOZDEF_EXPORT mozdef_severity mozdef_event_get_severity(const mozdef_event *ev)
{
	return ev->severity;
}

MOZDEF_EXPORT mozdef_error mozdef_event_add_tag(mozdef_event *ev, const char *tag)
{
	struct json_object *s;

	if (!ev || !tag)
		return MOZDEF_ERR_INVALID_ARG;
	s = json_object_new_string(tag);
	if (!s)
		return MOZDEF_ERR_NOMEM;
	if (json_object_array_add(ev->tags, s) != 0) {
		json_object_put(s);
		return MOZDEF_ERR_NOMEM;
	}
	return MOZDEF_OK;
}

MOZDEF_EXPORT struct json_object *mozdef_event_get_tags(const mozdef_event *ev)
{
	return ev->tags;
}

MOZDEF_EXPORT mozdef_error mozdef_event_set_details(mozdef_event *ev, struct json_object *details)
{
	if (!ev || !json_object_is_type(details, json_type_object))
		return MOZDEF_ERR_INVALID_ARG;
	json_object_put(ev->details);
	ev->details = details;
	return MOZDEF_OK;
}

MOZDEF_EXPORT struct json_object *mozdef_event_get_details(const mozdef_event *ev)
{
	return ev->details;
}

MOZDEF_EXPORT mozdef_error mozdef_event_set_detail(mozdef_event *ev, const char *path, struct json_object *value,
                                                   char *errstr, size_t errstr_size)
{
	struct json_object *node;
	const char *p, *dot;
	char key[256];
	size_t n;

	if (!ev || !path || !*path) {
		mozdef__set_error(errstr, errstr_size, "details: empty path");
		return MOZDEF_ERR_INVALID_ARG;
	}
	node = ev->details;
	for (p = path;; p = dot + 1) {
		dot = strchr(p, '.');
		n = dot ? (size_t)(dot - p) : strlen(p);
		if (n == 0 || n >= sizeof(key)) {
			mozdef__set_error(errstr, errstr_size, "details.%s: empty or overlong path component", path);
			return MOZDEF_ERR_INVALID_ARG;
		}
		memcpy(key, p, n);
		key[n] = '\0';
		if (!dot)
			break;
		struct json_object *child = NULL;
		if (json_object_object_get_ex(node, key, &child)) {
			if (!json_object_is_type(child, json_type_object)) {
				mozdef__set_error(errstr, errstr_size, "details.%.*s: not an object", (int)(dot - path), path);
				return MOZDEF_ERR_INVALID_ARG;
			}
		} else {
			child = json_object_new_object();
			if (!child || json_object_object_add(node, key, child) != 0) {
				json_object_put(child);
				return MOZDEF_ERR_NOMEM;
			}
		}
		node = child;
	}
	if (json_object_object_add(node, key, value) != 0)
		return MOZDEF_ERR_NOMEM;
	return MOZDEF_OK;
}

static mozdef_error set_detail_new(mozdef_event *ev, const char *path, struct json_object *value, char *errstr,
                                   size_t errstr_size)
{
	mozdef_error err;

	if (!value)
		return MOZDEF_ERR_NOMEM;
	err = mozdef_event_set_detail(ev, path, value, errstr, errstr_size);
	if (err != MOZDEF_OK)
		json_object_put(value);
	return err;
}

MOZDEF_EXPORT mozdef_error mozdef_event_set_detail_string(mozdef_event *ev, const char *path, const char *value,
                                                          char *errstr, size_t errstr_size)
{
	if (!value)
		return MOZDEF_ERR_INVALID_ARG;
	return set_detail_new(ev, path, json_object_new_string(value), errstr, errstr_size);
}

MOZDEF_EXPORT mozdef_error mozdef_event_set_detail_int(mozdef_event *ev, const char *path, int64_t value,
                                                       char *errstr, size_t errstr_size)
{
	return set_detail_new(ev, path, json_object_new_int64(value), errstr, errstr_size);
}

MOZDEF_EXPORT mozdef_error mozdef_event_set_detail_bool(mozdef_event *ev, const char *path, bool value,
                                                        char *errstr, size_t errstr_size)
{
	return set_detail_new(ev, path, json_object_new_boolean(value), errstr, errstr_size);
}

MOZDEF_EXPORT struct json_object *mozdef_event_get_detail(const mozdef_event *ev, const char *path)
{
	struct json_object *node = ev->details;
	const char *p, *dot;
	char key[256];
	size_t n;

	if (!path)
		return NULL;
	for (p = path;; p = dot + 1) {
		dot = strchr(p, '.');
		n = dot ? (size_t)(dot - p) : strlen(p);
		if (n >= sizeof(key) || !json_object_is_type(node, json_type_object))
			return NULL;
		memcpy(key, p, n);
		key[n] = '\0';
		if (!json_object_object_get_ex(node, key, &node))
			return NULL;
		if (!dot)
			return node;
	}
}

MOZDEF_EXPORT mozdef_error mozdef_event_set_document(mozdef_event *ev, struct json_object *doc)
{
	if (!ev || ev->type != MOZDEF_EVENT_VULNERABILITY || !json_object_is_type(doc, json_type_object))
		return MOZDEF_ERR_INVALID_ARG;
	json_object_put(ev->document);
	ev->document = doc;
	return MOZDEF_OK;
}

/* ---- validation ----------------------------------------------------------------------- */

/* A group of keys that must all be present in the object at `path`. */
struct required_keys {
	const char *path;        /* dotted, from the checked root; "" is the root */
	const char *prefix;      /* how errors name the root */
	const char *const *keys;
};

static const char *const compliance_top[] = { "target", "policy", "check", "compliance", "link", "utctimestamp",
	                                      NULL };
static const char *const compliance_policy[] = { "level", "name", "url", NULL };
static const char *const compliance_check[] = { "description", "location", "name", "test", NULL };
static const char *const compliance_test[] = { "type", "value", NULL };

/* The order of the reference's checks, so that the first failure reported is the same. */
static const struct required_keys compliance_rules[] = {
	{ "", "details", compliance_top },
	{ "policy", "details", compliance_policy },
	{ "check", "details", compliance_check },
	{ "check.test", "details", compliance_test },
};

static const char *const vuln_top[] = { "utctimestamp", "description", "vuln", "asset", "sourcename", NULL };
static const char *const vuln_asset[] = { "assetid", "ipv4address", "hostname", "macaddress", NULL };
static const char *const vuln_vuln[] = { "status", "vulnid", "title", "discovery_time", "age_days",
	                                 "known_malware", "known_exploits", "cvss", "cves", NULL };

static const struct required_keys vulnerability_rules[] = {
	{ "", NULL, vuln_top },
	{ "asset", NULL, vuln_asset },
	{ "vuln", NULL, vuln_vuln },
};

static struct json_object *lookup(struct json_object *root, const char *path)
{
	char buf[64];
	char *save = NULL, *tok;

	if (!*path)
		return root;
	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok; tok = strtok_r(NULL, ".", &save)) {
		if (!json_object_is_type(root, json_type_object) || !json_object_object_get_ex(root, tok, &root))
			return NULL;
	}
	return root;
}

static mozdef_error check_rules(struct json_object *root, const struct required_keys *rules, size_t n,
                                char *errstr, size_t errstr_size)
{
	for (size_t i = 0; i < n; i++) {
		const struct required_keys *r = &rules[i];
		struct json_object *obj = lookup(root, r->path);
		const char *prefix = r->prefix ? r->prefix : "";
		const char *sep1 = (*prefix && *r->path) ? "." : "";

		if (!json_object_is_type(obj, json_type_object)) {
			mozdef__set_error(errstr, errstr_size, "%s%s%s: not an object", prefix, sep1,
			                  *r->path ? r->path : "");
			return MOZDEF_ERR_INVALID;
		}
		for (const char *const *k = r->keys; *k; k++) {
			if (!json_object_object_get_ex(obj, *k, NULL)) {
				const char *sep2 = (*prefix || *r->path) ? "." : "";
				mozdef__set_error(errstr, errstr_size, "%s%s%s%s%s: missing", prefix, sep1, r->path,
				                  sep2, *k);
				return MOZDEF_ERR_INVALID;
			}
		}
	}
	return MOZDEF_OK;
}

MOZDEF_EXPORT mozdef_error mozdef_event_validate(const mozdef_event *ev, char *errstr, size_t errstr_size)
{
	if (!ev) {
		mozdef__set_error(errstr, errstr_size, "no event");
		return MOZDEF_ERR_INVALID_ARG;
	}
	if (ev->type == MOZDEF_EVENT_VULNERABILITY)
		return check_rules(ev->document, vulnerability_rules,
		                   sizeof(vulnerability_rules) / sizeof(vulnerability_rules[0]), errstr, errstr_size);
	if (!ev->summary || !*ev->summary) {
		mozdef__set_error(errstr, errstr_size, "summary: missing");
		return MOZDEF_ERR_INVALID;
	}
	switch (ev->type) {
	case MOZDEF_EVENT_COMPLIANCE:
		return check_rules(ev->details, compliance_rules, sizeof(compliance_rules) / sizeof(compliance_rules[0]),
		                   errstr, errstr_size);
	case MOZDEF_EVENT_RRA:
		if (strcmp(mozdef_event_get_category(ev), "rra_data") != 0) {
			mozdef__set_error(errstr, errstr_size, "category: must be \"rra_data\", not \"%s\"",
			                  mozdef_event_get_category(ev));
			return MOZDEF_ERR_INVALID;
		}
		/* fall through */
	case MOZDEF_EVENT_ASSET_HINT:
		if (json_object_object_length(ev->details) == 0) {
			mozdef__set_error(errstr, errstr_size, "details: empty");
			return MOZDEF_ERR_INVALID;
		}
		break;
	default:
		break;
	}
	return MOZDEF_OK;
}

/* ---- JSON ----------------------------------------------------------------------------- */

static int add_string(struct json_object *o, const char *key, const char *value)
{
	struct json_object *v = NULL;

	if (value) {
		v = json_object_new_string(value);
		if (!v)
			return -1;
	}
	if (json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

/* A copy, so that the caller may edit the event while the object lives. */
static int add_copy(struct json_object *o, const char *key, struct json_object *src)
{
	struct json_object *v = NULL;

	if (json_object_deep_copy(src, &v, NULL) != 0)
		return -1;
	if (json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

MOZDEF_EXPORT mozdef_error mozdef_event_to_json(const mozdef_event *ev, struct json_object **ret_obj,
                                                char *errstr, size_t errstr_size)
{
	struct json_object *o;
	struct json_object *pid;
	char now[40];
	mozdef_error err;

	if (!ret_obj)
		return MOZDEF_ERR_INVALID_ARG;
	err = mozdef_event_validate(ev, errstr, errstr_size);
	if (err != MOZDEF_OK)
		return err;
	if (ev->type == MOZDEF_EVENT_VULNERABILITY) {
		/* The document is the event: a deep copy keeps later edits of the caller's
		 * object from racing with an asynchronous send. */
		o = NULL;
		if (json_object_deep_copy(ev->document, &o, NULL) != 0)
			return MOZDEF_ERR_NOMEM;
		*ret_obj = o;
		return MOZDEF_OK;
	}
	o = json_object_new_object();
	if (!o)
		return MOZDEF_ERR_NOMEM;
	if (!ev->timestamp)
		mozdef__format_utc(now, sizeof(now));
	pid = json_object_new_int64(ev->processid);
	if (add_string(o, "timestamp", ev->timestamp ? ev->timestamp : now) != 0 || !pid ||
	    json_object_object_add(o, "processid", pid) != 0)
		goto nomem;
	pid = NULL;
	if (add_string(o, "processname", mozdef_event_get_processname(ev)) != 0 ||
	    add_string(o, "hostname", mozdef_event_get_hostname(ev)) != 0 ||
	    add_string(o, "category", mozdef_event_get_category(ev)) != 0 ||
	    add_string(o, "source", ev->source) != 0 || add_copy(o, "details", ev->details) != 0 ||
	    add_string(o, "summary", ev->summary) != 0 || add_copy(o, "tags", ev->tags) != 0 ||
	    add_string(o, "severity", severity_names[ev->severity]) != 0)
		goto nomem;
	*ret_obj = o;
	return MOZDEF_OK;
nomem:
	json_object_put(pid);
	json_object_put(o);
	return MOZDEF_ERR_NOMEM;
}

MOZDEF_EXPORT mozdef_error mozdef_event_serialize(const mozdef_event *ev, char **ret_text, size_t *ret_len,
                                                  char *errstr, size_t errstr_size)
{
	struct json_object *o = NULL;
	const char *s;
	size_t len;
	char *copy;
	mozdef_error err;

	if (!ret_text)
		return MOZDEF_ERR_INVALID_ARG;
	err = mozdef_event_to_json(ev, &o, errstr, errstr_size);
	if (err != MOZDEF_OK)
		return err;
	s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	copy = s ? strndup(s, len) : NULL;
	json_object_put(o);
	if (!copy)
		return MOZDEF_ERR_NOMEM;
	*ret_text = copy;
	if (ret_len)
		*ret_len = len;
	return MOZDEF_OK;
}
