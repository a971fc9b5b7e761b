/* SPDX-License-Identifier: Apache-2.0 */
/*
 * idmefv2 validate: check JSON or NDJSON files against the official schema of
 * each message's Version, or against one draft-04 schema given by --schema.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include <idmefv2/message.h>
#include <idmefv2/schema.h>

#include "idmefv2-tool.h"

#define CMD "validate"

const char tool__validate_help[] =
	"Usage: idmefv2 validate [OPTIONS] [FILE...|-]\n"
	"\n"
	"Validate IDMEFv2 messages. Each FILE holds either one JSON document (pretty-printed\n"
	"or not) or NDJSON, one message per line (blank lines are skipped). With no FILE,\n"
	"or when FILE is -, read standard input. Each message is validated against the\n"
	"official schema of its own \"Version\", or with --schema against that schema.\n"
	"\n"
	"Each failure is printed on standard output as\n"
	"  FILE:LINE: POINTER: MESSAGE\n"
	"where LINE is the line the message starts on and POINTER the JSON Pointer of the\n"
	"failing value (\"/\" for the whole message). Malformed JSON is reported as\n"
	"  FILE:LINE: malformed JSON: line L, column C: REASON\n"
	"and counts as an invalid message. A summary goes to standard error:\n"
	"  N messages: N valid, N invalid[, N files unreadable]\n"
	"\n"
	"Options:\n"
	"      --schema FILE  validate against the JSON Schema (draft-04) in FILE instead of\n"
	"                     the official schema of each Version; any JSON document is\n"
	"                     then accepted, not only IDMEFv2 messages\n"
	"      --against VERSION\n"
	"                     validate every message against the official schema of\n"
	"                     VERSION (e.g. 2.D.V08), whatever its own Version says, so\n"
	"                     a message of another revision is invalid\n"
	"      --no-format    do not check \"format\" (email, uri, date-time, ...)\n"
	"      --first-error  report only the first failure of each message (faster)\n"
	"      --json         print one JSON object per invalid message,\n"
	"                     {\"file\",\"line\",\"valid\":false,\"errors\":[{\"instance\",\"schema\",\n"
	"                     \"keyword\",\"message\"}]}, then a summary object\n"
	"                     {\"messages\",\"valid\",\"invalid\",\"unreadable_files\"}\n"
	"  -q, --quiet        print only the summary (no failures, no progress line)\n"
	"  -h, --help         show this help and exit\n"
	"      --version      print the libidmefv2-core version and exit\n"
	"\n"
	"Exit status:\n"
	"  0  every message is valid\n"
	"  1  some message is invalid or malformed\n"
	"  2  usage error, unreadable file or unloadable schema\n";

/* json-c takes an int length: feed it at most this much at a time. */
#define PARSE_CHUNK_MAX ((size_t)1 << 30)
#define PARSE_DEPTH 128
#define PROGRESS_INTERVAL_NS 500000000LL

struct validate_ctx {
	unsigned flags;          /* idmefv2_validate_flags */
	bool json;
	bool quiet;
	idmefv2_schema *schema;  /* --schema, or NULL for the schema of each Version */
	json_tokener *tok;

	size_t messages;
	size_t valid;
	size_t invalid;
	size_t unreadable;
	bool internal_error;

	bool progress;           /* stderr is a terminal */
	bool progress_shown;     /* a progress line is on screen and must be erased */
	struct timespec start;
	struct timespec last;
};

/* A failure found before schema validation: malformed JSON, bad Version, not an object. */
struct failure {
	const char *instance;    /* JSON Pointer, or NULL when there is no value to point at */
	const char *message;
};

/* ---- input ----------------------------------------------------------------------------- */

struct input {
	const char *data;
	size_t len;
	void *map;
	char *buf;
};

static void input_release(struct input *in)
{
	if (in->map)
		munmap(in->map, in->len);
	free(in->buf);
	memset(in, 0, sizeof(*in));
}

static int input_read_fd(struct input *in, int fd, size_t hint)
{
	size_t cap = hint > 0 ? hint + 1 : 65536, len = 0;
	char *buf = malloc(cap);

	if (!buf)
		return ENOMEM;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *bigger = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);

			if (!bigger) {
				free(buf);
				return ENOMEM;
			}
			buf = bigger;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n == 0)
			break;
		if (n < 0) {
			int err = errno;

			if (err == EINTR)
				continue;
			free(buf);
			return err;
		}
		len += (size_t)n;
	}
	in->buf = buf;
	in->data = buf;
	in->len = len;
	return 0;
}

/* Returns 0 or an errno value. A regular file is mapped; anything else is read whole. */
static int input_load(struct input *in, const char *path)
{
	struct stat st;
	int fd, err = 0;

	memset(in, 0, sizeof(*in));
	if (strcmp(path, "-") == 0)
		return input_read_fd(in, STDIN_FILENO, 0);

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	if (fstat(fd, &st) < 0) {
		err = errno;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		err = EISDIR;
		goto out;
	}
	if (S_ISREG(st.st_mode) && st.st_size > 0 && (uintmax_t)st.st_size <= SIZE_MAX) {
		void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);

		if (map != MAP_FAILED) {
			madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);
			in->map = map;
			in->data = map;
			in->len = (size_t)st.st_size;
			goto out;
		}
	}
	err = input_read_fd(in, fd, S_ISREG(st.st_mode) ? (size_t)st.st_size : 0);
out:
	close(fd);
	return err;
}

/* ---- output ---------------------------------------------------------------------------- */

static void progress_erase(struct validate_ctx *ctx)
{
	if (!ctx->progress_shown)
		return;
	fputs("\r\033[K", stderr);
	ctx->progress_shown = false;
}

static int64_t elapsed_ns(const struct timespec *from, const struct timespec *to)
{
	return (int64_t)(to->tv_sec - from->tv_sec) * 1000000000LL + (to->tv_nsec - from->tv_nsec);
}

static void progress_update(struct validate_ctx *ctx)
{
	struct timespec now;
	int64_t total;

	/* Reading the clock every message would cost more than it tells. */
	if (!ctx->progress || ctx->messages % 64 != 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (elapsed_ns(&ctx->last, &now) < PROGRESS_INTERVAL_NS)
		return;
	ctx->last = now;
	total = elapsed_ns(&ctx->start, &now);
	fprintf(stderr, "\r\033[K%zu messages, %zu invalid, %.0f messages/s", ctx->messages,
	        ctx->invalid, total > 0 ? (double)ctx->messages * 1e9 / (double)total : 0.0);
	ctx->progress_shown = true;
}

static void json_print(struct json_object *obj)
{
	fputs(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
	      stdout);
	fputc('\n', stdout);
}

static struct json_object *json_string_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

/* The record of one invalid message in --json mode; takes ownership of @errors. */
static void json_print_invalid(const char *name, size_t line, struct json_object *errors)
{
	struct json_object *obj = json_object_new_object();

	json_object_object_add(obj, "file", json_object_new_string(name));
	json_object_object_add(obj, "line", json_object_new_int64((int64_t)line));
	json_object_object_add(obj, "valid", json_object_new_boolean(0));
	json_object_object_add(obj, "errors", errors);
	json_print(obj);
	json_object_put(obj);
}

static void failure_emit(struct validate_ctx *ctx, const char *name, size_t line,
                         const struct failure *f)
{
	ctx->invalid++;
	if (ctx->quiet)
		return;
	progress_erase(ctx);
	if (ctx->json) {
		struct json_object *errors = json_object_new_array();
		struct json_object *e = json_object_new_object();

		json_object_object_add(e, "instance", json_string_or_null(f->instance));
		json_object_object_add(e, "schema", NULL);
		json_object_object_add(e, "keyword", NULL);
		json_object_object_add(e, "message", json_object_new_string(f->message));
		json_object_array_add(errors, e);
		json_print_invalid(name, line, errors);
	} else if (f->instance) {
		printf("%s:%zu: %s: %s\n", name, line, tool__pointer_text(f->instance), f->message);
	} else {
		printf("%s:%zu: %s\n", name, line, f->message);
	}
}

static void report_emit(struct validate_ctx *ctx, const char *name, size_t line,
                        const idmefv2_report *report)
{
	size_t n = idmefv2_report_count(report);

	ctx->invalid++;
	if (ctx->quiet)
		return;
	progress_erase(ctx);
	if (ctx->json) {
		json_print_invalid(name, line, idmefv2_report_to_json(report));
		return;
	}
	for (size_t i = 0; i < n; i++)
		printf("%s:%zu: %s: %s\n", name, line,
		       tool__pointer_text(idmefv2_report_instance_path(report, i)),
		       idmefv2_report_message(report, i));
}

static void summary_print(const struct validate_ctx *ctx)
{
	if (ctx->json) {
		struct json_object *obj = json_object_new_object();

		json_object_object_add(obj, "messages", json_object_new_int64((int64_t)ctx->messages));
		json_object_object_add(obj, "valid", json_object_new_int64((int64_t)ctx->valid));
		json_object_object_add(obj, "invalid", json_object_new_int64((int64_t)ctx->invalid));
		json_object_object_add(obj, "unreadable_files",
		                       json_object_new_int64((int64_t)ctx->unreadable));
		json_print(obj);
		json_object_put(obj);
	}
	fflush(stdout);
	fprintf(stderr, "%zu message%s: %zu valid, %zu invalid", ctx->messages,
	        ctx->messages == 1 ? "" : "s", ctx->valid, ctx->invalid);
	if (ctx->unreadable)
		fprintf(stderr, ", %zu file%s unreadable", ctx->unreadable,
		        ctx->unreadable == 1 ? "" : "s");
	fputc('\n', stderr);
}

/* ---- checking one document ---------------------------------------------------------------- */

static const char *json_type_article(struct json_object *obj)
{
	switch (json_object_get_type(obj)) {
	case json_type_null: return "null";
	case json_type_boolean: return "a boolean";
	case json_type_double:
	case json_type_int: return "a number";
	case json_type_array: return "an array";
	case json_type_string: return "a string";
	case json_type_object: return "an object";
	}
	return "an unknown value";
}

static idmefv2_error message_validate(struct validate_ctx *ctx, struct json_object *obj,
                                      idmefv2_report **ret_report, struct failure *f,
                                      char *errstr, size_t errstr_size)
{
	idmefv2_message *msg;
	idmefv2_error err;

	if (!json_object_is_type(obj, json_type_object)) {
		snprintf(errstr, errstr_size, "not a JSON object but %s", json_type_article(obj));
		f->instance = "";
		f->message = errstr;
		return IDMEFV2_ERR_NOT_OBJECT;
	}
	msg = idmefv2_message_new_from_object(obj);
	if (!msg)
		return IDMEFV2_ERR_NOMEM;
	err = idmefv2_message_validate(msg, ctx->flags, ret_report, errstr, errstr_size);
	if (err == IDMEFV2_ERR_VERSION) {
		/* A missing Version is a fault of the whole message; a wrong one points at itself. */
		f->instance = json_object_object_get_ex(obj, "Version", NULL) ? "/Version" : "";
		if (!*errstr)
			snprintf(errstr, errstr_size, "%s", idmefv2_strerror(err));
		f->message = errstr;
	}
	idmefv2_message_unref(msg);
	return err;
}

static void document_check(struct validate_ctx *ctx, const char *name, size_t line,
                           struct json_object *obj)
{
	idmefv2_report *report = NULL;
	struct failure f = { NULL, NULL };
	char errstr[1024] = "";
	idmefv2_error err;

	ctx->messages++;
	if (ctx->schema)
		err = idmefv2_schema_validate(ctx->schema, obj, ctx->flags, &report);
	else
		err = message_validate(ctx, obj, &report, &f, errstr, sizeof(errstr));

	if (err == IDMEFV2_OK) {
		ctx->valid++;
	} else if (err == IDMEFV2_ERR_INVALID && report) {
		report_emit(ctx, name, line, report);
	} else if (f.message) {
		failure_emit(ctx, name, line, &f);
	} else {
		/* Out of memory or a library fault: not the message's doing. */
		ctx->internal_error = true;
		f.message = *errstr ? errstr : idmefv2_strerror(err);
		failure_emit(ctx, name, line, &f);
	}
	idmefv2_report_free(report);
	progress_update(ctx);
}

/* ---- parsing ------------------------------------------------------------------------------ */

struct parse_result {
	struct json_object *value; /* NULL for JSON null too: look at ok */
	bool ok;
	size_t end;                /* success: offset after the value; failure: offset of the fault */
	const char *reason;
};

/*
 * Parse the JSON text @data[0..len). @flags are json-c tokener flags: with
 * JSON_TOKENER_ALLOW_TRAILING_CHARS parsing stops after the first value.
 */
static void json_parse(json_tokener *tok, const char *data, size_t len, int flags,
                       struct parse_result *r)
{
	enum json_tokener_error jerr = json_tokener_continue;
	size_t off = 0;

	memset(r, 0, sizeof(*r));
	json_tokener_reset(tok);
	json_tokener_set_flags(tok, flags);
	while (off < len) {
		size_t chunk = len - off > PARSE_CHUNK_MAX ? PARSE_CHUNK_MAX : len - off;

		r->value = json_tokener_parse_ex(tok, data + off, (int)chunk);
		jerr = json_tokener_get_error(tok);
		if (jerr != json_tokener_continue) {
			off += json_tokener_get_parse_end(tok);
			break;
		}
		off += chunk;
	}
	if (jerr == json_tokener_continue) {
		/* The NUL tells json-c the input ends (a final number has no other terminator). */
		r->value = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
		off = len;
	}
	r->ok = jerr == json_tokener_success;
	r->end = off;
	if (!r->ok)
		r->reason = json_tokener_error_desc(jerr);
}

static bool is_json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t skip_space(const char *data, size_t len, size_t off)
{
	while (off < len && is_json_space(data[off]))
		off++;
	return off;
}

/* 1-based line and byte column of @off. */
static void position_of(const char *data, size_t off, size_t *ret_line, size_t *ret_col)
{
	size_t line = 1, bol = 0;
	const char *p = data, *end = data + off, *nl;

	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p)))) {
		line++;
		p = nl + 1;
		bol = (size_t)(p - data);
	}
	*ret_line = line;
	*ret_col = off - bol + 1;
}

static void malformed_emit(struct validate_ctx *ctx, const char *name, size_t line,
                           size_t err_line, size_t err_col, const char *reason)
{
	char msg[512];
	struct failure f = { NULL, msg };

	/* The reason comes from the parser and is short; bound it so the line always fits. */
	snprintf(msg, sizeof(msg), "malformed JSON: line %zu, column %zu: %.400s", err_line, err_col,
	         reason);
	ctx->messages++;
	failure_emit(ctx, name, line, &f);
	progress_update(ctx);
}

#define LINE_FLAGS (JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8)
#define DOCUMENT_FLAGS (LINE_FLAGS | JSON_TOKENER_ALLOW_TRAILING_CHARS)

/*
 * Parse one message with the library's parser, as strict as unserialize (the
 * tokener above only finds the document boundaries), and check it. @line is
 * the file line where the text starts; the library's "line L, column C" is
 * shifted to file coordinates.
 */
static void strict_check(struct validate_ctx *ctx, const char *name, size_t line, const char *text,
                         size_t len)
{
	struct json_object *value = NULL;
	char err[256];
	size_t l, c;
	int used = 0;

	if (idmefv2_json_parse(text, len, &value, err, sizeof(err)) == IDMEFV2_OK) {
		document_check(ctx, name, line, value);
		json_object_put(value);
		return;
	}
	if (sscanf(err, "line %zu, column %zu: %n", &l, &c, &used) == 2 && used > 0)
		malformed_emit(ctx, name, line, line + l - 1, c, err + used);
	else
		malformed_emit(ctx, name, line, line, 1, err);
}

static void lines_check(struct validate_ctx *ctx, const char *name, const char *data, size_t len)
{
	const char *p = data, *end = data + len;
	size_t lineno = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		lineno++;
		if (skip_space(p, n, 0) < n)
			strict_check(ctx, name, lineno, p, n);
		p = nl ? nl + 1 : end;
	}
}

/*
 * Whether some line holds a whole JSON object or array on its own: then a file
 * that is not one JSON document is NDJSON with bad lines, rather than one
 * broken multi-line document.
 */
static bool some_line_is_document(json_tokener *tok, const char *data, size_t len)
{
	const char *p = data, *end = data + len;
	struct parse_result r;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		size_t first = skip_space(p, n, 0);

		if (first < n && (p[first] == '{' || p[first] == '[')) {
			json_parse(tok, p, n, LINE_FLAGS, &r);
			json_object_put(r.value);
			if (r.ok)
				return true;
		}
		p = nl ? nl + 1 : end;
	}
	return false;
}

static void buffer_check(struct validate_ctx *ctx, const char *name, const char *data, size_t len)
{
	size_t start = skip_space(data, len, 0), line, col, err_line, err_col;
	struct parse_result r;

	if (start == len)
		return;
	json_parse(ctx->tok, data + start, len - start, DOCUMENT_FLAGS, &r);
	if (r.ok) {
		bool alone = skip_space(data, len, start + r.end) == len;

		json_object_put(r.value);
		if (alone) {
			position_of(data, start, &line, &col);
			strict_check(ctx, name, line, data + start, len - start);
		}
		if (!alone)
			lines_check(ctx, name, data, len);
		return;
	}
	if (some_line_is_document(ctx->tok, data, len)) {
		lines_check(ctx, name, data, len);
		return;
	}
	position_of(data, start, &line, &col);
	position_of(data, start + r.end, &err_line, &err_col);
	malformed_emit(ctx, name, line, err_line, err_col, r.reason);
}

static void file_check(struct validate_ctx *ctx, const char *path)
{
	const char *name = strcmp(path, "-") == 0 ? "<stdin>" : path;
	struct input in;
	int err = input_load(&in, path);

	if (err) {
		progress_erase(ctx);
		tool__error(CMD, "%s: %s", name, strerror(err));
		ctx->unreadable++;
		return;
	}
	buffer_check(ctx, name, in.data, in.len);
	input_release(&in);
}

/* ---- main --------------------------------------------------------------------------------- */

enum {
	OPT_SCHEMA = 256,
	OPT_NO_FORMAT,
	OPT_FIRST_ERROR,
	OPT_JSON,
	OPT_VERSION,
	OPT_AGAINST,
};

static const struct option validate_options[] = {
	{ "schema", required_argument, NULL, OPT_SCHEMA },
	{ "against", required_argument, NULL, OPT_AGAINST },
	{ "no-format", no_argument, NULL, OPT_NO_FORMAT },
	{ "first-error", no_argument, NULL, OPT_FIRST_ERROR },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

int tool__validate_main(int argc, char **argv)
{
	struct validate_ctx ctx = { 0 };
	const char *schema_path = NULL;
	const char *against = NULL;
	char errstr[1024] = "";
	int c, status = TOOL_EXIT_OK;

	while ((c = getopt_long(argc, argv, ":qh", validate_options, NULL)) != -1) {
		switch (c) {
		case OPT_SCHEMA: schema_path = optarg; break;
		case OPT_AGAINST: against = optarg; break;
		case OPT_NO_FORMAT: ctx.flags |= IDMEFV2_VALIDATE_NO_FORMAT; break;
		case OPT_FIRST_ERROR: ctx.flags |= IDMEFV2_VALIDATE_FIRST_ERROR; break;
		case OPT_JSON: ctx.json = true; break;
		case 'q': ctx.quiet = true; break;
		case 'h':
			fputs(tool__validate_help, stdout);
			return TOOL_EXIT_OK;
		case OPT_VERSION:
			printf("idmefv2 %s\n", idmefv2_version_string());
			return TOOL_EXIT_OK;
		default:
			return tool__bad_option(CMD, c, argv);
		}
	}

	if (schema_path && against) {
		tool__error(CMD, "--schema and --against exclude each other");
		return TOOL_EXIT_USAGE;
	}
	if (against) {
		idmefv2_error err;
		const idmefv2_schema *builtin = idmefv2_schema_for_version(against, &err, errstr,
		                                                           sizeof(errstr));

		if (!builtin) {
			tool__error(CMD, "--against: %s", errstr);
			return TOOL_EXIT_USAGE;
		}
		ctx.schema = idmefv2_schema_ref((idmefv2_schema *)builtin);
	}
	if (schema_path) {
		idmefv2_error err = idmefv2_schema_load_file(schema_path, NULL, &ctx.schema, errstr,
		                                             sizeof(errstr));

		if (err != IDMEFV2_OK) {
			const char *why = *errstr ? errstr : idmefv2_strerror(err);

			/* I/O errors already start with the path. */
			if (strncmp(why, schema_path, strlen(schema_path)) == 0)
				tool__error(CMD, "--schema %s", why);
			else
				tool__error(CMD, "--schema %s: %s", schema_path, why);
			return TOOL_EXIT_USAGE;
		}
	}
	ctx.tok = json_tokener_new_ex(PARSE_DEPTH);
	if (!ctx.tok) {
		tool__error(CMD, "%s", strerror(ENOMEM));
		status = TOOL_EXIT_USAGE;
		goto out;
	}
	ctx.progress = !ctx.quiet && isatty(STDERR_FILENO) == 1;
	clock_gettime(CLOCK_MONOTONIC, &ctx.start);
	ctx.last = ctx.start;
	/* Reports can be long; let them reach a file in large writes. */
	if (!isatty(STDOUT_FILENO))
		setvbuf(stdout, NULL, _IOFBF, 1 << 16);

	if (optind >= argc)
		file_check(&ctx, "-");
	for (int i = optind; i < argc; i++)
		file_check(&ctx, argv[i]);

	progress_erase(&ctx);
	summary_print(&ctx);
	if (ctx.unreadable || ctx.internal_error)
		status = TOOL_EXIT_USAGE;
	else if (ctx.invalid)
		status = TOOL_EXIT_INVALID;
out:
	if (ctx.tok)
		json_tokener_free(ctx.tok);
	idmefv2_schema_unref(ctx.schema);
	return status;
}
