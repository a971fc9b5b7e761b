/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "mozdef-private.h"

void mozdef__wire_clear(struct mozdef_wire *w)
{
	free(w->url);
	curl_slist_free_all(w->headers);
	free(w->body);
	memset(w, 0, sizeof(*w));
}

char *mozdef__bulk_url(const char *url)
{
	const char *p = strstr(url, "://");
	const char *end;
	char *out;
	size_t n;

	if (!p)
		return NULL;
	end = p + 3 + strcspn(p + 3, "/?#");
	n = (size_t)(end - url);
	out = malloc(n + sizeof("/_bulk"));
	if (!out)
		return NULL;
	memcpy(out, url, n);
	memcpy(out + n, "/_bulk", sizeof("/_bulk"));
	return out;
}

static struct curl_slist *header_add(struct curl_slist *list, const char *h, bool *ok)
{
	struct curl_slist *n = curl_slist_append(list, h);

	if (!n) {
		*ok = false;
		return list;
	}
	return n;
}

bool mozdef__http_prepare(mozdef_client *c, const char *url, const char *content_type, const char *body,
                          size_t len, struct mozdef_wire *w, mozdef_result *r)
{
	char ct[128];
	bool ok = true;

	memset(w, 0, sizeof(*w));
	snprintf(ct, sizeof(ct), "Content-Type: %s", content_type);
	w->url = strdup(url);
	w->body = malloc(len + 1);
	w->headers = header_add(NULL, ct, &ok);
	/* An empty Expect keeps libcurl from waiting for 100-continue on large bodies. */
	w->headers = header_add(w->headers, "Expect:", &ok);
	if (!w->url || !w->body || !ok) {
		mozdef__wire_clear(w);
		mozdef__result_set(r, MOZDEF_ERR_NOMEM, "out of memory");
		return false;
	}
	memcpy(w->body, body, len);
	w->body[len] = '\0';
	w->len = len;
	(void)c;
	return true;
}

/* Response bodies are kept (bounded, MOZDEF_RESP_MAX) to quote SQS error codes. */
static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	char *buf = userdata;
	size_t n = size * nmemb;
	size_t have = strlen(buf);
	size_t room = MOZDEF_RESP_MAX - 1 - have;

	memcpy(buf + have, ptr, n < room ? n : room);
	buf[have + (n < room ? n : room)] = '\0';
	return n;
}

void mozdef__easy_setup(mozdef_client *c, CURL *easy, struct mozdef_wire *w, char *errbuf)
{
	struct stat st;
	const struct mozdef_options *o = &c->opt;

	/* libcurl copies the strings, so the lock need only cover this call. */
	pthread_mutex_lock(&c->lock);
	curl_easy_setopt(easy, CURLOPT_URL, w->url);
	curl_easy_setopt(easy, CURLOPT_POST, 1L);
	curl_easy_setopt(easy, CURLOPT_POSTFIELDS, w->body);
	curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)w->len);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, w->headers);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, o->http_timeout_ms);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, o->http_connect_timeout_ms);
	curl_easy_setopt(easy, CURLOPT_USERAGENT, o->http_user_agent);
	/* Proxy variables of the environment are not honoured unless asked for. */
	curl_easy_setopt(easy, CURLOPT_PROXY, o->http_proxy ? o->http_proxy : "");
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, o->tls_verify ? 1L : 0L);
	curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, o->tls_verify ? 2L : 0L);
	if (o->tls_ca_path) {
		if (stat(o->tls_ca_path, &st) == 0 && S_ISDIR(st.st_mode))
			curl_easy_setopt(easy, CURLOPT_CAPATH, o->tls_ca_path);
		else
			curl_easy_setopt(easy, CURLOPT_CAINFO, o->tls_ca_path);
	}
	pthread_mutex_unlock(&c->lock);
	errbuf[0] = '\0';
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
}

void mozdef__easy_capture(CURL *easy, char *resp)
{
	resp[0] = '\0';
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, resp);
}

/* The text between <tag> and </tag> in an XML answer, or "". */
static void xml_text(const char *xml, const char *tag, char *out, size_t size)
{
	char open[64], close[64];
	const char *a, *b;

	out[0] = '\0';
	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	a = strstr(xml, open);
	if (!a)
		return;
	a += strlen(open);
	b = strstr(a, close);
	if (!b)
		return;
	snprintf(out, size, "%.*s", (int)(b - a), a);
}

static bool curl_code_retryable(CURLcode code)
{
	switch (code) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

bool mozdef__http_outcome(CURLcode code, long status, const char *errbuf, enum mozdef_job_kind kind,
                          const char *resp, size_t resp_len, const char *what, mozdef_result *r)
{
	(void)resp_len;
	r->http_status = code == CURLE_OK ? status : 0;
	if (code != CURLE_OK) {
		mozdef__result_set(r, MOZDEF_ERR_TRANSPORT, "%s: %s", what,
		                   errbuf && *errbuf ? errbuf : curl_easy_strerror(code));
		return curl_code_retryable(code);
	}
	if (status >= 200 && status < 300) {
		r->error = MOZDEF_OK;
		r->message[0] = '\0';
		return false;
	}
	if (kind == MOZDEF_JOB_SQS) {
		char ecode[96], emsg[128];
		xml_text(resp ? resp : "", "Code", ecode, sizeof(ecode));
		xml_text(resp ? resp : "", "Message", emsg, sizeof(emsg));
		mozdef__result_set(r, MOZDEF_ERR_SQS, "%s: HTTP status %ld%s%s%s%s", what, status, *ecode ? " " : "",
		                   ecode, *emsg ? ": " : "", emsg);
	} else {
		mozdef__result_set(r, MOZDEF_ERR_HTTP, "%s: HTTP status %ld", what, status);
	}
	return status >= 500;
}

long mozdef__backoff_ms(mozdef_client *c, unsigned attempt)
{
	long d, max;

	pthread_mutex_lock(&c->lock);
	d = c->opt.http_retry_backoff_ms;
	max = c->opt.http_retry_backoff_max_ms;
	pthread_mutex_unlock(&c->lock);
	for (unsigned i = 1; i < attempt && d < max; i++)
		d *= 2;
	return d < max ? d : max;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0)
		;
}

/* Build the request of one attempt; SQS signs each attempt afresh (SigV4 dates). */
static bool prepare_attempt(mozdef_client *c, enum mozdef_job_kind kind, const char *body, size_t len, bool bulk,
                            struct mozdef_wire *w, mozdef_result *r)
{
	bool ok;

	if (kind == MOZDEF_JOB_SQS)
		return mozdef__sqs_prepare(c, body, len, w, r);
	pthread_mutex_lock(&c->lock);
	if (bulk) {
		char *url = c->opt.bulk_url ? strdup(c->opt.bulk_url) : mozdef__bulk_url(c->url);
		ok = url && mozdef__http_prepare(c, url, "application/x-ndjson", body, len, w, r);
		if (!url)
			mozdef__result_set(r, MOZDEF_ERR_NOMEM, "out of memory");
		free(url);
	} else {
		ok = mozdef__http_prepare(c, c->url, "application/json", body, len, w, r);
	}
	pthread_mutex_unlock(&c->lock);
	return ok;
}

mozdef_error mozdef__perform_sync(mozdef_client *c, enum mozdef_job_kind kind, const char *body, size_t len,
                                  bool bulk, mozdef_result *r)
{
	char errbuf[CURL_ERROR_SIZE];
	char resp[MOZDEF_RESP_MAX];
	const char *what = kind == MOZDEF_JOB_SQS ? "sqs" : bulk ? "bulk" : "http";
	unsigned max_attempts;
	bool retry;

	if (kind == MOZDEF_JOB_SQS && !mozdef__sqs_resolve(c, r))
		return r->error;
	pthread_mutex_lock(&c->lock);
	max_attempts = (unsigned)c->opt.http_retries + 1;
	pthread_mutex_unlock(&c->lock);

	pthread_mutex_lock(&c->sync_lock);
	if (!c->sync_easy)
		c->sync_easy = curl_easy_init();
	if (!c->sync_easy) {
		pthread_mutex_unlock(&c->sync_lock);
		mozdef__result_set(r, MOZDEF_ERR_NOMEM, "%s: cannot create a libcurl handle", what);
		return r->error;
	}
	r->attempts = 0;
	do {
		struct mozdef_wire w;
		CURLcode code;
		long status = 0;

		if (r->attempts > 0)
			sleep_ms(mozdef__backoff_ms(c, r->attempts));
		if (!prepare_attempt(c, kind, body, len, bulk, &w, r))
			break;
		curl_easy_reset(c->sync_easy);
		mozdef__easy_setup(c, c->sync_easy, &w, errbuf);
		mozdef__easy_capture(c->sync_easy, resp);
		code = curl_easy_perform(c->sync_easy);
		r->attempts++;
		curl_easy_getinfo(c->sync_easy, CURLINFO_RESPONSE_CODE, &status);
		retry = mozdef__http_outcome(code, status, errbuf, kind, resp, strlen(resp), what, r);
		mozdef__wire_clear(&w);
	} while (r->error != MOZDEF_OK && retry && r->attempts < max_attempts);
	pthread_mutex_unlock(&c->sync_lock);
	if (r->error != MOZDEF_OK && r->attempts > 1) {
		size_t n = strlen(r->message);
		snprintf(r->message + n, sizeof(r->message) - n, " (after %u attempts)", r->attempts);
	}
	return r->error;
}
