/* SPDX-License-Identifier: Apache-2.0 */
/* AWS SQS over the query protocol, signed with Signature Version 4. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "mozdef-private.h"

#define SQS_API_VERSION "2012-11-05"

struct aws_credentials {
	char access_key[128];
	char secret_key[128];
	char token[2048];
};

static void hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

void mozdef__sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char d[32];

	gnutls_hash_fast(GNUTLS_DIG_SHA256, data, len, d);
	hex(d, sizeof(d), out);
}

static void hmac(const void *key, size_t klen, const char *msg, unsigned char out[32])
{
	gnutls_hmac_fast(GNUTLS_MAC_SHA256, key, klen, msg, strlen(msg), out);
}

/* RFC 3986 unreserved characters pass; everything else is %XX, as SigV4 requires. */
char *mozdef__form_encode(const char *s, size_t len)
{
	static const char digits[] = "0123456789ABCDEF";
	char *out = malloc(len * 3 + 1), *p = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
			*p++ = (char)ch;
		} else {
			*p++ = '%';
			*p++ = digits[ch >> 4];
			*p++ = digits[ch & 15];
		}
	}
	*p = '\0';
	return out;
}

static void trim(char *s)
{
	char *start = s, *end;

	while (isspace((unsigned char)*start))
		start++;
	end = start + strlen(start);
	while (end > start && isspace((unsigned char)end[-1]))
		end--;
	memmove(s, start, (size_t)(end - start));
	s[end - start] = '\0';
}

/* The [profile] section of an AWS shared credentials file. */
static bool credentials_from_file(const char *path, const char *profile, struct aws_credentials *cr)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	bool in_section = false;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		char *eq;

		trim(line);
		if (line[0] == '#' || line[0] == ';' || !line[0])
			continue;
		if (line[0] == '[') {
			char *end = strchr(line, ']');
			if (end)
				*end = '\0';
			trim(line + 1);
			in_section = strcmp(line + 1, profile) == 0;
			continue;
		}
		if (!in_section || !(eq = strchr(line, '=')))
			continue;
		*eq = '\0';
		trim(line);
		trim(eq + 1);
		if (strcmp(line, "aws_access_key_id") == 0)
			snprintf(cr->access_key, sizeof(cr->access_key), "%s", eq + 1);
		else if (strcmp(line, "aws_secret_access_key") == 0)
			snprintf(cr->secret_key, sizeof(cr->secret_key), "%s", eq + 1);
		else if (strcmp(line, "aws_session_token") == 0)
			snprintf(cr->token, sizeof(cr->token), "%s", eq + 1);
	}
	fclose(f);
	return cr->access_key[0] && cr->secret_key[0];
}

/* The environment first, then the shared credentials file: the order of the AWS SDKs. */
static bool credentials_load(mozdef_client *c, struct aws_credentials *cr, char *why, size_t wsize)
{
	const char *id = getenv("AWS_ACCESS_KEY_ID");
	const char *secret = getenv("AWS_SECRET_ACCESS_KEY");
	const char *token = getenv("AWS_SESSION_TOKEN");
	const char *profile, *file, *home;
	char path[4096], opt_profile[256] = "", opt_file[4096] = "";

	memset(cr, 0, sizeof(*cr));
	if (id && *id && secret && *secret) {
		snprintf(cr->access_key, sizeof(cr->access_key), "%s", id);
		snprintf(cr->secret_key, sizeof(cr->secret_key), "%s", secret);
		if (token)
			snprintf(cr->token, sizeof(cr->token), "%s", token);
		return true;
	}
	pthread_mutex_lock(&c->lock);
	if (c->opt.sqs_profile)
		snprintf(opt_profile, sizeof(opt_profile), "%s", c->opt.sqs_profile);
	if (c->opt.sqs_credentials_file)
		snprintf(opt_file, sizeof(opt_file), "%s", c->opt.sqs_credentials_file);
	pthread_mutex_unlock(&c->lock);
	profile = opt_profile[0] ? opt_profile : getenv("AWS_PROFILE");
	if (!profile || !*profile)
		profile = "default";
	file = opt_file[0] ? opt_file : getenv("AWS_SHARED_CREDENTIALS_FILE");
	if (!file || !*file) {
		home = getenv("HOME");
		snprintf(path, sizeof(path), "%s/.aws/credentials", home ? home : "");
		file = path;
	}
	if (credentials_from_file(file, profile, cr))
		return true;
	mozdef__set_error(why, wsize,
	                  "sqs: no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or give profile [%s] "
	                  "aws_access_key_id and aws_secret_access_key in %s",
	                  profile, file);
	return false;
}

/* scheme://host[:port]/path → host[:port] and path ("/" when empty). */
static bool split_url(const char *url, char *host, size_t hsize, char *path, size_t psize)
{
	const char *p = strstr(url, "://");
	size_t n;

	if (!p)
		return false;
	p += 3;
	n = strcspn(p, "/?#");
	if (n == 0 || n >= hsize)
		return false;
	snprintf(host, hsize, "%.*s", (int)n, p);
	p += n;
	if (*p == '/')
		snprintf(path, psize, "%.*s", (int)strcspn(p, "?#"), p);
	else
		snprintf(path, psize, "/");
	return true;
}

/* Called under c->lock. Returns a new string. */
static char *endpoint_of(const mozdef_client *c)
{
	char *url = NULL;

	if (c->opt.sqs_endpoint)
		return strdup(c->opt.sqs_endpoint);
	if (asprintf(&url, "https://sqs.%s.amazonaws.com/", c->opt.sqs_region) < 0)
		return NULL;
	return url;
}

/* Build a signed POST of form @p form to @p endpoint. */
static bool sign_request(const struct aws_credentials *cr, const char *region, const char *endpoint, char *form,
                         struct mozdef_wire *w, mozdef_result *r)
{
	static const char content_type[] = "application/x-www-form-urlencoded; charset=utf-8";
	char host[256], path[1024], amzdate[20], date[9];
	char body_hash[65], creq_hash[65], sig_hex[65];
	unsigned char k[32], sig[32];
	char *creq = NULL, *sts = NULL, *auth = NULL, *hh = NULL, *dh = NULL, *th = NULL;
	char secret[160];
	struct curl_slist *h = NULL, *n;
	bool ok = false;
	time_t now = time(NULL);
	struct tm tm;
	const char *signed_headers = cr->token[0] ? "content-type;host;x-amz-date;x-amz-security-token"
	                                          : "content-type;host;x-amz-date";

	memset(w, 0, sizeof(*w));
	if (!split_url(endpoint, host, sizeof(host), path, sizeof(path))) {
		mozdef__result_set(r, MOZDEF_ERR_OPTION_VALUE, "sqs: malformed endpoint \"%s\"", endpoint);
		free(form);
		return false;
	}
	gmtime_r(&now, &tm);
	strftime(amzdate, sizeof(amzdate), "%Y%m%dT%H%M%SZ", &tm);
	strftime(date, sizeof(date), "%Y%m%d", &tm);
	mozdef__sha256_hex(form, strlen(form), body_hash);
	if (asprintf(&creq, "POST\n%s\n\ncontent-type:%s\nhost:%s\nx-amz-date:%s\n%s%s%s\n%s\n%s", path, content_type,
	             host, amzdate, cr->token[0] ? "x-amz-security-token:" : "", cr->token,
	             cr->token[0] ? "\n" : "", signed_headers, body_hash) < 0)
		goto nomem;
	mozdef__sha256_hex(creq, strlen(creq), creq_hash);
	if (asprintf(&sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/sqs/aws4_request\n%s", amzdate, date, region, creq_hash) < 0)
		goto nomem;
	snprintf(secret, sizeof(secret), "AWS4%s", cr->secret_key);
	hmac(secret, strlen(secret), date, k);
	hmac(k, 32, region, k);
	hmac(k, 32, "sqs", k);
	hmac(k, 32, "aws4_request", k);
	hmac(k, 32, sts, sig);
	hex(sig, 32, sig_hex);
	if (asprintf(&auth,
	             "Authorization: AWS4-HMAC-SHA256 Credential=%s/%s/%s/sqs/aws4_request, SignedHeaders=%s, "
	             "Signature=%s",
	             cr->access_key, date, region, signed_headers, sig_hex) < 0 ||
	    asprintf(&hh, "Host: %s", host) < 0 || asprintf(&dh, "X-Amz-Date: %s", amzdate) < 0)
		goto nomem;
	if (cr->token[0] && asprintf(&th, "X-Amz-Security-Token: %s", cr->token) < 0)
		goto nomem;
	const char *lines[] = { "Content-Type: application/x-www-form-urlencoded; charset=utf-8", hh, dh, auth, "Expect:",
		                th };
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		if (!lines[i])
			continue;
		n = curl_slist_append(h, lines[i]);
		if (!n)
			goto nomem;
		h = n;
	}
	w->url = strdup(endpoint);
	if (!w->url)
		goto nomem;
	w->headers = h;
	h = NULL;
	w->body = form;
	w->len = strlen(form);
	form = NULL;
	ok = true;
	goto out;
nomem:
	mozdef__result_set(r, MOZDEF_ERR_NOMEM, "sqs: out of memory");
out:
	curl_slist_free_all(h);
	free(form);
	free(creq);
	free(sts);
	free(auth);
	free(hh);
	free(dh);
	free(th);
	return ok;
}

/* Copies of what a request needs, taken under the lock. */
static bool sqs_settings(mozdef_client *c, char **region, char **endpoint, mozdef_result *r)
{
	bool ok = true;

	pthread_mutex_lock(&c->lock);
	if (!c->opt.sqs_queue || !c->opt.sqs_region) {
		mozdef__result_set(r, MOZDEF_ERR_STATE, "sqs: %s is not set", !c->opt.sqs_queue ? "sqs.queue" : "sqs.region");
		ok = false;
	} else {
		*region = strdup(c->opt.sqs_region);
		*endpoint = endpoint_of(c);
		if (!*region || !*endpoint) {
			mozdef__result_set(r, MOZDEF_ERR_NOMEM, "sqs: out of memory");
			ok = false;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return ok;
}

bool mozdef__sqs_prepare(mozdef_client *c, const char *body, size_t len, struct mozdef_wire *w, mozdef_result *r)
{
	struct aws_credentials cr;
	char *region = NULL, *endpoint = NULL, *msg = NULL, *qurl = NULL, *form = NULL;
	char why[sizeof(r->message)];
	bool ok = false;

	memset(w, 0, sizeof(*w));
	if (!sqs_settings(c, &region, &endpoint, r))
		goto out;
	if (!credentials_load(c, &cr, why, sizeof(why))) {
		mozdef__result_set(r, MOZDEF_ERR_CREDENTIALS, "%s", why);
		goto out;
	}
	pthread_mutex_lock(&c->lock);
	qurl = c->sqs_queue_url ? mozdef__form_encode(c->sqs_queue_url, strlen(c->sqs_queue_url)) : NULL;
	pthread_mutex_unlock(&c->lock);
	msg = mozdef__form_encode(body, len);
	if (!qurl || !msg ||
	    asprintf(&form, "Action=SendMessage&MessageBody=%s&QueueUrl=%s&Version=" SQS_API_VERSION, msg, qurl) < 0) {
		form = NULL;
		mozdef__result_set(r, MOZDEF_ERR_NOMEM, "sqs: out of memory");
		goto out;
	}
	ok = sign_request(&cr, region, endpoint, form, w, r);
	form = NULL;
out:
	explicit_bzero(&cr, sizeof(cr));
	free(region);
	free(endpoint);
	free(msg);
	free(qurl);
	free(form);
	return ok;
}

static char *xml_unescape(const char *s, size_t n)
{
	static const struct {
		const char *ent;
		char ch;
	} ents[] = { { "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' }, { "&quot;", '"' }, { "&apos;", '\'' } };
	char *out = malloc(n + 1), *p = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n;) {
		size_t j;
		for (j = 0; j < sizeof(ents) / sizeof(ents[0]); j++) {
			size_t el = strlen(ents[j].ent);
			if (i + el <= n && strncmp(s + i, ents[j].ent, el) == 0) {
				*p++ = ents[j].ch;
				i += el;
				break;
			}
		}
		if (j == sizeof(ents) / sizeof(ents[0]))
			*p++ = s[i++];
	}
	*p = '\0';
	return out;
}

bool mozdef__sqs_resolve(mozdef_client *c, mozdef_result *r)
{
	struct aws_credentials cr;
	struct mozdef_wire w = { 0 };
	char *region = NULL, *endpoint = NULL, *qname = NULL, *acct = NULL, *form = NULL;
	char errbuf[CURL_ERROR_SIZE], resp[MOZDEF_RESP_MAX], why[sizeof(r->message)];
	const char *a, *b;
	CURL *easy = NULL;
	CURLcode code;
	long status = 0;
	bool ok = false;

	pthread_mutex_lock(&c->lock);
	ok = c->sqs_queue_url != NULL;
	if (!ok && c->opt.sqs_queue) {
		qname = mozdef__form_encode(c->opt.sqs_queue, strlen(c->opt.sqs_queue));
		if (c->opt.sqs_account_id)
			acct = mozdef__form_encode(c->opt.sqs_account_id, strlen(c->opt.sqs_account_id));
	}
	pthread_mutex_unlock(&c->lock);
	if (ok)
		return true;
	if (!sqs_settings(c, &region, &endpoint, r))
		goto out;
	if (!credentials_load(c, &cr, why, sizeof(why))) {
		mozdef__result_set(r, MOZDEF_ERR_CREDENTIALS, "%s", why);
		goto out;
	}
	if (!qname || asprintf(&form, "Action=GetQueueUrl&QueueName=%s%s%s&Version=" SQS_API_VERSION, qname,
	                       acct ? "&QueueOwnerAWSAccountId=" : "", acct ? acct : "") < 0) {
		form = NULL;
		mozdef__result_set(r, MOZDEF_ERR_NOMEM, "sqs: out of memory");
		goto out;
	}
	ok = sign_request(&cr, region, endpoint, form, &w, r);
	form = NULL;
	explicit_bzero(&cr, sizeof(cr));
	if (!ok)
		goto out;
	ok = false;
	easy = curl_easy_init();
	if (!easy) {
		mozdef__result_set(r, MOZDEF_ERR_NOMEM, "sqs: cannot create a libcurl handle");
		goto out;
	}
	mozdef__easy_setup(c, easy, &w, errbuf);
	mozdef__easy_capture(easy, resp);
	code = curl_easy_perform(easy);
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	r->attempts++;
	mozdef__http_outcome(code, status, errbuf, MOZDEF_JOB_SQS, resp, strlen(resp), "sqs GetQueueUrl", r);
	if (r->error != MOZDEF_OK)
		goto out;
	a = strstr(resp, "<QueueUrl>");
	b = a ? strstr(a, "</QueueUrl>") : NULL;
	if (!a || !b) {
		mozdef__result_set(r, MOZDEF_ERR_SQS, "sqs GetQueueUrl: no QueueUrl in the answer");
		goto out;
	}
	a += strlen("<QueueUrl>");
	char *url = xml_unescape(a, (size_t)(b - a));
	if (!url) {
		mozdef__result_set(r, MOZDEF_ERR_NOMEM, "sqs: out of memory");
		goto out;
	}
	pthread_mutex_lock(&c->lock);
	free(c->sqs_queue_url);
	c->sqs_queue_url = url;
	pthread_mutex_unlock(&c->lock);
	ok = true;
out:
	if (easy)
		curl_easy_cleanup(easy);
	mozdef__wire_clear(&w);
	free(region);
	free(endpoint);
	free(qname);
	free(acct);
	free(form);
	return ok;
}
