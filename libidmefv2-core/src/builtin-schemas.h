/* SPDX-License-Identifier: Apache-2.0 */
/* The official schemas, embedded at build time (scripts/embed-schemas.py). */
#ifndef IDMEFV2_BUILTIN_SCHEMAS_H
#define IDMEFV2_BUILTIN_SCHEMAS_H

#include <stddef.h>

struct idmefv2__builtin_schema {
	const char *version; /* the schema's own Version enum value */
	const char *text;    /* NUL-terminated */
	size_t len;          /* without the NUL */
};

/* Oldest revision first. */
extern const struct idmefv2__builtin_schema idmefv2__builtin_schemas[];
extern const size_t idmefv2__builtin_schemas_count;
/* The same versions, NULL-terminated. */
extern const char *const idmefv2__builtin_versions[];

#endif
