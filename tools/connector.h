/* SPDX-License-Identifier: Apache-2.0 */
/* idmefv2-connector: what its source files share. */
#ifndef IDMEFV2_CONNECTOR_H
#define IDMEFV2_CONNECTOR_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <poll.h>
#include <stdio.h>

#include <idmefv2/dirwatch.h>
#include <idmefv2/mapping.h>
#include <idmefv2/pipeline.h>
#include <idmefv2/poller.h>
#include <idmefv2/tail.h>
#include <idmefv2/transport.h>
#include <idmefv2/webhook.h>

#include "connector-common.h"

#define CONNECTOR_PROG "idmefv2-connector"
/* Python's CRITICAL, below IDMEFV2_LOG_ERROR (syslog's LOG_CRIT). */
#define CONNECTOR_LOG_CRITICAL 2

/* One "key = value" of the INI file. */
struct cfg_entry {
	char *section;
	char *key;
	char *value;
	bool used;
	unsigned line, line_last; /* where it was set in the file (last: of a continued value) */
};

struct unix_input;
struct zabbix;
struct kismet_dedup;
struct tracker;
struct push_waiter;
struct files_state;
struct file_rec;
struct stat;

struct connector {
	const struct connector_tool *tool;
	const char *conf_path;
	struct cfg_entry *cfg;
	size_t cfg_count, cfg_cap;

	/* logging */
	int level; /* the most verbose level written */
	char *log_path;
	FILE *log_fp;
	bool log_syslog;
	bool log_stderr;
	pthread_mutex_t log_lock;
	char ident[64]; /* "suricata-connector" */

	/* processing */
	idmefv2_mapping *mapping;
	char *template_origin;
	char *version;
	idmefv2_pipeline *pipeline;
	idmefv2_transport *transport;
	char *url;
	pthread_mutex_t push_lock; /* the webhook pushes from its own threads */
	char *state_dir;
	unsigned stats_interval;

	/* inputs: one of these, per tool */
	char *input_path;
	idmefv2_tail *tail;
	idmefv2_dirwatch *dirwatch;
	idmefv2_poller *poller;
	idmefv2_webhook *webhook;
	struct unix_input *unix_in;
	struct zabbix *zabbix;
	struct kismet_dedup *kismet;
	struct files_state *files; /* ClamAV: the files whose messages are resolved */
	uint64_t checkpointed; /* input count at the last state save */
	struct tracker *track; /* inputs pushed and not yet delivered or on disk */
	char *id_name;         /* scratch buffer for the names of name-based IDs */
	pthread_t main_thread; /* the one that polls the inputs (the webhook pushes from others) */
	pthread_mutex_t wait_lock; /* pushes waiting for their outcome (the webhook's) */
	pthread_cond_t wait_cond;
	struct push_waiter *waiters;
	size_t id_name_cap;
};

void conn_log(struct connector *c, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* An idmefv2_log_cb for the libraries; user_data is the connector. */
void conn_log_cb(idmefv2_log_level level, const char *message, void *user_data);

/* The value of [section] key, or NULL; marks it used. */
const char *cfg_get(struct connector *c, const char *section, const char *key);
/* As cfg_get(); a missing or empty value is an error (logged). */
const char *cfg_require(struct connector *c, const char *section, const char *key);
/* 0 and *out set (to @p def when absent), or -1 with an error logged. */
int cfg_bool(struct connector *c, const char *section, const char *key, bool def, bool *out);
int cfg_uint(struct connector *c, const char *section, const char *key, unsigned def, unsigned min,
             unsigned max, unsigned *out);

/*
 * Push one line / one object into the pipeline (thread-safe). Each push is
 * tracked until its message is delivered or on disk: the input state is saved
 * only once what precedes it is (see checkpoint() in idmefv2-connector.c).
 */
void conn_push_line(struct connector *c, const char *line, size_t len, const char *origin);
idmefv2_error conn_push_object(struct connector *c, struct json_object *obj, const char *origin);
/*
 * Push one object with the ID derived from @p id_prefix (NULL: the
 * template's) and wait up to @p timeout_ms for its message to be delivered or
 * spooled: IDMEFV2_OK then (or when it was filtered), IDMEFV2_ERR_TIMEOUT,
 * IDMEFV2_ERR_TRANSPORT when it was given up or refused by the receiver,
 * IDMEFV2_ERR_INVALID when it did not convert. From any thread.
 */
idmefv2_error conn_push_object_wait(struct connector *c, struct json_object *obj, const char *origin,
                                    const char *id_prefix, unsigned timeout_ms);
/*
 * Push one line read at @p pos (tracked with it: checkpoint() hands the
 * position of the last resolved one back to the input) whose ID is derived
 * from @p id_prefix and the line (docs/ids.md).
 */
void conn_push_line_at(struct connector *c, const char *line, size_t len, const char *origin,
                       const idmefv2_tail_position *pos, const char *id_prefix);

/* Per-tool inputs, in their own files. Each returns 0 or -1 (error logged). */
int unix_input_setup(struct connector *c, const char *path, size_t max_line);
int unix_input_start(struct connector *c);
/* Adds its descriptors to @p fds (at most @p max); returns how many. */
size_t unix_input_fds(struct connector *c, struct pollfd *fds, size_t max);
void unix_input_handle(struct connector *c, const struct pollfd *fds, size_t n);
/* Save the journal state up to @p pos (NULL: none) or, when @p idle, all of it. */
void unix_input_checkpoint(struct connector *c, const idmefv2_tail_position *pos, bool idle);
void unix_input_stop(struct connector *c);
void unix_input_log_counters(struct connector *c, const char *when);
void unix_input_free(struct connector *c);

/*
 * ClamAV (connector-files.c): the files done with. Setup loads files.state
 * (or, on a first start, records the matching files under @p root, which are
 * not reported); known() tells whether a file was recorded with this
 * identity; resolved() records one (ownership taken); checkpoint() saves.
 */
int files_state_setup(struct connector *c, const char *root, const char *pattern);
bool files_state_known(struct connector *c, const char *path, const struct stat *st);
struct file_rec *files_rec_new(const char *path, const struct stat *st);
void files_rec_free(struct file_rec *r);
void files_state_resolved(struct connector *c, struct file_rec *r);
void files_state_checkpoint(struct connector *c);
void files_state_free(struct connector *c);

int pollers_setup(struct connector *c, bool check_only);
int pollers_start(struct connector *c);
/* Fetch when due (and log in again after a Zabbix session expired). */
void pollers_poll(struct connector *c);
void pollers_stop(struct connector *c);
void pollers_free(struct connector *c);
void pollers_log_counters(struct connector *c);

#endif
