/* SPDX-License-Identifier: Apache-2.0 */
/* In-process HTTP server on 127.0.0.1 for the poller tests. */
#ifndef POLLER_FIXTURE_H
#define POLLER_FIXTURE_H

#include <stddef.h>

typedef struct poller_fixture poller_fixture;

/* Start on an ephemeral port; aborts the test on failure. */
poller_fixture *poller_fixture_start(void);
void poller_fixture_stop(poller_fixture *f);
/* "http://127.0.0.1:PORT/path" (static buffer of the fixture). */
const char *poller_fixture_url(poller_fixture *f, const char *path);
/* Status and body answered to every following request (body copied). */
void poller_fixture_set_reply(poller_fixture *f, unsigned status, const char *body);
/* Requests served so far. */
unsigned poller_fixture_requests(poller_fixture *f);
/* Copies of the last request's Authorization header, method and body ("" when absent). */
void poller_fixture_last(poller_fixture *f, char *auth, size_t auth_size, char *method, size_t method_size,
                         char *body, size_t body_size);

#endif
