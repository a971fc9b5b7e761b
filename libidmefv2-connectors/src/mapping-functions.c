/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Built-in template functions. A value that cannot be converted is returned as
 * missing (NULL), so that the field's policy (omit, default, reject) decides;
 * errors are kept for misuse the compiler cannot see (a bad map argument).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <sys/stat.h>
#include <stdbool.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <json-c/json.h>

#include <idmefv2/util.h>

#include "mapping-private.h"

#define FN_ARGS                                                                                \
	struct json_object *const *args, size_t nargs, void *userdata, struct json_object **ret,  \
		char *errstr, size_t errstr_size

static idmefv2_error fn_error(char *errstr, size_t errstr_size, const char *why)
{
	if (errstr && errstr_size)
		snprintf(errstr, errstr_size, "%s", why);
	return IDMEFV2_ERR_INVALID_ARG;
}

/* Text of a scalar: strings as they are, numbers and booleans as JSON. */
static const char *text_of(struct json_object *v)
{
	return json_object_is_type(v, json_type_string) ? json_object_get_string(v)
	                                                : json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
}

static idmefv2_error ret_string(struct json_object **ret, const char *s)
{
	*ret = json_object_new_string(s);
	return *ret ? IDMEFV2_OK : IDMEFV2_ERR_NOMEM;
}

static idmefv2_error ret_copy(struct json_object **ret, struct json_object *v)
{
	*ret = NULL;
	if (v && json_object_deep_copy(v, ret, NULL) != 0)
		return IDMEFV2_ERR_NOMEM;
	return IDMEFV2_OK;
}

/* A number, or a string that is entirely one. */
static bool number_of(struct json_object *v, double *ret)
{
	const char *s;
	char *end;

	if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) {
		*ret = json_object_get_double(v);
		return true;
	}
	if (!json_object_is_type(v, json_type_string))
		return false;
	s = json_object_get_string(v);
	while (isspace((unsigned char)*s))
		s++;
	if (!*s)
		return false;
	errno = 0;
	*ret = strtod(s, &end);
	while (isspace((unsigned char)*end))
		end++;
	return !errno && !*end && isfinite(*ret);
}

static idmefv2_error fn_uuid(FN_ARGS)
{
	char buf[IDMEFV2_UUID_STRLEN];
	idmefv2_uuid_kind kind = IDMEFV2_UUID_V7;
	idmefv2_error err;

	if (nargs == 1) {
		const char *k = args[0] ? text_of(args[0]) : "";

		if (strcmp(k, "v4") == 0)
			kind = IDMEFV2_UUID_V4;
		else if (strcmp(k, "v7") != 0)
			return fn_error(errstr, errstr_size, "the kind must be \"v4\" or \"v7\"");
	}
	err = idmefv2_uuid_generate(kind, buf, sizeof(buf));
	return err ? err : ret_string(ret, buf);
}

static idmefv2_error fn_now(FN_ARGS)
{
	char buf[IDMEFV2_TIME_STRLEN];
	idmefv2_error err = idmefv2_time_now(buf, sizeof(buf));

	return err ? err : ret_string(ret, buf);
}

static idmefv2_error ret_time(struct json_object **ret, const struct timespec *ts, int offset)
{
	char buf[IDMEFV2_TIME_STRLEN];

	if (idmefv2_time_format(ts, offset, buf, sizeof(buf)) != IDMEFV2_OK)
		return IDMEFV2_OK; /* offset out of range: missing */
	return ret_string(ret, buf);
}

static idmefv2_error ret_epoch(struct json_object **ret, double secs)
{
	struct timespec ts;
	double whole;

	if (!isfinite(secs) || secs < -62135596800.0 || secs > 253402300799.0)
		return IDMEFV2_OK;
	whole = floor(secs);
	ts.tv_sec = (time_t)whole;
	ts.tv_nsec = (long)llround((secs - whole) * 1e6) * 1000;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ret_time(ret, &ts, 0);
}

/*
 * ISO 8601 variants seen in tools' logs: a space instead of "T", an offset
 * without colon ("+0000", Suricata and Wazuh) or hours only, no offset (taken as UTC).
 */
static idmefv2_error timestamp_iso(const char *s, struct json_object **ret)
{
	char buf[80];
	size_t len = strlen(s), i;
	struct timespec ts;
	int off = 0;

	if (len < 19 || len > 60)
		return IDMEFV2_OK;
	memcpy(buf, s, len + 1);
	if (buf[10] == ' ')
		buf[10] = 'T';
	i = 19;
	if (buf[i] == '.' || buf[i] == ',') {
		buf[i] = '.';
		i++;
		while (isdigit((unsigned char)buf[i]))
			i++;
	}
	if (buf[i] == '\0') {
		memcpy(buf + i, "Z", 2);
	} else if ((buf[i] == '+' || buf[i] == '-') && isdigit((unsigned char)buf[i + 1]) &&
	           isdigit((unsigned char)buf[i + 2])) {
		const char *t = buf + i + 3;

		if (*t == '\0') {
			memcpy(buf + i + 3, ":00", 4);
		} else if (isdigit((unsigned char)t[0]) && isdigit((unsigned char)t[1]) && t[2] == '\0') {
			memmove(buf + i + 4, buf + i + 3, 3);
			buf[i + 3] = ':';
		}
	}
	if (idmefv2_time_parse(buf, &ts, &off) != IDMEFV2_OK)
		return IDMEFV2_OK;
	return ret_time(ret, &ts, off);
}

static idmefv2_error timestamp_strptime(const char *s, const char *fmt, struct json_object **ret)
{
	struct tm tm;
	struct timespec ts = { 0 };
	const char *end;
	long gmtoff;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, fmt, &tm);
	if (!end)
		return IDMEFV2_OK;
	while (isspace((unsigned char)*end))
		end++;
	if (*end)
		return IDMEFV2_OK;
	/* %z fills tm_gmtoff (timegm() resets it); without %z the time is UTC. */
	gmtoff = tm.tm_gmtoff;
	t = timegm(&tm);
	if (t == (time_t)-1 && tm.tm_year != 69)
		return IDMEFV2_OK;
	ts.tv_sec = t - gmtoff;
	return ret_time(ret, &ts, (int)(gmtoff / 60));
}

static idmefv2_error fn_timestamp(FN_ARGS)
{
	double secs;

	if (!args[0])
		return IDMEFV2_OK;
	if (nargs == 2 && args[1]) {
		if (!json_object_is_type(args[1], json_type_string))
			return fn_error(errstr, errstr_size, "the format must be a string");
		if (!json_object_is_type(args[0], json_type_string))
			return IDMEFV2_OK;
		return timestamp_strptime(json_object_get_string(args[0]),
		                          json_object_get_string(args[1]), ret);
	}
	if (number_of(args[0], &secs))
		return ret_epoch(ret, secs);
	if (!json_object_is_type(args[0], json_type_string))
		return IDMEFV2_OK;
	return timestamp_iso(json_object_get_string(args[0]), ret);
}

static idmefv2_error fn_lookup(FN_ARGS)
{
	struct json_object *hit = NULL;

	if (!json_object_is_type(args[1], json_type_object))
		return fn_error(errstr, errstr_size, "the map must be an object");
	if (args[0] && json_object_object_get_ex(args[1], text_of(args[0]), &hit) && hit)
		return ret_copy(ret, hit);
	return ret_copy(ret, nargs == 3 ? args[2] : NULL);
}

static idmefv2_error fn_range(FN_ARGS)
{
	size_t n;
	double v;

	if (!json_object_is_type(args[1], json_type_array))
		return fn_error(errstr, errstr_size, "the ranges must be an array of [bound, result]");
	n = json_object_array_length(args[1]);
	if (args[0] && number_of(args[0], &v)) {
		for (size_t i = 0; i < n; i++) {
			struct json_object *pair = json_object_array_get_idx(args[1], i);
			double bound;

			if (!json_object_is_type(pair, json_type_array) ||
			    json_object_array_length(pair) != 2 ||
			    !number_of(json_object_array_get_idx(pair, 0), &bound) ||
			    json_object_is_type(json_object_array_get_idx(pair, 0), json_type_string))
				return fn_error(errstr, errstr_size,
				                "each range must be [number, result]");
			if (v < bound)
				return ret_copy(ret, json_object_array_get_idx(pair, 1));
		}
	}
	return ret_copy(ret, nargs == 3 ? args[2] : NULL);
}

static idmefv2_error fn_lower(FN_ARGS)
{
	char *s;
	idmefv2_error err;

	if (!args[0])
		return IDMEFV2_OK;
	s = strdup(text_of(args[0]));
	if (!s)
		return IDMEFV2_ERR_NOMEM;
	for (char *p = s; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	err = ret_string(ret, s);
	free(s);
	return err;
}

/* Closes the memstream and returns its text as a string value. */
static idmefv2_error build_string(FILE *mem, char **buf, struct json_object **ret)
{
	idmefv2_error err;

	if (fclose(mem) != 0) {
		free(*buf);
		return IDMEFV2_ERR_NOMEM;
	}
	err = ret_string(ret, *buf);
	free(*buf);
	return err;
}

static idmefv2_error fn_concat(FN_ARGS)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem;

	for (size_t i = 0; i < nargs; i++)
		if (!args[i])
			return IDMEFV2_OK;
	mem = open_memstream(&buf, &len);
	if (!mem)
		return IDMEFV2_ERR_NOMEM;
	for (size_t i = 0; i < nargs; i++)
		fputs(text_of(args[i]), mem);
	return build_string(mem, &buf, ret);
}

static idmefv2_error fn_format(FN_ARGS)
{
	const char *fmt;
	char *buf = NULL;
	size_t len = 0, next = 1;
	FILE *mem;

	if (!json_object_is_type(args[0], json_type_string))
		return fn_error(errstr, errstr_size, "the format must be a string");
	for (size_t i = 1; i < nargs; i++)
		if (!args[i])
			return IDMEFV2_OK;
	fmt = json_object_get_string(args[0]);
	mem = open_memstream(&buf, &len);
	if (!mem)
		return IDMEFV2_ERR_NOMEM;
	for (const char *p = fmt; *p; p++) {
		if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
			fputc(*p++, mem);
		} else if (p[0] == '{' && p[1] == '}') {
			if (next >= nargs) {
				fclose(mem);
				free(buf);
				return fn_error(errstr, errstr_size, "more \"{}\" than arguments");
			}
			fputs(text_of(args[next++]), mem);
			p++;
		} else {
			fputc(*p, mem);
		}
	}
	return build_string(mem, &buf, ret);
}

static idmefv2_error fn_int(FN_ARGS)
{
	double d;

	if (!args[0])
		return IDMEFV2_OK;
	if (json_object_is_type(args[0], json_type_int)) {
		*ret = json_object_new_int64(json_object_get_int64(args[0]));
		return *ret ? IDMEFV2_OK : IDMEFV2_ERR_NOMEM;
	}
	if (!number_of(args[0], &d) || d < -9.2e18 || d > 9.2e18)
		return IDMEFV2_OK;
	*ret = json_object_new_int64((int64_t)d);
	return *ret ? IDMEFV2_OK : IDMEFV2_ERR_NOMEM;
}

static idmefv2_error fn_strip_port(FN_ARGS)
{
	const char *s, *colon;
	char *host;
	idmefv2_error err;

	if (!json_object_is_type(args[0], json_type_string))
		return IDMEFV2_OK;
	s = json_object_get_string(args[0]);
	if (!*s)
		return IDMEFV2_OK;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close)
			return ret_string(ret, s);
		host = strndup(s + 1, (size_t)(close - s - 1));
	} else {
		colon = strchr(s, ':');
		/* Two colons or more: a bare IPv6 address, no port to strip. */
		if (!colon || strchr(colon + 1, ':'))
			return ret_string(ret, s);
		host = strndup(s, (size_t)(colon - s));
	}
	if (!host)
		return IDMEFV2_ERR_NOMEM;
	err = ret_string(ret, host);
	free(host);
	return err;
}

static struct json_object *find_key(struct json_object *v, const char *key, int depth)
{
	struct json_object *hit = NULL;

	if (depth > 64)
		return NULL;
	if (json_object_is_type(v, json_type_object)) {
		if (json_object_object_get_ex(v, key, &hit) && hit)
			return hit;
		json_object_object_foreach(v, k, child) {
			(void)k;
			if ((hit = find_key(child, key, depth + 1)))
				return hit;
		}
	} else if (json_object_is_type(v, json_type_array)) {
		size_t n = json_object_array_length(v);

		for (size_t i = 0; i < n; i++)
			if ((hit = find_key(json_object_array_get_idx(v, i), key, depth + 1)))
				return hit;
	}
	return NULL;
}

static idmefv2_error fn_find_key(FN_ARGS)
{
	if (!json_object_is_type(args[1], json_type_string))
		return fn_error(errstr, errstr_size, "the key must be a string");
	return ret_copy(ret, args[0] ? find_key(args[0], json_object_get_string(args[1]), 0) : NULL);
}

static idmefv2_error fn_join(FN_ARGS)
{
	char *buf = NULL;
	size_t len = 0, n;
	FILE *mem;

	if (!args[0])
		return IDMEFV2_OK;
	if (!json_object_is_type(args[1], json_type_string))
		return fn_error(errstr, errstr_size, "the separator must be a string");
	if (!json_object_is_type(args[0], json_type_array))
		return ret_string(ret, text_of(args[0]));
	mem = open_memstream(&buf, &len);
	if (!mem)
		return IDMEFV2_ERR_NOMEM;
	n = json_object_array_length(args[0]);
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(args[0], i);

		if (i)
			fputs(json_object_get_string(args[1]), mem);
		fputs(e ? text_of(e) : "", mem);
	}
	return build_string(mem, &buf, ret);
}

static idmefv2_error fn_coalesce(FN_ARGS)
{
	for (size_t i = 0; i < nargs; i++)
		if (args[i])
			return ret_copy(ret, args[i]);
	return IDMEFV2_OK;
}

/* True if @p lower_text contains @p kw, or every element when @p kw is a list. */
static bool keyword_match(const char *lower_text, struct json_object *kw, bool *bad)
{
	if (json_object_is_type(kw, json_type_string))
		return strstr(lower_text, json_object_get_string(kw)) != NULL;
	if (json_object_is_type(kw, json_type_array)) {
		size_t n = json_object_array_length(kw);

		for (size_t i = 0; i < n; i++) {
			struct json_object *e = json_object_array_get_idx(kw, i);

			if (!json_object_is_type(e, json_type_string)) {
				*bad = true;
				return false;
			}
			if (!strstr(lower_text, json_object_get_string(e)))
				return false;
		}
		return n > 0;
	}
	*bad = true;
	return false;
}

static idmefv2_error fn_classify(FN_ARGS)
{
	struct json_object *lowered = NULL;
	idmefv2_error err = IDMEFV2_OK;
	bool bad = false;
	size_t n;

	if (!json_object_is_type(args[1], json_type_array))
		return fn_error(errstr, errstr_size, "the rules must be an array of [keywords, result]");
	if (args[0]) {
		err = fn_lower(args, 1, NULL, &lowered, errstr, errstr_size);
		if (err)
			return err;
	}
	n = json_object_array_length(args[1]);
	for (size_t i = 0; i < n && !bad; i++) {
		struct json_object *rule = json_object_array_get_idx(args[1], i);
		struct json_object *kws;
		size_t nk;

		if (!json_object_is_type(rule, json_type_array) || json_object_array_length(rule) != 2 ||
		    !json_object_is_type(json_object_array_get_idx(rule, 0), json_type_array)) {
			bad = true;
			break;
		}
		if (!lowered)
			continue;
		kws = json_object_array_get_idx(rule, 0);
		nk = json_object_array_length(kws);
		for (size_t k = 0; k < nk && !bad; k++) {
			if (keyword_match(json_object_get_string(lowered),
			                  json_object_array_get_idx(kws, k), &bad)) {
				err = ret_copy(ret, json_object_array_get_idx(rule, 1));
				json_object_put(lowered);
				return err;
			}
		}
	}
	json_object_put(lowered);
	if (bad)
		return fn_error(errstr, errstr_size,
		                "each rule must be [[keyword or [keyword, ...], ...], result]");
	return ret_copy(ret, nargs == 3 ? args[2] : NULL);
}

static idmefv2_error fn_hostname(FN_ARGS)
{
	char buf[256];

	if (gethostname(buf, sizeof(buf)) != 0)
		return IDMEFV2_OK;
	buf[sizeof(buf) - 1] = '\0';
	return ret_string(ret, buf);
}

/*
 * The address other hosts know this one by: the first IPv4 address of an
 * interface that is up and not loopback, else the first such global IPv6
 * address, else 127.0.0.1. Interfaces are read at most once a minute, since
 * templates call this for every alert.
 */
static pthread_mutex_t local_ip_lock = PTHREAD_MUTEX_INITIALIZER;
static char local_ip_cache[INET6_ADDRSTRLEN] = "";
static time_t local_ip_time;

static void local_ip_refresh(char *out, size_t size)
{
	struct ifaddrs *ifs = NULL;
	char v6[INET6_ADDRSTRLEN] = "";

	snprintf(out, size, "127.0.0.1");
	if (getifaddrs(&ifs) != 0)
		return;
	for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
		if (!i->ifa_addr || !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK))
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)i->ifa_addr;

			if (inet_ntop(AF_INET, &sin->sin_addr, out, (socklen_t)size))
				break;
		} else if (i->ifa_addr->sa_family == AF_INET6 && !v6[0]) {
			const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)i->ifa_addr;

			if (!IN6_IS_ADDR_LINKLOCAL(&sin6->sin6_addr) && !IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
				inet_ntop(AF_INET6, &sin6->sin6_addr, v6, sizeof(v6));
		}
	}
	freeifaddrs(ifs);
	if (strcmp(out, "127.0.0.1") == 0 && v6[0])
		snprintf(out, size, "%s", v6);
}

static idmefv2_error fn_local_ip(FN_ARGS)
{
	char buf[INET6_ADDRSTRLEN];
	time_t now = time(NULL);

	pthread_mutex_lock(&local_ip_lock);
	if (!local_ip_cache[0] || now - local_ip_time >= 60 || now < local_ip_time) {
		local_ip_refresh(local_ip_cache, sizeof(local_ip_cache));
		local_ip_time = now;
	}
	memcpy(buf, local_ip_cache, sizeof(buf));
	pthread_mutex_unlock(&local_ip_lock);
	return ret_string(ret, buf);
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* RFC 4648 base64 of a whole file; an unreadable file is missing. */
/* Append the base64 of @p in[0..n) to @p mem; up to two bytes wait in @p pend for the next call. */
static void base64_feed(FILE *mem, const unsigned char *in, size_t n, unsigned char pend[3], size_t *carry)
{
	for (size_t i = 0; i < n; i++) {
		pend[(*carry)++] = in[i];
		if (*carry == 3) {
			fputc(b64[pend[0] >> 2], mem);
			fputc(b64[((pend[0] & 3) << 4) | (pend[1] >> 4)], mem);
			fputc(b64[((pend[1] & 15) << 2) | (pend[2] >> 6)], mem);
			fputc(b64[pend[2] & 63], mem);
			*carry = 0;
		}
	}
}

static void base64_end(FILE *mem, const unsigned char pend[3], size_t carry)
{
	if (carry == 1) {
		fputc(b64[pend[0] >> 2], mem);
		fputc(b64[(pend[0] & 3) << 4], mem);
		fputs("==", mem);
	} else if (carry == 2) {
		fputc(b64[pend[0] >> 2], mem);
		fputc(b64[((pend[0] & 3) << 4) | (pend[1] >> 4)], mem);
		fputc(b64[(pend[1] & 15) << 2], mem);
		fputc('=', mem);
	}
}

static const char *file_kind(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return "a device";
	if (S_ISSOCK(mode))
		return "a socket";
	return "not a regular file";
}

/*
 * Open @p path for base64_file(): the path comes from the input (ZoneMinder's
 * event directory), so a symbolic link, a FIFO (which would block) or a device
 * (/dev/zero never ends) is refused, as is a file over @p limit. -1 when refused.
 */
static int base64_file_open(const char *path, size_t limit)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		if (errno == ELOOP)
			idmefv2__mapping_log(IDMEFV2_LOG_WARNING, "base64_file: %s is a symbolic link; refused, field left out",
			                     path);
		else
			idmefv2__mapping_log(errno == ENOENT ? IDMEFV2_LOG_DEBUG : IDMEFV2_LOG_WARNING,
			                     "base64_file: %s: %s; field left out", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		idmefv2__mapping_log(IDMEFV2_LOG_WARNING, "base64_file: %s: %s; field left out", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		idmefv2__mapping_log(IDMEFV2_LOG_WARNING, "base64_file: %s is %s; refused, field left out", path,
		                     file_kind(st.st_mode));
		close(fd);
		return -1;
	}
	if ((uintmax_t)st.st_size > limit) {
		idmefv2__mapping_log(IDMEFV2_LOG_WARNING,
		                     "base64_file: %s has %jd bytes, over the limit of %zu; refused, field left out", path,
		                     (intmax_t)st.st_size, limit);
		close(fd);
		return -1;
	}
	return fd;
}

/* base64_file(PATH [, MAX_BYTES]) */
static idmefv2_error fn_base64_file(FN_ARGS)
{
	unsigned char in[3 * 1024], pend[3];
	size_t len = 0, carry = 0, total = 0, limit = IDMEFV2_MAPPING_FILE_MAX;
	const char *path;
	char *buf = NULL;
	FILE *mem;
	ssize_t n;
	double max;
	int fd;

	if (nargs > 1 && args[1]) {
		if (!number_of(args[1], &max) || max < 1 || max > (double)(SIZE_MAX / 2))
			return fn_error(errstr, errstr_size, "base64_file: MAX_BYTES must be a positive number of bytes");
		limit = (size_t)max;
	}
	if (!json_object_is_type(args[0], json_type_string))
		return IDMEFV2_OK;
	path = json_object_get_string(args[0]);
	fd = base64_file_open(path, limit);
	if (fd < 0)
		return IDMEFV2_OK;
	mem = open_memstream(&buf, &len);
	if (!mem) {
		close(fd);
		return IDMEFV2_ERR_NOMEM;
	}
	/* A regular file never returns EAGAIN; the limit also holds for a file growing while read. */
	while ((n = read(fd, in, sizeof(in))) > 0 || (n < 0 && errno == EINTR)) {
		if (n < 0)
			continue;
		total += (size_t)n;
		if (total > limit)
			break;
		base64_feed(mem, in, (size_t)n, pend, &carry);
	}
	if (n < 0 || total > limit) {
		if (n < 0)
			idmefv2__mapping_log(IDMEFV2_LOG_WARNING, "base64_file: %s: %s; field left out", path,
			                     strerror(errno));
		else
			idmefv2__mapping_log(IDMEFV2_LOG_WARNING,
			                     "base64_file: %s grew over the limit of %zu bytes; refused, field left out",
			                     path, limit);
		close(fd);
		fclose(mem);
		free(buf);
		return IDMEFV2_OK;
	}
	close(fd);
	base64_end(mem, pend, carry);
	return build_string(mem, &buf, ret);
}

#define V IDMEFV2_MAPPING_VARIADIC

static const struct idmefv2__mapping_function builtins[] = {
	{ "base64_file", 1, 2, fn_base64_file, NULL },
	{ "classify", 2, 3, fn_classify, NULL },
	{ "coalesce", 1, V, fn_coalesce, NULL },
	{ "concat", 1, V, fn_concat, NULL },
	{ "find_key", 2, 2, fn_find_key, NULL },
	{ "format", 1, V, fn_format, NULL },
	{ "hostname", 0, 0, fn_hostname, NULL },
	{ "int", 1, 1, fn_int, NULL },
	{ "join", 2, 2, fn_join, NULL },
	{ "local_ip", 0, 0, fn_local_ip, NULL },
	{ "lookup", 2, 3, fn_lookup, NULL },
	{ "lower", 1, 1, fn_lower, NULL },
	{ "now", 0, 0, fn_now, NULL },
	{ "range", 2, 3, fn_range, NULL },
	{ "strip_port", 1, 1, fn_strip_port, NULL },
	{ "timestamp", 1, 2, fn_timestamp, NULL },
	{ "uuid", 0, 1, fn_uuid, NULL },
};

const struct idmefv2__mapping_function *idmefv2__mapping_builtin_find(const char *name)
{
	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
		if (strcmp(builtins[i].name, name) == 0)
			return &builtins[i];
	return NULL;
}
