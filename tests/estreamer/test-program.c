/* SPDX-License-Identifier: Apache-2.0 */
/* The estreamer-client program against the simulator, with a Python-library config file. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <estreamer/request.h>

#include "harness.h"

START_TEST(test_program_streams_with_python_config)
{
	struct sim *sim = calloc(1, sizeof(*sim));
	char *prog = getenv("ESTREAMER_CLIENT");
	char conf[300], out[300], err[300], json[300], pcap[300], p12[300], pw[300], port[16];
	struct buf body = { 0 };
	uint32_t flags;
	FILE *f;
	pid_t pid;
	int lines = 0;

	ck_assert_ptr_nonnull(prog);
	snprintf(conf, sizeof(conf), "%s/estreamer.conf", pki);
	snprintf(out, sizeof(out), "%s/prog.out", pki);
	snprintf(err, sizeof(err), "%s/prog.err", pki);
	snprintf(json, sizeof(json), "%s/events.json", pki);
	snprintf(pcap, sizeof(pcap), "%s/packets.pcap", pki);
	snprintf(p12, sizeof(p12), "%s/client.p12", pki);
	snprintf(pw, sizeof(pw), "%s/password.txt", pki);

	/* The example file of the Python library, shortened. */
	f = fopen(conf, "w");
	fputs("[settings]\n"
	      "event_types = INTRUSION_EVENTS, METADATA, TERMINATE\n"
	      "plugin_dir = plugins\n"
	      "\n"
	      "[flags]\n"
	      "packets = 1\n"
	      "metadata = 0\n"
	      "ids = 1\n"
	      "discovery = 0\n"
	      "timestamp = 1\n"
	      "extended_request = 1\n",
	      f);
	fclose(f);

	sim->dir = pki;
	sim->per_bundle = 3;
	make_records(sim, 6, 1);
	/* One packet record at the end. */
	sim->records = realloc(sim->records, (sim->nrecords + 1) * sizeof(struct buf));
	sim->record_ts = realloc(sim->record_ts, (sim->nrecords + 1) * sizeof(uint32_t));
	body_packet(&body, 99, 1700000009, 1, 8);
	sim->records[sim->nrecords] = (struct buf){ 0 };
	b_record(&sim->records[sim->nrecords], 2, 1, 1700000009, &body);
	sim->record_ts[sim->nrecords++] = 1700000009;
	b_free(&body);
	ck_assert_int_eq(sim_start(sim), 0);
	snprintf(port, sizeof(port), "%u", sim->port);
	{
		char *argv[] = { prog, "-c", conf, "--host", "127.0.0.1", "--port", port,
				 "--pkcs12", p12, "--password-file", pw, "--json", json,
				 "--pcap", pcap, "--start", "oldest", "-o",
				 "reconnect.backoff_ms=20", NULL };

		pid = prog_spawn(argv, out, err, "w", NULL, NULL);
	}
	for (int t = 0; t < 1000 && (lines = file_count_lines(json)) < 10; t++)
		sleep_ms(10);
	ck_assert_int_eq(lines, 10);
	sleep_ms(100);
	kill(pid, SIGUSR1);
	for (int t = 0; t < 200 && !file_contains(err, "records=10"); t++)
		sleep_ms(10);
	ck_assert_msg(file_contains(err, "records=10 "), "no counters on SIGUSR1");
	kill(pid, SIGTERM);
	ck_assert_int_eq(prog_wait_exit(pid), 0);

	/* Flags from [flags], types from [settings]. */
	ck_assert_int_eq(estreamer_flags_parse("packets,ids,timestamp,extended_request", &flags),
			 ESTREAMER_OK);
	ck_assert_uint_eq(sim->conn[0].flags, flags);
	ck_assert_uint_eq(sim->conn[0].ts, 0);
	ck_assert_uint_eq(sim->conn[0].streaming_len, 24 + 3 * 4);
	ck_assert_mem_eq(sim->conn[0].streaming + 24, "\x00\x0b\x00\x0c\x00\x04\x00\x15\0\0\0\0", 12);
	ck_assert(file_contains(json, "\"ruleMessage\":\"sim rule\""));
	ck_assert(file_contains(json, "\"recordType\":2,"));
	ck_assert(file_contains(out, "") && file_count_lines(out) == 0);
	/* Counters again at exit, and a pcap with the one packet. */
	ck_assert(file_contains(err, "bundles=4"));
	ck_assert(file_contains(err, "setting \"plugin_dir\" ignored"));
	{
		FILE *p = fopen(pcap, "rb");
		long size;

		ck_assert_ptr_nonnull(p);
		fseek(p, 0, SEEK_END);
		size = ftell(p);
		fclose(p);
		ck_assert_int_eq(size, 24 + 16 + 14 + 20 + 8 + 8);
	}
	sim_stop(sim);
	free_records(sim);
	free(sim);
}
END_TEST

START_TEST(test_program_usage_errors)
{
	char *prog = getenv("ESTREAMER_CLIENT");
	char out[300], err[300], conf[300];
	FILE *f;

	snprintf(out, sizeof(out), "%s/u.out", pki);
	snprintf(err, sizeof(err), "%s/u.err", pki);
	snprintf(conf, sizeof(conf), "%s/bad.conf", pki);
	{
		char *argv[] = { prog, "--help", NULL };

		ck_assert_int_eq(prog_wait_exit(prog_spawn(argv, out, err, "w", NULL, NULL)), 0);
		ck_assert(file_contains(out, "Usage: estreamer-client"));
	}
	{
		char *argv[] = { prog, "--version", NULL };

		ck_assert_int_eq(prog_wait_exit(prog_spawn(argv, out, err, "w", NULL, NULL)), 0);
		ck_assert(file_contains(out, "estreamer-client 0.1.0"));
	}
	{
		char *argv[] = { prog, "-o", "tls.min_version=0.9", NULL };

		ck_assert_int_eq(prog_wait_exit(prog_spawn(argv, out, err, "w", NULL, NULL)), 2);
		ck_assert(file_contains(err, "tls.min_version"));
	}
	f = fopen(conf, "w");
	fputs("[flags]\nteleport = 1\n", f);
	fclose(f);
	{
		char *argv[] = { prog, "-c", conf, "--host", "127.0.0.1", NULL };

		ck_assert_int_eq(prog_wait_exit(prog_spawn(argv, out, err, "w", NULL, NULL)), 2);
		ck_assert(file_contains(err, "unknown flag \"teleport\""));
	}
	{
		/* A wrong password is reported, and the program ends with the permanent status. */
		char p12[300];
		char *argv[] = { prog, "--host", "127.0.0.1", "--pkcs12", p12, "-o",
				 "tls.password=nope", NULL };

		snprintf(p12, sizeof(p12), "%s/client.p12", pki);
		ck_assert_int_eq(prog_wait_exit(prog_spawn(argv, out, err, "w", NULL, NULL)), 3);
		ck_assert(file_contains(err, "wrong password"));
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("estreamer-program");
	TCase *tc = tcase_create("program");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_program_streams_with_python_config);
	tcase_add_test(tc, test_program_usage_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite_with_pki(suite());
}
