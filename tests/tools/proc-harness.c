/* SPDX-License-Identifier: Apache-2.0 */
#include "proc-harness.h"

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int64_t ph_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ph_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

char *ph_slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	size_t cap = 1 << 16, len = 0, n;
	char *buf = malloc(cap);

	ck_assert_ptr_nonnull(buf);
	buf[0] = '\0';
	if (!f)
		return buf;
	while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (len + 1 == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			ck_assert_ptr_nonnull(buf);
		}
	}
	buf[len] = '\0';
	fclose(f);
	return buf;
}

int ph_count_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	int n = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, text))
			n++;
	fclose(f);
	return n;
}

int ph_count_json(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (strlen(e->d_name) > 5 && strcmp(e->d_name + strlen(e->d_name) - 5, ".json") == 0)
			n++;
	closedir(d);
	return n;
}

int ph_wait_count_json(const char *dir, int want, int seconds)
{
	int n = 0;

	for (int i = 0; i < seconds * 20 && (n = ph_count_json(dir)) < want; i++)
		ph_sleep_ms(50);
	return n;
}

void ph_remove_tree(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

void ph_tmpdir_remove(const char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

char *ph_file_read(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	char *data;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = calloc(1, (size_t)n + 1);
	ck_assert_ptr_nonnull(data);
	ck_assert_uint_eq(fread(data, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	if (ret_len)
		*ret_len = (size_t)n;
	return data;
}

char *ph_file_read_or_empty(const char *path)
{
	char *data = ph_file_read(path, NULL);

	return data ? data : strdup("");
}

/* In the child: @p path opened with @p flags onto @p target; false if it cannot be opened. */
static bool ph_redirect(const char *path, int flags, mode_t mode, int target)
{
	int fd = open(path, flags, mode ? mode : 0600);

	if (fd < 0)
		return false;
	dup2(fd, target);
	return true;
}

static void ph_child(const char *const argv[], const struct ph_io *io)
{
	const int w = O_WRONLY | O_CREAT | O_TRUNC;
	const int werr = O_WRONLY | O_CREAT | (io->err_append ? O_APPEND : O_TRUNC);

	if ((io->in && !ph_redirect(io->in, O_RDONLY, 0, 0)) || (io->err && !ph_redirect(io->err, werr, io->mode, 2)))
		_exit(126);
	if (io->out) {
		if (!ph_redirect(io->out, w, io->mode, 1))
			_exit(126);
	} else if (io->out_fd > 0) {
		dup2(io->out_fd, 1);
	} else if (io->out_to_err) {
		dup2(2, 1);
	}
	if (io->child_setup && io->child_setup(io->arg) < 0)
		_exit(125);
	if (io->die_with_parent)
		prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (io->envp)
		execve(argv[0], (char *const *)argv, (char *const *)io->envp);
	else
		execv(argv[0], (char *const *)argv);
	_exit(127);
}

pid_t ph_spawn(const char *const argv[], const struct ph_io *io)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		ph_child(argv, io);
	return pid;
}

int ph_wait_exit(pid_t pid, int timeout_ms, int poll_ms)
{
	int wstatus = 0;

	for (int64_t deadline = ph_now_ms() + timeout_ms;; ph_sleep_ms(poll_ms)) {
		pid_t r = waitpid(pid, &wstatus, WNOHANG);

		ck_assert_int_ge(r, 0);
		if (r == pid)
			break;
		if (ph_now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &wstatus, 0);
			return -1;
		}
	}
	return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
}

int ph_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
