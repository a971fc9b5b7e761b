/* SPDX-License-Identifier: Apache-2.0 */
/*
 * IDMEF paths (draft-lehmann-idmefv2-08 §3.3.12): `Attribute` or
 * `Class.Attribute`, each with an optional `(N)`, `(-N)` or `(>>)`.
 *
 * Which names are classes, attributes and lists is read from the official
 * schema of the message's Version (the latest one when the Version is
 * missing or unknown), never from a built-in list: revisions add and drop
 * classes (Vector, Observable) and attributes (Analyzer.Type).
 *
 * An index on a list defaults to 0 where a class entry or a single list
 * element is meant (`Source.IP`, get_string("Category"), set_string
 * ("Category", …)); a path ending in an unindexed list names the whole list
 * where a whole value is read, set from an array, deleted or counted.
 */
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <json-c/json_pointer.h>

#include <idmefv2/message.h>
#include <idmefv2/schema.h>

#include "message-private.h"

/* ---- the model: classes, attributes and lists of one schema revision ------------------- */

enum {
	NAME_LIST = 1u << 0,  /* an array: takes an index */
	NAME_CLASS = 1u << 1, /* an object or an array of objects: takes `.Attribute` */
};

struct model_name {
	const char *name; /* a key of the schema document, which the model keeps */
	unsigned flags;
	struct model_name *attrs; /* of a class, sorted by name */
	size_t nattrs;
};

struct model {
	struct json_object *doc;
	const char *version;
	struct model_name *top; /* sorted by name */
	size_t ntop;
};

#define MAX_VERSIONS 64

/* Built once per revision under the lock, then read without it (release/acquire). */
static struct model *models[MAX_VERSIONS];
static pthread_mutex_t models_lock = PTHREAD_MUTEX_INITIALIZER;

static struct json_object *schema_resolve(struct json_object *doc, struct json_object *s)
{
	/* The official schemas only use local refs; a bound stops ref cycles. */
	for (int hops = 0; hops < 16; hops++) {
		struct json_object *ref, *target;
		const char *uri;

		if (!json_object_is_type(s, json_type_object) || !json_object_object_get_ex(s, "$ref", &ref))
			return s;
		uri = json_object_get_string(ref);
		if (!uri || uri[0] != '#')
			return NULL;
		if (uri[1] == '\0')
			target = doc;
		else if (json_pointer_get(doc, uri + 1, &target) != 0)
			return NULL;
		s = target;
	}
	return NULL;
}

static bool schema_has_type(struct json_object *s, const char *type)
{
	struct json_object *t;

	if (!json_object_is_type(s, json_type_object) || !json_object_object_get_ex(s, "type", &t))
		return false;
	if (json_object_is_type(t, json_type_string))
		return strcmp(json_object_get_string(t), type) == 0;
	if (json_object_is_type(t, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(t); i++) {
			struct json_object *e = json_object_array_get_idx(t, i);

			if (json_object_is_type(e, json_type_string) && strcmp(json_object_get_string(e), type) == 0)
				return true;
		}
	}
	return false;
}

/* The "properties" of an object schema, or NULL if @s does not describe an object. */
static struct json_object *schema_object_properties(struct json_object *doc, struct json_object *s)
{
	struct json_object *props, *items;

	s = schema_resolve(doc, s);
	if (!json_object_is_type(s, json_type_object))
		return NULL;
	if (!schema_has_type(s, "object") && json_object_object_get_ex(s, "type", NULL))
		return NULL;
	if (json_object_object_get_ex(s, "properties", &props) && json_object_is_type(props, json_type_object))
		return props;
	/* 2.D.V02 and V03 declare Analyzer as an object whose properties sit under "items". */
	if (json_object_object_get_ex(s, "items", &items)) {
		items = schema_resolve(doc, items);
		if (json_object_object_get_ex(items, "properties", &props) &&
		    json_object_is_type(props, json_type_object))
			return props;
	}
	return NULL;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct model_name *)a)->name, ((const struct model_name *)b)->name);
}

static void names_free(struct model_name *names, size_t n)
{
	for (size_t i = 0; names && i < n; i++)
		free(names[i].attrs);
	free(names);
}

/* One entry per property of @props; with @classes, object-valued ones become classes. */
static struct model_name *names_build(struct json_object *doc, struct json_object *props, bool classes,
                                      size_t *ret_n)
{
	size_t n = (size_t)json_object_object_length(props), i = 0;
	struct model_name *names = calloc(n ? n : 1, sizeof(*names));

	if (!names)
		return NULL;
	json_object_object_foreach(props, key, val) {
		struct json_object *s = schema_resolve(doc, val), *attrs = NULL;
		struct model_name *nm = &names[i++];

		nm->name = key;
		if (schema_has_type(s, "array")) {
			struct json_object *items = NULL;

			nm->flags |= NAME_LIST;
			if (classes && json_object_object_get_ex(s, "items", &items))
				attrs = schema_object_properties(doc, items);
		} else if (classes) {
			attrs = schema_object_properties(doc, s);
		}
		if (attrs) {
			nm->flags |= NAME_CLASS;
			nm->attrs = names_build(doc, attrs, false, &nm->nattrs);
			if (!nm->attrs) {
				names_free(names, i);
				return NULL;
			}
		}
	}
	qsort(names, n, sizeof(*names), name_cmp);
	*ret_n = n;
	return names;
}

static struct model *model_build(const char *version)
{
	struct json_object *doc, *props;
	struct model *m;
	const char *text;
	size_t len;

	text = idmefv2_schema_builtin_text(version, &len);
	if (!text || idmefv2__json_parse(text, len, &doc, NULL, 0) != IDMEFV2_OK)
		return NULL;
	m = calloc(1, sizeof(*m));
	if (!m || !json_object_object_get_ex(doc, "properties", &props) ||
	    !json_object_is_type(props, json_type_object))
		goto fail;
	m->doc = doc;
	m->version = version;
	m->top = names_build(doc, props, true, &m->ntop);
	if (!m->top)
		goto fail;
	return m;

fail:
	free(m);
	json_object_put(doc);
	return NULL;
}

static ptrdiff_t version_index(const char *version)
{
	const char *const *v = idmefv2_schema_versions();

	for (size_t i = 0; version && v[i] && i < MAX_VERSIONS; i++)
		if (strcmp(v[i], version) == 0)
			return (ptrdiff_t)i;
	return -1;
}

/* The model of @version, or of the latest revision if @version is not known. */
static const struct model *model_get(const char *version)
{
	ptrdiff_t i = version_index(version);
	struct model *m;

	if (i < 0)
		i = version_index(IDMEFV2_VERSION_LATEST);
	if (i < 0)
		return NULL;
	m = __atomic_load_n(&models[i], __ATOMIC_ACQUIRE);
	if (m)
		return m;
	pthread_mutex_lock(&models_lock);
	m = models[i];
	if (!m) {
		m = model_build(idmefv2_schema_versions()[i]);
		if (m)
			__atomic_store_n(&models[i], m, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&models_lock);
	return m;
}

static const struct model_name *names_find(const struct model_name *names, size_t n,
                                           const char *name, size_t len)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *s = names[mid].name;
		int c = strncmp(s, name, len);

		if (c == 0)
			c = s[len] == '\0' ? 0 : 1;
		if (c == 0)
			return &names[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ---- parsing a path ----------------------------------------------------------------------- */

enum index_kind { INDEX_NONE, INDEX_AT, INDEX_APPEND };

struct component {
	const char *name; /* into the path text */
	size_t len;
	enum index_kind kind;
	long idx; /* negative: from the end */
	const struct model_name *def;
};

struct path {
	const char *text;
	const char *version; /* of the schema the path was resolved against */
	struct component c[2];
	int n;
};

enum path_op { OP_GET, OP_SET, OP_DELETE, OP_LENGTH };

static void path_error(const struct path *p, char *errstr, size_t errstr_size, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void path_error(const struct path *p, char *errstr, size_t errstr_size, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	if (!errstr || !errstr_size)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(errstr, errstr_size, "IDMEF path \"%s\": %s", p->text, why);
}

static bool is_name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static idmefv2_error path_parse_index(struct path *p, const char **pos, struct component *c,
                                      char *errstr, size_t errstr_size)
{
	const char *s = *pos + 1; /* past '(' */
	bool neg = false;
	long v = 0;

	if (s[0] == '>' && s[1] == '>' && s[2] == ')') {
		c->kind = INDEX_APPEND;
		*pos = s + 3;
		return IDMEFV2_OK;
	}
	if (*s == '-') {
		neg = true;
		s++;
	}
	if (*s < '0' || *s > '9')
		goto bad;
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (*s - '0');
		if (v > INT_MAX) {
			path_error(p, errstr, errstr_size, "list index at offset %td is too large",
			           *pos + 1 - p->text);
			return IDMEFV2_ERR_PATH;
		}
	}
	if (*s != ')')
		goto bad;
	if (neg && v == 0) {
		path_error(p, errstr, errstr_size, "list index -0 at offset %td: use 0 for the first entry, -1 for the last",
		           *pos + 1 - p->text);
		return IDMEFV2_ERR_PATH;
	}
	c->kind = INDEX_AT;
	c->idx = neg ? -v : v;
	*pos = s + 1;
	return IDMEFV2_OK;

bad:
	if (*s)
		path_error(p, errstr, errstr_size, "expected a list index (N), (-N) or (>>): unexpected '%c' at offset %td",
		           *s, s - p->text);
	else
		path_error(p, errstr, errstr_size, "expected a list index (N), (-N) or (>>): unterminated '(' at offset %td",
		           *pos - p->text);
	return IDMEFV2_ERR_PATH;
}

static idmefv2_error path_parse(struct path *p, const char *text, char *errstr, size_t errstr_size)
{
	const char *s = text;

	memset(p, 0, sizeof(*p));
	p->text = text ? text : "";
	if (!text || !*text) {
		path_error(p, errstr, errstr_size, "empty path");
		return IDMEFV2_ERR_PATH;
	}
	for (;;) {
		struct component *c;
		const char *start = s;

		while (is_name_char(*s))
			s++;
		if (s == start) {
			if (*s)
				path_error(p, errstr, errstr_size, "expected a class or attribute name at offset %td, found '%c'",
				           s - text, *s);
			else
				path_error(p, errstr, errstr_size, "expected an attribute name after the trailing '.'");
			return IDMEFV2_ERR_PATH;
		}
		if (p->n == 2) {
			path_error(p, errstr, errstr_size,
			           "too deep: an IDMEF path is Attribute or Class.Attribute (\"%.*s\" at offset %td)",
			           (int)(s - start), start, start - text);
			return IDMEFV2_ERR_PATH;
		}
		c = &p->c[p->n++];
		c->name = start;
		c->len = (size_t)(s - start);
		if (*s == '(') {
			idmefv2_error err = path_parse_index(p, &s, c, errstr, errstr_size);

			if (err)
				return err;
		}
		if (*s == '\0')
			return IDMEFV2_OK;
		if (*s != '.') {
			path_error(p, errstr, errstr_size, "unexpected '%c' at offset %td", *s, s - text);
			return IDMEFV2_ERR_PATH;
		}
		s++;
	}
}

/* Check the names and indexes of @p against the schema of @msg's Version. */
static idmefv2_error path_resolve(struct path *p, const idmefv2_message *msg, enum path_op op,
                                  char *errstr, size_t errstr_size)
{
	const struct model *m = model_get(idmefv2_message_get_version(msg));
	const struct model_name *names;
	size_t nnames;

	if (!m) {
		path_error(p, errstr, errstr_size, "cannot load the IDMEFv2 schema");
		return IDMEFV2_ERR_SCHEMA;
	}
	p->version = m->version;
	names = m->top;
	nnames = m->ntop;
	for (int i = 0; i < p->n; i++) {
		struct component *c = &p->c[i];

		c->def = names_find(names, nnames, c->name, c->len);
		if (!c->def) {
			if (i == 0 && p->n == 2)
				path_error(p, errstr, errstr_size, "unknown class \"%.*s\" in IDMEFv2 %s",
				           (int)c->len, c->name, m->version);
			else if (i == 0)
				path_error(p, errstr, errstr_size, "unknown attribute \"%.*s\" in IDMEFv2 %s",
				           (int)c->len, c->name, m->version);
			else
				path_error(p, errstr, errstr_size, "class %s has no attribute \"%.*s\" in IDMEFv2 %s",
				           p->c[0].def->name, (int)c->len, c->name, m->version);
			return IDMEFV2_ERR_PATH;
		}
		if (i == 0 && p->n == 2 && !(c->def->flags & NAME_CLASS)) {
			path_error(p, errstr, errstr_size, "%s is an attribute, not a class", c->def->name);
			return IDMEFV2_ERR_PATH;
		}
		if (c->kind != INDEX_NONE && !(c->def->flags & NAME_LIST)) {
			path_error(p, errstr, errstr_size, "%s is not a list and takes no index", c->def->name);
			return IDMEFV2_ERR_PATH;
		}
		if (c->kind == INDEX_APPEND && op != OP_SET) {
			path_error(p, errstr, errstr_size, "(>>) appends an entry and is only valid when setting");
			return IDMEFV2_ERR_PATH;
		}
		names = c->def->attrs;
		nnames = c->def->nattrs;
	}
	return IDMEFV2_OK;
}

static idmefv2_error path_prepare(struct path *p, const idmefv2_message *msg, const char *text,
                                  enum path_op op, char *errstr, size_t errstr_size)
{
	idmefv2_error err;

	if (!msg) {
		idmefv2__message_error(errstr, errstr_size, "msg is NULL");
		return IDMEFV2_ERR_INVALID_ARG;
	}
	err = path_parse(p, text, errstr, errstr_size);
	if (err)
		return err;
	return path_resolve(p, msg, op, errstr, errstr_size);
}

/* ---- finding values -------------------------------------------------------------------- */

/*
 * The position of component @c in a list of @len entries: (N) from the start,
 * (-N) from the end, none means 0, (>>) means @len. Setting may also address
 * @len (append). Returns false if out of range.
 */
static bool index_resolve(const struct component *c, size_t len, bool set, size_t *ret)
{
	size_t i;

	if (c->kind == INDEX_APPEND) {
		i = len;
	} else if (c->kind == INDEX_NONE || c->idx >= 0) {
		i = c->kind == INDEX_NONE ? 0 : (size_t)c->idx;
	} else {
		if ((size_t)-c->idx > len)
			return false;
		i = len - (size_t)-c->idx;
	}
	if (i > len || (i == len && !set))
		return false;
	*ret = i;
	return true;
}

static idmefv2_error range_error(const struct path *p, const struct component *c, size_t len, bool set,
                                 char *errstr, size_t errstr_size)
{
	path_error(p, errstr, errstr_size, "index %ld out of range: %s has %zu entr%s%s", c->kind == INDEX_AT ? c->idx : 0,
	           c->def->name, len, len == 1 ? "y" : "ies",
	           set && c->kind == INDEX_AT && c->idx >= 0 ? " (an index equal to the length appends)" : "");
	return IDMEFV2_ERR_RANGE;
}

static idmefv2_error type_error(const struct path *p, const char *name, struct json_object *v,
                                const char *want, char *errstr, size_t errstr_size)
{
	path_error(p, errstr, errstr_size, "%s is %s, not %s", name, idmefv2__message_json_kind(v), want);
	return IDMEFV2_ERR_TYPE;
}

/* The object holding the last component: the root, or the addressed class entry. */
static idmefv2_error find_container(const struct path *p, struct json_object *root,
                                    struct json_object **ret, char *errstr, size_t errstr_size)
{
	const struct component *c = &p->c[0];
	struct json_object *v;

	if (p->n == 1) {
		*ret = root;
		return IDMEFV2_OK;
	}
	if (!json_object_object_get_ex(root, c->def->name, &v)) {
		path_error(p, errstr, errstr_size, "no %s in the message", c->def->name);
		return IDMEFV2_ERR_NOT_FOUND;
	}
	if (c->def->flags & NAME_LIST) {
		size_t i;

		if (!json_object_is_type(v, json_type_array))
			return type_error(p, c->def->name, v, "an array", errstr, errstr_size);
		if (!index_resolve(c, json_object_array_length(v), false, &i))
			return range_error(p, c, json_object_array_length(v), false, errstr, errstr_size);
		v = json_object_array_get_idx(v, i);
	}
	if (!json_object_is_type(v, json_type_object))
		return type_error(p, c->def->name, v, "an object", errstr, errstr_size);
	*ret = v;
	return IDMEFV2_OK;
}

/*
 * The value at @p. With @element, an unindexed list yields its first entry
 * (for the typed getters); without, the list itself.
 */
static idmefv2_error find_value(const struct path *p, struct json_object *root, bool element,
                                struct json_object **ret, char *errstr, size_t errstr_size)
{
	const struct component *c = &p->c[p->n - 1];
	struct json_object *container, *v;
	idmefv2_error err;
	size_t i;

	err = find_container(p, root, &container, errstr, errstr_size);
	if (err)
		return err;
	if (!json_object_object_get_ex(container, c->def->name, &v)) {
		path_error(p, errstr, errstr_size, "no %s in the message", c->def->name);
		return IDMEFV2_ERR_NOT_FOUND;
	}
	if (c->kind == INDEX_NONE && !(element && (c->def->flags & NAME_LIST) &&
	                               json_object_is_type(v, json_type_array))) {
		*ret = v;
		return IDMEFV2_OK;
	}
	if (!json_object_is_type(v, json_type_array))
		return type_error(p, c->def->name, v, "an array", errstr, errstr_size);
	if (!index_resolve(c, json_object_array_length(v), false, &i))
		return range_error(p, c, json_object_array_length(v), false, errstr, errstr_size);
	*ret = json_object_array_get_idx(v, i);
	return IDMEFV2_OK;
}

static idmefv2_error get_checked(const idmefv2_message *msg, const char *path, enum json_type type,
                                 const char *want, struct json_object **ret,
                                 char *errstr, size_t errstr_size)
{
	struct path p;
	struct json_object *v;
	idmefv2_error err;

	err = path_prepare(&p, msg, path, OP_GET, errstr, errstr_size);
	if (err)
		return err;
	err = find_value(&p, msg->obj, true, &v, errstr, errstr_size);
	if (err)
		return err;
	if (!json_object_is_type(v, type) &&
	    !(type == json_type_double && json_object_is_type(v, json_type_int)))
		return type_error(&p, p.c[p.n - 1].def->name, v, want, errstr, errstr_size);
	*ret = v;
	return IDMEFV2_OK;
}

/* ---- setting -------------------------------------------------------------------------- */

/*
 * What a set needs, found before anything is created so that a failing set
 * leaves the message as it was (out of memory aside).
 */
struct set_plan {
	struct json_object *cls;   /* the class value, NULL if to be created */
	struct json_object *entry; /* the object holding the last component, NULL if to be created */
	struct json_object *list;  /* with element: the list, NULL if to be created */
	bool element;              /* the value goes into a list rather than under a key */
	size_t list_i;             /* with element: where */
};

static idmefv2_error plan_entry(const struct path *p, struct json_object *root, struct set_plan *sp,
                                char *errstr, size_t errstr_size)
{
	const struct component *c = &p->c[0];
	struct json_object *cls = NULL;
	size_t len, i;

	if (p->n == 1) {
		sp->entry = root;
		return IDMEFV2_OK;
	}
	json_object_object_get_ex(root, c->def->name, &cls); /* a JSON null counts as absent */
	sp->cls = cls;
	if (!(c->def->flags & NAME_LIST)) {
		sp->entry = cls;
	} else {
		if (cls && !json_object_is_type(cls, json_type_array))
			return type_error(p, c->def->name, cls, "an array", errstr, errstr_size);
		len = cls ? json_object_array_length(cls) : 0;
		if (!index_resolve(c, len, true, &i))
			return range_error(p, c, len, true, errstr, errstr_size);
		sp->entry = i < len ? json_object_array_get_idx(cls, i) : NULL;
	}
	if (sp->entry && !json_object_is_type(sp->entry, json_type_object))
		return type_error(p, c->def->name, sp->entry, "an object", errstr, errstr_size);
	return IDMEFV2_OK;
}

static idmefv2_error plan_list(const struct path *p, struct json_object *value, struct set_plan *sp,
                               char *errstr, size_t errstr_size)
{
	const struct component *c = &p->c[p->n - 1];
	size_t len = 0;

	/* An unindexed list set from an array is replaced whole; from anything else, its first entry is. */
	sp->element = c->kind != INDEX_NONE ||
	              ((c->def->flags & NAME_LIST) && !json_object_is_type(value, json_type_array));
	if (!sp->element)
		return IDMEFV2_OK;
	/* a JSON null counts as absent */
	if (sp->entry && json_object_object_get_ex(sp->entry, c->def->name, &sp->list) && sp->list) {
		if (!json_object_is_type(sp->list, json_type_array))
			return type_error(p, c->def->name, sp->list, "an array", errstr, errstr_size);
		len = json_object_array_length(sp->list);
	}
	if (!index_resolve(c, len, true, &sp->list_i))
		return range_error(p, c, len, true, errstr, errstr_size);
	return IDMEFV2_OK;
}

/*
 * Add @child under @key of @obj, or to the end of array @obj when @key is
 * NULL; -1 when out of memory. The key may hold a JSON null, taken as absent
 * and replaced.
 */
static int add_child(struct json_object *obj, const char *key, struct json_object *child)
{
	if (key)
		return json_object_object_add(obj, key, child);
	return json_object_array_add(obj, child);
}

/* Create what the plan lacks and store @value; -1 (value not consumed) when out of memory. */
static int plan_apply(const struct path *p, struct json_object *root, struct set_plan *sp,
                      struct json_object *value)
{
	const struct model_name *cd = p->c[0].def, *ld = p->c[p->n - 1].def;

	if (!sp->entry) {
		if (!sp->cls && (cd->flags & NAME_LIST)) {
			sp->cls = json_object_new_array();
			if (!sp->cls || add_child(root, cd->name, sp->cls) < 0)
				goto nomem_cls;
		}
		sp->entry = json_object_new_object();
		if (!sp->entry || add_child(sp->cls ? sp->cls : root, sp->cls ? NULL : cd->name, sp->entry) < 0)
			goto nomem_entry;
	}
	if (!sp->element)
		return json_object_object_add(sp->entry, ld->name, value);
	if (!sp->list) {
		sp->list = json_object_new_array();
		if (!sp->list || add_child(sp->entry, ld->name, sp->list) < 0)
			goto nomem_list;
	}
	if (sp->list_i == json_object_array_length(sp->list))
		return json_object_array_add(sp->list, value);
	return json_object_array_put_idx(sp->list, sp->list_i, value);

nomem_cls:
	json_object_put(sp->cls);
	return -1;
nomem_entry:
	json_object_put(sp->entry);
	return -1;
nomem_list:
	json_object_put(sp->list);
	return -1;
}

static idmefv2_error set_value(idmefv2_message *msg, const char *path, struct json_object *value,
                               char *errstr, size_t errstr_size)
{
	struct set_plan sp = { 0 };
	struct path p;
	idmefv2_error err;

	err = path_prepare(&p, msg, path, OP_SET, errstr, errstr_size);
	if (!err)
		err = plan_entry(&p, msg->obj, &sp, errstr, errstr_size);
	if (!err)
		err = plan_list(&p, value, &sp, errstr, errstr_size);
	if (!err && plan_apply(&p, msg->obj, &sp, value) < 0) {
		idmefv2__message_error(errstr, errstr_size, "out of memory");
		err = IDMEFV2_ERR_NOMEM;
	}
	if (err)
		json_object_put(value);
	return err;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_message_set_value(idmefv2_message *msg, const char *path,
                                                       struct json_object *value,
                                                       char *errstr, size_t errstr_size)
{
	return set_value(msg, path, value, errstr, errstr_size);
}

static idmefv2_error set_new(idmefv2_message *msg, const char *path, struct json_object *value,
                             char *errstr, size_t errstr_size)
{
	if (!value) {
		idmefv2__message_error(errstr, errstr_size, "out of memory");
		return IDMEFV2_ERR_NOMEM;
	}
	return set_value(msg, path, value, errstr, errstr_size);
}

IDMEFV2_EXPORT idmefv2_error idmefv2_message_set_string(idmefv2_message *msg, const char *path,
                                                        const char *value,
                                                        char *errstr, size_t errstr_size)
{
	if (!value) {
		idmefv2__message_error(errstr, errstr_size, "value is NULL");
		return IDMEFV2_ERR_INVALID_ARG;
	}
	return idmefv2_message_set_string_len(msg, path, value, strlen(value), errstr, errstr_size);
}

IDMEFV2_EXPORT idmefv2_error idmefv2_message_set_string_len(idmefv2_message *msg, const char *path,
                                                            const char *value, size_t len,
                                                            char *errstr, size_t errstr_size)
{
	if ((!value && len) || len > INT_MAX) {
		idmefv2__message_error(errstr, errstr_size, value ? "string too long (%zu bytes)" : "value is NULL", len);
		return IDMEFV2_ERR_INVALID_ARG;
	}
	return set_new(msg, path, json_object_new_string_len(value ? value : "", (int)len), errstr, errstr_size);
}

IDMEFV2_EXPORT idmefv2_error idmefv2_message_set_int(idmefv2_message *msg, const char *path,
                                                     int64_t value,
                                                     char *errstr, size_t errstr_size)
{
	return set_new(msg, path, json_object_new_int64(value), errstr, errstr_size);
}

/*
 * A double written with the fewest digits that read back the same (0.1, not
 * json-c's 0.10000000000000001), with the decimal point of the "C" locale
 * whatever the current one.
 */
static struct json_object *new_double(double d)
{
	char buf[40], out[40];
	size_t j = 0;
	bool frac = false;

	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	for (size_t i = 0; buf[i] && j < sizeof(out) - 3; i++) {
		char c = buf[i];

		if ((c >= '0' && c <= '9') || c == '-' || c == '+') {
			out[j++] = c;
		} else if (c == 'e') {
			out[j++] = c;
			frac = true;
		} else if (j == 0 || out[j - 1] != '.') {
			/* a locale's decimal separator, possibly several bytes */
			out[j++] = '.';
			frac = true;
		}
	}
	/* As json-c does: 1.0 stays a double when read back. */
	if (!frac) {
		out[j++] = '.';
		out[j++] = '0';
	}
	out[j] = '\0';
	return json_object_new_double_s(d, out);
}

IDMEFV2_EXPORT idmefv2_error idmefv2_message_set_number(idmefv2_message *msg, const char *path,
                                                        double value,
                                                        char *errstr, size_t errstr_size)
{
	/* json-c would write NaN or Infinity, which is not JSON. */
	if (!isfinite(value)) {
		idmefv2__message_error(errstr, errstr_size, "%g cannot be written in JSON", value);
		return IDMEFV2_ERR_INVALID_ARG;
	}
	return set_new(msg, path, new_double(value), errstr, errstr_size);
}

IDMEFV2_EXPORT idmefv2_error idmefv2_message_set_bool(idmefv2_message *msg, const char *path,
                                                      bool value,
                                                      char *errstr, size_t errstr_size)
{
	return set_new(msg, path, json_object_new_boolean(value), errstr, errstr_size);
}

IDMEFV2_EXPORT idmefv2_error idmefv2_message_set_from_text(idmefv2_message *msg, const char *path,
                                                           const char *text,
                                                           char *errstr, size_t errstr_size)
{
	struct json_object *v = NULL;
	size_t len;

	if (!text) {
		idmefv2__message_error(errstr, errstr_size, "text is NULL");
		return IDMEFV2_ERR_INVALID_ARG;
	}
	len = strlen(text);
	/* JSON text is taken as JSON (a quoted "0.5" is the string 0.5); anything else is a string. */
	if (idmefv2__json_parse(text, len, &v, NULL, 0) == IDMEFV2_OK)
		return set_value(msg, path, v, errstr, errstr_size);
	json_object_put(v);
	return idmefv2_message_set_string_len(msg, path, text, len, errstr, errstr_size);
}

/* ---- getting ----------------------------------------------------------------------------- */

IDMEFV2_EXPORT idmefv2_error idmefv2_message_get_string(const idmefv2_message *msg, const char *path,
                                                        const char **ret_value, size_t *ret_len,
                                                        char *errstr, size_t errstr_size)
{
	struct json_object *v;
	idmefv2_error err;

	err = get_checked(msg, path, json_type_string, "a string", &v, errstr, errstr_size);
	if (err)
		return err;
	if (ret_value)
		*ret_value = json_object_get_string(v);
	if (ret_len)
		*ret_len = (size_t)json_object_get_string_len(v);
	return IDMEFV2_OK;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_message_get_int(const idmefv2_message *msg, const char *path,
                                                     int64_t *ret_value,
                                                     char *errstr, size_t errstr_size)
{
	struct json_object *v;
	idmefv2_error err;
	int64_t i;

	err = get_checked(msg, path, json_type_int, "an integer", &v, errstr, errstr_size);
	if (err)
		return err;
	i = json_object_get_int64(v);
	/* json-c clamps an unsigned value above INT64_MAX. */
	if (i == INT64_MAX && json_object_get_uint64(v) != (uint64_t)INT64_MAX) {
		struct path p = { .text = path };

		path_error(&p, errstr, errstr_size, "%" PRIu64 " does not fit in a signed 64-bit integer",
		           json_object_get_uint64(v));
		return IDMEFV2_ERR_RANGE;
	}
	if (ret_value)
		*ret_value = i;
	return IDMEFV2_OK;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_message_get_number(const idmefv2_message *msg, const char *path,
                                                        double *ret_value,
                                                        char *errstr, size_t errstr_size)
{
	struct json_object *v;
	idmefv2_error err;

	err = get_checked(msg, path, json_type_double, "a number", &v, errstr, errstr_size);
	if (err)
		return err;
	if (ret_value)
		*ret_value = json_object_get_double(v);
	return IDMEFV2_OK;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_message_get_bool(const idmefv2_message *msg, const char *path,
                                                      bool *ret_value,
                                                      char *errstr, size_t errstr_size)
{
	struct json_object *v;
	idmefv2_error err;

	err = get_checked(msg, path, json_type_boolean, "a boolean", &v, errstr, errstr_size);
	if (err)
		return err;
	if (ret_value)
		*ret_value = json_object_get_boolean(v);
	return IDMEFV2_OK;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_message_get_value(const idmefv2_message *msg, const char *path,
                                                       struct json_object **ret_value,
                                                       char *errstr, size_t errstr_size)
{
	struct json_object *v;
	struct path p;
	idmefv2_error err;

	err = path_prepare(&p, msg, path, OP_GET, errstr, errstr_size);
	if (err)
		return err;
	err = find_value(&p, msg->obj, false, &v, errstr, errstr_size);
	if (err)
		return err;
	if (ret_value)
		*ret_value = v;
	return IDMEFV2_OK;
}

/* ---- deleting and counting ------------------------------------------------------------------ */

IDMEFV2_EXPORT idmefv2_error idmefv2_message_delete(idmefv2_message *msg, const char *path,
                                                    char *errstr, size_t errstr_size)
{
	const struct component *c;
	struct json_object *container, *v;
	struct path p;
	idmefv2_error err;
	size_t i;

	err = path_prepare(&p, msg, path, OP_DELETE, errstr, errstr_size);
	if (err)
		return err;
	c = &p.c[p.n - 1];
	err = find_container(&p, msg->obj, &container, errstr, errstr_size);
	if (err)
		return err;
	if (!json_object_object_get_ex(container, c->def->name, &v)) {
		path_error(&p, errstr, errstr_size, "no %s in the message", c->def->name);
		return IDMEFV2_ERR_NOT_FOUND;
	}
	if (c->kind == INDEX_NONE) {
		json_object_object_del(container, c->def->name);
		return IDMEFV2_OK;
	}
	if (!json_object_is_type(v, json_type_array))
		return type_error(&p, c->def->name, v, "an array", errstr, errstr_size);
	if (!index_resolve(c, json_object_array_length(v), false, &i))
		return range_error(&p, c, json_object_array_length(v), false, errstr, errstr_size);
	if (json_object_array_del_idx(v, i, 1) < 0) {
		idmefv2__message_error(errstr, errstr_size, "out of memory");
		return IDMEFV2_ERR_NOMEM;
	}
	return IDMEFV2_OK;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_message_list_length(const idmefv2_message *msg, const char *path,
                                                         size_t *ret_len,
                                                         char *errstr, size_t errstr_size)
{
	const struct component *c;
	struct json_object *container, *v;
	struct path p;
	idmefv2_error err;

	err = path_prepare(&p, msg, path, OP_LENGTH, errstr, errstr_size);
	if (err)
		return err;
	c = &p.c[p.n - 1];
	if (!(c->def->flags & NAME_LIST)) {
		path_error(&p, errstr, errstr_size, "%s is not a list", c->def->name);
		return IDMEFV2_ERR_PATH;
	}
	if (c->kind != INDEX_NONE) {
		path_error(&p, errstr, errstr_size, "an index names one entry of %s, not the list", c->def->name);
		return IDMEFV2_ERR_PATH;
	}
	err = find_container(&p, msg->obj, &container, errstr, errstr_size);
	if (err == IDMEFV2_ERR_NOT_FOUND || err == IDMEFV2_ERR_RANGE) {
		/* an absent class entry has empty lists */
		if (errstr && errstr_size)
			errstr[0] = '\0';
		if (ret_len)
			*ret_len = 0;
		return IDMEFV2_OK;
	}
	if (err)
		return err;
	if (!json_object_object_get_ex(container, c->def->name, &v) || !v) {
		if (ret_len)
			*ret_len = 0;
		return IDMEFV2_OK;
	}
	if (!json_object_is_type(v, json_type_array))
		return type_error(&p, c->def->name, v, "an array", errstr, errstr_size);
	if (ret_len)
		*ret_len = json_object_array_length(v);
	return IDMEFV2_OK;
}
