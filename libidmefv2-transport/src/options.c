/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one option table: name, type, default, schemes, range and description.
 * idmefv2_transport_options() hands the public columns to the tools'
 * --list-options, and idmefv2_transport_set() checks values against the rest.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport-generic.h"

#define ALL_SCHEMES "http,https,kafka,file"
#define HTTP_SCHEMES "http,https"
#define TLS_SCHEMES "https,kafka"
#define AUTH_SCHEMES "http,https,kafka"
#define NO_LIMIT INT64_MAX

/*
 * X(name, type, default, schemes, min, max, choices, description)
 * min/max bound INT and SIZE values; choices ("a|b") restricts a STRING.
 */
#define IDMEFV2_OPTIONS(X) \
	X("content_type", STRING, "application/json", ALL_SCHEMES, 0, 0, NULL, \
	  "Content type send() serializes to and listeners expect (application/json or text/json)") \
	X("validate", BOOL, "true", ALL_SCHEMES, 0, 0, NULL, \
	  "Sender: validate each message against its schema before queueing (listeners always validate)") \
	X("queue.size", INT, "10000", ALL_SCHEMES, 1, 100000000, NULL, \
	  "Sender: messages the in-memory send queue holds") \
	X("queue.timeout_ms", INT, "-1", ALL_SCHEMES, -1, INT32_MAX, NULL, \
	  "Sender without spool: how long send() waits for room in a full queue before it refuses the " \
	  "message with IDMEFV2_ERR_FULL (-1: until there is room or stop(), i.e. backpressure; 0: no wait)") \
	X("retry.max", INT, "-1", ALL_SCHEMES, -1, INT32_MAX, NULL, \
	  "Sender: retries after the first attempt before a message is given up (-1: retry until stop)") \
	X("retry.backoff_ms", INT, "200", ALL_SCHEMES, 1, 86400000, NULL, \
	  "Sender: first retry delay; doubles on each retry, with full jitter") \
	X("retry.backoff_max_ms", INT, "30000", ALL_SCHEMES, 1, 86400000, NULL, \
	  "Sender: upper bound of the retry delay") \
	X("spool.dir", STRING, NULL, ALL_SCHEMES, 0, 0, NULL, \
	  "Sender: directory keeping messages on disk while the queue is full or the peer is down, " \
	  "replayed in order at start (unset: no spool)") \
	X("spool.max_bytes", SIZE, "1G", ALL_SCHEMES, 1, NO_LIMIT, NULL, \
	  "Sender: spool quota; when reached send() refuses new messages with IDMEFV2_ERR_FULL " \
	  "(nothing accepted is dropped)") \
	X("dead_letter", STRING, NULL, ALL_SCHEMES, 0, 0, NULL, \
	  "Sender: file to which messages rejected for good are appended as NDJSON (unset: none)") \
	X("delivery.report_spooled", BOOL, "false", ALL_SCHEMES, 0, 0, NULL, \
	  "Sender: also call the delivery callback with IDMEFV2_DELIVERY_SPOOLED (not a final outcome) " \
	  "as soon as an accepted message is durably in the spool") \
	X("stop.flush_timeout_ms", INT, "5000", ALL_SCHEMES, -1, INT32_MAX, NULL, \
	  "Sender: how long stop() waits for delivery before spooling (or failing) what is left (-1: forever)") \
	X("listen.queue_timeout_ms", INT, "5000", ALL_SCHEMES, -1, INT32_MAX, NULL, \
	  "Listener: how long a request waits for room in the queue (or for a message callback that " \
	  "answers IDMEFV2_ERR_FULL) before it is refused with 503 and Retry-After (-1: forever; " \
	  "0: refuse at once): a full queue slows clients down rather than refusing them") \
	X("tls.verify", BOOL, "true", TLS_SCHEMES, 0, 0, NULL, \
	  "Verify the peer's certificate and name") \
	X("tls.ca_file", STRING, NULL, TLS_SCHEMES, 0, 0, NULL, \
	  "CA certificates (PEM file) to verify the peer with (unset: the system's)") \
	X("tls.ca_dir", STRING, NULL, TLS_SCHEMES, 0, 0, NULL, \
	  "Directory of hashed CA certificates to verify the peer with") \
	X("tls.cert", STRING, NULL, TLS_SCHEMES, 0, 0, NULL, \
	  "Own certificate (PEM file): the server's for a listener, the client's for mutual TLS") \
	X("tls.key", STRING, NULL, TLS_SCHEMES, 0, 0, NULL, \
	  "Private key (PEM file) of tls.cert") \
	X("tls.key_password", STRING, NULL, TLS_SCHEMES, 0, 0, NULL, \
	  "Password of an encrypted tls.key; better from tls.key_password_file or $IDMEFV2_TLS_KEY_PASSWORD, " \
	  "which command lines do not show") \
	X("tls.key_password_file", STRING, NULL, TLS_SCHEMES, 0, 0, NULL, \
	  "File whose first line is tls.key_password (not readable by others; used when tls.key_password " \
	  "is unset, before $IDMEFV2_TLS_KEY_PASSWORD)") \
	X("tls.min_version", STRING, "1.2", TLS_SCHEMES, 0, 0, "1.2|1.3", \
	  "Lowest TLS version accepted: 1.2 or 1.3") \
	X("tls.client_ca", STRING, NULL, "https", 0, 0, NULL, \
	  "Listener: require client certificates signed by this CA (PEM file): mutual TLS") \
	X("tls.allowed_peers", STRING, NULL, "https", 0, 0, NULL, \
	  "Listener: comma-separated names of the client certificates allowed, matched against " \
	  "their subjectAltName DNS names, or against the CN only when the certificate has no " \
	  "subjectAltName identifier (RFC 6125) (unset: any)") \
	X("auth.username", STRING, NULL, AUTH_SCHEMES, 0, 0, NULL, \
	  "User name for Basic authentication (listener: required from clients)") \
	X("auth.password", STRING, NULL, AUTH_SCHEMES, 0, 0, NULL, \
	  "Password for Basic authentication; better from auth.password_file or $IDMEFV2_AUTH_PASSWORD, " \
	  "which command lines do not show") \
	X("auth.password_file", STRING, NULL, AUTH_SCHEMES, 0, 0, NULL, \
	  "File whose first line is auth.password (not readable by others; used when auth.password is " \
	  "unset, before $IDMEFV2_AUTH_PASSWORD)") \
	X("auth.bearer_token", STRING, NULL, AUTH_SCHEMES, 0, 0, NULL, \
	  "Bearer token (Authorization: Bearer; listener: required from clients); better from " \
	  "auth.bearer_token_file or $IDMEFV2_AUTH_BEARER_TOKEN (http, https), which command lines do not show") \
	X("auth.bearer_token_file", STRING, NULL, AUTH_SCHEMES, 0, 0, NULL, \
	  "File whose first line is auth.bearer_token (not readable by others; used when " \
	  "auth.bearer_token is unset, before $IDMEFV2_AUTH_BEARER_TOKEN)") \
	X("http.timeout_ms", INT, "10000", HTTP_SCHEMES, 1, INT32_MAX, NULL, \
	  "Sender: total time allowed per request") \
	X("http.connect_timeout_ms", INT, "5000", HTTP_SCHEMES, 1, INT32_MAX, NULL, \
	  "Sender: time allowed to connect") \
	X("http.max_in_flight", INT, "8", HTTP_SCHEMES, 1, 1024, NULL, \
	  "Sender: requests in flight at once") \
	X("http.http2", BOOL, "true", HTTP_SCHEMES, 0, 0, NULL, \
	  "Sender: use HTTP/2 where the server offers it over TLS") \
	X("http.batch", INT, "1", HTTP_SCHEMES, 1, 100000, NULL, \
	  "Sender: messages per request; above 1, requests carry application/x-ndjson batches") \
	X("httpd.max_body", SIZE, "1M", HTTP_SCHEMES, 1, INT32_MAX, NULL, \
	  "Listener: largest request body accepted (413 above)") \
	X("httpd.any_path", BOOL, "false", HTTP_SCHEMES, 0, 0, NULL, \
	  "Listener: accept POSTs to any path, not only the URL's") \
	X("httpd.threads", INT, "4", HTTP_SCHEMES, 0, 256, NULL, \
	  "Listener: N = a pool of N epoll threads shared by all connections (idle and slow connections " \
	  "cost no thread); 0 = one thread per connection") \
	X("httpd.max_connections", INT, "4096", HTTP_SCHEMES, 1, 65536, NULL, \
	  "Listener: most client connections open at once (more are refused until one closes; each " \
	  "needs a file descriptor)") \
	X("httpd.bind", STRING, NULL, HTTP_SCHEMES, 0, 0, NULL, \
	  "Listener: address to bind (unset: the URL's host)") \
	X("group_id", STRING, "idmefv2", "kafka", 0, 0, NULL, \
	  "Listener: Kafka consumer group") \
	X("record_key", STRING, NULL, "kafka", 0, 0, NULL, \
	  "Sender: IDMEF path whose value keys each record, e.g. Analyzer.IP (unset: no key)") \
	X("dead_letter_topic", STRING, NULL, "kafka", 0, 0, NULL, \
	  "Listener: topic invalid records are copied to (unset: none)") \
	X("file.extension", STRING, ".json", "file", 0, 0, NULL, \
	  "Sender: suffix of the files written") \
	X("httpd.request_timeout_ms", INT, "10000", HTTP_SCHEMES, 100, INT32_MAX, NULL, \
	  "Listener: time a client has, once its request line arrived, to send the headers and the " \
	  "body; the connection is closed past it (slow clients, slowloris)") \
	X("httpd.idle_timeout_ms", INT, "60000", HTTP_SCHEMES, 100, INT32_MAX, NULL, \
	  "Listener: time a connection may stay open without sending a request line (after it opened, " \
	  "or between keep-alive requests), however it trickles bytes; closed past it") \
	X("httpd.max_connections_per_ip", INT, "1024", HTTP_SCHEMES, 0, 65536, NULL, \
	  "Listener: most connections open at once from one client address (0: no limit)") \
	X("httpd.max_decompressed", SIZE, "16M", HTTP_SCHEMES, 1, INT32_MAX, NULL, \
	  "Listener: largest body accepted once a Content-Encoding: gzip body is inflated (413 above: " \
	  "zip bombs); httpd.max_body bounds the bytes as sent") \
	X("http.compress", STRING, "none", HTTP_SCHEMES, 0, 0, "none|gzip", \
	  "Sender: gzip NDJSON batch bodies (http.batch above 1; Content-Encoding: gzip, level 1); single " \
	  "messages go as they are")

#define OPTION_DESC(name, type, def, schemes, min, max, choices, descr) \
	{ name, IDMEFV2_OPTION_##type, def, schemes, descr },
#define OPTION_LIMITS(name, type, def, schemes, min, max, choices, descr) \
	{ min, max, choices },

static const idmefv2_option_desc options[] = {
	IDMEFV2_OPTIONS(OPTION_DESC)
};

struct option_limits {
	int64_t min;
	int64_t max;
	const char *choices;
};

static const struct option_limits limits[] = {
	IDMEFV2_OPTIONS(OPTION_LIMITS)
};

_Static_assert(sizeof(options) / sizeof(options[0]) == sizeof(limits) / sizeof(limits[0]),
               "one limit row per option");

#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

IDMEFV2_EXPORT const idmefv2_option_desc *idmefv2_transport_options(size_t *ret_count)
{
	if (ret_count)
		*ret_count = N_OPTIONS;
	return options;
}


const idmefv2_option_desc *idmefv2__option_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (strcmp(options[i].name, name) == 0)
			return &options[i];
	return NULL;
}

bool idmefv2__option_applies(const idmefv2_option_desc *desc, const char *scheme)
{
	size_t n = strlen(scheme);
	const char *p = desc->schemes;

	while (*p) {
		size_t len = strcspn(p, ",");
		if (len == n && strncmp(p, scheme, n) == 0)
			return true;
		p += len;
		if (*p == ',')
			p++;
	}
	return false;
}

static bool parse_bool(const char *value, int64_t *ret)
{
	static const char *const yes[] = {"true", "1", "yes", "on"};
	static const char *const no[] = {"false", "0", "no", "off"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(value, yes[i]) == 0) {
			*ret = 1;
			return true;
		}
		if (strcasecmp(value, no[i]) == 0) {
			*ret = 0;
			return true;
		}
	}
	return false;
}

bool idmefv2__option_parse_number(idmefv2_option_type type, const char *value, int64_t *ret_number)
{
	char *end;
	long long n;
	int64_t mult = 1;

	if (!value || !*value)
		return false;
	if (type == IDMEFV2_OPTION_BOOL)
		return parse_bool(value, ret_number);
	if (type != IDMEFV2_OPTION_INT && type != IDMEFV2_OPTION_SIZE)
		return false;
	if (isspace((unsigned char)value[0]))
		return false;
	errno = 0;
	n = strtoll(value, &end, 10);
	if (errno != 0 || end == value)
		return false;
	if (type == IDMEFV2_OPTION_SIZE && *end) {
		switch (*end) {
		case 'k': case 'K': mult = INT64_C(1) << 10; break;
		case 'm': case 'M': mult = INT64_C(1) << 20; break;
		case 'g': case 'G': mult = INT64_C(1) << 30; break;
		case 't': case 'T': mult = INT64_C(1) << 40; break;
		default: return false;
		}
		end++;
		/* "1KiB" and "1kB" read naturally too. */
		if (*end == 'i' || *end == 'I')
			end++;
		if (*end == 'b' || *end == 'B')
			end++;
	}
	if (*end)
		return false;
	if (type == IDMEFV2_OPTION_SIZE && n < 0)
		return false;
	if (n != 0 && (n > INT64_MAX / mult || n < INT64_MIN / mult))
		return false;
	*ret_number = (int64_t)n * mult;
	return true;
}

static const char *type_name(idmefv2_option_type type)
{
	switch (type) {
	case IDMEFV2_OPTION_STRING: return "a string";
	case IDMEFV2_OPTION_INT: return "an integer";
	case IDMEFV2_OPTION_BOOL: return "a boolean (true/false)";
	case IDMEFV2_OPTION_SIZE: return "a size in bytes (suffix k, M or G allowed)";
	}
	return "?";
}

static bool in_choices(const char *choices, const char *value)
{
	size_t n = strlen(value);
	const char *p = choices;

	while (*p) {
		size_t len = strcspn(p, "|");
		if (len == n && strncmp(p, value, n) == 0)
			return true;
		p += len;
		if (*p == '|')
			p++;
	}
	return false;
}

idmefv2_error idmefv2__option_check(const idmefv2_option_desc *desc, const char *value,
                                    int64_t *ret_number, char *errstr, size_t errstr_size)
{
	const struct option_limits *lim = &limits[desc - options];
	int64_t n = 0;

	if (!value) {
		idmefv2__set_error(errstr, errstr_size, "%s: no value", desc->name);
		return IDMEFV2_ERR_INVALID_ARG;
	}
	if (desc->type == IDMEFV2_OPTION_STRING) {
		if (lim->choices && !in_choices(lim->choices, value)) {
			idmefv2__set_error(errstr, errstr_size, "%s: '%s' is not one of %s", desc->name, value,
			                   lim->choices);
			return IDMEFV2_ERR_INVALID_ARG;
		}
		if (strcmp(desc->name, "content_type") == 0 && !idmefv2_content_type_supported(value)) {
			idmefv2__set_error(errstr, errstr_size, "content_type: '%s' is not supported "
			                   "(application/json or text/json)", value);
			return IDMEFV2_ERR_INVALID_ARG;
		}
		if (strcmp(desc->name, "file.extension") == 0 && strchr(value, '/')) {
			idmefv2__set_error(errstr, errstr_size, "file.extension: '%s' contains '/'", value);
			return IDMEFV2_ERR_INVALID_ARG;
		}
		return IDMEFV2_OK;
	}
	if (!idmefv2__option_parse_number(desc->type, value, &n)) {
		idmefv2__set_error(errstr, errstr_size, "%s: '%s' is not %s", desc->name, value,
		                   type_name(desc->type));
		return IDMEFV2_ERR_INVALID_ARG;
	}
	if (desc->type != IDMEFV2_OPTION_BOOL && (n < lim->min || n > lim->max)) {
		if (lim->max == NO_LIMIT)
			idmefv2__set_error(errstr, errstr_size, "%s: %s is out of range (at least %" PRId64 ")",
			                   desc->name, value, lim->min);
		else
			idmefv2__set_error(errstr, errstr_size, "%s: %s is out of range (%" PRId64 " to %" PRId64 ")",
			                   desc->name, value, lim->min, lim->max);
		return IDMEFV2_ERR_INVALID_ARG;
	}
	if (ret_number)
		*ret_number = n;
	return IDMEFV2_OK;
}
