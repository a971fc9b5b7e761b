/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "mozdef-private.h"

enum opt_kind {
	OPT_INT,
	OPT_BOOL,
	OPT_STRING,
	OPT_FACILITY,
	OPT_PROTOCOL,
	OPT_FORMAT,
};

struct opt_def {
	mozdef_option_info info;
	enum opt_kind kind;
	size_t offset;
	long min, max;
};

#define OFF(field) offsetof(struct mozdef_options, field)

/* The one table of every key: mozdef_option_list() shows it, set() parses by it,
 * client_new() applies its defaults. */
static const struct opt_def options[] = {
	{ { "http.timeout_ms", "int", "10000", "whole request timeout, 1..3600000 ms" }, OPT_INT,
	  OFF(http_timeout_ms), 1, 3600000 },
	{ { "http.connect_timeout_ms", "int", "5000", "connection timeout, 1..3600000 ms" }, OPT_INT,
	  OFF(http_connect_timeout_ms), 1, 3600000 },
	{ { "http.retries", "int", "3", "retries after a 5xx answer or a connection failure, 0..100" }, OPT_INT,
	  OFF(http_retries), 0, 100 },
	{ { "http.retry_backoff_ms", "int", "200", "first retry delay, doubled each retry, 0..600000 ms" }, OPT_INT,
	  OFF(http_retry_backoff_ms), 0, 600000 },
	{ { "http.retry_backoff_max_ms", "int", "10000", "longest retry delay, 0..3600000 ms" }, OPT_INT,
	  OFF(http_retry_backoff_max_ms), 0, 3600000 },
	{ { "http.user_agent", "string", "libmozdef/" MOZDEF_VERSION, "User-Agent header" }, OPT_STRING,
	  OFF(http_user_agent), 0, 0 },
	{ { "http.proxy", "string", "", "proxy URL; empty: none (proxy environment variables are ignored)" },
	  OPT_STRING, OFF(http_proxy), 0, 0 },
	{ { "tls.verify", "bool", "true", "verify the server certificate and host name" }, OPT_BOOL,
	  OFF(tls_verify), 0, 0 },
	{ { "tls.ca_path", "string", "", "CA bundle file or hashed CA directory; empty: the system store" },
	  OPT_STRING, OFF(tls_ca_path), 0, 0 },
	{ { "async.queue_size", "int", "10000", "events queued for the worker at most, 1..10000000" }, OPT_INT,
	  OFF(async_queue_size), 1, 10000000 },
	{ { "async.block", "bool", "true", "send_async waits for room when the queue is full (false: fails)" },
	  OPT_BOOL, OFF(async_block), 0, 0 },
	{ { "async.max_connections", "int", "4", "requests in flight at once, 1..256" }, OPT_INT,
	  OFF(async_max_connections), 1, 256 },
	{ { "bulk.enabled", "bool", "false", "group queued events into NDJSON POSTs to bulk.url" }, OPT_BOOL,
	  OFF(bulk_enabled), 0, 0 },
	{ { "bulk.max_events", "int", "500", "events per bulk POST at most, 1..100000" }, OPT_INT,
	  OFF(bulk_max_events), 1, 100000 },
	{ { "bulk.url", "string", "", "bulk endpoint; empty: the URL's scheme, host and port with /_bulk" },
	  OPT_STRING, OFF(bulk_url), 0, 0 },
	{ { "syslog.enabled", "bool", "false", "also write each event to syslog" }, OPT_BOOL,
	  OFF(syslog_enabled), 0, 0 },
	{ { "syslog.only", "bool", "false", "with syslog.enabled: write to syslog only (no SQS, no HTTP)" },
	  OPT_BOOL, OFF(syslog_only), 0, 0 },
	{ { "syslog.ident", "string", "", "syslog tag; empty: the program's base name" }, OPT_STRING,
	  OFF(syslog_ident), 0, 0 },
	{ { "syslog.facility", "string", "user",
	    "kern, user, mail, daemon, auth, syslog, lpr, news, uucp, cron, authpriv, ftp, local0..local7" },
	  OPT_FACILITY, OFF(syslog_facility), 0, 0 },
	{ { "syslog.socket", "string", "/dev/log", "local datagram socket, used unless syslog.server is set" },
	  OPT_STRING, OFF(syslog_socket), 0, 0 },
	{ { "syslog.server", "string", "", "remote syslog HOST:PORT (port 514 if left out)" }, OPT_STRING,
	  OFF(syslog_server), 0, 0 },
	{ { "syslog.protocol", "string", "udp", "to syslog.server: udp or tcp (octet-counted frames)" },
	  OPT_PROTOCOL, OFF(syslog_tcp), 0, 0 },
	{ { "syslog.format", "string", "3164", "3164 (BSD) or 5424 (structured header)" }, OPT_FORMAT,
	  OFF(syslog_5424), 0, 0 },
	{ { "sqs.queue", "string", "", "SQS queue name; set: events go to SQS instead of HTTP" }, OPT_STRING,
	  OFF(sqs_queue), 0, 0 },
	{ { "sqs.region", "string", "", "AWS region of the queue, e.g. us-west-2 (required with sqs.queue)" },
	  OPT_STRING, OFF(sqs_region), 0, 0 },
	{ { "sqs.account_id", "string", "", "AWS account owning the queue, when it is not the caller's" },
	  OPT_STRING, OFF(sqs_account_id), 0, 0 },
	{ { "sqs.endpoint", "string", "", "SQS endpoint URL; empty: https://sqs.REGION.amazonaws.com/" },
	  OPT_STRING, OFF(sqs_endpoint), 0, 0 },
	{ { "sqs.profile", "string", "", "credentials profile; empty: $AWS_PROFILE, else default" }, OPT_STRING,
	  OFF(sqs_profile), 0, 0 },
	{ { "sqs.credentials_file", "string", "",
	    "shared credentials file; empty: $AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials" },
	  OPT_STRING, OFF(sqs_credentials_file), 0, 0 },
};

#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

static mozdef_option_info option_infos[N_OPTIONS];
static pthread_once_t option_infos_once = PTHREAD_ONCE_INIT;

static void option_infos_init(void)
{
	for (size_t i = 0; i < N_OPTIONS; i++)
		option_infos[i] = options[i].info;
}

MOZDEF_EXPORT const mozdef_option_info *mozdef_option_list(size_t *ret_count)
{
	pthread_once(&option_infos_once, option_infos_init);
	if (ret_count)
		*ret_count = N_OPTIONS;
	return option_infos;
}

static bool parse_bool(const char *v, bool *ret)
{
	static const char *const yes[] = { "true", "1", "yes", "on" };
	static const char *const no[] = { "false", "0", "no", "off" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*ret = true;
			return true;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*ret = false;
			return true;
		}
	}
	return false;
}

static mozdef_error option_apply(struct mozdef_options *o, const struct opt_def *d, const char *value,
                                 char *errstr, size_t errstr_size)
{
	char *base = (char *)o + d->offset;
	char *end;
	long n;
	bool b;
	int fac;

	switch (d->kind) {
	case OPT_INT:
		errno = 0;
		n = strtol(value, &end, 10);
		if (errno || end == value || *end || n < d->min || n > d->max) {
			mozdef__set_error(errstr, errstr_size, "%s: \"%s\" is not an integer in %ld..%ld", d->info.name,
			                  value, d->min, d->max);
			return MOZDEF_ERR_OPTION_VALUE;
		}
		*(long *)base = n;
		return MOZDEF_OK;
	case OPT_BOOL:
		if (!parse_bool(value, &b)) {
			mozdef__set_error(errstr, errstr_size, "%s: \"%s\" is not true or false", d->info.name, value);
			return MOZDEF_ERR_OPTION_VALUE;
		}
		*(bool *)base = b;
		return MOZDEF_OK;
	case OPT_STRING: {
		char *copy = NULL;
		if (*value && !(copy = strdup(value)))
			return MOZDEF_ERR_NOMEM;
		free(*(char **)base);
		*(char **)base = copy;
		return MOZDEF_OK;
	}
	case OPT_FACILITY:
		fac = mozdef__facility_from_string(value);
		if (fac < 0) {
			mozdef__set_error(errstr, errstr_size, "%s: unknown facility \"%s\" (%s)", d->info.name, value,
			                  d->info.description);
			return MOZDEF_ERR_OPTION_VALUE;
		}
		*(int *)base = fac;
		return MOZDEF_OK;
	case OPT_PROTOCOL:
		if (strcasecmp(value, "udp") != 0 && strcasecmp(value, "tcp") != 0) {
			mozdef__set_error(errstr, errstr_size, "%s: \"%s\" is not udp or tcp", d->info.name, value);
			return MOZDEF_ERR_OPTION_VALUE;
		}
		*(bool *)base = strcasecmp(value, "tcp") == 0;
		return MOZDEF_OK;
	case OPT_FORMAT:
		if (strcmp(value, "3164") != 0 && strcmp(value, "5424") != 0) {
			mozdef__set_error(errstr, errstr_size, "%s: \"%s\" is not 3164 or 5424", d->info.name, value);
			return MOZDEF_ERR_OPTION_VALUE;
		}
		*(bool *)base = strcmp(value, "5424") == 0;
		return MOZDEF_OK;
	}
	return MOZDEF_ERR_OPTION_VALUE;
}

static void options_free(struct mozdef_options *o)
{
	for (size_t i = 0; i < N_OPTIONS; i++) {
		if (options[i].kind == OPT_STRING) {
			char **slot = (char **)((char *)o + options[i].offset);
			free(*slot);
			*slot = NULL;
		}
	}
}

static bool url_is_http(const char *url)
{
	return strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

MOZDEF_EXPORT mozdef_error mozdef_client_new(const char *url, mozdef_client **ret_client, char *errstr,
                                             size_t errstr_size)
{
	mozdef_client *c;
	mozdef_error err;

	if (!ret_client)
		return MOZDEF_ERR_INVALID_ARG;
	if (url && !url_is_http(url)) {
		mozdef__set_error(errstr, errstr_size, "url: \"%s\" is not an http:// or https:// URL", url);
		return MOZDEF_ERR_OPTION_VALUE;
	}
	pthread_once(&curl_once, curl_init_once);
	c = calloc(1, sizeof(*c));
	if (!c)
		return MOZDEF_ERR_NOMEM;
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->sync_lock, NULL);
	if (url && !(c->url = strdup(url))) {
		err = MOZDEF_ERR_NOMEM;
		goto fail;
	}
	for (size_t i = 0; i < N_OPTIONS; i++) {
		err = option_apply(&c->opt, &options[i], options[i].info.default_value, errstr, errstr_size);
		if (err != MOZDEF_OK)
			goto fail;
	}
	*ret_client = c;
	return MOZDEF_OK;
fail:
	mozdef_client_free(c);
	return err;
}

MOZDEF_EXPORT void mozdef_client_free(mozdef_client *client)
{
	if (!client)
		return;
	mozdef__async_stop(client);
	mozdef__syslog_close(client);
	if (client->sync_easy)
		curl_easy_cleanup(client->sync_easy);
	options_free(&client->opt);
	free(client->sqs_queue_url);
	free(client->url);
	pthread_mutex_destroy(&client->sync_lock);
	pthread_mutex_destroy(&client->lock);
	free(client);
}

MOZDEF_EXPORT mozdef_error mozdef_client_set(mozdef_client *client, const char *key, const char *value,
                                             char *errstr, size_t errstr_size)
{
	mozdef_error err;

	if (!client || !key || !value)
		return MOZDEF_ERR_INVALID_ARG;
	for (size_t i = 0; i < N_OPTIONS; i++) {
		if (strcmp(options[i].info.name, key) != 0)
			continue;
		pthread_mutex_lock(&client->lock);
		err = option_apply(&client->opt, &options[i], value, errstr, errstr_size);
		/* A changed destination must not reuse the old socket or queue URL. */
		if (err == MOZDEF_OK && strncmp(key, "syslog.", 7) == 0) {
			pthread_mutex_unlock(&client->lock);
			mozdef__syslog_close(client);
			return MOZDEF_OK;
		}
		if (err == MOZDEF_OK && strncmp(key, "sqs.", 4) == 0) {
			free(client->sqs_queue_url);
			client->sqs_queue_url = NULL;
		}
		pthread_mutex_unlock(&client->lock);
		return err;
	}
	mozdef__set_error(errstr, errstr_size, "%s: unknown option", key);
	return MOZDEF_ERR_UNKNOWN_OPTION;
}

MOZDEF_EXPORT void mozdef_client_set_callback(mozdef_client *client, mozdef_completion_cb cb, void *user_data)
{
	pthread_mutex_lock(&client->lock);
	client->cb = cb;
	client->cb_user = user_data;
	pthread_mutex_unlock(&client->lock);
}

/* Where a send goes once syslog is done. */
enum route {
	ROUTE_NONE,
	ROUTE_HTTP,
	ROUTE_SQS,
};

struct plan {
	bool syslog;
	enum route route;
};

static mozdef_error plan_send(mozdef_client *c, struct plan *p, char *errstr, size_t errstr_size)
{
	pthread_mutex_lock(&c->lock);
	p->syslog = c->opt.syslog_enabled;
	if (p->syslog && c->opt.syslog_only)
		p->route = ROUTE_NONE;
	else if (c->opt.sqs_queue)
		p->route = ROUTE_SQS;
	else
		p->route = ROUTE_HTTP;
	pthread_mutex_unlock(&c->lock);
	if (p->route == ROUTE_HTTP && !c->url) {
		mozdef__set_error(errstr, errstr_size,
		                  "no destination: the client has no URL, and neither sqs.queue nor syslog.only is set");
		return MOZDEF_ERR_STATE;
	}
	return MOZDEF_OK;
}

static mozdef_error check_sqs_size(size_t len, char *errstr, size_t errstr_size)
{
	if (len > MOZDEF_SQS_MAX_BODY) {
		mozdef__set_error(errstr, errstr_size,
		                  "sqs: message of %zu bytes is over the SQS maximum of %d bytes", len, MOZDEF_SQS_MAX_BODY);
		return MOZDEF_ERR_TOO_LARGE;
	}
	return MOZDEF_OK;
}

static void result_init(mozdef_result *r)
{
	memset(r, 0, sizeof(*r));
}

MOZDEF_EXPORT mozdef_error mozdef_client_send(mozdef_client *client, const mozdef_event *ev,
                                              mozdef_result *ret_result)
{
	mozdef_result local;
	mozdef_result *r = ret_result ? ret_result : &local;
	struct plan plan;
	char *body = NULL;
	size_t len = 0;
	mozdef_error err;

	result_init(r);
	if (!client || !ev) {
		mozdef__result_set(r, MOZDEF_ERR_INVALID_ARG, "no client or no event");
		return r->error;
	}
	err = mozdef_event_serialize(ev, &body, &len, r->message, sizeof(r->message));
	if (err != MOZDEF_OK) {
		r->error = err;
		return err;
	}
	err = plan_send(client, &plan, r->message, sizeof(r->message));
	if (err == MOZDEF_OK && plan.route == ROUTE_SQS)
		err = check_sqs_size(len, r->message, sizeof(r->message));
	if (err != MOZDEF_OK) {
		r->error = err;
		goto out;
	}
	if (plan.syslog) {
		err = mozdef__syslog_send(client, mozdef_event_get_severity(ev), body, r);
		if (err != MOZDEF_OK)
			goto out;
	}
	if (plan.route == ROUTE_HTTP)
		err = mozdef__perform_sync(client, MOZDEF_JOB_HTTP, body, len, false, r);
	else if (plan.route == ROUTE_SQS)
		err = mozdef__perform_sync(client, MOZDEF_JOB_SQS, body, len, false, r);
out:
	free(body);
	return err;
}

MOZDEF_EXPORT mozdef_error mozdef_client_send_async(mozdef_client *client, const mozdef_event *ev, void *opaque,
                                                    char *errstr, size_t errstr_size)
{
	struct mozdef_job *job = NULL;
	struct plan plan;
	mozdef_result r;
	char *body = NULL;
	size_t len = 0;
	mozdef_error err;

	if (!client || !ev)
		return MOZDEF_ERR_INVALID_ARG;
	err = mozdef_event_serialize(ev, &body, &len, errstr, errstr_size);
	if (err != MOZDEF_OK)
		return err;
	err = plan_send(client, &plan, errstr, errstr_size);
	if (err == MOZDEF_OK && plan.route == ROUTE_SQS)
		err = check_sqs_size(len, errstr, errstr_size);
	if (err != MOZDEF_OK)
		goto out;
	if (plan.syslog) {
		result_init(&r);
		err = mozdef__syslog_send(client, mozdef_event_get_severity(ev), body, &r);
		if (err != MOZDEF_OK) {
			mozdef__set_error(errstr, errstr_size, "%s", r.message);
			goto out;
		}
	}
	if (plan.route == ROUTE_NONE) {
		/* Delivered already; the callback still hears of it, as for any queued event. */
		mozdef_completion_cb cb;
		void *user;
		pthread_mutex_lock(&client->lock);
		cb = client->cb;
		user = client->cb_user;
		pthread_mutex_unlock(&client->lock);
		if (cb) {
			result_init(&r);
			cb(&r, opaque, user);
		}
		goto out;
	}
	job = calloc(1, sizeof(*job));
	if (!job) {
		err = MOZDEF_ERR_NOMEM;
		goto out;
	}
	job->kind = plan.route == ROUTE_SQS ? MOZDEF_JOB_SQS : MOZDEF_JOB_HTTP;
	job->body = body;
	job->len = len;
	job->opaque = opaque;
	body = NULL;
	err = mozdef__async_enqueue(client, job, errstr, errstr_size);
	if (err != MOZDEF_OK) {
		free(job->body);
		free(job);
	}
out:
	free(body);
	return err;
}

MOZDEF_EXPORT mozdef_error mozdef_client_flush(mozdef_client *client, int timeout_ms)
{
	if (!client)
		return MOZDEF_ERR_INVALID_ARG;
	return mozdef__async_flush(client, timeout_ms);
}

MOZDEF_EXPORT mozdef_error mozdef_client_send_bulk(mozdef_client *client, const mozdef_event *const *events,
                                                   size_t count, mozdef_result *ret_result)
{
	mozdef_result local;
	mozdef_result *r = ret_result ? ret_result : &local;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	mozdef_error err = MOZDEF_OK;
	char why[200];

	result_init(r);
	if (!client || !events || count == 0) {
		mozdef__result_set(r, MOZDEF_ERR_INVALID_ARG, "no client or no events");
		return r->error;
	}
	if (!client->url) {
		mozdef__result_set(r, MOZDEF_ERR_STATE, "no destination: the client has no URL");
		return r->error;
	}
	for (size_t i = 0; i < count; i++) {
		char *line = NULL;
		size_t n = 0;

		err = mozdef_event_serialize(events[i], &line, &n, why, sizeof(why));
		if (err != MOZDEF_OK) {
			mozdef__result_set(r, err, "event %zu: %s", i, why);
			goto out;
		}
		if (len + n + 2 > cap) {
			size_t ncap = (len + n + 2) * 2;
			char *nbuf = realloc(buf, ncap);
			if (!nbuf) {
				free(line);
				mozdef__result_set(r, MOZDEF_ERR_NOMEM, "out of memory");
				err = r->error;
				goto out;
			}
			buf = nbuf;
			cap = ncap;
		}
		memcpy(buf + len, line, n);
		len += n;
		if (count > 1)
			buf[len++] = '\n';
		buf[len] = '\0';
		free(line);
	}
	err = mozdef__perform_sync(client, MOZDEF_JOB_HTTP, buf, len, count > 1, r);
out:
	free(buf);
	return err;
}
