/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file dirwatch.h
 * Watch a directory tree recursively and report files of a given name once
 * they are complete (the ClamAV connector's input: clamd's `metadata.json`
 * files in its temporary tree).
 *
 * The watcher is driven by its caller: idmefv2_dirwatch_poll() reads the
 * inotify events available, waits up to a timeout if there were none, and
 * hands the full path of each matching file to the file callback, in the
 * caller's thread. A file is reported when:
 *  - it is closed after writing (IN_CLOSE_WRITE) anywhere in the tree;
 *  - it is moved or renamed into the tree (IN_MOVED_TO);
 *  - it lies in a directory that appears in the tree after start (created or
 *    moved in, at any depth): the new directory is watched first, then
 *    scanned, so a file written before its watch existed is not lost;
 *  - it exists at start, only if idmefv2_dirwatch_set_report_existing() asked.
 *
 * Delivery is at least once: a file still being written when its new
 * directory is scanned is reported by the scan and again by its close. A file
 * written twice is reported twice.
 *
 * Directories deleted or moved out of the tree drop their watches; a
 * directory moved inside the tree is treated as gone then new (its files are
 * reported again). Symbolic links are not followed.
 *
 * On a kernel queue overflow (IN_Q_OVERFLOW) the tree is walked again:
 * directories not yet watched are watched and their files reported, watches of
 * directories that vanished are dropped, and a warning is logged, because
 * writes in already-watched directories during the overflow may have been lost.
 *
 * A watcher is not thread-safe: use one from one thread at a time.
 */
#ifndef IDMEFV2_DIRWATCH_H
#define IDMEFV2_DIRWATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <idmefv2/common.h>
#include <idmefv2/transport.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct idmefv2_dirwatch idmefv2_dirwatch;

/**
 * File callback. @p path is the full path of the file (the root as given to
 * idmefv2_dirwatch_new(), then the relative names), NUL-terminated, borrowed
 * for the duration of the call; the file can be opened and read there.
 * Return IDMEFV2_OK to accept it. Anything else refuses it: the current poll
 * stops, and the same path is offered again first on the next poll.
 */
typedef idmefv2_error (*idmefv2_dirwatch_file_cb)(const char *path, void *user_data);

/** Counters. */
typedef struct idmefv2_dirwatch_counters {
	uint64_t files;        /**< files accepted by the callback (monotonic) */
	uint64_t dirs_watched; /**< directories watched now, the root included (a gauge) */
	uint64_t dirs_added;   /**< watches added since start (monotonic) */
	uint64_t overflows;    /**< kernel queue overflows, each followed by a rescan (monotonic) */
	uint64_t pending;      /**< paths queued, not yet accepted (a gauge) */
} idmefv2_dirwatch_counters;

/**
 * Create a watcher of the tree at @p root (copied; a trailing slash is
 * dropped). Nothing is opened until idmefv2_dirwatch_start().
 * @return a new watcher; release with idmefv2_dirwatch_free(); NULL when out
 *         of memory or @p root is NULL or empty.
 */
IDMEFV2_EXPORT idmefv2_dirwatch *idmefv2_dirwatch_new(const char *root);

/** Stop and release @p w (accepts NULL). Paths not yet accepted are dropped. */
IDMEFV2_EXPORT void idmefv2_dirwatch_free(idmefv2_dirwatch *w);

/**
 * Set the file callback (required before start).
 * @return IDMEFV2_ERR_STATE once started.
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_dirwatch_set_file_cb(idmefv2_dirwatch *w, idmefv2_dirwatch_file_cb cb,
                                                          void *user_data);

/** Set the log callback (overflows, vanished root, watch failures). */
IDMEFV2_EXPORT void idmefv2_dirwatch_set_log_cb(idmefv2_dirwatch *w, idmefv2_log_cb cb, void *user_data);

/**
 * Report only files whose name (the last path component) matches @p pattern,
 * an fnmatch(3) glob without flags, e.g. "metadata.json" or "*.json"
 * (copied). NULL, the default, reports every file.
 * @return IDMEFV2_ERR_STATE once started, IDMEFV2_ERR_NOMEM.
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_dirwatch_set_pattern(idmefv2_dirwatch *w, const char *pattern);

/**
 * Report the matching files present in the tree at start (@p yes true), or
 * not (false, the default).
 * @return IDMEFV2_ERR_STATE once started.
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_dirwatch_set_report_existing(idmefv2_dirwatch *w, bool yes);

/**
 * Set up inotify and watch every directory of the tree.
 * @return IDMEFV2_ERR_STATE if already started or no file callback;
 *         IDMEFV2_ERR_IO with detail in @p errstr (may be NULL) when the root
 *         is not a readable directory or inotify fails.
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_dirwatch_start(idmefv2_dirwatch *w, char *errstr, size_t errstr_size);

/**
 * Read the pending events and deliver the matching files; if none was
 * delivered (and none refused), wait up to @p timeout_ms (-1 forever, 0 not at
 * all) for events and try once more.
 * @param ret_files if not NULL, receives the number of files accepted.
 * @return IDMEFV2_OK (also when nothing arrived or a file was refused);
 *         IDMEFV2_ERR_STATE before start; IDMEFV2_ERR_NOMEM;
 *         IDMEFV2_ERR_IO when reading inotify fails.
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_dirwatch_poll(idmefv2_dirwatch *w, int timeout_ms, size_t *ret_files);

/**
 * The inotify descriptor (readable when idmefv2_dirwatch_poll() has work), to
 * integrate the watcher into a caller's poll loop; -1 before start. Borrowed.
 * Paths refused earlier are pending without making it readable.
 */
IDMEFV2_EXPORT int idmefv2_dirwatch_get_fd(const idmefv2_dirwatch *w);

/** Copy the counters into @p ret_counters. */
IDMEFV2_EXPORT void idmefv2_dirwatch_get_counters(const idmefv2_dirwatch *w,
                                                  idmefv2_dirwatch_counters *ret_counters);

#ifdef __cplusplus
}
#endif

#endif
