/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What idmefv2-connector and `idmefv2 convert TOOL` share: the table of
 * connectors and the reading of a file of native alerts.
 */
#ifndef IDMEFV2_CONNECTOR_COMMON_H
#define IDMEFV2_CONNECTOR_COMMON_H

#include <stdbool.h>
#include <stdio.h>

#include <idmefv2/pipeline.h>

/* How a connector receives its tool's alerts. */
typedef enum connector_input {
	CONNECTOR_TAIL,       /* a log file of one JSON object per line */
	CONNECTOR_SURICATA,   /* a tailed EVE file, or a Unix stream socket Suricata writes to */
	CONNECTOR_DIRWATCH,   /* metadata.json files closed anywhere in a tree */
	CONNECTOR_PROMETHEUS, /* polls /api/v1/alerts */
	CONNECTOR_KISMET,     /* polls all_alerts.json with Basic auth */
	CONNECTOR_ZABBIX,     /* polls problem.get over JSON-RPC, or receives the push webhook */
} connector_input;

struct connector_tool {
	const char *name;
	const char *title;        /* "Suricata EVE JSON alerts" */
	connector_input input;
	const char *section;      /* the INI section of the tool's own keys */
	const char *path_key;     /* its key naming the file, directory or URL */
	const char *items_path;   /* in a document (a poller's response), where the alerts are; NULL: the document */
};

extern const struct connector_tool tool__connectors[];

/* The connector named @p name, or NULL. */
const struct connector_tool *tool__connector_find(const char *name);

/* "clamav, kismet, ..." into @p buf. */
void tool__connector_names(char *buf, size_t size);

/*
 * Push every native alert of @p in into @p p. One JSON value per line, or a
 * whole document when the first value spans several lines (a pretty-printed
 * metadata.json, an API response). A value that is an array gives each of its
 * elements; with @p items_path, a value holding an array there gives that
 * array's elements. Malformed lines are counted by the pipeline and skipped.
 * @return 0, or -1 on a read error or no memory (with a reason in errstr)
 */
int tool__convert_stream(idmefv2_pipeline *p, FILE *in, const char *origin, const char *items_path,
                         char *errstr, size_t errstr_size);

#endif
