/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: arbitrary bytes through unserialize + validate (every
 * error collected), and on success through path access and serialize.
 * Crashes, hangs, leaks and sanitizer reports are the failures.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <idmefv2/idmefv2.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	idmefv2_message *msg = NULL;
	idmefv2_report *report = NULL;
	char err[256];
	idmefv2_error rc;

	rc = idmefv2_message_unserialize("application/json", (const char *)data, size, 0, &msg, &report,
	                                 err, sizeof(err));
	if (report) {
		for (size_t i = 0; i < idmefv2_report_count(report); i++) {
			/* Touch every string so that a bad pointer is caught. */
			if (strlen(idmefv2_report_instance_path(report, i)) +
			        strlen(idmefv2_report_schema_path(report, i)) +
			        strlen(idmefv2_report_keyword(report, i)) + strlen(idmefv2_report_message(report, i)) ==
			    (size_t)-1)
				__builtin_trap();
		}
		idmefv2_report_free(report);
		report = NULL;
	}
	if (rc == IDMEFV2_OK) {
		const char *out;
		size_t len;
		const char *s;

		(void)idmefv2_message_get_string(msg, "Source(-1).IP", &s, &len, err, sizeof(err));
		(void)idmefv2_message_set_string(msg, "Target(>>).Hostname", "h", err, sizeof(err));
		if (idmefv2_message_serialize(msg, "application/json", IDMEFV2_SERIALIZE_NO_VALIDATE, &out, &len,
		                              NULL, err, sizeof(err)) != IDMEFV2_OK)
			__builtin_trap();
		idmefv2_message_unref(msg);
	}

	/* The same bytes without validation must parse or fail the same way. */
	rc = idmefv2_message_new_from_json((const char *)data, size, &msg, err, sizeof(err));
	if (rc == IDMEFV2_OK) {
		(void)idmefv2_message_validate(msg, IDMEFV2_VALIDATE_FIRST_ERROR, &report, err, sizeof(err));
		idmefv2_report_free(report);
		idmefv2_message_unref(msg);
	}
	return 0;
}
