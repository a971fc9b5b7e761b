/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <stdlib.h>

#include "estreamer-private.h"

static const struct {
	const char *text;
	int permanent; /* a retry cannot fix it */
} errors[] = {
	[ESTREAMER_OK] = { "success", 0 },
	[ESTREAMER_ERR_INVALID_ARG] = { "invalid argument", 1 },
	[ESTREAMER_ERR_NOMEM] = { "out of memory", 0 },
	[ESTREAMER_ERR_TRUNCATED] = { "truncated input", 0 },
	[ESTREAMER_ERR_MALFORMED] = { "malformed input", 0 },
	[ESTREAMER_ERR_UNKNOWN_OPTION] = { "unknown option", 1 },
	[ESTREAMER_ERR_IO] = { "input/output error", 0 },
	[ESTREAMER_ERR_CREDENTIALS] = { "client credentials unusable", 1 },
	[ESTREAMER_ERR_CONNECT] = { "connection failed", 0 },
	[ESTREAMER_ERR_TLS] = { "TLS failure", 0 },
	[ESTREAMER_ERR_VERIFY] = { "server certificate not trusted", 1 },
	[ESTREAMER_ERR_SERVER] = { "the server reported an error", 0 },
	[ESTREAMER_ERR_CLOSED] = { "connection closed by the server", 0 },
	[ESTREAMER_ERR_TIMEOUT] = { "timed out", 0 },
	[ESTREAMER_ERR_PLUGIN] = { "plugin error", 1 },
	[ESTREAMER_ERR_ABORTED] = { "stopped by a callback", 0 },
	[ESTREAMER_ERR_PROTOCOL] = { "protocol violation", 0 },
	[ESTREAMER_ERR_HOSTNAME] = { "server certificate is for another host", 1 },
	[ESTREAMER_ERR_REFUSED] = { "the server refused this client", 1 },
};

#define N_ERRORS (sizeof(errors) / sizeof(errors[0]))

const char *estreamer_strerror(estreamer_error err)
{
	if ((size_t)err >= N_ERRORS || !errors[err].text)
		return "unknown error";
	return errors[err].text;
}

int estreamer_error_is_permanent(estreamer_error err)
{
	return (size_t)err < N_ERRORS && errors[err].permanent;
}

const char *estreamer_version_string(void)
{
	return ESTREAMER_VERSION;
}

estreamer_error estreamer__fail(char *errstr, size_t size, estreamer_error err, const char *fmt, ...)
{
	va_list ap;

	if (errstr && size > 0) {
		va_start(ap, fmt);
		vsnprintf(errstr, size, fmt, ap);
		va_end(ap);
	}
	return err;
}

char *estreamer__hex(const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char *s = malloc(n * 2 + 1);

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		s[2 * i] = digits[p[i] >> 4];
		s[2 * i + 1] = digits[p[i] & 15];
	}
	s[2 * n] = '\0';
	return s;
}
