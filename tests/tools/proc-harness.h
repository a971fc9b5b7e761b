/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the tests that run real processes share: time and deadlines, whole
 * files, counting files and lines, and temporary trees. Linked into each
 * test executable of tests/tools (proc-harness.c). Helpers that assert use
 * check's ck_assert: they run inside a test.
 */
#ifndef TESTS_TOOLS_PROC_HARNESS_H
#define TESTS_TOOLS_PROC_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Monotonic milliseconds. */
int64_t ph_now_ms(void);

void ph_sleep_ms(long ms);

/* The whole file, NUL-terminated (malloc); an empty string if it cannot be opened. */
char *ph_slurp(const char *path);

/* Lines of @p path (up to 4 KiB each) that contain @p text; 0 if it cannot be opened. */
int ph_count_text(const char *path, const char *text);

/* Files ending in .json directly in @p dir (the file transport's messages). */
int ph_count_json(const char *dir);

/* ph_count_json polled every 50 ms until it reaches @p want or @p seconds pass; the last count. */
int ph_wait_count_json(const char *dir, int want, int seconds);

/* rm -rf of @p dir, asserted. */
void ph_remove_tree(const char *dir);

#endif
