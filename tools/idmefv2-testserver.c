/* SPDX-License-Identifier: Apache-2.0 */
/*
 * idmefv2-testserver: a development HTTP receiver that logs and validates every
 * message, replacing the Python idmefv2-connectors test server. By default it
 * answers with the libidmefv2-transport listener's status codes; --compat
 * answers like the Python server (200 valid, 500 + text/plain error, 501 GET),
 * which needs a handler of its own since the listener speaks the draft's 2xx/4xx.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include <idmefv2/message.h>
#include <idmefv2/schema.h>
#include <idmefv2/transport.h>

#define PROG "idmefv2-testserver"
#define EXIT_USAGE 2
/* The Python server reads any Content-Length; a bound keeps a typo from eating memory. */
#define MAX_BODY (16u << 20)

static const char usage_text[] =
	"Usage: " PROG " [OPTIONS]\n"
	"\n"
	"Receive IDMEFv2 messages over HTTP POST (any path), log each request and\n"
	"validate it against the schema of its Version. The listening address is\n"
	"printed on standard error at start; SIGINT or SIGTERM stops, and the counts\n"
	"go to standard error: N requests: N valid, N invalid\n"
	"\n"
	"Options:\n"
	"  -p, --port PORT     TCP port (default 8888; 0 picks a free one)\n"
	"  -b, --bind ADDR     address to listen on (default 127.0.0.1)\n"
	"  -l, --log-level L   DEBUG (also the bodies), INFO (default: one line per\n"
	"                      message), WARNING, ERROR\n"
	"      --compat        answer like the Python test server: 200 valid,\n"
	"                      500 with a text/plain error otherwise, 501 for GET\n"
	"                      (default: the libidmefv2-transport listener's codes,\n"
	"                      204 valid, 400 invalid, 415, 413, ...)\n"
	"      --count N       stop after N messages (valid or invalid)\n"
	"  -h, --help          show this help and exit\n"
	"\n"
	"Exit status: 0 stopped normally, 2 usage error or could not listen.\n";

enum { OPT_COMPAT = 256, OPT_COUNT };

static const struct option long_options[] = {
	{ "port", required_argument, NULL, 'p' },
	{ "bind", required_argument, NULL, 'b' },
	{ "log-level", required_argument, NULL, 'l' },
	{ "compat", no_argument, NULL, OPT_COMPAT },
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static volatile sig_atomic_t stop_requested;
static int log_level = IDMEFV2_LOG_INFO;
static atomic_ulong n_requests, n_valid, n_invalid, n_finished;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static const char *level_name(int level)
{
	switch (level) {
	case IDMEFV2_LOG_ERROR: return "ERROR";
	case IDMEFV2_LOG_WARNING: return "WARNING";
	case IDMEFV2_LOG_INFO: return "INFO";
	default: return "DEBUG";
	}
}

static void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One fprintf per line, so lines from handler threads never interleave. */
static void log_msg(int level, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, PROG ": %s: %s\n", level_name(level), buf);
}

static int parse_level(const char *s)
{
	if (!strcasecmp(s, "DEBUG"))
		return IDMEFV2_LOG_DEBUG;
	if (!strcasecmp(s, "INFO"))
		return IDMEFV2_LOG_INFO;
	if (!strcasecmp(s, "WARNING") || !strcasecmp(s, "WARN"))
		return IDMEFV2_LOG_WARNING;
	if (!strcasecmp(s, "ERROR") || !strcasecmp(s, "CRITICAL"))
		return IDMEFV2_LOG_ERROR;
	return -1;
}

static bool parse_ulong(const char *s, unsigned long max, unsigned long *ret)
{
	char *end;
	unsigned long v;

	if (!*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*ret = v;
	return true;
}

static const char *message_id(const idmefv2_message *msg)
{
	const char *id = NULL;

	if (idmefv2_message_get_string(msg, "ID", &id, NULL, NULL, 0) != IDMEFV2_OK)
		return "?";
	return id;
}

/* ---- default mode: the transport listener ------------------------------------------ */

static idmefv2_error on_message(idmefv2_transport *t, idmefv2_message *msg, void *user_data)
{
	(void)t;
	(void)user_data;
	atomic_fetch_add(&n_requests, 1);
	atomic_fetch_add(&n_valid, 1);
	log_msg(IDMEFV2_LOG_INFO, "valid %s message %s", idmefv2_message_get_version(msg), message_id(msg));
	if (log_level >= IDMEFV2_LOG_DEBUG) {
		const char *data;
		size_t len;

		if (idmefv2_message_serialize(msg, "application/json", IDMEFV2_SERIALIZE_NO_VALIDATE, &data, &len,
		                              NULL, NULL, 0) == IDMEFV2_OK)
			log_msg(IDMEFV2_LOG_DEBUG, "body: %s", data);
	}
	return IDMEFV2_OK;
}

static void on_transport_log(idmefv2_log_level level, const char *message, void *user_data)
{
	(void)user_data;
	if (!strncmp(message, "listening on", 12))
		return; /* main() prints its own, with the URL */
	/* The listener reports each refused message at INFO as "4xx to PEER: why". */
	if (level == IDMEFV2_LOG_INFO && message[0] == '4')
		log_msg(IDMEFV2_LOG_INFO, "invalid: %s", message);
	else
		log_msg((int)level, "%s", message);
}

/* @host is the address as written in a URL (IPv6 in brackets). */
static int run_listener(const char *host, unsigned long port, unsigned long count)
{
	char url[512];
	idmefv2_transport *t = NULL;
	idmefv2_transport_counters c;
	char errstr[1024] = "";
	idmefv2_error err;
	int status = EXIT_USAGE;

	snprintf(url, sizeof(url), "http://%s:%lu/", host, port);
	err = idmefv2_transport_new(url, IDMEFV2_TRANSPORT_LISTENER, &t, errstr, sizeof(errstr));
	if (err == IDMEFV2_OK)
		err = idmefv2_transport_set(t, "httpd.any_path", "true", errstr, sizeof(errstr));
	if (err != IDMEFV2_OK)
		goto fail;
	idmefv2_transport_set_message_cb(t, on_message, NULL);
	idmefv2_transport_set_log_cb(t, on_transport_log, NULL);
	err = idmefv2_transport_start(t, errstr, sizeof(errstr));
	if (err != IDMEFV2_OK)
		goto fail;
	fprintf(stderr, PROG ": listening on http://%s:%u/\n", host, idmefv2_transport_get_port(t));
	fflush(stderr);

	status = EXIT_SUCCESS;
	for (;;) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		idmefv2_transport_get_counters(t, &c);
		if (stop_requested || (count && atomic_load(&n_valid) + c.invalid >= count))
			break;
		nanosleep(&ts, NULL);
	}
	/* stop() lets the requests under way finish, so the last client gets its answer. */
	idmefv2_transport_stop(t);
	idmefv2_transport_get_counters(t, &c);
	atomic_fetch_add(&n_requests, (unsigned long)c.invalid);
	atomic_store(&n_invalid, (unsigned long)c.invalid);
	goto out;
fail:
	fprintf(stderr, PROG ": %s: %s\n", url, *errstr ? errstr : idmefv2_strerror(err));
out:
	idmefv2_transport_free(t);
	return status;
}

/* ---- --compat: the Python test server's answers ------------------------------------ */

struct request {
	char *body;
	size_t len;
	bool too_large;
};

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned code, const char *text)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(text ? strlen(text) : 0, (void *)(text ? text : ""),
	                                       MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	if (text)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	ret = MHD_queue_response(conn, code, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Check @rq's body as the Python server does; returns the HTTP status and fills @text on failure. */
static unsigned check_body(const struct request *rq, char *text, size_t text_size)
{
	idmefv2_message *msg = NULL;
	idmefv2_report *report = NULL;
	char errstr[1024] = "";
	idmefv2_error err;

	if (rq->too_large) {
		snprintf(text, text_size, "Request body larger than %u bytes\n", MAX_BODY);
		atomic_fetch_add(&n_invalid, 1);
		log_msg(IDMEFV2_LOG_INFO, "invalid: body larger than %u bytes", MAX_BODY);
		return 500;
	}
	/* Content-Type is not checked: the Python server always parses JSON. */
	err = idmefv2_message_unserialize("application/json", rq->body ? rq->body : "", rq->len, 0, &msg,
	                                  &report, errstr, sizeof(errstr));
	if (err == IDMEFV2_OK) {
		atomic_fetch_add(&n_valid, 1);
		log_msg(IDMEFV2_LOG_INFO, "valid %s message %s", idmefv2_message_get_version(msg),
		        message_id(msg));
		idmefv2_message_unref(msg);
		return 200;
	}
	if (report && idmefv2_report_count(report) > 0) {
		const char *ptr = idmefv2_report_instance_path(report, 0);

		snprintf(text, text_size, "%s: %s\n", ptr && *ptr ? ptr : "/",
		         idmefv2_report_message(report, 0));
	} else if (err == IDMEFV2_ERR_PARSE) {
		snprintf(text, text_size, "Invalid JSON: %s\n", errstr);
	} else {
		snprintf(text, text_size, "%s\n", *errstr ? errstr : idmefv2_strerror(err));
	}
	idmefv2_report_free(report);
	atomic_fetch_add(&n_invalid, 1);
	log_msg(IDMEFV2_LOG_INFO, "invalid: %.*s", (int)strcspn(text, "\n"), text);
	return 500;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	struct request *rq = *con_cls;
	char text[2048];
	unsigned code;

	(void)cls;
	(void)version;
	if (!rq) {
		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (!rq->too_large && rq->len + *upload_data_size <= MAX_BODY) {
			char *b = realloc(rq->body, rq->len + *upload_data_size + 1);

			if (!b)
				return MHD_NO;
			memcpy(b + rq->len, upload_data, *upload_data_size);
			rq->body = b;
			rq->len += *upload_data_size;
			rq->body[rq->len] = '\0';
		} else {
			rq->too_large = true;
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	atomic_fetch_add(&n_requests, 1);
	if (strcmp(method, MHD_HTTP_METHOD_POST) != 0) {
		log_msg(IDMEFV2_LOG_INFO, "%s %s: 501 not implemented", method, url);
		return reply(conn, 501, NULL);
	}
	log_msg(IDMEFV2_LOG_DEBUG, "POST %s body: %.*s", url, (int)(rq->len < 1800 ? rq->len : 1800),
	        rq->body ? rq->body : "");
	*text = '\0';
	code = check_body(rq, text, sizeof(text));
	return reply(conn, code, code == 200 ? NULL : text);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct request *rq = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (!rq)
		return;
	free(rq->body);
	free(rq);
	*con_cls = NULL;
	atomic_fetch_add(&n_finished, 1);
}

static int run_compat(const char *addr, unsigned long port, unsigned long count)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *info;
	bool v6 = strchr(addr, ':') != NULL;

	memset(&ss, 0, sizeof(ss));
	if (v6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) != 1)
			goto bad_addr;
		flags |= MHD_USE_IPv6;
	} else {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, addr, &sin->sin_addr) != 1)
			goto bad_addr;
	}
	d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, NULL,
	                     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	                     MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
	                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
	                     MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, PROG ": cannot listen on %s port %lu\n", addr, port);
		return EXIT_USAGE;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	fprintf(stderr, PROG ": listening on http://%s%s%s:%u/\n", v6 ? "[" : "", addr, v6 ? "]" : "",
	        info ? (unsigned)info->port : (unsigned)port);
	fflush(stderr);
	for (;;) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		/* Counted once the answer is sent, so --count never cuts off the last reply. */
		if (stop_requested ||
		    (count && atomic_load(&n_finished) >= count &&
		     atomic_load(&n_valid) + atomic_load(&n_invalid) >= count))
			break;
		nanosleep(&ts, NULL);
	}
	MHD_stop_daemon(d);
	return EXIT_SUCCESS;
bad_addr:
	fprintf(stderr, PROG ": -b %s: not an IP address\n", addr);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	const char *addr = "127.0.0.1";
	unsigned long port = 8888, count = 0;
	bool compat = false;
	struct sigaction sa;
	int c, status;

	while ((c = getopt_long(argc, argv, "p:b:l:h", long_options, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (!parse_ulong(optarg, 65535, &port)) {
				fprintf(stderr, PROG ": -p %s: expected a port number (0-65535)\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'b':
			addr = optarg;
			break;
		case 'l':
			log_level = parse_level(optarg);
			if (log_level < 0) {
				fprintf(stderr, PROG ": -l %s: expected DEBUG, INFO, WARNING or ERROR\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_COMPAT:
			compat = true;
			break;
		case OPT_COUNT:
			if (!parse_ulong(optarg, ~0ul, &count) || count == 0) {
				fprintf(stderr, PROG ": --count %s: expected a positive number\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			fputs(usage_text, stdout);
			return EXIT_SUCCESS;
		default:
			fprintf(stderr, "Try '" PROG " --help'.\n");
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (compat) {
		status = run_compat(addr, port, count);
	} else {
		char host[128];
		struct in6_addr a6;

		if (inet_pton(AF_INET6, addr, &a6) == 1)
			snprintf(host, sizeof(host), "[%s]", addr);
		else
			snprintf(host, sizeof(host), "%s", addr);
		status = run_listener(host, port, count);
	}
	if (status == EXIT_SUCCESS)
		fprintf(stderr, "%lu request%s: %lu valid, %lu invalid\n", atomic_load(&n_requests),
		        atomic_load(&n_requests) == 1 ? "" : "s", atomic_load(&n_valid), atomic_load(&n_invalid));
	return status;
}
