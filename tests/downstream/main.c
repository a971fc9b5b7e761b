/* A downstream program: built against the installed tree with nothing but
 * `pkg-config --cflags --libs libidmefv2-core`. */
#include <stdio.h>
#include <string.h>

#include <idmefv2/idmefv2.h>

int main(void)
{
	static const char good[] =
		"{\"Version\":\"2.D.V08\",\"ID\":\"7c33f6f2-7c3d-4b6e-9a55-9c3f5f3c2f10\","
		"\"CreateTime\":\"2026-11-22T10:00:00Z\",\"Analyzer\":{\"Name\":\"downstream\","
		"\"IP\":\"127.0.0.1\",\"Model\":\"m\",\"Category\":[\"NET.NIDS\"],\"Data\":[\"Network\"],"
		"\"Method\":[\"Signature\"]}}";
	idmefv2_message *msg = NULL;
	idmefv2_report *report = NULL;
	char err[512];
	idmefv2_error rc;

	rc = idmefv2_message_unserialize("application/json", good, strlen(good), 0, &msg, &report,
	                                 err, sizeof(err));
	if (rc != IDMEFV2_OK) {
		fprintf(stderr, "unserialize: %s: %s\n", idmefv2_strerror(rc), err);
		return 1;
	}
	if (idmefv2_message_set_string(msg, "Source(0).IP", "10.0.0.300", err, sizeof(err)) != IDMEFV2_OK ||
	    idmefv2_message_set_string(msg, "Source(0).ID", "7c33f6f2-7c3d-4b6e-9a55-9c3f5f3c2f11", err,
	                               sizeof(err)) != IDMEFV2_OK) {
		fprintf(stderr, "set: %s\n", err);
		return 1;
	}
	rc = idmefv2_message_validate(msg, 0, &report, err, sizeof(err));
	if (rc != IDMEFV2_ERR_INVALID || idmefv2_report_count(report) != 1) {
		fprintf(stderr, "expected exactly one failure, got %s\n", idmefv2_strerror(rc));
		return 1;
	}
	printf("%s: %s\n", idmefv2_report_instance_path(report, 0), idmefv2_report_message(report, 0));
	idmefv2_report_free(report);
	idmefv2_message_unref(msg);
	printf("libidmefv2-core %s ok\n", idmefv2_version_string());
	return 0;
}
