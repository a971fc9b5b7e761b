/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tracked pushes: an ID given by the caller replaces the template's, the IDs
 * inside the message follow from it (the same input gives the same message),
 * and the opaque comes back through the delivery callback for converted
 * inputs only.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include <idmefv2/mapping.h>
#include <idmefv2/pipeline.h>
#include <idmefv2/util.h>

static const char template_text[] =
	"{\"$filter\": {\"$ne\": [\"$.event_type\", \"stats\"]},"
	" \"Version\": \"2.D.V08\", \"ID\": {\"$fn\": \"uuid\"},"
	" \"CreateTime\": \"$.timestamp\", \"Description\": \"$.msg\","
	" \"Analyzer\": {\"Name\": \"t\", \"IP\": \"192.0.2.1\"},"
	" \"Source\": [{\"ID\": {\"$fn\": \"uuid\"}, \"IP\": \"10.0.0.1\"}, {\"ID\": {\"$fn\": \"uuid\"}, \"IP\": \"10.0.0.2\"}]}";

static const char alert[] = "{\"timestamp\":\"2025-05-12T06:00:00Z\",\"event_type\":\"alert\",\"msg\":\"m\"}";

struct seen {
	char out[4][4096];
	int outputs;
	void *opaques[8];
	idmefv2_delivery_status statuses[8];
	int reports;
};

static idmefv2_error keep(idmefv2_pipeline *p, struct json_object *output, void *user_data)
{
	struct seen *s = user_data;

	(void)p;
	snprintf(s->out[s->outputs++ % 4], sizeof(s->out[0]), "%s", json_object_to_json_string(output));
	return s->outputs == 3 ? IDMEFV2_ERR_IO : IDMEFV2_OK; /* the third output is refused */
}

static void delivered(idmefv2_pipeline *p, void *opaque, idmefv2_delivery_status status, void *user_data)
{
	struct seen *s = user_data;

	(void)p;
	s->opaques[s->reports] = opaque;
	s->statuses[s->reports++] = status;
}

static idmefv2_pipeline *make(idmefv2_mapping **m, struct seen *s)
{
	struct json_object *tmpl = json_tokener_parse(template_text);
	idmefv2_pipeline *p = NULL;
	char err[512] = "";

	ck_assert_msg(idmefv2_mapping_compile_json("t", tmpl, m, err, sizeof(err)) == IDMEFV2_OK, "%s", err);
	json_object_put(tmpl);
	ck_assert_int_eq(idmefv2_pipeline_new(*m, NULL, &p, err, sizeof(err)), IDMEFV2_OK);
	idmefv2_pipeline_set_output_cb(p, keep, s);
	idmefv2_pipeline_set_delivery_cb(p, delivered, s);
	return p;
}

START_TEST(test_ids_and_reports)
{
	static const char id[] = "2d7df0d4-9f2c-5403-82c2-af0b789bc393";
	struct seen s = { 0 };
	idmefv2_pipeline_result r;
	idmefv2_mapping *m = NULL;
	idmefv2_pipeline *p = make(&m, &s);
	struct json_object *o, *v;

	ck_assert_int_eq(idmefv2_pipeline_push_line_tracked(p, alert, strlen(alert), "f", 1, id, (void *)1, &r),
	                 IDMEFV2_OK);
	ck_assert_int_eq(r, IDMEFV2_PIPELINE_CONVERTED);
	ck_assert_int_eq(idmefv2_pipeline_push_line_tracked(p, alert, strlen(alert), "f", 1, id, (void *)2, &r),
	                 IDMEFV2_OK);
	/* Same input, same ID: the same message, nested IDs included. */
	ck_assert_int_eq(s.outputs, 2);
	ck_assert_str_eq(s.out[0], s.out[1]);
	o = json_tokener_parse(s.out[0]);
	ck_assert(json_object_object_get_ex(o, "ID", &v));
	ck_assert_str_eq(json_object_get_string(v), id);
	{
		struct json_object *src = json_object_object_get(o, "Source");
		const char *a = json_object_get_string(json_object_object_get(json_object_array_get_idx(src, 0), "ID"));
		const char *b = json_object_get_string(json_object_object_get(json_object_array_get_idx(src, 1), "ID"));
		char want[IDMEFV2_UUID_STRLEN];
		char name[128];

		snprintf(name, sizeof(name), "%s/Source/0/ID", id);
		ck_assert_int_eq(idmefv2_uuid_from_name(IDMEFV2_UUID_NAMESPACE, name, strlen(name), want, sizeof(want)),
		                 IDMEFV2_OK);
		ck_assert_str_eq(a, want);
		ck_assert_str_ne(a, b);
	}
	json_object_put(o);
	ck_assert_int_eq(s.reports, 2);
	ck_assert_ptr_eq(s.opaques[0], (void *)1);
	ck_assert_int_eq(s.statuses[0], IDMEFV2_DELIVERY_SENT);

	/* Refused by the output: reported failed. Filtered and malformed: no report. */
	idmefv2_pipeline_push_line_tracked(p, alert, strlen(alert), "f", 2, NULL, (void *)3, &r);
	ck_assert_int_eq(s.reports, 3);
	ck_assert_ptr_eq(s.opaques[2], (void *)3);
	ck_assert_int_eq(s.statuses[2], IDMEFV2_DELIVERY_FAILED);
	idmefv2_pipeline_push_line_tracked(p, "{\"event_type\":\"stats\"}", 22, "f", 3, NULL, (void *)4, &r);
	ck_assert_int_eq(r, IDMEFV2_PIPELINE_FILTERED);
	idmefv2_pipeline_push_line_tracked(p, "nope", 4, "f", 4, NULL, (void *)5, &r);
	ck_assert_int_eq(r, IDMEFV2_PIPELINE_MALFORMED);
	ck_assert_int_eq(s.reports, 3);
	/* Without an ID the template's stays (a fresh one each time); without an opaque, no report. */
	idmefv2_pipeline_push_line_tracked(p, alert, strlen(alert), "f", 5, NULL, NULL, &r);
	ck_assert_int_eq(s.reports, 3);
	ck_assert(strstr(s.out[3], id) == NULL);
	/* An ID that is not a UUID is refused. */
	ck_assert_int_eq(idmefv2_pipeline_push_line_tracked(p, alert, strlen(alert), "f", 6, "x", NULL, &r),
	                 IDMEFV2_ERR_INVALID_ARG);
	idmefv2_pipeline_free(p);
	idmefv2_mapping_free(m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pipeline-tracked");
	TCase *tc = tcase_create("tracked");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_ids_and_reports);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
