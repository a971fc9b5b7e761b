/* SPDX-License-Identifier: Apache-2.0 */
#include "testlib.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

char *testlib_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *path;

	if (!base || !*base)
		base = "/tmp";
	if (asprintf(&path, "%s/idmefv2-test-XXXXXX", base) < 0)
		abort();
	if (!mkdtemp(path))
		abort();
	return path;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void testlib_rmtree(const char *path)
{
	if (path)
		nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *testlib_path(const char *dir, const char *name)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	return buf;
}

void testlib_message_json(unsigned n, char *buf, size_t size)
{
	snprintf(buf, size,
	         "{\"Version\": \"2.D.V08\", \"ID\": \"00000000-0000-4000-8000-%012u\", "
	         "\"CreateTime\": \"2025-01-06T17:04:04.876+09:00\", \"Description\": \"message %u\", "
	         "\"Analyzer\": {\"IP\": \"127.0.0.1\", \"Name\": \"test\", \"Model\": \"Test 1\", "
	         "\"Category\": [\"NET.NDR\"], \"Data\": [\"Network\"], \"Method\": [\"Signature\"]}}",
	         n, n);
}

idmefv2_message *testlib_message(unsigned n)
{
	char buf[1024];
	idmefv2_message *msg = NULL;

	testlib_message_json(n, buf, sizeof(buf));
	if (idmefv2_message_new_from_json(buf, strlen(buf), &msg, NULL, 0) != IDMEFV2_OK)
		abort();
	return msg;
}

long testlib_message_number(const idmefv2_message *msg)
{
	const char *s = NULL;
	unsigned n;

	if (idmefv2_message_get_string(msg, "Description", &s, NULL, NULL, 0) != IDMEFV2_OK || !s)
		return -1;
	if (sscanf(s, "message %u", &n) != 1)
		return -1;
	return (long)n;
}

size_t testlib_count_files(const char *dir, const char *suffix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (de->d_name[0] == '.')
			continue;
		if (suffix && (len < strlen(suffix) || strcmp(de->d_name + len - strlen(suffix), suffix) != 0))
			continue;
		n++;
	}
	closedir(d);
	return n;
}

bool testlib_write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	bool ok;

	if (!f)
		return false;
	ok = fwrite(data, 1, len, f) == len;
	return fclose(f) == 0 && ok;
}

int64_t testlib_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void testlib_sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static pthread_mutex_t outcomes_lock = PTHREAD_MUTEX_INITIALIZER;

struct testlib_outcomes *testlib_outcomes_new(size_t n)
{
	struct testlib_outcomes *o = calloc(1, sizeof(*o));

	if (!o)
		abort();
	o->n = n;
	o->calls = calloc(n + 1, sizeof(*o->calls));
	o->status = calloc(n + 1, sizeof(*o->status));
	o->order = calloc(4 * n + 16, sizeof(*o->order));
	if (!o->calls || !o->status || !o->order)
		abort();
	return o;
}

void testlib_outcomes_free(struct testlib_outcomes *o)
{
	if (!o)
		return;
	free(o->calls);
	free(o->status);
	free(o->order);
	free(o);
}

void testlib_outcomes_cb(idmefv2_transport *t, void *opaque, idmefv2_delivery_status status,
                         const char *detail, void *user_data)
{
	struct testlib_outcomes *o = user_data;
	uintptr_t i = (uintptr_t)opaque;

	(void)t;
	(void)detail;
	pthread_mutex_lock(&outcomes_lock);
	if (!opaque)
		o->null_opaque++;
	else if (i > o->n)
		o->unknown++;
	else {
		o->calls[i]++;
		o->status[i] = status;
		if (o->n_order < 4 * o->n + 16)
			o->order[o->n_order++] = (unsigned)i;
	}
	pthread_mutex_unlock(&outcomes_lock);
}

size_t testlib_outcomes_total(struct testlib_outcomes *o)
{
	size_t n;

	pthread_mutex_lock(&outcomes_lock);
	n = o->n_order + o->null_opaque + o->unknown;
	pthread_mutex_unlock(&outcomes_lock);
	return n;
}
