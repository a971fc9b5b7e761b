/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Validating an instance against a compiled schema. The valid path
 * allocates nothing: the instance path lives on the C stack as a chain of
 * segments and becomes a JSON Pointer only when a failure is reported.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/arraylist.h>
#include <json-c/json.h>

#include "schema-private.h"

/* Quoted values in messages are cut after this many bytes. */
#define QUOTE_LIMIT 64
#define QUOTE_SIZE (QUOTE_LIMIT + 16)
/* Object members and array items prefetched at a time. */
#define OBJECT_BATCH 16
#define ARRAY_PREFETCH 16

/* Failure paths: kept out of the way of the valid path's code. */
#define COLD __attribute__((cold, noinline))
#define NOINLINE __attribute__((noinline))

struct vctx {
	unsigned flags;
	bool reporting;              /* false: only the verdict matters */
	bool stop;                   /* unwind: first failure, or quiet mode */
	idmefv2_report *report;      /* created on the first failure */
	idmefv2_error err;
};

static bool v_node(struct vctx *c, const sv_node *n, struct json_object *o, const sv_seg *p);

static inline unsigned type_of(struct json_object *o)
{
	static const unsigned char bits[] = {
		[json_type_null] = SV_T_NULL,     [json_type_boolean] = SV_T_BOOLEAN,
		[json_type_double] = SV_T_DOUBLE, [json_type_int] = SV_T_INTEGER,
		[json_type_object] = SV_T_OBJECT, [json_type_array] = SV_T_ARRAY,
		[json_type_string] = SV_T_STRING,
	};
	unsigned t = (unsigned)json_object_get_type(o);

	return t < sizeof(bits) ? bits[t] : SV_T_NULL;
}

static COLD bool fail(struct vctx *c, const sv_node *n, const sv_seg *p, const char *keyword,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static bool fail(struct vctx *c, const sv_node *n, const sv_seg *p, const char *keyword,
                 const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!c->reporting) {
		c->stop = true;
		return false;
	}
	if (!c->report) {
		c->report = idmefv2__report_new();
		if (!c->report) {
			c->err = IDMEFV2_ERR_NOMEM;
			c->stop = true;
			return false;
		}
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (idmefv2__report_add(c->report, p, n->path, keyword, msg) != IDMEFV2_OK) {
		c->err = IDMEFV2_ERR_NOMEM;
		c->stop = true;
	}
	if (c->flags & IDMEFV2_VALIDATE_FIRST_ERROR)
		c->stop = true;
	return false;
}

/* A context for anyOf/oneOf/not branches: verdict only, same flags. */
static inline struct vctx quiet(const struct vctx *c)
{
	struct vctx q = {c->flags, false, false, NULL, IDMEFV2_OK};

	return q;
}

/* ---- messages ---- */

static void type_list(unsigned types, char *buf, size_t size)
{
	static const struct {
		unsigned bits;
		const char *name;
	} names[] = {
		{SV_T_ARRAY, "array"},   {SV_T_BOOLEAN, "boolean"}, {SV_T_INTEGER, "integer"}, {SV_T_NULL, "null"},
		{SV_T_NUMBER, "number"}, {SV_T_OBJECT, "object"},   {SV_T_STRING, "string"},
	};
	const char *shown[8];
	size_t off = 0, count = 0;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if ((types & names[i].bits) != names[i].bits)
			continue;
		/* "number" already says "integer" */
		if (names[i].bits == SV_T_INTEGER && (types & SV_T_DOUBLE))
			continue;
		shown[count++] = names[i].name;
	}
	buf[0] = '\0';
	for (size_t i = 0; i < count && off < size; i++)
		off += (size_t)snprintf(buf + off, size - off, "%s\"%s\"",
		                        i == 0 ? "" : i + 1 == count ? " or " : ", ", shown[i]);
}

static COLD bool fail_type(struct vctx *c, const sv_node *n, struct json_object *o, const sv_seg *p)
{
	char q[QUOTE_SIZE], types[128];

	if (!c->reporting)
		return fail(c, n, p, "type", "%s", "");
	idmefv2__sv_quote(o, q, sizeof(q), QUOTE_LIMIT);
	type_list(n->types, types, sizeof(types));
	return fail(c, n, p, "type", "%s is not of type %s", q, types);
}

/* ---- enum ---- */

static bool enum_has_string(const struct sv_enum_rules *e, const char *s, uint32_t len)
{
	uint32_t h = idmefv2__sv_hash(s, len);

	for (uint32_t i = h & e->strings_mask; e->strings[i].s; i = (i + 1) & e->strings_mask)
		if (e->strings[i].hash == h && e->strings[i].len == len && idmefv2__sv_equal(e->strings[i].s, s, len))
			return true;
	return false;
}

static COLD bool fail_enum(struct vctx *c, const sv_node *n, struct json_object *o, const sv_seg *p)
{
	char q[QUOTE_SIZE], vals[QUOTE_SIZE];

	if (!c->reporting)
		return fail(c, n, p, "enum", "%s", "");
	idmefv2__sv_quote(o, q, sizeof(q), QUOTE_LIMIT);
	if (n->name)
		return fail(c, n, p, "enum", "%s is not one of the %s values", q, n->name);
	idmefv2__sv_quote(n->enm->array, vals, sizeof(vals), QUOTE_LIMIT);
	return fail(c, n, p, "enum", "%s is not one of %s", q, vals);
}

static inline bool v_enum(struct vctx *c, const sv_node *n, struct json_object *o, unsigned t, const sv_seg *p)
{
	const struct sv_enum_rules *e = n->enm;

	if (t == SV_T_STRING) {
		if (e->strings && enum_has_string(e, json_object_get_string(o), (uint32_t)json_object_get_string_len(o)))
			return true;
	} else if (e->types & t) {
		for (size_t i = 0; i < e->n_values; i++)
			if (idmefv2__sv_json_equal(o, e->values[i]))
				return true;
	}
	return fail_enum(c, n, o, p);
}

/* ---- strings ---- */

static size_t code_points(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xC0) != 0x80;
	return n;
}

static COLD bool fail_length(struct vctx *c, const sv_node *n, struct json_object *o, const sv_seg *p, bool too_long)
{
	char q[QUOTE_SIZE];
	long long limit = too_long ? n->str->max_length : n->str->min_length;

	if (!c->reporting)
		return fail(c, n, p, "minLength", "%s", "");
	idmefv2__sv_quote(o, q, sizeof(q), QUOTE_LIMIT);
	return fail(c, n, p, too_long ? "maxLength" : "minLength", "%s is %s than %lld character%s", q,
	            too_long ? "longer" : "shorter", limit, limit == 1 ? "" : "s");
}

static COLD bool fail_pattern(struct vctx *c, const sv_node *n, struct json_object *o, const sv_seg *p, int m)
{
	char q[QUOTE_SIZE], pat[QUOTE_SIZE] = "";
	struct json_object *t;

	if (!c->reporting)
		return fail(c, n, p, "pattern", "%s", "");
	idmefv2__sv_quote(o, q, sizeof(q), QUOTE_LIMIT);
	if (m < 0)
		return fail(c, n, p, "pattern", "%s could not be matched against the pattern (match limit)", q);
	if (n->name)
		return fail(c, n, p, "pattern", "%s does not match the %s pattern", q, n->name);
	t = json_object_new_string(n->str->pattern_text);
	if (t)
		idmefv2__sv_quote(t, pat, sizeof(pat), QUOTE_LIMIT);
	json_object_put(t);
	return fail(c, n, p, "pattern", "%s does not match the pattern %s", q, pat);
}

static COLD bool fail_format(struct vctx *c, const sv_node *n, struct json_object *o, const sv_seg *p)
{
	char q[QUOTE_SIZE];

	if (!c->reporting)
		return fail(c, n, p, "format", "%s", "");
	idmefv2__sv_quote(o, q, sizeof(q), QUOTE_LIMIT);
	return fail(c, n, p, "format", "%s is not a valid %s", q, n->str->format_name);
}

static bool format_ok(const struct sv_string_rules *r, const char *s, size_t len)
{
	idmefv2__regex *re;

	if (r->format)
		return r->format(s, len);
	if (!r->format_regex)
		return true;
	re = idmefv2__regex_compile(s, len, NULL, 0);
	idmefv2__regex_free(re);
	return re != NULL;
}

static inline bool v_string(struct vctx *c, const sv_node *n, struct json_object *o, const sv_seg *p)
{
	const struct sv_string_rules *r = n->str;
	const char *s = json_object_get_string(o);
	size_t len = (size_t)json_object_get_string_len(o);
	bool ok = true;

	if (r->min_length >= 0 || r->max_length >= 0) {
		size_t cp = code_points(s, len);

		if (r->min_length >= 0 && cp < (uint64_t)r->min_length) {
			ok = fail_length(c, n, o, p, false);
			if (c->stop)
				return false;
		}
		if (r->max_length >= 0 && cp > (uint64_t)r->max_length) {
			ok = fail_length(c, n, o, p, true);
			if (c->stop)
				return false;
		}
	}
	if (r->pattern) {
		int m = idmefv2__regex_match(r->pattern, s, len);

		if (m != 1) {
			ok = fail_pattern(c, n, o, p, m);
			if (c->stop)
				return false;
		}
	}
	if (!(c->flags & IDMEFV2_VALIDATE_NO_FORMAT) && (r->format || r->format_regex) && !format_ok(r, s, len))
		ok = fail_format(c, n, o, p);
	return ok;
}

/*
 * The valid path of single-check leaves, without a call: true means valid;
 * false means "not known here", and the general path decides and reports.
 */
static inline bool v_fast(const sv_node *n, struct json_object *o)
{
	switch (n->fast) {
	case SV_FAST_ANY:
		return true;
	case SV_FAST_TYPE:
		return (n->types & type_of(o)) != 0;
	case SV_FAST_PATTERN:
		return json_object_get_type(o) == json_type_string &&
		       idmefv2__regex_match(n->str->pattern, json_object_get_string(o),
		                            (size_t)json_object_get_string_len(o)) == 1;
	case SV_FAST_ENUM_STRING:
		return json_object_get_type(o) == json_type_string &&
		       enum_has_string(n->enm, json_object_get_string(o), (uint32_t)json_object_get_string_len(o));
	default:
		return false;
	}
}

/* A subschema on a member or an item: the inline leaf path first. */
static inline bool v_child(struct vctx *c, const sv_node *n, struct json_object *o, const sv_seg *p)
{
	return v_fast(n, o) || v_node(c, n, o, p);
}

/* ---- numbers ---- */

enum bound { BOUND_MAXIMUM, BOUND_MINIMUM, BOUND_MULTIPLE };

static COLD bool fail_number(struct vctx *c, const sv_node *n, struct json_object *o, const sv_seg *p,
                             enum bound which)
{
	const struct sv_number_rules *r = n->num;
	char q[QUOTE_SIZE], lim[QUOTE_SIZE];

	if (!c->reporting)
		return fail(c, n, p, "maximum", "%s", "");
	idmefv2__sv_quote(o, q, sizeof(q), QUOTE_LIMIT);
	switch (which) {
	case BOUND_MAXIMUM:
		idmefv2__sv_quote(r->maximum, lim, sizeof(lim), QUOTE_LIMIT);
		if (r->exclusive_maximum)
			return fail(c, n, p, "maximum", "%s is not less than the exclusive maximum %s", q, lim);
		return fail(c, n, p, "maximum", "%s is greater than the maximum %s", q, lim);
	case BOUND_MINIMUM:
		idmefv2__sv_quote(r->minimum, lim, sizeof(lim), QUOTE_LIMIT);
		if (r->exclusive_minimum)
			return fail(c, n, p, "minimum", "%s is not greater than the exclusive minimum %s", q, lim);
		return fail(c, n, p, "minimum", "%s is less than the minimum %s", q, lim);
	case BOUND_MULTIPLE:
		break;
	}
	idmefv2__sv_quote(r->multiple_of, lim, sizeof(lim), QUOTE_LIMIT);
	return fail(c, n, p, "multipleOf", "%s is not a multiple of %s", q, lim);
}

static NOINLINE bool v_number(struct vctx *c, const sv_node *n, struct json_object *o, const sv_seg *p)
{
	const struct sv_number_rules *r = n->num;
	bool ok = true;

	if (r->maximum) {
		int cmp = idmefv2__sv_number_cmp(o, r->maximum);

		if (cmp > 0 || (cmp == 0 && r->exclusive_maximum)) {
			ok = fail_number(c, n, o, p, BOUND_MAXIMUM);
			if (c->stop)
				return false;
		}
	}
	if (r->minimum) {
		int cmp = idmefv2__sv_number_cmp(o, r->minimum);

		if (cmp < 0 || (cmp == 0 && r->exclusive_minimum)) {
			ok = fail_number(c, n, o, p, BOUND_MINIMUM);
			if (c->stop)
				return false;
		}
	}
	if (r->multiple_of && !idmefv2__sv_number_is_multiple(o, r->multiple_of))
		ok = fail_number(c, n, o, p, BOUND_MULTIPLE);
	return ok;
}

/* ---- objects ---- */

/* Names are short: a plain loop beats a call to strlen(). */
static inline size_t key_length(const char *key)
{
	size_t len = 0;

	while (key[len])
		len++;
	return len;
}

static inline const struct sv_prop *prop_find(const struct sv_object_rules *r, const char *key, size_t len,
                                              uint32_t h)
{
	for (uint32_t i = h & r->mask; r->table[i].key; i = (i + 1) & r->mask) {
		const struct sv_prop *e = &r->table[i];

		if (e->hash == h && e->len == len && idmefv2__sv_equal(e->key, key, len))
			return e;
	}
	return NULL;
}

/* A message naming one or two properties, quoted as JSON strings. */
static COLD bool fail_names(struct vctx *c, const sv_node *n, const sv_seg *p, const char *keyword,
                            const char *fmt, const char *a, const char *b)
{
	char qa[QUOTE_SIZE], qb[QUOTE_SIZE] = "";

	if (!c->reporting)
		return fail(c, n, p, keyword, "%s", "");
	idmefv2__sv_quote_string(a, qa, sizeof(qa), QUOTE_LIMIT);
	if (b)
		idmefv2__sv_quote_string(b, qb, sizeof(qb), QUOTE_LIMIT);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	return fail(c, n, p, keyword, fmt, qa, qb);
#pragma GCC diagnostic pop
}

static bool v_dependency(struct vctx *c, const sv_node *n, const struct sv_dependency *d,
                         struct json_object *o, const sv_seg *p)
{
	bool ok = true;

	if (d->node)
		return v_node(c, d->node, o, p);
	for (size_t i = 0; i < d->n_names; i++) {
		if (json_object_object_get_ex(o, d->names[i], NULL))
			continue;
		ok = fail_names(c, n, p, "dependencies", "property %s requires property %s", d->key, d->names[i]);
		if (c->stop)
			return false;
	}
	return ok;
}

static NOINLINE bool v_object(struct vctx *c, const sv_node *n, struct json_object *o, const sv_seg *p)
{
	const struct sv_object_rules *r = n->obj;
	size_t found_required = 0;
	bool ok = true;

	struct lh_table *table = json_object_get_object(o);
	struct lh_entry *next = table->head;

	/* the member list threads through this array in hash order: fetch it
	 * whole rather than one dependent miss per member */
	{
		const char *a = (const char *)table->table;
		const char *end = a + (size_t)table->size * sizeof(struct lh_entry);

		for (; a < end; a += 64)
			__builtin_prefetch(a);
	}

	while (next) {
		/* Gather a batch of members and prefetch their names and values:
		 * the instance is a tree of small allocations, and waiting for each
		 * one in turn would cost more than the checks. */
		const char *keys[OBJECT_BATCH];
		struct json_object *vals[OBJECT_BATCH];
		size_t count = 0;

		for (; next && count < OBJECT_BATCH; next = next->next, count++) {
			keys[count] = next->k;
			vals[count] = (struct json_object *)next->v;
			__builtin_prefetch(keys[count]);
			__builtin_prefetch(vals[count]);
			/* a string's text follows its header and may spill over */
			__builtin_prefetch((const char *)vals[count] + 64);
		}
		for (size_t m = 0; m < count; m++) {
			const char *key = keys[m];
			struct json_object *val = vals[m];
			size_t len = key_length(key);
			uint32_t h = idmefv2__sv_hash(key, len);
			const struct sv_prop *e = prop_find(r, key, len, h);
			sv_seg seg = {p, key, len};
			bool matched = false;

			if (e) {
				found_required += e->required;
				if (e->node) {
					matched = true;
					if (!v_child(c, e->node, val, &seg)) {
						ok = false;
						if (c->stop)
							return false;
					}
				}
				if (e->dep && !v_dependency(c, n, e->dep, o, p)) {
					ok = false;
					if (c->stop)
						return false;
				}
			}
			for (size_t i = 0; i < r->n_pattern_props; i++) {
				const struct sv_pattern_prop *pp = &r->pattern_props[i];

				if (idmefv2__regex_match(pp->re, key, len) != 1)
					continue;
				matched = true;
				if (!v_node(c, pp->node, val, &seg)) {
					ok = false;
					if (c->stop)
						return false;
				}
			}
			if (matched)
				continue;
			if (r->additional_false) {
				ok = fail_names(c, n, p, "additionalProperties", "property %s is not allowed", key, NULL);
				if (c->stop)
					return false;
			} else if (r->additional && !v_node(c, r->additional, val, &seg)) {
				ok = false;
				if (c->stop)
					return false;
			}
		}
	}
	if (found_required != r->n_required) {
		for (size_t i = 0; i < r->n_required; i++) {
			if (json_object_object_get_ex(o, r->required[i], NULL))
				continue;
			ok = fail_names(c, n, p, "required", "missing required property %s", r->required[i], NULL);
			if (c->stop)
				return false;
		}
	}
	if (r->min_properties >= 0 || r->max_properties >= 0) {
		int64_t count = json_object_object_length(o);

		if (r->min_properties >= 0 && count < r->min_properties) {
			ok = fail(c, n, p, "minProperties", "the object has %lld propert%s, fewer than the minimum %lld",
			          (long long)count, count == 1 ? "y" : "ies", (long long)r->min_properties);
			if (c->stop)
				return false;
		}
		if (r->max_properties >= 0 && count > r->max_properties)
			ok = fail(c, n, p, "maxProperties", "the object has %lld propert%s, more than the maximum %lld",
			          (long long)count, count == 1 ? "y" : "ies", (long long)r->max_properties);
	}
	return ok;
}

/* ---- arrays ---- */

/* Small arrays are compared pairwise. */
#define UNIQUE_PAIRWISE_MAX 32

struct item_hash {
	uint64_t hash;
	size_t index;
};

static int cmp_item_hash(const void *a, const void *b)
{
	const struct item_hash *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* Find two equal items, i < j; false if all are distinct. */
static bool find_duplicate(const struct array_list *list, size_t *ret_i, size_t *ret_j)
{
	size_t len = list->length;
	struct item_hash *h = NULL;
	bool found = false;

	/* hashing keeps a long array from costing len² comparisons */
	if (len > UNIQUE_PAIRWISE_MAX)
		h = malloc(len * sizeof(*h));
	if (!h) {
		for (size_t j = 1; j < len; j++)
			for (size_t i = 0; i < j; i++)
				if (idmefv2__sv_json_equal(list->array[i], list->array[j])) {
					*ret_i = i;
					*ret_j = j;
					return true;
				}
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		h[i].hash = idmefv2__sv_json_hash(list->array[i]);
		h[i].index = i;
	}
	qsort(h, len, sizeof(*h), cmp_item_hash);
	for (size_t a = 0; a < len && !found; a++)
		for (size_t b = a + 1; b < len && h[b].hash == h[a].hash && !found; b++)
			if (idmefv2__sv_json_equal(list->array[h[a].index], list->array[h[b].index])) {
				*ret_i = h[a].index;
				*ret_j = h[b].index;
				found = true;
			}
	free(h);
	return found;
}

static bool v_unique(struct vctx *c, const sv_node *n, const struct array_list *list, const sv_seg *p)
{
	size_t i, j;

	if (!find_duplicate(list, &i, &j))
		return true;
	return fail(c, n, p, "uniqueItems", "items %zu and %zu are equal", i, j);
}

static NOINLINE bool v_array(struct vctx *c, const sv_node *n, struct json_object *o, const sv_seg *p)
{
	const struct sv_array_rules *r = n->arr;
	struct array_list *list = json_object_get_array(o);
	size_t len = list->length;
	bool ok = true;

	for (size_t i = 0; i < len && i < ARRAY_PREFETCH; i++)
		__builtin_prefetch(list->array[i]);

	if (r->min_items >= 0 && len < (uint64_t)r->min_items) {
		ok = fail(c, n, p, "minItems", "the array has %zu item%s, fewer than the minimum %lld", len,
		          len == 1 ? "" : "s", (long long)r->min_items);
		if (c->stop)
			return false;
	}
	if (r->max_items >= 0 && len > (uint64_t)r->max_items) {
		ok = fail(c, n, p, "maxItems", "the array has %zu item%s, more than the maximum %lld", len,
		          len == 1 ? "" : "s", (long long)r->max_items);
		if (c->stop)
			return false;
	}
	if (r->items) {
		for (size_t i = 0; i < len; i++) {
			sv_seg seg = {p, NULL, i};

			if (!v_child(c, r->items, list->array[i], &seg)) {
				ok = false;
				if (c->stop)
					return false;
			}
		}
	} else if (r->is_tuple) {
		for (size_t i = 0; i < len; i++) {
			sv_seg seg = {p, NULL, i};
			const sv_node *sub = i < r->n_tuple ? r->tuple[i] : r->additional;

			if (i >= r->n_tuple && r->additional_false) {
				ok = fail(c, n, p, "additionalItems",
				          "the array has %zu items, more than the %zu that \"items\" allows", len,
				          r->n_tuple);
				if (c->stop)
					return false;
				break;
			}
			if (sub && !v_child(c, sub, list->array[i], &seg)) {
				ok = false;
				if (c->stop)
					return false;
			}
		}
	}
	if (r->unique && !v_unique(c, n, list, p))
		ok = false;
	return ok;
}

/* ---- allOf, anyOf, oneOf, not ---- */

static NOINLINE bool v_composite(struct vctx *c, const sv_node *n, struct json_object *o, const sv_seg *p)
{
	const struct sv_composite_rules *r = n->comp;
	char q[QUOTE_SIZE];
	bool ok = true;

	for (size_t i = 0; i < r->n_all_of; i++) {
		if (!v_node(c, r->all_of[i], o, p)) {
			ok = false;
			if (c->stop)
				return false;
		}
	}
	if (r->n_any_of) {
		bool any = false;

		for (size_t i = 0; i < r->n_any_of && !any; i++) {
			struct vctx b = quiet(c);

			any = v_node(&b, r->any_of[i], o, p);
		}
		if (!any) {
			if (c->reporting)
				idmefv2__sv_quote(o, q, sizeof(q), QUOTE_LIMIT);
			ok = fail(c, n, p, "anyOf", "%s is not valid against any of the %zu anyOf schemas",
			          c->reporting ? q : "", r->n_any_of);
			if (c->stop)
				return false;
		}
	}
	if (r->n_one_of) {
		size_t valid = 0, first = 0, second = 0;

		for (size_t i = 0; i < r->n_one_of && valid < 2; i++) {
			struct vctx b = quiet(c);

			if (v_node(&b, r->one_of[i], o, p)) {
				if (valid++)
					second = i;
				else
					first = i;
			}
		}
		if (valid != 1) {
			if (c->reporting)
				idmefv2__sv_quote(o, q, sizeof(q), QUOTE_LIMIT);
			if (!valid)
				ok = fail(c, n, p, "oneOf", "%s is not valid against any of the %zu oneOf schemas",
				          c->reporting ? q : "", r->n_one_of);
			else
				ok = fail(c, n, p, "oneOf",
				          "%s is valid against more than one of the %zu oneOf schemas (%zu and %zu)",
				          c->reporting ? q : "", r->n_one_of, first, second);
			if (c->stop)
				return false;
		}
	}
	if (r->not_) {
		struct vctx b = quiet(c);

		if (v_node(&b, r->not_, o, p)) {
			if (c->reporting)
				idmefv2__sv_quote(o, q, sizeof(q), QUOTE_LIMIT);
			ok = fail(c, n, p, "not", "%s must not be valid against the \"not\" schema", c->reporting ? q : "");
		}
	}
	return ok;
}

/* ---- a node ---- */

static bool v_node(struct vctx *c, const sv_node *n, struct json_object *o, const sv_seg *p)
{
	unsigned t = type_of(o);
	bool ok = true;

	if (!(n->types & t)) {
		ok = fail_type(c, n, o, p);
		if (c->stop)
			return false;
	}
	if (n->enm && !v_enum(c, n, o, t, p)) {
		ok = false;
		if (c->stop)
			return false;
	}
	switch (t) {
	case SV_T_STRING:
		if (n->str && !v_string(c, n, o, p))
			ok = false;
		break;
	case SV_T_INTEGER:
	case SV_T_DOUBLE:
		if (n->num && !v_number(c, n, o, p))
			ok = false;
		break;
	case SV_T_OBJECT:
		if (n->obj && !v_object(c, n, o, p))
			ok = false;
		break;
	case SV_T_ARRAY:
		if (n->arr && !v_array(c, n, o, p))
			ok = false;
		break;
	default:
		break;
	}
	if (!ok && c->stop)
		return false;
	if (n->comp && !v_composite(c, n, o, p))
		ok = false;
	return ok;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_schema_validate(const idmefv2_schema *schema,
                                                     struct json_object *instance,
                                                     unsigned flags,
                                                     idmefv2_report **ret_report)
{
	struct vctx c = {flags, ret_report != NULL, false, NULL, IDMEFV2_OK};

	if (!schema)
		return IDMEFV2_ERR_INVALID_ARG;
	if (v_node(&c, schema->root, instance, NULL))
		return IDMEFV2_OK;
	if (c.err != IDMEFV2_OK) {
		idmefv2_report_free(c.report);
		return c.err;
	}
	if (ret_report)
		*ret_report = c.report;
	return IDMEFV2_ERR_INVALID;
}
