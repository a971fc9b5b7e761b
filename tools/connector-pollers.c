/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The connectors that fetch their alerts: Prometheus (/api/v1/alerts),
 * Kismet (all_alerts.json) and Zabbix (JSON-RPC problem.get, or the push
 * webhook). De-duplication keys are remembered by the poller, bounded and
 * saved in the state directory, so a restart neither repeats nor loses alerts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <json-c/json.h>

#include "connector.h"

/* ---- keys ------------------------------------------------------------------------------- */

/* 128 bits of two FNV-1a passes: a key that stays short whatever the labels. */
struct hash128 {
	uint64_t a, b;
};

static void hash_init(struct hash128 *h)
{
	h->a = 0xcbf29ce484222325ULL;
	h->b = 0x84222325cbf29ce4ULL;
}

static void hash_add(struct hash128 *h, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		h->a = (h->a ^ (unsigned char)s[i]) * 0x100000001b3ULL;
		h->b = (h->b ^ (unsigned char)s[i]) * 0x1000193ULL * 0x100000001b3ULL + 1;
	}
	/* A separator no text contains, so ("ab","c") and ("a","bc") differ. */
	h->a = (h->a ^ 0x100) * 0x100000001b3ULL;
	h->b = (h->b ^ 0x100) * 0x100000001b3ULL;
}

static bool hash_key(const struct hash128 *h, char *buf, size_t size)
{
	return snprintf(buf, size, "%016" PRIx64 "%016" PRIx64, h->a, h->b) < (int)size;
}

static const char *str_or_empty(struct json_object *o)
{
	const char *s = o ? json_object_get_string(o) : NULL;

	return s ? s : "";
}

/* A member by its dotted name, flat ("kismet.alert.text") or nested (kismet → alert → text). */
static struct json_object *member(struct json_object *o, const char *dotted)
{
	struct json_object *v = NULL;
	char part[128];
	const char *s = dotted;

	if (json_object_object_get_ex(o, dotted, &v))
		return v;
	while (o && *s) {
		size_t len = strcspn(s, ".");

		if (len >= sizeof(part))
			return NULL;
		memcpy(part, s, len);
		part[len] = '\0';
		if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, part, &o))
			return NULL;
		s += len;
		if (*s == '.')
			s++;
	}
	return o;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * Prometheus: an alert is its name, its state, its activeAt and its whole
 * label set. A re-firing alert has a new activeAt; a pending alert that starts
 * firing keeps its activeAt, so its state tells the two apart (without it, the
 * pending alert, filtered, would mark the firing one as already seen).
 */
static bool prometheus_key(struct json_object *item, char *buf, size_t size, void *user_data)
{
	struct json_object *labels = member(item, "labels");
	const char *keys[256];
	size_t n = 0;
	struct hash128 h;

	(void)user_data;
	hash_init(&h);
	hash_add(&h, str_or_empty(member(item, "labels.alertname")), strlen(str_or_empty(member(item, "labels.alertname"))));
	hash_add(&h, str_or_empty(member(item, "activeAt")), strlen(str_or_empty(member(item, "activeAt"))));
	hash_add(&h, str_or_empty(member(item, "state")), strlen(str_or_empty(member(item, "state"))));
	if (json_object_is_type(labels, json_type_object)) {
		json_object_object_foreach(labels, k, v) {
			(void)v;
			if (n < sizeof(keys) / sizeof(keys[0]))
				keys[n++] = k;
		}
		qsort(keys, n, sizeof(keys[0]), cmp_str);
		for (size_t i = 0; i < n; i++) {
			struct json_object *value = NULL;

			json_object_object_get_ex(labels, keys[i], &value);
			hash_add(&h, keys[i], strlen(keys[i]));
			hash_add(&h, str_or_empty(value), strlen(str_or_empty(value)));
		}
	}
	return hash_key(&h, buf, size);
}

static idmefv2_error prometheus_response(struct json_object *response, long http_status, void *user_data)
{
	struct connector *c = user_data;
	const char *status = str_or_empty(member(response, "status"));

	(void)http_status;
	if (strcmp(status, "success") != 0) {
		conn_log(c, IDMEFV2_LOG_WARNING, "%s: status is '%s', not 'success': %s", c->input_path, status,
		         str_or_empty(member(response, "error")));
		return IDMEFV2_ERR_INVALID;
	}
	return IDMEFV2_OK;
}

/* Kismet: timestamp, header and text; an alert without them by its whole text. */
static bool kismet_key(struct json_object *item, char *buf, size_t size, void *user_data)
{
	const char *ts = str_or_empty(member(item, "kismet.alert.timestamp"));
	const char *header = str_or_empty(member(item, "kismet.alert.header"));
	const char *text = str_or_empty(member(item, "kismet.alert.text"));
	struct hash128 h;

	(void)user_data;
	hash_init(&h);
	if (!*ts && !*header) {
		const char *all = json_object_to_json_string_ext(item, JSON_C_TO_STRING_PLAIN);

		hash_add(&h, all, strlen(all));
	} else {
		hash_add(&h, ts, strlen(ts));
		hash_add(&h, header, strlen(header));
		hash_add(&h, text, strlen(text));
	}
	return hash_key(&h, buf, size);
}

/*
 * Kismet repeats one event as several alerts a fraction of a second apart:
 * the same header and text within 2 s of the last one are one alert. The
 * memory is a small ring: old entries fall out.
 */
#define KISMET_RING 256
#define KISMET_FUZZ_S 2.0

struct kismet_dedup {
	struct {
		struct hash128 what;
		double ts;
	} ring[KISMET_RING];
	size_t next, used;
	uint64_t fuzzy;
};

static bool kismet_fuzzy_duplicate(struct kismet_dedup *k, struct json_object *item)
{
	const char *header = str_or_empty(member(item, "kismet.alert.header"));
	const char *text = str_or_empty(member(item, "kismet.alert.text"));
	struct json_object *tsv = member(item, "kismet.alert.timestamp");
	struct hash128 h;
	double ts;
	errno = 0;

	if (!tsv)
		return false;
	ts = json_object_get_double(tsv);
	if (errno || !isfinite(ts))
		return false;
	hash_init(&h);
	hash_add(&h, header, strlen(header));
	hash_add(&h, text, strlen(text));
	for (size_t i = 0; i < k->used; i++) {
		if (k->ring[i].what.a == h.a && k->ring[i].what.b == h.b) {
			bool dup = fabs(ts - k->ring[i].ts) < KISMET_FUZZ_S;

			k->ring[i].ts = ts;
			return dup;
		}
	}
	k->ring[k->next].what = h;
	k->ring[k->next].ts = ts;
	k->next = (k->next + 1) % KISMET_RING;
	if (k->used < KISMET_RING)
		k->used++;
	return false;
}

/* ---- Zabbix ----------------------------------------------------------------------------- */

struct zabbix;
static int zabbix_push_setup(struct connector *c, struct zabbix *z);

#define ZABBIX_CACHE 256
#define ZABBIX_CACHE_TTL_S 600
/* Logins are spaced by at least this, doubling while they do not help, up to the maximum. */
#define ZABBIX_LOGIN_MIN_MS 1000
#define ZABBIX_LOGIN_MAX_MS 60000
/* Default of [zabbix] api_rate: API calls per second, in bursts of as many. */
#define ZABBIX_API_RATE 100
/*
 * Connections served at once, each by its own thread, each push waiting for
 * its message's delivery: many, so that idle connections (closed after 30 s)
 * cannot easily keep Zabbix's alerters out.
 */
#define ZABBIX_PUSH_THREADS IDMEFV2_WEBHOOK_MAX_THREADS

struct zabbix_cache {
	char id[32];
	char name[256]; /* trigger: host name; host: interface IP */
	char hostid[32];
	int port;
	time_t when;
};

struct zabbix {
	bool push;
	char *user, *password;
	char *token;
	idmefv2_poller *rpc; /* calls of enrichment and login; never started */
	pthread_mutex_t lock; /* rpc, token and caches: the webhook calls from its threads */
	uint64_t last_rpc_errors;
	struct json_object *server; /* extra_target: the Zabbix server */
	struct zabbix_cache triggers[ZABBIX_CACHE], hosts[ZABBIX_CACHE];
	size_t next_trigger, next_host;
	char *listen_address;
	unsigned listen_port;
	char *push_token; /* required as "Authorization: Bearer" by the webhook */
	unsigned delivery_timeout_s; /* a push is answered once its message is delivered or spooled, or 503 after this */
	uint64_t enriched, enrich_errors;
	/* pacing of logins: none before next_login_ms; the session is known bad until one succeeds */
	int64_t next_login_ms;
	unsigned login_backoff_ms;
	bool session_bad;
	uint64_t logins, logins_deferred, throttled;
	/* API calls per second: a token bucket, refilled at api_rate */
	unsigned api_rate;
	double bucket;
	int64_t bucket_ms;
};

static int64_t zabbix_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static idmefv2_error zabbix_login_now(struct connector *c, struct zabbix *z)
{
	struct json_object *params = json_object_new_object(), *result = NULL;
	char errstr[512] = "";
	idmefv2_error err;

	if (!params)
		return IDMEFV2_ERR_NOMEM;
	json_object_object_add(params, "username", json_object_new_string(z->user));
	json_object_object_add(params, "password", json_object_new_string(z->password));
	idmefv2_poller_set_bearer(z->rpc, NULL);
	err = idmefv2_poller_call(z->rpc, "user.login", params, &result, errstr, sizeof(errstr));
	json_object_put(params);
	if (err == IDMEFV2_OK && !json_object_is_type(result, json_type_string)) {
		snprintf(errstr, sizeof(errstr), "user.login returned no token");
		err = IDMEFV2_ERR_PARSE;
	}
	if (err) {
		conn_log(c, IDMEFV2_LOG_ERROR, "%s: user.login as %s failed: %s", c->input_path, z->user, errstr);
		json_object_put(result);
		return err;
	}
	free(z->token);
	z->token = strdup(json_object_get_string(result));
	json_object_put(result);
	if (!z->token)
		return IDMEFV2_ERR_NOMEM;
	idmefv2_poller_set_bearer(z->rpc, z->token);
	if (c->poller)
		idmefv2_poller_set_bearer(c->poller, z->token);
	conn_log(c, IDMEFV2_LOG_INFO, "%s: logged in as %s", c->input_path, z->user);
	return IDMEFV2_OK;
}

/*
 * Wait for a slot of [zabbix] api_rate: however many pushes arrive, the API
 * sees at most api_rate calls per second (bursts of as many). Lock held: the
 * calls are serialised anyway, and a push waits rather than fails.
 */
static void zabbix_pace(struct zabbix *z)
{
	int64_t now = zabbix_now_ms();

	z->bucket += (double)(now - z->bucket_ms) * z->api_rate / 1000.0;
	if (z->bucket > z->api_rate)
		z->bucket = z->api_rate;
	z->bucket_ms = now;
	if (z->bucket < 1) {
		long wait_ms = (long)((1 - z->bucket) * 1000.0 / z->api_rate) + 1;
		struct timespec ts = { wait_ms / 1000, (wait_ms % 1000) * 1000000L };

		z->throttled++;
		nanosleep(&ts, NULL);
		z->bucket += (double)wait_ms * z->api_rate / 1000.0;
		z->bucket_ms += wait_ms;
	}
	z->bucket -= 1;
}

/*
 * Log in unless one was tried less than login_backoff_ms ago: whatever the
 * callers (pushes, polls, expired sessions), Zabbix sees at most one login
 * per second, and fewer while logins do not help. Lock held.
 */
static idmefv2_error zabbix_login(struct connector *c, struct zabbix *z)
{
	int64_t now = zabbix_now_ms();
	idmefv2_error err;

	if (now < z->next_login_ms) {
		z->logins_deferred++;
		return IDMEFV2_ERR_TRANSPORT;
	}
	if (z->login_backoff_ms < ZABBIX_LOGIN_MIN_MS)
		z->login_backoff_ms = ZABBIX_LOGIN_MIN_MS;
	z->next_login_ms = now + z->login_backoff_ms;
	z->login_backoff_ms = z->login_backoff_ms * 2 > ZABBIX_LOGIN_MAX_MS ? ZABBIX_LOGIN_MAX_MS
	                                                                     : z->login_backoff_ms * 2;
	z->logins++;
	zabbix_pace(z);
	err = zabbix_login_now(c, z);
	if (err == IDMEFV2_OK)
		z->session_bad = false;
	return err;
}

/* A call succeeded with the session: the next login, when one is needed, may come at once. */
static void zabbix_session_ok(struct zabbix *z)
{
	z->session_bad = false;
	z->login_backoff_ms = ZABBIX_LOGIN_MIN_MS;
	z->next_login_ms = 0;
}

/* "Session terminated, re-login, please." and "Not authorized." (the wording varies across versions). */
static bool zabbix_session_error(const char *errstr)
{
	return strcasestr(errstr, "session") || strcasestr(errstr, "login") || strcasestr(errstr, "authoriz") ||
	       strcasestr(errstr, "authentic");
}

/* One call, logging in first if needed and once more when the session has expired. Lock held. */
static idmefv2_error zabbix_call(struct connector *c, struct zabbix *z, const char *method,
                                 struct json_object *params, struct json_object **ret_result)
{
	char errstr[512] = "";
	idmefv2_error err;

	/* No session, or one Zabbix refused: nothing to call with until a login (paced) succeeds. */
	if ((!z->token || z->session_bad) && (err = zabbix_login(c, z)) != IDMEFV2_OK)
		return IDMEFV2_ERR_TRANSPORT;
	zabbix_pace(z);
	err = idmefv2_poller_call(z->rpc, method, params, ret_result, errstr, sizeof(errstr));
	if (err == IDMEFV2_ERR_INVALID && zabbix_session_error(errstr)) {
		/* Zabbix answers an expired or revoked token with an error object: log in again, once. */
		z->session_bad = true;
		if (zabbix_login(c, z) != IDMEFV2_OK)
			return IDMEFV2_ERR_TRANSPORT;
		zabbix_pace(z);
		err = idmefv2_poller_call(z->rpc, method, params, ret_result, errstr, sizeof(errstr));
		if (err == IDMEFV2_ERR_INVALID && zabbix_session_error(errstr))
			z->session_bad = true;
	}
	if (!err)
		zabbix_session_ok(z);
	if (err)
		conn_log(c, IDMEFV2_LOG_ERROR, "%s: %s failed: %s", c->input_path, method, errstr);
	return err == IDMEFV2_ERR_INVALID || err == IDMEFV2_ERR_PARSE ? IDMEFV2_ERR_TRANSPORT : err;
}

static struct zabbix_cache *cache_find(struct zabbix_cache *cache, const char *id)
{
	time_t now = time(NULL);

	for (size_t i = 0; i < ZABBIX_CACHE; i++)
		if (cache[i].id[0] && strcmp(cache[i].id, id) == 0 && now - cache[i].when < ZABBIX_CACHE_TTL_S)
			return &cache[i];
	return NULL;
}

static struct json_object *ids_params(const char *ids_key, const char *id, const char *output)
{
	struct json_object *params = json_object_new_object(), *ids = json_object_new_array();
	struct json_object *out = json_object_new_array();

	json_object_array_add(ids, json_object_new_string(id));
	json_object_object_add(params, ids_key, ids);
	for (const char *s = output; *s;) {
		size_t len = strcspn(s, ",");

		json_object_array_add(out, json_object_new_string_len(s, (int)len));
		s += len + (s[len] == ',');
	}
	json_object_object_add(params, "output", out);
	return params;
}

/* The host of a trigger: trigger.get with selectHosts. Lock held. */
static idmefv2_error zabbix_trigger_host(struct connector *c, struct zabbix *z, const char *triggerid,
                                         struct zabbix_cache **ret)
{
	struct json_object *params, *result = NULL, *hosts, *host;
	struct zabbix_cache *e = cache_find(z->triggers, triggerid);
	idmefv2_error err;

	if (e) {
		*ret = e;
		return IDMEFV2_OK;
	}
	params = ids_params("triggerids", triggerid, "triggerid");
	json_object_object_add(params, "selectHosts", json_tokener_parse("[\"hostid\",\"name\"]"));
	err = zabbix_call(c, z, "trigger.get", params, &result);
	json_object_put(params);
	if (err)
		return err;
	hosts = member(json_object_array_get_idx(result, 0), "hosts");
	host = json_object_array_get_idx(hosts, 0);
	e = &z->triggers[z->next_trigger];
	z->next_trigger = (z->next_trigger + 1) % ZABBIX_CACHE;
	snprintf(e->id, sizeof(e->id), "%s", triggerid);
	snprintf(e->hostid, sizeof(e->hostid), "%s", str_or_empty(member(host, "hostid")));
	snprintf(e->name, sizeof(e->name), "%s", str_or_empty(member(host, "name")));
	e->when = time(NULL);
	json_object_put(result);
	*ret = e;
	return IDMEFV2_OK;
}

/* A host's address: the agent interface (type 1), else the first one. Lock held. */
static idmefv2_error zabbix_host_address(struct connector *c, struct zabbix *z, const char *hostid,
                                         struct zabbix_cache **ret)
{
	struct json_object *params, *result = NULL, *ifaces, *pick = NULL;
	struct zabbix_cache *e = cache_find(z->hosts, hostid);
	idmefv2_error err;
	const char *ip;

	if (e) {
		*ret = e;
		return IDMEFV2_OK;
	}
	params = ids_params("hostids", hostid, "hostid");
	json_object_object_add(params, "selectInterfaces", json_tokener_parse("[\"type\",\"ip\",\"dns\",\"port\"]"));
	err = zabbix_call(c, z, "host.get", params, &result);
	json_object_put(params);
	if (err)
		return err;
	ifaces = member(json_object_array_get_idx(result, 0), "interfaces");
	for (size_t i = 0; i < json_object_array_length(ifaces); i++) {
		struct json_object *f = json_object_array_get_idx(ifaces, i);

		if (strcmp(str_or_empty(member(f, "type")), "1") == 0) {
			pick = f;
			break;
		}
	}
	if (!pick)
		pick = json_object_array_get_idx(ifaces, 0);
	e = &z->hosts[z->next_host];
	z->next_host = (z->next_host + 1) % ZABBIX_CACHE;
	snprintf(e->id, sizeof(e->id), "%s", hostid);
	/* Source.IP takes an address only: an interface known by its DNS name alone gives none. */
	ip = str_or_empty(member(pick, "ip"));
	snprintf(e->name, sizeof(e->name), "%s", ip);
	e->port = atoi(str_or_empty(member(pick, "port")));
	e->when = time(NULL);
	json_object_put(result);
	*ret = e;
	return IDMEFV2_OK;
}

/*
 * A problem as the template expects it: hosts [{name}], extra {ip, port} (the
 * monitored host) and extra_target {hostname, ip, port} (the Zabbix server).
 */
static idmefv2_error zabbix_enrich(struct connector *c, struct zabbix *z, struct json_object *problem,
                                   struct json_object **ret)
{
	const char *objectid = str_or_empty(member(problem, "objectid"));
	struct zabbix_cache *trig = NULL, *host = NULL;
	struct json_object *out = NULL, *hosts, *extra;
	idmefv2_error err = IDMEFV2_OK;

	if (json_object_deep_copy(problem, &out, NULL) != 0)
		return IDMEFV2_ERR_NOMEM;
	pthread_mutex_lock(&z->lock);
	if (*objectid) {
		err = zabbix_trigger_host(c, z, objectid, &trig);
		if (!err && trig->hostid[0])
			err = zabbix_host_address(c, z, trig->hostid, &host);
	}
	if (!err && trig && trig->name[0]) {
		struct json_object *h = json_object_new_object();

		hosts = json_object_new_array();
		json_object_object_add(h, "name", json_object_new_string(trig->name));
		json_object_array_add(hosts, h);
		json_object_object_add(out, "hosts", hosts);
	}
	if (!err && host && host->name[0]) {
		extra = json_object_new_object();
		json_object_object_add(extra, "ip", json_object_new_string(host->name));
		if (host->port > 0)
			json_object_object_add(extra, "port", json_object_new_int(host->port));
		json_object_object_add(out, "extra", extra);
	}
	if (!err)
		json_object_object_add(out, "extra_target", json_object_get(z->server));
	if (err)
		z->enrich_errors++;
	else
		z->enriched++;
	pthread_mutex_unlock(&z->lock);
	if (err) {
		json_object_put(out);
		return err;
	}
	*ret = out;
	return IDMEFV2_OK;
}

static idmefv2_error zabbix_item(struct json_object *problem, void *user_data)
{
	struct connector *c = user_data;
	struct json_object *enriched = NULL;
	idmefv2_error err = zabbix_enrich(c, c->zabbix, problem, &enriched);

	/* Not enriched (the API failed): leave the problem unseen, the next poll offers it again. */
	if (err)
		return err;
	conn_push_object(c, enriched, c->input_path);
	json_object_put(enriched);
	return IDMEFV2_OK;
}

/* Zabbix's webhook media type posts {"eventid": "{EVENT.ID}"}. */
static idmefv2_error zabbix_push(struct json_object *body, const char *method, const char *path, void *user_data)
{
	struct connector *c = user_data;
	struct zabbix *z = c->zabbix;
	struct json_object *id = member(body, "eventid"), *params, *result = NULL, *problem, *enriched = NULL;
	char *prefix = NULL;
	idmefv2_error err;

	(void)method;
	(void)path;
	if (!json_object_is_type(body, json_type_object) || !id ||
	    !(json_object_is_type(id, json_type_string) || json_object_is_type(id, json_type_int))) {
		conn_log(c, IDMEFV2_LOG_WARNING, "push: a body without \"eventid\" refused");
		return IDMEFV2_ERR_INVALID_ARG;
	}
	pthread_mutex_lock(&z->lock);
	params = ids_params("eventids", json_object_get_string(id), "eventid,objectid,clock,ns,name,severity");
	err = zabbix_call(c, z, "problem.get", params, &result);
	pthread_mutex_unlock(&z->lock);
	json_object_put(params);
	if (err)
		return err;
	problem = json_object_array_get_idx(result, 0);
	if (!problem) {
		conn_log(c, IDMEFV2_LOG_WARNING, "push: no problem with eventid %s", json_object_get_string(id));
		json_object_put(result);
		return IDMEFV2_ERR_NOT_FOUND;
	}
	err = zabbix_enrich(c, z, problem, &enriched);
	json_object_put(result);
	if (err)
		return err;
	/*
	 * Answered only once the message is delivered or in the spool: a 200
	 * means durable, and anything else (503) makes Zabbix send it again, with
	 * the same ID (docs/ids.md).
	 */
	if (asprintf(&prefix, "push:%s:%s", c->input_path, json_object_get_string(id)) < 0) {
		json_object_put(enriched);
		return IDMEFV2_ERR_NOMEM;
	}
	err = conn_push_object_wait(c, enriched, "push", prefix, z->delivery_timeout_s * 1000U);
	free(prefix);
	json_object_put(enriched);
	return err;
}

/* The Zabbix server as a target: host and port of the API URL, and its address. */
static struct json_object *zabbix_server(const char *url)
{
	const char *s = strstr(url, "://"), *end;
	char host[256] = "", ip[64] = "", portbuf[8] = "";
	struct json_object *o = json_object_new_object();
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	int port = strncasecmp(url, "https", 5) == 0 ? 443 : 80;

	s = s ? s + 3 : url;
	if (strchr(s, '@') && strchr(s, '@') < s + strcspn(s, "/"))
		s = strchr(s, '@') + 1;
	if (*s == '[') {
		end = strchr(s, ']');
		if (end) {
			snprintf(host, sizeof(host), "%.*s", (int)(end - s - 1), s + 1);
			s = end + 1;
		}
	} else {
		size_t len = strcspn(s, ":/?#");

		snprintf(host, sizeof(host), "%.*s", (int)len, s);
		s += len;
	}
	if (*s == ':')
		port = atoi(s + 1);
	snprintf(portbuf, sizeof(portbuf), "%d", port);
	if (getaddrinfo(host, NULL, &hints, &ai) == 0 && ai) {
		getnameinfo(ai->ai_addr, ai->ai_addrlen, ip, sizeof(ip), NULL, 0, NI_NUMERICHOST);
		freeaddrinfo(ai);
	}
	json_object_object_add(o, "hostname", json_object_new_string(host));
	json_object_object_add(o, "ip", json_object_new_string(*ip ? ip : host));
	json_object_object_add(o, "port", json_object_new_int(port));
	return o;
}

/* ---- set-up and running ----------------------------------------------------------------- */

static idmefv2_error push_item(struct json_object *item, void *user_data)
{
	struct connector *c = user_data;

	/* Whatever became of it (converted, filtered, invalid: counted and logged), it is handled. */
	conn_push_object(c, item, c->input_path);
	return IDMEFV2_OK;
}

static idmefv2_error kismet_item(struct json_object *item, void *user_data)
{
	struct connector *c = user_data;

	if (kismet_fuzzy_duplicate(c->kismet, item)) {
		c->kismet->fuzzy++;
		conn_log(c, IDMEFV2_LOG_DEBUG, "ignoring a repeated alert (same header and text within 2 s)");
		return IDMEFV2_OK;
	}
	return push_item(item, user_data);
}

static int poller_common(struct connector *c, const char *url, unsigned interval_s, unsigned timeout_s,
                         bool check_only)
{
	c->poller = idmefv2_poller_new(url);
	if (!c->poller)
		return -1;
	idmefv2_poller_set_log_cb(c->poller, conn_log_cb, c);
	idmefv2_poller_set_interval(c->poller, interval_s * 1000U);
	idmefv2_poller_set_timeout(c->poller, timeout_s * 1000U);
	if (!check_only) {
		char *state = NULL;

		if (asprintf(&state, "%s/seen.state", c->state_dir) < 0)
			return -1;
		idmefv2_poller_set_state_file(c->poller, state);
		free(state);
	}
	return 0;
}

int pollers_setup(struct connector *c, bool check_only)
{
	const struct connector_tool *t = c->tool;
	const char *url = cfg_require(c, t->section, t->path_key);
	unsigned interval, timeout;

	if (!url)
		return -1;
	if (t->input == CONNECTOR_PROMETHEUS) {
		bool no_seed;
		size_t len = strlen(url);

		if (cfg_uint(c, t->section, "poll_interval", 30, 1, 86400, &interval) ||
		    cfg_uint(c, t->section, "timeout", 10, 1, 3600, &timeout) ||
		    cfg_bool(c, t->section, "disable_seeding", false, &no_seed))
			return -1;
		while (len && url[len - 1] == '/')
			len--;
		if (asprintf(&c->input_path, "%.*s/api/v1/alerts", (int)len, url) < 0)
			return -1;
		if (poller_common(c, c->input_path, interval, timeout, check_only))
			return -1;
		idmefv2_poller_set_seed(c->poller, !no_seed);
		idmefv2_poller_set_items_path(c->poller, "data.alerts");
		idmefv2_poller_set_response_cb(c->poller, prometheus_response, c);
		idmefv2_poller_set_key_cb(c->poller, prometheus_key, c);
		idmefv2_poller_set_item_cb(c->poller, push_item, c);
		return 0;
	}
	if (t->input == CONNECTOR_KISMET) {
		const char *user = cfg_get(c, t->section, "username"), *pass = cfg_get(c, t->section, "password");

		if (cfg_uint(c, t->section, "polling_interval", 10, 1, 86400, &interval) ||
		    cfg_uint(c, t->section, "timeout", 10, 1, 3600, &timeout))
			return -1;
		c->input_path = strdup(url);
		c->kismet = calloc(1, sizeof(*c->kismet));
		if (!c->input_path || !c->kismet || poller_common(c, url, interval, timeout, check_only))
			return -1;
		if (user && *user && pass && *pass)
			idmefv2_poller_set_basic_auth(c->poller, user, pass);
		idmefv2_poller_set_seed(c->poller, true);
		idmefv2_poller_set_key_cb(c->poller, kismet_key, c);
		idmefv2_poller_set_item_cb(c->poller, kismet_item, c);
		return 0;
	}
	/* Zabbix */
	{
		const char *mode = cfg_get(c, "connector", "mode");
		const char *user = cfg_require(c, t->section, "user"), *pass = cfg_require(c, t->section, "password");
		struct zabbix *z;

		if (!user || !pass)
			return -1;
		if (mode && *mode && strcmp(mode, "polling") != 0 && strcmp(mode, "push") != 0) {
			conn_log(c, IDMEFV2_LOG_ERROR, "%s: [connector] mode: '%s' is not polling or push", c->conf_path,
			         mode);
			return -1;
		}
		z = calloc(1, sizeof(*z));
		if (!z)
			return -1;
		c->zabbix = z;
		pthread_mutex_init(&z->lock, NULL);
		z->push = mode && strcmp(mode, "push") == 0;
		z->user = strdup(user);
		z->password = strdup(pass);
		c->input_path = strdup(url);
		z->rpc = idmefv2_poller_new(url);
		z->server = zabbix_server(url);
		if (!z->user || !z->password || !c->input_path || !z->rpc || !z->server)
			return -1;
		if (cfg_uint(c, t->section, "poll_interval", 30, 1, 86400, &interval) ||
		    cfg_uint(c, t->section, "timeout", 5, 1, 3600, &timeout) ||
		    cfg_uint(c, t->section, "api_rate", ZABBIX_API_RATE, 1, 100000, &z->api_rate))
			return -1;
		z->bucket = z->api_rate;
		z->bucket_ms = zabbix_now_ms();
		idmefv2_poller_set_log_cb(z->rpc, conn_log_cb, c);
		idmefv2_poller_set_timeout(z->rpc, timeout * 1000U);
		if (z->push)
			return zabbix_push_setup(c, z);
		cfg_get(c, "connector", "listen_address");
		cfg_get(c, "connector", "listen_port");
		cfg_get(c, "connector", "token");
		cfg_get(c, "connector", "token_file");
		cfg_get(c, "connector", "delivery_timeout");
		if (poller_common(c, url, interval, timeout, check_only))
			return -1;
		{
			struct json_object *params = json_tokener_parse(
				"{\"output\":\"extend\",\"recent\":true,\"sortfield\":[\"eventid\"],\"sortorder\":\"ASC\"}");

			idmefv2_poller_set_jsonrpc(c->poller, "problem.get", params);
			json_object_put(params);
		}
		idmefv2_poller_set_seed(c->poller, true);
		idmefv2_poller_set_key_field(c->poller, "eventid");
		idmefv2_poller_set_item_cb(c->poller, zabbix_item, c);
		return 0;
	}
}

/* [connector] token_file: its first line; the file must not be readable by others. */
static char *token_from_file(struct connector *c, const char *path)
{
	char buf[1024];
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		conn_log(c, IDMEFV2_LOG_ERROR, "%s: [connector] token_file: %s: %s", c->conf_path, path,
		         fd < 0 ? strerror(errno) : "not a regular file");
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (st.st_mode & 0007) {
		conn_log(c, IDMEFV2_LOG_ERROR, "%s: [connector] token_file: %s is readable by others (chmod o-rwx)",
		         c->conf_path, path);
		close(fd);
		return NULL;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		n = 0;
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (!*buf) {
		conn_log(c, IDMEFV2_LOG_ERROR, "%s: [connector] token_file: %s is empty", c->conf_path, path);
		return NULL;
	}
	return strdup(buf);
}

static bool address_is_loopback(const char *addr)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, addr, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, addr, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/*
 * Push mode: the webhook receiver on listen_address (127.0.0.1 by default),
 * requiring the shared token when one is set, and always when it listens
 * beyond the loopback: an unauthenticated POST would otherwise make the
 * connector call the Zabbix API for anyone who can reach the port.
 */
static int zabbix_push_setup(struct connector *c, struct zabbix *z)
{
	const char *addr = cfg_get(c, "connector", "listen_address");
	const char *token = cfg_get(c, "connector", "token"), *token_file = cfg_get(c, "connector", "token_file");

	if (cfg_uint(c, "connector", "listen_port", 9090, 1, 65535, &z->listen_port) ||
	    cfg_uint(c, "connector", "delivery_timeout", 8, 1, 3600, &z->delivery_timeout_s))
		return -1;
	z->listen_address = strdup(addr && *addr ? addr : "127.0.0.1");
	c->webhook = idmefv2_webhook_new();
	if (!z->listen_address || !c->webhook)
		return -1;
	if (token && *token && token_file && *token_file) {
		conn_log(c, IDMEFV2_LOG_ERROR, "%s: [connector] token and token_file: set one of them", c->conf_path);
		return -1;
	}
	if (token_file && *token_file) {
		if (!(z->push_token = token_from_file(c, token_file)))
			return -1;
	} else if (token && *token && !(z->push_token = strdup(token))) {
		return -1;
	}
	idmefv2_webhook_set_log_cb(c->webhook, conn_log_cb, c);
	/* Each push waits for its delivery: Zabbix's alerters (3 by default) post at once. */
	idmefv2_webhook_set_threads(c->webhook, ZABBIX_PUSH_THREADS);
	if (idmefv2_webhook_set_address(c->webhook, z->listen_address, z->listen_port) != IDMEFV2_OK) {
		conn_log(c, IDMEFV2_LOG_ERROR, "%s: [connector] listen_address: '%s' is not a numeric address",
		         c->conf_path, z->listen_address);
		return -1;
	}
	if (!z->push_token && !address_is_loopback(z->listen_address)) {
		conn_log(c, IDMEFV2_LOG_ERROR,
		         "%s: [connector] listen_address %s is not a loopback address: set token or token_file, "
		         "which Zabbix's webhook then sends as \"Authorization: Bearer TOKEN\"",
		         c->conf_path, z->listen_address);
		return -1;
	}
	if (!z->push_token)
		conn_log(c, IDMEFV2_LOG_WARNING,
		         "%s: push mode without [connector] token: any local process may post to the webhook",
		         c->conf_path);
	else if (idmefv2_webhook_set_bearer(c->webhook, z->push_token) != IDMEFV2_OK)
		return -1;
	idmefv2_webhook_add_route(c->webhook, "POST", "/alert", 200, zabbix_push, c);
	return 0;
}

int pollers_start(struct connector *c)
{
	char errstr[512] = "";

	if (c->zabbix) {
		/* A Zabbix not yet up is not fatal: the login is tried again at each poll or push. */
		pthread_mutex_lock(&c->zabbix->lock);
		zabbix_login(c, c->zabbix);
		pthread_mutex_unlock(&c->zabbix->lock);
	}
	if (c->webhook) {
		if (idmefv2_webhook_start(c->webhook, errstr, sizeof(errstr)) != IDMEFV2_OK) {
			conn_log(c, IDMEFV2_LOG_ERROR, "%s", errstr);
			return -1;
		}
		conn_log(c, IDMEFV2_LOG_INFO, "receiving Zabbix pushes on http://%s:%u/alert",
		         c->zabbix->listen_address, idmefv2_webhook_get_port(c->webhook));
		return 0;
	}
	if (c->poller) {
		if (idmefv2_poller_start(c->poller, errstr, sizeof(errstr)) != IDMEFV2_OK) {
			conn_log(c, IDMEFV2_LOG_ERROR, "%s", errstr);
			return -1;
		}
		conn_log(c, IDMEFV2_LOG_INFO, "polling %s", c->input_path);
	}
	return 0;
}

void pollers_poll(struct connector *c)
{
	struct zabbix *z = c->zabbix;

	if (z && !z->token) {
		pthread_mutex_lock(&z->lock);
		zabbix_login(c, z);
		pthread_mutex_unlock(&z->lock);
	}
	idmefv2_poller_poll(c->poller, 0, NULL);
	if (z) {
		idmefv2_poller_counters pc;

		/* An RPC error on problem.get is most often an expired session: log in again for the next poll. */
		idmefv2_poller_get_counters(c->poller, &pc);
		if (pc.rpc_errors != z->last_rpc_errors) {
			z->last_rpc_errors = pc.rpc_errors;
			pthread_mutex_lock(&z->lock);
			zabbix_login(c, z);
			pthread_mutex_unlock(&z->lock);
		}
	}
}

void pollers_stop(struct connector *c)
{
	if (c->webhook)
		idmefv2_webhook_stop(c->webhook);
}

void pollers_log_counters(struct connector *c)
{
	if (c->poller) {
		idmefv2_poller_counters p;

		idmefv2_poller_get_counters(c->poller, &p);
		conn_log(c, IDMEFV2_LOG_INFO,
		         "%s: fetches %" PRIu64 ", responses %" PRIu64 ", connection errors %" PRIu64
		         ", HTTP errors %" PRIu64 ", parse errors %" PRIu64 ", RPC errors %" PRIu64 ", items %" PRIu64
		         ", duplicates %" PRIu64 ", seeded %" PRIu64,
		         c->input_path, p.fetches, p.responses, p.conn_errors, p.http_errors, p.parse_errors,
		         p.rpc_errors, p.items, p.duplicates, p.seeded);
	}
	if (c->kismet)
		conn_log(c, IDMEFV2_LOG_INFO, "%s: repeated alerts ignored %" PRIu64, c->input_path, c->kismet->fuzzy);
	if (c->webhook) {
		idmefv2_webhook_counters w;

		idmefv2_webhook_get_counters(c->webhook, &w);
		conn_log(c, IDMEFV2_LOG_INFO,
		         "push: requests %" PRIu64 ", accepted %" PRIu64 ", rejected %" PRIu64, w.requests, w.accepted,
		         w.rejected);
	}
	if (c->zabbix)
		conn_log(c, IDMEFV2_LOG_INFO,
		         "zabbix: problems enriched %" PRIu64 ", enrichment failures %" PRIu64 ", logins %" PRIu64
		         ", logins deferred %" PRIu64 ", calls delayed by api_rate %" PRIu64,
		         c->zabbix->enriched, c->zabbix->enrich_errors, c->zabbix->logins, c->zabbix->logins_deferred,
		         c->zabbix->throttled);
}

void pollers_free(struct connector *c)
{
	struct zabbix *z = c->zabbix;

	idmefv2_webhook_free(c->webhook);
	c->webhook = NULL;
	idmefv2_poller_free(c->poller);
	c->poller = NULL;
	free(c->kismet);
	c->kismet = NULL;
	if (z) {
		idmefv2_poller_free(z->rpc);
		json_object_put(z->server);
		free(z->user);
		free(z->password);
		free(z->token);
		free(z->listen_address);
		free(z->push_token);
		pthread_mutex_destroy(&z->lock);
		free(z);
		c->zabbix = NULL;
	}
}
