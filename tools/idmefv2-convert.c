/* SPDX-License-Identifier: Apache-2.0 */
/*
 * idmefv2 convert: native NDJSON alerts through a mapping template into
 * IDMEFv2 NDJSON, the quickest way to try a template.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include <idmefv2/mapping.h>
#include <idmefv2/pipeline.h>
#include <idmefv2/schema.h>

#include "connector-common.h"
#include "idmefv2-tool.h"

#define CMD "convert"

const char tool__convert_help[] =
	"Usage: idmefv2 convert TOOL [--version V] [FILE|-]\n"
	"       idmefv2 convert --template FILE [--version V] [FILE|-]\n"
	"\n"
	"Convert a tool's native alerts into IDMEFv2 messages printed on standard\n"
	"output, one per line: the quickest way to try a connector or a template.\n"
	"TOOL is one of the built-in connectors (clamav, kismet, modsecurity,\n"
	"prometheus, suricata, wazuh, zabbix, zoneminder) or a tool whose template\n"
	"TOOL.json is in $IDMEFV2_TEMPLATE_PATH or /etc/idmefv2/templates; --template\n"
	"names a template file instead. Every output is validated against the official\n"
	"schema of Version V (default " IDMEFV2_VERSION_LATEST ").\n"
	"\n"
	"Input: one JSON alert per line (an EVE or alerts.json log), or one document\n"
	"(a clamd metadata.json, a Kismet all_alerts.json array, a Prometheus\n"
	"/api/v1/alerts response, a Zabbix problem.get reply). With no FILE, or when\n"
	"FILE is -, read standard input. Blank lines are skipped.\n"
	"\n"
	"Malformed lines and invalid outputs are reported on standard error as\n"
	"  FILE:LINE: REASON\n"
	"and a summary ends the run there:\n"
	"  N alerts: N converted, N filtered, N malformed, N invalid\n"
	"\n"
	"Options:\n"
	"  -t, --template FILE  the mapping template (JSON)\n"
	"  -V, --version V      the IDMEFv2 Version outputs are validated against\n"
	"  -h, --help           show this help and exit\n"
	"\n"
	"Exit status: 0 when no alert is malformed or invalid, 1 otherwise, 2 on a usage\n"
	"error, an unloadable template or an unreadable input.\n";

static const struct option convert_options[] = {
	{ "template", required_argument, NULL, 't' },
	{ "version", required_argument, NULL, 'V' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void convert_log(idmefv2_log_level level, const char *message, void *user_data)
{
	(void)level;
	(void)user_data;
	fflush(stdout);
	fprintf(stderr, "%s\n", message);
}

static idmefv2_error convert_output(idmefv2_pipeline *p, struct json_object *output, void *user_data)
{
	const char *text;

	(void)p;
	(void)user_data;
	text = json_object_to_json_string_ext(output, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!text)
		return IDMEFV2_ERR_NOMEM;
	if (fputs(text, stdout) == EOF || fputc('\n', stdout) == EOF)
		return IDMEFV2_ERR_IO;
	return IDMEFV2_OK;
}

int tool__convert_main(int argc, char **argv)
{
	const char *template_path = NULL, *version = NULL, *input_path = "-", *tool = NULL;
	const char *items_path = NULL;
	idmefv2_mapping *mapping = NULL;
	idmefv2_pipeline *p = NULL;
	idmefv2_pipeline_counters ctr;
	char errstr[1024] = "";
	FILE *in = NULL;
	int c, status = TOOL_EXIT_USAGE;

	while ((c = getopt_long(argc, argv, ":t:V:h", convert_options, NULL)) != -1) {
		switch (c) {
		case 't': template_path = optarg; break;
		case 'V': version = optarg; break;
		case 'h':
			fputs(tool__convert_help, stdout);
			status = TOOL_EXIT_OK;
			goto out;
		default:
			status = tool__bad_option(CMD, c, argv);
			goto out;
		}
	}
	if (!template_path) {
		const struct connector_tool *ct;

		if (optind >= argc) {
			tool__error(CMD, "missing TOOL or --template FILE; see 'idmefv2 help convert'");
			goto out;
		}
		tool = argv[optind++];
		ct = tool__connector_find(tool);
		if (ct)
			items_path = ct->items_path;
	}
	if (argc - optind > 1) {
		tool__error(CMD, "at most one input FILE; see 'idmefv2 help convert'");
		goto out;
	}
	if (optind < argc)
		input_path = argv[optind];
	if (tool ? idmefv2_mapping_load_tool(tool, &mapping, NULL, errstr, sizeof(errstr)) != IDMEFV2_OK
	         : idmefv2_mapping_load_file(template_path, &mapping, errstr, sizeof(errstr)) != IDMEFV2_OK) {
		tool__error(CMD, "%s", errstr);
		goto out;
	}
	if (idmefv2_pipeline_new(mapping, version, &p, errstr, sizeof(errstr)) != IDMEFV2_OK) {
		tool__error(CMD, "%s", errstr);
		goto out;
	}
	idmefv2_pipeline_set_log_cb(p, convert_log, NULL);
	idmefv2_pipeline_set_output_cb(p, convert_output, NULL);
	if (strcmp(input_path, "-") == 0) {
		in = stdin;
		input_path = "-";
	} else {
		in = fopen(input_path, "re");
		if (!in) {
			tool__error(CMD, "%s: %s", input_path, strerror(errno));
			goto out;
		}
	}
	if (tool__convert_stream(p, in, input_path, items_path, errstr, sizeof(errstr)) != 0) {
		tool__error(CMD, "%s", errstr);
		goto out;
	}
	if (fflush(stdout) != 0) {
		tool__error(CMD, "standard output: %s", strerror(errno));
		goto out;
	}
	idmefv2_pipeline_get_counters(p, &ctr);
	fprintf(stderr, "%" PRIu64 " alerts: %" PRIu64 " converted, %" PRIu64 " filtered, %" PRIu64
	        " malformed, %" PRIu64 " invalid\n",
	        ctr.read, ctr.converted, ctr.filtered, ctr.malformed, ctr.invalid);
	status = (ctr.malformed || ctr.invalid || ctr.failed) ? TOOL_EXIT_INVALID : TOOL_EXIT_OK;
out:
	if (in && in != stdin)
		fclose(in);
	idmefv2_pipeline_free(p);
	idmefv2_mapping_free(mapping);
	return status;
}
