/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal to the generic layer (transport.c, options.c, spool.c): not for
 * backends, which use transport-private.h only.
 */
#ifndef IDMEFV2_TRANSPORT_GENERIC_H
#define IDMEFV2_TRANSPORT_GENERIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "transport-private.h"

/* ---- options ---------------------------------------------------------------------------- */

/* The row for @name, or NULL (also NULL for "kafka.*" passthrough names). */
const idmefv2_option_desc *idmefv2__option_find(const char *name);
/* Whether @desc applies to @scheme ("http", "https", "kafka", "file"). */
bool idmefv2__option_applies(const idmefv2_option_desc *desc, const char *scheme);
/* Check @value against @desc's type and range; on success the parsed number
 * (INT, SIZE, BOOL as 0/1) goes to @ret_number if not NULL. */
idmefv2_error idmefv2__option_check(const idmefv2_option_desc *desc, const char *value,
                                    int64_t *ret_number, char *errstr, size_t errstr_size);
/* Parse @value as @type, without range checks (used for defaults and stored values). */
bool idmefv2__option_parse_number(idmefv2_option_type type, const char *value, int64_t *ret_number);

/* ---- spool directory --------------------------------------------------------------------- */

/*
 * One file per item named by its zero-padded sequence number (20 digits), so
 * that sorting names sorts by send order. Content: a header line
 * "IDMEFV2-SPOOL 1 <content-type>\n" then the serialized bytes. Written to a
 * dotfile, fsync'd, renamed, then the directory fsync'd. A ".lock" file held
 * with flock() keeps two transports from sharing a directory.
 */
struct idmefv2__spool;

struct idmefv2__spool_entry {
	uint64_t seq;
	uint64_t size; /* bytes on disk */
};

idmefv2_error idmefv2__spool_open(const char *dir, struct idmefv2__spool **ret_spool,
                                  char *errstr, size_t errstr_size);
void idmefv2__spool_close(struct idmefv2__spool *spool);
/* Existing items, sorted by seq; removes temporaries left by a crash. */
idmefv2_error idmefv2__spool_scan(struct idmefv2__spool *spool, struct idmefv2__spool_entry **ret_entries,
                                  size_t *ret_count, char *errstr, size_t errstr_size);
/* @ret_path: a new string (the file's path); @ret_size: bytes on disk. */
idmefv2_error idmefv2__spool_write(struct idmefv2__spool *spool, uint64_t seq, const char *content_type,
                                   const char *data, size_t len, char **ret_path, uint64_t *ret_size,
                                   char *errstr, size_t errstr_size);
/* Read an item: new strings in @ret_content_type and @ret_data (NUL-terminated). */
idmefv2_error idmefv2__spool_read(struct idmefv2__spool *spool, uint64_t seq, char **ret_path,
                                  char **ret_content_type, char **ret_data, size_t *ret_len,
                                  char *errstr, size_t errstr_size);
/* Delivered: remove the file. */
void idmefv2__spool_remove(struct idmefv2__spool *spool, const char *path);
/* Unreadable: rename it out of the way (<name>.corrupt) so that it is kept but not replayed. */
void idmefv2__spool_quarantine(struct idmefv2__spool *spool, uint64_t seq);
/* The size a write of @len bytes of @content_type takes on disk. */
uint64_t idmefv2__spool_item_size(const char *content_type, size_t len);

/* ---- tests ------------------------------------------------------------------------------ */

/* Create a transport served by @backend whatever the URL's scheme (tests drive the
 * generic layer with a fake backend this way). */
idmefv2_error idmefv2__transport_new_with_backend(const char *url, idmefv2_transport_role role,
                                                  const struct idmefv2__backend *backend,
                                                  idmefv2_transport **ret_t,
                                                  char *errstr, size_t errstr_size);

/* idmefv2__set_error() comes from common/idmefv2-common.h. */
#include "idmefv2-common.h"

#endif
