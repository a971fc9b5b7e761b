/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the transport tests. */
#ifndef IDMEFV2_TRANSPORT_TESTLIB_H
#define IDMEFV2_TRANSPORT_TESTLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <idmefv2/message.h>
#include <idmefv2/transport.h>

/* A new empty directory under $TMPDIR (or /tmp); free() the result. */
char *testlib_tmpdir(void);
/* Remove @path and everything below it. */
void testlib_rmtree(const char *path);
/* @dir/@name in a static buffer (one at a time). */
const char *testlib_path(const char *dir, const char *name);

/* A valid 2.D.V08 message whose Description is "message N" and ID ends in N. */
idmefv2_message *testlib_message(unsigned n);
/* The same as JSON text in @buf. */
void testlib_message_json(unsigned n, char *buf, size_t size);
/* The N of a message made by testlib_message(), or -1. */
long testlib_message_number(const idmefv2_message *msg);

/* Entries of @dir not starting with '.' (and, if @suffix, ending with it). */
size_t testlib_count_files(const char *dir, const char *suffix);
/* Write @len bytes of @data to @path (plain write, no rename). */
bool testlib_write_file(const char *path, const char *data, size_t len);

/* Monotonic milliseconds. */
int64_t testlib_now_ms(void);
void testlib_sleep_ms(unsigned ms);

/* Poll @cond every few ms until it holds or @timeout_ms passes; evaluates to its last value. */
#define TESTLIB_WAIT_FOR(cond, timeout_ms) \
	({ \
		int64_t testlib_deadline_ = testlib_now_ms() + (timeout_ms); \
		bool testlib_ok_; \
		while (!(testlib_ok_ = (cond)) && testlib_now_ms() < testlib_deadline_) \
			testlib_sleep_ms(2); \
		testlib_ok_; \
	})

/* A delivery callback recording outcomes by opaque = (void *)(uintptr_t)index. */
struct testlib_outcomes {
	size_t n;
	unsigned *calls;                   /* per index: times called */
	idmefv2_delivery_status *status;   /* per index: last status */
	unsigned *order;                   /* indexes in callback order */
	size_t n_order;
	unsigned unknown;                  /* calls with an out-of-range opaque (e.g. NULL from a spool) */
	unsigned null_opaque;
};
struct testlib_outcomes *testlib_outcomes_new(size_t n);
void testlib_outcomes_free(struct testlib_outcomes *o);
void testlib_outcomes_cb(idmefv2_transport *t, void *opaque, idmefv2_delivery_status status,
                         const char *detail, void *user_data);
size_t testlib_outcomes_total(struct testlib_outcomes *o);

#endif
