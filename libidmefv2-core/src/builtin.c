/* SPDX-License-Identifier: Apache-2.0 */
/* The official schemas embedded in the library, compiled on first use. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <idmefv2/schema.h>

#include "builtin-schemas.h"

/* One slot per embedded schema; compiled lazily under the lock, then
 * read without it (the pointer is published with release semantics). */
static idmefv2_schema *compiled[64];
static pthread_mutex_t compile_lock = PTHREAD_MUTEX_INITIALIZER;

IDMEFV2_EXPORT const char *const *idmefv2_schema_versions(void)
{
	return idmefv2__builtin_versions;
}

/* The last Version looked up: a feed is nearly always of one revision. */
static int last_hit = -1;

static ptrdiff_t builtin_index(const char *version)
{
	int hit;

	if (!version)
		return -1;
	hit = __atomic_load_n(&last_hit, __ATOMIC_RELAXED);
	if (hit >= 0 && strcmp(idmefv2__builtin_schemas[hit].version, version) == 0)
		return hit;
	for (size_t i = 0; i < idmefv2__builtin_schemas_count; i++)
		if (strcmp(idmefv2__builtin_schemas[i].version, version) == 0) {
			__atomic_store_n(&last_hit, (int)i, __ATOMIC_RELAXED);
			return (ptrdiff_t)i;
		}
	return -1;
}

IDMEFV2_EXPORT const char *idmefv2_schema_builtin_text(const char *version, size_t *ret_len)
{
	ptrdiff_t i = builtin_index(version);

	if (i < 0)
		return NULL;
	if (ret_len)
		*ret_len = idmefv2__builtin_schemas[i].len;
	return idmefv2__builtin_schemas[i].text;
}

static void unknown_version(const char *version, char *errstr, size_t errstr_size)
{
	size_t off;

	if (!errstr || !errstr_size)
		return;
	if (version)
		off = (size_t)snprintf(errstr, errstr_size, "unknown IDMEFv2 Version \"%s\"; known:", version);
	else
		off = (size_t)snprintf(errstr, errstr_size, "no IDMEFv2 Version; known:");
	for (size_t i = 0; i < idmefv2__builtin_schemas_count && off < errstr_size; i++)
		off += (size_t)snprintf(errstr + off, errstr_size - off, "%s \"%s\"", i ? "," : "",
		                        idmefv2__builtin_schemas[i].version);
}

IDMEFV2_EXPORT const idmefv2_schema *idmefv2_schema_for_version(const char *version,
                                                                idmefv2_error *ret_err,
                                                                char *errstr, size_t errstr_size)
{
	ptrdiff_t i = builtin_index(version);
	idmefv2_schema *s;
	idmefv2_error err = IDMEFV2_OK;

	if (i < 0 || (size_t)i >= sizeof(compiled) / sizeof(compiled[0])) {
		unknown_version(version, errstr, errstr_size);
		if (ret_err)
			*ret_err = IDMEFV2_ERR_VERSION;
		return NULL;
	}
	s = __atomic_load_n(&compiled[i], __ATOMIC_ACQUIRE);
	if (s)
		return s;

	pthread_mutex_lock(&compile_lock);
	s = compiled[i];
	if (!s) {
		const struct idmefv2__builtin_schema *b = &idmefv2__builtin_schemas[i];
		char base[128];

		snprintf(base, sizeof(base), "urn:idmefv2:schema:%s", b->version);
		err = idmefv2_schema_compile_json(b->text, b->len, base, NULL, &s, errstr, errstr_size);
		if (err == IDMEFV2_OK)
			__atomic_store_n(&compiled[i], s, __ATOMIC_RELEASE);
		else
			s = NULL;
	}
	pthread_mutex_unlock(&compile_lock);
	if (ret_err)
		*ret_err = err;
	return s;
}
