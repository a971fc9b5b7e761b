/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A one-pass parser for the common case, building the same json-c values as
 * json-c's own parser. json-c's tokener copies every string through a buffer
 * and our strict checks take a second pass; for the well-formed messages a
 * listener receives by the hundred thousand, this parser checks and builds in
 * one pass.
 *
 * It handles a strict subset of JSON and gives up on anything else (any
 * syntax error, exponents, integers over 18 digits, \u0000 and surrogate
 * escapes, escaped member names, nesting deeper than 60): the caller then
 * parses with json-c, so errors, their messages and corner cases stay
 * json-c's. What it accepts, json-c with our strict checks accepts too, and
 * builds identically (doubles keep their text, as json-c keeps it).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "message-private.h"

#define FAST_MAX_DEPTH 60

struct fast {
	const unsigned char *s;
	size_t len;
	size_t i;
	int depth;
	char *buf; /* scratch for member names, unescaped strings and numbers */
	size_t cap;
};

static bool plain_byte[256];
static bool plain_ready;

static void plain_init(void)
{
	for (int c = 0x20; c < 0x80; c++)
		plain_byte[c] = c != '"' && c != '\\';
	__atomic_store_n(&plain_ready, true, __ATOMIC_RELEASE);
}

static void ws(struct fast *f)
{
	while (f->i < f->len) {
		unsigned char c = f->s[f->i];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			return;
		f->i++;
	}
}

static bool reserve(struct fast *f, size_t n)
{
	char *b;

	if (n <= f->cap)
		return true;
	b = realloc(f->buf, n);
	if (!b)
		return false;
	f->buf = b;
	f->cap = n;
	return true;
}



/*
 * At a '"': the string's content, unescaped. *ret points into the text when
 * it held no escape, else into f->buf; *ret_len its length.
 */
static bool string(struct fast *f, const char **ret, size_t *ret_len, bool *escaped)
{
	const unsigned char *s = f->s;
	size_t i = f->i + 1, start = i, out = 0;

	*escaped = false;
	for (;;) {
		unsigned char c;

		while (i < f->len && plain_byte[s[i]])
			i++;
		if (i >= f->len)
			return false;
		c = s[i];
		if (c == '"')
			break;
		if (c == '\\') {
			*escaped = true;
			break;
		}
		if (c < 0x20)
			return false;
		{
			size_t n = idmefv2__utf8_len(s + i, f->len - i);

			if (!n)
				return false;
			i += n;
		}
	}
	if (!*escaped) {
		*ret = (const char *)s + start;
		*ret_len = i - start;
		f->i = i + 1;
		return true;
	}
	/* Escapes: copy what came before, then decode the rest into the scratch buffer. */
	if (!reserve(f, (i - start) + (f->len - i) + 1))
		return false;
	memcpy(f->buf, s + start, i - start);
	out = i - start;
	for (;;) {
		unsigned char c;

		if (i >= f->len)
			return false;
		c = s[i];
		if (c == '"')
			break;
		if (c == '\\') {
			unsigned char e;

			if (i + 1 >= f->len)
				return false;
			e = s[i + 1];
			switch (e) {
			case '"': f->buf[out++] = '"'; break;
			case '\\': f->buf[out++] = '\\'; break;
			case '/': f->buf[out++] = '/'; break;
			case 'b': f->buf[out++] = '\b'; break;
			case 'f': f->buf[out++] = '\f'; break;
			case 'n': f->buf[out++] = '\n'; break;
			case 'r': f->buf[out++] = '\r'; break;
			case 't': f->buf[out++] = '\t'; break;
			case 'u': {
				unsigned v = 0;

				if (i + 5 >= f->len)
					return false;
				for (int k = 2; k < 6; k++) {
					int h = idmefv2__hex_value(s[i + k]);

					if (h < 0)
						return false;
					v = v * 16 + (unsigned)h;
				}
				/* NUL and surrogates: json-c's own rules apply. */
				if (v == 0 || (v >= 0xd800 && v <= 0xdfff))
					return false;
				if (v < 0x80) {
					f->buf[out++] = (char)v;
				} else if (v < 0x800) {
					f->buf[out++] = (char)(0xc0 | (v >> 6));
					f->buf[out++] = (char)(0x80 | (v & 0x3f));
				} else {
					f->buf[out++] = (char)(0xe0 | (v >> 12));
					f->buf[out++] = (char)(0x80 | ((v >> 6) & 0x3f));
					f->buf[out++] = (char)(0x80 | (v & 0x3f));
				}
				i += 4;
				break;
			}
			default:
				return false;
			}
			i += 2;
			continue;
		}
		if (c < 0x20)
			return false;
		if (c < 0x80) {
			f->buf[out++] = (char)c;
			i++;
		} else {
			size_t n = idmefv2__utf8_len(s + i, f->len - i);

			if (!n)
				return false;
			memcpy(f->buf + out, s + i, n);
			out += n;
			i += n;
		}
	}
	f->buf[out] = '\0';
	*ret = f->buf;
	*ret_len = out;
	f->i = i + 1;
	return true;
}

static bool number(struct fast *f, struct json_object **out)
{
	const unsigned char *s = f->s;
	size_t i = f->i, start = f->i, digits;
	bool is_double = false;

	if (i < f->len && s[i] == '-')
		i++;
	if (i >= f->len)
		return false;
	if (s[i] == '0') {
		i++;
	} else if (s[i] >= '1' && s[i] <= '9') {
		size_t d0 = i;

		while (i < f->len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i - d0 > 18)
			return false;
	} else {
		return false;
	}
	if (i < f->len && s[i] == '.') {
		is_double = true;
		i++;
		digits = 0;
		while (i < f->len && s[i] >= '0' && s[i] <= '9') {
			i++;
			digits++;
		}
		if (!digits || i - start > 40)
			return false;
	}
	if (i < f->len && (s[i] == 'e' || s[i] == 'E'))
		return false;
	f->i = i;
	if (!is_double) {
		int64_t v = 0;

		for (size_t k = start + (s[start] == '-'); k < i; k++)
			v = v * 10 + (s[k] - '0');
		*out = json_object_new_int64(s[start] == '-' ? -v : v);
		return *out != NULL;
	}
	if (!reserve(f, i - start + 1))
		return false;
	memcpy(f->buf, s + start, i - start);
	f->buf[i - start] = '\0';
	/* The text is kept for printing, as json-c's parser keeps it ("1.50" stays "1.50"). */
	*out = json_object_new_double_s(strtod(f->buf, NULL), f->buf);
	return *out != NULL;
}

static bool literal(struct fast *f, const char *word, size_t n)
{
	if (f->len - f->i < n || memcmp(f->s + f->i, word, n) != 0)
		return false;
	f->i += n;
	return true;
}

static bool value(struct fast *f, struct json_object **out)
{
	unsigned char c;

	*out = NULL;
	ws(f);
	if (f->i >= f->len)
		return false;
	c = f->s[f->i];
	if (c == '{' || c == '[') {
		bool is_obj = c == '{';
		struct json_object *v = is_obj ? json_object_new_object() : json_object_new_array();

		if (!v || ++f->depth > FAST_MAX_DEPTH)
			goto fail;
		f->i++;
		ws(f);
		if (f->i < f->len && f->s[f->i] == (is_obj ? '}' : ']')) {
			f->i++;
			f->depth--;
			*out = v;
			return true;
		}
		for (;;) {
			struct json_object *child;

			if (is_obj) {
				const char *key;
				size_t klen;
				bool kesc;

				ws(f);
				if (f->i >= f->len || f->s[f->i] != '"' || !string(f, &key, &klen, &kesc) || kesc)
					goto fail;
				ws(f);
				if (f->i >= f->len || f->s[f->i] != ':')
					goto fail;
				f->i++;
				{
					/* json-c copies member names, from a NUL-terminated string. */
					char stackkey[128], *k = klen < sizeof(stackkey) ? stackkey : malloc(klen + 1);
					bool ok;

					if (!k)
						goto fail;
					memcpy(k, key, klen);
					k[klen] = '\0';
					ok = value(f, &child);
					if (ok && json_object_object_add(v, k, child) != 0) {
						json_object_put(child);
						ok = false;
					}
					if (k != stackkey)
						free(k);
					if (!ok)
						goto fail;
				}
			} else {
				if (!value(f, &child))
					goto fail;
				if (json_object_array_add(v, child) != 0) {
					json_object_put(child);
					goto fail;
				}
			}
			ws(f);
			if (f->i >= f->len)
				goto fail;
			if (f->s[f->i] == ',') {
				f->i++;
				continue;
			}
			if (f->s[f->i] != (is_obj ? '}' : ']'))
				goto fail;
			f->i++;
			break;
		}
		f->depth--;
		*out = v;
		return true;
fail:
		json_object_put(v);
		return false;
	}
	if (c == '"') {
		const char *str;
		size_t n;
		bool esc;

		if (!string(f, &str, &n, &esc) || n > INT32_MAX)
			return false;
		*out = json_object_new_string_len(str, (int)n);
		return *out != NULL;
	}
	if (c == 't') {
		if (!literal(f, "true", 4))
			return false;
		*out = json_object_new_boolean(1);
		return *out != NULL;
	}
	if (c == 'f') {
		if (!literal(f, "false", 5))
			return false;
		*out = json_object_new_boolean(0);
		return *out != NULL;
	}
	if (c == 'n')
		return literal(f, "null", 4);
	return number(f, out);
}

bool idmefv2__json_parse_fast(const char *text, size_t len, struct json_object **ret_obj)
{
	struct fast f = { (const unsigned char *)text, len, 0, 0, NULL, 0 };
	struct json_object *obj = NULL;
	bool ok;

	if (!__atomic_load_n(&plain_ready, __ATOMIC_ACQUIRE))
		plain_init();
	ok = value(&f, &obj);
	if (ok) {
		ws(&f);
		ok = f.i == len;
	}
	free(f.buf);
	if (!ok) {
		json_object_put(obj);
		return false;
	}
	*ret_obj = obj;
	return true;
}
