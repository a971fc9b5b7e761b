/* SPDX-License-Identifier: Apache-2.0 */
#ifndef IDMEFV2_MAPPING_PRIVATE_H
#define IDMEFV2_MAPPING_PRIVATE_H

#include <stddef.h>

#include <idmefv2/mapping.h>

struct idmefv2__mapping_function {
	const char *name;
	size_t min_args;
	size_t max_args;
	idmefv2_mapping_fn fn;
	void *userdata;
};

/* The built-in function named @p name, or NULL. */
const struct idmefv2__mapping_function *idmefv2__mapping_builtin_find(const char *name);

/* The templates compiled into the library (generated), ended by { NULL, NULL }. */
struct idmefv2__builtin_template {
	const char *name;
	const char *text;
};
extern const struct idmefv2__builtin_template idmefv2__builtin_templates[];

#endif
