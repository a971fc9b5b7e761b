/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Parsing only what a template reads. A tool's alert carries many members a
 * template never looks at (a Suricata EVE line: flow, metadata, packet info),
 * and building json-c objects for all of them was most of a connector's time.
 * The scanner below checks the whole text strictly, but builds json-c values
 * only at the paths the template reads; everything else is skipped.
 *
 * The scanner accepts a subset of what the full parser accepts: anything
 * unusual (escapes in member names, \u0000 or surrogate escapes, exponents,
 * integers over 18 digits, deep nesting, a root that is not an object, any
 * syntax error) makes it give up, and the caller parses the text in full, so
 * that errors and corner cases are exactly the full parser's. Values it
 * builds are built as the full parser builds them.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include <idmefv2/message.h>

#include "idmefv2-common.h"
#include "mapping-private.h"

/* Below the full parser's own limit, so that the scanner never accepts nesting it refuses. */
#define PROJ_MAX_DEPTH 48

struct idmefv2__proj {
	char *name;
	size_t name_len;
	bool whole; /* the whole value is needed (the end of a path) */
	struct idmefv2__proj **kids;
	size_t nkids;
};

idmefv2__proj *idmefv2__proj_new(void)
{
	return calloc(1, sizeof(idmefv2__proj));
}

void idmefv2__proj_free(idmefv2__proj *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nkids; i++)
		idmefv2__proj_free(p->kids[i]);
	free(p->kids);
	free(p->name);
	free(p);
}

idmefv2_error idmefv2__proj_add(idmefv2__proj *root, const char *const *names, size_t n)
{
	idmefv2__proj *node = root;

	for (size_t k = 0; k < n; k++) {
		idmefv2__proj *kid = NULL, **kids;

		if (node->whole)
			return IDMEFV2_OK; /* an ancestor is needed whole: so is this */
		for (size_t i = 0; i < node->nkids; i++)
			if (strcmp(node->kids[i]->name, names[k]) == 0)
				kid = node->kids[i];
		if (!kid) {
			kids = realloc(node->kids, (node->nkids + 1) * sizeof(*kids));
			if (!kids)
				return IDMEFV2_ERR_NOMEM;
			node->kids = kids;
			kid = calloc(1, sizeof(*kid));
			if (!kid || !(kid->name = strdup(names[k]))) {
				free(kid);
				return IDMEFV2_ERR_NOMEM;
			}
			kid->name_len = strlen(kid->name);
			node->kids[node->nkids++] = kid;
		}
		node = kid;
	}
	node->whole = true;
	return IDMEFV2_OK;
}

/* ---- the scanner ------------------------------------------------------------------------ */

struct scan {
	const unsigned char *s;
	size_t len;
	size_t i;
	int depth;
};

/* Bytes a string holds as they are: printable ASCII other than '"' and '\\'. */
static bool plain[256];
static bool plain_ready;

static void plain_init(void)
{
	/* Every thread computes the same table: a benign race on a value written identically. */
	for (int c = 0x20; c < 0x80; c++)
		plain[c] = c != '"' && c != '\\';
	__atomic_store_n(&plain_ready, true, __ATOMIC_RELEASE);
}

static void skip_ws(struct scan *sc)
{
	while (sc->i < sc->len) {
		unsigned char c = sc->s[sc->i];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			return;
		sc->i++;
	}
}



/* At a '"': past the closing quote. *escaped tells whether the string held an escape. */
static bool scan_string(struct scan *sc, bool *escaped)
{
	const unsigned char *s = sc->s;
	size_t i = sc->i + 1, len = sc->len;

	*escaped = false;
	for (;;) {
		unsigned char c;

		while (i < len && plain[s[i]])
			i++;
		if (i >= len)
			return false;
		c = s[i];
		if (c == '"') {
			sc->i = i + 1;
			return true;
		}
		if (c == '\\') {
			*escaped = true;
			if (i + 1 >= len)
				return false;
			c = s[i + 1];
			if (c == 'u') {
				int v = 0;

				if (i + 5 >= len)
					return false;
				for (int k = 2; k < 6; k++) {
					int h = idmefv2__hex_value(s[i + k]);

					if (h < 0)
						return false;
					v = v * 16 + h;
				}
				/* NUL and surrogates have their own rules in the full parser: let it decide. */
				if (v == 0 || (v >= 0xd800 && v <= 0xdfff))
					return false;
				i += 6;
			} else if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' || c == 'r' ||
			           c == 't') {
				i += 2;
			} else {
				return false;
			}
		} else if (c < 0x20) {
			return false;
		} else {
			size_t n = idmefv2__utf8_len(s + i, len - i);

			if (!n)
				return false;
			i += n;
		}
	}
}

/* RFC 8259 numbers without exponent; integers of at most 18 digits. *integer tells which. */
static bool scan_number(struct scan *sc, bool *integer)
{
	const unsigned char *s = sc->s;
	size_t i = sc->i, len = sc->len, digits;

	*integer = true;
	if (i < len && s[i] == '-')
		i++;
	if (i >= len)
		return false;
	if (s[i] == '0') {
		i++;
	} else if (s[i] >= '1' && s[i] <= '9') {
		size_t start = i;

		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i - start > 18)
			return false;
	} else {
		return false;
	}
	if (i < len && s[i] == '.') {
		*integer = false;
		i++;
		digits = 0;
		while (i < len && s[i] >= '0' && s[i] <= '9') {
			i++;
			digits++;
		}
		if (!digits || digits > 17)
			return false;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E'))
		return false;
	sc->i = i;
	return true;
}

static bool scan_literal(struct scan *sc, const char *word, size_t n)
{
	if (sc->len - sc->i < n || memcmp(sc->s + sc->i, word, n) != 0)
		return false;
	sc->i += n;
	return true;
}

static bool scan_value(struct scan *sc, const idmefv2__proj *node, struct json_object **out, bool *built);

/* The value at [start, end), built as the full parser would build it. */
static bool build(const struct scan *sc, size_t start, size_t end, bool escaped, bool integer,
                  struct json_object **out)
{
	const char *t = (const char *)sc->s + start;
	size_t n = end - start;

	switch (t[0]) {
	case '"':
		if (!escaped) {
			*out = json_object_new_string_len(t + 1, (int)(n - 2));
			return *out != NULL;
		}
		break;
	case 't':
		*out = json_object_new_boolean(1);
		return *out != NULL;
	case 'f':
		*out = json_object_new_boolean(0);
		return *out != NULL;
	case 'n':
		*out = NULL;
		return true;
	default:
		if (integer && t[0] != '{' && t[0] != '[') {
			/* At most 18 digits (scan_number): no overflow; the text need not end with a NUL. */
			int64_t v = 0;
			size_t k = t[0] == '-';

			for (; k < n; k++)
				v = v * 10 + (t[k] - '0');
			*out = json_object_new_int64(t[0] == '-' ? -v : v);
			return *out != NULL;
		}
		break;
	}
	return idmefv2_json_parse(t, n, out, NULL, 0) == IDMEFV2_OK;
}

static const idmefv2__proj *kid_named(const idmefv2__proj *node, const unsigned char *key, size_t len)
{
	for (size_t i = 0; i < node->nkids; i++)
		if (node->kids[i]->name_len == len && memcmp(node->kids[i]->name, key, len) == 0)
			return node->kids[i];
	return NULL;
}

/*
 * One value. @p node: what of it is needed (NULL: nothing). *out gets the
 * value built, and *built says whether there is one (a JSON null is built as
 * NULL).
 */
static bool scan_value(struct scan *sc, const idmefv2__proj *node, struct json_object **out, bool *built)
{
	size_t start;
	unsigned char c;
	bool escaped = false, integer = false, ok;

	*out = NULL;
	*built = false;
	skip_ws(sc);
	if (sc->i >= sc->len)
		return false;
	start = sc->i;
	c = sc->s[sc->i];
	if (c == '{' || c == '[') {
		bool is_obj = c == '{';
		bool partial = node && !node->whole && is_obj;
		struct json_object *obj = NULL;

		if (++sc->depth > PROJ_MAX_DEPTH)
			return false;
		sc->i++;
		if (partial) {
			obj = json_object_new_object();
			if (!obj)
				return false;
		}
		skip_ws(sc);
		if (sc->i < sc->len && sc->s[sc->i] == (is_obj ? '}' : ']')) {
			sc->i++;
		} else {
			for (;;) {
				const idmefv2__proj *kid = NULL;
				struct json_object *v;
				bool vbuilt;

				if (is_obj) {
					size_t kstart;
					bool kesc;

					skip_ws(sc);
					if (sc->i >= sc->len || sc->s[sc->i] != '"')
						goto fail;
					kstart = sc->i + 1;
					if (!scan_string(sc, &kesc) || (kesc && partial))
						goto fail;
					if (partial)
						kid = kid_named(node, sc->s + kstart, sc->i - 1 - kstart);
					skip_ws(sc);
					if (sc->i >= sc->len || sc->s[sc->i] != ':')
						goto fail;
					sc->i++;
				}
				if (!scan_value(sc, kid, &v, &vbuilt))
					goto fail;
				if (vbuilt && json_object_object_add(obj, kid->name, v) != 0) {
					json_object_put(v);
					goto fail;
				}
				/* A repeated member replaces the earlier one, as in the full parse, even with nothing. */
				if (kid && !vbuilt)
					json_object_object_del(obj, kid->name);
				skip_ws(sc);
				if (sc->i >= sc->len)
					goto fail;
				if (sc->s[sc->i] == ',') {
					sc->i++;
					continue;
				}
				if (sc->s[sc->i] != (is_obj ? '}' : ']'))
					goto fail;
				sc->i++;
				break;
			}
		}
		sc->depth--;
		if (partial) {
			*out = obj;
			*built = true;
			return true;
		}
		if (node && node->whole) {
			*built = true;
			return build(sc, start, sc->i, true, false, out);
		}
		return true;
fail:
		json_object_put(obj);
		return false;
	}
	if (c == '"')
		ok = scan_string(sc, &escaped);
	else if (c == 't')
		ok = scan_literal(sc, "true", 4);
	else if (c == 'f')
		ok = scan_literal(sc, "false", 5);
	else if (c == 'n')
		ok = scan_literal(sc, "null", 4);
	else
		ok = scan_number(sc, &integer);
	if (!ok)
		return false;
	/* A scalar where the template reads members of an object: missing, as a path would find it. */
	if (!node || !node->whole)
		return true;
	*built = true;
	return build(sc, start, sc->i, escaped, integer, out);
}

idmefv2_error idmefv2__json_project(const char *text, size_t len, const idmefv2__proj *root,
                                    struct json_object **ret_obj)
{
	struct scan sc = { (const unsigned char *)text, len, 0, 0 };
	struct json_object *obj = NULL;
	bool built;

	if (!__atomic_load_n(&plain_ready, __ATOMIC_ACQUIRE))
		plain_init();
	skip_ws(&sc);
	if (sc.i >= len || text[sc.i] != '{' || root->whole)
		return IDMEFV2_ERR_PARSE;
	if (!scan_value(&sc, root, &obj, &built))
		return IDMEFV2_ERR_PARSE;
	skip_ws(&sc);
	if (sc.i != len) {
		json_object_put(obj);
		return IDMEFV2_ERR_PARSE;
	}
	*ret_obj = obj;
	return IDMEFV2_OK;
}
