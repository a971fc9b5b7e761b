/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the tests that run real processes share: time and deadlines, whole
 * files, counting files and lines, and temporary trees. Linked into each
 * test executable of tests/tools (proc-harness.c). Helpers that assert use
 * check's ck_assert: they run inside a test.
 */
#ifndef TESTS_TOOLS_PROC_HARNESS_H
#define TESTS_TOOLS_PROC_HARNESS_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

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

/* rm -rf of a test's temporary directory at teardown: a failure is only reported. */
void ph_tmpdir_remove(const char *dir);

/* The whole file, NUL-terminated (calloc), its length in *ret_len if not NULL; NULL if it cannot be opened. */
char *ph_file_read(const char *path, size_t *ret_len);

/* As ph_file_read(), an empty string if the file cannot be opened. */
char *ph_file_read_or_empty(const char *path);

/* Where a spawned process's standard streams go; what is not set is left as in the test. */
struct ph_io {
	const char *in;  /* stdin from this file */
	const char *out; /* stdout to this file (created or truncated, mode 0600) */
	int out_fd;      /* if out is NULL and out_fd > 0: stdout to this descriptor (a pipe) */
	bool out_to_err; /* if out is NULL and out_fd is not set: stdout to the err file */
	const char *err; /* stderr to this file (created or truncated, mode 0600) */
	bool err_append; /* the err file is appended to, not truncated */
	mode_t mode;     /* of the files created; 0: 0600 */
	bool die_with_parent; /* SIGKILL when the test process ends (set after child_setup) */
	const char *const *envp;       /* the environment; NULL: the test's */
	int (*child_setup)(void *arg); /* run in the child last before exec; < 0: the child exits 125 */
	void *arg;
};

/*
 * fork and exec argv[0] (flushing stdio first, so the child repeats nothing);
 * a file that cannot be opened ends the child with 126, a failed exec with 127.
 * die_with_parent follows child_setup because changing credentials clears it.
 */
pid_t ph_spawn(const char *const argv[], const struct ph_io *io);

/*
 * The exit status of @p pid (128 + signal when killed), polled every @p poll_ms;
 * past @p timeout_ms it is killed (SIGKILL), reaped, and -1 returned.
 */
int ph_wait_exit(pid_t pid, int timeout_ms, int poll_ms);

/* main() of a test program: runs the suite; EXIT_FAILURE if any test failed. */
int ph_run_suite(Suite *s);

#endif
