/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonpath-private.h"

enum seg_kind { SEG_NAME, SEG_INDEX, SEG_WILDCARD };

struct segment {
	enum seg_kind kind;
	char *name;
	long index;
};

struct idmefv2__jsonpath {
	struct segment *segs;
	size_t nsegs;
	bool has_wildcard;
};

void idmefv2__jsonpath_free(idmefv2__jsonpath *path)
{
	if (!path)
		return;
	for (size_t i = 0; i < path->nsegs; i++)
		free(path->segs[i].name);
	free(path->segs);
	free(path);
}

size_t idmefv2__jsonpath_names(const idmefv2__jsonpath *path, const char **names, size_t max, bool *ret_more)
{
	size_t n = 0;

	while (n < path->nsegs && path->segs[n].kind == SEG_NAME) {
		if (n < max)
			names[n] = path->segs[n].name;
		n++;
	}
	*ret_more = n < path->nsegs;
	return n;
}

static idmefv2_error add_segment(idmefv2__jsonpath *p, enum seg_kind kind, char *name, long index)
{
	struct segment *segs = realloc(p->segs, (p->nsegs + 1) * sizeof(*segs));

	if (!segs) {
		free(name);
		return IDMEFV2_ERR_NOMEM;
	}
	p->segs = segs;
	segs[p->nsegs++] = (struct segment){ .kind = kind, .name = name, .index = index };
	if (kind == SEG_WILDCARD)
		p->has_wildcard = true;
	return IDMEFV2_OK;
}

/* Reads a '...' or "..." name at *s (on the quote); backslash escapes the next byte. */
static char *parse_quoted(const char **s)
{
	char quote = **s;
	const char *p = *s + 1;
	size_t len = strlen(p);
	char *out = malloc(len + 1);
	size_t n = 0;

	if (!out)
		return NULL;
	while (*p && *p != quote) {
		if (*p == '\\' && p[1])
			p++;
		out[n++] = *p++;
	}
	if (*p != quote) {
		free(out);
		return NULL;
	}
	out[n] = '\0';
	*s = p + 1;
	return out;
}

static int syntax_error(const char *text, const char *at, const char *why, char *errstr,
                        size_t errstr_size)
{
	if (errstr && errstr_size)
		snprintf(errstr, errstr_size, "malformed path \"%s\" at offset %zu: %s", text,
		         (size_t)(at - text), why);
	return IDMEFV2_ERR_PATH;
}

idmefv2_error idmefv2__jsonpath_compile(const char *text, idmefv2__jsonpath **ret_path,
                                        char *errstr, size_t errstr_size)
{
	idmefv2__jsonpath *p;
	const char *s = text;
	idmefv2_error err = IDMEFV2_OK;

	if (!text || !ret_path)
		return IDMEFV2_ERR_INVALID_ARG;
	if (*s != '$')
		return syntax_error(text, s, "must start with '$'", errstr, errstr_size);
	p = calloc(1, sizeof(*p));
	if (!p)
		return IDMEFV2_ERR_NOMEM;
	s++;
	while (*s && !err) {
		if (*s == '.') {
			s++;
			if (*s == '*') {
				s++;
				err = add_segment(p, SEG_WILDCARD, NULL, 0);
			} else if (*s == '"' || *s == '\'') {
				const char *at = s;
				char *name = parse_quoted(&s);

				if (!name) {
					err = syntax_error(text, at, "unterminated quoted name", errstr,
					                   errstr_size);
					break;
				}
				err = add_segment(p, SEG_NAME, name, 0);
			} else {
				size_t len = strcspn(s, ".[");
				char *name;

				if (len == 0) {
					err = syntax_error(text, s, "empty name", errstr, errstr_size);
					break;
				}
				name = strndup(s, len);
				if (!name) {
					err = IDMEFV2_ERR_NOMEM;
					break;
				}
				s += len;
				err = add_segment(p, SEG_NAME, name, 0);
			}
		} else if (*s == '[') {
			const char *at = s;

			s++;
			if (*s == '*') {
				s++;
				err = add_segment(p, SEG_WILDCARD, NULL, 0);
			} else if (*s == '"' || *s == '\'') {
				char *name = parse_quoted(&s);

				if (!name) {
					err = syntax_error(text, at, "unterminated quoted name", errstr,
					                   errstr_size);
					break;
				}
				err = add_segment(p, SEG_NAME, name, 0);
			} else {
				char *end;
				long idx;

				errno = 0;
				idx = strtol(s, &end, 10);
				if (end == s || errno || (*s != '-' && (*s < '0' || *s > '9'))) {
					err = syntax_error(text, at, "expected an index, '*' or a quoted name",
					                   errstr, errstr_size);
					break;
				}
				s = end;
				err = add_segment(p, SEG_INDEX, NULL, idx);
			}
			if (!err && *s != ']') {
				err = syntax_error(text, s, "expected ']'", errstr, errstr_size);
				break;
			}
			if (!err)
				s++;
		} else {
			err = syntax_error(text, s, "expected '.' or '['", errstr, errstr_size);
		}
	}
	if (err) {
		idmefv2__jsonpath_free(p);
		return err;
	}
	*ret_path = p;
	return IDMEFV2_OK;
}

static struct json_object *step(const struct segment *seg, struct json_object *cur)
{
	struct json_object *next = NULL;

	if (seg->kind == SEG_NAME) {
		if (json_object_is_type(cur, json_type_object))
			json_object_object_get_ex(cur, seg->name, &next);
	} else if (seg->kind == SEG_INDEX && json_object_is_type(cur, json_type_array)) {
		long len = (long)json_object_array_length(cur);
		long i = seg->index < 0 ? len + seg->index : seg->index;

		if (i >= 0 && i < len)
			next = json_object_array_get_idx(cur, (size_t)i);
	}
	return next;
}

/* Appends every match of segs[from..] under @p cur to @p out. */
static void collect(const idmefv2__jsonpath *p, size_t from, struct json_object *cur,
                    struct json_object *out)
{
	for (size_t i = from; i < p->nsegs && cur; i++) {
		const struct segment *seg = &p->segs[i];

		if (seg->kind != SEG_WILDCARD) {
			cur = step(seg, cur);
			continue;
		}
		if (json_object_is_type(cur, json_type_array)) {
			size_t n = json_object_array_length(cur);

			for (size_t k = 0; k < n; k++)
				collect(p, i + 1, json_object_array_get_idx(cur, k), out);
		} else if (json_object_is_type(cur, json_type_object)) {
			json_object_object_foreach(cur, key, val) {
				(void)key;
				collect(p, i + 1, val, out);
			}
		}
		return;
	}
	if (cur)
		json_object_array_add(out, json_object_get(cur));
}

struct json_object *idmefv2__jsonpath_eval(const idmefv2__jsonpath *path, struct json_object *root)
{
	struct json_object *out;

	if (!path || !root)
		return NULL;
	if (!path->has_wildcard) {
		struct json_object *cur = root;

		for (size_t i = 0; i < path->nsegs && cur; i++)
			cur = step(&path->segs[i], cur);
		return cur ? json_object_get(cur) : NULL;
	}
	out = json_object_new_array();
	if (!out)
		return NULL;
	collect(path, 0, root, out);
	if (json_object_array_length(out) == 0) {
		json_object_put(out);
		return NULL;
	}
	return out;
}
