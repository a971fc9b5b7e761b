/* SPDX-License-Identifier: Apache-2.0 */
#include <idmefv2/common.h>

static const char *const error_strings[] = {
	[IDMEFV2_OK] = "success",
	[IDMEFV2_ERR_INVALID_ARG] = "invalid argument",
	[IDMEFV2_ERR_NOMEM] = "out of memory",
	[IDMEFV2_ERR_PARSE] = "malformed JSON",
	[IDMEFV2_ERR_NOT_OBJECT] = "JSON text is not an object",
	[IDMEFV2_ERR_CONTENT_TYPE] = "unsupported content type",
	[IDMEFV2_ERR_PATH] = "invalid IDMEF path",
	[IDMEFV2_ERR_NOT_FOUND] = "no value at this path",
	[IDMEFV2_ERR_TYPE] = "value has another type",
	[IDMEFV2_ERR_INVALID] = "message is not valid against its schema",
	[IDMEFV2_ERR_VERSION] = "missing or unknown IDMEFv2 Version",
	[IDMEFV2_ERR_SCHEMA] = "invalid JSON schema",
	[IDMEFV2_ERR_IO] = "input/output error",
	[IDMEFV2_ERR_RANGE] = "list index out of range",
	[IDMEFV2_ERR_FULL] = "queue full",
	[IDMEFV2_ERR_CLOSED] = "closed",
	[IDMEFV2_ERR_TIMEOUT] = "timed out",
	[IDMEFV2_ERR_URL] = "malformed URL or unknown scheme",
	[IDMEFV2_ERR_NOT_BUILT] = "backend not built",
	[IDMEFV2_ERR_UNKNOWN_OPTION] = "unknown option",
	[IDMEFV2_ERR_STATE] = "not allowed in this state",
	[IDMEFV2_ERR_TRANSPORT] = "transport failure",
};

IDMEFV2_EXPORT const char *idmefv2_strerror(idmefv2_error err)
{
	if ((unsigned)err >= sizeof(error_strings) / sizeof(error_strings[0]) || !error_strings[err])
		return "unknown error";
	return error_strings[err];
}

IDMEFV2_EXPORT const char *idmefv2_version_string(void)
{
	return IDMEFV2_CORE_VERSION;
}
