/* SPDX-License-Identifier: Apache-2.0 */
/* SQS delivery against an in-process endpoint that checks Action, QueueUrl and
 * MessageBody and verifies each SigV4 signature with this file's own SHA-256
 * and HMAC, themselves checked against NIST, RFC 4231 and AWS's published
 * SigV4 example. */
#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include <mozdef/mozdef.h>

#include "mdt-server.h"

/* ---- SHA-256 (FIPS 180-4) and HMAC (RFC 2104), independent of the library --------------- */

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void block(uint32_t h[8], const uint8_t *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, k;

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = k + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
		uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		k = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
	}
	h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += k;
}

static void t_sha256(const void *data, size_t len, uint8_t out[32])
{
	uint32_t h[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	const uint8_t *p = data;
	uint8_t tail[128] = { 0 };
	size_t full = len / 64 * 64, rest = len - full, tlen;
	uint64_t bits = (uint64_t)len * 8;

	for (size_t i = 0; i < full; i += 64)
		block(h, p + i);
	memcpy(tail, p + full, rest);
	tail[rest] = 0x80;
	tlen = rest + 1 + 8 <= 64 ? 64 : 128;
	for (int i = 0; i < 8; i++)
		tail[tlen - 1 - i] = (uint8_t)(bits >> (8 * i));
	for (size_t i = 0; i < tlen; i += 64)
		block(h, tail + i);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(h[i] >> 8);
		out[4 * i + 3] = (uint8_t)h[i];
	}
}

static void t_hmac(const void *key, size_t klen, const void *msg, size_t mlen, uint8_t out[32])
{
	uint8_t k[64] = { 0 }, ipad[64], opad[64], inner[32];
	uint8_t *buf;

	if (klen > 64)
		t_sha256(key, klen, k);
	else
		memcpy(k, key, klen);
	for (int i = 0; i < 64; i++) {
		ipad[i] = k[i] ^ 0x36;
		opad[i] = k[i] ^ 0x5c;
	}
	buf = malloc(64 + (mlen > 32 ? mlen : 32));
	memcpy(buf, ipad, 64);
	memcpy(buf + 64, msg, mlen);
	t_sha256(buf, 64 + mlen, inner);
	memcpy(buf, opad, 64);
	memcpy(buf + 64, inner, 32);
	t_sha256(buf, 64 + 32, out);
	free(buf);
}

static void to_hex(const uint8_t *in, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", in[i]);
}

static const char *sha_hex(const void *data, size_t len)
{
	static char out[65];
	uint8_t d[32];

	t_sha256(data, len, d);
	to_hex(d, 32, out);
	return out;
}

static void signing_key(const char *secret, const char *date, const char *region, const char *service,
                        uint8_t out[32])
{
	char k0[256];

	snprintf(k0, sizeof(k0), "AWS4%s", secret);
	t_hmac(k0, strlen(k0), date, strlen(date), out);
	t_hmac(out, 32, region, strlen(region), out);
	t_hmac(out, 32, service, strlen(service), out);
	t_hmac(out, 32, "aws4_request", 12, out);
}

/* Signature of a canonical request, as hex. */
static void sign_hex(const char *secret, const char *amzdate, const char *region, const char *service,
                     const char *canonical, char out[65])
{
	char date[9], sts[512];
	uint8_t key[32], sig[32];

	snprintf(date, sizeof(date), "%.8s", amzdate);
	snprintf(sts, sizeof(sts), "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s", amzdate, date, region, service,
	         sha_hex(canonical, strlen(canonical)));
	signing_key(secret, date, region, service, key);
	t_hmac(key, 32, sts, strlen(sts), sig);
	to_hex(sig, 32, out);
}

START_TEST(test_sha256_nist)
{
	static const char abc448[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	char *million = malloc(1000000);

	ck_assert_str_eq(sha_hex("", 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	ck_assert_str_eq(sha_hex("abc", 3), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	ck_assert_str_eq(sha_hex(abc448, strlen(abc448)),
	                 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	memset(million, 'a', 1000000);
	ck_assert_str_eq(sha_hex(million, 1000000), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(million);
}
END_TEST

START_TEST(test_hmac_rfc4231)
{
	uint8_t key[20], mac[32];
	char hex[65];

	memset(key, 0x0b, sizeof(key));
	t_hmac(key, sizeof(key), "Hi There", 8, mac);
	to_hex(mac, 32, hex);
	ck_assert_str_eq(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	t_hmac("Jefe", 4, "what do ya want for nothing?", 28, mac);
	to_hex(mac, 32, hex);
	ck_assert_str_eq(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}
END_TEST

/* AWS General Reference, "Signature Version 4 signing process": the derived key
 * example and the IAM ListUsers request. */
START_TEST(test_sigv4_aws_example)
{
	static const char secret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
	static const char canonical[] = "GET\n/\nAction=ListUsers&Version=2010-05-08\n"
	                                "content-type:application/x-www-form-urlencoded; charset=utf-8\n"
	                                "host:iam.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
	                                "content-type;host;x-amz-date\n"
	                                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
	uint8_t key[32];
	char hex[65];

	signing_key(secret, "20120215", "us-east-1", "iam", key);
	to_hex(key, 32, hex);
	ck_assert_str_eq(hex, "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
	signing_key(secret, "20150830", "us-east-1", "iam", key);
	to_hex(key, 32, hex);
	ck_assert_str_eq(hex, "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
	ck_assert_str_eq(sha_hex(canonical, strlen(canonical)),
	                 "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
	sign_hex(secret, "20150830T123600Z", "us-east-1", "iam", canonical, hex);
	ck_assert_str_eq(hex, "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
}
END_TEST

/* ---- the SQS endpoint -------------------------------------------------------------------- */

#define REGION "us-west-2"
#define QUEUE "mozdef-events"
#define ACCOUNT "123456789012"

static const struct {
	const char *id, *secret;
} known_keys[] = {
	{ "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" },
	{ "AKIDOTHER", "otherSecretKeyForTheSecondProfile" },
};

struct sqs_state {
	pthread_mutex_t lock;
	char queue_url[256];
	unsigned verified, rejected, get_queue_url, send_message;
	char owner[64];
	char token[256];
	char key_id[64];
	char **bodies;
	size_t n_bodies;
};

static struct sqs_state st;
static struct mdt_server *srv;

static char *url_decode(const char *s, size_t n)
{
	char *out = malloc(n + 1), *p = out;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n + 1) {
			char h[3] = { s[i + 1], s[i + 2], 0 };
			*p++ = (char)strtol(h, NULL, 16);
			i += 2;
		} else {
			*p++ = s[i] == '+' ? ' ' : s[i];
		}
	}
	*p = '\0';
	return out;
}

/* The decoded value of @name in a form body, or NULL; free() it. */
static char *form_get(const char *body, const char *name)
{
	size_t nl = strlen(name);
	const char *p = body;

	while (p && *p) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);
		if (len > nl && strncmp(p, name, nl) == 0 && p[nl] == '=')
			return url_decode(p + nl + 1, len - nl - 1);
		p = amp ? amp + 1 : NULL;
	}
	return NULL;
}

static char *xml_error(int *status, int code, const char *ecode, const char *msg)
{
	char *out = NULL;

	*status = code;
	ck_assert_int_ge(asprintf(&out,
	                          "<?xml version=\"1.0\"?><ErrorResponse><Error><Type>Sender</Type><Code>%s</Code>"
	                          "<Message>%s</Message></Error><RequestId>1</RequestId></ErrorResponse>",
	                          ecode, msg),
	                 0);
	return out;
}

/* SigV4, checked from the request as received. */
static bool verify(const struct mdt_request *req, char *key_id_out, size_t ksize)
{
	char cred[256], signed_headers[256], sig[80], canonical[4096], expected[65], scope_date[16], scope_region[64];
	const char *a = req->authorization, *secret = NULL;
	char key_id[64];

	if (!a || !req->amz_date || !req->host || !req->content_type)
		return false;
	if (sscanf(a, "AWS4-HMAC-SHA256 Credential=%255[^,], SignedHeaders=%255[^,], Signature=%79s", cred,
	           signed_headers, sig) != 3)
		return false;
	if (sscanf(cred, "%63[^/]/%15[^/]/%63[^/]/sqs/aws4_request", key_id, scope_date, scope_region) != 3)
		return false;
	if (strncmp(scope_date, req->amz_date, 8) != 0 || strcmp(scope_region, REGION) != 0)
		return false;
	for (size_t i = 0; i < sizeof(known_keys) / sizeof(known_keys[0]); i++)
		if (strcmp(known_keys[i].id, key_id) == 0)
			secret = known_keys[i].secret;
	if (!secret)
		return false;
	if (req->security_token) {
		if (strcmp(signed_headers, "content-type;host;x-amz-date;x-amz-security-token") != 0)
			return false;
		snprintf(canonical, sizeof(canonical),
		         "POST\n%s\n\ncontent-type:%s\nhost:%s\nx-amz-date:%s\nx-amz-security-token:%s\n\n%s\n%s",
		         req->url, req->content_type, req->host, req->amz_date, req->security_token, signed_headers,
		         sha_hex(req->body, req->len));
	} else {
		if (strcmp(signed_headers, "content-type;host;x-amz-date") != 0)
			return false;
		snprintf(canonical, sizeof(canonical), "POST\n%s\n\ncontent-type:%s\nhost:%s\nx-amz-date:%s\n\n%s\n%s",
		         req->url, req->content_type, req->host, req->amz_date, signed_headers,
		         sha_hex(req->body, req->len));
	}
	sign_hex(secret, req->amz_date, REGION, "sqs", canonical, expected);
	snprintf(key_id_out, ksize, "%s", key_id);
	return strcmp(expected, sig) == 0;
}

static void sqs_handler(void *cls, const struct mdt_request *req, int *status, char **body)
{
	char *action = NULL, *version = NULL, *v = NULL;
	char key_id[64] = "";

	(void)cls;
	pthread_mutex_lock(&st.lock);
	if (strcmp(req->method, "POST") != 0 ||
	    strcmp(req->content_type ? req->content_type : "", "application/x-www-form-urlencoded; charset=utf-8") != 0) {
		*body = xml_error(status, 400, "InvalidRequest", "POST a form");
		goto out;
	}
	if (!verify(req, key_id, sizeof(key_id))) {
		st.rejected++;
		*body = xml_error(status, 403, "SignatureDoesNotMatch", "The request signature does not match");
		goto out;
	}
	st.verified++;
	snprintf(st.key_id, sizeof(st.key_id), "%s", key_id);
	snprintf(st.token, sizeof(st.token), "%s", req->security_token ? req->security_token : "");
	action = form_get(req->body, "Action");
	version = form_get(req->body, "Version");
	if (!version || strcmp(version, "2012-11-05") != 0) {
		*body = xml_error(status, 400, "InvalidParameterValue", "Version");
	} else if (action && strcmp(action, "GetQueueUrl") == 0) {
		v = form_get(req->body, "QueueName");
		if (!v || strcmp(v, QUEUE) != 0) {
			*body = xml_error(status, 400, "AWS.SimpleQueueService.NonExistentQueue", "no such queue");
			goto out;
		}
		free(v);
		v = form_get(req->body, "QueueOwnerAWSAccountId");
		snprintf(st.owner, sizeof(st.owner), "%s", v ? v : "");
		st.get_queue_url++;
		*status = 200;
		ck_assert_int_ge(asprintf(body,
		                          "<GetQueueUrlResponse><GetQueueUrlResult><QueueUrl>%s</QueueUrl>"
		                          "</GetQueueUrlResult></GetQueueUrlResponse>",
		                          st.queue_url),
		                 0);
	} else if (action && strcmp(action, "SendMessage") == 0) {
		v = form_get(req->body, "QueueUrl");
		if (!v || strcmp(v, st.queue_url) != 0) {
			*body = xml_error(status, 400, "AWS.SimpleQueueService.NonExistentQueue", "wrong QueueUrl");
			goto out;
		}
		free(v);
		v = form_get(req->body, "MessageBody");
		if (!v) {
			*body = xml_error(status, 400, "MissingParameter", "MessageBody");
			goto out;
		}
		st.bodies = realloc(st.bodies, (st.n_bodies + 1) * sizeof(char *));
		st.bodies[st.n_bodies++] = v;
		v = NULL;
		st.send_message++;
		*status = 200;
		*body = strdup("<SendMessageResponse><SendMessageResult><MessageId>1</MessageId></SendMessageResult>"
		               "</SendMessageResponse>");
	} else {
		*body = xml_error(status, 400, "InvalidAction", "unknown action");
	}
out:
	pthread_mutex_unlock(&st.lock);
	free(action);
	free(version);
	free(v);
}

static void setup(void)
{
	memset(&st, 0, sizeof(st));
	pthread_mutex_init(&st.lock, NULL);
	srv = mdt_server_start();
	ck_assert_ptr_nonnull(srv);
	/* An ampersand proves the XML answer is unescaped and the form value encoded. */
	snprintf(st.queue_url, sizeof(st.queue_url), "http://127.0.0.1:%u/" ACCOUNT "/" QUEUE "?a=1&b=2",
	         mdt_server_port(srv));
	mdt_server_set_handler(srv, sqs_handler, NULL);
	setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
	setenv("AWS_SECRET_ACCESS_KEY", known_keys[0].secret, 1);
	unsetenv("AWS_SESSION_TOKEN");
	unsetenv("AWS_PROFILE");
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
}

static void teardown(void)
{
	mdt_server_stop(srv);
	for (size_t i = 0; i < st.n_bodies; i++)
		free(st.bodies[i]);
	free(st.bodies);
}

static void set(mozdef_client *c, const char *key, const char *value)
{
	char err[256] = "";

	ck_assert_msg(mozdef_client_set(c, key, value, err, sizeof(err)) == MOZDEF_OK, "%s", err);
}

static mozdef_client *sqs_client(void)
{
	mozdef_client *c = NULL;

	ck_assert_int_eq(mozdef_client_new(NULL, &c, NULL, 0), MOZDEF_OK);
	set(c, "sqs.queue", QUEUE);
	set(c, "sqs.region", REGION);
	set(c, "sqs.endpoint", mdt_server_url(srv, "/"));
	set(c, "http.retry_backoff_ms", "1");
	return c;
}

static mozdef_event *event_with(const char *summary)
{
	mozdef_event *ev = mozdef_event_new(MOZDEF_EVENT_GENERIC);

	mozdef_event_set_summary(ev, summary);
	mozdef_event_set_timestamp(ev, "2026-01-02T03:04:05.000006+00:00");
	/* Characters the form encoding must carry: space, &, =, +, %, non-ASCII. */
	mozdef_event_set_detail_string(ev, "text", "a b&c=d+e%f \xc3\xa9/", NULL, 0);
	return ev;
}

static char *serialized(const mozdef_event *ev)
{
	char *text = NULL;

	ck_assert_int_eq(mozdef_event_serialize(ev, &text, NULL, NULL, 0), MOZDEF_OK);
	return text;
}

START_TEST(test_send_message_signed)
{
	mozdef_client *c = sqs_client();
	mozdef_event *ev = event_with("to sqs");
	char *json = serialized(ev);
	mozdef_result r;

	ck_assert_int_eq(mozdef_client_send(c, ev, &r), MOZDEF_OK);
	ck_assert_int_eq(r.http_status, 200);
	ck_assert_uint_eq(r.attempts, 1);
	ck_assert_uint_eq(st.rejected, 0);
	ck_assert_uint_eq(st.verified, 2);
	ck_assert_uint_eq(st.get_queue_url, 1);
	ck_assert_str_eq(st.owner, "");
	ck_assert_uint_eq(st.send_message, 1);
	ck_assert_str_eq(st.bodies[0], json);
	ck_assert_str_eq(st.key_id, "AKIDEXAMPLE");
	ck_assert_str_eq(st.token, "");
	/* The queue URL is looked up once. */
	ck_assert_int_eq(mozdef_client_send(c, ev, &r), MOZDEF_OK);
	ck_assert_uint_eq(st.get_queue_url, 1);
	ck_assert_uint_eq(st.send_message, 2);
	ck_assert_uint_eq(mdt_server_count(srv), 3);
	free(json);
	mozdef_event_free(ev);
	mozdef_client_free(c);
}
END_TEST

START_TEST(test_account_and_token)
{
	mozdef_client *c = sqs_client();
	mozdef_event *ev = event_with("owned elsewhere");

	setenv("AWS_SESSION_TOKEN", "FQoGZXIvYXdzEXAMPLETOKEN", 1);
	set(c, "sqs.account_id", ACCOUNT);
	ck_assert_int_eq(mozdef_client_send(c, ev, NULL), MOZDEF_OK);
	ck_assert_str_eq(st.owner, ACCOUNT);
	ck_assert_str_eq(st.token, "FQoGZXIvYXdzEXAMPLETOKEN");
	ck_assert_uint_eq(st.verified, 2);
	mozdef_event_free(ev);
	mozdef_client_free(c);
}
END_TEST

START_TEST(test_bad_signature_reported)
{
	mozdef_client *c = sqs_client();
	mozdef_event *ev = event_with("wrong key");
	mozdef_result r;

	setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret", 1);
	ck_assert_int_eq(mozdef_client_send(c, ev, &r), MOZDEF_ERR_SQS);
	ck_assert_int_eq(r.http_status, 403);
	ck_assert_str_eq(r.message,
	                 "sqs GetQueueUrl: HTTP status 403 SignatureDoesNotMatch: The request signature does not match");
	ck_assert_uint_eq(st.rejected, 1);
	ck_assert_uint_eq(st.send_message, 0);
	mozdef_event_free(ev);
	mozdef_client_free(c);
}
END_TEST

START_TEST(test_credentials_file)
{
	char dir[] = "/tmp/mozdef-sqs-XXXXXX", path[128];
	FILE *f;
	mozdef_client *c;
	mozdef_event *ev = event_with("from the file");
	mozdef_result r;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/credentials", dir);
	f = fopen(path, "w");
	fprintf(f, "# test\n[default]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = %s\n\n"
	           "[other]\naws_access_key_id=AKIDOTHER\naws_secret_access_key=%s\n",
	        known_keys[0].secret, known_keys[1].secret);
	fclose(f);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
	setenv("AWS_PROFILE", "other", 1);
	c = sqs_client();
	ck_assert_int_eq(mozdef_client_send(c, ev, &r), MOZDEF_OK);
	ck_assert_str_eq(st.key_id, "AKIDOTHER");
	set(c, "sqs.profile", "default");
	ck_assert_int_eq(mozdef_client_send(c, ev, &r), MOZDEF_OK);
	ck_assert_str_eq(st.key_id, "AKIDEXAMPLE");
	ck_assert_uint_eq(st.rejected, 0);

	/* A profile that is not there: the error says where it looked. */
	set(c, "sqs.profile", "missing");
	ck_assert_int_eq(mozdef_client_send(c, ev, &r), MOZDEF_ERR_CREDENTIALS);
	ck_assert_msg(strstr(r.message, "AWS_ACCESS_KEY_ID") && strstr(r.message, "[missing]") &&
	                      strstr(r.message, path),
	              "%s", r.message);
	unlink(path);
	rmdir(dir);
	mozdef_event_free(ev);
	mozdef_client_free(c);
}
END_TEST

START_TEST(test_size_limit)
{
	mozdef_client *c = sqs_client();
	mozdef_event *ev = event_with("big");
	size_t len = 0, fill = 262144 - 400;
	char *text = NULL, *filler;
	mozdef_result r;

	/* Exactly 256 KiB of JSON passes; one byte more is refused before any request. */
	for (int round = 0; round < 2; round++) {
		filler = malloc(fill + 1);
		memset(filler, 'x', fill);
		filler[fill] = '\0';
		mozdef_event_set_detail_string(ev, "filler", filler, NULL, 0);
		free(filler);
		ck_assert_int_eq(mozdef_event_serialize(ev, &text, &len, NULL, 0), MOZDEF_OK);
		free(text);
		fill += 262144 - len;
	}
	ck_assert_uint_eq(len, 262144);
	ck_assert_int_eq(mozdef_client_send(c, ev, &r), MOZDEF_OK);
	ck_assert_uint_eq(st.send_message, 1);
	ck_assert_uint_eq(strlen(st.bodies[0]), 262144);

	mozdef_event_set_detail_string(ev, "one", "y", NULL, 0);
	ck_assert_int_eq(mozdef_client_send(c, ev, &r), MOZDEF_ERR_TOO_LARGE);
	ck_assert_msg(strstr(r.message, "over the SQS maximum of 262144 bytes"), "%s", r.message);
	ck_assert_int_eq(mozdef_client_send_async(c, ev, NULL, NULL, 0), MOZDEF_ERR_TOO_LARGE);
	ck_assert_uint_eq(st.send_message, 1);
	ck_assert_uint_eq(mdt_server_count(srv), 2);
	mozdef_event_free(ev);
	mozdef_client_free(c);
}
END_TEST

static unsigned async_ok, async_total;

static void on_done(const mozdef_result *r, void *opaque, void *user)
{
	(void)opaque;
	(void)user;
	async_total++;
	if (r->error == MOZDEF_OK && r->http_status == 200)
		async_ok++;
}

START_TEST(test_async_and_vulnerability)
{
	mozdef_client *c = sqs_client();
	mozdef_event *vuln = mozdef_event_new(MOZDEF_EVENT_VULNERABILITY);
	char path[1024];
	struct json_object *doc, *got;

	mozdef_client_set_callback(c, on_done, NULL);
	for (int i = 0; i < 20; i++) {
		mozdef_event *ev = event_with("queued");
		ck_assert_int_eq(mozdef_client_send_async(c, ev, NULL, NULL, 0), MOZDEF_OK);
		mozdef_event_free(ev);
	}
	ck_assert_int_eq(mozdef_client_flush(c, 20000), MOZDEF_OK);
	ck_assert_uint_eq(async_total, 20);
	ck_assert_uint_eq(async_ok, 20);
	ck_assert_uint_eq(st.send_message, 20);
	ck_assert_uint_eq(st.rejected, 0);

	snprintf(path, sizeof(path), "%s/vulnerability-v1-mozdef_client-test.json", MOZDEF_TEST_DATA);
	doc = json_object_from_file(path);
	ck_assert_int_eq(mozdef_event_set_document(vuln, json_object_get(doc)), MOZDEF_OK);
	ck_assert_int_eq(mozdef_client_send(c, vuln, NULL), MOZDEF_OK);
	got = json_tokener_parse(st.bodies[20]);
	ck_assert(json_object_equal(got, doc));
	json_object_put(got);
	json_object_put(doc);
	mozdef_event_free(vuln);
	mozdef_client_free(c);
}
END_TEST

START_TEST(test_missing_settings_and_server_errors)
{
	mozdef_client *c = NULL;
	mozdef_event *ev = event_with("nowhere");
	mozdef_result r;

	ck_assert_int_eq(mozdef_client_new(NULL, &c, NULL, 0), MOZDEF_OK);
	set(c, "sqs.queue", QUEUE);
	ck_assert_int_eq(mozdef_client_send(c, ev, &r), MOZDEF_ERR_STATE);
	ck_assert_str_eq(r.message, "sqs: sqs.region is not set");
	set(c, "sqs.region", REGION);
	set(c, "sqs.endpoint", mdt_server_url(srv, "/"));
	set(c, "sqs.queue", "no-such-queue");
	ck_assert_int_eq(mozdef_client_send(c, ev, &r), MOZDEF_ERR_SQS);
	ck_assert_int_eq(r.http_status, 400);
	ck_assert_str_eq(r.message,
	                 "sqs GetQueueUrl: HTTP status 400 AWS.SimpleQueueService.NonExistentQueue: no such queue");
	mozdef_event_free(ev);
	mozdef_client_free(c);
}
END_TEST

static Suite *sqs_suite(void)
{
	Suite *s = suite_create("mozdef-sqs");
	TCase *crypto = tcase_create("crypto");
	TCase *tc = tcase_create("sqs");

	tcase_add_test(crypto, test_sha256_nist);
	tcase_add_test(crypto, test_hmac_rfc4231);
	tcase_add_test(crypto, test_sigv4_aws_example);
	suite_add_tcase(s, crypto);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_send_message_signed);
	tcase_add_test(tc, test_account_and_token);
	tcase_add_test(tc, test_bad_signature_reported);
	tcase_add_test(tc, test_credentials_file);
	tcase_add_test(tc, test_size_limit);
	tcase_add_test(tc, test_async_and_vulnerability);
	tcase_add_test(tc, test_missing_settings_and_server_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sqs_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
