/* SPDX-License-Identifier: Apache-2.0 */
/* mozdef-send: build one MozDef event from the command line and deliver it over
 * HTTP(S), syslog or SQS. Exit status: 0 delivered, 1 not delivered, 2 usage or
 * invalid event. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include <mozdef/mozdef.h>

#define EXIT_NOT_DELIVERED 1
#define EXIT_USAGE 2

static const char *progname = "mozdef-send";

enum {
	OPT_URL = 256,
	OPT_SUMMARY,
	OPT_TAG,
	OPT_DETAIL,
	OPT_DETAILS_JSON,
	OPT_SEVERITY,
	OPT_CATEGORY,
	OPT_SOURCE,
	OPT_HOSTNAME,
	OPT_PROCESSNAME,
	OPT_TIMESTAMP,
	OPT_SYSLOG,
	OPT_ONLY_SYSLOG,
	OPT_SQS_QUEUE,
	OPT_SQS_REGION,
	OPT_SQS_ACCOUNT,
	OPT_SQS_ENDPOINT,
	OPT_COMPLIANCE,
	OPT_VULNERABILITY,
	OPT_ASSET_HINT,
	OPT_CA_PATH,
	OPT_INSECURE,
	OPT_SET,
	OPT_LIST_OPTIONS,
	OPT_PRINT,
	OPT_QUIET,
	OPT_HELP,
	OPT_VERSION,
};

static const struct option long_options[] = {
	{ "url", required_argument, NULL, OPT_URL },
	{ "summary", required_argument, NULL, OPT_SUMMARY },
	{ "tag", required_argument, NULL, OPT_TAG },
	{ "detail", required_argument, NULL, OPT_DETAIL },
	{ "details-json", required_argument, NULL, OPT_DETAILS_JSON },
	{ "severity", required_argument, NULL, OPT_SEVERITY },
	{ "category", required_argument, NULL, OPT_CATEGORY },
	{ "source", required_argument, NULL, OPT_SOURCE },
	{ "hostname", required_argument, NULL, OPT_HOSTNAME },
	{ "processname", required_argument, NULL, OPT_PROCESSNAME },
	{ "timestamp", required_argument, NULL, OPT_TIMESTAMP },
	{ "syslog", no_argument, NULL, OPT_SYSLOG },
	{ "only-syslog", no_argument, NULL, OPT_ONLY_SYSLOG },
	{ "sqs-queue", required_argument, NULL, OPT_SQS_QUEUE },
	{ "sqs-region", required_argument, NULL, OPT_SQS_REGION },
	{ "sqs-account-id", required_argument, NULL, OPT_SQS_ACCOUNT },
	{ "sqs-endpoint", required_argument, NULL, OPT_SQS_ENDPOINT },
	{ "compliance", required_argument, NULL, OPT_COMPLIANCE },
	{ "vulnerability", required_argument, NULL, OPT_VULNERABILITY },
	{ "asset-hint", no_argument, NULL, OPT_ASSET_HINT },
	{ "ca-path", required_argument, NULL, OPT_CA_PATH },
	{ "insecure", no_argument, NULL, OPT_INSECURE },
	{ "set", required_argument, NULL, OPT_SET },
	{ "list-options", no_argument, NULL, OPT_LIST_OPTIONS },
	{ "print", no_argument, NULL, OPT_PRINT },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *out)
{
	fprintf(out,
	        "Usage: %s --url URL --summary TEXT [OPTION]...\n"
	        "Send one MozDef event over HTTP(S), syslog or AWS SQS.\n"
	        "\n"
	        "Event:\n"
	        "  --summary TEXT          the event's summary (required except for --vulnerability)\n"
	        "  --tag T                 add a tag (repeatable)\n"
	        "  --detail KEY=VALUE      set details.KEY to the string VALUE; KEY may be dotted (repeatable)\n"
	        "  --details-json JSON     a JSON object merged into the details (before any --detail)\n"
	        "  --severity S            DEBUG, INFO (default), NOTICE, WARNING, ERROR, CRITICAL, ALERT, EMERGENCY\n"
	        "  --category C            the category (default: event, or the type's)\n"
	        "  --source S, --hostname H, --processname P, --timestamp ISO8601\n"
	        "  --compliance FILE       a compliance event; FILE holds its details (a compliance item)\n"
	        "  --vulnerability FILE    a vulnerability event; FILE holds the whole document\n"
	        "  --asset-hint            an asset hint event (needs details)\n"
	        "\n"
	        "Delivery:\n"
	        "  --url URL               MozDef loginput URL, e.g. https://mozdef.example.com/events\n"
	        "  --syslog                also write the event to syslog\n"
	        "  --only-syslog           write to syslog only (no --url needed)\n"
	        "  --sqs-queue Q --sqs-region R [--sqs-account-id A] [--sqs-endpoint URL]\n"
	        "                          send to AWS SQS instead of HTTP (AWS credentials from the environment\n"
	        "                          or the shared credentials file)\n"
	        "  --ca-path PATH          CA bundle file or hashed directory for HTTPS\n"
	        "  --insecure              do not verify the server's certificate\n"
	        "  --set KEY=VALUE         any client option (see --list-options); repeatable\n"
	        "  --list-options          list the client options and exit\n"
	        "  --print                 print the event's JSON on standard output instead of sending it\n"
	        "  -q, --quiet             print nothing on success\n"
	        "  -h, --help              show this help and exit\n"
	        "  -V, --version           show the version and exit\n"
	        "\n"
	        "Exit status: 0 delivered, 1 not delivered, 2 usage error or invalid event.\n",
	        progname);
}

struct settings {
	const char *key;
	const char *value;
};

struct args {
	const char *url;
	mozdef_event_type type;
	const char *file;
	bool print, quiet;
	struct settings set[64];
	size_t n_set;
};

static int fail_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help'.\n", progname);
	return EXIT_USAGE;
}

static const char *option_name(int opt)
{
	for (const struct option *o = long_options; o->name; o++) {
		if (o->val == opt)
			return o->name;
	}
	return "?";
}

static bool add_setting(struct args *a, const char *key, const char *value)
{
	if (a->n_set == sizeof(a->set) / sizeof(a->set[0]))
		return false;
	a->set[a->n_set].key = key;
	a->set[a->n_set].value = value;
	a->n_set++;
	return true;
}

static int list_options(void)
{
	size_t n = 0;
	const mozdef_option_info *o = mozdef_option_list(&n);

	for (size_t i = 0; i < n; i++)
		printf("%-26s %-7s default \"%s\"\n    %s\n", o[i].name, o[i].type, o[i].default_value, o[i].description);
	return EXIT_SUCCESS;
}

/* Event fields are applied after the type is known; remember them in order. */
struct field {
	int opt;
	const char *value;
};

static int apply_field(mozdef_event *ev, const struct field *f)
{
	char err[256] = "";
	mozdef_severity sev;
	mozdef_error e = MOZDEF_OK;

	switch (f->opt) {
	case OPT_SUMMARY:
		e = mozdef_event_set_summary(ev, f->value);
		break;
	case OPT_TAG:
		e = mozdef_event_add_tag(ev, f->value);
		break;
	case OPT_CATEGORY:
		e = mozdef_event_set_category(ev, f->value);
		break;
	case OPT_SOURCE:
		e = mozdef_event_set_source(ev, f->value);
		break;
	case OPT_HOSTNAME:
		e = mozdef_event_set_hostname(ev, f->value);
		break;
	case OPT_PROCESSNAME:
		e = mozdef_event_set_processname(ev, f->value);
		break;
	case OPT_TIMESTAMP:
		e = mozdef_event_set_timestamp(ev, f->value);
		break;
	case OPT_SEVERITY:
		if (mozdef_severity_from_string(f->value, &sev) != MOZDEF_OK)
			return fail_usage("--severity: \"%s\" is not one of DEBUG, INFO, NOTICE, WARNING, ERROR, CRITICAL, "
			                  "ALERT, EMERGENCY",
			                  f->value);
		e = mozdef_event_set_severity(ev, sev);
		break;
	case OPT_DETAIL: {
		const char *eq = strchr(f->value, '=');
		char key[256];
		if (!eq || eq == f->value || (size_t)(eq - f->value) >= sizeof(key))
			return fail_usage("--detail: \"%s\" is not KEY=VALUE", f->value);
		memcpy(key, f->value, (size_t)(eq - f->value));
		key[eq - f->value] = '\0';
		e = mozdef_event_set_detail_string(ev, key, eq + 1, err, sizeof(err));
		if (e != MOZDEF_OK)
			return fail_usage("--detail: %s", err[0] ? err : mozdef_strerror(e));
		break;
	}
	case OPT_DETAILS_JSON: {
		enum json_tokener_error jerr;
		struct json_object *o = json_tokener_parse_verbose(f->value, &jerr);
		if (!o)
			return fail_usage("--details-json: not JSON: %s", json_tokener_error_desc(jerr));
		if (!json_object_is_type(o, json_type_object)) {
			json_object_put(o);
			return fail_usage("--details-json: \"%s\" is not a JSON object", f->value);
		}
		json_object_object_foreach(o, k, v)
		{
			e = mozdef_event_set_detail(ev, k, json_object_get(v), err, sizeof(err));
			if (e != MOZDEF_OK) {
				json_object_put(v);
				json_object_put(o);
				return fail_usage("--details-json: %s", err);
			}
		}
		json_object_put(o);
		break;
	}
	default:
		break;
	}
	if (e != MOZDEF_OK) {
		fprintf(stderr, "%s: %s\n", progname, mozdef_strerror(e));
		return EXIT_NOT_DELIVERED;
	}
	return EXIT_SUCCESS;
}

static int load_file(mozdef_event *ev, mozdef_event_type type, const char *path)
{
	struct json_object *o = json_object_from_file(path);

	if (!o) {
		fprintf(stderr, "%s: %s: %s\n", progname, path, json_util_get_last_err());
		return EXIT_USAGE;
	}
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		fprintf(stderr, "%s: %s: not a JSON object\n", progname, path);
		return EXIT_USAGE;
	}
	if (type == MOZDEF_EVENT_VULNERABILITY)
		mozdef_event_set_document(ev, o);
	else
		mozdef_event_set_details(ev, o);
	return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
	struct args a = { .type = MOZDEF_EVENT_GENERIC };
	struct field fields[256];
	size_t n_fields = 0;
	bool syslog = false, only_syslog = false, sqs = false;
	mozdef_event *ev = NULL;
	mozdef_client *client = NULL;
	mozdef_result r;
	char err[256] = "";
	int opt, rc = EXIT_USAGE;

	while ((opt = getopt_long(argc, argv, "qhV", long_options, NULL)) != -1) {
		switch (opt) {
		case OPT_URL:
			a.url = optarg;
			break;
		case OPT_SUMMARY:
		case OPT_TAG:
		case OPT_DETAIL:
		case OPT_DETAILS_JSON:
		case OPT_SEVERITY:
		case OPT_CATEGORY:
		case OPT_SOURCE:
		case OPT_HOSTNAME:
		case OPT_PROCESSNAME:
		case OPT_TIMESTAMP:
			if (n_fields == sizeof(fields) / sizeof(fields[0]))
				return fail_usage("too many event options");
			fields[n_fields].opt = opt;
			fields[n_fields].value = optarg;
			n_fields++;
			break;
		case OPT_SYSLOG:
			syslog = true;
			break;
		case OPT_ONLY_SYSLOG:
			syslog = only_syslog = true;
			break;
		case OPT_SQS_QUEUE:
			sqs = true;
			add_setting(&a, "sqs.queue", optarg);
			break;
		case OPT_SQS_REGION:
			add_setting(&a, "sqs.region", optarg);
			break;
		case OPT_SQS_ACCOUNT:
			add_setting(&a, "sqs.account_id", optarg);
			break;
		case OPT_SQS_ENDPOINT:
			add_setting(&a, "sqs.endpoint", optarg);
			break;
		case OPT_COMPLIANCE:
		case OPT_VULNERABILITY:
			if (a.type != MOZDEF_EVENT_GENERIC)
				return fail_usage("--compliance, --vulnerability and --asset-hint exclude each other");
			a.type = opt == OPT_COMPLIANCE ? MOZDEF_EVENT_COMPLIANCE : MOZDEF_EVENT_VULNERABILITY;
			a.file = optarg;
			break;
		case OPT_ASSET_HINT:
			if (a.type != MOZDEF_EVENT_GENERIC)
				return fail_usage("--compliance, --vulnerability and --asset-hint exclude each other");
			a.type = MOZDEF_EVENT_ASSET_HINT;
			break;
		case OPT_CA_PATH:
			add_setting(&a, "tls.ca_path", optarg);
			break;
		case OPT_INSECURE:
			add_setting(&a, "tls.verify", "false");
			break;
		case OPT_SET: {
			char *eq = strchr(optarg, '=');
			if (!eq || eq == optarg)
				return fail_usage("--set: \"%s\" is not KEY=VALUE", optarg);
			*eq = '\0';
			if (!add_setting(&a, optarg, eq + 1))
				return fail_usage("too many --set options");
			break;
		}
		case OPT_LIST_OPTIONS:
			return list_options();
		case OPT_PRINT:
			a.print = true;
			break;
		case 'q':
			a.quiet = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		case 'V':
			printf("%s %s (libmozdef %s)\n", progname, MOZDEF_SEND_VERSION, mozdef_version_string());
			return EXIT_SUCCESS;
		default:
			fprintf(stderr, "Try '%s --help'.\n", progname);
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return fail_usage("unexpected argument \"%s\"", argv[optind]);
	if (!a.print && !a.url && !only_syslog && !sqs)
		return fail_usage("--url is required (or --only-syslog, or --sqs-queue)");

	ev = mozdef_event_new(a.type);
	if (!ev) {
		fprintf(stderr, "%s: out of memory\n", progname);
		return EXIT_NOT_DELIVERED;
	}
	if (a.file && (rc = load_file(ev, a.type, a.file)) != EXIT_SUCCESS)
		goto out;
	/* --details-json first, so that --detail refines it whatever the order on the line. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n_fields; i++) {
			if ((fields[i].opt == OPT_DETAILS_JSON) != (pass == 0))
				continue;
			if (a.type == MOZDEF_EVENT_VULNERABILITY) {
				rc = fail_usage("--vulnerability takes the whole event from its file; --%s cannot be used",
				                option_name(fields[i].opt));
				goto out;
			}
			rc = apply_field(ev, &fields[i]);
			if (rc != EXIT_SUCCESS)
				goto out;
		}
	}
	if (mozdef_event_validate(ev, err, sizeof(err)) != MOZDEF_OK) {
		fprintf(stderr, "%s: invalid event: %s\n", progname, err);
		rc = EXIT_USAGE;
		goto out;
	}
	if (a.print) {
		char *text = NULL;
		if (mozdef_event_serialize(ev, &text, NULL, err, sizeof(err)) != MOZDEF_OK) {
			fprintf(stderr, "%s: %s\n", progname, err);
			rc = EXIT_NOT_DELIVERED;
			goto out;
		}
		puts(text);
		free(text);
		rc = EXIT_SUCCESS;
		goto out;
	}

	if (mozdef_client_new(a.url, &client, err, sizeof(err)) != MOZDEF_OK) {
		rc = fail_usage("--url: %s", err);
		goto out;
	}
	if (syslog && mozdef_client_set(client, "syslog.enabled", "true", err, sizeof(err)) != MOZDEF_OK)
		goto bad_setting;
	if (only_syslog && mozdef_client_set(client, "syslog.only", "true", err, sizeof(err)) != MOZDEF_OK)
		goto bad_setting;
	for (size_t i = 0; i < a.n_set; i++) {
		if (mozdef_client_set(client, a.set[i].key, a.set[i].value, err, sizeof(err)) != MOZDEF_OK)
			goto bad_setting;
	}
	if (mozdef_client_send(client, ev, &r) != MOZDEF_OK) {
		fprintf(stderr, "%s: not delivered: %s\n", progname, r.message[0] ? r.message : mozdef_strerror(r.error));
		rc = EXIT_NOT_DELIVERED;
		goto out;
	}
	if (!a.quiet) {
		if (r.http_status)
			printf("delivered (HTTP %ld, %u attempt%s)\n", r.http_status, r.attempts, r.attempts == 1 ? "" : "s");
		else
			printf("delivered\n");
	}
	rc = EXIT_SUCCESS;
	goto out;
bad_setting:
	fprintf(stderr, "%s: %s\n", progname, err);
	rc = EXIT_USAGE;
out:
	mozdef_client_free(client);
	mozdef_event_free(ev);
	return rc;
}
