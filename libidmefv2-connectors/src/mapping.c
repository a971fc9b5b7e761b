/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include <idmefv2/mapping.h>
#include <idmefv2/message.h>

#include "jsonpath-private.h"
#include "mapping-private.h"

enum node_kind { NODE_LITERAL, NODE_PATH, NODE_CALL, NODE_OBJECT, NODE_ARRAY };
enum missing_policy { MISSING_OMIT, MISSING_DEFAULT, MISSING_REJECT };
enum cond_kind { COND_EQ, COND_NE, COND_EXISTS, COND_AND, COND_OR, COND_NOT };

struct node {
	enum node_kind kind;
	enum missing_policy missing;
	struct json_object *dflt;      /* MISSING_DEFAULT */
	char *pointer;                 /* where in the template, for errors */
	struct json_object *literal;   /* NODE_LITERAL */
	idmefv2__jsonpath *path;       /* NODE_PATH */
	const struct idmefv2__mapping_function *fn; /* NODE_CALL */
	const char **keys;             /* NODE_OBJECT: interned */
	struct node **children;        /* NODE_OBJECT, NODE_ARRAY, NODE_CALL arguments */
	size_t nchildren;
};

struct cond {
	enum cond_kind kind;
	struct node *a, *b;     /* EQ, NE, EXISTS */
	struct cond **subs;     /* AND, OR, NOT */
	size_t nsubs;
};

struct idmefv2_mapping {
	char *name;
	struct node *root;
	struct cond *filter;
	idmefv2__proj *proj; /* what it reads of an input; NULL: all of it */
	idmefv2_log_cb log_cb; /* functions' warnings (a refused base64_file) */
	void *log_data;
};

/* The mapping being applied by this thread: where idmefv2__mapping_log() goes. */
static _Thread_local const idmefv2_mapping *applying;

/* ---- function registry --------------------------------------------------------------- */

struct registered {
	struct idmefv2__mapping_function f;
	struct registered *next;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
/* Entries are never freed: compiled templates point at them. */
static struct registered *registry;

static const struct idmefv2__mapping_function *function_find(const char *name)
{
	const struct idmefv2__mapping_function *f = idmefv2__mapping_builtin_find(name);

	if (f)
		return f;
	pthread_mutex_lock(&registry_lock);
	for (struct registered *r = registry; r; r = r->next) {
		if (strcmp(r->f.name, name) == 0) {
			f = &r->f;
			break;
		}
	}
	pthread_mutex_unlock(&registry_lock);
	return f;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_mapping_register_function(const char *name, size_t min_args,
                                                               size_t max_args,
                                                               idmefv2_mapping_fn fn,
                                                               void *userdata)
{
	struct registered *r;

	if (!name || !*name || !fn || min_args > max_args || function_find(name))
		return IDMEFV2_ERR_INVALID_ARG;
	r = calloc(1, sizeof(*r));
	if (!r)
		return IDMEFV2_ERR_NOMEM;
	r->f.name = strdup(name);
	if (!r->f.name) {
		free(r);
		return IDMEFV2_ERR_NOMEM;
	}
	r->f.min_args = min_args;
	r->f.max_args = max_args;
	r->f.fn = fn;
	r->f.userdata = userdata;
	pthread_mutex_lock(&registry_lock);
	/* Re-check under the lock: two threads may race on the same name. */
	for (struct registered *o = registry; o; o = o->next) {
		if (strcmp(o->f.name, name) == 0) {
			pthread_mutex_unlock(&registry_lock);
			free((char *)r->f.name);
			free(r);
			return IDMEFV2_ERR_INVALID_ARG;
		}
	}
	r->next = registry;
	registry = r;
	pthread_mutex_unlock(&registry_lock);
	return IDMEFV2_OK;
}

/* ---- compilation ----------------------------------------------------------------------- */

struct compiler {
	const char *name;
	char *errstr;
	size_t errstr_size;
};

static void node_free(struct node *n);
static void cond_free(struct cond *c);

static idmefv2_error fail(const struct compiler *c, idmefv2_error err, const char *pointer,
                          const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static idmefv2_error fail(const struct compiler *c, idmefv2_error err, const char *pointer,
                          const char *fmt, ...)
{
	char reason[512];
	va_list ap;

	if (!c->errstr || !c->errstr_size)
		return err;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	snprintf(c->errstr, c->errstr_size, "template %s: %s: %s", c->name,
	         *pointer ? pointer : "/", reason);
	return err;
}

/* RFC 6901: "~" and "/" in a member name are escaped. */
static char *pointer_append(const char *base, const char *token)
{
	size_t len = strlen(base), tlen = strlen(token), n;
	char *out = malloc(len + 1 + 2 * tlen + 1);

	if (!out)
		return NULL;
	memcpy(out, base, len);
	n = len;
	out[n++] = '/';
	for (const char *t = token; *t; t++) {
		if (*t == '~' || *t == '/') {
			out[n++] = '~';
			out[n++] = *t == '~' ? '0' : '1';
		} else {
			out[n++] = *t;
		}
	}
	out[n] = '\0';
	return out;
}

static char *pointer_append_index(const char *base, size_t i)
{
	char tok[32];

	snprintf(tok, sizeof(tok), "%zu", i);
	return pointer_append(base, tok);
}

static idmefv2_error compile_node(const struct compiler *c, struct json_object *v,
                                  const char *pointer, struct node **ret);

static struct node *node_new(enum node_kind kind, const char *pointer)
{
	struct node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->kind = kind;
	n->pointer = strdup(pointer);
	if (!n->pointer) {
		free(n);
		return NULL;
	}
	return n;
}

static idmefv2_error compile_path(const struct compiler *c, const char *text, const char *pointer,
                                  struct node **ret)
{
	char why[256] = "";
	struct node *n;
	idmefv2_error err;

	n = node_new(NODE_PATH, pointer);
	if (!n)
		return IDMEFV2_ERR_NOMEM;
	err = idmefv2__jsonpath_compile(text, &n->path, why, sizeof(why));
	if (err) {
		node_free(n);
		return fail(c, err, pointer, "%s", why[0] ? why : idmefv2_strerror(err));
	}
	*ret = n;
	return IDMEFV2_OK;
}

static idmefv2_error compile_literal(struct json_object *v, const char *pointer, struct node **ret)
{
	struct node *n = node_new(NODE_LITERAL, pointer);

	if (!n)
		return IDMEFV2_ERR_NOMEM;
	if (v && json_object_deep_copy(v, &n->literal, NULL) != 0) {
		node_free(n);
		return IDMEFV2_ERR_NOMEM;
	}
	*ret = n;
	return IDMEFV2_OK;
}

/* Reads "missing" and "default" next to "$fn" or "$path". */
static idmefv2_error compile_policy(const struct compiler *c, struct json_object *obj,
                                    const char *pointer, struct node *n)
{
	struct json_object *m = NULL, *d = NULL;
	const char *s;

	json_object_object_get_ex(obj, "default", &d);
	if (!json_object_object_get_ex(obj, "missing", &m)) {
		n->missing = d ? MISSING_DEFAULT : MISSING_OMIT;
	} else {
		s = json_object_is_type(m, json_type_string) ? json_object_get_string(m) : "";
		if (strcmp(s, "omit") == 0)
			n->missing = MISSING_OMIT;
		else if (strcmp(s, "default") == 0)
			n->missing = MISSING_DEFAULT;
		else if (strcmp(s, "reject") == 0)
			n->missing = MISSING_REJECT;
		else
			return fail(c, IDMEFV2_ERR_INVALID_ARG, pointer,
			            "\"missing\" must be \"omit\", \"default\" or \"reject\"");
	}
	if (n->missing == MISSING_DEFAULT) {
		if (!json_object_object_get_ex(obj, "default", &d) || !d)
			return fail(c, IDMEFV2_ERR_INVALID_ARG, pointer,
			            "\"missing\": \"default\" needs a non-null \"default\"");
		if (json_object_deep_copy(d, &n->dflt, NULL) != 0)
			return IDMEFV2_ERR_NOMEM;
	}
	return IDMEFV2_OK;
}

static bool only_keys(struct json_object *obj, const char *const *allowed, const char **bad)
{
	json_object_object_foreach(obj, key, val) {
		bool ok = false;

		(void)val;
		for (size_t i = 0; allowed[i]; i++)
			ok = ok || strcmp(key, allowed[i]) == 0;
		if (!ok) {
			*bad = key;
			return false;
		}
	}
	return true;
}

static idmefv2_error compile_call(const struct compiler *c, struct json_object *obj,
                                  const char *pointer, struct node **ret)
{
	static const char *const allowed[] = { "$fn", "args", "missing", "default", NULL };
	struct json_object *name = NULL, *args = NULL;
	struct node *n = NULL;
	const char *bad = NULL;
	char *argptr = NULL;
	size_t nargs = 0;
	idmefv2_error err;

	json_object_object_get_ex(obj, "$fn", &name);
	if (!json_object_is_type(name, json_type_string))
		return fail(c, IDMEFV2_ERR_INVALID_ARG, pointer, "\"$fn\" must be a string");
	if (!only_keys(obj, allowed, &bad))
		return fail(c, IDMEFV2_ERR_INVALID_ARG, pointer, "unexpected member \"%s\" in a call",
		            bad);
	if (json_object_object_get_ex(obj, "args", &args)) {
		if (!json_object_is_type(args, json_type_array))
			return fail(c, IDMEFV2_ERR_INVALID_ARG, pointer, "\"args\" must be an array");
		nargs = json_object_array_length(args);
	}
	n = node_new(NODE_CALL, pointer);
	if (!n)
		return IDMEFV2_ERR_NOMEM;
	n->fn = function_find(json_object_get_string(name));
	if (!n->fn) {
		err = fail(c, IDMEFV2_ERR_INVALID_ARG, pointer, "unknown function \"%s\"",
		           json_object_get_string(name));
		goto out;
	}
	if (nargs < n->fn->min_args || nargs > n->fn->max_args) {
		err = fail(c, IDMEFV2_ERR_INVALID_ARG, pointer,
		           "function \"%s\" takes %zu to %zu arguments, not %zu", n->fn->name,
		           n->fn->min_args, n->fn->max_args, nargs);
		goto out;
	}
	err = compile_policy(c, obj, pointer, n);
	if (err)
		goto out;
	if (nargs) {
		char *base = pointer_append(pointer, "args");

		n->children = calloc(nargs, sizeof(*n->children));
		if (!base || !n->children) {
			free(base);
			err = IDMEFV2_ERR_NOMEM;
			goto out;
		}
		for (size_t i = 0; i < nargs && !err; i++) {
			argptr = pointer_append_index(base, i);
			err = argptr ? compile_node(c, json_object_array_get_idx(args, i), argptr,
			                            &n->children[i])
			             : IDMEFV2_ERR_NOMEM;
			free(argptr);
			argptr = NULL;
			n->nchildren = i + 1;
		}
		free(base);
	}
out:
	if (err) {
		node_free(n);
		return err;
	}
	*ret = n;
	return IDMEFV2_OK;
}

static idmefv2_error compile_path_object(const struct compiler *c, struct json_object *obj,
                                         const char *pointer, struct node **ret)
{
	static const char *const allowed[] = { "$path", "missing", "default", NULL };
	struct json_object *p = NULL;
	const char *bad = NULL;
	struct node *n = NULL;
	idmefv2_error err;

	json_object_object_get_ex(obj, "$path", &p);
	if (!json_object_is_type(p, json_type_string))
		return fail(c, IDMEFV2_ERR_PATH, pointer, "\"$path\" must be a string");
	if (!only_keys(obj, allowed, &bad))
		return fail(c, IDMEFV2_ERR_INVALID_ARG, pointer, "unexpected member \"%s\" with \"$path\"",
		            bad);
	err = compile_path(c, json_object_get_string(p), pointer, &n);
	if (!err)
		err = compile_policy(c, obj, pointer, n);
	if (err) {
		node_free(n);
		return err;
	}
	*ret = n;
	return IDMEFV2_OK;
}

/*
 * Output member names are interned for the life of the process, so that
 * outputs can use them without a copy (json-c's constant keys) and still
 * outlive the mapping that built them. Templates hold a few hundred names.
 */
static pthread_mutex_t intern_lock = PTHREAD_MUTEX_INITIALIZER;
static char **interned;
static size_t interned_count, interned_cap;

static const char *intern(const char *key)
{
	const char *ret = NULL;

	pthread_mutex_lock(&intern_lock);
	for (size_t i = 0; i < interned_count; i++) {
		if (strcmp(interned[i], key) == 0) {
			ret = interned[i];
			goto out;
		}
	}
	if (interned_count == interned_cap) {
		size_t cap = interned_cap ? 2 * interned_cap : 64;
		char **v = realloc(interned, cap * sizeof(*v));

		if (!v)
			goto out;
		interned = v;
		interned_cap = cap;
	}
	interned[interned_count] = strdup(key);
	if (interned[interned_count])
		ret = interned[interned_count++];
out:
	pthread_mutex_unlock(&intern_lock);
	return ret;
}

/*
 * A container whose members are all literals (no path, no call, no null,
 * which would be omitted) is itself a literal, built once here rather than
 * member by member for every input: lookup maps and classification tables are
 * such containers, and so are constant parts of the output.
 */
static void fold_constant(struct node *n)
{
	struct json_object *v;

	for (size_t i = 0; i < n->nchildren; i++)
		if (n->children[i]->kind != NODE_LITERAL || !n->children[i]->literal)
			return;
	v = n->kind == NODE_OBJECT ? json_object_new_object() : json_object_new_array();
	if (!v)
		return;
	for (size_t i = 0; i < n->nchildren; i++) {
		struct json_object *copy = NULL;
		int rc = json_object_deep_copy(n->children[i]->literal, &copy, NULL);

		if (rc == 0)
			rc = n->kind == NODE_OBJECT ? json_object_object_add_ex(v, n->keys[i], copy,
			                                                        JSON_C_OBJECT_KEY_IS_CONSTANT)
			                            : json_object_array_add(v, copy);
		if (rc != 0) {
			json_object_put(copy);
			json_object_put(v);
			return; /* out of memory: stays a container, still correct */
		}
	}
	for (size_t i = 0; i < n->nchildren; i++)
		node_free(n->children[i]);
	free(n->children);
	free((void *)n->keys);
	n->children = NULL;
	n->keys = NULL;
	n->nchildren = 0;
	n->kind = NODE_LITERAL;
	n->literal = v;
}

static idmefv2_error compile_container(const struct compiler *c, struct json_object *v,
                                       const char *pointer, bool skip_directives,
                                       struct node **ret)
{
	bool is_obj = json_object_is_type(v, json_type_object);
	size_t cap = is_obj ? (size_t)json_object_object_length(v) : json_object_array_length(v);
	struct node *n = node_new(is_obj ? NODE_OBJECT : NODE_ARRAY, pointer);
	idmefv2_error err = IDMEFV2_OK;
	char *child_ptr;

	if (!n)
		return IDMEFV2_ERR_NOMEM;
	n->children = calloc(cap ? cap : 1, sizeof(*n->children));
	if (is_obj)
		n->keys = calloc(cap ? cap : 1, sizeof(*n->keys));
	if (!n->children || (is_obj && !n->keys)) {
		err = IDMEFV2_ERR_NOMEM;
		goto out;
	}
	if (is_obj) {
		json_object_object_foreach(v, key, val) {
			if (skip_directives && key[0] == '$')
				continue;
			child_ptr = pointer_append(pointer, key);
			n->keys[n->nchildren] = intern(key);
			if (!child_ptr || !n->keys[n->nchildren]) {
				free(child_ptr);
				n->keys[n->nchildren] = NULL;
				err = IDMEFV2_ERR_NOMEM;
				goto out;
			}
			err = compile_node(c, val, child_ptr, &n->children[n->nchildren]);
			free(child_ptr);
			n->nchildren++;
			if (err)
				goto out;
		}
	} else {
		for (size_t i = 0; i < cap; i++) {
			child_ptr = pointer_append_index(pointer, i);
			if (!child_ptr) {
				err = IDMEFV2_ERR_NOMEM;
				goto out;
			}
			err = compile_node(c, json_object_array_get_idx(v, i), child_ptr, &n->children[i]);
			free(child_ptr);
			n->nchildren = i + 1;
			if (err)
				goto out;
		}
	}
out:
	if (err) {
		node_free(n);
		return err;
	}
	fold_constant(n);
	*ret = n;
	return IDMEFV2_OK;
}

static idmefv2_error compile_node(const struct compiler *c, struct json_object *v,
                                  const char *pointer, struct node **ret)
{
	*ret = NULL;
	if (json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);

		if (s[0] == '$' && s[1] == '$') {
			struct json_object *lit = json_object_new_string(s + 1);
			idmefv2_error err;

			if (!lit)
				return IDMEFV2_ERR_NOMEM;
			err = compile_literal(lit, pointer, ret);
			json_object_put(lit);
			return err;
		}
		if (s[0] == '$')
			return compile_path(c, s, pointer, ret);
		return compile_literal(v, pointer, ret);
	}
	if (json_object_is_type(v, json_type_object)) {
		struct json_object *x;

		if (json_object_object_get_ex(v, "$fn", NULL))
			return compile_call(c, v, pointer, ret);
		if (json_object_object_get_ex(v, "$path", NULL))
			return compile_path_object(c, v, pointer, ret);
		if (json_object_object_get_ex(v, "$literal", &x)) {
			if (json_object_object_length(v) != 1)
				return fail(c, IDMEFV2_ERR_INVALID_ARG, pointer,
				            "\"$literal\" must be alone in its object");
			return compile_literal(x, pointer, ret);
		}
		json_object_object_foreach(v, key, val) {
			(void)val;
			if (key[0] == '$') {
				char *p = pointer_append(pointer, key);
				idmefv2_error err = fail(c, IDMEFV2_ERR_INVALID_ARG, p ? p : pointer,
				                         "unknown directive \"%s\"", key);

				free(p);
				return err;
			}
		}
		return compile_container(c, v, pointer, false, ret);
	}
	if (json_object_is_type(v, json_type_array))
		return compile_container(c, v, pointer, false, ret);
	return compile_literal(v, pointer, ret);
}

static const struct {
	const char *key;
	enum cond_kind kind;
} cond_ops[] = {
	{ "$eq", COND_EQ },   { "$ne", COND_NE },   { "$exists", COND_EXISTS },
	{ "$and", COND_AND }, { "$or", COND_OR },   { "$not", COND_NOT },
};

static idmefv2_error compile_cond(const struct compiler *c, struct json_object *v,
                                  const char *pointer, struct cond **ret)
{
	struct json_object *arg = NULL;
	struct cond *cd = NULL;
	char *p = NULL, *q = NULL;
	idmefv2_error err = IDMEFV2_OK;
	size_t op;

	if (!json_object_is_type(v, json_type_object) || json_object_object_length(v) != 1)
		return fail(c, IDMEFV2_ERR_INVALID_ARG, pointer,
		            "a condition is an object with one operator");
	for (op = 0; op < sizeof(cond_ops) / sizeof(cond_ops[0]); op++)
		if (json_object_object_get_ex(v, cond_ops[op].key, &arg))
			break;
	if (op == sizeof(cond_ops) / sizeof(cond_ops[0])) {
		json_object_object_foreach(v, key, val) {
			(void)val;
			return fail(c, IDMEFV2_ERR_INVALID_ARG, pointer, "unknown operator \"%s\"", key);
		}
	}
	cd = calloc(1, sizeof(*cd));
	p = pointer_append(pointer, cond_ops[op].key);
	if (!cd || !p) {
		err = IDMEFV2_ERR_NOMEM;
		goto out;
	}
	cd->kind = cond_ops[op].kind;
	switch (cd->kind) {
	case COND_EQ:
	case COND_NE:
		if (!json_object_is_type(arg, json_type_array) || json_object_array_length(arg) != 2) {
			err = fail(c, IDMEFV2_ERR_INVALID_ARG, p, "expects an array of two values");
			goto out;
		}
		for (size_t i = 0; i < 2 && !err; i++) {
			q = pointer_append_index(p, i);
			err = q ? compile_node(c, json_object_array_get_idx(arg, i), q, i ? &cd->b : &cd->a)
			        : IDMEFV2_ERR_NOMEM;
			free(q);
		}
		break;
	case COND_EXISTS:
		err = compile_node(c, arg, p, &cd->a);
		break;
	case COND_NOT:
		cd->subs = calloc(1, sizeof(*cd->subs));
		if (!cd->subs) {
			err = IDMEFV2_ERR_NOMEM;
			break;
		}
		cd->nsubs = 1;
		err = compile_cond(c, arg, p, &cd->subs[0]);
		break;
	case COND_AND:
	case COND_OR: {
		size_t n;

		if (!json_object_is_type(arg, json_type_array)) {
			err = fail(c, IDMEFV2_ERR_INVALID_ARG, p, "expects an array of conditions");
			break;
		}
		n = json_object_array_length(arg);
		cd->subs = calloc(n ? n : 1, sizeof(*cd->subs));
		if (!cd->subs) {
			err = IDMEFV2_ERR_NOMEM;
			break;
		}
		for (size_t i = 0; i < n && !err; i++) {
			q = pointer_append_index(p, i);
			err = q ? compile_cond(c, json_object_array_get_idx(arg, i), q, &cd->subs[i])
			        : IDMEFV2_ERR_NOMEM;
			free(q);
			cd->nsubs = i + 1;
		}
		break;
	}
	}
out:
	free(p);
	if (err) {
		cond_free(cd);
		return err;
	}
	*ret = cd;
	return IDMEFV2_OK;
}

static void node_free(struct node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nchildren; i++)
		node_free(n->children[i]);
	free(n->children);
	free((void *)n->keys);
	json_object_put(n->literal);
	json_object_put(n->dflt);
	idmefv2__jsonpath_free(n->path);
	free(n->pointer);
	free(n);
}

static void cond_free(struct cond *c)
{
	if (!c)
		return;
	node_free(c->a);
	node_free(c->b);
	for (size_t i = 0; i < c->nsubs; i++)
		cond_free(c->subs[i]);
	free(c->subs);
	free(c);
}

IDMEFV2_EXPORT void idmefv2_mapping_set_log_cb(idmefv2_mapping *mapping, idmefv2_log_cb cb, void *user_data)
{
	if (!mapping)
		return;
	mapping->log_cb = cb;
	mapping->log_data = user_data;
}

void idmefv2__mapping_log(idmefv2_log_level level, const char *fmt, ...)
{
	const idmefv2_mapping *m = applying;
	char buf[1024];
	va_list ap;

	if (!m || !m->log_cb)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	m->log_cb(level, buf, m->log_data);
}

IDMEFV2_EXPORT void idmefv2_mapping_free(idmefv2_mapping *mapping)
{
	if (!mapping)
		return;
	node_free(mapping->root);
	cond_free(mapping->filter);
	idmefv2__proj_free(mapping->proj);
	free(mapping->name);
	free(mapping);
}

IDMEFV2_EXPORT const char *idmefv2_mapping_get_name(const idmefv2_mapping *mapping)
{
	return mapping ? mapping->name : NULL;
}

/* ---- projection: the input members a mapping reads ------------------------------------ */

/* 1: the node reads the whole input (a "$" path, or one starting with an index or wildcard). */
static int project_node(idmefv2__proj *proj, const struct node *n, idmefv2_error *err)
{
	if (!n)
		return 0;
	if (n->kind == NODE_PATH) {
		const char *names[32];
		bool more;
		size_t k = idmefv2__jsonpath_names(n->path, names, 32, &more);

		if (k == 0 || k > 32)
			return 1;
		*err = idmefv2__proj_add(proj, names, k);
		return 0;
	}
	for (size_t i = 0; i < n->nchildren && !*err; i++)
		if (project_node(proj, n->children[i], err))
			return 1;
	return 0;
}

static int project_cond(idmefv2__proj *proj, const struct cond *c, idmefv2_error *err)
{
	if (!c)
		return 0;
	if (project_node(proj, c->a, err) || project_node(proj, c->b, err))
		return 1;
	for (size_t i = 0; i < c->nsubs && !*err; i++)
		if (project_cond(proj, c->subs[i], err))
			return 1;
	return 0;
}

static idmefv2_error project_mapping(idmefv2_mapping *m)
{
	idmefv2_error err = IDMEFV2_OK;

	m->proj = idmefv2__proj_new();
	if (!m->proj)
		return IDMEFV2_ERR_NOMEM;
	if (project_node(m->proj, m->root, &err) || project_cond(m->proj, m->filter, &err) || err) {
		idmefv2__proj_free(m->proj);
		m->proj = NULL;
	}
	return err;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_mapping_compile_json(const char *name,
                                                          struct json_object *tmpl,
                                                          idmefv2_mapping **ret_mapping,
                                                          char *errstr, size_t errstr_size)
{
	struct compiler c = { .name = name ? name : "(unnamed)", .errstr = errstr,
	                      .errstr_size = errstr_size };
	idmefv2_mapping *m = NULL;
	struct json_object *filter = NULL;
	idmefv2_error err;

	if (!ret_mapping)
		return IDMEFV2_ERR_INVALID_ARG;
	if (!json_object_is_type(tmpl, json_type_object))
		return fail(&c, IDMEFV2_ERR_NOT_OBJECT, "", "a template must be a JSON object");
	json_object_object_foreach(tmpl, key, val) {
		(void)val;
		if (key[0] == '$' && strcmp(key, "$filter") != 0) {
			char *p = pointer_append("", key);

			err = fail(&c, IDMEFV2_ERR_INVALID_ARG, p ? p : "", "unknown directive \"%s\"", key);
			free(p);
			return err;
		}
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return IDMEFV2_ERR_NOMEM;
	m->name = strdup(c.name);
	if (!m->name) {
		err = IDMEFV2_ERR_NOMEM;
		goto out;
	}
	err = compile_container(&c, tmpl, "", true, &m->root);
	if (err)
		goto out;
	if (json_object_object_get_ex(tmpl, "$filter", &filter))
		err = compile_cond(&c, filter, "/$filter", &m->filter);
	if (!err)
		err = project_mapping(m);
out:
	if (err) {
		idmefv2_mapping_free(m);
		return err;
	}
	*ret_mapping = m;
	return IDMEFV2_OK;
}

const idmefv2__proj *idmefv2__mapping_projection(const idmefv2_mapping *m)
{
	return m->proj;
}

/*
 * A template is a regular file of at most IDMEFV2_MAPPING_FILE_MAX bytes:
 * opening a FIFO would block until a writer came, and /dev/zero would be
 * read until memory ran out (O_NONBLOCK only for the open; it does nothing
 * to a regular file). Links are followed: templates are often linked into
 * place. @return the stream, or NULL with a reason in @p errstr.
 */
static FILE *template_open(const char *path, char *errstr, size_t errstr_size)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	const char *why = NULL;
	char size_why[96];
	FILE *f;

	if (fd < 0 || fstat(fd, &st) != 0) {
		why = strerror(errno);
	} else if (!S_ISREG(st.st_mode)) {
		why = "not a regular file";
	} else if ((uintmax_t)st.st_size > IDMEFV2_MAPPING_FILE_MAX) {
		snprintf(size_why, sizeof(size_why), "%jd bytes, over the limit of %u", (intmax_t)st.st_size,
		         IDMEFV2_MAPPING_FILE_MAX);
		why = size_why;
	}
	f = why ? NULL : fdopen(fd, "r");
	if (!f) {
		if (errstr && errstr_size)
			snprintf(errstr, errstr_size, "template %s: %s", path, why ? why : strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	return f;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_mapping_load_file(const char *path,
                                                       idmefv2_mapping **ret_mapping,
                                                       char *errstr, size_t errstr_size)
{
	struct json_object *tmpl = NULL;
	char *text = NULL;
	size_t len = 0;
	char why[256] = "";
	FILE *f;
	idmefv2_error err;

	if (!path || !ret_mapping)
		return IDMEFV2_ERR_INVALID_ARG;
	f = template_open(path, errstr, errstr_size);
	if (!f)
		return IDMEFV2_ERR_IO;
	{
		FILE *mem = open_memstream(&text, &len);
		char buf[8192];
		size_t n, total = 0;

		if (!mem) {
			fclose(f);
			return IDMEFV2_ERR_NOMEM;
		}
		/* Bounded again while reading: the file may grow after fstat(). */
		while (total <= IDMEFV2_MAPPING_FILE_MAX && (n = fread(buf, 1, sizeof(buf), f)) > 0) {
			fwrite(buf, 1, n, mem);
			total += n;
		}
		err = ferror(f) || total > IDMEFV2_MAPPING_FILE_MAX ? IDMEFV2_ERR_IO : IDMEFV2_OK;
		if (fclose(mem) != 0 && !err)
			err = IDMEFV2_ERR_NOMEM;
	}
	fclose(f);
	if (err) {
		if (errstr && errstr_size)
			snprintf(errstr, errstr_size, "template %s: %s", path,
			         err == IDMEFV2_ERR_NOMEM          ? "out of memory" :
			         len > IDMEFV2_MAPPING_FILE_MAX ? "grew over the size limit while read" :
			                                          "read error");
		goto out;
	}
	err = idmefv2_json_parse(text, len, &tmpl, why, sizeof(why));
	if (err) {
		if (errstr && errstr_size)
			snprintf(errstr, errstr_size, "template %s: %s", path, why);
		goto out;
	}
	err = idmefv2_mapping_compile_json(path, tmpl, ret_mapping, errstr, errstr_size);
out:
	json_object_put(tmpl);
	free(text);
	return err;
}

/* ---- application ------------------------------------------------------------------------ */

struct applier {
	const idmefv2_mapping *m;
	struct json_object *input;
	char *errstr;
	size_t errstr_size;
};

static idmefv2_error apply_fail(const struct applier *a, idmefv2_error err, const char *pointer,
                                const char *reason)
{
	if (a->errstr && a->errstr_size)
		snprintf(a->errstr, a->errstr_size, "template %s: %s: %s", a->m->name,
		         *pointer ? pointer : "/", reason);
	return err;
}

/* *ret: a new reference, or NULL when missing (after the node's policy). */
static idmefv2_error eval(const struct applier *a, const struct node *n, struct json_object **ret);

/*
 * A function argument: literals and path matches are passed as they are
 * (functions take borrowed arguments), which spares a deep copy of lookup
 * tables and input values per call. *owned tells whether *ret is a reference
 * to release.
 */
static idmefv2_error eval_arg(const struct applier *a, const struct node *n, struct json_object **ret,
                              bool *owned)
{
	*owned = false;
	if (n->kind == NODE_LITERAL && n->literal) {
		*ret = n->literal;
		return IDMEFV2_OK;
	}
	if (n->kind == NODE_PATH) {
		struct json_object *hit = idmefv2__jsonpath_eval(n->path, a->input);

		if (hit) {
			*ret = hit;
			*owned = true;
			return IDMEFV2_OK;
		}
		if (n->missing == MISSING_REJECT)
			return apply_fail(a, IDMEFV2_ERR_NOT_FOUND, n->pointer, "required source missing");
		*ret = n->missing == MISSING_DEFAULT ? n->dflt : NULL;
		return IDMEFV2_OK;
	}
	*owned = true;
	return eval(a, n, ret);
}

static idmefv2_error eval(const struct applier *a, const struct node *n, struct json_object **ret)
{
	struct json_object *v = NULL;
	idmefv2_error err = IDMEFV2_OK;

	*ret = NULL;
	switch (n->kind) {
	case NODE_LITERAL:
		if (n->literal && json_object_deep_copy(n->literal, &v, NULL) != 0)
			return IDMEFV2_ERR_NOMEM;
		break;
	case NODE_PATH: {
		/* A copy: the output must not share (and let callers mutate) the input. */
		struct json_object *hit = idmefv2__jsonpath_eval(n->path, a->input);
		int rc = hit ? json_object_deep_copy(hit, &v, NULL) : 0;

		json_object_put(hit);
		if (rc != 0)
			return IDMEFV2_ERR_NOMEM;
		break;
	}
	case NODE_CALL: {
		struct json_object *stackargs[8];
		struct json_object **args = stackargs;
		bool stackowned[8] = { false };
		bool *owned = stackowned;
		char why[256] = "";

		if (n->nchildren > 8) {
			args = calloc(n->nchildren, sizeof(*args));
			owned = calloc(n->nchildren, sizeof(*owned));
			if (!args || !owned) {
				free(args);
				free(owned);
				return IDMEFV2_ERR_NOMEM;
			}
		}
		for (size_t i = 0; i < n->nchildren; i++)
			args[i] = NULL;
		for (size_t i = 0; i < n->nchildren && !err; i++)
			err = eval_arg(a, n->children[i], &args[i], &owned[i]);
		if (!err) {
			err = n->fn->fn(args, n->nchildren, n->fn->userdata, &v, why, sizeof(why));
			if (err) {
				char reason[400];

				snprintf(reason, sizeof(reason), "%s: %s", n->fn->name,
				         why[0] ? why : idmefv2_strerror(err));
				apply_fail(a, err, n->pointer, reason);
				v = NULL;
			}
		}
		for (size_t i = 0; i < n->nchildren; i++)
			if (owned[i])
				json_object_put(args[i]);
		if (args != stackargs) {
			free(args);
			free(owned);
		}
		if (err)
			return err;
		break;
	}
	case NODE_OBJECT:
		v = json_object_new_object();
		if (!v)
			return IDMEFV2_ERR_NOMEM;
		for (size_t i = 0; i < n->nchildren && !err; i++) {
			struct json_object *child;

			err = eval(a, n->children[i], &child);
			/* Template keys are unique within their object, and interned. */
			if (!err && child &&
			    json_object_object_add_ex(v, n->keys[i], child,
			                              JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_KEY_IS_CONSTANT) != 0) {
				json_object_put(child);
				err = IDMEFV2_ERR_NOMEM;
			}
		}
		break;
	case NODE_ARRAY:
		v = json_object_new_array();
		if (!v)
			return IDMEFV2_ERR_NOMEM;
		for (size_t i = 0; i < n->nchildren && !err; i++) {
			struct json_object *child;

			err = eval(a, n->children[i], &child);
			if (!err && child && json_object_array_add(v, child) != 0) {
				json_object_put(child);
				err = IDMEFV2_ERR_NOMEM;
			}
		}
		/* ["$.port"] without a port is missing, not []: IDMEFv2 lists are never empty. */
		if (!err && json_object_array_length(v) == 0) {
			json_object_put(v);
			v = NULL;
		}
		break;
	}
	if (err) {
		json_object_put(v);
		return err;
	}
	if (!v) {
		if (n->missing == MISSING_REJECT)
			return apply_fail(a, IDMEFV2_ERR_NOT_FOUND, n->pointer, "required source missing");
		if (n->missing == MISSING_DEFAULT && json_object_deep_copy(n->dflt, &v, NULL) != 0)
			return IDMEFV2_ERR_NOMEM;
	}
	*ret = v;
	return IDMEFV2_OK;
}

static idmefv2_error cond_eval(const struct applier *a, const struct cond *c, bool *ret)
{
	struct json_object *x = NULL, *y = NULL;
	idmefv2_error err = IDMEFV2_OK;
	bool r = false;

	switch (c->kind) {
	case COND_EQ:
	case COND_NE:
		err = eval(a, c->a, &x);
		if (!err)
			err = eval(a, c->b, &y);
		if (!err)
			r = (!x && !y) || (x && y && json_object_equal(x, y));
		if (c->kind == COND_NE)
			r = !r;
		break;
	case COND_EXISTS:
		err = eval(a, c->a, &x);
		r = x != NULL;
		break;
	case COND_NOT:
		err = cond_eval(a, c->subs[0], &r);
		r = !r;
		break;
	case COND_AND:
		r = true;
		for (size_t i = 0; i < c->nsubs && r && !err; i++)
			err = cond_eval(a, c->subs[i], &r);
		break;
	case COND_OR:
		for (size_t i = 0; i < c->nsubs && !r && !err; i++)
			err = cond_eval(a, c->subs[i], &r);
		break;
	}
	json_object_put(x);
	json_object_put(y);
	*ret = r;
	return err;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_mapping_apply(const idmefv2_mapping *mapping,
                                                   struct json_object *input,
                                                   struct json_object **ret_output,
                                                   char *errstr, size_t errstr_size)
{
	struct applier a = { .m = mapping, .input = input, .errstr = errstr,
	                     .errstr_size = errstr_size };
	struct json_object *out = NULL;
	idmefv2_error err;
	bool pass = true;

	if (!mapping || !ret_output)
		return IDMEFV2_ERR_INVALID_ARG;
	applying = mapping;
	if (mapping->filter) {
		err = cond_eval(&a, mapping->filter, &pass);
		if (err || !pass)
			goto out;
	}
	err = eval(&a, mapping->root, &out);
out:
	applying = NULL;
	if (err)
		return err;
	*ret_output = pass ? out : NULL;
	return IDMEFV2_OK;
}
