/* SPDX-License-Identifier: Apache-2.0 */
/* idmefv2 send: deliver messages from files or standard input through a transport. */
#include <errno.h>
#include <getopt.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include <idmefv2/message.h>
#include <idmefv2/transport.h>

#include "idmefv2-tool.h"

#define CMD "send"

const char tool__send_help[] =
	"Usage: idmefv2 send [OPTIONS] URL [FILE...|-]\n"
	"\n"
	"Send IDMEFv2 messages to URL: http://HOST:PORT/PATH, https://..., \n"
	"kafka://BROKER[,BROKER...]/TOPIC or file:///DIR. Each FILE holds one JSON\n"
	"message or NDJSON (one message per line); with no FILE, or -, standard input.\n"
	"Messages are validated before they are queued (unless -o validate=false); an\n"
	"invalid or malformed one is reported as FILE:LINE: REASON and not sent.\n"
	"Delivery is asynchronous with retries; at the end the command waits for every\n"
	"message's outcome, up to --timeout, and prints the counts on standard error:\n"
	"  N messages: N sent, N failed, N invalid[, N spooled][; from the spool: N sent, N failed]\n"
	"where spooled messages are safe on disk (-o spool.dir=DIR) and are sent by the\n"
	"next run using the same spool, even one given no FILE (idmefv2 send URL /dev/null).\n"
	"On a terminal a progress line is shown while sending.\n"
	"\n"
	"Options:\n"
	"  -o, --option NAME=VALUE  set a transport option (repeatable), e.g.\n"
	"                           -o tls.ca_file=ca.pem -o spool.dir=/var/spool/idmefv2\n"
	"      --list-options       list every transport option with its default\n"
	"      --timeout SECONDS    how long to wait for outstanding deliveries at the\n"
	"                           end (default 60; 0 waits forever)\n"
	"  -q, --quiet              print only the final counts\n"
	"  -h, --help               show this help and exit\n"
	"\n"
	"Exit status:\n"
	"  0  every message was delivered\n"
	"  1  some message was invalid, refused, failed, or is still only in the spool\n"
	"  2  usage error, unreadable input, or the transport could not start\n";

enum {
	OPT_LIST_OPTIONS = 256,
	OPT_TIMEOUT,
};

static const struct option send_options[] = {
	{ "option", required_argument, NULL, 'o' },
	{ "list-options", no_argument, NULL, OPT_LIST_OPTIONS },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct send_ctx {
	idmefv2_transport *t;
	bool quiet;
	bool progress;
	bool progress_shown;
	double last_progress;
	double started;
	size_t messages;
	size_t invalid;
	size_t refused; /* send() said no: queue or spool full */
	atomic_size_t sent;
	atomic_size_t failed;
	/* Outcomes of messages an earlier run left in the spool (they carry no opaque). */
	atomic_size_t replayed_sent;
	atomic_size_t replayed_failed;
};

/* The opaque given with each of our own messages: replays from the spool come back with NULL. */
static char own_message;

static const char *const type_names[] = { "string", "int", "bool", "size" };

void tool__list_transport_options(FILE *out)
{
	size_t n;
	const idmefv2_option_desc *opts = idmefv2_transport_options(&n);

	for (size_t i = 0; i < n; i++) {
		fprintf(out, "%-24s %-6s default %-18s [%s]\n", opts[i].name,
		        (unsigned)opts[i].type < 4 ? type_names[opts[i].type] : "?",
		        opts[i].default_value && *opts[i].default_value ? opts[i].default_value : "(unset)",
		        opts[i].schemes ? opts[i].schemes : "all");
		fprintf(out, "    %s\n", opts[i].description);
	}
	fprintf(out, "kafka.<property>         string  passed to librdkafka as <property>\n");
}

int tool__transport_option(const char *cmd, idmefv2_transport *t, const char *spec)
{
	char name[256], errstr[512] = "";
	const char *eq = strchr(spec, '=');
	idmefv2_error err;

	if (!eq || eq == spec || (size_t)(eq - spec) >= sizeof(name)) {
		tool__error(cmd, "-o %s: expected NAME=VALUE", spec);
		return TOOL_EXIT_USAGE;
	}
	memcpy(name, spec, (size_t)(eq - spec));
	name[eq - spec] = '\0';
	err = idmefv2_transport_set(t, name, eq + 1, errstr, sizeof(errstr));
	if (err != IDMEFV2_OK) {
		tool__error(cmd, "-o %s: %s", spec, *errstr ? errstr : idmefv2_strerror(err));
		return TOOL_EXIT_USAGE;
	}
	return TOOL_EXIT_OK;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void progress_erase(struct send_ctx *ctx)
{
	if (ctx->progress_shown) {
		fputs("\r\033[K", stderr);
		ctx->progress_shown = false;
	}
}

static void progress_update(struct send_ctx *ctx, bool force)
{
	double now;

	if (!ctx->progress)
		return;
	now = now_s();
	if (!force && now - ctx->last_progress < 0.5)
		return;
	ctx->last_progress = now;
	fprintf(stderr, "\r\033[K%zu read, %zu sent, %zu failed, %zu invalid (%.0f/s)", ctx->messages,
	        atomic_load(&ctx->sent), atomic_load(&ctx->failed), ctx->invalid,
	        (double)atomic_load(&ctx->sent) / (now - ctx->started > 0 ? now - ctx->started : 1));
	ctx->progress_shown = true;
}

static void on_delivery(idmefv2_transport *t, void *opaque, idmefv2_delivery_status status,
                        const char *detail, void *user_data)
{
	struct send_ctx *ctx = user_data;

	(void)t;
	if (status == IDMEFV2_DELIVERY_SENT) {
		atomic_fetch_add(opaque ? &ctx->sent : &ctx->replayed_sent, 1);
		return;
	}
	atomic_fetch_add(opaque ? &ctx->failed : &ctx->replayed_failed, 1);
	if (!ctx->quiet)
		fprintf(stderr, "idmefv2 send: message %s: %s\n",
		        status == IDMEFV2_DELIVERY_REJECTED ? "rejected" : "failed", detail ? detail : "");
}

static void message_send(struct send_ctx *ctx, const char *name, size_t line, const char *text, size_t len)
{
	idmefv2_message *msg = NULL;
	char errstr[1024] = "";
	idmefv2_error err;

	ctx->messages++;
	err = idmefv2_message_new_from_json(text, len, &msg, errstr, sizeof(errstr));
	if (err == IDMEFV2_ERR_PARSE) {
		static const char prefix[] = "malformed JSON: ";

		/* Parse errors are short; shift the text right to make room for the prefix. */
		errstr[sizeof(errstr) - sizeof(prefix)] = '\0';
		memmove(errstr + sizeof(prefix) - 1, errstr, strlen(errstr) + 1);
		memcpy(errstr, prefix, sizeof(prefix) - 1);
	}
	if (err == IDMEFV2_OK)
		err = idmefv2_transport_send(ctx->t, msg, &own_message, errstr, sizeof(errstr));
	idmefv2_message_unref(msg);
	if (err == IDMEFV2_OK) {
		progress_update(ctx, false);
		return;
	}
	progress_erase(ctx);
	if (err == IDMEFV2_ERR_FULL)
		ctx->refused++;
	else
		ctx->invalid++;
	if (!ctx->quiet)
		printf("%s:%zu: %s\n", name, line, *errstr ? errstr : idmefv2_strerror(err));
}

static bool blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return false;
	return true;
}

/* One JSON message per file, or NDJSON: decided by whether the whole text is one object. */
static void buffer_send(struct send_ctx *ctx, const char *name, const char *data, size_t len)
{
	struct json_object *whole = NULL;
	const char *p = data, *end = data + len;
	size_t line = 0;

	if (blank(data, len))
		return;
	if (idmefv2_json_parse(data, len, &whole, NULL, 0) == IDMEFV2_OK &&
	    json_object_is_type(whole, json_type_object)) {
		size_t first = 1;

		json_object_put(whole);
		for (const char *q = data; q < end && (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n'); q++)
			if (*q == '\n')
				first++;
		message_send(ctx, name, first, data, len);
		return;
	}
	json_object_put(whole);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		line++;
		if (!blank(p, n))
			message_send(ctx, name, line, p, n);
		p = nl ? nl + 1 : end;
	}
}

static int read_all(const char *path, char **ret_data, size_t *ret_len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char *data = NULL;
	size_t len = 0, cap = 0;

	if (!f)
		return errno;
	for (;;) {
		size_t got;

		if (cap - len < 65536) {
			char *bigger = realloc(data, cap ? cap * 2 : 1 << 20);

			if (!bigger) {
				free(data);
				if (f != stdin)
					fclose(f);
				return ENOMEM;
			}
			data = bigger;
			cap = cap ? cap * 2 : 1 << 20;
		}
		got = fread(data + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		int e = errno ? errno : EIO;

		free(data);
		if (f != stdin)
			fclose(f);
		return e;
	}
	if (f != stdin)
		fclose(f);
	*ret_data = data;
	*ret_len = len;
	return 0;
}

int tool__send_main(int argc, char **argv)
{
	struct send_ctx ctx = { 0 };
	const char **opts = NULL;
	size_t n_opts = 0, unreadable = 0;
	long timeout_s = 60;
	char errstr[1024] = "";
	idmefv2_error err;
	idmefv2_transport_counters counters;
	int c, status = TOOL_EXIT_USAGE;
	size_t sent, failed, spooled, replayed_sent, replayed_failed;

	opts = calloc((size_t)argc, sizeof(*opts));
	if (!opts)
		return TOOL_EXIT_USAGE;
	while ((c = getopt_long(argc, argv, ":o:qh", send_options, NULL)) != -1) {
		switch (c) {
		case 'o': opts[n_opts++] = optarg; break;
		case 'q': ctx.quiet = true; break;
		case OPT_LIST_OPTIONS:
			tool__list_transport_options(stdout);
			status = TOOL_EXIT_OK;
			goto out;
		case OPT_TIMEOUT: {
			char *end;

			errno = 0;
			timeout_s = strtol(optarg, &end, 10);
			if (errno || *end || timeout_s < 0 || timeout_s > 86400 * 365) {
				tool__error(CMD, "--timeout %s: expected whole seconds (0 waits forever)", optarg);
				goto out;
			}
			break;
		}
		case 'h':
			fputs(tool__send_help, stdout);
			status = TOOL_EXIT_OK;
			goto out;
		default:
			status = tool__bad_option(CMD, c, argv);
			goto out;
		}
	}
	if (optind >= argc) {
		tool__error(CMD, "missing URL; see 'idmefv2 help send'");
		goto out;
	}

	err = idmefv2_transport_new(argv[optind], IDMEFV2_TRANSPORT_SENDER, &ctx.t, errstr, sizeof(errstr));
	if (err != IDMEFV2_OK) {
		tool__error(CMD, "%s: %s", argv[optind], *errstr ? errstr : idmefv2_strerror(err));
		goto out;
	}
	for (size_t i = 0; i < n_opts; i++)
		if (tool__transport_option(CMD, ctx.t, opts[i]) != TOOL_EXIT_OK)
			goto out;
	idmefv2_transport_set_delivery_cb(ctx.t, on_delivery, &ctx);
	err = idmefv2_transport_start(ctx.t, errstr, sizeof(errstr));
	if (err != IDMEFV2_OK) {
		tool__error(CMD, "%s: %s", argv[optind], *errstr ? errstr : idmefv2_strerror(err));
		goto out;
	}

	ctx.progress = !ctx.quiet && isatty(STDERR_FILENO);
	ctx.started = now_s();
	for (int i = optind + 1; i < argc || i == optind + 1; i++) {
		const char *path = i < argc ? argv[i] : "-";
		const char *name = strcmp(path, "-") == 0 ? "<stdin>" : path;
		char *data = NULL;
		size_t len = 0;
		int e = read_all(path, &data, &len);

		if (e) {
			progress_erase(&ctx);
			tool__error(CMD, "%s: %s", name, strerror(e));
			unreadable++;
			continue;
		}
		buffer_send(&ctx, name, data, len);
		free(data);
	}

	/* Wait for the outcomes, showing progress meanwhile. */
	for (double deadline = timeout_s ? now_s() + (double)timeout_s : 0;;) {
		if (idmefv2_transport_flush(ctx.t, 200) == IDMEFV2_OK)
			break;
		progress_update(&ctx, true);
		if (deadline && now_s() >= deadline) {
			progress_erase(&ctx);
			tool__error(CMD, "gave up waiting after %ld s; undelivered messages are %s", timeout_s,
			            "spooled if a spool is set, failed otherwise");
			break;
		}
	}
	idmefv2_transport_stop(ctx.t);
	progress_erase(&ctx);
	idmefv2_transport_get_counters(ctx.t, &counters);

	sent = atomic_load(&ctx.sent);
	failed = atomic_load(&ctx.failed);
	replayed_sent = atomic_load(&ctx.replayed_sent);
	replayed_failed = atomic_load(&ctx.replayed_failed);
	/* No outcome yet: left in the spool at stop, safe on disk, not yet at the peer. */
	spooled = ctx.messages - ctx.invalid - ctx.refused - sent - failed;
	fprintf(stderr, "%zu message%s: %zu sent, %zu failed, %zu invalid", ctx.messages,
	        ctx.messages == 1 ? "" : "s", sent, failed + ctx.refused, ctx.invalid);
	if (spooled)
		fprintf(stderr, ", %zu spooled", spooled);
	if (replayed_sent || replayed_failed)
		fprintf(stderr, "; from the spool: %zu sent, %zu failed", replayed_sent, replayed_failed);
	if (unreadable)
		fprintf(stderr, ", %zu file%s unreadable", unreadable, unreadable == 1 ? "" : "s");
	fprintf(stderr, " (%llu retries)\n", (unsigned long long)counters.retried);

	if (unreadable)
		status = TOOL_EXIT_USAGE;
	else if (sent == ctx.messages && !replayed_failed)
		status = TOOL_EXIT_OK;
	else
		status = TOOL_EXIT_INVALID;
out:
	idmefv2_transport_free(ctx.t);
	free(opts);
	return status;
}
