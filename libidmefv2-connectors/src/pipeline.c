/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The conversion pipeline: parse, map, validate, deliver. Every rejection is
 * counted and logged, never fatal, so one bad alert cannot stop a daemon.
 */
#include <idmefv2/pipeline.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include <idmefv2/message.h>
#include <idmefv2/schema.h>
#include <idmefv2/util.h>

#include "idmefv2-common.h"
#include "mapping-private.h"

struct idmefv2_pipeline {
	const idmefv2_mapping *mapping;
	const idmefv2_schema *schema;
	idmefv2_log_cb log_cb;
	void *log_data;
	idmefv2_transport *transport;
	idmefv2_pipeline_output_cb output_cb;
	void *output_data;
	idmefv2_pipeline_delivery_cb delivery_cb;
	void *delivery_data;
	FILE *dead_letter;
	/* The delivery callback runs on a transport thread. */
	pthread_mutex_t lock;
	idmefv2_pipeline_counters counters;
};


static void plog(idmefv2_pipeline *p, idmefv2_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void plog(idmefv2_pipeline *p, idmefv2_log_level level, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (!p->log_cb)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	p->log_cb(level, buf, p->log_data);
}

static void count(idmefv2_pipeline *p, uint64_t *field)
{
	pthread_mutex_lock(&p->lock);
	(*field)++;
	pthread_mutex_unlock(&p->lock);
}

IDMEFV2_EXPORT idmefv2_error idmefv2_pipeline_new(const idmefv2_mapping *mapping, const char *version,
                                                  idmefv2_pipeline **ret_p,
                                                  char *errstr, size_t errstr_size)
{
	idmefv2_error err = IDMEFV2_OK;
	const idmefv2_schema *schema;
	idmefv2_pipeline *p;

	if (ret_p)
		*ret_p = NULL;
	if (!mapping || !ret_p) {
		idmefv2__set_error(errstr, errstr_size, "pipeline: NULL mapping or result");
		return IDMEFV2_ERR_INVALID_ARG;
	}
	schema = idmefv2_schema_for_version(version ? version : IDMEFV2_VERSION_LATEST, &err,
	                                    errstr, errstr_size);
	if (!schema)
		return err != IDMEFV2_OK ? err : IDMEFV2_ERR_VERSION;
	p = calloc(1, sizeof(*p));
	if (!p) {
		idmefv2__set_error(errstr, errstr_size, "pipeline: out of memory");
		return IDMEFV2_ERR_NOMEM;
	}
	p->mapping = mapping;
	p->schema = schema;
	pthread_mutex_init(&p->lock, NULL);
	*ret_p = p;
	return IDMEFV2_OK;
}

IDMEFV2_EXPORT void idmefv2_pipeline_set_log_cb(idmefv2_pipeline *p, idmefv2_log_cb cb, void *user_data)
{
	if (!p)
		return;
	p->log_cb = cb;
	p->log_data = user_data;
}

/* The caller's tracking: only inputs pushed with an opaque are reported. */
static void report(idmefv2_pipeline *p, void *opaque, idmefv2_delivery_status status)
{
	if (opaque && p->delivery_cb)
		p->delivery_cb(p, opaque, status, p->delivery_data);
}

static void on_delivery(idmefv2_transport *t, void *opaque, idmefv2_delivery_status status,
                        const char *detail, void *user_data)
{
	idmefv2_pipeline *p = user_data;

	(void)t;
	if (status == IDMEFV2_DELIVERY_SENT) {
		count(p, &p->counters.sent);
	} else if (status == IDMEFV2_DELIVERY_SPOOLED) {
		/* Not an outcome: safe on disk, its SENT or FAILED comes later (the transport counts it spooled). */
	} else {
		count(p, &p->counters.failed);
		plog(p, IDMEFV2_LOG_WARNING, "delivery %s: %s",
		     status == IDMEFV2_DELIVERY_REJECTED ? "rejected" : "failed", detail ? detail : "no detail");
	}
	report(p, opaque, status);
}

IDMEFV2_EXPORT void idmefv2_pipeline_set_delivery_cb(idmefv2_pipeline *p, idmefv2_pipeline_delivery_cb cb,
                                                     void *user_data)
{
	if (!p)
		return;
	p->delivery_cb = cb;
	p->delivery_data = user_data;
}

IDMEFV2_EXPORT void idmefv2_pipeline_set_transport(idmefv2_pipeline *p, idmefv2_transport *t)
{
	if (!p)
		return;
	p->transport = t;
	p->output_cb = NULL;
	p->output_data = NULL;
	if (t)
		idmefv2_transport_set_delivery_cb(t, on_delivery, p);
}

IDMEFV2_EXPORT void idmefv2_pipeline_set_output_cb(idmefv2_pipeline *p, idmefv2_pipeline_output_cb cb,
                                                   void *user_data)
{
	if (!p)
		return;
	p->output_cb = cb;
	p->output_data = user_data;
	if (cb)
		p->transport = NULL;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_pipeline_set_dead_letter(idmefv2_pipeline *p, const char *path,
                                                              char *errstr, size_t errstr_size)
{
	FILE *f = NULL;

	if (!p)
		return IDMEFV2_ERR_INVALID_ARG;
	if (path) {
		f = fopen(path, "ae");
		if (!f) {
			idmefv2__set_error(errstr, errstr_size, "dead-letter file %s: %s", path, strerror(errno));
			return IDMEFV2_ERR_IO;
		}
	}
	if (p->dead_letter)
		fclose(p->dead_letter);
	p->dead_letter = f;
	return IDMEFV2_OK;
}

/* RFC 4648 base64 of @p len bytes; NULL when out of memory. */
static char *base64_encode(const unsigned char *in, size_t len)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc((len + 2) / 3 * 4 + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0) |
		             (i + 2 < len ? in[i + 2] : 0);

		*o++ = alphabet[v >> 18];
		*o++ = alphabet[(v >> 12) & 63];
		*o++ = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
		*o++ = i + 2 < len ? alphabet[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

static bool is_utf8(const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		size_t n = s[i] < 0x80 ? 1 : idmefv2__utf8_len(s + i, len - i);

		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

/*
 * The raw line of a malformed input, for its dead-letter record: a JSON
 * string when it is UTF-8, else (JSON strings are Unicode) its bytes in base64,
 * under another key so that a reader knows which it has.
 */
static void raw_input_add(struct json_object *rec, const char *text, size_t len)
{
	char *b64;

	if (is_utf8((const unsigned char *)text, len)) {
		json_object_object_add(rec, "input", json_object_new_string_len(text, (int)len));
		return;
	}
	b64 = base64_encode((const unsigned char *)text, len);
	if (b64)
		json_object_object_add(rec, "input_base64", json_object_new_string(b64));
	free(b64);
}

static void dead_letter(idmefv2_pipeline *p, const char *origin, uint64_t line, const char *error,
                        struct json_object *input, const char *raw, size_t raw_len, struct json_object *output)
{
	struct json_object *rec;
	const char *text;

	if (!p->dead_letter)
		return;
	rec = json_object_new_object();
	if (!rec)
		goto fail;
	json_object_object_add(rec, "origin", json_object_new_string(origin));
	json_object_object_add(rec, "line", json_object_new_int64((int64_t)line));
	json_object_object_add(rec, "error", json_object_new_string(error));
	if (raw)
		raw_input_add(rec, raw, raw_len);
	else
		json_object_object_add(rec, "input", json_object_get(input));
	if (output)
		json_object_object_add(rec, "output", json_object_get(output));
	text = json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!text || fprintf(p->dead_letter, "%s\n", text) < 0 || fflush(p->dead_letter) != 0) {
		json_object_put(rec);
		goto fail;
	}
	json_object_put(rec);
	return;
fail:
	plog(p, IDMEFV2_LOG_ERROR, "%s:%" PRIu64 ": cannot write the dead-letter record", origin, line);
}

static void deliver(idmefv2_pipeline *p, struct json_object *out, const char *origin, uint64_t line,
                    void *opaque)
{
	char err[512] = "";
	idmefv2_error e;
	const char *text;

	if (p->output_cb) {
		e = p->output_cb(p, out, p->output_data);
		if (e == IDMEFV2_OK) {
			count(p, &p->counters.sent);
		} else {
			count(p, &p->counters.failed);
			plog(p, IDMEFV2_LOG_WARNING, "%s:%" PRIu64 ": output refused: %s", origin, line,
			     idmefv2_strerror(e));
		}
		report(p, opaque, e == IDMEFV2_OK ? IDMEFV2_DELIVERY_SENT : IDMEFV2_DELIVERY_FAILED);
		return;
	}
	if (!p->transport) {
		report(p, opaque, IDMEFV2_DELIVERY_SENT);
		return;
	}
	text = json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!text) {
		e = IDMEFV2_ERR_NOMEM;
		idmefv2__set_error(err, sizeof(err), "out of memory");
	} else {
		e = idmefv2_transport_send_raw(p->transport, "application/json", text, strlen(text), opaque,
		                               err, sizeof(err));
	}
	if (e != IDMEFV2_OK) {
		count(p, &p->counters.failed);
		plog(p, IDMEFV2_LOG_WARNING, "%s:%" PRIu64 ": send failed: %s: %s", origin, line,
		     idmefv2_strerror(e), err);
		/* Refused by send(): the transport will not report it, so the pipeline does. */
		report(p, opaque, IDMEFV2_DELIVERY_FAILED);
	}
}

/*
 * A dead-letter record keeps the input whole: when only part of the line was
 * parsed (@p text given), the line is parsed again, in full, for the record.
 */
static void dead_letter_input(idmefv2_pipeline *p, const char *origin, uint64_t line, const char *why,
                              struct json_object *input, const char *text, size_t len,
                              struct json_object *output)
{
	struct json_object *full = NULL;

	if (!p->dead_letter)
		return;
	if (text && idmefv2_json_parse(text, len, &full, NULL, 0) == IDMEFV2_OK)
		input = full;
	dead_letter(p, origin, line, why, input, NULL, 0, output);
	json_object_put(full);
}

/*
 * The IDs inside a message (Source(0).ID, Target(0).ID, Attachment(n).ID...)
 * are derived from the message's ID and their place in it (@p path, as
 * "/Source/0/ID"), so that an input converted again gives the same message.
 * Only values that are UUIDs are replaced (an ID of another form comes from
 * the input itself).
 */
static void derive_ids(struct json_object *node, const char *top_id, char *path, size_t plen, size_t cap)
{
	if (json_object_is_type(node, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(node); i++) {
			int n = snprintf(path + plen, cap - plen, "/%zu", i);

			if (n > 0 && (size_t)n < cap - plen)
				derive_ids(json_object_array_get_idx(node, i), top_id, path, plen + (size_t)n, cap);
		}
		return;
	}
	if (!json_object_is_type(node, json_type_object))
		return;
	json_object_object_foreach(node, key, val) {
		int n = snprintf(path + plen, cap - plen, "/%s", key);

		if (n <= 0 || (size_t)n >= cap - plen)
			continue;
		if (plen > strlen(top_id) && strcmp(key, "ID") == 0 && json_object_is_type(val, json_type_string) &&
		    idmefv2_uuid_is_valid(json_object_get_string(val))) {
			char id[IDMEFV2_UUID_STRLEN];

			if (idmefv2_uuid_from_name(IDMEFV2_UUID_NAMESPACE, path, plen + (size_t)n, id, sizeof(id)) ==
			    IDMEFV2_OK)
				json_object_object_add(node, key, json_object_new_string(id));
		} else {
			derive_ids(val, top_id, path, plen + (size_t)n, cap);
		}
	}
}

/* What the caller says of one input: its line number, its ID, its tracking value. */
struct push_info {
	const char *origin;
	uint64_t line;
	const char *id;
	void *opaque;
};

static idmefv2_error process(idmefv2_pipeline *p, struct json_object *input, const char *text, size_t len,
                             const struct push_info *in, idmefv2_pipeline_result *ret_result)
{
	const char *origin = in->origin;
	uint64_t line = in->line;
	idmefv2_pipeline_result result = IDMEFV2_PIPELINE_INVALID;
	struct json_object *out = NULL;
	idmefv2_report *report = NULL;
	char err[512] = "", why[1024];
	idmefv2_error e;

	e = idmefv2_mapping_apply(p->mapping, input, &out, err, sizeof(err));
	if (e == IDMEFV2_ERR_NOMEM)
		goto out;
	if (e != IDMEFV2_OK) {
		e = IDMEFV2_OK;
		count(p, &p->counters.invalid);
		snprintf(why, sizeof(why), "mapping failed: %s", err);
		plog(p, IDMEFV2_LOG_WARNING, "%s:%" PRIu64 ": %s", origin, line, why);
		dead_letter_input(p, origin, line, why, input, text, len, NULL);
		goto out;
	}
	if (!out) {
		result = IDMEFV2_PIPELINE_FILTERED;
		count(p, &p->counters.filtered);
		goto out;
	}
	/* An ID derived from the input's identity replaces the template's, before validation checks it. */
	if (in->id && json_object_is_type(out, json_type_object)) {
		char path[512];

		json_object_object_add(out, "ID", json_object_new_string(in->id));
		snprintf(path, sizeof(path), "%s", in->id);
		derive_ids(out, in->id, path, strlen(path), sizeof(path));
	}
	e = idmefv2_schema_validate(p->schema, out, IDMEFV2_VALIDATE_FIRST_ERROR, &report);
	if (e == IDMEFV2_ERR_INVALID) {
		e = IDMEFV2_OK;
		count(p, &p->counters.invalid);
		if (report && idmefv2_report_count(report) > 0) {
			const char *ptr = idmefv2_report_instance_path(report, 0);

			snprintf(why, sizeof(why), "invalid output: %s: %s", ptr[0] ? ptr : "/",
			         idmefv2_report_message(report, 0));
		} else {
			snprintf(why, sizeof(why), "invalid output");
		}
		plog(p, IDMEFV2_LOG_WARNING, "%s:%" PRIu64 ": %s", origin, line, why);
		dead_letter_input(p, origin, line, why, input, text, len, out);
		goto out;
	}
	if (e != IDMEFV2_OK)
		goto out;
	result = IDMEFV2_PIPELINE_CONVERTED;
	count(p, &p->counters.converted);
	deliver(p, out, origin, line, in->opaque);
out:
	idmefv2_report_free(report);
	json_object_put(out);
	if (ret_result)
		*ret_result = result;
	return e;
}

/* Line number for logs: the caller's, or the running count of inputs. */
static uint64_t take_line(idmefv2_pipeline *p, uint64_t line)
{
	uint64_t n;

	pthread_mutex_lock(&p->lock);
	n = ++p->counters.read;
	pthread_mutex_unlock(&p->lock);
	return line ? line : n;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_pipeline_push_object_tracked(idmefv2_pipeline *p, struct json_object *input,
                                                                  const char *origin, uint64_t line,
                                                                  const char *id, void *opaque,
                                                                  idmefv2_pipeline_result *ret_result)
{
	struct push_info in = { .origin = origin ? origin : "input", .id = id, .opaque = opaque };

	if (!p || (id && !idmefv2_uuid_is_valid(id)))
		return IDMEFV2_ERR_INVALID_ARG;
	origin = in.origin;
	line = in.line = take_line(p, line);
	if (!json_object_is_type(input, json_type_object)) {
		count(p, &p->counters.malformed);
		plog(p, IDMEFV2_LOG_WARNING, "%s:%" PRIu64 ": malformed input: not a JSON object", origin, line);
		dead_letter(p, origin, line, "malformed input: not a JSON object", input, NULL, 0, NULL);
		if (ret_result)
			*ret_result = IDMEFV2_PIPELINE_MALFORMED;
		return IDMEFV2_OK;
	}
	return process(p, input, NULL, 0, &in, ret_result);
}

IDMEFV2_EXPORT idmefv2_error idmefv2_pipeline_push_object(idmefv2_pipeline *p, struct json_object *input,
                                                          const char *origin, uint64_t line,
                                                          idmefv2_pipeline_result *ret_result)
{
	return idmefv2_pipeline_push_object_tracked(p, input, origin, line, NULL, NULL, ret_result);
}

IDMEFV2_EXPORT idmefv2_error idmefv2_pipeline_push_line_tracked(idmefv2_pipeline *p, const char *text, size_t len,
                                                                const char *origin, uint64_t line,
                                                                const char *id, void *opaque,
                                                                idmefv2_pipeline_result *ret_result)
{
	struct push_info in = { .id = id, .opaque = opaque };
	struct json_object *input = NULL;
	const idmefv2__proj *proj;
	bool projected = false;
	char err[512] = "";
	idmefv2_error e;

	if (!p || (!text && len > 0) || (id && !idmefv2_uuid_is_valid(id)))
		return IDMEFV2_ERR_INVALID_ARG;
	if (!origin)
		origin = "input";
	if (len > 0 && text[len - 1] == '\n')
		len--;
	if (len > 0 && text[len - 1] == '\r')
		len--;
	line = take_line(p, line);
	in.origin = origin;
	in.line = line;
	/* Only what the template reads, when it can; else (and for any error) the full parser. */
	proj = idmefv2__mapping_projection(p->mapping);
	if (proj && text && idmefv2__json_project(text, len, proj, &input) == IDMEFV2_OK) {
		projected = true;
		e = IDMEFV2_OK;
	} else {
		e = idmefv2_json_parse(text ? text : "", len, &input, err, sizeof(err));
	}
	if (e == IDMEFV2_ERR_NOMEM)
		return e;
	if (e != IDMEFV2_OK || !json_object_is_type(input, json_type_object)) {
		count(p, &p->counters.malformed);
		plog(p, IDMEFV2_LOG_WARNING, "%s:%" PRIu64 ": malformed JSON: %s", origin, line,
		     e != IDMEFV2_OK ? err : "not a JSON object");
		if (p->dead_letter) {
			/* The line as it was, so that nothing read is lost. */
			char why[600];

			snprintf(why, sizeof(why), "malformed JSON: %s", e != IDMEFV2_OK ? err : "not a JSON object");
			dead_letter(p, origin, line, why, NULL, text ? text : "", len, NULL);
		}
		json_object_put(input);
		if (ret_result)
			*ret_result = IDMEFV2_PIPELINE_MALFORMED;
		return IDMEFV2_OK;
	}
	e = process(p, input, projected ? text : NULL, len, &in, ret_result);
	json_object_put(input);
	return e;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_pipeline_push_line(idmefv2_pipeline *p, const char *text, size_t len,
                                                        const char *origin, uint64_t line,
                                                        idmefv2_pipeline_result *ret_result)
{
	return idmefv2_pipeline_push_line_tracked(p, text, len, origin, line, NULL, NULL, ret_result);
}

IDMEFV2_EXPORT void idmefv2_pipeline_get_counters(idmefv2_pipeline *p,
                                                  idmefv2_pipeline_counters *ret_counters)
{
	if (!ret_counters)
		return;
	if (!p) {
		memset(ret_counters, 0, sizeof(*ret_counters));
		return;
	}
	pthread_mutex_lock(&p->lock);
	*ret_counters = p->counters;
	pthread_mutex_unlock(&p->lock);
}

IDMEFV2_EXPORT void idmefv2_pipeline_free(idmefv2_pipeline *p)
{
	if (!p)
		return;
	if (p->dead_letter)
		fclose(p->dead_letter);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
