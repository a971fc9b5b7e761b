/* SPDX-License-Identifier: Apache-2.0 */
/*
 * idmefv2-connector: the daemon turning one tool's alerts into IDMEFv2 and
 * shipping them. It reads the Python connectors' INI files unchanged.
 *
 * Nothing read is lost across a stop: on SIGTERM or SIGINT the inputs stop,
 * the transport flushes (and spools what it could not deliver, the spool being
 * on by default), and only then are the tail offsets and poller keys saved.
 *
 * Nor across a crash: every input pushed is tracked (its sequence number is
 * the message's opaque) until the transport reports it delivered, spooled
 * (delivery.report_spooled) or given up, and the state saved while running
 * only covers the longest prefix of inputs that are all resolved. A line read
 * again after a crash converts to a message with the same ID (docs/ids.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <ini.h>
#include <json-c/json.h>

#include <idmefv2/message.h>
#include <idmefv2/schema.h>
#include <idmefv2/util.h>

#include "connector.h"

#ifndef IDMEFV2_PROJECT_VERSION
#define IDMEFV2_PROJECT_VERSION "unknown"
#endif
#ifndef CONNECTOR_STATE_ROOT
#define CONNECTOR_STATE_ROOT "/var/lib/idmefv2-connector"
#endif

enum { EXIT_RUNTIME = 1, EXIT_CONFIG = 2 };

static const char usage_text[] =
	"Usage: " CONNECTOR_PROG " TOOL -c FILE [--foreground] [--pid-file FILE]\n"
	"       " CONNECTOR_PROG " TOOL -c FILE --check-config\n"
	"       " CONNECTOR_PROG " TOOL [-c FILE] --once FILE|-\n"
	"       " CONNECTOR_PROG " --list-tools\n"
	"\n"
	"Convert the alerts of TOOL into IDMEFv2 messages and send them to [idmefv2] url.\n"
	"TOOL: clamav, kismet, modsecurity, prometheus, suricata, wazuh, zabbix, zoneminder.\n"
	"FILE is the INI file of the Python connector (TOOL-idmefv2.conf); the same\n"
	"sections and keys work here. See idmefv2-connector(8) for every key.\n"
	"\n"
	"Options:\n"
	"  -c, --config FILE     the configuration file\n"
	"  -f, --foreground      stay in the foreground (as systemd runs it); otherwise\n"
	"                        detach once started, logging to syslog unless [logging] file\n"
	"  -p, --pid-file FILE   write the daemon's process id there\n"
	"  -n, --check-config    check the configuration (keys, values, TLS files, state\n"
	"                        directory, template, URL) and exit; creates nothing\n"
	"  -1, --once FILE       convert FILE (- for standard input) and print the IDMEFv2\n"
	"                        messages as NDJSON on standard output; nothing is sent\n"
	"  -l, --list-tools      list the connectors and exit\n"
	"  -h, --help            show this help and exit\n"
	"  -V, --version         show the version and exit\n"
	"\n"
	"Signals: TERM and INT stop after flushing (undelivered messages stay in the\n"
	"spool) and saving the input state; HUP reopens the log file; USR1 logs the counters.\n"
	"\n"
	"Exit status: 0 on a clean stop (--once: every alert converted or filtered),\n"
	"1 on a runtime failure (--once: some alert malformed or invalid), 2 on a usage\n"
	"or configuration error.\n";

static const struct option long_options[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "foreground", no_argument, NULL, 'f' },
	{ "pid-file", required_argument, NULL, 'p' },
	{ "check-config", no_argument, NULL, 'n' },
	{ "once", required_argument, NULL, '1' },
	{ "list-tools", no_argument, NULL, 'l' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/* ---- logging ---------------------------------------------------------------------------- */

static const struct {
	const char *name;
	int level;
} log_levels[] = {
	{ "CRITICAL", CONNECTOR_LOG_CRITICAL }, { "ERROR", IDMEFV2_LOG_ERROR }, { "WARNING", IDMEFV2_LOG_WARNING },
	{ "WARN", IDMEFV2_LOG_WARNING },        { "INFO", IDMEFV2_LOG_INFO },   { "DEBUG", IDMEFV2_LOG_DEBUG },
};

static const char *level_name(int level)
{
	for (size_t i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++)
		if (log_levels[i].level == level)
			return log_levels[i].name;
	return "INFO";
}

static void log_write(struct connector *c, int level, const char *msg)
{
	if (level > c->level)
		return;
	pthread_mutex_lock(&c->log_lock);
	if (c->log_syslog)
		syslog(level, "%s", msg);
	if (c->log_fp || c->log_stderr) {
		FILE *out = c->log_fp ? c->log_fp : stderr;
		struct timespec ts;
		struct tm tm;
		char when[40];

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(out, "%s.%03ldZ %s %s: %s\n", when, ts.tv_nsec / 1000000, level_name(level), c->ident, msg);
		fflush(out);
	}
	pthread_mutex_unlock(&c->log_lock);
}

void conn_log(struct connector *c, int level, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	if (level > c->level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_write(c, level, msg);
}

void conn_log_cb(idmefv2_log_level level, const char *message, void *user_data)
{
	log_write(user_data, (int)level, message);
}

static int log_reopen(struct connector *c)
{
	FILE *f;

	if (!c->log_path)
		return 0;
	f = fopen(c->log_path, "ae");
	if (!f) {
		conn_log(c, IDMEFV2_LOG_ERROR, "cannot open log file %s: %s", c->log_path, strerror(errno));
		return -1;
	}
	pthread_mutex_lock(&c->log_lock);
	if (c->log_fp)
		fclose(c->log_fp);
	c->log_fp = f;
	pthread_mutex_unlock(&c->log_lock);
	return 0;
}

/* ---- configuration ---------------------------------------------------------------------- */

/* The file being read: inih's reader and handler share it, to know the line of each entry. */
struct cfg_parse {
	struct connector *c;
	FILE *f;
	unsigned line;      /* the line being parsed (1-based) */
	bool line_done;     /* the last piece read ended its line */
	bool continuation;  /* that line began with white space: a value's continuation */
};

static char *cfg_read_line(char *str, int num, void *stream)
{
	struct cfg_parse *p = stream;
	char *got = fgets(str, num, p->f);

	if (!got)
		return NULL;
	if (p->line_done) {
		p->line++;
		p->continuation = (str[0] == ' ' || str[0] == '\t');
	}
	p->line_done = strchr(str, '\n') != NULL;
	return got;
}

/* A value continued on an indented line, joined with a newline as configparser does. */
static int cfg_continue(struct cfg_entry *e, const char *value)
{
	char *v = NULL;

	if (asprintf(&v, "%s\n%s", e->value, value) < 0)
		return 0;
	free(e->value);
	e->value = v;
	return 1;
}

static int cfg_ini_entry(void *user, const char *section, const char *key, const char *value)
{
	struct cfg_parse *p = user;
	struct connector *c = p->c;
	struct cfg_entry *e;

	/* A key given twice: the last one wins, as with Python's configparser (strict=False), with a warning. */
	for (size_t i = 0; i < c->cfg_count; i++) {
		e = &c->cfg[i];
		if (strcasecmp(e->section, section) == 0 && strcasecmp(e->key, key) == 0) {
			char *v;

			if (p->continuation && e->line_last + 1 == p->line) {
				e->line_last = p->line;
				return cfg_continue(e, value);
			}
			conn_log(c, IDMEFV2_LOG_WARNING,
			         "%s:%u: [%s] %s is given again (first at line %u); the value of line %u is used",
			         c->conf_path, p->line, section, key, e->line, p->line);
			v = strdup(value);
			if (!v)
				return 0;
			free(e->value);
			e->value = v;
			e->line = e->line_last = p->line;
			return 1;
		}
	}
	if (c->cfg_count == c->cfg_cap) {
		size_t cap = c->cfg_cap ? 2 * c->cfg_cap : 32;
		struct cfg_entry *v = realloc(c->cfg, cap * sizeof(*v));

		if (!v)
			return 0;
		c->cfg = v;
		c->cfg_cap = cap;
	}
	e = &c->cfg[c->cfg_count];
	e->section = strdup(section);
	e->key = strdup(key);
	e->value = strdup(value);
	e->used = false;
	e->line = e->line_last = p->line;
	if (!e->section || !e->key || !e->value) {
		free(e->section);
		free(e->key);
		free(e->value);
		return 0;
	}
	c->cfg_count++;
	return 1;
}

const char *cfg_get(struct connector *c, const char *section, const char *key)
{
	for (size_t i = 0; i < c->cfg_count; i++) {
		struct cfg_entry *e = &c->cfg[i];

		if (strcasecmp(e->section, section) == 0 && strcasecmp(e->key, key) == 0) {
			e->used = true;
			return e->value;
		}
	}
	return NULL;
}

const char *cfg_require(struct connector *c, const char *section, const char *key)
{
	const char *v = cfg_get(c, section, key);

	if (!v || !*v) {
		conn_log(c, IDMEFV2_LOG_ERROR, "%s: [%s] %s is required", c->conf_path ? c->conf_path : "configuration",
		         section, key);
		return NULL;
	}
	return v;
}

int cfg_bool(struct connector *c, const char *section, const char *key, bool def, bool *out)
{
	static const char *const yes[] = { "1", "yes", "true", "on" }, *const no[] = { "0", "no", "false", "off" };
	const char *v = cfg_get(c, section, key);

	*out = def;
	if (!v || !*v)
		return 0;
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	conn_log(c, IDMEFV2_LOG_ERROR, "%s: [%s] %s: '%s' is not a boolean (true/false, yes/no, on/off, 1/0)",
	         c->conf_path, section, key, v);
	return -1;
}

int cfg_uint(struct connector *c, const char *section, const char *key, unsigned def, unsigned min,
             unsigned max, unsigned *out)
{
	const char *v = cfg_get(c, section, key);
	unsigned long n;
	char *end;

	*out = def;
	if (!v || !*v)
		return 0;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || *end || end == v || *v == '-' || n < min || n > max) {
		conn_log(c, IDMEFV2_LOG_ERROR, "%s: [%s] %s: '%s' is not a whole number from %u to %u",
		         c->conf_path, section, key, v, min, max);
		return -1;
	}
	*out = (unsigned)n;
	return 0;
}

static int cfg_load(struct connector *c)
{
	struct cfg_parse p = { .c = c, .line_done = true };
	struct stat st;
	int rc;

	p.f = fopen(c->conf_path, "re");
	if (!p.f) {
		conn_log(c, IDMEFV2_LOG_ERROR, "%s: %s", c->conf_path, strerror(errno));
		return -1;
	}
	/* fopen() takes a directory, which then reads as an empty file ("url is required"). */
	if (fstat(fileno(p.f), &st) == 0 && S_ISDIR(st.st_mode)) {
		conn_log(c, IDMEFV2_LOG_ERROR, "%s is a directory, not a configuration file", c->conf_path);
		fclose(p.f);
		return -1;
	}
	rc = ini_parse_stream(cfg_read_line, &p, cfg_ini_entry, &p);
	if (ferror(p.f)) {
		conn_log(c, IDMEFV2_LOG_ERROR, "%s: %s", c->conf_path, strerror(errno));
		fclose(p.f);
		return -1;
	}
	fclose(p.f);
	if (rc == -2) {
		conn_log(c, IDMEFV2_LOG_ERROR, "%s: out of memory", c->conf_path);
		return -1;
	}
	if (rc > 0) {
		conn_log(c, IDMEFV2_LOG_ERROR, "%s:%d: syntax error (expected [section] or key = value)",
		         c->conf_path, rc);
		return -1;
	}
	return 0;
}

/* Keys nobody read: probably misspelt. A warning, since a file may carry other programs' keys. */
static void cfg_warn_unused(struct connector *c)
{
	for (size_t i = 0; i < c->cfg_count; i++)
		if (!c->cfg[i].used)
			conn_log(c, IDMEFV2_LOG_WARNING, "%s: [%s] %s is not a key of the %s connector; ignored",
			         c->conf_path, c->cfg[i].section, c->cfg[i].key, c->tool->name);
}

/* ---- delivery tracking ------------------------------------------------------------------ */

struct track_entry {
	idmefv2_tail_position pos; /* the line's, for the tail input; zero for the others */
	struct file_rec *file;     /* the ClamAV file, recorded once resolved; owned */
	bool done;                 /* delivered, on disk, or resolved for good */
};

/*
 * Inputs pushed in order, each with a sequence number, in a ring that grows
 * as needed (it holds at most what the transport's queue holds, plus what
 * waits for a delivery report).
 */
struct tracker {
	pthread_mutex_t lock; /* the delivery callback runs on a transport thread */
	struct track_entry *ring;
	size_t mask;   /* ring size - 1, a power of two */
	uint64_t head; /* the oldest unresolved input */
	uint64_t next; /* the next one; the first is 1, so that an opaque is never NULL */
};

static struct tracker *tracker_new(void)
{
	struct tracker *tr = calloc(1, sizeof(*tr));

	if (!tr)
		return NULL;
	tr->ring = calloc(1024, sizeof(*tr->ring));
	if (!tr->ring) {
		free(tr);
		return NULL;
	}
	tr->mask = 1023;
	tr->head = tr->next = 1;
	pthread_mutex_init(&tr->lock, NULL);
	return tr;
}

static void tracker_free(struct tracker *tr)
{
	if (!tr)
		return;
	for (uint64_t seq = tr->head; seq < tr->next; seq++)
		files_rec_free(tr->ring[seq & tr->mask].file);
	pthread_mutex_destroy(&tr->lock);
	free(tr->ring);
	free(tr);
}

static bool tracker_grow(struct tracker *tr)
{
	size_t size = (tr->mask + 1) * 2;
	struct track_entry *ring = calloc(size, sizeof(*ring));

	if (!ring)
		return false;
	for (uint64_t seq = tr->head; seq < tr->next; seq++)
		ring[seq & (size - 1)] = tr->ring[seq & tr->mask];
	free(tr->ring);
	tr->ring = ring;
	tr->mask = size - 1;
	return true;
}

/*
 * A new unresolved input at @p pos (NULL: no position) from @p file (NULL:
 * none; ownership taken on success); its sequence number, 0 when out of memory.
 */
static uint64_t tracker_add(struct tracker *tr, const idmefv2_tail_position *pos, struct file_rec *file)
{
	uint64_t seq = 0;

	pthread_mutex_lock(&tr->lock);
	if (tr->next - tr->head <= tr->mask || tracker_grow(tr)) {
		seq = tr->next++;
		tr->ring[seq & tr->mask] = (struct track_entry){ .pos = pos ? *pos : (idmefv2_tail_position){ 0 },
		                                                 .file = file };
	}
	pthread_mutex_unlock(&tr->lock);
	return seq;
}

/* Input @p seq is resolved; a later report for it (SENT after SPOOLED) changes nothing. */
static void tracker_resolve(struct tracker *tr, uint64_t seq)
{
	pthread_mutex_lock(&tr->lock);
	if (seq >= tr->head && seq < tr->next)
		tr->ring[seq & tr->mask].done = true;
	pthread_mutex_unlock(&tr->lock);
}

/*
 * Drop the resolved inputs at the head, recording their files. Returns true
 * when some were dropped; *ret_pos is then the position of the last of them
 * (zero when it had none). *ret_idle tells whether every input pushed so far
 * is resolved.
 */
static bool tracker_advance(struct connector *c, struct tracker *tr, idmefv2_tail_position *ret_pos,
                            bool *ret_idle)
{
	bool moved = false;

	pthread_mutex_lock(&tr->lock);
	while (tr->head < tr->next && tr->ring[tr->head & tr->mask].done) {
		struct track_entry *e = &tr->ring[tr->head & tr->mask];

		if (e->file)
			files_state_resolved(c, e->file);
		e->file = NULL;
		*ret_pos = e->pos;
		tr->head++;
		moved = true;
	}
	*ret_idle = tr->head == tr->next;
	pthread_mutex_unlock(&tr->lock);
	return moved;
}

/*
 * A push that waits for the outcome of its message (the Zabbix webhook
 * answers only then). Registered before the message enters the pipeline, so
 * that no report can come before it.
 */
struct push_waiter {
	uint64_t seq;
	bool done;
	idmefv2_delivery_status status;
	struct push_waiter *next;
};

static void waiter_add(struct connector *c, struct push_waiter *w, uint64_t seq)
{
	pthread_mutex_lock(&c->wait_lock);
	w->seq = seq;
	w->done = false;
	w->next = c->waiters;
	c->waiters = w;
	pthread_mutex_unlock(&c->wait_lock);
}

/* Wake the waiter of @p seq, if any. */
static void waiter_wake(struct connector *c, uint64_t seq, idmefv2_delivery_status status)
{
	pthread_mutex_lock(&c->wait_lock);
	for (struct push_waiter *w = c->waiters; w; w = w->next) {
		if (w->seq == seq && !w->done) {
			w->done = true;
			w->status = status;
			pthread_cond_broadcast(&c->wait_cond);
		}
	}
	pthread_mutex_unlock(&c->wait_lock);
}

/* Wait up to @p timeout_ms for the outcome; the waiter is unlinked in any case. */
static bool waiter_wait(struct connector *c, struct push_waiter *w, unsigned timeout_ms)
{
	struct timespec until;
	bool done;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&c->wait_lock);
	while (!w->done && pthread_cond_timedwait(&c->wait_cond, &c->wait_lock, &until) != ETIMEDOUT)
		;
	done = w->done;
	for (struct push_waiter **pp = &c->waiters; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	}
	pthread_mutex_unlock(&c->wait_lock);
	return done;
}

static void on_delivered(idmefv2_pipeline *p, void *opaque, idmefv2_delivery_status status, void *user_data)
{
	struct connector *c = user_data;

	(void)p;
	/* Any outcome resolves: sent, spooled, dead-lettered or given up for good. */
	tracker_resolve(c->track, (uint64_t)(uintptr_t)opaque);
	if (c->webhook)
		waiter_wake(c, (uint64_t)(uintptr_t)opaque, status);
}

/* ---- pipeline --------------------------------------------------------------------------- */

/*
 * The ID of an input whose identity is @p prefix (where it was read) and
 * @p data (what was read): the name-based UUID of the two, concatenated
 * (docs/ids.md). Call with push_lock held (the name is built in a shared buffer).
 */
static bool input_id(struct connector *c, const char *prefix, const char *data, size_t len,
                     char id[IDMEFV2_UUID_STRLEN])
{
	size_t plen = strlen(prefix);

	if (plen + len > c->id_name_cap) {
		char *buf = realloc(c->id_name, plen + len);

		if (!buf)
			return false;
		c->id_name = buf;
		c->id_name_cap = plen + len;
	}
	memcpy(c->id_name, prefix, plen);
	if (len)
		memcpy(c->id_name + plen, data, len);
	return idmefv2_uuid_from_name(IDMEFV2_UUID_NAMESPACE, c->id_name, plen + len, id, IDMEFV2_UUID_STRLEN) ==
	       IDMEFV2_OK;
}

/* What the connector pushes: a line or an object, where it comes from, and its identity if it has one. */
struct push {
	const char *line;
	size_t len;
	struct json_object *obj;
	const char *origin;
	uint64_t lineno;
	const idmefv2_tail_position *pos;
	const char *id_prefix; /* NULL: the template's ID */
	struct file_rec *file; /* the ClamAV file read, recorded once resolved (ownership taken on success) */
	struct push_waiter *waiter; /* NULL: nobody waits for the outcome */
};

/*
 * Push and track; call with push_lock held. Returns IDMEFV2_ERR_NOMEM when
 * nothing was pushed. in->file is taken in any case.
 */
static idmefv2_error push_tracked(struct connector *c, const struct push *in, idmefv2_pipeline_result *ret_result)
{
	idmefv2_pipeline_result result = IDMEFV2_PIPELINE_INVALID;
	char id[IDMEFV2_UUID_STRLEN];
	const char *idp = NULL;
	idmefv2_error err;
	uint64_t seq;

	if (in->id_prefix) {
		if (!input_id(c, in->id_prefix, in->line, in->len, id)) {
			files_rec_free(in->file);
			return IDMEFV2_ERR_NOMEM;
		}
		idp = id;
	}
	seq = tracker_add(c->track, in->pos, in->file);
	if (!seq) {
		files_rec_free(in->file);
		return IDMEFV2_ERR_NOMEM;
	}
	if (in->waiter)
		waiter_add(c, in->waiter, seq);
	if (in->obj)
		err = idmefv2_pipeline_push_object_tracked(c->pipeline, in->obj, in->origin, in->lineno, idp,
		                                           (void *)(uintptr_t)seq, &result);
	else
		err = idmefv2_pipeline_push_line_tracked(c->pipeline, in->line, in->len, in->origin, in->lineno, idp,
		                                         (void *)(uintptr_t)seq, &result);
	/* Filtered, malformed and invalid inputs (dead-lettered if configured) have no delivery to wait for. */
	if (err != IDMEFV2_OK || result != IDMEFV2_PIPELINE_CONVERTED) {
		tracker_resolve(c->track, seq);
		if (in->waiter)
			waiter_wake(c, seq, IDMEFV2_DELIVERY_SENT);
	}
	if (ret_result)
		*ret_result = result;
	return err;
}

void conn_push_line(struct connector *c, const char *line, size_t len, const char *origin)
{
	struct push in = { .line = line, .len = len, .origin = origin };

	pthread_mutex_lock(&c->push_lock);
	if (push_tracked(c, &in, NULL) != IDMEFV2_OK)
		conn_log(c, IDMEFV2_LOG_ERROR, "%s: out of memory; line dropped", origin);
	pthread_mutex_unlock(&c->push_lock);
}

void conn_push_line_at(struct connector *c, const char *line, size_t len, const char *origin,
                       const idmefv2_tail_position *pos, const char *id_prefix)
{
	struct push in = { .line = line, .len = len, .origin = origin, .pos = pos, .id_prefix = id_prefix };

	pthread_mutex_lock(&c->push_lock);
	if (push_tracked(c, &in, NULL) != IDMEFV2_OK)
		conn_log(c, IDMEFV2_LOG_ERROR, "%s: out of memory; line dropped", origin);
	pthread_mutex_unlock(&c->push_lock);
}

idmefv2_error conn_push_object(struct connector *c, struct json_object *obj, const char *origin)
{
	idmefv2_pipeline_result result = IDMEFV2_PIPELINE_CONVERTED;
	struct push in = { .obj = obj, .origin = origin };
	char prefix[1100];
	idmefv2_error err;
	uint64_t key;

	/* An item of a poller, handed over in the main thread: its identity is its de-duplication key. */
	if (c->poller && pthread_equal(pthread_self(), c->main_thread) &&
	    idmefv2_poller_get_item_key(c->poller, &key) == IDMEFV2_OK) {
		snprintf(prefix, sizeof(prefix), "poll:%s:%016" PRIx64, c->input_path ? c->input_path : "", key);
		in.id_prefix = prefix;
	}
	pthread_mutex_lock(&c->push_lock);
	err = push_tracked(c, &in, &result);
	pthread_mutex_unlock(&c->push_lock);
	if (err)
		return err;
	return result == IDMEFV2_PIPELINE_INVALID ? IDMEFV2_ERR_INVALID : IDMEFV2_OK;
}

idmefv2_error conn_push_object_wait(struct connector *c, struct json_object *obj, const char *origin,
                                    const char *id_prefix, unsigned timeout_ms)
{
	idmefv2_pipeline_result result = IDMEFV2_PIPELINE_CONVERTED;
	struct push_waiter w = { 0 };
	struct push in = { .obj = obj, .origin = origin, .id_prefix = id_prefix, .waiter = &w };
	idmefv2_error err;

	pthread_mutex_lock(&c->push_lock);
	err = push_tracked(c, &in, &result);
	pthread_mutex_unlock(&c->push_lock);
	if (err) {
		/* Nothing pushed, or the push failed: the waiter may be linked, unlink it. */
		waiter_wait(c, &w, 0);
		return err;
	}
	if (result == IDMEFV2_PIPELINE_INVALID) {
		waiter_wait(c, &w, 0);
		return IDMEFV2_ERR_INVALID;
	}
	if (!waiter_wait(c, &w, timeout_ms)) {
		conn_log(c, IDMEFV2_LOG_WARNING, "%s: not delivered nor spooled within %u ms; answered 503 so that "
		         "it is sent again", origin, timeout_ms);
		return IDMEFV2_ERR_TIMEOUT;
	}
	if (w.status != IDMEFV2_DELIVERY_SENT && w.status != IDMEFV2_DELIVERY_SPOOLED)
		return IDMEFV2_ERR_TRANSPORT;
	return IDMEFV2_OK;
}

/* A line of the tailed file: numbered and identified by where it is in which file. */
static idmefv2_error tail_line(const char *line, size_t len, void *user_data)
{
	struct connector *c = user_data;
	idmefv2_tail_position pos;
	char prefix[96];
	struct push in = { .line = line, .len = len, .origin = c->input_path, .pos = &pos, .id_prefix = prefix };
	idmefv2_error err;

	if (idmefv2_tail_get_position(c->tail, &pos) != IDMEFV2_OK)
		return IDMEFV2_ERR_STATE;
	in.lineno = pos.line;
	snprintf(prefix, sizeof(prefix), "tail:%" PRIu64 ":%" PRIu64 ":%" PRIu64 ":", pos.dev, pos.ino, pos.offset);
	pthread_mutex_lock(&c->push_lock);
	err = push_tracked(c, &in, NULL);
	pthread_mutex_unlock(&c->push_lock);
	/* Refused: the tailer offers the same line again at its next poll. */
	return err == IDMEFV2_OK ? IDMEFV2_OK : IDMEFV2_ERR_NOMEM;
}

/*
 * clamd writes one metadata.json per scan, pretty-printed: the whole file is
 * one input, identified by its path, size and modification time (a file
 * reported twice, by a scan and by its close, gives one ID). A file recorded
 * as done with, unchanged, is not converted again (files.state).
 */
static idmefv2_error dirwatch_file(const char *path, void *user_data)
{
	struct connector *c = user_data;
	char *text = NULL, *prefix = NULL;
	size_t len = 0;
	FILE *f = fopen(path, "re"), *mem;
	struct push in = { .origin = path };
	struct stat st, again;
	char buf[8192];
	size_t n;

	if (!f) {
		/* clamd may have removed it already: nothing to convert, nothing to retry. */
		conn_log(c, IDMEFV2_LOG_WARNING, "%s: %s; skipped", path, strerror(errno));
		return IDMEFV2_OK;
	}
	if (fstat(fileno(f), &st) != 0) {
		conn_log(c, IDMEFV2_LOG_WARNING, "%s: %s; skipped", path, strerror(errno));
		fclose(f);
		return IDMEFV2_OK;
	}
	if (files_state_known(c, path, &st)) {
		conn_log(c, IDMEFV2_LOG_DEBUG, "%s: already converted and resolved; skipped", path);
		fclose(f);
		return IDMEFV2_OK;
	}
	if (asprintf(&prefix, "file:%s:%jd:%jd.%09ld:", path, (intmax_t)st.st_size, (intmax_t)st.st_mtim.tv_sec,
	             st.st_mtim.tv_nsec) < 0)
		prefix = NULL;
	mem = open_memstream(&text, &len);
	if (!mem) {
		fclose(f);
		free(prefix);
		return IDMEFV2_ERR_NOMEM;
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, mem);
	if (fclose(mem) != 0) {
		fclose(f);
		free(text);
		free(prefix);
		return IDMEFV2_ERR_NOMEM;
	}
	/*
	 * Written while read (a scan of a new directory meets files being
	 * written): the identity would not match the bytes. The writer's close
	 * reports it again, complete.
	 */
	if (fstat(fileno(f), &again) != 0 || again.st_size != st.st_size || (size_t)st.st_size != len ||
	    again.st_mtim.tv_sec != st.st_mtim.tv_sec || again.st_mtim.tv_nsec != st.st_mtim.tv_nsec) {
		conn_log(c, IDMEFV2_LOG_DEBUG, "%s: changed while read; converted once written", path);
		fclose(f);
		free(text);
		free(prefix);
		return IDMEFV2_OK;
	}
	fclose(f);
	in.line = text;
	in.len = len;
	in.id_prefix = prefix;
	in.file = c->files ? files_rec_new(path, &st) : NULL;
	pthread_mutex_lock(&c->push_lock);
	if (push_tracked(c, &in, NULL) != IDMEFV2_OK)
		conn_log(c, IDMEFV2_LOG_ERROR, "%s: out of memory; file dropped", path);
	pthread_mutex_unlock(&c->push_lock);
	free(prefix);
	free(text);
	return IDMEFV2_OK;
}

/* ---- set-up ----------------------------------------------------------------------------- */

static int setup_logging(struct connector *c, bool foreground)
{
	const char *level = cfg_get(c, "logging", "level");
	bool use_syslog;
	size_t i;

	if (level && *level) {
		for (i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++)
			if (strcasecmp(level, log_levels[i].name) == 0)
				break;
		if (i == sizeof(log_levels) / sizeof(log_levels[0])) {
			conn_log(c, IDMEFV2_LOG_ERROR,
			         "%s: [logging] level: '%s' is not DEBUG, INFO, WARNING, ERROR or CRITICAL", c->conf_path,
			         level);
			return -1;
		}
		c->level = log_levels[i].level;
	}
	if (cfg_bool(c, "logging", "syslog", false, &use_syslog) != 0)
		return -1;
	if (cfg_uint(c, "logging", "stats_interval", 0, 0, 86400 * 7, &c->stats_interval) != 0)
		return -1;
	if (cfg_get(c, "logging", "file") && *cfg_get(c, "logging", "file")) {
		c->log_path = strdup(cfg_get(c, "logging", "file"));
		if (!c->log_path || log_reopen(c) != 0)
			return -1;
	}
	/* A detached daemon has no terminal: syslog unless it logs to a file. */
	c->log_syslog = use_syslog || (!foreground && !c->log_path);
	if (c->log_syslog)
		openlog(c->ident, LOG_PID, LOG_DAEMON);
	return 0;
}

static int setup_pipeline(struct connector *c)
{
	const char *tmpl = cfg_get(c, "idmefv2", "template");
	const char *version = cfg_get(c, "idmefv2", "version");
	const char *dead = cfg_get(c, "idmefv2", "dead_letter");
	char errstr[1024] = "";

	if (tmpl && *tmpl) {
		if (idmefv2_mapping_load_file(tmpl, &c->mapping, errstr, sizeof(errstr)) != IDMEFV2_OK)
			goto fail;
		c->template_origin = strdup(tmpl);
	} else if (idmefv2_mapping_load_tool(c->tool->name, &c->mapping, &c->template_origin, errstr,
	                                     sizeof(errstr)) != IDMEFV2_OK) {
		goto fail;
	}
	c->version = strdup(version && *version ? version : IDMEFV2_VERSION_LATEST);
	if (!c->version || !c->template_origin)
		goto nomem;
	if (idmefv2_pipeline_new(c->mapping, c->version, &c->pipeline, errstr, sizeof(errstr)) != IDMEFV2_OK) {
		conn_log(c, IDMEFV2_LOG_ERROR, "%s: [idmefv2] version: %s", c->conf_path, errstr);
		return -1;
	}
	idmefv2_pipeline_set_log_cb(c->pipeline, conn_log_cb, c);
	idmefv2_mapping_set_log_cb(c->mapping, conn_log_cb, c);
	c->track = tracker_new();
	if (!c->track)
		goto nomem;
	idmefv2_pipeline_set_delivery_cb(c->pipeline, on_delivered, c);
	if (dead && *dead &&
	    idmefv2_pipeline_set_dead_letter(c->pipeline, dead, errstr, sizeof(errstr)) != IDMEFV2_OK) {
		conn_log(c, IDMEFV2_LOG_ERROR, "%s: [idmefv2] dead_letter: %s", c->conf_path, errstr);
		return -1;
	}
	return 0;
fail:
	conn_log(c, IDMEFV2_LOG_ERROR, "%s", errstr);
	return -1;
nomem:
	conn_log(c, IDMEFV2_LOG_ERROR, "out of memory");
	return -1;
}

static int transport_set(struct connector *c, const char *section, const char *name, const char *value)
{
	char errstr[512] = "";

	if (idmefv2_transport_set(c->transport, name, value, errstr, sizeof(errstr)) != IDMEFV2_OK) {
		conn_log(c, IDMEFV2_LOG_ERROR, "%s: [%s] %s: %s", c->conf_path, section, name, errstr);
		return -1;
	}
	return 0;
}

/*
 * The files the transport reads when it starts, checked now so that
 * --check-config finds a missing CA file, not the first connection.
 */
static int cfg_check_transport_files(struct connector *c)
{
	static const struct {
		const char *key;
		bool dir;
	} files[] = { { "tls.ca_file", false }, { "tls.ca_dir", true }, { "tls.cert", false }, { "tls.key", false } };

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		const char *path = cfg_get(c, "transport", files[i].key);
		struct stat st;
		const char *why = NULL;

		if (!path || !*path)
			continue;
		if (stat(path, &st) != 0)
			why = strerror(errno);
		else if (files[i].dir && !S_ISDIR(st.st_mode))
			why = "not a directory";
		else if (!files[i].dir && !S_ISREG(st.st_mode))
			why = "not a regular file";
		else if (access(path, files[i].dir ? R_OK | X_OK : R_OK) != 0)
			why = strerror(errno);
		if (why) {
			conn_log(c, IDMEFV2_LOG_ERROR, "%s: [transport] %s: %s: %s", c->conf_path, files[i].key, path, why);
			return -1;
		}
	}
	return 0;
}

static int setup_output(struct connector *c, bool check_only)
{
	const char *url = cfg_require(c, "idmefv2", "url");
	const char *login = cfg_get(c, "idmefv2", "login"), *password = cfg_get(c, "idmefv2", "password");
	bool verify, spool_set = false;
	char errstr[512] = "";

	if (!url)
		return -1;
	c->url = strdup(url);
	if (!c->url)
		return -1;
	if (idmefv2_transport_new(url, IDMEFV2_TRANSPORT_SENDER, &c->transport, errstr, sizeof(errstr)) !=
	    IDMEFV2_OK) {
		conn_log(c, IDMEFV2_LOG_ERROR, "%s: [idmefv2] url: %s", c->conf_path, errstr);
		return -1;
	}
	idmefv2_transport_set_log_cb(c->transport, conn_log_cb, c);
	if (login && *login && password && *password) {
		if (transport_set(c, "idmefv2", "auth.username", login) ||
		    transport_set(c, "idmefv2", "auth.password", password))
			return -1;
	} else if ((login && *login) || (password && *password)) {
		conn_log(c, IDMEFV2_LOG_WARNING, "%s: [idmefv2] login and password go together; neither is used",
		         c->conf_path);
	}
	if (cfg_bool(c, "idmefv2", "verify", true, &verify) != 0)
		return -1;
	/* The Python connectors' files set verify = false with http:// URLs too: meaningless there, not wrong. */
	if (!verify && idmefv2_transport_set(c->transport, "tls.verify", "false", errstr, sizeof(errstr)) != IDMEFV2_OK)
		conn_log(c, IDMEFV2_LOG_WARNING, "%s: [idmefv2] verify = false has no effect on %s (%s); ignored",
		         c->conf_path, url, errstr);
	/* Every transport option, by its own name. */
	for (size_t i = 0; i < c->cfg_count; i++) {
		struct cfg_entry *e = &c->cfg[i];

		if (strcasecmp(e->section, "transport") != 0)
			continue;
		e->used = true;
		if (strcmp(e->key, "spool.dir") == 0) {
			spool_set = true;
			if (!*e->value || strcasecmp(e->value, "none") == 0)
				continue;
		}
		if (transport_set(c, "transport", e->key, e->value))
			return -1;
	}
	if (cfg_check_transport_files(c) != 0)
		return -1;
	/* Spooling by default: a SIEM restart or a broker outage must not lose alerts. */
	if (!spool_set && !check_only) {
		char *spool = NULL;

		if (asprintf(&spool, "%s/spool", c->state_dir) < 0)
			return -1;
		if (mkdir(spool, 0750) != 0 && errno != EEXIST) {
			conn_log(c, IDMEFV2_LOG_ERROR, "cannot create spool directory %s: %s", spool, strerror(errno));
			free(spool);
			return -1;
		}
		if (transport_set(c, "state", "spool.dir", spool)) {
			free(spool);
			return -1;
		}
		free(spool);
	}
	idmefv2_pipeline_set_transport(c->pipeline, c->transport);
	return 0;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char *p = strdup(path);
	int rc = 0;

	if (!p)
		return -1;
	for (char *s = p + 1; *s && rc == 0; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) != 0 && errno != EEXIST)
			rc = -1;
		*s = '/';
	}
	if (rc == 0 && mkdir(p, mode) != 0 && errno != EEXIST)
		rc = -1;
	free(p);
	return rc;
}

/*
 * --check-config creates nothing: the state directory must be a writable
 * directory, or the nearest existing ancestor one in which it can be created.
 */
static int state_dir_check(struct connector *c)
{
	char *p = strdup(c->state_dir), *slash;
	const char *why = NULL;
	struct stat st;
	int rc = 0;

	if (!p)
		return -1;
	for (;;) {
		if (stat(p, &st) == 0) {
			if (!S_ISDIR(st.st_mode))
				why = "not a directory";
			else if (access(p, W_OK | X_OK) != 0)
				why = strerror(errno);
			break;
		}
		if (errno != ENOENT) {
			why = strerror(errno);
			break;
		}
		slash = strrchr(p, '/');
		if (!slash) {
			/* A relative path: created in the working directory. */
			strcpy(p, ".");
		} else if (slash == p) {
			p[1] = '\0';
		} else {
			*slash = '\0';
		}
	}
	if (why) {
		conn_log(c, IDMEFV2_LOG_ERROR, "%s: [state] dir: cannot create or write %s: %s: %s", c->conf_path,
		         c->state_dir, p, why);
		rc = -1;
	}
	free(p);
	return rc;
}

static int setup_state(struct connector *c, bool check_only)
{
	const char *dir = cfg_get(c, "state", "dir");

	if (dir && *dir)
		c->state_dir = strdup(dir);
	else if (asprintf(&c->state_dir, "%s/%s", CONNECTOR_STATE_ROOT, c->tool->name) < 0)
		c->state_dir = NULL;
	if (!c->state_dir)
		return -1;
	if (check_only)
		return state_dir_check(c);
	if (mkdir_p(c->state_dir, 0750) != 0) {
		conn_log(c, IDMEFV2_LOG_ERROR, "%s: [state] dir: cannot create %s: %s", c->conf_path, c->state_dir,
		         strerror(errno));
		return -1;
	}
	return 0;
}

static char *state_file(struct connector *c, const char *name)
{
	char *path = NULL;

	if (asprintf(&path, "%s/%s", c->state_dir, name) < 0)
		return NULL;
	return path;
}

static int setup_input(struct connector *c, bool check_only)
{
	const struct connector_tool *t = c->tool;
	const char *path;
	unsigned max_line;
	bool from_beginning, unix_stream = false;

	if (t->input == CONNECTOR_PROMETHEUS || t->input == CONNECTOR_KISMET || t->input == CONNECTOR_ZABBIX) {
		if (pollers_setup(c, check_only) != 0)
			return -1;
		/* Keys are saved by checkpoint(), once every alert they hide is delivered or spooled. */
		if (c->poller)
			idmefv2_poller_set_autosave(c->poller, false);
		return 0;
	}
	if (t->input == CONNECTOR_SURICATA) {
		const char *type = cfg_get(c, t->section, "filetype");

		if ((!type || !*type) && cfg_get(c, t->section, "config")) {
			conn_log(c, IDMEFV2_LOG_ERROR,
			         "%s: [suricata] config (suricata.yaml) is the connector's old format: set filetype = "
			         "regular and filename = the eve-log file instead",
			         c->conf_path);
			return -1;
		}
		if (!type || !*type) {
			conn_log(c, IDMEFV2_LOG_ERROR, "%s: [suricata] filetype is required (regular or unix_stream)",
			         c->conf_path);
			return -1;
		}
		if (strcmp(type, "unix_stream") == 0) {
			unix_stream = true;
		} else if (strcmp(type, "regular") != 0) {
			conn_log(c, IDMEFV2_LOG_ERROR, "%s: [suricata] filetype: '%s' is not regular or unix_stream",
			         c->conf_path, type);
			return -1;
		}
	}
	path = cfg_require(c, t->section, t->path_key);
	if (!path)
		return -1;
	c->input_path = strdup(path);
	if (!c->input_path)
		return -1;
	if (t->input == CONNECTOR_DIRWATCH) {
		c->dirwatch = idmefv2_dirwatch_new(path);
		if (!c->dirwatch)
			return -1;
		idmefv2_dirwatch_set_log_cb(c->dirwatch, conn_log_cb, c);
		idmefv2_dirwatch_set_file_cb(c->dirwatch, dirwatch_file, c);
		idmefv2_dirwatch_set_pattern(c->dirwatch, "metadata.json");
		if (check_only)
			return 0;
		/* Every file not known to be done with is reported at start: those in memory at a crash too. */
		idmefv2_dirwatch_set_report_existing(c->dirwatch, true);
		return files_state_setup(c, path, "metadata.json");
	}
	if (cfg_bool(c, "input", "from_beginning", false, &from_beginning) != 0 ||
	    cfg_uint(c, "input", "max_line", IDMEFV2_TAIL_DEFAULT_MAX_LINE, 64, 1U << 30, &max_line) != 0)
		return -1;
	if (unix_stream)
		return unix_input_setup(c, path, max_line);
	c->tail = idmefv2_tail_new(path);
	if (!c->tail)
		return -1;
	idmefv2_tail_set_log_cb(c->tail, conn_log_cb, c);
	idmefv2_tail_set_line_cb(c->tail, tail_line, c);
	idmefv2_tail_set_from_beginning(c->tail, from_beginning);
	idmefv2_tail_set_max_line(c->tail, max_line);
	if (!check_only) {
		char *state = state_file(c, "tail.state");

		if (!state)
			return -1;
		idmefv2_tail_set_state_file(c->tail, state);
		free(state);
	}
	return 0;
}

static int start_input(struct connector *c)
{
	char errstr[1024] = "";

	if (c->tail) {
		conn_log(c, IDMEFV2_LOG_INFO, "tailing %s", c->input_path);
		if (idmefv2_tail_start(c->tail, errstr, sizeof(errstr)) != IDMEFV2_OK)
			goto fail;
	} else if (c->dirwatch) {
		conn_log(c, IDMEFV2_LOG_INFO, "watching %s for metadata.json", c->input_path);
		if (idmefv2_dirwatch_start(c->dirwatch, errstr, sizeof(errstr)) != IDMEFV2_OK)
			goto fail;
	} else if (c->unix_in) {
		return unix_input_start(c);
	} else {
		return pollers_start(c);
	}
	return 0;
fail:
	conn_log(c, IDMEFV2_LOG_ERROR, "%s", errstr);
	return -1;
}

/* ---- running ---------------------------------------------------------------------------- */

static void log_counters(struct connector *c, const char *when)
{
	idmefv2_pipeline_counters pc;
	idmefv2_transport_counters tc = { 0 };

	idmefv2_pipeline_get_counters(c->pipeline, &pc);
	if (c->transport)
		idmefv2_transport_get_counters(c->transport, &tc);
	conn_log(c, IDMEFV2_LOG_INFO,
	         "%s: read %" PRIu64 ", converted %" PRIu64 ", filtered %" PRIu64 ", malformed %" PRIu64
	         ", invalid %" PRIu64 ", sent %" PRIu64 ", failed %" PRIu64 ", retried %" PRIu64
	         ", spooled %" PRIu64,
	         when, pc.read, pc.converted, pc.filtered, pc.malformed, pc.invalid, pc.sent, pc.failed, tc.retried,
	         tc.spooled);
	if (c->tail) {
		idmefv2_tail_counters t;

		idmefv2_tail_get_counters(c->tail, &t);
		conn_log(c, IDMEFV2_LOG_INFO,
		         "%s: %s: lines %" PRIu64 ", bytes %" PRIu64 ", rotations %" PRIu64 ", truncations %" PRIu64
		         ", skipped %" PRIu64,
		         when, c->input_path, t.lines, t.bytes, t.rotations, t.truncations, t.skipped);
	}
	if (c->dirwatch) {
		idmefv2_dirwatch_counters d;

		idmefv2_dirwatch_get_counters(c->dirwatch, &d);
		conn_log(c, IDMEFV2_LOG_INFO,
		         "%s: %s: files %" PRIu64 ", directories watched %" PRIu64 ", overflows %" PRIu64, when,
		         c->input_path, d.files, d.dirs_watched, d.overflows);
	}
	if (c->unix_in)
		unix_input_log_counters(c, when);
	pollers_log_counters(c);
}

/*
 * Save the input state, covering only inputs whose messages are delivered, on
 * disk or resolved for good:
 *  - tail: when every line pushed is resolved, the read position (which also
 *    covers empty and skipped lines); else just after the last line of the
 *    resolved prefix;
 *  - Suricata socket: the journal position after the last line of the
 *    resolved prefix, or all of it when every line pushed is resolved;
 *  - pollers: their keys, only when every input pushed is resolved (a key
 *    saved for an alert still in memory would hide it after a crash).
 * Nothing is written when nothing changed since the last save.
 */
static void checkpoint(struct connector *c)
{
	idmefv2_tail_position pos = { 0 };
	char errstr[512] = "";
	bool idle, moved = tracker_advance(c, c->track, &pos, &idle);
	uint64_t pushed;

	files_state_checkpoint(c);
	pthread_mutex_lock(&c->track->lock);
	pushed = c->track->next;
	pthread_mutex_unlock(&c->track->lock);
	if (idle && pushed == c->checkpointed)
		return;
	if (c->tail) {
		idmefv2_error err = IDMEFV2_OK;

		if (idle)
			err = idmefv2_tail_checkpoint(c->tail, errstr, sizeof(errstr));
		else if (moved && pos.end)
			err = idmefv2_tail_checkpoint_at(c->tail, &pos, errstr, sizeof(errstr));
		if (err != IDMEFV2_OK)
			conn_log(c, IDMEFV2_LOG_ERROR, "cannot save the tail state: %s", errstr);
	}
	if (c->unix_in)
		unix_input_checkpoint(c, moved && pos.end ? &pos : NULL, idle);
	if (c->poller && idle && idmefv2_poller_checkpoint(c->poller, errstr, sizeof(errstr)) != IDMEFV2_OK)
		conn_log(c, IDMEFV2_LOG_ERROR, "cannot save the poller state: %s", errstr);
	if (idle)
		c->checkpointed = pushed;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The period of state saves while running (each save covers only what is delivered or on disk). */
#define CHECKPOINT_MS 1000

static int run(struct connector *c, int sfd)
{
	int64_t next_stats = c->stats_interval ? now_ms() + (int64_t)c->stats_interval * 1000 : -1;
	int64_t next_checkpoint = now_ms() + CHECKPOINT_MS;

	for (;;) {
		struct pollfd fds[40];
		size_t nfds = 0, in_first;
		int64_t timeout = 1000, now;
		struct signalfd_siginfo si;

		fds[nfds++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		in_first = nfds;
		if (c->tail)
			fds[nfds++] = (struct pollfd){ .fd = idmefv2_tail_get_fd(c->tail), .events = POLLIN };
		if (c->dirwatch)
			fds[nfds++] = (struct pollfd){ .fd = idmefv2_dirwatch_get_fd(c->dirwatch), .events = POLLIN };
		if (c->unix_in)
			nfds += unix_input_fds(c, fds + nfds, sizeof(fds) / sizeof(fds[0]) - nfds);
		if (c->poller) {
			int64_t due = idmefv2_poller_get_next_ms(c->poller);

			if (due >= 0 && due < timeout)
				timeout = due;
		}
		if (poll(fds, nfds, (int)timeout) < 0 && errno != EINTR) {
			conn_log(c, CONNECTOR_LOG_CRITICAL, "poll: %s", strerror(errno));
			return -1;
		}
		while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			switch (si.ssi_signo) {
			case SIGTERM:
			case SIGINT:
				conn_log(c, IDMEFV2_LOG_INFO, "%s: stopping", strsignal((int)si.ssi_signo));
				return 0;
			case SIGHUP:
				log_reopen(c);
				conn_log(c, IDMEFV2_LOG_INFO, "SIGHUP: log file reopened");
				break;
			case SIGUSR1:
				log_counters(c, "counters");
				break;
			default:
				break;
			}
		}
		/* A read error is logged by the tailer, once, and retried there. */
		if (c->tail)
			idmefv2_tail_poll(c->tail, 0, NULL);
		if (c->dirwatch)
			idmefv2_dirwatch_poll(c->dirwatch, 0, NULL);
		if (c->unix_in)
			unix_input_handle(c, fds + in_first, nfds - in_first);
		if (c->poller && idmefv2_poller_get_next_ms(c->poller) == 0)
			pollers_poll(c);
		now = now_ms();
		if (now >= next_checkpoint) {
			checkpoint(c);
			next_checkpoint = now + CHECKPOINT_MS;
		}
		if (next_stats >= 0 && now >= next_stats) {
			log_counters(c, "counters");
			next_stats = now + (int64_t)c->stats_interval * 1000;
		}
	}
}

/* ---- --once ----------------------------------------------------------------------------- */

static idmefv2_error once_output(idmefv2_pipeline *p, struct json_object *output, void *user_data)
{
	const char *text = json_object_to_json_string_ext(output, JSON_C_TO_STRING_PLAIN |
	                                                              JSON_C_TO_STRING_NOSLASHESCAPE);

	(void)p;
	(void)user_data;
	if (!text || fputs(text, stdout) == EOF || fputc('\n', stdout) == EOF)
		return IDMEFV2_ERR_IO;
	return IDMEFV2_OK;
}

static int run_once(struct connector *c, const char *path)
{
	idmefv2_pipeline_counters pc;
	char errstr[512] = "";
	FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
	int rc;

	if (!in) {
		conn_log(c, IDMEFV2_LOG_ERROR, "%s: %s", path, strerror(errno));
		return EXIT_CONFIG;
	}
	idmefv2_pipeline_set_output_cb(c->pipeline, once_output, c);
	rc = tool__convert_stream(c->pipeline, in, path, c->tool->items_path, errstr, sizeof(errstr));
	if (in != stdin)
		fclose(in);
	if (fflush(stdout) != 0) {
		conn_log(c, IDMEFV2_LOG_ERROR, "standard output: %s", strerror(errno));
		return EXIT_RUNTIME;
	}
	if (rc != 0) {
		conn_log(c, IDMEFV2_LOG_ERROR, "%s", errstr);
		return EXIT_CONFIG;
	}
	idmefv2_pipeline_get_counters(c->pipeline, &pc);
	fprintf(stderr, "%" PRIu64 " alerts: %" PRIu64 " converted, %" PRIu64 " filtered, %" PRIu64
	        " malformed, %" PRIu64 " invalid\n",
	        pc.read, pc.converted, pc.filtered, pc.malformed, pc.invalid);
	return (pc.malformed || pc.invalid || pc.failed) ? EXIT_RUNTIME : EXIT_SUCCESS;
}

/* ---- daemon ----------------------------------------------------------------------------- */

/*
 * Detach, but let the parent exit only once the child has started (or
 * failed), so that `idmefv2-connector TOOL -c FILE` reports start-up errors
 * on the terminal and with its exit status.
 */
static int detach(int *ret_ready_fd)
{
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) != 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0) {
		char status = 1;

		close(fds[1]);
		if (read(fds[0], &status, 1) != 1)
			status = 1;
		_exit(status);
	}
	close(fds[0]);
	if (setsid() < 0)
		return -1;
	{
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
			if (null > STDERR_FILENO)
				close(null);
		}
	}
	*ret_ready_fd = fds[1];
	return 0;
}

static void report_ready(int *fd, char status)
{
	if (*fd < 0)
		return;
	if (write(*fd, &status, 1) != 1) {
		/* The parent is gone: nobody to tell. */
	}
	close(*fd);
	*fd = -1;
}

static int write_pid_file(struct connector *c, const char *path)
{
	FILE *f = fopen(path, "we");

	if (!f || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0) {
		conn_log(c, IDMEFV2_LOG_ERROR, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static void connector_free(struct connector *c)
{
	pollers_free(c);
	unix_input_free(c);
	idmefv2_tail_free(c->tail);
	idmefv2_dirwatch_free(c->dirwatch);
	idmefv2_transport_free(c->transport);
	tracker_free(c->track);
	files_state_free(c);
	free(c->id_name);
	idmefv2_pipeline_free(c->pipeline);
	idmefv2_mapping_free(c->mapping);
	for (size_t i = 0; i < c->cfg_count; i++) {
		free(c->cfg[i].section);
		free(c->cfg[i].key);
		free(c->cfg[i].value);
	}
	free(c->cfg);
	free(c->template_origin);
	free(c->version);
	free(c->url);
	free(c->state_dir);
	free(c->input_path);
	if (c->log_fp)
		fclose(c->log_fp);
	free(c->log_path);
	if (c->log_syslog)
		closelog();
	pthread_mutex_destroy(&c->log_lock);
	pthread_mutex_destroy(&c->push_lock);
	pthread_mutex_destroy(&c->wait_lock);
	pthread_cond_destroy(&c->wait_cond);
}

static int bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int bad_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, CONNECTOR_PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '" CONNECTOR_PROG " --help'.\n");
	return EXIT_CONFIG;
}

int main(int argc, char **argv)
{
	struct connector c = { 0 };
	const char *once = NULL, *pid_file = NULL;
	bool foreground = false, check = false;
	int opt, status = EXIT_CONFIG, sfd = -1, ready_fd = -1;
	char names[256];
	sigset_t mask;

	c.level = IDMEFV2_LOG_INFO;
	c.log_stderr = true;
	c.main_thread = pthread_self();
	pthread_mutex_init(&c.log_lock, NULL);
	pthread_mutex_init(&c.push_lock, NULL);
	pthread_mutex_init(&c.wait_lock, NULL);
	{
		pthread_condattr_t ca;

		/* Waits are bounded on the monotonic clock: a clock change neither shortens nor extends them. */
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&c.wait_cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	snprintf(c.ident, sizeof(c.ident), CONNECTOR_PROG);
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":c:fp:n1:lhV", long_options, NULL)) != -1) {
		switch (opt) {
		case 'c': c.conf_path = optarg; break;
		case 'f': foreground = true; break;
		case 'p': pid_file = optarg; break;
		case 'n': check = true; break;
		case '1': once = optarg; break;
		case 'l':
			for (const struct connector_tool *t = tool__connectors; t->name; t++)
				printf("%-12s %s\n", t->name, t->title);
			status = EXIT_SUCCESS;
			goto out;
		case 'h':
			fputs(usage_text, stdout);
			status = EXIT_SUCCESS;
			goto out;
		case 'V':
			printf(CONNECTOR_PROG " %s\n", IDMEFV2_PROJECT_VERSION);
			status = EXIT_SUCCESS;
			goto out;
		case ':':
			status = bad_usage("option '%s' needs a value", argv[optind - 1]);
			goto out;
		default:
			status = bad_usage("unknown option '%s'", argv[optind - 1]);
			goto out;
		}
	}
	tool__connector_names(names, sizeof(names));
	if (optind >= argc) {
		status = bad_usage("missing TOOL (one of: %s)", names);
		goto out;
	}
	if (argc - optind > 1) {
		status = bad_usage("unexpected argument '%s'", argv[optind + 1]);
		goto out;
	}
	c.tool = tool__connector_find(argv[optind]);
	if (!c.tool) {
		fprintf(stderr, CONNECTOR_PROG ": unknown tool '%s' (one of: %s)\n", argv[optind], names);
		goto out;
	}
	snprintf(c.ident, sizeof(c.ident), "%s-connector", c.tool->name);
	if (!c.conf_path && !once) {
		status = bad_usage("missing -c FILE (the %s connector's configuration)", c.tool->name);
		goto out;
	}
	if (c.conf_path && cfg_load(&c) != 0)
		goto out;

	if (once) {
		/* Only what shapes the output counts here; the rest of the file is not checked. */
		if (setup_logging(&c, true) != 0 || setup_pipeline(&c) != 0)
			goto out;
		status = run_once(&c, once);
		goto out;
	}
	if (setup_logging(&c, foreground || check) != 0 || setup_state(&c, check) != 0 ||
	    setup_pipeline(&c) != 0 || setup_output(&c, check) != 0 || setup_input(&c, check) != 0)
		goto out;
	cfg_warn_unused(&c);
	if (check) {
		printf("%s: OK: %s connector, %s %s, template %s, Version %s, to %s\n", c.conf_path, c.tool->name,
		       c.tool->input == CONNECTOR_DIRWATCH ? "watching" :
		       (c.poller || c.zabbix || c.tool->input >= CONNECTOR_PROMETHEUS) ? "from" : "reading",
		       c.input_path ? c.input_path : "?", c.template_origin, c.version, c.url);
		status = EXIT_SUCCESS;
		goto out;
	}

	/* Signals are read from a descriptor; every thread started below inherits the mask. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0) {
		conn_log(&c, CONNECTOR_LOG_CRITICAL, "signalfd: %s", strerror(errno));
		status = EXIT_RUNTIME;
		goto out;
	}
	if (!foreground) {
		if (detach(&ready_fd) != 0) {
			conn_log(&c, CONNECTOR_LOG_CRITICAL, "cannot detach: %s", strerror(errno));
			status = EXIT_RUNTIME;
			goto out;
		}
		c.log_stderr = false;
	}
	if (pid_file && write_pid_file(&c, pid_file) != 0) {
		status = EXIT_RUNTIME;
		goto out;
	}
	{
		char errstr[1024] = "";

		/* The state may advance past a message once it is on disk, not only once delivered. */
		if (transport_set(&c, "transport", "delivery.report_spooled", "true") != 0) {
			status = EXIT_RUNTIME;
			goto out;
		}
		if (idmefv2_transport_start(c.transport, errstr, sizeof(errstr)) != IDMEFV2_OK) {
			conn_log(&c, CONNECTOR_LOG_CRITICAL, "%s: %s", c.url, errstr);
			status = EXIT_RUNTIME;
			goto out;
		}
	}
	if (start_input(&c) != 0) {
		status = EXIT_RUNTIME;
		goto out;
	}
	conn_log(&c, IDMEFV2_LOG_INFO, "%s connector started (%s, template %s, Version %s) sending to %s",
	         c.tool->name, IDMEFV2_PROJECT_VERSION, c.template_origin, c.version, c.url);
	report_ready(&ready_fd, 0);
	status = run(&c, sfd) == 0 ? EXIT_SUCCESS : EXIT_RUNTIME;

	/* Inputs first, so nothing new arrives; then deliver or spool; then save positions. */
	pollers_stop(&c);
	unix_input_stop(&c);
	if (idmefv2_transport_stop(c.transport) != IDMEFV2_OK)
		conn_log(&c, IDMEFV2_LOG_WARNING, "the transport did not stop cleanly");
	checkpoint(&c);
	log_counters(&c, "stopped");
out:
	report_ready(&ready_fd, (char)status);
	if (sfd >= 0)
		close(sfd);
	if (pid_file && status == EXIT_SUCCESS && !check && !once)
		unlink(pid_file);
	connector_free(&c);
	return status;
}
