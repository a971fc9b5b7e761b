/* SPDX-License-Identifier: Apache-2.0 */
#ifndef IDMEFV2_MAPPING_PRIVATE_H
#define IDMEFV2_MAPPING_PRIVATE_H

#include <stddef.h>

#include <idmefv2/mapping.h>
#include <idmefv2/transport.h>

struct json_object;

struct idmefv2__mapping_function {
	const char *name;
	size_t min_args;
	size_t max_args;
	idmefv2_mapping_fn fn;
	void *userdata;
};

/* Log through the log callback of the mapping this thread is applying (none: nothing). */
void idmefv2__mapping_log(idmefv2_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The built-in function named @p name, or NULL. */
const struct idmefv2__mapping_function *idmefv2__mapping_builtin_find(const char *name);

/*
 * What a template reads of its input: a tree of member names, each path
 * ending where its whole value is needed (project.c).
 */
typedef struct idmefv2__proj idmefv2__proj;
idmefv2__proj *idmefv2__proj_new(void);
void idmefv2__proj_free(idmefv2__proj *p);
/* Add the path of member names @p names[0..n) (n >= 1), needed whole at its end. */
idmefv2_error idmefv2__proj_add(idmefv2__proj *root, const char *const *names, size_t n);
/*
 * Parse @p text keeping only what @p root names. IDMEFV2_ERR_PARSE means
 * "parse it in full instead" (malformed, or outside what the scanner handles);
 * it never accepts a text the full parser refuses.
 */
idmefv2_error idmefv2__json_project(const char *text, size_t len, const idmefv2__proj *root,
                                    struct json_object **ret_obj);
/* The projection of a compiled mapping, or NULL when it reads its input whole (a "$" path). */
const idmefv2__proj *idmefv2__mapping_projection(const idmefv2_mapping *m);

/* The templates compiled into the library (generated), ended by { NULL, NULL }. */
struct idmefv2__builtin_template {
	const char *name;
	const char *text;
};
extern const struct idmefv2__builtin_template idmefv2__builtin_templates[];

#endif
