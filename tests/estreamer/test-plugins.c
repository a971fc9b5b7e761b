/* SPDX-License-Identifier: Apache-2.0 */
/* Plugins loaded and unloaded while the client streams; the built-in outputs. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <estreamer/client.h>
#include <estreamer/output.h>

#include "harness.h"

#define PLUGIN_MODE 0755 /* whatever the umask: a group-writable plugin would be refused */

static int count_lines(const char *path, const char *prefix)
{
	FILE *f = fopen(path, "r");
	char line[256];
	int n = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, prefix, strlen(prefix)) == 0)
			n++;
	fclose(f);
	return n;
}

static int wait_plugins(estreamer_client *c, size_t want)
{
	for (int t = 0; t < 500; t++) {
		if (estreamer_client_plugin_count(c) == want)
			return 1;
		sleep_ms(10);
	}
	return 0;
}

START_TEST(test_plugin_added_and_removed_while_streaming)
{
	struct sim *sim = calloc(1, sizeof(*sim));
	char dir[300], log[300], dst[400], tmp[400];
	const char *plugin = getenv("ESTREAMER_TEST_PLUGIN");
	estreamer_counters k;
	estreamer_client *c;
	struct run r;

	ck_assert_ptr_nonnull(plugin);
	snprintf(dir, sizeof(dir), "%s/plugins", pki);
	snprintf(log, sizeof(log), "%s/plugin.log", pki);
	mkdir(dir, 0755);
	chmod(dir, 0755);
	unlink(log);
	setenv("ESTREAMER_TEST_PLUGIN_LOG", log, 1);

	/* 30 records, one per Event Data message; the server pauses after 10 and after 20. */
	sim->dir = pki;
	make_records(sim, 30, 0);
	sim->gates[0] = 10;
	sim->gates[1] = 20;
	ck_assert_int_eq(sim_start(sim), 0);
	c = new_client(sim);
	set_opt(c, "flags", "ids,timestamp");
	set_opt(c, "plugins.dir", dir);
	run_start(&r, c);
	ck_assert_int_eq(run_wait(&r, 10, 10000), 10);
	ck_assert_uint_eq(estreamer_client_plugin_count(c), 0);

	/* Installed the way package managers do: written elsewhere, renamed in. */
	snprintf(tmp, sizeof(tmp), "%s/.count.so.part", dir);
	snprintf(dst, sizeof(dst), "%s/count.so", dir);
	ck_assert_int_eq(file_copy(plugin, tmp, PLUGIN_MODE), 0);
	ck_assert_int_eq(rename(tmp, dst), 0);
	ck_assert_msg(wait_plugins(c, 1), "plugin not loaded");
	sim_open_gate(sim);
	ck_assert_int_eq(run_wait(&r, 20, 10000), 20);

	unlink(dst);
	ck_assert_msg(wait_plugins(c, 0), "plugin not unloaded");
	sim_open_gate(sim);
	ck_assert_int_eq(run_wait(&r, 30, 10000), 30);

	/* Copied in directly this time (close after write), then the client stops. */
	ck_assert_int_eq(file_copy(plugin, dst, PLUGIN_MODE), 0);
	ck_assert_msg(wait_plugins(c, 1), "plugin not reloaded");
	run_finish(&r);
	ck_assert_int_eq(r.rc, ESTREAMER_OK);

	ck_assert_int_eq(count_lines(log, "init"), 2);
	ck_assert_int_eq(count_lines(log, "fini"), 2);
	/* Exactly the records streamed while it was loaded: 11 to 20. */
	ck_assert_int_eq(count_lines(log, "record 400"), 10);
	ck_assert_int_eq(count_lines(log, "record 400 11\n"), 1);
	ck_assert_int_eq(count_lines(log, "record 400 20\n"), 1);
	ck_assert_int_eq(count_lines(log, "record 400 10\n"), 0);
	ck_assert_int_eq(count_lines(log, "record 400 21\n"), 0);
	estreamer_client_get_counters(c, &k);
	ck_assert_uint_eq(k.plugin_loads, 2);
	ck_assert_uint_eq(k.plugin_unloads, 2);
	ck_assert_uint_eq(k.plugin_errors, 0);
	ck_assert_uint_eq(k.records, 30);
	estreamer_client_free(c);
	sim_stop(sim);
	free_records(sim);
	free(sim);
}
END_TEST

START_TEST(test_bad_plugin_refused)
{
	struct sim *sim = calloc(1, sizeof(*sim));
	char dir[300], path[400];
	estreamer_counters k;
	estreamer_client *c;
	struct run r;
	FILE *f;

	snprintf(dir, sizeof(dir), "%s/bad-plugins", pki);
	mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s/garbage.so", dir);
	f = fopen(path, "w");
	fputs("not an ELF file\n", f);
	fclose(f);
	sim->dir = pki;
	make_records(sim, 3, 0);
	ck_assert_int_eq(sim_start(sim), 0);
	c = new_client(sim);
	set_opt(c, "flags", "ids,timestamp");
	set_opt(c, "plugins.dir", dir);
	run_start(&r, c);
	ck_assert_int_eq(run_wait(&r, 3, 10000), 3);
	estreamer_client_get_counters(c, &k);
	run_finish(&r);
	ck_assert_int_eq(r.rc, ESTREAMER_OK);
	ck_assert_uint_eq(k.plugin_loads, 0);
	ck_assert_uint_eq(k.plugin_errors, 1);
	estreamer_client_free(c);
	sim_stop(sim);
	free_records(sim);
	free(sim);
}
END_TEST

struct pcap_ctx {
	estreamer_pcap *pcap;
	FILE *json;
};

static int write_outputs(void *user, const estreamer_record *rec)
{
	struct pcap_ctx *p = user;

	ck_assert_int_eq(estreamer_pcap_write(p->pcap, rec), ESTREAMER_OK);
	ck_assert_int_eq(estreamer_json_write(p->json, rec), ESTREAMER_OK);
	return 0;
}

START_TEST(test_pcap_read_back_by_tcpdump)
{
	estreamer_decoder *d = estreamer_decoder_new();
	struct buf recs[3] = { { 0 }, { 0 }, { 0 } }, body = { 0 }, msg = { 0 };
	struct pcap_ctx p;
	char pcap_path[300], json_path[300], cmd[1200], line[8192];
	FILE *out;
	int n = 0;

	snprintf(pcap_path, sizeof(pcap_path), "%s/out.pcap", pki);
	snprintf(json_path, sizeof(json_path), "%s/out.json", pki);
	ck_assert_int_eq(estreamer_pcap_open(pcap_path, &p.pcap), ESTREAMER_OK);
	p.json = fopen(json_path, "w");
	body_packet(&body, 1, 1700000000, 250000, 5);
	b_record(&recs[0], 2, 1, 1700000000, &body);
	b_free(&body);
	body_intrusion(&body, 60, 1, 1, 2001, 3, 1); /* not a packet: skipped by the pcap writer */
	b_record(&recs[1], 400, 1, 1700000000, &body);
	b_free(&body);
	body_packet(&body, 2, 1700000001, 500, 300);
	b_record(&recs[2], 2, 1, 1700000001, &body);
	b_free(&body);
	b_bundle(&msg, 1, 1, 0, recs, 3);
	ck_assert_int_eq(estreamer_decoder_message(d, msg.p, msg.len, write_outputs, &p, NULL, 0),
			 ESTREAMER_OK);
	ck_assert_int_eq(estreamer_pcap_close(p.pcap), ESTREAMER_OK);
	fclose(p.json);

	/* The file itself: global header, then two records of 47 and 342 bytes. */
	{
		uint32_t g[6], h[4];
		FILE *f = fopen(pcap_path, "rb");

		ck_assert_int_eq(fread(g, sizeof(g), 1, f), 1);
		ck_assert_uint_eq(g[0], 0xa1b2c3d4u);
		ck_assert_uint_eq(g[1], 2u | (4u << 16));
		ck_assert_uint_eq(g[5], 1); /* Ethernet, from the record's linkType */
		ck_assert_int_eq(fread(h, sizeof(h), 1, f), 1);
		ck_assert_uint_eq(h[2], 47);
		fseek(f, h[2], SEEK_CUR);
		ck_assert_int_eq(fread(h, sizeof(h), 1, f), 1);
		ck_assert_uint_eq(h[0], 1700000001);
		ck_assert_uint_eq(h[2], 342);
		fclose(f);
	}
	if (!getenv("ESTREAMER_TCPDUMP") || !*getenv("ESTREAMER_TCPDUMP")) {
		fprintf(stderr, "tcpdump not installed: pcap read-back skipped\n");
		goto json;
	}
	snprintf(cmd, sizeof(cmd), "'%s' -r '%s' -nn -tt 2>/dev/null", getenv("ESTREAMER_TCPDUMP"),
		 pcap_path);
	out = popen(cmd, "r");
	ck_assert_ptr_nonnull(out);
	while (fgets(line, sizeof(line), out)) {
		if (n == 0) {
			ck_assert_msg(strstr(line, "1700000000.250000 IP 10.0.0.1.1234 > 10.0.0.2.53: "),
				      "%s", line);
		} else {
			ck_assert_msg(strstr(line, "1700000001.000500 IP 10.0.0.1.1234 > 10.0.0.2.53: "),
				      "%s", line);
		}
		n++;
	}
	ck_assert_int_eq(pclose(out), 0);
	ck_assert_int_eq(n, 2);
json:
	/* The JSON lines: one per record, each a parsable object. */
	out = fopen(json_path, "r");
	n = 0;
	while (fgets(line, sizeof(line), out)) {
		json_object *o = json_tokener_parse(line);

		ck_assert_ptr_nonnull(o);
		json_object_put(o);
		n++;
	}
	fclose(out);
	ck_assert_int_eq(n, 3);
	for (int i = 0; i < 3; i++)
		b_free(&recs[i]);
	b_free(&msg);
	estreamer_decoder_free(d);
}
END_TEST

static void write_packets(const char *path, uint32_t first, int n)
{
	estreamer_decoder *d = estreamer_decoder_new();
	struct pcap_ctx p;
	struct buf body = { 0 }, rec = { 0 }, msg = { 0 };

	ck_assert_int_eq(estreamer_pcap_open(path, &p.pcap), ESTREAMER_OK);
	p.json = fopen("/dev/null", "w");
	for (int i = 0; i < n; i++) {
		body_packet(&body, first + (uint32_t)i, 1700000000, first + (uint32_t)i, 10);
		b_record(&rec, 2, 1, 1700000000, &body);
		b_event_data(&msg, &rec);
		ck_assert_int_eq(estreamer_decoder_message(d, msg.p, msg.len, write_outputs, &p,
							   NULL, 0),
				 ESTREAMER_OK);
		b_free(&body);
		b_free(&rec);
		b_free(&msg);
	}
	ck_assert_int_eq(estreamer_pcap_flush(p.pcap), ESTREAMER_OK);
	ck_assert_int_eq(estreamer_pcap_close(p.pcap), ESTREAMER_OK);
	fclose(p.json);
	estreamer_decoder_free(d);
}

START_TEST(test_pcap_appends_after_a_crash)
{
	char path[300];
	estreamer_pcap *pcap;
	uint32_t g[6], h[4], usec[8];
	uint8_t data[128];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "%s/append.pcap", pki);
	unlink(path);
	write_packets(path, 0, 2);
	/* A crash in the middle of a record: half a header and nothing more. */
	f = fopen(path, "ab");
	fwrite("\x01\x02\x03\x04\x05\x06\x07", 7, 1, f);
	fclose(f);
	write_packets(path, 2, 2);
	f = fopen(path, "rb");
	ck_assert_int_eq(fread(g, sizeof(g), 1, f), 1);
	ck_assert_uint_eq(g[0], 0xa1b2c3d4u);
	while (fread(h, sizeof(h), 1, f) == 1) {
		ck_assert_uint_le(h[2], sizeof(data));
		ck_assert_int_eq(fread(data, h[2], 1, f), 1);
		usec[n++] = h[1];
	}
	fclose(f);
	ck_assert_int_eq(n, 4);
	for (int i = 0; i < 4; i++)
		ck_assert_uint_eq(usec[i], (uint32_t)i);

	/* A file that is not libpcap is neither appended to nor truncated. */
	f = fopen(path, "w");
	fputs("not a capture, but someone's notes\n", f);
	fclose(f);
	ck_assert_int_eq(estreamer_pcap_open(path, &pcap), ESTREAMER_ERR_MALFORMED);
	f = fopen(path, "r");
	ck_assert_int_eq(fread(data, 1, sizeof(data), f), 35);
	fclose(f);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("estreamer-plugins");
	TCase *tc = tcase_create("plugins");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_plugin_added_and_removed_while_streaming);
	tcase_add_test(tc, test_bad_plugin_refused);
	tcase_add_test(tc, test_pcap_read_back_by_tcpdump);
	tcase_add_test(tc, test_pcap_appends_after_a_crash);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite_with_pki(suite());
}
