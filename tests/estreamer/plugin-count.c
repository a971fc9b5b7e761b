/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test plugin: appends a line per event to the file named by
 * ESTREAMER_TEST_PLUGIN_LOG ("init", "record TYPE EVENTID", "fini"), so the
 * test can count what the plugin saw while it was loaded. Its constructor,
 * which runs inside dlopen() before any check of the descriptor, creates the
 * file named by ESTREAMER_TEST_PLUGIN_MARKER: a test asserting that file is
 * absent proves the plugin's code never ran.
 */
#include <stdio.h>
#include <stdlib.h>

#include <estreamer/plugin.h>

static void note(const char *what, const estreamer_record *rec)
{
	const char *path = getenv("ESTREAMER_TEST_PLUGIN_LOG");
	FILE *f;
	json_object *v = NULL;

	if (!path || !(f = fopen(path, "a")))
		return;
	if (rec) {
		json_object_object_get_ex(rec->json, "eventId", &v);
		fprintf(f, "%s %u %lld\n", what, rec->type, v ? (long long)json_object_get_int64(v) : -1LL);
	} else {
		fprintf(f, "%s\n", what);
	}
	fclose(f);
}

__attribute__((constructor)) static void count_constructor(void)
{
	const char *path = getenv("ESTREAMER_TEST_PLUGIN_MARKER");
	FILE *f;

	if (path && *path && (f = fopen(path, "a"))) {
		fputs("constructor ran\n", f);
		fclose(f);
	}
}

static int count_init(void **ret_state)
{
	*ret_state = NULL;
	note("init", NULL);
	return 0;
}

static int count_record(void *state, const estreamer_record *rec)
{
	note("record", rec);
	return 0;
}

static void count_fini(void *state)
{
	note("fini", NULL);
}

ESTREAMER_PLUGIN_DEFINE("counts records into a file", "libestreamer tests", "1.0", count_init,
			count_record, count_fini);
