/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bookmark's promise under SIGKILL: estreamer-client writing JSON lines
 * and a pcap file with a bookmark file is killed with SIGKILL at several
 * points and restarted from its bookmark each time; in the end every record
 * the server sent is in the JSON file and every packet in the pcap file
 * (lost == 0). Records after the bookmark may be written twice (at least
 * once); the test counts and prints them.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"

#define EVENTS 400 /* intrusion events, each followed by one packet record */
#define KILLS 4

static char prog[512], out[300], err[300], json[300], pcap[300], bookmark[300], p12[300],
	pw[300];

/* 2 * EVENTS records, 4 events and their packets per archival second. */
static void make_stream(struct sim *sim)
{
	struct buf body = { 0 };
	size_t k = 0;

	sim->records = calloc(2 * EVENTS, sizeof(struct buf));
	sim->record_ts = calloc(2 * EVENTS, sizeof(uint32_t));
	for (uint32_t i = 0; i < EVENTS; i++) {
		uint32_t ts = 1700000000u + i / 4;

		body_intrusion(&body, 60, i + 1, 1, 2001, 3, 1);
		sim->record_ts[k] = ts;
		b_record(&sim->records[k++], 400, 1, ts, &body);
		b_free(&body);
		body_packet(&body, i + 1, ts, i, 16);
		sim->record_ts[k] = ts;
		b_record(&sim->records[k++], 2, 1, ts, &body);
		b_free(&body);
	}
	sim->nrecords = k;
}

struct tally {
	int events[EVENTS + 1], json_packets[EVENTS + 1], pcap_packets[EVENTS];
	int torn_lines, torn_pcap;
};

static void read_json(struct tally *t)
{
	static char line[65536];
	FILE *f = fopen(json, "r");

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		json_object *o = json_tokener_parse(line), *type, *id;
		int64_t n;

		if (!o || !json_object_object_get_ex(o, "recordType", &type) ||
		    !json_object_object_get_ex(o, "eventId", &id)) {
			t->torn_lines++;
			json_object_put(o);
			continue;
		}
		n = json_object_get_int64(id);
		if (n >= 1 && n <= EVENTS) {
			if (json_object_get_int(type) == 400)
				t->events[n]++;
			else if (json_object_get_int(type) == 2)
				t->json_packets[n]++;
		}
		json_object_put(o);
	}
	fclose(f);
}

static void read_pcap(struct tally *t)
{
	FILE *f = fopen(pcap, "rb");
	uint32_t g[6], h[4];
	uint8_t data[256];

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fread(g, sizeof(g), 1, f), 1);
	ck_assert_uint_eq(g[0], 0xa1b2c3d4u);
	while (fread(h, sizeof(h), 1, f) == 1) {
		if (h[2] > sizeof(data) || fread(data, h[2], 1, f) != 1) {
			t->torn_pcap++;
			break;
		}
		if (h[1] < EVENTS)
			t->pcap_packets[h[1]]++;
	}
	fclose(f);
}

START_TEST(test_sigkill_loses_nothing)
{
	struct sim *sim = calloc(1, sizeof(*sim));
	struct tally *t = calloc(1, sizeof(*t));
	char port[16];
	int lost = 0, duplicated = 0, status;
	pid_t pid;

	snprintf(prog, sizeof(prog), "%s", getenv("ESTREAMER_CLIENT"));
	snprintf(out, sizeof(out), "%s/crash.out", pki);
	snprintf(err, sizeof(err), "%s/crash.err", pki);
	snprintf(json, sizeof(json), "%s/crash.json", pki);
	snprintf(pcap, sizeof(pcap), "%s/crash.pcap", pki);
	snprintf(bookmark, sizeof(bookmark), "%s/crash.bookmark", pki);
	snprintf(p12, sizeof(p12), "%s/client.p12", pki);
	snprintf(pw, sizeof(pw), "%s/password.txt", pki);
	sim->dir = pki;
	sim->per_bundle = 6;
	make_stream(sim);
	ck_assert_int_eq(sim_start(sim), 0);
	snprintf(port, sizeof(port), "%u", sim->port);
	{
		char *argv[] = { prog, "--host", "127.0.0.1", "--port", port, "--pkcs12", p12,
				 "--password-file", pw, "--json", json, "--pcap", pcap,
				 "--bookmark", bookmark, "--start", "bookmark", "-o",
				 "reconnect.backoff_ms=20", NULL };

		/* Killed once a sixth, two sixths, ... of the records are written. */
		for (int k = 1; k <= KILLS; k++) {
			int want = k * 2 * EVENTS / (KILLS + 2);

			pid = prog_spawn(argv, out, err, "a", NULL, NULL);
			for (int w = 0; w < 2000 && file_count_lines(json) < want; w++)
				sleep_ms(5);
			kill(pid, SIGKILL);
			ck_assert_int_eq(waitpid(pid, &status, 0), pid);
			ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		}
		/* The last run goes to the end of the stream, then stops cleanly. */
		pid = prog_spawn(argv, out, err, "a", NULL, NULL);
		for (int w = 0; w < 4000; w++) {
			memset(t, 0, sizeof(*t));
			read_json(t);
			int missing = 0;

			for (int i = 1; i <= EVENTS; i++)
				missing += t->events[i] == 0 || t->json_packets[i] == 0;
			if (!missing)
				break;
			sleep_ms(5);
		}
		kill(pid, SIGTERM);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
	}
	memset(t, 0, sizeof(*t));
	read_json(t);
	read_pcap(t);
	for (int i = 0; i < EVENTS; i++) {
		lost += (t->events[i + 1] == 0) + (t->json_packets[i + 1] == 0) +
			(t->pcap_packets[i] == 0);
		duplicated += (t->events[i + 1] > 1) + (t->json_packets[i + 1] > 1) +
			      (t->pcap_packets[i] > 1);
	}
	fprintf(stderr,
		"SIGKILL x%d: written %d records and %d packets; lost %d, duplicated %d, cut lines %d\n",
		KILLS, 2 * EVENTS, EVENTS, lost, duplicated, t->torn_lines);
	ck_assert_int_eq(lost, 0);
	ck_assert_int_eq(t->torn_pcap, 0);
	sim_stop(sim);
	free_records(sim);
	free(sim);
	free(t);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("estreamer-program-crash");
	TCase *tc = tcase_create("program-crash");

	tcase_set_timeout(tc, 80);
	tcase_add_test(tc, test_sigkill_loses_nothing);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite_with_pki(suite());
}
