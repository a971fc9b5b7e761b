/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The estreamer-client process against the simulator: errors a retry cannot
 * fix end it at once with status 3 and a clear message (instead of
 * reconnecting for ever), transient ones keep it reconnecting until SIGTERM;
 * the server's name is checked by default; the password comes from a file or
 * the environment, with the documented precedence.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"

#define PER_BUNDLE 2 /* the program's default request is extended */

static char prog[512], out[300], err[300], json[300], p12[300], pw[300];

static void paths(void)
{
	snprintf(prog, sizeof(prog), "%s", getenv("ESTREAMER_CLIENT"));
	snprintf(out, sizeof(out), "%s/pe.out", pki);
	snprintf(err, sizeof(err), "%s/pe.err", pki);
	snprintf(json, sizeof(json), "%s/pe.json", pki);
	snprintf(p12, sizeof(p12), "%s/client.p12", pki);
	snprintf(pw, sizeof(pw), "%s/password.txt", pki);
	unlink(json);
}

static void dump(const char *path)
{
	char line[1024];
	FILE *f = fopen(path, "r");

	while (f && fgets(line, sizeof(line), f))
		fprintf(stderr, "| %s", line);
	if (f)
		fclose(f);
}

/* In the child: no password from the test's environment, then env (NAME=VALUE, NULL-terminated). */
static void child_env(void *arg)
{
	char *const *env = arg;

	unsetenv("ESTREAMER_TLS_PASSWORD");
	unsetenv("ESTREAMER_TLS_PASSWORD_FILE");
	for (size_t i = 0; env && env[i]; i++)
		putenv(env[i]);
}

/* Runs the program; env is a NULL-terminated list of NAME=VALUE added in the child. */
static pid_t spawn(char *const argv[], char *const env[])
{
	return prog_spawn(argv, out, err, "w", child_env, (void *)env);
}

/* The program must end by itself, quickly, with status 3 and @text on stderr. */
static void expect_permanent(char *const argv[], char *const env[], const char *text)
{
	int status = prog_wait_exit_within(spawn(argv, env), 5000);

	ck_assert_msg(status == 3, "exit status %d (-1: still running after 5 s)", status);
	ck_assert_msg(file_count_text(err, text) > 0, "stderr lacks \"%s\"", text);
}

/* The program connects and writes the 3 records; SIGTERM ends it with 0. */
static void expect_streams(char *const argv[], char *const env[])
{
	pid_t pid;
	int lines = 0;

	unlink(json);
	pid = spawn(argv, env);
	for (int t = 0; t < 1000 && (lines = file_count_text(json, "\n")) < 3; t++)
		sleep_ms(10);
	kill(pid, SIGTERM);
	ck_assert_int_eq(prog_wait_exit_within(pid, 5000), 0);
	if (lines != 3)
		dump(err);
	ck_assert_msg(lines == 3, "%d records written (stderr above)", lines);
}

#define BASE(port) prog, "--host", "127.0.0.1", "--port", (port), "--json", json

START_TEST(test_unrelated_ca_exits)
{
	struct sim *sim = sim_started(3, "rogue", PER_BUNDLE);
	char port[16];

	paths();
	snprintf(port, sizeof(port), "%u", sim->port);
	{
		/* Default backoff: a retried error would keep it running well past 5 s. */
		char *argv[] = { BASE(port), "--pkcs12", p12, "--password-file", pw, NULL };

		expect_permanent(argv, NULL, "certificate not trusted");
	}
	ck_assert_int_eq(sim->nconn, 1);
	sim_release(sim);
}
END_TEST

START_TEST(test_wrong_password_exits_at_once)
{
	struct sim *sim = sim_started(3, NULL, PER_BUNDLE);
	char port[16];

	paths();
	snprintf(port, sizeof(port), "%u", sim->port);
	{
		char *argv[] = { BASE(port), "--pkcs12", p12, NULL };
		char *env[] = { "ESTREAMER_TLS_PASSWORD=not-the-password", NULL };

		expect_permanent(argv, env, "wrong password");
	}
	ck_assert_int_eq(sim->nconn, 0);
	sim_release(sim);
}
END_TEST

START_TEST(test_refused_client_certificate_exits)
{
	struct sim *sim = sim_started(3, NULL, PER_BUNDLE);
	char port[16], cert[300], key[300], ca[300];

	paths();
	snprintf(port, sizeof(port), "%u", sim->port);
	pki_path(cert, sizeof(cert), "other-ca.pem");
	pki_path(key, sizeof(key), "other-ca.key");
	pki_path(ca, sizeof(ca), "ca.pem");
	{
		char *argv[] = { BASE(port), "--cert", cert, "--key", key, "--ca", ca, NULL };

		expect_permanent(argv, NULL, "refused this client");
	}
	ck_assert_int_eq(sim->nconn, 1);
	sim_release(sim);
}
END_TEST

START_TEST(test_host_name_checked)
{
	struct sim *sim = sim_started(3, "named", PER_BUNDLE);
	char port[16], conf[300];
	FILE *f;

	paths();
	snprintf(port, sizeof(port), "%u", sim->port);
	{
		char *argv[] = { BASE(port), "--pkcs12", p12, "--password-file", pw, NULL };

		expect_permanent(argv, NULL, "expected \"127.0.0.1\"");
		ck_assert(file_count_text(err, "DNS:intruder.example") > 0);
	}
	{
		char *argv[] = { BASE(port), "--pkcs12", p12, "--password-file", pw,
				 "--server-name", "intruder.example", NULL };

		expect_streams(argv, NULL);
	}
	{
		char *argv[] = { BASE(port), "--pkcs12", p12, "--password-file", pw,
				 "--no-verify-hostname", NULL };

		expect_streams(argv, NULL);
	}
	/* The same from the configuration file. */
	snprintf(conf, sizeof(conf), "%s/names.conf", pki);
	f = fopen(conf, "w");
	fputs("[settings]\ntls.server_name = intruder.example\n", f);
	fclose(f);
	{
		char *argv[] = { BASE(port), "-c", conf, "--pkcs12", p12, "--password-file", pw, NULL };

		expect_streams(argv, NULL);
	}
	sim_release(sim);
}
END_TEST

START_TEST(test_connection_refused_keeps_retrying)
{
	struct sim *sim = sim_started(3, NULL, PER_BUNDLE);
	char port[16];
	pid_t pid;
	int attempts = 0, status;

	paths();
	/* A port nobody listens on. */
	snprintf(port, sizeof(port), "%u", sim->port);
	sim_release(sim);
	{
		char *argv[] = { BASE(port), "--pkcs12", p12, "--password-file", pw,
				 "-o", "reconnect.backoff_ms=20", "-o", "reconnect.backoff_max_ms=50",
				 NULL };

		pid = spawn(argv, NULL);
	}
	for (int t = 0; t < 1000 && (attempts = file_count_text(err, "connect to 127.0.0.1")) < 4; t++)
		sleep_ms(10);
	ck_assert_int_ge(attempts, 4);
	ck_assert_int_eq(waitpid(pid, &status, WNOHANG), 0); /* still running */
	kill(pid, SIGTERM);
	ck_assert_int_eq(prog_wait_exit_within(pid, 5000), 0);
	ck_assert(file_count_text(err, "connections=0 ") == 1);
}
END_TEST

START_TEST(test_password_sources)
{
	struct sim *sim = sim_started(3, NULL, PER_BUNDLE);
	char port[16], conf[300], env_file[400];
	FILE *f;

	paths();
	snprintf(port, sizeof(port), "%u", sim->port);
	snprintf(env_file, sizeof(env_file), "ESTREAMER_TLS_PASSWORD_FILE=%s", pw);
	{
		/* From the environment only. */
		char *argv[] = { BASE(port), "--pkcs12", p12, NULL };
		char *env[] = { "ESTREAMER_TLS_PASSWORD=secret", NULL };
		char *env2[] = { env_file, NULL };

		expect_streams(argv, env);
		expect_streams(argv, env2);
	}
	{
		/* The command line beats the environment. */
		char *argv[] = { BASE(port), "--pkcs12", p12, "--password-file", pw, NULL };
		char *env[] = { "ESTREAMER_TLS_PASSWORD=wrong", NULL };

		expect_streams(argv, env);
	}
	/* The environment beats the configuration file. */
	snprintf(conf, sizeof(conf), "%s/password.conf", pki);
	f = fopen(conf, "w");
	fputs("[settings]\ntls.password = wrong\n", f);
	fclose(f);
	{
		char *argv[] = { BASE(port), "-c", conf, "--pkcs12", p12, NULL };
		char *env[] = { "ESTREAMER_TLS_PASSWORD=secret", NULL };

		expect_streams(argv, env);
		expect_permanent(argv, NULL, "wrong password");
	}
	{
		/* Still accepted on the command line, with a warning. */
		char *argv[] = { BASE(port), "--pkcs12", p12, "-o", "tls.password=secret", NULL };

		expect_streams(argv, NULL);
		ck_assert(file_count_text(err, "visible to other users") == 1);
	}
	sim_release(sim);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("estreamer-program-errors");
	TCase *tc = tcase_create("program-errors");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_unrelated_ca_exits);
	tcase_add_test(tc, test_wrong_password_exits_at_once);
	tcase_add_test(tc, test_refused_client_certificate_exits);
	tcase_add_test(tc, test_host_name_checked);
	tcase_add_test(tc, test_connection_refused_keeps_retrying);
	tcase_add_test(tc, test_password_sources);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite_with_pki(suite());
}
