/* SPDX-License-Identifier: Apache-2.0 */
/* Built against the installed libidmefv2-connectors with pkg-config only: one EVE alert through the built-in template. */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include <idmefv2/mapping.h>
#include <idmefv2/pipeline.h>

static idmefv2_error print_description(idmefv2_pipeline *p, struct json_object *out, void *data)
{
	struct json_object *d;

	(void)p;
	(void)data;
	if (!json_object_object_get_ex(out, "Description", &d))
		return IDMEFV2_ERR_NOT_FOUND;
	printf("%s\n", json_object_get_string(d));
	return IDMEFV2_OK;
}

int main(void)
{
	static const char line[] =
		"{\"timestamp\":\"2025-05-12T06:00:00.203698+0000\",\"event_type\":\"alert\",\"src_ip\":\"192.0.2.1\","
		"\"src_port\":4242,\"dest_ip\":\"192.0.2.2\",\"dest_port\":22,\"proto\":\"TCP\",\"alert\":{\"signature\":"
		"\"downstream alert\",\"category\":\"Misc Attack\",\"severity\":2}}";
	idmefv2_mapping *m = NULL;
	idmefv2_pipeline *p = NULL;
	idmefv2_pipeline_counters c;
	char err[512] = "";

	if (idmefv2_mapping_load_tool("suricata", &m, NULL, err, sizeof(err)) != IDMEFV2_OK ||
	    idmefv2_pipeline_new(m, NULL, &p, err, sizeof(err)) != IDMEFV2_OK) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	idmefv2_pipeline_set_output_cb(p, print_description, NULL);
	idmefv2_pipeline_push_line(p, line, strlen(line), "downstream", 1, NULL);
	idmefv2_pipeline_get_counters(p, &c);
	idmefv2_pipeline_free(p);
	idmefv2_mapping_free(m);
	return c.sent == 1 ? 0 : 1;
}
