/* SPDX-License-Identifier: Apache-2.0 */
/* Event Stream Requests, request flags and Streaming Requests. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <estreamer/request.h>

#include "estreamer-private.h"

/* Bit n of the request flags is 1u << n; names are those of the Python library's config. */
static const char *const flag_names[31] = {
	"packets",        "metadata",       "ids",            "discovery",     "correlation",
	"impact",         "ids_1",          "discovery_v2",   "connection",    "correlation_v2",
	"discovery_v3",   "disable_events", "connection_v3",  "correlation_v3", "metadata_v2",
	"metadata_v3",    "reserved",       "discovery_v4",   "connection_v4", "correlation_v4",
	"metadata_v4",    "user",           "correlation_v5", "timestamp",     "discovery_v5",
	"discovery_v6",   "connection_v5",  "extra_data",     "discovery_v7",  "correlation_v6",
	"extended_request",
};

struct event_type_name {
	const char *name;
	uint16_t code;
	uint16_t version;
};

/* Versions are those of Cisco's newest client (eNcore 5.2). */
static const struct event_type_name event_types[] = {
	{ "INTRUSION_EVENTS", 12, 11 }, { "METADATA", 21, 4 }, { "CORRELATION", 31, 9 },
	{ "DISCOVERY", 61, 11 },        { "CONNECTION", 71, 17 }, { "USER", 91, 7 },
	{ "MALWARE", 101, 8 },          { "FILE", 111, 7 },    { "IMPACT", 131, 2 },
	{ "TERMINATE", 0, 0 },
};

#define N_EVENT_TYPES (sizeof(event_types) / sizeof(event_types[0]))

estreamer_error estreamer_flag_lookup(const char *name, unsigned *ret_bit)
{
	if (!name || !ret_bit)
		return ESTREAMER_ERR_INVALID_ARG;
	for (unsigned i = 0; i < 31; i++) {
		if (strcasecmp(name, flag_names[i]) == 0) {
			*ret_bit = i;
			return ESTREAMER_OK;
		}
	}
	return ESTREAMER_ERR_INVALID_ARG;
}

const char *estreamer_flag_name(unsigned bit)
{
	return bit < 31 ? flag_names[bit] : NULL;
}

static int is_sep(char ch)
{
	return ch == ',' || ch == '|' || isspace((unsigned char)ch);
}

estreamer_error estreamer_flags_parse(const char *spec, uint32_t *ret_flags)
{
	uint32_t flags = 0;
	const char *p = spec;

	if (!spec || !ret_flags)
		return ESTREAMER_ERR_INVALID_ARG;
	while (isspace((unsigned char)*p))
		p++;
	if (isdigit((unsigned char)*p)) {
		char *end;
		unsigned long long v;

		errno = 0;
		v = strtoull(p, &end, 0);
		while (isspace((unsigned char)*end))
			end++;
		if (errno || *end || v > 0xffffffffull)
			return ESTREAMER_ERR_INVALID_ARG;
		*ret_flags = (uint32_t)v;
		return ESTREAMER_OK;
	}
	while (*p) {
		char word[64];
		size_t n = 0;
		unsigned bit;

		while (*p && is_sep(*p))
			p++;
		if (!*p)
			break;
		while (p[n] && !is_sep(p[n]))
			n++;
		if (n >= sizeof(word))
			return ESTREAMER_ERR_INVALID_ARG;
		memcpy(word, p, n);
		word[n] = '\0';
		p += n;
		if (estreamer_flag_lookup(word, &bit) != ESTREAMER_OK)
			return ESTREAMER_ERR_INVALID_ARG;
		flags |= 1u << bit;
	}
	*ret_flags = flags;
	return ESTREAMER_OK;
}

void estreamer_request_event_stream(uint32_t timestamp, uint32_t flags,
				    uint8_t out[ESTREAMER_EVENT_STREAM_REQUEST_SIZE])
{
	estreamer__put16(out, 1);
	estreamer__put16(out + 2, 2);
	estreamer__put32(out + 4, 8);
	estreamer__put32(out + 8, timestamp);
	estreamer__put32(out + 12, flags);
}

void estreamer_request_null(uint8_t out[8])
{
	memset(out, 0, 8);
	out[1] = 1;
}

estreamer_error estreamer_event_type_lookup(const char *name, estreamer_event_type *ret_type)
{
	if (!name || !ret_type)
		return ESTREAMER_ERR_INVALID_ARG;
	for (size_t i = 0; i < N_EVENT_TYPES; i++) {
		if (strcasecmp(name, event_types[i].name) == 0) {
			ret_type->code = event_types[i].code;
			ret_type->version = event_types[i].version;
			return ESTREAMER_OK;
		}
	}
	return ESTREAMER_ERR_INVALID_ARG;
}

size_t estreamer__default_event_types(estreamer_event_type *types, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < N_EVENT_TYPES && n < max; i++) {
		if (event_types[i].code == 0)
			continue;
		types[n].code = event_types[i].code;
		types[n].version = event_types[i].version;
		n++;
	}
	return n;
}

estreamer_error estreamer_event_types_parse(const char *spec, estreamer_event_type *types,
					    size_t max, size_t *ret_count)
{
	const char *p = spec;
	size_t count = 0;

	if (!spec || !types || !ret_count)
		return ESTREAMER_ERR_INVALID_ARG;
	while (*p) {
		char word[64];
		size_t n = 0;
		char *colon;
		estreamer_event_type t;
		int dup = 0;

		while (*p && (*p == ',' || isspace((unsigned char)*p)))
			p++;
		if (!*p)
			break;
		while (p[n] && p[n] != ',' && !isspace((unsigned char)p[n]))
			n++;
		if (n >= sizeof(word))
			return ESTREAMER_ERR_INVALID_ARG;
		memcpy(word, p, n);
		word[n] = '\0';
		p += n;
		colon = strchr(word, ':');
		if (colon)
			*colon = '\0';
		if (estreamer_event_type_lookup(word, &t) != ESTREAMER_OK)
			return ESTREAMER_ERR_INVALID_ARG;
		if (colon) {
			char *end;
			unsigned long v = strtoul(colon + 1, &end, 10);

			if (end == colon + 1 || *end || v > 0xffff)
				return ESTREAMER_ERR_INVALID_ARG;
			t.version = (uint16_t)v;
		}
		if (t.code == 0)
			continue;
		for (size_t i = 0; i < count; i++)
			if (types[i].code == t.code)
				dup = 1;
		if (dup)
			continue;
		if (count == max)
			return ESTREAMER_ERR_INVALID_ARG;
		types[count++] = t;
	}
	*ret_count = count;
	return ESTREAMER_OK;
}

estreamer_error estreamer_request_streaming(uint32_t timestamp, uint32_t flags,
					    const estreamer_event_type *types, size_t n,
					    estreamer_service_length mode, uint8_t *out,
					    size_t out_size, size_t *ret_len)
{
	size_t total, body;

	if ((!types && n) || !out || !ret_len || n > 0x3fff0000u / 4)
		return ESTREAMER_ERR_INVALID_ARG;
	body = 16 + 4 * (n + 1);
	total = 8 + body;
	if (out_size < total)
		return ESTREAMER_ERR_INVALID_ARG;
	estreamer__put16(out, 1);
	estreamer__put16(out + 2, ESTREAMER_MSG_STREAMING_REQUEST);
	estreamer__put32(out + 4, (uint32_t)body);
	estreamer__put32(out + 8, ESTREAMER_SERVICE_EVENTS);
	estreamer__put32(out + 12,
			 (uint32_t)(mode == ESTREAMER_SERVICE_LENGTH_EXCLUSIVE ? body - 8 : body));
	estreamer__put32(out + 16, flags);
	estreamer__put32(out + 20, timestamp);
	for (size_t i = 0; i < n; i++) {
		estreamer__put16(out + 24 + 4 * i, types[i].version);
		estreamer__put16(out + 26 + 4 * i, types[i].code);
	}
	estreamer__put32(out + 24 + 4 * n, 0);
	*ret_len = total;
	return ESTREAMER_OK;
}
