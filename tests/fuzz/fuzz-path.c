/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: IDMEF paths (draft-08 §3.3.12) as users write them on the
 * command line (`idmefv2 new --set PATH=VALUE`) and in code. The first byte
 * picks the schema revision whose model names the classes and lists; then
 * each line is one operation on the same message, "OPpath" or "OPpath=value":
 *   g get_string   i get_int   n get_number   b get_bool   v get_value
 *   s set_string   t set_from_text   I set_int   B set_bool   d delete
 *   l list_length  a set_value (a list of the value)
 * so that sets, deletes and reads interact. The message is then serialized
 * (without validation) and validated, which walks whatever the paths built.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include <idmefv2/idmefv2.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_OPS 32

static void path_op(idmefv2_message *msg, char op, const char *path, const char *value)
{
	char err[256];
	const char *s;
	struct json_object *o;
	size_t len;
	int64_t i;
	double d;
	bool b;

	switch (op) {
	case 'g': (void)idmefv2_message_get_string(msg, path, &s, &len, err, sizeof(err)); break;
	case 'i': (void)idmefv2_message_get_int(msg, path, &i, err, sizeof(err)); break;
	case 'n': (void)idmefv2_message_get_number(msg, path, &d, err, sizeof(err)); break;
	case 'b': (void)idmefv2_message_get_bool(msg, path, &b, err, sizeof(err)); break;
	case 's': (void)idmefv2_message_set_string(msg, path, value, err, sizeof(err)); break;
	case 't': (void)idmefv2_message_set_from_text(msg, path, value, err, sizeof(err)); break;
	case 'I': (void)idmefv2_message_set_int(msg, path, strtoll(value, NULL, 10), err, sizeof(err)); break;
	case 'B': (void)idmefv2_message_set_bool(msg, path, *value == '1', err, sizeof(err)); break;
	case 'd': (void)idmefv2_message_delete(msg, path, err, sizeof(err)); break;
	case 'l': (void)idmefv2_message_list_length(msg, path, &len, err, sizeof(err)); break;
	case 'a':
		o = json_object_new_array();
		json_object_array_add(o, json_object_new_string(value));
		(void)idmefv2_message_set_value(msg, path, o, err, sizeof(err));
		break;
	default:
		/* The value is borrowed: serializing it touches every byte. */
		if (idmefv2_message_get_value(msg, path, &o, err, sizeof(err)) == IDMEFV2_OK)
			(void)json_object_to_json_string(o);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *const *versions = idmefv2_schema_versions();
	idmefv2_message *msg = NULL;
	idmefv2_report *report = NULL;
	const char *out;
	size_t nversions = 0, len, ops = 0;
	char err[256], *text, *line, *next;

	if (size == 0)
		return 0;
	while (versions[nversions])
		nversions++;
	if (idmefv2_message_new(versions[data[0] % nversions], &msg, err, sizeof(err)) != IDMEFV2_OK)
		abort();
	/* Paths arrive as C strings: a NUL ends one early, as it would in a real caller. */
	text = malloc(size);
	if (!text)
		abort();
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	for (line = text; line && ops < MAX_OPS; line = next, ops++) {
		char *eq;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (!*line)
			continue;
		eq = strchr(line + 1, '=');
		if (eq)
			*eq = '\0';
		path_op(msg, line[0], line + 1, eq ? eq + 1 : "");
	}
	(void)idmefv2_message_serialize(msg, "application/json", IDMEFV2_SERIALIZE_NO_VALIDATE, &out, &len, NULL,
	                                err, sizeof(err));
	(void)idmefv2_message_validate(msg, 0, &report, err, sizeof(err));
	idmefv2_report_free(report);
	idmefv2_message_unref(msg);
	free(text);
	return 0;
}
