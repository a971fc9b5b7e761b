/* SPDX-License-Identifier: Apache-2.0 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <idmefv2/poller.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "idmefv2-common.h"

#define STATE_MAGIC "idmefv2-poller-state 1"
#define KEY_MAX 4096

struct idmefv2_poller {
	char *url;
	char *items_path;
	char *key_field;
	char *user;
	char *password;
	char *bearer;
	char *ca_file;
	char *state_path;
	char *rpc_method;
	json_object *rpc_params;
	int64_t rpc_id;
	bool verify;
	bool seed;
	bool no_autosave;   /* the caller saves the state when what was handed over is delivered */
	bool in_item;       /* inside the item callback: cur_key is the item's key */
	uint64_t cur_key;
	unsigned interval_ms;
	unsigned timeout_ms;

	idmefv2_poller_response_cb response_cb;
	void *response_ud;
	idmefv2_poller_item_cb item_cb;
	void *item_ud;
	idmefv2_poller_key_cb key_cb;
	void *key_ud;
	idmefv2_log_cb log_cb;
	void *log_ud;

	CURL *curl;
	bool started;
	bool seeding_pending;
	int64_t next_due_ms;

	/* Ring of remembered key hashes; a linear scan is cheap at these sizes. */
	uint64_t *keys;
	size_t max_keys;
	size_t nkeys;
	size_t head;

	idmefv2_poller_counters counters;
};

typedef struct {
	char *data;
	size_t len;
	bool too_big;
} body_buf;

static void poller_log(const idmefv2_poller *p, idmefv2_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void poller_log(const idmefv2_poller *p, idmefv2_log_level level, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (!p->log_cb)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	p->log_cb(level, buf, p->log_ud);
}


static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Replace *dst by a copy of src (NULL clears); false when out of memory. */
static bool replace_str(char **dst, const char *src)
{
	char *copy = NULL;

	if (src) {
		copy = strdup(src);
		if (!copy)
			return false;
	}
	free(*dst);
	*dst = copy;
	return true;
}

static void curl_init_once(void)
{
	static bool done;

	/* curl_global_init is not thread-safe before 7.84; a process-wide flag keeps it to one call. */
	if (!done) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		done = true;
	}
}

IDMEFV2_EXPORT idmefv2_poller *idmefv2_poller_new(const char *url)
{
	idmefv2_poller *p;

	if (!url || !*url)
		return NULL;
	curl_init_once();
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->url = strdup(url);
	p->items_path = strdup("");
	p->curl = curl_easy_init();
	if (!p->url || !p->items_path || !p->curl) {
		idmefv2_poller_free(p);
		return NULL;
	}
	p->verify = true;
	p->interval_ms = IDMEFV2_POLLER_DEFAULT_INTERVAL_MS;
	p->timeout_ms = IDMEFV2_POLLER_DEFAULT_TIMEOUT_MS;
	p->max_keys = IDMEFV2_POLLER_DEFAULT_MAX_KEYS;
	return p;
}

IDMEFV2_EXPORT void idmefv2_poller_free(idmefv2_poller *p)
{
	if (!p)
		return;
	if (p->curl)
		curl_easy_cleanup(p->curl);
	free(p->url);
	free(p->items_path);
	free(p->key_field);
	free(p->user);
	if (p->password) {
		explicit_bzero(p->password, strlen(p->password));
		free(p->password);
	}
	if (p->bearer) {
		explicit_bzero(p->bearer, strlen(p->bearer));
		free(p->bearer);
	}
	free(p->ca_file);
	free(p->state_path);
	free(p->rpc_method);
	json_object_put(p->rpc_params);
	free(p->keys);
	free(p);
}

IDMEFV2_EXPORT void idmefv2_poller_set_log_cb(idmefv2_poller *p, idmefv2_log_cb cb, void *user_data)
{
	p->log_cb = cb;
	p->log_ud = user_data;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_poller_set_response_cb(idmefv2_poller *p, idmefv2_poller_response_cb cb,
                                                            void *user_data)
{
	if (p->started)
		return IDMEFV2_ERR_STATE;
	p->response_cb = cb;
	p->response_ud = user_data;
	return IDMEFV2_OK;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_poller_set_item_cb(idmefv2_poller *p, idmefv2_poller_item_cb cb,
                                                        void *user_data)
{
	if (p->started)
		return IDMEFV2_ERR_STATE;
	p->item_cb = cb;
	p->item_ud = user_data;
	return IDMEFV2_OK;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_poller_set_items_path(idmefv2_poller *p, const char *path)
{
	if (!path)
		return IDMEFV2_ERR_INVALID_ARG;
	if (p->started)
		return IDMEFV2_ERR_STATE;
	return replace_str(&p->items_path, path) ? IDMEFV2_OK : IDMEFV2_ERR_NOMEM;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_poller_set_key_field(idmefv2_poller *p, const char *name)
{
	if (p->started)
		return IDMEFV2_ERR_STATE;
	return replace_str(&p->key_field, name) ? IDMEFV2_OK : IDMEFV2_ERR_NOMEM;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_poller_set_key_cb(idmefv2_poller *p, idmefv2_poller_key_cb cb,
                                                       void *user_data)
{
	if (p->started)
		return IDMEFV2_ERR_STATE;
	p->key_cb = cb;
	p->key_ud = user_data;
	return IDMEFV2_OK;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_poller_set_max_keys(idmefv2_poller *p, size_t max_keys)
{
	if (max_keys == 0)
		return IDMEFV2_ERR_INVALID_ARG;
	if (p->started)
		return IDMEFV2_ERR_STATE;
	p->max_keys = max_keys;
	return IDMEFV2_OK;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_poller_set_interval(idmefv2_poller *p, unsigned interval_ms)
{
	p->interval_ms = interval_ms;
	return IDMEFV2_OK;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_poller_set_timeout(idmefv2_poller *p, unsigned timeout_ms)
{
	if (timeout_ms == 0)
		return IDMEFV2_ERR_INVALID_ARG;
	p->timeout_ms = timeout_ms;
	return IDMEFV2_OK;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_poller_set_basic_auth(idmefv2_poller *p, const char *user,
                                                           const char *password)
{
	if (!replace_str(&p->user, user) || !replace_str(&p->password, user ? (password ? password : "") : NULL))
		return IDMEFV2_ERR_NOMEM;
	if (user)
		return idmefv2_poller_set_bearer(p, NULL);
	return IDMEFV2_OK;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_poller_set_bearer(idmefv2_poller *p, const char *token)
{
	if (!replace_str(&p->bearer, token))
		return IDMEFV2_ERR_NOMEM;
	if (token) {
		free(p->user);
		free(p->password);
		p->user = p->password = NULL;
	}
	return IDMEFV2_OK;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_poller_set_verify(idmefv2_poller *p, bool verify)
{
	p->verify = verify;
	return IDMEFV2_OK;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_poller_set_ca_file(idmefv2_poller *p, const char *ca_file)
{
	return replace_str(&p->ca_file, ca_file) ? IDMEFV2_OK : IDMEFV2_ERR_NOMEM;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_poller_set_seed(idmefv2_poller *p, bool seed)
{
	if (p->started)
		return IDMEFV2_ERR_STATE;
	p->seed = seed;
	return IDMEFV2_OK;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_poller_set_state_file(idmefv2_poller *p, const char *state_path)
{
	if (p->started)
		return IDMEFV2_ERR_STATE;
	return replace_str(&p->state_path, state_path) ? IDMEFV2_OK : IDMEFV2_ERR_NOMEM;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_poller_set_jsonrpc(idmefv2_poller *p, const char *method,
                                                        json_object *params)
{
	if (!method)
		return IDMEFV2_ERR_INVALID_ARG;
	if (p->started)
		return IDMEFV2_ERR_STATE;
	if (!replace_str(&p->rpc_method, method))
		return IDMEFV2_ERR_NOMEM;
	json_object_put(p->rpc_params);
	p->rpc_params = params ? json_object_get(params) : NULL;
	if (!*p->items_path && !replace_str(&p->items_path, "result"))
		return IDMEFV2_ERR_NOMEM;
	return IDMEFV2_OK;
}

IDMEFV2_EXPORT int64_t idmefv2_poller_get_next_ms(const idmefv2_poller *p)
{
	int64_t left;

	if (!p->started)
		return -1;
	left = p->next_due_ms - now_ms();
	return left > 0 ? left : 0;
}

IDMEFV2_EXPORT void idmefv2_poller_get_counters(const idmefv2_poller *p, idmefv2_poller_counters *ret_counters)
{
	*ret_counters = p->counters;
}

/* ---- JSON helpers ---- */

IDMEFV2_EXPORT idmefv2_error idmefv2_json_get_array(json_object *root, const char *path, json_object **ret_items)
{
	json_object *cur = root;
	const char *s = path;

	if (!root || !path || !ret_items)
		return IDMEFV2_ERR_INVALID_ARG;
	if (s[0] == '$')
		s += s[1] == '.' ? 2 : (s[1] == '\0' ? 1 : 0);
	if (s == path && s[0] == '$')
		return IDMEFV2_ERR_PATH;
	while (*s) {
		const char *dot = strchr(s, '.');
		size_t len = dot ? (size_t)(dot - s) : strlen(s);
		char name[256];

		if (len == 0 || len >= sizeof(name))
			return IDMEFV2_ERR_PATH;
		memcpy(name, s, len);
		name[len] = '\0';
		if (json_object_is_type(cur, json_type_object)) {
			if (!json_object_object_get_ex(cur, name, &cur))
				return IDMEFV2_ERR_NOT_FOUND;
		} else if (json_object_is_type(cur, json_type_array)) {
			char *end;
			unsigned long idx;

			errno = 0;
			idx = strtoul(name, &end, 10);
			if (*end || errno || name[0] == '-' || name[0] == '+')
				return IDMEFV2_ERR_NOT_FOUND;
			if (idx >= json_object_array_length(cur))
				return IDMEFV2_ERR_NOT_FOUND;
			cur = json_object_array_get_idx(cur, idx);
		} else {
			return IDMEFV2_ERR_NOT_FOUND;
		}
		s += len;
		if (*s == '.') {
			s++;
			if (!*s)
				return IDMEFV2_ERR_PATH;
		}
	}
	if (!json_object_is_type(cur, json_type_array))
		return IDMEFV2_ERR_TYPE;
	*ret_items = cur;
	return IDMEFV2_OK;
}

IDMEFV2_EXPORT json_object *idmefv2_jsonrpc_request_new(int64_t id, const char *method, json_object *params)
{
	json_object *req;

	if (!method)
		return NULL;
	req = json_object_new_object();
	if (!req)
		return NULL;
	if (json_object_object_add(req, "jsonrpc", json_object_new_string("2.0")) ||
	    json_object_object_add(req, "id", json_object_new_int64(id)) ||
	    json_object_object_add(req, "method", json_object_new_string(method)) ||
	    json_object_object_add(req, "params", params ? json_object_get(params) : json_object_new_object())) {
		json_object_put(req);
		return NULL;
	}
	return req;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_jsonrpc_response_check(json_object *reply, int64_t id,
                                                            json_object **ret_result, char *errstr,
                                                            size_t errstr_size)
{
	json_object *v, *err, *result;

	if (!json_object_is_type(reply, json_type_object)) {
		idmefv2__set_error(errstr, errstr_size, "JSON-RPC reply is not an object");
		return IDMEFV2_ERR_PARSE;
	}
	if (!json_object_object_get_ex(reply, "jsonrpc", &v) || !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), "2.0") != 0) {
		idmefv2__set_error(errstr, errstr_size, "JSON-RPC reply without \"jsonrpc\": \"2.0\"");
		return IDMEFV2_ERR_PARSE;
	}
	if (json_object_object_get_ex(reply, "error", &err) && err) {
		json_object *code = NULL, *msg = NULL, *data = NULL;

		json_object_object_get_ex(err, "code", &code);
		json_object_object_get_ex(err, "message", &msg);
		json_object_object_get_ex(err, "data", &data);
		idmefv2__set_error(errstr, errstr_size, "JSON-RPC error %" PRId64 ": %s%s%s", json_object_get_int64(code),
		        msg ? json_object_get_string(msg) : "(no message)", data ? ": " : "",
		        data ? json_object_get_string(data) : "");
		return IDMEFV2_ERR_INVALID;
	}
	/* A null id is what a server answers when it could not read ours; only an error may carry it. */
	if (!json_object_object_get_ex(reply, "id", &v) || !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) != id) {
		idmefv2__set_error(errstr, errstr_size, "JSON-RPC reply to another id (expected %" PRId64 ")", id);
		return IDMEFV2_ERR_PARSE;
	}
	if (!json_object_object_get_ex(reply, "result", &result)) {
		idmefv2__set_error(errstr, errstr_size, "JSON-RPC reply without result or error");
		return IDMEFV2_ERR_PARSE;
	}
	if (ret_result)
		*ret_result = result;
	return IDMEFV2_OK;
}

/* ---- HTTP ---- */

static size_t body_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	body_buf *b = userdata;
	size_t n = size * nmemb;
	char *grown;

	if (b->len + n > IDMEFV2_POLLER_MAX_BODY) {
		b->too_big = true;
		return 0;
	}
	grown = realloc(b->data, b->len + n + 1);
	if (!grown)
		return 0;
	b->data = grown;
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/*
 * One request: GET, or POST of @post_body. On success *ret_json is the parsed
 * body. Returns IDMEFV2_ERR_TRANSPORT (connection), IDMEFV2_ERR_RANGE (HTTP
 * status, in *ret_status) or IDMEFV2_ERR_PARSE, with detail in errstr.
 */
static idmefv2_error poller_request(idmefv2_poller *p, const char *post_body, json_object **ret_json,
                                    long *ret_status, char *errstr, size_t errstr_size)
{
	char curl_err[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = NULL;
	body_buf body = { 0 };
	char *auth_header = NULL;
	json_tokener *tok = NULL;
	json_object *json = NULL;
	idmefv2_error err = IDMEFV2_ERR_TRANSPORT;
	CURLcode rc;
	long status = 0;
	CURL *c = p->curl;

	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, p->url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)p->timeout_ms);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, p->verify ? 1L : 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, p->verify ? 2L : 0L);
	if (p->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, p->ca_file);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "libidmefv2-connectors");
	headers = curl_slist_append(headers, "Accept: application/json");
	if (p->user) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERNAME, p->user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, p->password);
	} else if (p->bearer) {
		if (asprintf(&auth_header, "Authorization: Bearer %s", p->bearer) < 0) {
			auth_header = NULL;
			err = IDMEFV2_ERR_NOMEM;
			goto out;
		}
		headers = curl_slist_append(headers, auth_header);
	}
	if (post_body) {
		headers = curl_slist_append(headers, "Content-Type: application/json-rpc");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, post_body);
	}
	if (!headers) {
		err = IDMEFV2_ERR_NOMEM;
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);

	rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		idmefv2__set_error(errstr, errstr_size, "%s: %s", p->url,
		        body.too_big ? "response too large" : (curl_err[0] ? curl_err : curl_easy_strerror(rc)));
		err = IDMEFV2_ERR_TRANSPORT;
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	*ret_status = status;
	if (status < 200 || status > 299) {
		idmefv2__set_error(errstr, errstr_size, "%s: HTTP status %ld: %.200s", p->url, status, body.data ? body.data : "");
		err = IDMEFV2_ERR_RANGE;
		goto out;
	}
	tok = json_tokener_new();
	if (!tok) {
		err = IDMEFV2_ERR_NOMEM;
		goto out;
	}
	json = json_tokener_parse_ex(tok, body.data ? body.data : "", (int)body.len);
	if (!json || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != body.len) {
		idmefv2__set_error(errstr, errstr_size, "%s: response is not JSON: %s", p->url,
		        json_tokener_error_desc(json_tokener_get_error(tok) == json_tokener_success
		                                        ? json_tokener_error_parse_eof
		                                        : json_tokener_get_error(tok)));
		json_object_put(json);
		json = NULL;
		err = IDMEFV2_ERR_PARSE;
		goto out;
	}
	*ret_json = json;
	err = IDMEFV2_OK;
out:
	/* The handle keeps pointers to these until the next reset. */
	curl_easy_reset(c);
	curl_slist_free_all(headers);
	if (auth_header) {
		explicit_bzero(auth_header, strlen(auth_header));
		free(auth_header);
	}
	if (tok)
		json_tokener_free(tok);
	free(body.data);
	return err;
}

/* POST a JSON-RPC request; *ret_reply is the whole reply, *ret_result borrowed from it. */
static idmefv2_error poller_rpc(idmefv2_poller *p, int64_t id, const char *method, json_object *params,
                                json_object **ret_reply, json_object **ret_result, long *ret_status, char *errstr,
                                size_t errstr_size)
{
	json_object *req = idmefv2_jsonrpc_request_new(id, method, params);
	json_object *reply = NULL;
	idmefv2_error err;

	if (!req)
		return IDMEFV2_ERR_NOMEM;
	err = poller_request(p, json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN), &reply, ret_status,
	                     errstr, errstr_size);
	json_object_put(req);
	if (err)
		return err;
	err = idmefv2_jsonrpc_response_check(reply, id, ret_result, errstr, errstr_size);
	if (err) {
		json_object_put(reply);
		return err;
	}
	*ret_reply = reply;
	return IDMEFV2_OK;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_poller_call(idmefv2_poller *p, const char *method, json_object *params,
                                                 json_object **ret_result, char *errstr, size_t errstr_size)
{
	json_object *reply = NULL, *result = NULL;
	long status = 0;
	idmefv2_error err;

	if (!p || !method || !ret_result)
		return IDMEFV2_ERR_INVALID_ARG;
	err = poller_rpc(p, ++p->rpc_id, method, params, &reply, &result, &status, errstr, errstr_size);
	if (err == IDMEFV2_ERR_RANGE)
		err = IDMEFV2_ERR_TRANSPORT;
	if (err)
		return err;
	*ret_result = json_object_get(result);
	json_object_put(reply);
	return IDMEFV2_OK;
}

/* ---- de-duplication ---- */

/* FNV-1a, 64 bits: among a few thousand keys a collision is around 1e-12 likely. */
static uint64_t key_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static bool keys_contain(const idmefv2_poller *p, uint64_t h)
{
	for (size_t i = 0; i < p->nkeys; i++)
		if (p->keys[i] == h)
			return true;
	return false;
}

static void keys_add(idmefv2_poller *p, uint64_t h)
{
	p->keys[p->head] = h;
	p->head = (p->head + 1) % p->max_keys;
	if (p->nkeys < p->max_keys)
		p->nkeys++;
}

static uint64_t item_key(idmefv2_poller *p, json_object *item)
{
	char buf[KEY_MAX];
	json_object *v;

	if (p->key_cb) {
		buf[0] = '\0';
		if (p->key_cb(item, buf, sizeof(buf), p->key_ud)) {
			buf[sizeof(buf) - 1] = '\0';
			return key_hash(buf);
		}
	} else if (p->key_field && json_object_object_get_ex(item, p->key_field, &v) && v) {
		return key_hash(json_object_get_string(v));
	}
	return key_hash(json_object_to_json_string_ext(item, JSON_C_TO_STRING_PLAIN));
}

/* ---- state file ---- */

static idmefv2_error poller_state_load(idmefv2_poller *p, bool *ret_loaded, char *errstr, size_t errstr_size)
{
	FILE *f;
	char line[128];
	idmefv2_error err = IDMEFV2_OK;

	*ret_loaded = false;
	if (!p->state_path)
		return IDMEFV2_OK;
	f = fopen(p->state_path, "re");
	if (!f) {
		if (errno == ENOENT)
			return IDMEFV2_OK;
		idmefv2__set_error(errstr, errstr_size, "open %s: %s", p->state_path, strerror(errno));
		return IDMEFV2_ERR_IO;
	}
	if (!fgets(line, sizeof(line), f) || strcmp(line, STATE_MAGIC "\n") != 0) {
		idmefv2__set_error(errstr, errstr_size, "%s: not a poller state file", p->state_path);
		err = IDMEFV2_ERR_PARSE;
		goto out;
	}
	while (fgets(line, sizeof(line), f)) {
		char *end;
		uint64_t h;

		errno = 0;
		h = strtoull(line, &end, 16);
		if (errno || end == line || *end != '\n') {
			idmefv2__set_error(errstr, errstr_size, "%s: malformed key line", p->state_path);
			err = IDMEFV2_ERR_PARSE;
			goto out;
		}
		keys_add(p, h);
	}
	if (ferror(f)) {
		idmefv2__set_error(errstr, errstr_size, "read %s: %s", p->state_path, strerror(errno));
		err = IDMEFV2_ERR_IO;
		goto out;
	}
	*ret_loaded = true;
out:
	fclose(f);
	return err;
}

static bool fsync_dir_of(const char *path)
{
	char *copy = strdup(path);
	char *slash;
	int fd;
	bool ok;

	if (!copy)
		return false;
	slash = strrchr(copy, '/');
	if (slash == copy)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	fd = open(slash ? copy : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd < 0)
		return false;
	ok = fsync(fd) == 0;
	close(fd);
	return ok;
}

IDMEFV2_EXPORT void idmefv2_poller_set_autosave(idmefv2_poller *p, bool yes)
{
	if (p)
		p->no_autosave = !yes;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_poller_get_item_key(const idmefv2_poller *p, uint64_t *ret_key)
{
	if (!p || !ret_key)
		return IDMEFV2_ERR_INVALID_ARG;
	if (!p->in_item)
		return IDMEFV2_ERR_STATE;
	*ret_key = p->cur_key;
	return IDMEFV2_OK;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_poller_checkpoint(idmefv2_poller *p, char *errstr, size_t errstr_size)
{
	char *tmp = NULL;
	char *text = NULL;
	size_t len = 0, cap;
	size_t start;
	int fd = -1;
	idmefv2_error err = IDMEFV2_ERR_IO;

	if (!p->state_path)
		return IDMEFV2_OK;
	cap = sizeof(STATE_MAGIC) + 1 + p->nkeys * 17 + 1;
	text = malloc(cap);
	if (asprintf(&tmp, "%s.tmp", p->state_path) < 0)
		tmp = NULL;
	if (!text || !tmp) {
		err = IDMEFV2_ERR_NOMEM;
		goto out;
	}
	len = (size_t)snprintf(text, cap, "%s\n", STATE_MAGIC);
	/* Oldest first, so that loading the file rebuilds the ring in the same order. */
	start = p->nkeys < p->max_keys ? 0 : p->head;
	for (size_t i = 0; i < p->nkeys; i++)
		len += (size_t)snprintf(text + len, cap - len, "%016" PRIx64 "\n",
		                        p->keys[(start + i) % p->max_keys]);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		idmefv2__set_error(errstr, errstr_size, "open %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (!idmefv2__write_all(fd, text, len) || fsync(fd) < 0) {
		idmefv2__set_error(errstr, errstr_size, "write %s: %s", tmp, strerror(errno));
		unlink(tmp);
		goto out;
	}
	close(fd);
	fd = -1;
	if (rename(tmp, p->state_path) < 0) {
		idmefv2__set_error(errstr, errstr_size, "rename %s: %s", p->state_path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	/* The rename is only durable once the directory entry is on disk. */
	if (!fsync_dir_of(p->state_path)) {
		idmefv2__set_error(errstr, errstr_size, "fsync directory of %s: %s", p->state_path, strerror(errno));
		goto out;
	}
	err = IDMEFV2_OK;
out:
	if (fd >= 0)
		close(fd);
	free(tmp);
	free(text);
	return err;
}

/* ---- start and poll ---- */

IDMEFV2_EXPORT idmefv2_error idmefv2_poller_start(idmefv2_poller *p, char *errstr, size_t errstr_size)
{
	bool loaded = false;
	idmefv2_error err;

	if (p->started || (!p->item_cb && !p->response_cb)) {
		idmefv2__set_error(errstr, errstr_size, p->started ? "already started" : "no callback set");
		return IDMEFV2_ERR_STATE;
	}
	p->keys = calloc(p->max_keys, sizeof(*p->keys));
	if (!p->keys)
		return IDMEFV2_ERR_NOMEM;
	err = poller_state_load(p, &loaded, errstr, errstr_size);
	if (err) {
		free(p->keys);
		p->keys = NULL;
		p->nkeys = p->head = 0;
		return err;
	}
	p->seeding_pending = p->seed && !loaded && p->item_cb;
	p->next_due_ms = now_ms();
	p->started = true;
	return IDMEFV2_OK;
}

/* Walk the items of one response; returns how many were delivered. */
static size_t poller_items(idmefv2_poller *p, json_object *items, bool *ret_changed)
{
	size_t n = json_object_array_length(items);
	size_t delivered = 0;

	for (size_t i = 0; i < n; i++) {
		json_object *item = json_object_array_get_idx(items, i);
		uint64_t h = item_key(p, item);
		idmefv2_error rc;

		if (keys_contain(p, h)) {
			if (!p->seeding_pending)
				p->counters.duplicates++;
			continue;
		}
		if (p->seeding_pending) {
			keys_add(p, h);
			p->counters.seeded++;
			*ret_changed = true;
			continue;
		}
		p->cur_key = h;
		p->in_item = true;
		rc = p->item_cb(item, p->item_ud);
		p->in_item = false;
		if (rc != IDMEFV2_OK) {
			p->counters.refused++;
			poller_log(p, IDMEFV2_LOG_WARNING, "poller %s: item refused (%s), retried on the next fetch",
			           p->url, idmefv2_strerror(rc));
			break;
		}
		keys_add(p, h);
		p->counters.items++;
		*ret_changed = true;
		delivered++;
	}
	return delivered;
}

static size_t poller_fetch(idmefv2_poller *p)
{
	char errstr[512] = "";
	json_object *json = NULL;
	json_object *payload;
	json_object *items;
	long status = 0;
	bool changed = false;
	size_t delivered = 0;
	idmefv2_error err;

	p->counters.fetches++;
	if (p->rpc_method) {
		json_object *result = NULL;

		err = poller_rpc(p, ++p->rpc_id, p->rpc_method, p->rpc_params, &json, &result, &status, errstr,
		                 sizeof(errstr));
	} else {
		err = poller_request(p, NULL, &json, &status, errstr, sizeof(errstr));
	}
	switch (err) {
	case IDMEFV2_OK:
		break;
	case IDMEFV2_ERR_RANGE:
		p->counters.http_errors++;
		poller_log(p, IDMEFV2_LOG_ERROR, "poller: %s", errstr);
		return 0;
	case IDMEFV2_ERR_PARSE:
		p->counters.parse_errors++;
		poller_log(p, IDMEFV2_LOG_ERROR, "poller: %s", errstr);
		return 0;
	case IDMEFV2_ERR_INVALID:
		p->counters.rpc_errors++;
		poller_log(p, IDMEFV2_LOG_ERROR, "poller %s: %s", p->url, errstr);
		return 0;
	default:
		p->counters.conn_errors++;
		poller_log(p, IDMEFV2_LOG_ERROR, "poller: %s", errstr[0] ? errstr : idmefv2_strerror(err));
		return 0;
	}
	p->counters.responses++;
	payload = json;
	if (p->response_cb) {
		idmefv2_error rc = p->response_cb(payload, status, p->response_ud);

		if (rc != IDMEFV2_OK) {
			p->counters.rejected++;
			poller_log(p, IDMEFV2_LOG_WARNING, "poller %s: response rejected (%s)", p->url,
			           idmefv2_strerror(rc));
			goto out;
		}
	}
	if (!p->item_cb)
		goto out;
	err = idmefv2_json_get_array(payload, p->items_path, &items);
	if (err) {
		p->counters.parse_errors++;
		poller_log(p, IDMEFV2_LOG_ERROR, "poller %s: no items array at \"%s\" (%s)", p->url, p->items_path,
		           idmefv2_strerror(err));
		goto out;
	}
	delivered = poller_items(p, items, &changed);
	if (p->seeding_pending) {
		poller_log(p, IDMEFV2_LOG_INFO, "poller %s: seeded with %zu existing items", p->url,
		           json_object_array_length(items));
		p->seeding_pending = false;
	}
	if (changed && p->state_path && !p->no_autosave &&
	    idmefv2_poller_checkpoint(p, errstr, sizeof(errstr)) != IDMEFV2_OK) {
		p->counters.state_errors++;
		poller_log(p, IDMEFV2_LOG_ERROR, "poller: saving state: %s", errstr);
	}
out:
	json_object_put(json);
	return delivered;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_poller_poll(idmefv2_poller *p, int timeout_ms, size_t *ret_items)
{
	int64_t now, wait;
	size_t delivered;

	if (!p->started)
		return IDMEFV2_ERR_STATE;
	if (ret_items)
		*ret_items = 0;
	now = now_ms();
	wait = p->next_due_ms - now;
	if (wait > 0) {
		if (timeout_ms >= 0 && wait > timeout_ms) {
			if (timeout_ms > 0)
				poll(NULL, 0, timeout_ms);
			return IDMEFV2_OK;
		}
		while (wait > 0) {
			poll(NULL, 0, wait > INT32_MAX ? INT32_MAX : (int)wait);
			wait = p->next_due_ms - now_ms();
		}
	}
	/* Interval counted from the fetch's start, so a slow server does not stretch it. */
	p->next_due_ms = now_ms() + p->interval_ms;
	delivered = poller_fetch(p);
	if (ret_items)
		*ret_items = delivered;
	return IDMEFV2_OK;
}
