/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include <idmefv2/message.h>
#include <idmefv2/poller.h>

#include "connector-common.h"

/* Sections and keys are those of the Python connectors' sample files. */
const struct connector_tool tool__connectors[] = {
	{ "clamav", "ClamAV scan results (clamd metadata.json)", CONNECTOR_DIRWATCH, "clamav", "tempdir", NULL },
	{ "kismet", "Kismet wireless IDS alerts", CONNECTOR_KISMET, "kismet", "url", NULL },
	{ "modsecurity", "ModSecurity v3 JSON audit log", CONNECTOR_TAIL, "connector", "log_file", NULL },
	{ "prometheus", "Prometheus firing alerts", CONNECTOR_PROMETHEUS, "prometheus", "url", "data.alerts" },
	{ "suricata", "Suricata EVE JSON alerts", CONNECTOR_SURICATA, "suricata", "filename", NULL },
	{ "wazuh", "Wazuh file integrity alerts (alerts.json)", CONNECTOR_TAIL, "wazuh", "logfile", NULL },
	{ "zabbix", "Zabbix problems", CONNECTOR_ZABBIX, "zabbix", "url", "result" },
	{ "zoneminder", "ZoneMinder motion events (zm2json lines)", CONNECTOR_TAIL, "zmjson", "logfile", NULL },
	{ NULL, NULL, CONNECTOR_TAIL, NULL, NULL, NULL },
};

const struct connector_tool *tool__connector_find(const char *name)
{
	for (const struct connector_tool *t = tool__connectors; t->name; t++)
		if (strcmp(t->name, name) == 0)
			return t;
	return NULL;
}

void tool__connector_names(char *buf, size_t size)
{
	size_t off = 0;

	if (!size)
		return;
	buf[0] = '\0';
	for (const struct connector_tool *t = tool__connectors; t->name && off < size; t++)
		off += (size_t)snprintf(buf + off, size - off, "%s%s", off ? ", " : "", t->name);
}

static bool blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return false;
	return true;
}

/* A value read whole: its alerts go to the pipeline one by one. */
static idmefv2_error push_value(idmefv2_pipeline *p, struct json_object *v, const char *items_path,
                                const char *origin, uint64_t line)
{
	struct json_object *items = NULL;
	idmefv2_error err;

	if (items_path && json_object_is_type(v, json_type_object) &&
	    idmefv2_json_get_array(v, items_path, &items) == IDMEFV2_OK)
		v = items;
	if (!json_object_is_type(v, json_type_array))
		return idmefv2_pipeline_push_object(p, v, origin, line, NULL);
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		err = idmefv2_pipeline_push_object(p, json_object_array_get_idx(v, i), origin, line, NULL);
		if (err)
			return err;
	}
	return IDMEFV2_OK;
}

static int fail(char *errstr, size_t errstr_size, const char *origin)
{
	if (errstr && errstr_size)
		snprintf(errstr, errstr_size, "%s: %s", origin, strerror(errno));
	return -1;
}

int tool__convert_stream(idmefv2_pipeline *p, FILE *in, const char *origin, const char *items_path,
                         char *errstr, size_t errstr_size)
{
	char *line = NULL, *doc = NULL;
	size_t cap = 0, doc_len = 0;
	ssize_t n;
	uint64_t lineno = 0, first = 0;
	int rc = -1;
	idmefv2_error err = IDMEFV2_OK;

	while ((n = getline(&line, &cap, in)) != -1) {
		struct json_object *v = NULL;

		lineno++;
		if (blank(line, (size_t)n))
			continue;
		/* Plain NDJSON objects take the pipeline's own (fast) parse. */
		if (first && !items_path && line[strspn(line, " \t")] == '{') {
			err = idmefv2_pipeline_push_line(p, line, (size_t)n, origin, lineno, NULL);
		} else if (idmefv2_json_parse(line, (size_t)n, &v, NULL, 0) == IDMEFV2_OK) {
			err = push_value(p, v, items_path, origin, lineno);
			json_object_put(v);
		} else if (!first) {
			/* The first value spans lines: read the document whole. */
			FILE *mem = open_memstream(&doc, &doc_len);
			char buf[8192];
			size_t got;

			if (!mem)
				goto nomem;
			fwrite(line, 1, (size_t)n, mem);
			while ((got = fread(buf, 1, sizeof(buf), in)) > 0)
				fwrite(buf, 1, got, mem);
			if (fclose(mem) != 0)
				goto nomem;
			if (ferror(in)) {
				fail(errstr, errstr_size, origin);
				goto out;
			}
			if (idmefv2_json_parse(doc, doc_len, &v, NULL, 0) == IDMEFV2_OK) {
				err = push_value(p, v, items_path, origin, lineno);
				json_object_put(v);
			} else {
				/* Not one document either: line by line, each bad line counted and logged. */
				char *s = doc, *end = doc + doc_len;

				for (uint64_t ln = lineno; s < end && !err; ln++) {
					char *nl = memchr(s, '\n', (size_t)(end - s));
					size_t len = nl ? (size_t)(nl - s) : (size_t)(end - s);

					if (!blank(s, len))
						err = idmefv2_pipeline_push_line(p, s, len, origin, ln, NULL);
					s += len + (nl ? 1 : 0);
				}
			}
			first = lineno;
			break;
		} else {
			err = idmefv2_pipeline_push_line(p, line, (size_t)n, origin, lineno, NULL);
		}
		if (!first)
			first = lineno;
		if (err)
			goto nomem;
	}
	if (err)
		goto nomem;
	if (ferror(in)) {
		fail(errstr, errstr_size, origin);
		goto out;
	}
	rc = 0;
	goto out;
nomem:
	if (errstr && errstr_size)
		snprintf(errstr, errstr_size, "%s:%" PRIu64 ": out of memory", origin, lineno);
out:
	free(line);
	free(doc);
	return rc;
}
