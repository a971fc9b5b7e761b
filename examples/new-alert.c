/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Build an IDMEFv2 alert with IDMEF paths, validate it and print it.
 *   cc new-alert.c $(pkg-config --cflags --libs libidmefv2-core)
 */
#include <stdio.h>

#include <idmefv2/idmefv2.h>

int main(void)
{
	static const struct { const char *path, *value; } fields[] = {
		{ "Description", "SSH brute force from 203.0.113.5" },
		{ "Priority", "Medium" },
		{ "Category(>>)", "Access.Forced" },
		{ "Analyzer.Name", "sshguard" },
		{ "Analyzer.IP", "192.0.2.1" },
		{ "Analyzer.Category(>>)", "END.HIDS" },
		{ "Source(>>).IP", "203.0.113.5" },
	};
	idmefv2_message *msg = NULL;
	idmefv2_report *report = NULL;
	char err[512], id[IDMEFV2_UUID_STRLEN];
	const char *json;
	size_t len;
	int status = 1;

	if (idmefv2_message_new(NULL, &msg, err, sizeof(err)) != IDMEFV2_OK)
		goto out;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (idmefv2_message_set_string(msg, fields[i].path, fields[i].value, err, sizeof(err)) != IDMEFV2_OK)
			goto out;
	/* Source entries need their own ID in 2.D.V08. */
	idmefv2_uuid_new(id, sizeof(id));
	if (idmefv2_message_set_string(msg, "Source(-1).ID", id, err, sizeof(err)) != IDMEFV2_OK ||
	    idmefv2_message_set_int(msg, "Source(-1).Port(>>)", 22, err, sizeof(err)) != IDMEFV2_OK)
		goto out;

	if (idmefv2_message_serialize(msg, "application/json", IDMEFV2_SERIALIZE_PRETTY, &json, &len, &report,
	                              err, sizeof(err)) != IDMEFV2_OK) {
		for (size_t i = 0; report && i < idmefv2_report_count(report); i++)
			fprintf(stderr, "%s: %s\n", idmefv2_report_instance_path(report, i),
			        idmefv2_report_message(report, i));
		goto out;
	}
	printf("%s\n", json);
	status = 0;
out:
	if (status && *err)
		fprintf(stderr, "new-alert: %s\n", err);
	idmefv2_report_free(report);
	idmefv2_message_unref(msg);
	return status;
}
