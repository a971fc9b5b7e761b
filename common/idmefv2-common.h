/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Small helpers shared by several libraries of the family. The source is
 * compiled into each library that uses it (hidden, never exported), so that
 * no layer depends on another for them.
 */
#ifndef IDMEFV2_COMMON_PRIVATE_H
#define IDMEFV2_COMMON_PRIVATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* Format into a caller's error buffer (NULL or size 0: nothing). */
void idmefv2__set_error(char *errstr, size_t errstr_size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The value of hexadecimal digit @c, or -1. */
int idmefv2__hex_value(int c);

/*
 * The length of the well-formed UTF-8 sequence (RFC 3629: no overlong form,
 * surrogate or value above U+10FFFF) starting with the non-ASCII byte at @s,
 * of which @avail bytes are readable; 0 when ill-formed.
 */
size_t idmefv2__utf8_len(const unsigned char *s, size_t avail);

/* write(2) all of @data, retrying on EINTR and short writes; false with errno set on failure. */
bool idmefv2__write_all(int fd, const void *data, size_t len);

/* renameat(2) within @dir_fd that never replaces an existing name, nor a symbolic link planted
 * there (RENAME_NOREPLACE, or link + unlink where the filesystem lacks it); 0 or an errno value. */
int idmefv2__rename_noreplace(int dir_fd, const char *from, const char *to);

/* The CLOCK_MONOTONIC instant @timeout_ms from now (now itself when timeout_ms <= 0). */
struct timespec idmefv2__deadline_after(int timeout_ms);

/*
 * Wait on @cond (whose attribute uses CLOCK_MONOTONIC): forever when
 * @timeout_ms < 0, not at all when 0, else until @deadline. Returns false
 * once the deadline has passed.
 */
bool idmefv2__cond_wait_until(pthread_cond_t *cond, pthread_mutex_t *lock, int timeout_ms,
                              const struct timespec *deadline);

#endif
