/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP(S) sender: one worker thread drives a libcurl multi handle.
 *
 * The multi handle keeps a pool of persistent connections (HTTP/1.1
 * keep-alive, or HTTP/2 streams where the server offers h2 over TLS) and up
 * to http.max_in_flight requests at once. Each request carries one item, or
 * with http.batch > 1 an NDJSON body of several items whose outcome is the
 * request's.
 *
 * Ordering under failure: when a request fails in a way worth retrying, the
 * sender enters "recovery". It lets the requests already in flight finish,
 * then hands every failed item back to the generic layer with
 * idmefv2__transport_return(), which puts it back at the head of the send
 * queue in send order (and into the spool, if one is set, so that it
 * survives a crash). After the backoff (or the server's Retry-After) it sends
 * one probe request with the oldest items and nothing else; only when a probe
 * succeeds does it go back to full concurrency. So while the peer is down no
 * later item can overtake an earlier one.
 *
 * With more than one request in flight, requests travel on several
 * connections (or HTTP/2 streams) and the server may see neighbours in
 * either order; strict order needs http.max_in_flight = 1.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <zlib.h>

#include "transport-private.h"

#define EXCERPT_MAX 200
/* A Retry-After beyond this is a server bug, not a plan: do not stall for days. */
#define RETRY_AFTER_CAP_MS ((int64_t)3600 * 1000)
/* Idle wake-up, only a safety net: new items and stop() wake the worker at once. */
#define IDLE_POLL_MS 1000
#define NDJSON_TYPE "application/x-ndjson"

struct req {
	struct req *next;             /* free list or in-flight list */
	CURL *easy;
	struct idmefv2__item *items;  /* in send order */
	size_t n_items;
	char *body;                   /* NDJSON batch body (reused buffer) */
	size_t body_cap;
	char *zbody;                  /* the same, gzip'ed (http.compress=gzip; reused buffer) */
	size_t zbody_cap;
	struct curl_slist *headers;
	char *headers_type;           /* content type @headers were built for */
	char excerpt[EXCERPT_MAX + 1];
	size_t excerpt_len;
	char errbuf[CURL_ERROR_SIZE];
	bool probe;
};

struct http_send {
	idmefv2_transport *t;
	CURLM *multi;
	pthread_t thread;
	bool thread_started;
	atomic_bool stop;
	atomic_bool wake_pending;

	/* Configuration, read at start(). String options are borrowed from the
	 * option store, which does not change once started. */
	char *url;                    /* without userinfo */
	char *username;
	char *password;
	char *bearer_header;
	long timeout_ms;
	long connect_timeout_ms;
	size_t max_in_flight;
	size_t batch;
	int64_t retry_max;
	bool gzip;                    /* http.compress=gzip: batches go gzip'ed */
	bool http2;
	bool https;
	bool verify;
	long tls_version;
	const char *ca_file;
	const char *ca_dir;
	const char *cert;
	const char *key;
	const char *key_password;

	/* Worker state, touched by the worker thread only. */
	struct req *free_reqs;
	struct req *active;
	size_t in_flight;
	/* Failed transiently and waiting to be handed back, or taken but not yet
	 * sent (a batch cut short), in send order. */
	struct idmefv2__item *pending;
	bool recovering;
	unsigned failures;             /* consecutive failed probes */
	int64_t hold_until;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init_once(void)
{
	curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static struct http_send *hs_of(const idmefv2_transport *t)
{
	return idmefv2__transport_backend_data(t);
}

static bool has_crlf(const char *s)
{
	return s && strpbrk(s, "\r\n") != NULL;
}

/* ---- items ------------------------------------------------------------------------------ */

static struct idmefv2__item *list_reverse(struct idmefv2__item *list)
{
	struct idmefv2__item *rev = NULL;

	while (list) {
		struct idmefv2__item *next = list->next;
		list->next = rev;
		rev = list;
		list = next;
	}
	return rev;
}

/* Merge @items (in send order) into the pending list, keeping it in send order. */
static void pending_merge(struct http_send *hs, struct idmefv2__item *items)
{
	struct idmefv2__item **pos = &hs->pending;

	while (items) {
		struct idmefv2__item *item = items;
		items = items->next;
		while (*pos && (*pos)->seq < item->seq)
			pos = &(*pos)->next;
		item->next = *pos;
		*pos = item;
		pos = &item->next;
	}
}

static bool type_is_json(const char *type)
{
	size_t n;

	if (!type)
		return false;
	n = strcspn(type, ";");
	while (n > 0 && type[n - 1] == ' ')
		n--;
	return (n == 16 && strncasecmp(type, "application/json", n) == 0) ||
	       (n == 9 && strncasecmp(type, "text/json", n) == 0);
}

/* An item can share an NDJSON body if it is JSON on one line. */
static bool item_batchable(const struct idmefv2__item *item)
{
	return type_is_json(item->content_type) && !memchr(item->data, '\n', item->len) &&
	       !memchr(item->data, '\r', item->len);
}

/* Split off the items of the next request from the head of @list: one item,
 * or with batching the longest run of batchable items up to hs->batch. */
static struct idmefv2__item *cut_request(const struct http_send *hs, struct idmefv2__item **list)
{
	struct idmefv2__item *head = *list, *last = head;
	size_t n = 1;

	if (!head)
		return NULL;
	if (hs->batch > 1 && item_batchable(head)) {
		while (n < hs->batch && last->next && item_batchable(last->next)) {
			last = last->next;
			n++;
		}
	}
	*list = last->next;
	last->next = NULL;
	return head;
}

static void finish_items(struct http_send *hs, struct idmefv2__item *items,
                         idmefv2_delivery_status status, const char *detail)
{
	while (items) {
		struct idmefv2__item *next = items->next;
		items->next = NULL;
		if (status == IDMEFV2_DELIVERY_REJECTED)
			idmefv2__transport_dead_letter(hs->t, items, detail);
		idmefv2__transport_done(hs->t, items, status, detail);
		items = next;
	}
}

/* ---- requests ----------------------------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct req *req = userdata;
	size_t len = size * nmemb;
	size_t room = EXCERPT_MAX - req->excerpt_len;
	size_t take = len < room ? len : room;

	memcpy(req->excerpt + req->excerpt_len, data, take);
	req->excerpt_len += take;
	req->excerpt[req->excerpt_len] = '\0';
	/* The rest is read and dropped, which keeps the connection reusable. */
	return len;
}

static void req_free(struct req *req)
{
	if (!req)
		return;
	if (req->easy)
		curl_easy_cleanup(req->easy);
	curl_slist_free_all(req->headers);
	free(req->headers_type);
	free(req->body);
	free(req->zbody);
	free(req);
}

#define SETOPT(easy, opt, val)                                   \
	do {                                                     \
		if (curl_easy_setopt((easy), (opt), (val)) != CURLE_OK) \
			goto fail;                               \
	} while (0)

/* A request object with the options every request shares. */
static struct req *req_new(struct http_send *hs)
{
	struct req *req = calloc(1, sizeof(*req));
	CURL *easy;

	if (!req)
		return NULL;
	easy = req->easy = curl_easy_init();
	if (!easy)
		goto fail;
	SETOPT(easy, CURLOPT_URL, hs->url);
#if LIBCURL_VERSION_NUM >= 0x075500
	SETOPT(easy, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	SETOPT(easy, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	SETOPT(easy, CURLOPT_NOSIGNAL, 1L);
	SETOPT(easy, CURLOPT_POST, 1L);
	SETOPT(easy, CURLOPT_USERAGENT, "libidmefv2-transport");
	SETOPT(easy, CURLOPT_WRITEFUNCTION, on_body);
	SETOPT(easy, CURLOPT_WRITEDATA, req);
	SETOPT(easy, CURLOPT_ERRORBUFFER, req->errbuf);
	SETOPT(easy, CURLOPT_PRIVATE, req);
	SETOPT(easy, CURLOPT_TIMEOUT_MS, hs->timeout_ms);
	SETOPT(easy, CURLOPT_CONNECTTIMEOUT_MS, hs->connect_timeout_ms);
	SETOPT(easy, CURLOPT_TCP_KEEPALIVE, 1L);
	SETOPT(easy, CURLOPT_TCP_NODELAY, 1L);
	SETOPT(easy, CURLOPT_HTTP_VERSION,
	       hs->http2 ? (long)CURL_HTTP_VERSION_2TLS : (long)CURL_HTTP_VERSION_1_1);
	/* Wait for a connection that may multiplex rather than open one per
	 * request before knowing whether the server speaks h2. */
	if (hs->http2 && hs->https)
		SETOPT(easy, CURLOPT_PIPEWAIT, 1L);
	if (hs->https) {
		SETOPT(easy, CURLOPT_SSL_VERIFYPEER, hs->verify ? 1L : 0L);
		SETOPT(easy, CURLOPT_SSL_VERIFYHOST, hs->verify ? 2L : 0L);
		SETOPT(easy, CURLOPT_SSLVERSION, hs->tls_version);
		if (hs->ca_file)
			SETOPT(easy, CURLOPT_CAINFO, hs->ca_file);
		if (hs->ca_dir)
			SETOPT(easy, CURLOPT_CAPATH, hs->ca_dir);
		if (hs->cert)
			SETOPT(easy, CURLOPT_SSLCERT, hs->cert);
		if (hs->key)
			SETOPT(easy, CURLOPT_SSLKEY, hs->key);
		if (hs->key_password)
			SETOPT(easy, CURLOPT_KEYPASSWD, hs->key_password);
	}
	if (hs->username) {
		SETOPT(easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		SETOPT(easy, CURLOPT_USERNAME, hs->username);
		SETOPT(easy, CURLOPT_PASSWORD, hs->password ? hs->password : "");
	}
	return req;
fail:
	req_free(req);
	return NULL;
}

static struct req *req_get(struct http_send *hs)
{
	struct req *req = hs->free_reqs;

	if (req) {
		hs->free_reqs = req->next;
		req->next = NULL;
		return req;
	}
	return req_new(hs);
}

static void req_put(struct http_send *hs, struct req *req)
{
	req->items = NULL;
	req->n_items = 0;
	req->probe = false;
	req->next = hs->free_reqs;
	hs->free_reqs = req;
}

static int req_set_headers(struct http_send *hs, struct req *req, const char *type)
{
	struct curl_slist *list = NULL, *tmp;
	char *line = NULL, *copy = NULL;

	if (req->headers_type && strcmp(req->headers_type, type) == 0)
		return 0;
	if (asprintf(&line, "Content-Type: %s", type) < 0) {
		line = NULL;
		goto fail;
	}
	if (!(tmp = curl_slist_append(list, line)))
		goto fail;
	list = tmp;
	/* No 100-continue round trip: the server answers the whole body anyway. */
	if (!(tmp = curl_slist_append(list, "Expect:")))
		goto fail;
	list = tmp;
	if (hs->bearer_header) {
		if (!(tmp = curl_slist_append(list, hs->bearer_header)))
			goto fail;
		list = tmp;
	}
	/* Only batches are compressed (see req_set_body()), and only they have this type. */
	if (hs->gzip && strcmp(type, NDJSON_TYPE) == 0) {
		if (!(tmp = curl_slist_append(list, "Content-Encoding: gzip")))
			goto fail;
		list = tmp;
	}
	if (!(copy = strdup(type)))
		goto fail;
	if (curl_easy_setopt(req->easy, CURLOPT_HTTPHEADER, list) != CURLE_OK)
		goto fail;
	curl_slist_free_all(req->headers);
	free(req->headers_type);
	req->headers = list;
	req->headers_type = copy;
	free(line);
	return 0;
fail:
	/* The easy handle may still point at the old list, which is kept. */
	curl_easy_setopt(req->easy, CURLOPT_HTTPHEADER, req->headers);
	curl_slist_free_all(list);
	free(copy);
	free(line);
	return -1;
}

/* @len bytes of @body as one gzip stream in req->zbody; its length, or 0 on failure. */
static size_t req_gzip(struct req *req, const char *body, size_t len)
{
	z_stream z = { 0 };
	size_t bound, out = 0;

	/* Level 1: NDJSON of alerts shrinks about fivefold even so, at a fraction of the CPU of level 6. */
	if (deflateInit2(&z, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return 0;
	bound = deflateBound(&z, (uLong)len);
	if (bound > req->zbody_cap) {
		char *grown = realloc(req->zbody, bound);

		if (!grown)
			goto out;
		req->zbody = grown;
		req->zbody_cap = bound;
	}
	z.next_in = (Bytef *)body;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)req->zbody;
	z.avail_out = (uInt)bound;
	if (deflate(&z, Z_FINISH) == Z_STREAM_END)
		out = bound - z.avail_out;
out:
	deflateEnd(&z);
	return out;
}

static int req_set_body(struct http_send *hs, struct req *req)
{
	const char *body;
	size_t len = 0;

	if (req->n_items == 1) {
		body = req->items->data;
		len = req->items->len;
	} else {
		char *p;

		for (struct idmefv2__item *it = req->items; it; it = it->next)
			len += it->len + 1;
		if (len > req->body_cap) {
			char *grown = realloc(req->body, len);
			if (!grown)
				return -1;
			req->body = grown;
			req->body_cap = len;
		}
		p = req->body;
		for (struct idmefv2__item *it = req->items; it; it = it->next) {
			memcpy(p, it->data, it->len);
			p += it->len;
			*p++ = '\n';
		}
		body = req->body;
		if (hs->gzip) {
			len = req_gzip(req, body, len);
			if (!len)
				return -1;
			body = req->zbody;
		}
	}
	if (curl_easy_setopt(req->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len) != CURLE_OK ||
	    curl_easy_setopt(req->easy, CURLOPT_POSTFIELDS, body) != CURLE_OK)
		return -1;
	return 0;
}

/* Back off after a failure of the peer, as a failed probe or the first failure of an episode. */
static void enter_recovery(struct http_send *hs, int64_t retry_after_ms)
{
	int64_t delay;

	hs->failures++;
	delay = idmefv2__backoff_ms(hs->t, hs->failures);
	if (retry_after_ms > delay)
		delay = retry_after_ms;
	hs->recovering = true;
	hs->hold_until = idmefv2__now_ms() + delay;
}

/* Send @items as one request. Returns false if it could not be started
 * (the items are then pending again). */
static bool req_start(struct http_send *hs, struct idmefv2__item *items, bool probe)
{
	struct req *req;
	const char *type;
	size_t n = 0;

	for (struct idmefv2__item *it = items; it; it = it->next)
		n++;
	type = n > 1 ? NDJSON_TYPE : items->content_type;
	if (!type || !*type || has_crlf(type)) {
		finish_items(hs, items, IDMEFV2_DELIVERY_FAILED, "invalid content type");
		return true;
	}
	req = req_get(hs);
	if (!req)
		goto fail;
	req->items = items;
	req->n_items = n;
	req->probe = probe;
	req->excerpt_len = 0;
	req->excerpt[0] = '\0';
	req->errbuf[0] = '\0';
	if (req_set_headers(hs, req, type) < 0 || req_set_body(hs, req) < 0)
		goto fail_req;
	if (curl_multi_add_handle(hs->multi, req->easy) != CURLM_OK)
		goto fail_req;
	for (struct idmefv2__item *it = items; it; it = it->next)
		it->attempts++;
	req->next = hs->active;
	hs->active = req;
	hs->in_flight++;
	return true;
fail_req:
	req->items = NULL;
	req_put(hs, req);
fail:
	idmefv2__log(hs->t, IDMEFV2_LOG_ERROR, "http: cannot start a request (out of memory)");
	pending_merge(hs, items);
	if (!hs->recovering)
		enter_recovery(hs, 0);
	return false;
}

static void active_remove(struct http_send *hs, struct req *req)
{
	for (struct req **pos = &hs->active; *pos; pos = &(*pos)->next) {
		if (*pos == req) {
			*pos = req->next;
			req->next = NULL;
			hs->in_flight--;
			return;
		}
	}
}

/* ---- outcomes ------------------------------------------------------------------------------ */

static bool status_retryable(long status)
{
	return status == 408 || status == 429 || (status >= 500 && status <= 599);
}

/* The excerpt as one printable line. */
static void excerpt_clean(struct req *req)
{
	for (size_t i = 0; i < req->excerpt_len; i++) {
		unsigned char c = (unsigned char)req->excerpt[i];
		if (c < 0x20 || c == 0x7f)
			req->excerpt[i] = ' ';
	}
	while (req->excerpt_len > 0 && req->excerpt[req->excerpt_len - 1] == ' ')
		req->excerpt[--req->excerpt_len] = '\0';
}

static void on_transient(struct http_send *hs, struct idmefv2__item *items, bool probe,
                         const char *detail, int64_t retry_after_ms)
{
	struct idmefv2__item *keep = NULL, **keep_tail = &keep;
	bool first = !hs->recovering;

	while (items) {
		struct idmefv2__item *item = items;
		items = items->next;
		item->next = NULL;
		/* retry.max counts retries after the first attempt. */
		if (hs->retry_max >= 0 && (int64_t)item->attempts > hs->retry_max) {
			char why[320];
			/* transport_done() logs it. */
			snprintf(why, sizeof(why), "gave up after %u attempts: %s", item->attempts, detail);
			idmefv2__transport_done(hs->t, item, IDMEFV2_DELIVERY_FAILED, why);
			continue;
		}
		*keep_tail = item;
		keep_tail = &item->next;
	}
	bool retrying = keep != NULL;

	pending_merge(hs, keep);
	/* Even with nothing left to retry, the next item waits for the backoff: the
	 * peer is most likely still failing. */
	if (!hs->recovering || probe) {
		enter_recovery(hs, retry_after_ms);
	} else if (retry_after_ms > 0) {
		int64_t until = idmefv2__now_ms() + retry_after_ms;
		if (until > hs->hold_until)
			hs->hold_until = until;
	}
	if (retrying)
		idmefv2__log(hs->t, first ? IDMEFV2_LOG_WARNING : IDMEFV2_LOG_DEBUG,
		             "http: %s: %s; retrying in %" PRId64 " ms", hs->url, detail,
		             hs->hold_until - idmefv2__now_ms());
}

static void req_finish(struct http_send *hs, struct req *req, CURLcode result)
{
	char detail[EXCERPT_MAX + 64];
	long status = 0;
	curl_off_t retry_after = 0;
	int64_t retry_after_ms = 0;
	struct idmefv2__item *items = req->items;

	req->items = NULL;
	if (result != CURLE_OK) {
		snprintf(detail, sizeof(detail), "%s", req->errbuf[0] ? req->errbuf : curl_easy_strerror(result));
		on_transient(hs, items, req->probe, detail, 0);
		return;
	}
	curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &status);
	excerpt_clean(req);
	if (status >= 200 && status <= 299) {
		if (req->probe || !hs->recovering) {
			hs->recovering = false;
			hs->failures = 0;
		}
		finish_items(hs, items, IDMEFV2_DELIVERY_SENT, NULL);
		return;
	}
	if (req->excerpt_len)
		snprintf(detail, sizeof(detail), "HTTP %ld: %s", status, req->excerpt);
	else
		snprintf(detail, sizeof(detail), "HTTP %ld", status);
	if (status_retryable(status)) {
		if ((status == 429 || status == 503) &&
		    curl_easy_getinfo(req->easy, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK &&
		    retry_after > 0) {
			retry_after_ms = retry_after > RETRY_AFTER_CAP_MS / 1000 ? RETRY_AFTER_CAP_MS
			                                                        : (int64_t)retry_after * 1000;
		}
		on_transient(hs, items, req->probe, detail, retry_after_ms);
		return;
	}
	/* No retry; transport_done() logs each message with this detail. */
	finish_items(hs, items, IDMEFV2_DELIVERY_REJECTED, detail);
}

static bool reap(struct http_send *hs)
{
	CURLMsg *msg;
	int left;
	bool any = false;

	while ((msg = curl_multi_info_read(hs->multi, &left))) {
		CURL *easy = msg->easy_handle;
		CURLcode result = msg->data.result;
		struct req *req = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&req);
		curl_multi_remove_handle(hs->multi, easy);
		active_remove(hs, req);
		req_finish(hs, req, result);
		req_put(hs, req);
		any = true;
	}
	return any;
}

/* ---- the worker ----------------------------------------------------------------------------- */

/* Hand pending items back, newest first so that the oldest ends at the head of
 * the queue. The generic layer counts each as a retry and spools it if it can. */
static void return_pending(struct http_send *hs)
{
	struct idmefv2__item *items = list_reverse(hs->pending);

	hs->pending = NULL;
	while (items) {
		struct idmefv2__item *next = items->next;
		items->next = NULL;
		idmefv2__transport_return(hs->t, items);
		items = next;
	}
}

/* Start what may be started now. Returns whether anything was. */
static bool launch(struct http_send *hs)
{
	bool any = false;

	while (hs->in_flight < hs->max_in_flight) {
		struct idmefv2__item *items;
		bool probe = hs->recovering;

		if (hs->recovering) {
			if (hs->in_flight > 0)
				break;
			return_pending(hs);
			if (idmefv2__now_ms() < hs->hold_until)
				break;
		}
		if (hs->pending) {
			items = cut_request(hs, &hs->pending);
		} else {
			struct idmefv2__item *taken;

			atomic_store(&hs->wake_pending, false);
			taken = idmefv2__transport_take(hs->t, hs->batch, 0);
			if (!taken)
				break;
			items = cut_request(hs, &taken);
			/* Items taken but not sent in this request are older than
			 * anything still queued: they go first next time. */
			pending_merge(hs, taken);
		}
		if (!req_start(hs, items, probe))
			break;
		any = true;
		if (probe)
			break;
	}
	return any;
}

static int poll_timeout(const struct http_send *hs)
{
	if (hs->recovering && hs->in_flight == 0) {
		int64_t wait = hs->hold_until - idmefv2__now_ms();
		if (wait < 0)
			return 0;
		return wait < IDLE_POLL_MS ? (int)wait : IDLE_POLL_MS;
	}
	return IDLE_POLL_MS;
}

/* stop(): give back everything held, in-flight requests included. */
static void give_back(struct http_send *hs)
{
	while (hs->active) {
		struct req *req = hs->active;
		active_remove(hs, req);
		curl_multi_remove_handle(hs->multi, req->easy);
		pending_merge(hs, req->items);
		req->items = NULL;
		req_put(hs, req);
	}
	return_pending(hs);
}

static void *worker_main(void *arg)
{
	struct http_send *hs = arg;
	int running;

	while (!atomic_load(&hs->stop)) {
		bool launched = launch(hs);
		bool reaped;

		curl_multi_perform(hs->multi, &running);
		reaped = reap(hs);
		if (launched || reaped)
			continue;
		curl_multi_poll(hs->multi, NULL, 0, poll_timeout(hs), NULL);
		curl_multi_perform(hs->multi, &running);
		reap(hs);
	}
	give_back(hs);
	return NULL;
}

/* ---- configuration ---------------------------------------------------------------------- */

static idmefv2_error set_err(char *errstr, size_t errstr_size, idmefv2_error err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static idmefv2_error set_err(char *errstr, size_t errstr_size, idmefv2_error err, const char *fmt, ...)
{
	va_list ap;

	if (errstr && errstr_size) {
		va_start(ap, fmt);
		vsnprintf(errstr, errstr_size, fmt, ap);
		va_end(ap);
	}
	return err;
}

/* The URL without userinfo; the credentials it carried go to username/password. */
static idmefv2_error split_url(struct http_send *hs, const char *text, char *errstr, size_t errstr_size)
{
	CURLU *u = curl_url();
	char *user = NULL, *pass = NULL, *clean = NULL;
	idmefv2_error err = IDMEFV2_ERR_NOMEM;

	if (!u)
		goto out;
	if (curl_url_set(u, CURLUPART_URL, text, 0) != CURLUE_OK) {
		err = set_err(errstr, errstr_size, IDMEFV2_ERR_URL, "http: malformed URL '%s'", text);
		goto out;
	}
	curl_url_get(u, CURLUPART_USER, &user, CURLU_URLDECODE);
	curl_url_get(u, CURLUPART_PASSWORD, &pass, CURLU_URLDECODE);
	if (curl_url_set(u, CURLUPART_USER, NULL, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_PASSWORD, NULL, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &clean, 0) != CURLUE_OK)
		goto out;
	if (!(hs->url = strdup(clean)))
		goto out;
	if (user && *user) {
		if (!(hs->username = strdup(user)) || (pass && !(hs->password = strdup(pass))))
			goto out;
	}
	err = IDMEFV2_OK;
out:
	curl_free(user);
	curl_free(pass);
	curl_free(clean);
	curl_url_cleanup(u);
	return err;
}

static idmefv2_error check_file(const char *option, const char *path, int mode, char *errstr,
                                size_t errstr_size)
{
	if (!path || access(path, mode) == 0)
		return IDMEFV2_OK;
	return set_err(errstr, errstr_size, IDMEFV2_ERR_INVALID_ARG, "http: %s: %s: %s", option, path,
	               strerror(errno));
}

static int64_t clamp(int64_t v, int64_t lo, int64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static idmefv2_error read_options(struct http_send *hs, char *errstr, size_t errstr_size)
{
	const idmefv2_transport *t = hs->t;
	const struct idmefv2__url *url = idmefv2__transport_url(t);
	const char *user = idmefv2__opt_str(t, "auth.username");
	const char *pass = idmefv2__opt_str(t, "auth.password");
	const char *bearer = idmefv2__opt_str(t, "auth.bearer_token");
	const char *min_version = idmefv2__opt_str(t, "tls.min_version");
	idmefv2_error err;

	err = split_url(hs, url->text, errstr, errstr_size);
	if (err != IDMEFV2_OK)
		return err;
	if (pass && !user)
		idmefv2__log(t, IDMEFV2_LOG_WARNING, "http: auth.password is ignored without auth.username");
	if (user) {
		free(hs->username);
		free(hs->password);
		hs->password = NULL;
		if (!(hs->username = strdup(user)) || (pass && !(hs->password = strdup(pass))))
			return IDMEFV2_ERR_NOMEM;
	}
	if (bearer) {
		if (has_crlf(bearer))
			return set_err(errstr, errstr_size, IDMEFV2_ERR_INVALID_ARG,
			               "http: auth.bearer_token contains a line break");
		if (asprintf(&hs->bearer_header, "Authorization: Bearer %s", bearer) < 0) {
			hs->bearer_header = NULL;
			return IDMEFV2_ERR_NOMEM;
		}
		if (hs->username)
			idmefv2__log(t, IDMEFV2_LOG_WARNING,
			             "http: both Basic credentials and a bearer token are set; the bearer token is sent");
	}

	hs->https = strcmp(url->scheme, "https") == 0;
	hs->timeout_ms = (long)clamp(idmefv2__opt_int(t, "http.timeout_ms"), 0, LONG_MAX);
	hs->connect_timeout_ms = (long)clamp(idmefv2__opt_int(t, "http.connect_timeout_ms"), 0, LONG_MAX);
	hs->max_in_flight = (size_t)clamp(idmefv2__opt_int(t, "http.max_in_flight"), 1, 1024);
	hs->batch = (size_t)clamp(idmefv2__opt_int(t, "http.batch"), 1, 1000000);
	hs->http2 = idmefv2__opt_bool(t, "http.http2");
	hs->gzip = strcmp(idmefv2__opt_str(t, "http.compress"), "gzip") == 0;
	hs->retry_max = idmefv2__opt_int(t, "retry.max");
	hs->verify = idmefv2__opt_bool(t, "tls.verify");
	hs->ca_file = idmefv2__opt_str(t, "tls.ca_file");
	hs->ca_dir = idmefv2__opt_str(t, "tls.ca_dir");
	hs->cert = idmefv2__opt_str(t, "tls.cert");
	hs->key = idmefv2__opt_str(t, "tls.key");
	hs->key_password = idmefv2__opt_str(t, "tls.key_password");

	if (!min_version || strcmp(min_version, "1.2") == 0)
		hs->tls_version = CURL_SSLVERSION_TLSv1_2;
	else if (strcmp(min_version, "1.3") == 0)
		hs->tls_version = CURL_SSLVERSION_TLSv1_3;
	else
		return set_err(errstr, errstr_size, IDMEFV2_ERR_INVALID_ARG,
		               "http: tls.min_version '%s' is not 1.2 or 1.3", min_version);

	if (hs->https) {
		if ((err = check_file("tls.ca_file", hs->ca_file, R_OK, errstr, errstr_size)) ||
		    (err = check_file("tls.ca_dir", hs->ca_dir, R_OK | X_OK, errstr, errstr_size)) ||
		    (err = check_file("tls.cert", hs->cert, R_OK, errstr, errstr_size)) ||
		    (err = check_file("tls.key", hs->key, R_OK, errstr, errstr_size)))
			return err;
		if (hs->key && !hs->cert)
			return set_err(errstr, errstr_size, IDMEFV2_ERR_INVALID_ARG,
			               "http: tls.key is set without tls.cert");
		if (!hs->verify)
			idmefv2__log(t, IDMEFV2_LOG_WARNING,
			             "http: tls.verify is off: the server's certificate is not checked");
	} else if (hs->cert || hs->ca_file || hs->ca_dir) {
		idmefv2__log(t, IDMEFV2_LOG_WARNING, "http: TLS options are ignored for an http:// URL");
	}
	if (hs->username && !hs->https)
		idmefv2__log(t, IDMEFV2_LOG_WARNING,
		             "http: Basic credentials are sent in clear over an http:// URL");
	return IDMEFV2_OK;
}

/* ---- backend operations ----------------------------------------------------------------- */

static idmefv2_error http_send_create(idmefv2_transport *t, char *errstr, size_t errstr_size)
{
	const struct idmefv2__url *url = idmefv2__transport_url(t);
	struct http_send *hs;

	if (!url->host || !*url->host)
		return set_err(errstr, errstr_size, IDMEFV2_ERR_URL, "http: no host in URL '%s'", url->text);
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_result != CURLE_OK)
		return set_err(errstr, errstr_size, IDMEFV2_ERR_TRANSPORT, "http: libcurl: %s",
		               curl_easy_strerror(curl_init_result));
	hs = calloc(1, sizeof(*hs));
	if (!hs)
		return IDMEFV2_ERR_NOMEM;
	hs->t = t;
	hs->multi = curl_multi_init();
	if (!hs->multi) {
		free(hs);
		return IDMEFV2_ERR_NOMEM;
	}
	atomic_init(&hs->stop, false);
	atomic_init(&hs->wake_pending, false);
	idmefv2__transport_set_backend_data(t, hs);
	return IDMEFV2_OK;
}

static idmefv2_error http_send_start(idmefv2_transport *t, char *errstr, size_t errstr_size)
{
	struct http_send *hs = hs_of(t);
	idmefv2_error err;
	int rc;

	if (!hs || hs->thread_started)
		return IDMEFV2_ERR_STATE;
	err = read_options(hs, errstr, errstr_size);
	if (err != IDMEFV2_OK)
		return err;
	curl_multi_setopt(hs->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	curl_multi_setopt(hs->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)hs->max_in_flight);
	curl_multi_setopt(hs->multi, CURLMOPT_MAXCONNECTS, (long)hs->max_in_flight);
	rc = pthread_create(&hs->thread, NULL, worker_main, hs);
	if (rc != 0)
		return set_err(errstr, errstr_size, IDMEFV2_ERR_TRANSPORT, "http: cannot start a thread: %s",
		               strerror(rc));
	hs->thread_started = true;
	return IDMEFV2_OK;
}

static void http_send_wakeup(idmefv2_transport *t)
{
	struct http_send *hs = hs_of(t);

	/* One wake-up per sleep is enough; the worker clears the flag before it takes. */
	if (hs && !atomic_exchange(&hs->wake_pending, true))
		curl_multi_wakeup(hs->multi);
}

static void http_send_stop(idmefv2_transport *t)
{
	struct http_send *hs = hs_of(t);

	if (!hs || !hs->thread_started)
		return;
	atomic_store(&hs->stop, true);
	curl_multi_wakeup(hs->multi);
	pthread_join(hs->thread, NULL);
	hs->thread_started = false;
}

static void http_send_destroy(idmefv2_transport *t)
{
	struct http_send *hs = hs_of(t);

	if (!hs)
		return;
	http_send_stop(t);
	/* Only if stop() could not run its worker: nothing may be lost silently. */
	give_back(hs);
	while (hs->free_reqs) {
		struct req *req = hs->free_reqs;
		hs->free_reqs = req->next;
		req_free(req);
	}
	curl_multi_cleanup(hs->multi);
	free(hs->url);
	free(hs->username);
	free(hs->password);
	free(hs->bearer_header);
	free(hs);
	idmefv2__transport_set_backend_data(t, NULL);
}

const struct idmefv2__backend idmefv2__backend_http_send = {
	.scheme = "http",
	.can_send = true,
	.can_listen = false,
	.create = http_send_create,
	.start = http_send_start,
	.wakeup = http_send_wakeup,
	.stop = http_send_stop,
	.destroy = http_send_destroy,
	.get_port = NULL,
};
