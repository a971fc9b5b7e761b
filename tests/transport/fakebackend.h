/* SPDX-License-Identifier: Apache-2.0 */
/* A controllable sender backend for tests of the generic layer (send queue, spool, callbacks). */
#ifndef IDMEFV2_TRANSPORT_FAKEBACKEND_H
#define IDMEFV2_TRANSPORT_FAKEBACKEND_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "transport-generic.h"
#include "transport-private.h"

enum fake_mode {
	FAKE_UP,     /* every item SENT */
	FAKE_DOWN,   /* every item returned (peer down) */
	FAKE_REJECT, /* every item dead-lettered and REJECTED */
	FAKE_FLAKY,  /* every third attempt returned, the rest SENT */
	FAKE_HOLD,   /* takes nothing (a stalled peer) */
};

#define FAKE_MAX_RECORDED 100000

struct fake {
	atomic_int mode;
	atomic_bool stop;
	atomic_uint attempts;
	pthread_t thread;
	bool running;
	pthread_mutex_t lock;
	long delivered[FAKE_MAX_RECORDED]; /* message numbers, in delivery order (-1: unparsable) */
	size_t n_delivered;
};

extern const struct idmefv2__backend fake_backend;

/* A sender on fake_backend ("file:///fake" as URL: the spool and generic options apply). */
idmefv2_transport *fake_new(void);
struct fake *fake_of(idmefv2_transport *t);
void fake_set_mode(idmefv2_transport *t, enum fake_mode mode);
size_t fake_delivered_count(idmefv2_transport *t);
/* Whether delivered numbers are exactly first, first+1, …, first+n-1. */
bool fake_delivered_in_order(idmefv2_transport *t, long first, size_t n);

#endif
