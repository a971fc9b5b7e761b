/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file tail.h
 * Follow one growing log file ("tail -F") and deliver its complete lines.
 *
 * The tailer is driven by its caller: idmefv2_tail_poll() waits (inotify)
 * for activity up to a timeout, then reads every complete line available and
 * hands each to the line callback, in the caller's thread. A partial line is
 * buffered until its newline arrives. The tailer copes with:
 *  - a file that does not exist yet (it is read from its start once created);
 *  - rotation by rename and create: the old file is read to its end (a final
 *    line without newline is delivered), then the new one from its start;
 *  - copytruncate and plain truncation: a size below the read position
 *    restarts reading at 0;
 *  - lines longer than the limit: skipped whole, with a warning through the
 *    log callback, reading resumes after the next newline;
 *  - a path that cannot be opened (permissions), that names a directory or
 *    another non-regular file, or a read error: logged once per cause
 *    (level ERROR, "retrying until it can be read"), then the path is opened
 *    again by name at growing intervals (100 ms doubling up to 1 s) until a
 *    regular file can be read ("readable again", level INFO). A missing file
 *    is not an error: it is opened when it appears.
 *
 * Persisted state (device, inode, offset, line number) lets a restarted
 * process resume with nothing lost and nothing repeated: the saved offset only
 * ever covers lines already accepted by the line callback, or, with
 * idmefv2_tail_checkpoint_at(), only the lines the caller says are done with
 * (e.g. delivered).
 *
 * Lines are numbered from 1 at the start of the file, every line counting
 * (empty and over-long ones too); when reading starts at the end of a file
 * that has no saved state, numbering starts there.
 *
 * Known limits, shared with every inode-following tailer: after a copytruncate
 * or truncation, data written past the old read position before the next poll
 * hides the truncation; lines written to a rotated-away file after the tailer
 * has switched to the new file are not read.
 *
 * A tailer is not thread-safe: use one from one thread at a time.
 */
#ifndef IDMEFV2_TAIL_H
#define IDMEFV2_TAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <idmefv2/common.h>
#include <idmefv2/transport.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Default longest line, in bytes without the newline. */
#define IDMEFV2_TAIL_DEFAULT_MAX_LINE (1024 * 1024)

typedef struct idmefv2_tail idmefv2_tail;

/**
 * Line callback. @p line is NUL-terminated, without its newline (nor a
 * trailing carriage return), @p len bytes long, never empty (empty lines are
 * consumed silently); borrowed for the duration of the call.
 * Return IDMEFV2_OK to accept the line. Anything else refuses it: the current
 * poll stops, the offset stays before that line, and the same line is offered
 * again on the next poll.
 */
typedef idmefv2_error (*idmefv2_tail_line_cb)(const char *line, size_t len, void *user_data);

/** Where one line is: its file, its bytes, its number (see idmefv2_tail_get_position()). */
typedef struct idmefv2_tail_position {
	uint64_t dev;    /**< device of the file */
	uint64_t ino;    /**< inode of the file */
	uint64_t offset; /**< offset of the line's first byte */
	uint64_t end;    /**< offset just past its newline: where reading resumes after it */
	uint64_t line;   /**< its line number (1 for the first line of the file) */
} idmefv2_tail_position;

/** Counters, all monotonic since idmefv2_tail_new(). */
typedef struct idmefv2_tail_counters {
	uint64_t lines;       /**< lines accepted by the callback */
	uint64_t bytes;       /**< bytes read from files */
	uint64_t rotations;   /**< switches to a new file at the path */
	uint64_t truncations; /**< restarts at 0 after the file shrank */
	uint64_t skipped;     /**< lines longer than the limit, dropped */
} idmefv2_tail_counters;

/**
 * Create a tailer of @p path (copied). Nothing is opened until
 * idmefv2_tail_start().
 * @return a new tailer; release with idmefv2_tail_free(); NULL when out of
 *         memory or @p path is NULL or empty.
 */
IDMEFV2_EXPORT idmefv2_tail *idmefv2_tail_new(const char *path);

/** Stop and release @p t (accepts NULL). The state is NOT saved: call idmefv2_tail_checkpoint() first. */
IDMEFV2_EXPORT void idmefv2_tail_free(idmefv2_tail *t);

/**
 * Set the line callback (required before start).
 * @return IDMEFV2_ERR_STATE once started.
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_tail_set_line_cb(idmefv2_tail *t, idmefv2_tail_line_cb cb,
                                                      void *user_data);

/** Set the log callback (warnings about skipped lines, rotation and truncation notices). */
IDMEFV2_EXPORT void idmefv2_tail_set_log_cb(idmefv2_tail *t, idmefv2_log_cb cb, void *user_data);

/**
 * Read a file that exists at start from its beginning (@p yes true) or from its
 * end (false, the default). A file created later, or one that replaced the file
 * named in a saved state, is always read from its beginning.
 * @return IDMEFV2_ERR_STATE once started.
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_tail_set_from_beginning(idmefv2_tail *t, bool yes);

/**
 * Longest line accepted, in bytes without the newline (default
 * IDMEFV2_TAIL_DEFAULT_MAX_LINE). The read buffer is this size plus one.
 * @return IDMEFV2_ERR_INVALID_ARG for 0, IDMEFV2_ERR_STATE once started.
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_tail_set_max_line(idmefv2_tail *t, size_t max_line);

/**
 * Persist position in @p state_path (copied); its directory must be writable
 * (the file is replaced atomically through "@p state_path.tmp"). If the file
 * exists at start, reading resumes from it: at the saved offset when the file
 * at the path is the same inode and not shorter, else from the beginning.
 * Besides the caller's checkpoints, the tailer writes the state itself when it
 * opens a file without a saved position (at start, on creation, after a
 * rotation), at the offset where it starts reading: that covers nothing unread,
 * and a crash before the next checkpoint then resumes in that file.
 * @return IDMEFV2_ERR_STATE once started.
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_tail_set_state_file(idmefv2_tail *t, const char *state_path);

/**
 * Load the state, set up inotify and open the file if it exists.
 * @return IDMEFV2_ERR_STATE if already started or no line callback;
 *         IDMEFV2_ERR_PARSE for a malformed state file; IDMEFV2_ERR_IO with
 *         detail in @p errstr (may be NULL) for system failures.
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_tail_start(idmefv2_tail *t, char *errstr, size_t errstr_size);

/**
 * Deliver every complete line available; if there was none, wait up to
 * @p timeout_ms (-1 forever, 0 not at all) for file activity and try again
 * once. Rotation, truncation and the file's creation are checked on every
 * call, so polling with a timeout also works where inotify misses events.
 * @param ret_lines if not NULL, receives the number of lines delivered.
 * @return IDMEFV2_OK (also when nothing arrived or a line was refused);
 *         IDMEFV2_ERR_STATE before start; IDMEFV2_ERR_IO on a read error.
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_tail_poll(idmefv2_tail *t, int timeout_ms, size_t *ret_lines);

/**
 * The inotify descriptor (readable when idmefv2_tail_poll() has work), to
 * integrate the tailer into a caller's poll loop; -1 before start. Borrowed.
 */
IDMEFV2_EXPORT int idmefv2_tail_get_fd(const idmefv2_tail *t);

/**
 * Write the state file now (atomically: temporary file, fsync, rename, fsync
 * of the directory). The offset saved is just past the last line accepted.
 * Does nothing and succeeds when no state file is set or nothing was opened.
 * @return IDMEFV2_ERR_IO with detail in @p errstr (may be NULL).
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_tail_checkpoint(idmefv2_tail *t, char *errstr, size_t errstr_size);

/**
 * The position of the line being handed to the line callback: call it from
 * the callback (outside, it is the last line handed over).
 * @return IDMEFV2_OK, IDMEFV2_ERR_STATE if no line was handed over yet
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_tail_get_position(const idmefv2_tail *t, idmefv2_tail_position *ret_pos);

/**
 * Write the state file (as idmefv2_tail_checkpoint()) so that a restart
 * resumes just after the line at @p pos (from idmefv2_tail_get_position()),
 * whatever was read since: for callers that save only what is delivered.
 * Does nothing and succeeds when no state file is set.
 * @return IDMEFV2_ERR_IO with detail in @p errstr (may be NULL)
 */
IDMEFV2_EXPORT idmefv2_error idmefv2_tail_checkpoint_at(idmefv2_tail *t, const idmefv2_tail_position *pos,
                                                        char *errstr, size_t errstr_size);

/** Copy the counters into @p ret_counters. */
IDMEFV2_EXPORT void idmefv2_tail_get_counters(const idmefv2_tail *t, idmefv2_tail_counters *ret_counters);

#ifdef __cplusplus
}
#endif

#endif
