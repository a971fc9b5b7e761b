/* SPDX-License-Identifier: Apache-2.0 */
/* JSON text in and out: strict parsing, content types, (un)serialization. */
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include <idmefv2/message.h>
#include <idmefv2/schema.h>

#include "message-private.h"

/* ---- strict parsing ------------------------------------------------------------------- */

/* Deeper than any IDMEFv2 message; bounds the stack of json-c's parser. */
#define JSON_MAX_DEPTH 64

/*
 * One tokener per thread, reset per parse: creating one costs several
 * allocations. The key's destructor frees it when the thread exits.
 */
static _Thread_local struct json_tokener *thread_tok;
static pthread_key_t tok_key;
static bool tok_key_ok;
static pthread_once_t tok_once = PTHREAD_ONCE_INIT;

static void tokener_destroy(void *tok)
{
	if (tok == thread_tok)
		thread_tok = NULL;
	json_tokener_free(tok);
}

static void tokener_key_init(void)
{
	tok_key_ok = pthread_key_create(&tok_key, tokener_destroy) == 0;
}

static struct json_tokener *tokener_get(void)
{
	struct json_tokener *tok = thread_tok;

	if (tok)
		return tok;
	pthread_once(&tok_once, tokener_key_init);
	tok = json_tokener_new_ex(JSON_MAX_DEPTH);
	if (!tok)
		return NULL;
	/*
	 * Trailing characters are checked here, to report them as such. UTF-8
	 * is checked by strict_scan(): JSON_TOKENER_VALIDATE_UTF8 (json-c 0.15+)
	 * costs about a third of the parse time and still lets overlong forms
	 * and surrogates through.
	 */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS);
	if (tok_key_ok)
		pthread_setspecific(tok_key, tok);
	thread_tok = tok;
	return tok;
}

static void line_col(const char *text, size_t off, size_t *ret_line, size_t *ret_col)
{
	const char *p = text, *end = text + off, *nl;
	size_t line = 1;

	while ((nl = memchr(p, '\n', (size_t)(end - p)))) {
		line++;
		p = nl + 1;
	}
	*ret_line = line;
	*ret_col = (size_t)(end - p) + 1;
}

static idmefv2_error parse_error(const char *text, size_t off, const char *why,
                                 char *errstr, size_t errstr_size)
{
	size_t line, col;

	if (errstr && errstr_size) {
		line_col(text, off, &line, &col);
		snprintf(errstr, errstr_size, "line %zu, column %zu: %s", line, col, why);
	}
	return IDMEFV2_ERR_PARSE;
}

static bool is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}


/*
 * Bytes needing a closer look: SCAN_STR inside strings ('"', '\\', controls,
 * non-ASCII), SCAN_OUT outside ('"', '\'', '.', 'I', 'N', controls,
 * non-ASCII).
 */
enum { SCAN_STR = 1, SCAN_OUT = 2 };

static const unsigned char scan_class[256] = {
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* 0x00 */
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* 0x10 */
	0, 0, 3, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 2, 0, /* 0x20  "  '  . */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x30 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 2, 0, /* 0x40  I  N */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, /* 0x50  \ */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x60 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x70 */
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* 0x80 */
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
};

#define BYTES_ONES UINT64_C(0x0101010101010101)
#define BYTES_HIGH UINT64_C(0x8080808080808080)

/*
 * The high bit of each byte of @w below @n (n <= 0x80) is set ("Bit
 * Twiddling Hacks"); bytes above a match may be flagged too, so only the
 * lowest flag is exact.
 */
static inline uint64_t bytes_below(uint64_t w, unsigned n)
{
	return (w - BYTES_ONES * n) & ~w & BYTES_HIGH;
}

/*
 * The offset of the first SCAN_STR byte of s[i, len), eight bytes at a time:
 * most of a message is string content.
 */
static size_t str_skip_plain(const unsigned char *s, size_t i, size_t len)
{
	while (i + 8 <= len) {
		uint64_t w, m;

		memcpy(&w, s + i, 8);
		m = bytes_below(w ^ (BYTES_ONES * '"'), 1) | bytes_below(w ^ (BYTES_ONES * '\\'), 1) |
		    bytes_below(w, 0x20) | (w & BYTES_HIGH);
		if (m) {
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			return i + (size_t)__builtin_ctzll(m) / 8;
#else
			break;
#endif
		}
		i += 8;
	}
	while (i < len && !(scan_class[s[i]] & SCAN_STR))
		i++;
	return i;
}

/*
 * json-c's strict mode still takes NaN, Infinity, `1.`, single-quoted keys,
 * raw control characters in strings and ill-formed UTF-8, and cuts keys at
 * an escaped NUL. json-c has already checked the structure of
 * text[0, len), so a scan that tracks strings finds them all.
 */
static const char *strict_scan(const char *text, size_t len, size_t *ret_off)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0;

	for (;;) {
		unsigned char c;

		while (i < len && !(scan_class[s[i]] & SCAN_OUT))
			i++;
		if (i >= len)
			return NULL;
		c = s[i];
		if (c == '"') {
			bool nul = false;

			for (i++; (i = str_skip_plain(s, i, len)) < len; i++) {
				c = s[i];
				if (c == '"')
					break;
				if (c == '\\') {
					if (i + 5 < len && memcmp(s + i + 1, "u0000", 5) == 0)
						nul = true;
					i++;
				} else if (c < 0x20) {
					*ret_off = i;
					return "control characters must be escaped in strings";
				} else {
					size_t n = idmefv2__utf8_len(s + i, len - i);

					if (!n) {
						*ret_off = i;
						return "invalid utf-8 string";
					}
					i += n - 1;
				}
			}
			if (nul) {
				size_t j = i + 1;

				while (j < len && is_ws(s[j]))
					j++;
				if (j < len && s[j] == ':') {
					*ret_off = i;
					return "an object key with \\u0000 is not supported";
				}
			}
			i++;
		} else if (c == '.') {
			if (i + 1 >= len || s[i + 1] < '0' || s[i + 1] > '9') {
				*ret_off = i + 1;
				return "a digit must follow the decimal point";
			}
			i++;
		} else if (is_ws(c)) {
			i++;
		} else {
			*ret_off = i;
			return c == '\'' ? "strings take double quotes" : c == 'N' || c == 'I' ?
			                   "NaN and Infinity are not JSON numbers" : "unexpected character";
		}
	}
}

/* Whether the @n digits at @d (no leading zero) fit json-c's int64, or uint64 when positive. */
static bool int_fits(const char *d, size_t n, bool neg)
{
	static const char max_pos[] = "18446744073709551615", max_neg[] = "9223372036854775808";
	const char *max = neg ? max_neg : max_pos;
	size_t max_len = strlen(max);

	return n < max_len || (n == max_len && memcmp(d, max, n) <= 0);
}

/*
 * json-c turns an integer beyond 64 bits into the nearest 64-bit value: the
 * message would be checked, reported and stored with a number it does not
 * hold. Such an integer is refused instead, named by its text (the first 40
 * digits and the count of the others). The structure is already checked.
 */
static const char *big_int_scan(const char *text, size_t len, size_t *ret_off, char *why, size_t why_size)
{
	const unsigned char *s = (const unsigned char *)text;

	for (size_t i = 0; i < len; i++) {
		size_t start = i, d0, n;
		bool neg;

		if (s[i] == '"') {
			/* Skip the string: to its closing quote, over escapes. */
			for (i = str_skip_plain(s, i + 1, len); i < len && s[i] != '"';
			     i = str_skip_plain(s, i + (s[i] == '\\' ? 2 : 1), len))
				;
			continue;
		}
		if (s[i] != '-' && (s[i] < '0' || s[i] > '9'))
			continue;
		neg = s[i] == '-';
		d0 = i + neg;
		for (i = d0; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			;
		n = i - d0;
		if ((i >= len || (s[i] != '.' && s[i] != 'e' && s[i] != 'E')) && !int_fits(text + d0, n, neg)) {
			if (n > 40)
				snprintf(why, why_size, "integer %s%.40s\xe2\x80\xa6(%zu digits) does not fit in 64 bits",
				         neg ? "-" : "", text + d0, n);
			else
				snprintf(why, why_size, "integer %s%.*s does not fit in 64 bits", neg ? "-" : "", (int)n,
				         text + d0);
			*ret_off = start;
			return why;
		}
		/* The rest of the number (fraction, exponent) holds no string. */
		while (i < len && (s[i] == '.' || s[i] == 'e' || s[i] == 'E' || s[i] == '+' || s[i] == '-' ||
		                   (s[i] >= '0' && s[i] <= '9')))
			i++;
		i--;
	}
	return NULL;
}

idmefv2_error idmefv2__json_parse(const char *text, size_t len, struct json_object **ret_obj,
                                  char *errstr, size_t errstr_size)
{
	if (text && len < INT_MAX && idmefv2__json_parse_fast(text, len, ret_obj))
		return IDMEFV2_OK;
	return idmefv2__json_parse_jsonc(text, len, ret_obj, errstr, errstr_size);
}

idmefv2_error idmefv2__json_parse_jsonc(const char *text, size_t len, struct json_object **ret_obj,
                                        char *errstr, size_t errstr_size)
{
	enum json_tokener_error jerr;
	struct json_tokener *tok;
	struct json_object *obj;
	const char *why;
	char big[128];
	size_t end, off;

	if (len >= INT_MAX) {
		idmefv2__message_error(errstr, errstr_size, "JSON text too large (%zu bytes)", len);
		return IDMEFV2_ERR_PARSE;
	}
	tok = tokener_get();
	if (!tok) {
		idmefv2__message_error(errstr, errstr_size, "out of memory");
		return IDMEFV2_ERR_NOMEM;
	}
	json_tokener_reset(tok);
	obj = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (jerr == json_tokener_continue) {
		/* After a top-level number or literal json-c waits for more; a NUL says there is none. */
		obj = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
		end = len;
	}
	if (jerr != json_tokener_success) {
		json_tokener_reset(tok); /* drops the partial value now */
		for (off = 0; off < len && is_ws((unsigned char)text[off]); off++)
			;
		if (off == len)
			return parse_error(text, len, "empty input", errstr, errstr_size);
		return parse_error(text, end < len ? end : len, json_tokener_error_desc(jerr), errstr, errstr_size);
	}
	for (off = end; off < len; off++) {
		if (!is_ws((unsigned char)text[off])) {
			size_t line, col;

			json_object_put(obj);
			line_col(text, off, &line, &col);
			idmefv2__message_error(errstr, errstr_size, "trailing garbage at line %zu, column %zu", line, col);
			return IDMEFV2_ERR_PARSE;
		}
	}
	why = strict_scan(text, end, &off);
	if (!why)
		why = big_int_scan(text, end, &off, big, sizeof(big));
	if (why) {
		json_object_put(obj);
		return parse_error(text, off, why, errstr, errstr_size);
	}
	*ret_obj = obj;
	return IDMEFV2_OK;
}

/* ---- content types --------------------------------------------------------------------------- */

static const char *skip_ws(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

static bool is_token_char(char c)
{
	return c > ' ' && c < 0x7f && !strchr("()<>@,;:\\\"/[]?={}", c);
}

/* RFC 9110 parameters after the media type; a charset must be UTF-8 (RFC 8259 §8.1). */
static bool params_ok(const char *s)
{
	for (;;) {
		const char *name, *val;
		size_t nlen, vlen;

		s = skip_ws(s);
		if (*s == '\0')
			return true;
		if (*s++ != ';')
			return false;
		s = skip_ws(s);
		if (*s == '\0')
			return true; /* a trailing ';' is harmless */
		for (name = s; is_token_char(*s); s++)
			;
		nlen = (size_t)(s - name);
		if (!nlen || *s++ != '=')
			return false;
		if (*s == '"') {
			for (val = ++s; *s && *s != '"'; s++)
				if (*s == '\\' && s[1])
					s++;
			if (*s != '"')
				return false;
			vlen = (size_t)(s++ - val);
		} else {
			for (val = s; is_token_char(*s); s++)
				;
			vlen = (size_t)(s - val);
			if (!vlen)
				return false;
		}
		if (nlen == 7 && strncasecmp(name, "charset", 7) == 0 &&
		    !(vlen == 5 && strncasecmp(val, "utf-8", 5) == 0) &&
		    !(vlen == 4 && strncasecmp(val, "utf8", 4) == 0))
			return false;
	}
}

IDMEFV2_EXPORT bool idmefv2_content_type_supported(const char *content_type)
{
	static const char *const types[] = { "application/json", "text/json" };
	const char *s;

	if (!content_type)
		return false;
	s = skip_ws(content_type);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		size_t n = strlen(types[i]);

		if (strncasecmp(s, types[i], n) == 0 && (s[n] == '\0' || s[n] == ';' || s[n] == ' ' || s[n] == '\t'))
			return params_ok(s + n);
	}
	return false;
}

static idmefv2_error check_content_type(const char *content_type, char *errstr, size_t errstr_size)
{
	if (idmefv2_content_type_supported(content_type))
		return IDMEFV2_OK;
	if (!content_type)
		idmefv2__message_error(errstr, errstr_size,
		                       "no content type (supported: application/json, text/json)");
	else
		idmefv2__message_error(errstr, errstr_size,
		                       "unsupported content type \"%.200s\" (supported: application/json, text/json)",
		                       content_type);
	return IDMEFV2_ERR_CONTENT_TYPE;
}

/* ---- (un)serialization ------------------------------------------------------------------------ */

IDMEFV2_EXPORT idmefv2_error idmefv2_message_serialize(idmefv2_message *msg, const char *content_type,
                                                       unsigned flags,
                                                       const char **ret_data, size_t *ret_len,
                                                       idmefv2_report **ret_report,
                                                       char *errstr, size_t errstr_size)
{
	int jflags = JSON_C_TO_STRING_NOSLASHESCAPE;
	const char *data;
	size_t len;
	idmefv2_error err;

	if (!msg || !ret_data) {
		idmefv2__message_error(errstr, errstr_size, "%s is NULL", msg ? "ret_data" : "msg");
		return IDMEFV2_ERR_INVALID_ARG;
	}
	err = check_content_type(content_type, errstr, errstr_size);
	if (err)
		return err;
	if (!(flags & IDMEFV2_SERIALIZE_NO_VALIDATE)) {
		err = idmefv2_message_validate(msg, flags, ret_report, errstr, errstr_size);
		if (err)
			return err;
	}
	jflags |= (flags & IDMEFV2_SERIALIZE_PRETTY) ? JSON_C_TO_STRING_PRETTY : JSON_C_TO_STRING_PLAIN;
	data = json_object_to_json_string_length(msg->obj, jflags, &len);
	if (!data) {
		idmefv2__message_error(errstr, errstr_size, "out of memory");
		return IDMEFV2_ERR_NOMEM;
	}
	*ret_data = data;
	if (ret_len)
		*ret_len = len;
	return IDMEFV2_OK;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_message_unserialize(const char *content_type,
                                                         const char *data, size_t len,
                                                         unsigned flags,
                                                         idmefv2_message **ret_msg,
                                                         idmefv2_report **ret_report,
                                                         char *errstr, size_t errstr_size)
{
	idmefv2_message *msg;
	idmefv2_error err;

	if (!ret_msg) {
		idmefv2__message_error(errstr, errstr_size, "ret_msg is NULL");
		return IDMEFV2_ERR_INVALID_ARG;
	}
	err = check_content_type(content_type, errstr, errstr_size);
	if (err)
		return err;
	err = idmefv2_message_new_from_json(data, len, &msg, errstr, errstr_size);
	if (err)
		return err;
	if (!(flags & IDMEFV2_SERIALIZE_NO_VALIDATE)) {
		err = idmefv2_message_validate(msg, flags, ret_report, errstr, errstr_size);
		if (err) {
			idmefv2_message_unref(msg);
			return err;
		}
	}
	*ret_msg = msg;
	return IDMEFV2_OK;
}

IDMEFV2_EXPORT idmefv2_error idmefv2_json_parse(const char *text, size_t len, struct json_object **ret_obj,
                                                char *errstr, size_t errstr_size)
{
	if (!text || !ret_obj) {
		idmefv2__message_error(errstr, errstr_size, "text or ret_obj is NULL");
		return IDMEFV2_ERR_INVALID_ARG;
	}
	return idmefv2__json_parse(text, len, ret_obj, errstr, errstr_size);
}
