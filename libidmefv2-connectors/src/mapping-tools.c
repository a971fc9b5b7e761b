/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Templates by tool name: files first (so that an administrator's copy wins),
 * then the built-in copy compiled into the library.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include <idmefv2/mapping.h>
#include <idmefv2/message.h>

#include "mapping-private.h"

#ifndef IDMEFV2_SYSCONF_TEMPLATE_DIR
#define IDMEFV2_SYSCONF_TEMPLATE_DIR "/etc/idmefv2/templates"
#endif
#ifndef IDMEFV2_DATA_TEMPLATE_DIR
#define IDMEFV2_DATA_TEMPLATE_DIR "/usr/share/idmefv2/templates"
#endif

static const char *const *builtin_names(void)
{
	static const char *names[64];
	static int done;

	/* The table is generated sorted; copying its names needs no lock since every thread writes the same. */
	if (!done) {
		size_t n = 0;

		for (const struct idmefv2__builtin_template *t = idmefv2__builtin_templates;
		     t->name && n + 1 < sizeof(names) / sizeof(names[0]); t++)
			names[n++] = t->name;
		names[n] = NULL;
		done = 1;
	}
	return names;
}

IDMEFV2_EXPORT const char *const *idmefv2_mapping_builtin_tools(void)
{
	return builtin_names();
}

static bool tool_name_ok(const char *tool)
{
	if (!*tool || strlen(tool) > 64)
		return false;
	for (const char *c = tool; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '-'))
			return false;
	return true;
}

/* 1: loaded (or failed to compile: *err set), 0: no such file. */
static int try_dir(const char *dir, size_t dir_len, const char *tool, idmefv2_mapping **ret_mapping,
                   char **ret_origin, idmefv2_error *err, char *errstr, size_t errstr_size)
{
	char *path = NULL;
	int fd;

	if (dir_len == 0)
		return 0;
	if (asprintf(&path, "%.*s/%s.json", (int)dir_len, dir, tool) < 0) {
		*err = IDMEFV2_ERR_NOMEM;
		return 1;
	}
	/* O_NONBLOCK: a FIFO in the way must not block the probe (load_file() then refuses it). */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		/* A file that exists but cannot be read is an error, not a reason to fall back silently. */
		if (errno != ENOENT && errno != ENOTDIR) {
			if (errstr && errstr_size)
				snprintf(errstr, errstr_size, "template %s: %s", path, strerror(errno));
			*err = IDMEFV2_ERR_IO;
			free(path);
			return 1;
		}
		free(path);
		return 0;
	}
	close(fd);
	*err = idmefv2_mapping_load_file(path, ret_mapping, errstr, errstr_size);
	if (*err == IDMEFV2_OK && ret_origin) {
		*ret_origin = path;
		path = NULL;
	}
	free(path);
	return 1;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_mapping_load_tool(const char *tool, idmefv2_mapping **ret_mapping,
                                                       char **ret_origin,
                                                       char *errstr, size_t errstr_size)
{
	const char *env = getenv("IDMEFV2_TEMPLATE_PATH");
	const char *dirs[] = { IDMEFV2_SYSCONF_TEMPLATE_DIR, IDMEFV2_DATA_TEMPLATE_DIR };
	idmefv2_error err = IDMEFV2_OK;

	if (!tool || !ret_mapping)
		return IDMEFV2_ERR_INVALID_ARG;
	if (ret_origin)
		*ret_origin = NULL;
	if (!tool_name_ok(tool)) {
		if (errstr && errstr_size)
			snprintf(errstr, errstr_size, "'%s' is not a tool name (letters a-z, digits, '_', '-')",
			         tool);
		return IDMEFV2_ERR_INVALID_ARG;
	}
	for (const char *p = env; p && *p;) {
		size_t len = strcspn(p, ":");

		if (try_dir(p, len, tool, ret_mapping, ret_origin, &err, errstr, errstr_size))
			return err;
		p += len;
		if (*p == ':')
			p++;
	}
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (try_dir(dirs[i], strlen(dirs[i]), tool, ret_mapping, ret_origin, &err, errstr, errstr_size))
			return err;
	for (const struct idmefv2__builtin_template *t = idmefv2__builtin_templates; t->name; t++) {
		struct json_object *tmpl = NULL;
		char why[256] = "";
		char name[96];

		if (strcmp(t->name, tool) != 0)
			continue;
		snprintf(name, sizeof(name), "built-in %s", tool);
		err = idmefv2_json_parse(t->text, strlen(t->text), &tmpl, why, sizeof(why));
		if (err) {
			if (errstr && errstr_size)
				snprintf(errstr, errstr_size, "template %s: %s", name, why);
			return err;
		}
		err = idmefv2_mapping_compile_json(name, tmpl, ret_mapping, errstr, errstr_size);
		json_object_put(tmpl);
		if (err == IDMEFV2_OK && ret_origin) {
			*ret_origin = strdup("built-in");
			if (!*ret_origin) {
				idmefv2_mapping_free(*ret_mapping);
				*ret_mapping = NULL;
				return IDMEFV2_ERR_NOMEM;
			}
		}
		return err;
	}
	if (errstr && errstr_size) {
		size_t off = (size_t)snprintf(errstr, errstr_size, "no template for '%s' (built-in:", tool);

		for (const char *const *n = builtin_names(); *n && off < errstr_size; n++)
			off += (size_t)snprintf(errstr + off, errstr_size - off, " %s", *n);
		if (off < errstr_size)
			snprintf(errstr + off, errstr_size - off, ")");
	}
	return IDMEFV2_ERR_NOT_FOUND;
}
