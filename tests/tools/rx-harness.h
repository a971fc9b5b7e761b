/* SPDX-License-Identifier: Apache-2.0 */
/*
 * In-test HTTP receivers (libmicrohttpd on 127.0.0.1): gathering a request's
 * body across the calls of an access handler, and a store that keeps, for
 * each numbered message, how often it arrived and the ID of its first
 * delivery (what a receiver storing by ID would keep). Linked into the
 * connector tests of tests/tools (rx-harness.c).
 */
#ifndef TESTS_TOOLS_RX_HARNESS_H
#define TESTS_TOOLS_RX_HARNESS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>
#include <microhttpd.h>

/* A request's body so far; data is NUL-terminated, NULL while empty. */
struct rx_upload {
	char *data;
	size_t len;
};

/*
 * In an access handler: true while the request is still coming in (the
 * handler returns *ret), false once its whole body is in *(struct rx_upload
 * **)con_cls.
 */
bool rx_upload_gather(void **con_cls, const char *upload_data, size_t *upload_data_size, enum MHD_Result *ret);

/* MHD_OPTION_NOTIFY_COMPLETED callback freeing what rx_upload_gather kept. */
void rx_upload_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe);

/*
 * A daemon on 127.0.0.1, any free port, one internal polling thread (one
 * request at a time, as a slow single-threaded SIEM), errors logged; asserted.
 */
struct MHD_Daemon *rx_daemon_start(MHD_AccessHandlerCallback handler, unsigned *ret_port);

#define RX_IDS_MAX 4000

/* Messages numbered 0 to limit - 1 (limit <= RX_IDS_MAX). */
struct rx_ids {
	pthread_mutex_t lock;
	char ids[RX_IDS_MAX][40];   /* first ID seen for each message */
	unsigned count[RX_IDS_MAX]; /* deliveries of each message */
	unsigned id_mismatches;     /* a later delivery with another ID */
	unsigned foreign;           /* messages that are not ours */
	long limit;
	long (*number)(struct json_object *msg); /* the message's number; -1: not ours */
};

/* Stores one message or an NDJSON batch (a body that stops parsing counts as foreign once). */
void rx_ids_body(struct rx_ids *rx, const char *body, size_t len);

/* Forgets every delivery. */
void rx_ids_reset(struct rx_ids *rx);

/* Messages 0 to total - 1 delivered at least once. */
unsigned rx_ids_delivered(struct rx_ids *rx, unsigned total);

/* Of messages 0 to total - 1: never delivered (*ret_lost), deliveries beyond the first (*ret_dups). */
void rx_ids_tally(struct rx_ids *rx, unsigned total, unsigned *ret_lost, unsigned *ret_dups);

#endif
