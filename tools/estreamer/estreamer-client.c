/* SPDX-License-Identifier: Apache-2.0 */
/*
 * estreamer-client: connects to a Firepower eStreamer server, requests
 * events and writes each record as a JSON line (and packets to a pcap file),
 * with plugins loaded from a directory. Reads the Python estreamer library's
 * configuration file unchanged.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <estreamer/client.h>
#include <estreamer/output.h>
#include <estreamer/request.h>

#define PROG "estreamer-client"

struct app {
	estreamer_client *client;
	FILE *json;
	estreamer_pcap *pcap;
	int verbose;
	uint32_t cfg_flags;
	int cfg_has_flags;
	estreamer_error rc;
	char err[1024];
	pthread_t main_thread;
	int output_failed;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: " PROG " [-c FILE] --host HOST [--port PORT] (--pkcs12 FILE | --cert FILE --key FILE)\n"
		"       [--password-file FILE] [--ca FILE] [--no-verify] [--tls-min 1.0|1.1|1.2|1.3]\n"
		"       [--server-name NAME] [--no-verify-hostname]\n"
		"       [--json FILE|-] [--pcap FILE] [--plugins DIR] [--bookmark FILE]\n"
		"       [--start oldest|now|bookmark|TIME] [--flags FLAGS] [--event-types LIST]\n"
		"       [-o KEY=VALUE]... [-v] [--list-options] [--help] [--version]\n"
		"\n"
		"Streams events from a Firepower eStreamer server (mutual TLS, port 8302) and\n"
		"writes each record as one JSON object per line (to stdout by default).\n"
		"Counters are printed to stderr on SIGUSR1 and at exit; SIGINT/SIGTERM stop.\n"
		"\n"
		"The PKCS#12 (or PEM key) password: --password-file FILE, else the environment\n"
		"(ESTREAMER_TLS_PASSWORD, or ESTREAMER_TLS_PASSWORD_FILE naming a file), else\n"
		"tls.password or tls.password_file in the configuration file. -o tls.password=...\n"
		"works but shows the password to every user of ps.\n"
		"\n"
		"Exit status: 0 stopped by a signal, 1 failed (gave up reconnecting, output\n"
		"failed), 2 usage or configuration error, 3 an error no retry can fix\n"
		"(credentials, server certificate not trusted or for another host, refused by\n"
		"the server, unsafe plugins directory).\n"
		"See estreamer-client(1).\n");
}

static int set(struct app *a, const char *key, const char *value)
{
	char err[512] = "";

	if (estreamer_client_set(a->client, key, value, err, sizeof(err)) != ESTREAMER_OK) {
		fprintf(stderr, PROG ": %s\n", err);
		return -1;
	}
	return 0;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* The Python library's file: [settings] event_types=…, [flags] name=0|1; other settings are options. */
static int load_config(struct app *a, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[4096], section[64] = "";
	int lineno = 0, rc = 0;

	if (!f) {
		fprintf(stderr, PROG ": %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *s = trim(line), *eq, *key, *value;

		lineno++;
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *end = strchr(s, ']');

			if (!end) {
				fprintf(stderr, PROG ": %s:%d: unterminated section\n", path, lineno);
				rc = -1;
				break;
			}
			*end = '\0';
			snprintf(section, sizeof(section), "%s", trim(s + 1));
			continue;
		}
		eq = strpbrk(s, "=:");
		if (!eq) {
			fprintf(stderr, PROG ": %s:%d: expected key = value\n", path, lineno);
			rc = -1;
			break;
		}
		*eq = '\0';
		key = trim(s);
		value = trim(eq + 1);
		if (!strcasecmp(section, "flags")) {
			unsigned bit;

			if (estreamer_flag_lookup(key, &bit) != ESTREAMER_OK) {
				fprintf(stderr, PROG ": %s:%d: unknown flag \"%s\"\n", path, lineno, key);
				rc = -1;
				break;
			}
			a->cfg_has_flags = 1;
			if (strcmp(value, "0") != 0 && strcasecmp(value, "false") != 0)
				a->cfg_flags |= 1u << bit;
		} else if (!strcasecmp(section, "settings")) {
			char err[512] = "";
			estreamer_error e = estreamer_client_set(a->client, key, value, err, sizeof(err));

			/* Keys of the Python library this program has no use for are not fatal. */
			if (e == ESTREAMER_ERR_UNKNOWN_OPTION) {
				fprintf(stderr, PROG ": %s:%d: setting \"%s\" ignored\n", path, lineno,
					key);
			} else if (e != ESTREAMER_OK) {
				fprintf(stderr, PROG ": %s:%d: %s\n", path, lineno, err);
				rc = -1;
				break;
			}
		} else {
			fprintf(stderr, PROG ": %s:%d: section [%s] ignored\n", path, lineno, section);
		}
	}
	fclose(f);
	if (rc == 0 && a->cfg_has_flags) {
		char num[16];

		snprintf(num, sizeof(num), "0x%08x", a->cfg_flags);
		rc = set(a, "flags", num);
	}
	return rc;
}

static int on_record(void *user, const estreamer_record *rec)
{
	struct app *a = user;

	if (a->json && estreamer_json_write(a->json, rec) != ESTREAMER_OK)
		a->output_failed = 1;
	if (a->pcap && estreamer_pcap_write(a->pcap, rec) != ESTREAMER_OK)
		a->output_failed = 1;
	/* Stop rather than lose records silently when the output is gone. */
	return a->output_failed;
}

/* fsync where it means something: a file, not a pipe or a terminal. */
static int sync_file(FILE *f)
{
	struct stat st;

	if (fflush(f) != 0)
		return -1;
	if (fstat(fileno(f), &st) == 0 && !S_ISREG(st.st_mode))
		return 0;
	return fsync(fileno(f));
}

/* Before the bookmark advances: every record it covers must be on disk. */
static int on_flush(void *user)
{
	struct app *a = user;

	if (a->json && sync_file(a->json) != 0)
		a->output_failed = 1;
	if (a->pcap && estreamer_pcap_flush(a->pcap) != ESTREAMER_OK)
		a->output_failed = 1;
	return a->output_failed;
}

/*
 * Opens the JSON file for appending. A line cut short by a crash is ended, so
 * that the records written again after the restart stay one per line.
 */
static FILE *open_json(const char *path)
{
	FILE *f = fopen(path, "a+e");
	int last;

	if (!f)
		return NULL;
	setvbuf(f, NULL, _IOLBF, 0);
	if (fseeko(f, -1, SEEK_END) == 0 && (last = fgetc(f)) != EOF && last != '\n') {
		fseeko(f, 0, SEEK_END);
		fputc('\n', f);
	}
	fseeko(f, 0, SEEK_END);
	return f;
}

static void on_log(void *user, estreamer_log_level level, const char *msg)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	struct app *a = user;

	if ((int)level <= (a->verbose ? ESTREAMER_LOG_DEBUG : ESTREAMER_LOG_WARNING))
		fprintf(stderr, PROG ": %s: %s\n", names[level], msg);
}

static void print_counters(struct app *a)
{
	estreamer_counters k;

	estreamer_client_get_counters(a->client, &k);
	fprintf(stderr,
		PROG ": connections=%llu messages=%llu bundles=%llu records=%llu unknown=%llu "
		     "duplicates=%llu errors=%llu server_errors=%llu plugins=%zu plugin_loads=%llu "
		     "plugin_unloads=%llu plugin_errors=%llu bookmark=%u\n",
		(unsigned long long)k.connections, (unsigned long long)k.messages,
		(unsigned long long)k.bundles, (unsigned long long)k.records,
		(unsigned long long)k.unknown_records, (unsigned long long)k.duplicates,
		(unsigned long long)k.errors, (unsigned long long)k.server_errors,
		estreamer_client_plugin_count(a->client), (unsigned long long)k.plugin_loads,
		(unsigned long long)k.plugin_unloads, (unsigned long long)k.plugin_errors,
		estreamer_client_get_bookmark(a->client));
}

static void *client_thread(void *arg)
{
	struct app *a = arg;

	a->rc = estreamer_client_run(a->client, a->err, sizeof(a->err));
	pthread_kill(a->main_thread, SIGUSR2);
	return NULL;
}

static void list_options(void)
{
	const char *name, *def, *desc;

	for (size_t i = 0; estreamer_option_describe(i, &name, &def, &desc) == ESTREAMER_OK; i++)
		printf("%-26s %-12s %s\n", name, *def ? def : "\"\"", desc);
}

enum {
	OPT_HOST = 256, OPT_PORT, OPT_PKCS12, OPT_PASSWORD_FILE, OPT_CERT, OPT_KEY, OPT_CA,
	OPT_NO_VERIFY, OPT_TLS_MIN, OPT_JSON, OPT_PCAP, OPT_PLUGINS, OPT_BOOKMARK, OPT_START,
	OPT_FLAGS, OPT_EVENT_TYPES, OPT_LIST, OPT_VERSION, OPT_SERVER_NAME, OPT_NO_VERIFY_HOSTNAME,
};

static const struct option long_opts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "host", required_argument, NULL, OPT_HOST },
	{ "port", required_argument, NULL, OPT_PORT },
	{ "pkcs12", required_argument, NULL, OPT_PKCS12 },
	{ "password-file", required_argument, NULL, OPT_PASSWORD_FILE },
	{ "cert", required_argument, NULL, OPT_CERT },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "ca", required_argument, NULL, OPT_CA },
	{ "no-verify", no_argument, NULL, OPT_NO_VERIFY },
	{ "server-name", required_argument, NULL, OPT_SERVER_NAME },
	{ "no-verify-hostname", no_argument, NULL, OPT_NO_VERIFY_HOSTNAME },
	{ "tls-min", required_argument, NULL, OPT_TLS_MIN },
	{ "json", required_argument, NULL, OPT_JSON },
	{ "pcap", required_argument, NULL, OPT_PCAP },
	{ "plugins", required_argument, NULL, OPT_PLUGINS },
	{ "bookmark", required_argument, NULL, OPT_BOOKMARK },
	{ "start", required_argument, NULL, OPT_START },
	{ "flags", required_argument, NULL, OPT_FLAGS },
	{ "event-types", required_argument, NULL, OPT_EVENT_TYPES },
	{ "option", required_argument, NULL, 'o' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "list-options", no_argument, NULL, OPT_LIST },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

static const char *const option_keys[] = {
	[OPT_HOST - 256] = "host",
	[OPT_PORT - 256] = "port",
	[OPT_PKCS12 - 256] = "tls.pkcs12",
	[OPT_PASSWORD_FILE - 256] = "tls.password_file",
	[OPT_CERT - 256] = "tls.cert",
	[OPT_KEY - 256] = "tls.key",
	[OPT_CA - 256] = "tls.ca",
	[OPT_TLS_MIN - 256] = "tls.min_version",
	[OPT_PLUGINS - 256] = "plugins.dir",
	[OPT_BOOKMARK - 256] = "bookmark.file",
	[OPT_START - 256] = "start",
	[OPT_FLAGS - 256] = "flags",
	[OPT_EVENT_TYPES - 256] = "event_types",
	[OPT_SERVER_NAME - 256] = "tls.server_name",
};

/*
 * Secrets from the environment rank between the command line (applied after)
 * and the configuration file (applied before). They are removed from the
 * environment so that plugins and anything they start do not inherit them.
 */
static int apply_environment(struct app *a)
{
	const char *file = getenv("ESTREAMER_TLS_PASSWORD_FILE");
	const char *password = getenv("ESTREAMER_TLS_PASSWORD");
	int rc = 0;

	if (file && *file && set(a, "tls.password_file", file) != 0)
		rc = -1;
	if (rc == 0 && password && set(a, "tls.password", password) != 0)
		rc = -1;
	unsetenv("ESTREAMER_TLS_PASSWORD");
	unsetenv("ESTREAMER_TLS_PASSWORD_FILE");
	return rc;
}

/* Exit status of a run that ended by itself. */
static int failure_status(estreamer_error rc)
{
	if (rc == ESTREAMER_ERR_INVALID_ARG || rc == ESTREAMER_ERR_UNKNOWN_OPTION)
		return 2; /* a missing host, a bad priority string: usage */
	return estreamer_error_is_permanent(rc) ? 3 : 1;
}

int main(int argc, char **argv)
{
	struct app a = { 0 };
	const char *json_path = NULL, *pcap_path = NULL, *config = NULL;
	int opt, status = 0, have_outputs = 0;
	estreamer_error err;
	sigset_t set_;
	pthread_t th;

	a.client = estreamer_client_new();
	if (!a.client) {
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	/* The config file comes first so that command-line options override it. */
	for (int i = 1; i < argc - 1; i++)
		if (!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config"))
			config = argv[i + 1];
	if (config && load_config(&a, config) != 0) {
		status = 2;
		goto out;
	}
	if (apply_environment(&a) != 0) {
		status = 2;
		goto out;
	}
	while ((opt = getopt_long(argc, argv, "c:o:vh", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			break;
		case 'o': {
			char *eq = strchr(optarg, '=');

			if (!eq) {
				fprintf(stderr, PROG ": -o needs KEY=VALUE\n");
				status = 2;
				goto out;
			}
			*eq = '\0';
			if (!strcmp(optarg, "tls.password"))
				fprintf(stderr, PROG ": warning: a password on the command line is "
						"visible to other users; use --password-file or "
						"ESTREAMER_TLS_PASSWORD\n");
			if (set(&a, optarg, eq + 1) != 0) {
				status = 2;
				goto out;
			}
			break;
		}
		case 'v':
			a.verbose = 1;
			break;
		case 'h':
			usage(stdout);
			goto out;
		case OPT_VERSION:
			printf(PROG " %s\n", estreamer_version_string());
			goto out;
		case OPT_LIST:
			list_options();
			goto out;
		case OPT_NO_VERIFY:
			if (set(&a, "tls.verify", "false") != 0)
				status = 2;
			break;
		case OPT_NO_VERIFY_HOSTNAME:
			if (set(&a, "tls.verify_hostname", "false") != 0)
				status = 2;
			break;
		case OPT_JSON:
			json_path = optarg;
			have_outputs = 1;
			break;
		case OPT_PCAP:
			pcap_path = optarg;
			have_outputs = 1;
			break;
		default:
			if (opt >= 256 && (size_t)(opt - 256) < sizeof(option_keys) / sizeof(option_keys[0]) &&
			    option_keys[opt - 256]) {
				if (opt == OPT_PLUGINS)
					have_outputs = 1;
				if (set(&a, option_keys[opt - 256], optarg) != 0)
					status = 2;
				break;
			}
			usage(stderr);
			status = 2;
			goto out;
		}
		if (status)
			goto out;
	}
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument \"%s\"\n", argv[optind]);
		status = 2;
		goto out;
	}
	if (!have_outputs || (json_path && !strcmp(json_path, "-"))) {
		a.json = stdout;
	} else if (json_path) {
		a.json = open_json(json_path);
		if (!a.json) {
			fprintf(stderr, PROG ": %s: %s\n", json_path, strerror(errno));
			status = 1;
			goto out;
		}
	}
	if (a.json == stdout)
		setvbuf(a.json, NULL, _IOLBF, 0);
	if (pcap_path && (err = estreamer_pcap_open(pcap_path, &a.pcap)) != ESTREAMER_OK) {
		fprintf(stderr, PROG ": %s: %s\n", pcap_path,
			err == ESTREAMER_ERR_MALFORMED ? "exists and is not a libpcap file to append to"
						       : strerror(errno));
		status = 1;
		goto out;
	}
	estreamer_client_set_record_callback(a.client, on_record, &a);
	estreamer_client_set_log_callback(a.client, on_log, &a);
	estreamer_client_set_flush_callback(a.client, on_flush, &a);

	/* Signals are taken synchronously by this thread; the client runs in another. */
	sigemptyset(&set_);
	sigaddset(&set_, SIGINT);
	sigaddset(&set_, SIGTERM);
	sigaddset(&set_, SIGUSR1);
	sigaddset(&set_, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set_, NULL);
	signal(SIGPIPE, SIG_IGN);
	a.main_thread = pthread_self();
	if (pthread_create(&th, NULL, client_thread, &a) != 0) {
		fprintf(stderr, PROG ": cannot start\n");
		status = 1;
		goto out;
	}
	for (;;) {
		int sig;

		if (sigwait(&set_, &sig) != 0)
			continue;
		if (sig == SIGUSR1)
			print_counters(&a);
		else if (sig == SIGUSR2)
			break;
		else
			estreamer_client_stop(a.client);
	}
	pthread_join(th, NULL);
	if (a.rc != ESTREAMER_OK) {
		fprintf(stderr, PROG ": %s\n", a.err[0] ? a.err : estreamer_strerror(a.rc));
		status = failure_status(a.rc);
	}
	if (a.output_failed) {
		fprintf(stderr, PROG ": writing the output failed\n");
		status = 1;
	}
	print_counters(&a);
out:
	if (a.json && a.json != stdout)
		fclose(a.json);
	if (a.pcap && estreamer_pcap_close(a.pcap) != ESTREAMER_OK)
		status = 1;
	estreamer_client_free(a.client);
	return status;
}
