/* SPDX-License-Identifier: Apache-2.0 */
/* idmefv2 send: deliver messages from files or standard input through a transport. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include <idmefv2/message.h>
#include <idmefv2/transport.h>

#include "idmefv2-common.h"
#include "idmefv2-tool.h"

#define CMD "send"

const char tool__send_help[] =
	"Usage: idmefv2 send [OPTIONS] URL [FILE...|-]\n"
	"\n"
	"Send IDMEFv2 messages to URL: http://HOST:PORT/PATH, https://..., \n"
	"kafka://BROKER[,BROKER...]/TOPIC or file:///DIR. Each FILE holds one JSON\n"
	"message or NDJSON (one message per line); with no FILE, or -, standard input.\n"
	"Messages are validated before they are queued (unless -o validate=false); an\n"
	"invalid or malformed one is reported as FILE:LINE: REASON and not sent.\n"
	"Delivery is asynchronous with retries. When the send queue is full, reading\n"
	"waits for room (unless -o queue.timeout_ms=N is given); with a spool\n"
	"(-o spool.dir=DIR) messages overflow to disk instead. At the end the command\n"
	"waits for every message's outcome, up to --timeout, and prints on standard error\n"
	"  N messages: N sent, N failed[ (REASON: N; ...)], N invalid[, N spooled]\n"
	"  [; from the spool: N sent, N failed]\n"
	"where spooled messages are safe on disk and are sent by the next run using the\n"
	"same spool, even one given no FILE (idmefv2 send URL /dev/null). A message given\n"
	"up after -o retry.max retries goes to -o dead_letter=FILE if set (counted\n"
	"failed), else stays in the spool if one is set (counted spooled).\n"
	"On a terminal a progress line is shown while sending.\n"
	"\n"
	"Options:\n"
	"  -o, --option NAME=VALUE  set a transport option (repeatable), e.g.\n"
	"                           -o tls.ca_file=ca.pem -o spool.dir=/var/spool/idmefv2\n"
	"      --list-options       list every transport option with its default\n"
	"      --state FILE         resume: FILE records, per input file (device, inode\n"
	"                           and path), the offset up to which every message is\n"
	"                           delivered or spooled; a later run with the same FILE\n"
	"                           skips that part and sends the rest. Saved atomically\n"
	"                           10 times a second and at exit (SIGTERM/SIGINT too)\n"
	"      --timeout SECONDS    how long to wait for outstanding deliveries at the\n"
	"                           end (default 60; 0 waits forever)\n"
	"  -q, --quiet              print only the final counts\n"
	"  -h, --help               show this help and exit\n"
	"\n"
	"Secrets: rather than -o auth.password=..., -o auth.bearer_token=... or\n"
	"-o tls.key_password=..., which ps shows, give -o auth.password_file=FILE (and\n"
	"auth.bearer_token_file, tls.key_password_file: the file's first line; a file\n"
	"others can read is refused) or set IDMEFV2_AUTH_PASSWORD,\n"
	"IDMEFV2_AUTH_BEARER_TOKEN or IDMEFV2_TLS_KEY_PASSWORD. An option wins over its\n"
	"file, which wins over the environment.\n"
	"\n"
	"Exit status:\n"
	"  0  every message was delivered or is kept in the spool for a later run\n"
	"  1  some message was invalid, refused, rejected or failed (even if written\n"
	"     to the dead-letter file)\n"
	"  2  usage error, unreadable input or state file, or the transport could not\n"
	"     start\n";

enum {
	OPT_LIST_OPTIONS = 256,
	OPT_TIMEOUT,
	OPT_STATE,
};

static const struct option send_options[] = {
	{ "option", required_argument, NULL, 'o' },
	{ "list-options", no_argument, NULL, OPT_LIST_OPTIONS },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "state", required_argument, NULL, OPT_STATE },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/*
 * Every message read gets a record: where it ends in its file, and whether it
 * is resolved (delivered, safe in the spool, rejected for good, dead-lettered,
 * or invalid: nothing a rerun could do better). The opaque given to send() is
 * the record's number plus one; replays from the spool come back with NULL.
 * Records live in fixed chunks, so that delivery threads can mark them while
 * the reader adds more.
 */
#define REC_CHUNK_BITS 16
#define REC_CHUNK ((size_t)1 << REC_CHUNK_BITS)
#define REC_CHUNKS 65536

struct rec {
	uint64_t end;       /* offset just past the message in its file */
	atomic_bool resolved;
};

/* One input file, and what the state file says about it. */
struct input {
	char *path;         /* as saved: the real path, or "-" */
	uint64_t dev;
	uint64_t ino;
	uint64_t offset;    /* covered: saved, or to save */
	uint64_t size;      /* bytes read */
	size_t first_rec;   /* its records: [first_rec, first_rec + n_recs) */
	size_t n_recs;
	size_t covered;     /* its records known resolved, from the first */
	bool complete;      /* read to the end and every message handed over */
	bool current;       /* given in this run */
};

#define MAX_REASONS 6

struct send_ctx {
	idmefv2_transport *t;
	bool quiet;
	bool progress;
	bool progress_shown;
	bool dead_letter; /* FAILED messages are in the dead-letter file */
	double last_progress;
	double started;
	size_t messages;
	size_t invalid;
	size_t refused; /* send() said no: queue or spool full, spool write failed */
	atomic_size_t sent;
	atomic_size_t failed;
	/* Outcomes of messages an earlier run left in the spool (they carry no opaque). */
	atomic_size_t replayed_sent;
	atomic_size_t replayed_failed;

	/* Why messages failed: the first few distinct reasons, with counts. */
	pthread_mutex_t reasons_lock;
	char *reasons[MAX_REASONS];
	size_t reason_counts[MAX_REASONS];
	size_t other_reasons;

	struct rec *recs[REC_CHUNKS];
	size_t n_recs;

	const char *state_path;
	struct input *inputs;
	size_t n_inputs;
	bool state_dirty;
	double state_saved_at;
	int state_error; /* errno of the last failed save, reported once */

	atomic_bool interrupted;
	pthread_mutex_t stop_lock; /* stop() from the signal thread and from main */
};

static const char *const type_names[] = { "string", "int", "bool", "size" };

void tool__list_transport_options(FILE *out)
{
	size_t n;
	const idmefv2_option_desc *opts = idmefv2_transport_options(&n);

	for (size_t i = 0; i < n; i++) {
		fprintf(out, "%-24s %-6s default %-18s [%s]\n", opts[i].name,
		        (unsigned)opts[i].type < 4 ? type_names[opts[i].type] : "?",
		        opts[i].default_value && *opts[i].default_value ? opts[i].default_value : "(unset)",
		        opts[i].schemes ? opts[i].schemes : "all");
		fprintf(out, "    %s\n", opts[i].description);
	}
	fprintf(out, "kafka.<property>         string  passed to librdkafka as <property>\n");
}

int tool__transport_option(const char *cmd, idmefv2_transport *t, const char *spec)
{
	char name[256], errstr[512] = "";
	const char *eq = strchr(spec, '=');
	idmefv2_error err;

	if (!eq || eq == spec || (size_t)(eq - spec) >= sizeof(name)) {
		tool__error(cmd, "-o %s: expected NAME=VALUE", spec);
		return TOOL_EXIT_USAGE;
	}
	memcpy(name, spec, (size_t)(eq - spec));
	name[eq - spec] = '\0';
	err = idmefv2_transport_set(t, name, eq + 1, errstr, sizeof(errstr));
	if (err != IDMEFV2_OK) {
		tool__error(cmd, "-o %s: %s", spec, *errstr ? errstr : idmefv2_strerror(err));
		return TOOL_EXIT_USAGE;
	}
	return TOOL_EXIT_OK;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void progress_erase(struct send_ctx *ctx)
{
	if (ctx->progress_shown) {
		fputs("\r\033[K", stderr);
		ctx->progress_shown = false;
	}
}

static void progress_update(struct send_ctx *ctx, bool force)
{
	double now;

	if (!ctx->progress)
		return;
	now = now_s();
	if (!force && now - ctx->last_progress < 0.5)
		return;
	ctx->last_progress = now;
	fprintf(stderr, "\r\033[K%zu read, %zu sent, %zu failed, %zu invalid (%.0f/s)", ctx->messages,
	        atomic_load(&ctx->sent), atomic_load(&ctx->failed), ctx->invalid,
	        (double)atomic_load(&ctx->sent) / (now - ctx->started > 0 ? now - ctx->started : 1));
	ctx->progress_shown = true;
}

/* ---- files ------------------------------------------------------------------------------ */

/* All of @fd into a new buffer (NUL-terminated). Returns 0 or an errno. */
static int read_fd(int fd, char **ret_data, size_t *ret_len)
{
	char *data = NULL;
	size_t len = 0, cap = 0;

	for (;;) {
		ssize_t got;

		if (cap - len < 65536) {
			size_t bigger_cap = cap ? cap * 2 : (size_t)1 << 20;
			char *bigger = realloc(data, bigger_cap);

			if (!bigger) {
				free(data);
				return ENOMEM;
			}
			data = bigger;
			cap = bigger_cap;
		}
		got = read(fd, data + len, cap - len - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			int e = errno;

			free(data);
			return e;
		}
		if (got == 0)
			break;
		len += (size_t)got;
	}
	data[len] = '\0';
	*ret_data = data;
	*ret_len = len;
	return 0;
}

static int read_file(const char *path, char **ret_data, size_t *ret_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int e;

	if (fd < 0)
		return errno;
	e = read_fd(fd, ret_data, ret_len);
	close(fd);
	return e;
}

/* ---- failure reasons ------------------------------------------------------------------ */

static void reason_count(struct send_ctx *ctx, const char *reason)
{
	size_t i;

	if (!reason || !*reason)
		reason = "no detail";
	pthread_mutex_lock(&ctx->reasons_lock);
	for (i = 0; i < MAX_REASONS && ctx->reasons[i]; i++)
		if (strcmp(ctx->reasons[i], reason) == 0)
			break;
	if (i < MAX_REASONS && !ctx->reasons[i])
		ctx->reasons[i] = strdup(reason);
	if (i < MAX_REASONS && ctx->reasons[i])
		ctx->reason_counts[i]++;
	else
		ctx->other_reasons++;
	pthread_mutex_unlock(&ctx->reasons_lock);
}

static void reasons_print(struct send_ctx *ctx)
{
	const char *sep = " (";

	for (size_t i = 0; i < MAX_REASONS && ctx->reasons[i]; i++) {
		fprintf(stderr, "%s%s: %zu", sep, ctx->reasons[i], ctx->reason_counts[i]);
		sep = "; ";
	}
	if (ctx->other_reasons)
		fprintf(stderr, "%sother reasons: %zu", sep, ctx->other_reasons);
	if (*sep == ';')
		fputc(')', stderr);
}

static void reasons_free(struct send_ctx *ctx)
{
	for (size_t i = 0; i < MAX_REASONS; i++)
		free(ctx->reasons[i]);
}

/* ---- records ------------------------------------------------------------------------------ */

static struct rec *rec_at(struct send_ctx *ctx, size_t i)
{
	return &ctx->recs[i >> REC_CHUNK_BITS][i & (REC_CHUNK - 1)];
}

/* A new record (unresolved), or SIZE_MAX when out of memory. */
static size_t rec_add(struct send_ctx *ctx, uint64_t end)
{
	size_t i = ctx->n_recs;
	struct rec *r;

	if ((i >> REC_CHUNK_BITS) >= REC_CHUNKS)
		return SIZE_MAX;
	if (!ctx->recs[i >> REC_CHUNK_BITS]) {
		ctx->recs[i >> REC_CHUNK_BITS] = calloc(REC_CHUNK, sizeof(struct rec));
		if (!ctx->recs[i >> REC_CHUNK_BITS])
			return SIZE_MAX;
	}
	r = rec_at(ctx, i);
	r->end = end;
	atomic_store(&r->resolved, false);
	ctx->n_recs++;
	return i;
}

static void recs_free(struct send_ctx *ctx)
{
	for (size_t i = 0; i < REC_CHUNKS && ctx->recs[i]; i++)
		free(ctx->recs[i]);
}

static void on_delivery(idmefv2_transport *t, void *opaque, idmefv2_delivery_status status,
                        const char *detail, void *user_data)
{
	struct send_ctx *ctx = user_data;
	struct rec *r = opaque ? rec_at(ctx, (size_t)((uintptr_t)opaque - 1)) : NULL;

	(void)t;
	switch (status) {
	case IDMEFV2_DELIVERY_SPOOLED:
		/* Safe on disk: a rerun need not read it again. Not an outcome. */
		if (r)
			atomic_store(&r->resolved, true);
		return;
	case IDMEFV2_DELIVERY_SENT:
		if (r)
			atomic_store(&r->resolved, true);
		atomic_fetch_add(r ? &ctx->sent : &ctx->replayed_sent, 1);
		return;
	case IDMEFV2_DELIVERY_REJECTED:
	case IDMEFV2_DELIVERY_FAILED:
		/* Rejected for good, or kept in the dead-letter file: sending again would not help.
		 * Failed otherwise: a rerun should try it again. */
		if (r && (status == IDMEFV2_DELIVERY_REJECTED || ctx->dead_letter))
			atomic_store(&r->resolved, true);
		atomic_fetch_add(r ? &ctx->failed : &ctx->replayed_failed, 1);
		reason_count(ctx, detail);
		if (!ctx->quiet)
			fprintf(stderr, "idmefv2 send: message %s: %s\n",
			        status == IDMEFV2_DELIVERY_REJECTED ? "rejected" : "failed", detail ? detail : "");
		return;
	}
}

/* ---- the state file ------------------------------------------------------------------------- */

static idmefv2_error state_parse(struct send_ctx *ctx, const char *text, char *why, size_t why_size)
{
	struct json_object *root = NULL, *files, *version;
	idmefv2_error err = idmefv2_json_parse(text, strlen(text), &root, why, why_size);

	if (err != IDMEFV2_OK)
		return err;
	if (!json_object_is_type(root, json_type_object) || !json_object_object_get_ex(root, "version", &version) ||
	    json_object_get_int(version) != 1 || !json_object_object_get_ex(root, "files", &files) ||
	    !json_object_is_type(files, json_type_array)) {
		snprintf(why, why_size, "not a version 1 state of idmefv2 send");
		json_object_put(root);
		return IDMEFV2_ERR_PARSE;
	}
	for (size_t i = 0; i < json_object_array_length(files); i++) {
		struct json_object *f = json_object_array_get_idx(files, i), *path, *dev, *ino, *off;
		struct input *in;

		if (!json_object_object_get_ex(f, "path", &path) || !json_object_object_get_ex(f, "dev", &dev) ||
		    !json_object_object_get_ex(f, "ino", &ino) || !json_object_object_get_ex(f, "offset", &off) ||
		    !json_object_is_type(path, json_type_string) || !json_object_is_type(dev, json_type_int) ||
		    !json_object_is_type(ino, json_type_int) || !json_object_is_type(off, json_type_int)) {
			snprintf(why, why_size, "files[%zu]: expected path, dev, ino and offset", i);
			json_object_put(root);
			return IDMEFV2_ERR_PARSE;
		}
		in = &ctx->inputs[ctx->n_inputs];
		memset(in, 0, sizeof(*in));
		in->path = strdup(json_object_get_string(path));
		if (!in->path) {
			json_object_put(root);
			return IDMEFV2_ERR_NOMEM;
		}
		in->dev = json_object_get_uint64(dev);
		in->ino = json_object_get_uint64(ino);
		in->offset = json_object_get_uint64(off);
		ctx->n_inputs++;
	}
	json_object_put(root);
	return IDMEFV2_OK;
}

/* Room for @n more inputs. */
static bool inputs_reserve(struct send_ctx *ctx, size_t n)
{
	struct input *grown = realloc(ctx->inputs, (ctx->n_inputs + n) * sizeof(*grown));

	if (!grown)
		return false;
	ctx->inputs = grown;
	return true;
}

static int state_load(struct send_ctx *ctx, int n_files)
{
	char why[512] = "";
	char *text = NULL;
	size_t len = 0;
	int e;
	struct json_object *probe;
	size_t entries = 0;

	e = read_file(ctx->state_path, &text, &len);
	if (e == ENOENT)
		return inputs_reserve(ctx, (size_t)n_files + 1) ? TOOL_EXIT_OK : TOOL_EXIT_USAGE;
	if (e) {
		tool__error(CMD, "--state %s: %s", ctx->state_path, strerror(e));
		return TOOL_EXIT_USAGE;
	}
	/* Size the table: the entries in the file, plus this run's files. */
	if (idmefv2_json_parse(text, len, &probe, NULL, 0) == IDMEFV2_OK) {
		struct json_object *files;
		if (json_object_object_get_ex(probe, "files", &files) && json_object_is_type(files, json_type_array))
			entries = json_object_array_length(files);
		json_object_put(probe);
	}
	if (!inputs_reserve(ctx, entries + (size_t)n_files + 1) ||
	    state_parse(ctx, text, why, sizeof(why)) != IDMEFV2_OK) {
		tool__error(CMD, "--state %s: %s", ctx->state_path, *why ? why : "out of memory");
		free(text);
		return TOOL_EXIT_USAGE;
	}
	free(text);
	return TOOL_EXIT_OK;
}

/* Bring each input's covered offset up to date. Returns whether one moved. */
static bool state_advance(struct send_ctx *ctx)
{
	bool moved = false;

	for (size_t i = 0; i < ctx->n_inputs; i++) {
		struct input *in = &ctx->inputs[i];
		uint64_t offset = in->offset;

		if (!in->current)
			continue;
		while (in->covered < in->n_recs && atomic_load(&rec_at(ctx, in->first_rec + in->covered)->resolved))
			in->covered++;
		if (in->covered > 0)
			offset = rec_at(ctx, in->first_rec + in->covered - 1)->end;
		/* Blank lines after the last message are covered once the whole file is. */
		if (in->complete && in->covered == in->n_recs)
			offset = in->size;
		if (offset > in->offset) {
			in->offset = offset;
			moved = true;
		}
	}
	return moved;
}

/* The state as JSON text: a new string. */
static char *state_text(struct send_ctx *ctx)
{
	struct json_object *root = json_object_new_object(), *files = json_object_new_array();
	char *text = NULL;

	if (!root || !files)
		goto out;
	json_object_object_add(root, "version", json_object_new_int(1));
	for (size_t i = 0; i < ctx->n_inputs; i++) {
		struct json_object *f = json_object_new_object();
		if (!f)
			goto out;
		json_object_object_add(f, "path", json_object_new_string(ctx->inputs[i].path));
		json_object_object_add(f, "dev", json_object_new_uint64(ctx->inputs[i].dev));
		json_object_object_add(f, "ino", json_object_new_uint64(ctx->inputs[i].ino));
		json_object_object_add(f, "offset", json_object_new_uint64(ctx->inputs[i].offset));
		json_object_array_add(files, f);
	}
	json_object_object_add(root, "files", files);
	files = NULL;
	text = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
out:
	json_object_put(files);
	json_object_put(root);
	return text;
}

/* Replace the state file: a new file (O_EXCL, never through a planted link), synced, renamed over. */
static int state_write(const char *path, const char *text)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	int fd, e = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST) {
		/* Left by a run that was killed while saving: ours to replace. */
		unlink(tmp);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	}
	if (fd < 0)
		return errno;
	if (!idmefv2__write_all(fd, text, strlen(text)) || fsync(fd) < 0)
		e = errno ? errno : EIO;
	if (close(fd) < 0 && !e)
		e = errno;
	if (!e && rename(tmp, path) < 0)
		e = errno;
	if (e) {
		unlink(tmp);
		return e;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	return 0;
}

/* Save if something moved (or @force). */
static void state_save(struct send_ctx *ctx, bool force)
{
	char *text;
	int e;

	if (!ctx->state_path)
		return;
	if (state_advance(ctx))
		ctx->state_dirty = true;
	if (!ctx->state_dirty && !force)
		return;
	ctx->state_saved_at = now_s();
	text = state_text(ctx);
	e = text ? state_write(ctx->state_path, text) : ENOMEM;
	free(text);
	if (e && e != ctx->state_error) {
		progress_erase(ctx);
		tool__error(CMD, "--state %s: cannot save: %s", ctx->state_path, strerror(e));
	}
	ctx->state_error = e;
	if (!e)
		ctx->state_dirty = false;
}

static void state_tick(struct send_ctx *ctx)
{
	/* Often: what a crash finds unsaved is sent twice by the rerun. */
	if (ctx->state_path && now_s() - ctx->state_saved_at >= 0.1)
		state_save(ctx, false);
}

/* The input for an opened file: its entry in the state (same device, inode and
 * path), or a new one from offset 0. NULL when out of memory. */
static struct input *input_for(struct send_ctx *ctx, const char *path, int fd)
{
	char real[PATH_MAX];
	const char *key = strcmp(path, "-") == 0 ? "-" : realpath(path, real) ? real : path;
	struct stat st;
	struct input *in = NULL;

	if (fstat(fd, &st) < 0)
		memset(&st, 0, sizeof(st));
	for (size_t i = 0; i < ctx->n_inputs; i++) {
		struct input *c = &ctx->inputs[i];
		if (!c->current && c->dev == (uint64_t)st.st_dev && c->ino == (uint64_t)st.st_ino &&
		    strcmp(c->path, key) == 0) {
			in = c;
			break;
		}
	}
	if (!in) {
		if (!inputs_reserve(ctx, 1))
			return NULL;
		in = &ctx->inputs[ctx->n_inputs];
		memset(in, 0, sizeof(*in));
		if (!(in->path = strdup(key)))
			return NULL;
		in->dev = (uint64_t)st.st_dev;
		in->ino = (uint64_t)st.st_ino;
		ctx->n_inputs++;
	}
	in->current = true;
	in->first_rec = ctx->n_recs;
	in->n_recs = in->covered = 0;
	in->complete = false;
	return in;
}

static void inputs_free(struct send_ctx *ctx)
{
	for (size_t i = 0; i < ctx->n_inputs; i++)
		free(ctx->inputs[i].path);
	free(ctx->inputs);
}

/* ---- sending --------------------------------------------------------------------------------- */

/* Send one message ending at @end in its file. Returns false when the transport is
 * stopping (interrupted): the message was not taken. */
static bool message_send(struct send_ctx *ctx, struct input *in, const char *name, size_t line, const char *text,
                         size_t len, uint64_t end)
{
	idmefv2_message *msg = NULL;
	char errstr[1024] = "";
	idmefv2_error err;
	size_t rec = rec_add(ctx, end);

	if (rec == SIZE_MAX) {
		progress_erase(ctx);
		tool__error(CMD, "%s:%zu: out of memory", name, line);
		ctx->messages++;
		ctx->refused++;
		reason_count(ctx, "out of memory");
		return true;
	}
	in->n_recs++;
	err = idmefv2_message_new_from_json(text, len, &msg, errstr, sizeof(errstr));
	if (err == IDMEFV2_ERR_PARSE) {
		static const char prefix[] = "malformed JSON: ";

		/* Parse errors are short; shift the text right to make room for the prefix. */
		errstr[sizeof(errstr) - sizeof(prefix)] = '\0';
		memmove(errstr + sizeof(prefix) - 1, errstr, strlen(errstr) + 1);
		memcpy(errstr, prefix, sizeof(prefix) - 1);
	}
	if (err == IDMEFV2_OK)
		err = idmefv2_transport_send(ctx->t, msg, (void *)(uintptr_t)(rec + 1), errstr, sizeof(errstr));
	idmefv2_message_unref(msg);
	if (err == IDMEFV2_ERR_STATE && atomic_load(&ctx->interrupted)) {
		/* Not taken: the state does not cover it, a rerun reads it again. */
		in->n_recs--;
		ctx->n_recs--;
		return false;
	}
	ctx->messages++;
	if (err == IDMEFV2_OK) {
		progress_update(ctx, false);
		return true;
	}
	progress_erase(ctx);
	if (err == IDMEFV2_ERR_PARSE || err == IDMEFV2_ERR_INVALID) {
		/* Reading it again would not make it valid. */
		atomic_store(&rec_at(ctx, rec)->resolved, true);
		ctx->invalid++;
	} else {
		/* A valid message the transport could not take (queue or spool full, spool write
		 * failed): a failure with its reason, not an invalid message. */
		ctx->refused++;
		reason_count(ctx, *errstr ? errstr : idmefv2_strerror(err));
	}
	if (!ctx->quiet)
		printf("%s:%zu: %s\n", name, line, *errstr ? errstr : idmefv2_strerror(err));
	return true;
}

static bool blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return false;
	return true;
}

/* The messages of @data[@from..@len): one JSON message for the whole text, or NDJSON
 * (decided by whether the text is one object). Offsets are the file's. */
static void buffer_send(struct send_ctx *ctx, struct input *in, const char *name, const char *data, size_t len,
                        size_t from)
{
	struct json_object *whole = NULL;
	const char *p = data + from, *end = data + len;
	size_t line = 1;

	for (const char *q = data; q < p; q++)
		if (*q == '\n')
			line++;
	if (blank(p, (size_t)(end - p)))
		goto done;
	if (idmefv2_json_parse(p, (size_t)(end - p), &whole, NULL, 0) == IDMEFV2_OK &&
	    json_object_is_type(whole, json_type_object)) {
		json_object_put(whole);
		for (const char *q = p; q < end && (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n'); q++)
			if (*q == '\n')
				line++;
		if (!message_send(ctx, in, name, line, p, (size_t)(end - p), len))
			return;
		goto done;
	}
	json_object_put(whole);
	for (; p < end; line++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *next = nl ? nl + 1 : end;

		if (atomic_load(&ctx->interrupted))
			return;
		if (!blank(p, n) && !message_send(ctx, in, name, line, p, n, (uint64_t)(next - data)))
			return;
		p = next;
		state_tick(ctx);
	}
done:
	in->complete = true;
}

/* ---- signals --------------------------------------------------------------------------------- */

/* SIGTERM, SIGINT and SIGHUP end the run as the end of input would: stop reading,
 * stop the transport (it flushes, then spools or fails what is left), save the
 * state, print the counts. A thread takes them, because the reader may be waiting
 * for room in the queue, which only stop() ends. */
static void *signal_main(void *arg)
{
	struct send_ctx *ctx = arg;
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigwait(&set, &sig) != 0)
		return NULL;
	atomic_store(&ctx->interrupted, true);
	pthread_mutex_lock(&ctx->stop_lock);
	idmefv2_transport_stop(ctx->t);
	pthread_mutex_unlock(&ctx->stop_lock);
	return NULL;
}

static void transport_stop(struct send_ctx *ctx)
{
	pthread_mutex_lock(&ctx->stop_lock);
	idmefv2_transport_stop(ctx->t);
	pthread_mutex_unlock(&ctx->stop_lock);
}

/* ---- main ------------------------------------------------------------------------------------ */

static bool option_given(const char **opts, size_t n, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < n; i++)
		if (strncmp(opts[i], name, len) == 0 && opts[i][len] == '=' && opts[i][len + 1])
			return true;
	return false;
}

/* Read and send one FILE (or - for standard input). Returns 0 or an errno. */
static int file_send(struct send_ctx *ctx, const char *path)
{
	const char *name = strcmp(path, "-") == 0 ? "<stdin>" : path;
	int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	struct input scratch = { 0 }, *in = &scratch;
	struct stat st;
	char *data = NULL;
	size_t len = 0, from = 0;
	int e;

	if (fd < 0)
		return errno;
	if (ctx->state_path) {
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			e = fstat(fd, &st) < 0 ? errno : 0;
			if (fd != STDIN_FILENO)
				close(fd);
			progress_erase(ctx);
			tool__error(CMD, "%s: %s", name, e ? strerror(e) : "--state needs regular files (no position "
			                                                    "to save in a pipe or terminal)");
			return e ? e : EINVAL;
		}
		in = input_for(ctx, path, fd);
		if (!in) {
			if (fd != STDIN_FILENO)
				close(fd);
			return ENOMEM;
		}
	} else {
		scratch.first_rec = ctx->n_recs;
	}
	e = read_fd(fd, &data, &len);
	if (fd != STDIN_FILENO)
		close(fd);
	if (e)
		return e;
	in->size = len;
	if (in->offset > len) {
		/* Shorter than what was covered: not the same content any more. */
		progress_erase(ctx);
		tool__error(CMD, "%s: shorter than the offset %llu saved in %s: sending it whole", name,
		            (unsigned long long)in->offset, ctx->state_path);
		in->offset = 0;
	}
	from = (size_t)in->offset;
	if (from > 0 && !ctx->quiet) {
		progress_erase(ctx);
		fprintf(stderr, "idmefv2 send: %s: resuming at byte %zu of %zu (--state %s)\n", name, from, len,
		        ctx->state_path);
	}
	buffer_send(ctx, in, name, data, len, from);
	free(data);
	return 0;
}

int tool__send_main(int argc, char **argv)
{
	struct send_ctx ctx = { 0 };
	const char **opts = NULL;
	size_t n_opts = 0, unreadable = 0;
	long timeout_s = 60;
	char errstr[1024] = "";
	idmefv2_error err;
	idmefv2_transport_counters counters;
	int c, status = TOOL_EXIT_USAGE;
	size_t sent, failed, spooled, replayed_sent, replayed_failed;
	pthread_t signal_thread;
	bool signal_thread_started = false, sigs_blocked = false;
	sigset_t sigs, old_sigs;

	pthread_mutex_init(&ctx.reasons_lock, NULL);
	pthread_mutex_init(&ctx.stop_lock, NULL);
	opts = calloc((size_t)argc, sizeof(*opts));
	if (!opts)
		return TOOL_EXIT_USAGE;
	while ((c = getopt_long(argc, argv, ":o:qh", send_options, NULL)) != -1) {
		switch (c) {
		case 'o': opts[n_opts++] = optarg; break;
		case 'q': ctx.quiet = true; break;
		case OPT_LIST_OPTIONS:
			tool__list_transport_options(stdout);
			status = TOOL_EXIT_OK;
			goto out;
		case OPT_STATE:
			if (!*optarg) {
				tool__error(CMD, "--state: expected a file name");
				goto out;
			}
			ctx.state_path = optarg;
			break;
		case OPT_TIMEOUT: {
			char *end;

			errno = 0;
			timeout_s = strtol(optarg, &end, 10);
			if (errno || *end || timeout_s < 0 || timeout_s > 86400 * 365) {
				tool__error(CMD, "--timeout %s: expected whole seconds (0 waits forever)", optarg);
				goto out;
			}
			break;
		}
		case 'h':
			fputs(tool__send_help, stdout);
			status = TOOL_EXIT_OK;
			goto out;
		default:
			status = tool__bad_option(CMD, c, argv);
			goto out;
		}
	}
	if (optind >= argc) {
		tool__error(CMD, "missing URL; see 'idmefv2 help send'");
		goto out;
	}
	if (ctx.state_path && state_load(&ctx, argc - optind) != TOOL_EXIT_OK)
		goto out;

	/* Signals go to the signal thread only: block them before any thread starts (the
	 * transport's inherit the mask). */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, &old_sigs);
	sigs_blocked = true;

	err = idmefv2_transport_new(argv[optind], IDMEFV2_TRANSPORT_SENDER, &ctx.t, errstr, sizeof(errstr));
	if (err != IDMEFV2_OK) {
		tool__error(CMD, "%s: %s", argv[optind], *errstr ? errstr : idmefv2_strerror(err));
		goto out;
	}
	/* What is on disk in the spool is as good as delivered for --state. */
	if (idmefv2_transport_set(ctx.t, "delivery.report_spooled", "true", errstr, sizeof(errstr)) != IDMEFV2_OK) {
		tool__error(CMD, "%s", errstr);
		goto out;
	}
	for (size_t i = 0; i < n_opts; i++)
		if (tool__transport_option(CMD, ctx.t, opts[i]) != TOOL_EXIT_OK)
			goto out;
	ctx.dead_letter = option_given(opts, n_opts, "dead_letter");
	idmefv2_transport_set_delivery_cb(ctx.t, on_delivery, &ctx);
	err = idmefv2_transport_start(ctx.t, errstr, sizeof(errstr));
	if (err != IDMEFV2_OK) {
		tool__error(CMD, "%s: %s", argv[optind], *errstr ? errstr : idmefv2_strerror(err));
		goto out;
	}

	signal_thread_started = pthread_create(&signal_thread, NULL, signal_main, &ctx) == 0;

	ctx.progress = !ctx.quiet && isatty(STDERR_FILENO);
	ctx.started = now_s();
	ctx.state_saved_at = ctx.started;
	for (int i = optind + 1; (i < argc || i == optind + 1) && !atomic_load(&ctx.interrupted); i++) {
		const char *path = i < argc ? argv[i] : "-";
		int e = file_send(&ctx, path);

		if (e) {
			progress_erase(&ctx);
			tool__error(CMD, "%s: %s", strcmp(path, "-") == 0 ? "<stdin>" : path, strerror(e));
			unreadable++;
		}
	}

	/* Wait for the outcomes, showing progress and saving the state meanwhile. */
	for (double deadline = timeout_s ? now_s() + (double)timeout_s : 0; !atomic_load(&ctx.interrupted);) {
		if (idmefv2_transport_flush(ctx.t, 200) == IDMEFV2_OK)
			break;
		progress_update(&ctx, true);
		state_tick(&ctx);
		if (deadline && now_s() >= deadline) {
			progress_erase(&ctx);
			tool__error(CMD, "gave up waiting after %ld s; undelivered messages are %s", timeout_s,
			            "spooled if a spool is set, failed otherwise");
			break;
		}
	}
	transport_stop(&ctx);
	if (signal_thread_started) {
		pthread_cancel(signal_thread);
		pthread_join(signal_thread, NULL);
	}
	progress_erase(&ctx);
	state_save(&ctx, false);
	idmefv2_transport_get_counters(ctx.t, &counters);

	sent = atomic_load(&ctx.sent);
	failed = atomic_load(&ctx.failed) + ctx.refused;
	replayed_sent = atomic_load(&ctx.replayed_sent);
	replayed_failed = atomic_load(&ctx.replayed_failed);
	/* No outcome yet: in the spool at stop, safe on disk, not yet at the peer. */
	spooled = ctx.messages - ctx.invalid - sent - failed;
	if (atomic_load(&ctx.interrupted))
		fprintf(stderr, "idmefv2 send: interrupted: stopped reading\n");
	fprintf(stderr, "%zu message%s: %zu sent, %zu failed", ctx.messages, ctx.messages == 1 ? "" : "s", sent,
	        failed);
	reasons_print(&ctx);
	fprintf(stderr, ", %zu invalid", ctx.invalid);
	if (spooled)
		fprintf(stderr, ", %zu spooled", spooled);
	if (replayed_sent || replayed_failed)
		fprintf(stderr, "; from the spool: %zu sent, %zu failed", replayed_sent, replayed_failed);
	if (unreadable)
		fprintf(stderr, ", %zu file%s unreadable", unreadable, unreadable == 1 ? "" : "s");
	fprintf(stderr, " (%llu retries)\n", (unsigned long long)counters.retried);

	if (unreadable || ctx.state_error)
		status = TOOL_EXIT_USAGE;
	else if (!failed && !ctx.invalid && !replayed_failed)
		status = TOOL_EXIT_OK;
	else
		status = TOOL_EXIT_INVALID;
out:
	idmefv2_transport_free(ctx.t);
	if (sigs_blocked)
		pthread_sigmask(SIG_SETMASK, &old_sigs, NULL);
	inputs_free(&ctx);
	recs_free(&ctx);
	reasons_free(&ctx);
	pthread_mutex_destroy(&ctx.reasons_lock);
	pthread_mutex_destroy(&ctx.stop_lock);
	free(opts);
	return status;
}
