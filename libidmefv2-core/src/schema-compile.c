/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Compiling a draft-04 schema: documents, "id" scopes and "$ref"s are
 * resolved here, once, into a graph of nodes whose keywords are
 * preprocessed for the validator (hash tables of property names and enum
 * strings, compiled patterns, format checkers).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "schema-private.h"
#include "idmefv2-common.h"

/* ---- arena: every node and rule of a schema, freed at once ---- */

struct sv_arena_chunk {
	struct sv_arena_chunk *next;
	size_t used;
	size_t size;
	max_align_t data[];
};

#define ARENA_CHUNK (32 * 1024)

static void *arena_alloc(idmefv2_schema *s, size_t n)
{
	struct sv_arena_chunk *c = s->arena;
	size_t align = sizeof(max_align_t);
	void *p;

	n = (n + align - 1) / align * align;
	if (!c || c->size - c->used < n) {
		size_t size = n > ARENA_CHUNK ? n : ARENA_CHUNK;

		c = malloc(sizeof(*c) + size);
		if (!c)
			return NULL;
		c->next = s->arena;
		c->used = 0;
		c->size = size;
		s->arena = c;
	}
	p = (char *)c->data + c->used;
	c->used += n;
	memset(p, 0, n);
	return p;
}

static char *arena_strndup(idmefv2_schema *s, const char *str, size_t len)
{
	char *p = arena_alloc(s, len + 1);

	if (p) {
		memcpy(p, str, len);
		p[len] = '\0';
	}
	return p;
}

/* ---- the draft-04 meta-schema, known without a registry ---- */

static const char metaschema_uri[] = "http://json-schema.org/draft-04/schema";

static const char metaschema_text[] =
	"{\"id\":\"http://json-schema.org/draft-04/schema#\","
	"\"$schema\":\"http://json-schema.org/draft-04/schema#\","
	"\"description\":\"Core schema meta-schema\","
	"\"definitions\":{"
	"\"schemaArray\":{\"type\":\"array\",\"minItems\":1,\"items\":{\"$ref\":\"#\"}},"
	"\"positiveInteger\":{\"type\":\"integer\",\"minimum\":0},"
	"\"positiveIntegerDefault0\":{\"allOf\":[{\"$ref\":\"#/definitions/positiveInteger\"},{\"default\":0}]},"
	"\"simpleTypes\":{\"enum\":[\"array\",\"boolean\",\"integer\",\"null\",\"number\",\"object\",\"string\"]},"
	"\"stringArray\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"minItems\":1,\"uniqueItems\":true}},"
	"\"type\":\"object\","
	"\"properties\":{"
	"\"id\":{\"type\":\"string\"},"
	"\"$schema\":{\"type\":\"string\"},"
	"\"title\":{\"type\":\"string\"},"
	"\"description\":{\"type\":\"string\"},"
	"\"default\":{},"
	"\"multipleOf\":{\"type\":\"number\",\"minimum\":0,\"exclusiveMinimum\":true},"
	"\"maximum\":{\"type\":\"number\"},"
	"\"exclusiveMaximum\":{\"type\":\"boolean\",\"default\":false},"
	"\"minimum\":{\"type\":\"number\"},"
	"\"exclusiveMinimum\":{\"type\":\"boolean\",\"default\":false},"
	"\"maxLength\":{\"$ref\":\"#/definitions/positiveInteger\"},"
	"\"minLength\":{\"$ref\":\"#/definitions/positiveIntegerDefault0\"},"
	"\"pattern\":{\"type\":\"string\",\"format\":\"regex\"},"
	"\"additionalItems\":{\"anyOf\":[{\"type\":\"boolean\"},{\"$ref\":\"#\"}],\"default\":{}},"
	"\"items\":{\"anyOf\":[{\"$ref\":\"#\"},{\"$ref\":\"#/definitions/schemaArray\"}],\"default\":{}},"
	"\"maxItems\":{\"$ref\":\"#/definitions/positiveInteger\"},"
	"\"minItems\":{\"$ref\":\"#/definitions/positiveIntegerDefault0\"},"
	"\"uniqueItems\":{\"type\":\"boolean\",\"default\":false},"
	"\"maxProperties\":{\"$ref\":\"#/definitions/positiveInteger\"},"
	"\"minProperties\":{\"$ref\":\"#/definitions/positiveIntegerDefault0\"},"
	"\"required\":{\"$ref\":\"#/definitions/stringArray\"},"
	"\"additionalProperties\":{\"anyOf\":[{\"type\":\"boolean\"},{\"$ref\":\"#\"}],\"default\":{}},"
	"\"definitions\":{\"type\":\"object\",\"additionalProperties\":{\"$ref\":\"#\"},\"default\":{}},"
	"\"properties\":{\"type\":\"object\",\"additionalProperties\":{\"$ref\":\"#\"},\"default\":{}},"
	"\"patternProperties\":{\"type\":\"object\",\"additionalProperties\":{\"$ref\":\"#\"},\"default\":{}},"
	"\"dependencies\":{\"type\":\"object\",\"additionalProperties\":{\"anyOf\":"
	"[{\"$ref\":\"#\"},{\"$ref\":\"#/definitions/stringArray\"}]}},"
	"\"enum\":{\"type\":\"array\",\"minItems\":1,\"uniqueItems\":true},"
	"\"type\":{\"anyOf\":[{\"$ref\":\"#/definitions/simpleTypes\"},"
	"{\"type\":\"array\",\"items\":{\"$ref\":\"#/definitions/simpleTypes\"},\"minItems\":1,\"uniqueItems\":true}]},"
	"\"allOf\":{\"$ref\":\"#/definitions/schemaArray\"},"
	"\"anyOf\":{\"$ref\":\"#/definitions/schemaArray\"},"
	"\"oneOf\":{\"$ref\":\"#/definitions/schemaArray\"},"
	"\"not\":{\"$ref\":\"#\"}},"
	"\"dependencies\":{\"exclusiveMaximum\":[\"maximum\"],\"exclusiveMinimum\":[\"minimum\"]},"
	"\"default\":{}}";

/* ---- registry ---- */

struct registry_entry {
	char *uri;
	struct json_object *doc;
};

struct idmefv2_schema_registry {
	struct registry_entry *entries;
	size_t n;
	size_t cap;
};

IDMEFV2_EXPORT idmefv2_schema_registry *idmefv2_schema_registry_new(void)
{
	return calloc(1, sizeof(idmefv2_schema_registry));
}

IDMEFV2_EXPORT void idmefv2_schema_registry_free(idmefv2_schema_registry *reg)
{
	if (!reg)
		return;
	for (size_t i = 0; i < reg->n; i++) {
		free(reg->entries[i].uri);
		json_object_put(reg->entries[i].doc);
	}
	free(reg->entries);
	free(reg);
}

/* A document URI never keeps its fragment ("…/schema#" names the document). */
static char *strip_fragment(const char *uri)
{
	const char *hash = strchr(uri, '#');

	return hash ? strndup(uri, (size_t)(hash - uri)) : strdup(uri);
}

IDMEFV2_EXPORT idmefv2_error idmefv2_schema_registry_add(idmefv2_schema_registry *reg,
                                                         const char *uri,
                                                         struct json_object *doc)
{
	char *u;

	if (!reg || !uri || !doc)
		return IDMEFV2_ERR_INVALID_ARG;
	u = strip_fragment(uri);
	if (!u)
		return IDMEFV2_ERR_NOMEM;
	for (size_t i = 0; i < reg->n; i++) {
		if (strcmp(reg->entries[i].uri, u) == 0) {
			free(u);
			json_object_put(reg->entries[i].doc);
			reg->entries[i].doc = json_object_get(doc);
			return IDMEFV2_OK;
		}
	}
	if (reg->n == reg->cap) {
		size_t cap = reg->cap ? reg->cap * 2 : 8;
		struct registry_entry *e = realloc(reg->entries, cap * sizeof(*e));

		if (!e) {
			free(u);
			return IDMEFV2_ERR_NOMEM;
		}
		reg->entries = e;
		reg->cap = cap;
	}
	reg->entries[reg->n].uri = u;
	reg->entries[reg->n].doc = json_object_get(doc);
	reg->n++;
	return IDMEFV2_OK;
}

static struct json_object *registry_lookup(const idmefv2_schema_registry *reg, const char *uri)
{
	for (size_t i = 0; reg && i < reg->n; i++)
		if (strcmp(reg->entries[i].uri, uri) == 0)
			return reg->entries[i].doc;
	return NULL;
}

/* ---- growable strings (compile time only) ---- */

struct sbuf {
	char *s;
	size_t len;
	size_t cap;
	bool failed;
};

static void sb_putn(struct sbuf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->s, cap);
		if (!p) {
			b->failed = true;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s)
{
	sb_putn(b, s, strlen(s));
}

/* Hands the string over; NULL on allocation failure. */
static char *sb_take(struct sbuf *b)
{
	if (b->failed) {
		free(b->s);
		return NULL;
	}
	if (!b->s)
		return strdup("");
	return b->s;
}

/* ---- URI references (RFC 3986 §5) ---- */

struct uri_parts {
	const char *scheme;
	size_t scheme_len;
	const char *authority;
	size_t authority_len;
	bool has_authority;
	const char *path;
	size_t path_len;
	const char *query;
	size_t query_len;
	bool has_query;
	const char *fragment;
	bool has_fragment;
};

static void uri_split(const char *u, struct uri_parts *p)
{
	const char *s = u, *e;

	memset(p, 0, sizeof(*p));
	for (e = s; *e && *e != ':' && *e != '/' && *e != '?' && *e != '#'; e++)
		;
	if (*e == ':' && e > s) {
		p->scheme = s;
		p->scheme_len = (size_t)(e - s);
		s = e + 1;
	}
	if (s[0] == '/' && s[1] == '/') {
		s += 2;
		for (e = s; *e && *e != '/' && *e != '?' && *e != '#'; e++)
			;
		p->has_authority = true;
		p->authority = s;
		p->authority_len = (size_t)(e - s);
		s = e;
	}
	for (e = s; *e && *e != '?' && *e != '#'; e++)
		;
	p->path = s;
	p->path_len = (size_t)(e - s);
	s = e;
	if (*s == '?') {
		s++;
		for (e = s; *e && *e != '#'; e++)
			;
		p->has_query = true;
		p->query = s;
		p->query_len = (size_t)(e - s);
		s = e;
	}
	if (*s == '#') {
		p->has_fragment = true;
		p->fragment = s + 1;
	}
}

/* RFC 3986 §5.2.4, in place on a NUL-terminated path. */
static void remove_dot_segments(char *path)
{
	char *in = path, *out = path;

	while (*in) {
		if (strncmp(in, "../", 3) == 0) {
			in += 3;
		} else if (strncmp(in, "./", 2) == 0) {
			in += 2;
		} else if (strncmp(in, "/./", 3) == 0) {
			in += 2;
		} else if (strcmp(in, "/.") == 0) {
			in[1] = '\0';
		} else if (strncmp(in, "/../", 4) == 0 || strcmp(in, "/..") == 0) {
			in += 3;
			if (*in == '\0') {
				in--;
				*in = '/';
			}
			while (out > path && *--out != '/')
				;
		} else if (strcmp(in, ".") == 0 || strcmp(in, "..") == 0) {
			in += strlen(in);
		} else {
			do
				*out++ = *in++;
			while (*in && *in != '/');
		}
	}
	*out = '\0';
}

static char *uri_resolve(const char *base, const char *ref)
{
	struct uri_parts b, r;
	struct sbuf out = {0}, path = {0};
	char *p;

	uri_split(base ? base : "", &b);
	uri_split(ref, &r);
	if (r.scheme) {
		sb_putn(&out, r.scheme, r.scheme_len);
		sb_puts(&out, ":");
		if (r.has_authority) {
			sb_puts(&out, "//");
			sb_putn(&out, r.authority, r.authority_len);
		}
		sb_putn(&path, r.path, r.path_len);
		sb_puts(&path, "");
	} else {
		if (b.scheme) {
			sb_putn(&out, b.scheme, b.scheme_len);
			sb_puts(&out, ":");
		}
		if (r.has_authority) {
			sb_puts(&out, "//");
			sb_putn(&out, r.authority, r.authority_len);
			sb_putn(&path, r.path, r.path_len);
		} else {
			if (b.has_authority) {
				sb_puts(&out, "//");
				sb_putn(&out, b.authority, b.authority_len);
			}
			if (r.path_len == 0) {
				sb_putn(&path, b.path, b.path_len);
				if (!r.has_query && b.has_query) {
					r.has_query = true;
					r.query = b.query;
					r.query_len = b.query_len;
				}
			} else if (r.path[0] == '/') {
				sb_putn(&path, r.path, r.path_len);
			} else {
				const char *slash = NULL;

				for (size_t i = 0; i < b.path_len; i++)
					if (b.path[i] == '/')
						slash = b.path + i;
				if (b.has_authority && b.path_len == 0)
					sb_puts(&path, "/");
				else if (slash)
					sb_putn(&path, b.path, (size_t)(slash - b.path) + 1);
				sb_putn(&path, r.path, r.path_len);
			}
		}
		sb_puts(&path, "");
	}
	p = sb_take(&path);
	if (!p) {
		free(sb_take(&out));
		return NULL;
	}
	remove_dot_segments(p);
	sb_puts(&out, p);
	free(p);
	if (r.has_query) {
		sb_puts(&out, "?");
		sb_putn(&out, r.query, r.query_len);
	}
	if (r.has_fragment) {
		sb_puts(&out, "#");
		sb_puts(&out, r.fragment);
	}
	return sb_take(&out);
}


static char *percent_decode(const char *s)
{
	size_t n = strlen(s), j = 0;
	char *out = malloc(n + 1);

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		int h, l;

		if (s[i] == '%' && (h = idmefv2__hex_value((unsigned char)s[i + 1])) >= 0 && (l = idmefv2__hex_value((unsigned char)s[i + 2])) >= 0) {
			out[j++] = (char)(h * 16 + l);
			i += 2;
		} else {
			out[j++] = s[i];
		}
	}
	out[j] = '\0';
	return out;
}

/* ---- JSON Pointers ---- */

static void sb_put_escaped(struct sbuf *b, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '~')
			sb_puts(b, "~0");
		else if (s[i] == '/')
			sb_puts(b, "~1");
		else
			sb_putn(b, &s[i], 1);
	}
}

/* Unescape the reference token at *p (up to the next '/') into @tok. */
static bool pointer_token(const char **p, struct sbuf *tok)
{
	const char *s = *p;

	tok->len = 0;
	sb_puts(tok, "");
	for (; *s && *s != '/'; s++) {
		if (*s == '~') {
			if (s[1] == '0')
				sb_puts(tok, "~");
			else if (s[1] == '1')
				sb_puts(tok, "/");
			else
				return false;
			s++;
		} else {
			sb_putn(tok, s, 1);
		}
	}
	*p = s;
	return !tok->failed;
}

static bool parse_index(const char *s, size_t *ret)
{
	size_t v = 0;

	if (!*s || (s[0] == '0' && s[1]))
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > SIZE_MAX / 10 - 1)
			return false;
		v = v * 10 + (size_t)(*s - '0');
	}
	*ret = v;
	return true;
}

/*
 * Follow the unescaped pointer @ptr ("" or "/a/0") from @doc. On success
 * *ret_value is the target and *ret_canon the pointer in canonical form.
 */
static bool pointer_get(struct json_object *doc, const char *ptr, struct json_object **ret_value,
                        char **ret_canon)
{
	struct sbuf tok = {0}, canon = {0};
	struct json_object *cur = doc;
	const char *p = ptr;
	bool ok = false;

	sb_puts(&canon, "");
	if (*p && *p != '/')
		goto out;
	while (*p == '/') {
		p++;
		if (!pointer_token(&p, &tok))
			goto out;
		if (json_object_is_type(cur, json_type_object)) {
			if (!json_object_object_get_ex(cur, tok.s, &cur))
				goto out;
			sb_puts(&canon, "/");
			sb_put_escaped(&canon, tok.s, tok.len);
		} else if (json_object_is_type(cur, json_type_array)) {
			size_t idx;
			char num[32];

			if (!parse_index(tok.s, &idx) || idx >= json_object_array_length(cur))
				goto out;
			cur = json_object_array_get_idx(cur, idx);
			snprintf(num, sizeof(num), "/%zu", idx);
			sb_puts(&canon, num);
		} else {
			goto out;
		}
	}
	ok = !canon.failed;
out:
	free(tok.s);
	if (ok) {
		*ret_value = cur;
		*ret_canon = sb_take(&canon);
		return *ret_canon != NULL;
	}
	free(canon.s);
	return false;
}

/* ---- compile context ---- */

struct doc {
	struct json_object *json;
	char *uri;                   /* without fragment; "" when unknown */
};

/* An "id" (or a document's own URI) and the schema it names. */
struct id_entry {
	char *uri;
	size_t doc;
	char *ptr;
};

struct memo_entry {
	size_t doc;
	char *ptr;
	sv_node *node;
};

struct pending {
	sv_node *node;
	size_t doc;
	char *ptr;
	struct json_object *json;
};

struct cctx {
	idmefv2_schema *s;
	const idmefv2_schema_registry *reg;
	struct doc *docs;
	size_t n_docs, cap_docs;
	struct id_entry *ids;
	size_t n_ids, cap_ids;
	struct memo_entry *memo;     /* open addressing */
	size_t memo_cap, memo_n;
	struct pending *pending;
	size_t n_pending, cap_pending;
	sv_node **nodes;
	size_t n_nodes, cap_nodes;
	char *errstr;
	size_t errstr_size;
	idmefv2_error rc;
};

#define MARK_COMPILED 1u
#define MARK_VISITING 2u
#define MARK_DONE 4u

static void cerr(struct cctx *c, idmefv2_error rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void cerr(struct cctx *c, idmefv2_error rc, const char *fmt, ...)
{
	va_list ap;

	if (c->rc != IDMEFV2_OK)
		return;
	c->rc = rc;
	if (!c->errstr || !c->errstr_size)
		return;
	va_start(ap, fmt);
	vsnprintf(c->errstr, c->errstr_size, fmt, ap);
	va_end(ap);
}

static void nomem(struct cctx *c)
{
	cerr(c, IDMEFV2_ERR_NOMEM, "out of memory while compiling the schema");
}

static bool grow(void **arr, size_t *cap, size_t n, size_t size)
{
	void *p;
	size_t ncap;

	if (n < *cap)
		return true;
	ncap = *cap ? *cap * 2 : 16;
	p = realloc(*arr, ncap * size);
	if (!p)
		return false;
	*arr = p;
	*cap = ncap;
	return true;
}

static bool add_regex(struct cctx *c, idmefv2__regex *re)
{
	idmefv2_schema *s = c->s;
	idmefv2__regex **p = realloc(s->regexes, (s->n_regexes + 1) * sizeof(*p));

	if (!p) {
		idmefv2__regex_free(re);
		nomem(c);
		return false;
	}
	s->regexes = p;
	s->regexes[s->n_regexes++] = re;
	return true;
}

static const struct id_entry *id_lookup(struct cctx *c, const char *uri)
{
	for (size_t i = 0; i < c->n_ids; i++)
		if (strcmp(c->ids[i].uri, uri) == 0)
			return &c->ids[i];
	return NULL;
}

static bool id_add(struct cctx *c, const char *uri, size_t doc, const char *ptr)
{
	struct id_entry *e;
	char *u;

	/* "…#" and "…" name the same resource */
	u = strdup(uri);
	if (!u)
		return false;
	if (u[0] && u[strlen(u) - 1] == '#')
		u[strlen(u) - 1] = '\0';
	if (id_lookup(c, u)) {
		free(u);
		return true;
	}
	if (!grow((void **)&c->ids, &c->cap_ids, c->n_ids, sizeof(*c->ids))) {
		free(u);
		return false;
	}
	e = &c->ids[c->n_ids];
	e->uri = u;
	e->doc = doc;
	e->ptr = strdup(ptr);
	if (!e->ptr) {
		free(u);
		return false;
	}
	c->n_ids++;
	return true;
}

/* Where a keyword's value sits: a schema, a map of schemas, an array of
 * schemas, or plain data that may hold look-alike "id" members. */
enum position { POS_SCHEMA, POS_MAP, POS_LIST, POS_DATA };

static enum position child_position(enum position parent, const char *key, struct json_object *value)
{
	static const char *const maps[] = {"properties", "patternProperties", "definitions", "dependencies"};
	static const char *const lists[] = {"allOf", "anyOf", "oneOf"};
	static const char *const data[] = {"enum", "required", "type", "default", "id", "$ref", "$schema",
	                                   "title", "description", "format", "pattern"};

	if (parent == POS_MAP || parent == POS_LIST)
		return POS_SCHEMA;
	if (parent == POS_DATA)
		return POS_DATA;
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++)
		if (strcmp(key, maps[i]) == 0)
			return POS_MAP;
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		if (strcmp(key, lists[i]) == 0)
			return POS_LIST;
	if (strcmp(key, "items") == 0)
		return json_object_is_type(value, json_type_array) ? POS_LIST : POS_SCHEMA;
	for (size_t i = 0; i < sizeof(data) / sizeof(data[0]); i++)
		if (strcmp(key, data[i]) == 0)
			return POS_DATA;
	return POS_SCHEMA;
}

/* The base URI in force inside a schema object, given its parent's. */
static char *scope_of(struct json_object *schema, const char *base)
{
	struct json_object *id;

	if (json_object_is_type(schema, json_type_object) && json_object_object_get_ex(schema, "id", &id) &&
	    json_object_is_type(id, json_type_string))
		return uri_resolve(base, json_object_get_string(id));
	return strdup(base);
}

static bool is_known_schema_keyword(const char *key)
{
	static const char *const kws[] = {"properties", "patternProperties", "definitions", "dependencies",
	                                  "allOf", "anyOf", "oneOf", "items", "additionalItems",
	                                  "additionalProperties", "not"};

	for (size_t i = 0; i < sizeof(kws) / sizeof(kws[0]); i++)
		if (strcmp(key, kws[i]) == 0)
			return true;
	return false;
}

/* Record every "id" of a document so that refs to them resolve. */
static bool scan_ids(struct cctx *c, size_t doc, struct json_object *v, enum position pos,
                     const char *ptr, const char *base, int depth)
{
	char *scope = NULL;
	bool ok = false;
	struct sbuf child = {0};

	if (depth > 512)
		return true;
	if (pos == POS_SCHEMA) {
		struct json_object *id;

		scope = scope_of(v, base);
		if (!scope)
			return false;
		if (json_object_is_type(v, json_type_object) && json_object_object_get_ex(v, "id", &id) &&
		    json_object_is_type(id, json_type_string) && !id_add(c, scope, doc, ptr))
			goto out;
	} else {
		scope = strdup(base);
		if (!scope)
			return false;
	}
	if (json_object_is_type(v, json_type_object)) {
		json_object_object_foreach(v, key, val) {
			enum position cp;

			if (pos == POS_SCHEMA && !is_known_schema_keyword(key))
				continue;
			cp = child_position(pos, key, val);
			if (cp == POS_DATA)
				continue;
			child.len = 0;
			sb_puts(&child, ptr);
			sb_puts(&child, "/");
			sb_put_escaped(&child, key, strlen(key));
			if (child.failed || !scan_ids(c, doc, val, cp, child.s, scope, depth + 1))
				goto out;
		}
	} else if (json_object_is_type(v, json_type_array) && pos == POS_LIST) {
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			char num[32];

			child.len = 0;
			sb_puts(&child, ptr);
			snprintf(num, sizeof(num), "/%zu", i);
			sb_puts(&child, num);
			if (child.failed ||
			    !scan_ids(c, doc, json_object_array_get_idx(v, i), POS_SCHEMA, child.s, scope, depth + 1))
				goto out;
		}
	}
	ok = true;
out:
	free(child.s);
	free(scope);
	return ok;
}

static bool add_document(struct cctx *c, struct json_object *json, const char *uri, size_t *ret_doc)
{
	size_t d = c->n_docs;
	struct json_object **docs;

	if (!grow((void **)&c->docs, &c->cap_docs, c->n_docs, sizeof(*c->docs)))
		return false;
	docs = realloc(c->s->documents, (c->s->n_documents + 1) * sizeof(*docs));
	if (!docs)
		return false;
	c->s->documents = docs;
	c->docs[d].uri = strip_fragment(uri);
	if (!c->docs[d].uri)
		return false;
	c->docs[d].json = json;
	c->n_docs++;
	c->s->documents[c->s->n_documents++] = json_object_get(json);
	if (!id_add(c, c->docs[d].uri, d, ""))
		return false;
	if (!scan_ids(c, d, json, POS_SCHEMA, "", c->docs[d].uri, 0))
		return false;
	*ret_doc = d;
	return true;
}

/* The base URI at @ptr inside document @doc: every "id" on the way applies. */
static char *scope_at(struct cctx *c, size_t doc, const char *ptr)
{
	struct json_object *cur = c->docs[doc].json;
	enum position pos = POS_SCHEMA;
	struct sbuf tok = {0};
	char *base = scope_of(cur, c->docs[doc].uri);
	const char *p = ptr;

	while (base && *p == '/') {
		struct json_object *next = NULL;

		p++;
		if (!pointer_token(&p, &tok))
			break;
		if (json_object_is_type(cur, json_type_object)) {
			if (!json_object_object_get_ex(cur, tok.s, &next))
				break;
			pos = child_position(pos, tok.s, next);
		} else if (json_object_is_type(cur, json_type_array)) {
			size_t idx;

			if (!parse_index(tok.s, &idx))
				break;
			next = json_object_array_get_idx(cur, idx);
			pos = pos == POS_DATA ? POS_DATA : POS_SCHEMA;
		} else {
			break;
		}
		cur = next;
		if (pos == POS_SCHEMA) {
			char *b = scope_of(cur, base);

			free(base);
			base = b;
		}
	}
	free(tok.s);
	return base;
}

static size_t memo_hash(size_t doc, const char *ptr)
{
	return idmefv2__sv_hash(ptr, strlen(ptr)) ^ (uint32_t)(doc * 0x9E3779B1u);
}

static sv_node *memo_find(struct cctx *c, size_t doc, const char *ptr)
{
	if (!c->memo_cap)
		return NULL;
	for (size_t i = memo_hash(doc, ptr) & (c->memo_cap - 1);; i = (i + 1) & (c->memo_cap - 1)) {
		struct memo_entry *e = &c->memo[i];

		if (!e->ptr)
			return NULL;
		if (e->doc == doc && strcmp(e->ptr, ptr) == 0)
			return e->node;
	}
}

static bool memo_insert(struct cctx *c, size_t doc, char *ptr, sv_node *node)
{
	if ((c->memo_n + 1) * 2 > c->memo_cap) {
		size_t cap = c->memo_cap ? c->memo_cap * 2 : 256;
		struct memo_entry *m = calloc(cap, sizeof(*m));

		if (!m)
			return false;
		for (size_t i = 0; i < c->memo_cap; i++) {
			struct memo_entry *e = &c->memo[i];
			size_t j;

			if (!e->ptr)
				continue;
			for (j = memo_hash(e->doc, e->ptr) & (cap - 1); m[j].ptr; j = (j + 1) & (cap - 1))
				;
			m[j] = *e;
		}
		free(c->memo);
		c->memo = m;
		c->memo_cap = cap;
	}
	for (size_t i = memo_hash(doc, ptr) & (c->memo_cap - 1);; i = (i + 1) & (c->memo_cap - 1)) {
		if (!c->memo[i].ptr) {
			c->memo[i].doc = doc;
			c->memo[i].ptr = ptr;
			c->memo[i].node = node;
			c->memo_n++;
			return true;
		}
	}
}

/* "#/definitions/ipType" in the main document, "URI#/…" in another. */
static bool node_set_path(struct cctx *c, sv_node *n, size_t doc, const char *ptr)
{
	struct sbuf b = {0};
	char *p;
	const char *defs = "/definitions/";

	if (doc != 0)
		sb_puts(&b, c->docs[doc].uri);
	sb_puts(&b, "#");
	sb_puts(&b, ptr);
	p = sb_take(&b);
	if (!p)
		return false;
	n->path = arena_strndup(c->s, p, strlen(p));
	free(p);
	if (!n->path)
		return false;
	if (strncmp(ptr, defs, strlen(defs)) == 0 && !strchr(ptr + strlen(defs), '/')) {
		struct sbuf name = {0};
		const char *q = ptr + strlen(defs);

		if (!pointer_token(&q, &name)) {
			free(name.s);
			return false;
		}
		n->name = arena_strndup(c->s, name.s, name.len);
		free(name.s);
		if (!n->name)
			return false;
	}
	return true;
}

/* The node for (doc, ptr), created if new; *ret_created tells which. */
static sv_node *node_get(struct cctx *c, size_t doc, const char *ptr, bool *ret_created)
{
	sv_node *n = memo_find(c, doc, ptr);
	char *key;

	*ret_created = false;
	if (n)
		return n;
	n = arena_alloc(c->s, sizeof(*n));
	key = strdup(ptr);
	if (!n || !key || !grow((void **)&c->nodes, &c->cap_nodes, c->n_nodes, sizeof(*c->nodes))) {
		free(key);
		nomem(c);
		return NULL;
	}
	n->types = SV_T_ALL;
	if (!memo_insert(c, doc, key, n) || !node_set_path(c, n, doc, ptr)) {
		if (memo_find(c, doc, ptr) != n)
			free(key);
		nomem(c);
		return NULL;
	}
	c->nodes[c->n_nodes++] = n;
	*ret_created = true;
	return n;
}

static bool pending_push(struct cctx *c, sv_node *n, size_t doc, const char *ptr, struct json_object *json)
{
	struct pending *p;

	if (!grow((void **)&c->pending, &c->cap_pending, c->n_pending, sizeof(*c->pending)))
		return false;
	p = &c->pending[c->n_pending];
	p->ptr = strdup(ptr);
	if (!p->ptr)
		return false;
	p->node = n;
	p->doc = doc;
	p->json = json;
	c->n_pending++;
	return true;
}

/* ---- resolving "$ref" ---- */

static bool load_remote(struct cctx *c, const char *docuri)
{
	struct json_object *json = registry_lookup(c->reg, docuri);
	size_t d;
	bool ok;

	if (json)
		return add_document(c, json, docuri, &d);
	if (strcmp(docuri, metaschema_uri) != 0)
		return true;
	json = json_tokener_parse(metaschema_text);
	if (!json)
		return false;
	ok = add_document(c, json, docuri, &d);
	json_object_put(json);
	return ok;
}

/* Find the location a resolved absolute reference names. */
static const struct id_entry *locate(struct cctx *c, const char *full, char **ret_fragment_ptr)
{
	const char *hash = strchr(full, '#');
	const char *frag = hash ? hash + 1 : "";
	char *docuri = hash ? strndup(full, (size_t)(hash - full)) : strdup(full);
	const struct id_entry *e = NULL;
	char *decoded = NULL;

	*ret_fragment_ptr = NULL;
	if (!docuri)
		return NULL;
	decoded = percent_decode(frag);
	if (!decoded)
		goto out;
	for (int attempt = 0; attempt < 2 && !e; attempt++) {
		if (attempt == 1) {
			bool known = id_lookup(c, docuri) != NULL;

			if (known || !load_remote(c, docuri))
				break;
		}
		if (decoded[0] == '\0' || decoded[0] == '/') {
			e = id_lookup(c, docuri);
		} else {
			/* a plain-name fragment names an "id": "#foo" */
			struct sbuf b = {0};
			char *u;

			sb_puts(&b, docuri);
			sb_puts(&b, "#");
			sb_puts(&b, frag);
			u = sb_take(&b);
			if (!u)
				break;
			e = id_lookup(c, u);
			free(u);
		}
	}
	if (e && (decoded[0] == '\0' || decoded[0] == '/')) {
		*ret_fragment_ptr = decoded;
		decoded = NULL;
	} else if (e) {
		*ret_fragment_ptr = strdup("");
	}
out:
	free(decoded);
	free(docuri);
	return e;
}

static sv_node *resolve_ref(struct cctx *c, const char *where, const char *base, const char *ref)
{
	char *full = uri_resolve(base, ref), *frag = NULL, *ptr = NULL, *canon = NULL;
	const struct id_entry *e;
	struct json_object *target;
	sv_node *n = NULL;
	bool created;
	size_t doc;

	if (!full) {
		nomem(c);
		return NULL;
	}
	e = locate(c, full, &frag);
	if (!e || !frag) {
		if (c->rc == IDMEFV2_OK)
			cerr(c, IDMEFV2_ERR_SCHEMA, "schema %s/$ref: cannot resolve \"%s\"", where, ref);
		goto out;
	}
	doc = e->doc;
	ptr = malloc(strlen(e->ptr) + strlen(frag) + 1);
	if (!ptr) {
		nomem(c);
		goto out;
	}
	strcpy(ptr, e->ptr);
	strcat(ptr, frag);
	if (!pointer_get(c->docs[doc].json, ptr, &target, &canon)) {
		cerr(c, IDMEFV2_ERR_SCHEMA, "schema %s/$ref: \"%s\" points to nothing", where, ref);
		goto out;
	}
	if (!json_object_is_type(target, json_type_object)) {
		cerr(c, IDMEFV2_ERR_SCHEMA, "schema %s/$ref: \"%s\" is not a schema object", where, ref);
		goto out;
	}
	n = node_get(c, doc, canon, &created);
	if (n && created && !pending_push(c, n, doc, canon, target)) {
		nomem(c);
		n = NULL;
	}
out:
	free(full);
	free(frag);
	free(ptr);
	free(canon);
	return n;
}

/* ---- keywords ---- */

struct kctx {
	struct cctx *c;
	sv_node *node;
	struct json_object *json;
	size_t doc;
	const char *ptr;
	const char *base;
};

static void kerr(struct kctx *k, const char *kw, const char *msg)
{
	cerr(k->c, IDMEFV2_ERR_SCHEMA, "schema %s/%s: %s", k->node->path, kw, msg);
}

static struct json_object *kw(struct kctx *k, const char *name)
{
	struct json_object *v;

	return json_object_object_get_ex(k->json, name, &v) ? v : NULL;
}

static bool compile_schema(struct cctx *c, sv_node *n, struct json_object *json, size_t doc,
                           const char *ptr, const char *base);

/* The node of the subschema at @ptr/@kwname[/@sub], compiled now if new. */
static sv_node *subschema(struct kctx *k, const char *kwname, const char *sub, size_t index,
                          struct json_object *json)
{
	struct cctx *c = k->c;
	struct sbuf p = {0};
	sv_node *n = NULL;
	bool created;
	char *ptr;

	if (!json_object_is_type(json, json_type_object)) {
		kerr(k, kwname, "a subschema must be an object");
		return NULL;
	}
	sb_puts(&p, k->ptr);
	sb_puts(&p, "/");
	sb_put_escaped(&p, kwname, strlen(kwname));
	if (sub) {
		sb_puts(&p, "/");
		sb_put_escaped(&p, sub, strlen(sub));
	} else if (index != (size_t)-1) {
		char num[32];

		snprintf(num, sizeof(num), "/%zu", index);
		sb_puts(&p, num);
	}
	ptr = sb_take(&p);
	if (!ptr) {
		nomem(c);
		return NULL;
	}
	n = node_get(c, k->doc, ptr, &created);
	if (n && created && !compile_schema(c, n, json, k->doc, ptr, k->base))
		n = NULL;
	free(ptr);
	return n;
}

static bool get_count(struct kctx *k, const char *name, int64_t *ret)
{
	struct json_object *v = kw(k, name);

	*ret = -1;
	if (!v)
		return true;
	if (json_object_is_type(v, json_type_int) && json_object_get_int64(v) >= 0) {
		*ret = json_object_get_int64(v);
		return true;
	}
	/* tolerate 2.0: the value is what matters */
	if (json_object_is_type(v, json_type_double)) {
		double d = json_object_get_double(v);

		if (d >= 0 && d < 9.2e18 && d == (double)(int64_t)d) {
			*ret = (int64_t)d;
			return true;
		}
	}
	kerr(k, name, "must be a non-negative integer");
	return false;
}

static const struct {
	const char *name;
	unsigned bits;
} type_names[] = {
	{"null", SV_T_NULL},       {"boolean", SV_T_BOOLEAN}, {"object", SV_T_OBJECT},
	{"array", SV_T_ARRAY},     {"string", SV_T_STRING},   {"integer", SV_T_INTEGER},
	{"number", SV_T_NUMBER},
};

static bool type_bits(struct json_object *v, unsigned *bits)
{
	const char *s;

	if (!json_object_is_type(v, json_type_string))
		return false;
	s = json_object_get_string(v);
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++) {
		if (strcmp(s, type_names[i].name) == 0) {
			*bits |= type_names[i].bits;
			return true;
		}
	}
	return false;
}

static bool compile_type(struct kctx *k)
{
	struct json_object *v = kw(k, "type");
	unsigned bits = 0;

	if (!v)
		return true;
	if (json_object_is_type(v, json_type_array)) {
		size_t n = json_object_array_length(v);

		if (n == 0) {
			kerr(k, "type", "must not be an empty array");
			return false;
		}
		for (size_t i = 0; i < n; i++) {
			if (!type_bits(json_object_array_get_idx(v, i), &bits)) {
				kerr(k, "type", "must name JSON types (array, boolean, integer, null, number, object, string)");
				return false;
			}
		}
	} else if (!type_bits(v, &bits)) {
		kerr(k, "type", "must be a type name or an array of type names");
		return false;
	}
	k->node->types = bits;
	k->node->has_type = true;
	return true;
}

static uint32_t table_size(size_t n)
{
	uint32_t size = 4;

	while (size < n * 2)
		size *= 2;
	return size;
}

static bool compile_enum(struct kctx *k)
{
	struct json_object *v = kw(k, "enum");
	struct sv_enum_rules *e;
	size_t n, n_strings = 0;

	if (!v)
		return true;
	if (!json_object_is_type(v, json_type_array)) {
		kerr(k, "enum", "must be an array");
		return false;
	}
	n = json_object_array_length(v);
	e = arena_alloc(k->c->s, sizeof(*e));
	if (!e || !(e->values = arena_alloc(k->c->s, (n ? n : 1) * sizeof(*e->values))))
		goto nomem;
	e->n_values = n;
	e->array = v;
	for (size_t i = 0; i < n; i++) {
		struct json_object *x = json_object_array_get_idx(v, i);
		unsigned t = idmefv2__sv_type(x);

		e->values[i] = x;
		/* 1 and 1.0 are equal: a number of either kind may match either */
		e->types |= (t & SV_T_NUMBER) ? SV_T_NUMBER : t;
		if (t == SV_T_STRING)
			n_strings++;
	}
	if (n_strings) {
		e->strings_mask = table_size(n_strings) - 1;
		e->strings = arena_alloc(k->c->s, (e->strings_mask + 1) * sizeof(*e->strings));
		if (!e->strings)
			goto nomem;
		for (size_t i = 0; i < n; i++) {
			struct json_object *x = e->values[i];
			const char *s;
			uint32_t len, h, j;

			if (!json_object_is_type(x, json_type_string))
				continue;
			s = json_object_get_string(x);
			len = (uint32_t)json_object_get_string_len(x);
			h = idmefv2__sv_hash(s, len);
			/* duplicates (the V07 schema has one) are harmless: keep the first */
			for (j = h & e->strings_mask; e->strings[j].s; j = (j + 1) & e->strings_mask)
				if (e->strings[j].hash == h && e->strings[j].len == len &&
				    memcmp(e->strings[j].s, s, len) == 0)
					break;
			if (!e->strings[j].s) {
				e->strings[j].s = s;
				e->strings[j].len = len;
				e->strings[j].hash = h;
			}
		}
	}
	k->node->enm = e;
	return true;
nomem:
	nomem(k->c);
	return false;
}

static bool number_value(struct kctx *k, const char *name, struct json_object **ret)
{
	struct json_object *v = kw(k, name);

	*ret = NULL;
	if (!v)
		return true;
	if (!(idmefv2__sv_type(v) & SV_T_NUMBER)) {
		kerr(k, name, "must be a number");
		return false;
	}
	*ret = v;
	return true;
}

static bool bool_value(struct kctx *k, const char *name, bool *ret)
{
	struct json_object *v = kw(k, name);

	*ret = false;
	if (!v)
		return true;
	if (!json_object_is_type(v, json_type_boolean)) {
		kerr(k, name, "must be a boolean");
		return false;
	}
	*ret = json_object_get_boolean(v);
	return true;
}

static bool compile_number(struct kctx *k)
{
	struct json_object *min, *max, *mult;
	bool emin, emax;
	struct sv_number_rules *r;

	if (!number_value(k, "minimum", &min) || !number_value(k, "maximum", &max) ||
	    !number_value(k, "multipleOf", &mult) || !bool_value(k, "exclusiveMinimum", &emin) ||
	    !bool_value(k, "exclusiveMaximum", &emax))
		return false;
	if (mult && !(json_object_get_double(mult) > 0)) {
		kerr(k, "multipleOf", "must be greater than 0");
		return false;
	}
	if (!min && !max && !mult)
		return true;
	r = arena_alloc(k->c->s, sizeof(*r));
	if (!r) {
		nomem(k->c);
		return false;
	}
	r->minimum = min;
	r->maximum = max;
	r->multiple_of = mult;
	r->exclusive_minimum = emin;
	r->exclusive_maximum = emax;
	k->node->num = r;
	return true;
}

static idmefv2__regex *compile_regex(struct kctx *k, const char *kwname, struct json_object *text)
{
	char err[256] = "";
	char msg[512];
	idmefv2__regex *re;

	re = idmefv2__regex_compile(json_object_get_string(text), (size_t)json_object_get_string_len(text),
	                            err, sizeof(err));
	if (!re) {
		snprintf(msg, sizeof(msg), "invalid regular expression: %s", err);
		kerr(k, kwname, msg);
		return NULL;
	}
	return add_regex(k->c, re) ? re : NULL;
}

static bool compile_string(struct kctx *k)
{
	struct json_object *pattern = kw(k, "pattern"), *format = kw(k, "format");
	int64_t minl, maxl;
	struct sv_string_rules *r;

	if (!get_count(k, "minLength", &minl) || !get_count(k, "maxLength", &maxl))
		return false;
	if (pattern && !json_object_is_type(pattern, json_type_string)) {
		kerr(k, "pattern", "must be a string");
		return false;
	}
	if (format && !json_object_is_type(format, json_type_string)) {
		kerr(k, "format", "must be a string");
		return false;
	}
	if (minl < 0 && maxl < 0 && !pattern && !format)
		return true;
	r = arena_alloc(k->c->s, sizeof(*r));
	if (!r) {
		nomem(k->c);
		return false;
	}
	r->min_length = minl;
	r->max_length = maxl;
	if (pattern) {
		r->pattern_text = json_object_get_string(pattern);
		r->pattern = compile_regex(k, "pattern", pattern);
		if (!r->pattern)
			return false;
	}
	if (format) {
		r->format_name = json_object_get_string(format);
		r->format = idmefv2__format_lookup(r->format_name);
		r->format_regex = strcmp(r->format_name, "regex") == 0;
	}
	/* an unknown format alone checks nothing: keep the node lean */
	if (minl < 0 && maxl < 0 && !pattern && !r->format && !r->format_regex)
		return true;
	k->node->str = r;
	return true;
}

static bool string_array(struct json_object *v, size_t *ret_n)
{
	size_t n;

	if (!json_object_is_type(v, json_type_array))
		return false;
	n = json_object_array_length(v);
	for (size_t i = 0; i < n; i++)
		if (!json_object_is_type(json_object_array_get_idx(v, i), json_type_string))
			return false;
	*ret_n = n;
	return true;
}

static struct sv_prop *prop_slot(struct sv_object_rules *o, const char *key)
{
	uint32_t len = (uint32_t)strlen(key), h = idmefv2__sv_hash(key, len), i;

	for (i = h & o->mask; o->table[i].key; i = (i + 1) & o->mask)
		if (o->table[i].hash == h && o->table[i].len == len && memcmp(o->table[i].key, key, len) == 0)
			return &o->table[i];
	o->table[i].key = key;
	o->table[i].len = len;
	o->table[i].hash = h;
	return &o->table[i];
}

static bool compile_object(struct kctx *k)
{
	struct json_object *props = kw(k, "properties"), *req = kw(k, "required");
	struct json_object *pprops = kw(k, "patternProperties"), *addl = kw(k, "additionalProperties");
	struct json_object *deps = kw(k, "dependencies");
	struct sv_object_rules *o;
	size_t n_req = 0, n_names = 0, i;
	int64_t minp, maxp;

	if (!get_count(k, "minProperties", &minp) || !get_count(k, "maxProperties", &maxp))
		return false;
	if (props && !json_object_is_type(props, json_type_object)) {
		kerr(k, "properties", "must be an object");
		return false;
	}
	if (req && !string_array(req, &n_req)) {
		kerr(k, "required", "must be an array of strings");
		return false;
	}
	if (pprops && !json_object_is_type(pprops, json_type_object)) {
		kerr(k, "patternProperties", "must be an object");
		return false;
	}
	if (addl && !json_object_is_type(addl, json_type_boolean) && !json_object_is_type(addl, json_type_object)) {
		kerr(k, "additionalProperties", "must be a boolean or a schema");
		return false;
	}
	if (deps && !json_object_is_type(deps, json_type_object)) {
		kerr(k, "dependencies", "must be an object");
		return false;
	}
	if (!props && !req && !pprops && !addl && !deps && minp < 0 && maxp < 0)
		return true;
	o = arena_alloc(k->c->s, sizeof(*o));
	if (!o)
		goto nomem;
	o->min_properties = minp;
	o->max_properties = maxp;
	n_names = (props ? (size_t)json_object_object_length(props) : 0) + n_req +
	          (deps ? (size_t)json_object_object_length(deps) : 0);
	o->mask = table_size(n_names) - 1;
	o->table = arena_alloc(k->c->s, (o->mask + 1) * sizeof(*o->table));
	if (!o->table)
		goto nomem;
	if (props) {
		json_object_object_foreach(props, key, val) {
			struct sv_prop *p = prop_slot(o, key);

			p->node = subschema(k, "properties", key, (size_t)-1, val);
			if (!p->node)
				return false;
		}
	}
	if (req) {
		o->required = arena_alloc(k->c->s, (n_req ? n_req : 1) * sizeof(*o->required));
		if (!o->required)
			goto nomem;
		for (i = 0; i < n_req; i++) {
			const char *name = json_object_get_string(json_object_array_get_idx(req, i));
			struct sv_prop *p = prop_slot(o, name);

			/* a repeated name must count once, as the instance holds it once */
			if (!p->required) {
				p->required = true;
				o->required[o->n_required++] = name;
			}
		}
	}
	if (pprops) {
		size_t n = (size_t)json_object_object_length(pprops);

		o->pattern_props = arena_alloc(k->c->s, (n ? n : 1) * sizeof(*o->pattern_props));
		if (!o->pattern_props)
			goto nomem;
		json_object_object_foreach(pprops, key, val) {
			struct sv_pattern_prop *pp = &o->pattern_props[o->n_pattern_props];
			struct json_object *ks = json_object_new_string(key);

			if (!ks)
				goto nomem;
			pp->text = key;
			pp->re = compile_regex(k, "patternProperties", ks);
			json_object_put(ks);
			if (!pp->re)
				return false;
			pp->node = subschema(k, "patternProperties", key, (size_t)-1, val);
			if (!pp->node)
				return false;
			o->n_pattern_props++;
		}
	}
	if (addl) {
		if (json_object_is_type(addl, json_type_boolean)) {
			o->additional_false = !json_object_get_boolean(addl);
		} else {
			o->additional = subschema(k, "additionalProperties", NULL, (size_t)-1, addl);
			if (!o->additional)
				return false;
		}
	}
	if (deps) {
		json_object_object_foreach(deps, key, val) {
			struct sv_dependency *d = arena_alloc(k->c->s, sizeof(*d));
			size_t n;

			if (!d)
				goto nomem;
			d->key = key;
			if (json_object_is_type(val, json_type_object)) {
				d->node = subschema(k, "dependencies", key, (size_t)-1, val);
				if (!d->node)
					return false;
			} else if (string_array(val, &n)) {
				d->names = arena_alloc(k->c->s, (n ? n : 1) * sizeof(*d->names));
				if (!d->names)
					goto nomem;
				for (i = 0; i < n; i++)
					d->names[i] = json_object_get_string(json_object_array_get_idx(val, i));
				d->n_names = n;
			} else {
				kerr(k, "dependencies", "each value must be a schema or an array of strings");
				return false;
			}
			prop_slot(o, key)->dep = d;
			o->n_dependencies++;
		}
	}
	k->node->obj = o;
	return true;
nomem:
	nomem(k->c);
	return false;
}

static bool compile_array(struct kctx *k)
{
	struct json_object *items = kw(k, "items"), *addl = kw(k, "additionalItems");
	struct sv_array_rules *a;
	int64_t mini, maxi;
	bool unique;

	if (!get_count(k, "minItems", &mini) || !get_count(k, "maxItems", &maxi) ||
	    !bool_value(k, "uniqueItems", &unique))
		return false;
	if (items && !json_object_is_type(items, json_type_object) && !json_object_is_type(items, json_type_array)) {
		kerr(k, "items", "must be a schema or an array of schemas");
		return false;
	}
	if (addl && !json_object_is_type(addl, json_type_boolean) && !json_object_is_type(addl, json_type_object)) {
		kerr(k, "additionalItems", "must be a boolean or a schema");
		return false;
	}
	if (!items && !addl && mini < 0 && maxi < 0 && !unique)
		return true;
	a = arena_alloc(k->c->s, sizeof(*a));
	if (!a)
		goto nomem;
	a->min_items = mini;
	a->max_items = maxi;
	a->unique = unique;
	if (items && json_object_is_type(items, json_type_object)) {
		a->items = subschema(k, "items", NULL, (size_t)-1, items);
		if (!a->items)
			return false;
	} else if (items) {
		size_t n = json_object_array_length(items);

		a->is_tuple = true;
		a->tuple = arena_alloc(k->c->s, (n ? n : 1) * sizeof(*a->tuple));
		if (!a->tuple)
			goto nomem;
		for (size_t i = 0; i < n; i++) {
			a->tuple[i] = subschema(k, "items", NULL, i, json_object_array_get_idx(items, i));
			if (!a->tuple[i])
				return false;
		}
		a->n_tuple = n;
	}
	/* additionalItems only means something after a tuple of "items" */
	if (addl && a->is_tuple) {
		if (json_object_is_type(addl, json_type_boolean)) {
			a->additional_false = !json_object_get_boolean(addl);
		} else {
			a->additional = subschema(k, "additionalItems", NULL, (size_t)-1, addl);
			if (!a->additional)
				return false;
		}
	}
	k->node->arr = a;
	return true;
nomem:
	nomem(k->c);
	return false;
}

static bool schema_list(struct kctx *k, const char *name, sv_node ***ret, size_t *ret_n)
{
	struct json_object *v = kw(k, name);
	size_t n;

	*ret = NULL;
	*ret_n = 0;
	if (!v)
		return true;
	if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) == 0) {
		kerr(k, name, "must be a non-empty array of schemas");
		return false;
	}
	n = json_object_array_length(v);
	*ret = arena_alloc(k->c->s, n * sizeof(**ret));
	if (!*ret) {
		nomem(k->c);
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		(*ret)[i] = subschema(k, name, NULL, i, json_object_array_get_idx(v, i));
		if (!(*ret)[i])
			return false;
	}
	*ret_n = n;
	return true;
}

static bool compile_composite(struct kctx *k)
{
	struct sv_composite_rules r = {0};
	struct json_object *not_ = kw(k, "not");

	if (!schema_list(k, "allOf", &r.all_of, &r.n_all_of) || !schema_list(k, "anyOf", &r.any_of, &r.n_any_of) ||
	    !schema_list(k, "oneOf", &r.one_of, &r.n_one_of))
		return false;
	if (not_) {
		r.not_ = subschema(k, "not", NULL, (size_t)-1, not_);
		if (!r.not_)
			return false;
	}
	if (!r.n_all_of && !r.n_any_of && !r.n_one_of && !r.not_)
		return true;
	k->node->comp = arena_alloc(k->c->s, sizeof(r));
	if (!k->node->comp) {
		nomem(k->c);
		return false;
	}
	*k->node->comp = r;
	return true;
}

/* Definitions are compiled even when nothing refers to them, so that a
 * malformed one is reported. */
static bool compile_definitions(struct kctx *k)
{
	struct json_object *defs = kw(k, "definitions");

	if (!defs)
		return true;
	if (!json_object_is_type(defs, json_type_object)) {
		kerr(k, "definitions", "must be an object");
		return false;
	}
	json_object_object_foreach(defs, key, val) {
		if (!subschema(k, "definitions", key, (size_t)-1, val))
			return false;
	}
	return true;
}

static bool compile_schema(struct cctx *c, sv_node *n, struct json_object *json, size_t doc,
                           const char *ptr, const char *base)
{
	struct kctx k = {c, n, json, doc, ptr, NULL};
	struct json_object *ref;
	char *scope;
	bool ok = false;

	n->mark |= MARK_COMPILED;
	if (!json_object_is_type(json, json_type_object)) {
		cerr(c, IDMEFV2_ERR_SCHEMA, "schema %s: a schema must be an object", n->path);
		return false;
	}
	scope = scope_of(json, base);
	if (!scope) {
		nomem(c);
		return false;
	}
	k.base = scope;
	if (json_object_object_get_ex(json, "$ref", &ref)) {
		if (!json_object_is_type(ref, json_type_string)) {
			kerr(&k, "$ref", "must be a string");
			goto out;
		}
		/* draft-04: a reference replaces the whole schema, siblings are ignored */
		n->ref = resolve_ref(c, n->path, scope, json_object_get_string(ref));
		ok = n->ref && compile_definitions(&k);
		goto out;
	}
	ok = compile_type(&k) && compile_enum(&k) && compile_number(&k) && compile_string(&k) &&
	     compile_object(&k) && compile_array(&k) && compile_composite(&k) && compile_definitions(&k);
out:
	free(scope);
	return ok;
}

/* ---- linking: refs become direct pointers ---- */

static sv_node *final_target(struct cctx *c, sv_node *n)
{
	sv_node *start = n;

	for (size_t steps = 0; n && n->ref; steps++) {
		if (steps > c->n_nodes) {
			cerr(c, IDMEFV2_ERR_SCHEMA, "schema %s/$ref: circular reference", start->path);
			return NULL;
		}
		n = n->ref;
	}
	return n;
}

static bool link_slot(struct cctx *c, sv_node **slot)
{
	if (*slot)
		*slot = final_target(c, *slot);
	return c->rc == IDMEFV2_OK;
}

static bool link_node(struct cctx *c, sv_node *n)
{
	if (n->ref)
		return true;
	if (n->obj) {
		struct sv_object_rules *o = n->obj;

		for (size_t i = 0; i <= o->mask; i++) {
			if (o->table[i].key && !link_slot(c, &o->table[i].node))
				return false;
			if (o->table[i].dep && !link_slot(c, &o->table[i].dep->node))
				return false;
		}
		for (size_t i = 0; i < o->n_pattern_props; i++)
			if (!link_slot(c, &o->pattern_props[i].node))
				return false;
		if (!link_slot(c, &o->additional))
			return false;
	}
	if (n->arr) {
		struct sv_array_rules *a = n->arr;

		if (!link_slot(c, &a->items) || !link_slot(c, &a->additional))
			return false;
		for (size_t i = 0; i < a->n_tuple; i++)
			if (!link_slot(c, &a->tuple[i]))
				return false;
	}
	if (n->comp) {
		struct sv_composite_rules *r = n->comp;

		for (size_t i = 0; i < r->n_all_of; i++)
			if (!link_slot(c, &r->all_of[i]))
				return false;
		for (size_t i = 0; i < r->n_any_of; i++)
			if (!link_slot(c, &r->any_of[i]))
				return false;
		for (size_t i = 0; i < r->n_one_of; i++)
			if (!link_slot(c, &r->one_of[i]))
				return false;
		if (!link_slot(c, &r->not_))
			return false;
	}
	return true;
}

static unsigned char fast_kind(const sv_node *n)
{
	const struct sv_string_rules *r = n->str;

	if (n->num || n->obj || n->arr || n->comp)
		return SV_FAST_NONE;
	if (n->enm)
		return !r && !n->has_type && n->enm->strings ? SV_FAST_ENUM_STRING : SV_FAST_NONE;
	if (!r)
		return n->has_type ? SV_FAST_TYPE : SV_FAST_ANY;
	if (r->pattern && r->min_length < 0 && r->max_length < 0 && !r->format && !r->format_regex &&
	    (!n->has_type || n->types == SV_T_STRING))
		return SV_FAST_PATTERN;
	return SV_FAST_NONE;
}

/*
 * allOf/anyOf/oneOf/not/schema dependencies apply to the same instance: a
 * cycle of them would recurse forever without consuming the instance.
 */
static bool check_same_instance_cycles(struct cctx *c, sv_node *n, int depth)
{
	const struct sv_composite_rules *r = n->comp;
	bool ok = true;

	if (n->mark & MARK_DONE)
		return true;
	if (n->mark & MARK_VISITING || depth > 10000) {
		cerr(c, IDMEFV2_ERR_SCHEMA, "schema %s: applies to itself through allOf/anyOf/oneOf/not without end",
		     n->path);
		return false;
	}
	n->mark |= MARK_VISITING;
	if (r) {
		for (size_t i = 0; ok && i < r->n_all_of; i++)
			ok = check_same_instance_cycles(c, r->all_of[i], depth + 1);
		for (size_t i = 0; ok && i < r->n_any_of; i++)
			ok = check_same_instance_cycles(c, r->any_of[i], depth + 1);
		for (size_t i = 0; ok && i < r->n_one_of; i++)
			ok = check_same_instance_cycles(c, r->one_of[i], depth + 1);
		if (ok && r->not_)
			ok = check_same_instance_cycles(c, r->not_, depth + 1);
	}
	if (ok && n->obj) {
		for (size_t i = 0; ok && i <= n->obj->mask; i++)
			if (n->obj->table[i].key && n->obj->table[i].dep && n->obj->table[i].dep->node)
				ok = check_same_instance_cycles(c, n->obj->table[i].dep->node, depth + 1);
	}
	n->mark &= ~MARK_VISITING;
	n->mark |= MARK_DONE;
	return ok;
}

/* ---- public API ---- */

static void schema_free(idmefv2_schema *s)
{
	struct sv_arena_chunk *ch, *next;

	if (!s)
		return;
	for (size_t i = 0; i < s->n_regexes; i++)
		idmefv2__regex_free(s->regexes[i]);
	free(s->regexes);
	for (size_t i = 0; i < s->n_documents; i++)
		json_object_put(s->documents[i]);
	free(s->documents);
	for (ch = s->arena; ch; ch = next) {
		next = ch->next;
		free(ch);
	}
	free(s);
}

static void cctx_release(struct cctx *c)
{
	for (size_t i = 0; i < c->n_docs; i++)
		free(c->docs[i].uri);
	free(c->docs);
	for (size_t i = 0; i < c->n_ids; i++) {
		free(c->ids[i].uri);
		free(c->ids[i].ptr);
	}
	free(c->ids);
	for (size_t i = 0; i < c->memo_cap; i++)
		free(c->memo[i].ptr);
	free(c->memo);
	for (size_t i = 0; i < c->n_pending; i++)
		free(c->pending[i].ptr);
	free(c->pending);
	free(c->nodes);
}

static bool compile_all(struct cctx *c, struct json_object *doc, const char *base_uri)
{
	size_t d;
	sv_node *root;
	bool created;

	if (!add_document(c, doc, base_uri ? base_uri : "", &d)) {
		nomem(c);
		return false;
	}
	root = node_get(c, d, "", &created);
	if (!root)
		return false;
	if (!compile_schema(c, root, doc, d, "", c->docs[d].uri))
		return false;
	/* ref targets found along the way; the list grows while it is drained */
	for (size_t i = 0; i < c->n_pending; i++) {
		struct pending p = c->pending[i];
		const char *slash = strrchr(p.ptr, '/');
		char *parent = NULL, *pp;
		bool ok;

		if (p.node->mark & MARK_COMPILED)
			continue;
		/* compile_schema() applies the target's own "id" to the scope of
		 * the position that holds it */
		if (slash) {
			pp = strndup(p.ptr, (size_t)(slash - p.ptr));
			parent = pp ? scope_at(c, p.doc, pp) : NULL;
			free(pp);
		} else {
			parent = strdup(c->docs[p.doc].uri);
		}
		if (!parent) {
			nomem(c);
			return false;
		}
		ok = compile_schema(c, p.node, p.json, p.doc, p.ptr, parent);
		free(parent);
		if (!ok)
			return false;
	}
	for (size_t i = 0; i < c->n_nodes; i++) {
		if (!link_node(c, c->nodes[i]))
			return false;
		c->nodes[i]->fast = fast_kind(c->nodes[i]);
	}
	c->s->root = final_target(c, root);
	if (!c->s->root)
		return false;
	for (size_t i = 0; i < c->n_nodes; i++)
		if (!c->nodes[i]->ref && !check_same_instance_cycles(c, c->nodes[i], 0))
			return false;
	return true;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_schema_compile(struct json_object *doc,
                                                    const char *base_uri,
                                                    const idmefv2_schema_registry *reg,
                                                    idmefv2_schema **ret_schema,
                                                    char *errstr, size_t errstr_size)
{
	struct cctx c = {0};
	idmefv2_schema *s;

	if (errstr && errstr_size)
		errstr[0] = '\0';
	if (!doc || !ret_schema)
		return IDMEFV2_ERR_INVALID_ARG;
	s = calloc(1, sizeof(*s));
	if (!s)
		return IDMEFV2_ERR_NOMEM;
	s->refcount = 1;
	s->document = doc;
	c.s = s;
	c.reg = reg;
	c.errstr = errstr;
	c.errstr_size = errstr_size;
	if (!compile_all(&c, doc, base_uri) && c.rc == IDMEFV2_OK)
		nomem(&c);
	cctx_release(&c);
	if (c.rc != IDMEFV2_OK) {
		schema_free(s);
		return c.rc;
	}
	*ret_schema = s;
	return IDMEFV2_OK;
}

static void parse_error(const char *text, size_t len, size_t off, const char *what, char *errstr,
                        size_t errstr_size)
{
	size_t line = 1, col = 1;

	if (!errstr || !errstr_size)
		return;
	for (size_t i = 0; i < off && i < len; i++) {
		if (text[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	snprintf(errstr, errstr_size, "schema JSON: line %zu, column %zu: %s", line, col, what);
}

IDMEFV2_EXPORT idmefv2_error idmefv2_schema_compile_json(const char *text, size_t len,
                                                         const char *base_uri,
                                                         const idmefv2_schema_registry *reg,
                                                         idmefv2_schema **ret_schema,
                                                         char *errstr, size_t errstr_size)
{
	struct json_tokener *tok;
	struct json_object *doc;
	enum json_tokener_error jerr;
	size_t end;
	idmefv2_error rc;

	if (errstr && errstr_size)
		errstr[0] = '\0';
	if (!text || !ret_schema || len > INT_MAX)
		return IDMEFV2_ERR_INVALID_ARG;
	tok = json_tokener_new();
	if (!tok)
		return IDMEFV2_ERR_NOMEM;
	doc = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (jerr == json_tokener_continue) {
		/* the text ended inside a value */
		json_object_put(doc);
		json_tokener_free(tok);
		parse_error(text, len, len, "unexpected end of text", errstr, errstr_size);
		return IDMEFV2_ERR_PARSE;
	}
	if (jerr != json_tokener_success) {
		json_tokener_free(tok);
		parse_error(text, len, end, json_tokener_error_desc(jerr), errstr, errstr_size);
		return IDMEFV2_ERR_PARSE;
	}
	json_tokener_free(tok);
	for (; end < len; end++) {
		if (text[end] != ' ' && text[end] != '\t' && text[end] != '\n' && text[end] != '\r') {
			json_object_put(doc);
			parse_error(text, len, end, "unexpected text after the schema", errstr, errstr_size);
			return IDMEFV2_ERR_PARSE;
		}
	}
	rc = idmefv2_schema_compile(doc, base_uri, reg, ret_schema, errstr, errstr_size);
	json_object_put(doc);
	return rc;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_schema_load_file(const char *path,
                                                      const idmefv2_schema_registry *reg,
                                                      idmefv2_schema **ret_schema,
                                                      char *errstr, size_t errstr_size)
{
	FILE *f = NULL;
	char *text = NULL, *abs = NULL, *uri = NULL;
	size_t len = 0, cap = 0;
	idmefv2_error rc = IDMEFV2_ERR_IO;

	if (errstr && errstr_size)
		errstr[0] = '\0';
	if (!path || !ret_schema)
		return IDMEFV2_ERR_INVALID_ARG;
	f = fopen(path, "rb");
	if (!f) {
		if (errstr && errstr_size)
			snprintf(errstr, errstr_size, "%s: %s", path, strerror(errno));
		return IDMEFV2_ERR_IO;
	}
	for (;;) {
		size_t n;

		if (cap - len < 4096) {
			char *p;

			cap = cap ? cap * 2 : 65536;
			p = realloc(text, cap);
			if (!p) {
				rc = IDMEFV2_ERR_NOMEM;
				goto out;
			}
			text = p;
		}
		n = fread(text + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		if (errstr && errstr_size)
			snprintf(errstr, errstr_size, "%s: read error", path);
		goto out;
	}
	/* relative refs resolve against the file's own location */
	abs = realpath(path, NULL);
	if (abs) {
		uri = malloc(strlen(abs) + 8);
		if (!uri) {
			rc = IDMEFV2_ERR_NOMEM;
			goto out;
		}
		strcpy(uri, "file://");
		strcat(uri, abs);
	}
	rc = idmefv2_schema_compile_json(text, len, uri, reg, ret_schema, errstr, errstr_size);
out:
	if (f)
		fclose(f);
	free(text);
	free(abs);
	free(uri);
	return rc;
}

IDMEFV2_EXPORT idmefv2_schema *idmefv2_schema_ref(idmefv2_schema *schema)
{
	if (schema)
		__atomic_add_fetch(&schema->refcount, 1, __ATOMIC_RELAXED);
	return schema;
}

IDMEFV2_EXPORT void idmefv2_schema_unref(idmefv2_schema *schema)
{
	if (schema && __atomic_sub_fetch(&schema->refcount, 1, __ATOMIC_ACQ_REL) == 0)
		schema_free(schema);
}

IDMEFV2_EXPORT struct json_object *idmefv2_schema_get_document(const idmefv2_schema *schema)
{
	return schema ? schema->document : NULL;
}
