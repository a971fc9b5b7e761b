/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mozdef-private.h"

static const char *const error_strings[] = {
	[MOZDEF_OK] = "success",
	[MOZDEF_ERR_INVALID_ARG] = "invalid argument",
	[MOZDEF_ERR_NOMEM] = "out of memory",
	[MOZDEF_ERR_INVALID] = "event fails validation",
	[MOZDEF_ERR_UNKNOWN_OPTION] = "unknown option",
	[MOZDEF_ERR_OPTION_VALUE] = "invalid option value",
	[MOZDEF_ERR_HTTP] = "HTTP error status",
	[MOZDEF_ERR_TRANSPORT] = "connection failure",
	[MOZDEF_ERR_SYSLOG] = "syslog failure",
	[MOZDEF_ERR_SQS] = "SQS error",
	[MOZDEF_ERR_TOO_LARGE] = "message too large",
	[MOZDEF_ERR_CREDENTIALS] = "no AWS credentials",
	[MOZDEF_ERR_FULL] = "queue full",
	[MOZDEF_ERR_CLOSED] = "client closed",
	[MOZDEF_ERR_TIMEOUT] = "timed out",
	[MOZDEF_ERR_STATE] = "no destination configured",
	[MOZDEF_ERR_PARSE] = "malformed JSON",
	[MOZDEF_ERR_IO] = "input/output error",
};

MOZDEF_EXPORT const char *mozdef_strerror(mozdef_error err)
{
	if ((unsigned)err >= sizeof(error_strings) / sizeof(error_strings[0]) || !error_strings[err])
		return "unknown error";
	return error_strings[err];
}

MOZDEF_EXPORT const char *mozdef_version_string(void)
{
	return MOZDEF_VERSION;
}

void mozdef__set_error(char *errstr, size_t errstr_size, const char *fmt, ...)
{
	va_list ap;

	if (!errstr || errstr_size == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(errstr, errstr_size, fmt, ap);
	va_end(ap);
}

void mozdef__result_set(mozdef_result *r, mozdef_error err, const char *fmt, ...)
{
	va_list ap;

	r->error = err;
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof(r->message), fmt, ap);
	va_end(ap);
}

int64_t mozdef__now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void mozdef__format_utc(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;
	char base[24];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, size, "%s.%06ld+00:00", base, ts.tv_nsec / 1000);
}

static char default_hostname[256];
static char default_processname[PATH_MAX];
static pthread_once_t defaults_once = PTHREAD_ONCE_INIT;

/* The reference uses Python's socket.getfqdn(): the canonical name when it has
 * a dot, and the plain host name when that name is localhost.localdomain. */
static void defaults_init(void)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_flags = AI_CANONNAME };
	struct addrinfo *res = NULL;
	char host[256] = "";

	if (gethostname(host, sizeof(host) - 1) != 0)
		strcpy(host, "localhost");
	snprintf(default_hostname, sizeof(default_hostname), "%s", host);
	if (!strchr(host, '.') && getaddrinfo(host, NULL, &hints, &res) == 0) {
		if (res && res->ai_canonname && strchr(res->ai_canonname, '.') &&
		    strcmp(res->ai_canonname, "localhost.localdomain") != 0)
			snprintf(default_hostname, sizeof(default_hostname), "%s", res->ai_canonname);
		freeaddrinfo(res);
	}
	snprintf(default_processname, sizeof(default_processname), "%s",
	         program_invocation_name ? program_invocation_name : "");
}

const char *mozdef__default_hostname(void)
{
	pthread_once(&defaults_once, defaults_init);
	return default_hostname;
}

const char *mozdef__default_processname(void)
{
	pthread_once(&defaults_once, defaults_init);
	return default_processname;
}
