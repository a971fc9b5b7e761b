/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The URLs transports are named by: scheme://[userinfo@]host[:port][/path][?query],
 * kafka://h1:p1,h2:p2/topic (a broker list) and file:///dir (no host).
 * Only what the transports need is parsed; the text is kept for libcurl.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "transport-generic.h"
#include "transport-private.h"
#include "idmefv2-common.h"


/* A new string of @len bytes of @s with %XX sequences decoded, or NULL if malformed
 * or decoding to NUL (which would truncate a path silently). */
static char *percent_decode(const char *s, size_t len, bool *ret_nomem)
{
	char *out = malloc(len + 1);
	size_t j = 0;

	*ret_nomem = out == NULL;
	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '%') {
			out[j++] = s[i];
			continue;
		}
		if (i + 2 >= len) {
			free(out);
			return NULL;
		}
		int h = idmefv2__hex_value((unsigned char)s[i + 1]);
		int l = idmefv2__hex_value((unsigned char)s[i + 2]);
		if (h < 0 || l < 0 || (h == 0 && l == 0)) {
			free(out);
			return NULL;
		}
		out[j++] = (char)(h * 16 + l);
		i += 2;
	}
	out[j] = '\0';
	return out;
}

static char *dup_range(const char *s, size_t len)
{
	char *out = malloc(len + 1);

	if (!out)
		return NULL;
	memcpy(out, s, len);
	out[len] = '\0';
	return out;
}

static bool parse_port(const char *s, size_t len, unsigned *ret_port)
{
	unsigned port = 0;

	if (len == 0 || len > 5)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		port = port * 10 + (unsigned)(s[i] - '0');
	}
	if (port > 65535)
		return false;
	*ret_port = port;
	return true;
}

static bool is_reg_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '.' || c == '_';
}

/*
 * One "host[:port]" or "[v6]:port" of @len bytes at @s. @ret_host is a new
 * string (brackets removed) when not NULL.
 */
static idmefv2_error parse_host_port(const char *s, size_t len, char **ret_host, unsigned *ret_port,
                                     char *errstr, size_t errstr_size)
{
	const char *host;
	size_t host_len;
	const char *rest;
	size_t rest_len;

	if (len == 0) {
		idmefv2__set_error(errstr, errstr_size, "missing host");
		return IDMEFV2_ERR_URL;
	}
	if (s[0] == '[') {
		const char *close = memchr(s, ']', len);
		if (!close) {
			idmefv2__set_error(errstr, errstr_size, "unterminated '[' in host '%.*s'", (int)len, s);
			return IDMEFV2_ERR_URL;
		}
		host = s + 1;
		host_len = (size_t)(close - host);
		if (host_len == 0) {
			idmefv2__set_error(errstr, errstr_size, "empty IPv6 address in '%.*s'", (int)len, s);
			return IDMEFV2_ERR_URL;
		}
		for (size_t i = 0; i < host_len; i++) {
			char c = host[i];
			if (!isxdigit((unsigned char)c) && c != ':' && c != '.' && c != '%') {
				idmefv2__set_error(errstr, errstr_size, "invalid character '%c' in IPv6 address '%.*s'",
				                   c, (int)host_len, host);
				return IDMEFV2_ERR_URL;
			}
		}
		rest = close + 1;
		rest_len = len - (size_t)(rest - s);
		if (rest_len > 0 && rest[0] != ':') {
			idmefv2__set_error(errstr, errstr_size, "unexpected '%.*s' after IPv6 address",
			                   (int)rest_len, rest);
			return IDMEFV2_ERR_URL;
		}
	} else {
		const char *colon = memchr(s, ':', len);
		host = s;
		host_len = colon ? (size_t)(colon - s) : len;
		rest = s + host_len;
		rest_len = len - host_len;
		if (host_len == 0) {
			idmefv2__set_error(errstr, errstr_size, "missing host before ':' in '%.*s'", (int)len, s);
			return IDMEFV2_ERR_URL;
		}
		for (size_t i = 0; i < host_len; i++) {
			if (!is_reg_name_char(host[i])) {
				idmefv2__set_error(errstr, errstr_size, "invalid character '%c' in host '%.*s'",
				                   host[i], (int)host_len, host);
				return IDMEFV2_ERR_URL;
			}
		}
	}
	*ret_port = 0;
	if (rest_len > 0 && !parse_port(rest + 1, rest_len - 1, ret_port)) {
		idmefv2__set_error(errstr, errstr_size, "invalid port '%.*s' (expected 0 to 65535)",
		                   (int)(rest_len - 1), rest + 1);
		return IDMEFV2_ERR_URL;
	}
	if (ret_host) {
		*ret_host = dup_range(host, host_len);
		if (!*ret_host)
			return IDMEFV2_ERR_NOMEM;
	}
	return IDMEFV2_OK;
}

static idmefv2_error parse_authority(const char *s, size_t len, struct idmefv2__url *url,
                                     char *errstr, size_t errstr_size)
{
	bool nomem;
	idmefv2_error err;
	const char *at = NULL;

	/* The last '@' ends the userinfo: passwords may contain '@' only encoded, but be lenient. */
	for (size_t i = 0; i < len; i++)
		if (s[i] == '@')
			at = s + i;
	if (at) {
		url->userinfo = percent_decode(s, (size_t)(at - s), &nomem);
		if (!url->userinfo) {
			if (nomem)
				return IDMEFV2_ERR_NOMEM;
			idmefv2__set_error(errstr, errstr_size, "malformed percent-encoding in the user information");
			return IDMEFV2_ERR_URL;
		}
		len -= (size_t)(at + 1 - s);
		s = at + 1;
	}

	if (strcmp(url->scheme, "file") == 0) {
		if (len != 0 && !(len == 9 && strncmp(s, "localhost", 9) == 0)) {
			idmefv2__set_error(errstr, errstr_size,
			                   "a file URL has no host: write file:///absolute/dir, not file://%.*s",
			                   (int)len, s);
			return IDMEFV2_ERR_URL;
		}
		if (url->userinfo) {
			idmefv2__set_error(errstr, errstr_size, "a file URL has no user information");
			return IDMEFV2_ERR_URL;
		}
		return IDMEFV2_OK;
	}

	if (strcmp(url->scheme, "kafka") == 0) {
		const char *p = s;
		const char *end = s + len;
		bool first = true;

		while (true) {
			const char *comma = memchr(p, ',', (size_t)(end - p));
			const char *stop = comma ? comma : end;
			err = parse_host_port(p, (size_t)(stop - p), first ? &url->host : NULL,
			                      first ? &url->port : &(unsigned){0}, errstr, errstr_size);
			if (err != IDMEFV2_OK)
				return err;
			first = false;
			if (!comma)
				break;
			p = comma + 1;
		}
		url->hosts = dup_range(s, len);
		return url->hosts ? IDMEFV2_OK : IDMEFV2_ERR_NOMEM;
	}

	if (memchr(s, ',', len)) {
		idmefv2__set_error(errstr, errstr_size, "a list of hosts is only allowed in kafka URLs");
		return IDMEFV2_ERR_URL;
	}
	return parse_host_port(s, len, &url->host, &url->port, errstr, errstr_size);
}

idmefv2_error idmefv2__url_parse(const char *text, struct idmefv2__url *ret_url,
                                 char *errstr, size_t errstr_size)
{
	struct idmefv2__url url = {0};
	idmefv2_error err = IDMEFV2_ERR_URL;
	const char *sep;
	const char *p;
	const char *auth_end;
	const char *path_end;
	bool nomem;

	if (!text || !ret_url) {
		idmefv2__set_error(errstr, errstr_size, "no URL");
		return IDMEFV2_ERR_INVALID_ARG;
	}
	for (p = text; *p; p++) {
		if ((unsigned char)*p <= 0x20 || *p == 0x7f) {
			idmefv2__set_error(errstr, errstr_size, "URL contains a space or control character at offset %zu",
			                   (size_t)(p - text));
			return IDMEFV2_ERR_URL;
		}
	}
	sep = strstr(text, "://");
	if (!sep || sep == text) {
		idmefv2__set_error(errstr, errstr_size,
		                   "'%s' is not a URL (expected scheme://…, e.g. http://host:8080/path, "
		                   "kafka://host:9092/topic, file:///dir)", text);
		return IDMEFV2_ERR_URL;
	}
	for (p = text; p < sep; p++) {
		if (!(isalpha((unsigned char)*p) || (p > text && (isdigit((unsigned char)*p) || *p == '+' ||
		                                                  *p == '-' || *p == '.')))) {
			idmefv2__set_error(errstr, errstr_size, "invalid URL scheme '%.*s'", (int)(sep - text), text);
			return IDMEFV2_ERR_URL;
		}
	}

	url.text = strdup(text);
	url.scheme = dup_range(text, (size_t)(sep - text));
	if (!url.text || !url.scheme) {
		err = IDMEFV2_ERR_NOMEM;
		goto out;
	}
	for (char *c = url.scheme; *c; c++)
		*c = (char)tolower((unsigned char)*c);

	p = sep + 3;
	auth_end = p + strcspn(p, "/?#");
	err = parse_authority(p, (size_t)(auth_end - p), &url, errstr, errstr_size);
	if (err != IDMEFV2_OK)
		goto out;

	path_end = auth_end + strcspn(auth_end, "?#");
	if (*path_end == '?') {
		const char *q = path_end + 1;
		url.query = dup_range(q, strcspn(q, "#"));
		if (!url.query) {
			err = IDMEFV2_ERR_NOMEM;
			goto out;
		}
	}
	if (strchr(auth_end, '#')) {
		idmefv2__set_error(errstr, errstr_size, "a transport URL has no fragment ('#…')");
		err = IDMEFV2_ERR_URL;
		goto out;
	}

	if (strcmp(url.scheme, "file") == 0) {
		if (path_end == auth_end || (path_end - auth_end == 1 && *auth_end == '/')) {
			idmefv2__set_error(errstr, errstr_size, "a file URL needs a directory: file:///path/to/dir");
			err = IDMEFV2_ERR_URL;
			goto out;
		}
		if (url.query) {
			idmefv2__set_error(errstr, errstr_size, "a file URL has no query ('?…')");
			err = IDMEFV2_ERR_URL;
			goto out;
		}
		url.path = percent_decode(auth_end, (size_t)(path_end - auth_end), &nomem);
		if (!url.path) {
			err = nomem ? IDMEFV2_ERR_NOMEM : IDMEFV2_ERR_URL;
			if (!nomem)
				idmefv2__set_error(errstr, errstr_size, "malformed percent-encoding in the path");
			goto out;
		}
	} else {
		url.path = path_end == auth_end ? strdup("/") : dup_range(auth_end, (size_t)(path_end - auth_end));
		if (!url.path) {
			err = IDMEFV2_ERR_NOMEM;
			goto out;
		}
	}

	*ret_url = url;
	return IDMEFV2_OK;
out:
	if (err == IDMEFV2_ERR_NOMEM)
		idmefv2__set_error(errstr, errstr_size, "out of memory");
	idmefv2__url_clear(&url);
	return err;
}

void idmefv2__url_clear(struct idmefv2__url *url)
{
	if (!url)
		return;
	free(url->scheme);
	free(url->userinfo);
	free(url->host);
	free(url->hosts);
	free(url->path);
	free(url->query);
	free(url->text);
	memset(url, 0, sizeof(*url));
}
