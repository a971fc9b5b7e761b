/* SPDX-License-Identifier: Apache-2.0 */
/* The asynchronous sender: one worker thread driving a curl multi handle. Every
 * queued job ends in finish(), which calls the completion callback, so no
 * outcome is lost. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mozdef-private.h"

struct mozdef_req {
	struct mozdef_req *next;
	CURL *easy;
	struct mozdef_wire wire;
	enum mozdef_job_kind kind;
	bool bulk;
	struct mozdef_job *jobs;
	size_t njobs;
	char *payload;          /* owned when bulk, else the single job's body */
	size_t len;
	unsigned attempts;
	int64_t not_before;
	mozdef_result result;
	char errbuf[CURL_ERROR_SIZE];
	char resp[MOZDEF_RESP_MAX];
};

struct mozdef_async {
	pthread_t thread;
	bool stopping;
	pthread_cond_t changed;         /* outstanding went down */
	struct mozdef_job *head, *tail;
	size_t outstanding;             /* queued, in flight, or waiting to retry */
	CURLM *multi;
	/* Worker only. */
	struct mozdef_req *waiting;
	size_t active;
};

static void finish(mozdef_client *c, struct mozdef_req *req)
{
	struct mozdef_async *a = c->async;
	mozdef_completion_cb cb;
	void *user;
	struct mozdef_job *job, *next;

	if (req->result.error != MOZDEF_OK && req->attempts > 1) {
		size_t n = strlen(req->result.message);
		snprintf(req->result.message + n, sizeof(req->result.message) - n, " (after %u attempts)", req->attempts);
	}
	req->result.attempts = req->attempts;
	pthread_mutex_lock(&c->lock);
	cb = c->cb;
	user = c->cb_user;
	pthread_mutex_unlock(&c->lock);
	for (job = req->jobs; job; job = next) {
		next = job->next;
		if (cb)
			cb(&req->result, job->opaque, user);
		free(job->body);
		free(job);
	}
	pthread_mutex_lock(&c->lock);
	a->outstanding -= req->njobs;
	pthread_cond_broadcast(&a->changed);
	pthread_mutex_unlock(&c->lock);
	mozdef__wire_clear(&req->wire);
	if (req->easy)
		curl_easy_cleanup(req->easy);
	if (req->bulk)
		free(req->payload);
	free(req);
}

/* Prepare and hand one attempt to the multi handle; false: finished with an error. */
static bool start_attempt(mozdef_client *c, struct mozdef_req *req)
{
	struct mozdef_async *a = c->async;
	bool ok;

	memset(&req->result, 0, sizeof(req->result));
	if (req->kind == MOZDEF_JOB_SQS) {
		ok = mozdef__sqs_resolve(c, &req->result) &&
		     mozdef__sqs_prepare(c, req->payload, req->len, &req->wire, &req->result);
	} else {
		pthread_mutex_lock(&c->lock);
		if (req->bulk) {
			char *url = c->opt.bulk_url ? strdup(c->opt.bulk_url) : mozdef__bulk_url(c->url);
			ok = url && mozdef__http_prepare(c, url, "application/x-ndjson", req->payload, req->len,
			                                 &req->wire, &req->result);
			if (!url)
				mozdef__result_set(&req->result, MOZDEF_ERR_NOMEM, "out of memory");
			free(url);
		} else {
			ok = mozdef__http_prepare(c, c->url, "application/json", req->payload, req->len, &req->wire,
			                          &req->result);
		}
		pthread_mutex_unlock(&c->lock);
	}
	if (ok && !req->easy && !(req->easy = curl_easy_init())) {
		mozdef__result_set(&req->result, MOZDEF_ERR_NOMEM, "cannot create a libcurl handle");
		ok = false;
	}
	if (ok) {
		curl_easy_reset(req->easy);
		mozdef__easy_setup(c, req->easy, &req->wire, req->errbuf);
		mozdef__easy_capture(req->easy, req->resp);
		curl_easy_setopt(req->easy, CURLOPT_PRIVATE, req);
		if (curl_multi_add_handle(a->multi, req->easy) != CURLM_OK) {
			mozdef__result_set(&req->result, MOZDEF_ERR_NOMEM, "cannot queue the request in libcurl");
			ok = false;
		}
	}
	if (!ok) {
		finish(c, req);
		return false;
	}
	a->active++;
	return true;
}

/* Take the next request's jobs off the queue; called under c->lock. */
static struct mozdef_req *take_request(mozdef_client *c)
{
	struct mozdef_async *a = c->async;
	struct mozdef_req *req;
	struct mozdef_job *job, **tailp;
	size_t max = 1, total = 0;

	if (!a->head)
		return NULL;
	req = calloc(1, sizeof(*req));
	if (!req)
		return NULL;
	req->kind = a->head->kind;
	if (req->kind == MOZDEF_JOB_HTTP && c->opt.bulk_enabled)
		max = (size_t)c->opt.bulk_max_events;
	tailp = &req->jobs;
	while (a->head && req->njobs < max && a->head->kind == req->kind) {
		job = a->head;
		a->head = job->next;
		job->next = NULL;
		*tailp = job;
		tailp = &job->next;
		req->njobs++;
		total += job->len + 1;
	}
	if (!a->head)
		a->tail = NULL;
	if (req->njobs == 1) {
		req->payload = req->jobs->body;
		req->len = req->jobs->len;
		return req;
	}
	/* Several events: NDJSON, one per line. */
	req->bulk = true;
	req->payload = malloc(total + 1);
	if (!req->payload) {
		mozdef__result_set(&req->result, MOZDEF_ERR_NOMEM, "out of memory");
		return req;
	}
	for (job = req->jobs; job; job = job->next) {
		memcpy(req->payload + req->len, job->body, job->len);
		req->len += job->len;
		req->payload[req->len++] = '\n';
	}
	req->payload[req->len] = '\0';
	return req;
}

static void complete_transfers(mozdef_client *c)
{
	struct mozdef_async *a = c->async;
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(a->multi, &left))) {
		struct mozdef_req *req = NULL;
		long status = 0;
		unsigned max_attempts;
		bool retry;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&req);
		curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
		retry = mozdef__http_outcome(msg->data.result, status, req->errbuf, req->kind, req->resp,
		                             strlen(req->resp),
		                             req->kind == MOZDEF_JOB_SQS ? "sqs" : req->bulk ? "bulk" : "http",
		                             &req->result);
		curl_multi_remove_handle(a->multi, req->easy);
		a->active--;
		req->attempts++;
		mozdef__wire_clear(&req->wire);
		pthread_mutex_lock(&c->lock);
		max_attempts = (unsigned)c->opt.http_retries + 1;
		pthread_mutex_unlock(&c->lock);
		if (req->result.error != MOZDEF_OK && retry && req->attempts < max_attempts) {
			req->not_before = mozdef__now_ms() + mozdef__backoff_ms(c, req->attempts);
			req->next = a->waiting;
			a->waiting = req;
			continue;
		}
		finish(c, req);
	}
}

static void *worker(void *arg)
{
	mozdef_client *c = arg;
	struct mozdef_async *a = c->async;

	for (;;) {
		struct mozdef_req *ready = NULL, *req, **pp;
		int64_t now = mozdef__now_ms();
		int64_t next_due = -1;
		int running = 0, timeout;
		bool done;

		for (pp = &a->waiting; (req = *pp);) {
			if (req->not_before <= now) {
				*pp = req->next;
				req->next = ready;
				ready = req;
			} else {
				if (next_due < 0 || req->not_before < next_due)
					next_due = req->not_before;
				pp = &req->next;
			}
		}
		pthread_mutex_lock(&c->lock);
		size_t room = (size_t)c->opt.async_max_connections;
		for (size_t i = a->active; i < room && a->head; i++) {
			req = take_request(c);
			if (!req)
				break;
			req->next = ready;
			ready = req;
		}
		done = a->stopping && a->outstanding == 0;
		pthread_mutex_unlock(&c->lock);
		/* Outside the lock: preparing takes it, and a failure calls the callback. */
		while ((req = ready)) {
			ready = req->next;
			req->next = NULL;
			if (req->bulk && !req->payload)
				finish(c, req);
			else
				start_attempt(c, req);
		}
		if (done)
			break;
		curl_multi_perform(a->multi, &running);
		complete_transfers(c);
		timeout = 1000;
		/* Queued jobs and a free slot: no reason to sleep (a blocked producer sends no wakeup). */
		pthread_mutex_lock(&c->lock);
		if (a->head && a->active < (size_t)c->opt.async_max_connections)
			timeout = 0;
		pthread_mutex_unlock(&c->lock);
		if (a->waiting) {
			now = mozdef__now_ms();
			for (req = a->waiting; req; req = req->next) {
				int64_t d = req->not_before - now;
				if (d < timeout)
					timeout = d < 0 ? 0 : (int)d;
			}
		}
		curl_multi_poll(a->multi, NULL, 0, timeout, NULL);
	}
	return NULL;
}

/* Called under c->lock. */
static mozdef_error async_start(mozdef_client *c, char *errstr, size_t errstr_size)
{
	struct mozdef_async *a;
	pthread_condattr_t attr;

	a = calloc(1, sizeof(*a));
	if (!a)
		return MOZDEF_ERR_NOMEM;
	a->multi = curl_multi_init();
	if (!a->multi) {
		free(a);
		return MOZDEF_ERR_NOMEM;
	}
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&a->changed, &attr);
	pthread_condattr_destroy(&attr);
	c->async = a;
	if (pthread_create(&a->thread, NULL, worker, c) != 0) {
		c->async = NULL;
		pthread_cond_destroy(&a->changed);
		curl_multi_cleanup(a->multi);
		free(a);
		mozdef__set_error(errstr, errstr_size, "cannot start the sending thread");
		return MOZDEF_ERR_NOMEM;
	}
	return MOZDEF_OK;
}

mozdef_error mozdef__async_enqueue(mozdef_client *c, struct mozdef_job *job, char *errstr, size_t errstr_size)
{
	struct mozdef_async *a;
	mozdef_error err;

	pthread_mutex_lock(&c->lock);
	if (!c->async) {
		err = async_start(c, errstr, errstr_size);
		if (err != MOZDEF_OK)
			goto out;
	}
	a = c->async;
	for (;;) {
		if (a->stopping) {
			mozdef__set_error(errstr, errstr_size, "the client is closing");
			err = MOZDEF_ERR_CLOSED;
			goto out;
		}
		if (a->outstanding < (size_t)c->opt.async_queue_size)
			break;
		if (!c->opt.async_block) {
			mozdef__set_error(errstr, errstr_size, "queue full (%zu events, async.queue_size)", a->outstanding);
			err = MOZDEF_ERR_FULL;
			goto out;
		}
		pthread_cond_wait(&a->changed, &c->lock);
	}
	job->next = NULL;
	if (a->tail)
		a->tail->next = job;
	else
		a->head = job;
	a->tail = job;
	a->outstanding++;
	err = MOZDEF_OK;
out:
	pthread_mutex_unlock(&c->lock);
	if (err == MOZDEF_OK)
		curl_multi_wakeup(c->async->multi);
	return err;
}

mozdef_error mozdef__async_flush(mozdef_client *c, int timeout_ms)
{
	struct mozdef_async *a;
	struct timespec deadline;
	mozdef_error err = MOZDEF_OK;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	if (timeout_ms >= 0) {
		deadline.tv_sec += timeout_ms / 1000;
		deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
	}
	pthread_mutex_lock(&c->lock);
	a = c->async;
	while (a && a->outstanding > 0) {
		if (timeout_ms < 0) {
			pthread_cond_wait(&a->changed, &c->lock);
		} else if (pthread_cond_timedwait(&a->changed, &c->lock, &deadline) == ETIMEDOUT) {
			if (a->outstanding > 0)
				err = MOZDEF_ERR_TIMEOUT;
			break;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return err;
}

void mozdef__async_stop(mozdef_client *c)
{
	struct mozdef_async *a;

	pthread_mutex_lock(&c->lock);
	a = c->async;
	if (a)
		a->stopping = true;
	pthread_mutex_unlock(&c->lock);
	if (!a)
		return;
	curl_multi_wakeup(a->multi);
	pthread_join(a->thread, NULL);
	curl_multi_cleanup(a->multi);
	pthread_cond_destroy(&a->changed);
	c->async = NULL;
	free(a);
}
