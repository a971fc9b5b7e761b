/* SPDX-License-Identifier: Apache-2.0 */
/* idmefv2 listen: receive messages through a transport and print or store them. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <idmefv2/message.h>
#include <idmefv2/queue.h>
#include <idmefv2/transport.h>
#include <idmefv2/util.h>

#include "idmefv2-tool.h"

#define CMD "listen"

const char tool__listen_help[] =
	"Usage: idmefv2 listen [OPTIONS] URL\n"
	"\n"
	"Receive IDMEFv2 messages on URL: http://ADDRESS:PORT/PATH (HTTP POST\n"
	"server), https://... (with -o tls.cert=... -o tls.key=...),\n"
	"kafka://BROKER[,BROKER...]/TOPIC (consumer in group -o group_id=...), or\n"
	"file:///DIR (files dropped into DIR). Every message is validated on arrival;\n"
	"invalid ones are refused (HTTP 400) and counted. Received messages are printed\n"
	"on standard output as NDJSON, or with --out written to DIR, one file per\n"
	"message. A message is acknowledged (Kafka offset committed, file removed) only\n"
	"once written. The listening address is printed on standard error at start.\n"
	"SIGINT or SIGTERM stops; the counts go to standard error:\n"
	"  N messages received, N invalid\n"
	"\n"
	"Options:\n"
	"  -o, --option NAME=VALUE  set a transport option (repeatable)\n"
	"      --list-options       list every transport option with its default\n"
	"      --out DIR            store each message as DIR/<ID>.json instead of printing\n"
	"      --count N            stop after N messages\n"
	"      --queue-size N       messages held between receiving and writing (default 1024)\n"
	"  -q, --quiet              no start-up line\n"
	"  -h, --help               show this help and exit\n"
	"\n"
	"Secrets (auth.password, auth.bearer_token, tls.key_password) are better given\n"
	"as -o NAME_file=FILE (first line; a file others can read is refused) or in\n"
	"IDMEFV2_AUTH_PASSWORD, IDMEFV2_AUTH_BEARER_TOKEN, IDMEFV2_TLS_KEY_PASSWORD than\n"
	"as -o NAME=VALUE, which ps shows. An option wins over its file, which wins\n"
	"over the environment.\n"
	"\n"
	"Exit status:\n"
	"  0  stopped normally\n"
	"  2  usage error, or the transport could not start\n";

enum {
	OPT_LIST_OPTIONS = 256,
	OPT_OUT,
	OPT_COUNT,
	OPT_QUEUE_SIZE,
};

static const struct option listen_options[] = {
	{ "option", required_argument, NULL, 'o' },
	{ "list-options", no_argument, NULL, OPT_LIST_OPTIONS },
	{ "out", required_argument, NULL, OPT_OUT },
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "queue-size", required_argument, NULL, OPT_QUEUE_SIZE },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void on_log(idmefv2_log_level level, const char *message, void *user_data)
{
	(void)user_data;
	if (level <= IDMEFV2_LOG_WARNING)
		fprintf(stderr, "idmefv2 listen: %s\n", message);
}

/* Write @data atomically as DIR/NAME: temporary file, fsync, rename. */
static int store(const char *dir, const idmefv2_message *msg, const char *data, size_t len)
{
	const char *id = NULL;
	char uuid[IDMEFV2_UUID_STRLEN], tmp[4096], final[4096];
	int fd, e = 0;

	if (idmefv2_message_get_string(msg, "ID", &id, NULL, NULL, 0) != IDMEFV2_OK ||
	    !idmefv2_uuid_is_valid(id)) {
		idmefv2_uuid_new(uuid, sizeof(uuid));
		id = uuid;
	}
	snprintf(tmp, sizeof(tmp), "%s/.%s.json.tmp", dir, id);
	snprintf(final, sizeof(final), "%s/%s.json", dir, id);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return errno;
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, data + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = errno;
			break;
		}
		off += (size_t)n;
	}
	if (!e && (write(fd, "\n", 1) != 1 || fsync(fd) != 0))
		e = errno ? errno : EIO;
	if (close(fd) != 0 && !e)
		e = errno;
	if (!e && rename(tmp, final) != 0)
		e = errno;
	if (e)
		unlink(tmp);
	return e;
}

int tool__listen_main(int argc, char **argv)
{
	const char **opts = NULL;
	size_t n_opts = 0, count = 0, queue_size = 1024, received = 0;
	const char *out_dir = NULL;
	bool quiet = false;
	idmefv2_transport *t = NULL;
	idmefv2_queue *q = NULL;
	idmefv2_transport_counters counters;
	char errstr[1024] = "";
	idmefv2_error err;
	int c, status = TOOL_EXIT_USAGE;
	struct sigaction sa;

	opts = calloc((size_t)argc, sizeof(*opts));
	if (!opts)
		return TOOL_EXIT_USAGE;
	while ((c = getopt_long(argc, argv, ":o:qh", listen_options, NULL)) != -1) {
		switch (c) {
		case 'o': opts[n_opts++] = optarg; break;
		case 'q': quiet = true; break;
		case OPT_OUT: out_dir = optarg; break;
		case OPT_COUNT:
		case OPT_QUEUE_SIZE: {
			char *end;
			unsigned long long v;

			errno = 0;
			v = strtoull(optarg, &end, 10);
			if (errno || *end || v == 0 || *optarg == '-') {
				tool__error(CMD, "--%s %s: expected a positive number",
				            c == OPT_COUNT ? "count" : "queue-size", optarg);
				goto out;
			}
			if (c == OPT_COUNT)
				count = (size_t)v;
			else
				queue_size = (size_t)v;
			break;
		}
		case OPT_LIST_OPTIONS:
			tool__list_transport_options(stdout);
			status = TOOL_EXIT_OK;
			goto out;
		case 'h':
			fputs(tool__listen_help, stdout);
			status = TOOL_EXIT_OK;
			goto out;
		default:
			status = tool__bad_option(CMD, c, argv);
			goto out;
		}
	}
	if (optind >= argc) {
		tool__error(CMD, "missing URL; see 'idmefv2 help listen'");
		goto out;
	}
	if (optind + 1 < argc) {
		tool__error(CMD, "unexpected argument '%s'", argv[optind + 1]);
		goto out;
	}
	if (out_dir) {
		struct stat st;

		if (stat(out_dir, &st) != 0 || !S_ISDIR(st.st_mode) || access(out_dir, W_OK) != 0) {
			tool__error(CMD, "--out %s: not a writable directory", out_dir);
			goto out;
		}
	}

	q = idmefv2_queue_new(queue_size);
	err = idmefv2_transport_new(argv[optind], IDMEFV2_TRANSPORT_LISTENER, &t, errstr, sizeof(errstr));
	if (err != IDMEFV2_OK || !q) {
		tool__error(CMD, "%s: %s", argv[optind], *errstr ? errstr : idmefv2_strerror(err));
		goto out;
	}
	for (size_t i = 0; i < n_opts; i++)
		if (tool__transport_option(CMD, t, opts[i]) != TOOL_EXIT_OK)
			goto out;
	idmefv2_transport_set_queue(t, q);
	idmefv2_transport_set_log_cb(t, on_log, NULL);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	err = idmefv2_transport_start(t, errstr, sizeof(errstr));
	if (err != IDMEFV2_OK) {
		tool__error(CMD, "%s: %s", argv[optind], *errstr ? errstr : idmefv2_strerror(err));
		goto out;
	}
	if (!quiet) {
		unsigned port = idmefv2_transport_get_port(t);

		if (port)
			fprintf(stderr, "idmefv2 listen: listening on %s (port %u)\n", argv[optind], port);
		else
			fprintf(stderr, "idmefv2 listen: listening on %s\n", argv[optind]);
		fflush(stderr);
	}

	status = TOOL_EXIT_OK;
	while (!stop_requested && (!count || received < count)) {
		idmefv2_message *msg = NULL;
		const char *data;
		size_t len;

		err = idmefv2_queue_get(q, 200, &msg);
		if (err == IDMEFV2_ERR_TIMEOUT)
			continue;
		if (err != IDMEFV2_OK)
			break;
		err = idmefv2_message_serialize(msg, "application/json", IDMEFV2_SERIALIZE_NO_VALIDATE, &data,
		                                &len, NULL, errstr, sizeof(errstr));
		if (err == IDMEFV2_OK && out_dir) {
			int e = store(out_dir, msg, data, len);

			if (e) {
				/* Not acknowledged: a transport that can redeliver will. */
				tool__error(CMD, "--out %s: %s", out_dir, strerror(e));
				idmefv2_message_unref(msg);
				status = TOOL_EXIT_USAGE;
				break;
			}
		} else if (err == IDMEFV2_OK) {
			fwrite(data, 1, len, stdout);
			fputc('\n', stdout);
			fflush(stdout);
		}
		idmefv2_queue_task_done(q, msg);
		idmefv2_message_unref(msg);
		received++;
	}
	idmefv2_transport_stop(t);
	idmefv2_transport_get_counters(t, &counters);
	fprintf(stderr, "%zu message%s received, %llu invalid\n", received, received == 1 ? "" : "s",
	        (unsigned long long)counters.invalid);
out:
	idmefv2_transport_free(t);
	idmefv2_queue_unref(q);
	free(opts);
	return status;
}
