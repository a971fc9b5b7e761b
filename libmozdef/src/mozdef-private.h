/* SPDX-License-Identifier: Apache-2.0 */
/* Internal interfaces shared by the files of libmozdef; never installed. */
#ifndef MOZDEF_PRIVATE_H
#define MOZDEF_PRIVATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

#include <mozdef/client.h>

#if defined(__GNUC__) || defined(__clang__)
#define MOZDEF_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define MOZDEF_PRINTF(f, a)
#endif

/* SQS rejects a MessageBody over 256 KiB. */
#define MOZDEF_SQS_MAX_BODY (256 * 1024)

void mozdef__set_error(char *errstr, size_t errstr_size, const char *fmt, ...) MOZDEF_PRINTF(3, 4);
void mozdef__result_set(mozdef_result *r, mozdef_error err, const char *fmt, ...) MOZDEF_PRINTF(3, 4);
int64_t mozdef__now_ms(void);
/* UTC, ISO 8601, microseconds, "+00:00". buf: at least 33 bytes. */
void mozdef__format_utc(char *buf, size_t size);
const char *mozdef__default_hostname(void);
const char *mozdef__default_processname(void);

/* Options; read and written under the client's lock. */
struct mozdef_options {
	long http_timeout_ms;
	long http_connect_timeout_ms;
	long http_retries;
	long http_retry_backoff_ms;
	long http_retry_backoff_max_ms;
	char *http_user_agent;
	char *http_proxy;
	bool tls_verify;
	char *tls_ca_path;
	long async_queue_size;
	bool async_block;
	long async_max_connections;
	bool bulk_enabled;
	long bulk_max_events;
	char *bulk_url;
	bool syslog_enabled;
	bool syslog_only;
	char *syslog_ident;
	int syslog_facility;
	char *syslog_socket;
	char *syslog_server;
	bool syslog_tcp;
	bool syslog_5424;
	char *sqs_queue;
	char *sqs_region;
	char *sqs_account_id;
	char *sqs_endpoint;
	char *sqs_profile;
	char *sqs_credentials_file;
};

enum mozdef_job_kind {
	MOZDEF_JOB_HTTP,
	MOZDEF_JOB_SQS,
};

/* One queued event. */
struct mozdef_job {
	struct mozdef_job *next;
	enum mozdef_job_kind kind;
	char *body;
	size_t len;
	void *opaque;
};

struct mozdef_syslog;
struct mozdef_async;

struct mozdef_client {
	char *url;
	struct mozdef_options opt;
	pthread_mutex_t lock;           /* options, syslog socket, queue url */
	mozdef_completion_cb cb;
	void *cb_user;

	pthread_mutex_t sync_lock;      /* the easy handle of synchronous sends */
	CURL *sync_easy;

	struct mozdef_syslog *syslog;
	char *sqs_queue_url;            /* resolved once by GetQueueUrl */

	struct mozdef_async *async;
};

/* A request ready for libcurl. */
struct mozdef_wire {
	char *url;
	struct curl_slist *headers;
	char *body;
	size_t len;
};

void mozdef__wire_clear(struct mozdef_wire *w);

/* http.c */
bool mozdef__http_prepare(mozdef_client *c, const char *url, const char *content_type, const char *body,
                          size_t len, struct mozdef_wire *w, mozdef_result *r);
void mozdef__easy_setup(mozdef_client *c, CURL *easy, struct mozdef_wire *w, char *errbuf);
#define MOZDEF_RESP_MAX 2048
/* Keep the answer's body, truncated, in resp (MOZDEF_RESP_MAX bytes). */
void mozdef__easy_capture(CURL *easy, char *resp);
/* Turn a finished transfer into a result; true if it is worth retrying. */
bool mozdef__http_outcome(CURLcode code, long status, const char *errbuf, enum mozdef_job_kind kind,
                          const char *resp, size_t resp_len, const char *what, mozdef_result *r);
/* Delay before retry number @attempt (1-based): doubling from http.retry_backoff_ms, capped. */
long mozdef__backoff_ms(mozdef_client *c, unsigned attempt);
mozdef_error mozdef__perform_sync(mozdef_client *c, enum mozdef_job_kind kind, const char *body, size_t len,
                                  bool bulk, mozdef_result *r);
char *mozdef__bulk_url(const char *url);

/* async.c */
mozdef_error mozdef__async_enqueue(mozdef_client *c, struct mozdef_job *job, char *errstr, size_t errstr_size);
mozdef_error mozdef__async_flush(mozdef_client *c, int timeout_ms);
void mozdef__async_stop(mozdef_client *c);

/* syslog.c */
int mozdef__facility_from_string(const char *name);
mozdef_error mozdef__syslog_send(mozdef_client *c, mozdef_severity sev, const char *json, mozdef_result *r);
void mozdef__syslog_close(mozdef_client *c);

/* sqs.c */
bool mozdef__sqs_prepare(mozdef_client *c, const char *body, size_t len, struct mozdef_wire *w, mozdef_result *r);
bool mozdef__sqs_resolve(mozdef_client *c, mozdef_result *r);
char *mozdef__form_encode(const char *s, size_t len);
void mozdef__sha256_hex(const void *data, size_t len, char out[65]);

#endif
