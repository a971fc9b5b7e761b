/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The contract between the generic transport layer (transport.c, queue.c,
 * options.c, spool.c, url.c) and the backends (file.c, http-send.c,
 * http-listen.c, kafka.c).
 *
 * The generic layer owns: the URL parse, the option values, the bounded send
 * queue of items, the spool directory, counters, the delivery callback and
 * flush accounting, and delivery of received messages to the queue or
 * callback. A backend owns its threads and connections: it takes items from
 * the send queue, delivers them, and reports each item's final outcome
 * exactly once with idmefv2__transport_done().
 */
#ifndef IDMEFV2_TRANSPORT_PRIVATE_H
#define IDMEFV2_TRANSPORT_PRIVATE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <idmefv2/transport.h>

/* ---- URL ------------------------------------------------------------------------ */

struct idmefv2__url {
	char *scheme;   /* lower case: "http", "https", "kafka", "file" */
	char *userinfo; /* "user:password" or NULL (percent-decoded) */
	char *host;     /* first host; IPv6 without brackets; NULL for file: */
	unsigned port;  /* 0 if not given */
	char *hosts;    /* kafka: the whole comma-separated "h1:p1,h2:p2" list; else NULL */
	char *path;     /* "/…" (percent-decoded for file:), "/" if empty */
	char *query;    /* after '?', or NULL */
	char *text;     /* the URL as given */
};

idmefv2_error idmefv2__url_parse(const char *text, struct idmefv2__url *ret_url,
                                 char *errstr, size_t errstr_size);
void idmefv2__url_clear(struct idmefv2__url *url);

/* ---- items to send -------------------------------------------------------------------- */

struct idmefv2__item {
	struct idmefv2__item *next; /* free for the owner's lists */
	uint64_t seq;               /* send order, strictly increasing */
	char *data;                 /* serialized message, NUL-terminated */
	size_t len;
	char *content_type;
	void *opaque;               /* the caller's, for the delivery callback */
	char *spool_path;           /* set while the item also sits in the spool */
	unsigned attempts;          /* delivery attempts so far */
};

/* ---- backends ------------------------------------------------------------------------- */

struct idmefv2__backend {
	const char *scheme;
	bool can_send;
	bool can_listen;
	/* Check the URL, allocate t's backend state (idmefv2__transport_set_backend_data).
	 * Options are set after create(): read them in start(). On failure, free what
	 * was allocated (destroy() is not called). */
	idmefv2_error (*create)(idmefv2_transport *t, char *errstr, size_t errstr_size);
	/* Connect or bind; start threads. */
	idmefv2_error (*start)(idmefv2_transport *t, char *errstr, size_t errstr_size);
	/* Sender: items are waiting in the send queue (called with no lock held). */
	void (*wakeup)(idmefv2_transport *t);
	/* Stop threads. A sender returns every item it still holds with
	 * idmefv2__transport_return() (they get spooled or failed); a listener stops
	 * accepting. Must be idempotent. */
	void (*stop)(idmefv2_transport *t);
	/* Free backend state. */
	void (*destroy)(idmefv2_transport *t);
	/* Listener: bound port (may be NULL). */
	unsigned (*get_port)(const idmefv2_transport *t);
};

/* Backends register here. The scheme table in transport.c holds a sender and a
 * listener backend per scheme; an entry whose feature was not built is NULL and the
 * scheme then answers IDMEFV2_ERR_NOT_BUILT. transport.c references each symbol only
 * under its IDMEFV2_HAVE_* macro from the generated transport-config.h. */
extern const struct idmefv2__backend idmefv2__backend_file;        /* both roles */
extern const struct idmefv2__backend idmefv2__backend_http_send;   /* http and https, sender (IDMEFV2_HAVE_HTTP) */
extern const struct idmefv2__backend idmefv2__backend_http_listen; /* http and https, listener (IDMEFV2_HAVE_HTTPD) */
extern const struct idmefv2__backend idmefv2__backend_kafka;       /* both roles (IDMEFV2_HAVE_KAFKA) */

/* ---- what the generic layer offers backends --------------------------------------------- */

const struct idmefv2__url *idmefv2__transport_url(const idmefv2_transport *t);
idmefv2_transport_role idmefv2__transport_role(const idmefv2_transport *t);
void idmefv2__transport_set_backend_data(idmefv2_transport *t, void *data);
void *idmefv2__transport_backend_data(const idmefv2_transport *t);

/* Option values (defaults applied; the table in options.c is the documentation). */
const char *idmefv2__opt_str(const idmefv2_transport *t, const char *name); /* NULL if unset and no default */
int64_t idmefv2__opt_int(const idmefv2_transport *t, const char *name);
bool idmefv2__opt_bool(const idmefv2_transport *t, const char *name);
/* Every option set whose name starts with @prefix, in the order set: calls @fn(name, value). */
void idmefv2__opt_foreach_prefix(const idmefv2_transport *t, const char *prefix,
                                 void (*fn)(const char *name, const char *value, void *ctx), void *ctx);

/* Log through the application's callback (no-op without one). */
void idmefv2__log(const idmefv2_transport *t, idmefv2_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Sender side.
 *
 * Items are allocated by the generic layer only: a backend gets them from take() and
 * hands each one back exactly once, with return() (try again later) or done() (final).
 *
 * Stop sequence: stop() first refuses new sends and keeps serving take() until
 * every item has an outcome or "stop.flush_timeout_ms" passes; then
 * idmefv2__transport_stopping() turns true, take() returns NULL at once, and the
 * backend's stop() is called: it must join its threads and return() (or done())
 * every item it still holds before it returns. The generic layer then spools what
 * is left, or fails it (FAILED, "not delivered before stop") without a spool.
 * Items left in the spool get no delivery callback in this transport: they have no
 * outcome yet; the transport that replays the spool reports them (opaque NULL).
 *
 * Peer down / spool protocol: when a delivery fails transiently (connection
 * refused, 5xx, 408, 429, broker down), return() the item instead of retrying it
 * in place, and wait idmefv2__backoff_ms(t, item->attempts) (interruptibly: stop()
 * must not wait for a backoff) before taking again. return() puts the item back at
 * the head of the send queue in seq order, so the next take() gives the oldest
 * items first. With "spool.dir" set, a return() also marks the peer down: the
 * item and everything waiting in memory are written to the spool (once each;
 * item->spool_path is then set) and send() writes new items straight to the
 * spool, until the next done(SENT) marks the peer up again. The spool is thus
 * replayed in order as soon as the peer accepts again, and survives a crash
 * meanwhile. While the in-memory queue is full, send() also writes to the spool,
 * and take() loads spooled items back in order as room appears. The backend counts attempts in item->attempts and gives up
 * (dead_letter() + done(FAILED)) when "retry.max" >= 0 and attempts > retry.max.
 *
 * Take up to @max items, oldest first, waiting up to @timeout_ms (0: no wait, -1: until an
 * item arrives or the transport stops). Returns a list linked by ->next (NULL if none). */
struct idmefv2__item *idmefv2__transport_take(idmefv2_transport *t, size_t max, int timeout_ms);
/* Put an item back at the head of the send queue (order kept), e.g. after a transient
 * failure when the backend wants the generic layer to hold it; counts a retry. */
void idmefv2__transport_return(idmefv2_transport *t, struct idmefv2__item *item);
/* Final outcome of an item: counts, removes it from the spool if there, calls the delivery
 * callback, frees the item, and wakes flush(). An item that ends undelivered (REJECTED or
 * FAILED) is first written to the "dead_letter" file if set and not done already by
 * idmefv2__transport_dead_letter(); without one (or if it cannot be written), a FAILED item
 * that sits in the spool stays there for the next start, with no outcome in this run. */
void idmefv2__transport_done(idmefv2_transport *t, struct idmefv2__item *item,
                             idmefv2_delivery_status status, const char *detail);
/* A delivery attempt is being repeated (for the counters). */
void idmefv2__transport_count_retry(idmefv2_transport *t);
/* Whether stop() has finished flushing and is stopping the backend (see above). */
bool idmefv2__transport_stopping(const idmefv2_transport *t);
/* Write @item to the dead-letter file (fsync'ed) if option "dead_letter" is set and it was
 * not written already; done() then knows it is kept. */
void idmefv2__transport_dead_letter(idmefv2_transport *t, struct idmefv2__item *item,
                                    const char *reason);

/* Backoff for attempt @attempt (1-based): exponential from option "retry.backoff_ms" up to
 * "retry.backoff_max_ms", with full jitter. */
int64_t idmefv2__backoff_ms(const idmefv2_transport *t, unsigned attempt);

/* Listener side.
 * Hand received, validated messages to the queue or callback. @ack (may be NULL) is called
 * when the application acknowledges (task_done) — Kafka commits and file deletes there.
 * @timeout_ms as idmefv2_queue_put(). Returns IDMEFV2_OK, IDMEFV2_ERR_FULL, IDMEFV2_ERR_CLOSED,
 * or the callback's refusal. Counts received. */
idmefv2_error idmefv2__transport_deliver(idmefv2_transport *t, idmefv2_message *const *msgs, size_t n,
                                         int timeout_ms, idmefv2_queue_ack_cb ack, void *ack_ctx);
/* Count a refused (malformed/invalid) incoming message. */
void idmefv2__transport_count_invalid(idmefv2_transport *t);

/* Monotonic milliseconds. */
int64_t idmefv2__now_ms(void);

#endif
