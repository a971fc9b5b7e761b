/* SPDX-License-Identifier: Apache-2.0 */
/* idmefv2 new: build a message from the command line and print it as JSON. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <idmefv2/message.h>
#include <idmefv2/schema.h>
#include <idmefv2/util.h>

#include <json-c/json.h>

#include "idmefv2-tool.h"

#define CMD "new"

const char tool__new_help[] =
	"Usage: idmefv2 new [--version V] [--set PATH=VALUE]... [--pretty] [--no-validate]\n"
	"\n"
	"Build a new IDMEFv2 message with a fresh ID and CreateTime, set each PATH to\n"
	"VALUE, validate it against the schema of its Version and print it as JSON\n"
	"(application/json) on standard output.\n"
	"\n"
	"PATH is an IDMEF path: Attribute, Class.Attribute, with list indexes such as\n"
	"Source(0).IP, Attachment(1).Hash(0), Category(-1) (from the end) or\n"
	"Source(>>).IP (a new list entry). VALUE is taken as JSON when it is a number,\n"
	"true, false, an array or an object ('Port=[80,443]', 'Confidence=0.5'), and as\n"
	"a string otherwise; a quoted JSON string ('Note=\"0.5\"') gives the string.\n"
	"\n"
	"Every list entry or object whose class requires an ID in the schema of the\n"
	"Version (Source and Target in 2.D.V08) and did not get one from --set gets a\n"
	"fresh UUID, so 'Source(0).IP=192.0.2.7' alone makes a valid Source.\n"
	"\n"
	"Options:\n"
	"      --version V       the message's Version (default " IDMEFV2_VERSION_LATEST ")\n"
	"      --set PATH=VALUE  set PATH to VALUE; may be repeated, applied in order\n"
	"      --pretty          indent the JSON output\n"
	"      --no-validate     print the message even if it is not valid\n"
	"      --no-auto-id      do not add missing required IDs\n"
	"  -h, --help            show this help and exit\n"
	"\n"
	"When the message is not valid, each failure is printed on standard error as\n"
	"  POINTER: MESSAGE\n"
	"with \"/\" standing for the whole message.\n"
	"\n"
	"Exit status:\n"
	"  0  the message was printed\n"
	"  1  the message is not valid against its schema (nothing printed)\n"
	"  2  usage error: unknown Version, bad PATH or VALUE\n";

enum {
	OPT_VERSION = 256,
	OPT_SET,
	OPT_PRETTY,
	OPT_NO_VALIDATE,
	OPT_NO_AUTO_ID,
};

static const struct option new_options[] = {
	{ "version", required_argument, NULL, OPT_VERSION },
	{ "set", required_argument, NULL, OPT_SET },
	{ "pretty", no_argument, NULL, OPT_PRETTY },
	{ "no-validate", no_argument, NULL, OPT_NO_VALIDATE },
	{ "no-auto-id", no_argument, NULL, OPT_NO_AUTO_ID },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Apply one "PATH=VALUE"; the error names the whole argument. */
static int message_apply(idmefv2_message *msg, const char *spec)
{
	const char *eq = strchr(spec, '=');
	char errstr[512] = "";
	idmefv2_error err;
	char *path;

	if (!eq) {
		tool__error(CMD, "--set %s: expected PATH=VALUE", spec);
		return TOOL_EXIT_USAGE;
	}
	path = strndup(spec, (size_t)(eq - spec));
	if (!path) {
		tool__error(CMD, "--set %s: %s", spec, idmefv2_strerror(IDMEFV2_ERR_NOMEM));
		return TOOL_EXIT_USAGE;
	}
	err = idmefv2_message_set_from_text(msg, path, eq + 1, errstr, sizeof(errstr));
	free(path);
	if (err != IDMEFV2_OK) {
		tool__error(CMD, "--set %s: %s", spec, *errstr ? errstr : idmefv2_strerror(err));
		return TOOL_EXIT_USAGE;
	}
	return TOOL_EXIT_OK;
}

static void report_print(const idmefv2_report *report)
{
	size_t n = idmefv2_report_count(report);

	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "%s: %s\n", tool__pointer_text(idmefv2_report_instance_path(report, i)),
		        idmefv2_report_message(report, i));
}

/* A local "#/definitions/NAME" reference resolved in @doc; @node itself otherwise. */
static struct json_object *deref(struct json_object *doc, struct json_object *node)
{
	struct json_object *ref, *defs, *target;
	const char *r;

	if (!json_object_object_get_ex(node, "$ref", &ref) || !json_object_is_type(ref, json_type_string))
		return node;
	r = json_object_get_string(ref);
	if (strncmp(r, "#/definitions/", 14) == 0 && json_object_object_get_ex(doc, "definitions", &defs) &&
	    json_object_object_get_ex(defs, r + 14, &target))
		return target;
	return node;
}

static bool requires_id(struct json_object *doc, struct json_object *cls)
{
	struct json_object *req;

	cls = deref(doc, cls);
	if (!json_object_object_get_ex(cls, "required", &req) || !json_object_is_type(req, json_type_array))
		return false;
	for (size_t i = 0; i < json_object_array_length(req); i++)
		if (strcmp(json_object_get_string(json_object_array_get_idx(req, i)), "ID") == 0)
			return true;
	return false;
}

static void id_add(struct json_object *obj)
{
	char id[IDMEFV2_UUID_STRLEN];

	if (!json_object_is_type(obj, json_type_object) || json_object_object_get_ex(obj, "ID", NULL))
		return;
	if (idmefv2_uuid_new(id, sizeof(id)) == IDMEFV2_OK)
		json_object_object_add(obj, "ID", json_object_new_string(id));
}

/*
 * Give every object the schema of the message's Version says must have an
 * "ID" (Source and Target entries in 2.D.V08) a fresh UUID if it has none.
 */
static void ids_fill(idmefv2_message *msg)
{
	const idmefv2_schema *schema = idmefv2_schema_for_version(idmefv2_message_get_version(msg), NULL,
	                                                          NULL, 0);
	struct json_object *doc, *props, *cls;

	if (!schema)
		return;
	doc = idmefv2_schema_get_document(schema);
	if (!json_object_object_get_ex(doc, "properties", &props))
		return;
	json_object_object_foreach(idmefv2_message_get_object(msg), key, val) {
		if (!json_object_object_get_ex(props, key, &cls))
			continue;
		cls = deref(doc, cls);
		if (json_object_is_type(val, json_type_array)) {
			struct json_object *items;

			if (!json_object_object_get_ex(cls, "items", &items) || !requires_id(doc, items))
				continue;
			for (size_t i = 0; i < json_object_array_length(val); i++)
				id_add(json_object_array_get_idx(val, i));
		} else if (json_object_is_type(val, json_type_object) && requires_id(doc, cls)) {
			id_add(val);
		}
	}
}

int tool__new_main(int argc, char **argv)
{
	const char *version = NULL;
	const char **sets = NULL;
	size_t n_sets = 0;
	unsigned flags = 0;
	idmefv2_message *msg = NULL;
	idmefv2_report *report = NULL;
	const char *data;
	size_t len;
	char errstr[1024] = "";
	idmefv2_error err;
	int c, status = TOOL_EXIT_USAGE;
	bool auto_id = true;

	/* Every --set is kept in order, so there are at most argc of them. */
	sets = calloc((size_t)argc, sizeof(*sets));
	if (!sets) {
		tool__error(CMD, "%s", idmefv2_strerror(IDMEFV2_ERR_NOMEM));
		return TOOL_EXIT_USAGE;
	}
	while ((c = getopt_long(argc, argv, ":h", new_options, NULL)) != -1) {
		switch (c) {
		case OPT_VERSION: version = optarg; break;
		case OPT_SET: sets[n_sets++] = optarg; break;
		case OPT_PRETTY: flags |= IDMEFV2_SERIALIZE_PRETTY; break;
		case OPT_NO_VALIDATE: flags |= IDMEFV2_SERIALIZE_NO_VALIDATE; break;
		case OPT_NO_AUTO_ID: auto_id = false; break;
		case 'h':
			fputs(tool__new_help, stdout);
			status = TOOL_EXIT_OK;
			goto out;
		default:
			status = tool__bad_option(CMD, c, argv);
			goto out;
		}
	}
	if (optind < argc) {
		tool__error(CMD, "unexpected argument '%s' (values are given with --set PATH=VALUE)",
		            argv[optind]);
		goto out;
	}

	err = idmefv2_message_new(version, &msg, errstr, sizeof(errstr));
	if (err != IDMEFV2_OK) {
		tool__error(CMD, "--version %s: %s", version ? version : IDMEFV2_VERSION_LATEST,
		            *errstr ? errstr : idmefv2_strerror(err));
		goto out;
	}
	for (size_t i = 0; i < n_sets; i++)
		if (message_apply(msg, sets[i]) != TOOL_EXIT_OK)
			goto out;
	if (auto_id)
		ids_fill(msg);

	err = idmefv2_message_serialize(msg, "application/json", flags, &data, &len, &report,
	                                errstr, sizeof(errstr));
	switch (err) {
	case IDMEFV2_OK:
		fwrite(data, 1, len, stdout);
		fputc('\n', stdout);
		status = TOOL_EXIT_OK;
		break;
	case IDMEFV2_ERR_INVALID:
		if (report)
			report_print(report);
		tool__error(CMD, "the message is not valid; --no-validate prints it anyway");
		status = TOOL_EXIT_INVALID;
		break;
	case IDMEFV2_ERR_VERSION:
		/* Only a --set of Version can get here: the message is invalid, not the usage. */
		fprintf(stderr, "/Version: %s\n", *errstr ? errstr : idmefv2_strerror(err));
		status = TOOL_EXIT_INVALID;
		break;
	default:
		tool__error(CMD, "%s", *errstr ? errstr : idmefv2_strerror(err));
		break;
	}
out:
	idmefv2_report_free(report);
	idmefv2_message_unref(msg);
	free(sets);
	return status;
}
