/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The built-in ZoneMinder template against the line zm2json.sh wrote in the
 * reference's README: every output valid against 2.D.V08, every mapped field,
 * the reference connector's own test assertions, and the snapshot attachment
 * read from a real snapshot.jpg in a temporary event directory (base64
 * checked byte for byte, every padding case, a file larger than one read).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include <idmefv2/mapping.h>
#include <idmefv2/pipeline.h>
#include <idmefv2/schema.h>
#include <idmefv2/util.h>

#define TOOL "zoneminder"
#define DATA TEST_DATA_DIR "/connectors/" TOOL "/"

#include "line-harness.h"

/* ---- tests --------------------------------------------------------------------------------- */

/* An independent RFC 4648 encoder, to check the engine's. */
static char *b64(const unsigned char *in, size_t len)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc(4 * ((len + 2) / 3) + 1), *p = out;

	ck_assert_ptr_nonnull(out);
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16;

		if (i + 1 < len)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		*p++ = abc[(v >> 18) & 63];
		*p++ = abc[(v >> 12) & 63];
		*p++ = i + 1 < len ? abc[(v >> 6) & 63] : '=';
		*p++ = i + 2 < len ? abc[v & 63] : '=';
	}
	*p = '\0';
	return out;
}

struct event_dir {
	char dir[64];
	char snapshot[96];
};

static void event_dir_make(struct event_dir *e)
{
	snprintf(e->dir, sizeof(e->dir), "/tmp/test-template-zm-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(e->dir));
	snprintf(e->snapshot, sizeof(e->snapshot), "%s/snapshot.jpg", e->dir);
}

static void event_dir_write(struct event_dir *e, const unsigned char *data, size_t len)
{
	FILE *f = fopen(e->snapshot, "we");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

static void event_dir_remove(struct event_dir *e)
{
	if (unlink(e->snapshot) != 0)
		rmdir(e->snapshot);
	ck_assert_int_eq(rmdir(e->dir), 0);
}

/* The README line, its event path moved to @p dir (NULL: unchanged). */
static struct json_object *sample(const char *dir)
{
	struct json_object *o = read_line(DATA "events-readme-example.jsonl", 0);

	if (dir)
		json_object_object_add(o, "EDP", json_object_new_string(dir));
	return o;
}

/* A JPEG-like snapshot: SOI/APP0 header, every byte value, EOI. */
static unsigned char *snapshot_bytes(size_t len)
{
	static const unsigned char head[] = { 0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0x00 };
	unsigned char *b = malloc(len);

	ck_assert_ptr_nonnull(b);
	for (size_t i = 0; i < len; i++)
		b[i] = (unsigned char)(i * 7 + (i >> 8));
	if (len >= sizeof(head) + 2) {
		memcpy(b, head, sizeof(head));
		b[len - 2] = 0xff;
		b[len - 1] = 0xd9;
	}
	return b;
}

static void assert_constant(struct json_object *o)
{
	struct json_object *ip = at(o, "/Analyzer/IP");

	ck_assert_ptr_nonnull(ip);
	ck_assert_int_ne(idmefv2_ip_classify(json_object_get_string(ip)), IDMEFV2_IP_NONE);
	assert_str(o, "/Version", "2.D.V08");
	assert_uuid(o, "/ID");
	assert_len(o, "/Type", 1);
	assert_str(o, "/Type/0", "Physical");
	assert_len(o, "/Category", 1);
	assert_str(o, "/Category/0", "Access.Unauthorized");
	assert_str(o, "/Priority", "High");
	assert_str(o, "/Analyzer/Name", "zoneminder");
	assert_str(o, "/Analyzer/Model", "Zoneminder video surveillance system");
	assert_len(o, "/Analyzer/Category", 1);
	assert_str(o, "/Analyzer/Category/0", "PHY.MOT-SEN");
	assert_len(o, "/Analyzer/Data", 1);
	assert_str(o, "/Analyzer/Data/0", "Images");
	assert_len(o, "/Analyzer/Method", 1);
	assert_str(o, "/Analyzer/Method/0", "Movement");
	assert_str(o, "/Attachment/0/Name", "EventDirectoryPath");
}

/* zoneminderconverter_test.py: the snapshot's base64 equals the file's bytes; Description; CreateTime. */
START_TEST(test_readme_event_with_snapshot)
{
	struct run r;
	struct event_dir e;
	unsigned char *bytes = snapshot_bytes(20000);
	char *want = b64(bytes, 20000);
	struct json_object *o;

	event_dir_make(&e);
	event_dir_write(&e, bytes, 20000);
	run_open(&r);
	o = convert(&r, sample(e.dir));
	assert_counters(&r, 1, 1, 0, 0, 0);
	assert_all_valid(&r);
	assert_constant(o);
	/* Reference: "2026-01-14T15:58:47" (ZoneMinder's local time, no offset); taken as UTC. */
	assert_str(o, "/CreateTime", "2026-01-14T15:58:47.000000Z");
	assert_str(o, "/Description", "Event Motion: Plafond on monitor Monitor-1");
	assert_len(o, "/Attachment", 2);
	assert_str(o, "/Attachment/0/FileName", e.dir);
	assert_str(o, "/Attachment/1/Name", "EventSnapshotImage");
	assert_str(o, "/Attachment/1/FileName", e.snapshot);
	assert_str(o, "/Attachment/1/ContentType", "image/jpeg");
	assert_str(o, "/Attachment/1/ContentEncoding", "base64");
	assert_str(o, "/Attachment/1/Content", want);
	/* The JPEG signature at the front: "/9j/" as in the reference's log. */
	ck_assert_int_eq(strncmp(json_object_get_string(at(o, "/Attachment/1/Content")), "/9j/4AAQSkZJRg", 14), 0);
	run_close(&r);
	event_dir_remove(&e);
	free(want);
	free(bytes);
}
END_TEST

/* The README line as written: its event directory does not exist here. */
START_TEST(test_readme_event_without_snapshot)
{
	struct run r;
	struct json_object *o;

	run_open(&r);
	ck_assert_uint_eq(push_file(&r, DATA "events-readme-example.jsonl"), 1);
	assert_counters(&r, 1, 1, 0, 0, 0);
	assert_all_valid(&r);
	o = json_object_array_get_idx(r.outputs, 0);
	assert_constant(o);
	assert_str(o, "/Description", "Event Motion: Plafond on monitor Monitor-1");
	/* The reference raised; the alert is kept without the image. */
	assert_len(o, "/Attachment", 1);
	assert_str(o, "/Attachment/0/FileName", "/var/cache/zoneminder/events/1/2026-01-14/473");
	run_close(&r);
}
END_TEST

/* Every base64 padding case, an empty file, and a snapshot that cannot be read. */
START_TEST(test_snapshot_sizes)
{
	static const struct {
		const char *data;
		const char *want;
	} vectors[] = {
		{ "", "" },          { "f", "Zg==" },         { "fo", "Zm8=" },         { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	static const size_t sizes[] = { 3071, 3072, 3073, 6145 };
	struct run r;
	struct event_dir e;
	struct json_object *o;

	event_dir_make(&e);
	run_open(&r);
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		event_dir_write(&e, (const unsigned char *)vectors[i].data, strlen(vectors[i].data));
		o = convert(&r, sample(e.dir));
		assert_len(o, "/Attachment", 2);
		assert_str(o, "/Attachment/1/Content", vectors[i].want);
	}
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		unsigned char *bytes = snapshot_bytes(sizes[i]);
		char *want = b64(bytes, sizes[i]);

		event_dir_write(&e, bytes, sizes[i]);
		o = convert(&r, sample(e.dir));
		assert_str(o, "/Attachment/1/Content", want);
		free(want);
		free(bytes);
	}
	/* A directory where the image should be: unreadable, so no image attachment. */
	ck_assert_int_eq(unlink(e.snapshot), 0);
	ck_assert_int_eq(mkdir(e.snapshot, 0700), 0);
	o = convert(&r, sample(e.dir));
	assert_len(o, "/Attachment", 1);
	assert_counters(&r, 12, 12, 0, 0, 0);
	assert_all_valid(&r);
	run_close(&r);
	event_dir_remove(&e);
}
END_TEST

/* zoneminderconverter_test.py: ET "not-a-date" gives 1970-01-01T00:00:00. */
START_TEST(test_event_time)
{
	static const struct {
		const char *et; /* NULL: member removed */
		const char *want;
	} cases[] = {
		{ "2026-02-02 12:40:01", "2026-02-02T12:40:01.000000Z" },
		{ "2026-01-14 15:58:47", "2026-01-14T15:58:47.000000Z" },
		{ "not-a-date", "1970-01-01T00:00:00.000000Z" },
		{ "", "1970-01-01T00:00:00.000000Z" },
		{ "2026-02-30 12:40:01", "1970-01-01T00:00:00.000000Z" },
		{ NULL, "1970-01-01T00:00:00.000000Z" },
	};
	struct run r;
	struct json_object *base = sample(NULL);
	size_t n = sizeof(cases) / sizeof(cases[0]);

	run_open(&r);
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = convert(&r, edit(base, "/ET", cases[i].et ? json_object_new_string(cases[i].et)
		                                                             : NULL));

		ck_assert_msg(strcmp(json_object_get_string(at(o, "/CreateTime")), cases[i].want) == 0,
		              "ET %s: %s, want %s", cases[i].et ? cases[i].et : "(absent)",
		              json_object_get_string(at(o, "/CreateTime")), cases[i].want);
	}
	assert_counters(&r, n, n, 0, 0, 0);
	assert_all_valid(&r);
	json_object_put(base);
	run_close(&r);
}
END_TEST

/* zm2json.sh does not escape: a quote in the event description breaks the line. */
START_TEST(test_malformed_line_then_next)
{
	struct run r;

	run_open(&r);
	ck_assert_int_eq(push_text(&r, "{\"ET\":\"2026-01-14 15:58:47\",\"ED\":\"Motion: \"Door\"\",\"MN\":\"Monitor-1\","
	                               "\"EDP\":\"/var/cache/zoneminder/events/1/2026-01-14/474\"}"),
	                 IDMEFV2_PIPELINE_MALFORMED);
	ck_assert_int_eq(push_text(&r, "{\"ET\":\"2026-01-14 15:58:48\",\"ED\":\"Motion: Door\",\"MN\":\"Monitor-2\","
	                               "\"EDP\":\"/var/cache/zoneminder/events/2/2026-01-14/475\"}\n"),
	                 IDMEFV2_PIPELINE_CONVERTED);
	assert_counters(&r, 2, 1, 0, 1, 0);
	assert_all_valid(&r);
	assert_str(json_object_array_get_idx(r.outputs, 0), "/Description", "Event Motion: Door on monitor Monitor-2");
	assert_str(json_object_array_get_idx(r.outputs, 0), "/CreateTime", "2026-01-14T15:58:48.000000Z");
	run_close(&r);
}
END_TEST

/* No filter: whatever the line holds converts; absent members are left out. */
START_TEST(test_missing_optional_fields)
{
	struct run r;
	struct json_object *base = sample(NULL), *o;

	run_open(&r);
	o = convert(&r, edit(base, "/MN", NULL));
	assert_absent(o, "/Description");
	o = convert(&r, edit(base, "/ED", NULL));
	assert_absent(o, "/Description");
	o = convert(&r, edit(base, "/EDP", NULL));
	assert_len(o, "/Attachment", 1);
	assert_absent(o, "/Attachment/0/FileName");
	o = convert(&r, json_object_new_object());
	assert_constant(o);
	assert_str(o, "/CreateTime", "1970-01-01T00:00:00.000000Z");
	assert_absent(o, "/Description");
	assert_len(o, "/Attachment", 1);
	assert_counters(&r, 4, 4, 0, 0, 0);
	assert_all_valid(&r);
	json_object_put(base);
	run_close(&r);
}
END_TEST

static Suite *template_suite(void)
{
	Suite *s = suite_create("template-" TOOL);
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_readme_event_with_snapshot);
	tcase_add_test(tc, test_readme_event_without_snapshot);
	tcase_add_test(tc, test_snapshot_sizes);
	tcase_add_test(tc, test_event_time);
	tcase_add_test(tc, test_malformed_line_then_next);
	tcase_add_test(tc, test_missing_optional_fields);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(template_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
