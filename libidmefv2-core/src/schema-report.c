/* SPDX-License-Identifier: Apache-2.0 */
/* Validation reports: the list of failures, built only on the invalid path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "schema-private.h"

struct report_entry {
	char *instance;
	char *schema;
	char *keyword;
	char *message;
};

struct idmefv2_report {
	struct report_entry *entries;
	size_t n;
	size_t cap;
};

idmefv2_report *idmefv2__report_new(void)
{
	return calloc(1, sizeof(idmefv2_report));
}

/* RFC 6901: '~' and '/' in a reference token become "~0" and "~1". */
static size_t escaped_len(const char *s, size_t len)
{
	size_t n = len;

	for (size_t i = 0; i < len; i++)
		if (s[i] == '~' || s[i] == '/')
			n++;
	return n;
}

static char *escape_into(char *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '~') {
			*out++ = '~';
			*out++ = '0';
		} else if (s[i] == '/') {
			*out++ = '~';
			*out++ = '1';
		} else {
			*out++ = s[i];
		}
	}
	return out;
}

static char *instance_pointer(const sv_seg *path)
{
	size_t depth = 0, len = 0;
	const sv_seg **segs;
	char *out, *p;

	for (const sv_seg *s = path; s; s = s->up) {
		depth++;
		len += 1 + (s->key ? escaped_len(s->key, s->len) : 20);
	}
	segs = malloc((depth ? depth : 1) * sizeof(*segs));
	out = malloc(len + 1);
	if (!segs || !out) {
		free(segs);
		free(out);
		return NULL;
	}
	depth = 0;
	for (const sv_seg *s = path; s; s = s->up)
		segs[depth++] = s;
	p = out;
	while (depth--) {
		const sv_seg *s = segs[depth];

		*p++ = '/';
		if (s->key)
			p = escape_into(p, s->key, s->len);
		else
			p += sprintf(p, "%zu", s->len);
	}
	*p = '\0';
	free(segs);
	return out;
}

idmefv2_error idmefv2__report_add(idmefv2_report *report, const sv_seg *path,
                                  const char *node_path, const char *keyword,
                                  const char *message)
{
	struct report_entry e = {0};
	size_t np = strlen(node_path), kl = strlen(keyword);

	if (report->n == report->cap) {
		size_t cap = report->cap ? report->cap * 2 : 8;
		struct report_entry *n = realloc(report->entries, cap * sizeof(*n));

		if (!n)
			return IDMEFV2_ERR_NOMEM;
		report->entries = n;
		report->cap = cap;
	}
	e.instance = instance_pointer(path);
	e.schema = malloc(np + 1 + kl + 1);
	e.keyword = strdup(keyword);
	e.message = strdup(message);
	if (!e.instance || !e.schema || !e.keyword || !e.message) {
		free(e.instance);
		free(e.schema);
		free(e.keyword);
		free(e.message);
		return IDMEFV2_ERR_NOMEM;
	}
	memcpy(e.schema, node_path, np);
	e.schema[np] = '/';
	memcpy(e.schema + np + 1, keyword, kl + 1);
	report->entries[report->n++] = e;
	return IDMEFV2_OK;
}

/* ---- quoting values for messages ---- */

struct qbuf {
	char *buf;
	size_t size;   /* capacity including the NUL */
	size_t len;
	size_t limit;  /* visible characters before truncation */
	bool full;
};

static void q_put(struct qbuf *q, const char *s, size_t n)
{
	for (size_t i = 0; i < n && !q->full; i++) {
		/* cut only before a UTF-8 lead byte, never inside a sequence */
		if (q->len >= q->limit && ((unsigned char)s[i] & 0xC0) != 0x80) {
			q->full = true;
			break;
		}
		if (q->len + 1 >= q->size) {
			q->full = true;
			break;
		}
		q->buf[q->len++] = s[i];
	}
}

static void q_string(struct qbuf *q, const char *s, size_t len)
{
	q_put(q, "\"", 1);
	for (size_t i = 0; i < len && !q->full; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[8];

		switch (c) {
		case '"':
			q_put(q, "\\\"", 2);
			break;
		case '\\':
			q_put(q, "\\\\", 2);
			break;
		case '\n':
			q_put(q, "\\n", 2);
			break;
		case '\r':
			q_put(q, "\\r", 2);
			break;
		case '\t':
			q_put(q, "\\t", 2);
			break;
		default:
			if (c < 0x20) {
				snprintf(esc, sizeof(esc), "\\u%04x", c);
				q_put(q, esc, 6);
			} else {
				q_put(q, (const char *)&s[i], 1);
			}
		}
	}
	q_put(q, "\"", 1);
}

static void q_value(struct qbuf *q, struct json_object *o)
{
	char num[64];
	size_t i = 0, n;

	if (q->full)
		return;
	switch (json_object_get_type(o)) {
	case json_type_null:
		q_put(q, "null", 4);
		break;
	case json_type_boolean:
		if (json_object_get_boolean(o))
			q_put(q, "true", 4);
		else
			q_put(q, "false", 5);
		break;
	case json_type_int:
	case json_type_double:
		n = idmefv2__sv_number_text(o, num, sizeof(num));
		q_put(q, num, n);
		break;
	case json_type_string:
		q_string(q, json_object_get_string(o), (size_t)json_object_get_string_len(o));
		break;
	case json_type_array:
		n = json_object_array_length(o);
		q_put(q, "[", 1);
		for (i = 0; i < n && !q->full; i++) {
			if (i)
				q_put(q, ", ", 2);
			q_value(q, json_object_array_get_idx(o, i));
		}
		q_put(q, "]", 1);
		break;
	case json_type_object:
		q_put(q, "{", 1);
		json_object_object_foreach(o, key, val) {
			if (q->full)
				break;
			if (i++)
				q_put(q, ", ", 2);
			q_string(q, key, strlen(key));
			q_put(q, ": ", 2);
			q_value(q, val);
		}
		q_put(q, "}", 1);
		break;
	}
}

void idmefv2__sv_quote(struct json_object *o, char *buf, size_t size, size_t limit)
{
	static const char ellipsis[] = "\xe2\x80\xa6";
	struct qbuf q = {buf, size, 0, limit, false};

	if (!size)
		return;
	if (size > sizeof(ellipsis))
		q.size = size - (sizeof(ellipsis) - 1);
	q_value(&q, o);
	buf[q.len] = '\0';
	if (q.full && q.len + sizeof(ellipsis) <= size)
		memcpy(buf + q.len, ellipsis, sizeof(ellipsis));
}

void idmefv2__sv_quote_string(const char *s, char *buf, size_t size, size_t limit)
{
	static const char ellipsis[] = "\xe2\x80\xa6";
	struct qbuf q = {buf, size, 0, limit, false};

	if (!size)
		return;
	if (size > sizeof(ellipsis))
		q.size = size - (sizeof(ellipsis) - 1);
	q_string(&q, s, strlen(s));
	buf[q.len] = '\0';
	if (q.full && q.len + sizeof(ellipsis) <= size)
		memcpy(buf + q.len, ellipsis, sizeof(ellipsis));
}

/* ---- public accessors ---- */

IDMEFV2_EXPORT size_t idmefv2_report_count(const idmefv2_report *report)
{
	return report ? report->n : 0;
}

IDMEFV2_EXPORT const char *idmefv2_report_instance_path(const idmefv2_report *report, size_t i)
{
	return report && i < report->n ? report->entries[i].instance : NULL;
}

IDMEFV2_EXPORT const char *idmefv2_report_schema_path(const idmefv2_report *report, size_t i)
{
	return report && i < report->n ? report->entries[i].schema : NULL;
}

IDMEFV2_EXPORT const char *idmefv2_report_keyword(const idmefv2_report *report, size_t i)
{
	return report && i < report->n ? report->entries[i].keyword : NULL;
}

IDMEFV2_EXPORT const char *idmefv2_report_message(const idmefv2_report *report, size_t i)
{
	return report && i < report->n ? report->entries[i].message : NULL;
}

static int add_string(struct json_object *obj, const char *key, const char *value)
{
	struct json_object *s = json_object_new_string(value);

	if (!s)
		return -1;
	if (json_object_object_add(obj, key, s) < 0) {
		json_object_put(s);
		return -1;
	}
	return 0;
}

IDMEFV2_EXPORT struct json_object *idmefv2_report_to_json(const idmefv2_report *report)
{
	struct json_object *arr = json_object_new_array();

	if (!arr)
		return NULL;
	for (size_t i = 0; report && i < report->n; i++) {
		const struct report_entry *e = &report->entries[i];
		struct json_object *o = json_object_new_object();

		if (!o)
			goto fail;
		if (add_string(o, "instance", e->instance) < 0 || add_string(o, "schema", e->schema) < 0 ||
		    add_string(o, "keyword", e->keyword) < 0 || add_string(o, "message", e->message) < 0 ||
		    json_object_array_add(arr, o) < 0) {
			json_object_put(o);
			goto fail;
		}
	}
	return arr;
fail:
	json_object_put(arr);
	return NULL;
}

IDMEFV2_EXPORT void idmefv2_report_free(idmefv2_report *report)
{
	if (!report)
		return;
	for (size_t i = 0; i < report->n; i++) {
		free(report->entries[i].instance);
		free(report->entries[i].schema);
		free(report->entries[i].keyword);
		free(report->entries[i].message);
	}
	free(report->entries);
	free(report);
}
