/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <stdlib.h>

#include "estreamer-private.h"

static const char *const error_texts[] = {
	[ESTREAMER_OK] = "success",
	[ESTREAMER_ERR_INVALID_ARG] = "invalid argument",
	[ESTREAMER_ERR_NOMEM] = "out of memory",
	[ESTREAMER_ERR_TRUNCATED] = "truncated input",
	[ESTREAMER_ERR_MALFORMED] = "malformed input",
	[ESTREAMER_ERR_UNKNOWN_OPTION] = "unknown option",
	[ESTREAMER_ERR_IO] = "input/output error",
	[ESTREAMER_ERR_CREDENTIALS] = "client credentials unusable",
	[ESTREAMER_ERR_CONNECT] = "connection failed",
	[ESTREAMER_ERR_TLS] = "TLS failure",
	[ESTREAMER_ERR_VERIFY] = "server certificate not trusted",
	[ESTREAMER_ERR_SERVER] = "the server reported an error",
	[ESTREAMER_ERR_CLOSED] = "connection closed by the server",
	[ESTREAMER_ERR_TIMEOUT] = "timed out",
	[ESTREAMER_ERR_PLUGIN] = "plugin error",
	[ESTREAMER_ERR_ABORTED] = "stopped by a callback",
	[ESTREAMER_ERR_PROTOCOL] = "protocol violation",
};

const char *estreamer_strerror(estreamer_error err)
{
	if ((size_t)err >= sizeof(error_texts) / sizeof(error_texts[0]) || !error_texts[err])
		return "unknown error";
	return error_texts[err];
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
