/* SPDX-License-Identifier: Apache-2.0 */
/* The message object: life cycle and validation against its Version's schema. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include <idmefv2/message.h>
#include <idmefv2/schema.h>
#include <idmefv2/util.h>

#include "message-private.h"

void idmefv2__message_version_error(char *errstr, size_t errstr_size, const char *prefix)
{
	const char *const *v = idmefv2_schema_versions();
	size_t off;
	int n;

	if (!errstr || !errstr_size)
		return;
	n = snprintf(errstr, errstr_size, "%s; known:", prefix);
	off = n < 0 ? 0 : (size_t)n;
	for (size_t i = 0; v[i] && off < errstr_size; i++) {
		n = snprintf(errstr + off, errstr_size - off, "%s \"%s\"", i ? "," : "", v[i]);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

const char *idmefv2__message_json_kind(struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return "a boolean";
	case json_type_int:
	case json_type_double:
		return "a number";
	case json_type_string:
		return "a string";
	case json_type_array:
		return "an array";
	case json_type_object:
		return "an object";
	}
	return "a value";
}

idmefv2_message *idmefv2__message_wrap(struct json_object *obj)
{
	idmefv2_message *msg;

	if (!obj)
		return NULL;
	msg = malloc(sizeof(*msg));
	if (!msg) {
		json_object_put(obj);
		return NULL;
	}
	atomic_init(&msg->refcount, 1);
	msg->obj = obj;
	return msg;
}

static int add_string(struct json_object *obj, const char *key, const char *value)
{
	struct json_object *s = json_object_new_string(value);

	if (!s)
		return -1;
	if (json_object_object_add_ex(obj, key, s, JSON_C_OBJECT_ADD_KEY_IS_NEW) < 0) {
		json_object_put(s);
		return -1;
	}
	return 0;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_message_new(const char *version, idmefv2_message **ret_msg,
                                                 char *errstr, size_t errstr_size)
{
	char id[IDMEFV2_UUID_STRLEN], now[IDMEFV2_TIME_STRLEN];
	struct json_object *obj;
	idmefv2_message *msg;
	idmefv2_error err;

	if (!ret_msg) {
		idmefv2__message_error(errstr, errstr_size, "ret_msg is NULL");
		return IDMEFV2_ERR_INVALID_ARG;
	}
	if (!version)
		version = IDMEFV2_VERSION_LATEST;
	if (!idmefv2_schema_builtin_text(version, NULL)) {
		char prefix[96];

		snprintf(prefix, sizeof(prefix), "unknown IDMEFv2 Version \"%.48s\"", version);
		idmefv2__message_version_error(errstr, errstr_size, prefix);
		return IDMEFV2_ERR_VERSION;
	}
	err = idmefv2_uuid_new(id, sizeof(id));
	if (err) {
		idmefv2__message_error(errstr, errstr_size, "cannot generate an ID: %s", idmefv2_strerror(err));
		return err;
	}
	err = idmefv2_time_now(now, sizeof(now));
	if (err) {
		idmefv2__message_error(errstr, errstr_size, "cannot format CreateTime: %s", idmefv2_strerror(err));
		return err;
	}
	obj = json_object_new_object();
	if (!obj)
		goto nomem;
	if (add_string(obj, "Version", version) < 0 || add_string(obj, "ID", id) < 0 ||
	    add_string(obj, "CreateTime", now) < 0) {
		json_object_put(obj);
		goto nomem;
	}
	msg = idmefv2__message_wrap(obj);
	if (!msg)
		goto nomem;
	*ret_msg = msg;
	return IDMEFV2_OK;

nomem:
	idmefv2__message_error(errstr, errstr_size, "out of memory");
	return IDMEFV2_ERR_NOMEM;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_message_new_from_json(const char *text, size_t len,
                                                           idmefv2_message **ret_msg,
                                                           char *errstr, size_t errstr_size)
{
	struct json_object *obj = NULL;
	idmefv2_message *msg;
	idmefv2_error err;

	if ((!text && len) || !ret_msg) {
		idmefv2__message_error(errstr, errstr_size, "%s is NULL", ret_msg ? "text" : "ret_msg");
		return IDMEFV2_ERR_INVALID_ARG;
	}
	err = idmefv2__json_parse(text ? text : "", len, &obj, errstr, errstr_size);
	if (err)
		return err;
	if (!json_object_is_type(obj, json_type_object)) {
		idmefv2__message_error(errstr, errstr_size, "the JSON text is %s, not an object",
		                       idmefv2__message_json_kind(obj));
		json_object_put(obj);
		return IDMEFV2_ERR_NOT_OBJECT;
	}
	msg = idmefv2__message_wrap(obj);
	if (!msg) {
		idmefv2__message_error(errstr, errstr_size, "out of memory");
		return IDMEFV2_ERR_NOMEM;
	}
	*ret_msg = msg;
	return IDMEFV2_OK;
}

IDMEFV2_EXPORT idmefv2_message *idmefv2_message_new_from_object(struct json_object *obj)
{
	if (!json_object_is_type(obj, json_type_object))
		return NULL;
	return idmefv2__message_wrap(json_object_get(obj));
}

IDMEFV2_EXPORT idmefv2_message *idmefv2_message_ref(idmefv2_message *msg)
{
	if (msg)
		atomic_fetch_add_explicit(&msg->refcount, 1, memory_order_relaxed);
	return msg;
}

IDMEFV2_EXPORT void idmefv2_message_unref(idmefv2_message *msg)
{
	if (!msg)
		return;
	/* acq_rel: the last owner must see every other owner's writes before freeing. */
	if (atomic_fetch_sub_explicit(&msg->refcount, 1, memory_order_acq_rel) != 1)
		return;
	json_object_put(msg->obj);
	free(msg);
}

IDMEFV2_EXPORT struct json_object *idmefv2_message_get_object(const idmefv2_message *msg)
{
	return msg ? msg->obj : NULL;
}

IDMEFV2_EXPORT const char *idmefv2_message_get_version(const idmefv2_message *msg)
{
	struct json_object *v;

	if (!msg || !json_object_object_get_ex(msg->obj, "Version", &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static void invalid_error(const idmefv2_report *report, bool counted, const char *version,
                          char *errstr, size_t errstr_size)
{
	size_t n = report ? idmefv2_report_count(report) : 0;
	const char *where;
	char count[48] = "";

	if (n == 0) {
		idmefv2__message_error(errstr, errstr_size, "not valid against IDMEFv2 %s", version);
		return;
	}
	if (counted)
		snprintf(count, sizeof(count), " (%zu error%s)", n, n == 1 ? "" : "s");
	where = idmefv2_report_instance_path(report, 0);
	idmefv2__message_error(errstr, errstr_size, "not valid against IDMEFv2 %s%s: %s: %s", version, count,
	                       where && *where ? where : "/", idmefv2_report_message(report, 0));
}

IDMEFV2_EXPORT idmefv2_error idmefv2_message_validate(const idmefv2_message *msg, unsigned flags,
                                                      idmefv2_report **ret_report,
                                                      char *errstr, size_t errstr_size)
{
	const idmefv2_schema *schema;
	idmefv2_report *report = NULL;
	const char *version;
	idmefv2_error err = IDMEFV2_OK;

	if (!msg) {
		idmefv2__message_error(errstr, errstr_size, "msg is NULL");
		return IDMEFV2_ERR_INVALID_ARG;
	}
	version = idmefv2_message_get_version(msg);
	schema = idmefv2_schema_for_version(version, &err, errstr, errstr_size);
	if (!schema)
		return err ? err : IDMEFV2_ERR_VERSION;
	flags &= ~(unsigned)IDMEFV2__SERIALIZE_MASK;
	/*
	 * A report costs nothing on valid messages and gives errstr its first
	 * failure; when the caller wants no report, that first one is enough.
	 */
	if (!ret_report)
		flags |= IDMEFV2_VALIDATE_FIRST_ERROR;
	err = idmefv2_schema_validate(schema, msg->obj, flags,
	                              ret_report || (errstr && errstr_size) ? &report : NULL);
	if (err == IDMEFV2_ERR_INVALID)
		invalid_error(report, !(flags & IDMEFV2_VALIDATE_FIRST_ERROR), version, errstr, errstr_size);
	else if (err)
		idmefv2__message_error(errstr, errstr_size, "validation failed: %s", idmefv2_strerror(err));
	if (ret_report && report)
		*ret_report = report;
	else
		idmefv2_report_free(report);
	return err;
}
